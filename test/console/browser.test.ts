/**
 * The web console in headless Chromium against a local server: create a topic and produce a record
 * through the forms, find the record by offset and by time, see it on the overview; the token prompt;
 * error and empty states; a narrow window. Every wait is for a condition (Playwright's auto-waiting
 * locators, vitest's expect.poll), never a sleep.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Locator } from 'playwright-core';
import { expect, it } from 'vitest';
import { describeInChromium, sendJson } from '../support/console-browser.ts';

async function post(url: string, body: unknown, token?: string): Promise<number> {
  return (await sendJson('POST', url, body, token)).status;
}

async function createTopic(url: string, name: string, token?: string): Promise<void> {
  expect(await post(`${url}/v1/topics`, { name, partitions: 1 }, token)).toBe(201);
}

async function produce(url: string, topic: string, records: unknown[]): Promise<void> {
  expect(await post(`${url}/v1/topics/${topic}/records`, { records })).toBe(200);
}

describeInChromium(
  'web console in Chromium',
  { open: {}, guarded: { token: 'sesame' }, delivering: { subscriptions: true } },
  ({ urls, newPage, done }) => {
    it('says what to do while there are no topics, groups, subscriptions or schemas', async () => {
      const page = await newPage();
      await page.goto(`${urls.open}/console`);
      await page.getByText('No topics yet.').waitFor();
      await page.getByText('No consumer groups yet.').waitFor();
      await page.getByText('No subscriptions yet.').waitFor();
      await page.getByText('No schemas yet.').waitFor();
      await expect(
        page.getByRole('link', { name: 'Create one with the form' }).getAttribute('href'),
      ).resolves.toBe('#/topics/new');
      await expect(
        page.getByRole('link', { name: 'Register one on the Schemas page' }).getAttribute('href'),
      ).resolves.toBe('#/schemas');
      await done(page);
    });

    it('creates a topic and produces through the forms, then finds the record by offset, by time and on the overview', async () => {
      const page = await newPage();
      await page.goto(`${urls.open}/console`);
      await page.getByRole('link', { name: 'Create topic' }).click();
      await page.getByLabel('Topic name').fill('orders');
      await page.getByLabel('Partitions').fill('2');
      await page.getByRole('button', { name: 'Create topic' }).click();
      await page.getByRole('heading', { name: 'Topic orders' }).waitFor();
      expect(new URL(page.url()).hash).toBe('#/topics/orders');
      const created = (await (await fetch(`${urls.open}/v1/topics/orders`)).json()) as {
        partitions: unknown[];
      };
      expect(created.partitions).toHaveLength(2);

      // An older record at offset 0, two hours back: the search by time must skip it.
      await produce(urls.open, 'orders', [{ value: 'old', partition: 1, timestamp: Date.now() - 7_200_000 }]);

      const produceForm = page.locator('section', {
        has: page.getByRole('heading', { name: 'Produce a record' }),
      });
      await produceForm.getByLabel('Key (empty for none)').fill('customer-7');
      await produceForm.getByLabel('Partition').selectOption('1');
      await produceForm.getByLabel(/^Value/).fill('{"total":42,"items":["a"]}');
      await produceForm.getByLabel(/^Headers/).fill('trace: abc');
      await produceForm.getByRole('button', { name: 'Produce' }).click();
      await produceForm.getByRole('status').getByText('Written to partition 1 at offset 1.').waitFor();

      const browserPanel = page.locator('section', { has: page.getByRole('heading', { name: 'Messages' }) });
      // By offset: the form points the browser at the record it wrote.
      await expect(browserPanel.getByLabel('Start at').inputValue()).resolves.toBe('offset');
      await browserPanel.getByLabel('Partition').selectOption('1');
      await browserPanel.getByLabel('Offset').fill('1');
      await browserPanel.getByLabel('Records').fill('5');
      await browserPanel.getByRole('button', { name: 'Show records' }).click();
      const row = browserPanel.locator('tr[data-offset="1"]');
      await row.waitFor();
      await expect(row.locator('[data-field="key"]').textContent()).resolves.toContain('customer-7');
      await expect(row.locator('[data-field="value"] pre').textContent()).resolves.toBe(
        '{\n  "total": 42,\n  "items": [\n    "a"\n  ]\n}',
      );
      await expect(row.locator('[data-field="headers"]').textContent()).resolves.toMatch('trace: abc');
      expect(await browserPanel.locator('tr[data-offset]').count()).toBe(1);

      // By time: a minute ago, in the browser's own time zone, finds offset 1 and not the older offset 0.
      await browserPanel.getByLabel('Start at').selectOption('time');
      const minuteAgo = await page.evaluate(() => {
        const at = Date.now() - 60_000;
        return new Date(at - new Date(at).getTimezoneOffset() * 60_000).toISOString().slice(0, 19);
      });
      await browserPanel.getByLabel('Time (your time zone)').fill(minuteAgo);
      await browserPanel.getByRole('button', { name: 'Show records' }).click();
      await browserPanel.getByText(/1 record from the first record at or after/).waitFor();
      await expect(browserPanel.locator('tr[data-offset]').getAttribute('data-offset')).resolves.toBe('1');

      // The newest N, from the log start: both records, the old one as text.
      await browserPanel.getByLabel('Start at').selectOption('newest');
      await browserPanel.getByRole('button', { name: 'Show records' }).click();
      await browserPanel.getByText('2 records from the newest 5').waitFor();
      await expect(
        browserPanel.locator('tr[data-offset="0"] [data-field="value"]').textContent(),
      ).resolves.toContain('old');

      // On the overview: two records, high watermarks per partition.
      await page.getByRole('link', { name: 'Overview' }).click();
      const topicRow = page.locator('tr[data-topic="orders"]');
      await topicRow.waitFor();
      await expect(topicRow.locator('[data-field="records"]').textContent()).resolves.toBe('2');
      await expect(topicRow.locator('[data-field="high-watermarks"]').textContent()).resolves.toBe(
        '0: 0 · 1: 2',
      );
      await done(page);
    });

    it('draws the records written per second, live, with uPlot, and keeps the partitions current', async () => {
      await createTopic(urls.open, 'live');
      const page = await newPage();
      await page.goto(`${urls.open}/console#/topics/live`);
      await page.locator('.rate-chart canvas').first().waitFor();
      // A first rate of 0 (nothing written between two reads), then records, then a rate above 0.
      await page.locator('[data-field="rate"]').waitFor();
      await produce(
        urls.open,
        'live',
        Array.from({ length: 50 }, (_, i) => ({ value: `v${i}` })),
      );
      await expect
        .poll(async () => Number(await page.locator('[data-field="rate"]').textContent()), {
          timeout: 15_000,
        })
        .toBeGreaterThan(0);
      // The same reads keep the partition table current.
      await page
        .locator('tr[data-partition="0"] [data-field="high-watermark"]', { hasText: /^50$/ })
        .waitFor();
      await done(page);
    });

    it('shows bytes that are not text as hex, and a null value as null', async () => {
      await createTopic(urls.open, 'bytes');
      await produce(urls.open, 'bytes', [
        { keyBase64: 'AAEC/w==', valueBase64: 'AAEC/w==' },
        { key: 'gone' },
      ]);
      const page = await newPage();
      await page.goto(`${urls.open}/console#/topics/bytes`);
      await page.getByRole('button', { name: 'Show records' }).click();
      const first = page.locator('tr[data-offset="0"]');
      await first.waitFor();
      await expect(first.locator('[data-field="value"]').textContent()).resolves.toMatch(
        /hex, 4 bytes\s*00 01 02 ff/,
      );
      await expect(page.locator('tr[data-offset="1"] [data-field="value"]').textContent()).resolves.toBe(
        'null',
      );
      await done(page);
    });

    it('says what to do about a topic that does not exist and an offset out of range', async () => {
      const page = await newPage();
      await page.goto(`${urls.open}/console#/topics/nope`);
      await page.getByRole('alert').getByText('There is no topic named').waitFor();
      await createTopic(urls.open, 'ranges');
      await page.goto(`${urls.open}/console#/topics/ranges`);
      const browserPanel = page.locator('section', { has: page.getByRole('heading', { name: 'Messages' }) });
      await browserPanel.getByLabel('Start at').selectOption('offset');
      await browserPanel.getByLabel('Offset').fill('99');
      await browserPanel.getByRole('button', { name: 'Show records' }).click();
      await browserPanel
        .getByRole('alert')
        .getByText(/OFFSET_OUT_OF_RANGE.*Pick an offset in that range/)
        .waitFor();
      // A refused create says why, and creates nothing.
      await page.goto(`${urls.open}/console#/topics/new`);
      await page.getByLabel('Topic name').fill('ranges');
      await page.getByRole('button', { name: 'Create topic' }).click();
      await page
        .getByRole('alert')
        .getByText(/TOPIC_ALREADY_EXISTS/)
        .waitFor();
      await done(page);
    });

    it('asks for the token once, says when it is wrong, and keeps it for the tab', async () => {
      await createTopic(urls.guarded, 'secret-topic', 'sesame');
      const page = await newPage();
      await page.goto(`${urls.guarded}/console`);
      await page.getByRole('heading', { name: 'This server wants a token' }).waitFor();
      await page.getByLabel('API token').fill('wrong');
      await page.getByRole('button', { name: 'Use this token' }).click();
      await page.getByRole('alert').getByText('The server refused that token').waitFor();
      await page.getByLabel('API token').fill('sesame');
      await page.getByRole('button', { name: 'Use this token' }).click();
      await page.locator('tr[data-topic="secret-topic"]').waitFor();
      expect(await page.getByLabel('API token').count()).toBe(0);
      // Kept for the tab: a reload asks no more.
      await page.reload();
      await page.locator('tr[data-topic="secret-topic"]').waitFor();
      expect(await page.getByLabel('API token').count()).toBe(0);
      await done(page);
    });

    it("shows a group's lag falling to 0 as its consumer commits, then resets and deletes it once the member has left", async () => {
      await createTopic(urls.open, 'lagging');
      await produce(
        urls.open,
        'lagging',
        Array.from({ length: 7 }, (_, i) => ({ value: `r${i}` })),
      );
      const joined = await sendJson<{ memberId: string; assignments: { epoch: number }[] }>(
        'POST',
        `${urls.open}/v1/groups/readers/members`,
        {
          topics: ['lagging'],
          sessionTimeoutMs: 120_000,
        },
      );
      expect(joined.status).toBe(201);
      const memberId = joined.json.memberId;
      const epoch = joined.json.assignments[0]?.epoch;

      const page = await newPage();
      await page.goto(`${urls.open}/console`);
      await page.getByRole('link', { name: 'readers' }).click();
      await page.getByRole('heading', { name: 'Group readers' }).waitFor();
      const row = page.locator('tr[data-topic="lagging"][data-partition="0"]');
      const lag = row.locator('[data-field="lag"]');
      await expect.poll(() => lag.textContent()).toBe('7');
      await page.locator('tr[data-member]').getByText(memberId).waitFor();

      // The consumer catches up: the live reads show the lag at 0, in the table and the chart's text.
      const commit = await sendJson('POST', `${urls.open}/v1/groups/readers/offsets`, {
        memberId,
        offsets: [{ topic: 'lagging', partition: 0, offset: 7, epoch }],
      });
      expect(commit.status).toBe(200);
      await expect.poll(() => lag.textContent(), { timeout: 15_000 }).toBe('0');
      await expect.poll(() => page.locator('strong[data-field="total-lag"]').textContent()).toBe('0');
      await expect.poll(() => row.locator('[data-field="committed"]').textContent()).toBe('7');

      // While the member is live, a reset and a delete are refused, and the page says what to do.
      const reset = page.locator('section', { has: page.getByRole('heading', { name: 'Reset offsets' }) });
      await reset.getByLabel('Reset to').selectOption('earliest');
      const refusedWhileLive = async (section: Locator, ask: string, confirm: string) => {
        await section.getByRole('button', { name: ask }).click();
        await section.getByRole('button', { name: confirm }).click();
        await section
          .getByRole('alert')
          .getByText(/INVALID_REQUEST: group readers has 1 live member.*Stop the group’s consumers/)
          .waitFor();
      };
      await refusedWhileLive(reset, 'Reset offsets…', 'Reset these offsets');
      const remove = page.locator('section', {
        has: page.getByRole('heading', { name: 'Delete the group' }),
      });
      await refusedWhileLive(remove, 'Delete group…', 'Delete this group');
      expect((await sendJson<{ groups: string[] }>('GET', `${urls.open}/v1/groups`)).json.groups).toContain(
        'readers',
      );

      // The member leaves: a reset to the earliest offset brings the lag back to 7.
      expect((await sendJson('DELETE', `${urls.open}/v1/groups/readers/members/${memberId}`)).status).toBe(
        204,
      );
      await page.getByRole('button', { name: 'Refresh group' }).click();
      await page.locator('[data-field="no-members"]').waitFor();
      await reset.getByRole('button', { name: 'Reset offsets…' }).click();
      await reset
        .getByText('Reset group readers on lagging, all partitions, to the earliest offset')
        .waitFor();
      await reset.getByRole('button', { name: 'Reset these offsets' }).click();
      await reset.getByRole('status').getByText('Reset: lagging/0 → 0.').waitFor();
      await expect.poll(() => lag.textContent()).toBe('7');
      await expect.poll(() => row.locator('[data-field="committed"]').textContent()).toBe('0');

      // To an offset, one partition: the lag follows.
      await reset.getByLabel('Reset to').selectOption('offset');
      await reset.getByLabel('Offset').fill('4');
      await reset.getByLabel('Partitions').selectOption('0');
      await reset.getByRole('button', { name: 'Reset offsets…' }).click();
      await reset.getByRole('button', { name: 'Reset these offsets' }).click();
      await reset.getByRole('status').getByText('Reset: lagging/0 → 4.').waitFor();
      await expect.poll(() => lag.textContent()).toBe('3');

      // Cancel changes nothing; a confirmed delete removes the group.
      await remove.getByRole('button', { name: 'Delete group…' }).click();
      await remove.getByRole('button', { name: 'Cancel' }).click();
      expect((await sendJson<{ groups: string[] }>('GET', `${urls.open}/v1/groups`)).json.groups).toContain(
        'readers',
      );
      await remove.getByRole('button', { name: 'Delete group…' }).click();
      await remove.getByRole('button', { name: 'Delete this group' }).click();
      await remove.getByRole('status').getByText('Group readers is deleted.').waitFor();
      expect(
        (await sendJson<{ groups: string[] }>('GET', `${urls.open}/v1/groups`)).json.groups,
      ).not.toContain('readers');
      await done(page);
    });

    it("shows a subscription's delivery per partition, and pauses and resumes it", async () => {
      // A target that accepts every delivery and counts the records.
      let delivered = 0;
      const target = createServer((request, response) => {
        let body = '';
        request.on('data', (chunk) => {
          body += chunk;
        });
        request.on('end', () => {
          // The event of a self-managed Kafka source: records by `topic-partition` (docs/subscriptions.md).
          const event = JSON.parse(body) as { records: Record<string, unknown[]> };
          for (const batch of Object.values(event.records)) delivered += batch.length;
          response.writeHead(200).end();
        });
      });
      await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
      try {
        const url = urls.delivering;
        await createTopic(url, 'hooked');
        await produce(url, 'hooked', [{ value: 'a' }, { value: 'b' }, { value: 'c' }]);
        const created = await sendJson('POST', `${url}/v1/subscriptions`, {
          name: 'hook',
          topic: 'hooked',
          target: { url: `http://127.0.0.1:${(target.address() as AddressInfo).port}/in` },
          startingPosition: 'earliest',
        });
        expect(created.status).toBe(201);

        const page = await newPage();
        await page.goto(`${url}/console`);
        await page.getByRole('link', { name: 'hook', exact: true }).click();
        await page.getByRole('heading', { name: 'Subscription hook' }).waitFor();
        const state = page.locator('[data-field="state"]');
        await expect.poll(() => state.textContent()).toBe('running');
        await expect.poll(() => delivered, { timeout: 15_000 }).toBe(3);
        const partition = page.locator('tr[data-partition="0"]');
        await expect
          .poll(
            async () => {
              await page.getByRole('button', { name: 'Refresh delivery status' }).click();
              return partition.locator('[data-field="committed"]').textContent();
            },
            { timeout: 15_000 },
          )
          .toBe('3');
        await expect(partition.locator('[data-field="lag"]').textContent()).resolves.toBe('0');
        await expect(partition.locator('[data-field="last-delivery"] time').count()).resolves.toBe(1);
        await expect(partition.locator('[data-field="attempts"]').textContent()).resolves.toBe('0');

        await page.getByRole('button', { name: 'Pause delivery' }).click();
        await page.getByRole('status').getByText('Paused').waitFor();
        await expect.poll(() => state.textContent()).toBe('paused');
        expect(
          (await sendJson<{ enabled: boolean }>('GET', `${url}/v1/subscriptions/hook`)).json.enabled,
        ).toBe(false);

        // Resumed, it delivers what was written meanwhile.
        await produce(url, 'hooked', [{ value: 'd' }]);
        await page.getByRole('button', { name: 'Resume delivery' }).click();
        await page.getByRole('status').getByText('Resumed').waitFor();
        await expect.poll(() => state.textContent()).toBe('running');
        await expect.poll(() => delivered, { timeout: 15_000 }).toBe(4);
        await page.goto(`${url}/console#/subscriptions/nope`);
        await page.getByRole('alert').getByText('There is no subscription named').waitFor();
        await done(page);
      } finally {
        await new Promise((resolve) => target.close(resolve));
      }
    });

    it('fits a narrow window and is driven from the keyboard', async () => {
      const page = await newPage(390, 800);
      await page.goto(`${urls.open}/console#/topics/orders`);
      await page.getByRole('heading', { name: 'Topic orders' }).waitFor();
      const overflow = await page.evaluate<number>(
        'document.documentElement.scrollWidth - window.innerWidth',
      );
      expect(overflow).toBeLessThanOrEqual(0);
      // A group page, with its long member ids, scrolls its tables and not the page.
      await createTopic(urls.open, 'narrow');
      expect(await post(`${urls.open}/v1/groups/narrow-readers/members`, { topics: ['narrow'] })).toBe(201);
      await page.goto(`${urls.open}/console#/groups/narrow-readers`);
      await page.locator('tr[data-member]').waitFor();
      expect(
        await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth'),
      ).toBeLessThanOrEqual(0);
      // Keyboard only: the create form, from the name field to Enter.
      await page.goto(`${urls.open}/console#/topics/new`);
      await page.getByLabel('Topic name').focus();
      await page.keyboard.type('typed');
      await page.keyboard.press('Tab');
      await page.keyboard.press('Control+A');
      await page.keyboard.type('1');
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Topic typed' }).waitFor();
      await done(page);
    });
  },
);
