// DICOMweb against a real PACS: Orthanc with its DICOMweb plugin, started here behind a token-checking CORS proxy
// (tests/support/orthanc.mjs). The example portal (another origin, strict CSP) loads a multi-slice series and a
// multi-frame series by QIDO/WADO-RS into the element and the iframe; each shows exactly what the same files
// dropped locally show.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { baseUrl, corpusDir, filesUnder, missing, waitForEvent, withBrowser, mark } from './helpers.mjs';
import { startPortal } from './portal-server.mjs';
import { orthancAvailable, startOrthanc } from '../support/orthanc.mjs';

const GE = corpusDir('dcm_qa_ct/In/GE');
const ENHANCED_MR = corpusDir('dcm_qa_enh/In/Philips/IM_0027_fMAP.dcm');   // one file, 64 frames
const TOKEN = 'portal-session-7f3a';
// xtask test picks both ports: the viewer's CSP lets its pages fetch from the PACS port (serve --connect-origin).
const PORTAL_PORT = Number(process.env.LUCENT_PORTAL_PORT) || 0;
const PACS_PORT = Number(process.env.LUCENT_PACS_PORT) || 0;

// In the portal page: load `source` into both viewers, show the middle slice at its default window, and return
// each one's slice count and its screenshot as raw RGBA (base64).
async function loadBoth(page, source, { files = null } = {}) {
  const since = await mark(page);
  const before = await page.evaluate(() => window.portal.events.length);
  if (files) await page.setInputFiles('#files', files);
  else await page.evaluate((s) => { window.portal.component.load(s); window.portal.frame.load(s); }, source);
  await waitForEvent(page, 'lucent:loaded', { since });
  return page.evaluate(async (before) => {
    const { component, frame } = window.portal;
    const framed = await new Promise((resolve) => {
      const hit = window.portal.events.slice(before).find((e) => e.source === 'iframe' && e.name === 'loaded');
      if (hit) resolve(hit.detail);
      else frame.on('loaded', resolve);
    });
    const mid = Math.floor(component.sliceCount / 2);
    await component.goTo(mid);
    await component.resetWindow();
    await frame.goTo(mid);
    await frame.setPreset('default');   // = resetWindow(): the slice's own window
    const rgba = async (blob) => {
      const p = await window.__lucent.pixels(blob);
      return `${p.width}x${p.height}:${p.b64}`;
    };
    const element = window.portal.events.filter((e) => e.source === 'component' && e.name === 'loaded').at(-1).detail;
    return {
      element: { slices: element.slices, errors: element.errors, picture: await rgba(await component.screenshot()) },
      iframe: { slices: framed.slices, errors: framed.errors, picture: await rgba(await frame.screenshot()) },
    };
  }, before);
}

test('DICOMweb from a real Orthanc: a multi-slice and a multi-frame series show as the same files dropped locally', async (t) => {
  if (missing(t, 'Orthanc with its DICOMweb plugin (apt-get install orthanc orthanc-dicomweb)', orthancAvailable())) return;
  if (missing(t, `corpus files ${GE}, ${ENHANCED_MR}`, existsSync(GE) && existsSync(ENHANCED_MR))) return;
  if (missing(t, 'LUCENT_PORTAL_PORT and LUCENT_PACS_PORT (set by cargo xtask test; by hand: serve --embed-origin '
    + 'http://127.0.0.1:PORTAL --connect-origin http://127.0.0.1:PACS)', PORTAL_PORT > 0 && PACS_PORT > 0)) return;
  const pacs = await startOrthanc({ token: TOKEN, proxyPort: PACS_PORT });
  t.after(() => pacs.stop());
  const viewer = await baseUrl();
  const proxyOrigin = new URL(pacs.proxyUrl).origin;
  const portal = await startPortal({ port: PORTAL_PORT, viewerOrigin: new URL(viewer).origin, connect: [proxyOrigin] });
  t.after(() => portal.close());

  // Upload through Orthanc's REST API (its real ingestion path), then find the UIDs it indexed.
  const cases = [];
  for (const [name, files] of [['GE CT, 28 slices', filesUnder(GE)], ['enhanced MR, 64 frames', [ENHANCED_MR]]]) {
    const uploaded = await pacs.upload(files);
    const series = await (await fetch(`${pacs.url}/series/${uploaded[0].ParentSeries}`)).json();
    const study = await (await fetch(`${pacs.url}/studies/${series.ParentStudy}`)).json();
    const url = `${pacs.proxyUrl}/dicom-web/studies/${study.MainDicomTags.StudyInstanceUID}/series/${series.MainDicomTags.SeriesInstanceUID}`;
    cases.push({ name, files, url });
  }

  await withBrowser(t, async ({ page, consoleErrors }) => {
    await page.goto(`${portal.origin}/examples/portal.html?viewer=${encodeURIComponent(viewer)}`);
    await waitForEvent(page, 'lucent:ready');
    await page.waitForFunction(() => window.portal);
    await page.evaluate(() => window.portal.frame.ready);

    for (const { name, files, url } of cases) {
      const remote = await loadBoth(page, { dicomweb: url, token: TOKEN });
      const local = await loadBoth(page, null, { files });
      for (const who of ['element', 'iframe']) {
        assert.deepEqual(remote[who].errors, [], `${name}, ${who}: DICOMweb load errors`);
        assert.ok(remote[who].slices > 1, `${name}, ${who}: ${remote[who].slices} slices`);
        assert.equal(remote[who].slices, local[who].slices, `${name}, ${who}: slice count`);
        assert.ok(remote[who].picture === local[who].picture, `${name}, ${who}: the DICOMweb image differs from the local one`);
      }
      assert.ok(remote.element.picture === remote.iframe.picture, `${name}: element and iframe differ`);
    }

    // Without the token the PACS refuses, and the viewer says so with a stable code.
    const since = await mark(page);
    await page.evaluate((url) => window.portal.component.load({ dicomweb: url }), cases[0].url);
    const refused = await waitForEvent(page, 'lucent:loaded', { since });
    assert.equal(refused.slices, 0);
    assert.equal(refused.errors[0]?.code, 'dicomweb-unauthorized', JSON.stringify(refused.errors));
    assert.deepEqual(await page.evaluate(() => window.__lucent.violations), []);
    // The 401 itself is logged by the browser as a failed resource load; nothing else may be.
    assert.deepEqual(consoleErrors.filter((e) => !/status of 401/.test(e)), []);
  });
});
