/** Rules every ObjectStore adapter enforces identically: valid keys, ranges and list options. */
import { StreamError } from '../core/errors.ts';
import { type ListOptions, MAX_LIST_LIMIT, type RangeOptions } from '../ports/object-store.ts';

const invalid = (message: string) => new StreamError('INVALID_ARGUMENT', message);

// Control characters and backslashes are refused: keys must be safe as S3 keys and as file paths.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const FORBIDDEN = /[\u0000-\u001f\u007f\\]/;

export function validateObjectKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || Buffer.byteLength(key, 'utf8') > 1024) {
    throw invalid('an object key is 1 to 1024 bytes of UTF-8');
  }
  if (FORBIDDEN.test(key))
    throw invalid(`object key ${JSON.stringify(key)} holds a control character or backslash`);
  for (const segment of key.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw invalid(`object key ${JSON.stringify(key)} has an empty, '.' or '..' segment`);
    }
  }
}

/** The prefix of a listing: empty, or a key-shaped string whose last segment may be partial. */
export function validatePrefix(prefix: string): void {
  if (prefix === '') return;
  if (
    FORBIDDEN.test(prefix) ||
    prefix.startsWith('/') ||
    prefix.split('/').some((s) => s === '.' || s === '..')
  ) {
    throw invalid(`list prefix ${JSON.stringify(prefix)} is not a valid key prefix`);
  }
}

/**
 * Resolves a range against an object's size, as S3 does: the end is clamped to the size; a range that
 * starts at or past the end of the object is INVALID_ARGUMENT (S3's InvalidRange), except a range that
 * was asked empty (start == end), and a whole read of an empty object.
 */
export function resolveRange(
  key: string,
  size: number,
  range: RangeOptions = {},
): { start: number; end: number } {
  validateRangeShape(key, range);
  const start = range.start ?? 0;
  if (range.end === start) return { start, end: start };
  if (start >= size && !(size === 0 && range.start === undefined)) {
    throw invalid(`range starting at ${start} is outside ${key} (${size} bytes)`);
  }
  return { start, end: Math.min(range.end ?? size, size) };
}

export function validateRangeShape(key: string, range: RangeOptions = {}): void {
  const { start = 0, end } = range;
  if (
    !Number.isInteger(start) ||
    start < 0 ||
    (end !== undefined && (!Number.isInteger(end) || end < start))
  ) {
    throw invalid(`range [${start}, ${end}) of ${key} is not a valid byte range`);
  }
}

export function listLimit(options: ListOptions = {}): number {
  const limit = options.limit ?? MAX_LIST_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw invalid(`list limit must be 1..${MAX_LIST_LIMIT}, got ${limit}`);
  }
  return limit;
}

/** Byte-order comparison of keys, as S3 lists them (UTF-8 binary order). */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export function notFound(key: string, cause?: unknown): StreamError {
  return new StreamError('NOT_FOUND', `object ${key} does not exist`, { cause });
}
