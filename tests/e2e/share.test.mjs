// Encrypted share links end to end: bundles made by `lucent share create` open in share.html (the patient view),
// bundles made by the page's Share dialog open with `lucent share open`, attacks show an error and nothing else,
// the key is in no request, and the phone view matches its golden screenshot. Bundles are served from
// www/shares/ (where a deployment puts them: next to share.html, same origin, under the production CSP).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ARTIFACTS, REPO, baseUrl, cliPath, corpusDir, filesUnder, mark, missing, openApp, openFolder, runCli,
  waitForEvent, withBrowser } from './helpers.mjs';
import { sealBundle } from '../../www/share-bundle.js';

const GE = corpusDir('dcm_qa_ct/In/GE');
const SHARES = join(REPO, 'www/shares');
const GOLDEN = join(REPO, 'tests/e2e/golden/share-phone.png');
const PHONE = { width: 390, height: 844 };

const unique = () => `e2e-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
const made = [];

/** `lucent share create` into www/shares/; returns {file, link, secret}. */
async function cliBundle(dir, extra = []) {
  mkdirSync(SHARES, { recursive: true });
  const name = `${unique()}.lucent`;
  const file = join(SHARES, name);
  made.push(file);
  const out = await runCli('share', 'create', dir, '--base', await baseUrl(), ...extra, '--out', file);
  const link = out.trim().split('\n').pop();
  return { file, link, secret: link.slice(link.lastIndexOf('.') + 1), location: `shares/${name}` };
}

function cleanUp() {
  for (const f of made.splice(0)) rmSync(f, { force: true });
}

/** Opens a share link and waits until the page is open or shows an error; returns the state. */
async function openLink(page, link) {
  // A fresh document each time: a link that differs only in its fragment would not reload the page.
  await page.goto('about:blank');
  await page.goto(link);
  await page.waitForFunction(() => /^(open|error:|pin)/.test(document.body.dataset.state ?? ''), null, { timeout: 60_000 });
  return page.evaluate(() => document.body.dataset.state);
}

const prerequisites = (t) => missing(t, `corpus folder ${GE}`, existsSync(GE)) || missing(t, 'the lucent CLI', cliPath());

test('a CLI bundle opens in share.html; the key is in no request and nothing else is fetched', async (t) => {
  if (prerequisites(t)) return;
  const base = await baseUrl();
  const { link, secret, location } = await cliBundle(GE, ['--expires', '7d']);
  assert.match(link, new RegExp(`^${base.replace(/[.]/g, '\\.')}share\\.html#shares/e2e-[\\w-]+\\.lucent\\.[A-Za-z0-9_-]{43}$`));
  try {
    await withBrowser(t, async ({ page, requests, consoleErrors }) => {
      const sent = [];
      page.on('request', (r) => sent.push({ url: r.url(), headers: r.headers(), body: r.postData() }));
      assert.equal(await openLink(page, link), 'open');
      const loaded = await waitForEvent(page, 'lucent:loaded');
      assert.equal(loaded.series.length, 1);
      assert.equal(loaded.series[0].slices, 28, 'the GE head series, all 28 slices');
      assert.equal(loaded.errors.length, 0);
      await waitForEvent(page, 'lucent:rendered');
      // The address bar lost the key; the title names no patient.
      assert.equal(new URL(page.url()).hash, '');
      assert.equal(await page.title(), 'Shared study · Lucent');
      assert.match(await page.locator('#share-expiry').innerText(), /^Available until \d{4}-\d\d-\d\d$/);
      // Storage stayed empty.
      const stored = await page.evaluate(async () => ({
        local: localStorage.length, session: sessionStorage.length,
        idb: (await indexedDB.databases?.())?.length ?? 0, caches: (await caches.keys()).length,
      }));
      assert.deepEqual(stored, { local: 0, session: 0, idb: 0, caches: 0 });

      for (const r of sent) {
        const text = `${r.url} ${JSON.stringify(r.headers)} ${r.body ?? ''}`;
        assert.ok(!text.includes(secret), `the key appears in a request: ${r.url}`);
      }
      assert.deepEqual(requests.filter((u) => !u.startsWith(base)), [], 'requests outside the viewer origin');
      const bundleFetches = requests.filter((u) => u.includes('/shares/'));
      assert.deepEqual(bundleFetches, [`${base}${location}`], 'the bundle is fetched once, at its location');
      const statics = requests.filter((u) => !u.includes('/shares/')).map((u) => new URL(u).pathname.slice(new URL(base).pathname.length));
      const inWww = (p) => existsSync(join(REPO, 'www', p.split('?')[0]));
      assert.deepEqual(statics.filter((p) => !inWww(p)), [], 'every other request is one of the page\'s own static files');
      assert.deepEqual(consoleErrors, []);
    });
  } finally {
    cleanUp();
  }
});

