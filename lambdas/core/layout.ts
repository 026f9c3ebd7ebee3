/**
 * The one owner of every storage key Streambed uses: metadata item keys (DESIGN §3) and object keys
 * (DESIGN §2). Nothing else builds or parses a key.
 *
 * Metadata items:
 *   topic#{name} / meta             the topic: topicId, partitions, config, createdAt
 *   topics / {name}                 one item per topic, so topics can be listed with one query
 *   deleted-topics / {topicId}      a deleted topic whose data the janitor still has to remove
 *   janitor / progress              where the janitor's passes left off (partition and GC cursors)
 *   part#{topicId}#{p} / meta       a partition: highWatermark, logStartOffset, bytes, batches, ...
 *   part#{topicId}#{p} / b#{20 digits}   a batch index entry, by base offset (zero-padded: sk order = offset order)
 *
 * Kafka producers (idempotent-producers.ts):
 *   kafka / producer-ids            the producer id counter: nextId, advanced by compare-and-set
 *
 * Kafka listeners (core/listeners.ts; node ids are int32 in Kafka's protocol):
 *   kafka-listeners / node#{10 digits}   a listener: owner, advertised host and port, leaseExpiresAt; never deleted
 *
 * Consumer groups (groups.ts; the coordinator item is kafka/coordinator-lease.ts's):
 *   group#{g} / m#{memberId}        an HTTP member: topics, session timeout; expires unless it heartbeats
 *   group#{g} / l#{topic}#{5 digits}   a partition lease: owner, epoch, leaseExpiresAt, committedOffset, topicId
 *   group#{g} / coordinator         the Kafka coordinator lease: owner, nodeId, host, port, members, leaseExpiresAt
 *   groups / {g}                    one item per group, so groups can be listed with one query
 *
 * Subscriptions (subscriptions/subscriptions.ts; their offsets are the group `subscription:<name>`'s):
 *   subscriptions / {name}          a subscription: topic, target, batching, retries, enabled
 *
 * Schema registry items (core/schemas.ts):
 *   subject#{s} / meta              a subject: latestVersion, deletedThrough, compatibility (optional)
 *   subject#{s} / v#{10 digits}     a version of a subject: id, fingerprint, deleted
 *   subjects / {s}                  one item per subject with versions, with its `deleted` flag (listing)
 *   schema#{id} / meta              a schema: its text and fingerprint; immutable, never deleted
 *   schema#{id} / ref#{s}#{10 digits}   a (subject, version) that uses the schema (GET /schemas/ids/{id}/versions)
 *   schemaFingerprint#{fp} / meta   fingerprint → id, so one schema keeps one id across subjects
 *   schema-registry / ids           the id counter: lastId, advanced by compare-and-set
 *   schema-registry / config        the global compatibility level
 *
 * Objects: data/{2 hex}/{ULID}.sbo — the hex prefix spreads keys over S3 partitions, the ULID makes
 * every key unique and carries its creation time (garbage collection reads it, DESIGN §7).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ItemKey } from '../ports/meta-store.ts';

export const topicKey = (name: string): ItemKey => ({ pk: `topic#${name}`, sk: 'meta' });
export const TOPICS_PK = 'topics';
export const topicListKey = (name: string): ItemKey => ({ pk: TOPICS_PK, sk: name });
export const DELETED_TOPICS_PK = 'deleted-topics';
/** Where janitor passes left off, so a pass cut short by its deadline is carried on by the next. */
export const JANITOR_PROGRESS_KEY: ItemKey = { pk: 'janitor', sk: 'progress' };
/** How the last completed janitor pass went (read by `GET /v1/janitor`). */
export const JANITOR_LAST_RUN_KEY: ItemKey = { pk: 'janitor', sk: 'last-run' };
export const deletedTopicKey = (topicId: string): ItemKey => ({ pk: DELETED_TOPICS_PK, sk: topicId });

