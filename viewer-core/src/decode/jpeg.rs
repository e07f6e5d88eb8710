//! JPEG baseline (process 1) and lossless (process 14, any selection value) through
//! jpeg-decoder. The frame header is validated against the DICOM attributes first, so the
//! decoder never allocates more than the image needs.

use super::{from_raw_u32, kind_of, Bits, Frame, Kind};
use crate::error::Error;
use crate::ingest::Instance;

/// Start-of-frame parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sof {
    pub marker: u8,
    pub precision: u8,
    pub height: u16,
    pub width: u16,
    pub components: u8,
    /// Component identifiers (first three).
    pub ids: [u8; 3],
    /// A JFIF APP0 segment was seen before the frame header.
    pub jfif: bool,
    /// Adobe APP14 transform flag, when present and complete.
    pub adobe: Option<u8>,
}

impl Sof {
    fn lossless(&self) -> bool {
        matches!(self.marker, 0xC3 | 0xC7 | 0xCB | 0xCF)
    }
}

/// Find the first SOF marker segment.
pub(crate) fn read_sof(data: &[u8]) -> Result<Sof, Error> {
    if data.len() < 4 || data[0] != 0xFF || data[1] != 0xD8 {
        return Err(Error::corrupt("JPEG data does not start with SOI"));
    }
    let mut i = 2usize;
    let mut jfif = false;
    let mut adobe = None;
    loop {
        // find the next marker (skip fill bytes)
        while i < data.len() && data[i] != 0xFF {
            i += 1;
        }
        while i < data.len() && data[i] == 0xFF {
            i += 1;
        }
        let Some(&marker) = data.get(i) else {
            return Err(Error::corrupt("JPEG data has no frame header"));
        };
        i += 1;
        match marker {
            0xD0..=0xD7 | 0x01 | 0xD8 => continue,
            0xD9 | 0xDA => return Err(Error::corrupt("JPEG scan before frame header")),
            _ => {}
        }
        let len = match data.get(i..i + 2) {
            Some(b) => usize::from(u16::from_be_bytes([b[0], b[1]])),
            None => return Err(Error::corrupt("JPEG marker segment is cut off")),
        };
        if len < 2 || i + len > data.len() {
            return Err(Error::corrupt("JPEG marker segment is cut off"));
        }
        let seg = &data[i + 2..i + len];
        if marker == 0xE0 && seg.starts_with(b"JFIF\0") {
            jfif = true;
        }
        if marker == 0xEE && seg.starts_with(b"Adobe") && seg.len() >= 12 {
            adobe = Some(seg[11]);
        }
        if matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF) {
            if seg.len() < 6 {
                return Err(Error::corrupt("JPEG frame header is too short"));
            }
            let nf = usize::from(seg[5]);
            let mut ids = [0u8; 3];
            for (k, id) in ids.iter_mut().enumerate().take(nf.min(3)) {
                *id = seg.get(6 + 3 * k).copied().unwrap_or(0);
            }
            return Ok(Sof {
                marker,
                precision: seg[0],
                height: u16::from_be_bytes([seg[1], seg[2]]),
                width: u16::from_be_bytes([seg[3], seg[4]]),
                components: seg[5],
                ids,
                jfif,
                adobe,
            });
        }
        i += len;
    }
}

