//! JPEG extended (process 2 and 4, 1.2.840.10008.1.2.4.51). 8-bit codestreams go through
//! the baseline decoder (jpeg-decoder handles SOF1 at 8 bits); 12-bit codestreams, which
//! jpeg-decoder cannot decode, go through libjpeg-turbo-rs (pure Rust). The frame header
//! is validated against the DICOM attributes first and the decoder's memory budget is
//! derived from the image size.

use super::{jpeg, kind_of, Frame, Kind};
use crate::error::Error;
use crate::ingest::Instance;

pub(super) fn decode(instance: &Instance, data: &[u8]) -> Result<Frame, Error> {
    let sof = jpeg::read_sof(data)?;
    if sof.precision == 8 {
        return jpeg::decode(instance, data);
    }
    let rows = instance.rows() as usize;
    let cols = instance.columns() as usize;
    let spp = usize::from(instance.samples_per_pixel());
    let kind = kind_of(instance);
    if sof.marker != 0xC1 || sof.precision != 12 {
        return Err(Error::unsupported_pixel_format(format!(
            "JPEG extended with SOF marker 0x{:02X} and sample precision {}",
            sof.marker, sof.precision
        )));
    }
    if spp != 1 || usize::from(sof.components) != 1 {
        // libjpeg-turbo-rs converts 12-bit YCbCr to RGB itself; no reference decoder
        // output to check such files against, so they are refused rather than guessed.
        return Err(Error::unsupported_pixel_format(format!(
            "12-bit JPEG with {} components (Samples per Pixel {spp})",
            sof.components
        )));
    }
    if usize::from(sof.width) != cols || usize::from(sof.height) != rows {
        return Err(Error::corrupt(format!(
            "JPEG frame is {}x{}, the image is {cols}x{rows}",
            sof.width, sof.height
        )));
    }
    if !matches!(kind, Kind::U16 | Kind::I16) {
        return Err(Error::unsupported_pixel_format(format!(
            "12-bit JPEG with Bits Allocated {}",
            instance.bits_allocated()
        )));
    }
    let n = rows * cols;
    let limits = libjpeg_turbo_rs::DecodeLimits {
        max_width: cols,
        max_height: rows,
        max_pixels: n as u64,
        max_scans: 64,
        // component plane and output, two bytes a sample, plus block padding
        max_memory: Some((n as u64 + (1 << 16)) * 8),
    };
    let image = libjpeg_turbo_rs::precision::decompress_12bit_with_limits(data, &limits)
        .map_err(|e| Error::corrupt(format!("12-bit JPEG decoding failed: {e}")))?;
    if image.width != cols
        || image.height != rows
        || image.num_components != 1
        || image.data.len() != n
    {
        return Err(Error::corrupt(format!(
            "12-bit JPEG decoded to {}x{}x{} ({} values), {cols}x{rows} expected",
            image.width,
            image.height,
            image.num_components,
            image.data.len()
        )));
    }
    // samples are 0..4095; clamp defensively before reinterpreting as the stored pattern
    let values = image.data.iter().map(|&v| v.clamp(0, 4095) as u32);
    Ok(Frame::from_raw(instance, kind, values, n))
}
