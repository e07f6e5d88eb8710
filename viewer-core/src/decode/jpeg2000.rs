//! JPEG 2000 (reversible 1.2.840.10008.1.2.4.90 and irreversible .91) through
//! hayro-jpeg2000 (pure Rust).
//!
//! The codestream (raw J2K, or the `jp2c` box of a JP2 file) is located first and its SIZ
//! and COD segments are read and checked against the DICOM attributes, so the decoder
//! never works on an image larger than the one declared. Only the codestream is handed to
//! the decoder: JP2 colour boxes are ignored, as the reference decoders ignore them, and
//! the decoder applies no colour conversion of its own to a plain codestream.
//!
//! Output: the codestream's own inverse component transform (RCT/ICT, when COD says so) is
//! applied by the decoder, and such data come out as "RGB" (photometric YBR_RCT / YBR_ICT
//! included), as every reference decoder returns them. Sample values: the decoder returns
//! level-shifted values (0..2^P-1); signed codestreams are shifted back, and the result is
//! treated as the stored bit pattern: masked to Bits Stored and sign-extended when Pixel
//! Representation is 1 (so an unsigned codestream in a signed image, a common encoder bug,
//! decodes as the reference decoders decode it).

use super::{from_raw_u32, kind_of, Bits, Frame, Kind};
use crate::error::Error;
use crate::ingest::Instance;

/// What the main header of a codestream says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct J2kHeader {
    pub width: u32,
    pub height: u32,
    /// (precision in bits, signed, horizontal and vertical subsampling) per component.
    pub components: Vec<(u8, bool, u8, u8)>,
    /// COD: a multiple component transform (RCT or ICT) is applied to components 0..3.
    pub mct: bool,
    /// Offset of the first tile part (its SOT marker) in the codestream.
    pub tiles_at: usize,
}

fn be_u16(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2).map(|s| u16::from_be_bytes([s[0], s[1]]))
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// The codestream: `data` itself when it starts with SOC, else the first `jp2c` box of a
/// JP2 file.
pub(crate) fn codestream(data: &[u8]) -> Result<&[u8], Error> {
    if data.starts_with(&[0xFF, 0x4F]) {
        return Ok(data);
    }
    if !data.starts_with(b"\x00\x00\x00\x0C\x6A\x50\x20\x20") {
        return Err(Error::corrupt(
            "JPEG 2000 data starts neither with a codestream (SOC) nor a JP2 signature",
        ));
    }
    let mut i = 0usize;
    while i < data.len() {
        let cut = || Error::corrupt("JP2 box is cut off");
        let lbox = be_u32(data, i).ok_or_else(cut)?;
        let tbox = data.get(i + 4..i + 8).ok_or_else(cut)?;
        let (header, len) = match lbox {
            0 => (8usize, data.len() - i),
            1 => {
                let hi = be_u32(data, i + 8).ok_or_else(cut)?;
                let lo = be_u32(data, i + 12).ok_or_else(cut)?;
                let xl = (u64::from(hi) << 32) | u64::from(lo);
                (16usize, usize::try_from(xl).unwrap_or(usize::MAX))
            }
            n => (8usize, n as usize),
        };
        if len < header {
            return Err(Error::corrupt("JP2 box has an invalid length"));
        }
        if tbox == b"jp2c" {
            // a codestream box cut short is left to the codestream decoder to report
            let end = i.saturating_add(len).min(data.len());
            return Ok(&data[i + header..end]);
        }
        i = i.saturating_add(len);
    }
    Err(Error::corrupt("JP2 file has no codestream box"))
}

