/**
 * The `rest` API flavor (`-c streambed:api=rest`, what `npm run deploy:local` deploys: LocalStack's
 * free edition serves REST APIs only): the real app, synthesized with cdk-nag, bundling skipped (the
 * main suite bundles). The same concern table builds it, so every route, grant and alarm of the HTTP
 * flavor must be here too, only in API Gateway v1 resources.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BATCHES_CONTENT_TYPE, PRODUCE_CONTENT_TYPE } from '../../client/wire/binary.ts';
import { createStreambedApp } from '../../lib/app.ts';
import { STREAMBED_CONCERNS, type Streambed } from '../../lib/streambed.ts';
import { CDK_CONTEXT } from '../support/cdk-context.ts';
import { expectedAlarmCount } from '../support/concerns.ts';

type Json = Record<string, unknown>;
interface Statement {
  Action: string | string[];
  Resource: unknown;
}
const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

let outdir: string;
let stack: Stack;
let streambed: Streambed;
let template: Template;
let resources: Record<string, Json>;

const logicalId = (construct: IConstruct): string =>
  stack.getLogicalId(construct.node.defaultChild as Parameters<Stack['getLogicalId']>[0]);

/** The full path of an AWS::ApiGateway::Resource (or of the root, `/`) from a ResourceId reference. */
function pathOf(reference: unknown): string {
  const ref = reference as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
  if (ref['Fn::GetAtt']?.[1] === 'RootResourceId') return '';
  const resource = resources[ref.Ref as string]?.Properties as Json;
  return `${pathOf(resource.ParentId)}/${resource.PathPart as string}`;
}

/** `METHOD /path` → the method's properties. */
function methods(): Map<string, Json> {
  const found = new Map<string, Json>();
  for (const method of Object.values(template.findResources('AWS::ApiGateway::Method')) as Json[]) {
    const properties = method.Properties as Json;
    const path = pathOf(properties.ResourceId) || '/';
    found.set(`${properties.HttpMethod as string} ${path}`, properties);
  }
  return found;
}

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'streambed-rest-'));
  const built = createStreambedApp({
    outdir,
    context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [], 'streambed:api': 'rest' },
  });
  stack = built.stack;
  streambed = built.stack.streambed;
  // cdk-nag runs inside the synth and throws on an unacknowledged finding.
  const assembly = built.app.synth();
  template = Template.fromJSON(assembly.getStackByName(stack.stackName).template);
  resources = template.toJSON().Resources;
}, 120_000);

