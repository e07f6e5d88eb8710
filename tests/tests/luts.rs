//! Lookup tables against pydicom: segmented Palette Color LUTs, Modality LUT Sequences and VOI LUT
//! Sequences. tests/oracle/luts.py (run here, in the reference decoder's venv) writes small DICOM files
//! with pydicom and computes what must be shown with pydicom's own pipeline (`apply_color_lut`,
//! `apply_modality_lut`, `apply_voi_lut`, then the display mapping its docstring states); this test
//! opens each file the way the browser does (`Library`: `add_file`, the default VOI or a chosen VOI LUT,
//! `render_voi`) and the way `lucent render` does (`window::default_voi`, `render::render_frame_voi`), and
//! requires both to equal pydicom's image exactly, pixel for pixel. It also checks which VOI is the
//! default (the window when the file has one, else the first VOI LUT) and the VOI LUT's name.
//!
//! The oracle is found as tests/tests/lossy.rs finds it (`LUCENT_ORACLE`, else `../shared/oracle`; its venv
//! at `ORACLE_VENV`, else /tmp/oracle-venv; `cargo xtask test` installs it). Without it the test says
//! loudly that it did not run; with `CI=true` that is a failure.

use std::path::{Path, PathBuf};
use std::process::Command;

use lucent_tests::{corpus_candidate, corpus_dir, oracle, parse_npy, Oracle};
use viewer_core::decode::decode_frame;
use viewer_core::ingest::read_instance;
use viewer_core::window::{self, Voi};
use viewer_core::{render, Library, RgbaImage};

/// One rendering to check (a line of luts.py's output).
struct Case {
    name: String,
    file: PathBuf,
    expected: PathBuf,
    voi: Option<usize>,
    default: String,
    label: String,
    what: String,
}

fn parse_voi(s: &str) -> Option<usize> {
    s.strip_prefix("lut:")
        .map(|n| n.parse().expect("lut index"))
}

fn voi_name(v: Voi) -> String {
    match v {
        Voi::Window(_) => "window".into(),
        Voi::Lut(i) => format!("lut:{i}"),
    }
}

/// The first differing byte: (pixel, channel, ours, pydicom).
type At = (usize, usize, u8, u8);

/// (differing bytes, max |difference|, first difference).
fn diff(ours: &[u8], expected: &[u8]) -> (usize, u8, Option<At>) {
    let mut n = 0;
    let mut max = 0;
    let mut first = None;
    for (i, (&a, &b)) in ours.iter().zip(expected).enumerate() {
        if a != b {
            n += 1;
            max = max.max(a.abs_diff(b));
            first.get_or_insert((i / 4, i % 4, a, b));
        }
    }
    (n, max, first)
}

fn run_oracle(oracle: &Oracle, out: &Path) -> Vec<Case> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("oracle/luts.py");
    let result = Command::new(&oracle.python)
        .arg(&script)
        .arg(&oracle.dir)
        .arg(out)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", oracle.python.display()));
    assert!(
        result.status.success(),
        "{} failed ({}):\n{}",
        script.display(),
        result.status,
        String::from_utf8_lossy(&result.stderr)
    );
    String::from_utf8_lossy(&result.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 7, "bad line from luts.py: {l}");
            Case {
                name: f[0].into(),
                file: f[1].into(),
                expected: f[2].into(),
                voi: parse_voi(f[3]),
                default: f[4].into(),
                label: f[5].into(),
                what: f[6].into(),
            }
        })
        .collect()
}

