/**
 * s3rver as a throwaway S3 for tests: one child process per call, on a free port, storing into a fresh
 * temp directory that is removed on stop. A plain function (no vitest import) so that a vitest
 * globalSetup can start one emulator for the whole run and hand its endpoint to the test files.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface S3Emulator {
  /** e.g. http://127.0.0.1:41234 — use with forcePathStyle (see s3ClientFor). */
  endpoint: string;
  stop(): Promise<void>;
}

const CHILD_SCRIPT = fileURLToPath(new URL('./s3rver-main.cjs', import.meta.url));
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;

type ChildMessage = { type: 'ready'; port: number } | { type: 'failed'; message: string };

export async function startS3Emulator(): Promise<S3Emulator> {
  const directory = await mkdtemp(join(tmpdir(), 'streambed-s3rver-'));
  // --openssl-legacy-provider: s3rver encrypts ListObjectsV2 continuation tokens with DES, which
  // OpenSSL 3 only offers in its legacy provider; without it every truncated listing is a 500, even
  // when paging by StartAfter. Output is inherited so a crash of the child is visible.
  const child = spawn(process.execPath, ['--openssl-legacy-provider', CHILD_SCRIPT, directory], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  // Last line of defence if stop() is never called: the child also exits when its IPC channel closes.
  const killOnExit = () => {
    child.kill('SIGKILL');
    rmSync(directory, { recursive: true, force: true });
  };
  process.on('exit', killOnExit);

  let port: number;
  try {
    port = await waitForReady(child);
  } catch (error) {
    process.off('exit', killOnExit);
    await stopChild(child);
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  // Let a process that forgets stop() still exit; the 'exit' hook above then kills the child.
  child.unref();
  child.channel?.unref();

  let stopping: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop() {
      stopping ??= (async () => {
        process.off('exit', killOnExit);
        await stopChild(child);
        await rm(directory, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}

function waitForReady(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => settle(new Error(`s3rver did not start within ${START_TIMEOUT_MS} ms`)),
      START_TIMEOUT_MS,
    );
    const onMessage = (message: ChildMessage) => {
      if (message.type === 'ready') settle(undefined, message.port);
      else settle(new Error(`s3rver failed to start: ${message.message}`));
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      settle(new Error(`s3rver exited before it was ready (code ${code}, signal ${signal})`));
    const onError = (error: Error) => settle(error);
    function settle(error: Error | undefined, port?: number) {
      clearTimeout(timer);
      child.off('message', onMessage).off('exit', onExit).off('error', onError);
      if (error !== undefined || port === undefined) reject(error ?? new Error('s3rver reported no port'));
      else resolve(port);
    }
    child.on('message', onMessage).on('exit', onExit).on('error', onError);
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}
