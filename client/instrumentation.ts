/**
 * Logging and instrumentation events, KafkaJS's way.
 *
 * Logging: the client is built with a `logLevel` (NOTHING 0, ERROR 1, WARN 2, INFO 4, DEBUG 5) and a
 * `logCreator(level)` that returns the function every entry goes to, `{ namespace, level, label, log }`
 * with `log = { timestamp, logger: 'streambed', message, ...extra }`. Entries above the level are
 * dropped before they reach it. Fields never carry a message's key or value. An entry whose function
 * throws is lost; it never fails the call that logged it.
 *
 * Events: each producer, consumer and admin has `events` (its event names) and `on(name, listener)`,
 * which returns a function that removes the listener. Every event is `{ id, type, timestamp, payload }`;
 * ids grow by one across the process. A listener that throws is logged; it never stops the emitter.
 */
import { StreambedError } from './errors.ts';
import type { Transport } from './transport.ts';

export const logLevel = { NOTHING: 0, ERROR: 1, WARN: 2, INFO: 4, DEBUG: 5 } as const;
export type LogLevel = (typeof logLevel)[keyof typeof logLevel];

export interface LogEntry {
  namespace: string;
  level: LogLevel;
  label: string;
  log: { timestamp: string; logger: 'streambed'; message: string; [field: string]: unknown };
}

export type LogCreator = (level: LogLevel) => (entry: LogEntry) => void;

export interface Logger {
  error(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  info(message: string, extra?: Record<string, unknown>): void;
  debug(message: string, extra?: Record<string, unknown>): void;
  /** The same logger under another namespace; with `level`, at its own level. */
  namespace(namespace: string, level?: LogLevel): Logger;
  setLogLevel(level: LogLevel): void;
}

export interface LoggingOptions {
  /** Entries above this level are dropped. Default INFO, as KafkaJS. */
  logLevel?: LogLevel;
  /** Where entries go. Default: one JSON line per entry on stderr. */
  logCreator?: LogCreator;
}

const LABELS: Record<Exclude<LogLevel, 0>, string> = { 1: 'ERROR', 2: 'WARN', 4: 'INFO', 5: 'DEBUG' };

/** Writes one JSON line per entry to stderr. */
export const stderrLogCreator: LogCreator =
  () =>
  ({ namespace, label, log }) => {
    const { timestamp, logger, message, ...extra } = log;
    process.stderr.write(
      `${JSON.stringify({ level: label, timestamp, logger, ...(namespace ? { namespace } : {}), message, ...extra })}\n`,
    );
  };

function checkLevel(level: unknown): LogLevel {
  if (!Object.values(logLevel).includes(level as LogLevel))
    throw new StreambedError(
      'INVALID_REQUEST',
      `logLevel ${String(level)} is not a level: use logLevel.NOTHING (0), ERROR (1), WARN (2), INFO (4) or DEBUG (5)`,
    );
  return level as LogLevel;
}

export function createLogger({
  logLevel: level = logLevel.INFO,
  logCreator = stderrLogCreator,
}: LoggingOptions = {}): Logger {
  const root = { level: checkLevel(level) };
  const write = logCreator(root.level);
  const make = (namespace: string, state: { level: LogLevel }): Logger => {
    const at =
      (entryLevel: Exclude<LogLevel, 0>) =>
      (message: string, extra: Record<string, unknown> = {}) => {
        if (entryLevel > state.level) return;
        try {
          write({
            namespace,
            level: entryLevel,
            label: LABELS[entryLevel],
            log: { timestamp: new Date().toISOString(), logger: 'streambed', message, ...extra },
          });
        } catch {
          // A logCreator that throws loses the entry; logging never fails the call that logs.
        }
      };
    return {
      error: at(logLevel.ERROR),
      warn: at(logLevel.WARN),
      info: at(logLevel.INFO),
      debug: at(logLevel.DEBUG),
      namespace: (name, own) => make(name, own === undefined ? state : { level: checkLevel(own) }),
      setLogLevel: (next) => {
        state.level = checkLevel(next);
      },
    };
  };
  return make('', root);
}

export interface InstrumentationEvent<T = unknown> {
  id: number;
  type: string;
  timestamp: number;
  payload: T;
}

/** What one HTTP request to the API took: KafkaJS's request event, for a request over HTTP. */
export interface RequestEventPayload {
  /** host:port of the API. */
  broker: string;
  /** A Kafka-style name for the SDK's calls (`Produce`, `Fetch`, `JoinGroup`…), else `<METHOD> <path>`. */
  apiName: string;
  method: string;
  path: string;
  /** The HTTP status of the answer. */
  status: number;
  /** Counts this client's requests. */
  correlationId: number;
  /** Request body bytes. */
  size: number;
  createdAt: number;
  sentAt: number;
  /** Always 0: requests are not queued in the client. */
  pendingDuration: number;
  duration: number;
}

export type Listener<T = unknown> = (event: InstrumentationEvent<T>) => void | Promise<void>;

let nextId = 0;

/** Emits one part's events; `names` are the ones `on` accepts. */
export class Instrumentation<Payloads extends Record<string, unknown>> {
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(
    private readonly names: readonly (keyof Payloads & string)[],
    readonly logger: Logger,
  ) {}

