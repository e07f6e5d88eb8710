// Mouse, wheel, keyboard and drop handling for <lucent-viewer>, written against the element's public API.
//   wheel: slice; Ctrl+wheel: zoom at the cursor; right drag or Ctrl/Shift+left drag: window/level
//   (horizontal = width, vertical = center); middle drag: pan; plain left drag: the selected tool.
// Touch (phones, tablets): one finger swipes through slices; two fingers pinch to zoom, or drag together to
//   change the window (the first clear motion decides which); a double tap fits.
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

/**
 * Window/level from a drag of (dx, dy) CSS px since it started at window w0: horizontal = width, vertical =
 * center, linear, with a sensitivity set by the starting width (200 px of drag = one window width).
 */
function dragWindow(viewer, w0, dx, dy) {
  const k = w0.width / 200;
  const coarse = w0.width >= 20;
  const round = coarse ? Math.round : (v) => Number(v.toPrecision(4));
  viewer.setWindow(round(w0.center + dy * k), Math.max(round(w0.width + dx * k), coarse ? 1 : w0.width / 100));
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
  const touch = bindTouch(viewer, viewport, scale);
  viewport.addEventListener('pointerdown', (e) => {
    if (e.pointerType === 'touch') {
      touch.down(e);
      return;
    }
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
    if (e.pointerType === 'touch') {
      touch.move(e);
      return;
    }
    if (!drag || e.pointerId !== drag.id) return;
    const dx = e.clientX - drag.x0;      // from the drag start: window and zoom are absolute
    const dy = e.clientY - drag.y0;
    if (drag.action === 'window') {
      drag.window ??= viewer.window;
      if (drag.window) dragWindow(viewer, drag.window, dx, dy);
    } else if (drag.action === 'pan') {
      viewer.pan((e.clientX - drag.x) * scale(), (e.clientY - drag.y) * scale());
    } else if (drag.action === 'zoom') {
      viewer.setZoom(drag.zoom * Math.exp(-dy / 150), drag.ax, drag.ay);
    }
    drag.x = e.clientX;                  // pan is incremental
    drag.y = e.clientY;
  });
  const end = (e) => {
    if (e.pointerType === 'touch') touch.up(e);
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

const TAP_MOVE_PX = 10;           // CSS px a finger may wander and still be a tap
const DOUBLE_TAP_MS = 350;

/** Touch gestures through pointer events (the viewport has touch-action: none, so the page never scrolls). */
function bindTouch(viewer, viewport, scale) {
  const fingers = new Map();      // pointerId -> {x, y} (client px, latest)
  let gesture = null;
  let lastTap = 0;
  const mid = () => {
    const [a, b] = [...fingers.values()];
    return { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2, d: Math.hypot(a.x - b.x, a.y - b.y) };
  };
  const start = () => {
    if (fingers.size === 1) {
      const [f] = fingers.values();
      gesture = { kind: 'swipe', x0: f.x, y0: f.y, acc: 0, y: f.y, moved: false };
    } else if (fingers.size === 2) {
      const m = mid();
      gesture = { kind: 'pair', mode: null, m0: m, zoom: viewer.zoom, window: viewer.window, x: m.x, y: m.y };
    } else {
      gesture = null;
    }
  };
  return {
    down(e) {
      if (viewer.series < 0) return;
      e.preventDefault();
      viewport.setPointerCapture(e.pointerId);
      fingers.set(e.pointerId, { x: e.clientX, y: e.clientY });
      start();
    },
    move(e) {
      const f = fingers.get(e.pointerId);
      if (!f || !gesture) return;
      f.x = e.clientX;
      f.y = e.clientY;
      if (gesture.kind === 'swipe') {
        if (Math.hypot(f.x - gesture.x0, f.y - gesture.y0) > TAP_MOVE_PX) gesture.moved = true;
        // Through the whole stack in about one and a half viewport heights, never slower than 20 px a slice.
        const step = Math.max(3, Math.min(20, (1.5 * viewport.clientHeight) / Math.max(1, viewer.sliceCount)));
        gesture.acc += f.y - gesture.y;
        gesture.y = f.y;
        const steps = Math.trunc(gesture.acc / step);
        if (steps) {
          gesture.acc -= steps * step;
          viewer.setSlice(viewer.slice - steps);   // finger up = later slices, like scrolling a page
        }
        return;
      }
      const m = mid();
      const dd = Math.abs(m.d - gesture.m0.d);
      const dm = Math.hypot(m.x - gesture.m0.x, m.y - gesture.m0.y);
      if (!gesture.mode && Math.max(dd, dm) > TAP_MOVE_PX) gesture.mode = dd > dm ? 'pinch' : 'window';
      if (gesture.mode === 'pinch' && gesture.m0.d > 0) {
        const rect = viewer.canvas.getBoundingClientRect();
        viewer.setZoom(gesture.zoom * (m.d / gesture.m0.d), (m.x - rect.left) * scale(), (m.y - rect.top) * scale());
        viewer.pan((m.x - gesture.x) * scale(), (m.y - gesture.y) * scale());
      } else if (gesture.mode === 'window') {
        gesture.window ??= viewer.window;
        if (gesture.window) dragWindow(viewer, gesture.window, m.x - gesture.m0.x, m.y - gesture.m0.y);
      }
      gesture.x = m.x;
      gesture.y = m.y;
    },
    up(e) {
      if (!fingers.has(e.pointerId)) return;
      const wasTap = gesture?.kind === 'swipe' && !gesture.moved && e.type === 'pointerup';
      fingers.delete(e.pointerId);
      if (wasTap) {
        const now = e.timeStamp;
        if (now - lastTap < DOUBLE_TAP_MS) {
          viewer.fit();
          lastTap = 0;
        } else {
          lastTap = now;
        }
      }
      const fromPair = gesture?.kind === 'pair' || gesture?.afterPair;
      start();   // lifting one of two fingers continues as a one-finger swipe from here
      // ...but the finger left over from a pinch or a window drag is no tap: lifting it must not count toward
      // a double tap (two two-finger gestures in a row would otherwise reset the zoom).
      if (fromPair && gesture) {
        gesture.moved = true;
        gesture.afterPair = true;
      }
    },
  };
}
