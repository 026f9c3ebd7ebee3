/**
 * The one shape of every HTTP Lambda (produce, fetch, admin, groups, schemas, subscriptions): adapt
 * the API Gateway event (HTTP API 2.0 or REST API 1.0, apigw.ts), call the router, respond — plus one structured access log line and one flush of EMF
 * metrics per invocation. A handler file is `export const handler = createHttpLambda('<concern>')`.
 *
 * Each function runs the full router: which routes reach which function is API Gateway's decision
 * (the CDK stack), so a request routed to the wrong function still gets the right answer, and the
 * local server and every Lambda answer a request identically. Authentication is API Gateway's too
 * (IAM auth), so the router is built without `auth`.
 *
 * What is logged, by design: method, route, path parameters (topic, partition, …), status, latency and
 * body sizes. Never bodies, record keys or values, query strings, or headers (Authorization and the
 * SigV4 headers among them).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import {
  type ApiGatewayEvent,
  type ApiGatewayResult,
  fromApiGatewayEvent,
  resultBodyBytes,
  routeKeyOf,
  toApiGatewayResult,
} from '../http/apigw.ts';
import { errorResponse } from '../http/errors.ts';
import { createRouter, type RouteTable } from '../http/router.ts';
import type { HttpHandler, HttpRequest } from '../http/types.ts';
import { getServices } from '../runtime/lambda-root.ts';
import { METRIC, METRICS_NAMESPACE, STATUS_CLASS_DIMENSION } from '../runtime/metric-names.ts';
import type { Services } from '../runtime/services.ts';

export const SERVICE_NAME = 'streambed';
/** Path parameters are client input: a 10 kB "topic" must not become a 10 kB log field. */
const MAX_LOGGED_PARAM_LENGTH = 256;

export interface Telemetry {
  logger: Logger;
  metrics: Metrics;
}

/**
 * Logger and Metrics of one function. The `concern` (produce, fetch, admin, …) is a persistent log key
 * and the metrics dimension; Powertools adds `service` = streambed as a second dimension.
 * Non-HTTP functions (the janitor) use this directly.
 */
export function createTelemetry(concern: string): Telemetry {
  return {
    logger: new Logger({ serviceName: SERVICE_NAME, persistentKeys: { concern } }),
    metrics: new Metrics({
      namespace: METRICS_NAMESPACE,
      serviceName: SERVICE_NAME,
      defaultDimensions: { concern },
    }),
  };
}

export type HttpLambda = (event: ApiGatewayEvent, context: Context) => Promise<ApiGatewayResult>;

export interface HttpLambdaOptions {
  /** Extra route tables (groups, schema registry) built once per container from its services. */
  routeTables?: (services: Services) => readonly RouteTable[];
}

/** Path parameters as API Gateway decoded them; `partition` as a number so logs can be filtered on it. */
function pathFields(event: ApiGatewayEvent): Record<string, string | number> {
  const fields: Record<string, string | number> = {};
  for (const [name, value] of Object.entries(event.pathParameters ?? {})) {
    if (value === undefined) continue;
    fields[name] =
      name === 'partition' && /^\d{1,10}$/.test(value)
        ? Number(value)
        : value.slice(0, MAX_LOGGED_PARAM_LENGTH);
  }
  return fields;
}

/** The access log line and the request metrics of one invocation. */
function observe(
  { logger, metrics }: Telemetry,
  event: ApiGatewayEvent,
  request: HttpRequest,
  result: ApiGatewayResult,
  elapsedMs: number,
): void {
  const status = result.statusCode ?? 200;
  const latencyMs = Math.round(elapsedMs * 10) / 10;
  const bytesIn = request.body.byteLength;
  const bytesOut = resultBodyBytes(result);
  const { method } = request;
  logger.info('request', {
    method,
    route: routeKeyOf(event),
    ...pathFields(event),
    status,
    latencyMs,
    bytesIn,
    bytesOut,
  });
  // The local server's names (metric-names.ts), by function and status class (2xx, 4xx, 5xx): a handful
  // of CloudWatch metrics per function, where the exact status and route would be many.
  metrics.addDimension(STATUS_CLASS_DIMENSION, `${Math.floor(status / 100)}xx`);
  metrics.addMetric(METRIC.requests, MetricUnit.Count, 1);
  metrics.addMetric(METRIC.requestDuration, MetricUnit.Seconds, elapsedMs / 1000);
  metrics.addMetric(METRIC.bytesIn, MetricUnit.Bytes, bytesIn);
  metrics.addMetric(METRIC.bytesOut, MetricUnit.Bytes, bytesOut);
}

export function createHttpLambda(concern: string, options: HttpLambdaOptions = {}): HttpLambda {
  const { logger, metrics } = createTelemetry(concern);
  // One router per container, rebuilt only if the composition root hands out new services (tests).
  let built: { services: Services; router: HttpHandler } | undefined;

  async function route(request: HttpRequest): Promise<ApiGatewayResult> {
    const services = await getServices();
    if (built?.services !== services) {
      const router = createRouter({
        topics: services.topics,
        log: services.log,
        routeTables: options.routeTables?.(services) ?? [],
        onInternalError: (error) => logger.error('internal error', { error }),
      });
      built = { services, router };
    }
    return toApiGatewayResult(await built.router(request));
  }

  return async (event, context) => {
    const started = performance.now();
    logger.addContext(context);
    logger.appendKeys({ correlation_id: event.requestContext.requestId });
    metrics.captureColdStartMetric(context.functionName);
    const request = fromApiGatewayEvent(event);
    const result = await route(request).catch((error: unknown) => {
      // The router answers every error itself; only building it (configuration) can throw here.
      logger.error('handler failed before routing', { error });
      return toApiGatewayResult(errorResponse(error));
    });
    try {
      observe({ logger, metrics }, event, request, result, performance.now() - started);
    } finally {
      metrics.publishStoredMetrics();
      logger.resetKeys();
    }
    return result;
  };
}
