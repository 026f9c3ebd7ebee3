/**
 * Lambda for the offline stack: each function of the template runs in its own child processes
 * ("execution environments"), one invocation at a time per process, with the function's bundle and
 * only the environment Lambda would give it — the template's variables, the runtime's own (region,
 * function name, memory, credentials) and the service endpoints. Nothing of the test process leaks in,
 * so a variable the construct forgot is missing here too.
 *
 * Enforced as Lambda does: the function timeout (the environment is killed and the invocation fails
 * with "Task timed out"), the synchronous payload limits (6,291,456 bytes each way, as JSON
 * text), reserved concurrency (an invocation over it is throttled), and
 * the memory size (an environment whose resident memory ends an invocation above it is killed and
 * the invocation fails, where Lambda would have stopped it when it crossed). Not emulated: the
 * runtime version (this is the local Node.js, the template may name a newer one), the CPU share that
 * memory buys, freezing between invocations, and the Lambda service's own API.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { MAX_LAMBDA_PAYLOAD_BYTES } from '../../client/wire/limits.ts';
import type { FunctionSpec } from './template.ts';

/**
 * Lambda's synchronous invocation limits, as JSON text (DESIGN §11: 6,291,456 bytes each way). Lambda
 * has been measured to accept responses up to 100 bytes longer; the offline stack holds both to the
 * documented figure, so it is never more generous than AWS.
 */
export const LAMBDA_MAX_REQUEST_BYTES = MAX_LAMBDA_PAYLOAD_BYTES;
export const LAMBDA_MAX_RESPONSE_BYTES = MAX_LAMBDA_PAYLOAD_BYTES;
/** Environments one function may have at once when the template reserves none (a laptop's cap). */
const DEFAULT_CONCURRENCY = 6;

const RUNTIME = fileURLToPath(new URL('./lambda-runtime.mjs', import.meta.url));

export type Invocation =
  | { kind: 'result'; payload: string }
  | { kind: 'error'; errorType: string; errorMessage: string }
  | { kind: 'throttled' }
  | { kind: 'request-too-large'; bytes: number };

export interface LambdaHostOptions {
  region: string;
  /** Variables every environment gets besides the template's (endpoints, credentials). */
  environmentFor(fn: FunctionSpec): Record<string, string>;
  /** One line of a function's output (its logs). */
  onLog?: (functionName: string, line: string) => void;
}

/** What one function's invocations carried, for the bench's report. */
export interface PayloadStats {
  invocations: number;
  largestRequestBytes: number;
  largestResponseBytes: number;
  /** Responses over LAMBDA_MAX_RESPONSE_BYTES (each failed as on Lambda). */
  oversizedResponses: number;
  /** Requests over LAMBDA_MAX_REQUEST_BYTES (refused as on Lambda). */
  oversizedRequests: number;
}

interface Environment {
  child: ChildProcess;
  ready: Promise<void>;
  busy: boolean;
}

type Reply =
  | { type: 'ready' }
  | { type: 'result'; id: string; payload: string; rssBytes: number }
  | { type: 'error'; id: string; errorType: string; errorMessage: string; stack: string; rssBytes: number };

export class LambdaHost {
  private readonly pools = new Map<string, Environment[]>();
  /** Invocations waiting for an environment of a function (laptop cap reached), by function. */
  private readonly waiting = new Map<string, (() => void)[]>();
  private closed = false;
  /** Payload sizes by function name. */
  readonly stats = new Map<string, PayloadStats>();

  constructor(private readonly options: LambdaHostOptions) {}

