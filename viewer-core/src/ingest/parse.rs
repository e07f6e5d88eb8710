//! Byte-level entry: preamble/meta detection, transfer syntax inference, structural
//! pre-scan, then dicom-rs parsing of the data set and extraction of the fields we need.

use std::io::Read;

use dicom_core::header::HasLength as _;
use dicom_core::value::DicomValueType as _;
use dicom_core::value::{PrimitiveValue, Value};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::{TransferSyntaxIndex, TransferSyntaxRegistry};

use super::limits;
use super::lut;
use super::scan::{self, Encoding, ScanError};
use super::{Instance, NonImage, Parsed, PixelStorage};
use crate::error::Error;
use crate::window::Window;

pub(crate) const IMPLICIT_LE: &str = "1.2.840.10008.1.2";
pub(crate) const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
pub(crate) const EXPLICIT_BE: &str = "1.2.840.10008.1.2.2";
pub(crate) const DEFLATED_LE: &str = "1.2.840.10008.1.2.1.99";
const DICOMDIR_SOP_CLASS: &str = "1.2.840.10008.1.3.10";

/// Maximum size of an inflated (deflate transfer syntax) data set.
const MAX_INFLATED: u64 = limits::MAX_DECODED_BYTES + (64 << 20);

/// File meta information we need.
#[derive(Default, Debug)]
struct Meta {
    transfer_syntax: Option<String>,
    media_sop_class: Option<String>,
}

fn trim_uid(b: &[u8]) -> String {
    String::from_utf8_lossy(b)
        .trim_matches(|c: char| c == '\0' || c.is_whitespace())
        .to_string()
}

/// Parse group 0002 elements starting at `pos`, (explicit VR little endian, or implicit
/// as a fallback). Returns the meta fields and the offset of the data set.
fn read_meta(bytes: &[u8], mut pos: usize) -> (Meta, usize) {
    let mut meta = Meta::default();
    while pos + 8 <= bytes.len() {
        let group = u16::from_le_bytes([bytes[pos], bytes[pos + 1]]);
        if group != 0x0002 {
            break;
        }
        let elem = u16::from_le_bytes([bytes[pos + 2], bytes[pos + 3]]);
        let vr = [bytes[pos + 4], bytes[pos + 5]];
        let (len, value) = if scan::is_vr(vr) {
            if scan::long_length_vr(vr) {
                if pos + 12 > bytes.len() {
                    break;
                }
                let l = u32::from_le_bytes([
                    bytes[pos + 8],
                    bytes[pos + 9],
                    bytes[pos + 10],
                    bytes[pos + 11],
                ]);
                (l as usize, pos + 12)
            } else {
                (
                    usize::from(u16::from_le_bytes([bytes[pos + 6], bytes[pos + 7]])),
                    pos + 8,
                )
            }
        } else {
            let l = u32::from_le_bytes([
                bytes[pos + 4],
                bytes[pos + 5],
                bytes[pos + 6],
                bytes[pos + 7],
            ]);
            (l as usize, pos + 8)
        };
        let Some(v) = value.checked_add(len).and_then(|e| bytes.get(value..e)) else {
            break;
        };
        match elem {
            0x0010 => meta.transfer_syntax = Some(trim_uid(v)).filter(|s| !s.is_empty()),
            0x0002 => meta.media_sop_class = Some(trim_uid(v)).filter(|s| !s.is_empty()),
            _ => {}
        }
        pos = value + len;
    }
    (meta, pos)
}

fn scan_err(e: ScanError) -> Error {
    match e {
        ScanError::Truncated(s) => Error::truncated(s),
        ScanError::Malformed(s) => Error::malformed(s),
    }
}

fn encoding_ts(enc: Encoding) -> &'static str {
    match enc {
        Encoding::ImplicitLE => IMPLICIT_LE,
        Encoding::ExplicitLE => EXPLICIT_LE,
        Encoding::ExplicitBE => EXPLICIT_BE,
    }
}

