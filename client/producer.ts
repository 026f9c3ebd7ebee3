/**
 * The producer: batches messages per topic for `lingerMs` or until `batchBytes`, sends each batch as
 * one request (one object on the server, whatever partitions it spans), and retries retriable failures
 * with the same Idempotency-Key, so a retry never writes twice. One request per topic is in flight at
 * a time, which keeps each partition in send order (see the class).
 */
import { randomUUID } from 'node:crypto';
import { StreambedError } from './errors.ts';
import {
  type ClientContext,
  defaultContext,
  Instrumented,
  PRODUCER_EVENTS,
  type ProducerEventPayloads,
} from './instrumentation.ts';
import { type RetryOptions, withRetries } from './retry.ts';
import { type AsyncSerde, autoSerde, type Serde, stringSerde } from './serdes.ts';
import { segment, type Transport } from './transport.ts';
import type { ProduceRecord } from './wire/binary.ts';
import {
  BATCHES_CONTENT_TYPE,
  encodeProduceBatches,
  encodeProduceBody,
  PRODUCE_CONTENT_TYPE,
} from './wire/binary.ts';
import { BytePool } from './wire/bytes.ts';
import { MAX_PRODUCE_BODY_BYTES, MAX_RECORDS_PER_REQUEST } from './wire/limits.ts';

export interface Message<V = unknown> {
  key?: string | Uint8Array | null;
  value: V;
  headers?: Record<string, string | Uint8Array | null>;
  partition?: number;
  /**
   * Milliseconds since the epoch. When absent: the producer's clock when it sends the request, for a
   * message whose partition is known (given, or from the `partitioner`), as a Kafka producer stamps
   * it (a clock further ahead than the topic's message.timestamp.after.max.ms is refused,
   * INVALID_TIMESTAMP); else the server's time of acceptance.
   */
  timestamp?: number;
}

/**
 * Where one message was written: KafkaJS's RecordMetadata fields (`topicName`, `partition`,
 * `errorCode`, `baseOffset` as a string) and Streambed's (`topic`, `offset` as a number). One entry per
 * message, in the order sent (KafkaJS answers one per partition, whose `baseOffset` is its first).
 */
export interface RecordMetadata {
  topicName: string;
  topic: string;
  partition: number;
  /** Always 0: a message that was not written fails the call instead. */
  errorCode: number;
  offset: number;
  /** `offset` as a string, as KafkaJS gives offsets. */
  baseOffset: string;
}

/**
 * KafkaJS's per-call producer options. Every write is committed to object storage before it is
 * acknowledged (there are no replicas to wait for), so `acks` -1 and 1 mean the same; with 0 the call
 * still waits for the commit (and fails if it fails) but answers `[]`, as KafkaJS does. `timeout` and
 * `compression` are checked and otherwise unused: the client's `timeoutMs` bounds each request, and
 * batches are stored uncompressed.
 */
export interface SendOptions {
  /** -1 (all, the default), 1 or 0. */
  acks?: number;
  /** Milliseconds, a whole number >= 0. */
  timeout?: number;
  /** KafkaJS's CompressionTypes: 0 None, 1 GZIP, 2 Snappy, 3 LZ4, 4 ZSTD. */
  compression?: number;
}

export interface ProducerRecord<V = unknown> extends SendOptions {
  topic: string;
  messages: Message<V>[];
}

export interface TopicMessages<V = unknown> {
  topic: string;
  messages: Message<V>[];
}

export interface ProducerBatch<V = unknown> extends SendOptions {
  topicMessages?: TopicMessages<V>[];
}

/** Chooses a partition, or undefined to let the server apply Kafka's default partitioner. */
export type Partitioner = (args: {
  topic: string;
  key: Uint8Array | null;
  partitionCount: number;
}) => number | undefined;

export interface ProducerOptions<V = unknown> {
  /** How long a message may wait for others to share its request. Default 5 ms; 0 sends each `send` at once. */
  lingerMs?: number;
  /** Send as soon as a topic's pending bytes reach this. Default 1 MiB; at most the request limit. */
  batchBytes?: number;
  retry?: RetryOptions;
  /** How values become bytes; may be asynchronous (the Avro serde registers its schema first). */
  valueSerde?: AsyncSerde<V>;
  keySerde?: Serde<string>;
  partitioner?: Partitioner;
}

