/**
 * Each system of the peer comparison is driven from a process of its own (bench/peers/peer-process.ts),
 * forked for it and closed after it, as a client application would be: the bench process keeps
 * everything its earlier scenarios made, and its garbage collections in that heap would be counted
 * as the client's cost of whichever system ran last. The server (redis-server, nats-server,
 * Streambed's) is started by the bench process and named to the client by its port or URL.
 */
import { fileURLToPath } from 'node:url';
import { forkChild } from '../child-link.ts';
import type { PeerMeasurement, PeerServerProcess, PeerWorkload } from './workload.ts';

/** Which client to open, and where its server listens (127.0.0.1). */
export type PeerClientSpec =
  | { system: 'redis'; port: number }
  | { system: 'nats'; port: number }
  | { system: 'streambed-json' | 'streambed-sdk'; url: string };

/** The call the client process answers: the whole workload, measured. */
export interface PeerClientCall {
  spec: PeerClientSpec;
  workload: PeerWorkload;
  about: Pick<PeerMeasurement, 'client' | 'config'>;
  server: PeerServerProcess;
}

const CLIENT_SCRIPT = fileURLToPath(new URL('./peer-process.ts', import.meta.url));
const START_TIMEOUT_MS = 30_000;

/** Runs `call`'s workload in a fresh client process and closes it. */
export async function measureInOwnProcess(call: PeerClientCall): Promise<PeerMeasurement> {
  const link = forkChild<object, PeerClientCall>(CLIENT_SCRIPT, [], {
    name: `${call.spec.system} client process`,
    startTimeoutMs: START_TIMEOUT_MS,
  });
  try {
    await link.ready;
    return (await link.call(call)) as PeerMeasurement;
  } finally {
    await link.close();
  }
}
