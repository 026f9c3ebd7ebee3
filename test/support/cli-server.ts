/** `streambed` commands as child processes, the way a user runs them. */
import { type ChildProcess, spawn } from 'node:child_process';
import { type ProcessResult, runProcess } from './run-process.ts';

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Everything it wrote so far, stdout and stderr. */
  output(): string;
}

/**
 * `streambed start`; resolves once it logs its URL. The Kafka listener takes a free port unless the
 * arguments say otherwise: test files run in parallel, and 9092 can serve only one of them.
 */
export function startCliServer(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  const kafka = args.some((arg) => arg === '--no-kafka' || arg.startsWith('--kafka-port'))
    ? []
    : ['--kafka-port', '0'];
  return startCliProcess(['start', ...args, ...kafka], env);
}

/** Any long-running command (`start`, `handler serve`); resolves once it logs `listening on <url>`. */
export async function startCliProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'lambdas/runtime/cli.ts', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (\S+)/.exec(output);
      if (match?.[1]) resolve(match[1]);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}): ${output}`)));
  });
  return { url, child, output: () => output };
}

/** Stops a server with SIGTERM and waits for its exit code. */
export async function stopCliServer(server: ServerProcess): Promise<number | null> {
  if (server.child.exitCode !== null) return server.child.exitCode;
  const exited = new Promise<number | null>((resolve) => server.child.once('exit', (code) => resolve(code)));
  server.child.kill('SIGTERM');
  return exited;
}

export type CliResult = ProcessResult;

/** Runs one `streambed` command against `url`, feeding `stdin`, and collects its output. */
export function runCli(url: string, args: string[], stdin = ''): Promise<CliResult> {
  return runProcess(process.execPath, ['--import', 'tsx', 'lambdas/runtime/cli.ts', ...args], {
    env: { ...process.env, STREAMBED_URL: url },
    stdin,
  });
}
