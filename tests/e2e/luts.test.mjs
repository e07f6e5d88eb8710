// Lookup tables through the whole browser path (file input -> worker -> wasm -> canvas): a VOI LUT shown by
// default (no window in the file) and named in the overlay by its LUT Explanation, a Modality LUT, and a
// segmented palette. At 1:1 the canvas must equal `lucent render` of the same file with the same VOI, byte
// for byte; tests/tests/luts.rs proves that equals pydicom's apply_voi_lut / apply_modality_lut /
// apply_color_lut. The files are written here, byte by byte (explicit VR little endian).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath, imagePixels, missing, openApp, openFiles, runCli, withBrowser } from './helpers.mjs';

const LONG = new Set(['OB', 'OW', 'SQ', 'UN', 'UT']);

function element(group, elem, vr, value) {
  let v = Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'latin1');
  if (v.length % 2) v = Buffer.concat([v, Buffer.from([vr === 'UI' || Buffer.isBuffer(value) ? 0 : 0x20])]);
  const head = Buffer.alloc(LONG.has(vr) ? 12 : 8);
  head.writeUInt16LE(group, 0);
  head.writeUInt16LE(elem, 2);
  head.write(vr, 4, 'latin1');
  if (LONG.has(vr)) head.writeUInt32LE(v.length, 8);
  else head.writeUInt16LE(v.length, 6);
  return Buffer.concat([head, v]);
}

const words = (a) => {
  const b = Buffer.alloc(a.length * 2);
  a.forEach((x, i) => b.writeUInt16LE(x & 0xffff, i * 2));
  return b;
};

function item(elements) {
  const body = Buffer.concat(elements);
  const head = Buffer.alloc(8);
  head.writeUInt16LE(0xfffe, 0);
  head.writeUInt16LE(0xe000, 2);
  head.writeUInt32LE(body.length, 4);
  return Buffer.concat([head, body]);
}

/** A Part 10 file of a rows x cols 16-bit unsigned image with `extra` elements (sorted here by tag). */
function dicom({ rows, cols, pixels, photometric = 'MONOCHROME2', bitsStored = 16, extra = [] }) {
  const uid = `1.2.826.0.1.3680043.10.1234.${Math.floor(Math.random() * 1e9)}`;
  const meta = Buffer.concat([
    element(0x0002, 0x0001, 'OB', Buffer.from([0, 1])),
    element(0x0002, 0x0002, 'UI', '1.2.840.10008.5.1.4.1.1.7'),
    element(0x0002, 0x0003, 'UI', uid),
    element(0x0002, 0x0010, 'UI', '1.2.840.10008.1.2.1'),
  ]);
  const us = (g, e, v) => element(g, e, 'US', words([v]));
  const elements = [
    [0x00080016, element(0x0008, 0x0016, 'UI', '1.2.840.10008.5.1.4.1.1.7')],
    [0x00080018, element(0x0008, 0x0018, 'UI', uid)],
    [0x00080060, element(0x0008, 0x0060, 'CS', 'OT')],
    [0x00100010, element(0x0010, 0x0010, 'PN', 'LUT^TEST')],
    [0x0020000d, element(0x0020, 0x000d, 'UI', `${uid}.1`)],
    [0x0020000e, element(0x0020, 0x000e, 'UI', `${uid}.2`)],
    [0x00280002, us(0x0028, 0x0002, 1)],
    [0x00280004, element(0x0028, 0x0004, 'CS', photometric)],
    [0x00280010, us(0x0028, 0x0010, rows)],
    [0x00280011, us(0x0028, 0x0011, cols)],
    [0x00280100, us(0x0028, 0x0100, 16)],
    [0x00280101, us(0x0028, 0x0101, bitsStored)],
    [0x00280102, us(0x0028, 0x0102, bitsStored - 1)],
    [0x00280103, us(0x0028, 0x0103, 0)],
    ...extra,
    [0x7fe00010, element(0x7fe0, 0x0010, 'OW', words(pixels))],
  ].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
  const group = Buffer.alloc(12);
  group.writeUInt16LE(0x0002, 0);
  group.writeUInt16LE(0x0000, 2);
  group.write('UL', 4, 'latin1');
  group.writeUInt16LE(4, 6);
  group.writeUInt32LE(meta.length, 8);
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), group, meta, ...elements]);
}

const ramp = (n) => Array.from({ length: n }, (_, i) => i);
const lutItem = (desc, data, explanation) => item([
  element(0x0028, 0x3002, 'US', words(desc)),
  ...(explanation ? [element(0x0028, 0x3003, 'LO', explanation)] : []),
  element(0x0028, 0x3006, 'OW', words(data)),
]);