/// Inflate a deflated data set, bounded by [`MAX_INFLATED`].
fn inflate(data: &[u8]) -> Result<Vec<u8>, Error> {
    let ts = TransferSyntaxRegistry.get(DEFLATED_LE).ok_or_else(|| {
        Error::unsupported_ts(DEFLATED_LE, Some("Deflated Explicit VR Little Endian"))
    })?;
    let dicom_encoding::transfer_syntax::Codec::Dataset(Some(adapter)) = ts.codec() else {
        return Err(Error::unsupported_ts(
            DEFLATED_LE,
            Some("Deflated Explicit VR Little Endian"),
        ));
    };
    let mut reader = adapter.adapt_reader(Box::new(data)).take(MAX_INFLATED + 1);
    let mut out = Vec::new();
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                out.try_reserve(n)
                    .map_err(|_| Error::limit("inflated data set does not fit in memory"))?;
                out.extend_from_slice(&chunk[..n]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                if out.is_empty() {
                    return Err(Error::malformed(format!("deflated data set: {e}")));
                }
                // a corrupt tail: keep what was inflated; the scan decides
                break;
            }
        }
    }
    if out.len() as u64 > MAX_INFLATED {
        return Err(Error::limit(format!(
            "inflated data set larger than {MAX_INFLATED} bytes"
        )));
    }
    Ok(out)
}

/// Parse a DICOM file and classify it.
pub fn parse(path: &str, bytes: Vec<u8>) -> Result<Parsed, Error> {
    parse_inner(bytes)
        .map_err(|e| e.with_file(path))
        .map(|p| match p {
            Parsed::Image(mut i) => {
                i.path = path.to_string();
                Parsed::Image(i)
            }
            other => other,
        })
}

