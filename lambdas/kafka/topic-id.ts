/**
 * Kafka's topic ids are 16-byte UUIDs; Streambed's are ULIDs (26 Crockford base32 characters, the
 * same 128 bits). One maps onto the other without loss, so a topic keeps one id on both APIs.
 */
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** The topic id as Kafka's 32 hex digits (the codec's uuid form). */
export function kafkaTopicId(ulid: string): string {
  let value = 0n;
  for (const char of ulid.toUpperCase()) {
    const digit = CROCKFORD.indexOf(char);
    if (digit === -1) throw new Error(`topic id ${ulid} is not a ULID`);
    value = value * 32n + BigInt(digit);
  }
  return value.toString(16).padStart(32, '0');
}
