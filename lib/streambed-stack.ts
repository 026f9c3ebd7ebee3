/**
 * The deployable stack: one `Streambed` plus the outputs `npx cdk deploy` prints. Deployment choices
 * come from CDK context (`-c key=value` or cdk.json), read once here and turned into construct props.
 */
import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct, Node } from 'constructs';
import { Streambed, type StreambedApiFlavor, type StreambedProps } from './streambed.ts';

export interface StreambedStackProps extends StackProps {
  readonly streambed?: StreambedProps;
}

export class StreambedStack extends Stack {
  readonly streambed: Streambed;

  constructor(scope: Construct, id: string, props: StreambedStackProps = {}) {
    super(scope, id, props);
    this.streambed = new Streambed(this, 'Streambed', props.streambed);
    new CfnOutput(this, 'ApiUrl', {
      value: this.streambed.url,
      description: 'Base URL of the Streambed API (SigV4-signed requests, service execute-api)',
    });
    new CfnOutput(this, 'ApiId', {
      value: this.streambed.apiId,
      description: 'Id of the Streambed API (the first label of ApiUrl)',
    });
    new CfnOutput(this, 'ExecuteApiArnPrefix', {
      value: this.streambed.executeApiArnPrefix,
      description:
        'execute-api ARN of every method and path of the stage: the Resource of a caller policy allowing execute-api:Invoke',
    });
    new CfnOutput(this, 'BucketName', {
      value: this.streambed.bucket.bucketName,
      description: 'S3 bucket holding the record objects',
    });
    new CfnOutput(this, 'TableName', {
      value: this.streambed.table.tableName,
      description: 'DynamoDB table holding topics, partitions, the batch index and leases',
    });
    const gateway = this.streambed.kafkaGateway;
    if (gateway !== undefined) {
      new CfnOutput(this, 'KafkaBootstrapServers', {
        value: gateway.bootstrapServers,
        description:
          'bootstrap.servers of Kafka clients (TLS; SASL/PLAIN, any user name, the token as password)',
      });
      new CfnOutput(this, 'KafkaTokenSecretArn', {
        value: gateway.tokenSecret.secretArn,
        description: 'Secrets Manager secret holding the SASL/PLAIN password of Kafka clients',
      });
    }
  }
}

/** Context keys the app understands (documented in docs/deploy.md). */
export const CONTEXT = {
  stackName: 'streambed:stackName',
  /** `retain` (default) or `destroy`: what `cdk destroy` does to the bucket, table and logs. */
  removalPolicy: 'streambed:removalPolicy',
  jwtIssuer: 'streambed:jwtIssuer',
  /** Comma-separated audiences (client ids). */
  jwtAudience: 'streambed:jwtAudience',
  tracing: 'streambed:tracing',
  /** `http` (default) or `rest`: which API Gateway product fronts the functions. */
  api: 'streambed:api',
} as const;

function contextString(node: Node, key: string): string | undefined {
  const value: unknown = node.tryGetContext(key);
  if (value === undefined || value === null || value === '') return undefined;
  return String(value);
}

/**
 * Construct props from context. Unknown values are reported with the construct's own validation
 * (one error listing every problem), so a typo fails synth instead of silently meaning a default.
 */
export function streambedPropsFromContext(node: Node): StreambedProps {
  const problems: string[] = [];
  const removal = contextString(node, CONTEXT.removalPolicy) ?? 'retain';
  if (removal !== 'retain' && removal !== 'destroy') {
    problems.push(`${CONTEXT.removalPolicy} must be retain or destroy, got ${JSON.stringify(removal)}`);
  }
  const tracing = contextString(node, CONTEXT.tracing) ?? 'false';
  if (tracing !== 'true' && tracing !== 'false') {
    problems.push(`${CONTEXT.tracing} must be true or false, got ${JSON.stringify(tracing)}`);
  }
  const api = contextString(node, CONTEXT.api) ?? 'http';
  if (api !== 'http' && api !== 'rest') {
    problems.push(`${CONTEXT.api} must be http or rest, got ${JSON.stringify(api)}`);
  }
  const issuer = contextString(node, CONTEXT.jwtIssuer);
  const audience = contextString(node, CONTEXT.jwtAudience);
  if ((issuer === undefined) !== (audience === undefined)) {
    problems.push(`${CONTEXT.jwtIssuer} and ${CONTEXT.jwtAudience} go together: set both or neither`);
  }
  if (problems.length > 0) {
    throw new Error(`Invalid Streambed context (${problems.length}):\n  - ${problems.join('\n  - ')}`);
  }

  const destroy = removal === 'destroy';
  const props: StreambedProps = {
    bucket: destroy ? { removalPolicy: RemovalPolicy.DESTROY, autoDeleteObjects: true } : {},
    table: destroy ? { removalPolicy: RemovalPolicy.DESTROY, deletionProtection: false } : {},
    logRemovalPolicy: destroy ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    tracing: tracing === 'true',
    // Checked above: http or rest.
    api: api as StreambedApiFlavor,
    auth:
      issuer !== undefined && audience !== undefined
        ? {
            type: 'jwt',
            issuer,
            audience: audience
              .split(',')
              .map((a) => a.trim())
              .filter((a) => a !== ''),
          }
        : { type: 'iam' },
  };
  return props;
}
