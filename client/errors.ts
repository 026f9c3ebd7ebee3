/**
 * The SDK's error family: what the server answered, translated once. Every error says whether it is
 * `retriable`; the producer and consumer decide retries from that flag alone.
 */
export class StreambedError extends Error {
  readonly code: string;
  readonly retriable: boolean;
  /** HTTP status, when the error came from a response. */
  readonly status: number | undefined;
  /** Extra fields of the error body (e.g. the valid offset range, offsets that did commit). */
  readonly details: Record<string, unknown>;

  constructor(
    code: string,
    message: string,
    options: {
      retriable?: boolean;
      status?: number;
      details?: Record<string, unknown>;
      cause?: unknown;
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StreambedError';
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.status = options.status;
    this.details = options.details ?? {};
  }
}
