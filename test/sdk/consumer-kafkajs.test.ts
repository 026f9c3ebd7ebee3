/**
 * The consumer as KafkaJS users expect it, against a real local server: pause and seek before the
 * partition is assigned (queued until it is), `paused()`, the `eachBatch` payload's `heartbeat`,
 * `pause`, `uncommittedOffsets` and `isStale`, `stop()` then `run()` again, and a RegExp subscription.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsumerCrashEvent, Streambed, StreambedError } from '../../client/index.ts';
import { type LocalServer, startLocalServer } from '../../lambdas/runtime/local-server.ts';
import { waitFor } from '../support/wait-for.ts';

let server: LocalServer;
let client: Streambed;
beforeAll(async () => {
  server = await startLocalServer({ port: 0, memory: true });
  client = new Streambed({ url: server.url, logLevel: 0 });
});
afterAll(async () => server.close());

/** Creates a topic and writes `count` values to each partition (`p<partition>-<n>`). */
async function topicWith(topic: string, partitions: number, count: number) {
  await client.admin().createTopic({ topic, numPartitions: partitions });
  const producer = client.producer({ lingerMs: 0 });
  for (let partition = 0; partition < partitions; partition++) {
    const messages = Array.from({ length: count }, (_, n) => ({ value: `p${partition}-${n}`, partition }));
    await producer.send({ topic, messages });
  }
  await producer.disconnect();
}

async function produce(topic: string, partition: number, values: string[]) {
  const producer = client.producer({ lingerMs: 0 });
  await producer.send({ topic, messages: values.map((value) => ({ value, partition })) });
  await producer.disconnect();
}

const quick = { heartbeatIntervalMs: 200, retry: { retries: 2, initialRetryTimeMs: 1, maxRetryTimeMs: 5 } };

describe('consumer pause, seek and paused() before assignment', () => {
  it('pause before run delivers nothing from the paused partition until resume', async () => {
    // Prepare
    await topicWith('pause-early', 2, 20);
    const consumer = client.consumer({ groupId: 'pause-early', ...quick });
    const seen: string[] = [];
    await consumer.subscribe({ topic: 'pause-early', fromBeginning: true });
    // Act
    consumer.pause([{ topic: 'pause-early', partitions: [0] }]);
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(String(message.value)) });
    await waitFor(() => seen.length === 20, 10_000, 'partition 1');
    // More for partition 1, so partition 0's loop has gone round many times while paused.
    await produce('pause-early', 1, ['p1-late']);
    await waitFor(() => seen.includes('p1-late'), 10_000, 'the late record');
    const beforeResume = seen.filter((v) => v.startsWith('p0-'));
    consumer.resume([{ topic: 'pause-early', partitions: [0] }]);
    await waitFor(() => seen.length === 41, 10_000, 'partition 0 after resume');
    await consumer.disconnect();
    // Assess
    expect(beforeResume).toEqual([]);
    expect(seen.filter((v) => v.startsWith('p0-'))).toEqual(Array.from({ length: 20 }, (_, n) => `p0-${n}`));
  });

  it('a seek before the partition is assigned applies once it is', async () => {
    // Prepare
    await topicWith('seek-early', 1, 6);
    const consumer = client.consumer({ groupId: 'seek-early', ...quick });
    const offsets: number[] = [];
    await consumer.subscribe({ topic: 'seek-early', fromBeginning: true });
    // Act
    consumer.seek({ topic: 'seek-early', partition: 0, offset: 4 });
    await consumer.run({ eachMessage: async ({ message }) => void offsets.push(message.offset) });
    await waitFor(() => offsets.length === 2, 10_000, 'offsets 4 and 5');
    await consumer.disconnect();
    // Assess
    expect(offsets).toEqual([4, 5]);
  });

  it('refuses a seek, pause or resume that names no valid partition, and changes nothing', async () => {
    const consumer = client.consumer({ groupId: 'bad-args', ...quick });
    const code = (act: () => void) => {
      try {
        act();
      } catch (error) {
        return error instanceof StreambedError ? `${error.code}: ${error.message}` : String(error);
      }
      return 'no error';
    };
    expect(code(() => consumer.seek({ topic: 't', partition: 0, offset: -3 }))).toMatch(
      /^INVALID_REQUEST: .*offset -3/,
    );
    expect(code(() => consumer.seek({ topic: '', partition: 0, offset: 1 }))).toMatch(
      /^INVALID_REQUEST: .*topic/,
    );
    expect(
      code(() =>
        consumer.pause([
          { topic: 't', partitions: [0] },
          { topic: 'u', partitions: [-1] },
        ]),
      ),
    ).toMatch(/^INVALID_REQUEST: .*-1/);
    expect(consumer.paused()).toEqual([]);
  });

  it('paused() lists paused partitions; a whole paused topic as the partitions it has assigned', async () => {
    // Prepare
    await topicWith('paused-a', 2, 1);
    await topicWith('paused-b', 2, 1);
    const consumer = client.consumer({ groupId: 'paused-list', ...quick });
    await consumer.subscribe({ topics: ['paused-a', 'paused-b'], fromBeginning: true });
    // Act
    consumer.pause([{ topic: 'paused-a', partitions: [1] }, { topic: 'paused-b' }]);
    const beforeRun = consumer.paused();
    await consumer.run({ eachMessage: async () => {} });
    const running = consumer.paused();
    consumer.resume([{ topic: 'paused-b', partitions: [0] }]);
    const partlyResumed = consumer.paused();
    consumer.resume([{ topic: 'paused-a' }, { topic: 'paused-b' }]);
    const resumed = consumer.paused();
    await consumer.disconnect();
    // Assess
    expect(beforeRun).toEqual([{ topic: 'paused-a', partitions: [1] }]);
    expect(running).toEqual([
      { topic: 'paused-a', partitions: [1] },
      { topic: 'paused-b', partitions: [0, 1] },
    ]);
    expect(partlyResumed).toEqual([
      { topic: 'paused-a', partitions: [1] },
      { topic: 'paused-b', partitions: [1] },
    ]);
    expect(resumed).toEqual([]);
  });
});

