/**
 * A peer's server (redis-server, nats-server) started by the bench for one run: found on PATH, given
 * a free port on 127.0.0.1 and a temporary directory of its own, and considered ready when it logs
 * its ready line. `stop` asks it to shut down (SIGTERM), kills it if it has not exited within its
 * grace (STOP_GRACE_MS), and removes the directory; it is safe to call more than once. Asked, not
 * killed: a Redis rewriting its append-only file in a forked child stops that child and removes its
 * temporary file as it shuts down, where a SIGKILL leaves the child writing into the directory being
 * removed.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

const READY_TIMEOUT_MS = 20_000;
/** How long a server may take to shut down once asked before it is killed. */
export const STOP_GRACE_MS = 5_000;

/** The executable `binary` in one of PATH's directories, or undefined. */
export function onPath(binary: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Where a peer's server is looked for: PATH's directories (default the process's). */
export interface PeerOptions {
  path?: string;
}

/**
 * The server binary `name` on PATH and the version its `--version` prints (`pattern`'s first group),
 * or why the peer is skipped: its Debian package names the binary.
 */
export function findServer(
  name: string,
  pattern: RegExp,
  options: PeerOptions,
): { binary: string; version: string } | { skipped: string } {
  const binary = onPath(name, options.path);
  if (binary === undefined) return { skipped: `not installed (apt-get install ${name})` };
  const version = pattern.exec(execFileSync(binary, ['--version'], { encoding: 'utf8' }))?.[1];
  return { binary, version: version ?? '?' };
}

/** A port nothing listens on right now (the server binds it a moment later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface PeerServer {
  port: number;
  /** The server's process id, for its CPU time (bench/cpu.ts processCpu). */
  pid: number | undefined;
  dir: string;
  stop(): Promise<void>;
}

export interface PeerServerSpec {
  /** The executable's path (from onPath). */
  binary: string;
  args(port: number, dir: string): string[];
  /** A line on stdout or stderr that says the server accepts connections. */
  ready: RegExp;
  /** How long it may take to shut down once asked (default STOP_GRACE_MS). */
  stopGraceMs?: number;
}

export async function startPeerServer(spec: PeerServerSpec): Promise<PeerServer> {
  const dir = mkdtempSync(join(tmpdir(), 'streambed-bench-peer-'));
  const port = await freePort();
  const child = spawn(spec.binary, spec.args(port, dir), { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopped = false;
  const stop = async () => {
    if (!stopped) {
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), spec.stopGraceMs ?? STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }
    }
    // A process the server forked may still be leaving a file behind as it ends.
    rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  };
  try {
    await waitForReady(child, spec);
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, pid: child.pid, dir, stop };
}

function waitForReady(child: ChildProcess, spec: PeerServerSpec): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => fail(new Error(`${spec.binary} was not ready within ${READY_TIMEOUT_MS} ms: ${output}`)),
      READY_TIMEOUT_MS,
    );
    const onData = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-4000);
      if (spec.ready.test(output)) done();
    };
    const onExit = (code: number | null) => fail(new Error(`${spec.binary} exited with ${code}: ${output}`));
    const cleanup = () => {
      clearTimeout(timer);
      child.off('exit', onExit);
      child.off('error', fail);
    };
    function done() {
      cleanup();
      resolve();
    }
    function fail(error: Error) {
      cleanup();
      reject(error);
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', fail);
  });
}
