// Page chrome around <lucent-viewer>: toolbar, file inputs, page-wide drop zone, problems panel, status line,
// and the demo study on first visit. All viewing logic lives in the element.
import { PRESETS } from './lucent-viewer.js';
import { filesFromDataTransfer } from './drop.js';
import { openShareDialog } from './share-dialog.js';

const $ = (selector) => document.querySelector(selector);
const viewer = $('#viewer');
const status = $('#status');
const problems = $('#problems');
const problemsList = $('#problems-list');
const problemsToggle = $('#problems-toggle');
const dropOverlay = $('#drop-overlay');

const EMPTY_HELP = 'Drop a DICOM folder or files anywhere on this page, or use Open folder / Open files. '
  + 'Files are read locally in this browser and never uploaded.';

let userLoaded = false;    // the user opened something: the demo must not replace it

function openFiles(files) {
  userLoaded = true;
  viewer.load(files);
}

// ---- file inputs --------------------------------------------------------------------------------------------

for (const id of ['open-folder', 'open-files']) {
  const input = document.getElementById(id);
  input.addEventListener('change', () => {
    if (!input.files?.length) return;
    openFiles([...input.files]);
    input.value = '';        // choosing the same folder again must fire 'change' again
  });
}

// ---- toolbar ------------------------------------------------------------------------------------------------

const presetGroup = $('.presets');
for (const preset of PRESETS) {
  const button = document.createElement('button');
  button.type = 'button';
  button.dataset.preset = preset.id;
  button.textContent = preset.label;
  button.title = preset.center == null
    ? `${preset.key}: the image's own window`
    : `${preset.key}: C ${preset.center} / W ${preset.width} HU`;
  presetGroup.append(button);
}

function setTool(name) {
  viewer.tool = name;
  for (const b of document.querySelectorAll('[data-tool]')) b.setAttribute('aria-pressed', String(b.dataset.tool === viewer.tool));
}

const actions = {
  'open-folder': () => $('#open-folder').click(),
  'open-files': () => $('#open-files').click(),
  'zoom-in': () => viewer.setZoom(viewer.zoom * 1.25),
  'zoom-out': () => viewer.setZoom(viewer.zoom / 1.25),
  fit: () => viewer.fit(),
  actual: () => viewer.setZoom(1),
  reset: () => viewer.reset(),
  overlays: () => {
    viewer.overlays = !viewer.overlays;
    $('[data-action="overlays"]').setAttribute('aria-pressed', String(viewer.overlays));
  },
  'close-problems': () => showProblems(false),
  share: () => openShareDialog(viewer),
  'link-window': () => {
    if (!viewer.mpr) return;
    viewer.mpr.setLinkWindows(!viewer.mpr.linkWindows);
    $('[data-action="link-window"]').setAttribute('aria-pressed', String(viewer.mpr.linkWindows));
  },
};

async function setLayout(name) {
  const result = await viewer.setLayout(name);
  const layout = viewer.layout;
  for (const b of document.querySelectorAll('[data-layout]')) b.setAttribute('aria-pressed', String(b.dataset.layout === layout));
  for (const g of document.querySelectorAll('.mpr-only')) g.hidden = layout !== 'mpr';
  if (layout !== 'mpr' && !['window', 'pan', 'zoom'].includes(viewer.tool)) setTool('window');
  if (layout === 'mpr') applySlab();
  return result;
}

function applySlab() {
  viewer.mpr?.setSlab(null, Number($('#slab-mm').value), $('#slab-mode').value);
}
$('#slab-mm').addEventListener('change', applySlab);
$('#slab-mode').addEventListener('change', applySlab);
viewer.addEventListener('lucent:layout', (e) => {
  if (e.detail.layout === 'stack') {
    for (const b of document.querySelectorAll('[data-layout]')) b.setAttribute('aria-pressed', String(b.dataset.layout === 'stack'));
    for (const g of document.querySelectorAll('.mpr-only')) g.hidden = true;
  }
});

document.addEventListener('click', (e) => {
  const button = e.target.closest('button');
  if (!button) return;
  if (button.dataset.layout) setLayout(button.dataset.layout);
  else if (button.dataset.action) actions[button.dataset.action]?.();
  else if (button.dataset.preset) viewer.setPreset(button.dataset.preset);
  else if (button.dataset.tool) setTool(button.dataset.tool);
});
problemsToggle.addEventListener('click', () => showProblems(problems.hidden));

// Shortcuts work without first clicking into the image; the element handles keys that reach it itself.
document.addEventListener('keydown', (e) => {
  if (e.defaultPrevented || e.target.closest?.('input, textarea, select, lucent-viewer')) return;
  if (e.key === 'o' || e.key === 'O') {
    if (!e.ctrlKey && !e.metaKey && !e.altKey) actions.overlays();
    e.preventDefault();
    return;
  }
  if ((e.key === 'm' || e.key === 'M') && !e.ctrlKey && !e.metaKey && !e.altKey) {
    setLayout(viewer.layout === 'mpr' ? 'stack' : 'mpr');
    e.preventDefault();
    return;
  }
  if (viewer.handleKey(e)) e.preventDefault();
});
viewer.addEventListener('keydown', (e) => {
  // Keep the toolbar's overlay button in sync when the element toggles overlays with "o".
  if (e.key === 'o' || e.key === 'O') queueMicrotask(() => $('[data-action="overlays"]').setAttribute('aria-pressed', String(viewer.overlays)));
});

// ---- page-wide drop zone ------------------------------------------------------------------------------------

