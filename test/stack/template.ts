/**
 * Reads a synthesized CloudFormation template the way a deploy would use it: resources get physical
 * names, intrinsic functions (`Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Sub`, …) are resolved against
 * them, and what the offline stack needs is pulled out — functions with their bundle, environment,
 * timeout and role; each role's policy statements; the API's routes and authorization; schedules; the
 * table and the bucket; event source mappings on table streams; custom resources.
 *
 * Nothing here knows Streambed's construct: it reads standard resource types, so a renamed
 * environment variable, a route that is missing or a statement that was dropped reaches the offline
 * stack exactly as it would reach AWS. An intrinsic or a reference it cannot resolve is an error that
 * names it, never a silent empty string.
 */
import { join } from 'node:path';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export interface Resource {
  Type: string;
  Properties?: JsonObject;
  DependsOn?: string | string[];
}

export interface Template {
  Resources: Record<string, Resource>;
  Outputs?: Record<string, { Value: Json; Description?: string }>;
}

/** Where the "deployed" stack lives: what the pseudo parameters resolve to. */
export interface Environment {
  region: string;
  accountId: string;
  stackName: string;
}

export const OFFLINE_ENVIRONMENT: Environment = {
  region: 'us-east-1',
  accountId: '000000000000',
  stackName: 'Streambed',
};

export interface PolicyStatement {
  Effect: 'Allow' | 'Deny';
  Action: string[];
  Resource: string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface FunctionSpec {
  logicalId: string;
  /** The physical name the offline stack gives it (also AWS_LAMBDA_FUNCTION_NAME). */
  name: string;
  arn: string;
  /** The bundle directory (cdk.out asset) and the module file `Handler` names. */
  codeDir: string;
  handlerFile: string;
  handlerExport: string;
  runtime: string;
  environment: Record<string, string>;
  timeoutSeconds: number;
  memoryMb: number;
  reservedConcurrency: number | undefined;
  roleLogicalId: string;
  roleArn: string;
}

export interface RouteSpec {
  /** `GET`, …, or `ANY`. */
  method: string;
  /** API Gateway path: `/v1/topics/{topic}`, `/schema-registry/{proxy+}`. */
  path: string;
  authorization: 'NONE' | 'AWS_IAM' | string;
  /** Logical id of the function the integration invokes; undefined when the target is not a Lambda. */
  functionLogicalId: string | undefined;
  /** Payload format the function receives: `2.0` (HTTP API) or `1.0` (REST API, Lambda proxy). */
  payloadFormat: '1.0' | '2.0';
}

export interface ApiSpec {
  kind: 'http' | 'rest';
  logicalId: string;
  id: string;
  /** Stage name as it appears in URLs; `$default` stages add nothing to the path. */
  stage: string;
  routes: RouteSpec[];
  /** REST APIs: content types passed to functions as base64 (binaryMediaTypes). */
  binaryMediaTypes: string[];
}

export interface ScheduleSpec {
  ruleLogicalId: string;
  expression: string;
  functionLogicalId: string;
}

/** An event source mapping of a table's stream (`AWS::Lambda::EventSourceMapping`). */
export interface StreamMappingSpec {
  logicalId: string;
  functionLogicalId: string;
  tableLogicalId: string;
  /** The stream's ARN as the template names it. */
  sourceArn: string;
  batchSize: number;
  startingPosition: string;
  /** The parsed `FilterCriteria` patterns; a record passes when any one matches. */
  filters: JsonObject[];
  reportBatchItemFailures: boolean;
  maxRetryAttempts: number;
  bisectBatchOnError: boolean;
}

/** A custom resource, its properties resolved (without `ServiceToken`), and the function behind it. */
export interface CustomResourceSpec {
  logicalId: string;
  type: string;
  serviceTokenFunctionLogicalId: string;
  properties: JsonObject;
}

export interface StackModel {
  environment: Environment;
  streamMappings: StreamMappingSpec[];
  customResources: CustomResourceSpec[];
  functions: FunctionSpec[];
  /** Statements of every role, by role logical id (inline policies and AWS::IAM::Policy resources). */
  roleStatements: Map<string, PolicyStatement[]>;
  api: ApiSpec;
  schedules: ScheduleSpec[];
  tables: { logicalId: string; name: string; properties: JsonObject }[];
  buckets: { logicalId: string; name: string }[];
  /** Functions API Gateway may invoke (AWS::Lambda::Permission for apigateway.amazonaws.com). */
  apiInvokable: Set<string>;
  outputs: Record<string, string>;
}

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A physical name in the style CloudFormation generates (stack, logical id, suffix), lower-cased where S3 requires. */
function physicalName(environment: Environment, logicalId: string, type: string): string {
  const suffix = logicalId.slice(-8).toLowerCase();
  const base = `${environment.stackName}-${logicalId.replace(/[0-9A-F]{8}$/, '')}`;
  if (type === 'AWS::S3::Bucket') return `${base.toLowerCase().slice(0, 40)}-${suffix}`;
  return `${base.slice(0, 50)}-${suffix}`;
}

function arnOf(environment: Environment, type: string, name: string): string {
  const { region, accountId } = environment;
  switch (type) {
    case 'AWS::S3::Bucket':
      return `arn:aws:s3:::${name}`;
    case 'AWS::DynamoDB::Table':
      return `arn:aws:dynamodb:${region}:${accountId}:table/${name}`;
    case 'AWS::Lambda::Function':
      return `arn:aws:lambda:${region}:${accountId}:function:${name}`;
    case 'AWS::IAM::Role':
      return `arn:aws:iam::${accountId}:role/${name}`;
    case 'AWS::Logs::LogGroup':
      return `arn:aws:logs:${region}:${accountId}:log-group:${name}:*`;
    case 'AWS::SQS::Queue':
      return `arn:aws:sqs:${region}:${accountId}:${name}`;
    case 'AWS::SNS::Topic':
      return `arn:aws:sns:${region}:${accountId}:${name}`;
    case 'AWS::KMS::Key':
      return `arn:aws:kms:${region}:${accountId}:key/${name}`;
    default:
      return `arn:aws:offline:${region}:${accountId}:${type}/${name}`;
  }
}

export class TemplateResolver {
  readonly names = new Map<string, string>();

