// Share-bundle benchmark: encrypt and decrypt throughput (MB/s of plaintext) and peak memory for a ~300 MB study,
// natively (`lucent share create|open`) and in Chromium (www/share-bundle.js on WebCrypto). Run by
// `cargo xtask bench share`, which sets:
//   LUCENT_BASE_URL  page root served by xtask (bundles under www/shares/)
//   LUCENT_CLI       the lucent binary
//   BENCH_DIR        the study folder (index.json + files), ~300 MB
//   CHROMIUM         browser executable
//   BENCH_RESULT     optional: where to write the numbers as JSON
//
// Peak memory in Chromium is the renderer process's VmHWM (Linux /proc) minus its resident size just before the
// open starts, in a fresh browser that did nothing else; natively it is ru_maxrss of the CLI process.
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const GOALS = { decryptMBps: 300, peakChunks: 3 };
const MB = 1e6;

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`share.mjs: ${name} is not set (run it through \`cargo xtask bench share\`)`);
    process.exit(2);
  }
  return value;
}
const baseUrl = required('LUCENT_BASE_URL').replace(/\/?$/, '/');
const cli = required('LUCENT_CLI');
const benchDir = path.resolve(required('BENCH_DIR'));
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const shares = path.join(repo, 'www/shares');
mkdirSync(shares, { recursive: true });
const { files } = JSON.parse(readFileSync(path.join(benchDir, 'index.json'), 'utf8'));
const plainBytes = files.reduce((n, f) => n + statSync(path.join(benchDir, f)).size, 0);

// ---- native ------------------------------------------------------------------------------------------------
/** Runs a command; returns {seconds, maxRssBytes, stdout} (ru_maxrss through Python's resource module). */
function timed(args) {
  const script = 'import resource,subprocess,sys,time\n'
    + 't=time.perf_counter(); r=subprocess.run(sys.argv[1:],capture_output=True); d=time.perf_counter()-t\n'
    + 'sys.stderr.buffer.write(r.stderr)\n'
    + 'print(d, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss*1024); print(r.stdout.decode()); sys.exit(r.returncode)';
  const out = execFileSync('python3', ['-c', script, ...args], { maxBuffer: 1 << 26 }).toString();
  const [first, ...rest] = out.split('\n');
  const [seconds, rss] = first.split(' ').map(Number);
  return { seconds, maxRssBytes: rss, stdout: rest.join('\n') };
}

