import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StreamError } from '../../lambdas/core/errors.ts';
import { murmur2, partitionForKey, toPositive } from '../../lambdas/core/partitioner.ts';
import { KAFKA_MURMUR2_VECTORS } from '../support/kafka-vectors.ts';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

function thrownBy(action: () => unknown): StreamError {
  try {
    action();
  } catch (error) {
    if (error instanceof StreamError) return error;
    throw error;
  }
  throw new Error('expected a StreamError, nothing was thrown');
}

describe('murmur2', () => {
  it.each(KAFKA_MURMUR2_VECTORS)('matches Kafka UtilsTest.testMurmur2 for %j', (key, expected) => {
    // Prepare
    const bytes = utf8(key);

    // Act
    const hash = murmur2(bytes);

    // Assess
    expect(hash).toBe(expected);
  });

  // Akka's Murmur2Spec pins these against Kafka's Utils.murmur2; they add tail length 1 ("1", "12345").
  it.each([
    ['1', -1993445489],
    ['12', 126087238],
    ['123', -267702483],
    ['1234', -1614185708],
    ['12345', -1188365604],
  ])('matches the Kafka-derived vector for %j', (key, expected) => {
    // Prepare
    const bytes = utf8(key);

    // Act
    const hash = murmur2(bytes);

    // Assess
    expect(hash).toBe(expected);
  });

  // Computed on JDK 17 with Java int arithmetic, transliterating Kafka's Utils.murmur2; they prove that
  // bytes >= 0x80 are read unsigned (Java's `& 0xff`) and cover the empty key.
  it.each([
    ['the empty key', new Uint8Array(0), 275646681],
    ['UTF-8 "été"', utf8('été'), -2101193575],
    ['UTF-8 "日本語キー"', utf8('日本語キー'), 1445825182],
    ['UTF-8 "😀x"', utf8('😀x'), -1018136956],
    ['raw bytes 80 ff 7f 00 fe', Uint8Array.from([0x80, 0xff, 0x7f, 0x00, 0xfe]), 1194262306],
  ])('matches Java for %s', (_name, bytes, expected) => {
    // Prepare: the vector

    // Act
    const hash = murmur2(bytes);

    // Assess
    expect(hash).toBe(expected);
  });

  it('always returns a signed 32-bit integer and ignores where the bytes sit in their buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat({ max: 3 }), (key, shift) => {
        // Prepare
        const backing = new Uint8Array(key.length + shift);
        backing.set(key, shift);

        // Act
        const hash = murmur2(backing.subarray(shift));

        // Assess
        expect(hash | 0).toBe(hash);
        expect(hash).toBe(murmur2(key));
      }),
    );
  });
});

describe('toPositive', () => {
  it.each([
    [0, 0],
    [5, 5],
    [-1, 0x7fffffff],
    [-(2 ** 31), 0],
    [-973932308, 1173551340],
  ])('maps %i to %i by clearing the sign bit', (input, expected) => {
    // Prepare: the fixture

    // Act
    const positive = toPositive(input);

    // Assess
    expect(positive).toBe(expected);
  });
});

describe('partitionForKey', () => {
  // toPositive(hash) % partitions for Kafka's vectors above: where the Java client puts these keys.
  it.each([
    ['21', 3, 0],
    ['21', 7, 3],
    ['foobar', 12, 6],
    ['a-little-bit-long-string', 3, 2],
    ['a-little-bit-longer-string', 12, 11],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', 100, 77],
    ['abc', 7, 4],
  ])(
    'puts %j, among %i partitions, on partition %i as the Kafka Java client does',
    (key, partitions, expected) => {
      // Prepare
      const bytes = utf8(key);

      // Act
      const partition = partitionForKey(bytes, partitions);

      // Assess
      expect(partition).toBe(expected);
    },
  );

  it('is deterministic and always within [0, partitions)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 40 }),
        fc.integer({ min: 1, max: 10_000 }),
        (key, partitions) => {
          // Prepare: nothing beyond the inputs

          // Act
          const first = partitionForKey(key, partitions);
          const second = partitionForKey(Uint8Array.from(key), partitions);

          // Assess
          expect(first).toBe(second);
          expect(first).toBeGreaterThanOrEqual(0);
          expect(first).toBeLessThan(partitions);
        },
      ),
    );
  });

  it.each([0, -3, 1.5, Number.NaN])('rejects a partition count of %d with INVALID_REQUEST', (partitions) => {
    // Prepare
    const key = utf8('k');

    // Act
    const error = thrownBy(() => partitionForKey(key, partitions));

    // Assess
    expect(error.code).toBe('INVALID_REQUEST');
  });
});