  constructor(
    readonly template: Template,
    readonly environment: Environment,
  ) {
    for (const [logicalId, resource] of Object.entries(template.Resources)) {
      const explicit = resource.Properties?.[nameProperty(resource.Type)];
      this.names.set(
        logicalId,
        typeof explicit === 'string' ? explicit : physicalName(environment, logicalId, resource.Type),
      );
    }
  }

  private resource(logicalId: string): Resource {
    const resource = this.template.Resources[logicalId];
    if (resource === undefined) throw new Error(`template: no resource ${logicalId}`);
    return resource;
  }

  /** `Ref` of a resource or a pseudo parameter. */
  ref(name: string): string {
    switch (name) {
      case 'AWS::Region':
        return this.environment.region;
      case 'AWS::AccountId':
        return this.environment.accountId;
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return this.environment.stackName;
      case 'AWS::NoValue':
        throw new Error('template: AWS::NoValue outside a property');
    }
    const resource = this.resource(name);
    const physical = this.names.get(name) as string;
    // Ref of a queue is its URL; of a role, function, table, bucket, API, its name or id.
    if (resource.Type === 'AWS::SQS::Queue') return `https://sqs.offline/${physical}`;
    return physical;
  }

  getAtt(logicalId: string, attribute: string): string {
    const resource = this.resource(logicalId);
    const name = this.names.get(logicalId) as string;
    if (attribute === 'Arn') return arnOf(this.environment, resource.Type, name);
    if (attribute === 'RootResourceId') return `${name}-root`;
    if (attribute === 'QueueName') return name;
    // The table's stream (the label is DynamoDB's to choose; any one stands for it here).
    if (attribute === 'StreamArn' && resource.Type === 'AWS::DynamoDB::Table') {
      return `${arnOf(this.environment, resource.Type, name)}/stream/offline`;
    }
    if (attribute === 'ApiEndpoint')
      return `https://${name}.execute-api.${this.environment.region}.amazonaws.com`;
    throw new Error(`template: Fn::GetAtt ${logicalId}.${attribute} is not emulated`);
  }

