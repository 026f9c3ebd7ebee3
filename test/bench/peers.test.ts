/**
 * The peer comparison's measurement (bench/peers/workload.ts, own-process.ts, streambed.ts): every
 * read pass is read and checked, the CPU of the server process is read from /proc by its pid, and
 * Streambed's two forms run from a client process of their own.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { processCpu } from '../../bench/cpu.ts';
import { measureInOwnProcess } from '../../bench/peers/own-process.ts';
import { measurePeer, type PeerTarget, type PeerWorkload } from '../../bench/peers/workload.ts';
import { KiB, MiB } from '../../bench/stats.ts';
import { type LocalServer, startLocalServer } from '../../lambdas/runtime/local-server.ts';
import { spin } from '../support/spin.ts';

const onLinux = process.platform === 'linux';

describe.skipIf(!onLinux)('the CPU time of another process (/proc, Linux only)', () => {
  /** Burns 400 ms of CPU (not of wall time: a loaded machine would give it less), then idles. */
  const BUSY_CHILD =
    'const s = process.cpuUsage(); for (;;) { const u = process.cpuUsage(s); if (u.user + u.system >= 400_000) break; } setTimeout(() => {}, 60_000);';

  const readsBusyChild = async (executable: string) => {
    const child = spawn(executable, ['-e', BUSY_CHILD], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      const pid = child.pid as number;
      await vi.waitFor(
        () => {
          const cpu = processCpu(pid);
          expect(cpu).toBeDefined();
          const used = (cpu?.userMs ?? 0) + (cpu?.systemMs ?? 0);
          // Its own 400 ms, and not a misparsed field (far more than a few seconds).
          expect(used).toBeGreaterThanOrEqual(390);
          expect(used).toBeLessThan(5_000);
        },
        { timeout: 20_000, interval: 50 },
      );
    } finally {
      child.kill('SIGKILL');
    }
    await exited;
    expect(processCpu(child.pid as number)).toBeUndefined();
  };

  it("reads a busy child's CPU time, and nothing for a process that is gone", async () => {
    await readsBusyChild(process.execPath);
  });

  it("reads a process whose name holds spaces and ')' characters", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'streambed-proc-name-'));
    try {
      const link = join(dir, 'a) b (c) d');
      symlinkSync(process.execPath, link);
      await readsBusyChild(link);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a peer measurement', () => {
  const workload: PeerWorkload = {
    recordBytes: MiB,
    recordsPerBatch: 1,
    lanes: 2,
    batchesPerLane: 1,
    readPasses: 3,
    runs: 1,
  };

  /** A target that burns `writeMs` of CPU per write and logs every read it is asked for. */
  function fakeTarget(writeMs: number, shortPass?: number) {
    const reads: string[] = [];
    const target: PeerTarget = {
      prepare: async () => {},
      async write() {
        spin(writeMs);
      },
      async read(run, lane, records, pass) {
        reads.push(`${run}/${lane}/${pass}`);
        const got = pass === shortPass ? records - 1 : records;
        return { records: got, bytes: got * workload.recordBytes };
      },
    };
    return { target, reads };
  }

  it('reads every lane back once per read pass and counts them all in the read rate', async () => {
    const { target, reads } = fakeTarget(0);
    const measured = await measurePeer(target, workload, { client: 'fake', config: '' });
    expect(reads.sort()).toEqual(['0/0/0', '0/0/1', '0/0/2', '0/1/0', '0/1/1', '0/1/2']);
    const readSeconds = measured.runs[0]?.readSeconds ?? 0;
    // 2 lanes x 3 passes x 1 record.
    expect(measured.readRecordsPerSec * readSeconds).toBeCloseTo(6, 0);
    expect(measured.writeCpu).toBeUndefined();
  });

  it('fails naming the pass whose read came back short', async () => {
    const { target } = fakeTarget(0, 1);
    await expect(measurePeer(target, workload, { client: 'fake', config: '' })).rejects.toThrow(
      /lane \d read back 0 records \(0 bytes\) in pass 1, expected 1/,
    );
  });

  it.skipIf(!onLinux)(
    "reads the server's CPU by its pid: here the same process as the client's",
    async () => {
      const { target } = fakeTarget(150);
      const measured = await measurePeer(
        target,
        workload,
        { client: 'fake', config: '' },
        { serverPid: process.pid },
      );
      // Two writes of 150 ms of CPU for 2 MiB: about 150 ms per MiB, counted by both readings.
      const cpu = measured.writeCpu;
      expect(cpu?.clientMs).toBeGreaterThanOrEqual(140);
      expect(Math.abs((cpu?.serverMs ?? 0) - (cpu?.clientMs ?? 0))).toBeLessThanOrEqual(20);
    },
  );
});

describe("Streambed's forms, from a client process of their own", () => {
  let server: LocalServer;
  const workload: PeerWorkload = {
    recordBytes: KiB,
    recordsPerBatch: 100,
    lanes: 2,
    batchesPerLane: 3,
    readPasses: 2,
    runs: 2,
  };

  beforeAll(async () => {
    server = await startLocalServer({ port: 0, memory: true });
  }, 60_000);

  afterAll(async () => {
    await server?.close();
  });

  for (const system of ['streambed-json', 'streambed-sdk'] as const)
    it(`${system}: writes every record and reads each lane back in every pass`, async () => {
      const measured = await measureInOwnProcess({
        spec: { system, url: server.url },
        workload,
        about: { client: system, config: '' },
        server: { serverPid: process.pid },
      });
      expect(measured.recordsPerRun).toBe(600);
      expect(measured.runs).toHaveLength(2);
      expect(measured.writeMibPerSec).toBeGreaterThan(0);
      expect(measured.readRecordsPerSec).toBeGreaterThan(0);
    }, 60_000);
});
