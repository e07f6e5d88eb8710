//! Share bundles: a study's files encrypted into one file whose key travels in a link's fragment
//! (`docs/share-bundle.md`, format version 1). The JS shell has its own implementation on WebCrypto
//! (`www/share-bundle.js`); `docs/share-bundle-vectors.json` holds bundles both must read (and write) byte for
//! byte.
//!
//! This module has no clock and no random generator: callers pass the time and the random bytes
//! ([`write::SealOptions`], [`read::OpenLimits`]), so the core stays deterministic and testable.

pub mod read;
pub mod write;

#[cfg(test)]
mod tests;

use std::fmt;

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use hkdf::Hkdf;
use serde::Serialize;
use sha2::Sha256;

pub use read::{BundleReader, OpenLimits, OpenedFile};
pub use write::{seal, MemoryFile, SealOptions, SealSource};

/// The first 8 bytes of every bundle.
pub const MAGIC: &[u8; 8] = b"LUCENTSB";
/// The header's `format` value.
pub const FORMAT: &str = "lucent-share-bundle";
/// The only cipher of version 1.
pub const CIPHER: &str = "AES-256-GCM";
/// The only PIN key derivation of version 1.
pub const KDF: &str = "PBKDF2-SHA256";
/// Plaintext bytes per chunk unless the writer is told otherwise.
pub const DEFAULT_CHUNK: u32 = 1 << 20;
/// Smallest and largest chunk sizes a header may give.
pub const MIN_CHUNK: u32 = 4096;
pub const MAX_CHUNK: u32 = 1 << 24;
/// PBKDF2 iterations writers use and readers require at least.
pub const PIN_ITERATIONS: u32 = 600_000;
/// The largest plaintext a reader accepts unless told otherwise (4 GiB).
pub const DEFAULT_MAX_PLAIN: u64 = 4 << 30;

const FIXED: usize = 12;
const TAG: usize = 16;
const WRAPPED: usize = 48;
const MAX_HEADER: u32 = 65536;
const MAX_MANIFEST: u32 = 1 << 24;
/// JavaScript's `Number.MAX_SAFE_INTEGER`: the JS reader cannot represent larger sizes exactly.
const MAX_SAFE: u64 = (1 << 53) - 1;
const HEADER_KEYS: [&str; 10] = [
    "format",
    "version",
    "cipher",
    "chunk_size",
    "plain_size",
    "created",
    "expires",
    "summary",
    "pin",
    "key_share",
];
const HEADER_NONCE: [u8; 12] = [0xff; 12];
const ZERO_NONCE: [u8; 12] = [0; 12];
const INFO_HEADER: &[u8] = b"lucent share v1 header";
const INFO_CONTENT: &[u8] = b"lucent share v1 content";

/// The spec's error codes (docs/share-bundle.md, Errors), plus [`ShareErrorCode::Io`] for the reader's or
/// writer's own files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShareErrorCode {
    NotABundle,
    Unsupported,
    BadHeader,
    WrongKey,
    PinRequired,
    WrongPin,
    Expired,
    Damaged,
    TooLarge,
    BadPin,
    Io,
}

impl ShareErrorCode {
    /// The code as the spec, the JS implementation and the vectors spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotABundle => "not-a-bundle",
            Self::Unsupported => "unsupported",
            Self::BadHeader => "bad-header",
            Self::WrongKey => "wrong-key",
            Self::PinRequired => "pin-required",
            Self::WrongPin => "wrong-pin",
            Self::Expired => "expired",
            Self::Damaged => "damaged",
            Self::TooLarge => "too-large",
            Self::BadPin => "bad-pin",
            Self::Io => "io",
        }
    }
}

/// A failure with its code and a sentence for the person who sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareError {
    pub code: ShareErrorCode,
    pub message: String,
}

impl ShareError {
    pub fn new(code: ShareErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for ShareError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for ShareError {}

pub type Result<T> = std::result::Result<T, ShareError>;

fn err<T>(code: ShareErrorCode, message: impl Into<String>) -> Result<T> {
    Err(ShareError::new(code, message))
}

/// The public header, serialised exactly as writers emit it (compact, keys in this order).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Header {
    pub format: String,
    pub version: u32,
    pub cipher: String,
    pub chunk_size: u32,
    pub plain_size: u64,
    pub created: String,
    pub expires: Option<String>,
    pub summary: Summary,
    pub pin: Option<PinParams>,
    /// Always null in version 1.
    pub key_share: (),
}

/// The header's content summary: counts and sizes, never names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub files: u64,
    pub bytes: u64,
}

/// PBKDF2 parameters of a PIN bundle; `salt` is base64url.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PinParams {
    pub kdf: String,
    pub iterations: u32,
    pub salt: String,
}

impl Header {
    /// Number of chunks the plaintext is cut into.
    pub fn chunks(&self) -> u64 {
        self.plain_size.div_ceil(u64::from(self.chunk_size))
    }

    /// The exact bundle length this header implies (`header_len` is `H`).
    pub fn bundle_size(&self, header_len: usize) -> u64 {
        let aad = FIXED + header_len + if self.pin.is_some() { WRAPPED } else { 0 };
        (aad + TAG) as u64 + self.plain_size + TAG as u64 * self.chunks()
    }

    /// Expiry as Unix seconds, if any.
    pub fn expires_unix(&self) -> Option<i64> {
        self.expires.as_deref().and_then(parse_time)
    }
}

