/**
 * A URL target (DESIGN §12): each delivery is one JSON `POST` of the event to the subscription's URL.
 * These are outbound requests made on the user's behalf, from inside the platform, so the rules
 * below keep a subscription from reaching anything the user could not reach from outside:
 *
 * - `https:` everywhere; `http:` only to a loopback host (127.0.0.0/8, ::1, localhost). No
 *   credentials in the URL (they would show in status and logs) and no fragment.
 * - `allowPrivate: false` (the deployed stack): no destination that is private (10/8, 172.16/12,
 *   192.168/16, fc00::/7), loopback, link-local (169.254/16, which holds the instance metadata
 *   address, and fe80::/10), unspecified (0.0.0.0/8, ::), shared/CGNAT (100.64/10), or any of those
 *   in IPv4-mapped IPv6 form. The check is made on the addresses the socket actually connects to
 *   (a `lookup` hook on the request), not on a separate resolution beforehand, so a name that
 *   resolves to a public address at validation and a private one at delivery (DNS rebinding) is
 *   still refused, before any connection. `allowPrivate: true` (the local server) permits them.
 * - Redirects are never followed (a 3xx is a failure): following one would send the event, and its
 *   idempotency key, to a destination that was never validated.
 * - The response read is bounded (`MAX_EVENT_BYTES`), each call has a timeout, and the caller's
 *   signal aborts it.
 *
 * Like every target, `deliver` never throws for the destination's own failures and never retries.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import {
  type ClientRequest,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { StreamError } from '../core/errors.ts';
import { type Delivery, type DeliveryResult, MAX_EVENT_BYTES, type Target } from './target.ts';

export interface TargetUrlPolicy {
  /** Whether private, loopback and link-local destinations are allowed (true only off the deployed stack). */
  allowPrivate: boolean;
}

export interface ResolvedAddress {
  address: string;
  family: number;
}

export interface UrlTargetOptions extends TargetUrlPolicy {
  /** Per delivery, from the request to the end of the response (default 30,000). */
  timeoutMs?: number;
  /** Resolves a host name to every address it has (default `dns.lookup` with `all: true`). */
  resolve?: (host: string) => Promise<ResolvedAddress[]>;
}

export interface UrlTarget extends Target {
  /** Closes the kept-alive connections (after the subscription is deleted or its target changed). */
  close(): void;
}

export const DEFAULT_URL_TARGET_TIMEOUT_MS = 30_000;
/** How much of an error response is read for its excerpt; the rest is discarded. */
const ERROR_BODY_READ_BYTES = 4_096;
const ERROR_EXCERPT_CHARS = 200;
const IDLE_CONNECTION_MS = 4_000;

/** The address ranges refused when `allowPrivate` is false, each with the word the error uses. */
const REFUSED_RANGES: readonly { kind: string; blocks: BlockList }[] = [
  range('loopback', [
    ['127.0.0.0', 8, 'ipv4'],
    ['::1', 128, 'ipv6'],
  ]),
  range('private', [
    ['10.0.0.0', 8, 'ipv4'],
    ['172.16.0.0', 12, 'ipv4'],
    ['192.168.0.0', 16, 'ipv4'],
    ['fc00::', 7, 'ipv6'],
  ]),
  range('link-local', [
    ['169.254.0.0', 16, 'ipv4'],
    ['fe80::', 10, 'ipv6'],
  ]),
  range('unspecified', [
    ['0.0.0.0', 8, 'ipv4'],
    ['::', 128, 'ipv6'],
  ]),
  range('shared (CGNAT)', [['100.64.0.0', 10, 'ipv4']]),
];

function range(
  kind: string,
  subnets: [string, number, 'ipv4' | 'ipv6'][],
): { kind: string; blocks: BlockList } {
  const blocks = new BlockList();
  for (const [network, prefix, type] of subnets) blocks.addSubnet(network, prefix, type);
  return { kind, blocks };
}

/**
 * The kind of refused range `address` (an IP literal) falls in, or undefined. `BlockList` matches an
 * IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, also written `::ffff:a00:1`) against the IPv4 ranges.
 */
export function refusedRangeOf(address: string): string | undefined {
  const family = isIP(address);
  if (family === 0) return undefined;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  return REFUSED_RANGES.find(({ blocks }) => blocks.check(address, type))?.kind;
}

