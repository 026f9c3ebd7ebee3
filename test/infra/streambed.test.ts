/**
 * The deployed shape of Streambed, asserted on the template of the real app (lib/app.ts, with the
 * context of cdk.json and the cdk-nag AWS Solutions checks), synthesized once with real esbuild
 * bundling. Template assertions only: a snapshot would approve whatever it is shown.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStreambedApp } from '../../lib/app.ts';
import { STREAMBED_CONCERNS, type Streambed } from '../../lib/streambed.ts';
import { CDK_CONTEXT } from '../support/cdk-context.ts';
import { expectedAlarmCount, FUNCTION_CONCERNS } from '../support/concerns.ts';
import { bundleFileOf } from '../support/lambda-bundles.ts';

/** DESIGN §8 routes that exist today, with the function that must serve each. */
const EXPECTED_ROUTES: Record<string, string> = {
  'GET /v1/health': 'admin',
  'GET /v1/openapi.json': 'admin',
  'GET /v1/janitor': 'admin',
  'POST /v1/topics': 'admin',
  'GET /v1/topics': 'admin',
  'GET /v1/topics/{topic}': 'admin',
  'PATCH /v1/topics/{topic}': 'admin',
  'DELETE /v1/topics/{topic}': 'admin',
  'POST /v1/topics/{topic}/records/delete': 'admin',
  'POST /v1/topics/{topic}/records': 'produce',
  'GET /v1/topics/{topic}/partitions/{partition}/records': 'fetch',
  'GET /v1/topics/{topic}/partitions/{partition}/offsets': 'fetch',
  'GET /v1/groups': 'groups',
  'GET /v1/groups/{group}': 'groups',
  'DELETE /v1/groups/{group}': 'groups',
  'POST /v1/groups/{group}/members': 'groups',
  'POST /v1/groups/{group}/members/{member}/heartbeat': 'groups',
  'DELETE /v1/groups/{group}/members/{member}': 'groups',
  'POST /v1/groups/{group}/offsets': 'groups',
  'POST /v1/groups/{group}/offsets/reset': 'groups',
  'POST /v1/subscriptions': 'subscriptions',
  'GET /v1/subscriptions': 'subscriptions',
  'GET /v1/subscriptions/{subscription}': 'subscriptions',
  'PATCH /v1/subscriptions/{subscription}': 'subscriptions',
  'DELETE /v1/subscriptions/{subscription}': 'subscriptions',
  'ANY /schema-registry': 'schemas',
  'ANY /schema-registry/{proxy+}': 'schemas',
};

/** DESIGN §10: each function's bundle stays within 1 MiB, so cold starts stay short. */
const MAX_BUNDLE_BYTES = 1024 * 1024;

type Json = Record<string, unknown>;
interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

let outdir: string;
let stack: Stack;
let streambed: Streambed;
let template: Template;
let validationReport: { pluginReports: { pluginName: string; violations: unknown[] }[] };

const logicalId = (construct: IConstruct): string =>
  stack.getLogicalId(construct.node.defaultChild as Parameters<Stack['getLogicalId']>[0]);

/** Every statement of the policies attached to a function's role. */
function statementsOf(concern: string): Statement[] {
  const fn = streambed.functions[concern];
  if (fn === undefined) throw new Error(`no function ${concern}`);
  if (fn.role === undefined) throw new Error(`function ${concern} has no role`);
  const roleId = logicalId(fn.role);
  const policies = Object.values(template.findResources('AWS::IAM::Policy')) as Json[];
  return policies
    .filter((policy) => JSON.stringify((policy.Properties as Json).Roles).includes(`"${roleId}"`))
    .flatMap(
      (policy) => ((policy.Properties as Json).PolicyDocument as { Statement: Statement[] }).Statement,
    );
}

const actionsOf = (concern: string): string[] =>
  [...new Set(statementsOf(concern).flatMap((s) => asArray(s.Action)))].sort();

beforeAll(() => {
  // Prepare: the app exactly as `cdk synth` builds it, into a private output directory.
  outdir = mkdtempSync(join(tmpdir(), 'streambed-infra-'));
  const built = createStreambedApp({ outdir, context: CDK_CONTEXT });
  stack = built.stack;
  streambed = built.stack.streambed;
  // Act: one synth (esbuild runs once per function). cdk-nag runs inside it and throws on findings.
  const assembly = built.app.synth();
  template = Template.fromJSON(assembly.getStackByName(stack.stackName).template);
  validationReport = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8'));
}, 300_000);

