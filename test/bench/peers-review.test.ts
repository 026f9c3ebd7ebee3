/**
 * Review probes of the peer comparison's client processes and CPU figures (bench/peers/*, bench/cpu.ts).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { describe, expect, it, vi } from 'vitest';
import { type CpuPerMiB, processCpu } from '../../bench/cpu.ts';
import { measureNats } from '../../bench/peers/nats.ts';
import { measureInOwnProcess } from '../../bench/peers/own-process.ts';
import { measureRedis } from '../../bench/peers/redis.ts';
import { freePort, onPath, startPeerServer } from '../../bench/peers/server-process.ts';
import { peerChecks, peerCpuRows, peerTable } from '../../bench/peers/table.ts';
import {
  measurePeer,
  type PeerMeasurement,
  type PeerTarget,
  type PeerWorkload,
} from '../../bench/peers/workload.ts';
import { KiB, MiB } from '../../bench/stats.ts';

const onLinux = process.platform === 'linux';

/** The pids of this process's children whose command line mentions `pattern`. */
function childrenRunning(pattern: string): number[] {
  const out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((line) => line.includes(pattern))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

const finiteCpu = (cpu: CpuPerMiB | undefined) =>
  cpu === undefined || Object.values(cpu).every((value) => Number.isFinite(value));

const allFinite = (measured: PeerMeasurement) =>
  [
    measured.writeMibPerSec,
    measured.readMibPerSec,
    measured.writeRecordsPerSec,
    measured.readRecordsPerSec,
  ].every((value) => Number.isFinite(value)) &&
  finiteCpu(measured.writeCpu) &&
  finiteCpu(measured.readCpu);

const smallWorkload: PeerWorkload = {
  recordBytes: KiB,
  recordsPerBatch: 20,
  lanes: 2,
  batchesPerLane: 2,
  readPasses: 3,
  runs: 2,
};

/** A target that keeps its records in memory; `onWrite` runs before every write. */
function memoryTarget(workload: PeerWorkload, onWrite: () => void = () => {}): PeerTarget {
  return {
    prepare: async () => {},
    async write() {
      onWrite();
    },
    async read(_run, _lane, records) {
      return { records, bytes: records * workload.recordBytes };
    },
  };
}

function waitExit(child: ChildProcess): Promise<unknown> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(undefined);
    else child.once('exit', resolve);
  });
}

describe.skipIf(!onLinux)('processCpu (/proc/<pid>/stat)', () => {
  it('gives a zombie (exited, not yet reaped) either nothing or the CPU it had used, never garbage', async () => {
    // The busy node becomes a child of `sleep`, which never reaps it. It spins until it has used
    // 200 ms of CPU, however long a loaded machine takes to give it that.
    const busy = `${process.execPath} -e 'const at = process.cpuUsage(); for (;;) { const used = process.cpuUsage(at); if (used.user + used.system >= 200_000) break; }'`;
    const parent = spawn('sh', ['-c', `${busy} & echo $!; exec sleep 30`], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      const pid = await new Promise<number>((resolve) =>
        parent.stdout?.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))),
      );
      await vi.waitFor(
        () => {
          const state = execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' });
          expect(state.trim()).toMatch(/^Z/);
        },
        { timeout: 8_000, interval: 50 },
      );
      const cpu = processCpu(pid);
      if (cpu !== undefined) {
        expect(Number.isFinite(cpu.userMs + cpu.systemMs)).toBe(true);
        expect(cpu.userMs + cpu.systemMs).toBeGreaterThanOrEqual(150);
        expect(cpu.userMs + cpu.systemMs).toBeLessThan(5_000);
      }
    } finally {
      parent.kill('SIGKILL');
      await waitExit(parent);
    }
  });
});

