/**
 * The web console in real headless Chromium: Debian's `chromium` package driven by playwright-core
 * (`.ci/run` installs it when missing). Without it the browser suites report themselves skipped with
 * the reason. The console is built into a directory of the test's own, so the tests see the sources as
 * they are and never race another build of console/dist.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import {
  type LocalServer,
  type LocalServerOptions,
  startLocalServer,
} from '../../lambdas/runtime/local-server.ts';
import { runProcess } from './run-process.ts';

export const CHROMIUM_PATH = process.env.STREAMBED_CHROMIUM ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined when they can. */
export function browserSkipReason(): string | undefined {
  if (!existsSync(CHROMIUM_PATH)) {
    return `no Chromium at ${CHROMIUM_PATH} (apt-get install chromium, or set STREAMBED_CHROMIUM)`;
  }
  return undefined;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu'],
  });
}

const pageErrors = new WeakMap<Page, string[]>();

/**
 * A page in a context of its own that notes every script error and every Content-Security-Policy
 * refusal (the policy the server sends must let the console run and style itself); close it with
 * `closeWatchedPage` to read them.
 */
export async function openWatchedPage(browser: Browser, width = 1280, height = 800): Promise<Page> {
  const context = await browser.newContext({ viewport: { width, height } });
  // Below a test's own timeout, so a condition that never comes fails with Playwright's own account.
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) errors.push(message.text());
  });
  pageErrors.set(page, errors);
  return page;
}

/** Closes a page from `openWatchedPage`: the script errors and policy refusals it had. */
export async function closeWatchedPage(page: Page): Promise<string[]> {
  await page.close();
  return pageErrors.get(page) ?? [];
}

export interface BuiltConsole {
  dir: string;
  remove(): void;
}

/** `npm run build:console` into a fresh temporary directory. */
export async function buildConsole(): Promise<BuiltConsole> {
  const root = mkdtempSync(join(tmpdir(), 'streambed-console-build-'));
  const dir = join(root, 'dist');
  const built = await runProcess(
    join('node_modules', '.bin', 'vite'),
    ['build', '--config', 'console/vite.config.ts', '--outDir', dir, '--emptyOutDir', '--logLevel', 'warn'],
    { env: process.env },
  );
  if (built.code !== 0) throw new Error(`building the console failed (${built.code}): ${built.stderr}`);
  return { dir, remove: () => rmSync(root, { recursive: true, force: true }) };
}

/** A JSON call to the API (with the token when given): the answer's status and JSON body. */
export async function sendJson<T = unknown>(
  method: string,
  url: string,
  body?: unknown,
  token?: string,
): Promise<{ status: number; json: T }> {
  const response = await fetch(url, {
    method,
    headers: {
      'content-type': 'application/json',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: (text === '' ? undefined : JSON.parse(text)) as T };
}

/**
 * Pages that record their script errors and Content-Security-Policy refusals: `done` closes one and
 * expects it to have had none. `browser` is read when a page opens (suites launch it in beforeAll).
 */
export function trackedPages(browser: () => Browser) {
  const newPage = (width?: number, height?: number): Promise<Page> =>
    openWatchedPage(browser(), width, height);

  /** Closes the page; it must have had no script error and no Content-Security-Policy refusal. */
  async function done(page: Page): Promise<void> {
    expect(await closeWatchedPage(page)).toEqual([]);
  }

  return { newPage, done };
}

/** What `describeInChromium` hands its tests: the servers' base URLs by name, and tracked pages. */
export interface ConsoleSuite<Name extends string> extends ReturnType<typeof trackedPages> {
  /** Each named server's base URL (read inside a test: the servers start in beforeAll). */
  urls: Readonly<Record<Name, string>>;
}

/**
 * A suite of console tests in Chromium. Before its tests: the console built into a directory of its
 * own, Chromium launched, and one local server in memory (no subscriptions, silent) per entry of
 * `servers`, with these options on top, serving that build; all closed after. Without Chromium its
 * tests are reported skipped, with the reason in the suite's title.
 */
export function describeInChromium<Name extends string>(
  title: string,
  servers: Record<Name, LocalServerOptions>,
  body: (suite: ConsoleSuite<Name>) => void,
): void {
  const skipReason = browserSkipReason();
  if (skipReason !== undefined) {
    describe.skip(`${title} (skipped: ${skipReason})`, () => body(consoleSuite(servers)));
  } else {
    describe(title, () => body(consoleSuite(servers)));
  }
}

function consoleSuite<Name extends string>(servers: Record<Name, LocalServerOptions>): ConsoleSuite<Name> {
  let built: BuiltConsole | undefined;
  let browser: Browser | undefined;
  const started = new Map<Name, LocalServer>();
  const names = Object.keys(servers) as Name[];

  beforeAll(async () => {
    built = await buildConsole();
    browser = await launchChromium();
    for (const name of names) {
      const options = { memory: true, port: 0, subscriptions: false, logLevel: 'silent' } as const;
      started.set(name, await startLocalServer({ ...options, ...servers[name], consoleDir: built.dir }));
    }
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all([...started.values()].map((server) => server.close()));
    built?.remove();
  });

  const urls = {} as Record<Name, string>;
  for (const name of names) {
    Object.defineProperty(urls, name, {
      enumerable: true,
      get: () => {
        const server = started.get(name);
        if (server === undefined) throw new Error(`the console suite's server ${name} has not started`);
        return server.url;
      },
    });
  }
  const tracked = trackedPages(() => {
    if (browser === undefined) throw new Error('Chromium has not been launched for this suite');
    return browser;
  });
  return { urls, ...tracked };
}
