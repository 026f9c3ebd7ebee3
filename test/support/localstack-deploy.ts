/**
 * Deploying the CDK app into LocalStack with `cdklocal` (aws-cdk-local) for the deployment e2e test
 * (test/e2e/localstack-deploy.test.ts): the environment cdklocal needs, running its commands with a
 * time limit and a log file, finding where LocalStack serves the deployed HTTP API, and warming the
 * functions up before the test times requests.
 *
 * None of this could be run where it was written (no Docker, no LocalStack): what it relies on is
 * aws-cdk-local 3.0.4's source (bin/cdklocal, src/index.js) and LocalStack's documentation. The parts
 * taken from documentation only are marked "unverified".
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sigV4Signer } from '../../client/sigv4.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Run with the current node, not through npx: no wrapper process between the test and the CLI. */
const CDKLOCAL_BIN = join(REPO_ROOT, 'node_modules', 'aws-cdk-local', 'bin', 'cdklocal');

export const LOCALSTACK_REGION = 'us-east-1';
/** LocalStack's default account for the access key `test`. */
export const LOCALSTACK_ACCOUNT = '000000000000';
export const LOCALSTACK_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' } as const;

const minutes = (n: number) => n * 60_000;
export const TIMEOUTS = {
  bootstrap: minutes(10),
  deploy: minutes(20),
  destroy: minutes(15),
  /** Finding the API URL includes the admin function's first cold start (a runtime image pull). */
  resolveUrl: minutes(8),
  warmUp: minutes(5),
} as const;

/** Opt out of the deploy (it takes minutes) while keeping the other LocalStack suites. */
export const SKIP_DEPLOY_ENV = 'STREAMBED_SKIP_LOCALSTACK_DEPLOY';
/** Where the deployed API answers, when the probing in `resolveApiUrl` cannot find it. */
export const API_URL_ENV = 'STREAMBED_LOCALSTACK_API_URL';

// ---------------------------------------------------------------------------------------------------
// Can this LocalStack take the stack?

/**
 * A reason not to deploy into the LocalStack at `endpoint`, or undefined to go ahead. The stack is
 * deployed in its REST API flavor (`streambed:api=rest`, see `appArgs`), which LocalStack's community
 * edition serves (its HTTP APIs, API Gateway v2, need the paid edition), so any LocalStack will do;
 * only the opt-out variable stops it.
 */
export async function deployBlocker(_endpoint: string, env = process.env): Promise<string | undefined> {
  if (env[SKIP_DEPLOY_ENV] === '1') return `${SKIP_DEPLOY_ENV}=1`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// The environment of cdklocal.

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', 'localhost.localstack.cloud']);

function parseEndpoint(endpoint: string): { url: URL; port: string; loopback: boolean } {
  const url = new URL(endpoint);
  const port = url.port !== '' ? url.port : url.protocol === 'https:' ? '443' : '80';
  return { url, port, loopback: LOOPBACK_HOSTS.has(url.hostname) };
}

/**
 * The S3 endpoint for asset uploads. cdklocal refuses AWS_ENDPOINT_URL without AWS_ENDPOINT_URL_S3
 * (src/index.js `configureEnvironment`), and its README asks for a host with an `.s3.` label so that
 * LocalStack recognizes S3 requests. The CDK CLI's S3 client addresses buckets virtual-hosted style
 * (`<bucket>.<host>`; cdklocal 3.0.4 forces path style only for `.sandbox.` endpoints, and its
 * AWS_S3_FORCE_PATH_STYLE switch is both stripped from the environment and read incorrectly), so the
 * host must have wildcard DNS: `s3.localhost.localstack.cloud` is a public name that resolves to
 * 127.0.0.1 for every subdomain, which needs working DNS on the machine. For a LocalStack that is not
 * on this machine there is no such name: export AWS_ENDPOINT_URL_S3 yourself.
 */
export function s3EndpointFor(endpoint: string, env = process.env): string {
  const configured = env.AWS_ENDPOINT_URL_S3;
  if (configured !== undefined && configured !== '') return configured;
  const { url, port, loopback } = parseEndpoint(endpoint);
  return loopback ? `${url.protocol}//s3.localhost.localstack.cloud:${port}` : url.origin;
}

/**
 * The environment for every cdklocal command. Everything AWS_* or CDK_* of the caller is dropped
 * first, so that a profile, session token or default account of a real AWS setup can never steer the
 * deploy (cdklocal does the same for AWS_* with CDK CLI >= 2.177, keeping only AWS_ENDPOINT_URL* and
 * AWS_ENVAR_ALLOWLIST entries); then LocalStack's endpoint, test credentials and region are set.
 */
export function cdklocalEnv(endpoint: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(base)) {
    if (!name.startsWith('AWS_') && !name.startsWith('CDK_')) env[name] = value;
  }
  const { url, port } = parseEndpoint(endpoint);
  Object.assign(env, {
    AWS_ENDPOINT_URL: url.origin,
    AWS_ENDPOINT_URL_S3: s3EndpointFor(endpoint, base),
    // Only read by cdklocal when AWS_ENDPOINT_URL is unset; kept consistent with it anyway.
    LOCALSTACK_HOSTNAME: url.hostname,
    EDGE_PORT: port,
    USE_SSL: url.protocol === 'https:' ? '1' : '0',
    AWS_ACCESS_KEY_ID: LOCALSTACK_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCALSTACK_CREDENTIALS.secretAccessKey,
    AWS_REGION: LOCALSTACK_REGION,
    AWS_DEFAULT_REGION: LOCALSTACK_REGION,
    // Without this cdklocal deletes AWS_REGION and the credentials (it would then default to the same
    // values; listing them keeps what the test sets authoritative).
    AWS_ENVAR_ALLOWLIST:
      'AWS_REGION,AWS_DEFAULT_REGION,AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY,AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED',
    // The CLI bundles AWS SDK v3, which warns on Node 20 like the tests' own clients (vitest.config.ts).
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    CDK_DISABLE_LEGACY_EXPORT_WARNING: '1',
  });
  return env;
}

