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
 * - no batch index entry points at a missing object.
 */
import { StreamError } from '../../lambdas/core/errors.ts';
import { FIRST_BATCH_SK, LAST_BATCH_SK, partitionPk } from '../../lambdas/core/layout.ts';
import type { ProduceRecord } from '../../lambdas/core/log-types.ts';
import { systemClock } from '../../lambdas/ports/clock.ts';
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
  violations: string[];
}

const TOPICS = [
  { name: 'chaos-a', partitions: 3 },
  { name: 'chaos-b', partitions: 2 },
];
const utf8 = new TextEncoder();
const text = new TextDecoder();
const RETRIES = 10;

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
  for (const topic of TOPICS) await clean.topics.createTopic(topic.name, topic.partitions);

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
      if (!(error instanceof StreamError) || !error.retriable)
        violations.push(`fetch failed: ${String(error)}`);
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
  ]);

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
  for (const [where, value] of acked) {
    if (seen.get(value) !== where)
      violations.push(
        `acknowledged ${value} at ${where} but the log has it at ${seen.get(value) ?? 'nowhere'}`,
      );
  }
  await storage.close();
  return {
    seed: options.seed,
    operations,
    faults: totalFaults(plan),
    faultsByKind: plan.injected,
    acknowledged: acked.size,
    violations,
  };
}
