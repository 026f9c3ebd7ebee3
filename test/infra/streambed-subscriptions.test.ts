/**
 * Subscriptions on the deployed stack (DESIGN §12): the table's stream, the dispatcher's event source
 * mapping and its filters, the deliverer, the janitor's sweep wiring, and `addSubscription` (grants,
 * environment, the custom resource, prop validation). Template assertions on apps synthesized without
 * bundling and with cdk-nag's AWS Solutions checks on (synth throws on an unacknowledged finding).
 */
import { App, Duration, type Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { batchKey, leaseKey, partitionKey, subscriptionKey, topicKey } from '../../lambdas/core/layout.ts';
import {
  STREAMBED_CONCERNS,
  type Streambed,
  type StreambedProps,
  type StreambedSubscriptionOptions,
} from '../../lib/streambed.ts';
import { StreambedStack } from '../../lib/streambed-stack.ts';
import { matchesPattern } from '../stack/stream-mapping.ts';
import { CDK_CONTEXT } from '../support/cdk-context.ts';

type Json = Record<string, unknown>;
interface Statement {
  Action: string | string[];
  Resource: unknown;
}
const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

const TARGET_ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:orders-handler';
const OTHER_ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:audit-handler';

/** A stack of the app's shape; `declare` adds subscriptions before synth. */
function build(props: StreambedProps = {}, declare: (streambed: Streambed, stack: Stack) => void = () => {}) {
  const app = new App({ context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new StreambedStack(app, 'Subscriptions', { streambed: props });
  declare(stack.streambed, stack);
  const template = Template.fromJSON(app.synth().getStackByName(stack.stackName).template);
  const logicalId = (construct: IConstruct) =>
    stack.getLogicalId(construct.node.defaultChild as Parameters<Stack['getLogicalId']>[0]);
  const resource = (construct: IConstruct) => template.toJSON().Resources[logicalId(construct)] as Json;
  /** Every statement of the policies attached to a function's role. */
  const statementsOf = (concern: string): Statement[] => {
    const role = stack.streambed.functions[concern]?.role;
    if (role === undefined) throw new Error(`no function ${concern}`);
    return (Object.values(template.findResources('AWS::IAM::Policy')) as Json[])
      .filter((policy) => JSON.stringify((policy.Properties as Json).Roles).includes(`"${logicalId(role)}"`))
      .flatMap(
        (policy) => ((policy.Properties as Json).PolicyDocument as { Statement: Statement[] }).Statement,
      );
  };
  const invokeResources = (concern: string): unknown[] =>
    statementsOf(concern)
      .filter((s) => asArray(s.Action).includes('lambda:InvokeFunction'))
      .flatMap((s) => asArray(s.Resource));
  const environmentOf = (concern: string): Record<string, unknown> =>
    ((resource(stack.streambed.functions[concern] as IConstruct).Properties as Json).Environment as Json)
      .Variables as Record<string, unknown>;
  return {
    stack,
    streambed: stack.streambed,
    template,
    logicalId,
    statementsOf,
    invokeResources,
    environmentOf,
  };
}

const withTarget =
  (options: Partial<StreambedSubscriptionOptions> = {}, name = 'orders-to-handler') =>
  (streambed: Streambed, stack: Stack) => {
    const fn = LambdaFunction.fromFunctionArn(stack, `Target-${name}`, TARGET_ARN);
    streambed.addSubscription(name, {
      topic: 'orders',
      function: fn,
      functionTimeout: Duration.minutes(1),
      ...options,
    });
  };

describe('the table stream and the dispatcher', () => {
  const { template, streambed, logicalId, statementsOf, invokeResources, environmentOf } = build();

  it('streams new and old images of every item', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
    });
  });

  it('maps the stream to the dispatcher: from LATEST, 100 at a time, bisecting, bounded retries, partial batch responses, failures kept', () => {
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: logicalId(streambed.dispatcher) },
      EventSourceArn: { 'Fn::GetAtt': [logicalId(streambed.table), 'StreamArn'] },
      StartingPosition: 'LATEST',
      BatchSize: 100,
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 3,
      MaximumRecordAgeInSeconds: 300,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('DispatchFailures'), 'Arn'] } },
      },
    });
  });

  it('is invoked only for inserted or changed partition items and subscription items', () => {
    const mapping = Object.values(template.findResources('AWS::Lambda::EventSourceMapping'))[0] as Json;
    const filters = ((mapping.Properties as Json).FilterCriteria as { Filters: { Pattern: string }[] })
      .Filters;
    const patterns = filters.map((f) => JSON.parse(f.Pattern) as Parameters<typeof matchesPattern>[0]);
    expect(patterns).toEqual([
      {
        eventName: ['INSERT', 'MODIFY'],
        dynamodb: { Keys: { pk: { S: [{ prefix: 'part#' }] }, sk: { S: ['meta'] } } },
      },
      { eventName: ['INSERT', 'MODIFY'], dynamodb: { Keys: { pk: { S: ['subscriptions'] } } } },
    ]);
    // The keys as lambdas/core/layout.ts writes them.
    const invokes = (eventName: string, key: { pk: string; sk: string }) =>
      patterns.some((pattern) =>
        matchesPattern(pattern, { eventName, dynamodb: { Keys: { pk: { S: key.pk }, sk: { S: key.sk } } } }),
      );
    expect(invokes('MODIFY', partitionKey('01J0TOPIC', 3))).toBe(true);
    expect(invokes('INSERT', subscriptionKey('orders-to-handler'))).toBe(true);
    expect(invokes('MODIFY', subscriptionKey('orders-to-handler'))).toBe(true);
    expect(invokes('REMOVE', subscriptionKey('orders-to-handler'))).toBe(false);
    expect(invokes('REMOVE', partitionKey('01J0TOPIC', 3))).toBe(false);
    expect(invokes('INSERT', batchKey('01J0TOPIC', 3, 42))).toBe(false);
    expect(invokes('MODIFY', leaseKey('subscription:orders-to-handler', 'orders', 3))).toBe(false);
    expect(invokes('MODIFY', topicKey('orders'))).toBe(false);
  });

  it('lets the dispatcher read the table and its stream and invoke the deliverer, nothing else', () => {
    const actions = [...new Set(statementsOf('dispatch').flatMap((s) => asArray(s.Action)))].sort();
    expect(actions).toEqual(
      [
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'dynamodb:BatchGetItem',
        'dynamodb:GetItem',
        'dynamodb:Query',
        'dynamodb:DescribeStream',
        'dynamodb:GetRecords',
        'dynamodb:GetShardIterator',
        'dynamodb:ListStreams',
        'lambda:InvokeFunction',
        'sqs:SendMessage',
      ].sort(),
    );
    expect(invokeResources('dispatch')).toEqual([{ 'Fn::GetAtt': [logicalId(streambed.deliverer), 'Arn'] }]);
    expect(environmentOf('dispatch').STREAMBED_DELIVER_FUNCTION).toEqual({
      Ref: logicalId(streambed.deliverer),
    });
  });
});