  private spawn(fn: FunctionSpec): Environment {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      LANG: 'en_US.UTF-8',
      TZ: ':UTC',
      AWS_REGION: this.options.region,
      AWS_DEFAULT_REGION: this.options.region,
      AWS_LAMBDA_FUNCTION_NAME: fn.name,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.name}`,
      AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
      LAMBDA_TASK_ROOT: fn.codeDir,
      _HANDLER: `${fn.handlerFile}.${fn.handlerExport}`,
      ...this.options.environmentFor(fn),
      ...fn.environment,
    };
    const child = fork(RUNTIME, [fn.codeDir, fn.handlerFile, fn.handlerExport], {
      env,
      cwd: fn.codeDir,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // The host's own flags (tsx's loader, vitest's) are not Lambda's.
      execArgv: [],
    });
    for (const stream of [child.stdout, child.stderr]) {
      let pending = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (text: string) => {
        pending += text;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) this.options.onLog?.(fn.name, line);
      });
    }
    const ready = new Promise<void>((resolve, reject) => {
      const onMessage = (message: Reply) => {
        if (message.type !== 'ready') return;
        child.off('exit', onExit);
        child.off('message', onMessage);
        resolve();
      };
      const onExit = (code: number | null) =>
        reject(new Error(`environment of ${fn.name} exited during init (${code})`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
    ready.catch(() => {});
    const environment: Environment = { child, ready, busy: false };
    child.once('exit', () => {
      const pool = this.pools.get(fn.logicalId) ?? [];
      this.pools.set(
        fn.logicalId,
        pool.filter((each) => each !== environment),
      );
      this.wakeOne(fn);
    });
    return environment;
  }

  /** An environment of `fn` became free or went away: the longest waiting invocation tries again. */
  private wakeOne(fn: FunctionSpec): void {
    this.waiting.get(fn.logicalId)?.shift()?.();
  }

  private nextFree(fn: FunctionSpec): Promise<void> {
    return new Promise((resolve) => {
      const queue = this.waiting.get(fn.logicalId) ?? [];
      queue.push(resolve);
      this.waiting.set(fn.logicalId, queue);
    });
  }

  private statsOf(fn: FunctionSpec): PayloadStats {
    let stats = this.stats.get(fn.name);
    if (stats === undefined) {
      stats = {
        invocations: 0,
        largestRequestBytes: 0,
        largestResponseBytes: 0,
        oversizedResponses: 0,
        oversizedRequests: 0,
      };
      this.stats.set(fn.name, stats);
    }
    return stats;
  }

  private acquire(fn: FunctionSpec): Environment | undefined {
    const pool = this.pools.get(fn.logicalId) ?? [];
    this.pools.set(fn.logicalId, pool);
    const idle = pool.find((each) => !each.busy);
    if (idle !== undefined) {
      idle.busy = true;
      return idle;
    }
    const limit = fn.reservedConcurrency ?? DEFAULT_CONCURRENCY;
    if (pool.length >= limit) return undefined;
    const created = this.spawn(fn);
    created.busy = true;
    pool.push(created);
    return created;
  }

  /**
   * Invokes `fn` synchronously with `event` (already JSON text, as Lambda receives it). Waits for a
   * free environment when the laptop cap is reached; throttles when the template's reserved
   * concurrency is.
   */
  async invoke(fn: FunctionSpec, eventJson: string): Promise<Invocation> {
    if (this.closed) throw new Error('the Lambda host is closed');
    const bytes = Buffer.byteLength(eventJson);
    const stats = this.statsOf(fn);
    stats.invocations += 1;
    stats.largestRequestBytes = Math.max(stats.largestRequestBytes, bytes);
    if (bytes > LAMBDA_MAX_REQUEST_BYTES) {
      stats.oversizedRequests += 1;
      return { kind: 'request-too-large', bytes };
    }
    let environment = this.acquire(fn);
    while (environment === undefined) {
      if (fn.reservedConcurrency !== undefined) return { kind: 'throttled' };
      await this.nextFree(fn);
      if (this.closed) throw new Error('the Lambda host is closed');
      environment = this.acquire(fn);
    }
    const used = environment;
    try {
      await used.ready;
    } catch (error) {
      return { kind: 'error', errorType: 'Runtime.ExitError', errorMessage: String(error) };
    }
    const id = randomUUID();
    const timeoutMs = fn.timeoutSeconds * 1000;
    return new Promise<Invocation>((resolve) => {
      const finish = (outcome: Invocation, keep: boolean) => {
        clearTimeout(timer);
        used.child.off('message', onMessage);
        used.child.off('exit', onExit);
        if (keep) {
          used.busy = false;
          this.wakeOne(fn);
        } else used.child.kill('SIGKILL');
        resolve(outcome);
      };
      const timer = setTimeout(
        () =>
          finish(
            {
              kind: 'error',
              errorType: 'Sandbox.Timedout',
              errorMessage: `Task timed out after ${fn.timeoutSeconds.toFixed(2)} seconds`,
            },
            false,
          ),
        timeoutMs,
      );
      const onExit = (code: number | null, signal: string | null) =>
        finish(
          {
            kind: 'error',
            errorType: 'Runtime.ExitError',
            errorMessage: `Runtime exited with error: ${signal ?? `exit status ${code}`}`,
          },
          false,
        );
      const onMessage = (message: Reply) => {
        if (message.type === 'ready' || message.id !== id) return;
        if (message.rssBytes > fn.memoryMb * 1024 * 1024) {
          finish(
            {
              kind: 'error',
              errorType: 'Runtime.OutOfMemory',
              errorMessage: `Runtime exited with error: signal: killed (resident memory ${Math.round(message.rssBytes / 1048576)} MB > ${fn.memoryMb} MB)`,
            },
            false,
          );
          return;
        }
        if (message.type === 'error') {
          this.options.onLog?.(
            fn.name,
            `ERROR Invoke Error ${message.errorType}: ${message.errorMessage}\n${message.stack}`,
          );
          // An error during init (import) leaves the environment unusable, as on Lambda.
          const initFailure = message.errorType.startsWith('Runtime.');
          finish(
            { kind: 'error', errorType: message.errorType, errorMessage: message.errorMessage },
            !initFailure,
          );
          return;
        }
        const size = Buffer.byteLength(message.payload);
        stats.largestResponseBytes = Math.max(stats.largestResponseBytes, size);
        if (size > LAMBDA_MAX_RESPONSE_BYTES) {
          stats.oversizedResponses += 1;
          finish(
            {
              kind: 'error',
              errorType: 'Function.ResponseSizeTooLarge',
              errorMessage: `Response payload size (${size} bytes) exceeded maximum allowed payload size (${LAMBDA_MAX_RESPONSE_BYTES} bytes).`,
            },
            true,
          );
          return;
        }
        finish({ kind: 'result', payload: message.payload }, true);
      };
      used.child.on('message', onMessage);
      used.child.once('exit', onExit);
      used.child.send({
        type: 'invoke',
        id,
        event: JSON.parse(eventJson),
        context: {
          remainingMs: timeoutMs,
          fields: {
            functionName: fn.name,
            functionVersion: '$LATEST',
            invokedFunctionArn: fn.arn,
            memoryLimitInMB: String(fn.memoryMb),
            awsRequestId: id,
            logGroupName: `/aws/lambda/${fn.name}`,
            logStreamName: `offline/${id}`,
          },
        },
      });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const queue of this.waiting.values()) for (const wake of queue.splice(0)) wake();
    const all = [...this.pools.values()].flat();
    await Promise.all(
      all.map(
        (environment) =>
          new Promise<void>((resolve) => {
            if (environment.child.exitCode !== null || environment.child.signalCode !== null) resolve();
            else {
              environment.child.once('exit', () => resolve());
              environment.child.kill('SIGKILL');
            }
          }),
      ),
    );
  }
}