const FILES = {
  // 12-bit ramp through a sigmoid VOI LUT, no window: the LUT is the default and the overlay names it
  'voi-lut.dcm': dicom({
    rows: 64, cols: 64, bitsStored: 12, pixels: ramp(4096),
    extra: [[0x00283010, element(0x0028, 0x3010, 'SQ', lutItem([4096, 0, 16],
      ramp(4096).map((i) => Math.round(65535 / (1 + Math.exp(-(i - 1500) / 300)))), 'SOFT TISSUE'))]],
  }),
  // a Modality LUT (square root) replacing the rescale, shown with the data-range window
  'modality-lut.dcm': dicom({
    rows: 64, cols: 64, bitsStored: 12, pixels: ramp(4096),
    extra: [[0x00283000, element(0x0028, 0x3000, 'SQ', lutItem([4096, 0, 16],
      ramp(4096).map((i) => Math.round(Math.sqrt(i / 4095) * 60000)), null))]],
  }),
  // a segmented palette: red ramp (linear), green discrete, blue copied by an indirect segment
  'palette.dcm': dicom({
    rows: 16, cols: 16, photometric: 'PALETTE COLOR', pixels: ramp(256),
    extra: [
      ...[0x1101, 0x1102, 0x1103].map((e) => [0x00280000 + e, element(0x0028, e, 'US', words([256, 0, 16]))]),
      [0x00281221, element(0x0028, 0x1221, 'OW', words([0, 1, 0, 1, 255, 65535]))],
      [0x00281222, element(0x0028, 0x1222, 'OW', words([0, 256, ...ramp(256).map((i) => (i * 7919) % 65536)]))],
      [0x00281223, element(0x0028, 0x1223, 'OW', words([0, 1, 40000, 1, 127, 0, 2, 2, 0, 0]))],
    ],
  }),
};

const viewer = (page, method, ...args) =>
  page.evaluate(([m, a]) => document.querySelector('lucent-viewer')[m](...a), [method, args]);
const overlay = (page) => page.evaluate(() => window.__lucent.query('.lv-br')?.textContent ?? '');

test('VOI LUTs, Modality LUTs and segmented palettes display exactly as lucent render', async (t) => {
  const cli = cliPath();
  if (missing(t, 'the lucent CLI ($LUCENT_CLI)', Boolean(cli && existsSync(cli)))) return;
  const tmp = await mkdtemp(join(tmpdir(), 'lucent-luts-'));
  try {
    for (const [name, bytes] of Object.entries(FILES)) writeFileSync(join(tmp, name), bytes);
    await withBrowser(t, async ({ page }) => {
      await openApp(page, { demo: false });
      const same = async (name, cliArgs, what) => {
        const shot = await imagePixels(page);
        const out = join(tmp, `${name}.rgba`);
        await runCli('render', join(tmp, name), ...cliArgs, '--out', out);
        const expected = readFileSync(out);
        assert.equal(shot.rgba.length, expected.length, `${what}: size`);
        let differing = 0;
        for (let i = 0; i < expected.length; i++) if (expected[i] !== shot.rgba[i]) differing++;
        assert.equal(differing, 0, `${what}: canvas differs from 'lucent render' in ${differing} bytes`);
      };

      let loaded = await openFiles(page, [join(tmp, 'voi-lut.dcm')]);
      assert.deepEqual(loaded.errors, []);
      await viewer(page, 'setZoom', 1);
      const w = await page.evaluate(() => document.querySelector('lucent-viewer').window);
      assert.equal(w.lut, 0, `the VOI LUT is the default: ${JSON.stringify(w)}`);
      assert.equal(w.label, 'SOFT TISSUE');
      assert.match(await overlay(page), /SOFT TISSUE/, 'the overlay names the VOI LUT');
      assert.doesNotMatch(await overlay(page), /W: /);
      await same('voi-lut.dcm', [], 'default VOI LUT');
      const info = await viewer(page, 'sliceInfo');
      assert.deepEqual(info.voi_luts, ['SOFT TISSUE']);
      // a window replaces it (the overlay shows W/L), setVoiLut brings it back
      let rendered = await viewer(page, 'setWindow', 2000, 1000);
      assert.equal(rendered.voi_lut, null);
      assert.match(await overlay(page), /W: 1000 L: 2000/);
      await same('voi-lut.dcm', ['--window', '2000,1000'], 'window over a VOI LUT file');
      rendered = await viewer(page, 'setVoiLut', 0);
      assert.deepEqual([rendered.voi_lut, rendered.voi_label], [0, 'SOFT TISSUE']);
      await same('voi-lut.dcm', ['--voi-lut', '0'], 'VOI LUT selected again');

      loaded = await openFiles(page, [join(tmp, 'modality-lut.dcm')]);
      assert.deepEqual(loaded.errors, []);
      await viewer(page, 'setZoom', 1);
      assert.equal((await viewer(page, 'sliceInfo')).modality_lut, 'Modality LUT');
      await same('modality-lut.dcm', [], 'Modality LUT');

      loaded = await openFiles(page, [join(tmp, 'palette.dcm')]);
      assert.deepEqual(loaded.errors, []);
      await viewer(page, 'setZoom', 1);
      await same('palette.dcm', [], 'segmented palette');
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});