fn parse_inner(bytes: Vec<u8>) -> Result<Parsed, Error> {
    if bytes.is_empty() {
        return Err(Error::not_dicom("the file is empty"));
    }
    // 1. preamble and file meta information
    let has_meta_at = if bytes.len() >= 132 && &bytes[128..132] == b"DICM" {
        Some(132)
    } else if bytes.len() >= 4 && &bytes[0..4] == b"DICM" {
        Some(4)
    } else if bytes.len() >= 8 && bytes[0..2] == [0x02, 0x00] && scan::is_vr([bytes[4], bytes[5]]) {
        // meta group without preamble and magic
        Some(0)
    } else {
        None
    };
    let (meta, ds_start, has_meta_at) = match has_meta_at {
        Some(p) => {
            let (meta, end) = read_meta(&bytes, p);
            if end == p && p == 132 && scan::sniff(&bytes).is_some() {
                // "DICM" at offset 128 but no meta group after it: the bytes happen to
                // spell DICM inside a data set without preamble
                (Meta::default(), 0, None)
            } else {
                (meta, end, Some(p))
            }
        }
        None => (Meta::default(), 0, None),
    };
    // A DICOMDIR is recognised from its meta information alone.
    if meta.media_sop_class.as_deref() == Some(DICOMDIR_SOP_CLASS) {
        return Ok(Parsed::NonImage(NonImage::Dicomdir));
    }
    let ds = &bytes[ds_start.min(bytes.len())..];

    // 2. transfer syntax and data set encoding
    let sniffed = scan::sniff(ds);
    let declared = meta.transfer_syntax.clone();
    let inflated;
    let (ts_uid, enc, ds): (String, Encoding, &[u8]) = match declared.as_deref() {
        Some(DEFLATED_LE) => {
            inflated = inflate(ds)?;
            (DEFLATED_LE.to_string(), Encoding::ExplicitLE, &inflated[..])
        }
        Some(uid) => {
            let declared_enc = match uid {
                IMPLICIT_LE => Encoding::ImplicitLE,
                EXPLICIT_BE => Encoding::ExplicitBE,
                // all other transfer syntaxes (known or not) use explicit VR LE
                _ => Encoding::ExplicitLE,
            };
            // Some writers declare one encoding and use another: trust the bytes when
            // the declared encoding does not scan.
            let enc = match sniffed {
                Some(s) if s != declared_enc && scan::scan(ds, declared_enc).is_err() => s,
                _ => declared_enc,
            };
            (uid.to_string(), enc, ds)
        }
        None => {
            let Some(enc) = sniffed else {
                if has_meta_at.is_some() && ds.is_empty() {
                    return Err(Error::truncated(
                        "the file ends after the file meta information",
                    ));
                }
                if has_meta_at.is_some() {
                    return Err(Error::malformed(
                        "no transfer syntax in the file meta information, and the data set encoding is not recognisable",
                    ));
                }
                return Err(Error::not_dicom(
                    "no DICOM preamble or magic, and the content does not look like a DICOM data set",
                ));
            };
            (encoding_ts(enc).to_string(), enc, ds)
        }
    };

    // 3. structural pre-scan: lengths checked against the available bytes
    let summary = match scan::scan(ds, enc) {
        Ok(s) => s,
        Err(e) => {
            if has_meta_at.is_none() {
                return Err(Error::not_dicom(format!(
                    "no DICOM preamble or magic, and the content does not parse as a data set: {}",
                    match e {
                        ScanError::Truncated(s) | ScanError::Malformed(s) => s,
                    }
                )));
            }
            return Err(scan_err(e));
        }
    };
    if has_meta_at.is_none() && summary.elements < 2 {
        return Err(Error::not_dicom(
            "no DICOM preamble or magic, and too few data elements",
        ));
    }
    let ds = &ds[..summary.end];

    // 4. dicom-rs parse of the data set (bounded by the scan)
    let parse_ts = TransferSyntaxRegistry
        .get(encoding_ts(enc))
        .ok_or_else(|| Error::malformed("transfer syntax registry is incomplete"))?;
    let mut obj = match InMemDicomObject::read_dataset_with_ts(ds, parse_ts) {
        Ok(o) => o,
        Err(e) => {
            // The structure scanned fine: if it has no pixel data it is not an image
            // whatever the parser objects to (e.g. a private sequence it cannot read).
            if summary.has_directory_records {
                return Ok(Parsed::NonImage(NonImage::Dicomdir));
            }
            if !summary.has_pixel_data {
                return Ok(Parsed::NonImage(NonImage::NoPixelData));
            }
            return Err(Error::malformed(format!(
                "data set could not be parsed: {e}"
            )));
        }
    };
    drop(bytes);
    if !matches!(enc, Encoding::ExplicitBE) {
        resolve_unknown_vrs(&mut obj);
    }

    // 5. classify
    let sop_class = get_str(&obj, tags::SOP_CLASS_UID);
    let is_dicomdir = meta.media_sop_class.as_deref() == Some(DICOMDIR_SOP_CLASS)
        || sop_class == DICOMDIR_SOP_CLASS
        || summary.has_directory_records;
    if is_dicomdir {
        return Ok(Parsed::NonImage(NonImage::Dicomdir));
    }
    let pixel_tag = [
        tags::PIXEL_DATA,
        tags::FLOAT_PIXEL_DATA,
        tags::DOUBLE_FLOAT_PIXEL_DATA,
    ]
    .into_iter()
    .find(|t| obj.get(*t).is_some_and(|e| !e.value().is_empty()));
    let Some(pixel_tag) = pixel_tag else {
        // An image object without its pixels is a problem to show, not a report or a plan to skip
        // quietly: a header-only export, or a file cut off exactly at an element boundary (GE headers
        // are full of short private elements, so many cuts land on one).
        let class = if sop_class.is_empty() {
            meta.media_sop_class.as_deref().unwrap_or("")
        } else {
            sop_class.as_str()
        };
        let has_image_header = obj.get(tags::ROWS).is_some() && obj.get(tags::COLUMNS).is_some();
        if has_image_header || is_image_storage(class) {
            return Err(Error::no_pixel_data(format!(
                "an image object (SOP Class {class}) without Pixel Data: a header-only file, or one cut off"
            )));
        }
        return Ok(Parsed::NonImage(NonImage::NoPixelData));
    };
    let float_bits = if pixel_tag == tags::FLOAT_PIXEL_DATA {
        32
    } else if pixel_tag == tags::DOUBLE_FLOAT_PIXEL_DATA {
        64
    } else {
        0
    };

    // 6. image pixel module and limits
    let rows = get_uint(&obj, tags::ROWS).ok_or_else(|| Error::malformed("Rows is missing"))?;
    let columns =
        get_uint(&obj, tags::COLUMNS).ok_or_else(|| Error::malformed("Columns is missing"))?;
    if rows == 0 || columns == 0 {
        return Err(Error::malformed(format!(
            "image size {columns}x{rows} is empty"
        )));
    }
    if rows > u64::from(limits::MAX_DIM) || columns > u64::from(limits::MAX_DIM) {
        return Err(Error::limit(format!(
            "image size {columns}x{rows} exceeds {}",
            limits::MAX_DIM
        )));
    }
    let bits_allocated = match get_uint(&obj, tags::BITS_ALLOCATED) {
        Some(b) => b,
        None if float_bits != 0 => u64::from(float_bits),
        None => return Err(Error::malformed("Bits Allocated is missing")),
    };
    if !matches!(bits_allocated, 1 | 8 | 16 | 32 | 64) {
        return Err(Error::unsupported_pixel_format(format!(
            "Bits Allocated {bits_allocated}"
        )));
    }
    if float_bits != 0 && bits_allocated != u64::from(float_bits) {
        return Err(Error::unsupported_pixel_format(format!(
            "float pixel data with Bits Allocated {bits_allocated}"
        )));
    }
    if float_bits == 0 && bits_allocated == 64 {
        return Err(Error::unsupported_pixel_format(
            "integer pixel data with Bits Allocated 64",
        ));
    }
    let bits_stored = get_uint(&obj, tags::BITS_STORED)
        .filter(|&b| b > 0)
        .unwrap_or(bits_allocated);
    if bits_stored > bits_allocated {
        return Err(Error::malformed(format!(
            "Bits Stored {bits_stored} exceeds Bits Allocated {bits_allocated}"
        )));
    }
    let high_bit = get_uint(&obj, tags::HIGH_BIT).unwrap_or(bits_stored - 1);
    if high_bit >= bits_allocated {
        return Err(Error::malformed(format!(
            "High Bit {high_bit} not below Bits Allocated {bits_allocated}"
        )));
    }
    let samples = get_uint(&obj, tags::SAMPLES_PER_PIXEL).unwrap_or(1);
    if samples == 0 || samples > u64::from(limits::MAX_SAMPLES) {
        return Err(Error::unsupported_pixel_format(format!(
            "Samples per Pixel {samples}"
        )));
    }
    let pixel_representation = get_uint(&obj, tags::PIXEL_REPRESENTATION).unwrap_or(0);
    if pixel_representation > 1 {
        return Err(Error::malformed(format!(
            "Pixel Representation {pixel_representation}"
        )));
    }
    let planar = get_uint(&obj, tags::PLANAR_CONFIGURATION)
        .unwrap_or(0)
        .min(1);
    let frames = match get_int(&obj, tags::NUMBER_OF_FRAMES) {
        None => 1,
        Some(n) if n <= 0 => 1,
        Some(n) => n as u64,
    };
    if frames > u64::from(limits::MAX_FRAMES) {
        return Err(Error::limit(format!(
            "{frames} frames exceeds {}",
            limits::MAX_FRAMES
        )));
    }
    let mut photometric = get_str(&obj, tags::PHOTOMETRIC_INTERPRETATION).to_ascii_uppercase();
    if photometric.is_empty() {
        photometric = if samples == 1 {
            "MONOCHROME2".into()
        } else {
            "RGB".into()
        };
    }
    let bytes_per_sample = bits_allocated.div_ceil(8);
    let decoded_total = rows * columns * samples * bytes_per_sample * frames;
    if decoded_total > limits::MAX_DECODED_BYTES {
        return Err(Error::limit(format!(
            "decoded size {decoded_total} bytes exceeds {}",
            limits::MAX_DECODED_BYTES
        )));
    }

    // 7. pixel data
    let Some(pixel_elem) = obj.take(pixel_tag) else {
        return Ok(Parsed::NonImage(NonImage::NoPixelData));
    };
    let pixel_vr = pixel_elem.vr();
    let pixel = match pixel_elem.into_value() {
        Value::PixelSequence(seq) => {
            let (offset_table, fragments) = seq.into_parts();
            PixelStorage::Encapsulated {
                offset_table: offset_table.into_vec(),
                fragments: fragments.into_vec(),
            }
        }
        Value::Primitive(p) => {
            let big = enc == Encoding::ExplicitBE;
            let data = primitive_to_le_bytes(p, big, pixel_vr, bits_allocated as u16)?;
            PixelStorage::Native(data)
        }
        Value::Sequence(_) => {
            return Err(Error::malformed("Pixel Data is encoded as a sequence"));
        }
    };
    if let PixelStorage::Native(data) = &pixel {
        let needed = if bits_allocated == 1 {
            // 1-bit frames are not byte aligned
            (rows * columns * samples * frames).div_ceil(8)
        } else {
            native_frame_len(
                rows,
                columns,
                samples,
                bits_allocated,
                &photometric,
                float_bits,
            ) * frames
        };
        if (data.len() as u64) < needed {
            return Err(Error::truncated(format!(
                "pixel data has {} bytes, {needed} needed for {frames} frame(s) of {columns}x{rows}x{samples} at {bits_allocated} bits",
                data.len()
            )));
        }
    }

    // 8. the rest of the header
    let (frame_positions, frame_rescale, frame_windows, shared) = functional_groups(&obj, frames);
    let image_position = get_f64s(&obj, tags::IMAGE_POSITION_PATIENT)
        .and_then(|v| to3(&v))
        .or(shared.position);
    let image_orientation = get_f64s(&obj, tags::IMAGE_ORIENTATION_PATIENT)
        .and_then(|v| to6(&v))
        .or(shared.orientation);
    let pixel_spacing = get_f64s(&obj, tags::PIXEL_SPACING)
        .and_then(|v| to2(&v))
        .or(shared.spacing);
    let (rescale_slope, rescale_intercept) =
        rescale_of(&obj).or(shared.rescale).unwrap_or((1.0, 0.0));
    let file_window = window_of(&obj).or(shared.window);
    // 9. lookup tables (see `lut`): a malformed palette or Modality LUT keeps the file listed, and
    //    refused for display with its reason; a malformed VOI LUT is only left out.
    let signed = pixel_representation == 1;
    let mut lut_problem = None;
    let palette = if photometric == "PALETTE COLOR" && samples == 1 {
        lut::palette_of(&obj, signed).unwrap_or_else(|e| {
            lut_problem = Some(format!("Palette Color LUT: {e}"));
            None
        })
    } else {
        None
    };
    let modality_lut = if samples == 1 && float_bits == 0 {
        lut::modality_lut_of(&obj, signed).unwrap_or_else(|e| {
            lut_problem.get_or_insert_with(|| format!("Modality LUT Sequence: {e}"));
            None
        })
    } else {
        None
    };
    let voi_signed = signed || rescale_intercept < 0.0 || rescale_slope < 0.0;
    let voi_luts = if samples == 1 {
        lut::voi_luts_of(&obj, voi_signed)
    } else {
        Vec::new()
    };

    Ok(Parsed::Image(Box::new(Instance {
        path: String::new(),
        transfer_syntax: ts_uid,
        sop_class_uid: sop_class,
        sop_instance_uid: get_str(&obj, tags::SOP_INSTANCE_UID),
        patient_name: get_str(&obj, tags::PATIENT_NAME),
        patient_id: get_str(&obj, tags::PATIENT_ID),
        study_uid: get_str(&obj, tags::STUDY_INSTANCE_UID),
        study_date: get_str(&obj, tags::STUDY_DATE),
        study_time: get_str(&obj, tags::STUDY_TIME),
        study_description: get_str(&obj, tags::STUDY_DESCRIPTION),
        series_uid: get_str(&obj, tags::SERIES_INSTANCE_UID),
        series_number: get_int(&obj, tags::SERIES_NUMBER),
        series_description: get_str(&obj, tags::SERIES_DESCRIPTION),
        modality: get_str(&obj, tags::MODALITY),
        instance_number: get_int(&obj, tags::INSTANCE_NUMBER),
        image_position,
        image_orientation,
        pixel_spacing,
        frame_positions,
        rows: rows as u32,
        columns: columns as u32,
        frames: frames as u32,
        samples_per_pixel: samples as u16,
        bits_allocated: bits_allocated as u16,
        bits_stored: bits_stored as u16,
        high_bit: high_bit as u16,
        pixel_representation: pixel_representation as u16,
        planar_configuration: planar as u16,
        photometric,
        float_bits,
        frame_rescale,
        frame_windows,
        rescale_slope,
        rescale_intercept,
        file_window,
        palette,
        modality_lut,
        voi_luts,
        lut_problem,
        pixel,
    })))
}