/** The records of one request, and the sends waiting for them. */
interface Batch {
  records: ProduceRecord[];
  bytes: number;
  waiters: {
    from: number;
    count: number;
    resolve: (m: RecordMetadata[]) => void;
    reject: (e: unknown) => void;
  }[];
  /** May be sent: its linger is over, it reached `batchBytes`, or a flush asked for it. */
  ready: boolean;
  /** At a request limit: later records start the next batch. */
  full: boolean;
  timer: NodeJS.Timeout | undefined;
}

/** A topic's batches in send order; only the first may be in flight, and only one request at a time. */
interface TopicQueue {
  batches: Batch[];
  sending: boolean;
}

/** Bytes a record takes in the binary produce body (see wire/binary.ts). */
function encodedSize(record: ProduceRecord): number {
  let size = 24 + (record.key?.byteLength ?? 0) + (record.value?.byteLength ?? 0);
  for (const header of record.headers)
    size += 8 + Buffer.byteLength(header.key) + (header.value?.byteLength ?? 0);
  return size;
}

/**
 * The largest body the producer builds: its base64 fits a Lambda event with room for the request's
 * path and headers, and no batch the server writes from it is over the batch limit (limits.ts), so
 * the server never refuses a request for its size (a single record over it is sent alone and refused).
 */
const BODY_LIMIT = MAX_PRODUCE_BODY_BYTES;

/**
 * Sends messages in batches and resolves each `send` with its offsets once the server has committed
 * them.
 *
 * Order: the messages one producer sends to a partition are stored in the order of the `send` (and
 * `sendBatch`) calls, and within a call in the order of `messages`, as Kafka promises. Each topic has
 * at most one produce request in flight: the next batch goes once the previous one has settled, after
 * its retries (KafkaJS's `maxInFlightRequests: 1` with `idempotent: true`). Messages that arrive
 * meanwhile join the next batch, up to the request limits (10,000 records, a body of 4,686,995
 * bytes), so a busy producer sends fewer, larger requests. A batch that fails after its retries
 * rejects its own sends only; the batches after it are still sent. A `send` larger than one request
 * is sent as several, in order, and is not atomic: if one of them fails, the call fails, and the
 * others may be written.
 */
export class Producer<V = unknown> extends Instrumented<ProducerEventPayloads, typeof PRODUCER_EVENTS> {
  private readonly queues = new Map<string, TopicQueue>();
  /** Per topic, settles once the latest send has joined its batch (or failed to serialize). */
  private readonly admissions = new Map<string, Promise<void>>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly partitionCounts = new Map<string, { count: number; at: number }>();
  /** Request bodies, reused from request to request (see BytePool). */
  private readonly bodies = new BytePool();
  private readonly lingerMs: number;
  private readonly batchBytes: number;
  private readonly valueSerde: AsyncSerde<V>;
  private closed = false;

  constructor(
    private readonly transport: Transport,
    private readonly options: ProducerOptions<V> = {},
    context: ClientContext = defaultContext(),
  ) {
    super(PRODUCER_EVENTS, 'Producer', context);
    this.transport = this.observe(transport);
    this.lingerMs = options.lingerMs ?? 5;
    this.batchBytes = Math.min(options.batchBytes ?? 1024 * 1024, BODY_LIMIT);
    this.valueSerde = options.valueSerde ?? (autoSerde as Serde<V>);
  }

  /**
   * KafkaJS's `connect()`: checks that the server answers (the error names the URL and the cause) and
   * opens a disconnected producer again, then emits `producer.connect`. Sending needs no connect;
   * calling it again is harmless.
   */
  override async connect(): Promise<void> {
    await this.transport.health();
    this.closed = false;
    await super.connect();
  }

  /** Queues messages and resolves with their offsets once the server has committed them. */
  async send({ topic, messages, ...options }: ProducerRecord<V>): Promise<RecordMetadata[]> {
    this.checkOpen();
    const acks = checkSendOptions(options);
    checkTopicMessages(topic, messages);
    const sent = await this.admit(topic, this.toRecords(topic, messages));
    return acks === 0 ? [] : sent;
  }

