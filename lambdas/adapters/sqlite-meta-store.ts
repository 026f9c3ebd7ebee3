import { deserialize, serialize } from 'node:v8';
import Database from 'better-sqlite3';
import { ConditionFailedError, StreamError } from '../core/errors.ts';
import { type Clock, systemClock } from '../ports/clock.ts';
import type {
  GetOptions,
  Item,
  ItemKey,
  MetaStore,
  QueryOptions,
  QueryResult,
  TransactOp,
} from '../ports/meta-store.ts';
import { checkDurability, DEFAULT_DURABILITY, type Durability } from './durability.ts';
import {
  conditionHolds,
  nextVersion,
  opKey,
  validateBatchGet,
  validateKey,
  validateQuery,
  validateTransact,
  withVersion,
} from './meta-rules.ts';

interface Row {
  pk: string;
  sk: string;
  v: number;
  expires_at: number | null;
  attrs: Buffer;
}

const COLUMNS = 'pk, sk, v, expires_at, attrs';
const LIVE = '(expires_at IS NULL OR expires_at > @now)';

/** Expired rows are swept once every this many transactions (readers skip them before that). */
const SWEEP_EVERY = 1000;

/** A group commit starts at once when this many transactions are queued (bounds its size and wait). */
const MAX_GROUP = 256;

interface QueuedTransaction {
  ops: readonly TransactOp[];
  /** The store clock when the transaction arrived: its conditions are judged at that time. */
  now: number;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * MetaStore on SQLite (better-sqlite3), the embedded backend of `npm start`.
 *
 * One row per item; the non-key attributes are kept with node's structured serializer (its format is
 * backward compatible, and it round-trips Uint8Array exactly). SQLite's BINARY collation orders sk by
 * UTF-8 bytes, as DynamoDB does. Transactions are BEGIN IMMEDIATE so several processes may share one
 * file safely.
 *
 * WAL journal. With durability `fsync` (the default) synchronous=FULL: every commit fsyncs the WAL
 * before it returns, so a committed transaction survives a power loss, at one fsync per commit (WAL
 * appends sequentially, the cheapest durable mode SQLite has: a rollback journal needs several fsyncs
 * per commit). It must be set on every connection: better-sqlite3 12 builds SQLite with
 * SQLITE_DEFAULT_WAL_SYNCHRONOUS=1, so a connection that opens an existing WAL database would run at
 * NORMAL. With `none`, synchronous=NORMAL: the WAL is synced only at checkpoints, so a power loss
 * may drop the last commits but never corrupts the file (OFF could); a crash of the process (kill -9)
 * loses nothing in either mode. See docs/reliability.md, "Power loss".
 *
 * Group commit: better-sqlite3 is synchronous, so a commit's WAL fsync blocks the event loop. The
 * transactions that arrive while the loop is busy are queued and committed together on the next
 * turn (setImmediate), in ONE SQLite transaction and so one fsync, in arrival order; each runs inside
 * its own savepoint, so one whose condition fails is rolled back alone and gets exactly the error it
 * would get alone. Nobody is answered before the COMMIT has returned (durability is unchanged), and
 * when the COMMIT fails everybody in the group gets its error. Reads run at once on committed state:
 * a transaction that has resolved is visible to every read issued after it.
 */
export class SqliteMetaStore implements MetaStore {
  private readonly db: Database.Database;
  private readonly clock: Clock;
  private transactions = 0;
  private committed = 0;
  /** Transactions waiting for the next group commit, in arrival order. */
  private queue: QueuedTransaction[] = [];
  private flushScheduled = false;
  private readonly statements;
  private readonly queries = new Map<string, Database.Statement<Record<string, unknown>, Row>>();

