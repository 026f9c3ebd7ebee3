/**
 * The consumer: joins a consumer group, heartbeats to keep and balance its partition leases, fetches
 * each owned partition in order and hands messages to `eachMessage` or `eachBatch`, and commits the
 * position (the next offset to read) with the lease's epoch, so a consumer that lost a partition can
 * never overwrite the new owner's progress.
 *
 * Delivery is at-least-once: a partition moves to another member from the last committed offset, so
 * messages processed after the last commit are seen again. Within a partition, messages are handed
 * over strictly in offset order, one at a time.
 *
 * A message whose handler (or value deserializer) fails is logged and retried with backoff `retry.retries`
 * times; then it goes to the `deadLetterTopic` and consumption moves past it, or, without one, the
 * consumer crashes: it stops, commits up to (not past) the failed message, leaves the group and emits
 * `consumer.crash`, and rejoins only if `restartOnFailure` says so. Nothing is skipped without a dead letter.
 */

import { randomUUID } from 'node:crypto';
import { atRecord, StreambedError } from './errors.ts';
import { Producer } from './producer.ts';
import { type RetryOptions, sleep, withRetries } from './retry.ts';
import type { AsyncSerde } from './serdes.ts';
import { segment, type Transport } from './transport.ts';
import { BATCHES_CONTENT_TYPE } from './wire/binary.ts';
import { DEAD_LETTER_HEADERS, deadLetterHeaders } from './wire/dead-letter.ts';
import { decodeRecordBatch, splitBatches } from './wire/record-batch.ts';

