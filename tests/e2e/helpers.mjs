// Shared plumbing for the browser tests: Chromium via playwright-core, the page under test, waiting for the
// viewer's DOM events (never fixed sleeps), reading canvas pixels, corpus/CLI discovery.
import { chromium } from 'playwright-core';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { CORPUS, REPO, missing } from '../support/env.mjs';

export { CORPUS, REPO, missing };
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const ARTIFACTS = process.env.LUCENT_ARTIFACTS || join(REPO, 'tests/e2e/artifacts');
export const EVENT_TIMEOUT_MS = 60_000;

/** The native CLI: $LUCENT_CLI, else a built target/{debug,release}/lucent. */
export function cliPath() {
  if (process.env.LUCENT_CLI) return process.env.LUCENT_CLI;
  for (const profile of ['debug', 'release']) {
    const p = join(REPO, 'target', profile, 'lucent');
    if (existsSync(p)) return p;
  }
  return null;
}

export const runCli = async (...args) => (await promisify(execFile)(cliPath(), args, { maxBuffer: 64 << 20 })).stdout;

export const corpusDir = (...parts) => join(CORPUS, ...parts);
export const hasCorpus = (...parts) => existsSync(corpusDir(...parts));

/** Every regular file under dir, recursively, sorted. */
export function filesUnder(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out.sort();
}

/** $LUCENT_BASE_URL: the app served with its production headers (xtask's server, the one way to serve it). */
export async function baseUrl() {
  if (process.env.LUCENT_BASE_URL) return process.env.LUCENT_BASE_URL.replace(/\/?$/, '/');
  throw new Error('LUCENT_BASE_URL is not set: run `cargo xtask test`, or `cargo xtask serve` and '
    + 'LUCENT_BASE_URL=http://127.0.0.1:8080/ node --test tests/e2e/');
}

// Runs in the page before any of its scripts: records every lucent:* event (and CSP violations) so a test
// can wait for an event that may already have fired.
function recorder() {
  const events = [];
  const waiters = [];
  const matches = (e, type, since, match) =>
    e.index >= since && e.type === type && Object.entries(match ?? {}).every(([k, v]) => e.detail?.[k] === v);
  for (const type of ['lucent:ready', 'lucent:progress', 'lucent:rendered', 'lucent:loaded', 'lucent:error',
    'lucent:layout', 'lucent:mpr-rendered', 'lucent:measurement', 'lucent:pano-rendered']) {
    document.addEventListener(type, (ev) => {
      const e = { index: events.length, type, detail: ev.detail };
      events.push(e);
      for (const w of [...waiters]) {
        if (matches(e, w.type, w.since, w.match)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(e);
        }
      }
    });
  }
  const violations = [];
  document.addEventListener('securitypolicyviolation', (ev) => violations.push(`${ev.violatedDirective}: ${ev.blockedURI}`));
  window.__lucent = {
    events,
    violations,
    // Raw bytes (Uint8ClampedArray / Uint8Array) as base64, for handing pixels back to the test.
    base64: (bytes) => {
      let s = '';
      for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
      return btoa(s);
    },
    // An image Blob (e.g. a screenshot() PNG) decoded with no colour conversion: {width, height, type, b64: RGBA}.
    pixels: async (blob) => {
      const bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
      const c = new OffscreenCanvas(bitmap.width, bitmap.height);
      const g = c.getContext('2d');
      g.drawImage(bitmap, 0, 0);
      const data = g.getImageData(0, 0, bitmap.width, bitmap.height).data;
      return { width: bitmap.width, height: bitmap.height, type: blob.type, b64: window.__lucent.base64(data) };
    },
    // The first match inside <lucent-viewer>'s shadow root (its internals), else in the page.
    query: (selector) => document.querySelector('lucent-viewer')?.shadowRoot?.querySelector(selector)
      ?? document.querySelector(selector),
    mark: () => events.length,
    wait: (type, since, match, timeoutMs) => new Promise((resolve, reject) => {
      const hit = events.find((e) => matches(e, type, since, match));
      if (hit) return resolve(hit);
      const w = { type, since, match, resolve };
      waiters.push(w);
      setTimeout(() => {
        const i = waiters.indexOf(w);
        if (i < 0) return;
        waiters.splice(i, 1);
        const seen = events.slice(since).map((e) => e.type).join(', ');
        reject(new Error(`no ${type} ${JSON.stringify(match ?? {})} within ${timeoutMs} ms (events since: ${seen || 'none'})`));
      }, timeoutMs);
    }),
  };
}

/**
 * Launches Chromium with a fresh profile and runs fn({page, context, requests, consoleErrors, profile}).
 * Options: viewport (CSS px), mobile (phone emulation).
 * On failure a screenshot goes to $LUCENT_ARTIFACTS/<name>.png.
 */
