/**
 * The names of Streambed's metrics, defined once (DESIGN §14): the local server exposes them at
 * `GET /metrics` in Prometheus text format, the Lambdas emit them as CloudWatch EMF, and both
 * dashboards (docs/grafana-dashboard.json, the construct's CloudWatch dashboard) read them. A name
 * changes here or nowhere.
 *
 * Labels differ by side where cardinality costs differ: Prometheus gets the route template and the
 * exact status; CloudWatch (where every dimension combination is a paid custom metric) gets the
 * function's `concern` and the status class (`2xx`, `4xx`, `5xx`). Lag is summed per group and per
 * subscription on the Lambda side; the local server shows it per partition.
 */

export const METRIC = {
  /** Counter: requests answered, by route template and status. */
  requests: 'streambed_requests_total',
  /** Histogram (seconds): time from a request's arrival to its answer. */
  requestDuration: 'streambed_request_duration_seconds',
  /** Counter: request body bytes received. */
  bytesIn: 'streambed_request_bytes_total',
  /** Counter: response body bytes sent. */
  bytesOut: 'streambed_response_bytes_total',
  /** Gauge: the next offset a partition will assign. */
  highWatermark: 'streambed_partition_high_watermark',
  /** Gauge: records a consumer group has not committed yet (highWatermark − committed). */
  groupLag: 'streambed_group_lag',
  /** Gauge: records a subscription has not delivered yet. */
  subscriptionLag: 'streambed_subscription_lag',
  /** Counter: janitor passes (retention, compaction, garbage collection). */
  janitorRuns: 'streambed_janitor_runs_total',
  /** Counter: objects the janitor deleted. */
  janitorDeletedObjects: 'streambed_janitor_deleted_objects_total',
  /** Counter: partitions or steps a janitor pass failed on (retried by the next pass). */
  janitorErrors: 'streambed_janitor_errors_total',
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC];

export const METRIC_HELP: Record<MetricName, string> = {
  [METRIC.requests]: 'Requests answered, by route template and status.',
  [METRIC.requestDuration]: 'Time from the arrival of a request to its answer, in seconds.',
  [METRIC.bytesIn]: 'Request body bytes received.',
  [METRIC.bytesOut]: 'Response body bytes sent.',
  [METRIC.highWatermark]: 'The next offset the partition will assign.',
  [METRIC.groupLag]: 'Records the consumer group has not committed yet: highWatermark - committedOffset.',
  [METRIC.subscriptionLag]: 'Records the subscription has not delivered yet.',
  [METRIC.janitorRuns]: 'Janitor passes run (retention, compaction, garbage collection).',
  [METRIC.janitorDeletedObjects]: 'Objects the janitor deleted.',
  [METRIC.janitorErrors]: 'Partitions or steps a janitor pass failed on; the next pass retries them.',
};

/** The CloudWatch namespace of the Lambdas' EMF metrics. */
export const METRICS_NAMESPACE = 'Streambed';
/** CloudWatch dimension of the request metrics: the status class, `2xx`, `4xx` or `5xx`. */
export const STATUS_CLASS_DIMENSION = 'status_class';
