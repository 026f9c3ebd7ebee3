/** The log's services on in-memory stores behind counting wrappers: the unit tests' world. */

import type { ProduceRecord } from '../../client/wire/binary.ts';
import { CountingMetaStore, CountingObjectStore } from '../../lambdas/adapters/counting-stores.ts';
import { MemoryMetaStore } from '../../lambdas/adapters/memory-meta-store.ts';
import { MemoryObjectStore } from '../../lambdas/adapters/memory-object-store.ts';
import { createCommitNotifier } from '../../lambdas/core/commit-notifier.ts';
import { createLogService } from '../../lambdas/core/log.ts';
import { createTopicService } from '../../lambdas/core/topics.ts';
import { type Clock, systemClock } from '../../lambdas/ports/clock.ts';
import type { MetaStore } from '../../lambdas/ports/meta-store.ts';
import type { ObjectStore } from '../../lambdas/ports/object-store.ts';

export function logFixture(options: { clock?: Clock; meta?: MetaStore; objects?: ObjectStore } = {}) {
  const clock = options.clock ?? systemClock;
  const meta = new CountingMetaStore(options.meta ?? new MemoryMetaStore(clock));
  const objects = new CountingObjectStore(options.objects ?? new MemoryObjectStore());
  const topics = createTopicService({ meta, clock });
  const log = createLogService({ meta, objects, clock, topics, notifier: createCommitNotifier() });
  return { clock, meta, objects, topics, log };
}

const utf8 = new TextEncoder();
const text = new TextDecoder();

/** A record from strings (null stays null). */
export function record(
  value: string | null,
  options: { key?: string; partition?: number; timestamp?: number; headers?: Record<string, string> } = {},
): ProduceRecord {
  const out: ProduceRecord = {
    key: options.key === undefined ? null : utf8.encode(options.key),
    value: value === null ? null : utf8.encode(value),
    headers: Object.entries(options.headers ?? {}).map(([key, v]) => ({ key, value: utf8.encode(v) })),
  };
  if (options.partition !== undefined) out.partition = options.partition;
  if (options.timestamp !== undefined) out.timestamp = options.timestamp;
  return out;
}

export const asText = (bytes: Uint8Array | null): string | null =>
  bytes === null ? null : text.decode(bytes);
