/**
 * Fetch: stored record batches as they are (base offsets patched, nothing decoded), per partition
 * from the batch holding `fetchOffset`, within `partitionMaxBytes` and, across the response,
 * `maxBytes`, cut at batch boundaries — but at least one whole batch for the first partition with
 * data (KIP-74). A response with
 * fewer than `minBytes` waits up to `maxWaitMs` for a commit to any of its partitions (woken by the
 * commit notifier in this process; re-read at an interval otherwise).
 *
 * No transactions exist here, so the last stable offset is the high watermark and no batch is ever
 * aborted; fetch sessions (v7+) are not kept: every fetch is a full one (session id 0).
 */

import { LOG_OVERHEAD } from '../../../client/wire/record-batch.ts';
import { StreamError } from '../../core/errors.ts';
import { partitionPk } from '../../core/layout.ts';
import type { FetchBatchesResult } from '../../core/log-types.ts';
import { KafkaError, toKafkaError } from '../errors.ts';
import { handler, type KafkaContext } from '../handler.ts';
import { Fetch } from '../protocol/messages.ts';
import type { RequestOf } from '../protocol/schema.ts';

/** How often a waiting fetch re-reads its partitions when no commit in this process wakes it. */
const POLL_INTERVAL_MS = 200;
/** The longest a fetch waits, whatever it asks (clients ask for seconds; a request timeout is longer). */
const MAX_WAIT_MS = 30_000;

type FetchRequest = RequestOf<typeof Fetch>;
type Wanted = { topic: string; partition: number; offset: number; maxBytes: number };
type Outcome = { ok: FetchBatchesResult } | { error: StreamError | Error };

export const fetch = handler(Fetch, async (request, context, { signal }) => {
  const wanted = request.topics.flatMap(({ topic, partitions }) =>
    partitions.map((p) => ({
      topic,
      partition: p.partition,
      offset: p.fetchOffset,
      maxBytes: p.partitionMaxBytes,
    })),
  );
  const until = context.clock.now() + Math.min(Math.max(0, request.maxWaitMs), MAX_WAIT_MS);
  let outcomes = await readAll(context, wanted);
  while (bytesOf(outcomes) < Math.max(1, request.minBytes) && !outcomes.some(isError) && !signal.aborted) {
    const left = until - context.clock.now();
    if (left <= 0) break;
    await nextCommit(context, wanted, Math.min(left, POLL_INTERVAL_MS), signal);
    outcomes = await readAll(context, wanted);
  }
  return respond(request, outcomes);
});

function isError(outcome: Outcome): boolean {
  return 'error' in outcome;
}

function bytesOf(outcomes: Outcome[]): number {
  return outcomes.reduce((sum, outcome) => sum + ('ok' in outcome ? outcome.ok.batches.length : 0), 0);
}

function readAll(context: KafkaContext, wanted: Wanted[]): Promise<Outcome[]> {
  return Promise.all(
    wanted.map(({ topic, partition, offset, maxBytes }) =>
      context.services.log.fetchBatches({ topic, partition, offset, maxBytes: Math.max(1, maxBytes) }).then(
        (ok) => ({ ok }),
        (error: Error) => ({ error }),
      ),
    ),
  );
}

/** Resolves on a commit to one of the partitions, after `ms`, or when the connection closes. */
async function nextCommit(
  context: KafkaContext,
  wanted: Wanted[],
  ms: number,
  signal: AbortSignal,
): Promise<void> {
  const topicIds = new Map<string, string>();
  for (const { topic } of wanted) {
    if (topicIds.has(topic)) continue;
    const described = await context.services.topics.requireTopic(topic).catch(() => undefined);
    if (described !== undefined) topicIds.set(topic, described.topicId);
  }
  const waits = wanted.flatMap(({ topic, partition }) => {
    const topicId = topicIds.get(topic);
    return topicId === undefined ? [] : [context.services.notifier.next(partitionPk(topicId, partition))];
  });
  let onAbort: (() => void) | undefined;
  try {
    await Promise.race([
      context.clock.sleep(ms),
      ...waits.map((wait) => wait.promise),
      new Promise<void>((resolve) => {
        onAbort = () => resolve();
        signal.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } finally {
    for (const wait of waits) wait.cancel();
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
  }
}

/**
 * The leading whole batches of `batches` that fit in `budget` bytes; at least the first one where
 * nothing was served yet (KIP-74: a batch larger than the limit still makes progress).
 */
function fitting(batches: Uint8Array, budget: number, first: boolean): Uint8Array {
  if (batches.length <= budget) return batches;
  const view = new DataView(batches.buffer, batches.byteOffset, batches.length);
  let end = 0;
  while (end + LOG_OVERHEAD <= batches.length) {
    // A batch is its 12-byte log overhead (base offset, length) and `length` bytes after it.
    const next = end + LOG_OVERHEAD + view.getInt32(end + 8);
    if (next > budget && !(first && end === 0)) break;
    end = next;
  }
  return batches.subarray(0, end);
}

/**
 * The response in request order, within `maxBytes` at batch boundaries: the first partition with
 * records gets at least one batch, later ones what is left of the budget.
 */
function respond(request: FetchRequest, outcomes: Outcome[]) {
  let budget = Math.max(0, request.maxBytes);
  let served = false;
  let index = 0;
  const responses = request.topics.map(({ topic, partitions }) => ({
    topic,
    partitions: partitions.map(({ partition }) => {
      const outcome = outcomes[index++] as Outcome;
      if ('error' in outcome) return failed(partition, outcome.error);
      const { batches, highWatermark, logStartOffset } = outcome.ok;
      const kept = fitting(batches, budget, !served);
      const records = Buffer.from(kept.buffer, kept.byteOffset, kept.length);
      budget = Math.max(0, budget - records.length);
      served ||= records.length > 0;
      return {
        partitionIndex: partition,
        errorCode: KafkaError.NONE,
        highWatermark,
        lastStableOffset: highWatermark,
        logStartOffset,
        abortedTransactions: null,
        preferredReadReplica: -1,
        records,
      };
    }),
  }));
  return { throttleTimeMs: 0, errorCode: KafkaError.NONE, sessionId: 0, responses };
}

function failed(partition: number, error: Error) {
  const details = (error instanceof StreamError ? error.details : undefined) as
    | { highWatermark?: number; logStartOffset?: number }
    | undefined;
  return {
    partitionIndex: partition,
    errorCode: toKafkaError(error).errorCode,
    highWatermark: details?.highWatermark ?? -1,
    lastStableOffset: details?.highWatermark ?? -1,
    logStartOffset: details?.logStartOffset ?? -1,
    abortedTransactions: null,
    preferredReadReplica: -1,
    records: null,
  };
}
