/**
 * What a CPU profile of the bench (bench/profiler.ts) says, in files a reader opens: the .cpuprofile
 * itself (Chrome DevTools, speedscope), a flame graph (bench/flame.ts) and a summary — the functions
 * with the most self time, and self time by area: the project's directories (lambdas/core,
 * client/wire, ...), node_modules by package, Node's own JavaScript, native code, WebAssembly, the garbage
 * collector, and idle/program (waiting, or native work V8 does not attribute to a function).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderFlameGraph } from './flame.ts';
import {
  type CpuProfile,
  type ProfiledPhase,
  type ProfiledProcess,
  profiledProcessName,
} from './profiler.ts';
import { profileTables } from './report.ts';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** One function at one place in the call tree, its siblings of the same function folded into it. */
export interface FrameNode {
  name: string;
  /** `lambdas/core/log.ts:42`, `node:internal/streams/writable:120`, or '' for V8's own entries. */
  location: string;
  area: string;
  /** Samples taken in this function itself. */
  self: number;
  /** Samples in this function and everything it called. */
  total: number;
  children: FrameNode[];
}

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

const VM_ENTRIES: Record<string, string> = {
  '(garbage collector)': 'GC',
  '(idle)': 'idle/program',
  '(program)': 'idle/program',
  '(root)': 'idle/program',
};

/**
 * A script's path relative to the repository, from `node_modules/` for a dependency wherever it is
 * installed, absolute elsewhere; node: and wasm: URLs as they are.
 */
function scriptPath(url: string, root: string): string {
  if (!url.startsWith('file:')) return url;
  const path = fileURLToPath(url);
  const modules = path.indexOf('/node_modules/');
  if (modules >= 0) return path.slice(modules + 1);
  const inRepo = relative(root, path);
  return inRepo.startsWith('..') ? path : inRepo;
}

/** The area a frame's self time counts toward (see the module comment). */
export function areaOf(frame: Pick<CallFrame, 'functionName' | 'url'>, root = REPO_ROOT): string {
  const vm = VM_ENTRIES[frame.functionName];
  if (frame.url === '' && vm !== undefined) return vm;
  if (frame.url === '') return 'native';
  if (frame.url.startsWith('node:')) return 'node:internal';
  // WebAssembly: undici's HTTP parser (llhttp), in the client.
  if (frame.url.startsWith('wasm:')) return 'wasm';
  const path = scriptPath(frame.url, root);
  const modules = path.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const [scope, name] = path.slice(modules + 'node_modules/'.length).split('/');
    return `node_modules/${scope?.startsWith('@') ? `${scope}/${name}` : scope}`;
  }
  if (path.startsWith('/')) return 'other';
  const dirs = path.split('/').slice(0, -1);
  return dirs.length === 0 ? '(repository root)' : dirs.slice(0, 2).join('/');
}

/**
 * Where a frame is: file and line of a script; for native code (Node's C++ bindings such as writev,
 * SQLite's statements, V8 builtins), which has none, where it was called from.
 */
function locationOf(frame: CallFrame, caller: FrameNode, root: string): string {
  if (frame.url !== '') return `${scriptPath(frame.url, root)}:${frame.lineNumber + 1}`;
  if (VM_ENTRIES[frame.functionName] !== undefined || caller.name === '(root)') return '';
  return caller.location.startsWith('native') || caller.location === ''
    ? caller.location
    : `native ← ${caller.location}`;
}

/** Samples per profile node: from the sample list when there is one, else V8's hit counts. */
function selfSamples(profile: CpuProfile): Map<number, number> {
  const counts = new Map<number, number>();
  if (profile.samples !== undefined && profile.samples.length > 0) {
    for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
  } else {
    for (const node of profile.nodes) counts.set(node.id, node.hitCount ?? 0);
  }
  return counts;
}

/** The call tree of `profile` with sample counts, rooted at V8's `(root)`. */
export function frameTree(profile: CpuProfile, root = REPO_ROOT): FrameNode {
  const counts = selfSamples(profile);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const childIds = new Set(profile.nodes.flatMap((node) => node.children ?? []));
  const top = profile.nodes.find((node) => !childIds.has(node.id));
  if (top === undefined) throw new Error('a CPU profile without a root node');
  const build = (ids: number[], into: FrameNode) => {
    const byKey = new Map<string, FrameNode>();
    for (const id of ids) {
      const node = byId.get(id);
      if (node === undefined) continue;
      const frame = node.callFrame;
      const location = locationOf(frame, into, root);
      const key = `${frame.functionName}\0${location}\0${frame.columnNumber}`;
      let child = byKey.get(key);
      if (child === undefined) {
        child = {
          name: frame.functionName === '' ? '(anonymous)' : frame.functionName,
          location,
          area: areaOf(frame, root),
          self: 0,
          total: 0,
          children: [],
        };
        byKey.set(key, child);
        into.children.push(child);
      }
      child.self += counts.get(id) ?? 0;
      build(node.children ?? [], child);
    }
  };
  const tree: FrameNode = {
    name: '(root)',
    location: '',
    area: 'idle/program',
    self: counts.get(top.id) ?? 0,
    total: 0,
    children: [],
  };
  build(top.children ?? [], tree);
  const sum = (node: FrameNode): number => {
    node.total = node.self + node.children.reduce((total, child) => total + sum(child), 0);
    node.children.sort((a, b) => b.total - a.total);
    return node.total;
  };
  sum(tree);
  return tree;
}

