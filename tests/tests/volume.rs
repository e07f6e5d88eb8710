//! Volumes against independent ground truth.
//!
//! 1. The GE tilted head CT of the corpus (`dcm_qa_ct/In/GE`: 28 slices, gantry tilt, uneven gaps):
//!    the expected geometry is computed from the files' headers as read by dicom-rs's parser
//!    (`dicom-object`, not our ingest code), and the expected pixels are the files' own raw
//!    little-endian Pixel Data with the header's rescale. The built volume must put every source
//!    slice where its header says, and a sagittal reslice must agree with the source pixels at the
//!    same patient points (no staircase, no shear), while the geometry a builder that ignored the
//!    tilt would produce must not. Because the uneven gaps are resampled onto a uniform grid, the
//!    agreement with the source pixels is close but not exact; the volume must equal exactly (to
//!    float rounding) the documented linear resampling of those pixels, computed here.
//! 2. The analytic demo phantom, written as DICOM in memory by the `lucent demo` writer: the jaw,
//!    the canal, the teeth and the marker appear in the volume where the analytic model puts them.

use std::path::{Path, PathBuf};

use dicom_dictionary_std::tags;
use dicom_object::DefaultDicomObject;
use lucent_tests::corpus_dir;
use viewer_core::ingest::write::PhantomSeries;
use viewer_core::measure::probe;
use viewer_core::mpr::{reslice, Plane, SlabMode, View};
use viewer_core::phantom::{self, PhantomSpec};
use viewer_core::volume::build::BuildOptions;
use viewer_core::{Library, Volume};

// ---------------------------------------------------------------------------------------------
// small vector helpers (test-local: nothing here comes from viewer-core)

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
fn add(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}
fn scale(a: [f64; 3], s: f64) -> [f64; 3] {
    [a[0] * s, a[1] * s, a[2] * s]
}
fn norm(a: [f64; 3]) -> f64 {
    dot(a, a).sqrt()
}
fn unit(a: [f64; 3]) -> [f64; 3] {
    scale(a, 1.0 / norm(a))
}
fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}
fn max_abs_diff(a: [f64; 3], b: [f64; 3]) -> f64 {
    (0..3).map(|d| (a[d] - b[d]).abs()).fold(0.0, f64::max)
}

/// The volume's trilinear modality value at a patient point, through the reslicer: a 1x1 view
/// centred on the point (its only pixel is centred at the plane's centre). NaN outside the grid.
fn sample(volume: &Volume, p: [f64; 3], out: &mut Vec<f32>) -> f64 {
    let view = View {
        plane: Plane::axial(p),
        width: 1,
        height: 1,
        pixel_mm: 0.5,
        slab_mm: 0.0,
        mode: SlabMode::Average,
    };
    reslice(volume, &view, out).expect("reslice 1x1");
    f64::from(out[0])
}

// ---------------------------------------------------------------------------------------------
// 1. GE tilted head CT

/// One source file as dicom-rs reads it.
struct Source {
    name: String,
    position: [f64; 3],
    row_dir: [f64; 3],
    col_dir: [f64; 3],
    /// Pixel Spacing as stored: [between rows, between columns].
    pixel_spacing: [f64; 2],
    rows: usize,
    cols: usize,
    /// Modality values (stored * slope + intercept), row-major.
    pixels: Vec<f64>,
    gantry_tilt: Option<f64>,
}

impl Source {
    fn normal(&self) -> [f64; 3] {
        unit(cross(self.row_dir, self.col_dir))
    }

    /// Bilinear modality value at continuous pixel coordinates (column `i`, row `j`); None outside
    /// the grid of pixel centres.
    fn bilinear(&self, i: f64, j: f64) -> Option<f64> {
        let eps = 1e-9;
        if !(i >= -eps && j >= -eps && i <= (self.cols - 1) as f64 + eps) {
            return None;
        }
        if j > (self.rows - 1) as f64 + eps {
            return None;
        }
        let i = i.clamp(0.0, (self.cols - 1) as f64);
        let j = j.clamp(0.0, (self.rows - 1) as f64);
        let (i0, j0) = (i.floor() as usize, j.floor() as usize);
        let (i1, j1) = ((i0 + 1).min(self.cols - 1), (j0 + 1).min(self.rows - 1));
        let (fi, fj) = (i - i0 as f64, j - j0 as f64);
        let at = |ii: usize, jj: usize| self.pixels[jj * self.cols + ii];
        let top = at(i0, j0) * (1.0 - fi) + at(i1, j0) * fi;
        let bottom = at(i0, j1) * (1.0 - fi) + at(i1, j1) * fi;
        Some(top * (1.0 - fj) + bottom * fj)
    }

    /// Patient position of continuous pixel coordinates (column `i`, row `j`).
    fn world(&self, i: f64, j: f64) -> [f64; 3] {
        add(
            self.position,
            add(
                scale(self.row_dir, i * self.pixel_spacing[1]),
                scale(self.col_dir, j * self.pixel_spacing[0]),
            ),
        )
    }
}

fn floats(obj: &DefaultDicomObject, tag: dicom_object::Tag, what: &str) -> Vec<f64> {
    obj.element(tag)
        .unwrap_or_else(|e| panic!("no {what}: {e}"))
        .to_multi_float64()
        .unwrap_or_else(|e| panic!("bad {what}: {e}"))
}

