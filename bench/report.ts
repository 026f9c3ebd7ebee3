/** bench/results/report.md: the DESIGN §10 targets next to the measured numbers, then the details. */
import type { CpuPerMiB } from './cpu.ts';
import {
  PEER_CPU_HEADS,
  PEER_CPU_INTRO,
  PEER_HEADS,
  peerCpuRows,
  peerIntro,
  peerRows,
} from './peers/table.ts';
import type { BenchPlan } from './plan.ts';
import { ASSUMPTIONS, PRICES } from './prices.ts';
import type { ProfileSummary } from './profile.ts';
import { profiledProcessName, SAMPLING_INTERVAL_US } from './profiler.ts';
import type { Baseline, BenchResults, RemoteResults, TargetCheck } from './results.ts';
import type { EndToEndResult } from './scenarios/end-to-end.ts';
import { formatBytes, round } from './stats.ts';

const usd = (value: number) => (Number.isFinite(value) ? `$${value.toFixed(4)}` : 'n/a');
const cell = (text: string | number) => String(text).replaceAll('|', '\\|');

function table(header: string[], rows: (string | number)[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`),
  ].join('\n');
}

/** The cells every produce table starts with (PRODUCE_HEADS). */
function produceCells(c: RemoteResults['produce']['configs'][number]): (string | number)[] {
  return [
    formatBytes(c.recordBytes),
    formatBytes(c.requestBytes),
    c.concurrency,
    c.recordsPerRequest,
    c.mibPerSec,
    c.recordsPerSec,
    c.latency.p50Ms,
    c.latency.p99Ms,
  ];
}

/** The cells every read-back table starts with: dataset, cold MiB/s and latency, warm MiB/s. */
function readBackCells(d: RemoteResults['fetch']['datasets'][number]): (string | number)[] {
  return [
    `${formatBytes(d.requestBytes)} requests`,
    d.cold.mibPerSec,
    d.cold.latency.p50Ms,
    d.cold.latency.p99Ms,
    ...d.warm.map((w) => w.mibPerSec),
  ];
}

function endToEndTable(endToEnd: EndToEndResult): string {
  return table(
    ['measure', 'p50 ms', 'p99 ms'],
    [
      ['send → consumer has it', endToEnd.sendToReceive.p50Ms, endToEnd.sendToReceive.p99Ms],
      ['producer ack → consumer has it', endToEnd.ackToReceive.p50Ms, endToEnd.ackToReceive.p99Ms],
      ['produce request (ack)', endToEnd.produceAck.p50Ms, endToEnd.produceAck.p99Ms],
    ],
  );
}

const PRODUCE_HEADS = [
  'record',
  'request',
  'producers',
  'records/request',
  'MiB/s',
  'records/s',
  'p50 ms',
  'p99 ms',
];

/** The command line that reproduces a run of `plan`. */
export function benchCommand(plan: Pick<BenchPlan, 'mode' | 'backend' | 'profile'>): string {
  const flags = [
    ...(plan.mode === 'quick' ? ['--quick'] : []),
    ...(plan.backend === 'embedded' ? [] : [`--backend ${plan.backend}`]),
    ...(plan.profile === true ? ['--profile'] : []),
  ];
  return flags.length === 0 ? 'npm run bench' : `npm run bench -- ${flags.join(' ')}`;
}

/** Kafka clients on the server's Kafka listener, next to the SDK headlines of the same run. */
function kafkaSection(results: BenchResults): string[] {
  const { kafka, produce, fetch } = results;
  if ('skipped' in kafka) return [`Skipped: ${kafka.skipped}.`];
  const kafkaProduce = kafka.produce;
  const rows: (string | number)[][] = [
    [
      'produce',
      'Streambed SDK (binary produce over HTTP)',
      produce.mibPerSec,
      produce.recordsPerSec,
      produce.p50Ms,
      produce.p99Ms,
      '1',
    ],
    [
      'produce',
      `${kafkaProduce.client} (Produce, acks -1, no compression)`,
      kafkaProduce.mibPerSec,
      kafkaProduce.recordsPerSec,
      kafkaProduce.p50Ms,
      kafkaProduce.p99Ms,
      `**${kafkaProduce.ratioVsSdk}**`,
    ],
    [
      'fetch',
      'Streambed SDK (binary fetch over HTTP), cold',
      fetch.mibPerSec,
      '',
      fetch.p50Ms,
      fetch.p99Ms,
      '1',
    ],
    'skipped' in kafka.fetch
      ? ['fetch', 'kcat', `skipped: ${kafka.fetch.skipped}`, '', '', '', '']
      : [
          'fetch',
          `${kafka.fetch.client} (Fetch)`,
          kafka.fetch.mibPerSec,
          kafka.fetch.recordsPerSec,
          '',
          '',
          `**${kafka.fetch.ratioVsSdk}**`,
        ],
    [
      'fetch',
      `${kafka.kafkajsConsumer.client} consumer (Fetch, after a join of ${kafka.kafkajsConsumer.joinMs} ms)`,
      kafka.kafkajsConsumer.mibPerSec,
      kafka.kafkajsConsumer.recordsPerSec,
      '',
      '',
      `**${kafka.kafkajsConsumer.ratioVsSdk}**`,
    ],
  ];
  const details = kafkaProduce.details;
  const lines = [
    `The server's Kafka listener (DESIGN §13) on a free port, measured in the same run as the SDK. Produce: ${details.producers} KafkaJS producers, each sending ${details.recordsPerSend} records of ${formatBytes(details.recordBytes)} (${formatBytes(details.payloadBytesPerSend)}) per \`send\` to a partition of its own — one Produce request per \`send\` — ${details.sendsPerRun} sends per run, ${details.runs.length} runs on fresh topics; latency is per \`send\`; ${kafkaProduce.objectPutsPerProduceRequest} S3 PUT per Produce request. Fetch: kcat reads each topic just written from the beginning to the end of every partition once, timed from spawn to exit; its fetch.wait.max.ms is short because it learns each partition's end from an empty Fetch, which the listener holds that long (as a Kafka broker does), while the SDK's read stops at the high watermark. Then a KafkaJS consumer of a fresh group reads the same topic from the beginning (maxBytes ${formatBytes(kafka.kafkajsConsumer.details.maxBytes)}), timed from the moment it joined the group to its last record.`,
    '',
    table(['path', 'client', 'MiB/s', 'records/s', 'p50 ms', 'p99 ms', 'ratio to SDK'], rows),
  ];
  if (!('skipped' in kafka.fetch)) lines.push('', `kcat command: \`${kafka.fetch.details.command}\`.`);
  return lines;
}

