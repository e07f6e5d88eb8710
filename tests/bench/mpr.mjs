// MPR benchmark in Chromium, on one core (the wasm runs on the page's main thread here, alone): from a 512-slice
// 512x512 signed 16-bit series (the demo phantom), build the volume, then time an oblique 512x512 reslice, an axial
// one, and 20 mm MIP slabs; report peak wasm memory against the voxel bytes and every time against the
// memory-bandwidth bound measured in the same page. Run by `cargo xtask bench mpr`, which sets:
//   LUCENT_BASE_URL  page root (http://127.0.0.1:PORT/)
//   BENCH_DIR        the series folder (index.json + files)
//   CHROMIUM         browser executable (default /usr/bin/chromium)
//   BENCH_RESULT     optional: where to write the numbers as JSON
//
// Clock: performance.now() in the page around the wasm calls only (files are fetched first, outside the timing;
// parsing them is timed separately from building the volume).
import { writeFile } from 'node:fs/promises';

import { withBenchPage } from './support.mjs';

const GOALS = { obliqueMs: 4, mip20Ms: 40, buildMs: 1500, peakRatio: 1.25 };
const REPEAT = 15;

const result = await withBenchPage('mpr.mjs', (page, files) => page.evaluate(async ({ files, REPEAT }) => {
  const mod = await import('./pkg/viewer_wasm.js');
  const wasm = await mod.default({ module_or_path: new URL('./pkg/viewer_wasm_bg.wasm', location.href) });
  const memory = () => wasm.memory.buffer.byteLength;
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

  // Memory bandwidth of this page: copy 256 MiB between two typed arrays (read + write).
  const a = new Uint8Array(256 << 20).fill(1);
  const b = new Uint8Array(256 << 20);
  const copies = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    b.set(a);
    copies.push(performance.now() - t);
  }
  const bandwidth = (2 * a.length) / (median(copies) / 1000);   // bytes per second, read + write

  const bytes = [];
  for (const f of files) bytes.push(new Uint8Array(await (await fetch(`./__bench__/${encodeURIComponent(f)}`)).arrayBuffer()));
  const fileBytes = bytes.reduce((n, x) => n + x.length, 0);
  const memStart = memory();
  const lib = new mod.Library();
  let t = performance.now();
  for (let i = 0; i < bytes.length; i++) {
    lib.addFile(files[i], bytes[i]);
    bytes[i] = null;                                               // JS drops its copy: only wasm holds it
  }
  const parseMs = performance.now() - t;
  const memAfterParse = memory();
  t = performance.now();
  const summary = JSON.parse(lib.buildVolume(0, 2 ** 31, 1));
  const buildMs = performance.now() - t;
  const memPeak = memory();

  const pane = new mod.Pane();
  const c = summary.center;
  const s30 = Math.sin(Math.PI / 6);
  const c30 = Math.cos(Math.PI / 6);
  // oblique: rotated 30 degrees about the patient x axis, then 20 degrees about z
  const rz = (v, g) => [v[0] * Math.cos(g) - v[1] * Math.sin(g), v[0] * Math.sin(g) + v[1] * Math.cos(g), v[2]];
  const obliqueRight = rz([1, 0, 0], Math.PI / 9);
  const obliqueDown = rz([0, c30, s30], Math.PI / 9);
  const view = (right, down, slab) => new Float64Array([...c, ...right, ...down, 512, 512, 160 / 512, slab]);
  const time = (v, mode) => {
    pane.render(lib, 0, v, mode, 1000, 3000);                     // warm-up (and buffer allocation)
    const xs = [];
    for (let i = 0; i < REPEAT; i++) {
      const t0 = performance.now();
      pane.render(lib, 0, v, mode, 1000, 3000);
      xs.push(performance.now() - t0);
    }
    return { median: median(xs), min: Math.min(...xs) };
  };
  const timings = {
    axialMs: time(view([1, 0, 0], [0, 1, 0], 0), 'avg'),
    obliqueMs: time(view(obliqueRight, obliqueDown, 0), 'avg'),
    mip20AxialMs: time(view([1, 0, 0], [0, 1, 0], 20), 'mip'),
    mip20ObliqueMs: time(view(obliqueRight, obliqueDown, 20), 'mip'),
  };
  return {
    summary: { dims: summary.dims, spacing: summary.spacing, dtype: summary.dtype, voxel_bytes: summary.voxel_bytes },
    fileBytes, parseMs, buildMs, memStart, memAfterParse, memPeak, bandwidth, timings,
  };
}, { files, REPEAT }));

const mib = (n) => (n / 2 ** 20).toFixed(0);
const voxelBytes = result.summary.voxel_bytes;
const peakRatio = result.memPeak / voxelBytes;
const spacing = result.summary.spacing;
// Lower bound for a 20 mm slab: every voxel of the slab read once from memory.
const slabBytes = 512 * 512 * Math.ceil(20 / spacing[2]) * 2;
const boundMs = (bytes) => (bytes / result.bandwidth) * 1000;
const { timings: tm } = result;
console.log(`\nMPR bench (Chromium, one core): volume ${result.summary.dims.join('x')} ${result.summary.dtype}, `
  + `${mib(voxelBytes)} MiB voxels from ${mib(result.fileBytes)} MiB of files`);
console.log(`memory bandwidth (typed-array copy, read+write): ${(result.bandwidth / 1e9).toFixed(2)} GB/s`);
const rows = [
  ['parse 512 files (addFile)', result.parseMs, null, null],
  ['build volume', result.buildMs, GOALS.buildMs, boundMs(2 * voxelBytes)],
  ['axial 512x512 thin', tm.axialMs.median, null, null],
  ['oblique 512x512 thin', tm.obliqueMs.median, GOALS.obliqueMs, null],
  ['20 mm MIP axial', tm.mip20AxialMs.median, GOALS.mip20Ms, boundMs(slabBytes)],
  ['20 mm MIP oblique', tm.mip20ObliqueMs.median, GOALS.mip20Ms, boundMs(slabBytes)],
];
console.log(`${'step'.padEnd(28)}${'ms'.padStart(10)}${'goal'.padStart(8)}${'bandwidth bound'.padStart(17)}${'x bound'.padStart(9)}`);
for (const [name, ms, goal, bound] of rows) {
  const verdict = goal == null ? '' : ms <= goal ? '  ok' : '  MISSED';
  console.log(`${name.padEnd(28)}${ms.toFixed(1).padStart(10)}${(goal == null ? '' : String(goal)).padStart(8)}`
    + `${(bound == null ? '' : `${bound.toFixed(1)} ms`).padStart(17)}${(bound == null ? '' : (ms / bound).toFixed(1)).padStart(9)}${verdict}`);
}
console.log(`wasm memory: ${mib(result.memStart)} MiB at start, ${mib(result.memAfterParse)} MiB after parsing, `
  + `${mib(result.memPeak)} MiB after the build = ${peakRatio.toFixed(2)}x the voxel bytes `
  + `(goal <= ${GOALS.peakRatio}x${peakRatio <= GOALS.peakRatio ? ': ok' : ': MISSED'})`);
if (process.env.BENCH_RESULT) {
  await writeFile(process.env.BENCH_RESULT, `${JSON.stringify({ ...result, peakRatio, goals: GOALS }, null, 2)}\n`);
}
