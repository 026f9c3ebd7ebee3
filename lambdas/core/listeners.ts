/**
 * The registry of Kafka listeners serving one backend (DESIGN §13): every local server or gateway over
 * the same metadata store registers itself, so each one's Metadata can list them all as brokers.
 *
 * One item per listener, `kafka-listeners / node#{id}` (layout.ts), holding its owner (a per-process
 * id), the registration that holds it (a random id per `join`), where clients reach it (host, port;
 * absent until `advertise`) and `leaseExpiresAt`. A listener renews its item well before that and
 * releases it when it closes; one that dies without closing drops out of the list at its expiry.
 *
 * Invariants:
 * - The items are never deleted nor TTL-expired: a re-created item would start again at version 1,
 *   and a listener that stalled past its expiry could renew over another's item at that version. So
 *   versions only grow, and a version a listener wrote is never written again by another.
 * - Node ids are unique among live items: a listener takes the lowest id without a live item by a put
 *   conditioned on the item as read (absent, or expired or released), so a crashed listener's id is
 *   reused once its item expires, and two listeners joining at once never share one.
 * - A listener's item changes only by compare-and-set on the version it last wrote. A renewal that
 *   finds its item expired takes it back if nobody wrote it since; one that finds it taken by another
 *   listener fails with LEASE_LOST instead of overwriting it.
 * - The controller every listener names is the lowest live node id (`controllerOf`): they all read the
 *   same items, so they agree on it as soon as their lists agree.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../ports/clock.ts';
import { type Item, type MetaStore, queryAll } from '../ports/meta-store.ts';
import { retryOnConflict } from './cas.ts';
import { StreamError } from './errors.ts';
import { KAFKA_LISTENERS_PK, LISTENER_SK_PREFIX, listenerKey } from './layout.ts';

/**
 * Where clients reach a listener, and where the other listeners do (`internalHost`/`internalPort`,
 * to forward group requests to it) when that differs.
 */
export interface ListenerAddress {
  host: string;
  port: number;
  internalHost?: string;
  internalPort?: number;
}

/** A live listener, as Metadata lists it. */
export interface LiveListener extends ListenerAddress {
  nodeId: number;
}

export interface ListenerRegistryOptions {
  meta: MetaStore;
  clock: Clock;
  /** Who registers: unique per process (a renewal tells its own item from another's by it). */
  owner: string;
  /** How long an item lives without renewal. Default 30 s; renew at a third of it. */
  ttlMs?: number;
  /** How long `liveListeners` answers from its last read. Default 1 s. */
  cacheMs?: number;
}

export interface ListenerRegistration {
  readonly nodeId: number;
  /** Publishes where clients reach this listener; until then its node id is held but not listed. */
  advertise(address: ListenerAddress): Promise<void>;
  /** Extends the item's life by the TTL; LEASE_LOST when another listener holds the node id now. */
  renew(): Promise<void>;
  /** Releases the item (a no-op if it is no longer this listener's). */
  leave(): Promise<void>;
}

export interface ListenerRegistry {
  /** Takes the lowest free node id. */
  join(): Promise<ListenerRegistration>;
  /** Every live, advertised listener, by node id. Cached for `cacheMs`. */
  liveListeners(): Promise<LiveListener[]>;
}

export const DEFAULT_LISTENER_TTL_MS = 30_000;
const DEFAULT_CACHE_MS = 1_000;

/** The node id Metadata names as controller: the lowest listed. */
export function controllerOf(listeners: readonly LiveListener[]): number | undefined {
  let lowest: number | undefined;
  for (const { nodeId } of listeners) if (lowest === undefined || nodeId < lowest) lowest = nodeId;
  return lowest;
}

