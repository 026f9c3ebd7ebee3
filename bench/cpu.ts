/**
 * CPU time spent moving the payload: what each process of a measurement (the server and the client)
 * used per MiB, user and system time of all its threads (process.cpuUsage: the event loop, libuv's
 * threadpool, V8's helpers, the kernel's work on its behalf).
 *
 * On a machine where client and server share the cores, this says what a throughput is limited by:
 * `busy` is the share of every core the two processes kept busy between them (1 = all of them). A
 * measurement near 1 is CPU-bound, and only less CPU per MiB makes it faster; one well below 1 waits
 * (on the disk, on a lock, on round trips), and the CPU figures bound what removing the wait could give:
 * `ceilingMibPerSec` is the rate at which the same CPU per MiB would fill every core.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { MiB, median, round } from './stats.ts';

/** CPU time used over an interval, ms. */
export interface CpuTime {
  userMs: number;
  systemMs: number;
  /**
   * Of userMs + systemMs, the process's main thread: its event loop and everything that runs on it
   * synchronously (a Node process's other threads are libuv's threadpool, doing file I/O, and V8's
   * helpers). Where /proc tells it (Linux).
   */
  mainThreadMs?: number;
}

/** CPU used between two process.cpuUsage() readings of one process. */
export function cpuBetween(from: NodeJS.CpuUsage, to: NodeJS.CpuUsage): CpuTime {
  return { userMs: (to.user - from.user) / 1000, systemMs: (to.system - from.system) / 1000 };
}

/** The CPU this process used since `start` (a process.cpuUsage() taken earlier). */
export const cpuSince = (start: NodeJS.CpuUsage): CpuTime => cpuBetween(start, process.cpuUsage());

/**
 * The CPU this process has used since it started, its main thread's share included where /proc
 * tells it: what a process reports about itself, to be subtracted from a later reading with
 * cpuDifference.
 */
export function ownCpu(): CpuTime {
  const { user, system } = process.cpuUsage();
  const mainThreadMs = threadCpuMs(process.pid, process.pid);
  return {
    userMs: user / 1000,
    systemMs: system / 1000,
    ...(mainThreadMs === undefined ? {} : { mainThreadMs }),
  };
}

/**
 * The CPU (user + system) thread `tid` of process `pid` has used since it started, ms, from
 * /proc/<pid>/task/<tid>/schedstat (its first field: nanoseconds on a CPU). Undefined where /proc
 * cannot tell (not Linux, no schedstats, or the thread is gone).
 */
export function threadCpuMs(pid: number, tid: number): number | undefined {
  try {
    const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    return Number.isFinite(ns) ? ns / 1e6 : undefined;
  } catch {
    return undefined;
  }
}

export const cpuMs = (time: CpuTime): number => time.userMs + time.systemMs;

/** Runs `work`, with its wall time (s) and the CPU this process used meanwhile. */
export async function withCpu<T>(
  work: () => Promise<T>,
): Promise<{ value: T; seconds: number; cpu: CpuTime }> {
  const cpuAt = process.cpuUsage();
  const start = performance.now();
  const value = await work();
  return { value, seconds: (performance.now() - start) / 1000, cpu: cpuSince(cpuAt) };
}

/** One measurement's CPU per MiB of payload, server and client, and what it says about the cores. */
export interface CpuPerMiB {
  /** The server process (or the bare server), ms of CPU per MiB of payload, user + system. */
  serverMs: number;
  /** Of serverMs, the kernel's part (system time). */
  serverSystemMs: number;
  /**
   * Of serverMs, its main thread's (the event loop's, user + system), where /proc tells it; the rest
   * ran on libuv's threadpool (file writes, reads and fsyncs, and the kernel's work in them) and on
   * V8's helper threads (garbage collection).
   */
  serverMainThreadMs?: number;
  /** The client process, ms of CPU per MiB. */
  clientMs: number;
  clientSystemMs: number;
  /** Share of all the machine's cores the two processes used together while it ran (0..1). */
  busy: number;
  /** MiB/s at which serverMs + clientMs per MiB would keep every core busy. */
  ceilingMibPerSec: number;
  /**
   * Share of the time the server's event loop ran code (0..1), where the server reported it (the
   * bench's own server process): near 1, its one JavaScript thread limits the rate, whatever the
   * cores have left.
   */
  serverLoopBusy?: number;
}

