/**
 * The bench itself: flags, and one whole run with a tiny plan, so a change that breaks
 * `npm run bench` (the server process, its IPC, the SDK client, a scenario, the report) fails here
 * rather than in a newcomer's hands. Nothing about timings is asserted; only what must hold on any
 * machine (one PUT per produce request, one two-item commit per partition, files written).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { runBench, runRemoteBench } from '../../bench/bench.ts';
import {
  cpuBetween,
  cpuDifference,
  cpuMs,
  cpuPerMiB,
  describeCpu,
  medianCpu,
  ownCpu,
  threadCpuMs,
} from '../../bench/cpu.ts';
import { collectGarbage } from '../../bench/gc.ts';
import { measureNats } from '../../bench/peers/nats.ts';
import { measureRedis } from '../../bench/peers/redis.ts';
import { onPath, startPeerServer } from '../../bench/peers/server-process.ts';
import { peerChecks, peerTable } from '../../bench/peers/table.ts';
import type { PeerMeasurement, PeerWorkload } from '../../bench/peers/workload.ts';
import { type BenchPlan, parseArgs } from '../../bench/plan.ts';
import { benchCommand } from '../../bench/report.ts';
import { fetchWithKcat } from '../../bench/scenarios/kafka.ts';
import { KiB, MiB } from '../../bench/stats.ts';
import { startLocalServer } from '../../lambdas/runtime/local-server.ts';

describe('bench flags', () => {
  it('defaults to full mode on the embedded backend', () => {
    const plan = parseArgs([]) as BenchPlan;
    expect([plan.mode, plan.backend]).toEqual(['full', 'embedded']);
    expect(plan.produce.configs).toHaveLength(27); // 3 record sizes x 3 request sizes x 3 concurrencies
  });

  it('takes --quick and every backend, in both spellings', () => {
    for (const backend of ['embedded', 'memory', 'aws'] as const) {
      expect((parseArgs(['--quick', '--backend', backend]) as BenchPlan).backend).toBe(backend);
      expect((parseArgs([`--backend=${backend}`]) as BenchPlan).backend).toBe(backend);
    }
    expect((parseArgs(['--quick']) as BenchPlan).mode).toBe('quick');
    expect(parseArgs(['--help'])).toBe('help');
  });

  it('refuses unknown flags and backends, naming them', () => {
    expect(() => parseArgs(['--backend', 'oracle'])).toThrow(/embedded, memory or aws, got "oracle"/);
    expect(() => parseArgs(['--fast'])).toThrow(/unknown argument "--fast"/);
  });

  it('takes --url with a token or a SigV4 region, and refuses them without --url', () => {
    const withToken = parseArgs([
      '--quick',
      '--url',
      'http://127.0.0.1:9/',
      '--token',
      's3cret',
    ]) as BenchPlan;
    expect(withToken.backend).toBe('remote');
    expect(withToken.target).toEqual({ url: 'http://127.0.0.1:9/', token: 's3cret' });
    const deployed = parseArgs(['--url=https://abc123.execute-api.eu-west-1.amazonaws.com']) as BenchPlan;
    expect(deployed.target?.aws).toEqual({ region: 'eu-west-1' });
    expect(() => parseArgs(['--token', 'x'])).toThrow(/go with --url/);
    expect(() => parseArgs(['--url', 'not a url'])).toThrow(/--url must be an http\(s\) URL/);
    expect(() => parseArgs(['--url', 'localhost:8080'])).toThrow(/--url must be an http\(s\) URL/);
    expect(() => parseArgs(['--backend', 'aws', '--url', 'http://127.0.0.1:9/'])).toThrow(
      /do not go together/,
    );
    expect(() => parseArgs(['--url'])).toThrow(/--url needs a value/);
  });

  it('takes --stack local with an API flavor, alone', () => {
    expect((parseArgs(['--quick', '--stack', 'local']) as BenchPlan).stack).toEqual({ api: 'http' });
    expect((parseArgs(['--stack=local', '--api=rest']) as BenchPlan).stack).toEqual({ api: 'rest' });
    expect(() => parseArgs(['--stack', 'aws'])).toThrow(/--stack takes local, got "aws"/);
    expect(() => parseArgs(['--stack', 'local', '--api', 'grpc'])).toThrow(/--api must be http or rest/);
    expect(() => parseArgs(['--stack', 'local', '--url', 'http://127.0.0.1:9/'])).toThrow(/goes alone/);
    expect(() => parseArgs(['--api', 'rest'])).toThrow(/--stack takes local/);
  });

  it('writes the command line that reproduces a run into the report', () => {
    expect(benchCommand({ mode: 'full', backend: 'embedded' })).toBe('npm run bench');
    expect(benchCommand({ mode: 'quick', backend: 'embedded' })).toBe('npm run bench -- --quick');
    expect(benchCommand({ mode: 'full', backend: 'aws' })).toBe('npm run bench -- --backend aws');
  });
});

/** The emulators the test setup started (DynamoDB Local and s3rver). */
const testEmulators = () => ({
  dynamoEndpoint: inject('dynamoEndpoint'),
  s3Endpoint: inject('s3Endpoint'),
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
});

