//! Native (uncompressed) pixel data. Ingest has already converted it to little-endian
//! byte order and checked that every frame is present.

use super::{from_raw_u32, interleave, kind_of, Bits, Frame, Kind, Samples};
use crate::error::Error;
use crate::ingest::{is_ybr_422, native_frame_len, Instance};

pub(super) fn decode(instance: &Instance, data: &[u8], frame: u32) -> Result<Frame, Error> {
    let rows = u64::from(instance.rows());
    let cols = u64::from(instance.columns());
    let spp = u64::from(instance.samples_per_pixel());
    let ba = u64::from(instance.bits_allocated());
    let photometric = instance.photometric();
    let pixels = rows * cols;
    let kind = kind_of(instance);
    let mut out_photometric = photometric.to_string();

    if ba == 1 {
        // 1-bit: frames are not byte aligned; the first pixel is the least significant bit
        let n = pixels * spp;
        let start = u64::from(frame) * n;
        let end_bit = start + n;
        if end_bit.div_ceil(8) > data.len() as u64 {
            return Err(Error::truncated(
                "1-bit pixel data is shorter than the frames",
            ));
        }
        let mut out = Vec::with_capacity(n as usize);
        for bit in start..end_bit {
            let byte = data[(bit / 8) as usize];
            out.push((byte >> (bit % 8)) & 1);
        }
        return Ok(Frame::of(instance, out_photometric, Samples::U8(out)));
    }

    let frame_len = native_frame_len(rows, cols, spp, ba, photometric, instance.float_bits());
    let start = u64::from(frame) * frame_len;
    let bytes = data
        .get(start as usize..(start + frame_len) as usize)
        .ok_or_else(|| Error::truncated(format!("pixel data ends before frame {}", frame + 1)))?;
    let ybr422 = spp == 3 && is_ybr_422(photometric);
    let planar = spp > 1 && instance.planar_configuration() == 1 && !ybr422;
    let n = (pixels * spp) as usize;

    let samples = if kind == Kind::F64 {
        let v: Vec<f64> = bytes
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect();
        let v = if ybr422 { upsample_422(&v) } else { v };
        Samples::F64(if planar {
            interleave(&v, spp as usize)
        } else {
            v
        })
    } else {
        let raw: Vec<u32> = match ba {
            8 => bytes.iter().map(|&b| u32::from(b)).collect(),
            16 => bytes
                .chunks_exact(2)
                .map(|c| u32::from(u16::from_le_bytes([c[0], c[1]])))
                .collect(),
            32 => bytes
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            _ => {
                return Err(Error::unsupported_pixel_format(format!(
                    "Bits Allocated {ba}"
                )))
            }
        };
        let raw = if ybr422 { upsample_422(&raw) } else { raw };
        let raw = if planar {
            interleave(&raw, spp as usize)
        } else {
            raw
        };
        let bs = Bits::of(instance, kind);
        from_raw_u32(kind, bs, raw.into_iter(), n)
    };
    if ybr422 {
        out_photometric = "YBR_FULL".to_string();
    }
    if samples.len() != n {
        return Err(Error::corrupt(format!(
            "frame {} has {} values, {n} expected",
            frame + 1,
            samples.len()
        )));
    }
    Ok(Frame::of(instance, out_photometric, samples))
}

/// YBR 4:2:2 (Y1 Y2 Cb Cr per pixel pair) to full resolution (Y Cb Cr per pixel).
pub(super) fn upsample_422<T: Copy>(v: &[T]) -> Vec<T> {
    let mut out = Vec::with_capacity(v.len() / 2 * 3);
    for c in v.chunks_exact(4) {
        out.extend_from_slice(&[c[0], c[2], c[3], c[1], c[2], c[3]]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ybr_422_upsampling() {
        assert_eq!(
            upsample_422(&[10u32, 20, 100, 200, 30, 40, 101, 201]),
            vec![10, 100, 200, 20, 100, 200, 30, 101, 201, 40, 101, 201]
        );
    }
}
