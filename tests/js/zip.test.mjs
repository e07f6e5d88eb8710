// www/zip.js against independent writers: every archive here is made by Python's zipfile or Info-ZIP's zip
// (the CLI) from bytes this test wrote or Python hashed, never by our own code, and every expected value (names,
// sizes, CRCs, flags, offsets) comes from those writers or from Python reading the archive back. Damaged and
// hostile archives are those archives with bytes patched at offsets Python reported. The big-archive test reads
// ~200 MB member by member and checks that memory stays near one member, not the archive.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync, existsSync, fstatSync, openSync, readSync, mkdirSync, mkdtempSync, openAsBlob, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { DEFAULT_LIMITS, ZipError, crc32, looksLikeZip, openZip } from '../../www/zip.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '../..');
const CI = process.env.CI === 'true';
const CORPUS = resolve(process.env.LUCENT_CORPUS || join(REPO, '../shared/corpus'));

// ---- the oracles --------------------------------------------------------------------------------------------
const have = (cmd, args) => {
  try { execFileSync(cmd, args, { stdio: 'ignore' }); return true; } catch { return false; }
};
const PYTHON = have('python3', ['-c', 'import zipfile, bz2, lzma']);
const ZIP = have('zip', ['-v']);
for (const [ok, what] of [[PYTHON, 'python3 (with zipfile, bz2, lzma)'], [ZIP, 'zip (Info-ZIP)']]) {
  if (ok) continue;
  if (CI) throw new Error(`${what} is missing on CI`);
  console.warn(`zip.test.mjs: ${what} is missing, the tests that need it are NOT RUN`);
}
const pyTest = (name, fn) => test(name, { skip: PYTHON ? false : 'NOT RUN: python3 missing' }, fn);
const zipTest = (name, fn) => test(name, { skip: PYTHON && ZIP ? false : 'NOT RUN: python3 or zip missing' }, fn);

const TMP = mkdtempSync(join(tmpdir(), 'lucent-zip-'));
const openFds = [];
after(() => {
  for (const fd of openFds) closeSync(fd);
  rmSync(TMP, { recursive: true, force: true });
});
let serial = 0;
const tmpPath = (name) => join(TMP, `${++serial}-${name}`);

// Python's zipfile writes the archive a JSON spec describes, then reads it back with zipfile and prints what it
// found: per member the name as zipfile decodes it, flags, method, sizes, CRC, header offset, and sha256 of the
// data it wrote (so generated members need not leave Python); plus the central directory's offset.
const WRITER = String.raw`
import hashlib, json, os, struct, sys, warnings, zipfile, zlib
warnings.simplefilter('ignore')           # duplicate names are written on purpose
spec = json.load(sys.stdin)
METHODS = {'stored': zipfile.ZIP_STORED, 'deflated': zipfile.ZIP_DEFLATED, 'bzip2': zipfile.ZIP_BZIP2, 'lzma': zipfile.ZIP_LZMA}

class RawName(zipfile.ZipInfo):
    # zipfile itself writes names as ASCII or as flagged UTF-8; this writes them in another encoding, no flag.
    def _encodeFilenameFlags(self):
        return self.filename.encode(self.encoding), self.flag_bits

class Unseekable:                          # zipfile then writes data descriptors (flag bit 3)
    def __init__(self, f): self.f = f
    def write(self, b): return self.f.write(b)
    def flush(self): self.f.flush()

def chunks(m):
    kind, size = m.get('gen'), m.get('size', 0)
    if 'src' in m:
        yield open(m['src'], 'rb').read()
    elif kind == 'zeros':
        block = bytes(1 << 24)
        while size > 0:
            yield block[:min(size, len(block))]; size -= len(block)
    elif kind == 'random':
        while size > 0:
            n = min(size, 1 << 22); yield os.urandom(n); size -= n
    elif kind == 'mixed':                  # half random, half text: deflate halves it
        text = b''.join(b'Lucent big member line %06d\n' % i for i in range(1200))[:32768]
        while size > 0:
            block = os.urandom(32768) + text
            yield block[:size]; size -= len(block)
    else:
        yield bytes.fromhex(m.get('hex', ''))

out = open(spec['out'], 'wb')
if spec.get('skip'):
    out.seek(spec['skip'])                 # a sparse hole: every offset in the archive is above it
target = Unseekable(out) if spec.get('unseekable') else out
hashes = {}                                # sha256 of each member's data as written
with zipfile.ZipFile(target, 'w', compresslevel=spec.get('level')) as z:
    for m in spec['members']:
        if 'raw_name_hex' in m:
            info = RawName(bytes.fromhex(m['raw_name_hex']).decode('cp437'), date_time=(2024, 5, 6, 7, 8, 10))
            info.encoding = 'cp437'
        elif 'encoding' in m:
            info = RawName(m['name'], date_time=(2024, 5, 6, 7, 8, 10))
            info.encoding = m['encoding']
        else:
            info = zipfile.ZipInfo(m['name'], date_time=(2024, 5, 6, 7, 8, 10))
        info.compress_type = METHODS[m.get('method', 'deflated')]
        if 'unicode_path' in m:            # Info-ZIP Unicode Path extra field (0x7075), built from APPNOTE 4.6.9
            u = m['unicode_path'].encode('utf-8')
            crc = zlib.crc32(info.filename.encode(info.encoding)) ^ m.get('unicode_crc_xor', 0)
            info.extra = struct.pack('<HHBI', 0x7075, 5 + len(u), 1, crc) + u
        h = hashlib.sha256()
        if m.get('stream') or m.get('force_zip64'):
            with z.open(info, 'w', force_zip64=bool(m.get('force_zip64'))) as w:
                for c in chunks(m):
                    w.write(c); h.update(c)
        else:
            data = b''.join(chunks(m)); h.update(data)
            z.writestr(info, data)
        hashes[info.filename] = h.hexdigest()
    if 'comment_hex' in spec:
        z.comment = bytes.fromhex(spec['comment_hex'])
out.close()

with zipfile.ZipFile(spec['out']) as z:
    members = [{'name': i.filename, 'flags': i.flag_bits, 'method': i.compress_type, 'size': i.file_size,
                'csize': i.compress_size, 'crc': i.CRC, 'offset': i.header_offset, 'sha256': hashes.get(i.filename)}
               for i in z.infolist()]
    print(json.dumps({'members': members, 'start_dir': z.start_dir, 'size': os.path.getsize(spec['out'])}))
`;

