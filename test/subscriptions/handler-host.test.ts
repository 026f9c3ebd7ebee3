/**
 * `streambed handler serve`: a Lambda handler module behind a local URL, answering the subscription
 * event as the function would on Lambda (results, errors, timeouts, one invocation at a time), and
 * reachable by the URL target a subscription uses.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FetchedRecord } from '../../lambdas/core/log-types.ts';
import { parseHandlerServeArgs } from '../../lambdas/runtime/server-commands.ts';
import { type HandlerHost, startHandlerHost } from '../../lambdas/subscriptions/handler-host.ts';
import { parseBatchResponse, toKafkaEvent } from '../../lambdas/subscriptions/kafka-event.ts';
import { createUrlTarget } from '../../lambdas/subscriptions/url-target.ts';
import {
  runCli as runCliProcess,
  type ServerProcess,
  startCliProcess,
  stopCliServer,
} from '../support/cli-server.ts';

const FIXTURE = 'test/subscriptions/fixtures/handlers.ts';

const hosts: HandlerHost[] = [];
const processes: ServerProcess[] = [];
afterEach(async () => {
  for (const host of hosts.splice(0)) await host.close();
  for (const child of processes.splice(0)) await stopCliServer(child);
});

async function host(exportName: string, options: { timeoutMs?: number; log?: (line: string) => void } = {}) {
  const started = await startHandlerHost({ modulePath: FIXTURE, exportName, port: 0, ...options });
  hosts.push(started);
  return started;
}

async function post(url: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
}

const utf8 = (text: string) => new TextEncoder().encode(text);
function record(offset: number, value: string): FetchedRecord {
  return { offset, timestamp: 1_700_000_000_000, key: null, value: utf8(value), headers: [] };
}
const event = toKafkaEvent({
  topic: 'orders',
  partition: 0,
  bootstrapServers: '',
  records: [record(15, 'ok'), record(16, 'poison'), record(17, 'ok')],
});

describe('handler host', () => {
  it("answers with the handler's batchItemFailures for a subscription event", async () => {
    const served = await host('handler');
    expect(await post(served.url, event)).toEqual({
      status: 200,
      body: { batchItemFailures: [{ itemIdentifier: '16' }] },
    });
  });

  it('answers null for an async handler that returns nothing', async () => {
    const served = await host('returnsNothing');
    const response = await fetch(served.url, { method: 'POST', body: '{}' });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('null');
  });

  it('settles a callback handler through its callback, result or error', async () => {
    expect(await post((await host('withCallback')).url, { n: 21 })).toEqual({
      status: 200,
      body: { doubled: 42 },
    });
    expect(await post((await host('callbackError', { log: () => {} })).url, {})).toEqual({
      status: 500,
      body: { errorType: 'RangeError', errorMessage: 'out of range' },
    });
  });

  it('loads a plain .mjs module, with handler as the default export', async () => {
    const served = await startHandlerHost({ modulePath: 'test/subscriptions/fixtures/plain.mjs', port: 0 });
    hosts.push(served);
    expect(served.functionName).toBe('test/subscriptions/fixtures/plain.mjs#handler');
    expect(await post(served.url, { a: 1 })).toEqual({ status: 200, body: { received: { a: 1 } } });
  });

  it('gives the handler a Lambda-like context', async () => {
    const served = await host('describesContext', { timeoutMs: 5_000 });
    const first = (await post(served.url, {})).body as Record<string, unknown>;
    const second = (await post(served.url, {})).body as Record<string, unknown>;
    expect(first).toMatchObject({ functionName: `${FIXTURE}#describesContext`, functionVersion: '$LATEST' });
    expect(first.awsRequestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(second.awsRequestId).not.toBe(first.awsRequestId);
    expect(first.remaining).toBeGreaterThan(0);
    expect(first.remaining).toBeLessThanOrEqual(5_000);
  });

  it("answers a throw or a rejection with 500 and Lambda's error shape, logging one JSON line", async () => {
    const lines: string[] = [];
    const thrown = await host('throws', { log: (line) => lines.push(line) });
    expect(await post(thrown.url, event)).toEqual({
      status: 500,
      body: { errorType: 'TypeError', errorMessage: 'cannot read the record' },
    });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({
      level: 'ERROR',
      errorType: 'TypeError',
      errorMessage: 'cannot read the record',
    });
    const rejected = await host('rejects', { log: () => {} });
    expect(await post(rejected.url, {})).toEqual({
      status: 500,
      body: { errorType: 'Error', errorMessage: 'downstream unavailable' },
    });
    const stringThrown = await host('throwsString', { log: () => {} });
    expect(await post(stringThrown.url, {})).toEqual({
      status: 500,
      body: { errorType: 'string', errorMessage: 'plain string' },
    });
  });

  it('answers 500 TimeoutError when the handler runs past the timeout', async () => {
    const served = await host('neverAnswers', { timeoutMs: 100, log: () => {} });
    expect(await post(served.url, {})).toEqual({
      status: 500,
      body: { errorType: 'TimeoutError', errorMessage: 'Task timed out after 100 ms' },
    });
  });

  it('runs one invocation at a time', async () => {
    const served = await host('overlapping');
    const answers = await Promise.all([post(served.url, {}), post(served.url, {}), post(served.url, {})]);
    expect(answers.map((answer) => answer.body)).toEqual([
      { concurrent: 1 },
      { concurrent: 1 },
      { concurrent: 1 },
    ]);
  });

  it('refuses anything but POST (405) and a body that is not JSON (400)', async () => {
    const served = await host('handler');
    const get = await fetch(served.url);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    const bad = await post(served.url, '{"records":');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ errorType: 'InvalidRequestContent' });
  });

  it('names a loopback URL when listening on every interface', async () => {
    const served = await startHandlerHost({ modulePath: FIXTURE, host: '0.0.0.0', port: 0 });
    hosts.push(served);
    expect(served.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect((await post(served.url, event)).status).toBe(200);
  });

  it('fails to start on a missing export or file, naming it', async () => {
    await expect(startHandlerHost({ modulePath: FIXTURE, exportName: 'nope', port: 0 })).rejects.toThrow(
      /handler module test\/subscriptions\/fixtures\/handlers\.ts has no function export "nope" \(its function exports: .*handler/,
    );
    await expect(
      startHandlerHost({ modulePath: 'test/subscriptions/fixtures/missing.ts', port: 0 }),
    ).rejects.toThrow(/handler module test\/subscriptions\/fixtures\/missing\.ts not found/);
  });

  it('is what a URL target delivers to: the answer reads as a partial batch', async () => {
    const served = await host('handler');
    const target = createUrlTarget(served.url, { allowPrivate: true });
    const result = await target.deliver({
      subscription: 'orders-to-handler',
      idempotencyKey: 'orders-to-handler/0/15',
      body: JSON.stringify(event),
    });
    target.close();
    expect(result).toEqual({ ok: true, response: { batchItemFailures: [{ itemIdentifier: '16' }] } });
    expect(parseBatchResponse(result.ok ? result.response : null, [15, 16, 17])).toEqual({
      kind: 'partial',
      failedOffset: 16,
    });
  });
});

describe('streambed handler serve', () => {
  it('serves a module export on the printed URL and exits 0 on SIGTERM', async () => {
    const child = await startCliProcess(['handler', 'serve', `${FIXTURE}#handler`, '--port', '0']);
    processes.push(child);
    expect(child.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(await post(child.url, event)).toEqual({
      status: 200,
      body: { batchItemFailures: [{ itemIdentifier: '16' }] },
    });
    expect(await stopCliServer(child)).toBe(0);
  });

  it('fails the invocation, not the process, on an error the handler leaves uncaught', async () => {
    const child = await startCliProcess(['handler', 'serve', `${FIXTURE}#throwsLater`, '--port', '0']);
    processes.push(child);
    const failed = { status: 500, body: { errorType: 'SyntaxError', errorMessage: 'thrown from a timer' } };
    expect(await post(child.url, {})).toEqual(failed);
    expect(await post(child.url, {})).toEqual(failed);
    expect(await stopCliServer(child)).toBe(0);
  });

  it('exits 1 with one line naming a missing export', async () => {
    const result = await runCliProcess('', ['handler', 'serve', `${FIXTURE}#nope`, '--port', '0']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^streambed: handler module .*handlers\.ts has no function export "nope"[^\n]*\n$/,
    );
  });

  it('reads <module>[#<export>] and refuses a bad spec or subcommand', () => {
    expect(parseHandlerServeArgs(['serve', 'src/fn.ts'])).toEqual({
      modulePath: 'src/fn.ts',
      exportName: 'handler',
      host: '127.0.0.1',
      port: 9000,
      timeoutMs: 3000,
    });
    expect(
      parseHandlerServeArgs(['serve', 'src/fn.ts#main', '--port', '0', '--timeout-ms', '60000']),
    ).toMatchObject({
      exportName: 'main',
      port: 0,
      timeoutMs: 60_000,
    });
    expect(() => parseHandlerServeArgs(['serve'])).toThrow(/<module>/);
    expect(() => parseHandlerServeArgs(['serve', 'fn.ts#'])).toThrow(/<module>\[#<export>\]/);
    expect(() => parseHandlerServeArgs(['run', 'fn.ts'])).toThrow(/expected serve/);
    expect(() => parseHandlerServeArgs(['serve', 'fn.ts', '--timeout-ms', '0'])).toThrow(/at least 1/);
  });
});
