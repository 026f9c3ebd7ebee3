/**
 * The bench's HTTP client: plain global fetch with the binary forms of produce and fetch (docs/api.md,
 * lambdas/http/binary.ts). It is deliberately the smallest thing that works, behind one interface
 * (`BenchClient`), so the SDK can replace it once it exists.
 *
 * It also meters what an API Gateway would see: one call per HTTP request, and the bytes each way
 * (HTTP APIs bill per 512 KB of a request, see bench/cost.ts).
 */
import {
  BATCHES_CONTENT_TYPE,
  HIGH_WATERMARK_HEADER,
  NEXT_OFFSET_HEADER,
  PRODUCE_CONTENT_TYPE,
} from '../lambdas/http/binary.ts';

export interface HttpCall {
  /** Request body bytes. */
  requestBytes: number;
  /** Response body bytes. */
  responseBytes: number;
  /** Wall time from sending to having read the whole response. */
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
  /** Sends a body made by `encodeProduceBody`; returns the call's latency in ms. */
  produce(topic: string, body: Uint8Array): Promise<number>;
  fetchBatches(
    topic: string,
    partition: number,
    offset: number,
    options: { maxBytes: number; maxWaitMs?: number },
  ): Promise<FetchedBatches>;
  readonly calls: CallLog;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    body: string,
    what: string,
  ) {
    super(`${what}: HTTP ${status} ${body.slice(0, 300)}`);
  }
}

export function createBenchClient(baseUrl: string): BenchClient {
  const calls = new CallLog();

  async function call(
    what: string,
    path: string,
    init: RequestInit & { body?: Uint8Array | string },
  ): Promise<{ response: Response; bytes: Uint8Array; latencyMs: number }> {
    const started = performance.now();
    const response = await fetch(`${baseUrl}${path}`, init);
    const bytes = new Uint8Array(await response.arrayBuffer());
    const latencyMs = performance.now() - started;
    const body = init.body;
    const requestBytes =
      body === undefined ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
    calls.calls.push({ requestBytes, responseBytes: bytes.byteLength, latencyMs });
    if (!response.ok) throw new HttpError(response.status, new TextDecoder().decode(bytes), what);
    return { response, bytes, latencyMs };
  }

  return {
    calls,

    async createTopic(name, partitions) {
      await call(`create topic ${name}`, '/v1/topics', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name, partitions }),
      });
    },

    async produce(topic, body) {
      const { latencyMs } = await call(`produce to ${topic}`, `/v1/topics/${topic}/records`, {
        method: 'POST',
        headers: { 'content-type': PRODUCE_CONTENT_TYPE },
        body,
      });
      return latencyMs;
    },

    async fetchBatches(topic, partition, offset, { maxBytes, maxWaitMs = 0 }) {
      const query = `offset=${offset}&max_bytes=${maxBytes}${maxWaitMs > 0 ? `&max_wait_ms=${maxWaitMs}` : ''}`;
      const { response, bytes, latencyMs } = await call(
        `fetch ${topic}/${partition}@${offset}`,
        `/v1/topics/${topic}/partitions/${partition}/records?${query}`,
        { method: 'GET', headers: { accept: BATCHES_CONTENT_TYPE } },
      );
      return {
        bytes: bytes.byteLength,
        nextOffset: Number(response.headers.get(NEXT_OFFSET_HEADER)),
        highWatermark: Number(response.headers.get(HIGH_WATERMARK_HEADER)),
        latencyMs,
      };
    },
  };
}
