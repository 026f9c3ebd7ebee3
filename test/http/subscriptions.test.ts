/** The subscription routes (DESIGN §12) over a real local server (embedded backend, in memory). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalServer, startLocalServer } from '../../lambdas/runtime/local-server.ts';
import { jsonCaller } from '../support/json-call.ts';

let server: LocalServer;
beforeAll(async () => {
  server = await startLocalServer({ port: 0, memory: true });
  await call('POST', '/v1/topics', { name: 'events', partitions: 2 });
  await call('POST', '/v1/topics', { name: 'events.dlt', partitions: 1 });
});
afterAll(async () => server.close());

const call = jsonCaller(() => server.url);

// Nothing listens on port 9: the subscriptions below are configured, never successfully delivered.
const target = { url: 'http://127.0.0.1:9/' };
const names = async (): Promise<string[]> =>
  (await call('GET', '/v1/subscriptions')).body.subscriptions.map((s: { name: string }) => s.name);

describe('subscription routes', () => {
  it('creates with the defaults (201), lists, describes per partition and deletes (204, then 404)', async () => {
    // Act
    const created = await call('POST', '/v1/subscriptions', {
      name: 'orders-hook',
      topic: 'events',
      target,
      enabled: false,
    });
    const listed = await call('GET', '/v1/subscriptions');
    const described = await call('GET', '/v1/subscriptions/orders-hook');
    const group = await call('GET', '/v1/groups/subscription:orders-hook');
    const deleted = await call('DELETE', '/v1/subscriptions/orders-hook');
    const afterDelete = await call('GET', '/v1/subscriptions/orders-hook');
    // Assess
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      name: 'orders-hook',
      topic: 'events',
      target,
      batchSize: 100,
      maxBatchingWindowMs: 0,
      maxRetryAttempts: null,
      bisectBatchOnError: false,
      deadLetterTopic: null,
      startingPosition: 'latest',
      enabled: false,
      createdAt: expect.any(Number),
      updatedAt: expect.any(Number),
    });
    expect(listed).toEqual({ status: 200, body: { subscriptions: [created.body] } });
    expect(described.status).toBe(200);
    expect(described.body).toEqual({
      ...created.body,
      group: 'subscription:orders-hook',
      partitions: [0, 1].map((partition) => ({
        partition,
        committedOffset: null,
        highWatermark: 0,
        lag: 0,
        owner: null,
        attempts: 0,
        lastError: null,
        lastErrorTime: null,
        lastDeliveryTime: null,
        deadLettered: 0,
      })),
    });
    expect(group.status).toBe(200);
    expect(group.body.group).toBe('subscription:orders-hook');
    expect(deleted).toEqual({ status: 204, body: {} });
    expect(afterDelete.status).toBe(404);
    expect(afterDelete.body.error).toMatchObject({ code: 'SUBSCRIPTION_NOT_FOUND', retriable: false });
  });

  it('pauses and resumes with PATCH enabled, and changes batching (200 with the config)', async () => {
    // Prepare
    await call('POST', '/v1/subscriptions', { name: 'toggled', topic: 'events', target });
    // Act
    const paused = await call('PATCH', '/v1/subscriptions/toggled', { enabled: false });
    const whilePaused = await call('GET', '/v1/subscriptions/toggled');
    const resumed = await call('PATCH', '/v1/subscriptions/toggled', { enabled: true, batchSize: 10 });
    const afterResume = await call('GET', '/v1/subscriptions/toggled');
    // Assess
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ name: 'toggled', enabled: false, batchSize: 100 });
    expect(paused.body).not.toHaveProperty('partitions');
    expect(whilePaused.body.enabled).toBe(false);
    expect(resumed.status).toBe(200);
    expect(afterResume.body).toMatchObject({ enabled: true, batchSize: 10 });
    await call('DELETE', '/v1/subscriptions/toggled');
  });

  it.each([
    [{ name: 'a b', topic: 'events', target }, 'name'],
    [{ name: 'v', topic: 'events', target, batchSize: 0 }, 'batchSize'],
    [{ name: 'v', topic: 'events', target, maxBatchingWindowMs: -1 }, 'maxBatchingWindowMs'],
    [{ name: 'v', topic: 'events', target, maxRetryAttempts: 3 }, 'maxRetryAttempts'],
    [{ name: 'v', topic: 'events', target, bisectBatchOnError: 'yes' }, 'bisectBatchOnError'],
    [{ name: 'v', topic: 'events', target, deadLetterTopic: 'events' }, 'deadLetterTopic'],
    [{ name: 'v', topic: 'events', target, startingPosition: 'beginning' }, 'startingPosition'],
    [{ name: 'v', topic: 'events', target, enabled: 'no' }, 'enabled'],
    [{ name: 'v', topic: 'events', target: { url: 'http://10.0.0.1/' } }, 'target.url'],
    [{ name: 'v', topic: 'events', target: { function: 'f' } }, 'target.function'],
    [{ name: 'v', topic: 'events', target: {} }, 'target'],
    [{ name: 'v', topic: 'events', target, colour: 'red' }, 'colour'],
    [{ name: 'v', target }, 'topic'],
    [['not', 'an', 'object'], 'body'],
  ])('refuses %j with 400 naming %s, creating nothing', async (body, field) => {
    const refused = await call('POST', '/v1/subscriptions', body);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'INVALID_REQUEST', retriable: false });
    expect(refused.body.error.message).toContain(field);
    expect(await names()).toEqual([]);
  });

  it('refuses a body that is not JSON, and unknown query parameters, with 400', async () => {
    const response = await fetch(`${server.url}/v1/subscriptions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"name":',
    });
    expect(response.status).toBe(400);
    expect((await call('GET', '/v1/subscriptions?limit=5')).status).toBe(400);
    expect((await call('GET', '/v1/subscriptions/x?verbose=1')).status).toBe(400);
    expect(await names()).toEqual([]);
  });

  it('answers an unknown topic with 404 TOPIC_NOT_FOUND and creates nothing', async () => {
    const refused = await call('POST', '/v1/subscriptions', { name: 'lost', topic: 'nope', target });
    expect(refused.status).toBe(404);
    expect(refused.body.error.code).toBe('TOPIC_NOT_FOUND');
    expect(await names()).toEqual([]);
  });

  it('answers an unknown subscription with 404 SUBSCRIPTION_NOT_FOUND on GET, PATCH and DELETE', async () => {
    for (const [method, body] of [['GET'], ['PATCH', { enabled: false }], ['DELETE']] as const) {
      const missing = await call(method, '/v1/subscriptions/ghost', body);
      expect(missing.status, method).toBe(404);
      expect(missing.body.error, method).toMatchObject({ code: 'SUBSCRIPTION_NOT_FOUND' });
    }
  });

  it('refuses a bad PATCH with 400 naming the field and changes nothing', async () => {
    await call('POST', '/v1/subscriptions', { name: 'steady', topic: 'events', target });
    const refused = await call('PATCH', '/v1/subscriptions/steady', { enabled: false, batchSize: 0 });
    const unknown = await call('PATCH', '/v1/subscriptions/steady', { topic: 'events.dlt' });
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toContain('batchSize');
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain('topic');
    expect((await call('GET', '/v1/subscriptions/steady')).body).toMatchObject({
      enabled: true,
      batchSize: 100,
      topic: 'events',
    });
    await call('DELETE', '/v1/subscriptions/steady');
  });

  it('answers a second create of a name with 409 SUBSCRIPTION_ALREADY_EXISTS, keeping the first', async () => {
    await call('POST', '/v1/subscriptions', { name: 'twice', topic: 'events', target });
    const again = await call('POST', '/v1/subscriptions', {
      name: 'twice',
      topic: 'events',
      target,
      batchSize: 5,
    });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'SUBSCRIPTION_ALREADY_EXISTS', retriable: false });
    expect((await call('GET', '/v1/subscriptions/twice')).body.batchSize).toBe(100);
    await call('DELETE', '/v1/subscriptions/twice');
  });

  it("refuses to join a subscription's group: only its deliverers take its partitions", async () => {
    const joined = await call('POST', '/v1/groups/subscription:x/members', { topics: ['events'] });
    expect(joined.status).toBe(400);
    expect(joined.body.error.code).toBe('INVALID_REQUEST');
  });
});