/// Read SIZ and COD from the main header of a codestream.
pub(crate) fn read_header(cs: &[u8]) -> Result<J2kHeader, Error> {
    let cut = || Error::corrupt("JPEG 2000 main header is cut off");
    if !cs.starts_with(&[0xFF, 0x4F, 0xFF, 0x51]) {
        return Err(Error::corrupt(
            "JPEG 2000 codestream does not start with SOC and SIZ",
        ));
    }
    // SIZ: Lsiz Rsiz Xsiz Ysiz XOsiz YOsiz XTsiz YTsiz XTOsiz YTOsiz Csiz {Ssiz XRsiz YRsiz}
    let lsiz = usize::from(be_u16(cs, 4).ok_or_else(cut)?);
    let siz = cs.get(4..4 + lsiz).ok_or_else(cut)?;
    let xsiz = be_u32(siz, 4).ok_or_else(cut)?;
    let ysiz = be_u32(siz, 8).ok_or_else(cut)?;
    let xo = be_u32(siz, 12).ok_or_else(cut)?;
    let yo = be_u32(siz, 16).ok_or_else(cut)?;
    let csiz = usize::from(be_u16(siz, 36).ok_or_else(cut)?);
    if xo >= xsiz || yo >= ysiz || csiz == 0 {
        return Err(Error::corrupt("JPEG 2000 SIZ segment is invalid"));
    }
    let mut components = Vec::with_capacity(csiz.min(16));
    for c in 0..csiz {
        let at = 38 + 3 * c;
        let s = siz.get(at..at + 3).ok_or_else(cut)?;
        components.push(((s[0] & 0x7F) + 1, s[0] & 0x80 != 0, s[1], s[2]));
    }
    // the other main header segments, up to the first tile part (SOT)
    let mut i = 4 + lsiz;
    let mut mct = None;
    loop {
        let marker = be_u16(cs, i).ok_or_else(cut)?;
        if marker == 0xFF90 {
            break;
        }
        if marker >> 8 != 0xFF {
            return Err(Error::corrupt(
                "JPEG 2000 main header has an invalid marker",
            ));
        }
        let len = usize::from(be_u16(cs, i + 2).ok_or_else(cut)?);
        if len < 2 {
            return Err(Error::corrupt("JPEG 2000 marker segment is too short"));
        }
        if marker == 0xFF52 {
            // COD: Lcod Scod (progression order, layers, MCT) ...
            let m = cs.get(i + 8).ok_or_else(cut)?;
            mct = Some(*m != 0);
        }
        i += 2 + len;
    }
    let mct = mct.ok_or_else(|| Error::corrupt("JPEG 2000 main header has no COD segment"))?;
    Ok(J2kHeader {
        width: xsiz - xo,
        height: ysiz - yo,
        components,
        mct,
        tiles_at: i,
    })
}

/// Walk the tile parts from the first SOT by their lengths (Psot): they must end exactly on the EOC
/// marker at `end`. A codestream cut inside its packets with an end marker put back (or a tile part
/// that says it is longer than what is there) fails here; the decoders would fill the missing packets
/// with zeros and draw a blurred picture. A last tile part with Psot = 0 runs to EOC by definition.
pub(crate) fn check_tile_parts(cs: &[u8], tiles_at: usize, end: usize) -> Result<(), Error> {
    let mut i = tiles_at;
    loop {
        match be_u16(cs, i) {
            Some(0xFF90) => {}
            Some(0xFFD9) if i + 2 == end => return Ok(()),
            _ => {
                return Err(Error::corrupt(
                    "JPEG 2000 tile parts do not end on the end-of-codestream marker",
                ))
            }
        }
        let psot =
            be_u32(cs, i + 6).ok_or_else(|| Error::truncated("JPEG 2000 tile part is cut off"))?;
        if psot == 0 {
            return Ok(());
        }
        let next = i.saturating_add(psot as usize);
        if psot < 14 || next.saturating_add(2) > end {
            return Err(Error::truncated(
                "a JPEG 2000 tile part runs past the end of the codestream: it is cut off",
            ));
        }
        i = next;
    }
}

