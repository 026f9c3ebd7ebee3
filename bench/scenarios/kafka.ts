/**
 * Streambed through Kafka clients, on the server's Kafka listener (DESIGN §13), next to the SDK
 * numbers of the same run.
 *
 * Produce: KafkaJS producers shaped like the SDK headline (its record size, its records per request,
 * its concurrency): each producer sends one request's worth of records per `send` to a partition of
 * its own on a fresh topic, with acks -1 and no compression. KafkaJS sends one Produce request per
 * `send` per broker, and the listener is one broker, so a `send` is one Produce request; its S3 PUTs
 * are counted (one object per Produce request). Latency is per `send`.
 *
 * Fetch: kcat (librdkafka, the fastest consumer here) reads each produced topic from the beginning to
 * the end of every partition, once, right after it was written (the first read, like the SDK fetch
 * headline), with fetch.max.bytes set to the SDK headline's max_bytes. It prints each value's size
 * rather than the value, so that the bytes it received are counted, not assumed; the process is timed
 * from spawn to exit (connection and metadata included). With `-e`, librdkafka learns that a partition
 * is at its end only from a Fetch that finds nothing, which the listener holds for fetch.wait.max.ms
 * as a Kafka broker does (min_bytes not met): at librdkafka's default 500 ms, one or two such polls
 * would weigh more than reading the data, and the SDK's read stops at the high watermark without one,
 * so kcat waits at most EOF_WAIT_MS. Without kcat the fetch is reported as skipped.
 *
 * Consume: a KafkaJS consumer of a fresh group reads each topic from the beginning, with maxBytes set
 * to the same max_bytes, counting records and value bytes in `eachBatch` until it has them all. It is
 * timed from the moment it joined the group (join and sync are reported apart) to the last record.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { CompressionTypes, Kafka, logLevel, type Producer } from 'kafkajs';
import type { Harness } from '../harness.ts';
import { type BenchPlan, recordsPerRequest } from '../plan.ts';
import { type LatencySummary, MiB, median, round, runPool, summarize } from '../stats.ts';
import { freshTopic, payloadOf, requestCount } from './produce.ts';

export interface KafkaRun {
  seconds: number;
  mibPerSec: number;
  recordsPerSec: number;
}

export interface KafkaProduceResult {
  client: string;
  producers: number;
  recordBytes: number;
  recordsPerSend: number;
  payloadBytesPerSend: number;
  sendsPerRun: number;
  acks: -1;
  compression: 'none';
  runs: KafkaRun[];
  /** Medians over the runs; MiB/s counts record payload. */
  mibPerSec: number;
  recordsPerSec: number;
  latency: LatencySummary;
  /** Object PUTs per Produce request, over all runs: one object per request (DESIGN §13). */
  objectPutsPerProduceRequest: number;
}

export interface KafkaFetchResult {
  client: string;
  command: string;
  fetchMaxBytes: number;
  partitions: number;
  recordsPerRun: number;
  payloadBytesPerRun: number;
  runs: KafkaRun[];
  mibPerSec: number;
  recordsPerSec: number;
}

export interface KafkaConsumeResult {
  client: string;
  maxBytes: number;
  partitions: number;
  recordsPerRun: number;
  payloadBytesPerRun: number;
  runs: (KafkaRun & { joinMs: number })[];
  mibPerSec: number;
  recordsPerSec: number;
  /** Median, from connect to the group joined and synced. */
  joinMs: number;
}

export interface KafkaResult {
  /** `host:port` of the listener (a free port: it changes from run to run). */
  broker: string;
  produce: KafkaProduceResult;
  fetch: KafkaFetchResult | { skipped: string };
  kafkajsConsumer: KafkaConsumeResult;
}

const KAFKAJS_VERSION = (createRequire(import.meta.url)('kafkajs/package.json') as { version: string })
  .version;

/** fetch.wait.max.ms of kcat's read: the wait of the empty Fetch that tells it a partition's end. */
const EOF_WAIT_MS = 10;

/** The kcat binary; tests name one that is not installed. */
const KCAT = 'kcat';

