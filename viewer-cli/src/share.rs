//! `lucent share create|open|inspect`: encrypted share bundles (docs/share-bundle.md) natively, on the same
//! core the format's vectors check. The clock and the random bytes come from here (the OS), never from the
//! core.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use viewer_core::share::{
    self, b64url_encode, decode_secret, make_link, parse_time, secret_of, BundleReader, OpenLimits,
    SealOptions, SealSource, ShareError, DEFAULT_CHUNK, PIN_ITERATIONS,
};

use crate::{files_under, Args, USAGE};

pub fn share_cmd(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("create") => create(&args[1..]),
        Some("open") => open(&args[1..]),
        Some("inspect") => inspect(&args[1..]),
        _ => Err(format!("share needs create, open or inspect\n\n{USAGE}")),
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn random<const N: usize>() -> Result<[u8; N], String> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).map_err(|e| format!("the OS random generator failed: {e}"))?;
    Ok(bytes)
}

/// A file on disk under its path inside the bundle.
struct DiskFile {
    disk: PathBuf,
    path: String,
}

impl SealSource for DiskFile {
    fn path(&self) -> &str {
        &self.path
    }

    fn open(&self) -> std::io::Result<Box<dyn Read + '_>> {
        Ok(Box::new(BufReader::new(File::open(&self.disk)?)))
    }
}

/// A folder's files keep the folder's own name (`GE/IM1`), as a browser's folder input names them; a file
/// is its file name.
fn bundle_files(roots: &[String]) -> Result<Vec<DiskFile>, String> {
    let mut out = Vec::new();
    for root in roots {
        let root = Path::new(root);
        let base = root.parent().unwrap_or(Path::new(""));
        for disk in files_under(root)? {
            let rel = disk.strip_prefix(base).unwrap_or(&disk);
            let parts: Option<Vec<&str>> = rel
                .components()
                .filter(|c| !matches!(c, std::path::Component::CurDir))
                .map(|c| c.as_os_str().to_str())
                .collect();
            let path = parts
                .map(|p| p.join("/"))
                .ok_or_else(|| format!("{}: the file name is not UTF-8", disk.display()))?;
            out.push(DiskFile { disk, path });
        }
    }
    Ok(out)
}