/// Bytes of one native frame as stored.
pub(crate) fn native_frame_len(
    rows: u64,
    columns: u64,
    samples: u64,
    bits_allocated: u64,
    photometric: &str,
    float_bits: u16,
) -> u64 {
    let _ = float_bits;
    let pixels = rows * columns;
    let values = if samples == 3 && is_ybr_422(photometric) {
        // 4:2:2: two luminance and one pair of chroma values per two pixels
        pixels * 2
    } else {
        pixels * samples
    };
    if bits_allocated == 1 {
        values.div_ceil(8)
    } else {
        values * (bits_allocated / 8)
    }
}

pub(crate) fn is_ybr_422(photometric: &str) -> bool {
    photometric == "YBR_FULL_422" || photometric == "YBR_PARTIAL_422"
}

/// Native pixel data as little-endian bytes.
///
/// dicom-rs hands over OW/OL/OF/OD values already converted to numbers. For little
/// endian their little-endian bytes are the file bytes. For big endian the file bytes
/// are rebuilt and then swapped in units of the sample size (at least the VR's word
/// size: 8-bit samples in OW are swapped in pairs, as the standard packs them).
fn primitive_to_le_bytes(
    p: PrimitiveValue,
    big: bool,
    vr: VR,
    bits_allocated: u16,
) -> Result<Vec<u8>, Error> {
    if big {
        let vr_word = match vr {
            VR::OW => 2,
            VR::OL | VR::OF => 4,
            VR::OD | VR::OV => 8,
            _ => 1,
        };
        let unit = usize::from(bits_allocated / 8).max(vr_word).max(1);
        let mut file: Vec<u8> = match p {
            PrimitiveValue::U8(v) => v.into_vec(),
            PrimitiveValue::U16(v) => v.iter().flat_map(|x| x.to_be_bytes()).collect(),
            PrimitiveValue::I16(v) => v.iter().flat_map(|x| x.to_be_bytes()).collect(),
            PrimitiveValue::U32(v) => v.iter().flat_map(|x| x.to_be_bytes()).collect(),
            PrimitiveValue::I32(v) => v.iter().flat_map(|x| x.to_be_bytes()).collect(),
            PrimitiveValue::U64(v) => v.iter().flat_map(|x| x.to_be_bytes()).collect(),
            PrimitiveValue::I64(v) => v.iter().flat_map(|x| x.to_be_bytes()).collect(),
            PrimitiveValue::F32(v) => v.iter().flat_map(|x| x.to_be_bytes()).collect(),
            PrimitiveValue::F64(v) => v.iter().flat_map(|x| x.to_be_bytes()).collect(),
            PrimitiveValue::Empty => Vec::new(),
            other => {
                return Err(Error::malformed(format!(
                    "Pixel Data has unexpected value type {:?}",
                    other.value_type()
                )))
            }
        };
        if unit > 1 {
            for c in file.chunks_exact_mut(unit) {
                c.reverse();
            }
        }
        return Ok(file);
    }
    Ok(match p {
        PrimitiveValue::U8(v) => v.into_vec(),
        PrimitiveValue::U16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        PrimitiveValue::I16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        PrimitiveValue::U32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        PrimitiveValue::I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        PrimitiveValue::U64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        PrimitiveValue::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        PrimitiveValue::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        PrimitiveValue::F64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        PrimitiveValue::Empty => Vec::new(),
        other => {
            return Err(Error::malformed(format!(
                "Pixel Data has unexpected value type {:?}",
                other.value_type()
            )))
        }
    })
}

