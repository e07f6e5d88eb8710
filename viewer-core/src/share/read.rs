//! Reading a bundle: everything before the chunks is authenticated (header tag) before any PIN is asked, any
//! expiry believed or any content allocated; every chunk verifies before a single file is returned.

use std::io::{self, Read};

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{
    b64url_decode, chunk_nonce, cipher, err, hex, hkdf_key, open_in_place, parse_time, pin_kek,
    valid_path, Header, PinParams, Result, ShareError, ShareErrorCode, Summary, CIPHER,
    DEFAULT_MAX_PLAIN, FIXED, FORMAT, HEADER_KEYS, HEADER_NONCE, INFO_CONTENT, INFO_HEADER, KDF,
    MAGIC, MAX_CHUNK, MAX_HEADER, MAX_MANIFEST, MAX_SAFE, MIN_CHUNK, PIN_ITERATIONS, TAG, WRAPPED,
    ZERO_NONCE,
};
use ShareErrorCode::{BadHeader, Damaged, Unsupported};

/// What the reader accepts.
#[derive(Clone, Copy, Debug)]
pub struct OpenLimits {
    /// The reader's clock, Unix seconds: a bundle whose `expires` is at or before it is refused.
    pub now: i64,
    /// The largest plaintext to accept (checked before anything is allocated).
    pub max_plain_bytes: u64,
    /// The bundle's length when known: checked against the header before any content is read.
    pub size: Option<u64>,
}

impl OpenLimits {
    pub fn at(now: i64) -> Self {
        Self {
            now,
            max_plain_bytes: DEFAULT_MAX_PLAIN,
            size: None,
        }
    }
}

/// One file out of a bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenedFile {
    pub path: String,
    pub bytes: Vec<u8>,
}

/// A bundle whose header verified; [`BundleReader::read_all`] decrypts the rest.
pub struct BundleReader<R> {
    src: R,
    secret: [u8; 32],
    aad: Vec<u8>,
    header_len: usize,
    content_key: Option<[u8; 32]>,
    header: Header,
}

/// Up to `buf.len()` bytes: fewer only at the end of the stream.
fn read_full<R: Read>(src: &mut R, buf: &mut [u8]) -> Result<usize> {
    let mut at = 0;
    while at < buf.len() {
        match src.read(&mut buf[at..]) {
            Ok(0) => break,
            Ok(n) => at += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return err(ShareErrorCode::Io, format!("reading the bundle: {e}")),
        }
    }
    Ok(at)
}

/// A JSON number that is a whole number within `lo..=hi` (JS reads `1.0` as 1, so this does too).
fn int(v: Option<&Value>, lo: u64, hi: u64) -> Option<u64> {
    let v = v?;
    let n = match v.as_u64() {
        Some(n) => n,
        None => {
            let f = v.as_f64()?;
            if f.fract() != 0.0 || !(0.0..=MAX_SAFE as f64).contains(&f) {
                return None;
            }
            f as u64
        }
    };
    (lo..=hi.min(MAX_SAFE)).contains(&n).then_some(n)
}