fn opt_float(obj: &DefaultDicomObject, tag: dicom_object::Tag) -> Option<f64> {
    obj.element_opt(tag)
        .ok()
        .flatten()
        .and_then(|e| e.to_float64().ok())
}

fn int(obj: &DefaultDicomObject, tag: dicom_object::Tag, what: &str) -> i64 {
    obj.element(tag)
        .unwrap_or_else(|e| panic!("no {what}: {e}"))
        .to_int::<i64>()
        .unwrap_or_else(|e| panic!("bad {what}: {e}"))
}

fn read_source(path: &Path) -> Source {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let obj = dicom_object::open_file(path).unwrap_or_else(|e| panic!("dicom-rs: {name}: {e}"));
    let ts = obj.meta().transfer_syntax().trim_end_matches(['\0', ' ']);
    assert!(
        ts == "1.2.840.10008.1.2.1" || ts == "1.2.840.10008.1.2",
        "{name}: transfer syntax {ts}: this test reads raw little-endian Pixel Data only"
    );
    let ipp = floats(
        &obj,
        tags::IMAGE_POSITION_PATIENT,
        "Image Position (Patient)",
    );
    let iop = floats(
        &obj,
        tags::IMAGE_ORIENTATION_PATIENT,
        "Image Orientation (Patient)",
    );
    let ps = floats(&obj, tags::PIXEL_SPACING, "Pixel Spacing");
    let rows = int(&obj, tags::ROWS, "Rows") as usize;
    let cols = int(&obj, tags::COLUMNS, "Columns") as usize;
    assert_eq!(int(&obj, tags::SAMPLES_PER_PIXEL, "Samples per Pixel"), 1);
    assert_eq!(
        int(&obj, tags::BITS_ALLOCATED, "Bits Allocated"),
        16,
        "{name}"
    );
    let signed = int(&obj, tags::PIXEL_REPRESENTATION, "Pixel Representation") == 1;
    let slope = opt_float(&obj, tags::RESCALE_SLOPE).unwrap_or(1.0);
    let intercept = opt_float(&obj, tags::RESCALE_INTERCEPT).unwrap_or(0.0);
    let gantry_tilt = opt_float(&obj, tags::GANTRY_DETECTOR_TILT);
    let n = rows * cols;
    // The Pixel Data value, read straight from the file's bytes (the last (7FE0,0010) element of
    // an uncompressed little-endian file), and checked against dicom-rs's reading of it.
    let bytes = std::fs::read(path).expect("read");
    let raw = raw_pixel_data(&bytes, ts == "1.2.840.10008.1.2")
        .unwrap_or_else(|| panic!("{name}: no native Pixel Data element found in the bytes"));
    assert_eq!(raw.len(), n * 2, "{name}: Pixel Data length");
    let words: Vec<u16> = raw
        .chunks_exact(2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .collect();
    let pd = obj.element(tags::PIXEL_DATA).expect("Pixel Data");
    assert_eq!(pd.vr().to_string(), "OW", "{name}: Pixel Data VR");
    let by_dicom_rs: Vec<u16> = pd.to_multi_int::<u16>().expect("Pixel Data words");
    assert!(
        by_dicom_rs == words,
        "{name}: dicom-rs and the raw bytes disagree on Pixel Data"
    );
    let pixels = words
        .iter()
        .map(|&w| {
            let stored = if signed {
                f64::from(w as i16)
            } else {
                f64::from(w)
            };
            stored * slope + intercept
        })
        .collect();
    assert_eq!(ipp.len(), 3, "{name}: IPP");
    assert_eq!(iop.len(), 6, "{name}: IOP");
    assert_eq!(ps.len(), 2, "{name}: Pixel Spacing");
    Source {
        name,
        position: [ipp[0], ipp[1], ipp[2]],
        row_dir: unit([iop[0], iop[1], iop[2]]),
        col_dir: unit([iop[3], iop[4], iop[5]]),
        pixel_spacing: [ps[0], ps[1]],
        rows,
        cols,
        pixels,
        gantry_tilt,
    }
}

/// The value of the last Pixel Data (7FE0,0010) element with a defined length in a little-endian
/// file (explicit VR: "OW"/"OB", 2 reserved bytes, 4-byte length; implicit VR: 4-byte length).
fn raw_pixel_data(bytes: &[u8], implicit: bool) -> Option<&[u8]> {
    let tag = [0xE0, 0x7F, 0x10, 0x00];
    let header = if implicit { 8 } else { 12 };
    (0..bytes.len().saturating_sub(header))
        .rev()
        .filter(|&at| bytes[at..at + 4] == tag)
        .find_map(|at| {
            if !implicit && !matches!(&bytes[at + 4..at + 8], b"OW\0\0" | b"OB\0\0") {
                return None;
            }
            let l = &bytes[at + header - 4..at + header];
            let len = u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize;
            bytes.get(at + header..at + header + len)
        })
}

fn ge_dir() -> Option<PathBuf> {
    let corpus = corpus_dir()?;
    let dir = corpus.join("dcm_qa_ct").join("In").join("GE");
    assert!(
        dir.is_dir(),
        "the corpus at {} has no dcm_qa_ct/In/GE: the corpus is incomplete",
        corpus.display()
    );
    Some(dir)
}

/// Mean and max |a - b| over the pairs where both are finite, and how many pairs that was.
fn stats(pairs: &[(f64, f64)]) -> (f64, f64, usize) {
    let d: Vec<f64> = pairs
        .iter()
        .filter(|(a, b)| a.is_finite() && b.is_finite())
        .map(|(a, b)| (a - b).abs())
        .collect();
    let mean = d.iter().sum::<f64>() / d.len().max(1) as f64;
    (mean, d.iter().copied().fold(0.0, f64::max), d.len())
}

#[test]
fn ge_tilted_ct_volume_matches_the_headers_and_the_source_pixels() {
    let Some(dir) = ge_dir() else { return };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read GE dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert_eq!(files.len(), 28, "GE series: 28 files expected");

    // --- the expected geometry, from the headers -----------------------------------------------
    let mut sources: Vec<Source> = files.iter().map(|p| read_source(p)).collect();
    let s0 = &sources[0];
    let (rows, cols) = (s0.rows, s0.cols);
    assert_eq!((rows, cols), (512, 512));
    let (row_dir, col_dir, normal) = (s0.row_dir, s0.col_dir, s0.normal());
    let ps = s0.pixel_spacing;
    for s in &sources {
        assert_eq!((s.rows, s.cols), (rows, cols), "{}", s.name);
        assert!(max_abs_diff(s.row_dir, row_dir) < 1e-6, "{}: IOP", s.name);
        assert!(max_abs_diff(s.col_dir, col_dir) < 1e-6, "{}: IOP", s.name);
        assert!((s.pixel_spacing[0] - ps[0]).abs() < 1e-9, "{}", s.name);
        assert!((s.pixel_spacing[1] - ps[1]).abs() < 1e-9, "{}", s.name);
    }
    assert!(dot(row_dir, col_dir).abs() < 1e-4, "IOP is not orthogonal");
    sources.sort_by(|a, b| dot(a.position, normal).total_cmp(&dot(b.position, normal)));
    let first = sources[0].position;
    let last = sources[sources.len() - 1].position;
    let extent = norm(sub(last, first));
    let axis = unit(sub(last, first));
    let tilt = dot(axis, normal).clamp(-1.0, 1.0).acos().to_degrees();
    let along: Vec<f64> = sources
        .iter()
        .map(|s| dot(sub(s.position, first), axis))
        .collect();
    let off_line = sources
        .iter()
        .map(|s| {
            let d = sub(s.position, first);
            norm(sub(d, scale(axis, dot(d, axis))))
        })
        .fold(0.0, f64::max);
    let gaps_normal: Vec<f64> = sources
        .windows(2)
        .map(|w| dot(sub(w[1].position, w[0].position), normal))
        .collect();
    let mut sorted_gaps = gaps_normal.clone();
    sorted_gaps.sort_by(f64::total_cmp);
    let (min_gap, max_gap) = (sorted_gaps[0], sorted_gaps[sorted_gaps.len() - 1]);
    let median_gap = sorted_gaps[sorted_gaps.len() / 2];
    let header_tilt = sources[0].gantry_tilt;
    eprintln!(
        "GE headers: {cols}x{rows}, Pixel Spacing {ps:?}, row {row_dir:?}, column {col_dir:?}, \
         normal {normal:?}"
    );
    eprintln!(
        "GE headers: first origin {first:?} ({}), last {last:?} ({}), extent {extent:.4} mm along \
         {axis:?}; tilt vs normal {tilt:.4} deg (Gantry/Detector Tilt {header_tilt:?}); origins \
         off the line by up to {off_line:.2e} mm; gaps along the normal {min_gap:.3}..{max_gap:.3} \
         mm (median {median_gap:.3})",
        sources[0].name,
        sources[sources.len() - 1].name
    );
    assert!(
        (tilt - 18.5).abs() < 0.1,
        "the series is known to be tilted 18.5°: headers say {tilt}"
    );
    if let Some(t) = header_tilt {
        assert!(
            (tilt - t.abs()).abs() < 0.1,
            "tilt from positions {tilt} vs Gantry/Detector Tilt {t}"
        );
    }
    assert!(
        max_gap - min_gap > 1.0,
        "the series is known to have uneven gaps"
    );
    // The 8 corners of the (sheared) grid of pixel centres.
    let span_i = scale(row_dir, (cols - 1) as f64 * ps[1]);
    let span_j = scale(col_dir, (rows - 1) as f64 * ps[0]);
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    for corner in 0..8 {
        let mut p = if corner & 4 == 0 { first } else { last };
        if corner & 1 != 0 {
            p = add(p, span_i);
        }
        if corner & 2 != 0 {
            p = add(p, span_j);
        }
        for d in 0..3 {
            lo[d] = lo[d].min(p[d]);
            hi[d] = hi[d].max(p[d]);
        }
    }

    // --- the volume ------------------------------------------------------------------------------
    let mut lib = Library::new();
    for p in &files {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let r = lib.add_file(&name, std::fs::read(p).expect("read"));
        assert_eq!(r.status, "image", "{r:?}");
    }
    assert_eq!(lib.series_count(), 1);
    assert_eq!(lib.slice_count(0).expect("slice count"), 28);
    let started = std::time::Instant::now();
    lib.build_volume(0, &BuildOptions::default())
        .expect("build volume");
    eprintln!("GE volume built in {:.2?}", started.elapsed());
    let v = lib.volume(0).expect("built volume");
    let n = v.dims[2];
    eprintln!(
        "GE volume: dims {:?}, spacing {:?}, origin {:?}, axes {:?}, bounds {:?}, warnings {:?}",
        v.dims,
        v.spacing,
        v.origin,
        v.axes,
        v.bounds(),
        v.warnings
    );

    // first and last slice origins are the extreme header positions
    assert!(
        max_abs_diff(v.origin, first) < 1e-3,
        "origin {:?} vs header {first:?}",
        v.origin
    );
    let v_last = v.voxel_to_world([0.0, 0.0, (n - 1) as f64]);
    assert!(
        max_abs_diff(v_last, last) < 1e-3,
        "last slice origin {v_last:?} vs header {last:?}"
    );
    // axes: header row and column directions, and the true (tilted) slice axis, not the normal
    assert!(max_abs_diff(v.axes[0], row_dir) < 1e-6, "{:?}", v.axes[0]);
    assert!(max_abs_diff(v.axes[1], col_dir) < 1e-6, "{:?}", v.axes[1]);
    assert!(
        max_abs_diff(v.axes[2], axis) < 1e-6,
        "slice axis {:?} vs header {axis:?} (normal {normal:?})",
        v.axes[2]
    );
    let v_tilt = dot(v.axes[2], v.slice_normal()).acos().to_degrees();
    assert!(
        (v_tilt - tilt).abs() < 1e-3,
        "volume tilt {v_tilt} vs {tilt}"
    );
    // spacing: Pixel Spacing is [rows, columns]; the volume's is [along i (columns), along j (rows)]
    assert!((v.spacing[0] - ps[1]).abs() < 1e-9, "{:?}", v.spacing);
    assert!((v.spacing[1] - ps[0]).abs() < 1e-9, "{:?}", v.spacing);
    assert_eq!([v.dims[0], v.dims[1]], [cols, rows]);
    assert!(n >= 2);
    assert!(
        ((n - 1) as f64 * v.spacing[2] - extent).abs() < 1e-3,
        "(N-1) * spacing = {} vs header extent {extent}",
        (n - 1) as f64 * v.spacing[2]
    );
    // every source slice lies on a slice coordinate of the grid, at its header position
    for (s, &a) in sources.iter().zip(&along) {
        let k = v.world_to_voxel(s.position).expect("invertible");
        assert!(
            k[0].abs() * v.spacing[0] < off_line + 1e-3
                && k[1].abs() * v.spacing[1] < off_line + 1e-3,
            "{}: origin at voxel {k:?}",
            s.name
        );
        assert!(
            (k[2] * v.spacing[2] - a).abs() < off_line + 1e-3,
            "{}: k {} * {} vs {a} mm along the axis",
            s.name,
            k[2],
            v.spacing[2]
        );
    }
    // bounds: the header-derived corner box
    let [blo, bhi] = v.bounds();
    assert!(
        max_abs_diff(blo, lo) < 1e-3 && max_abs_diff(bhi, hi) < 1e-3,
        "bounds {:?} vs header corners [{lo:?}, {hi:?}]",
        v.bounds()
    );
    // warnings say the tilt and the resampling
    let tilt_text = format!("{tilt:.1}");
    assert!(
        v.warnings
            .iter()
            .any(|w| w.contains("tilt") && w.contains(&tilt_text)),
        "no warning names the {tilt_text}° tilt: {:?}",
        v.warnings
    );
    assert!(
        v.warnings
            .iter()
            .any(|w| w.contains("uneven") && w.contains("resampl")),
        "no warning says the uneven gaps were resampled: {:?}",
        v.warnings
    );

    // --- pixels: the first and last volume slices are the extreme source slices ----------------
    for (k, s) in [(0, &sources[0]), (n - 1, &sources[sources.len() - 1])] {
        let mut worst = 0.0f64;
        for (idx, &want) in s.pixels.iter().enumerate() {
            let got = v.voxels.get(k, idx).expect("voxel") * v.slope + v.intercept;
            worst = worst.max((got - want).abs());
        }
        eprintln!("volume slice {k} vs {}: max |diff| {worst:.2e} HU", s.name);
        assert!(worst < 0.01, "volume slice {k} differs from {}", s.name);
    }

    // --- the sagittal pane: the reslice agrees with each source file at the same points ---------
    //
    // Two expectations, both computed here from the headers and the raw pixels:
    // * the source pixels themselves (bilinear in the source image) at points of the source plane:
    //   the volume must agree closely; it cannot agree exactly, because the uneven gaps are
    //   resampled onto a uniform grid whose slices do not pass through the source planes (except the
    //   first and last), so a value on a source plane is blended with its neighbours;
    // * the documented resampling (each uniform slice = linear interpolation between the two source
    //   slices around it, then trilinear sampling), evaluated in the header's sheared geometry: the
    //   volume must equal it to float rounding, at every point of the pane.
    let model = Resampling::new(&sources, &along, first, ps, axis, n);
    let center = v.center();
    let cx = center[0];
    // The naive geometry a builder that ignored the tilt would use: same voxels, slice axis along
    // the normal, slices the normal distance apart.
    let mut naive = v.clone();
    naive.voxels = viewer_core::volume::VoxelSlices::F32(Vec::new());
    naive.axes[2] = normal;
    naive.spacing[2] = v.spacing[2] * dot(axis, normal);
    // The in-plane shear of one (median) source gap: where a non-sheared geometry puts a slice's
    // pixels relative to the previous slice's.
    let in_plane = unit(sub(axis, scale(normal, dot(axis, normal))));
    let shear = scale(in_plane, median_gap * tilt.to_radians().tan());
    eprintln!(
        "shear of one median gap: {:.3} mm along {in_plane:?}",
        norm(shear)
    );
    let mut buf = Vec::new();
    let mut all_true = Vec::new();
    let mut all_shift = Vec::new();
    let mut all_naive = Vec::new();
    let mut all_model = Vec::new();
    let mut naive_far = Vec::new(); // slices the naive geometry misplaces by >= 10 mm
    for (m, s) in sources.iter().enumerate() {
        let (mut t, mut sh, mut nv) = (Vec::new(), Vec::new(), Vec::new());
        for j in 0..rows {
            // the point of row j of this slice that lies on the sagittal plane x = cx
            let jv = j as f64 * ps[0];
            let u = (cx - s.position[0] - jv * col_dir[0]) / row_dir[0];
            let i = u / ps[1];
            let Some(want) = s.bilinear(i, j as f64) else {
                continue;
            };
            let p = s.world(i, j as f64);
            assert!((p[0] - cx).abs() < 1e-9);
            let got = sample(v, p, &mut buf);
            t.push((got, want));
            if let Some(e) = model.at(p) {
                all_model.push((got, e));
            }
            sh.push((sample(v, add(p, shear), &mut buf), want));
            let q = v.voxel_to_world(naive.world_to_voxel(p).expect("naive inverse"));
            nv.push((sample(v, q, &mut buf), want));
        }
        let (tm, tx, tn) = stats(&t);
        let (sm, _, _) = stats(&sh);
        let (nm, _, _) = stats(&nv);
        eprintln!(
            "source {:>2} {} at {:6.2} mm: {tn} points; true geometry mean |diff| {tm:6.2} HU \
             (max {tx:7.1}), shifted by one gap's shear {sm:6.1}, naive geometry {nm:6.1}",
            m, s.name, along[m]
        );
        assert!(
            tn as f64 > 0.9 * t.len() as f64 && t.len() > 300,
            "{}: only {tn} of {} sagittal points sampled",
            s.name,
            t.len()
        );
        assert!(
            tm < SLICE_MEAN_MAX_HU,
            "{}: the volume disagrees with this source slice at its own points: mean {tm} HU",
            s.name
        );
        assert!(
            tm <= SLICE_CONTROL_RATIO * sm,
            "{}: the true points agree no better ({tm} HU) than points shifted by one gap's \
             shear ({sm} HU)",
            s.name
        );
        if along[m] * tilt.to_radians().sin() >= 10.0 {
            naive_far.push(nm);
        }
        all_true.extend(t);
        all_shift.extend(sh);
        all_naive.extend(nv);
    }
    let (true_mean, true_max, true_n) = stats(&all_true);
    let (shift_mean, _, _) = stats(&all_shift);
    let (naive_mean, _, _) = stats(&all_naive);
    let (model_mean, model_max, model_n) = stats(&all_model);
    let naive_far_min = naive_far.iter().copied().fold(f64::INFINITY, f64::min);
    eprintln!(
        "sagittal x = {cx:.2}: {true_n} points on 28 source planes: mean |diff| vs source pixels \
         {true_mean:.2} HU (max {true_max:.1}); shifted by one gap's shear {shift_mean:.1}; naive \
         geometry {naive_mean:.1} (slices misplaced >= 10 mm: min mean {naive_far_min:.1}); vs the \
         resampling model: mean {model_mean:.2e}, max {model_max:.2e} HU over {model_n} points"
    );
    assert_eq!(model_n, true_n, "the model covers every sampled point");
    assert!(
        model_max < MODEL_MAX_HU,
        "the volume is not the linear resampling of the source slices in their sheared geometry: \
         up to {model_max} HU off"
    );
    assert!(
        true_mean < MEAN_MAX_HU,
        "the volume disagrees with the source slices at their own points: {true_mean} HU"
    );
    assert!(
        shift_mean > CONTROL_FACTOR * true_mean,
        "control: one gap's shear ({:.2} mm) should change the values much more than \
         {true_mean} HU: {shift_mean}",
        norm(shear)
    );
    assert!(
        naive_mean > NAIVE_FACTOR * true_mean,
        "control: the naive geometry should disagree much more than {true_mean} HU: {naive_mean}"
    );
    assert!(!naive_far.is_empty());
    assert!(
        naive_far_min > NAIVE_MIN_HU,
        "control: a slice misplaced >= 10 mm by the naive geometry still matches: {naive_far_min}"
    );

    // The same on the pane itself: a full sagittal reslice through the centre, 0.5 mm pixels.
    // Every pixel must equal the resampling model at its centre, and the pixels whose centres lie
    // within 0.05 mm of a source plane must show that slice's pixels.
    let [blo, bhi] = v.bounds();
    let half_y = (bhi[1] - center[1]).max(center[1] - blo[1]);
    let half_z = (bhi[2] - center[2]).max(center[2] - blo[2]);
    let pixel_mm = 0.5;
    let view = View {
        plane: Plane::sagittal(center),
        width: (2.0 * half_y / pixel_mm).ceil() as u32 + 2,
        height: (2.0 * half_z / pixel_mm).ceil() as u32 + 2,
        pixel_mm,
        slab_mm: 0.0,
        mode: SlabMode::Average,
    };
    let mut image = Vec::new();
    reslice(v, &view, &mut image).expect("sagittal reslice");
    let mut pane = Vec::new();
    let mut pane_model = Vec::new();
    let mut defined_differently = 0usize;
    let mut pane_per_slice = vec![0usize; sources.len()];
    for y in 0..view.height {
        for x in 0..view.width {
            let got = f64::from(image[(y * view.width + x) as usize]);
            let q = view.pixel_center(f64::from(x), f64::from(y));
            match (got.is_finite(), model.at(q)) {
                (true, Some(e)) => pane_model.push((got, e)),
                (false, None) => {}
                _ => defined_differently += 1,
            }
            if !got.is_finite() {
                continue;
            }
            for (m, s) in sources.iter().enumerate() {
                let d = dot(sub(q, s.position), normal);
                if d.abs() > 0.05 {
                    continue;
                }
                let on = sub(sub(q, scale(normal, d)), s.position);
                let (i, j) = (dot(on, row_dir) / ps[1], dot(on, col_dir) / ps[0]);
                if let Some(want) = s.bilinear(i, j) {
                    pane.push((got, want));
                    pane_per_slice[m] += 1;
                }
            }
        }
    }
    let (pane_mean, pane_max, pane_n) = stats(&pane);
    let (pm_mean, pm_max, pm_n) = stats(&pane_model);
    eprintln!(
        "sagittal pane {}x{} at {pixel_mm} mm: {pm_n} pixels with a value, vs the resampling \
         model mean {pm_mean:.2e} max {pm_max:.2e} HU ({defined_differently} pixels defined on \
         one side only); {pane_n} pixels within 0.05 mm of a source plane (per slice \
         {pane_per_slice:?}): mean |diff| vs source pixels {pane_mean:.2} HU (max {pane_max:.1})",
        view.width, view.height
    );
    assert!(pm_n > 100_000, "the pane shows the head: {pm_n} pixels");
    assert!(
        pm_max < MODEL_MAX_HU,
        "the sagittal pane is not the resampled source slices in their sheared geometry: up to \
         {pm_max} HU off"
    );
    assert!(
        defined_differently * 1000 < pm_n,
        "{defined_differently} pixels are inside the grid on one side only"
    );
    assert!(
        pane_per_slice.iter().all(|&c| c >= 20),
        "every source slice crosses the sagittal pane: {pane_per_slice:?}"
    );
    assert!(
        pane_mean < MEAN_MAX_HU,
        "the sagittal pane disagrees with the source slices: {pane_mean} HU"
    );
}

// Thresholds of the GE comparison, from the measured numbers (printed by the test):
/// Mean |volume - source pixel| at points of the source planes, all slices (measured 7.65 HU: the
/// blending of the uniform resampling; a 1.34 mm shear shift gives 58.6, the naive geometry 337).
const MEAN_MAX_HU: f64 = 10.0;
/// The same per source slice (measured 0 to 24.9 HU).
const SLICE_MEAN_MAX_HU: f64 = 35.0;
/// Per slice, the true points agree at least this much better than the shear-shifted ones
/// (measured ratio 0 to 0.37).
const SLICE_CONTROL_RATIO: f64 = 0.5;
/// Shear-shifted / true, all slices (measured 7.7).
const CONTROL_FACTOR: f64 = 5.0;
/// Naive geometry / true, all slices (measured 44).
const NAIVE_FACTOR: f64 = 20.0;
/// Naive geometry, each slice it misplaces by >= 10 mm (measured at least 299 HU).
const NAIVE_MIN_HU: f64 = 100.0;
/// |volume - resampling model| anywhere (float rounding; measured at most 1.8e-4 HU).
const MODEL_MAX_HU: f64 = 0.01;

/// The documented resampling of the source slices, in their sheared header geometry: uniform slice
/// `k` (of `n`, at `k * extent / (n - 1)` mm along the slice axis) is the linear interpolation of
/// the two source slices around it, and a point's value is the trilinear interpolation of that grid.
struct Resampling<'a> {
    sources: &'a [Source],
    along: &'a [f64],
    first: [f64; 3],
    /// rows of the inverse of [row_dir * dc, col_dir * dr, axis] (patient -> (i, j, s mm))
    inverse: [[f64; 3]; 3],
    step: f64,
    n: usize,
}

