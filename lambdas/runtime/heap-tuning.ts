/**
 * How a server process started by `streambed` lets V8 grow its old generation.
 *
 * After each mark-compact V8 sets the old generation's next limit at its live size times a factor it
 * picks from how fast the program has been moving objects into it: a server whose old generation
 * barely grows gets the smallest factor, about 1.1×. External memory allocated since that
 * mark-compact counts against the same limit, and a server receiving request bodies allocates plenty
 * of it: node's HTTP parser copies every chunk of a body into a buffer of its own, about a MiB of them
 * per 1 MiB request, freed by the next collection of the young generation. With a tight limit the next
 * mark-compact starts before the young generation has filled, so no scavenge frees those chunks in
 * between, and every few requests another mark-compact runs: once one mark-compact has happened under
 * load, the process stays there. Measured on the local server (docs/performance.md, "V8's
 * old-generation limit"): 9–15 mark-compacts a second instead of none, V8's helper threads at about
 * 2 ms of CPU per MiB produced instead of 0.4, produce throughput down by 15–25 %.
 *
 * A fixed factor of 3 (`--heap-growing-percent=200`) keeps the limit far enough above a small live
 * heap for scavenges to free the chunks first; V8's own factor goes up to 4 when a program does move
 * much into its old generation, so a large heap is not allowed to grow further than V8 would let it.
 * The flag is a V8 heuristic read at each mark-compact, so setting it once the process runs takes
 * effect; NODE_OPTIONS cannot carry it, and an operator's own `--heap-growing-percent` on node's
 * command line is left as it is.
 */

import { setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_PERCENT = 200;

/** The V8 flag a server process should set, or undefined when node's command line already sets one. */
export function heapGrowingFlag(execArgv: readonly string[]): string | undefined {
  const own = execArgv.some((arg) => /^--?heap[-_]growing[-_]percent(=|$)/.test(arg));
  return own ? undefined : `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
}

/** Applies heapGrowingFlag to this process; returns the flag it set, if any. */
export function tuneServerHeap(execArgv: readonly string[] = process.execArgv): string | undefined {
  const flag = heapGrowingFlag(execArgv);
  if (flag !== undefined) setFlagsFromString(flag);
  return flag;
}
