//! Decode pixel data into stored values, normalised as the corpus README defines:
//! samples interleaved (planar configuration undone), dtype from Bits Allocated and
//! Pixel Representation, bits outside Bits Stored removed, signed values sign-extended
//! from Bits Stored, 1-bit data unpacked to one byte per pixel, YBR kept as YBR (4:2:2
//! upsampled for native data), JPEG colour codestreams as the codec returns them (RGB).

mod deflate;
mod htj2k;
mod jpeg;
mod jpeg12;
mod jpeg2000;
mod jpegls;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod libc_shim;
mod native;
mod rle;

use crate::error::Error;
use crate::ingest::{Instance, PixelStorage};

/// Stored values of one frame, in their native type.
#[derive(Debug, Clone, PartialEq)]
pub enum Samples {
    U8(Vec<u8>),
    I8(Vec<i8>),
    U16(Vec<u16>),
    I16(Vec<i16>),
    U32(Vec<u32>),
    I32(Vec<i32>),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

impl Samples {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Samples::U8(v) => v.len(),
            Samples::I8(v) => v.len(),
            Samples::U16(v) => v.len(),
            Samples::I16(v) => v.len(),
            Samples::U32(v) => v.len(),
            Samples::I32(v) => v.len(),
            Samples::F32(v) => v.len(),
            Samples::F64(v) => v.len(),
        }
    }
    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Normalised dtype name ("u1", "i1", "u2", "i2", "u4", "i4", "f4", "f8").
    pub fn dtype(&self) -> &'static str {
        match self {
            Samples::U8(_) => "u1",
            Samples::I8(_) => "i1",
            Samples::U16(_) => "u2",
            Samples::I16(_) => "i2",
            Samples::U32(_) => "u4",
            Samples::I32(_) => "i4",
            Samples::F32(_) => "f4",
            Samples::F64(_) => "f8",
        }
    }
    /// Value `i` as f64 (0 when out of range).
    pub fn get_f64(&self, i: usize) -> f64 {
        match self {
            Samples::U8(v) => v.get(i).map_or(0.0, |&x| f64::from(x)),
            Samples::I8(v) => v.get(i).map_or(0.0, |&x| f64::from(x)),
            Samples::U16(v) => v.get(i).map_or(0.0, |&x| f64::from(x)),
            Samples::I16(v) => v.get(i).map_or(0.0, |&x| f64::from(x)),
            Samples::U32(v) => v.get(i).map_or(0.0, |&x| f64::from(x)),
            Samples::I32(v) => v.get(i).map_or(0.0, |&x| f64::from(x)),
            Samples::F32(v) => v.get(i).map_or(0.0, |&x| f64::from(x)),
            Samples::F64(v) => v.get(i).copied().unwrap_or(0.0),
        }
    }
    /// Call `f` with every value as f64, in order.
    pub fn for_each_f64(&self, mut f: impl FnMut(f64)) {
        match self {
            Samples::U8(v) => v.iter().for_each(|&x| f(f64::from(x))),
            Samples::I8(v) => v.iter().for_each(|&x| f(f64::from(x))),
            Samples::U16(v) => v.iter().for_each(|&x| f(f64::from(x))),
            Samples::I16(v) => v.iter().for_each(|&x| f(f64::from(x))),
            Samples::U32(v) => v.iter().for_each(|&x| f(f64::from(x))),
            Samples::I32(v) => v.iter().for_each(|&x| f(f64::from(x))),
            Samples::F32(v) => v.iter().for_each(|&x| f(f64::from(x))),
            Samples::F64(v) => v.iter().for_each(|&x| f(x)),
        }
    }
    /// Append the values as little-endian bytes.
    pub fn extend_le_bytes(&self, out: &mut Vec<u8>) {
        match self {
            Samples::U8(v) => out.extend_from_slice(v),
            Samples::I8(v) => out.extend(v.iter().map(|&x| x as u8)),
            Samples::U16(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            Samples::I16(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            Samples::U32(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            Samples::I32(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            Samples::F32(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            Samples::F64(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        }
    }
    /// Size of one value in bytes.
    pub fn item_size(&self) -> usize {
        match self {
            Samples::U8(_) | Samples::I8(_) => 1,
            Samples::U16(_) | Samples::I16(_) => 2,
            Samples::U32(_) | Samples::I32(_) | Samples::F32(_) => 4,
            Samples::F64(_) => 8,
        }
    }
}

/// Stored values of one frame: `rows * columns * samples_per_pixel` values, samples
/// interleaved.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub rows: u32,
    pub columns: u32,
    pub samples_per_pixel: u16,
    /// Frame number (0-based) within the instance.
    pub index: u32,
    /// Photometric interpretation of the decoded values: the file's, except "RGB" for
    /// JPEG colour codestreams colour-transformed by the codec, and "YBR_FULL" for
    /// native YBR_FULL_422 (upsampled).
    pub photometric: String,
    pub data: Samples,
}

impl Frame {
    /// A frame in the file's own photometric interpretation from a codec's unsigned sample values:
    /// masked to Bits Stored and sign-extended as the pixel representation says.
    fn from_raw(
        instance: &Instance,
        kind: Kind,
        values: impl Iterator<Item = u32>,
        len: usize,
    ) -> Frame {
        let data = from_raw_u32(kind, Bits::of(instance, kind), values, len);
        Frame::of(instance, instance.photometric(), data)
    }

    /// A decoded frame of `instance` (frame number set by the dispatcher).
    fn of(instance: &Instance, photometric: impl Into<String>, data: Samples) -> Frame {
        Frame {
            rows: instance.rows(),
            columns: instance.columns(),
            samples_per_pixel: instance.samples_per_pixel(),
            index: 0,
            photometric: photometric.into(),
            data,
        }
    }
}

/// All frames of an instance, normalised as in the corpus README.
#[derive(Debug, Clone)]
pub struct Normalized {
    /// "u1","i1","u2","i2","u4","i4","f4","f8"
    pub dtype: &'static str,
    /// frames, rows, cols[, samples]
    pub shape: Vec<usize>,
    /// Little-endian, all frames.
    pub bytes: Vec<u8>,
}

/// Transfer syntaxes with native (uncompressed) pixel data.
pub const NATIVE_TRANSFER_SYNTAXES: &[&str] = &[
    "1.2.840.10008.1.2",
    "1.2.840.10008.1.2.1",
    "1.2.840.10008.1.2.2",
    "1.2.840.10008.1.2.1.99",
];
const RLE: &str = "1.2.840.10008.1.2.5";
const JPEG_BASELINE: &str = "1.2.840.10008.1.2.4.50";
const JPEG_EXTENDED: &str = "1.2.840.10008.1.2.4.51";
const JPEG_LOSSLESS: &str = "1.2.840.10008.1.2.4.57";
const JPEG_LOSSLESS_SV1: &str = "1.2.840.10008.1.2.4.70";
const JPEG_2000_LOSSLESS: &str = "1.2.840.10008.1.2.4.90";
const JPEG_2000: &str = "1.2.840.10008.1.2.4.91";
const JPEG_LS_LOSSLESS: &str = "1.2.840.10008.1.2.4.80";
const JPEG_LS: &str = "1.2.840.10008.1.2.4.81";
const HTJ2K_LOSSLESS: &str = "1.2.840.10008.1.2.4.201";
const HTJ2K_LOSSLESS_RPCL: &str = "1.2.840.10008.1.2.4.202";
const HTJ2K: &str = "1.2.840.10008.1.2.4.203";
const DEFLATED_FRAMES: &str = "1.2.840.10008.1.2.8.1";

/// Transfer syntaxes this build decodes.
pub const SUPPORTED_TRANSFER_SYNTAXES: &[&str] = &[
    "1.2.840.10008.1.2",
    "1.2.840.10008.1.2.1",
    "1.2.840.10008.1.2.2",
    "1.2.840.10008.1.2.1.99",
    RLE,
    JPEG_BASELINE,
    JPEG_EXTENDED,
    JPEG_LOSSLESS,
    JPEG_LOSSLESS_SV1,
    JPEG_2000_LOSSLESS,
    JPEG_2000,
    JPEG_LS_LOSSLESS,
    JPEG_LS,
    HTJ2K_LOSSLESS,
    HTJ2K_LOSSLESS_RPCL,
    HTJ2K,
    DEFLATED_FRAMES,
];

/// Human name of a transfer syntax UID, when known.
pub fn ts_name(uid: &str) -> Option<&'static str> {
    use dicom_transfer_syntax_registry::{TransferSyntaxIndex, TransferSyntaxRegistry};
    TransferSyntaxRegistry.get(uid).map(|ts| ts.name())
}

/// Target sample type of the normalised output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    F32,
    F64,
}

pub(crate) fn kind_of(instance: &Instance) -> Kind {
    let signed = instance.pixel_representation() == 1;
    match (instance.float_bits(), instance.bits_allocated()) {
        (32, _) => Kind::F32,
        (64, _) => Kind::F64,
        (_, 1) => Kind::U8,
        (_, 8) if signed => Kind::I8,
        (_, 8) => Kind::U8,
        (_, 16) if signed => Kind::I16,
        (_, 16) => Kind::U16,
        (_, 32) if signed => Kind::I32,
        (_, 32) => Kind::U32,
        // rejected at ingest; keep a total function
        (_, _) => Kind::U8,
    }
}

/// Bits Stored and the right shift that brings High Bit to Bits Stored - 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bits {
    pub stored: u16,
    pub shift: u32,
}

impl Bits {
    /// Bits for the instance (`float`: all 32 bits kept, no shift).
    pub(crate) fn of(instance: &Instance, kind: Kind) -> Bits {
        if matches!(kind, Kind::F32 | Kind::F64) {
            return Bits {
                stored: 32,
                shift: 0,
            };
        }
        let stored = instance.bits_stored();
        let shift = u32::from((instance.high_bit() + 1).saturating_sub(stored));
        Bits { stored, shift }
    }
    #[cfg(test)]
    fn stored(stored: u16) -> Bits {
        Bits { stored, shift: 0 }
    }
}

/// Build normalised samples from unsigned raw values (`u32`), masking to Bits Stored
/// and sign-extending when signed.
pub(crate) fn from_raw_u32(
    kind: Kind,
    bits: Bits,
    values: impl Iterator<Item = u32>,
    len: usize,
) -> Samples {
    let shift = bits.shift;
    let values = values.map(move |v| v.checked_shr(shift).unwrap_or(0));
    let bs = u32::from(bits.stored.clamp(1, 32));
    let mask: u32 = if bs >= 32 { u32::MAX } else { (1u32 << bs) - 1 };
    let sign_extend = |v: u32| -> i32 {
        let v = v & mask;
        if bs >= 32 {
            v as i32
        } else {
            let shift = 32 - bs;
            ((v << shift) as i32) >> shift
        }
    };
    match kind {
        Kind::U8 => {
            let mut out = Vec::with_capacity(len);
            out.extend(values.map(|v| (v & mask) as u8));
            Samples::U8(out)
        }
        Kind::I8 => {
            let mut out = Vec::with_capacity(len);
            out.extend(values.map(|v| sign_extend(v) as i8));
            Samples::I8(out)
        }
        Kind::U16 => {
            let mut out = Vec::with_capacity(len);
            out.extend(values.map(|v| (v & mask) as u16));
            Samples::U16(out)
        }
        Kind::I16 => {
            let mut out = Vec::with_capacity(len);
            out.extend(values.map(|v| sign_extend(v) as i16));
            Samples::I16(out)
        }
        Kind::U32 => {
            let mut out = Vec::with_capacity(len);
            out.extend(values.map(|v| v & mask));
            Samples::U32(out)
        }
        Kind::I32 => {
            let mut out = Vec::with_capacity(len);
            out.extend(values.map(sign_extend));
            Samples::I32(out)
        }
        Kind::F32 => {
            let mut out = Vec::with_capacity(len);
            out.extend(values.map(f32::from_bits));
            Samples::F32(out)
        }
        Kind::F64 => {
            // not reachable from raw u32 values; keep a total function
            let mut out = Vec::with_capacity(len);
            out.extend(values.map(f64::from));
            Samples::F64(out)
        }
    }
}

/// Reorder planar (RRR..GGG..BBB) values into interleaved (RGBRGB..).
pub(crate) fn interleave<T: Copy>(planar: &[T], samples: usize) -> Vec<T> {
    if samples <= 1 || planar.is_empty() {
        return planar.to_vec();
    }
    let n = planar.len() / samples;
    let mut out = Vec::with_capacity(n * samples);
    for i in 0..n {
        for s in 0..samples {
            out.push(planar[s * n + i]);
        }
    }
    out
}

/// How the first fragment of a frame begins, to find the frames of a multi-frame image whose fragments
/// are not one per frame and that has no usable offset table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameStart {
    /// No recognisable start (RLE: one fragment per frame by the standard).
    Unknown,
    /// JPEG and JPEG-LS: SOI.
    Jpeg,
    /// JPEG 2000 and HTJ2K: SOC + SIZ, or a JP2 signature box.
    J2k,
}

