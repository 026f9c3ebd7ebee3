import { describe, expect, it } from 'vitest';
import { HEAP_GROWING_PERCENT, heapGrowingFlag } from '../../lambdas/runtime/heap-tuning.ts';

describe('heapGrowingFlag', () => {
  it('sets a fixed growing factor of 3 when node was started without one', () => {
    expect(HEAP_GROWING_PERCENT).toBe(200);
    expect(heapGrowingFlag([])).toBe('--heap-growing-percent=200');
    expect(heapGrowingFlag(['--import', 'tsx', '--max-old-space-size=512', '--heap-prof'])).toBe(
      '--heap-growing-percent=200',
    );
  });

  it("leaves an operator's own flag alone, in any spelling node passes to V8 (one dash or two, - or _)", () => {
    for (const argv of [
      ['--heap-growing-percent=50'],
      ['--heap_growing_percent=50'],
      ['--import', 'tsx', '--heap-growing-percent', '50'],
      ['-heap-growing-percent=50'],
      ['--heap_growing-percent=50'],
      ['--heap-growing_percent', '50'],
    ]) {
      expect(heapGrowingFlag(argv)).toBeUndefined();
    }
  });
});
