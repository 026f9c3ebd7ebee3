/**
 * The model-based chaos run: concurrent actors produce (with and without idempotency keys, retrying as
 * a client would), fetch, consume in groups, churn topics and run the janitor against stores that fail
 * on a seeded schedule, on a clock that jumps; a simple model remembers everything acknowledged; at the
 * end the system is quiesced and read back with the faults switched off and checked.
 *
 * What it models, beyond throttling, 5xx, timeouts after a write applied and latency (faults.ts):
 * - time: slow uploads that finish a minute later while a janitor pass runs; janitor passes that run
 *   longer than the commit window (the clock jumps minutes mid-pass); members paused for seconds;
 * - topics created, deleted and re-created while janitor passes and consumer groups work on them;
 * - a topic that grows partitions between a produce request and its retry;
 * - records stamped in the past, the near future and the far future, on a topic with time retention;
 * - fetches of random sizes, checked against the deployed limits;
 * - commits racing heartbeats; lease writes failing between the member's renewal and its leases';
 * - janitor passes cut short by a deadline;
 * - subscriptions (DESIGN §12) on chaos-a, one bisecting with two retries and a dead-letter topic, one
 *   retrying forever: two deliverers with their own ids run `deliverPartition` for random partitions,
 *   some with a deadline that ends the run at once, against a target that fails at random (counted or
 *   throttled), answers partial `batchItemFailures`, and always fails one poison record; now and then
 *   a call pauses until its lease lapses and a deliverer (the other one, or one under the same id, as
 *   a restarted process) takes the partition over while the paused one, a zombie, goes on.
 *
 * Invariants checked:
 * - every acknowledged record is readable at its acknowledged offset, with its value (unless retention
 *   has removed it: below logStartOffset), also on a topic re-created during the run;
 * - offsets in a partition are contiguous from the log start; no record is in the log twice; nothing is
 *   in the log that no producer sent;
 * - fetches return, for acknowledged offsets, exactly the acknowledged values; every binary fetch is
 *   whole batches, at most max_bytes unless it is one batch, and within Lambda's 6 MB after base64;
 * - no batch index entry points at a missing object;
 * - a commit with a stale epoch, or after leaving, never succeeds; committed offsets are values some
 *   member sent; after a heartbeat, every live lease the member owns is in its assignments or revoked;
 *   an acknowledged commit on a topic's current incarnation stays visible;
 * - liveness once quiet: every partition of a group's topic is owned after a few heartbeats; time
 *   retention empties a partition once everything in it is past retention;
 * - subscriptions, once quiet (faults off, leases lapsed, a deliverer run to caught-up): each
 *   partition's committed offset is the high watermark (the poison's, for the one retrying forever,
 *   with its attempts counted); every offset below it was taken by the target in some call, or is in
 *   the dead-letter topic with provenance headers naming it and its value (below the log start
 *   excepted); the poison is dead-lettered after maxRetryAttempts + 1 attempts; a call whose success
 *   was committed began at the committed position of the time; no lease write of a deliverer run
 *   applies once another run wrote the lease, unless it claims the lease anew (the next epoch); no
 *   epoch goes back, no committed offset moves back;
 * - garbage: deadline-bounded janitor passes alone remove every unreferenced data object past the
 *   windows; afterwards nothing is left that nothing points at, and nothing of a deleted topic.
 */

import type { ProduceRecord } from '../../client/wire/binary.ts';
import { DEAD_LETTER_HEADERS } from '../../client/wire/dead-letter.ts';
import { MAX_LAMBDA_PAYLOAD_BYTES } from '../../client/wire/limits.ts';
import { readBatchHeader, splitBatches } from '../../client/wire/record-batch.ts';
import { StreamError } from '../../lambdas/core/errors.ts';
import { type MembershipView, SUBSCRIPTION_GROUP_PREFIX } from '../../lambdas/core/groups.ts';
import {
  DELETED_TOPICS_PK,
  FIRST_BATCH_SK,
  groupPk,
  LAST_BATCH_SK,
  LEASE_SK_PREFIX,
  objectKeyTime,
  partitionPk,
} from '../../lambdas/core/layout.ts';
import { RECENT_KEYS } from '../../lambdas/core/partition-state.ts';
import { COMMIT_WINDOW_MS } from '../../lambdas/core/produce.ts';
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
import { type Backend, createServices } from '../../lambdas/runtime/backends.ts';
import {
  type DelivererDeps,
  type DelivererOptions,
  deliverPartition,
  type RunOutcome,
} from '../../lambdas/subscriptions/deliverer.ts';
import type { KafkaEvent } from '../../lambdas/subscriptions/kafka-event.ts';
import type { StoredSubscription } from '../../lambdas/subscriptions/subscriptions.ts';
import type { DeliveryResult, Target } from '../../lambdas/subscriptions/target.ts';
import {
  FaultyMetaStore,
  FaultyObjectStore,
  faultPlan,
  JumpClock,
  seededRandom,
  totalFaults,
} from './faults.ts';

export interface ChaosOptions {
  seed: number;
  /** Operations across all actors. */
  operations: number;
  /** Probability that a storage call gets a fault. */
  faultRate?: number;
  producers?: number;
  fetchers?: number;
  /** Opens the storage to torture on the run's clock; read back through a fault-free view of it. */
  backend: (clock: Clock) => Promise<Backend>;
}

export interface ChaosReport {
  seed: number;
  operations: number;
  faults: number;
  faultsByKind: Record<string, number>;
  acknowledged: number;
  deletedTopics: number;
  /** Records in the log twice because their retry came after the idempotency window (not violations). */
  windowExceeded: number;
  /** Invocations of the subscriptions' target. */
  deliveries: number;
  violations: string[];
}

interface TopicSpec {
  name: string;
  partitions: number;
  config: Record<string, unknown>;
}

const HOUR = 60 * 60 * 1000;
const TOPICS: TopicSpec[] = [
  { name: 'chaos-a', partitions: 3, config: { 'retention.ms': -1 } },
  { name: 'chaos-b', partitions: 2, config: { 'retention.ms': -1, 'retention.bytes': 3000 } },
  // Time retention, and records stamped from an hour ago to the far future.
  { name: 'chaos-t', partitions: 2, config: { 'retention.ms': 10 * 60 * 1000 } },
  // Grows partitions between produce attempts.
  { name: 'chaos-g', partitions: 2, config: { 'retention.ms': -1 } },
];
const GROWN_MAX_PARTITIONS = 12;
/** Re-created now and then, with a consumer group on it. */
const RECREATED = 'chaos-re';
const RE_GROUP = 'chaos-re-group';
const utf8 = new TextEncoder();
const text = new TextDecoder();
const RETRIES = 10;
const JANITOR = 'chaos-janitor';
const SESSION_MS = 5_000;
/** Members' session once the run is quiet. */
const QUIET_SESSION_MS = 60_000;
/** The produced topic the subscriptions deliver (not churned: its consumer group and producers stay). */
const SUBSCRIBED = 'chaos-a';
const SUBSCRIBED_PARTITIONS = 3;
const DEAD_LETTERS = 'chaos-dlt';
interface SubscriptionSpec {
  name: string;
  batchSize: number;
  bisectBatchOnError: boolean;
  maxRetryAttempts?: number;
  deadLetterTopic: string | null;
}
/** One dead-letters after bisecting and two retries; the other retries forever. */
const SUBSCRIPTIONS: SubscriptionSpec[] = [
  {
    name: 'chaos-sub-dlt',
    batchSize: 4,
    bisectBatchOnError: true,
    maxRetryAttempts: 2,
    deadLetterTopic: DEAD_LETTERS,
  },
  { name: 'chaos-sub-forever', batchSize: 3, bisectBatchOnError: false, deadLetterTopic: null },
];
/** Deliverers' owner ids; a paused one's partition is taken over by the other. */
const DELIVERERS = ['deliverer-a', 'deliverer-b'];
const DRAINER = 'deliverer-drain';
/** Short enough for a pause (a clock jump past it) to make a deliverer a zombie mid-call. */
const DELIVERY_LEASE_MS = 2_000;
const DELIVERY_BACKOFF = { initialMs: 1, maxMs: 8 };

/** One lease write of a subscription's partition, as applied. */
interface LeaseWrite {
  owner: string | null;
  epoch: number;
  committedOffset: number | null;
  version: number;
  /** Which deliverer run wrote it (runs of one owner id are told apart). */
  run: number | undefined;
  /** Milliseconds of the run's clock since its start. */
  at: number;
}