impl FrameStart {
    fn begins(self, fragment: &[u8]) -> bool {
        match self {
            FrameStart::Unknown => false,
            FrameStart::Jpeg => fragment.starts_with(&[0xFF, 0xD8]),
            FrameStart::J2k => {
                fragment.starts_with(&[0xFF, 0x4F, 0xFF, 0x51])
                    || fragment.starts_with(b"\x00\x00\x00\x0C\x6A\x50\x20\x20")
            }
        }
    }
}

/// Fragments (concatenated) making up one frame of encapsulated pixel data.
pub(crate) fn frame_fragments(
    instance: &Instance,
    offset_table: &[u32],
    fragments: &[Vec<u8>],
    frame: u32,
    start: FrameStart,
) -> Result<Vec<u8>, Error> {
    let frames = instance.frames() as usize;
    let f = frame as usize;
    let missing = || Error::corrupt(format!("no fragment found for frame {}", f + 1));
    if fragments.is_empty() {
        return Err(Error::corrupt("encapsulated pixel data has no fragments"));
    }
    if frames == 1 {
        return Ok(fragments.concat());
    }
    if fragments.len() == frames {
        return fragments.get(f).cloned().ok_or_else(missing);
    }
    // Basic offset table: byte offsets of each frame's first fragment item, relative to
    // the first fragment item.
    if offset_table.len() == frames {
        let start = offset_table[f] as usize;
        let end = offset_table.get(f + 1).map(|&o| o as usize);
        let mut pos = 0usize;
        let mut out = Vec::new();
        for frag in fragments {
            if pos >= start && end.is_none_or(|e| pos < e) {
                out.extend_from_slice(frag);
            }
            pos += frag.len() + 8;
        }
        if out.is_empty() {
            return Err(missing());
        }
        return Ok(out);
    }
    if start != FrameStart::Unknown {
        // No usable offset table: a frame starts at each fragment beginning with its start marker.
        // SOC+SIZ can occur inside J2K packet data by chance (bit stuffing allows FF4F), so for J2K the
        // starts found must be exactly one per frame; JPEG's SOI cannot occur inside entropy-coded data.
        if start == FrameStart::J2k {
            let starts = fragments.iter().filter(|f| start.begins(f)).count();
            if starts != frames {
                return Err(Error::corrupt(format!(
                    "{} fragments for {frames} frames, no usable offset table, and {starts} of them \
                     begin a JPEG 2000 codestream",
                    fragments.len()
                )));
            }
        }
        let mut current: Option<usize> = None;
        let mut out = Vec::new();
        let mut index = 0usize;
        for frag in fragments {
            if start.begins(frag) {
                current = Some(match current {
                    None => 0,
                    Some(_) => {
                        index += 1;
                        index
                    }
                });
            }
            if current == Some(f) {
                out.extend_from_slice(frag);
            }
        }
        if out.is_empty() {
            return Err(missing());
        }
        return Ok(out);
    }
    Err(Error::corrupt(format!(
        "{} fragments for {} frames and no usable offset table",
        fragments.len(),
        frames
    )))
}

