//! Installs the tools the build and tests need, checking first so that a second run costs
//! only a few version probes: the wasm32 target, the wasm-bindgen CLI at the crate's exact
//! version, the npm dev packages, Chromium, and the reference decoder (oracle) the lossy corpus
//! test runs.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::process::{cargo, command, modified, probe, repo_root, run, Res};

pub const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// Debian's Chromium: the browser the e2e tests and benchmarks drive (CI installs it with apt).
pub const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";

pub fn ensure_wasm_target() -> Res<()> {
    match probe(Command::new("rustup").args(["target", "list", "--installed"])) {
        Some(list) if list.lines().any(|l| l.trim() == WASM_TARGET) => Ok(()),
        Some(_) => run(Command::new("rustup").args(["target", "add", WASM_TARGET])),
        // No rustup (a distro toolchain): look in the sysroot instead, since we can't install.
        None => {
            let sysroot = probe(Command::new("rustc").args(["--print", "sysroot"]))
                .ok_or("neither rustup nor rustc could be run: install Rust with rustup")?;
            let lib = Path::new(sysroot.trim())
                .join("lib/rustlib")
                .join(WASM_TARGET);
            if lib.is_dir() {
                Ok(())
            } else {
                Err(format!(
                    "the {WASM_TARGET} target is missing from {} and rustup is not available to add it",
                    sysroot.trim()
                ))
            }
        }
    }
}

/// The exact `wasm-bindgen` crate version the workspace builds with: the one in Cargo.lock
/// when the lock names a single one, else the `=x.y.z` pin in the workspace Cargo.toml.
pub fn wasm_bindgen_version() -> Res<String> {
    let root = repo_root();
    if let Ok(lock) = std::fs::read_to_string(root.join("Cargo.lock")) {
        let versions = lock_versions(&lock, "wasm-bindgen");
        if let [only] = versions.as_slice() {
            return Ok(only.clone());
        }
    }
    let manifest = std::fs::read_to_string(root.join("Cargo.toml"))
        .map_err(|e| format!("could not read Cargo.toml: {e}"))?;
    manifest_pin(&manifest, "wasm-bindgen").ok_or_else(|| {
        "Cargo.toml has no exact `wasm-bindgen = \"=x.y.z\"` pin; the CLI must match the crate exactly"
            .to_string()
    })
}

fn lock_versions(lock: &str, name: &str) -> Vec<String> {
    let wanted = format!("name = \"{name}\"");
    let mut versions = Vec::new();
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == wanted {
            if let Some(v) = lines.next().and_then(|l| quoted_after(l, "version")) {
                versions.push(v);
            }
        }
    }
    versions
}

/// Finds `name = "=1.2.3"` or `name = { version = "=1.2.3", ... }` and returns `1.2.3`
/// only when it is an exact (`=`) pin.
fn manifest_pin(manifest: &str, name: &str) -> Option<String> {
    let line = manifest.lines().find(|l| {
        l.trim_start()
            .strip_prefix(name)
            .is_some_and(|rest| rest.trim_start().starts_with('='))
    })?;
    let value = line.split_once('=')?.1.trim();
    let spec = if value.starts_with('{') {
        quoted_after(value, "version")?
    } else {
        value.split('"').nth(1)?.to_string()
    };
    spec.strip_prefix('=').map(|v| v.trim().to_string())
}

/// The first quoted string after `key` in `text` (`version = "0.2.130"` -> `0.2.130`).
fn quoted_after(text: &str, key: &str) -> Option<String> {
    let rest = &text[text.find(key)? + key.len()..];
    let rest = rest
        .trim_start()
        .strip_prefix('=')?
        .trim_start()
        .strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_string())
}

/// Returns the path of a `wasm-bindgen` binary that prints exactly the crate's version,
/// installing it with `cargo install` (about 3 minutes) only when none does.
pub fn ensure_wasm_bindgen() -> Res<PathBuf> {
    let version = wasm_bindgen_version()?;
    let installed = cargo_bin_dir().join("wasm-bindgen");
    let candidates = [installed.clone(), PathBuf::from("wasm-bindgen")];
    let reports = |bin: &Path| {
        probe(Command::new(bin).arg("--version"))
            .is_some_and(|out| out.split_whitespace().nth(1) == Some(version.as_str()))
    };
    if let Some(bin) = candidates.iter().find(|bin| reports(bin)) {
        eprintln!("xtask: using wasm-bindgen {version} ({})", bin.display());
        return Ok(bin.clone());
    }
    eprintln!(
        "xtask: installing wasm-bindgen-cli {version} (must equal the wasm-bindgen crate; takes a few minutes)"
    );
    // No --locked: the CLI's own lock file names a crate version the registry no longer has.
    run(cargo().args(["install", "wasm-bindgen-cli", "--version", &version]))?;
    if reports(&installed) {
        Ok(installed)
    } else {
        Err(format!(
            "installed wasm-bindgen-cli {version}, but {} --version does not report it",
            installed.display()
        ))
    }
}