  /** Resolves every intrinsic function inside `value`. */
  resolve(value: Json | undefined): Json {
    if (value === undefined) throw new Error('template: missing value');
    if (Array.isArray(value)) return value.map((item) => this.resolve(item));
    if (!isObject(value)) return value;
    const keys = Object.keys(value);
    if (keys.length === 1) {
      const [key] = keys as [string];
      const argument = value[key] as Json;
      switch (key) {
        case 'Ref':
          return this.ref(String(argument));
        case 'Fn::GetAtt': {
          const [logicalId, attribute] = Array.isArray(argument)
            ? (argument as string[])
            : String(argument).split('.');
          return this.getAtt(String(logicalId), String(attribute));
        }
        case 'Fn::Join': {
          const [separator, items] = argument as [string, Json];
          return (this.resolve(items) as Json[]).map(String).join(separator);
        }
        case 'Fn::Sub': {
          const [text, variables] = Array.isArray(argument)
            ? (argument as [string, JsonObject])
            : [String(argument), {}];
          return text.replace(/\$\{([^}]+)\}/g, (_match, name: string) => {
            if (name in variables) return String(this.resolve(variables[name]));
            const [logicalId, attribute] = name.split('.');
            return attribute === undefined ? this.ref(name) : this.getAtt(logicalId as string, attribute);
          });
        }
        case 'Fn::Select': {
          const [index, list] = argument as [Json, Json];
          const items = this.resolve(list) as Json[];
          return items[Number(this.resolve(index))] ?? null;
        }
        case 'Fn::Split': {
          const [separator, text] = argument as [string, Json];
          return String(this.resolve(text)).split(separator);
        }
        case 'Fn::If':
        case 'Fn::ImportValue':
        case 'Fn::FindInMap':
        case 'Fn::GetAZs':
        case 'Fn::Base64':
          throw new Error(`template: ${key} is not emulated by the offline stack`);
      }
    }
    const out: JsonObject = {};
    for (const [key, item] of Object.entries(value)) out[key] = this.resolve(item);
    return out;
  }

  /** A reference (`Ref` or `Fn::GetAtt`) back to the logical id it names, or undefined. */
  referencedId(value: Json | undefined): string | undefined {
    if (!isObject(value)) return undefined;
    if (typeof value.Ref === 'string') return value.Ref;
    const getAtt = value['Fn::GetAtt'];
    if (Array.isArray(getAtt)) return String(getAtt[0]);
    if (typeof getAtt === 'string') return getAtt.split('.')[0];
    return undefined;
  }
}

function nameProperty(type: string): string {
  switch (type) {
    case 'AWS::S3::Bucket':
      return 'BucketName';
    case 'AWS::DynamoDB::Table':
      return 'TableName';
    case 'AWS::Lambda::Function':
      return 'FunctionName';
    case 'AWS::IAM::Role':
      return 'RoleName';
    case 'AWS::SQS::Queue':
      return 'QueueName';
    default:
      return 'Name';
  }
}

