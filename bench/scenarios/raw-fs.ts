/**
 * The raw filesystem baseline: the same bytes written as one file per request, the way the fs object
 * store writes an object (write a temporary file, rename it into a hashed directory; with `fsync`,
 * as the embedded backend does by default, fsync the file before the rename and its directory
 * after), then read back whole. Same request sizes, same concurrency, same filesystem, same process
 * as the Streambed measurement it is compared with. Beside it, the plainest durable write of the same
 * bytes: one file per request, written and fsynced, no rename, no directory fsync; and that write
 * again into as many files as there are writers, each rewritten over and over, so that the page cache
 * reuses the pages it has just freed (what writing the same bytes costs when the memory is warm).
 *
 * Each write is timed and its CPU counted (this process: the threadpool's calls and the kernel's work
 * for them): the store-like write's CPU per MiB is the floor of what a server that stores those bytes
 * spends, whatever it does besides.
 *
 * A pass over a few MiB of page cache takes milliseconds, so one pass is at the mercy of a single
 * scheduling hiccup: each call makes several passes over fresh files and reports the median.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type CpuTime, cpuMs, withCpu } from '../cpu.ts';
import { MiB, median, round, runPool } from '../stats.ts';

/** CPU per MiB of one raw write: user + system, and the kernel's (system) part. */
export interface RawCpu {
  ms: number;
  systemMs: number;
}

export interface RawFsResult {
  files: number;
  bytes: number;
  /** Written as the fs object store writes (with its fsyncs when `fsync`). */
  writeMibPerSec: number;
  /** Written and fsynced into one directory: no temporary name, no rename, no directory fsync. */
  plainWriteFsyncMibPerSec: number;
  /** The plain write + fsync into one file per writer, each rewritten: the page cache reuses its pages. */
  rewriteFsyncMibPerSec: number;
  readMibPerSec: number;
  /** CPU per MiB of the store-like write (fresh files). */
  writeCpu: RawCpu;
  /** CPU per MiB of the rewrite (warm pages). */
  rewriteCpu: RawCpu;
}

export interface RawFsOptions {
  files: number;
  payload: Uint8Array;
  writeConcurrency: number;
  readConcurrency: number;
  /** Fsync as the embedded backend's store does with durability `fsync` (the server's setting). */
  fsync: boolean;
}

const PASSES = 3;

/** One object's write as FsObjectStore.put does it, without its checks and directory bookkeeping. */
export async function writeLikeFsStore(
  temp: string,
  target: string,
  payload: Uint8Array,
  fsync: boolean,
): Promise<void> {
  if (!fsync) {
    await writeFile(temp, payload);
    await rename(temp, target);
    return;
  }
  await writeFsync(temp, payload);
  await rename(temp, target);
  const dir = await open(dirname(target), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

export async function rawWriteRead(scratchDir: string, options: RawFsOptions): Promise<RawFsResult> {
  const passes: RawFsResult[] = [];
  for (let pass = 0; pass < PASSES; pass++) passes.push(await onePass(scratchDir, options));
  return {
    files: options.files,
    bytes: options.files * options.payload.byteLength,
    writeMibPerSec: median(passes.map((p) => p.writeMibPerSec)),
    plainWriteFsyncMibPerSec: median(passes.map((p) => p.plainWriteFsyncMibPerSec)),
    rewriteFsyncMibPerSec: median(passes.map((p) => p.rewriteFsyncMibPerSec)),
    readMibPerSec: median(passes.map((p) => p.readMibPerSec)),
    writeCpu: medianRawCpu(passes.map((p) => p.writeCpu)),
    rewriteCpu: medianRawCpu(passes.map((p) => p.rewriteCpu)),
  };
}

export function medianRawCpu(samples: readonly RawCpu[]): RawCpu {
  return {
    ms: round(median(samples.map((s) => s.ms))),
    systemMs: round(median(samples.map((s) => s.systemMs))),
  };
}

function perMiB(cpu: CpuTime, bytes: number): RawCpu {
  return { ms: round(cpuMs(cpu) / (bytes / MiB)), systemMs: round(cpu.systemMs / (bytes / MiB)) };
}

/** Writes and fsyncs `payload` into `path` (created or truncated). */
async function writeFsync(path: string, payload: Uint8Array): Promise<void> {
  const file = await open(path, 'w');
  try {
    await file.writeFile(payload);
    await file.sync();
  } finally {
    await file.close();
  }
}

async function onePass(scratchDir: string, options: RawFsOptions): Promise<RawFsResult> {
  const { files, payload, writeConcurrency, readConcurrency, fsync } = options;
  const root = join(scratchDir, randomUUID());
  const temp = join(root, '.tmp');
  await mkdir(temp, { recursive: true });
  for (let d = 0; d < 256; d++) await mkdir(join(root, d.toString(16).padStart(2, '0')));
  const paths: string[] = [];

  const { seconds: writeSeconds, cpu: writeCpu } = await withCpu(() =>
    runPool(files, writeConcurrency, async (index) => {
      const name = randomUUID();
      const target = join(root, (index % 256).toString(16).padStart(2, '0'), name);
      const staging = join(temp, name);
      await writeLikeFsStore(staging, target, payload, fsync);
      paths[index] = target;
    }),
  );

  let readBytes = 0;
  const readStart = performance.now();
  await runPool(files, readConcurrency, async (index) => {
    const bytes = await readFile(paths[index] as string);
    readBytes += bytes.byteLength;
  });
  const readSeconds = (performance.now() - readStart) / 1000;

  const plain = join(root, 'plain');
  await mkdir(plain);
  const plainStart = performance.now();
  await runPool(files, writeConcurrency, (index) => writeFsync(join(plain, `${index}`), payload));
  const plainSeconds = (performance.now() - plainStart) / 1000;

  const rewritten = join(root, 'rewritten');
  await mkdir(rewritten);
  const { seconds: rewriteSeconds, cpu: rewriteCpu } = await withCpu(() =>
    runPool(files, writeConcurrency, (_, lane) => writeFsync(join(rewritten, `${lane}`), payload)),
  );

  await rm(root, { recursive: true, force: true });
  const bytes = files * payload.byteLength;
  if (readBytes !== bytes) throw new Error(`raw fs read ${readBytes} bytes, wrote ${bytes}`);
  return {
    files,
    bytes,
    writeMibPerSec: bytes / MiB / writeSeconds,
    plainWriteFsyncMibPerSec: bytes / MiB / plainSeconds,
    rewriteFsyncMibPerSec: bytes / MiB / rewriteSeconds,
    readMibPerSec: bytes / MiB / readSeconds,
    writeCpu: perMiB(writeCpu, bytes),
    rewriteCpu: perMiB(rewriteCpu, bytes),
  };
}