/// The codestream of a frame and its main header, checked against the DICOM attributes before any
/// decoder sees it (shared by this module and [`super::htj2k`]).
pub(super) fn checked_codestream<'a>(
    instance: &Instance,
    data: &'a [u8],
) -> Result<(&'a [u8], J2kHeader), Error> {
    let rows = instance.rows() as usize;
    let cols = instance.columns() as usize;
    let spp = usize::from(instance.samples_per_pixel());
    let kind = kind_of(instance);
    let cs = codestream(data)?;
    // The decoders run leniently (real files bend the standard) and would turn a cut codestream into a
    // blurred picture; a missing end-of-codestream marker says it was cut, and a wrong picture is worse
    // than an error.
    // (Fragments are padded to even length with 0x00 or, by some writers, 0xFF.)
    let end = cs
        .iter()
        .rposition(|&b| b != 0 && b != 0xFF)
        .map_or(0, |i| i + 1);
    if !cs[..end].ends_with(&[0xFF, 0xD9]) {
        return Err(Error::truncated(
            "the JPEG 2000 codestream has no end marker: it is cut off",
        ));
    }
    let header = read_header(cs)?;
    check_tile_parts(cs, header.tiles_at, end)?;
    if header.components.len() != spp || !matches!(spp, 1 | 3) {
        return Err(Error::corrupt(format!(
            "JPEG 2000 codestream has {} components, Samples per Pixel is {spp}",
            header.components.len()
        )));
    }
    if header.width as usize != cols || header.height as usize != rows {
        return Err(Error::corrupt(format!(
            "JPEG 2000 image is {}x{}, the DICOM image is {cols}x{rows}",
            header.width, header.height
        )));
    }
    if header
        .components
        .iter()
        .any(|&(_, _, dx, dy)| dx != 1 || dy != 1)
    {
        return Err(Error::unsupported_pixel_format(
            "JPEG 2000 with subsampled components",
        ));
    }
    if header.components.iter().any(|&(p, ..)| p > 24) {
        return Err(Error::unsupported_pixel_format(
            "JPEG 2000 with more than 24 bits per sample",
        ));
    }
    if matches!(kind, Kind::F32 | Kind::F64) || instance.bits_allocated() == 1 {
        return Err(Error::unsupported_pixel_format(
            "JPEG 2000 with float or 1-bit pixel data",
        ));
    }
    Ok((cs, header))
}

/// The frame from stored bit patterns (pixel-interleaved `raw(sample, pixel)`): J2K codes the value
/// itself, so bits above Bits Stored are removed and High Bit is not used to shift; codestreams with a
/// component transform come out as RGB.
pub(super) fn frame_of(
    instance: &Instance,
    header: &J2kHeader,
    raw: impl Fn(usize, usize) -> u32,
) -> Frame {
    let pixels = instance.rows() as usize * instance.columns() as usize;
    let spp = usize::from(instance.samples_per_pixel());
    let kind = kind_of(instance);
    let values = (0..pixels).flat_map(|i| (0..spp).map(move |s| (s, i)));
    let bits = Bits {
        stored: Bits::of(instance, kind).stored,
        shift: 0,
    };
    let data = from_raw_u32(kind, bits, values.map(|(s, i)| raw(s, i)), pixels * spp);
    let photometric = if spp == 3 && header.mct {
        "RGB".to_string()
    } else {
        instance.photometric().to_string()
    };
    Frame::of(instance, photometric, data)
}

