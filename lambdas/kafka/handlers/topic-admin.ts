/**
 * What the topic admin handlers share: Kafka's answers for bad input, and Streambed's topic configs as
 * Kafka config entries.
 *
 * Streambed's topic config keys are Kafka's own names (retention.ms, max.message.bytes, ...), so
 * entries map one to one; a key Streambed does not have is INVALID_CONFIG naming it, never ignored.
 * Values travel as strings both ways. A time span without bound is Kafka's Long.MAX_VALUE on the
 * wire and the largest safe integer inside (topics.ts).
 */
import { StreamError } from '../../core/errors.ts';
import type { TopicConfig } from '../../core/log-types.ts';
import { DEFAULT_TOPIC_CONFIG, mergeTopicConfig, validateTopicName } from '../../core/topics.ts';
import type { KafkaErrorName } from '../errors.ts';

/** An error answered with Kafka's `reason` code and this message (see toKafkaError). */
export function refused(reason: KafkaErrorName, message: string): StreamError {
  return new StreamError('INVALID_REQUEST', message, { details: { reason } });
}

/** The topic name, or INVALID_TOPIC_EXCEPTION: a name that cannot exist. */
export function checkTopicName(name: string): string {
  try {
    return validateTopicName(name);
  } catch (error) {
    throw error instanceof StreamError ? refused('INVALID_TOPIC_EXCEPTION', error.message) : error;
  }
}

/** The names given more than once, which Kafka answers INVALID_REQUEST for every entry of. */
export function repeated(names: readonly (string | null)[]): Set<string | null> {
  const seen = new Set<string | null>();
  const twice = new Set<string | null>();
  for (const name of names) {
    if (seen.has(name)) twice.add(name);
    seen.add(name);
  }
  return twice;
}

/** Kafka's ConfigSource values (DescribeConfigs v1+, CreateTopics v5+). */
const ConfigSource = { DYNAMIC_TOPIC_CONFIG: 1, DEFAULT_CONFIG: 5 } as const;
/** Kafka's ConfigType (DescribeConfigs v3+). */
const ConfigType = { INT: 3, LONG: 5, LIST: 7 } as const;
const CONFIG_TYPES: Record<keyof TopicConfig, number> = {
  'retention.ms': ConfigType.LONG,
  'retention.bytes': ConfigType.LONG,
  'max.message.bytes': ConfigType.INT,
  'cleanup.policy': ConfigType.LIST,
  'message.timestamp.before.max.ms': ConfigType.LONG,
  'message.timestamp.after.max.ms': ConfigType.LONG,
};
const KAFKA_LONG_MAX = '9223372036854775807';

export interface ConfigEntry {
  name: string;
  value: string;
  readOnly: false;
  /** DescribeConfigs v0's flag: the value is Streambed's default. */
  isDefault: boolean;
  configSource: number;
  isSensitive: false;
  configType: number;
}

/**
 * A topic's configs as Kafka config entries, all of them or those named in `keys` (names Streambed
 * does not have are left out, as Kafka leaves out unknown names). A value equal to the default
 * reports as the default: Streambed stores the effective config, not which keys were set.
 */
export function configEntries(config: TopicConfig, keys?: readonly string[] | null): ConfigEntry[] {
  const names = (Object.keys(DEFAULT_TOPIC_CONFIG) as (keyof TopicConfig)[]).filter(
    (name) => keys === undefined || keys === null || keys.includes(name),
  );
  return names.map((name) => {
    const value = config[name];
    const type = CONFIG_TYPES[name];
    const isDefault = value === DEFAULT_TOPIC_CONFIG[name];
    return {
      name,
      value: type === ConfigType.LONG && value === Number.MAX_SAFE_INTEGER ? KAFKA_LONG_MAX : String(value),
      readOnly: false,
      isDefault,
      configSource: isDefault ? ConfigSource.DEFAULT_CONFIG : ConfigSource.DYNAMIC_TOPIC_CONFIG,
      isSensitive: false,
      configType: type,
    };
  });
}

/**
 * The whole topic config that Kafka config entries describe: the keys given, Streambed's defaults
 * for the rest. INVALID_CONFIG names the first key that is unknown, repeated, null or out of range.
 */
export function topicConfigFrom(entries: readonly { name: string; value: string | null }[]): TopicConfig {
  const change = new Map<string, string>();
  for (const { name, value } of entries) {
    if (change.has(name)) throw refused('INVALID_CONFIG', `config ${name} is given more than once`);
    if (value === null) throw refused('INVALID_CONFIG', `config ${name} has no value (null)`);
    change.set(name, value);
  }
  try {
    return mergeTopicConfig(DEFAULT_TOPIC_CONFIG, Object.fromEntries(change));
  } catch (error) {
    throw error instanceof StreamError ? refused('INVALID_CONFIG', error.message) : error;
  }
}
