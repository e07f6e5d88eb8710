// Dental reformat benchmark in Chromium, on one core (the wasm runs on the page's main thread, alone): from the
// 512-slice 512x512 signed 16-bit demo phantom (0.3125 mm voxels), a 1024x512 panoramic along the phantom's arch
// with a 10 mm slab (average and MIP) and thin, and a strip of 20 cross-sections (128x128 each, 40 mm, thin and
// with a 2 mm slab). Every time is the median of REPEAT renders after a warm-up, including the window to RGBA.
// Run by `cargo xtask bench pano`, which sets LUCENT_BASE_URL, BENCH_DIR, CHROMIUM and BENCH_RESULT (optional).
import { writeFile } from 'node:fs/promises';

import { withBenchPage } from './support.mjs';

const GOALS = { panoMs: 50, sectionsMs: 20 };
const REPEAT = 15;

// The phantom's arch (viewer-core/src/phantom.rs: x = 30t, y = -44 + 0.04x^2), clicked at 9 points at z = -40.
const arch = JSON.stringify({
  points: Array.from({ length: 9 }, (_, i) => {
    const x = 30 * (-1 + i / 4);
    return [x, -44 + 0.04 * x * x, -40];
  }),
  up: [0, 0, 1],
});

const result = await withBenchPage('pano.mjs', (page, files) => page.evaluate(async ({ files, REPEAT, arch }) => {
  const mod = await import('./pkg/viewer_wasm.js');
  await mod.default({ module_or_path: new URL('./pkg/viewer_wasm_bg.wasm', location.href) });
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const lib = new mod.Library();
  for (const f of files) lib.addFile(f, new Uint8Array(await (await fetch(`./__bench__/${encodeURIComponent(f)}`)).arrayBuffer()));
  const summary = JSON.parse(lib.buildVolume(0, 2 ** 31, 1));
  const length = JSON.parse(mod.archCurveJson(arch, 0, 1)).length_mm;
  const pane = new mod.Pane();
  const time = (render) => {
    render();                                                     // warm-up (and buffer allocation)
    const xs = [];
    for (let i = 0; i < REPEAT; i++) {
      const t0 = performance.now();
      render();
      xs.push(performance.now() - t0);
    }
    return { median: median(xs), min: Math.min(...xs) };
  };
  const pixel = length / 1024;
  const pano = (slab, mode) => () => pane.renderPano(lib, 0, arch,
    new Float64Array([length / 2, 0, 1024, 512, pixel, 0, slab]), mode, 1000, 3000);
  const sections = (slab) => () => pane.renderSections(lib, 0, arch,
    new Float64Array([length / 2, 2, 20, 128, 128, 40 / 128, 0, 0, slab]), 'avg', 1000, 3000);
  return {
    dims: summary.dims, spacing: summary.spacing, length, pixel,
    timings: {
      pano10Avg: time(pano(10, 'avg')),
      pano10Mip: time(pano(10, 'mip')),
      panoThin: time(pano(0, 'avg')),
      sections20Thin: time(sections(0)),
      sections20Slab2: time(sections(2)),
    },
  };
}, { files, REPEAT, arch }));

const { timings: tm } = result;
console.log(`\nDental bench (Chromium, one core): volume ${result.dims.join('x')} at ${result.spacing[0]} mm, `
  + `arch ${result.length.toFixed(1)} mm -> 1024x512 panoramic at ${result.pixel.toFixed(4)} mm/pixel`);
const rows = [
  ['panoramic 1024x512, 10 mm avg', tm.pano10Avg.median, GOALS.panoMs],
  ['panoramic 1024x512, 10 mm MIP', tm.pano10Mip.median, GOALS.panoMs],
  ['panoramic 1024x512, thin', tm.panoThin.median, null],
  ['20 cross-sections 128x128, thin', tm.sections20Thin.median, GOALS.sectionsMs],
  ['20 cross-sections, 2 mm slab', tm.sections20Slab2.median, null],
];
console.log(`${'step'.padEnd(36)}${'ms'.padStart(10)}${'goal'.padStart(8)}`);
for (const [name, ms, goal] of rows) {
  const verdict = goal == null ? '' : ms <= goal ? '  ok' : '  MISSED';
  console.log(`${name.padEnd(36)}${ms.toFixed(1).padStart(10)}${(goal == null ? '' : String(goal)).padStart(8)}${verdict}`);
}
if (process.env.BENCH_RESULT) {
  await writeFile(process.env.BENCH_RESULT, `${JSON.stringify({ ...result, goals: GOALS }, null, 2)}\n`);
}
