/**
 * The local server killed with SIGKILL under load keeps every acknowledged record: restarted on the
 * same data directory, each acked offset holds the acked value, with no gaps.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type ServerProcess, startCliServer } from '../support/cli-server.ts';
import { freePort } from '../support/free-port.ts';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

async function startServer(dataDir: string, port: number): Promise<ServerProcess> {
  const server = await startCliServer(['--port', String(port), '--data-dir', dataDir]);
  children.push(server.child);
  return server;
}

async function call(url: string, path: string, init?: RequestInit): Promise<Response> {
  return fetch(`${url}${path}`, {
    ...init,
    headers: { 'content-type': 'application/json', ...init?.headers },
  });
}

describe('crash recovery of the local server', () => {
  it('keeps every acknowledged record after kill -9 and serves them after a restart', async () => {
    // Prepare
    const dataDir = mkdtempSync(join(tmpdir(), 'streambed-crash-'));
    const port = await freePort();
    let server = await startServer(dataDir, port);
    expect(
      (
        await call(server.url, '/v1/topics', {
          method: 'POST',
          body: JSON.stringify({ name: 'crash', partitions: 2 }),
        })
      ).status,
    ).toBe(201);
    // Act: four writers produce until the process is killed mid-flight
    const acked = new Map<string, string>();
    let stop = false;
    const writer = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const value = `w${w}-${i}`;
        try {
          const response = await call(server.url, '/v1/topics/crash/records', {
            method: 'POST',
            body: JSON.stringify({ records: [{ value, partition: w % 2 }] }),
          });
          if (response.status !== 200) continue;
          const { offsets } = (await response.json()) as { offsets: { partition: number; offset: number }[] };
          const [ack] = offsets;
          if (ack) acked.set(`${ack.partition}:${ack.offset}`, value);
        } catch {
          return; // the connection died with the server: this request was never acknowledged
        }
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    server.child.kill('SIGKILL');
    stop = true;
    await Promise.all(writers);
    server = await startServer(dataDir, port);
    // Assess: every acked record is at its offset, and offsets are contiguous from 0
    expect(acked.size).toBeGreaterThan(10);
    for (const partition of [0, 1]) {
      const response = await call(
        server.url,
        `/v1/topics/crash/partitions/${partition}/records?offset=0&max_bytes=3000000`,
      );
      const page = (await response.json()) as {
        records: { offset: number; value: string }[];
        highWatermark: number;
      };
      expect(page.records.map((r) => r.offset)).toEqual(
        Array.from({ length: page.highWatermark }, (_, i) => i),
      );
      for (const record of page.records) {
        const expected = acked.get(`${partition}:${record.offset}`);
        if (expected !== undefined) expect(record.value).toBe(expected);
      }
      const ackedHere = [...acked.keys()].filter((k) => k.startsWith(`${partition}:`)).length;
      expect(page.highWatermark).toBeGreaterThanOrEqual(ackedHere);
    }
  }, 60_000);
});
