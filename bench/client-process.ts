/**
 * The client of the headlines: it sends the produce scenario's SDK requests and the bare POSTs they
 * are compared with, and reads the read-back scenario's fetches and the bare GETs compared with them.
 * Beside the bench's own server it runs in a process of its own (bench/client-process-child.ts), as a
 * producer's or a consumer's application would: the bench process keeps everything its scenarios
 * made, and its garbage collections in that heap would be counted as the client's cost. Against a
 * server reached by --url it runs in the bench process (`inProcessClient`), through the client that
 * carries the token or the SigV4 signer.
 *
 * Either way the same functions produce and read (`producePass`, `readPass`, `barePostPass`,
 * `bareGetPass`), so the two differ only by where.
 */
import { fileURLToPath } from 'node:url';
import { type BareClient, bareClient, type TimedPass, timedPass } from './baselines.ts';
import { forkChild } from './child-link.ts';
import { type BenchClient, createBenchClient, type HttpCall } from './client.ts';
import { type CpuTime, withCpu } from './cpu.ts';
import { collectGarbage } from './gc.ts';
import { type CpuProfile, type CpuProfiler, cpuProfiler } from './profiler.ts';
import { payloadOf, produceBody } from './scenarios/produce.ts';
import { runPool } from './stats.ts';

/** `requests` SDK sends to a fresh topic, one partition per lane, `concurrency` in flight. */
export interface ProduceRequest {
  topic: string;
  concurrency: number;
  requests: number;
  recordBytes: number;
  recordsPerRequest: number;
  /** Start on a collected heap (bench/gc.ts), for a timed pass. */
  collect: boolean;
}

/** One produce pass: its wall time, each send's latency (ms), and the client process's CPU. */
export interface ProducePass {
  seconds: number;
  latencies: number[];
  cpu: CpuTime;
}

/** The bodies of a bare POST pass: what one produce request of that shape carries. */
export interface BarePostRequest {
  recordBytes: number;
  recordsPerRequest: number;
  requests: number;
  concurrency: number;
  client: BareClient;
  collect: boolean;
}

/** One read of a partition from offset 0 to its high watermark, one fetch at a time. */
export interface FetchPass {
  seconds: number;
  fetches: number;
  /** Each fetch's latency, ms. */
  latencies: number[];
  /** Each fetch as the HTTP API saw it (for metering). */
  calls: HttpCall[];
  /** CPU of the client process during the pass. */
  cpu: CpuTime;
}

export interface ReadRequest {
  topic: string;
  partition: number;
  highWatermark: number;
  maxBytes: number;
  /** Start on a collected heap (bench/gc.ts), for a headline pass. */
  collect: boolean;
}

export interface BareGetRequest {
  concurrency: number;
  client: BareClient;
  collect: boolean;
}

/** One pass at a time (`produce` and `read` refuse a second while one is under way). */
export interface ClientProcess {
  produce(request: ProduceRequest): Promise<ProducePass>;
  /** The same produce pass against the server at `url` instead (the bare server's store-only produce). */
  produceTo(url: string, request: ProduceRequest): Promise<ProducePass>;
  /** POSTs of one produce request's body to the bare server at `url` (bench/baselines.ts). */
  barePost(url: string, request: BarePostRequest): Promise<TimedPass>;
  read(request: ReadRequest): Promise<FetchPass>;
  /** GETs of each of `responseBytes` from the bare server at `url` (bench/baselines.ts). */
  bareGet(url: string, responseBytes: readonly number[], request: BareGetRequest): Promise<TimedPass>;
  /** CPU-profiles the client process (`--profile`). */
  profiler: CpuProfiler;
  close(): Promise<void>;
}

/** What the bench process asks the client process (bench/client-process-child.ts). */
export type ClientCall =
  | ({ op: 'produce'; url: string } & ProduceRequest)
  | ({ op: 'barePost'; url: string } & BarePostRequest)
  | ({ op: 'read'; url: string } & ReadRequest)
  | ({ op: 'bareGet'; url: string; responseBytes: readonly number[] } & BareGetRequest)
  | { op: 'profileStart'; intervalUs?: number }
  | { op: 'profileStop' };

/** Clients with a pass under way: their call log is the pass's. */
const busy = new WeakSet<BenchClient>();

/**
 * `pass` through `client`, one pass per client at a time: a pass's calls are what the client logs
 * during it, and concurrent passes would time each other anyway.
 */
async function onePass<T>(client: BenchClient, pass: () => Promise<T>): Promise<T> {
  if (busy.has(client)) throw new Error('a client runs one pass at a time: another is under way');
  busy.add(client);
  try {
    return await pass();
  } finally {
    busy.delete(client);
  }
}

/**
 * Sends `request`'s records through one SDK producer per lane (`send` of one request's records, the
 * binary form), each lane to a partition of its own.
 */
export function producePass(client: BenchClient, request: ProduceRequest): Promise<ProducePass> {
  return onePass(client, () => timedProduce(client, request));
}