// ---- encodings ---------------------------------------------------------------------------------------------

/// base64url without padding; decoding ignores non-zero trailing bits, as the browsers' `atob` does.
const B64: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

pub fn b64url_encode(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

pub fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    B64.decode(text).ok()
}

/// Lowercase hex, as the manifest's `sha256` holds it.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A link secret (base64url, 43 characters) as its 32 bytes.
pub fn decode_secret(text: &str) -> Option<[u8; 32]> {
    b64url_decode(text)?.try_into().ok()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Earliest and latest times the header's four-digit-year form can hold.
const TIME_MIN: i64 = -62_167_219_200; // 0000-01-01T00:00:00Z
const TIME_MAX: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z

/// Unix seconds -> `YYYY-MM-DDTHH:MM:SSZ`; None outside years 0000-9999.
pub fn format_time(secs: i64) -> Option<String> {
    if !(TIME_MIN..=TIME_MAX).contains(&secs) {
        return None;
    }
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    Some(format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    ))
}

/// `YYYY-MM-DDTHH:MM:SSZ` -> Unix seconds, strictly: any other form, or a date that does not exist, is None.
pub fn parse_time(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let shape = b"dddd-dd-ddTdd:dd:ddZ";
    if b.len() != shape.len()
        || !b.iter().zip(shape).all(|(&c, &s)| {
            if s == b'd' {
                c.is_ascii_digit()
            } else {
                c == s
            }
        })
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| text[r].parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s;
    // A round trip rejects 2026-02-30, 24:00:00, 23:59:60 and the like.
    (format_time(secs).as_deref() == Some(text)).then_some(secs)
}

/// The manifest's path rule: relative, `/`-separated, no empty, `.` or `..` segment, no `\`, no control
/// character. A reader that writes files under a folder cannot be made to write outside it.
pub fn valid_path(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\\')
        && !path.chars().any(|c| c < ' ' || c == '\u{7f}')
        && path
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..")
}

/// The PIN rule: 4 to 64 printable ASCII characters (0x21-0x7E).
pub fn check_pin(pin: &str) -> Result<()> {
    if (4..=64).contains(&pin.len()) && pin.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        Ok(())
    } else {
        err(
            ShareErrorCode::BadPin,
            "a PIN is 4 to 64 characters: letters, digits or punctuation, no spaces",
        )
    }
}

// ---- links -------------------------------------------------------------------------------------------------

/// `<viewer>/share.html#<location>.<secret>`; `viewer` is the share page's URL or the folder holding it.
pub fn make_link(viewer: &str, location: &str, secret: &str) -> String {
    let page = if viewer.ends_with("share.html") {
        viewer.to_string()
    } else if viewer.ends_with('/') {
        format!("{viewer}share.html")
    } else {
        format!("{viewer}/share.html")
    };
    format!("{page}#{}.{secret}", escape_location(location))
}

/// `encodeURIComponent`, then `/` and `:` left as they are.
fn escape_location(location: &str) -> String {
    let mut out = String::with_capacity(location.len());
    for &b in location.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()/:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The secret of a link, or of its fragment, or a bare secret: the text after the last `.` of the fragment.
pub fn secret_of(key_or_link: &str) -> &str {
    let text = key_or_link.trim();
    let fragment = text.rsplit_once('#').map_or(text, |(_, f)| f);
    fragment.rsplit_once('.').map_or(fragment, |(_, s)| s)
}

// ---- keys --------------------------------------------------------------------------------------------------

fn hkdf_key(secret: &[u8; 32], info: &[u8]) -> [u8; 32] {
    let mut key = [0u8; 32];
    Hkdf::<Sha256>::new(Some(&[]), secret)
        .expand(info, &mut key)
        .expect("32 bytes is a valid HKDF-SHA256 length");
    key
}

fn pin_kek(secret: &[u8; 32], pin: &str, salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut password = Vec::with_capacity(32 + pin.len());
    password.extend_from_slice(secret);
    password.extend_from_slice(pin.as_bytes());
    let mut kek = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(&password, salt, iterations, &mut kek);
    kek
}

fn cipher(key: &[u8; 32]) -> Aes256Gcm {
    Aes256Gcm::new(key.into())
}

/// Chunk `index`'s nonce: the index as a big-endian u64, `00 00 00`, then 1 for the last chunk.
fn chunk_nonce(index: u64, last: bool) -> [u8; 12] {
    let mut iv = [0u8; 12];
    iv[..8].copy_from_slice(&index.to_be_bytes());
    iv[11] = u8::from(last);
    iv
}

/// Encrypts `buf` in place; returns the tag.
fn seal_in_place(key: &Aes256Gcm, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> [u8; 16] {
    key.encrypt_in_place_detached(Nonce::from_slice(nonce), aad, buf)
        .expect("AES-GCM encrypts any buffer under 64 GiB")
        .into()
}

/// Decrypts `buf` in place; false (and `buf` unspecified) if the tag does not verify.
fn open_in_place(
    key: &Aes256Gcm,
    nonce: &[u8; 12],
    aad: &[u8],
    buf: &mut [u8],
    tag: &[u8],
) -> bool {
    key.decrypt_in_place_detached(Nonce::from_slice(nonce), aad, buf, Tag::from_slice(tag))
        .is_ok()
}