/** A janitor's store that, now and then, makes the pass run long: minutes pass, topics come and go. */
class PausingMetaStore implements MetaStore {
  constructor(
    private readonly inner: MetaStore,
    private readonly pause: (key: ItemKey) => Promise<void>,
  ) {}
  async get(key: ItemKey, options?: GetOptions): Promise<Item | undefined> {
    await this.pause(key);
    return this.inner.get(key, options);
  }
  batchGet(keys: readonly ItemKey[], options?: GetOptions): Promise<(Item | undefined)[]> {
    return this.inner.batchGet(keys, options);
  }
  query(pk: string, options?: QueryOptions): Promise<QueryResult> {
    return this.inner.query(pk, options);
  }
  transact(ops: readonly TransactOp[]): Promise<void> {
    return this.inner.transact(ops);
  }
}

/** A store whose next lease write, once armed, is throttled. */
class OneLeaseWriteFails extends PausingMetaStore {
  armed = false;
  constructor(private readonly store: MetaStore) {
    super(store, async () => {});
  }
  override transact(ops: readonly TransactOp[]): Promise<void> {
    const first = ops[0];
    if (this.armed && first?.type === 'put' && first.item.sk.startsWith('l#')) {
      this.armed = false;
      return Promise.reject(new StreamError('THROTTLED', 'injected: a lease write throttled'));
    }
    return this.store.transact(ops);
  }
}

/**
 * Hands every lease write that reached the store to `note` once it applied, so a violation can show
 * the lease's history (a write whose caller saw a timeout is here too). Returns the caller the store's
 * own promise: no extra turn, no change to the interleaving.
 */
class LeaseWriteTap extends PausingMetaStore {
  constructor(
    private readonly store: MetaStore,
    private readonly tapped: (pk: string) => boolean,
    private readonly note: (lease: Item, version: number) => void,
  ) {
    super(store, async () => {});
  }
  override transact(ops: readonly TransactOp[]): Promise<void> {
    const written = this.store.transact(ops);
    const leases = ops.flatMap((op) =>
      op.type === 'put' && this.tapped(op.item.pk) && op.item.sk.startsWith(LEASE_SK_PREFIX)
        ? [{ item: op.item as Item, version: op.expect === 'absent' ? 1 : op.expect + 1 }]
        : [],
    );
    if (leases.length > 0)
      written.then(
        () => {
          for (const { item, version } of leases) this.note(item, version);
        },
        () => {},
      );
    return written;
  }
}

/** Which deliverer run each lease write comes from, by the item it puts (the stores below pass it on). */
const runOf = new WeakMap<object, number>();

/** A deliverer run's store: tags the lease items it writes with the run. */
class RunTaggingMetaStore extends PausingMetaStore {
  constructor(
    private readonly store: MetaStore,
    private readonly run: number,
  ) {
    super(store, async () => {});
  }
  override transact(ops: readonly TransactOp[]): Promise<void> {
    for (const op of ops)
      if (op.type === 'put' && op.item.sk.startsWith(LEASE_SK_PREFIX)) runOf.set(op.item, this.run);
    return this.store.transact(ops);
  }
}

/** A store on which every call takes a second of the clock: passes with a deadline get cut short. */
class TickingMetaStore extends PausingMetaStore {
  constructor(inner: MetaStore, clock: JumpClock) {
    super(inner, async () => clock.jump(1_000));
  }
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const random = seededRandom(options.seed);
  const clock = new JumpClock();
  const runStart = clock.now();
  const plan = faultPlan(options.seed ^ 0x5eed, options.faultRate ?? 0.2, clock, 0.02);
  const storage = await options.backend(clock);
  // chaos-re-group's story (lease writes as applied, commits, views, incarnations) explains a
  // hand-over violation.
  const story: { partition: number | undefined; line: string }[] = [];
  const tell = (partition: number | undefined, line: string) =>
    story.push({ partition, line: `+${clock.now() - runStart} ms ${line}` });
  const incarnationOf = new Map<string, number>(); // topicId → incarnation of chaos-re
  const named = (topicId: unknown) =>
    incarnationOf.has(topicId as string)
      ? `incarnation ${incarnationOf.get(topicId as string)}`
      : `topicId ${String(topicId)}`;
  const short = (memberId: unknown) => (typeof memberId === 'string' ? memberId.slice(0, 8) : 'nobody');
  /** Owners of chaos-re-group's leases, write by write: partition → owner and epoch. */
  const owners = new Map<number, { owner: unknown; epoch: number }[]>();
  /** The last owner of the partition at an epoch below `epoch`. */
  const ownerBefore = (partition: number, epoch: number) => {
    const last = (owners.get(partition) ?? []).findLast((w) => w.owner !== null && w.epoch < epoch);
    return last === undefined ? 'none' : `${short(last.owner)} at epoch ${last.epoch}`;
  };
  const tapped = new LeaseWriteTap(
    storage.meta,
    (pk) => pk === groupPk(RE_GROUP),
    (lease) => {
      const partition = Number(lease.sk.slice(lease.sk.lastIndexOf('#') + 1));
      const written = owners.get(partition) ?? [];
      written.push({ owner: lease.owner, epoch: lease.epoch as number });
      owners.set(partition, written);
      tell(
        partition,
        `lease ${RECREATED}/${partition} written: owner ${short(lease.owner)}, epoch ${lease.epoch}, ${named(lease.topicId)}, committedOffset ${lease.committedOffset}, ${lease.owner === null ? 'free' : `expires at +${(lease.leaseExpiresAt as number) - runStart} ms`}`,
      );
    },
  );
  /** Every lease write of the subscriptions' groups that applied: "name/partition" → writes by version. */
  const subscriptionLeases = new Map<string, LeaseWrite[]>();
  const subscriptionsPk = groupPk(SUBSCRIPTION_GROUP_PREFIX);
  const subscriptionTap = new LeaseWriteTap(
    tapped,
    (pk) => pk.startsWith(subscriptionsPk),
    (lease, version) => {
      const partition = Number(lease.sk.slice(lease.sk.lastIndexOf('#') + 1));
      const key = `${lease.pk.slice(subscriptionsPk.length)}/${partition}`;
      const writes = subscriptionLeases.get(key) ?? [];
      const write: LeaseWrite = {
        owner: (lease.owner as string | null) ?? null,
        epoch: lease.epoch as number,
        committedOffset: (lease.committedOffset as number | null) ?? null,
        version,
        run: runOf.get(lease),
        at: clock.now() - runStart,
      };
      // Kept in version order: a write's answer may come after the next one's.
      const after = writes.findLastIndex((w) => w.version < version);
      writes.splice(after + 1, 0, write);
      subscriptionLeases.set(key, writes);
    },
  );
  const faulty: Backend = {
    meta: new FaultyMetaStore(subscriptionTap, plan),
    objects: new FaultyObjectStore(storage.objects, plan),
    close: async () => {},
  };
  const clean = createServices({ ...storage, meta: subscriptionTap }, clock);
  const services = createServices(faulty, clock);
  for (const topic of TOPICS) await clean.topics.createTopic(topic.name, topic.partitions, topic.config);
  incarnationOf.set((await clean.topics.createTopic(RECREATED, 2, { 'retention.ms': -1 })).topicId, 0);
  await clean.topics.createTopic(DEAD_LETTERS, 1, { 'retention.ms': -1 });
  for (const subscription of SUBSCRIPTIONS)
    await clean.subscriptions.create({
      ...subscription,
      topic: SUBSCRIBED,
      target: { url: 'http://127.0.0.1:9/chaos' },
      startingPosition: 'earliest',
    });
  const deletedTopicIds: { id: string; partitions: number }[] = [];

  const violations: string[] = [];
  const acked = new Map<string, string>(); // "topic/partition/offset" → value
  /** What each keyed request's attempts got, to explain a duplicate. */
  const journal = new Map<string, string[]>();
  const sent = new Set<string>();
  let operations = 0;
  let nextRequest = 0;

  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const quietly = <T>(promise: Promise<T>) =>
    promise.then(
      () => undefined,
      () => undefined,
    );

