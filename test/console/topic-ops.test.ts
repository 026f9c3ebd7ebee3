/**
 * The console's topic operations and live views in headless Chromium against local servers: change a
 * topic's retention and raise its partitions through the form (checked through the API too), follow
 * new records with the live tail, and the overview's live rates and janitor state. Every wait is for
 * a condition (Playwright's auto-waiting locators, vitest's expect.poll), never a sleep.
 */
import type { Page } from 'playwright-core';
import { expect, it } from 'vitest';
import { describeInChromium, sendJson } from '../support/console-browser.ts';

interface Topic {
  config: Record<string, unknown>;
  partitions: unknown[];
}

async function produce(url: string, topic: string, records: unknown[]): Promise<void> {
  expect((await sendJson('POST', `${url}/v1/topics/${topic}/records`, { records })).status).toBe(200);
}

/** What a tab switch tells the page: `document.hidden` and a `visibilitychange` event. */
async function setHidden(page: Page, hidden: boolean): Promise<void> {
  await page.evaluate(`
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => ${hidden} });
    document.dispatchEvent(new Event('visibilitychange'));
  `);
}

describeInChromium(
  'console topic operations in Chromium',
  { open: {}, janitored: { janitorIntervalMs: 100 } },
  ({ urls, newPage, done }) => {
    const describeTopic = async (name: string) =>
      (await sendJson<Topic>('GET', `${urls.open}/v1/topics/${name}`)).json;

    it('changes retention and raises the partition count through the form, confirmed first', async () => {
      expect((await sendJson('POST', `${urls.open}/v1/topics`, { name: 'ops', partitions: 2 })).status).toBe(
        201,
      );
      const page = await newPage();
      await page.goto(`${urls.open}/console#/topics/ops`);
      const config = page.locator('section', { has: page.getByRole('heading', { name: 'Config' }) });
      await config.getByText('Change config or partitions').click();

      // A value the server refuses: its words, and nothing changed.
      await config.getByLabel('retention.ms', { exact: true }).fill('soon');
      await config.getByRole('button', { name: 'Save changes' }).click();
      const refusal = config.getByRole('alert');
      await expect(refusal.textContent()).resolves.toMatch(
        /INVALID_REQUEST: .*retention\.ms must be an integer.*Nothing was changed/,
      );
      expect((await describeTopic('ops')).config['retention.ms']).toBe(604_800_000);

      // Retention: saved, shown in the table, and in words under the field.
      await config.getByLabel('retention.ms', { exact: true }).fill('3600000');
      await config.locator('[id="field-config-retention.ms-help"]', { hasText: /^1 hour$/ }).waitFor();
      await config.getByRole('button', { name: 'Save changes' }).click();
      await config.getByRole('status').getByText('Saved: retention.ms 3600000.').waitFor();
      await config.locator('[data-config="retention.ms"]', { hasText: /^3600000$/ }).waitFor();
      expect((await describeTopic('ops')).config['retention.ms']).toBe(3_600_000);

      // Partitions: the form says they only grow; a raise asks first, and Cancel changes nothing.
      const partitions = config.getByLabel('Partitions', { exact: true });
      await expect(config.getByText('Can only be raised (now 2)').count()).resolves.toBe(1);
      await partitions.fill('4');
      await config.getByRole('button', { name: 'Save changes' }).click();
      await config.getByText(/Raise ops from 2 to 4 partitions\? This cannot be undone/).waitFor();
      await config.getByRole('button', { name: 'Cancel' }).click();
      expect((await describeTopic('ops')).partitions).toHaveLength(2);
      await config.getByRole('button', { name: 'Save changes' }).click();
      await config.getByRole('button', { name: 'Raise to 4 partitions' }).click();
      await config.getByRole('status').getByText('Saved: 4 partitions.').waitFor();
      await page.locator('tr[data-partition="3"] [data-field="high-watermark"]').waitFor();
      expect((await describeTopic('ops')).partitions).toHaveLength(4);
      await expect(partitions.getAttribute('min')).resolves.toBe('4');
      // The other pages of the topic know the new partitions too.
      const produceForm = page.locator('section', {
        has: page.getByRole('heading', { name: 'Produce a record' }),
      });
      await produceForm.getByLabel('Partition').selectOption('3');
      await done(page);
    });

    async function tailOf(page: Page) {
      const tail = page.locator('section', { has: page.getByRole('heading', { name: 'Live tail' }) });
      await tail.getByText(/^Off\./).waitFor();
      return tail;
    }

    it('follows new records of all partitions and of one, pauses, resumes and stops', async () => {
      expect((await sendJson('POST', `${urls.open}/v1/topics`, { name: 'tail', partitions: 2 })).status).toBe(
        201,
      );
      await produce(urls.open, 'tail', [{ value: 'before-the-tail', partition: 1 }]);
      const page = await newPage();
      await page.goto(`${urls.open}/console#/topics/tail`);
      const tail = await tailOf(page);
      const state = tail.locator('[data-field="tail-state"]');

      // All partitions, from the high watermarks: only what is written after the start shows.
      await tail.getByLabel('Follow new records').check();
      await state.getByText('Following 2 partitions: waiting for new records.').waitFor();
      await produce(urls.open, 'tail', [{ value: 'after-the-start', partition: 1 }]);
      const first = tail.locator('tr[data-offset="1"][data-partition="1"]');
      await first.waitFor();
      await expect(first.locator('[data-field="value"]').textContent()).resolves.toContain('after-the-start');
      await expect(first.locator('[data-field="partition"]').textContent()).resolves.toBe('1');
      expect(await tail.locator('tr[data-offset]').count()).toBe(1);

      // One partition, long-polled: a record on partition 0 shows, one on partition 1 does not.
      await tail.getByLabel('Follow', { exact: true }).selectOption('0');
      await state.getByText('Following partition 0 from offset 0: waiting for new records.').waitFor();
      await produce(urls.open, 'tail', [{ value: 'other-partition', partition: 1 }]);
      await produce(urls.open, 'tail', [{ value: 'on-partition-0', partition: 0 }]);
      await tail.locator('tr[data-offset="0"]', { hasText: 'on-partition-0' }).waitFor();
      await expect(tail.locator('table').textContent()).resolves.not.toContain('other-partition');

      // Paused: nothing is read; resumed: it goes on from where it stopped.
      await tail.getByRole('button', { name: 'Pause' }).click();
      await state.getByText(/^Paused: nothing is read until you resume/).waitFor();
      await produce(urls.open, 'tail', [{ value: 'while-paused', partition: 0 }]);
      await tail.getByRole('button', { name: 'Resume' }).click();
      await tail.locator('tr[data-offset="1"]', { hasText: 'while-paused' }).waitFor();
      // Newest first.
      await expect(tail.locator('tr[data-offset]').first().getAttribute('data-offset')).resolves.toBe('1');

      // A hidden tab calls off the long poll in flight, and goes on when shown again.
      const calledOff = page.waitForEvent('requestfailed', (request) =>
        request.url().includes('max_wait_ms'),
      );
      await setHidden(page, true);
      await state.getByText(/^Paused while this tab is hidden/).waitFor();
      await calledOff;
      await setHidden(page, false);
      await state.getByText(/^Following partition 0/).waitFor();
      await produce(urls.open, 'tail', [{ value: 'after-shown', partition: 0 }]);
      await tail.locator('tr[data-offset="2"]', { hasText: 'after-shown' }).waitFor();

      // Stopped: off, and the next start begins at the newest records again.
      await tail.getByLabel('Follow new records').uncheck();
      await state.getByText(/^Off\./).waitFor();
      await tail.getByLabel('Follow new records').check();
      await state.getByText('Following partition 0 from offset 3: waiting for new records.').waitFor();
      expect(await tail.locator('tr[data-offset]').count()).toBe(0);
      await done(page);
    });

    it('shows records in and out per second, live, and that the janitor has not run', async () => {
      expect(
        (await sendJson('POST', `${urls.open}/v1/topics`, { name: 'rates', partitions: 1 })).status,
      ).toBe(201);
      await produce(
        urls.open,
        'rates',
        Array.from({ length: 40 }, (_, i) => ({ value: `v${i}` })),
      );
      const joined = await sendJson<{ memberId: string; assignments: { epoch: number }[] }>(
        'POST',
        `${urls.open}/v1/groups/rates-readers/members`,
        { topics: ['rates'], sessionTimeoutMs: 60_000 },
      );
      const commit = async (offset: number) => {
        const answer = await sendJson('POST', `${urls.open}/v1/groups/rates-readers/offsets`, {
          memberId: joined.json.memberId,
          offsets: [{ topic: 'rates', partition: 0, offset, epoch: joined.json.assignments[0]?.epoch }],
        });
        expect(answer.status).toBe(200);
      };
      await commit(1);
      const page = await newPage();
      await page.goto(`${urls.open}/console`);
      await page.getByText('The janitor has not run yet').waitFor();
      await expect(page.locator('[data-field="janitor"]').textContent()).resolves.toMatch(
        /until a pass completes, nothing is deleted by retention/,
      );
      // A first rate of 0 each (nothing moved between two reads), then writes and commits, then more.
      await page.locator('[data-field="records-in"]').waitFor();
      await page.locator('[data-field="records-out"]').waitFor();
      await produce(
        urls.open,
        'rates',
        Array.from({ length: 40 }, (_, i) => ({ value: `w${i}` })),
      );
      await commit(40);
      const rate = (field: string) => async () =>
        Number(await page.locator(`[data-field="${field}"]`).textContent());
      await expect.poll(rate('records-in'), { timeout: 15_000 }).toBeGreaterThan(0);
      await expect.poll(rate('records-out'), { timeout: 15_000 }).toBeGreaterThan(0);
      await done(page);
    });

    it('shows when the janitor last ran and how many partitions it worked', async () => {
      expect(
        (await sendJson('POST', `${urls.janitored}/v1/topics`, { name: 'swept', partitions: 3 })).status,
      ).toBe(201);
      // The janitor runs every 100 ms: wait until a pass has seen the topic.
      await expect
        .poll(
          async () =>
            (
              await sendJson<{ lastRun: { partitions: number } | null }>(
                'GET',
                `${urls.janitored}/v1/janitor`,
              )
            ).json.lastRun?.partitions,
        )
        .toBe(3);
      const page = await newPage();
      await page.goto(`${urls.janitored}/console`);
      const janitor = page.locator('[data-field="janitor"]');
      await janitor.getByText(/^Last run \d+ s ago$/).waitFor();
      await expect(janitor.textContent()).resolves.toMatch(/\(3 partitions\), finished \d{4}-\d\d-\d\d /);
      await page.getByText('No failures.').waitFor();
      await done(page);

      // A server from before the route answers it with the router's 404: the page says what that means.
      const older = await newPage();
      await older.route('**/v1/janitor', (route) =>
        route.fulfill({
          status: 404,
          contentType: 'application/json',
          body: JSON.stringify({
            error: { code: 'INVALID_REQUEST', message: 'no route GET /v1/janitor', retriable: false },
          }),
        }),
      );
      await older.goto(`${urls.janitored}/console`);
      await older.getByText(/does not say when its janitor last ran/).waitFor();
      await done(older);
    });
  },
);
