// A real GE head CT (28 slices, gantry tilt, uneven gaps): slice order, 1:1 pixels identical to the CLI's
// render of the same file, keyboard/wheel navigation and right-button window drag.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { readHeader, normalPosition } from './dicom-mini.mjs';
import {
  cliPath, corpusDir, filesUnder, imagePixels, mark, missing, openApp, openFolder, overlayText, runCli,
  waitForEvent, withBrowser,
} from './helpers.mjs';

const GE = corpusDir('dcm_qa_ct/In/GE');

const viewerCall = (page, method, ...args) =>
  page.evaluate(([method, args]) => document.querySelector('lucent-viewer')[method](...args), [method, args]);
const viewerGet = (page, prop) => page.evaluate((prop) => document.querySelector('lucent-viewer')[prop], prop);

test('GE CT series: order, pixel-exact 1:1 render, navigation, window drag', async (t) => {
  if (missing(t, `corpus folder ${GE}`, existsSync(GE))) return;
  const cli = cliPath();
  const haveCli = Boolean(cli && existsSync(cli));
  if (missing(t, 'the lucent CLI ($LUCENT_CLI)', haveCli)) return;

  await withBrowser(t, async ({ page }) => {
    await openApp(page, { demo: false });
    const loaded = await openFolder(page, GE);
    assert.deepEqual(loaded.errors, []);
    assert.equal(loaded.files, 28);
    assert.equal(loaded.series.length, 1);
    assert.equal(loaded.series[0].slices, 28);
    assert.equal(loaded.series[0].modality, 'CT');
    assert.equal(await viewerGet(page, 'sliceCount'), 28);

    // Slice order: compare with the order computed here from each file's own header (independent reader).
    const infos = [];
    for (let i = 0; i < 28; i++) infos.push(await viewerCall(page, 'sliceInfo', i));
    const byPosition = filesUnder(GE)
      .map((f) => ({ name: basename(f), pos: normalPosition(readHeader(f)) }))
      .sort((a, b) => a.pos - b.pos)
      .map((f) => f.name);
    const shown = infos.map((i) => basename(i.file));
    assert.ok(
      JSON.stringify(shown) === JSON.stringify(byPosition) || JSON.stringify(shown) === JSON.stringify([...byPosition].reverse()),
      `viewer order ${shown.join(' ')} is not the order along the slice normal ${byPosition.join(' ')}`,
    );
    const locations = infos.map((i) => i.slice_location);
    const steps = locations.slice(1).map((v, i) => v - locations[i]);
    assert.ok(steps.every((d) => d > 0) || steps.every((d) => d < 0), `slice_location not strictly monotonic: ${locations}`);

    // The slider and the overlay follow setSlice.
    await viewerCall(page, 'setSlice', 5);
    assert.equal(await page.locator('lucent-viewer .lv-slider').inputValue(), '5');
    const bl = await overlayText(page, 'bl');
    assert.match(bl, /Im: 6 \/ 28/);
    assert.match(bl, new RegExp(`Loc: ${locations[5].toFixed(2).replace('.', '\\.')} mm`));

    // 1:1 pixels at a brain window must equal `lucent render` of the same file, byte for byte.
    await viewerCall(page, 'setZoom', 1);
    const rendered = await viewerCall(page, 'setWindow', 40, 80);
    assert.deepEqual(
      { slice: rendered.slice, center: rendered.center, width: rendered.width, w: rendered.width_px, h: rendered.height_px },
      { slice: 5, center: 40, width: 80, w: 512, h: 512 },
    );
    const shot = await imagePixels(page);
    assert.equal(shot.rect.width, 512, 'whole image visible at 1:1');
    assert.equal(shot.rect.height, 512, 'whole image visible at 1:1');
    const tmp = await mkdtemp(join(tmpdir(), 'lucent-ge-'));
    try {
      const out = join(tmp, 'slice.rgba');
      await runCli('render', join(GE, basename(infos[5].file)), '--window', '40,80', '--out', out);
      const expected = readFileSync(out);
      assert.equal(expected.length, 512 * 512 * 4);
      if (!expected.equals(shot.rgba)) {
        let bad = 0;
        for (let i = 0; i < expected.length; i++) if (expected[i] !== shot.rgba[i]) bad++;
        assert.fail(`canvas differs from 'lucent render' in ${bad} of ${expected.length} bytes`);
      }
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }

    // ArrowDown: next slice, different pixels, overlay updated.
    await page.focus('lucent-viewer .lv-viewport');
    let since = await mark(page);
    await page.keyboard.press('ArrowDown');
    await waitForEvent(page, 'lucent:rendered', { since, match: { slice: 6 } });
    const next = await imagePixels(page);
    assert.ok(!next.rgba.equals(shot.rgba), 'ArrowDown shows a different image');
    assert.match(await overlayText(page, 'bl'), /Im: 7 \/ 28/);
    since = await mark(page);
    await page.keyboard.press('End');
    await waitForEvent(page, 'lucent:rendered', { since, match: { slice: 27 } });
    since = await mark(page);
    await page.keyboard.press('Home');
    await waitForEvent(page, 'lucent:rendered', { since, match: { slice: 0 } });

    // Mouse wheel: one notch, one slice.
    const box = await page.locator('lucent-viewer .lv-viewport').boundingBox();
    const cx = box.x + box.width / 2;
    const cy = box.y + box.height / 2;
    await page.mouse.move(cx, cy);
    since = await mark(page);
    await page.mouse.wheel(0, 100);
    await waitForEvent(page, 'lucent:rendered', { since, match: { slice: 1 } });
    const before = await imagePixels(page);

    // Right-button drag: right = wider, down = higher center; the image follows.
    since = await mark(page);
    await page.mouse.down({ button: 'right' });
    await page.mouse.move(cx + 60, cy + 40, { steps: 6 });
    await page.mouse.up({ button: 'right' });
    const win = await viewerGet(page, 'window');
    assert.ok(win.width > 80 && win.center > 40, `window after drag: ${JSON.stringify(win)}`);
    await waitForEvent(page, 'lucent:rendered', { since, match: { center: win.center, width: win.width } });
    const after = await imagePixels(page);
    assert.ok(!after.rgba.equals(before.rgba), 'window drag changes the image');
    assert.match(await overlayText(page, 'br'), new RegExp(`W: ${win.width} L: ${win.center}`));

    // Coalescing: a burst of 50 window changes renders the first and the last, not all 50.
    since = await mark(page);
    const burst = await page.evaluate(async () => {
      const v = document.querySelector('lucent-viewer');
      let last;
      for (let i = 1; i <= 50; i++) last = v.setWindow(100 + i, 300 + i);
      return last;
    });
    assert.deepEqual([burst.center, burst.width], [150, 350]);
    const renders = (await page.evaluate((since) => window.__lucent.events.slice(since), since))
      .filter((e) => e.type === 'lucent:rendered');
    assert.ok(renders.length <= 3, `${renders.length} renders for a burst of 50 window changes`);
    assert.deepEqual([renders.at(-1).detail.center, renders.at(-1).detail.width], [150, 350]);

    // Presets by key: 4 = bone.
    since = await mark(page);
    await page.keyboard.press('4');
    await waitForEvent(page, 'lucent:rendered', { since, match: { center: 400, width: 1800 } });
  });
});
