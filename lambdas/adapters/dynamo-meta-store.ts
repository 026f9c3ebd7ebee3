import { randomUUID } from 'node:crypto';
import {
  type AttributeValue,
  BatchGetItemCommand,
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type QueryCommandInput,
  type TransactWriteItem,
  TransactWriteItemsCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { ConditionFailedError, StreamError } from '../core/errors.ts';
import { type Clock, systemClock } from '../ports/clock.ts';
import type {
  Expectation,
  GetOptions,
  Item,
  ItemKey,
  MetaStore,
  QueryOptions,
  QueryResult,
  TransactOp,
} from '../ports/meta-store.ts';
import { marshalMap, unmarshalMap } from './dynamo-codec.ts';
import {
  isLive,
  keyId,
  nextVersion,
  validateBatchGet,
  validateKey,
  validateQuery,
  validateTransact,
  withVersion,
} from './meta-rules.ts';

/** The table's TTL attribute: `expiresAt` in epoch seconds, rounded up so DynamoDB never deletes early. */
export const TTL_ATTRIBUTE = 'ttl';

/** How often BatchGetItem's unprocessed keys are asked for again before giving up as THROTTLED. */
const BATCH_GET_ATTEMPTS = 8;

// Expression names avoid DynamoDB's reserved words whatever attribute names the port uses.
const NAMES = { '#pk': 'pk', '#v': 'v', '#e': 'expiresAt' };

/**
 * Condition expressions for an expectation. Expired items count as absent (TTL deletes lazily), so
 * 'absent' also holds for an expired item and a version only matches a live one.
 */
type Condition = {
  ConditionExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, AttributeValue>;
};

function condition(expect: Expectation | undefined, now: number): Condition {
  if (expect === undefined) return {};
  if (expect === 'absent') {
    return {
      ConditionExpression: 'attribute_not_exists(#pk) OR #e <= :now',
      ExpressionAttributeNames: { '#pk': NAMES['#pk'], '#e': NAMES['#e'] },
      ExpressionAttributeValues: { ':now': { N: String(now) } },
    };
  }
  return {
    ConditionExpression: '#v = :v AND (attribute_not_exists(#e) OR #e > :now)',
    ExpressionAttributeNames: { '#v': NAMES['#v'], '#e': NAMES['#e'] },
    ExpressionAttributeValues: { ':v': { N: String(expect) }, ':now': { N: String(now) } },
  };
}

const marshalKey = (key: ItemKey): Record<string, AttributeValue> => ({
  pk: { S: key.pk },
  sk: { S: key.sk },
});

/**
 * MetaStore on one DynamoDB table (pk HASH, sk RANGE, TTL on `ttl`), for production and LocalStack.
 *
 * A single put or delete is a conditional PutItem/DeleteItem (one write unit, not two); anything else is
 * TransactWriteItems with a ClientRequestToken, so the SDK's own retry of a transaction that in fact
 * applied is answered as a success instead of a false conflict. Transport faults are retried by the
 * SDK's standard retry mode only; conditions are never retried here — that is the caller's CAS loop.
 */
export class DynamoMetaStore implements MetaStore {
  private readonly client: DynamoDBClient;
  private readonly table: string;
  private readonly clock: Clock;

  constructor(options: { client: DynamoDBClient; table: string; clock?: Clock }) {
    this.client = options.client;
    this.table = options.table;
    this.clock = options.clock ?? systemClock;
  }

  private toItem(raw: Record<string, AttributeValue> | undefined, now: number): Item | undefined {
    if (raw === undefined) return undefined;
    const { [TTL_ATTRIBUTE]: _ttl, ...rest } = unmarshalMap(raw);
    const item = rest as unknown as Item;
    return isLive(item, now) ? item : undefined;
  }

  async get(key: ItemKey, options: GetOptions = {}): Promise<Item | undefined> {
    validateKey(key);
    const now = this.clock.now();
    const out = await this.call((c) =>
      c.send(
        new GetItemCommand({
          TableName: this.table,
          Key: marshalKey(key),
          ConsistentRead: options.consistent === true,
        }),
      ),
    );
    return this.toItem(out.Item, now);
  }

  async batchGet(keys: readonly ItemKey[], options: GetOptions = {}): Promise<(Item | undefined)[]> {
    validateBatchGet(keys);
    if (keys.length === 0) return [];
    const now = this.clock.now();
    const found = new Map<string, Item>();
    // BatchGetItem refuses duplicate keys: ask for each key once, answer every position.
    let pending = [...new Map(keys.map((key) => [keyId(key), marshalKey(key)])).values()];
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt === BATCH_GET_ATTEMPTS) {
        throw new StreamError('THROTTLED', `batchGet left ${pending.length} keys unprocessed`);
      }
      if (attempt > 0) await sleep(Math.min(1000, 25 * 2 ** attempt) * Math.random());
      const out = await this.call((c) =>
        c.send(
          new BatchGetItemCommand({
            RequestItems: { [this.table]: { Keys: pending, ConsistentRead: options.consistent === true } },
          }),
        ),
      );
      for (const raw of out.Responses?.[this.table] ?? []) {
        const item = this.toItem(raw, now);
        if (item !== undefined) found.set(keyId(item), item);
      }
      pending = out.UnprocessedKeys?.[this.table]?.Keys ?? [];
    }
    return keys.map((key) => found.get(keyId(key)));
  }

  async query(pk: string, options: QueryOptions = {}): Promise<QueryResult> {
    validateQuery(pk, options);
    const now = this.clock.now();
    const names: Record<string, string> = { '#pk': 'pk' };
    const values: Record<string, AttributeValue> = { ':pk': { S: pk } };
    let keyCondition = '#pk = :pk';
    if (options.from !== undefined || options.to !== undefined) {
      names['#sk'] = 'sk';
      if (options.from !== undefined) values[':from'] = { S: options.from };
      if (options.to !== undefined) values[':to'] = { S: options.to };
      keyCondition +=
        options.from !== undefined && options.to !== undefined
          ? ' AND #sk BETWEEN :from AND :to'
          : options.from !== undefined
            ? ' AND #sk >= :from'
            : ' AND #sk <= :to';
      if (options.from !== undefined && options.to !== undefined && options.from > options.to)
        return { items: [] };
    }
    const items: Item[] = [];
    let startKey: Record<string, AttributeValue> | undefined =
      options.startAfter === undefined ? undefined : marshalKey({ pk, sk: options.startAfter });
    // One item past the limit tells whether another page exists, exactly as the local adapters do.
    const wanted = options.limit === undefined ? Number.POSITIVE_INFINITY : options.limit + 1;
    do {
      const input: QueryCommandInput = {
        TableName: this.table,
        KeyConditionExpression: keyCondition,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ScanIndexForward: options.reverse !== true,
        ConsistentRead: options.consistent === true,
        ExclusiveStartKey: startKey,
      };
      if (Number.isFinite(wanted)) input.Limit = wanted - items.length;
      const out = await this.call((c) => c.send(new QueryCommand(input)));
      for (const raw of out.Items ?? []) {
        const item = this.toItem(raw, now);
        if (item !== undefined) items.push(item);
      }
      startKey = out.LastEvaluatedKey;
    } while (startKey !== undefined && items.length < wanted);
    if (options.limit !== undefined && items.length > options.limit) {
      items.length = options.limit;
      return { items, lastKey: items[items.length - 1]?.sk };
    }
    return { items };
  }

  async transact(ops: readonly TransactOp[]): Promise<void> {
    validateTransact(ops);
    const now = this.clock.now();
    const [only] = ops;
    if (ops.length === 1 && only !== undefined && only.type !== 'check') {
      try {
        if (only.type === 'put') {
          await this.call((c) =>
            c.send(
              new PutItemCommand({
                TableName: this.table,
                Item: this.marshalPut(only),
                ...condition(only.expect, now),
              }),
            ),
          );
        } else {
          await this.call((c) =>
            c.send(
              new DeleteItemCommand({
                TableName: this.table,
                Key: marshalKey(only.key),
                ...condition(only.expect, now),
              }),
            ),
          );
        }
      } catch (error) {
        const name = (error as Error).name;
        if (name === 'ConditionalCheckFailedException')
          throw new ConditionFailedError([0], 'condition', error);
        if (name === 'TransactionConflictException') throw new ConditionFailedError([0], 'contention', error);
        throw error;
      }
      return;
    }
    const items: TransactWriteItem[] = ops.map((op) => {
      if (op.type === 'put')
        return { Put: { TableName: this.table, Item: this.marshalPut(op), ...condition(op.expect, now) } };
      if (op.type === 'delete') {
        return { Delete: { TableName: this.table, Key: marshalKey(op.key), ...condition(op.expect, now) } };
      }
      const check = condition(op.expect, now);
      return {
        ConditionCheck: {
          TableName: this.table,
          Key: marshalKey(op.key),
          ...check,
          ConditionExpression: check.ConditionExpression as string,
        },
      };
    });
    try {
      await this.call((c) =>
        c.send(new TransactWriteItemsCommand({ TransactItems: items, ClientRequestToken: randomUUID() })),
      );
    } catch (error) {
      if ((error as Error).name !== 'TransactionCanceledException') throw error;
      const reasons = (
        (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? []
      ).map((reason) => reason.Code ?? 'None');
      const failing = (code: string) => reasons.flatMap((c, index) => (c === code ? [index] : []));
      if (failing('ConditionalCheckFailed').length > 0) {
        throw new ConditionFailedError(failing('ConditionalCheckFailed'), 'condition', error);
      }
      if (failing('TransactionConflict').length > 0) {
        throw new ConditionFailedError(failing('TransactionConflict'), 'contention', error);
      }
      if (reasons.some((code) => code === 'ProvisionedThroughputExceeded' || code === 'ThrottlingError')) {
        throw new StreamError('THROTTLED', 'metadata transaction throttled', { cause: error });
      }
      if (reasons.includes('ValidationError')) {
        throw new StreamError('INVALID_ARGUMENT', `metadata transaction refused: ${reasons.join(', ')}`, {
          cause: error,
        });
      }
      throw new StreamError('UNAVAILABLE', `metadata transaction cancelled: ${reasons.join(', ')}`, {
        cause: error,
      });
    }
  }

  private marshalPut(op: Extract<TransactOp, { type: 'put' }>): Record<string, AttributeValue> {
    const item = withVersion(op.item, nextVersion(op.expect));
    const raw = marshalMap(item);
    if (item.expiresAt !== undefined) raw[TTL_ATTRIBUTE] = { N: String(Math.ceil(item.expiresAt / 1000)) };
    return raw;
  }

  /** Runs one AWS call, translating its failures into the domain family (once, at this boundary). */
  private async call<T>(request: (client: DynamoDBClient) => Promise<T>): Promise<T> {
    try {
      return await request(this.client);
    } catch (error) {
      throw translate(error, this.table);
    }
  }
}