describe('measurePeer edge cases', () => {
  it.skipIf(!onLinux)('has no server CPU for a phase in which the server process died', async () => {
    const server = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    const serverPid = server.pid as number;
    await vi.waitFor(() => expect(processCpu(serverPid)).toBeDefined());
    const workload = { ...smallWorkload, runs: 1 };
    let killed = false;
    const target = memoryTarget(workload, () => {
      if (!killed) {
        killed = true;
        server.kill('SIGKILL');
      }
    });
    // Kill it in the first write and wait for it to be reaped before the write ends.
    const slowTarget: PeerTarget = {
      ...target,
      async write(run, lane) {
        await target.write(run, lane);
        await waitExit(server);
      },
    };
    const measured = await measurePeer(slowTarget, workload, { client: 'fake', config: '' }, { serverPid });
    expect(measured.writeCpu).toBeUndefined();
    expect(measured.readCpu).toBeUndefined();
    expect(allFinite(measured)).toBe(true);
  });

  it('refuses a workload with a field below 1, naming it, before it runs anything', async () => {
    for (const [field, value] of [
      ['readPasses', 0],
      ['runs', 0],
      ['lanes', 1.5],
    ] as const) {
      const workload = { ...smallWorkload, [field]: value };
      let prepared = false;
      const target = {
        ...memoryTarget(workload),
        prepare: async () => {
          prepared = true;
        },
      };
      await expect(measurePeer(target, workload, { client: 'fake', config: '' })).rejects.toThrow(
        `peer workload: ${field} must be a whole number of at least 1, not ${value}`,
      );
      expect(prepared).toBe(false);
    }
  });

  it.skipIf(!onLinux)(
    "reports no CPU for phases too short for /proc's 10 ms ticks, and only finite numbers",
    async () => {
      const server = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
      try {
        const serverPid = server.pid as number;
        await vi.waitFor(() => expect(processCpu(serverPid)).toBeDefined());
        const workload = { ...smallWorkload, runs: 3 };
        const measured = await measurePeer(
          memoryTarget(workload),
          workload,
          { client: 'fake', config: '' },
          { serverPid },
        );
        expect(measured.writeCpu).toBeUndefined();
        expect(measured.readCpu).toBeUndefined();
        expect(allFinite(measured), JSON.stringify(measured)).toBe(true);
      } finally {
        server.kill('SIGKILL');
        await waitExit(server);
      }
    },
  );
});

describe.skipIf(!onLinux)("the cores' busy share of a short phase", () => {
  it('stays within 0..1 (all the cores) while a busy server runs beside an idle client', async () => {
    // The server keeps one core busy; the client waits 4 ms per phase: the true share is at most 1/2.
    const server = spawn(process.execPath, ['-e', 'for (;;);'], { stdio: 'ignore' });
    try {
      const serverPid = server.pid as number;
      await vi.waitFor(() => expect(processCpu(serverPid)).toBeDefined());
      const workload: PeerWorkload = {
        ...smallWorkload,
        lanes: 1,
        batchesPerLane: 1,
        readPasses: 1,
        runs: 1,
      };
      const target: PeerTarget = {
        ...memoryTarget(workload),
        write: () => new Promise((resolve) => setTimeout(resolve, 4)),
      };
      const busy: number[] = [];
      for (let i = 0; i < 15; i++) {
        const measured = await measurePeer(target, workload, { client: 'fake', config: '' }, { serverPid });
        busy.push(measured.writeCpu?.busy ?? 0);
      }
      expect(Math.max(...busy), JSON.stringify(busy)).toBeLessThanOrEqual(1);
    } finally {
      server.kill('SIGKILL');
      await waitExit(server);
    }
  });
});

describe('client processes that cannot open their client', () => {
  const cases = [
    ['redis', (port: number) => ({ system: 'redis' as const, port })],
    ['nats', (port: number) => ({ system: 'nats' as const, port })],
    [
      'streambed-json',
      (port: number) => ({ system: 'streambed-json' as const, url: `http://127.0.0.1:${port}` }),
    ],
    [
      'streambed-sdk',
      (port: number) => ({ system: 'streambed-sdk' as const, url: `http://127.0.0.1:${port}` }),
    ],
  ] as const;
  for (const [system, spec] of cases)
    it(`${system}: fails naming the refused connection, and leaves no client process behind`, async () => {
      const port = await freePort();
      const error = await measureInOwnProcess({
        spec: spec(port),
        workload: smallWorkload,
        about: { client: system, config: '' },
        server: {},
      }).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(error).toBeInstanceOf(Error);
      expect(error?.message).toMatch(/ECONNREFUSED|CONNECTION_REFUSED|refused/i);
      await vi.waitFor(() => expect(childrenRunning('peer-process.ts')).toEqual([]), { timeout: 5_000 });
    }, 15_000);
});

