/**
 * What every scenario runs on: the real local server in a process of its own (bench/server.ts) over
 * counted storage, an SDK client in this process (topics, small scenarios) and the headlines' one in a process of its own
 * (bench/client-process.ts), progress lines on stderr, and the calls that reach into the server process — its
 * storage counters, its memory, and the work that runs next to its storage (building long logs,
 * timing core layers).
 *
 * Backends: `embedded` (SQLite + files in a temporary directory), `memory`, or `aws`: DynamoDB + S3 on
 * the emulators the tests use (DynamoDB Local and s3rver, started here), or on LocalStack when
 * AWS_ENDPOINT_URL points at one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TransportOptions } from '../client/transport.ts';
import { noMetaCounts, noObjectCounts } from '../lambdas/adapters/counting-stores.ts';
import { DEFAULT_DURABILITY, type Durability } from '../lambdas/adapters/durability.ts';
import { startDynamoDbLocal } from '../test/support/dynamodb-local.ts';
import { startS3Emulator } from '../test/support/s3-emulator.ts';
import { type BareHttp, startBareHttp } from './baselines.ts';
import { forkChild } from './child-link.ts';
import { type BenchClient, createBenchClient, type HttpCall } from './client.ts';
import { type ClientProcess, inProcessClient, startClientProcess } from './client-process.ts';
import { collectGarbage } from './gc.ts';
import { emptyUnits } from './metered-meta-store.ts';
import type { BackendKind } from './plan.ts';
import { type CpuProfile, type PhaseProfiler, phaseProfiler, SAMPLING_INTERVAL_US } from './profiler.ts';
import type { CoreLayersArgs, LayerTiming } from './scenarios/core-layers.ts';
import type {
  ServerCall,
  ServerConfig,
  ServerMemory,
  ServerReady,
  StorageCounts,
} from './server-protocol.ts';

/** Everything storage and HTTP saw during one phase. */
export interface PhaseCounts extends StorageCounts {
  calls: HttpCall[];
}

export interface Harness {
  url: string;
  client: BenchClient;
  /**
   * False for a server reached by --url: no storage counters, no server process to measure or to
   * run core steps in, no bare HTTP baseline beside it, and raw file baselines would be of the wrong
   * machine.
   */
  local: boolean;
  /** The bare HTTP baseline (bench/baselines.ts, a process of its own), beside a local server only. */
  bare?: BareHttp;
  /** `host:port` of the local server's Kafka listener (scenarios/kafka.ts); unset for --url. */
  kafkaBroker?: string;
  backend: BackendKind;
  /**
   * The embedded backend's durability (undefined for the others): the raw filesystem baselines fsync
   * when it does, so that they write the way the server does.
   */
  durability?: Durability;
  /** The DynamoDB and S3 endpoints behind the aws backend. */
  aws?: NonNullable<ServerConfig['aws']>;
  /** A scratch directory for the raw filesystem baseline (the same filesystem as the embedded data). */
  scratchDir: string;
  /**
   * Starts counting from zero. `collect`: both processes collect their garbage first (bench/gc.ts),
   * for a headline pass.
   */
  beginPhase(options?: { collect?: boolean }): Promise<void>;
  /** What was counted since beginPhase. */
  endPhase(): Promise<PhaseCounts>;
  /** The server process's memory; each call starts a new window for `windowPeakMb`. */
  serverMemory(): Promise<ServerMemory>;
  /** RSS of the server process when it was ready, before any request. */
  serverStartRssMb: number;
  /** The server process's id (bench/cpu.ts processCpu reads its CPU time); unset for --url. */
  serverPid?: number;
  /** A one-partition topic of `batches` one-record batches, built through the core log service. */
  buildLog(topic: string, batches: number, valueBytes: number): Promise<{ batchesPerSec: number }>;
  /** Core steps of one request timed in the server process (scenarios/core-layers.ts). */
  coreLayers(args: CoreLayersArgs): Promise<LayerTiming[]>;
  /**
   * Sends the produce headlines' requests and reads the fetch headlines', with the bare POSTs and GETs
   * they are compared with (bench/client-process.ts): a process of its own beside a local server, the
   * bench process against --url.
   */
  clientProcess: ClientProcess;
  /** `--profile`: CPU profiles of the server and the client around the headline phases. */
  profiler?: PhaseProfiler;
  progress(message: string): void;
  close(): Promise<void>;
}

