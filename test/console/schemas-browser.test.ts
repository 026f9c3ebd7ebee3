/**
 * The console's schemas page and Avro decoding in headless Chromium against a local server: register
 * versions through the page (the compatibility check shown before Register is enabled), compare two
 * versions, change a subject's level, and read Avro records in the message browser (or a note why
 * not). Every wait is for a condition, never a sleep.
 */
import { expect, it } from 'vitest';
import { avroJsEncode } from '../support/avro-js.ts';
import { describeInChromium, sendJson } from '../support/console-browser.ts';

const orderV1 = {
  type: 'record',
  name: 'Order',
  namespace: 'shop',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'total', type: 'double' },
  ],
};
/** v1 plus a field with a default: backward compatible. */
const orderV2 = {
  ...orderV1,
  fields: [...orderV1.fields, { name: 'note', type: ['null', 'string'], default: null }],
};
/** v2 plus a field without a default: not backward compatible. */
const orderV3 = { ...orderV2, fields: [...orderV2.fields, { name: 'currency', type: 'string' }] };

/** Confluent's wire format: magic byte 0, the schema id big-endian, the Avro body; as base64. */
function wireBase64(schemaId: number, body: Uint8Array): string {
  const bytes = Buffer.alloc(5 + body.length);
  bytes.writeUInt32BE(schemaId, 1);
  bytes.set(body, 5);
  return bytes.toString('base64');
}

