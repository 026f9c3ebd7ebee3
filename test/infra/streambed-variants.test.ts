import { App, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Schedule } from 'aws-cdk-lib/aws-events';
import { Key } from 'aws-cdk-lib/aws-kms';
import { BlockPublicAccess, Bucket, BucketEncryption } from 'aws-cdk-lib/aws-s3';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import {
  STREAMBED_CONCERNS,
  Streambed,
  type StreambedConcern,
  type StreambedProps,
} from '../../lib/streambed.ts';
import { StreambedStack, streambedPropsFromContext } from '../../lib/streambed-stack.ts';
import { CDK_CONTEXT } from '../support/cdk-context.ts';
import { FUNCTION_CONCERNS } from '../support/concerns.ts';

type Json = Record<string, unknown>;
interface Statement {
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}
const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** A test app: cdk.json's feature flags, no bundling, cdk-nag on. */
function newApp(context: Record<string, unknown> = {}): App {
  const app = new App({ context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [], ...context } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}

interface Synthesized {
  stack: Stack;
  streambed: Streambed;
  template: Template;
  logicalId(construct: IConstruct): string;
  actionsOf(concern: string): Statement[];
}

/** Synthesizes the app (throwing on any unacknowledged cdk-nag finding) and returns the template. */
function synth(app: App, stack: Stack, streambed: Streambed): Synthesized {
  const assembly = app.synth();
  const template = Template.fromJSON(assembly.getStackByName(stack.stackName).template);
  const logicalId = (construct: IConstruct) =>
    stack.getLogicalId(construct.node.defaultChild as Parameters<Stack['getLogicalId']>[0]);
  const actionsOf = (concern: string): Statement[] => {
    const role = streambed.functions[concern]?.role;
    if (role === undefined) throw new Error(`no function ${concern}`);
    const roleId = logicalId(role);
    return (Object.values(template.findResources('AWS::IAM::Policy')) as Json[])
      .filter((policy) => JSON.stringify((policy.Properties as Json).Roles).includes(`"${roleId}"`))
      .flatMap(
        (policy) => ((policy.Properties as Json).PolicyDocument as { Statement: Statement[] }).Statement,
      );
  };
  return { stack, streambed, template, logicalId, actionsOf };
}

function synthProps(props: StreambedProps, context: Record<string, unknown> = {}): Synthesized {
  const app = newApp(context);
  const stack = new StreambedStack(app, 'Variant', { streambed: props });
  return synth(app, stack, stack.streambed);
}

describe('props validation', () => {
  it('reports every problem in one error', () => {
    // Prepare: one mistake of each kind.
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Invalid');
    const badConcerns: StreambedConcern[] = [
      ...STREAMBED_CONCERNS,
      {
        name: 'Produce2',
        handlerFile: '../produce.ts',
        timeout: Duration.seconds(60),
        objects: 'write',
        meta: 'commit',
        routes: [
          { method: HttpMethod.POST, path: '/v1/topics/{topic}/records' },
          { method: HttpMethod.GET, path: '/v1/secret', public: true },
        ],
      },
      {
        name: 'sweeper',
        handlerFile: 'sweeper.ts',
        timeout: Duration.minutes(2),
        reservedConcurrency: 0,
        objects: 'none',
        meta: 'read',
        routes: [],
        schedule: Schedule.rate(Duration.minutes(1)),
      },
      {
        name: 'idle',
        handlerFile: 'idle.ts',
        timeout: Duration.minutes(20),
        objects: 'none',
        meta: 'read',
        routes: [],
      },
      {
        name: 'deliver',
        handlerFile: 'deliver.ts',
        timeout: Duration.seconds(29),
        objects: 'read',
        meta: 'read',
        routes: [{ method: HttpMethod.POST, path: '/v1/deliver' }],
      },
    ];
    // Act
    const build = () =>
      new Streambed(stack, 'Streambed', {
        bucket: { autoDeleteObjects: true, serverAccessLogsPrefix: 'logs/' },
        table: { removalPolicy: RemovalPolicy.DESTROY },
        auth: { type: 'jwt', issuer: 'http://insecure.example.com', audience: [] },
        throttle: { rateLimit: 0, burstLimit: 1.5 },
        healthThrottle: { rateLimit: 600, burstLimit: 0 },
        accountConcurrencyQuota: 0,
        concerns: badConcerns,
      });
    // Assess
    let message = '';
    try {
      build();
    } catch (error) {
      message = (error as Error).message;
    }
    const expected = [
      'bucket.autoDeleteObjects needs bucket.removalPolicy DESTROY',
      'table.removalPolicy DESTROY needs table.deletionProtection false',
      'bucket.serverAccessLogsPrefix is set without bucket.serverAccessLogsBucket',
      'auth.issuer must be an https:// URL',
      'auth.audience must list at least one audience',
      'throttle.rateLimit must be > 0',
      'throttle.burstLimit must be a positive integer',
      'healthThrottle.burstLimit must be a positive integer',
      "healthThrottle.rateLimit (600) must be below the stage's throttle.rateLimit (0)",
      'accountConcurrencyQuota must be a positive integer, got 0',
      'concern "Produce2": name must be lower-case',
      'concern "Produce2": handlerFile must be a .ts file name directly under lambdas/handlers/',
      'concern "Produce2": timeout 60 s exceeds 29 s',
      'concern "Produce2": route POST /v1/topics/{topic}/records is already served by produce',
      'concern "Produce2": route GET /v1/secret cannot be public',
      'concern "sweeper": timeout 120 s is not below its schedule\'s 60 s interval, so runs would overlap',
      'concern "sweeper": reservedConcurrency must be a positive integer, got 0',
      'concern "idle": has neither routes nor a schedule',
      'concern "idle": timeout 1200 s exceeds Lambda',
      `concern "deliver": the name is taken by the construct's own subscription functions`,
    ];
    for (const problem of expected) expect(message).toContain(problem);
    expect(message).toContain(`Invalid Streambed props (${expected.length}):`);
    // Nothing was built before the props were judged.
    expect(stack.node.tryFindChild('Streambed')?.node.children ?? []).toHaveLength(0);
  });

  it('accepts the defaults', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    expect(() => new Streambed(new Stack(app, 'Defaults'), 'Streambed')).not.toThrow();
  });
});

