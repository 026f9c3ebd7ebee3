/**
 * Subscriptions (DESIGN §12): their configuration and status. Delivery itself is deliverer.ts.
 *
 * A subscription is one item under `subscriptions` holding its whole configuration, so listing them
 * all (what a dispatcher and the local runner do on a wake-up) is one query. Its position is the
 * consumer group `subscription:<name>` (groups.ts): committed offsets, lag, fencing and describe are a
 * group's; the deliverers keep each partition's delivery status on its lease, in the same put as the
 * offset.
 *
 * Invariants:
 * - Configuration is validated whole, on create and on every change, before anything is written; a
 *   bad field is INVALID_REQUEST naming it, and changes nothing.
 * - Nothing is skipped without a dead letter: `maxRetryAttempts` (give up after that many retries)
 *   needs a `deadLetterTopic`; without one a failing batch is retried forever, visibly in status.
 * - `startingPosition` is resolved once, at creation, into a start offset per partition
 *   (`startOffsets`), written with the configuration in one put: a partition without a committed
 *   offset starts there, and one added to the topic later starts at its log start.
 * - Each creation draws a fresh `id`, and deliverers write it into the status they keep on a lease;
 *   an offset found on a lease with another id belongs to a deleted subscription of the same name and
 *   is not used (`leaseOffsetCounts`). An offset on a lease without status was set by a reset of the
 *   group before the first delivery, and is used.
 * - Changes are compare-and-set on the item's version, so two PATCHes never lose one another.
 */

import { retryOnConflict } from '../core/cas.ts';
import { ConditionFailedError, StreamError } from '../core/errors.ts';
import { type GroupService, type LeaseStatus, subscriptionGroup } from '../core/groups.ts';
import { groupListKey, groupPk, SUBSCRIPTIONS_PK, subscriptionKey, ulid } from '../core/layout.ts';
import type { LogService, TopicDescription } from '../core/log-types.ts';
import type { TopicServiceImpl } from '../core/topics.ts';
import type { Clock } from '../ports/clock.ts';
import { attributesOf, type Item, type MetaStore, queryAll } from '../ports/meta-store.ts';

export const DEFAULT_BATCH_SIZE = 100;
export const MAX_BATCH_SIZE = 10_000;
export const MAX_BATCHING_WINDOW_MS = 300_000;
/** Lambda event source mappings on streams allow up to 10,000 retries. */
export const MAX_RETRY_ATTEMPTS = 10_000;
/** A target URL's length at most: the whole configuration is one item, read on every wake-up. */
export const MAX_TARGET_URL_CHARS = 2_048;
/** Subscriptions per deployment: every wake-up reads their list. */
export const MAX_SUBSCRIPTIONS = 1_000;

export type SubscriptionTarget = { url: string } | { function: string };
export type StartingPosition = 'earliest' | 'latest' | { timestamp: number };

export interface SubscriptionConfig {
  name: string;
  topic: string;
  target: SubscriptionTarget;
  /** Records per invocation at most. */
  batchSize: number;
  /** How long to gather records before invoking with fewer than batchSize; 0 = at once. */
  maxBatchingWindowMs: number;
  /** Retries of a failing batch before its records go to the dead-letter topic; null = forever. */
  maxRetryAttempts: number | null;
  /** Halve a failing batch to isolate the record that fails it. */
  bisectBatchOnError: boolean;
  deadLetterTopic: string | null;
  startingPosition: StartingPosition;
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
}

/** The configuration as stored: with the creation's id and resolved start offsets. */
export interface StoredSubscription extends SubscriptionConfig {
  id: string;
  /** The topic's incarnation at creation; `startOffsets` mean nothing in another one. */
  topicId: string;
  /** Where each partition the topic had at creation starts when it has no committed offset. */
  startOffsets: number[];
}

/** What a deliverer keeps on a partition's lease (LeaseStatus), read back. */
export interface DeliveryStatus {
  /** The subscription's `id` when this was written. */
  id: string;
  /** Failed attempts at `headOffset` so far. */
  attempts: number;
  headOffset: number | null;
  lastError: string | null;
  lastErrorTime: number | null;
  lastDeliveryTime: number | null;
  /** Records sent to the dead-letter topic from this partition. */
  deadLettered: number;
  /**
   * Records from `headOffset` through `through` ran out of attempts and are being copied to the
   * dead-letter topic (a copy that failed is retried by the next run, without calling the target again).
   */
  pendingDeadLetter?: { through: number; error: string } | null;
}

