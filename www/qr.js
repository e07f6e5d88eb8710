// QR Code encoder (ISO/IEC 18004:2015), byte mode only, written for share links: a self-contained ES module with
// no dependencies. encodeQr() picks the smallest version (1..40) that holds the UTF-8 bytes of the text at the
// asked error-correction level, builds the Reed-Solomon blocks, places them, tries the eight masks and keeps the
// one with the lowest penalty. qrToSvg() / qrToCanvas() render the result with a quiet zone.
//
// Conventions: x is the column, y the row, modules[y * size + x] = 1 for a dark module.

const ECL_INDEX = { L: 0, M: 1, Q: 2, H: 3 };
// Format information's two error-correction bits (Table 12): L = 01, M = 00, Q = 11, H = 10.
const ECL_FORMAT_BITS = [1, 0, 3, 2];

// Table 9, per version 1..40 (index 0 unused) and level L, M, Q, H: error-correction codewords per block ...
const ECC_PER_BLOCK = [
  [0, 7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28, 28, 28, 30, 30, 26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
  [0, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28],
  [0, 13, 22, 18, 26, 18, 24, 18, 22, 20, 24, 28, 26, 24, 20, 30, 24, 28, 28, 26, 30, 28, 30, 30, 30, 30, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
  [0, 17, 28, 22, 16, 22, 28, 26, 26, 24, 28, 24, 28, 22, 24, 24, 30, 28, 28, 26, 28, 30, 24, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
];
// ... and the number of blocks (the sum of both block groups of Table 9).
const NUM_BLOCKS = [
  [0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8, 8, 9, 9, 10, 12, 12, 12, 13, 14, 15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25],
  [0, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49],
  [0, 1, 1, 2, 2, 4, 4, 6, 6, 8, 8, 8, 10, 12, 16, 12, 17, 16, 18, 21, 20, 23, 23, 25, 27, 29, 34, 34, 35, 38, 40, 43, 45, 48, 51, 53, 56, 59, 62, 65, 68],
  [0, 1, 1, 2, 4, 4, 4, 5, 6, 8, 8, 11, 11, 16, 16, 18, 16, 19, 21, 25, 25, 25, 34, 30, 32, 35, 37, 40, 42, 45, 48, 51, 54, 57, 60, 63, 66, 70, 74, 77, 81],
];

/** Total codewords of a version (Table 1): the modules left after the function patterns, divided by 8. */
function totalCodewords(v) {
  let modules = (16 * v + 128) * v + 64;           // area minus finders+separators, timing, format, dark module
  if (v >= 2) {
    const n = Math.floor(v / 7) + 2;               // alignment patterns per row/column (Annex E)
    modules -= (25 * n - 10) * n - 55;             // n*n-3 patterns of 25 modules, less their overlap with timing
    if (v >= 7) modules -= 36;                     // two 6x3 version information blocks
  }
  return modules >> 3;                             // the remainder bits (0..7) stay light before masking
}

const dataCodewords = (v, e) => totalCodewords(v) - NUM_BLOCKS[e][v] * ECC_PER_BLOCK[e][v];
const countBits = (v) => (v <= 9 ? 8 : 16);        // byte-mode character count indicator length (Table 3)

/** How many bytes fit in one byte-mode segment of version v at level ecl ('L', 'M', 'Q' or 'H'). */
export function byteCapacity(v, ecl = 'M') {
  return Math.floor((dataCodewords(v, ECL_INDEX[ecl]) * 8 - 4 - countBits(v)) / 8);
}

// ---- Reed-Solomon over GF(256), field polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11D), generator element 2.
const EXP = new Uint8Array(510);
const LOG = new Uint8Array(256);
for (let i = 0, x = 1; i < 255; i++, x = (x << 1) ^ (x & 0x80 ? 0x11d : 0)) { EXP[i] = x; LOG[x] = i; }
for (let i = 255; i < 510; i++) EXP[i] = EXP[i - 255];
const gfMul = (a, b) => (a && b ? EXP[LOG[a] + LOG[b]] : 0);

/** The generator polynomial (x - a^0)(x - a^1)...(x - a^(n-1)), coefficients highest degree first. */
function rsGenerator(n) {
  let g = [1];
  for (let i = 0; i < n; i++) {
    const next = new Array(g.length + 1).fill(0);
    for (let j = 0; j < g.length; j++) { next[j] ^= g[j]; next[j + 1] ^= gfMul(g[j], EXP[i]); }
    g = next;
  }
  return g;
}

/** The n error-correction codewords: data(x) * x^n mod g(x). */
function rsRemainder(data, gen) {
  const n = gen.length - 1;
  const rem = new Uint8Array(n);
  for (const byte of data) {
    const factor = byte ^ rem[0];
    rem.copyWithin(0, 1);
    rem[n - 1] = 0;
    for (let j = 0; j < n; j++) rem[j] ^= gfMul(gen[j + 1], factor);
  }
  return rem;
}

// ---- BCH-protected format (15,5) and version (18,6) information (Annex C, Annex D).
function formatBits(e, mask) {
  const data = (ECL_FORMAT_BITS[e] << 3) | mask;
  let rem = data;
  for (let i = 0; i < 10; i++) rem = (rem << 1) ^ (rem >> 9 ? 0x537 : 0);   // mod x^10+x^8+x^5+x^4+x^2+x+1
  return ((data << 10) | rem) ^ 0x5412;                                     // the fixed XOR mask 101010000010010
}
function versionBits(v) {
  let rem = v;
  for (let i = 0; i < 12; i++) rem = (rem << 1) ^ (rem >> 11 ? 0x1f25 : 0); // mod x^12+x^11+x^10+x^9+x^8+x^5+x^2+1
  return (v << 12) | rem;
}

/** Row/column centres of the alignment patterns (Annex E, Table E.1): 6, then evenly spaced up to size-7. */
function alignmentPositions(v) {
  if (v === 1) return [];
  const n = Math.floor(v / 7) + 2, size = 17 + 4 * v;
  const step = v === 32 ? 26 : Math.ceil((size - 13) / (2 * n - 2)) * 2;   // version 32 is the table's one exception
  const out = [6];
  for (let p = size - 7 - (n - 2) * step; p <= size - 7; p += step) out.push(p);
  return out;
}

/** Both copies of the format information (Figure 25) and the dark module at (8, size-8). */
function drawFormat(m, fn, size, bits) {
  const set = (x, y, i) => { m[y * size + x] = (bits >> i) & 1; fn[y * size + x] = 1; };
  for (let i = 0; i <= 5; i++) set(8, i, i);                      // around the top-left finder: column 8 ...
  set(8, 7, 6); set(8, 8, 7); set(7, 8, 8);                       // ... skipping the timing row/column ...
  for (let i = 9; i < 15; i++) set(14 - i, 8, i);                 // ... then row 8 leftwards
  for (let i = 0; i < 8; i++) set(size - 1 - i, 8, i);            // row 8 under the top-right finder
  for (let i = 8; i < 15; i++) set(8, size - 15 + i, i);          // column 8 beside the bottom-left finder
  m[(size - 8) * size + 8] = 1;
  fn[(size - 8) * size + 8] = 1;
}

/** The function patterns of a version: modules (their colours) and fn (1 where a module is not for data). */
function functionPatterns(v) {
  const size = 17 + 4 * v;
  const m = new Uint8Array(size * size), fn = new Uint8Array(size * size);
  const set = (x, y, dark) => { m[y * size + x] = dark ? 1 : 0; fn[y * size + x] = 1; };
  for (let i = 0; i < size; i++) { set(6, i, i % 2 === 0); set(i, 6, i % 2 === 0); }   // timing patterns
  for (const [cx, cy] of [[3, 3], [size - 4, 3], [3, size - 4]]) {                       // finders + separators
    for (let dy = -4; dy <= 4; dy++) for (let dx = -4; dx <= 4; dx++) {
      const x = cx + dx, y = cy + dy, d = Math.max(Math.abs(dx), Math.abs(dy));
      if (x >= 0 && y >= 0 && x < size && y < size) set(x, y, d !== 2 && d !== 4);
    }
  }
  const pos = alignmentPositions(v), last = pos.length - 1;
  for (let i = 0; i <= last; i++) for (let j = 0; j <= last; j++) {
    if ((i === 0 && j === 0) || (i === 0 && j === last) || (i === last && j === 0)) continue; // under a finder
    for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) {
      set(pos[i] + dx, pos[j] + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
    }
  }
  drawFormat(m, fn, size, 0);                                    // reserved now, written once the mask is known
  if (v >= 7) {                                                  // version information (Figure 27), two copies
    const bits = versionBits(v);
    for (let i = 0; i < 18; i++) {
      const a = size - 11 + (i % 3), b = Math.floor(i / 3), bit = (bits >> i) & 1;
      set(a, b, bit);                                            // top right: 6 rows x 3 columns
      set(b, a, bit);                                            // bottom left: 3 rows x 6 columns
    }
  }
  return { size, m, fn };
}

// Data mask conditions (Table 10), i = row, j = column: a module where the condition holds is inverted.
const MASKS = [
  (i, j) => (i + j) % 2 === 0,
  (i) => i % 2 === 0,
  (i, j) => j % 3 === 0,
  (i, j) => (i + j) % 3 === 0,
  (i, j) => (Math.floor(i / 2) + Math.floor(j / 3)) % 2 === 0,
  (i, j) => ((i * j) % 2) + ((i * j) % 3) === 0,
  (i, j) => (((i * j) % 2) + ((i * j) % 3)) % 2 === 0,
  (i, j) => (((i + j) % 2) + ((i * j) % 3)) % 2 === 0,
];

function applyMask(m, fn, size, mask) {
  const cond = MASKS[mask];
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
    if (!fn[y * size + x] && cond(y, x)) m[y * size + x] ^= 1;
  }
}

// Finder-like 1:1:3:1:1 run with four light modules on one side (penalty rule N3).
const FINDER_LIKE = [[1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0], [0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1]];

/** The penalty score of section 7.8.3: N1 = 3, N2 = 3, N3 = 40, N4 = 10. */
function penalty(m, size) {
  let score = 0;
  const line = new Uint8Array(size + 8);            // one row or column with 4 light modules each side
  for (let pass = 0; pass < 2; pass++) for (let a = 0; a < size; a++) {
    for (let b = 0; b < size; b++) line[b + 4] = pass ? m[b * size + a] : m[a * size + b];
    for (let b = 1, run = 1; b <= size; b++) {       // N1: 3 + (k - 5) for each run of k >= 5 same-colour modules
      if (b < size && line[b + 4] === line[b + 3]) run++;
      else { if (run >= 5) score += run - 2; run = 1; }
    }
    for (let b = 0; b + 11 <= line.length; b++) {   // N3, the quiet zone counting as light
      for (const p of FINDER_LIKE) if (p.every((c, k) => line[b + k] === c)) score += 40;
    }
  }
  for (let y = 0; y + 1 < size; y++) for (let x = 0; x + 1 < size; x++) {  // N2: 3 per 2x2 block of one colour
    const c = m[y * size + x];
    if (c === m[y * size + x + 1] && c === m[(y + 1) * size + x] && c === m[(y + 1) * size + x + 1]) score += 3;
  }
  let dark = 0;                                     // N4: 10 per full 5% that the dark share is away from 50%
  for (const c of m) dark += c;
  return score + Math.floor(Math.abs(dark * 20 - m.length * 10) / m.length) * 10;
}

/**
 * Encodes text (as UTF-8, one byte-mode segment) at error-correction level ecl, in the smallest version that fits.
 * `mask` (0..7) forces a mask instead of the lowest-penalty one (for tests). Returns { size, modules, version,
 * ecl, mask }; modules is row-major, size * size, 1 = dark. Throws an Error when the text does not fit version 40.
 */
export function encodeQr(text, { ecl = 'M', mask = -1 } = {}) {
  const e = ECL_INDEX[ecl];
  if (e === undefined) throw new Error(`qr: unknown error-correction level ${ecl} (use L, M, Q or H)`);
  const bytes = new TextEncoder().encode(String(text));
  let v = 1;
  while (v <= 40 && byteCapacity(v, ecl) < bytes.length) v++;
  if (v > 40) {
    throw new Error(`qr: text too long: ${bytes.length} UTF-8 bytes, a QR code holds at most ${byteCapacity(40, ecl)} at level ${ecl}`);
  }

  // The bit stream: mode 0100 (byte), character count, the bytes, terminator, then pad codewords 0xEC 0x11.
  const capacity = dataCodewords(v, e);
  const data = new Uint8Array(capacity);
  let bitLen = 0;
  const put = (value, n) => {
    for (let i = n - 1; i >= 0; i--, bitLen++) data[bitLen >> 3] |= ((value >> i) & 1) << (7 - (bitLen & 7));
  };
  put(0b0100, 4);
  put(bytes.length, countBits(v));
  for (const b of bytes) put(b, 8);
  bitLen = Math.min(bitLen + 4, capacity * 8);      // terminator (zeros, up to 4) ...
  bitLen = (bitLen + 7) & ~7;                       // ... and zero bits to a codeword boundary
  for (let i = bitLen >> 3, pad = 0xec; i < capacity; i++, pad ^= 0xec ^ 0x11) data[i] = pad;

  // Split into blocks (the shorter blocks first, the longer ones hold one more data codeword), add each block's
  // error-correction codewords, then interleave: data codewords column by column, then the EC codewords.
  const numBlocks = NUM_BLOCKS[e][v], ecc = ECC_PER_BLOCK[e][v], total = totalCodewords(v);
  const numShort = numBlocks - (total % numBlocks), shortData = Math.floor(total / numBlocks) - ecc;
  const gen = rsGenerator(ecc);
  const blocks = [];
  for (let i = 0, k = 0; i < numBlocks; i++) {
    const block = data.subarray(k, (k += shortData + (i < numShort ? 0 : 1)));
    blocks.push([block, rsRemainder(block, gen)]);
  }
  const codewords = [];
  for (let i = 0; i <= shortData; i++) for (const [d] of blocks) if (i < d.length) codewords.push(d[i]);
  for (let i = 0; i < ecc; i++) for (const [, r] of blocks) codewords.push(r[i]);

  // Placement (7.7.3): two-module-wide columns from the right, zigzagging up then down, skipping column 6 (timing);
  // most significant bit first. Modules left over (remainder bits) stay 0.
  const { size, m, fn } = functionPatterns(v);
  let bit = 0;
  for (let right = size - 1; right >= 1; right -= 2) {
    if (right === 6) right = 5;
    const upward = ((right + 1) & 2) === 0;
    for (let k = 0; k < size; k++) {
      const y = upward ? size - 1 - k : k;
      for (let x = right; x > right - 2; x--) {
        if (fn[y * size + x]) continue;
        if (bit < codewords.length * 8) m[y * size + x] = (codewords[bit >> 3] >> (7 - (bit & 7))) & 1;
        bit++;
      }
    }
  }

  // Mask selection (7.8.3): the lowest penalty, format information included.
  if (!(mask >= 0 && mask <= 7)) {
    let best = Infinity;
    for (let k = 0; k < 8; k++) {
      applyMask(m, fn, size, k);
      drawFormat(m, fn, size, formatBits(e, k));
      const score = penalty(m, size);
      if (score < best) { best = score; mask = k; }
      applyMask(m, fn, size, k);                   // XOR again: undone
    }
  }
  applyMask(m, fn, size, mask);
  drawFormat(m, fn, size, formatBits(e, mask));
  return { size, modules: m, version: v, ecl, mask };
}

const attr = (s) => String(s).replace(/[&"<>]/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * An SVG document: a light background and one <path> for the dark modules, a quiet zone of `margin` modules.
 * For an <img>: img.src = 'data:image/svg+xml,' + encodeURIComponent(qrToSvg(qr)).
 */
export function qrToSvg(qr, { scale = 4, margin = 4, dark = '#000', light = '#fff' } = {}) {
  const { size, modules } = qr, dim = size + 2 * margin;
  let d = '';
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (!modules[y * size + x]) continue;
      let run = 1;                                   // one rectangle per horizontal run of dark modules
      while (x + run < size && modules[y * size + x + run]) run++;
      d += `M${x + margin} ${y + margin}h${run}v1h-${run}z`;
      x += run - 1;
    }
  }
  const px = dim * scale;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${px}" height="${px}" viewBox="0 0 ${dim} ${dim}" ` +
    `shape-rendering="crispEdges"><rect width="${dim}" height="${dim}" fill="${attr(light)}"/>` +
    `<path fill="${attr(dark)}" d="${d}"/></svg>`;
}

/** Draws the code into a canvas (resized to fit), `scale` pixels per module, a quiet zone of `margin` modules. */
export function qrToCanvas(qr, canvas, { scale = 4, margin = 4, dark = '#000', light = '#fff' } = {}) {
  const { size, modules } = qr, px = (size + 2 * margin) * scale;
  canvas.width = px;
  canvas.height = px;
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = light;
  ctx.fillRect(0, 0, px, px);
  ctx.fillStyle = dark;
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
    if (modules[y * size + x]) ctx.fillRect((x + margin) * scale, (y + margin) * scale, scale, scale);
  }
  return canvas;
}
