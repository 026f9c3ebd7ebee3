/**
 * The CLI a kcat user expects, run in-process (`runCli`) against a local server in memory: `--help`
 * on every command, unknown options, consume's partition/offset/format/exit-at-end, produce's headers
 * and timestamps, groups delete and reset-offsets, topics offsets and delete-records, and connection errors that name the
 * URL and the cause.
 */
import { createServer } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../client/cli/main.ts';
import { Streambed } from '../../client/index.ts';
import { type LocalServer, startLocalServer } from '../../lambdas/runtime/local-server.ts';

let server: LocalServer;
beforeAll(async () => {
  server = await startLocalServer({ memory: true, port: 0 });
});
afterAll(async () => {
  await server.close();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: string[], stdin = '', url: string = server.url): Promise<Run> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  err.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const code = await runCli(args, out, err, Readable.from([stdin]), { STREAMBED_URL: url });
  return { code, stdout, stderr };
}

describe('streambed --help and unknown options', () => {
  it.each([
    [['topics', '--help'], /topics create <name>[\s\S]*topics offsets <name>/],
    [['topics', 'offsets', '--help'], /^usage: streambed topics offsets <name> \[--timestamp MS\]/],
    [
      ['topics', 'delete-records', '--help'],
      /^usage: streambed topics delete-records <name> --offset N\|end/,
    ],
    [['produce', '--help'], /--header name=value/],
    [['consume', '-h'], /--exit-at-end \| -e/],
    [['groups', 'reset-offsets', '--help'], /^usage: streambed groups reset-offsets <group> --topic T/],
    [['subscriptions', 'create', '--help'], /^usage: streambed subscriptions create <name>/],
    [['start', '--help'], /^usage: streambed start/],
    [['handler', 'serve', '--help'], /^usage: streambed handler serve/],
  ])('%j prints that usage and exits 0', async (args, usage) => {
    const run = await cli(args);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(usage);
  });

  it('names an unknown option and prints the usage of the command', async () => {
    const run = await cli(['topics', 'list', '--frobnicate']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^streambed: Unknown option '--frobnicate'/);
    expect(run.stderr).toMatch(/usage: streambed topics list/);
    expect(run.stdout).toBe('');
  });
});

