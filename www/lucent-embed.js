// The embedding page's side of embed.html's postMessage protocol (v1; see embed.js): a portal imports this
// module from the viewer's origin, points it at an <iframe src=".../embed.html">, and calls the viewer's verbs.
//
//   const frame = new LucentFrame(iframe, { origin });  // before the iframe loads; origin: the viewer's
//   await frame.ready;                                  // {apiVersion, version}: the engine is up
//   await frame.load([{ path: 'a.dcm', bytes }], {}, { transfer: true });   // ArrayBuffers are moved, not copied
//   frame.on('loaded', (detail) => ...);                // progress, loaded, rendered, error, layout, destroyed
//   const png = await frame.screenshot();               // Blob
//   frame.close();                                      // stops listening (destroy() ends the viewer)
// Every call resolves with the viewer's result or rejects with an Error whose code is the viewer's stable code.
export const PROTOCOL = 1;

export class LucentFrame {
  /** @param {HTMLIFrameElement} iframe  @param {{origin?: string}} [options] */
  constructor(iframe, { origin = new URL(iframe.src || location.href, document.baseURI).origin } = {}) {
    this.iframe = iframe;
    this.origin = origin;
    this._seq = 0;
    this._pending = new Map();
    this._listeners = new Map();
    this.ready = new Promise((resolve) => {
      this._resolveReady = resolve;
    });
    this._onMessage = (event) => this._receive(event);
    window.addEventListener('message', this._onMessage);
    // Browsers without location.ancestorOrigins learn who framed the viewer from our first message; create the
    // LucentFrame before the iframe has loaded (before setting its src), so this load event is seen.
    iframe.addEventListener('load', () => this.call('hello').catch(() => {}));
  }

  /** Calls a viewer method; transfer: ArrayBuffers to move into the frame. */
  call(method, args = [], transfer = []) {
    const id = ++this._seq;
    return new Promise((resolve, reject) => {
      this._pending.set(id, { resolve, reject });
      this.iframe.contentWindow.postMessage({ lucent: PROTOCOL, id, method, args }, this.origin, transfer);
    });
  }

  /** load(source, options, {transfer: true}) moves every ArrayBuffer of `source` (bytes / ArrayBuffer items). */
  load(source, options = {}, { transfer = false } = {}) {
    const buffers = [];
    if (transfer) {
      for (const item of Array.isArray(source) ? source : [source]) {
        const b = item instanceof ArrayBuffer ? item : item?.bytes instanceof ArrayBuffer ? item.bytes : item?.bytes?.buffer ?? null;
        if (b instanceof ArrayBuffer && !buffers.includes(b)) buffers.push(b);
      }
    }
    return this.call('load', [source, options], buffers);
  }

  setWindow(center, width) { return this.call('setWindow', [center, width]); }
  setPreset(id) { return this.call('setPreset', [id]); }
  setLayout(name) { return this.call('setLayout', [name]); }
  goTo(slice) { return this.call('goTo', [slice]); }
  screenshot(options) { return this.call('screenshot', options ? [options] : []); }
  state() { return this.call('state'); }
  destroy() { return this.call('destroy'); }

  /** Listens to a viewer event ('ready', 'progress', 'loaded', 'rendered', 'error', 'layout', 'destroyed'). */
  on(name, fn) {
    if (!this._listeners.has(name)) this._listeners.set(name, new Set());
    this._listeners.get(name).add(fn);
    return () => this._listeners.get(name)?.delete(fn);
  }

  close() {
    window.removeEventListener('message', this._onMessage);
    for (const { reject } of this._pending.values()) reject(Object.assign(new Error('closed'), { code: 'closed' }));
    this._pending.clear();
  }

  _receive(event) {
    if (event.source !== this.iframe.contentWindow || event.origin !== this.origin) return;
    const msg = event.data;
    if (!msg || msg.lucent !== PROTOCOL) return;
    if (msg.type === 'reply') {
      const pending = this._pending.get(msg.id);
      if (!pending) return;
      this._pending.delete(msg.id);
      if (msg.ok) pending.resolve(msg.result);
      else pending.reject(Object.assign(new Error(msg.error?.message ?? 'failed'), { code: msg.error?.code ?? 'failed' }));
    } else if (msg.type === 'event') {
      if (msg.name === 'ready') this._resolveReady(msg.detail);
      for (const fn of this._listeners.get(msg.name) ?? []) fn(msg.detail);
    }
  }
}
