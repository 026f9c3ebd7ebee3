/** Command-line flags and what each mode runs. */
import { clientOptions } from '../client/cli/commands.ts';
import type { TransportOptions } from '../client/transport.ts';
import { KiB, MiB } from './stats.ts';

export type Mode = 'quick' | 'full';
/** `remote`: a server reached by --url, whatever it runs on. */
export type BackendKind = 'embedded' | 'memory' | 'aws' | 'remote';

export interface ProduceConfig {
  /** Bytes of each record's value (keys are null, no headers). */
  recordBytes: number;
  /** Target size of the binary produce body; it holds as many records as fit (at least one). */
  requestBytes: number;
  /** Producers in flight; each owns one partition of the topic. */
  concurrency: number;
}

export interface BenchPlan {
  mode: Mode;
  backend: BackendKind;
  /** Repetitions of every produce configuration and read-back dataset, each on a fresh topic. */
  runs: number;
  produce: {
    configs: ProduceConfig[];
    /** The configuration whose numbers are the headline `produce.*` of latest.json. */
    headline: ProduceConfig;
    /** Payload per run, bounded below and above by a number of requests. */
    volumeBytes: number;
    minRequests: number;
    maxRequests: number;
  };
  readBack: {
    /** Produce request sizes of the datasets written then read back (cost per GiB comes from these). */
    requestSizes: number[];
    recordBytes: number;
    volumeBytes: number;
    minRequests: number;
    /** max_bytes of the warm reads; the cold read and the cost use the first. */
    maxBytes: number[];
    /** Dataset and max_bytes of the headline `fetch.*`. */
    headlineRequestBytes: number;
  };
  logLength: {
    shortBatches: number;
    longBatches: number;
    /** Fetches per position (head, tail) per log. */
    samples: number;
    /** Small, so every read does the same work whatever the log length. */
    maxBytes: number;
  };
  endToEnd: { messages: number; recordBytes: number };
  /** A server reached by --url (the `remote` backend): where and how to authenticate. */
  target?: TransportOptions;
  /** `--stack local`: the synthesized stack run offline, with this API flavor (bench/stack.ts). */
  stack?: { api: 'http' | 'rest' };
  /** Invocations of each Lambda handler with a maximal request (scenarios/lambda-memory.ts); 0 skips it. */
  lambdaMemory: { requests: number };
  /** `--profile`: CPU profiles of both processes during the headline phases (bench/profiler.ts). */
  profile?: boolean;
}

export const USAGE = `Usage: npm run bench -- [--quick] [--backend embedded|memory|aws] [--profile]
       npm run bench -- [--quick] --url URL [--token T | --aws-region R]
       npm run bench -- [--quick] --stack local [--api http|rest]

  --quick            representative subset, about 3.5 minutes on 2 cores
                     (default: full mode, all sizes and concurrencies, about 25 minutes)
  --backend KIND     embedded (default): SQLite + files in a temporary directory
                     memory: everything in the server's memory (its RSS then includes the data)
                     aws: DynamoDB + S3 through the AWS adapters, on DynamoDB Local and s3rver
                     started for the run (needs java), or on LocalStack if AWS_ENDPOINT_URL is set
  --profile          CPU-profile the client process and the server process during the headline
                     produce and cold fetch phases: .cpuprofile files, flame graphs (.svg) and
                     summaries in bench/results/profiles/, tables in report.md. Profiling slows
                     those phases, so the run's numbers are not comparable with unprofiled runs
  --url URL          measure a server that is already running (a deployed stack, or one started
                     by hand) through the SDK instead: produce, read back and end to end only, into
                     bench/results/remote.json and remote.md (storage counts, cost, memory and the
                     local baselines need the bench's own server). It writes real data (full mode:
                     about 3.6 GiB, billed as usual on AWS) into topics it deletes at the end
  --stack local      synthesize the CDK app and run its bundles offline (npm run stack:local) on
                     DynamoDB Local and s3rver, then measure it like --url, plus a check that no
                     Lambda response exceeds 6 MB after compaction: bench/results/stack[-rest].json, .md
  --api http|rest    the API flavor of --stack local (default http)
  --token T          bearer token of that server (STREAMBED_TOKEN)
  --aws-region R     sign with SigV4 from the standard AWS credential chain (automatic for
                     execute-api URLs)
  --help             this text

Starts the local server in a process of its own on port 0 over counting storage wrappers, runs the
scenarios from this process through the SDK, and through Kafka clients (KafkaJS, kcat) on the
server's Kafka listener, and writes bench/results/latest.json, report.md and chart.svg. Progress goes
to stderr.`;