export interface SelfTimeRow {
  name: string;
  location: string;
  area: string;
  samples: number;
  ms: number;
  percent: number;
}

export interface ProfileSummary {
  /** `produce-client`: the file names in bench/results/profiles/ start with it. */
  name: `${ProfiledPhase}-${ProfiledProcess}`;
  phase: ProfiledPhase;
  process: ProfiledProcess;
  samples: number;
  /** Wall time the profile covers, ms. */
  durationMs: number;
  /** The functions with the most self time, most first (one row per function and place). */
  top: SelfTimeRow[];
  /** Self time by area, most first. */
  areas: Omit<SelfTimeRow, 'name' | 'location'>[];
}

const round1 = (value: number) => Math.round(value * 10) / 10;

export function summarizeProfile(
  name: ProfileSummary['name'],
  profile: CpuProfile,
  { top = 25, root = REPO_ROOT } = {},
): ProfileSummary {
  const tree = frameTree(profile, root);
  const durationMs = (profile.endTime - profile.startTime) / 1000;
  const msPerSample = tree.total === 0 ? 0 : durationMs / tree.total;
  const row = (samples: number) => ({
    samples,
    ms: round1(samples * msPerSample),
    percent: tree.total === 0 ? 0 : round1((samples / tree.total) * 100),
  });
  const functions = new Map<string, { name: string; location: string; area: string; samples: number }>();
  const areas = new Map<string, number>();
  const walk = (node: FrameNode) => {
    if (node.self > 0) {
      const key = `${node.name}\0${node.location}`;
      const entry = functions.get(key) ?? {
        name: node.name,
        location: node.location,
        area: node.area,
        samples: 0,
      };
      entry.samples += node.self;
      functions.set(key, entry);
      areas.set(node.area, (areas.get(node.area) ?? 0) + node.self);
    }
    for (const child of node.children) walk(child);
  };
  walk(tree);
  const [phase, process] = name.split('-') as [ProfiledPhase, ProfiledProcess];
  return {
    name,
    phase,
    process,
    samples: tree.total,
    durationMs: round1(durationMs),
    top: [...functions.values()]
      .sort((a, b) => b.samples - a.samples)
      .slice(0, top)
      .map((entry) => ({ ...entry, ...row(entry.samples) })),
    areas: [...areas.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([area, samples]) => ({ area, ...row(samples) })),
  };
}

/**
 * The profile with script URLs of this machine made portable: files of the repository relative to
 * it (`lambdas/core/fetch.ts`), dependencies from `node_modules/`. Everything here reads either form.
 */
export function portableProfile(profile: CpuProfile, root = REPO_ROOT): CpuProfile {
  return {
    ...profile,
    nodes: profile.nodes.map((node) => ({
      ...node,
      callFrame: { ...node.callFrame, url: scriptPath(node.callFrame.url, root) },
    })),
  };
}

/**
 * Writes `<name>.cpuprofile`, `<name>.svg` and `<name>.md` for every profile into `dir`; returns
 * the summaries, for the report.
 */
export function writeProfiles(
  dir: string,
  profiles: Map<ProfileSummary['name'], CpuProfile>,
  root = REPO_ROOT,
): ProfileSummary[] {
  mkdirSync(dir, { recursive: true });
  const order: ProfileSummary['name'][] = [
    'produce-client',
    'produce-server',
    'fetch-client',
    'fetch-server',
  ];
  const summaries: ProfileSummary[] = [];
  for (const name of order) {
    const taken = profiles.get(name);
    if (taken === undefined) continue;
    const profile = portableProfile(taken, root);
    const summary = summarizeProfile(name, profile, { root });
    summaries.push(summary);
    writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
    writeFileSync(
      join(dir, `${name}.svg`),
      renderFlameGraph(frameTree(profile, root), {
        title: `${summary.phase} phase, ${profiledProcessName(summary.process)}: ${summary.samples} samples over ${summary.durationMs} ms`,
      }),
    );
    writeFileSync(join(dir, `${name}.md`), `${profileTables(summary, { heading: '#' }).join('\n')}\n`);
  }
  return summaries;
}
