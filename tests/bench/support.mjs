// Shared plumbing for the browser benchmarks that time the wasm in a page over a generated series (mpr.mjs,
// pano.mjs): the environment `cargo xtask bench` sets, and a fresh headless Chromium whose page serves the
// series under ./__bench__/ (same origin, so the page's CSP allows the fetches).
import { chromium } from 'playwright-core';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** An environment variable the bench cannot run without; exits with a hint when it is missing. */
export function required(script, name) {
  const value = process.env[name];
  if (!value) {
    console.error(`${script}: ${name} is not set (run it through \`cargo xtask bench\`)`);
    process.exit(2);
  }
  return value;
}

/**
 * Runs `body(page, files)` in a fresh Chromium on the app page (LUCENT_BASE_URL?nodemo), with the files of
 * BENCH_DIR (listed in its index.json) served under ./__bench__/; the profile is removed afterwards.
 */
export async function withBenchPage(script, body) {
  const baseUrl = required(script, 'LUCENT_BASE_URL').replace(/\/?$/, '/');
  const benchDir = path.resolve(required(script, 'BENCH_DIR'));
  const { files } = JSON.parse(await readFile(path.join(benchDir, 'index.json'), 'utf8'));
  const profile = await mkdtemp(path.join(tmpdir(), `lucent-bench-${path.basename(script, '.mjs')}-`));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--js-flags=--max-old-space-size=4096'],
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.route('**/__bench__/**', async (route) => {
      const name = decodeURIComponent(new URL(route.request().url()).pathname.split('/__bench__/')[1]);
      if (!files.includes(name)) return route.fulfill({ status: 404 });
      return route.fulfill({ status: 200, body: await readFile(path.join(benchDir, name)), contentType: 'application/dicom' });
    });
    await page.goto(`${baseUrl}?nodemo`);
    return await body(page, files);
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
}
