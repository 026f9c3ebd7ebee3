/**
 * `npm run bench -- --stack local`: the produce, read-back and end-to-end scenarios against the
 * synthesized stack run offline (test/stack/offline-stack.ts: the cdk.out bundles behind the API
 * Gateway emulation, on DynamoDB Local and the S3 emulator), then a check the deployed stack cannot
 * give from outside: after the janitor has compacted, does any response come close to Lambda's
 * payload limit? Escaping-heavy values (quotes, control characters) and a record of 900 kB of 0x01
 * bytes are written, compacted, and read back whole as JSON and as batches at the largest max_bytes;
 * every payload the functions returned is measured as Lambda measures it (JSON text).
 *
 * Writes bench/results/stack.json and stack.md (stack-rest.* for the REST flavor). The numbers are of this machine running every
 * function in a local process: they show the stack works at size, not how fast AWS is.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Streambed } from '../client/index.ts';
import { sigV4Signer } from '../client/sigv4.ts';
import { BATCHES_CONTENT_TYPE, NEXT_OFFSET_HEADER } from '../client/wire/binary.ts';
import { MAX_FETCH_MAX_BYTES } from '../client/wire/limits.ts';
import { LAMBDA_MAX_RESPONSE_BYTES } from '../test/stack/lambda-host.ts';
import {
  type ApiFlavor,
  assemblyDirectory,
  type OfflineStack,
  startOfflineStack,
  synthesizeStack,
} from '../test/stack/offline-stack.ts';
import { startDynamoDbLocal } from '../test/support/dynamodb-local.ts';
import { startS3Emulator } from '../test/support/s3-emulator.ts';
import { measureRemote } from './bench.ts';
import { connectHarness } from './harness.ts';
import type { BenchPlan } from './plan.ts';
import { renderRemoteReport } from './report.ts';

export interface CompactionCheck {
  recordsWritten: number;
  bytesWritten: number;
  compactedBatches: number;
  janitorRuns: number;
  jsonRecordsRead: number;
  jsonFetches: number;
  binaryRecordsRead: number;
  binaryFetches: number;
  /** Largest response any function returned over the whole run, in bytes of JSON text. */
  largestResponseBytes: number;
  responseLimitBytes: number;
  oversizedResponses: number;
  passed: boolean;
}

/** 1 KiB values that cost the most once escaped twice: quotes, backslashes and control characters. */
function escapingHeavyValue(i: number): string {
  const unit = `"\\\u0001${String.fromCharCode(0x02 + (i % 20))}`;
  return unit.repeat(256);
}

