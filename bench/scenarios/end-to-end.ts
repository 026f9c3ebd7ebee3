/**
 * End-to-end latency: a consumer long-polls one partition (binary fetch, max_wait_ms) while an SDK
 * producer sends one small record at a time (`lingerMs: 0`: each `send` goes out at once instead of
 * waiting 5 ms for company). Before each send the producer waits until the previous record
 * arrived plus a short random pause, so the consumer is parked in its long poll and the measurement
 * is of the wake-up path, not of a fetch that happened to find data.
 *
 * Reported: send→receive (the producer starts the request → the consumer has the record), and
 * ack→receive (the producer has its acknowledgement → the consumer has the record). The latter may be
 * negative: the consumer can see a committed record before the producer's HTTP response arrives.
 */
import type { Harness } from '../harness.ts';
import type { BenchPlan } from '../plan.ts';
import { type LatencySummary, round, sleep, summarize } from '../stats.ts';
import { freshTopic, payloadOf } from './produce.ts';

export interface EndToEndResult {
  messages: number;
  recordBytes: number;
  sendToReceive: LatencySummary;
  ackToReceive: { p50Ms: number; p99Ms: number; minMs: number };
  produceAck: LatencySummary;
  /** Fetch responses that came back empty (long poll expired); should be 0. */
  emptyPolls: number;
}

const LONG_POLL_MS = 5_000;

export async function runEndToEnd(harness: Harness, plan: BenchPlan): Promise<EndToEndResult> {
  const { messages, recordBytes } = plan.endToEnd;
  const topic = freshTopic('e2e');
  await harness.client.createTopic(topic, 1);
  const producer = harness.client.producer({ lingerMs: 0, retry: { retries: 0 } });
  const message = { value: payloadOf(recordBytes), partition: 0 };

  const receivedAt: number[] = [];
  const waiters = new Map<number, () => void>();
  let emptyPolls = 0;
  let stop = false;
  const consumer = (async () => {
    let offset = 0;
    while (!stop && offset < messages) {
      const result = await harness.client.fetchBatches(topic, 0, offset, {
        maxBytes: 64 * 1024,
        maxWaitMs: LONG_POLL_MS,
      });
      const now = performance.now();
      if (result.bytes === 0) {
        emptyPolls++;
        continue;
      }
      for (let o = offset; o < result.nextOffset; o++) {
        receivedAt[o] = now;
        waiters.get(o)?.();
        waiters.delete(o);
      }
      offset = result.nextOffset;
    }
  })();
  const arrival = (offset: number) =>
    receivedAt[offset] !== undefined
      ? Promise.resolve()
      : new Promise<void>((resolve) => waiters.set(offset, resolve));

  const sendToReceive: number[] = [];
  const ackToReceive: number[] = [];
  const acks: number[] = [];
  try {
    for (let i = 0; i < messages; i++) {
      await sleep(2 + Math.random() * 8);
      const sent = performance.now();
      await producer.send({ topic, messages: [message] });
      const acked = performance.now();
      acks.push(acked - sent);
      await arrival(i);
      const received = receivedAt[i] as number;
      sendToReceive.push(received - sent);
      ackToReceive.push(received - acked);
    }
  } finally {
    stop = true;
    await consumer;
  }
  const sorted = [...ackToReceive].sort((a, b) => a - b);
  const result: EndToEndResult = {
    messages,
    recordBytes,
    sendToReceive: summarize(sendToReceive),
    ackToReceive: {
      p50Ms: round(summarize(ackToReceive).p50Ms),
      p99Ms: round(summarize(ackToReceive).p99Ms),
      minMs: round(sorted[0] ?? Number.NaN),
    },
    produceAck: summarize(acks),
    emptyPolls,
  };
  harness.progress(
    `end to end: send→receive p50 ${result.sendToReceive.p50Ms} ms, p99 ${result.sendToReceive.p99Ms} ms; ack→receive p50 ${result.ackToReceive.p50Ms} ms`,
  );
  return result;
}