describe('the eachBatch payload', () => {
  it('heartbeat(), uncommittedOffsets() and isStale() after a seek work inside a batch', async () => {
    // Prepare
    await topicWith('batch-payload', 1, 4);
    const consumer = client.consumer({ groupId: 'batch-payload', ...quick });
    const calls: { first: number; uncommitted: unknown; staleBefore: boolean; staleAfter: boolean }[] = [];
    await consumer.subscribe({ topic: 'batch-payload', fromBeginning: true });
    // Act: each batch resolves its first message; the first then seeks back to 0, which makes the rest
    // of it stale, so the next batch starts at 0 again
    await consumer.run({
      eachBatch: async ({ batch, heartbeat, resolveOffset, uncommittedOffsets, isStale }) => {
        await heartbeat();
        const first = batch.messages[0]!.offset;
        resolveOffset(first);
        const staleBefore = isStale();
        const uncommitted = uncommittedOffsets();
        if (calls.length === 0) consumer.seek({ topic: 'batch-payload', partition: 0, offset: 0 });
        calls.push({ first, uncommitted, staleBefore, staleAfter: isStale() });
      },
    });
    await waitFor(() => calls.length >= 2, 10_000, 'the batch after the seek');
    await consumer.disconnect();
    // Assess
    expect(calls[0]).toEqual({
      first: 0,
      uncommitted: { topics: [{ topic: 'batch-payload', partitions: [{ partition: 0, offset: 1 }] }] },
      staleBefore: false,
      staleAfter: true,
    });
    expect(calls[1]!.first).toBe(0);
    expect(calls[1]!.staleAfter).toBe(false);
  });

  it('pause() inside a batch stops the partition and the function it returns resumes it', async () => {
    // Prepare
    await topicWith('batch-pause', 1, 3);
    const consumer = client.consumer({ groupId: 'batch-pause', ...quick });
    const batches: number[][] = [];
    let resume: (() => void) | undefined;
    await consumer.subscribe({ topic: 'batch-pause', fromBeginning: true });
    // Act: resolve the first message only, then pause
    await consumer.run({
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, pause }) => {
        batches.push(batch.messages.map((m) => m.offset));
        resolveOffset(batch.messages[0]!.offset);
        if (batches.length === 1) resume = pause();
      },
    });
    await waitFor(() => resume !== undefined, 10_000, 'the pause');
    const paused = consumer.paused();
    resume?.();
    await waitFor(() => batches.length === 3, 10_000, 'the batches after resume');
    await consumer.disconnect();
    // Assess
    expect(paused).toEqual([{ topic: 'batch-pause', partitions: [0] }]);
    expect(batches).toEqual([[0, 1, 2], [1, 2], [2]]);
  });

  it('eachBatchAutoResolve: true resolves the whole batch on return, as KafkaJS; unset hands the rest over again', async () => {
    // Prepare
    await topicWith('auto-resolve', 1, 3);
    const run = async (groupId: string, eachBatchAutoResolve: boolean | undefined) => {
      const consumer = client.consumer({ groupId, ...quick, autoCommitIntervalMs: 0 });
      const batches: number[][] = [];
      await consumer.subscribe({ topic: 'auto-resolve', fromBeginning: true });
      await consumer.run({
        eachBatchAutoResolve,
        eachBatch: async ({ batch, resolveOffset }) => {
          batches.push(batch.messages.map((m) => m.offset));
          resolveOffset(batch.messages[0]!.offset);
        },
      });
      await waitFor(
        async () => (await client.admin().describeGroup(groupId)).partitions[0]?.committedOffset === 3,
        10_000,
        'everything committed',
      );
      await consumer.disconnect();
      return batches;
    };
    // Act
    const kafkajs = await run('auto-resolve-true', true);
    const unset = await run('auto-resolve-unset', undefined);
    // Assess
    expect(kafkajs).toEqual([[0, 1, 2]]);
    expect(unset).toEqual([[0, 1, 2], [1, 2], [2]]);
  });

  it('a batch handler that always throws (a TypeError too) ends in a crash after bounded retries', async () => {
    // Prepare
    await topicWith('batch-throws', 1, 2);
    const consumer = client.consumer({ groupId: 'batch-throws', ...quick });
    const crashes: ConsumerCrashEvent[] = [];
    consumer.on(consumer.events.CRASH, (event) => void crashes.push(event));
    let attempts = 0;
    await consumer.subscribe({ topic: 'batch-throws', fromBeginning: true });
    // Act
    await consumer.run({
      eachBatch: async (payload) => {
        attempts++;
        (payload as unknown as { notAFunction: () => void }).notAFunction();
      },
    });
    await waitFor(() => crashes.length === 1, 10_000, 'the crash');
    await consumer.disconnect();
    // Assess
    expect(attempts).toBe(quick.retry.retries + 1);
    expect(crashes[0]!.payload.error).toBeInstanceOf(TypeError);
    const group = await client.admin().describeGroup('batch-throws');
    expect(group.partitions[0]).toMatchObject({ committedOffset: 0, owner: null });
  });
});

