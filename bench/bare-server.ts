/**
 * The bare transport baseline's server: node:http and nothing else, in a process of its own (forked by
 * bench/baselines.ts), so that it shares no event loop, heap or RSS sampler with the Streambed server.
 *
 * A POST's body is counted as it arrives and dropped (no copy, no allocation of ours); the answer is a
 * few bytes. A GET `/?bytes=N` is answered with the first N bytes of one buffer allocated at start.
 * What is left is what node:http and the loopback cost on this machine. Each call over the IPC channel
 * (bench/child-link.ts) is answered with the process's CPU time so far.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { answerCalls, sendToParent } from './child-link.ts';

/** Largest GET answered: above the largest fetch response (a whole 4 MiB batch). */
const BARE_MAX_BYTES = 8 * 1024 * 1024;

function main(): void {
  const held = Buffer.alloc(BARE_MAX_BYTES, 0x61);
  const server = createServer((request, response) => {
    if (request.method === 'POST') {
      let received = 0;
      request.on('data', (chunk: Buffer) => {
        received += chunk.byteLength;
      });
      request.on('end', () => {
        const answer = `{"received":${received}}`;
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': answer.length });
        response.end(answer);
      });
      return;
    }
    const asked = Number(new URL(request.url ?? '/', 'http://x').searchParams.get('bytes'));
    const bytes = Number.isInteger(asked) && asked >= 0 ? Math.min(asked, BARE_MAX_BYTES) : 0;
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes });
    response.end(held.subarray(0, bytes));
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    sendToParent({ kind: 'ready', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  });
  // The bench asks for this process's CPU time around a measurement (bench/cpu.ts).
  answerCalls(async () => process.cpuUsage());
  // The bench process went away: stop.
  process.on('disconnect', () => {
    server.close();
    process.exit(0);
  });
}

main();
