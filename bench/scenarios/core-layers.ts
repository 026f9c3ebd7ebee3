/**
 * The core half of "where the time of one request goes" (layers.ts): each step of one headline produce
 * and fetch below HTTP, timed alone in the server process on the server's own storage, so the rows are
 * what the server spends. layers.ts adds the raw filesystem and HTTP rows around them.
 */

import { decodeProduceBody } from '../../client/wire/binary.ts';
import { BytePool } from '../../client/wire/bytes.ts';
import { crc32c, crc32cImplementation } from '../../client/wire/crc32c.ts';
import { encodeRecordBatch } from '../../client/wire/record-batch.ts';
import { newDataObjectKey } from '../../lambdas/core/layout.ts';
import { encodeObject } from '../../lambdas/core/object-format.ts';
import type { ObjectStore } from '../../lambdas/ports/object-store.ts';
import type { Services } from '../../lambdas/runtime/backends.ts';
import { MiB, median, round } from '../stats.ts';
import { produceBody } from './produce.ts';

export interface LayerTiming {
  step: string;
  p50Ms: number;
  /** Record payload MiB/s at that median. */
  mibPerSec: number;
}

export interface CoreLayersArgs {
  phase: 'produce' | 'fetch';
  topic: string;
  recordBytes: number;
  recordsPerRequest: number;
  requestBytes: number;
  iterations: number;
}

/** Median of `iterations` sequential runs of `step`, after one warm-up run. */
export async function timeIt(
  iterations: number,
  step: (i: number) => Promise<unknown> | unknown,
): Promise<number> {
  const samples: number[] = [];
  await step(-1);
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    await step(i);
    samples.push(performance.now() - start);
  }
  return median(samples);
}

export function layerRow(step: string, ms: number, payloadBytes: number): LayerTiming {
  return { step, p50Ms: round(ms), mibPerSec: round(payloadBytes / MiB / (ms / 1000)) };
}

/**
 * Offset of the batch the i-th fetch reads: the produce phase writes iterations + 1 batches through the
 * core and as many through HTTP, one request each; fetches cycle over them.
 */
export const layerFetchOffset = (i: number, iterations: number, recordsPerRequest: number): number =>
  ((i + 1) % (2 * (iterations + 1))) * recordsPerRequest;

/** Objects written by the produce phase, read back by the fetch phase, per topic. */
const written = new Map<string, { keys: string[]; objectBytes: number }>();

export async function coreLayers(
  storage: { services: Services; objects: ObjectStore },
  args: CoreLayersArgs,
): Promise<LayerTiming[]> {
  const { topic, recordBytes, recordsPerRequest, iterations } = args;
  const payloadBytes = recordsPerRequest * recordBytes;
  const row = (step: string, ms: number) => layerRow(step, ms, payloadBytes);
  const body = produceBody(recordBytes, recordsPerRequest, 0);
  const records = decodeProduceBody(body);
  const now = Date.now();
  const logRecords = records.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: now }));
  const batch = encodeRecordBatch(logRecords);
  const buffers = new BytePool();
  const object = encodeObject([batch]).bytes;

  if (args.phase === 'produce') {
    const keys: string[] = [];
    written.set(topic, { keys, objectBytes: object.byteLength });
    return [
      row(
        'object store put',
        await timeIt(iterations, async () => {
          const key = newDataObjectKey(Date.now());
          await storage.objects.put(key, object);
          keys.push(key);
        }),
      ),
      row('decode binary produce body', await timeIt(iterations, () => decodeProduceBody(body))),
      row(
        'encode record batch (incl. CRC-32C)',
        await timeIt(iterations, () => {
          // Into a reused buffer, as produce encodes (BytePool).
          buffers.release([encodeRecordBatch(logRecords, { allocate: buffers.acquire })]);
        }),
      ),
      row(
        `  of which CRC-32C of the batch (${crc32cImplementation()})`,
        await timeIt(iterations, () => crc32c(batch)),
      ),
      row(
        'encode object by copying batches (several partitions only)',
        await timeIt(iterations, () => encodeObject([batch])),
      ),
      row(
        'core produce (encode + put + commit)',
        await timeIt(iterations, () => storage.services.log.produce({ topic, records })),
      ),
    ];
  }
  const objects = written.get(topic);
  if (objects === undefined) throw new Error(`coreLayers: no produce phase ran for ${topic}`);
  written.delete(topic);
  const { keys, objectBytes } = objects;
  return [
    row(
      'object store get (batch range)',
      await timeIt(iterations, (i) =>
        storage.objects.get(keys[(i + 1) % keys.length] as string, { start: 8, end: objectBytes }),
      ),
    ),
    row(
      'core fetchBatches',
      await timeIt(iterations, (i) =>
        storage.services.log.fetchBatches({
          topic,
          partition: 0,
          offset: layerFetchOffset(i, iterations, recordsPerRequest),
          maxBytes: args.requestBytes,
        }),
      ),
    ),
  ];
}
