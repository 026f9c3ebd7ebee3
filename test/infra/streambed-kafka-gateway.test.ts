/**
 * The opt-in Kafka gateway of the construct (lib/kafka-gateway.ts), asserted on synthesized templates
 * with the cdk-nag AWS Solutions checks on: the Fargate service, its load balancer and TLS listener,
 * security groups, IAM, token secret and logs. The image is a registry image here, so nothing is
 * staged, except in the test of the default image, which checks what the asset stages.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ContainerImage } from 'aws-cdk-lib/aws-ecs';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { KAFKA_GATEWAY_DOCKERFILE, type StreambedKafkaGatewayOptions } from '../../lib/kafka-gateway.ts';
import { Streambed, type StreambedProps } from '../../lib/streambed.ts';
import { StreambedStack } from '../../lib/streambed-stack.ts';
import { CDK_CONTEXT } from '../support/cdk-context.ts';

type Json = Record<string, unknown>;
interface Statement {
  Action: string | string[];
  Resource: unknown;
}
const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

const CERTIFICATE = 'arn:aws:acm:eu-west-1:123456789012:certificate/0b5f4ad4-7c0e-4b87-9b3a-2d1f0c0e1a11';
const IMAGE = ContainerImage.fromRegistry('public.ecr.aws/example/streambed:test');

function synth(gateway: Partial<StreambedKafkaGatewayOptions>, props: StreambedProps = {}) {
  const app = new App({ context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new StreambedStack(app, 'Gateway', {
    streambed: { ...props, kafkaGateway: { certificateArn: CERTIFICATE, image: IMAGE, ...gateway } },
  });
  // Throws on any unacknowledged cdk-nag finding.
  const assembly = app.synth();
  const template = Template.fromJSON(assembly.getStackByName(stack.stackName).template);
  const streambed = stack.streambed;
  const gatewayConstruct = streambed.kafkaGateway;
  if (gatewayConstruct === undefined) throw new Error('no gateway');
  const logicalId = (construct: { node: { defaultChild?: unknown } }) =>
    stack.getLogicalId(construct.node.defaultChild as Parameters<Stack['getLogicalId']>[0]);
  return { app, assembly, stack, streambed, gateway: gatewayConstruct, template, logicalId };
}

/** The statements of every policy attached to a role, by the role's logical id. */
function statementsOfRole(template: Template, roleId: string): Statement[] {
  return (Object.values(template.findResources('AWS::IAM::Policy')) as Json[])
    .filter((policy) => JSON.stringify((policy.Properties as Json).Roles).includes(`"${roleId}"`))
    .flatMap(
      (policy) => ((policy.Properties as Json).PolicyDocument as { Statement: Statement[] }).Statement,
    );
}