const SERVER_SCRIPT = fileURLToPath(new URL('./server.ts', import.meta.url));
const START_TIMEOUT_MS = 60_000;

/** Progress on stderr, each line stamped with the seconds since this call. */
function progressLines(): (message: string) => void {
  const started = performance.now();
  return (message) => {
    const seconds = ((performance.now() - started) / 1000).toFixed(1).padStart(6);
    process.stderr.write(`[bench ${seconds}s] ${message}\n`);
  };
}

/** The emulators behind `--backend aws`, or LocalStack when AWS_ENDPOINT_URL names one. */
export async function awsEndpoints(
  progress: (message: string) => void,
): Promise<{ config: NonNullable<ServerConfig['aws']>; stop: () => Promise<void> }> {
  const external = process.env.AWS_ENDPOINT_URL;
  if (external !== undefined && external !== '') {
    progress(`aws backend on ${external} (AWS_ENDPOINT_URL)`);
    return { config: { dynamoEndpoint: external, s3Endpoint: external }, stop: async () => {} };
  }
  const started = await Promise.allSettled([startDynamoDbLocal(), startS3Emulator()]);
  const [dynamo, s3] = started.map((each) => (each.status === 'fulfilled' ? each.value : undefined));
  if (dynamo === undefined || s3 === undefined) {
    // One may have started: stop it, then report why the other did not.
    await Promise.all([dynamo?.stop(), s3?.stop()]);
    const failed = started.find((each) => each.status === 'rejected');
    throw failed?.status === 'rejected' ? failed.reason : new Error('the emulators did not start');
  }
  progress(`aws backend on emulators: DynamoDB Local ${dynamo.endpoint}, s3rver ${s3.endpoint}`);
  return {
    config: {
      dynamoEndpoint: dynamo.endpoint,
      s3Endpoint: s3.endpoint,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    },
    stop: async () => {
      await Promise.all([dynamo.stop(), s3.stop()]);
    },
  };
}

export interface HarnessOptions {
  /**
   * Emulators already running (the tests'), instead of starting a pair: the aws backend's storage,
   * and the Lambda memory scenario's on any backend.
   */
  aws?: ServerConfig['aws'];
  /** The embedded backend's durability (bench/durability.ts runs both); default `fsync`. */
  durability?: Durability;
  /** CPU-profile both processes around the headline phases (`--profile`). */
  profile?: boolean;
}

