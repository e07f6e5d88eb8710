//! Writing DICOM: the synthetic demo study (the analytic phantom of [`crate::phantom`]) as
//! Part 10 files. This is the only place Lucent writes DICOM.
//!
//! # What is written
//!
//! One CT Image Storage (`1.2.840.10008.5.1.4.1.1.2`) file per axial slice, explicit VR little
//! endian, 128-byte preamble + `DICM` + file meta group, uncompressed signed 16-bit pixels
//! (Pixel Data OW) with Rescale Slope 1, Intercept -1024, Rescale Type HU. Two VOI windows:
//! the first is a dental bone window 400/2000, the second soft tissue 40/400 (a viewer must use
//! the first). Patient `LUCENT^DEMO` / `LUCENT-DEMO-0001`, Study Description
//! "Lucent demo CBCT phantom", fixed dates and times. Geometry (Image Position / Orientation,
//! Pixel Spacing, Slice Thickness, Slice Location) is exactly the phantom's
//! ([`Phantom::image_position`] etc. are bit-identical to the written DS strings).
//!
//! # Order
//!
//! Instance Number = slice index + 1, slice 0 = most inferior (so Instance Number grows
//! towards the head). The **file names do not follow the spatial order**: slice `k` is stored as
//! `IMnnnn.dcm` where `nnnn` is a fixed pseudo-random permutation of `1..=slices` (a hash of
//! `k`), so a viewer must sort by Image Position (Patient) along the slice normal. `index.json`
//! (`{"files": [...]}`) lists the files in file-name order.
//!
//! # Determinism
//!
//! No clock, no randomness: UIDs are `2.25.<decimal>` with the decimal taken from the first 128
//! bits of a SHA-256 of a fixed label that includes the phantom size, so writing the same spec
//! twice gives byte-identical files, and different sizes never share UIDs.

use std::io;
use std::path::Path;

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::InMemDicomObject;
use sha2::{Digest, Sha256};

use crate::phantom::{
    format_ds, Phantom, PhantomSpec, MAX_SIZE, MAX_SLICES, RESCALE_INTERCEPT, RESCALE_SLOPE,
};

/// Patient's Name of the demo study.
pub const PATIENT_NAME: &str = "LUCENT^DEMO";
/// Patient ID of the demo study.
pub const PATIENT_ID: &str = "LUCENT-DEMO-0001";
/// Study Date (also Series and Content Date).
pub const STUDY_DATE: &str = "20250101";
/// Study Time (also Series and Content Time).
pub const STUDY_TIME: &str = "120000";
/// Study Description.
pub const STUDY_DESCRIPTION: &str = "Lucent demo CBCT phantom";
/// Series Number.
pub const SERIES_NUMBER: i32 = 1;
/// Window Center values, in order: dental bone window first, soft tissue second.
pub const WINDOW_CENTERS: [f64; 2] = [400.0, 40.0];
/// Window Width values, in the same order as [`WINDOW_CENTERS`].
pub const WINDOW_WIDTHS: [f64; 2] = [2000.0, 400.0];
/// Window Center & Width Explanation values.
pub const WINDOW_EXPLANATIONS: [&str; 2] = ["BONE", "SOFT TISSUE"];
/// Name of the file listing the series in the output directory.
pub const INDEX_FILE_NAME: &str = "index.json";