test('a PIN bundle asks for the PIN, refuses a wrong one, then opens', async (t) => {
  if (prerequisites(t)) return;
  const { link } = await cliBundle(GE, ['--pin', '482916']);
  try {
    await withBrowser(t, async ({ page }) => {
      assert.equal(await openLink(page, link), 'pin');
      assert.equal(await page.locator('lucent-viewer').isVisible(), false);
      await page.fill('#share-pin-input', '000000');
      await page.click('#share-pin-submit');
      await page.waitForFunction(() => document.body.dataset.state === 'pin-wrong', null, { timeout: 30_000 });
      assert.match(await page.locator('#share-pin-error').innerText(), /not right/);
      await page.fill('#share-pin-input', '482916');
      await page.click('#share-pin-submit');
      const loaded = await waitForEvent(page, 'lucent:loaded');
      assert.equal(loaded.series[0].slices, 28);

      // The same link through the element's API (an embedding portal): no PIN, a wrong one, the right one.
      await openApp(page, { demo: false });
      const viaApi = await page.evaluate(async (link) => {
        const v = document.querySelector('lucent-viewer');
        const none = await v.load(link);
        const wrong = await v.load({ share: link, pin: '111111' });
        const right = await v.load({ share: link, pin: '482916' });
        return { none: none.error?.code, wrong: wrong.error?.code, slices: right.slices, errors: right.errors };
      }, link);
      assert.deepEqual(viaApi, { none: 'share-pin-required', wrong: 'share-wrong-pin', slices: 28, errors: [] });
    });
  } finally {
    cleanUp();
  }
});

