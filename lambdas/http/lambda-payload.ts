/**
 * What a request and a response weigh where Lambda bounds them (DESIGN §11): the request event API
 * Gateway builds (HTTP API, payload format 2.0) and the result document the function returns. Both are
 * JSON documents, each at most MAX_LAMBDA_PAYLOAD_BYTES of UTF-8. The router (which the local server and
 * every Lambda run) and the Lambda adapter (apigw.ts) measure with these functions, so the local server
 * refuses exactly what the deployed stack cannot carry.
 *
 * Request bodies. The event carries the body in its `body` string, either as text (JSON-escaped,
 * `isBase64Encoded: false`) or base64-encoded (`isBase64Encoded: true`). API Gateway passes a body as
 * text only when its media type (parameters such as `charset` ignored) is `text/*`,
 * `application/json`, `application/xml` or `application/javascript`. Every other body is base64: no
 * Content-Type, `application/x-www-form-urlencoded`, and vendor types such as
 * `application/vnd.streambed.produce.v1` and `application/vnd.schemaregistry.v1+json`. Sources: the
 * HTTP API Lambda integration guide says only that a binary body is base64-encoded
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html);
 * which types count as text was observed on a live HTTP API and is recorded in
 * https://github.com/ministackorg/ministack/pull/766. docs/api.md (Limits) states the same rule.
 *
 * Responses. The result document is `{statusCode, headers, body, isBase64Encoded?}`; a JSON response's
 * text sits in `body` as a JSON string, so its escaping counts twice: a `"` inside a record value is 2
 * bytes of the response text and 4 of the document, a control character 6 (`\u0001`) and then 7.
 * Binary responses are base64 (×4/3, nothing to escape).
 *
 * Sizes are what `JSON.stringify` writes (the Node.js runtime serializes the handler's result with
 * it; events are assumed escaped the same way): `"` `\` and the control characters \b \t \n \f \r take
 * 2 bytes, the other control characters 6, a lone UTF-16 surrogate 6, everything else its UTF-8 bytes.
 */
import { Buffer, isUtf8 } from 'node:buffer';
import { LAMBDA_EVENT_RESERVE_BYTES, MAX_LAMBDA_PAYLOAD_BYTES } from '../../client/wire/limits.ts';
import { hasControlByte } from './byte-scan.ts';
import type { HttpRequest, HttpResponse } from './types.ts';

const lenientUtf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** Media types API Gateway passes as text besides `text/*` (see the module comment). */
const TEXT_MEDIA_TYPES: ReadonlySet<string> = new Set([
  'application/json',
  'application/xml',
  'application/javascript',
]);

/** Whether API Gateway puts a body of this Content-Type into the event as text (else as base64). */
export function isTextBody(contentType: string | undefined): boolean {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return type.startsWith('text/') || TEXT_MEDIA_TYPES.has(type);
}

/** Characters of the base64 of `byteLength` bytes (padded). */
export function base64Length(byteLength: number): number {
  return Math.ceil(byteLength / 3) * 4;
}

/** Control characters JSON writes as a two-character escape (\b \t \n \f \r); the others take six. */
const isShortEscape = (code: number): boolean =>
  code === 0x08 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d;

/** Characters whose JSON size is not their UTF-8 size plus one for `"` and `\`. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for.
const NEEDS_SCAN = /[\u0000-\u001f\ud800-\udfff]/;

function occurrences(text: string, char: string): number {
  let count = 0;
  for (let at = text.indexOf(char); at !== -1; at = text.indexOf(char, at + 1)) count++;
  return count;
}

/**
 * UTF-8 bytes of `text` inside a JSON string: exactly `Buffer.byteLength(JSON.stringify(text)) - 2`.
 * Text without control characters or surrogates (all of JSON.stringify's own output but non-BMP
 * characters) is measured natively: its UTF-8 bytes, plus one per `"` and `\`.
 */
export function jsonStringContentBytes(text: string): number {
  if (!NEEDS_SCAN.test(text))
    return Buffer.byteLength(text) + occurrences(text, '"') + occurrences(text, '\\');
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20) bytes += isShortEscape(code) ? 2 : 6;
    else if (code === 0x22 || code === 0x5c) bytes += 2;
    else if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code < 0xd800 || code > 0xdfff) bytes += 3;
    else if (code <= 0xdbff && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4; // a surrogate pair: one 4-byte UTF-8 sequence
      i++;
    } else bytes += 6; // a lone surrogate: JSON.stringify writes it as \udXXX
  }
  return bytes;
}

/**
 * The same for UTF-8 bytes taken as text. Valid UTF-8 is measured without decoding it; bytes that are
 * not valid UTF-8 reach the event as text with each bad sequence replaced by U+FFFD (3 bytes), so they
 * are measured as that decoding gives them — a body of 0xFF bytes is three times its length there.
 */
export function utf8JsonStringContentBytes(bytes: Uint8Array): number {
  if (!isUtf8(bytes)) return jsonStringContentBytes(lenientUtf8.decode(bytes));
  let extra = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i] as number;
    if (byte < 0x20) extra += isShortEscape(byte) ? 1 : 5;
    else if (byte === 0x22 || byte === 0x5c) extra += 1;
  }
  return bytes.length + extra;
}

/** A request as Lambda receives it: the event's size and how its body travels in it. */
export interface LambdaEventSize {
  bytes: number;
  /** Whether API Gateway base64-encodes the body (else it is JSON-escaped text). */
  base64: boolean;
}

