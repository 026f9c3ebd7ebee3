/**
 * The chain stream → dispatch → deliver on DynamoDB Local: the services write to a table with a stream
 * (as the stack's), the stream's records go to the dispatcher function as Lambda would pass them, the
 * wake-ups it sends (a fake Lambda client) go to the deliverer function, and the records arrive at a
 * URL target on a local node:http server.
 */
import { randomUUID } from 'node:crypto';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { InvokeCommand } from '@aws-sdk/client-lambda';
import type { Context, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { DynamoMetaStore, ensureTable } from '../../lambdas/adapters/dynamo-meta-store.ts';
import { MemoryObjectStore } from '../../lambdas/adapters/memory-object-store.ts';
import { handler as deliver } from '../../lambdas/handlers/deliver.ts';
import { handler as dispatchHandler } from '../../lambdas/handlers/dispatch.ts';
import { setLambdaClientForTests } from '../../lambdas/runtime/aws-subscriptions.ts';
import { getServices, setBackendForTests } from '../../lambdas/runtime/lambda-root.ts';
import type { Wake } from '../../lambdas/subscriptions/dispatch.ts';
import { StreamReader } from '../stack/stream-mapping.ts';
import { localDynamoClient } from '../support/dynamodb-local.ts';
import { type LocalHttpServer, serveHttp } from '../support/local-http.ts';

const endpoint = inject('dynamoEndpoint');

function context(): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'streambed-fn',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:streambed-fn',
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/streambed-fn',
    logStreamName: 'stream',
    getRemainingTimeInMillis: () => 900_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

describe('dispatcher on a DynamoDB Local stream', () => {
  let client: DynamoDBClient;
  let streams: DynamoDBStreamsClient;
  let reader: StreamReader;
  let receiver: LocalHttpServer;
  const received = new Map<number, number[]>();
  const woken: Wake[] = [];

  beforeAll(async () => {
    client = localDynamoClient(endpoint);
    streams = new DynamoDBStreamsClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const table = `streambed-stream-${randomUUID().slice(0, 8)}`;
    await ensureTable(client, table, { stream: true });
    const described = await client.send(new DescribeTableCommand({ TableName: table }));
    reader = new StreamReader(streams, described.Table?.LatestStreamArn as string, {
      startingPosition: 'TRIM_HORIZON',
    });
    setBackendForTests({
      meta: new DynamoMetaStore({ client, table }),
      objects: new MemoryObjectStore(),
      close: async () => {},
    });
    setLambdaClientForTests({
      async send(command: InvokeCommand) {
        const { FunctionName, InvocationType, Payload } = command.input;
        expect({ FunctionName, InvocationType }).toEqual({
          FunctionName: 'streambed-deliver',
          InvocationType: 'Event',
        });
        woken.push(JSON.parse(new TextDecoder().decode(Payload as Uint8Array)) as Wake);
        return {};
      },
    });
    vi.stubEnv('STREAMBED_DELIVER_FUNCTION', 'streambed-deliver');
    vi.stubEnv('STREAMBED_ALLOW_PRIVATE_URLS', 'true');
    // Powertools' log lines are not what this test reads.
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    receiver = await serveHttp((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        const event = JSON.parse(body) as {
          records: Record<string, { partition: number; offset: number }[]>;
        };
        for (const record of Object.values(event.records).flat()) {
          received.set(record.partition, [...(received.get(record.partition) ?? []), record.offset]);
        }
        res.writeHead(200).end();
      });
    });
  });

  afterAll(async () => {
    await receiver?.close();
    setBackendForTests(undefined);
    setLambdaClientForTests(undefined);
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
    client?.destroy();
    streams?.destroy();
  });

  const dispatchStream = async () => {
    const records = await reader.read();
    woken.length = 0;
    const response = await dispatchHandler({ Records: records } as DynamoDBStreamEvent, context());
    expect(response).toEqual({ batchItemFailures: [] });
    return { records, woken: woken.map((w) => `${w.subscription}/${w.partition}`).sort() };
  };

  it('wakes exactly the produced partitions of the subscribed topic, and the deliverer delivers them', async () => {
    const services = await getServices();
    await services.topics.createTopic('orders', 3);
    await services.topics.createTopic('other', 2);
    await services.subscriptions.create({
      name: 'sub',
      topic: 'orders',
      target: { url: `${receiver.url}/hook` },
      startingPosition: 'earliest',
    });
    // A new subscription wakes every partition of its topic (nothing to deliver yet).
    expect((await dispatchStream()).woken).toEqual(['sub/0', 'sub/1', 'sub/2']);

    const value = new TextEncoder().encode('v');
    const produce = (topic: string, partition: number, count: number) =>
      services.log.produce({
        topic,
        records: Array.from({ length: count }, () => ({ key: null, value, headers: [], partition })),
      });
    await produce('orders', 0, 2);
    await produce('orders', 2, 1);
    await produce('orders', 0, 1);
    await produce('other', 1, 3);
    const { records, woken: pairs } = await dispatchStream();
    // The batch holds batch index items and the other topic's commits too; only these wake.
    expect(records.some((r) => r.dynamodb?.Keys?.sk?.S?.startsWith('b#'))).toBe(true);
    expect(pairs).toEqual(['sub/0', 'sub/2']);

    for (const wake of [...woken]) {
      expect(await deliver(wake, context())).toEqual({ outcome: 'caught-up' });
    }
    expect(Object.fromEntries(received)).toEqual({ 0: [0, 1, 2], 2: [0] });
    // Delivery only moves leases (group items): the stream they leave wakes no one.
    expect((await dispatchStream()).woken).toEqual([]);
  });
});
