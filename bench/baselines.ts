/**
 * The bare transport baseline: the same bodies and response sizes as a Streambed measurement, sent at
 * the same concurrency to a node:http server with nothing behind it (bench/bare-server.ts, a process
 * of its own), from the process that sends Streambed's: the client process (bench/client-process.ts),
 * POSTs like its producers, GETs like its fetches. Two clients:
 *
 * - `sdk`: the SDK's own HTTP path (client/http-exchange.ts: node:http with a keep-alive agent, the
 *   response read whole into one buffer), which its transport uses unless given a `fetch`.
 * - `fetch`: the global fetch (undici), the response read whole with `arrayBuffer()`. The gap between
 *   the two is what that client library would cost.
 *
 * A measurement is a warm-up pass (it opens the keep-alive connections and warms the code), then
 * PASSES passes of every client in turn, each on a collected heap (bench/gc.ts), median per client: a
 * single short pass, right after a Streambed run, mostly measures that run's garbage and the first
 * connections.
 */
import { fileURLToPath } from 'node:url';
import { exchange, keepAliveAgent } from '../client/http-exchange.ts';
import { forkChild } from './child-link.ts';
import type { ClientProcess } from './client-process.ts';
import { type CpuPerMiB, type CpuTime, cpuDifference, cpuPerMiB, medianCpu, withCpu } from './cpu.ts';
import { collectGarbage } from './gc.ts';
import { MiB, median, runPool } from './stats.ts';

export type BareClient = 'sdk' | 'fetch';
export const BARE_CLIENTS: readonly BareClient[] = ['sdk', 'fetch'];
/** How the report names each client. */
export const BARE_CLIENT_NAMES: Record<BareClient, string> = {
  sdk: "the SDK's client (node:http)",
  fetch: 'fetch (undici)',
};

export interface BareHttp {
  /** Where the bare server listens. */
  url: string;
  /** POSTs `body` through `client` (default the SDK's); returns the latency in ms. */
  post(body: Uint8Array, client?: BareClient): Promise<number>;
  /** GETs `bytes` bytes through `client` (default the SDK's); returns the latency in ms. */
  get(bytes: number, client?: BareClient): Promise<number>;
  /** The bare server process's CPU time so far, its main thread's included where /proc tells it. */
  cpu(): Promise<CpuTime>;
  close(): Promise<void>;
}

/** Payload MiB/s of the bare transport through each client. */
export interface BareRates {
  /** The SDK's client: node:http with a keep-alive agent (client/http-exchange.ts). */
  sdkMibPerSec: number;
  /** The global fetch (undici). */
  fetchMibPerSec: number;
  /** CPU per MiB of the bare server and the client's process with the SDK's client (median over passes). */
  sdkCpu: CpuPerMiB;
}

/** One timed pass of requests: its wall time and the CPU of the process that sent them. */
export interface TimedPass {
  seconds: number;
  cpu: CpuTime;
}

const SERVER_SCRIPT = fileURLToPath(new URL('./bare-server.ts', import.meta.url));
const PASSES = 3;
const START_TIMEOUT_MS = 30_000;

/**
 * Starts the bare server; its store-only produce writes into `storeDir`, with the fs object store's
 * fsyncs when `fsync` (as the bench's server stores with its durability).
 */
export async function startBareHttp(storeDir: string, { fsync }: { fsync: boolean }): Promise<BareHttp> {
  const link = forkChild<{ url: string }, null>(SERVER_SCRIPT, [storeDir, fsync ? 'fsync' : 'none'], {
    name: 'bare HTTP server',
    startTimeoutMs: START_TIMEOUT_MS,
  });
  const { url } = await link.ready;
  const client = bareClient(url);
  return {
    url,
    post: client.post,
    get: client.get,
    cpu: () => link.call(null) as Promise<CpuTime>,
    async close() {
      client.close();
      await link.close();
    },
  };
}

/** Requests to the bare server at `url` through either client, from whichever process calls this. */
export function bareClient(url: string): Pick<BareHttp, 'post' | 'get'> & { close(): void } {
  const agent = keepAliveAgent(new URL(url));
  const viaSdk = async (method: string, path: string, body?: Uint8Array) => {
    const { status } = await exchange(new URL(path, url), {
      method,
      headers: {},
      body,
      timeoutMs: 60_000,
      agent,
    });
    if (status !== 200) throw new Error(`bare HTTP baseline: HTTP ${status}`);
  };
  const viaFetch = async (path: string, init?: RequestInit) => {
    const response = await fetch(`${url}${path}`, init);
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`bare HTTP baseline: HTTP ${response.status}`);
  };
  const timed = async (send: () => Promise<void>): Promise<number> => {
    const start = performance.now();
    await send();
    return performance.now() - start;
  };
  return {
    post: (body, client = 'sdk') =>
      timed(() => (client === 'fetch' ? viaFetch('/', { method: 'POST', body }) : viaSdk('POST', '/', body))),
    get: (bytes, client = 'sdk') =>
      timed(() => (client === 'fetch' ? viaFetch(`/?bytes=${bytes}`) : viaSdk('GET', `/?bytes=${bytes}`))),
    close: () => agent.destroy(),
  };
}

/**
 * `requests` calls of `send(index)`, `concurrency` in flight, timed with this process's CPU; with
 * `collect`, on a collected heap (bench/gc.ts).
 */
