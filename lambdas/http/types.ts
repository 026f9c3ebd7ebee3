/**
 * The transport-neutral request and response the router speaks. The Lambda handlers (API Gateway
 * events) and the local node:http server both adapt to these, so one router serves both and local
 * behaviour predicts AWS.
 */

export interface HttpRequest {
  /** Upper-case method, e.g. `GET`. */
  method: string;
  /**
   * The path as it was on the wire, without the query string and still percent-encoded: the router
   * splits it on `/` first and decodes each segment afterwards, so an encoded `%2F` stays inside one
   * path parameter instead of creating a new segment.
   */
  path: string;
  query: URLSearchParams;
  /**
   * The query string as the client sent it (still percent-encoded, no `?`), where the transport has it
   * (the local server, HTTP API events); the Lambda event bound measures it.
   */
  rawQuery?: string;
  /** Header names lower-cased; repeated headers joined with `, ` as RFC 9110 allows. */
  headers: Record<string, string>;
  /**
   * The raw body; empty when there is none. Valid until the handler settles: the local server reuses
   * the buffer for a later request after that, so anything kept longer must be copied.
   */
  body: Uint8Array;
}

export interface HttpResponse {
  status: number;
  /** Header names lower-cased. */
  headers: Record<string, string>;
  /** A string is sent as UTF-8; bytes as they are (see `textBytes`). */
  body: Uint8Array | string;
  /**
   * The bytes of the body are UTF-8 text, a string body written straight as bytes (a JSON fetch page):
   * Lambda carries it as text, as it would the string, rather than base64-encoded.
   */
  textBytes?: boolean;
  /**
   * Called once the body has been sent or dropped, when the body is a reused buffer (a binary fetch's
   * pooled read) that may go back to its pool then. Whoever consumes a response calls it, at most once.
   */
  release?: () => void;
  /**
   * For a text body (a string, or `textBytes`), at most the bytes it takes inside a Lambda result document
   * (lambda-payload.ts), when the route has measured it already: spares measuring a large body twice.
   */
  bodyDocumentBytesAtMost?: number;
}

export type HttpHandler = (request: HttpRequest) => Promise<HttpResponse>;