  on<E extends keyof Payloads & string>(eventName: E, listener: Listener<Payloads[E]>): () => void {
    if (!this.names.includes(eventName))
      throw new StreambedError(
        'INVALID_REQUEST',
        `unknown event '${String(eventName)}': use one of ${this.names.join(', ')}`,
      );
    const set = this.listeners.get(eventName) ?? new Set<Listener>();
    this.listeners.set(eventName, set);
    const entry = listener as Listener;
    set.add(entry);
    return () => void set.delete(entry);
  }

  emit<E extends keyof Payloads & string>(eventName: E, payload: Payloads[E]): void {
    const set = this.listeners.get(eventName);
    if (set === undefined || set.size === 0) return;
    const event: InstrumentationEvent<Payloads[E]> = {
      id: nextId++,
      type: eventName,
      timestamp: Date.now(),
      payload,
    };
    for (const listener of set) {
      const failed = (error: unknown) =>
        this.logger.error(
          `Failed to execute listener: ${error instanceof Error ? error.message : String(error)}`,
          {
            eventName,
          },
        );
      try {
        Promise.resolve(listener(event)).catch(failed);
      } catch (error) {
        failed(error);
      }
    }
  }
}

/** What a producer, consumer or admin is given by the client that builds it. */
export interface ClientContext {
  logger: Logger;
}

/** For a part built on its own (tests, tools): logs at INFO to stderr. */
export const defaultContext = (): ClientContext => ({ logger: createLogger() });

export const PRODUCER_EVENTS = {
  CONNECT: 'producer.connect',
  DISCONNECT: 'producer.disconnect',
  REQUEST: 'producer.network.request',
} as const;

export interface ProducerEventPayloads extends Record<string, unknown> {
  'producer.connect': null;
  'producer.disconnect': null;
  'producer.network.request': RequestEventPayload;
}

export const ADMIN_EVENTS = {
  CONNECT: 'admin.connect',
  DISCONNECT: 'admin.disconnect',
  REQUEST: 'admin.network.request',
} as const;

export interface AdminEventPayloads extends Record<string, unknown> {
  'admin.connect': null;
  'admin.disconnect': null;
  'admin.network.request': RequestEventPayload;
}

/**
 * What a producer, consumer and admin share: `events`, `on`, `logger()`, `connect()` and
 * `disconnect()` (which only emit CONNECT and DISCONNECT: there is no connection to open over HTTP),
 * and a view of the client's transport whose answered requests become their `REQUEST` events.
 */
export abstract class Instrumented<
  Payloads extends Record<string, unknown>,
  Events extends {
    CONNECT: keyof Payloads & string;
    DISCONNECT: keyof Payloads & string;
    REQUEST: keyof Payloads & string;
  } & Record<string, keyof Payloads & string>,
> {
  protected readonly instrumentation: Instrumentation<Payloads>;

  constructor(
    /** Event names, as KafkaJS's `producer.events`, `consumer.events` and `admin.events`. */
    readonly events: Events,
    namespace: string,
    context: ClientContext,
  ) {
    this.instrumentation = new Instrumentation<Payloads>(
      Object.values(events),
      context.logger.namespace(namespace),
    );
  }

  /** Listens for one of `events`; returns a function that removes the listener. */
  on<E extends keyof Payloads & string>(eventName: E, listener: Listener<Payloads[E]>): () => void {
    return this.instrumentation.on(eventName, listener);
  }

  logger(): Logger {
    return this.instrumentation.logger;
  }

  async connect(): Promise<void> {
    this.instrumentation.emit(this.events.CONNECT, null as Payloads[Events['CONNECT']]);
  }

  async disconnect(): Promise<void> {
    this.instrumentation.emit(this.events.DISCONNECT, null as Payloads[Events['DISCONNECT']]);
  }

  /** `transport`, reporting its requests as this part's `REQUEST` events. */
  protected observe(transport: Transport): Transport {
    return transport.observed((request) =>
      this.instrumentation.emit(this.events.REQUEST, request as Payloads[Events['REQUEST']]),
    );
  }
}
