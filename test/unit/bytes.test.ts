import { describe, expect, it } from 'vitest';
import { concatBytes, uninitializedBytes } from '../../lambdas/core/bytes.ts';

describe('uninitializedBytes', () => {
  it('is a plain Uint8Array of the asked size, so it compares equal to other Uint8Arrays', () => {
    const bytes = uninitializedBytes(3);
    bytes.set([1, 2, 3]);
    expect(bytes.constructor).toBe(Uint8Array);
    expect(bytes).toEqual(new Uint8Array([1, 2, 3]));
    expect(uninitializedBytes(0).byteLength).toBe(0);
  });
});

describe('concatBytes', () => {
  it('joins the parts in order', () => {
    const joined = concatBytes([new Uint8Array([1, 2]), new Uint8Array(0), new Uint8Array([3])]);
    expect(joined).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('refuses a declared total the parts do not fill, so no unwritten byte escapes', () => {
    expect(() => concatBytes([new Uint8Array([1, 2])], 3)).toThrow(/hold 2 bytes, expected 3/);
  });
});