export async function timedPass(
  requests: number,
  concurrency: number,
  send: (index: number) => Promise<unknown>,
  { collect }: { collect: boolean },
): Promise<TimedPass> {
  if (collect) collectGarbage();
  const { seconds, cpu } = await withCpu(() =>
    runPool(requests, concurrency, async (index) => {
      await send(index);
    }),
  );
  return { seconds, cpu };
}

/** Payload MiB/s of a kind of pass and its CPU per MiB (bare server and client process), medians over passes. */
interface KindRate {
  mibPerSec: number;
  cpu: CpuPerMiB;
}

/**
 * A warm-up pass of each kind (`pass(kind, true)`), then PASSES timed passes per kind in turn, each on
 * a collected heap; payload MiB/s = `payloadBytes` / a pass's wall time, median over passes, with the
 * CPU per MiB of the bare server and of the process that sent the requests.
 */
async function measureKinds<K extends string>(
  bare: BareHttp,
  payloadBytes: number,
  kinds: readonly K[],
  pass: (kind: K, warmUp: boolean) => Promise<TimedPass>,
): Promise<Record<K, KindRate>> {
  const rates = new Map<K, number[]>(kinds.map((kind) => [kind, []]));
  const cpu = new Map<K, CpuPerMiB[]>(kinds.map((kind) => [kind, []]));
  for (const kind of kinds) await pass(kind, true);
  for (let round = 0; round < PASSES; round++) {
    for (const kind of kinds) {
      const serverAt = await bare.cpu();
      const { seconds, cpu: clientUsed } = await pass(kind, false);
      const serverUsed = cpuDifference(serverAt, await bare.cpu());
      rates.get(kind)?.push(payloadBytes / MiB / seconds);
      cpu.get(kind)?.push(cpuPerMiB(serverUsed, clientUsed, payloadBytes, seconds));
    }
  }
  return Object.fromEntries(
    kinds.map((kind) => [
      kind,
      { mibPerSec: median(rates.get(kind) ?? []), cpu: medianCpu(cpu.get(kind) ?? []) as CpuPerMiB },
    ]),
  ) as Record<K, KindRate>;
}

/** Each client's passes (`measureKinds`), as BareRates. */
async function measure(
  bare: BareHttp,
  payloadBytes: number,
  pass: (client: BareClient, warmUp: boolean) => Promise<TimedPass>,
): Promise<BareRates> {
  const { sdk, fetch } = await measureKinds(bare, payloadBytes, BARE_CLIENTS, pass);
  return { sdkMibPerSec: sdk.mibPerSec, fetchMibPerSec: fetch.mibPerSec, sdkCpu: sdk.cpu };
}

/** Requests in a warm-up pass: enough to open the keep-alive connections and warm the code. */
const warmUpRequests = (requests: number, concurrency: number) =>
  Math.min(requests, Math.max(2 * concurrency, 8));

/**
 * `requests` POSTs of one produce request's body (`recordsPerRequest` records of `recordBytes`),
 * `concurrency` in flight, sent by `clients` (the process that sends Streambed's produce requests,
 * bench/client-process.ts); `payloadBytes` is what they carry in all.
 */
export function measureBarePost(
  bare: BareHttp,
  clients: ClientProcess,
  options: {
    recordBytes: number;
    recordsPerRequest: number;
    requests: number;
    concurrency: number;
    payloadBytes: number;
  },
): Promise<BareRates> {
  const { requests, concurrency, recordBytes, recordsPerRequest } = options;
  return measure(bare, options.payloadBytes, (client, warmUp) =>
    clients.barePost(bare.url, {
      recordBytes,
      recordsPerRequest,
      requests: warmUp ? warmUpRequests(requests, concurrency) : requests,
      concurrency,
      client,
      collect: !warmUp,
    }),
  );
}

/**
 * The SDK producers of Streambed's produce headline (`clients`' produce pass: one producer per lane,
 * the same records, `concurrency` in flight), against the bare server's store-only produce instead of
 * Streambed: what producing these records durably costs with no log behind the route. `topic` is
 * the route's; the server counts offsets per partition of each topic, from 0.
 */
export async function measureStoreOnly(
  bare: BareHttp,
  clients: ClientProcess,
  options: {
    topic: string;
    recordBytes: number;
    recordsPerRequest: number;
    requests: number;
    concurrency: number;
    payloadBytes: number;
  },
): Promise<KindRate> {
  const { payloadBytes, ...request } = options;
  const { storeOnly } = await measureKinds(bare, payloadBytes, ['storeOnly'], async (_, warmUp) => {
    const pass = await clients.produceTo(bare.url, {
      ...request,
      requests: warmUp ? warmUpRequests(request.requests, request.concurrency) : request.requests,
      collect: !warmUp,
    });
    return { seconds: pass.seconds, cpu: pass.cpu };
  });
  return storeOnly;
}

/**
 * GETs of each of `responseBytes` in turn, `concurrency` in flight, sent by `clients` (the process
 * that reads Streambed's fetches, bench/client-process.ts); `payloadBytes` in all.
 */
export function measureBareGet(
  bare: BareHttp,
  clients: ClientProcess,
  responseBytes: readonly number[],
  options: { concurrency: number; payloadBytes: number },
): Promise<BareRates> {
  const { concurrency } = options;
  return measure(bare, options.payloadBytes, (client, warmUp) => {
    const sizes = warmUp
      ? responseBytes.slice(0, warmUpRequests(responseBytes.length, concurrency))
      : responseBytes;
    return clients.bareGet(bare.url, sizes, { concurrency, client, collect: !warmUp });
  });
}