impl<'a> Resampling<'a> {
    fn new(
        sources: &'a [Source],
        along: &'a [f64],
        first: [f64; 3],
        ps: [f64; 2],
        axis: [f64; 3],
        n: usize,
    ) -> Self {
        let a = scale(sources[0].row_dir, ps[1]);
        let b = scale(sources[0].col_dir, ps[0]);
        let c = axis;
        let det = dot(a, cross(b, c));
        let r = |v: [f64; 3]| scale(v, 1.0 / det);
        let extent = along[along.len() - 1];
        Resampling {
            sources,
            along,
            first,
            inverse: [r(cross(b, c)), r(cross(c, a)), r(cross(a, b))],
            step: extent / (n - 1) as f64,
            n,
        }
    }

    /// Value of uniform slice `k` at pixel coordinates (i, j).
    fn slice(&self, k: usize, i: f64, j: f64) -> Option<f64> {
        let s = k as f64 * self.step;
        let last = self.along.len() - 1;
        let b = self.along.partition_point(|&a| a < s).clamp(1, last);
        let a = b - 1;
        let w = ((s - self.along[a]) / (self.along[b] - self.along[a])).clamp(0.0, 1.0);
        let va = self.sources[a].bilinear(i, j)?;
        let vb = self.sources[b].bilinear(i, j)?;
        Some(va + (vb - va) * w)
    }

