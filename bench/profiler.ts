/**
 * CPU profiles of the bench's headline phases (`npm run bench -- --profile`): V8's sampling profiler
 * through `node:inspector`, in the client process (the SDK client, bench/client-process.ts) and in the
 * server process (each asked over IPC), started just before a phase and stopped just after it. A
 * phase that repeats (every run of the headline produce configuration, every cold read of the
 * headline dataset) is profiled each time and the profiles are merged into one, as if the runs had
 * followed each other without the baselines in between. bench/profile.ts turns them into files.
 */
import type { Profiler } from 'node:inspector';
import { Session } from 'node:inspector/promises';
import { findSourceMap } from 'node:module';

export type CpuProfile = Profiler.Profile;
export type ProfiledPhase = 'produce' | 'fetch';
export type ProfiledProcess = 'client' | 'server';

/** How reports name the process a profile was taken in. */
export function profiledProcessName(process: ProfiledProcess): string {
  return process === 'server' ? 'server process' : 'client process (SDK client)';
}

/** V8's sampling interval while profiling, microseconds (its default is 1000). */
export const SAMPLING_INTERVAL_US = 100;

/** Starts and stops V8's CPU profiler in this process. */
export interface CpuProfiler {
  start(intervalUs?: number): Promise<void>;
  stop(): Promise<CpuProfile>;
}

export function cpuProfiler(): CpuProfiler {
  let session: Session | undefined;
  return {
    async start(intervalUs = SAMPLING_INTERVAL_US) {
      if (session !== undefined) throw new Error('a CPU profile is already running in this process');
      session = new Session();
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
      await session.post('Profiler.start');
    },
    async stop() {
      const running = session;
      if (running === undefined) throw new Error('no CPU profile is running in this process');
      session = undefined;
      try {
        const { profile } = await running.post('Profiler.stop');
        return toSourcePositions(profile);
      } finally {
        running.disconnect();
      }
    },
  };
}

/** What `toSourcePositions` needs of a script's source map (node:module's `findSourceMap`). */
export type SourceMapLookup = (
  url: string,
) => { findEntry(line: number, column: number): Partial<SourceMapEntry> } | undefined;

interface SourceMapEntry {
  originalSource: string;
  originalLine: number;
  originalColumn: number;
}

/**
 * The profile with every function's position in its source file rather than in the JavaScript the
 * TypeScript loader (tsx) compiled it into, through the source maps the loader registered in this
 * process (so it runs where the profile was taken). Line-level ticks are dropped where a position
 * moved: they are of the compiled lines.
 */
export function toSourcePositions(profile: CpuProfile, lookup: SourceMapLookup = findSourceMap): CpuProfile {
  const maps = new Map<string, ReturnType<SourceMapLookup>>();
  const nodes = profile.nodes.map((node) => {
    const { url, lineNumber, columnNumber } = node.callFrame;
    if (!url.startsWith('file:')) return node;
    if (!maps.has(url)) maps.set(url, lookup(url));
    const entry = maps.get(url)?.findEntry(lineNumber, columnNumber);
    if (entry?.originalLine === undefined) return node;
    const { positionTicks: _, ...rest } = node;
    return {
      ...rest,
      callFrame: {
        ...node.callFrame,
        url: entry.originalSource?.startsWith('file:') ? entry.originalSource : url,
        lineNumber: entry.originalLine,
        columnNumber: entry.originalColumn ?? 0,
      },
    };
  });
  return { ...profile, nodes };
}

/**
 * Profiles the server and the client process (bench/client-process.ts: it sends the produce headline's
 * requests and reads the fetch headline's) around the headline phases; `profiles` holds one merged
 * profile per pair.
 */
export interface PhaseProfiler {
  start(phase: ProfiledPhase): Promise<void>;
  stop(phase: ProfiledPhase): Promise<void>;
  readonly profiles: Map<`${ProfiledPhase}-${ProfiledProcess}`, CpuProfile>;
}

