//! The `lucent` command end to end: decode against the corpus's independent decoders, the demo phantom's
//! analytic geometry through `info` and `render`, and bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn lucent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lucent"))
        .args(args)
        .output()
        .expect("run lucent")
}

fn ok(args: &[&str]) -> String {
    let out = lucent(args);
    assert!(
        out.status.success(),
        "lucent {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lucent-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read json")).expect("parse json")
}

#[test]
fn decode_matches_the_reference_decoders_for_one_file_of_each_transfer_syntax() {
    let Some(corpus) = lucent_tests::corpus_dir() else {
        return;
    };
    let rows = lucent_tests::expected_rows(&corpus);
    let syntaxes = [
        "1.2.840.10008.1.2",
        "1.2.840.10008.1.2.1",
        "1.2.840.10008.1.2.2",
        "1.2.840.10008.1.2.1.99",
        "1.2.840.10008.1.2.5",
        "1.2.840.10008.1.2.4.70",
        "1.2.840.10008.1.2.4.57",
    ];
    let out = temp_dir("decode");
    for ts in syntaxes {
        // A multi-frame file where there is one, to exercise the per-frame output.
        let candidates: Vec<_> = rows
            .iter()
            .filter(|r| r.get("ts") == ts && r.get("status") == "decoded")
            .filter(|r| r.get("compare") == "exact")
            .collect();
        let row = candidates
            .iter()
            .find(|r| r.get("frames").parse::<u32>().unwrap_or(1) > 1)
            .or(candidates.first())
            .unwrap_or_else(|| panic!("no corpus file for {ts}"));
        let file = corpus.join(row.get("file"));
        let dir = out.join(ts);
        ok(&[
            "decode",
            file.to_str().expect("utf-8 path"),
            "--out",
            dir.to_str().expect("utf-8"),
        ]);
        let summary = json(&dir.join("summary.json"));
        assert_eq!(
            summary["sha256"],
            row.get("ref_sha256"),
            "{}",
            row.get("file")
        );
        assert_eq!(
            summary["dtype"],
            row.get("ref_dtype").trim_start_matches(['<', '|'])
        );
        let shape: Vec<String> = summary["shape"]
            .as_array()
            .expect("shape")
            .iter()
            .map(|v| v.to_string())
            .collect();
        assert_eq!(shape.join("x"), row.get("ref_shape"), "{}", row.get("file"));
        // The raw frames, concatenated, are the normalised array itself.
        let mut all = Vec::new();
        for frame in summary["frames"].as_array().expect("frames") {
            let name = frame["file"].as_str().expect("frame file");
            all.extend(std::fs::read(dir.join(name)).expect("frame raw"));
        }
        use sha2::Digest;
        let digest: String = sha2::Sha256::digest(&all)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            digest,
            row.get("ref_sha256"),
            "{}: raw frames",
            row.get("file")
        );
    }
    let _ = std::fs::remove_dir_all(&out);
}

