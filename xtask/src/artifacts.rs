//! Builds what www/ serves and the tests drive: the wasm module plus its wasm-bindgen glue in
//! www/pkg/, the native `lucent` CLI, and the demo study in www/demo/. Steps whose outputs are
//! newer than their inputs are skipped, so a second run costs two no-op cargo builds.

use std::path::PathBuf;

use crate::process::{cargo, command, modified, repo_root, run, show, up_to_date, Res};
use crate::setup::{ensure_wasm_bindgen, ensure_wasm_target, WASM_TARGET};

pub struct Built {
    /// Absolute path of target/release/lucent.
    pub lucent: PathBuf,
}

pub fn build_all() -> Res<Built> {
    ensure_wasm_target()?;
    let wasm_bindgen = ensure_wasm_bindgen()?;
    build_wasm(&wasm_bindgen)?;
    let lucent = build_cli()?;
    generate_demo(&lucent)?;
    Ok(Built { lucent })
}

fn build_wasm(wasm_bindgen: &PathBuf) -> Res<()> {
    let root = repo_root();
    run(cargo().args([
        "build",
        "-p",
        "viewer-wasm",
        "--target",
        WASM_TARGET,
        "--release",
    ]))?;
    let module = root.join("target/wasm32-unknown-unknown/release/viewer_wasm.wasm");
    let out_dir = root.join("www/pkg");
    let outputs = [
        out_dir.join("viewer_wasm.js"),
        out_dir.join("viewer_wasm_bg.wasm"),
    ];
    // A new wasm-bindgen binary (version change) regenerates the glue too.
    if outputs
        .iter()
        .all(|out| up_to_date(out, &[&module, wasm_bindgen]))
    {
        eprintln!("xtask: www/pkg is up to date");
        return Ok(());
    }
    run(command(wasm_bindgen)
        .args(["--target", "web", "--out-dir"])
        .arg(&out_dir)
        .arg("--no-typescript")
        .arg(&module))
}

fn build_cli() -> Res<PathBuf> {
    run(cargo().args(["build", "-p", "viewer-cli", "--release"]))?;
    let lucent = repo_root().join("target/release/lucent");
    if lucent.is_file() {
        Ok(lucent)
    } else {
        Err(format!(
            "cargo built viewer-cli but {} is missing",
            show(&lucent)
        ))
    }
}

/// www/demo/ is regenerated when missing or when the CLI changed since the last generation
/// (the stamp lives in target/ so that www/ holds only what is served).
fn generate_demo(lucent: &PathBuf) -> Res<()> {
    let root = repo_root();
    let demo = root.join("www/demo");
    let stamp = root.join("target/xtask/demo.stamp");
    let complete = demo.join("index.json").is_file();
    let fresh = modified(&stamp)
        .zip(modified(lucent))
        .is_some_and(|(stamp_time, cli_time)| cli_time <= stamp_time);
    if complete && fresh {
        eprintln!("xtask: www/demo is up to date");
        return Ok(());
    }
    if demo.exists() {
        std::fs::remove_dir_all(&demo)
            .map_err(|e| format!("could not remove stale {}: {e}", show(&demo)))?;
    }
    run(command(lucent).arg("demo").arg(&demo))?;
    if !demo.join("index.json").is_file() {
        return Err(format!(
            "`lucent demo` succeeded but wrote no {}/index.json",
            show(&demo)
        ));
    }
    write_stamp(&stamp)
}

fn write_stamp(stamp: &std::path::Path) -> Res<()> {
    if let Some(dir) = stamp.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("could not create {}: {e}", show(dir)))?;
    }
    // Recreate rather than rewrite, so the modification time is certainly "now".
    let _ = std::fs::remove_file(stamp);
    std::fs::write(stamp, b"").map_err(|e| format!("could not write {}: {e}", show(stamp)))
}