export interface ConsumedMessage<V = Buffer> {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: V | null;
  headers: Record<string, Buffer | null>;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface EachMessagePayload<V = Buffer> extends TopicPartition {
  message: ConsumedMessage<V>;
}

export interface EachBatchPayload<V = Buffer> {
  batch: TopicPartition & { highWatermark: number; messages: ConsumedMessage<V>[] };
  /** Marks a message as processed (the position moves past it). By default all are, on return. */
  resolveOffset(offset: number): void;
  /** Commits positions now if auto-commit is due. */
  commitOffsetsIfNecessary(): Promise<void>;
  isRunning(): boolean;
}

/** Where the consumer reports handler failures. Fields name the message, never its key or value. */
export interface ConsumerLogger {
  error(message: string, fields: Record<string, unknown>): void;
  warn(message: string, fields: Record<string, unknown>): void;
}

/** KafkaJS's `consumer.crash` event: the consumer stopped after a message failed every retry. */
export interface ConsumerCrashEvent {
  type: 'consumer.crash';
  timestamp: number;
  payload: { error: unknown; groupId: string; restart: boolean };
}

/** Writes one JSON line per event to stderr. */
const stderrLogger: ConsumerLogger = {
  error: (message, fields) =>
    process.stderr.write(`${JSON.stringify({ level: 'error', message, ...fields })}\n`),
  warn: (message, fields) =>
    process.stderr.write(`${JSON.stringify({ level: 'warn', message, ...fields })}\n`),
};

/** How often a failing handler is retried, unless `retry` says otherwise (KafkaJS's consumer defaults). */
const HANDLER_RETRY_DEFAULTS: RetryOptions = { retries: 5, initialRetryTimeMs: 300, maxRetryTimeMs: 30_000 };

export { DEAD_LETTER_HEADERS };

const errorMessage = (error: unknown) => (error instanceof Error ? error.message : String(error));

type FetchedRecord = ReturnType<typeof decodeRecordBatch>['records'][number];

export interface ConsumerOptions<V = Buffer> {
  groupId: string;
  /** A member that does not heartbeat for this long loses its partitions. Default 10 s. */
  sessionTimeoutMs?: number;
  /** Default 3 s; keep it well under the session timeout. */
  heartbeatIntervalMs?: number;
  /** Commit positions periodically (and before every heartbeat and on disconnect). Default true. */
  autoCommit?: boolean;
  autoCommitIntervalMs?: number;
  /** Soft cap on bytes per fetch. Default 1 MiB. */
  maxBytes?: number;
  /** Long-poll time when a partition has nothing new. Default 1 s. */
  maxWaitMs?: number;
  /** How value bytes become values; may be asynchronous (the Avro serde fetches writer schemas). */
  valueSerde?: AsyncSerde<V>;
  /**
   * Backoff for a failing `eachMessage`/`eachBatch` (and for the consumer's requests): `retries`
   * (default 5) attempts after the first, waits from `initialRetryTimeMs` (default 300 ms) growing by
   * `multiplier` (2) up to `maxRetryTimeMs` (30 s), jittered by ± `factor` (0.2).
   */
  retry?: RetryOptions;
  /** Failed and retried messages are logged here. Default: one JSON line per event on stderr. */
  logger?: ConsumerLogger;
  /**
   * Where a message goes once its retries are exhausted: the same key, value and headers, plus
   * `streambed-dlt-topic`, `-partition`, `-offset`, `-attempts` and `-error`. The consumer then
   * commits past it and moves on. Without it, the consumer crashes instead.
   */
  deadLetterTopic?: string;
  /**
   * Asked after a crash: true rejoins the group and retries from the committed offset (the failed
   * message); false (the default) leaves the consumer stopped.
   */
  restartOnFailure?: (error: unknown) => Promise<boolean>;
  onPartitionsAssigned?: (partitions: TopicPartition[]) => void | Promise<void>;
  onPartitionsRevoked?: (partitions: TopicPartition[]) => void | Promise<void>;
  /** Errors the consumer handled itself (a failed heartbeat, a handler that threw). */
  onError?: (error: unknown) => void;
}

export interface RunOptions<V = Buffer> {
  eachMessage?: (payload: EachMessagePayload<V>) => Promise<void>;
  eachBatch?: (payload: EachBatchPayload<V>) => Promise<void>;
}

interface Owned extends TopicPartition {
  epoch: number;
  /** Next offset to hand over; null until resolved from the committed offset or the reset policy. */
  position: number | null;
  committed: number | null;
  stopped: boolean;
  loop: Promise<void> | undefined;
  /** A seek that the loop has to apply before its next fetch. */
  seekTo: number | undefined;
  /** Aborted when the loop stops, so a handler's backoff does not hold up a revocation or disconnect. */
  abort: AbortController;
}

const key = (tp: TopicPartition) => `${tp.topic}\u0000${tp.partition}`;

export class Consumer<V = Buffer> {
  private readonly topics = new Set<string>();
  private fromBeginning = false;
  private memberId: string | undefined;
  private readonly owned = new Map<string, Owned>();
  private readonly paused = new Set<string>();
  private running = false;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeating: Promise<void> | undefined;
  private lastCommit = 0;
  private handlers: RunOptions<V> = {};
  private readonly logger: ConsumerLogger;
  private deadLetters: Producer | undefined;
  private readonly crashListeners = new Set<(event: ConsumerCrashEvent) => void>();
  /** A crash being handled (leaving, asking restartOnFailure, rejoining). */
  private crashing: Promise<void> | undefined;
  /** Set by disconnect: a crash then does not rejoin. */
  private closed = false;

  /** Event names, as KafkaJS's `consumer.events`. */
  readonly events = { CRASH: 'consumer.crash' } as const;

  constructor(
    private readonly transport: Transport,
    private readonly options: ConsumerOptions<V>,
  ) {
    this.logger = options.logger ?? stderrLogger;
  }

  /** Listens for `consumer.crash`; returns a function that removes the listener. */
  on(eventName: 'consumer.crash', listener: (event: ConsumerCrashEvent) => void): () => void {
    if (eventName !== this.events.CRASH)
      throw new StreambedError('INVALID_REQUEST', `unknown consumer event '${eventName}'`);
    this.crashListeners.add(listener);
    return () => this.crashListeners.delete(listener);
  }

  async subscribe({
    topics,
    topic,
    fromBeginning,
  }: {
    topics?: string[];
    topic?: string;
    fromBeginning?: boolean;
  }): Promise<void> {
    for (const name of [...(topics ?? []), ...(topic ? [topic] : [])]) this.topics.add(name);
    if (fromBeginning !== undefined) this.fromBeginning = fromBeginning;
  }

