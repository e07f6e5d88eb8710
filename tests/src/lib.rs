//! Helpers for Lucent's cross-crate tests: locating the shared DICOM corpus.

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
    let ci = std::env::var("CI").map(|v| v == "true").unwrap_or(false);
    if ci {
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
