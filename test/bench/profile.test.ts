/**
 * The bench's CPU profile tooling (`npm run bench -- --profile`): the call tree and flame graph drawn
 * from a small synthetic .cpuprofile, the self-time summary and its areas, merging the profiles of
 * repeated runs, and the profiler itself in this process.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Profiler } from 'node:inspector';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { flameLayout, renderFlameGraph } from '../../bench/flame.ts';
import { type BenchPlan, parseArgs, USAGE } from '../../bench/plan.ts';
import { areaOf, frameTree, summarizeProfile, writeProfiles } from '../../bench/profile.ts';
import { type CpuProfile, cpuProfiler, mergeProfiles, toSourcePositions } from '../../bench/profiler.ts';
import { profileTables } from '../../bench/report.ts';

const ROOT = '/repo';

function frame(functionName: string, url = '', lineNumber = 0): Profiler.ProfileNode['callFrame'] {
  return { functionName, scriptId: '1', url, lineNumber, columnNumber: 0 };
}

/**
 * (root) → main (bench/x.ts:10) → encode (client/wire/binary.ts:20) twice (V8 may split one
 * function at one place into two nodes) and `a<b>&"c"` (node:internal/x:1); (root) → GC, idle.
 * Self samples: main 3, encode 5 + 3, a<b>&"c" 5, GC 2, idle 2: 20 in all.
 */
function syntheticProfile(): CpuProfile {
  const nodes: Profiler.ProfileNode[] = [
    { id: 1, callFrame: frame('(root)'), children: [2, 5, 6] },
    { id: 2, callFrame: frame('main', 'file:///repo/bench/x.ts', 9), children: [3, 4, 7] },
    { id: 3, callFrame: frame('encode', 'file:///repo/client/wire/binary.ts', 19) },
    { id: 4, callFrame: frame('a<b>&"c"', 'node:internal/x', 0) },
    { id: 5, callFrame: frame('(garbage collector)') },
    { id: 6, callFrame: frame('(idle)') },
    { id: 7, callFrame: frame('encode', 'file:///repo/client/wire/binary.ts', 19) },
  ];
  const samples = [
    ...Array<number>(3).fill(2),
    ...Array<number>(5).fill(3),
    ...Array<number>(3).fill(7),
    ...Array<number>(5).fill(4),
    ...Array<number>(2).fill(5),
    ...Array<number>(2).fill(6),
  ];
  return {
    nodes,
    startTime: 1_000_000,
    endTime: 1_002_000, // 2 ms: 100 µs a sample
    samples,
    timeDeltas: samples.map(() => 100),
  };
}

describe('the call tree of a profile', () => {
  it('counts self and total samples per function, folding one function at one place into one frame', () => {
    const tree = frameTree(syntheticProfile(), ROOT);
    expect(tree.total).toBe(20);
    const main = tree.children.find((child) => child.name === 'main');
    expect(main).toMatchObject({ location: 'bench/x.ts:10', area: 'bench', self: 3, total: 16 });
    expect(main?.children.map((child) => [child.name, child.self, child.total])).toEqual([
      ['encode', 8, 8],
      ['a<b>&"c"', 5, 5],
    ]);
  });

  it('places native code where it was called from', () => {
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame('(root)'), children: [2] },
        { id: 2, callFrame: frame('put', 'file:///repo/lambdas/adapters/fs.ts', 29), children: [3] },
        { id: 3, callFrame: frame('writev'), children: [4] },
        { id: 4, callFrame: frame('dispatch') },
      ],
      startTime: 0,
      endTime: 300,
      samples: [2, 3, 4],
      timeDeltas: [100, 100, 100],
    };
    const writev = frameTree(profile, ROOT).children[0]?.children[0];
    expect(writev).toMatchObject({
      name: 'writev',
      area: 'native',
      location: 'native ← lambdas/adapters/fs.ts:30',
    });
    expect(writev?.children[0]?.location).toBe('native ← lambdas/adapters/fs.ts:30');
  });

  it('names a dependency from node_modules/, wherever it is installed', () => {
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame('(root)'), children: [2] },
        { id: 2, callFrame: frame('run', 'file:///opt/shared/node_modules/better-sqlite3/lib/index.js', 51) },
      ],
      startTime: 0,
      endTime: 100,
      samples: [2],
      timeDeltas: [100],
    };
    expect(frameTree(profile, ROOT).children[0]).toMatchObject({
      location: 'node_modules/better-sqlite3/lib/index.js:52',
      area: 'node_modules/better-sqlite3',
    });
  });
});

