/**
 * The subscription functions (deliver, the janitor's sweep) end to end on the memory adapters
 * injected at the Lambda composition root, with a fake Lambda client recording every invoke.
 */
import type { InvokeCommand } from '@aws-sdk/client-lambda';
import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  handler as deliver,
  deliveryLeaseMs,
  deliveryMargin,
  targetTimeoutMs,
} from '../../lambdas/handlers/deliver.ts';
import { handler as janitor } from '../../lambdas/handlers/janitor.ts';
import { setLambdaClientForTests } from '../../lambdas/runtime/aws-subscriptions.ts';
import { getServices, setBackendForTests } from '../../lambdas/runtime/lambda-root.ts';
import type { LambdaInvoker } from '../../lambdas/subscriptions/function-target.ts';
import { type LocalHttpServer, serveHttp } from '../support/local-http.ts';
import { memoryBackend } from '../support/memory-backend.ts';

function context(remainingMs: number): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'streambed-deliver',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:streambed-deliver',
    memoryLimitInMB: '512',
    awsRequestId: 'req-1',
    logGroupName: '/aws/lambda/streambed-deliver',
    logStreamName: 'stream',
    getRemainingTimeInMillis: () => remainingMs,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

interface Invoked {
  FunctionName?: string;
  InvocationType?: string;
  payload: unknown;
}

let invoked: Invoked[];
let failInvokes: boolean;
let logs: string[];
let receiver: LocalHttpServer;
let received: { offsets: number[] }[];

const fakeLambda: LambdaInvoker = {
  async send(command: InvokeCommand) {
    if (failInvokes) throw Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' });
    const { FunctionName, InvocationType, Payload } = command.input;
    invoked.push({
      FunctionName,
      InvocationType,
      payload: JSON.parse(new TextDecoder().decode(Payload as Uint8Array)),
    });
    return {};
  },
};

beforeEach(async () => {
  invoked = [];
  failInvokes = false;
  logs = [];
  received = [];
  const keep = ((chunk: string | Uint8Array) => {
    logs.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  vi.spyOn(process.stdout, 'write').mockImplementation(keep);
  vi.spyOn(process.stderr, 'write').mockImplementation(keep);
  vi.stubEnv('STREAMBED_ALLOW_PRIVATE_URLS', 'true');
  vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', 'streambed-deliver');
  setBackendForTests(memoryBackend());
  setLambdaClientForTests(fakeLambda);
  receiver = await serveHttp((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      const event = JSON.parse(body) as { records: Record<string, { offset: number }[]> };
      received.push({
        offsets: Object.values(event.records)
          .flat()
          .map((r) => r.offset),
      });
      res.writeHead(200).end();
    });
  });
});