// ---------------------------------------------------------------------------------------------------
// One deployment: a fresh stack name and working directory.

export interface LocalStackDeployment {
  endpoint: string;
  stackName: string;
  /** Holds cdk.out, the outputs file and one log file per cdklocal command. */
  workDir: string;
  env: NodeJS.ProcessEnv;
}

export async function newDeployment(endpoint: string): Promise<LocalStackDeployment> {
  return {
    endpoint: endpoint.replace(/\/+$/, ''),
    // Unique per run: a stack left behind by an interrupted run never collides with this one.
    stackName: `StreambedE2e${randomBytes(4).toString('hex')}`,
    workDir: await mkdtemp(join(tmpdir(), 'streambed-cdklocal-')),
    env: cdklocalEnv(endpoint),
  };
}

/** Arguments every command shares: the same stack name and removal policy, cdk.out outside the checkout. */
function appArgs(d: LocalStackDeployment): string[] {
  return [
    '--context',
    `streambed:stackName=${d.stackName}`,
    // `destroy` turns deletion protection off and empties the bucket, so `cdklocal destroy` leaves
    // nothing behind (see streambedPropsFromContext in lib/streambed-stack.ts).
    '--context',
    'streambed:removalPolicy=destroy',
    // The REST API flavor: LocalStack's community edition has no HTTP APIs.
    '--context',
    'streambed:api=rest',
    '--output',
    join(d.workDir, 'cdk.out'),
    '--no-notices',
  ];
}

export async function bootstrap(d: LocalStackDeployment): Promise<void> {
  // The environment is named, so bootstrap needs nothing from the (environment-agnostic) app.
  await runCdkLocal(
    d,
    'bootstrap',
    [`aws://${LOCALSTACK_ACCOUNT}/${LOCALSTACK_REGION}`, ...appArgs(d)],
    TIMEOUTS.bootstrap,
  );
}

export interface StackOutputs {
  ApiUrl: string;
  BucketName?: string;
  TableName?: string;
}

/** Deploys the stack and returns its outputs (the file `--outputs-file` writes, keyed by stack name). */
export async function deploy(d: LocalStackDeployment): Promise<StackOutputs> {
  const outputsFile = join(d.workDir, 'outputs.json');
  await runCdkLocal(
    d,
    'deploy',
    [
      d.stackName,
      ...appArgs(d),
      '--require-approval',
      'never',
      '--progress',
      'events',
      '--outputs-file',
      outputsFile,
    ],
    TIMEOUTS.deploy,
  );
  const all = JSON.parse(await readFile(outputsFile, 'utf8')) as Record<string, Partial<StackOutputs>>;
  const outputs = all[d.stackName];
  if (outputs?.ApiUrl === undefined) {
    throw new Error(`${outputsFile} has no ApiUrl for ${d.stackName}: ${JSON.stringify(all)}`);
  }
  return outputs as StackOutputs;
}