  /** Joins the group and starts consuming; resolves once the first assignment is running. */
  async run(handlers: RunOptions<V>): Promise<void> {
    if (!handlers.eachMessage && !handlers.eachBatch)
      throw new StreambedError('INVALID_REQUEST', 'run needs eachMessage or eachBatch');
    if (this.topics.size === 0)
      throw new StreambedError('INVALID_REQUEST', 'subscribe to at least one topic before run');
    this.handlers = handlers;
    this.closed = false;
    this.running = true;
    await this.join();
    this.scheduleHeartbeat();
  }

  /** Moves a partition's position; takes effect before its next fetch. */
  seek({ topic, partition, offset }: TopicPartition & { offset: number }): void {
    const owned = this.owned.get(key({ topic, partition }));
    if (owned === undefined)
      throw new StreambedError('INVALID_REQUEST', `${topic}/${partition} is not assigned to this consumer`);
    owned.seekTo = offset;
  }

  pause(partitions: { topic: string; partitions?: number[] }[]): void {
    for (const { topic, partitions: list } of partitions) {
      for (const tp of this.matching(topic, list)) this.paused.add(key(tp));
    }
  }

  resume(partitions: { topic: string; partitions?: number[] }[]): void {
    for (const { topic, partitions: list } of partitions) {
      for (const tp of this.matching(topic, list)) this.paused.delete(key(tp));
    }
  }

  /** The partitions this consumer owns now. */
  assignment(): TopicPartition[] {
    return [...this.owned.values()].map(({ topic, partition }) => ({ topic, partition }));
  }

  /** Commits the given positions (next offsets to read), or every owned partition's position. */
  async commitOffsets(offsets?: (TopicPartition & { offset: number })[]): Promise<void> {
    const list =
      offsets ??
      [...this.owned.values()]
        .filter((o) => o.position !== null && o.position !== o.committed)
        .map((o) => ({ topic: o.topic, partition: o.partition, offset: o.position as number }));
    if (list.length === 0 || this.memberId === undefined) return;
    const body = list.map((o) => {
      const owned = this.owned.get(key(o));
      if (owned === undefined)
        throw new StreambedError('LEASE_LOST', `${o.topic}/${o.partition} is not assigned to this consumer`);
      return { ...o, epoch: owned.epoch };
    });
    for (let i = 0; i < body.length; i += 100) {
      const chunk = body.slice(i, i + 100);
      await withRetries(this.options.retry ?? {}, () =>
        this.transport.json('POST', `/v1/groups/${segment(this.options.groupId)}/offsets`, {
          json: { memberId: this.memberId, offsets: chunk },
        }),
      );
      for (const o of chunk) {
        const owned = this.owned.get(key(o));
        if (owned) owned.committed = o.offset;
      }
    }
    this.lastCommit = Date.now();
  }

  /** Stops fetching, commits positions, leaves the group (its partitions move at once). */
  async disconnect(): Promise<void> {
    this.closed = true;
    await this.crashing;
    if (!this.running) return;
    await this.leave();
  }

  private async leave(): Promise<void> {
    this.running = false;
    clearTimeout(this.heartbeatTimer);
    await this.heartbeating;
    await this.stopLoops([...this.owned.values()]);
    try {
      if (this.options.autoCommit !== false) await this.commitOffsets();
    } catch (error) {
      this.options.onError?.(error);
    }
    if (this.memberId !== undefined) {
      try {
        await this.transport.raw(
          'DELETE',
          `/v1/groups/${segment(this.options.groupId)}/members/${segment(this.memberId)}`,
        );
      } catch (error) {
        this.options.onError?.(error);
      }
    }
    this.owned.clear();
    this.memberId = undefined;
    await this.deadLetters?.disconnect();
    this.deadLetters = undefined;
  }

