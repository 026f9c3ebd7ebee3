/**
 * A batch index entry (`part#{topicId}#{p}` / `b#{baseOffset}`): where a run of record batches lives.
 * Produce writes one per partition per request; compaction replaces a run of them by one.
 */
import type { Item } from '../ports/meta-store.ts';
import { parseBatchSk } from './layout.ts';

/** What an entry stores (its base offset is in its sort key). */
export interface IndexAttributes {
  objectKey: string;
  /** Where the entry's batches start in the object, and how many bytes they take. */
  byteOffset: number;
  byteLength: number;
  /** Records covered: the entry spans offsets [baseOffset, baseOffset + recordCount). */
  recordCount: number;
  minTimestamp: number;
  maxTimestamp: number;
}

export interface IndexEntry extends IndexAttributes {
  baseOffset: number;
  /** The stored item, for conditions on its version. */
  item: Item;
}

export function readIndexEntry(item: Item): IndexEntry {
  return {
    item,
    baseOffset: parseBatchSk(item.sk),
    objectKey: item.objectKey as string,
    byteOffset: item.byteOffset as number,
    byteLength: item.byteLength as number,
    recordCount: item.recordCount as number,
    minTimestamp: item.minTimestamp as number,
    maxTimestamp: item.maxTimestamp as number,
  };
}