/** `server` and `client` used over `seconds` of wall time while `payloadBytes` moved. */
export function cpuPerMiB(
  server: CpuTime,
  client: CpuTime,
  payloadBytes: number,
  seconds: number,
  cores = availableParallelism(),
  serverLoopBusy?: number,
): CpuPerMiB {
  const mib = payloadBytes / MiB;
  const total = cpuMs(server) + cpuMs(client);
  return {
    ...(serverLoopBusy === undefined ? {} : { serverLoopBusy: round(serverLoopBusy) }),
    serverMs: round(cpuMs(server) / mib),
    serverSystemMs: round(server.systemMs / mib),
    ...(server.mainThreadMs === undefined ? {} : { serverMainThreadMs: round(server.mainThreadMs / mib) }),
    clientMs: round(cpuMs(client) / mib),
    clientSystemMs: round(client.systemMs / mib),
    busy: round(total / (seconds * 1000 * cores)),
    ceilingMibPerSec: round((cores * 1000 * mib) / total),
  };
}

/** The median of each field over several measurements (each field on its own). */
export function medianCpu(samples: readonly CpuPerMiB[]): CpuPerMiB | undefined {
  if (samples.length === 0) return undefined;
  const field = (key: Exclude<keyof CpuPerMiB, 'serverLoopBusy' | 'serverMainThreadMs'>) =>
    round(median(samples.map((s) => s[key])));
  /** An optional field's median over the samples that have it: none, and it is left out. */
  const optional = (key: 'serverLoopBusy' | 'serverMainThreadMs') => {
    const values = samples.flatMap((s) => (s[key] === undefined ? [] : [s[key]]));
    return values.length === 0 ? {} : { [key]: round(median(values)) };
  };
  return {
    ...optional('serverLoopBusy'),
    serverMs: field('serverMs'),
    serverSystemMs: field('serverSystemMs'),
    ...optional('serverMainThreadMs'),
    clientMs: field('clientMs'),
    clientSystemMs: field('clientSystemMs'),
    busy: field('busy'),
    ceilingMibPerSec: field('ceilingMibPerSec'),
  };
}

/** "server 5.1 ms/MiB (1.9 kernel, 2.8 main thread) + client 3.2 (0.4) = 8.3 ms/MiB; 2 cores 97% busy" */
export function describeCpu(cpu: CpuPerMiB): string {
  const loop =
    cpu.serverLoopBusy === undefined
      ? ''
      : `, the server's event loop ${Math.round(cpu.serverLoopBusy * 100)}% busy`;
  const main = cpu.serverMainThreadMs === undefined ? '' : `, ${cpu.serverMainThreadMs} main thread`;
  return `server ${cpu.serverMs} ms/MiB (${cpu.serverSystemMs} kernel${main}) + client ${cpu.clientMs} (${cpu.clientSystemMs}) = ${round(cpu.serverMs + cpu.clientMs)} ms CPU per MiB; ${availableParallelism()} cores ${Math.round(cpu.busy * 100)}% busy${loop}`;
}

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on Linux's usual builds). */
const USER_HZ = 100;

/**
 * The CPU another process (and all its threads) has used since it started, from /proc/<pid>/stat
 * (utime and stime, in clock ticks of 10 ms): how the bench reads servers it did not write, such as
 * redis-server. Undefined where /proc cannot tell (not Linux, or the process is gone).
 */
export function processCpu(pid: number): CpuTime | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count fields after its end.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = (index: number) => Number(fields[index]);
  // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name and state.
  const [user, system] = [ticks(11), ticks(12)];
  if (!Number.isFinite(user) || !Number.isFinite(system)) return undefined;
  return { userMs: (user * 1000) / USER_HZ, systemMs: (system * 1000) / USER_HZ };
}

/** What `to` used more than `from` (two readings of one process). */
export const cpuDifference = (from: CpuTime, to: CpuTime): CpuTime => ({
  userMs: to.userMs - from.userMs,
  systemMs: to.systemMs - from.systemMs,
  ...(from.mainThreadMs === undefined || to.mainThreadMs === undefined
    ? {}
    : { mainThreadMs: to.mainThreadMs - from.mainThreadMs }),
});