describe('JWT authorization', () => {
  it('replaces the IAM authorizer on every route but health', () => {
    const { template } = synthProps({
      auth: { type: 'jwt', issuer: 'https://auth.example.com/', audience: ['streambed-cli'] },
    });
    template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: { Issuer: 'https://auth.example.com/', Audience: ['streambed-cli'] },
    });
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')) as Json[];
    expect(routes.length).toBeGreaterThan(1);
    for (const route of routes) {
      const properties = route.Properties as Json;
      expect(properties.AuthorizationType, String(properties.RouteKey)).toBe(
        properties.RouteKey === 'GET /v1/health' ? 'NONE' : 'JWT',
      );
    }
  });

  it('comes from context: issuer and audience together', () => {
    const props = streambedPropsFromContext(
      new App({
        context: { 'streambed:jwtIssuer': 'https://auth.example.com/', 'streambed:jwtAudience': 'a, b' },
      }).node,
    );
    expect(props.auth).toEqual({ type: 'jwt', issuer: 'https://auth.example.com/', audience: ['a', 'b'] });
    expect(streambedPropsFromContext(new App().node).auth).toEqual({ type: 'iam' });
  });
});

describe('the scheduled janitor', () => {
  it('is a function on an EventBridge schedule with manage rights and its own alarms', () => {
    const { template, streambed, logicalId, actionsOf } = synthProps({});
    const fn = streambed.functions.janitor as IConstruct;
    const fnArn = { 'Fn::GetAtt': [logicalId(fn), 'Arn'] };
    template.hasResourceProperties('AWS::Lambda::Function', { Timeout: 50, Runtime: 'nodejs24.x' });
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: fnArn, RetryPolicy: { MaximumRetryAttempts: 0 } })],
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      FunctionName: fnArn,
    });
    // No route reaches it.
    const routes = JSON.stringify(template.findResources('AWS::ApiGatewayV2::Integration'));
    expect(routes).not.toContain(`"${logicalId(fn)}"`);
    // Objects: read, write and delete under data/ and compacted/.
    const statements = actionsOf('janitor');
    const bucketArn = { 'Fn::GetAtt': [logicalId(streambed.bucket), 'Arn'] };
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: ['s3:DeleteObject', 's3:GetObject', 's3:PutObject'],
        Resource: expect.arrayContaining([
          { 'Fn::Join': ['', [bucketArn, '/data/*']] },
          { 'Fn::Join': ['', [bucketArn, '/compacted/*']] },
        ]),
      }),
    );
    // The whole bucket, unconditioned: S3's 404-or-403 decision for a missing key carries no prefix.
    expect(statements).toContainEqual({ Effect: 'Allow', Action: 's3:ListBucket', Resource: bucketArn });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(fn) } }],
    });
  });
});