describe('the deliverer', () => {
  const { template, streambed, logicalId, statementsOf, invokeResources, environmentOf } = build();
  const delivererArn = { 'Fn::GetAtt': [logicalId(streambed.deliverer), 'Arn'] };

  it('runs on arm64 nodejs with 512 MB for at most 15 minutes, and has no near-timeout alarm (it works to a deadline)', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      MemorySize: 512,
      Timeout: 900,
      Environment: { Variables: Match.objectLike({ STREAMBED_TABLE: { Ref: logicalId(streambed.table) } }) },
      Description: 'Streambed deliver',
    });
    const fnRef = { Ref: logicalId(streambed.deliverer) };
    const alarms = (Object.values(template.findResources('AWS::CloudWatch::Alarm')) as Json[]).filter((a) =>
      JSON.stringify(a).includes(JSON.stringify(fnRef)),
    );
    expect(alarms.map((a) => (a.Properties as Json).MetricName).sort()).toEqual(['Errors', 'Throttles']);
  });

  it('drops wake-ups older than 2 minutes or failed, without retries, into its failure queue', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: logicalId(streambed.deliverer) },
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 120,
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('DeliverFailures'), 'Arn'] } },
      },
    });
  });

  it('reads and writes the table (deleting only what its claims re-created), reads objects and writes new ones under data/ only, and invokes itself', () => {
    const actions = [...new Set(statementsOf('deliver').flatMap((s) => asArray(s.Action)))].sort();
    expect(actions).toEqual(
      [
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'dynamodb:BatchGetItem',
        'dynamodb:ConditionCheckItem',
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        's3:GetObject',
        's3:ListBucket',
        's3:PutObject',
        'lambda:InvokeFunction',
        'sqs:SendMessage',
      ].sort(),
    );
    const puts = statementsOf('deliver').filter((s) => asArray(s.Action).includes('s3:PutObject'));
    expect(puts.map((s) => JSON.stringify(s.Resource))).toEqual([expect.stringMatching(/"\/data\/\*"/)]);
    expect(JSON.stringify(puts)).not.toContain('compacted/');
    expect(invokeResources('deliver')).toEqual([delivererArn]);
    // No subscriptions declared: no target list at all.
    expect(environmentOf('deliver').STREAMBED_SUBSCRIPTION_FUNCTIONS).toBeUndefined();
    expect(environmentOf('deliver').STREAMBED_ALLOW_PRIVATE_URLS).toBeUndefined();
    // Only URL targets: the longest call it waits out is a URL call's 30 s.
    expect(environmentOf('deliver').STREAMBED_TARGET_TIMEOUT_MS).toBe('30000');
  });

  it("is the janitor's to wake: its name and the invoke right on it alone", () => {
    expect(environmentOf('janitor').STREAMBED_DELIVER_FUNCTION).toEqual({
      Ref: logicalId(streambed.deliverer),
    });
    expect(invokeResources('janitor')).toEqual([delivererArn]);
    for (const concern of ['admin', 'produce', 'fetch', 'groups', 'schemas']) {
      expect(invokeResources(concern), concern).toEqual([]);
      expect(environmentOf(concern).STREAMBED_DELIVER_FUNCTION, concern).toBeUndefined();
    }
  });
});

