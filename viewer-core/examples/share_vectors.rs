//! Writes `docs/share-bundle-vectors.json`: bundles sealed by the Rust writer (RustCrypto) with fixed keys,
//! and damaged or hostile variants of them, each with the code a reader must give. The JS implementation
//! (tests/js/share.test.mjs, WebCrypto) and the core (viewer-core/src/share/tests.rs) both check every case,
//! and reseal the good ones byte for byte.
//!
//!   cargo run -p viewer-core --features share --example share_vectors > docs/share-bundle-vectors.json
//!
//! The expected codes are the spec's (docs/share-bundle.md), decided here per case from what was done to the
//! bundle, not read back from a reader.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use viewer_core::share::{
    b64url_encode, parse_time, seal, MemoryFile, SealOptions, PIN_ITERATIONS,
};

/// Fixed "random" bytes: SHA-256 of a label.
fn bytes32(label: &str) -> [u8; 32] {
    Sha256::digest(label.as_bytes()).into()
}

fn salt(label: &str) -> [u8; 16] {
    bytes32(label)[..16].try_into().unwrap()
}

fn pattern(len: usize, mul: usize, add: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * mul + add) & 255) as u8).collect()
}

fn t(text: &str) -> i64 {
    parse_time(text).expect("a valid time")
}

struct Case {
    name: &'static str,
    files: Vec<MemoryFile>,
    secret: [u8; 32],
    pin: Option<&'static str>,
    content_key: [u8; 32],
    salt: [u8; 16],
    chunk_size: u32,
    created: &'static str,
    expires: Option<&'static str>,
}

impl Case {
    fn new(name: &'static str, files: Vec<MemoryFile>) -> Self {
        Self {
            name,
            files,
            secret: bytes32(name),
            pin: None,
            content_key: bytes32(&format!("{name} content key")),
            salt: salt(&format!("{name} salt")),
            chunk_size: 4096,
            created: "2026-12-01T09:30:00Z",
            expires: None,
        }
    }

    fn seal(&self) -> Vec<u8> {
        let options = SealOptions {
            secret: self.secret,
            pin: self.pin,
            content_key: self.content_key,
            salt: self.salt,
            iterations: PIN_ITERATIONS,
            chunk_size: self.chunk_size,
            created: t(self.created),
            expires: self.expires.map(t),
        };
        let mut out = Vec::new();
        seal(&self.files, &options, &mut out, &mut |_, _| {}).expect("the vector seals");
        out
    }

    /// The vector: the good bundle, or `bundle` with the reader's inputs and the expected code.
    fn vector(&self, name: &str, bundle: &[u8], open: Value, expect: &str) -> Value {
        json!({
            "name": name,
            "secret": b64url_encode(&self.secret),
            "pin": self.pin,
            "content_key": self.pin.map(|_| b64url_encode(&self.content_key)),
            "salt": self.pin.map(|_| b64url_encode(&self.salt)),
            "iterations": self.pin.map(|_| PIN_ITERATIONS),
            "chunk_size": self.chunk_size,
            "created": self.created,
            "expires": self.expires,
            "files": self.files.iter().map(|f| json!({"path": f.path, "data": b64url_encode(&f.data)})).collect::<Vec<_>>(),
            "bundle": b64url_encode(bundle),
            "open": open,
            "expect": expect,
        })
    }

    fn open(&self, pin: Option<&str>, now: &str) -> Value {
        json!({"secret": b64url_encode(&self.secret), "pin": pin, "now": now})
    }
}

fn file(path: &str, data: Vec<u8>) -> MemoryFile {
    MemoryFile {
        path: path.to_string(),
        data,
    }
}

/// Byte offsets of each chunk (ciphertext + tag).
fn chunk_spans(bundle: &[u8], pin: bool, chunk: usize) -> Vec<(usize, usize)> {
    let h = u32::from_le_bytes(bundle[8..12].try_into().unwrap()) as usize;
    let header: Value = serde_json::from_slice(&bundle[12..12 + h]).unwrap();
    let mut left = header["plain_size"].as_u64().unwrap() as usize;
    let mut at = 12 + h + if pin { 48 } else { 0 } + 16;
    let mut spans = Vec::new();
    while left > 0 {
        let len = left.min(chunk) + 16;
        spans.push((at, at + len));
        at += len;
        left -= left.min(chunk);
    }
    assert_eq!(at, bundle.len());
    spans
}

/// The bundle with its header JSON replaced (and H updated); the tags no longer match it.
fn with_header(bundle: &[u8], edit: impl Fn(&mut Value)) -> Vec<u8> {
    let h = u32::from_le_bytes(bundle[8..12].try_into().unwrap()) as usize;
    let mut header: Value = serde_json::from_slice(&bundle[12..12 + h]).unwrap();
    edit(&mut header);
    let text = serde_json::to_vec(&header).unwrap();
    let mut out = bundle[..8].to_vec();
    out.extend_from_slice(&(text.len() as u32).to_le_bytes());
    out.extend_from_slice(&text);
    out.extend_from_slice(&bundle[12 + h..]);
    out
}