  /**
   * KafkaJS's `sendBatch`: messages for several topics, one request per topic (a topic listed twice
   * is sent as one). Answers one flat list in the order of `topicMessages`. As with Kafka, where each
   * partition is written or refused alone, a topic that fails does not undo the others.
   */
  async sendBatch({ topicMessages, ...options }: ProducerBatch<V>): Promise<RecordMetadata[]> {
    this.checkOpen();
    const acks = checkSendOptions(options);
    const list = topicMessages ?? [];
    if (!Array.isArray(list)) throw invalid('topicMessages must be an array of {topic, messages}');
    const merged = new Map<string, Message<V>[]>();
    for (const { topic, messages } of list) {
      checkTopicMessages(topic, messages);
      merged.set(topic, [...(merged.get(topic) ?? []), ...messages]);
    }
    // Every message is serialized before any is queued: one that cannot be sends nothing.
    const topics = [...merged];
    const records = Promise.all(topics.map(([topic, messages]) => this.toRecords(topic, messages)));
    const sent = await Promise.all(
      topics.map(([topic], i) =>
        this.admit(
          topic,
          records.then((all) => all[i] as ProduceRecord[]),
        ),
      ),
    );
    return acks === 0 ? [] : sent.flat();
  }

  private checkOpen(): void {
    if (this.closed) throw invalid('the producer is disconnected: call connect() to send again');
  }

