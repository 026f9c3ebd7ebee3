/**
 * The one price table of the bench: AWS list prices, us-east-1 (N. Virginia), on-demand, no free tier.
 * Every cost the bench reports is computed from these numbers and the requests it counted, nowhere else.
 *
 * `checked` is the day the price was taken; `evidence` says how: the AWS page is the source of record,
 * and where the bench's search tool only found the AWS page without its (script-rendered) rate table,
 * the rate is from knowledge and corroborated by the third-party page named. Update a price here and
 * rerun the bench; nothing else needs to change.
 */

export interface Price {
  /** The list price in US dollars, for `per` units (as the price page states it: "$0.005 per 1,000"). */
  usd: number;
  per: number;
  unit: string;
  source: string;
  checked: string;
  evidence: string;
}

const CHECKED = '2026-11-25';

export const PRICES = {
  s3PutRequest: {
    usd: 0.005,
    per: 1000,
    unit: 'PUT, COPY, POST or LIST request (S3 Standard)',
    source: 'https://aws.amazon.com/s3/pricing/',
    checked: CHECKED,
    evidence:
      '$0.005 per 1,000 PUT/COPY/POST/LIST requests; corroborated by https://c3x.dev/blog/s3-request-fees-explained',
  },
  s3GetRequest: {
    usd: 0.0004,
    per: 1000,
    unit: 'GET, SELECT or other request (S3 Standard)',
    source: 'https://aws.amazon.com/s3/pricing/',
    checked: CHECKED,
    evidence: '$0.0004 per 1,000 GET/SELECT requests; same corroboration',
  },
  s3DeleteRequest: {
    usd: 0,
    per: 1,
    unit: 'DELETE request',
    source: 'https://aws.amazon.com/s3/pricing/',
    checked: CHECKED,
    evidence: 'DELETE and CANCEL requests are free',
  },
  dynamoWriteRequestUnit: {
    usd: 0.625,
    per: 1_000_000,
    unit: 'write request unit (on-demand, Standard table class)',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    checked: CHECKED,
    evidence:
      '$0.625 per million WRU after the 1 Nov 2024 on-demand price cut; corroborated by https://airbyte.com/data-engineering-resources/dynamodb-pricing',
  },
  dynamoReadRequestUnit: {
    usd: 0.125,
    per: 1_000_000,
    unit: 'read request unit (on-demand, Standard table class)',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    checked: CHECKED,
    evidence: '$0.125 per million RRU; same corroboration',
  },
  apiGatewayHttpRequest: {
    usd: 1.0,
    per: 1_000_000,
    unit: 'HTTP API request, metered per 512 KB (first 300 million a month)',
    source: 'https://aws.amazon.com/api-gateway/pricing/',
    checked: CHECKED,
    evidence:
      '$1.00 per million; "HTTP API requests are metered in 512 KB increments"; corroborated by https://www.stormit.cloud/blog/amazon-api-gateway-pricing',
  },
  lambdaRequest: {
    usd: 0.2,
    per: 1_000_000,
    unit: 'Lambda invocation (x86 and arm64 alike)',
    source: 'https://aws.amazon.com/lambda/pricing/',
    checked: CHECKED,
    evidence: '$0.20 per million requests; corroborated by https://cloudchipr.com/blog/aws-lambda-pricing',
  },
  lambdaArmGbSecond: {
    usd: 0.0000133334,
    per: 1,
    unit: 'GB-second of arm64 duration (first 7.5 billion GB-s a month)',
    source: 'https://aws.amazon.com/lambda/pricing/',
    checked: CHECKED,
    evidence: '$0.0000133334 per GB-s on Arm; same corroboration',
  },
  kinesisStreamHour: {
    usd: 0.04,
    per: 1,
    unit: 'on-demand stream-hour',
    source: 'https://aws.amazon.com/kinesis/data-streams/pricing/',
    checked: CHECKED,
    evidence: 'from knowledge: the search returned the AWS page without its rendered rate table',
  },
  kinesisGbIngested: {
    usd: 0.08,
    per: 1,
    unit: 'GB ingested, on-demand (each record rounded up to 1 KB)',
    source: 'https://aws.amazon.com/kinesis/data-streams/pricing/',
    checked: CHECKED,
    evidence: 'from knowledge, as above',
  },
  kinesisGbRetrieved: {
    usd: 0.04,
    per: 1,
    unit: 'GB retrieved, on-demand (shared-throughput consumers)',
    source: 'https://aws.amazon.com/kinesis/data-streams/pricing/',
    checked: CHECKED,
    evidence: 'from knowledge, as above',
  },
  mskServerlessClusterHour: {
    usd: 0.75,
    per: 1,
    unit: 'MSK Serverless cluster-hour',
    source: 'https://aws.amazon.com/msk/pricing/',
    checked: CHECKED,
    evidence:
      'from knowledge; corroborated by https://gist.github.com/EverettBerry/d24aa940ad43c313803248cea6366682',
  },
  mskServerlessPartitionHour: {
    usd: 0.0015,
    per: 1,
    unit: 'MSK Serverless partition-hour',
    source: 'https://aws.amazon.com/msk/pricing/',
    checked: CHECKED,
    evidence: 'same',
  },
  mskServerlessGbIn: {
    usd: 0.1,
    per: 1,
    unit: 'GB written (data in)',
    source: 'https://aws.amazon.com/msk/pricing/',
    checked: CHECKED,
    evidence: 'same',
  },
  mskServerlessGbOut: {
    usd: 0.05,
    per: 1,
    unit: 'GB read (data out)',
    source: 'https://aws.amazon.com/msk/pricing/',
    checked: CHECKED,
    evidence: 'same',
  },
} as const satisfies Record<string, Price>;

/** US dollars for one unit of a price. */
export const unitPrice = (price: Price): number => price.usd / price.per;

/**
 * What the comparison assumes. The competitors charge by the hour as well as by the byte, so their
 * cost per GiB depends on how fast the GiB moves; the rate is kept modest but not tiny (a faster rate
 * makes them cheaper per GiB, which makes the comparison harder for Streambed, not easier).
 */
export const ASSUMPTIONS = {
  /** Sustained write rate while the GiB moves; hourly charges are prorated over that time. */
  sustainedMiBPerSec: 4,
  /** MSK Serverless topic partitions running meanwhile. */
  mskPartitions: 4,
  /** One Kinesis on-demand stream. */
  kinesisStreams: 1,
  /** Memory of every Streambed Lambda (DESIGN §10: every Lambda fits 512 MB). */
  lambdaMemoryGb: 0.5,
  /** API Gateway HTTP API metering increment. */
  apiGatewayMeterBytes: 512 * 1024,
  notes: [
    'All prices are us-east-1 on-demand list prices without free tiers, savings plans or volume tiers.',
    'A "GB" in AWS per-GB prices is taken as 2^30 bytes (GiB).',
    'Excluded everywhere: storage at rest (S3, DynamoDB, Kinesis beyond 24 h, MSK), data transfer, CloudWatch. Streambed keeps data in S3 at $0.023/GB-month, Kinesis 24 h for free, MSK at $0.10/GB-month.',
    'Streambed has no hourly charge: with no traffic it costs nothing but storage.',
    'Kinesis records are 1 KiB in the bench, so the 1 KB per-record rounding of data-in adds nothing.',
    'Lambda duration is an estimate: measured in-process request latency x 512 MB. On AWS, S3 and DynamoDB round trips make invocations longer; the report shows the cost at 100 ms per invocation as a sensitivity check.',
  ],
} as const;