function asList(value: Json | undefined): Json[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

function statementsOf(document: Json): PolicyStatement[] {
  if (!isObject(document)) return [];
  return asList(document.Statement).map((raw) => {
    const statement = raw as JsonObject;
    return {
      Effect: statement.Effect === 'Deny' ? 'Deny' : 'Allow',
      Action: asList(statement.Action).map(String),
      Resource: asList(statement.Resource).map(String),
      ...(isObject(statement.Condition)
        ? { Condition: statement.Condition as PolicyStatement['Condition'] }
        : {}),
    };
  });
}

function resourcesOfType(template: Template, type: string): [string, Resource][] {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

/** HTTP API routes (`AWS::ApiGatewayV2::*`). */
function httpApi(template: Template, resolver: TemplateResolver): ApiSpec | undefined {
  const [api] = resourcesOfType(template, 'AWS::ApiGatewayV2::Api');
  if (api === undefined) return undefined;
  const [apiId] = api;
  const integrations = new Map<string, { functionId: string | undefined; payload: string }>();
  for (const [id, integration] of resourcesOfType(template, 'AWS::ApiGatewayV2::Integration')) {
    const properties = integration.Properties ?? {};
    integrations.set(id, {
      functionId: resolver.referencedId(properties.IntegrationUri),
      payload: String(properties.PayloadFormatVersion ?? '1.0'),
    });
  }
  const routes: RouteSpec[] = [];
  for (const [, route] of resourcesOfType(template, 'AWS::ApiGatewayV2::Route')) {
    const properties = route.Properties ?? {};
    if (resolver.referencedId(properties.ApiId) !== apiId) continue;
    const [method = '', path = ''] = String(properties.RouteKey).split(' ');
    // Target: "integrations/<IntegrationId>", the id being a Ref to the integration resource.
    const target = properties.Target;
    const joined = isObject(target) ? (target['Fn::Join'] as [string, Json[]] | undefined) : undefined;
    const integrationId = joined ? resolver.referencedId(joined[1][1]) : undefined;
    const integration = integrationId === undefined ? undefined : integrations.get(integrationId);
    routes.push({
      method,
      path,
      authorization: String(properties.AuthorizationType ?? 'NONE'),
      functionLogicalId: integration?.functionId,
      payloadFormat: integration?.payload === '2.0' ? '2.0' : '1.0',
    });
  }
  const [stage] = resourcesOfType(template, 'AWS::ApiGatewayV2::Stage');
  return {
    kind: 'http',
    logicalId: apiId,
    id: resolver.ref(apiId),
    stage: String(stage?.[1].Properties?.StageName ?? '$default'),
    routes,
    binaryMediaTypes: [],
  };
}

/** REST API routes (`AWS::ApiGateway::*`): the resource tree, methods, their Lambda proxy integrations. */
function restApi(template: Template, resolver: TemplateResolver): ApiSpec | undefined {
  const [api] = resourcesOfType(template, 'AWS::ApiGateway::RestApi');
  if (api === undefined) return undefined;
  const [apiId, apiResource] = api;
  const paths = new Map<string, string>();
  const resources = new Map(resourcesOfType(template, 'AWS::ApiGateway::Resource'));
  const pathOf = (id: string): string => {
    const known = paths.get(id);
    if (known !== undefined) return known;
    const resource = resources.get(id);
    if (resource === undefined) throw new Error(`template: no API resource ${id}`);
    const parent = resource.Properties?.ParentId;
    const parentId = resolver.referencedId(parent);
    const parentPath =
      isObject(parent) && parent['Fn::GetAtt'] !== undefined ? '' : pathOf(parentId as string);
    const path = `${parentPath}/${String(resource.Properties?.PathPart)}`;
    paths.set(id, path);
    return path;
  };
  const routes: RouteSpec[] = [];
  for (const [, method] of resourcesOfType(template, 'AWS::ApiGateway::Method')) {
    const properties = method.Properties ?? {};
    if (resolver.referencedId(properties.RestApiId) !== apiId) continue;
    if (properties.HttpMethod === 'OPTIONS') continue;
    const resourceRef = properties.ResourceId;
    const isRoot = isObject(resourceRef) && resourceRef['Fn::GetAtt'] !== undefined;
    const path = isRoot ? '/' : pathOf(resolver.referencedId(resourceRef) as string);
    const integration = isObject(properties.Integration) ? properties.Integration : {};
    // The integration URI names the function inside a Fn::Join: find the function reference in it.
    let functionLogicalId: string | undefined;
    const visit = (value: Json | undefined): void => {
      if (functionLogicalId !== undefined || value === undefined) return;
      const id = resolver.referencedId(value);
      if (id !== undefined && template.Resources[id]?.Type === 'AWS::Lambda::Function') {
        functionLogicalId = id;
        return;
      }
      if (Array.isArray(value)) value.forEach(visit);
      else if (isObject(value)) Object.values(value).forEach(visit);
    };
    if (integration.Type === 'AWS_PROXY') visit(integration.Uri);
    routes.push({
      method: String(properties.HttpMethod),
      path,
      authorization: String(properties.AuthorizationType ?? 'NONE'),
      functionLogicalId,
      payloadFormat: '1.0',
    });
  }
  const [stage] = resourcesOfType(template, 'AWS::ApiGateway::Stage');
  return {
    kind: 'rest',
    logicalId: apiId,
    id: resolver.ref(apiId),
    stage: String(stage?.[1].Properties?.StageName ?? 'prod'),
    routes,
    binaryMediaTypes: asList(apiResource.Properties?.BinaryMediaTypes).map(String),
  };
}

/** The model of a synthesized stack; `assemblyDir` holds its assets (`asset.<hash>/`). */
export function readStack(
  template: Template,
  assemblyDir: string,
  environment: Environment = OFFLINE_ENVIRONMENT,
): StackModel {
  const resolver = new TemplateResolver(template, environment);

  const roleStatements = new Map<string, PolicyStatement[]>();
  for (const [roleId, role] of resourcesOfType(template, 'AWS::IAM::Role')) {
    const inline = asList(role.Properties?.Policies).flatMap((policy) =>
      statementsOf(resolver.resolve((policy as JsonObject).PolicyDocument)),
    );
    roleStatements.set(roleId, inline);
  }
  for (const [, policy] of resourcesOfType(template, 'AWS::IAM::Policy')) {
    const statements = statementsOf(resolver.resolve(policy.Properties?.PolicyDocument));
    for (const role of asList(policy.Properties?.Roles)) {
      const roleId = resolver.referencedId(role);
      if (roleId === undefined) continue;
      roleStatements.get(roleId)?.push(...statements);
    }
  }

  const reserved = new Map<string, number>();
  const functions: FunctionSpec[] = resourcesOfType(template, 'AWS::Lambda::Function').map(([id, fn]) => {
    const properties = fn.Properties ?? {};
    const code = properties.Code as JsonObject | undefined;
    if (typeof code?.S3Key !== 'string') throw new Error(`template: function ${id} has no asset S3Key`);
    const handler = String(properties.Handler ?? 'index.handler');
    const dot = handler.lastIndexOf('.');
    const variables = isObject(properties.Environment) ? properties.Environment.Variables : undefined;
    const environmentVariables = variables === undefined ? {} : (resolver.resolve(variables) as JsonObject);
    const roleId = resolver.referencedId(properties.Role);
    if (roleId === undefined) throw new Error(`template: function ${id} has no role`);
    if (typeof properties.ReservedConcurrentExecutions === 'number') {
      reserved.set(id, properties.ReservedConcurrentExecutions);
    }
    return {
      logicalId: id,
      name: resolver.ref(id),
      arn: resolver.getAtt(id, 'Arn'),
      codeDir: join(assemblyDir, `asset.${code.S3Key.replace(/\.zip$/, '')}`),
      handlerFile: handler.slice(0, dot),
      handlerExport: handler.slice(dot + 1),
      runtime: String(properties.Runtime),
      environment: Object.fromEntries(
        Object.entries(environmentVariables).map(([name, value]) => [name, String(value)]),
      ),
      timeoutSeconds: Number(properties.Timeout ?? 3),
      memoryMb: Number(properties.MemorySize ?? 128),
      reservedConcurrency: reserved.get(id),
      roleLogicalId: roleId,
      roleArn: resolver.getAtt(roleId, 'Arn'),
    };
  });

  const api = restApi(template, resolver) ?? httpApi(template, resolver);
  if (api === undefined) throw new Error('template: no API Gateway API (HTTP or REST)');

  const schedules: ScheduleSpec[] = [];
  for (const [ruleId, rule] of resourcesOfType(template, 'AWS::Events::Rule')) {
    const expression = rule.Properties?.ScheduleExpression;
    if (typeof expression !== 'string') continue;
    for (const target of asList(rule.Properties?.Targets)) {
      const functionId = resolver.referencedId((target as JsonObject).Arn);
      if (functionId !== undefined)
        schedules.push({ ruleLogicalId: ruleId, expression, functionLogicalId: functionId });
    }
  }

  const apiInvokable = new Set<string>();
  for (const [, permission] of resourcesOfType(template, 'AWS::Lambda::Permission')) {
    const properties = permission.Properties ?? {};
    if (properties.Principal !== 'apigateway.amazonaws.com') continue;
    const functionId = resolver.referencedId(properties.FunctionName);
    if (functionId !== undefined) apiInvokable.add(functionId);
  }

  const streamMappings: StreamMappingSpec[] = [];
  for (const [id, mapping] of resourcesOfType(template, 'AWS::Lambda::EventSourceMapping')) {
    const properties = mapping.Properties ?? {};
    const functionId = resolver.referencedId(properties.FunctionName);
    const tableId = resolver.referencedId(properties.EventSourceArn);
    if (functionId === undefined || tableId === undefined) {
      throw new Error(`template: event source mapping ${id} names no function or no source in the stack`);
    }
    if (template.Resources[tableId]?.Type !== 'AWS::DynamoDB::Table') {
      throw new Error(`template: event source mapping ${id}: only table streams are emulated`);
    }
    const criteria = isObject(properties.FilterCriteria) ? properties.FilterCriteria : {};
    streamMappings.push({
      logicalId: id,
      functionLogicalId: functionId,
      tableLogicalId: tableId,
      sourceArn: String(resolver.resolve(properties.EventSourceArn)),
      batchSize: Number(properties.BatchSize ?? 100),
      startingPosition: String(properties.StartingPosition ?? 'LATEST'),
      filters: asList(criteria.Filters).map(
        (filter) => JSON.parse(String((filter as JsonObject).Pattern)) as JsonObject,
      ),
      reportBatchItemFailures: asList(properties.FunctionResponseTypes).includes('ReportBatchItemFailures'),
      maxRetryAttempts: Number(properties.MaximumRetryAttempts ?? -1),
      bisectBatchOnError: properties.BisectBatchOnFunctionError === true,
    });
  }

  const customResources: CustomResourceSpec[] = [];
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (!resource.Type.startsWith('Custom::') && resource.Type !== 'AWS::CloudFormation::CustomResource') {
      continue;
    }
    const { ServiceToken, ...properties } = resource.Properties ?? {};
    const functionId = resolver.referencedId(ServiceToken);
    if (functionId === undefined) throw new Error(`template: custom resource ${id} has no function token`);
    customResources.push({
      logicalId: id,
      type: resource.Type,
      serviceTokenFunctionLogicalId: functionId,
      properties: resolver.resolve(properties) as JsonObject,
    });
  }

  const outputs: Record<string, string> = {};
  for (const [name, output] of Object.entries(template.Outputs ?? {})) {
    outputs[name] = String(resolver.resolve(output.Value));
  }

  return {
    environment,
    streamMappings,
    customResources,
    functions,
    roleStatements,
    api,
    schedules,
    tables: resourcesOfType(template, 'AWS::DynamoDB::Table').map(([id, table]) => ({
      logicalId: id,
      name: resolver.ref(id),
      properties: table.Properties ?? {},
    })),
    buckets: resourcesOfType(template, 'AWS::S3::Bucket').map(([id]) => ({
      logicalId: id,
      name: resolver.ref(id),
    })),
    apiInvokable,
    outputs,
  };
}

/** `rate(1 minute)`, `rate(5 minutes)` → milliseconds; cron expressions are not emulated. */
export function scheduleIntervalMs(expression: string): number {
  const match = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (match === null) throw new Error(`schedule ${expression}: only rate(...) expressions are emulated`);
  const unit = match[2]?.startsWith('minute')
    ? 60_000
    : match[2]?.startsWith('hour')
      ? 3_600_000
      : 86_400_000;
  return Number(match[1]) * unit;
}
