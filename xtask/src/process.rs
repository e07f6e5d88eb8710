//! Running child processes with readable failure messages, and the few filesystem facts
//! (repo root, modification times) the other modules decide on.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

/// Every failure in xtask is a sentence for a developer; nothing matches on it.
pub type Res<T> = Result<T, String>;

/// The workspace root (the parent of `xtask/`), fixed at compile time so xtask works from any cwd.
pub fn repo_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// The cargo that launched us (`cargo xtask` sets `CARGO`), so nested builds use the same toolchain.
pub fn cargo() -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(program);
    cmd.current_dir(repo_root());
    cmd
}

/// A command run from the repo root.
pub fn command(program: impl AsRef<OsStr>) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(repo_root());
    cmd
}

/// `program arg arg` for messages (the program's file name only, to keep lines short).
pub fn describe(cmd: &Command) -> String {
    let program = Path::new(cmd.get_program())
        .file_name()
        .unwrap_or(cmd.get_program())
        .to_string_lossy()
        .into_owned();
    let mut line = program;
    for arg in cmd.get_args() {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    line
}

/// Runs with inherited stdio; echoes the command first so a log reads like a shell session.
pub fn run(cmd: &mut Command) -> Res<()> {
    let line = describe(cmd);
    eprintln!("$ {line}");
    let status = cmd
        .status()
        .map_err(|e| format!("could not start `{line}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{line}` failed ({status})"))
    }
}

/// Test counts gathered from the runners' own summary lines (cargo test's `test result:` and node's
/// TAP `# pass`/`# fail`/`# skipped`), so `cargo xtask test` can end on one line that counts them all.
#[derive(Default)]
pub struct Tally {
    pub passed: u64,
    pub failed: u64,
    pub skipped: u64,
}

impl Tally {
    fn read(&mut self, line: &str) {
        let number = |text: &str| text.trim().parse::<u64>().ok();
        if let Some(rest) = line.trim().strip_prefix("test result: ") {
            // "ok. 7 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.1s"
            for part in rest.split(';') {
                let part = part
                    .trim()
                    .trim_start_matches("ok. ")
                    .trim_start_matches("FAILED. ");
                if let Some((n, what)) = part.split_once(' ') {
                    match (number(n), what) {
                        (Some(n), "passed") => self.passed += n,
                        (Some(n), "failed") => self.failed += n,
                        (Some(n), "ignored") => self.skipped += n,
                        _ => {}
                    }
                }
            }
        } else if let Some(rest) = line.strip_prefix("# ") {
            match rest.split_once(' ') {
                Some(("pass", n)) => self.passed += number(n).unwrap_or(0),
                Some(("fail", n)) => self.failed += number(n).unwrap_or(0),
                Some(("skipped", n)) => self.skipped += number(n).unwrap_or(0),
                _ => {}
            }
        }
    }
}

/// Like [`run`], but echoes the child's stdout line by line while counting its test results.
pub fn run_counted(cmd: &mut Command, tally: &mut Tally) -> Res<()> {
    use std::io::{BufRead, BufReader, Write};
    let line = describe(cmd);
    eprintln!("$ {line}");
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start `{line}`: {e}"))?;
    if let Some(stdout) = child.stdout.take() {
        let mut out = std::io::stdout().lock();
        for text in BufReader::new(stdout).lines().map_while(Result::ok) {
            tally.read(&text);
            let _ = writeln!(out, "{text}");
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("`{line}` could not be waited for: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{line}` failed ({status})"))
    }
}

/// Runs quietly and returns stdout, or `None` when the program is missing or fails:
/// used for probes such as `wasm-bindgen --version`, where failure just means "install it".
pub fn probe(cmd: &mut Command) -> Option<String> {
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if out.status.success() {
        Some(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        None
    }
}

pub fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// True when `output` exists and is at least as new as every one of `inputs`
/// (a missing input counts as infinitely new, so the output gets rebuilt).
pub fn up_to_date(output: &Path, inputs: &[&Path]) -> bool {
    let Some(out_time) = modified(output) else {
        return false;
    };
    inputs
        .iter()
        .all(|input| modified(input).is_some_and(|t| t <= out_time))
}

/// `path` relative to the repo root when it is inside it (for messages).
pub fn show(path: &Path) -> String {
    let root = repo_root();
    path.strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::Tally;

    #[test]
    fn tally_reads_cargo_and_node_summaries() {
        let mut tally = Tally::default();
        for line in [
            "test result: ok. 46 passed; 0 failed; 2 ignored; 0 measured; 0 filtered out; finished in 0.46s",
            "test result: FAILED. 3 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out",
            "# pass 5",
            "# fail 1",
            "# skipped 1",
            "# tests 7",
            "ok 1 - passed is not a count",
        ] {
            tally.read(line);
        }
        assert_eq!((tally.passed, tally.failed, tally.skipped), (54, 2, 3));
    }
}
