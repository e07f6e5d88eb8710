// `cargo xtask bench decode`: milliseconds per frame for every transfer syntax of the WG04 set,
// Lucent's wasm (www/pkg) against Cornerstone's WASM codecs, in this one Node process.
//
// What is timed (median of N runs after a warm-up, N = until 300 ms each or 20 runs, at least 3;
// the measurements of one file run in alternation):
// - Lucent "file": normalizeFile(path, bytes) + free(): copies the file into wasm, parses it,
//   decodes every frame and normalises the values (sign extension, RGB interleave). The output is
//   not copied back to JS.
// - Lucent "ref": the same call on the uncompressed WG04 REF version of the same image: parse +
//   native copy/normalise. "est" = file - ref estimates the codec alone (it also subtracts the
//   native copy, so it slightly flatters Lucent; the REF is missing for some images: then "est" is
//   empty and the ratio uses "file").
// - Cornerstone: what @cornerstonejs/dicom-image-loader does per frame: a new decoder, copy the
//   frame's compressed bytes into its heap, decode(), take a view of the decoded buffer, delete().
//   The frame bytes are cut out of the file by the minimal reader below before timing, so no
//   DICOM parsing is included.
// Lossless files are also checked value for value (mismatch count); for lossy ones the largest
// absolute difference is shown.
//
// Environment: BENCH_RESULT (JSON output path), LUCENT_CORPUS (default <repo>/../shared/corpus),
// BENCH_MS / BENCH_REPS (time and repetition budget per measurement), BENCH_FILTER (regex on
// "TS/file", e.g. "JLS|RLE").

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);
const corpus = process.env.LUCENT_CORPUS || path.join(repo, '../shared/corpus');
const wg04 = path.join(corpus, 'dicom-test-files/data/WG04');
const resultPath = process.env.BENCH_RESULT || path.join(repo, 'target/bench/decode.json');
const budgetMs = Number(process.env.BENCH_MS || 300);
const maxReps = Number(process.env.BENCH_REPS || 20);
const filter = process.env.BENCH_FILTER ? new RegExp(process.env.BENCH_FILTER) : null;

if (!fs.existsSync(wg04)) {
  console.error(`decode bench: WG04 corpus not found at ${wg04} (set LUCENT_CORPUS)`);
  process.exit(1);
}

// ---------------------------------------------------------------- Lucent
const { default: init, normalizeFile, version } = await import(
  path.join(repo, 'www/pkg/viewer_wasm.js')
);
await init({ module_or_path: fs.readFileSync(path.join(repo, 'www/pkg/viewer_wasm_bg.wasm')) });

// ---------------------------------------------------------------- Cornerstone codecs
const cs = '@cornerstonejs/';
const pkgVersion = (name) =>
  JSON.parse(fs.readFileSync(path.join(repo, 'node_modules', cs, name, 'package.json'), 'utf8')).version;
// OpenJPEG prints three [INFO] lines per decode through `print`: silenced, so that terminal
// output is not part of its time (a browser would send them to the console instead).
// The factory adopts its argument as the Module object: a fresh one each.
const quiet = () => ({ print: () => {} });
const openjpeg = await require(`${cs}codec-openjpeg/decodewasmjs`)(quiet());
const charls = await require(`${cs}codec-charls/decodewasmjs`)(quiet());
const libjpeg = await require(`${cs}codec-libjpeg-turbo-8bit/decodewasmjs`)(quiet());
const openjph = await require(`${cs}codec-openjph/wasmjs`)(quiet());
const { Decoder: LosslessDecoder } = await import(`${cs}jpeg-lossless-decoder-js`);

// An emscripten decoder as dicom-image-loader uses it; returns a view of the decoded bytes
// (valid until the next call into that module, so callers copy it before decoding again).
function emscripten(Ctor) {
  return (frame) => {
    const d = new Ctor();
    try {
      d.getEncodedBuffer(frame.length).set(frame);
      d.decode();
      return d.getDecodedBuffer();
    } finally {
      d.delete();
    }
  };
}

