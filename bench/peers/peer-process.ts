/**
 * A peer system's client process (bench/peers/own-process.ts): opens the client its one call names,
 * runs the workload through it, closes it and answers with the measurement. Exits when the bench
 * process closes the channel.
 */
import { answerCalls, sendToParent } from '../child-link.ts';
import { natsClient } from './nats.ts';
import type { PeerClientCall, PeerClientSpec } from './own-process.ts';
import { redisClient } from './redis.ts';
import { streambedClient } from './streambed.ts';
import { measurePeer, type PeerClient, type PeerWorkload } from './workload.ts';

function open(spec: PeerClientSpec, workload: PeerWorkload): Promise<PeerClient> {
  switch (spec.system) {
    case 'redis':
      return redisClient(spec.port, workload);
    case 'nats':
      return natsClient(spec.port, workload);
    case 'streambed-json':
    case 'streambed-sdk':
      return streambedClient(spec.system === 'streambed-json' ? 'json' : 'binary', spec.url, workload);
  }
}

function main(): void {
  answerCalls<PeerClientCall>(async ({ spec, workload, about, server }) => {
    const client = await open(spec, workload);
    try {
      return await measurePeer(client.target, workload, about, server);
    } finally {
      await client.close();
    }
  });
  process.on('disconnect', () => process.exit(0));
  sendToParent({ kind: 'ready' });
}

main();