/// Deterministic UID `2.25.<first 128 bits of SHA-256(label)>`.
fn derived_uid(label: &str) -> String {
    let digest = Sha256::digest(label.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    format!("2.25.{}", u128::from_be_bytes(bytes))
}

/// SplitMix64 finaliser: the fixed hash behind the file-name permutation.
fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// The demo series for one [`PhantomSpec`]: UIDs, file names and per-slice encoding.
#[derive(Debug, Clone)]
pub struct PhantomSeries {
    phantom: Phantom,
    study_uid: String,
    series_uid: String,
    frame_uid: String,
    /// `file_numbers[slice]` = the `nnnn` of `IMnnnn.dcm` (1-based).
    file_numbers: Vec<u32>,
}

impl PhantomSeries {
    /// Prepares the series. Fails (`InvalidInput`) unless `1 ≤ size ≤ MAX_SIZE` and
    /// `1 ≤ slices ≤ MAX_SLICES`.
    pub fn new(spec: &PhantomSpec) -> io::Result<PhantomSeries> {
        if !(1..=MAX_SIZE).contains(&spec.size) || !(1..=MAX_SLICES).contains(&spec.slices) {
            return Err(invalid(format!(
                "phantom size {}x{}x{} is out of range (rows/columns 1..={MAX_SIZE}, slices 1..={MAX_SLICES})",
                spec.size, spec.size, spec.slices
            )));
        }
        let phantom = Phantom::new(*spec);
        let geometry = format!("{}x{}x{}", spec.size, spec.size, spec.slices);
        let root = "lucent-demo-phantom/v1";
        let mut order: Vec<u32> = (0..spec.slices).collect();
        order.sort_by_key(|&k| (mix64(u64::from(k) ^ 0x4C55_4345_4E54), k));
        let mut file_numbers = vec![0u32; order.len()];
        for (rank, &k) in (1u32..).zip(order.iter()) {
            file_numbers[k as usize] = rank;
        }
        Ok(PhantomSeries {
            phantom,
            study_uid: derived_uid(&format!("{root}/study/{geometry}")),
            series_uid: derived_uid(&format!("{root}/series/{geometry}")),
            frame_uid: derived_uid(&format!("{root}/frame-of-reference/{geometry}")),
            file_numbers,
        })
    }

    /// The sampled phantom (ground truth for every pixel written).
    pub fn phantom(&self) -> &Phantom {
        &self.phantom
    }

    /// Study Instance UID.
    pub fn study_instance_uid(&self) -> &str {
        &self.study_uid
    }

    /// Series Instance UID.
    pub fn series_instance_uid(&self) -> &str {
        &self.series_uid
    }

    /// Frame of Reference UID.
    pub fn frame_of_reference_uid(&self) -> &str {
        &self.frame_uid
    }

    /// SOP Instance UID of `slice`.
    pub fn sop_instance_uid(&self, slice: u32) -> String {
        let s = self.phantom.spec();
        derived_uid(&format!(
            "lucent-demo-phantom/v1/instance/{}x{}x{}/{slice}",
            s.size, s.size, s.slices
        ))
    }

    /// Series Description, e.g. `Analytic head phantom 256x256x256`.
    pub fn series_description(&self) -> String {
        let s = self.phantom.spec();
        format!("Analytic head phantom {}x{}x{}", s.size, s.size, s.slices)
    }

    /// File name of `slice` (`IMnnnn.dcm`, `nnnn` a fixed permutation of `1..=slices`, at
    /// least 4 digits). `None` if `slice` is out of range.
    pub fn file_name(&self, slice: u32) -> Option<String> {
        let n = self.file_numbers.get(slice as usize)?;
        Some(format!("IM{n:04}.dcm"))
    }

    /// All file names in file-name order (the order of `index.json`), which is not the
    /// spatial order.
    pub fn file_names(&self) -> Vec<String> {
        (1..=self.phantom.slices())
            .map(|n| format!("IM{n:04}.dcm"))
            .collect()
    }

    /// The Part 10 bytes (preamble, meta group, data set) of `slice`. `scratch` receives the
    /// slice's stored values ([`Phantom::slice_stored`]).
    pub fn encode_slice(&self, slice: u32, scratch: &mut Vec<i16>) -> io::Result<Vec<u8>> {
        let name = self.file_name(slice).ok_or_else(|| {
            invalid(format!(
                "phantom slice {slice} is out of range (the series has {} slices)",
                self.phantom.slices()
            ))
        })?;
        self.phantom.slice_stored(slice, scratch);
        let obj = self.slice_object(slice, scratch);
        let file = obj
            .with_meta(
                FileMetaTableBuilder::new()
                    .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
                    .implementation_class_uid(derived_uid("lucent-demo-phantom/implementation"))
                    .implementation_version_name("LUCENT_0_1"),
            )
            .map_err(|e| {
                io::Error::other(format!("{name}: cannot build the file meta group: {e}"))
            })?;
        let pixel_bytes = scratch.len() * 2;
        let mut bytes = Vec::with_capacity(pixel_bytes + 4096);
        file.write_all(&mut bytes)
            .map_err(|e| io::Error::other(format!("{name}: cannot encode the DICOM file: {e}")))?;
        Ok(bytes)
    }

    fn slice_object(&self, slice: u32, pixels: &[i16]) -> InMemDicomObject {
        let p = &self.phantom;
        let ipp = p.image_position(slice);
        let iop = p.image_orientation();
        let ps = p.pixel_spacing();
        let ds = |values: &[f64]| -> PrimitiveValue {
            PrimitiveValue::Strs(values.iter().map(|v| format_ds(*v)).collect())
        };
        let text = |s: &str| PrimitiveValue::from(s);
        let strs = |v: &[&str]| PrimitiveValue::Strs(v.iter().map(|s| s.to_string()).collect());
        // The pixel grid is bounded by MAX_SIZE (4096), which fits US.
        let rows = u16::try_from(p.rows()).unwrap_or(u16::MAX);
        let cols = u16::try_from(p.cols()).unwrap_or(u16::MAX);
        let words: Vec<u16> = pixels.iter().map(|v| *v as u16).collect();
        let thickness = format_ds(p.slice_spacing());
        let instance_number = (u64::from(slice) + 1).to_string();

        InMemDicomObject::from_element_iter([
            DataElement::new(
                tags::IMAGE_TYPE,
                VR::CS,
                strs(&["DERIVED", "SECONDARY", "AXIAL"]),
            ),
            DataElement::new(tags::SOP_CLASS_UID, VR::UI, text(uids::CT_IMAGE_STORAGE)),
            DataElement::new(
                tags::SOP_INSTANCE_UID,
                VR::UI,
                text(&self.sop_instance_uid(slice)),
            ),
            DataElement::new(tags::STUDY_DATE, VR::DA, text(STUDY_DATE)),
            DataElement::new(tags::SERIES_DATE, VR::DA, text(STUDY_DATE)),
            DataElement::new(tags::CONTENT_DATE, VR::DA, text(STUDY_DATE)),
            DataElement::new(tags::STUDY_TIME, VR::TM, text(STUDY_TIME)),
            DataElement::new(tags::SERIES_TIME, VR::TM, text(STUDY_TIME)),
            DataElement::new(tags::CONTENT_TIME, VR::TM, text(STUDY_TIME)),
            DataElement::new(tags::ACCESSION_NUMBER, VR::SH, PrimitiveValue::Empty),
            DataElement::new(tags::MODALITY, VR::CS, text("CT")),
            DataElement::new(tags::MANUFACTURER, VR::LO, text("Lucent")),
            DataElement::new(
                tags::REFERRING_PHYSICIAN_NAME,
                VR::PN,
                PrimitiveValue::Empty,
            ),
            DataElement::new(tags::STUDY_DESCRIPTION, VR::LO, text(STUDY_DESCRIPTION)),
            DataElement::new(
                tags::SERIES_DESCRIPTION,
                VR::LO,
                text(&self.series_description()),
            ),
            DataElement::new(tags::PATIENT_NAME, VR::PN, text(PATIENT_NAME)),
            DataElement::new(tags::PATIENT_ID, VR::LO, text(PATIENT_ID)),
            DataElement::new(tags::PATIENT_BIRTH_DATE, VR::DA, PrimitiveValue::Empty),
            DataElement::new(tags::PATIENT_SEX, VR::CS, text("O")),
            DataElement::new(tags::BODY_PART_EXAMINED, VR::CS, text("HEAD")),
            DataElement::new(tags::SLICE_THICKNESS, VR::DS, text(&thickness)),
            DataElement::new(tags::KVP, VR::DS, PrimitiveValue::Empty),
            DataElement::new(tags::PATIENT_POSITION, VR::CS, text("HFS")),
            DataElement::new(tags::STUDY_INSTANCE_UID, VR::UI, text(&self.study_uid)),
            DataElement::new(tags::SERIES_INSTANCE_UID, VR::UI, text(&self.series_uid)),
            DataElement::new(tags::STUDY_ID, VR::SH, text("1")),
            DataElement::new(
                tags::SERIES_NUMBER,
                VR::IS,
                text(&SERIES_NUMBER.to_string()),
            ),
            DataElement::new(tags::ACQUISITION_NUMBER, VR::IS, text("1")),
            DataElement::new(tags::INSTANCE_NUMBER, VR::IS, text(&instance_number)),
            DataElement::new(tags::IMAGE_POSITION_PATIENT, VR::DS, ds(&ipp)),
            DataElement::new(tags::IMAGE_ORIENTATION_PATIENT, VR::DS, ds(&iop)),
            DataElement::new(tags::FRAME_OF_REFERENCE_UID, VR::UI, text(&self.frame_uid)),
            DataElement::new(
                tags::POSITION_REFERENCE_INDICATOR,
                VR::LO,
                PrimitiveValue::Empty,
            ),
            DataElement::new(tags::SLICE_LOCATION, VR::DS, text(&format_ds(ipp[2]))),
            DataElement::new(tags::SAMPLES_PER_PIXEL, VR::US, PrimitiveValue::from(1u16)),
            DataElement::new(
                tags::PHOTOMETRIC_INTERPRETATION,
                VR::CS,
                text("MONOCHROME2"),
            ),
            DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(rows)),
            DataElement::new(tags::COLUMNS, VR::US, PrimitiveValue::from(cols)),
            DataElement::new(tags::PIXEL_SPACING, VR::DS, ds(&ps)),
            DataElement::new(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(16u16)),
            DataElement::new(tags::BITS_STORED, VR::US, PrimitiveValue::from(16u16)),
            DataElement::new(tags::HIGH_BIT, VR::US, PrimitiveValue::from(15u16)),
            DataElement::new(
                tags::PIXEL_REPRESENTATION,
                VR::US,
                PrimitiveValue::from(1u16),
            ),
            DataElement::new(tags::WINDOW_CENTER, VR::DS, ds(&WINDOW_CENTERS)),
            DataElement::new(tags::WINDOW_WIDTH, VR::DS, ds(&WINDOW_WIDTHS)),
            DataElement::new(
                tags::RESCALE_INTERCEPT,
                VR::DS,
                text(&format_ds(RESCALE_INTERCEPT)),
            ),
            DataElement::new(tags::RESCALE_SLOPE, VR::DS, text(&format_ds(RESCALE_SLOPE))),
            DataElement::new(tags::RESCALE_TYPE, VR::LO, text("HU")),
            DataElement::new(
                tags::WINDOW_CENTER_WIDTH_EXPLANATION,
                VR::LO,
                strs(&WINDOW_EXPLANATIONS),
            ),
            DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::U16(words.into())),
        ])
    }

    /// Writes every slice and `index.json` into `out_dir` (created if missing; existing files
    /// with the same names are replaced). Returns the file names in `index.json` order.
    pub fn write_to_dir(&self, out_dir: &Path) -> io::Result<Vec<String>> {
        std::fs::create_dir_all(out_dir).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot create output directory {}: {e}", out_dir.display()),
            )
        })?;
        let mut scratch = Vec::new();
        for slice in 0..self.phantom.slices() {
            let bytes = self.encode_slice(slice, &mut scratch)?;
            let name = self.file_name(slice).unwrap_or_default();
            let path = out_dir.join(&name);
            std::fs::write(&path, &bytes).map_err(|e| {
                io::Error::new(e.kind(), format!("cannot write {}: {e}", path.display()))
            })?;
        }
        let names = self.file_names();
        let index = serde_json::json!({ "files": names });
        let path = out_dir.join(INDEX_FILE_NAME);
        let text = serde_json::to_string_pretty(&index).map_err(io::Error::other)?;
        std::fs::write(&path, text + "\n").map_err(|e| {
            io::Error::new(e.kind(), format!("cannot write {}: {e}", path.display()))
        })?;
        Ok(names)
    }
}

