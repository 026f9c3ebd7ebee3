/**
 * The local server's log: one JSON object per line on stderr (stdout is the command's own output),
 * filtered by `--log-level`. Levels, quietest last: `debug`, `info` (adds a line per request),
 * `warn` (the default: failed requests, janitor failures, failing subscription deliveries), `error`
 * (internal errors only), `silent`.
 *
 * Like the Lambdas' access log, a request line carries method, path (no query string), route, status,
 * duration and body sizes — never bodies, keys, values or headers.
 */

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const DEFAULT_LOG_LEVEL: LogLevel = 'warn';

export type LogFields = Record<string, unknown>;

export interface LocalLogger {
  readonly level: LogLevel;
  enabled(level: Exclude<LogLevel, 'silent'>): boolean;
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

/** An error as log fields: its message, and its code where it has one; never its stack's internals. */
export function errorFields(error: unknown): LogFields {
  if (!(error instanceof Error)) return { error: String(error) };
  const code = (error as { code?: unknown }).code;
  return { error: error.message, ...(typeof code === 'string' ? { code } : {}) };
}

export function createLocalLogger(
  level: LogLevel = DEFAULT_LOG_LEVEL,
  write: (line: string) => void = (line) => process.stderr.write(line),
): LocalLogger {
  const threshold = LOG_LEVELS.indexOf(level);
  const enabled = (at: Exclude<LogLevel, 'silent'>) => LOG_LEVELS.indexOf(at) >= threshold;
  const log =
    (at: Exclude<LogLevel, 'silent'>) =>
    (message: string, fields: LogFields = {}): void => {
      if (!enabled(at)) return;
      write(`${JSON.stringify({ time: new Date().toISOString(), level: at, message, ...fields })}\n`);
    };
  return { level, enabled, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}