function isLoopbackAddress(address: string): boolean {
  return refusedRangeOf(address) === 'loopback';
}

/** The host of a parsed URL without IPv6 brackets or a trailing dot, lower case. */
function bareHost(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || isLoopbackAddress(host);
}

/** Whether a URL names this machine (localhost, 127.0.0.0/8, ::1). */
export function isLoopbackUrl(url: URL): boolean {
  return isLoopbackHost(bareHost(url));
}

function invalid(message: string): StreamError {
  return new StreamError('INVALID_REQUEST', `target.url ${message}`);
}

/**
 * Checks a subscription's target URL against the outbound rules (see the module comment) and returns
 * it parsed; throws `INVALID_REQUEST` naming `target.url` and what is wrong. A host name is resolved
 * only at delivery, where every address is checked again.
 */
export function validateTargetUrl(url: string, policy: TargetUrlPolicy): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid(`must be an absolute http(s) URL, got ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw invalid(`must use https (or http to a loopback host), got ${parsed.protocol}`);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw invalid('must not carry credentials (user:password@); send them another way');
  }
  if (parsed.hash !== '' || url.includes('#')) throw invalid('must not have a fragment (#...)');
  const host = bareHost(parsed);
  if (parsed.protocol === 'http:' && !isLoopbackHost(host)) {
    throw invalid(
      `must use https unless the host is loopback (127.0.0.0/8, ::1, localhost), got http://${host}`,
    );
  }
  if (!policy.allowPrivate) {
    const kind = host === 'localhost' ? 'loopback' : refusedRangeOf(host);
    if (kind !== undefined) {
      throw invalid(`host ${host} is a ${kind} destination, which this deployment does not allow`);
    }
  }
  return parsed;
}

/** The URL as status shows it: no credentials, query or fragment. */
export function describeTargetUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/** The error the connect-time check raises; its message becomes the delivery's error. */
class RefusedDestination extends Error {}

export function createUrlTarget(url: string, options: UrlTargetOptions): UrlTarget {
  const target = validateTargetUrl(url, options);
  const description = describeTargetUrl(target);
  const timeoutMs = options.timeoutMs ?? DEFAULT_URL_TARGET_TIMEOUT_MS;
  const resolve = options.resolve ?? ((host: string) => dnsLookup(host, { all: true, verbatim: true }));
  const secure = target.protocol === 'https:';
  // Plain http is allowed only to loopback, so there every resolved address must be loopback too.
  const check = (host: string, address: string): string | undefined => {
    if (!secure && !isLoopbackAddress(address)) {
      return `${host} resolves to ${address}, which is not loopback (http is allowed only to loopback)`;
    }
    if (options.allowPrivate) return undefined;
    const kind = refusedRangeOf(address);
    return kind === undefined
      ? undefined
      : `${host} resolves to ${address}, a ${kind} address, which this deployment does not allow`;
  };
  const lookup = checkedLookup(resolve, check);
  // Idle connections close before the 5 s keep-alive timeout common on servers (Node's included), so a
  // delivery rarely picks a connection the server is closing; `timeout` applies to idle sockets only.
  const agentOptions = { keepAlive: true, timeout: IDLE_CONNECTION_MS };
  const agent = secure ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
  const send = secure ? httpsRequest : httpRequest;

  const deliver = (delivery: Delivery, signal?: AbortSignal): Promise<DeliveryResult> =>
    new Promise((settle) => {
      if (signal?.aborted) {
        settle({ ok: false, error: `delivery to ${description} aborted` });
        return;
      }
      const body = Buffer.from(delivery.body, 'utf8');
      let request: ClientRequest | undefined;
      let done = false;
      const finish = (result: DeliveryResult) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        settle(result);
      };
      const fail = (error: string) => {
        finish({ ok: false, error });
        request?.destroy();
      };
      const onAbort = () => fail(`delivery to ${description} aborted`);
      const timer = setTimeout(() => fail(`${description} timed out after ${timeoutMs} ms`), timeoutMs);

      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        request = send(target, {
          method: 'POST',
          agent,
          lookup,
          headers: {
            'content-type': 'application/json',
            'content-length': body.length,
            'streambed-subscription': delivery.subscription,
            'idempotency-key': delivery.idempotencyKey,
            'user-agent': 'streambed-subscriptions',
          },
        });
      } catch (error) {
        // A header value Node refuses (a control character in the subscription name or key).
        fail(
          `request to ${description} could not be made: ${error instanceof Error ? error.message : String(error)}`,
        );
        return;
      }
      request.on('error', (error: NodeJS.ErrnoException) => {
        if (error instanceof RefusedDestination) fail(`${description}: ${error.message}`);
        else fail(`connection to ${description} failed: ${error.code ?? error.message}`);
      });
      request.on('response', (response) => {
        const status = response.statusCode ?? 0;
        if (status >= 300 && status < 400) {
          response.destroy();
          fail(`HTTP ${status} from ${description}: redirects are not followed`);
          return;
        }
        const success = status >= 200 && status < 300;
        if (success && Number(response.headers['content-length']) > MAX_EVENT_BYTES) {
          response.destroy();
          fail(`response from ${description} exceeds ${MAX_EVENT_BYTES} bytes`);
          return;
        }
        readBounded(response, success ? MAX_EVENT_BYTES : ERROR_BODY_READ_BYTES).then((read) => {
          if (!success) {
            fail(`HTTP ${status} from ${description}: ${excerpt(read.bytes)}`);
          } else if (read.exceeded) {
            fail(`response from ${description} exceeds ${MAX_EVENT_BYTES} bytes`);
          } else if (read.error !== undefined) {
            fail(`connection to ${description} failed while reading the response: ${read.error}`);
          } else {
            finish({ ok: true, response: parseJson(read.bytes) });
          }
        });
      });
      request.end(body);
    });

  return {
    description,
    deliver,
    close: () => agent.destroy(),
  };
}

