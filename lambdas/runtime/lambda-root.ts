/**
 * The Lambda composition root: the environment is read, the AWS clients and the services are built,
 * once per container — lazily, on the first invocation, so a missing variable surfaces as one clear
 * error in that invocation's log instead of an opaque init failure, and so importing a handler (tests,
 * bundling) touches neither the environment nor the network.
 *
 * Imports only the AWS adapters (aws-backend.ts, services.ts): a Lambda bundle must never pull in
 * SQLite, the filesystem store or the memory stores.
 */
import { type Clock, systemClock } from '../ports/clock.ts';
import { createAwsBackend } from './aws-backend.ts';
import { type Backend, createServices, type Services } from './services.ts';
import { deployedTargetPolicy } from './target-policy.ts';

/** Set by the CDK construct on every Streambed function. */
export const TABLE_ENV = 'STREAMBED_TABLE';
export const BUCKET_ENV = 'STREAMBED_BUCKET';
/** Set by the Lambda runtime itself. */
export const REGION_ENV = 'AWS_REGION';

export interface LambdaConfig {
  table: string;
  bucket: string;
  region: string;
}

/** Reads the configuration; names every missing variable at once. */
export function readLambdaConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): LambdaConfig {
  const read = (name: string): string => env[name]?.trim() ?? '';
  const missing = [TABLE_ENV, BUCKET_ENV, REGION_ENV].filter((name) => read(name) === '');
  if (missing.length > 0) {
    throw new Error(
      `Streambed Lambda misconfigured: environment variable${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not set (the Streambed CDK construct sets ${TABLE_ENV} and ${BUCKET_ENV}; Lambda sets ${REGION_ENV})`,
    );
  }
  return { table: read(TABLE_ENV), bucket: read(BUCKET_ENV), region: read(REGION_ENV) };
}

interface Injected {
  backend: Backend;
  clock: Clock;
}

let injected: Injected | undefined;
let services: Promise<Services> | undefined;

async function build(): Promise<Services> {
  if (injected !== undefined) return createServices(injected.backend, injected.clock);
  const config = readLambdaConfig();
  // No endpoint and no emulator mode: on Lambda the SDK resolves endpoints and credentials itself.
  const backend = await createAwsBackend({
    table: config.table,
    bucket: config.bucket,
    region: config.region,
  });
  // Subscription targets as the deployed stack allows them (target-policy.ts).
  return createServices(backend, systemClock, { subscriptionTargets: deployedTargetPolicy(process.env) });
}

/**
 * The container's services, built on first use. A failed build is not cached: the next invocation
 * tries again (and logs again) rather than failing forever on a transient error.
 */
export function getServices(): Promise<Services> {
  if (services === undefined) {
    const building = build();
    services = building;
    building.catch(() => {
      if (services === building) services = undefined;
    });
  }
  return services;
}

/**
 * Tests only: run the handlers on a prebuilt backend (memory adapters) instead of DynamoDB + S3,
 * with the services' default subscription target policy (loopback URLs only) instead of the
 * deployed one. Passing undefined returns to the environment. Either way the next invocation builds new services.
 */
export function setBackendForTests(backend: Backend | undefined, clock: Clock = systemClock): void {
  injected = backend === undefined ? undefined : { backend, clock };
  services = undefined;
}
