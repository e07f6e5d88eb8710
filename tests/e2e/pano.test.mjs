// The dental layout on the demo phantom (its jaw arch, teeth and mandibular canal are known curves, see
// viewer-core/src/phantom.rs): an arch drawn by mouse clicks on the axial pane gives the analytic arch length, the
// panoramic shows the teeth above the mandible at their arc positions, a canal traced by clicks lies on the analytic
// canal and shows as a tube on the panoramic and circles on the cross-sections, distances on both read the analytic
// mm, both panes equal `lucent pano` / `lucent sections` byte for byte, and a saved session reloads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ARTIFACTS, REPO, baseUrl, canvasPixels, cliPath, mark, missing, openApp, runCli, waitForEvent, withBrowser,
} from './helpers.mjs';

// From viewer-core/src/phantom.rs (the generator's constants).
const K = 0.04;                                         // y = -44 + K x², x = 30 t
const arcFromVertex = (x) => {
  const u = 2 * K * x;
  return 0.5 * (x * Math.sqrt(1 + u * u) + Math.asinh(u) / (2 * K));
};
const arcS = (t) => arcFromVertex(30 * t) + arcFromVertex(30);   // arc length from the patient-right end
const ARCH_LENGTH = 2 * arcFromVertex(30);                        // 78 + 12.5 ln 5 = 98.118 mm
const archPoint = (t, z) => [30 * t, -44 + K * (30 * t) ** 2, z];
const canalZ = (t) => -46 + 5 * t * t;
const TOOTH = { t: 0.11, radius: 2, zMin: -38, zMax: -20 };       // tooth 5
const ARCH_Z = -40;                                               // the axial plane the arch is drawn on
const WINDOW = { center: 1000, width: 3000 };                     // tooth 255, bone ~145, soft tissue ~46
// Grey levels half way between the tooth and what surrounds it: the edge of a trilinearly sampled step.
const TOOTH_SOFT = 150;
const TOOTH_BONE = 200;
const VOXEL_MM = 160 / 256;

// Arc-length interval where the arch runs inside a tooth (its extent on a thin panoramic), by bisection.
function toothInterval({ t, radius }) {
  const [cx, cy] = archPoint(t, 0);
  const inside = (u) => Math.hypot(archPoint(u, 0)[0] - cx, archPoint(u, 0)[1] - cy) <= radius;
  const edge = (dir) => {
    let a = t;
    let b = t + (dir * radius) / 20;
    for (let k = 0; k < 100; k++) {
      const m = (a + b) / 2;
      if (inside(m)) a = m;
      else b = m;
    }
    return arcS(a);
  };
  return [edge(-1), edge(1)];
}

const viewerCall = (page, fn, arg) => page.evaluate(fn, arg);

/**
 * The run of pixels at or above `threshold` through index `from` of a profile (value(k) for pixel k), with its
 * edges at sub-pixel precision: [start, end] in continuous coordinates (pixel k spans k..k+1, centre k + 0.5).
 */
function brightRun(value, from, [lowThreshold, highThreshold]) {
  const edge = (dir, threshold) => {
    let k = from;
    while (value(k + dir) >= threshold) k += dir;
    const a = value(k);
    const b = value(k + dir);
    return k + 0.5 + (dir * (a - threshold)) / (a - b);
  };
  return [edge(-1, lowThreshold), edge(1, highThreshold)];
}

// CSS px of a canvas point of a pane (device px in the canvas' backing store).
const cssOf = (page, selector, [u, v]) => page.evaluate(([selector, u, v]) => {
  const c = window.__lucent.query(selector);
  const r = c.getBoundingClientRect();
  const k = c.clientWidth / c.width;
  return [r.left + u * k, r.top + v * k];
}, [selector, u, v]);

const axialPoint = async (page, world) => cssOf(page, '.lv-pane-axial canvas',
  await viewerCall(page, (w) => document.querySelector('lucent-viewer').mpr.worldToCanvas('axial', w), world));
const panoPoint = async (page, s, h) => cssOf(page, '.lv-pane-pano canvas',
  await viewerCall(page, ([s, h]) => document.querySelector('lucent-viewer').pano.panoToCanvas(s, h), [s, h]));

