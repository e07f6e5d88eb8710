// A deliberately tiny DICOM header reader, independent of the viewer's Rust parser, so the tests can check
// slice order against the files themselves. Little-endian (explicit or implicit VR) only; stops at pixel data.
import { readFileSync } from 'node:fs';

const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const UNDEFINED = 0xffffffff;

/** Returns {tag 'ggggeeee' -> string value} for the top-level string/number elements of a Part 10 file. */
export function readHeader(path) {
  const buf = readFileSync(path);
  if (buf.toString('latin1', 128, 132) !== 'DICM') throw new Error(`${path}: no DICM preamble`);
  const out = {};
  let pos = 132;
  let explicit = true;
  let inMeta = true;
  while (pos + 8 <= buf.length) {
    const group = buf.readUInt16LE(pos);
    if (inMeta && group !== 0x0002) {
      inMeta = false;
      explicit = out['00020010']?.replace(/\0/g, '').trim() !== '1.2.840.10008.1.2';
    }
    const tag = group.toString(16).padStart(4, '0') + buf.readUInt16LE(pos + 2).toString(16).padStart(4, '0');
    if (tag === '7fe00010') break;
    let vr = null;
    let length;
    if (explicit || inMeta) {
      vr = buf.toString('latin1', pos + 4, pos + 6);
      if (LONG_VRS.has(vr)) {
        length = buf.readUInt32LE(pos + 8);
        pos += 12;
      } else {
        length = buf.readUInt16LE(pos + 6);
        pos += 8;
      }
    } else {
      length = buf.readUInt32LE(pos + 4);
      pos += 8;
    }
    if (length === UNDEFINED) {
      pos = skipUndefined(buf, pos);
      continue;
    }
    if (vr !== 'SQ' && length < 1024) out[tag] = buf.toString('latin1', pos, pos + length).replace(/[\0 ]+$/, '');
    pos += length;
  }
  return out;
}

// Skips an undefined-length sequence or item by tracking delimiters (FFFE,E000 item / E00D item end /
// E0DD sequence end); nested undefined-length elements are handled by the depth count.
function skipUndefined(buf, pos) {
  let depth = 1;
  while (pos + 8 <= buf.length && depth > 0) {
    const group = buf.readUInt16LE(pos);
    const element = buf.readUInt16LE(pos + 2);
    if (group === 0xfffe) {
      const length = buf.readUInt32LE(pos + 4);
      pos += 8;
      if (element === 0xe000) {
        if (length === UNDEFINED) depth++;
        else pos += length;
      } else {
        depth--;          // E00D or E0DD
      }
      continue;
    }
    // Elements inside items are explicit VR in explicit files (the only kind scanned here).
    const vr = buf.toString('latin1', pos + 4, pos + 6);
    let length;
    if (LONG_VRS.has(vr)) {
      length = buf.readUInt32LE(pos + 8);
      pos += 12;
    } else {
      length = buf.readUInt16LE(pos + 6);
      pos += 8;
    }
    if (length === UNDEFINED) depth++;
    else pos += length;
  }
  return pos;
}

/** Position along the slice normal (IPP . (row x col)) in mm, from the file's own header. */
export function normalPosition(header) {
  const ipp = header['00200032'].split('\\').map(Number);
  const iop = header['00200037'].split('\\').map(Number);
  const n = [iop[1] * iop[5] - iop[2] * iop[4], iop[2] * iop[3] - iop[0] * iop[5], iop[0] * iop[4] - iop[1] * iop[3]];
  return ipp[0] * n[0] + ipp[1] * n[1] + ipp[2] * n[2];
}
