/**
 * Plain JSON produce bodies read from their bytes (produce-json.ts) against the general way (JSON.parse
 * of the UTF-8 text, then the schema): a body the byte reader reads is read exactly as the general way
 * reads it, and the plain bodies clients send are the ones it reads.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StreamError } from '../../lambdas/core/errors.ts';
import { jsonStringContentBytes } from '../../lambdas/http/lambda-payload.ts';
import {
  offsetRuns,
  offsetRunsJson,
  offsetsJson,
  readPlainProduceBody,
} from '../../lambdas/http/produce-json.ts';
import { parseProduceBody } from '../../lambdas/http/schemas.ts';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** The general way's reading of a body: its records, or the error it answers with. */
function general(body: Uint8Array): unknown {
  try {
    return parseProduceBody(JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body)));
  } catch (error) {
    if (error instanceof StreamError) return { code: error.code, message: error.message };
    return { failed: String(error) };
  }
}

/** Checks the one rule: what the byte reader reads, the general way reads the same. */
function agrees(body: Uint8Array): boolean {
  const plain = readPlainProduceBody(body);
  if (plain !== undefined) expect(plain).toEqual(general(body));
  return plain !== undefined;
}

// Text without anything JSON escapes, ASCII or not.
const plainText = fc.string({ unit: fc.constantFrom('a', 'Z', '0', ' ', 'é', '😀', '\u2028', '{', ':') });
const plainRecord = fc.record(
  {
    key: plainText,
    value: fc.oneof(plainText, fc.constant(null)),
    partition: fc.nat(),
    timestamp: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
  },
  { requiredKeys: [] },
);
const plainBody = fc
  .array(plainRecord, { minLength: 1, maxLength: 6 })
  .map((records) => JSON.stringify({ records }));

describe('plain JSON produce bodies read from their bytes', () => {
  it('reads every plain body, exactly as the general way does', () => {
    fc.assert(
      fc.property(plainBody, fc.boolean(), (text, spaced) => {
        // JSON.stringify's spacing, or spaces between every token.
        const body = spaced ? JSON.stringify(JSON.parse(text), null, 1).replace(/\n/g, ' ') : text;
        expect(agrees(utf8(body))).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('reads any body, plain or not, either as the general way does or not at all', () => {
    const edit = fc.constantFrom(
      '{',
      '}',
      '[',
      ']',
      ',',
      ':',
      '"',
      ' ',
      '\t',
      '\\',
      '0',
      '1',
      '-',
      '.',
      'e',
      'E',
      'n',
      'null',
      'true',
      '"key"',
      '"value"',
      '"partition"',
      '"headers":{}',
      '"valueBase64":"YQ=="',
      'é',
      '\u0001',
      '\ufeff',
    );
    fc.assert(
      fc.property(
        plainBody,
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 3 }), edit), { minLength: 1, maxLength: 3 }),
        (text, edits) => {
          let body = text;
          for (const [at, remove, insert] of edits) {
            const where = at % (body.length + 1);
            body = body.slice(0, where) + insert + body.slice(where + remove);
          }
          agrees(utf8(body));
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('leaves to the general way what only it reads right', () => {
    const cases: (string | Uint8Array)[] = [
      '{"records":[]}',
      '{"records":[{"value":"a","value":"b"}]}',
      '{"records":[{"partition":01}]}',
      '{"records":[{"partition":1.0}]}',
      '{"records":[{"partition":1e2}]}',
      '{"records":[{"partition":-0}]}',
      '{"records":[{"timestamp":9007199254740992}]}',
      '{"records":[{"timestamp":99999999999999999}]}',
      '{"records":[{"key":null}]}',
      '{"records":[{"value":1}]}',
      '{"records":[{"value":"a\\u0041"}]}',
      '{"records":[{"value":"a"}],"records":[{"value":"b"}]}',
      '{"records":[{"value":"a"}]}x',
      '{"records":[{"value":"a"},]}',
      '{"records":[{"__proto__":"a"}]}',
      '{"records":[{"Value":"a"}]}',
      '{"records":[{"value":"a"}\n]}',
      new Uint8Array([0xef, 0xbb, 0xbf, ...utf8('{"records":[{"value":"a"}]}')]),
      new Uint8Array([...utf8('{"records":[{"value":"'), 0xff, ...utf8('"}]}')]),
      JSON.stringify({ records: Array.from({ length: 10_001 }, () => ({})) }),
    ];
    for (const each of cases) {
      const body = typeof each === 'string' ? utf8(each) : each;
      expect(readPlainProduceBody(body), String(each).slice(0, 80)).toBeUndefined();
    }
    // The largest count allowed is still read here.
    expect(agrees(utf8(JSON.stringify({ records: Array.from({ length: 10_000 }, () => ({})) })))).toBe(true);
    expect(agrees(utf8('{"records":[{"timestamp":9007199254740991,"partition":0}]}'))).toBe(true);
  });

  it('gives views of the body, not copies', () => {
    const body = utf8('{"records":[{"key":"k","value":"hello"}]}');
    const [record] = readPlainProduceBody(body) ?? [];
    expect(record?.value?.buffer).toBe(body.buffer);
    expect(record?.key?.buffer).toBe(body.buffer);
  });
});

describe('the produce response', () => {
  it('is JSON.stringify of the offsets, and measures its Lambda document bytes exactly', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            partition: fc.nat({ max: 2 ** 31 - 1 }),
            offset: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
          }),
          { maxLength: 20 },
        ),
        (offsets) => {
          const { body, documentBytes } = offsetsJson(offsets);
          const text = new TextDecoder().decode(body);
          expect(text).toBe(JSON.stringify({ offsets }));
          expect(documentBytes).toBe(jsonStringContentBytes(text));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('is written from runs of consecutive offsets, counting across every carry of their digits', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            partition: fc.nat({ max: 2 ** 31 - 1 }),
            // Near a power of ten, so that counting up carries into a new digit.
            baseOffset: fc.oneof(
              fc.nat({ max: 2 ** 40 }),
              fc.integer({ min: 1, max: 15 }).map((exp) => 10 ** exp - 3),
              fc.constant(Number.MAX_SAFE_INTEGER - 1_200),
            ),
            count: fc.integer({ min: 0, max: 1_100 }),
          }),
          { maxLength: 4 },
        ),
        (runs) => {
          const offsets = runs.flatMap(({ partition, baseOffset, count }) =>
            Array.from({ length: count }, (_, i) => ({ partition, offset: baseOffset + i })),
          );
          const { body, documentBytes } = offsetRunsJson(runs);
          const text = new TextDecoder().decode(body);
          expect(text).toBe(JSON.stringify({ offsets }));
          expect(documentBytes).toBe(jsonStringContentBytes(text));
          // The runs offsetsJson finds say the same.
          expect(new TextDecoder().decode(offsetsJson(offsets).body)).toBe(text);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('groups offsets into runs: consecutive offsets of one partition, in order', () => {
    expect(
      offsetRuns([
        { partition: 0, offset: 5 },
        { partition: 0, offset: 6 },
        { partition: 1, offset: 7 },
        { partition: 0, offset: 7 },
        { partition: 0, offset: 9 },
      ]),
    ).toEqual([
      { partition: 0, baseOffset: 5, count: 2 },
      { partition: 1, baseOffset: 7, count: 1 },
      { partition: 0, baseOffset: 7, count: 1 },
      { partition: 0, baseOffset: 9, count: 1 },
    ]);
    expect(offsetRuns([])).toEqual([]);
    expect(new TextDecoder().decode(offsetRunsJson([]).body)).toBe('{"offsets":[]}');
  });
});
