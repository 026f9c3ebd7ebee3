/**
 * `npx tsx bench/producer-batching.ts [records]` — what the SDK producer's batching costs and saves:
 * records/s, produce requests and object PUTs per 10,000 records, for sends that arrive faster than
 * the server answers them. A server of its own process on the embedded backend (bench/harness.ts);
 * one-partition topics, 100-byte values. Three ways to send:
 *
 * - `concurrent, lingerMs 0`: every record its own `send`, all made at once (as a service handling
 *   many requests does);
 * - `concurrent, lingerMs 5`: the same with the default linger;
 * - `one send`: one `send` of three requests' worth of records (3 x MAX_RECORDS_PER_REQUEST).
 *
 * Prints one line per way and a JSON summary; the numbers are for comparing commits on one machine.
 */
import type { Producer } from '../client/producer.ts';
import { MAX_RECORDS_PER_REQUEST } from '../client/wire/limits.ts';
import { startHarness } from './harness.ts';
import { freshTopic, payloadOf } from './scenarios/produce.ts';

interface Way {
  name: string;
  lingerMs: number;
  /** Records sent, when not the command line's count. */
  records?: number;
  run(producer: Producer<Uint8Array>, topic: string, records: number): Promise<unknown>;
}

/** Every record its own `send`, all made before any is answered. */
const concurrentSends: Way['run'] = (producer, topic, records) =>
  Promise.all(
    Array.from({ length: records }, (_, i) =>
      producer.send({ topic, messages: [{ value: payloadOf(100, i), partition: 0 }] }),
    ),
  );

const ways: Way[] = [
  {
    name: 'concurrent, lingerMs 0',
    lingerMs: 0,
    run: concurrentSends,
  },
  {
    name: 'concurrent, lingerMs 5',
    lingerMs: 5,
    run: concurrentSends,
  },
  {
    name: 'one send',
    lingerMs: 5,
    records: 3 * MAX_RECORDS_PER_REQUEST,
    run: (producer, topic, records) =>
      producer.send({
        topic,
        messages: Array.from({ length: records }, (_, i) => ({ value: payloadOf(100, i), partition: 0 })),
      }),
  },
];

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 2_000);
  const harness = await startHarness('embedded');
  const results: Record<string, unknown>[] = [];
  try {
    for (const way of ways) {
      const records = way.records ?? count;
      const topic = freshTopic('batching');
      await harness.client.createTopic(topic, 1);
      const producer = harness.client.producer({ lingerMs: way.lingerMs });
      await harness.beginPhase();
      const started = performance.now();
      await way.run(producer, topic, records);
      await producer.flush();
      const seconds = (performance.now() - started) / 1000;
      const counts = await harness.endPhase();
      const per10k = (n: number) => Math.round((n * 10_000 * 10) / records) / 10;
      const result = {
        way: way.name,
        records,
        recordsPerSec: Math.round(records / seconds),
        requestsPer10k: per10k(counts.calls.length),
        objectPutsPer10k: per10k(counts.objects.puts),
      };
      results.push(result);
      process.stderr.write(
        `${way.name}: ${result.recordsPerSec} records/s, ${result.requestsPer10k} requests and ${result.objectPutsPer10k} object PUTs per 10k records\n`,
      );
      await harness.client.deleteCreatedTopics();
    }
  } finally {
    await harness.close();
  }
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
}

await main();
