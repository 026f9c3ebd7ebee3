/**
 * The CloudFormation custom resource `Custom::StreambedSubscription` (the CDK construct's
 * `addSubscription`, DESIGN §12): one subscription kept as the stack declares it, through the same
 * subscription service (and so the same validation) as `POST /v1/subscriptions`.
 *
 * Properties (CloudFormation hands a custom resource every scalar as a string, so numbers and booleans
 * arrive as text and are read back here; anything unreadable goes to the service as is and is refused
 * there, naming the field): `Name`, `Topic`, `Function` (the target's ARN), and optionally `BatchSize`,
 * `MaxBatchingWindowMs`, `MaxRetryAttempts`, `BisectBatchOnError`, `DeadLetterTopic`,
 * `StartingPosition` (`earliest`, `latest` or epoch milliseconds), `Enabled`, `CreateTopicPartitions`.
 *
 * Invariants:
 * - The physical id is `<name>@<creation id>`: it names one creation of the subscription, so a
 *   resource only ever deletes the subscription it created, never a later one of the same name.
 * - Create makes the subscription (first the topic, when `CreateTopicPartitions` is given and the
 *   topic does not exist; an existing topic is left as it is, and no topic is ever deleted).
 * - Update changes the changeable fields in place (a field left out returns to its default), keeping
 *   the position. A new `Name`, `Topic`, `Function` or `StartingPosition` is a replacement: a new
 *   subscription with a new physical id, starting at its starting position. Under the same name the
 *   old one is deleted first (a name holds one subscription); CloudFormation's Delete of the old
 *   physical id then finds another creation under the name and leaves it alone.
 * - Delete removes the subscription and its position; one already gone (deleted over the API, or never
 *   created because Create failed) is success.
 */
import { StreamError } from '../core/errors.ts';
import type { TopicServiceImpl } from '../core/topics.ts';
import { DEFAULT_BATCH_SIZE, type SubscriptionService } from './subscriptions.ts';

export const SUBSCRIPTION_RESOURCE_TYPE = 'Custom::StreambedSubscription';

/** The resource's properties as the construct writes them (before CloudFormation makes them strings). */
export interface SubscriptionResourceProperties {
  Name: string;
  Topic: string;
  Function: string;
  BatchSize?: number;
  MaxBatchingWindowMs?: number;
  MaxRetryAttempts?: number;
  BisectBatchOnError?: boolean;
  DeadLetterTopic?: string;
  /** `earliest`, `latest` or a timestamp in epoch milliseconds. */
  StartingPosition?: string | number;
  Enabled?: boolean;
  CreateTopicPartitions?: number;
}

export interface SubscriptionResourceEvent {
  RequestType: 'Create' | 'Update' | 'Delete';
  ResourceProperties: Record<string, unknown>;
  OldResourceProperties?: Record<string, unknown>;
  /** Absent on Create. */
  PhysicalResourceId?: string;
}

export interface SubscriptionResourceDeps {
  subscriptions: SubscriptionService;
  topics: Pick<TopicServiceImpl, 'createTopic'>;
}

/** The properties whose change makes a new subscription. */
const REPLACING = ['Name', 'Topic', 'Function', 'StartingPosition'] as const;

type Props = Record<string, unknown>;

/** `"12"` → 12; anything else unchanged, for the service to judge. */
const numberOf = (value: unknown): unknown =>
  typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
const booleanOf = (value: unknown): unknown => (value === 'true' ? true : value === 'false' ? false : value);
const orDefault = (value: unknown, fallback: unknown): unknown => (value === undefined ? fallback : value);

/** The changeable fields, every one of them: one left out returns to its default. */
function changeOf(props: Props): Record<string, unknown> {
  return {
    enabled: orDefault(booleanOf(props.Enabled), true),
    batchSize: orDefault(numberOf(props.BatchSize), DEFAULT_BATCH_SIZE),
    maxBatchingWindowMs: orDefault(numberOf(props.MaxBatchingWindowMs), 0),
    maxRetryAttempts: orDefault(numberOf(props.MaxRetryAttempts), null),
    bisectBatchOnError: orDefault(booleanOf(props.BisectBatchOnError), false),
    deadLetterTopic: orDefault(props.DeadLetterTopic, null),
  };
}

function startingPositionOf(value: unknown): unknown {
  if (value === undefined) return undefined;
  const timestamp = numberOf(value);
  return typeof timestamp === 'number' ? { timestamp } : value;
}

const physicalId = (name: string, id: string): string => `${name}@${id}`;

function parsePhysicalId(value: string | undefined): { name: string; id: string } | undefined {
  const at = value?.lastIndexOf('@') ?? -1;
  if (value === undefined || at <= 0) return undefined;
  return { name: value.slice(0, at), id: value.slice(at + 1) };
}

const isCode = (error: unknown, code: string): boolean => error instanceof StreamError && error.code === code;

export function createSubscriptionResource(deps: SubscriptionResourceDeps) {
  const { subscriptions, topics } = deps;

  async function ensureTopic(props: Props): Promise<void> {
    if (props.CreateTopicPartitions === undefined) return;
    try {
      await topics.createTopic(props.Topic as string, numberOf(props.CreateTopicPartitions) as number);
    } catch (error) {
      if (!isCode(error, 'TOPIC_ALREADY_EXISTS')) throw error;
    }
  }

  async function create(props: Props): Promise<string> {
    await ensureTopic(props);
    const config = await subscriptions.create({
      name: props.Name,
      topic: props.Topic,
      target: { function: props.Function },
      ...changeOf(props),
      startingPosition: startingPositionOf(props.StartingPosition),
    });
    const stored = await subscriptions.read(config.name);
    if (stored === undefined) {
      throw new StreamError('CONFLICT', `subscription ${config.name} was deleted while it was created`);
    }
    return physicalId(config.name, stored.id);
  }

  /** Deletes the creation `physical` names, if it still exists. */
  async function deleteOwn(physical: string | undefined): Promise<void> {
    const own = parsePhysicalId(physical);
    if (own === undefined) return;
    const stored = await subscriptions.read(own.name);
    if (stored === undefined || stored.id !== own.id) return;
    try {
      await subscriptions.delete(own.name);
    } catch (error) {
      if (!isCode(error, 'SUBSCRIPTION_NOT_FOUND')) throw error;
    }
  }

  return async function onEvent(event: SubscriptionResourceEvent): Promise<{ PhysicalResourceId: string }> {
    const props = event.ResourceProperties;
    if (event.RequestType === 'Create') return { PhysicalResourceId: await create(props) };
    const current = event.PhysicalResourceId ?? '';
    if (event.RequestType === 'Delete') {
      await deleteOwn(current);
      return { PhysicalResourceId: current };
    }
    const old = event.OldResourceProperties ?? {};
    if (REPLACING.some((key) => String(old[key]) !== String(props[key]))) {
      if (old.Name === props.Name) await deleteOwn(current);
      return { PhysicalResourceId: await create(props) };
    }
    await ensureTopic(props);
    try {
      await subscriptions.update(props.Name as string, changeOf(props));
    } catch (error) {
      // Deleted behind the stack's back (over the API): the stack's declaration makes it again.
      if (isCode(error, 'SUBSCRIPTION_NOT_FOUND')) return { PhysicalResourceId: await create(props) };
      throw error;
    }
    return { PhysicalResourceId: current };
  };
}
