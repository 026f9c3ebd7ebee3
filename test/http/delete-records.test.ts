/**
 * `POST /v1/topics/{topic}/records/delete` (Kafka's DeleteRecords) over a real local server: the log
 * start moves, reads follow it, and a bad request is refused with a clear error and changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalServer, startLocalServer } from '../../lambdas/runtime/local-server.ts';
import { jsonCaller } from '../support/json-call.ts';

let server: LocalServer;
const call = jsonCaller(() => server.url);
beforeAll(async () => {
  server = await startLocalServer({ port: 0, memory: true });
});
afterAll(async () => server.close());

let topics = 0;
/** A new topic with two partitions: partition 0 holds offsets 0-5 (three requests), partition 1 none. */
async function topicWithRecords(): Promise<string> {
  const name = `d${topics++}`;
  expect((await call('POST', '/v1/topics', { name, partitions: 2 })).status).toBe(201);
  for (let i = 0; i < 3; i++) {
    const records = [0, 1].map((j) => ({ value: `v${2 * i + j}`, partition: 0 }));
    expect((await call('POST', `/v1/topics/${name}/records`, { records })).status).toBe(200);
  }
  return name;
}

const deleteRecords = (topic: string, body: unknown) =>
  call('POST', `/v1/topics/${topic}/records/delete`, body);

async function ranges(topic: string): Promise<[number, number][]> {
  const { body } = await call('GET', `/v1/topics/${topic}`);
  return body.partitions.map((p: { logStartOffset: number; highWatermark: number }) => [
    p.logStartOffset,
    p.highWatermark,
  ]);
}

describe('POST /v1/topics/{topic}/records/delete', () => {
  it('moves the log start per partition and answers where each starts now', async () => {
    // Prepare
    const topic = await topicWithRecords();
    // Act: 3 is inside the second request's batch; -1 on the empty partition is its high watermark, 0
    const { status, body } = await deleteRecords(topic, {
      partitions: [
        { partition: 0, offset: 3 },
        { partition: 1, offset: -1 },
      ],
    });
    // Assess
    expect(status).toBe(200);
    expect(body).toEqual({
      partitions: [
        { partition: 0, logStartOffset: 3 },
        { partition: 1, logStartOffset: 0 },
      ],
    });
    expect(await ranges(topic)).toEqual([
      [3, 6],
      [0, 0],
    ]);
    const below = await call('GET', `/v1/topics/${topic}/partitions/0/records?offset=2`);
    expect(below.status).toBe(416);
    expect(below.body.error).toMatchObject({
      code: 'OFFSET_OUT_OF_RANGE',
      logStartOffset: 3,
      highWatermark: 6,
    });
    const from = await call('GET', `/v1/topics/${topic}/partitions/0/records?offset=3`);
    expect(from.body.records.map((r: { value: string }) => r.value)).toEqual(['v3', 'v4', 'v5']);
    const offsets = await call('GET', `/v1/topics/${topic}/partitions/0/offsets?timestamp=0`);
    expect(offsets.body).toEqual({ logStartOffset: 3, highWatermark: 6, offset: 3 });
  });

  it('-1 deletes every record so far; a lower offset afterwards changes nothing', async () => {
    const topic = await topicWithRecords();
    const all = await deleteRecords(topic, { partitions: [{ partition: 0, offset: -1 }] });
    expect(all.body).toEqual({ partitions: [{ partition: 0, logStartOffset: 6 }] });
    const lower = await deleteRecords(topic, { partitions: [{ partition: 0, offset: 2 }] });
    expect(lower.status).toBe(200);
    expect(lower.body).toEqual({ partitions: [{ partition: 0, logStartOffset: 6 }] });
    expect(await ranges(topic)).toEqual([
      [6, 6],
      [0, 0],
    ]);
  });

  it('refuses an offset above the high watermark with 416 naming it and the range, and moves no partition', async () => {
    const topic = await topicWithRecords();
    const { status, body } = await deleteRecords(topic, {
      partitions: [
        { partition: 0, offset: 2 },
        { partition: 1, offset: 1 },
      ],
    });
    expect(status).toBe(416);
    expect(body.error).toEqual({
      code: 'OFFSET_OUT_OF_RANGE',
      message: `offset 1 is outside ${topic}/1: records can be deleted up to the high watermark, valid offsets are 0 to 0`,
      retriable: false,
      logStartOffset: 0,
      highWatermark: 0,
    });
    expect(await ranges(topic)).toEqual([
      [0, 6],
      [0, 0],
    ]);
  });

  it.each([
    [{}, 400, 'INVALID_REQUEST', 'partitions: is required'],
    [{ partitions: [] }, 400, 'INVALID_REQUEST', 'partitions: must hold at least one partition'],
    [
      { partitions: [{ partition: 0, offset: -2 }] },
      400,
      'INVALID_REQUEST',
      'partitions[0].offset: must be a non-negative integer or -1 (the high watermark)',
    ],
    [
      { partitions: [{ partition: 0, offset: '3' }] },
      400,
      'INVALID_REQUEST',
      'partitions[0].offset: must be an integer',
    ],
    [
      { partitions: [{ partition: -1, offset: 3 }] },
      400,
      'INVALID_REQUEST',
      'partitions[0].partition: must not be negative',
    ],
    [{ partitions: [{ partition: 0 }] }, 400, 'INVALID_REQUEST', 'partitions[0].offset: is required'],
    [
      { partitions: [{ partition: 0, offset: 3, ofset: 4 }] },
      400,
      'INVALID_REQUEST',
      'partitions[0]: unknown field "ofset"',
    ],
    [
      {
        partitions: [
          { partition: 0, offset: 3 },
          { partition: 0, offset: 4 },
        ],
      },
      400,
      'INVALID_REQUEST',
      'partition 0 of {topic} is given more than once',
    ],
    [
      {
        partitions: [
          { partition: 0, offset: 3 },
          { partition: 2, offset: 0 },
        ],
      },
      404,
      'PARTITION_NOT_FOUND',
      'topic {topic} has no partition 2 (it has 2)',
    ],
  ])('refuses %j with %i %s and changes nothing', async (body, status, code, message) => {
    const topic = await topicWithRecords();
    const answer = await deleteRecords(topic, body);
    expect(answer.status).toBe(status);
    expect(answer.body.error).toMatchObject({ code, message: message.replace('{topic}', topic) });
    expect(await ranges(topic)).toEqual([
      [0, 6],
      [0, 0],
    ]);
  });

  it('answers 404 TOPIC_NOT_FOUND for a topic that does not exist, and 415 for a body that is not JSON', async () => {
    const missing = await deleteRecords('nope', { partitions: [{ partition: 0, offset: 0 }] });
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({
      code: 'TOPIC_NOT_FOUND',
      message: 'topic nope does not exist',
    });
    const topic = await topicWithRecords();
    const response = await fetch(`${server.url}/v1/topics/${topic}/records/delete`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '{"partitions":[{"partition":0,"offset":3}]}',
    });
    expect(response.status).toBe(415);
    expect(await ranges(topic)).toEqual([
      [0, 6],
      [0, 0],
    ]);
  });
});