  /**
   * Serializes every message. Synchronous serdes (the built-in ones) leave no promise per message: only
   * the values a serde answers with a promise are awaited, together.
   */
  private async toRecords(topic: string, messages: Message<V>[]): Promise<ProduceRecord[]> {
    const partitioned =
      this.options.partitioner !== undefined && messages.some((m) => m.partition === undefined);
    const partitionCount = partitioned ? await this.partitionCount(topic) : 0;
    const records: ProduceRecord[] = new Array(messages.length);
    const pending: Promise<void>[] = [];
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i] as Message<V>;
      const record = this.toRecord(topic, message, partitionCount);
      records[i] = record;
      const value = this.valueSerde.serialize(message.value);
      if (value instanceof Promise) {
        pending.push(
          value.then((bytes) => {
            record.value = bytes;
          }),
        );
      } else {
        record.value = value;
      }
    }
    if (pending.length > 0) await Promise.all(pending);
    return records;
  }

  /**
   * Serialization runs side by side, but sends join their topic's batches in call order: a send waits
   * for the one before it to the same topic to be queued (or to fail) before it is queued itself.
   */
  private admit(topic: string, records: Promise<ProduceRecord[]>): Promise<RecordMetadata[]> {
    records.catch(() => {}); // its failure is the caller's, through `queued`
    const prior = this.admissions.get(topic) ?? Promise.resolve();
    const queued = prior.then(async () => this.enqueue(topic, await records));
    const admitted = queued.then(
      () => {},
      () => {},
    );
    this.admissions.set(topic, admitted);
    void admitted.then(() => {
      if (this.admissions.get(topic) === admitted) this.admissions.delete(topic);
    });
    return queued.then(async (results) => (await Promise.all(results)).flat());
  }

  /**
   * Appends records to the topic's last batch, starting a new one where a request limit is reached,
   * and answers one promise per batch they joined (an array, so that queueing is not mistaken for
   * delivery).
   */
  private enqueue(topic: string, records: ProduceRecord[]): Promise<RecordMetadata[]>[] {
    let queue = this.queues.get(topic);
    if (queue === undefined) {
      queue = { batches: [], sending: false };
      this.queues.set(topic, queue);
    }
    const results: Promise<RecordMetadata[]>[] = [];
    let start = 0;
    while (start < records.length) {
      let batch = queue.batches.at(-1);
      if (batch === undefined || batch.full) {
        batch = { records: [], bytes: 4, waiters: [], ready: false, full: false, timer: undefined };
        queue.batches.push(batch);
      }
      const from = batch.records.length;
      let end = start;
      while (end < records.length) {
        const size = encodedSize(records[end] as ProduceRecord);
        if (batch.records.length >= MAX_RECORDS_PER_REQUEST || batch.bytes + size > BODY_LIMIT) {
          // A single record over the body limit is sent alone, for the server to refuse.
          if (batch.records.length > 0) {
            batch.full = true;
            batch.ready = true;
            break;
          }
        }
        batch.records.push(records[end] as ProduceRecord);
        batch.bytes += size;
        end++;
      }
      if (end > start) {
        const target = batch;
        const count = end - start;
        results.push(new Promise((resolve, reject) => target.waiters.push({ from, count, resolve, reject })));
      }
      start = end;
      if (batch.bytes >= this.batchBytes || this.lingerMs <= 0) batch.ready = true;
      else if (!batch.ready && batch.timer === undefined) {
        const lingering = batch;
        lingering.timer = setTimeout(() => {
          lingering.ready = true;
          this.pump(topic);
        }, this.lingerMs);
      }
    }
    this.pump(topic);
    return results;
  }

  /** Sends the topic's first batch if it is ready and no request of the topic is in flight. */
  private pump(topic: string): void {
    const queue = this.queues.get(topic);
    if (queue === undefined || queue.sending) return;
    const batch = queue.batches[0];
    if (batch === undefined) {
      this.queues.delete(topic);
      return;
    }
    if (!batch.ready) return;
    queue.batches.shift();
    if (batch.timer) clearTimeout(batch.timer);
    queue.sending = true;
    const request = this.deliver(topic, batch).finally(() => {
      this.inFlight.delete(request);
      queue.sending = false;
      this.pump(topic);
    });
    this.inFlight.add(request);
  }

  /** Sends everything queued, in order per topic, and waits until no request is in flight. */
  async flush(): Promise<void> {
    // Sends still being serialized join their batches first.
    await Promise.all(this.admissions.values());
    for (;;) {
      for (const [topic, queue] of this.queues) {
        for (const batch of queue.batches) batch.ready = true;
        this.pump(topic);
      }
      if (this.inFlight.size === 0) return;
      await Promise.allSettled([...this.inFlight]);
    }
  }

  override async disconnect(): Promise<void> {
    await this.flush();
    this.closed = true;
    await super.disconnect();
  }

  /** A message as a record, all but its value (toRecords serializes it). */
  private toRecord(topic: string, message: Message<V>, partitionCount: number): ProduceRecord {
    const keySerde = this.options.keySerde ?? stringSerde;
    const key =
      message.key === undefined || message.key === null
        ? null
        : message.key instanceof Uint8Array
          ? message.key
          : keySerde.serialize(message.key);
    const headers =
      message.headers === undefined
        ? []
        : Object.entries(message.headers).map(([name, value]) => ({
            key: name,
            value: value === null ? null : typeof value === 'string' ? utf8.encode(value) : value,
          }));
    const record: ProduceRecord = { key, value: null, headers };
    let partition = message.partition;
    if (partition === undefined && this.options.partitioner) {
      partition = this.options.partitioner({ topic, key, partitionCount });
    }
    if (partition !== undefined) {
      if (!Number.isInteger(partition) || partition < 0 || partition > 0x7fffffff) {
        throw invalid(
          `message partition ${partition} to ${topic} is not a partition number (a whole number ≥ 0)`,
        );
      }
      record.partition = partition;
    }
    if (message.timestamp !== undefined) {
      const { timestamp } = message;
      if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
        throw new StreambedError(
          'INVALID_REQUEST',
          `message timestamp ${timestamp} to ${topic} is not a whole number of milliseconds 0 .. 2^53-1`,
        );
      }
      record.timestamp = timestamp;
    }
    return record;
  }

  /** Partition counts for a custom partitioner, refreshed every minute (partitions can grow). */
  private async partitionCount(topic: string): Promise<number> {
    const cached = this.partitionCounts.get(topic);
    if (cached && Date.now() - cached.at < 60_000) return cached.count;
    const described = await this.transport.json<{ partitions: unknown[] }>(
      'GET',
      `/v1/topics/${segment(topic)}`,
    );
    this.partitionCounts.set(topic, { count: described.partitions.length, at: Date.now() });
    return described.partitions.length;
  }

  /**
   * A request body for `records`: the record batches the server stores (wire/binary.ts, "PRODUCE AS
   * BATCHES") when every record's partition is known here, so the server checks them instead of
   * building them; else the compact binary form, for the server to partition. `order` maps a body of
   * batches back to `records` (body position → record index). Records without a timestamp take this
   * moment's, as a Kafka producer gives them (CreateTime), so a retry sends the same batches.
   */
  private encode(records: readonly ProduceRecord[]): {
    body: Uint8Array;
    contentType: string;
    order?: number[];
  } {
    const byPartition = new Map<number, number[]>();
    for (let i = 0; i < records.length; i++) {
      const { partition } = records[i] as ProduceRecord;
      if (partition === undefined) {
        return { body: encodeProduceBody(records, this.bodies.acquire), contentType: PRODUCE_CONTENT_TYPE };
      }
      const indexes = byPartition.get(partition);
      if (indexes === undefined) byPartition.set(partition, [i]);
      else indexes.push(i);
    }
    const now = Date.now();
    const parts = [...byPartition].map(([partition, indexes]) => ({
      partition,
      records: indexes.map((i) => {
        const { key, value, headers, timestamp } = records[i] as ProduceRecord;
        return { key, value, headers, timestamp: timestamp ?? now };
      }),
    }));
    const body = encodeProduceBatches(parts, this.bodies.acquire);
    // Sized for the compact form, a request to many partitions can come out larger as batches (61
    // bytes of header each): it goes in the compact form, which always fits.
    if (body.byteLength > BODY_LIMIT) {
      this.bodies.release([body]);
      return { body: encodeProduceBody(records, this.bodies.acquire), contentType: PRODUCE_CONTENT_TYPE };
    }
    return { body, contentType: BATCHES_CONTENT_TYPE, order: [...byPartition.values()].flat() };
  }

  private async deliver(topic: string, batch: Batch): Promise<void> {
    // One key per request, reused by every retry: the server answers a repeat from its record of the
    // first attempt instead of writing again.
    const idempotencyKey = randomUUID();
    const { body, contentType, order } = this.encode(batch.records);
    try {
      const answered = await withRetries(this.options.retry ?? {}, () =>
        this.transport.json<{ offsets: { partition: number; offset: number }[] }>(
          'POST',
          `/v1/topics/${segment(topic)}/records`,
          { body, contentType, headers: { 'idempotency-key': idempotencyKey } },
        ),
      );
      // A body of batches is answered in its own order: back to the order of the sends.
      const offsets = order === undefined ? answered.offsets : inSendOrder(answered.offsets, order);
      for (const waiter of batch.waiters) {
        waiter.resolve(
          offsets.slice(waiter.from, waiter.from + waiter.count).map(({ partition, offset }) => ({
            topicName: topic,
            topic,
            partition,
            errorCode: 0,
            offset,
            baseOffset: String(offset),
          })),
        );
      }
    } catch (error) {
      const failure = order === undefined ? error : failureInSendOrder(error, order);
      for (const waiter of batch.waiters) waiter.reject(failure);
    } finally {
      // Every attempt has been answered (or given up on): the body's bytes can serve the next request.
      this.bodies.release([body]);
    }
  }
}

