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
