/**
 * The synthesized stack, end to end and offline: `cdk synth` of the real app, each function's bundle
 * from cdk.out behind the API Gateway front, DynamoDB Local and the S3 emulator behind the IAM proxy
 * (test/stack/). The SDK, the CLI and raw signed requests use it as they would use a deployed stack;
 * then broken variants of the template show that a missing variable, route, grant or permission, a
 * broken bundle and an oversized response are caught here rather than after a deploy.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SchemaRegistryClient, Streambed } from '../../client/index.ts';
import { sigV4Signer } from '../../client/sigv4.ts';
import { createS3Client } from '../../lambdas/adapters/s3-object-store.ts';
import { waitFor } from '../support/wait-for.ts';
import {
  type ApiFlavor,
  assemblyDirectory,
  documentedCallerPolicy,
  type OfflineStack,
  type SynthesizedStack,
  startOfflineStack,
  synthesizeStack,
} from './offline-stack.ts';
import type { Json, Template } from './template.ts';

const REPO = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);

/** A signed request, as `curl --aws-sigv4` or any SigV4 client would send it. */
async function signedFetch(
  stack: OfflineStack,
  method: string,
  path: string,
  init: {
    body?: string | Uint8Array;
    headers?: Record<string, string>;
    credentials?: OfflineStack['credentials'];
  } = {},
): Promise<Response> {
  const url = new URL(path, stack.url);
  const body = typeof init.body === 'string' ? new TextEncoder().encode(init.body) : init.body;
  const signer = sigV4Signer({ region: stack.region, credentials: init.credentials ?? stack.credentials });
  const headers = await signer({ method, url, headers: { ...(init.headers ?? {}) }, body });
  return fetch(url, { method, headers, ...(body === undefined ? {} : { body }) });
}

function functionResource(template: Template, concern: string): { Properties: Record<string, Json> } {
  const entry = Object.entries(template.Resources).find(
    ([id, resource]) =>
      resource.Type === 'AWS::Lambda::Function' && id.toLowerCase().includes(`${concern}function`),
  );
  if (entry === undefined) throw new Error(`no ${concern} function in the template`);
  return entry[1] as { Properties: Record<string, Json> };
}

/** Writes a bundle into the assembly and points the concern's function at it. */
async function replaceBundle(synthesized: SynthesizedStack, name: string, source: string): Promise<string> {
  const dir = join(synthesized.assemblyDir, `asset.${name}`);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'index.mjs'), source);
  return `${name}.zip`;
}

const flavors: ApiFlavor[] = ['http', 'rest'];

