// ZIPs and CDs: a ZIP of a real series (written by Python's zipfile, an independent writer) loads like its
// folder, pixel for pixel; a ZIP inside a folder joins the loose files' series; the corpus's DICOMDIR folders load
// every image the corpus lists as decodable; a 500 MB ZIP opens with peak memory well below twice its size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { promisify } from 'node:util';
import {
  CORPUS, cliPath, corpusDir, mark, waitForEvent, filesUnder, imagePixels, missing, openApp, openFiles, openFolder, rendererMemory, runCli,
  withBrowser,
} from './helpers.mjs';

const GE = corpusDir('dcm_qa_ct/In/GE');
const DICOMDIR_FOLDERS = ['pydicom/src/pydicom/data/test_files/dicomdirtests', 'dcm4che/dcm4che-test-data/src/main/resources'];
const MB = 2 ** 20;

/** Writes a ZIP with Python's zipfile: entries [[arcname, path]], method 'deflated' | 'stored'. */
async function pythonZip(out, entries, method = 'deflated') {
  const script = 'import sys, json, zipfile\n'
    + 'out, method, entries = sys.argv[1], sys.argv[2], json.loads(sys.stdin.read())\n'
    + "m = zipfile.ZIP_DEFLATED if method == 'deflated' else zipfile.ZIP_STORED\n"
    + 'with zipfile.ZipFile(out, "w", m, allowZip64=True) as z:\n'
    + '    for name, path in entries: z.write(path, name)\n';
  const child = promisify(execFile)('python3', ['-c', script, out, method], { maxBuffer: 16 << 20 });
  child.child.stdin.end(JSON.stringify(entries));
  await child;
}

