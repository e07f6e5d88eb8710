//! Ingest: parse DICOM bytes into an [`Instance`] (header fields + raw pixel data).
//!
//! This is the only module (with [`crate::decode`]) that touches dicom-rs.

pub mod lut;
pub mod write;

mod parse;
pub(crate) mod scan;
#[cfg(test)]
pub(crate) mod testutil;

pub use lut::{Lut, LutError};
pub use parse::parse;
pub(crate) use parse::{is_ybr_422, native_frame_len};

use crate::error::Error;
use crate::window::Window;

/// Safety limits checked before any allocation derived from header values.
pub mod limits {
    /// Maximum rows / columns.
    pub const MAX_DIM: u32 = 65535;
    /// Maximum number of frames.
    pub const MAX_FRAMES: u32 = 100_000;
    /// Maximum decoded size of all frames of one instance, in bytes.
    pub const MAX_DECODED_BYTES: u64 = 1 << 30;
    /// Maximum samples per pixel.
    pub const MAX_SAMPLES: u16 = 4;
}

/// Pixel data as found in the file.
#[derive(Debug, Clone)]
pub(crate) enum PixelStorage {
    /// Native (uncompressed) pixel data, converted to little-endian byte order.
    Native(Vec<u8>),
    /// Encapsulated pixel data: basic offset table and fragments.
    Encapsulated {
        offset_table: Vec<u32>,
        fragments: Vec<Vec<u8>>,
    },
    /// Freed after its frames were decoded into a volume ([`Instance::release_pixel_data`]).
    Released,
}

/// One parsed DICOM file: header fields needed for indexing, geometry and display,
/// plus the pixel data (raw or fragments).
#[derive(Debug, Clone)]
pub struct Instance {
    pub(crate) path: String,
    pub(crate) transfer_syntax: String,
    pub(crate) sop_class_uid: String,
    pub(crate) sop_instance_uid: String,
    pub(crate) patient_name: String,
    pub(crate) patient_id: String,
    pub(crate) study_uid: String,
    pub(crate) study_date: String,
    pub(crate) study_time: String,
    pub(crate) study_description: String,
    pub(crate) series_uid: String,
    pub(crate) series_number: Option<i64>,
    pub(crate) series_description: String,
    pub(crate) modality: String,
    pub(crate) instance_number: Option<i64>,
    pub(crate) image_position: Option<[f64; 3]>,
    pub(crate) image_orientation: Option<[f64; 6]>,
    pub(crate) pixel_spacing: Option<[f64; 2]>,
    /// Per-frame positions (from Per-Frame Functional Groups), when present.
    pub(crate) frame_positions: Vec<Option<[f64; 3]>>,
    pub(crate) rows: u32,
    pub(crate) columns: u32,
    pub(crate) frames: u32,
    pub(crate) samples_per_pixel: u16,
    pub(crate) bits_allocated: u16,
    pub(crate) bits_stored: u16,
    pub(crate) high_bit: u16,
    pub(crate) pixel_representation: u16,
    pub(crate) planar_configuration: u16,
    pub(crate) photometric: String,
    /// 0 = integer Pixel Data, 32 = Float Pixel Data, 64 = Double Float Pixel Data.
    pub(crate) float_bits: u16,
    /// Per-frame Rescale Slope/Intercept (Pixel Value Transformation in per-frame groups).
    pub(crate) frame_rescale: Vec<Option<(f64, f64)>>,
    /// Per-frame first window (Frame VOI LUT in per-frame groups).
    pub(crate) frame_windows: Vec<Option<Window>>,
    pub(crate) rescale_slope: f64,
    pub(crate) rescale_intercept: f64,
    pub(crate) file_window: Option<Window>,
    pub(crate) palette: Option<Palette>,
    /// Modality LUT Sequence (first item), which replaces Rescale Slope/Intercept when present.
    pub(crate) modality_lut: Option<Lut>,
    /// VOI LUT Sequence items (usable ones, at most [`lut::MAX_VOI_LUTS`]).
    pub(crate) voi_luts: Vec<Lut>,
    /// Why the palette or the Modality LUT in the header cannot be used (the image is then not shown).
    pub(crate) lut_problem: Option<String>,
    pub(crate) pixel: PixelStorage,
}

