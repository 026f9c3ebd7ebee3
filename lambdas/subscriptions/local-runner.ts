/**
 * Subscriptions in the local server (DESIGN §12 "Local"): the deliverer of deliverer.ts, run in the
 * server's process, woken by the commit notifier — no polling while nothing is produced.
 *
 * Wake-ups: a commit to a partition wakes every enabled subscription of its topic for that partition
 * (a topic id not seen before, as a re-created topic has, reads the subscriptions again);
 * a subscription created, changed or deleted wakes all of its partitions; start-up wakes every
 * partition of every enabled subscription once (records committed while the server was down, or
 * while a previous process was delivering when it died).
 *
 * Invariants:
 * - At most one run per (subscription, partition) in this process; a wake-up during a run makes the
 *   run go round once more when it ends, so no commit is missed between "caught up" and "released".
 * - The lease keeps runs of other processes on the same storage apart (`--backend aws`); a partition
 *   another process holds ('busy') is tried again after a lease's length, so a process that died
 *   holding it delays delivery by at most that much.
 * - On the embedded backend only one process opens the data, so the owner id is fixed: a restarted
 *   server takes back its own leases at once instead of waiting for them to expire.
 * - A storage fault ends the run; it is reported and the partition is woken again after a backoff.
 * - close() stops every run at its next step (the signal ends waits and in-flight requests), then
 *   waits for them: a run interrupted before its commit is delivered again after restart.
 */
import type { CommitNotifier } from '../core/commit-notifier.ts';
import type { GroupService } from '../core/groups.ts';
import { parsePartitionPk, partitionPk } from '../core/layout.ts';
import type { LogService } from '../core/log-types.ts';
import type { SchemaRegistryService } from '../core/schemas.ts';
import type { TopicServiceImpl } from '../core/topics.ts';
import type { Clock } from '../ports/clock.ts';
import {
  backoffDelay,
  DEFAULT_BACKOFF,
  type DelivererDeps,
  type DeliveryEvent,
  deliverPartition,
  type RunOutcome,
  schemaIdsKnownTo,
} from './deliverer.ts';
import type { StoredSubscription, SubscriptionService } from './subscriptions.ts';
import { createTargetCache, type Target } from './target.ts';
import { createUrlTarget } from './url-target.ts';

/** Locally a lease outlasts one URL call (30 s) with room to spare; a dead process holds it this long. */
export const LOCAL_LEASE_MS = 60_000;

export interface LocalRunnerDeps {
  subscriptions: SubscriptionService;
  groups: GroupService;
  log: LogService;
  topics: Pick<TopicServiceImpl, 'requireTopic'>;
  schemas: Pick<SchemaRegistryService, 'highestSchemaId'>;
  notifier: CommitNotifier;
  clock: Clock;
}

export interface LocalRunnerOptions {
  owner: string;
  leaseMs?: number;
  backoff?: { initialMs: number; maxMs: number };
  bootstrapServers?: string;
  /** Failures and dead letters (one line each); default stderr. */
  onEvent?: (event: DeliveryEvent) => void;
  /** Storage faults that ended a run; default stderr. */
  onError?: (error: unknown, where: string) => void;
  /** Tests: a URL target other than the default (loopback and private addresses allowed). */
  urlTarget?: (url: string) => Target;
}

export interface LocalRunner {
  /** Wakes every partition of every enabled subscription. */
  start(): Promise<void>;
  /** Wakes every partition of one subscription (after a create or change). */
  wakeSubscription(name: string): void;
  /** Resolves when no run is going (tests). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

interface Loop {
  running: Promise<void> | undefined;
  again: boolean;
}

const stderrEvent = (event: DeliveryEvent) => {
  if (event.type === 'delivered') return;
  process.stderr.write(
    `${JSON.stringify({ level: 'warn', message: `subscription ${event.type}`, ...event })}\n`,
  );
};

export function createLocalRunner(deps: LocalRunnerDeps, options: LocalRunnerOptions): LocalRunner {
  const abort = new AbortController();
  const loops = new Map<string, Loop>();
  /** Runs in a row that a storage fault ended, per loop key: their retry backs off. */
  const faults = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  const urlTargets = createTargetCache();
  const leaseMs = options.leaseMs ?? LOCAL_LEASE_MS;
  const onError =
    options.onError ??
    ((error: unknown, where: string) =>
      process.stderr.write(
        `subscriptions: ${where}: ${error instanceof Error ? error.message : String(error)}\n`,
      ));
  /** Enabled subscriptions by topic id, read again after every subscription change. */
  let byTopicId: Promise<Map<string, StoredSubscription[]>> | undefined;
  /**
   * Topic ids a fresh read found no subscription for. Any other unknown id is read again once: a
   * topic deleted and re-created under a subscription commits under a new id.
   */
  const unmatched = new Set<string>();

