// The wasm build, run in Node over the whole corpus: every file is ingested, every series decoded and a
// slice rendered, and nothing may trap (a trap is a Rust panic: a bug). Errors must carry a stable code.
// It also checks that the wasm renders the same pixels as the native `lucent render` (one core, two builds).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const pkg = path.join(repo, 'www', 'pkg');
const corpus = process.env.LUCENT_CORPUS || path.resolve(repo, '..', 'shared', 'corpus');
const cli = process.env.LUCENT_CLI || path.join(repo, 'target', 'release', 'lucent');

const { default: init, Library, normalizeFile } = await import(path.join(pkg, 'viewer_wasm.js'));
const wasm = await init({ module_or_path: fs.readFileSync(path.join(pkg, 'viewer_wasm_bg.wasm')) });

function corpusFiles() {
  if (!fs.existsSync(path.join(corpus, 'EXPECTED.tsv'))) {
    if (process.env.CI === 'true') throw new Error(`corpus missing at ${corpus} (CI=true)`);
    console.error(`\n*** CORPUS NOT FOUND at ${corpus}: wasm corpus tests did NOT run ***\n`);
    return null;
  }
  const rows = fs.readFileSync(path.join(corpus, 'EXPECTED.tsv'), 'utf8').trim().split('\n').slice(1);
  const header = fs.readFileSync(path.join(corpus, 'EXPECTED.tsv'), 'utf8').split('\n')[0].split('\t');
  return rows.map((row) => Object.fromEntries(row.split('\t').map((v, i) => [header[i], v])));
}

const CODE = /^[a-z]+(-[a-z]+)*$/;

test('every corpus file ingests, decodes and renders in wasm without a trap', (t) => {
  const files = corpusFiles();
  if (!files) return t.skip('corpus not found');
  let images = 0;
  let errors = 0;
  for (const { file, status } of files) {
    const lib = new Library();
    try {
      const report = JSON.parse(lib.addFile(file, fs.readFileSync(path.join(corpus, file))));
      assert.ok(['image', 'dicomdir', 'no-pixel-data', 'error'].includes(report.status), file);
      if (report.status === 'error') {
        assert.match(report.code, CODE, `${file}: error code`);
        assert.ok(report.reason.length > 0, `${file}: error reason`);
      }
      if (status === 'decoded' && report.status === 'image') images++;
      for (let series = 0; series < lib.seriesCount(); series++) {
        try {
          lib.decodeSeries(series);
          const [center, width] = lib.defaultWindow(series, 0);
          lib.render(series, 0, center, width);
          assert.equal(lib.rgbaLen(), lib.renderWidth() * lib.renderHeight() * 4, file);
        } catch (e) {
          if (e instanceof WebAssembly.RuntimeError) throw e;
          assert.match(e.code ?? '', CODE, `${file}: thrown error without a code: ${e}`);
          errors++;
        }
      }
    } catch (e) {
      if (e instanceof WebAssembly.RuntimeError) {
        assert.fail(`wasm trapped (a Rust panic) on ${file}: ${e.message}`);
      }
      throw e;
    } finally {
      lib.free();
    }
  }
  console.log(`wasm corpus: ${files.length} files, ${images} decodable images ingested, ${errors} typed decode errors`);
  assert.ok(images > 300, `only ${images} images ingested`);
});

test('wasm renders the same RGBA as the native lucent render', (t) => {
  const files = corpusFiles();
  if (!files) return t.skip('corpus not found');
  if (!fs.existsSync(cli)) assert.fail(`native CLI not built at ${cli}`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lucent-wasm-'));
  const cases = [
    ['dcm_qa_ct/In/GE', 40, 80],
    ['pydicom/src/pydicom/data/test_files/MR_small.dcm', null, null],
    ['pydicom/src/pydicom/data/test_files/SC_rgb_dcmtk_+eb+cr.dcm', null, null],
  ];
  for (const [rel, center, width] of cases) {
    let file = path.join(corpus, rel);
    if (fs.statSync(file).isDirectory()) file = path.join(file, fs.readdirSync(file).sort()[0]);
    const lib = new Library();
    try {
      const report = JSON.parse(lib.addFile(path.basename(file), fs.readFileSync(file)));
      assert.equal(report.status, 'image', `${rel}: ${report.reason}`);
      let [c, w] = lib.defaultWindow(0, 0);
      if (center !== null) [c, w] = [center, width];
      lib.render(0, 0, c, w);
      const out = path.join(tmp, 'native.rgba');
      execFileSync(cli, ['render', file, '--window', `${c},${w}`, '--out', out]);
      const native = fs.readFileSync(out);
      const wasmBytes = Buffer.from(new Uint8Array(wasm.memory.buffer, lib.rgbaPtr(), lib.rgbaLen()));
      assert.equal(wasmBytes.length, native.length, `${rel}: size`);
      assert.ok(wasmBytes.equals(native), `${rel}: wasm and native renders differ`);
    } finally {
      lib.free();
    }
  }
});

// Issue: "the same conformance through the wasm build: identical hashes to native". Every file the wasm
// decodes must give the native `lucent decode` bytes, and the reference's where the comparison is exact.
test('the wasm build decodes every corpus file to the same bytes as native and the reference', (t) => {
  const files = corpusFiles();
  if (!files) return t.skip('corpus not found');
  if (!fs.existsSync(cli)) assert.fail(`native CLI not built at ${cli}`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lucent-wasm-decode-'));
  const mismatches = [];
  let same = 0;
  let exact = 0;
  for (const row of files) {
    const file = path.join(corpus, row.file);
    let wasmSha = null;
    let wasmCode = null;
    try {
      const n = normalizeFile(row.file, fs.readFileSync(file));
      wasmSha = crypto.createHash('sha256').update(n.bytes()).digest('hex');
      n.free();
    } catch (e) {
      if (e instanceof WebAssembly.RuntimeError) assert.fail(`wasm trapped (a Rust panic) on ${row.file}`);
      wasmCode = e.code;
    }
    const out = path.join(tmp, 'out');
    const native = spawnSync(cli, ['decode', file, '--out', out], { encoding: 'utf8' });
    const nativeSha = native.status === 0 ? JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8')).sha256 : null;
    fs.rmSync(out, { recursive: true, force: true });
    if (wasmSha !== nativeSha) {
      mismatches.push(`${row.file}: wasm ${wasmSha ?? wasmCode} native ${nativeSha ?? 'error'}`);
      continue;
    }
    if (wasmSha) same++;
    if (wasmSha && row.status === 'decoded' && row.compare === 'exact') {
      if (wasmSha !== row.ref_sha256) mismatches.push(`${row.file}: wasm/native ${wasmSha} reference ${row.ref_sha256}`);
      else exact++;
    }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  console.log(`wasm decode: ${same} files identical to native, ${exact} of them also identical to the reference`);
  assert.deepEqual(mismatches, []);
  assert.ok(exact > 300, `only ${exact} exact matches: the comparison did not really run`);
});
