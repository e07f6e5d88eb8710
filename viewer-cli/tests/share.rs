//! `lucent share create|open|inspect` end to end on files the command itself wrote (the demo phantom's DICOM),
//! so it runs without the corpus: byte-identical round trips, the spec's error codes on the command line,
//! expiry by the clock, and no overwriting.

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

/// Runs a command that must fail; returns its stderr.
fn fails(args: &[&str]) -> String {
    let out = lucent(args);
    assert!(!out.status.success(), "lucent {args:?} succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lucent-share-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A small study to share: the demo phantom (8 slices) plus a file in a subfolder.
fn study(dir: &Path) -> PathBuf {
    let study = dir.join("Study 1");
    ok(&["demo", s(&study), "--size", "48", "--slices", "8"]);
    std::fs::create_dir_all(study.join("notes")).unwrap();
    std::fs::write(study.join("notes/readme.txt"), "Röntgen: none").unwrap();
    study
}

fn all_files(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(p) = pending.pop() {
        if p.is_dir() {
            pending.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else {
            out.push((
                p.strip_prefix(root).unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            ));
        }
    }
    out.sort();
    out
}

#[test]
fn a_folder_round_trips_byte_for_byte_with_and_without_a_pin() {
    let dir = temp_dir("round");
    let study = study(&dir);
    let originals = all_files(&study);
    assert!(originals.len() >= 9);
    // The words the next check looks for are in the plaintext, so their absence from the bundle means something.
    let plain: Vec<u8> = originals.iter().flat_map(|(_, b)| b.clone()).collect();
    assert!(String::from_utf8_lossy(&plain).contains("LUCENT^DEMO"));
    for (name, pin) in [("plain", None), ("pin", Some("7391-ab"))] {
        let bundle = dir.join(format!("{name}.lucent"));
        let mut args = vec![
            "share",
            "create",
            s(&study),
            "--base",
            "https://viewer.example/app/",
            "--out",
            s(&bundle),
            "--chunk-size",
            "65536",
        ];
        if let Some(pin) = pin {
            args.extend(["--pin", pin]);
        }
        let stdout = ok(&args);
        let link = stdout.trim().lines().last().unwrap();
        let prefix = format!("https://viewer.example/app/share.html#shares/{name}.lucent.");
        assert!(link.starts_with(&prefix), "{link}");
        assert_eq!(link.len(), prefix.len() + 43);
        assert!(!dir.join(format!("{name}.lucent.partial")).exists());

        // The public header names no file and no patient.
        let bytes = std::fs::read(&bundle).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for secret_word in [
            "readme",
            "notes",
            "Study 1",
            "LUCENT^DEMO",
            "LUCENT-DEMO-0001",
            "phantom",
        ] {
            assert!(
                !text.contains(secret_word),
                "{secret_word} is readable in the bundle"
            );
        }
        let header: serde_json::Value =
            serde_json::from_str(&ok(&["share", "inspect", s(&bundle), "--json"])).unwrap();
        assert_eq!(header["summary"]["files"], originals.len());
        assert_eq!(header["pin"].is_null(), pin.is_none());
        assert!(header["expires"].is_string(), "seven days by default");

        let out = dir.join(format!("{name}-out"));
        let mut open = vec![
            "share",
            "open",
            s(&bundle),
            "--key",
            link,
            "--out",
            s(&out),
            "--json",
        ];
        if let Some(pin) = pin {
            open.extend(["--pin", pin]);
        }
        let summary: serde_json::Value = serde_json::from_str(&ok(&open)).unwrap();
        assert_eq!(summary["files"], originals.len());
        assert_eq!(summary["pin"], pin.is_some());
        // The folder keeps its own name inside the bundle.
        assert_eq!(all_files(&out.join("Study 1")), originals);
        // Opened again into the same folder: refused, nothing overwritten.
        assert!(fails(&open).contains("already exists"));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_command_line_reports_the_spec_error_codes() {
    let dir = temp_dir("errors");
    let study = study(&dir);
    let bundle = dir.join("b.lucent");
    let link = ok(&[
        "share",
        "create",
        s(&study),
        "--base",
        "http://h/",
        "--pin",
        "2468",
        "--out",
        s(&bundle),
    ]);
    let link = link.trim().lines().last().unwrap().to_string();
    let out = s(&dir.join("out")).to_string();
    let open = |key: &str, pin: Option<&str>, file: &Path| {
        let mut args = vec!["share", "open", s(file), "--key", key, "--out", &out];
        if let Some(pin) = pin {
            args.extend(["--pin", pin]);
        }
        fails(&args)
    };
    assert!(open(&link, Some("1357"), &bundle).contains("wrong-pin"));
    assert!(open(&link, None, &bundle).contains("pin-required"));
    let other = format!("{}{}", &link[..link.len() - 43], "A".repeat(43));
    assert!(open(&other, Some("2468"), &bundle).contains("wrong-key"));
    assert!(open(&link[..link.len() - 2], Some("2468"), &bundle).contains("wrong-key"));
    let mut bytes = std::fs::read(&bundle).unwrap();
    let n = bytes.len();
    bytes[n - 100] ^= 4;
    let flipped = dir.join("flipped.lucent");
    std::fs::write(&flipped, &bytes).unwrap();
    assert!(open(&link, Some("2468"), &flipped).contains("damaged"));
    std::fs::write(&flipped, &bytes[..n - 10]).unwrap();
    assert!(open(&link, Some("2468"), &flipped).contains("damaged"));
    std::fs::write(&flipped, b"<html>not found</html>").unwrap();
    let e = open(&link, Some("2468"), &flipped);
    assert!(
        e.contains("flipped.lucent") && e.contains("not-a-bundle"),
        "{e}"
    );
    assert!(!dir.join("out").exists(), "a failed open writes nothing");

    // Bad writer input.
    let bad = dir.join("bad.lucent");
    assert!(fails(&[
        "share",
        "create",
        s(&study),
        "--base",
        "http://h/",
        "--pin",
        "12 4",
        "--out",
        s(&bad)
    ])
    .contains("bad-pin"));
    assert!(fails(&[
        "share",
        "create",
        s(&study),
        "--base",
        "http://h/",
        "--expires",
        "soon",
        "--out",
        s(&bad)
    ])
    .contains("--expires"));
    assert!(fails(&[
        "share",
        "create",
        s(&study),
        "--base",
        "http://h/",
        "--out",
        s(&bundle)
    ])
    .contains("already exists"));
    assert!(!bad.exists() && !dir.join("bad.lucent.partial").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn expiry_is_enforced_by_the_clock() {
    let dir = temp_dir("expiry");
    let study = study(&dir);
    // Expired a minute after 2020 began: long past.
    let past = dir.join("past.lucent");
    let link = ok(&[
        "share",
        "create",
        s(&study),
        "--base",
        "http://h/",
        "--expires",
        "2020-01-01T00:01:00Z",
        "--out",
        s(&past),
    ]);
    let link = link.trim().lines().last().unwrap();
    let e = fails(&[
        "share",
        "open",
        s(&past),
        "--key",
        link,
        "--out",
        s(&dir.join("o")),
    ]);
    assert!(
        e.contains("expired") && e.contains("2020-01-01 00:01:00 UTC"),
        "{e}"
    );
    // `never`: no expiry in the header, and it opens.
    let never = dir.join("never.lucent");
    let link = ok(&[
        "share",
        "create",
        s(&study),
        "--base",
        "http://h/",
        "--expires",
        "never",
        "--out",
        s(&never),
    ]);
    let header: serde_json::Value =
        serde_json::from_str(&ok(&["share", "inspect", s(&never), "--json"])).unwrap();
    assert!(header["expires"].is_null());
    ok(&[
        "share",
        "open",
        s(&never),
        "--key",
        link.trim().lines().last().unwrap(),
        "--out",
        s(&dir.join("o")),
    ]);
    std::fs::remove_dir_all(&dir).unwrap();
}
