// Privacy: the page fetches only its own static files, and opening/viewing local files sends nothing anywhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { baseUrl, corpusDir, mark, missing, openApp, openFolder, waitForEvent, withBrowser } from './helpers.mjs';

const GE = corpusDir('dcm_qa_ct/In/GE');

test('no network traffic beyond the app\'s own static files', async (t) => {
  if (missing(t, `corpus folder ${GE}`, existsSync(GE))) return;
  const base = await baseUrl();
  const hasDemo = (await fetch(`${base}demo/index.json`).catch(() => null))?.ok;

  await withBrowser(t, async ({ page, requests }) => {
    await openApp(page, { demo: Boolean(hasDemo) });
    if (hasDemo) await waitForEvent(page, 'lucent:loaded');
    else console.warn('network.test: no demo study; checking the empty page only');
    // The recorder sees the worker's traffic too (the demo slices are fetched by the worker).
    if (hasDemo) assert.ok(requests.some((url) => url.endsWith('.dcm')), 'demo slice requests were recorded');
    const foreign = requests.filter((url) => !url.startsWith(base));
    assert.deepEqual(foreign, [], 'requests outside the app origin');
    const settled = requests.length;

    const loaded = await openFolder(page, GE);
    assert.equal(loaded.series[0]?.slices, 28);
    const viewer = 'lucent-viewer .lv-viewport';
    await page.focus(viewer);
    let since = await mark(page);
    await page.keyboard.press('ArrowDown');
    await waitForEvent(page, 'lucent:rendered', { since });
    const box = await page.locator(viewer).boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    since = await mark(page);
    await page.mouse.down({ button: 'right' });
    await page.mouse.move(box.x + box.width / 2 + 40, box.y + box.height / 2 + 20, { steps: 4 });
    await page.mouse.up({ button: 'right' });
    await waitForEvent(page, 'lucent:rendered', { since });
    since = await mark(page);
    await page.click('button[data-preset="lung"]');
    await waitForEvent(page, 'lucent:rendered', { since, match: { center: -600, width: 1500 } });
    await page.click('button[data-action="actual"]');
    await page.click('button[data-action="fit"]');
    since = await mark(page);
    await page.click('lucent-viewer .lv-series-item');
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.wheel(0, 100);
    await waitForEvent(page, 'lucent:rendered', { since });
    // Round-trip through the page's event loop and the worker once more, so any late request would be seen.
    await page.evaluate(() => document.querySelector('lucent-viewer').sliceInfo(0));

    assert.deepEqual(requests.slice(settled), [], 'requests made while opening and viewing local files');
  });
});