fn cargo_bin_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        return PathBuf::from(home).join("bin");
    }
    let home = std::env::var_os("HOME").unwrap_or_default();
    PathBuf::from(home).join(".cargo/bin")
}

/// `npm ci` when node_modules is missing or older than package-lock.json.
pub fn ensure_npm_packages() -> Res<()> {
    let root = repo_root();
    let lock = root.join("package-lock.json");
    // npm rewrites node_modules/.package-lock.json on every install: the install's timestamp.
    let installed = root.join("node_modules/.package-lock.json");
    let lock_time = modified(&lock).ok_or("package-lock.json is missing from the repo root")?;
    if modified(&installed).is_some_and(|t| t >= lock_time) {
        return Ok(());
    }
    run(command(npm()).args(["ci", "--no-audit", "--no-fund"])).map_err(|e| {
        format!("{e}; Node.js >= 20 with npm is needed for the browser tests and benchmarks")
    })
}

fn npm() -> &'static str {
    if cfg!(windows) {
        "npm.cmd"
    } else {
        "npm"
    }
}

pub fn npm_available() -> bool {
    probe(Command::new(npm()).arg("--version")).is_some()
}

/// The Chromium the browser tests drive: `$CHROMIUM` if it names a file, else Debian's
/// /usr/bin/chromium, installed with apt when we are root.
pub fn ensure_chromium() -> Res<PathBuf> {
    if let Some(custom) = std::env::var_os("CHROMIUM").map(PathBuf::from) {
        if custom.is_file() {
            return Ok(custom);
        }
        eprintln!(
            "xtask: CHROMIUM={} is not a file; using {DEFAULT_CHROMIUM}",
            custom.display()
        );
    }
    let chromium = PathBuf::from(DEFAULT_CHROMIUM);
    if !chromium.is_file() {
        apt_install("chromium")?;
    }
    if chromium.is_file() {
        Ok(chromium)
    } else {
        Err(format!(
            "apt-get installed chromium but {DEFAULT_CHROMIUM} is still missing"
        ))
    }
}

/// `zbarimg` (Debian's zbar-tools): the independent QR decoder tests/js/qr.test.mjs checks www/qr.js with.
pub const ZBARIMG: &str = "/usr/bin/zbarimg";

pub fn ensure_zbarimg() -> Res<()> {
    if Path::new(ZBARIMG).is_file() {
        return Ok(());
    }
    apt_install("zbar-tools")?;
    if Path::new(ZBARIMG).is_file() {
        Ok(())
    } else {
        Err(format!(
            "apt-get installed zbar-tools but {ZBARIMG} is still missing"
        ))
    }
}

/// Orthanc, the real PACS tests/js/dicomweb.test.mjs loads studies from over DICOMweb (tests/support/orthanc.mjs
/// starts a private instance; the system service is never used): Debian's orthanc + orthanc-dicomweb.
pub const ORTHANC: &str = "/usr/sbin/Orthanc";
pub const ORTHANC_DICOMWEB_PLUGIN: &str = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so";

pub fn ensure_orthanc() -> Res<()> {
    for (file, package) in [
        (ORTHANC, "orthanc"),
        (ORTHANC_DICOMWEB_PLUGIN, "orthanc-dicomweb"),
    ] {
        if Path::new(file).is_file() {
            continue;
        }
        apt_install(package)?;
        if !Path::new(file).is_file() {
            return Err(format!(
                "apt-get installed {package} but {file} is still missing"
            ));
        }
    }
    Ok(())
}

