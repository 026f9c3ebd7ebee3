/**
 * A table stream's event source mapping, run offline the way Lambda runs it: the table's stream on
 * DynamoDB Local is read shard by shard, each record is turned into the record Lambda hands a stream
 * handler, records that no filter pattern matches are dropped (they cost no invocation), and the rest
 * go to the function synchronously in batches of the mapping's size, in order. A batch that fails is
 * retried (from the first failed record when the function reports `batchItemFailures` and the mapping
 * says ReportBatchItemFailures) up to the mapping's retry count, then dropped with a log line — the
 * mapping's on-failure destination is not emulated.
 *
 * The mapping starts only when the function's role may read the stream (Lambda refuses to create a
 * mapping whose role cannot), judged against the template's stream ARN.
 *
 * Not emulated: bisecting a failing batch, maximum record age, batching windows, parallelization.
 */
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import { isAllowed } from './iam.ts';
import type { Invocation } from './lambda-host.ts';
import type { FunctionSpec, Json, PolicyStatement, StreamMappingSpec } from './template.ts';

/** The actions an event source mapping needs on a table stream (Lambda's documented set). */
const STREAM_ACTIONS = [
  'dynamodb:DescribeStream',
  'dynamodb:GetRecords',
  'dynamodb:GetShardIterator',
  'dynamodb:ListStreams',
];
const POLL_INTERVAL_MS = 50;

type JsonObject = { [key: string]: Json };

/** Whether `record` matches one Lambda filter pattern (the equality and prefix rules used here). */
export function matchesPattern(pattern: JsonObject, record: Json): boolean {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return false;
  return Object.entries(pattern).every(([field, rule]) => {
    const value = (record as JsonObject)[field];
    if (Array.isArray(rule)) {
      return rule.some((each) => {
        if (typeof each === 'object' && each !== null && !Array.isArray(each)) {
          if (typeof each.prefix !== 'string') {
            throw new Error(`filter rule ${JSON.stringify(each)} is not emulated`);
          }
          return typeof value === 'string' && value.startsWith(each.prefix);
        }
        return value === each;
      });
    }
    return matchesPattern(rule as JsonObject, value ?? null);
  });
}

/** A stream record as Lambda passes it to a handler (the SDK's, but the creation time in epoch seconds). */
function lambdaRecord(record: StreamRecord, streamArn: string, region: string): DynamoDBRecord {
  const data = record.dynamodb ?? {};
  const created = data.ApproximateCreationDateTime;
  return JSON.parse(
    JSON.stringify({
      eventID: record.eventID,
      eventName: record.eventName,
      eventVersion: record.eventVersion ?? '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: region,
      dynamodb: {
        ...data,
        ApproximateCreationDateTime: created instanceof Date ? Math.floor(created.getTime() / 1000) : created,
      },
      eventSourceARN: streamArn,
    }),
  ) as DynamoDBRecord;
}

/**
 * Reads a table's stream on DynamoDB Local shard by shard, as Lambda's event source mapping does: the
 * shards open at the first read start at `startingPosition`, shards that open later at their start.
 */
export class StreamReader {
  private readonly iterators = new Map<string, string | undefined>();
  private first = true;

  constructor(
    private readonly streams: DynamoDBStreamsClient,
    private readonly streamArn: string,
    private readonly options: {
      startingPosition: 'LATEST' | 'TRIM_HORIZON';
      /** The ARN the records name as their source (offline: the template's). @default streamArn */
      eventSourceArn?: string;
      region?: string;
    },
  ) {}

  /** Every record written since the last read, in the shape Lambda hands a stream handler. */
  async read(): Promise<DynamoDBRecord[]> {
    const records: DynamoDBRecord[] = [];
    const source = this.options.eventSourceArn ?? this.streamArn;
    const region = this.options.region ?? 'us-east-1';
    const described = await this.streams.send(new DescribeStreamCommand({ StreamArn: this.streamArn }));
    for (const shard of described.StreamDescription?.Shards ?? []) {
      const id = shard.ShardId as string;
      if (!this.iterators.has(id)) {
        const type = this.first ? this.options.startingPosition : 'TRIM_HORIZON';
        const out = await this.streams.send(
          new GetShardIteratorCommand({ StreamArn: this.streamArn, ShardId: id, ShardIteratorType: type }),
        );
        this.iterators.set(id, out.ShardIterator);
      }
      let iterator = this.iterators.get(id);
      while (iterator !== undefined) {
        const out = await this.streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
        for (const record of out.Records ?? []) records.push(lambdaRecord(record, source, region));
        iterator = out.NextShardIterator;
        this.iterators.set(id, iterator);
        if ((out.Records ?? []).length === 0) break;
      }
    }
    this.first = false;
    return records;
  }
}

