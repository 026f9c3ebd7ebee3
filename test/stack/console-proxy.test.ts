/**
 * `streambed console --url <ApiUrl>` against the synthesized stack offline (REST API: its ApiUrl has a
 * stage path), started as a user starts it, with the offline caller's keys in the environment. The
 * stack's API front verifies every signature as API Gateway does: the console's calls go through
 * because the proxy signs them, an unsigned call is refused, and wrong keys get the stack's 403 back
 * unchanged. Nothing the browser receives carries a credential.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SIGNING_PROXY_META } from '../../lambdas/runtime/console-assets.ts';
import { type ServerProcess, startCliProcess, stopCliServer } from '../support/cli-server.ts';
import {
  browserSkipReason,
  closeWatchedPage,
  launchChromium,
  openWatchedPage,
  sendJson,
} from '../support/console-browser.ts';
import { assemblyDirectory, type OfflineStack, startOfflineStack, synthesizeStack } from './offline-stack.ts';

/** `streambed console` for the stack with these keys (and nothing else of the AWS chain). */
function startConsole(stack: OfflineStack, secretAccessKey: string): Promise<ServerProcess> {
  return startCliProcess(['console', '--url', stack.url, '--port', '0'], {
    AWS_ACCESS_KEY_ID: stack.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: secretAccessKey,
    AWS_SESSION_TOKEN: undefined,
    AWS_PROFILE: undefined,
    AWS_REGION: stack.region,
  });
}

/** Everything the browser gets for a request: status line, headers and body, as one text. */
async function everythingOf(response: Response): Promise<string> {
  return `${response.status}\n${JSON.stringify([...response.headers])}\n${await response.text()}`;
}