/// Whether a SOP Class is one of the image storage classes (which must carry pixel data).
///
/// Storage classes live under 1.2.840.10008.5.1.4.1.1; the families listed here under it are not
/// images (structured reports, presentation states, RT plans/structures/records, encapsulated
/// documents, waveforms, raw data, registrations, spectroscopy, surfaces...), everything else is.
fn is_image_storage(class: &str) -> bool {
    // An entry ending in "." is a whole family; the others are single classes.
    const NOT_IMAGES: &[&str] = &[
        "88.", "11.", "104.", "9.", "68.", "78.", "79.", "80.", "81.", "82.", "90.", "91.", "200.",
        "501.", "601.", "4.2", "66", "66.1", "66.2", "66.3", "66.5", "66.6", "67",
    ];
    let Some(rest) = class.strip_prefix("1.2.840.10008.5.1.4.1.1.") else {
        return false;
    };
    // Of the radiotherapy classes only RT Image (481.1) and RT Dose (481.2) carry pixels.
    if let Some(rt) = rest.strip_prefix("481.") {
        return rt == "1" || rt == "2";
    }
    !NOT_IMAGES.iter().any(|&not| {
        if not.ends_with('.') {
            rest.starts_with(not)
        } else {
            rest == not
        }
    })
}

// ---- element access helpers -------------------------------------------------------