/** A plan that exercises every scenario in seconds. */
function tinyPlan(backend: BenchPlan['backend']): BenchPlan {
  const quick = parseArgs(['--quick', '--backend', backend]) as BenchPlan;
  return {
    ...quick,
    runs: 1,
    produce: {
      ...quick.produce,
      configs: [{ recordBytes: KiB, requestBytes: 64 * KiB, concurrency: 2 }],
      headline: { recordBytes: KiB, requestBytes: 64 * KiB, concurrency: 2 },
      volumeBytes: 256 * KiB,
      minRequests: 4,
      maxRequests: 8,
    },
    readBack: {
      ...quick.readBack,
      requestSizes: [16 * KiB, 64 * KiB, MiB, 4 * MiB],
      volumeBytes: 256 * KiB,
      minRequests: 1,
      maxBytes: [MiB],
      headlineRequestBytes: 64 * KiB,
    },
    logLength: { shortBatches: 20, longBatches: 60, samples: 3, maxBytes: KiB },
    endToEnd: { messages: 5, recordBytes: 100 },
    lambdaMemory: { requests: 2 },
  };
}

describe('CPU per MiB (bench/cpu.ts)', () => {
  it("divides both processes' CPU by the payload and says how busy they kept the cores", () => {
    const server = { userMs: 300, systemMs: 100 };
    const client = { userMs: 90, systemMs: 10 };
    // 100 MiB in 1 s on 2 cores: 500 ms of CPU out of 2,000 available.
    expect(cpuPerMiB(server, client, 100 * MiB, 1, 2)).toEqual({
      serverMs: 4,
      serverSystemMs: 1,
      clientMs: 1,
      clientSystemMs: 0.1,
      busy: 0.25,
      ceilingMibPerSec: 400,
    });
    // The server's event loop, where it reported it, rides along, and its median with the rest.
    const loop = cpuPerMiB(server, client, 100 * MiB, 1, 2, 0.91234);
    expect(loop.serverLoopBusy).toBe(0.912);
    const samples = [loop, { ...loop, serverLoopBusy: 0.5 }, { ...loop, serverLoopBusy: 0.7 }];
    // A sample without it (a server that did not say) is left out of its median, not counted as 0.
    expect(medianCpu([...samples, cpuPerMiB(server, client, MiB, 1, 2)])?.serverLoopBusy).toBe(0.7);
    expect(describeCpu(loop)).toMatch(/, the server's event loop 91% busy$/);
    expect(describeCpu(cpuPerMiB(server, client, MiB, 1, 2))).not.toMatch(/event loop/);
    expect(cpuBetween({ user: 1_000, system: 2_000 }, { user: 4_000, system: 2_500 })).toEqual({
      userMs: 3,
      systemMs: 0.5,
    });
  });

  it("carries the server's main thread where both readings have it, and leaves it out otherwise", () => {
    const at = { userMs: 100, systemMs: 50, mainThreadMs: 90 };
    const now = { userMs: 400, systemMs: 150, mainThreadMs: 290 };
    expect(cpuDifference(at, now)).toEqual({ userMs: 300, systemMs: 100, mainThreadMs: 200 });
    expect(cpuDifference({ userMs: 100, systemMs: 50 }, now)).toEqual({ userMs: 300, systemMs: 100 });
    const client = { userMs: 90, systemMs: 10 };
    const split = cpuPerMiB(cpuDifference(at, now), client, 100 * MiB, 1, 2);
    expect(split).toMatchObject({ serverMs: 4, serverSystemMs: 1, serverMainThreadMs: 2 });
    expect(describeCpu(split)).toMatch(/^server 4 ms\/MiB \(1 kernel, 2 main thread\)/);
    const without = cpuPerMiB(cpuDifference({ userMs: 100, systemMs: 50 }, now), client, 100 * MiB, 1, 2);
    expect(without).not.toHaveProperty('serverMainThreadMs');
    expect(describeCpu(without)).toMatch(/^server 4 ms\/MiB \(1 kernel\)/);
    // Its median is over the samples that have it.
    expect(
      medianCpu([split, without, { ...split, serverMainThreadMs: 5 }, { ...split, serverMainThreadMs: 3 }])
        ?.serverMainThreadMs,
    ).toBe(3);
    expect(medianCpu([without])).not.toHaveProperty('serverMainThreadMs');
  });

  it.skipIf(process.platform !== 'linux')("reads this process's main thread from /proc (Linux)", () => {
    const at = ownCpu();
    // Busy on the main thread until the process has used 30 ms of CPU (not 30 ms of wall time: on a
    // loaded machine the thread may get a fraction of it).
    while (cpuMs(cpuDifference(at, ownCpu())) < 30) {
      // spin
    }
    const used = cpuDifference(at, ownCpu());
    expect(used.mainThreadMs).toBeGreaterThanOrEqual(15);
    expect(used.mainThreadMs).toBeLessThanOrEqual(cpuMs(used) + 1);
    expect(threadCpuMs(process.pid, 2 ** 22 + 7)).toBeUndefined();
  });
});

describe('a collected heap before a timed pass (bench/gc.ts)', () => {
  it('collects what nothing holds any more, with no node flag', async () => {
    // A WeakRef's target stays alive until the job that made it ends: make it, then yield.
    const made = (() => new WeakRef({ bytes: new Uint8Array(1024) }))();
    await new Promise((resolve) => setImmediate(resolve));
    collectGarbage();
    await new Promise((resolve) => setImmediate(resolve));
    expect(made.deref()).toBeUndefined();
  });
});

describe('a whole bench run with a tiny plan', () => {
  const out = mkdtempSync(join(tmpdir(), 'streambed-bench-test-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('measures every scenario through the server process and writes the three files', async () => {
    // Profiled too (--profile): the profiler's start and stop reach the server process over IPC.
    const plan = { ...tinyPlan('memory'), profile: true };
    const { results, checks } = await runBench(plan, out, { aws: testEmulators() });

    expect(results.putsPerProduceRequest).toBe(1);
    expect(results.commit.transactionsPerPartition).toBe(1);
    expect(results.commit.opsPerTransaction).toBe(2);
    expect(results.produce.mibPerSec).toBeGreaterThan(0);
    expect(results.produce.bareHttpMibPerSec).toBeGreaterThan(0);
    // Every baseline of both headlines was measured, and the headline is a ratio of each.
    const baselines = { ...results.produce.baselines, ...results.fetch.baselines };
    expect(Object.keys(results.produce.baselines)).toEqual([
      'bareHttpSdkClient',
      'bareFetch',
      'rawWriteLikeStore',
      'rawWriteFsync',
      'storeOnly',
    ]);
    expect(Object.keys(results.fetch.baselines)).toEqual(['bareHttpSdkClient', 'bareFetch', 'rawRead']);
    for (const baseline of Object.values(baselines)) {
      expect(baseline.mibPerSec).toBeGreaterThan(0);
      expect(baseline.ratio).toBeGreaterThan(0);
    }
    for (const what of [
      "local produce throughput vs the bare transport POST with the SDK's client",
      "local fetch throughput vs the bare transport GET with the SDK's client",
    ])
      expect(['met', 'missed']).toContain(checks.find((c) => c.what === what)?.status);
    // Both processes' CPU per MiB, for each headline and its bare transport, and what it says.
    // The store-only produce has both processes' CPU too (produce only: it is a produce route).
    expect(results.produce.cpu?.storeOnly?.serverMs).toBeGreaterThan(0);
    expect(results.produce.cpu?.storeOnly?.clientMs).toBeGreaterThan(0);
    expect(results.fetch.cpu?.storeOnly).toBeUndefined();
    for (const cpu of [results.produce.cpu, results.fetch.cpu]) {
      for (const measured of [cpu?.streambed, cpu?.bareHttpSdkClient]) {
        expect(measured?.serverMs).toBeGreaterThan(0);
        expect(measured?.clientMs).toBeGreaterThan(0);
        expect(measured?.busy).toBeGreaterThan(0);
        expect(measured?.ceilingMibPerSec).toBeGreaterThan(0);
      }
      // The server's event loop ran code for part of the phase: it says whether its thread limits.
      expect(cpu?.streambed.serverLoopBusy).toBeGreaterThan(0);
      expect(cpu?.streambed.serverLoopBusy).toBeLessThanOrEqual(1);
    }
    // Storing the bytes by itself: fresh files and a warm rewrite, each with its CPU per MiB.
    for (const raw of [results.produce.rawWrites?.freshLikeStore, results.produce.rawWrites?.rewrite]) {
      expect(raw?.mibPerSec).toBeGreaterThan(0);
      expect(raw?.cpu.ms).toBeGreaterThan(0);
      expect(raw?.cpu.systemMs).toBeLessThanOrEqual(raw?.cpu.ms ?? -1);
    }
    expect(results.fetch.mibPerSec).toBeGreaterThan(0);
    expect(results.costPerGiB.streambed1MiB).toBeGreaterThan(0);
    expect(results.memory.serverRssMb).toBeGreaterThan(0);
    expect(results.endToEnd.messages).toBe(5);
    expect(
      'skipped' in results.lambda ? results.lambda.skipped : results.lambda.functions.map((f) => f.name),
    ).toEqual(['produce', 'fetch']);
    expect(checks.find((c) => c.what === 'S3 PUTs per produce request')?.status).toBe('met');
    // Kafka clients on the listener, beside the SDK: one object per Produce request, kcat reads it all.
    if ('skipped' in results.kafka) throw new Error(`kafka skipped: ${results.kafka.skipped}`);
    expect(results.kafka.produce.objectPutsPerProduceRequest).toBe(1);
    expect(results.kafka.produce.mibPerSec).toBeGreaterThan(0);
    expect(results.kafka.produce.ratioVsSdk).toBeGreaterThan(0);
    expect(checks.find((c) => c.what === 'S3 PUTs per Kafka Produce request')?.status).toBe('met');
    if ('skipped' in results.kafka.fetch) throw new Error(`kcat skipped: ${results.kafka.fetch.skipped}`);
    expect(results.kafka.fetch.details.runs).toHaveLength(1);
    expect(results.kafka.fetch.ratioVsSdk).toBeGreaterThan(0);
    expect(results.kafka.kafkajsConsumer.details.runs).toHaveLength(1);
    expect(results.kafka.kafkajsConsumer.ratioVsSdk).toBeGreaterThan(0);
    for (const file of ['latest.json', 'report.md', 'chart.svg'])
      expect(existsSync(join(out, file))).toBe(true);
    const written = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8'));
    for (const key of [
      'streambed1MiB',
      'streambed64KiB',
      'streambed16KiB',
      'kinesisOnDemand',
      'mskServerless',
    ])
      expect(written.costPerGiB[key]).toEqual(expect.any(Number));
    for (const key of ['mibPerSec', 'recordsPerSec', 'p50Ms', 'p99Ms', 'ratioVsRawFs'])
      expect(written.produce[key]).toEqual(expect.any(Number));
    for (const key of ['mibPerSec', 'p50Ms', 'p99Ms', 'ratioVsRawFs', 'latencyRatioLongVsShortLog'])
      expect(written.fetch[key]).toEqual(expect.any(Number));
    for (const path of ['produce', 'fetch'])
      for (const baseline of Object.values(written[path].baselines))
        expect(baseline).toEqual({
          what: expect.any(String),
          mibPerSec: expect.any(Number),
          ratio: expect.any(Number),
        });
    for (const key of ['mibPerSec', 'recordsPerSec', 'ratioVsSdk', 'objectPutsPerProduceRequest'])
      expect(written.kafka.produce[key]).toEqual(expect.any(Number));
    for (const key of ['mibPerSec', 'recordsPerSec', 'ratioVsSdk']) {
      expect(written.kafka.fetch[key]).toEqual(expect.any(Number));
      expect(written.kafka.kafkajsConsumer[key]).toEqual(expect.any(Number));
    }
    // The peer table: Streambed's two HTTP forms always, Redis and NATS where installed.
    const peers = new Map(results.peers.rows.map((row) => [row.system, row]));
    for (const system of ['Streambed HTTP JSON', 'Streambed SDK binary', 'Streambed Kafka (KafkaJS)']) {
      expect(peers.get(system)?.writeMibPerSec).toBeGreaterThan(0);
      expect(peers.get(system)?.readMibPerSec).toBeGreaterThan(0);
    }
    // CPU per MiB where a phase was long enough to count it (bench/peers/workload.ts), and the
    // report's CPU table exactly when some row has it.
    const withCpu = results.peers.rows.filter((row) => row.writeCpu !== null || row.readCpu !== null);
    for (const row of withCpu)
      for (const cpu of [row.writeCpu, row.readCpu])
        if (cpu !== null) expect(Number.isFinite(cpu.serverMs + cpu.clientMs + cpu.busy)).toBe(true);
    expect([...peers.keys()]).toEqual([
      'Redis Streams',
      'NATS JetStream',
      'Streambed HTTP JSON',
      'Streambed SDK binary',
      'Streambed Kafka (KafkaJS)',
    ]);
    expect(checks.find((c) => c.what.startsWith('SDK produce vs Redis XADD'))?.status).toMatch(
      /^(met|missed|not measured)$/,
    );
    const report = readFileSync(join(out, 'report.md'), 'utf8');
    expect(report).toContain('npm run bench -- --quick --backend memory');
    expect(report).toMatch(/## Peers[\s\S]*\| Streambed SDK binary \|/);
    expect(report.includes('| write: server ms/MiB |')).toBe(withCpu.length > 0);
    expect(report).toMatch(
      /## Baselines[\s\S]*\| produce \| bare HTTP POST, the SDK's client \(node:http\) \|/,
    );
    // The server's main thread beside its whole CPU where /proc tells it (Linux), a dash elsewhere.
    const main = process.platform === 'linux' ? '[\\d.]+' : '—';
    expect(report).toMatch(
      new RegExp(
        `\\| produce \\| Streambed \\| [\\d.]+ \\([\\d.]+\\) \\| ${main} \\| [\\d.]+ \\([\\d.]+\\) \\|`,
      ),
    );
    // Within the process's (the two are read one after the other: a few microseconds apart, so 1 %).
    if (process.platform === 'linux')
      for (const row of ['streambed', 'bareHttpSdkClient', 'storeOnly'])
        expect(written.produce.cpu[row].serverMainThreadMs).toBeLessThanOrEqual(
          written.produce.cpu[row].serverMs * 1.01,
        );
    expect(report).toMatch(/\| fetch \(cold\) \| bare GET, the SDK's client \| /);
    expect(report).toMatch(
      /\| fresh files, as the fs object store writes them \| [\d.]+ \| [\d.]+ \([\d.]+\) \|/,
    );
    expect(report).toMatch(/## Kafka clients[\s\S]*\| produce \| KafkaJS 2\.\d+\.\d+/);
    expect(report).toContain('**Profiled run:**');
    expect(report).toContain('](profiles/fetch-server.svg)');
    for (const name of ['produce-client', 'produce-server', 'fetch-client', 'fetch-server'])
      for (const ext of ['cpuprofile', 'svg', 'md'])
        expect(existsSync(join(out, 'profiles', `${name}.${ext}`))).toBe(true);
    // The headlines' client is the client process, a process of its own, for produce and fetch alike.
    for (const phase of ['produce', 'fetch'])
      expect(readFileSync(join(out, 'profiles', `${phase}-client.md`), 'utf8')).toContain(
        `# ${phase}, client process (SDK client)`,
      );
  }, 120_000);

  it('measures a server that is already running, through --url and its token', async () => {
    const server = await startLocalServer({ port: 0, memory: true, token: 'bench-token' });
    try {
      const plan: BenchPlan = {
        ...tinyPlan('memory'),
        backend: 'remote',
        target: { url: server.url, token: 'bench-token' },
      };
      const results = await runRemoteBench(plan, join(out, 'remote'));
      expect(results.produce.mibPerSec).toBeGreaterThan(0);
      expect(results.fetch.mibPerSec).toBeGreaterThan(0);
      expect(results.run.signedWith).toBe('bearer token');
      expect(readFileSync(join(out, 'remote', 'remote.md'), 'utf8')).toContain(`--url ${server.url}`);
      expect(existsSync(join(out, 'remote', 'latest.json'))).toBe(false);
      const topics = await fetch(`${server.url}/v1/topics`, {
        headers: { authorization: 'Bearer bench-token' },
      });
      expect(await topics.json()).toEqual({ topics: [] }); // the run deleted what it created
    } finally {
      await server.close();
    }
  }, 120_000);

  it('reports the Kafka fetch as skipped where kcat is not installed, instead of failing', async () => {
    const lines: string[] = [];
    const written = [{ topic: 'never-read', records: 1, payloadBytes: 1 }];
    const fetched = await fetchWithKcat(
      { progress: (line) => lines.push(line) },
      '127.0.0.1:9',
      written,
      MiB,
      1,
      'kcat-not-installed-here',
    );
    expect(fetched).toEqual({ skipped: 'kcat not installed' });
    expect(lines).toEqual(['kafka fetch: skipped: kcat not installed']);
  });

  it('runs on the AWS adapters (DynamoDB Local and s3rver) with the same counts', async () => {
    const aws = testEmulators();
    // The Lambda scenario ran in the run above; here it would only repeat itself.
    const plan = { ...tinyPlan('aws'), lambdaMemory: { requests: 0 } };
    const { results, checks } = await runBench(plan, join(out, 'aws'), { aws });
    expect(results.run.backend).toBe('aws');
    expect(results.putsPerProduceRequest).toBe(1);
    expect(results.commit.transactionsPerPartition).toBe(1);
    expect(results.commit.opsPerTransaction).toBe(2);
    expect(results.fetch.mibPerSec).toBeGreaterThan(0);
    expect(checks.find((c) => c.what === 'Lambda bundles')?.note).toMatch(/skipped: not part of this plan/);
  }, 180_000);
});

describe('peers of the bench (Redis Streams, NATS JetStream)', () => {
  const workload: PeerWorkload = {
    recordBytes: KiB,
    recordsPerBatch: 50,
    lanes: 2,
    batchesPerLane: 2,
    readPasses: 2,
    runs: 1,
  };
  const peerDirs = () => readdirSync(tmpdir()).filter((name) => name.startsWith('streambed-bench-peer-'));

  const measured = (outcome: Awaited<ReturnType<typeof measureRedis>>): PeerMeasurement => {
    if ('skipped' in outcome) throw new Error(`skipped: ${outcome.skipped}`);
    return outcome;
  };

  for (const [server, measure, client] of [
    ['redis-server', measureRedis, /^ioredis 5\.\d+\.\d+, redis-server \d+\./],
    ['nats-server', measureNats, /^@nats-io\/jetstream 3\.\d+\.\d+, nats-server \d+\./],
  ] as const)
    it.skipIf(onPath(server) === undefined)(
      `writes and reads the records through a ${server} it starts and stops (skipped where ${server} is not installed)`,
      async () => {
        const before = peerDirs();
        const peer = measured(await measure(workload));
        expect(peer.recordsPerRun).toBe(200);
        expect(peer.writeMibPerSec).toBeGreaterThan(0);
        expect(peer.readMibPerSec).toBeGreaterThan(0);
        expect(peer.client).toMatch(client);
        expect(peerDirs()).toEqual(before);
      },
      20_000,
    );

  it('reports a peer as not installed where its binary is not on PATH, and the table as not measured', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'streambed-bench-path-'));
    try {
      const redis = await measureRedis(workload, { path: empty });
      const nats = await measureNats(workload, { path: empty });
      expect(redis).toEqual({ skipped: 'not installed (apt-get install redis-server)' });
      expect(nats).toEqual({ skipped: 'not installed (apt-get install nats-server)' });
      const streambed: PeerMeasurement = {
        client: 'c',
        config: 'x',
        recordsPerRun: 200,
        payloadBytesPerRun: 200 * KiB,
        writeMibPerSec: 10,
        readMibPerSec: 20,
        writeRecordsPerSec: 1,
        readRecordsPerSec: 1,
        runs: [],
      };
      const table = peerTable(
        {
          workload,
          redis,
          nats,
          streambedJson: streambed,
          streambedSdk: streambed,
          serverPeakRssMb: { json: 1, sdk: 1 },
        },
        { skipped: 'no listener' },
      );
      expect(table.rows[0]).toMatchObject({
        system: 'Redis Streams',
        writeMibPerSec: null,
        note: 'skipped: not installed (apt-get install redis-server)',
      });
      expect(table.rows[2]).toMatchObject({ writeMibPerSec: 10, writeVsRedis: null });
      expect(peerChecks(table).map((c) => [c.status, c.note])).toEqual(
        Array(4).fill([
          'not measured',
          'Redis Streams skipped: not installed (apt-get install redis-server)',
        ]),
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  /** A server (node -e) that says it is ready, in the directory it was given, and sits there. */
  const fakeServer = (onTerm: string) => ({
    binary: process.execPath,
    args: () => [
      '-e',
      `process.on('SIGTERM', () => { ${onTerm} }); console.log('ready'); setInterval(() => {}, 60_000);`,
    ],
    ready: /ready/,
  });

  it('asks a server to shut down before it removes its directory, so a Redis ends its AOF rewrite child itself', async () => {
    const markers = mkdtempSync(join(tmpdir(), 'peer-stop-'));
    try {
      const marker = join(markers, 'asked');
      const server = await startPeerServer(
        fakeServer(
          `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'SIGTERM'); process.exit(0);`,
        ),
      );
      await server.stop();
      expect(readFileSync(marker, 'utf8')).toBe('SIGTERM');
      expect(existsSync(server.dir)).toBe(false);
      await server.stop(); // twice is harmless
    } finally {
      rmSync(markers, { recursive: true, force: true });
    }
  });

  it('kills a server that has not shut down within its grace', async () => {
    const server = await startPeerServer({ ...fakeServer('/* ignored */'), stopGraceMs: 200 });
    const pid = server.pid as number;
    await server.stop();
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
    expect(existsSync(server.dir)).toBe(false);
  });

  it.skipIf(onPath('redis-server') === undefined)(
    'removes the temporary directory of a server that fails to start (skipped where redis-server is not installed)',
    async () => {
      const before = peerDirs();
      await expect(
        startPeerServer({
          binary: onPath('redis-server') as string,
          args: () => ['--no-such-option', 'x'],
          ready: /Ready to accept connections/,
        }),
      ).rejects.toThrow(/exited with 1/);
      expect(peerDirs()).toEqual(before);
    },
  );
});