pub(super) fn decode(instance: &Instance, data: &[u8]) -> Result<Frame, Error> {
    let rows = instance.rows() as usize;
    let cols = instance.columns() as usize;
    let spp = usize::from(instance.samples_per_pixel());
    let kind = kind_of(instance);
    let sof = read_sof(data)?;
    if usize::from(sof.components) != spp || !matches!(spp, 1 | 3) {
        return Err(Error::corrupt(format!(
            "JPEG has {} components, Samples per Pixel is {spp}",
            sof.components
        )));
    }
    if usize::from(sof.width) != cols || usize::from(sof.height) != rows {
        return Err(Error::corrupt(format!(
            "JPEG frame is {}x{}, the image is {cols}x{rows}",
            sof.width, sof.height
        )));
    }
    if !(2..=16).contains(&sof.precision) {
        return Err(Error::corrupt(format!(
            "JPEG sample precision {}",
            sof.precision
        )));
    }
    if !sof.lossless() && sof.precision != 8 {
        return Err(Error::unsupported_pixel_format(format!(
            "{}-bit DCT JPEG",
            sof.precision
        )));
    }
    if matches!(kind, Kind::F32 | Kind::F64) || instance.bits_allocated() == 1 {
        return Err(Error::unsupported_pixel_format(
            "JPEG with float or 1-bit pixel data",
        ));
    }
    let n = rows * cols * spp;
    let mut decoder = jpeg_decoder::Decoder::new(data);
    // Colour: as the reference decoders (GDCM, pydicom) do, the DICOM Photometric
    // Interpretation decides. YBR_* data are returned as coded (YCbCr, chroma upsampled);
    // RGB data are converted from YCbCr only when the codestream itself says it is YCbCr
    // (JFIF, component ids 1,2,3, or an Adobe transform flag 1).
    // Note: "no transform" is requested as ColorTransform::RGB (a plain interleaving copy):
    // jpeg-decoder 0.3's ColorTransform::None mishandles 3-component data (it panics).
    let (transform, out_photometric) = if spp == 3 && !sof.lossless() {
        let pi = instance.photometric();
        if pi.starts_with("YBR") {
            (jpeg_decoder::ColorTransform::RGB, "YBR_FULL")
        } else if sof.adobe == Some(1)
            || (sof.adobe.is_none() && (sof.jfif || sof.ids == [1, 2, 3]))
        {
            (jpeg_decoder::ColorTransform::YCbCr, "RGB")
        } else {
            (jpeg_decoder::ColorTransform::RGB, "RGB")
        }
    } else if spp == 3 {
        (jpeg_decoder::ColorTransform::RGB, instance.photometric())
    } else {
        (
            jpeg_decoder::ColorTransform::Grayscale,
            instance.photometric(),
        )
    };
    decoder.set_color_transform(transform);
    decoder.set_max_decoding_buffer_size(n.saturating_mul(2).saturating_add(1 << 16));
    let out = decoder
        .decode()
        .map_err(|e| Error::corrupt(format!("JPEG decoding failed: {e}")))?;
    let bytes_per = if out.len() == n {
        1
    } else if out.len() == 2 * n {
        2
    } else {
        return Err(Error::corrupt(format!(
            "JPEG decoded to {} bytes, {n} values expected",
            out.len()
        )));
    };
    let bs = Bits::of(instance, kind);
    let data = if bytes_per == 1 {
        from_raw_u32(kind, bs, out.iter().map(|&b| u32::from(b)), n)
    } else {
        // jpeg-decoder returns native-endian 16-bit samples
        from_raw_u32(
            kind,
            bs,
            out.chunks_exact(2)
                .map(|c| u32::from(u16::from_ne_bytes([c[0], c[1]]))),
            n,
        )
    };
    let photometric = out_photometric.to_string();
    Ok(Frame::of(instance, photometric, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sof_is_found_and_garbage_rejected() {
        let mut j = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0, 0];
        j.extend_from_slice(&[
            0xFF, 0xC3, 0x00, 0x0B, 16, 0x01, 0x00, 0x02, 0x00, 1, 1, 0x11, 0,
        ]);
        let s = read_sof(&j).expect("sof");
        assert_eq!(
            s,
            Sof {
                marker: 0xC3,
                precision: 16,
                height: 256,
                width: 512,
                components: 1,
                ids: [1, 0, 0],
                jfif: false,
                adobe: None,
            }
        );
        assert!(s.lossless());
        assert!(read_sof(b"not a jpeg").is_err());
        assert!(read_sof(&j[..10]).is_err());
    }
}