/// Writers sometimes store standard attributes with VR UN (e.g. after a pass through a PACS that did not
/// know them). Their bytes are the little-endian implicit-VR value of the dictionary VR; without this,
/// Modality of such a file reads as "82\\84\\68..." and Rows as garbage. pydicom does the same.
fn resolve_unknown_vrs(obj: &mut InMemDicomObject) {
    use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
    use dicom_core::DataElement;
    let dictionary = dicom_dictionary_std::StandardDataDictionary;
    let unknown: Vec<(Tag, VR)> = obj
        .iter()
        .filter(|e| e.vr() == VR::UN && e.header().tag.group() != 0x7FE0)
        .filter_map(|e| {
            let tag = e.header().tag;
            match dictionary.by_tag(tag).map(|entry| entry.vr()) {
                Some(VirtualVr::Exact(vr)) if vr != VR::UN && vr != VR::SQ => Some((tag, vr)),
                _ => None,
            }
        })
        .collect();
    for (tag, vr) in unknown {
        let Some(bytes) = obj
            .get(tag)
            .and_then(|e| e.to_bytes().ok())
            .map(|b| b.to_vec())
        else {
            continue;
        };
        if let Some(value) = value_from_le_bytes(vr, &bytes) {
            obj.put(DataElement::new(tag, vr, value));
        }
    }
}

