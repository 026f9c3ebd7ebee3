/**
 * docs/grafana-dashboard.json: importable as it is (a Prometheus data source variable, no hard-coded
 * data source), and in step with the metrics: every metric it queries is one the local server exposes,
 * and every metric the server exposes is on it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { METRIC } from '../../lambdas/runtime/metric-names.ts';

interface Target {
  expr: string;
  datasource: { type: string; uid: string };
}
interface Panel {
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: Target[];
}
interface GrafanaDashboard {
  title: string;
  templating: { list: { name: string; type: string; query: unknown }[] };
  panels: Panel[];
}

const dashboard = JSON.parse(
  readFileSync(new URL('../../docs/grafana-dashboard.json', import.meta.url), 'utf8'),
) as GrafanaDashboard;
const graphs = dashboard.panels.filter((panel) => panel.type !== 'row');
const exprs = graphs.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
/** A histogram is queried through its series: `<name>_bucket`, `_sum`, `_count`. */
const SERIES_SUFFIX = /_(bucket|sum|count)$/;
/** Grafana's reference to the `datasource` variable (a plain string, not a template literal). */
const DATASOURCE_VARIABLE = ['$', '{datasource}'].join('');

describe('docs/grafana-dashboard.json', () => {
  it('takes its Prometheus data source from a variable, on every panel and query', () => {
    // Assess
    expect(dashboard.templating.list).toContainEqual(
      expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
    );
    for (const panel of graphs) {
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: DATASOURCE_VARIABLE });
      for (const target of panel.targets ?? []) expect(target.datasource).toEqual(panel.datasource);
    }
  });

  it('queries only metrics the server exposes, and shows every one of them', () => {
    // Prepare
    const known = new Set<string>(Object.values(METRIC));
    const queried = new Set(
      exprs
        .flatMap((expr) => expr.match(/\bstreambed_[a-z_]+/g) ?? [])
        .map((n) => n.replace(SERIES_SUFFIX, '')),
    );

    // Assess
    expect([...queried].filter((name) => !known.has(name))).toEqual([]);
    expect([...known].filter((name) => !queried.has(name))).toEqual([]);
  });

  it('has graphs for lag, throughput, errors and latency', () => {
    // Assess
    const titles = graphs.map((panel) => panel.title.toLowerCase()).join('\n');
    for (const topic of ['lag', 'requests per second', 'error', 'latency', 'janitor']) {
      expect(titles).toContain(topic);
    }
  });
});
