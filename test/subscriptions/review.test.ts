import { afterEach, describe, expect, it } from 'vitest';
import { MemoryMetaStore } from '../../lambdas/adapters/memory-meta-store.ts';
import { MemoryObjectStore } from '../../lambdas/adapters/memory-object-store.ts';
import { systemClock } from '../../lambdas/ports/clock.ts';
import { createServices, noFunctions } from '../../lambdas/runtime/services.ts';
import { createLocalRunner, type LocalRunner } from '../../lambdas/subscriptions/local-runner.ts';
import { record } from '../support/log-fixture.ts';
import { waitFor } from '../support/wait-for.ts';
import { startWebhook } from '../support/webhook.ts';
import { subscribe, subscriptionWorld, valuesOf } from './support.ts';

const url = { url: 'http://127.0.0.1:1/' };
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

/** The local runner over memory stores, delivering the subscription `s` of `events` to a webhook. */
async function localWorld() {
  let runner: LocalRunner | undefined;
  const services = createServices(
    { meta: new MemoryMetaStore(systemClock), objects: new MemoryObjectStore(), close: async () => {} },
    systemClock,
    {
      subscriptionTargets: { validateUrl: () => {}, validateFunction: noFunctions },
      onSubscriptionChange: (name) => runner?.wakeSubscription(name),
    },
  );
  runner = createLocalRunner(
    { ...services, clock: systemClock },
    { owner: 'review', backoff: { initialMs: 20, maxMs: 100 }, onEvent: () => {} },
  );
  const hook = await startWebhook();
  cleanup.push(
    () => hook.close(),
    () => (runner as LocalRunner).close(),
  );
  await services.topics.createTopic('events', 1);
  await services.subscriptions.create({
    name: 's',
    topic: 'events',
    target: { url: hook.url },
    startingPosition: 'earliest',
  });
  await runner.start();
  return { services, hook };
}