afterAll(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

describe('S3 bucket', () => {
  it('is encrypted, private, TLS-only, unversioned and aborts stale multipart uploads', () => {
    template.resourceCountIs('AWS::S3::Bucket', 1);
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        LifecycleConfiguration: {
          Rules: Match.arrayWith([
            Match.objectLike({
              AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
              Status: 'Enabled',
            }),
          ]),
        },
        VersioningConfiguration: Match.absent(),
      },
    });
  });

  it('denies every request that does not use TLS', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });
});

describe('DynamoDB table', () => {
  it('has pk/sk string keys, on-demand billing, PITR, TTL on `ttl` and deletion protection', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: Match.arrayEquals([
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ]),
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
        DeletionProtectionEnabled: true,
        // SSEEnabled false means DynamoDB's AWS owned key (encrypted at rest, no KMS charges).
        SSESpecification: { SSEEnabled: false },
      },
    });
  });
});

describe('Lambda functions', () => {
  it('one per concern: nodejs24.x on arm64 with 512 MB, an API-safe timeout and its own log group', () => {
    template.resourceCountIs('AWS::Lambda::Function', FUNCTION_CONCERNS.length);
    for (const concern of FUNCTION_CONCERNS) {
      const fn = streambed.functions[concern.name];
      expect(fn, concern.name).toBeDefined();
      const properties = template.toJSON().Resources[logicalId(fn as IConstruct)].Properties;
      expect(properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        MemorySize: 512,
        Handler: 'index.handler',
        LoggingConfig: { LogGroup: { Ref: expect.any(String) } },
      });
      // Behind API Gateway (30 s) a function must end the request itself; the scheduled janitor may run longer.
      if (concern.routes.length > 0) expect(properties.Timeout).toBeLessThanOrEqual(29);
    }
    // Every function and the API access log: one month of retention.
    const logGroups = Object.values(template.findResources('AWS::Logs::LogGroup')) as Json[];
    expect(logGroups).toHaveLength(FUNCTION_CONCERNS.length + 1);
    for (const group of logGroups) expect((group.Properties as Json).RetentionInDays).toBe(30);
  });

  it('publish the table and bucket names and the Powertools settings; the deliverer name to those that wake it, and its longest target call to the deliverer', () => {
    const wakers = new Set(['janitor', 'dispatch']);
    for (const concern of FUNCTION_CONCERNS) {
      const fn = template.toJSON().Resources[logicalId(streambed.functions[concern.name] as IConstruct)];
      expect(fn.Properties.Environment, concern.name).toEqual({
        Variables: {
          STREAMBED_TABLE: { Ref: logicalId(streambed.table) },
          STREAMBED_BUCKET: { Ref: logicalId(streambed.bucket) },
          POWERTOOLS_SERVICE_NAME: 'streambed',
          POWERTOOLS_METRICS_NAMESPACE: 'Streambed',
          NODE_OPTIONS: '--enable-source-maps',
          ...(wakers.has(concern.name)
            ? { STREAMBED_DELIVER_FUNCTION: { Ref: logicalId(streambed.deliverer) } }
            : {}),
          // The longest target call the deliverer waits out: a URL call's, with no target functions.
          ...(concern.name === 'deliver' ? { STREAMBED_TARGET_TIMEOUT_MS: '30000' } : {}),
        },
      });
    }
  });

  it('bundle to one minified ESM file within 1 MiB, with a source map and without better-sqlite3', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function')) as Json[];
    for (const fn of functions) {
      const bundle = bundleFileOf(outdir, fn);
      expect(existsSync(bundle), bundle).toBe(true);
      expect(existsSync(`${bundle}.map`)).toBe(true);
      expect(statSync(bundle).size).toBeLessThanOrEqual(MAX_BUNDLE_BYTES);
      const code = readFileSync(bundle, 'utf8');
      expect(code.startsWith("import { createRequire } from 'node:module';")).toBe(true);
      // The embedded backend's native module must never reach a Lambda (it is external, so any
      // import of it would survive in the bundle as a module specifier and fail at cold start).
      expect(code).not.toMatch(/["']better-sqlite3["']/);
      // The AWS SDK is bundled (pinned), not left to the runtime's copy.
      expect(code).not.toMatch(/from\s*["']@aws-sdk\//);
      // CRC-32C's native module is looked for at run time, never bundled: npm installed the building
      // machine's binary only, not arm64's (crc32c-bundle.test.ts: without it, JavaScript is used).
      expect(code).not.toMatch(/@node-rs\/crc32-|\.node["']/);
    }
  });
});

describe('IAM', () => {
  it('gives each function exactly the actions of its concern', () => {
    const logs = ['logs:CreateLogStream', 'logs:PutLogEvents'];
    expect(actionsOf('produce')).toEqual(
      [
        ...logs,
        'dynamodb:BatchGetItem',
        'dynamodb:ConditionCheckItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        's3:PutObject',
      ].sort(),
    );
    expect(actionsOf('fetch')).toEqual(
      [
        ...logs,
        'dynamodb:BatchGetItem',
        'dynamodb:GetItem',
        'dynamodb:Query',
        's3:GetObject',
        's3:ListBucket',
      ].sort(),
    );
    expect(actionsOf('admin')).toEqual(
      [
        ...logs,
        'dynamodb:BatchGetItem',
        'dynamodb:ConditionCheckItem',
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
      ].sort(),
    );
  });

  it('lets fetch and the janitor list the bucket without a condition, so S3 answers 404 for a missing key', () => {
    // S3 answers GetObject of a missing key with 404 only to a caller allowed s3:ListBucket on the
    // bucket, and 403 to anyone else; a prefix-conditioned grant does not count (lib/streambed.ts).
    const bucketArn = { 'Fn::GetAtt': [logicalId(streambed.bucket), 'Arn'] };
    for (const concern of ['fetch', 'janitor']) {
      const listing = statementsOf(concern).filter((s) => asArray(s.Action).includes('s3:ListBucket'));
      expect(listing, concern).toEqual([{ Effect: 'Allow', Action: 's3:ListBucket', Resource: bucketArn }]);
    }
    // produce reads no object, so it has no missing key to tell apart.
    expect(actionsOf('produce')).not.toContain('s3:ListBucket');
  });

  it('fetch cannot write anything', () => {
    const writes = actionsOf('fetch').filter((action) => !action.startsWith('logs:'));
    for (const action of writes) expect(action).not.toMatch(/Put|Delete|Update|Write|ConditionCheck|\*/);
  });

  it('produce can never delete, in S3 or DynamoDB', () => {
    for (const action of actionsOf('produce')) expect(action).not.toMatch(/Delete|\*/);
  });

  it('admin, groups and schemas have no S3 access', () => {
    const actions = [...actionsOf('admin'), ...actionsOf('groups'), ...actionsOf('schemas')];
    // The registry lives in the metadata table only: the same read/write grants as admin, nothing else.
    expect(actionsOf('schemas')).toEqual(actionsOf('admin'));
    for (const action of actions) expect(action).not.toMatch(/^s3:/);
  });

  it('scopes object access to the key prefixes (produce: data/ only) and table access to the table', () => {
    const bucketArn = { 'Fn::GetAtt': [logicalId(streambed.bucket), 'Arn'] };
    const tableArn = { 'Fn::GetAtt': [logicalId(streambed.table), 'Arn'] };
    const under = (prefix: string) => ({ 'Fn::Join': ['', [bucketArn, `/${prefix}*`]] });
    const expected: Record<string, unknown> = {
      produce: under('data/'),
      // CDK sorts the resources of a statement.
      fetch: [under('compacted/'), under('data/')],
      subscriptions: [under('compacted/'), under('data/')],
    };
    for (const concern of ['produce', 'fetch', 'admin', 'groups', 'schemas', 'subscriptions']) {
      for (const statement of statementsOf(concern)) {
        const actions = asArray(statement.Action);
        // ListBucket is on the bucket itself (its own test above); object actions are on the prefixes.
        if (actions.some((a) => a.startsWith('s3:') && a !== 's3:ListBucket')) {
          expect(statement.Resource).toEqual(expected[concern]);
        }
        if (actions.some((a) => a.startsWith('dynamodb:'))) expect(statement.Resource).toEqual(tableArn);
      }
    }
  });

  it('has no statement with a wildcard action, and none on every resource', () => {
    const documents: unknown[] = [];
    for (const policy of Object.values(template.findResources('AWS::IAM::Policy')) as Json[]) {
      documents.push((policy.Properties as Json).PolicyDocument);
    }
    for (const role of Object.values(template.findResources('AWS::IAM::Role')) as Json[]) {
      for (const inline of ((role.Properties as Json).Policies as Json[] | undefined) ?? []) {
        documents.push(inline.PolicyDocument);
      }
      // No managed policies either (AWSLambdaBasicExecutionRole writes to every log group).
      expect((role.Properties as Json).ManagedPolicyArns).toBeUndefined();
    }
    expect(documents.length).toBeGreaterThan(0);
    for (const document of documents as { Statement: Statement[] }[]) {
      for (const statement of document.Statement) {
        const actions = asArray(statement.Action);
        expect(actions, JSON.stringify(statement)).not.toContain('*');
        const wildcardAction = actions.some((a) => a.includes('*'));
        const everyResource = asArray(statement.Resource as unknown).includes('*');
        expect(wildcardAction && everyResource, JSON.stringify(statement)).toBe(false);
      }
    }
  });
});

describe('HTTP API', () => {
  it('routes every DESIGN §8 path to its function, IAM-authorized except GET /v1/health', () => {
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')) as Json[];
    const integrations = template.findResources('AWS::ApiGatewayV2::Integration') as Record<string, Json>;
    const byKey = new Map(routes.map((route) => [(route.Properties as Json).RouteKey as string, route]));
    expect([...byKey.keys()].sort()).toEqual(Object.keys(EXPECTED_ROUTES).sort());

    for (const [routeKey, concern] of Object.entries(EXPECTED_ROUTES)) {
      const properties = byKey.get(routeKey)?.Properties as Json;
      expect(properties.AuthorizationType, routeKey).toBe(routeKey === 'GET /v1/health' ? 'NONE' : 'AWS_IAM');
      // Target is `integrations/{integration}`; the integration invokes the concern's function.
      const target = JSON.stringify(properties.Target);
      const integrationId = Object.keys(integrations).find((id) => target.includes(`"${id}"`));
      expect(integrationId, routeKey).toBeDefined();
      const integration = integrations[integrationId as string]?.Properties as Json;
      expect(integration.IntegrationUri, routeKey).toEqual({
        'Fn::GetAtt': [logicalId(streambed.functions[concern] as IConstruct), 'Arn'],
      });
      expect(integration.PayloadFormatVersion).toBe('2.0');
    }
  });

  it('has no CORS by default', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'HTTP',
      CorsConfiguration: Match.absent(),
    });
  });

  it('throttles the stage and writes JSON access logs to a log group', () => {
    const stages = Object.values(template.findResources('AWS::ApiGatewayV2::Stage')) as Json[];
    expect(stages).toHaveLength(1);
    const properties = stages[0]?.Properties as Json;
    expect(properties).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 },
      AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [expect.any(String), 'Arn'] } },
    });
    const format = JSON.parse((properties.AccessLogSettings as { Format: string }).Format);
    expect(format).toMatchObject({ requestId: '$context.requestId', status: '$context.status' });
  });
  it('throttles the public health route far below the stage, so an anonymous flood cannot starve signed calls', () => {
    const [stageId, stage] = Object.entries(template.findResources('AWS::ApiGatewayV2::Stage'))[0] as [
      string,
      Json,
    ];
    const properties = stage.Properties as Json;
    const health = (properties.RouteSettings as Record<string, Json> | undefined)?.['GET /v1/health'];
    expect(health).toEqual({ ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 });
    const stageDefaults = properties.DefaultRouteSettings as Json;
    expect(health?.ThrottlingRateLimit).toBeLessThan((stageDefaults.ThrottlingRateLimit as number) / 10);
    // Route settings name a route by its key: CloudFormation must create the route before the stage.
    const routes = template.findResources('AWS::ApiGatewayV2::Route') as Record<string, Json>;
    const healthRouteId = Object.entries(routes).find(
      ([, route]) => (route.Properties as Json).RouteKey === 'GET /v1/health',
    )?.[0];
    expect(asArray(stage.DependsOn as string[]), stageId).toContain(healthRouteId);
  });
});

