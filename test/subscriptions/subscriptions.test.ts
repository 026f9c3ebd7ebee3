import { describe, expect, it } from 'vitest';
import { StreamError } from '../../lambdas/core/errors.ts';
import { subscriptionGroup } from '../../lambdas/core/groups.ts';
import { createSubscriptionService } from '../../lambdas/subscriptions/subscriptions.ts';
import { failure } from '../support/failure.ts';
import { subscriptionWorld } from './support.ts';

const valid = { name: 's', topic: 'events', target: { url: 'https://example.test/hook' } };

describe('subscription configuration', () => {
  it('fills the defaults of DESIGN §12 and lists, gets and describes what it created', async () => {
    const world = await subscriptionWorld({ partitions: 2 });
    const created = await world.subscriptions.create(valid);
    expect(created).toEqual({
      ...valid,
      batchSize: 100,
      maxBatchingWindowMs: 0,
      maxRetryAttempts: null,
      bisectBatchOnError: false,
      deadLetterTopic: null,
      startingPosition: 'latest',
      enabled: true,
      createdAt: world.clock.now(),
      updatedAt: world.clock.now(),
    });
    expect(await world.subscriptions.list()).toEqual([created]);
    expect(await world.subscriptions.get('s')).toEqual(created);
    const described = await world.subscriptions.describe('s');
    expect(described.group).toBe('subscription:s');
    expect(described.partitions.map((p) => p.partition)).toEqual([0, 1]);
    // Its group is listed from the start, with the subscription.
    expect(await world.groups.list()).toEqual(['subscription:s']);
  });

  it.each([
    [{ ...valid, name: 'a b' }, 'name "a b" is invalid'],
    [{ ...valid, batchSize: 0 }, 'batchSize must be an integer from 1 to 10000'],
    [{ ...valid, batchSize: 10_001 }, 'batchSize must be an integer from 1 to 10000'],
    [{ ...valid, maxBatchingWindowMs: 300_001 }, 'maxBatchingWindowMs must be an integer from 0 to 300000'],
    [
      { ...valid, maxRetryAttempts: -1, deadLetterTopic: 'events.dlt' },
      'maxRetryAttempts must be an integer',
    ],
    [{ ...valid, maxRetryAttempts: 3 }, 'maxRetryAttempts needs deadLetterTopic'],
    [{ ...valid, deadLetterTopic: 'events' }, 'deadLetterTopic must differ from topic events'],
    [{ ...valid, bisectBatchOnError: 'yes' }, 'bisectBatchOnError must be true or false'],
    [{ ...valid, startingPosition: 'beginning' }, 'startingPosition must be "earliest", "latest"'],
    [{ ...valid, target: {} }, 'target must name exactly one of url and function'],
    [{ ...valid, target: { url: 'x', function: 'f' } }, 'target must name exactly one of url and function'],
    [{ ...valid, target: { function: 'f' } }, 'function targets exist only on a deployed stack'],
    [{ ...valid, target: { url: 'x', method: 'GET' } }, 'target.method is not a subscription field'],
    [{ ...valid, colour: 'red' }, 'colour is not a subscription field'],
    [{ ...valid, topic: 3 }, 'topic must be a topic name'],
  ])('refuses %j: %s', async (input, message) => {
    const world = await subscriptionWorld();
    const error = await failure(world.subscriptions.create(input));
    expect(error).toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringContaining(message) });
    expect(await world.subscriptions.list()).toEqual([]);
  });

  it('answers an unknown topic or dead-letter topic with TOPIC_NOT_FOUND, a second create with SUBSCRIPTION_ALREADY_EXISTS', async () => {
    const world = await subscriptionWorld();
    expect(await failure(world.subscriptions.create({ ...valid, topic: 'nope' }))).toMatchObject({
      code: 'TOPIC_NOT_FOUND',
    });
    expect(await failure(world.subscriptions.create({ ...valid, deadLetterTopic: 'nope' }))).toMatchObject({
      code: 'TOPIC_NOT_FOUND',
    });
    await world.subscriptions.create(valid);
    expect(await failure(world.subscriptions.create({ ...valid, batchSize: 5 }))).toMatchObject({
      code: 'SUBSCRIPTION_ALREADY_EXISTS',
    });
    expect((await world.subscriptions.get('s')).batchSize).toBe(100);
  });

  it('the URL policy decides which targets are allowed', async () => {
    const world = await subscriptionWorld();
    const refusing = createSubscriptionService({
      ...world,
      targets: {
        validateUrl: (u) => {
          throw new StreamError('INVALID_REQUEST', `target.url ${u} refused`);
        },
        validateFunction: () => {},
      },
    });
    expect(await failure(refusing.create(valid))).toMatchObject({
      message: 'target.url https://example.test/hook refused',
    });
    expect(
      await refusing.create({ ...valid, target: { function: 'arn:aws:lambda:eu-west-1:1:function:f' } }),
    ).toMatchObject({ target: { function: 'arn:aws:lambda:eu-west-1:1:function:f' } });
  });

  it('changes batching and enabled with PATCH semantics, refuses a bad change whole, and never loses a racing change', async () => {
    const world = await subscriptionWorld();
    await world.subscriptions.create({ ...valid, deadLetterTopic: 'events.dlt' });
    world.clock.advance(5);
    const changed = await world.subscriptions.update('s', { batchSize: 7, enabled: false });
    expect(changed).toMatchObject({ batchSize: 7, enabled: false, updatedAt: world.clock.now() });
    expect(
      await failure(world.subscriptions.update('s', { batchSize: 9, maxBatchingWindowMs: -1 })),
    ).toMatchObject({
      code: 'INVALID_REQUEST',
      message: expect.stringContaining('maxBatchingWindowMs'),
    });
    expect(await failure(world.subscriptions.update('s', { topic: 'other' }))).toMatchObject({
      message: expect.stringContaining('topic is not a subscription field'),
    });
    expect(
      await failure(world.subscriptions.update('s', { maxRetryAttempts: 2, deadLetterTopic: null })),
    ).toMatchObject({
      message: expect.stringContaining('maxRetryAttempts needs deadLetterTopic'),
    });
    await Promise.all([
      world.subscriptions.update('s', { batchSize: 11 }),
      world.subscriptions.update('s', { bisectBatchOnError: true }),
    ]);
    expect(await world.subscriptions.get('s')).toMatchObject({
      batchSize: 11,
      bisectBatchOnError: true,
      enabled: false,
    });
    expect(await failure(world.subscriptions.update('nope', { enabled: true }))).toMatchObject({
      code: 'SUBSCRIPTION_NOT_FOUND',
    });
  });

  it('deletes the subscription with its group; a new one of the same name starts afresh', async () => {
    const world = await subscriptionWorld();
    await world.subscriptions.create({ ...valid, startingPosition: 'earliest' });
    await world.log.produce({
      topic: 'events',
      records: [{ key: null, value: new Uint8Array([1]), headers: [] }],
    });
    expect(await world.deliver('s', 0)).toBe('caught-up');
    expect((await world.groups.describe(subscriptionGroup('s'))).partitions[0]?.committedOffset).toBe(1);
    await world.subscriptions.delete('s');
    expect(await world.subscriptions.list()).toEqual([]);
    expect((await world.groups.describe(subscriptionGroup('s'))).partitions).toEqual([]);
    expect(await failure(world.subscriptions.describe('s'))).toMatchObject({
      code: 'SUBSCRIPTION_NOT_FOUND',
    });
    expect(await failure(world.subscriptions.delete('s'))).toMatchObject({ code: 'SUBSCRIPTION_NOT_FOUND' });
    await world.subscriptions.create({ ...valid, startingPosition: 'earliest' });
    expect(await world.deliver('s', 0)).toBe('caught-up');
    expect(world.target.seen.map((s) => s.offsets)).toEqual([[0], [0]]);
  });
});