  /**
   * Handles a message that failed every retry, with no dead-letter topic: its loop has stopped with
   * the position on it. Leaves the group (committing only what was processed), tells the listeners,
   * and rejoins if `restartOnFailure` says so.
   */
  private crash(error: unknown): void {
    if (!this.running) return;
    const leaving = this.leave();
    const crashing = (async () => {
      await leaving;
      let restart = false;
      try {
        restart = !this.closed && ((await this.options.restartOnFailure?.(error)) ?? false);
      } catch (failure) {
        this.logger.error('restartOnFailure threw; the consumer stays stopped', {
          group: this.options.groupId,
          error: errorMessage(failure),
        });
      }
      const event: ConsumerCrashEvent = {
        type: this.events.CRASH,
        timestamp: Date.now(),
        payload: { error, groupId: this.options.groupId, restart },
      };
      for (const listener of this.crashListeners) {
        try {
          listener(event);
        } catch (failure) {
          this.options.onError?.(failure);
        }
      }
      if (!restart || this.closed) return;
      this.running = true;
      try {
        await this.join();
        this.scheduleHeartbeat();
      } catch (failure) {
        this.running = false;
        this.logger.error('rejoining after a crash failed; the consumer stays stopped', {
          group: this.options.groupId,
          error: errorMessage(failure),
        });
      }
    })().finally(() => {
      if (this.crashing === crashing) this.crashing = undefined;
    });
    this.crashing = crashing;
  }

  private matching(topic: string, partitions: number[] | undefined): TopicPartition[] {
    return [...this.owned.values()].filter(
      (o) => o.topic === topic && (partitions === undefined || partitions.includes(o.partition)),
    );
  }

  private async join(): Promise<void> {
    // One member id for this join and all its retries: a retry whose first answer was lost (applied,
    // but no response) is then answered for the member the first attempt created, instead of adding
    // a second member that would hold partitions nobody consumes until its session times out.
    const memberId = randomUUID();
    const joined = await withRetries(this.options.retry ?? {}, () =>
      this.transport.json<{ memberId: string; assignments: Assignment[] }>(
        'POST',
        `/v1/groups/${segment(this.options.groupId)}/members`,
        {
          json: {
            topics: [...this.topics],
            sessionTimeoutMs: this.options.sessionTimeoutMs ?? 10_000,
            memberId,
          },
        },
      ),
    );
    this.memberId = joined.memberId;
    await this.apply(joined.assignments);
  }

  private scheduleHeartbeat(): void {
    if (!this.running) return;
    this.heartbeatTimer = setTimeout(() => {
      this.heartbeating = this.heartbeat().finally(() => this.scheduleHeartbeat());
    }, this.options.heartbeatIntervalMs ?? 3_000);
  }

  private async heartbeat(): Promise<void> {
    try {
      // Commit before the heartbeat: a partition handed over in it then resumes from here.
      if (this.options.autoCommit !== false)
        await this.commitOffsets().catch((error) => this.options.onError?.(error));
      const view = await this.transport.json<{ assignments: Assignment[] }>(
        'POST',
        `/v1/groups/${segment(this.options.groupId)}/members/${segment(this.memberId ?? '')}/heartbeat`,
      );
      if (this.running) await this.apply(view.assignments);
    } catch (error) {
      this.options.onError?.(error);
      if (error instanceof StreambedError && error.code === 'LEASE_LOST' && this.running) {
        // The group forgot this member (it was silent too long): start over as a new member.
        await this.stopLoops([...this.owned.values()]);
        this.owned.clear();
        await this.join().catch((e) => this.options.onError?.(e));
      }
    }
  }

  /** Reconciles owned partitions with the server's assignment. */
  private async apply(assignments: Assignment[]): Promise<void> {
    const next = new Map(assignments.map((a) => [key(a), a]));
    const revoked = [...this.owned.values()].filter((o) => next.get(key(o))?.epoch !== o.epoch);
    if (revoked.length > 0) {
      await this.stopLoops(revoked);
      for (const o of revoked) this.owned.delete(key(o));
      await this.options.onPartitionsRevoked?.(revoked.map(({ topic, partition }) => ({ topic, partition })));
    }
    const added: TopicPartition[] = [];
    for (const a of assignments) {
      if (this.owned.has(key(a))) continue;
      const owned: Owned = {
        ...a,
        position: a.committedOffset,
        committed: a.committedOffset,
        stopped: false,
        loop: undefined,
        seekTo: undefined,
        abort: new AbortController(),
      };
      this.owned.set(key(a), owned);
      owned.loop = this.consume(owned);
      added.push({ topic: a.topic, partition: a.partition });
    }
    if (added.length > 0) await this.options.onPartitionsAssigned?.(added);
  }

  private async stopLoops(list: Owned[]): Promise<void> {
    for (const o of list) {
      o.stopped = true;
      o.abort.abort();
    }
    await Promise.allSettled(list.map((o) => o.loop));
  }