const work = mkdtempSync(path.join(tmpdir(), 'lucent-bench-share-'));
const bundleName = `bench-${process.pid}.lucent`;
const bundle = path.join(shares, bundleName);
let result;
try {
  const sealed = timed([cli, 'share', 'create', benchDir, '--base', baseUrl, '--out', bundle]);
  const link = sealed.stdout.trim().split('\n').pop();
  const bundleBytes = statSync(bundle).size;
  const opened = timed([cli, 'share', 'open', bundle, '--key', link, '--out', path.join(work, 'out')]);
  const native = {
    encryptMBps: plainBytes / MB / sealed.seconds,
    decryptMBps: plainBytes / MB / opened.seconds,
    encryptPeakMB: sealed.maxRssBytes / MB,
    decryptPeakMB: opened.maxRssBytes / MB,
    note: 'whole command: reading, hashing, encrypting/decrypting and writing the files',
  };

  // ---- Chromium ------------------------------------------------------------------------------------------
  const launch = async () => chromium.launchPersistentContext(mkdtempSync(path.join(tmpdir(), 'lucent-bench-')), {
    executablePath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', '--renderer-process-limit=1'],
  });
  // The renderer processes of Chromium (this bench's browser is the only one running while it measures).
  const rendererPids = () => readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((pid) => {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      return cmd.includes('chrom') && cmd.includes('--type=renderer');
    } catch {
      return false;
    }
  });
  const status = (pid) => {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key) => Number(text.match(new RegExp(`${key}:\\s+(\\d+) kB`))?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  };

  // Decrypt: a fresh browser fetches the CLI's bundle from the server and opens it (fetch + decrypt + verify).
  let context = await launch();
  let page = context.pages()[0] ?? (await context.newPage());
  await page.goto(`${baseUrl}share.html`);   // no fragment: the page shows "incomplete link" and idles
  const pids = rendererPids();
  const before = pids.map(status);
  const decrypt = await page.evaluate(async ({ location, secret }) => {
    const { BundleReader } = await import('./share-bundle.js');
    const t0 = performance.now();
    const response = await fetch(location, { cache: 'no-store' });
    const reader = await BundleReader.open(response.body, secret, { size: Number(response.headers.get('Content-Length')) });
    const files = await reader.readAll();
    const ms = performance.now() - t0;
    const bytes = files.reduce((n, f) => n + f.bytes.length, 0);
    globalThis.__keep = files;   // held, as the viewer would, until the memory is read
    return { ms, bytes, chunk: reader.header.chunk_size };
  }, { location: `shares/${bundleName}`, secret: link.slice(link.lastIndexOf('.') + 1) });
  const after = pids.map(status);
  const peakDelta = Math.max(...after.map((a, i) => a.hwm - before[i].rss));
  await context.close();

  // Encrypt: the page's own writer on the same files (fetched first, outside the timing), bundle into a Blob.
  context = await launch();
  page = context.pages()[0] ?? (await context.newPage());
  await page.route('**/__bench__/**', async (route) => {
    const name = decodeURIComponent(new URL(route.request().url()).pathname.split('/__bench__/')[1]);
    if (!files.includes(name)) return route.fulfill({ status: 404 });
    return route.fulfill({ status: 200, body: readFileSync(path.join(benchDir, name)) });
  });
  await page.goto(`${baseUrl}share.html`);
  const encrypt = await page.evaluate(async (names) => {
    const { sealBundle, BundleReader } = await import('./share-bundle.js');
    const data = [];
    for (const name of names) data.push({ path: name, bytes: new Uint8Array(await (await fetch(`__bench__/${encodeURIComponent(name)}`)).arrayBuffer()) });
    const t0 = performance.now();
    const { blob, secret } = await sealBundle(data.map((d) => ({ path: d.path, read: async () => d.bytes })));
    const sealMs = performance.now() - t0;
    const t1 = performance.now();
    const reader = await BundleReader.open(blob, secret);
    await reader.readAll();
    const openBlobMs = performance.now() - t1;
    return { sealMs, openBlobMs, size: blob.size };
  }, files);
  await context.close();

  const chunkMB = decrypt.chunk / MB;
  const plainMB = plainBytes / MB;
  result = {
    plainMB,
    bundleMB: bundleBytes / MB,
    chunkMB,
    native,
    chromium: {
      decryptMBps: plainMB / (decrypt.ms / 1000),
      decryptFromBlobMBps: plainMB / (encrypt.openBlobMs / 1000),
      encryptMBps: plainMB / (encrypt.sealMs / 1000),
      openPeakOverBaselineMB: peakDelta / MB,
      openPeakInChunksOverPlaintext: (peakDelta - plainBytes) / decrypt.chunk,
      note: 'decryptMBps: fetch from the local server + decrypt + verify, as share.html does',
    },
  };
  result.goals = {
    decrypt: { goal: `>= ${GOALS.decryptMBps} MB/s`, met: result.chromium.decryptMBps >= GOALS.decryptMBps },
    peak: { goal: `<= plaintext + ${GOALS.peakChunks} chunks`, met: peakDelta <= plainBytes + GOALS.peakChunks * decrypt.chunk },
  };
} finally {
  rmSync(work, { recursive: true, force: true });
  rmSync(bundle, { force: true });
}

const f = (v) => v.toFixed(v >= 100 ? 0 : 1);
console.log(`\nshare bench: ${f(result.plainMB)} MB of DICOM, bundle ${f(result.bundleMB)} MB, ${f(result.chunkMB)} MB chunks`);
console.log(`  native   (lucent share): encrypt ${f(result.native.encryptMBps)} MB/s, peak ${f(result.native.encryptPeakMB)} MB; `
  + `decrypt ${f(result.native.decryptMBps)} MB/s, peak ${f(result.native.decryptPeakMB)} MB`);
console.log(`  Chromium (WebCrypto):    encrypt ${f(result.chromium.encryptMBps)} MB/s; decrypt ${f(result.chromium.decryptMBps)} MB/s `
  + `(fetch+decrypt+verify; ${f(result.chromium.decryptFromBlobMBps)} MB/s from a Blob)`);
console.log(`  Chromium open peak: ${f(result.chromium.openPeakOverBaselineMB)} MB over the page's baseline = plaintext + `
  + `${result.chromium.openPeakInChunksOverPlaintext.toFixed(1)} chunks`);
for (const [name, g] of Object.entries(result.goals)) console.log(`  goal ${name} ${g.goal}: ${g.met ? 'met' : 'MISSED'}`);
if (process.env.BENCH_RESULT) {
  mkdirSync(path.dirname(process.env.BENCH_RESULT), { recursive: true });
  writeFileSync(process.env.BENCH_RESULT, JSON.stringify(result, null, 2));
}