/** The sort key of a partition's own item (its highWatermark, logStartOffset, ...). */
export const PARTITION_META_SK = 'meta';
export const partitionPk = (topicId: string, partition: number): string => `part#${topicId}#${partition}`;
/** The topic id and partition of a partition item's pk; undefined for any other pk. */
export function parsePartitionPk(pk: string): { topicId: string; partition: number } | undefined {
  const match = /^part#(.+)#(0|[1-9][0-9]*)$/.exec(pk);
  if (match === null) return undefined;
  return { topicId: match[1] as string, partition: Number(match[2]) };
}
export const partitionKey = (topicId: string, partition: number): ItemKey => ({
  pk: partitionPk(topicId, partition),
  sk: PARTITION_META_SK,
});
/** The janitor's lease on a partition: at most one janitor works a partition at a time. */
export const janitorLeaseKey = (topicId: string, partition: number): ItemKey => ({
  pk: partitionPk(topicId, partition),
  sk: 'lease',
});

const OFFSET_DIGITS = 20;
/** Lowest and highest possible batch sort keys of a partition. */
export const FIRST_BATCH_SK = 'b#';
export const LAST_BATCH_SK = `b#${'9'.repeat(OFFSET_DIGITS)}`;
export const batchSk = (baseOffset: number): string => `b#${String(baseOffset).padStart(OFFSET_DIGITS, '0')}`;
export const parseBatchSk = (sk: string): number => Number(sk.slice(2));
export const batchKey = (topicId: string, partition: number, baseOffset: number): ItemKey => ({
  pk: partitionPk(topicId, partition),
  sk: batchSk(baseOffset),
});

// ULIDs: 48-bit millisecond time + 80 random bits, in Crockford's base32 (26 characters, sortable).
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export function ulid(timeMs: number): string {
  let time = '';
  let t = Math.floor(timeMs);
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const random = randomBytes(16);
  let tail = '';
  for (let i = 0; i < 16; i++) tail += CROCKFORD[(random[i] ?? 0) % 32];
  return time + tail;
}

export function ulidTime(id: string): number {
  let t = 0;
  for (let i = 0; i < 10; i++) t = t * 32 + CROCKFORD.indexOf(id[i] ?? '0');
  return t;
}

export const DATA_PREFIX = 'data/';

/** A fresh key for the object of one produce request, created at `timeMs`. */
export function newDataObjectKey(timeMs: number): string {
  const id = ulid(timeMs);
  const spread = createHash('sha1').update(id).digest('hex').slice(0, 2);
  return `${DATA_PREFIX}${spread}/${id}.sbo`;
}

/**
 * A data object key older than or equal to every object created at or after `timeMs`, and newer than
 * every object created before it: a time, written as an object key, for GC's "oldest object a partition
 * may point at" when only a bound by time is known.
 */
export function dataObjectFloor(timeMs: number): string {
  return `${DATA_PREFIX}00/${ulid(timeMs).slice(0, 10)}${'0'.repeat(16)}.sbo`;
}

/** The ULID of an object key made by this module; ULIDs sort by creation time. */
export function objectId(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1).replace(/\.sbo$/, '');
}

/** Whether object `a` was created before object `b` (by their keys, whatever their prefixes). */
export const isOlderObject = (a: string, b: string): boolean => objectId(a) < objectId(b);

/** A fresh key for an object the janitor writes for one partition (it owns the object alone). */
export function newPartitionObjectKey(topicId: string, partition: number, timeMs: number): string {
  return `${partitionObjectPrefix(topicId, partition)}${ulid(timeMs)}.sbo`;
}

export const COMPACTED_PREFIX = 'compacted/';
export const topicObjectPrefix = (topicId: string): string => `${COMPACTED_PREFIX}${topicId}/`;
export const partitionObjectPrefix = (topicId: string, partition: number): string =>
  `${topicObjectPrefix(topicId)}${partition}/`;
export const isSharedObject = (key: string): boolean => key.startsWith(DATA_PREFIX);

/** The creation time embedded in an object key made by this module. */
export function objectKeyTime(key: string): number {
  const name = key.slice(key.lastIndexOf('/') + 1);
  return ulidTime(name);
}

/** A new topic id: unique per creation, so a re-created topic never meets a deleted one's leftovers. */
export const newTopicId = (timeMs: number): string => ulid(timeMs);