/** The produce and fetch headlines as ratios of each baseline of the same bytes. */
function baselinesSection(results: BenchResults): string[] {
  const { produce, fetch } = results;
  const rows = (path: string, streambed: number, baselines: Record<string, Baseline>) =>
    Object.values(baselines).map((b) => [path, b.what, b.mibPerSec, streambed, `**${b.ratio}**`]);
  return [
    '## Baselines',
    '',
    `The headlines next to the same bytes moved without Streambed, measured in the same runs (medians over runs; each transport baseline is a warm-up pass then 3 passes per client, median). Bare HTTP: a node:http server with nothing behind it in a process of its own (it counts a POST's bytes and drops them; it answers a GET from one buffer allocated at start), reached through the SDK's own client (node:http with a keep-alive agent, client/http-exchange.ts) and through the global fetch (undici), with the same bodies at the same concurrency, from the process that sends Streambed's requests, the client process, a process of its own like an application's (produce: ${produce.headline.concurrency} in flight; fetch: the cold read's response sizes one at a time, as its one consumer reads). Store-only: the headline's SDK producers, same records, sent by the client process to that bare server's produce route, which receives each body as the local server does, splits its frames (no CRC, no record walked), writes it into a fresh file as the fs object store writes an object (its fsyncs included) and answers one offset per record: no metadata, no idempotency, no object format — what producing these records durably costs with no log behind the route. Raw: the same payload as one file per request, written as the fs object store writes or plainly written and fsynced, and read back whole.`,
    '',
    table(
      ['headline', 'baseline', 'baseline MiB/s', 'Streambed MiB/s', 'Streambed / baseline'],
      [
        ...rows('produce', produce.mibPerSec, produce.baselines),
        ...rows('fetch (cold)', fetch.mibPerSec, fetch.baselines),
      ],
    ),
    '',
    ...cpuTable(results),
    ...rawWriteTable(results),
  ];
}