/// The header checks, in the order the JS reader makes them (so both give the same code).
fn parse_header(bytes: &[u8]) -> Result<Header> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|_| ShareError::new(BadHeader, "the bundle header is not valid JSON"))?;
    let Some(h) = value.as_object() else {
        return err(BadHeader, "the bundle header is not a JSON object");
    };
    if h.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return err(
            BadHeader,
            "the header does not describe a Lucent share bundle",
        );
    }
    if int(h.get("version"), 1, 1).is_none() {
        return err(
            Unsupported,
            format!(
                "bundle format version {} is newer than this viewer (it reads version 1)",
                h.get("version").unwrap_or(&Value::Null)
            ),
        );
    }
    let unknown: Vec<&str> = h
        .keys()
        .map(String::as_str)
        .filter(|k| !HEADER_KEYS.contains(k))
        .collect();
    if !unknown.is_empty() {
        return err(
            Unsupported,
            format!(
                "the header has fields this viewer does not know ({})",
                unknown.join(", ")
            ),
        );
    }
    let absent: Vec<&str> = HEADER_KEYS
        .iter()
        .copied()
        .filter(|k| !h.contains_key(*k))
        .collect();
    if !absent.is_empty() {
        return err(BadHeader, format!("the header lacks {}", absent.join(", ")));
    }
    if h["cipher"].as_str() != Some(CIPHER) {
        return err(
            Unsupported,
            format!("cipher {} is not supported", h["cipher"]),
        );
    }
    if !h["key_share"].is_null() {
        return err(
            Unsupported,
            "this bundle needs a key share from a share server, which this viewer does not support yet",
        );
    }
    let chunk_size =
        int(h.get("chunk_size"), MIN_CHUNK.into(), MAX_CHUNK.into()).ok_or_else(|| {
            ShareError::new(
                BadHeader,
                format!("chunk size {} is out of range", h["chunk_size"]),
            )
        })?;
    let plain_size = int(h.get("plain_size"), 4, MAX_SAFE).ok_or_else(|| {
        ShareError::new(
            BadHeader,
            format!("content size {} is out of range", h["plain_size"]),
        )
    })?;
    let created = h["created"]
        .as_str()
        .filter(|t| parse_time(t).is_some())
        .ok_or_else(|| ShareError::new(BadHeader, "the creation time is malformed"))?;
    let expires = match &h["expires"] {
        Value::Null => None,
        v => Some(
            v.as_str()
                .filter(|t| parse_time(t).is_some())
                .ok_or_else(|| ShareError::new(BadHeader, "the expiry time is malformed"))?,
        ),
    };
    let summary = h["summary"]
        .as_object()
        .filter(|s| s.len() == 2)
        .and_then(|s| {
            Some(Summary {
                files: int(s.get("files"), 1, 1 << 32)?,
                bytes: int(s.get("bytes"), 0, MAX_SAFE)?,
            })
        })
        .ok_or_else(|| ShareError::new(BadHeader, "the content summary is malformed"))?;
    let pin = match &h["pin"] {
        Value::Null => None,
        v => {
            let Some(p) = v.as_object().filter(|p| p.len() == 3) else {
                return err(BadHeader, "the PIN parameters are malformed");
            };
            if p.get("kdf").and_then(Value::as_str) != Some(KDF) {
                return err(
                    Unsupported,
                    format!(
                        "key derivation {} is not supported",
                        p.get("kdf").unwrap_or(&Value::Null)
                    ),
                );
            }
            let iterations = int(p.get("iterations"), PIN_ITERATIONS.into(), u32::MAX.into())
                .ok_or_else(|| ShareError::new(BadHeader, "PBKDF2 iterations are out of range"))?;
            let salt = p.get("salt").and_then(Value::as_str).unwrap_or("");
            if b64url_decode(salt).map(|s| s.len()) != Some(16) {
                return err(BadHeader, "the PIN salt is not 16 bytes");
            }
            Some(PinParams {
                kdf: KDF.to_string(),
                iterations: iterations as u32,
                salt: salt.to_string(),
            })
        }
    };
    Ok(Header {
        format: FORMAT.to_string(),
        version: 1,
        cipher: CIPHER.to_string(),
        chunk_size: chunk_size as u32,
        plain_size,
        created: created.to_string(),
        expires: expires.map(str::to_string),
        summary,
        pin,
        key_share: (),
    })
}

/// Reads and parses the public header only: no key needed, nothing authenticated (`lucent share inspect`).
pub fn read_public_header<R: Read>(src: &mut R) -> Result<Header> {
    read_prefix(src).map(|(header, _, _)| header)
}

