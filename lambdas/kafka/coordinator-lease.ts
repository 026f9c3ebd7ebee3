/**
 * Which gateway coordinates a Kafka-managed group (DESIGN §13): a lease per group in the meta store,
 * the item `group#{g}` / `coordinator` (core/layout.ts) holding the holder's random `owner` id, its
 * advertised `nodeId`, `host` and `port`, how many Kafka `members` it has, and `leaseExpiresAt`.
 *
 * Invariants:
 * - At most one live holder per group: taking is a put conditioned on the item as read (absent, or
 *   its lease expired or released), so a dead holder's lease is free once it expires.
 * - The item is never deleted (nor TTL-expired: a re-created item would start again at version 1, and
 *   a holder that missed losing it could renew at that version). So every later write of a holder
 *   (renewal, member count, release) is conditioned on the version it wrote last, and the writes of
 *   one group run one after another; a write that finds the item changed means the lease expired and
 *   was taken: the group is lost at once.
 * - A holder serves a group only while its lease is unexpired by its own clock, so two gateways never
 *   both answer for it, even when renewals fail.
 * - `members` is written before Kafka members are admitted (core/groups.ts refuses HTTP joins while it
 *   is above zero), and again whenever it changes between zero and more.
 */
import { randomUUID } from 'node:crypto';
import { ConditionFailedError } from '../core/errors.ts';
import { coordinatorKey } from '../core/layout.ts';
import type { Clock } from '../ports/clock.ts';
import type { Item, MetaStore } from '../ports/meta-store.ts';

/** Where Kafka clients reach a gateway: what FindCoordinator answers. */
export interface CoordinatorAddress {
  nodeId: number;
  host: string;
  port: number;
}

interface Held {
  version: number;
  expiresAt: number;
  members: number;
}

export interface CoordinatorLeasesOptions {
  meta: MetaStore;
  clock: Clock;
  self: CoordinatorAddress;
  leaseMs: number;
}

export class CoordinatorLeases {
  /** This gateway's id on its lease items: unique per process, so a restart never inherits a lease. */
  readonly owner = `gateway-${randomUUID()}`;
  private readonly held = new Map<string, Held>();
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly options: CoordinatorLeasesOptions) {}

  /** Whether this gateway holds the group's lease, unexpired, now. */
  holds(group: string): boolean {
    const held = this.held.get(group);
    return held !== undefined && held.expiresAt > this.options.clock.now();
  }

  /** The groups whose leases this gateway holds (or held until a renewal that has not failed yet). */
  groups(): string[] {
    return [...this.held.keys()];
  }

  /** How many Kafka members the group's live holder (this gateway or another) counts; 0 without one. */
  async members(group: string): Promise<number> {
    const item = await this.options.meta.get(coordinatorKey(group), { consistent: true });
    const live = item !== undefined && (item.leaseExpiresAt as number) > this.options.clock.now();
    return live ? (item.members as number) : 0;
  }

  /** The live holder of the group's lease as stored, without taking it; undefined when there is none. */
  async holder(group: string): Promise<(CoordinatorAddress & { mine: boolean }) | undefined> {
    if (this.holds(group)) return { ...this.options.self, mine: true };
    const item = await this.options.meta.get(coordinatorKey(group), { consistent: true });
    if (item === undefined || (item.leaseExpiresAt as number) <= this.options.clock.now()) return undefined;
    return { ...addressOf(item), mine: item.owner === this.owner };
  }

  /** The live holder of the group's lease, taking it when it is free. */
  find(group: string): Promise<CoordinatorAddress & { mine: boolean }> {
    return this.serial(group, async () => {
      if (this.holds(group)) return { ...this.options.self, mine: true };
      const { meta, clock, self, leaseMs } = this.options;
      const key = coordinatorKey(group);
      for (;;) {
        const item = await meta.get(key, { consistent: true });
        const now = clock.now();
        if (item !== undefined && (item.leaseExpiresAt as number) > now) {
          if (item.owner !== this.owner) return { ...addressOf(item), mine: false };
          // This gateway's own lease, dropped from memory by a write whose outcome was unknown.
          this.held.set(group, {
            version: item.v,
            expiresAt: item.leaseExpiresAt as number,
            members: item.members as number,
          });
          return { ...self, mine: true };
        }
        try {
          await meta.transact([
            {
              type: 'put',
              item: { ...key, owner: this.owner, ...self, members: 0, leaseExpiresAt: now + leaseMs },
              expect: item?.v ?? 'absent',
            },
          ]);
          this.held.set(group, { version: (item?.v ?? 0) + 1, expiresAt: now + leaseMs, members: 0 });
          return { ...self, mine: true };
        } catch (error) {
          // Another gateway took it first: read who.
          if (!(error instanceof ConditionFailedError)) throw error;
        }
      }
    });
  }

  /**
   * Extends the lease, writing the member count; false when the lease is lost (another holder, or
   * gone), and it is then forgotten. Storage faults are thrown and the lease kept until it expires.
   */
  renew(group: string, members: number): Promise<boolean> {
    return this.serial(group, async () => {
      const held = this.held.get(group);
      if (held === undefined) return false;
      const { meta, clock, self, leaseMs } = this.options;
      const now = clock.now();
      try {
        await meta.transact([
          {
            type: 'put',
            item: {
              ...coordinatorKey(group),
              owner: this.owner,
              ...self,
              members,
              leaseExpiresAt: now + leaseMs,
            },
            expect: held.version,
          },
        ]);
      } catch (error) {
        if (!(error instanceof ConditionFailedError)) throw error;
        this.held.delete(group);
        return false;
      }
      this.held.set(group, { version: held.version + 1, expiresAt: now + leaseMs, members });
      return true;
    });
  }

  /** Gives the lease up (no owner, expired, at the version written last); nothing when not held. */
  release(group: string): Promise<void> {
    return this.serial(group, async () => {
      const held = this.held.get(group);
      if (held === undefined) return;
      this.held.delete(group);
      try {
        await this.options.meta.transact([
          {
            type: 'put',
            item: { ...coordinatorKey(group), owner: null, members: 0, leaseExpiresAt: 0 },
            expect: held.version,
          },
        ]);
      } catch (error) {
        // Already taken by another gateway: nothing of this one's is left to release.
        if (!(error instanceof ConditionFailedError)) throw error;
      }
    });
  }

  /** Runs the group's lease writes one after another, so each is conditioned on the one before. */
  private serial<T>(group: string, run: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(group) ?? Promise.resolve();
    const next = previous.then(run, run);
    const settled = next.catch(() => undefined);
    this.queues.set(group, settled);
    void settled.then(() => {
      if (this.queues.get(group) === settled) this.queues.delete(group);
    });
    return next;
  }
}

const addressOf = (item: Item): CoordinatorAddress => ({
  nodeId: item.nodeId as number,
  host: item.host as string,
  port: item.port as number,
});