describe('consumer lifecycle and subscriptions', () => {
  it("asks retry.restartOnFailure, KafkaJS's place for it, after a crash", async () => {
    // Prepare: the handler fails for one round of retries, then succeeds
    await topicWith('restart-retry', 1, 1);
    const asked: unknown[] = [];
    const consumer = client.consumer({
      groupId: 'restart-retry',
      ...quick,
      retry: {
        ...quick.retry,
        restartOnFailure: async (error) => {
          asked.push(error);
          return true;
        },
      },
    });
    const crashes: ConsumerCrashEvent[] = [];
    consumer.on(consumer.events.CRASH, (event) => void crashes.push(event));
    let attempts = 0;
    let done = false;
    await consumer.subscribe({ topic: 'restart-retry', fromBeginning: true });
    // Act
    await consumer.run({
      eachMessage: async () => {
        if (++attempts <= quick.retry.retries + 1) throw new Error('not yet');
        done = true;
      },
    });
    await waitFor(() => done, 10_000, 'the record after the restart');
    await consumer.disconnect();
    // Assess
    expect(asked).toHaveLength(1);
    expect(crashes.map((c) => c.payload.restart)).toEqual([true]);
  });

  it('stop() leaves the group; run() again carries on from the committed offset', async () => {
    // Prepare
    await topicWith('stop-run', 1, 3);
    const consumer = client.consumer({ groupId: 'stop-run', ...quick });
    const seen: string[] = [];
    await consumer.subscribe({ topic: 'stop-run', fromBeginning: true });
    const eachMessage = async ({ message }: { message: { value: Buffer | null } }) =>
      void seen.push(String(message.value));
    // Act
    await consumer.run({ eachMessage });
    await waitFor(() => seen.length === 3, 10_000, 'the first three');
    await consumer.stop();
    const stopped = await client.admin().describeGroup('stop-run');
    await produce('stop-run', 0, ['late-1', 'late-2']);
    await consumer.run({ eachMessage });
    await waitFor(() => seen.length === 5, 10_000, 'the two produced while stopped');
    await consumer.disconnect();
    // Assess
    expect(stopped.members).toEqual([]);
    expect(stopped.partitions[0]).toMatchObject({ committedOffset: 3 });
    expect(seen).toEqual(['p0-0', 'p0-1', 'p0-2', 'late-1', 'late-2']);
  });

  it('a RegExp subscription picks the topics whose names match', async () => {
    // Prepare
    await topicWith('rx-orders', 1, 1);
    await topicWith('rx-refunds', 1, 1);
    await topicWith('not-rx', 1, 1);
    const consumer = client.consumer({ groupId: 'rx-group', ...quick });
    const topics = new Set<string>();
    // Act
    await consumer.subscribe({ topics: [/^rx-/], fromBeginning: true });
    await consumer.run({ eachMessage: async ({ topic }) => void topics.add(topic) });
    await waitFor(() => topics.size === 2, 10_000, 'both matching topics');
    const assigned = consumer.assignment().map((tp) => tp.topic);
    await consumer.disconnect();
    // Assess
    expect([...topics].sort()).toEqual(['rx-orders', 'rx-refunds']);
    expect(assigned.sort()).toEqual(['rx-orders', 'rx-refunds']);
  });

  it("takes KafkaJS's option names too: sessionTimeout, heartbeatInterval, run({ autoCommit })", async () => {
    // Prepare
    await topicWith('kafkajs-names', 1, 3);
    // Act: a heartbeat interval not under the session timeout is refused, naming both
    const refused = (() => {
      try {
        client.consumer({ groupId: 'kafkajs-names', sessionTimeout: 1_000, heartbeatInterval: 1_000 });
      } catch (error) {
        return error;
      }
    })();
    const consumer = client.consumer({
      groupId: 'kafkajs-names',
      sessionTimeout: 5_000,
      heartbeatInterval: 200,
    });
    const seen: number[] = [];
    await consumer.subscribe({ topic: 'kafkajs-names', fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => void seen.push(message.offset),
    });
    await waitFor(() => seen.length === 3, 10_000, 'the three records');
    await consumer.disconnect();
    // Assess: nothing committed with run({ autoCommit: false })
    expect(refused).toBeInstanceOf(StreambedError);
    expect((refused as StreambedError).message).toMatch(/heartbeatInterval 1000 .*sessionTimeout 1000/);
    const group = await client.admin().describeGroup('kafkajs-names');
    expect(group.partitions[0]).toMatchObject({ committedOffset: null });
  });
});

