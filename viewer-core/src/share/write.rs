//! Writing a bundle: the files are read twice (hash, then encrypt), one at a time, so the writer holds one
//! chunk and never the study.

use std::io::{self, Read, Write};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{
    b64url_encode, check_pin, chunk_nonce, cipher, err, format_time, hex, hkdf_key, pin_kek,
    seal_in_place, valid_path, Header, PinParams, Result, ShareError, ShareErrorCode, Summary,
    CIPHER, FORMAT, HEADER_NONCE, INFO_CONTENT, INFO_HEADER, KDF, MAGIC, MAX_CHUNK, MAX_SAFE,
    MIN_CHUNK, PIN_ITERATIONS, ZERO_NONCE,
};

/// One file to put in a bundle: its path inside the bundle and a way to read it (twice).
pub trait SealSource {
    fn path(&self) -> &str;
    fn open(&self) -> io::Result<Box<dyn Read + '_>>;
}

/// A file held in memory (tests, vectors).
pub struct MemoryFile {
    pub path: String,
    pub data: Vec<u8>,
}

impl SealSource for MemoryFile {
    fn path(&self) -> &str {
        &self.path
    }

    fn open(&self) -> io::Result<Box<dyn Read + '_>> {
        Ok(Box::new(&self.data[..]))
    }
}

/// Everything random or time-dependent is the caller's: the core has neither a clock nor a generator.
pub struct SealOptions<'a> {
    /// The link secret `S`: 32 bytes from a CSPRNG, fresh for every bundle.
    pub secret: [u8; 32],
    /// A PIN (4-64 printable ASCII characters), or none.
    pub pin: Option<&'a str>,
    /// With a PIN: the content key `K`, 32 more random bytes (unused without a PIN).
    pub content_key: [u8; 32],
    /// With a PIN: the PBKDF2 salt, 16 random bytes.
    pub salt: [u8; 16],
    /// With a PIN: PBKDF2 iterations, at least [`PIN_ITERATIONS`].
    pub iterations: u32,
    pub chunk_size: u32,
    /// Unix seconds.
    pub created: i64,
    pub expires: Option<i64>,
}

#[derive(Serialize)]
struct Entry<'a> {
    path: &'a str,
    size: u64,
    sha256: String,
}

#[derive(Serialize)]
struct Manifest<'a> {
    files: Vec<Entry<'a>>,
}

fn io_error(path: &str, e: &io::Error) -> ShareError {
    ShareError::new(ShareErrorCode::Io, format!("{path}: {e}"))
}

/// Reads `file` from its start, handing each block read to `each`.
fn each_block<S: SealSource>(
    file: &S,
    buf: &mut [u8],
    mut each: impl FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    let path = file.path();
    let mut reader = file.open().map_err(|e| io_error(path, &e))?;
    loop {
        match reader.read(buf) {
            Ok(0) => return Ok(()),
            Ok(n) => each(&buf[..n])?,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error(path, &e)),
        }
    }
}