/// Writes the demo series for `spec` into `out_dir` (one `IMnnnn.dcm` per slice plus
/// `index.json`); see the module docs. Returns the file names in `index.json` order.
pub fn write_phantom_series(spec: &PhantomSpec, out_dir: &Path) -> io::Result<Vec<String>> {
    PhantomSeries::new(spec)?.write_to_dir(out_dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_object::open_file;

    struct TempDir(std::path::PathBuf);

    impl TempDir {
        fn new(tag: &str) -> TempDir {
            let dir = std::env::temp_dir()
                .join(format!("lucent-write-test-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn str_of(obj: &dicom_object::DefaultDicomObject, tag: dicom_core::Tag) -> String {
        obj.element(tag)
            .unwrap_or_else(|e| panic!("missing {tag}: {e}"))
            .to_str()
            .unwrap()
            .trim_end_matches(['\0', ' '])
            .to_string()
    }

    fn floats_of(obj: &dicom_object::DefaultDicomObject, tag: dicom_core::Tag) -> Vec<f64> {
        obj.element(tag).unwrap().to_multi_float64().unwrap()
    }

    fn int_of(obj: &dicom_object::DefaultDicomObject, tag: dicom_core::Tag) -> i64 {
        obj.element(tag).unwrap().to_int::<i64>().unwrap()
    }

    #[test]
    fn write_small_phantom_and_read_back() {
        let spec = PhantomSpec {
            size: 32,
            slices: 16,
        };
        let tmp = TempDir::new("small");
        let names = write_phantom_series(&spec, &tmp.0).unwrap();
        let expected: Vec<String> = (1..=16).map(|n| format!("IM{n:04}.dcm")).collect();
        assert_eq!(names, expected);

        let index: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(tmp.0.join("index.json")).unwrap())
                .unwrap();
        assert_eq!(index, serde_json::json!({ "files": expected }));

        let series = PhantomSeries::new(&spec).unwrap();
        let phantom = Phantom::new(spec);
        let mut stored = Vec::new();
        let mut seen_instances = Vec::new();
        for slice in 0..16 {
            let name = series.file_name(slice).unwrap();
            let path = tmp.0.join(&name);
            let raw = std::fs::read(&path).unwrap();
            assert!(raw[..128].iter().all(|b| *b == 0));
            assert_eq!(&raw[128..132], b"DICM");

            let obj = open_file(&path).unwrap();
            let meta = obj.meta();
            assert_eq!(
                meta.transfer_syntax().trim_end_matches('\0'),
                "1.2.840.10008.1.2.1"
            );
            assert_eq!(
                meta.media_storage_sop_class_uid().trim_end_matches('\0'),
                "1.2.840.10008.5.1.4.1.1.2"
            );
            let sop = str_of(&obj, tags::SOP_INSTANCE_UID);
            assert_eq!(
                meta.media_storage_sop_instance_uid().trim_end_matches('\0'),
                sop
            );
            assert_eq!(sop, series.sop_instance_uid(slice));
            assert!(sop.starts_with("2.25.") && sop.len() <= 64);

            assert_eq!(
                str_of(&obj, tags::SOP_CLASS_UID),
                "1.2.840.10008.5.1.4.1.1.2"
            );
            assert_eq!(str_of(&obj, tags::PATIENT_NAME), "LUCENT^DEMO");
            assert_eq!(str_of(&obj, tags::PATIENT_ID), "LUCENT-DEMO-0001");
            assert_eq!(str_of(&obj, tags::STUDY_DATE), "20250101");
            assert_eq!(str_of(&obj, tags::STUDY_TIME), "120000");
            assert_eq!(
                str_of(&obj, tags::STUDY_DESCRIPTION),
                "Lucent demo CBCT phantom"
            );
            assert_eq!(
                str_of(&obj, tags::SERIES_DESCRIPTION),
                "Analytic head phantom 32x32x16"
            );
            assert_eq!(str_of(&obj, tags::MODALITY), "CT");
            assert_eq!(int_of(&obj, tags::SERIES_NUMBER), 1);
            assert_eq!(int_of(&obj, tags::INSTANCE_NUMBER), i64::from(slice) + 1);
            seen_instances.push(int_of(&obj, tags::INSTANCE_NUMBER));
            assert_eq!(
                str_of(&obj, tags::STUDY_INSTANCE_UID),
                series.study_instance_uid()
            );
            assert_eq!(
                str_of(&obj, tags::SERIES_INSTANCE_UID),
                series.series_instance_uid()
            );
            assert_eq!(
                str_of(&obj, tags::FRAME_OF_REFERENCE_UID),
                series.frame_of_reference_uid()
            );

            // Geometry: 160 mm FOV, 5 mm pixels, 10 mm slices, first pixel centre known.
            let ipp = floats_of(&obj, tags::IMAGE_POSITION_PATIENT);
            assert_eq!(ipp, vec![-77.5, -77.5, -75.0 + 10.0 * f64::from(slice)]);
            assert_eq!(ipp, phantom.image_position(slice).to_vec());
            assert_eq!(
                floats_of(&obj, tags::IMAGE_ORIENTATION_PATIENT),
                vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
            );
            assert_eq!(floats_of(&obj, tags::PIXEL_SPACING), vec![5.0, 5.0]);
            assert_eq!(floats_of(&obj, tags::SLICE_THICKNESS), vec![10.0]);
            assert_eq!(floats_of(&obj, tags::SLICE_LOCATION), vec![ipp[2]]);

            assert_eq!(int_of(&obj, tags::ROWS), 32);
            assert_eq!(int_of(&obj, tags::COLUMNS), 32);
            assert_eq!(int_of(&obj, tags::SAMPLES_PER_PIXEL), 1);
            assert_eq!(
                str_of(&obj, tags::PHOTOMETRIC_INTERPRETATION),
                "MONOCHROME2"
            );
            assert_eq!(int_of(&obj, tags::BITS_ALLOCATED), 16);
            assert_eq!(int_of(&obj, tags::BITS_STORED), 16);
            assert_eq!(int_of(&obj, tags::HIGH_BIT), 15);
            assert_eq!(int_of(&obj, tags::PIXEL_REPRESENTATION), 1);
            assert_eq!(floats_of(&obj, tags::RESCALE_INTERCEPT), vec![-1024.0]);
            assert_eq!(floats_of(&obj, tags::RESCALE_SLOPE), vec![1.0]);
            assert_eq!(str_of(&obj, tags::RESCALE_TYPE), "HU");
            assert_eq!(floats_of(&obj, tags::WINDOW_CENTER), vec![400.0, 40.0]);
            assert_eq!(floats_of(&obj, tags::WINDOW_WIDTH), vec![2000.0, 400.0]);

            let px = obj.element(tags::PIXEL_DATA).unwrap();
            assert_eq!(px.vr(), VR::OW);
            let bytes = px.to_bytes().unwrap();
            assert_eq!(bytes.len(), 32 * 32 * 2);
            let values: Vec<i16> = bytes
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]]))
                .collect();
            phantom.slice_stored(slice, &mut stored);
            assert_eq!(values, stored, "slice {slice}");
            // The written pixels decode to the analytic HU.
            for (i, v) in values.iter().enumerate() {
                let c = phantom.voxel_center(i as u32 % 32, i as u32 / 32, slice);
                assert_eq!(f64::from(*v) - 1024.0, phantom.hu_at(c));
            }
        }
        seen_instances.sort();
        assert_eq!(seen_instances, (1..=16).collect::<Vec<i64>>());
    }

    #[test]
    fn write_is_deterministic_and_names_are_shuffled() {
        let spec = PhantomSpec {
            size: 16,
            slices: 12,
        };
        let a = PhantomSeries::new(&spec).unwrap();
        let b = PhantomSeries::new(&spec).unwrap();
        let mut s = Vec::new();
        assert_eq!(
            a.encode_slice(5, &mut s).unwrap(),
            b.encode_slice(5, &mut s).unwrap()
        );
        assert_eq!(a.study_instance_uid(), b.study_instance_uid());

        // File numbers are a permutation of 1..=12 that is not the spatial order.
        let numbers: Vec<u32> = (0..12)
            .map(|k| a.file_name(k).unwrap()[2..6].parse().unwrap())
            .collect();
        let mut sorted = numbers.clone();
        sorted.sort();
        assert_eq!(sorted, (1..=12).collect::<Vec<u32>>());
        assert!(numbers.windows(2).any(|w| w[0] > w[1]));
        assert!(numbers.windows(2).any(|w| w[0] < w[1]));
        assert_eq!(a.file_name(12), None);
        assert!(a.encode_slice(12, &mut s).is_err());

        // Different geometry, different UIDs; all UIDs distinct within the series.
        let other = PhantomSeries::new(&PhantomSpec {
            size: 16,
            slices: 13,
        })
        .unwrap();
        assert_ne!(a.study_instance_uid(), other.study_instance_uid());
        let mut uids: Vec<String> = (0..12).map(|k| a.sop_instance_uid(k)).collect();
        uids.push(a.study_instance_uid().to_string());
        uids.push(a.series_instance_uid().to_string());
        uids.push(a.frame_of_reference_uid().to_string());
        let n = uids.len();
        uids.sort();
        uids.dedup();
        assert_eq!(uids.len(), n);
        for u in &uids {
            assert!(u.len() <= 64 && u.bytes().all(|c| c.is_ascii_digit() || c == b'.'));
        }

        // Out-of-range specs are errors, not panics.
        for bad in [(0, 10), (10, 0), (MAX_SIZE + 1, 1), (1, MAX_SLICES + 1)] {
            let err = PhantomSeries::new(&PhantomSpec {
                size: bad.0,
                slices: bad.1,
            })
            .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        }
    }
}
