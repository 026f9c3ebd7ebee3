import { describe, expect, it } from 'vitest';
import type { StreamError } from '../../lambdas/core/errors.ts';
import { deployedTargetPolicy, functionAllowed } from '../../lambdas/runtime/target-policy.ts';

const arn = (name: string, account = '123456789012') =>
  `arn:aws:lambda:eu-west-1:${account}:function:${name}`;

function refusal(run: () => void): StreamError {
  try {
    run();
  } catch (error) {
    return error as StreamError;
  }
  throw new Error('expected a refusal');
}

describe('deployed target policy', () => {
  it('allows only the functions listed in STREAMBED_SUBSCRIPTION_FUNCTIONS, by name or full ARN', () => {
    const allowed = ['orders-consumer', arn('audit')];
    expect(functionAllowed('orders-consumer', allowed)).toBe(true);
    expect(functionAllowed(arn('orders-consumer'), allowed)).toBe(true);
    expect(functionAllowed(arn('audit'), allowed)).toBe(true);
    expect(functionAllowed('audit', allowed)).toBe(true);
    expect(functionAllowed('other', allowed)).toBe(false);
    // A full ARN matches only the same full ARN: another account's function of that name is not it.
    expect(functionAllowed(arn('audit', '999999999999'), allowed)).toBe(false);
    expect(functionAllowed('orders', allowed)).toBe(false);
  });

  it('refuses an unlisted function with INVALID_REQUEST naming target.function and addSubscription', () => {
    const policy = deployedTargetPolicy({ STREAMBED_SUBSCRIPTION_FUNCTIONS: ' a , b ' });
    expect(() => policy.validateFunction('b')).not.toThrow();
    const error = refusal(() => policy.validateFunction('c'));
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.message).toMatch(/target\.function c .*addSubscription/);
    expect(refusal(() => deployedTargetPolicy({}).validateFunction('a')).code).toBe('INVALID_REQUEST');
  });

  it('refuses private, loopback and link-local URLs unless STREAMBED_ALLOW_PRIVATE_URLS is exactly true', () => {
    for (const env of [{}, { STREAMBED_ALLOW_PRIVATE_URLS: 'yes' }, { STREAMBED_ALLOW_PRIVATE_URLS: '1' }]) {
      const policy = deployedTargetPolicy(env);
      for (const url of ['https://10.0.0.1/', 'http://127.0.0.1:8080/', 'https://169.254.169.254/']) {
        expect(refusal(() => policy.validateUrl(url)).message).toMatch(/^target\.url /);
      }
      expect(() => policy.validateUrl('https://hooks.example.com/x')).not.toThrow();
    }
    const open = deployedTargetPolicy({ STREAMBED_ALLOW_PRIVATE_URLS: 'true' });
    expect(() => open.validateUrl('https://10.0.0.1/')).not.toThrow();
    expect(() => open.validateUrl('http://127.0.0.1:8080/')).not.toThrow();
  });
});
