/**
 * The peer table of latest.json and report.md (scenarios/peers.ts, plus the kafka scenario's KafkaJS
 * numbers), its targets, and the summary lines of `npm run bench`. Ratios are to Redis Streams of the
 * same run; a row or ratio that was not measured is null.
 */
import type { CpuPerMiB } from '../cpu.ts';
import type { TargetCheck } from '../results.ts';
import type { KafkaResult } from '../scenarios/kafka.ts';
import type { PeersResult } from '../scenarios/peers.ts';
import { round } from '../stats.ts';
import type { PeerOutcome } from './workload.ts';

export interface PeerRow {
  system: string;
  write: string;
  read: string;
  client: string;
  writeMibPerSec: number | null;
  readMibPerSec: number | null;
  writeVsRedis: number | null;
  readVsRedis: number | null;
  /** CPU per MiB of the server and the client process while writing and reading; null if unmeasured. */
  writeCpu: CpuPerMiB | null;
  readCpu: CpuPerMiB | null;
  /** Why the row is empty, or how it differs from the shared workload. */
  note: string;
}

const ratio = (value: number | null, base: number | null): number | null =>
  value === null || base === null || base === 0 ? null : round(value / base);

export function peerTable(peers: PeersResult, kafka: KafkaResult | { skipped: string }) {
  const { workload } = peers;
  const batch = workload.recordsPerBatch.toLocaleString('en-US');
  const redis = 'skipped' in peers.redis ? null : peers.redis;
  const row = (
    system: string,
    write: string,
    read: string,
    outcome: PeerOutcome,
  ): Omit<PeerRow, 'writeVsRedis' | 'readVsRedis'> =>
    'skipped' in outcome
      ? {
          system,
          write,
          read,
          client: '',
          writeMibPerSec: null,
          readMibPerSec: null,
          writeCpu: null,
          readCpu: null,
          note: `skipped: ${outcome.skipped}`,
        }
      : {
          system,
          write,
          read,
          client: outcome.client,
          writeMibPerSec: outcome.writeMibPerSec,
          readMibPerSec: outcome.readMibPerSec,
          writeCpu: outcome.writeCpu ?? null,
          readCpu: outcome.readCpu ?? null,
          note: outcome.config,
        };
  const rows = [
    row('Redis Streams', `XADD, pipelines of ${batch}`, `XRANGE COUNT ${batch}`, peers.redis),
    row('NATS JetStream', `publish ${batch}, await the acks`, `pull consumer, fetch ${batch}`, peers.nats),
    row(
      'Streambed HTTP JSON',
      `JSON produce of ${batch}`,
      'JSON fetch, max_bytes 1 MiB',
      peers.streambedJson,
    ),
    row(
      'Streambed SDK binary',
      `Producer.send of ${batch}`,
      'binary fetch, max_bytes 1 MiB, decoded',
      peers.streambedSdk,
    ),
    'skipped' in kafka
      ? row('Streambed Kafka (KafkaJS)', 'producer.send', 'consumer', kafka)
      : {
          system: 'Streambed Kafka (KafkaJS)',
          write: `producer.send of ${kafka.produce.recordsPerSend.toLocaleString('en-US')}, acks -1`,
          read: 'consumer (eachBatch)',
          client: kafka.produce.client,
          writeMibPerSec: kafka.produce.mibPerSec,
          readMibPerSec: kafka.kafkajsConsumer.mibPerSec,
          writeCpu: null,
          readCpu: null,
          note: `from the kafka scenario: ${kafka.produce.producers} producers, ${kafka.produce.recordBytes} B records; one consumer of ${kafka.kafkajsConsumer.partitions} partitions`,
        },
  ].map(
    (each): PeerRow => ({
      ...each,
      writeVsRedis: ratio(each.writeMibPerSec, redis?.writeMibPerSec ?? null),
      readVsRedis: ratio(each.readMibPerSec, redis?.readMibPerSec ?? null),
    }),
  );
  return {
    workload,
    basis:
      'MiB/s of record payload (1 KiB values), writers then readers in flight, each on a stream or partition of its own; medians over the runs',
    rows,
    details: peers,
  };
}

export type PeerTable = ReturnType<typeof peerTable>;

const rowOf = (table: PeerTable, system: string) => table.rows.find((r) => r.system === system);

/** The peer targets: reported met or missed, never asserted. */
export function peerChecks(table: PeerTable): TargetCheck[] {
  const redis = rowOf(table, 'Redis Streams');
  const check = (what: string, system: string, side: 'write' | 'read', least: number): TargetCheck => {
    const row = rowOf(table, system);
    const value = side === 'write' ? row?.writeVsRedis : row?.readVsRedis;
    const mine = side === 'write' ? row?.writeMibPerSec : row?.readMibPerSec;
    const theirs = side === 'write' ? redis?.writeMibPerSec : redis?.readMibPerSec;
    if (value === null || value === undefined)
      return {
        what,
        target: `≥ ${least}×`,
        measured: '—',
        status: 'not measured',
        note: redis?.note.startsWith('skipped') ? `Redis Streams ${redis.note}` : (row?.note ?? ''),
      };
    const met = value >= least;
    return {
      what,
      target: `≥ ${least}×`,
      measured: `${value}× (${mine} vs ${theirs} MiB/s)`,
      status: met ? 'met' : 'missed',
      note: met || row === undefined || redis === undefined ? '' : cpuComparison(row, redis, side),
    };
  };
  return [
    check('SDK produce vs Redis XADD (same records, 4 writers)', 'Streambed SDK binary', 'write', 2),
    check('SDK fetch vs Redis XRANGE (same records, 4 readers)', 'Streambed SDK binary', 'read', 1),
    check('HTTP JSON produce vs Redis XADD', 'Streambed HTTP JSON', 'write', 1),
    check('HTTP JSON fetch vs Redis XRANGE', 'Streambed HTTP JSON', 'read', 0.5),
  ];
}