/** kcat's version line ("kcat 1.7.1, librdkafka 2.0.2"), or undefined when it is not installed. */
async function kcatVersion(kcat: string): Promise<string | undefined> {
  try {
    const { stdout } = await runKcat(kcat, ['-V']);
    const own = /Version ([\d.]+)/.exec(stdout)?.[1];
    const librdkafka = /librdkafka ([\d.]+)/.exec(stdout)?.[1];
    return `kcat ${own ?? '?'}, librdkafka ${librdkafka ?? '?'}`;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Runs kcat to its exit; rejects on a non-zero exit with its stderr. */
function runKcat(kcat: string, args: string[]): Promise<{ stdout: string; seconds: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(kcat, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.once('error', reject);
    child.once('close', (code) => {
      const seconds = (performance.now() - started) / 1000;
      if (code === 0) resolve({ stdout: Buffer.concat(out).toString('utf8'), seconds });
      else reject(new Error(`kcat ${args.join(' ')} exited with ${code}: ${Buffer.concat(err)}`));
    });
  });
}

/** One `-f '%S\n'` line per record: the value's size. */
function countValues(stdout: string): { records: number; bytes: number } {
  let records = 0;
  let bytes = 0;
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    records++;
    bytes += Number(line);
  }
  return { records, bytes };
}

export interface Written {
  topic: string;
  records: number;
  payloadBytes: number;
}

export async function runKafka(
  harness: Harness,
  plan: BenchPlan,
): Promise<KafkaResult | { skipped: string }> {
  const broker = harness.kafkaBroker;
  if (broker === undefined) return { skipped: 'no Kafka listener (a server the bench did not start)' };
  const { recordBytes, requestBytes, concurrency } = plan.produce.headline;
  const perSend = recordsPerRequest(recordBytes, requestBytes);
  const payloadPerSend = perSend * recordBytes;
  const sends = requestCount(payloadPerSend, plan.produce);
  const kafka = new Kafka({ clientId: 'streambed-bench', brokers: [broker], logLevel: logLevel.NOTHING });
  const messages = Array.from({ length: concurrency }, (_, lane) =>
    Array.from({ length: perSend }, (_, i) => ({
      value: Buffer.from(payloadOf(recordBytes, i)),
      partition: lane,
    })),
  );

  const written: Written[] = [];
  const runs: KafkaRun[] = [];
  const latencies: number[] = [];
  let puts = 0;
  for (let run = 0; run < plan.runs; run++) {
    const topic = freshTopic('kafka');
    await harness.client.createTopic(topic, concurrency);
    const producers: Producer[] = messages.map(() => kafka.producer({ allowAutoTopicCreation: false }));
    await Promise.all(producers.map((producer) => producer.connect()));
    try {
      await harness.beginPhase();
      const start = performance.now();
      await runPool(sends, concurrency, async (_, lane) => {
        const sent = performance.now();
        await (producers[lane] as Producer).send({
          topic,
          acks: -1,
          compression: CompressionTypes.None,
          messages: messages[lane] as { value: Buffer; partition: number }[],
        });
        latencies.push(performance.now() - sent);
      });
      const seconds = (performance.now() - start) / 1000;
      puts += (await harness.endPhase()).objects.puts;
      const payloadBytes = sends * payloadPerSend;
      runs.push({
        seconds: round(seconds),
        mibPerSec: round(payloadBytes / MiB / seconds),
        recordsPerSec: round((sends * perSend) / seconds),
      });
      written.push({ topic, records: sends * perSend, payloadBytes });
    } finally {
      await Promise.all(producers.map((producer) => producer.disconnect()));
    }
  }
  const produce: KafkaProduceResult = {
    client: `KafkaJS ${KAFKAJS_VERSION}`,
    producers: concurrency,
    recordBytes,
    recordsPerSend: perSend,
    payloadBytesPerSend: payloadPerSend,
    sendsPerRun: sends,
    acks: -1,
    compression: 'none',
    runs,
    mibPerSec: median(runs.map((r) => r.mibPerSec)),
    recordsPerSec: median(runs.map((r) => r.recordsPerSec)),
    latency: summarize(latencies),
    objectPutsPerProduceRequest: round(puts / (sends * plan.runs)),
  };
  harness.progress(
    `kafka produce (${produce.client}, ${concurrency} producers, ${perSend} records/send, acks -1): ${produce.mibPerSec} MiB/s, ${produce.recordsPerSec} records/s, p50 ${produce.latency.p50Ms} ms, ${produce.objectPutsPerProduceRequest} PUT/Produce request`,
  );

  const maxBytes = plan.readBack.maxBytes[0] ?? MiB;
  const fetch = await fetchWithKcat(harness, broker, written, maxBytes, concurrency);
  const kafkajsConsumer = await consumeWithKafkaJS(kafka, written, maxBytes, concurrency);
  harness.progress(
    `kafka consume (${kafkajsConsumer.client}): ${kafkajsConsumer.mibPerSec} MiB/s, ${kafkajsConsumer.recordsPerSec} records/s, joined in ${kafkajsConsumer.joinMs} ms`,
  );
  return { broker, produce, fetch, kafkajsConsumer };
}

/** Longest a consumer may take to read one topic before the scenario fails instead of hanging. */
const CONSUME_TIMEOUT_MS = 60_000;

