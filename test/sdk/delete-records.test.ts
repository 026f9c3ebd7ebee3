/**
 * The SDK's `admin.deleteTopicRecords` (KafkaJS's shape) against a real local server with its janitor
 * running: consumers and fetches follow the new log start, and the janitor frees what is below it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Admin, Streambed, StreambedError } from '../../client/index.ts';
import { type LocalServer, startLocalServer } from '../../lambdas/runtime/local-server.ts';
import { waitFor } from '../support/wait-for.ts';

let server: LocalServer;
let client: Streambed;
let admin: Admin;
beforeAll(async () => {
  server = await startLocalServer({ port: 0, memory: true, janitorIntervalMs: 100 });
  client = new Streambed({ url: server.url });
  admin = client.admin();
});
afterAll(async () => server.close());

let topics = 0;
/** A new one-partition topic holding v0-v5 in three requests of two records. */
async function topicWithRecords(): Promise<string> {
  const topic = `records-${topics++}`;
  await admin.createTopic({ topic, numPartitions: 1 });
  const producer = client.producer();
  for (let i = 0; i < 3; i++) {
    await producer.send({ topic, messages: [{ value: `v${2 * i}` }, { value: `v${2 * i + 1}` }] });
  }
  await producer.disconnect();
  return topic;
}

const partition0 = async (topic: string) => (await admin.describeTopic(topic)).partitions[0]!;

describe('Admin deleteTopicRecords', () => {
  it('moves the log start; a group committed below it resets there; the janitor frees what is below', async () => {
    // Prepare: group `late` has committed offset 1
    const topic = await topicWithRecords();
    await admin.resetOffsets('late', topic, { to: 'offset', offset: 1 });
    const before = await partition0(topic);
    // Act: KafkaJS spells offsets as strings
    const result = await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '4' }] });
    // Assess
    expect(result).toEqual([{ partition: 0, logStartOffset: 4 }]);
    expect(await admin.fetchPartitionOffsets(topic, 0)).toEqual({ logStartOffset: 4, highWatermark: 6 });
    const consumer = client.consumer({ groupId: 'late' });
    const received: { offset: number; value: string }[] = [];
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        received.push({ offset: message.offset, value: message.value?.toString() ?? '' });
      },
    });
    await waitFor(() => received.length >= 2, 20_000, 'the records from the new log start');
    await consumer.disconnect();
    expect(received).toEqual([
      { offset: 4, value: 'v4' },
      { offset: 5, value: 'v5' },
    ]);
    // The two requests wholly below 4 leave the index: a third of the bytes stays
    await waitFor(
      async () => (await partition0(topic)).bytes === before.bytes / 3,
      20_000,
      'the janitor to drop the batches below the log start',
    );
    expect(await partition0(topic)).toMatchObject({ logStartOffset: 4, highWatermark: 6 });
  });

  it("'-1' deletes every record so far, and producing goes on at the high watermark", async () => {
    const topic = await topicWithRecords();
    expect(await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '-1' }] })).toEqual([
      { partition: 0, logStartOffset: 6 },
    ]);
    const producer = client.producer();
    const [sent] = await producer.send({ topic, messages: [{ value: 'after' }] });
    await producer.disconnect();
    expect(sent).toMatchObject({ topic, partition: 0, offset: 6 });
    expect(await admin.fetchPartitionOffsets(topic, 0)).toEqual({ logStartOffset: 6, highWatermark: 7 });
  });

  it('an offset at or below the log start changes nothing; one above the high watermark is refused', async () => {
    const topic = await topicWithRecords();
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: 3 }] });
    expect(await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: 1 }] })).toEqual([
      { partition: 0, logStartOffset: 3 },
    ]);
    const error = await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '7' }] }).then(
      () => new Error('expected deleteTopicRecords to fail'),
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(StreambedError);
    expect(error).toMatchObject({
      code: 'OFFSET_OUT_OF_RANGE',
      message: `offset 7 is outside ${topic}/0: records can be deleted up to the high watermark, valid offsets are 3 to 6`,
    });
    expect(await admin.fetchPartitionOffsets(topic, 0)).toEqual({ logStartOffset: 3, highWatermark: 6 });
  });

  it('refuses an offset that is not an integer or -1 before sending anything', async () => {
    const topic = await topicWithRecords();
    for (const offset of ['abc', '-2', '1.5', 2 ** 53]) {
      const error = await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset }] }).then(
        () => new Error('expected deleteTopicRecords to fail'),
        (caught: unknown) => caught,
      );
      expect(error).toMatchObject({
        code: 'INVALID_REQUEST',
        message: `offset for ${topic}/0 must be a non-negative integer or -1 (the high watermark), got ${JSON.stringify(offset)}`,
      });
    }
    expect(await admin.fetchPartitionOffsets(topic, 0)).toEqual({ logStartOffset: 0, highWatermark: 6 });
  });
});
