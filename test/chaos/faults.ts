/**
 * Seeded fault injection for both ports. Every decision comes from one PRNG seeded by the run, so a
 * failing run replays exactly from its seed (given the same interleaving of actors, which the chaos run
 * keeps deterministic by drawing all randomness from the same generator).
 *
 * Faults:
 * - throttle: THROTTLED before the call reaches the store;
 * - unavailable: UNAVAILABLE before the call reaches the store (a 5xx);
 * - timeout-after: the call is applied, then the caller sees UNAVAILABLE (the ambiguous outcome);
 * - latency: the call is delayed (reorders concurrent actors);
 * - partial delete: some keys of a batch delete are deleted, then UNAVAILABLE;
 * - slow upload: a data object is stored, and then the upload takes a minute more (the plan's
 *   `slowUpload` hook moves the clock and lets the janitor run meanwhile).
 *
 * Time: the run's clock is a JumpClock (real time plus jumps some faults make). A metadata write whose
 * clock time from start to landing exceeds the SDK bound (runtime/aws-backend.ts: a call gives up within
 * COMMIT_ATTEMPT_MS) fails before it applies, as a timed-out AWS call would: a request does not sit on
 * the wire for a minute and then land.
 */
import { StreamError } from '../../lambdas/core/errors.ts';
import { COMMIT_ATTEMPT_MS } from '../../lambdas/core/produce.ts';
import type { Clock } from '../../lambdas/ports/clock.ts';
import type {
  GetOptions,
  Item,
  ItemKey,
  MetaStore,
  QueryOptions,
  QueryResult,
  TransactOp,
} from '../../lambdas/ports/meta-store.ts';
import type {
  ListOptions,
  ListResult,
  ObjectGetOptions,
  ObjectStore,
  RangeOptions,
} from '../../lambdas/ports/object-store.ts';

/** mulberry32: small, fast, good enough for schedules; returns floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Real time plus forward jumps: a paused process, a slow upload, a long janitor pass. */
export class JumpClock implements Clock {
  private offset = 0;
  now(): number {
    return Date.now() + this.offset;
  }
  jump(ms: number): void {
    this.offset += Math.max(0, Math.floor(ms));
  }
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
  }
}

export interface FaultPlan {
  random: () => number;
  /** Probability that a call gets a fault at all. */
  rate: number;
  /** Counts by kind, for the summary. */
  injected: Record<string, number>;
  clock: Clock;
  /** Probability that a data object's upload is slow (after it is stored), and what then happens. */
  slowUploadRate: number;
  slowUpload?: (key: string) => Promise<void>;
}

export function faultPlan(seed: number, rate: number, clock: Clock, slowUploadRate = 0): FaultPlan {
  return { random: seededRandom(seed), rate, injected: {}, clock, slowUploadRate };
}

const count = (plan: FaultPlan, kind: string) => {
  plan.injected[kind] = (plan.injected[kind] ?? 0) + 1;
};

type Fault = 'none' | 'throttle' | 'unavailable' | 'timeout-after' | 'latency';

function draw(plan: FaultPlan, writes: boolean): Fault {
  if (plan.random() >= plan.rate) return 'none';
  const r = plan.random();
  const fault: Fault =
    r < 0.25 ? 'throttle' : r < 0.5 ? 'unavailable' : r < 0.8 && writes ? 'timeout-after' : 'latency';
  count(plan, fault);
  return fault;
}

export function totalFaults(plan: FaultPlan): number {
  return Object.values(plan.injected).reduce((a, b) => a + b, 0);
}

async function around<T>(plan: FaultPlan, writes: boolean, what: string, call: () => Promise<T>): Promise<T> {
  const started = plan.clock.now();
  const fault = draw(plan, writes);
  if (fault === 'throttle') throw new StreamError('THROTTLED', `injected throttle on ${what}`);
  if (fault === 'unavailable') throw new StreamError('UNAVAILABLE', `injected 5xx on ${what}`);
  if (fault === 'latency')
    await new Promise((resolve) => setTimeout(resolve, Math.floor(plan.random() * 20)));
  if (writes && plan.clock.now() - started > COMMIT_ATTEMPT_MS) {
    count(plan, 'timed-out');
    throw new StreamError('UNAVAILABLE', `${what} timed out before it reached the store`);
  }
  const result = await call();
  if (fault === 'timeout-after')
    throw new StreamError('UNAVAILABLE', `injected timeout after ${what} applied`);
  return result;
}

export class FaultyMetaStore implements MetaStore {
  constructor(
    private readonly inner: MetaStore,
    private readonly plan: FaultPlan,
  ) {}
  get(key: ItemKey, options?: GetOptions): Promise<Item | undefined> {
    return around(this.plan, false, 'get', () => this.inner.get(key, options));
  }
  batchGet(keys: readonly ItemKey[], options?: GetOptions): Promise<(Item | undefined)[]> {
    return around(this.plan, false, 'batchGet', () => this.inner.batchGet(keys, options));
  }
  query(pk: string, options?: QueryOptions): Promise<QueryResult> {
    return around(this.plan, false, 'query', () => this.inner.query(pk, options));
  }
  transact(ops: readonly TransactOp[]): Promise<void> {
    return around(this.plan, true, 'transact', () => this.inner.transact(ops));
  }
}

export class FaultyObjectStore implements ObjectStore {
  constructor(
    private readonly inner: ObjectStore,
    private readonly plan: FaultPlan,
  ) {}
  async put(key: string, bytes: Uint8Array): Promise<void> {
    await around(this.plan, true, 'put', () => this.inner.put(key, bytes));
    if (
      key.startsWith('data/') &&
      this.plan.slowUpload !== undefined &&
      this.plan.random() < this.plan.slowUploadRate
    ) {
      count(this.plan, 'slow-upload');
      await this.plan.slowUpload(key);
    }
  }
  get(key: string, range?: RangeOptions, options?: ObjectGetOptions): Promise<Uint8Array> {
    return around(this.plan, false, 'get', () => this.inner.get(key, range, options));
  }
  async delete(keys: readonly string[]): Promise<void> {
    if (keys.length > 1 && this.plan.random() < this.plan.rate) {
      count(this.plan, 'partial-delete');
      await this.inner.delete(keys.slice(0, Math.floor(keys.length / 2)));
      throw new StreamError('UNAVAILABLE', 'injected partial batch delete');
    }
    return around(this.plan, true, 'delete', () => this.inner.delete(keys));
  }
  list(prefix: string, options?: ListOptions): Promise<ListResult> {
    return around(this.plan, false, 'list', () => this.inner.list(prefix, options));
  }
}
