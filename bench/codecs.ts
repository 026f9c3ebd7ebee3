/**
 * What reading a Kafka client's compressed batch costs: decompressing one 1 MiB records section with
 * each codec Streambed decodes (gzip and zstd through node:zlib, snappy and lz4 in JavaScript,
 * client/wire/snappy.ts and lz4.ts), next to the pure-JavaScript reference decoders the tests check
 * against (snappyjs, lz4js) and to a plain copy of the same bytes. Two inputs: text-like records
 * (JSON lines, which compress 4-8×) and incompressible bytes (the headline's payload).
 *
 *   npx tsx bench/codecs.ts [--rounds 15]
 *
 * Every decoder runs in the same process, in alternating rounds of 10 decompressions each; the table
 * gives each one's best round (ms per MiB of output, and MiB/s). Not part of `npm run bench`.
 */
import { parseArgs } from 'node:util';
import * as zlib from 'node:zlib';
import * as lz4js from 'lz4js';
import SnappyJS from 'snappyjs';
import { lz4Decompress } from '../client/wire/lz4.ts';
import { snappyDecompress } from '../client/wire/snappy.ts';
import { payloadOf } from './scenarios/produce.ts';

const MiB = 1024 * 1024;
const LIMIT = { maxOutputLength: 64 * MiB };

/** JSON lines of a few fields, as an application's events look. */
function textRecords(): Uint8Array {
  const out = new Uint8Array(MiB);
  const encoder = new TextEncoder();
  const events = ['signed up', 'paid', 'clicked'];
  for (let at = 0, n = 0; at < out.length; n++) {
    const line = `${JSON.stringify({ user: `user-${n % 977}`, event: events[n % 3], amount: (n * 7919) % 10_000, at: 1_790_000_000_000 + n * 13 })}\n`;
    const bytes = encoder.encode(line);
    out.set(bytes.subarray(0, out.length - at), at);
    at += bytes.length;
  }
  return out;
}

function incompressible(): Uint8Array {
  const out = new Uint8Array(MiB);
  for (let i = 0; i < MiB / 1024; i++) out.set(payloadOf(1024, i), i * 1024);
  return out;
}

type Zstd = (bytes: Uint8Array) => Uint8Array;
const zlibZstd = zlib as unknown as { zstdCompressSync?: Zstd; zstdDecompressSync?: Zstd };

function decoders(input: Uint8Array): [string, number, () => unknown][] {
  const gzip = zlib.gzipSync(input);
  const snappy = SnappyJS.compress(input);
  const lz4 = lz4js.compress(input);
  const rows: [string, number, () => unknown][] = [
    ['copy of the bytes (Uint8Array.slice)', input.length, () => input.slice()],
    ['gzip, node:zlib', gzip.length, () => zlib.gunzipSync(gzip)],
    ['snappy, Streambed', snappy.length, () => snappyDecompress(snappy, LIMIT)],
    ['snappy, snappyjs', snappy.length, () => SnappyJS.uncompress(snappy)],
    ['lz4, Streambed', lz4.length, () => lz4Decompress(lz4, LIMIT)],
    ['lz4, lz4js', lz4.length, () => lz4js.decompress(lz4)],
  ];
  const { zstdCompressSync, zstdDecompressSync } = zlibZstd;
  if (zstdCompressSync && zstdDecompressSync) {
    const zstd = zstdCompressSync(input);
    rows.splice(2, 0, ['zstd, node:zlib', zstd.length, () => zstdDecompressSync(zstd)]);
  }
  return rows;
}

function measure(input: Uint8Array, rounds: number): string[] {
  const rows = decoders(input);
  const best = rows.map(() => Number.POSITIVE_INFINITY);
  for (let round = 0; round < rounds; round++) {
    rows.forEach(([, , decode], i) => {
      const start = performance.now();
      for (let n = 0; n < 10; n++) decode();
      best[i] = Math.min(best[i] as number, (performance.now() - start) / 10);
    });
  }
  return rows.map(([name, compressed], i) => {
    const ms = best[i] as number;
    const ratio = (compressed / input.length).toFixed(2);
    return `| ${name} | ${ratio} | ${ms.toFixed(2)} | ${Math.round(input.length / MiB / (ms / 1000))} |`;
  });
}

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '15' } } });
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1)
  throw new Error(`--rounds must be a positive integer, got ${values.rounds}`);
console.log(`Decompressing a 1 MiB records section, best of ${rounds} rounds (Node ${process.version})\n`);
for (const [label, input] of [
  ['text-like records (JSON lines)', textRecords()],
  ['incompressible bytes', incompressible()],
] as const) {
  console.log(
    `${label}\n\n| decoder | compressed / original | ms per MiB | MiB/s |\n| --- | --- | --- | --- |`,
  );
  for (const line of measure(input, rounds)) console.log(line);
  console.log('');
}