describe('at-least-once at the edges', () => {
  it('pausing a whole topic, then resuming one partition, keeps the others paused (before assignment too)', async () => {
    // Prepare
    await topicWith('pause-all-resume-one', 2, 3);
    const consumer = client.consumer({ groupId: 'pause-all-resume-one', ...quick });
    const seen: string[] = [];
    await consumer.subscribe({ topic: 'pause-all-resume-one', fromBeginning: true });
    // Act
    consumer.pause([{ topic: 'pause-all-resume-one' }]);
    consumer.resume([{ topic: 'pause-all-resume-one', partitions: [0] }]);
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(String(message.value)) });
    const paused = consumer.paused();
    await waitFor(() => seen.length >= 3, 10_000, 'partition 0');
    await consumer.disconnect();
    // Assess
    expect(paused).toEqual([{ topic: 'pause-all-resume-one', partitions: [1] }]);
    expect(seen.filter((v) => v.startsWith('p1-'))).toEqual([]);
  });

  it('resolveOffset of an offset outside the batch is refused and moves nothing', async () => {
    // Prepare
    await topicWith('resolve-outside', 1, 3);
    const consumer = client.consumer({ groupId: 'resolve-outside', ...quick, autoCommitIntervalMs: 0 });
    const refusals: string[] = [];
    await consumer.subscribe({ topic: 'resolve-outside', fromBeginning: true });
    // Act: resolving past the end of the batch would commit past messages never handed over
    await consumer.run({
      eachBatch: async ({ batch, resolveOffset }) => {
        for (const offset of [batch.lastOffset() + 10, -1, 'x']) {
          try {
            resolveOffset(offset);
          } catch (error) {
            if (error instanceof StreambedError) refusals.push(`${error.code}: ${error.message}`);
          }
        }
      },
    });
    await waitFor(
      async () =>
        ((await client.admin().describeGroup('resolve-outside')).partitions[0]?.committedOffset ?? 0) >= 3,
      10_000,
      'the batch committed',
    );
    await consumer.disconnect();
    // Assess: the batch was resolved on return (nothing else was), never past it
    const group = await client.admin().describeGroup('resolve-outside');
    expect(group.partitions[0]).toMatchObject({ committedOffset: 3 });
    expect(refusals).toHaveLength(3);
    expect(refusals[0]).toMatch(/^INVALID_REQUEST: .*offset 12 .*0\.\.2/);
  });
});