export interface PartitionStatus {
  partition: number;
  committedOffset: number | null;
  highWatermark: number;
  lag: number;
  owner: string | null;
  attempts: number;
  lastError: string | null;
  lastErrorTime: number | null;
  lastDeliveryTime: number | null;
  deadLettered: number;
}

export interface SubscriptionDescription extends SubscriptionConfig {
  group: string;
  partitions: PartitionStatus[];
}

export interface SubscriptionChange {
  enabled?: boolean;
  batchSize?: number;
  maxBatchingWindowMs?: number;
  maxRetryAttempts?: number | null;
  bisectBatchOnError?: boolean;
  deadLetterTopic?: string | null;
}

export interface SubscriptionService {
  create(input: unknown): Promise<SubscriptionConfig>;
  list(): Promise<SubscriptionConfig[]>;
  /** SUBSCRIPTION_NOT_FOUND when absent. */
  get(name: string): Promise<SubscriptionConfig>;
  describe(name: string): Promise<SubscriptionDescription>;
  update(name: string, change: unknown): Promise<SubscriptionConfig>;
  delete(name: string): Promise<void>;
  /** For deliverers: the stored form (id, start offsets), or undefined when absent. */
  read(name: string): Promise<StoredSubscription | undefined>;
  /** For dispatchers: every subscription, stored form. */
  readAll(): Promise<StoredSubscription[]>;
}

export interface TargetPolicy {
  /** Throws INVALID_REQUEST naming `target.url` when the URL may not be delivered to. */
  validateUrl(url: string): void;
  /**
   * Throws INVALID_REQUEST naming `target.function` unless this runtime may invoke the function (on
   * the deployed stack: one the construct's addSubscription granted; elsewhere: none).
   */
  validateFunction(fn: string): void;
}

export interface SubscriptionServiceDeps {
  meta: MetaStore;
  clock: Clock;
  topics: Pick<TopicServiceImpl, 'requireTopic'>;
  log: Pick<LogService, 'offsets'>;
  groups: GroupService;
  targets: TargetPolicy;
  /** Called after every create, change and delete (the local runner starts and stops deliverers). */
  onChange?: (name: string) => void;
}

const NAME = /^[A-Za-z0-9._-]{1,249}$/;
const invalid = (message: string) => new StreamError('INVALID_REQUEST', message);
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function validateName(name: unknown): string {
  // "." and ".." would be resolved away in the URL path /v1/subscriptions/{name}, as topic names are.
  if (typeof name !== 'string' || !NAME.test(name) || name === '.' || name === '..') {
    throw invalid(
      `name ${JSON.stringify(name)} is invalid: use 1-249 of A-Z a-z 0-9 . _ - (and not "." or "..")`,
    );
  }
  return name;
}

