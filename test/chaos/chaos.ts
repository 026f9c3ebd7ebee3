/**
 * The model-based chaos run: concurrent actors produce (with and without idempotency keys, retrying as
 * a client would) and fetch against stores that fail on a seeded schedule; a simple model remembers
 * every acknowledged record; at the end the log is read back with the faults switched off and checked.
 *
 * Invariants checked:
 * - every acknowledged record is readable at its acknowledged offset, with its value;
 * - offsets in a partition are contiguous from the log start, with no gaps;
 * - no record is in the log twice (retries with the same key never duplicate), and nothing is in the
 *   log that no producer sent;
 * - fetches during the run return, for acknowledged offsets, exactly the acknowledged values;
 * - no batch index entry points at a missing object;
 * - after a final janitor pass (retention, compaction, GC) no object is left that nothing points at,
 *   and nothing of a deleted topic is left.
 *
 * A janitor actor runs retention and compaction against the faulty stores throughout; one topic has
 * a small retention.bytes, so records may legitimately leave its log start (they are excused below
 * logStartOffset); a churn actor creates, fills and deletes a topic over and over.
 */
import { StreamError } from '../../lambdas/core/errors.ts';
import { DELETED_TOPICS_PK, FIRST_BATCH_SK, LAST_BATCH_SK, partitionPk } from '../../lambdas/core/layout.ts';
import type { ProduceRecord } from '../../lambdas/core/log-types.ts';
import { ManualClock, systemClock } from '../../lambdas/ports/clock.ts';
import { type Backend, createServices } from '../../lambdas/runtime/backends.ts';
import { FaultyMetaStore, FaultyObjectStore, faultPlan, seededRandom, totalFaults } from './faults.ts';

export interface ChaosOptions {
  seed: number;
  /** Produce and fetch operations across all actors. */
  operations: number;
  /** Probability that a storage call gets a fault. */
  faultRate?: number;
  producers?: number;
  fetchers?: number;
  /** Opens the storage to torture; read back through a fault-free view of the same storage. */
  backend: () => Promise<Backend>;
}

export interface ChaosReport {
  seed: number;
  operations: number;
  faults: number;
  faultsByKind: Record<string, number>;
  acknowledged: number;
  deletedTopics: number;
  violations: string[];
}

