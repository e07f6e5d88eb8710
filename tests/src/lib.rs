//! Helpers for Lucent's cross-crate tests: locating the shared DICOM corpus and the reference
//! decoder (oracle), the transfer syntaxes in scope, and a small `.npy` reader.

use std::path::{Path, PathBuf};

/// Where the corpus is looked for: `$LUCENT_CORPUS`, else `<workspace>/../shared/corpus`.
pub fn corpus_candidate() -> PathBuf {
    if let Some(p) = std::env::var_os("LUCENT_CORPUS") {
        return PathBuf::from(p);
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workspace = manifest.parent().unwrap_or(manifest);
    workspace.join("..").join("shared").join("corpus")
}

/// The corpus directory if it exists (it must contain `EXPECTED.tsv`).
///
/// When it is missing: panics if `CI=true` (a missing corpus is a failure in CI),
/// otherwise prints a loud warning and returns `None` (the caller returns early).
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = corpus_candidate();
    if dir.join("EXPECTED.tsv").is_file() {
        return Some(dir);
    }
    if is_ci() {
        panic!(
            "CORPUS NOT FOUND at {} (set LUCENT_CORPUS); CI=true so this is a failure",
            dir.display()
        );
    }
    eprintln!();
    eprintln!("************************************************************");
    eprintln!("CORPUS NOT FOUND: corpus tests did NOT run");
    eprintln!("looked at {} (set LUCENT_CORPUS)", dir.display());
    eprintln!("************************************************************");
    eprintln!();
    None
}

/// `CI=true`: missing test inputs are failures, not warnings.
pub fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Transfer syntaxes Lucent decodes (the corpus tests compare every decoded row of these).
pub const IN_SCOPE: &[&str] = &[
    "1.2.840.10008.1.2",
    "1.2.840.10008.1.2.1",
    "1.2.840.10008.1.2.2",
    "1.2.840.10008.1.2.1.99",
    "1.2.840.10008.1.2.5",
    "1.2.840.10008.1.2.4.50",
    "1.2.840.10008.1.2.4.51",
    "1.2.840.10008.1.2.4.57",
    "1.2.840.10008.1.2.4.70",
    "1.2.840.10008.1.2.4.80",
    "1.2.840.10008.1.2.4.81",
    "1.2.840.10008.1.2.4.90",
    "1.2.840.10008.1.2.4.91",
    "1.2.840.10008.1.2.4.201",
    "1.2.840.10008.1.2.4.202",
    "1.2.840.10008.1.2.4.203",
];

/// In-scope transfer syntax of a row, resolving pydicom's inference for files without meta.
pub fn row_ts(row: &ExpectedRow) -> Option<&'static str> {
    let ts = row.get("ts");
    if let Some(t) = IN_SCOPE.iter().find(|t| **t == ts) {
        return Some(t);
    }
    if ts.is_empty() {
        let name = row.get("ts_name");
        if name.contains("inferred Implicit VR Little Endian") {
            return Some("1.2.840.10008.1.2");
        }
        if name.contains("inferred Explicit VR Little Endian") {
            return Some("1.2.840.10008.1.2.1");
        }
        if name.contains("inferred Explicit VR Big Endian") {
            return Some("1.2.840.10008.1.2.2");
        }
    }
    None
}

/// The reference decoder: `decode_reference.py` in `dir`, run by the venv's `python`.
#[derive(Debug, Clone)]
pub struct Oracle {
    pub python: PathBuf,
    pub dir: PathBuf,
}

/// Where the oracle is looked for: `$LUCENT_ORACLE`, else the corpus directory's sibling `oracle`;
/// its Python is `$ORACLE_VENV/bin/python` (default venv `/tmp/oracle-venv`, as in `setup.sh`).
pub fn oracle_candidate(corpus: &Path) -> Oracle {
    let dir = match std::env::var_os("LUCENT_ORACLE") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => corpus.join("..").join("oracle"),
    };
    let venv = match std::env::var_os("ORACLE_VENV") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from("/tmp/oracle-venv"),
    };
    Oracle {
        python: venv.join("bin").join("python"),
        dir,
    }
}

