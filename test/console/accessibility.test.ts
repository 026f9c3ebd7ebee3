/**
 * The console for keyboard and assistive-technology users, in headless Chromium against a local
 * server: on every page each form control and button has a name as Chromium's accessibility tree
 * computes it, all text meets WCAG AA contrast, and nothing scrolls sideways at a phone's width; and a
 * topic is created, a record produced and found again with the keyboard alone (Tab, typing, Enter),
 * the focus visible at each step. Every wait is for a condition, never a sleep.
 */
import type { Locator, Page } from 'playwright-core';
import { expect, it } from 'vitest';
import { describeInChromium, sendJson } from '../support/console-browser.ts';

/** The form controls and buttons a user can reach on the page as it is now. */
const CONTROLS = 'input:not([type="hidden"]), select, textarea, button';

/**
 * Every control of CONTROLS on the page with the name Chromium's accessibility tree gives it (what a
 * screen reader announces), as `<tag id=…>: name`.
 */
async function controlNames(page: Page): Promise<{ control: string; name: string }[]> {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { root } = await cdp.send('DOM.getDocument', { depth: 0 });
    const { nodeIds } = await cdp.send('DOM.querySelectorAll', { nodeId: root.nodeId, selector: CONTROLS });
    const named: { control: string; name: string }[] = [];
    for (const nodeId of nodeIds) {
      const { node } = await cdp.send('DOM.describeNode', { nodeId });
      const { nodes } = await cdp.send('Accessibility.getPartialAXTree', { nodeId, fetchRelatives: false });
      const attributes = node.attributes ?? [];
      const id = attributes[attributes.indexOf('id') + 1];
      const control = `<${node.localName}${attributes.includes('id') ? ` id=${id}` : ''}>`;
      named.push({ control, name: String(nodes[0]?.name?.value ?? '').trim() });
    }
    return named;
  } finally {
    await cdp.detach();
  }
}

/** The page's controls all have a name; there are at least `least` of them (so the check saw the form). */
async function expectAllNamed(page: Page, least: number): Promise<void> {
  const named = await controlNames(page);
  expect(named.length).toBeGreaterThanOrEqual(least);
  expect(named.filter(({ name }) => name === '').map(({ control }) => control)).toEqual([]);
}

/**
 * Every piece of visible text whose contrast with the background behind it (translucent layers
 * composited) is below WCAG's AA level: 4.5:1, or 3:1 for large text (24px, or 18.66px bold). Text of
 * disabled controls is exempt. As `<tag> "text" ratio`. A script string: run in the page as written.
 */
const LOW_CONTRAST = `(() => {
  const rgba = (color) => {
    const [r, g, b, a = 1] = color.match(/[0-9.]+/g).map(Number);
    return { r, g, b, a };
  };
  const over = (top, below) => ({
    r: top.r * top.a + below.r * (1 - top.a),
    g: top.g * top.a + below.g * (1 - top.a),
    b: top.b * top.a + below.b * (1 - top.a),
    a: 1,
  });
  const luminance = ({ r, g, b }) => {
    const linear = (v) => (v / 255 <= 0.03928 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4);
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
  };
  const behind = (element) => {
    const layers = [];
    for (let e = element; e !== null; e = e.parentElement) {
      const color = rgba(getComputedStyle(e).backgroundColor);
      if (color.a > 0) layers.push(color);
      if (color.a >= 1) break;
    }
    return layers.reverse().reduce((below, top) => over(top, below), { r: 255, g: 255, b: 255, a: 1 });
  };
  const low = [];
  const texts = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let text = texts.nextNode(); text !== null; text = texts.nextNode()) {
    const element = text.parentElement;
    const words = text.textContent.trim();
    if (words === '' || element.closest('[disabled]') !== null) continue;
    const style = getComputedStyle(element);
    if (style.visibility === 'hidden' || element.getClientRects().length === 0) continue;
    const background = behind(element);
    const ink = luminance(over(rgba(style.color), background));
    const [light, dark] = [ink, luminance(background)].sort((x, y) => y - x);
    const ratio = (light + 0.05) / (dark + 0.05);
    const size = Number.parseFloat(style.fontSize);
    const large = size >= 24 || (Number(style.fontWeight) >= 700 && size >= 18.66);
    if (ratio < (large ? 3 : 4.5)) low.push('<' + element.localName + '> "' + words.slice(0, 40) + '" ' + ratio.toFixed(2));
  }
  return low;
})()`;

