/** A real node:http server on loopback for outbound-request tests, counting requests and connections. */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

export interface LocalHttpServer {
  /** `http://127.0.0.1:<port>`, without a trailing slash. */
  url: string;
  requests(): number;
  connections(): number;
  close(): Promise<void>;
}

export async function serveHttp(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<LocalHttpServer> {
  let requests = 0;
  let connections = 0;
  const server = createServer((req, res) => {
    requests += 1;
    handler(req, res);
  });
  server.on('connection', () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => requests,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