fn main() {
    let now = "2026-12-02T12:00:00Z";
    let mut vectors = Vec::new();

    // ---- good bundles ------------------------------------------------------------------------------------
    let single = Case::new(
        "ok: one file, no PIN, no expiry",
        vec![file("IM0001.dcm", pattern(1000, 7, 3))],
    );
    let single_bundle = single.seal();
    vectors.push(single.vector(single.name, &single_bundle, single.open(None, now), "ok"));

    let mut multi = Case::new(
        "ok: three files over four chunks, expiry in the future",
        vec![
            file("CT/IM0001", pattern(7000, 31, 7)),
            file("CT/IM0002", pattern(5000, 17, 0)),
            file("DICOMDIR", vec![9; 300]),
        ],
    );
    multi.expires = Some("2026-12-08T09:30:00Z");
    let multi_bundle = multi.seal();
    vectors.push(multi.vector(multi.name, &multi_bundle, multi.open(None, now), "ok"));

    let mut pinned = Case::new(
        "ok: PIN 482916",
        vec![
            file("study/IM1", pattern(5000, 13, 1)),
            file("study/IM2", pattern(100, 3, 9)),
        ],
    );
    pinned.pin = Some("482916");
    pinned.expires = Some("2027-01-01T00:00:00Z");
    let pinned_bundle = pinned.seal();
    vectors.push(pinned.vector(
        pinned.name,
        &pinned_bundle,
        pinned.open(Some("482916"), now),
        "ok",
    ));

    // Plaintext exactly two chunks: 4 + manifest + files = 8192, with an empty file and a non-ASCII path.
    let probe = Case::new(
        "probe",
        vec![
            file("Röntgen/Ünterkiefer ü.dcm", vec![]),
            file("Röntgen/a", vec![]),
        ],
    );
    let manifest_len = {
        let b = probe.seal();
        let h = u32::from_le_bytes(b[8..12].try_into().unwrap()) as usize;
        let header: Value = serde_json::from_slice(&b[12..12 + h]).unwrap();
        header["plain_size"].as_u64().unwrap() as usize - 4
    };
    // The manifest grows by the digits of the size: aim, then correct by the difference.
    let mut fill = 8192 - 4 - manifest_len - 4;
    let exact = loop {
        let c = Case::new(
            "ok: an empty file, a non-ASCII path, plaintext exactly two chunks",
            vec![
                file("Röntgen/Ünterkiefer ü.dcm", vec![]),
                file("Röntgen/a", pattern(fill, 5, 2)),
            ],
        );
        let b = c.seal();
        let spans = chunk_spans(&b, false, 4096);
        let plain: usize = spans.iter().map(|(a, e)| e - a - 16).sum();
        if plain == 8192 {
            break (c, b);
        }
        fill = (fill as isize + 8192 - plain as isize) as usize;
    };
    vectors.push(
        exact
            .0
            .vector(exact.0.name, &exact.1, exact.0.open(None, now), "ok"),
    );

    // ---- keys and PINs -----------------------------------------------------------------------------------
    let mut other = single.open(None, now);
    other["secret"] = json!(b64url_encode(&bytes32("some other link")));
    vectors.push(single.vector(
        "wrong-key: another link's secret",
        &single_bundle,
        other,
        "wrong-key",
    ));
    vectors.push(pinned.vector(
        "wrong-pin: 482917",
        &pinned_bundle,
        pinned.open(Some("482917"), now),
        "wrong-pin",
    ));
    vectors.push(pinned.vector(
        "pin-required: no PIN given",
        &pinned_bundle,
        pinned.open(None, now),
        "pin-required",
    ));
    let h = u32::from_le_bytes(pinned_bundle[8..12].try_into().unwrap()) as usize;
    let mut flipped_wrap = pinned_bundle.clone();
    flipped_wrap[12 + h + 5] ^= 1;
    vectors.push(pinned.vector(
        "wrong-key: a byte of the wrapped key flipped (the header tag covers it)",
        &flipped_wrap,
        pinned.open(Some("482916"), now),
        "wrong-key",
    ));

    // ---- expiry ------------------------------------------------------------------------------------------
    vectors.push(multi.vector(
        "expired: the reader's clock is exactly the expiry",
        &multi_bundle,
        multi.open(None, "2026-12-08T09:30:00Z"),
        "expired",
    ));
    let mut expired_wrong = multi.open(None, "2027-06-01T00:00:00Z");
    expired_wrong["secret"] = json!(b64url_encode(&[0u8; 32]));
    vectors.push(multi.vector(
        "wrong-key: an expired bundle opened with a wrong key (nothing unauthenticated is believed)",
        &multi_bundle,
        expired_wrong,
        "wrong-key",
    ));

    // ---- damage ------------------------------------------------------------------------------------------
    let spans = chunk_spans(&multi_bundle, false, 4096);
    let mut flipped = multi_bundle.clone();
    flipped[spans[2].0 + 10] ^= 0x20;
    vectors.push(multi.vector(
        "damaged: a byte of chunk 2 flipped",
        &flipped,
        multi.open(None, now),
        "damaged",
    ));
    vectors.push(multi.vector(
        "damaged: the last chunk dropped",
        &multi_bundle[..spans[2].1],
        multi.open(None, now),
        "damaged",
    ));
    let mut swapped = multi_bundle[..spans[0].0].to_vec();
    swapped.extend_from_slice(&multi_bundle[spans[1].0..spans[1].1]);
    swapped.extend_from_slice(&multi_bundle[spans[0].0..spans[0].1]);
    swapped.extend_from_slice(&multi_bundle[spans[2].0..]);
    vectors.push(multi.vector(
        "damaged: chunks 0 and 1 swapped",
        &swapped,
        multi.open(None, now),
        "damaged",
    ));
    let mut appended = multi_bundle.clone();
    appended.extend_from_slice(b"\0\0\0\0");
    vectors.push(multi.vector(
        "damaged: bytes after the last chunk",
        &appended,
        multi.open(None, now),
        "damaged",
    ));

    // ---- headers -----------------------------------------------------------------------------------------
    let h = u32::from_le_bytes(single_bundle[8..12].try_into().unwrap()) as usize;
    let text = String::from_utf8(single_bundle[12..12 + h].to_vec()).unwrap();
    let at = 12 + text.find("\"created\":\"").unwrap() + 11 + 3;
    let mut edited = single_bundle.clone();
    edited[at] = if edited[at] == b'9' {
        b'8'
    } else {
        edited[at] + 1
    };
    vectors.push(single.vector(
        "wrong-key: a digit of the creation year edited (valid JSON, only the tag can tell)",
        &edited,
        single.open(None, now),
        "wrong-key",
    ));
    let mut magic = single_bundle.clone();
    magic[0] = b'X';
    vectors.push(single.vector(
        "not-a-bundle: wrong magic",
        &magic,
        single.open(None, now),
        "not-a-bundle",
    ));
    vectors.push(single.vector(
        "not-a-bundle: an HTML error page",
        b"<!doctype html><title>404 Not Found</title>",
        single.open(None, now),
        "not-a-bundle",
    ));
    vectors.push(single.vector(
        "unsupported: version 2",
        &with_header(&single_bundle, |h| h["version"] = json!(2)),
        single.open(None, now),
        "unsupported",
    ));
    vectors.push(single.vector(
        "unsupported: a key share",
        &with_header(&single_bundle, |h| {
            h["key_share"] = json!({"server": "https://share.example"})
        }),
        single.open(None, now),
        "unsupported",
    ));
    vectors.push(single.vector(
        "unsupported: an unknown header field",
        &with_header(&single_bundle, |h| h["compression"] = json!("zstd")),
        single.open(None, now),
        "unsupported",
    ));
    vectors.push(single.vector(
        "bad-header: a chunk size below 4096",
        &with_header(&single_bundle, |h| h["chunk_size"] = json!(1024)),
        single.open(None, now),
        "bad-header",
    ));
    vectors.push(single.vector(
        "bad-header: an impossible date",
        &with_header(&single_bundle, |h| {
            h["created"] = json!("2026-02-30T00:00:00Z")
        }),
        single.open(None, now),
        "bad-header",
    ));
    let mut long = single_bundle.clone();
    long[8..12].copy_from_slice(&70_000u32.to_le_bytes());
    vectors.push(single.vector(
        "bad-header: header length 70000",
        &long,
        single.open(None, now),
        "bad-header",
    ));
    vectors.push(single.vector(
        "bad-header: the file ends inside its header",
        &single_bundle[..12 + h / 2],
        single.open(None, now),
        "bad-header",
    ));

    // ---- limits ------------------------------------------------------------------------------------------
    // An honest header (valid tag under the link's key) claiming 5 GiB: refused before anything is read.
    let huge = {
        let mut b = with_header(&single_bundle, |h| h["plain_size"] = json!(5u64 << 30));
        // Re-tag the edited header as a writer would: the header tag is GCM of nothing under K_hdr.
        use aes_gcm::aead::{AeadInPlace, KeyInit};
        let h = u32::from_le_bytes(b[8..12].try_into().unwrap()) as usize;
        let mut k = [0u8; 32];
        hkdf::Hkdf::<Sha256>::new(Some(&[]), &single.secret)
            .expand(b"lucent share v1 header", &mut k)
            .unwrap();
        let tag = aes_gcm::Aes256Gcm::new(&k.into())
            .encrypt_in_place_detached(&[0xff; 12].into(), &b[..12 + h], &mut [])
            .unwrap();
        b[12 + h..12 + h + 16].copy_from_slice(&tag);
        b
    };
    vectors.push(single.vector(
        "too-large: an authentic header claiming 5 GiB (the default limit is 4 GiB)",
        &huge,
        single.open(None, now),
        "too-large",
    ));

    println!("{}", serde_json::to_string_pretty(&vectors).unwrap());
}