function decodedPath(rawPath: string): string {
  try {
    return decodeURIComponent(rawPath);
  } catch {
    return rawPath;
  }
}

/**
 * The size of the event API Gateway would send for `request`: exact for the body, the path, the query
 * and the headers (what the router can see), plus LAMBDA_EVENT_RESERVE_BYTES for the rest of it.
 * `pathParameters` are the matched route's, when there is one. Headers and query are counted twice,
 * as a REST API's payload format 1.0 carries them (single- and multi-value maps), so the bound holds
 * for both API flavors; REST APIs pass only Streambed's binary types as base64, so measuring bodies by
 * the HTTP API's rule never undercounts either.
 */
export function lambdaEventSize(
  request: HttpRequest,
  pathParameters?: Readonly<Record<string, string>>,
): LambdaEventSize {
  const base64 = !isTextBody(request.headers['content-type']);
  const length = request.body.byteLength;
  const bodyBytes = base64 ? base64Length(length) : utf8JsonStringContentBytes(request.body);
  return { bytes: eventShellBytes(request, pathParameters, base64) + bodyBytes, base64 };
}

/** The event's bytes but its body's characters (see lambdaEventSize). */
function eventShellBytes(
  request: HttpRequest,
  pathParameters: Readonly<Record<string, string>> | undefined,
  base64: boolean,
): number {
  const queryStringParameters: Record<string, string> = {};
  for (const name of new Set(request.query.keys())) {
    queryStringParameters[name] = request.query.getAll(name).join(',');
  }
  // Everything but the body, shaped as in the event; the body's own bytes are added to its "".
  // The path is carried as sent twice in a 1.0 event (`path`, `requestContext.path`) and once decoded
  // in a 2.0 event: both are counted. The query as the client sent it (`%30` is 3 bytes, not 1).
  const shell = {
    version: '2.0',
    rawPath: request.path,
    path: request.path,
    rawQueryString: request.rawQuery ?? request.query.toString(),
    headers: request.headers,
    multiValueHeaders: Object.fromEntries(
      Object.entries(request.headers).map(([name, value]) => [name, [value]]),
    ),
    queryStringParameters,
    multiValueQueryStringParameters: Object.fromEntries(
      [...new Set(request.query.keys())].map((name) => [name, request.query.getAll(name)]),
    ),
    requestContext: { http: { method: request.method, path: decodedPath(request.path) } },
    pathParameters: pathParameters ?? {},
    body: '',
    isBase64Encoded: base64,
  };
  return Buffer.byteLength(JSON.stringify(shell)) + LAMBDA_EVENT_RESERVE_BYTES;
}

/**
 * The request's event (lambdaEventSize) when it exceeds `limit`, else undefined. A text body of valid
 * UTF-8 without control characters takes at most twice its bytes in the event (only `"` and `\` grow),
 * which settles most requests without counting; the rest are measured exactly.
 */
export function oversizedEvent(
  request: HttpRequest,
  pathParameters?: Readonly<Record<string, string>>,
  limit: number = MAX_LAMBDA_PAYLOAD_BYTES,
): LambdaEventSize | undefined {
  const { body } = request;
  if (isTextBody(request.headers['content-type']) && isUtf8(body) && !hasControlByte(body)) {
    if (eventShellBytes(request, pathParameters, false) + 2 * body.byteLength <= limit) return undefined;
  }
  const event = lambdaEventSize(request, pathParameters);
  return event.bytes > limit ? event : undefined;
}

/** Whether a response's body travels in its result document as text (else base64). */
const isText = (response: HttpResponse): boolean =>
  typeof response.body === 'string' || response.textBytes === true;

/** Everything of a result document but the characters of its body (apigw.ts builds the same shape). */
function resultShellBytes(response: HttpResponse): number {
  const binary = !isText(response);
  const shell = {
    statusCode: response.status,
    headers: response.headers,
    body: '',
    ...(binary ? { isBase64Encoded: true } : {}),
  };
  return Buffer.byteLength(JSON.stringify(shell));
}

/**
 * Bytes of the result document `response` becomes (apigw.ts `toApiGatewayResult`): exactly
 * `Buffer.byteLength(JSON.stringify(result))`.
 */
export function lambdaResponseBytes(response: HttpResponse): number {
  const { body } = response;
  const bodyBytes =
    typeof body === 'string'
      ? jsonStringContentBytes(body)
      : response.textBytes === true
        ? utf8JsonStringContentBytes(body)
        : base64Length(body.byteLength);
  return resultShellBytes(response) + bodyBytes;
}

/**
 * The size of `response`'s result document when it exceeds `limit`, else undefined. A body the route
 * measured (`bodyDocumentBytesAtMost`), or a text body without control characters or surrogates (it
 * takes at most twice its UTF-8 bytes), settles most responses without counting; the rest are measured
 * exactly.
 */
export function oversizedResponseBytes(
  response: HttpResponse,
  limit: number = MAX_LAMBDA_PAYLOAD_BYTES,
): number | undefined {
  const { body, bodyDocumentBytesAtMost } = response;
  if (isText(response) && bodyDocumentBytesAtMost !== undefined) {
    if (resultShellBytes(response) + bodyDocumentBytesAtMost <= limit) return undefined;
  } else if (typeof body === 'string' && !NEEDS_SCAN.test(body)) {
    if (resultShellBytes(response) + 2 * Buffer.byteLength(body) <= limit) return undefined;
  }
  const bytes = lambdaResponseBytes(response);
  return bytes > limit ? bytes : undefined;
}