#[test]
fn lookup_tables_match_pydicom() {
    let Some(oracle) = oracle(&corpus_candidate()) else {
        return;
    };
    let out = std::env::temp_dir().join(format!("lucent-luts-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let cases = run_oracle(&oracle, &out);
    assert!(
        cases.len() >= 18,
        "luts.py wrote only {} cases",
        cases.len()
    );

    let mut failures = Vec::new();
    let mut pixels = 0usize;
    let mut worst = 0u8;
    for c in &cases {
        let bytes = std::fs::read(&c.file).expect("case file");
        let expected = parse_npy(&std::fs::read(&c.expected).expect("npy")).expect("npy");
        let mut fail = |why: String| failures.push(format!("{} ({}): {why}", c.name, c.what));

        // 1. the browser's path: the library, as the worker drives it (voiJson, then render / renderVoiLut)
        let mut lib = Library::new();
        let report = lib.add_file(&c.name, bytes.clone());
        if report.status != "image" {
            fail(format!("not an image: {report:?}"));
            continue;
        }
        let default = match lib.default_voi(0, 0) {
            Ok(v) => v,
            Err(e) => {
                fail(format!("default VOI: {e}"));
                continue;
            }
        };
        if c.default != "-" && voi_name(default) != c.default {
            fail(format!(
                "default VOI is {}, expected {}",
                voi_name(default),
                c.default
            ));
        }
        let choice = lib.voi_choice(0, 0, c.voi).expect("voi choice");
        let label = choice.label.clone().unwrap_or_else(|| "-".into());
        if label != c.label {
            fail(format!("VOI label {label:?}, expected {:?}", c.label));
        }
        let voi = match choice.lut {
            Some(i) => Voi::Lut(i),
            None => Voi::Window(viewer_core::Window {
                center: choice.center,
                width: choice.width,
            }),
        };
        let mut img = RgbaImage::default();
        if let Err(e) = lib.render_voi(0, 0, voi, &mut img) {
            fail(format!("render: {e}"));
            continue;
        }
        let shape = [img.height as usize, img.width as usize, 4];
        if expected.shape != shape {
            fail(format!("shape {:?}, pydicom {:?}", shape, expected.shape));
            continue;
        }
        let (n, max, first) = diff(&img.data, &expected.data);
        pixels += img.data.len() / 4;
        worst = worst.max(max);
        if n > 0 {
            fail(format!(
                "{n} bytes differ from pydicom's, max |diff| {max}, first at pixel {:?}",
                first
            ));
        }

        // 2. `lucent render`'s path: the same VOI from the instance, the same pixels
        let instance = read_instance(&c.name, bytes).expect("instance");
        let frame = decode_frame(&instance, 0).expect("frame");
        let cli_voi = match c.voi {
            Some(i) => Voi::Lut(i),
            None => window::default_voi(&instance, &frame),
        };
        let mut cli = RgbaImage::default();
        render::render_frame_voi(&instance, &frame, cli_voi, &mut cli).expect("cli render");
        if cli.data != img.data {
            fail("lucent render's path gives other pixels than the library's".into());
        }
        eprintln!(
            "{:28} {:8} default {:7} {:>6} px  max |diff| {max}  {}",
            c.name,
            c.voi.map_or("default".to_string(), |i| format!("lut:{i}")),
            voi_name(default),
            img.data.len() / 4,
            c.what
        );
    }
    let _ = std::fs::remove_dir_all(&out);
    eprintln!(
        "{} renderings of {} pydicom-written files, {pixels} pixels, max |diff| {worst}",
        cases.len(),
        {
            let mut names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
            names.dedup();
            names.len()
        }
    );
    assert!(
        failures.is_empty(),
        "{} LUT case(s) differ from pydicom:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

/// A real file whose Modality LUT and VOI LUT Sequences hold one empty item each (descriptor and data
/// empty): no LUT at all, so the stored values are shown with the data-range window, as before.
#[test]
fn empty_lut_items_in_a_corpus_file_are_no_luts() {
    let Some(corpus) = corpus_dir() else { return };
    let file = "pylibjpeg-data/ljdata/ds/JPEGLosslessSV1/JPEGLosslessP14SV1_1s_1f_u_16_16.dcm";
    let bytes = std::fs::read(corpus.join(file)).expect("corpus file");
    let instance = read_instance(file, bytes.clone()).expect("instance");
    assert!(instance.modality_lut().is_none());
    assert!(instance.voi_luts().is_empty());
    assert_eq!(instance.lut_problem(), None);
    let mut lib = Library::new();
    assert_eq!(lib.add_file(file, bytes).status, "image");
    let voi = lib.default_voi(0, 0).expect("default voi");
    assert!(matches!(voi, Voi::Window(_)), "{voi:?}");
    let mut img = RgbaImage::default();
    lib.render_voi(0, 0, voi, &mut img).expect("render");
    assert_eq!((img.width, img.height), (800, 535));
}