    /// The model's value at a patient point (None outside the grid of voxel centres).
    fn at(&self, p: [f64; 3]) -> Option<f64> {
        let d = sub(p, self.first);
        let (i, j, s) = (
            dot(self.inverse[0], d),
            dot(self.inverse[1], d),
            dot(self.inverse[2], d),
        );
        let kc = s / self.step;
        let eps = 1e-6;
        if !(kc >= -eps && kc <= (self.n - 1) as f64 + eps) {
            return None;
        }
        let kc = kc.clamp(0.0, (self.n - 1) as f64);
        let k0 = (kc.floor() as usize).min(self.n - 2);
        let f = kc - k0 as f64;
        let g0 = self.slice(k0, i, j)?;
        let g1 = self.slice(k0 + 1, i, j)?;
        Some(g0 + (g1 - g0) * f)
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Demo phantom

const PHANTOM: PhantomSpec = PhantomSpec {
    size: 128,
    slices: 128,
};

/// The phantom volume, loaded from the DICOM files the `lucent demo` writer produces (in memory).
fn phantom_library() -> (PhantomSeries, Library) {
    let series = PhantomSeries::new(&PHANTOM).expect("phantom series");
    let mut lib = Library::new();
    let mut scratch = Vec::new();
    // add in file-name order (which is not the spatial order), as a folder drop would
    let mut order: Vec<(String, u32)> = (0..PHANTOM.slices)
        .map(|k| (series.file_name(k).expect("name"), k))
        .collect();
    order.sort();
    for (name, k) in order {
        let bytes = series.encode_slice(k, &mut scratch).expect("encode");
        let r = lib.add_file(&name, bytes);
        assert_eq!(r.status, "image", "{r:?}");
    }
    (series, lib)
}

/// The phantom voxel nearest to `p` (column, row, slice), from the analytic grid.
fn nearest_voxel(ph: &phantom::Phantom, p: [f64; 3]) -> [u32; 3] {
    let o = ph.image_position(0);
    let ps = ph.pixel_spacing();
    let idx = |v: f64, o: f64, s: f64, n: u32| ((v - o) / s).round().clamp(0.0, f64::from(n - 1));
    [
        idx(p[0], o[0], ps[1], ph.cols()) as u32,
        idx(p[1], o[1], ps[0], ph.rows()) as u32,
        idx(p[2], o[2], ph.slice_spacing(), ph.slices()) as u32,
    ]
}

#[test]
fn phantom_jaw_canal_teeth_and_marker_are_where_the_model_puts_them() {
    let (series, mut lib) = phantom_library();
    let ph = series.phantom();
    assert_eq!(lib.series_count(), 1);
    lib.build_volume(0, &BuildOptions::default())
        .expect("build volume");
    let v = lib.volume(0).expect("volume");

    // geometry: the analytic grid, no warnings
    let d = phantom::FOV_MM / f64::from(PHANTOM.size);
    assert_eq!(v.dims, [128, 128, 128]);
    for a in 0..3 {
        assert!((v.spacing[a] - d).abs() < 1e-9, "{:?}", v.spacing);
    }
    assert!(max_abs_diff(v.origin, ph.image_position(0)) < 1e-9);
    assert!(max_abs_diff(v.origin, [-80.0 + d / 2.0; 3]) < 1e-9);
    assert_eq!(
        v.axes,
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        "axial phantom"
    );
    assert!(v.warnings.is_empty(), "{:?}", v.warnings);

    // The probe reads the nearest voxel: its value must be the analytic value at that voxel's centre,
    // and (the points are chosen so) the named tissue.
    let checked = std::cell::Cell::new(0usize);
    let check = |what: &str, p: [f64; 3], want: f64| {
        checked.set(checked.get() + 1);
        let [c, r, s] = nearest_voxel(ph, p);
        let centre = ph.voxel_center(c, r, s);
        let model = ph.hu_at(centre);
        assert_eq!(
            model, want,
            "{what} at {p:?}: the nearest voxel centre {centre:?} is not {want} in the model"
        );
        let pr = probe(v, p).expect("probe");
        let expected_voxel = [
            (p[0] - ph.image_position(0)[0]) / ph.pixel_spacing()[1],
            (p[1] - ph.image_position(0)[1]) / ph.pixel_spacing()[0],
            (p[2] - ph.image_position(0)[2]) / ph.slice_spacing(),
        ];
        assert!(
            max_abs_diff(pr.voxel, expected_voxel) < 1e-6,
            "{what} at {p:?}: probe voxel {:?} vs {expected_voxel:?}",
            pr.voxel
        );
        assert_eq!(pr.value, Some(want), "{what} at {p:?}");
    };
    let ts = [-0.95, -0.8, -0.6, -0.4, -0.2, 0.0, 0.2, 0.4, 0.6, 0.8, 0.95];
    for &t in &ts {
        let c = phantom::canal_point(t);
        check(&format!("canal t={t}"), c, phantom::CANAL_HU);
        // 1.5 mm outside the canal radius, inside the mandible: above the canal, and buccal/lingual
        let out = phantom::CANAL_RADIUS + 1.5;
        check(
            &format!("mandible above the canal t={t}"),
            [c[0], c[1], c[2] + out],
            phantom::MANDIBLE_HU,
        );
        let nrm = phantom::arch_normal(t);
        for side in [-1.0, 1.0] {
            check(
                &format!("mandible beside the canal t={t} side {side}"),
                [c[0] + side * out * nrm[0], c[1] + side * out * nrm[1], c[2]],
                phantom::MANDIBLE_HU,
            );
        }
    }
    let tooth_mid_z = 0.5 * (phantom::TOOTH_Z_MIN + phantom::TOOTH_Z_MAX);
    for tooth in &phantom::TEETH {
        let [x, y] = tooth.center();
        check(
            &format!("tooth t={}", tooth.t),
            [x, y, tooth_mid_z],
            phantom::TOOTH_HU,
        );
    }
    check("marker", phantom::MARKER_CENTER, phantom::MARKER_HU);
    eprintln!(
        "phantom: {} probes (canal, mandible around it, teeth, marker) read exactly the model's value",
        checked.get()
    );

    // Coronal and sagittal reslices through each tooth's axis: a 1-pixel-wide column along z shows
    // the tooth's bright run from TOOTH_Z_MIN to TOOTH_Z_MAX (within one voxel), and a 1-pixel-high
    // row at mid height shows its diameter.
    let pixel_mm = 0.25;
    let half = 30.0; // mm above and below mid height
    let h = (2.0 * half / pixel_mm) as u32;
    let voxel = d;
    let mut col = Vec::new();
    for tooth in &phantom::TEETH {
        let [x, y] = tooth.center();
        let centre = [x, y, tooth_mid_z];
        for (pane, plane, across) in [
            ("coronal", Plane::coronal(centre), 0usize),
            ("sagittal", Plane::sagittal(centre), 1usize),
        ] {
            // vertical: width 1, pixel (0, y) centred at (x, y, z(y))
            let view = View {
                plane,
                width: 1,
                height: h,
                pixel_mm,
                slab_mm: 0.0,
                mode: SlabMode::Average,
            };
            reslice(v, &view, &mut col).expect("reslice");
            // brighter than halfway between tooth and mandible (the brighter neighbour)
            let threshold = 0.5 * (phantom::TOOTH_HU + phantom::MANDIBLE_HU);
            let bright: Vec<u32> = (0..h)
                .filter(|&yy| col[yy as usize] > threshold as f32)
                .collect();
            assert!(!bright.is_empty(), "{pane} t={}: no tooth", tooth.t);
            let (top, bottom) = (bright[0], bright[bright.len() - 1]);
            assert_eq!(
                bright.len() as u32,
                bottom - top + 1,
                "{pane} t={}: the bright run is not contiguous",
                tooth.t
            );
            let z_top = view.pixel_center(0.0, f64::from(top))[2];
            let z_bottom = view.pixel_center(0.0, f64::from(bottom))[2];
            eprintln!(
                "{pane} through tooth t={:+.2}: bright z {z_bottom:.3} .. {z_top:.3} (model {} .. {})",
                tooth.t,
                phantom::TOOTH_Z_MIN,
                phantom::TOOTH_Z_MAX
            );
            assert!(
                (z_bottom - phantom::TOOTH_Z_MIN).abs() <= voxel
                    && (z_top - phantom::TOOTH_Z_MAX).abs() <= voxel,
                "{pane} t={}: bright run z {z_bottom} .. {z_top}, model {} .. {}",
                tooth.t,
                phantom::TOOTH_Z_MIN,
                phantom::TOOTH_Z_MAX
            );

            // horizontal at mid height (above the bone: soft tissue around): the diameter
            let view = View {
                plane,
                width: h,
                height: 1,
                pixel_mm,
                slab_mm: 0.0,
                mode: SlabMode::Average,
            };
            reslice(v, &view, &mut col).expect("reslice");
            let threshold = 0.5 * (phantom::TOOTH_HU + phantom::SOFT_TISSUE_HU);
            let mid = h / 2; // pixel centred at +pixel_mm/2 from the axis
            assert!(col[mid as usize] > threshold as f32, "{pane} t={}", tooth.t);
            let mut a = mid;
            while a > 0 && col[(a - 1) as usize] > threshold as f32 {
                a -= 1;
            }
            let mut b = mid;
            while b + 1 < h && col[(b + 1) as usize] > threshold as f32 {
                b += 1;
            }
            let pa = view.pixel_center(f64::from(a), 0.0)[across];
            let pb = view.pixel_center(f64::from(b), 0.0)[across];
            let c = [x, y][across];
            eprintln!(
                "{pane} through tooth t={:+.2}: bright {pa:.3} .. {pb:.3} (model {:.3} .. {:.3})",
                tooth.t,
                c - tooth.radius,
                c + tooth.radius
            );
            assert!(
                (pa - (c - tooth.radius)).abs() <= voxel
                    && (pb - (c + tooth.radius)).abs() <= voxel,
                "{pane} t={}: bright {pa} .. {pb}, model {} .. {}",
                tooth.t,
                c - tooth.radius,
                c + tooth.radius
            );
        }
    }
}