/** Offsets answered in body order, put back in the order of the records (`order`: body → record). */
function inSendOrder<T>(offsets: readonly T[], order: readonly number[]): T[] {
  if (offsets.length !== order.length) {
    throw new StreambedError(
      'INTERNAL',
      `the server answered ${offsets.length} offsets for a request of ${order.length} records`,
    );
  }
  const sorted: T[] = new Array(order.length);
  order.forEach((record, i) => {
    sorted[record] = offsets[i] as T;
  });
  return sorted;
}

/**
 * A failed request of batches, its `details.offsets` (the records that did commit, in body order) put
 * back in the order of the sends; any other error as it is.
 */
function failureInSendOrder(error: unknown, order: readonly number[]): unknown {
  if (!(error instanceof StreambedError)) return error;
  const { offsets } = error.details;
  if (!Array.isArray(offsets) || offsets.length !== order.length) return error;
  return new StreambedError(error.code, error.message, {
    retriable: error.retriable,
    status: error.status,
    details: { ...error.details, offsets: inSendOrder(offsets, order) },
    cause: error,
  });
}

const invalid = (message: string) => new StreambedError('INVALID_REQUEST', message);

const utf8 = new TextEncoder();

/** Checks KafkaJS's per-call options (see SendOptions) and answers `acks`. */
function checkSendOptions({ acks = -1, timeout, compression }: SendOptions): number {
  if (acks !== -1 && acks !== 0 && acks !== 1)
    throw invalid(`acks ${JSON.stringify(acks)} is not -1, 0 or 1`);
  if (timeout !== undefined && !(Number.isSafeInteger(timeout) && timeout >= 0)) {
    throw invalid(`timeout ${JSON.stringify(timeout)} is not a whole number of milliseconds >= 0`);
  }
  if (compression !== undefined && !(Number.isInteger(compression) && compression >= 0 && compression <= 4)) {
    throw invalid(
      `compression ${JSON.stringify(compression)} is not one of KafkaJS's CompressionTypes (0 None, 1 GZIP, 2 Snappy, 3 LZ4, 4 ZSTD)`,
    );
  }
  return acks;
}

function checkTopicMessages(topic: unknown, messages: unknown): void {
  if (typeof topic !== 'string' || topic === '')
    throw invalid(`topic ${JSON.stringify(topic)} is not a topic name`);
  if (!Array.isArray(messages)) throw invalid(`messages for topic ${topic} must be an array`);
}
