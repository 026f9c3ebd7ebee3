/**
 * Where the time of one headline request goes: the same 1 MiB produce and fetch timed layer by layer,
 * from the raw filesystem up to HTTP. Each step runs alone, sequentially, on the same storage as the
 * server, so the differences between rows are what each layer adds.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32c } from '../../lambdas/core/crc32c.ts';
import { newDataObjectKey } from '../../lambdas/core/layout.ts';
import { encodeObject } from '../../lambdas/core/object-format.ts';
import { encodeRecordBatch } from '../../lambdas/core/record-batch.ts';
import { decodeProduceBody } from '../../lambdas/http/binary.ts';
import type { Harness } from '../harness.ts';
import { type BenchPlan, recordsPerRequest } from '../plan.ts';
import { MiB, median, round } from '../stats.ts';
import { freshTopic, payloadOf, produceBody } from './produce.ts';

export interface LayerTiming {
  step: string;
  p50Ms: number;
  /** Record payload MiB/s at that median. */
  mibPerSec: number;
}

export interface LayersResult {
  recordBytes: number;
  requestBytes: number;
  iterations: number;
  produce: LayerTiming[];
  fetch: LayerTiming[];
}

async function timeIt(iterations: number, step: (i: number) => Promise<unknown> | unknown): Promise<number> {
  const samples: number[] = [];
  await step(-1); // warm-up
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    await step(i);
    samples.push(performance.now() - start);
  }
  return median(samples);
}

export async function runLayers(harness: Harness, plan: BenchPlan): Promise<LayersResult> {
  const { recordBytes, requestBytes } = plan.produce.headline;
  const iterations = plan.mode === 'quick' ? 20 : 50;
  const perRequest = recordsPerRequest(recordBytes, requestBytes);
  const payloadBytes = perRequest * recordBytes;
  const body = produceBody(recordBytes, perRequest, 0);
  const records = decodeProduceBody(body);
  const now = Date.now();
  const logRecords = records.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: now }));
  const batch = encodeRecordBatch(logRecords);
  const object = encodeObject([batch]).bytes;
  const payload = payloadOf(payloadBytes);
  const rate = (ms: number) => round(payloadBytes / MiB / (ms / 1000));
  const row = (step: string, ms: number): LayerTiming => ({ step, p50Ms: round(ms), mibPerSec: rate(ms) });

  const rawDir = join(harness.scratchDir, `layers-${randomUUID()}`);
  await mkdir(join(rawDir, 'files'), { recursive: true });
  const rawFiles: string[] = [];
  const topic = freshTopic('layers');
  await harness.client.createTopic(topic, 1);
  const keys: string[] = [];

  const produce = [
    row(
      'raw fs: writeFile + rename',
      await timeIt(iterations, async (i) => {
        const temp = join(rawDir, randomUUID());
        const target = join(rawDir, 'files', `${i + 1}`);
        await writeFile(temp, payload);
        await rename(temp, target);
        rawFiles.push(target);
      }),
    ),
    row(
      'object store put (fs adapter)',
      await timeIt(iterations, async () => {
        const key = newDataObjectKey(Date.now());
        await harness.storage.objects.put(key, object);
        keys.push(key);
      }),
    ),
    row('decode binary produce body', await timeIt(iterations, () => decodeProduceBody(body))),
    row('encode record batch (incl. CRC-32C)', await timeIt(iterations, () => encodeRecordBatch(logRecords))),
    row('  of which CRC-32C of the batch', await timeIt(iterations, () => crc32c(batch))),
    row('encode object (copy batches behind header)', await timeIt(iterations, () => encodeObject([batch]))),
    row(
      'core produce (encode + put + commit)',
      await timeIt(iterations, () => harness.direct.log.produce({ topic, records })),
    ),
    row(
      'HTTP produce (client + server + core)',
      await timeIt(iterations, () => harness.client.produce(topic, body)),
    ),
  ];

  // Each produce above wrote one batch of `perRequest` records; fetch them back one batch at a time.
  const batches = 2 * (iterations + 1);
  const offsetOf = (i: number) => ((i + 1) % batches) * perRequest;
  const fetchOptions = { maxBytes: requestBytes };
  const fetch = [
    row(
      'raw fs: readFile',
      await timeIt(iterations, (i) => readFile(rawFiles[(i + 1) % rawFiles.length] as string)),
    ),
    row(
      'object store get (fs adapter, batch range)',
      await timeIt(iterations, (i) =>
        harness.storage.objects.get(keys[(i + 1) % keys.length] as string, {
          start: 8,
          end: object.byteLength,
        }),
      ),
    ),
    row(
      'core fetchBatches',
      await timeIt(iterations, (i) =>
        harness.direct.log.fetchBatches({ topic, partition: 0, offset: offsetOf(i), ...fetchOptions }),
      ),
    ),
    row(
      'HTTP fetch (client + server + core)',
      await timeIt(iterations, (i) => harness.client.fetchBatches(topic, 0, offsetOf(i), fetchOptions)),
    ),
  ];
  await rm(rawDir, { recursive: true, force: true });
  harness.client.calls.reset();
  const result: LayersResult = { recordBytes, requestBytes, iterations, produce, fetch };
  harness.progress(`layers: produce ${produce.map((l) => `${l.step.trim()} ${l.p50Ms} ms`).join('; ')}`);
  harness.progress(`layers: fetch ${fetch.map((l) => `${l.step} ${l.p50Ms} ms`).join('; ')}`);
  return result;
}
