// Dropping files on the page loads them (a synthetic DragEvent: headless Chromium cannot drag from the OS,
// so folder recursion through webkitGetAsEntry is exercised by hand; this covers the page's drop path).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { corpusDir, mark, missing, openApp, waitForEvent, withBrowser } from './helpers.mjs';

const GE = corpusDir('dcm_qa_ct/In/GE');

test('dropping files on the page replaces the study', async (t) => {
  if (missing(t, `corpus folder ${GE}`, existsSync(GE))) return;
  const files = ['20.dcm', '21.dcm'].map((name) => ({ name, b64: readFileSync(join(GE, name)).toString('base64') }));
  files.push({ name: 'notes.txt', b64: Buffer.from('not an image\n').toString('base64') });

  await withBrowser(t, async ({ page }) => {
    await openApp(page, { demo: false });
    for (const target of ['document', 'viewer']) {
      const since = await mark(page);
      await page.evaluate(([files, target]) => {
        const dt = new DataTransfer();
        for (const f of files) {
          const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
          dt.items.add(new File([bytes], f.name));
        }
        const where = target === 'viewer' ? window.__lucent.query('.lv-viewport') : document.body;
        // composed, as the browser's own drag events are: they cross the viewer's shadow root to the page.
        const init = { dataTransfer: dt, bubbles: true, cancelable: true, composed: true };
        where.dispatchEvent(new DragEvent('dragover', init));
        where.dispatchEvent(new DragEvent('drop', init));
      }, [files, target]);
      const loaded = await waitForEvent(page, 'lucent:loaded', { since });
      assert.equal(loaded.files, 3, target);
      assert.equal(loaded.series[0]?.slices, 2, target);
      assert.deepEqual(loaded.errors.map((e) => e.file), ['notes.txt'], target);
      assert.equal(await page.locator('#drop-overlay').isVisible(), false, 'drop overlay hidden after the drop');
    }
  });
});