describe('customer managed keys', () => {
  it('encrypts bucket and table with them and grants each function only the key use it needs', () => {
    const app = newApp();
    const stack = new Stack(app, 'Keys');
    const objectsKey = new Key(stack, 'ObjectsKey', { enableKeyRotation: true });
    const metaKey = new Key(stack, 'MetaKey', { enableKeyRotation: true });
    const streambed = new Streambed(stack, 'Streambed', {
      bucket: { encryptionKey: objectsKey },
      table: { encryptionKey: metaKey },
    });
    const { template, logicalId, actionsOf } = synth(app, stack, streambed);
    const objectsKeyArn = { 'Fn::GetAtt': [logicalId(objectsKey), 'Arn'] };
    const metaKeyArn = { 'Fn::GetAtt': [logicalId(metaKey), 'Arn'] };

    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          Match.objectLike({
            BucketKeyEnabled: true,
            ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: objectsKeyArn },
          }),
        ],
      },
    });
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: metaKeyArn },
    });

    const keyActions = (concern: string, keyArn: unknown) =>
      actionsOf(concern)
        .filter((s) => JSON.stringify(s.Resource) === JSON.stringify(keyArn))
        .flatMap((s) => asArray(s.Action))
        .sort();
    expect(keyActions('produce', objectsKeyArn)).toEqual(['kms:GenerateDataKey']);
    expect(keyActions('fetch', objectsKeyArn)).toEqual(['kms:Decrypt']);
    expect(keyActions('admin', objectsKeyArn)).toEqual([]);
    expect(keyActions('fetch', metaKeyArn)).toEqual(['kms:Decrypt', 'kms:DescribeKey']);
    expect(keyActions('produce', metaKeyArn)).toEqual(
      ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'].sort(),
    );
  });
});

describe('other options', () => {
  it('tracing: active on every function, and the X-Ray statement is acknowledged', () => {
    const { template } = synthProps({ tracing: true });
    const functions = Object.values(template.findResources('AWS::Lambda::Function')) as Json[];
    expect(functions).toHaveLength(FUNCTION_CONCERNS.length);
    for (const fn of functions) expect((fn.Properties as Json).TracingConfig).toEqual({ Mode: 'Active' });
  });

  it('removalPolicy=destroy from context: everything goes with the stack', () => {
    const app = newApp({ 'streambed:removalPolicy': 'destroy' });
    const stack = new StreambedStack(app, 'Disposable', { streambed: streambedPropsFromContext(app.node) });
    const { template } = synth(app, stack, stack.streambed);
    template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Delete' });
    template.resourceCountIs('Custom::S3AutoDeleteObjects', 1);
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      Properties: Match.objectLike({ DeletionProtectionEnabled: false }),
    });
    for (const group of Object.values(template.findResources('AWS::Logs::LogGroup')) as Json[]) {
      expect(group.DeletionPolicy).toBe('Delete');
    }
  });

  it('rejects unknown context values, all at once', () => {
    const app = new App({
      context: {
        'streambed:removalPolicy': 'sometimes',
        'streambed:tracing': 'yes',
        'streambed:api': 'graphql',
        'streambed:jwtIssuer': 'https://auth.example.com/',
      },
    });
    expect(() => streambedPropsFromContext(app.node)).toThrow(
      /Invalid Streambed context \(4\):[\s\S]*removalPolicy[\s\S]*tracing[\s\S]*api must be http or rest[\s\S]*go together/,
    );
  });

  it('api flavor from context: http by default, rest when asked for', () => {
    expect(streambedPropsFromContext(new App().node).api).toBe('http');
    expect(streambedPropsFromContext(new App({ context: { 'streambed:api': 'rest' } }).node).api).toBe(
      'rest',
    );
  });

  it('refuses what a REST API cannot do: JWT auth and CORS', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    expect(
      () =>
        new Streambed(new Stack(app, 'RestJwt'), 'Streambed', {
          api: 'rest',
          auth: { type: 'jwt', issuer: 'https://auth.example.com/', audience: ['a'] },
          cors: { allowOrigins: ['https://console.example.com'] },
        }),
    ).toThrow(/Invalid Streambed props \(2\):[\s\S]*auth jwt needs api 'http'[\s\S]*cors needs api 'http'/);
  });

  it('server access logs, CORS and alarm actions when asked for', () => {
    const app = newApp();
    const stack = new Stack(app, 'Extras');
    const logs = new Bucket(stack, 'AccessLogs', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
    });
    Validations.of(logs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This bucket receives the access logs; logging it into itself would loop.',
    });
    const topic = new Topic(stack, 'Alarms', { enforceSSL: true });
    const streambed = new Streambed(stack, 'Streambed', {
      bucket: { serverAccessLogsBucket: logs },
      cors: { allowOrigins: ['https://console.example.com'], allowMethods: [] },
      alarmActions: [new SnsAction(topic)],
    });
    const { template, logicalId } = synth(app, stack, streambed);
    template.hasResourceProperties('AWS::S3::Bucket', {
      LoggingConfiguration: { DestinationBucketName: { Ref: logicalId(logs) }, LogFilePrefix: 'streambed/' },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: Match.objectLike({ AllowOrigins: ['https://console.example.com'] }),
    });
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as Json[];
    expect(alarms.length).toBe(streambed.alarms.length);
    for (const alarm of alarms) {
      expect((alarm.Properties as Json).AlarmActions).toEqual([{ Ref: logicalId(topic) }]);
    }
    // With real access logs, the bucket carries no S1 acknowledgement.
    const acknowledged = streambed.bucket.node.metadata.filter(
      (entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY,
    );
    expect(acknowledged).toEqual([]);
  });
});
