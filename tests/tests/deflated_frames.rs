//! Deflated Image Frame Compression (1.2.840.10008.1.2.8.1). The corpus has no such file, so
//! tests/oracle/deflate_frames.py (pydicom, in the reference decoder's venv) re-encodes native corpus
//! files with it: the pixel values stay the original's, so the expected decode is the original row's
//! `ref_sha256` in EXPECTED.tsv (the independent decoders' result), not anything of ours.

use std::path::{Path, PathBuf};
use std::process::Command;

use lucent_tests::{corpus_dir, expected_rows, oracle};
use sha2::{Digest, Sha256};
use viewer_core::decode::normalize_all;
use viewer_core::ingest::read_instance;
use viewer_core::ErrorCode;

/// Multi-frame 16-bit, multi-frame 1-bit (frames not byte aligned), RGB, YBR_FULL_422, signed 12-bit
/// with garbage high bits.
const FILES: &[&str] = &[
    "dcm4che/dcm4che-test-data/src/main/resources/NM-MONO2-16-13x-heart",
    "dicom-test-files/data/dcmqi/segmentations/23x38x3/seg/label.seg",
    "dcm4che/dcm4che-test-data/src/main/resources/US-RGB-8-esopecho",
    "dcm4che/dcm4che-test-data/src/main/resources/YBR_422.dcm",
    "dcm_qa_12bit/In/12bitSigned_0x0F0F.dcm",
];

fn sha256_hex(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// Runs the re-encoder; returns the written files, in `inputs` order.
fn deflate(python: &Path, out: &Path, long: bool, inputs: &[PathBuf]) -> Vec<PathBuf> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("oracle/deflate_frames.py");
    let mut cmd = Command::new(python);
    cmd.arg(&script).arg(out);
    if long {
        cmd.arg("--long");
    }
    let result = cmd
        .args(inputs)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    assert!(
        result.status.success(),
        "deflate_frames.py failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    let files: Vec<PathBuf> = String::from_utf8_lossy(&result.stdout)
        .lines()
        .map(PathBuf::from)
        .collect();
    assert_eq!(files.len(), inputs.len());
    files
}

#[test]
fn deflated_frames_decode_to_the_reference_values() {
    let Some(corpus) = corpus_dir() else { return };
    let Some(oracle) = oracle(&corpus) else {
        return;
    };
    let rows = expected_rows(&corpus);
    let inputs: Vec<PathBuf> = FILES.iter().map(|f| corpus.join(f)).collect();
    let out =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("deflated-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).expect("output dir");

    for (rel, file) in FILES
        .iter()
        .zip(deflate(&oracle.python, &out, false, &inputs))
    {
        let row = rows
            .iter()
            .find(|r| r.get("file") == *rel)
            .unwrap_or_else(|| panic!("{rel}: no EXPECTED.tsv row"));
        let bytes = std::fs::read(&file).expect("read re-encoded file");
        let instance = read_instance(rel, bytes).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert_eq!(instance.transfer_syntax(), "1.2.840.10008.1.2.8.1");
        let n = normalize_all(&instance).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert_eq!(
            sha256_hex(&n.bytes),
            row.get("ref_sha256"),
            "{rel}: deflated frames decode differently from the reference"
        );
        eprintln!(
            "{rel}: {} frame(s), reference sha256 matched",
            instance.frames()
        );
    }

    // Frames that inflate to more than the image holds are refused (inflation stops one byte past).
    for (rel, file) in FILES
        .iter()
        .zip(deflate(&oracle.python, &out, true, &inputs))
    {
        let instance = read_instance(rel, std::fs::read(&file).expect("read")).expect("ingest");
        let e = normalize_all(&instance).expect_err("frames too long");
        assert_eq!(e.code(), ErrorCode::CorruptPixelData, "{rel}: {e}");
    }
    let _ = std::fs::remove_dir_all(&out);
}