const writerArgs = ['-c', WRITER];
/** Writes the archive with Python; returns Python's reading of it. */
function py(spec) {
  return JSON.parse(execFileSync('python3', writerArgs, { input: JSON.stringify(spec), maxBuffer: 1 << 28 }));
}
/** The same, in the background (the big archives are written while the other tests run). */
function pyAsync(spec) {
  return new Promise((resolveIt, reject) => {
    const child = spawn('python3', writerArgs, { stdio: ['pipe', 'pipe', 'inherit'] });
    let outText = '';
    child.stdout.on('data', (d) => { outText += d; });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolveIt(JSON.parse(outText)) : reject(new Error(`python exited ${code}`))));
    child.stdin.end(JSON.stringify(spec));
  });
}
/** Reads an archive the way zipfile does, for archives made by the zip CLI. */
const pyList = (path) => JSON.parse(execFileSync('python3', ['-c', String.raw`
import json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
print(json.dumps({'start_dir': z.start_dir, 'members': [{'name': i.filename, 'flags': i.flag_bits, 'method': i.compress_type,
  'size': i.file_size, 'csize': i.compress_size, 'crc': i.CRC, 'offset': i.header_offset} for i in z.infolist()]}))
`, path]));
const zipCli = (args, cwd) => execFileSync('zip', ['-q', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });

// ---- helpers ------------------------------------------------------------------------------------------------
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
const CODES = new Set(['zip-truncated', 'zip-corrupt', 'zip-unsupported', 'zip-encrypted', 'zip-too-large', 'zip-crc', 'zip-unreadable']);

/** Resolves with the ZipError's code ('ok' if it did not fail); anything but a ZipError fails the test. */
async function codeOf(promise, what = '') {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof ZipError, `${what}: not a ZipError: ${e?.stack ?? e}`);
    assert.ok(CODES.has(e.code), `${what}: unknown code ${e.code}`);
    return e.code;
  }
  return 'ok';
}
async function errorOf(promise, what = '') {
  try { await promise; } catch (e) { assert.ok(e instanceof ZipError, `${what}: not a ZipError: ${e?.stack ?? e}`); return e; }
  assert.fail(`${what}: expected a ZipError`);
}

/** Source files with known bytes, written once. */
const SRC = join(TMP, 'src');
const FILES = {
  'study/CT/IM0001.dcm': randomBytes(150_000),
  'study/CT/IM0002.dcm': Buffer.from('DICM text that compresses well, line after line. '.repeat(6000)),
  'study/empty.dcm': Buffer.alloc(0),
  'study/deep/a/b/c/d/e/IM0003.dcm': randomBytes(4097),
  'study/tiny.txt': Buffer.from('x'),
};
for (const [rel, data] of Object.entries(FILES)) {
  mkdirSync(dirname(join(SRC, rel)), { recursive: true });
  writeFileSync(join(SRC, rel), data);
}
const src = (rel) => join(SRC, rel);

/** Opens and reads every entry; returns { zip, data: Map(path -> bytes) }. */
async function readAll(source, options) {
  const zip = await openZip(source, options);
  const data = new Map();
  for (const e of zip.entries) {
    const bytes = await e.read();
    assert.equal(bytes.length, e.size, `${e.path}: exactly the declared size`);
    assert.equal(bytes.byteLength, bytes.buffer.byteLength, `${e.path}: a buffer of its own, not a view of a bigger one`);
    data.set(e.path, bytes);
  }
  return { zip, data };
}

/** Offsets of each central directory record, walked from Python's start_dir (fixed 46 bytes + 3 lengths). */
function centralRecords(buf, startDir) {
  const out = [];
  for (let p = startDir; buf.readUInt32LE(p) === 0x02014b50; p += 46 + buf.readUInt16LE(p + 28) + buf.readUInt16LE(p + 30) + buf.readUInt16LE(p + 32)) {
    out.push(p);
  }
  return out;
}
const endRecord = (buf) => buf.lastIndexOf(Buffer.from([0x50, 0x4b, 5, 6]));
const dataStart = (buf, headerOffset) => headerOffset + 30 + buf.readUInt16LE(headerOffset + 26) + buf.readUInt16LE(headerOffset + 28);

/**
 * A Blob-like view of a file read with fs at 64-bit positions: Node 20's fs.openAsBlob truncates a file's size to
 * 32 bits (a 4.02 GiB file is a 16 MiB Blob), browsers' Files do not.
 */
function fileSource(path) {
  const fd = openSync(path, 'r');
  const total = fstatSync(fd).size;
  const read = (start, end) => {
    const buf = Buffer.alloc(end - start);
    readSync(fd, buf, 0, buf.length, start);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.length).slice();
  };
  const view = (start, end) => ({
    size: end - start,
    slice: (a = 0, b = end - start) => view(Math.min(end, start + a), Math.min(end, start + b)),
    arrayBuffer: async () => read(start, end).buffer,
    stream: () => new Blob([read(start, end)]).stream(),
  });
  openFds.push(fd);
  return view(0, total);
}

// Three ordinary members (stored random, deflated text, stored random) made once by zipfile, patched by several tests.
let BASIC = null;
function basic() {
  if (!BASIC) {
    const out = tmpPath('basic.zip');
    const info = py({ out, members: [
      { name: 'a/IM0001.dcm', src: src('study/CT/IM0001.dcm'), method: 'stored' },
      { name: 'a/IM0002.dcm', src: src('study/CT/IM0002.dcm'), method: 'deflated' },
      { name: 'a/IM0003.dcm', src: src('study/deep/a/b/c/d/e/IM0003.dcm'), method: 'stored' },
    ] });
    BASIC = { info, bytes: readFileSync(out) };
  }
  return { info: BASIC.info, bytes: Buffer.from(BASIC.bytes) };
}
const ORIGINAL = {
  'a/IM0001.dcm': FILES['study/CT/IM0001.dcm'], 'a/IM0002.dcm': FILES['study/CT/IM0002.dcm'],
  'a/IM0003.dcm': FILES['study/deep/a/b/c/d/e/IM0003.dcm'],
};

