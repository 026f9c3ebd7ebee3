/**
 * The deliverer (DESIGN §12): delivers one partition of one subscription to its target, in offset
 * order, until it is caught up. The same code runs in the local server (woken by the commit notifier)
 * and in a Lambda function on AWS (woken by the table's stream, or the janitor's sweep).
 *
 * One run: take the partition's lease in the group `subscription:<name>` (fails fast when another
 * deliverer holds it), then repeat: read the configuration (a disabled or deleted subscription stops
 * the run), fetch from the position, wait up to `maxBatchingWindowMs` for `batchSize` records (and
 * read the configuration again after waiting), invoke the target, act on the outcome, commit. When
 * nothing is left it releases the lease and checks the high watermark once more, so a record
 * committed while it was releasing is not left waiting.
 *
 * Outcomes (Lambda's event source mappings on streams, and DESIGN §12):
 * - success: the position moves past the batch, committed with the status in one lease write;
 * - partial (`batchItemFailures`): the position moves to the lowest failed offset, and that record
 *   counts one failed attempt;
 * - failure (an error, a non-2xx, an unreadable response): with `bisectBatchOnError` a batch of more
 *   than one record is halved and tried again at once — halving counts no attempt, and the halves stay
 *   small until delivery passes the end of the batch that failed — otherwise it counts one attempt and
 *   waits (exponential backoff with jitter) before trying again;
 * - after `maxRetryAttempts` retries (attempts > maxRetryAttempts) the failing records are produced to
 *   the dead-letter topic with provenance headers (client/wire/dead-letter.ts), then committed past. Without a
 *   dead-letter topic the configuration has no maxRetryAttempts (subscriptions.ts), so a failing batch
 *   is retried forever, visibly: status shows its attempts and last error.
 * - a record that cannot fit in an event (over MAX_EVENT_BYTES once base64'd) fails deterministically:
 *   it goes to the dead-letter topic at once when there is one; otherwise it is retried as any failure.
 *
 * Invariants:
 * - Order per partition: the position only grows, and every record below it was delivered (the target
 *   said so) or dead-lettered (its copy acknowledged) first. Delivery is at least once: a crash between
 *   an invocation and its commit invokes the same batch again, with the same idempotency key when it
 *   starts at the same offset.
 * - Fencing: every write is a lease renewal at the claim's epoch; a deliverer whose lease was taken
 *   (expiry), reset or deleted stops with `lease-lost` and writes nothing more.
 * - The lease outlives what a deliverer may do between renewals: it is renewed before every batching
 *   wait and every invocation, and lasts longer than the longest of them.
 */
import { createHash } from 'node:crypto';
import type { ProduceRecord } from '../../client/wire/binary.ts';
import { deadLetterHeaders } from '../../client/wire/dead-letter.ts';
import { MAX_BATCH_BYTES, MAX_FETCH_MAX_BYTES, MAX_RECORDS_PER_REQUEST } from '../../client/wire/limits.ts';
import { StreamError } from '../core/errors.ts';
import {
  type GroupService,
  type LeaseStatus,
  type PartitionLease,
  subscriptionGroup,
} from '../core/groups.ts';
import type { FetchedRecord, LogService } from '../core/log-types.ts';
import type { SchemaRegistryService } from '../core/schemas.ts';
import type { TopicServiceImpl } from '../core/topics.ts';
import type { Clock } from '../ports/clock.ts';
import { idempotencyKeyOf, parseBatchResponse, toKafkaEvent } from './kafka-event.ts';
import {
  type DeliveryStatus,
  deliveryStatusOf,
  leaseOffsetCounts,
  type StoredSubscription,
  type SubscriptionService,
} from './subscriptions.ts';
import { MAX_EVENT_BYTES, type Target } from './target.ts';

/** A lease outlasts the longest batching window (300 s) plus an invocation (Lambda's 15 min at most is not waited on: invocations are bounded by the target's timeout). */
export const DEFAULT_DELIVERY_LEASE_MS = 10 * 60_000;
export const DEFAULT_BACKOFF = { initialMs: 1_000, maxMs: 60_000 } as const;

export interface DelivererOptions {
  /** This deliverer's identity on leases: stable per process, so a restart takes its own lease back. */
  owner: string;
  leaseMs?: number;
  backoff?: { initialMs: number; maxMs: number };
  /** The Kafka listener's address for the event's `bootstrapServers`, or '' (default). */
  bootstrapServers?: string;
}

