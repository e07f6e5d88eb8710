//! HTJ2K, High-Throughput JPEG 2000 (ISO/IEC 15444-15): lossless 1.2.840.10008.1.2.4.201, lossless
//! RPCL .202 and lossy or lossless .203, through jpeg2k over openjp2, the pure-Rust port of OpenJPEG
//! 2.5 with its HT block decoder (hayro-jpeg2000, which decodes .90/.91, has none).
//!
//! The codestream is found and its main header checked against the DICOM attributes exactly as for
//! JPEG 2000 ([`super::jpeg2000::checked_codestream`]: size, components, precision, the end marker of
//! a cut codestream) before the decoder sees it, and the decoder runs in strict mode, so a truncated
//! codestream is an error, never a partial picture. openjp2 returns each component's values as `i32`,
//! signed ones already signed; they become the stored bit pattern as for JPEG 2000
//! ([`super::jpeg2000::frame_of`]).

use super::jpeg2000::{checked_codestream, frame_of};
use super::Frame;
use crate::error::Error;
use crate::ingest::Instance;

pub(super) fn decode(instance: &Instance, data: &[u8]) -> Result<Frame, Error> {
    let (cs, header) = checked_codestream(instance, data)?;
    let rows = instance.rows() as usize;
    let cols = instance.columns() as usize;
    let params = jpeg2k::DecodeParameters::new().strict(true);
    let image = jpeg2k::Image::from_bytes_with(cs, params)
        .map_err(|e| Error::corrupt(format!("HTJ2K decoding failed: {e}")))?;
    let planes = image.components();
    if planes.len() != header.components.len()
        || planes
            .iter()
            .any(|p| p.width() as usize != cols || p.height() as usize != rows)
    {
        return Err(Error::corrupt(format!(
            "HTJ2K decoded to {} components of {}x{}, {} of {cols}x{rows} expected",
            planes.len(),
            image.width(),
            image.height(),
            header.components.len()
        )));
    }
    // each plane's data is width x height = the image's pixels (checked above)
    let planes: Vec<&[i32]> = planes.iter().map(|p| p.data()).collect();
    // decoder output (the value itself, signed when the component is) -> stored bit pattern
    let raw = |s: usize, i: usize| -> u32 {
        let (precision, signed, ..) = header.components[s];
        let v = i64::from(planes[s][i]);
        if signed {
            let half = 1i64 << (precision - 1);
            v.clamp(-half, half - 1) as u32
        } else {
            v.clamp(0, (1i64 << precision) - 1) as u32
        }
    };
    Ok(frame_of(instance, &header, raw))
}