describe('stop() and seek', () => {
  it('stop() called from inside eachMessage returns, and commits nothing past the message in flight', async () => {
    // Prepare
    await topicWith('stop-inside', 1, 3);
    const consumer = client.consumer({ groupId: 'stop-inside', ...quick });
    let stopped = false;
    await consumer.subscribe({ topic: 'stop-inside', fromBeginning: true });
    // Act
    await consumer.run({
      eachMessage: async () => {
        await consumer.stop();
        stopped = true;
      },
    });
    await waitFor(() => stopped, 10_000, 'stop() to return inside the handler');
    // Assess
    const group = await client.admin().describeGroup('stop-inside');
    expect(group.members).toEqual([]);
    expect(group.partitions[0]!.committedOffset ?? 0).toBe(0);
  });

  it('a seek not applied yet when the consumer stops applies when it runs again', async () => {
    // Prepare
    await topicWith('seek-stop-run', 1, 3);
    const consumer = client.consumer({ groupId: 'seek-stop-run', ...quick });
    const seen: number[] = [];
    const eachMessage = async ({ message }: { message: { offset: number } }) =>
      void seen.push(message.offset);
    await consumer.subscribe({ topic: 'seek-stop-run', fromBeginning: true });
    await consumer.run({ eachMessage });
    await waitFor(() => seen.length === 3, 10_000, 'the three records');
    // Act
    consumer.seek({ topic: 'seek-stop-run', partition: 0, offset: 1 });
    await consumer.stop();
    await consumer.run({ eachMessage });
    await waitFor(() => seen.length === 5, 10_000, 'offsets 1 and 2 again');
    await consumer.disconnect();
    // Assess
    expect(seen).toEqual([0, 1, 2, 1, 2]);
  });
});