describe('the janitor schedule', () => {
  const janitorRef = () => ({ Ref: logicalId(streambed.functions.janitor as IConstruct) });

  it('runs every minute for at most 50 s, one run at a time', () => {
    const fn = template.toJSON().Resources[logicalId(streambed.functions.janitor as IConstruct)];
    // A run ends before the next tick; reserved concurrency 1 turns a tick that still finds one running
    // (EventBridge does not promise the second) into a throttle instead of a second, competing run.
    expect(fn.Properties).toMatchObject({ Timeout: 50, ReservedConcurrentExecutions: 1 });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)' });
  });

  it("sets Lambda's own async retries to 0, drops ticks older than a minute and keeps the failures in a queue", () => {
    // One failure queue per function invoked asynchronously or by a stream: janitor, deliver, dispatch.
    const queues = template.findResources('AWS::SQS::Queue') as Record<string, Json>;
    expect(
      Object.keys(queues)
        .map((id) => id.replace(/[0-9A-F]{8}$/, ''))
        .sort(),
    ).toEqual(['StreambedDeliverFailures', 'StreambedDispatchFailures', 'StreambedJanitorFailures']);
    const [queueId, queue] = Object.entries(queues).find(([id]) => id.includes('JanitorFailures')) as [
      string,
      Json,
    ];
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: janitorRef(),
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 60,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } } },
    });
    // Encrypted, kept 14 days, TLS only.
    expect(queue.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 1_209_600 });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    // Only the janitor may send to it, and only send (each failure queue has its one sender).
    const sqs = statementsOf('janitor').filter((s) => asArray(s.Action).some((a) => a.startsWith('sqs:')));
    expect(sqs).toEqual([
      { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': [queueId, 'Arn'] } },
    ]);
    for (const concern of STREAMBED_CONCERNS.filter((c) => c.name !== 'janitor')) {
      expect(
        actionsOf(concern.name).filter((a) => a.startsWith('sqs:')),
        concern.name,
      ).toEqual([]);
    }
  });

  it('alarms when the janitor has not succeeded once in 15 minutes, counting silence as failure', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as Json[];
    const stalled = alarms.filter((alarm) => {
      const metrics = JSON.stringify((alarm.Properties as Json).Metrics ?? []);
      return metrics.includes('"Invocations"') && metrics.includes(JSON.stringify(janitorRef()));
    });
    expect(stalled).toHaveLength(1);
    const properties = stalled[0]?.Properties as Json;
    expect(properties).toMatchObject({
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      EvaluationPeriods: 1,
      TreatMissingData: 'breaching',
    });
    const metrics = properties.Metrics as Json[];
    const expression = metrics.find((m) => m.Expression !== undefined);
    expect(expression?.ReturnData ?? true).toBe(true);
    const inputs = metrics.filter((m) => m.MetricStat !== undefined) as Json[];
    expect(
      inputs
        .map((m) => (m.MetricStat as Json).Metric)
        .map((m) => (m as Json).MetricName)
        .sort(),
    ).toEqual(['Errors', 'Invocations']);
    for (const input of inputs) expect((input.MetricStat as Json).Period).toBe(900);
    const ids = Object.fromEntries(
      inputs.map((m) => [((m.MetricStat as Json).Metric as Json).MetricName, m.Id]),
    );
    expect(String(expression?.Expression).replace(/\s/g, '')).toBe(
      `FILL(${ids.Invocations},0)-FILL(${ids.Errors},0)`,
    );
  });
});

