/**
 * ObjectStore on Amazon S3 (and S3 emulators: s3rver, LocalStack).
 *
 * Retries: the AWS SDK's standard retry strategy already retries throttling, 5xx and transport faults
 * (resets, timeouts) with backoff, so this adapter never retries on its own. Retries happen at exactly
 * one layer per concern (STYLE.md): transport faults here, in the SDK; compare-and-set conflicts in the
 * core. What reaches the caller is an SDK failure after its retries, translated once into a
 * StreamError whose `retriable` flag says whether a later attempt (next request, next janitor run)
 * may succeed.
 */
import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { StreamError } from '../core/errors.ts';
import {
  type ListOptions,
  type ListResult,
  MAX_DELETE_BATCH,
  type ObjectInfo,
  type ObjectStore,
  type RangeOptions,
} from '../ports/object-store.ts';
import {
  listLimit,
  notFound,
  validateObjectKey,
  validatePrefix,
  validateRangeShape,
} from './object-rules.ts';

export interface S3ObjectStoreOptions {
  client: S3Client;
  bucket: string;
}

/**
 * Builds an S3 client whose checksum behaviour every S3 implementation accepts: checksums only where
 * an operation requires them (DeleteObjects). The SDK's default (WHEN_SUPPORTED) sends CRC trailers in
 * aws-chunked bodies that emulators store verbatim or refuse; S3 itself still checks the request
 * signature and TLS guards the bytes in flight. Everything else (endpoint, region, credentials,
 * forcePathStyle, retry settings) passes through unchanged and may override these defaults.
 */
export function createS3Client(options: S3ClientConfig = {}): S3Client {
  return new S3Client({
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...options,
  });
}

export class S3ObjectStore implements ObjectStore {
  private readonly client: S3Client;
  private readonly bucket: string;

  constructor({ client, bucket }: S3ObjectStoreOptions) {
    this.client = client;
    this.bucket = bucket;
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    validateObjectKey(key);
    try {
      // No conditional headers: objects are uniquely named (DESIGN §1.2), and a put of an existing key
      // replaces it, as the port says.
      await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: bytes, ContentLength: bytes.byteLength }),
      );
    } catch (error) {
      throw translateS3Error(error, `PutObject of ${key}`, key);
    }
  }

  async get(key: string, range?: RangeOptions): Promise<Uint8Array> {
    validateObjectKey(key);
    validateRangeShape(key, range);
    const start = range?.start;
    const end = range?.end;
    // An empty range reads nothing whatever the object holds; HTTP cannot even express it (bytes=a-b is
    // inclusive), so no request is made — a missing key therefore goes unnoticed here.
    if (end !== undefined && end === (start ?? 0)) return new Uint8Array(0);
    const header =
      start === undefined && end === undefined
        ? undefined
        : `bytes=${start ?? 0}-${end === undefined ? '' : end - 1}`;
    try {
      const response = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: header }),
      );
      // S3 clamps an end past the object size itself, so the body already is [start, min(end, size)).
      return (await response.Body?.transformToByteArray()) ?? new Uint8Array(0);
    } catch (error) {
      // `bytes=0-n` is unsatisfiable only on an empty object; the port reads an empty object whole
      // when no start was given (as resolveRange does), so that is an empty result, not an error.
      if (start === undefined && isInvalidRange(error)) return new Uint8Array(0);
      throw translateS3Error(error, `GetObject of ${key}${header === undefined ? '' : ` (${header})`}`, key);
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    // Validate every key before deleting any, so a bad key deletes nothing.
    for (const key of keys) validateObjectKey(key);
    for (let i = 0; i < keys.length; i += MAX_DELETE_BATCH) {
      const chunk = keys.slice(i, i + MAX_DELETE_BATCH);
      const what = `DeleteObjects of ${chunk.length} keys from ${chunk[0]}`;
      let errors: readonly { Key?: string; Code?: string }[];
      try {
        // Quiet: S3 reports only the keys it failed to delete, keeping the response small.
        const response = await this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: chunk.map((key) => ({ Key: key })), Quiet: true },
          }),
        );
        errors = response.Errors ?? [];
      } catch (error) {
        throw translateS3Error(error, what);
      }
      // DeleteObjects answers 200 even when some keys failed (often InternalError/SlowDown per key).
      // Deleting is idempotent and missing keys are no error, so the caller may safely retry all keys.
      const first = errors[0];
      if (first !== undefined) {
        throw new StreamError(
          'UNAVAILABLE',
          `S3 ${what}: ${errors.length} of ${chunk.length} keys were not deleted (first: ${first.Key} ${first.Code})`,
        );
      }
    }
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    validatePrefix(prefix);
    const limit = listLimit(options);
    try {
      const response = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix === '' ? undefined : prefix,
          StartAfter: options.startAfter,
          MaxKeys: limit,
        }),
      );
      const objects: ObjectInfo[] = (response.Contents ?? []).map((object) => ({
        key: object.Key ?? '',
        size: object.Size ?? 0,
      }));
      // The last key is the port's cursor (StartAfter), rather than S3's opaque continuation token, so
      // every adapter pages the same way.
      const last = objects.at(-1)?.key;
      return response.IsTruncated && last !== undefined ? { objects, next: last } : { objects };
    } catch (error) {
      throw translateS3Error(error, `ListObjectsV2 of prefix ${JSON.stringify(prefix)}`);
    }
  }
}