/// Magic, header and (with a PIN) the wrapped key: the header, `A` and `H`.
fn read_prefix<R: Read>(src: &mut R) -> Result<(Header, Vec<u8>, usize)> {
    let mut fixed = [0u8; FIXED];
    if read_full(src, &mut fixed)? < FIXED || &fixed[..8] != MAGIC {
        return err(
            ShareErrorCode::NotABundle,
            "this file is not a Lucent share bundle",
        );
    }
    let h = u32::from_le_bytes([fixed[8], fixed[9], fixed[10], fixed[11]]);
    if !(2..=MAX_HEADER).contains(&h) {
        return err(BadHeader, format!("header length {h} is out of range"));
    }
    let h = h as usize;
    let mut aad = vec![0u8; FIXED + h];
    aad[..FIXED].copy_from_slice(&fixed);
    if read_full(src, &mut aad[FIXED..])? < h {
        return err(BadHeader, "the bundle ends inside its header");
    }
    let header = parse_header(&aad[FIXED..])?;
    if header.pin.is_some() {
        let mut wrapped = [0u8; WRAPPED];
        if read_full(src, &mut wrapped)? < WRAPPED {
            return err(BadHeader, "the bundle ends inside its wrapped key");
        }
        aad.extend_from_slice(&wrapped);
    }
    Ok((header, aad, h))
}

