/**
 * `streambed subscriptions …` against a local server: create, list, describe, pause, resume and delete,
 * and one clear line with a non-zero exit for what is wrong.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Streambed } from '../../client/index.ts';
import { type LocalServer, startLocalServer } from '../../lambdas/runtime/local-server.ts';
import { runCli } from '../support/cli-server.ts';

let server: LocalServer;
beforeAll(async () => {
  server = await startLocalServer({ port: 0, memory: true });
  const admin = new Streambed({ url: server.url }).admin();
  await admin.createTopic({ topic: 'events', numPartitions: 2 });
  await admin.createTopic({ topic: 'events.dlt' });
});
afterAll(async () => server.close());

const cli = (args: string[]) => runCli(server.url, args);
/** `subscriptions create x` on topic events with a valid target; the flags under test follow. */
const createX = ['subscriptions', 'create', 'x', '--topic', 'events', '--target-url', 'http://127.0.0.1:9/'];

describe('streambed subscriptions', () => {
  it('creates, lists, describes, pauses, resumes and deletes', async () => {
    const created = await cli([
      'subscriptions',
      'create',
      'hook',
      '--topic',
      'events',
      '--target-url',
      'http://127.0.0.1:9/',
      '--batch-size',
      '10',
      '--batching-window-ms',
      '50',
      '--max-retry-attempts',
      '2',
      '--dead-letter-topic',
      'events.dlt',
      '--bisect',
      '--from',
      'earliest',
      '--disabled',
    ]);
    expect(created).toMatchObject({ code: 0, stdout: '' });
    expect(created.stderr).toBe('created subscription hook: topic events → http://127.0.0.1:9/ (paused)\n');

    const listed = await cli(['subscriptions', 'list']);
    expect(listed.code).toBe(0);
    expect(listed.stdout.split('\n')[1]?.split(/\s+/)).toEqual([
      'hook',
      'events',
      'http://127.0.0.1:9/',
      'paused',
    ]);

    const described = await cli(['subscriptions', 'describe', 'hook']);
    expect(described.code).toBe(0);
    const lines = described.stdout.trim().split('\n');
    expect(lines[0]).toBe('subscription hook: paused, topic events → http://127.0.0.1:9/');
    expect(lines[1]).toBe(
      'batches of 10, window 50 ms, failures 2 retries, then dead-lettered to events.dlt, bisected; from earliest; group subscription:hook',
    );
    expect(lines[2]?.split(/\s+/)).toEqual([
      'PARTITION',
      'COMMITTED',
      'HIGH-WATERMARK',
      'LAG',
      'ATTEMPTS',
      'LAST-ERROR',
      'LAST-DELIVERY',
    ]);
    expect(lines.slice(3).map((row) => row.split(/\s+/))).toEqual([
      ['0', '-', '0', '0', '0', '-', '-'],
      ['1', '-', '0', '0', '0', '-', '-'],
    ]);

    expect(await cli(['subscriptions', 'resume', 'hook'])).toMatchObject({
      code: 0,
      stderr: 'resumed subscription hook\n',
    });
    expect((await cli(['subscriptions', 'describe', 'hook'])).stdout).toMatch(/^subscription hook: enabled,/);
    expect(await cli(['subscriptions', 'pause', 'hook'])).toMatchObject({
      code: 0,
      stderr: 'paused subscription hook\n',
    });
    expect((await cli(['subscriptions', 'list'])).stdout).toMatch(/paused\n$/);
    expect(await cli(['subscriptions', 'delete', 'hook'])).toMatchObject({
      code: 0,
      stderr: 'deleted subscription hook\n',
    });
    expect((await cli(['subscriptions', 'list'])).stdout).toBe('NAME  TOPIC  TARGET  STATE\n');
  }, 60_000);

  it('fails with one clear line and a non-zero exit', async () => {
    const cases: [string[], string][] = [
      [
        ['subscriptions', 'describe', 'ghost'],
        'streambed: subscription ghost does not exist (SUBSCRIPTION_NOT_FOUND)\n',
      ],
      [
        ['subscriptions', 'create', 'x', '--topic', 'nope', '--target-url', 'http://127.0.0.1:9/'],
        'streambed: topic nope does not exist (TOPIC_NOT_FOUND)\n',
      ],
      [
        [...createX, '--batch-size', 'ten'],
        'streambed: --batch-size must be a non-negative integer, got "ten"\n',
      ],
      [
        [...createX, '--from', 'dawn'],
        'streambed: --from must be earliest, latest or a time in epoch ms, got "dawn"\n',
      ],
      [
        ['subscriptions', 'create', 'x', '--topic', 'events'],
        'streambed: subscriptions create needs exactly one of --target-url U and --target-function F\n',
      ],
      [
        ['subscriptions', 'pause', 'x', '--bisect'],
        'streambed: --bisect applies to subscriptions create only\n',
      ],
      [
        ['subscriptions', 'frobnicate'],
        'streambed: subscriptions takes create|list|describe|pause|resume|delete\n',
      ],
    ];
    for (const [args, stderr] of cases) {
      const result = await cli(args);
      expect(result, args.join(' ')).toMatchObject({ code: 1, stderr });
    }
    const unknownFlag = await cli(['subscriptions', 'list', '--colour', 'red']);
    expect(unknownFlag.code).toBe(1);
    // One line naming the option, then the usage of the subcommand.
    expect(unknownFlag.stderr).toMatch(
      /^streambed: Unknown option '--colour'[^\n]*\nusage: streambed subscriptions list\n/,
    );
    const invalid = await cli([...createX, '--max-retry-attempts', '3']);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/^streambed: maxRetryAttempts needs deadLetterTopic[^\n]*\n$/);
    expect((await cli(['subscriptions', 'list'])).stdout).toBe('NAME  TOPIC  TARGET  STATE\n');
  }, 60_000);
});
