/**
 * The CLI's commands on top of the SDK: topics, produce (a record per stdin line), consume (a value
 * per stdout line), groups, subscriptions. Output for people goes to stderr; data goes to stdout.
 */
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import avro, { type Type } from 'avsc';
import type {
  Admin,
  OffsetReset,
  StartingPosition,
  SubscriptionSettings,
  SubscriptionTarget,
} from '../admin.ts';
import { atRecord, StreambedError } from '../errors.ts';
import { Streambed } from '../index.ts';
import { avroSerde, SchemaRegistryClient } from '../schema-registry.ts';
import { regionOfAwsHost } from '../sigv4.ts';
import { baseUrl, segment, Transport } from '../transport.ts';
import { BATCHES_CONTENT_TYPE, HIGH_WATERMARK_HEADER, NEXT_OFFSET_HEADER } from '../wire/binary.ts';
import { decodeRecordBatch, splitBatches } from '../wire/record-batch.ts';
import { compileFormat, type PrintedRecord } from './format.ts';

export interface Io {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

const GLOBAL_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  'aws-region': { type: 'string' },
} as const;

function usage(message: string): never {
  throw new StreambedError('INVALID_REQUEST', message);
}

function integerOption(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) usage(`--${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** Client options from --url/--token/--aws-region and STREAMBED_URL/STREAMBED_TOKEN/AWS_REGION. */
export function clientOptions(
  values: { url?: string; token?: string; 'aws-region'?: string },
  env: NodeJS.ProcessEnv,
) {
  const url = values.url ?? env.STREAMBED_URL ?? 'http://127.0.0.1:8080';
  const token = values.token ?? env.STREAMBED_TOKEN;
  // A deployed API (execute-api) is IAM-authorized: sign with SigV4 from the standard AWS chain.
  const host = baseUrl(url, values.url !== undefined ? '--url' : 'STREAMBED_URL').hostname;
  const region =
    values['aws-region'] ??
    (host.endsWith('.amazonaws.com') ? (regionOfAwsHost(host) ?? env.AWS_REGION) : undefined);
  return { url, ...(token ? { token } : {}), ...(region ? { aws: { region } } : {}) };
}

function parse<T extends Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>>(
  argv: string[],
  options: T,
) {
  return parseArgs({
    args: argv,
    options: { ...GLOBAL_OPTIONS, ...options },
    allowPositionals: true,
    strict: true,
  });
}

function table(rows: (string | number | null)[][]): string {
  const cells = rows.map((row) => row.map((cell) => (cell === null ? '-' : String(cell))));
  const widths = cells[0]?.map((_, i) => Math.max(...cells.map((row) => row[i]?.length ?? 0))) ?? [];
  return `${cells
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

/** `--FLAG key=value` pairs (repeatable); a key given twice keeps its last value. */
function keyValues(flag: string, pairs: string[] | undefined): Record<string, string> | undefined {
  if (pairs === undefined || pairs.length === 0) return undefined;
  const result: Record<string, string> = {};
  for (const pair of pairs) {
    const cut = pair.indexOf('=');
    if (cut < 1)
      usage(`--${flag} takes ${flag === 'header' ? 'name=value' : 'key=value'}, got ${JSON.stringify(pair)}`);
    result[pair.slice(0, cut)] = pair.slice(cut + 1);
  }
  return result;
}

/** Reports a rate on stderr about once a second during long runs. */
function progress(io: Io, verb: string) {
  const started = Date.now();
  let count = 0;
  let last = started;
  return {
    add(n: number) {
      count += n;
      const now = Date.now();
      if (now - last >= 1000) {
        last = now;
        io.stderr.write(`${verb} ${count} records (${Math.round(count / ((now - started) / 1000))}/s)\n`);
      }
    },
    done() {
      const seconds = Math.max(0.001, (Date.now() - started) / 1000);
      io.stderr.write(
        `${verb} ${count} records in ${seconds.toFixed(1)} s (${Math.round(count / seconds)}/s)\n`,
      );
    },
  };
}

export async function topicsCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    partitions: { type: 'string' },
    config: { type: 'string', multiple: true },
    timestamp: { type: 'string' },
    partition: { type: 'string' },
    offset: { type: 'string' },
  });
  const [action, name] = positionals;
  const admin = new Streambed(clientOptions(values, io.env)).admin();
  const needName = () => name ?? usage(`topics ${action} needs a topic name`);
  if (values.timestamp !== undefined && action !== 'offsets')
    usage('--timestamp applies to topics offsets only');
  if ((values.partition !== undefined || values.offset !== undefined) && action !== 'delete-records')
    usage('--partition and --offset apply to topics delete-records only');
  switch (action) {
    case 'offsets':
      return topicOffsets(admin, needName(), integerOption('timestamp', values.timestamp), io);
    case 'delete-records':
      return deleteRecords(admin, needName(), values, io);
    case 'create': {
      const topic = needName();
      const numPartitions = integerOption('partitions', values.partitions) ?? 1;
      await admin.createTopic({
        topic,
        numPartitions,
        ...(values.config ? { config: keyValues('config', values.config) } : {}),
      });
      io.stderr.write(`created topic ${topic} with ${numPartitions} partition(s)\n`);
      return 0;
    }
    case 'list':
      for (const topic of await admin.listTopics()) io.stdout.write(`${topic}\n`);
      return 0;
    case 'describe':
      return describeTopic(admin, needName(), io);
    case 'alter': {
      const partitions = integerOption('partitions', values.partitions);
      const config = keyValues('config', values.config);
      await admin.alterTopic(needName(), {
        ...(partitions !== undefined ? { partitions } : {}),
        ...(config ? { config } : {}),
      });
      io.stderr.write(`altered topic ${name}\n`);
      return 0;
    }
    case 'delete':
      await admin.deleteTopic(needName());
      io.stderr.write(`deleted topic ${name}\n`);
      return 0;
    default:
      return usage('topics takes create|list|describe|alter|delete|offsets|delete-records');
  }
}