  private async startingOffset(o: Owned): Promise<number> {
    const range = await this.transport.json<{ logStartOffset: number; highWatermark: number }>(
      'GET',
      `/v1/topics/${segment(o.topic)}/partitions/${o.partition}/offsets`,
    );
    return this.fromBeginning ? range.logStartOffset : range.highWatermark;
  }

  /** One partition's loop: fetch in order, hand over, advance the position. */
  private async consume(o: Owned): Promise<void> {
    const live = () => this.running && !o.stopped;
    while (live()) {
      try {
        if (o.seekTo !== undefined) {
          o.position = o.seekTo;
          o.seekTo = undefined;
        }
        if (o.position === null) o.position = await this.startingOffset(o);
        if (this.paused.has(key(o))) {
          await sleep(50);
          continue;
        }
        const response = await this.transport.raw(
          'GET',
          `/v1/topics/${segment(o.topic)}/partitions/${o.partition}/records`,
          {
            query: {
              offset: o.position,
              max_bytes: this.options.maxBytes ?? 1024 * 1024,
              max_wait_ms: this.options.maxWaitMs ?? 1_000,
            },
            accept: BATCHES_CONTENT_TYPE,
          },
        );
        const highWatermark = Number(response.headers.get('streambed-high-watermark'));
        const records: FetchedRecord[] = [];
        for (const batch of splitBatches(response.bytes)) {
          for (const record of decodeRecordBatch(batch).records) {
            if (record.offset >= o.position) records.push(record);
          }
        }
        if (records.length > 0) await this.deliver(o, records, highWatermark, live);
      } catch (error) {
        if (!live()) return;
        if (error instanceof StreambedError && error.code === 'OFFSET_OUT_OF_RANGE') {
          // The position fell out of the log (retention) or past its end: reset like Kafka's
          // auto.offset.reset, to the earliest offset when reading from the beginning, else the latest.
          o.position = await this.startingOffset(o).catch(() => o.position);
          continue;
        }
        this.options.onError?.(error);
        await sleep(200 + Math.random() * 300);
      }
    }
  }

  private async deliver(
    o: Owned,
    records: FetchedRecord[],
    highWatermark: number,
    live: () => boolean,
  ): Promise<void> {
    const tp = { topic: o.topic, partition: o.partition };
    if (this.paused.has(key(o))) return;
    const { eachBatch, eachMessage } = this.handlers;
    if (eachBatch) {
      // The failed message of a batch is the first one the handler did not resolve.
      const unresolved = () => records.filter((r) => r.offset >= (o.position as number));
      await this.handle(
        o,
        live,
        () => unresolved()[0],
        async () => {
          const messages = await this.toMessages(tp, unresolved());
          if (messages.length === 0) return;
          let resolved: number | undefined;
          try {
            await eachBatch({
              batch: { ...tp, highWatermark, messages },
              resolveOffset: (offset) => {
                resolved = offset;
              },
              commitOffsetsIfNecessary: () => this.commitIfDue(),
              isRunning: live,
            });
            // Returning resolves every message the handler did not resolve itself.
            resolved ??= (messages.at(-1) as ConsumedMessage<V>).offset;
          } finally {
            if (resolved !== undefined && live() && o.seekTo === undefined) o.position = resolved + 1;
          }
        },
      );
      return;
    }
    for (const record of records) {
      // A pause or seek that came while the fetch was in flight wins: the rest is fetched again later.
      if (!live() || o.seekTo !== undefined || this.paused.has(key(o))) return;
      const handled = await this.handle(
        o,
        live,
        () => record,
        async () => eachMessage?.({ ...tp, message: await this.toMessage(tp, record) }),
      );
      if (!handled) return;
      o.position = record.offset + 1;
    }
    await this.commitIfDue();
  }