const THROTTLING_CODES: ReadonlySet<string> = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
]);

/** Faults of the connection rather than of the request: another attempt may well succeed. */
const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  $metadata?: { httpStatusCode?: number };
  $retryable?: { throttling?: boolean };
}

function shape(error: unknown): SdkErrorShape {
  return typeof error === 'object' && error !== null ? (error as SdkErrorShape) : {};
}

function isInvalidRange(error: unknown): boolean {
  const { name, $metadata } = shape(error);
  return name === 'InvalidRange' || $metadata?.httpStatusCode === 416;
}

/**
 * The one place S3 failures become StreamErrors. `key` is given for single-object calls only: there a
 * 404 means the object is missing, while for a listing or a batch delete it can only mean the bucket.
 */
function translateS3Error(error: unknown, what: string, key?: string): StreamError {
  if (error instanceof StreamError) return error;
  const { name, code, $metadata, $retryable } = shape(error);
  const status = $metadata?.httpStatusCode;
  // Service errors name their S3 code in `name`; transport errors carry a generic name and a Node `code`.
  const label = typeof code === 'string' ? code : typeof name === 'string' ? name : 'error';
  const message = `S3 ${what} failed: ${label}${status === undefined ? '' : ` (HTTP ${status})`}`;
  // A missing bucket is a deployment fault, not a missing object: reporting it as NOT_FOUND would make
  // readers believe data was lost (or the janitor that it is already gone).
  if (name === 'NoSuchBucket') return new StreamError('INTERNAL', message, { cause: error });
  if (key !== undefined && (name === 'NoSuchKey' || name === 'NotFound' || status === 404))
    return notFound(key, error);
  if (isInvalidRange(error)) return new StreamError('INVALID_ARGUMENT', message, { cause: error });
  // S3 throttles with 503 SlowDown; 429 and the SDK's throttling trait cover other S3-compatible stores.
  if (
    (typeof name === 'string' && THROTTLING_CODES.has(name)) ||
    status === 429 ||
    status === 503 ||
    $retryable?.throttling
  ) {
    return new StreamError('THROTTLED', message, { cause: error });
  }
  if (
    (status !== undefined && status >= 500) ||
    (typeof name === 'string' && TRANSIENT_CODES.has(name)) ||
    (typeof code === 'string' && TRANSIENT_CODES.has(code))
  ) {
    return new StreamError('UNAVAILABLE', message, { cause: error });
  }
  return new StreamError('INTERNAL', message, { cause: error });
}

/**
 * Creates the bucket if it does not exist. For the local server's `--backend aws` against emulators
 * and LocalStack, and for tests; production buckets come from the CDK stack.
 */
export async function ensureBucket(client: S3Client, bucket: string): Promise<void> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    return;
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status !== 404)
      throw new StreamError('UNAVAILABLE', `bucket ${bucket} cannot be reached`, { cause: error });
  }
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    const name = (error as Error).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') {
      throw new StreamError('UNAVAILABLE', `bucket ${bucket} could not be created`, { cause: error });
    }
  }
}
