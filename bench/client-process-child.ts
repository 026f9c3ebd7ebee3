/**
 * The client process (bench/client-process.ts): an application's process of its own, with nothing in
 * its heap but what producing and reading need. Forked by the bench process, it answers calls over the
 * IPC channel (bench/child-link.ts) and exits when that channel closes.
 */
import { answerCalls, sendToParent } from './child-link.ts';
import { createBenchClient } from './client.ts';
import {
  bareClients,
  bareGetPass,
  barePostPass,
  type ClientCall,
  clientsByUrl,
  producePass,
  readPass,
} from './client-process.ts';
import { cpuProfiler } from './profiler.ts';

function main(): void {
  const clients = clientsByUrl((url) => createBenchClient({ url }));
  const bare = bareClients();
  const profiler = cpuProfiler();
  answerCalls<ClientCall>(async (call) => {
    switch (call.op) {
      case 'produce': {
        const { op: _, url, ...request } = call;
        return producePass(clients.of(url), request);
      }
      case 'barePost': {
        const { op: _, url, ...request } = call;
        return barePostPass(bare.of(url), request);
      }
      case 'read': {
        const { op: _, url, ...request } = call;
        return readPass(clients.of(url), request);
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