// The big archives take seconds to write: they start now and are awaited by their tests.
const BIG = PYTHON ? (() => {
  const members = [];
  for (let i = 0; i < 12; i++) members.push({ name: `big/stored-${i}.bin`, gen: 'random', size: 12e6 + i, method: 'stored', stream: true });
  for (let i = 0; i < 4; i++) members.push({ name: `big/deflated-${i}.bin`, gen: 'mixed', size: 24e6 + i * 1000, method: 'deflated', stream: true });
  const out = join(TMP, 'big.zip');
  return pyAsync({ out, members, level: 1 }).then((info) => ({ out, info }));
})() : null;
const HUGE = PYTHON ? (() => {
  // 4 GiB + 1 MiB of zeros deflate to ~19 MB: the central directory must carry both sizes in its ZIP64 field.
  const out = join(TMP, 'huge-member.zip');
  return pyAsync({ out, level: 1, members: [
    { name: 'small.txt', hex: Buffer.from('before the big one\n').toString('hex'), method: 'deflated' },
    { name: 'zeros.raw', gen: 'zeros', size: 2 ** 32 + 2 ** 20, method: 'deflated', force_zip64: true },
  ] }).then((info) => ({ out, info }));
})() : null;
const MANY_N = 70_000;
const MANY = PYTHON ? (() => {
  const members = [];
  for (let i = 0; i < MANY_N; i++) {
    members.push({ name: `m/${String(i).padStart(5, '0')}.txt`, hex: Buffer.from(`member ${i}\n`).toString('hex'),
      method: i % 1000 === 7 ? 'deflated' : 'stored' });
  }
  const out = join(TMP, 'many.zip');
  return pyAsync({ out, members }).then((info) => ({ out, info }));
})() : null;
// Keep an unhandled rejection from hiding which test needed it.
for (const p of [BIG, HUGE, MANY]) p?.catch(() => {});

// ---- signatures and CRC -------------------------------------------------------------------------------------

test('looksLikeZip knows the three ZIP starts and nothing else', () => {
  assert.equal(looksLikeZip(Uint8Array.from([0x50, 0x4b, 3, 4, 20, 0])), true);
  assert.equal(looksLikeZip(Uint8Array.from([0x50, 0x4b, 5, 6])), true);        // empty archive
  assert.equal(looksLikeZip(Uint8Array.from([0x50, 0x4b, 7, 8])), true);        // spanning marker
  assert.equal(looksLikeZip(Uint8Array.from([0x50, 0x4b, 1, 2])), false);
  assert.equal(looksLikeZip(Uint8Array.from([0x50, 0x4b, 3])), false);
  assert.equal(looksLikeZip(new Uint8Array(132).fill(0)), false);
  const dicm = new Uint8Array(132);
  dicm.set([0x44, 0x49, 0x43, 0x4d], 128);
  assert.equal(looksLikeZip(dicm), false);
  assert.equal(looksLikeZip(null), false);
});

test('crc32 equals zlib\'s at every length, alignment and split; throughput', (t) => {
  const buf = randomBytes(4096 + 64);
  for (let len = 0; len <= 80; len++) {
    for (let off = 0; off < 8; off++) {
      const part = buf.subarray(off, off + len);
      assert.equal(crc32(part), zlibCrc32(part), `length ${len} offset ${off}`);
    }
  }
  for (const cut of [0, 1, 7, 8, 9, 1000, 4095, 4096]) {
    assert.equal(crc32(buf.subarray(cut), crc32(buf.subarray(0, cut))), zlibCrc32(buf), `split at ${cut}`);
  }
  const big = new Uint8Array(randomBytes(64 * 2 ** 20));
  crc32(big.subarray(0, 2 ** 20));
  const t0 = performance.now();
  const c = crc32(big);
  const ms = performance.now() - t0;
  assert.equal(c, zlibCrc32(big));
  t.diagnostic(`crc32: ${(big.length / 1e6 / (ms / 1000)).toFixed(0)} MB/s (64 MiB in ${ms.toFixed(0)} ms)`);
});

// ---- ordinary archives --------------------------------------------------------------------------------------

pyTest('zipfile: stored and deflated members read back byte for byte; nested folders, empty members, directories skipped', async () => {
  const out = tmpPath('plain.zip');
  const info = py({ out, members: [
    { name: 'study/', method: 'stored' },
    { name: 'study/CT/', method: 'stored' },
    ...Object.keys(FILES).map((rel, i) => ({ name: rel, src: src(rel), method: i % 2 ? 'stored' : 'deflated' })),
    { name: 'study/empty-deflated.dcm', method: 'deflated' },
  ] });
  const { zip, data } = await readAll(await openAsBlob(out), { name: 'plain.zip' });
  assert.deepEqual(zip.problems, []);
  assert.deepEqual(zip.notes, []);
  const files = info.members.filter((m) => !m.name.endsWith('/'));
  assert.deepEqual(zip.entries.map((e) => e.path), files.map((m) => m.name), 'every file, in directory order, no directories');
  for (const [i, m] of files.entries()) {
    const e = zip.entries[i];
    assert.deepEqual([e.size, e.compressedSize, e.method, e.crc32], [m.size, m.csize, m.method, m.crc], m.name);
  }
  for (const rel of Object.keys(FILES)) assert.ok(Buffer.from(data.get(rel)).equals(FILES[rel]), rel);
  assert.equal(data.get('study/empty-deflated.dcm').length, 0);
  assert.equal(zip.entries.find((e) => e.path === 'study/empty-deflated.dcm').method, 8);
  // The same bytes from memory (a ZIP inside a ZIP arrives as bytes).
  const again = await readAll(readFileSync(out));
  assert.deepEqual([...again.data.keys()], [...data.keys()]);
});

zipTest('Info-ZIP zip -r: directory entries, local extra fields longer than the central ones, -0 and -9', async () => {
  for (const level of ['-0', '-9']) {
    const out = tmpPath(`cli${level}.zip`);
    zipCli(['-r', level, out, 'study'], SRC);
    const info = pyList(out);
    assert.ok(info.members.some((m) => m.name.endsWith('/')), 'zip -r wrote directory entries');
    const { zip, data } = await readAll(await openAsBlob(out));
    assert.deepEqual(zip.problems, []);
    const files = info.members.filter((m) => !m.name.endsWith('/'));
    assert.deepEqual(zip.entries.map((e) => e.path).sort(), files.map((m) => m.name).sort());
    for (const m of files) assert.ok(Buffer.from(data.get(m.name)).equals(FILES[m.name]), `${level} ${m.name}`);
  }
});

zipTest('data descriptors (flag bit 3): zip streaming into a pipe, zipfile writing an unseekable stream', async () => {
  const piped = tmpPath('piped.zip');
  execFileSync('sh', ['-c', `zip -q -r - study | cat > '${piped}'`], { cwd: SRC });
  const unseekable = tmpPath('unseekable.zip');
  py({ out: unseekable, unseekable: true, members: Object.keys(FILES).map((rel, i) => ({ name: rel, src: src(rel), method: i % 2 ? 'stored' : 'deflated' })) });
  for (const out of [piped, unseekable]) {
    const info = pyList(out);
    const files = info.members.filter((m) => !m.name.endsWith('/'));
    assert.ok(files.every((m) => m.flags & 8), `${out}: every member has a data descriptor`);
    const { zip, data } = await readAll(await openAsBlob(out));
    assert.deepEqual(zip.problems, []);
    assert.equal(zip.entries.length, files.length);
    for (const m of files) assert.ok(Buffer.from(data.get(m.name)).equals(FILES[m.name]), `${out}: ${m.name}`);
  }
});

