// Share-bundle benchmark: encrypt and decrypt throughput (MB/s of plaintext) and peak memory for a ~300 MB study,
// natively (`lucent share create|open`) and in Chromium (www/share-bundle.js on WebCrypto). Run by
// `cargo xtask bench share`, which sets:
//   LUCENT_BASE_URL  page root served by xtask (bundles under www/shares/)
//   LUCENT_CLI       the lucent binary
//   BENCH_DIR        the study folder (index.json + files), ~300 MB
//   CHROMIUM         browser executable
//   BENCH_RESULT     optional: where to write the numbers as JSON
//
// Peak memory in Chromium (the judged number) is the renderer process's VmHWM (Linux /proc) minus its resident
// size just before the open starts, in a fresh browser whose page is loaded and quiet (see openInChromium);
// natively it is ru_maxrss of the CLI process. Beside it, informational only: the breakdown at the largest
// sample, what the renderer still holds after the open and after a full GC forced through DevTools (live data
// vs garbage), and the same open with the bundle served with `Cache-Control: no-store`.
// Throughput on a shared 2-core machine is noisy: the bench also measures raw WebCrypto and fetch in the same
// run, and prints the open's ratio to them.
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
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
  // The renderer processes of the browser this script launched (others may run on the machine: not theirs).
  const parentOf = (pid) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]);
  const ours = (pid) => {
    for (let p = Number(pid), hops = 0; p > 1 && hops < 16; hops++) {
      if (p === process.pid) return true;
      try {
        p = parentOf(p);
      } catch {
        return false;
      }
    }
    return false;
  };
  const rendererPids = () => readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((pid) => {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      return cmd.includes('chrom') && cmd.includes('--type=renderer') && ours(pid);
    } catch {
      return false;
    }
  });
  const status = (pid) => {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key) => Number(text.match(new RegExp(`${key}:\\s+(\\d+) kB`))?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM'), anon: kb('RssAnon'), file: kb('RssFile'), shmem: kb('RssShmem') };
  };
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  /** Waits (up to 5 s) until the renderers' resident size stops moving: the baseline is a quiet page. */
  const quiet = async (pids) => {
    let last = pids.map((p) => status(p).rss);
    for (let i = 0; i < 20; i++) {
      await sleep(250);
      const now = pids.map((p) => status(p).rss);
      if (now.every((v, k) => Math.abs(v - last[k]) < 0.5 * MB)) return;
      last = now;
    }
  };

  /**
   * Opens the CLI's bundle in a fresh browser exactly as share.html does (fetchBundle, BundleReader.open,
   * readAll) and measures it. The peak is VmHWM minus VmRSS just before, with the high-water mark reset to the
   * current size first (/proc/PID/clear_refs) so that the page's own start-up peak is not counted. Before the
   * baseline, one throwaway evaluate: the first page.evaluate of a fresh page costs the renderer ~35 MB of
   * DevTools machinery (measured with an empty evaluate), which is the bench's, not the open's.
   */
  const openInChromium = async (root) => {
    const context = await launch();
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto(`${root}share.html`);   // no fragment: the page shows "incomplete link" and idles
      await page.evaluate(async () => {
        await import('./share-bundle.js');
        await import('./share-open.js');
      });
      const pids = rendererPids();
      await quiet(pids);
      for (const pid of pids) {
        try {
          writeFileSync(`/proc/${pid}/clear_refs`, '5');
        } catch { /* not allowed here: VmHWM then also holds the page's start-up peak (an overestimate) */ }
      }
      const before = pids.map(status);
      // Samples during the open, for the breakdown at the largest one (reading /proc does not touch the page).
      let top = null;
      const timer = setInterval(() => {
        for (const [k, pid] of pids.entries()) {
          try {
            const s = status(pid);
            if (!top || s.rss - before[k].rss > top.rss) {
              top = { rss: s.rss - before[k].rss, anon: s.anon - before[k].anon, file: s.file - before[k].file, shmem: s.shmem - before[k].shmem };
            }
          } catch { /* gone */ }
        }
      }, 25);
      const run = await page.evaluate(async ({ location, secret }) => {
        const { BundleReader } = await import('./share-bundle.js');
        const { MAX_PLAIN_BYTES, fetchBundle } = await import('./share-open.js');
        const t0 = performance.now();
        const { body, size } = await fetchBundle(location);
        const reader = await BundleReader.open(body, secret, { maxPlainBytes: MAX_PLAIN_BYTES, size });
        const files = await reader.readAll();
        const ms = performance.now() - t0;
        const bytes = files.reduce((n, f) => n + f.bytes.length, 0);
        globalThis.__keep = files;   // held, as the viewer would, until the memory is read
        return { ms, bytes, chunk: reader.header.chunk_size };
      }, { location: `shares/${bundleName}`, secret: link.slice(link.lastIndexOf('.') + 1) });
      clearInterval(timer);
      const after = pids.map(status);
      const peak = Math.max(...after.map((a, i) => a.hwm - before[i].rss));
      const held = Math.max(...after.map((a, i) => a.rss - before[i].rss));
      // Informational only, after the judged numbers were read: a full GC forced through DevTools, to tell the
      // live data (the files) from garbage and pages not yet returned. The product never relies on it.
      const cdp = await context.newCDPSession(page);
      await cdp.send('HeapProfiler.collectGarbage');
      await sleep(500);
      const live = Math.max(...pids.map((pid, i) => status(pid).rss - before[i].rss));
      return { ...run, peak, held, live, top };
    } finally {
      await context.close();
    }
  };

  /** Raw WebCrypto and fetch on this machine, now: the reference the open is compared with. */
  const references = async () => {
    const context = await launch();
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto(`${baseUrl}share.html`);
      return await page.evaluate(async (location) => {
        const subtle = crypto.subtle;
        const key = await subtle.importKey('raw', crypto.getRandomValues(new Uint8Array(32)), 'AES-GCM', false, ['encrypt', 'decrypt']);
        const iv = new Uint8Array(12);
        const plain = new Uint8Array(1 << 20);
        for (let i = 0; i < plain.length; i += 65536) crypto.getRandomValues(plain.subarray(i, i + 65536));
        const ct = new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv }, key, plain));
        const N = 300;
        const rate = async (f) => {
          const t0 = performance.now();
          await f();
          return (N * plain.length) / 1e6 / ((performance.now() - t0) / 1000);
        };
        const queued = (depth, op) => async () => {
          const q = [];
          for (let i = 0; i < N; i++) {
            q.push(op());
            if (q.length >= depth) await q.shift();
          }
          await Promise.all(q);
        };
        const decrypt = () => subtle.decrypt({ name: 'AES-GCM', iv }, key, ct);
        const decryptSerial = await rate(queued(1, decrypt));
        const decrypt4 = await rate(queued(4, decrypt));
        const sha256 = await rate(queued(4, () => subtle.digest('SHA-256', plain)));
        // The bundle through the same fetch, read into one buffer and dropped: network + server alone.
        const { fetchBundle } = await import('./share-open.js');
        const t0 = performance.now();
        const { body } = await fetchBundle(location);
        const reader = body.getReader({ mode: 'byob' });
        let buffer = new ArrayBuffer(1 << 20);
        let bytes = 0;
        for (;;) {
          const { done, value } = await reader.read(new Uint8Array(buffer));
          if (value) {
            bytes += value.byteLength;
            buffer = value.buffer;
          }
          if (done) break;
        }
        const fetchOnly = bytes / 1e6 / ((performance.now() - t0) / 1000);
        return { decryptSerial, decrypt4, sha256, fetchOnly };
      }, `shares/${bundleName}`);
    } finally {
      await context.close();
    }
  };

  /**
   * A proxy in front of the server that adds `Cache-Control: no-store` to the bundle's response: with it,
   * Chromium does not read up to 50 MB of the body ahead into the renderer (Blink's BufferingBytesConsumer,
   * which it skips for no-store responses). Informational: what a deployment that sends the header gets.
   */
  const noStoreProxy = () => new Promise((resolve) => {
    const target = new URL(baseUrl);
    const server = http.createServer((req, res) => {
      const upstream = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: { ...req.headers, host: target.host } }, (up) => {
        const headers = { ...up.headers };
        if (/\.lucent(\?|$)/.test(req.url)) headers['cache-control'] = 'no-store';
        res.writeHead(up.statusCode, headers);
        up.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${server.address().port}${target.pathname}` }));
  });

  // Decrypt: a fresh browser fetches the CLI's bundle from the server and opens it (fetch + decrypt + verify).
  const decrypt = await openInChromium(baseUrl);
  const reference = await references();
  const proxy = await noStoreProxy();
  let noStore;
  try {
    noStore = await openInChromium(proxy.url);
  } finally {
    proxy.server.close();
  }
  // Encrypt: the page's own writer on the same files (fetched first, outside the timing), bundle into a Blob.
  const context = await launch();
  const page = context.pages()[0] ?? (await context.newPage());
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
  const overChunks = (bytes) => (bytes - plainBytes) / decrypt.chunk;
  const decryptMBps = plainMB / (decrypt.ms / 1000);
  const memory = (m) => ({
    peakOverBaselineMB: m.peak / MB,
    peakInChunksOverPlaintext: overChunks(m.peak),
    atLargestSampleMB: m.top && { heap: m.top.anon / MB, fileBacked: m.top.file / MB, shared: m.top.shmem / MB },
    heldAfterOpenMB: m.held / MB,
    heldAfterForcedGcMB: m.live / MB,
  });
  result = {
    plainMB,
    bundleMB: bundleBytes / MB,
    chunkMB,
    native,
    chromium: {
      decryptMBps,
      decryptFromBlobMBps: plainMB / (encrypt.openBlobMs / 1000),
      encryptMBps: plainMB / (encrypt.sealMs / 1000),
      openPeakOverBaselineMB: decrypt.peak / MB,
      openPeakInChunksOverPlaintext: overChunks(decrypt.peak),
      open: memory(decrypt),
      reference: {
        ...reference,
        // Chromium runs every WebCrypto call of a renderer on one thread: decrypting and hashing the study
        // there cannot go faster than this, whatever the page does.
        webCryptoCeilingMBps: 1 / (1 / reference.decrypt4 + 1 / reference.sha256),
        openOverRawSerialDecrypt: decryptMBps / reference.decryptSerial,
        openOverCeiling: decryptMBps / (1 / (1 / reference.decrypt4 + 1 / reference.sha256)),
      },
      withNoStoreHeader: { decryptMBps: plainMB / (noStore.ms / 1000), ...memory(noStore) },
      note: 'decryptMBps: fetch from the local server + decrypt + verify, as share.html does; the reference numbers '
        + 'are raw WebCrypto (1 MiB, results dropped) and fetch alone, measured in the same run',
    },
  };
  result.goals = {
    decrypt: { goal: `>= ${GOALS.decryptMBps} MB/s`, met: decryptMBps >= GOALS.decryptMBps },
    peak: { goal: `<= plaintext + ${GOALS.peakChunks} chunks`, met: decrypt.peak <= plainBytes + GOALS.peakChunks * decrypt.chunk },
  };
} finally {
  rmSync(work, { recursive: true, force: true });
  rmSync(bundle, { force: true });
}

const f = (v) => v.toFixed(v >= 100 ? 0 : 1);
const c = result.chromium;
const r = c.reference;
const mem = (m) => `${f(m.peakOverBaselineMB)} MB over the page's baseline = plaintext + ${m.peakInChunksOverPlaintext.toFixed(1)} chunks`
  + (m.atLargestSampleMB ? ` (largest sample: heap +${f(m.atLargestSampleMB.heap)}, file-backed +${f(m.atLargestSampleMB.fileBacked)}, `
    + `shared +${f(m.atLargestSampleMB.shared)} MB)` : '')
  + `; held after: ${f(m.heldAfterOpenMB)} MB, after a forced GC (informational): ${f(m.heldAfterForcedGcMB)} MB`;
console.log(`\nshare bench: ${f(result.plainMB)} MB of DICOM, bundle ${f(result.bundleMB)} MB, ${f(result.chunkMB)} MB chunks`);
console.log(`  native   (lucent share): encrypt ${f(result.native.encryptMBps)} MB/s, peak ${f(result.native.encryptPeakMB)} MB; `
  + `decrypt ${f(result.native.decryptMBps)} MB/s, peak ${f(result.native.decryptPeakMB)} MB`);
console.log(`  Chromium (WebCrypto):    encrypt ${f(c.encryptMBps)} MB/s; decrypt ${f(c.decryptMBps)} MB/s `
  + `(fetch+decrypt+verify; ${f(c.decryptFromBlobMBps)} MB/s from a Blob)`);
console.log(`  raw on this machine now: AES-GCM 1 MiB serial ${f(r.decryptSerial)} MB/s, 4 at a time ${f(r.decrypt4)} MB/s; `
  + `SHA-256 ${f(r.sha256)} MB/s; fetch alone ${f(r.fetchOnly)} MB/s; one-thread WebCrypto ceiling for decrypt+hash ${f(r.webCryptoCeilingMBps)} MB/s`);
console.log(`  open / raw serial decrypt = ${r.openOverRawSerialDecrypt.toFixed(2)}, open / ceiling = ${r.openOverCeiling.toFixed(2)}`);
console.log(`  Chromium open peak: ${mem(c.open)}`);
console.log(`  same open, bundle served with Cache-Control: no-store (informational): ${f(c.withNoStoreHeader.decryptMBps)} MB/s, `
  + `peak ${mem(c.withNoStoreHeader)}`);
for (const [name, g] of Object.entries(result.goals)) console.log(`  goal ${name} ${g.goal}: ${g.met ? 'met' : 'MISSED'}`);
if (process.env.BENCH_RESULT) {
  mkdirSync(path.dirname(process.env.BENCH_RESULT), { recursive: true });
  writeFileSync(process.env.BENCH_RESULT, JSON.stringify(result, null, 2));
}