/// The oracle if its script and the venv's Python exist.
///
/// When either is missing: panics if `CI=true`, otherwise prints a loud warning and returns `None`
/// (the caller returns early), like [`corpus_dir`].
pub fn oracle(corpus: &Path) -> Option<Oracle> {
    let o = oracle_candidate(corpus);
    let script = o.dir.join("decode_reference.py");
    if script.is_file() && o.python.is_file() {
        return Some(o);
    }
    let what = format!(
        "{} {}, {} {} (set LUCENT_ORACLE / ORACLE_VENV; install with \
         `sudo ORACLE_VENV={} bash {}/setup.sh` or `cargo xtask test`)",
        script.display(),
        if script.is_file() { "found" } else { "MISSING" },
        o.python.display(),
        if o.python.is_file() {
            "found"
        } else {
            "MISSING"
        },
        o.python
            .parent()
            .and_then(Path::parent)
            .unwrap_or(&o.python)
            .display(),
        o.dir.display()
    );
    if is_ci() {
        panic!("ORACLE NOT FOUND: {what}; CI=true so this is a failure");
    }
    eprintln!();
    eprintln!("************************************************************");
    eprintln!("ORACLE NOT FOUND: this comparison with the reference decoder did NOT run");
    eprintln!("{what}");
    eprintln!("************************************************************");
    eprintln!();
    None
}

/// An array read from a `.npy` file: C order, little-endian (or single-byte) integers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Npy {
    /// "u1","i1","u2","i2","u4","i4" (byte-order mark removed)
    pub dtype: String,
    pub shape: Vec<usize>,
    /// The payload, little-endian.
    pub data: Vec<u8>,
}

/// Parse a `.npy` file (format 1.0/2.0/3.0) holding a C-order array of one of the integer dtypes
/// `<u1 <i1 <u2 <i2 <u4 <i4` (`|u1`/`|i1` for single bytes).
pub fn parse_npy(b: &[u8]) -> Result<Npy, String> {
    let rest = b
        .strip_prefix(b"\x93NUMPY")
        .ok_or("not a .npy file (no \\x93NUMPY magic)")?;
    let (major, rest) = rest.split_first().ok_or("truncated .npy version")?;
    let rest = rest.get(1..).ok_or("truncated .npy version")?;
    let (len, rest) = match major {
        1 => {
            let l = rest.get(..2).ok_or("truncated .npy header length")?;
            (usize::from(u16::from_le_bytes([l[0], l[1]])), &rest[2..])
        }
        2 | 3 => {
            let l = rest.get(..4).ok_or("truncated .npy header length")?;
            let n = u32::from_le_bytes([l[0], l[1], l[2], l[3]]);
            (
                usize::try_from(n).map_err(|_| "huge .npy header")?,
                &rest[4..],
            )
        }
        v => return Err(format!("unsupported .npy format version {v}")),
    };
    let header = rest.get(..len).ok_or("truncated .npy header")?;
    let data = &rest[len..];
    let header = std::str::from_utf8(header).map_err(|_| ".npy header is not text")?;
    let descr = dict_value(header, "descr").ok_or(".npy header has no descr")?;
    let descr = descr.trim().trim_matches(['\'', '"']);
    let dtype = match descr {
        "|u1" | "<u1" | "u1" => "u1",
        "|i1" | "<i1" | "i1" => "i1",
        "<u2" => "u2",
        "<i2" => "i2",
        "<u4" => "u4",
        "<i4" => "i4",
        other => return Err(format!("unsupported .npy dtype {other}")),
    };
    let fortran = dict_value(header, "fortran_order").ok_or(".npy header has no fortran_order")?;
    if fortran.trim() != "False" {
        return Err("Fortran-order .npy arrays are not supported".into());
    }
    let shape = dict_value(header, "shape").ok_or(".npy header has no shape")?;
    let shape = shape
        .trim()
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| format!("bad .npy shape {shape}"))?;
    let shape: Vec<usize> = shape
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| format!("bad .npy dimension {s}")))
        .collect::<Result<_, _>>()?;
    let item = dtype_size(dtype);
    let want = shape
        .iter()
        .try_fold(item, |acc, &d| acc.checked_mul(d))
        .ok_or(".npy shape overflows")?;
    if data.len() != want {
        return Err(format!(
            ".npy payload is {} bytes, shape {shape:?} of {dtype} needs {want}",
            data.len()
        ));
    }
    Ok(Npy {
        dtype: dtype.to_string(),
        shape,
        data: data.to_vec(),
    })
}

/// The text of `key`'s value in a Python dict literal (up to the next top-level comma).
fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header
        .find(&format!("'{key}'"))
        .map(|i| i + key.len() + 2)?;
    let rest = header[at..].trim_start().strip_prefix(':')?;
    let mut depth = 0i32;
    for (i, c) in rest.char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ',' | '}' if depth == 0 => return Some(&rest[..i]),
            _ => {}
        }
    }
    None
}

/// Bytes per sample of a dtype ("u1" .. "i4", "f4", "f8").
pub fn dtype_size(dtype: &str) -> usize {
    match dtype {
        "u1" | "i1" => 1,
        "u2" | "i2" => 2,
        "u4" | "i4" | "f4" => 4,
        "f8" => 8,
        _ => 0,
    }
}