/**
 * The page as it is now: every control has a name, there are at least `least` of them (so the check
 * saw the forms), all its text is readable against its background, and at a phone's width (390px) it
 * still needs no sideways scrolling (wide tables scroll inside themselves).
 */
async function expectAccessible(page: Page, least: number): Promise<void> {
  await expectAllNamed(page, least);
  expect(await page.evaluate<string[]>(LOW_CONTRAST)).toEqual([]);
  const size = page.viewportSize();
  await page.setViewportSize({ width: 390, height: 800 });
  await expect
    .poll(() => page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth'))
    .toBeLessThanOrEqual(0);
  if (size !== null) await page.setViewportSize(size);
}

/**
 * Presses Tab (or Shift+Tab) until `target` has the focus, as a keyboard user reaches it (at most
 * `limit` presses); the focused control must show it (an outline or a focus ring).
 */
async function tabTo(
  page: Page,
  target: Locator,
  key: 'Tab' | 'Shift+Tab' = 'Tab',
  limit = 100,
): Promise<void> {
  for (let presses = 0; presses < limit; presses += 1) {
    const focus = await target.evaluate((element) => {
      const page = element.ownerDocument;
      if (element !== page.activeElement || page.defaultView === null) return null;
      const style = page.defaultView.getComputedStyle(element);
      return { outline: style.outlineStyle, ring: style.boxShadow };
    });
    if (focus !== null) {
      expect(focus.outline !== 'none' || focus.ring !== 'none', `${target} shows no focus`).toBe(true);
      return;
    }
    await page.keyboard.press(key);
  }
  throw new Error(`${limit} presses of ${key} did not reach ${target}`);
}

describeInChromium(
  'the console for keyboard and screen-reader users',
  { open: {}, guarded: { token: 'sesame' } },
  ({ urls, newPage, done }) => {
    it('names every control on every page, with readable text, and fits a phone-width window', async () => {
      const url = urls.open;
      expect((await sendJson('POST', `${url}/v1/topics`, { name: 'named', partitions: 2 })).status).toBe(201);
      expect(
        (await sendJson('POST', `${url}/v1/topics/named/records`, { records: [{ value: 'a' }] })).status,
      ).toBe(200);
      expect(
        (await sendJson('POST', `${url}/v1/groups/named-readers/members`, { topics: ['named'] })).status,
      ).toBe(201);
      // Two versions, so the subject's page has its diff form too.
      const fields = [{ name: 'id', type: 'long' }];
      for (const version of [fields, [...fields, { name: 'note', type: 'string', default: '' }]]) {
        const schema = JSON.stringify({ type: 'record', name: 'Named', fields: version });
        expect(
          (await sendJson('POST', `${url}/schema-registry/subjects/named-value/versions`, { schema })).status,
        ).toBe(200);
      }
      const page = await newPage();

      await page.goto(`${url}/console`);
      await page.locator('tr[data-topic="named"]').waitFor();
      await page.locator('[data-field="subjects"]').waitFor();
      // The check itself: a control without a name is found, by its id.
      await page.evaluate(`document.body.insertAdjacentHTML('beforeend', '<input id="unnamed-probe">')`);
      expect(await controlNames(page)).toContainEqual({ control: '<input id=unnamed-probe>', name: '' });
      await page.evaluate(`document.getElementById('unnamed-probe').remove()`);
      // And pale text is found: grey #aaa on white is 2.32:1.
      await page.evaluate(
        `document.body.insertAdjacentHTML('beforeend', '<p id="pale-probe" style="color: #aaa">hard to read</p>')`,
      );
      expect(await page.evaluate<string[]>(LOW_CONTRAST)).toEqual(['<p> "hard to read" 2.32']);
      await page.evaluate(`document.getElementById('pale-probe').remove()`);
      await expectAccessible(page, 5);

      await page.goto(`${url}/console#/topics/new`);
      await page.getByLabel('Topic name').waitFor();
      await expectAccessible(page, 4);

      await page.goto(`${url}/console#/topics/named`);
      await page.getByRole('heading', { name: 'Topic named' }).waitFor();
      await page.getByText('Change config or partitions').click();
      await page.getByRole('spinbutton', { name: 'Partitions', exact: true }).waitFor();
      const messages = page.locator('section', { has: page.getByRole('heading', { name: 'Messages' }) });
      for (const startAt of ['newest', 'offset', 'time']) {
        await messages.getByLabel('Start at').selectOption(startAt);
        await expectAccessible(page, 19);
      }

      await page.goto(`${url}/console#/groups/named-readers`);
      await page.locator('tr[data-member]').waitFor();
      const reset = page.locator('section', { has: page.getByRole('heading', { name: 'Reset offsets' }) });
      const resetTo = reset.getByLabel('Reset to');
      const targets = await Promise.all(
        (await resetTo.locator('option').all()).map(
          async (option) => (await option.getAttribute('value')) ?? '',
        ),
      );
      expect(targets.length).toBeGreaterThan(2);
      for (const target of targets) {
        await resetTo.selectOption(target);
        await expectAccessible(page, 6);
      }

      const hook = {
        name: 'named-hook',
        topic: 'named',
        target: { url: 'http://127.0.0.1:9/in' },
        enabled: false,
      };
      expect((await sendJson('POST', `${url}/v1/subscriptions`, hook)).status).toBe(201);
      await page.goto(`${url}/console#/subscriptions/named-hook`);
      await page.locator('[data-field="state"]').waitFor();
      await expectAccessible(page, 2);

      await page.goto(`${url}/console#/schemas`);
      await page.locator('tr[data-subject="named-value"]').waitFor();
      await expectAccessible(page, 6);

      await page.goto(`${url}/console#/schemas/named-value`);
      await page.getByRole('heading', { name: 'Register a new version' }).waitFor();
      await expectAccessible(page, 8);
      await done(page);

      const prompt = await newPage();
      await prompt.goto(`${urls.guarded}/console`);
      await prompt.getByLabel('API token').waitFor();
      await expectAccessible(prompt, 7);
      await done(prompt);
    });

    it('creates a topic, produces a record and finds it with the keyboard alone', async () => {
      const page = await newPage();
      await page.goto(`${urls.open}/console`);
      await page.getByRole('heading', { name: 'Topics' }).waitFor();

      await tabTo(page, page.getByRole('navigation').getByRole('link', { name: 'Create topic' }));
      await page.keyboard.press('Enter');
      const name = page.getByLabel('Topic name');
      await tabTo(page, name);
      await page.keyboard.type('keyed');
      await tabTo(page, page.getByLabel('Partitions'));
      await page.keyboard.press('Control+A');
      await page.keyboard.type('1');
      await tabTo(page, page.getByRole('button', { name: 'Create topic' }));
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Topic keyed' }).waitFor();

      const produce = page.locator('section', {
        has: page.getByRole('heading', { name: 'Produce a record' }),
      });
      await tabTo(page, produce.getByLabel('Key (empty for none)'));
      await page.keyboard.type('by-keyboard');
      await tabTo(page, produce.getByLabel(/^Value/));
      await page.keyboard.type('{"typed":true}');
      await tabTo(page, produce.getByRole('button', { name: 'Produce' }));
      await page.keyboard.press('Enter');
      await produce.getByRole('status').getByText('Written to partition 0 at offset 0.').waitFor();

      // The produce form points the message browser at the record; Show records reached by Shift+Tab.
      const messages = page.locator('section', { has: page.getByRole('heading', { name: 'Messages' }) });
      await tabTo(page, messages.getByRole('button', { name: 'Show records' }), 'Shift+Tab');
      await page.keyboard.press('Enter');
      const row = messages.locator('tr[data-offset="0"]');
      await expect(row.locator('[data-field="key"]').textContent()).resolves.toContain('by-keyboard');
      await expect(row.locator('[data-field="value"] pre').textContent()).resolves.toBe(
        '{\n  "typed": true\n}',
      );
      await done(page);
    });
  },
);