const hasFiles = (e) => e.dataTransfer?.types?.includes('Files');
document.addEventListener('dragover', (e) => {
  if (!hasFiles(e)) return;
  e.preventDefault();                       // otherwise the browser navigates to the dropped file
  e.dataTransfer.dropEffect = 'copy';
  dropOverlay.hidden = false;
});
document.addEventListener('dragleave', (e) => {
  if (e.relatedTarget == null) dropOverlay.hidden = true;   // left the window
});
document.addEventListener('drop', async (e) => {
  dropOverlay.hidden = true;
  if (!hasFiles(e)) return;
  e.preventDefault();
  const items = await filesFromDataTransfer(e.dataTransfer);
  if (items.length) openFiles(items);
});
viewer.addEventListener('drop', () => {
  userLoaded = true;                        // the element loaded the drop itself
  dropOverlay.hidden = true;
});

// ---- status and problems ------------------------------------------------------------------------------------

let version = '';
let summary = '';
const renderStatus = (text) => {
  status.textContent = [text, version && `v${version}`].filter(Boolean).join(' · ');
};

// Errors (files that cannot be shown) and notes (files without images: DICOMDIR, reports...), one entry per
// file and reason. Render errors reported later (lucent:error) land in the same list.
const problemKeys = new Set();
let errorCount = 0;
let noteCount = 0;

function problemItem({ file, code, reason }, kind) {
  const li = document.createElement('li');
  li.className = `problem problem-${kind}`;
  const slash = (file ?? '').lastIndexOf('/');
  const head = document.createElement('div');
  head.className = 'problem-head';
  const name = document.createElement('span');
  name.className = 'problem-name';
  name.textContent = file ? file.slice(slash + 1) : '(study)';
  const tag = document.createElement('code');
  tag.textContent = code;
  head.append(name, tag);
  li.append(head);
  if (slash > 0) {
    const dir = document.createElement('div');
    dir.className = 'problem-dir';
    dir.textContent = file.slice(0, slash + 1);
    li.append(dir);
  }
  const why = document.createElement('div');
  why.className = 'problem-reason';
  why.textContent = reason;
  li.append(why);
  return li;
}

function addProblem(problem, kind = 'error') {
  const key = `${problem.file}\u0000${problem.code}\u0000${problem.reason}`;
  if (problemKeys.has(key)) return;
  problemKeys.add(key);
  if (kind === 'error') {
    errorCount++;
    problemsList.append(problemItem(problem, kind));
  } else {
    noteCount++;
    $('#notes-list').append(problemItem(problem, kind));
    $('#notes').hidden = false;
    $('#notes-summary').textContent = `${noteCount} file${noteCount === 1 ? '' : 's'} without images (skipped)`;
  }
  // The badge counts files that could not be shown; notes alone only make the button visible.
  $('#problems-count').textContent = String(errorCount || noteCount);
  problemsToggle.hidden = false;
  problemsToggle.classList.toggle('has-errors', errorCount > 0);
  problemsToggle.title = `${errorCount} error${errorCount === 1 ? '' : 's'}, ${noteCount} skipped file${noteCount === 1 ? '' : 's'}`;
}

function clearProblems() {
  problemKeys.clear();
  errorCount = 0;
  noteCount = 0;
  problemsList.replaceChildren();
  $('#notes-list').replaceChildren();
  $('#notes').hidden = true;
  $('#problems-summary').textContent = '';
  problemsToggle.hidden = true;
  showProblems(false);
}

function showProblems(show) {
  problems.hidden = !show;
  problemsToggle.setAttribute('aria-expanded', String(show));
}

document.addEventListener('lucent:ready', (e) => {
  version = e.detail.version;
  renderStatus(summary);
});

document.addEventListener('lucent:progress', ({ detail: p }) => {
  if (p.read === 0 && p.decoded === 0 && !p.decodeTotal) clearProblems();   // a new study starts
  renderStatus(p.read < p.total || !p.decodeTotal
    ? `Reading ${p.read}/${p.total}`
    : `Decoding ${p.decoded}/${p.decodeTotal}`);
});

document.addEventListener('lucent:loaded', ({ detail: d }) => {
  const series = d.series.length;
  summary = `${d.files} file${d.files === 1 ? '' : 's'} · ${series} series · ${d.slices} image${d.slices === 1 ? '' : 's'}`;
  renderStatus(summary);
  for (const e of d.errors) addProblem(e, 'error');
  for (const n of d.notes ?? []) addProblem({ file: n.file, code: n.status, reason: n.reason }, 'note');
  if (d.errors.length) {
    $('#problems-summary').textContent = `${d.errors.length} of ${d.files} files could not be shown.`;
    showProblems(true);
  }
  if (!d.files && !userLoaded) viewer.showMessage(EMPTY_HELP);
});

document.addEventListener('lucent:error', ({ detail: e }) => {
  addProblem({ file: e.file, code: e.code, reason: e.message }, 'error');
});

document.addEventListener('lucent:rendered', () => {
  // CT presets are in Hounsfield units: meaningless for other modalities.
  const row = viewer.seriesList.find((s) => s.index === viewer.series);
  const isCt = row?.modality === 'CT';
  for (const b of presetGroup.querySelectorAll('button')) b.disabled = b.dataset.preset !== 'default' && !isCt;
});

// ---- demo study on first visit ------------------------------------------------------------------------------

async function loadDemo() {
  const params = new URLSearchParams(location.search);
  if (params.has('nodemo') || params.get('demo') === '0') {
    viewer.showMessage(EMPTY_HELP);
    return;
  }
  let files = null;
  try {
    const response = await fetch('demo/index.json');
    if (response.ok) files = (await response.json()).files;
  } catch {
    files = null;
  }
  if (userLoaded) return;
  if (!Array.isArray(files) || files.length === 0) {
    viewer.showMessage(EMPTY_HELP);
    return;
  }
  viewer.loadUrls(files.map((f) => `demo/${f}`));
}

renderStatus('');
loadDemo();
