/**
 * The admin client retries a request that failed with a retriable error, as KafkaJS's admin does,
 * and gives up at once on an error retrying cannot fix.
 */
import { describe, expect, it } from 'vitest';
import { Streambed } from '../../client/index.ts';

/** A client whose requests get `answers` in turn (the last one repeats), counting the requests. */
function scripted(answers: { status: number; body: unknown }[]) {
  const seen: string[] = [];
  const streambed = new Streambed({
    url: 'http://streambed.test',
    fetch: async (input, init) => {
      seen.push(`${init?.method ?? 'GET'} ${new URL(String(input)).pathname}`);
      const answer = answers[Math.min(seen.length, answers.length) - 1] as { status: number; body: unknown };
      return new Response(JSON.stringify(answer.body), {
        status: answer.status,
        headers: { 'content-type': 'application/json' },
      });
    },
  });
  return { streambed, seen };
}

const unavailable = {
  status: 503,
  body: { error: { code: 'UNAVAILABLE', message: 'the table is throttled', retriable: true } },
};

describe('admin retries', () => {
  it('retries a retriable failure and answers what the next attempt got', async () => {
    const { streambed, seen } = scripted([
      unavailable,
      unavailable,
      { status: 200, body: { topics: ['a'] } },
    ]);
    const admin = streambed.admin({ retry: { initialRetryTimeMs: 1, maxRetryTimeMs: 2 } });
    await expect(admin.listTopics()).resolves.toEqual(['a']);
    expect(seen).toEqual(['GET /v1/topics', 'GET /v1/topics', 'GET /v1/topics']);
  });

  it('gives up after its retries with the last error', async () => {
    const { streambed, seen } = scripted([unavailable]);
    const admin = streambed.admin({ retry: { retries: 2, initialRetryTimeMs: 1, maxRetryTimeMs: 2 } });
    await expect(admin.listTopics()).rejects.toMatchObject({ code: 'UNAVAILABLE', retriable: true });
    expect(seen).toHaveLength(3);
  });

  it('does not retry an error retrying cannot fix', async () => {
    const notFound = {
      status: 404,
      body: { error: { code: 'TOPIC_NOT_FOUND', message: 'topic orders does not exist', retriable: false } },
    };
    const { streambed, seen } = scripted([notFound]);
    await expect(streambed.admin().describeTopic('orders')).rejects.toMatchObject({
      code: 'TOPIC_NOT_FOUND',
    });
    expect(seen).toHaveLength(1);
  });
});
