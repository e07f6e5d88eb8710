//! `cargo xtask bench [NAME]`: benchmarks, each a node script in tests/bench/.
//! `load` drives Chromium through playwright-core against the real page served from www/;
//! `decode` times the wasm in www/pkg/ against Cornerstone's codecs on the WG04 corpus, in Node.

use crate::artifacts::build_all;
use crate::ci::corpus_dir;
use crate::process::{command, repo_root, run, show, Res};
use crate::server::serve;
use crate::setup::{ensure_chromium, ensure_npm_packages};

pub const BENCHES: [&str; 2] = ["load", "decode"];

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
    // Only the browser bench needs Chromium.
    let chromium = if selected.contains(&"load") {
        Some(ensure_chromium()?)
    } else {
        None
    };
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
                    .env("CHROMIUM", chromium.as_ref().ok_or("no Chromium")?))?;
            }
            "decode" => {
                let corpus = corpus_dir(&root);
                run(command("node")
                    .arg("tests/bench/decode.mjs")
                    .env("LUCENT_CORPUS", &corpus)
                    .env("BENCH_RESULT", root.join("target/bench/decode.json")))?;
            }
            _ => unreachable!("checked against BENCHES above"),
        }
    }
    Ok(())
}