export interface DelivererDeps {
  subscriptions: Pick<SubscriptionService, 'read'>;
  groups: GroupService;
  log: Pick<LogService, 'fetch' | 'produce' | 'offsets'>;
  topics: Pick<TopicServiceImpl, 'requireTopic'>;
  clock: Clock;
  targetFor(subscription: StoredSubscription): Target;
  /** Which of these ids the schema registry issued (values framed with them carry schema metadata). */
  knownSchemaIds?(ids: readonly number[]): Promise<ReadonlySet<number>>;
  /**
   * Resolves when `topicId`/`partition` may have new records, or after `ms` (the commit notifier
   * locally). Default: waits `ms`.
   */
  waitForRecords?(topicId: string, partition: number, ms: number, signal?: AbortSignal): Promise<void>;
  /** Every delivery attempt and its outcome, for logs and metrics. */
  onEvent?(event: DeliveryEvent): void;
}

export type DeliveryEvent =
  | {
      type: 'delivered';
      subscription: string;
      partition: number;
      firstOffset: number;
      records: number;
      latencyMs: number;
    }
  | {
      type: 'failed';
      subscription: string;
      partition: number;
      firstOffset: number;
      records: number;
      attempts: number;
      error: string;
    }
  | {
      type: 'dead-lettered';
      subscription: string;
      partition: number;
      firstOffset: number;
      records: number;
      error: string;
    };

export type RunOutcome =
  /** Nothing left to deliver; the lease is released. */
  | 'caught-up'
  /** Another deliverer holds the partition. */
  | 'busy'
  | 'disabled'
  /** The subscription, its topic or the partition does not exist. */
  | 'deleted'
  /** The signal or the deadline ended the run; the lease is released, the position saved. */
  | 'stopped'
  /** The lease was taken, reset or deleted under this deliverer; it wrote nothing after that. */
  | 'lease-lost';

export interface RunOptions {
  signal?: AbortSignal;
  /** Stop (releasing the lease) once the clock passes this; a Lambda deliverer's remaining time. */
  deadline?: number;
}

