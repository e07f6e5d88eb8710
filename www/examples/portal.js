// An example third-party portal: embeds Lucent as the <lucent-viewer> element and as an iframe (embed.html),
// both loaded from the viewer's origin: portal.html?viewer=https://viewer.example/ (default: this page's parent
// folder, when the viewer itself serves the example). The portal's CSP must allow the viewer's origin for
// scripts, styles, connect and frames, blob: workers, and 'wasm-unsafe-eval' (README.md, Embedding).
const viewerBase = new URL(new URLSearchParams(location.search).get('viewer') ?? '../', location.href).href;
const log = document.getElementById('log');

function note(source, name, detail) {
  const li = document.createElement('li');
  const summary = name === 'loaded' ? `${detail.slices} slices, ${detail.errors.length} errors`
    : name === 'rendered' ? `slice ${detail.slice + 1}, W ${Math.round(detail.width)} L ${Math.round(detail.center)}`
      : name === 'error' ? `${detail.code}: ${detail.message}` : '';
  li.textContent = `${source} ${name} ${summary}`;
  log.append(li);
  portal.events.push({ source, name, detail });
}

// Load the element from the viewer's origin (one ES module; it loads its worker, wasm and styles itself).
await import(new URL('lucent-viewer.js', viewerBase).href);
const { LucentFrame } = await import(new URL('lucent-embed.js', viewerBase).href);

const component = document.createElement('lucent-viewer');
component.setAttribute('tools', 'window pan zoom mpr presets reset');
for (const name of ['loaded', 'rendered', 'progress', 'error']) {
  component.addEventListener(`lucent:${name}`, (e) => name !== 'progress' && note('component', name, e.detail));
}
document.getElementById('component-slot').append(component);

const iframe = document.getElementById('embed');
const frame = new LucentFrame(iframe, { origin: new URL(viewerBase).origin });
for (const name of ['loaded', 'rendered', 'error']) frame.on(name, (detail) => note('iframe', name, detail));
iframe.src = new URL('embed.html?tools=window%20pan%20zoom%20mpr', viewerBase).href;

// For scripts (and the tests) that drive the example.
const portal = { component, frame, events: [], viewerBase };
window.portal = portal;

document.getElementById('files').addEventListener('change', async (e) => {
  const files = [...e.target.files];
  if (!files.length) return;
  component.load(files);
  // The iframe gets the same files as bytes, transferred (moved, not copied) into the viewer's window.
  const items = await Promise.all(files.map(async (f) => ({ path: f.name, bytes: await f.arrayBuffer() })));
  frame.load(items, {}, { transfer: true });
});

document.getElementById('dicomweb-load').addEventListener('click', () => {
  const url = document.getElementById('dicomweb-url').value.trim();
  const token = document.getElementById('dicomweb-token').value || null;
  if (!url) return;
  component.load({ dicomweb: url, token });
  frame.load({ dicomweb: url, token });
});
