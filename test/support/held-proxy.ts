/**
 * An HTTP proxy in front of a Streambed server that holds back the first produce request: it is
 * forwarded (or, with `failFirst`, answered 503 once) only after a second produce request has passed
 * through, or after `holdMs` if none comes. A client that keeps one request in flight per topic never
 * sends a second while the first is held, so the hold ends by time and order is kept; one that sends
 * them side by side lets the later request commit first.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { serveHttp } from './local-http.ts';

export interface HeldProxy {
  url: string;
  /** Produce requests received so far. */
  produceRequests(): number;
  /** The most produce requests that were in the proxy at once. */
  mostInFlight(): number;
  close(): Promise<void>;
}

const isProduce = (req: IncomingMessage) => req.method === 'POST' && /\/records$/.test(req.url ?? '');

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startHeldProxy(
  target: string,
  options: { failFirst?: boolean; holdMs?: number } = {},
): Promise<HeldProxy> {
  let produceRequests = 0;
  let inFlight = 0;
  let mostInFlight = 0;
  let releaseFirst: () => void = () => {};
  const firstHeld = new Promise<void>((resolve) => {
    releaseFirst = resolve;
  });
  const server = await serveHttp((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      // Counted on arrival, before the body is read: the first to arrive is the one held.
      const produce = isProduce(req);
      const first = produce && produceRequests === 0;
      if (produce) {
        produceRequests++;
        inFlight++;
        mostInFlight = Math.max(mostInFlight, inFlight);
      }
      try {
        const body = await readBody(req);
        if (first) {
          const timer = setTimeout(releaseFirst, options.holdMs ?? 1000);
          await firstHeld;
          clearTimeout(timer);
          if (options.failFirst) {
            const error = { code: 'INTERNAL', message: 'held proxy: first produce fails', retriable: true };
            res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ error }));
            return;
          }
        }
        const headers = new Headers();
        for (const [name, value] of Object.entries(req.headers)) {
          if (typeof value === 'string' && name !== 'host' && name !== 'content-length')
            headers.set(name, value);
        }
        const answer = await fetch(`${target}${req.url}`, {
          method: req.method,
          headers,
          ...(body.byteLength > 0 ? { body } : {}),
        });
        const bytes = Buffer.from(await answer.arrayBuffer());
        res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? '' }).end(bytes);
        // A later request answered while the first is held: let the first go now.
        if (produce && !first) releaseFirst();
      } finally {
        if (produce) inFlight--;
      }
    })().catch((error: unknown) => {
      res.writeHead(502).end(String(error));
    });
  });
  return {
    url: server.url,
    produceRequests: () => produceRequests,
    mostInFlight: () => mostInFlight,
    close: async () => {
      releaseFirst();
      await server.close();
    },
  };
}
