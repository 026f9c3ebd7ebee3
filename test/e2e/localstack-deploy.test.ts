/**
 * The CDK app deployed into LocalStack with `cdklocal`, then used through its HTTP API the way users do:
 * signed JSON requests (what curl sends) and the SDK's producer and consumer group. The stack is
 * deployed with `streambed:removalPolicy=destroy` and destroyed at the end.
 *
 * The stack is deployed in its REST API flavor (`streambed:api=rest`), which LocalStack's community
 * edition serves, so it runs whenever global setup found a LocalStack (AWS_ENDPOINT_URL or
 * testcontainers); otherwise the suite is reported skipped with the reason. The deploy path has not
 * been run where this was written (no Docker, no LocalStack): see test/support/localstack-deploy.ts for
 * what is verified and what is taken from documentation.
 */
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Streambed } from '../../client/index.ts';
import { Transport } from '../../client/transport.ts';
import {
  bootstrap,
  deploy,
  deployBlocker,
  destroy,
  LOCALSTACK_CREDENTIALS,
  LOCALSTACK_REGION,
  type LocalStackDeployment,
  newDeployment,
  resolveApiUrl,
  TIMEOUTS,
  warmUp,
} from '../support/localstack-deploy.ts';

const TITLE = 'Streambed deployed to LocalStack with cdklocal';
const endpoint = inject('localstackEndpoint');
const skipReason = endpoint === '' ? inject('localstackSkipReason') : await deployBlocker(endpoint);

interface JsonRecord {
  offset: number;
  key: string | null;
  value: string | null;
}

const waitFor = async (condition: () => boolean, timeoutMs: number, what: string) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
};

if (skipReason !== undefined) {
  describe.skip(`${TITLE} (skipped: ${skipReason})`, () => {
    it('deploys the stack, creates a topic, produces and fetches through the API, destroys the stack', () => {});
  });
} else {
  describe(TITLE, () => {
    let deployment: LocalStackDeployment | undefined;
    let deployAttempted = false;
    let ready = false;
    /** The base URL (ending with `/`) where LocalStack serves the deployed API (stage included). */
    let apiUrl = '';
    // Signed like a real deployment (LocalStack does not enforce IAM by default, so any signature
    // passes). Long request timeouts: a function that went cold again restarts inside a request.
    const client = () =>
      new Streambed({
        url: apiUrl,
        aws: { region: LOCALSTACK_REGION, credentials: LOCALSTACK_CREDENTIALS },
        timeoutMs: 120_000,
      });
    const transport = () =>
      new Transport({
        url: apiUrl,
        aws: { region: LOCALSTACK_REGION, credentials: LOCALSTACK_CREDENTIALS },
        timeoutMs: 120_000,
      });

    beforeAll(
      async () => {
        deployment = await newDeployment(endpoint);
        await bootstrap(deployment);
        deployAttempted = true;
        const outputs = await deploy(deployment);
        apiUrl = await resolveApiUrl(deployment.endpoint, outputs.ApiUrl);
        console.log(`${deployment.stackName}: ApiUrl output ${outputs.ApiUrl}, served at ${apiUrl}`);
        await warmUp(apiUrl);
        ready = true;
      },
      TIMEOUTS.bootstrap + TIMEOUTS.deploy + TIMEOUTS.resolveUrl + TIMEOUTS.warmUp,
    );

    afterAll(async () => {
      if (deployment === undefined) return;
      if (deployAttempted) {
        // A failed deploy can still leave a stack (rolled back or half made), so destroy runs anyway.
        await destroy(deployment);
      }
      // The working directory (cdk.out and one log per cdklocal command) is kept when the deploy or the
      // destroy failed: their errors name the log file.
      if (ready) await rm(deployment.workDir, { recursive: true, force: true });
    }, TIMEOUTS.destroy + 60_000);

    it('answers the public health route unsigned', async () => {
      const response = await fetch(new URL('v1/health', apiUrl));
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ status: 'ok' });
    });

    it('creates a topic, produces JSON records and fetches them back (signed requests, as curl sends)', async () => {
      const topic = `json-${randomUUID().slice(0, 8)}`;
      const api = transport();
      await api.json('POST', '/v1/topics', { json: { name: topic, partitions: 2 } });
      expect(await client().admin().listTopics()).toContain(topic);

      const produced = await api.json<{ offsets: { partition: number; offset: number }[] }>(
        'POST',
        `/v1/topics/${topic}/records`,
        {
          json: {
            records: [
              { key: 'customer-7', value: 'created', partition: 1 },
              { key: 'customer-7', value: 'paid', partition: 1 },
              { key: 'customer-9', value: 'created', partition: 0 },
            ],
          },
          headers: { 'idempotency-key': `e2e-${topic}` },
        },
      );
      expect(produced.offsets).toEqual([
        { partition: 1, offset: 0 },
        { partition: 1, offset: 1 },
        { partition: 0, offset: 0 },
      ]);

      const fetched = await api.json<{ records: JsonRecord[]; nextOffset: number; highWatermark: number }>(
        'GET',
        `/v1/topics/${topic}/partitions/1/records`,
        { query: { offset: 0, max_wait_ms: 5_000 } },
      );
      expect(fetched.records.map(({ offset, key, value }) => ({ offset, key, value }))).toEqual([
        { offset: 0, key: 'customer-7', value: 'created' },
        { offset: 1, key: 'customer-7', value: 'paid' },
      ]);
      expect(fetched.nextOffset).toBe(2);
      expect(fetched.highWatermark).toBe(2);
      expect(await client().admin().fetchPartitionOffsets(topic, 0)).toMatchObject({
        logStartOffset: 0,
        highWatermark: 1,
      });
    }, 300_000);

    it('produces with the SDK producer and reads the records back with a consumer group', async () => {
      const topic = `sdk-${randomUUID().slice(0, 8)}`;
      const streambed = client();
      await streambed.admin().createTopic({ topic, numPartitions: 2 });
      const producer = streambed.producer<string>();
      const messages = Array.from({ length: 10 }, (_, i) => ({
        key: `key-${i % 3}`,
        value: `value-${i}`,
        partition: i % 2,
      }));
      const metadata = await producer.send({ topic, messages });
      await producer.disconnect();
      expect(metadata.map((m) => `${m.partition}:${m.offset}`)).toEqual(
        messages.map((m, i) => `${m.partition}:${Math.floor(i / 2)}`),
      );

      const received = new Map<number, string[]>();
      const consumer = streambed.consumer({ groupId: `e2e-${topic}`, maxWaitMs: 2_000 });
      try {
        await consumer.subscribe({ topics: [topic], fromBeginning: true });
        await consumer.run({
          eachMessage: async ({ partition, message }) => {
            received.set(partition, [...(received.get(partition) ?? []), message.value?.toString() ?? '']);
          },
        });
        const count = () => [...received.values()].reduce((n, values) => n + values.length, 0);
        await waitFor(() => count() >= messages.length, 180_000, `${messages.length} records`);
      } finally {
        await consumer.disconnect();
      }
      // In offset order within each partition.
      for (const partition of [0, 1]) {
        expect(received.get(partition)).toEqual(
          messages.filter((m) => m.partition === partition).map((m) => m.value),
        );
      }
    }, 300_000);
  });
}
