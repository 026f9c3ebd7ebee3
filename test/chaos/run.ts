/**
 * `npm run chaos -- [--seed N] [--operations N] [--fault-rate P] [--backend memory|embedded|aws]`
 *
 * Prints exactly one summary line — `operations N, faults injected F, invariant violations V` — and
 * exits non-zero when V > 0, printing the seed to replay and the first violations on stderr.
 * `--backend aws` starts DynamoDB Local and s3rver and runs on the AWS adapters.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MemoryMetaStore } from '../../lambdas/adapters/memory-meta-store.ts';
import { MemoryObjectStore } from '../../lambdas/adapters/memory-object-store.ts';
import type { Clock } from '../../lambdas/ports/clock.ts';
import { type Backend, createEmbeddedBackend } from '../../lambdas/runtime/backends.ts';
import { dynamoOn, s3On } from '../support/aws-targets.ts';
import { startDynamoDbLocal } from '../support/dynamodb-local.ts';
import { startS3Emulator } from '../support/s3-emulator.ts';
import { runChaos } from './chaos.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    operations: { type: 'string' },
    'fault-rate': { type: 'string' },
    backend: { type: 'string' },
  },
});
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
const operations = Number(values.operations ?? (values.backend === 'aws' ? 3000 : 20000));
const faultRate = Number(values['fault-rate'] ?? 0.2);
const backendName = values.backend ?? 'memory';
if (!Number.isInteger(seed) || !Number.isInteger(operations) || !(faultRate >= 0 && faultRate < 1)) {
  process.stderr.write('chaos: --seed and --operations take integers, --fault-rate a probability below 1\n');
  process.exit(2);
}

const stops: (() => Promise<void>)[] = [];
let backend: (clock: Clock) => Promise<Backend>;
if (backendName === 'memory') {
  backend = async (clock) => ({
    meta: new MemoryMetaStore(clock),
    objects: new MemoryObjectStore(),
    close: async () => {},
  });
} else if (backendName === 'embedded') {
  backend = async (clock) =>
    createEmbeddedBackend({ dataDir: mkdtempSync(join(tmpdir(), 'streambed-chaos-')), clock });
} else if (backendName === 'aws') {
  const [dynamo, s3] = await Promise.all([startDynamoDbLocal(), startS3Emulator()]);
  stops.push(dynamo.stop, s3.stop);
  backend = async (clock) => ({
    meta: await dynamoOn(
      { endpoint: dynamo.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } },
      clock,
    ),
    objects: await s3On({
      endpoint: s3.endpoint,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    }),
    close: async () => {},
  });
} else {
  process.stderr.write(`chaos: --backend must be memory, embedded or aws, got ${backendName}\n`);
  process.exit(2);
}

try {
  const report = await runChaos({ seed, operations, faultRate, backend });
  process.stdout.write(
    `operations ${report.operations}, faults injected ${report.faults}, invariant violations ${report.violations.length}\n`,
  );
  if (report.windowExceeded > 0) {
    process.stderr.write(
      `${report.windowExceeded} record(s) in the log twice because the retry came after the idempotency window (32 commits to the partition): documented, not a violation\n`,
    );
  }
  if (report.violations.length > 0) {
    process.stderr.write(
      `replay with: npm run chaos -- --seed ${seed} --operations ${operations} --backend ${backendName}\n`,
    );
    for (const violation of report.violations.slice(0, Number(process.env.CHAOS_SHOW ?? 20)))
      process.stderr.write(`  ${violation}\n`);
    process.exitCode = 1;
  }
} finally {
  for (const stop of stops) await stop();
}
