// Load benchmark: how long from handing a folder to the page until the first image is on
// screen, and until every slice is decoded. Run by `cargo xtask bench load`, which builds,
// serves www/, generates the series and sets:
//   LUCENT_BASE_URL  page root (http://127.0.0.1:PORT/)
//   BENCH_DIR        the series folder (500 slices, 512x512, uncompressed)
//   CHROMIUM         browser executable (default /usr/bin/chromium)
//   BENCH_RESULT     optional: where to write the numbers as JSON
//   BENCH_RUNS       optional: number of runs (default 3)
//
// What the page must do (www/app.js, www/lucent-viewer.js): skip the demo when the URL query
// contains `nodemo`; dispatch `lucent:ready` once the wasm engine is up (files are handed over
// only then, so engine start-up is not counted), `lucent:rendered` after an image is painted
// and `lucent:loaded` once every file is read and decoded. All must reach `window` (bubbling
// and composed, as <lucent-viewer> dispatches them).
//
// Clock: everything is `performance.now()` inside the page. t0 is the `input` event of
// #open-folder, caught in the capture phase at `window`: the moment the browser hands the
// files to the page, before any app code sees them.

import { chromium } from 'playwright-core';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const GOALS = { firstImageMs: 300, allDecodedMs: 2000 };
const TIMEOUT_MS = 120_000;
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`load.mjs: ${name} is not set (run it through \`cargo xtask bench load\`)`);
    process.exit(2);
  }
  return value;
}

const baseUrl = required('LUCENT_BASE_URL');
const benchDir = path.resolve(required('BENCH_DIR'));
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const runs = Number(process.env.BENCH_RUNS || 3);

// Installed before any page script runs, so no event can slip past it.
function instrument() {
  const marks = { ready: null, t0: null, rendered: null, loaded: null, loadedDetail: null, errors: 0 };
  window.__lucentBench = marks;
  const now = () => performance.now();
  addEventListener(
    'lucent:ready',
    () => {
      if (marks.ready === null) marks.ready = now();
    },
    true,
  );
  addEventListener(
    'lucent:error',
    () => {
      if (marks.t0 !== null) marks.errors += 1;
    },
    true,
  );
  addEventListener(
    'input',
    (event) => {
      const target = event.composedPath()[0];
      if (marks.t0 === null && target && target.id === 'open-folder') marks.t0 = now();
    },
    true,
  );
  addEventListener(
    'lucent:rendered',
    () => {
      if (marks.t0 !== null && marks.rendered === null) marks.rendered = now();
    },
    true,
  );
  addEventListener(
    'lucent:loaded',
    (event) => {
      if (marks.t0 !== null && marks.loaded === null) {
        marks.loaded = now();
        const detail = event.detail ?? {};
        marks.loadedDetail = {
          files: detail.files ?? null,
          slices: detail.slices ?? null,
          series: Array.isArray(detail.series) ? detail.series.length : null,
          errors: Array.isArray(detail.errors) ? detail.errors.length : null,
        };
      }
    },
    true,
  );
}

async function seriesFiles() {
  const names = (await readdir(benchDir)).sort();
  let bytes = 0;
  for (const name of names) bytes += (await stat(path.join(benchDir, name))).size;
  return { paths: names.map((name) => path.join(benchDir, name)), bytes };
}

async function runOnce(index, files) {
  const profile = await mkdtemp(path.join(tmpdir(), 'lucent-bench-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (error) => console.error(`  [run ${index}] page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') console.error(`  [run ${index}] console: ${message.text()}`);
    });
    await page.addInitScript(instrument);
    await page.goto(new URL('?nodemo', baseUrl).href, { waitUntil: 'networkidle' });

    await page
      .waitForFunction(() => window.__lucentBench.ready !== null, null, { timeout: 30_000, polling: 50 })
      .catch(() => {
        throw new Error('the page never dispatched lucent:ready (did the wasm engine start?)');
      });

    const input = page.locator('#open-folder');
    await input.waitFor({ state: 'attached', timeout: 10_000 });
    // A folder picker (webkitdirectory) takes the directory, a multi-file picker the files.
    const isFolderPicker = await input.evaluate((el) => el.webkitdirectory);
    await input.setInputFiles(isFolderPicker ? benchDir : files.paths);

    await page.waitForFunction(() => window.__lucentBench.loaded !== null, null, {
      timeout: TIMEOUT_MS,
      polling: 100,
    });
    const marks = await page.evaluate(() => window.__lucentBench);
    const d = marks.loadedDetail;
    if (marks.t0 === null) throw new Error('no input event on #open-folder was seen');
    if (marks.rendered === null) throw new Error(`lucent:loaded came without any image (${JSON.stringify(d)})`);
    console.log(
      `  run ${index}: ${d.files} files, ${d.series} series, ${d.slices} slices, ` +
        `${d.errors} files not shown, ${marks.errors} error events`,
    );
    return {
      firstImageMs: marks.rendered - marks.t0,
      allDecodedMs: marks.loaded - marks.t0,
      loadedDetail: marks.loadedDetail,
    };
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const ms = (value) => value.toFixed(1).padStart(10);

const files = await seriesFiles();
console.log(
  `Lucent load benchmark: ${files.paths.length} files, ${(files.bytes / 2 ** 20).toFixed(0)} MiB ` +
    `from ${benchDir}; ${runs} runs, fresh browser profile each`,
);
const results = [];
for (let i = 1; i <= runs; i += 1) {
  try {
    results.push(await runOnce(i, files));
  } catch (error) {
    console.error(`load.mjs: run ${i} failed: ${error.message}`);
    process.exit(1);
  }
}

const summary = {
  firstImageMs: median(results.map((r) => r.firstImageMs)),
  allDecodedMs: median(results.map((r) => r.allDecodedMs)),
};
console.log('\n| run    | first image (ms) | all decoded (ms) |');
console.log('|--------|-----------------:|-----------------:|');
results.forEach((r, i) => {
  console.log(`| ${String(i + 1).padEnd(6)} |       ${ms(r.firstImageMs)} |       ${ms(r.allDecodedMs)} |`);
});
console.log(`| median |       ${ms(summary.firstImageMs)} |       ${ms(summary.allDecodedMs)} |`);

const verdict = (value, goal) => (value <= goal ? 'met' : 'MISSED');
console.log(
  `\nGoals: first image <= ${GOALS.firstImageMs} ms: ${verdict(summary.firstImageMs, GOALS.firstImageMs)}; ` +
    `all decoded <= ${GOALS.allDecodedMs} ms: ${verdict(summary.allDecodedMs, GOALS.allDecodedMs)}`,
);

if (process.env.BENCH_RESULT) {
  const record = { bench: 'load', files: files.paths.length, bytes: files.bytes, goals: GOALS, runs: results, median: summary };
  await writeFile(process.env.BENCH_RESULT, `${JSON.stringify(record, null, 2)}\n`);
  console.log(`Results written to ${process.env.BENCH_RESULT}`);
}