const TS = {
  '1.2.840.10008.1.2.5': 'RLE',
  '1.2.840.10008.1.2.4.50': 'JPEG baseline',
  '1.2.840.10008.1.2.4.51': 'JPEG extended',
  '1.2.840.10008.1.2.4.57': 'JPEG lossless',
  '1.2.840.10008.1.2.4.70': 'JPEG lossless SV1',
  '1.2.840.10008.1.2.4.80': 'JPEG-LS lossless',
  '1.2.840.10008.1.2.4.81': 'JPEG-LS near-lossless',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 lossless',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000',
  '1.2.840.10008.1.2.4.201': 'HTJ2K lossless',
  '1.2.840.10008.1.2.4.202': 'HTJ2K lossless RPCL',
  '1.2.840.10008.1.2.4.203': 'HTJ2K',
};
const LOSSLESS = new Set([
  '1.2.840.10008.1.2.5', '1.2.840.10008.1.2.4.57', '1.2.840.10008.1.2.4.70',
  '1.2.840.10008.1.2.4.80', '1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2.4.201',
  '1.2.840.10008.1.2.4.202',
]);

// The Cornerstone decoder for a file, or the reason there is none.
function cornerstoneFor(ts, img) {
  switch (ts) {
    case '1.2.840.10008.1.2.4.90':
    case '1.2.840.10008.1.2.4.91':
      return { name: `codec-openjpeg ${pkgVersion('codec-openjpeg')}`, decode: emscripten(openjpeg.J2KDecoder) };
    case '1.2.840.10008.1.2.4.80':
    case '1.2.840.10008.1.2.4.81':
      return { name: `codec-charls ${pkgVersion('codec-charls')}`, decode: emscripten(charls.JpegLSDecoder) };
    case '1.2.840.10008.1.2.4.201':
    case '1.2.840.10008.1.2.4.202':
    case '1.2.840.10008.1.2.4.203':
      return { name: `codec-openjph ${pkgVersion('codec-openjph')}`, decode: emscripten(openjph.HTJ2KDecoder) };
    case '1.2.840.10008.1.2.4.50':
    case '1.2.840.10008.1.2.4.51':
      if (img.bitsStored > 8) {
        return { none: 'no Cornerstone wasm codec for >8-bit JPEG (libjpeg-turbo-8bit is 8-bit only; CS uses a JS decoder)' };
      }
      return { name: `codec-libjpeg-turbo-8bit ${pkgVersion('codec-libjpeg-turbo-8bit')}`, decode: emscripten(libjpeg.JPEGDecoder) };
    case '1.2.840.10008.1.2.4.57':
    case '1.2.840.10008.1.2.4.70': {
      // Not wasm: the pure-JS decoder dicom-image-loader uses for JPEG lossless.
      const numBytes = img.bitsAllocated <= 8 ? 1 : 2;
      return {
        name: `jpeg-lossless-decoder-js ${pkgVersion('jpeg-lossless-decoder-js')} (JS)`,
        decode: (frame) => {
          const out = new LosslessDecoder().decode(frame.buffer, frame.byteOffset, frame.length, numBytes);
          return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
        },
      };
    }
    case '1.2.840.10008.1.2.5':
      return { none: 'no Cornerstone wasm codec (dicom-image-loader decodes RLE in JS)' };
    default:
      return { none: 'no Cornerstone codec' };
  }
}

// ---------------------------------------------------------------- minimal DICOM reader
// Explicit VR little endian only (every encapsulated WG04 file); enough to find the image
// attributes and the Pixel Data fragments. A bench helper, not a parser for the app.
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const UNDEFINED = 0xffffffff;

