/**
 * `npm run docs:console`: builds the web console, starts a local server in memory (its janitor on),
 * fills it with sample topics, records, a consumer group, a subscription and schemas, and writes a PNG
 * of each page, of a missing topic, and of a few panels (produce, config change, live tail) to
 * docs/console/ (shown in the README) with Debian's Chromium, as the console's browser tests run it.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { type LocalServer, startLocalServer } from '../lambdas/runtime/local-server.ts';
import { avroJsEncode } from '../test/support/avro-js.ts';
import {
  browserSkipReason,
  buildConsole,
  launchChromium,
  sendJson,
} from '../test/support/console-browser.ts';

const OUT = 'docs/console';

/** A JSON call that must succeed; its answer's body. */
async function call(
  server: LocalServer,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<Record<string, unknown>> {
  const { status, json } = await sendJson<Record<string, unknown>>(
    method,
    `${server.url}${path}`,
    body,
    token,
  );
  if (status < 200 || status > 299) throw new Error(`${method} ${path}: ${status} ${JSON.stringify(json)}`);
  return json;
}

/** Topics with records (JSON, text, bytes), a group that lags, a paused subscription. */
async function seed(server: LocalServer): Promise<Commit> {
  await call(server, 'POST', '/v1/topics', {
    name: 'orders',
    partitions: 3,
    config: { 'retention.ms': 86_400_000 },
  });
  await call(server, 'POST', '/v1/topics', { name: 'clicks', partitions: 6 });
  await call(server, 'POST', '/v1/topics', { name: 'orders.dlt', partitions: 1 });
  const start = Date.now() - 20 * 60_000;
  const orders = Array.from({ length: 40 }, (_, i) => ({
    key: `customer-${i % 7}`,
    value: JSON.stringify({ order: 1000 + i, customer: `customer-${i % 7}`, total: (i * 13.7).toFixed(2) }),
    headers: { trace: `t-${(0x5eed + i).toString(16)}`, source: 'web' },
    timestamp: start + i * 30_000,
  }));
  await call(server, 'POST', '/v1/topics/orders/records', { records: orders });
  await call(server, 'POST', '/v1/topics/orders/records', {
    records: [
      { key: 'customer-3', valueBase64: 'AAAAAAECBmFiYw==', partition: 0 },
      { key: 'customer-3', partition: 0 },
    ],
  });
  const clicks = Array.from({ length: 300 }, (_, i) => ({
    key: `user-${i % 50}`,
    value: `clicked /page/${i % 9}`,
  }));
  await call(server, 'POST', '/v1/topics/clicks/records', { records: clicks });
  const joined = await call(server, 'POST', '/v1/groups/billing/members', {
    topics: ['orders'],
    // Live through the whole run, so the group page shows a member and a refused delete.
    sessionTimeoutMs: 300_000,
  });
  const offsets = (joined.assignments as { topic: string; partition: number; epoch: number }[]).map(
    ({ topic, partition, epoch }) => ({ topic, partition, epoch, offset: 5 }),
  );
  const commit: Commit = (offset) =>
    call(server, 'POST', '/v1/groups/billing/offsets', {
      memberId: joined.memberId,
      offsets: offsets.map((o) => ({ ...o, offset })),
    });
  await commit(5);
  await call(server, 'POST', '/v1/subscriptions', {
    name: 'orders-hook',
    topic: 'orders',
    target: { url: 'http://127.0.0.1:9000/orders' },
    deadLetterTopic: 'orders.dlt',
    maxRetryAttempts: 3,
    startingPosition: 'earliest',
    enabled: false,
  });
  return commit;
}

const PAYMENT_V1 = {
  type: 'record',
  name: 'Payment',
  namespace: 'shop',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'amount', type: 'double' },
    { name: 'method', type: { type: 'enum', name: 'Method', symbols: ['CARD', 'TRANSFER', 'VOUCHER'] } },
  ],
};
/** v1 with an optional reference: backward compatible. */
const PAYMENT_V2 = {
  ...PAYMENT_V1,
  fields: [...PAYMENT_V1.fields, { name: 'reference', type: ['null', 'string'], default: null }],
};
/** v2 with a field and no default: refused at BACKWARD, as the schemas screenshot shows. */
const PAYMENT_V3 = { ...PAYMENT_V2, fields: [...PAYMENT_V2.fields, { name: 'currency', type: 'string' }] };

/** A payment of PAYMENT_V2 in Confluent's wire format, base64. */
function paymentBase64(schemaId: number, payment: Record<string, unknown>): string {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(schemaId, 1);
  return Buffer.concat([head, avroJsEncode(PAYMENT_V2, payment)]).toString('base64');
}