describe('streambed console against the synthesized stack offline', () => {
  let stack: OfflineStack;
  let removeAssembly: () => Promise<void>;
  let signed: ServerProcess;
  let forged: ServerProcess;
  /** The proxy's origin (the console's API base) and its console page. */
  let origin: string;
  const secrets = () => [stack.credentials.accessKeyId, stack.credentials.secretAccessKey];

  beforeAll(async () => {
    const assembly = await assemblyDirectory();
    removeAssembly = assembly.remove;
    const synthesized = synthesizeStack(assembly.dir, 'rest');
    stack = await startOfflineStack({
      synthesized,
      dynamoEndpoint: inject('dynamoEndpoint'),
      s3Endpoint: inject('s3Endpoint'),
      schedules: false,
    });
    [signed, forged] = await Promise.all([
      startConsole(stack, stack.credentials.secretAccessKey),
      startConsole(stack, 'not-the-secret-of-this-caller'),
    ]);
    origin = new URL(signed.url).origin;
  }, 180_000);

  afterAll(async () => {
    await Promise.all([signed && stopCliServer(signed), forged && stopCliServer(forged)]);
    await stack?.close();
    await removeAssembly?.();
  });

  it('says where the console is and which API it signs for', () => {
    expect(new URL(stack.url).pathname).not.toBe('/');
    expect(signed.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/console$/);
    expect(signed.output()).toContain(`api      ${stack.url}`);
    expect(signed.output()).toContain(`signed for execute-api in ${stack.region}`);
    expect(signed.output()).not.toContain('warning');
  });

  it('serves the console page, marked as signed by the proxy, with no credential in it', async () => {
    const page = await fetch(signed.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("connect-src 'self'");
    const everything = await everythingOf(page);
    expect(everything).toContain(SIGNING_PROXY_META);
    expect(everything).toMatch(/<script type="module"[^>]*src="\/console\/assets\/index-[^"]+\.js"/);
    for (const secret of secrets()) expect(everything).not.toContain(secret);
  });

  it("makes the console's calls through the stack's IAM authorizer: create, list, produce, fetch", async () => {
    const created = await sendJson(`POST`, `${origin}/v1/topics`, { name: 'console-orders', partitions: 2 });
    expect(created.status).toBe(201);
    const listed = await sendJson<{ topics: string[] }>('GET', `${origin}/v1/topics`);
    expect(listed.status).toBe(200);
    expect(listed.json.topics).toContain('console-orders');
    const produced = await sendJson<{ offsets: { partition: number; offset: number }[] }>(
      'POST',
      `${origin}/v1/topics/console-orders/records`,
      { records: [{ key: 'customer-7', value: 'through the proxy', partition: 1 }] },
    );
    expect(produced.status).toBe(200);
    expect(produced.json.offsets).toEqual([{ partition: 1, offset: 0 }]);
    const fetched = await sendJson<{ records: { offset: number; valueBase64: string }[] }>(
      'GET',
      `${origin}/v1/topics/console-orders/partitions/1/records?offset=0&max_bytes=65536&encoding=base64`,
    );
    expect(fetched.status).toBe(200);
    expect(
      fetched.json.records.map((record) => Buffer.from(record.valueBase64, 'base64').toString()),
    ).toEqual(['through the proxy']);
  });

  it('reaches the schema registry through the proxy too', async () => {
    const subjects = await fetch(`${origin}/schema-registry/subjects`);
    expect(subjects.status).toBe(200);
    expect(await subjects.json()).toEqual(expect.any(Array));
  });

  it("is let through by its signature alone: the same call unsigned is the stack's 403", async () => {
    const unsigned = await fetch(new URL('v1/topics', stack.url));
    expect(unsigned.status).toBe(403);
    await unsigned.arrayBuffer();
    const viaProxy = await fetch(`${origin}/v1/topics`, { headers: { authorization: 'Bearer anything' } });
    expect(viaProxy.status).toBe(200);
    await viaProxy.arrayBuffer();
  });

  it("passes the stack's 403 through when the keys are wrong", async () => {
    const refused = await fetch(`${new URL(forged.url).origin}/v1/topics`);
    expect(refused.status).toBe(403);
    expect(refused.headers.get('x-amzn-errortype')).not.toBeNull();
    expect(((await refused.json()) as { message: string }).message).toMatch(/signature/);
  });

  it('never hands a credential to the browser, in any answer', async () => {
    const answers = [
      await fetch(signed.url),
      await fetch(`${origin}/v1/topics`),
      await fetch(`${origin}/v1/topics/missing-topic`),
      await fetch(`${origin}/nothing`),
      await fetch(`${new URL(forged.url).origin}/v1/topics`),
    ];
    for (const answer of answers) {
      const everything = await everythingOf(answer);
      for (const secret of secrets()) expect(everything).not.toContain(secret);
      expect(everything).not.toMatch(/AWS4-HMAC-SHA256|x-amz-security-token/i);
    }
  });

  it('refuses to start without credentials, naming what to set', async () => {
    await expect(
      startCliProcess(['console', '--url', stack.url, '--port', '0'], {
        AWS_ACCESS_KEY_ID: undefined,
        AWS_SECRET_ACCESS_KEY: undefined,
        AWS_SESSION_TOKEN: undefined,
        AWS_PROFILE: 'streambed-no-such-profile',
        AWS_CONFIG_FILE: '/nonexistent/streambed-config',
        AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/streambed-credentials',
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined,
        AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
        AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
        AWS_REGION: stack.region,
      }),
    ).rejects.toThrow(
      /server exited \(1\): streambed: no AWS credentials .*set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE/,
    );
  });

  const skipReason = browserSkipReason();
  it.skipIf(skipReason !== undefined)(
    `shows the stack's topics in Chromium without asking for a token, sending no credential, and says what to check on a 403${skipReason === undefined ? '' : ` (skipped: ${skipReason})`}`,
    async () => {
      const browser = await launchChromium();
      try {
        const page = await openWatchedPage(browser);
        const authorizations: string[] = [];
        page.on('request', (request) => {
          const authorization = request.headers().authorization;
          if (authorization !== undefined) authorizations.push(authorization);
        });
        await page.goto(signed.url);
        await page.getByRole('link', { name: 'console-orders' }).first().waitFor();
        expect(await page.getByText('This server wants a token').count()).toBe(0);
        // Wrong keys: the stack's 403, said as what to check, and still no token form.
        await page.goto(forged.url);
        await page
          .getByText(/refused the call signed by streambed console \(403\): check the AWS credentials/)
          .first()
          .waitFor();
        expect(await page.getByText('This server wants a token').count()).toBe(0);
        expect(await closeWatchedPage(page)).toEqual([]);
        expect(authorizations).toEqual([]);
      } finally {
        await browser.close();
      }
    },
  );
});