describeInChromium('schemas and Avro in the web console', { server: {} }, ({ urls, newPage, done }) => {
  async function register(subject: string, schema: unknown): Promise<number> {
    const answer = await sendJson<{ id: number }>(
      'POST',
      `${urls.server}/schema-registry/subjects/${subject}/versions`,
      { schema: JSON.stringify(schema) },
    );
    expect(answer.status).toBe(200);
    return answer.json.id;
  }

  it('registers a first schema and a new version through the page, each checked before Register is enabled', async () => {
    const page = await newPage();
    await page.goto(`${urls.server}/console`);
    await page.getByRole('link', { name: 'Schemas', exact: true }).click();
    await page.getByRole('heading', { name: 'Schemas', level: 1 }).waitFor();
    await page.locator('[data-field="no-subjects"]').getByText('No subjects yet.').waitFor();

    const form = page.locator('section', {
      has: page.getByRole('heading', { name: 'Register a new version' }),
    });
    const registerButton = form.getByRole('button', { name: 'Register' });
    await form.getByLabel('Subject').fill('orders-value');
    await form.getByLabel('Avro schema (JSON)').fill(JSON.stringify(orderV1, null, 2));
    expect(await registerButton.isDisabled()).toBe(true);
    // A schema that is not Avro: the registry's refusal, in words, and still no Register.
    await form.getByLabel('Avro schema (JSON)').fill('{"type": "record"}');
    await form.getByRole('button', { name: 'Check compatibility' }).click();
    await form
      .getByRole('alert')
      .getByText(/The registry could not check it\. INVALID_SCHEMA \(42201\)/)
      .waitFor();
    expect(await registerButton.isDisabled()).toBe(true);

    await form.getByLabel('Avro schema (JSON)').fill(JSON.stringify(orderV1, null, 2));
    await form.getByRole('button', { name: 'Check compatibility' }).click();
    await form
      .getByRole('status')
      .getByText('Compatible: this schema can be registered under orders-value.')
      .waitFor();
    await registerButton.click();
    await form
      .getByRole('status')
      .getByText(/Registered: version 1 of orders-value holds this schema \(schema id \d+\)/)
      .waitFor();
    await page
      .locator('tr[data-subject="orders-value"] [data-field="latest-version"]', { hasText: '1' })
      .waitFor();

    // The subject's page: version 1, and the form holding it, to edit into version 2.
    await page.getByRole('link', { name: 'orders-value' }).click();
    await page.getByRole('heading', { name: 'Subject orders-value' }).waitFor();
    await expect(page.locator('[data-field="schema"]').textContent()).resolves.toBe(
      JSON.stringify(orderV1, null, 2),
    );
    const subjectForm = page.locator('section', {
      has: page.getByRole('heading', { name: 'Register a new version' }),
    });
    const schemaField = subjectForm.getByLabel('Avro schema (JSON)');
    await expect(schemaField.inputValue()).resolves.toBe(JSON.stringify(orderV1, null, 2));

    // Not compatible: the registry's reasons, and Register stays off.
    await schemaField.fill(JSON.stringify(orderV3, null, 2));
    await subjectForm.getByRole('button', { name: 'Check compatibility' }).click();
    const refusal = subjectForm.getByRole('alert');
    await refusal
      .getByText(/Not compatible: orders-value's compatibility level refuses this schema/)
      .waitFor();
    await expect(refusal.locator('li').first().textContent()).resolves.toMatch(/currency/);
    expect(await subjectForm.getByRole('button', { name: 'Register' }).isDisabled()).toBe(true);

    // Compatible: checked, then registered; an edit after the check asks for a new one.
    await schemaField.fill(JSON.stringify(orderV2, null, 2));
    await subjectForm.getByRole('button', { name: 'Check compatibility' }).click();
    await subjectForm
      .getByRole('status')
      .getByText(/^Compatible/)
      .waitFor();
    await schemaField.fill(`${JSON.stringify(orderV2, null, 2)}\n`);
    expect(await subjectForm.getByRole('button', { name: 'Register' }).isDisabled()).toBe(true);
    await schemaField.fill(JSON.stringify(orderV2, null, 2));
    await subjectForm.getByRole('button', { name: 'Check compatibility' }).click();
    await subjectForm.getByRole('button', { name: 'Register' }).click();
    await subjectForm
      .getByRole('status')
      .getByText(/Registered: version 2 of orders-value/)
      .waitFor();
    await page.locator('tr[data-version="2"]').waitFor();
    const versions = await sendJson<number[]>(
      'GET',
      `${urls.server}/schema-registry/subjects/orders-value/versions`,
    );
    expect(versions.json).toEqual([1, 2]);

    // The level: the global one until the subject has its own.
    const level = page.locator('section', {
      has: page.getByRole('heading', { name: 'Compatibility level' }),
    });
    await level.getByText('it follows the global level, BACKWARD').waitFor();
    await level.getByLabel('Level').selectOption('NONE');
    await level.getByRole('button', { name: 'Save level' }).click();
    await level.getByRole('status').getByText('The level is now NONE.').waitFor();
    await level.locator('[data-field="level"]', { hasText: 'NONE' }).waitFor();
    const own = await sendJson<{ compatibilityLevel: string }>(
      'GET',
      `${urls.server}/schema-registry/config/orders-value`,
    );
    expect(own.json.compatibilityLevel).toBe('NONE');
    await level.getByRole('button', { name: 'Use the global level' }).click();
    await level.getByText('it follows the global level, BACKWARD').waitFor();

    // The overview lists the subject, linked to its page.
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.locator('[data-field="subjects"]').getByText('1 subject in the schema registry').waitFor();
    await page.getByRole('link', { name: 'orders-value', exact: true }).click();
    await page.getByRole('heading', { name: 'Subject orders-value' }).waitFor();
    await done(page);
  });

  it('shows the line diff between two chosen versions', async () => {
    await register('diffs-value', orderV1);
    await register('diffs-value', orderV2);
    await register('diffs-value', { doc: 'Orders as billed', ...orderV2 });
    const page = await newPage();
    await page.goto(`${urls.server}/console#/schemas/diffs-value`);
    const diff = page.locator('[data-field="diff"]');
    // By default the latest two: only the doc line is new.
    await diff.waitFor();
    await expect(diff.locator('[data-op="added"]').allTextContents()).resolves.toEqual([
      '+   "doc": "Orders as billed",\n',
    ]);
    await expect(diff.locator('[data-op="removed"]').count()).resolves.toBe(0);
    // The unchanged lines past three after the change are folded.
    await expect(diff.locator('[data-op="folded"]').allTextContents()).resolves.toEqual([
      expect.stringMatching(/^ {2}⋯ \d+ unchanged lines\n$/),
    ]);
    // From 1 to 3: the doc and the note field added, nothing removed.
    await page.getByLabel('From version').selectOption('1');
    const added = (await diff.locator('[data-op="added"]').allTextContents()).join('');
    expect(added).toContain('"name": "note"');
    expect(added).toContain('"doc": "Orders as billed"');
    await expect(diff.locator('[data-op="removed"]').count()).resolves.toBe(0);
    // The same version on both sides: no change.
    await page.getByLabel('To version').selectOption('1');
    await page.getByText('Versions 1 and 1 have the same schema.').waitFor();
    await expect(diff.locator('[data-op="added"], [data-op="removed"]').count()).resolves.toBe(0);
    await page.goto(`${urls.server}/console#/schemas/nope`);
    await page.getByRole('alert').getByText('The registry has no subject named').waitFor();
    await done(page);
  });

  it('decodes Avro keys and values in the wire format in the message browser, and says why when it cannot', async () => {
    // A schema of its own: one registered under other subjects too would name them all.
    const billed = { ...orderV1, name: 'Billed' };
    const valueId = await register('avro-orders-value', billed);
    const keyId = await register('avro-orders-key', 'string');
    const value = avroJsEncode(billed, { id: 2 ** 40 + 7, total: 42.5 });
    const key = avroJsEncode('string', 'customer-7');
    expect(
      (await sendJson('POST', `${urls.server}/v1/topics`, { name: 'avro-orders', partitions: 1 })).status,
    ).toBe(201);
    const produced = await sendJson('POST', `${urls.server}/v1/topics/avro-orders/records`, {
      records: [
        { keyBase64: wireBase64(keyId, key), valueBase64: wireBase64(valueId, value) },
        // An id the registry does not know, and a body cut short.
        { valueBase64: wireBase64(9999, value) },
        { valueBase64: wireBase64(valueId, value.subarray(0, 8)) },
      ],
    });
    expect(produced.status).toBe(200);

    const page = await newPage();
    await page.goto(`${urls.server}/console#/topics/avro-orders`);
    await page.getByRole('button', { name: 'Show records' }).click();
    const first = page.locator('tr[data-offset="0"]');
    const valueCell = first.locator('[data-field="value"]');
    await valueCell.getByText(`Avro (schema id ${valueId}, subject avro-orders-value)`).waitFor();
    await expect(valueCell.locator('pre').textContent()).resolves.toBe(
      `{\n  "id": ${2 ** 40 + 7},\n  "total": 42.5\n}`,
    );
    const keyCell = first.locator('[data-field="key"]');
    await keyCell.getByText(`Avro (schema id ${keyId}, subject avro-orders-key)`).waitFor();
    await expect(keyCell.locator('pre').textContent()).resolves.toBe('"customer-7"');

    const unknown = page.locator('tr[data-offset="1"] [data-field="value"]');
    await unknown
      .getByText('schema id 9999, shown as bytes: the registry has no schema with that id.')
      .waitFor();
    await expect(unknown.textContent()).resolves.toMatch(/hex, \d+ bytes\s*00 00 00 27 0f/);
    const truncated = page.locator('tr[data-offset="2"] [data-field="value"]');
    await truncated
      .getByText(/shown as bytes: it does not decode with that schema: truncated: a double/)
      .waitFor();
    await done(page);
  });
});