  // ---- The janitor: passes run continuously, some long, some cut short by a deadline ----
  let passesStarted = 0;
  /** Waiters for a pass that starts after they asked (and so collects garbage past their moment). */
  const passWaiters: { after: number; wake: () => void }[] = [];
  const nextPass = () => new Promise<void>((wake) => passWaiters.push({ after: passesStarted, wake }));
  const realDelay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
  // The janitor's calls fail at a fifth of the rate: a partition's work is a dozen calls, and with no
  // retries below the port (the AWS SDK's own retries are not modelled) most would fail otherwise.
  const janitorPlan = faultPlan(options.seed ^ 0x1a17, (options.faultRate ?? 0.2) / 5, clock);
  // Now and then a pass runs while everything else is quiet (the other actors wait at a gate), as on a
  // deployment with one busy moment: its partitions end up compacted, so garbage collection decides
  // from the re-created topic alone. It pauses once, at its third partition lease.
  let quiet: { over: Promise<void>; leaseReads: number } | undefined;
  let inFlight = 0;
  /** Slow uploads waiting for a calm pass. */
  let calmWanted = 0;
  const janitorMeta = new PausingMetaStore(new FaultyMetaStore(storage.meta, janitorPlan), async (key) => {
    // A pass that runs longer than the commit window: meanwhile a topic is re-created and written,
    // then minutes pass before the pass goes on to garbage collection.
    if (key.sk !== 'lease') return;
    const scripted = quiet !== undefined && ++quiet.leaseReads === 3;
    if (!scripted && (quiet !== undefined || random() >= 0.03)) return;
    await recreate();
    for (let i = 0; i < 3; i++) await produceRecreated();
    clock.jump(2 * 60_000 + Math.floor(random() * 60_000));
  });
  const janitor = createServices(
    {
      meta: janitorMeta,
      objects: new FaultyObjectStore(storage.objects, janitorPlan),
      close: async () => {},
    },
    clock,
    { janitor: { owner: JANITOR, compactAfterMs: 0, graceMs: 0 } },
  ).janitor;
  async function janitorOnce(): Promise<void> {
    const deadline = random() < 0.5 ? Number.POSITIVE_INFINITY : clock.now() + Math.floor(random() * 30);
    const pass = passesStarted++;
    let open = () => {};
    const rate = janitorPlan.rate;
    if (calmWanted > 0 || random() < 0.1) {
      // A calm moment: no other actor, no faults (slow uploads waiting for it do not count).
      janitorPlan.rate = 0;
      quiet = { over: new Promise<void>((resolve) => (open = resolve)), leaseReads: 0 };
      for (let waited = 0; inFlight > calmWanted && waited < 2_000; waited += 5) await realDelay(5);
    }
    try {
      const report = await janitor.runOnce(quiet === undefined ? deadline : Number.POSITIVE_INFINITY);
      for (const failure of report.errors) {
        if (!failure.retriable) violations.push(`janitor step ${failure.where} failed: ${failure.message}`);
      }
    } catch (error) {
      if (!(error instanceof StreamError) || !error.retriable)
        violations.push(`janitor failed: ${String(error)}`);
    }
    quiet = undefined;
    janitorPlan.rate = rate;
    open();
    for (const waiter of passWaiters.filter((w) => w.after <= pass)) {
      passWaiters.splice(passWaiters.indexOf(waiter), 1);
      waiter.wake();
    }
  }
  // A slow upload: the object is stored, but the upload returns a minute later, after a janitor pass
  // has run meanwhile.
  plan.slowUpload = async () => {
    clock.jump(50_000 + Math.floor(random() * 30_000));
    // The pass is a calm one, so garbage collection sees every other partition compacted: an
    // object that nothing points at yet and that is past the commit window goes.
    calmWanted++;
    await Promise.race([nextPass(), realDelay(5_000)]);
    calmWanted--;
  };

  // ---- Producers ----
  function recordsFor(
    topic: TopicSpec,
    request: number,
  ): { records: ProduceRecord[]; values: string[]; farFuture: boolean } {
    const records: ProduceRecord[] = [];
    const values: string[] = [];
    let farFuture = false;
    const count = 1 + Math.floor(random() * 5);
    for (let i = 0; i < count; i++) {
      const value = `r${request}-${i}`;
      values.push(value);
      const shape = random();
      const record: ProduceRecord = {
        key: shape < 0.4 || topic.name === 'chaos-g' ? utf8.encode(`key-${Math.floor(random() * 20)}`) : null,
        value: utf8.encode(value),
        headers: [],
      };
      if (shape > 0.8 && topic.name !== 'chaos-g') record.partition = Math.floor(random() * topic.partitions);
      if (topic.name === 'chaos-t') {
        const when = random();
        if (when < 0.2) record.timestamp = clock.now() - Math.floor(random() * HOUR);
        else if (when < 0.3) record.timestamp = clock.now() + Math.floor(random() * 50 * 60_000);
        else if (when < 0.33) {
          record.timestamp = clock.now() + 10 * 365 * 24 * HOUR;
          farFuture = true;
        }
      }
      records.push(record);
    }
    return { records, values, farFuture };
  }

  async function produceOnce(): Promise<void> {
    const topic = pick(TOPICS);
    const request = nextRequest++;
    const withKey = random() < 0.8;
    const { records, values, farFuture } = recordsFor(topic, request);
    for (const value of values) sent.add(value);
    const idempotencyKey = withKey ? `chaos-${options.seed}-${request}` : undefined;
    // A client without an idempotency key must not retry (it could duplicate); with one it retries.
    for (let attempt = 0; attempt < (withKey ? RETRIES : 1); attempt++) {
      if (attempt > 0 && topic.name === 'chaos-g' && random() < 0.5) {
        // The topic grows between the first attempt and its retry.
        const { partitions } = await clean.topics.requireTopic(topic.name);
        if (partitions < GROWN_MAX_PARTITIONS)
          await quietly(clean.topics.alterTopic(topic.name, { partitions: partitions + 1 }));
      }
      const started = clock.now();
      const note = (what: string) => {
        const lines = journal.get(`r${request}`) ?? [];
        lines.push(`attempt ${attempt} at +${started - runStart} ms: ${what}`);
        journal.set(`r${request}`, lines);
      };
      try {
        const { offsets } = await services.log.produce({ topic: topic.name, records, idempotencyKey });
        note(offsets.map((o) => `${o.partition}/${o.offset}`).join(' '));
        offsets.forEach((o, i) => {
          const where = `${topic.name}/${o.partition}/${o.offset}`;
          const previous = acked.get(where);
          if (previous !== undefined && previous !== values[i]) {
            violations.push(`offset ${where} acknowledged for ${previous} and for ${values[i]}`);
          }
          acked.set(where, values[i] as string);
        });
        return;
      } catch (error) {
        note(
          `${error instanceof StreamError ? error.code : 'error'} ${error instanceof Error ? error.message.slice(0, 120) : ''}`,
        );
        // A far-future timestamp is refused: message.timestamp.after.max.ms.
        if (farFuture && error instanceof StreamError && error.code === 'INVALID_REQUEST') return;
        if (!(error instanceof StreamError) || !error.retriable) {
          violations.push(`produce failed with a non-retriable error: ${String(error)}`);
          return;
        }
      }
    }
  }

  // ---- Fetchers ----
  function checkRecord(
    topic: string,
    partition: number,
    offset: number,
    value: Uint8Array | null,
    via: string,
  ) {
    const expected = acked.get(`${topic}/${partition}/${offset}`);
    const got = value === null ? null : text.decode(value);
    if (expected !== undefined && expected !== got)
      violations.push(`${via} ${topic}/${partition}@${offset} returned ${got}, acknowledged ${expected}`);
  }

  async function fetchOnce(): Promise<void> {
    const topic = pick([...TOPICS.map((t) => t.name), RECREATED]);
    const partitions = (await clean.topics.requireTopic(topic).catch(() => undefined))?.partitions ?? 0;
    if (partitions === 0) return;
    const partition = Math.floor(random() * partitions);
    const maxBytes = 1 + Math.floor(random() * 4000);
    const binary = random() < 0.5;
    try {
      const range = await services.log.offsets(topic, partition);
      const offset =
        range.logStartOffset + Math.floor(random() * (range.highWatermark - range.logStartOffset + 1));
      if (!binary) {
        const page = await services.log.fetch({ topic, partition, offset, maxBytes });
        let expected = offset;
        for (const record of page.records) {
          if (record.offset !== expected)
            violations.push(
              `fetch ${topic}/${partition}@${offset}: offset ${record.offset}, expected ${expected}`,
            );
          expected = record.offset + 1;
          if (topic !== RECREATED) checkRecord(topic, partition, record.offset, record.value, 'fetch');
        }
        return;
      }
      const page = await services.log.fetchBatches({ topic, partition, offset, maxBytes });
      const batches = [...splitBatches(page.batches)];
      if (page.batches.byteLength > maxBytes && batches.length > 1) {
        violations.push(
          `fetch ${topic}/${partition}@${offset} max_bytes ${maxBytes} returned ${batches.length} batches of ${page.batches.byteLength} bytes`,
        );
      }
      if (Math.ceil(page.batches.byteLength / 3) * 4 > MAX_LAMBDA_PAYLOAD_BYTES)
        violations.push(`fetch ${topic}/${partition}@${offset} is over Lambda's 6 MB once base64-encoded`);
      const first = batches[0];
      if (first !== undefined) {
        const header = readBatchHeader(first);
        if (header.baseOffset > offset || header.baseOffset + header.lastOffsetDelta < offset)
          violations.push(`fetch ${topic}/${partition}@${offset} starts with a batch not holding it`);
      }
    } catch (error) {
      // Retention may move the log start past the offset between reading the range and fetching; a
      // re-created topic may be gone in between.
      const expected =
        error instanceof StreamError &&
        (error.code === 'OFFSET_OUT_OF_RANGE' || (topic === RECREATED && error.code === 'TOPIC_NOT_FOUND'));
      if (!(error instanceof StreamError) || (!error.retriable && !expected)) {
        violations.push(`fetch failed: ${String(error)}`);
      }
    }
  }