describe('kafkaGateway', () => {
  it('is absent unless asked for', () => {
    const app = new App({ context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
    const stack = new StreambedStack(app, 'NoGateway', {});
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::ECS::Service', 0);
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 0);
    expect(stack.streambed.kafkaGateway).toBeUndefined();
  });

  it('runs the gateway command on arm64 Fargate, two tasks by default, advertising the load balancer', () => {
    // Act
    const { template, gateway, stack } = synth({});
    // Assess
    template.hasResourceProperties('AWS::ECS::Service', {
      LaunchType: 'FARGATE',
      DesiredCount: 2,
      DeploymentConfiguration: Match.objectLike({
        MinimumHealthyPercent: 100,
        DeploymentCircuitBreaker: { Enable: true, Rollback: true },
      }),
      NetworkConfiguration: { AwsvpcConfiguration: Match.objectLike({ AssignPublicIp: 'DISABLED' }) },
    });
    const lbId = stack.getLogicalId(
      gateway.loadBalancer.node.defaultChild as Parameters<Stack['getLogicalId']>[0],
    );
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      RequiresCompatibilities: ['FARGATE'],
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
      Cpu: '512',
      Memory: '1024',
      ContainerDefinitions: [
        Match.objectLike({
          Command: [
            'kafka-gateway',
            '--backend',
            'aws',
            '--host',
            '0.0.0.0',
            '--kafka-port',
            '9092',
            '--kafka-advertised-host',
            { 'Fn::GetAtt': [lbId, 'DNSName'] },
          ],
          PortMappings: [Match.objectLike({ ContainerPort: 9092 })],
          ReadonlyRootFilesystem: true,
          Environment: Match.arrayWith([
            Match.objectLike({ Name: 'STREAMBED_TABLE' }),
            Match.objectLike({ Name: 'STREAMBED_BUCKET' }),
          ]),
          Secrets: [Match.objectLike({ Name: 'STREAMBED_TOKEN', ValueFrom: Match.anyValue() })],
          LogConfiguration: Match.objectLike({ LogDriver: 'awslogs' }),
        }),
      ],
    });
    template.hasResourceProperties('AWS::ECS::Cluster', {
      ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }],
    });
  });

  it('terminates TLS on a network load balancer listener with the certificate, to the tasks over TCP', () => {
    const { template } = synth({});
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Type: 'network',
      Scheme: 'internet-facing',
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Protocol: 'TLS',
      Port: 9092,
      Certificates: [{ CertificateArn: CERTIFICATE }],
      SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Protocol: 'TCP',
      Port: 9092,
      TargetType: 'ip',
      HealthCheckProtocol: 'TCP',
    });
  });

  it('opens only the Kafka port: to the clients on the load balancer, from the load balancer on the tasks', () => {
    const { template } = synth({ clientCidrs: ['10.1.0.0/16'], port: 19092 });
    const groups = Object.values(template.findResources('AWS::EC2::SecurityGroup')) as Json[];
    const ingress = [
      ...groups.flatMap((group) => ((group.Properties as Json).SecurityGroupIngress as Json[]) ?? []),
      ...(Object.values(template.findResources('AWS::EC2::SecurityGroupIngress')) as Json[]).map(
        (rule) => rule.Properties as Json,
      ),
    ];
    expect(ingress.length).toBeGreaterThan(0);
    for (const rule of ingress) {
      expect(rule).toMatchObject({ IpProtocol: 'tcp', FromPort: 19092, ToPort: 19092 });
    }
    expect(ingress.filter((rule) => rule.CidrIp !== undefined).map((rule) => rule.CidrIp)).toEqual([
      '10.1.0.0/16',
    ]);
  });

  it('lets the tasks reach each other on the Kafka port alone, to forward group requests', () => {
    // Act
    const { template, gateway, stack } = synth({ port: 19092 });
    // Assess
    const taskGroupId = stack.getLogicalId(
      gateway.service.connections.securityGroups[0]?.node.defaultChild as Parameters<
        Stack['getLogicalId']
      >[0],
    );
    const own = { 'Fn::GetAtt': [taskGroupId, 'GroupId'] };
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      IpProtocol: 'tcp',
      FromPort: 19092,
      ToPort: 19092,
      GroupId: own,
      SourceSecurityGroupId: own,
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
      IpProtocol: 'tcp',
      FromPort: 19092,
      ToPort: 19092,
      GroupId: own,
      DestinationSecurityGroupId: own,
    });
    const command = JSON.stringify(template.findResources('AWS::ECS::TaskDefinition'));
    expect(command).toContain('"--host","0.0.0.0"');
  });

  it('grants the task role exactly the table and bucket access of produce, fetch and groups', () => {
    // Act
    const { template, gateway, stack, streambed } = synth({});
    // Assess
    const roleId = stack.getLogicalId(
      gateway.service.taskDefinition.taskRole.node.defaultChild as Parameters<Stack['getLogicalId']>[0],
    );
    const statements = statementsOfRole(template, roleId);
    const byAction = new Map(
      statements.flatMap((statement) => asArray(statement.Action).map((action) => [action, statement])),
    );
    expect([...byAction.keys()].sort()).toEqual(
      [
        'dynamodb:BatchGetItem',
        'dynamodb:ConditionCheckItem',
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        's3:GetObject',
        's3:ListBucket',
        's3:PutObject',
      ].sort(),
    );
    const tableId = stack.getLogicalId(
      streambed.table.node.defaultChild as Parameters<Stack['getLogicalId']>[0],
    );
    expect(byAction.get('dynamodb:PutItem')?.Resource).toEqual({ 'Fn::GetAtt': [tableId, 'Arn'] });
    const puts = JSON.stringify(byAction.get('s3:PutObject')?.Resource);
    expect(puts).toContain('/data/*');
    expect(puts).not.toContain('compacted');
    expect(byAction.has('s3:DeleteObject')).toBe(false);
  });

  it('keeps the token in a generated secret that only the execution role reads', () => {
    const { template, gateway, stack } = synth({});
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({ PasswordLength: 40, ExcludePunctuation: true }),
    });
    const secretId = stack.getLogicalId(
      gateway.tokenSecret.node.defaultChild as Parameters<Stack['getLogicalId']>[0],
    );
    const readers = (Object.values(template.findResources('AWS::IAM::Policy')) as Json[]).filter((policy) =>
      JSON.stringify(policy).includes(`"Ref":"${secretId}"`),
    );
    expect(readers).toHaveLength(1);
    const executionRole = gateway.service.taskDefinition.executionRole;
    if (executionRole === undefined) throw new Error('no execution role');
    const executionRoleId = stack.getLogicalId(
      executionRole.node.defaultChild as Parameters<Stack['getLogicalId']>[0],
    );
    const [reader] = readers as [Json];
    expect(JSON.stringify((reader.Properties as Json).Roles)).toContain(executionRoleId);
  });

  it('logs to CloudWatch with the construct retention', () => {
    const { template } = synth({}, { logRetention: RetentionDays.ONE_WEEK });
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup')) as Json[];
    expect(groups.length).toBeGreaterThan(0);
    for (const group of groups) expect((group.Properties as Json).RetentionInDays).toBe(7);
  });

  it('advertises a custom host and runs the count asked for', () => {
    const { template } = synth({ advertisedHost: 'kafka.example.com', desiredCount: 3 });
    template.hasResourceProperties('AWS::ECS::Service', { DesiredCount: 3 });
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [
        Match.objectLike({ Command: Match.arrayWith(['--kafka-advertised-host', 'kafka.example.com']) }),
      ],
    });
  });

  it('builds the image from the repository by default, staging only what the Dockerfile copies', () => {
    // Act: no image given; synth stages the build context and never runs Docker
    const { assembly } = synth({ image: undefined });
    // Assess
    const manifest = JSON.parse(readFileSync(join(assembly.directory, 'Gateway.assets.json'), 'utf8')) as {
      dockerImages: Record<string, { source: { directory: string; dockerFile?: string; platform?: string } }>;
    };
    const images = Object.values(manifest.dockerImages).map((image) => image.source);
    expect(images).toHaveLength(1);
    const image = images[0] as (typeof images)[number];
    expect(image.dockerFile).toBe(KAFKA_GATEWAY_DOCKERFILE);
    expect(image.platform).toBe('linux/arm64');
    const staged = join(assembly.directory, image.directory);
    expect(readdirSync(staged).sort()).toEqual(
      ['.dockerignore', 'client', 'lambdas', 'lib', 'package-lock.json', 'package.json'].sort(),
    );
    expect(readdirSync(join(staged, 'lib'))).toEqual(['kafka-gateway.Dockerfile']);
    expect(existsSync(join(staged, 'node_modules'))).toBe(false);
  });

  it('reports every problem of its options at once', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Invalid');
    const build = () =>
      new Streambed(stack, 'Streambed', {
        kafkaGateway: {
          certificateArn: 'not-an-arn',
          advertisedHost: 'bad host',
          port: 0,
          desiredCount: 0,
          cpu: 300,
          clientCidrs: ['10.0.0.0'],
        },
      });
    let message = '';
    try {
      build();
    } catch (error) {
      message = (error as Error).message;
    }
    const expected = [
      'kafkaGateway.certificateArn must be an ACM certificate ARN',
      'kafkaGateway.advertisedHost must be a DNS name, got "bad host"',
      'kafkaGateway.port must be an integer from 1 to 65535, got 0',
      'kafkaGateway.desiredCount must be a positive integer, got 0',
      'kafkaGateway.cpu must be one of 256, 512, 1024, 2048, 4096',
      'kafkaGateway.clientCidrs: "10.0.0.0" is not an IPv4 CIDR',
    ];
    for (const problem of expected) expect(message).toContain(problem);
    expect(message).toContain(`Invalid Streambed props (${expected.length}):`);
    expect(
      () =>
        new Streambed(new Stack(app, 'NoCertificate'), 'Streambed', {
          kafkaGateway: {} as StreambedKafkaGatewayOptions,
        }),
    ).toThrow(/kafkaGateway.certificateArn is required/);
  });
});