/** The raw writes' CPU per MiB beside the server's: what storing the bytes costs by itself. */
function rawWriteTable(results: BenchResults): string[] {
  const raw = results.produce.rawWrites;
  if (raw === undefined) return [];
  const server = results.produce.cpu?.streambed;
  const row = (what: string, m: { mibPerSec: number; cpu: { ms: number; systemMs: number } }) => [
    what,
    m.mibPerSec,
    `${m.cpu.ms} (${m.cpu.systemMs})`,
  ];
  return [
    `Storing the bytes by itself: the produce headline's payload written by the bench process alone, at the same concurrency, with no HTTP and no Streambed (CPU per MiB of that process, the kernel's share in brackets). Fresh files are what a log writes; rewriting one file per writer reuses page-cache pages the kernel has just freed.${server === undefined ? '' : ` Streambed's server spent ${server.serverMs} ms per MiB (${server.serverSystemMs} kernel) in the same run.`}`,
    '',
    table(
      ['raw write of the same bytes', 'MiB/s', 'CPU ms/MiB'],
      [
        row('fresh files, as the fs object store writes them', raw.freshLikeStore),
        row('one file per writer rewritten (write + fsync)', raw.rewrite),
      ],
    ),
    '',
  ];
}

/**
 * CPU per MiB of each headline and of its bare transport (bench/cpu.ts): user + system time of all
 * threads of the server process (and of its main thread alone) and of the client process, per MiB of
 * payload, and the share of the cores they kept busy together. A run near 100% busy is CPU-bound.
 */
function cpuTable(results: BenchResults): string[] {
  const { produce, fetch } = results;
  const row = (path: string, what: string, m: CpuPerMiB) => [
    path,
    what,
    `${m.serverMs} (${m.serverSystemMs})`,
    m.serverMainThreadMs ?? '—',
    `${m.clientMs} (${m.clientSystemMs})`,
    round(m.serverMs + m.clientMs),
    `${Math.round(m.busy * 100)}%`,
    m.ceilingMibPerSec,
    m.serverLoopBusy === undefined ? '—' : `${Math.round(m.serverLoopBusy * 100)}%`,
  ];
  const rows = (path: string, cpu: typeof produce.cpu, bare: string) =>
    cpu === undefined
      ? []
      : [
          row(path, 'Streambed', cpu.streambed),
          row(path, bare, cpu.bareHttpSdkClient),
          ...(cpu.storeOnly === undefined
            ? []
            : [row(path, 'the SDK producers, store-only server', cpu.storeOnly)]),
        ];
  const body = [
    ...rows('produce', produce.cpu, "bare POST, the SDK's client"),
    ...rows('fetch (cold)', fetch.cpu, "bare GET, the SDK's client"),
  ];
  if (body.length === 0) return [];
  return [
    `CPU per MiB of payload in the same runs (user + system time of every thread of each process, the kernel's share in brackets; medians over runs/passes). The client is the client process, which sends the produce requests and reads the fetches. "Of it, main thread" is the server's main thread (its event loop and what runs on it synchronously, from /proc on Linux); the rest of the server's CPU ran on libuv's threadpool (file writes, reads and fsyncs, with the kernel's work in them) and V8's helper threads. "Busy" is the share of the machine's ${results.run.cores} cores the two processes used together; near 100% the run is CPU-bound and only less CPU per MiB makes it faster. "Ceiling" is the rate at which that CPU per MiB would keep every core busy. "Server loop" is the share of the time the Streambed server's event loop was running code (performance.eventLoopUtilization): near 100%, its one JavaScript thread is the limit even with cores to spare.`,
    '',
    table(
      [
        'headline',
        'measured',
        'server ms/MiB',
        'of it, main thread',
        'client ms/MiB',
        'total ms/MiB',
        'busy',
        'ceiling MiB/s',
        'server loop',
      ],
      body,
    ),
    '',
  ];
}