describe('subscriptions review', () => {
  it('local runner: delivers records of a topic deleted and re-created under the subscription', async () => {
    const { services, hook } = await localWorld();
    await services.log.produce({ topic: 'events', records: [record('old')] });
    await waitFor(() => hook.received.length === 1, 10_000, 'the first record');
    await services.topics.deleteTopic('events');
    await services.topics.createTopic('events', 1);
    await services.log.produce({ topic: 'events', records: [record('new')] });
    await waitFor(() => hook.received.length === 2, 5_000, 'the record of the re-created topic');
    expect(hook.received.map((r) => r.values)).toEqual([['old'], ['new']]);
  });

  it('local runner: delivers records of a partition added after the subscription was created', async () => {
    const { services, hook } = await localWorld();
    await services.topics.alterTopic('events', { partitions: 2 });
    await services.log.produce({ topic: 'events', records: [record('p1', { partition: 1 })] });
    await waitFor(() => hook.delivered(1).length === 1, 5_000, 'the record on the new partition');
  });

  it('does not wait out the batching window while the log already holds a full batch', async () => {
    const world = await subscriptionWorld();
    await subscribe(world, { batchSize: 100, maxBatchingWindowMs: 300_000 });
    const big = 'x'.repeat(10_000);
    for (let i = 0; i < 100; i++) await world.log.produce({ topic: 'events', records: [record(big)] });
    let waits = 0;
    world.deps.waitForRecords = async (_t, _p, ms) => {
      waits++;
      world.clock.advance(ms);
    };
    expect(await world.deliver('s', 0)).toBe('caught-up');
    expect(world.target.seen.map((s) => s.offsets.length)).toEqual([100]);
    expect(waits).toBe(0);
  });

  it('disables a subscription whose dead-letter topic was deleted', async () => {
    const world = await subscriptionWorld();
    await world.subscriptions.create({
      name: 's',
      topic: 'events',
      target: url,
      maxRetryAttempts: 1,
      deadLetterTopic: 'events.dlt',
    });
    await world.topics.deleteTopic('events.dlt');
    await world.subscriptions.update('s', { enabled: false });
    expect((await world.subscriptions.get('s')).enabled).toBe(false);
  });

  it('describes a subscription whose topic was deleted', async () => {
    const world = await subscriptionWorld();
    await world.subscriptions.create({ name: 's', topic: 'events', target: url });
    await world.topics.deleteTopic('events');
    const described = await world.subscriptions.describe('s');
    expect(described).toMatchObject({ name: 's', topic: 'events', partitions: [] });
  });

  it('with maxRetryAttempts 0, a partial failure on the first record dead-letters it and delivers the rest', async () => {
    const world = await subscriptionWorld();
    await subscribe(world, { maxRetryAttempts: 0, deadLetterTopic: 'events.dlt' });
    await world.log.produce({ topic: 'events', records: [record('a'), record('b'), record('c')] });
    world.target.answer = (seen) =>
      seen.offsets.includes(1)
        ? {
            ok: true,
            response: {
              batchItemFailures: [{ itemIdentifier: '2' }, { itemIdentifier: 1 }, { itemIdentifier: '2' }],
            },
          }
        : { ok: true, response: null };
    expect(await world.deliver('s', 0)).toBe('caught-up');
    const dead = await world.log.fetch({ topic: 'events.dlt', partition: 0, offset: 0 });
    expect(valuesOf(dead.records)).toEqual(['b']);
    expect(world.target.seen.map((s) => s.offsets)).toEqual([[0, 1, 2], [2]]);
  });

  it('a dead letter that cannot be produced (its topic deleted) commits nothing past the record and says why in status', async () => {
    const world = await subscriptionWorld();
    await subscribe(world, { maxRetryAttempts: 0, deadLetterTopic: 'events.dlt' });
    await world.log.produce({ topic: 'events', records: [record('a'), record('b')] });
    await world.topics.deleteTopic('events.dlt');
    world.target.answer = () => ({ ok: false, error: 'down' });
    await expect(world.deliver('s', 0)).rejects.toThrow();
    expect((await world.subscriptions.describe('s')).partitions[0]).toMatchObject({
      committedOffset: 0,
      attempts: 1,
      lastError: 'dead letter to events.dlt failed: topic events.dlt does not exist',
    });
  });

  // Regression: the key was <name>/<partition>/<first offset>, and a re-created topic restarts at
  // offset 0, so a target that drops keys it applied dropped the new topic's records.
  it('gives the batch of a re-created topic another idempotency key than the old topic batch at the same offset', async () => {
    const world = await subscriptionWorld();
    await subscribe(world);
    await world.log.produce({ topic: 'events', records: [record('old')] });
    expect(await world.deliver('s', 0)).toBe('caught-up');
    await world.topics.deleteTopic('events');
    await world.topics.createTopic('events', 1);
    await world.log.produce({ topic: 'events', records: [record('new')] });
    expect(await world.deliver('s', 0)).toBe('caught-up');
    expect(world.target.seen.map((s) => s.values)).toEqual([['old'], ['new']]);
    const [first, second] = world.target.seen;
    expect(second?.idempotencyKey).not.toBe(first?.idempotencyKey);
  });

  it('refuses the names "." and "..", which a URL path cannot carry to /v1/subscriptions/{name}', async () => {
    const world = await subscriptionWorld();
    for (const name of ['.', '..']) {
      await expect(world.subscriptions.create({ name, topic: 'events', target: url })).rejects.toMatchObject({
        code: 'INVALID_REQUEST',
        message: expect.stringContaining('name'),
      });
    }
    expect(await world.subscriptions.list()).toEqual([]);
  });

  it('describes the lag of a re-created topic from its start, not from the old topic start offsets', async () => {
    const world = await subscriptionWorld();
    await world.log.produce({ topic: 'events', records: [record('a'), record('b'), record('c')] });
    await world.subscriptions.create({ name: 's', topic: 'events', target: url, enabled: false });
    await world.topics.deleteTopic('events');
    await world.topics.createTopic('events', 1);
    await world.log.produce({ topic: 'events', records: [record('new-1'), record('new-2')] });
    expect((await world.subscriptions.describe('s')).partitions[0]).toMatchObject({
      highWatermark: 2,
      lag: 2,
    });
    await world.subscriptions.update('s', { enabled: true });
    expect(await world.deliver('s', 0)).toBe('caught-up');
    expect(world.target.seen.map((s) => s.values)).toEqual([['new-1', 'new-2']]);
  });

  it('invokes nothing after being disabled during its batching window', async () => {
    const world = await subscriptionWorld();
    await subscribe(world, { batchSize: 5, maxBatchingWindowMs: 10_000 });
    await world.log.produce({ topic: 'events', records: [record('a')] });
    world.deps.waitForRecords = async (_t, _p, ms) => {
      await world.subscriptions.update('s', { enabled: false });
      world.clock.advance(ms);
    };
    expect(await world.deliver('s', 0)).toBe('disabled');
    expect(world.target.seen).toEqual([]);
    expect((await world.subscriptions.describe('s')).partitions[0]).toMatchObject({ owner: null });
  });

  // Regression: the key named the first offset only, not the batch's extent. A batch a target applied
  // but whose commit was lost (here: the lease expired during the call) was sent again by the next
  // deliverer with more records under the same key, and a target that drops keys it applied dropped
  // the records it never saw while the deliverer committed past them.
  it('a target that drops repeated idempotency keys receives every record after a lost commit', async () => {
    const world = await subscriptionWorld();
    await subscribe(world);
    await world.log.produce({ topic: 'events', records: [record('v0')] });
    const appliedKeys = new Set<string>();
    const applied: number[] = [];
    world.target.answer = async (seen) => {
      if (!appliedKeys.has(seen.idempotencyKey)) {
        appliedKeys.add(seen.idempotencyKey);
        applied.push(...seen.offsets);
      }
      if (seen.offsets.length === 1) {
        // The call outlives the lease; meanwhile more records arrive.
        world.clock.advance(11 * 60_000);
        await world.log.produce({ topic: 'events', records: [record('v1'), record('v2')] });
      }
      return { ok: true, response: null };
    };
    expect(await world.deliver('s', 0)).toBe('lease-lost');
    expect(await world.deliver('s', 0, {}, 'deliverer-2')).toBe('caught-up');
    expect((await world.subscriptions.describe('s')).partitions[0]?.committedOffset).toBe(3);
    // Every record reached the target under a key it had not applied (offset 0 twice: at least once).
    expect([...new Set(applied)].sort()).toEqual([0, 1, 2]);
  });

  it('refuses a target URL too long to store as a bad target.url, not an internal error', async () => {
    const world = await subscriptionWorld();
    const long = { url: `http://127.0.0.1:1/${'a'.repeat(500_000)}` };
    await expect(
      world.subscriptions.create({ name: 's', topic: 'events', target: long }),
    ).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
      message: expect.stringContaining('target.url'),
    });
  });

  it('starts a timestamp startingPosition at the first record at or after it, inside a batch and on a tie', async () => {
    const world = await subscriptionWorld();
    const t = world.clock.now() - 1_000;
    await world.log.produce({
      topic: 'events',
      records: [
        record('a', { timestamp: t }),
        record('b', { timestamp: t + 10 }),
        record('c', { timestamp: t + 20 }),
      ],
    });
    await world.log.produce({ topic: 'events', records: [record('d', { timestamp: t + 5 })] });
    for (const [name, at] of [
      ['tie', t + 10],
      ['between', t + 11],
      ['late', t + 30],
    ] as const) {
      await world.subscriptions.create({
        name,
        topic: 'events',
        target: url,
        startingPosition: { timestamp: at },
      });
      await world.deliver(name, 0);
    }
    expect(world.target.seen.map((s) => s.values)).toEqual([
      ['b', 'c', 'd'],
      ['c', 'd'],
    ]);
  });

  // Regression: a deliverer that read the configuration just before a delete claimed the partition
  // after it, re-creating the lease item and the group's list entry the delete removed: the deleted
  // subscription's target was invoked and its group stayed listed (with an offset) for good.
  it('a deliverer racing a delete leaves no group behind and invokes nothing', async () => {
    const world = await subscriptionWorld();
    await subscribe(world);
    await world.log.produce({ topic: 'events', records: [record('a')] });
    let first = true;
    world.deps.subscriptions = {
      read: async (name: string) => {
        const read = await world.subscriptions.read(name);
        if (first) {
          // The delete lands between the deliverer's read and its claim.
          first = false;
          await world.subscriptions.delete('s');
        }
        return read;
      },
    };
    expect(await world.deliver('s', 0)).toBe('deleted');
    expect(world.target.seen).toEqual([]);
    expect(await world.groups.list()).not.toContain('subscription:s');
    expect((await world.groups.describe('subscription:s')).partitions).toEqual([]);
  });
});
