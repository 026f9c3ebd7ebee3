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
 * A handler that paused its partition before failing is not retried: the message comes again on resume.
 *
 * `pause` and `seek` may come before `run` or before the partition is assigned: they are kept and
 * apply once it is (a paused topic without partitions covers every partition it will ever have).
 * Logging goes through the client's `logCreator` under the namespace `Consumer` (or the `logger`
 * option), and `on(consumer.events.X, listener)` reports KafkaJS's instrumentation events.
 */

import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { atRecord, StreambedError } from './errors.ts';
import {
  type ClientContext,
  defaultContext,
  type InstrumentationEvent,
  Instrumented,
  type Logger,
  type RequestEventPayload,
} from './instrumentation.ts';
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

/** Topics and their partitions, as KafkaJS's `TopicPartitions` (`paused()`). */
export interface TopicPartitions {
  topic: string;
  partitions: number[];
}

/** Positions (next offsets to read) by topic, as KafkaJS's `OffsetsByTopicPartition`. */
export interface OffsetsByTopicPartition {
  topics: { topic: string; partitions: { partition: number; offset: number }[] }[];
}

export interface EachMessagePayload<V = Buffer> extends TopicPartition {
  message: ConsumedMessage<V>;
  /** Sends a heartbeat now if one is due (heartbeats also run on their own timer). */
  heartbeat(): Promise<void>;
  /** Pauses this partition; returns a function that resumes it. */
  pause(): () => void;
}

export interface Batch<V = Buffer> extends TopicPartition {
  highWatermark: number;
  messages: ConsumedMessage<V>[];
  isEmpty(): boolean;
  firstOffset(): number | null;
  lastOffset(): number;
  /** highWatermark − 1 − lastOffset: what is left after this batch. */
  offsetLag(): number;
  /** highWatermark − 1 − firstOffset. */
  offsetLagLow(): number;
}

export interface EachBatchPayload<V = Buffer> {
  batch: Batch<V>;
  /**
   * Marks a message as processed: the position moves past it now. An offset outside the batch is
   * refused (INVALID_REQUEST).
   */
  resolveOffset(offset: number | string): void;
  /** Sends a heartbeat now if one is due (heartbeats also run on their own timer). */
  heartbeat(): Promise<void>;
  /** Pauses this partition; returns a function that resumes it. */
  pause(): () => void;
  /** Commits positions now if auto-commit is due. */
  commitOffsetsIfNecessary(): Promise<void>;
  /** Positions resolved but not committed yet, for every partition this consumer owns. */
  uncommittedOffsets(): OffsetsByTopicPartition;
  isRunning(): boolean;
  /**
   * True once the rest of this batch should not be processed: the partition was sought, revoked, or
   * the consumer is stopping. Resolving offsets of a stale batch changes nothing.
   */
  isStale(): boolean;
}

/**
 * The consumer's own logger for failures, kept from before `logCreator`: when given, errors and
 * warnings go here instead. Fields name the message, never its key or value.
 */
export interface ConsumerLogger {
  error(message: string, fields: Record<string, unknown>): void;
  warn(message: string, fields: Record<string, unknown>): void;
}

/** KafkaJS's `consumer.events`. */
export const CONSUMER_EVENTS = {
  HEARTBEAT: 'consumer.heartbeat',
  COMMIT_OFFSETS: 'consumer.commit_offsets',
  GROUP_JOIN: 'consumer.group_join',
  FETCH_START: 'consumer.fetch_start',
  FETCH: 'consumer.fetch',
  START_BATCH_PROCESS: 'consumer.start_batch_process',
  END_BATCH_PROCESS: 'consumer.end_batch_process',
  CONNECT: 'consumer.connect',
  DISCONNECT: 'consumer.disconnect',
  STOP: 'consumer.stop',
  CRASH: 'consumer.crash',
  REBALANCING: 'consumer.rebalancing',
  REQUEST: 'consumer.network.request',
} as const;

export interface GroupPayload {
  groupId: string;
  memberId: string;
  /** Counts this member's assignments (there is no group-wide generation). */
  groupGenerationId: number;
}

export interface BatchProcessPayload extends TopicPartition {
  highWatermark: number;
  offsetLag: number;
  offsetLagLow: number;
  batchSize: number;
  firstOffset: number;
  lastOffset: number;
}

