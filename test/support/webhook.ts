/** A webhook on loopback that records every subscription event it receives, for delivery tests. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KafkaEvent } from '../../lambdas/subscriptions/kafka-event.ts';
import { type LocalHttpServer, serveHttp } from './local-http.ts';

export interface Received {
  subscription: string;
  idempotencyKey: string;
  partition: number;
  offsets: number[];
  values: (string | null)[];
}

export interface Reply {
  status: number;
  body?: unknown;
}

export interface Webhook extends LocalHttpServer {
  received: Received[];
  /** How the webhook answers (200 with no body by default). */
  reply: (event: Received) => Reply | Promise<Reply>;
  /** Offsets answered 2xx without batchItemFailures, per partition, in arrival order. */
  delivered(partition: number): number[];
}

export async function startWebhook(): Promise<Webhook> {
  const received: Received[] = [];
  const ok = new Set<Received>();
  const hook = {
    received,
    reply: (_event: Received): Reply | Promise<Reply> => ({ status: 200 }),
    delivered: (partition: number) =>
      received.filter((r) => r.partition === partition && ok.has(r)).flatMap((r) => r.offsets),
  };
  const server = await serveHttp((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const event = JSON.parse(Buffer.concat(chunks).toString()) as KafkaEvent;
      const records = Object.values(event.records)[0] ?? [];
      const entry: Received = {
        subscription: String(req.headers['streambed-subscription']),
        idempotencyKey: String(req.headers['idempotency-key']),
        partition: records[0]?.partition ?? -1,
        offsets: records.map((r) => r.offset),
        values: records.map((r) =>
          r.value === undefined ? null : Buffer.from(r.value, 'base64').toString(),
        ),
      };
      received.push(entry);
      const reply = await webhook.reply(entry);
      if (reply.status < 300 && reply.body === undefined) ok.add(entry);
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
    });
  });
  const webhook: Webhook = Object.assign(server, hook);
  return webhook;
}