describe('rebalance callbacks that throw', () => {
  it('an onPartitionsAssigned that throws is reported, and the consumer still consumes and heartbeats', async () => {
    // Prepare
    await topicWith('assigned-throws', 1, 2);
    const errors: unknown[] = [];
    const consumer = client.consumer({
      groupId: 'assigned-throws',
      ...quick,
      onPartitionsAssigned: () => {
        throw new Error('callback broke');
      },
      onError: (error) => void errors.push(error),
    });
    let heartbeats = 0;
    consumer.on(consumer.events.HEARTBEAT, () => void heartbeats++);
    const seen: string[] = [];
    await consumer.subscribe({ topic: 'assigned-throws', fromBeginning: true });
    // Act
    const ran = await consumer
      .run({ eachMessage: async ({ message }) => void seen.push(String(message.value)) })
      .then(
        () => 'ran',
        (error) => String(error),
      );
    await waitFor(() => seen.length === 2 && heartbeats >= 2, 10_000, 'the records and heartbeats');
    await consumer.disconnect();
    // Assess
    expect(ran).toBe('ran');
    expect(errors.map(String)).toContain('Error: callback broke');
  });
});

describe('commitOffsets input', () => {
  it("takes KafkaJS's numeric strings, and refuses a list with a bad offset before committing any of it", async () => {
    // Prepare
    await topicWith('commit-input', 2, 3);
    const consumer = client.consumer({ groupId: 'commit-input', ...quick });
    const seen: string[] = [];
    await consumer.subscribe({ topic: 'commit-input', fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => void seen.push(String(message.value)),
    });
    await waitFor(() => seen.length === 6, 10_000, 'the records');
    // Act
    const refused = await consumer
      .commitOffsets([
        { topic: 'commit-input', partition: 0, offset: 1 },
        { topic: 'commit-input', partition: 1, offset: -1 },
      ])
      .then(
        () => 'no error',
        (error) => (error instanceof StreambedError ? `${error.code}: ${error.message}` : String(error)),
      );
    const afterRefusal = (await client.admin().describeGroup('commit-input')).partitions.map(
      (p) => p.committedOffset,
    );
    await consumer.commitOffsets([{ topic: 'commit-input', partition: 0, offset: '2' }]);
    const afterString = (await client.admin().describeGroup('commit-input')).partitions.map(
      (p) => p.committedOffset,
    );
    await consumer.disconnect();
    // Assess
    expect(refused).toMatch(/^INVALID_REQUEST: .*commit-input\/1.*offset -1/);
    expect(afterRefusal).toEqual([null, null]);
    expect(afterString[0]).toBe(2);
  });
});

describe('pause then throw', () => {
  it("a handler that pauses its partition and throws (KafkaJS's throttling pattern) is not retried while paused: the message comes again after resume", async () => {
    // Prepare
    await topicWith('pause-throw', 1, 2);
    const consumer = client.consumer({ groupId: 'pause-throw', ...quick });
    let crashes = 0;
    consumer.on(consumer.events.CRASH, () => void crashes++);
    let heartbeats = 0;
    consumer.on(consumer.events.HEARTBEAT, () => void heartbeats++);
    const attempts: number[] = [];
    let resume: (() => void) | undefined;
    await consumer.subscribe({ topic: 'pause-throw', fromBeginning: true });
    // Act: the first attempt pauses and throws; any attempt while paused throws too
    await consumer.run({
      eachMessage: async ({ message, pause }) => {
        attempts.push(message.offset);
        if (attempts.length === 1) resume = pause();
        if (consumer.paused().length > 0) throw new Error('throttled');
      },
    });
    await waitFor(() => resume !== undefined, 10_000, 'the pause');
    const beats = heartbeats;
    await waitFor(() => heartbeats >= beats + 2 || crashes > 0, 10_000, 'two heartbeats while paused');
    resume?.();
    await waitFor(() => attempts.includes(1) || crashes > 0, 10_000, 'offset 1 or a crash');
    await consumer.disconnect();
    // Assess
    expect(crashes).toBe(0);
    expect(attempts).toEqual([0, 0, 1]);
  });
});