export function phaseProfiler(server: CpuProfiler, client: CpuProfiler): PhaseProfiler {
  const profiles: PhaseProfiler['profiles'] = new Map();
  const keep = (key: `${ProfiledPhase}-${ProfiledProcess}`, profile: CpuProfile) => {
    const earlier = profiles.get(key);
    profiles.set(key, earlier === undefined ? profile : mergeProfiles(earlier, profile));
  };
  return {
    profiles,
    async start() {
      await Promise.all([server.start(), client.start()]);
    },
    async stop(phase) {
      const [inServer, inClient] = await Promise.all([server.stop(), client.stop()]);
      keep(`${phase}-server`, inServer);
      keep(`${phase}-client`, inClient);
    },
  };
}

const frameKey = (frame: Profiler.ProfileNode['callFrame']) =>
  `${frame.functionName}\0${frame.url}\0${frame.lineNumber}\0${frame.columnNumber}`;

/** The node no other node names as a child: V8's `(root)`. */
function rootOf(profile: CpuProfile): Profiler.ProfileNode {
  const children = new Set(profile.nodes.flatMap((node) => node.children ?? []));
  const root = profile.nodes.find((node) => !children.has(node.id));
  if (root === undefined) throw new Error('a CPU profile without a root node');
  return root;
}

/**
 * `later` appended to `earlier`: its call tree folded into the earlier one (the same function at the
 * same place under the same parent is one node), its samples after the earlier ones, the pause
 * between the two left out. The result is a valid .cpuprofile (line-level ticks are dropped).
 */
export function mergeProfiles(earlier: CpuProfile, later: CpuProfile): CpuProfile {
  const nodes = earlier.nodes.map(({ positionTicks: _, ...node }) => ({
    ...node,
    children: [...(node.children ?? [])],
  }));
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const childByKey = new Map<string, number>();
  for (const node of nodes)
    for (const child of node.children) {
      const frame = byId.get(child)?.callFrame;
      if (frame !== undefined) childByKey.set(`${node.id}\0${frameKey(frame)}`, child);
    }
  let nextId = Math.max(0, ...nodes.map((node) => node.id)) + 1;
  const laterById = new Map(later.nodes.map((node) => [node.id, node]));
  const mapped = new Map<number, number>();
  const visit = (node: Profiler.ProfileNode, into: (typeof nodes)[number]) => {
    mapped.set(node.id, into.id);
    into.hitCount = (into.hitCount ?? 0) + (node.hitCount ?? 0);
    for (const childId of node.children ?? []) {
      const child = laterById.get(childId);
      if (child === undefined) continue;
      const key = `${into.id}\0${frameKey(child.callFrame)}`;
      let target = byId.get(childByKey.get(key) ?? -1);
      if (target === undefined) {
        target = { id: nextId++, callFrame: child.callFrame, hitCount: 0, children: [] };
        nodes.push(target);
        byId.set(target.id, target);
        childByKey.set(key, target.id);
        into.children.push(target.id);
      }
      visit(child, target);
    }
  };
  const root = byId.get(rootOf(earlier).id);
  if (root === undefined) throw new Error('a CPU profile without a root node');
  visit(rootOf(later), root);

  const earlierDeltas = earlier.timeDeltas ?? [];
  const lastEarlierSample = earlier.startTime + earlierDeltas.reduce((sum, delta) => sum + delta, 0);
  const laterDeltas = [...(later.timeDeltas ?? [])];
  if (laterDeltas.length > 0) laterDeltas[0] = (laterDeltas[0] ?? 0) + earlier.endTime - lastEarlierSample;
  return {
    nodes,
    startTime: earlier.startTime,
    endTime: earlier.endTime + (later.endTime - later.startTime),
    samples: [...(earlier.samples ?? []), ...(later.samples ?? []).map((id) => mapped.get(id) ?? root.id)],
    timeDeltas: [...earlierDeltas, ...laterDeltas],
  };
}
