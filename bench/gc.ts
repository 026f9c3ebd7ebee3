/**
 * A full garbage collection of this process before a timed pass. The bench process keeps everything
 * its earlier scenarios left behind, and V8 may pick any moment to mark-compact it: a pass that
 * happens to hold that moment (Streambed's or a baseline's) measures the collection, not its path.
 * Each headline pass and each baseline pass therefore starts on a collected heap, the server process
 * too (its `begin`). `--expose-gc` is set at run time, so `npm run bench` needs no node flag.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

export function collectGarbage(): void {
  gc();
}
