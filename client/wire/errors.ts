/**
 * The one error the wire codecs throw (record batches, varints, binary produce bodies). The client and
 * the server both run these codecs, and each translates this error into its own family at its
 * boundary: the server into a StreamError with the same code, message and details
 * (lambdas/core/errors.ts, `fromWireError`), so HTTP answers are what they would be for any other
 * INVALID_REQUEST; the SDK lets it surface as is.
 *
 * Neither code is retriable: the same bytes fail the same way every time.
 * - INVALID_REQUEST: the caller handed the encoder something the grammar cannot express, or a produce
 *   body broke its grammar (a 400 on the server).
 * - CORRUPT_DATA: bytes failed their checksum or could not be decoded.
 */

export type WireErrorCode = 'INVALID_REQUEST' | 'CORRUPT_DATA';

export class WireError extends Error {
  readonly code: WireErrorCode;
  readonly retriable = false;
  /** Facts about where decoding failed (e.g. `position`, the byte offset). */
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: WireErrorCode,
    message: string,
    options: { details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WireError';
    this.code = code;
    this.details = options.details;
  }
}
