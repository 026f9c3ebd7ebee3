/**
 * The construct's CloudWatch dashboard (lib/dashboard.ts): one dashboard whose graphs read lag,
 * throughput, errors and latency under the metric names the Lambdas emit (lambdas/runtime/
 * metric-names.ts), and none with `dashboard: false`.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { METRIC } from '../../lambdas/runtime/metric-names.ts';
import { Streambed, type StreambedProps } from '../../lib/streambed.ts';
import { CDK_CONTEXT } from '../support/cdk-context.ts';

/** The template of a stack holding one Streambed, synthesized without bundling the functions. */
function templateOf(props: StreambedProps = {}): Template {
  const app = new App({ context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'DashboardTest');
  new Streambed(stack, 'Streambed', props);
  return Template.fromStack(stack);
}

interface Widget {
  type: string;
  properties: { title?: string; metrics?: unknown[][] };
}

/** Each dashboard's widgets: its body's CloudFormation join read as JSON (references become "REF"). */
function dashboards(template: Template): Widget[][] {
  return Object.values(template.findResources('AWS::CloudWatch::Dashboard')).map((resource) => {
    const body = (resource as { Properties: { DashboardBody: { 'Fn::Join': [string, unknown[]] } } })
      .Properties.DashboardBody['Fn::Join'][1];
    const text = body.map((part) => (typeof part === 'string' ? part : 'REF')).join('');
    return (JSON.parse(text) as { widgets: Widget[] }).widgets;
  });
}

/** A graph's lines: a SEARCH expression, or `namespace metric` of a plain metric. */
function linesOf(widget: Widget): string[] {
  return (widget.properties.metrics ?? []).map((line) => {
    const first = line[0];
    return typeof first === 'string'
      ? `${first} ${String(line[1])}`
      : (first as { expression: string }).expression;
  });
}

describe('CloudWatch dashboard', () => {
  it('graphs lag, throughput, errors and latency under the shared metric names', () => {
    // Act
    const [widgets, ...others] = dashboards(templateOf());

    // Assess
    expect(others).toEqual([]);
    const graph = (title: string) => {
      const found = (widgets ?? []).filter((w) => w.properties.title?.startsWith(title));
      expect(found.length, title).toBeGreaterThan(0);
      return found.flatMap(linesOf).join('\n');
    };
    const named = (name: string) => `MetricName="${name}"`;
    expect(graph('Lag:')).toContain(named(METRIC.groupLag));
    expect(graph('Lag:')).toContain(named(METRIC.subscriptionLag));
    expect(graph('Throughput:')).toContain(
      `SEARCH('{Streambed,concern,service,status_class} ${named(METRIC.requests)}', 'Sum', 60)`,
    );
    expect(graph('Throughput:')).toContain(named(METRIC.bytesIn));
    expect(graph('Throughput:')).toContain(named(METRIC.bytesOut));
    expect(graph('Errors:')).toContain(`${named(METRIC.requests)} status_class="5xx"`);
    expect(graph('Errors:')).toContain(named(METRIC.janitorErrors));
    expect(graph('Errors:')).toContain('AWS/ApiGateway 5xx');
    expect(graph('Errors:')).toContain('AWS/Lambda Errors');
    expect(graph('Latency:')).toContain(`${named(METRIC.requestDuration)}', 'p99', 60)`);
  });

  it('is left out with dashboard: false', () => {
    // Act
    const template = templateOf({ dashboard: false });

    // Assess
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
  });
});