export async function destroy(d: LocalStackDeployment): Promise<void> {
  await runCdkLocal(d, 'destroy', [d.stackName, ...appArgs(d), '--force'], TIMEOUTS.destroy);
}

/**
 * Runs `cdklocal <command> …` in the checkout (cdk.json names the app), writing everything it prints to
 * `<workDir>/cdklocal-<command>.log`. Fails with the log's last lines on a non-zero exit, and kills the
 * command's process group (the CLI, `npx tsx lib/app.ts`, esbuild) when it runs out of time.
 */
export function runCdkLocal(
  d: LocalStackDeployment,
  command: string,
  args: string[],
  timeoutMs: number,
): Promise<void> {
  const logFile = join(d.workDir, `cdklocal-${command}.log`);
  const log = createWriteStream(logFile);
  const tail: string[] = [];
  const keep = (chunk: Buffer) => {
    log.write(chunk);
    tail.push(...chunk.toString('utf8').split('\n'));
    if (tail.length > 60) tail.splice(0, tail.length - 60);
  };
  return new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [CDKLOCAL_BIN, command, ...args], {
      cwd: REPO_ROOT,
      env: d.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so a timeout can stop the CLI together with what it started.
      detached: true,
    });
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let timedOut = false;
    const killGroup = (signal: NodeJS.Signals) => {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        // Already gone.
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup('SIGTERM');
      setTimeout(() => killGroup('SIGKILL'), 10_000).unref();
    }, timeoutMs);
    const finish = (error?: Error) => {
      clearTimeout(timer);
      log.end(() => (error ? reject(error) : resolve()));
    };
    child.on('error', (error) => finish(error));
    child.on('close', (code, signal) => {
      if (code === 0 && !timedOut) return finish();
      const why = timedOut
        ? `ran out of time after ${Math.round(timeoutMs / 1000)} s`
        : `exited with ${code ?? signal}`;
      finish(
        new Error(
          `cdklocal ${command} ${why} (full log: ${logFile}); last lines:\n${tail.join('\n').trimEnd()}`,
        ),
      );
    });
  });
}

// ---------------------------------------------------------------------------------------------------
// Where the deployed API answers.

/**
 * Base URLs (ending with `/`) under which LocalStack may serve the deployed API, most likely first. The
 * `ApiUrl` output is `https://<apiId>.execute-api.<region>.<URLSuffix>/<stage>/` for the REST flavor
 * (`/` alone for an HTTP API's `$default` stage); on LocalStack only the API id and the stage path are
 * dependable (how LocalStack resolves AWS::URLSuffix there is unverified). From LocalStack's API
 * Gateway documentation (unverified against a running LocalStack here):
 * - `http://<apiId>.execute-api.localhost.localstack.cloud:<port>/<stage>/` is the recommended form.
 *   It needs DNS for localhost.localstack.cloud and LocalStack on this machine.
 * - `<endpoint>/_aws/execute-api/<apiId>/<stage>/` is the form without DNS, and
 *   `<endpoint>/restapis/<apiId>/<stage>/_user_request_/` the older one for REST APIs.
 * For an HTTP API, whose stage `$default` may be left out, both forms are tried.
 * The output itself is tried only when it does not point at AWS, so the test never calls AWS.
 */
export function apiUrlCandidates(endpoint: string, apiUrl: string): string[] {
  const { url, port, loopback } = parseEndpoint(endpoint);
  const output = new URL(apiUrl);
  const apiId = output.hostname.split('.')[0] ?? '';
  if (!/^[a-z0-9]+$/.test(apiId)) throw new Error(`cannot read an API id from the ApiUrl output ${apiUrl}`);
  const stagePath = output.pathname.endsWith('/') ? output.pathname : `${output.pathname}/`;
  const candidates: string[] = [];
  if (!output.hostname.endsWith('.amazonaws.com')) candidates.push(output.href);
  if (loopback) {
    candidates.push(`${url.protocol}//${apiId}.execute-api.localhost.localstack.cloud:${port}${stagePath}`);
  }
  candidates.push(`${url.origin}/_aws/execute-api/${apiId}${stagePath}`);
  if (stagePath === '/') candidates.push(`${url.origin}/_aws/execute-api/${apiId}/$default/`);
  else candidates.push(`${url.origin}/restapis/${apiId}${stagePath}_user_request_/`);
  return [...new Set(candidates.map((c) => (c.endsWith('/') ? c : `${c}/`)))];
}

