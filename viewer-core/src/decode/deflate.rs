//! Deflated Image Frame Compression (1.2.840.10008.1.2.8.1, PS3.5 A.4.11): each frame is the native
//! little-endian pixel data of that frame (1-bit frames packed from their own first bit), compressed
//! with raw deflate (RFC 1951) and encapsulated.
//!
//! The inflated frame must be exactly the native frame's size: inflation stops one byte past it, so a
//! deflate bomb never allocates more than one frame, and a short or long frame is an error, not a
//! shifted picture.

use std::io::Read;

use super::{native, Frame};
use crate::error::Error;
use crate::ingest::{native_frame_len, Instance};

pub(super) fn decode(instance: &Instance, data: &[u8]) -> Result<Frame, Error> {
    let rows = u64::from(instance.rows());
    let cols = u64::from(instance.columns());
    let spp = u64::from(instance.samples_per_pixel());
    let ba = u64::from(instance.bits_allocated());
    let expected = if ba == 1 {
        (rows * cols * spp).div_ceil(8)
    } else {
        native_frame_len(
            rows,
            cols,
            spp,
            ba,
            instance.photometric(),
            instance.float_bits(),
        )
    };
    let mut frame = Vec::with_capacity(expected as usize);
    flate2::read::DeflateDecoder::new(data)
        .take(expected + 1)
        .read_to_end(&mut frame)
        .map_err(|e| Error::corrupt(format!("deflated frame does not inflate: {e}")))?;
    // (the even-length padding of the last fragment follows the final deflate block and is not read)
    if frame.len() as u64 != expected {
        let got = if frame.len() as u64 > expected {
            format!("more than {expected}")
        } else {
            frame.len().to_string()
        };
        return Err(Error::corrupt(format!(
            "deflated frame inflates to {got} bytes, the image needs {expected}"
        )));
    }
    native::decode(instance, &frame, 0)
}
