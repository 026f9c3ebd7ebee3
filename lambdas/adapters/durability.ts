import { StreamError } from '../core/errors.ts';

/**
 * How the embedded backend's stores (SqliteMetaStore, FsObjectStore) treat a power loss, where the
 * operating system's page cache is lost with everything it had not yet written to the disk:
 *
 * - `fsync` (the default): a write is on the disk before it is acknowledged. Objects and the
 *   directory entries that name them are fsynced before `put` resolves; SQLite fsyncs its WAL on
 *   every commit (synchronous=FULL). Every acknowledged record survives a power cut, given a disk that
 *   honours fsync (docs/reliability.md, "Power loss").
 * - `none`: nothing is fsynced on the write path (SQLite synchronous=NORMAL, which syncs only at
 *   checkpoints and so keeps the database file consistent). A crash of the process loses nothing; a
 *   power loss may lose the last seconds of acknowledged writes, and may leave a surviving index entry
 *   pointing at a missing or empty object.
 */
export type Durability = 'fsync' | 'none';

export const DEFAULT_DURABILITY: Durability = 'fsync';

/** `value`, if it is a Durability; INVALID_ARGUMENT otherwise (it comes from options and flags). */
export function checkDurability(value: unknown): Durability {
  if (value === 'fsync' || value === 'none') return value;
  throw new StreamError(
    'INVALID_ARGUMENT',
    `durability must be 'fsync' or 'none', got ${JSON.stringify(value)}`,
  );
}
