/**
 * The Kafka listener against hostile or unusual frames: what an unauthenticated client can make the
 * server hold, and frames that lie about their sizes.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KafkaTestServer, startKafkaTestServer } from '../support/kafka-server.ts';

let secured: KafkaTestServer;

beforeAll(async () => {
  secured = await startKafkaTestServer({ token: 'review-token' });
});
afterAll(() => secured.close());

/** Writes `bytes` on a fresh connection and resolves once the server closes it. */
function closedAfter(broker: string, bytes: Buffer): Promise<void> {
  const [host, port] = broker.split(':');
  const socket = connect(Number(port), host);
  return new Promise((resolve, reject) => {
    socket.on('close', () => resolve());
    socket.on('error', reject);
    socket.write(bytes);
  });
}

describe('frames before authentication', () => {
  it('closes a connection announcing a frame larger than an unauthenticated one may be', async () => {
    // Only a size prefix, of 1 MiB (Kafka allows 512 KiB before authentication: sasl.server.max.receive.size).
    // A server that waits for the frame's bytes keeps this connection open.
    const size = Buffer.alloc(4);
    size.writeInt32BE(1024 * 1024, 0);
    await closedAfter(secured.broker, size);
  });
});
