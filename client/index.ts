/**
 * The Streambed SDK. A KafkaJS-shaped client for Streambed's HTTP API:
 *
 * ```ts
 * const streambed = new Streambed({ url: 'http://127.0.0.1:8080' });
 * const producer = streambed.producer();
 * await producer.send({ topic: 'orders', messages: [{ key: 'customer-7', value: { total: 42 } }] });
 * const consumer = streambed.consumer({ groupId: 'billing' });
 * await consumer.subscribe({ topics: ['orders'], fromBeginning: true });
 * await consumer.run({ eachMessage: async ({ message }) => console.log(message.value?.toString()) });
 * ```
 *
 * Against a deployed stack pass `aws: { region }` to sign requests with SigV4 using the standard AWS
 * credential chain; against a local server started with `--token` pass `token`.
 *
 * Logging as KafkaJS: `new Streambed({ url, logLevel: logLevel.WARN, logCreator })`; instrumentation
 * events through `on(producer.events.REQUEST, listener)` and the like (client/instrumentation.ts).
 *
 * Avro values with the schema registry: `avroSerde({ registry: new SchemaRegistryClient({ url }),
 * subject: 'orders-value', schema })` as the producer's or consumer's `valueSerde`.
 *
 * @packageDocumentation
 */
import { Admin, type AdminOptions } from './admin.ts';
import { Consumer, type ConsumerOptions } from './consumer.ts';
import { type ClientContext, createLogger, type Logger, type LoggingOptions } from './instrumentation.ts';
import { Producer, type ProducerOptions } from './producer.ts';
import { Transport, type TransportOptions } from './transport.ts';

export type StreambedOptions = TransportOptions & LoggingOptions;

export class Streambed {
  private readonly transport: Transport;
  private readonly context: ClientContext;

  constructor(options: StreambedOptions) {
    const { logLevel, logCreator, ...transport } = options;
    this.context = { logger: createLogger({ logLevel, logCreator }) };
    this.transport = new Transport(transport);
  }

  producer<V = unknown>(options?: ProducerOptions<V>): Producer<V> {
    return new Producer<V>(this.transport, options, this.context);
  }

  consumer<V = Buffer>(options: ConsumerOptions<V>): Consumer<V> {
    return new Consumer<V>(this.transport, options, this.context);
  }

  admin(options?: AdminOptions): Admin {
    return new Admin(this.transport, this.context, options);
  }

  /** The client's logger (namespace ''), as KafkaJS's `kafka.logger()`. */
  logger(): Logger {
    return this.context.logger;
  }
}

export type {
  AdminOptions,
  ConsumerGroupState,
  DeleteGroupResult,
  FetchOffsetsPartition,
  GroupDescription,
  GroupOverview,
  GroupSummary,
  ITopicConfig,
  ITopicMetadata,
  MemberDescription,
  OffsetReset,
  PartitionMetadata,
  PartitionOffsets,
  ResetOffsetsResult,
  SeekEntry,
  StartingPosition,
  SubscriptionChange,
  SubscriptionConfig,
  SubscriptionDescription,
  SubscriptionPartitionStatus,
  SubscriptionSettings,
  SubscriptionTarget,
  TopicDescription,
} from './admin.ts';
export { Admin } from './admin.ts';
export type {
  Batch,
  BatchProcessPayload,
  ConsumedMessage,
  ConsumerCrashEvent,
  ConsumerEventPayloads,
  ConsumerLogger,
  ConsumerOptions,
  EachBatchPayload,
  EachMessagePayload,
  GroupPayload,
  OffsetsByTopicPartition,
  RunOptions,
  TopicPartition,
  TopicPartitions,
} from './consumer.ts';
export { Consumer, DEAD_LETTER_HEADERS } from './consumer.ts';
export { ERROR_CODES, StreambedError, type StreambedErrorCode } from './errors.ts';
export {
  type AdminEventPayloads,
  type ClientContext,
  type Instrumentation,
  type InstrumentationEvent,
  Instrumented,
  type Listener,
  type LogCreator,
  type LogEntry,
  type Logger,
  type LoggingOptions,
  type LogLevel,
  logLevel,
  type ProducerEventPayloads,
  type RequestEventPayload,
} from './instrumentation.ts';
export type {
  Message,
  Partitioner,
  ProducerBatch,
  ProducerOptions,
  ProducerRecord,
  RecordMetadata,
  SendOptions,
  TopicMessages,
} from './producer.ts';
export { Producer } from './producer.ts';
export type { RetryOptions } from './retry.ts';
export {
  type AvroSchemaInput,
  type AvroSerdeOptions,
  avroSerde,
  decodeFrame,
  encodeFrame,
  type RegisteredSchema,
  SchemaRegistryClient,
  type SchemaRegistryClientOptions,
} from './schema-registry.ts';
export { type AsyncSerde, autoSerde, bytesSerde, jsonSerde, type Serde, stringSerde } from './serdes.ts';
export type { SigV4Options } from './sigv4.ts';
export type { AnsweredCall, TransportOptions } from './transport.ts';