  // ---- Topic churn: create, fill, delete (deleted topics must be cleaned up) ----
  async function churnOnce(): Promise<void> {
    try {
      const created = await services.topics.createTopic('chaos-churn', 2);
      deletedTopicIds.push({ id: created.topicId, partitions: 2 });
      await services.log.produce({
        topic: 'chaos-churn',
        records: [{ key: null, value: utf8.encode('x'), headers: [] }],
      });
      await services.topics.deleteTopic('chaos-churn');
    } catch (error) {
      if (!(error instanceof StreamError)) violations.push(`topic churn failed: ${String(error)}`);
      // A half-done churn leaves the topic for the next round to delete.
      await quietly(clean.topics.deleteTopic('chaos-churn'));
    }
  }

  // ---- A topic re-created now and then (also while janitor passes run), its records checked ----
  let incarnation = 0;
  let recreatedAcked = new Map<string, string>();
  let recreating: Promise<void> | undefined;
  /** Every record acknowledged in the topic's current incarnation is readable at its offset. */
  async function checkRecreated(): Promise<void> {
    for (const [where, value] of recreatedAcked) {
      const [partition, offset] = where.split('/').map(Number) as [number, number];
      try {
        const page = await clean.log.fetch({ topic: RECREATED, partition, offset, maxBytes: 1 });
        const got = page.records.find((r) => r.offset === offset)?.value;
        if (got === undefined || text.decode(got ?? new Uint8Array()) !== value)
          violations.push(`acknowledged ${value} at ${RECREATED}/${where} is not there`);
      } catch (error) {
        violations.push(`acknowledged ${value} at ${RECREATED}/${where} cannot be read: ${String(error)}`);
      }
    }
  }

  /** Deletes the topic and creates it again: a new incarnation, nothing acknowledged in it yet. */
  async function recreate(): Promise<void> {
    if (recreating !== undefined) return recreating;
    recreating = (async () => {
      const before = await clean.topics.requireTopic(RECREATED).catch(() => undefined);
      if (before !== undefined) {
        await checkRecreated();
        await clean.topics.deleteTopic(RECREATED);
        deletedTopicIds.push({ id: before.topicId, partitions: before.partitions });
      }
      const created = await clean.topics.createTopic(RECREATED, 2, { 'retention.ms': -1 });
      incarnation++;
      incarnationOf.set(created.topicId, incarnation);
      tell(undefined, `${RECREATED} re-created: incarnation ${incarnation}`);
      recreatedAcked = new Map();
    })().finally(() => {
      recreating = undefined;
    });
    return recreating;
  }
  /** One record to the re-created topic, retried with its key; remembered if acknowledged in one incarnation. */
  async function produceRecreated(): Promise<void> {
    const request = nextRequest++;
    const value = `re${request}`;
    sent.add(value);
    for (let attempt = 0; attempt < RETRIES; attempt++) {
      const since = incarnation;
      try {
        const { offsets } = await services.log.produce({
          topic: RECREATED,
          records: [{ key: utf8.encode(`k${request % 7}`), value: utf8.encode(value), headers: [] }],
          idempotencyKey: `chaos-re-${options.seed}-${request}`,
        });
        const o = offsets[0] as { partition: number; offset: number };
        if (since === incarnation) recreatedAcked.set(`${o.partition}/${o.offset}`, value);
        return;
      } catch (error) {
        // The topic was deleted under the request (re-created meanwhile).
        if (error instanceof StreamError && error.code === 'TOPIC_NOT_FOUND' && since !== incarnation) return;
        if (!(error instanceof StreamError) || !error.retriable) {
          violations.push(`produce to ${RECREATED} failed: ${String(error)}`);
          return;
        }
      }
    }
  }
  async function recreateOnce(): Promise<void> {
    if (random() < 0.05) await recreate();
    await produceRecreated();
  }

  // ---- Consumer-group members: heartbeat, commit with their lease epoch (sometimes racing a
  // heartbeat), pause, leave, and retry as zombies ----
  interface Member {
    group: string;
    topic: string;
    id: string | undefined;
    assignments: { topic: string; partition: number; epoch: number }[];
    left: { id: string; assignments: { topic: string; partition: number; epoch: number }[] } | undefined;
  }
  const attemptedCommits = new Map<string, Set<number>>(); // "group/partition" → offsets ever sent
  // chaos-re's group: the incarnation each partition's last acknowledged commit was made in.
  const committedIn = new Map<number, number>();
  const members: Member[] = [
    ...['chaos-group', 'chaos-group', 'chaos-re-group', 'chaos-re-group'].map((group) => ({
      group,
      topic: group === 'chaos-group' ? 'chaos-a' : RECREATED,
      id: undefined,
      assignments: [],
      left: undefined,
    })),
  ];

  /** The member's leases as stored: "topic#partition" → epoch and expiry. */
  async function leasesOf(member: Member): Promise<Map<string, { epoch: number; expiresAt: number }>> {
    const out = new Map<string, { epoch: number; expiresAt: number }>();
    for (const item of (await storage.meta.query(`group#${member.group}`, { consistent: true })).items) {
      if (!item.sk.startsWith('l#') || item.owner !== member.id) continue;
      const body = item.sk.slice(2);
      const cut = body.lastIndexOf('#');
      out.set(`${body.slice(0, cut)}#${Number(body.slice(cut + 1))}`, {
        epoch: item.epoch as number,
        expiresAt: item.leaseExpiresAt as number,
      });
    }
    return out;
  }

  /**
   * A heartbeat never drops a lease silently (the SDK would stop consuming it, then restart it from the
   * last commit): a lease the member owned before the heartbeat and still owns live after it, at the
   * same epoch (so it was held throughout, not re-taken), is in its assignments or revoked.
   */
  function checkLeases(
    member: Member,
    before: Map<string, { epoch: number }>,
    after: Map<string, { epoch: number; expiresAt: number }>,
    revoked: readonly { topic: string; partition: number }[],
  ) {
    const now = clock.now();
    const known = new Set([...member.assignments, ...revoked].map((a) => `${a.topic}#${a.partition}`));
    for (const [tp, lease] of after) {
      if (lease.expiresAt > now && before.get(tp)?.epoch === lease.epoch && !known.has(tp))
        violations.push(`member ${member.id} of ${member.group} still owns ${tp} but a heartbeat dropped it`);
    }
  }

  /**
   * A partition handed over in the topic's current incarnation carries the last commit made in it:
   * after an acknowledged commit there, a member newly given the partition (a new epoch) is never told
   * "no committed offset". (A partition it keeps may show an offset read before its own racing commit.)
   */
  function checkHandOver(
    member: Member,
    how: string,
    held: readonly { partition: number; epoch: number }[],
    view: MembershipView & { memberId: string },
    since: number,
  ) {
    if (member.topic !== RECREATED) return;
    const who = `${how} of ${short(view.memberId)} (started in incarnation ${since})`;
    for (const r of view.revoked) tell(r.partition, `${who}: ${RECREATED}/${r.partition} revoked`);
    for (const a of view.assignments) {
      const kept = held.some((h) => h.partition === a.partition && h.epoch === a.epoch);
      tell(
        a.partition,
        `${who}: ${RECREATED}/${a.partition} assigned at epoch ${a.epoch} (${kept ? 'held before' : `new to it; previous owner ${ownerBefore(a.partition, a.epoch)}`}), committedOffset ${a.committedOffset}`,
      );
      // Judged only when no re-creation ended during the call and none is under way: the store has the
      // next incarnation a moment before `incarnation` counts it (between createTopic's write and its
      // answer), and a view taken then would be judged against the commits of the one before.
      if (since !== incarnation || recreating !== undefined) continue;
      if (!kept && a.committedOffset === null && committedIn.get(a.partition) === incarnation)
        violations.push(
          `${member.group}: ${RECREATED}/${a.partition} was handed over without the commit acknowledged in its incarnation\n    its story in ${RE_GROUP}, oldest first:\n${storyOf(a.partition)}`,
        );
    }
  }
  /** The last lines of chaos-re-group's story that concern the partition. */
  function storyOf(partition: number): string {
    return story
      .filter((entry) => entry.partition === undefined || entry.partition === partition)
      .slice(-60)
      .map((entry) => `      ${entry.line}`)
      .join('\n');
  }

