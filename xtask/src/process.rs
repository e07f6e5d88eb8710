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
