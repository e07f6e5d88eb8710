// Page-side handle on worker.js: request/reply bookkeeping and replacing the worker after a wasm trap.
import { MSG } from './protocol.js';

const WORKER_URL = new URL('./worker.js', import.meta.url);

// A worker script must have the page's origin. When a portal loads <lucent-viewer> from the viewer's own origin,
// start a one-line module worker from a blob: URL (the page's origin) that imports worker.js from the viewer's
// origin (CORS). The portal's CSP then needs worker-src blob: (README, Embedding).
function createWorker() {
  if (WORKER_URL.origin === globalThis.location?.origin) return new Worker(WORKER_URL, { type: 'module' });
  const boot = URL.createObjectURL(new Blob([`import ${JSON.stringify(WORKER_URL.href)};\n`], { type: 'text/javascript' }));
  const worker = new Worker(boot, { type: 'module' });
  worker.addEventListener('message', () => URL.revokeObjectURL(boot), { once: true });
  return worker;
}

export class Engine {
  /**
   * @param {object} hooks
   * @param {(msg: object) => void} hooks.onMessage   every worker message that is not a reply
   * @param {(failure: {code, message, file, restart}) => void} hooks.onFailure  the worker is gone
   */
  constructor({ onMessage, onFailure }) {
    this._onMessage = onMessage;
    this._onFailure = onFailure;
    this._pending = new Map();      // request id -> resolve
    this._seq = 0;
    this._worker = null;
    this.ready = false;             // wasm initialised
    this.dead = false;              // could not start: no restart will help
    this.version = null;
  }

  get running() {
    return this._worker != null;
  }

  start() {
    if (this._worker || this.dead) return;
    this.ready = false;
    const worker = createWorker();
    worker.onmessage = (e) => this._receive(e.data);
    worker.onerror = (e) => {
      e.preventDefault?.();
      if (!this.ready) {
        this._fail({ code: 'worker-failed', restart: false, file: null,
          message: 'The viewer engine could not be started (worker.js or the wasm module failed to load).' });
      } else {
        this._onMessage({ type: 'worker-error', message: e.message ?? 'unknown error' });
      }
    };
    this._worker = worker;
  }

  stop() {
    this._worker?.terminate();
    this._worker = null;
    this.ready = false;
    this._drain('The viewer engine was stopped.');
  }

  post(msg, transfer = []) {
    this._worker?.postMessage(msg, transfer);
  }

  /** Sends a request the worker answers with exactly one REPLY; resolves with it (never rejects). */
  ask(payload) {
    const id = ++this._seq;
    return new Promise((resolve) => {
      if (!this._worker) {
        resolve({ ok: false, code: 'engine-stopped', message: 'The viewer engine is not running.' });
        return;
      }
      this._pending.set(id, resolve);
      this._worker.postMessage({ ...payload, id });
    });
  }

  _drain(message) {
    for (const resolve of this._pending.values()) resolve({ ok: false, code: 'engine-stopped', message });
    this._pending.clear();
  }

  _fail(failure) {
    this._worker?.terminate();
    this._worker = null;
    this.ready = false;
    this.dead = !failure.restart;
    this._drain(failure.message);
    this._onFailure(failure);
    // A trap leaves wasm memory undefined: start from a fresh module (the study is gone with it).
    if (failure.restart) this.start();
  }

  _receive(msg) {
    switch (msg.type) {
      case MSG.REPLY: {
        const resolve = this._pending.get(msg.id);
        this._pending.delete(msg.id);
        resolve?.(msg);
        return;
      }
      case MSG.READY:
        this.ready = true;
        this.version = msg.version;
        break;
      case MSG.FATAL:
        this._fail({ code: msg.code, message: msg.message, file: msg.file ?? null, restart: Boolean(msg.restart) });
        return;
      default:
        break;
    }
    this._onMessage(msg);
  }
}