async function drag(page, [x0, y0], [x1, y1]) {
  await page.mouse.move(x0, y0);
  await page.mouse.down();
  await page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, { steps: 3 });
  await page.mouse.move(x1, y1, { steps: 3 });
  await page.mouse.up();
}

const settle = (page) => viewerCall(page, () => document.querySelector('lucent-viewer').pano.renderAll());

// A screenshot() of a dental pane decoded in the page (no colour conversion): {width, height, rgba}.
async function screenshotPixels(page, pane) {
  const p = await page.evaluate(async (pane) =>
    window.__lucent.pixels(await document.querySelector('lucent-viewer').screenshot({ pane })), pane);
  return { width: p.width, height: p.height, type: p.type, rgba: Buffer.from(p.b64, 'base64') };
}

function assertSameBytes(actual, expected, what) {
  assert.equal(actual.length, expected.length, `${what}: size`);
  let differ = 0;
  for (let i = 0; i < actual.length; i++) if (actual[i] !== expected[i]) differ++;
  assert.equal(differ, 0, `${differ} bytes of ${what} differ from the CLI`);
}

test('Dental layout on the demo phantom: arch by clicks, panoramic, sections, canal, distances, CLI equality', async (t) => {
  const index = await fetch(`${await baseUrl()}demo/index.json`).catch(() => null);
  if (missing(t, 'the demo study (www/demo/index.json, generated by cargo xtask)', index?.ok)) return;
  if (missing(t, 'the lucent CLI', cliPath() && existsSync(cliPath()))) return;
  const demoDir = join(REPO, 'www/demo');
  const started = Date.now();

  await withBrowser(t, async ({ page, consoleErrors }) => {
    await openApp(page);
    await waitForEvent(page, 'lucent:loaded');

    // The Dental button of the page's toolbar builds the volume and shows axial, panoramic and sections.
    let since = await mark(page);
    await page.click('[data-layout="pano"]');
    const layout = await waitForEvent(page, 'lucent:layout', { since, match: { layout: 'pano' } });
    assert.deepEqual(layout.volume.dims, [256, 256, 256]);
    assert.deepEqual(layout.panes, ['axial', 'pano', 'sections']);
    await waitForEvent(page, 'lucent:mpr-rendered', { since, match: { pane: 'axial' } });
    assert.match(await page.locator('lucent-viewer .lv-pane-pano .lv-pano-hint').innerText(), /Draw the dental arch/);

    // The axial pane at the mandible's mid-height, window so that tooth, bone and soft tissue differ.
    await viewerCall(page, ([z, w]) => {
      const v = document.querySelector('lucent-viewer');
      v.setWindow(w.center, w.width);
      return v.mpr.setPoint([0, -30, z]);
    }, [ARCH_Z, WINDOW]);

    // Draw the arch: 7 clicks along the jaw with the Arch tool.
    await page.click('lucent-viewer .lv-pano-panel [data-pano-tool="arch"]');
    assert.equal(await viewerCall(page, () => document.querySelector('lucent-viewer').tool), 'arch');
    since = await mark(page);
    for (let k = 0; k <= 6; k++) {
      const [x, y] = await axialPoint(page, archPoint(-1 + k / 3, ARCH_Z));
      await page.mouse.click(x, y);
    }
    await waitForEvent(page, 'lucent:pano-rendered', { since, match: { pane: 'pano' } });
    await waitForEvent(page, 'lucent:pano-rendered', { since, match: { pane: 'sections' } });
    await viewerCall(page, () => document.querySelector('lucent-viewer').pano.setSlab(0, 'avg'));
    await settle(page);
    const arch = await viewerCall(page, () => document.querySelector('lucent-viewer').pano.state().arch);
    assert.equal(arch.points.length, 7);
    assert.ok(arch.points[0][0] < arch.points[6][0], 'the arch runs from the patient\'s right to the left');
    const length = await viewerCall(page, () => document.querySelector('lucent-viewer').pano.curve.length_mm);
    t.diagnostic(`arch length ${length.toFixed(3)} mm, analytic ${ARCH_LENGTH.toFixed(3)} mm`);
    assert.ok(Math.abs(length - ARCH_LENGTH) <= 0.005 * ARCH_LENGTH, `arch length ${length} mm vs ${ARCH_LENGTH}`);

    // The thin panoramic: tooth 5 is a bright column standing on the mandible, at its analytic arc position.
    let view = await viewerCall(page, () => document.querySelector('lucent-viewer').pano.view());
    let pano = await canvasPixels(page, '.lv-pane-pano canvas');
    assert.equal(pano.width, view.width);
    const px = (img, u, v) => img.rgba[(Math.floor(v) * img.width + Math.floor(u)) * 4];
    const colOf = (s) => view.width / 2 + (s - view.center_s) / view.pixel_mm;
    const rowOf = (h) => view.height / 2 - (h - view.center_h) / view.pixel_mm;
    const sOf = (col) => view.center_s + (col + 0.5 - view.width / 2) * view.pixel_mm;
    const toothS = arcS(TOOTH.t);
    const col = Math.floor(colOf(toothS));
    assert.equal(px(pano, col, rowOf(10)), 255, 'tooth 5 shows on the panoramic');
    // down the column: crown top (tooth | soft tissue) and root apex (tooth | bone); v grows downwards
    const [vTop, vBottom] = brightRun((row) => px(pano, col, row), Math.floor(rowOf(10)), [TOOTH_SOFT, TOOTH_BONE]);
    const hAtV = (v) => view.center_h - (v - view.height / 2) * view.pixel_mm;
    const tooth = { top: hAtV(vTop), bottom: hAtV(vBottom) };
    t.diagnostic(`tooth 5 from h ${tooth.bottom.toFixed(2)} to ${tooth.top.toFixed(2)} mm`);
    assert.ok(Math.abs(tooth.top - (TOOTH.zMax - ARCH_Z)) <= VOXEL_MM, `tooth top at h ${tooth.top}`);
    assert.ok(Math.abs(tooth.bottom - (TOOTH.zMin - ARCH_Z)) <= VOXEL_MM, `tooth bottom at h ${tooth.bottom}`);
    assert.ok(tooth.top > 10, 'the crown stands above the mandible (h 10)');
    const bone = px(pano, col, rowOf(-2));
    assert.ok(bone > 120 && bone < 170, `mandible (1200 HU) below the tooth: ${bone}`);
    assert.ok(px(pano, col, rowOf(25)) < 80, 'soft tissue above the crown');
    assert.ok(px(pano, colOf(ARCH_LENGTH / 2), rowOf(15)) < 80, 'the gap between the central teeth');
    assert.ok(px(pano, colOf(ARCH_LENGTH / 2), rowOf(5)) > 120, 'bone between the central teeth');
    // along the row at h = 15 (crown, above the bone): the tooth's arc-length extent
    const row15 = Math.floor(rowOf(15));
    const [u0, u1] = brightRun((c) => px(pano, c, row15), col, [TOOTH_SOFT, TOOTH_SOFT]);
    const [sIn, sOut] = toothInterval(TOOTH);
    const seen = [sOf(u0 - 0.5), sOf(u1 - 0.5)];
    t.diagnostic(`tooth 5 from s ${seen[0].toFixed(2)} to ${seen[1].toFixed(2)} mm, analytic ${sIn.toFixed(2)}..${sOut.toFixed(2)}`);
    assert.ok(Math.abs((seen[0] + seen[1]) / 2 - (sIn + sOut) / 2) <= 0.5, 'tooth 5 at its arc position');

    // A distance on the panoramic across the crown, between the tooth's edges found in the image: true mm.
    await page.click('lucent-viewer .lv-pano-panel [data-pano-tool="distance"]');
    since = await mark(page);
    await drag(page, await cssOf(page, '.lv-pane-pano canvas', [u0, row15 + 0.5]),
      await cssOf(page, '.lv-pane-pano canvas', [u1, row15 + 0.5]));
    let measured = await waitForEvent(page, 'lucent:measurement', { since });
    let m = measured.measurements.at(-1);
    assert.equal(m.pane, 'pano');
    assert.equal(m.kind, 'distance');
    t.diagnostic(`panoramic distance ${m.result.distance_mm.toFixed(3)} mm, analytic ${(sOut - sIn).toFixed(3)} mm`);
    assert.ok(Math.abs(m.result.distance_mm - (sOut - sIn)) <= 0.5, `crown width ${m.result.distance_mm} mm`);

    // Nerve canal: five clicks on the panoramic at the canal's analytic height over the arch.
    await page.click('lucent-viewer .lv-pano-panel [data-pano-tool="canal"]');
    const canalT = [-0.8, -0.4, 0, 0.4, 0.8];
    for (const ct of canalT) {
      const [x, y] = await panoPoint(page, arcS(ct), canalZ(ct) - ARCH_Z);
      await page.mouse.click(x, y);
    }
    await page.waitForFunction(() => document.querySelector('lucent-viewer').pano.canalList[0].points.length === 5);
    const canal = (await viewerCall(page, () => document.querySelector('lucent-viewer').pano.canalList))[0];
    canal.points.forEach((p, k) => {
      const [ax, ay] = archPoint(canalT[k], 0);
      assert.ok(Math.abs(p[2] - canalZ(canalT[k])) <= 1, `canal point ${k} at z ${p[2]}, analytic ${canalZ(canalT[k])}`);
      assert.ok(Math.hypot(p[0] - ax, p[1] - ay) <= 1, `canal point ${k} on the arch: ${p}`);
    });
    assert.equal(canal.diameter_mm, 3);
    // the tube's outline on the panoramic: canal-coloured overlay at h ± 1.5 mm over the midline
    const overlay = await canvasPixels(page, '.lv-pane-pano .lv-pane-overlay');
    const isCanal = (img, u, v) => {
      const i = (Math.floor(v) * img.width + Math.floor(u)) * 4;
      return img.rgba[i + 3] > 100 && img.rgba[i] > 200 && img.rgba[i + 1] < 140;
    };
    const near = (img, u, v, r = 2) => {
      for (let dv = -r; dv <= r; dv++) for (let du = -r; du <= r; du++) if (isCanal(img, u + du, v + dv)) return true;
      return false;
    };
    const hMid = canalZ(0) - ARCH_Z;
    const uMid = colOf(arcS(0.2));
    const hAt = canal.pano[2][1] + (canal.pano[3][1] - canal.pano[2][1]) * ((arcS(0.2) - canal.pano[2][0]) / (canal.pano[3][0] - canal.pano[2][0]));
    assert.ok(near(overlay, uMid, rowOf(hAt + 1.5)) && near(overlay, uMid, rowOf(hAt - 1.5)), 'tube outline on the panoramic');
    assert.ok(!near(overlay, uMid, rowOf(hMid + 6)), 'nothing canal-coloured far from the tube');

    // Cross-sections through a traced point: the canal's circle in the middle tile.
    await viewerCall(page, (s) => document.querySelector('lucent-viewer').pano.setSections({ at_mm: s }), canal.pano[3][0]);
    await settle(page);
    const params = await viewerCall(page, () => document.querySelector('lucent-viewer').pano.sectionParams());
    const mid = (params.count - 1) / 2;
    const centre = await viewerCall(page, ([i, p]) => document.querySelector('lucent-viewer').pano.sectionToCanvas(i, p), [mid, canal.points[3]]);
    const secOverlay = await canvasPixels(page, '.lv-pane-sections .lv-pane-overlay');
    const r = 1.5 / params.pixel_mm;
    let ring = 0;
    for (let k = 0; k < 8; k++) {
      if (near(secOverlay, centre[0] + r * Math.cos((k * Math.PI) / 4), centre[1] + r * Math.sin((k * Math.PI) / 4), 1)) ring++;
    }
    assert.ok(ring >= 6, `the canal's circle on the cross-section (${ring}/8 points of the ring)`);

    // A cross-section through tooth 5's axis: the tooth stands upright in the middle tile; its height in mm.
    await viewerCall(page, (s) => document.querySelector('lucent-viewer').pano.setSections({ at_mm: s }), toothS);
    await settle(page);
    const sp = await viewerCall(page, () => document.querySelector('lucent-viewer').pano.sectionParams());
    const sections = await canvasPixels(page, '.lv-pane-sections canvas');
    const x0 = Math.max(0, Math.floor((sections.width - sp.count * sp.tile_width) / 2));
    const tileCol = Math.floor(x0 + mid * sp.tile_width + sp.tile_width / 2);
    // tile row v is at height center_h - (v - tile_height/2) * pixel_mm
    const secRow = (h) => Math.floor(sp.tile_height / 2 - (h - sp.center_h) / sp.pixel_mm);
    assert.equal(px(sections, tileCol, secRow(10)), 255, 'the tooth in the middle cross-section');
    const [r0, r1] = brightRun((row) => px(sections, tileCol, row), secRow(10), [TOOTH_SOFT, TOOTH_BONE]);
    // upright and as wide as the cylinder, centred where the section crosses the arch
    const [w0, w1] = brightRun((c) => px(sections, c, secRow(15)), tileCol, [TOOTH_SOFT, TOOTH_SOFT]);
    const widthMm = (w1 - w0) * sp.pixel_mm;
    assert.ok(Math.abs(widthMm - 2 * TOOTH.radius) <= VOXEL_MM, `tooth width on the section ${widthMm} mm`);
    assert.ok(Math.abs((w0 + w1) / 2 - (x0 + mid * sp.tile_width + sp.tile_width / 2)) * sp.pixel_mm <= 0.5, 'centred on the arch');
    since = await mark(page);
    await page.click('lucent-viewer .lv-pano-panel [data-pano-tool="distance"]');
    await drag(page, await cssOf(page, '.lv-pane-sections canvas', [tileCol + 0.5, r0]),
      await cssOf(page, '.lv-pane-sections canvas', [tileCol + 0.5, r1]));
    measured = await waitForEvent(page, 'lucent:measurement', { since });
    m = measured.measurements.at(-1);
    assert.equal(m.pane, 'sections');
    t.diagnostic(`cross-section distance ${m.result.distance_mm.toFixed(3)} mm, tooth height ${TOOTH.zMax - TOOTH.zMin} mm`);
    assert.ok(Math.abs(m.result.distance_mm - (TOOTH.zMax - TOOTH.zMin)) <= 0.5, `tooth height ${m.result.distance_mm} mm`);
    const list = await page.locator('lucent-viewer .lv-pano-panel .lv-pano-list').nth(1).innerText();
    assert.match(list, /Pano · \d+\.\d\d mm/);
    assert.match(list, /Section · \d+\.\d\d mm/);

    // Distance from a point to the canal: Shift+click with the Distance tool, 4 mm above the canal at the midline.
    since = await mark(page);
    const [px0, py0] = await panoPoint(page, arcS(0), hMid + 4);
    await page.keyboard.down('Shift');
    await page.mouse.click(px0, py0);
    await page.keyboard.up('Shift');
    measured = await waitForEvent(page, 'lucent:measurement', { since });
    m = measured.measurements.at(-1);
    assert.equal(m.kind, 'canal-distance');
    assert.ok(Math.abs(m.result.distance_mm - 4) <= 0.3, `distance to the canal ${m.result.distance_mm} mm`);

    // What the panes show equals the CLI with the saved session as --arch (slabbed panoramic, slabbed sections).
    await viewerCall(page, () => {
      const p = document.querySelector('lucent-viewer').pano;
      p.setSlab(10, 'avg');
      p.setShift(1.5);
      return p.setSections({ slab_mm: 2, spacing_mm: 2 });
    });
    await settle(page);
    view = await viewerCall(page, () => document.querySelector('lucent-viewer').pano.view());
    const sec = await viewerCall(page, () => document.querySelector('lucent-viewer').pano.sectionParams());
    const saved = await viewerCall(page, () => document.querySelector('lucent-viewer').pano.state());
    assert.equal(saved.lucent, 'dental');
    assert.equal(saved.series_uid, (await viewerCall(page, () => document.querySelector('lucent-viewer').seriesList[0].uid)));
    const shotPano = await screenshotPixels(page, 'pano');
    const shotSections = await screenshotPixels(page, 'sections');
    assert.equal(shotPano.type, 'image/png');
    assert.deepEqual([shotPano.width, shotPano.height], [view.width, view.height]);
    assert.deepEqual([shotSections.width, shotSections.height], [sec.count * sec.tile_width, sec.tile_height]);
    const dir = await mkdtemp(join(tmpdir(), 'lucent-pano-'));
    try {
      const archFile = join(dir, 'dental.json');
      await writeFile(archFile, JSON.stringify(saved));
      const win = `${WINDOW.center},${WINDOW.width}`;
      await runCli('pano', demoDir, '--arch', archFile, '--center-s', String(view.center_s), '--center-h', String(view.center_h),
        '--size', `${view.width}x${view.height}`, '--pixel-mm', String(view.pixel_mm), '--shift', String(view.shift_mm),
        '--slab', String(view.slab_mm), '--mode', view.mode, '--window', win, '--out', join(dir, 'pano.rgba'));
      assertSameBytes(shotPano.rgba, await readFile(join(dir, 'pano.rgba')), 'the panoramic');
      await runCli('sections', demoDir, '--arch', archFile, '--at', String(sec.at_mm), '--spacing', String(sec.spacing_mm),
        '--count', String(sec.count), '--tile', `${sec.tile_width}x${sec.tile_height}`, '--pixel-mm', String(sec.pixel_mm),
        '--center-h', String(sec.center_h), '--shift', String(sec.shift_mm), '--slab', String(sec.slab_mm), '--mode', sec.mode,
        '--window', win, '--out', join(dir, 'sections.rgba'));
      assertSameBytes(shotSections.rgba, await readFile(join(dir, 'sections.rgba')), 'the cross-sections');

      // Export and session files: the PNG buttons and Save download; Load restores the session.
      const downloaded = async (label, index) => {
        const [download] = await Promise.all([page.waitForEvent('download'),
          page.locator(`lucent-viewer .lv-pano-panel button:text-is("${label}")`).nth(index).click()]);
        const file = join(dir, download.suggestedFilename());
        await download.saveAs(file);
        return file;
      };
      const panoPng = await readFile(await downloaded('PNG', 0));
      assert.equal(panoPng.subarray(1, 4).toString(), 'PNG');
      const sectionsPng = await readFile(await downloaded('PNG', 1));
      assert.equal(sectionsPng.subarray(1, 4).toString(), 'PNG');
      const sessionFile = await downloaded('Save', 0);
      const session = JSON.parse(await readFile(sessionFile, 'utf8'));
      assert.deepEqual(session.arch, saved.arch);
      assert.equal(session.canals[0].points.length, 5);
      assert.equal(session.measurements.length, 3);
      await viewerCall(page, () => document.querySelector('lucent-viewer').pano.setArch([]));
      await page.setInputFiles('lucent-viewer .lv-pano-file', sessionFile);
      await page.waitForFunction(() => document.querySelector('lucent-viewer').pano.state().arch.points.length === 7);
      await settle(page);
      const back = await viewerCall(page, () => document.querySelector('lucent-viewer').pano.state());
      assert.deepEqual(back.arch, saved.arch);
      assert.deepEqual(back.canals, saved.canals);
      assert.equal(back.shift_mm, 1.5);
      assertSameBytes((await screenshotPixels(page, 'pano')).rgba, await readFile(join(dir, 'pano.rgba')), 'the reloaded panoramic');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }

    // A picture of the whole page for a human to look at.
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'pano-dental.png') });

    // Back to the stack, then MPR: the axial pane went back to the MPR grid.
    await page.click('[data-layout="mpr"]');
    await page.waitForFunction(() => document.querySelector('lucent-viewer').layout === 'mpr');
    assert.equal(await page.evaluate(() => Boolean(window.__lucent.query('.lv-mpr .lv-pane-axial'))), true);
    await page.click('[data-layout="stack"]');
    assert.deepEqual(await page.evaluate(() => window.__lucent.violations), [], 'CSP violations');
    assert.deepEqual(consoleErrors, [], 'console errors');
  });
  t.diagnostic(`runtime ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

test('Dental editing: arch points added at the ends, inserted, dragged, deleted; panoramic navigation; canal on a section', async (t) => {
  const index = await fetch(`${await baseUrl()}demo/index.json`).catch(() => null);
  if (missing(t, 'the demo study (www/demo/index.json, generated by cargo xtask)', index?.ok)) return;
  await withBrowser(t, async ({ page, consoleErrors }) => {
    await openApp(page);
    await waitForEvent(page, 'lucent:loaded');
    const points = () => viewerCall(page, () => document.querySelector('lucent-viewer').pano.state().arch.points);

    // The element's own toolbar (attribute tools) has the Dental layout and its tools.
    await page.evaluate(() => document.querySelector('lucent-viewer').setAttribute('tools', 'window mpr pano arch canal'));
    let since = await mark(page);
    await page.click('lucent-viewer .lv-toolbar [data-tool="pano"]');
    await waitForEvent(page, 'lucent:layout', { since, match: { layout: 'pano' } });
    await page.click('lucent-viewer .lv-toolbar [data-tool="arch"]');
    assert.equal(await viewerCall(page, () => document.querySelector('lucent-viewer').tool), 'arch');
    await viewerCall(page, (z) => document.querySelector('lucent-viewer').mpr.setPoint([0, -30, z]), ARCH_Z);

    // Clicks in any order: each new point goes to the nearer end; the list runs from the patient's right.
    for (const ct of [0, 1, -1]) {
      const [x, y] = await axialPoint(page, archPoint(ct, ARCH_Z));
      await page.mouse.click(x, y);
    }
    await settle(page);
    let p = await points();
    assert.deepEqual(p.map((q) => Math.round(q[0])), [-30, 0, 30]);
    // A click on the curve inserts a point into it.
    const onCurve = await viewerCall(page, () => {
      const c = document.querySelector('lucent-viewer').pano.curve;
      const q = c.samples[Math.floor(c.samples.length / 4)];
      return [q[1], q[2], q[3]];
    });
    let [x, y] = await axialPoint(page, onCurve);
    await page.mouse.click(x, y);
    await settle(page);
    p = await points();
    assert.equal(p.length, 4);
    assert.ok(Math.abs(p[1][0] - onCurve[0]) < 0.5, `inserted between the right end and the middle: ${p[1]}`);
    // Drag it onto the true arch.
    const target = archPoint(-0.5, ARCH_Z);
    await drag(page, [x, y], await axialPoint(page, target));
    await settle(page);
    p = await points();
    assert.ok(Math.hypot(p[1][0] - target[0], p[1][1] - target[1]) < 0.5, `dragged to ${p[1]}`);
    // Alt+click deletes a point; so does Delete on the selected one.
    [x, y] = await axialPoint(page, target);
    await page.keyboard.down('Alt');
    await page.mouse.click(x, y);
    await page.keyboard.up('Alt');
    assert.equal((await points()).length, 3);
    [x, y] = await axialPoint(page, archPoint(0, ARCH_Z));
    await page.mouse.click(x, y);
    await page.keyboard.press('Delete');
    assert.equal((await points()).length, 2);
    await viewerCall(page, (pts) => document.querySelector('lucent-viewer').pano.setArch(pts),
      [-1, -0.5, 0, 0.5, 1].map((ct) => archPoint(ct, ARCH_Z)));
    await settle(page);

    // Panoramic: a click (Navigate tool) moves the cross-sections there, the wheel steps them by their spacing.
    await page.click('lucent-viewer .lv-pano-panel [data-pano-tool="window"]');
    [x, y] = await panoPoint(page, 30, 0);
    await page.mouse.click(x, y);
    const at = await viewerCall(page, () => document.querySelector('lucent-viewer').pano.sectionParams().at_mm);
    assert.ok(Math.abs(at - 30) < 0.2, `sections at ${at}`);
    await page.mouse.wheel(0, 100);
    assert.ok(Math.abs(await viewerCall(page, () => document.querySelector('lucent-viewer').pano.sectionParams().at_mm) - at - 1) < 1e-9);
    // Right drag = window/level, shared with the axial pane and the sections.
    const w0 = await viewerCall(page, () => document.querySelector('lucent-viewer').mpr.window);
    await page.mouse.move(x, y);
    await page.mouse.down({ button: 'right' });
    await page.mouse.move(x + 40, y + 20, { steps: 4 });
    await page.mouse.up({ button: 'right' });
    const [pano, sections] = await settle(page);
    assert.ok(pano.window.width > w0.width && pano.window.center > w0.center, `window ${JSON.stringify(pano.window)}`);
    assert.deepEqual(sections.window, pano.window);
    assert.deepEqual(await viewerCall(page, () => document.querySelector('lucent-viewer').mpr.windowOf('axial')), pano.window);
    // Middle drag pans, Ctrl+wheel zooms at the cursor (the point under it stays).
    const v0 = await viewerCall(page, () => document.querySelector('lucent-viewer').pano.view());
    await page.mouse.move(x, y);
    await page.mouse.down({ button: 'middle' });
    await page.mouse.move(x + 50, y, { steps: 4 });
    await page.mouse.up({ button: 'middle' });
    const v1 = await viewerCall(page, () => document.querySelector('lucent-viewer').pano.view());
    assert.ok(Math.abs(v0.center_s - v1.center_s - 50 * v0.pixel_mm) < 1e-6, 'panned by 50 px');
    await page.keyboard.down('Control');
    await page.mouse.wheel(0, -200);
    await page.keyboard.up('Control');
    const v2 = await viewerCall(page, () => document.querySelector('lucent-viewer').pano.view());
    assert.ok(v2.pixel_mm < v1.pixel_mm, 'zoomed in');
    // Double-click maximises the panoramic over the whole layout (re-rendered at its new size) and restores it.
    const size = () => page.evaluate(() => {
      const c = window.__lucent.query('.lv-pane-pano canvas');
      return [c.width, c.height, c.checkVisibility()];
    });
    const before = await size();
    const widthIs = (test, w) => page.waitForFunction(([test, w]) => {
      const c = window.__lucent.query('.lv-pane-pano canvas').width;
      return test === 'above' ? c > w : c === w;
    }, [test, w]);
    await page.mouse.dblclick(x, y);
    assert.equal(await viewerCall(page, () => document.querySelector('lucent-viewer').pano.maximized), 'pano');
    await widthIs('above', before[0] * 1.3);
    await settle(page);
    const big = await size();
    assert.ok(big[0] > before[0] * 1.3 && big[1] > before[1] * 1.5, `maximised ${before} -> ${big}`);
    assert.equal(await viewerCall(page, () => document.querySelector('lucent-viewer').pano.view().width), big[0]);
    assert.equal(await page.evaluate(() => window.__lucent.query('.lv-pane-sections').checkVisibility()), false);
    await page.mouse.dblclick(x, y);
    await widthIs('equal', before[0]);
    await settle(page);
    assert.deepEqual(await size(), before, 'restored');

    // Canal tool on a cross-section: the point under the cursor on that tile's plane.
    await page.click('lucent-viewer .lv-toolbar [data-tool="canal"]');
    await settle(page);
    const planes = await viewerCall(page, () => document.querySelector('lucent-viewer').pano.sectionPlanes);
    const mid = (planes.length - 1) / 2;
    const want = [planes[mid].center[0], planes[mid].center[1], -45];
    const c = await viewerCall(page, ([i, q]) => document.querySelector('lucent-viewer').pano.sectionToCanvas(i, q), [mid, want]);
    [x, y] = await cssOf(page, '.lv-pane-sections canvas', c);
    await page.mouse.click(x, y);
    await page.waitForFunction(() => document.querySelector('lucent-viewer').pano.canalList[0].points.length === 1);
    const got = (await viewerCall(page, () => document.querySelector('lucent-viewer').pano.canalList))[0].points[0];
    assert.ok(Math.hypot(...got.map((v, k) => v - want[k])) < 0.3, `canal point ${got} for ${want}`);

    // Through MPR and back: the axial pane returns to the MPR grid, the dental session stays.
    since = await mark(page);
    await page.click('lucent-viewer .lv-toolbar [data-tool="mpr"]');
    await waitForEvent(page, 'lucent:mpr-rendered', { since, match: { pane: 'coronal' } });
    assert.ok(await page.evaluate(() => Boolean(window.__lucent.query('.lv-mpr > .lv-pane-axial'))));
    since = await mark(page);
    await page.click('lucent-viewer .lv-toolbar [data-tool="pano"]');
    await waitForEvent(page, 'lucent:pano-rendered', { since, match: { pane: 'pano' } });
    assert.equal((await points()).length, 5);
    assert.deepEqual(consoleErrors, [], 'console errors');
  });
});