test('attacks on a bundle show a clear error and no image', async (t) => {
  if (prerequisites(t)) return;
  const { file, link } = await cliBundle(GE);
  const original = readFileSync(file);
  const variant = (name, bytes) => {
    const path = join(SHARES, `${unique()}-${name}.lucent`);
    writeFileSync(path, bytes);
    made.push(path);
    return link.replace(/#shares\/[^.]+\.lucent/, `#shares/${path.split('/').pop()}`);
  };
  const flipped = Buffer.from(original);
  flipped[flipped.length - 5000] ^= 0x20;
  const h = original.readUInt32LE(8);
  const headerEdited = Buffer.from(original);
  const at = headerEdited.indexOf('"created":"') + 11 + 3;
  headerEdited[at] = headerEdited[at] === 0x39 ? 0x38 : headerEdited[at] + 1;
  // Expired: sealed by the JS writer with an expiry in the past, under the same key as the link.
  const expiredFile = (await sealBundle(filesUnder(GE).slice(0, 2).map((p) => ({ path: relative(GE, p), read: async () => readFileSync(p) })), {
    secret: Buffer.from(link.slice(link.lastIndexOf('.') + 1), 'base64url'), expires: new Date(Date.now() - 60_000),
    now: new Date(Date.now() - 86_400_000),
  })).blob;
  const cases = [
    ['wrong key', link.replace(/\.[A-Za-z0-9_-]{43}$/, `.${Buffer.alloc(32, 1).toString('base64url')}`), 'error:wrong-key', /does not open/],
    ['flipped chunk byte', variant('flip', flipped), 'error:damaged', /damaged or was tampered/],
    ['edited header', variant('header', headerEdited), 'error:wrong-key', /does not open/],
    ['truncated', variant('trunc', original.subarray(0, original.length - 1000)), 'error:damaged', /truncated|ends inside/],
    ['appended', variant('append', Buffer.concat([original, Buffer.from('x')])), 'error:damaged', /extended|after its last chunk/],
    ['expired', variant('expired', Buffer.from(await expiredFile.arrayBuffer())), 'error:expired', /expired on/],
    ['missing bundle', link.replace(/#shares\/[^.]+\.lucent/, '#shares/nothing-here.lucent'), 'error:not-found', /no longer available/],
    ['no key at all', link.slice(0, link.indexOf('#')), 'error:no-link', /incomplete/],
  ];
  assert.ok(h > 0);
  try {
    await withBrowser(t, async ({ page }) => {
      for (const [name, url, state, message] of cases) {
        assert.equal(await openLink(page, url), state, name);   // a fresh document: its event log starts empty
        assert.match(await page.locator('#share-error-text').innerText(), message, name);
        assert.equal(await page.locator('lucent-viewer').isVisible(), false, `${name}: no viewer`);
        const loads = await page.evaluate(() => window.__lucent.events.filter((e) => e.type === 'lucent:loaded').length);
        assert.equal(loads, 0, `${name}: nothing was loaded`);
      }
    });
  } finally {
    cleanUp();
  }
});

test('a bundle made by the page\'s Share dialog opens with `lucent share open`', async (t) => {
  if (prerequisites(t)) return;
  const work = await mkdtemp(join(tmpdir(), 'lucent-share-'));
  try {
    await withBrowser(t, async ({ page }) => {
      await openApp(page, { demo: false });
      await openFolder(page, GE);
      await page.click('button[data-action="share"]');
      await page.fill('.share-dialog input[name="pin"]', 'pin-2468');
      await page.selectOption('.share-dialog select[name="expires"]', '30');
      await page.click('.share-create');
      const link = await page.locator('.share-dialog input[name="link"]').inputValue({ timeout: 60_000 });
      assert.match(link, /share\.html#shares\/[0-9a-f]{16}\.lucent\.[A-Za-z0-9_-]{43}$/);
      assert.equal(await page.locator('.share-qr').evaluate((img) => img.complete && img.naturalWidth > 0), true, 'QR image shown');
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('.share-download')]);
      const bundle = join(work, 'page.lucent');
      await download.saveAs(bundle);

      const out = join(work, 'out');
      const summary = JSON.parse(await runCli('share', 'open', bundle, '--key', link, '--pin', 'pin-2468', '--out', out, '--json'));
      const originals = filesUnder(GE);
      assert.equal(summary.files, originals.length);
      assert.ok(summary.expires, 'the expiry chosen in the dialog is in the bundle');
      for (const p of originals) {
        const rel = relative(join(GE, '..'), p);   // the folder input keeps the folder's own name
        assert.deepEqual(readFileSync(join(out, rel)), readFileSync(p), rel);
      }
      // Wrong PIN natively too.
      await assert.rejects(runCli('share', 'open', bundle, '--key', link, '--pin', 'nope-0000', '--out', join(work, 'x')), /wrong-pin/);
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

/** Dispatches CDP touch events: points is a list of frames, each a list of [x, y] (CSS px). */
async function touch(cdp, frames) {
  const pts = (f) => f.map(([x, y], id) => ({ x, y, id }));
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: pts(frames[0]) });
  for (const f of frames.slice(1)) await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: pts(f) });
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
}

const steps = (from, to, n = 8) => Array.from({ length: n + 1 }, (_, i) => from.map((p, k) => [
  p[0] + ((to[k][0] - p[0]) * i) / n, p[1] + ((to[k][1] - p[1]) * i) / n]));

test('the phone view: golden screenshot at 390x844, swipe, pinch and two-finger window', async (t) => {
  if (prerequisites(t)) return;
  // A fixed expiry: the header line "Available until ..." is in the golden image.
  const { link } = await cliBundle(GE, ['--expires', '2099-12-31T00:00:00Z']);
  try {
    await withBrowser(t, async ({ page, context }) => {
      assert.equal(await openLink(page, link), 'open');
      await waitForEvent(page, 'lucent:loaded');
      await waitForEvent(page, 'lucent:rendered');
      const shot = await page.screenshot();
      mkdirSync(ARTIFACTS, { recursive: true });
      writeFileSync(join(ARTIFACTS, 'share-phone.png'), shot);
      if (!existsSync(GOLDEN)) {
        if (process.env.CI === 'true') assert.fail(`golden image ${GOLDEN} is missing`);
        mkdirSync(join(GOLDEN, '..'), { recursive: true });
        writeFileSync(GOLDEN, shot);
        console.warn(`*** wrote a new golden image ${GOLDEN}: look at it before committing ***`);
      }
      // Compared in a blank page: share.html's CSP (rightly) allows no data: fetches.
      const blank = await context.newPage();
      const diff = await blank.evaluate(async ([a, b]) => {
        const load = async (b64) => createImageBitmap(await (await fetch(`data:image/png;base64,${b64}`)).blob());
        const [x, y] = await Promise.all([load(a), load(b)]);
        if (x.width !== y.width || x.height !== y.height) return { size: [x.width, x.height, y.width, y.height] };
        const px = (bmp) => {
          const c = new OffscreenCanvas(bmp.width, bmp.height);
          const g = c.getContext('2d');
          g.drawImage(bmp, 0, 0);
          return g.getImageData(0, 0, bmp.width, bmp.height).data;
        };
        const [p, q] = [px(x), px(y)];
        let sum = 0;
        let off = 0;
        for (let i = 0; i < p.length; i += 4) {
          const d = Math.max(Math.abs(p[i] - q[i]), Math.abs(p[i + 1] - q[i + 1]), Math.abs(p[i + 2] - q[i + 2]));
          sum += d;
          if (d > 48) off++;
        }
        return { mean: sum / (p.length / 4), off: off / (p.length / 4) };
      }, [shot.toString('base64'), readFileSync(GOLDEN).toString('base64')]);
      await blank.close();
      assert.equal(diff.size, undefined, `screenshot size differs from the golden: ${diff.size}`);
      assert.ok(diff.mean < 2 && diff.off < 0.01, `the phone view differs from tests/e2e/golden/share-phone.png: mean ${diff.mean?.toFixed(2)}, ${(diff.off * 100).toFixed(2)}% of pixels off (see ${ARTIFACTS}/share-phone.png)`);

      // Touch: the buttons are finger-sized, and the gestures do what the hint says.
      for (const b of await page.locator('.share-tools button:visible').all()) {
        const box = await b.boundingBox();
        assert.ok(box.width >= 44 && box.height >= 44, 'touch targets are at least 44 px');
      }
      const cdp = await context.newCDPSession(page);
      const box = await page.locator('lucent-viewer .lv-viewport').boundingBox();
      const cx = box.x + box.width / 2;
      const cy = box.y + box.height / 2;
      const state = () => page.evaluate(() => {
        const v = document.querySelector('lucent-viewer');
        return { slice: v.slice, zoom: v.zoom, window: v.window };
      });
      const before = await state();
      let since = await mark(page);
      await touch(cdp, steps([[cx, cy + 120]], [[cx, cy - 120]]));
      await waitForEvent(page, 'lucent:rendered', { since });
      const swiped = await state();
      assert.ok(swiped.slice > before.slice, `a swipe up goes to later slices (${before.slice} -> ${swiped.slice})`);
      await touch(cdp, steps([[cx - 30, cy], [cx + 30, cy]], [[cx - 120, cy], [cx + 120, cy]]));
      const pinched = await state();
      assert.ok(pinched.zoom > swiped.zoom * 2.5, `a pinch zooms (${swiped.zoom} -> ${pinched.zoom})`);
      assert.equal(pinched.slice, swiped.slice);
      since = await mark(page);
      await touch(cdp, steps([[cx - 40, cy], [cx + 40, cy]], [[cx + 20, cy + 80], [cx + 100, cy + 80]]));
      await waitForEvent(page, 'lucent:rendered', { since });
      const windowed = await state();
      assert.ok(windowed.window.center > pinched.window.center && windowed.window.width > pinched.window.width,
        `two fingers dragged down-right raise center and width (${JSON.stringify(pinched.window)} -> ${JSON.stringify(windowed.window)})`);
      assert.ok(Math.abs(windowed.zoom - pinched.zoom) < 1e-9, `a two-finger drag does not zoom (${pinched.zoom} -> ${windowed.zoom})`);
    }, { viewport: PHONE, mobile: true });
  } finally {
    cleanUp();
  }
});

test.after(() => {
  // Leftovers of an interrupted run.
  if (!existsSync(SHARES)) return;
  for (const name of readdirSync(SHARES)) if (name.startsWith('e2e-')) rmSync(join(SHARES, name), { force: true });
});