/**
 * A `lookup` for `http(s).request`: resolves with `resolve` and refuses the whole answer if any
 * address fails `check` (the socket may try any of them). Node calls it with `all: true` when it
 * races address families, and expects a single address otherwise.
 */
function checkedLookup(
  resolve: (host: string) => Promise<ResolvedAddress[]>,
  check: (host: string, address: string) => string | undefined,
): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (addresses) => {
        const wanted = options.family === 4 || options.family === 6 ? options.family : undefined;
        const usable = addresses.filter((a) => wanted === undefined || a.family === wanted);
        const refusal = usable.map((a) => check(hostname, a.address)).find((reason) => reason !== undefined);
        const first = usable[0];
        if (refusal !== undefined) callback(new RefusedDestination(refusal), '', 0);
        else if (first === undefined) callback(notFound(hostname), '', 0);
        else if (options.all) (callback as (e: null, all: ResolvedAddress[]) => void)(null, usable);
        else callback(null, first.address, first.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}

function notFound(hostname: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' });
}

interface BoundedRead {
  bytes: Buffer;
  /** The body went past the limit; the connection was destroyed. */
  exceeded: boolean;
  /** The connection failed before the body ended. */
  error?: string;
}

/** Reads at most `limit` bytes of a response; past that it destroys the connection. Never rejects. */
function readBounded(response: IncomingMessage, limit: number): Promise<BoundedRead> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let length = 0;
    response.on('data', (chunk: Buffer) => {
      const room = limit - length;
      chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
      length += chunk.length;
      if (length > limit) {
        response.destroy();
        resolve({ bytes: Buffer.concat(chunks), exceeded: true });
      }
    });
    response.on('end', () => resolve({ bytes: Buffer.concat(chunks), exceeded: false }));
    response.on('error', (error: NodeJS.ErrnoException) =>
      resolve({ bytes: Buffer.concat(chunks), exceeded: false, error: error.code ?? error.message }),
    );
    response.on('close', () => {
      if (!response.complete) {
        resolve({ bytes: Buffer.concat(chunks), exceeded: false, error: 'connection closed' });
      }
    });
  });
}

/** The first characters of an error body, on one line. */
function excerpt(bytes: Buffer): string {
  const text = bytes.toString('utf8').replace(/\s+/g, ' ').trim();
  if (text === '') return '(empty body)';
  return text.length > ERROR_EXCERPT_CHARS ? `${text.slice(0, ERROR_EXCERPT_CHARS)}…` : text;
}

/** The body as JSON whatever its content type; null when empty or not JSON. */
function parseJson(bytes: Buffer): unknown {
  if (bytes.length === 0) return null;
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return null;
  }
}