export function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv = {}): BenchPlan | 'help' {
  let mode: Mode = 'full';
  let backend: BackendKind = 'embedded';
  let backendGiven = false;
  const remote: { url?: string; token?: string; 'aws-region'?: string } = {};
  let stack: string | undefined;
  let api: string | undefined;
  let profile = false;
  const flagValue = (name: string, arg: string, i: number): string => {
    const value = arg === `--${name}` ? argv[i + 1] : arg.slice(`--${name}=`.length);
    if (value === undefined || value === '') throw new Error(`--${name} needs a value\n\n${USAGE}`);
    return value;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const flag = arg.split('=')[0];
    if (arg === '--quick') mode = 'quick';
    else if (arg === '--full') mode = 'full';
    else if (arg === '--help' || arg === '-h') return 'help';
    else if (arg === '--profile') profile = true;
    else if (flag === '--backend') {
      const value = flagValue('backend', arg, i);
      if (value !== 'embedded' && value !== 'memory' && value !== 'aws') {
        throw new Error(
          `--backend must be embedded, memory or aws, got ${JSON.stringify(value)}\n\n${USAGE}`,
        );
      }
      backend = value;
      backendGiven = true;
      if (arg === flag) i++;
    } else if (flag === '--stack') {
      stack = flagValue('stack', arg, i);
      if (arg === flag) i++;
    } else if (flag === '--api') {
      api = flagValue('api', arg, i);
      if (arg === flag) i++;
    } else if (flag === '--url' || flag === '--token' || flag === '--aws-region') {
      const name = flag.slice(2) as keyof typeof remote;
      remote[name] = flagValue(name, arg, i);
      if (arg === flag) i++;
    } else {
      throw new Error(`unknown argument ${JSON.stringify(arg)}\n\n${USAGE}`);
    }
  }
  if (profile && (stack !== undefined || api !== undefined || remote.url !== undefined))
    throw new Error(`--profile needs the bench's own server process: not with --url or --stack\n\n${USAGE}`);
  if (stack !== undefined || api !== undefined) {
    if (stack !== 'local')
      throw new Error(`--stack takes local, got ${JSON.stringify(stack ?? '')}\n\n${USAGE}`);
    if (api !== undefined && api !== 'http' && api !== 'rest')
      throw new Error(`--api must be http or rest, got ${JSON.stringify(api)}\n\n${USAGE}`);
    if (backendGiven || Object.keys(remote).length > 0)
      throw new Error(
        `--stack local goes alone: it starts its own stack (no --backend, --url, --token)\n\n${USAGE}`,
      );
    const plan = mode === 'quick' ? quickPlan('remote') : fullPlan('remote');
    return { ...plan, stack: { api: api === 'rest' ? 'rest' : 'http' } };
  }
  if (remote.url === undefined) {
    if (remote.token !== undefined || remote['aws-region'] !== undefined)
      throw new Error(`--token and --aws-region go with --url\n\n${USAGE}`);
    const plan = mode === 'quick' ? quickPlan(backend) : fullPlan(backend);
    return profile ? { ...plan, profile } : plan;
  }
  if (backendGiven)
    throw new Error(
      `--backend and --url do not go together: --url measures a server that runs elsewhere\n\n${USAGE}`,
    );
  if (!URL.canParse(remote.url) || !/^https?:$/.test(new URL(remote.url).protocol)) {
    throw new Error(`--url must be an http(s) URL, got ${JSON.stringify(remote.url)}\n\n${USAGE}`);
  }
  const plan = mode === 'quick' ? quickPlan('remote') : fullPlan('remote');
  return { ...plan, target: clientOptions(remote, env) };
}

const headline: ProduceConfig = { recordBytes: KiB, requestBytes: MiB, concurrency: 4 };

/** Whether `config` is the plan's headline produce configuration. */
export const isHeadline = (config: ProduceConfig, plan: BenchPlan): boolean =>
  config.recordBytes === plan.produce.headline.recordBytes &&
  config.requestBytes === plan.produce.headline.requestBytes &&
  config.concurrency === plan.produce.headline.concurrency;

function quickPlan(backend: BackendKind): BenchPlan {
  const configs: ProduceConfig[] = [];
  for (const requestBytes of [16 * KiB, MiB])
    for (const concurrency of [1, 4]) configs.push({ recordBytes: KiB, requestBytes, concurrency });
  return {
    mode: 'quick',
    backend,
    runs: 3,
    produce: { configs, headline, volumeBytes: 16 * MiB, minRequests: 48, maxRequests: 512 },
    readBack: {
      requestSizes: [16 * KiB, 64 * KiB, MiB, 4 * MiB],
      recordBytes: KiB,
      volumeBytes: 16 * MiB,
      minRequests: 8,
      maxBytes: [MiB, 3 * MiB],
      headlineRequestBytes: MiB,
    },
    logLength: { shortBatches: 1_000, longBatches: 20_000, samples: 100, maxBytes: KiB },
    endToEnd: { messages: 100, recordBytes: 100 },
    lambdaMemory: { requests: 5 },
  };
}

function fullPlan(backend: BackendKind): BenchPlan {
  const configs: ProduceConfig[] = [];
  for (const recordBytes of [100, KiB, 10 * KiB])
    for (const requestBytes of [16 * KiB, 256 * KiB, MiB])
      for (const concurrency of [1, 4, 16]) configs.push({ recordBytes, requestBytes, concurrency });
  return {
    mode: 'full',
    backend,
    runs: 3,
    produce: { configs, headline, volumeBytes: 32 * MiB, minRequests: 64, maxRequests: 2048 },
    readBack: {
      requestSizes: [16 * KiB, 64 * KiB, 256 * KiB, MiB, 4 * MiB],
      recordBytes: KiB,
      volumeBytes: 64 * MiB,
      minRequests: 16,
      maxBytes: [MiB, 3 * MiB],
      headlineRequestBytes: MiB,
    },
    logLength: { shortBatches: 1_000, longBatches: 100_000, samples: 300, maxBytes: KiB },
    endToEnd: { messages: 300, recordBytes: 100 },
    lambdaMemory: { requests: 20 },
  };
}

/** Framing of one record in the binary produce body without key or headers (client/wire/binary.ts). */
const BINARY_RECORD_OVERHEAD = 4 + 8 + 4 + 4 + 4;

/** Records of `recordBytes` that fit a binary produce body of `requestBytes` (at least one). */
export function recordsPerRequest(recordBytes: number, requestBytes: number): number {
  return Math.max(1, Math.floor((requestBytes - 4) / (recordBytes + BINARY_RECORD_OVERHEAD)));
}
