/**
 * The reading process (bench/reader.ts): a consumer's process of its own, with nothing in its heap but
 * what reading needs. Forked by the bench process, it answers calls over the IPC channel
 * (bench/child-link.ts) and exits when that channel closes.
 */
import { answerCalls, sendToParent } from './child-link.ts';
import { type BenchClient, createBenchClient } from './client.ts';
import { cpuProfiler } from './profiler.ts';
import { bareClients, bareGetPass, type ReaderCall, readPass } from './reader.ts';

function main(): void {
  const clients = new Map<string, BenchClient>();
  const clientOf = (url: string): BenchClient => {
    let client = clients.get(url);
    if (client === undefined) {
      client = createBenchClient({ url });
      clients.set(url, client);
    }
    return client;
  };
  const bare = bareClients();
  const profiler = cpuProfiler();
  answerCalls<ReaderCall>(async (call) => {
    switch (call.op) {
      case 'read': {
        const { op: _, url, ...request } = call;
        return readPass(clientOf(url), request);
      }
      case 'bareGet': {
        const { op: _, url, responseBytes, ...request } = call;
        return bareGetPass(bare.of(url), responseBytes, request);
      }
      case 'profileStart':
        return profiler.start(call.intervalUs).then(() => null);
      case 'profileStop':
        return profiler.stop();
    }
  });
  process.on('disconnect', () => {
    bare.close();
    process.exit(0);
  });
  sendToParent({ kind: 'ready' });
}

main();
