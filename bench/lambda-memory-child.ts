/**
 * One Lambda container, as far as memory goes. A fresh `node` process imports one built handler
 * bundle (the init phase), then invokes it once per event file the way the Lambda runtime does:
 * the event's bytes are read into a string and parsed, the handler runs, its result is serialized
 * (the runtime posts that JSON back). Memory and timings go to the parent over IPC.
 *
 * The parent (bench/scenarios/lambda-memory.ts) compiles this file with esbuild, without bundling:
 * it has type imports only, so the process holds the handler bundle, this loop and nothing else.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import type { ApiGatewayResult, HttpApiEvent } from '../lambdas/http/apigw.ts';
import { kernelPeakRss } from './peak-rss.ts';

/** What the parent asks for, as JSON in argv[2]. */
export interface ChildPlan {
  /** The built handler bundle (index.mjs), exporting `handler`. */
  bundle: string;
  functionName: string;
  memoryLimitMb: number;
  /** One event file (API Gateway HTTP API v2 JSON) per invocation, in order; a file may repeat. */
  events: string[];
  sampleIntervalMs: number;
}

export interface InvocationReport {
  status: number;
  /** The handler's time, from the call to the resolved result. */
  ms: number;
  /** The event document's size, as the runtime receives it. */
  eventBytes: number;
  /** The request body as the client sent it (base64 decoded). */
  requestBytes: number;
  /** The response body as the client receives it (base64 decoded). */
  responseBytes: number;
  /** The serialized result: what Lambda's 6 MB response limit applies to. */
  payloadBytes: number;
  headers: Record<string, string>;
  /** The first characters of the body (for the parent's checks). */
  bodyHead: string;
  /** The process's peak RSS so far (kernel high-water mark, as peakRssMb), after this invocation. */
  maxRssMbAfter: number;
}

export interface ChildReport {
  type: 'report';
  nodeVersion: string;
  arch: string;
  execArgv: string[];
  /** RSS and heap after importing the bundle, before the first invocation. */
  initRssMb: number;
  initHeapUsedMb: number;
  /**
   * The kernel's RSS high-water mark of this process since exec (see kernelPeakRssMb()), or the
   * sampler's highest reading if that is higher (the kernel folds the current RSS into its mark lazily).
   */
  peakRssMb: number;
  peakRssSource: 'VmHWM' | 'maxRSS';
  /**
   * process.resourceUsage().maxRSS as reported. On Linux it includes the parent's RSS at fork time,
   * so it is only an upper bound.
   */
  resourceUsageMaxRssMb: number;
  /** The sampler's highest readings (it cannot see inside synchronous work, the kernel can). */
  sampledPeakRssMb: number;
  peakHeapUsedMb: number;
  peakArrayBuffersMb: number;
  invocations: InvocationReport[];
}

export type ChildMessage = ChildReport | { type: 'error'; message: string };

const MB = 1024 * 1024;
/** Enough of a text body for the parent's checks. */
const BODY_HEAD_CHARS = 300;
/** Enough of an error body to say what went wrong (Streambed's errors are short JSON). */
const ERROR_BODY_CHARS = 4000;

const mb = (bytes: number): number => Math.round((bytes / MB) * 10) / 10;

function kernelPeakRssMb(): { mb: number; source: 'VmHWM' | 'maxRSS' } {
  const { bytes, source } = kernelPeakRss();
  return { mb: mb(bytes), source };
}

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (process.send === undefined) {
      process.stderr.write(`${JSON.stringify(message)}\n`);
      resolve();
    } else process.send(message, () => resolve());
  });
}

function bodyBytes(body: string | undefined, base64: boolean | undefined): number {
  return body === undefined ? 0 : Buffer.byteLength(body, base64 ? 'base64' : 'utf8');
}

/** The first `chars` characters of the body as the client sees it (a binary body as latin1). */
function bodyHead(result: ApiGatewayResult, chars: number): string {
  const body = result.body ?? '';
  if (!result.isBase64Encoded) return body.slice(0, chars);
  return Buffer.from(body.slice(0, Math.ceil(chars / 3) * 4), 'base64').toString('latin1');
}

/** The context fields the handlers read (Powertools: function name, request id, memory). */
function contextFor(plan: ChildPlan, requestId: string): Context {
  const deadline = Date.now() + 29_000;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: plan.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${plan.functionName}`,
    memoryLimitInMB: String(plan.memoryLimitMb),
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${plan.functionName}`,
    logStreamName: 'lambda-memory-bench',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

async function main(plan: ChildPlan): Promise<ChildReport> {
  let sampledRss = 0;
  let peakHeap = 0;
  let peakArrayBuffers = 0;
  const sample = (): void => {
    const usage = process.memoryUsage();
    sampledRss = Math.max(sampledRss, usage.rss);
    peakHeap = Math.max(peakHeap, usage.heapUsed);
    peakArrayBuffers = Math.max(peakArrayBuffers, usage.arrayBuffers);
  };
  setInterval(sample, plan.sampleIntervalMs).unref();

  // Init: what Lambda does before the first invocation (the handler builds its services lazily).
  const module = (await import(pathToFileURL(plan.bundle).href)) as {
    handler: (event: HttpApiEvent, context: Context) => Promise<ApiGatewayResult>;
  };
  sample();
  const init = process.memoryUsage();

  const invocations: InvocationReport[] = [];
  for (const [index, file] of plan.events.entries()) {
    let text: string | undefined = readFileSync(file, 'utf8');
    const eventBytes = Buffer.byteLength(text);
    const event = JSON.parse(text) as HttpApiEvent;
    text = undefined;
    const requestBytes = bodyBytes(event.body, event.isBase64Encoded);
    const started = performance.now();
    const result = await module.handler(event, contextFor(plan, `bench-${index}`));
    const ms = performance.now() - started;
    const payloadBytes = Buffer.byteLength(JSON.stringify(result));
    const status = result.statusCode ?? 200;
    sample();
    const report: InvocationReport = {
      status,
      ms: Math.round(ms * 10) / 10,
      eventBytes,
      requestBytes,
      responseBytes: bodyBytes(result.body, result.isBase64Encoded),
      payloadBytes,
      headers: Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k, String(v)])),
      bodyHead: bodyHead(result, BODY_HEAD_CHARS),
      maxRssMbAfter: Math.max(kernelPeakRssMb().mb, mb(sampledRss)),
    };
    if (status < 200 || status > 299) {
      const body = bodyHead(result, ERROR_BODY_CHARS);
      throw new Error(`${plan.functionName} invocation ${index} answered ${status}: ${body}`);
    }
    invocations.push(report);
  }
  sample();
  const peak = kernelPeakRssMb();
  return {
    type: 'report',
    nodeVersion: process.version,
    arch: process.arch,
    execArgv: process.execArgv,
    initRssMb: mb(init.rss),
    initHeapUsedMb: mb(init.heapUsed),
    peakRssMb: Math.max(peak.mb, mb(sampledRss)),
    peakRssSource: peak.source,
    resourceUsageMaxRssMb: mb(process.resourceUsage().maxRSS * 1024),
    sampledPeakRssMb: mb(sampledRss),
    peakHeapUsedMb: mb(peakHeap),
    peakArrayBuffersMb: mb(peakArrayBuffers),
    invocations,
  };
}

const plan = JSON.parse(process.argv[2] ?? '{}') as ChildPlan;
main(plan).then(
  // Exit explicitly: the SDK clients' keep-alive sockets would hold the process open.
  async (report) => {
    await send(report);
    process.exit(0);
  },
  async (error: unknown) => {
    await send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
    process.exit(1);
  },
);