/// `7d`, `24h`, `never`, or a time `YYYY-MM-DDTHH:MM:SSZ`.
fn parse_expiry(text: &str, now: i64) -> Result<Option<i64>, String> {
    let bad = || format!("--expires: '{text}' is not 7d, 24h, never or YYYY-MM-DDTHH:MM:SSZ");
    if text == "never" {
        return Ok(None);
    }
    if let Some(t) = parse_time(text) {
        return Ok(Some(t));
    }
    let (n, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = n.parse().map_err(|_| bad())?;
    let secs = match unit {
        "d" => 86_400,
        "h" => 3600,
        _ => return Err(bad()),
    };
    if n <= 0 || n > 3650 * 24 {
        return Err(bad());
    }
    Ok(Some(now + n * secs))
}

fn create(args: &[String]) -> Result<(), String> {
    let args = Args::parse(
        args,
        &[],
        &[
            "--base",
            "--location",
            "--pin",
            "--expires",
            "--chunk-size",
            "--out",
        ],
    )?;
    if args.positional.is_empty() {
        return Err(format!(
            "share create needs the files or folders to share\n\n{USAGE}"
        ));
    }
    let out = PathBuf::from(args.value("--out").ok_or("share create needs --out FILE")?);
    let base = args
        .value("--base")
        .ok_or("share create needs --base URL (where share.html is served)")?;
    let name = out
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or("--out needs a file name")?;
    let location = args
        .value("--location")
        .map_or_else(|| format!("shares/{name}"), str::to_string);
    let created = now();
    let expires = parse_expiry(args.value("--expires").unwrap_or("7d"), created)?;
    let files = bundle_files(&args.positional)?;
    if out.exists() {
        return Err(format!(
            "{}: already exists; not overwriting it",
            out.display()
        ));
    }
    let options = SealOptions {
        secret: random()?,
        pin: args.value("--pin"),
        content_key: random()?,
        salt: random()?,
        iterations: PIN_ITERATIONS,
        chunk_size: args.number("--chunk-size")?.unwrap_or(DEFAULT_CHUNK),
        created,
        expires,
    };
    let partial = out.with_file_name(format!("{name}.partial"));
    let fail = |e: ShareError| {
        let _ = std::fs::remove_file(&partial);
        format!("{}: {e}", out.display())
    };
    let file = File::create(&partial).map_err(|e| format!("{}: {e}", partial.display()))?;
    let mut writer = BufWriter::with_capacity(1 << 20, file);
    let header = share::seal(&files, &options, &mut writer, &mut |_, _| {}).map_err(fail)?;
    drop(writer);
    std::fs::rename(&partial, &out).map_err(|e| format!("{}: {e}", out.display()))?;
    let size = std::fs::metadata(&out).map_or(0, |m| m.len());
    println!(
        "{}: {} files, {:.1} MB, {} MB bundle, {}, {}",
        out.display(),
        header.summary.files,
        header.summary.bytes as f64 / 1e6,
        size / 1_000_000,
        if header.pin.is_some() {
            "PIN"
        } else {
            "no PIN"
        },
        header
            .expires
            .as_deref()
            .map_or("no expiry".to_string(), |t| format!("expires {t}"))
    );
    println!("serve it at {location} (relative to share.html); the link (its key is after the last '.'):");
    println!(
        "{}",
        make_link(base, &location, &b64url_encode(&options.secret))
    );
    Ok(())
}

fn open(args: &[String]) -> Result<(), String> {
    let args = Args::parse(args, &["--json"], &["--key", "--pin", "--out"])?;
    let path = args.one_path("bundle file")?;
    let key = args
        .value("--key")
        .ok_or("share open needs --key KEY_OR_LINK")?;
    let out = PathBuf::from(args.value("--out").ok_or("share open needs --out DIR")?);
    let fail = |e: ShareError| format!("{}: {e}", path.display());
    let file = File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let limits = OpenLimits {
        size: file.metadata().ok().map(|m| m.len()),
        ..OpenLimits::at(now())
    };
    let secret = decode_secret(secret_of(key)).map_or_else(Vec::new, |s| s.to_vec());
    let mut reader = BundleReader::open(BufReader::with_capacity(1 << 20, file), &secret, &limits)
        .map_err(fail)?;
    let header = reader.header().clone();
    reader.unlock(args.value("--pin")).map_err(fail)?;
    let files = reader.read_all(&mut |_, _| {}).map_err(fail)?;
    // Every chunk verified: now write, refusing to overwrite anything. valid_path (checked by the reader)
    // keeps every target under `out`.
    for f in &files {
        let target = out.join(&f.path);
        if target.exists() {
            return Err(format!(
                "{}: already exists; not overwriting it",
                target.display()
            ));
        }
    }
    for f in &files {
        let target = out.join(&f.path);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::write(&target, &f.bytes).map_err(|e| format!("{}: {e}", target.display()))?;
    }
    let summary = serde_json::json!({
        "files": files.len(),
        "bytes": header.summary.bytes,
        "created": header.created,
        "expires": header.expires,
        "pin": header.pin.is_some(),
        "out": out.display().to_string(),
    });
    if args.flag("--json") {
        println!("{summary}");
    } else {
        println!(
            "{}: {} files ({:.1} MB) verified and written to {}",
            path.display(),
            files.len(),
            header.summary.bytes as f64 / 1e6,
            out.display()
        );
    }
    Ok(())
}

fn inspect(args: &[String]) -> Result<(), String> {
    let args = Args::parse(args, &["--json"], &[])?;
    let path = args.one_path("bundle file")?;
    let file = File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let header = share::read::read_public_header(&mut BufReader::new(file))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if args.flag("--json") {
        println!(
            "{}",
            serde_json::to_string(&header).expect("a header serialises")
        );
    } else {
        println!(
            "{}: Lucent share bundle v{} ({}), {} files, {} bytes, created {}, {}, {}",
            path.display(),
            header.version,
            header.cipher,
            header.summary.files,
            header.summary.bytes,
            header.created,
            header
                .expires
                .as_deref()
                .map_or("no expiry".into(), |t| format!("expires {t}")),
            if header.pin.is_some() {
                "PIN"
            } else {
                "no PIN"
            },
        );
        println!(
            "(the public header only: it is authenticated when the bundle is opened with its key)"
        );
    }
    Ok(())
}