pyTest('an empty archive lists nothing; members read concurrently and in any order are right (the read-ahead window)', async () => {
  const empty = tmpPath('empty.zip');
  py({ out: empty, members: [] });
  assert.ok(looksLikeZip(readFileSync(empty)));
  assert.deepEqual(await openZip(await openAsBlob(empty)), { entries: [], problems: [], notes: [] });

  const out = tmpPath('concurrent.zip');
  const members = Array.from({ length: 300 }, (_, i) => ({ name: `s/${i}.dcm`, hex: randomBytes(100 + ((i * 7919) % 30_000)).toString('hex'),
    method: i % 3 ? 'deflated' : 'stored' }));
  const info = py({ out, members });
  const zip = await openZip(await openAsBlob(out));
  const check = async (e) => assert.equal(sha256(await e.read()), info.members.find((m) => m.name === e.path).sha256, e.path);
  for (let i = 0; i < zip.entries.length; i += 6) await Promise.all(zip.entries.slice(i, i + 6).map(check));   // as the worker reads
  for (const e of [...zip.entries].reverse()) await check(e);
  await Promise.all(zip.entries.map(check));
});

pyTest('a file changed after it was opened is zip-unreadable, not garbage', async () => {
  const out = tmpPath('changing.zip');
  writeFileSync(out, basic().bytes);
  const zip = await openZip(await openAsBlob(out), { name: 'changing.zip' });
  writeFileSync(out, Buffer.concat([basic().bytes, Buffer.from('appended')]));
  for (const e of zip.entries) {
    const err = await errorOf(e.read());
    assert.equal(err.code, 'zip-unreadable');
    assert.match(err.message, new RegExp(`^changing\\.zip: ${e.path.replace('.', '\\.')}: could not be read`));
  }
});

// ---- ZIP64 --------------------------------------------------------------------------------------------------

pyTest('ZIP64: local ZIP64 extra fields (force_zip64), and offsets above 4 GiB (a sparse file)', async () => {
  const forced = tmpPath('forced64.zip');
  py({ out: forced, members: Object.keys(FILES).map((rel) => ({ name: rel, src: src(rel), force_zip64: true })) });
  const raw = readFileSync(forced);
  assert.equal(raw.readUInt32LE(30 + raw.readUInt16LE(26)) & 0xffff, 1, 'the first local header carries a ZIP64 extra field');
  const a = await readAll(await openAsBlob(forced));
  for (const rel of Object.keys(FILES)) assert.ok(Buffer.from(a.data.get(rel)).equals(FILES[rel]), rel);

  const skip = 2 ** 32 + 2 ** 24;
  const far = tmpPath('far64.zip');
  const info = py({ out: far, skip, members: Object.keys(FILES).map((rel, i) => ({ name: rel, src: src(rel), method: i % 2 ? 'stored' : 'deflated' })) });
  assert.ok(info.members.every((m) => m.offset > 2 ** 32), 'every local header is above 4 GiB');
  assert.ok(statSync(far).blocks * 512 < 2 ** 30, 'the file is sparse');
  const tail = Buffer.alloc(200);
  const fd = openSync(far, 'r');
  readSync(fd, tail, 0, 200, info.size - 200);
  closeSync(fd);
  assert.ok(tail.includes(Buffer.from([0x50, 0x4b, 6, 6])), 'zipfile wrote a ZIP64 end record');
  const b = await readAll(fileSource(far));
  assert.deepEqual(b.zip.problems, []);
  for (const rel of Object.keys(FILES)) assert.ok(Buffer.from(b.data.get(rel)).equals(FILES[rel]), `far: ${rel}`);
});

// ---- names --------------------------------------------------------------------------------------------------

pyTest('names: UTF-8 (flag bit 11), CP437 without the flag, unflagged UTF-8, Info-ZIP Unicode Path extra', async () => {
  const out = tmpPath('names.zip');
  const cp437Names = ['Ñandú/café IM1.dcm', 'Größe ½/└─ü.dcm'];
  const info = py({ out, members: [
    { name: 'Étude/患者/Zoë.dcm', hex: '01' },                                   // zipfile: UTF-8, flag set
    ...cp437Names.map((name) => ({ name, encoding: 'cp437', hex: '02' })),     // CP437, no flag
    { name: 'mac/Ärztin Ø.dcm', encoding: 'utf-8', hex: '03' },               // UTF-8, no flag (macOS, many Linux tools)
    { raw_name_hex: Buffer.from('L_d_/plik.dcm').toString('hex'), unicode_path: 'Łódź/plik.dcm', hex: '04' },
    { raw_name_hex: Buffer.from('stale.dcm').toString('hex'), unicode_path: 'renamed-since.dcm', unicode_crc_xor: 1, hex: '05' },
    { name: 'ascii/plain name.dcm', hex: '06' },
  ] });
  assert.ok(info.members[0].flags & 0x800 && !(info.members[1].flags & 0x800), 'flag bit 11 only on the first');
  assert.deepEqual(info.members.slice(1, 3).map((m) => m.name), cp437Names, 'zipfile reads the CP437 names back');
  const { zip, data } = await readAll(await openAsBlob(out));
  assert.deepEqual(zip.entries.map((e) => e.path), [
    'Étude/患者/Zoë.dcm', ...cp437Names, 'mac/Ärztin Ø.dcm', 'Łódź/plik.dcm', 'stale.dcm', 'ascii/plain name.dcm',
  ]);
  assert.deepEqual([...data.values()].map((b) => b[0]), [1, 2, 2, 3, 4, 5, 6]);
  assert.deepEqual(zip.notes, []);

  // Every byte 0x80..0xFF as CP437, against Python's codec.
  const all = tmpPath('cp437.zip');
  const high = Buffer.from(Array.from({ length: 128 }, (_, i) => 0x80 + i));
  const allInfo = py({ out: all, members: [{ raw_name_hex: Buffer.concat([Buffer.from('x'), high]).toString('hex'), hex: '00' }] });
  const z2 = await openZip(await openAsBlob(all));
  assert.equal(z2.entries[0].path, allInfo.members[0].name);
});