  /**
   * Runs `work` (deserialize and hand over) with the handler retry policy. Once the retries are
   * exhausted, dead-letters the failed record and moves the position past it, or stops this loop and
   * crashes the consumer. Returns whether the loop may go on.
   */
  private async handle(
    o: Owned,
    live: () => boolean,
    failed: () => FetchedRecord | undefined,
    work: () => Promise<void>,
  ): Promise<boolean> {
    const fields = () => ({
      group: this.options.groupId,
      topic: o.topic,
      partition: o.partition,
      offset: failed()?.offset,
    });
    const current = () => live() && o.seekTo === undefined;
    let attempts = 0;
    try {
      await withRetries(
        this.options.retry ?? {},
        () => {
          attempts++;
          return work();
        },
        {
          defaults: HANDLER_RETRY_DEFAULTS,
          retriable: current,
          signal: o.abort.signal,
          onRetry: (error, attempt, waitMs) =>
            this.logger.warn('processing failed; retrying', {
              ...fields(),
              attempt,
              retryInMs: Math.round(waitMs),
              error: errorMessage(error),
            }),
        },
      );
      return true;
    } catch (error) {
      if (!current()) return false;
      this.options.onError?.(error);
      const record = failed();
      // A batch handler that resolved every message and then threw leaves nothing unprocessed.
      if (record === undefined) return true;
      const failure = { ...fields(), attempts, error: errorMessage(error) };
      const deadLetterTopic = this.options.deadLetterTopic;
      if (deadLetterTopic !== undefined) {
        try {
          await this.deadLetter(deadLetterTopic, o, record, attempts, error);
          this.logger.error('processing failed; sent to the dead-letter topic', {
            ...failure,
            deadLetterTopic,
          });
          o.position = record.offset + 1;
          return true;
        } catch (deadLetterError) {
          this.logger.error('sending to the dead-letter topic failed', {
            ...failure,
            deadLetterTopic,
            deadLetterError: errorMessage(deadLetterError),
          });
        }
      }
      this.logger.error('processing failed; the consumer crashes', failure);
      o.position = record.offset;
      o.stopped = true;
      this.crash(error);
      return false;
    }
  }

  /** Produces the failed record to the dead-letter topic, with headers saying where it came from. */
  private async deadLetter(
    topic: string,
    o: Owned,
    record: FetchedRecord,
    attempts: number,
    error: unknown,
  ): Promise<void> {
    const headers: Record<string, string | Uint8Array | null> = {};
    for (const header of record.headers) headers[header.key] = header.value;
    Object.assign(
      headers,
      deadLetterHeaders({
        topic: o.topic,
        partition: o.partition,
        offset: record.offset,
        attempts,
        error: errorMessage(error),
      }),
    );
    this.deadLetters ??= new Producer(this.transport, { lingerMs: 0, retry: this.options.retry });
    await this.deadLetters.send({
      topic,
      messages: [{ key: record.key, value: record.value, headers }],
    });
  }

  /** Deserializes records in order, up to the first that fails; throws if that is the first. */
  private async toMessages(tp: TopicPartition, records: FetchedRecord[]): Promise<ConsumedMessage<V>[]> {
    const messages: ConsumedMessage<V>[] = [];
    for (const record of records) {
      try {
        messages.push(await this.toMessage(tp, record));
      } catch (error) {
        if (messages.length === 0) throw error;
        break;
      }
    }
    return messages;
  }

  private async commitIfDue(): Promise<void> {
    if (this.options.autoCommit === false) return;
    if (Date.now() - this.lastCommit < (this.options.autoCommitIntervalMs ?? 5_000)) return;
    this.lastCommit = Date.now();
    await this.commitOffsets().catch((error) => this.options.onError?.(error));
  }

  /** A fetched record as a message; a deserializer's StreambedError names the record's place. */
  private async toMessage(tp: TopicPartition, record: FetchedRecord): Promise<ConsumedMessage<V>> {
    const buffer = (bytes: Uint8Array | null) =>
      bytes === null ? null : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const headers: Record<string, Buffer | null> = {};
    for (const header of record.headers) headers[header.key] = buffer(header.value);
    let value: V | null;
    try {
      value = this.options.valueSerde
        ? await this.options.valueSerde.deserialize(record.value)
        : (buffer(record.value) as V | null);
    } catch (error) {
      throw atRecord(error, { ...tp, offset: record.offset });
    }
    return { offset: record.offset, timestamp: record.timestamp, key: buffer(record.key), value, headers };
  }
}

interface Assignment extends TopicPartition {
  epoch: number;
  committedOffset: number | null;
}