/// Palette colour lookup table (PALETTE COLOR), reduced to 8-bit display values.
#[derive(Debug, Clone, PartialEq)]
pub struct Palette {
    /// First stored value mapped (values below map to entry 0, above to the last entry).
    pub first_mapped: i64,
    pub red: Vec<u8>,
    pub green: Vec<u8>,
    pub blue: Vec<u8>,
}

impl Palette {
    /// RGB for a stored value.
    pub fn lookup(&self, value: i64) -> [u8; 3] {
        let n = self.red.len().min(self.green.len()).min(self.blue.len());
        if n == 0 {
            return [0, 0, 0];
        }
        let i = (value - self.first_mapped).clamp(0, n as i64 - 1) as usize;
        [self.red[i], self.green[i], self.blue[i]]
    }
}

impl Instance {
    /// File path (as given to [`read_instance`]).
    pub fn path(&self) -> &str {
        &self.path
    }
    /// Number of frames (1 when Number of Frames is absent).
    pub fn frames(&self) -> u32 {
        self.frames
    }
    /// Rows.
    pub fn rows(&self) -> u32 {
        self.rows
    }
    /// Columns.
    pub fn columns(&self) -> u32 {
        self.columns
    }
    /// Transfer syntax UID (inferred for files without meta information).
    pub fn transfer_syntax(&self) -> &str {
        &self.transfer_syntax
    }
    /// Human name of the transfer syntax, when known.
    pub fn transfer_syntax_name(&self) -> Option<&'static str> {
        crate::decode::ts_name(&self.transfer_syntax)
    }
    /// SOP Class UID.
    pub fn sop_class_uid(&self) -> &str {
        &self.sop_class_uid
    }
    /// SOP Instance UID.
    pub fn sop_instance_uid(&self) -> &str {
        &self.sop_instance_uid
    }
    /// Patient's Name (raw DICOM PN string, `^`-separated).
    pub fn patient_name(&self) -> &str {
        &self.patient_name
    }
    /// Patient ID.
    pub fn patient_id(&self) -> &str {
        &self.patient_id
    }
    /// Study Instance UID.
    pub fn study_uid(&self) -> &str {
        &self.study_uid
    }
    /// Study Date (DA string).
    pub fn study_date(&self) -> &str {
        &self.study_date
    }
    /// Study Time (TM string).
    pub fn study_time(&self) -> &str {
        &self.study_time
    }
    /// Study Description.
    pub fn study_description(&self) -> &str {
        &self.study_description
    }
    /// Series Instance UID.
    pub fn series_uid(&self) -> &str {
        &self.series_uid
    }
    /// Series Number.
    pub fn series_number(&self) -> Option<i64> {
        self.series_number
    }
    /// Series Description.
    pub fn series_description(&self) -> &str {
        &self.series_description
    }
    /// Modality.
    pub fn modality(&self) -> &str {
        &self.modality
    }
    /// Instance Number.
    pub fn instance_number(&self) -> Option<i64> {
        self.instance_number
    }
    /// Image Position (Patient) of the first frame (or of `frame` for multi-frame
    /// objects with per-frame positions).
    pub fn image_position(&self, frame: u32) -> Option<[f64; 3]> {
        self.frame_positions
            .get(frame as usize)
            .copied()
            .flatten()
            .or(self.image_position)
    }
    /// Image Orientation (Patient): row direction cosines then column direction cosines.
    pub fn image_orientation(&self) -> Option<[f64; 6]> {
        self.image_orientation
    }
    /// Pixel Spacing (row spacing, column spacing) in mm.
    pub fn pixel_spacing(&self) -> Option<[f64; 2]> {
        self.pixel_spacing
    }
    /// Samples per Pixel.
    pub fn samples_per_pixel(&self) -> u16 {
        self.samples_per_pixel
    }
    /// Bits Allocated.
    pub fn bits_allocated(&self) -> u16 {
        self.bits_allocated
    }
    /// Bits Stored.
    pub fn bits_stored(&self) -> u16 {
        self.bits_stored
    }
    /// High Bit.
    pub fn high_bit(&self) -> u16 {
        self.high_bit
    }
    /// Pixel Representation (0 unsigned, 1 signed).
    pub fn pixel_representation(&self) -> u16 {
        self.pixel_representation
    }
    /// Planar Configuration (0 interleaved, 1 planar).
    pub fn planar_configuration(&self) -> u16 {
        self.planar_configuration
    }
    /// Photometric Interpretation (e.g. "MONOCHROME2", "RGB", "YBR_FULL_422").
    pub fn photometric(&self) -> &str {
        &self.photometric
    }
    /// Rescale Slope (1 when absent).
    pub fn rescale_slope(&self) -> f64 {
        self.rescale_slope
    }
    /// Rescale Intercept (0 when absent).
    pub fn rescale_intercept(&self) -> f64 {
        self.rescale_intercept
    }
    /// Rescale (slope, intercept) for one frame: per-frame functional group values
    /// when present, else the image's.
    pub fn frame_rescale(&self, frame: u32) -> (f64, f64) {
        self.frame_rescale
            .get(frame as usize)
            .copied()
            .flatten()
            .unwrap_or((self.rescale_slope, self.rescale_intercept))
    }
    /// First Window Center / Width in the file, if any.
    pub fn file_window(&self) -> Option<Window> {
        self.file_window
    }
    /// First window for one frame: per-frame functional group value when present,
    /// else the image's first window.
    pub fn frame_window(&self, frame: u32) -> Option<Window> {
        self.frame_windows
            .get(frame as usize)
            .copied()
            .flatten()
            .or(self.file_window)
    }
    /// Whether the pixel data is Float (32) or Double Float (64) Pixel Data; 0 for integer.
    pub fn float_bits(&self) -> u16 {
        self.float_bits
    }
    /// Palette colour LUT (for PALETTE COLOR images with a usable palette).
    pub fn palette(&self) -> Option<&Palette> {
        self.palette.as_ref()
    }
    /// Modality LUT Sequence (0028,3000), first item: when present it replaces Rescale Slope/Intercept.
    pub fn modality_lut(&self) -> Option<&Lut> {
        self.modality_lut.as_ref()
    }
    /// VOI LUT Sequence (0028,3010) items, in file order.
    pub fn voi_luts(&self) -> &[Lut] {
        &self.voi_luts
    }
    /// Why a palette or Modality LUT in the header is unusable (a malformed segmented palette, a Modality
    /// LUT whose data does not fit its descriptor, ...); such an image is refused rather than shown wrong.
    pub fn lut_problem(&self) -> Option<&str> {
        self.lut_problem.as_deref()
    }
    /// The modality stage of one frame: the Modality LUT when the file has one, else the frame's rescale.
    pub fn modality_stage(&self, frame: u32) -> crate::window::Modality<'_> {
        match &self.modality_lut {
            Some(lut) => crate::window::Modality::Lut(lut),
            None => {
                let (slope, intercept) = self.frame_rescale(frame);
                crate::window::Modality::Rescale { slope, intercept }
            }
        }
    }
    /// Frees the pixel data once its frames live elsewhere (in a volume): decoding it afterwards is an error.
    pub(crate) fn release_pixel_data(&mut self) {
        self.pixel = PixelStorage::Released;
    }
    /// Whether the pixel data was released into a volume.
    pub fn pixel_data_released(&self) -> bool {
        matches!(self.pixel, PixelStorage::Released)
    }
    /// Whether the pixel data is encapsulated (compressed).
    pub fn is_encapsulated(&self) -> bool {
        matches!(self.pixel, PixelStorage::Encapsulated { .. })
    }
}

