// Small DOM helpers shared by the element and its parts (no framework).

/** A new element with an optional class name and text. */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

/**
 * Calls onSize(width, height) with a canvas's size in device pixels (at least 1 x 1) whenever its box changes, so
 * its backing store can be CSS size x devicePixelRatio exactly and zoom 1 is 1:1. Returns the ResizeObserver.
 * The device-pixel box is exact (no rounding guesswork) but under emulated zoom (headless deviceScaleFactor) it can
 * report CSS pixels: it is used only when it agrees with CSS size x DPR.
 */
export function watchDeviceSize(canvas, onSize) {
  const ro = new ResizeObserver(([entry]) => {
    const box = entry.devicePixelContentBoxSize?.[0];
    let w = Math.round(entry.contentRect.width * devicePixelRatio);
    let h = Math.round(entry.contentRect.height * devicePixelRatio);
    if (box && Math.abs(box.inlineSize - w) <= 2 && Math.abs(box.blockSize - h) <= 2) {
      w = box.inlineSize;
      h = box.blockSize;
    }
    onSize(Math.max(1, w), Math.max(1, h));
  });
  try {
    ro.observe(canvas, { box: 'device-pixel-content-box' });
  } catch {
    ro.observe(canvas);
  }
  return ro;
}