// Consumer groups (DESIGN §6): members and leases of a group share its partition key, and so does the
// Kafka coordinator lease of a Kafka-managed group (DESIGN §13): owner, nodeId, host, port, members
// (how many Kafka members the holder has) and leaseExpiresAt; never deleted, so its version only
// grows. Written by the Kafka listener (kafka/coordinator-lease.ts); read by groups.ts to keep a
// group either HTTP-leased or Kafka-managed.
export const GROUPS_PK = 'groups';
export const groupListKey = (group: string): ItemKey => ({ pk: GROUPS_PK, sk: group });
export const groupPk = (group: string): string => `group#${group}`;
export const MEMBER_SK_PREFIX = 'm#';
export const LEASE_SK_PREFIX = 'l#';
export const memberKey = (group: string, memberId: string): ItemKey => ({
  pk: groupPk(group),
  sk: `${MEMBER_SK_PREFIX}${memberId}`,
});
/** Not under m# or l#: the group's member and lease queries never see it. */
export const coordinatorKey = (group: string): ItemKey => ({ pk: groupPk(group), sk: 'coordinator' });
/** Partition numbers are zero-padded so a topic's leases sort by partition. */
export const leaseSk = (topic: string, partition: number): string =>
  `${LEASE_SK_PREFIX}${topic}#${String(partition).padStart(5, '0')}`;
export const leaseKey = (group: string, topic: string, partition: number): ItemKey => ({
  pk: groupPk(group),
  sk: leaseSk(topic, partition),
});

/** The counter Kafka producer ids are drawn from (InitProducerId). */
export const PRODUCER_IDS_KEY: ItemKey = { pk: 'kafka', sk: 'producer-ids' };

// Kafka listeners (DESIGN §13): one item per live listener, keyed by its node id (sk order = id order).
export const KAFKA_LISTENERS_PK = 'kafka-listeners';
export const LISTENER_SK_PREFIX = 'node#';
export const listenerKey = (nodeId: number): ItemKey => ({
  pk: KAFKA_LISTENERS_PK,
  sk: `${LISTENER_SK_PREFIX}${String(nodeId).padStart(10, '0')}`,
});

// Subscriptions (DESIGN §12): one listing item each holds the whole configuration.
export const SUBSCRIPTIONS_PK = 'subscriptions';
export const subscriptionKey = (name: string): ItemKey => ({ pk: SUBSCRIPTIONS_PK, sk: name });

// Schema registry (core/schemas.ts). Versions and ids are int32 in Confluent's API: 10 digits suffice.
const VERSION_DIGITS = 10;
const padVersion = (version: number): string => String(version).padStart(VERSION_DIGITS, '0');
export const subjectPk = (subject: string): string => `subject#${subject}`;
export const subjectKey = (subject: string): ItemKey => ({ pk: subjectPk(subject), sk: 'meta' });
export const SUBJECT_VERSION_SK_PREFIX = 'v#';
/** Lowest and highest possible version sort keys of a subject. */
export const FIRST_SUBJECT_VERSION_SK = SUBJECT_VERSION_SK_PREFIX;
export const LAST_SUBJECT_VERSION_SK = `${SUBJECT_VERSION_SK_PREFIX}${'9'.repeat(VERSION_DIGITS)}`;
export const subjectVersionKey = (subject: string, version: number): ItemKey => ({
  pk: subjectPk(subject),
  sk: `${SUBJECT_VERSION_SK_PREFIX}${padVersion(version)}`,
});
export const SUBJECTS_PK = 'subjects';
export const subjectListKey = (subject: string): ItemKey => ({ pk: SUBJECTS_PK, sk: subject });
export const schemaPk = (id: number): string => `schema#${id}`;
export const schemaKey = (id: number): ItemKey => ({ pk: schemaPk(id), sk: 'meta' });
export const SCHEMA_REF_SK_PREFIX = 'ref#';
/** Which subject versions use schema `id`; subject and version are also attributes (a subject may hold `#`). */
export const schemaRefKey = (id: number, subject: string, version: number): ItemKey => ({
  pk: schemaPk(id),
  sk: `${SCHEMA_REF_SK_PREFIX}${subject}#${padVersion(version)}`,
});
export const schemaFingerprintKey = (fingerprint: string): ItemKey => ({
  pk: `schemaFingerprint#${fingerprint}`,
  sk: 'meta',
});
export const SCHEMA_REGISTRY_PK = 'schema-registry';
export const schemaIdCounterKey: ItemKey = { pk: SCHEMA_REGISTRY_PK, sk: 'ids' };
export const registryConfigKey: ItemKey = { pk: SCHEMA_REGISTRY_PK, sk: 'config' };
