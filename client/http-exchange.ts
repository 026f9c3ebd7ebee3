/**
 * One HTTP exchange over node:http / node:https with a keep-alive agent: the transport's default path.
 * Not WHATWG fetch, only what the transport needs: the request body is written as given (no copy), and
 * the answer comes back as its status, headers and body bytes, read once into one Buffer (a body that
 * arrived in one chunk is handed on as that chunk). Redirects are not followed: a 3xx is the answer.
 *
 * Failures reject with Node's own error (its `code`: ECONNREFUSED, ENOTFOUND, ECONNRESET…), or with a
 * `TimeoutError` when the whole exchange, body included, takes longer than `timeoutMs`: the same
 * errors the transport sees from fetch, so one function names the cause for both. A request node:http
 * will not build (a header value HTTP cannot carry) rejects with UnsendableRequest, and nothing is sent.
 */
import {
  type ClientRequest,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingHttpHeaders,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface Exchange {
  status: number;
  headers: IncomingHttpHeaders;
  bytes: Uint8Array;
  /** performance.now() when the status and headers arrived. */
  answeredAt: number;
}

/** A request node:http refused to build (its message names the header or method): it was never sent. */
export class UnsendableRequest extends Error {
  constructor(cause: Error) {
    super(cause.message, { cause });
    this.name = 'UnsendableRequest';
  }
}

/**
 * A keep-alive agent for the URL's scheme. Node's agent unrefs an idle socket, so sockets kept for
 * reuse never hold the process open once the work is done. An idle socket is closed after 4 s (as
 * undici does), or sooner when the server announced a shorter `Keep-Alive: timeout`, so a request is
 * rarely sent on a socket the server is closing. https verifies the server's certificate (Node's
 * default CAs, or NODE_EXTRA_CA_CERTS).
 */
export function keepAliveAgent(url: URL): HttpAgent {
  const options = { keepAlive: true, timeout: 4_000 };
  return url.protocol === 'https:' ? new HttpsAgent(options) : new HttpAgent(options);
}

export function exchange(
  url: URL,
  init: {
    method: string;
    headers: Record<string, string>;
    body: Uint8Array | undefined;
    timeoutMs: number;
    agent: HttpAgent;
  },
): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const headers =
      init.body === undefined || hasHeader(init.headers, 'content-length')
        ? init.headers
        : { ...init.headers, 'content-length': String(init.body.byteLength) };
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    // node:http checks the method and headers as it builds the request, and throws for one HTTP cannot
    // carry (a token holding a newline): nothing was sent, and no timer is left behind.
    let request: ClientRequest;
    try {
      request = send(url, { method: init.method, headers, agent: init.agent });
    } catch (error) {
      reject(new UnsendableRequest(error as Error));
      return;
    }
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      reject(error);
    };
    const timer = setTimeout(
      () => fail(new DOMException('The operation was aborted due to timeout', 'TimeoutError')),
      init.timeoutMs,
    );
    request.on('error', fail);
    request.on('response', (response) => {
      const answeredAt = performance.now();
      const chunks: Buffer[] = [];
      let length = 0;
      response.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        length += chunk.byteLength;
      });
      response.on('error', fail);
      response.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const bytes = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, length);
        resolve({ status: response.statusCode ?? 0, headers: response.headers, bytes, answeredAt });
      });
      response.on('close', () => {
        if (!response.complete)
          fail(
            Object.assign(new Error('the connection closed before the response ended'), {
              code: 'ECONNRESET',
            }),
          );
      });
    });
    request.end(init.body);
  });
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  for (const key of Object.keys(headers)) if (key.toLowerCase() === name) return true;
  return false;
}

/** The `get` of WHATWG Headers over Node's parsed headers (names already lower case). */
export function headerGetter(headers: IncomingHttpHeaders): { get(name: string): string | null } {
  return {
    get(name) {
      const value = headers[name.toLowerCase()];
      if (value === undefined) return null;
      return Array.isArray(value) ? value.join(', ') : value;
    },
  };
}