function readDicom(buf) {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.length < 132 || String.fromCharCode(...buf.subarray(128, 132)) !== 'DICM') {
    throw new Error('not a Part 10 file');
  }
  const tagAt = (p) => ((dv.getUint16(p, true) << 16) | dv.getUint16(p + 2, true)) >>> 0;
  // One element at p: {tag, vr, len, value (offset), next}.
  function element(p) {
    const tag = tagAt(p);
    if (tag >>> 16 === 0xfffe) {
      return { tag, vr: null, len: dv.getUint32(p + 4, true), value: p + 8, next: p + 8 };
    }
    const vr = String.fromCharCode(buf[p + 4], buf[p + 5]);
    let len;
    let value;
    if (LONG_VRS.has(vr)) {
      len = dv.getUint32(p + 8, true);
      value = p + 12;
    } else {
      len = dv.getUint16(p + 6, true);
      value = p + 8;
    }
    return { tag, vr, len, value, next: len === UNDEFINED ? value : value + len };
  }
  // Skips an undefined-length sequence starting at p (just after its header); returns the end.
  function skipSequence(p) {
    for (;;) {
      const item = element(p);
      p = item.value;
      if (item.tag === 0xfffee0dd) return p;
      if (item.tag !== 0xfffee000) throw new Error(`bad item tag at ${p}`);
      if (item.len !== UNDEFINED) {
        p += item.len;
        continue;
      }
      for (;;) {
        const e = element(p);
        if (e.tag === 0xfffee00d) {
          p = e.value;
          break;
        }
        p = e.len === UNDEFINED ? skipSequence(e.value) : e.next;
      }
    }
  }
  const values = new Map();
  let p = 132;
  let pixel = null;
  while (p + 8 <= buf.length) {
    const e = element(p);
    if (e.tag === 0x7fe00010) {
      pixel = e;
      break;
    }
    if (e.len === UNDEFINED) {
      p = skipSequence(e.value);
      continue;
    }
    values.set(e.tag, e);
    p = e.next;
  }
  const str = (tag) => {
    const e = values.get(tag);
    return e ? String.fromCharCode(...buf.subarray(e.value, e.value + e.len)).replace(/[\0 ]+$/, '') : '';
  };
  const us = (tag, dflt) => (values.has(tag) ? dv.getUint16(values.get(tag).value, true) : dflt);
  const img = {
    ts: str(0x00020010),
    samples: us(0x00280002, 1),
    photometric: str(0x00280004),
    frames: Number(str(0x00280008) || 1),
    rows: us(0x00280010, 0),
    columns: us(0x00280011, 0),
    bitsAllocated: us(0x00280100, 16),
    bitsStored: us(0x00280101, 16),
    signed: us(0x00280103, 0) === 1,
    frameBytes: [],
  };
  if (!pixel) throw new Error('no Pixel Data');
  if (pixel.len !== UNDEFINED) return img; // native: nothing to cut out
  // Encapsulated: basic offset table item, then fragments up to the sequence delimiter.
  const items = [];
  for (let q = pixel.value; ; ) {
    const it = element(q);
    if (it.tag === 0xfffee0dd) break;
    if (it.tag !== 0xfffee000) throw new Error('bad fragment item');
    items.push(buf.subarray(it.value, it.value + it.len));
    q = it.value + it.len;
  }
  const [bot, ...fragments] = items;
  const starts = [];
  if (bot.length >= 4) {
    const bdv = new DataView(bot.buffer, bot.byteOffset, bot.byteLength);
    for (let i = 0; i + 4 <= bot.length; i += 4) starts.push(bdv.getUint32(i, true));
  }
  const concat = (parts) => {
    if (parts.length === 1) return parts[0];
    const out = new Uint8Array(parts.reduce((n, f) => n + f.length, 0));
    let o = 0;
    for (const f of parts) {
      out.set(f, o);
      o += f.length;
    }
    return out;
  };
  if (img.frames === 1) {
    img.frameBytes = [concat(fragments)];
  } else if (starts.length === img.frames) {
    // Offsets are from the first fragment item's tag: 8 bytes of header per fragment.
    let off = 0;
    const at = fragments.map((f) => {
      const s = off;
      off += f.length + 8;
      return s;
    });
    img.frameBytes = starts.map((s, i) =>
      concat(fragments.filter((_, k) => at[k] >= s && (i + 1 === starts.length || at[k] < starts[i + 1]))));
  } else if (fragments.length === img.frames) {
    img.frameBytes = fragments;
  } else {
    throw new Error(`${img.frames} frames in ${fragments.length} fragments without an offset table`);
  }
  return img;
}

// ---------------------------------------------------------------- timing
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// Median ms of each function, run in alternation (a, b, c, a, b, c, ...) so that they share
// whatever else the machine is doing, after one warm-up round (two for quick ones).
function time(...fns) {
  const round = () => fns.map((fn) => {
    const t = performance.now();
    fn();
    return performance.now() - t;
  });
  if (round().reduce((a, b) => a + b, 0) < 50) round();
  const runs = fns.map(() => []);
  const start = performance.now();
  const budget = budgetMs * fns.length;
  while (runs[0].length < maxReps && (runs[0].length < 3 || performance.now() - start < budget)) {
    round().forEach((ms, i) => runs[i].push(ms));
  }
  return runs.map(median);
}

// Typed view of little-endian samples for comparison.
function samples(bytes, dtype) {
  const copy = bytes.slice();
  switch (dtype) {
    case 'u1': return copy;
    case 'i1': return new Int8Array(copy.buffer);
    case 'u2': return new Uint16Array(copy.buffer, 0, copy.length >> 1);
    case 'i2': return new Int16Array(copy.buffer, 0, copy.length >> 1);
    default: return null;
  }
}

