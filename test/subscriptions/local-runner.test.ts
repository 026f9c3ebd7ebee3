import { afterEach, describe, expect, it } from 'vitest';
import { CountingMetaStore } from '../../lambdas/adapters/counting-stores.ts';
import { MemoryMetaStore } from '../../lambdas/adapters/memory-meta-store.ts';
import { MemoryObjectStore } from '../../lambdas/adapters/memory-object-store.ts';
import { systemClock } from '../../lambdas/ports/clock.ts';
import { createServices, noFunctions } from '../../lambdas/runtime/services.ts';
import type { DeliveryEvent } from '../../lambdas/subscriptions/deliverer.ts';
import { createLocalRunner, type LocalRunner } from '../../lambdas/subscriptions/local-runner.ts';
import { record } from '../support/log-fixture.ts';
import { waitFor } from '../support/wait-for.ts';
import { startWebhook, type Webhook } from '../support/webhook.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

async function world() {
  const meta = new CountingMetaStore(new MemoryMetaStore(systemClock));
  let runner: LocalRunner | undefined;
  const services = createServices(
    { meta, objects: new MemoryObjectStore(), close: async () => {} },
    systemClock,
    {
      subscriptionTargets: { validateUrl: () => {}, validateFunction: noFunctions },
      onSubscriptionChange: (name) => runner?.wakeSubscription(name),
    },
  );
  const events: DeliveryEvent[] = [];
  runner = createLocalRunner(
    { ...services, clock: systemClock },
    { owner: 'local-test', backoff: { initialMs: 20, maxMs: 100 }, onEvent: (e) => events.push(e) },
  );
  const hook = await startWebhook();
  cleanup.push(
    () => hook.close(),
    () => (runner as LocalRunner).close(),
  );
  await services.topics.createTopic('events', 4);
  await services.topics.createTopic('events.dlt', 1);
  return { services, runner, hook, meta, events };
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
const inOrder = (hook: Webhook, partition: number, count: number) =>
  expect(hook.delivered(partition)).toEqual(range(0, count));

describe('local runner', () => {
  it('delivers 5,000 records over 4 partitions in order per partition, woken by commits, then stays idle', async () => {
    const { services, runner, hook, meta } = await world();
    await services.subscriptions.create({
      name: 's',
      topic: 'events',
      target: { url: `${hook.url}/hook` },
      startingPosition: 'earliest',
      batchSize: 100,
    });
    await runner.start();
    for (let i = 0; i < 50; i++) {
      const records = Array.from({ length: 100 }, (_, j) =>
        record(`r${i * 100 + j}`, { partition: (i * 100 + j) % 4 }),
      );
      await services.log.produce({ topic: 'events', records });
    }
    await waitFor(
      () => hook.received.reduce((n, r) => n + r.offsets.length, 0) >= 5_000,
      30_000,
      '5,000 records',
    );
    await runner.idle();
    for (let p = 0; p < 4; p++) inOrder(hook, p, 1_250);
    expect(
      hook.received.every(
        (r) =>
          r.subscription === 's' &&
          r.idempotencyKey.startsWith(`s/${r.partition}/${r.offsets[0]}-${r.offsets.at(-1)}/`),
      ),
    ).toBe(true);
    const described = await services.subscriptions.describe('s');
    expect(described.partitions.map((p) => [p.committedOffset, p.lag])).toEqual(Array(4).fill([1_250, 0]));
    // Idle: nothing reads the store while nothing is produced.
    const reads = { ...meta.counts };
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(meta.counts).toEqual(reads);
  });

  it('delivers on start what was committed while no runner ran, and stops and resumes with enabled', async () => {
    const { services, runner, hook } = await world();
    await services.subscriptions.create({
      name: 's',
      topic: 'events',
      target: { url: hook.url },
      startingPosition: 'earliest',
    });
    await services.log.produce({ topic: 'events', records: [record('a', { partition: 0 })] });
    await runner.start();
    await waitFor(() => hook.delivered(0).length === 1, 10_000, 'the record committed before start');
    await services.subscriptions.update('s', { enabled: false });
    await runner.idle();
    await services.log.produce({ topic: 'events', records: [record('b', { partition: 0 })] });
    await runner.idle();
    expect(hook.received).toHaveLength(1);
    await services.subscriptions.update('s', { enabled: true });
    await waitFor(() => hook.delivered(0).length === 2, 10_000, 'delivery after resume');
    expect(hook.received.map((r) => r.values)).toEqual([['a'], ['b']]);
  });

  it('sends a poison record to the dead-letter topic after its attempts while the other partitions flow', async () => {
    const { services, runner, hook, events } = await world();
    await services.subscriptions.create({
      name: 's',
      topic: 'events',
      target: { url: hook.url },
      startingPosition: 'earliest',
      bisectBatchOnError: true,
      maxRetryAttempts: 2,
      deadLetterTopic: 'events.dlt',
    });
    hook.reply = (event) =>
      event.values.includes('poison') ? { status: 500, body: { error: 'cannot parse' } } : { status: 200 };
    await runner.start();
    const records = ['a', 'b', 'poison', 'c'].map((v) => record(v, { partition: 0 }));
    await services.log.produce({ topic: 'events', records: [...records, record('x', { partition: 1 })] });
    await waitFor(
      async () => (await services.log.offsets('events.dlt', 0)).highWatermark === 1,
      10_000,
      'a dead letter',
    );
    await waitFor(() => hook.delivered(0).includes(3), 10_000, 'the record after the poison one');
    expect(hook.delivered(0)).toEqual([0, 1, 3]);
    expect(hook.delivered(1)).toEqual([0]);
    const dead = await services.log.fetch({ topic: 'events.dlt', partition: 0, offset: 0 });
    expect(Buffer.from(dead.records[0]?.value ?? []).toString()).toBe('poison');
    expect(events.filter((e) => e.type === 'dead-lettered')).toHaveLength(1);
  });
});
