// A third-party portal's web server for the embedding tests: serves www/examples/ and tests/e2e/fixtures/ from
// another origin than the viewer, under a strict CSP that allows exactly what README.md (Embedding) says a portal
// must allow for the viewer's origin. No cross-origin isolation headers (a portal rarely has them).
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { REPO } from './helpers.mjs';

const ROOTS = { '/examples/': join(REPO, 'www/examples'), '/fixtures/': join(REPO, 'tests/e2e/fixtures') };
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json' };

/**
 * The portal's CSP: the baseline (`default-src 'self'; script-src 'self' 'wasm-unsafe-eval'`) plus only
 * what embedding from the viewer's origin needs: that origin, and blob: workers (README.md, Embedding).
 */
export function portalCsp(viewerOrigin, connect = []) {
  return [
    `default-src 'self' ${viewerOrigin}`,
    `script-src 'self' ${viewerOrigin} 'wasm-unsafe-eval'`,
    `worker-src blob: ${viewerOrigin}`,   // a module worker's imports are fetched as worker scripts
    ...(connect.length ? [`connect-src 'self' ${viewerOrigin} ${connect.join(' ')}`] : []),
  ].join('; ');
}

/** Starts the portal on 127.0.0.1:port (0 = any free port); resolves {origin, close()}. */
export function startPortal({ port = 0, viewerOrigin, connect = [] }) {
  const csp = portalCsp(viewerOrigin, connect);
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    if (path === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    const prefix = Object.keys(ROOTS).find((p) => path.startsWith(p));
    const rel = prefix ? normalize(path.slice(prefix.length)) : null;
    if (!rel || rel.startsWith('..')) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = await readFile(join(ROOTS[prefix], rel));
      res.writeHead(200, { 'Content-Type': TYPES[extname(rel)] ?? 'application/octet-stream', 'Content-Security-Policy': csp,
        'Cache-Control': 'no-store' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      resolve({ origin: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) });
    });
  });
}