  async function commit(member: Member, id: string, partition: number, epoch: number): Promise<void> {
    const offset = Math.floor(random() * 50);
    const key = `${member.group}/${partition}`;
    const offsets = attemptedCommits.get(key) ?? new Set<number>();
    offsets.add(offset);
    attemptedCommits.set(key, offsets);
    const before = incarnation;
    const what = `commit of ${short(id)}: ${RECREATED}/${partition} offset ${offset} at epoch ${epoch}, started in incarnation ${before}`;
    try {
      await services.groups.commit(member.group, id, [{ topic: member.topic, partition, offset, epoch }]);
    } catch (error) {
      if (member.topic === RECREATED)
        tell(partition, `${what}: ${error instanceof StreamError ? error.code : String(error)}`);
      throw error;
    }
    if (member.topic !== RECREATED) return;
    tell(partition, `${what}: acknowledged${before === incarnation ? '' : ` in incarnation ${incarnation}`}`);
    if (before === incarnation) committedIn.set(partition, incarnation);
  }

  async function groupOnce(member: Member): Promise<void> {
    try {
      if (member.left !== undefined && random() < 0.3) {
        // A zombie: the member left; its old lease must not accept its commits any more.
        const stale = member.left.assignments[0];
        if (stale !== undefined) {
          try {
            await commit(member, member.left.id, stale.partition, stale.epoch);
            violations.push(
              `member ${member.left.id} committed to ${member.topic}/${stale.partition} after leaving`,
            );
          } catch (error) {
            if (!(error instanceof StreamError)) throw error;
          }
        }
        return;
      }
      if (member.id === undefined) {
        const since = incarnation;
        const joined = await services.groups.join(member.group, {
          topics: [member.topic],
          sessionTimeoutMs: SESSION_MS,
        });
        checkHandOver(member, 'join', [], joined, since);
        member.id = joined.memberId;
        member.assignments = joined.assignments;
        return;
      }
      const roll = random();
      if (roll < 0.05) {
        // The member pauses for a few seconds (a long GC, a slow handler): some of its leases may lapse.
        clock.jump(1_000 + Math.floor(random() * 3_000));
      } else if (roll < 0.45) {
        const id = member.id;
        const owned = member.assignments[Math.floor(random() * member.assignments.length)];
        // Half the time a commit races the heartbeat (the SDK commits from the processing loop).
        const before = await leasesOf(member);
        const racing =
          owned !== undefined && random() < 0.5
            ? quietly(commit(member, id, owned.partition, owned.epoch))
            : undefined;
        const since = incarnation;
        const view = await services.groups.heartbeat(member.group, id);
        await racing;
        checkHandOver(member, 'heartbeat', member.assignments, { ...view, memberId: id }, since);
        member.assignments = view.assignments;
        checkLeases(member, before, await leasesOf(member), view.revoked);
      } else if (roll < 0.8) {
        const owned = member.assignments[Math.floor(random() * member.assignments.length)];
        if (owned === undefined) return;
        const stale = random() < 0.3;
        try {
          await commit(member, member.id, owned.partition, stale ? owned.epoch - 1 : owned.epoch);
          if (stale)
            violations.push(
              `a commit to ${member.topic}/${owned.partition} with a stale epoch ${owned.epoch - 1} succeeded`,
            );
        } catch (error) {
          if (!(error instanceof StreamError)) throw error;
        }
      } else if (roll < 0.88) {
        // Only a leave that was acknowledged makes the member a zombie; a failed one may not have applied.
        const id = member.id;
        await services.groups.leave(member.group, id);
        if (member.topic === RECREATED) tell(undefined, `${short(id)} left`);
        member.id = undefined;
        member.left = { id, assignments: member.assignments };
      }
    } catch (error) {
      if (!(error instanceof StreamError)) violations.push(`group action failed: ${String(error)}`);
      // LEASE_LOST on heartbeat: the group forgot the member (a fault ate its renewals); rejoin later.
      if (error instanceof StreamError && error.code === 'LEASE_LOST' && member.id !== undefined)
        member.id = undefined;
    }
  }

  // Deliverers' calls fail at a third of the rate: a run is a dozen calls with no retries below the
  // port, and at the full rate few would get as far as the target.
  const deliveryPlan = faultPlan(options.seed ^ 0xde11, (options.faultRate ?? 0.2) / 3, clock);
  const delivering: Backend = {
    meta: new FaultyMetaStore(subscriptionTap, deliveryPlan),
    objects: new FaultyObjectStore(storage.objects, deliveryPlan),
    close: async () => {},
  };
  /** Takeovers still running after the call that paused for them returned. */
  const takeovers: Promise<unknown>[] = [];

  // ---- Subscriptions: deliverers for random partitions under faults, some cut short by a deadline,
  // some paused mid-call until their lease lapses and the other deliverer takes the partition over
  // (a zombie); a target that fails at random, answers partial failures, and always fails the poison ----
  interface TargetCall {
    subscription: string;
    partition: number;
    owner: string;
    offsets: number[];
    outcome: 'success' | 'partial' | 'error';
    failedOffset?: number;
    /** The partition's lease as stored when the call began. */
    lease: LeaseWrite | undefined;
  }
  const calls: TargetCall[] = [];
  const subscriptionRandom = seededRandom(options.seed ^ 0x5b5c);
  const poisonValue = `poison-${options.seed}`;
  let poison: { partition: number; offset: number } | undefined;
  let poisonAsked = false;
  /** Once quiet, the target fails the poison only. */
  let draining = false;

  /** The target deliverer `owner` invokes; a nested one (a takeover during a pause) does not pause. */
  /**
   * The target deliverer `owner` invokes in one run (`done` when that run ends). A takeover's target
   * answers only once `hold` settles, so the taker holds the partition while the zombie goes on, and
   * never pauses itself.
   */
  const targetOf = (owner: string, done: Promise<void>, takeover?: { hold: Promise<unknown> }): Target => ({
    description: `chaos target of ${owner}`,
    async deliver(delivery): Promise<DeliveryResult> {
      if (takeover !== undefined) await takeover.hold;
      const event = JSON.parse(delivery.body) as KafkaEvent;
      const records = Object.values(event.records)[0] ?? [];
      const partition = records[0]?.partition ?? -1;
      const offsets = records.map((r) => r.offset);
      const values = records.map((r) =>
        r.value === undefined ? '' : Buffer.from(r.value, 'base64').toString(),
      );
      const call: TargetCall = {
        subscription: delivery.subscription,
        partition,
        owner,
        offsets,
        outcome: 'success',
        lease: subscriptionLeases.get(`${delivery.subscription}/${partition}`)?.at(-1),
      };
      calls.push(call);
      const partial = (offset: number): DeliveryResult => {
        call.outcome = 'partial';
        call.failedOffset = offset;
        return { ok: true, response: { batchItemFailures: [{ itemIdentifier: String(offset) }] } };
      };
      const failure = (error: string, reached = true): DeliveryResult => {
        call.outcome = 'error';
        return { ok: false, error, reached };
      };
      const roll = subscriptionRandom();
      const poisonAt = values.indexOf(poisonValue);
      let result: DeliveryResult = { ok: true, response: null };
      if (poisonAt > 0 && (draining || roll < 0.5)) result = partial(offsets[poisonAt] as number);
      else if (poisonAt >= 0) result = failure('chaos: the poison record fails every time');
      else if (draining) result = { ok: true, response: null };
      else if (roll < 0.15) result = failure('chaos: the target failed');
      else if (roll < 0.2) result = failure('chaos: the target was throttled', false);
      else if (roll < 0.35)
        result = partial(offsets[Math.floor(subscriptionRandom() * offsets.length)] as number);
      if (!draining && takeover === undefined && subscriptionRandom() < 0.1) {
        // A pause mid-call: the lease lapses; mostly a deliverer takes the partition over
        // meanwhile (the other one, or one under the same id: a restarted process takes its own lease
        // back while the old one lives on), otherwise whoever comes next may. This call's outcome,
        // and everything its run writes after it, must then be fenced.
        clock.jump(DELIVERY_LEASE_MS + 1);
        if (subscriptionRandom() < 0.7) {
          const taker = DELIVERERS[Math.floor(subscriptionRandom() * DELIVERERS.length)] as string;
          const key = `${delivery.subscription}/${partition}`;
          const taking = runDeliverer(delivering, taker, delivery.subscription, partition, clock.now() + 20, {
            hold: Promise.race([done, realDelay(100)]),
          });
          takeovers.push(taking);
          // The zombie wakes once the taker holds the partition (or gave up), and goes on beside it.
          const moved = () =>
            (subscriptionLeases.get(key)?.at(-1)?.version ?? 0) > (call.lease?.version ?? 0);
          const wake = (async () => {
            for (let waited = 0; waited < 50 && !moved(); waited++) await realDelay(1);
          })();
          await Promise.race([taking, wake]);
        } else await realDelay(5 + Math.floor(subscriptionRandom() * 15));
      }
      return result;
    },
  });