describe('addSubscription', () => {
  it('grants the deliverer lambda:InvokeFunction on exactly the target function and itself, never on *', () => {
    const { streambed, logicalId, template, invokeResources } = build({}, (streambed, stack) => {
      withTarget()(streambed, stack);
      // A second subscription to the same function adds no second grant.
      withTarget({ topic: 'payments' }, 'payments-to-handler')(streambed, stack);
    });
    expect(invokeResources('deliver')).toEqual([
      TARGET_ARN,
      { 'Fn::GetAtt': [logicalId(streambed.deliverer), 'Arn'] },
    ]);
    // Nowhere in the stack is lambda:InvokeFunction granted on every function, or on a pattern.
    for (const policy of Object.values(template.findResources('AWS::IAM::Policy')) as Json[]) {
      for (const statement of ((policy.Properties as Json).PolicyDocument as { Statement: Statement[] })
        .Statement) {
        if (!asArray(statement.Action).some((a) => a.startsWith('lambda:'))) continue;
        expect(asArray(statement.Resource)).not.toContain('*');
        expect(JSON.stringify(statement.Resource)).not.toMatch(/function:\*|:function:[^"]*\*/);
      }
    }
  });

  it('creates the subscription with a custom resource carrying its properties', () => {
    const { template } = build({}, (streambed, stack) =>
      withTarget({
        batchSize: 25,
        maxBatchingWindow: Duration.millis(1500),
        maxRetryAttempts: 3,
        deadLetterTopic: 'orders.dlt',
        bisectBatchOnError: true,
        startingPosition: { timestamp: 1_700_000_000_000 },
        enabled: false,
        createTopic: { partitions: 6 },
      })(streambed, stack),
    );
    template.resourceCountIs('Custom::StreambedSubscription', 1);
    template.hasResourceProperties('Custom::StreambedSubscription', {
      ServiceToken: { 'Fn::GetAtt': [Match.stringLikeRegexp('SubscriptionProviderframeworkonEvent'), 'Arn'] },
      Name: 'orders-to-handler',
      Topic: 'orders',
      Function: TARGET_ARN,
      BatchSize: 25,
      MaxBatchingWindowMs: 1500,
      MaxRetryAttempts: 3,
      DeadLetterTopic: 'orders.dlt',
      BisectBatchOnError: true,
      StartingPosition: 1_700_000_000_000,
      Enabled: false,
      CreateTopicPartitions: 6,
    });
    // Left-out options are left out (the handler applies the service's defaults).
    const { template: plain } = build({}, withTarget());
    const [resource] = Object.values(plain.findResources('Custom::StreambedSubscription')) as Json[];
    expect(Object.keys(resource?.Properties as Json).sort()).toEqual([
      'Function',
      'Name',
      'ServiceToken',
      'Topic',
    ]);
  });

  it('tells the deliverer, the resource handler and the subscription routes which functions are targets', () => {
    // The default concern table has the function serving /v1/subscriptions.
    const { environmentOf } = build({ allowPrivateUrlTargets: true }, (streambed, stack) => {
      withTarget()(streambed, stack);
      streambed.addSubscription('audit', {
        topic: 'orders',
        function: LambdaFunction.fromFunctionArn(stack, 'Audit', OTHER_ARN),
        functionTimeout: Duration.seconds(30),
      });
    });
    for (const concern of ['deliver', 'subscription-resource', 'subscriptions']) {
      expect(environmentOf(concern), concern).toMatchObject({
        STREAMBED_SUBSCRIPTION_FUNCTIONS: `${TARGET_ARN},${OTHER_ARN}`,
        STREAMBED_ALLOW_PRIVATE_URLS: 'true',
      });
    }
    for (const concern of ['admin', 'janitor', 'dispatch']) {
      expect(environmentOf(concern).STREAMBED_SUBSCRIPTION_FUNCTIONS, concern).toBeUndefined();
      expect(environmentOf(concern).STREAMBED_ALLOW_PRIVATE_URLS, concern).toBeUndefined();
    }
  });

  it('works on a concern table without the subscription routes', () => {
    const concerns = STREAMBED_CONCERNS.filter((c) => c.name !== 'subscriptions');
    const { environmentOf, streambed } = build({ concerns }, withTarget());
    expect(streambed.functions.subscriptions).toBeUndefined();
    expect(environmentOf('deliver').STREAMBED_SUBSCRIPTION_FUNCTIONS).toBe(TARGET_ARN);
  });

  it('runs the Provider framework with its own role and log group, no managed policy, cdk-nag clean', () => {
    const { template } = build({}, withTarget());
    for (const role of Object.values(template.findResources('AWS::IAM::Role')) as Json[]) {
      expect((role.Properties as Json).ManagedPolicyArns).toBeUndefined();
    }
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('AWS CDK resource provider framework - onEvent'),
      LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('SubscriptionProviderLogs') } },
    });
  });

  it("waits out the longest target function's timeout: read from the function, or given for an imported one", () => {
    const { environmentOf } = build({}, (streambed, stack) => {
      withTarget({ functionTimeout: Duration.minutes(2) }, 'a')(streambed, stack);
      const own = new LambdaFunction(stack, 'Own', {
        runtime: Runtime.NODEJS_22_X,
        handler: 'index.handler',
        code: Code.fromInline('exports.handler = async () => ({})'),
        timeout: Duration.minutes(7),
      });
      // A user's function, not Streambed's: its own findings are the user's to settle.
      Validations.of(own).acknowledge(
        {
          id: 'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
          reason: 'a test target',
        },
        { id: 'AwsSolutions::AwsSolutions-L1', reason: 'a test target' },
      );
      streambed.addSubscription('b', { topic: 'orders', function: own });
    });
    expect(environmentOf('deliver').STREAMBED_TARGET_TIMEOUT_MS).toBe(String(7 * 60_000));
  });

  it('refuses a target whose timeout is unknown or longer than 13 minutes', () => {
    const attempt = (options: Partial<StreambedSubscriptionOptions>) => () =>
      build({}, (streambed, stack) => withTarget(options, 'slow')(streambed, stack));
    expect(attempt({ functionTimeout: undefined })).toThrow(/functionTimeout is required/);
    expect(attempt({ functionTimeout: Duration.minutes(14) })).toThrow(
      /the target function's timeout \(14 minutes\) is over 13 minutes/,
    );
  });

  it('refuses bad options at synth, naming each', () => {
    const attempt = (name: string, options: Partial<StreambedSubscriptionOptions>) => () =>
      build({}, (streambed, stack) => withTarget(options, name)(streambed, stack));
    expect(
      attempt('orders to handler', {
        topic: '',
        batchSize: 0,
        maxBatchingWindow: Duration.minutes(6),
        maxRetryAttempts: 2,
        startingPosition: 'newest' as 'latest',
        createTopic: { partitions: 0 },
      }),
    ).toThrow(
      /Invalid Streambed subscription "orders to handler" \(7\):[\s\S]*name "orders to handler" is invalid[\s\S]*topic: topic name "" is invalid[\s\S]*batchSize must be an integer from 1 to 10000, got 0[\s\S]*maxBatchingWindow must be whole milliseconds from 0 to 300 s[\s\S]*maxRetryAttempts needs deadLetterTopic[\s\S]*startingPosition must be[\s\S]*createTopic.partitions must be a positive integer, got 0/,
    );
    expect(attempt('a', { deadLetterTopic: 'orders' })).toThrow(
      /deadLetterTopic must differ from topic orders/,
    );
    expect(attempt('a', { maxRetryAttempts: 10_001, deadLetterTopic: 'dlt' })).toThrow(
      /maxRetryAttempts must be an integer from 0 to 10000, got 10001/,
    );
    expect(() =>
      build({}, (streambed, stack) => {
        withTarget()(streambed, stack);
        const other = LambdaFunction.fromFunctionArn(stack, 'Other', OTHER_ARN);
        streambed.addSubscription('orders-to-handler', { topic: 'payments', function: other });
      }),
    ).toThrow(/name "orders-to-handler" is already a subscription of this stack/);
  });
});
