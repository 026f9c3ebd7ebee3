import { describe, expect, it } from 'vitest';
import { DEAD_LETTER_HEADERS } from '../../client/wire/dead-letter.ts';
import { StreamError } from '../../lambdas/core/errors.ts';
import { createSchemaRegistryService } from '../../lambdas/core/schemas.ts';
import { deliverPartition, schemaIdsKnownTo } from '../../lambdas/subscriptions/deliverer.ts';
import { MAX_EVENT_BYTES } from '../../lambdas/subscriptions/target.ts';
import { record } from '../support/log-fixture.ts';
import { subscribe, subscriptionWorld, valuesOf } from './support.ts';

const url = { url: 'http://127.0.0.1:1/' };

async function produce(world: Awaited<ReturnType<typeof subscriptionWorld>>, count: number, partition = 0) {
  const records = Array.from({ length: count }, (_, i) => record(`v${i}`, { partition }));
  await world.log.produce({ topic: 'events', records });
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('deliverer', () => {
  it('delivers every record in order, in batches of batchSize, commits and releases, then reports caught up', async () => {
    const world = await subscriptionWorld({ partitions: 2 });
    await subscribe(world, { batchSize: 100 });
    await produce(world, 250, 0);
    await produce(world, 3, 1);
    expect(await world.deliver('s', 0)).toBe('caught-up');
    expect(await world.deliver('s', 1)).toBe('caught-up');
    expect(world.target.seen.map((s) => [s.partition, s.offsets.length])).toEqual([
      [0, 100],
      [0, 100],
      [0, 50],
      [1, 3],
    ]);
    expect(world.target.delivered(0)).toEqual(range(0, 250));
    expect(world.target.seen[1]?.idempotencyKey).toMatch(/^s\/0\/100-199\/[0-9A-Z]{26}$/);
    expect(world.target.seen[0]?.values.slice(0, 2)).toEqual(['v0', 'v1']);
    const described = await world.subscriptions.describe('s');
    expect(described.partitions).toEqual([
      expect.objectContaining({ partition: 0, committedOffset: 250, lag: 0, owner: null, attempts: 0 }),
      expect.objectContaining({ partition: 1, committedOffset: 3, lag: 0, owner: null }),
    ]);
    expect(described.partitions[0]?.lastDeliveryTime).toBe(world.clock.now());
    // Nothing new: a second run delivers nothing.
    expect(await world.deliver('s', 0)).toBe('caught-up');
    expect(world.target.seen).toHaveLength(4);
  });

  it('starts where startingPosition says: latest skips what was there, earliest and a timestamp do not', async () => {
    const world = await subscriptionWorld();
    const t0 = world.clock.now();
    await produce(world, 3);
    world.clock.advance(1_000);
    await world.log.produce({ topic: 'events', records: [record('late')] });
    await world.subscriptions.create({ name: 'latest', topic: 'events', target: url });
    await world.subscriptions.create({
      name: 'earliest',
      topic: 'events',
      target: url,
      startingPosition: 'earliest',
    });
    await world.subscriptions.create({
      name: 'at',
      topic: 'events',
      target: url,
      startingPosition: { timestamp: t0 + 500 },
    });
    await world.log.produce({ topic: 'events', records: [record('new')] });
    for (const name of ['latest', 'earliest', 'at']) await world.deliver(name, 0);
    expect(world.target.seen.map((s) => s.values)).toEqual([
      ['new'],
      ['v0', 'v1', 'v2', 'late', 'new'],
      ['late', 'new'],
    ]);
  });

  it('resumes at the lowest offset in batchItemFailures, with the next attempt keyed by that offset', async () => {
    const world = await subscriptionWorld();
    await subscribe(world);
    await produce(world, 10);
    let first = true;
    world.target.answer = () => {
      if (!first) return { ok: true, response: null };
      first = false;
      return {
        ok: true,
        response: { batchItemFailures: [{ itemIdentifier: '7' }, { itemIdentifier: '4' }] },
      };
    };
    expect(await world.deliver('s', 0)).toBe('caught-up');
    expect(
      world.target.seen.map((s) => [
        s.idempotencyKey.replace(/\/[0-9A-Z]{26}$/, ''),
        s.offsets[0],
        s.offsets.length,
      ]),
    ).toEqual([
      ['s/0/0-9', 0, 10],
      ['s/0/4-9', 4, 6],
    ]);
  });

  it('retries a failing batch with backoff, showing attempts and the last error, until it succeeds', async () => {
    const world = await subscriptionWorld();
    await subscribe(world);
    await produce(world, 5);
    const times: number[] = [];
    let statusDuring: unknown;
    world.target.answer = async () => {
      times.push(world.clock.now());
      if (times.length === 3) statusDuring = (await world.subscriptions.describe('s')).partitions[0];
      return times.length < 4
        ? { ok: false, error: 'HTTP 503 from target: busy' }
        : { ok: true, response: null };
    };
    expect(await world.deliver('s', 0)).toBe('caught-up');
    expect(statusDuring).toMatchObject({
      attempts: 2,
      lastError: 'HTTP 503 from target: busy',
      committedOffset: 0,
      lag: 5,
    });
    const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
    // 100 ms doubling, ±20 % jitter.
    expect(gaps[0]).toBeGreaterThanOrEqual(80);
    expect(gaps[1]).toBeGreaterThanOrEqual(160);
    expect(gaps[2]).toBeGreaterThanOrEqual(320);
    expect(new Set(world.target.seen.map((s) => s.idempotencyKey)).size).toBe(1);
    expect(world.target.seen[0]?.idempotencyKey).toMatch(/^s\/0\/0-4\//);
    expect((await world.subscriptions.describe('s')).partitions[0]).toMatchObject({
      attempts: 0,
      committedOffset: 5,
    });
  });

  it('does not count invocations that never reached the target (throttles) against maxRetryAttempts', async () => {
    const world = await subscriptionWorld();
    await subscribe(world, { maxRetryAttempts: 0, deadLetterTopic: 'events.dlt' });
    await produce(world, 2);
    world.target.answer = () =>
      world.target.seen.length <= 3
        ? { ok: false, error: 'Rate exceeded', reached: false }
        : { ok: true, response: null };
    expect(await world.deliver('s', 0)).toBe('caught-up');
    expect(world.target.delivered(0)).toEqual([0, 1]);
    expect((await world.log.offsets('events.dlt', 0)).highWatermark).toBe(0);
  });

  it('bisects to the poison record, dead-letters it alone after maxRetryAttempts, and delivers the rest in order', async () => {
    const world = await subscriptionWorld();
    await subscribe(world, {
      batchSize: 16,
      bisectBatchOnError: true,
      maxRetryAttempts: 2,
      deadLetterTopic: 'events.dlt',
    });
    await produce(world, 40);
    world.target.answer = (seen) =>
      seen.offsets.includes(21) ? { ok: false, error: 'poison at 21' } : { ok: true, response: null };
    expect(await world.deliver('s', 0)).toBe('caught-up');
    expect(world.target.delivered(0)).toEqual(range(0, 40).filter((o) => o !== 21));
    // The single poison record was tried 1 + maxRetryAttempts times.
    expect(world.target.seen.filter((s) => s.offsets.length === 1 && s.offsets[0] === 21)).toHaveLength(3);
    const dead = await world.log.fetch({ topic: 'events.dlt', partition: 0, offset: 0 });
    expect(valuesOf(dead.records)).toEqual(['v21']);
    const headers = Object.fromEntries(
      (dead.records[0]?.headers ?? []).map((h) => [h.key, Buffer.from(h.value ?? []).toString()]),
    );
    expect(headers).toEqual({
      [DEAD_LETTER_HEADERS.topic]: 'events',
      [DEAD_LETTER_HEADERS.partition]: '0',
      [DEAD_LETTER_HEADERS.offset]: '21',
      [DEAD_LETTER_HEADERS.attempts]: '3',
      [DEAD_LETTER_HEADERS.error]: 'poison at 21',
    });
    expect((await world.subscriptions.describe('s')).partitions[0]).toMatchObject({
      committedOffset: 40,
      deadLettered: 1,
      lastError: 'poison at 21',
    });
  });

  it('without bisecting, dead-letters the whole failing batch after maxRetryAttempts and moves on', async () => {
    const world = await subscriptionWorld();
    await subscribe(world, { batchSize: 4, maxRetryAttempts: 0, deadLetterTopic: 'events.dlt' });
    await produce(world, 8);
    world.target.answer = (seen) =>
      seen.offsets[0] === 0 ? { ok: false, error: 'down' } : { ok: true, response: null };
    expect(await world.deliver('s', 0)).toBe('caught-up');
    expect(world.target.delivered(0)).toEqual([4, 5, 6, 7]);
    const dead = await world.log.fetch({ topic: 'events.dlt', partition: 0, offset: 0 });
    expect(valuesOf(dead.records)).toEqual(['v0', 'v1', 'v2', 'v3']);
  });

  it('a record too large for any event goes to the dead-letter topic at once', async () => {
    const world = await subscriptionWorld();
    await world.topics.alterTopic('events', { config: { 'max.message.bytes': 4_600_000 } });
    await subscribe(world, { deadLetterTopic: 'events.dlt', maxRetryAttempts: 5 });
    await world.topics.alterTopic('events.dlt', { config: { 'max.message.bytes': 4_600_000 } });
    // 3 MB of value is 4 MB of base64; 1 MB of header bytes is about 4 MB of JSON numbers.
    const big = new Uint8Array(3_000_000).fill(7);
    const header = { key: 'h', value: new Uint8Array(1_000_000).fill(255) };
    await world.log.produce({
      topic: 'events',
      records: [record('a'), { key: null, value: big, headers: [header] }, record('b')],
    });
    expect(await world.deliver('s', 0)).toBe('caught-up');
    expect(world.target.seen.map((s) => s.offsets)).toEqual([[0], [2]]);
    const dead = await world.log.fetch({ topic: 'events.dlt', partition: 0, offset: 0, maxBytes: 8_000_000 });
    expect(dead.records.map((r) => r.value?.length)).toEqual([big.length]);
    const error = dead.records[0]?.headers.find((h) => h.key === DEAD_LETTER_HEADERS.error);
    expect(Buffer.from(error?.value ?? []).toString()).toContain(`${MAX_EVENT_BYTES}-byte limit`);
  });

  it('stops when disabled or deleted and carries on from the committed offset when enabled again', async () => {
    const world = await subscriptionWorld();
    await subscribe(world, { batchSize: 2 });
    await produce(world, 6);
    world.target.answer = async (seen) => {
      if (seen.offsets[0] === 2) await world.subscriptions.update('s', { enabled: false });
      return { ok: true, response: null };
    };
    expect(await world.deliver('s', 0)).toBe('disabled');
    expect(world.target.delivered(0)).toEqual([0, 1, 2, 3]);
    expect(await world.deliver('s', 0)).toBe('disabled');
    await world.subscriptions.update('s', { enabled: true });
    expect(await world.deliver('s', 0)).toBe('caught-up');
    expect(world.target.delivered(0)).toEqual(range(0, 6));
    await world.subscriptions.delete('s');
    expect(await world.deliver('s', 0)).toBe('deleted');
  });

  it('is busy while another deliverer holds the partition, and fences a deliverer whose lease was taken', async () => {
    const world = await subscriptionWorld();
    await subscribe(world, { batchSize: 1 });
    await produce(world, 3);
    let inner: string | undefined;
    world.target.answer = async (seen) => {
      if (seen.offsets[0] === 1 && inner === undefined) {
        // While the first deliverer waits on the target, its lease expires and a second takes over.
        inner = await world.deliver('s', 0, {}, 'deliverer-2');
        world.clock.advance(11 * 60_000);
        inner = await world.deliver('s', 0, {}, 'deliverer-2');
      }
      return { ok: true, response: null };
    };
    expect(await world.deliver('s', 0)).toBe('lease-lost');
    expect(inner).toBe('caught-up');
    // The second deliverer redelivered offset 1 (at least once) and committed past everything.
    expect(world.target.seen.map((s) => s.offsets[0])).toEqual([0, 1, 1, 2]);
    expect((await world.subscriptions.describe('s')).partitions[0]).toMatchObject({ committedOffset: 3 });
  });

  it('waits up to maxBatchingWindowMs to fill a batch, waking as records arrive', async () => {
    const world = await subscriptionWorld();
    await subscribe(world, { batchSize: 5, maxBatchingWindowMs: 10_000 });
    await produce(world, 2);
    let waits = 0;
    world.deps.waitForRecords = async (_topicId, _partition, ms) => {
      waits++;
      expect(ms).toBeLessThanOrEqual(10_000);
      if (waits === 1) await produce(world, 2);
      else world.clock.advance(ms);
    };
    expect(await world.deliver('s', 0)).toBe('caught-up');
    expect(world.target.seen.map((s) => s.offsets)).toEqual([[0, 1, 2, 3]]);
    expect(waits).toBe(2);
  });

  it('carries on at the log start when retention removed undelivered records, and says so in status', async () => {
    const world = await subscriptionWorld();
    await subscribe(world);
    await produce(world, 1);
    world.clock.advance(1_000);
    await produce(world, 1);
    // Retention removes the first batch before anything is delivered.
    await world.topics.alterTopic('events', { config: { 'retention.ms': 500 } });
    const { createJanitor } = await import('../../lambdas/core/janitor.ts');
    const janitor = createJanitor(
      { meta: world.meta, objects: world.objects, clock: world.clock, topics: world.topics },
      { owner: 'j' },
    );
    await janitor.runOnce();
    expect((await world.log.offsets('events', 0)).logStartOffset).toBe(1);
    expect(await world.deliver('s', 0)).toBe('caught-up');
    expect(world.target.seen.map((s) => s.offsets)).toEqual([[1]]);
    expect((await world.subscriptions.describe('s')).partitions[0]?.lastError).toBe(
      'records 0 to 0 were removed before delivery (retention, or records deleted)',
    );
  });

  it('carries on at the log start when records were deleted before delivery, and does not blame retention', async () => {
    const world = await subscriptionWorld();
    await subscribe(world);
    await produce(world, 3);
    // No retention on the topic: an admin deletes the first two records.
    await world.log.deleteRecords({ topic: 'events', partitions: [{ partition: 0, offset: 2 }] });
    expect(await world.deliver('s', 0)).toBe('caught-up');
    expect(world.target.seen.map((s) => s.offsets)).toEqual([[2]]);
    expect((await world.subscriptions.describe('s')).partitions[0]?.lastError).toBe(
      'records 0 to 1 were removed before delivery (retention, or records deleted)',
    );
  });

  it('keeps its lease through a backoff longer than the lease', async () => {
    const world = await subscriptionWorld();
    await subscribe(world);
    await produce(world, 1);
    world.target.answer = () =>
      world.target.seen.length < 3 ? { ok: false, error: 'down' } : { ok: true, response: null };
    const outcome = await deliverPartition(
      world.deps,
      { owner: 'slow', leaseMs: 60_000, backoff: { initialMs: 100_000, maxMs: 100_000 } },
      's',
      0,
    );
    expect(outcome).toBe('caught-up');
    expect(world.target.seen).toHaveLength(3);
    expect((await world.subscriptions.describe('s')).partitions[0]).toMatchObject({ committedOffset: 1 });
    expect((await world.groups.describe('subscription:s')).partitions[0]?.epoch).toBe(2);
  });

  it('honours an offset reset of the subscription group, made before or after its first delivery', async () => {
    const world = await subscriptionWorld();
    await subscribe(world);
    await produce(world, 5);
    await world.groups.resetOffsets('subscription:s', 'events', { to: 'offset', offset: 2 });
    expect((await world.subscriptions.describe('s')).partitions[0]).toMatchObject({
      committedOffset: 2,
      lag: 3,
    });
    expect(await world.deliver('s', 0)).toBe('caught-up');
    expect(world.target.seen.map((s) => s.offsets)).toEqual([[2, 3, 4]]);
    await world.groups.resetOffsets('subscription:s', 'events', { to: 'offset', offset: 4 });
    expect(await world.deliver('s', 0)).toBe('caught-up');
    expect(world.target.seen.map((s) => s.offsets)).toEqual([[2, 3, 4], [4]]);
  });

  it('marks values framed with a registry schema id, leaves other zero-led values alone, and reads the registry once', async () => {
    const world = await subscriptionWorld();
    const schemas = createSchemaRegistryService({ meta: world.meta, clock: world.clock });
    const { id } = await schemas.register('events-value', { schema: '"string"' });
    let reads = 0;
    world.deps.knownSchemaIds = schemaIdsKnownTo(
      {
        highestSchemaId: () => {
          reads++;
          return schemas.highestSchemaId();
        },
      },
      world.clock,
    );
    await subscribe(world);
    const framed = (schemaId: number, body: number[]) => new Uint8Array([0, 0, 0, 0, schemaId, ...body]);
    const records = [framed(id, [6, 0x61, 0x62, 0x63]), framed(id + 7, [1, 2]), framed(id + 9, [3])];
    await world.log.produce({
      topic: 'events',
      records: records.map((value) => ({ key: null, value, headers: [] })),
    });
    expect(await world.deliver('s', 0)).toBe('caught-up');
    const delivered = Object.values(world.target.seen[0]?.event.records ?? {})[0] ?? [];
    expect(delivered[0]?.valueSchemaMetadata).toEqual({ dataFormat: 'AVRO', schemaId: String(id) });
    expect(Buffer.from(delivered[0]?.value ?? '', 'base64')).toEqual(Buffer.from([6, 0x61, 0x62, 0x63]));
    for (const [i, record] of delivered.slice(1).entries()) {
      expect(record.valueSchemaMetadata).toBeUndefined();
      expect(new Uint8Array(Buffer.from(record.value ?? '', 'base64'))).toEqual(records[i + 1]);
    }
    // One read of the highest id serves the whole batch, however many zero-led values it holds.
    expect(reads).toBe(1);
  });

  it('reports stopped, not caught up, when records arrive after its release and its deadline has passed', async () => {
    const world = await subscriptionWorld();
    await subscribe(world);
    await produce(world, 1);
    const deadline = world.clock.now() + 1_000;
    const offsets = world.log.offsets.bind(world.log);
    world.deps.log = {
      ...world.log,
      fetch: world.log.fetch.bind(world.log),
      produce: world.log.produce.bind(world.log),
      // The re-check after the release: meanwhile a record is committed and the deadline passes.
      offsets: async (topic, partition, timestamp) => {
        if (world.target.seen.length === 1 && timestamp === undefined) {
          await world.log.produce({ topic: 'events', records: [record('late')] });
          world.clock.advance(2_000);
        }
        return offsets(topic, partition, timestamp);
      },
    };
    expect(await world.deliver('s', 0, { deadline })).toBe('stopped');
  });

  it('finishes a dead letter whose copy failed without calling the target again', async () => {
    const world = await subscriptionWorld();
    await subscribe(world, { maxRetryAttempts: 1, deadLetterTopic: 'events.dlt' });
    await produce(world, 2);
    world.target.answer = (seen) =>
      seen.offsets[0] === 0 ? { ok: false, error: 'poison' } : { ok: true, response: null };
    let failCopy = true;
    const produceRecords = world.log.produce.bind(world.log);
    world.deps.log = {
      ...world.log,
      fetch: world.log.fetch.bind(world.log),
      offsets: world.log.offsets.bind(world.log),
      produce: async (request) => {
        if (request.topic === 'events.dlt' && failCopy) {
          failCopy = false;
          throw new StreamError('UNAVAILABLE', 'the store is down');
        }
        return produceRecords(request);
      },
    };
    await expect(world.deliver('s', 0)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(world.target.seen).toHaveLength(2);
    expect(await world.deliver('s', 0)).toBe('caught-up');
    // The failed batch ran out of attempts: its copy is finished, and the target is not called again.
    expect(world.target.seen).toHaveLength(2);
    const dead = await world.log.fetch({ topic: 'events.dlt', partition: 0, offset: 0 });
    expect(dead.records).toHaveLength(2);
    const attempts = dead.records[0]?.headers.find((h) => h.key === DEAD_LETTER_HEADERS.attempts);
    expect(Buffer.from(attempts?.value ?? []).toString()).toBe('2');
  });

  it('stops at the deadline, releasing the lease with its position saved', async () => {
    const world = await subscriptionWorld();
    await subscribe(world, { batchSize: 1 });
    await produce(world, 5);
    const deadline = world.clock.now() + 1_000;
    world.target.answer = () => {
      world.clock.advance(400);
      return { ok: true, response: null };
    };
    expect(await world.deliver('s', 0, { deadline })).toBe('stopped');
    expect((await world.subscriptions.describe('s')).partitions[0]).toMatchObject({
      committedOffset: 3,
      owner: null,
    });
  });
});
