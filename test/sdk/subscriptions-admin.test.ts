/** The SDK's subscription administration (Admin) against a real local server, errors included. */
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import {
  type Admin,
  ERROR_CODES,
  Streambed,
  StreambedError,
  type SubscriptionConfig,
  type SubscriptionDescription,
} from '../../client/index.ts';
import { HTTP_STATUS_BY_CODE } from '../../lambdas/http/errors.ts';
import { type LocalServer, startLocalServer } from '../../lambdas/runtime/local-server.ts';
import type * as server from '../../lambdas/subscriptions/subscriptions.ts';
import { sdkFailure } from '../support/failure.ts';

let local: LocalServer;
let admin: Admin;
beforeAll(async () => {
  local = await startLocalServer({ port: 0, memory: true });
  admin = new Streambed({ url: local.url }).admin();
  await admin.createTopic({ topic: 'events', numPartitions: 2 });
  await admin.createTopic({ topic: 'events.dlt' });
});
afterAll(async () => local.close());

const target = { url: 'http://127.0.0.1:9/' };

describe('Admin subscriptions', () => {
  it('creates, lists, describes, pauses, resumes, updates and deletes', async () => {
    // Act
    const created = await admin.createSubscription({
      name: 'orders-hook',
      topic: 'events',
      target,
      maxRetryAttempts: 3,
      deadLetterTopic: 'events.dlt',
      startingPosition: 'earliest',
      enabled: false,
    });
    const listed = await admin.listSubscriptions();
    const described = await admin.describeSubscription('orders-hook');
    const resumed = await admin.resumeSubscription('orders-hook');
    const paused = await admin.pauseSubscription('orders-hook');
    const updated = await admin.updateSubscription('orders-hook', { batchSize: 25, maxRetryAttempts: null });
    await admin.deleteSubscription('orders-hook');
    // Assess
    expect(created).toMatchObject({
      name: 'orders-hook',
      topic: 'events',
      target,
      batchSize: 100,
      maxRetryAttempts: 3,
      deadLetterTopic: 'events.dlt',
      startingPosition: 'earliest',
      enabled: false,
    });
    expect(listed).toEqual([created]);
    expect(described).toMatchObject({ ...created, group: 'subscription:orders-hook' });
    expect(described.partitions.map((p) => [p.partition, p.lag, p.attempts])).toEqual([
      [0, 0, 0],
      [1, 0, 0],
    ]);
    expect(resumed.enabled).toBe(true);
    expect(paused.enabled).toBe(false);
    expect(updated).toMatchObject({ batchSize: 25, maxRetryAttempts: null, enabled: false });
    expect(await admin.listSubscriptions()).toEqual([]);
  });

  it('answers with SUBSCRIPTION_NOT_FOUND, SUBSCRIPTION_ALREADY_EXISTS, TOPIC_NOT_FOUND and INVALID_REQUEST', async () => {
    // Prepare
    await admin.createSubscription({ name: 'once', topic: 'events', target });
    // Act
    const missing = await Promise.all([
      sdkFailure(admin.describeSubscription('ghost')),
      sdkFailure(admin.pauseSubscription('ghost')),
      sdkFailure(admin.resumeSubscription('ghost')),
      sdkFailure(admin.updateSubscription('ghost', { batchSize: 5 })),
      sdkFailure(admin.deleteSubscription('ghost')),
    ]);
    const duplicate = await sdkFailure(admin.createSubscription({ name: 'once', topic: 'events', target }));
    const noTopic = await sdkFailure(admin.createSubscription({ name: 'lost', topic: 'nope', target }));
    const invalid = await sdkFailure(admin.updateSubscription('once', { batchSize: 0 }));
    // Assess
    for (const error of missing) {
      expect(error).toBeInstanceOf(StreambedError);
      expect(error).toMatchObject({ code: 'SUBSCRIPTION_NOT_FOUND', status: 404, retriable: false });
    }
    expect(duplicate).toMatchObject({ code: 'SUBSCRIPTION_ALREADY_EXISTS', status: 409, retriable: false });
    expect(noTopic).toMatchObject({ code: 'TOPIC_NOT_FOUND', status: 404 });
    expect(invalid).toMatchObject({ code: 'INVALID_REQUEST', status: 400 });
    expect(invalid.message).toContain('batchSize');
    expect((await admin.listSubscriptions()).map((s) => s.name)).toEqual(['once']);
    await admin.deleteSubscription('once');
  });

  it('knows every code the API answers with', () => {
    expect([...ERROR_CODES].sort()).toEqual(Object.keys(HTTP_STATUS_BY_CODE).sort());
  });

  it("mirrors the server's subscription types", () => {
    expectTypeOf<server.SubscriptionConfig>().toEqualTypeOf<SubscriptionConfig>();
    expectTypeOf<server.SubscriptionDescription>().toEqualTypeOf<SubscriptionDescription>();
  });
});
