// Compressed and colour files through the whole browser path (file input -> worker -> wasm decode ->
// canvas): at 1:1 the canvas must equal `lucent render` of the same frame with the same window, byte for
// byte. The decoders' correctness itself is proven against independent decoders by the corpus tests;
// this proves the browser shows exactly that.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath, corpusDir, imagePixels, missing, openApp, openFiles, runCli, withBrowser } from './helpers.mjs';

const CASES = [
  ['JPEG-LS lossless, 16-bit CT', 'dicom-test-files/data/WG04/JLSL/CT1_JLSL'],
  ['JPEG-LS near-lossless, RGB sample-interleaved', 'pydicom/src/pydicom/data/test_files/SC_rgb_jls_lossy_sample.dcm'],
  ['JPEG-LS, palette colour, multi-frame', 'dcm4che/dcm4che-test-data/src/main/resources/jpeg-ls-Palette.dcm'],
  ['palette colour, no file meta', 'dcm4che/dcm4che-test-data/src/main/resources/OT-PAL-8-face'],
  ['RLE, RGB', 'pydicom/src/pydicom/data/test_files/SC_rgb_rle.dcm'],
  ['JPEG lossless SV1, RGB', 'pydicom/src/pydicom/data/test_files/SC_rgb_jpeg_gdcm.dcm'],
  ['JPEG 2000 reversible, YBR_RCT colour', 'dicom-test-files/data/WG04/J2KR/US1_J2KR'],
  ['JPEG 2000 irreversible, CT', 'dicom-test-files/data/WG04/J2KI/CT1_J2KI'],
  ['JPEG extended 12-bit lossy, MR', 'dicom-test-files/data/WG04/JPLY/MR1_JPLY'],
  ['HTJ2K lossless, RGB', 'pydicom-data/data_store/data/HTJ2KLossless_08_RGB.dcm'],
  ['HTJ2K lossy, RGB', 'pydicom-data/data_store/data/HTJ2K_08_RGB.dcm'],
];

const viewer = (page, method, ...args) =>
  page.evaluate(([m, a]) => document.querySelector('lucent-viewer')[m](...a), [method, args]);

test('compressed and colour files display exactly as lucent render', async (t) => {
  const cli = cliPath();
  if (missing(t, 'the lucent CLI ($LUCENT_CLI)', Boolean(cli && existsSync(cli)))) return;
  if (missing(t, 'the corpus', existsSync(corpusDir(CASES[0][1])))) return;
  const tmp = await mkdtemp(join(tmpdir(), 'lucent-codecs-'));
  try {
    await withBrowser(t, async ({ page }) => {
      await openApp(page, { demo: false });
      for (const [what, rel] of CASES) {
        const file = corpusDir(rel);
        const loaded = await openFiles(page, [file]);
        assert.deepEqual(loaded.errors, [], `${what}: ${JSON.stringify(loaded.errors)}`);
        await viewer(page, 'setSlice', 0);
        await viewer(page, 'setZoom', 1);
        const { center, width } = await page.evaluate(() => document.querySelector('lucent-viewer').window);
        const rendered = await viewer(page, 'setWindow', center, width);
        const shot = await imagePixels(page);
        assert.equal(shot.rect.width, rendered.width_px, `${what}: whole image visible at 1:1`);
        assert.equal(shot.rect.height, rendered.height_px, `${what}: whole image visible at 1:1`);
        const out = join(tmp, 'frame.rgba');
        await runCli('render', file, '--frame', '0', '--window', `${center},${width}`, '--out', out);
        const expected = readFileSync(out);
        assert.equal(shot.rgba.length, expected.length, `${what}: size`);
        let differing = 0;
        for (let i = 0; i < expected.length; i++) if (expected[i] !== shot.rgba[i]) differing++;
        assert.equal(differing, 0, `${what} (${rel}): canvas differs from 'lucent render' in ${differing} bytes`);
        // Not a blank: even the colour-bar test images have about ten distinct colours.
        const distinct = new Set();
        for (let i = 0; i < expected.length; i += 4) distinct.add((expected[i] << 16) | (expected[i + 1] << 8) | expected[i + 2]);
        assert.ok(distinct.size >= 6, `${what}: only ${distinct.size} distinct colours`);
      }
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});