/** One profile's tables: self time by area, then the functions with the most self time. */
export function profileTables(summary: ProfileSummary, { heading = '###' } = {}): string[] {
  const who = profiledProcessName(summary.process);
  return [
    `${heading} ${summary.phase}, ${who}`,
    '',
    `${summary.samples} samples over ${summary.durationMs} ms (one every ${summary.samples === 0 ? 'n/a' : Math.round((summary.durationMs * 1000) / summary.samples)} µs on average: a busy machine samples less often than asked). Flame graph: [${summary.name}.svg](${heading === '#' ? '' : 'profiles/'}${summary.name}.svg); profile: \`${summary.name}.cpuprofile\`.`,
    '',
    table(
      ['area', 'self ms', 'self %'],
      summary.areas.map((a) => [a.area, a.ms, a.percent]),
    ),
    '',
    table(
      ['#', 'function', 'where', 'area', 'self ms', 'self %'],
      summary.top.map((f, i) => [i + 1, `\`${f.name}\``, f.location, f.area, f.ms, f.percent]),
    ),
    '',
  ];
}

/** `--profile`: where the profiles are, then each one's tables. */
function profilesSection(profiles: ProfileSummary[], plan: BenchPlan): string[] {
  const { recordBytes, requestBytes, concurrency } = plan.produce.headline;
  return [
    '## Profiles',
    '',
    `CPU profiles of both processes during the headline produce phase (every run of ${formatBytes(recordBytes)} records × ${formatBytes(requestBytes)} requests × ${concurrency} producers) and the headline cold fetch (every cold read of the ${formatBytes(plan.readBack.headlineRequestBytes)}-request dataset), sampled every ${SAMPLING_INTERVAL_US} µs, runs merged. Files in bench/results/profiles/: \`.cpuprofile\` (Chrome DevTools → Performance → Load profile, or speedscope), \`.svg\` flame graphs (open in a browser; hover for file and line), \`.md\` these tables. How to read them: [docs/performance.md](../../docs/performance.md#profiling).`,
    '',
    ...profiles.flatMap((summary) => profileTables(summary)),
  ];
}