async function timedProduce(client: BenchClient, request: ProduceRequest): Promise<ProducePass> {
  const { topic, concurrency, requests, recordBytes, recordsPerRequest } = request;
  const messages = Array.from({ length: concurrency }, (_, lane) =>
    Array.from({ length: recordsPerRequest }, (_, i) => ({
      value: payloadOf(recordBytes, i),
      partition: lane,
    })),
  );
  const batchBytes = produceBody(recordBytes, recordsPerRequest, 0).byteLength;
  const producers = messages.map(() => client.producer({ batchBytes, retry: { retries: 0 } }));
  const latencies: number[] = [];
  client.calls.reset();
  if (request.collect) collectGarbage();
  const { seconds, cpu } = await withCpu(() =>
    runPool(requests, concurrency, async (_, lane) => {
      const sent = performance.now();
      await producers[lane]?.send({ topic, messages: messages[lane] ?? [] });
      latencies.push(performance.now() - sent);
    }),
  );
  // The produce scenario counts storage, not calls: the log is dropped rather than left to grow.
  client.calls.reset();
  return { seconds, latencies, cpu };
}

/** Reads `request`'s partition through `client` (binary fetch, as the SDK consumer reads). */
export function readPass(client: BenchClient, request: ReadRequest): Promise<FetchPass> {
  return onePass(client, () => timedRead(client, request));
}

/** POSTs of one produce request's body through `bare`, `concurrency` in flight. */
export function barePostPass(
  bare: Pick<ReturnType<typeof bareClient>, 'post'>,
  { recordBytes, recordsPerRequest, requests, concurrency, client, collect }: BarePostRequest,
): Promise<TimedPass> {
  const body = produceBody(recordBytes, recordsPerRequest, 0);
  return timedPass(requests, concurrency, () => bare.post(body, client), { collect });
}

async function timedRead(client: BenchClient, request: ReadRequest): Promise<FetchPass> {
  const { topic, partition, highWatermark, maxBytes } = request;
  const where = `${topic}/${partition}`;
  const latencies: number[] = [];
  let offset = 0;
  client.calls.reset();
  if (request.collect) collectGarbage();
  const { seconds, cpu } = await withCpu(async () => {
    while (offset < highWatermark) {
      const result = await client.fetchBatches(topic, partition, offset, { maxBytes });
      latencies.push(result.latencyMs);
      if (result.nextOffset <= offset) throw new Error(`fetch of ${where} at ${offset} made no progress`);
      offset = result.nextOffset;
    }
  });
  if (offset !== highWatermark) throw new Error(`read ${where} to ${offset}, expected ${highWatermark}`);
  return { seconds, fetches: latencies.length, latencies, calls: client.calls.reset(), cpu };
}

/** GETs of each of `responseBytes` in turn from the bare server, through `bare`. */
export function bareGetPass(
  bare: Pick<ReturnType<typeof bareClient>, 'get'>,
  responseBytes: readonly number[],
  { concurrency, client, collect }: BareGetRequest,
): Promise<TimedPass> {
  const get = (index: number) => bare.get(responseBytes[index] as number, client);
  return timedPass(responseBytes.length, concurrency, get, { collect });
}

/** One client per URL, made the first time a URL is asked for; `close` closes every one made. */
export function clientsByUrl<T>(
  make: (url: string) => T,
  closeOne: (client: T) => void = () => {},
): { of(url: string): T; close(): void } {
  const clients = new Map<string, T>();
  return {
    of(url) {
      let client = clients.get(url);
      if (client === undefined) {
        client = make(url);
        clients.set(url, client);
      }
      return client;
    },
    close() {
      for (const client of clients.values()) closeOne(client);
      clients.clear();
    },
  };
}

/** Clients to the bare servers asked for so far, by URL. */
export const bareClients = () => clientsByUrl(bareClient, (client) => client.close());

/** Reads from this process, through `client` (and clients of their own to other URLs). */
export function inProcessClient(client: BenchClient): ClientProcess {
  const bare = bareClients();
  const others = clientsByUrl((url) => createBenchClient({ url }));
  return {
    produce: (request) => producePass(client, request),
    produceTo: (url, request) => producePass(others.of(url), request),
    barePost: (url, request) => barePostPass(bare.of(url), request),
    read: (request) => readPass(client, request),
    bareGet: (url, responseBytes, request) => bareGetPass(bare.of(url), responseBytes, request),
    profiler: cpuProfiler(),
    async close() {
      bare.close();
      others.close();
    },
  };
}

const CHILD_SCRIPT = fileURLToPath(new URL('./client-process-child.ts', import.meta.url));
const START_TIMEOUT_MS = 30_000;

/** A client process of its own, to the server at `url` (no token: the bench's own server). */
export async function startClientProcess(url: string): Promise<ClientProcess> {
  const link = forkChild<object, ClientCall>(CHILD_SCRIPT, [], {
    name: 'client process',
    startTimeoutMs: START_TIMEOUT_MS,
  });
  await link.ready;
  return {
    produce: (request) => link.call({ op: 'produce', url, ...request }) as Promise<ProducePass>,
    produceTo: (to, request) => link.call({ op: 'produce', url: to, ...request }) as Promise<ProducePass>,
    barePost: (bareUrl, request) =>
      link.call({ op: 'barePost', url: bareUrl, ...request }) as Promise<TimedPass>,
    read: (request) => link.call({ op: 'read', url, ...request }) as Promise<FetchPass>,
    bareGet: (bareUrl, responseBytes, request) =>
      link.call({ op: 'bareGet', url: bareUrl, responseBytes, ...request }) as Promise<TimedPass>,
    profiler: {
      start: async (intervalUs) => {
        await link.call({ op: 'profileStart', intervalUs });
      },
      stop: () => link.call({ op: 'profileStop' }) as Promise<CpuProfile>,
    },
    close: () => link.close(),
  };
}