export interface ConsumerEventPayloads extends Record<string, unknown> {
  'consumer.heartbeat': GroupPayload;
  'consumer.commit_offsets': GroupPayload & OffsetsByTopicPartition;
  'consumer.group_join': {
    groupId: string;
    memberId: string;
    /** The server assigns partitions: no member leads. */
    leaderId: string;
    isLeader: false;
    memberAssignment: Record<string, number[]>;
    groupProtocol: string;
    duration: number;
  };
  'consumer.fetch_start': TopicPartition;
  'consumer.fetch': TopicPartition & { numberOfBatches: number; duration: number };
  'consumer.start_batch_process': BatchProcessPayload;
  'consumer.end_batch_process': BatchProcessPayload & { duration: number };
  'consumer.connect': null;
  'consumer.disconnect': null;
  'consumer.stop': null;
  'consumer.crash': { error: unknown; groupId: string; restart: boolean };
  'consumer.rebalancing': { groupId: string; memberId: string };
  'consumer.network.request': RequestEventPayload;
}

/** KafkaJS's `consumer.crash` event: the consumer stopped after a message failed every retry. */
export type ConsumerCrashEvent = InstrumentationEvent<ConsumerEventPayloads['consumer.crash']>;

/** How often a failing handler is retried, unless `retry` says otherwise (KafkaJS's consumer defaults). */
const HANDLER_RETRY_DEFAULTS: RetryOptions = { retries: 5, initialRetryTimeMs: 300, maxRetryTimeMs: 30_000 };

export { DEAD_LETTER_HEADERS };

const errorMessage = (error: unknown) => (error instanceof Error ? error.message : String(error));

type FetchedRecord = ReturnType<typeof decodeRecordBatch>['records'][number];

export interface ConsumerOptions<V = Buffer> {
  groupId: string;
  /** A member that does not heartbeat for this long loses its partitions. Default 10 s. */
  sessionTimeout?: number;
  /** Default 3 s; must be under the session timeout (a third of it is a good choice). */
  heartbeatInterval?: number;
  /** Long-poll time when a partition has nothing new. Default 1 s; under the client's `timeoutMs`. */
  maxWaitTimeInMs?: number;
  /** `sessionTimeout`, by its earlier name. */
  sessionTimeoutMs?: number;
  /** `heartbeatInterval`, by its earlier name. */
  heartbeatIntervalMs?: number;
  /** `maxWaitTimeInMs`, by its earlier name. */
  maxWaitMs?: number;
  /**
   * Commit positions periodically (and before every heartbeat and on disconnect). Default true.
   * `run({ autoCommit, autoCommitInterval })`, as KafkaJS, overrides these.
   */
  autoCommit?: boolean;
  autoCommitIntervalMs?: number;
  /** Soft cap on bytes per fetch. Default 1 MiB. */
  maxBytes?: number;
  /** How value bytes become values; may be asynchronous (the Avro serde fetches writer schemas). */
  valueSerde?: AsyncSerde<V>;
  /**
   * Backoff for a failing `eachMessage`/`eachBatch` (and for the consumer's requests): `retries`
   * (default 5) attempts after the first, waits from `initialRetryTimeMs` (default 300 ms) growing by
   * `multiplier` (2) up to `maxRetryTimeMs` (30 s), jittered by ± `factor` (0.2).
   * `retry.restartOnFailure` is `restartOnFailure`, where KafkaJS has it.
   */
  retry?: RetryOptions & { restartOnFailure?: (error: unknown) => Promise<boolean> };
  /**
   * Failed and retried messages are logged here instead of through the client's `logCreator`
   * (which by default writes one JSON line per entry on stderr).
   */
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
  /** Told of partitions assigned; one that throws is logged and reported to `onError`. */
  onPartitionsAssigned?: (partitions: TopicPartition[]) => void | Promise<void>;
  /** Told of partitions revoked (their loops have stopped); one that throws is logged and reported. */
  onPartitionsRevoked?: (partitions: TopicPartition[]) => void | Promise<void>;
  /** Errors the consumer handled itself (a failed heartbeat, a handler that threw). */
  onError?: (error: unknown) => void;
}

