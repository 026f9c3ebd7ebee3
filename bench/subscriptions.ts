/**
 * `npm run bench:subscriptions [-- --quick] [--out DIR]` — subscriptions (DESIGN §12) measured locally and priced
 * at AWS list prices: bench/results/subscriptions.json and subscriptions.md.
 *
 * On the embedded backend of `npm start` (SQLite + files, fsync), with the local runner and a webhook
 * on loopback in this process:
 * - latency: single-record produce requests at a steady pace; for each record, the time from the
 *   produce acknowledgement (the commit) to the webhook receiving it; p50 / p99;
 * - throughput: a backlog in one partition delivered with batchSize 100 and 1,000; records and
 *   invocations per second per partition;
 * - cost: the storage requests the deliverer made while delivering the backlog, counted in DynamoDB
 *   request units and S3 requests (bench/metered-meta-store.ts), plus the Lambda invocations the
 *   deployed stack adds (dispatcher, deliverer, and the deliverer's duration while it waits on the
 *   target), per million records; next to a Kinesis event source mapping and an MSK trigger delivering
 *   the same records to the same function (their retrieval charges; their mappings are free). The
 *   target function's own invocations are the same in all three and shown apart.
 * Methods and limits: docs/subscriptions.md "Performance and cost".
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CountingObjectStore } from '../lambdas/adapters/counting-stores.ts';
import { systemClock } from '../lambdas/ports/clock.ts';
import { createEmbeddedBackend, createServices, noFunctions } from '../lambdas/runtime/backends.ts';
import { createLocalRunner, type LocalRunner } from '../lambdas/subscriptions/local-runner.ts';
import { startWebhook } from '../test/support/webhook.ts';
import { MeteredMetaStore } from './metered-meta-store.ts';
import { ASSUMPTIONS, PRICES, unitPrice } from './prices.ts';
import { GiB, round, summarize } from './stats.ts';

const RECORD_BYTES = 1024;
const PER_MILLION = 1_000_000;

interface Throughput {
  batchSize: number;
  records: number;
  seconds: number;
  recordsPerSec: number;
  invocationsPerSec: number;
  /** Per delivered batch, from the counts. */
  perBatch: { dynamoReadUnits: number; dynamoWriteUnits: number; s3Gets: number };
  /** Mean time a batch spent at the target and around it (the deliverer's billed wait on AWS). */
  msPerBatch: number;
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const dir = mkdtempSync(join(tmpdir(), 'streambed-subscriptions-bench-'));
  const embedded = createEmbeddedBackend({ dataDir: dir });
  const meta = new MeteredMetaStore(embedded.meta);
  const objects = new CountingObjectStore(embedded.objects);
  let runner: LocalRunner | undefined;
  const services = createServices({ meta, objects, close: () => embedded.close() }, systemClock, {
    subscriptionTargets: { validateUrl: () => {}, validateFunction: noFunctions },
    onSubscriptionChange: (name) => runner?.wakeSubscription(name),
  });
  runner = createLocalRunner({ ...services, clock: systemClock }, { owner: 'bench', onEvent: () => {} });
  const hook = await startWebhook();
  const arrived = new Map<string, number>();
  hook.reply = (event) => {
    const now = performance.now();
    for (const value of event.values) if (value !== null) arrived.set(value.slice(0, 24).trim(), now);
    return { status: 200 };
  };
  const value = (id: string) => new TextEncoder().encode(id.padEnd(RECORD_BYTES, ' '));
  try {
    // Latency: one record per produce request, paced, one partition.
    await services.topics.createTopic('latency', 1);
    await services.subscriptions.create({ name: 'latency', topic: 'latency', target: { url: hook.url } });
    const acked = new Map<string, number>();
    const count = quick ? 100 : 500;
    meta.reset();
    objects.reset();
    for (let i = 0; i < count; i++) {
      const id = `l${i}`;
      await services.log.produce({
        topic: 'latency',
        records: [{ key: null, value: value(id), headers: [] }],
      });
      acked.set(id, performance.now());
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await waitUntil(() => [...acked.keys()].every((id) => arrived.has(id)), 'latency records');
    const latency = summarize([...acked].map(([id, at]) => (arrived.get(id) as number) - at));
    await runner.idle();
    // A trickle: every commit wakes a deliverer that claims, delivers one record and releases. The
    // produce requests' own reads and writes are counted too, and taken out below.
    const trickleUnits = meta.reset();
    const trickleGets = objects.counts.gets;
    const trickle = await trickleCost(services, meta, objects, count, trickleUnits, trickleGets);

    // Throughput and counted requests: a backlog in one partition, delivered from the earliest offset.
    const throughput: Throughput[] = [];
    const backlog = quick ? 5_000 : 50_000;
    await services.topics.createTopic('backlog', 1);
    for (let i = 0; i < backlog; i += 1_000) {
      const records = Array.from({ length: 1_000 }, (_, j) => ({
        key: null,
        value: value(`b${i + j}`),
        headers: [],
      }));
      await services.log.produce({ topic: 'backlog', records });
    }
    for (const batchSize of [100, 1_000]) {
      const before = hook.received.length;
      meta.reset();
      objects.reset();
      const started = performance.now();
      await services.subscriptions.create({
        name: `backlog-${batchSize}`,
        topic: 'backlog',
        target: { url: hook.url },
        startingPosition: 'earliest',
        batchSize,
      });
      const name = `backlog-${batchSize}`;
      await waitUntil(
        () =>
          hook.received.filter((r) => r.subscription === name).reduce((n, r) => n + r.offsets.length, 0) >=
          backlog,
        name,
      );
      await runner.idle();
      const seconds = (performance.now() - started) / 1000;
      const batches = hook.received.length - before;
      const units = meta.reset();
      throughput.push({
        batchSize,
        records: backlog,
        seconds: round(seconds),
        recordsPerSec: round(backlog / seconds),
        invocationsPerSec: round(batches / seconds),
        perBatch: {
          dynamoReadUnits: round(units.readUnits / batches),
          dynamoWriteUnits: round(units.writeUnits / batches),
          s3Gets: round(objects.counts.gets / batches),
        },
        msPerBatch: round((seconds * 1000) / batches),
      });
    }
    const cost = costs(throughput);
    const results = {
      quick,
      recordBytes: RECORD_BYTES,
      latency,
      throughput,
      costPerMillionRecords: cost,
      trickle,
    };
    const at = process.argv.indexOf('--out');
    const out =
      at >= 0 ? (process.argv[at + 1] as string) : join(dirname(fileURLToPath(import.meta.url)), 'results');
    writeFileSync(join(out, 'subscriptions.json'), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(join(out, 'subscriptions.md'), report(results));
    process.stderr.write(
      `delivery latency p50 ${latency.p50Ms} ms, p99 ${latency.p99Ms} ms; ${throughput
        .map(
          (t) => `batch ${t.batchSize}: ${t.recordsPerSec} records/s, ${t.invocationsPerSec} invocations/s`,
        )
        .join('; ')}\nwrote ${out}/subscriptions.json, subscriptions.md\n`,
    );
  } finally {
    await runner.close();
    await hook.close();
    await embedded.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function waitUntil(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 300_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Dollars per million 1 KiB records delivered, per batch size. */
function costs(throughput: readonly Throughput[]) {
  const gib = (PER_MILLION * RECORD_BYTES) / GiB;
  const lambdaRequest = unitPrice(PRICES.lambdaRequest);
  const gbSecond = unitPrice(PRICES.lambdaArmGbSecond);
  return throughput.map((t) => {
    const batches = PER_MILLION / t.batchSize;
    const targetInvocations = batches * lambdaRequest;
    // Backlog: the deliverer runs until caught up, re-invoking itself every few minutes; the dispatcher
    // and the deliverer's own invocations are a handful per backlog, so only its duration counts here.
    const delivererWait = batches * (t.msPerBatch / 1000) * ASSUMPTIONS.lambdaMemoryGb * gbSecond;
    const storage =
      batches * t.perBatch.dynamoReadUnits * unitPrice(PRICES.dynamoReadRequestUnit) +
      batches * t.perBatch.dynamoWriteUnits * unitPrice(PRICES.dynamoWriteRequestUnit) +
      batches * t.perBatch.s3Gets * unitPrice(PRICES.s3GetRequest);
    const kinesis = gib * unitPrice(PRICES.kinesisGbRetrieved);
    const msk = gib * unitPrice(PRICES.mskServerlessGbOut);
    return {
      batchSize: t.batchSize,
      targetFunctionInvocations: round(targetInvocations),
      streambed: {
        storage: round(storage),
        delivererDuration: round(delivererWait),
        total: round(storage + delivererWait),
      },
      kinesisEventSourceMapping: { retrieval: round(kinesis), total: round(kinesis) },
      mskTrigger: { dataOut: round(msk), total: round(msk) },
    };
  });
}

/**
 * What one commit of one record costs a caught-up subscription on AWS, from the requests counted in
 * the latency run: the storage requests of the deliverer's run (the same run as produce's, minus what
 * the same produce requests cost without a subscription, measured after it), two Lambda invocations
 * (the dispatcher's, counted one per commit, the worst case, and the deliverer's), and one target
 * invocation.
 */
async function trickleCost(
  services: ReturnType<typeof createServices>,
  meta: MeteredMetaStore,
  objects: CountingObjectStore,
  count: number,
  withSubscription: { readUnits: number; writeUnits: number },
  getsWithSubscription: number,
) {
  await services.topics.createTopic('baseline', 1);
  objects.reset();
  const value = new Uint8Array(RECORD_BYTES);
  for (let i = 0; i < count; i++) {
    await services.log.produce({ topic: 'baseline', records: [{ key: null, value, headers: [] }] });
  }
  const produceOnly = meta.reset();
  const perCommit = {
    dynamoReadUnits: round((withSubscription.readUnits - produceOnly.readUnits) / count),
    dynamoWriteUnits: round((withSubscription.writeUnits - produceOnly.writeUnits) / count),
    s3Gets: round((getsWithSubscription - objects.counts.gets) / count),
    lambdaInvocations: 2,
  };
  const dollars =
    perCommit.dynamoReadUnits * unitPrice(PRICES.dynamoReadRequestUnit) +
    perCommit.dynamoWriteUnits * unitPrice(PRICES.dynamoWriteRequestUnit) +
    perCommit.s3Gets * unitPrice(PRICES.s3GetRequest) +
    perCommit.lambdaInvocations * unitPrice(PRICES.lambdaRequest);
  return { perCommit, costPerMillionCommits: round(dollars * PER_MILLION) };
}

function report(results: {
  quick: boolean;
  latency: ReturnType<typeof summarize>;
  throughput: Throughput[];
  costPerMillionRecords: ReturnType<typeof costs>;
  trickle: Awaited<ReturnType<typeof trickleCost>>;
}): string {
  const lines = [
    '# Subscriptions: delivery latency, throughput and cost',
    '',
    `Generated by \`npm run bench:subscriptions${results.quick ? ' -- --quick' : ''}\` on the embedded backend (fsync), 1 KiB records, a webhook on loopback that answers at once. One run; machines here are noisy, compare within a run.`,
    '',
    '## Latency, commit → webhook',
    '',
    `| records | p50 ms | p99 ms | max ms |`,
    `|---|---|---|---|`,
    `| ${results.latency.count} | ${results.latency.p50Ms} | ${results.latency.p99Ms} | ${results.latency.maxMs} |`,
    '',
    '## Throughput, one partition, backlog',
    '',
    '| batchSize | records | records/s | invocations/s | ms per batch | RRU / batch | WRU / batch | S3 GET / batch |',
    '|---|---|---|---|---|---|---|---|',
    ...results.throughput.map(
      (t) =>
        `| ${t.batchSize} | ${t.records} | ${t.recordsPerSec} | ${t.invocationsPerSec} | ${t.msPerBatch} | ${t.perBatch.dynamoReadUnits} | ${t.perBatch.dynamoWriteUnits} | ${t.perBatch.s3Gets} |`,
    ),
    '',
    '## Cost per million records delivered (US $, us-east-1 list prices, bench/prices.ts)',
    '',
    'Delivery only: producing the records is priced by the main bench. The target function’s invocations are the same for all three and listed apart.',
    '',
    '| batchSize | target invocations | Streambed storage requests | Streambed deliverer duration | Streambed total | Kinesis ESM (retrieval) | MSK trigger (data out) |',
    '|---|---|---|---|---|---|---|',
    ...results.costPerMillionRecords.map(
      (c) =>
        `| ${c.batchSize} | ${c.targetFunctionInvocations} | ${c.streambed.storage} | ${c.streambed.delivererDuration} | ${c.streambed.total} | ${c.kinesisEventSourceMapping.total} | ${c.mskTrigger.total} |`,
    ),
    '',
    `The deliverer's duration is the measured time per batch × ${ASSUMPTIONS.lambdaMemoryGb} GB: on AWS it waits on the target function, so a slower function costs more here, linearly.`,
    '',
    '## A trickle: one record per commit, counted in the latency run',
    '',
    '| read units / commit | write units / commit | S3 GET / commit | Lambda invocations / commit | $ per million commits |',
    '|---|---|---|---|---|',
    `| ${results.trickle.perCommit.dynamoReadUnits} | ${results.trickle.perCommit.dynamoWriteUnits} | ${results.trickle.perCommit.s3Gets} | ${results.trickle.perCommit.lambdaInvocations} (dispatcher, deliverer) | ${results.trickle.costPerMillionCommits} |`,
    '',
    'Every commit wakes a deliverer that claims the lease, delivers one record and releases: batching on the producer side (fewer, larger commits) or a batching window is what makes delivery cheap. The target function’s invocation is not included.',
    '',
  ];
  return lines.join('\n');
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
