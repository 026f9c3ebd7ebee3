/** HTTP requests sent exactly as written: the path as given (fetch would resolve `..`), any header, a body written as the test likes. */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';

export interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * Sends a request whose body is written by `write` and never ended unless `write` ends it: proves
 * a server answers without waiting for (or holding) the whole body. `closed` settles when the
 * connection is.
 */
export function writtenRequest(
  url: string,
  options: { method: string; path: string; headers?: Record<string, string> },
  write: (request: ReturnType<typeof httpRequest>) => void,
): Promise<RawAnswer & { closed: Promise<void> }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: options.method,
        path: options.path,
        headers: options.headers,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            closed: new Promise((done) => {
              if (request.socket?.destroyed) done();
              else request.socket?.once('close', () => done());
            }),
          }),
        );
      },
    );
    // A server closes the connection on a refused body: writes after that fail, which is expected.
    request.on('error', (error) => {
      if (!('code' in error) || (error.code !== 'EPIPE' && error.code !== 'ECONNRESET')) reject(error);
    });
    write(request);
  });
}

/** One whole request: `body` (if any) written at once. */
export function rawRequest(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string | Uint8Array,
): Promise<RawAnswer> {
  return writtenRequest(base, { method, path, headers }, (request) => request.end(body));
}
