/** The Kafka listener registry (core/listeners.ts) over the memory MetaStore and a manual clock. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryMetaStore } from '../../lambdas/adapters/memory-meta-store.ts';
import { SqliteMetaStore } from '../../lambdas/adapters/sqlite-meta-store.ts';
import { controllerOf, createListenerRegistry } from '../../lambdas/core/listeners.ts';
import { ManualClock } from '../../lambdas/ports/clock.ts';
import type { MetaStore } from '../../lambdas/ports/meta-store.ts';
import { failure } from '../support/failure.ts';

function setup(store: (clock: ManualClock) => MetaStore = (clock) => new MemoryMetaStore(clock)) {
  const clock = new ManualClock();
  const meta = store(clock);
  const registry = (owner: string) =>
    createListenerRegistry({ meta, clock, owner, ttlMs: 30_000, cacheMs: 1_000 });
  /** A listener of its own registry, joined and advertised at `gw-{owner}:{port}`. */
  const listener = async (owner: string, port: number) => {
    const own = registry(owner);
    const registration = await own.join();
    await registration.advertise({ host: `gw-${owner}`, port });
    return { registry: own, registration };
  };
  return { clock, registry, listener };
}

describe('the Kafka listener registry', () => {
  it('gives listeners joining at once distinct node ids and lists every advertised one', async () => {
    // Prepare
    const { registry } = setup();
    const a = registry('a');
    const b = registry('b');
    // Act
    const [first, second] = await Promise.all([a.join(), b.join()]);
    await first.advertise({ host: 'gw-a', port: 9092 });
    await second.advertise({ host: 'gw-b', port: 9093 });
    // Assess
    expect(new Set([first.nodeId, second.nodeId])).toEqual(new Set([0, 1]));
    const listed = await a.liveListeners();
    expect(listed).toEqual(
      [
        { nodeId: first.nodeId, host: 'gw-a', port: 9092 },
        { nodeId: second.nodeId, host: 'gw-b', port: 9093 },
      ].sort((x, y) => x.nodeId - y.nodeId),
    );
    expect(controllerOf(listed)).toBe(0);
  });

  it('lists the internal address a listener advertised with its own', async () => {
    // Prepare
    const { registry } = setup();
    const own = registry('a');
    const registration = await own.join();
    // Act
    await registration.advertise({ host: 'nlb', port: 9092, internalHost: '10.0.1.5', internalPort: 9092 });
    // Assess
    expect(await own.liveListeners()).toEqual([
      { nodeId: 0, host: 'nlb', port: 9092, internalHost: '10.0.1.5', internalPort: 9092 },
    ]);
  });

  it('does not list a listener that holds its id but has not advertised', async () => {
    const { registry } = setup();
    const a = registry('a');
    await a.join();
    expect(await a.liveListeners()).toEqual([]);
  });

  it('drops a listener that left, after the cache, and reuses its id', async () => {
    // Prepare
    const { clock, registry, listener } = setup();
    const first = await listener('a', 1);
    const second = await listener('b', 2);
    expect((await second.registry.liveListeners()).map((l) => l.nodeId)).toEqual([0, 1]);
    // Act
    await first.registration.leave();
    clock.advance(1_000);
    // Assess
    const listed = await second.registry.liveListeners();
    expect(listed).toEqual([{ nodeId: 1, host: 'gw-b', port: 2 }]);
    expect(controllerOf(listed)).toBe(1);
    expect((await registry('c').join()).nodeId).toBe(0);
  });

  it('lets a listener that stopped renewing expire, and gives its id to the next', async () => {
    // Prepare
    const { clock, registry, listener } = setup();
    const first = await listener('a', 1);
    const second = await listener('b', 2);
    // Act: b renews through 40 s, a does not
    for (let i = 0; i < 4; i++) {
      clock.advance(10_000);
      await second.registration.renew();
    }
    // Assess
    expect(await second.registry.liveListeners()).toEqual([{ nodeId: 1, host: 'gw-b', port: 2 }]);
    expect((await registry('c').join()).nodeId).toBe(0);
    // The first, back too late, finds its id taken and says so instead of overwriting it.
    expect((await failure(first.registration.renew())).code).toBe('LEASE_LOST');
  });

  it('takes its own expired id back on renewal while nobody took it', async () => {
    const { clock, listener } = setup();
    const first = await listener('a', 1);
    clock.advance(60_000);
    expect(await first.registry.liveListeners()).toEqual([]);
    await first.registration.renew();
    clock.advance(1_000);
    expect(await first.registry.liveListeners()).toEqual([{ nodeId: 0, host: 'gw-a', port: 1 }]);
  });

  it('answers from its cache within cacheMs', async () => {
    const { clock, listener } = setup();
    const first = await listener('a', 1);
    expect(await first.registry.liveListeners()).toHaveLength(1);
    await listener('b', 2);
    expect(await first.registry.liveListeners()).toHaveLength(1);
    clock.advance(1_000);
    expect(await first.registry.liveListeners()).toHaveLength(2);
  });

  it.each([
    ['memory', (clock: ManualClock) => new MemoryMetaStore(clock)],
    [
      'SQLite',
      (clock: ManualClock) =>
        new SqliteMetaStore({
          path: join(mkdtempSync(join(tmpdir(), 'streambed-listeners-')), 'meta.db'),
          clock,
        }),
    ],
  ])('never lets a stalled listener take over an id re-registered since (%s store)', async (_, store) => {
    // Prepare: a stalls past its expiry; c takes node id 0 and advertises, so its item is at a's version
    const { clock, listener } = setup(store);
    const first = await listener('a', 1);
    clock.advance(60_000);
    const third = await listener('c', 3);
    expect(third.registration.nodeId).toBe(first.registration.nodeId);
    // Act
    const renewal = await failure(first.registration.renew());
    // Assess: a is told it lost the id, and c is still the one listed under it
    expect(renewal.code).toBe('LEASE_LOST');
    clock.advance(1_000);
    expect(await third.registry.liveListeners()).toEqual([{ nodeId: 0, host: 'gw-c', port: 3 }]);
  });
});
