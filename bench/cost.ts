/**
 * Counted requests → dollars, with the prices of bench/prices.ts.
 *
 * Streambed's cost is a sum over requests (nothing is billed by the hour), so counting a smaller
 * volume and scaling linearly to 1 GiB is exact up to rounding at the edges (one partly filled
 * request). Kinesis and MSK Serverless are computed from their per-GB and per-hour prices under the
 * assumptions stated in prices.ts.
 */
import type { ObjectCounts } from '../lambdas/adapters/counting-stores.ts';
import type { HttpCall } from './client.ts';
import type { RequestUnits } from './metered-meta-store.ts';
import { ASSUMPTIONS, PRICES, unitPrice } from './prices.ts';
import { GiB, MiB, round } from './stats.ts';

/** What AWS would meter for some work, in its own units. */
export interface MeteredUsage {
  s3Puts: number;
  s3Gets: number;
  s3Lists: number;
  s3Deletes: number;
  dynamoReadUnits: number;
  dynamoWriteUnits: number;
  /** HTTP API requests as metered: one per started 512 KB of the larger body of each call. */
  apiGatewayRequests: number;
  lambdaInvocations: number;
  /** Estimate: measured latency x Lambda memory. */
  lambdaGbSeconds: number;
}

export function meterUsage(
  objects: ObjectCounts,
  units: RequestUnits,
  calls: readonly HttpCall[],
): MeteredUsage {
  let apiGatewayRequests = 0;
  let seconds = 0;
  for (const call of calls) {
    const largest = Math.max(call.requestBytes, call.responseBytes);
    apiGatewayRequests += Math.max(1, Math.ceil(largest / ASSUMPTIONS.apiGatewayMeterBytes));
    seconds += call.latencyMs / 1000;
  }
  return {
    s3Puts: objects.puts,
    s3Gets: objects.gets,
    s3Lists: objects.lists,
    s3Deletes: objects.deletes,
    dynamoReadUnits: units.readUnits,
    dynamoWriteUnits: units.writeUnits,
    apiGatewayRequests,
    lambdaInvocations: calls.length,
    lambdaGbSeconds: seconds * ASSUMPTIONS.lambdaMemoryGb,
  };
}

export function addUsage(a: MeteredUsage, b: MeteredUsage): MeteredUsage {
  const sum = { ...a };
  for (const key of Object.keys(sum) as (keyof MeteredUsage)[]) sum[key] += b[key];
  return sum;
}

export function scaleUsage(usage: MeteredUsage, factor: number): MeteredUsage {
  const scaled = { ...usage };
  for (const key of Object.keys(scaled) as (keyof MeteredUsage)[]) scaled[key] *= factor;
  return scaled;
}

export interface StreambedCost {
  s3: number;
  dynamodb: number;
  apiGateway: number;
  lambda: number;
  total: number;
}

export function streambedCost(usage: MeteredUsage): StreambedCost {
  const s3 =
    (usage.s3Puts + usage.s3Lists) * unitPrice(PRICES.s3PutRequest) +
    usage.s3Gets * unitPrice(PRICES.s3GetRequest) +
    usage.s3Deletes * unitPrice(PRICES.s3DeleteRequest);
  const dynamodb =
    usage.dynamoReadUnits * unitPrice(PRICES.dynamoReadRequestUnit) +
    usage.dynamoWriteUnits * unitPrice(PRICES.dynamoWriteRequestUnit);
  const apiGateway = usage.apiGatewayRequests * unitPrice(PRICES.apiGatewayHttpRequest);
  const lambda =
    usage.lambdaInvocations * unitPrice(PRICES.lambdaRequest) +
    usage.lambdaGbSeconds * unitPrice(PRICES.lambdaArmGbSecond);
  return {
    s3: round(s3),
    dynamodb: round(dynamodb),
    apiGateway: round(apiGateway),
    lambda: round(lambda),
    total: round(s3 + dynamodb + apiGateway + lambda),
  };
}

/** Extra Lambda cost per GiB if every invocation lasted `ms` instead of what was measured. */
export function lambdaDurationSensitivity(usage: MeteredUsage, ms: number): number {
  const gbSeconds = usage.lambdaInvocations * (ms / 1000) * ASSUMPTIONS.lambdaMemoryGb;
  return round((gbSeconds - usage.lambdaGbSeconds) * unitPrice(PRICES.lambdaArmGbSecond));
}

/** Hours the sustained rate needs to move 1 GiB: the time the hourly charges run. */
export const hoursPerGiB = (): number => GiB / (ASSUMPTIONS.sustainedMiBPerSec * MiB) / 3600;

export function kinesisOnDemandCostPerGiB(): { perGb: number; hourly: number; total: number } {
  const perGb = unitPrice(PRICES.kinesisGbIngested) + unitPrice(PRICES.kinesisGbRetrieved);
  const hourly = unitPrice(PRICES.kinesisStreamHour) * ASSUMPTIONS.kinesisStreams * hoursPerGiB();
  return { perGb: round(perGb), hourly: round(hourly), total: round(perGb + hourly) };
}

export function mskServerlessCostPerGiB(): { perGb: number; hourly: number; total: number } {
  const perGb = unitPrice(PRICES.mskServerlessGbIn) + unitPrice(PRICES.mskServerlessGbOut);
  const hourly =
    (unitPrice(PRICES.mskServerlessClusterHour) +
      unitPrice(PRICES.mskServerlessPartitionHour) * ASSUMPTIONS.mskPartitions) *
    hoursPerGiB();
  return { perGb: round(perGb), hourly: round(hourly), total: round(perGb + hourly) };
}
