/**
 * The opt-in Kafka gateway of the Streambed construct (`kafkaGateway`, DESIGN §13): `streambed
 * kafka-gateway --backend aws` as an ECS Fargate service (arm64) behind a Network Load Balancer that
 * terminates TLS, so unmodified Kafka clients reach the same topics, records and groups as the API.
 * Clients authenticate with SASL/PLAIN over that TLS, the password being the token kept in a Secrets
 * Manager secret. Every task registers itself in the table and advertises the load balancer's name, so
 * Metadata lists one broker at that one address: any task serves any request. A group's requests
 * reach whichever task the load balancer picks; one that does not coordinate the group forwards them
 * to the task that does, at the private IP that task registered (the gateway binds 0.0.0.0 and takes
 * its awsvpc address from its network interface), so the task security group admits the Kafka port
 * from the tasks themselves.
 *
 * Like the construct, this holds no business logic: it validates its options (every problem at once),
 * wires the resources and grants the task role exactly what the gateway needs.
 */
import { fileURLToPath } from 'node:url';
import { Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import {
  FlowLogDestination,
  GatewayVpcEndpointAwsService,
  type IVpc,
  Peer,
  Port,
  SecurityGroup,
  SubnetType,
  Vpc,
} from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import {
  Cluster,
  ContainerImage,
  ContainerInsights,
  CpuArchitecture,
  Secret as EcsSecret,
  FargateService,
  FargateTaskDefinition,
  LogDriver,
  OperatingSystemFamily,
} from 'aws-cdk-lib/aws-ecs';
import {
  ListenerCertificate,
  NetworkLoadBalancer,
  Protocol,
  SslPolicy,
} from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type { IRole } from 'aws-cdk-lib/aws-iam';
import type { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export interface StreambedKafkaGatewayOptions {
  /** The ACM certificate of the load balancer's TLS listener (for `advertisedHost`, or its DNS name). */
  readonly certificateArn: string;
  /**
   * The host Kafka clients are told to connect to: a custom domain of the certificate, pointed at the
   * load balancer. @default the load balancer's DNS name
   */
  readonly advertisedHost?: string;
  /** The Kafka port, on the load balancer and the tasks alike. @default 9092 */
  readonly port?: number;
  /** Gateway tasks; two or more keep Kafka up through a task's replacement. @default 2 */
  readonly desiredCount?: number;
  /** vCPU units and memory of a task. @default 512 and 1024 MiB */
  readonly cpu?: number;
  readonly memoryLimitMiB?: number;
  /**
   * The VPC of the load balancer (public subnets when internet-facing) and the tasks (private subnets
   * with egress). @default a new VPC over two zones, one NAT gateway, S3 and DynamoDB gateway endpoints
   */
  readonly vpc?: IVpc;
  /** Reachable from the internet, or only inside the VPC. @default true */
  readonly internetFacing?: boolean;
  /** IPv4 ranges allowed to connect to the Kafka port. @default any ('0.0.0.0/0') */
  readonly clientCidrs?: readonly string[];
  /** The SASL/PLAIN password clients present. @default a generated secret */
  readonly tokenSecret?: ISecret;
  /** The load balancer's access logs. @default none (the construct records why for cdk-nag) */
  readonly accessLogsBucket?: IBucket;
  /** The gateway's image. @default built from this repository (lib/kafka-gateway.Dockerfile) at deploy */
  readonly image?: ContainerImage;
}

export const DEFAULT_KAFKA_GATEWAY_PORT = 9092;
const DEFAULT_DESIRED_COUNT = 2;
/** Fargate's arm64 task sizes: vCPU units and the memory each allows (MiB). */
const FARGATE_SIZES: Record<number, readonly [number, number]> = {
  256: [512, 2048],
  512: [1024, 4096],
  1024: [2048, 8192],
  2048: [4096, 16384],
  4096: [8192, 30720],
};

/** The Dockerfile of the gateway's image, built with the repository as its context. */
export const KAFKA_GATEWAY_DOCKERFILE = 'lib/kafka-gateway.Dockerfile';
const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

/** Every problem with the gateway's options, each naming its field under `kafkaGateway.`. */
export function validateKafkaGatewayOptions(options: StreambedKafkaGatewayOptions): string[] {
  const problems: string[] = [];
  const known = (value: unknown) => value !== undefined && !Token.isUnresolved(value);
  const field = (name: string) => `kafkaGateway.${name}`;
  if (options.certificateArn === undefined || options.certificateArn === '') {
    problems.push(
      `${field('certificateArn')} is required: the load balancer terminates TLS with this ACM certificate, so the token never crosses the network in clear`,
    );
  } else if (known(options.certificateArn) && !/^arn:aws[a-z-]*:acm:/.test(options.certificateArn)) {
    problems.push(
      `${field('certificateArn')} must be an ACM certificate ARN (arn:aws:acm:...), got ${JSON.stringify(options.certificateArn)}`,
    );
  }
  if (
    options.advertisedHost !== undefined &&
    known(options.advertisedHost) &&
    !/^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(
      options.advertisedHost,
    )
  ) {
    problems.push(
      `${field('advertisedHost')} must be a DNS name, got ${JSON.stringify(options.advertisedHost)}`,
    );
  }
  const port = options.port;
  if (known(port) && !(Number.isInteger(port) && (port as number) >= 1 && (port as number) <= 65535)) {
    problems.push(`${field('port')} must be an integer from 1 to 65535, got ${port}`);
  }
  const count = options.desiredCount;
  if (known(count) && !(Number.isInteger(count) && (count as number) >= 1)) {
    problems.push(`${field('desiredCount')} must be a positive integer, got ${count}`);
  }
  const cpu = options.cpu ?? 512;
  const memory = options.memoryLimitMiB ?? 1024;
  const sizes = FARGATE_SIZES[cpu];
  if (known(cpu) && sizes === undefined) {
    problems.push(
      `${field('cpu')} must be one of ${Object.keys(FARGATE_SIZES).join(', ')} (Fargate task sizes), got ${cpu}`,
    );
  } else if (sizes !== undefined && known(memory) && !(memory >= sizes[0] && memory <= sizes[1])) {
    problems.push(
      `${field('memoryLimitMiB')} must be from ${sizes[0]} to ${sizes[1]} MiB with cpu ${cpu}, got ${memory}`,
    );
  }
  if (options.clientCidrs !== undefined) {
    if (options.clientCidrs.length === 0) {
      problems.push(`${field('clientCidrs')} must list at least one range (leave it out to allow any)`);
    }
    for (const cidr of options.clientCidrs) {
      if (known(cidr) && !/^(\d{1,3}\.){3}\d{1,3}\/(\d|[12]\d|3[0-2])$/.test(cidr)) {
        problems.push(`${field('clientCidrs')}: ${JSON.stringify(cidr)} is not an IPv4 CIDR (a.b.c.d/n)`);
      }
    }
  }
  return problems;
}

export interface KafkaGatewayResources {
  /** The table and bucket names the gateway runs over. */
  readonly tableName: string;
  readonly bucketName: string;
  /** Grants a role exactly the table and bucket access the gateway needs (the construct's grant helper). */
  readonly grantStorage: (role: IRole) => void;
  /** A log group with the construct's retention and removal policy. */
  readonly createLogGroup: (id: string) => LogGroup;
}

/** Acknowledges one cdk-nag finding on `scope`, with the reason it is acceptable here. */
function acknowledge(scope: Construct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

export class StreambedKafkaGateway extends Construct {
  readonly service: FargateService;
  readonly loadBalancer: NetworkLoadBalancer;
  /** The SASL/PLAIN password clients present (any user name). */
  readonly tokenSecret: ISecret;
  /** `host:port` for Kafka clients' bootstrap servers. */
  readonly bootstrapServers: string;
  readonly vpc: IVpc;

  constructor(
    scope: Construct,
    id: string,
    options: StreambedKafkaGatewayOptions,
    storage: KafkaGatewayResources,
  ) {
    super(scope, id);
    const port = options.port ?? DEFAULT_KAFKA_GATEWAY_PORT;
    const internetFacing = options.internetFacing ?? true;
    this.vpc = options.vpc ?? this.createVpc(storage);

    const loadBalancerGroup = new SecurityGroup(this, 'LoadBalancerSecurityGroup', {
      vpc: this.vpc,
      description: 'Streambed Kafka gateway load balancer: the Kafka port from the clients',
      allowAllOutbound: false,
    });
    const clientCidrs = options.clientCidrs ?? ['0.0.0.0/0'];
    for (const cidr of clientCidrs) {
      loadBalancerGroup.addIngressRule(Peer.ipv4(cidr), Port.tcp(port), 'Kafka clients (TLS)');
    }
    if (clientCidrs.includes('0.0.0.0/0')) {
      acknowledge(
        loadBalancerGroup,
        'AwsSolutions-EC23',
        'Kafka clients connect from anywhere by default, over TLS and only after SASL/PLAIN with the token; only the Kafka port is open. Narrow it with kafkaGateway.clientCidrs.',
      );
    }
    const taskGroup = new SecurityGroup(this, 'TaskSecurityGroup', {
      vpc: this.vpc,
      description: 'Streambed Kafka gateway tasks: the Kafka port from the load balancer and each other',
      // Tasks reach DynamoDB, S3, ECR, Secrets Manager and CloudWatch Logs over HTTPS.
      allowAllOutbound: false,
    });
    taskGroup.addEgressRule(Peer.anyIpv4(), Port.tcp(443), 'AWS APIs over HTTPS');
    taskGroup.addIngressRule(loadBalancerGroup, Port.tcp(port), 'Kafka from the load balancer');
    // A task forwards group requests to the task coordinating the group, at its private IP.
    taskGroup.addIngressRule(taskGroup, Port.tcp(port), 'Kafka group requests forwarded between tasks');
    taskGroup.addEgressRule(taskGroup, Port.tcp(port), 'Kafka group requests forwarded between tasks');
    loadBalancerGroup.addEgressRule(taskGroup, Port.tcp(port), 'Kafka to the gateway tasks');

    this.loadBalancer = new NetworkLoadBalancer(this, 'LoadBalancer', {
      vpc: this.vpc,
      internetFacing,
      crossZoneEnabled: true,
      securityGroups: [loadBalancerGroup],
      vpcSubnets: { subnetType: internetFacing ? SubnetType.PUBLIC : SubnetType.PRIVATE_WITH_EGRESS },
    });
    if (options.accessLogsBucket) {
      this.loadBalancer.logAccessLogs(options.accessLogsBucket, 'streambed-kafka-gateway');
    } else {
      acknowledge(
        this.loadBalancer,
        'AwsSolutions-ELB2',
        'Access logs are opt-in (kafkaGateway.accessLogsBucket); the gateway tasks log failed authentications and closed connections to CloudWatch Logs.',
      );
    }
    const advertisedHost = options.advertisedHost ?? this.loadBalancer.loadBalancerDnsName;
    this.bootstrapServers = `${advertisedHost}:${port}`;

    this.tokenSecret = options.tokenSecret ?? this.createTokenSecret();

    const cluster = new Cluster(this, 'Cluster', {
      vpc: this.vpc,
      containerInsightsV2: ContainerInsights.ENABLED,
    });
    const task = new FargateTaskDefinition(this, 'Task', {
      cpu: options.cpu ?? 512,
      memoryLimitMiB: options.memoryLimitMiB ?? 1024,
      runtimePlatform: {
        cpuArchitecture: CpuArchitecture.ARM64,
        operatingSystemFamily: OperatingSystemFamily.LINUX,
      },
    });
    storage.grantStorage(task.taskRole);
    task.addContainer('Gateway', {
      image:
        options.image ??
        ContainerImage.fromAsset(REPO_ROOT, {
          file: KAFKA_GATEWAY_DOCKERFILE,
          platform: Platform.LINUX_ARM64,
        }),
      command: [
        'kafka-gateway',
        '--backend',
        'aws',
        '--host',
        '0.0.0.0',
        '--kafka-port',
        String(port),
        '--kafka-advertised-host',
        advertisedHost,
      ],
      environment: {
        STREAMBED_TABLE: storage.tableName,
        STREAMBED_BUCKET: storage.bucketName,
        AWS_REGION: Stack.of(this).region,
        STREAMBED_LOG_LEVEL: 'warn',
      },
      secrets: { STREAMBED_TOKEN: EcsSecret.fromSecretsManager(this.tokenSecret) },
      portMappings: [{ containerPort: port }],
      logging: LogDriver.awsLogs({
        logGroup: storage.createLogGroup('KafkaGatewayLogs'),
        streamPrefix: 'kafka-gateway',
      }),
      readonlyRootFilesystem: true,
    });
    if (options.image === undefined && task.executionRole !== undefined) {
      acknowledge(
        task.executionRole,
        'AwsSolutions-IAM5[Resource::*]',
        'ecr:GetAuthorizationToken, which pulling the image from the asset repository needs, supports no resource-level permissions; the pull actions are on that repository only.',
      );
    }
    acknowledge(
      task,
      'AwsSolutions-ECS2',
      'The environment holds the table and bucket names, the Region and the log level: configuration, not secrets. The token comes from Secrets Manager as a container secret.',
    );

    this.service = new FargateService(this, 'Service', {
      cluster,
      taskDefinition: task,
      desiredCount: options.desiredCount ?? DEFAULT_DESIRED_COUNT,
      securityGroups: [taskGroup],
      vpcSubnets: { subnetType: SubnetType.PRIVATE_WITH_EGRESS },
      assignPublicIp: false,
      minHealthyPercent: 100,
      circuitBreaker: { rollback: true },
    });
    const listener = this.loadBalancer.addListener('Tls', {
      port,
      protocol: Protocol.TLS,
      certificates: [ListenerCertificate.fromArn(options.certificateArn)],
      sslPolicy: SslPolicy.RECOMMENDED_TLS,
    });
    listener.addTargets('Gateways', {
      port,
      protocol: Protocol.TCP,
      targets: [this.service],
      // A task leaving finishes its registration within this; clients reconnect to another.
      deregistrationDelay: Duration.seconds(30),
      healthCheck: { protocol: Protocol.TCP, interval: Duration.seconds(10) },
    });
  }

  private createVpc(storage: KafkaGatewayResources): Vpc {
    const vpc = new Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 1,
      subnetConfiguration: [
        { name: 'public', subnetType: SubnetType.PUBLIC },
        { name: 'gateways', subnetType: SubnetType.PRIVATE_WITH_EGRESS },
      ],
      // Table and bucket traffic stays off the NAT gateway (gateway endpoints are free).
      gatewayEndpoints: {
        S3: { service: GatewayVpcEndpointAwsService.S3 },
        DynamoDB: { service: GatewayVpcEndpointAwsService.DYNAMODB },
      },
    });
    vpc.addFlowLog('FlowLog', {
      destination: FlowLogDestination.toCloudWatchLogs(storage.createLogGroup('KafkaGatewayFlowLogs')),
    });
    return vpc;
  }

  private createTokenSecret(): Secret {
    const secret = new Secret(this, 'Token', {
      description: 'Streambed Kafka gateway: the SASL/PLAIN password of Kafka clients',
      generateSecretString: { passwordLength: 40, excludePunctuation: true },
    });
    acknowledge(
      secret,
      'AwsSolutions-SMG4',
      'The token is the password Kafka clients hold; a rotation function could not update them. Rotate it by putting a new value and restarting the service (aws ecs update-service --force-new-deployment).',
    );
    return secret;
  }
}
