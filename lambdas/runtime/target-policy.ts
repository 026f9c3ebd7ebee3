/**
 * Which subscription targets the deployed stack accepts (DESIGN §12), read from the environment the
 * CDK construct sets on the functions that create subscriptions:
 * - URLs pass the outbound rules of url-target.ts; private, loopback and link-local destinations only
 *   when `STREAMBED_ALLOW_PRIVATE_URLS` is exactly `true` (a construct prop);
 * - functions only when listed in `STREAMBED_SUBSCRIPTION_FUNCTIONS` (comma-separated names or ARNs,
 *   the functions the construct's addSubscription granted the deliverer the right to invoke).
 *
 * The list is a usability check, not the security boundary: the deliverer's IAM policy is. A function
 * named the way the construct did not grant would fail on every invoke; refusing it at creation says so
 * at once.
 */
import { StreamError } from '../core/errors.ts';
import type { TargetPolicy } from '../subscriptions/subscriptions.ts';
import { validateTargetUrl } from '../subscriptions/url-target.ts';

export const ALLOW_PRIVATE_URLS_ENV = 'STREAMBED_ALLOW_PRIVATE_URLS';
export const SUBSCRIPTION_FUNCTIONS_ENV = 'STREAMBED_SUBSCRIPTION_FUNCTIONS';

type Env = Readonly<Record<string, string | undefined>>;

export const allowPrivateUrls = (env: Env): boolean => env[ALLOW_PRIVATE_URLS_ENV]?.trim() === 'true';

export function subscriptionFunctions(env: Env): string[] {
  return (env[SUBSCRIPTION_FUNCTIONS_ENV] ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

/** `arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]` or `<name>[:<qualifier>]` → name. */
function functionNameOf(fn: string): { name: string; arn: boolean } {
  const arn = /^arn:[^:]+:lambda:[^:]*:[^:]*:function:([^:]+)(:.+)?$/.exec(fn);
  if (arn !== null) return { name: arn[1] as string, arn: true };
  return { name: fn.split(':')[0] as string, arn: false };
}

/**
 * Whether `fn` (a target.function) is one of `allowed`: the same string, or the same function name
 * where either side is a plain name (a full ARN only matches the same full ARN).
 */
export function functionAllowed(fn: string, allowed: readonly string[]): boolean {
  const target = functionNameOf(fn);
  return allowed.some((entry) => {
    if (entry === fn) return true;
    const granted = functionNameOf(entry);
    return (!target.arn || !granted.arn) && granted.name === target.name && target.name !== '';
  });
}

export function deployedTargetPolicy(env: Env): TargetPolicy {
  const allowPrivate = allowPrivateUrls(env);
  const functions = subscriptionFunctions(env);
  return {
    validateUrl(url) {
      validateTargetUrl(url, { allowPrivate });
    },
    validateFunction(fn) {
      if (functionAllowed(fn, functions)) return;
      throw new StreamError(
        'INVALID_REQUEST',
        `target.function ${fn} is not a function this stack may invoke: add it with the Streambed construct's addSubscription (which grants the invoke), then deploy`,
      );
    },
  };
}