  let runs = 0;
  async function runDeliverer(
    backend: Backend,
    owner: string,
    name: string,
    partition: number,
    deadline: number,
    takeover?: { hold: Promise<unknown> },
  ): Promise<RunOutcome | undefined> {
    const via = createServices({ ...backend, meta: new RunTaggingMetaStore(backend.meta, ++runs) }, clock);
    let finish = () => {};
    const done = new Promise<void>((resolve) => (finish = resolve));
    const deps: DelivererDeps = {
      subscriptions: via.subscriptions,
      groups: via.groups,
      log: via.log,
      topics: via.topics,
      clock,
      targetFor: () => targetOf(owner, done, takeover),
    };
    const delivererOptions: DelivererOptions = {
      owner,
      leaseMs: DELIVERY_LEASE_MS,
      backoff: DELIVERY_BACKOFF,
    };
    try {
      return await deliverPartition(deps, delivererOptions, name, partition, { deadline });
    } catch (error) {
      if (!(error instanceof StreamError) || !error.retriable)
        violations.push(`deliverer ${owner} on ${name}/${partition} failed: ${String(error)}`);
      return undefined;
    } finally {
      finish();
    }
  }

  /** The record every delivery of which fails: once, into a partition the deliverers are working on. */
  async function producePoison(): Promise<void> {
    poisonAsked = true;
    sent.add(poisonValue);
    // No faults, but the clock jumps under it: a commit may run out of time. Retried with its key.
    for (let attempt = 0; attempt < RETRIES; attempt++) {
      try {
        const { offsets } = await clean.log.produce({
          topic: SUBSCRIBED,
          records: [{ key: null, value: utf8.encode(poisonValue), headers: [], partition: 0 }],
          idempotencyKey: `chaos-poison-${options.seed}`,
        });
        const { partition, offset } = offsets[0] as { partition: number; offset: number };
        acked.set(`${SUBSCRIBED}/${partition}/${offset}`, poisonValue);
        poison = { partition, offset };
        return;
      } catch (error) {
        if (!(error instanceof StreamError) || !error.retriable) {
          violations.push(`producing the poison failed: ${String(error)}`);
          break;
        }
      }
    }
    poisonAsked = false; // a later operation tries again
  }

  async function deliverOnce(owner: string): Promise<void> {
    if (!poisonAsked && operations >= options.operations / 4) await producePoison();
    const subscription = SUBSCRIPTIONS[
      Math.floor(subscriptionRandom() * SUBSCRIPTIONS.length)
    ] as SubscriptionSpec;
    const partition = Math.floor(subscriptionRandom() * SUBSCRIBED_PARTITIONS);
    // Now and then a deadline that ends the run before or during its first batch.
    const deadline =
      clock.now() +
      (subscriptionRandom() < 0.3
        ? Math.floor(subscriptionRandom() * 5)
        : 20 + Math.floor(subscriptionRandom() * 80));
    await runDeliverer(delivering, owner, subscription.name, partition, deadline);
  }

  // ---- Run ----
  const producers = options.producers ?? 4;
  const fetchers = options.fetchers ?? 2;
  const actor = async (work: () => Promise<void>, gated = true) => {
    while (operations < options.operations) {
      while (gated && quiet !== undefined) await quiet.over;
      if (operations >= options.operations) break;
      operations++;
      inFlight += gated ? 1 : 0;
      try {
        await work();
      } finally {
        inFlight -= gated ? 1 : 0;
      }
    }
  };
  await Promise.all([
    ...Array.from({ length: producers }, () => actor(produceOnce)),
    ...Array.from({ length: fetchers }, () => actor(fetchOnce)),
    actor(janitorOnce, false),
    actor(churnOnce),
    actor(recreateOnce),
    ...members.map((member) => actor(() => groupOnce(member))),
    ...DELIVERERS.map((owner) => actor(() => deliverOnce(owner))),
  ]);
  for (const waiter of passWaiters.splice(0)) waiter.wake();
  await Promise.all(takeovers);
  const leftover = await clean.topics.requireTopic('chaos-churn').catch(() => undefined);
  if (leftover !== undefined) await clean.topics.deleteTopic('chaos-churn');