pyTest('hostile names: absolute paths, "..", drive letters, backslashes, control characters, duplicates; macOS junk skipped', async () => {
  const out = tmpPath('hostile.zip');
  const names = ['../../etc/evil.dcm', '/abs/root.dcm', 'a/./b/../c.dcm', 'C:\\Windows\\x.dcm', 'dir\\sub\\y.dcm',
    'bell\u0007name.dcm', 'rtl\u202egpj.exe', 'dup.dcm', 'dup.dcm', '..', '__MACOSX/a/._IM1.dcm', 'a/._IM2.dcm', 'a/.DS_Store',
    'ok/IM9.dcm'];
  py({ out, members: names.map((n, i) => ({ name: n, hex: Buffer.from(`#${i}`).toString('hex'), method: 'stored' })) });
  const { zip, data } = await readAll(await openAsBlob(out), { name: 'hostile.zip' });
  assert.deepEqual(zip.entries.map((e) => e.path), ['etc/evil.dcm', 'abs/root.dcm', 'a/b/c.dcm', 'Windows/x.dcm', 'dir/sub/y.dcm',
    'bell_name.dcm', 'rtl_gpj.exe', 'dup.dcm', 'dup.dcm (2)', 'unnamed-10', 'ok/IM9.dcm']);
  for (const e of zip.entries) {
    assert.ok(!e.path.startsWith('/') && !e.path.split('/').includes('..') && !/[\\\u0000-\u001f]/.test(e.path), e.path);
  }
  assert.deepEqual([...data.values()].map((b) => Buffer.from(b).toString()), ['#0', '#1', '#2', '#3', '#4', '#5', '#6', '#7', '#8', '#9', '#13']);
  const noted = zip.notes.map((n) => `${n.code} ${n.path}`);
  assert.deepEqual(noted, ['zip-name-changed etc/evil.dcm', 'zip-name-changed abs/root.dcm', 'zip-name-changed a/b/c.dcm',
    'zip-name-changed Windows/x.dcm', 'zip-name-changed bell_name.dcm', 'zip-name-changed rtl_gpj.exe',
    'zip-duplicate-name dup.dcm (2)', 'zip-name-changed unnamed-10', 'zip-junk hostile.zip']);
  assert.match(zip.notes.at(-1).reason, /3 macOS metadata files/);
  assert.deepEqual(zip.problems, []);
});

// ---- members that cannot be read ----------------------------------------------------------------------------

zipTest('an encrypted member (zip -P) is a problem naming it; the other members still read', async () => {
  const out = tmpPath('encrypted.zip');
  zipCli(['-P', 'secret', out, 'study/CT/IM0001.dcm'], SRC);
  zipCli([out, 'study/CT/IM0002.dcm', 'study/tiny.txt'], SRC);
  assert.equal(pyList(out).members[0].flags & 1, 1, 'zip encrypted the first member');
  const { zip, data } = await readAll(await openAsBlob(out), { name: 'encrypted.zip' });
  assert.deepEqual(zip.entries.map((e) => e.path), ['study/CT/IM0002.dcm', 'study/tiny.txt']);
  assert.ok(Buffer.from(data.get('study/CT/IM0002.dcm')).equals(FILES['study/CT/IM0002.dcm']));
  assert.equal(zip.problems.length, 1);
  assert.equal(zip.problems[0].code, 'zip-encrypted');
  assert.equal(zip.problems[0].path, 'study/CT/IM0001.dcm');
  assert.match(zip.problems[0].reason, /^encrypted\.zip: study\/CT\/IM0001\.dcm: is password-protected/);
});

pyTest('bzip2 and LZMA members are problems naming the member and the method; the others read', async () => {
  const out = tmpPath('methods.zip');
  py({ out, members: [
    { name: 'b.dcm', src: src('study/CT/IM0002.dcm'), method: 'bzip2' },
    { name: 'd.dcm', src: src('study/CT/IM0002.dcm'), method: 'deflated' },
    { name: 'l.dcm', src: src('study/CT/IM0002.dcm'), method: 'lzma' },
  ] });
  const { zip, data } = await readAll(await openAsBlob(out), { name: 'methods.zip' });
  assert.deepEqual([...data.keys()], ['d.dcm']);
  assert.ok(Buffer.from(data.get('d.dcm')).equals(FILES['study/CT/IM0002.dcm']));
  assert.deepEqual(zip.problems.map((p) => [p.path, p.code]), [['b.dcm', 'zip-unsupported'], ['l.dcm', 'zip-unsupported']]);
  assert.match(zip.problems[0].reason, /^methods\.zip: b\.dcm: is compressed with bzip2 \(method 12\)/);
  assert.match(zip.problems[1].reason, /LZMA \(method 14\)/);
});

zipTest('a symbolic link (zip -y) is a problem, not a file; a split archive (zip -s) is refused as such', async () => {
  const dir = tmpPath('links');
  mkdirSync(dir);
  writeFileSync(join(dir, 'real.dcm'), 'real');
  symlinkSync('real.dcm', join(dir, 'link.dcm'));
  const out = tmpPath('links.zip');
  zipCli(['-y', out, 'real.dcm', 'link.dcm'], dir);
  const zip = await openZip(await openAsBlob(out));
  assert.deepEqual(zip.entries.map((e) => e.path), ['real.dcm']);
  assert.deepEqual(zip.problems.map((p) => [p.path, p.code]), [['link.dcm', 'zip-unsupported']]);
  assert.match(zip.problems[0].reason, /symbolic link/);

  const split = join(tmpPath('split'), 'split.zip');
  mkdirSync(dirname(split));
  writeFileSync(join(dirname(split), 'noise.bin'), randomBytes(300_000));
  zipCli(['-s', '64k', split, 'noise.bin'], dirname(split));
  assert.ok(readdirSync(dirname(split)).includes('split.z01'), 'zip made a split archive');
  const e = await errorOf(openZip(await openAsBlob(split), { name: 'split.zip' }));
  assert.equal(e.code, 'zip-unsupported');
  assert.match(e.message, /^split\.zip: .*split/);
});

// ---- damage -------------------------------------------------------------------------------------------------

pyTest('a flipped byte is caught: stored data by its CRC (zip-crc), deflated data by the inflater or the CRC', async () => {
  const { info, bytes } = basic();
  const [stored, deflated] = info.members;
  const sAt = dataStart(bytes, stored.offset);
  const damaged = Buffer.from(bytes);
  damaged[sAt + 1000] ^= 0x20;
  const zip = await openZip(damaged, { name: 'flip.zip' });
  const e = await errorOf(zip.entries[0].read());
  assert.equal(e.code, 'zip-crc');
  assert.match(e.message, /^flip\.zip: a\/IM0001\.dcm: .*CRC-32/);
  assert.equal(e.path, 'a/IM0001.dcm');
  assert.ok(Buffer.from(await zip.entries[2].read()).equals(ORIGINAL['a/IM0003.dcm']), 'the others still read');

  const dAt = dataStart(bytes, deflated.offset);
  for (let k = 1; k <= 24; k++) {
    const at = dAt + Math.floor((deflated.csize * k) / 26);
    const d = Buffer.from(bytes);
    d[at] ^= 1 << (k % 8);
    const z = await openZip(d);
    const code = await codeOf(z.entries[1].read(), `flip at ${at - dAt}`);
    assert.ok(code === 'zip-corrupt' || code === 'zip-crc', `flip at ${at - dAt}: ${code}`);
  }
});

