/** The kernel's record of a process's peak memory, read the way that is true for a forked child. */
import { readFileSync } from 'node:fs';

/**
 * The kernel's RSS high-water mark of this process image, in bytes (Linux: VmHWM, reset by exec).
 * Elsewhere process.resourceUsage().maxRSS, which Linux carries across fork: a forked child starts
 * with its parent's RSS as its maximum, which would report the parent's memory, not its own.
 */
export function kernelPeakRss(): { bytes: number; source: 'VmHWM' | 'maxRSS' } {
  if (process.platform === 'linux') {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match?.[1] !== undefined) return { bytes: Number(match[1]) * 1024, source: 'VmHWM' };
  }
  return { bytes: process.resourceUsage().maxRSS * 1024, source: 'maxRSS' };
}