export interface StreamMappingOptions {
  mapping: StreamMappingSpec;
  fn: FunctionSpec;
  roleStatements: readonly PolicyStatement[];
  /** The stream's ARN as the template names it (for the role check and the records' eventSourceARN). */
  templateStreamArn: string;
  /** The stream's ARN on DynamoDB Local. */
  streamArn: string;
  dynamoEndpoint: string;
  region: string;
  invoke(fn: FunctionSpec, eventJson: string): Promise<Invocation>;
  onLog(line: string): void;
}

export interface RunningStreamMapping {
  close(): Promise<void>;
}

export async function startStreamMapping(options: StreamMappingOptions): Promise<RunningStreamMapping> {
  const { mapping, fn } = options;
  const missing = STREAM_ACTIONS.filter(
    (action) =>
      !isAllowed(
        options.roleStatements,
        action,
        action === 'dynamodb:ListStreams' ? '*' : options.templateStreamArn,
      ),
  );
  if (missing.length > 0) {
    throw new Error(
      `event source mapping ${mapping.logicalId}: the role of ${fn.name} may not ${missing.join(', ')} on the table stream`,
    );
  }
  const streams = new DynamoDBStreamsClient({
    endpoint: options.dynamoEndpoint,
    region: options.region,
    credentials: { accessKeyId: 'offline', secretAccessKey: 'offline' },
  });
  const reader = new StreamReader(streams, options.streamArn, {
    startingPosition: mapping.startingPosition === 'LATEST' ? 'LATEST' : 'TRIM_HORIZON',
    eventSourceArn: options.templateStreamArn,
    region: options.region,
  });
  const pending: DynamoDBRecord[] = [];
  let attempts = 0;
  let closed = false;

  async function read(): Promise<void> {
    for (const record of await reader.read()) {
      const json = record as unknown as JsonObject;
      if (mapping.filters.length === 0 || mapping.filters.some((p) => matchesPattern(p, json))) {
        pending.push(record);
      }
    }
  }

  /** Sends the head of the queue; drops what succeeded, keeps what failed for the next round. */
  async function deliver(): Promise<void> {
    const batch = pending.slice(0, mapping.batchSize);
    if (batch.length === 0) return;
    const outcome = await options.invoke(fn, JSON.stringify({ Records: batch }));
    let done = batch.length;
    if (outcome.kind !== 'result') {
      done = 0;
    } else if (mapping.reportBatchItemFailures) {
      const failures =
        (JSON.parse(outcome.payload || 'null') as { batchItemFailures?: { itemIdentifier?: string }[] })
          ?.batchItemFailures ?? [];
      const failed = failures
        .map((f) => batch.findIndex((r) => r.dynamodb?.SequenceNumber === f.itemIdentifier))
        .filter((index) => index >= 0);
      if (failed.length > 0) done = Math.min(...failed);
    }
    if (done === batch.length) {
      attempts = 0;
      pending.splice(0, done);
      return;
    }
    pending.splice(0, done);
    attempts = done > 0 ? 1 : attempts + 1;
    if (mapping.maxRetryAttempts >= 0 && attempts > mapping.maxRetryAttempts) {
      const dropped = pending.splice(0, batch.length - done);
      options.onLog(`event source mapping dropped ${dropped.length} records after ${attempts} attempts`);
      attempts = 0;
    }
  }

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = (async () => {
      try {
        await read();
        await deliver();
      } catch (error) {
        if (!closed) options.onLog(`event source mapping: ${String(error)}`);
      }
      if (!closed) {
        timer = setTimeout(tick, POLL_INTERVAL_MS);
        timer.unref();
      }
    })();
  };
  // The first read positions the LATEST iterators before anything is written.
  await read();
  tick();
  return {
    async close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      await running;
      streams.destroy();
    },
  };
}
