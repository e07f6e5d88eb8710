//! `cargo xtask fuzz [parse|decode|all] [seconds]` and the "fuzz (short)" step of `cargo xtask test`: the
//! cargo-fuzz targets of `fuzz/` (laws in `fuzz/src/laws.rs`) on stable Rust.
//!
//! cargo-fuzz's default AddressSanitizer needs nightly; with `-s none` it passes only stable `-C` flags
//! (sancov instrumentation, debug assertions, overflow checks), so the pinned toolchain builds it as is,
//! no `RUSTC_BOOTSTRAP`. The fuzz crate is its own workspace and builds into `fuzz/target` (gitignored),
//! where the seed corpus (a copy of small corpus files, never committed), the working corpus and
//! libFuzzer's artifacts go too. `fuzz/regressions/<target>/` (committed) is read as corpus by every run.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Instant, SystemTime};

use crate::ci::corpus_dir;
use crate::process::{cargo, describe, probe, repo_root, run, show, Res};

/// The fuzz targets (`fuzz/fuzz_targets/<name>.rs`).
pub const TARGETS: &[&str] = &["parse", "decode"];

/// Installed when `cargo fuzz` is missing; checked to build on stable with `-s none`.
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// Seconds per target in `cargo xtask test`.
const CI_SECONDS: u64 = 45;

/// Seconds per target for `cargo xtask fuzz` without a duration.
const DEFAULT_SECONDS: u64 = 60;

/// Seeds: the smallest file of each transfer syntax up to [`MAX_SEED_BYTES`], and the smallest of each
/// (transfer syntax, photometric interpretation, Bits Allocated) up to [`MAX_VARIANT_SEED_BYTES`].
/// Small seeds keep the executions fast (the decode target checks every frame of every input, and a
/// 2000x2000 image costs a second); libFuzzer's maximum input length is the largest seed.
const MAX_SEED_BYTES: u64 = 400_000;
const MAX_VARIANT_SEED_BYTES: u64 = 64_000;

/// Corpus files left out of the seeds under `LUCENT_FUZZ_STRICT_ALLOC=1` (see `copy_seeds`).
const STRICT_SKIP: &[&str] = &["pydicom/src/pydicom/data/test_files/UN_sequence.dcm"];

/// libFuzzer's limits: peak RSS, the malloc limit (the core's 1 GiB decoded-size limit + 64 MiB, as
/// `MAX_ALLOCATION` in fuzz/src/laws.rs; libFuzzer enforces it only under a sanitizer, the fuzz crate's
/// allocator does on stable), and seconds per input (the slowest seed takes about 2 s here).
const LIBFUZZER_LIMITS: &[&str] = &["-rss_limit_mb=2048", "-malloc_limit_mb=1088", "-timeout=20"];