pyTest('a truncated archive is zip-truncated at every cut (zip-corrupt below 4 bytes), never a TypeError', async () => {
  const { info, bytes } = basic();
  const cuts = [0, 1, 3, 4, 21, 22, 31, 100, 5000, bytes.length >> 1, info.start_dir - 1, info.start_dir, info.start_dir + 10,
    bytes.length - 23, bytes.length - 22, bytes.length - 21, bytes.length - 1];
  for (const cut of cuts) {
    const code = await codeOf(openZip(bytes.subarray(0, cut), { name: 'cut.zip' }), `cut at ${cut}`);
    assert.equal(code, cut < 4 ? 'zip-corrupt' : 'zip-truncated', `cut at ${cut}`);
  }
  const e = await errorOf(openZip(bytes.subarray(0, bytes.length - 5), { name: 'cut.zip' }));
  assert.match(e.message, /^cut\.zip: .*incomplete/);
  // Not a ZIP at all.
  for (const other of [Buffer.alloc(0), randomBytes(100_000), readFileSync(fileURLToPath(import.meta.url))]) {
    assert.equal(await codeOf(openZip(other)), 'zip-corrupt');
  }
});

pyTest('a comment cut short still opens (only the comment is lost); a fake end record inside the comment is not taken', async () => {
  const out = tmpPath('comment.zip');
  const fake = Buffer.alloc(22);
  fake.writeUInt32LE(0x06054b50, 0);
  fake.writeUInt16LE(7, 10);
  fake.writeUInt32LE(12345, 16);
  const comment = Buffer.concat([Buffer.from('exported by a PACS '), fake, Buffer.alloc(3000, 0x2e)]);
  py({ out, comment_hex: comment.toString('hex'), members: [{ name: 'IM1.dcm', src: src('study/CT/IM0001.dcm'), method: 'stored' }] });
  const whole = readFileSync(out);
  for (const bytes of [whole, whole.subarray(0, whole.length - 1000)]) {
    const { zip, data } = await readAll(bytes);
    assert.deepEqual(zip.entries.map((e) => e.path), ['IM1.dcm']);
    assert.ok(Buffer.from(data.get('IM1.dcm')).equals(FILES['study/CT/IM0001.dcm']));
  }
});

pyTest('data prepended to an archive (a self-extractor stub) is found as unzip finds it; zip -A fixed offsets too', async () => {
  const { bytes } = basic();
  const glued = Buffer.concat([randomBytes(5000), bytes]);
  const { data } = await readAll(glued);
  for (const [path, orig] of Object.entries(ORIGINAL)) assert.ok(Buffer.from(data.get(path)).equals(orig), path);
  if (ZIP) {
    const out = tmpPath('sfx.zip');
    writeFileSync(out, glued);
    zipCli(['-A', out]);
    const fixed = await readAll(await openAsBlob(out));
    for (const [path, orig] of Object.entries(ORIGINAL)) assert.ok(Buffer.from(fixed.data.get(path)).equals(orig), `-A ${path}`);
  }
});

pyTest('a central directory pointing past the end, elsewhere, or declaring nonsense is refused with a clear message', async () => {
  const { info, bytes } = basic();
  const end = endRecord(bytes);
  const patch = (at, write) => {
    const b = Buffer.from(bytes);
    write(b, at);
    return b;
  };
  const cases = [
    ['offset past the end', patch(end + 16, (b, at) => b.writeUInt32LE(bytes.length + 1000, at)), 'zip-corrupt', /past the end of the file/],
    ['offset into the data', patch(end + 16, (b, at) => b.writeUInt32LE(7, at)), 'zip-corrupt', /not where the end record says/],
    ['size beyond the archive', patch(end + 12, (b, at) => b.writeUInt32LE(0xffffff00, at)), 'zip-corrupt', /larger than the archive/],
    ['more members than fit', patch(end + 8, (b, at) => { b.writeUInt16LE(60000, at); b.writeUInt16LE(60000, at + 2); }), 'zip-corrupt', /declares 60000 members/],
    ['fewer members', patch(end + 8, (b, at) => { b.writeUInt16LE(2, at); b.writeUInt16LE(2, at + 2); }), 'zip-corrupt', /declares 2 members but/],
    ['another disk', patch(end + 4, (b, at) => b.writeUInt16LE(1, at)), 'zip-unsupported', /split/],
    ['a damaged record', patch(centralRecords(bytes, info.start_dir)[1], (b, at) => b.writeUInt32LE(0x0badf00d, at)), 'zip-corrupt', /record 2 is damaged/],
  ];
  for (const [what, archive, code, message] of cases) {
    const e = await errorOf(openZip(archive, { name: 'bad.zip' }), what);
    assert.equal(e.code, code, what);
    assert.match(e.message, /^bad\.zip: /, what);
    assert.match(e.message, message, what);
  }
  assert.equal(await codeOf(openZip(bytes, { limits: { maxEntries: 2 } })), 'zip-too-large');
  assert.equal(await codeOf(openZip(bytes, { limits: { maxCentralDirectory: 100 } })), 'zip-too-large');
});

pyTest('members pointing outside the archive, at the wrong place, or overlapping each other are refused', async () => {
  const { info, bytes } = basic();
  const recs = centralRecords(bytes, info.start_dir);
  const withOffset = (i, offset) => {
    const b = Buffer.from(bytes);
    b.writeUInt32LE(offset, recs[i] + 42);
    return b;
  };
  // Past the directory: a problem at open.
  let zip = await openZip(withOffset(2, bytes.length + 5), { name: 'o.zip' });
  assert.deepEqual(zip.problems.map((p) => [p.path, p.code]), [['a/IM0003.dcm', 'zip-corrupt']]);
  assert.match(zip.problems[0].reason, /outside the archive/);
  // One byte off: no local header there, found at read.
  zip = await openZip(withOffset(0, info.members[0].offset + 1));
  assert.equal(await codeOf(zip.entries[0].read()), 'zip-corrupt');
  // Two members sharing one local header (the overlap zip bombs are made of): refused, and nothing reads wrong bytes.
  zip = await openZip(withOffset(2, info.members[0].offset), { name: 'o.zip' });
  assert.ok(zip.problems.some((p) => p.code === 'zip-corrupt' && /overlaps/.test(p.reason)), JSON.stringify(zip.problems));
  for (const e of zip.entries) {
    let bytesRead = null;
    const code = await codeOf(e.read().then((b) => { bytesRead = b; }));
    if (code === 'ok') assert.ok(Buffer.from(bytesRead).equals(ORIGINAL[e.path]), `${e.path} read someone else's bytes`);
  }
});