describe('the flame graph', () => {
  it('draws every frame as wide as its self and callee samples, callees starting after the self part', () => {
    const tree = frameTree(syntheticProfile(), ROOT);
    const boxes = flameLayout(tree, 1000);
    const box = (name: string) => boxes.find((each) => each.node.name === name);
    expect(box('(root)')).toMatchObject({ depth: 0, x: 0, width: 1000 });
    expect(box('main')).toMatchObject({ depth: 1, x: 0, width: 800 });
    expect(box('encode')).toMatchObject({ depth: 2, x: 150, width: 400 });
    expect(box('a<b>&"c"')).toMatchObject({ depth: 2, x: 550, width: 250 });
    expect(box('(garbage collector)')).toMatchObject({ depth: 1, x: 800, width: 100 });
    expect(box('(idle)')).toMatchObject({ depth: 1, x: 900, width: 100 });
  });

  it('escapes names in the SVG and names file and line in each tooltip', () => {
    const svg = renderFlameGraph(frameTree(syntheticProfile(), ROOT), {
      title: 'produce <client> & "server"',
    });
    expect(svg).toContain('produce &lt;client&gt; &amp; &quot;server&quot;');
    expect(svg).toContain('<title>a&lt;b&gt;&amp;&quot;c&quot; (node:internal/x:1): 5 samples, 25.00%');
    expect(svg).toContain('<title>encode (client/wire/binary.ts:20): 8 samples, 40.00%');
    expect(svg).not.toContain('a<b>');
    expect(svg).not.toContain('"c"');
    expect(svg.match(/<rect [^>]*rx="2"/g)).toHaveLength(6);
  });

  it('leaves out frames too narrow to see', () => {
    const profile = syntheticProfile();
    profile.samples = [...(profile.samples ?? []), ...Array<number>(100_000).fill(6)];
    const names = flameLayout(frameTree(profile, ROOT), 1000).map((box) => box.node.name);
    expect(names).toContain('(idle)');
    expect(names).not.toContain('main');
  });
});

describe('the summary of a profile', () => {
  it('lists the functions with the most self time, with their share and time', () => {
    const summary = summarizeProfile('produce-server', syntheticProfile(), { top: 3, root: ROOT });
    expect(summary).toMatchObject({ phase: 'produce', process: 'server', samples: 20, durationMs: 2 });
    expect(summary.top).toEqual([
      {
        name: 'encode',
        location: 'client/wire/binary.ts:20',
        area: 'client/wire',
        samples: 8,
        ms: 0.8,
        percent: 40,
      },
      {
        name: 'a<b>&"c"',
        location: 'node:internal/x:1',
        area: 'node:internal',
        samples: 5,
        ms: 0.5,
        percent: 25,
      },
      { name: 'main', location: 'bench/x.ts:10', area: 'bench', samples: 3, ms: 0.3, percent: 15 },
    ]);
  });

  it('breaks self time down by area', () => {
    const summary = summarizeProfile('fetch-client', syntheticProfile(), { root: ROOT });
    expect(summary.areas.map((a) => [a.area, a.percent])).toEqual([
      ['client/wire', 40],
      ['node:internal', 25],
      ['bench', 15],
      ['GC', 10],
      ['idle/program', 10],
    ]);
  });

  it('names areas by project directory, node_modules package, Node and V8', () => {
    expect(areaOf({ functionName: 'f', url: 'file:///repo/lambdas/core/log/produce.ts' }, ROOT)).toBe(
      'lambdas/core',
    );
    expect(areaOf({ functionName: 'f', url: 'file:///repo/client/producer.ts' }, ROOT)).toBe('client');
    expect(
      areaOf(
        { functionName: 'f', url: 'file:///elsewhere/node_modules/@aws-sdk/client-s3/dist/index.js' },
        ROOT,
      ),
    ).toBe('node_modules/@aws-sdk/client-s3');
    expect(areaOf({ functionName: 'f', url: 'file:///repo/node_modules/tsx/dist/a.mjs' }, ROOT)).toBe(
      'node_modules/tsx',
    );
    expect(areaOf({ functionName: 'writev', url: '' }, ROOT)).toBe('native');
    expect(areaOf({ functionName: 'execute', url: 'wasm://wasm/0002a1b2' }, ROOT)).toBe('wasm');
    expect(areaOf({ functionName: '(program)', url: '' }, ROOT)).toBe('idle/program');
  });

  it('renders as markdown tables with a link to the flame graph', () => {
    const lines = profileTables(summarizeProfile('produce-client', syntheticProfile(), { root: ROOT }));
    const text = lines.join('\n');
    expect(text).toContain('[produce-client.svg](profiles/produce-client.svg)');
    expect(text).toContain('| 1 | `encode` | client/wire/binary.ts:20 | client/wire | 0.8 | 40 |');
    expect(text).toContain('| node:internal | 0.5 | 25 |');
  });
});