describe('consume, the way kcat reads', () => {
  beforeAll(async () => {
    expect((await cli(['topics', 'create', 'kc', '--partitions', '2'])).code).toBe(0);
    const lines = ['a', 'b', 'c', 'd'].map((v) => `k-${v}|${v}`).join('\n');
    const produced = await cli(
      [
        'produce',
        'kc',
        '--partition',
        '1',
        '--key-separator',
        '|',
        '--header',
        'trace=t1',
        '--header',
        'src=cli',
      ],
      `${lines}\n`,
    );
    expect(produced).toMatchObject({ code: 0 });
    const stamped = await cli(['produce', 'kc', '--partition', '0', '--timestamp', '1600000000000'], 'old\n');
    expect(stamped).toMatchObject({ code: 0 });
    const later = await cli(['produce', 'kc', '--partition', '0', '--timestamp', '1700000000000'], 'new\n');
    expect(later).toMatchObject({ code: 0 });
  });

  it('prints kcat tokens: key, value, topic, partition, offset, headers, timestamp', async () => {
    const run = await cli([
      'consume',
      'kc',
      '-p',
      '1',
      '-o',
      'beginning',
      '-e',
      '--format',
      '%t/%p@%o %k=%s [%h]\\n',
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      ['a', 'b', 'c', 'd'].map((v, i) => `kc/1@${i} k-${v}=${v} [trace=t1,src=cli]\n`).join(''),
    );
  });

  it('starts at an offset, at a time, stops after N and at the end', async () => {
    const from2 = await cli(['consume', 'kc', '--partition', '1', '--offset', '2', '--exit-at-end']);
    expect(from2).toMatchObject({ code: 0, stdout: 'c\nd\n' });
    const counted = await cli(['consume', 'kc', '-p', '1', '-o', 'beginning', '--max-messages', '1']);
    expect(counted).toMatchObject({ code: 0, stdout: 'a\n' });
    const byTime = await cli(['consume', 'kc', '-p', '0', '-o', '@1650000000000', '-e', '-f', '%T %s\\n']);
    expect(byTime).toMatchObject({ code: 0, stdout: '1700000000000 new\n' });
    const atEnd = await cli(['consume', 'kc', '-o', 'end', '-e']);
    expect(atEnd).toMatchObject({ code: 0, stdout: '' });
    // Every partition, from the beginning, until the end of each: all six records, in partition order.
    const all = await cli(['consume', 'kc', '--from-beginning', '-e', '-f', '%p:%s\\t']);
    expect(all).toMatchObject({ code: 0, stdout: '0:old\t0:new\t1:a\t1:b\t1:c\t1:d\t' });
  });

  it('refuses bad values naming them, and flags that do not go with --group', async () => {
    const cases: [string[], RegExp][] = [
      [['-o', 'middle'], /--offset must be N, beginning, end or @<epoch-ms>, got "middle"/],
      [['-f', '%x'], /--format: "%x" is not one of %s %k %t %p %o %T %h/],
      [['-p', '7'], /topic kc has no partition 7 \(it has 2\) \(PARTITION_NOT_FOUND\)/],
      [['--group', 'g', '-p', '0'], /--partition applies without --group/],
      [['--group', 'g', '-e'], /--exit-at-end applies without --group/],
      [['--from-beginning', '-o', 'end'], /--from-beginning contradicts --offset end/],
    ];
    for (const [args, message] of cases) {
      const run = await cli(['consume', 'kc', ...args]);
      expect(run.code, args.join(' ')).toBe(1);
      expect(run.stderr).toMatch(message);
    }
    const header = await cli(['produce', 'kc', '--header', 'novalue'], 'x\n');
    expect(header.code).toBe(1);
    expect(header.stderr).toMatch(/--header takes name=value, got "novalue"/);
  });

  it('keeps --group: reads as a member and commits', async () => {
    const run = await cli([
      'consume',
      'kc',
      '--group',
      'readers',
      '--from-beginning',
      '-c',
      '6',
      '-f',
      '%s,',
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout.split(',').filter(Boolean).sort()).toEqual(['a', 'b', 'c', 'd', 'new', 'old']);
  }, 30_000);
});

describe('groups and topics offsets', () => {
  it('lists offsets by partition, and the offset for a time', async () => {
    expect((await cli(['topics', 'create', 'tof', '--partitions', '2'])).code).toBe(0);
    await cli(['produce', 'tof', '--partition', '1', '--timestamp', '1000'], 'x\ny\n');
    await cli(['produce', 'tof', '--partition', '1', '--timestamp', '5000'], 'z\n');
    const plain = await cli(['topics', 'offsets', 'tof']);
    expect(plain).toMatchObject({ code: 0 });
    expect(
      plain.stdout
        .trim()
        .split('\n')
        .map((row) => row.trim().split(/\s+/)),
    ).toEqual([
      ['PARTITION', 'LOG-START', 'HIGH-WATERMARK'],
      ['0', '0', '0'],
      ['1', '0', '3'],
    ]);
    const timed = await cli(['topics', 'offsets', 'tof', '--timestamp', '2000']);
    expect(
      timed.stdout
        .trim()
        .split('\n')
        .map((row) => row.trim().split(/\s+/)),
    ).toEqual([
      ['PARTITION', 'LOG-START', 'HIGH-WATERMARK', 'OFFSET'],
      ['0', '0', '0', '0'],
      ['1', '0', '3', '2'],
    ]);
  });

  it('deletes records: one partition up to an offset, every partition up to the end', async () => {
    const rows = (stdout: string) =>
      stdout
        .trim()
        .split('\n')
        .map((row) => row.trim().split(/\s+/));
    expect((await cli(['topics', 'create', 'tdr', '--partitions', '2'])).code).toBe(0);
    await cli(['produce', 'tdr', '--partition', '0'], 'a\nb\n');
    await cli(['produce', 'tdr', '--partition', '1'], 'x\ny\nz\n');
    const one = await cli(['topics', 'delete-records', 'tdr', '--partition', '1', '--offset', '2']);
    expect(one).toMatchObject({ code: 0, stderr: '' });
    expect(rows(one.stdout)).toEqual([
      ['PARTITION', 'LOG-START'],
      ['1', '2'],
    ]);
    const above = await cli(['topics', 'delete-records', 'tdr', '--partition', '0', '--offset', '3']);
    expect(above.code).toBe(1);
    expect(above.stderr).toBe(
      'streambed: offset 3 is outside tdr/0: records can be deleted up to the high watermark, valid offsets are 0 to 2 (OFFSET_OUT_OF_RANGE)\n',
    );
    const all = await cli(['topics', 'delete-records', 'tdr', '--offset', 'end']);
    expect(rows(all.stdout)).toEqual([
      ['PARTITION', 'LOG-START'],
      ['0', '2'],
      ['1', '3'],
    ]);
    expect((await cli(['topics', 'delete-records', 'tdr', '--offset=-1'])).code).toBe(0);
    const bad = await cli(['topics', 'delete-records', 'tdr', '--offset', 'soon']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^streambed: --offset must be a non-negative integer, end or -1, got "soon"/);
    expect(rows((await cli(['topics', 'offsets', 'tdr'])).stdout)).toEqual([
      ['PARTITION', 'LOG-START', 'HIGH-WATERMARK'],
      ['0', '2', '2'],
      ['1', '3', '3'],
    ]);
  });

  it('resets offsets, and deletes a group only once nobody is in it', async () => {
    expect((await cli(['topics', 'create', 'gr', '--partitions', '2'])).code).toBe(0);
    await cli(['produce', 'gr', '--partition', '0'], 'a\nb\nc\n');
    const reset = await cli([
      'groups',
      'reset-offsets',
      'ops',
      '--topic',
      'gr',
      '--to-offset',
      '2',
      '--partitions',
      '0',
    ]);
    expect(reset).toMatchObject({ code: 0 });
    expect(reset.stdout.trim().split('\n').at(-1)?.split(/\s+/)).toEqual(['gr', '0', '2']);
    const latest = await cli(['groups', 'reset-offsets', 'ops', '--topic', 'gr', '--to-latest']);
    expect(
      latest.stdout
        .trim()
        .split('\n')
        .slice(1)
        .map((row) => row.split(/\s+/)),
    ).toEqual([
      ['gr', '0', '3'],
      ['gr', '1', '0'],
    ]);
    const early = await cli(['groups', 'reset-offsets', 'ops', '--topic', 'gr', '--to-timestamp', '0']);
    expect(early.stdout).toMatch(/gr\s+0\s+0/);
    const none = await cli(['groups', 'reset-offsets', 'ops', '--topic', 'gr']);
    expect(none).toMatchObject({ code: 1 });
    expect(none.stderr).toMatch(
      /needs exactly one of --to-earliest, --to-latest, --to-offset N, --to-timestamp MS/,
    );
    const misplaced = await cli(['groups', 'list', '--to-latest']);
    expect(misplaced.stderr).toMatch(/--to-latest applies to groups reset-offsets only/);

    const member = new Streambed({ url: server.url }).consumer({ groupId: 'ops' });
    await member.subscribe({ topics: ['gr'] });
    await member.run({ eachMessage: async () => {} });
    try {
      const refused = await cli(['groups', 'delete', 'ops']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(
        /group ops has 1 live member\(s\); a group can be deleted only while it has none/,
      );
    } finally {
      await member.disconnect();
    }
    expect((await cli(['groups', 'list'])).stdout).toMatch(/^ops$/m);
    const deleted = await cli(['groups', 'delete', 'ops']);
    expect(deleted).toMatchObject({ code: 0, stderr: 'deleted group ops\n' });
    expect((await cli(['groups', 'list'])).stdout).not.toMatch(/^ops$/m);
    // Its offsets went with it: it describes as a group nobody has joined.
    expect((await cli(['groups', 'describe', 'ops'])).stdout.trim().split('\n')).toEqual([
      'group ops: 0 member(s)',
      'TOPIC  PARTITION  OWNER  COMMITTED  HIGH-WATERMARK  LAG',
    ]);
  }, 30_000);
});

describe('connection errors', () => {
  it('names the URL and says the connection was refused', async () => {
    // A port that was free a moment ago: nothing listens on it.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise((resolve) => probe.close(resolve));
    const run = await cli(['topics', 'list'], '', `http://127.0.0.1:${port}`);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `streambed: cannot reach http://127.0.0.1:${port}: connection refused — is the server running? (\`npm start\`) (UNAVAILABLE)\n`,
    );
  });

  it('names an invalid --url', async () => {
    const run = await cli(['topics', 'list', '--url', 'localhost:18181']);
    expect(run).toMatchObject({ code: 1, stdout: '' });
    expect(run.stderr).toBe(
      'streambed: --url localhost:18181 is not a URL: use http://host:port (or https://host)\n',
    );
    const fromEnv = await cli(['topics', 'list'], '', 'nonsense');
    expect(fromEnv.stderr).toMatch(/^streambed: STREAMBED_URL nonsense is not a URL/);
  });
});