export async function startHarness(kind: BackendKind, options: HarnessOptions = {}): Promise<Harness> {
  const progress = progressLines();
  const aws =
    kind !== 'aws'
      ? undefined
      : options.aws !== undefined
        ? { config: options.aws, stop: async () => {} }
        : await awsEndpoints(progress);
  const scratch = mkdtempSync(join(tmpdir(), 'streambed-bench-'));
  const durability = kind === 'embedded' ? (options.durability ?? DEFAULT_DURABILITY) : undefined;
  const config: ServerConfig = {
    backend: kind,
    ...(durability ? { durability } : {}),
    ...(aws ? { aws: aws.config } : {}),
  };
  const link = forkChild<ServerReady, ServerCall>(SERVER_SCRIPT, [JSON.stringify(config)], {
    name: 'bench server',
    startTimeoutMs: START_TIMEOUT_MS,
    progress,
  });
  let ready: ServerReady;
  try {
    ready = await link.ready;
  } catch (error) {
    await aws?.stop();
    rmSync(scratch, { recursive: true, force: true });
    throw error;
  }
  const client = createBenchClient({ url: ready.url });
  const started = await Promise.allSettled([
    startBareHttp(join(scratch, 'store-only'), { fsync: durability === 'fsync' }),
    startClientProcess(ready.url),
  ]);
  const [bare, clientProcess] = started.map((each) =>
    each.status === 'fulfilled' ? each.value : undefined,
  ) as [BareHttp | undefined, ClientProcess | undefined];
  if (bare === undefined || clientProcess === undefined) {
    await Promise.all([link.close(), bare?.close(), clientProcess?.close()]);
    await aws?.stop();
    rmSync(scratch, { recursive: true, force: true });
    throw (started.find((each) => each.status === 'rejected') as PromiseRejectedResult).reason;
  }

  return {
    url: ready.url,
    client,
    local: true,
    bare,
    clientProcess,
    kafkaBroker: ready.kafkaBroker,
    backend: kind,
    ...(durability ? { durability } : {}),
    ...(aws ? { aws: aws.config } : {}),
    scratchDir: join(scratch, 'raw'),
    serverStartRssMb: ready.rssMb,
    ...(link.pid === undefined ? {} : { serverPid: link.pid }),
    async beginPhase({ collect = false } = {}) {
      client.calls.reset();
      await link.call({ op: 'begin', collect });
      if (collect) collectGarbage();
    },
    async endPhase() {
      const counts = (await link.call({ op: 'end' })) as StorageCounts;
      return { ...counts, calls: client.calls.reset() };
    },
    serverMemory: () => link.call({ op: 'memory' }) as Promise<ServerMemory>,
    buildLog: (topic, batches, valueBytes) =>
      link.call({ op: 'buildLog', topic, batches, valueBytes }) as Promise<{ batchesPerSec: number }>,
    coreLayers: (args) => link.call({ op: 'coreLayers', args }) as Promise<LayerTiming[]>,
    ...(options.profile
      ? {
          profiler: phaseProfiler(
            {
              start: async (intervalUs = SAMPLING_INTERVAL_US) => {
                await link.call({ op: 'profileStart', intervalUs });
              },
              stop: () => link.call({ op: 'profileStop' }) as Promise<CpuProfile>,
            },
            clientProcess.profiler,
          ),
        }
      : {}),
    progress,
    async close() {
      try {
        await Promise.all([link.close(), bare.close(), clientProcess.close()]);
        await aws?.stop();
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    },
  };
}

/**
 * A server somewhere else (`--url`: a deployed stack, or a server started by hand), reached through
 * the SDK with its token or SigV4. Only what a client can see is measured: storage counts come back
 * empty, and what needs the server process throws.
 */
export function connectHarness(target: TransportOptions): Harness {
  const client = createBenchClient(target);
  const clientProcess = inProcessClient(client);
  const scratch = mkdtempSync(join(tmpdir(), 'streambed-bench-'));
  const remoteOnly = (what: string) => () =>
    Promise.reject(new Error(`${what} needs the bench's own server process, not --url`));
  return {
    url: target.url,
    client,
    local: false,
    clientProcess,
    backend: 'remote',
    scratchDir: join(scratch, 'raw'),
    serverStartRssMb: Number.NaN,
    async beginPhase({ collect = false } = {}) {
      client.calls.reset();
      if (collect) collectGarbage();
    },
    async endPhase() {
      return { ...emptyStorageCounts(), calls: client.calls.reset() };
    },
    serverMemory: remoteOnly('server memory'),
    buildLog: remoteOnly('building a log through the core'),
    coreLayers: remoteOnly('timing core layers'),
    progress: progressLines(),
    async close() {
      await clientProcess.close();
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}

function emptyStorageCounts(): StorageCounts {
  const { transactSizes, ...meta } = noMetaCounts();
  return {
    objects: noObjectCounts(),
    meta: { ...meta, opsPerTransaction: transactSizes },
    units: emptyUnits(),
  };
}