const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'LimitExceededException',
]);

/** AWS error → domain error. Condition failures are left to the caller, which knows the op indexes. */
export function translate(error: unknown, table: string): unknown {
  if (error instanceof StreamError) return error;
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  const name = e.name ?? 'Error';
  if (name === 'ConditionalCheckFailedException' || name === 'TransactionConflictException') return error;
  if (name === 'TransactionCanceledException') return error;
  if (THROTTLING.has(name))
    return new StreamError('THROTTLED', `DynamoDB throttled the request (${name})`, { cause: error });
  if (name === 'ValidationException') {
    return new StreamError('INVALID_ARGUMENT', `DynamoDB refused the request: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (name === 'ResourceNotFoundException') {
    return new StreamError('INTERNAL', `metadata table ${table} does not exist`, { cause: error });
  }
  const status = e.$metadata?.httpStatusCode ?? 0;
  if (
    status >= 500 ||
    status === 0 ||
    name === 'TransactionInProgressException' ||
    name.includes('Timeout')
  ) {
    return new StreamError('UNAVAILABLE', `DynamoDB is unavailable (${name})`, { cause: error });
  }
  return new StreamError('INTERNAL', `DynamoDB request failed (${name})`, { cause: error });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Creates the table as the CDK stack does (on-demand, pk/sk, TTL on `ttl`) if it does not exist. For
 * the local server's `--backend aws` against emulators and for tests; production tables come from CDK.
 * `stream`: with a stream of new and old images, as the stack's table has for subscriptions' dispatcher.
 */
export async function ensureTable(
  client: DynamoDBClient,
  table: string,
  options: { stream?: boolean } = {},
): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: table }));
    return;
  } catch (error) {
    if ((error as Error).name !== 'ResourceNotFoundException') throw translate(error, table);
  }
  try {
    await client.send(
      new CreateTableCommand({
        TableName: table,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        StreamSpecification: options.stream
          ? { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' }
          : undefined,
      }),
    );
  } catch (error) {
    if ((error as Error).name !== 'ResourceInUseException') throw translate(error, table);
  }
  for (let i = 0; i < 120; i++) {
    const out = await client.send(new DescribeTableCommand({ TableName: table }));
    if (out.Table?.TableStatus === 'ACTIVE') break;
    await sleep(250);
  }
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: table,
      TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
    }),
  );
}