describe('alarms and outputs', () => {
  it('alarms on API 5xx, each function’s errors and throttles, and table throttles', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/ApiGateway',
      MetricName: '5xx',
    });
    for (const concern of FUNCTION_CONCERNS) {
      const fnRef = { Ref: logicalId(streambed.functions[concern.name] as IConstruct) };
      // The janitor runs one at a time by design (reserved concurrency 1): its throttles are expected.
      const metrics = concern.reservedConcurrency === undefined ? ['Errors', 'Throttles'] : ['Errors'];
      for (const metric of metrics) {
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          Namespace: 'AWS/Lambda',
          MetricName: metric,
          Dimensions: [{ Name: 'FunctionName', Value: fnRef }],
          Threshold: 1,
        });
      }
    }
    // Table throttles: a sum over the operations Streambed uses.
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as Json[];
    const throttled = alarms.filter((alarm) =>
      JSON.stringify((alarm.Properties as Json).Metrics ?? []).includes('"ThrottledRequests"'),
    );
    expect(throttled).toHaveLength(1);
    expect(JSON.stringify(throttled[0])).toContain('"TransactWriteItems"');
    expect(alarms).toHaveLength(expectedAlarmCount());
  });

  it('alarms when a function runs near its timeout (maximum duration ≥ 80 % of it), unless it works to a deadline', () => {
    for (const concern of FUNCTION_CONCERNS.filter((c) => !c.worksToDeadline)) {
      const fnRef = { Ref: logicalId(streambed.functions[concern.name] as IConstruct) };
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Lambda',
        MetricName: 'Duration',
        Dimensions: [{ Name: 'FunctionName', Value: fnRef }],
        Statistic: 'Maximum',
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: concern.timeout.toMilliseconds() * 0.8,
      });
    }
  });

  it("alarms when the Region's claimed Lambda concurrency nears the account quota (80 % of 1000)", () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'ClaimedAccountConcurrency',
      Dimensions: Match.absent(),
      Statistic: 'Maximum',
      Period: 60,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 800,
    });
  });

  it('prints the API URL, API id, execute-api ARN prefix, bucket name and table name', () => {
    template.hasOutput('ApiUrl', {
      Value: { 'Fn::Join': ['', Match.arrayWith(['https://', { Ref: logicalId(streambed.api) }])] },
    });
    // What callers write their execute-api:Invoke policies against: every method and path of the stage.
    template.hasOutput('ApiId', { Value: { Ref: logicalId(streambed.api) } });
    template.hasOutput('ExecuteApiArnPrefix', {
      Value: {
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':execute-api:',
            { Ref: 'AWS::Region' },
            ':',
            { Ref: 'AWS::AccountId' },
            ':',
            { Ref: logicalId(streambed.api) },
            '/$default/*',
          ],
        ],
      },
    });
    template.hasOutput('BucketName', { Value: { Ref: logicalId(streambed.bucket) } });
    template.hasOutput('TableName', { Value: { Ref: logicalId(streambed.table) } });
  });
});

