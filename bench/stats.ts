/** Small statistics and formatting helpers shared by the scenarios and the report. */

export const KiB = 1024;
export const MiB = 1024 * 1024;
export const GiB = 1024 * 1024 * 1024;

/** Nearest-rank percentile (p in 0..100) of unsorted samples; NaN when there are none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
}

export const median = (samples: readonly number[]): number => percentile(samples, 50);

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export function summarize(latenciesMs: readonly number[]): LatencySummary {
  return {
    count: latenciesMs.length,
    p50Ms: round(percentile(latenciesMs, 50)),
    p99Ms: round(percentile(latenciesMs, 99)),
    maxMs: round(percentile(latenciesMs, 100)),
  };
}

/**
 * Rounds to `significant` significant digits (3 by default), so that results files change only when a
 * number changes meaningfully, and their format never depends on float noise.
 */
export function round(value: number, significant = 3): number {
  if (!Number.isFinite(value) || value === 0) return Number.isFinite(value) ? 0 : value;
  const digits = significant - Math.ceil(Math.log10(Math.abs(value)));
  const factor = 10 ** Math.max(0, digits);
  const rounded = Math.round(value * factor) / factor;
  return digits >= 0 ? rounded : Number(value.toPrecision(significant));
}

/** Milliseconds elapsed since `start` (from performance.now()). */
export const since = (start: number): number => performance.now() - start;

export function formatBytes(bytes: number): string {
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  if (bytes >= KiB && bytes % KiB === 0) return `${bytes / KiB} KiB`;
  return `${bytes} B`;
}

/**
 * Runs `worker(index, lane)` for index in 0..count-1 on `concurrency` lanes: each lane takes the next
 * index as soon as its previous one is done, so at most `concurrency` are in flight.
 */
export async function runPool(
  count: number,
  concurrency: number,
  worker: (index: number, lane: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, count) }, async (_, lane) => {
    while (next < count) {
      const index = next++;
      await worker(index, lane);
    }
  });
  await Promise.all(lanes);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