pub(super) fn decode(instance: &Instance, data: &[u8]) -> Result<Frame, Error> {
    let rows = instance.rows() as usize;
    let cols = instance.columns() as usize;
    let spp = usize::from(instance.samples_per_pixel());
    let (cs, header) = checked_codestream(instance, data)?;
    let settings = hayro_jpeg2000::DecodeSettings {
        resolve_palette_indices: false,
        strict: false,
        target_resolution: None,
    };
    let failed = |e: hayro_jpeg2000::DecodeError| {
        Error::corrupt(format!("JPEG 2000 decoding failed: {e:?}"))
    };
    let image = hayro_jpeg2000::Image::new(cs, &settings).map_err(failed)?;
    if image.width() as usize != cols || image.height() as usize != rows {
        return Err(Error::corrupt(format!(
            "JPEG 2000 image decodes to {}x{}, the DICOM image is {cols}x{rows}",
            image.width(),
            image.height()
        )));
    }
    let mut ctx = hayro_jpeg2000::DecoderContext::default();
    let decoded = image.decode(&mut ctx).map_err(failed)?;
    let planes = decoded.components();
    let pixels = rows * cols;
    if planes.len() != spp || planes.iter().any(|p| p.samples().len() < pixels) {
        return Err(Error::corrupt(format!(
            "JPEG 2000 decoded to {} components, {spp} of {pixels} samples expected",
            planes.len()
        )));
    }
    // decoder output (level-shifted, as f32) -> stored bit pattern
    let raw = |s: usize, i: usize| -> u32 {
        let (precision, signed, ..) = header.components[s];
        let max = (1i64 << precision) - 1;
        let v = (planes[s].samples()[i].round() as i64).clamp(0, max);
        if signed {
            (v - (1i64 << (precision - 1))) as u32
        } else {
            v as u32
        }
    };
    Ok(frame_of(instance, &header, raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal main header: SOC, SIZ (one or three components), COD, SOT.
    fn main_header(components: &[u8], mct: u8) -> Vec<u8> {
        let mut v = vec![0xFF, 0x4F, 0xFF, 0x51];
        let lsiz = 38 + 3 * components.len() as u16;
        v.extend_from_slice(&lsiz.to_be_bytes());
        v.extend_from_slice(&[0, 0]); // Rsiz
        for x in [300u32, 200, 0, 0, 300, 200, 0, 0] {
            v.extend_from_slice(&x.to_be_bytes());
        }
        v.extend_from_slice(&(components.len() as u16).to_be_bytes());
        for &s in components {
            v.extend_from_slice(&[s, 1, 1]);
        }
        v.extend_from_slice(&[0xFF, 0x52, 0, 12, 0, 0, 0, 1, mct, 5, 4, 4, 0, 1]);
        v.extend_from_slice(&[0xFF, 0x90, 0, 10]);
        v
    }

    #[test]
    fn main_header_is_read() {
        let h = read_header(&main_header(&[0x8F], 0)).expect("header");
        assert_eq!(
            h,
            J2kHeader {
                width: 300,
                height: 200,
                components: vec![(16, true, 1, 1)],
                mct: false,
                tiles_at: main_header(&[0x8F], 0).len() - 4,
            }
        );
        let h = read_header(&main_header(&[7, 7, 7], 1)).expect("header");
        assert_eq!(h.components, vec![(8, false, 1, 1); 3]);
        assert!(h.mct);
    }

    #[test]
    fn truncated_and_foreign_headers_are_errors() {
        let h = main_header(&[7], 0);
        for cut in 0..h.len() - 2 {
            assert!(
                codestream(&h[..cut]).and_then(read_header).is_err(),
                "cut at {cut}"
            );
        }
        assert!(codestream(b"\xFF\xD8\xFF\xE0 a JPEG").is_err());
    }

    /// A tile part: SOT (Psot = its whole length), SOD, `body` bytes.
    fn tile_part(index: u8, body: usize) -> Vec<u8> {
        let psot = (14 + body) as u32;
        let mut v = vec![0xFF, 0x90, 0, 10, 0, 0];
        v.extend_from_slice(&psot.to_be_bytes());
        v.extend_from_slice(&[index, 2, 0xFF, 0x93]);
        v.extend(std::iter::repeat_n(0x5A, body));
        v
    }

    #[test]
    fn tile_parts_must_end_on_the_end_marker() {
        let mut cs = main_header(&[7], 0);
        cs.truncate(cs.len() - 4); // without the stub SOT
        let at = cs.len();
        cs.extend(tile_part(0, 40));
        cs.extend(tile_part(1, 30));
        cs.extend_from_slice(&[0xFF, 0xD9]);
        assert!(check_tile_parts(&cs, at, cs.len()).is_ok());
        // cut inside the second tile part, end marker put back
        let mut cut = cs[..cs.len() - 12].to_vec();
        cut.extend_from_slice(&[0xFF, 0xD9]);
        let e = check_tile_parts(&cut, at, cut.len()).expect_err("cut");
        assert_eq!(e.code(), crate::ErrorCode::Truncated);
        // bytes after the last tile part before EOC
        let mut long = cs[..cs.len() - 2].to_vec();
        long.extend_from_slice(&[1, 2, 3, 4, 0xFF, 0xD9]);
        assert!(check_tile_parts(&long, at, long.len()).is_err());
        // Psot = 0: the last tile part runs to EOC
        let mut open = cs[..at].to_vec();
        let mut t = tile_part(0, 40);
        t[6..10].copy_from_slice(&[0, 0, 0, 0]);
        open.extend(t);
        open.extend_from_slice(&[0xFF, 0xD9]);
        assert!(check_tile_parts(&open, at, open.len()).is_ok());
    }

    #[test]
    fn jp2_wrapper_yields_the_codestream() {
        let cs = main_header(&[7], 0);
        let mut jp2 = b"\x00\x00\x00\x0C\x6A\x50\x20\x20\x0D\x0A\x87\x0A".to_vec();
        jp2.extend_from_slice(&20u32.to_be_bytes());
        jp2.extend_from_slice(b"ftypjp2 \0\0\0\0jp2 ");
        jp2.extend_from_slice(&(8 + cs.len() as u32).to_be_bytes());
        jp2.extend_from_slice(b"jp2c");
        jp2.extend_from_slice(&cs);
        assert_eq!(codestream(&jp2).expect("jp2c"), &cs[..]);
        // no codestream box
        assert!(codestream(&jp2[..32]).is_err());
    }
}