async function describeTopic(admin: Admin, name: string, io: Io): Promise<number> {
  const topic = await admin.describeTopic(name);
  io.stdout.write(`topic ${topic.name}\nconfig ${JSON.stringify(topic.config)}\n`);
  io.stdout.write(
    table([
      ['PARTITION', 'LOG-START', 'HIGH-WATERMARK', 'BATCHES', 'BYTES'],
      ...topic.partitions.map((p) => [p.partition, p.logStartOffset, p.highWatermark, p.batches, p.bytes]),
    ]),
  );
  return 0;
}

/** `topics offsets <t> [--timestamp MS]`: each partition's range, and the offset for MS. */
async function topicOffsets(admin: Admin, name: string, timestamp: number | undefined, io: Io) {
  const { partitions } = await admin.describeTopic(name);
  const rows: (string | number | null)[][] = [
    ['PARTITION', 'LOG-START', 'HIGH-WATERMARK', ...(timestamp === undefined ? [] : ['OFFSET'])],
  ];
  for (const { partition } of partitions) {
    const range = await admin.fetchPartitionOffsets(name, partition, timestamp);
    // No record at or after the time: the offset the next record will get.
    const atTime = timestamp === undefined ? [] : [range.offset ?? range.highWatermark];
    rows.push([partition, range.logStartOffset, range.highWatermark, ...atTime]);
  }
  io.stdout.write(table(rows));
  return 0;
}

/** `topics delete-records <t> --offset N|end [--partition P]`: where each partition's log starts now. */
async function deleteRecords(
  admin: Admin,
  topic: string,
  values: { partition?: string; offset?: string },
  io: Io,
) {
  const raw =
    values.offset ?? usage('topics delete-records needs --offset N, or end for every record so far');
  if (raw !== 'end' && raw !== '-1' && !/^\d+$/.test(raw))
    usage(`--offset must be a non-negative integer, end or -1, got ${JSON.stringify(raw)}`);
  const offset = raw === 'end' ? '-1' : raw;
  const chosen = integerOption('partition', values.partition);
  const partitions =
    chosen === undefined
      ? (await admin.describeTopic(topic)).partitions.map((p) => ({ partition: p.partition, offset }))
      : [{ partition: chosen, offset }];
  const result = await admin.deleteTopicRecords({ topic, partitions });
  io.stdout.write(table([['PARTITION', 'LOG-START'], ...result.map((p) => [p.partition, p.logStartOffset])]));
  return 0;
}

