/**
 * The `Streambed` L3 construct (DESIGN §9): the S3 bucket of immutable record objects, the DynamoDB
 * metadata table, one Lambda per concern behind an API Gateway API with IAM authorization (an HTTP
 * API, or a REST API with `api: 'rest'`), least-privilege grants, and alarms; with `kafkaGateway`, Kafka
 * gateways on ECS Fargate behind a Network Load Balancer. It validates its props (every problem at once), merges secure defaults, wires
 * resources together and holds no business logic.
 *
 * The concerns live in one table, `STREAMBED_CONCERNS`: a row names the handler file, its routes or
 * schedule, and what the function may do to the objects and the metadata. `bindConcern` turns a row's
 * access levels into the function's environment variables and IAM statements in the same call, so
 * configuration and permissions cannot drift apart (the SST "bind" idea).
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CustomResource, Duration, Lazy, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  AuthorizationType,
  EndpointType,
  LambdaIntegration,
  RestApi,
  LogGroupLogDestination as RestLogGroupLogDestination,
  type Stage as RestStage,
} from 'aws-cdk-lib/aws-apigateway';
import {
  type CfnStage,
  type CorsPreflightOptions,
  HttpApi,
  HttpMethod,
  HttpNoneAuthorizer,
  type HttpRoute,
  HttpStage,
  type IHttpRouteAuthorizer,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import {
  Alarm,
  type AlarmProps,
  ComparisonOperator,
  type Dashboard,
  type IAlarm,
  type IAlarmAction,
  type IMetric,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import {
  AttributeType,
  BillingMode,
  Operation,
  StreamViewType,
  Table,
  TableEncryption,
} from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { type IRole, Policy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import {
  Architecture,
  type CfnFunction,
  type DestinationConfig,
  type DlqDestinationConfig,
  FilterCriteria,
  FilterRule,
  type IDestination,
  type IEventSourceDlq,
  type IEventSourceMapping,
  type IFunction,
  Runtime,
  StartingPosition,
  Tracing,
} from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type CfnBucket,
  type IBucket,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Provider } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
// The binary content types the REST flavor must pass as bytes are the HTTP layer's own constants.
import { BATCHES_CONTENT_TYPE, PRODUCE_CONTENT_TYPE } from '../client/wire/binary.ts';
// The key-layout module owns the object prefix; IAM resources are scoped with the same constant.
import { COMPACTED_PREFIX, DATA_PREFIX, partitionKey, SUBSCRIPTIONS_PK } from '../lambdas/core/layout.ts';
import { validateTopicName } from '../lambdas/core/topics.ts';
// Subscription limits and the custom resource's contract are the subscription service's own.
import {
  SUBSCRIPTION_RESOURCE_TYPE,
  type SubscriptionResourceProperties,
} from '../lambdas/subscriptions/subscription-resource.ts';
import {
  MAX_BATCH_SIZE,
  MAX_BATCHING_WINDOW_MS,
  MAX_RETRY_ATTEMPTS,
} from '../lambdas/subscriptions/subscriptions.ts';
import { createStreambedDashboard } from './dashboard.ts';
import {
  StreambedKafkaGateway,
  type StreambedKafkaGatewayOptions,
  validateKafkaGatewayOptions,
} from './kafka-gateway.ts';

// ---------------------------------------------------------------------------------------------------
// The concern table.

/** What a function may do to the record objects in the bucket. */
export type ObjectAccess =
  /** No bucket access at all. */
  | 'none'
  /** GetObject under the data and compacted prefixes, and ListBucket (fetch serves byte ranges). */
  | 'read'
  /** PutObject under the data prefix (produce uploads one new, uniquely named object per request). */
  | 'write'
  /** Both read and write: the deliverer fetches records and produces failed ones to a dead-letter topic. */
  | 'readWrite'
  /** Read, write and delete under both prefixes, and ListBucket: compaction and garbage collection (janitor). */
  | 'manage';

/** What a function may do to the metadata table. */
export type MetaAccess =
  /** GetItem, BatchGetItem, Query. */
  | 'read'
  /** Reads + PutItem and ConditionCheckItem: the compare-and-set commits of produce, never a delete. */
  | 'commit'
  /** Commits + DeleteItem: topic, group and janitor changes that remove items. */
  | 'readWrite';

export interface StreambedRoute {
  readonly method: HttpMethod;
  /** An API Gateway route path, e.g. `/v1/topics/{topic}`. */
  readonly path: string;
  /** Answered without authorization. Only `GET /v1/health` is public. */
  readonly public?: boolean;
}

export interface StreambedConcern {
  /** Lower-case name: construct ids, log groups and alarms are named after it. */
  readonly name: string;
  /** The handler module under `lambdas/handlers/`, exporting `handler`. */
  readonly handlerFile: string;
  readonly timeout: Duration;
  /** The HTTP routes the function serves (none for a scheduled function). */
  readonly routes: readonly StreambedRoute[];
  /**
   * Invoke on an EventBridge schedule (the janitor). A rate schedule's interval must exceed the
   * timeout, so that a run ends before the next tick.
   */
  readonly schedule?: Schedule;
  /** At most this many invocations at once (Lambda reserved concurrency). @default unreserved */
  readonly reservedConcurrency?: number;
  readonly objects: ObjectAccess;
  readonly meta: MetaAccess;
  /**
   * The function works until shortly before its timeout by design (it stops at a deadline and carries
   * on in a new invocation), so a long run is normal and it gets no near-timeout alarm; a run that
   * does time out still counts in its errors alarm. @default false
   */
  readonly worksToDeadline?: boolean;
}

/**
 * API Gateway HTTP APIs give up on an integration after 30 s; a function stops one second earlier so
 * it ends the request itself. This bound also keeps every produce commit inside the commit window the
 * janitor relies on (DESIGN §4.6).
 */
const API_TIMEOUT = Duration.seconds(29);
/** Largest timeout of a scheduled function (Lambda's own limit is 15 minutes). */
const SCHEDULED_MAX_TIMEOUT = Duration.minutes(15);
/**
 * How long Lambda keeps a scheduled function's event when it cannot run it yet (throttled): the
 * smallest value Lambda accepts. A tick older than this is stale, the next one is due; it goes to the
 * failure queue instead of running late.
 */
const SCHEDULED_MAX_EVENT_AGE = Duration.seconds(60);
/** How long a failed or expired scheduled event stays in the failure queue (SQS's maximum). */
const FAILURE_RETENTION = Duration.days(14);
/** The "has not succeeded" window of a scheduled function's alarm. */
const SCHEDULED_SUCCESS_WINDOW = Duration.minutes(15);

/** The interval of a `rate(...)` schedule in seconds; undefined for cron and other expressions. */
function rateSeconds(schedule: Schedule): number | undefined {
  const match = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(schedule.expressionString);
  if (match === null) return undefined;
  const unit = { minute: 60, hour: 3600, day: 86_400 }[(match[2] as string).replace(/s$/, '') as 'minute'];
  return Number(match[1]) * unit;
}

/**
 * One row per Lambda. Adding a concern is one row here (plus its handler file); its function, role,
 * grants, environment, routes or schedule, and alarms all follow from the row.
 */