const TOPICS = [
  { name: 'chaos-a', partitions: 3, config: { 'retention.ms': -1 } },
  { name: 'chaos-b', partitions: 2, config: { 'retention.ms': -1, 'retention.bytes': 3000 } },
];
const utf8 = new TextEncoder();
const text = new TextDecoder();
const RETRIES = 10;
const JANITOR = 'chaos-janitor';

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const random = seededRandom(options.seed);
  const plan = faultPlan(options.seed ^ 0x5eed, options.faultRate ?? 0.15);
  const storage = await options.backend();
  const faulty: Backend = {
    meta: new FaultyMetaStore(storage.meta, plan),
    objects: new FaultyObjectStore(storage.objects, plan),
    close: async () => {},
  };
  const clean = createServices(storage, systemClock);
  const services = createServices(faulty, systemClock);
  for (const topic of TOPICS) await clean.topics.createTopic(topic.name, topic.partitions, topic.config);
  const deletedTopicIds: string[] = [];

  const violations: string[] = [];
  const acked = new Map<string, string>(); // "topic/partition/offset" → value
  const sent = new Set<string>();
  let operations = 0;
  let nextRequest = 0;

  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

  async function produceOnce(): Promise<void> {
    const topic = pick(TOPICS);
    const request = nextRequest++;
    const withKey = random() < 0.8;
    const records: ProduceRecord[] = [];
    const count = 1 + Math.floor(random() * 5);
    const values: string[] = [];
    for (let i = 0; i < count; i++) {
      const value = `r${request}-${i}`;
      values.push(value);
      sent.add(value);
      const shape = random();
      records.push({
        key: shape < 0.4 ? utf8.encode(`key-${Math.floor(random() * 20)}`) : null,
        value: utf8.encode(value),
        headers: [],
        ...(shape > 0.8 ? { partition: Math.floor(random() * topic.partitions) } : {}),
      });
    }
    const idempotencyKey = withKey ? `chaos-${options.seed}-${request}` : undefined;
    // A client without an idempotency key must not retry (it could duplicate); with one it retries.
    for (let attempt = 0; attempt < (withKey ? RETRIES : 1); attempt++) {
      try {
        const { offsets } = await services.log.produce({ topic: topic.name, records, idempotencyKey });
        offsets.forEach((o, i) => {
          const where = `${topic.name}/${o.partition}/${o.offset}`;
          const previous = acked.get(where);
          if (previous !== undefined && previous !== values[i]) {
            violations.push(`offset ${where} acknowledged for ${previous} and for ${values[i]}`);
          }
          acked.set(where, values[i] as string);
        });
        return;
      } catch (error) {
        if (!(error instanceof StreamError) || !error.retriable) {
          violations.push(`produce failed with a non-retriable error: ${String(error)}`);
          return;
        }
      }
    }
  }

  async function fetchOnce(): Promise<void> {
    const topic = pick(TOPICS);
    const partition = Math.floor(random() * topic.partitions);
    try {
      const range = await services.log.offsets(topic.name, partition);
      const offset =
        range.logStartOffset + Math.floor(random() * (range.highWatermark - range.logStartOffset + 1));
      const page = await services.log.fetch({ topic: topic.name, partition, offset, maxBytes: 2000 });
      let expected = offset;
      for (const record of page.records) {
        if (record.offset !== expected)
          violations.push(
            `fetch ${topic.name}/${partition}@${offset}: offset ${record.offset}, expected ${expected}`,
          );
        expected = record.offset + 1;
        const value = acked.get(`${topic.name}/${partition}/${record.offset}`);
        const got = record.value === null ? null : text.decode(record.value);
        if (value !== undefined && value !== got) {
          violations.push(
            `fetch ${topic.name}/${partition}@${record.offset} returned ${got}, acknowledged ${value}`,
          );
        }
      }
    } catch (error) {
      // Retention may move the log start past the offset between reading the range and fetching.
      const outOfRange = error instanceof StreamError && error.code === 'OFFSET_OUT_OF_RANGE';
      if (!(error instanceof StreamError) || (!error.retriable && !outOfRange)) {
        violations.push(`fetch failed: ${String(error)}`);
      }
    }
  }

  // Retention and compaction as often as they can run, against the same faulty stores.
  const janitor = createServices(faulty, systemClock, {
    janitor: { owner: JANITOR, compactAfterMs: 0, graceMs: 0 },
  }).janitor;
  async function janitorOnce(): Promise<void> {
    try {
      const report = await janitor.runOnce();
      for (const failure of report.errors) {
        if (!failure.retriable) violations.push(`janitor step ${failure.where} failed: ${failure.message}`);
      }
    } catch (error) {
      if (!(error instanceof StreamError) || !error.retriable)
        violations.push(`janitor failed: ${String(error)}`);
    }
  }

  // Consumer-group members on chaos-a: heartbeat, commit with their lease epoch, sometimes leave and
  // then try again as a zombie. Commits made with a stale epoch or after leaving must be refused.
  const GROUP = 'chaos-group';
  const attemptedCommits = new Map<number, Set<number>>(); // partition → offsets ever sent
  interface Member {
    id: string | undefined;
    assignments: { topic: string; partition: number; epoch: number }[];
    left: { id: string; assignments: { topic: string; partition: number; epoch: number }[] } | undefined;
  }
  async function groupOnce(member: Member): Promise<void> {
    const commit = async (id: string, partition: number, epoch: number) => {
      const offset = Math.floor(random() * 50);
      const sent = attemptedCommits.get(partition) ?? new Set<number>();
      sent.add(offset);
      attemptedCommits.set(partition, sent);
      await services.groups.commit(GROUP, id, [{ topic: 'chaos-a', partition, offset, epoch }]);
    };
    try {
      if (member.left !== undefined && random() < 0.3) {
        // A zombie: the member left; its old lease must not accept its commits any more.
        const stale = member.left.assignments[0];
        if (stale !== undefined) {
          try {
            await commit(member.left.id, stale.partition, stale.epoch);
            violations.push(`member ${member.left.id} committed to chaos-a/${stale.partition} after leaving`);
          } catch (error) {
            if (!(error instanceof StreamError)) throw error;
          }
        }
        return;
      }
      if (member.id === undefined) {
        const joined = await services.groups.join(GROUP, { topics: ['chaos-a'], sessionTimeoutMs: 5_000 });
        member.id = joined.memberId;
        member.assignments = joined.assignments;
        return;
      }
      const roll = random();
      if (roll < 0.5) {
        member.assignments = (await services.groups.heartbeat(GROUP, member.id)).assignments;
      } else if (roll < 0.8) {
        const owned = member.assignments[Math.floor(random() * member.assignments.length)];
        if (owned === undefined) return;
        const stale = random() < 0.3;
        try {
          await commit(member.id, owned.partition, stale ? owned.epoch - 1 : owned.epoch);
          if (stale)
            violations.push(
              `a commit to chaos-a/${owned.partition} with a stale epoch ${owned.epoch - 1} succeeded`,
            );
        } catch (error) {
          if (!(error instanceof StreamError)) throw error;
        }
      } else if (roll < 0.9) {
        // Only a leave that was acknowledged makes the member a zombie; a failed one may not have applied.
        const id = member.id;
        await services.groups.leave(GROUP, id);
        member.id = undefined;
        member.left = { id, assignments: member.assignments };
      }
    } catch (error) {
      if (!(error instanceof StreamError)) violations.push(`group action failed: ${String(error)}`);
      // LEASE_LOST on heartbeat: the group forgot the member (a fault ate its renewals); rejoin later.
      if (error instanceof StreamError && error.code === 'LEASE_LOST' && member.id !== undefined)
        member.id = undefined;
    }
  }
  const members: Member[] = [0, 1].map(() => ({ id: undefined, assignments: [], left: undefined }));

  async function churnOnce(): Promise<void> {
    try {
      const created = await services.topics.createTopic('chaos-churn', 2);
      await services.log.produce({
        topic: 'chaos-churn',
        records: [{ key: null, value: utf8.encode('x'), headers: [] }],
      });
      await services.topics.deleteTopic('chaos-churn');
      deletedTopicIds.push(created.topicId);
    } catch (error) {
      if (!(error instanceof StreamError)) violations.push(`topic churn failed: ${String(error)}`);
      // A half-done churn leaves the topic for the next round to delete.
      await clean.topics.deleteTopic('chaos-churn').then(
        () => undefined,
        () => undefined,
      );
    }
  }

  const producers = options.producers ?? 4;
  const fetchers = options.fetchers ?? 2;
  const actor = async (work: () => Promise<void>) => {
    while (operations < options.operations) {
      operations++;
      await work();
    }
  };
  await Promise.all([
    ...Array.from({ length: producers }, () => actor(produceOnce)),
    ...Array.from({ length: fetchers }, () => actor(fetchOnce)),
    actor(janitorOnce),
    actor(churnOnce),
    ...members.map((member) => actor(() => groupOnce(member))),
  ]);
  const leftover = await clean.topics.requireTopic('chaos-churn').catch(() => undefined);
  if (leftover !== undefined) {
    await clean.topics.deleteTopic('chaos-churn');
    deletedTopicIds.push(leftover.topicId);
  }

  // Read everything back without faults and check the invariants.
  const seen = new Map<string, string>();
  for (const topic of TOPICS) {
    for (let partition = 0; partition < topic.partitions; partition++) {
      const range = await clean.log.offsets(topic.name, partition);
      let offset = range.logStartOffset;
      while (offset < range.highWatermark) {
        const page = await clean.log.fetch({ topic: topic.name, partition, offset });
        for (const record of page.records) {
          const where = `${topic.name}/${partition}/${record.offset}`;
          if (record.offset !== offset)
            violations.push(
              `gap: expected offset ${offset} in ${topic.name}/${partition}, found ${record.offset}`,
            );
          offset = record.offset + 1;
          const value = record.value === null ? '' : text.decode(record.value);
          if (!sent.has(value)) violations.push(`${where} holds ${value}, which nobody sent`);
          const duplicate = seen.get(value);
          if (duplicate !== undefined)
            violations.push(`${value} is in the log twice: ${duplicate} and ${where}`);
          seen.set(value, where);
        }
        if (page.records.length === 0) {
          violations.push(
            `${topic.name}/${partition}: no records at ${offset} below the high watermark ${range.highWatermark}`,
          );
          break;
        }
      }
      // Every index entry points at an object that exists.
      const id = (await clean.topics.requireTopic(topic.name)).topicId;
      const index = await storage.meta.query(partitionPk(id, partition), {
        from: FIRST_BATCH_SK,
        to: LAST_BATCH_SK,
      });
      for (const entry of index.items) {
        try {
          await storage.objects.get(entry.objectKey as string, { start: 0, end: 1 });
        } catch {
          violations.push(
            `index entry ${entry.pk}/${entry.sk} points at missing object ${String(entry.objectKey)}`,
          );
        }
      }
    }
  }
  // Committed offsets are only ever values some member sent.
  const group = await clean.groups.describe(GROUP);
  for (const p of group.partitions) {
    if (p.committedOffset !== null && !attemptedCommits.get(p.partition)?.has(p.committedOffset)) {
      violations.push(
        `group offset ${p.committedOffset} of chaos-a/${p.partition} was never sent by a member`,
      );
    }
  }

  const starts = new Map<string, number>();
  for (const topic of TOPICS) {
    for (let partition = 0; partition < topic.partitions; partition++) {
      starts.set(
        `${topic.name}/${partition}`,
        (await clean.log.offsets(topic.name, partition)).logStartOffset,
      );
    }
  }
  for (const [where, value] of acked) {
    const [name, partition, offset] = where.split('/');
    if (Number(offset) < (starts.get(`${name}/${partition}`) ?? 0)) continue; // retention removed it
    if (seen.get(value) !== where) {
      violations.push(
        `acknowledged ${value} at ${where} but the log has it at ${seen.get(value) ?? 'nowhere'}`,
      );
    }
  }

  // A final janitor far in the future, past every window: compaction, GC, deleted-topic clean-up.
  const future = new ManualClock(Date.now() + 24 * 60 * 60 * 1000);
  // The same owner: its leases, even those a faulty release left behind, are its own to take back.
  const finalJanitor = createServices(storage, future, {
    janitor: { owner: JANITOR, compactAfterMs: 0, graceMs: 0 },
  }).janitor;
  // A run cleans at most 100 deleted topics; the churn leaves more. Run until all are gone.
  for (let run = 0; run < 50; run++) {
    await finalJanitor.runOnce();
    future.advance(10 * 60 * 1000);
    if ((await storage.meta.query(DELETED_TOPICS_PK, { limit: 1 })).items.length === 0) break;
  }
  await finalJanitor.runOnce();
  const referenced = new Set<string>();
  for (const topic of TOPICS) {
    const id = (await clean.topics.requireTopic(topic.name)).topicId;
    for (let partition = 0; partition < topic.partitions; partition++) {
      const index = await storage.meta.query(partitionPk(id, partition), {
        from: FIRST_BATCH_SK,
        to: LAST_BATCH_SK,
      });
      for (const entry of index.items) referenced.add(entry.objectKey as string);
    }
  }
  let startAfter: string | undefined;
  do {
    const page = await storage.objects.list('', { startAfter });
    for (const object of page.objects) {
      if (!referenced.has(object.key))
        violations.push(`object ${object.key} survived GC with nothing pointing at it`);
    }
    startAfter = page.next;
  } while (startAfter !== undefined);
  for (const id of deletedTopicIds) {
    for (const partition of [0, 1]) {
      if ((await storage.meta.query(partitionPk(id, partition), { limit: 1 })).items.length > 0) {
        violations.push(`deleted topic ${id} still has items in partition ${partition}`);
      }
    }
  }
  await storage.close();
  return {
    seed: options.seed,
    operations,
    faults: totalFaults(plan),
    faultsByKind: plan.injected,
    acknowledged: acked.size,
    deletedTopics: deletedTopicIds.length,
    violations,
  };
}
