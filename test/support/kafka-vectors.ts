/**
 * murmur2 values of string keys from Apache Kafka's own tests
 * (clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java, testMurmur2).
 * Tail lengths covered: 2 ("21", "foobar", "…longer-string"), 3 ("abc"), 0 (the 24- and 48-byte keys).
 */
export const KAFKA_MURMUR2_VECTORS: readonly [key: string, murmur2: number][] = [
  ['21', -973932308],
  ['foobar', -790332482],
  ['a-little-bit-long-string', -985981536],
  ['a-little-bit-longer-string', -1486304829],
  ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
  ['abc', 479470107],
];