/// Sample `i` of little-endian integer bytes of `dtype`. Panics on an index out of range or a
/// non-integer dtype (test code).
pub fn sample(dtype: &str, b: &[u8], i: usize) -> i64 {
    match dtype {
        "u1" => i64::from(b[i]),
        "i1" => i64::from(b[i] as i8),
        "u2" => i64::from(u16::from_le_bytes([b[2 * i], b[2 * i + 1]])),
        "i2" => i64::from(i16::from_le_bytes([b[2 * i], b[2 * i + 1]])),
        "u4" => i64::from(u32::from_le_bytes([
            b[4 * i],
            b[4 * i + 1],
            b[4 * i + 2],
            b[4 * i + 3],
        ])),
        "i4" => i64::from(i32::from_le_bytes([
            b[4 * i],
            b[4 * i + 1],
            b[4 * i + 2],
            b[4 * i + 3],
        ])),
        other => panic!("sample(): unsupported dtype {other}"),
    }
}

/// One row of `EXPECTED.tsv`, keyed by column name.
#[derive(Debug, Clone)]
pub struct ExpectedRow {
    fields: Vec<(String, String)>,
}

impl ExpectedRow {
    /// Value of a column ("" when absent).
    pub fn get(&self, column: &str) -> &str {
        self.fields
            .iter()
            .find(|(k, _)| k == column)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// Parse `EXPECTED.tsv` in the corpus directory.
pub fn expected_rows(corpus: &Path) -> Vec<ExpectedRow> {
    let text = std::fs::read_to_string(corpus.join("EXPECTED.tsv")).expect("read EXPECTED.tsv");
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap_or("")
        .split('\t')
        .map(str::to_string)
        .collect();
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| ExpectedRow {
            fields: header
                .iter()
                .cloned()
                .zip(
                    l.split('\t')
                        .map(str::to_string)
                        .chain(std::iter::repeat(String::new())),
                )
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(descr: &str, shape: &str, version: u8, payload: &[u8]) -> Vec<u8> {
        let mut header =
            format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        let prefix = if version == 1 { 10 } else { 12 };
        while (prefix + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut b = b"\x93NUMPY".to_vec();
        b.extend([version, 0]);
        if version == 1 {
            b.extend((header.len() as u16).to_le_bytes());
        } else {
            b.extend((header.len() as u32).to_le_bytes());
        }
        b.extend(header.as_bytes());
        b.extend(payload);
        b
    }

    #[test]
    fn reads_npy_of_each_integer_dtype() {
        let a = parse_npy(&npy(
            "<i2",
            "(1, 2, 2)",
            1,
            &[1, 0, 0xFF, 0xFF, 0, 0x80, 2, 0],
        ))
        .expect("i2");
        assert_eq!((a.dtype.as_str(), a.shape.clone()), ("i2", vec![1, 2, 2]));
        let v: Vec<i64> = (0..4).map(|i| sample(&a.dtype, &a.data, i)).collect();
        assert_eq!(v, [1, -1, -32768, 2]);
        let a = parse_npy(&npy("|u1", "(3,)", 2, &[7, 8, 255])).expect("u1");
        assert_eq!(a.shape, [3]);
        assert_eq!(sample(&a.dtype, &a.data, 2), 255);
        let a = parse_npy(&npy("<u4", "(1, 1)", 1, &[0, 0, 0, 0x80])).expect("u4");
        assert_eq!(sample(&a.dtype, &a.data, 0), 1 << 31);
        let a = parse_npy(&npy("<i4", "(1, 1)", 1, &[0xFE, 0xFF, 0xFF, 0xFF])).expect("i4");
        assert_eq!(sample(&a.dtype, &a.data, 0), -2);
        let a = parse_npy(&npy("|i1", "(2,)", 1, &[0x80, 1])).expect("i1");
        assert_eq!(sample(&a.dtype, &a.data, 0), -128);
        let a = parse_npy(&npy("<u2", "(2,)", 1, &[0x34, 0x12, 0, 1])).expect("u2");
        assert_eq!(sample(&a.dtype, &a.data, 0), 0x1234);
    }

    #[test]
    fn rejects_bad_npy() {
        assert!(parse_npy(b"PK\x03\x04").is_err());
        assert!(parse_npy(&npy(">u2", "(1,)", 1, &[0, 1])).is_err());
        assert!(parse_npy(&npy("<f8", "(1,)", 1, &[0; 8])).is_err());
        assert!(parse_npy(&npy("<u2", "(2,)", 1, &[0, 1])).is_err()); // short payload
        let mut fortran = npy("<u2", "(1,)", 1, &[0, 1]);
        let at = fortran
            .windows(5)
            .position(|w| w == b"False")
            .expect("False");
        fortran[at..at + 5].copy_from_slice(b"True ");
        assert!(parse_npy(&fortran).is_err());
    }
}