export interface RunOptions<V = Buffer> {
  eachMessage?: (payload: EachMessagePayload<V>) => Promise<void>;
  eachBatch?: (payload: EachBatchPayload<V>) => Promise<void>;
  /**
   * What returning from `eachBatch` resolves. true: its last message, as KafkaJS's default; false:
   * nothing, the position stays where `resolveOffset` left it and the rest is handed over again.
   * Unset: the last message only if the handler resolved none itself, so a batch left part-way is
   * handed over again rather than skipped (KafkaJS would skip the rest).
   */
  eachBatchAutoResolve?: boolean;
  /** Overrides the consumer's `autoCommit` for this run. */
  autoCommit?: boolean;
  /** Overrides the consumer's `autoCommitIntervalMs` for this run. */
  autoCommitInterval?: number;
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

const isPartition = (n: unknown) => Number.isInteger(n) && (n as number) >= 0;

/** An offset given as a number or, as KafkaJS gives it, a numeric string; undefined if it is not one. */
function asOffset(offset: unknown): number | undefined {
  const n = typeof offset === 'string' && /^\d+$/.test(offset) ? Number(offset) : offset;
  return Number.isSafeInteger(n) && (n as number) >= 0 ? (n as number) : undefined;
}

/** Refuses a pause/resume list that names no topic or a partition that is not one, naming it. */
function checkTopicPartitions(call: string, list: unknown): { topic: string; partitions?: number[] }[] {
  if (!Array.isArray(list))
    throw new StreambedError('INVALID_REQUEST', `${call} takes a list of { topic, partitions? }`);
  for (const item of list as { topic?: unknown; partitions?: unknown }[]) {
    if (typeof item?.topic !== 'string' || item.topic === '')
      throw new StreambedError(
        'INVALID_REQUEST',
        `${call}: topic ${JSON.stringify(item?.topic)} is not a topic name`,
      );
    if (
      item.partitions !== undefined &&
      (!Array.isArray(item.partitions) || !item.partitions.every(isPartition))
    )
      throw new StreambedError(
        'INVALID_REQUEST',
        `${call} ${item.topic}: partitions ${JSON.stringify(item.partitions)} is not a list of partition numbers (0 or more)`,
      );
  }
  return list;
}

/** Positions grouped by topic, in KafkaJS's shape. */
function byTopic(offsets: (TopicPartition & { offset: number })[]): OffsetsByTopicPartition {
  const topics = new Map<string, { partition: number; offset: number }[]>();
  for (const { topic, partition, offset } of offsets) {
    const list = topics.get(topic) ?? [];
    list.push({ partition, offset });
    topics.set(topic, list);
  }
  return { topics: [...topics].map(([topic, partitions]) => ({ topic, partitions })) };
}

export class Consumer<V = Buffer> extends Instrumented<ConsumerEventPayloads, typeof CONSUMER_EVENTS> {
  private readonly topics = new Set<string>();
  private fromBeginning = false;
  private memberId: string | undefined;
  private readonly owned = new Map<string, Owned>();
  /**
   * Paused topics: all their partitions (now and later) but the ones resumed since (`partitions`),
   * or only the ones listed.
   */
  private readonly pausedTopics = new Map<string, { all: boolean; partitions: Set<number> }>();
  /** Seeks for partitions not assigned yet, applied when they are. */
  private readonly pendingSeeks = new Map<string, number>();
  private running = false;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  /** The heartbeat in progress, if any. */
  private heartbeating: Promise<void> | undefined;
  private lastHeartbeat = 0;
  private generation = 0;
  private lastCommit = 0;
  private handlers: RunOptions<V> = {};
  private readonly log: Logger;
  private readonly sessionTimeoutMs: number;
  private readonly heartbeatIntervalMs: number;
  private deadLetters: Producer | undefined;
  /** A crash being handled (leaving, asking restartOnFailure, rejoining). */
  private crashing: Promise<void> | undefined;
  /** Set by stop and disconnect: a crash then does not rejoin. */
  private closed = false;
  /** The partition whose handler is running: a stop() from inside it does not wait for itself. */
  private readonly handling = new AsyncLocalStorage<Owned>();

  constructor(
    private readonly transport: Transport,
    private readonly options: ConsumerOptions<V>,
    private readonly context: ClientContext = defaultContext(),
  ) {
    super(CONSUMER_EVENTS, 'Consumer', context);
    this.sessionTimeoutMs = options.sessionTimeout ?? options.sessionTimeoutMs ?? 10_000;
    this.heartbeatIntervalMs = options.heartbeatInterval ?? options.heartbeatIntervalMs ?? 3_000;
    if (this.heartbeatIntervalMs >= this.sessionTimeoutMs)
      throw new StreambedError(
        'INVALID_REQUEST',
        `heartbeatInterval ${this.heartbeatIntervalMs} must be lower than sessionTimeout ${this.sessionTimeoutMs} (a third of it is a good choice)`,
      );
    // A fetch that finds nothing is held for the long poll: it must end within the request timeout.
    const maxWaitMs = options.maxWaitTimeInMs ?? options.maxWaitMs ?? 1_000;
    if (maxWaitMs >= transport.timeoutMs)
      throw new StreambedError(
        'INVALID_REQUEST',
        `maxWaitTimeInMs ${maxWaitMs} must be lower than the client's timeoutMs ${transport.timeoutMs}: a long poll that finds nothing lasts that long`,
      );
    this.transport = this.observe(transport);
    const base = this.instrumentation.logger;
    const own = options.logger;
    this.log =
      own === undefined
        ? base
        : {
            ...base,
            error: (message, extra) => own.error(message, extra ?? {}),
            warn: (message, extra) => own.warn(message, extra ?? {}),
          };
  }