pyTest('size lies: more output than declared stops the inflater, less is refused, a bomb ratio is refused before allocation', async () => {
  const { info, bytes } = basic();
  const recs = centralRecords(bytes, info.start_dir);
  const text = info.members[1];
  const declaring = (size) => {
    const b = Buffer.from(bytes);
    b.writeUInt32LE(size, recs[1] + 24);
    return b;
  };
  let e = await errorOf((await openZip(declaring(text.size - 1), { name: 'lie.zip' })).entries[1].read());
  assert.equal(e.code, 'zip-corrupt');
  assert.match(e.message, /^lie\.zip: a\/IM0002\.dcm: inflates to more than/);
  e = await errorOf((await openZip(declaring(text.size + 1))).entries[1].read());
  assert.equal(e.code, 'zip-corrupt');
  assert.match(e.message, new RegExp(`ends after ${text.size} of the ${text.size + 1} bytes`));

  const before = process.memoryUsage().arrayBuffers;
  for (const [size, message] of [[0x60000000, /more than Deflate can produce/], [0xc0000000, /over the 2048 MB limit/]]) {
    const zip = await openZip(declaring(size), { name: 'bomb.zip' });
    assert.deepEqual(zip.entries.map((x) => x.path), ['a/IM0001.dcm', 'a/IM0003.dcm']);
    assert.deepEqual(zip.problems.map((p) => [p.path, p.code]), [['a/IM0002.dcm', 'zip-too-large']]);
    assert.match(zip.problems[0].reason, message);
  }
  assert.ok(process.memoryUsage().arrayBuffers - before < 2 ** 26, 'no buffer of the declared size was made');
});

pyTest('real deflate at its maximum ratio (64 MiB of zeros) opens; a tighter ratio limit refuses it; a low declared size stops it early', async () => {
  const out = tmpPath('zeros.zip');
  const info = py({ out, level: 9, members: [{ name: 'blank.raw', gen: 'zeros', size: 64 * 2 ** 20, method: 'deflated' }] });
  const z = info.members[0];
  assert.ok(z.size / z.csize > 1000, `zlib's ratio on zeros is ${(z.size / z.csize).toFixed(0)}:1`);
  assert.ok(z.size / z.csize <= DEFAULT_LIMITS.maxRatio);
  const zip = await openZip(await openAsBlob(out));
  const blank = await zip.entries[0].read();
  assert.equal(blank.length, z.size);
  assert.ok(blank.every((b) => b === 0));
  const strict = await openZip(await openAsBlob(out), { limits: { maxRatio: 100 } });
  assert.deepEqual(strict.problems.map((p) => p.code), ['zip-too-large']);

  const bytes = readFileSync(out);
  bytes.writeUInt32LE(2 ** 20, centralRecords(bytes, info.start_dir)[0] + 24);     // "1 MiB" of the 64 MiB
  const before = process.memoryUsage().arrayBuffers;
  const e = await errorOf((await openZip(bytes)).entries[0].read());
  assert.equal(e.code, 'zip-corrupt');
  assert.ok(process.memoryUsage().arrayBuffers - before < 2 ** 25, 'the inflater stopped near 1 MiB');
});

pyTest('random damage to the directory and headers: always a ZipError or correct bytes, never a TypeError, never a hang', async () => {
  const out = tmpPath('fuzz.zip');
  const info = py({ out, members: [
    { name: 'f/one.dcm', hex: randomBytes(700).toString('hex'), method: 'stored' },
    { name: 'f/two.dcm', src: src('study/tiny.txt'), method: 'deflated' },
    { name: 'f/three.dcm', hex: Buffer.from('three '.repeat(300)).toString('hex'), method: 'deflated', force_zip64: true },
  ] });
  const bytes = readFileSync(out);
  const truth = new Map();
  for (const e of (await readAll(bytes)).zip.entries) truth.set(`${e.path}:${e.crc32}`, sha256(await e.read()));
  let seed = 0x5eed;
  const rand = (n) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const hot = [...info.members.map((m) => m.offset), info.start_dir, endRecord(bytes)];
  const outcomes = {};
  for (let round = 0; round < 400; round++) {
    const b = Buffer.from(bytes);
    for (let k = 1 + rand(3); k > 0; k--) {
      const at = Math.min(b.length - 4, hot[rand(hot.length)] + rand(60));
      const v = [0, 0xff, 0xffff, 0xffffffff, rand(0x10000), rand(2 ** 31)][rand(6)];
      if (rand(2)) b[at] = v & 0xff; else b.writeUInt32LE(v >>> 0, at);
    }
    const run = (async () => {
      let zip;
      const code = await codeOf(openZip(b).then((z) => { zip = z; }), `round ${round}`);
      outcomes[code] = (outcomes[code] ?? 0) + 1;
      if (!zip) return;
      for (const e of zip.entries) {
        let got = null;
        const c = await codeOf(e.read().then((x) => { got = x; }), `round ${round} ${e.path}`);
        outcomes[`read ${c}`] = (outcomes[`read ${c}`] ?? 0) + 1;
        // A member that reads must have the CRC it declares; a known one must have its known bytes.
        if (c === 'ok') {
          assert.equal(crc32(got), e.crc32);
          const known = truth.get(`${e.path}:${e.crc32}`);
          if (known) assert.equal(sha256(got), known, `round ${round}: ${e.path}`);
        }
      }
    })();
    let timer;
    const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`round ${round} hung`)), 5000); });
    await Promise.race([run, timeout]).finally(() => clearTimeout(timer));
  }
  assert.ok(Object.keys(outcomes).length > 3, JSON.stringify(outcomes));
});

// ---- real studies and the memory promise --------------------------------------------------------------------