/// Decode one frame (0-based) into stored values.
pub fn decode_frame(instance: &Instance, frame: u32) -> Result<Frame, Error> {
    decode_frame_inner(instance, frame)
        .map(|mut f| {
            f.index = frame;
            f
        })
        .map_err(|e| e.with_file(instance.path()))
}

fn decode_frame_inner(instance: &Instance, frame: u32) -> Result<Frame, Error> {
    if frame >= instance.frames() {
        return Err(Error::not_found(format!(
            "frame {} of {} in {}",
            frame + 1,
            instance.frames(),
            instance.path()
        )));
    }
    let ts = instance.transfer_syntax();
    match &instance.pixel {
        PixelStorage::Released => Err(Error::not_found(format!(
            "pixel data of {}: it was released after being decoded into the series' volume",
            instance.path()
        ))),
        PixelStorage::Native(data) => {
            if !NATIVE_TRANSFER_SYNTAXES.contains(&ts) && ts_name(ts).is_some() {
                // a compression transfer syntax with native pixel data
                if !SUPPORTED_TRANSFER_SYNTAXES.contains(&ts) {
                    return Err(Error::unsupported_ts(ts, ts_name(ts)));
                }
                return Err(Error::corrupt(format!(
                    "transfer syntax {ts} requires encapsulated pixel data"
                )));
            }
            native::decode(instance, data, frame)
        }
        PixelStorage::Encapsulated {
            offset_table,
            fragments,
        } => {
            // the codec of each encapsulated transfer syntax, and how its frames begin
            type Codec = fn(&Instance, &[u8]) -> Result<Frame, Error>;
            let (start, codec): (FrameStart, Codec) = match ts {
                RLE => (FrameStart::Unknown, rle::decode),
                JPEG_BASELINE | JPEG_LOSSLESS | JPEG_LOSSLESS_SV1 => {
                    (FrameStart::Jpeg, jpeg::decode)
                }
                JPEG_EXTENDED => (FrameStart::Jpeg, jpeg12::decode),
                JPEG_LS_LOSSLESS | JPEG_LS => (FrameStart::Jpeg, jpegls::decode),
                JPEG_2000_LOSSLESS | JPEG_2000 => (FrameStart::J2k, jpeg2000::decode),
                HTJ2K_LOSSLESS | HTJ2K_LOSSLESS_RPCL | HTJ2K => (FrameStart::J2k, htj2k::decode),
                DEFLATED_FRAMES => (FrameStart::Unknown, deflate::decode),
                _ if NATIVE_TRANSFER_SYNTAXES.contains(&ts) => {
                    return Err(Error::malformed(format!(
                        "encapsulated pixel data in native transfer syntax {ts}"
                    )))
                }
                _ => return Err(Error::unsupported_ts(ts, ts_name(ts))),
            };
            let data = frame_fragments(instance, offset_table, fragments, frame, start)?;
            codec(instance, &data)
        }
    }
}