/** Reads every topic of `written` with a KafkaJS consumer of a fresh group, checking every byte. */
async function consumeWithKafkaJS(
  kafka: Kafka,
  written: Written[],
  maxBytes: number,
  partitions: number,
): Promise<KafkaConsumeResult> {
  const runs: KafkaConsumeResult['runs'] = [];
  for (const { topic, records, payloadBytes } of written) {
    const consumer = kafka.consumer({ groupId: `${topic}-reader`, maxBytes });
    try {
      const started = performance.now();
      let joined = Number.NaN;
      consumer.on(consumer.events.GROUP_JOIN, () => {
        joined = performance.now();
      });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      let got = 0;
      let bytes = 0;
      let timer: NodeJS.Timeout | undefined;
      const finished = new Promise<void>((resolve, reject) => {
        timer = setTimeout(
          () => reject(new Error(`the KafkaJS consumer read ${got} of ${records} records of ${topic}`)),
          CONSUME_TIMEOUT_MS,
        );
        consumer.on(consumer.events.CRASH, (event) => reject(event.payload.error));
        consumer
          .run({
            eachBatch: async ({ batch }) => {
              for (const message of batch.messages) {
                got++;
                bytes += message.value?.byteLength ?? 0;
              }
              if (got >= records) resolve();
            },
          })
          .catch(reject);
      }).finally(() => clearTimeout(timer));
      await finished;
      const seconds = (performance.now() - joined) / 1000;
      if (got !== records || bytes !== payloadBytes)
        throw new Error(
          `the KafkaJS consumer read ${got} records (${bytes} bytes) of ${topic}, expected ${records} (${payloadBytes} bytes)`,
        );
      runs.push({
        seconds: round(seconds),
        mibPerSec: round(payloadBytes / MiB / seconds),
        recordsPerSec: round(records / seconds),
        joinMs: round(joined - started),
      });
    } finally {
      await consumer.disconnect();
    }
  }
  return {
    client: `KafkaJS ${KAFKAJS_VERSION}`,
    maxBytes,
    ...readSummary(written, partitions, runs),
    joinMs: median(runs.map((r) => r.joinMs)),
  };
}

/** What every read of the written topics reports: the dataset of one run, and medians over runs. */
function readSummary<Run extends KafkaRun>(written: Written[], partitions: number, runs: Run[]) {
  const first = written[0] as Written;
  return {
    partitions,
    recordsPerRun: first.records,
    payloadBytesPerRun: first.payloadBytes,
    runs,
    mibPerSec: median(runs.map((r) => r.mibPerSec)),
    recordsPerSec: median(runs.map((r) => r.recordsPerSec)),
  };
}

/** Reads every topic of `written` with kcat, checking that every record and byte arrived. */
export async function fetchWithKcat(
  harness: Pick<Harness, 'progress'>,
  broker: string,
  written: Written[],
  fetchMaxBytes: number,
  partitions: number,
  kcat = KCAT,
): Promise<KafkaFetchResult | { skipped: string }> {
  const version = await kcatVersion(kcat);
  if (version === undefined) {
    harness.progress('kafka fetch: skipped: kcat not installed');
    return { skipped: 'kcat not installed' };
  }
  const args = (topic: string) => [
    '-C',
    '-b',
    broker,
    '-t',
    topic,
    '-o',
    'beginning',
    '-e',
    '-q',
    '-f',
    '%S\\n',
    '-X',
    `fetch.max.bytes=${fetchMaxBytes}`,
    '-X',
    `fetch.wait.max.ms=${EOF_WAIT_MS}`,
  ];
  const runs: KafkaRun[] = [];
  for (const { topic, records, payloadBytes } of written) {
    const { stdout, seconds } = await runKcat(kcat, args(topic));
    const got = countValues(stdout);
    if (got.records !== records || got.bytes !== payloadBytes)
      throw new Error(
        `kcat read ${got.records} records (${got.bytes} bytes) of ${topic}, expected ${records} (${payloadBytes} bytes)`,
      );
    runs.push({
      seconds: round(seconds),
      mibPerSec: round(payloadBytes / MiB / seconds),
      recordsPerSec: round(records / seconds),
    });
  }
  const result: KafkaFetchResult = {
    client: version,
    command: `kcat ${args('TOPIC')
      .map((arg) => (arg.includes('%') ? `'${arg}'` : arg))
      .join(' ')
      .replace(broker, 'HOST:PORT')}`,
    fetchMaxBytes,
    ...readSummary(written, partitions, runs),
  };
  harness.progress(`kafka fetch (${version}): ${result.mibPerSec} MiB/s, ${result.recordsPerSec} records/s`);
  return result;
}