export const STREAMBED_CONCERNS: readonly StreambedConcern[] = [
  {
    name: 'admin',
    handlerFile: 'admin.ts',
    timeout: API_TIMEOUT,
    objects: 'none',
    meta: 'readWrite',
    routes: [
      { method: HttpMethod.GET, path: '/v1/health', public: true },
      { method: HttpMethod.GET, path: '/v1/openapi.json' },
      // How the janitor's last pass went: one item the janitor writes at the end of each pass.
      { method: HttpMethod.GET, path: '/v1/janitor' },
      { method: HttpMethod.POST, path: '/v1/topics' },
      { method: HttpMethod.GET, path: '/v1/topics' },
      { method: HttpMethod.GET, path: '/v1/topics/{topic}' },
      { method: HttpMethod.PATCH, path: '/v1/topics/{topic}' },
      { method: HttpMethod.DELETE, path: '/v1/topics/{topic}' },
      // Deleting records only moves partition items' log start (a CAS put); the janitor deletes the rest.
      { method: HttpMethod.POST, path: '/v1/topics/{topic}/records/delete' },
    ],
  },
  {
    name: 'produce',
    handlerFile: 'produce.ts',
    timeout: API_TIMEOUT,
    objects: 'write',
    meta: 'commit',
    routes: [{ method: HttpMethod.POST, path: '/v1/topics/{topic}/records' }],
  },
  {
    name: 'fetch',
    handlerFile: 'fetch.ts',
    // Long polls wait at most 20 s (MAX_FETCH_WAIT_MS); the rest is the read itself.
    timeout: API_TIMEOUT,
    objects: 'read',
    meta: 'read',
    routes: [
      { method: HttpMethod.GET, path: '/v1/topics/{topic}/partitions/{partition}/records' },
      { method: HttpMethod.GET, path: '/v1/topics/{topic}/partitions/{partition}/offsets' },
    ],
  },
  {
    name: 'groups',
    handlerFile: 'groups.ts',
    timeout: API_TIMEOUT,
    objects: 'none',
    // Describe reads partition items for lag; leases and members are written by CAS and deleted on leave.
    meta: 'readWrite',
    routes: [
      { method: HttpMethod.GET, path: '/v1/groups' },
      { method: HttpMethod.GET, path: '/v1/groups/{group}' },
      { method: HttpMethod.DELETE, path: '/v1/groups/{group}' },
      { method: HttpMethod.POST, path: '/v1/groups/{group}/members' },
      { method: HttpMethod.POST, path: '/v1/groups/{group}/members/{member}/heartbeat' },
      { method: HttpMethod.DELETE, path: '/v1/groups/{group}/members/{member}' },
      { method: HttpMethod.POST, path: '/v1/groups/{group}/offsets' },
      { method: HttpMethod.POST, path: '/v1/groups/{group}/offsets/reset' },
    ],
  },
  {
    name: 'subscriptions',
    handlerFile: 'subscriptions.ts',
    timeout: API_TIMEOUT,
    // Create resolves a timestamp starting position to offsets, which may read record objects.
    objects: 'read',
    // Configurations are written by CAS; delete removes the subscription's group items.
    meta: 'readWrite',
    routes: [
      { method: HttpMethod.POST, path: '/v1/subscriptions' },
      { method: HttpMethod.GET, path: '/v1/subscriptions' },
      { method: HttpMethod.GET, path: '/v1/subscriptions/{subscription}' },
      { method: HttpMethod.PATCH, path: '/v1/subscriptions/{subscription}' },
      { method: HttpMethod.DELETE, path: '/v1/subscriptions/{subscription}' },
    ],
  },
  {
    name: 'schemas',
    handlerFile: 'schemas.ts',
    timeout: API_TIMEOUT,
    objects: 'none',
    // Versions and configs are written by CAS; permanent deletes remove subject and version items.
    meta: 'readWrite',
    // The whole Confluent subset: the router answers the routes it knows and Confluent-style 404s
    // for the rest (Confluent clients probe optional routes and fall back on 404).
    routes: [
      { method: HttpMethod.ANY, path: '/schema-registry' },
      { method: HttpMethod.ANY, path: '/schema-registry/{proxy+}' },
    ],
  },
  {
    name: 'janitor',
    handlerFile: 'janitor.ts',
    // One run per minute, each ending before the next tick: it works partitions until shortly before
    // its timeout (lambdas/handlers/janitor.ts) and the next run carries on. Overlapping runs would not
    // be unsafe (a lease per partition keeps them apart) but wasteful: they would mostly skip each
    // other's leased partitions. Reserved concurrency 1 makes "one at a time" hard: a tick that still
    // finds a run going (EventBridge does not promise the second of a tick) is throttled, and Lambda
    // retries a throttled asynchronous event until it is older than the maximum event age (60 s,
    // SCHEDULED_MAX_EVENT_AGE); the running one ends within 50 s, so the tick usually runs late, and
    // otherwise it is dropped to the failure queue while the next tick is already due. With the
    // default six hours, throttled ticks would instead pile up and run back to back.
    timeout: Duration.seconds(50),
    reservedConcurrency: 1,
    objects: 'manage',
    meta: 'readWrite',
    routes: [],
    schedule: Schedule.rate(Duration.minutes(1)),
  },
];

// ---------------------------------------------------------------------------------------------------
// Subscriptions (DESIGN §12, AWS).

/**
 * The deliverer's timeout: Lambda's longest. A run delivers one partition until it is caught up or
 * until a deadline kept back from this timeout by the longest target call (lambdas/handlers/deliver.ts),
 * and then invokes itself to carry on, so the timeout bounds one slice of a backlog. It is the longest
 * so that a target function may run for up to MAX_TARGET_TIMEOUT and still leave the deliverer time to
 * deliver between its deadline checks: a target call is never cut off by the deliverer's own timeout,
 * so it is never running while another deliverer starts the same partition.
 */
const DELIVER_TIMEOUT = Duration.minutes(15);
/** The longest timeout a target function may have: the deliverer's, less two minutes to deliver in. */
export const MAX_TARGET_TIMEOUT = Duration.minutes(13);
/** A URL target's call timeout (lambdas/subscriptions/url-target.ts). */
const URL_TARGET_TIMEOUT_MS = 30_000;
/** The longest target call the deliverer must wait out (milliseconds); see deliver.ts. */
export const TARGET_TIMEOUT_ENV = 'STREAMBED_TARGET_TIMEOUT_MS';
/**
 * How long Lambda keeps a wake-up (an asynchronous event to the deliverer) it cannot run yet. A wake
 * that waited longer is redundant: the janitor's sweep, every minute, wakes any partition that is
 * behind and unleased. Older or failed wakes go to the deliverer's failure queue.
 */
const WAKE_MAX_EVENT_AGE = Duration.minutes(2);
/**
 * Retries of a stream batch the dispatcher failed, and how old a stream record may get. A dropped wake
 * costs at most one sweep interval (a minute) of delay, so retrying long would only hold up the shard
 * behind it; what is dropped is recorded in the dispatcher's failure queue.
 */
const DISPATCH_RETRY_ATTEMPTS = 3;
const DISPATCH_MAX_RECORD_AGE = Duration.minutes(5);
/** Stream records per dispatcher invocation: each wakes at most a few deliverers. */
const DISPATCH_BATCH_SIZE = 100;

/** The deliverer's name (the janitor's sweep and the dispatcher wake it with asynchronous invokes). */
export const DELIVER_FUNCTION_ENV = 'STREAMBED_DELIVER_FUNCTION';
/** The functions a subscription may target: comma-separated ARNs, those addSubscription granted. */
export const SUBSCRIPTION_FUNCTIONS_ENV = 'STREAMBED_SUBSCRIPTION_FUNCTIONS';
/** `true` when URL targets may be private, loopback or link-local (`allowPrivateUrlTargets`). */
export const ALLOW_PRIVATE_URLS_ENV = 'STREAMBED_ALLOW_PRIVATE_URLS';

/**
 * The functions behind subscriptions. They are not rows of the concern table a stack may replace: the
 * subscription routes (and addSubscription) need them on every stack, and their wiring (the table's
 * stream, asynchronous invokes) is the construct's own.
 */
export const SUBSCRIPTION_CONCERNS = {
  /** Delivers one (subscription, partition) per invocation; invoked asynchronously only. */
  deliver: {
    name: 'deliver',
    handlerFile: 'deliver.ts',
    timeout: DELIVER_TIMEOUT,
    worksToDeadline: true,
    // Fetches records; a batch out of attempts is produced to the dead-letter topic (a new object).
    objects: 'readWrite',
    // Leases, positions and delivery status by CAS, dead-letter commits; it deletes one item: a lease
    // its claim re-created for a subscription deleted meanwhile.
    meta: 'readWrite',
    routes: [],
  },
  /** Turns the table's stream into deliverer wake-ups. */
  dispatch: {
    name: 'dispatch',
    handlerFile: 'dispatch.ts',
    // A batch of 100 stream records is a few asynchronous invokes; a minute is ample.
    timeout: Duration.minutes(1),
    objects: 'none',
    // Subscriptions and topics are read to know whom to wake.
    meta: 'read',
    routes: [],
  },
  /** The custom resource handler of addSubscription (run by the CDK Provider framework at deploy time). */
  resource: {
    name: 'subscription-resource',
    handlerFile: 'subscription-resource.ts',
    timeout: Duration.minutes(1),
    // A timestamp starting position is resolved to offsets, which may read record objects.
    objects: 'read',
    // Configurations by CAS; delete removes the subscription's group items; createTopic makes a topic.
    meta: 'readWrite',
    routes: [],
  },
} as const satisfies Record<string, StreambedConcern>;

const META_ACTIONS: Record<MetaAccess, readonly string[]> = {
  read: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'],
  // TransactWriteItems is authorized through the actions inside it (PutItem, DeleteItem,
  // ConditionCheckItem); IAM has no `dynamodb:TransactWriteItems` action to grant.
  commit: [
    'dynamodb:GetItem',
    'dynamodb:BatchGetItem',
    'dynamodb:Query',
    'dynamodb:PutItem',
    'dynamodb:ConditionCheckItem',
  ],
  readWrite: [
    'dynamodb:GetItem',
    'dynamodb:BatchGetItem',
    'dynamodb:Query',
    'dynamodb:PutItem',
    'dynamodb:ConditionCheckItem',
    'dynamodb:DeleteItem',
  ],
};

/**
 * Where each access level may act (lambdas/core/layout.ts owns the layout): produce writes only new
 * request objects under data/; readers also read the janitor's compacted/ objects; the janitor manages
 * both.
 */
const OBJECT_PREFIXES: Record<Exclude<ObjectAccess, 'none'>, readonly string[]> = {
  read: [DATA_PREFIX, COMPACTED_PREFIX],
  write: [DATA_PREFIX],
  readWrite: [DATA_PREFIX, COMPACTED_PREFIX],
  manage: [DATA_PREFIX, COMPACTED_PREFIX],
};

/**
 * Who may list the bucket: every level that reads objects, so that S3 answers a read of a missing key
 * with 404 NoSuchKey instead of 403 (DESIGN §11). produce only writes, and a 404 would tell it nothing.
 */
const OBJECT_LISTS: Record<ObjectAccess, boolean> = {
  none: false,
  read: true,
  write: false,
  readWrite: true,
  manage: true,
};

/**
 * The object actions of each level, each on the prefixes of the level it comes from: `readWrite` reads
 * like `read` and writes like `write` (new objects under data/ only, never compacted/).
 */
