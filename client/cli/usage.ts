/**
 * The CLI's usage text, per command and subcommand: `streambed --help` prints all of it,
 * `streambed <command> [<subcommand>] --help` that command's (or subcommand's) part.
 */

/** Each command: its subcommands' lines in order (the key '' holds a command without subcommands). */
const COMMANDS: Record<string, Record<string, string>> = {
  topics: {
    create: 'topics create <name> [--partitions N] [--config key=value ...]',
    list: 'topics list',
    describe: 'topics describe <name>',
    alter: 'topics alter <name> [--partitions N] [--config key=value ...]',
    delete: 'topics delete <name>',
    offsets: `topics offsets <name> [--timestamp MS]   per partition: log start, high watermark, and with
          --timestamp the first offset at or after MS (epoch ms)`,
    'delete-records': `topics delete-records <name> --offset N|end [--partition P]   the log starts at N from now
          on (end, or --offset=-1: the high watermark, every record so far); default: every partition`,
  },
  produce: {
    '': `produce <topic>   one record per stdin line
          [--key-separator SEP]        the line's text before SEP is the key
          [--partition N]              every record to partition N (default: by key, else spread)
          [--header name=value ...]    a header on every record (repeatable)
          [--timestamp MS]             every record's timestamp, epoch ms (default: now)
          [--value-schema-file FILE [--subject S]]   lines are JSON records of this Avro schema, registered
                                       under S (default <topic>-value), sent as Confluent Avro`,
  },
  consume: {
    '': `consume <topic>   one value per stdout line
          [--group G]                  read as a member of group G, committing its position
          [--partition N | -p N]       read partition N only (default: every partition)
          [--offset O | -o O]          where to start without --group: N, beginning, end (default), or @MS
                                       (the first record at or after epoch ms MS)
          [--from-beginning]           same as --offset beginning; with --group, where a new group starts
          [--max-messages N | -c N]    stop after N records
          [--exit-at-end | -e]         stop at the end of every partition read (without --group)
          [--format FMT | -f FMT]      print each record as FMT (no newline added): %s value, %k key,
                                       %t topic, %p partition, %o offset, %T timestamp (epoch ms),
                                       %h headers (name=value,name2=value2), \\n newline, \\t tab
          [--avro]                     decode Confluent Avro values, print them as JSON`,
  },
  groups: {
    list: 'groups list',
    describe: 'groups describe <group>',
    delete: 'groups delete <group>   its committed offsets; only while it has no live members',
    'reset-offsets': `groups reset-offsets <group> --topic T (--to-earliest | --to-latest | --to-offset N |
          --to-timestamp MS) [--partitions 0,1,...]   only while the group has no live members`,
  },
  subscriptions: {
    create: `subscriptions create <name> --topic T (--target-url U | --target-function F)   deliver T's records
          [--batch-size N] [--batching-window-ms N] [--max-retry-attempts N --dead-letter-topic T]
          [--bisect] [--from earliest|latest|<epoch-ms>] [--disabled]`,
    list: 'subscriptions list',
    describe: 'subscriptions describe <name>',
    pause: 'subscriptions pause <name>',
    resume: 'subscriptions resume <name>',
    delete: 'subscriptions delete <name>',
  },
  bench: {
    '': 'bench [--quick] [--backend embedded|memory|aws] [--url URL]   throughput, latency, $/GiB (bench --help: all)',
  },
  start: {
    '': `start     run a local Streambed server
            --port N (8080)  --host H (127.0.0.1)  --data-dir DIR (./.streambed)  --memory
            --no-fsync: do not fsync writes to DIR (faster; a power loss, not a crash, may lose
            the last seconds of acknowledged records, see docs/reliability.md)
            --backend embedded|aws  --token T (or STREAMBED_TOKEN)
            --kafka-port N (9092; 0 = a free port)  --no-kafka  --kafka-advertised-host H (--host):
            the Kafka protocol listener, for Kafka clients (with a token: SASL/PLAIN, password T)
            --janitor-interval-ms N (5000; 0 = off): retention, compaction, garbage collection
            --log-level debug|info|warn|error|silent (warn, or STREAMBED_LOG_LEVEL): JSON lines on
            stderr; info adds one per request. GET /metrics: Prometheus metrics (needs the token too)
            with --backend aws: STREAMBED_TABLE (streambed), STREAMBED_BUCKET (streambed-local),
            AWS_REGION, AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_DYNAMODB + AWS_ENDPOINT_URL_S3
            (emulators such as LocalStack: the table and bucket are created if missing)`,
  },
  'kafka-gateway': {
    '': `kafka-gateway --backend aws|embedded   the Kafka protocol listener alone (no HTTP API); run
            several over one backend: each lists all of them to clients as brokers
            --kafka-port N (9092; 0 = a free port)  --host H (127.0.0.1)  --kafka-advertised-host H
            (--host)  --token T (or STREAMBED_TOKEN; required off loopback): SASL/PLAIN, password T
            --kafka-internal-host H (or STREAMBED_KAFKA_INTERNAL_HOST; default --host, for 0.0.0.0
            the first private IPv4): where the other gateways forward group requests to this one
            --log-level debug|info|warn|error|silent (warn, or STREAMBED_LOG_LEVEL)
            with --backend aws: the environment of start --backend aws (STREAMBED_TABLE,
            STREAMBED_BUCKET, AWS_REGION, AWS_ENDPOINT_URL...); with embedded: --data-dir DIR, --memory`,
  },
  handler: {
    serve: `handler serve <module>[#<export>]   host a Lambda handler (export default: handler) at a local URL,
            to give a subscription as its target while you develop the function
            --port N (9000)  --host H (127.0.0.1)  --timeout-ms N (3000, per invocation)`,
  },
  console: {
    '': `console --url <ApiUrl>   the web console for a deployed stack, on this machine; its API
            calls are signed here with your AWS credentials (the standard chain: AWS_ACCESS_KEY_ID and
            AWS_SECRET_ACCESS_KEY, AWS_PROFILE, SSO, a role), which need execute-api:Invoke on the API
            --region R (the execute-api host name's, else AWS_REGION)  --port N (8081)
            --host H (127.0.0.1; anything else lets whoever reaches it call the API as you)`,
  },
};