  const targetFor = (subscription: StoredSubscription): Target => {
    const target = subscription.target;
    if (!('url' in target)) {
      throw new Error(`subscription ${subscription.name}: only URL targets are delivered locally`);
    }
    if (options.urlTarget !== undefined) return options.urlTarget(target.url);
    return urlTargets.get(target.url, () => createUrlTarget(target.url, { allowPrivate: true }));
  };

  const delivererDeps: DelivererDeps = {
    subscriptions: deps.subscriptions,
    groups: deps.groups,
    log: deps.log,
    topics: deps.topics,
    clock: deps.clock,
    targetFor,
    knownSchemaIds: schemaIdsKnownTo(deps.schemas, deps.clock),
    onEvent: options.onEvent ?? stderrEvent,
    async waitForRecords(topicId, partition, ms, signal) {
      const wake = deps.notifier.next(partitionPk(topicId, partition));
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => wake.cancel();
      try {
        await Promise.race([
          wake.promise,
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, ms);
            signal?.addEventListener('abort', () => resolve(), { once: true });
          }),
        ]);
      } finally {
        clearTimeout(timer);
        onAbort();
      }
    },
  };

  async function subscriptionsByTopicId(): Promise<Map<string, StoredSubscription[]>> {
    byTopicId ??= (async () => {
      const map = new Map<string, StoredSubscription[]>();
      for (const subscription of await deps.subscriptions.readAll()) {
        if (!subscription.enabled) continue;
        try {
          const { topicId } = await deps.topics.requireTopic(subscription.topic);
          map.set(topicId, [...(map.get(topicId) ?? []), subscription]);
        } catch {
          // A subscription whose topic is gone has nothing to deliver.
        }
      }
      return map;
    })();
    const pending = byTopicId;
    pending.catch(() => {
      if (byTopicId === pending) byTopicId = undefined;
    });
    return pending;
  }

  function later(ms: number, run: () => void): void {
    if (abort.signal.aborted) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      run();
    }, ms);
    timer.unref();
    timers.add(timer);
  }

  function wake(name: string, partition: number): void {
    if (abort.signal.aborted) return;
    const key = `${name}\u0000${partition}`;
    let loop = loops.get(key);
    if (loop === undefined) {
      loop = { running: undefined, again: false };
      loops.set(key, loop);
    }
    if (loop.running !== undefined) {
      loop.again = true;
      return;
    }
    const current = loop;
    current.running = (async () => {
      do {
        current.again = false;
        let outcome: RunOutcome;
        try {
          outcome = await deliverPartition(
            delivererDeps,
            {
              owner: options.owner,
              leaseMs,
              backoff: options.backoff ?? DEFAULT_BACKOFF,
              bootstrapServers: options.bootstrapServers,
            },
            name,
            partition,
            { signal: abort.signal },
          );
          faults.delete(key);
        } catch (error) {
          if (abort.signal.aborted) break;
          const failures = (faults.get(key) ?? 0) + 1;
          faults.set(key, failures);
          current.again = false;
          onError(error, `${name}/${partition}`);
          later(backoffDelay(failures, options.backoff ?? DEFAULT_BACKOFF), () => wake(name, partition));
          break;
        }
        if (outcome === 'busy' || outcome === 'lease-lost') later(leaseMs, () => wake(name, partition));
      } while (current.again && !abort.signal.aborted);
    })().finally(() => {
      current.running = undefined;
      if (!current.again) loops.delete(key);
      else wake(name, partition);
    });
  }

  async function wakeAll(subscription: StoredSubscription): Promise<void> {
    if (!subscription.enabled) return;
    let partitions: number;
    try {
      partitions = (await deps.topics.requireTopic(subscription.topic)).partitions;
    } catch {
      return;
    }
    for (let partition = 0; partition < partitions; partition++) wake(subscription.name, partition);
  }

  const unsubscribe = deps.notifier.onCommit((pk) => {
    const parsed = parsePartitionPk(pk);
    if (parsed === undefined) return;
    (async () => {
      let map = await subscriptionsByTopicId();
      if (!map.has(parsed.topicId) && !unmatched.has(parsed.topicId)) {
        byTopicId = undefined;
        map = await subscriptionsByTopicId();
        if (!map.has(parsed.topicId)) unmatched.add(parsed.topicId);
      }
      for (const subscription of map.get(parsed.topicId) ?? []) wake(subscription.name, parsed.partition);
    })().catch((error) => onError(error, 'reading subscriptions'));
  });

  return {
    async start() {
      for (const subscription of await deps.subscriptions.readAll()) await wakeAll(subscription);
    },
    wakeSubscription(name) {
      byTopicId = undefined;
      unmatched.clear();
      deps.subscriptions
        .read(name)
        .then((subscription) => (subscription === undefined ? undefined : wakeAll(subscription)))
        .catch((error) => onError(error, `waking ${name}`));
    },
    async idle() {
      while (loops.size > 0) await Promise.all([...loops.values()].map((loop) => loop.running));
    },
    async close() {
      abort.abort();
      unsubscribe();
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.all([...loops.values()].map((loop) => loop.running));
      urlTargets.close();
    },
  };
}
