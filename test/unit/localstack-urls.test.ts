/**
 * Where the LocalStack deployment test looks for the deployed API (test/support/localstack-deploy.ts):
 * the candidates keep the REST flavor's stage from the ApiUrl output, and never call AWS.
 */
import { describe, expect, it } from 'vitest';
import { apiUrlCandidates, deployBlocker } from '../support/localstack-deploy.ts';

describe('apiUrlCandidates', () => {
  it('keeps the REST stage in every LocalStack form', () => {
    const candidates = apiUrlCandidates(
      'http://localhost:4566',
      'https://abc123defg.execute-api.us-east-1.amazonaws.com/prod/',
    );
    expect(candidates).toEqual([
      'http://abc123defg.execute-api.localhost.localstack.cloud:4566/prod/',
      'http://localhost:4566/_aws/execute-api/abc123defg/prod/',
      'http://localhost:4566/restapis/abc123defg/prod/_user_request_/',
    ]);
  });

  it("tries an HTTP API's $default stage with and without its name", () => {
    expect(
      apiUrlCandidates('http://10.0.0.5:4566', 'https://abc123defg.execute-api.us-east-1.amazonaws.com/'),
    ).toEqual([
      'http://10.0.0.5:4566/_aws/execute-api/abc123defg/',
      'http://10.0.0.5:4566/_aws/execute-api/abc123defg/$default/',
    ]);
  });
});

describe('deployBlocker', () => {
  it('deploys into any LocalStack (the REST flavor needs no paid edition) unless opted out', async () => {
    expect(await deployBlocker('http://localhost:4566', {})).toBeUndefined();
    expect(await deployBlocker('http://localhost:4566', { STREAMBED_SKIP_LOCALSTACK_DEPLOY: '1' })).toBe(
      'STREAMBED_SKIP_LOCALSTACK_DEPLOY=1',
    );
  });
});