impl<R: Read> BundleReader<R> {
    /// Reads and authenticates everything before the chunks (magic, header, wrapped key, header tag), then
    /// checks expiry, the size limit and, when known, the bundle's length. `secret` is the link secret's 32
    /// bytes (anything else is `wrong-key`).
    pub fn open(mut src: R, secret: &[u8], limits: &OpenLimits) -> Result<Self> {
        let Ok(secret) = <[u8; 32]>::try_from(secret) else {
            return err(
                ShareErrorCode::WrongKey,
                "the link is incomplete: its key part is not 43 characters",
            );
        };
        let (header, aad, header_len) = read_prefix(&mut src)?;
        let mut tag = [0u8; TAG];
        if read_full(&mut src, &mut tag)? < TAG {
            return err(BadHeader, "the bundle ends inside its header tag");
        }
        if !open_in_place(
            &cipher(&hkdf_key(&secret, INFO_HEADER)),
            &HEADER_NONCE,
            &aad,
            &mut [],
            &tag,
        ) {
            return err(
                ShareErrorCode::WrongKey,
                "the link does not open this bundle: its key is wrong, or the bundle header was changed",
            );
        }
        if let (Some(expires), Some(text)) = (header.expires_unix(), &header.expires) {
            if limits.now >= expires {
                return err(
                    ShareErrorCode::Expired,
                    format!(
                        "this share link expired on {}",
                        text.replace('T', " ").replace('Z', " UTC")
                    ),
                );
            }
        }
        if header.plain_size > limits.max_plain_bytes {
            return err(
                ShareErrorCode::TooLarge,
                format!(
                    "the shared study is {} MB, more than this reader accepts ({} MB)",
                    header.plain_size >> 20,
                    limits.max_plain_bytes >> 20
                ),
            );
        }
        let expected = header.bundle_size(header_len);
        if let Some(size) = limits.size {
            if size != expected {
                let how = if size < expected {
                    "truncated"
                } else {
                    "extended"
                };
                return err(
                    Damaged,
                    format!("the bundle is {size} bytes; its header says {expected}: it was {how}"),
                );
            }
        }
        let content_key = header
            .pin
            .is_none()
            .then(|| hkdf_key(&secret, INFO_CONTENT));
        Ok(Self {
            src,
            secret,
            aad,
            header_len,
            content_key,
            header,
        })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The header's length `H` (for [`Header::bundle_size`]).
    pub fn header_len(&self) -> usize {
        self.header_len
    }

    /// True until [`BundleReader::unlock`] succeeded on a PIN bundle.
    pub fn needs_pin(&self) -> bool {
        self.content_key.is_none()
    }

    /// Derives the PIN key and unwraps the content key: `pin-required` without a PIN, `wrong-pin` when it
    /// does not unwrap (the reader stays usable for another try). A bundle without a PIN ignores it.
    pub fn unlock(&mut self, pin: Option<&str>) -> Result<()> {
        let Some(params) = &self.header.pin else {
            return Ok(());
        };
        let Some(pin) = pin.filter(|p| !p.is_empty()) else {
            return err(
                ShareErrorCode::PinRequired,
                "this study is protected by a PIN",
            );
        };
        let salt = b64url_decode(&params.salt).unwrap_or_default();
        let kek = pin_kek(&self.secret, pin, &salt, params.iterations);
        let (prefix, wrapped) = self.aad.split_at(self.aad.len() - WRAPPED);
        let mut key = [0u8; 32];
        key.copy_from_slice(&wrapped[..32]);
        if !open_in_place(&cipher(&kek), &ZERO_NONCE, prefix, &mut key, &wrapped[32..]) {
            return err(ShareErrorCode::WrongPin, "the PIN is not right");
        }
        self.content_key = Some(key);
        Ok(())
    }

    /// Decrypts every chunk into the files' own buffers, checks that the stream ends after the last chunk,
    /// the manifest against the header and each file's SHA-256. `progress(done, total)` counts plaintext.
    pub fn read_all(mut self, progress: &mut dyn FnMut(u64, u64)) -> Result<Vec<OpenedFile>> {
        let Some(key) = self.content_key else {
            return err(
                ShareErrorCode::PinRequired,
                "this study is protected by a PIN",
            );
        };
        let key = cipher(&key);
        let (chunk_size, plain_size) = (u64::from(self.header.chunk_size), self.header.plain_size);
        let chunks = self.header.chunks();
        let damaged = |why: String| {
            ShareError::new(
                Damaged,
                format!(
                    "the bundle is damaged or was tampered with ({why}); nothing from it is shown"
                ),
            )
        };
        let mut sink = PlainSink::new(plain_size, self.header.summary);
        let mut buf = vec![0u8; chunk_size.min(plain_size) as usize + TAG];
        let mut done = 0u64;
        for i in 0..chunks {
            let len = chunk_size.min(plain_size - i * chunk_size) as usize;
            let chunk = &mut buf[..len + TAG];
            if read_full(&mut self.src, chunk)? < len + TAG {
                return Err(damaged(format!(
                    "it ends inside chunk {} of {chunks}",
                    i + 1
                )));
            }
            let (plain, tag) = chunk.split_at_mut(len);
            if !open_in_place(
                &key,
                &chunk_nonce(i, i + 1 == chunks),
                &self.aad,
                plain,
                tag,
            ) {
                return Err(damaged(format!(
                    "chunk {} of {chunks} does not verify",
                    i + 1
                )));
            }
            sink.write(plain).map_err(damaged)?;
            done += len as u64;
            progress(done, plain_size);
        }
        if read_full(&mut self.src, &mut [0u8; 1])? != 0 {
            return Err(damaged("there are bytes after its last chunk".into()));
        }
        sink.finish().map_err(damaged)
    }
}

struct SinkFile {
    path: String,
    sha256: String,
    bytes: Vec<u8>,
    size: usize,
}

/// Splits the plaintext stream into the manifest and the files' buffers as chunks arrive.
struct PlainSink {
    plain_size: u64,
    summary: Summary,
    head: [u8; 4],
    head_fill: usize,
    manifest: Vec<u8>,
    manifest_len: usize,
    files: Option<Vec<SinkFile>>,
    file: usize,
}

impl PlainSink {
    fn new(plain_size: u64, summary: Summary) -> Self {
        Self {
            plain_size,
            summary,
            head: [0; 4],
            head_fill: 0,
            manifest: Vec::new(),
            manifest_len: 0,
            files: None,
            file: 0,
        }
    }