/** A subject with two versions, and a topic of Avro payments (one with a schema id the registry lacks). */
async function seedSchemas(server: LocalServer): Promise<void> {
  const register = (schema: unknown) =>
    call(server, 'POST', '/schema-registry/subjects/payments-value/versions', {
      schema: JSON.stringify(schema),
    });
  await register(PAYMENT_V1);
  const { id } = (await register(PAYMENT_V2)) as { id: number };
  await call(server, 'POST', '/v1/topics', { name: 'payments', partitions: 1 });
  await call(server, 'POST', '/v1/topics/payments/records', {
    records: [
      {
        key: 'p-1',
        valueBase64: paymentBase64(id, {
          id: 5001,
          amount: 42.5,
          method: 'CARD',
          reference: { string: 'INV-2026-118' },
        }),
      },
      {
        key: 'p-2',
        valueBase64: paymentBase64(id, { id: 5002, amount: 1250, method: 'TRANSFER', reference: null }),
      },
      {
        key: 'p-3',
        valueBase64: paymentBase64(id, {
          id: 5003,
          amount: 9.99,
          method: 'VOUCHER',
          reference: { string: 'SPRING' },
        }),
      },
      // A schema id the registry does not have: shown as bytes, with the reason.
      {
        key: 'p-4',
        valueBase64: paymentBase64(77, { id: 5004, amount: 20, method: 'CARD', reference: null }),
      },
    ],
  });
}

/** Commits the billing group's offset on every partition of orders. */
type Commit = (offset: number) => Promise<unknown>;

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
  console.log(`wrote ${join(OUT, `${name}.png`)}`);
}