const CLIENT_OPTIONS = `client options (every command but start, kafka-gateway, handler serve and console):
  --url URL         the API (STREAMBED_URL, default http://127.0.0.1:8080)
  --token T         bearer token of a local server (STREAMBED_TOKEN)
  --aws-region R    sign requests with SigV4 from the standard AWS credential chain (automatic for
                    execute-api URLs)`;

const indent = (text: string) => text.replace(/^/gm, '  ');

export const USAGE = `usage: streambed <command> [options]   (streambed <command> --help for one command)

commands:
${Object.values(COMMANDS)
  .map((subcommands) => indent(Object.values(subcommands).join('\n')))
  .join('\n')}

${CLIENT_OPTIONS}`;

/** Commands that run a server: the client options do not apply to them. */
const SERVER_SIDE: ReadonlySet<string> = new Set(['start', 'kafka-gateway', 'handler', 'console']);

export const isCommand = (command: string): boolean => Object.hasOwn(COMMANDS, command);

/** The usage of one command, or of one of its subcommands when it names one. */
export function commandUsage(command: string, subcommand?: string): string {
  const subcommands = COMMANDS[command];
  if (subcommands === undefined) return USAGE;
  const one = subcommand === undefined ? undefined : subcommands[subcommand];
  const lines = one ?? Object.values(subcommands).join('\n');
  const client = SERVER_SIDE.has(command) ? '' : `\n\n${CLIENT_OPTIONS}`;
  return `usage: streambed ${lines.replace(/\n/g, '\n  ')}${client}`;
}
