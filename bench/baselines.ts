/**
 * The bare transport baseline: the same bodies and response sizes as a Streambed measurement, sent at
 * the same concurrency to a node:http server with nothing behind it (bench/bare-server.ts, a process
 * of its own), from the bench process, through two clients:
 *
 * - `sdk`: the SDK's own HTTP path (client/http-exchange.ts: node:http with a keep-alive agent, the
 *   response read whole into one buffer), which its transport uses unless given a `fetch`.
 * - `fetch`: the global fetch (undici), the response read whole with `arrayBuffer()`. The gap between
 *   the two is what that client library would cost.
 *
 * A measurement is a warm-up pass (it opens the keep-alive connections and warms the code), then
 * PASSES passes of every client in turn, each on a collected heap (bench/gc.ts), median per client: a single short pass, right after a
 * Streambed run, mostly measures that run's garbage and the first connections.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { exchange, keepAliveAgent } from '../client/http-exchange.ts';
import { type CpuPerMiB, cpuBetween, cpuPerMiB, cpuSince, medianCpu } from './cpu.ts';
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
  /** POSTs `body` through `client` (default the SDK's); returns the latency in ms. */
  post(body: Uint8Array, client?: BareClient): Promise<number>;
  /** GETs `bytes` bytes through `client` (default the SDK's); returns the latency in ms. */
  get(bytes: number, client?: BareClient): Promise<number>;
  /** The bare server process's CPU time so far. */
  cpu(): Promise<NodeJS.CpuUsage>;
  close(): Promise<void>;
}

/** Payload MiB/s of the bare transport through each client. */
export interface BareRates {
  /** The SDK's client: node:http with a keep-alive agent (client/http-exchange.ts). */
  sdkMibPerSec: number;
  /** The global fetch (undici). */
  fetchMibPerSec: number;
  /** CPU per MiB of the bare server and the bench process with the SDK's client (median over passes). */
  sdkCpu: CpuPerMiB;
}

const SERVER_SCRIPT = fileURLToPath(new URL('./bare-server.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const PASSES = 3;
const START_TIMEOUT_MS = 30_000;

export async function startBareHttp(): Promise<BareHttp> {
  const child = fork(SERVER_SCRIPT, [], {
    cwd: REPO_ROOT,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const url = await started(child);
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
  const cpu = (): Promise<NodeJS.CpuUsage> =>
    new Promise((resolve, reject) => {
      child.once('message', (message) => resolve((message as { cpu: NodeJS.CpuUsage }).cpu));
      child.send({ op: 'cpu' }, (error) => {
        if (error) reject(error);
      });
    });
  return {
    cpu,
    post: (body, client = 'sdk') =>
      timed(() => (client === 'fetch' ? viaFetch('/', { method: 'POST', body }) : viaSdk('POST', '/', body))),
    get: (bytes, client = 'sdk') =>
      timed(() => (client === 'fetch' ? viaFetch(`/?bytes=${bytes}`) : viaSdk('GET', `/?bytes=${bytes}`))),
    async close() {
      agent.destroy();
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      if (child.connected) child.disconnect();
      else child.kill('SIGKILL');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

function started(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the bare HTTP server did not start within ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
    child.once('message', (message) => {
      clearTimeout(timer);
      resolve((message as { url: string }).url);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the bare HTTP server exited (code ${code}, signal ${signal})`));
    });
  });
}

/**
 * `requests` calls of `send(index, client)`, `concurrency` in flight, through each client: a warm-up
 * pass, then PASSES passes per client in turn; payload MiB/s = `payloadBytes` / a pass's wall time,
 * median over passes. The SDK client's passes also count both processes' CPU.
 */
async function measure(
  bare: BareHttp,
  requests: number,
  concurrency: number,
  payloadBytes: number,
  send: (index: number, client: BareClient) => Promise<number>,
): Promise<BareRates> {
  const warmUp = Math.min(requests, Math.max(2 * concurrency, 8));
  const rates: Record<BareClient, number[]> = { sdk: [], fetch: [] };
  const cpu: CpuPerMiB[] = [];
  for (const client of BARE_CLIENTS) {
    await runPool(warmUp, concurrency, async (index) => {
      await send(index, client);
    });
  }
  for (let pass = 0; pass < PASSES; pass++) {
    for (const client of BARE_CLIENTS) {
      collectGarbage();
      const serverAt = await bare.cpu();
      const clientAt = process.cpuUsage();
      const start = performance.now();
      await runPool(requests, concurrency, async (index) => {
        await send(index, client);
      });
      const seconds = (performance.now() - start) / 1000;
      const clientUsed = cpuSince(clientAt);
      const serverUsed = cpuBetween(serverAt, await bare.cpu());
      rates[client].push(payloadBytes / MiB / seconds);
      if (client === 'sdk') cpu.push(cpuPerMiB(serverUsed, clientUsed, payloadBytes, seconds));
    }
  }
  return {
    sdkMibPerSec: median(rates.sdk),
    fetchMibPerSec: median(rates.fetch),
    sdkCpu: medianCpu(cpu) as CpuPerMiB,
  };
}

/** `requests` POSTs of `body`, `concurrency` in flight; `payloadBytes` is what they carry in all. */
export function measureBarePost(
  bare: BareHttp,
  body: Uint8Array,
  options: { requests: number; concurrency: number; payloadBytes: number },
): Promise<BareRates> {
  return measure(bare, options.requests, options.concurrency, options.payloadBytes, (_, client) =>
    bare.post(body, client),
  );
}

/** GETs of each of `responseBytes` in turn, `concurrency` in flight; `payloadBytes` in all. */
export function measureBareGet(
  bare: BareHttp,
  responseBytes: readonly number[],
  options: { concurrency: number; payloadBytes: number },
): Promise<BareRates> {
  return measure(bare, responseBytes.length, options.concurrency, options.payloadBytes, (index, client) =>
    bare.get(responseBytes[index] as number, client),
  );
}