const OBJECT_GRANTS: Record<
  ObjectAccess,
  readonly { level: Exclude<ObjectAccess, 'none'>; actions: readonly string[] }[]
> = {
  none: [],
  read: [{ level: 'read', actions: ['s3:GetObject'] }],
  write: [{ level: 'write', actions: ['s3:PutObject'] }],
  readWrite: [
    { level: 'read', actions: ['s3:GetObject'] },
    { level: 'write', actions: ['s3:PutObject'] },
  ],
  manage: [{ level: 'manage', actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'] }],
};

// ---------------------------------------------------------------------------------------------------
// Props.

export interface StreambedBucketOptions {
  /** @default RemovalPolicy.RETAIN — the records outlive the stack. */
  readonly removalPolicy?: RemovalPolicy;
  /** Empty the bucket when the stack is deleted; needs removalPolicy DESTROY. @default false */
  readonly autoDeleteObjects?: boolean;
  /** SSE-KMS with this key (and an S3 Bucket Key, to cut KMS requests). @default SSE-S3 */
  readonly encryptionKey?: IKey;
  /** Write S3 server access logs here. @default none (the construct records why for cdk-nag) */
  readonly serverAccessLogsBucket?: IBucket;
  /** @default 'streambed/' */
  readonly serverAccessLogsPrefix?: string;
}

export interface StreambedTableOptions {
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** @default true */
  readonly deletionProtection?: boolean;
  /** Encrypt with this customer managed key. @default an AWS owned key */
  readonly encryptionKey?: IKey;
}

export type StreambedAuth =
  /** SigV4-signed requests, authorized by the caller's IAM policy for execute-api:Invoke. */
  | { readonly type: 'iam' }
  /** Bearer JWTs from an OIDC issuer, checked by API Gateway. */
  | { readonly type: 'jwt'; readonly issuer: string; readonly audience: readonly string[] };

/**
 * Which API Gateway product fronts the functions. Both are built from the same concern table, with
 * the same routes, IAM authorization, throttles and access logs.
 * - `http`: an HTTP API (API Gateway v2, payload format 2.0): cheaper and faster; JWT auth and CORS.
 * - `rest`: a REST API (API Gateway v1, Lambda proxy integrations, payload format 1.0), for where
 *   HTTP APIs are not available, such as LocalStack's free edition. IAM auth only.
 */
export type StreambedApiFlavor = 'http' | 'rest';

export interface StreambedThrottle {
  /** Steady-state requests per second for the whole stage. */
  readonly rateLimit: number;
  /** Burst bucket size. */
  readonly burstLimit: number;
}

export interface StreambedProps {
  readonly bucket?: StreambedBucketOptions;
  readonly table?: StreambedTableOptions;
  /** @default 'http' */
  readonly api?: StreambedApiFlavor;
  /** @default { type: 'iam' } */
  readonly auth?: StreambedAuth;
  /** @default { rateLimit: 500, burstLimit: 1000 } */
  readonly throttle?: StreambedThrottle;
  /**
   * The public `GET /v1/health` route's own throttle. It must stay far below the stage's: anyone may
   * call it unsigned, and each call invokes the admin function, so a flood on it must hit this limit
   * instead of the stage's, which signed traffic shares.
   * @default { rateLimit: 5, burstLimit: 10 }
   */
  readonly healthThrottle?: StreambedThrottle;
  /** Browser access (HTTP API only); API clients do not need it. @default no CORS */
  readonly cors?: CorsPreflightOptions;
  /** X-Ray active tracing on every function. @default false */
  readonly tracing?: boolean;
  /** Retention of the function and API access logs. @default one month */
  readonly logRetention?: RetentionDays;
  /** @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
  /**
   * The Region's Lambda concurrency quota (`aws lambda get-account-settings`, AccountLimit
   * ConcurrentExecutions). The account-concurrency alarm fires at 80 % of it.
   * @default 1000 (Lambda's default quota; new accounts may start lower)
   */
  readonly accountConcurrencyQuota?: number;
  /** Notified when any alarm fires (e.g. an SNS action). @default none */
  readonly alarmActions?: readonly IAlarmAction[];
  /**
   * A CloudWatch dashboard of lag, throughput, errors and latency (lib/dashboard.ts). CloudWatch
   * bills dashboards past the account's first three. @default true
   */
  readonly dashboard?: boolean;
  /** The concern table. @default STREAMBED_CONCERNS */
  readonly concerns?: readonly StreambedConcern[];
  /**
   * Let subscriptions deliver to URLs on private, loopback and link-local addresses (DESIGN §12). Off,
   * such URLs are refused at creation and at every connection, so a subscription cannot reach into the
   * functions' own network (SSRF). @default false
   */
  readonly allowPrivateUrlTargets?: boolean;
  /**
   * Kafka clients on AWS (DESIGN §13): `streambed kafka-gateway` tasks on ECS Fargate behind a Network
   * Load Balancer with TLS, clients authenticating with SASL/PLAIN and a generated token
   * (lib/kafka-gateway.ts). @default none
   */
  readonly kafkaGateway?: StreambedKafkaGatewayOptions;
}

/** A subscription declared with the stack (`Streambed.addSubscription`), delivering to a function. */
export interface StreambedSubscriptionOptions {
  /**
   * The topic delivered. It must exist when the subscription is created (create it first with the API
   * or the CLI), unless `createTopic` is given.
   */
  readonly topic: string;
  /** The target; the deliverer is granted lambda:InvokeFunction on this function, nothing wider. */
  readonly function: IFunction;
  /**
   * The function's timeout, when the construct cannot read it (a function imported by ARN). The
   * deliverer keeps this much time back before its own timeout and holds its lease longer than this,
   * so a call is never cut off and never overlaps another on the same partition. At most 13 minutes.
   * @default the function's own timeout (required for an imported function)
   */
  readonly functionTimeout?: Duration;
  /** Records per invocation at most. @default 100 */
  readonly batchSize?: number;
  /** How long to gather records before invoking with fewer than batchSize (whole milliseconds, up to 5 minutes). @default none */
  readonly maxBatchingWindow?: Duration;
  /** Retries of a failing batch before its records go to `deadLetterTopic` (which it needs). @default retry forever */
  readonly maxRetryAttempts?: number;
  /** Halve a failing batch to isolate the record that fails it. @default false */
  readonly bisectBatchOnError?: boolean;
  /** Where records out of attempts are produced; an existing topic other than `topic`. @default none */
  readonly deadLetterTopic?: string;
  /** Where a partition without a committed offset starts; a timestamp is epoch milliseconds. @default 'latest' */
  readonly startingPosition?: 'earliest' | 'latest' | { readonly timestamp: number };
  /** @default true */
  readonly enabled?: boolean;
  /**
   * Create the topic with this many partitions when it does not exist. An existing topic is left as it
   * is, and deleting the subscription never deletes the topic (its records outlive the subscription).
   * @default the topic must exist
   */
  readonly createTopic?: { readonly partitions: number };
}

const DEFAULT_THROTTLE: StreambedThrottle = { rateLimit: 500, burstLimit: 1000 };
const DEFAULT_HEALTH_THROTTLE: StreambedThrottle = { rateLimit: 5, burstLimit: 10 };
const DEFAULT_ACCOUNT_CONCURRENCY_QUOTA = 1000;
/** "Near" a limit, for the duration and concurrency alarms. */
const NEAR_LIMIT = 0.8;
/** The stage of the HTTP flavor, served at the root of its URL. */
const HTTP_STAGE = '$default';
/** The stage of the REST flavor, the first segment of its URL's path. */
export const REST_STAGE = 'prod';
/**
 * The request and response content types a REST API must pass as bytes (client/wire/binary.ts):
 * the binary produce body and the record batches a fetch answers when Accept asks for them. Only
 * these, so that JSON bodies reach the functions as text; API Gateway decides a response by the
 * request's first Accept type, which the SDK sends alone.
 */
const BINARY_MEDIA_TYPES = [PRODUCE_CONTENT_TYPE, BATCHES_CONTENT_TYPE];
/** The access-log fields both API flavors have: who called (the IAM caller), what, and the outcome. */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  sourceIp: '$context.identity.sourceIp',
  caller: '$context.identity.userArn',
  path: '$context.path',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  latencyMs: '$context.responseLatency',
  integrationLatencyMs: '$context.integrationLatency',
  error: '$context.error.message',
  integrationError: '$context.integrationErrorMessage',
} as const;
const HEALTH_REASON =
  'GET /v1/health answers {"status":"ok"} and nothing else, so load balancers and uptime checks can call it without credentials; it has its own low throttle.';

/** The one route that answers without authorization (its key in both API flavors). */
export const HEALTH_ROUTE = { method: HttpMethod.GET, path: '/v1/health' } as const;

const RESERVED_CONCERN_NAMES: ReadonlySet<string> = new Set(
  Object.values(SUBSCRIPTION_CONCERNS).map((concern) => concern.name),
);

/** Every problem with the props, so one synth reports them all. */
export function validateStreambedProps(props: StreambedProps): string[] {
  const problems: string[] = [];
  const known = (value: unknown) => value !== undefined && !Token.isUnresolved(value);

  if (props.bucket?.autoDeleteObjects && props.bucket.removalPolicy !== RemovalPolicy.DESTROY) {
    problems.push('bucket.autoDeleteObjects needs bucket.removalPolicy DESTROY (the default is RETAIN)');
  }
  if (props.table?.removalPolicy === RemovalPolicy.DESTROY && props.table.deletionProtection !== false) {
    problems.push(
      'table.removalPolicy DESTROY needs table.deletionProtection false (CloudFormation cannot delete a protected table)',
    );
  }
  const prefix = props.bucket?.serverAccessLogsPrefix;
  if (prefix !== undefined && props.bucket?.serverAccessLogsBucket === undefined) {
    problems.push('bucket.serverAccessLogsPrefix is set without bucket.serverAccessLogsBucket');
  }

  const flavor = props.api ?? 'http';
  if (flavor !== 'http' && flavor !== 'rest') {
    problems.push(`api must be 'http' or 'rest', got ${JSON.stringify(flavor)}`);
  }
  if (flavor === 'rest' && props.auth?.type === 'jwt') {
    problems.push("auth jwt needs api 'http': a REST API has no JWT authorizer (use IAM auth, the default)");
  }
  if (flavor === 'rest' && props.cors !== undefined) {
    problems.push("cors needs api 'http' (the REST flavor serves API clients only)");
  }

  const auth = props.auth;
  if (auth !== undefined && auth.type !== 'iam' && auth.type !== 'jwt') {
    problems.push(
      `auth.type must be 'iam' or 'jwt', got ${JSON.stringify((auth as { type: unknown }).type)}`,
    );
  }
  if (auth?.type === 'jwt') {
    if (known(auth.issuer) && !/^https:\/\/[^\s/]+/.test(auth.issuer)) {
      problems.push(`auth.issuer must be an https:// URL, got ${JSON.stringify(auth.issuer)}`);
    }
    if (!Array.isArray(auth.audience) || auth.audience.length === 0) {
      problems.push('auth.audience must list at least one audience (client id)');
    } else if (auth.audience.some((a) => typeof a !== 'string' || a.trim() === '')) {
      problems.push('auth.audience entries must be non-empty strings');
    }
  }

  for (const [name, throttle] of [
    ['throttle', props.throttle],
    ['healthThrottle', props.healthThrottle],
  ] as const) {
    if (throttle === undefined) continue;
    if (known(throttle.rateLimit) && !(throttle.rateLimit > 0)) {
      problems.push(`${name}.rateLimit must be > 0, got ${throttle.rateLimit}`);
    }
    if (known(throttle.burstLimit) && !(Number.isInteger(throttle.burstLimit) && throttle.burstLimit > 0)) {
      problems.push(`${name}.burstLimit must be a positive integer, got ${throttle.burstLimit}`);
    }
  }
  const stage = props.throttle ?? DEFAULT_THROTTLE;
  const health = props.healthThrottle ?? DEFAULT_HEALTH_THROTTLE;
  if (known(stage.rateLimit) && known(health.rateLimit) && health.rateLimit >= stage.rateLimit) {
    problems.push(
      `healthThrottle.rateLimit (${health.rateLimit}) must be below the stage's throttle.rateLimit (${stage.rateLimit}), or an unsigned flood on GET /v1/health can use up what signed calls share`,
    );
  }

  const quota = props.accountConcurrencyQuota;
  if (quota !== undefined && known(quota) && !(Number.isInteger(quota) && quota > 0)) {
    problems.push(`accountConcurrencyQuota must be a positive integer, got ${quota}`);
  }

  if (props.kafkaGateway !== undefined) problems.push(...validateKafkaGatewayOptions(props.kafkaGateway));

  const concerns = props.concerns ?? STREAMBED_CONCERNS;
  if (concerns.length === 0) problems.push('concerns must name at least one function');
  const names = new Set<string>();
  const routeOwners = new Map<string, string>();
  for (const concern of concerns) {
    const label = `concern ${JSON.stringify(concern.name)}`;
    if (!/^[a-z][a-z0-9-]*$/.test(concern.name)) {
      problems.push(`${label}: name must be lower-case letters, digits and dashes`);
    }
    if (!/^[a-z0-9-]+\.ts$/.test(concern.handlerFile)) {
      problems.push(`${label}: handlerFile must be a .ts file name directly under lambdas/handlers/`);
    }
    if (names.has(concern.name)) problems.push(`${label}: listed twice`);
    if (RESERVED_CONCERN_NAMES.has(concern.name)) {
      problems.push(`${label}: the name is taken by the construct's own subscription functions`);
    }
    names.add(concern.name);
    if (concern.routes.length === 0 && concern.schedule === undefined) {
      problems.push(`${label}: has neither routes nor a schedule, so nothing would invoke it`);
    }
    const seconds = concern.timeout.toSeconds();
    if (concern.routes.length > 0 && seconds > API_TIMEOUT.toSeconds()) {
      problems.push(
        `${label}: timeout ${seconds} s exceeds ${API_TIMEOUT.toSeconds()} s (API Gateway stops at 30 s)`,
      );
    }
    if (seconds > SCHEDULED_MAX_TIMEOUT.toSeconds()) {
      problems.push(`${label}: timeout ${seconds} s exceeds Lambda's 900 s`);
    }
    const interval = concern.schedule === undefined ? undefined : rateSeconds(concern.schedule);
    if (interval !== undefined && seconds >= interval) {
      problems.push(
        `${label}: timeout ${seconds} s is not below its schedule's ${interval} s interval, so runs would overlap`,
      );
    }
    const reserved = concern.reservedConcurrency;
    if (reserved !== undefined && known(reserved) && !(Number.isInteger(reserved) && reserved > 0)) {
      problems.push(`${label}: reservedConcurrency must be a positive integer, got ${reserved}`);
    }
    for (const route of concern.routes) {
      const key = `${route.method} ${route.path}`;
      if (!route.path.startsWith('/')) problems.push(`${label}: route ${key} must start with /`);
      const owner = routeOwners.get(key);
      if (owner !== undefined) problems.push(`${label}: route ${key} is already served by ${owner}`);
      routeOwners.set(key, concern.name);
      const healthKey = `${HEALTH_ROUTE.method} ${HEALTH_ROUTE.path}`;
      if (route.public && key !== healthKey) {
        problems.push(`${label}: route ${key} cannot be public; only ${healthKey} is`);
      }
    }
  }
  return problems;
}

const SUBSCRIPTION_NAME = /^[A-Za-z0-9._-]{1,249}$/;

/** Every problem with one addSubscription call, so one synth reports them all. */
/** How long a call to the target function may last: its declared timeout, or the option. */
function targetTimeoutOf(options: StreambedSubscriptionOptions): Duration | undefined {
  return options.functionTimeout ?? (options.function as { timeout?: Duration }).timeout;
}

export function validateSubscriptionOptions(name: string, options: StreambedSubscriptionOptions): string[] {
  const problems: string[] = [];
  const known = (value: unknown) => value !== undefined && !Token.isUnresolved(value);
  const topicProblem = (field: string, topic: unknown): void => {
    if (!known(topic) && topic !== undefined) return;
    try {
      validateTopicName(topic);
    } catch (error) {
      problems.push(`${field}: ${(error as Error).message}`);
    }
  };
  const integer = (field: string, value: number | undefined, min: number, max: number): void => {
    if (known(value) && !(Number.isInteger(value) && (value as number) >= min && (value as number) <= max)) {
      problems.push(`${field} must be an integer from ${min} to ${max}, got ${value}`);
    }
  };

  if (!SUBSCRIPTION_NAME.test(name)) {
    problems.push(`name ${JSON.stringify(name)} is invalid: use 1-249 of A-Z a-z 0-9 . _ -`);
  }
  topicProblem('topic', options.topic);
  if (options.function === undefined) problems.push('function is required (the target function)');
  else {
    const timeout = targetTimeoutOf(options);
    if (timeout === undefined) {
      problems.push(
        'functionTimeout is required: the timeout of an imported function cannot be read, and the deliverer must know how long a call may last',
      );
    } else if (!timeout.isUnresolved() && timeout.toMilliseconds() > MAX_TARGET_TIMEOUT.toMilliseconds()) {
      problems.push(
        `the target function's timeout (${timeout.toHumanString()}) is over ${MAX_TARGET_TIMEOUT.toHumanString()}: the deliverer (15 minutes at most) could not wait out a call and still deliver`,
      );
    }
  }
  integer('batchSize', options.batchSize, 1, MAX_BATCH_SIZE);
  const window = options.maxBatchingWindow;
  if (window !== undefined && !window.isUnresolved()) {
    const ms = window.toMilliseconds({ integral: false });
    if (!(Number.isInteger(ms) && ms >= 0 && ms <= MAX_BATCHING_WINDOW_MS)) {
      problems.push(
        `maxBatchingWindow must be whole milliseconds from 0 to ${MAX_BATCHING_WINDOW_MS / 1000} s, got ${window.toHumanString()}`,
      );
    }
  }
  integer('maxRetryAttempts', options.maxRetryAttempts, 0, MAX_RETRY_ATTEMPTS);
  if (options.deadLetterTopic !== undefined) {
    topicProblem('deadLetterTopic', options.deadLetterTopic);
    if (known(options.deadLetterTopic) && options.deadLetterTopic === options.topic) {
      problems.push(`deadLetterTopic must differ from topic ${options.topic}`);
    }
  } else if (options.maxRetryAttempts !== undefined) {
    problems.push(
      'maxRetryAttempts needs deadLetterTopic: records out of attempts are produced there, and nothing is skipped without a dead letter (leave maxRetryAttempts out to retry forever)',
    );
  }
  const position = options.startingPosition;
  if (position !== undefined && position !== 'earliest' && position !== 'latest') {
    const timestamp = typeof position === 'object' && position !== null ? position.timestamp : undefined;
    if (
      timestamp === undefined ||
      (known(timestamp) && !(Number.isSafeInteger(timestamp) && timestamp >= 0))
    ) {
      problems.push(
        `startingPosition must be 'earliest', 'latest' or { timestamp: <epoch ms> }, got ${JSON.stringify(position)}`,
      );
    }
  }
  if (options.createTopic !== undefined) {
    const partitions = options.createTopic.partitions;
    if (known(partitions) && !(Number.isInteger(partitions) && partitions > 0)) {
      problems.push(`createTopic.partitions must be a positive integer, got ${partitions}`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------
// The construct.

/** The repository root: handler entries and the lock file are found from here, whatever the cwd. */
const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
const HANDLERS_DIR = join(REPO_ROOT, 'lambdas', 'handlers');

/** nodejs24.x is the newest Lambda Node.js runtime aws-cdk-lib 2.276 knows (cdk-nag L1 checks this). */
export const STREAMBED_RUNTIME = Runtime.NODEJS_24_X;

const pascal = (name: string): string =>
  name.replace(/(^|-)([a-z0-9])/g, (_match, _dash: string, letter: string) => letter.toUpperCase());

/** Acknowledges one cdk-nag finding on `scope`, with the reason it is acceptable here. */
function acknowledge(scope: Construct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

/**
 * An SQS on-failure destination that grants the function sqs:SendMessage on the queue and nothing
 * else (the stock SqsDestination grants GetQueueAttributes and GetQueueUrl too, which Lambda does not
 * use to deliver). SSE-SQS needs no KMS permission.
 */
class SendOnlyQueueDestination implements IDestination, IEventSourceDlq {
  constructor(private readonly queue: IQueue) {}

  bind(_scope: Construct | IEventSourceMapping, fn: IFunction): DestinationConfig & DlqDestinationConfig {
    fn.addToRolePolicy(
      new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }),
    );
    return { destination: this.queue.queueArn };
  }
}

/**
 * Which stream records invoke the dispatcher (Lambda event filtering on the `dynamodb` key, so the
 * filtered-out records cost no invocation): inserts and changes of a partition's own item (its
 * highWatermark grows with every commit) and of a subscription's configuration. Batch index items,
 * leases, members and deletes never invoke it. Keys as lambdas/core/layout.ts writes them.
 */
const PARTITION_ITEM = partitionKey('{topicId}', 0);
export const DISPATCH_FILTERS = [
  FilterCriteria.filter({
    eventName: FilterRule.or('INSERT', 'MODIFY'),
    dynamodb: {
      Keys: {
        pk: { S: FilterRule.beginsWith(PARTITION_ITEM.pk.slice(0, PARTITION_ITEM.pk.indexOf('#') + 1)) },
        sk: { S: FilterRule.isEqual(PARTITION_ITEM.sk) },
      },
    },
  }),
  FilterCriteria.filter({
    eventName: FilterRule.or('INSERT', 'MODIFY'),
    dynamodb: { Keys: { pk: { S: FilterRule.isEqual(SUBSCRIPTIONS_PK) } } },
  }),
];

export class Streambed extends Construct {
  readonly bucket: Bucket;
  readonly table: Table;
  readonly api: HttpApi | RestApi;
  readonly stage: HttpStage | RestStage;
  /** The API's base URL (ends with `/`). */
  readonly url: string;
  /** The API's id, the first label of its URL. */
  readonly apiId: string;
  /**
   * `arn:aws:execute-api:REGION:ACCOUNT:API_ID/STAGE/*`: every method and path of the stage. Callers'
   * `execute-api:Invoke` policies name this (or narrower `…/STAGE/METHOD/path` resources under it).
   */
  readonly executeApiArnPrefix: string;
  /** Every function by concern name, the subscription functions (`deliver`, `dispatch`) included. */
  readonly functions: Readonly<Record<string, NodejsFunction>>;
  /** Delivers subscriptions (one partition per invocation); invoked asynchronously only. */
  readonly deliverer: NodejsFunction;
  /** Reads the table's stream and wakes the deliverers. */
  readonly dispatcher: NodejsFunction;
  readonly alarms: readonly IAlarm[];
  /** Lag, throughput, errors and latency; absent with `dashboard: false`. */
  readonly dashboard?: Dashboard;
  /** The Kafka gateway service, its load balancer and token; absent unless `kafkaGateway` is given. */
  readonly kafkaGateway?: StreambedKafkaGateway;

  private readonly props: StreambedProps;
  private readonly alarmList: IAlarm[] = [];
  private readonly functionMap: Record<string, NodejsFunction> = {};
  /** The deliverer's invoke rights: itself and every target function, kept apart from its role's default policy. */
  private readonly delivererInvokes: Policy;
  /** Target functions by ARN (token) and the subscriptions declared so far. */
  private readonly targetFunctions = new Map<string, IFunction>();
  private readonly subscriptionNames = new Set<string>();
  /** The longest timeout of a target function added so far (0: none, only URL targets). */
  private longestTargetTimeoutMs = 0;
  private subscriptionProvider?: Provider;

  constructor(scope: Construct, id: string, props: StreambedProps = {}) {
    super(scope, id);
    const problems = validateStreambedProps(props);
    if (problems.length > 0) {
      throw new Error(`Invalid Streambed props (${problems.length}):\n  - ${problems.join('\n  - ')}`);
    }
    this.props = props;

    this.bucket = this.createBucket(props.bucket ?? {});
    this.table = this.createTable(props.table ?? {});
    if ((props.api ?? 'http') === 'rest') {
      const api = this.createRestApi();
      this.api = api;
      this.stage = api.deploymentStage;
      this.url = api.url;
      this.apiId = api.restApiId;
    } else {
      const { api, stage } = this.createHttpApi();
      this.api = api;
      this.stage = stage;
      this.url = stage.url;
      this.apiId = api.apiId;
    }
    // The stage's name as a literal (the REST stage's `stageName` is a reference to the stage).
    const stageName = this.api instanceof RestApi ? REST_STAGE : HTTP_STAGE;
    this.executeApiArnPrefix = Stack.of(this).formatArn({
      service: 'execute-api',
      resource: this.apiId,
      resourceName: `${stageName}/*`,
    });

    for (const concern of props.concerns ?? STREAMBED_CONCERNS) {
      this.functionMap[concern.name] = this.createConcern(concern);
    }
    this.functions = this.functionMap;
    this.deliverer = this.createConcern(SUBSCRIPTION_CONCERNS.deliver);
    this.dispatcher = this.createConcern(SUBSCRIPTION_CONCERNS.dispatch);
    this.functionMap[SUBSCRIPTION_CONCERNS.deliver.name] = this.deliverer;
    this.functionMap[SUBSCRIPTION_CONCERNS.dispatch.name] = this.dispatcher;
    this.delivererInvokes = this.wireSubscriptions();
    this.createStorageAlarms();
    this.alarms = this.alarmList;
    if (props.dashboard !== false) {
      this.dashboard = createStreambedDashboard(this, { api: this.api, functions: this.functionMap });
    }
    if (props.kafkaGateway !== undefined) {
      // Produce and fetch (new objects under data/, reads of data/ and compacted/), groups, topic admin,
      // and the gateway's own registration item, which it deletes when it stops.
      this.kafkaGateway = new StreambedKafkaGateway(this, 'KafkaGateway', props.kafkaGateway, {
        tableName: this.table.tableName,
        bucketName: this.bucket.bucketName,
        grantStorage: (role) => this.grantStorage(role, { meta: 'readWrite', objects: 'readWrite' }),
        createLogGroup: (id) => this.createLogGroup(id),
      });
    }
  }

  private createBucket(options: StreambedBucketOptions): Bucket {
    const key = options.encryptionKey;
    const bucket = new Bucket(this, 'Bucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: key ? BucketEncryption.KMS : BucketEncryption.S3_MANAGED,
      encryptionKey: key,
      bucketKeyEnabled: key ? true : undefined,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      // Versioning stays off: objects are immutable and uniquely named (a ULID per PUT), so no write
      // ever replaces data; deletes are the janitor's retention and garbage collection, and versions
      // would keep every deleted byte billed until a second expiry rule removed it.
      versioned: false,
      lifecycleRules: [
        // One produce request is one small PutObject, but a client of the bucket (or a future multipart
        // upload) that dies mid-way would otherwise leave invisible, billed parts forever.
        { id: 'abort-incomplete-multipart-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      removalPolicy: options.removalPolicy ?? RemovalPolicy.RETAIN,
      autoDeleteObjects: options.autoDeleteObjects ?? false,
      serverAccessLogsBucket: options.serverAccessLogsBucket,
      serverAccessLogsPrefix: options.serverAccessLogsBucket
        ? (options.serverAccessLogsPrefix ?? 'streambed/')
        : undefined,
    });
    if (!options.serverAccessLogsBucket) {
      acknowledge(
        bucket,
        'AwsSolutions-S1',
        'Only the Streambed Lambda roles can reach the bucket (public access blocked, TLS only), and every ' +
          'API call is in the API access log; pass bucket.serverAccessLogsBucket to add S3 access logs.',
      );
    }
    return bucket;
  }

  private createTable(options: StreambedTableOptions): Table {
    const key = options.encryptionKey;
    return new Table(this, 'Table', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      // On-demand: load follows producers and consumers, with nothing to provision while idle.
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // Leases and group members carry `ttl` (epoch seconds); readers already ignore expired items.
      timeToLiveAttribute: 'ttl',
      deletionProtection: options.deletionProtection ?? true,
      removalPolicy: options.removalPolicy ?? RemovalPolicy.RETAIN,
      encryption: key ? TableEncryption.CUSTOMER_MANAGED : TableEncryption.DEFAULT,
      encryptionKey: key,
      // The dispatcher wakes subscriptions from it (DESIGN §12); it compares a partition item's old and
      // new highWatermark. Streams bill reads only, and Lambda's reads of them are free.
      stream: StreamViewType.NEW_AND_OLD_IMAGES,
    });
  }

  private createLogGroup(id: string): LogGroup {
    return new LogGroup(this, id, {
      retention: this.props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: this.props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
  }

  /**
   * The REST flavor: one Lambda proxy method per route (added with the concerns), IAM on every method
   * but health, the stage throttled as a whole and the health method far below it (method settings),
   * and one JSON access-log line per request.
   */
  private createRestApi(): RestApi {
    const accessLogs = this.createLogGroup('ApiAccessLogs');
    const throttle = this.props.throttle ?? DEFAULT_THROTTLE;
    const health = this.props.healthThrottle ?? DEFAULT_HEALTH_THROTTLE;
    const api = new RestApi(this, 'Api', {
      description: 'Streambed REST API (v1)',
      // Regional like an HTTP API: no CloudFront distribution in front of it.
      endpointConfiguration: { types: [EndpointType.REGIONAL] },
      binaryMediaTypes: BINARY_MEDIA_TYPES,
      // Execution logs would need an account-wide API Gateway role; the access log below suffices.
      cloudWatchRole: false,
      defaultMethodOptions: { authorizationType: AuthorizationType.IAM },
      deployOptions: {
        stageName: REST_STAGE,
        throttlingRateLimit: throttle.rateLimit,
        throttlingBurstLimit: throttle.burstLimit,
        methodOptions: {
          [`${HEALTH_ROUTE.path}/${HEALTH_ROUTE.method}`]: {
            throttlingRateLimit: health.rateLimit,
            throttlingBurstLimit: health.burstLimit,
          },
        },
        tracingEnabled: this.props.tracing ?? false,
        accessLogDestination: new RestLogGroupLogDestination(accessLogs),
        // One JSON object per request: who called (the IAM caller), what, and the outcome.
        accessLogFormat: AccessLogFormat.custom(
          JSON.stringify({
            ...ACCESS_LOG_FIELDS,
            httpMethod: '$context.httpMethod',
            resourcePath: '$context.resourcePath',
          }),
        ),
      },
    });
    acknowledge(
      api,
      'AwsSolutions-APIG2',
      'Every request is validated by the function behind it (the shared router checks paths, queries, headers and bodies and answers 400 INVALID_REQUEST with the reason); a gateway model would duplicate those rules.',
    );
    acknowledge(
      api,
      'AwsSolutions-APIG3',
      'Every method but the throttled health check needs a SigV4 signature, and the stage and health method are throttled; attach a WAF web ACL to the stage yourself if the API is reachable by untrusted networks.',
    );
    acknowledge(
      api,
      'AwsSolutions-APIG6',
      'The stage writes a JSON access log of every request (caller, method, path, status, latencies, errors); execution logging would need the account-wide API Gateway CloudWatch role, which this stack does not take over.',
    );
    acknowledge(
      api,
      'AwsSolutions-COG4',
      'Callers are AWS principals authorized by IAM (AWS_IAM on every method but health), not Cognito users.',
    );
    return api;
  }

  private createHttpApi(): { api: HttpApi; stage: HttpStage } {
    const auth = this.props.auth ?? { type: 'iam' };
    const defaultAuthorizer: IHttpRouteAuthorizer =
      auth.type === 'jwt'
        ? new HttpJwtAuthorizer('JwtAuthorizer', auth.issuer, { jwtAudience: [...auth.audience] })
        : new HttpIamAuthorizer();
    const api = new HttpApi(this, 'Api', {
      description: 'Streambed HTTP API (v1)',
      defaultAuthorizer,
      corsPreflight: this.props.cors,
      // The stage is made explicitly below, to set throttling and access logging on it.
      createDefaultStage: false,
    });
    const accessLogs = this.createLogGroup('ApiAccessLogs');
    const throttle = this.props.throttle ?? DEFAULT_THROTTLE;
    const stage = new HttpStage(this, 'DefaultStage', {
      httpApi: api,
      stageName: HTTP_STAGE,
      autoDeploy: true,
      throttle: { rateLimit: throttle.rateLimit, burstLimit: throttle.burstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        // One JSON object per request: who called (IAM caller or JWT subject), what, and the outcome.
        format: AccessLogFormat.custom(
          JSON.stringify({
            ...ACCESS_LOG_FIELDS,
            jwtSubject: '$context.authorizer.claims.sub',
            routeKey: '$context.routeKey',
            authorizerError: '$context.authorizer.error',
          }),
        ),
      },
    });
    return { api, stage };
  }

  /**
   * The health route's own throttle, as an HTTP API route setting (`RouteSettings` keyed by route key;
   * the L2 stage only sets the stage-wide defaults). A route setting must name an existing route, so
   * the stage waits for the route.
   */
  private throttleHealthRoute(route: HttpRoute): void {
    const health = this.props.healthThrottle ?? DEFAULT_HEALTH_THROTTLE;
    const stage = this.stage.node.defaultChild as CfnStage;
    stage.routeSettings = {
      [`${HEALTH_ROUTE.method} ${HEALTH_ROUTE.path}`]: {
        ThrottlingRateLimit: health.rateLimit,
        ThrottlingBurstLimit: health.burstLimit,
      },
    };
    stage.node.addDependency(route);
  }

  private addHttpRoutes(
    api: HttpApi,
    id: string,
    fn: NodejsFunction,
    routes: readonly StreambedRoute[],
  ): void {
    const integration = new HttpLambdaIntegration(`${id}Integration`, fn);
    for (const route of routes) {
      const [created] = api.addRoutes({
        path: route.path,
        methods: [route.method],
        integration,
        authorizer: route.public ? new HttpNoneAuthorizer() : undefined,
      });
      if (route.public && created) {
        this.throttleHealthRoute(created);
        acknowledge(created, 'AwsSolutions-APIG4', HEALTH_REASON);
      }
    }
  }

  /**
   * One method per route on the resource of its path (created on first use); `ANY` stays `ANY`. The
   * integration's invoke permission is scoped to each method; the console's test-invoke permission is
   * left out.
   */
  private addRestMethods(api: RestApi, fn: NodejsFunction, routes: readonly StreambedRoute[]): void {
    const integration = new LambdaIntegration(fn, { allowTestInvoke: false });
    for (const route of routes) {
      const method = api.root
        .resourceForPath(route.path)
        .addMethod(
          route.method,
          integration,
          route.public ? { authorizationType: AuthorizationType.NONE } : undefined,
        );
      if (route.public) acknowledge(method, 'AwsSolutions-APIG4', HEALTH_REASON);
    }
  }

  private createConcern(concern: StreambedConcern): NodejsFunction {
    const id = pascal(concern.name);
    const fn = this.createFunction(concern);
    if (concern.routes.length > 0) {
      if (this.api instanceof RestApi) this.addRestMethods(this.api, fn, concern.routes);
      else this.addHttpRoutes(this.api, id, fn, concern.routes);
    }
    if (concern.schedule) this.createSchedule(id, fn, concern.schedule);
    this.createFunctionAlarms(id, fn, concern);
    return fn;
  }

  /** A concern's function with its own role, log group, grants and environment (bindConcern). */
  private createFunction(concern: StreambedConcern): NodejsFunction {
    const id = pascal(concern.name);
    const logGroup = this.createLogGroup(`${id}Logs`);
    // An explicit role, so the function gets exactly the statements below: no managed
    // AWSLambdaBasicExecutionRole, whose log permissions cover every log group in the account.
    const role = new Role(this, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Streambed ${concern.name} function`,
    });
    logGroup.grantWrite(role);

    const fn = new NodejsFunction(this, `${id}Function`, {
      description: `Streambed ${concern.name}`,
      entry: join(HANDLERS_DIR, concern.handlerFile),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      runtime: STREAMBED_RUNTIME,
      architecture: Architecture.ARM_64,
      // DESIGN §10: every function fits 512 MB with a maximal request.
      memorySize: 512,
      timeout: concern.timeout,
      reservedConcurrentExecutions: concern.reservedConcurrency,
      role,
      logGroup,
      tracing: this.props.tracing ? Tracing.ACTIVE : Tracing.DISABLED,
      environment: {
        POWERTOOLS_SERVICE_NAME: 'streambed',
        POWERTOOLS_METRICS_NAMESPACE: 'Streambed',
        // Stack traces point into the TypeScript sources (the bundle is minified).
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        // esbuild from node_modules: no Docker, works offline.
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        // Bundled CommonJS dependencies call require(); ESM has none unless we make one.
        banner:
          "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
        // Prefer ES module entry points so esbuild can tree-shake the AWS SDK clients.
        mainFields: ['module', 'main'],
        minify: true,
        sourceMap: true,
        target: 'node24',
        // The pinned AWS SDK clients are bundled (not the runtime's copy, whose version drifts), so
        // nothing from @aws-sdk is external. better-sqlite3 is the embedded backend's native module:
        // it must never reach a Lambda bundle, so it stays out even if an import slips in (the infra
        // tests fail on any reference to it in a bundle).
        externalModules: ['better-sqlite3'],
      },
    });

    this.bindConcern(fn, role, concern);
    if (this.props.tracing) {
      acknowledge(
        role,
        'AwsSolutions-IAM5[Resource::*]',
        'X-Ray PutTraceSegments and PutTelemetryRecords support no resource-level permissions.',
      );
    }
    return fn;
  }

  /**
   * A scheduled function: the rule, Lambda's own asynchronous-invocation settings, a queue for the
   * events that failed or expired, and an alarm for when it stops succeeding. Each run is idempotent and
   * the next tick comes soon, so nothing is retried: the target's retryAttempts 0 covers EventBridge's
   * retries of a failed delivery, and the invoke config's retryAttempts 0 covers Lambda's own (two by
   * default) retries of a run that failed.
   */
  private createSchedule(id: string, fn: NodejsFunction, schedule: Schedule): void {
    const failures = this.createFailureQueue(id, 'scheduled runs');
    fn.configureAsyncInvoke({
      retryAttempts: 0,
      maxEventAge: SCHEDULED_MAX_EVENT_AGE,
      onFailure: new SendOnlyQueueDestination(failures),
    });
    new Rule(this, `${id}Schedule`, {
      description: `Runs the Streambed ${id}`,
      schedule,
      targets: [new LambdaFunction(fn, { retryAttempts: 0 })],
    });
    const period = SCHEDULED_SUCCESS_WINDOW;
    this.alarm(
      `${id}NotSucceedingAlarm`,
      new MathExpression({
        expression: 'FILL(invocations, 0) - FILL(errors, 0)',
        usingMetrics: {
          invocations: fn.metricInvocations({ period, statistic: 'Sum' }),
          errors: fn.metricErrors({ period, statistic: 'Sum' }),
        },
        period,
        label: 'successful runs',
      }),
      `Streambed ${id}: no run succeeded in the last ${period.toMinutes()} minutes (failing, throttled or not invoked at all); retention, compaction and garbage collection have stalled.`,
      {
        comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
        // No data means no runs at all: that is the failure this alarm is for.
        treatMissingData: TreatMissingData.BREACHING,
      },
    );
  }

  /** A queue keeping what a function's invocations dropped (its on-failure destination), for 14 days. */
  private createFailureQueue(id: string, what: string): Queue {
    const failures = new Queue(this, `${id}Failures`, {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: FAILURE_RETENTION,
    });
    acknowledge(
      failures,
      'AwsSolutions-SQS3',
      `This queue is itself the dead-letter queue of the ${id} function's ${what} (its on-failure destination); nothing consumes from it, so a further dead-letter queue would hold nothing.`,
    );
    return failures;
  }

  /**
   * Subscriptions on AWS (DESIGN §12): the dispatcher reads the table's stream (filtered to partition
   * and subscription items) and wakes deliverers with asynchronous invokes; the janitor's minute sweep
   * wakes whatever is behind and unleased; a deliverer out of time invokes itself. Nothing polls while
   * idle. Returns the deliverer's invoke policy, to which addSubscription adds each target.
   */
  private wireSubscriptions(): Policy {
    const deliverer = this.deliverer;
    const dispatcher = this.dispatcher;
    const invokeDeliverer = new PolicyStatement({
      actions: ['lambda:InvokeFunction'],
      resources: [deliverer.functionArn],
    });

    deliverer.configureAsyncInvoke({
      // A failed run is not retried by Lambda: the next sweep (a minute) or commit wakes it again.
      retryAttempts: 0,
      maxEventAge: WAKE_MAX_EVENT_AGE,
      onFailure: new SendOnlyQueueDestination(this.createFailureQueue('Deliver', 'wake-ups')),
    });
    // The deliverer invokes itself to carry on a backlog. In a policy of its own: a statement naming the
    // function in its role's default policy would make the function depend on itself.
    const invokes = new Policy(this, 'DeliverInvokePolicy', {
      roles: deliverer.role ? [deliverer.role] : [],
      statements: [invokeDeliverer],
    });
    if (this.props.allowPrivateUrlTargets) deliverer.addEnvironment(ALLOW_PRIVATE_URLS_ENV, 'true');
    // The longest call the deliverer waits out: a URL target's 30 s, or the longest target function's.
    deliverer.addEnvironment(
      TARGET_TIMEOUT_ENV,
      Lazy.string({ produce: () => String(Math.max(URL_TARGET_TIMEOUT_MS, this.longestTargetTimeoutMs)) }),
    );

    dispatcher.addEnvironment(DELIVER_FUNCTION_ENV, deliverer.functionName);
    dispatcher.addToRolePolicy(invokeDeliverer);
    dispatcher.addEventSource(
      new DynamoEventSource(this.table, {
        startingPosition: StartingPosition.LATEST,
        batchSize: DISPATCH_BATCH_SIZE,
        bisectBatchOnError: true,
        retryAttempts: DISPATCH_RETRY_ATTEMPTS,
        maxRecordAge: DISPATCH_MAX_RECORD_AGE,
        reportBatchItemFailures: true,
        filters: DISPATCH_FILTERS,
        onFailure: new SendOnlyQueueDestination(this.createFailureQueue('Dispatch', 'stream batches')),
      }),
    );
    if (dispatcher.role) {
      acknowledge(
        dispatcher.role,
        'AwsSolutions-IAM5[Resource::*]',
        'dynamodb:ListStreams, which the event source mapping needs to find the table stream, supports no resource-level permissions; the stream read actions are on the table stream only.',
      );
    }

    const janitor = this.functionMap.janitor;
    if (janitor !== undefined) {
      janitor.addEnvironment(DELIVER_FUNCTION_ENV, deliverer.functionName);
      janitor.addToRolePolicy(invokeDeliverer);
    }
    const api = this.functionMap.subscriptions;
    if (api !== undefined && this.props.allowPrivateUrlTargets) {
      api.addEnvironment(ALLOW_PRIVATE_URLS_ENV, 'true');
    }
    return invokes;
  }

  /**
   * Declares a subscription with the stack: `name` delivers `options.topic` to `options.function`
   * (DESIGN §12), created, changed and deleted with the stack by a custom resource
   * (`Custom::StreambedSubscription`, lambdas/handlers/subscription-resource.ts). The deliverer is
   * granted lambda:InvokeFunction on that function alone, and the function is added to the targets the
   * deliverer and the subscription routes accept.
   *
   * A change of topic, function or starting position replaces the subscription: the new one starts at
   * its starting position. Other changes keep its position.
   */
  addSubscription(name: string, options: StreambedSubscriptionOptions): CustomResource {
    const problems = validateSubscriptionOptions(name, options);
    if (this.subscriptionNames.has(name))
      problems.push(`name ${JSON.stringify(name)} is already a subscription of this stack`);
    if (problems.length > 0) {
      throw new Error(
        `Invalid Streambed subscription ${JSON.stringify(name)} (${problems.length}):\n  - ${problems.join('\n  - ')}`,
      );
    }
    this.subscriptionNames.add(name);
    const provider = this.subscriptionProvider ?? this.createSubscriptionProvider();

    const target = options.function;
    const timeout = targetTimeoutOf(options) as Duration;
    this.longestTargetTimeoutMs = Math.max(this.longestTargetTimeoutMs, timeout.toMilliseconds());
    if (!this.targetFunctions.has(target.functionArn)) {
      this.targetFunctions.set(target.functionArn, target);
      // The function itself, not its versions and aliases (`:*`): a target is named by its ARN.
      this.delivererInvokes.addStatements(
        new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [target.functionArn] }),
      );
    }

    const position = options.startingPosition;
    const properties: SubscriptionResourceProperties = {
      Name: name,
      Topic: options.topic,
      Function: target.functionArn,
      BatchSize: options.batchSize,
      MaxBatchingWindowMs: options.maxBatchingWindow?.toMilliseconds(),
      MaxRetryAttempts: options.maxRetryAttempts,
      BisectBatchOnError: options.bisectBatchOnError,
      DeadLetterTopic: options.deadLetterTopic,
      StartingPosition: typeof position === 'object' ? position.timestamp : position,
      Enabled: options.enabled,
      CreateTopicPartitions: options.createTopic?.partitions,
    };
    const resource = new CustomResource(this, `Subscription-${name}`, {
      serviceToken: provider.serviceToken,
      resourceType: SUBSCRIPTION_RESOURCE_TYPE,
      properties: Object.fromEntries(Object.entries(properties).filter(([, value]) => value !== undefined)),
    });
    // Delivery needs the invoke grant in place once the subscription exists.
    resource.node.addDependency(this.delivererInvokes);
    return resource;
  }

  /**
   * The custom resource handler and its Provider framework, made with the first subscription. The
   * handler and the deliverer (and the subscription routes' function, when the stack has one) learn the
   * granted targets from one lazily joined list, so a later addSubscription reaches them all.
   */
  private createSubscriptionProvider(): Provider {
    const handler = this.createFunction(SUBSCRIPTION_CONCERNS.resource);
    this.functionMap[SUBSCRIPTION_CONCERNS.resource.name] = handler;
    const targets = Lazy.string({ produce: () => [...this.targetFunctions.keys()].join(',') });
    for (const fn of [this.deliverer, handler, this.functionMap.subscriptions]) {
      fn?.addEnvironment(SUBSCRIPTION_FUNCTIONS_ENV, targets);
    }
    if (this.props.allowPrivateUrlTargets) handler.addEnvironment(ALLOW_PRIVATE_URLS_ENV, 'true');

    // The framework's function gets an explicit role and log group, like every Streambed function
    // (no managed AWSLambdaBasicExecutionRole, whose log rights cover every log group).
    const logGroup = this.createLogGroup('SubscriptionProviderLogs');
    const role = new Role(this, 'SubscriptionProviderRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'Streambed subscription custom resource provider framework',
    });
    logGroup.grantWrite(role);
    const provider = new Provider(this, 'SubscriptionProvider', {
      onEventHandler: handler,
      frameworkOnEventRole: role,
      logGroup,
    });
    const handlerId = Stack.of(this).getLogicalId(handler.node.defaultChild as CfnFunction);
    acknowledge(
      role,
      `AwsSolutions-IAM5[Resource::<${handlerId}.Arn>:*]`,
      'The CDK Provider framework grants itself lambda:InvokeFunction on the subscription resource handler and its versions (ARN and ARN:*); it invokes that one function and nothing else.',
    );
    this.subscriptionProvider = provider;
    return provider;
  }

  /**
   * The single place where a concern's access becomes configuration and permissions together. The
   * names go to every function because the Lambda composition root (lambdas/runtime/lambda-root.ts)
   * reads both on every function; the rights on each resource follow the concern's access level, so a
   * function without object access that touched S3 would be refused (AccessDenied), not misconfigured.
   */
  private bindConcern(fn: NodejsFunction, role: Role, concern: StreambedConcern): void {
    fn.addEnvironment('STREAMBED_TABLE', this.table.tableName);
    fn.addEnvironment('STREAMBED_BUCKET', this.bucket.bucketName);
    this.grantStorage(role, concern);
  }

  /**
   * A role's rights on the table and the bucket, from an access level of each (the concern table's
   * levels): the statements and KMS rights of the level, nothing wider.
   */
  private grantStorage(role: IRole, { meta, objects }: Pick<StreambedConcern, 'meta' | 'objects'>): void {
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: [...META_ACTIONS[meta]], resources: [this.table.tableArn] }),
    );
    const tableKey = this.props.table?.encryptionKey;
    if (tableKey) {
      const writes = meta !== 'read';
      role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: writes
            ? ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey']
            : ['kms:Decrypt', 'kms:DescribeKey'],
          resources: [tableKey.keyArn],
        }),
      );
    }

    if (objects === 'none') return;
    const patterns = OBJECT_PREFIXES[objects].map((prefix) => `${prefix}*`);
    for (const grant of OBJECT_GRANTS[objects]) {
      role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: [...grant.actions],
          resources: OBJECT_PREFIXES[grant.level].map((prefix) => this.bucket.arnForObjects(`${prefix}*`)),
        }),
      );
    }
    if (OBJECT_LISTS[objects]) {
      // Without s3:ListBucket S3 answers GetObject of a missing key with 403 AccessDenied, which the
      // S3 adapter cannot tell from a real denial, so the re-read after a compaction or retention race
      // (fetch.ts) would never run. The grant is on the whole bucket and unconditioned on purpose:
      // S3's GetObject reference makes the 404 depend on "the s3:ListBucket permission on the bucket",
      // and a GetObject request carries no `prefix`, so the s3:prefix key is absent from its request
      // context and, per the IAM condition-operator reference, a StringLike on an absent key does not
      // match: a prefix-conditioned grant would not count. The bucket holds Streambed objects only,
      // whose keys these functions already know from the index.
      role.addToPrincipalPolicy(
        new PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.bucket.bucketArn] }),
      );
    }
    const bucketKey = this.props.bucket?.encryptionKey;
    if (bucketKey) {
      const actions = new Set<string>();
      if (objects !== 'write') actions.add('kms:Decrypt');
      if (objects !== 'read') actions.add('kms:GenerateDataKey');
      role.addToPrincipalPolicy(
        new PolicyStatement({ actions: [...actions], resources: [bucketKey.keyArn] }),
      );
    }
    const bucketLogicalId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as CfnBucket);
    for (const pattern of patterns) {
      acknowledge(
        role,
        `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/${pattern}]`,
        `Object keys are generated per request (${DATA_PREFIX}{hash}/{ULID}.sbo, ${COMPACTED_PREFIX}{topicId}/{partition}/{ULID}.sbo), ` +
          'so the grant is scoped to the key prefix, the narrowest resource that covers them; the actions are listed one by one.',
      );
    }
  }

  /**
   * One alarm. By default it fires on one event (metric ≥ 1) in one period, and no data means no
   * requests, which is healthy.
   */
  private alarm(
    id: string,
    metric: IMetric,
    description: string,
    options: Partial<Pick<AlarmProps, 'threshold' | 'comparisonOperator' | 'treatMissingData'>> = {},
  ): void {
    const alarm = new Alarm(this, id, {
      metric,
      threshold: options.threshold ?? 1,
      evaluationPeriods: 1,
      comparisonOperator: options.comparisonOperator ?? ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: options.treatMissingData ?? TreatMissingData.NOT_BREACHING,
      alarmDescription: description,
    });
    for (const action of this.props.alarmActions ?? []) alarm.addAlarmAction(action);
    this.alarmList.push(alarm);
  }

  private createFunctionAlarms(id: string, fn: NodejsFunction, concern: StreambedConcern): void {
    const period = Duration.minutes(5);
    this.alarm(
      `${id}ErrorsAlarm`,
      fn.metricErrors({ period, statistic: 'Sum' }),
      `Streambed ${id}: the function failed (unhandled error or timeout) in the last 5 minutes.`,
    );
    const timeout = concern.timeout.toMilliseconds();
    if (!concern.worksToDeadline) {
      this.alarm(
        `${id}NearTimeoutAlarm`,
        fn.metricDuration({ period, statistic: 'Maximum' }),
        `Streambed ${id}: a run took ${NEAR_LIMIT * 100} % or more of the ${concern.timeout.toSeconds()} s timeout in the last 5 minutes; slower dependencies will soon make it time out.`,
        { threshold: timeout * NEAR_LIMIT },
      );
    }
    // A function capped by reserved concurrency (the janitor) is throttled by design when a tick finds
    // a run still going; its not-succeeding alarm says when that stops being occasional.
    if (concern.reservedConcurrency === undefined) {
      this.alarm(
        `${id}ThrottlesAlarm`,
        fn.metricThrottles({ period, statistic: 'Sum' }),
        `Streambed ${id}: invocations were throttled (account or function concurrency exhausted).`,
      );
    }
  }

  private createStorageAlarms(): void {
    const period = Duration.minutes(5);
    this.alarm(
      'Api5xxAlarm',
      this.api.metricServerError({ period, statistic: 'Sum' }),
      'Streambed API answered 5xx (INTERNAL, UNAVAILABLE or an integration failure) in the last 5 minutes.',
    );
    // Every operation the functions use. Account-wide UserErrors is left out: it has no table
    // dimension, and Streambed's compare-and-set makes failed conditions part of normal operation.
    const operations = [
      Operation.GET_ITEM,
      Operation.BATCH_GET_ITEM,
      Operation.QUERY,
      Operation.PUT_ITEM,
      Operation.DELETE_ITEM,
      Operation.TRANSACT_WRITE_ITEMS,
    ];
    this.alarm(
      'TableThrottlesAlarm',
      this.table.metricThrottledRequestsForOperations({ operations, period, statistic: 'Sum' }),
      'Streambed metadata table throttled requests (a hot partition, or traffic above twice its previous peak).',
    );
    // ClaimedAccountConcurrency (account-wide, no dimension) counts running unreserved invocations plus
    // every reservation, so it is what runs out first; Streambed's functions share it with the account's.
    const quota = this.props.accountConcurrencyQuota ?? DEFAULT_ACCOUNT_CONCURRENCY_QUOTA;
    this.alarm(
      'AccountConcurrencyAlarm',
      new Metric({
        namespace: 'AWS/Lambda',
        metricName: 'ClaimedAccountConcurrency',
        statistic: 'Maximum',
        period: Duration.minutes(1),
      }),
      `Lambda concurrency claimed in this Region reached ${NEAR_LIMIT * 100} % of the ${quota} quota; beyond it every function, Streambed's included, is throttled.`,
      { threshold: Math.floor(quota * NEAR_LIMIT) },
    );
    this.alarm(
      'TableSystemErrorsAlarm',
      this.table.metricSystemErrorsForOperations({ operations, period, statistic: 'Sum' }),
      'Streambed metadata table returned 5xx system errors.',
    );
  }
}
