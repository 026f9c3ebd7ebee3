/**
 * The Streambed construct's CloudWatch dashboard: lag, throughput, errors and latency, read from the
 * functions' EMF metrics (the names the local server's `GET /metrics` uses, lambdas/runtime/
 * metric-names.ts) and from API Gateway and Lambda's own metrics. The EMF metrics carry a dimension per
 * function (`concern`), per status class or per group, so the graphs use SEARCH expressions: a new group
 * or subscription shows up without a redeploy. docs/observability.md describes it.
 */
import { Duration } from 'aws-cdk-lib';
import { Dashboard, GraphWidget, type IMetric, MathExpression, TextWidget } from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';
import { METRIC, METRICS_NAMESPACE, STATUS_CLASS_DIMENSION } from '../lambdas/runtime/metric-names.ts';

export interface StreambedDashboardSources {
  /** The API's own metrics (HTTP API or REST API). */
  api: {
    metricServerError(props?: { period?: Duration; statistic?: string }): IMetric;
    metricLatency(props?: { period?: Duration; statistic?: string }): IMetric;
  };
  /** Every function by concern: their Lambda errors and throttles are graphed. */
  functions: Readonly<
    Record<string, { metricErrors(props?: { period?: Duration; statistic?: string }): IMetric }>
  >;
}

const PERIOD = Duration.minutes(1);
/** The janitor reports lag once per run; its graphs use a period that always holds a run. */
const LAG_PERIOD = Duration.minutes(5);

/** Every series of `metric` under the dimensions `schema` (besides the namespace), one line each. */
function search(
  metric: string,
  schema: readonly string[],
  statistic: string,
  label: string,
  filter = '',
  period = PERIOD,
): MathExpression {
  const dimensions = [METRICS_NAMESPACE, ...schema].join(',');
  return new MathExpression({
    expression: `SEARCH('{${dimensions}} MetricName="${metric}"${filter}', '${statistic}', ${period.toSeconds()})`,
    usingMetrics: {},
    label,
    period,
  });
}

const REQUEST_SCHEMA = ['concern', 'service', STATUS_CLASS_DIMENSION];

export function createStreambedDashboard(scope: Construct, sources: StreambedDashboardSources): Dashboard {
  const dashboard = new Dashboard(scope, 'Dashboard', { defaultInterval: Duration.hours(3) });
  const graph = (title: string, left: IMetric[], right: IMetric[] = []) =>
    new GraphWidget({ title, left, right, width: 12, height: 6 });
  dashboard.addWidgets(
    new TextWidget({
      markdown:
        '# Streambed\nLag, throughput, errors and latency. The metric names are those of the local server (`GET /metrics`); see docs/observability.md.',
      width: 24,
      height: 2,
    }),
  );
  dashboard.addWidgets(
    graph('Lag: records not yet committed, per consumer group', [
      search(METRIC.groupLag, ['concern', 'group', 'service'], 'Maximum', 'group', '', LAG_PERIOD),
    ]),
    graph('Lag: records not yet delivered, per subscription', [
      search(
        METRIC.subscriptionLag,
        ['concern', 'service', 'subscription'],
        'Maximum',
        'subscription',
        '',
        LAG_PERIOD,
      ),
    ]),
  );
  dashboard.addWidgets(
    graph('Throughput: requests per minute, by function and status class', [
      search(METRIC.requests, REQUEST_SCHEMA, 'Sum', 'requests'),
    ]),
    graph('Throughput: bytes per minute in and out', [
      search(METRIC.bytesIn, REQUEST_SCHEMA, 'Sum', 'in'),
      search(METRIC.bytesOut, REQUEST_SCHEMA, 'Sum', 'out'),
    ]),
  );
  dashboard.addWidgets(
    graph(
      'Errors: 5xx answers, Lambda errors, janitor failures',
      [
        search(METRIC.requests, REQUEST_SCHEMA, 'Sum', '5xx', ` ${STATUS_CLASS_DIMENSION}="5xx"`),
        sources.api.metricServerError({ period: PERIOD, statistic: 'Sum' }),
        search(METRIC.janitorErrors, ['concern', 'service'], 'Sum', 'janitor errors', '', LAG_PERIOD),
      ],
      Object.values(sources.functions).map((fn) => fn.metricErrors({ period: PERIOD, statistic: 'Sum' })),
    ),
    graph(
      'Latency: p50 and p99 seconds per function; API latency (ms, right)',
      [
        search(METRIC.requestDuration, REQUEST_SCHEMA, 'p50', 'p50'),
        search(METRIC.requestDuration, REQUEST_SCHEMA, 'p99', 'p99'),
      ],
      [sources.api.metricLatency({ period: PERIOD, statistic: 'p99' })],
    ),
  );
  return dashboard;
}