// Cornerstone's raw output interpreted like Lucent's normalised values: signed data
// sign-extended from Bits Stored, bits above Bits Stored dropped.
function compare(lucent, dtype, csFrames, img) {
  const a = samples(lucent, dtype);
  if (!a) return { mismatches: null, maxDiff: null, note: `dtype ${dtype}` };
  const csBytes = new Uint8Array(csFrames.reduce((n, f) => n + f.length, 0));
  let o = 0;
  for (const f of csFrames) {
    csBytes.set(f, o);
    o += f.length;
  }
  const unsignedDtype = dtype.replace('i', 'u');
  const b = samples(csBytes, unsignedDtype);
  if (a.length !== b.length) {
    return { mismatches: a.length, maxDiff: null, note: `length ${b.length} vs Lucent ${a.length}` };
  }
  const bits = img.bitsStored;
  const mask = bits >= 32 ? 0xffffffff : 2 ** bits - 1;
  let mismatches = 0;
  let maxDiff = 0;
  for (let i = 0; i < a.length; i++) {
    let v = b[i] & mask;
    if (img.signed && v >= 2 ** (bits - 1)) v -= 2 ** bits;
    const d = Math.abs(a[i] - v);
    if (d) {
      mismatches++;
      if (d > maxDiff) maxDiff = d;
    }
  }
  return { mismatches, maxDiff };
}

// ---------------------------------------------------------------- the run
const FOLDERS = ['RLE', 'JPLL', 'JLSL', 'JLSN', 'J2KR', 'J2KI', 'JPLY'];
const jobs = [];
for (const folder of FOLDERS) {
  const dir = path.join(wg04, folder);
  if (!fs.existsSync(dir)) continue;
  for (const name of fs.readdirSync(dir).sort()) jobs.push({ folder, file: path.join(dir, name), name });
}
// HTJ2K: not in WG04; time Cornerstone on the corpus's HTJ2K samples and show what Lucent does.
for (const rel of ['pydicom-data/data_store/data/HTJ2KLossless_08_RGB.dcm', 'pydicom-data/data_store/data/HTJ2K_08_RGB.dcm']) {
  const file = path.join(corpus, rel);
  if (fs.existsSync(file)) jobs.push({ folder: 'HTJ2K', file, name: path.basename(rel) });
}

const refFile = (name) => {
  const ref = path.join(wg04, 'REF', `${name.split('_')[0]}_UNC`);
  return fs.existsSync(ref) ? ref : null;
};

console.log(`Lucent ${version()} (www/pkg wasm) vs Cornerstone codecs, Node ${process.version}`);
console.log(`median of up to ${maxReps} runs / ${budgetMs} ms per measurement, ms per frame\n`);

const rows = [];
const timings = [];
for (const job of jobs) {
  const key = `${job.folder}/${job.name}`;
  if (filter && !filter.test(key)) continue;
  const bytes = new Uint8Array(fs.readFileSync(job.file));
  const row = { ts_folder: job.folder, file: job.name, size: bytes.length };
  rows.push(row);
  let img;
  try {
    img = readDicom(bytes);
  } catch (e) {
    row.error = `bench reader: ${e.message}`;
    continue;
  }
  Object.assign(row, {
    ts: img.ts, ts_name: TS[img.ts] || img.ts, frames: img.frames,
    dims: `${img.columns}x${img.rows}${img.samples > 1 ? `x${img.samples}` : ''}`,
    bits: img.bitsStored, lossless: LOSSLESS.has(img.ts),
    compressed: img.frameBytes.reduce((n, f) => n + f.length, 0),
  });

  // Lucent and Cornerstone, checked once here, timed below in alternation.
  const fns = [];
  let lucentOut = null;
  try {
    const n = normalizeFile(job.file, bytes);
    lucentOut = { dtype: n.dtype(), bytes: n.bytes() };
    n.free();
    fns.push(['lucent_file_ms', () => normalizeFile(job.file, bytes).free()]);
    const ref = job.folder === 'HTJ2K' ? null : refFile(job.name);
    if (ref) {
      const refBytes = new Uint8Array(fs.readFileSync(ref));
      normalizeFile(ref, refBytes).free();
      fns.push(['lucent_ref_ms', () => normalizeFile(ref, refBytes).free()]);
    }
  } catch (e) {
    row.lucent_error = e.code ? `${e.code}` : String(e.message || e);
  }
  const c = cornerstoneFor(img.ts, img);
  if (c.none) {
    row.cs_none = c.none;
  } else {
    row.cs_codec = c.name;
    try {
      const out = img.frameBytes.map((f) => c.decode(f).slice());
      fns.push(['cs_ms', () => {
        for (const f of img.frameBytes) c.decode(f);
      }]);
      if (lucentOut) {
        const cmp = compare(lucentOut.bytes, lucentOut.dtype, out, img);
        row.mismatches = cmp.mismatches;
        row.max_diff = cmp.maxDiff;
        if (cmp.note) row.compare_note = cmp.note;
      }
    } catch (e) {
      row.cs_error = String(e.message || e);
    }
  }
  timings.push({ row, fns, frames: img.frames });
}

