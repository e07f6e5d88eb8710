//! RLE Lossless (PS3.5 Annex G): a 64-byte header with up to 15 segment offsets, one
//! PackBits-encoded segment per byte plane (most significant byte first) per sample.

use super::{kind_of, Frame, Kind};
use crate::error::Error;
use crate::ingest::Instance;

/// Decode one PackBits segment into exactly `len` bytes.
pub(crate) fn unpack_segment(src: &[u8], len: usize) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(len);
    let mut i = 0usize;
    while out.len() < len && i < src.len() {
        let n = src[i] as i8;
        i += 1;
        if n >= 0 {
            let count = n as usize + 1;
            let end = (i + count).min(src.len());
            out.extend_from_slice(&src[i..end]);
            i = end;
        } else if n != -128 {
            let count = 1 - n as isize;
            if let Some(&b) = src.get(i) {
                out.extend(std::iter::repeat_n(b, count as usize));
            }
            i += 1;
        }
    }
    if out.len() < len {
        return Err(Error::corrupt(format!(
            "RLE segment decodes to {} bytes, {len} expected",
            out.len()
        )));
    }
    out.truncate(len);
    Ok(out)
}

pub(super) fn decode(instance: &Instance, data: &[u8]) -> Result<Frame, Error> {
    let rows = instance.rows() as usize;
    let cols = instance.columns() as usize;
    let spp = usize::from(instance.samples_per_pixel());
    let ba = usize::from(instance.bits_allocated());
    let kind = kind_of(instance);
    if !matches!(ba, 8 | 16 | 32) || matches!(kind, Kind::F64) {
        return Err(Error::unsupported_pixel_format(format!(
            "RLE with Bits Allocated {ba}"
        )));
    }
    let bytes_per_sample = ba / 8;
    let nseg_expected = bytes_per_sample * spp;
    if data.len() < 64 {
        return Err(Error::corrupt("RLE header is shorter than 64 bytes"));
    }
    let word = |i: usize| u32::from_le_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]);
    let nseg = word(0) as usize;
    if nseg != nseg_expected {
        return Err(Error::corrupt(format!(
            "RLE header lists {nseg} segments, {nseg_expected} expected for {spp} sample(s) of {ba} bits"
        )));
    }
    let offsets: Vec<usize> = (0..nseg).map(|s| word(4 + 4 * s) as usize).collect();
    let pixels = rows * cols;
    let mut planes: Vec<Vec<u8>> = Vec::with_capacity(nseg);
    for s in 0..nseg {
        let start = offsets[s];
        let end = if s + 1 < nseg {
            offsets[s + 1]
        } else {
            data.len()
        };
        if start < 64 || start > end || end > data.len() {
            return Err(Error::corrupt(format!(
                "RLE segment {} has invalid offsets {start}..{end}",
                s + 1
            )));
        }
        planes.push(unpack_segment(&data[start..end], pixels)?);
    }
    // segment index for sample s, byte b (0 = most significant): s * bytes + b
    let n = pixels * spp;
    let values = (0..n).map(|i| {
        let p = i / spp;
        let s = i % spp;
        let mut v = 0u32;
        for b in 0..bytes_per_sample {
            v = (v << 8) | u32::from(planes[s * bytes_per_sample + b][p]);
        }
        v
    });
    Ok(Frame::from_raw(instance, kind, values, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packbits() {
        // literal run of 3, replicate 'x' 4 times, no-op, literal 1
        let src = [2u8, b'a', b'b', b'c', (-3i8) as u8, b'x', 0x80, 0, b'z'];
        assert_eq!(unpack_segment(&src, 8).expect("ok"), b"abcxxxxz".to_vec());
        assert!(unpack_segment(&src, 20).is_err());
        // over-long output is truncated (padding)
        assert_eq!(unpack_segment(&src, 5).expect("ok"), b"abcxx".to_vec());
    }
}
