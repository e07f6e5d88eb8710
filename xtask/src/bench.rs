//! `cargo xtask bench [NAME]`: browser benchmarks against the real page served from www/.
//! Each bench is a node script in tests/bench/ that drives Chromium through playwright-core.

use crate::artifacts::build_all;
use crate::process::{command, repo_root, run, show, Res};
use crate::server::serve;
use crate::setup::{ensure_chromium, ensure_npm_packages};

pub const BENCHES: [&str; 1] = ["load"];

pub fn bench(names: &[String]) -> Res<()> {
    let selected: Vec<&str> = if names.is_empty() {
        BENCHES.to_vec()
    } else {
        names.iter().map(String::as_str).collect()
    };
    if let Some(unknown) = selected.iter().find(|n| !BENCHES.contains(n)) {
        return Err(format!(
            "unknown bench `{unknown}`; available: {}",
            BENCHES.join(", ")
        ));
    }
    let chromium = ensure_chromium()?;
    ensure_npm_packages()?;
    let built = build_all()?;
    let root = repo_root();
    for name in selected {
        match name {
            "load" => {
                // 500 slices of 512x512 16-bit: about 250 MiB of uncompressed DICOM.
                let dir = root.join("target/bench/load500");
                if !dir.join("index.json").is_file() {
                    if dir.exists() {
                        std::fs::remove_dir_all(&dir)
                            .map_err(|e| format!("could not remove partial {}: {e}", show(&dir)))?;
                    }
                    run(command(&built.lucent)
                        .arg("demo")
                        .arg(&dir)
                        .args(["--size", "512", "--slices", "500"]))?;
                }
                let server = serve(&root.join("www"), "127.0.0.1:0")
                    .map_err(|e| format!("could not serve www/: {e}"))?;
                run(command("node")
                    .arg("tests/bench/load.mjs")
                    .env("LUCENT_BASE_URL", server.url())
                    .env("BENCH_DIR", &dir)
                    .env("BENCH_RESULT", root.join("target/bench/load.json"))
                    .env("CHROMIUM", &chromium))?;
            }
            _ => unreachable!("checked against BENCHES above"),
        }
    }
    Ok(())
}