describe('cdk-nag (AWS Solutions)', () => {
  it('reports no unacknowledged finding on the app', () => {
    // The synth in beforeAll would have thrown on an unacknowledged error; the report says why.
    const nag = validationReport.pluginReports.filter((report) => report.pluginName === 'AwsSolutions');
    expect(nag.flatMap((report) => report.violations)).toEqual([]);
  });

  it('acknowledges only known findings, each with a reason', () => {
    const acknowledged: { path: string; id: string; reason: string }[] = [];
    for (const construct of stack.node.findAll()) {
      for (const entry of construct.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
          acknowledged.push({ path: construct.node.path, id: id.replace(/^annotation::/i, ''), reason });
        }
      }
    }
    for (const { id, reason } of acknowledged) expect(reason.length, id).toBeGreaterThan(40);
    const bucketId = logicalId(streambed.bucket);
    expect(acknowledged.map(({ path, id }) => `${path} ${id}`).sort()).toEqual(
      [
        'Streambed/Streambed/Bucket AwsSolutions-S1',
        'Streambed/Streambed/Api/GET--v1--health AwsSolutions-APIG4',
        `Streambed/Streambed/ProduceRole AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/data/*]`,
        `Streambed/Streambed/FetchRole AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/data/*]`,
        `Streambed/Streambed/FetchRole AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/compacted/*]`,
        `Streambed/Streambed/SubscriptionsRole AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/data/*]`,
        `Streambed/Streambed/SubscriptionsRole AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/compacted/*]`,
        `Streambed/Streambed/JanitorRole AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/data/*]`,
        `Streambed/Streambed/JanitorRole AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/compacted/*]`,
        'Streambed/Streambed/JanitorFailures AwsSolutions-SQS3',
        `Streambed/Streambed/DeliverRole AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/data/*]`,
        `Streambed/Streambed/DeliverRole AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/compacted/*]`,
        'Streambed/Streambed/DeliverFailures AwsSolutions-SQS3',
        'Streambed/Streambed/DispatchFailures AwsSolutions-SQS3',
        'Streambed/Streambed/DispatchRole AwsSolutions-IAM5[Resource::*]',
      ].sort(),
    );
  });
});