test('a real CT series (corpus dcm_qa_ct/In/GE) zipped by zip -r and by zipfile reads back byte for byte', async (t) => {
  const GE = join(CORPUS, 'dcm_qa_ct/In/GE');
  if (!existsSync(GE)) {
    const message = `NOT RUN: corpus folder ${GE} is not available`;
    if (CI) throw new Error(message);
    console.warn(`\n*** ${t.name}: ${message} ***\n`);
    t.skip(message);
    return;
  }
  if (!PYTHON || !ZIP) {
    if (CI) throw new Error('python3/zip missing');
    t.skip('NOT RUN: python3 or zip missing');
    return;
  }
  const names = readdirSync(GE).filter((n) => n.endsWith('.dcm')).sort();
  assert.ok(names.length >= 20);
  const cli = tmpPath('ge-cli.zip');
  zipCli(['-r', cli, 'GE'], dirname(GE));
  const pyz = tmpPath('ge-py.zip');
  py({ out: pyz, members: names.map((n, i) => ({ name: `GE/${n}`, src: join(GE, n), method: i % 3 ? 'deflated' : 'stored' })) });
  for (const out of [cli, pyz]) {
    const { zip, data } = await readAll(await openAsBlob(out));
    assert.deepEqual(zip.problems, []);
    assert.deepEqual([...data.keys()].sort(), names.map((n) => `GE/${n}`));
    for (const n of names) assert.ok(Buffer.from(data.get(`GE/${n}`)).equals(readFileSync(join(GE, n))), `${out}: ${n}`);
  }
});

pyTest('a ~200 MB archive is read member by member with memory near one member, never the archive; throughput', async (t) => {
  const { out, info } = await BIG;
  const archiveSize = statSync(out).size;
  assert.ok(archiveSize > 190e6, `the archive is ${(archiveSize / 1e6).toFixed(0)} MB`);
  const zip = await openZip(await openAsBlob(out), { name: 'big.zip' });
  assert.deepEqual(zip.entries.map((e) => e.path), info.members.map((m) => m.name));
  const largest = Math.max(...zip.entries.map((e) => e.size));
  const mbText = (n) => `${(n / 1e6).toFixed(0)} MB`;

  // Throughput first, alone: after the other background writers are done, and without the memory sampler below.
  await Promise.allSettled([HUGE, MANY]);
  const time = { 0: 0, 8: 0 };
  const bytesBy = { 0: 0, 8: 0 };
  for (const [i, e] of zip.entries.entries()) {
    const t0 = performance.now();
    const bytes = await e.read();
    time[e.method] += performance.now() - t0;
    bytesBy[e.method] += bytes.length;
    assert.equal(sha256(bytes), info.members[i].sha256, e.path);
  }
  t.diagnostic(`stored (Blob stream + CRC-32): ${(bytesBy[0] / 1e3 / time[0]).toFixed(0)} MB/s; `
    + `deflate (DecompressionStream + CRC-32): ${(bytesBy[8] / 1e3 / time[8]).toFixed(0)} MB/s of output`);

  // Memory: each member read, hashed, dropped (as the worker does once the core has its copy). V8 frees ArrayBuffer
  // memory on a background thread after a collection, so between members it is collected and given a moment; during
  // a read the garbage of stream chunks waits for V8's external-memory GC trigger, hence the fixed margin.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc');
  const settle = async () => {
    for (let k = 0; k < 2; k++) {
      gc();
      await new Promise((r) => setTimeout(r, 40));
    }
  };
  await settle();
  const base = process.memoryUsage();
  let peakRss = base.rss;
  let peakBuffers = base.arrayBuffers;
  const sample = () => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakBuffers = Math.max(peakBuffers, m.arrayBuffers);
  };
  const sampler = setInterval(sample, 3);
  const perMember = [];
  try {
    for (const [i, e] of zip.entries.entries()) {
      let bytes = await e.read();
      sample();
      assert.equal(sha256(bytes), info.members[i].sha256, e.path);
      perMember.push(Math.round((peakBuffers - base.arrayBuffers) / 1e6));
      bytes = null;
      await settle();
    }
  } finally {
    clearInterval(sampler);
  }
  const rssGrowth = peakRss - base.rss;
  const bufferGrowth = peakBuffers - base.arrayBuffers;
  t.diagnostic(`archive ${mbText(archiveSize)}, largest member ${mbText(largest)}: peak RSS growth ${mbText(rssGrowth)}, `
    + `peak ArrayBuffer growth ${mbText(bufferGrowth)} (running peak after each member, MB: ${perMember.join(' ')})`);
  const MARGIN = 64e6;
  assert.ok(bufferGrowth < 1.3 * largest + MARGIN, `ArrayBuffers grew by ${mbText(bufferGrowth)}`);
  assert.ok(rssGrowth < 1.3 * largest + MARGIN, `RSS grew by ${mbText(rssGrowth)} while reading a ${mbText(archiveSize)} archive`);
});

// ---- the slow ones last: their archives are written in the background meanwhile ----------------------------

pyTest('ZIP64: more than 65535 members (the ZIP64 end record holds the count)', async (t) => {
  const { out, info } = await MANY;
  assert.equal(info.members.length, MANY_N);
  const raw = readFileSync(out);
  assert.equal(raw.readUInt16LE(endRecord(raw) + 10), 0xffff, 'the classic end record is saturated');
  let t0 = performance.now();
  const zip = await openZip(await openAsBlob(out));
  const openMs = performance.now() - t0;
  assert.equal(zip.entries.length, MANY_N);
  t0 = performance.now();
  const td = new TextDecoder();
  for (let i = 0; i < MANY_N; i++) {
    const e = zip.entries[i];
    assert.equal(e.path, info.members[i].name);
    assert.equal(td.decode(await e.read()), `member ${i}\n`);
  }
  const readMs = performance.now() - t0;
  t.diagnostic(`70 000 members: listed in ${openMs.toFixed(0)} ms, all read in ${readMs.toFixed(0)} ms`);
});

pyTest('ZIP64: a member over 4 GiB is listed with its 64-bit sizes, refused by the default limit before anything is read', async () => {
  const { out, info } = await HUGE;
  const zeros = info.members[1];
  assert.ok(zeros.size > 2 ** 32 && zeros.csize < 2 ** 32);
  const before = process.memoryUsage().arrayBuffers;
  const zip = await openZip(await openAsBlob(out), { name: 'huge.zip' });
  assert.ok(process.memoryUsage().arrayBuffers - before < 2 ** 26, 'nothing big was allocated');
  assert.deepEqual(zip.entries.map((e) => e.path), ['small.txt']);
  assert.equal(new TextDecoder().decode(await zip.entries[0].read()), 'before the big one\n');
  assert.equal(zip.problems.length, 1);
  assert.equal(zip.problems[0].code, 'zip-too-large');
  assert.match(zip.problems[0].reason, /huge\.zip: zeros\.raw: is 4097 MB/);
  // With the limit raised it is listed, with zipfile's sizes (not read: 4 GiB).
  const raised = await openZip(await openAsBlob(out), { limits: { maxEntrySize: 2 ** 33 } });
  const e = raised.entries.find((x) => x.path === 'zeros.raw');
  assert.deepEqual([e.size, e.compressedSize, e.crc32], [zeros.size, zeros.csize, zeros.crc]);
});