afterEach(async () => {
  await receiver.close();
  setBackendForTests(undefined);
  setLambdaClientForTests(undefined);
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

async function subscribedTopic(partitions = 1) {
  const services = await getServices();
  await services.topics.createTopic('orders', partitions);
  await services.subscriptions.create({
    name: 'to-receiver',
    topic: 'orders',
    target: { url: `${receiver.url}/hook` },
    startingPosition: 'earliest',
  });
  const produce = (partition: number, count: number) =>
    services.log.produce({
      topic: 'orders',
      records: Array.from({ length: count }, () => ({
        key: null,
        value: new TextEncoder().encode('v'),
        headers: [],
        partition,
      })),
    });
  return { services, produce };
}

describe('deliver handler', () => {
  it('delivers a woken partition until it is caught up, without re-invoking itself', async () => {
    const { produce } = await subscribedTopic();
    await produce(0, 3);
    const result = await deliver({ subscription: 'to-receiver', partition: 0 }, context(900_000));
    expect(result).toEqual({ outcome: 'caught-up' });
    expect(received).toEqual([{ offsets: [0, 1, 2] }]);
    expect(invoked).toEqual([]);
  });

  it('keeps back the longest target call plus 30 s, and leases two minutes past it', () => {
    expect(targetTimeoutMs({})).toBe(30_000);
    expect(targetTimeoutMs({ STREAMBED_TARGET_TIMEOUT_MS: '780000' })).toBe(780_000);
    expect(targetTimeoutMs({ STREAMBED_TARGET_TIMEOUT_MS: 'soon' })).toBe(30_000);
    expect(deliveryMargin(780_000, 900_000)).toBe(810_000);
    expect(deliveryMargin(30_000, 100_000)).toBe(50_000);
    expect(deliveryLeaseMs(30_000)).toBe(10 * 60_000);
    expect(deliveryLeaseMs(780_000)).toBe(900_000);
  });

  it('stops at its deadline and re-invokes itself asynchronously with the same event', async () => {
    const { produce } = await subscribedTopic();
    await produce(0, 3);
    // No time left: the deadline is already behind.
    const result = await deliver({ subscription: 'to-receiver', partition: 0 }, context(0));
    expect(result).toEqual({ outcome: 'stopped' });
    expect(received).toEqual([]);
    expect(invoked).toEqual([
      {
        FunctionName: 'streambed-deliver',
        InvocationType: 'Event',
        payload: { subscription: 'to-receiver', partition: 0 },
      },
    ]);
  });

  it('logs and drops an event that is not {subscription, partition}', async () => {
    for (const event of [
      null,
      'x',
      { subscription: 'a' },
      { subscription: 'a', partition: -1 },
      { partition: 0 },
    ]) {
      expect(await deliver(event, context(900_000))).toBeUndefined();
    }
    expect(invoked).toEqual([]);
    expect(logs.join('').match(/deliver event dropped/g)).toHaveLength(5);
  });
});

describe('janitor handler: subscription sweep', () => {
  it('wakes the deliverer of every partition behind when STREAMBED_DELIVER_FUNCTION is set', async () => {
    const { produce } = await subscribedTopic(3);
    await produce(0, 1);
    await produce(2, 1);
    vi.stubEnv('STREAMBED_DELIVER_FUNCTION', 'streambed-deliver');
    await janitor({}, context(60_000));
    expect(invoked).toEqual([
      {
        FunctionName: 'streambed-deliver',
        InvocationType: 'Event',
        payload: { subscription: 'to-receiver', partition: 0 },
      },
      {
        FunctionName: 'streambed-deliver',
        InvocationType: 'Event',
        payload: { subscription: 'to-receiver', partition: 2 },
      },
    ]);
  });

  it('does not sweep without STREAMBED_DELIVER_FUNCTION', async () => {
    const { produce } = await subscribedTopic();
    await produce(0, 1);
    await janitor({}, context(60_000));
    expect(invoked).toEqual([]);
  });

  it('reports a failed sweep and still does its own work', async () => {
    const { produce } = await subscribedTopic();
    await produce(0, 1);
    vi.stubEnv('STREAMBED_DELIVER_FUNCTION', 'streambed-deliver');
    failInvokes = true;
    await janitor({}, context(60_000));
    const text = logs.join('');
    expect(text).toContain('subscription sweep had failures');
    expect(text).toContain('Rate exceeded');
    expect(text).toContain('"message":"janitor run"');
  });
});

describe('Lambda composition root: subscription targets', () => {
  it('builds the services with the deployed policy: only functions the construct listed', async () => {
    setBackendForTests(undefined);
    vi.stubEnv('STREAMBED_TABLE', 'table');
    vi.stubEnv('STREAMBED_BUCKET', 'bucket');
    vi.stubEnv('AWS_REGION', 'eu-west-1');
    vi.stubEnv('STREAMBED_SUBSCRIPTION_FUNCTIONS', 'orders-consumer');
    const services = await getServices();
    // The target is checked before anything is read, so no AWS call is made.
    await expect(
      services.subscriptions.create({ name: 's', topic: 'orders', target: { function: 'other' } }),
    ).rejects.toThrow(/target\.function other .*addSubscription/);
  });
});

describe('deliver handler: a target the deployment refuses', () => {
  it('fails each delivery with the reason, visible in status, instead of failing the run', async () => {
    // Created while private URLs were allowed; the deliverer now refuses them.
    const { services, produce } = await subscribedTopic();
    await produce(0, 1);
    vi.stubEnv('STREAMBED_ALLOW_PRIVATE_URLS', '');
    setLambdaClientForTests(fakeLambda);
    const result = await deliver({ subscription: 'to-receiver', partition: 0 }, context(200));
    expect(result).toEqual({ outcome: 'stopped' });
    expect(received).toEqual([]);
    const status = (await services.subscriptions.describe('to-receiver')).partitions[0];
    expect(status).toMatchObject({ attempts: 1, lastError: expect.stringMatching(/loopback destination/) });
  });
});