export function renderReport(
  results: BenchResults,
  checks: TargetCheck[],
  plan: BenchPlan,
  profiles?: ProfileSummary[],
): string {
  const { run, produce, fetch, costBreakdown, endToEnd, memory } = results;
  const { logLength } = fetch;
  const out: string[] = [];
  out.push('# Streambed benchmark report', '');
  out.push(
    `Generated by \`${benchCommand(plan)}\` on ${run.date.slice(0, 10)}: ${run.mode} mode, ${run.backend} backend, commit \`${run.gitCommit.slice(0, 12)}\`${run.gitDirty ? ' (with uncommitted changes)' : ''}, ${run.cpuModel} × ${run.cores} cores, ${run.totalMemoryMb} MB RAM, Node ${run.node}, ${run.durationSec} s. ${run.note} Method and how to reproduce: [docs/performance.md](../../docs/performance.md).`,
    '',
  );
  if (profiles !== undefined) {
    out.push(
      '**Profiled run:** the CPU profiler ran in both processes during the headline produce and fetch phases, which slows them (and the numbers derived from them): compare these numbers with other profiled runs only. The profiles are under [Profiles](#profiles).',
      '',
    );
  }
  if (plan.mode === 'quick') {
    out.push(
      `**Quick mode:** a representative subset (1 KiB records × {16 KiB, 1 MiB} requests × concurrency {1, 4}); the long log has ${plan.logLength.longBatches.toLocaleString('en-US')} batches instead of 100,000.`,
      '',
    );
  }

  out.push('## Targets (DESIGN §10)', '');
  out.push(
    table(
      ['what', 'target', 'measured', 'status', 'what limits it'],
      checks.map((c) => [
        c.what,
        c.target,
        c.measured,
        c.status === 'met' ? 'met' : `**${c.status}**`,
        c.note,
      ]),
    ),
    '',
  );

  out.push(...baselinesSection(results));

  out.push('## Cost per GiB written and read once', '');
  out.push(
    `Counted on the read-back datasets (1 KiB records; each written once and read once cold with max_bytes 1 MiB) and scaled linearly to 1 GiB of record payload: Streambed bills per request, so the count of a smaller volume scales exactly. Lambda duration is an estimate (measured local latency × ${ASSUMPTIONS.lambdaMemoryGb * 1024} MB).`,
    '',
  );
  const streambedRows = Object.entries(costBreakdown.streambed).map(([label, entry]) => [
    label,
    usd(entry.s3),
    usd(entry.dynamodb),
    usd(entry.apiGateway),
    usd(entry.lambda),
    `**${usd(entry.total)}**`,
    `+${usd(entry.lambdaAt100msExtra)}`,
  ]);
  out.push(
    table(
      ['configuration', 'S3', 'DynamoDB', 'API Gateway', 'Lambda', 'total', 'Lambda at 100 ms/call'],
      [
        ...streambedRows,
        ['Kinesis on-demand', '', '', '', '', `**${usd(costBreakdown.kinesisOnDemand.total)}**`, ''],
        ['MSK Serverless', '', '', '', '', `**${usd(costBreakdown.mskServerless.total)}**`, ''],
      ],
    ),
    '',
  );
  out.push('Requests per GiB behind those dollars:', '');
  out.push(
    table(
      [
        'configuration',
        'S3 PUT',
        'S3 GET',
        'DynamoDB RRU',
        'DynamoDB WRU',
        'API Gateway requests',
        'Lambda invocations',
        'Lambda GB-s',
      ],
      Object.entries(costBreakdown.streambed).map(([label, entry]) => {
        const u = entry.usagePerGiB;
        return [
          label,
          u.s3Puts,
          u.s3Gets,
          u.dynamoReadUnits,
          u.dynamoWriteUnits,
          u.apiGatewayRequests,
          u.lambdaInvocations,
          u.lambdaGbSeconds,
        ];
      }),
    ),
    '',
  );
  out.push(
    `Kinesis on-demand: ${usd(costBreakdown.kinesisOnDemand.perGb)} per GiB in + out, plus ${usd(costBreakdown.kinesisOnDemand.hourly)} of stream-hours. MSK Serverless: ${usd(costBreakdown.mskServerless.perGb)} per GiB in + out, plus ${usd(costBreakdown.mskServerless.hourly)} of cluster- and partition-hours (${ASSUMPTIONS.mskPartitions} partitions). Hourly charges run for the time 1 GiB takes at a sustained ${ASSUMPTIONS.sustainedMiBPerSec} MiB/s.`,
    '',
  );
  for (const note of ASSUMPTIONS.notes) out.push(`- ${note}`);
  out.push('');

  out.push('## Produce', '');
  out.push(
    `Through the SDK producer (binary produce over HTTP), one \`send\` of one request's worth of messages at a time per producer; one partition per producer (explicit partition, so producers never contend); MiB/s counts record payload; latency is per \`send\`; ${run.runsPerConfiguration} runs per row on fresh topics (medians of throughput, percentiles over all requests). Baselines of each run, at the same concurrency: raw fs writes the same payload as one file per request, the way the fs object store writes an object (with its file and directory fsyncs when the server's embedded backend makes them, as it does by default), and plainly with write + fsync; bare HTTP posts the same bodies to a node:http server of its own that only counts them, through the SDK's client (node:http) and through fetch (see Baselines). Headline: ${formatBytes(produce.headline.recordBytes)} records × ${formatBytes(produce.headline.requestBytes)} requests × ${produce.headline.concurrency}.`,
    '',
  );
  out.push(
    table(
      [
        ...PRODUCE_HEADS,
        'raw fs MiB/s',
        'ratio',
        'write+fsync MiB/s',
        'ratio',
        'bare HTTP fetch MiB/s',
        'ratio',
        'bare fetch MiB/s',
        'ratio',
        'CAS conflicts',
      ],
      produce.configs.map((c) => [
        ...produceCells(c),
        c.rawFsWriteMibPerSec,
        c.ratioVsRawFs,
        c.rawFsPlainWriteMibPerSec,
        c.ratioVsRawFsPlainWrite,
        c.bareHttpMibPerSec,
        c.ratioVsBareHttp,
        c.bareFetchMibPerSec,
        c.ratioVsBareFetch,
        c.conflicts,
      ]),
    ),
    '',
  );

  const { layers } = results;
  out.push('## Where the time of one request goes', '');
  out.push(
    `One ${formatBytes(layers.requestBytes)} request (${formatBytes(layers.recordBytes)} records), each step alone and sequential, median of ${layers.iterations}; MiB/s is record payload at that median. The raw fs, bare HTTP and HTTP rows are timed in the bench process, the rest in the server process (${run.backend} backend). The steps above the core row are its parts, timed alone (the object copy only where a request spans several partitions: a one-partition request gets its object header written in place); the core row includes them plus the metadata reads and commit; the HTTP row includes the core plus HTTP transport and the SDK client. The bare HTTP rows are the same body or response to or from a node:http server with nothing behind it, through the SDK's client (node:http) and through fetch: what the transport alone costs for one request.`,
    '',
  );
  out.push(
    table(
      ['produce step', 'p50 ms', 'MiB/s'],
      layers.produce.map((l) => [l.step.replace(/^ +/, '↳ '), l.p50Ms, l.mibPerSec]),
    ),
    '',
  );
  out.push(
    table(
      ['fetch step', 'p50 ms', 'MiB/s'],
      layers.fetch.map((l) => [l.step, l.p50Ms, l.mibPerSec]),
    ),
    '',
  );

  out.push('## Fetch (read back)', '');
  out.push(
    `Each dataset (1 KiB records, one partition, written with the given request size) is read from offset 0 to the high watermark with binary fetch by one consumer: cold = the first read (max_bytes ${formatBytes(fetch.headline.maxBytes)}), then warm reads at each max_bytes. The raw fs baseline reads the same payload as one file per request; bare HTTP answers the same response sizes one at a time from memory, through the SDK's client (node:http) and through fetch (see Baselines). Headline: the ${formatBytes(fetch.headline.requestBytes)} dataset, cold.`,
    '',
  );
  const warmHeads = fetch.datasets[0]?.warm.map((w) => `warm @${formatBytes(w.maxBytes)} MiB/s`) ?? [];
  out.push(
    table(
      [
        'written with',
        'cold MiB/s',
        'cold p50 ms',
        'cold p99 ms',
        ...warmHeads,
        'raw fs read MiB/s',
        'ratio',
        'bare HTTP fetch MiB/s',
        'ratio',
        'bare fetch MiB/s',
        'ratio',
        'fetches',
        'GETs/fetch',
        'index queries/fetch',
      ],
      fetch.datasets.map((d) => [
        ...readBackCells(d),
        d.rawFs.readMibPerSec,
        d.ratioVsRawFs,
        d.bareHttpMibPerSec,
        d.ratioVsBareHttp,
        d.bareFetchMibPerSec,
        d.ratioVsBareFetch,
        d.cold.fetchesPerRun,
        d.cold.objectGetsPerFetch ?? '',
        d.cold.indexQueriesPerFetch ?? '',
      ]),
    ),
    '',
  );

  out.push('## Kafka clients', '', ...kafkaSection(results), '');
  out.push('## Peers', '', peerIntro(results.peers), '', table(PEER_HEADS, peerRows(results.peers)), '');
  const cpuRows = peerCpuRows(results.peers);
  if (cpuRows.length > 0) out.push(PEER_CPU_INTRO, '', table(PEER_CPU_HEADS, cpuRows), '');

  out.push('## Fetch latency vs log length', '');
  out.push(
    `Logs of one-record batches built through the core log service (${logLength.buildBatchesPerSec} batches/s, no HTTP), then ${plan.logLength.samples} HTTP fetches per position with max_bytes ${formatBytes(logLength.maxBytes)}: head = offsets 0..9, tail = the last 10 offsets.`,
    '',
  );
  out.push(
    table(
      [
        'log',
        'batches',
        'head p50 ms',
        'head p99 ms',
        'tail p50 ms',
        'tail p99 ms',
        'index queries/fetch',
        'GETs/fetch',
      ],
      (['short', 'long'] as const).map((name) => [
        name,
        name === 'short' ? logLength.shortBatches : logLength.longBatches,
        logLength[name].head.p50Ms,
        logLength[name].head.p99Ms,
        logLength[name].tail.p50Ms,
        logLength[name].tail.p99Ms,
        logLength.perFetch[name].indexQueries,
        logLength.perFetch[name].objectGets,
      ]),
    ),
    '',
  );
  out.push(
    `latencyRatioLongVsShortLog (median long / median short): tail ${logLength.tailRatio}×, head ${logLength.headRatio}×.`,
    '',
  );

  out.push('## End to end', '');
  out.push(
    `A consumer long-polls one partition while a producer sends one ${endToEnd.recordBytes}-byte record at a time (${endToEnd.messages} records, 2–10 ms apart after each arrival).`,
    '',
  );
  out.push(endToEndTable(endToEnd), '');
  out.push(
    `A negative ack → receive means the consumer had the record before the producer had its acknowledgement (minimum ${endToEnd.ackToReceive.minMs} ms). Empty long polls: ${endToEnd.emptyPolls}.`,
    '',
  );

  out.push('## Memory', '');
  out.push(
    `Peak RSS ${memory.serverRssMb} MB: ${memory.note}. RSS when the server was up, before any scenario: ${memory.startRssMb} MB. The bench process itself (client, scenarios) peaked at ${memory.clientRssMb} MB. Peak per scenario (MB): ${Object.entries(
      memory.peakRssMbByScenario,
    )
      .map(([name, mb]) => `${name} ${mb}`)
      .join(
        ', ',
      )}. At the end: RSS ${memory.atEndMb.rss} MB, of which V8 heap ${memory.atEndMb.heapUsed} MB (live and not yet collected) and buffers ${memory.atEndMb.arrayBuffers} MB; the rest is code, the TypeScript loader, SQLite and memory the allocator keeps after large buffers are freed.`,
    '',
  );

  out.push('## Lambda memory with a maximal request', '');
  const { lambda } = results;
  if ('skipped' in lambda) {
    out.push(`Skipped: ${lambda.skipped}.`, '');
  } else {
    out.push(
      `Each function's deployed bundle (CDK bundling), alone in a fresh node process, invoked ${lambda.functions[0]?.invocations} times with a maximal request: produce a ${formatBytes(lambda.functions[0]?.requestBytes ?? 0)} binary body of ${lambda.recordsPerProduce} records (base64 in the API Gateway event), fetch max_bytes 3 MiB over those batches. ${lambda.note}`,
      '',
      table(
        [
          'function',
          'request bytes',
          'event bytes',
          'response bytes',
          'result bytes',
          'RSS after init MB',
          'peak RSS MB',
          'headroom MB',
          'p50 ms',
          'first ms',
        ],
        lambda.functions.map((f) => [
          f.name,
          f.requestBytes,
          f.eventBytes,
          f.responseBytes,
          f.payloadBytes,
          f.initRssMb,
          f.peakRssMb,
          f.headroomMb,
          f.p50Ms,
          f.firstMs,
        ]),
      ),
      '',
      `Peak RSS after each invocation (MB): ${lambda.functions.map((f) => `${f.name} ${f.maxRssMbAfterEach.join(', ')}`).join('; ')}. Bundles: ${Object.entries(
        lambda.bundleBytes,
      )
        .map(([name, bytes]) => `${name} ${bytes.toLocaleString('en-US')} B`)
        .join(', ')}. Latencies are against local emulators, not AWS.`,
      '',
    );
  }

  out.push('## Prices (bench/prices.ts)', '');
  out.push(
    table(
      ['item', 'US$', 'per', 'unit', 'source', 'checked'],
      Object.entries(PRICES).map(([name, price]) => [
        name,
        price.usd,
        price.per.toLocaleString('en-US'),
        price.unit,
        price.source,
        price.checked,
      ]),
    ),
    '',
  );
  if (profiles !== undefined) out.push(...profilesSection(profiles, plan));
  return out.join('\n');
}

