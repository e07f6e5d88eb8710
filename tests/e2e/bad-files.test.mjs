// A folder mixing good slices (nested, one without extension) with garbage, a truncated DICOM, a PDF and a
// text file: the good images show, every bad file is named with a reason, in the event and on screen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { corpusDir, imagePixels, missing, openApp, openFolder, withBrowser } from './helpers.mjs';

const GE = corpusDir('dcm_qa_ct/In/GE');

// Deterministic "random" bytes (xorshift32), so failures reproduce.
function garbage(n, seed = 0x2545f491) {
  const out = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

test('bad files are reported by name and reason, good ones still display', async (t) => {
  if (missing(t, `corpus folder ${GE}`, existsSync(GE))) return;
  const root = await mkdtemp(join(tmpdir(), 'lucent-bad-'));
  const study = join(root, 'study');
  mkdirSync(join(study, 'sub', 'deeper'), { recursive: true });
  copyFileSync(join(GE, '10.dcm'), join(study, '10.dcm'));
  copyFileSync(join(GE, '11.dcm'), join(study, 'sub', '11.dcm'));
  copyFileSync(join(GE, '12.dcm'), join(study, 'sub', 'deeper', 'IM000012'));   // no extension
  const bad = {
    'garbage.bin': garbage(4096),
    'truncated.dcm': readFileSync(join(GE, '13.dcm')).subarray(0, 1000),
    'report.pdf': Buffer.from('%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n'),
    'README.txt': Buffer.from('Scanned on Tuesday. Nothing to see here.\n'),
    'empty': Buffer.alloc(0),
  };
  writeFileSync(join(study, 'garbage.bin'), bad['garbage.bin']);
  writeFileSync(join(study, 'sub', 'truncated.dcm'), bad['truncated.dcm']);
  writeFileSync(join(study, 'report.pdf'), bad['report.pdf']);
  writeFileSync(join(study, 'sub', 'deeper', 'README.txt'), bad['README.txt']);
  writeFileSync(join(study, 'empty'), bad.empty);

  try {
    await withBrowser(t, async ({ page }) => {
      await openApp(page, { demo: false });
      const loaded = await openFolder(page, study);
      assert.equal(loaded.files, 8);
      assert.equal(loaded.series.length, 1);
      assert.equal(loaded.series[0].slices, 3, 'the three good slices (one nested two deep, one without extension)');

      for (const name of Object.keys(bad)) {
        const hits = loaded.errors.filter((e) => e.file.split('/').pop() === name);
        assert.equal(hits.length, 1, `${name} listed once in errors: ${JSON.stringify(loaded.errors)}`);
        assert.match(hits[0].code, /^[a-z0-9]+(-[a-z0-9]+)*$/, `${name}: kebab-case code`);
        assert.ok(hits[0].reason.length > 10, `${name}: a reason sentence`);
      }
      assert.equal(loaded.errors.length, Object.keys(bad).length, JSON.stringify(loaded.errors));

      // The problems panel lists each bad file with its reason.
      const panel = page.locator('#problems');
      assert.ok(await panel.isVisible(), 'problems panel visible');
      const text = await panel.innerText();
      for (const name of Object.keys(bad)) assert.ok(text.includes(name), `problems panel names ${name}`);
      for (const e of loaded.errors) assert.ok(text.includes(e.reason), `problems panel shows the reason for ${e.file}`);
      assert.equal(await page.locator('#problems-count').innerText(), String(Object.keys(bad).length));

      // And the good images are on screen.
      const { rgba } = await imagePixels(page);
      assert.ok(rgba.some((v, i) => i % 4 === 0 && v > 0), 'an image is drawn');
    });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