describe('the files of a profile', () => {
  it('writes the profile with paths relative to the repository, its flame graph and its summary', () => {
    const dir = mkdtempSync(join(tmpdir(), 'streambed-profile-test-'));
    try {
      const [summary] = writeProfiles(dir, new Map([['fetch-server', syntheticProfile()]]), ROOT);
      expect(summary?.name).toBe('fetch-server');
      const written = JSON.parse(readFileSync(join(dir, 'fetch-server.cpuprofile'), 'utf8')) as CpuProfile;
      expect(written.nodes.map((node) => node.callFrame.url)).toContain('client/wire/binary.ts');
      expect(JSON.stringify(written)).not.toContain('file://');
      // Read back, it says the same.
      expect(summarizeProfile('fetch-server', written, { root: ROOT })).toEqual(summary);
      expect(readFileSync(join(dir, 'fetch-server.svg'), 'utf8')).toContain(
        'encode (client/wire/binary.ts:20)',
      );
      expect(readFileSync(join(dir, 'fetch-server.md'), 'utf8')).toContain('# fetch, server process');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('merging the profiles of repeated runs', () => {
  it('folds the call trees and appends the samples, leaving out the pause between them', () => {
    const first = syntheticProfile();
    const second = syntheticProfile();
    second.startTime = 5_000_000;
    second.endTime = 5_002_000;
    // The second run also called a function the first did not.
    second.nodes = second.nodes.map((node) => (node.id === 6 ? { ...node, children: [8] } : node));
    second.nodes.push({ id: 8, callFrame: frame('late', 'file:///repo/lambdas/http/router.ts', 4) });
    second.samples = [...(second.samples ?? []), 8];
    second.timeDeltas = [...(second.timeDeltas ?? []), 100];

    const merged = mergeProfiles(first, second);
    expect(merged.samples).toHaveLength(41);
    expect(merged.timeDeltas).toHaveLength(41);
    expect(merged.nodes).toHaveLength(8);
    expect(merged.endTime - merged.startTime).toBe(4_100 - 100);
    const summary = summarizeProfile('produce-client', merged, { root: ROOT });
    expect(summary.samples).toBe(41);
    expect(summary.top.find((row) => row.name === 'encode')?.samples).toBe(16);
    expect(summary.top.find((row) => row.name === 'late')).toMatchObject({
      area: 'lambdas/http',
      samples: 1,
    });
    // Every sample names a node of the merged tree.
    const ids = new Set(merged.nodes.map((node) => node.id));
    expect(merged.samples?.every((id) => ids.has(id))).toBe(true);
  });
});

describe('positions in the source', () => {
  it('moves each function of a compiled script to its place in the source, through its source map', () => {
    const profile = syntheticProfile();
    const main = profile.nodes.find((node) => node.id === 2);
    if (main === undefined) throw new Error('no main node');
    main.positionTicks = [{ line: 10, ticks: 3 }];
    const asked: string[] = [];
    const moved = toSourcePositions(profile, (url) => {
      asked.push(url);
      if (!url.endsWith('/bench/x.ts')) return undefined;
      return {
        findEntry: (line, column) =>
          line === 9 && column === 0
            ? { originalSource: 'file:///repo/bench/x.ts', originalLine: 41, originalColumn: 2 }
            : {},
      };
    });
    expect(asked).toEqual(['file:///repo/bench/x.ts', 'file:///repo/client/wire/binary.ts']);
    const movedMain = moved.nodes.find((node) => node.id === 2);
    expect(movedMain?.callFrame).toMatchObject({
      url: 'file:///repo/bench/x.ts',
      lineNumber: 41,
      columnNumber: 2,
    });
    expect(movedMain?.positionTicks).toBeUndefined();
    // No map, or no entry: left where it was; node: scripts are not looked up.
    expect(moved.nodes.find((node) => node.id === 3)?.callFrame.lineNumber).toBe(19);
    expect(moved.nodes.find((node) => node.id === 4)?.callFrame.url).toBe('node:internal/x');
    expect(summarizeProfile('produce-client', moved, { root: ROOT }).top).toContainEqual(
      expect.objectContaining({ name: 'main', location: 'bench/x.ts:42' }),
    );
  });
});

describe('the profiler', () => {
  it('profiles this process between start and stop', async () => {
    const profiler = cpuProfiler();
    await expect(profiler.stop()).rejects.toThrow(/no CPU profile is running/);
    await profiler.start();
    await expect(profiler.start()).rejects.toThrow(/already running/);
    let spin = 0;
    for (let i = 0; i < 2_000_000; i++) spin += i % 7;
    const profile = await profiler.stop();
    expect(spin).toBeGreaterThan(0);
    expect(profile.nodes.length).toBeGreaterThan(1);
    expect(profile.samples?.length).toBeGreaterThan(0);
    expect(summarizeProfile('fetch-server', profile).samples).toBe(profile.samples?.length);
  });

  it('is asked for with --profile, listed in the usage, and needs the bench’s own server', () => {
    expect((parseArgs(['--quick', '--profile']) as BenchPlan).profile).toBe(true);
    expect((parseArgs(['--quick']) as BenchPlan).profile).toBeUndefined();
    expect(USAGE).toContain('--profile');
    expect(() => parseArgs(['--profile', '--url', 'http://127.0.0.1:9/'])).toThrow(
      /--profile needs the bench's own server process/,
    );
    expect(() => parseArgs(['--profile', '--stack', 'local'])).toThrow(/--profile needs/);
  });
});
