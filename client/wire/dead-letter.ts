/**
 * Dead letters: a record that could not be processed, copied to a dead-letter topic with headers
 * naming where it came from and why it failed. Subscriptions (DESIGN §12) and the SDK consumer's
 * `deadLetterTopic` write the same headers, so one tool reads both.
 */

/** Header names a dead letter carries besides the record's own headers. */
export const DEAD_LETTER_HEADERS = {
  topic: 'streambed-dlt-topic',
  partition: 'streambed-dlt-partition',
  offset: 'streambed-dlt-offset',
  attempts: 'streambed-dlt-attempts',
  error: 'streambed-dlt-error',
} as const;

/** The last error is cut to this many characters in its header. */
export const DEAD_LETTER_ERROR_CHARS = 1_000;

/** The provenance headers of one dead letter, as text. */
export function deadLetterHeaders(source: {
  topic: string;
  partition: number;
  offset: number;
  attempts: number;
  error: string;
}): Record<string, string> {
  return {
    [DEAD_LETTER_HEADERS.topic]: source.topic,
    [DEAD_LETTER_HEADERS.partition]: String(source.partition),
    [DEAD_LETTER_HEADERS.offset]: String(source.offset),
    [DEAD_LETTER_HEADERS.attempts]: String(source.attempts),
    [DEAD_LETTER_HEADERS.error]: source.error.slice(0, DEAD_LETTER_ERROR_CHARS),
  };
}
