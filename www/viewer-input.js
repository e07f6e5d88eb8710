// Mouse, wheel, keyboard and drop handling for <lucent-viewer>, written against the element's public API.
//   wheel: slice; Ctrl+wheel: zoom at the cursor; right drag or Ctrl/Shift+left drag: window/level
//   (horizontal = width, vertical = center); middle drag: pan; plain left drag: the selected tool.
import { PRESETS } from './presets.js';
import { filesFromDataTransfer } from './drop.js';

const WHEEL_STEP_PX = 50;   // wheel delta per slice for smooth-scrolling devices (a mouse notch is >= 100)

/** Keyboard shortcuts; returns true if the key was used. */
export function handleKey(viewer, e) {
  if (e.altKey || e.metaKey || e.ctrlKey || viewer.series < 0) return false;
  const page = Math.max(1, Math.round(viewer.sliceCount / 10));
  const go = (i) => viewer.setSlice(i);
  switch (e.key) {
    case 'ArrowUp': go(viewer.slice - 1); return true;
    case 'ArrowDown': go(viewer.slice + 1); return true;
    case 'PageUp': go(viewer.slice - page); return true;
    case 'PageDown': go(viewer.slice + page); return true;
    case 'Home': go(0); return true;
    case 'End': go(viewer.sliceCount - 1); return true;
    case '+': case '=': viewer.setZoom(viewer.zoom * 1.25); return true;
    case '-': viewer.setZoom(viewer.zoom / 1.25); return true;
    case 'f': case 'F': viewer.fit(); return true;
    case 'r': case 'R': viewer.reset(); return true;
    case 'o': case 'O': viewer.overlays = !viewer.overlays; return true;
    default: {
      const preset = PRESETS.find((p) => p.key === e.key);
      if (!preset) return false;
      viewer.setPreset(preset.id);
      return true;
    }
  }
}

/** Installs the handlers on the element and its viewport. */
export function bindInput(viewer, viewport) {
  const canvas = viewer.canvas;
  // Device pixels per CSS pixel of the canvas (exactly what its backing store uses).
  const scale = () => (canvas.clientWidth ? canvas.width / canvas.clientWidth : devicePixelRatio);
  const canvasPoint = (e) => {
    const rect = canvas.getBoundingClientRect();
    return [(e.clientX - rect.left) * scale(), (e.clientY - rect.top) * scale()];
  };

  let drag = null;
  viewport.addEventListener('pointerdown', (e) => {
    if (viewer.series < 0 || drag) return;
    let action;
    if (e.button === 2 || (e.button === 0 && (e.ctrlKey || e.shiftKey))) action = 'window';
    else if (e.button === 1) action = 'pan';
    else if (e.button === 0) action = viewer.tool;
    else return;
    e.preventDefault();
    viewport.focus({ preventScroll: true });
    viewport.setPointerCapture(e.pointerId);
    const [ax, ay] = canvasPoint(e);
    drag = { action, id: e.pointerId, x0: e.clientX, y0: e.clientY, x: e.clientX, y: e.clientY, ax, ay,
      window: viewer.window, zoom: viewer.zoom };
  });
  viewport.addEventListener('pointermove', (e) => {
    if (!drag || e.pointerId !== drag.id) return;
    const dx = e.clientX - drag.x0;      // from the drag start: window and zoom are absolute
    const dy = e.clientY - drag.y0;
    if (drag.action === 'window') {
      drag.window ??= viewer.window;
      const w0 = drag.window;
      if (!w0) return;
      // Linear, with a sensitivity set by the starting width: 200 px of drag = one window width.
      const k = w0.width / 200;
      const coarse = w0.width >= 20;
      const round = coarse ? Math.round : (v) => Number(v.toPrecision(4));
      viewer.setWindow(round(w0.center + dy * k), Math.max(round(w0.width + dx * k), coarse ? 1 : w0.width / 100));
    } else if (drag.action === 'pan') {
      viewer.pan((e.clientX - drag.x) * scale(), (e.clientY - drag.y) * scale());
    } else if (drag.action === 'zoom') {
      viewer.setZoom(drag.zoom * Math.exp(-dy / 150), drag.ax, drag.ay);
    }
    drag.x = e.clientX;                  // pan is incremental
    drag.y = e.clientY;
  });
  const end = (e) => {
    if (drag?.id === e.pointerId) drag = null;
  };
  viewport.addEventListener('pointerup', end);
  viewport.addEventListener('pointercancel', end);
  viewport.addEventListener('contextmenu', (e) => e.preventDefault());   // the right button drags W/L
  viewport.addEventListener('auxclick', (e) => e.preventDefault());      // no middle-click paste/scroll
  viewport.addEventListener('dblclick', () => viewer.fit());

  let wheelAcc = 0;
  viewport.addEventListener('wheel', (e) => {
    if (viewer.series < 0) return;
    e.preventDefault();
    let dy = e.deltaY;
    if (e.deltaMode === WheelEvent.DOM_DELTA_LINE) dy *= 33;
    else if (e.deltaMode === WheelEvent.DOM_DELTA_PAGE) dy *= 300;
    if (e.ctrlKey) {                     // also what a touchpad pinch sends
      const [ax, ay] = canvasPoint(e);
      viewer.setZoom(viewer.zoom * Math.exp(-dy / 300), ax, ay);
      return;
    }
    let steps;
    if (Math.abs(dy) >= WHEEL_STEP_PX) {
      steps = Math.sign(dy);             // a mouse notch: one slice
      wheelAcc = 0;
    } else {
      wheelAcc += dy;                    // touchpad: accumulate small deltas
      steps = Math.trunc(wheelAcc / WHEEL_STEP_PX);
      wheelAcc -= steps * WHEEL_STEP_PX;
    }
    if (steps) viewer.setSlice(viewer.slice + steps);
  }, { passive: false });

  viewer.addEventListener('keydown', (e) => {
    if (handleKey(viewer, e)) e.preventDefault();
  });

  // Dropping on the element loads the drop (the page may add a wider drop zone of its own).
  const hasFiles = (e) => e.dataTransfer?.types?.includes('Files');
  viewer.addEventListener('dragover', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
  });
  viewer.addEventListener('drop', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    e.stopPropagation();
    filesFromDataTransfer(e.dataTransfer).then((items) => viewer.load(items));
  });
}
