// www/qr.js against an independent decoder: every code is rendered to a PNG (a tiny encoder below, greyscale
// 8-bit, 4 px per module, 4-module quiet zone) and read back with zbar's `zbarimg --raw -q`, which must return
// the input exactly. zbar corrects errors and reads either copy of the format/version information, so the
// structural tests below check what it would forgive: finders, timing, both format copies, both version copies,
// and the smallest version by the standard's capacity table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { byteCapacity, encodeQr, qrToCanvas, qrToSvg } from '../../www/qr.js';

// ---- the oracle -------------------------------------------------------------------------------------------------
let zbar = true;
try { execFileSync('zbarimg', ['--version'], { stdio: 'ignore' }); } catch { zbar = false; }
if (!zbar) {
  if (process.env.CI === 'true') throw new Error('zbarimg is missing on CI: apt-get install -y zbar-tools');
  console.warn('qr.test.mjs: zbarimg is missing, the decode tests are NOT RUN (apt-get install -y zbar-tools)');
}
const decodeTest = (name, fn) => test(name, { skip: zbar ? false : 'NOT RUN: zbarimg missing' }, fn);

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}
/** A greyscale 8-bit PNG of the code: dark = 0, light = 255. */
function qrPng({ size, modules }, scale = 4, margin = 4) {
  const px = (size + 2 * margin) * scale;
  const raw = Buffer.alloc((px + 1) * px, 255);
  for (let y = 0; y < px; y++) {
    raw[y * (px + 1)] = 0;                                   // filter type 0 (None)
    const my = Math.floor(y / scale) - margin;
    for (let x = 0; x < px; x++) {
      const mx = Math.floor(x / scale) - margin;
      if (my >= 0 && mx >= 0 && my < size && mx < size && modules[my * size + mx]) raw[y * (px + 1) + 1 + x] = 0;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(px, 0);
  ihdr.writeUInt32BE(px, 4);
  ihdr.set([8, 0, 0, 0, 0], 8);                            // 8-bit, greyscale, deflate, no filter choice, no interlace
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

const TMP = mkdtempSync(join(tmpdir(), 'lucent-qr-'));
process.on('exit', () => rmSync(TMP, { recursive: true, force: true }));
let fileNo = 0;
let decoded = 0;
process.on('exit', () => { if (zbar) console.log(`# qr.test.mjs: ${decoded} codes decoded by zbarimg`); });

/** zbar's reading of the code (one symbol expected), or throws with zbar's exit status. */
function zbarRead(qr) {
  const file = join(TMP, `qr${fileNo++}.png`);
  writeFileSync(file, qrPng(qr));
  let out;
  try {
    out = execFileSync('zbarimg', ['--raw', '-q', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new Error(`zbarimg could not read version ${qr.version}-${qr.ecl} mask ${qr.mask} (status ${e.status})`);
  }
  return out.toString('utf8').replace(/\n$/, '');
}
function roundTrip(text, opts) {
  const qr = encodeQr(text, opts);
  assert.equal(zbarRead(qr), text, `version ${qr.version}-${qr.ecl} mask ${qr.mask}`);
  decoded++;
  return qr;
}

// A deterministic printable-ASCII text of n characters.
function textOf(n, seed = 1) {
  let s = '', x = seed;
  for (let i = 0; i < n; i++) { x = (x * 1103515245 + 12345) & 0x7fffffff; s += String.fromCharCode(32 + ((x >> 16) % 95)); }
  return s;
}

// A share link as docs/share-bundle.md builds it: viewer URL, '#', bundle location, '.', 43-character secret.
const SHARE_URL = 'https://viewer.example-hospitals.org/share.html#shares/0123456789abcdef.lucent.' +
  'Qm9vb29vb29vb29vb29vb29vb29vb29vb29vb28k3yA';  // 122 characters

// ---- decoded by zbar --------------------------------------------------------------------------------------------
decodeTest('a short text is a version 1 code that zbar reads', () => {
  const qr = roundTrip('Lucent');
  assert.equal(qr.version, 1);
});

decodeTest('a share link (~120 characters) reads back exactly, at every level', () => {
  assert.equal(SHARE_URL.length, 122);
  // Byte capacities (ISO/IEC 18004 Table 7): version 6 holds 134 L / 106 M, version 7 154 L / 122 M / 86 Q / 64 H,
  // version 8 108 Q / 84 H, version 9 130 Q / 98 H, version 10 119 H, version 11 137 H.
  const expected = { L: 6, M: 7, Q: 9, H: 11 };
  for (const ecl of ['L', 'M', 'Q', 'H']) {
    const qr = roundTrip(SHARE_URL, { ecl });
    assert.equal(qr.version, expected[ecl], `level ${ecl}`);
    assert.equal(qr.size, 17 + 4 * expected[ecl]);
  }
});

decodeTest('a ~300-character text needs several interleaved blocks (version 13-M) and reads back', () => {
  // Table 7: version 12-M holds 287 bytes, 13-M 331. Table 9: 13-M is 8 blocks of 33 + 1 block of 34 data codewords.
  const text = textOf(300, 7);
  const qr = roundTrip(text, { ecl: 'M' });
  assert.equal(qr.version, 13);
  for (const ecl of ['L', 'Q', 'H']) roundTrip(text, { ecl });
});

decodeTest('texts exactly at a capacity boundary take that version, one byte more takes the next', () => {
  // Table 7 byte capacities relied on: 1-L 17, 2-Q 20, 9-H 98 (the last 8-bit count), 10-M 213, 27-L 1465.
  for (const [v, ecl, cap] of [[1, 'L', 17], [2, 'Q', 20], [9, 'H', 98], [10, 'M', 213], [27, 'L', 1465]]) {
    assert.equal(roundTrip(textOf(cap, v), { ecl }).version, v, `${cap} bytes at ${ecl}`);
    assert.equal(roundTrip(textOf(cap + 1, v), { ecl }).version, v + 1, `${cap + 1} bytes at ${ecl}`);
  }
});

decodeTest('UTF-8 text (non-ASCII) is encoded as its UTF-8 bytes and reads back', () => {
  const text = 'Étude IRM — patiente Zoë, 東京 ✓ ünïcödé';
  const qr = roundTrip(text, { ecl: 'Q' });
  // 52 UTF-8 bytes: Table 7, 3-Q holds 32, 4-Q 46, 5-Q 60.
  assert.equal(new TextEncoder().encode(text).length, 52);
  assert.equal(qr.version, 5);
});

decodeTest('each of the eight masks reads back (forced), and the chosen one too', () => {
  for (let mask = 0; mask < 8; mask++) assert.equal(roundTrip(SHARE_URL, { ecl: 'M', mask }).mask, mask);
});

decodeTest('every version 1..40, filled to capacity, reads back (levels and masks rotating)', () => {
  for (let v = 1; v <= 40; v++) {
    const ecl = 'LMQH'[v % 4];
    const qr = roundTrip(textOf(byteCapacity(v, ecl), v), { ecl, mask: v % 8 });
    assert.equal(qr.version, v);
  }
});

// ---- structure --------------------------------------------------------------------------------------------------
const at = (qr, x, y) => qr.modules[y * qr.size + x];

function assertFinder(qr, x0, y0) {
  for (let dy = -1; dy <= 7; dy++) for (let dx = -1; dx <= 7; dx++) {
    const x = x0 + dx, y = y0 + dy;
    if (x < 0 || y < 0 || x >= qr.size || y >= qr.size) continue;
    const d = Math.max(Math.abs(dx - 3), Math.abs(dy - 3));   // ring 0-1 dark, 2 light, 3 dark, 4 (separator) light
    assert.equal(at(qr, x, y), d === 2 || d === 4 ? 0 : 1, `finder at ${x0},${y0}: module ${x},${y}`);
  }
}

// The format information bits as Figure 25 lays them out (bit 14 first), copy 1 around the top-left finder, copy 2
// split between the top-right and bottom-left finders.
function formatCopies(qr) {
  const s = qr.size;
  const one = [[0, 8], [1, 8], [2, 8], [3, 8], [4, 8], [5, 8], [7, 8], [8, 8], [8, 7], [8, 5], [8, 4], [8, 3], [8, 2], [8, 1], [8, 0]];
  const two = [[8, s - 1], [8, s - 2], [8, s - 3], [8, s - 4], [8, s - 5], [8, s - 6], [8, s - 7],
    [s - 8, 8], [s - 7, 8], [s - 6, 8], [s - 5, 8], [s - 4, 8], [s - 3, 8], [s - 2, 8], [s - 1, 8]];
  const read = (cells) => cells.reduce((acc, [x, y]) => (acc << 1) | at(qr, x, y), 0);
  return [read(one), read(two)];
}

test('the size is 17 + 4 * version, with the three finders, timing patterns and the dark module', () => {
  for (const [text, ecl] of [['Lucent', 'M'], [SHARE_URL, 'M'], [textOf(300, 3), 'H'], [textOf(2331, 5), 'M']]) {
    const qr = encodeQr(text, { ecl });
    assert.equal(qr.size, 17 + 4 * qr.version);
    assert.equal(qr.modules.length, qr.size * qr.size);
    assertFinder(qr, 0, 0);
    assertFinder(qr, qr.size - 7, 0);
    assertFinder(qr, 0, qr.size - 7);
    for (let i = 8; i < qr.size - 8; i++) {
      assert.equal(at(qr, i, 6), 1 - (i % 2), `horizontal timing at ${i}`);
      assert.equal(at(qr, 6, i), 1 - (i % 2), `vertical timing at ${i}`);
    }
    assert.equal(at(qr, 8, qr.size - 8), 1, 'the dark module');
  }
  assert.equal(encodeQr(textOf(2331, 5), { ecl: 'M' }).version, 40);
});

test('both format information copies agree and carry the level and mask (Table C.1 values)', () => {
  // Annex C: the 15-bit words for M / mask 0 = 101010000010010 (0x5412), L / mask 4 = 110011000101111 (0x662F),
  // H / mask 7 = 000100000111011 (0x083B), Q / mask 2 = 011111100110001 (0x3F31).
  const words = { M0: 0x5412, L4: 0x662f, H7: 0x083b, Q2: 0x3f31 };
  for (const [key, word] of Object.entries(words)) {
    const qr = encodeQr('format information', { ecl: key[0], mask: Number(key[1]) });
    assert.deepEqual(formatCopies(qr), [word, word], key);
  }
  for (const ecl of ['L', 'M', 'Q', 'H']) {
    const qr = encodeQr(SHARE_URL, { ecl });
    const [a, b] = formatCopies(qr);
    assert.equal(a, b, `copies agree at ${ecl}`);
    const data = (a ^ 0x5412) >> 10;
    assert.equal(data & 7, qr.mask);
    assert.equal(data >> 3, { L: 1, M: 0, Q: 3, H: 2 }[ecl]);
  }
});

test('version >= 7 carries both version information blocks (Table D.1 values)', () => {
  // Annex D: version 7 = 000111110010010100 (0x07C94), version 13 = 001101100001000111 (0x0D847), 40 = 0x28C69.
  for (const [v, word, text, ecl] of [[7, 0x07c94, SHARE_URL, 'M'], [13, 0x0d847, textOf(300, 9), 'M'], [40, 0x28c69, textOf(1273, 2), 'H']]) {
    const qr = encodeQr(text, { ecl });
    assert.equal(qr.version, v);
    let top = 0, left = 0;                        // bit i at (size-11 + i%3, i/3) and its transpose
    for (let i = 17; i >= 0; i--) {
      top = (top << 1) | at(qr, qr.size - 11 + (i % 3), Math.floor(i / 3));
      left = (left << 1) | at(qr, Math.floor(i / 3), qr.size - 11 + (i % 3));
    }
    assert.equal(top, word, `top-right block, version ${v}`);
    assert.equal(left, word, `bottom-left block, version ${v}`);
  }
});

test('the version is the smallest that holds the text, by the standard\'s byte capacity table', () => {
  // ISO/IEC 18004 Table 7, byte mode, versions 1-10 then 40, levels L M Q H.
  const TABLE = {
    1: [17, 14, 11, 7], 2: [32, 26, 20, 14], 3: [53, 42, 32, 24], 4: [78, 62, 46, 34], 5: [106, 84, 60, 44],
    6: [134, 106, 74, 58], 7: [154, 122, 86, 64], 8: [192, 152, 108, 84], 9: [230, 180, 130, 98],
    10: [271, 213, 151, 119], 40: [2953, 2331, 1663, 1273],
  };
  for (const [v, caps] of Object.entries(TABLE)) {
    caps.forEach((cap, i) => assert.equal(byteCapacity(Number(v), 'LMQH'[i]), cap, `version ${v}-${'LMQH'[i]}`));
  }
  // A 60-character link at M: 4-M holds 62, 3-M 42, so version 4.
  assert.equal(encodeQr('http://127.0.0.1:8080/share.html#shares/abc.lucent.Qm9vb29vb2', { ecl: 'M' }).version, 4);
  // The default level is M.
  assert.equal(encodeQr(textOf(122)).version, 7);
  assert.equal(encodeQr(textOf(123)).version, 8);
});

test('too long a text, or an unknown level, throws a clear Error', () => {
  assert.throws(() => encodeQr(textOf(2954), { ecl: 'L' }), /too long: 2954 UTF-8 bytes.*at most 2953 at level L/);
  assert.throws(() => encodeQr('é'.repeat(1166), { ecl: 'M' }), /too long: 2332 UTF-8 bytes/);
  assert.throws(() => encodeQr('x', { ecl: 'X' }), /unknown error-correction level/);
  assert.equal(encodeQr(textOf(2953), { ecl: 'L' }).version, 40);
});

test('qrToSvg draws exactly the dark modules inside the quiet zone', () => {
  const qr = encodeQr(SHARE_URL);
  const svg = qrToSvg(qr);
  const dim = qr.size + 8;
  assert.match(svg, new RegExp(`^<svg xmlns="http://www.w3.org/2000/svg" width="${dim * 4}" height="${dim * 4}" viewBox="0 0 ${dim} ${dim}"`));
  assert.equal(svg.match(/<path /g).length, 1);
  const grid = new Uint8Array(qr.size * qr.size);
  const d = svg.match(/ d="([^"]*)"/)[1];
  for (const [, x, y, w] of d.matchAll(/M(\d+) (\d+)h(\d+)v1h-\3z/g)) {
    for (let i = 0; i < Number(w); i++) grid[(Number(y) - 4) * qr.size + Number(x) - 4 + i] += 1;
  }
  assert.deepEqual(grid, qr.modules);
  assert.equal(d.replace(/M(\d+) (\d+)h(\d+)v1h-\3z/g, ''), '', 'nothing else in the path');
  const custom = qrToSvg(qr, { scale: 2, margin: 2, dark: '#123', light: 'rgb(1,2,3)' });
  assert.match(custom, /width="\d+"/);
  assert.ok(custom.includes(`width="${(qr.size + 4) * 2}"`) && custom.includes('fill="#123"') && custom.includes('fill="rgb(1,2,3)"'));
  assert.ok(!qrToSvg(qr, { dark: '"><script>' }).includes('<script>'), 'colours are escaped');
});

test('qrToCanvas sizes the canvas and fills one square per dark module', () => {
  const qr = encodeQr('Lucent');
  const rects = [];
  const ctx = { fillStyle: '', fillRect: (x, y, w, h) => rects.push([ctx.fillStyle, x, y, w, h]) };
  const canvas = { width: 0, height: 0, getContext: (kind) => (kind === '2d' ? ctx : null) };
  assert.equal(qrToCanvas(qr, canvas, { scale: 3, margin: 4 }), canvas);
  assert.equal(canvas.width, (qr.size + 8) * 3);
  assert.equal(canvas.height, canvas.width);
  assert.deepEqual(rects[0], ['#fff', 0, 0, canvas.width, canvas.width]);
  const dark = rects.slice(1);
  assert.equal(dark.length, qr.modules.reduce((a, b) => a + b, 0));
  for (const [style, x, y, w, h] of dark) {
    assert.equal(style, '#000');
    assert.equal(w, 3); assert.equal(h, 3);
    assert.equal(at(qr, x / 3 - 4, y / 3 - 4), 1);
  }
});
