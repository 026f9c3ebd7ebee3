/** Prometheus text format as a test reads it: parsed by parse-prometheus-text-format, then looked up. */
// @ts-expect-error the package ships no types; its output shape is declared below
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

export interface ParsedSample {
  labels?: Record<string, string>;
  value?: string;
  /** Histograms: cumulative counts by upper bound (`+Inf` holds the count). */
  buckets?: Record<string, string>;
}

export interface ParsedFamily {
  name: string;
  help: string;
  type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
  metrics: ParsedSample[];
}

export function parsePrometheus(text: string): ParsedFamily[] {
  return (parsePrometheusTextFormat as (text: string) => ParsedFamily[])(text);
}

/** The value of the sample of `name` whose labels include `labels`; undefined when there is none. */
export function sampleValue(
  families: readonly ParsedFamily[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const family = families.find((f) => f.name === name);
  const sample = family?.metrics.find((m) =>
    Object.entries(labels).every(([key, value]) => m.labels?.[key] === value),
  );
  return sample?.value === undefined ? undefined : Number(sample.value);
}
