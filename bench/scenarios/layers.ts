/**
 * Where the time of one headline request goes: the same 1 MiB produce and fetch timed layer by layer,
 * from the raw filesystem up to HTTP. Each step runs alone, sequentially. The raw filesystem and HTTP
 * rows are timed here, in the bench process; the core rows in the server process on its own storage
 * (core-layers.ts). The differences between rows are what each layer adds.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BARE_CLIENT_NAMES, BARE_CLIENTS, type BareClient } from '../baselines.ts';
import type { Harness } from '../harness.ts';
import { type BenchPlan, recordsPerRequest } from '../plan.ts';
import { type LayerTiming, layerFetchOffset, layerRow, timeIt } from './core-layers.ts';
import { freshTopic, payloadOf, produceBody } from './produce.ts';
import { writeLikeFsStore } from './raw-fs.ts';

export type { LayerTiming } from './core-layers.ts';

export interface LayersResult {
  recordBytes: number;
  requestBytes: number;
  iterations: number;
  produce: LayerTiming[];
  fetch: LayerTiming[];
}

export async function runLayers(harness: Harness, plan: BenchPlan): Promise<LayersResult> {
  const { bare } = harness;
  if (bare === undefined)
    throw new Error('the layers scenario needs a local server and its bare HTTP baseline');
  const { recordBytes, requestBytes } = plan.produce.headline;
  const iterations = plan.mode === 'quick' ? 20 : 50;
  const perRequest = recordsPerRequest(recordBytes, requestBytes);
  const payloadBytes = perRequest * recordBytes;
  const body = produceBody(recordBytes, perRequest, 0);
  const payload = payloadOf(payloadBytes);
  const row = (step: string, ms: number) => layerRow(step, ms, payloadBytes);
  /** One row per client of the bare HTTP baseline: the SDK's (node:http), then fetch. */
  const bareRows = async (what: string, send: (client: BareClient) => Promise<number>) => {
    const rows: LayerTiming[] = [];
    for (const client of BARE_CLIENTS) {
      rows.push(
        row(`bare HTTP ${what}, ${BARE_CLIENT_NAMES[client]}`, await timeIt(iterations, () => send(client))),
      );
    }
    return rows;
  };

  const rawDir = join(harness.scratchDir, `layers-${randomUUID()}`);
  await mkdir(join(rawDir, 'files'), { recursive: true });
  const rawFiles: string[] = [];
  const fsync = harness.durability === 'fsync';
  const topic = freshTopic('layers');
  await harness.client.createTopic(topic, 1);
  const core = { topic, recordBytes, recordsPerRequest: perRequest, requestBytes, iterations };

  const produce = [
    row(
      fsync ? 'raw fs: writeFile + fsync + rename + fsync dir' : 'raw fs: writeFile + rename',
      await timeIt(iterations, async (i) => {
        const temp = join(rawDir, randomUUID());
        const target = join(rawDir, 'files', `${i + 1}`);
        await writeLikeFsStore(temp, target, payload, fsync);
        rawFiles.push(target);
      }),
    ),
    ...(await harness.coreLayers({ ...core, phase: 'produce' })),
    ...(await bareRows('POST of the same body', (client) => bare.post(body, client))),
    row(
      'HTTP produce (client + server + core)',
      await timeIt(iterations, () => harness.client.produce(topic, body)),
    ),
  ];

  const fetchOptions = { maxBytes: requestBytes };
  const fetchBytes = (await harness.client.fetchBatches(topic, 0, 0, fetchOptions)).bytes;
  const fetch = [
    row(
      'raw fs: readFile',
      await timeIt(iterations, (i) => readFile(rawFiles[(i + 1) % rawFiles.length] as string)),
    ),
    ...(await harness.coreLayers({ ...core, phase: 'fetch' })),
    ...(await bareRows('GET of the same bytes', (client) => bare.get(fetchBytes, client))),
    row(
      'HTTP fetch (client + server + core)',
      await timeIt(iterations, (i) =>
        harness.client.fetchBatches(topic, 0, layerFetchOffset(i, iterations, perRequest), fetchOptions),
      ),
    ),
  ];
  await rm(rawDir, { recursive: true, force: true });
  harness.client.calls.reset();
  const result: LayersResult = { recordBytes, requestBytes, iterations, produce, fetch };
  harness.progress(`layers: produce ${produce.map((l) => `${l.step.trim()} ${l.p50Ms} ms`).join('; ')}`);
  harness.progress(`layers: fetch ${fetch.map((l) => `${l.step} ${l.p50Ms} ms`).join('; ')}`);
  return result;
}
