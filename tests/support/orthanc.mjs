// A real PACS for the tests: Debian's Orthanc (packages orthanc + orthanc-dicomweb; `cargo xtask test` installs
// them) started as a private process on a free loopback port, with its own temporary storage and config, never
// the system service. In front of it a small reverse proxy, as real deployments put one: it checks the bearer
// token and adds the CORS headers Orthanc does not send, streaming both ways without buffering.
//
//   const pacs = await startOrthanc({ token });   // {url, dicomweb, proxyUrl, upload(pathsOrBuffers), stop()}
//   pacs.url: Orthanc itself (REST, no auth); pacs.proxyUrl + '/dicom-web': the DICOMweb root a viewer uses
//
// Every started Orthanc is killed (its whole process group) by stop(), on process exit, and by the kernel when
// this process dies without running either (setpriv --pdeathsig), so a failed test leaves nothing behind.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ORTHANC = process.env.ORTHANC || '/usr/sbin/Orthanc';
const PLUGIN_CANDIDATES = [
  '/usr/share/orthanc/plugins/libOrthancDicomWeb.so',    // the package's symlink
  '/usr/lib/orthanc/libOrthancDicomWeb.so',
];
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;

/** The DICOMweb plugin: $ORTHANC_DICOMWEB_PLUGIN, else where Debian's orthanc-dicomweb puts it, else null. */
export function dicomwebPlugin() {
  if (process.env.ORTHANC_DICOMWEB_PLUGIN) return process.env.ORTHANC_DICOMWEB_PLUGIN;
  const found = PLUGIN_CANDIDATES.find((p) => existsSync(p));
  if (found) return found;
  try {
    // A versioned file name (libOrthancDicomWeb.so.1.7) from the package's own file list.
    return execFileSync('dpkg', ['-L', 'orthanc-dicomweb'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n').find((p) => /libOrthancDicomWeb\.so[.\d]*$/.test(p) && existsSync(p)) ?? null;
  } catch {
    return null;
  }
}

/** Whether Orthanc and its DICOMweb plugin are installed (else the tests say NOT RUN, or fail under CI). */
export const orthancAvailable = () => existsSync(ORTHANC) && dicomwebPlugin() !== null;

const running = new Set();
process.on('exit', () => {
  for (const child of running) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** A TCP port nobody listens on right now (bound to port 0, then released for Orthanc to take). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const tail = (file, lines = 30) => {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
};

/**
 * Starts Orthanc and the proxy; resolves once Orthanc answers GET /system.
 * @param {{token?: string, proxyPort?: number}} [options]  token: the proxy then wants `Authorization: Bearer <token>`
 *   (401 otherwise); proxyPort: where the proxy listens (0 = any free port; a viewer's CSP may have to name it)
 * @returns {Promise<{url: string, dicomweb: string, proxyUrl: string, dir: string, startMs: number,
 *   upload: (items: Array<string|Uint8Array>) => Promise<object[]>, stop: () => Promise<void>}>}
 */
export async function startOrthanc({ token, proxyPort = 0 } = {}) {
  const plugin = dicomwebPlugin();
  if (!existsSync(ORTHANC) || !plugin) {
    throw new Error(`Orthanc is not installed (${ORTHANC}, DICOMweb plugin ${plugin}): apt-get install -y orthanc orthanc-dicomweb`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'lucent-orthanc-'));
  const port = await freePort();
  const config = {
    Name: 'lucent-test',
    HttpPort: port,
    DicomServerEnabled: false,
    StorageDirectory: join(dir, 'db'),
    IndexDirectory: join(dir, 'db'),
    RemoteAccessAllowed: false,
    AuthenticationEnabled: false,
    SaveJobs: false,
    Plugins: [plugin],
    DicomWeb: { Enable: true, Root: '/dicom-web/', EnableWado: false },
  };
  const configPath = join(dir, 'orthanc.json');
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const logPath = join(dir, 'orthanc.log');
  const log = openSync(logPath, 'a');
  const started = performance.now();
  // setpriv: the kernel kills Orthanc if this process dies without cleaning up (SIGKILL from a test runner).
  const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
  const [cmd, args] = setpriv ? [setpriv, ['--pdeathsig', 'KILL', ORTHANC, configPath]] : [ORTHANC, [configPath]];
  // detached: its own process group, so stop() kills Orthanc and anything it started.
  const child = spawn(cmd, args, { cwd: dir, detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  running.add(child);
  let exited = null;
  const exit = new Promise((resolve) => child.on('exit', (code, signal) => {
    exited = { code, signal };
    running.delete(child);
    resolve();
  }));
  child.on('error', (e) => { exited = { error: e }; });

  const url = `http://127.0.0.1:${port}`;
  let proxy = null;
  const stop = async () => {
    if (proxy) {
      proxy.closeAllConnections?.();
      await new Promise((resolve) => proxy.close(resolve));
      proxy = null;
    }
    if (!exited) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }, STOP_TIMEOUT_MS);
      await exit;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (exited) throw new Error(`Orthanc exited (${JSON.stringify(exited)})`);
      try {
        const r = await fetch(`${url}/system`);
        if (r.ok) {
          await r.json();
          break;
        }
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`Orthanc did not answer on ${url} within ${START_TIMEOUT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const plugins = await (await fetch(`${url}/plugins`)).json();
    if (!plugins.includes('dicom-web')) throw new Error(`Orthanc started without its DICOMweb plugin (plugins: ${plugins})`);
    proxy = await startProxy(url, token, proxyPort);
  } catch (e) {
    const logTail = tail(logPath);
    await stop();
    throw new Error(`${e.message}\n--- the end of Orthanc's log ---\n${logTail}`);
  }
  const startMs = performance.now() - started;
  const proxyUrl = `http://127.0.0.1:${proxy.address().port}`;

  /** POSTs files (paths or bytes) to Orthanc's REST /instances, the ordinary ingestion path; their answers. */
  const upload = async (items) => {
    const out = [];
    for (const item of items) {
      const body = typeof item === 'string' ? readFileSync(item) : item;
      const r = await fetch(`${url}/instances`, { method: 'POST', body, headers: { 'Content-Type': 'application/dicom' } });
      const text = await r.text();
      if (!r.ok) throw new Error(`Orthanc refused ${typeof item === 'string' ? item : 'a file'}: HTTP ${r.status} ${text}`);
      const answer = JSON.parse(text);
      if (answer.Status !== 'Success' && answer.Status !== 'AlreadyStored') {
        throw new Error(`Orthanc did not store ${typeof item === 'string' ? item : 'a file'}: ${text}`);
      }
      out.push(answer);
    }
    return out;
  };

  return { url, dicomweb: `${url}/dicom-web`, proxyUrl, dir, startMs, upload, stop };
}

/**
 * The reverse proxy: token check, CORS, and a byte-for-byte stream to and from Orthanc. Preflights are answered
 * without a token, as browsers never send credentials on them.
 */
function startProxy(target, token, port = 0) {
  const upstream = new URL(target);
  const server = http.createServer((req, res) => {
    const origin = req.headers.origin;
    const cors = origin ? { 'Access-Control-Allow-Origin': origin, Vary: 'Origin' } : {};
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        ...cors,
        'Access-Control-Allow-Methods': 'GET',
        'Access-Control-Allow-Headers': 'Authorization, Accept',
        'Access-Control-Max-Age': '600',
      });
      res.end();
      return;
    }
    if (token && req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401, { ...cors, 'Content-Type': 'text/plain', 'WWW-Authenticate': 'Bearer' });
      res.end('a valid bearer token is required\n');
      req.resume();
      return;
    }
    const headers = { ...req.headers, host: upstream.host };
    delete headers.authorization;     // the proxy's business, not Orthanc's
    const forward = http.request({
      host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers,
    }, (up) => {
      const back = { ...up.headers, ...cors };
      for (const hop of ['connection', 'keep-alive']) delete back[hop];    // per connection, not per message
      res.writeHead(up.statusCode, back);
      up.pipe(res);
    });
    forward.on('error', (e) => {
      if (!res.headersSent) {
        res.writeHead(502, { ...cors, 'Content-Type': 'text/plain' });
        res.end(`proxy: Orthanc did not answer: ${e.message}\n`);
      } else {
        res.destroy(e);
      }
    });
    req.pipe(forward);
    res.on('close', () => forward.destroy());
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
