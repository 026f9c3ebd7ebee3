/**
 * A listener whose node id another listener took (it stalled past its registration's life) stops
 * serving instead of going on as a second broker with that id, and says so.
 */
import { connect } from 'node:net';
import { expect, it } from 'vitest';
import { MemoryMetaStore } from '../../lambdas/adapters/memory-meta-store.ts';
import { MemoryObjectStore } from '../../lambdas/adapters/memory-object-store.ts';
import { createListenerRegistry } from '../../lambdas/core/listeners.ts';
import { ManualClock } from '../../lambdas/ports/clock.ts';
import { createServices } from '../../lambdas/runtime/backends.ts';
import { startRegisteredKafkaListener } from '../../lambdas/runtime/kafka-listeners.ts';

it('stops serving, and resolves `lost`, when another listener took its node id', async () => {
  // Prepare: a listener whose registration lives 300 ms of a clock the test moves
  const clock = new ManualClock();
  const meta = new MemoryMetaStore(clock);
  const services = createServices({ meta, objects: new MemoryObjectStore(), close: async () => {} }, clock);
  const errors: string[] = [];
  const log = { debug() {}, info() {}, warn() {}, error: (message: string) => void errors.push(message) };
  const listener = await startRegisteredKafkaListener({
    host: '127.0.0.1',
    port: 0,
    services,
    meta,
    clock,
    log,
    registrationTtlMs: 300,
  });
  expect(listener.self.nodeId).toBe(0);
  // Act: it "stalls" past its life, and another listener takes node id 0
  clock.advance(1_000);
  const other = await createListenerRegistry({ meta, clock, owner: 'other', ttlMs: 60_000 }).join();
  expect(other.nodeId).toBe(0);
  await listener.lost;
  // Assess: no longer accepting connections, and the log says why
  const refused = await new Promise<boolean>((resolve) => {
    const socket = connect(listener.self.port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
  expect(refused).toBe(true);
  expect(errors.some((message) => /took this listener's node id/.test(message))).toBe(true);
  await listener.close();
});
