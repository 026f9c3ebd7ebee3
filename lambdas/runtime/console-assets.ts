/**
 * The web console's built files (console/dist, `npm run build:console`) under `GET /console` on the
 * local server (DESIGN §15). The files carry no secrets, so they are served without the token; every
 * API call the console then makes carries it.
 *
 * - `/console` and `/console/` answer index.html, `no-cache` (it names the current hashed assets).
 * - `/console/assets/<name>` answers a built asset, `immutable` for a year: its name changes with
 *   its content.
 * - Only names the build can make are looked up: each segment from `A-Z a-z 0-9 . _ -`, never `.` or
 *   `..`, no percent-escapes, so no path can leave the directory; anything else, or a file that is not
 *   there, is 404 `INVALID_REQUEST` like any unknown path.
 * - GET and HEAD only (405 otherwise). A console that was never built answers 503 saying how to build it.
 * - Served by `streambed console` (console-proxy.ts), index.html carries
 *   `<meta name="streambed-signing-proxy">`: the console then knows its calls are signed by the server
 *   that served it and never asks for a token (console/src/api.ts).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StreamError } from '../core/errors.ts';
import { errorResponse, HttpError, methodNotAllowed, routeNotFound } from '../http/errors.ts';
import type { HttpRequest, HttpResponse } from '../http/types.ts';

export const CONSOLE_PATH = '/console';

/** Where `npm run build:console` writes (console/vite.config.ts). */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../console/dist/', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/**
 * The page may load only what this server serves and talk only to it; Pico's icons are `data:` SVGs
 * and charts set inline styles.
 */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

export function isConsolePath(path: string): boolean {
  return path === CONSOLE_PATH || path.startsWith(`${CONSOLE_PATH}/`);
}

/** The file a console path names, relative to the build directory, or undefined when it names none. */
export function consoleFileOf(path: string): string | undefined {
  if (path === CONSOLE_PATH || path === `${CONSOLE_PATH}/`) return 'index.html';
  const segments = path.slice(CONSOLE_PATH.length + 1).split('/');
  if (segments.length > 2 || !segments.every((segment) => SEGMENT.test(segment))) return undefined;
  const [first, second] = segments;
  if (segments.length === 2 && first !== 'assets') return undefined;
  if (second === undefined && first === 'index.html') return 'index.html';
  const extension = /\.[a-z0-9]+$/.exec(segments.at(-1) ?? '')?.[0];
  if (extension === undefined || !(extension in CONTENT_TYPES)) return undefined;
  return segments.join('/');
}

function notBuilt(dir: string): HttpError {
  return new HttpError(
    503,
    'UNAVAILABLE',
    `the web console is not built (no ${join(dir, 'index.html')}): run \`npm run build:console\` (npm install does it too)`,
  );
}

/** The mark index.html carries when `streambed console` serves it; the console reads it (api.ts). */
export const SIGNING_PROXY_META = '<meta name="streambed-signing-proxy" content="true" />';

function withSigningProxyMark(html: Buffer): Buffer {
  const text = html.toString('utf8');
  const head = text.indexOf('</head>');
  const marked =
    head === -1
      ? `${SIGNING_PROXY_META}${text}`
      : `${text.slice(0, head)}${SIGNING_PROXY_META}\n${text.slice(head)}`;
  return Buffer.from(marked, 'utf8');
}

export interface ConsoleAssetsOptions {
  /** Served by `streambed console`: the page is marked so the console asks for no token. */
  signingProxy?: boolean;
}

export function createConsoleAssets(
  dir: string = DEFAULT_CONSOLE_DIR,
  options: ConsoleAssetsOptions = {},
): (request: HttpRequest) => Promise<HttpResponse> {
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return errorResponse(methodNotAllowed(request.method, request.path, ['GET', 'HEAD']));
    }
    const file = consoleFileOf(request.path);
    if (file === undefined) return errorResponse(routeNotFound(request.method, request.path));
    let body: Buffer;
    try {
      body = await readFile(join(dir, file));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        return errorResponse(new StreamError('INTERNAL', `reading the console's ${file} failed`));
      }
      if (file === 'index.html') return errorResponse(notBuilt(dir));
      return errorResponse(routeNotFound(request.method, request.path));
    }
    if (file === 'index.html' && options.signingProxy) body = withSigningProxyMark(body);
    const extension = /\.[a-z0-9]+$/.exec(file)?.[0] ?? '.html';
    return {
      status: 200,
      headers: {
        'content-type': CONTENT_TYPES[extension] ?? 'application/octet-stream',
        'cache-control': file.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
        ...SECURITY_HEADERS,
      },
      body,
    };
  };
}
