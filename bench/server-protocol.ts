/** What the bench process (bench/harness.ts) and its server process (bench/server.ts) say to each other. */
import type { MetaCounts, ObjectCounts } from '../lambdas/adapters/counting-stores.ts';
import type { Durability } from '../lambdas/adapters/durability.ts';
import type { CpuTime } from './cpu.ts';
import type { RequestUnits } from './metered-meta-store.ts';
import type { BackendKind } from './plan.ts';
import type { CoreLayersArgs } from './scenarios/core-layers.ts';

export interface ServerConfig {
  backend: BackendKind;
  /** The embedded backend's durability; its default (`fsync`) when unset. */
  durability?: Durability;
  /** For the aws backend: the DynamoDB and S3 endpoints (emulators or LocalStack). */
  aws?: {
    dynamoEndpoint: string;
    s3Endpoint: string;
    credentials?: { accessKeyId: string; secretAccessKey: string };
  };
}

/** What storage saw during one phase. */
export interface StorageCounts {
  objects: ObjectCounts;
  meta: Omit<MetaCounts, 'transactSizes'> & { opsPerTransaction: number[] };
  units: RequestUnits;
  /** CPU the server process used during the phase (bench/cpu.ts); absent for a server reached by --url. */
  cpu?: CpuTime;
  /**
   * Share of the phase the server's event loop spent running code rather than waiting for I/O
   * (performance.eventLoopUtilization, 0..1): near 1, its one JavaScript thread is what limits it.
   */
  loopBusy?: number;
}

export interface ServerMemory {
  /** Peak RSS of the server process since it started, MB. */
  peakMb: number;
  /** Peak RSS since the previous `memory` call, MB. */
  windowPeakMb: number;
  usage: NodeJS.MemoryUsage;
}

export type ServerCall =
  /** `collect`: a full garbage collection first (bench/gc.ts), before a headline pass. */
  | { op: 'begin'; collect?: boolean }
  | { op: 'end' }
  | { op: 'memory' }
  | { op: 'buildLog'; topic: string; batches: number; valueBytes: number }
  | { op: 'coreLayers'; args: CoreLayersArgs }
  /** `--profile` (bench/profiler.ts): start V8's CPU profiler; stop it, answering the profile. */
  | { op: 'profileStart'; intervalUs: number }
  | { op: 'profileStop' };

/** What the server process says once it is ready (bench/child-link.ts carries it). */
export interface ServerReady {
  url: string;
  /** `host:port` of the server's Kafka listener (DESIGN §13), as Kafka clients take it. */
  kafkaBroker: string;
  rssMb: number;
}