/** "Streambed SDK binary: server 6.1 ms/MiB ... ; Redis Streams: server ...", where both were measured. */
function cpuComparison(row: PeerRow, redis: PeerRow, side: 'write' | 'read'): string {
  const cpuOf = (r: PeerRow) => (side === 'write' ? r.writeCpu : r.readCpu);
  const [mine, theirs] = [cpuOf(row), cpuOf(redis)];
  if (mine === null || theirs === null) return '';
  const each = (r: PeerRow, cpu: CpuPerMiB) =>
    `${r.system}: server ${cpu.serverMs} ms/MiB + client ${cpu.clientMs} = ${round(cpu.serverMs + cpu.clientMs)} ms CPU per MiB, ${Math.round(cpu.busy * 100)}% of the cores busy (ceiling ${cpu.ceilingMibPerSec} MiB/s)`;
  return `${side === 'write' ? 'Writing' : 'Reading'}, ${each(row, mine)}; ${each(redis, theirs)}.`;
}

const mibs = (value: number | null) => (value === null ? '—' : `${value}`);
const times = (value: number | null) => (value === null ? '—' : `${value}×`);

/** The table's cells: system, write, read, MiB/s each way, ratios to Redis, client, note. */
export function peerRows(table: PeerTable): string[][] {
  return table.rows.map((r) => [
    r.system,
    r.write,
    r.read,
    mibs(r.writeMibPerSec),
    mibs(r.readMibPerSec),
    times(r.writeVsRedis),
    times(r.readVsRedis),
    r.client,
    r.note,
  ]);
}

export const PEER_HEADS = [
  'system',
  'write',
  'read',
  'write MiB/s',
  'read MiB/s',
  'write vs Redis',
  'read vs Redis',
  'client',
  'note',
];

const ms = (cpu: CpuPerMiB | null, part: 'serverMs' | 'clientMs') => (cpu === null ? '—' : `${cpu[part]}`);
const busy = (cpu: CpuPerMiB | null) => (cpu === null ? '—' : `${Math.round(cpu.busy * 100)}%`);

/** The CPU table's cells: per MiB of payload, server and client, writing then reading. */
export function peerCpuRows(table: PeerTable): string[][] {
  return table.rows
    .filter((r) => r.writeCpu !== null || r.readCpu !== null)
    .map((r) => [
      r.system,
      ms(r.writeCpu, 'serverMs'),
      ms(r.writeCpu, 'clientMs'),
      busy(r.writeCpu),
      ms(r.readCpu, 'serverMs'),
      ms(r.readCpu, 'clientMs'),
      busy(r.readCpu),
    ]);
}

export const PEER_CPU_HEADS = [
  'system',
  'write: server ms/MiB',
  'write: client ms/MiB',
  'write: busy',
  'read: server ms/MiB',
  'read: client ms/MiB',
  'read: busy',
];

/** What the CPU table measured, above it in report.md. */
export const PEER_CPU_INTRO =
  "CPU per MiB of payload in the same runs (medians over the runs): the server process's user + system time, read from /proc, and the client's, the process of its own that ran that system's workload. \"Busy\" is the share of the machine's cores the two used together; near 100% only less CPU per MiB makes a system faster.";

/** What the peer table measured, above it in report.md. */
export function peerIntro(table: PeerTable): string {
  const { lanes, batchesPerLane, recordsPerBatch, recordBytes, runs } = table.workload;
  return `The same records through every system, in this run: ${lanes} writers, each writing ${batchesPerLane} batches of ${recordsPerBatch} records of ${recordBytes} B (ASCII text) to a stream or partition of its own, one batch in flight per writer; then ${lanes} readers reading them back in pages of ${recordsPerBatch}, ${table.workload.readPasses} times over; each system's client in a process of its own; ${runs} runs on fresh streams, medians. MiB/s counts record payload. Not the same promise: an acknowledged Redis write is fsynced within about a second (appendfsync everysec) and a JetStream one on the server's sync interval, while Streambed's embedded backend fsyncs before it answers (durability fsync, the default). The Kafka row is the kafka scenario's. Method and caveats: docs/performance.md#peers.`;
}

/** One summary line per row for the end of `npm run bench`. */
export function peerLines(table: PeerTable): string[] {
  return table.rows.map((r) =>
    r.writeMibPerSec === null
      ? `  ${r.system}: ${r.note}`
      : `  ${r.system}: write ${r.writeMibPerSec} MiB/s (${times(r.writeVsRedis)} Redis), read ${r.readMibPerSec} MiB/s (${times(r.readVsRedis)} Redis)`,
  );
}