/// Encrypts `files` into `out`; `progress(done, total)` counts plaintext bytes. Returns the header written.
pub fn seal<S: SealSource, W: Write>(
    files: &[S],
    options: &SealOptions<'_>,
    out: &mut W,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Header> {
    use ShareErrorCode::{BadHeader, Damaged};
    let chunk_size = options.chunk_size;
    if !(MIN_CHUNK..=MAX_CHUNK).contains(&chunk_size) {
        return err(
            BadHeader,
            format!("chunk size {chunk_size} is outside {MIN_CHUNK}..{MAX_CHUNK}"),
        );
    }
    if files.is_empty() {
        return err(BadHeader, "there are no files to share");
    }
    let mut seen = std::collections::HashSet::new();
    let mut entries = Vec::with_capacity(files.len());
    let mut buf = vec![0u8; 1 << 16];
    for f in files {
        let path = f.path();
        if !valid_path(path) {
            return err(
                BadHeader,
                format!("unusable file name in a bundle: {path:?}"),
            );
        }
        if !seen.insert(path) {
            return err(BadHeader, format!("two files named {path}"));
        }
        let mut hash = Sha256::new();
        let mut size = 0u64;
        each_block(f, &mut buf, |block| {
            hash.update(block);
            size += block.len() as u64;
            Ok(())
        })?;
        entries.push(Entry {
            path,
            size,
            sha256: hex(&hash.finalize()),
        });
    }
    let file_bytes: u64 = entries.iter().map(|e| e.size).sum();
    let sizes: Vec<u64> = entries.iter().map(|e| e.size).collect();
    let manifest = serde_json::to_vec(&Manifest { files: entries }).expect("a manifest serialises");
    let plain_size = 4 + manifest.len() as u64 + file_bytes;
    if plain_size > MAX_SAFE || manifest.len() > super::MAX_MANIFEST as usize {
        return err(
            ShareErrorCode::TooLarge,
            "the study is too large for one bundle",
        );
    }

    let pin = match options.pin {
        Some(pin) => {
            check_pin(pin)?;
            if options.iterations < PIN_ITERATIONS {
                return err(
                    BadHeader,
                    format!("PBKDF2 needs at least {PIN_ITERATIONS} iterations"),
                );
            }
            Some(PinParams {
                kdf: KDF.to_string(),
                iterations: options.iterations,
                salt: b64url_encode(&options.salt),
            })
        }
        None => None,
    };
    let time = |t: i64| {
        format_time(t).ok_or_else(|| {
            ShareError::new(BadHeader, format!("time {t} is outside years 0000-9999"))
        })
    };
    let header = Header {
        format: FORMAT.to_string(),
        version: 1,
        cipher: CIPHER.to_string(),
        chunk_size,
        plain_size,
        created: time(options.created)?,
        expires: options.expires.map(time).transpose()?,
        summary: Summary {
            files: files.len() as u64,
            bytes: file_bytes,
        },
        pin,
        key_share: (),
    };
    let header_bytes = serde_json::to_vec(&header).expect("a header serialises");

    let mut aad = Vec::with_capacity(12 + header_bytes.len() + 48);
    aad.extend_from_slice(MAGIC);
    aad.extend_from_slice(&(header_bytes.len() as u32).to_le_bytes());
    aad.extend_from_slice(&header_bytes);
    let content_key = match options.pin {
        Some(pin) => {
            let kek = pin_kek(&options.secret, pin, &options.salt, options.iterations);
            let mut wrapped = options.content_key;
            let tag = seal_in_place(&cipher(&kek), &ZERO_NONCE, &aad, &mut wrapped);
            aad.extend_from_slice(&wrapped);
            aad.extend_from_slice(&tag);
            options.content_key
        }
        None => hkdf_key(&options.secret, INFO_CONTENT),
    };
    let header_tag = seal_in_place(
        &cipher(&hkdf_key(&options.secret, INFO_HEADER)),
        &HEADER_NONCE,
        &aad,
        &mut [],
    );
    let write_io =
        |e: io::Error| ShareError::new(ShareErrorCode::Io, format!("writing the bundle: {e}"));
    out.write_all(&aad).map_err(write_io)?;
    out.write_all(&header_tag).map_err(write_io)?;

    // The plaintext stream: manifest block, then each file (read again), cut into chunks.
    let mut chunks = Chunker {
        key: cipher(&content_key),
        aad: &aad,
        chunks: header.chunks(),
        plain_size,
        index: 0,
        pending: vec![0u8; (chunk_size as u64).min(plain_size) as usize + 16],
        chunk_size: chunk_size as usize,
        fill: 0,
        done: 0,
    };
    let mut sink = |bytes: &[u8], chunks: &mut Chunker<'_>| chunks.feed(bytes, out, progress);
    sink(&(manifest.len() as u32).to_le_bytes(), &mut chunks)?;
    sink(&manifest, &mut chunks)?;
    for (f, &size) in files.iter().zip(&sizes) {
        let path = f.path();
        let changed =
            || ShareError::new(Damaged, format!("{path} changed while it was being shared"));
        let mut left = size;
        each_block(f, &mut buf, |block| {
            left = left.checked_sub(block.len() as u64).ok_or_else(changed)?;
            sink(block, &mut chunks)
        })?;
        if left != 0 {
            return Err(changed());
        }
    }
    chunks.flush(out, progress)?;
    out.flush().map_err(write_io)?;
    Ok(header)
}

struct Chunker<'a> {
    key: aes_gcm::Aes256Gcm,
    aad: &'a [u8],
    chunks: u64,
    plain_size: u64,
    index: u64,
    /// One chunk's plaintext, then room for its tag.
    pending: Vec<u8>,
    chunk_size: usize,
    fill: usize,
    done: u64,
}

impl Chunker<'_> {
    fn feed<W: Write>(
        &mut self,
        mut bytes: &[u8],
        out: &mut W,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<()> {
        while !bytes.is_empty() {
            let n = (self.chunk_size - self.fill).min(bytes.len());
            if self.fill + n > self.pending.len() - 16 {
                // More plaintext than the manifest promised: only a file growing between the passes.
                return err(
                    ShareErrorCode::Damaged,
                    "a file grew while it was being shared",
                );
            }
            self.pending[self.fill..self.fill + n].copy_from_slice(&bytes[..n]);
            self.fill += n;
            bytes = &bytes[n..];
            if self.fill == self.chunk_size && self.index + 1 < self.chunks {
                self.flush(out, progress)?;
            }
        }
        Ok(())
    }

    fn flush<W: Write>(&mut self, out: &mut W, progress: &mut dyn FnMut(u64, u64)) -> Result<()> {
        let last = self.index + 1 == self.chunks;
        let nonce = chunk_nonce(self.index, last);
        let tag = seal_in_place(&self.key, &nonce, self.aad, &mut self.pending[..self.fill]);
        self.pending[self.fill..self.fill + 16].copy_from_slice(&tag);
        out.write_all(&self.pending[..self.fill + 16])
            .map_err(|e| ShareError::new(ShareErrorCode::Io, format!("writing the bundle: {e}")))?;
        self.done += self.fill as u64;
        self.index += 1;
        self.fill = 0;
        progress(self.done, self.plain_size);
        Ok(())
    }
}