  /** The consumer's logger (with the `logger` option, its errors and warnings go there). */
  override logger(): Logger {
    return this.log;
  }

  /**
   * Adds topics: names, or RegExps matched against the topics that exist now (as KafkaJS, a topic
   * created later is not picked up). Not while running: `stop()` first.
   */
  async subscribe({
    topics,
    topic,
    fromBeginning,
  }: {
    topics?: (string | RegExp)[];
    topic?: string | RegExp;
    fromBeginning?: boolean;
  }): Promise<void> {
    if (this.running)
      throw new StreambedError(
        'INVALID_REQUEST',
        'cannot subscribe while the consumer is running: stop() it first',
      );
    const wanted = [...(topics ?? []), ...(topic !== undefined ? [topic] : [])];
    for (const name of wanted) {
      if (!(name instanceof RegExp) && (typeof name !== 'string' || name === ''))
        throw new StreambedError(
          'INVALID_REQUEST',
          `subscribe: topic ${JSON.stringify(name)} is neither a topic name nor a RegExp`,
        );
    }
    const patterns = wanted.filter((name): name is RegExp => name instanceof RegExp);
    const existing =
      patterns.length === 0
        ? []
        : (
            await withRetries(this.options.retry ?? {}, () =>
              this.transport.json<{ topics: string[] }>('GET', '/v1/topics'),
            )
          ).topics;
    for (const name of wanted) {
      if (typeof name === 'string') this.topics.add(name);
    }
    for (const pattern of patterns) {
      const matched = existing.filter((name) => {
        pattern.lastIndex = 0;
        return pattern.test(name);
      });
      this.log.debug('Subscription based on RegExp', {
        groupId: this.options.groupId,
        topicRegExp: String(pattern),
        matchedTopics: matched,
      });
      for (const name of matched) this.topics.add(name);
    }
    if (fromBeginning !== undefined) this.fromBeginning = fromBeginning;
  }

  /** Joins the group and starts consuming; resolves once the first assignment is running. */
  async run(handlers: RunOptions<V>): Promise<void> {
    if (!handlers.eachMessage && !handlers.eachBatch)
      throw new StreambedError('INVALID_REQUEST', 'run needs eachMessage or eachBatch');
    if (this.topics.size === 0)
      throw new StreambedError('INVALID_REQUEST', 'subscribe to at least one topic before run');
    await this.crashing;
    if (this.running) {
      this.log.warn('run was called, but the consumer is already running', { groupId: this.options.groupId });
      return;
    }
    this.handlers = handlers;
    this.closed = false;
    this.running = true;
    this.log.debug('Starting', { groupId: this.options.groupId });
    await this.join();
    this.scheduleHeartbeat();
  }

  /**
   * Moves a partition's position; takes effect before its next fetch. For a partition not assigned
   * yet, when it is. The rest of a batch being processed for it becomes stale.
   */
  seek({ topic, partition, offset }: TopicPartition & { offset: number | string }): void {
    if (typeof topic !== 'string' || topic === '')
      throw new StreambedError('INVALID_REQUEST', `seek: topic ${JSON.stringify(topic)} is not a topic name`);
    if (!isPartition(partition))
      throw new StreambedError(
        'INVALID_REQUEST',
        `seek ${topic}: partition ${partition} is not a partition number`,
      );
    const position = asOffset(offset);
    if (position === undefined)
      throw new StreambedError(
        'INVALID_REQUEST',
        `seek ${topic}/${partition}: offset ${offset} is not an offset (an integer, 0 or more)`,
      );
    const owned = this.owned.get(key({ topic, partition }));
    if (owned === undefined) {
      this.pendingSeeks.set(key({ topic, partition }), position);
      return;
    }
    this.pendingSeeks.delete(key({ topic, partition }));
    owned.seekTo = position;
  }

  /** Stops fetching the partitions (all of a topic's without `partitions`), assigned now or later. */
  pause(partitions: { topic: string; partitions?: number[] }[]): void {
    for (const { topic, partitions: list } of checkTopicPartitions('pause', partitions)) {
      if (list === undefined) {
        this.pausedTopics.set(topic, { all: true, partitions: new Set() });
        continue;
      }
      const state = this.pausedTopics.get(topic) ?? { all: false, partitions: new Set<number>() };
      for (const partition of list) {
        if (state.all) state.partitions.delete(partition);
        else state.partitions.add(partition);
      }
      this.pausedTopics.set(topic, state);
    }
  }