/** `GET <base>v1/health` answering `{"status":"ok"}`: the route is public, so nothing is signed. */
async function healthy(base: string, timeoutMs: number): Promise<string> {
  try {
    const response = await fetch(new URL('v1/health', base), { signal: AbortSignal.timeout(timeoutMs) });
    const text = await response.text();
    if (response.status === 200 && (JSON.parse(text) as { status?: unknown }).status === 'ok') return 'ok';
    return `HTTP ${response.status} ${text.slice(0, 120)}`;
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * The first candidate whose health route answers. Rounds repeat until the deadline: right after the
 * deploy the admin function's first invocation may still be starting (LocalStack pulls the runtime
 * image) and answer 5xx or time out. `STREAMBED_LOCALSTACK_API_URL` replaces the probing.
 */
export async function resolveApiUrl(endpoint: string, apiUrl: string, env = process.env): Promise<string> {
  const configured = env[API_URL_ENV];
  const candidates =
    configured !== undefined && configured !== ''
      ? [configured.endsWith('/') ? configured : `${configured}/`]
      : apiUrlCandidates(endpoint, apiUrl);
  const deadline = Date.now() + TIMEOUTS.resolveUrl;
  const last = new Map<string, string>();
  while (Date.now() < deadline) {
    for (const candidate of candidates) {
      const result = await healthy(candidate, 60_000);
      if (result === 'ok') return candidate;
      last.set(candidate, result);
    }
    await new Promise((resolve) => setTimeout(resolve, 5_000));
  }
  const tried = [...last].map(([candidate, result]) => `  ${candidate}v1/health → ${result}`).join('\n');
  throw new Error(
    `no URL answered GET v1/health for the deployed API (ApiUrl output ${apiUrl}); set ${API_URL_ENV} ` +
      `to where LocalStack serves it. Tried:\n${tried}`,
  );
}

/**
 * One signed request per function, repeated until each answers with anything but a 5xx, so that cold
 * starts (seconds to minutes on LocalStack) happen here and not inside the SDK's request timeouts. A
 * 404 for a topic that does not exist is a fine answer: it came from the function.
 */
export async function warmUp(base: string): Promise<void> {
  const sign = sigV4Signer({ region: LOCALSTACK_REGION, credentials: LOCALSTACK_CREDENTIALS });
  const missing = `warm-up-${randomBytes(4).toString('hex')}`;
  const requests: { method: string; path: string; body?: string }[] = [
    { method: 'GET', path: 'v1/topics' }, // admin
    { method: 'POST', path: `v1/topics/${missing}/records`, body: '{"records":[{"value":"x"}]}' }, // produce
    { method: 'GET', path: `v1/topics/${missing}/partitions/0/offsets` }, // fetch
    { method: 'GET', path: 'v1/groups' }, // groups
  ];
  const deadline = Date.now() + TIMEOUTS.warmUp;
  for (const request of requests) {
    let outcome = '';
    for (;;) {
      const url = new URL(request.path, base);
      const body = request.body === undefined ? undefined : new TextEncoder().encode(request.body);
      const headers: Record<string, string> =
        body === undefined ? {} : { 'content-type': 'application/json' };
      try {
        const response = await fetch(url, {
          method: request.method,
          headers: await sign({ method: request.method, url, headers, body }),
          body,
          signal: AbortSignal.timeout(90_000),
        });
        await response.arrayBuffer();
        if (response.status < 500) break;
        outcome = `HTTP ${response.status}`;
      } catch (error) {
        outcome = (error as Error).message;
      }
      if (Date.now() > deadline) {
        throw new Error(`${request.method} ${url.href} did not answer without a 5xx in time (${outcome})`);
      }
      await new Promise((resolve) => setTimeout(resolve, 3_000));
    }
  }
}
