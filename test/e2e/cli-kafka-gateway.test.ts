/**
 * `streambed kafka-gateway` as users run it: the Kafka listener alone over DynamoDB + S3 (here the
 * emulators, through the SDK's per-service endpoint variables); several gateways over one table and
 * bucket list each other as brokers.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { parseKafkaGatewayArgs } from '../../lambdas/runtime/server-commands.ts';
import { type ServerProcess, startCliProcess, stopCliServer } from '../support/cli-server.ts';
import { runProcess } from '../support/run-process.ts';
import { waitFor } from '../support/wait-for.ts';

const gateways: ServerProcess[] = [];
afterEach(async () => {
  for (const gateway of gateways.splice(0)) await stopCliServer(gateway);
});

const broker = (gateway: ServerProcess) => gateway.url.replace('kafka://', '');

function awsEnv(name: string): NodeJS.ProcessEnv {
  return {
    AWS_ENDPOINT_URL_DYNAMODB: inject('dynamoEndpoint'),
    AWS_ENDPOINT_URL_S3: inject('s3Endpoint'),
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_REGION: 'us-east-1',
    STREAMBED_TABLE: name,
    STREAMBED_BUCKET: name,
  };
}

async function startGateway(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  const gateway = await startCliProcess(['kafka-gateway', '--kafka-port', '0', ...args], env);
  gateways.push(gateway);
  return gateway;
}

async function brokersSeenThrough(seed: string): Promise<{ nodeId: number; host: string; port: number }[]> {
  const admin = new Kafka({ brokers: [seed], clientId: 'gateway-test', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const { brokers } = await admin.describeCluster();
    return [...brokers].sort((a, b) => a.nodeId - b.nodeId);
  } finally {
    await admin.disconnect();
  }
}

describe('streambed kafka-gateway', () => {
  it('runs two gateways over one DynamoDB table and S3 bucket that list each other as brokers', async () => {
    // Prepare
    const env = awsEnv(`gw-${randomUUID().slice(0, 8)}`);
    const first = await startGateway(['--backend', 'aws'], env);
    const second = await startGateway(['--backend', 'aws'], env);
    const expected = [first, second].map((gateway) => {
      const [host, port] = broker(gateway).split(':');
      return { host, port: Number(port) };
    });
    for (const gateway of [first, second]) {
      // Act
      const brokers = await brokersSeenThrough(broker(gateway));
      // Assess
      expect(brokers.map(({ host, port }) => ({ host, port }))).toEqual(expected);
      expect(brokers.map((b) => b.nodeId)).toEqual([0, 1]);
    }
    // A gateway that stops drops out of the other's Metadata.
    expect(await stopCliServer(first)).toBe(0);
    await waitFor(
      async () => (await brokersSeenThrough(broker(second))).length === 1,
      20_000,
      'the stopped gateway to drop out',
    );
  }, 60_000);

  it('refuses to listen beyond loopback without a token', async () => {
    await expect(startGateway(['--backend', 'embedded', '--memory', '--host', '0.0.0.0'])).rejects.toThrow(
      /refusing to listen on 0\.0\.0\.0 without a token/,
    );
  });

  it('prints its usage with --help', async () => {
    const run = await runProcess(process.execPath, [
      '--import',
      'tsx',
      'lambdas/runtime/cli.ts',
      'kafka-gateway',
      '--help',
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^usage: streambed kafka-gateway --backend aws\|embedded/);
    expect(run.stdout).not.toContain('client options');
  });
});

describe('kafka-gateway arguments', () => {
  it('take the AWS environment of start --backend aws', () => {
    const options = parseKafkaGatewayArgs(
      ['--backend', 'aws', '--kafka-port', '19092', '--kafka-advertised-host', 'kafka.example.com'],
      { STREAMBED_TABLE: 't', STREAMBED_BUCKET: 'b', AWS_REGION: 'eu-west-1', STREAMBED_TOKEN: 'secret' },
    );
    expect(options).toMatchObject({
      backend: 'aws',
      host: '127.0.0.1',
      port: 19092,
      advertisedHost: 'kafka.example.com',
      token: 'secret',
      aws: { table: 't', bucket: 'b', region: 'eu-west-1', emulated: false },
    });
  });

  it('take the internal host from --kafka-internal-host or STREAMBED_KAFKA_INTERNAL_HOST', () => {
    const env = { STREAMBED_KAFKA_INTERNAL_HOST: '10.0.1.5' };
    expect(parseKafkaGatewayArgs(['--backend', 'aws'], env).internalHost).toBe('10.0.1.5');
    expect(
      parseKafkaGatewayArgs(['--backend', 'aws', '--kafka-internal-host', '10.0.2.6'], env).internalHost,
    ).toBe('10.0.2.6');
    expect(parseKafkaGatewayArgs(['--backend', 'aws'], {}).internalHost).toBeUndefined();
  });

  it.each([
    [[], /--backend must be aws or embedded, got nothing/],
    [['--backend', 'kafka'], /--backend must be aws or embedded, got "kafka"/],
    [['--backend', 'aws', '--memory'], /--data-dir and --memory apply to --backend embedded/],
    [['--backend', 'aws', '--kafka-port', '70000'], /--kafka-port must be at most 65535/],
    [['--backend', 'aws', '--kafka-port', 'x'], /--kafka-port must be a non-negative integer/],
    [
      ['--backend', 'aws', '--kafka-internal-host', 'a b'],
      /--kafka-internal-host .* must be a host name or IP/,
    ],
  ])('refuse %j', (argv, message) => {
    expect(() => parseKafkaGatewayArgs(argv, {})).toThrow(message);
  });
});
