//! `cargo xtask test`: everything CI checks, in order, stopping at the first failure with the
//! name of the step that failed. `.ci/run` is just this command.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::artifacts::build_all;
use crate::process::{cargo, command, repo_root, run, run_counted, show, Res, Tally};
use crate::server::serve;
use crate::setup::{
    ensure_chromium, ensure_npm_packages, ensure_oracle, ensure_orthanc, ensure_wasm_target,
    ensure_zbarimg, WASM_TARGET,
};

const STEPS: usize = 8;

/// Runs steps in order, printing a header before and a timing after each.
struct Steps {
    number: usize,
    passed: Vec<String>,
    started: Instant,
}

impl Steps {
    fn step<T>(&mut self, name: &str, body: impl FnOnce() -> Res<T>) -> Res<T> {
        self.number += 1;
        eprintln!("\n==> [{}/{STEPS}] {name}", self.number);
        let start = Instant::now();
        match body() {
            Ok(value) => {
                let secs = start.elapsed().as_secs_f64();
                eprintln!("<== {name}: ok ({secs:.1} s)");
                self.passed.push(format!("{name} {secs:.1}s"));
                Ok(value)
            }
            Err(error) => {
                let message = format!(
                    "step {}/{STEPS} `{name}` failed: {error}\n\
                     xtask test: FAILED at `{name}` after {} step(s) passed",
                    self.number,
                    self.passed.len()
                );
                Err(message)
            }
        }
    }
}

pub fn test() -> Res<()> {
    let root = repo_root();
    let mut steps = Steps {
        number: 0,
        passed: Vec::new(),
        started: Instant::now(),
    };

    steps.step("rustfmt", || run(cargo().args(["fmt", "--all", "--check"])))?;
    steps.step("clippy", || {
        run(cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    steps.step("clippy wasm32", || {
        ensure_wasm_target()?;
        run(cargo().args([
            "clippy",
            "-p",
            "viewer-core",
            "-p",
            "viewer-wasm",
            "--target",
            WASM_TARGET,
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    let mut tally = Tally::default();
    steps.step("cargo test", || {
        let mut cmd = cargo();
        cmd.args(["test", "--workspace"]);
        // the lossy corpus test runs the reference decoder; install it first when missing
        if let Some(oracle) = ensure_oracle(&corpus_dir(&root))? {
            cmd.env("LUCENT_ORACLE", &oracle.dir)
                .env("ORACLE_VENV", &oracle.venv);
        }
        run_counted(&mut cmd, &mut tally)
    })?;
    // cargo-fuzz targets (fuzz/, stable, no sanitizer): build, then 45 s per target; a crash fails the step
    // and names the input to move into fuzz/regressions/.
    steps.step("fuzz (short)", crate::fuzz::ci_step)?;
    let built = steps.step("build wasm + CLI + demo", build_all)?;

    // Node tests: the wasm build against native (tests/wasm) and the JS shell's own modules (tests/js: share
    // bundles against the spec's vectors, the QR encoder against zbarimg).
    steps.step("node tests (wasm, js)", || {
        ensure_zbarimg()?;
        ensure_orthanc()?;
        run_counted(
            command("node")
                .arg("--test")
                .arg(dir_arg(&root.join("tests/wasm")))
                .arg(dir_arg(&root.join("tests/js"))),
            &mut tally,
        )
    })?;

    steps.step("browser e2e", || e2e(&root, &built.lucent, &mut tally))?;

    let total = steps.started.elapsed().as_secs_f64();
    eprintln!();
    println!(
        "xtask test: OK, {} of {STEPS} steps passed in {total:.0} s [{}]",
        steps.passed.len(),
        steps.passed.join(", ")
    );
    // Last, alone on its line: every test the runners counted.
    println!(
        "tests: {} passed, {} failed, {} skipped",
        tally.passed, tally.failed, tally.skipped
    );
    Ok(())
}

fn e2e(root: &Path, lucent: &Path, tally: &mut Tally) -> Res<()> {
    let tests = root.join("tests/e2e");
    if !tests.is_dir() {
        return Err(format!("{} does not exist", show(&tests)));
    }
    let chromium = ensure_chromium()?;
    ensure_npm_packages()?;
    let artifacts = root.join("target/e2e-artifacts");
    std::fs::create_dir_all(&artifacts)
        .map_err(|e| format!("could not create {}: {e}", show(&artifacts)))?;
    // The embedding tests serve an example portal on another origin, which may frame embed.html; the DICOMweb
    // test puts its PACS (Orthanc behind a CORS proxy) on another, which the pages may fetch from.
    let portal_port = free_port()?;
    let pacs_port = free_port()?;
    let options = crate::server::Options {
        log: false,
        embed_origins: vec![format!("http://127.0.0.1:{portal_port}")],
        connect_origins: vec![format!("http://127.0.0.1:{pacs_port}")],
    };
    let server = serve(&root.join("www"), "127.0.0.1:0", options)
        .map_err(|e| format!("could not serve www/: {e}"))?;
    eprintln!("xtask: serving www/ at {}", server.url());
    run_counted(
        command("node")
            .args(["--test", "--test-concurrency=1"])
            .arg(dir_arg(&tests))
            .env("LUCENT_BASE_URL", server.url())
            .env("LUCENT_PORTAL_PORT", portal_port.to_string())
            .env("LUCENT_PACS_PORT", pacs_port.to_string())
            .env("LUCENT_CLI", lucent)
            .env("LUCENT_CORPUS", corpus_dir(root))
            .env("CHROMIUM", chromium)
            .env("LUCENT_ARTIFACTS", &artifacts),
        tally,
    )
}

/// A loopback port nobody listens on right now (the OS picks it; the socket closes at once).
fn free_port() -> Res<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("could not find a free port: {e}"))
}

/// `$LUCENT_CORPUS`, else `<repo>/../shared/corpus` (absolute either way).
pub fn corpus_dir(root: &Path) -> PathBuf {
    match std::env::var_os("LUCENT_CORPUS") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            std::path::absolute(&dir).unwrap_or(dir)
        }
        _ => root.parent().unwrap_or(root).join("shared/corpus"),
    }
}

/// node --test wants `tests/e2e/` relative to the cwd (the repo root).
fn dir_arg(dir: &Path) -> String {
    format!("{}/", show(dir))
}