export async function compactionCheck(
  stack: OfflineStack,
  flavor: ApiFlavor,
  progress: (line: string) => void,
) {
  const client = new Streambed({
    url: stack.url,
    aws: { region: stack.region, credentials: stack.credentials },
  });
  const topic = `bench-stack-compaction-${Date.now()}`;
  await client.admin().createTopic({ topic, numPartitions: 1 });
  const producer = client.producer({ lingerMs: 0 });
  let recordsWritten = 0;
  let bytesWritten = 0;
  // 24 requests of about 1 MiB, one record of 900 kB of 0x01 in the middle.
  for (let request = 0; request < 24; request += 1) {
    const messages =
      request === 12
        ? [{ value: Buffer.alloc(900_000, 1) }]
        : Array.from({ length: 1_000 }, (_, i) => ({ key: `k${i % 50}`, value: escapingHeavyValue(i) }));
    await producer.send({ topic, messages });
    recordsWritten += messages.length;
    bytesWritten += messages.reduce((sum, m) => sum + Buffer.byteLength(m.value), 0);
  }
  await producer.disconnect();
  progress(
    `stack: wrote ${recordsWritten} escaping-heavy records (${(bytesWritten / 1048576).toFixed(1)} MiB); compacting`,
  );

  // The janitor compacts objects a few seconds old: run it until one run compacts nothing more. Runs
  // before that may be busy cleaning up the topics the scenarios above deleted.
  let compactedBatches = 0;
  let janitorRuns = 0;
  const deadline = Date.now() + 600_000;
  for (;;) {
    const mark = stack.logMark();
    const outcome = await stack.invokeScheduled('Janitor');
    janitorRuns += 1;
    if (outcome.kind !== 'result') throw new Error(`janitor invocation failed: ${JSON.stringify(outcome)}`);
    const report = stack
      .logsSince(mark)
      .map((line) => /"message":"janitor run".*"compactedBatches":(\d+)/.exec(line)?.[1])
      .find((value) => value !== undefined);
    const compacted = Number(report ?? 0);
    compactedBatches += compacted;
    if (compactedBatches > 0 && compacted === 0) break;
    if (Date.now() > deadline) {
      const janitorLines = stack.logs.filter(
        (line) => /janitor/i.test(line) && /"level":"(WARN|ERROR)"|janitor run/.test(line),
      );
      throw new Error(
        `the janitor did not compact within 600 s; its last reports:\n${janitorLines.slice(-5).join('\n')}`,
      );
    }
    if (compacted === 0) await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  progress(`stack: ${compactedBatches} batches compacted in ${janitorRuns} janitor runs; reading back`);

  const admin = client.admin();
  const { highWatermark } = await admin.fetchPartitionOffsets(topic, 0);
  const sign = sigV4Signer({ region: stack.region, credentials: stack.credentials });
  const read = async (offset: number, accept: string) => {
    const url = new URL(
      `v1/topics/${topic}/partitions/0/records?offset=${offset}&max_bytes=${MAX_FETCH_MAX_BYTES}`,
      stack.url,
    );
    const headers = await sign({ method: 'GET', url, headers: { accept }, body: undefined });
    const response = await fetch(url, { headers });
    if (response.status !== 200)
      throw new Error(`fetch at ${offset} answered ${response.status}: ${await response.text()}`);
    return response;
  };
  // JSON, the form whose escaping the limit is about.
  let jsonRecordsRead = 0;
  let jsonFetches = 0;
  for (let offset = 0; offset < highWatermark; ) {
    const page = (await (await read(offset, 'application/json')).json()) as {
      records: unknown[];
      nextOffset: number;
    };
    jsonFetches += 1;
    jsonRecordsRead += page.records.length;
    if (page.nextOffset <= offset) throw new Error(`JSON fetch at ${offset} made no progress`);
    offset = page.nextOffset;
  }
  // Batches, the SDK's form (offsets are contiguous: the records read are the offsets advanced).
  let binaryRecordsRead = 0;
  let binaryFetches = 0;
  for (let offset = 0; offset < highWatermark; ) {
    const response = await read(offset, BATCHES_CONTENT_TYPE);
    await response.arrayBuffer();
    const nextOffset = Number(response.headers.get(NEXT_OFFSET_HEADER));
    binaryFetches += 1;
    if (!(nextOffset > offset)) throw new Error(`binary fetch at ${offset} made no progress`);
    binaryRecordsRead += nextOffset - offset;
    offset = nextOffset;
  }
  await admin.deleteTopic(topic);

  const stats = [...stack.payloadStats.values()];
  const largestResponseBytes = Math.max(...stats.map((s) => s.largestResponseBytes));
  const oversizedResponses = stats.reduce((sum, s) => sum + s.oversizedResponses, 0);
  const check: CompactionCheck = {
    recordsWritten,
    bytesWritten,
    compactedBatches,
    janitorRuns,
    jsonRecordsRead,
    jsonFetches,
    binaryRecordsRead,
    binaryFetches,
    largestResponseBytes,
    responseLimitBytes: LAMBDA_MAX_RESPONSE_BYTES,
    oversizedResponses,
    passed:
      oversizedResponses === 0 && jsonRecordsRead === recordsWritten && binaryRecordsRead === recordsWritten,
  };
  progress(
    `stack (${flavor}): largest response ${largestResponseBytes} B of ${LAMBDA_MAX_RESPONSE_BYTES}; ${oversizedResponses} over the bound; read back ${jsonRecordsRead}/${binaryRecordsRead} of ${recordsWritten}`,
  );
  return check;
}

function renderCheck(check: CompactionCheck, flavor: ApiFlavor): string {
  return [
    '',
    '## Lambda payload bound after compaction',
    '',
    `${check.recordsWritten} records (${(check.bytesWritten / 1048576).toFixed(1)} MiB of quotes, backslashes and control characters, and one record of 900 kB of 0x01) written in 24 requests, compacted by the janitor (${check.compactedBatches} batches in ${check.janitorRuns} runs), then read back whole at max_bytes ${MAX_FETCH_MAX_BYTES} through the ${flavor} API:`,
    '',
    '| read as | fetches | records read |',
    '| --- | --- | --- |',
    `| JSON (utf8) | ${check.jsonFetches} | ${check.jsonRecordsRead} of ${check.recordsWritten} |`,
    `| batches (binary) | ${check.binaryFetches} | ${check.binaryRecordsRead} of ${check.recordsWritten} |`,
    '',
    `Largest response any function returned during the whole run: **${check.largestResponseBytes.toLocaleString('en-US')} bytes** of Lambda's ${check.responseLimitBytes.toLocaleString('en-US')}; responses over the bound: **${check.oversizedResponses}**. ${check.passed ? 'Passed.' : 'FAILED.'}`,
    '',
  ].join('\n');
}

export async function runStackBench(plan: BenchPlan, outDir: string, flavor: ApiFlavor) {
  const progress = (line: string) => process.stderr.write(`${line}\n`);
  const [dynamo, s3, assembly] = await Promise.all([
    startDynamoDbLocal(),
    startS3Emulator(),
    assemblyDirectory(),
  ]);
  let stack: OfflineStack | undefined;
  try {
    progress(`stack: synthesizing (${flavor} API)`);
    const synthesized = synthesizeStack(assembly.dir, flavor);
    stack = await startOfflineStack({
      synthesized,
      dynamoEndpoint: dynamo.endpoint,
      s3Endpoint: s3.endpoint,
      schedules: false,
    });
    const target = { url: stack.url, aws: { region: stack.region, credentials: stack.credentials } };
    const harness = connectHarness(target);
    let results: Awaited<ReturnType<typeof measureRemote>>;
    try {
      harness.progress(`${plan.mode} mode against the offline stack at ${stack.url}`);
      results = await measureRemote({ ...plan, target }, harness);
    } finally {
      await harness.client.deleteCreatedTopics().catch(() => {});
      await harness.close();
    }
    const check = await compactionCheck(stack, flavor, progress);
    mkdirSync(outDir, { recursive: true });
    const out = { ...results, stack: { flavor, compaction: check } };
    const name = flavor === 'rest' ? 'stack-rest' : 'stack';
    writeFileSync(join(outDir, `${name}.json`), `${JSON.stringify(out, null, 2)}\n`);
    const report = renderRemoteReport(results, { ...plan, target }).replace(
      '# Streambed benchmark against a running server',
      `# Streambed benchmark against the synthesized stack offline (${flavor} API)`,
    );
    writeFileSync(join(outDir, `${name}.md`), `${report.trimEnd()}\n${renderCheck(check, flavor)}`);
    return { results, check };
  } finally {
    await stack?.close();
    await Promise.all([dynamo.stop(), s3.stop(), assembly.remove()]);
  }
}