/** Backoff before the attempt after `attempts` failures: doubling from initialMs up to maxMs, ±20%. */
export function backoffDelay(attempts: number, backoff: { initialMs: number; maxMs: number }): number {
  const base = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

/**
 * The event body for the longest prefix of `records` that fits in MAX_EVENT_BYTES: the records are
 * serialized one by one and joined, so the size is exact and the body is built once.
 */
export function eventBody(
  topic: string,
  partition: number,
  records: readonly FetchedRecord[],
  bootstrapServers: string,
  schemaIdOf?: (id: number) => string | undefined,
): { body: string; count: number; firstBytes: number } {
  const event = toKafkaEvent({ topic, partition, records, bootstrapServers, schemaIdOf });
  const key = `${topic}-${partition}`;
  const head = `{"eventSource":"SelfManagedKafka","bootstrapServers":${JSON.stringify(bootstrapServers)},"records":{${JSON.stringify(key)}:[`;
  const tail = ']}}';
  let size = Buffer.byteLength(head) + Buffer.byteLength(tail);
  const parts: string[] = [];
  let firstBytes = 0;
  for (const record of event.records[key] ?? []) {
    const part = JSON.stringify(record);
    const bytes = Buffer.byteLength(part) + (parts.length > 0 ? 1 : 0);
    if (parts.length === 0) firstBytes = size + bytes;
    if (size + bytes > MAX_EVENT_BYTES) break;
    size += bytes;
    parts.push(part);
  }
  return { body: `${head}${parts.join(',')}${tail}`, count: parts.length, firstBytes };
}

/** Candidate Confluent schema ids: keys and values that start with the magic byte 0 and 4 more bytes. */
function framedIds(records: readonly FetchedRecord[]): number[] {
  const ids = new Set<number>();
  for (const record of records) {
    for (const bytes of [record.key, record.value]) {
      if (bytes !== null && bytes.length >= 5 && bytes[0] === 0) {
        ids.add(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getInt32(1));
      }
    }
  }
  return [...ids];
}

/** Records of a dead-letter copy, split into produce requests the log accepts. */
function deadLetterRequests(records: ProduceRecord[]): ProduceRecord[][] {
  const requests: ProduceRecord[][] = [];
  let current: ProduceRecord[] = [];
  let bytes = 0;
  // Half the batch bound leaves room for the record framing the byte count here leaves out.
  const budget = Math.floor(MAX_BATCH_BYTES / 2);
  for (const record of records) {
    const size =
      (record.key?.length ?? 0) +
      (record.value?.length ?? 0) +
      record.headers.reduce((n, h) => n + h.key.length * 3 + (h.value?.length ?? 0), 0);
    if (current.length > 0 && (bytes + size > budget || current.length >= MAX_RECORDS_PER_REQUEST)) {
      requests.push(current);
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += size;
  }
  if (current.length > 0) requests.push(current);
  return requests;
}

const utf8 = new TextEncoder();

/** The least a deliverer's fetch asks for. */
const MIN_FETCH_BYTES = 64 * 1024;

/** About what a record takes in a batch: its bytes and a little framing. */
const storedSize = (record: FetchedRecord): number =>
  (record.key?.length ?? 0) +
  (record.value?.length ?? 0) +
  record.headers.reduce((n, h) => n + h.key.length + (h.value?.length ?? 0), 0) +
  16;

/** How long the registry's highest id is trusted before a larger candidate makes it read again. */
const SCHEMA_ID_REFRESH_MS = 10_000;

/**
 * `knownSchemaIds` over the schema registry: ids are issued in order from 1 and never deleted, so an
 * id is the registry's exactly when it is at most the highest issued. That one number is read, at most
 * once per SCHEMA_ID_REFRESH_MS and only when a candidate is above it, so values that merely start with
 * a zero byte (any binary payload may) cost no read per record.
 */
export function schemaIdsKnownTo(schemas: Pick<SchemaRegistryService, 'highestSchemaId'>, clock: Clock) {
  let highest = 0;
  let readAt = Number.NEGATIVE_INFINITY;
  return async (ids: readonly number[]): Promise<ReadonlySet<number>> => {
    if (ids.some((id) => id > highest) && clock.now() - readAt >= SCHEMA_ID_REFRESH_MS) {
      highest = await schemas.highestSchemaId();
      readAt = clock.now();
    }
    return new Set(ids.filter((id) => id >= 1 && id <= highest));
  };
}

export async function deliverPartition(
  deps: DelivererDeps,
  options: DelivererOptions,
  name: string,
  partition: number,
  run: RunOptions = {},
): Promise<RunOutcome> {
  const { subscriptions, groups, log, clock } = deps;
  const leaseMs = options.leaseMs ?? DEFAULT_DELIVERY_LEASE_MS;
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const group = subscriptionGroup(name);
  const stopRequested = () =>
    run.signal?.aborted === true || (run.deadline !== undefined && clock.now() >= run.deadline);

  for (;;) {
    let config = await subscriptions.read(name);
    if (config === undefined) return 'deleted';
    if (!config.enabled) return 'disabled';
    let lease: PartitionLease | undefined;
    try {
      lease = await groups.claimPartition(group, config.topic, partition, options.owner, leaseMs);
    } catch (error) {
      if (
        error instanceof StreamError &&
        (error.code === 'TOPIC_NOT_FOUND' || error.code === 'PARTITION_NOT_FOUND')
      ) {
        return 'deleted';
      }
      throw error;
    }
    if (lease === undefined) return 'busy';
    const held = lease;
    const previous: DeliveryStatus | undefined = deliveryStatusOf(lease.status, config.id);
    // An offset on the lease counts only if it belongs to this creation of the subscription.
    let position =
      (leaseOffsetCounts(lease.status, config.id) ? lease.committedOffset : null) ??
      (lease.topicId === config.topicId ? config.startOffsets[partition] : undefined) ??
      0;
    const status: DeliveryStatus = {
      id: config.id,
      attempts: previous?.headOffset === position ? previous.attempts : 0,
      headOffset: position,
      lastError: previous?.lastError ?? null,
      lastErrorTime: previous?.lastErrorTime ?? null,
      lastDeliveryTime: previous?.lastDeliveryTime ?? null,
      deadLettered: previous?.deadLettered ?? 0,
      pendingDeadLetter: previous?.headOffset === position ? (previous.pendingDeadLetter ?? null) : null,
    };
    const state = { lease: held };
    /** Mean stored size of the records fetched last; sizes the next fetch. */
    let recordBytes = 1_024;
    /** The high watermark the last fetch saw. */
    let knownHighWatermark = Number.POSITIVE_INFINITY;
    const saved = (): { committedOffset: number; status: LeaseStatus } => ({
      committedOffset: position,
      status: { ...status, headOffset: position } as unknown as LeaseStatus,
    });
    const renew = async () => {
      state.lease = await groups.renewPartition(group, state.lease, leaseMs, saved());
    };
    const renewIfHalfGone = async () => {
      if (state.lease.leaseExpiresAt - clock.now() < leaseMs / 2) await renew();
    };

    let outcome: RunOutcome | 'recheck';
    try {
      outcome = await deliverHeld();
    } catch (error) {
      if (error instanceof StreamError && error.code === 'LEASE_LOST') return 'lease-lost';
      throw error;
    }
    if (outcome !== 'recheck') return outcome;
    // Released with nothing left: a commit that landed meanwhile found the lease held and woke no one.
    const { highWatermark } = await log.offsets(config.topic, partition);
    if (highWatermark <= position) return 'caught-up';
    // More arrived, but the run is out of time: 'stopped' makes its caller carry on.
    if (stopRequested()) return 'stopped';

    async function deliverHeld(): Promise<RunOutcome | 'recheck'> {
      let limit = (config as StoredSubscription).batchSize;
      /** While bisecting: the last offset of the batch that failed; full batches resume past it. */
      let bisectUntil = -1;
      /** Invocations in a row that never reached the target (their backoff grows like attempts'). */
      let unreached = 0;
      for (let round = 0; ; round++) {
        if (stopRequested()) {
          await groups.releasePartition(group, state.lease, saved());
          return 'stopped';
        }
        if (round > 0 && position >= knownHighWatermark) {
          // The last fetch reached the high watermark and all of it was delivered: nothing is left
          // to fetch. Release; the re-check after it reads the high watermark afresh.
          await groups.releasePartition(group, state.lease, saved());
          return 'recheck';
        }
        // The configuration is read before every batch, the first included (a delete may have landed
        // between the read before the claim and the claim), so a change takes effect at the next batch.
        const current = await readConfig();
        if (typeof current === 'string') return current;
        config = current;
        limit = bisectUntil >= position ? Math.min(limit, config.batchSize) : config.batchSize;

        const pending = status.pendingDeadLetter;
        if (pending != null && pending.through >= position) {
          // Out of attempts already: the copy to the dead-letter topic is finished, not the target called.
          const owed = await fetchFrom(position, pending.through - position + 1);
          if (owed.length > 0) {
            await sendToDeadLetter(owed, pending.error);
            continue;
          }
        }
        let records = await fetchFrom(position, limit);
        if (records.length === 0) {
          await groups.releasePartition(group, state.lease, saved());
          return 'recheck';
        }
        if (records.length < limit && config.maxBatchingWindowMs > 0) {
          const until = Math.min(
            clock.now() + config.maxBatchingWindowMs,
            run.deadline ?? Number.POSITIVE_INFINITY,
          );
          let gotMore = true;
          let waited = false;
          while (records.length < limit && clock.now() < until && !stopRequested()) {
            const last = records[records.length - 1] as FetchedRecord;
            // Records a fetch left out for its byte budget are read at once; only the log's end is
            // waited on, in slices of a quarter lease, renewing as it goes: a window may outlast a lease.
            if (!gotMore || last.offset + 1 >= knownHighWatermark) {
              await waitForRecords(state.lease.topicId, Math.min(until - clock.now(), leaseMs / 4));
              await renewIfHalfGone();
              waited = true;
            }
            const more = await fetchFrom(last.offset + 1, limit - records.length);
            gotMore = more.length > 0;
            records = records.concat(more);
          }
          // A window may be long: a subscription disabled or deleted meanwhile invokes nothing more.
          if (waited) {
            const current = await readConfig();
            if (typeof current === 'string') return current;
            config = current;
          }
        }
        records = records.slice(0, limit);

        const known =
          deps.knownSchemaIds === undefined ? undefined : await deps.knownSchemaIds(framedIds(records));
        const { body, count, firstBytes } = eventBody(
          config.topic,
          partition,
          records,
          options.bootstrapServers ?? '',
          known === undefined ? undefined : (id) => (known.has(id) ? String(id) : undefined),
        );
        const first = (records[0] as FetchedRecord).offset;
        if (count === 0) {
          // Retrying cannot make the record smaller: it goes to the dead-letter topic now if there is one.
          const error = `record ${first} makes an event of ${firstBytes} bytes, over the ${MAX_EVENT_BYTES}-byte limit of a target's event`;
          await failed(records.slice(0, 1), error, { deadLetterNow: config.deadLetterTopic !== null });
          continue;
        }
        const batch = records.slice(0, count);
        const lastOffset = (batch[batch.length - 1] as FetchedRecord).offset;
        await renewIfHalfGone();
        const started = clock.now();
        const result = await deps.targetFor(config).deliver(
          {
            subscription: name,
            idempotencyKey: idempotencyKeyOf({
              subscription: name,
              topicId: state.lease.topicId,
              partition,
              firstOffset: first,
              lastOffset,
            }),
            body,
          },
          run.signal,
        );
        if (run.signal?.aborted && !result.ok) {
          await groups.releasePartition(group, state.lease, saved());
          return 'stopped';
        }
        const read = result.ok
          ? parseBatchResponse(
              result.response,
              batch.map((r) => r.offset),
            )
          : ({ kind: 'invalid', reason: result.error } as const);
        if (result.ok) unreached = 0;
        if (read.kind === 'success') {
          position = lastOffset + 1;
          status.attempts = 0;
          status.lastDeliveryTime = clock.now();
          deps.onEvent?.({
            type: 'delivered',
            subscription: name,
            partition,
            firstOffset: first,
            records: batch.length,
            latencyMs: clock.now() - started,
          });
          await renew();
          continue;
        }
        if (read.kind === 'partial') {
          const failedAt = batch.findIndex((r) => r.offset === read.failedOffset);
          if (read.failedOffset > position) {
            position = read.failedOffset;
            status.attempts = 0;
            status.lastDeliveryTime = clock.now();
          }
          await failed(
            batch.slice(failedAt, failedAt + 1),
            `the target reported record ${read.failedOffset} in batchItemFailures`,
            {
              deadLetterNow: false,
            },
          );
          continue;
        }
        const error = result.ok
          ? `the target answered an unreadable batch response: ${read.reason}`
          : result.error;
        if (!result.ok && result.reached === false) {
          // Throttled or a service fault before the target ran: wait and try again, uncounted.
          note(error);
          await renew();
          unreached += 1;
          await backOff(backoffDelay(unreached, backoff));
          continue;
        }
        if (config.bisectBatchOnError && batch.length > 1) {
          limit = Math.ceil(batch.length / 2);
          bisectUntil = Math.max(bisectUntil, lastOffset);
          note(error);
          deps.onEvent?.({
            type: 'failed',
            subscription: name,
            partition,
            firstOffset: first,
            records: batch.length,
            attempts: status.attempts,
            error,
          });
          await renew();
          continue;
        }
        await failed(batch, error, { deadLetterNow: false });
      }
    }

    /** The configuration read again, or the outcome that ends the run (disabled, deleted, re-created). */
    async function readConfig(): Promise<StoredSubscription | RunOutcome> {
      const current = await subscriptions.read(name);
      if (current === undefined) {
        // Deleted: the claim may have re-created a lease the delete removed; it goes.
        await groups.dropPartition(group, state.lease);
        return 'deleted';
      }
      if (current.id !== (config as StoredSubscription).id) {
        // Deleted and created again: the lease goes back as claimed (offset and status are the new
        // subscription's, or ignored by it), with nothing of this run written.
        await groups.releasePartition(group, state.lease);
        return 'deleted';
      }
      if (!current.enabled) {
        await groups.releasePartition(group, state.lease, saved());
        return 'disabled';
      }
      return current;
    }

    function note(error: string) {
      status.lastError = error.replace(/\s+/g, ' ').slice(0, 1_000);
      status.lastErrorTime = clock.now();
    }

    /** One failed attempt at `records` (which start at the position): count it, then dead-letter or back off. */
    async function failed(records: FetchedRecord[], error: string, how: { deadLetterNow: boolean }) {
      const cfg = config as StoredSubscription;
      status.attempts += 1;
      note(error);
      const first = (records[0] as FetchedRecord).offset;
      deps.onEvent?.({
        type: 'failed',
        subscription: name,
        partition,
        firstOffset: first,
        records: records.length,
        attempts: status.attempts,
        error,
      });
      const exhausted = cfg.maxRetryAttempts !== null && status.attempts > cfg.maxRetryAttempts;
      if (cfg.deadLetterTopic !== null && (how.deadLetterNow || exhausted)) {
        await sendToDeadLetter(records, error);
        return;
      }
      await renew();
      await backOff(backoffDelay(status.attempts, backoff));
    }

    /**
     * Copies `records` (from the position on) to the dead-letter topic and commits past them. Marked
     * pending first, so a copy that fails is finished by the next run without another call to the target.
     */
    async function sendToDeadLetter(records: FetchedRecord[], error: string) {
      const cfg = config as StoredSubscription;
      const first = (records[0] as FetchedRecord).offset;
      const last = (records[records.length - 1] as FetchedRecord).offset;
      status.pendingDeadLetter = { through: last, error };
      try {
        await deadLetter(cfg, records, error);
      } catch (fault) {
        // The run ends on the fault (nothing is committed past the records); status says why.
        note(
          `dead letter to ${cfg.deadLetterTopic} failed: ${fault instanceof Error ? fault.message : String(fault)}`,
        );
        await renew().catch(() => {});
        throw fault;
      }
      position = last + 1;
      status.attempts = 0;
      status.pendingDeadLetter = null;
      status.deadLettered += records.length;
      deps.onEvent?.({
        type: 'dead-lettered',
        subscription: name,
        partition,
        firstOffset: first,
        records: records.length,
        error,
      });
      await renew();
    }

    /** Waits before the next attempt, holding the lease: in slices, renewing as it goes; ends early at the deadline or signal. */
    async function backOff(ms: number) {
      const until = Math.min(clock.now() + ms, run.deadline ?? Number.POSITIVE_INFINITY);
      while (clock.now() < until && !stopRequested()) {
        await sleep(Math.min(until - clock.now(), leaseMs / 4));
        await renewIfHalfGone();
      }
    }

    async function deadLetter(cfg: StoredSubscription, records: FetchedRecord[], error: string) {
      const copies: ProduceRecord[] = records.map((record) => ({
        key: record.key,
        value: record.value,
        headers: [
          ...record.headers,
          ...Object.entries(
            deadLetterHeaders({
              topic: cfg.topic,
              partition,
              offset: record.offset,
              attempts: status.attempts,
              error,
            }),
          ).map(([key, value]) => ({ key, value: utf8.encode(value) })),
        ],
      }));
      const requests = deadLetterRequests(copies);
      const first = (records[0] as FetchedRecord).offset;
      for (const [index, request] of requests.entries()) {
        // The same failed records give the same key: a retried copy is written once.
        const idempotencyKey = `dlt-${createHash('sha256').update(`${cfg.id}/${partition}/${first}/${records.length}/${index}`).digest('hex').slice(0, 48)}`;
        await log.produce({ topic: cfg.deadLetterTopic as string, records: request, idempotencyKey });
      }
    }

    async function fetchFrom(offset: number, most: number): Promise<FetchedRecord[]> {
      const topic = (config as StoredSubscription).topic;
      try {
        // Read about what the batch needs, by the size of the records seen so far: a fetch of the
        // largest size for a batch of a few small records would read objects only to drop them.
        const wanted = Math.ceil(most * recordBytes * 1.25);
        const maxBytes = Math.min(MAX_FETCH_MAX_BYTES, Math.max(MIN_FETCH_BYTES, wanted));
        const fetched = await log.fetch({ topic, partition, offset, maxBytes });
        knownHighWatermark = fetched.highWatermark;
        const records = fetched.records.slice(0, most);
        if (records.length > 0) {
          const bytes = records.reduce((n, r) => n + storedSize(r), 0);
          recordBytes = Math.max(1, Math.round(bytes / records.length));
        }
        return records;
      } catch (error) {
        if (!(error instanceof StreamError) || error.code !== 'OFFSET_OUT_OF_RANGE') throw error;
        const range = await log.offsets(topic, partition);
        if (offset < range.logStartOffset) {
          // Retention or deleting records (delete-records.ts) removed records before they were
          // delivered: delivery carries on at the log start.
          note(
            `records ${offset} to ${range.logStartOffset - 1} were removed before delivery (retention, or records deleted)`,
          );
          if (offset === position) position = range.logStartOffset;
          return fetchFrom(range.logStartOffset, most);
        }
        if (offset > range.highWatermark && offset === position) {
          // A start offset above the log (a topic re-created since): begin at its end.
          position = range.highWatermark;
          return [];
        }
        return [];
      }
    }

    async function waitForRecords(topicId: string, ms: number) {
      if (deps.waitForRecords !== undefined) await deps.waitForRecords(topicId, partition, ms, run.signal);
      else await sleep(ms);
    }

    function sleep(ms: number): Promise<void> {
      if (run.signal === undefined) return clock.sleep(ms);
      const signal = run.signal;
      if (signal.aborted) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener('abort', done);
          resolve();
        };
        signal.addEventListener('abort', done);
        void clock.sleep(ms).then(done);
      });
    }
  }
}