/// The demo phantom's geometry is analytic (viewer-core's phantom docs): a 160 mm cube centred on the
/// origin, axial slices from inferior to superior, 3000 HU marker sphere of radius 3 mm at (55,-55,55).
#[test]
fn demo_study_sorts_by_position_and_renders_the_marker_where_the_geometry_says() {
    let dir = temp_dir("demo");
    ok(&[
        "demo",
        dir.to_str().expect("utf-8"),
        "--size",
        "64",
        "--slices",
        "40",
    ]);
    let index = json(&dir.join("index.json"));
    let files: Vec<&str> = index["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f.as_str().expect("name"))
        .collect();
    assert_eq!(files.len(), 40);

    let info: serde_json::Value =
        serde_json::from_str(&ok(&["info", dir.to_str().expect("utf-8"), "--json"])).expect("json");
    let slices = info["series"][0]["slices"].as_array().expect("slices");
    assert_eq!(slices.len(), 40);
    let spacing = 160.0 / 40.0;
    let mut names_in_viewer_order = Vec::new();
    for (k, slice) in slices.iter().enumerate() {
        let z = -80.0 + (k as f64 + 0.5) * spacing;
        let position = slice["position"].as_array().expect("position");
        let got_z = position[2].as_f64().expect("z");
        assert!(
            (got_z - z).abs() < 1e-6,
            "slice {k}: z {got_z}, expected {z}"
        );
        assert_eq!(slice["instance_number"], k as i64 + 1);
        names_in_viewer_order.push(slice["file"].as_str().expect("file").to_owned());
    }
    let mut by_name = names_in_viewer_order.clone();
    by_name.sort();
    assert_ne!(
        names_in_viewer_order, by_name,
        "the demo's file names must not give the order"
    );

    // The marker: centre z = 55 lies in slice k with -80 + (k + 0.5) * 4 closest to 55 -> k = 33 (z 54).
    let marker_slice = &slices[33];
    let file = dir.join(marker_slice["file"].as_str().expect("file"));
    let png = dir.join("marker.rgba");
    ok(&[
        "render",
        file.to_str().expect("utf-8"),
        "--window",
        "400,2000",
        "--out",
        png.to_str().expect("utf-8"),
    ]);
    let rgba = std::fs::read(&png).expect("rgba");
    assert_eq!(rgba.len(), 64 * 64 * 4);
    let pixel = |x: f64, y: f64| {
        // Pixel centres at -80 + (i + 0.5) * 2.5 mm.
        let col = ((x + 80.0) / 2.5 - 0.5).round() as usize;
        let row = ((y + 80.0) / 2.5 - 0.5).round() as usize;
        let i = (row * 64 + col) * 4;
        [rgba[i], rgba[i + 1], rgba[i + 2], rgba[i + 3]]
    };
    // Patient left (+x) is on the image's right, anterior (-y) at the top: 3000 HU is white at 400/2000.
    assert_eq!(pixel(55.0, -55.0), [255, 255, 255, 255]);
    // Its mirror images (right-anterior, left-posterior) are air: black.
    assert_eq!(pixel(-55.0, -55.0), [0, 0, 0, 255]);
    assert_eq!(pixel(55.0, 55.0), [0, 0, 0, 255]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_input_is_a_clear_error_naming_the_file() {
    let dir = temp_dir("bad");
    let pdf = dir.join("report.pdf");
    std::fs::write(
        &pdf,
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n",
    )
    .expect("pdf");
    let out = lucent(&["render", pdf.to_str().expect("utf-8"), "--out", "/dev/null"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("report.pdf"), "{stderr}");
    assert!(stderr.to_lowercase().contains("dicom"), "{stderr}");

    // In a folder, the bad file is reported and the good ones still load.
    ok(&[
        "demo",
        dir.join("study").to_str().expect("utf-8"),
        "--size",
        "16",
        "--slices",
        "4",
    ]);
    std::fs::copy(&pdf, dir.join("study").join("report.pdf")).expect("copy");
    let info: serde_json::Value = serde_json::from_str(&ok(&[
        "info",
        dir.join("study").to_str().expect("utf-8"),
        "--json",
    ]))
    .expect("json");
    assert_eq!(
        info["series"][0]["slices"]
            .as_array()
            .expect("slices")
            .len(),
        4
    );
    let report = info["report"].as_array().expect("report");
    let bad = report
        .iter()
        .find(|r| r["file"] == "report.pdf")
        .expect("the pdf is in the report");
    assert_eq!(bad["status"], "error");
    assert_eq!(bad["code"], "not-dicom");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn mpr_and_measure_on_the_demo_phantom_follow_its_analytic_geometry() {
    let dir = temp_dir("mpr");
    let d = dir.to_str().expect("utf-8");
    ok(&["demo", d, "--size", "64", "--slices", "40"]);
    // A coronal plane through y = -55 (the marker's), centred at x = 0, z = 55, 2.5 mm per pixel like the
    // voxels. The marker (3000 HU, radius 3 mm) at x = +55 (patient left) must be on the image's right.
    let out = dir.join("cor.rgba");
    let report: serde_json::Value = serde_json::from_str(&ok(&[
        "mpr",
        d,
        "--plane",
        "coronal",
        "--center",
        "0,-55,55",
        "--size",
        "64x64",
        "--pixel",
        "2.5",
        "--window",
        "400,2000",
        "--json",
        "--out",
        out.to_str().expect("utf-8"),
    ]))
    .expect("json");
    assert_eq!(report["labels"]["left"], "R");
    assert_eq!(report["labels"]["right"], "L");
    assert_eq!(report["labels"]["top"], "H");
    assert_eq!(report["labels"]["bottom"], "F");
    assert_eq!(report["volume"]["dims"], serde_json::json!([64, 64, 40]));
    let rgba = std::fs::read(&out).expect("rgba");
    assert_eq!(rgba.len(), 64 * 64 * 4);
    // pixel (x, y) is centred at x_mm = (x + 0.5 - 32) * 2.5, z_mm = 55 - (y + 0.5 - 32) * 2.5
    let grey = |x_mm: f64, z_mm: f64| {
        let col = (x_mm / 2.5 + 31.5).round() as usize;
        let row = ((55.0 - z_mm) / 2.5 + 31.5).round() as usize;
        rgba[(row * 64 + col) * 4]
    };
    assert_eq!(grey(55.0, 55.0), 255, "the marker, on the viewer's right");
    assert_eq!(grey(-55.0, 55.0), 0, "its mirror image is air");
    assert!(
        grey(0.0, 0.0) > 0 && grey(0.0, 0.0) < 255,
        "soft tissue in the middle"
    );

    // measure: the marker's centre to the middle of the head, in mm, with the value at each end
    let m: serde_json::Value = serde_json::from_str(&ok(&[
        "measure",
        d,
        "--from",
        "55,-55,54",
        "--to",
        "0,0,54",
        "--json",
    ]))
    .expect("json");
    let expected = (55.0f64 * 55.0 * 2.0).sqrt();
    assert!((m["distance_mm"].as_f64().expect("mm") - expected).abs() < 1e-9);
    assert_eq!(m["from"]["value"], 3000.0);
    assert_eq!(m["to"]["value"], 40.0);

    // Bad requests are clear errors.
    for (args, says) in [
        (vec!["mpr", d, "--plane", "axial"], "--out"),
        (
            vec!["mpr", d, "--plane", "bogus", "--out", "x.png"],
            "expected axial",
        ),
        (
            vec!["mpr", d, "--plane", "oblique", "--out", "x.png"],
            "--normal",
        ),
        (vec!["mpr", d, "--size", "0x5", "--out", "x.png"], "--size"),
        (
            vec!["measure", d, "--from", "1,2", "--to", "0,0,0"],
            "X,Y,Z",
        ),
    ] {
        let run = lucent(&args);
        assert!(!run.status.success(), "{args:?} should fail");
        let err = String::from_utf8_lossy(&run.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let empty = temp_dir("mpr-empty");
    std::fs::write(empty.join("notes.txt"), "not DICOM").expect("write");
    let run = lucent(&["mpr", empty.to_str().expect("utf-8"), "--out", "x.png"]);
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("no image series"));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&empty);
}