/** remote.md: a --url run, the client's view of a server somewhere else. */
export function renderRemoteReport(results: RemoteResults, plan: BenchPlan): string {
  const { run, produce, fetch, endToEnd } = results;
  const out: string[] = ['# Streambed benchmark against a running server', ''];
  out.push(
    `Generated by \`npm run bench --${plan.mode === 'quick' ? ' --quick' : ''} --url ${run.url}\` on ${run.date.slice(0, 10)} (requests signed with ${run.signedWith}), commit \`${run.gitCommit.slice(0, 12)}\`${run.gitDirty ? ' (with uncommitted changes)' : ''}, from ${run.cpuModel} × ${run.cores} cores, Node ${run.node}, ${run.durationSec} s. ${run.note} Storage counts, cost, server memory and the local baselines need the bench's own server (\`npm run bench\` without --url); see [docs/performance.md](../../docs/performance.md).`,
    '',
    '## Produce',
    '',
    `Through the SDK producer, one request's worth of messages per \`send\`, one partition per producer, ${run.runsPerConfiguration} runs per row. Headline: ${formatBytes(produce.headline.recordBytes)} records × ${formatBytes(produce.headline.requestBytes)} requests × ${produce.headline.concurrency}: ${produce.mibPerSec} MiB/s, p50 ${produce.p50Ms} ms, p99 ${produce.p99Ms} ms.`,
    '',
    table(PRODUCE_HEADS, produce.configs.map(produceCells)),
    '',
    '## Fetch (read back)',
    '',
    'Each dataset written by one producer at the given request size, then read from offset 0 by one consumer with binary fetch: cold first, then warm at each max_bytes.',
    '',
    table(
      [
        'written with',
        'cold MiB/s',
        'cold p50 ms',
        'cold p99 ms',
        ...(fetch.datasets[0]?.warm.map((w) => `warm @${formatBytes(w.maxBytes)} MiB/s`) ?? []),
        'fetches',
      ],
      fetch.datasets.map((d) => [...readBackCells(d), d.cold.fetchesPerRun]),
    ),
    '',
    '## End to end',
    '',
    endToEndTable(endToEnd),
    '',
  );
  return out.join('\n');
}