/** The schema in --value-schema-file, parsed: what each stdin line is read with. */
async function readSchemaFile(path: string): Promise<{ text: string; type: Type }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    return usage(`--value-schema-file: cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    return { text, type: avro.Type.forSchema(JSON.parse(text), { noAnonymousTypes: true }) };
  } catch (error) {
    return usage(`--value-schema-file: ${path} is not a valid Avro schema: ${(error as Error).message}`);
  }
}

/**
 * One stdin line as a value of `type`: Avro's JSON encoding first (unions as {"type": value}, bytes as
 * strings — what Confluent's console tools read and write), else plain JSON (unions unwrapped).
 */
function avroValue(type: Type, line: string, lineNumber: number): unknown {
  try {
    return type.fromString(line);
  } catch (avroJsonError) {
    try {
      return type.clone(JSON.parse(line), { coerceBuffers: true });
    } catch {
      return usage(`line ${lineNumber}: not a value of the schema: ${(avroJsonError as Error).message}`);
    }
  }
}

export async function produceCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    'key-separator': { type: 'string' },
    partition: { type: 'string' },
    'value-schema-file': { type: 'string' },
    subject: { type: 'string' },
    header: { type: 'string', multiple: true },
    timestamp: { type: 'string' },
  });
  const topic = positionals[0] ?? usage('produce needs a topic: streambed produce <topic> < lines');
  const partition = integerOption('partition', values.partition);
  const timestamp = integerOption('timestamp', values.timestamp);
  const headers = keyValues('header', values.header);
  const separator = values['key-separator'];
  const options = clientOptions(values, io.env);
  const schemaFile = values['value-schema-file'];
  if (values.subject !== undefined && schemaFile === undefined) usage('--subject needs --value-schema-file');
  // With a schema, every line is an Avro record: registered under the subject, written in
  // Confluent's wire format (magic byte, schema id, Avro binary).
  const schema = schemaFile === undefined ? undefined : await readSchemaFile(schemaFile);
  const valueSerde =
    schema === undefined
      ? undefined
      : avroSerde({
          registry: new SchemaRegistryClient(options),
          subject: values.subject ?? `${topic}-value`,
          schema: schema.text,
        });
  const producer = new Streambed(options).producer<unknown>({
    lingerMs: 20,
    ...(valueSerde === undefined ? {} : { valueSerde }),
  });
  const meter = progress(io, 'produced');
  const pending = new Set<Promise<unknown>>();
  let failure: unknown;
  let lineNumber = 0;
  for await (const line of createInterface({ input: io.stdin, crlfDelay: Number.POSITIVE_INFINITY })) {
    lineNumber++;
    if (failure !== undefined) break;
    let key: string | undefined;
    let text = line;
    if (separator !== undefined) {
      const cut = line.indexOf(separator);
      if (cut >= 0) {
        key = line.slice(0, cut);
        text = line.slice(cut + separator.length);
      }
    }
    let value: unknown = text;
    if (schema !== undefined) {
      // A blank line cannot be a record: skipped, like a trailing newline.
      if (text.trim() === '') continue;
      try {
        value = avroValue(schema.type, text, lineNumber);
      } catch (error) {
        failure ??= error;
        break;
      }
    }
    const sent = producer
      .send({
        topic,
        messages: [
          {
            value,
            ...(key !== undefined ? { key } : {}),
            ...(partition !== undefined ? { partition } : {}),
            ...(headers !== undefined ? { headers } : {}),
            ...(timestamp !== undefined ? { timestamp } : {}),
          },
        ],
      })
      .then(
        () => meter.add(1),
        (error: unknown) => {
          failure ??= error;
        },
      );
    pending.add(sent);
    void sent.finally(() => pending.delete(sent));
    // Keep memory bounded on huge inputs: wait when many records are still unacknowledged.
    if (pending.size >= 50_000) await Promise.race(pending);
  }
  await producer.flush();
  await Promise.all(pending);
  if (failure !== undefined) throw failure;
  meter.done();
  return 0;
}

/** Where `consume` without a group starts in each partition it reads. */
type StartOffset = 'beginning' | 'end' | { offset: number } | { timestamp: number };

/** `--offset N|beginning|end|@MS`, and `--from-beginning` (the same as `--offset beginning`). */
function startOffset(raw: string | undefined, fromBeginning: boolean): StartOffset {
  if (raw === undefined) return fromBeginning ? 'beginning' : 'end';
  let start: StartOffset;
  if (raw === 'beginning' || raw === 'end') start = raw;
  else if (/^\d+$/.test(raw)) start = { offset: Number(raw) };
  else if (/^@\d+$/.test(raw)) start = { timestamp: Number(raw.slice(1)) };
  else return usage(`--offset must be N, beginning, end or @<epoch-ms>, got ${JSON.stringify(raw)}`);
  if (fromBeginning && start !== 'beginning') usage(`--from-beginning contradicts --offset ${raw}`);
  return start;
}

export async function consumeCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    group: { type: 'string' },
    'from-beginning': { type: 'boolean' },
    'max-messages': { type: 'string', short: 'c' },
    avro: { type: 'boolean' },
    partition: { type: 'string', short: 'p' },
    offset: { type: 'string', short: 'o' },
    'exit-at-end': { type: 'boolean', short: 'e' },
    format: { type: 'string', short: 'f' },
  });
  const topic = positionals[0] ?? usage('consume needs a topic: streambed consume <topic>');
  const max = integerOption('max-messages', values['max-messages']) ?? Number.POSITIVE_INFINITY;
  const partition = integerOption('partition', values.partition);
  const fromBeginning = values['from-beginning'] === true;
  const exitAtEnd = values['exit-at-end'] === true;
  if (values.group !== undefined) {
    // A group reads the partitions it is assigned, from its committed offsets.
    for (const flag of ['partition', 'offset', 'exit-at-end'] as const) {
      if (values[flag] !== undefined) {
        usage(
          `--${flag} applies without --group (a group reads its assigned partitions from its committed offsets)`,
        );
      }
    }
  }
  const start = startOffset(values.offset, fromBeginning);
  const format = compileFormat(values.format ?? '%s\\n');
  const options = clientOptions(values, io.env);
  const meter = progress(io, 'consumed');
  // --avro: each value is decoded with its writer's schema (by the id it carries) and printed in
  // Avro's JSON encoding, which `produce --value-schema-file` reads back.
  const registry = values.avro === true ? new SchemaRegistryClient(options) : undefined;
  let count = 0;
  const print = async (record: Omit<PrintedRecord, 'value'> & { value: Uint8Array | null }) => {
    let value = '';
    if (record.value !== null && registry !== undefined) {
      const decoded = await registry.decode(record.value).catch((error: unknown) => {
        throw atRecord(error, { topic: record.topic, partition: record.partition, offset: record.offset });
      });
      value = decoded.type.toString(decoded.value);
    } else if (record.value !== null) {
      value = Buffer.from(record.value).toString('utf8');
    }
    io.stdout.write(format({ ...record, value }));
    meter.add(1);
  };
  if (values.group === undefined) {
    count = await consumeWithoutGroup(new Transport(options), topic, {
      partition,
      start,
      max,
      exitAtEnd,
      print,
    });
  } else {
    const consumer = new Streambed(options).consumer({ groupId: values.group, heartbeatIntervalMs: 1_000 });
    await consumer.subscribe({ topics: [topic], fromBeginning });
    let done: () => void = () => {};
    let failure: unknown;
    const finished = new Promise<void>((resolve) => {
      done = resolve;
    });
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        // An undecodable value ends the command; throwing keeps the group's position before it.
        if (failure !== undefined) throw failure;
        if (count >= max) return done();
        try {
          await print({ ...message, topic, partition, headers: Object.entries(message.headers) });
        } catch (error) {
          failure = error;
          done();
          throw error;
        }
        count++;
        if (count >= max) done();
      },
    });
    const stop = () => done();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    await finished;
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await consumer.disconnect();
    if (failure !== undefined) throw failure;
  }
  meter.done();
  return 0;
}

interface ReadOptions {
  /** One partition, or every partition. */
  partition: number | undefined;
  start: StartOffset;
  max: number;
  /** Stop once every partition read is at its high watermark. */
  exitAtEnd: boolean;
  print: (record: Omit<PrintedRecord, 'value'> & { value: Uint8Array | null }) => Promise<void>;
}

/** Reads the partitions in turn with the fetch API, without a group: nothing is committed. */
async function consumeWithoutGroup(transport: Transport, topic: string, read: ReadOptions): Promise<number> {
  const path = `/v1/topics/${segment(topic)}`;
  const described = await transport.json<{
    partitions: { partition: number; logStartOffset: number; highWatermark: number }[];
  }>('GET', path);
  if (read.partition !== undefined && read.partition >= described.partitions.length) {
    throw new StreambedError(
      'PARTITION_NOT_FOUND',
      `topic ${topic} has no partition ${read.partition} (it has ${described.partitions.length})`,
    );
  }
  const cursors: { partition: number; position: number; highWatermark: number }[] = [];
  for (const p of described.partitions) {
    if (read.partition !== undefined && p.partition !== read.partition) continue;
    const { start } = read;
    let position: number;
    if (start === 'beginning') position = p.logStartOffset;
    else if (start === 'end') position = p.highWatermark;
    else if ('offset' in start) position = start.offset;
    else {
      const found = await transport.json<{ highWatermark: number; offset?: number }>(
        'GET',
        `${path}/partitions/${p.partition}/offsets`,
        { query: { timestamp: start.timestamp } },
      );
      position = found.offset ?? found.highWatermark;
    }
    cursors.push({ partition: p.partition, position, highWatermark: p.highWatermark });
  }
  const atEnd = () => read.exitAtEnd && cursors.every((c) => c.position >= c.highWatermark);
  let count = 0;
  let stopped = false;
  const stop = () => {
    stopped = true;
  };
  process.once('SIGINT', stop);
  try {
    while (!stopped && count < read.max && !atEnd()) {
      let any = false;
      for (const cursor of cursors) {
        if (read.exitAtEnd && cursor.position >= cursor.highWatermark) continue;
        const offset = cursor.position;
        const response = await transport.raw('GET', `${path}/partitions/${cursor.partition}/records`, {
          query: { offset, max_wait_ms: cursors.length === 1 && !read.exitAtEnd ? 1_000 : 0 },
          accept: BATCHES_CONTENT_TYPE,
        });
        cursor.position = Number(response.headers.get(NEXT_OFFSET_HEADER));
        cursor.highWatermark = Number(response.headers.get(HIGH_WATERMARK_HEADER));
        for (const batch of splitBatches(response.bytes)) {
          for (const record of decodeRecordBatch(batch).records) {
            if (record.offset < offset || count >= read.max) continue;
            any = true;
            await read.print({
              ...record,
              topic,
              partition: cursor.partition,
              headers: record.headers.map((h) => [h.key, h.value]),
            });
            count++;
          }
        }
      }
      if (!any && cursors.length > 1 && !read.exitAtEnd)
        await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } finally {
    process.off('SIGINT', stop);
  }
  return count;
}

/** `--to-earliest | --to-latest | --to-offset N | --to-timestamp MS`: exactly one. */
function resetTarget(values: Record<string, string | boolean | undefined>): OffsetReset {
  const given = ['to-earliest', 'to-latest', 'to-offset', 'to-timestamp'].filter(
    (f) => values[f] !== undefined,
  );
  if (given.length !== 1) {
    usage(
      'groups reset-offsets needs exactly one of --to-earliest, --to-latest, --to-offset N, --to-timestamp MS',
    );
  }
  if (values['to-earliest'] === true) return { to: 'earliest' };
  if (values['to-latest'] === true) return { to: 'latest' };
  const offset = integerOption('to-offset', values['to-offset'] as string | undefined);
  if (offset !== undefined) return { to: 'offset', offset };
  return { to: 'timestamp', timestamp: integerOption('to-timestamp', values['to-timestamp'] as string) ?? 0 };
}

/** `--partitions 0,1,2`. */
function partitionList(raw: string | undefined): number[] | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+(,\d+)*$/.test(raw)) usage(`--partitions takes N[,N...], got ${JSON.stringify(raw)}`);
  return raw.split(',').map(Number);
}

const RESET_OPTIONS = {
  topic: { type: 'string' },
  partitions: { type: 'string' },
  'to-earliest': { type: 'boolean' },
  'to-latest': { type: 'boolean' },
  'to-offset': { type: 'string' },
  'to-timestamp': { type: 'string' },
} as const;

export async function groupsCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, RESET_OPTIONS);
  const [action, group, ...extra] = positionals;
  const needGroup = () => {
    if (group === undefined || extra.length > 0) usage(`groups ${action} takes one group id`);
    return group;
  };
  const resetOnly = Object.keys(values).filter((flag) => flag in RESET_OPTIONS);
  if (action !== 'reset-offsets' && resetOnly.length > 0) {
    usage(`--${resetOnly[0]} applies to groups reset-offsets only`);
  }
  const admin = new Streambed(clientOptions(values, io.env)).admin();
  switch (action) {
    case 'list':
      for (const name of await admin.listGroupIds()) io.stdout.write(`${name}\n`);
      return 0;
    case 'describe': {
      const described = await admin.describeGroup(needGroup());
      io.stdout.write(`group ${described.group}: ${described.members.length} member(s)\n`);
      io.stdout.write(
        table([
          ['TOPIC', 'PARTITION', 'OWNER', 'COMMITTED', 'HIGH-WATERMARK', 'LAG'],
          ...described.partitions.map((p) => [
            p.topic,
            p.partition,
            p.owner,
            p.committedOffset,
            p.highWatermark,
            p.lag,
          ]),
        ]),
      );
      return 0;
    }
    case 'delete':
      await admin.deleteGroup(needGroup());
      io.stderr.write(`deleted group ${group}\n`);
      return 0;
    case 'reset-offsets': {
      const name = needGroup();
      const topic = values.topic ?? usage('groups reset-offsets needs --topic T');
      const reset = await admin.resetOffsets(
        name,
        topic,
        resetTarget(values),
        partitionList(values.partitions),
      );
      io.stdout.write(
        table([
          ['TOPIC', 'PARTITION', 'COMMITTED'],
          ...reset.partitions.map((p) => [p.topic, p.partition, p.committedOffset]),
        ]),
      );
      return 0;
    }
    default:
      return usage('groups takes list|describe|delete|reset-offsets');
  }
}

/** `--from earliest|latest|<epoch-ms>` as a starting position. */
function startingPosition(raw: string | undefined): StartingPosition | undefined {
  if (raw === undefined || raw === 'earliest' || raw === 'latest') return raw;
  if (/^\d+$/.test(raw)) return { timestamp: Number(raw) };
  return usage(`--from must be earliest, latest or a time in epoch ms, got ${JSON.stringify(raw)}`);
}

/** A delivery error on one line of the table: whitespace collapsed, at most 60 characters. */
function oneLine(text: string | null): string | null {
  if (text === null) return null;
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 60 ? `${flat.slice(0, 59)}…` : flat;
}

const time = (epochMs: number | null): string | null =>
  epochMs === null ? null : new Date(epochMs).toISOString();

function describeTarget(target: SubscriptionTarget): string {
  return 'url' in target ? target.url : `function ${target.function}`;
}

function subscriptionSettings(
  name: string,
  values: Record<string, string | boolean | (string | boolean)[] | undefined>,
): SubscriptionSettings {
  const text = (flag: string): string | undefined => values[flag] as string | undefined;
  const topic = text('topic') ?? usage('subscriptions create needs --topic T');
  const url = text('target-url');
  const fn = text('target-function');
  if ((url === undefined) === (fn === undefined)) {
    usage('subscriptions create needs exactly one of --target-url U and --target-function F');
  }
  const settings: SubscriptionSettings = {
    name,
    topic,
    target: url !== undefined ? { url } : { function: fn as string },
  };
  const batchSize = integerOption('batch-size', text('batch-size'));
  const window = integerOption('batching-window-ms', text('batching-window-ms'));
  const retries = integerOption('max-retry-attempts', text('max-retry-attempts'));
  const from = startingPosition(text('from'));
  if (batchSize !== undefined) settings.batchSize = batchSize;
  if (window !== undefined) settings.maxBatchingWindowMs = window;
  if (retries !== undefined) settings.maxRetryAttempts = retries;
  if (values.bisect === true) settings.bisectBatchOnError = true;
  if (text('dead-letter-topic') !== undefined) settings.deadLetterTopic = text('dead-letter-topic');
  if (from !== undefined) settings.startingPosition = from;
  if (values.disabled === true) settings.enabled = false;
  return settings;
}

async function describeSubscription(admin: Admin, name: string, io: Io): Promise<number> {
  const s = await admin.describeSubscription(name);
  const retries =
    s.maxRetryAttempts === null
      ? 'retried forever'
      : `${s.maxRetryAttempts} retries, then dead-lettered to ${s.deadLetterTopic}`;
  const from =
    typeof s.startingPosition === 'object' ? time(s.startingPosition.timestamp) : s.startingPosition;
  io.stdout.write(
    `subscription ${s.name}: ${s.enabled ? 'enabled' : 'paused'}, topic ${s.topic} → ${describeTarget(s.target)}\n` +
      `batches of ${s.batchSize}, window ${s.maxBatchingWindowMs} ms, failures ${retries}` +
      `${s.bisectBatchOnError ? ', bisected' : ''}; from ${from}; group ${s.group}\n`,
  );
  io.stdout.write(
    table([
      ['PARTITION', 'COMMITTED', 'HIGH-WATERMARK', 'LAG', 'ATTEMPTS', 'LAST-ERROR', 'LAST-DELIVERY'],
      ...s.partitions.map((p) => [
        p.partition,
        p.committedOffset,
        p.highWatermark,
        p.lag,
        p.attempts,
        oneLine(p.lastError),
        time(p.lastDeliveryTime),
      ]),
    ]),
  );
  return 0;
}

export async function subscriptionsCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    topic: { type: 'string' },
    'target-url': { type: 'string' },
    'target-function': { type: 'string' },
    'batch-size': { type: 'string' },
    'batching-window-ms': { type: 'string' },
    'max-retry-attempts': { type: 'string' },
    bisect: { type: 'boolean' },
    'dead-letter-topic': { type: 'string' },
    from: { type: 'string' },
    disabled: { type: 'boolean' },
  });
  const [action, name, ...extra] = positionals;
  const needName = () => {
    if (name === undefined || extra.length > 0) usage(`subscriptions ${action} takes one subscription name`);
    return name;
  };
  const createOnly = Object.keys(values).filter((flag) => !(flag in GLOBAL_OPTIONS));
  if (action !== 'create' && createOnly.length > 0) {
    usage(`--${createOnly[0]} applies to subscriptions create only`);
  }
  const admin = new Streambed(clientOptions(values, io.env)).admin();
  switch (action) {
    case 'create': {
      const created = await admin.createSubscription(subscriptionSettings(needName(), values));
      io.stderr.write(
        `created subscription ${created.name}: topic ${created.topic} → ${describeTarget(created.target)}` +
          `${created.enabled ? '' : ' (paused)'}\n`,
      );
      return 0;
    }
    case 'list':
      io.stdout.write(
        table([
          ['NAME', 'TOPIC', 'TARGET', 'STATE'],
          ...(await admin.listSubscriptions()).map((s) => [
            s.name,
            s.topic,
            describeTarget(s.target),
            s.enabled ? 'enabled' : 'paused',
          ]),
        ]),
      );
      return 0;
    case 'describe':
      return describeSubscription(admin, needName(), io);
    case 'pause':
      await admin.pauseSubscription(needName());
      io.stderr.write(`paused subscription ${name}\n`);
      return 0;
    case 'resume':
      await admin.resumeSubscription(needName());
      io.stderr.write(`resumed subscription ${name}\n`);
      return 0;
    case 'delete':
      await admin.deleteSubscription(needName());
      io.stderr.write(`deleted subscription ${name}\n`);
      return 0;
    default:
      return usage('subscriptions takes create|list|describe|pause|resume|delete');
  }
}