  resume(partitions: { topic: string; partitions?: number[] }[]): void {
    for (const { topic, partitions: list } of checkTopicPartitions('resume', partitions)) {
      const state = this.pausedTopics.get(topic);
      if (state === undefined) continue;
      if (list === undefined) {
        this.pausedTopics.delete(topic);
        continue;
      }
      // A whole paused topic stays paused, partitions assigned later too, except the resumed ones.
      for (const partition of list) {
        if (state.all) state.partitions.add(partition);
        else state.partitions.delete(partition);
      }
      if (!state.all && state.partitions.size === 0) this.pausedTopics.delete(topic);
    }
  }

  /** The paused partitions; a whole paused topic lists the partitions this consumer has of it. */
  paused(): TopicPartitions[] {
    return [...this.pausedTopics]
      .map(([topic, state]) => ({
        topic,
        partitions: (state.all
          ? this.assignedPartitions(topic).filter((p) => !state.partitions.has(p))
          : [...state.partitions]
        ).sort((a, b) => a - b),
      }))
      .filter(({ partitions }) => partitions.length > 0);
  }

  /** The partitions this consumer owns now. */
  assignment(): TopicPartition[] {
    return [...this.owned.values()].map(({ topic, partition }) => ({ topic, partition }));
  }

  /**
   * Commits the given positions (next offsets to read; numbers or numeric strings), or every owned
   * partition's position. A list with an offset that is not one is refused whole.
   */
  async commitOffsets(offsets?: (TopicPartition & { offset: number | string })[]): Promise<void> {
    const list =
      offsets?.map((o) => {
        const offset = asOffset(o?.offset);
        if (offset === undefined)
          throw new StreambedError(
            'INVALID_REQUEST',
            `commitOffsets ${o?.topic}/${o?.partition}: offset ${o?.offset} is not an offset (an integer, 0 or more)`,
          );
        return { topic: o.topic, partition: o.partition, offset };
      }) ??
      [...this.owned.values()]
        .filter((o) => o.position !== null && o.position !== o.committed)
        .map((o) => ({ topic: o.topic, partition: o.partition, offset: o.position as number }));
    if (list.length === 0 || this.memberId === undefined) return;
    const memberId = this.memberId;
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
          json: { memberId, offsets: chunk },
        }),
      );
      for (const o of chunk) {
        const owned = this.owned.get(key(o));
        if (owned) owned.committed = o.offset;
      }
    }
    this.lastCommit = Date.now();
    this.instrumentation.emit(CONSUMER_EVENTS.COMMIT_OFFSETS, {
      ...this.groupPayload(memberId),
      ...byTopic(list),
    });
  }

  /**
   * Stops fetching, commits positions and leaves the group (its partitions move at once). `run` may
   * be called again; pauses and subscriptions are kept.
   */
  async stop(): Promise<void> {
    this.closed = true;
    await this.crashing;
    if (!this.running) return;
    await this.leave();
    this.log.debug('Stopped', { groupId: this.options.groupId });
    this.instrumentation.emit(CONSUMER_EVENTS.STOP, null);
  }

  /**
   * KafkaJS's `connect()`: checks that the server answers (the error names the URL and the cause),
   * then emits `consumer.connect`. `run` needs no connect.
   */
  override async connect(): Promise<void> {
    await this.transport.health();
    await super.connect();
  }

  /** `stop()`, then `consumer.disconnect`. */
  override async disconnect(): Promise<void> {
    await this.stop();
    await super.disconnect();
  }

  private autoCommit(): boolean {
    return (this.handlers.autoCommit ?? this.options.autoCommit) !== false;
  }

  private groupPayload(memberId = this.memberId ?? ''): GroupPayload {
    return { groupId: this.options.groupId, memberId, groupGenerationId: this.generation };
  }

  private assignedPartitions(topic: string): number[] {
    return [...this.owned.values()].filter((o) => o.topic === topic).map((o) => o.partition);
  }

  private isPaused(tp: TopicPartition): boolean {
    const state = this.pausedTopics.get(tp.topic);
    if (state === undefined) return false;
    return state.all ? !state.partitions.has(tp.partition) : state.partitions.has(tp.partition);
  }

  /** Pauses one partition; the returned function resumes it (the payloads' `pause`). */
  private pauseOne(tp: TopicPartition): () => void {
    this.pause([{ topic: tp.topic, partitions: [tp.partition] }]);
    return () => this.resume([{ topic: tp.topic, partitions: [tp.partition] }]);
  }

  /** Positions resolved but not committed (the payloads' `uncommittedOffsets`). */
  private uncommitted(): OffsetsByTopicPartition {
    return byTopic(
      [...this.owned.values()]
        .filter((o) => o.position !== null && o.position !== o.committed)
        .map((o) => ({ topic: o.topic, partition: o.partition, offset: o.position as number })),
    );
  }

  private async leave(): Promise<void> {
    this.running = false;
    clearTimeout(this.heartbeatTimer);
    await this.heartbeating;
    await this.stopLoops([...this.owned.values()]);
    try {
      if (this.autoCommit()) await this.commitOffsets();
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
    // A seek not applied yet applies when the partition is assigned again.
    for (const o of this.owned.values()) {
      if (o.seekTo !== undefined && !this.pendingSeeks.has(key(o))) this.pendingSeeks.set(key(o), o.seekTo);
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
        const ask = this.options.restartOnFailure ?? this.options.retry?.restartOnFailure;
        restart = !this.closed && ((await ask?.(error)) ?? false);
      } catch (failure) {
        this.log.error('restartOnFailure threw; the consumer stays stopped', {
          group: this.options.groupId,
          error: errorMessage(failure),
        });
      }
      this.instrumentation.emit(CONSUMER_EVENTS.CRASH, { error, groupId: this.options.groupId, restart });
      if (!restart || this.closed) return;
      this.running = true;
      try {
        await this.join();
        this.scheduleHeartbeat();
      } catch (failure) {
        this.running = false;
        this.log.error('rejoining after a crash failed; the consumer stays stopped', {
          group: this.options.groupId,
          error: errorMessage(failure),
        });
      }
    })().finally(() => {
      if (this.crashing === crashing) this.crashing = undefined;
    });
    this.crashing = crashing;
  }

  private async join(): Promise<void> {
    const started = Date.now();
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
            sessionTimeoutMs: this.sessionTimeoutMs,
            memberId,
          },
        },
      ),
    );
    this.memberId = joined.memberId;
    this.lastHeartbeat = Date.now();
    this.generation++;
    await this.apply(joined.assignments);
    this.joined(started);
  }

  /** Logs and emits `consumer.group_join` with this member's assignment now. */
  private joined(started: number): void {
    const memberAssignment: Record<string, number[]> = {};
    for (const topic of new Set([...this.owned.values()].map((o) => o.topic)))
      memberAssignment[topic] = this.assignedPartitions(topic).sort((a, b) => a - b);
    const payload = {
      groupId: this.options.groupId,
      memberId: this.memberId ?? '',
      leaderId: '',
      isLeader: false as const,
      memberAssignment,
      groupProtocol: 'streambed-leases',
      duration: Date.now() - started,
    };
    this.log.debug('Consumer has joined the group', payload);
    this.instrumentation.emit(CONSUMER_EVENTS.GROUP_JOIN, payload);
  }

  private scheduleHeartbeat(): void {
    if (!this.running) return;
    this.heartbeatTimer = setTimeout(() => this.beat(), this.heartbeatIntervalMs);
  }

  private beat(): void {
    const beating = this.heartbeat().finally(() => {
      if (this.heartbeating === beating) this.heartbeating = undefined;
      this.scheduleHeartbeat();
    });
    this.heartbeating = beating;
  }

  /**
   * The payloads' `heartbeat()`: starts the next heartbeat now if it is due. It does not wait for it:
   * a heartbeat may revoke this very partition, which waits for the handler to return.
   */
  private async heartbeatIfDue(): Promise<void> {
    if (!this.running || this.heartbeating !== undefined) return;
    if (Date.now() - this.lastHeartbeat < this.heartbeatIntervalMs) return;
    clearTimeout(this.heartbeatTimer);
    // Outside the handler's context: a revocation in this heartbeat waits for the handler.
    this.handling.exit(() => this.beat());
  }

  private async heartbeat(): Promise<void> {
    try {
      // Commit before the heartbeat: a partition handed over in it then resumes from here.
      if (this.autoCommit()) await this.commitOffsets().catch((error) => this.options.onError?.(error));
      const memberId = this.memberId ?? '';
      const view = await this.transport.json<{ assignments: Assignment[] }>(
        'POST',
        `/v1/groups/${segment(this.options.groupId)}/members/${segment(memberId)}/heartbeat`,
      );
      this.lastHeartbeat = Date.now();
      this.instrumentation.emit(CONSUMER_EVENTS.HEARTBEAT, this.groupPayload(memberId));
      if (!this.running) return;
      const current = new Map([...this.owned.values()].map((o) => [key(o), o.epoch]));
      const changed =
        view.assignments.length !== current.size ||
        view.assignments.some((a) => current.get(key(a)) !== a.epoch);
      if (!changed) return;
      const started = Date.now();
      this.instrumentation.emit(CONSUMER_EVENTS.REBALANCING, { groupId: this.options.groupId, memberId });
      this.generation++;
      await this.apply(view.assignments);
      if (this.running) this.joined(started);
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
      await this.notify(
        'onPartitionsRevoked',
        revoked.map(({ topic, partition }) => ({ topic, partition })),
      );
    }
    const added: TopicPartition[] = [];
    for (const a of assignments) {
      if (this.owned.has(key(a))) continue;
      const seekTo = this.pendingSeeks.get(key(a));
      this.pendingSeeks.delete(key(a));
      const owned: Owned = {
        ...a,
        position: a.committedOffset,
        committed: a.committedOffset,
        stopped: false,
        loop: undefined,
        seekTo,
        abort: new AbortController(),
      };
      this.owned.set(key(a), owned);
      owned.loop = this.consume(owned);
      added.push({ topic: a.topic, partition: a.partition });
    }
    if (added.length > 0) await this.notify('onPartitionsAssigned', added);
  }

  /**
   * Calls a rebalance callback. One that throws is logged and reported to `onError`: it must not leave
   * the assignment half applied (or `run` failed with its partitions consumed and no heartbeat).
   */
  private async notify(
    name: 'onPartitionsAssigned' | 'onPartitionsRevoked',
    partitions: TopicPartition[],
  ): Promise<void> {
    try {
      await this.options[name]?.(partitions);
    } catch (error) {
      this.log.error(`${name} threw`, { group: this.options.groupId, error: errorMessage(error) });
      this.options.onError?.(error);
    }
  }

  private async stopLoops(list: Owned[]): Promise<void> {
    for (const o of list) {
      o.stopped = true;
      o.abort.abort();
    }
    // A handler that stops the consumer is waiting for this: its own loop ends once it returns.
    const self = this.handling.getStore();
    await Promise.allSettled(list.filter((o) => o !== self).map((o) => o.loop));
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
    const tp = { topic: o.topic, partition: o.partition };
    while (live()) {
      try {
        if (o.seekTo !== undefined) {
          o.position = o.seekTo;
          o.seekTo = undefined;
        }
        if (o.position === null) o.position = await this.startingOffset(o);
        if (this.isPaused(o)) {
          await sleep(50, o.abort.signal);
          continue;
        }
        this.instrumentation.emit(CONSUMER_EVENTS.FETCH_START, tp);
        const fetchStarted = Date.now();
        const response = await this.transport.raw(
          'GET',
          `/v1/topics/${segment(o.topic)}/partitions/${o.partition}/records`,
          {
            query: {
              offset: o.position,
              max_bytes: this.options.maxBytes ?? 1024 * 1024,
              max_wait_ms: this.options.maxWaitTimeInMs ?? this.options.maxWaitMs ?? 1_000,
            },
            accept: BATCHES_CONTENT_TYPE,
          },
        );
        const highWatermark = Number(response.headers.get('streambed-high-watermark'));
        const records: FetchedRecord[] = [];
        let numberOfBatches = 0;
        for (const batch of splitBatches(response.bytes)) {
          numberOfBatches++;
          for (const record of decodeRecordBatch(batch).records) {
            if (record.offset >= o.position) records.push(record);
          }
        }
        this.instrumentation.emit(CONSUMER_EVENTS.FETCH, {
          ...tp,
          numberOfBatches,
          duration: Date.now() - fetchStarted,
        });
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

  /** Hands fetched records over, framed by `consumer.start_batch_process` and `end_batch_process`. */
  private async deliver(
    o: Owned,
    records: FetchedRecord[],
    highWatermark: number,
    live: () => boolean,
  ): Promise<void> {
    if (this.isPaused(o)) return;
    const firstOffset = (records[0] as FetchedRecord).offset;
    const lastOffset = (records.at(-1) as FetchedRecord).offset;
    const batch: BatchProcessPayload = {
      topic: o.topic,
      partition: o.partition,
      highWatermark,
      offsetLag: highWatermark - 1 - lastOffset,
      offsetLagLow: highWatermark - 1 - firstOffset,
      batchSize: records.length,
      firstOffset,
      lastOffset,
    };
    const started = Date.now();
    this.instrumentation.emit(CONSUMER_EVENTS.START_BATCH_PROCESS, batch);
    if (this.handlers.eachBatch) await this.deliverBatch(o, records, highWatermark, live);
    else await this.deliverMessages(o, records, live);
    this.instrumentation.emit(CONSUMER_EVENTS.END_BATCH_PROCESS, {
      ...batch,
      duration: Date.now() - started,
    });
  }

  private async deliverBatch(
    o: Owned,
    records: FetchedRecord[],
    highWatermark: number,
    live: () => boolean,
  ): Promise<void> {
    const eachBatch = this.handlers.eachBatch as NonNullable<RunOptions<V>['eachBatch']>;
    const tp = { topic: o.topic, partition: o.partition };
    const stale = () => !live() || o.seekTo !== undefined || this.owned.get(key(o)) !== o;
    // The failed message of a batch is the first one the handler did not resolve.
    const unresolved = () => records.filter((r) => r.offset >= (o.position as number));
    await this.handle(
      o,
      live,
      () => unresolved()[0],
      async () => {
        const messages = await this.toMessages(tp, unresolved());
        if (messages.length === 0) return;
        let resolvedAny = false;
        const resolve = (offset: number) => {
          if (!stale() && offset + 1 > (o.position as number)) o.position = offset + 1;
        };
        const first = (messages[0] as ConsumedMessage<V>).offset;
        const last = (messages.at(-1) as ConsumedMessage<V>).offset;
        await eachBatch({
          batch: {
            ...tp,
            highWatermark,
            messages,
            isEmpty: () => false,
            firstOffset: () => first,
            lastOffset: () => last,
            offsetLag: () => highWatermark - 1 - last,
            offsetLagLow: () => highWatermark - 1 - first,
          },
          resolveOffset: (offset) => {
            const at = asOffset(offset);
            // Resolving past the batch would commit past messages never handed over.
            if (at === undefined || at < first || at > last)
              throw new StreambedError(
                'INVALID_REQUEST',
                `resolveOffset ${o.topic}/${o.partition}: offset ${offset} is not in this batch (${first}..${last})`,
              );
            resolvedAny = true;
            resolve(at);
          },
          heartbeat: () => this.heartbeatIfDue(),
          pause: () => this.pauseOne(tp),
          commitOffsetsIfNecessary: () => this.commitIfDue(),
          uncommittedOffsets: () => this.uncommitted(),
          isRunning: live,
          isStale: stale,
        });
        const auto = this.handlers.eachBatchAutoResolve;
        if (auto === true || (auto === undefined && !resolvedAny)) resolve(last);
      },
    );
    await this.commitIfDue();
  }

  private async deliverMessages(o: Owned, records: FetchedRecord[], live: () => boolean): Promise<void> {
    const eachMessage = this.handlers.eachMessage as NonNullable<RunOptions<V>['eachMessage']>;
    const tp = { topic: o.topic, partition: o.partition };
    for (const record of records) {
      // A pause or seek that came while the fetch was in flight wins: the rest is fetched again later.
      if (!live() || o.seekTo !== undefined || this.isPaused(o)) return;
      const handled = await this.handle(
        o,
        live,
        () => record,
        async () =>
          eachMessage({
            ...tp,
            message: await this.toMessage(tp, record),
            heartbeat: () => this.heartbeatIfDue(),
            pause: () => this.pauseOne(tp),
          }),
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
    // A handler that paused its partition and threw is not retried: the message comes again on resume.
    const current = () => live() && o.seekTo === undefined && !this.isPaused(o);
    let attempts = 0;
    try {
      await withRetries(
        this.options.retry ?? {},
        () => {
          attempts++;
          return this.handling.run(o, work);
        },
        {
          defaults: HANDLER_RETRY_DEFAULTS,
          retriable: current,
          signal: o.abort.signal,
          onRetry: (error, attempt, waitMs) =>
            this.log.warn('processing failed; retrying', {
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
          this.log.error('processing failed; sent to the dead-letter topic', {
            ...failure,
            deadLetterTopic,
          });
          o.position = record.offset + 1;
          return true;
        } catch (deadLetterError) {
          this.log.error('sending to the dead-letter topic failed', {
            ...failure,
            deadLetterTopic,
            deadLetterError: errorMessage(deadLetterError),
          });
        }
      }
      this.log.error('processing failed; the consumer crashes', failure);
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
    this.deadLetters ??= new Producer(
      this.transport,
      { lingerMs: 0, retry: this.options.retry },
      this.context,
    );
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
    if (!this.autoCommit()) return;
    const interval = this.handlers.autoCommitInterval ?? this.options.autoCommitIntervalMs ?? 5_000;
    if (Date.now() - this.lastCommit < interval) return;
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
