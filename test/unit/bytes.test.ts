import { describe, expect, it } from 'vitest';
import { BytePool, concatBytes, uninitializedBytes } from '../../client/wire/bytes.ts';

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

describe('BytePool', () => {
  it('lends a view of exactly the asked size and reuses the buffer once it is given back', () => {
    const pool = new BytePool(2, 1024 * 1024, 1024);
    const first = pool.acquire(1000);
    expect(first.byteLength).toBe(1000);
    expect(first.buffer.byteLength).toBe(1024); // rounded up to the granularity
    pool.release([first, first.subarray(8)]); // arrays sharing one buffer give it back once
    expect(pool.idle).toBe(1);
    const second = pool.acquire(900);
    expect(second.buffer).toBe(first.buffer);
    expect(pool.idle).toBe(0);
  });

  it('never lends one buffer twice at a time', () => {
    const pool = new BytePool();
    const a = pool.acquire(10);
    const b = pool.acquire(10);
    expect(a.buffer).not.toBe(b.buffer);
    pool.release([a]);
    pool.release([a]); // a second release of the same buffer is ignored
    expect(pool.idle).toBe(1);
    expect(pool.acquire(10).buffer).toBe(a.buffer);
    expect(pool.acquire(10).buffer).not.toBe(a.buffer);
  });

  it('picks the smallest free buffer that fits, keeps at most maxBuffers and none over maxBufferBytes', () => {
    const pool = new BytePool(2, 4096, 1024);
    const big = pool.acquire(3000);
    const small = pool.acquire(1000);
    const huge = pool.acquire(10_000);
    const extra = pool.acquire(1000);
    pool.release([big, small, huge, extra]);
    expect(pool.idle).toBe(2); // huge is over maxBufferBytes; extra found the pool full
    expect(pool.acquire(500).buffer).toBe(small.buffer);
    expect(pool.acquire(500).buffer).toBe(big.buffer);
  });

  it('lets a large buffer replace a smaller free one when full, so small requests cannot lock out large ones', () => {
    // Prepare: the pool full of small free buffers
    const pool = new BytePool(2, 1024 * 1024, 1024);
    const smalls = [pool.acquire(100), pool.acquire(100)];
    pool.release(smalls);
    const large = pool.acquire(512 * 1024); // no free buffer fits: a fresh one

    // Act
    pool.release([large]);

    // Assess: the large buffer is kept and serves the next large request
    expect(pool.idle).toBe(2);
    expect(pool.acquire(400 * 1024).buffer).toBe(large.buffer);
    expect(pool.acquire(100).buffer).toBe(smalls[1]?.buffer);
  });

  it('ignores arrays it did not lend', () => {
    const pool = new BytePool();
    pool.release([new Uint8Array(10), uninitializedBytes(10)]);
    expect(pool.idle).toBe(0);
  });
});