/// `cargo xtask fuzz [target|all] [seconds]`.
pub fn fuzz(args: &[String]) -> Res<()> {
    let mut targets: Vec<&str> = TARGETS.to_vec();
    let mut seconds = DEFAULT_SECONDS;
    for arg in args {
        if let Some(t) = TARGETS.iter().find(|t| **t == arg.as_str()) {
            targets = vec![t];
        } else if arg == "all" {
            targets = TARGETS.to_vec();
        } else if let Ok(s) = arg.parse::<u64>() {
            seconds = s.max(1);
        } else {
            return Err(format!(
                "fuzz: unknown argument `{arg}` (targets: {}, all; or a number of seconds)",
                TARGETS.join(", ")
            ));
        }
    }
    let total = Instant::now();
    let seeds = prepare(false)?;
    for target in targets {
        let corpus = fuzz_dir().join("target/corpus").join(target);
        run_target(target, seconds, &corpus, seeds.as_deref())?;
    }
    eprintln!(
        "xtask fuzz: done in {:.0} s (working corpora kept in fuzz/target/corpus/)",
        total.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The "fuzz (short)" step: install cargo-fuzz if missing, build both targets, run each for
/// [`CI_SECONDS`] from the seeds and the regressions (a fresh working corpus each time, so the step's
/// time does not creep up with a growing corpus).
pub fn ci_step() -> Res<()> {
    let seeds = prepare(is_ci())?;
    for target in TARGETS {
        let corpus = fuzz_dir().join("target/ci-corpus").join(target);
        if corpus.exists() {
            std::fs::remove_dir_all(&corpus)
                .map_err(|e| format!("could not clear {}: {e}", show(&corpus)))?;
        }
        run_target(target, CI_SECONDS, &corpus, seeds.as_deref())?;
    }
    Ok(())
}

/// `CI=true`: a missing corpus is a failure, as in the corpus tests.
fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

fn fuzz_dir() -> PathBuf {
    repo_root().join("fuzz")
}

/// Installs cargo-fuzz if needed, builds both targets, copies the seeds; returns the seed directory
/// (`None` without the corpus, which `require_corpus` makes an error).
fn prepare(require_corpus: bool) -> Res<Option<PathBuf>> {
    ensure_cargo_fuzz()?;
    let start = Instant::now();
    run(cargo_fuzz().args(["build", "-s", "none"]))?;
    eprintln!(
        "xtask fuzz: targets built in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    let corpus = corpus_dir(&repo_root());
    if !corpus.join("EXPECTED.tsv").is_file() {
        if require_corpus {
            return Err(format!(
                "CORPUS NOT FOUND at {} (set LUCENT_CORPUS): the fuzzers have no seeds; CI=true so this is a failure",
                corpus.display()
            ));
        }
        eprintln!(
            "xtask fuzz: warning: no corpus at {} (set LUCENT_CORPUS): fuzzing from the regressions only",
            corpus.display()
        );
        return Ok(None);
    }
    let seeds = fuzz_dir().join("target/seeds");
    copy_seeds(&corpus, &seeds)?;
    Ok(Some(seeds))
}

/// `cargo fuzz --version` works, or `cargo install cargo-fuzz --locked` (about 2 minutes).
fn ensure_cargo_fuzz() -> Res<()> {
    if let Some(v) = probe(cargo().args(["fuzz", "--version"])) {
        eprintln!("xtask: using {}", v.trim());
        return Ok(());
    }
    eprintln!("xtask: installing cargo-fuzz {CARGO_FUZZ_VERSION} (once, about 2 minutes)");
    run(cargo().args([
        "install",
        "cargo-fuzz",
        "--locked",
        "--version",
        CARGO_FUZZ_VERSION,
    ]))?;
    probe(cargo().args(["fuzz", "--version"]))
        .map(|_| ())
        .ok_or_else(|| "installed cargo-fuzz, but `cargo fuzz --version` still fails".to_string())
}

/// `cargo fuzz` on the workspace's toolchain, building into fuzz/target whatever CARGO_TARGET_DIR says.
fn cargo_fuzz() -> Command {
    let mut cmd = cargo();
    cmd.arg("fuzz").env_remove("CARGO_TARGET_DIR");
    cmd
}

/// Copies the seeds (see [`MAX_SEED_BYTES`]; a decodable file beats a smaller one that is not) from
/// EXPECTED.tsv's rows into `seeds` (emptied first).
fn copy_seeds(corpus: &Path, seeds: &Path) -> Res<()> {
    let tsv = std::fs::read_to_string(corpus.join("EXPECTED.tsv"))
        .map_err(|e| format!("could not read EXPECTED.tsv: {e}"))?;
    let mut lines = tsv.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .ok_or_else(|| format!("EXPECTED.tsv has no `{name}` column"))
    };
    let (file, status, ts, ts_name, pi, ba) = (
        col("file")?,
        col("status")?,
        col("ts")?,
        col("ts_name")?,
        col("pi")?,
        col("ba")?,
    );
    // key -> (decoded, size, file)
    type Best = BTreeMap<Vec<String>, (bool, u64, String)>;
    let keep = |best: &mut Best, key: Vec<String>, candidate: (bool, u64, String)| {
        // decodable beats not decodable, then smaller beats larger
        let rank = |c: &(bool, u64, String)| (c.0, std::cmp::Reverse(c.1));
        if best
            .get(&key)
            .is_none_or(|old| rank(&candidate) > rank(old))
        {
            best.insert(key, candidate);
        }
    };
    let (mut per_syntax, mut per_variant) = (Best::new(), Best::new());
    for line in lines {
        let cells: Vec<&str> = line.split('\t').collect();
        let cell = |i: usize| cells.get(i).copied().unwrap_or("");
        let Ok(meta) = std::fs::metadata(corpus.join(cell(file))) else {
            continue;
        };
        // files without meta information have no `ts`, only pydicom's inference in `ts_name`
        let syntax = if cell(ts).is_empty() {
            cell(ts_name)
        } else {
            cell(ts)
        };
        let candidate = (
            cell(status) == "decoded",
            meta.len(),
            cell(file).to_string(),
        );
        if meta.len() <= MAX_SEED_BYTES {
            keep(&mut per_syntax, vec![syntax.into()], candidate.clone());
        }
        if meta.len() <= MAX_VARIANT_SEED_BYTES {
            let key = vec![syntax.into(), cell(pi).into(), cell(ba).into()];
            keep(&mut per_variant, key, candidate);
        }
    }
    // Under LUCENT_FUZZ_STRICT_ALLOC=1 a seed known to break the allocation laws (KNOWN_OVER_BUDGET in
    // tests/tests/fuzz_regressions.rs) would stop the run at once: leave it out.
    let strict = std::env::var_os("LUCENT_FUZZ_STRICT_ALLOC").is_some_and(|v| v == "1");
    let picked: BTreeMap<String, u64> = per_syntax
        .into_values()
        .chain(per_variant.into_values())
        .map(|(_, size, name)| (name, size))
        .filter(|(name, _)| !(strict && STRICT_SKIP.contains(&name.as_str())))
        .collect();
    if seeds.exists() {
        std::fs::remove_dir_all(seeds)
            .map_err(|e| format!("could not clear {}: {e}", show(seeds)))?;
    }
    std::fs::create_dir_all(seeds).map_err(|e| format!("could not create {}: {e}", show(seeds)))?;
    let mut bytes = 0;
    for (name, size) in &picked {
        // flat names: the corpus path with '/' replaced, so a failure names its source
        let to = seeds.join(name.replace('/', "__"));
        std::fs::copy(corpus.join(name), &to)
            .map_err(|e| format!("could not copy {name} into {}: {e}", show(seeds)))?;
        bytes += size;
    }
    eprintln!(
        "xtask fuzz: {} seed files ({:.1} MB) from {} in {}",
        picked.len(),
        bytes as f64 / 1e6,
        corpus.display(),
        show(seeds)
    );
    Ok(())
}

/// What libFuzzer's final report said.
#[derive(Default, Debug)]
struct Stats {
    runs: Option<u64>,
    per_sec: Option<u64>,
    peak_rss_mb: Option<u64>,
    /// Allocations over the limit the fuzz allocator refused (and the code handled).
    refused: u64,
    /// The last status line: `#N DONE cov: .. ft: .. corp: ..`.
    last_status: Option<String>,
}

impl Stats {
    fn read(&mut self, line: &str) {
        let stat = |name: &str| {
            line.strip_prefix(name)
                .and_then(|rest| rest.trim_start_matches(':').trim().parse().ok())
        };
        if let Some(v) = stat("stat::number_of_executed_units") {
            self.runs = Some(v);
        } else if let Some(v) = stat("stat::average_exec_per_sec") {
            self.per_sec = Some(v);
        } else if let Some(v) = stat("stat::peak_rss_mb") {
            self.peak_rss_mb = Some(v);
        } else if line.starts_with("fuzz allocator: refused") {
            self.refused += 1;
        } else if line.starts_with('#') && line.contains(" cov: ") {
            self.last_status = Some(line.to_string());
        }
    }
}

/// Keeps libFuzzer's log to the pulses, the summary and any failure: every new input is a line (`#N NEW`,
/// `REDUCE`, `NEW_FUNC`), and the final "recommended dictionary" dozens more.
#[derive(Default)]
struct LogFilter {
    in_dictionary: bool,
}

impl LogFilter {
    fn shows(&mut self, line: &str) -> bool {
        if line.starts_with("###### Recommended dictionary") {
            self.in_dictionary = true;
        }
        if self.in_dictionary {
            self.in_dictionary = !line.starts_with("###### End of recommended dictionary");
            return false;
        }
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or("");
        let new_input = first.starts_with('#') && matches!(words.next(), Some("NEW" | "REDUCE"));
        !(new_input || first.starts_with("NEW_FUNC["))
    }
}

/// Runs one target for `seconds`; a crash, abort, timeout or out-of-memory fails with the input's path.
fn run_target(target: &str, seconds: u64, corpus: &Path, seeds: Option<&Path>) -> Res<()> {
    let fuzz = fuzz_dir();
    let artifacts = fuzz.join("target/artifacts").join(target);
    for dir in [corpus, artifacts.as_path()] {
        std::fs::create_dir_all(dir).map_err(|e| format!("could not create {}: {e}", show(dir)))?;
    }
    let mut cmd = cargo_fuzz();
    cmd.args(["run", "-s", "none", target]).arg(corpus);
    cmd.args(seeds);
    // every target replays every regression (a parse crash is a decode input too)
    for t in TARGETS {
        let dir = fuzz.join("regressions").join(t);
        if dir.is_dir() {
            cmd.arg(dir);
        }
    }
    cmd.arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .args(LIBFUZZER_LIMITS)
        .arg("-print_final_stats=1")
        .arg(format!("-artifact_prefix={}/", artifacts.display()));
    let line = describe(&cmd);
    eprintln!("$ {line}");
    let started = SystemTime::now();
    let start = Instant::now();
    let mut child = cmd
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start `{line}`: {e}"))?;
    let mut stats = Stats::default();
    if let Some(stderr) = child.stderr.take() {
        let mut out = std::io::stderr().lock();
        let mut filter = LogFilter::default();
        for text in BufReader::new(stderr).lines().map_while(Result::ok) {
            stats.read(&text);
            if filter.shows(&text) {
                let _ = writeln!(out, "{text}");
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("`{line}` could not be waited for: {e}"))?;
    let secs = start.elapsed().as_secs_f64();
    let summary = format!(
        "fuzz {target}: {secs:.0} s, {} runs, {} exec/s, peak RSS {} MB; {}",
        stats.runs.map_or("?".into(), |v| v.to_string()),
        stats.per_sec.map_or("?".into(), |v| v.to_string()),
        stats.peak_rss_mb.map_or("?".into(), |v| v.to_string()),
        stats.last_status.as_deref().unwrap_or("no status line")
    );
    eprintln!("xtask {summary}");
    if stats.refused > 0 {
        // the allocator prints its first 5 refusals per process
        let more = if stats.refused >= 5 { " or more" } else { "" };
        eprintln!(
            "xtask fuzz {target}: note: {}{more} allocation request(s) over the limit were refused and handled \
             (a known one: the corpus's UN_sequence.dcm, see tests/tests/fuzz_regressions.rs); \
             LUCENT_FUZZ_STRICT_ALLOC=1 makes each one a crash libFuzzer keeps",
            stats.refused
        );
    }
    if status.success() {
        return Ok(());
    }
    let found = new_artifacts(&artifacts, started);
    if found.is_empty() {
        return Err(format!("`{line}` failed ({status}) and wrote no artifact"));
    }
    let list: Vec<String> = found.iter().map(|p| show(p)).collect();
    Err(format!(
        "fuzz target `{target}` found a failing input ({status}):\n  {}\n\
         Reproduce: cargo fuzz run -s none {target} {}\n\
         Keep it as a regression: mv {} fuzz/regressions/{target}/<what-it-is>\n\
         (then `cargo test -p lucent-tests --test fuzz_regressions` replays it on stable)",
        list.join("\n  "),
        list[0],
        list[0]
    ))
}

/// Files libFuzzer wrote into `dir` since `since` (crash-, oom-, timeout-, slow-unit-, leak-...).
fn new_artifacts(dir: &Path, since: SystemTime) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t >= since)
        })
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::{LogFilter, Stats};

    #[test]
    fn reads_libfuzzer_final_stats() {
        let mut stats = Stats::default();
        for line in [
            "#2048\tpulse  cov: 10 ft: 12 corp: 3/40b exec/s: 1024 rss: 40Mb",
            "#9000\tDONE   cov: 4321 ft: 9876 corp: 321/1200Kb lim: 4096 exec/s: 200 rss: 300Mb",
            "Done 9000 runs in 46 second(s)",
            "stat::number_of_executed_units: 9000",
            "stat::average_exec_per_sec:     195",
            "stat::new_units_added:          320",
            "stat::peak_rss_mb:              301",
            "fuzz allocator: refused an allocation of 3758161918 bytes, over the limit of 1140850688",
        ] {
            stats.read(line);
        }
        assert_eq!(stats.runs, Some(9000));
        assert_eq!(stats.per_sec, Some(195));
        assert_eq!(stats.peak_rss_mb, Some(301));
        assert_eq!(stats.refused, 1);
        assert!(stats.last_status.unwrap().contains("DONE   cov: 4321"));
    }

    #[test]
    fn log_filter_drops_new_inputs_and_the_dictionary() {
        let mut filter = LogFilter::default();
        let shown: Vec<&str> = [
            "INFO: seed corpus: files: 60",
            "#61\tINITED cov: 1901 ft: 4435 corp: 52/3175Kb exec/s: 0 rss: 39Mb",
            "#63\tNEW    cov: 1908 ft: 4469 corp: 53/3180Kb lim: 393228",
            "\tNEW_FUNC[1/1]: 0x557396d6de71",
            "#70\tREDUCE cov: 1916 ft: 4490",
            "#4096\tpulse  cov: 2000 ft: 5000",
            "###### Recommended dictionary. ######",
            "\"lcd.\" # Uses: 4",
            "###### End of recommended dictionary. ######",
            "Done 37715 runs in 21 second(s)",
        ]
        .into_iter()
        .filter(|l| filter.shows(l))
        .collect();
        assert_eq!(shown.len(), 4, "{shown:?}");
        assert!(shown[1].contains("INITED") && shown[2].contains("pulse"));
        assert!(shown[3].starts_with("Done"));
    }
}