describe.each(flavors)('the synthesized stack offline (%s API)', (flavor) => {
  let synthesized: SynthesizedStack;
  let stack: OfflineStack;
  let removeAssembly: () => Promise<void>;
  const endpoints = () => ({ dynamoEndpoint: inject('dynamoEndpoint'), s3Endpoint: inject('s3Endpoint') });

  beforeAll(async () => {
    const assembly = await assemblyDirectory();
    removeAssembly = assembly.remove;
    synthesized = synthesizeStack(assembly.dir, flavor);
    stack = await startOfflineStack({ synthesized, ...endpoints(), schedules: false });
  }, 120_000);
  afterAll(async () => {
    await stack?.close();
    await removeAssembly?.();
  });

  describe('serves what the template says', () => {
    it('answers the public health route unsigned and refuses unsigned or wrongly signed calls elsewhere', async () => {
      const health = await fetch(new URL('v1/health', stack.url));
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });

      const unsigned = await fetch(new URL('v1/topics', stack.url));
      expect(unsigned.status).toBe(403);

      const forged = await signedFetch(stack, 'GET', 'v1/topics', {
        credentials: { accessKeyId: stack.credentials.accessKeyId, secretAccessKey: 'not-the-secret' },
      });
      expect(forged.status).toBe(403);
      expect(((await forged.json()) as { message: string }).message).toMatch(/signature/);
    });

    it('routes every request of the API contract (DESIGN §8) to a function', async () => {
      // An answer from API Gateway itself (no route, no permission, no function) carries
      // x-amzn-ErrorType; a Streambed function's never does, whatever its status.
      const contract: [string, string][] = [
        ['GET', 'v1/health'],
        ['POST', 'v1/topics'],
        ['GET', 'v1/topics'],
        ['GET', 'v1/topics/contract'],
        ['PATCH', 'v1/topics/contract'],
        ['DELETE', 'v1/topics/contract'],
        ['POST', 'v1/topics/contract/records'],
        ['POST', 'v1/topics/contract/records/delete'],
        ['GET', 'v1/topics/contract/partitions/0/records?offset=0'],
        ['GET', 'v1/topics/contract/partitions/0/offsets'],
        ['GET', 'v1/groups'],
        ['GET', 'v1/groups/contract'],
        ['POST', 'v1/groups/contract/members'],
        ['POST', 'v1/groups/contract/members/m/heartbeat'],
        ['DELETE', 'v1/groups/contract/members/m'],
        ['POST', 'v1/groups/contract/offsets'],
        ['POST', 'v1/groups/contract/offsets/reset'],
        ['POST', 'v1/subscriptions'],
        ['GET', 'v1/subscriptions'],
        ['GET', 'v1/subscriptions/contract'],
        ['PATCH', 'v1/subscriptions/contract'],
        ['DELETE', 'v1/subscriptions/contract'],
        ['GET', 'schema-registry/subjects'],
        ['GET', 'schema-registry/config'],
      ];
      const fromGateway: string[] = [];
      for (const [method, path] of contract) {
        const body = method === 'POST' || method === 'PATCH' ? '{}' : undefined;
        const response = await signedFetch(stack, method, path, {
          ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }),
        });
        await response.arrayBuffer();
        if (response.headers.get('x-amzn-errortype') !== null)
          fromGateway.push(`${method} ${path} → ${response.status}`);
      }
      expect(fromGateway).toEqual([]);
    });

    it('produces, fetches and consumes in a group through the SDK, record for record', async () => {
      const client = new Streambed({
        url: stack.url,
        aws: { region: stack.region, credentials: stack.credentials },
      });
      const admin = client.admin();
      await admin.createTopic({ topic: 'orders', numPartitions: 3 });
      const producer = client.producer();
      const sent = Array.from({ length: 300 }, (_, i) => ({ key: `customer-${i % 7}`, value: `order ${i}` }));
      await producer.send({ topic: 'orders', messages: sent });
      await producer.disconnect();

      const described = await admin.describeTopic('orders');
      expect(described.partitions.reduce((sum, p) => sum + p.highWatermark, 0)).toBe(300);

      const consumer = client.consumer({ groupId: 'billing', heartbeatIntervalMs: 300 });
      const seen: string[] = [];
      await consumer.subscribe({ topics: ['orders'], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          seen.push(String(message.value));
        },
      });
      await waitFor(() => seen.length >= 300, 60_000, '300 records consumed');
      await consumer.disconnect();
      expect([...seen].sort()).toEqual(sent.map((m) => m.value).sort());
      // Per key, records arrive in the order they were sent (one key, one partition).
      for (let k = 0; k < 7; k += 1) {
        const forKey = seen
          .filter((v) => Number(v.split(' ')[1]) % 7 === k)
          .map((v) => Number(v.split(' ')[1]));
        expect(forKey).toEqual([...forKey].sort((a, b) => a - b));
      }
      const group = await admin.describeGroup('billing');
      expect(group.partitions.every((p) => p.lag === 0)).toBe(true);
    });

    it('speaks the JSON API to a signed caller, quotes and control characters included', async () => {
      const created = await signedFetch(stack, 'POST', 'v1/topics', {
        body: JSON.stringify({ name: 'json-api', partitions: 1 }),
        headers: { 'content-type': 'application/json' },
      });
      expect(created.status).toBe(201);
      const value = 'say "hi"\u0001\\ and ünïcödé';
      const produced = await signedFetch(stack, 'POST', 'v1/topics/json-api/records', {
        body: JSON.stringify({ records: [{ key: 'k', value, headers: { trace: 'a"b' } }] }),
        headers: { 'content-type': 'application/json' },
      });
      expect(produced.status).toBe(200);
      const fetched = await signedFetch(stack, 'GET', 'v1/topics/json-api/partitions/0/records?offset=0');
      expect(fetched.status).toBe(200);
      const body = (await fetched.json()) as {
        records: { key: string; value: string; headers: Record<string, string> }[];
      };
      expect(body.records).toMatchObject([{ key: 'k', value, headers: { trace: 'a"b' } }]);
    });

    it('registers and reads back an Avro schema through the registry routes', async () => {
      const registry = new SchemaRegistryClient({
        url: stack.url,
        aws: { region: stack.region, credentials: stack.credentials },
      });
      const schema = { type: 'record', name: 'Order', fields: [{ name: 'id', type: 'string' }] };
      const id = await registry.register('orders-value', schema);
      expect(id).toBeGreaterThan(0);
      const subjects = await signedFetch(stack, 'GET', 'schema-registry/subjects');
      expect(subjects.status).toBe(200);
      expect(await subjects.json()).toContain('orders-value');
    });

    it('compacts on the janitor schedule, and fetches read the same records afterwards', async () => {
      const client = new Streambed({
        url: stack.url,
        aws: { region: stack.region, credentials: stack.credentials },
      });
      await client.admin().createTopic({ topic: 'compacted', numPartitions: 1 });
      const producer = client.producer();
      for (let batch = 0; batch < 5; batch += 1) {
        await producer.send({
          topic: 'compacted',
          messages: Array.from({ length: 20 }, (_, i) => ({
            key: `k${i}`,
            value: `batch ${batch} record ${i}`,
          })),
        });
      }
      await producer.disconnect();
      const readAll = async () => {
        const values: string[] = [];
        let offset = 0;
        for (;;) {
          const response = await signedFetch(
            stack,
            'GET',
            `v1/topics/compacted/partitions/0/records?offset=${offset}&max_bytes=200`,
          );
          const page = (await response.json()) as {
            records: { value: string }[];
            nextOffset: number;
            highWatermark: number;
          };
          values.push(...page.records.map((r) => r.value));
          offset = page.nextOffset;
          if (offset >= page.highWatermark) return values;
        }
      };
      const before = await readAll();
      expect(before).toHaveLength(100);

      // Objects are compacted once a few seconds old: run the scheduled function until it reports it.
      await waitFor(
        async () => {
          const outcome = await stack.invokeScheduled('Janitor');
          expect(outcome.kind).toBe('result');
          return stack.logs.some(
            (line) => /"message":"janitor run"/.test(line) && /"compactedBatches":[1-9]/.test(line),
          );
        },
        60_000,
        'the janitor to compact the five objects',
      );
      expect(await readAll()).toEqual(before);
      expect(stack.denials).toEqual([]);
    });

    it.each(['fetch', 'janitor'])(
      'lets the %s function see a missing object as missing (404), so a read racing a delete re-reads the index',
      async (concern) => {
        // Without s3:ListBucket, S3 answers AccessDenied for a missing key and the re-read never runs.
        const config = stack.awsConfigOf(concern);
        const s3 = createS3Client({
          region: config.region,
          credentials: config.credentials,
          endpoint: config.s3Endpoint,
        });
        try {
          const error = await s3
            .send(new GetObjectCommand({ Bucket: config.bucket, Key: 'data/00/never-written.sbo' }))
            .catch((caught: unknown) => caught as { name?: string; $metadata?: { httpStatusCode?: number } });
          expect(error).toMatchObject({ name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
        } finally {
          s3.destroy();
        }
      },
    );

    it('lets a caller holding the documented policy use the registry, which `…/*/v1/*` alone never allowed', async () => {
      const apiArn = `arn:aws:execute-api:${stack.region}:${stack.model.environment.accountId}:${stack.model.api.id}`;
      const documented = documentedCallerPolicy(apiArn, stack.model.api.stage);
      expect(documented[0]?.Resource.some((resource) => resource.includes('schema-registry'))).toBe(true);
      const v1Only = await startOfflineStack({
        synthesized,
        ...endpoints(),
        schedules: false,
        callerPolicy: (arn, stage) => [
          { Effect: 'Allow', Action: ['execute-api:Invoke'], Resource: [`${arn}/${stage}/*/v1/*`] },
        ],
      });
      try {
        expect((await signedFetch(v1Only, 'GET', 'v1/topics')).status).toBe(200);
        const refused = await signedFetch(v1Only, 'GET', 'schema-registry/subjects');
        expect(refused.status).toBe(403);
        expect(((await refused.json()) as { message: string }).message).toMatch(
          /not authorized to perform: execute-api:Invoke/,
        );
      } finally {
        await v1Only.close();
      }
      expect((await signedFetch(stack, 'GET', 'schema-registry/subjects')).status).toBe(200);
    });

    it('answers a request too large for Lambda with API Gateway’s 413', async () => {
      // 1.5 M quote characters: 3 MB of JSON body, about 6.3 MB once escaped inside the Lambda event.
      const body = JSON.stringify({ records: [{ value: '"'.repeat(1_500_000) }] });
      expect(body.length).toBeLessThan(4_500_000);
      const response = await signedFetch(stack, 'POST', 'v1/topics/json-api/records', {
        body,
        headers: { 'content-type': 'application/json' },
      });
      expect(response.status).toBe(413);
    });

    it('runs the CLI against it with the standard AWS credential variables', async () => {
      const cli = (args: string[], input?: string) => {
        const child = run(
          process.execPath,
          [
            '--import',
            'tsx',
            join(REPO, 'client/cli/bin.ts'),
            ...args,
            '--url',
            stack.url,
            '--aws-region',
            stack.region,
          ],
          {
            env: {
              ...process.env,
              AWS_ACCESS_KEY_ID: stack.credentials.accessKeyId,
              AWS_SECRET_ACCESS_KEY: stack.credentials.secretAccessKey,
              AWS_SESSION_TOKEN: '',
              AWS_PROFILE: '',
            },
          },
        );
        if (input !== undefined) {
          child.child.stdin?.end(input);
        }
        return child;
      };
      await cli(['topics', 'create', 'cli-topic', '--partitions', '1']);
      await cli(['produce', 'cli-topic'], 'first\nsecond\n');
      const consumed = await cli([
        'consume',
        'cli-topic',
        '--from-beginning',
        '--max-messages',
        '2',
        '--group',
        'cli-group',
      ]);
      expect(consumed.stdout.trim().split('\n')).toEqual(['first', 'second']);
      const listed = await cli(['topics', 'list']);
      expect(listed.stdout).toContain('cli-topic');
    });
  });

  describe('catches what a broken construct would ship', () => {
    const broken = async (mutate: (template: Template) => void | Promise<void>): Promise<OfflineStack> => {
      const variant = structuredClone(synthesized.template);
      await mutate(variant);
      return startOfflineStack({
        synthesized: { ...synthesized, template: variant },
        ...endpoints(),
        schedules: false,
      });
    };

    const withTopic = async (variant: OfflineStack): Promise<void> => {
      const created = await signedFetch(variant, 'POST', 'v1/topics', {
        body: JSON.stringify({ name: 't', partitions: 1 }),
        headers: { 'content-type': 'application/json' },
      });
      expect(created.status).toBe(201);
      const produced = await signedFetch(variant, 'POST', 'v1/topics/t/records', {
        body: JSON.stringify({ records: [{ value: 'v' }] }),
        headers: { 'content-type': 'application/json' },
      });
      expect(produced.status).toBe(200);
    };

    it('a function environment variable that is missing fails its requests', async () => {
      const variant = await broken((template) => {
        const variables = (
          functionResource(template, 'fetch').Properties.Environment as { Variables: Record<string, Json> }
        ).Variables;
        delete variables.STREAMBED_BUCKET;
      });
      try {
        await withTopic(variant);
        const fetched = await signedFetch(variant, 'GET', 'v1/topics/t/partitions/0/records?offset=0');
        expect(fetched.status).toBe(500);
        expect(variant.logs.join('\n')).toMatch(/STREAMBED_BUCKET not set/);
      } finally {
        await variant.close();
      }
    });

    it('a route that is missing is not found', async () => {
      const variant = await broken((template) => {
        for (const [id, resource] of Object.entries(template.Resources)) {
          const properties = resource.Properties ?? {};
          // HTTP API: the route; REST API: the GET method on the `offsets` resource.
          const httpRoute = properties.RouteKey === 'GET /v1/topics/{topic}/partitions/{partition}/offsets';
          const resourceId = (properties.ResourceId as { Ref?: string } | undefined)?.Ref;
          const restMethod =
            resource.Type === 'AWS::ApiGateway::Method' &&
            properties.HttpMethod === 'GET' &&
            resourceId !== undefined &&
            template.Resources[resourceId]?.Properties?.PathPart === 'offsets';
          if (httpRoute || restMethod) delete template.Resources[id];
        }
      });
      try {
        await withTopic(variant);
        const offsets = await signedFetch(variant, 'GET', 'v1/topics/t/partitions/0/offsets');
        expect(offsets.status).toBe(flavor === 'rest' ? 403 : 404);
      } finally {
        await variant.close();
      }
    });

    it('a grant that is missing is refused by the service, and the request fails', async () => {
      const variant = await broken((template) => {
        for (const resource of Object.values(template.Resources)) {
          if (resource.Type !== 'AWS::IAM::Policy') continue;
          const document = resource.Properties?.PolicyDocument as { Statement: { Action: Json }[] };
          for (const statement of document.Statement) {
            const actions = Array.isArray(statement.Action) ? statement.Action : [statement.Action];
            statement.Action = actions.filter((action) => action !== 's3:GetObject');
          }
        }
      });
      try {
        await withTopic(variant);
        const fetched = await signedFetch(variant, 'GET', 'v1/topics/t/partitions/0/records?offset=0');
        expect(fetched.status).toBe(500);
        expect(variant.denials.map((denial) => denial.action)).toContain('s3:GetObject');
      } finally {
        await variant.close();
      }
    });

    it('a function API Gateway may not invoke fails its routes', async () => {
      const variant = await broken((template) => {
        for (const [id, resource] of Object.entries(template.Resources)) {
          if (
            resource.Type === 'AWS::Lambda::Permission' &&
            JSON.stringify(resource).includes('AdminFunction')
          ) {
            delete template.Resources[id];
          }
        }
      });
      try {
        const health = await fetch(new URL('v1/health', variant.url));
        expect(health.status).toBe(500);
      } finally {
        await variant.close();
      }
    });

    it('a broken bundle fails at import, with the error in the function log', async () => {
      const key = await replaceBundle(synthesized, 'broken-bundle', 'export const handler = ;\n');
      const variant = await broken((template) => {
        (functionResource(template, 'admin').Properties.Code as Record<string, Json>).S3Key = key;
      });
      try {
        const health = await fetch(new URL('v1/health', variant.url));
        expect(health.status).toBeGreaterThanOrEqual(500);
        expect(variant.logs.join('\n')).toMatch(/SyntaxError|ImportModuleError|Runtime/);
      } finally {
        await variant.close();
      }
    });

    it('a response over Lambda’s payload limit becomes API Gateway’s error, never a truncated body', async () => {
      const key = await replaceBundle(
        synthesized,
        'oversized-response',
        "export const handler = async () => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ padding: 'x'.repeat(6_300_000) }) });\n",
      );
      const variant = await broken((template) => {
        (functionResource(template, 'admin').Properties.Code as Record<string, Json>).S3Key = key;
      });
      try {
        const health = await fetch(new URL('v1/health', variant.url));
        expect(health.status).toBeGreaterThanOrEqual(500);
      } finally {
        await variant.close();
      }
    });
  });
});
