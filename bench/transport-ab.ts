/**
 * A/B of the SDK transport's two paths on one machine, in alternating rounds: `fetch` (global fetch,
 * passed as the `fetch` option) against the default (node:http with a keep-alive agent). Each round
 * starts on a fresh topic of the local server: 4 SDK producers, one per partition, each sending
 * 1,000 × 1 KiB records per `send`; then 4 readers reading their partition back with binary fetch,
 * 1 MiB at a time. Prints MiB/s and the bench process's CPU (process.cpuUsage) per path.
 *
 *   npx tsx bench/transport-ab.ts [--rounds 3] [--sends 16]
 *
 * It starts its own server (`streambed start --no-kafka`) on a temporary data dir; not part of
 * `npm run bench`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Admin } from '../client/admin.ts';
import { Producer } from '../client/producer.ts';
import { segment, Transport, type TransportOptions } from '../client/transport.ts';
import { BATCHES_CONTENT_TYPE, NEXT_OFFSET_HEADER } from '../client/wire/binary.ts';
import { startCliServer } from '../test/support/cli-server.ts';

const PRODUCERS = 4;
const RECORDS_PER_SEND = 1_000;
const RECORD_BYTES = 1024;
const MiB = 1024 * 1024;

interface Sample {
  mib: number;
  seconds: number;
  cpuSeconds: number;
}

async function timed(run: () => Promise<number>): Promise<Sample> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const bytes = await run();
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return { mib: bytes / MiB, seconds, cpuSeconds: (used.user + used.system) / 1e6 };
}

async function round(options: TransportOptions, topic: string, sends: number): Promise<[Sample, Sample]> {
  const transport = new Transport(options);
  const admin = new Admin(transport);
  await admin.createTopic({ topic, numPartitions: PRODUCERS });
  const value = new Uint8Array(RECORD_BYTES).fill(120);
  const produce = await timed(async () => {
    await Promise.all(
      Array.from({ length: PRODUCERS }, async (_, partition) => {
        const producer = new Producer<Uint8Array>(transport);
        const messages = Array.from({ length: RECORDS_PER_SEND }, () => ({ value, partition }));
        for (let n = 0; n < sends; n++) await producer.send({ topic, messages });
        await producer.disconnect();
      }),
    );
    return PRODUCERS * sends * RECORDS_PER_SEND * RECORD_BYTES;
  });
  const end = sends * RECORDS_PER_SEND;
  const read = await timed(async () => {
    const totals = await Promise.all(
      Array.from({ length: PRODUCERS }, async (_, partition) => {
        let offset = 0;
        let bytes = 0;
        while (offset < end) {
          const response = await transport.raw(
            'GET',
            `/v1/topics/${segment(topic)}/partitions/${partition}/records`,
            { query: { offset, max_bytes: MiB }, accept: BATCHES_CONTENT_TYPE },
          );
          bytes += response.bytes.byteLength;
          offset = Number(response.headers.get(NEXT_OFFSET_HEADER));
        }
        return bytes;
      }),
    );
    return totals.reduce((sum, bytes) => sum + bytes, 0);
  });
  await admin.deleteTopic(topic);
  return [produce, read];
}

function summary(samples: Sample[]): { mibPerSecond: number; cpuSecondsPerGiB: number } {
  const mib = samples.reduce((sum, s) => sum + s.mib, 0);
  const seconds = samples.reduce((sum, s) => sum + s.seconds, 0);
  const cpu = samples.reduce((sum, s) => sum + s.cpuSeconds, 0);
  return { mibPerSecond: mib / seconds, cpuSecondsPerGiB: (cpu / mib) * 1024 };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { rounds: { type: 'string', default: '3' }, sends: { type: 'string', default: '16' } },
  });
  const rounds = Number(values.rounds);
  const sends = Number(values.sends);
  const dataDir = mkdtempSync(join(tmpdir(), 'streambed-transport-ab-'));
  const server = await startCliServer(['--port', '0', '--data-dir', dataDir, '--no-kafka']);
  const paths: Record<string, TransportOptions> = {
    fetch: { url: server.url, fetch: globalThis.fetch },
    'node:http': { url: server.url },
  };
  const results: Record<string, { produce: Sample[]; read: Sample[] }> = {};
  for (const name of Object.keys(paths)) results[name] = { produce: [], read: [] };
  try {
    // Warm-up of both paths (JIT, the server's first topic), not counted.
    for (const [name, options] of Object.entries(paths)) await round(options, `ab-warm-${name.length}`, 2);
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? Object.keys(paths) : Object.keys(paths).reverse();
      for (const name of order) {
        const [produce, read] = await round(paths[name] as TransportOptions, `ab-${r}-${name.length}`, sends);
        results[name]?.produce.push(produce);
        results[name]?.read.push(read);
        console.log(
          `round ${r + 1} ${name}: produce ${(produce.mib / produce.seconds).toFixed(0)} MiB/s (cpu ${produce.cpuSeconds.toFixed(2)} s), read ${(read.mib / read.seconds).toFixed(0)} MiB/s (cpu ${read.cpuSeconds.toFixed(2)} s)`,
        );
      }
    }
  } finally {
    server.child.kill();
    rmSync(dataDir, { recursive: true, force: true });
  }
  for (const [name, { produce, read }] of Object.entries(results)) {
    const p = summary(produce);
    const g = summary(read);
    console.log(
      `${name}: produce ${p.mibPerSecond.toFixed(0)} MiB/s, client CPU ${p.cpuSecondsPerGiB.toFixed(2)} s/GiB; read ${g.mibPerSecond.toFixed(0)} MiB/s, client CPU ${g.cpuSecondsPerGiB.toFixed(2)} s/GiB`,
    );
  }
}

await main();
