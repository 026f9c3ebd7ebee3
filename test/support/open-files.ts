/** The process's open files, read from Linux's /proc/self/fd (tests that check what is left open). */
import { readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

const procFds = '/proc/self/fd';

/** Whether openUnder can answer here. */
export const canListOpenFiles = process.platform === 'linux';

/** The files under `root` this process has open now. */
export function openUnder(root: string): string[] {
  const paths: string[] = [];
  for (const fd of readdirSync(procFds)) {
    try {
      const target = readlinkSync(join(procFds, fd));
      if (target.startsWith(`${root}/`)) paths.push(target);
    } catch {
      // The descriptor readdir itself used, closed by now.
    }
  }
  return paths.sort();
}
