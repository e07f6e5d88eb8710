// Fallback static server for running the e2e tests without `cargo xtask` (LUCENT_BASE_URL unset). It sends
// the production security headers (same CSP as xtask/src/server.rs), so CSP mistakes still fail the tests.
// LUCENT_DEMO_DIR, if set, is served at /demo/ instead of www/demo/.
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';

export const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; style-src 'self'; "
  + "img-src 'self' blob: data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'self'";

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.dcm': 'application/dicom',
};

const HEADERS = {
  'Content-Security-Policy': CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-cache',
};

/** Serves `root` on 127.0.0.1 (random port). Returns {url, close}. */
export async function serveStatic(root, { demoDir = process.env.LUCENT_DEMO_DIR } = {}) {
  const base = resolve(root);
  const server = createServer(async (req, res) => {
    try {
      let path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
      let dir = base;
      if (demoDir && path.startsWith('/demo/')) {
        dir = resolve(demoDir);
        path = path.slice('/demo'.length);
      }
      let file = normalize(join(dir, path));
      if (file !== dir && !file.startsWith(dir + sep)) throw Object.assign(new Error('outside root'), { status: 403 });
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
      const body = await readFile(file);
      res.writeHead(200, { ...HEADERS, 'Content-Type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream' });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (e) {
      res.writeHead(e.status ?? 404, { ...HEADERS, 'Content-Type': 'text/plain' });
      res.end('not found');
    }
  });
  // Never keep the test process alive: node --test waits for the event loop to drain.
  server.on('connection', (socket) => socket.unref());
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  server.unref();
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    close: () => new Promise((ok) => server.close(ok)),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { url } = await serveStatic(process.argv[2] ?? new URL('../../www/', import.meta.url).pathname);
  console.log(`serving at ${url}`);
  setInterval(() => {}, 1 << 30);   // standalone: stay up
}