describe.skipIf(onPath('nats-server') === undefined)('a nats-server without JetStream', () => {
  it('fails naming JetStream, and leaves no client process behind', async () => {
    const server = await startPeerServer({
      binary: onPath('nats-server') as string,
      args: (port) => ['-a', '127.0.0.1', '-p', String(port)],
      ready: /Server is ready/,
    });
    try {
      await expect(
        measureInOwnProcess({
          spec: { system: 'nats', port: server.port },
          workload: smallWorkload,
          about: { client: 'nats', config: '' },
          server: { serverPid: server.pid },
        }),
      ).rejects.toThrow(/jetstream/i);
      await vi.waitFor(() => expect(childrenRunning('peer-process.ts')).toEqual([]), { timeout: 5_000 });
    } finally {
      await server.stop();
    }
  }, 20_000);
});

describe('peers read more than one pass from a real server', () => {
  const workload: PeerWorkload = { ...smallWorkload, readPasses: 3, runs: 2 };
  for (const [server, measure] of [
    ['nats-server', measureNats],
    ['redis-server', measureRedis],
  ] as const)
    it.skipIf(onPath(server) === undefined)(
      `${server}: every pass of every run reads every record, with only finite numbers`,
      async () => {
        const outcome = await measure(workload);
        if ('skipped' in outcome) throw new Error(outcome.skipped);
        expect(outcome.runs).toHaveLength(2);
        expect(outcome.readMibPerSec).toBeGreaterThan(0);
        expect(allFinite(outcome), JSON.stringify(outcome)).toBe(true);
        expect(childrenRunning('peer-process.ts')).toEqual([]);
      },
      20_000,
    );
});

describe('the CPU table with partial CPU', () => {
  const cpu: CpuPerMiB = {
    serverMs: 5,
    serverSystemMs: 1,
    clientMs: 3,
    clientSystemMs: 0.5,
    busy: 0.5,
    ceilingMibPerSec: 250,
  };
  const measurement = (extra: Partial<PeerMeasurement>): PeerMeasurement => ({
    client: 'c',
    config: 'x',
    recordsPerRun: 1,
    payloadBytesPerRun: MiB,
    writeMibPerSec: 10,
    readMibPerSec: 10,
    writeRecordsPerSec: 1,
    readRecordsPerSec: 1,
    runs: [],
    ...extra,
  });

  it('shows a dash for the unmeasured phase and notes a missed target without failing', () => {
    const table = peerTable(
      {
        workload: smallWorkload,
        redis: measurement({ writeMibPerSec: 100, readMibPerSec: 100, writeCpu: cpu }),
        nats: { skipped: 'no' },
        streambedJson: measurement({ readCpu: cpu }),
        streambedSdk: measurement({ writeCpu: cpu, readCpu: cpu }),
        serverPeakRssMb: { json: 1, sdk: 1 },
      },
      { skipped: 'no listener' },
    );
    const rows = peerCpuRows(table);
    expect(rows.map((r) => r[0])).toEqual(['Redis Streams', 'Streambed HTTP JSON', 'Streambed SDK binary']);
    expect(rows[0]).toEqual(['Redis Streams', '5', '3', '50%', '—', '—', '—']);
    expect(rows[1]).toEqual(['Streambed HTTP JSON', '—', '—', '—', '5', '3', '50%']);
    const checks = peerChecks(table);
    expect(checks.map((c) => c.status)).toEqual(['missed', 'missed', 'missed', 'missed']);
    // Writing: both measured, so the note compares them; reading: Redis's read CPU is missing.
    expect(checks[0]?.note).toMatch(/^Writing, Streambed SDK binary: server 5 ms\/MiB .*; Redis Streams: /);
    expect(checks[1]?.note).toBe('');
  });
});