export async function withBrowser(t, fn, { viewport = { width: 1400, height: 900 }, mobile = false } = {}) {
  const profile = await mkdtemp(join(tmpdir(), 'lucent-e2e-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    // mobile: a phone (touch events, device pixel ratio 3, mobile viewport rules)
    deviceScaleFactor: mobile ? 3 : 1,
    isMobile: mobile,
    hasTouch: mobile,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const requests = [];
  const consoleErrors = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
  await page.addInitScript(recorder);
  try {
    await fn({ page, context, requests, consoleErrors, profile });
  } catch (e) {
    try {
      mkdirSync(ARTIFACTS, { recursive: true });
      const file = join(ARTIFACTS, `${t.name.replace(/[^\w.-]+/g, '_')}.png`);
      await page.screenshot({ path: file });
      console.error(`screenshot: ${file}`);
    } catch {
      // the page may be gone; the original error matters
    }
    throw e;
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
}

/** Opens the app; demo:false skips the demo study (?nodemo). Resolves once the engine is ready. */
export async function openApp(page, { demo = true } = {}) {
  await page.goto(`${await baseUrl()}${demo ? '' : '?nodemo'}`);
  // Fail fast (not after the timeout) when the engine cannot start, e.g. www/pkg/ was not built.
  const first = await page.evaluate((timeoutMs) => Promise.race([
    window.__lucent.wait('lucent:ready', 0, null, timeoutMs),
    window.__lucent.wait('lucent:error', 0, null, timeoutMs),
  ]), EVENT_TIMEOUT_MS);
  if (first.type === 'lucent:error') throw new Error(`the viewer did not start: ${first.detail.message}`);
}

/** Index of the next recorded event: pass as `since` to wait only for events caused after this point. */
export const mark = (page) => page.evaluate(() => window.__lucent.mark());

/** Waits for a lucent:* event (at or after `since`) whose detail has the given field values. */
export async function waitForEvent(page, type, { since = 0, match = null, timeoutMs = EVENT_TIMEOUT_MS } = {}) {
  const e = await page.evaluate(([type, since, match, timeoutMs]) => window.__lucent.wait(type, since, match, timeoutMs),
    [type, since, match, timeoutMs]);
  return e.detail;
}

/** Events of a type recorded so far. */
export const events = (page, type) =>
  page.evaluate((type) => window.__lucent.events.filter((e) => e.type === type), type);

/** Opens a folder (recursively) through the #open-folder input and waits for lucent:loaded. */
export async function openFolder(page, dir) {
  const since = await mark(page);
  await page.setInputFiles('#open-folder', dir);
  return waitForEvent(page, 'lucent:loaded', { since });
}

/** Opens files through the #open-files input and waits for lucent:loaded. */
export async function openFiles(page, files) {
  const since = await mark(page);
  await page.setInputFiles('#open-files', files);
  return waitForEvent(page, 'lucent:loaded', { since });
}

/** The viewer's drawn image as raw RGBA (Buffer) plus its rect in canvas pixels. */
export async function imagePixels(page) {
  const { rect, b64 } = await page.evaluate(() => {
    const viewer = document.querySelector('lucent-viewer');
    const rect = viewer.imageRect();
    const c = viewer.canvas;
    const x = Math.max(0, rect.x);
    const y = Math.max(0, rect.y);
    const w = Math.min(c.width, Math.round(rect.x + rect.width)) - x;
    const h = Math.min(c.height, Math.round(rect.y + rect.height)) - y;
    const data = c.getContext('2d').getImageData(x, y, w, h).data;
    return { rect: { x, y, width: w, height: h, full: rect }, b64: window.__lucent.base64(data) };
  });
  return { rect, rgba: Buffer.from(b64, 'base64') };
}

/** Raw RGBA (Buffer) of a whole canvas found by selector (e.g. an MPR pane's image canvas). */
export async function canvasPixels(page, selector) {
  const { width, height, b64 } = await page.evaluate((selector) => {
    const c = window.__lucent.query(selector);
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    return { width: c.width, height: c.height, b64: window.__lucent.base64(data) };
  }, selector);
  return { width, height, rgba: Buffer.from(b64, 'base64') };
}

/**
 * Memory of the renderer processes of the browser using `profile` (Linux /proc), summed: {rss, hwm} in bytes
 * (resident now, and the high-water mark). The browser process is the one whose command line names the profile;
 * renderers are its descendants with --type=renderer.
 */
export function rendererMemory(profile) {
  const procs = new Map();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kb = (key) => Number(status.match(new RegExp(`${key}:\\s+(\\d+) kB`))?.[1] ?? 0) * 1024;
      const ppid = Number(status.match(/PPid:\s+(\d+)/)?.[1]);
      procs.set(Number(pid), { cmd, ppid, rss: kb('VmRSS'), hwm: kb('VmHWM') });
    } catch {
      // gone meanwhile
    }
  }
  const browser = [...procs.entries()].find(([, p]) => p.cmd.includes(profile) && !p.cmd.includes('--type='))?.[0];
  if (browser == null) throw new Error(`no browser process for ${profile}`);
  const descends = (pid) => {
    for (let p = procs.get(pid); p; p = procs.get(p.ppid)) if (p.ppid === browser) return true;
    return false;
  };
  let rss = 0;
  let hwm = 0;
  for (const [pid, p] of procs) {
    if (p.cmd.includes('--type=renderer') && descends(pid)) {
      rss += p.rss;
      hwm += p.hwm;
    }
  }
  return { rss, hwm };
}

/** Text of a corner overlay ('tl', 'tr', 'bl', 'br'). */
export const overlayText = (page, corner) => page.locator(`lucent-viewer .lv-${corner}`).innerText();
