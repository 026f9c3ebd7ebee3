/**
 * The coordinator lease of a Kafka-managed group, written once and run over every MetaStore adapter
 * (memory, SQLite, DynamoDB Local): one live holder per group, renewals, expiry and release.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { coordinatorKey } from '../../lambdas/core/layout.ts';
import { CoordinatorLeases } from '../../lambdas/kafka/coordinator-lease.ts';
import type { ManualClock } from '../../lambdas/ports/clock.ts';
import type { MetaStore } from '../../lambdas/ports/meta-store.ts';

const LEASE_MS = 15_000;

export function coordinatorLeaseContract(
  adapter: string,
  setup: () => Promise<{ store: MetaStore; clock: ManualClock }>,
): void {
  describe(`coordinator lease: ${adapter}`, () => {
    let store: MetaStore;
    let clock: ManualClock;
    // Each test works on its own group, so tests never see each other's leases.
    const group = () => `g-${randomUUID()}`;
    const gateway = (nodeId: number) =>
      new CoordinatorLeases({
        meta: store,
        clock,
        self: { nodeId, host: `gateway-${nodeId}`, port: 9092 },
        leaseMs: LEASE_MS,
      });

    beforeAll(async () => {
      ({ store, clock } = await setup());
    });

    it('gives a free lease to the first gateway that asks, and shows it as the holder to the others', async () => {
      const g = group();
      const [a, b] = [gateway(1), gateway(2)];
      const found = await Promise.all([a.find(g), b.find(g)]);
      expect(found.filter((f) => f.mine)).toHaveLength(1);
      expect(found[0]?.host).toBe(found[1]?.host);
      expect(a.holds(g) !== b.holds(g)).toBe(true);
    });

    it('keeps a renewed lease past its first expiry, with the member count on the item', async () => {
      const g = group();
      const [a, b] = [gateway(1), gateway(2)];
      await a.find(g);
      clock.advance(LEASE_MS - 1_000);
      expect(await a.renew(g, 3)).toBe(true);
      clock.advance(LEASE_MS - 1_000);
      expect(await b.find(g)).toMatchObject({ mine: false, nodeId: 1, host: 'gateway-1', port: 9092 });
      expect((await store.get(coordinatorKey(g), { consistent: true }))?.members).toBe(3);
      expect(a.holds(g)).toBe(true);
    });

    it('lets another gateway take an expired lease; the old holder stops holding and its renewal fails', async () => {
      const g = group();
      const [a, b] = [gateway(1), gateway(2)];
      await a.find(g);
      clock.advance(LEASE_MS);
      const taken = await b.find(g);
      expect(taken).toMatchObject({ mine: true, nodeId: 2 });
      expect(a.holds(g)).toBe(false);
      expect(await a.renew(g, 0)).toBe(false);
      expect(await b.renew(g, 0)).toBe(true);
      expect(a.groups()).not.toContain(g);
    });

    it('frees a released lease at once, and a release after losing the lease leaves the new holder alone', async () => {
      const g = group();
      const [a, b] = [gateway(1), gateway(2)];
      await a.find(g);
      await a.release(g);
      expect(await b.find(g)).toMatchObject({ mine: true, nodeId: 2 });
      await a.release(g);
      expect(await gateway(3).find(g)).toMatchObject({ mine: false, nodeId: 2 });
      expect(await store.get(coordinatorKey(g), { consistent: true })).toMatchObject({
        nodeId: 2,
        members: 0,
      });
    });
  });
}
