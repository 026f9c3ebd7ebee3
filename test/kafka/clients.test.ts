/**
 * Produce and fetch through unmodified Kafka clients (KafkaJS, kcat) against the local server, and the
 * same records over the HTTP API: one log, whichever way in or out.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BATCHES_CONTENT_TYPE } from '../../client/wire/binary.ts';
import {
  canDecompress,
  decodeRecordBatch,
  readBatchHeader,
  splitBatches,
} from '../../client/wire/record-batch.ts';
import { type JsonCall, jsonCaller } from '../support/json-call.ts';
import { type KafkaTestServer, startKafkaTestServer } from '../support/kafka-server.ts';

const run = promisify(execFile);
const text = (bytes: Uint8Array | null) => (bytes === null ? null : new TextDecoder().decode(bytes));
let server: KafkaTestServer;
let call: JsonCall;
let kafka: Kafka;

beforeAll(async () => {
  server = await startKafkaTestServer();
  call = jsonCaller(() => server.url);
  kafka = new Kafka({ brokers: [server.broker], clientId: 'clients-test', logLevel: logLevel.NOTHING });
});
afterAll(() => server.close());

async function createTopic(name: string, partitions: number, config?: Record<string, unknown>) {
  const { status } = await call('POST', '/v1/topics', { name, partitions, ...(config ? { config } : {}) });
  expect(status).toBe(201);
}

async function producer(options: { idempotent?: boolean } = {}) {
  const p = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: options.idempotent ?? false,
    // An idempotent producer needs its retries; the others fail at once so errors show.
    ...(options.idempotent ? {} : { retry: { retries: 0 } }),
  });
  await p.connect();
  return p;
}

/** kcat -P: stdin lines as records. */
function kcatProduce(args: string[], input: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', ['-b', server.broker, '-P', ...args], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`kcat -P exited ${code}: ${stderr}`)),
    );
    child.stdin.end(input);
  });
}

/** kcat -C from the beginning to the end, one line per record in `format`. */
async function kcatConsume(topic: string, format: string): Promise<string[]> {
  const { stdout } = await run('kcat', [
    '-b',
    server.broker,
    '-C',
    '-t',
    topic,
    '-o',
    'beginning',
    '-e',
    '-q',
    '-f',
    format,
  ]);
  return stdout.split('\n').filter((line) => line !== '');
}

async function httpRecords(topic: string, partition: number, encoding = 'utf8') {
  const { status, body } = await call(
    'GET',
    `/v1/topics/${topic}/partitions/${partition}/records?offset=0&encoding=${encoding}`,
  );
  expect(status).toBe(200);
  return body.records as Record<string, unknown>[];
}