/// Decode all frames and normalise them exactly as the corpus README defines.
pub fn normalize_all(instance: &Instance) -> Result<Normalized, Error> {
    let mut bytes = Vec::new();
    let mut dtype = "u1";
    let mut samples = 1usize;
    for f in 0..instance.frames() {
        let frame = decode_frame(instance, f)?;
        if f == 0 {
            let expect = frame.data.item_size() * frame.data.len() * instance.frames() as usize;
            bytes
                .try_reserve(expect)
                .map_err(|_| Error::limit("decoded data does not fit in memory"))?;
        }
        dtype = frame.data.dtype();
        samples = usize::from(frame.samples_per_pixel);
        frame.data.extend_le_bytes(&mut bytes);
    }
    let mut shape = vec![
        instance.frames() as usize,
        instance.rows() as usize,
        instance.columns() as usize,
    ];
    if samples > 1 {
        shape.push(samples);
    }
    Ok(Normalized {
        dtype,
        shape,
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_extension_from_bits_stored() {
        // 12-bit signed: 0x800 is -2048, 0xFFF is -1, 0x7FF is 2047; garbage above bit 11
        let s = from_raw_u32(
            Kind::I16,
            Bits::stored(12),
            [0x0800u32, 0xFFFF, 0x07FF, 0xF001].into_iter(),
            4,
        );
        assert_eq!(s, Samples::I16(vec![-2048, -1, 2047, 1]));
        // 16-bit signed, full width
        let s = from_raw_u32(
            Kind::I16,
            Bits::stored(16),
            [0x8000u32, 0xFFFF].into_iter(),
            2,
        );
        assert_eq!(s, Samples::I16(vec![-32768, -1]));
        // 8-bit signed stored in 6 bits
        let s = from_raw_u32(
            Kind::I8,
            Bits::stored(6),
            [0x20u32, 0x1F, 0xFF].into_iter(),
            3,
        );
        assert_eq!(s, Samples::I8(vec![-32, 31, -1]));
    }

    #[test]
    fn bits_outside_bits_stored_are_removed() {
        let s = from_raw_u32(
            Kind::U16,
            Bits::stored(12),
            [0xF123u32, 0x0FFF, 0x1000].into_iter(),
            3,
        );
        assert_eq!(s, Samples::U16(vec![0x0123, 0x0FFF, 0]));
        let s = from_raw_u32(Kind::U8, Bits::stored(8), [0x1FFu32].into_iter(), 1);
        assert_eq!(s, Samples::U8(vec![0xFF]));
        // High Bit above Bits Stored - 1: shifted down first (as the reference does)
        let b = Bits {
            stored: 12,
            shift: 4,
        };
        let s = from_raw_u32(Kind::U16, b, [0xABC5u32].into_iter(), 1);
        assert_eq!(s, Samples::U16(vec![0xABC]));
    }

    #[test]
    fn planar_to_interleaved() {
        assert_eq!(
            interleave(&[1, 2, 3, 10, 20, 30, 100, 200, 255], 3),
            vec![1, 10, 100, 2, 20, 200, 3, 30, 255]
        );
    }
}
