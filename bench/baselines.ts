/**
 * The bare transport baseline: the same bodies and response sizes as a Streambed measurement, sent at
 * the same concurrency to a node:http server with nothing behind it (bench/bare-server.ts, a process
 * of its own), from the bench process, through two clients:
 *
 * - `fetch`: the global fetch (undici), the client the SDK's transport uses (client/transport.ts); the
 *   response is read whole with `arrayBuffer()`, as the transport reads it.
 * - `node:http`: `http.request` on a keep-alive Agent; the response's bytes are counted as they
 *   arrive. The gap between the two is what the client library costs.
 *
 * A measurement is a warm-up pass (it opens the keep-alive connections and warms the code), then
 * PASSES passes of every client in turn, median per client: a single short pass, right after a
 * Streambed run, mostly measures that run's garbage and the first connections.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { MiB, median, runPool } from './stats.ts';

export type BareClient = 'fetch' | 'node:http';
export const BARE_CLIENTS: readonly BareClient[] = ['fetch', 'node:http'];

export interface BareHttp {
  /** POSTs `body` through `client` (default fetch); returns the latency in ms. */
  post(body: Uint8Array, client?: BareClient): Promise<number>;
  /** GETs `bytes` bytes through `client` (default fetch); returns the latency in ms. */
  get(bytes: number, client?: BareClient): Promise<number>;
  close(): Promise<void>;
}

/** Payload MiB/s of the bare transport through each client. */
export interface BareRates {
  /** The SDK's client: global fetch (undici). */
  fetchMibPerSec: number;
  /** node:http with a keep-alive Agent. */
  nodeHttpMibPerSec: number;
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
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const viaNodeHttp = (method: string, path: string, body?: Uint8Array) =>
    new Promise<void>((resolve, reject) => {
      const outgoing = httpRequest(
        `${url}${path}`,
        { method, agent, headers: body ? { 'content-length': body.byteLength } : {} },
        (response) => {
          response.on('data', () => {});
          response.on('error', reject);
          response.on('end', () =>
            response.statusCode === 200
              ? resolve()
              : reject(new Error(`bare HTTP baseline: HTTP ${response.statusCode}`)),
          );
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });
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
    post: (body, client = 'fetch') =>
      timed(() =>
        client === 'fetch' ? viaFetch('/', { method: 'POST', body }) : viaNodeHttp('POST', '/', body),
      ),
    get: (bytes, client = 'fetch') =>
      timed(() =>
        client === 'fetch' ? viaFetch(`/?bytes=${bytes}`) : viaNodeHttp('GET', `/?bytes=${bytes}`),
      ),
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
 * median over passes.
 */
async function measure(
  requests: number,
  concurrency: number,
  payloadBytes: number,
  send: (index: number, client: BareClient) => Promise<number>,
): Promise<BareRates> {
  const warmUp = Math.min(requests, Math.max(2 * concurrency, 8));
  const rates: Record<BareClient, number[]> = { fetch: [], 'node:http': [] };
  for (const client of BARE_CLIENTS) {
    await runPool(warmUp, concurrency, async (index) => {
      await send(index, client);
    });
  }
  for (let pass = 0; pass < PASSES; pass++) {
    for (const client of BARE_CLIENTS) {
      const start = performance.now();
      await runPool(requests, concurrency, async (index) => {
        await send(index, client);
      });
      rates[client].push(payloadBytes / MiB / ((performance.now() - start) / 1000));
    }
  }
  return { fetchMibPerSec: median(rates.fetch), nodeHttpMibPerSec: median(rates['node:http']) };
}

/** `requests` POSTs of `body`, `concurrency` in flight; `payloadBytes` is what they carry in all. */
export function measureBarePost(
  bare: BareHttp,
  body: Uint8Array,
  options: { requests: number; concurrency: number; payloadBytes: number },
): Promise<BareRates> {
  return measure(options.requests, options.concurrency, options.payloadBytes, (_, client) =>
    bare.post(body, client),
  );
}

/** GETs of each of `responseBytes` in turn, `concurrency` in flight; `payloadBytes` in all. */
export function measureBareGet(
  bare: BareHttp,
  responseBytes: readonly number[],
  options: { concurrency: number; payloadBytes: number },
): Promise<BareRates> {
  return measure(responseBytes.length, options.concurrency, options.payloadBytes, (index, client) =>
    bare.get(responseBytes[index] as number, client),
  );
}
