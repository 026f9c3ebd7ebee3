import { describe, expect, it } from 'vitest';
import { MAX_PARTITIONS } from '../../client/wire/limits.ts';
import { StreamError } from '../../lambdas/core/errors.ts';
import { DEFAULT_TOPIC_CONFIG } from '../../lambdas/core/topics.ts';
import { logFixture, record } from '../support/log-fixture.ts';

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(StreamError);
    return (error as StreamError).code;
  }
  throw new Error('expected a failure');
}

describe('topics', () => {
  it('creates, lists and describes a topic with default config and empty partitions', async () => {
    // Prepare
    const { topics } = logFixture();
    // Act
    const created = await topics.createTopic('orders', 3, { 'retention.ms': '60000' });
    await topics.createTopic('audit.log-v1_x', 1);
    // Assess
    expect(created).toMatchObject({ name: 'orders', partitions: 3 });
    expect(created.config).toEqual({ ...DEFAULT_TOPIC_CONFIG, 'retention.ms': 60000 });
    expect(await topics.listTopics()).toEqual(['audit.log-v1_x', 'orders']);
    const details = await topics.describeTopic('orders');
    expect(details.partitionStates).toEqual(
      [0, 1, 2].map((partition) => ({
        partition,
        logStartOffset: 0,
        highWatermark: 0,
        batches: 0,
        bytes: 0,
      })),
    );
  });

  it('refuses a second topic of the same name', async () => {
    const { topics } = logFixture();
    await topics.createTopic('orders', 1);
    expect(await code(topics.createTopic('orders', 2))).toBe('TOPIC_ALREADY_EXISTS');
    expect((await topics.describeTopic('orders')).partitions).toBe(1);
  });

  it('refuses bad names, partition counts and configs, creating nothing', async () => {
    const { topics } = logFixture();
    const bad: [string, number, Record<string, unknown>?][] = [
      ['', 1],
      ['.', 1],
      ['..', 1],
      ['a/b', 1],
      ['x'.repeat(250), 1],
      ['ok', 0],
      ['ok', 1.5],
      ['ok', MAX_PARTITIONS + 1],
      ['ok', 1, { 'unknown.key': 1 }],
      ['ok', 1, { 'retention.ms': 'soon' }],
      ['ok', 1, { 'retention.ms': -2 }],
      ['ok', 1, { 'max.message.bytes': 0 }],
      ['ok', 1, { 'cleanup.policy': 'compact' }],
    ];
    for (const [name, partitions, config] of bad) {
      expect(await code(topics.createTopic(name, partitions, config))).toBe('INVALID_REQUEST');
    }
    expect(await topics.listTopics()).toEqual([]);
  });

  it('alters config and raises partitions, never lowers them', async () => {
    const { topics } = logFixture();
    await topics.createTopic('orders', 2);
    const altered = await topics.alterTopic('orders', { config: { 'retention.bytes': 1000 }, partitions: 4 });
    expect(altered.partitions).toBe(4);
    expect(altered.config['retention.bytes']).toBe(1000);
    expect(await code(topics.alterTopic('orders', { partitions: 3 }))).toBe('INVALID_REQUEST');
    expect(await code(topics.alterTopic('orders', { config: { nope: 1 } }))).toBe('INVALID_REQUEST');
    const details = await topics.describeTopic('orders');
    expect(details.partitions).toBe(4);
    expect(details.config['retention.bytes']).toBe(1000);
    expect(await code(topics.alterTopic('missing', { partitions: 3 }))).toBe('TOPIC_NOT_FOUND');
  });

  it('deletes a topic and frees its name at once; the new topic starts empty', async () => {
    // Prepare
    const { topics, log } = logFixture();
    const first = await topics.createTopic('orders', 1);
    await log.produce({ topic: 'orders', records: [record('a'), record('b')] });
    // Act
    await topics.deleteTopic('orders');
    const second = await topics.createTopic('orders', 1);
    // Assess
    expect(second.topicId).not.toBe(first.topicId);
    expect((await topics.describeTopic('orders')).partitionStates[0]?.highWatermark).toBe(0);
    expect(await code(topics.deleteTopic('missing'))).toBe('TOPIC_NOT_FOUND');
    expect(await code(topics.describeTopic('missing'))).toBe('TOPIC_NOT_FOUND');
  });
});