    fn write(&mut self, mut bytes: &[u8]) -> std::result::Result<(), String> {
        while !bytes.is_empty() {
            if self.head_fill < 4 {
                let n = (4 - self.head_fill).min(bytes.len());
                self.head[self.head_fill..self.head_fill + n].copy_from_slice(&bytes[..n]);
                self.head_fill += n;
                bytes = &bytes[n..];
                if self.head_fill == 4 {
                    let m = u32::from_le_bytes(self.head);
                    if !(2..=MAX_MANIFEST).contains(&m) || 4 + u64::from(m) > self.plain_size {
                        return Err(format!("manifest length {m} is out of range"));
                    }
                    self.manifest_len = m as usize;
                    self.manifest.reserve_exact(self.manifest_len);
                }
            } else if self.files.is_none() {
                let n = (self.manifest_len - self.manifest.len()).min(bytes.len());
                self.manifest.extend_from_slice(&bytes[..n]);
                bytes = &bytes[n..];
                if self.manifest.len() == self.manifest_len {
                    self.start_files()?;
                }
            } else {
                let files = self.files.as_mut().expect("checked above");
                while self.file < files.len()
                    && files[self.file].bytes.len() == files[self.file].size
                {
                    self.file += 1;
                }
                let Some(f) = files.get_mut(self.file) else {
                    return Err("the content is longer than its manifest".into());
                };
                let n = (f.size - f.bytes.len()).min(bytes.len());
                f.bytes.extend_from_slice(&bytes[..n]);
                bytes = &bytes[n..];
            }
        }
        Ok(())
    }

    fn start_files(&mut self) -> std::result::Result<(), String> {
        let manifest: Value = serde_json::from_slice(&self.manifest)
            .map_err(|_| "its manifest is not valid JSON".to_string())?;
        let list = manifest
            .get("files")
            .and_then(Value::as_array)
            .filter(|l| l.len() as u64 == self.summary.files)
            .ok_or("its manifest does not match the header")?;
        let mut paths = std::collections::HashSet::new();
        let mut total = 0u64;
        let mut entries = Vec::with_capacity(list.len());
        for f in list {
            let path = f
                .get("path")
                .and_then(Value::as_str)
                .filter(|p| valid_path(p));
            let size = int(f.get("size"), 0, MAX_SAFE);
            let sha = f.get("sha256").and_then(Value::as_str).filter(|s| {
                s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            });
            let (Some(path), Some(size), Some(sha)) = (path, size, sha) else {
                return Err("its manifest has an invalid entry".into());
            };
            if !paths.insert(path) {
                return Err("its manifest has an invalid entry".into());
            }
            total += size;
            entries.push((path, size, sha));
        }
        if total != self.summary.bytes || 4 + self.manifest_len as u64 + total != self.plain_size {
            return Err("its manifest sizes do not add up to the header".into());
        }
        // The sizes add up to plain_size, which open() checked against the limit: allocating is safe.
        self.files = Some(
            entries
                .into_iter()
                .map(|(path, size, sha)| SinkFile {
                    path: path.to_string(),
                    sha256: sha.to_string(),
                    bytes: Vec::with_capacity(size as usize),
                    size: size as usize,
                })
                .collect(),
        );
        Ok(())
    }

    fn finish(self) -> std::result::Result<Vec<OpenedFile>, String> {
        let files = self.files.ok_or("it ends before its manifest does")?;
        if files.iter().any(|f| f.bytes.len() != f.size) {
            return Err("it ends before its last file does".into());
        }
        let mut out = Vec::with_capacity(files.len());
        for f in files {
            if hex(&Sha256::digest(&f.bytes)) != f.sha256 {
                return Err(format!("{} does not match its checksum", f.path));
            }
            out.push(OpenedFile {
                path: f.path,
                bytes: f.bytes,
            });
        }
        Ok(out)
    }
}