  constructor(options: { path: string; clock?: Clock; durability?: Durability }) {
    this.clock = options.clock ?? systemClock;
    const durability = checkDurability(options.durability ?? DEFAULT_DURABILITY);
    this.db = new Database(options.path);
    this.db.pragma('journal_mode = WAL');
    // After journal_mode: entering WAL may apply the build's WAL default.
    this.db.pragma(`synchronous = ${durability === 'fsync' ? 'FULL' : 'NORMAL'}`);
    // macOS only (a no-op elsewhere): its plain fsync leaves data in the drive's cache; F_FULLFSYNC
    // flushes it, as node's own FileHandle.sync (libuv) already does for the object files.
    this.db.pragma(`fullfsync = ${durability === 'fsync' ? 'ON' : 'OFF'}`);
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`CREATE TABLE IF NOT EXISTS items (
      pk TEXT NOT NULL, sk TEXT NOT NULL, v INTEGER NOT NULL, expires_at INTEGER, attrs BLOB NOT NULL,
      PRIMARY KEY (pk, sk)) WITHOUT ROWID`);
    this.statements = {
      get: this.db.prepare<{ pk: string; sk: string; now: number }, Row>(
        `SELECT ${COLUMNS} FROM items WHERE pk = @pk AND sk = @sk AND ${LIVE}`,
      ),
      upsert: this.db.prepare(
        `INSERT INTO items (pk, sk, v, expires_at, attrs) VALUES (@pk, @sk, @v, @expiresAt, @attrs)
         ON CONFLICT (pk, sk) DO UPDATE SET v = excluded.v, expires_at = excluded.expires_at, attrs = excluded.attrs`,
      ),
      delete: this.db.prepare('DELETE FROM items WHERE pk = @pk AND sk = @sk'),
      sweep: this.db.prepare('DELETE FROM items WHERE expires_at IS NOT NULL AND expires_at <= @now'),
      begin: this.db.prepare('BEGIN IMMEDIATE'),
      commit: this.db.prepare('COMMIT'),
      savepoint: this.db.prepare('SAVEPOINT one'),
      release: this.db.prepare('RELEASE one'),
      rollbackTo: this.db.prepare('ROLLBACK TO one'),
      rollback: this.db.prepare('ROLLBACK'),
    };
  }

  private read(key: ItemKey, now: number): Item | undefined {
    const row = this.statements.get.get({ pk: key.pk, sk: key.sk, now });
    return row === undefined ? undefined : toItem(row);
  }

  async get(key: ItemKey, _options?: GetOptions): Promise<Item | undefined> {
    validateKey(key);
    return this.guard(() => this.read(key, this.clock.now()));
  }

  async batchGet(keys: readonly ItemKey[], _options?: GetOptions): Promise<(Item | undefined)[]> {
    validateBatchGet(keys);
    const now = this.clock.now();
    return this.guard(() => keys.map((key) => this.read(key, now)));
  }

  async query(pk: string, options: QueryOptions = {}): Promise<QueryResult> {
    validateQuery(pk, options);
    const where = ['pk = @pk', LIVE];
    if (options.from !== undefined) where.push('sk >= @from');
    if (options.to !== undefined) where.push('sk <= @to');
    if (options.startAfter !== undefined)
      where.push(options.reverse ? 'sk < @startAfter' : 'sk > @startAfter');
    const limit = options.limit === undefined ? '' : ' LIMIT @take';
    const sql = `SELECT ${COLUMNS} FROM items WHERE ${where.join(' AND ')} ORDER BY sk ${options.reverse ? 'DESC' : 'ASC'}${limit}`;
    const rows = this.guard(() =>
      this.prepared(sql).all({
        pk,
        now: this.clock.now(),
        from: options.from,
        to: options.to,
        startAfter: options.startAfter,
        take: options.limit === undefined ? undefined : options.limit + 1,
      }),
    );
    const more = options.limit !== undefined && rows.length > options.limit;
    const items = (more ? rows.slice(0, options.limit) : rows).map(toItem);
    const last = items.at(-1);
    return more && last !== undefined ? { items, lastKey: last.sk } : { items };
  }

  /**
   * Queued, and committed with every other transaction that arrives before the event loop is free
   * (group commit, see the class comment): resolves once the COMMIT holding it has returned.
   */
  async transact(ops: readonly TransactOp[]): Promise<void> {
    validateTransact(ops);
    const now = this.clock.now();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ ops, now, resolve, reject });
      if (this.queue.length >= MAX_GROUP) this.commitQueued();
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => {
          this.flushScheduled = false;
          this.commitQueued();
        });
      }
    });
  }

  /**
   * Applies the queued transactions in arrival order in ONE SQLite transaction, each inside its own
   * savepoint: one whose condition fails (or whose statements fail) is rolled back to its savepoint
   * and rejected alone. Every caller settles only after the COMMIT; if the COMMIT (or BEGIN) fails,
   * or SQLite abandons the transaction midway, every caller of the group gets the error.
   */
  private commitQueued(): void {
    const group = this.queue;
    this.queue = [];
    if (group.length === 0) return;
    const failures = new Map<QueuedTransaction, StreamError>();
    try {
      this.guard(() => this.statements.begin.run());
      for (const queued of group) {
        const failure = this.inSavepoint(() => this.apply(queued));
        if (failure !== undefined) failures.set(queued, failure);
      }
      const before = this.transactions;
      this.transactions += group.length;
      if (Math.floor(before / SWEEP_EVERY) !== Math.floor(this.transactions / SWEEP_EVERY)) {
        // A failed sweep is rolled back alone and tried again a thousand transactions later.
        const now = this.clock.now();
        this.inSavepoint(() => this.statements.sweep.run({ now }));
      }
      this.guard(() => this.statements.commit.run());
      this.committed++;
    } catch (error) {
      // A COMMIT refused (a deferred constraint, say) leaves the transaction open.
      try {
        if (this.db.open && this.db.inTransaction) this.statements.rollback.run();
      } catch {
        // The callers hear the error that failed the group; the next BEGIN reports this state.
      }
      for (const queued of group) queued.reject(error);
      return;
    }
    for (const queued of group) {
      const failure = failures.get(queued);
      if (failure === undefined) queued.resolve();
      else queued.reject(failure);
    }
  }

  /**
   * `work` inside a savepoint: returns the error that rolled it back, or throws when SQLite abandoned
   * the whole transaction.
   */
  private inSavepoint(work: () => unknown): StreamError | undefined {
    this.guard(() => this.statements.savepoint.run());
    try {
      this.guard(work);
      this.guard(() => this.statements.release.run());
      return undefined;
    } catch (error) {
      // Some failures (I/O, out of memory, a full disk) make SQLite roll back the whole transaction:
      // then nothing of the group survives, and every caller must hear it.
      if (!this.db.inTransaction) throw error;
      this.guard(() => {
        this.statements.rollbackTo.run();
        this.statements.release.run();
      });
      return error as StreamError;
    }
  }

  private apply({ ops, now }: QueuedTransaction): void {
    const failed = ops.flatMap((op, index) => (conditionHolds(op, this.read(opKey(op), now)) ? [] : [index]));
    if (failed.length > 0) throw new ConditionFailedError(failed);
    for (const op of ops) {
      if (op.type === 'put') {
        const { pk, sk, v, expiresAt, ...attrs } = withVersion(op.item, nextVersion(op.expect));
        this.statements.upsert.run({ pk, sk, v, expiresAt: expiresAt ?? null, attrs: serialize(attrs) });
      } else if (op.type === 'delete') {
        this.statements.delete.run({ pk: op.key.pk, sk: op.key.sk });
      }
    }
  }

  /** SQLite commits made so far by this store; each groups one or more transactions (diagnostics, tests). */
  commits(): number {
    return this.committed;
  }

  /** Queries come in a handful of shapes; each is prepared once. */
  private prepared(sql: string): Database.Statement<Record<string, unknown>, Row> {
    let statement = this.queries.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare<Record<string, unknown>, Row>(sql);
      this.queries.set(sql, statement);
    }
    return statement;
  }

  /** The connection's durability pragmas, as SQLite reports them (diagnostics, tests). */
  settings(): { journalMode: string; synchronous: string; fullfsync: boolean } {
    const levels = ['OFF', 'NORMAL', 'FULL', 'EXTRA'];
    const level = this.db.pragma('synchronous', { simple: true }) as number;
    return {
      journalMode: String(this.db.pragma('journal_mode', { simple: true })),
      synchronous: levels[level] ?? String(level),
      fullfsync: this.db.pragma('fullfsync', { simple: true }) === 1,
    };
  }

  async close(): Promise<void> {
    // What is queued was promised a commit or an error: it gets its commit.
    this.commitQueued();
    this.db.close();
  }

  /** Translates driver failures into the domain family; domain errors pass through. */
  private guard<T>(work: () => T): T {
    try {
      return work();
    } catch (error) {
      if (error instanceof StreamError) throw error;
      const code = (error as { code?: string }).code ?? '';
      if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
        throw new StreamError('UNAVAILABLE', 'the metadata database is busy; retry', { cause: error });
      }
      throw new StreamError('INTERNAL', `metadata database error ${code}`.trim(), { cause: error });
    }
  }
}

function toItem(row: Row): Item {
  const item = { pk: row.pk, sk: row.sk, v: row.v, ...(deserialize(row.attrs) as object) } as Item;
  if (row.expires_at !== null) item.expiresAt = row.expires_at;
  return item;
}