export function createListenerRegistry(options: ListenerRegistryOptions): ListenerRegistry {
  const { meta, clock, owner } = options;
  const ttlMs = options.ttlMs ?? DEFAULT_LISTENER_TTL_MS;
  const cacheMs = options.cacheMs ?? DEFAULT_CACHE_MS;
  let cached: { at: number; listeners: Promise<LiveListener[]> } | undefined;

  const readItems = () => queryAll(meta, KAFKA_LISTENERS_PK, { consistent: true });

  async function join(): Promise<ListenerRegistration> {
    const registration = randomUUID();
    const { nodeId, version } = await retryOnConflict(
      { clock, what: 'the Kafka listener registry' },
      async () => {
        const now = clock.now();
        const items = new Map((await readItems()).map((item) => [nodeIdOf(item), item]));
        let nodeId = 0;
        while (isLive(items.get(nodeId), now)) nodeId++;
        const stored = items.get(nodeId)?.v ?? 0;
        await meta.transact([
          {
            type: 'put',
            item: { ...listenerKey(nodeId), owner, registration, leaseExpiresAt: now + ttlMs },
            expect: stored === 0 ? 'absent' : stored,
          },
        ]);
        return { nodeId, version: stored + 1 };
      },
    );
    cached = undefined;
    let address: ListenerAddress | undefined;
    let current = version;
    let left = false;
    const key = listenerKey(nodeId);

    /** Writes this listener's item at its version (which takes it back if it expired untouched). */
    const write = (leaseExpiresAt: () => number) =>
      retryOnConflict({ clock, what: `Kafka listener ${nodeId}'s registration` }, async (attempt) => {
        if (attempt > 0) {
          // Another write of this registration may have run meanwhile; anyone else's means it is lost.
          const stored = await meta.get(key, { consistent: true });
          if (stored?.registration !== registration) {
            throw new StreamError(
              'LEASE_LOST',
              `Kafka listener node id ${nodeId} expired and was taken by another listener`,
            );
          }
          current = stored.v;
        }
        const item = { ...key, owner, registration, ...address, leaseExpiresAt: leaseExpiresAt() };
        await meta.transact([{ type: 'put', item, expect: current }]);
        current += 1;
      });

    return {
      nodeId,
      advertise: async (given) => {
        address = { ...given };
        await write(() => clock.now() + ttlMs);
        cached = undefined;
      },
      renew: async () => {
        if (!left) await write(() => clock.now() + ttlMs);
      },
      leave: async () => {
        left = true;
        cached = undefined;
        try {
          await write(() => 0);
        } catch (error) {
          if (!(error instanceof StreamError && error.code === 'LEASE_LOST')) throw error;
        }
      },
    };
  }

  async function liveListeners(): Promise<LiveListener[]> {
    const now = clock.now();
    if (cached === undefined || now - cached.at >= cacheMs) {
      const listeners = readItems().then((items) =>
        items.flatMap((item) => (isLive(item, now) ? listenerOf(item) : [])),
      );
      cached = { at: now, listeners };
      // A failed read is not kept: the next call reads again.
      listeners.catch(() => {
        if (cached?.listeners === listeners) cached = undefined;
      });
    }
    return cached.listeners;
  }

  return { join, liveListeners };
}

/** Whether an item is held: present, and neither expired nor released. */
function isLive(item: Item | undefined, now: number): boolean {
  return item !== undefined && typeof item.leaseExpiresAt === 'number' && item.leaseExpiresAt > now;
}

function nodeIdOf(item: Item): number {
  return Number(item.sk.slice(LISTENER_SK_PREFIX.length));
}

/** An advertised listener's entry; none for one that holds its id but has not advertised yet. */
function listenerOf(item: Item): LiveListener[] {
  if (typeof item.host !== 'string' || typeof item.port !== 'number') return [];
  const internal =
    typeof item.internalHost === 'string' && typeof item.internalPort === 'number'
      ? { internalHost: item.internalHost, internalPort: item.internalPort }
      : {};
  return [{ nodeId: nodeIdOf(item), host: item.host, port: item.port, ...internal }];
}