/// A primitive value of `vr` from its little-endian encoding; `None` for VRs we leave as bytes.
fn value_from_le_bytes(vr: VR, bytes: &[u8]) -> Option<PrimitiveValue> {
    fn numbers<const N: usize, T>(bytes: &[u8], from: fn([u8; N]) -> T) -> Option<Vec<T>> {
        bytes.len().is_multiple_of(N).then(|| {
            bytes
                .chunks_exact(N)
                .filter_map(|c| c.try_into().ok().map(from))
                .collect()
        })
    }
    Some(match vr {
        VR::AE
        | VR::AS
        | VR::CS
        | VR::DA
        | VR::DS
        | VR::DT
        | VR::IS
        | VR::LO
        | VR::LT
        | VR::PN
        | VR::SH
        | VR::ST
        | VR::TM
        | VR::UC
        | VR::UI
        | VR::UR
        | VR::UT => {
            let text: String = bytes.iter().map(|&b| char::from(b)).collect();
            let text = text.trim_end_matches(['\0', ' ']);
            PrimitiveValue::Strs(text.split('\\').map(str::to_owned).collect())
        }
        VR::US => PrimitiveValue::U16(numbers(bytes, u16::from_le_bytes)?.into()),
        VR::SS => PrimitiveValue::I16(numbers(bytes, i16::from_le_bytes)?.into()),
        VR::UL => PrimitiveValue::U32(numbers(bytes, u32::from_le_bytes)?.into()),
        VR::SL => PrimitiveValue::I32(numbers(bytes, i32::from_le_bytes)?.into()),
        VR::FL => PrimitiveValue::F32(numbers(bytes, f32::from_le_bytes)?.into()),
        VR::FD => PrimitiveValue::F64(numbers(bytes, f64::from_le_bytes)?.into()),
        _ => return None,
    })
}

pub(crate) fn get_str(obj: &InMemDicomObject, tag: Tag) -> String {
    obj.get(tag)
        .and_then(|e| e.to_str().ok())
        .map(|s| {
            s.trim_matches(|c: char| c == '\0' || c.is_whitespace())
                .to_string()
        })
        .unwrap_or_default()
}

fn get_int(obj: &InMemDicomObject, tag: Tag) -> Option<i64> {
    let e = obj.get(tag)?;
    if let Ok(v) = e.to_int::<i64>() {
        return Some(v);
    }
    // tolerate "12.0" style IS values
    let f = e.to_float64().ok()?;
    (f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15).then_some(f as i64)
}

fn get_uint(obj: &InMemDicomObject, tag: Tag) -> Option<u64> {
    get_int(obj, tag).and_then(|v| u64::try_from(v).ok())
}

fn get_f64s(obj: &InMemDicomObject, tag: Tag) -> Option<Vec<f64>> {
    let v = obj.get(tag)?.to_multi_float64().ok()?;
    (!v.is_empty() && v.iter().all(|x| x.is_finite())).then_some(v)
}

fn to2(v: &[f64]) -> Option<[f64; 2]> {
    Some([*v.first()?, *v.get(1)?])
}
fn to3(v: &[f64]) -> Option<[f64; 3]> {
    Some([*v.first()?, *v.get(1)?, *v.get(2)?])
}
fn to6(v: &[f64]) -> Option<[f64; 6]> {
    Some([
        *v.first()?,
        *v.get(1)?,
        *v.get(2)?,
        *v.get(3)?,
        *v.get(4)?,
        *v.get(5)?,
    ])
}

fn rescale_of(obj: &InMemDicomObject) -> Option<(f64, f64)> {
    let slope = get_f64s(obj, tags::RESCALE_SLOPE).and_then(|v| v.first().copied());
    let intercept = get_f64s(obj, tags::RESCALE_INTERCEPT).and_then(|v| v.first().copied());
    if slope.is_none() && intercept.is_none() {
        return None;
    }
    let slope = slope.filter(|s| *s != 0.0).unwrap_or(1.0);
    Some((slope, intercept.unwrap_or(0.0)))
}

fn window_of(obj: &InMemDicomObject) -> Option<Window> {
    let center = *get_f64s(obj, tags::WINDOW_CENTER)?.first()?;
    let width = *get_f64s(obj, tags::WINDOW_WIDTH)?.first()?;
    (width >= 1.0).then_some(Window { center, width })
}

#[derive(Default)]
struct Shared {
    position: Option<[f64; 3]>,
    orientation: Option<[f64; 6]>,
    spacing: Option<[f64; 2]>,
    rescale: Option<(f64, f64)>,
    window: Option<Window>,
}

