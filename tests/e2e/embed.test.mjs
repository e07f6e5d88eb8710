// Embedding: a third-party portal on another origin (tests/e2e/portal-server.mjs, strict CSP, no cross-origin
// isolation) embeds <lucent-viewer> and the embed.html iframe from the viewer's origin; both load a real series
// through the API, fire their events, give screenshots equal to `lucent render`; destroy() gives the engine's
// memory back. A hostile host stylesheet does not change the element's rendering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import {
  ARTIFACTS, baseUrl, cliPath, corpusDir, filesUnder, missing, rendererMemory, runCli, waitForEvent, withBrowser,
} from './helpers.mjs';
import { startPortal } from './portal-server.mjs';

const GE = corpusDir('dcm_qa_ct/In/GE');
// xtask test picks this port and lets its origin frame embed.html (serve --embed-origin).
const PORTAL_PORT = Number(process.env.LUCENT_PORTAL_PORT) || 0;

async function cliRender(file, window) {
  const tmp = await mkdtemp(join(tmpdir(), 'lucent-embed-'));
  try {
    const out = join(tmp, 'slice.rgba');
    await runCli('render', file, '--window', window, '--out', out);
    return readFileSync(out);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

const sameBytes = (actual, expected, what) => {
  if (actual.equals(expected)) return;
  let bad = 0;
  for (let i = 0; i < Math.max(actual.length, expected.length); i++) if (actual[i] !== expected[i]) bad++;
  assert.fail(`${what} differs from 'lucent render' in ${bad} of ${expected.length} bytes (lengths ${actual.length}, ${expected.length})`);
};

test('a portal on another origin embeds the element and the iframe; API, events, screenshots, destroy', async (t) => {
  if (missing(t, `corpus folder ${GE}`, existsSync(GE))) return;
  if (missing(t, 'the lucent CLI ($LUCENT_CLI)', Boolean(cliPath() && existsSync(cliPath())))) return;
  if (missing(t, 'LUCENT_PORTAL_PORT (an origin the viewer lets frame embed.html: cargo xtask test sets it, or '
    + 'serve --embed-origin http://127.0.0.1:PORT)', PORTAL_PORT > 0)) return;
  const viewer = await baseUrl();
  const portal = await startPortal({ port: PORTAL_PORT, viewerOrigin: new URL(viewer).origin });
  t.after(() => portal.close());
  assert.notEqual(portal.origin, new URL(viewer).origin);

  await withBrowser(t, async ({ page, consoleErrors, profile }) => {
    const workers = [];
    page.on('worker', (w) => workers.push(w));
    await page.goto(`${portal.origin}/examples/portal.html?viewer=${encodeURIComponent(viewer)}`);
    await waitForEvent(page, 'lucent:ready');                   // the element's engine, a worker in the portal page
    await page.waitForFunction(() => window.portal);
    const ready = await page.evaluate(() => window.portal.frame.ready);
    assert.equal(ready.apiVersion, 1, 'iframe speaks protocol v1');
    assert.equal(await page.evaluate(() => window.portal.component.constructor.apiVersion), 1);

    // The portal hands the same files to both: the element by File, the iframe as transferred ArrayBuffers.
    const files = filesUnder(GE);
    await page.setInputFiles('#files', files);
    const element = await waitForEvent(page, 'lucent:loaded');
    const framed = await page.evaluate(() => new Promise((resolve) => {
      const hit = window.portal.events.find((e) => e.source === 'iframe' && e.name === 'loaded');
      if (hit) resolve(hit.detail);
      else window.portal.frame.on('loaded', resolve);
    }));
    for (const [who, d] of [['element', element], ['iframe', framed]]) {
      assert.deepEqual({ files: d.files, slices: d.slices, errors: d.errors, series: d.series.length },
        { files: 28, slices: 28, errors: [], series: 1 }, who);
    }

    // Same verbs on both; the results are the lucent:rendered details.
    const shown = await page.evaluate(async () => {
      const { component, frame } = window.portal;
      await component.goTo(5);
      const a = await component.setWindow(40, 80);
      await frame.goTo(5);
      const b = await frame.setWindow(40, 80);
      const file = (await component.sliceInfo(5)).file;
      return { a, b, file, state: await frame.state() };
    });
    for (const r of [shown.a, shown.b]) {
      assert.deepEqual({ slice: r.slice, center: r.center, width: r.width, w: r.width_px, h: r.height_px },
        { slice: 5, center: 40, width: 80, w: 512, h: 512 });
    }
    assert.equal(shown.state.slice, 5);
    assert.equal(shown.state.sliceCount, 28);
    const rendered = await page.evaluate(() => window.portal.events.filter((e) => e.name === 'rendered')
      .map((e) => `${e.source}:${e.detail.slice}:${e.detail.center}/${e.detail.width}`));
    assert.ok(rendered.includes('component:5:40/80') && rendered.includes('iframe:5:40/80'), `rendered events: ${rendered}`);

    // screenshot() Blobs decode to exactly what `lucent render` writes for that file and window.
    const expected = await cliRender(join(GE, basename(shown.file)), '40,80');
    const pics = await page.evaluate(async () => {
      const { component, frame } = window.portal;
      return [await window.__lucent.pixels(await component.screenshot()), await window.__lucent.pixels(await frame.screenshot())];
    });
    for (const [who, pic] of [['element', pics[0]], ['iframe', pics[1]]]) {
      assert.deepEqual([pic.width, pic.height, pic.type], [512, 512, 'image/png'], who);
      sameBytes(Buffer.from(pic.b64, 'base64'), expected, `${who} screenshot`);
    }

    // Nothing the portal's CSP had to block, nothing logged as an error.
    assert.deepEqual(await page.evaluate(() => window.__lucent.violations), []);
    assert.deepEqual(consoleErrors, []);

    // destroy(): the element's worker ends and the renderer gives back at least its wasm memory.
    const { wasmBytes } = await page.evaluate(() => window.portal.component.memory());
    assert.ok(wasmBytes > 28 * 512 * 512 * 2, `engine holds the study (${wasmBytes} bytes)`);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('HeapProfiler.collectGarbage');
    const before = rendererMemory(profile).rss;
    const elementWorker = workers.find((w) => w.url().startsWith('blob:'));
    assert.ok(elementWorker, `the element runs its engine in a worker of the portal page (${workers.map((w) => w.url())})`);
    const closed = new Promise((resolve) => elementWorker.once('close', resolve));
    await page.evaluate(() => window.portal.component.destroy());
    await closed;
    let after = rendererMemory(profile).rss;
    for (let i = 0; i < 50 && before - after < 0.8 * wasmBytes; i++) {
      await cdp.send('HeapProfiler.collectGarbage');
      await new Promise((r) => setTimeout(r, 200));
      after = rendererMemory(profile).rss;
    }
    const MB = 2 ** 20;
    console.log(`destroy(): wasm memory ${(wasmBytes / MB).toFixed(0)} MB; renderer RSS ${(before / MB).toFixed(0)} -> ${(after / MB).toFixed(0)} MB`);
    assert.ok(before - after >= 0.8 * wasmBytes,
      `renderer RSS fell by ${((before - after) / MB).toFixed(0)} MB after destroy(), less than 80% of the engine's ${(wasmBytes / MB).toFixed(0)} MB`);
    const afterDestroy = await page.evaluate(async () => {
      const c = window.portal.component;
      return { destroyed: c.destroyed, children: c.shadowRoot.childElementCount, load: await c.load([]), memory: await c.memory() };
    });
    assert.deepEqual(afterDestroy, { destroyed: true, children: 0, load: { error: { code: 'destroyed', message: 'The viewer was destroyed.' } },
      memory: { wasmBytes: 0 } });

    // The iframe's destroy works through the protocol too; an unknown verb is a typed error, not silence.
    assert.deepEqual(await page.evaluate(() => window.portal.frame.destroy()), { destroyed: true });
    assert.equal(await page.evaluate(() => window.portal.frame.call('nope').catch((e) => e.code)), 'unknown-method');
  });
});

test('embed.html refuses to be framed by an origin that is not allowed', async (t) => {
  const viewer = await baseUrl();
  const portal = await startPortal({ port: 0, viewerOrigin: new URL(viewer).origin });   // a port nobody allowed
  t.after(() => portal.close());
  await withBrowser(t, async ({ page }) => {
    await page.goto(`${portal.origin}/examples/portal.html?viewer=${encodeURIComponent(viewer)}`);
    await page.waitForFunction(() => window.portal);
    // frame-ancestors blocks the document: the frame never answers hello, so `ready` never resolves.
    const outcome = await page.evaluate(() => Promise.race([
      window.portal.frame.ready.then(() => 'ready'),
      new Promise((r) => setTimeout(() => r('no answer'), 5000)),
    ]));
    assert.equal(outcome, 'no answer');
    const frameUrl = await page.evaluate(() => document.getElementById('embed').src);
    assert.match(frameUrl, /embed\.html/);
  });
});

test('a hostile host stylesheet does not change the element', async (t) => {
  if (missing(t, `corpus folder ${GE}`, existsSync(GE))) return;
  const viewer = await baseUrl();
  const portal = await startPortal({ port: 0, viewerOrigin: new URL(viewer).origin });
  t.after(() => portal.close());
  const shoot = async (name) => {
    let shot = null;
    await withBrowser(t, async ({ page }) => {
      await page.goto(`${portal.origin}/fixtures/${name}.html?viewer=${encodeURIComponent(viewer)}`);
      await waitForEvent(page, 'lucent:ready');
      await page.setInputFiles('#files', filesUnder(GE));
      await waitForEvent(page, 'lucent:loaded');
      await page.evaluate(async () => {
        await window.fixtureViewer.goTo(5);
        await window.fixtureViewer.setWindow(40, 80);
      });
      await page.waitForFunction(() => window.__lucent.query('.lv-thumb.lv-thumb-ready'));
      const fontSize = await page.evaluate(() => getComputedStyle(document.body).fontSize);
      const png = await page.locator('lucent-viewer').screenshot();
      const decoded = await page.evaluate((b64) => window.__lucent.pixels(
        new Blob([Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0))], { type: 'image/png' })), png.toString('base64'));
      shot = { png, fontSize, rgba: Buffer.from(decoded.b64, 'base64') };
    });
    return shot;
  };
  const plain = await shoot('plain');
  const hostile = await shoot('hostile');
  assert.equal(hostile.fontSize, '31px', 'the hostile stylesheet applies to the host page');
  assert.notEqual(plain.fontSize, '31px');
  // Two screenshots of the same page differ in a few pixels of the downscaled series thumbnail by a level or two
  // (seen: 4 to 18 pixels, up to 2); a stylesheet that reached inside changes thousands, by far more.
  let differing = 0;
  let maxDiff = 0;
  for (let i = 0; i < plain.rgba.length; i += 4) {
    const d = Math.max(...[0, 1, 2].map((k) => Math.abs(plain.rgba[i + k] - hostile.rgba[i + k])));
    if (d) differing++;
    maxDiff = Math.max(maxDiff, d);
  }
  if (plain.rgba.length !== hostile.rgba.length || differing > 100 || maxDiff > 3) {
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, 'embed-plain.png'), plain.png);
    writeFileSync(join(ARTIFACTS, 'embed-hostile.png'), hostile.png);
    assert.fail(`the element looks different under the hostile stylesheet: ${differing} pixels differ, by up to ${maxDiff} `
      + `(both screenshots in ${ARTIFACTS})`);
  }
});
