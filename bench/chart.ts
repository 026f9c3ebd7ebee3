/** bench/results/chart.svg: two horizontal bar charts, hand-written SVG with no dependency. */
import type { BenchResults } from './results.ts';

interface Bar {
  label: string;
  value: number;
  text: string;
  color: string;
}

const WIDTH = 760;
const LABEL_WIDTH = 210;
const BAR_SPACE = 430;
const ROW = 26;
const BAR_HEIGHT = 18;

const STREAMBED = '#2f6fb3';
const BASELINE = '#9aa5b1';
const OTHER = '#d9822b';

export const escapeXml = (text: string) =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

function panel(title: string, bars: Bar[], top: number): { svg: string; height: number } {
  const max = Math.max(...bars.map((b) => (Number.isFinite(b.value) ? b.value : 0)), Number.MIN_VALUE);
  const lines = [`<text x="16" y="${top + 18}" font-size="15" font-weight="bold">${escapeXml(title)}</text>`];
  bars.forEach((bar, i) => {
    const y = top + 32 + i * ROW;
    const length = Number.isFinite(bar.value) ? Math.max(1, (bar.value / max) * BAR_SPACE) : 0;
    lines.push(
      `<text x="${LABEL_WIDTH - 8}" y="${y + 13}" font-size="12" text-anchor="end">${escapeXml(bar.label)}</text>`,
      `<rect x="${LABEL_WIDTH}" y="${y}" width="${length.toFixed(1)}" height="${BAR_HEIGHT}" fill="${bar.color}"/>`,
      `<text x="${(LABEL_WIDTH + length + 6).toFixed(1)}" y="${y + 13}" font-size="12">${escapeXml(bar.text)}</text>`,
    );
  });
  return { svg: lines.join('\n  '), height: 40 + bars.length * ROW };
}

const mib = (value: number) => `${value} MiB/s`;
const usd = (value: number) => (Number.isFinite(value) ? `$${value.toFixed(4)}` : 'n/a');

export function renderChart(results: BenchResults): string {
  const { produce, fetch, costPerGiB } = results;
  const throughput = panel(
    `Local throughput, MiB/s of record payload (${results.run.mode} mode, ${results.run.backend})`,
    [
      {
        label: 'Streambed produce',
        value: produce.mibPerSec,
        text: mib(produce.mibPerSec),
        color: STREAMBED,
      },
      {
        label: 'bare HTTP POST',
        value: produce.bareHttpMibPerSec,
        text: mib(produce.bareHttpMibPerSec),
        color: BASELINE,
      },
      {
        label: 'store-only, SDK producers',
        value: produce.baselines.storeOnly.mibPerSec,
        text: mib(produce.baselines.storeOnly.mibPerSec),
        color: BASELINE,
      },
      {
        label: 'raw fs write',
        value: produce.rawFsMibPerSec,
        text: mib(produce.rawFsMibPerSec),
        color: BASELINE,
      },
      {
        label: 'Streambed fetch (cold)',
        value: fetch.mibPerSec,
        text: mib(fetch.mibPerSec),
        color: STREAMBED,
      },
      {
        label: 'bare HTTP GET',
        value: fetch.bareHttpMibPerSec,
        text: mib(fetch.bareHttpMibPerSec),
        color: BASELINE,
      },
      { label: 'raw fs read', value: fetch.rawFsMibPerSec, text: mib(fetch.rawFsMibPerSec), color: BASELINE },
    ],
    8,
  );
  const costs: Bar[] = [
    { label: 'Streambed, 4 MiB requests', value: costPerGiB.streambed4MiB, text: '', color: STREAMBED },
    { label: 'Streambed, 1 MiB requests', value: costPerGiB.streambed1MiB, text: '', color: STREAMBED },
    { label: 'Streambed, 64 KiB requests', value: costPerGiB.streambed64KiB, text: '', color: STREAMBED },
    { label: 'Streambed, 16 KiB requests', value: costPerGiB.streambed16KiB, text: '', color: STREAMBED },
    { label: 'Kinesis on-demand', value: costPerGiB.kinesisOnDemand, text: '', color: OTHER },
    { label: 'MSK Serverless', value: costPerGiB.mskServerless, text: '', color: OTHER },
  ].map((bar) => ({ ...bar, text: usd(bar.value) }));
  const cost = panel(
    'US$ per GiB written and read once (us-east-1 list prices)',
    costs,
    8 + throughput.height + 12,
  );
  const height = 8 + throughput.height + 12 + cost.height + 8;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `  <rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `  ${throughput.svg}`,
    `  ${cost.svg}`,
    '</svg>',
    '',
  ].join('\n');
}