/// First item of a sequence element in `obj`.
fn first_item(obj: &InMemDicomObject, tag: Tag) -> Option<&InMemDicomObject> {
    obj.get(tag)?.items()?.first()
}

/// Values of one functional group item (shared or per-frame).
fn group_values(item: &InMemDicomObject) -> Shared {
    let pos = first_item(item, tags::PLANE_POSITION_SEQUENCE)
        .and_then(|i| get_f64s(i, tags::IMAGE_POSITION_PATIENT))
        .and_then(|v| to3(&v));
    let ori = first_item(item, tags::PLANE_ORIENTATION_SEQUENCE)
        .and_then(|i| get_f64s(i, tags::IMAGE_ORIENTATION_PATIENT))
        .and_then(|v| to6(&v));
    let spacing = first_item(item, tags::PIXEL_MEASURES_SEQUENCE)
        .and_then(|i| get_f64s(i, tags::PIXEL_SPACING))
        .and_then(|v| to2(&v));
    let rescale = first_item(item, tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE).and_then(rescale_of);
    let window = first_item(item, tags::FRAME_VOILUT_SEQUENCE).and_then(window_of);
    Shared {
        position: pos,
        orientation: ori,
        spacing,
        rescale,
        window,
    }
}

type FrameGroups = (
    Vec<Option<[f64; 3]>>,
    Vec<Option<(f64, f64)>>,
    Vec<Option<Window>>,
    Shared,
);

/// Per-frame and shared functional groups (enhanced multi-frame objects).
fn functional_groups(obj: &InMemDicomObject, frames: u64) -> FrameGroups {
    let mut shared = Shared::default();
    if let Some(item) = first_item(obj, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE) {
        shared = group_values(item);
    }
    let mut positions = Vec::new();
    let mut rescales = Vec::new();
    let mut windows = Vec::new();
    if let Some(items) = obj
        .get(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE)
        .and_then(|e| e.items())
    {
        for item in items.iter().take(frames as usize) {
            let g = group_values(item);
            positions.push(g.position);
            rescales.push(g.rescale);
            windows.push(g.window);
            if shared.orientation.is_none() {
                shared.orientation = g.orientation;
            }
            if shared.spacing.is_none() {
                shared.spacing = g.spacing;
            }
        }
        if shared.position.is_none() {
            shared.position = positions.first().copied().flatten();
        }
        if shared.rescale.is_none() {
            shared.rescale = rescales.first().copied().flatten();
        }
        if shared.window.is_none() {
            shared.window = windows.first().copied().flatten();
        }
    }
    if positions.iter().all(Option::is_none) {
        positions.clear();
    }
    if rescales.iter().all(Option::is_none) {
        rescales.clear();
    }
    if windows.iter().all(Option::is_none) {
        windows.clear();
    }
    (positions, rescales, windows, shared)
}

#[cfg(test)]
mod tests {
    use super::is_image_storage;

    #[test]
    fn image_storage_classes_are_told_from_other_objects() {
        for image in [
            "1.2.840.10008.5.1.4.1.1.2",      // CT
            "1.2.840.10008.5.1.4.1.1.2.1",    // enhanced CT
            "1.2.840.10008.5.1.4.1.1.13.1.2", // X-ray 3D craniofacial (CBCT)
            "1.2.840.10008.5.1.4.1.1.1.3",    // intra-oral X-ray
            "1.2.840.10008.5.1.4.1.1.481.1",  // RT image
            "1.2.840.10008.5.1.4.1.1.481.2",  // RT dose
            "1.2.840.10008.5.1.4.1.1.66.4",   // segmentation
            "1.2.840.10008.5.1.4.1.1.77.1.4", // VL photographic
        ] {
            assert!(is_image_storage(image), "{image}");
        }
        for other in [
            "1.2.840.10008.1.3.10",           // DICOMDIR
            "1.2.840.10008.5.1.4.1.1.88.11",  // basic text SR
            "1.2.840.10008.5.1.4.1.1.11.1",   // presentation state
            "1.2.840.10008.5.1.4.1.1.104.1",  // encapsulated PDF
            "1.2.840.10008.5.1.4.1.1.481.5",  // RT plan
            "1.2.840.10008.5.1.4.1.1.481.3",  // RT structure set
            "1.2.840.10008.5.1.4.1.1.481.12", // RT second-generation
            "1.2.840.10008.5.1.4.1.1.9.1.1",  // waveform
            "1.2.840.10008.5.1.4.1.1.66",     // raw data
            "",
        ] {
            assert!(!is_image_storage(other), "{other}");
        }
    }
}