/// Installs one Debian package (as root; otherwise prints the command and fails).
fn apt_install(package: &str) -> Res<()> {
    if !is_root() {
        println!("sudo apt-get install {package}");
        return Err(format!(
            "the Debian package {package} is missing; install it with the command above"
        ));
    }
    let apt = |args: &[&str]| {
        run(Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive"))
    };
    apt(&["update"])?;
    apt(&["install", "-y", package])
}

/// The reference decoder the lossy corpus test runs (tests/tests/lossy.rs).
pub struct Oracle {
    /// Holds decode_reference.py and setup.sh.
    pub dir: PathBuf,
    /// The Python venv setup.sh makes.
    pub venv: PathBuf,
}

/// Python modules the oracle needs; a venv that cannot import them all is (re)made by setup.sh.
const ORACLE_MODULES: &str = "import numpy, pydicom, pylibjpeg, libjpeg, openjpeg, gdcm";

/// The oracle at `$LUCENT_ORACLE`, else the corpus directory's sibling `oracle`, with its venv at
/// `$ORACLE_VENV` (default /tmp/oracle-venv). Runs its setup.sh (apt-get + pip, about 30 s, needs
/// root) only when the venv's Python is missing or cannot import the decoders. `None` when there is
/// no oracle directory at all (the test then reports that it did not run, or fails when CI=true).
pub fn ensure_oracle(corpus: &Path) -> Res<Option<Oracle>> {
    let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let dir = non_empty("LUCENT_ORACLE").map_or_else(
        || corpus.parent().unwrap_or(corpus).join("oracle"),
        PathBuf::from,
    );
    let venv =
        non_empty("ORACLE_VENV").map_or_else(|| PathBuf::from("/tmp/oracle-venv"), PathBuf::from);
    let setup = dir.join("setup.sh");
    if !setup.is_file() {
        eprintln!(
            "xtask: no oracle at {} (set LUCENT_ORACLE): the lossy comparison will not run",
            dir.display()
        );
        return Ok(None);
    }
    let python = venv.join("bin/python");
    let ready = || probe(Command::new(&python).args(["-c", ORACLE_MODULES])).is_some();
    if ready() {
        return Ok(Some(Oracle { dir, venv }));
    }
    if !is_root() {
        println!(
            "sudo ORACLE_VENV={} bash {}",
            venv.display(),
            setup.display()
        );
        return Err(format!(
            "the oracle venv {} is missing or incomplete; make it with the command above (root: apt-get + pip)",
            venv.display()
        ));
    }
    eprintln!(
        "xtask: installing the reference decoder (oracle) into {} (about 30 s)",
        venv.display()
    );
    // The script's last line (`dcmdump --version | head -1` under pipefail) can die of SIGPIPE (exit 141)
    // after everything is installed: what counts is whether the venv now imports the decoders.
    let ran = run(Command::new("bash").arg(&setup).env("ORACLE_VENV", &venv));
    if ready() {
        if let Err(e) = ran {
            eprintln!("xtask: note: {e}, but the oracle venv is complete; going on");
        }
        Ok(Some(Oracle { dir, venv }))
    } else {
        Err(format!(
            "{} ran ({}) but {} still cannot `{ORACLE_MODULES}`",
            setup.display(),
            ran.err().unwrap_or_else(|| "exit 0".into()),
            python.display()
        ))
    }
}

fn is_root() -> bool {
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        if let Some(uids) = status.lines().find_map(|l| l.strip_prefix("Uid:")) {
            // Real, effective, saved, filesystem: the effective uid is what apt checks.
            return uids.split_whitespace().nth(1) == Some("0");
        }
    }
    probe(Command::new("id").arg("-u")).is_some_and(|out| out.trim() == "0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_exact_pin_from_manifest() {
        let manifest = "[workspace.dependencies]\nwasm-bindgen-futures = \"0.4\"\n\
                        wasm-bindgen = \"=0.2.130\"\njs-sys = \"0.3\"\n";
        assert_eq!(
            manifest_pin(manifest, "wasm-bindgen").as_deref(),
            Some("0.2.130")
        );
        let table = "wasm-bindgen = { version = \"=0.2.99\", default-features = false }\n";
        assert_eq!(
            manifest_pin(table, "wasm-bindgen").as_deref(),
            Some("0.2.99")
        );
        assert_eq!(
            manifest_pin("wasm-bindgen = \"0.2\"\n", "wasm-bindgen"),
            None
        );
    }

    #[test]
    fn reads_versions_from_lock() {
        let lock = "[[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.130\"\n\n\
                    [[package]]\nname = \"wasm-bindgen-shared\"\nversion = \"0.2.130\"\n";
        assert_eq!(lock_versions(lock, "wasm-bindgen"), vec!["0.2.130"]);
        assert!(lock_versions(lock, "js-sys").is_empty());
    }
}
