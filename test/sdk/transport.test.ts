/**
 * The transport's error translation for answers that are not Streambed's: API Gateway answers some
 * requests itself (`{"message": …}`) before any function runs, and the SDK must still say what happened.
 */
import { describe, expect, it } from 'vitest';
import { Transport } from '../../client/transport.ts';

const answering = (status: number, body: string) =>
  new Transport({ url: 'http://streambed.test', fetch: async () => new Response(body, { status }) });

describe('Transport errors from a gateway', () => {
  it('reports a gateway 413 as RECORD_TOO_LARGE, not retriable, with the gateway message', async () => {
    const error = await answering(413, '{"message":"Request Entity Too Large"}')
      .json('POST', '/v1/topics/t/records', { json: {} })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'RECORD_TOO_LARGE', retriable: false, status: 413 });
    expect((error as Error).message).toContain('Request Entity Too Large');
  });

  it('keeps the gateway message of a 403 (which policy or signature refused the call)', async () => {
    const message = 'User: arn:aws:iam::1:user/u is not authorized to perform: execute-api:Invoke';
    const error = await answering(403, JSON.stringify({ message }))
      .json('GET', '/v1/topics')
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'UNAUTHORIZED', retriable: false, status: 403 });
    expect((error as Error).message).toContain(message);
  });
});

describe('Transport errors without an answer', () => {
  /** What undici's fetch throws when the connection fails: "fetch failed", the system error as cause. */
  const failing = (cause: Error) =>
    new Transport({
      url: 'http://streambed.test:8080',
      fetch: async () => {
        throw new TypeError('fetch failed', { cause });
      },
    });
  const systemError = (code: string, message: string) => Object.assign(new Error(message), { code });

  it.each([
    [
      'ECONNREFUSED',
      'cannot reach http://streambed.test:8080: connection refused — is the server running? (`npm start`)',
    ],
    ['ENOTFOUND', 'cannot reach http://streambed.test:8080: host not found (ENOTFOUND)'],
    ['ECONNRESET', 'no response from http://streambed.test:8080: the connection was closed (ECONNRESET)'],
    ['EPIPE', 'no response from http://streambed.test:8080: fetch failed: write EPIPE (EPIPE)'],
  ])('names the URL and the cause of %s, and stays UNAVAILABLE and retriable', async (code, message) => {
    const error = await failing(systemError(code, `write ${code}`))
      .json('GET', '/v1/topics')
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'UNAVAILABLE', retriable: true, message });
  });

  it('refuses a URL that is not http(s), naming it', () => {
    expect(() => new Transport({ url: 'localhost:18181' })).toThrow(
      'url localhost:18181 is not a URL: use http://host:port (or https://host)',
    );
    expect(() => new Transport({ url: 'not a url' })).toThrow('url not a url is not a URL');
  });
});
