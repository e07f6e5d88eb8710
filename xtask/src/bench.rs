//! `cargo xtask bench [NAME]`: benchmarks, each a node script in tests/bench/.
//! `load` drives Chromium through playwright-core against the real page served from www/;
//! `decode` times the wasm in www/pkg/ against Cornerstone's codecs on the WG04 corpus, in Node.
//! `mpr` runs the native criterion bench of the reslicer, then times volume build and reslicing in Chromium.
//! `pano` times a 1024x512 panoramic with a 10 mm slab and a strip of 20 cross-sections from a 512^3 volume
//! in Chromium.
//! `share` times encrypting and decrypting a ~300 MB share bundle natively and in Chromium, with peak memory.

use crate::artifacts::build_all;
use crate::ci::corpus_dir;
use crate::process::{command, repo_root, run, show, Res};
use crate::server::serve;
use crate::setup::{ensure_chromium, ensure_npm_packages};

pub const BENCHES: [&str; 5] = ["load", "decode", "mpr", "pano", "share"];

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
    let chromium = if selected
        .iter()
        .any(|n| ["load", "mpr", "pano", "share"].contains(n))
    {
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
                let dir = demo_series(&built.lucent, "load500", 512, 500)?;
                let server = serve(&root.join("www"), "127.0.0.1:0", Default::default())
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
            "mpr" => {
                run(command("cargo").args([
                    "bench",
                    "-p",
                    "viewer-core",
                    "--bench",
                    "mpr",
                    "--",
                    "--warm-up-time",
                    "1",
                    "--measurement-time",
                    "3",
                ]))?;
                // 512 slices of 512x512 signed 16-bit: a 256 MiB volume.
                let dir = demo_series(&built.lucent, "mpr512", 512, 512)?;
                let server = serve(&root.join("www"), "127.0.0.1:0", Default::default())
                    .map_err(|e| format!("could not serve www/: {e}"))?;
                run(command("node")
                    .arg("tests/bench/mpr.mjs")
                    .env("LUCENT_BASE_URL", server.url())
                    .env("BENCH_DIR", &dir)
                    .env("BENCH_RESULT", root.join("target/bench/mpr.json"))
                    .env("CHROMIUM", chromium.as_ref().ok_or("no Chromium")?))?;
            }
            "pano" => {
                // the same 512^3 phantom as `mpr` (0.3125 mm voxels)
                let dir = demo_series(&built.lucent, "mpr512", 512, 512)?;
                let server = serve(&root.join("www"), "127.0.0.1:0", Default::default())
                    .map_err(|e| format!("could not serve www/: {e}"))?;
                run(command("node")
                    .arg("tests/bench/pano.mjs")
                    .env("LUCENT_BASE_URL", server.url())
                    .env("BENCH_DIR", &dir)
                    .env("BENCH_RESULT", root.join("target/bench/pano.json"))
                    .env("CHROMIUM", chromium.as_ref().ok_or("no Chromium")?))?;
            }
            "share" => {
                // 600 slices of 512x512 16-bit: about 315 MB of DICOM, the size of a dental CBCT.
                let dir = demo_series(&built.lucent, "share600", 512, 600)?;
                let server = serve(&root.join("www"), "127.0.0.1:0", Default::default())
                    .map_err(|e| format!("could not serve www/: {e}"))?;
                run(command("node")
                    .arg("tests/bench/share.mjs")
                    .env("LUCENT_BASE_URL", server.url())
                    .env("LUCENT_CLI", &built.lucent)
                    .env("BENCH_DIR", &dir)
                    .env("BENCH_RESULT", root.join("target/bench/share.json"))
                    .env("CHROMIUM", chromium.as_ref().ok_or("no Chromium")?))?;
            }
            _ => unreachable!("checked against BENCHES above"),
        }
    }
    Ok(())
}

/// The demo phantom written as `slices` uncompressed files of `size`x`size` into target/bench/NAME (once).
fn demo_series(
    lucent: &std::path::Path,
    name: &str,
    size: u32,
    slices: u32,
) -> Res<std::path::PathBuf> {
    let dir = repo_root().join("target/bench").join(name);
    if !dir.join("index.json").is_file() {
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .map_err(|e| format!("could not remove partial {}: {e}", show(&dir)))?;
        }
        run(command(lucent).arg("demo").arg(&dir).args([
            "--size",
            &size.to_string(),
            "--slices",
            &slices.to_string(),
        ]))?;
    }
    Ok(dir)
}