/// What a file turned out to be, when it is not an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonImage {
    /// A DICOMDIR (media directory) file.
    Dicomdir,
    /// A DICOM object without pixel data.
    NoPixelData,
}

/// Result of classifying a file: an image instance or a recognised non-image object.
#[derive(Debug)]
pub enum Parsed {
    Image(Box<Instance>),
    NonImage(NonImage),
}

/// Parse a DICOM file (Part 10, or a bare data set without meta information).
///
/// Errors with code `no-pixel-data` for DICOM objects without pixel data
/// (including DICOMDIR files; use [`parse`] to tell them apart).
pub fn read_instance(path: &str, bytes: Vec<u8>) -> Result<Instance, Error> {
    match parse(path, bytes)? {
        Parsed::Image(i) => Ok(*i),
        Parsed::NonImage(_) => Err(Error::no_pixel_data("not an image").with_file(path)),
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::{Ds, Slice};
    use super::*;
    use crate::decode::{decode_frame, Samples};
    use crate::error::ErrorCode;

    fn code(r: Result<Parsed, Error>) -> ErrorCode {
        match r {
            Ok(p) => panic!("expected an error, got {p:?}"),
            Err(e) => e.code(),
        }
    }

    #[test]
    fn reads_header_fields() {
        let s = Slice {
            instance_number: Some(7),
            position: Some([1.0, 2.0, -30.5]),
            window: Some((40.0, 400.0)),
            rescale: (1.0, -1024.0),
            ..Slice::default()
        };
        let i = read_instance("a.dcm", s.file()).expect("image");
        assert_eq!(i.path(), "a.dcm");
        assert_eq!((i.rows(), i.columns(), i.frames()), (2, 2, 1));
        assert_eq!(i.transfer_syntax(), "1.2.840.10008.1.2.1");
        assert_eq!(i.instance_number(), Some(7));
        assert_eq!(i.image_position(0), Some([1.0, 2.0, -30.5]));
        assert_eq!(i.image_orientation(), Some([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]));
        assert_eq!(i.pixel_spacing(), Some([0.5, 0.5]));
        assert_eq!(i.patient_name(), "TEST^PATIENT");
        assert_eq!(i.series_number(), Some(3));
        assert_eq!((i.rescale_slope(), i.rescale_intercept()), (1.0, -1024.0));
        assert_eq!(
            i.file_window(),
            Some(Window {
                center: 40.0,
                width: 400.0
            })
        );
        let f = decode_frame(&i, 0).expect("decode");
        assert_eq!(f.data, Samples::I16(vec![0, 100, 200, 300]));
    }

    #[test]
    fn files_without_meta_are_inferred() {
        let ds = Slice::default().ds();
        for (explicit, ts) in [(false, "1.2.840.10008.1.2"), (true, "1.2.840.10008.1.2.1")] {
            let i = read_instance("bare", ds.bare(explicit)).expect("bare data set");
            assert_eq!(i.transfer_syntax(), ts);
            let f = decode_frame(&i, 0).expect("decode");
            assert_eq!(f.data, Samples::I16(vec![0, 100, 200, 300]));
        }
        // an implicit VR data set declared as explicit VR (a common writer bug) is read
        let mut f = Ds::new().part10("1.2.840.10008.1.2.1");
        f.extend(ds.bare(false));
        let i = read_instance("mislabelled", f).expect("mislabelled encoding");
        assert_eq!(i.transfer_syntax(), "1.2.840.10008.1.2.1");
        let fr = decode_frame(&i, 0).expect("decode");
        assert_eq!(fr.data, Samples::I16(vec![0, 100, 200, 300]));
    }

    #[test]
    fn non_dicom_inputs_are_typed_errors() {
        assert_eq!(code(parse("e", Vec::new())), ErrorCode::NotDicom);
        assert_eq!(
            code(parse(
                "x.pdf",
                b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n".to_vec()
            )),
            ErrorCode::NotDicom
        );
        assert_eq!(
            code(parse(
                "t.txt",
                b"hello, this is a text file\nwith lines\n".to_vec()
            )),
            ErrorCode::NotDicom
        );
        let mut garbage = vec![0u8; 4096];
        let mut x = 12345u32;
        for b in garbage.iter_mut() {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            *b = (x >> 16) as u8;
        }
        assert_eq!(code(parse("g", garbage)), ErrorCode::NotDicom);
        // preamble and magic but nothing else
        let mut only = vec![0u8; 128];
        only.extend_from_slice(b"DICM");
        assert!(parse("m", only).is_err());
    }

    #[test]
    fn dicomdir_and_no_pixel_data_are_recognised() {
        let dir = Ds::new()
            .s((0x0004, 0x1130), b"CS", "FILESET")
            .raw((0x0004, 0x1220), b"SQ", Vec::new(), 0)
            .part10("1.2.840.10008.1.2.1");
        assert!(matches!(
            parse("DICOMDIR", dir),
            Ok(Parsed::NonImage(NonImage::Dicomdir))
        ));
        // A structured report: no image attributes, no pixels -> skipped as a non-image.
        let sr = Ds::new()
            .s((0x0008, 0x0016), b"UI", "1.2.840.10008.5.1.4.1.1.88.11")
            .s((0x0008, 0x0060), b"CS", "SR")
            .file_like();
        assert!(matches!(
            parse("sr", sr.clone()),
            Ok(Parsed::NonImage(NonImage::NoPixelData))
        ));
        assert_eq!(
            read_instance("sr", sr).map(|_| ()).unwrap_err().code(),
            ErrorCode::NoPixelData
        );
        // An image header without its pixels (header-only, or cut at an element boundary): an error.
        let headless = Slice::default().ds().without((0x7FE0, 0x0010)).file_like();
        let e = parse("ct", headless).map(|_| ()).unwrap_err();
        assert_eq!(e.code(), ErrorCode::NoPixelData);
        assert!(e.to_string().contains("without Pixel Data"), "{e}");
    }

    trait FileLike {
        fn file_like(&self) -> Vec<u8>;
    }
    impl FileLike for Ds {
        fn file_like(&self) -> Vec<u8> {
            self.part10("1.2.840.10008.1.2.1")
        }
    }

    #[test]
    fn limits_are_checked_before_allocation() {
        // 200000 frames
        let f = Slice::default()
            .ds()
            .s((0x0028, 0x0008), b"IS", "200000")
            .file_like();
        assert_eq!(code(parse("f", f)), ErrorCode::LimitExceeded);
        // 65535 x 65535 x 16 bit = 8 GiB decoded
        let f = Slice::default()
            .ds()
            .us((0x0028, 0x0010), 65535)
            .us((0x0028, 0x0011), 65535)
            .file_like();
        assert_eq!(code(parse("big", f)), ErrorCode::LimitExceeded);
        // 1000 frames of 512x512 declared, 8 bytes present: truncated, nothing allocated
        let f = Slice::default()
            .ds()
            .us((0x0028, 0x0010), 512)
            .us((0x0028, 0x0011), 512)
            .s((0x0028, 0x0008), b"IS", "1000")
            .file_like();
        assert_eq!(code(parse("short", f)), ErrorCode::Truncated);
        // unsupported bit depth, missing rows
        let f = Slice::default().ds().us((0x0028, 0x0100), 12).file_like();
        assert_eq!(code(parse("ba12", f)), ErrorCode::UnsupportedPixelFormat);
        let f = Slice::default().ds().without((0x0028, 0x0010)).file_like();
        assert_eq!(code(parse("norows", f)), ErrorCode::Malformed);
    }

    #[test]
    fn truncation_anywhere_is_an_error_not_a_panic() {
        let full = Slice {
            window: Some((40.0, 400.0)),
            ..Slice::default()
        }
        .file();
        for cut in 0..full.len() {
            match parse("cut", full[..cut].to_vec()) {
                Err(_) => {}
                Ok(Parsed::Image(i)) => {
                    // only possible once the pixel data is complete
                    decode_frame(&i, 0).expect("a parsed image decodes");
                }
                Ok(Parsed::NonImage(_)) => {}
            }
        }
        // the complete file is an image
        assert!(matches!(parse("full", full), Ok(Parsed::Image(_))));
    }

    #[test]
    fn stored_bits_masked_and_sign_extended_end_to_end() {
        // 12-bit signed stored in 16: high nibble garbage must be removed
        let raw: [u16; 4] = [0xF800, 0x07FF, 0xAFFF, 0x5001];
        let f = Slice::default()
            .ds()
            .us((0x0028, 0x0101), 12)
            .us((0x0028, 0x0102), 11)
            .raw(
                (0x7FE0, 0x0010),
                b"OW",
                raw.iter().flat_map(|v| v.to_le_bytes()).collect(),
                0,
            )
            .file_like();
        let i = read_instance("s12", f).expect("image");
        let fr = decode_frame(&i, 0).expect("decode");
        assert_eq!(fr.data, Samples::I16(vec![-2048, 2047, -1, 1]));
        // unsigned 12-bit
        let f = Slice::default()
            .ds()
            .us((0x0028, 0x0101), 12)
            .us((0x0028, 0x0102), 11)
            .us((0x0028, 0x0103), 0)
            .raw(
                (0x7FE0, 0x0010),
                b"OW",
                raw.iter().flat_map(|v| v.to_le_bytes()).collect(),
                0,
            )
            .file_like();
        let i = read_instance("u12", f).expect("image");
        let fr = decode_frame(&i, 0).expect("decode");
        assert_eq!(fr.data, Samples::U16(vec![0x800, 0x7FF, 0xFFF, 0x001]));
    }

    /// A minimal image data set (no pixel data yet).
    fn image(rows: u16, cols: u16, spp: u16, ba: u16, photometric: &str) -> Ds {
        Ds::new()
            .s((0x0008, 0x0016), b"UI", "1.2.840.10008.5.1.4.1.1.7")
            .s((0x0020, 0x000E), b"UI", "1.2.3")
            .us((0x0028, 0x0002), spp)
            .s((0x0028, 0x0004), b"CS", photometric)
            .us((0x0028, 0x0010), rows)
            .us((0x0028, 0x0011), cols)
            .us((0x0028, 0x0100), ba)
            .us((0x0028, 0x0101), ba)
            .us((0x0028, 0x0102), ba.saturating_sub(1))
            .us((0x0028, 0x0103), 0)
    }

    #[test]
    fn float_pixel_data() {
        let v: [f32; 4] = [-1.5, 0.0, 2.25, 1e6];
        let f = image(2, 2, 1, 32, "MONOCHROME2")
            .raw(
                (0x7FE0, 0x0008),
                b"OF",
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
                0,
            )
            .file_like();
        let i = read_instance("float", f).expect("float image");
        assert_eq!(i.float_bits(), 32);
        let fr = decode_frame(&i, 0).expect("decode");
        assert_eq!(fr.data, Samples::F32(v.to_vec()));
        let n = crate::decode::normalize_all(&i).expect("normalize");
        assert_eq!((n.dtype, n.shape.clone()), ("f4", vec![1, 2, 2]));
    }

    #[test]
    fn planar_rgb_and_ybr_422_are_normalised() {
        // 2x2 RGB, planar configuration 1: R plane, G plane, B plane
        let planar: Vec<u8> = vec![1, 2, 3, 4, 10, 20, 30, 40, 100, 200, 255, 0];
        let f = image(2, 2, 3, 8, "RGB")
            .us((0x0028, 0x0006), 1)
            .raw((0x7FE0, 0x0010), b"OB", planar, 0)
            .file_like();
        let i = read_instance("planar", f).expect("rgb");
        let n = crate::decode::normalize_all(&i).expect("normalize");
        assert_eq!(n.shape, vec![1, 2, 2, 3]);
        assert_eq!(n.bytes, vec![1, 10, 100, 2, 20, 200, 3, 30, 255, 4, 40, 0]);
        // 2x2 YBR_FULL_422: per pixel pair Y1 Y2 Cb Cr
        let ybr: Vec<u8> = vec![50, 60, 128, 130, 70, 80, 120, 140];
        let f = image(2, 2, 3, 8, "YBR_FULL_422")
            .raw((0x7FE0, 0x0010), b"OB", ybr, 0)
            .file_like();
        let i = read_instance("ybr", f).expect("ybr");
        let n = crate::decode::normalize_all(&i).expect("normalize");
        assert_eq!(
            n.bytes,
            vec![50, 128, 130, 60, 128, 130, 70, 120, 140, 80, 120, 140]
        );
    }

    #[test]
    fn one_bit_frames_are_not_byte_aligned() {
        // 3 frames of 3x3 = 27 bits in 4 bytes; the first pixel is the least significant bit
        let bits: Vec<u8> = (0..27).map(|k| u8::from(k % 3 == 0 || k == 26)).collect();
        let mut packed = vec![0u8; 4];
        for (k, b) in bits.iter().enumerate() {
            packed[k / 8] |= b << (k % 8);
        }
        let f = image(3, 3, 1, 1, "MONOCHROME2")
            .s((0x0028, 0x0008), b"IS", "3")
            .raw((0x7FE0, 0x0010), b"OB", packed, 0)
            .file_like();
        let i = read_instance("seg", f).expect("1-bit");
        let n = crate::decode::normalize_all(&i).expect("normalize");
        assert_eq!((n.dtype, n.shape.clone()), ("u1", vec![3, 3, 3]));
        assert_eq!(n.bytes, bits);
    }

    #[test]
    fn unsupported_transfer_syntax_is_named() {
        let mut f = image(2, 2, 1, 8, "MONOCHROME2").part10("1.2.840.10008.1.2.4.110");
        f.extend_from_slice(&[
            0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ]);
        f.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0, 0, 0, 0]);
        f.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 4, 0, 0, 0, 1, 2, 3, 4]);
        f.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        let i = read_instance("jpegxl.dcm", f).expect("parses");
        let e = decode_frame(&i, 0).expect_err("not supported yet");
        assert_eq!(e.code(), ErrorCode::UnsupportedTransferSyntax);
        assert_eq!(e.file(), Some("jpegxl.dcm"));
        let msg = e.to_string();
        assert!(
            msg.contains("1.2.840.10008.1.2.4.110") && msg.contains("JPEG XL"),
            "{msg}"
        );
        assert_eq!(e.code().as_str(), "unsupported-transfer-syntax");
    }
}