async function main(): Promise<void> {
  const skip = browserSkipReason();
  if (skip !== undefined) throw new Error(`cannot take screenshots: ${skip}`);
  mkdirSync(OUT, { recursive: true });
  const built = await buildConsole();
  const common = {
    memory: true,
    port: 0,
    subscriptions: false,
    logLevel: 'silent',
    consoleDir: built.dir,
  } as const;
  // The janitor runs as `streambed start` runs it, so the overview shows its last pass.
  const server = await startLocalServer({ ...common, janitorIntervalMs: 5_000 });
  const guarded = await startLocalServer({ ...common, token: 'sample-token' });
  const browser = await launchChromium();
  try {
    const commit = await seed(server);
    await seedSchemas(server);
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();

    while ((await call(server, 'GET', '/v1/janitor')).lastRun === null) {
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    await page.goto(`${server.url}/console`);
    await page.locator('tr[data-topic="orders"]').waitFor();
    await page.locator('tr[data-group="billing"]').waitFor();
    await page.locator('tr[data-subscription="orders-hook"]').waitFor();
    await page.locator('[data-field="subjects"]').waitFor();
    await page.getByText(/^Last run/).waitFor();
    // Records written and consumed while the overview measures, so both rates have something to show.
    const rateIn = page.locator('[data-field="records-in"]');
    const rateOut = page.locator('[data-field="records-out"]');
    await rateIn.waitFor();
    await rateOut.waitFor();
    await call(server, 'POST', '/v1/topics/clicks/records', {
      records: Array.from({ length: 120 }, (_, i) => ({
        key: `user-${i % 50}`,
        value: `clicked /page/${i % 9}`,
      })),
    });
    await commit(7);
    await rateIn.filter({ hasNotText: /^0\.0$/ }).waitFor({ timeout: 15_000 });
    await rateOut.filter({ hasNotText: /^0\.0$/ }).waitFor({ timeout: 15_000 });
    await shot(page, 'overview');

    await page.goto(`${server.url}/console#/topics/orders`);
    // Records arriving while the page measures, so the live chart has something to draw.
    const rate = page.locator('[data-field="rate"]');
    await rate.waitFor();
    for (let round = 0; round < 3; round += 1) {
      const burst = Array.from({ length: 30 + 20 * round }, (_, i) => ({
        key: `customer-${i % 7}`,
        value: JSON.stringify({ order: 2000 + 100 * round + i, total: (i * 3.1).toFixed(2) }),
      }));
      await call(server, 'POST', '/v1/topics/orders/records', { records: burst });
      await rate.filter({ hasNotText: /^0\.0$/ }).waitFor({ timeout: 15_000 });
      await rate.filter({ hasText: /^0\.0$/ }).waitFor({ timeout: 15_000 });
    }
    const messages = page.locator('section', { has: page.getByRole('heading', { name: 'Messages' }) });
    await messages.getByLabel('Records').fill('8');
    await messages.getByRole('button', { name: 'Show records' }).click();
    await messages.locator('tr[data-offset]').first().waitFor();
    await shot(page, 'topic');

    // A config change and a partition raise, at the question the form asks before raising.
    const config = page.locator('section', { has: page.getByRole('heading', { name: 'Config' }) });
    await config.getByText('Change config or partitions').click();
    await config.getByLabel('retention.ms', { exact: true }).fill('43200000');
    await config.getByLabel('Partitions', { exact: true }).fill('4');
    await config.getByRole('button', { name: 'Save changes' }).click();
    await config.getByRole('button', { name: 'Raise to 4 partitions' }).waitFor();
    await config.screenshot({ path: join(OUT, 'topic-config.png') });
    console.log(`wrote ${join(OUT, 'topic-config.png')}`);
    await config.getByRole('button', { name: 'Cancel' }).click();
    await config.getByText('Change config or partitions').click();

    // The live tail of all partitions, with records written after it started.
    const tail = page.locator('section', { has: page.getByRole('heading', { name: 'Live tail' }) });
    await tail.getByLabel('Follow new records').check();
    await tail.getByText(/waiting for new records/).waitFor();
    for (let round = 0; round < 2; round += 1) {
      const records = Array.from({ length: 3 }, (_, i) => ({
        key: `customer-${(round * 3 + i) % 7}`,
        value: JSON.stringify({ order: 3000 + round * 3 + i, total: ((round * 3 + i) * 7.3).toFixed(2) }),
        headers: { source: 'tail' },
      }));
      await call(server, 'POST', '/v1/topics/orders/records', { records });
      await tail.getByText(`${3 * (round + 1)} new records`).waitFor({ timeout: 15_000 });
    }
    await tail.screenshot({ path: join(OUT, 'tail.png') });
    console.log(`wrote ${join(OUT, 'tail.png')}`);
    await tail.getByLabel('Follow new records').uncheck();

    const produce = page.locator('section', { has: page.getByRole('heading', { name: 'Produce a record' }) });
    await produce.getByLabel('Key (empty for none)').fill('customer-9');
    await produce.getByLabel(/^Value/).fill('{"order":2001,"customer":"customer-9","total":"12.50"}');
    await produce.getByLabel(/^Headers/).fill('trace: t-new\nsource: console');
    await produce.getByRole('button', { name: 'Produce' }).click();
    await produce.getByRole('status').waitFor();
    await produce.screenshot({ path: join(OUT, 'produce.png') });
    console.log(`wrote ${join(OUT, 'produce.png')}`);

    // The group catching up while the page reads its lag, then a delete refused while its member lives.
    await page.goto(`${server.url}/console#/groups/billing`);
    const lag = page.locator('strong[data-field="total-lag"]');
    await lag.waitFor();
    for (const offset of [8, 11, 13]) {
      const before = await lag.textContent();
      await commit(offset);
      await lag.filter({ hasNotText: before ?? '' }).waitFor({ timeout: 15_000 });
    }
    const remove = page.locator('section', { has: page.getByRole('heading', { name: 'Delete the group' }) });
    await remove.getByRole('button', { name: 'Delete group…' }).click();
    await remove.getByRole('button', { name: 'Delete this group' }).click();
    await remove.getByRole('alert').waitFor();
    await shot(page, 'group');

    await page.goto(`${server.url}/console#/subscriptions/orders-hook`);
    await page.locator('[data-field="state"]').waitFor();
    await shot(page, 'subscription');

    await page.goto(`${server.url}/console#/topics/new`);
    await page.getByLabel('Topic name').fill('invoices');
    await shot(page, 'create-topic');

    const narrow = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
    await narrow.goto(`${server.url}/console#/topics/orders`);
    await narrow.getByRole('heading', { name: 'Partitions' }).waitFor();
    await narrow.screenshot({ path: join(OUT, 'topic-narrow.png') });
    console.log(`wrote ${join(OUT, 'topic-narrow.png')}`);

    const prompt = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await prompt.goto(`${guarded.url}/console`);
    await prompt.getByLabel('API token').fill('not-the-token');
    await prompt.getByRole('button', { name: 'Use this token' }).click();
    await prompt.getByText('The server refused that token').waitFor();
    await prompt.screenshot({ path: join(OUT, 'token.png') });
    console.log(`wrote ${join(OUT, 'token.png')}`);

    // What the console says about a page that cannot be shown, and what to do.
    await page.goto(`${server.url}/console#/topics/order`);
    await page.getByRole('alert').getByText('There is no topic named').waitFor();
    await shot(page, 'missing-topic');

    // The registry's subjects, a subject with versions, and Avro records.
    await page.goto(`${server.url}/console#/schemas`);
    await page.locator('tr[data-subject="payments-value"]').waitFor();
    await shot(page, 'schema-subjects');

    await page.goto(`${server.url}/console#/schemas/payments-value`);
    const register = page.locator('section', {
      has: page.getByRole('heading', { name: 'Register a new version' }),
    });
    await register.getByLabel('Avro schema (JSON)').fill(JSON.stringify(PAYMENT_V3, null, 2));
    await register.getByRole('button', { name: 'Check compatibility' }).click();
    await register.locator('[data-field="check-result"]').waitFor();
    await shot(page, 'schemas');

    await page.goto(`${server.url}/console#/topics/payments`);
    const avroMessages = page.locator('section', { has: page.getByRole('heading', { name: 'Messages' }) });
    await avroMessages.getByRole('button', { name: 'Show records' }).click();
    await avroMessages.locator('[data-avro-schema-id]').first().waitFor();
    await avroMessages.locator('tr[data-offset="3"] .kind', { hasText: 'shown as bytes' }).waitFor();
    await avroMessages.screenshot({ path: join(OUT, 'avro.png') });
    console.log(`wrote ${join(OUT, 'avro.png')}`);
  } finally {
    await browser.close();
    await Promise.all([server.close(), guarded.close()]);
    built.remove();
  }
}

await main();