// Timing, after the checks above ran every decoder once on every file, so that the engine has
// seen all of the code before any clock starts (wasm tiers up from baseline code on use).
for (const { row, fns, frames } of timings) {
  if (fns.length) {
    time(...fns.map(([, fn]) => fn)).forEach((ms, i) => {
      row[fns[i][0]] = ms / frames;
    });
  }
  if (row.lucent_ref_ms != null) row.lucent_est_ms = Math.max(0, row.lucent_file_ms - row.lucent_ref_ms);
  const lucent = row.lucent_est_ms ?? row.lucent_file_ms;
  if (lucent != null && row.cs_ms) {
    row.ratio = lucent / row.cs_ms;
    row.ratio_basis = row.lucent_est_ms != null ? 'est' : 'file';
    row.ratio_file = row.lucent_file_ms / row.cs_ms;
  }
}

// ---------------------------------------------------------------- report
const f2 = (x) => (x == null ? '' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const kb = (n) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)}M` : `${Math.round(n / 1024)}k`);
const table = [['TS', 'file', 'size', 'dims', 'Lucent file', 'ref', 'est', 'CS', 'ratio', 'ratio file', 'check']];
for (const r of rows) {
  let check = '';
  if (r.mismatches != null) {
    check = r.lossless ? (r.mismatches ? `${r.mismatches} MISMATCH (max ${r.max_diff})` : 'identical')
      : `max |d| ${r.max_diff}`;
  }
  table.push([
    r.ts_folder, r.file, kb(r.size), r.dims || '',
    r.lucent_error ? 'ERR' : f2(r.lucent_file_ms), f2(r.lucent_ref_ms), f2(r.lucent_est_ms),
    r.cs_error ? 'ERR' : r.cs_none ? '-' : f2(r.cs_ms),
    r.ratio == null ? '' : `${r.ratio.toFixed(2)}${r.ratio_basis === 'file' ? '*' : ''}`,
    r.ratio_file == null ? '' : r.ratio_file.toFixed(2),
    [r.error, r.lucent_error && `Lucent: ${r.lucent_error}`, r.cs_error && `CS: ${r.cs_error}`, check]
      .filter(Boolean).join('; '),
  ]);
}
const widths = table[0].map((_, i) => Math.max(...table.map((row) => String(row[i]).length)));
const numeric = new Set([2, 4, 5, 6, 7, 8, 9]);
for (const [i, row] of table.entries()) {
  console.log(row.map((cell, j) => (numeric.has(j) ? String(cell).padStart(widths[j]) : String(cell).padEnd(widths[j]))).join('  ').trimEnd());
  if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
}
console.log(`
file  = Lucent normalizeFile (copy in + parse + decode + normalise), ms per frame
ref   = the same on the uncompressed REF image (parse + native copy); est = file - ref (codec estimate)
CS    = Cornerstone codec on the frame bytes (new decoder, copy in, decode, delete); ratio = Lucent est / CS
        (* = no REF image: Lucent file / CS); ratio file = Lucent file / CS (includes parsing)`);

const geomean = (xs) => Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);
// The goals, judged per transfer syntax on the geometric mean of the per-file ratios.
const groups = [
  { id: 'JPEG-LS lossless', folders: ['JLSL'], limit: 1.0 },
  { id: 'JPEG-LS near-lossless', folders: ['JLSN'], limit: 1.0 },
  { id: 'HTJ2K', folders: ['HTJ2K'], limit: 1.0 },
  { id: 'JPEG lossless', folders: ['JPLL'], limit: 1.0 },
  { id: 'RLE', folders: ['RLE'], limit: 1.0 },
  { id: 'JPEG 2000 lossless', folders: ['J2KR'], limit: 1.5 },
  { id: 'JPEG 2000 lossy', folders: ['J2KI'], limit: 1.5 },
];
console.log('\nSummary (geometric mean of ratios, Lucent/CS; < 1 means Lucent is faster)');
const summary = [];
for (const folder of [...FOLDERS, 'HTJ2K']) {
  const rs = rows.filter((r) => r.ts_folder === folder);
  if (!rs.length) continue;
  const ratios = rs.filter((r) => r.ratio).map((r) => r.ratio);
  const files = rs.filter((r) => r.ratio_file).map((r) => r.ratio_file);
  const lucentMs = rs.filter((r) => r.lucent_file_ms != null).map((r) => r.lucent_file_ms);
  const s = {
    folder, files: rs.length, compared: ratios.length,
    geomean_ratio: ratios.length ? geomean(ratios) : null,
    geomean_ratio_file: files.length ? geomean(files) : null,
    lucent_errors: rs.filter((r) => r.lucent_error).length,
    mismatched_files: rs.filter((r) => r.lossless && r.mismatches).length,
    lucent_total_ms: lucentMs.reduce((a, b) => a + b, 0),
  };
  summary.push(s);
  const what = s.geomean_ratio != null
    ? `ratio ${s.geomean_ratio.toFixed(2)} (file ${s.geomean_ratio_file.toFixed(2)}) over ${s.compared} files`
    : `${rs[0].cs_none || rs[0].cs_error || 'no comparison'}`
      + `${lucentMs.length ? `; Lucent ${f2(s.lucent_total_ms / lucentMs.length)} ms/frame on average (file)` : ''}`;
  const errs = s.lucent_errors ? `, Lucent failed ${s.lucent_errors} (${[...new Set(rs.map((r) => r.lucent_error).filter(Boolean))].join(', ')})` : '';
  const mm = rs.some((r) => r.lossless && r.mismatches != null) ? `, pixel mismatches in ${s.mismatched_files} files` : '';
  console.log(`  ${folder.padEnd(5)} ${(rs[0].ts_name || '').padEnd(22)} ${what}${errs}${mm}`);
}

console.log('\nGoals');
const goals = [];
for (const g of groups) {
  const rs = rows.filter((r) => g.folders.includes(r.ts_folder));
  const ratios = rs.filter((r) => r.ratio).map((r) => r.ratio);
  const failed = rs.filter((r) => r.lucent_error);
  let status;
  let detail;
  if (!rs.length) {
    status = 'MISS';
    detail = 'no files found';
  } else if (failed.length === rs.length) {
    status = 'MISS';
    detail = `Lucent does not decode it (${failed[0].lucent_error})`;
  } else if (!ratios.length) {
    status = 'n/a';
    detail = `${rs[0].cs_none || 'no Cornerstone figure'}; Lucent alone: ${f2(rs.reduce((a, r) => a + (r.lucent_est_ms ?? r.lucent_file_ms ?? 0), 0) / rs.length)} ms/frame on average (est)`;
  } else {
    const gm = geomean(ratios);
    const worst = rs.filter((r) => r.ratio).sort((a, b) => b.ratio - a.ratio)[0];
    status = gm <= g.limit && !failed.length ? 'PASS' : 'MISS';
    const gmFile = geomean(rs.filter((r) => r.ratio_file).map((r) => r.ratio_file));
    detail = `geomean ${gm.toFixed(2)} (file ${gmFile.toFixed(2)}), worst ${worst.file} ${worst.ratio.toFixed(2)}`
      + `${failed.length ? `, ${failed.length} files not decoded` : ''}`;
  }
  goals.push({ goal: g.id, limit: g.limit, status, detail });
  console.log(`  ${status.padEnd(4)}  ${g.id.padEnd(21)} ${g.limit === 1 ? 'no slower than CS' : `within ${g.limit}x of CS`}: ${detail}`);
}

fs.mkdirSync(path.dirname(resultPath), { recursive: true });
fs.writeFileSync(resultPath, `${JSON.stringify({
  lucent: version(), node: process.version, budget_ms: budgetMs, max_reps: maxReps,
  cornerstone: Object.fromEntries(['codec-openjpeg', 'codec-charls', 'codec-libjpeg-turbo-8bit', 'codec-openjph', 'jpeg-lossless-decoder-js'].map((n) => [n, pkgVersion(n)])),
  rows, summary, goals,
}, null, 2)}\n`);
console.log(`\nresults: ${path.relative(process.cwd(), resultPath)}`);
const mismatched = rows.filter((r) => r.lossless && r.mismatches);
if (mismatched.length) {
  console.log(`\n${mismatched.length} lossless files decode differently in Lucent and Cornerstone`);
  process.exitCode = 1;
}