function integerField(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(`${field} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function booleanField(field: string, value: unknown): boolean {
  if (typeof value !== 'boolean')
    throw invalid(`${field} must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

function rejectUnknown(body: Record<string, unknown>, known: readonly string[], where = ''): void {
  for (const field of Object.keys(body)) {
    if (!known.includes(field)) {
      throw invalid(`${where}${field} is not a subscription field; known: ${known.join(', ')}`);
    }
  }
}

const CREATE_FIELDS = [
  'name',
  'topic',
  'target',
  'batchSize',
  'maxBatchingWindowMs',
  'maxRetryAttempts',
  'bisectBatchOnError',
  'deadLetterTopic',
  'startingPosition',
  'enabled',
] as const;

const CHANGE_FIELDS = [
  'enabled',
  'batchSize',
  'maxBatchingWindowMs',
  'maxRetryAttempts',
  'bisectBatchOnError',
  'deadLetterTopic',
] as const;

function parseTarget(value: unknown, policy: TargetPolicy): SubscriptionTarget {
  if (!isObject(value)) throw invalid('target must be {"url": "..."} or {"function": "..."}');
  rejectUnknown(value, ['url', 'function'], 'target.');
  const { url, function: fn } = value;
  if ((url === undefined) === (fn === undefined)) {
    throw invalid('target must name exactly one of url and function');
  }
  if (url !== undefined) {
    if (typeof url !== 'string' || url === '') throw invalid('target.url must be a non-empty string');
    if (url.length > MAX_TARGET_URL_CHARS) {
      throw invalid(`target.url must be at most ${MAX_TARGET_URL_CHARS} characters, got ${url.length}`);
    }
    policy.validateUrl(url);
    return { url };
  }
  if (typeof fn !== 'string' || fn === '' || fn.length > 170) {
    throw invalid('target.function must be a function name or ARN (1-170 characters)');
  }
  policy.validateFunction(fn);
  return { function: fn };
}

function parseStartingPosition(value: unknown): StartingPosition {
  if (value === 'earliest' || value === 'latest') return value;
  if (isObject(value) && Object.keys(value).length === 1 && 'timestamp' in value) {
    return {
      timestamp: integerField('startingPosition.timestamp', value.timestamp, 0, Number.MAX_SAFE_INTEGER),
    };
  }
  throw invalid(
    `startingPosition must be "earliest", "latest" or {"timestamp": <epoch ms>}, got ${JSON.stringify(value)}`,
  );
}

/** The fields a change may set, checked one by one (undefined: leave as is). */
function parseChange(body: Record<string, unknown>): SubscriptionChange {
  const change: SubscriptionChange = {};
  if (body.enabled !== undefined) change.enabled = booleanField('enabled', body.enabled);
  if (body.batchSize !== undefined)
    change.batchSize = integerField('batchSize', body.batchSize, 1, MAX_BATCH_SIZE);
  if (body.maxBatchingWindowMs !== undefined) {
    change.maxBatchingWindowMs = integerField(
      'maxBatchingWindowMs',
      body.maxBatchingWindowMs,
      0,
      MAX_BATCHING_WINDOW_MS,
    );
  }
  if (body.maxRetryAttempts !== undefined) {
    change.maxRetryAttempts =
      body.maxRetryAttempts === null
        ? null
        : integerField('maxRetryAttempts', body.maxRetryAttempts, 0, MAX_RETRY_ATTEMPTS);
  }
  if (body.bisectBatchOnError !== undefined) {
    change.bisectBatchOnError = booleanField('bisectBatchOnError', body.bisectBatchOnError);
  }
  if (body.deadLetterTopic !== undefined) {
    if (
      body.deadLetterTopic !== null &&
      (typeof body.deadLetterTopic !== 'string' || body.deadLetterTopic === '')
    ) {
      throw invalid('deadLetterTopic must be a topic name or null');
    }
    change.deadLetterTopic = body.deadLetterTopic as string | null;
  }
  return change;
}

function readStored(item: Item): StoredSubscription {
  const { pk: _pk, sk: _sk, v: _v, expiresAt: _e, ...rest } = item;
  return rest as unknown as StoredSubscription;
}

/** The configuration a user sees: the stored form without internals. */
export function publicConfig(stored: StoredSubscription): SubscriptionConfig {
  const { id: _id, topicId: _topicId, startOffsets: _starts, ...config } = stored;
  return config;
}

/**
 * Whether the offset on a lease belongs to this creation of the subscription: written by its
 * deliverers (their status carries its id) or by an offset reset of the group before any delivery (no
 * status yet). Deliverers always write a status, so an offset under another id was left by a deleted
 * subscription of the same name.
 */
export function leaseOffsetCounts(status: LeaseStatus | null, id: string): boolean {
  return status === null || status.id === id;
}

/** A lease's status as the deliverers write it, for this creation of the subscription only. */
export function deliveryStatusOf(status: LeaseStatus | null, id: string): DeliveryStatus | undefined {
  if (status === null || status.id !== id) return undefined;
  return status as unknown as DeliveryStatus;
}

const notFound = (name: string) =>
  new StreamError('SUBSCRIPTION_NOT_FOUND', `subscription ${name} does not exist`);

export function createSubscriptionService(deps: SubscriptionServiceDeps): SubscriptionService {
  const { meta, clock, topics, log, groups, targets, onChange } = deps;

  /**
   * The cross-field rules, on a whole configuration (new, or changed). The dead-letter topic must
   * exist when it is set (`dlt: 'check'`); a change that leaves it as it was does not look it up, so a
   * subscription whose dead-letter topic was deleted can still be disabled or changed.
   */
  async function checkWhole(config: SubscriptionConfig, dlt: 'check' | 'unchanged' = 'check'): Promise<void> {
    if (config.maxRetryAttempts !== null && config.deadLetterTopic === null) {
      throw invalid(
        'maxRetryAttempts needs deadLetterTopic: records that run out of attempts are copied there, and nothing is skipped without a dead letter (leave maxRetryAttempts out to retry forever)',
      );
    }
    if (config.deadLetterTopic !== null) {
      if (config.deadLetterTopic === config.topic) {
        throw invalid(`deadLetterTopic must differ from topic ${config.topic}`);
      }
      if (dlt === 'check') await topics.requireTopic(config.deadLetterTopic);
    }
  }

  async function startOffsetsOf(topic: TopicDescription, position: StartingPosition): Promise<number[]> {
    const offsets: number[] = [];
    for (let partition = 0; partition < topic.partitions; partition++) {
      const range = await log.offsets(
        topic.name,
        partition,
        typeof position === 'object' ? position.timestamp : undefined,
      );
      offsets.push(
        position === 'earliest'
          ? range.logStartOffset
          : position === 'latest'
            ? range.highWatermark
            : (range.offset ?? range.highWatermark),
      );
    }
    return offsets;
  }

  async function read(name: string): Promise<StoredSubscription | undefined> {
    const item = await meta.get(subscriptionKey(name), { consistent: true });
    return item === undefined ? undefined : readStored(item);
  }

  async function require(name: string): Promise<Item> {
    validateName(name);
    const item = await meta.get(subscriptionKey(name), { consistent: true });
    if (item === undefined) throw notFound(name);
    return item;
  }

  async function readAll(): Promise<StoredSubscription[]> {
    return (await queryAll(meta, SUBSCRIPTIONS_PK, { consistent: true })).map(readStored);
  }

  return {
    async create(input) {
      if (!isObject(input)) throw invalid('the body must be a JSON object');
      rejectUnknown(input, CREATE_FIELDS);
      const name = validateName(input.name);
      if (typeof input.topic !== 'string' || input.topic === '') throw invalid('topic must be a topic name');
      const target = parseTarget(input.target, targets);
      const change = parseChange(input);
      const startingPosition =
        input.startingPosition === undefined ? 'latest' : parseStartingPosition(input.startingPosition);
      const topic = await topics.requireTopic(input.topic);
      const now = clock.now();
      const config: SubscriptionConfig = {
        name,
        topic: topic.name,
        target,
        batchSize: change.batchSize ?? DEFAULT_BATCH_SIZE,
        maxBatchingWindowMs: change.maxBatchingWindowMs ?? 0,
        maxRetryAttempts: change.maxRetryAttempts ?? null,
        bisectBatchOnError: change.bisectBatchOnError ?? false,
        deadLetterTopic: change.deadLetterTopic ?? null,
        startingPosition,
        enabled: change.enabled ?? true,
        createdAt: now,
        updatedAt: now,
      };
      await checkWhole(config);
      if ((await queryAll(meta, SUBSCRIPTIONS_PK, { consistent: false })).length >= MAX_SUBSCRIPTIONS) {
        throw invalid(`there are ${MAX_SUBSCRIPTIONS} subscriptions already, the most a deployment holds`);
      }
      const stored: StoredSubscription = {
        ...config,
        id: ulid(now),
        topicId: topic.topicId,
        startOffsets: await startOffsetsOf(topic, startingPosition),
      };
      // The group is listed with the subscription, in the same transaction; a listing left by a
      // delete cut short is taken over.
      const group = subscriptionGroup(name);
      const listing = await meta.get(groupListKey(group), { consistent: true });
      try {
        await meta.transact([
          {
            type: 'put',
            item: { ...subscriptionKey(name), ...(stored as unknown as Record<string, never>) },
            expect: 'absent',
          },
          { type: 'put', item: { ...groupListKey(group), createdAt: now }, expect: listing?.v ?? 'absent' },
        ]);
      } catch (error) {
        if (error instanceof ConditionFailedError && error.failedOps.includes(0)) {
          throw new StreamError('SUBSCRIPTION_ALREADY_EXISTS', `subscription ${name} already exists`);
        }
        if (error instanceof ConditionFailedError) {
          throw new StreamError(
            'CONFLICT',
            `subscription ${name} was being created or deleted at the same time; retry`,
          );
        }
        throw error;
      }
      onChange?.(name);
      return config;
    },

    async list() {
      return (await readAll()).map(publicConfig);
    },

    async get(name) {
      return publicConfig(readStored(await require(name)));
    },

    async describe(name) {
      const stored = readStored(await require(name));
      const group = subscriptionGroup(name);
      // A subscription outlives its topic: without one it is described with no partitions.
      const topic = await topics.requireTopic(stored.topic).catch((error: unknown) => {
        if (error instanceof StreamError && error.code === 'TOPIC_NOT_FOUND') return undefined;
        throw error;
      });
      if (topic === undefined) return { ...publicConfig(stored), group, partitions: [] };
      const described = await groups.describe(group);
      const leases = new Map<number, (typeof described.partitions)[number]>();
      for (const p of described.partitions) if (p.topic === stored.topic) leases.set(p.partition, p);
      const statuses = await groups.partitionStatuses(group, stored.topic);
      const partitions: PartitionStatus[] = [];
      for (let partition = 0; partition < topic.partitions; partition++) {
        const lease = leases.get(partition);
        const leaseStatus = statuses.get(partition) ?? null;
        const status = deliveryStatusOf(leaseStatus, stored.id);
        const highWatermark =
          lease?.highWatermark ?? (await log.offsets(stored.topic, partition)).highWatermark;
        // Offsets on a lease written for a deleted subscription of the same name do not count.
        const committedOffset = leaseOffsetCounts(leaseStatus, stored.id)
          ? (lease?.committedOffset ?? null)
          : null;
        // Start offsets belong to the topic the subscription was created on, as for the deliverer.
        const start = topic.topicId === stored.topicId ? stored.startOffsets[partition] : undefined;
        const position = committedOffset ?? start ?? 0;
        partitions.push({
          partition,
          committedOffset,
          highWatermark,
          lag: Math.max(0, highWatermark - position),
          owner: lease?.owner ?? null,
          attempts: status?.attempts ?? 0,
          lastError: status?.lastError ?? null,
          lastErrorTime: status?.lastErrorTime ?? null,
          lastDeliveryTime: status?.lastDeliveryTime ?? null,
          deadLettered: status?.deadLettered ?? 0,
        });
      }
      return { ...publicConfig(stored), group, partitions };
    },

    async update(name, input) {
      if (!isObject(input)) throw invalid('the body must be a JSON object');
      rejectUnknown(input, CHANGE_FIELDS);
      const change = parseChange(input);
      const written = await retryOnConflict({ clock, what: `subscription ${name}` }, async () => {
        const item = await require(name);
        const stored = readStored(item);
        const next: StoredSubscription = { ...stored, ...change, updatedAt: clock.now() };
        await checkWhole(next, change.deadLetterTopic === undefined ? 'unchanged' : 'check');
        await meta.transact([
          {
            type: 'put',
            item: { ...attributesOf(item), ...(next as unknown as Record<string, never>) },
            expect: item.v,
          },
        ]);
        return next;
      });
      onChange?.(name);
      return publicConfig(written);
    },

    async delete(name) {
      const item = await require(name);
      // The configuration goes first: deliverers stop at their next batch, and a lease one of them
      // writes meanwhile carries the old id, which a new subscription of this name ignores.
      try {
        await meta.transact([{ type: 'delete', key: subscriptionKey(name), expect: item.v }]);
      } catch (error) {
        if (error instanceof ConditionFailedError) {
          throw new StreamError('CONFLICT', `subscription ${name} changed while it was deleted; retry`);
        }
        throw error;
      }
      const group = subscriptionGroup(name);
      const leftovers = await queryAll(meta, groupPk(group), { consistent: true });
      for (let i = 0; i < leftovers.length; i += 100) {
        await meta.transact(
          leftovers
            .slice(i, i + 100)
            .map((lease) => ({ type: 'delete' as const, key: { pk: lease.pk, sk: lease.sk } })),
        );
      }
      await meta.transact([{ type: 'delete', key: groupListKey(group) }]);
      onChange?.(name);
    },

    read,
    readAll,
  };
}
