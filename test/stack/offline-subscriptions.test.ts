/**
 * A subscription end to end on the synthesized stack, offline: `addSubscription` in the app, its
 * custom resource created through the real handler bundle, records produced over the API, the table's
 * stream read by the dispatcher's event source mapping (with the template's filters), the deliverer
 * woken through the Lambda Invoke API, and the target function invoked by the deliverer — every step
 * by the real bundles under their own roles.
 */
import { Duration } from 'aws-cdk-lib';
import { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Streambed } from '../../client/index.ts';
import type { KafkaEvent } from '../../lambdas/subscriptions/kafka-event.ts';
import { waitFor } from '../support/wait-for.ts';
import {
  assemblyDirectory,
  type OfflineStack,
  type SynthesizedStack,
  startOfflineStack,
  synthesizeStack,
} from './offline-stack.ts';
import { OFFLINE_ENVIRONMENT } from './template.ts';

const TARGET = 'orders-handler';
const TARGET_ARN = `arn:aws:lambda:${OFFLINE_ENVIRONMENT.region}:${OFFLINE_ENVIRONMENT.accountId}:function:${TARGET}`;
const UNGRANTED = 'audit-handler';

/** The app with one subscription of `orders` to the target function. */
function synthesizeWithSubscription(dir: string): SynthesizedStack {
  return synthesizeStack(dir, 'http', {}, (app) => {
    app.streambed.addSubscription('orders-to-handler', {
      topic: 'orders',
      function: LambdaFunction.fromFunctionArn(app, 'OrdersHandler', TARGET_ARN),
      functionTimeout: Duration.seconds(30),
      batchSize: 10,
      startingPosition: 'earliest',
      createTopic: { partitions: 2 },
    });
  });
}

async function produceOrders(stack: OfflineStack, count: number): Promise<string[]> {
  const client = new Streambed({
    url: stack.url,
    aws: { region: stack.region, credentials: stack.credentials },
  });
  const producer = client.producer();
  const sent = Array.from({ length: count }, (_, i) => ({ key: `customer-${i % 5}`, value: `order ${i}` }));
  await producer.send({ topic: 'orders', messages: sent });
  await producer.disconnect();
  return sent.map((m) => m.value);
}

describe('a subscription on the synthesized stack offline', () => {
  let synthesized: SynthesizedStack;
  let stack: OfflineStack;
  let removeAssembly: () => Promise<void>;
  /** Every event the target function received. */
  const received: KafkaEvent[] = [];
  const valuesReceived = () =>
    received.flatMap((event) =>
      Object.values(event.records).flatMap((records) =>
        records.map((r) => Buffer.from(r.value ?? '', 'base64').toString()),
      ),
    );

  beforeAll(async () => {
    const assembly = await assemblyDirectory();
    removeAssembly = assembly.remove;
    synthesized = synthesizeWithSubscription(assembly.dir);
    stack = await startOfflineStack({
      synthesized,
      dynamoEndpoint: inject('dynamoEndpoint'),
      s3Endpoint: inject('s3Endpoint'),
      schedules: false,
      externalFunctions: {
        [TARGET]: async (event) => {
          received.push(event as KafkaEvent);
          return null;
        },
        [UNGRANTED]: async () => null,
      },
    });
  }, 180_000);
  afterAll(async () => {
    await stack?.close();
    await removeAssembly?.();
  });

  it('delivers produced records to the target function through dispatch and deliver, in order per partition', async () => {
    // Act: the custom resource created the topic and the subscription; produce to it.
    const sent = await produceOrders(stack, 40);
    const client = new Streambed({
      url: stack.url,
      aws: { region: stack.region, credentials: stack.credentials },
    });

    // Assess: every record arrives once, as a self-managed Kafka event, in offset order per partition.
    await waitFor(() => valuesReceived().length >= sent.length, 60_000, 'the target received every record');
    expect(valuesReceived().sort()).toEqual([...sent].sort());
    const offsets = new Map<string, number[]>();
    for (const event of received) {
      expect(event.eventSource).toBe('SelfManagedKafka');
      for (const [key, records] of Object.entries(event.records)) {
        expect(records.length).toBeLessThanOrEqual(10);
        offsets.set(key, [...(offsets.get(key) ?? []), ...records.map((r) => r.offset)]);
      }
    }
    for (const list of offsets.values()) expect(list).toEqual([...list].sort((a, b) => a - b));
    await waitFor(
      async () =>
        (await client.admin().describeSubscription('orders-to-handler')).partitions.every((p) => p.lag === 0),
      30_000,
      'the subscription caught up',
    );
    expect(stack.denials).toEqual([]);
  }, 120_000);

  it('refuses a subscription to a function the stack did not grant, naming target.function', async () => {
    const client = new Streambed({
      url: stack.url,
      aws: { region: stack.region, credentials: stack.credentials },
    });
    await expect(
      client.admin().createSubscription({
        name: 'audit',
        topic: 'orders',
        target: {
          function: `arn:aws:lambda:${stack.region}:${OFFLINE_ENVIRONMENT.accountId}:function:${UNGRANTED}`,
        },
      }),
    ).rejects.toThrow(/target\.function/);
  });
});

describe('a subscription whose target the deliverer may not invoke, offline', () => {
  it('is refused by the Lambda API and delivers nothing (the grant is what lets delivery happen)', async () => {
    // Prepare: the same app with the deliverer's grant on the target removed from the template.
    const assembly = await assemblyDirectory();
    const received: unknown[] = [];
    const stack = await startOfflineStack({
      synthesized: synthesizeWithSubscription(assembly.dir),
      dynamoEndpoint: inject('dynamoEndpoint'),
      s3Endpoint: inject('s3Endpoint'),
      schedules: false,
      externalFunctions: { [TARGET]: async (event) => void received.push(event) },
      mutate: (template) => {
        for (const resource of Object.values(template.Resources)) {
          if (resource.Type !== 'AWS::IAM::Policy') continue;
          const document = resource.Properties?.PolicyDocument as { Statement: { Resource: unknown }[] };
          for (const statement of document.Statement) {
            if (Array.isArray(statement.Resource)) {
              statement.Resource = statement.Resource.filter((r) => r !== TARGET_ARN);
            }
          }
        }
      },
    });
    try {
      // Act
      await produceOrders(stack, 3);
      // Assess
      await waitFor(
        () => stack.denials.some((d) => d.action === 'lambda:InvokeFunction' && d.resource === TARGET_ARN),
        60_000,
        'the invoke of the target was refused',
      );
      expect(received).toEqual([]);
    } finally {
      await stack.close();
      await assembly.remove();
    }
  }, 180_000);
});