  // ---- Read everything back without faults ----
  const seen = new Map<string, string>();
  async function readBack(topic: string, partition: number): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    const range = await clean.log.offsets(topic, partition);
    let offset = range.logStartOffset;
    while (offset < range.highWatermark) {
      let page: Awaited<ReturnType<typeof clean.log.fetch>>;
      try {
        page = await clean.log.fetch({ topic, partition, offset });
      } catch (error) {
        violations.push(`${topic}/${partition}@${offset} cannot be read back: ${String(error)}`);
        break;
      }
      for (const record of page.records) {
        if (record.offset !== offset)
          violations.push(`gap: expected offset ${offset} in ${topic}/${partition}, found ${record.offset}`);
        offset = record.offset + 1;
        const value = record.value === null ? '' : text.decode(record.value);
        out.set(record.offset, value);
        const where = `${topic}/${partition}/${record.offset}`;
        if (!sent.has(value)) violations.push(`${where} holds ${value}, which nobody sent`);
        const duplicate = seen.get(value);
        if (duplicate !== undefined) duplicates.push({ value, first: duplicate, second: where });
        seen.set(value, where);
      }
      if (page.records.length === 0) {
        violations.push(
          `${topic}/${partition}: no records at ${offset} below the high watermark ${range.highWatermark}`,
        );
        break;
      }
    }
    // Every index entry points at an object that exists.
    const id = (await clean.topics.requireTopic(topic)).topicId;
    const index = await storage.meta.query(partitionPk(id, partition), {
      from: FIRST_BATCH_SK,
      to: LAST_BATCH_SK,
      consistent: true,
    });
    for (const entry of index.items) {
      try {
        await storage.objects.get(entry.objectKey as string, { start: 0, end: 1 });
      } catch {
        violations.push(
          `index entry ${entry.pk}/${entry.sk} points at missing object ${String(entry.objectKey)}`,
        );
      }
    }
    logs.set(`${topic}/${partition}`, out);
    return out;
  }
  const logs = new Map<string, Map<number, string>>();
  const duplicates: { value: string; first: string; second: string }[] = [];
  /**
   * A retry is exactly-once while fewer than RECENT_KEYS other requests committed to the partition
   * since its first attempt committed there (the documented idempotency window). A record in the log
   * twice is a violation unless that many did.
   */
  function judgeDuplicates(): void {
    const requestOf = (value: string) => value.slice(0, value.lastIndexOf('-'));
    for (const { value, first, second } of duplicates) {
      const [topic, partition, offset] = first.split('/') as [string, string, string];
      const [, secondPartition, secondOffset] = second.split('/') as [string, string, string];
      const until = secondPartition === partition ? Number(secondOffset) : Number.POSITIVE_INFINITY;
      const between = new Set<string>();
      for (const [o, v] of logs.get(`${topic}/${partition}`) ?? []) {
        if (o > Number(offset) && o < until && requestOf(v) !== requestOf(value)) between.add(requestOf(v));
      }
      if (between.size >= RECENT_KEYS) {
        windowExceeded++;
        continue;
      }
      violations.push(
        `${value} is in the log twice: ${first} and ${second}, ${between.size} commits apart; its attempts: ${(journal.get(requestOf(value)) ?? []).join('; ')}`,
      );
    }
  }
  let windowExceeded = 0;
  const partitionsOf = async (topic: string) => (await clean.topics.requireTopic(topic)).partitions;
  const starts = new Map<string, number>();
  for (const topic of TOPICS) {
    for (let partition = 0; partition < (await partitionsOf(topic.name)); partition++) {
      await readBack(topic.name, partition);
      starts.set(
        `${topic.name}/${partition}`,
        (await clean.log.offsets(topic.name, partition)).logStartOffset,
      );
    }
  }
  for (const [where, value] of acked) {
    const [name, partition, offset] = where.split('/');
    if (Number(offset) < (starts.get(`${name}/${partition}`) ?? 0)) continue; // retention removed it
    if (logs.get(`${name}/${partition}`)?.get(Number(offset)) !== value)
      violations.push(
        `acknowledged ${value} at ${where} but the log has it at ${seen.get(value) ?? 'nowhere'}`,
      );
  }
  for (let partition = 0; partition < 2; partition++) {
    const log = await readBack(RECREATED, partition);
    for (const [where, value] of recreatedAcked) {
      const [p, offset] = where.split('/').map(Number);
      if (p === partition && log.get(offset as number) !== value)
        violations.push(
          `acknowledged ${value} at ${RECREATED}/${where} but the log has ${log.get(offset as number) ?? 'nothing'} there`,
        );
    }
  }

  judgeDuplicates();

  // ---- Subscriptions, once quiet: faults off, every lease lapsed, a deliverer runs each partition
  // until it is caught up (or, retrying forever, stuck at the poison) ----
  async function checkSubscriptions(): Promise<void> {
    if (poison === undefined) await producePoison();
    if (poison === undefined) {
      violations.push('the poison record was never acknowledged: the subscriptions are not checked');
      return;
    }
    const { partition: poisonPartition, offset: poisonOffset } = poison;
    draining = true;
    clock.jump(DELIVERY_LEASE_MS + 1);
    for (const subscription of SUBSCRIPTIONS) {
      const stuckAt = (partition: number) =>
        subscription.deadLetterTopic === null && partition === poisonPartition ? poisonOffset : undefined;
      for (let partition = 0; partition < SUBSCRIBED_PARTITIONS; partition++) {
        for (let round = 0; round < 20; round++) {
          const stuck = stuckAt(partition);
          const outcome = await runDeliverer(
            { ...storage, meta: subscriptionTap },
            DRAINER,
            subscription.name,
            partition,
            clock.now() + (stuck === undefined ? 10_000 : 20),
          );
          if (outcome === 'caught-up') break;
          if (
            stuck !== undefined &&
            subscriptionLeases.get(`${subscription.name}/${partition}`)?.at(-1)?.committedOffset === stuck
          )
            break;
        }
      }
    }
    const deadLetters = await readDeadLetters();
    for (const subscription of SUBSCRIPTIONS) {
      const description = await clean.subscriptions.describe(subscription.name);
      const { startOffsets } = (await clean.subscriptions.read(subscription.name)) as StoredSubscription;
      for (const status of description.partitions) {
        const { partition } = status;
        const where = `${subscription.name} on ${SUBSCRIBED}/${partition}`;
        const range = await clean.log.offsets(SUBSCRIBED, partition);
        const stuck = subscription.deadLetterTopic === null && partition === poisonPartition;
        const expected = stuck ? poisonOffset : Math.max(range.highWatermark, range.logStartOffset);
        if (status.committedOffset !== expected)
          violations.push(
            `${where}: committed offset ${status.committedOffset} once caught up, expected ${expected} (${stuck ? 'the poison' : 'the high watermark'})`,
          );
        if (stuck && status.attempts < 1)
          violations.push(`${where}: stuck at the poison ${poisonOffset} with ${status.attempts} attempts`);
        // Nothing below the committed offset was skipped: delivered, dead-lettered, or removed by retention.
        const delivered = new Set<number>();
        for (const call of calls) {
          if (call.subscription !== subscription.name || call.partition !== partition) continue;
          const end = succeededUntil(call);
          for (const offset of call.offsets) if (offset < end) delivered.add(offset);
        }
        for (let offset = startOffsets[partition] ?? 0; offset < (status.committedOffset ?? 0); offset++) {
          if (offset < range.logStartOffset || delivered.has(offset)) continue;
          if (subscription.deadLetterTopic !== null && deadLetters.has(`${partition}/${offset}`)) continue;
          violations.push(
            `${where}: offset ${offset} is below the committed offset ${status.committedOffset} but was neither delivered nor dead-lettered`,
          );
        }
        if (subscription.deadLetterTopic !== null && partition === poisonPartition) {
          const attempts = deadLetters.get(`${partition}/${poisonOffset}`);
          if (attempts !== String((subscription.maxRetryAttempts ?? 0) + 1))
            violations.push(
              `${where}: the poison at ${poisonOffset} is ${attempts === undefined ? 'not in the dead-letter topic' : `dead-lettered after ${attempts} attempts`}, expected after ${(subscription.maxRetryAttempts ?? 0) + 1}`,
            );
        }
      }
    }
    checkDeliveryOrder();
    checkDeliveryFencing();
  }

  /** The offset below which the target took the call's records (its first offset if none). */
  function succeededUntil(call: TargetCall): number {
    const first = call.offsets[0] as number;
    if (call.outcome === 'success') return (call.offsets.at(-1) as number) + 1;
    if (call.outcome === 'partial') return Math.max(first, call.failedOffset as number);
    return first;
  }

  /** The dead-letter topic read back: "partition/offset" of each source record → its attempts header. */
  async function readDeadLetters(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const range = await clean.log.offsets(DEAD_LETTERS, 0);
    let offset = range.logStartOffset;
    while (offset < range.highWatermark) {
      const page = await clean.log.fetch({ topic: DEAD_LETTERS, partition: 0, offset });
      if (page.records.length === 0) break;
      for (const record of page.records) {
        offset = record.offset + 1;
        const header = (name: string) => {
          const value = record.headers.find((h) => h.key === name)?.value;
          return value === undefined || value === null ? undefined : text.decode(value);
        };
        const topic = header(DEAD_LETTER_HEADERS.topic);
        const partition = Number(header(DEAD_LETTER_HEADERS.partition));
        const source = Number(header(DEAD_LETTER_HEADERS.offset));
        const value = record.value === null ? '' : text.decode(record.value);
        const original = logs.get(`${SUBSCRIBED}/${partition}`)?.get(source);
        if (topic !== SUBSCRIBED || original !== value) {
          violations.push(
            `dead letter ${DEAD_LETTERS}/0@${record.offset} (${value}) names ${topic}/${partition}@${source}, which holds ${original ?? 'nothing'}`,
          );
          continue;
        }
        out.set(`${partition}/${source}`, header(DEAD_LETTER_HEADERS.attempts) ?? '');
      }
    }
    return out;
  }

  /**
   * No gaps: a call whose success its deliverer committed (a later write of the lease by the same
   * owner at the same epoch at or past what it took) started at the committed position of the time.
   */
  function checkDeliveryOrder(): void {
    for (const call of calls) {
      const end = succeededUntil(call);
      const held = call.lease;
      const first = call.offsets[0] as number;
      if (end <= first || held === undefined || held.owner !== call.owner) continue;
      const committed = (subscriptionLeases.get(`${call.subscription}/${call.partition}`) ?? []).some(
        (w) =>
          w.version > held.version &&
          w.owner === call.owner &&
          w.epoch === held.epoch &&
          (w.committedOffset ?? -1) >= end,
      );
      const position = held.committedOffset ?? 0;
      if (committed && first > position)
        violations.push(
          `${call.subscription} on ${SUBSCRIBED}/${call.partition}: ${call.owner} delivered from ${first} and committed it while the committed position was ${position}`,
        );
    }
  }

  /**
   * Fencing: once a lease moved to another owner or epoch, no write at the old one applies (a run
   * that held it before may only claim it anew); the committed offset never moves back.
   */
  function checkDeliveryFencing(): void {
    for (const [key, writes] of subscriptionLeases) {
      /** Runs that wrote the lease before the current writer: none of them may write it again. */
      const tenures = new Set<number>();
      for (let i = 1; i < writes.length; i++) {
        const before = writes[i - 1] as LeaseWrite;
        const write = writes[i] as LeaseWrite;
        // Every claim takes the next epoch; renewals and releases keep the one they hold. A run claims
        // again when more records came after it released (deliverPartition's loop): a new tenure.
        const claim = write.epoch > before.epoch;
        const fenced =
          write.epoch < before.epoch ||
          (write.epoch === before.epoch && write.owner !== null && write.owner !== before.owner) ||
          (!claim && write.run !== before.run && write.run !== undefined && tenures.has(write.run));
        if (before.run !== undefined) tenures.add(before.run);
        const back =
          write.committedOffset !== null &&
          before.committedOffset !== null &&
          write.committedOffset < before.committedOffset;
        if (fenced || back)
          violations.push(
            `lease of ${key}: write v${write.version} by ${write.owner ?? 'a release'} (run ${write.run}) at epoch ${write.epoch} (committed ${write.committedOffset}, +${write.at} ms) applied after v${before.version} by ${before.owner ?? 'a release'} (run ${before.run}) at epoch ${before.epoch} (committed ${before.committedOffset})`,
          );
      }
    }
  }
  await checkSubscriptions();

  // ---- Groups, once quiet: members whose join answer was lost (ghosts) time out first ----
  async function settle(group: readonly Member[]): Promise<void> {
    for (const member of group) {
      for (let round = 0; round < 3; round++) {
        try {
          if (member.id === undefined) {
            const joined = await clean.groups.join(member.group, {
              topics: [member.topic],
              sessionTimeoutMs: QUIET_SESSION_MS,
            });
            member.id = joined.memberId;
            member.assignments = joined.assignments;
          } else member.assignments = (await clean.groups.heartbeat(member.group, member.id)).assignments;
        } catch (error) {
          if (error instanceof StreamError && error.code === 'LEASE_LOST') member.id = undefined;
          else throw error;
        }
      }
    }
    for (const member of group)
      if (member.id !== undefined)
        member.assignments = (await clean.groups.heartbeat(member.group, member.id)).assignments;
  }
  clock.jump(SESSION_MS + 1_000);
  await settle(members);
  // One lease write fails between a member's renewal and its leases', and the lease lapses while the
  // member lives on: its next heartbeats must take the partition back.
  const [m1, m2] = members
    .filter((m) => m.group === 'chaos-group' && m.id !== undefined)
    .sort((a, b) => b.assignments.length - a.assignments.length);
  if (m1?.id !== undefined && m2?.id !== undefined) {
    const flaky = new OneLeaseWriteFails(storage.meta);
    const throughFlaky = createServices({ ...storage, meta: flaky }, clock);
    m1.assignments = (await clean.groups.heartbeat(m1.group, m1.id)).assignments;
    await clean.groups.heartbeat(m2.group, m2.id);
    clock.jump(2_000);
    await clean.groups.heartbeat(m2.group, m2.id);
    flaky.armed = true;
    await throughFlaky.groups.heartbeat(m1.group, m1.id);
    clock.jump(QUIET_SESSION_MS - 1_500);
    for (let round = 0; round < 2; round++) {
      await clean.groups.heartbeat(m1.group, m1.id);
      await clean.groups.heartbeat(m2.group, m2.id);
    }
  }
  // The other group's members sat the pause out: they join again and settle.
  await settle(members.filter((m) => m.group !== 'chaos-group'));
  // The topic is re-created while the group holds its partitions; a commit lands on the new
  // incarnation; its owner leaves: the member taking the partition over must get that commit.
  const holders = members.filter((m) => m.group === 'chaos-re-group' && m.id !== undefined);
  await recreate();
  for (const member of holders) {
    const view = await clean.groups.heartbeat(member.group, member.id as string);
    member.assignments = view.assignments;
  }
  const owner = holders.find((m) => m.assignments.some((a) => a.partition === 0));
  const heir = holders.find((m) => m !== owner);
  if (owner?.id !== undefined && heir?.id !== undefined) {
    const held = owner.assignments.find((a) => a.partition === 0) as { epoch: number };
    const before = incarnation;
    await clean.groups.commit(owner.group, owner.id, [
      { topic: RECREATED, partition: 0, offset: 7, epoch: held.epoch },
    ]);
    attemptedCommits.set(
      `${owner.group}/0`,
      new Set([...(attemptedCommits.get(`${owner.group}/0`) ?? []), 7]),
    );
    tell(0, `commit of ${short(owner.id)}: ${RECREATED}/0 offset 7 at epoch ${held.epoch}: acknowledged`);
    if (before === incarnation) committedIn.set(0, incarnation);
    await clean.groups.leave(owner.group, owner.id);
    tell(undefined, `${short(owner.id)} left`);
    owner.id = undefined;
    const since = incarnation;
    const view = await clean.groups.heartbeat(heir.group, heir.id);
    checkHandOver(heir, 'heartbeat', heir.assignments, { ...view, memberId: heir.id }, since);
    heir.assignments = view.assignments;
    await settle(holders);
  }
  for (const group of ['chaos-group', 'chaos-re-group']) {
    const description = await clean.groups.describe(group);
    for (const p of description.partitions) {
      if (p.owner === null)
        violations.push(`${group}: ${p.topic}/${p.partition} has no owner with members heartbeating`);
      const sentOffsets = attemptedCommits.get(`${group}/${p.partition}`);
      if (p.committedOffset !== null && !sentOffsets?.has(p.committedOffset))
        violations.push(
          `${group}: offset ${p.committedOffset} of ${p.topic}/${p.partition} was never sent by a member`,
        );
      if (
        group === 'chaos-re-group' &&
        committedIn.get(p.partition) === incarnation &&
        p.committedOffset === null
      )
        violations.push(
          `${group}: the acknowledged commit on ${p.topic}/${p.partition} of the current incarnation is gone\n    its story in ${RE_GROUP}, oldest first:\n${storyOf(p.partition)}`,
        );
    }
  }

  // ---- Garbage: janitor passes that each run out of time, alone, must still collect it ----
  clock.jump(24 * HOUR);
  const bounded = createServices({ ...storage, meta: new TickingMetaStore(storage.meta, clock) }, clock, {
    janitor: { owner: JANITOR, compactAfterMs: 0, graceMs: 0 },
  }).janitor;
  for (let pass = 0; pass < 30; pass++) await bounded.runOnce(clock.now() + 60_000);
  /** Every object an index entry of a live topic points at. */
  const referencedObjects = async () => {
    const referenced = new Set<string>();
    for (const topic of [...TOPICS.map((t) => t.name), RECREATED, DEAD_LETTERS]) {
      const { topicId, partitions } = await clean.topics.requireTopic(topic);
      for (let partition = 0; partition < partitions; partition++) {
        const index = await storage.meta.query(partitionPk(topicId, partition), {
          from: FIRST_BATCH_SK,
          to: LAST_BATCH_SK,
          consistent: true,
        });
        for (const entry of index.items) referenced.add(entry.objectKey as string);
      }
    }
    return referenced;
  };
  let referenced = await referencedObjects();
  const horizon = clock.now() - COMMIT_WINDOW_MS;
  for await (const key of allObjects(storage, 'data/')) {
    if (!referenced.has(key) && objectKeyTime(key) < horizon)
      violations.push(
        `data object ${key} survived deadline-bounded janitor passes with nothing pointing at it`,
      );
  }
  // Time retention: everything in chaos-t is past retention by now, whatever its records claimed.
  for (let partition = 0; partition < 2; partition++) {
    const range = await clean.log.offsets('chaos-t', partition);
    if (range.logStartOffset !== range.highWatermark)
      violations.push(
        `chaos-t/${partition}: retention is stuck at ${range.logStartOffset} of ${range.highWatermark}`,
      );
  }

  // ---- Then unbounded passes until every deleted topic is cleaned: nothing may be left over ----
  const finalJanitor = createServices(storage, clock, {
    janitor: { owner: JANITOR, compactAfterMs: 0, graceMs: 0 },
  }).janitor;
  for (let run = 0; run < 100; run++) {
    await finalJanitor.runOnce();
    clock.jump(10 * 60 * 1000);
    if ((await storage.meta.query(DELETED_TOPICS_PK, { limit: 1 })).items.length === 0) break;
  }
  await finalJanitor.runOnce();
  referenced = await referencedObjects();
  for await (const key of allObjects(storage, '')) {
    if (!referenced.has(key)) violations.push(`object ${key} survived GC with nothing pointing at it`);
  }
  for (const { id, partitions } of deletedTopicIds) {
    for (let partition = 0; partition < partitions; partition++) {
      if ((await storage.meta.query(partitionPk(id, partition), { limit: 1 })).items.length > 0)
        violations.push(`deleted topic ${id} still has items in partition ${partition}`);
    }
  }
  await storage.close();
  const plans = [plan, janitorPlan, deliveryPlan];
  return {
    seed: options.seed,
    operations,
    faults: plans.reduce((n, p) => n + totalFaults(p), 0),
    faultsByKind: Object.fromEntries(
      [...new Set(plans.flatMap((p) => Object.keys(p.injected)))].map((kind) => [
        kind,
        plans.reduce((n, p) => n + (p.injected[kind] ?? 0), 0),
      ]),
    ),
    acknowledged: acked.size + recreatedAcked.size,
    deletedTopics: deletedTopicIds.length,
    windowExceeded,
    deliveries: calls.length,
    violations,
  };
}

async function* allObjects(storage: Backend, prefix: string): AsyncGenerator<string> {
  let startAfter: string | undefined;
  do {
    const page = await storage.objects.list(prefix, { startAfter });
    for (const object of page.objects) yield object.key;
    startAfter = page.next;
  } while (startAfter !== undefined);
}