async function withTemp(fn) {
  const dir = await mkdtemp(join(tmpdir(), 'lucent-zip-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const viewerCall = (page, method, ...args) =>
  page.evaluate(([method, args]) => document.querySelector('lucent-viewer')[method](...args), [method, args]);

test('a ZIP of the GE series loads like the folder, pixel for pixel', async (t) => {
  if (missing(t, `corpus folder ${GE}`, existsSync(GE))) return;
  if (missing(t, 'the lucent CLI ($LUCENT_CLI)', Boolean(cliPath() && existsSync(cliPath())))) return;
  await withTemp(async (tmp) => {
    const zip = join(tmp, 'GE head.zip');
    await pythonZip(zip, filesUnder(GE).map((f) => [`export/GE/${basename(f)}`, f]));
    await withBrowser(t, async ({ page }) => {
      await openApp(page, { demo: false });
      const loaded = await openFiles(page, [zip]);
      assert.deepEqual({ files: loaded.files, slices: loaded.slices, errors: loaded.errors, series: loaded.series.length },
        { files: 28, slices: 28, errors: [], series: 1 });
      const info = await viewerCall(page, 'sliceInfo', 5);
      assert.match(info.file, /^GE head\.zip\/export\/GE\/\d+\.dcm$/);
      await viewerCall(page, 'setSlice', 5);
      await viewerCall(page, 'setZoom', 1);
      await viewerCall(page, 'setWindow', 40, 80);
      const shot = await imagePixels(page);
      const out = join(tmp, 'slice.rgba');
      await runCli('render', join(GE, basename(info.file)), '--window', '40,80', '--out', out);
      assert.ok(readFileSync(out).equals(shot.rgba), 'slice 6 from the ZIP differs from `lucent render` of the same file');
    });
  });
});

test('a ZIP inside a folder joins the loose files; a damaged member is listed, the rest loads', async (t) => {
  if (missing(t, `corpus folder ${GE}`, existsSync(GE))) return;
  await withTemp(async (tmp) => {
    const files = filesUnder(GE);
    const folder = join(tmp, 'CD');
    mkdirSync(join(folder, 'more'), { recursive: true });
    await pythonZip(join(folder, 'more', 'first ten.zip'), files.slice(0, 10).map((f) => [basename(f), f]), 'stored');
    for (const f of files.slice(10)) copyFileSync(f, join(folder, basename(f)));
    // A second archive whose one member's bytes are damaged after writing (CRC no longer matches).
    const bad = join(tmp, 'bad.zip');
    await pythonZip(bad, [['x.dcm', files[0]]], 'stored');
    const bytes = readFileSync(bad);
    bytes[30 + 'x.dcm'.length + 2000] ^= 0xff;   // inside the stored member's data
    writeFileSync(join(folder, 'bad.zip'), bytes);
    await withBrowser(t, async ({ page }) => {
      await openApp(page, { demo: false });
      const loaded = await openFolder(page, folder);
      assert.equal(loaded.slices, 28);
      assert.equal(loaded.series.length, 1);
      assert.equal(loaded.errors.length, 1, JSON.stringify(loaded.errors));
      assert.equal(loaded.errors[0].code, 'zip-crc');
      assert.match(loaded.errors[0].file, /bad\.zip\/x\.dcm$/);
      assert.match(loaded.errors[0].reason, /bad\.zip/);
    });
  });
});

// What the corpus says is under a folder: EXPECTED.tsv rows (status 'decoded' = an image that decodes).
function expectedUnder(folder) {
  const rows = readFileSync(join(CORPUS, 'EXPECTED.tsv'), 'utf8').trim().split('\n').map((l) => l.split('\t'));
  const [head, ...body] = rows;
  const at = (name) => head.indexOf(name);
  return body.filter((r) => r[at('file')].startsWith(`${folder}/`)).map((r) => ({ file: r[at('file')], status: r[at('status')] }));
}

test('CD folders with a DICOMDIR load every image the corpus lists', async (t) => {
  for (const folder of DICOMDIR_FOLDERS) {
    if (missing(t, `corpus folder ${folder}`, existsSync(corpusDir(folder)))) return;
  }
  await withBrowser(t, async ({ page }) => {
    await openApp(page, { demo: false });
    for (const folder of DICOMDIR_FOLDERS) {
      const dir = corpusDir(folder);
      const loaded = await openFolder(page, dir);
      const decodable = expectedUnder(folder).filter((r) => r.status === 'decoded');
      assert.ok(decodable.length > 0, folder);
      const slices = loaded.series.reduce((n, s) => n + s.decoded, 0);
      // Every file the reference decoders decode is an image here and decodes (multi-frame files give several
      // slices); files they could not decode may be images too (e.g. JPEG XL: listed as errors).
      const rel = (f) => f.slice(folder.length + 1);
      const failed = new Set(loaded.errors.map((e) => e.file.replace(/^[^/]+\//, '')));
      for (const r of decodable) assert.ok(!failed.has(rel(r.file)), `${folder}: ${rel(r.file)} failed: ${JSON.stringify(loaded.errors)}`);
      assert.ok(loaded.images >= decodable.length, `${folder}: ${loaded.images} images for ${decodable.length} decodable files`);
      assert.ok(slices >= decodable.length, `${folder}: ${slices} decoded slices for ${decodable.length} files`);
      const dicomdirs = filesUnder(dir).filter((f) => /^DICOMDIR/.test(basename(f))).map((f) => relative(dir, f));
      const noted = loaded.notes.filter((n) => n.status === 'dicomdir').map((n) => n.file.replace(/^[^/]+\//, ''));
      for (const d of dicomdirs) assert.ok(noted.includes(d) || noted.includes(basename(d)), `${folder}: ${d} recognised as a DICOMDIR (${noted})`);
    }
  });
});

test('a 500 MB ZIP opens member by member: peak memory well below twice its size', async (t) => {
  if (missing(t, 'the lucent CLI ($LUCENT_CLI)', Boolean(cliPath() && existsSync(cliPath())))) return;
  await withTemp(async (tmp) => {
    const demo = join(tmp, 'cbct');
    await runCli('demo', demo, '--size', '512', '--slices', '960');
    const zip = join(tmp, 'cbct.zip');
    await pythonZip(zip, readdirSync(demo).filter((f) => f.endsWith('.dcm')).map((f) => [`cbct/${f}`, join(demo, f)]), 'stored');
    await rm(demo, { recursive: true, force: true });
    const zipBytes = statSync(zip).size;
    assert.ok(zipBytes > 480 * MB, `ZIP is ${(zipBytes / MB).toFixed(0)} MB`);
    await withBrowser(t, async ({ page, profile }) => {
      await openApp(page, { demo: false });
      const before = rendererMemory(profile);
      const since = await mark(page);
      await page.setInputFiles('#open-files', [zip]);
      // Reading and decoding 960 slices on a shared 2-core machine: give it minutes, not the default minute.
      const loaded = await waitForEvent(page, 'lucent:loaded', { since, timeoutMs: 300_000 });
      const after = rendererMemory(profile);
      assert.deepEqual({ slices: loaded.slices, errors: loaded.errors }, { slices: 960, errors: [] });
      const peak = after.hwm - before.rss;
      const { wasmBytes } = await page.evaluate(() => document.querySelector('lucent-viewer').memory());
      console.log(`500 MB ZIP: ${(zipBytes / MB).toFixed(0)} MB; renderer peak over baseline ${(peak / MB).toFixed(0)} MB `
        + `(${(peak / zipBytes).toFixed(2)}x); engine wasm memory ${(wasmBytes / MB).toFixed(0)} MB`);
      assert.ok(peak < 1.5 * zipBytes, `peak ${(peak / MB).toFixed(0)} MB is not well below twice the ZIP's ${(zipBytes / MB).toFixed(0)} MB`);
    });
  });
});