describe('Kafka clients and the HTTP API on one log', () => {
  it('reads over HTTP, byte for byte, what an idempotent KafkaJS producer wrote with keys and headers', async () => {
    // Prepare
    await createTopic('kjs-in', 1);
    const p = await producer({ idempotent: true });
    // Act
    const [ack] = await p.send({
      topic: 'kjs-in',
      acks: -1,
      messages: [
        { key: 'order-1', value: 'created', headers: { trace: 'abc' }, timestamp: '1790000000000' },
        { key: Buffer.from([0xff, 0x00]), value: Buffer.from([0x00, 0x01, 0x02]) },
        { key: null, value: null },
      ],
    });
    await p.disconnect();
    // Assess
    expect(ack).toMatchObject({ topicName: 'kjs-in', partition: 0, errorCode: 0, baseOffset: '0' });
    const records = await httpRecords('kjs-in', 0, 'base64');
    expect(
      records.map(({ offset, keyBase64, valueBase64, headersBase64 }) => ({
        offset,
        keyBase64,
        valueBase64,
        headersBase64,
      })),
    ).toEqual([
      {
        offset: 0,
        keyBase64: Buffer.from('order-1').toString('base64'),
        valueBase64: Buffer.from('created').toString('base64'),
        headersBase64: { trace: Buffer.from('abc').toString('base64') },
      },
      { offset: 1, keyBase64: '/wA=', valueBase64: 'AAEC', headersBase64: undefined },
      { offset: 2, keyBase64: undefined, valueBase64: undefined, headersBase64: undefined },
    ]);
    expect(records[0]?.timestamp).toBe(1790000000000);
    expect(records[2]).toMatchObject({ key: null, value: null });
  });

  it('hands kcat what was produced over HTTP: keys, values, headers, partitions and offsets', async () => {
    // Prepare
    await createTopic('http-in', 2);
    const { status } = await call('POST', '/v1/topics/http-in/records', {
      records: [
        { key: 'a', value: 'first', headers: { h: 'one' }, partition: 0 },
        { key: 'b', value: 'second', partition: 1 },
        { value: 'third', partition: 1 },
      ],
    });
    expect(status).toBe(200);
    // Act
    const lines = await kcatConsume('http-in', '%p|%o|%k|%s|%h\n');
    // Assess
    expect(lines.sort()).toEqual(['0|0|a|first|h=one', '1|0|b|second|', '1|1||third|']);
  });

  it('puts a key on the partition HTTP produce puts it on (murmur2, as the Java client does)', async () => {
    // Prepare
    await createTopic('keys-kjs', 6);
    await createTopic('keys-http', 6);
    const keys = Array.from({ length: 40 }, (_, i) => `customer-${i}`);
    const p = await producer();
    // Act
    const acks = await Promise.all(
      keys.map((key) => p.send({ topic: 'keys-kjs', messages: [{ key, value: 'v' }] })),
    );
    await p.disconnect();
    const { body } = await call('POST', '/v1/topics/keys-http/records', {
      records: keys.map((key) => ({ key, value: 'v' })),
    });
    // Assess
    expect(acks.map((ack) => ack[0]?.partition)).toEqual(
      body.offsets.map((o: { partition: number }) => o.partition),
    );
    expect(new Set(body.offsets.map((o: { partition: number }) => o.partition)).size).toBeGreaterThan(1);
  });

  it.each(['gzip', 'snappy', 'lz4', 'zstd'])(
    'keeps %s batches from kcat compressed, serves them back to kcat, and decodes them for HTTP',
    async (codec) => {
      // Prepare
      const topic = `codec-${codec}`;
      await createTopic(topic, 1);
      const values = Array.from({ length: 200 }, (_, i) => `${codec} record ${i} ${'x'.repeat(i % 50)}`);
      // Act
      await kcatProduce(['-t', topic, '-z', codec, '-X', 'linger.ms=50'], `${values.join('\n')}\n`);
      const read = await kcatConsume(topic, '%s\n');
      // Assess: the stored batch is the client's, compression attribute and all
      expect(read).toEqual(values);
      const binary = await fetch(`${server.url}/v1/topics/${topic}/partitions/0/records?offset=0`, {
        headers: { accept: BATCHES_CONTENT_TYPE },
      });
      expect(binary.status).toBe(200);
      const batches = [...splitBatches(new Uint8Array(await binary.arrayBuffer()))];
      expect(batches.length).toBeGreaterThan(0);
      const codecId = { gzip: 1, snappy: 2, lz4: 3, zstd: 4 }[codec] as number;
      for (const batch of batches) expect(readBatchHeader(batch).compressionCodec).toBe(codecId);
      // Assess: the JSON form and the SDK's decoder read librdkafka's compression back to the same
      // records (zstd only where this Node.js has it)
      if (!canDecompress(codecId)) return;
      expect(batches.flatMap((batch) => decodeRecordBatch(batch).records.map((r) => text(r.value)))).toEqual(
        values,
      );
      const overHttp: unknown[] = [];
      for (let offset = 0; offset < values.length; ) {
        const { status, body } = await call(
          'GET',
          `/v1/topics/${topic}/partitions/0/records?offset=${offset}`,
        );
        expect(status).toBe(200);
        overHttp.push(...body.records.map((r: { value: unknown }) => r.value));
        expect(body.nextOffset).toBeGreaterThan(offset);
        offset = body.nextOffset;
      }
      expect(overHttp).toEqual(values);
    },
  );

  it('finds offsets by timestamp for KafkaJS, and the ends of the log', async () => {
    // Prepare
    await createTopic('by-time', 1);
    const p = await producer();
    await p.send({
      topic: 'by-time',
      messages: [1000, 2000, 3000].map((t) => ({
        value: `at ${t}`,
        timestamp: String(1_790_000_000_000 + t),
      })),
    });
    await p.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    try {
      // Act
      const at = await admin.fetchTopicOffsetsByTimestamp('by-time', 1_790_000_001_500);
      const ends = await admin.fetchTopicOffsets('by-time');
      // Assess
      expect(at).toEqual([{ partition: 0, offset: '1' }]);
      expect(ends).toEqual([{ partition: 0, offset: '3', high: '3', low: '0' }]);
    } finally {
      await admin.disconnect();
    }
  });

  it('answers a send to an unknown topic with UNKNOWN_TOPIC_OR_PARTITION', async () => {
    const p = await producer();
    try {
      await expect(p.send({ topic: 'no-such-topic', messages: [{ value: 'x' }] })).rejects.toThrow(
        /does not host this topic-partition/,
      );
    } finally {
      await p.disconnect();
    }
  });

  it("answers a batch over the topic's max.message.bytes with MESSAGE_TOO_LARGE and stores nothing", async () => {
    // Prepare
    await createTopic('small', 1, { 'max.message.bytes': 1024 });
    const p = await producer();
    try {
      // Act
      const sent = p.send({ topic: 'small', messages: [{ value: 'x'.repeat(4096) }] });
      // Assess
      await expect(sent).rejects.toMatchObject({ type: 'MESSAGE_TOO_LARGE' });
      const { body } = await call('GET', '/v1/topics/small/partitions/0/offsets');
      expect(body.highWatermark).toBe(0);
    } finally {
      await p.disconnect();
    }
  });

  it('stores what a producer sends with acks=0, though it answers nothing', async () => {
    await createTopic('fire-and-forget', 1);
    const p = await producer();
    await p.send({ topic: 'fire-and-forget', acks: 0, messages: [{ value: 'one' }, { value: 'two' }] });
    // A request on the same connection is answered after the acks=0 one was served.
    await p.send({ topic: 'fire-and-forget', acks: 1, messages: [{ value: 'three' }] });
    await p.disconnect();
    expect((await httpRecords('fire-and-forget', 0)).map((r) => r.value)).toEqual(['one', 'two', 'three']);
  });
});
