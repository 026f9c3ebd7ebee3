// Types of the two reference compressors the codec tests read back (neither package ships any).

declare module 'snappyjs' {
  /** Raw Snappy (no framing). */
  export function compress(input: Uint8Array): Uint8Array;
  export function uncompress(input: Uint8Array, maxLength?: number): Uint8Array;
  const SnappyJS: { compress: typeof compress; uncompress: typeof uncompress };
  export default SnappyJS;
}

declare module 'lz4js' {
  /** One LZ4 frame: linked blocks of up to 4 MiB, no checksums, no content size. */
  export function compress(input: Uint8Array, maxSize?: number): Uint8Array;
  export function decompress(input: Uint8Array, maxSize?: number): Uint8Array;
  export function compressBound(size: number): number;
  /** Compresses input[start, start + length) into output as one block; 0 when it does not shrink. */
  export function compressBlock(
    input: Uint8Array,
    output: Uint8Array,
    start: number,
    length: number,
    hashTable: Uint32Array,
  ): number;
}