afterAll(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

describe('REST API flavor', () => {
  it('is one regional REST API and nothing of API Gateway v2', () => {
    template.resourceCountIs('AWS::ApiGateway::RestApi', 1);
    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      EndpointConfiguration: { Types: ['REGIONAL'] },
    });
    for (const type of ['Api', 'Route', 'Integration', 'Stage']) {
      template.resourceCountIs(`AWS::ApiGatewayV2::${type}`, 0);
    }
  });

  it("treats exactly Streambed's binary content types as binary, so JSON stays text", () => {
    const api = Object.values(template.findResources('AWS::ApiGateway::RestApi'))[0] as Json;
    expect([...((api.Properties as Json).BinaryMediaTypes as string[])].sort()).toEqual(
      [BATCHES_CONTENT_TYPE, PRODUCE_CONTENT_TYPE].sort(),
    );
  });

  it("serves every concern's routes by a Lambda proxy integration of its function, IAM-authorized but health", () => {
    const found = methods();
    const expected = STREAMBED_CONCERNS.flatMap((concern) =>
      concern.routes.map((route) => ({ concern, key: `${route.method} ${route.path}`, route })),
    );
    expect([...found.keys()].sort()).toEqual(expected.map(({ key }) => key).sort());
    for (const { concern, key, route } of expected) {
      const method = found.get(key) as Json;
      expect(method.AuthorizationType, key).toBe(route.public ? 'NONE' : 'AWS_IAM');
      const integration = method.Integration as Json;
      expect(integration.Type, key).toBe('AWS_PROXY');
      expect(integration.IntegrationHttpMethod, key).toBe('POST');
      const fnId = logicalId(streambed.functions[concern.name] as IConstruct);
      expect(JSON.stringify(integration.Uri), key).toContain(`"${fnId}"`);
    }
    expect(found.get('ANY /schema-registry/{proxy+}')).toBeDefined();
    expect(expected.filter(({ route }) => route.public).map(({ key }) => key)).toEqual([
      `${HttpMethod.GET} /v1/health`,
    ]);
  });

  it('lets API Gateway invoke each routed function, and no other', () => {
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission')) as Json[];
    for (const concern of STREAMBED_CONCERNS) {
      const fnArn = { 'Fn::GetAtt': [logicalId(streambed.functions[concern.name] as IConstruct), 'Arn'] };
      const fromApi = permissions.filter(
        (p) =>
          (p.Properties as Json).Principal === 'apigateway.amazonaws.com' &&
          JSON.stringify((p.Properties as Json).FunctionName) === JSON.stringify(fnArn),
      );
      if (concern.routes.length > 0) expect(fromApi.length, concern.name).toBeGreaterThan(0);
      else expect(fromApi, concern.name).toEqual([]);
    }
  });

  it('throttles the stage, the health method far below it, and writes JSON access logs', () => {
    const stages = Object.values(template.findResources('AWS::ApiGateway::Stage')) as Json[];
    expect(stages).toHaveLength(1);
    const properties = stages[0]?.Properties as Json;
    expect(properties.StageName).toBe('prod');
    expect(properties.MethodSettings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          ResourcePath: '/*',
          HttpMethod: '*',
          ThrottlingRateLimit: 500,
          ThrottlingBurstLimit: 1000,
        }),
        expect.objectContaining({
          ResourcePath: '/~1v1~1health',
          HttpMethod: 'GET',
          ThrottlingRateLimit: 5,
          ThrottlingBurstLimit: 10,
        }),
      ]),
    );
    const logs = properties.AccessLogSetting as { DestinationArn: unknown; Format: string };
    const logGroups = Object.keys(template.findResources('AWS::Logs::LogGroup'));
    expect(logGroups.filter((id) => JSON.stringify(logs.DestinationArn).includes(`"${id}"`))).toHaveLength(1);
    expect(JSON.parse(logs.Format)).toMatchObject({
      requestId: '$context.requestId',
      caller: '$context.identity.userArn',
      status: '$context.status',
    });
  });

  it('grants each function what the HTTP flavor grants it', () => {
    const statementsOf = (concern: string): Statement[] => {
      const roleId = logicalId(streambed.functions[concern]?.role as IConstruct);
      return (Object.values(template.findResources('AWS::IAM::Policy')) as Json[])
        .filter((policy) => JSON.stringify((policy.Properties as Json).Roles).includes(`"${roleId}"`))
        .flatMap(
          (policy) => ((policy.Properties as Json).PolicyDocument as { Statement: Statement[] }).Statement,
        );
    };
    const actions = (concern: string) => [
      ...new Set(statementsOf(concern).flatMap((s) => asArray(s.Action))),
    ];
    expect(actions('fetch')).toEqual(
      expect.arrayContaining(['s3:GetObject', 's3:ListBucket', 'dynamodb:Query']),
    );
    expect(actions('produce')).toContain('s3:PutObject');
    expect(actions('produce')).not.toContain('s3:ListBucket');
    expect(actions('janitor')).toEqual(
      expect.arrayContaining(['s3:DeleteObject', 's3:ListBucket', 'sqs:SendMessage']),
    );
  });

  it('alarms on the REST API 5xx and on everything else the HTTP flavor alarms on', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/ApiGateway',
      MetricName: '5XXError',
      Dimensions: [{ Name: 'ApiName', Value: Match.anyValue() }],
    });
    template.resourceCountIs('AWS::CloudWatch::Alarm', expectedAlarmCount());
  });

  it('prints the URL with the stage, the API id and the execute-api ARN prefix of the stage', () => {
    const apiRef = { Ref: logicalId(streambed.api) };
    template.hasOutput('ApiId', { Value: apiRef });
    template.hasOutput('ApiUrl', {
      Value: { 'Fn::Join': ['', Match.arrayWith(['https://', apiRef, '/', { Ref: Match.anyValue() }, '/'])] },
    });
    const arn = JSON.stringify(template.findOutputs('ExecuteApiArnPrefix'));
    expect(arn).toContain(':execute-api:');
    expect(arn).toContain(JSON.stringify(apiRef));
    expect(arn).toContain('"/prod/*"');
  });

  it('acknowledges only the findings a REST API must have, each with a reason', () => {
    const acknowledged: string[] = [];
    for (const construct of stack.node.findAll()) {
      for (const entry of construct.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
          expect(reason.length, id).toBeGreaterThan(40);
          if (construct.node.path.startsWith('Streambed/Streambed/Api')) {
            acknowledged.push(`${construct.node.path} ${id.replace(/^annotation::/i, '')}`);
          }
        }
      }
    }
    expect(acknowledged.sort()).toEqual(
      [
        'Streambed/Streambed/Api AwsSolutions-APIG2',
        'Streambed/Streambed/Api AwsSolutions-APIG3',
        'Streambed/Streambed/Api AwsSolutions-APIG6',
        'Streambed/Streambed/Api AwsSolutions-COG4',
        'Streambed/Streambed/Api/Default/v1/health/GET AwsSolutions-APIG4',
      ].sort(),
    );
  });
});
