/**
 * The bench's HTTP client: the SDK (client/), as users run it. Produce scenarios send through the SDK
 * `Producer`; fetches use the SDK transport with the binary fetch form (docs/api.md), which is what
 * the SDK consumer reads with, without the consumer's group protocol around it. A local server with a
 * token, or a deployed stack signed with SigV4, work the same way (`TransportOptions`).
 *
 * The transport's `onResponse` meters what an API Gateway would see: one call per HTTP request, and
 * the bytes each way (HTTP APIs bill per 512 KB of a request, see bench/cost.ts). Metering this way
 * keeps the SDK's own HTTP path (a wrapped `fetch` would replace it).
 */
import { Admin } from '../client/admin.ts';
import { Producer, type ProducerOptions } from '../client/producer.ts';
import { segment, Transport, type TransportOptions } from '../client/transport.ts';
import {
  BATCHES_CONTENT_TYPE,
  HIGH_WATERMARK_HEADER,
  NEXT_OFFSET_HEADER,
  PRODUCE_CONTENT_TYPE,
} from '../client/wire/binary.ts';

export interface HttpCall {
  /** Request body bytes. */
  requestBytes: number;
  /** Response body bytes. */
  responseBytes: number;
  /** Wall time from sending to the response's headers; the server has finished its work by then. */
  latencyMs: number;
}

/** Every call in order, per phase: the scenarios reset it between phases. */
export class CallLog {
  calls: HttpCall[] = [];
  reset(): HttpCall[] {
    const calls = this.calls;
    this.calls = [];
    return calls;
  }
}

export interface FetchedBatches {
  bytes: number;
  nextOffset: number;
  highWatermark: number;
  latencyMs: number;
}

export interface BenchClient {
  createTopic(name: string, partitions: number): Promise<void>;
  /** Deletes every topic this client created (a run against someone's server leaves nothing). */
  deleteCreatedTopics(): Promise<void>;
  /** An SDK producer on this client's transport (metered like every other call). */
  producer(options?: ProducerOptions<Uint8Array>): Producer<Uint8Array>;
  /** Sends a body made by `encodeProduceBody` as is; returns the call's latency in ms. */
  produce(topic: string, body: Uint8Array): Promise<number>;
  fetchBatches(
    topic: string,
    partition: number,
    offset: number,
    options: { maxBytes: number; maxWaitMs?: number },
  ): Promise<FetchedBatches>;
  readonly calls: CallLog;
}

export function createBenchClient(options: TransportOptions): BenchClient {
  const calls = new CallLog();
  const transport = new Transport({
    ...options,
    onResponse: (call) => {
      options.onResponse?.(call);
      calls.calls.push({
        requestBytes: call.requestBytes,
        responseBytes: call.responseBytes,
        latencyMs: call.latencyMs,
      });
    },
  });
  const admin = new Admin(transport);
  const created: string[] = [];

  return {
    calls,

    async createTopic(name, partitions) {
      await admin.createTopic({ topic: name, numPartitions: partitions });
      created.push(name);
    },

    async deleteCreatedTopics() {
      for (const name of created.splice(0)) await admin.deleteTopic(name);
    },

    producer(producerOptions) {
      return new Producer<Uint8Array>(transport, producerOptions);
    },

    async produce(topic, body) {
      const started = performance.now();
      await transport.raw('POST', `/v1/topics/${segment(topic)}/records`, {
        body,
        contentType: PRODUCE_CONTENT_TYPE,
      });
      return performance.now() - started;
    },

    async fetchBatches(topic, partition, offset, { maxBytes, maxWaitMs = 0 }) {
      const started = performance.now();
      const { headers, bytes } = await transport.raw(
        'GET',
        `/v1/topics/${segment(topic)}/partitions/${partition}/records`,
        {
          query: { offset, max_bytes: maxBytes, max_wait_ms: maxWaitMs > 0 ? maxWaitMs : undefined },
          accept: BATCHES_CONTENT_TYPE,
        },
      );
      return {
        bytes: bytes.byteLength,
        nextOffset: Number(headers.get(NEXT_OFFSET_HEADER)),
        highWatermark: Number(headers.get(HIGH_WATERMARK_HEADER)),
        latencyMs: performance.now() - started,
      };
    },
  };
}
