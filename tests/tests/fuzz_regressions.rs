//! The fuzz targets' laws on stable `cargo test`, without cargo-fuzz.
//!
//! The laws (`fuzz/src/laws.rs`) and the allocation limit (`fuzz/src/alloc.rs`) are the very files the
//! cargo-fuzz targets compile, included here with `#[path]`; this test binary installs the same allocator,
//! so an allocation over the limit fails here as it does under the fuzzer, and every input is also held
//! to the parse allocation budget (`laws::check_parse_budget`), except the known dicom-rs cases of
//! [`KNOWN_OVER_BUDGET`]. Three sets of inputs go through them:
//!
//! 1. every file in `fuzz/regressions/*/` (inputs that once broke a law, kept so they stay fixed);
//! 2. small DICOM files synthesized here byte by byte (every pixel layout the core reads: monochrome 1 to
//!    32 bits, signed, Bits Stored < Bits Allocated, RGB planar, YBR_FULL_422, palette colour, float and
//!    double, multi-frame with per-frame groups, RLE, big endian, implicit VR, deflated, the demo
//!    phantom), each with every Image Pixel attribute set in turn to boundary values, removed, and with
//!    its pixel data shortened, lengthened or re-encapsulated. `corpus.rs` truncates and flips bytes of
//!    real files and checks only that nothing panics; these are structured header mutations, which
//!    random flips rarely reach, checked against every law, and they need no corpus;
//! 3. the real corpus files the fuzzers use as seeds (one small file per transfer syntax), so a law that
//!    real files break is caught here, not as a fuzzer "crash" (skipped loudly without the corpus).

#[path = "../../fuzz/src/laws.rs"]
mod laws;

#[allow(unsafe_code)] // a GlobalAlloc forwarding to System (see the file)
#[path = "../../fuzz/src/alloc.rs"]
mod alloc;

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use lucent_tests::{corpus_dir, expected_rows};
use viewer_core::ingest::write::PhantomSeries;
use viewer_core::phantom::PhantomSpec;

#[global_allocator]
static ALLOCATOR: alloc::Limited = alloc::Limited;

/// Inputs known to make the parser ask for more than `laws::parse_budget` (the request for more than the
/// allocation limit fails and the file still gets a typed error or report; a smaller one succeeds): a label
/// prefix and the reason. Both are dicom-rs trusting a length the pre-scan never saw. Any other input
/// that does fails this test: a size taken from a file and not checked against the bytes there are.
const KNOWN_OVER_BUDGET: &[(&str, &str)] = &[
    (
        "pydicom/src/pydicom/data/test_files/UN_sequence.dcm",
        "dicom-rs 0.10 reads the items of an undefined-length UN element in the data set's explicit VR, \
         not implicit VR as CP-246 says (viewer-core's scan does), so an item tag becomes a \
         0xE000FFFE-byte length that it try_reserve()s (refused here: over the limit)",
    ),
    (
        "ul-length-3-mod-4 /",
        "dicom-rs 0.10 reads only whole values of a UL/US/FL.. element whose length is not a multiple of \
         the value size and goes on from there, out of step with the bytes (the scan walks the declared \
         length), so a later length field is read from the wrong bytes: 0x32000000 from a 50 (granted: \
         838 MB for a 700-byte file)",
    ),
];

/// Runs the laws of both targets on one input, and the parse allocation budget; the panic message when
/// a law fails.
fn check(label: &str, data: &[u8]) -> Result<(), String> {
    alloc::set_label(label);
    let result = catch_unwind(AssertUnwindSafe(|| {
        let largest = laws::parse_target(data);
        laws::decode_target(data);
        largest
    }));
    alloc::set_label("");
    let largest = result.map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic".into())
    })?;
    if !KNOWN_OVER_BUDGET.iter().any(|(f, _)| label.starts_with(f)) {
        catch_unwind(|| laws::check_parse_budget(data, largest)).map_err(|_| {
            format!(
                "asked for {largest} bytes while reading {} bytes",
                data.len()
            )
        })?;
    }
    Ok(())
}

fn regressions_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions")
}

#[test]
fn fuzz_regression_files_satisfy_the_laws() {
    let root = regressions_dir();
    let mut files = Vec::new();
    for target in std::fs::read_dir(&root).expect("fuzz/regressions exists") {
        let dir = target.expect("fuzz/regressions entry").path();
        if !dir.is_dir() {
            continue; // README.md
        }
        for f in std::fs::read_dir(&dir).expect("a regressions directory") {
            let path = f.expect("regression file").path();
            if path.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut failures = Vec::new();
    for path in &files {
        let name = path
            .strip_prefix(&root)
            .unwrap_or(path)
            .display()
            .to_string();
        let data = std::fs::read(path).expect("read a regression file");
        if let Err(why) = check(&name, &data) {
            failures.push(format!("fuzz/regressions/{name}: {why}"));
        }
    }
    eprintln!("fuzz regressions: {} files", files.len());
    assert!(
        failures.is_empty(),
        "regression inputs break the laws:\n{}",
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// A DICOM writer for the synthesized inputs (test-local: independent of viewer-core's writer).

const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
const IMPLICIT_LE: &str = "1.2.840.10008.1.2";
const EXPLICIT_BE: &str = "1.2.840.10008.1.2.2";
const DEFLATED: &str = "1.2.840.10008.1.2.1.99";
const RLE: &str = "1.2.840.10008.1.2.5";

type Tag = (u16, u16);

const ROWS: Tag = (0x0028, 0x0010);
const COLUMNS: Tag = (0x0028, 0x0011);
const SAMPLES: Tag = (0x0028, 0x0002);
const PHOTOMETRIC: Tag = (0x0028, 0x0004);
const PLANAR: Tag = (0x0028, 0x0006);
const FRAMES: Tag = (0x0028, 0x0008);
const BITS_ALLOCATED: Tag = (0x0028, 0x0100);
const BITS_STORED: Tag = (0x0028, 0x0101);
const HIGH_BIT: Tag = (0x0028, 0x0102);
const PIXEL_REPRESENTATION: Tag = (0x0028, 0x0103);
const WINDOW_CENTER: Tag = (0x0028, 0x1050);
const WINDOW_WIDTH: Tag = (0x0028, 0x1051);
const RESCALE_INTERCEPT: Tag = (0x0028, 0x1052);
const RESCALE_SLOPE: Tag = (0x0028, 0x1053);
const PALETTE_DESCRIPTORS: [Tag; 3] = [(0x0028, 0x1101), (0x0028, 0x1102), (0x0028, 0x1103)];
const PALETTE_DATA: [Tag; 3] = [(0x0028, 0x1201), (0x0028, 0x1202), (0x0028, 0x1203)];
const PER_FRAME_GROUPS: Tag = (0x5200, 0x9230);
const PIXEL_DATA: Tag = (0x7FE0, 0x0010);
const FLOAT_PIXEL_DATA: Tag = (0x7FE0, 0x0008);
const DOUBLE_PIXEL_DATA: Tag = (0x7FE0, 0x0009);

#[derive(Clone, Debug)]
enum V {
    Str(String),
    U16(Vec<u16>),
    U32(Vec<u32>),
    /// OB: bytes, whatever the byte order.
    Bytes(Vec<u8>),
    /// Bytes as they are, even an odd number (malformed on purpose).
    Raw(Vec<u8>),
    /// OW: 16-bit words (swapped in big endian).
    Words(Vec<u16>),
    F32(Vec<f32>),
    F64(Vec<f64>),
    /// Encapsulated pixel data: basic offset table, fragments.
    Encapsulated(Vec<u32>, Vec<Vec<u8>>),
    /// A sequence of items (defined lengths).
    Seq(Vec<Vec<Elem>>),
}

#[derive(Clone, Debug)]
struct Elem {
    tag: Tag,
    vr: [u8; 2],
    value: V,
}

#[derive(Clone, Copy, PartialEq)]
enum Enc {
    ExplicitLe,
    ImplicitLe,
    ExplicitBe,
}

fn long_vr(vr: [u8; 2]) -> bool {
    matches!(
        &vr,
        b"OB" | b"OW" | b"OF" | b"OD" | b"OL" | b"OV" | b"SQ" | b"UN" | b"UT" | b"UC" | b"UR"
    )
}

fn put16(out: &mut Vec<u8>, v: u16, be: bool) {
    out.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() });
}

fn put32(out: &mut Vec<u8>, v: u32, be: bool) {
    out.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() });
}

fn value_bytes(e: &Elem, enc: Enc) -> Vec<u8> {
    let be = enc == Enc::ExplicitBe;
    let mut out = Vec::new();
    match &e.value {
        V::Str(s) => {
            out.extend_from_slice(s.as_bytes());
            if out.len() % 2 == 1 {
                out.push(if &e.vr == b"UI" { 0 } else { b' ' });
            }
        }
        V::U16(v) | V::Words(v) => v.iter().for_each(|&x| put16(&mut out, x, be)),
        V::U32(v) => v.iter().for_each(|&x| put32(&mut out, x, be)),
        V::Bytes(b) => {
            out.extend_from_slice(b);
            if out.len() % 2 == 1 {
                out.push(0);
            }
        }
        V::Raw(b) => out.extend_from_slice(b),
        V::F32(v) => v.iter().for_each(|&x| put32(&mut out, x.to_bits(), be)),
        V::F64(v) => v.iter().for_each(|&x| {
            let b = x.to_bits();
            out.extend_from_slice(&if be { b.to_be_bytes() } else { b.to_le_bytes() });
        }),
        V::Encapsulated(..) => unreachable!("encapsulated values are written by encode_elem"),
        V::Seq(items) => {
            for item in items {
                let body = encode_elems(item, enc);
                put16(&mut out, 0xFFFE, be);
                put16(&mut out, 0xE000, be);
                put32(&mut out, body.len() as u32, be);
                out.extend_from_slice(&body);
            }
        }
    }
    out
}

fn encode_elem(out: &mut Vec<u8>, e: &Elem, enc: Enc) {
    let be = enc == Enc::ExplicitBe;
    put16(out, e.tag.0, be);
    put16(out, e.tag.1, be);
    if let V::Encapsulated(table, fragments) = &e.value {
        out.extend_from_slice(b"OB\0\0");
        put32(out, 0xFFFF_FFFF, be);
        let item = |out: &mut Vec<u8>, body: &[u8]| {
            put16(out, 0xFFFE, be);
            put16(out, 0xE000, be);
            put32(out, body.len() as u32, be);
            out.extend_from_slice(body);
        };
        let table: Vec<u8> = table.iter().flat_map(|o| o.to_le_bytes()).collect();
        item(out, &table);
        for f in fragments {
            item(out, f);
        }
        put16(out, 0xFFFE, be);
        put16(out, 0xE0DD, be);
        put32(out, 0, be);
        return;
    }
    let value = value_bytes(e, enc);
    match enc {
        Enc::ImplicitLe => put32(out, value.len() as u32, false),
        Enc::ExplicitLe | Enc::ExplicitBe => {
            out.extend_from_slice(&e.vr);
            if long_vr(e.vr) {
                out.extend_from_slice(&[0, 0]);
                put32(out, value.len() as u32, be);
            } else {
                put16(out, value.len() as u16, be);
            }
        }
    }
    out.extend_from_slice(&value);
}

fn encode_elems(elems: &[Elem], enc: Enc) -> Vec<u8> {
    let mut sorted: Vec<&Elem> = elems.iter().collect();
    sorted.sort_by_key(|e| e.tag);
    let mut out = Vec::new();
    for e in sorted {
        encode_elem(&mut out, e, enc);
    }
    out
}

/// Raw deflate (RFC 1951) with stored blocks only: what a DICOM deflated data set is, uncompressed.
fn deflate_stored(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let chunks: Vec<&[u8]> = data.chunks(65_535).collect();
    for (k, chunk) in chunks.iter().enumerate() {
        out.push(u8::from(k + 1 == chunks.len())); // BFINAL, BTYPE 00
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    if chunks.is_empty() {
        out.extend_from_slice(&[1, 0, 0, 0xFF, 0xFF]);
    }
    out
}

/// One synthesized image: its data set and transfer syntax.
#[derive(Clone)]
struct Image {
    name: String,
    ts: &'static str,
    elems: Vec<Elem>,
    /// A finished file instead (the demo phantom).
    raw: Option<Vec<u8>>,
}

impl Image {
    fn set(&mut self, tag: Tag, vr: &[u8; 2], value: V) -> &mut Self {
        self.elems.retain(|e| e.tag != tag);
        self.elems.push(Elem {
            tag,
            vr: *vr,
            value,
        });
        self
    }
    fn us(&mut self, tag: Tag, v: u16) -> &mut Self {
        self.set(tag, b"US", V::U16(vec![v]))
    }
    fn s(&mut self, tag: Tag, vr: &[u8; 2], v: &str) -> &mut Self {
        self.set(tag, vr, V::Str(v.into()))
    }
    fn remove(&mut self, tag: Tag) -> &mut Self {
        self.elems.retain(|e| e.tag != tag);
        self
    }
    fn get(&self, tag: Tag) -> Option<&V> {
        self.elems.iter().find(|e| e.tag == tag).map(|e| &e.value)
    }
    fn elem(&self, tag: Tag) -> Option<&Elem> {
        self.elems.iter().find(|e| e.tag == tag)
    }

    /// The Part 10 file: preamble, DICM, meta group, data set.
    fn file(&self) -> Vec<u8> {
        if let Some(raw) = &self.raw {
            return raw.clone();
        }
        let meta = [
            Elem {
                tag: (0x0002, 0x0001),
                vr: *b"OB",
                value: V::Bytes(vec![0, 1]),
            },
            Elem {
                tag: (0x0002, 0x0002),
                vr: *b"UI",
                value: V::Str("1.2.840.10008.5.1.4.1.1.7".into()),
            },
            Elem {
                tag: (0x0002, 0x0003),
                vr: *b"UI",
                value: V::Str("2.25.1234".into()),
            },
            Elem {
                tag: (0x0002, 0x0010),
                vr: *b"UI",
                value: V::Str(self.ts.into()),
            },
        ];
        let meta_body = encode_elems(&meta, Enc::ExplicitLe);
        let mut out = vec![0u8; 128];
        out.extend_from_slice(b"DICM");
        encode_elem(
            &mut out,
            &Elem {
                tag: (0x0002, 0x0000),
                vr: *b"UL",
                value: V::U32(vec![meta_body.len() as u32]),
            },
            Enc::ExplicitLe,
        );
        out.extend_from_slice(&meta_body);
        let ds = match self.ts {
            IMPLICIT_LE => encode_elems(&self.elems, Enc::ImplicitLe),
            EXPLICIT_BE => encode_elems(&self.elems, Enc::ExplicitBe),
            DEFLATED => deflate_stored(&encode_elems(&self.elems, Enc::ExplicitLe)),
            _ => encode_elems(&self.elems, Enc::ExplicitLe),
        };
        out.extend_from_slice(&ds);
        out
    }
}

/// Deterministic bytes (xorshift), so every run checks the same inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Layout of a synthesized image.
#[derive(Clone, Copy)]
struct Layout {
    rows: u16,
    columns: u16,
    frames: u32,
    samples: u16,
    photometric: &'static str,
    planar: u16,
    allocated: u16,
    stored: u16,
    signed: bool,
}

const MONO16: Layout = Layout {
    rows: 5,
    columns: 3,
    frames: 1,
    samples: 1,
    photometric: "MONOCHROME2",
    planar: 0,
    allocated: 16,
    stored: 16,
    signed: false,
};

/// An image with the header of `l` and `pixel` as Pixel Data (or no Pixel Data element at all).
fn image(name: &str, ts: &'static str, l: Layout, pixel: Option<(Tag, &[u8; 2], V)>) -> Image {
    let mut i = Image {
        name: name.into(),
        ts,
        elems: Vec::new(),
        raw: None,
    };
    i.s((0x0008, 0x0016), b"UI", "1.2.840.10008.5.1.4.1.1.7")
        .s((0x0008, 0x0018), b"UI", "2.25.1234")
        .s((0x0008, 0x0060), b"CS", "OT")
        .s((0x0010, 0x0010), b"PN", "FUZZ^SYNTHETIC")
        .s((0x0020, 0x000D), b"UI", "2.25.1")
        .s((0x0020, 0x000E), b"UI", "2.25.2")
        .s((0x0020, 0x0013), b"IS", "1")
        .s((0x0020, 0x0032), b"DS", "0\\0\\0")
        .s((0x0020, 0x0037), b"DS", "1\\0\\0\\0\\1\\0")
        .s((0x0028, 0x0030), b"DS", "0.5\\0.5")
        .us(SAMPLES, l.samples)
        .s(PHOTOMETRIC, b"CS", l.photometric)
        .us(ROWS, l.rows)
        .us(COLUMNS, l.columns)
        .us(BITS_ALLOCATED, l.allocated)
        .us(BITS_STORED, l.stored)
        .us(HIGH_BIT, l.stored.saturating_sub(1))
        .us(PIXEL_REPRESENTATION, u16::from(l.signed))
        .s(WINDOW_CENTER, b"DS", "100")
        .s(WINDOW_WIDTH, b"DS", "400")
        .s(RESCALE_INTERCEPT, b"DS", "-1024")
        .s(RESCALE_SLOPE, b"DS", "1");
    if l.samples > 1 {
        i.us(PLANAR, l.planar);
    }
    if l.frames != 1 {
        i.s(FRAMES, b"IS", &l.frames.to_string());
    }
    if let Some((tag, vr, v)) = pixel {
        i.set(tag, vr, v);
    }
    i
}

/// Native pixel bytes of the right length for `l` (random values: the core masks to Bits Stored).
fn native_bytes(l: Layout, rng: &mut Rng) -> Vec<u8> {
    let pixels = usize::from(l.rows) * usize::from(l.columns) * l.frames as usize;
    let values = if l.photometric == "YBR_FULL_422" {
        pixels * 2
    } else {
        pixels * usize::from(l.samples)
    };
    let n = if l.allocated == 1 {
        values.div_ceil(8)
    } else {
        values * usize::from(l.allocated / 8)
    };
    rng.bytes(n)
}

fn native(name: &str, ts: &'static str, l: Layout, rng: &mut Rng) -> Image {
    let bytes = native_bytes(l, rng);
    let value = if l.allocated > 8 && ts == EXPLICIT_BE {
        // OW: words, so the writer swaps them as big endian requires
        V::Words(
            bytes
                .chunks(2)
                .map(|c| u16::from_le_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                .collect(),
        )
    } else {
        V::Bytes(bytes)
    };
    let vr = if l.allocated > 8 { b"OW" } else { b"OB" };
    image(name, ts, l, Some((PIXEL_DATA, vr, value)))
}

/// RLE (PS3.5 G): one segment per sample and byte, most significant byte first, in literal runs.
fn rle_frame(l: Layout, rng: &mut Rng) -> Vec<u8> {
    let pixels = usize::from(l.rows) * usize::from(l.columns);
    let segments = usize::from(l.samples) * usize::from(l.allocated / 8);
    let mut bodies = Vec::new();
    for _ in 0..segments {
        let plane = rng.bytes(pixels);
        let mut body = Vec::new();
        for run in plane.chunks(128) {
            body.push((run.len() - 1) as u8);
            body.extend_from_slice(run);
        }
        if body.len() % 2 == 1 {
            body.push(0x80); // no-op run: segments are even
        }
        bodies.push(body);
    }
    let mut out = Vec::new();
    out.extend_from_slice(&(segments as u32).to_le_bytes());
    let mut offsets = [0u32; 15];
    let mut offset = 64u32;
    for (slot, body) in offsets.iter_mut().zip(&bodies) {
        *slot = offset;
        offset += body.len() as u32;
    }
    for o in offsets {
        out.extend_from_slice(&o.to_le_bytes());
    }
    for b in bodies {
        out.extend_from_slice(&b);
    }
    out
}

fn rle(name: &str, l: Layout, rng: &mut Rng) -> Image {
    let frames: Vec<Vec<u8>> = (0..l.frames).map(|_| rle_frame(l, rng)).collect();
    let mut table = Vec::new();
    let mut at = 0u32;
    for f in &frames {
        table.push(at);
        at += f.len() as u32 + 8;
    }
    image(
        name,
        RLE,
        l,
        Some((PIXEL_DATA, b"OB", V::Encapsulated(table, frames))),
    )
}

/// The base images, each a correct file of one pixel layout.
fn base_images() -> Vec<Image> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let rng = &mut rng;
    let mut out = vec![
        native("mono16", EXPLICIT_LE, MONO16, rng),
        native(
            "mono12-signed-2f",
            EXPLICIT_LE,
            Layout {
                frames: 2,
                stored: 12,
                signed: true,
                ..MONO16
            },
            rng,
        ),
        native(
            "mono1-8bit",
            EXPLICIT_LE,
            Layout {
                photometric: "MONOCHROME1",
                allocated: 8,
                stored: 8,
                rows: 4,
                columns: 7,
                ..MONO16
            },
            rng,
        ),
        native(
            "mono8-signed-6",
            EXPLICIT_LE,
            Layout {
                allocated: 8,
                stored: 6,
                signed: true,
                ..MONO16
            },
            rng,
        ),
        native(
            "bits1-3f",
            EXPLICIT_LE,
            Layout {
                allocated: 1,
                stored: 1,
                frames: 3,
                rows: 3,
                columns: 5,
                ..MONO16
            },
            rng,
        ),
        native(
            "mono32",
            EXPLICIT_LE,
            Layout {
                allocated: 32,
                stored: 32,
                ..MONO16
            },
            rng,
        ),
        native(
            "mono32-signed-24",
            EXPLICIT_LE,
            Layout {
                allocated: 32,
                stored: 24,
                signed: true,
                ..MONO16
            },
            rng,
        ),
        native(
            "rgb-planar",
            EXPLICIT_LE,
            Layout {
                samples: 3,
                photometric: "RGB",
                planar: 1,
                allocated: 8,
                stored: 8,
                ..MONO16
            },
            rng,
        ),
        native(
            "rgb16",
            EXPLICIT_LE,
            Layout {
                samples: 3,
                photometric: "RGB",
                ..MONO16
            },
            rng,
        ),
        native(
            "ybr422",
            EXPLICIT_LE,
            Layout {
                samples: 3,
                photometric: "YBR_FULL_422",
                allocated: 8,
                stored: 8,
                columns: 4,
                ..MONO16
            },
            rng,
        ),
        native("mono16-be", EXPLICIT_BE, MONO16, rng),
        native(
            "mono12-implicit",
            IMPLICIT_LE,
            Layout {
                stored: 12,
                ..MONO16
            },
            rng,
        ),
        native(
            "mono8-deflated",
            DEFLATED,
            Layout {
                allocated: 8,
                stored: 8,
                ..MONO16
            },
            rng,
        ),
        rle(
            "rle8",
            Layout {
                allocated: 8,
                stored: 8,
                ..MONO16
            },
            rng,
        ),
        rle(
            "rle16-signed-2f",
            Layout {
                frames: 2,
                signed: true,
                ..MONO16
            },
            rng,
        ),
        rle(
            "rle-rgb",
            Layout {
                samples: 3,
                photometric: "RGB",
                allocated: 8,
                stored: 8,
                ..MONO16
            },
            rng,
        ),
    ];
    // palette colour: 8-bit indices, 16-bit entries
    let pal_layout = Layout {
        photometric: "PALETTE COLOR",
        allocated: 8,
        stored: 8,
        ..MONO16
    };
    let mut pal = native("palette", EXPLICIT_LE, pal_layout, rng);
    for (k, (d, t)) in PALETTE_DESCRIPTORS.iter().zip(PALETTE_DATA).enumerate() {
        pal.set(*d, b"US", V::U16(vec![256, 0, 16]));
        pal.set(
            t,
            b"OW",
            V::Words(
                (0..256u32)
                    .map(|v| (v * 257) as u16 ^ (k as u16 * 0x1111))
                    .collect(),
            ),
        );
    }
    out.push(pal);
    // float and double pixel data
    let float_layout = Layout {
        allocated: 32,
        stored: 32,
        ..MONO16
    };
    let mut f32s = image("float32", EXPLICIT_LE, float_layout, None);
    let values: Vec<f32> = (0..15).map(|v| v as f32 * 1.5 - 7.0).collect();
    f32s.set(FLOAT_PIXEL_DATA, b"OF", V::F32(values))
        .remove(BITS_STORED)
        .remove(HIGH_BIT);
    out.push(f32s);
    let mut f64s = image(
        "float64",
        EXPLICIT_LE,
        Layout {
            allocated: 64,
            stored: 64,
            ..MONO16
        },
        None,
    );
    let values: Vec<f64> = (0..15).map(|v| f64::from(v) * -0.25).collect();
    f64s.set(DOUBLE_PIXEL_DATA, b"OD", V::F64(values))
        .remove(BITS_STORED)
        .remove(HIGH_BIT);
    out.push(f64s);
    // multi-frame with per-frame functional groups (position, rescale, window per frame)
    let mut enhanced = native(
        "enhanced-2f",
        EXPLICIT_LE,
        Layout {
            frames: 2,
            ..MONO16
        },
        rng,
    );
    enhanced.set(PER_FRAME_GROUPS, b"SQ", V::Seq(per_frame_items(2)));
    out.push(enhanced);
    // dicom-rs out of step (see KNOWN_OVER_BUDGET): a UL of 7 bytes, then a UL of 50 bytes whose length
    // dicom-rs reads 3 bytes early, as 0x32000000
    let mut desync = native("ul-length-3-mod-4", IMPLICIT_LE, MONO16, rng);
    desync
        .set((0x0000, 0x0000), b"UL", V::Raw(vec![1, 0, 0, 0, 0, 0, 0]))
        .set((0x0000, 0x0001), b"UL", V::Raw(vec![0; 50]));
    // as a finished file: its mutations would each zero 838 MB
    desync.raw = Some(desync.file());
    out.push(desync);
    // the demo phantom, as `lucent demo` writes it
    let series = PhantomSeries::new(&PhantomSpec { size: 8, slices: 2 }).expect("phantom");
    let phantom = series
        .encode_slice(1, &mut Vec::new())
        .expect("phantom slice");
    out.push(Image {
        name: "phantom".into(),
        ts: EXPLICIT_LE,
        elems: Vec::new(),
        raw: Some(phantom),
    });
    out
}

fn item(elems: &[(Tag, &[u8; 2], V)]) -> Vec<Elem> {
    elems
        .iter()
        .map(|(tag, vr, value)| Elem {
            tag: *tag,
            vr: **vr,
            value: value.clone(),
        })
        .collect()
}

/// Per-frame functional group items: Plane Position, Pixel Value Transformation, Frame VOI LUT.
fn per_frame_items(n: usize) -> Vec<Vec<Elem>> {
    (0..n)
        .map(|k| {
            let z = format!("0\\0\\{}", k * 2);
            item(&[
                (
                    (0x0020, 0x9113),
                    b"SQ",
                    V::Seq(vec![item(&[((0x0020, 0x0032), b"DS", V::Str(z))])]),
                ),
                (
                    (0x0028, 0x9132),
                    b"SQ",
                    V::Seq(vec![item(&[
                        (WINDOW_CENTER, b"DS", V::Str("40".into())),
                        (WINDOW_WIDTH, b"DS", V::Str(format!("{}", 100 * k))),
                    ])]),
                ),
                (
                    (0x0028, 0x9145),
                    b"SQ",
                    V::Seq(vec![item(&[
                        (RESCALE_INTERCEPT, b"DS", V::Str(format!("-{k}"))),
                        (RESCALE_SLOPE, b"DS", V::Str("2".into())),
                    ])]),
                ),
            ])
        })
        .collect()
}

/// Every mutation of one base image: (what, file bytes).
fn mutations(base: &Image) -> Vec<(String, Vec<u8>)> {
    let whole = base.file();
    let mut out = vec![("as is".to_string(), whole.clone())];
    // cut at a few lengths (corpus.rs cuts real files everywhere; these are the layouts it may lack)
    for cut in [132, 300, whole.len() / 2, whole.len() - 2] {
        out.push((
            format!("cut at {cut}"),
            whole[..cut.min(whole.len())].to_vec(),
        ));
    }
    if base.raw.is_some() {
        return out; // the phantom: a finished file
    }
    let mut variant = |what: String, f: &dyn Fn(&mut Image)| {
        let mut i = base.clone();
        f(&mut i);
        out.push((what, i.file()));
    };
    let us_values: &[(Tag, &[u16])] = &[
        (ROWS, &[0, 1, 2, 4, 6, 255, 256, 4096, 65535]),
        (COLUMNS, &[0, 1, 2, 4, 6, 255, 256, 4096, 65535]),
        (SAMPLES, &[0, 1, 2, 3, 4, 5, 65535]),
        (PLANAR, &[0, 1, 2, 65535]),
        (BITS_ALLOCATED, &[0, 1, 7, 8, 12, 16, 24, 32, 64, 65535]),
        (
            BITS_STORED,
            &[0, 1, 2, 7, 8, 11, 12, 15, 16, 17, 31, 32, 33, 64, 65535],
        ),
        (
            HIGH_BIT,
            &[0, 1, 6, 7, 8, 11, 15, 16, 23, 31, 32, 63, 65535],
        ),
        (PIXEL_REPRESENTATION, &[0, 1, 2, 65535]),
    ];
    for (tag, values) in us_values {
        for &v in *values {
            variant(format!("{tag:04X?} = {v}"), &|i| {
                i.us(*tag, v);
            });
        }
        variant(format!("{tag:04X?} removed"), &|i| {
            i.remove(*tag);
        });
        variant(format!("{tag:04X?} empty"), &|i| {
            i.set(*tag, b"US", V::U16(Vec::new()));
        });
    }
    for v in [
        "0",
        "1",
        "2",
        "3",
        "-1",
        "99999",
        "100000",
        "100001",
        "4294967297",
        "abc",
        "",
        " 2 ",
    ] {
        variant(format!("frames = {v:?}"), &|i| {
            i.s(FRAMES, b"IS", v);
        });
    }
    for v in [
        "MONOCHROME1",
        "MONOCHROME2",
        "RGB",
        "YBR_FULL",
        "YBR_FULL_422",
        "YBR_PARTIAL_420",
        "YBR_ICT",
        "YBR_RCT",
        "PALETTE COLOR",
        "ARGB",
        "CMYK",
        "HSV",
        "monochrome2",
        "",
    ] {
        variant(format!("photometric = {v:?}"), &|i| {
            i.s(PHOTOMETRIC, b"CS", v);
        });
    }
    for (tag, values) in [
        (RESCALE_SLOPE, ["0", "-1", "1e308", "NaN", "inf", "x"]),
        (
            RESCALE_INTERCEPT,
            ["0", "-1e308", "1e308", "NaN", "-inf", "x"],
        ),
        (WINDOW_CENTER, ["0", "-1e308", "1e308", "NaN", "inf", "x"]),
        (WINDOW_WIDTH, ["0", "-1", "0.5", "1e308", "NaN", "x"]),
    ] {
        for v in values {
            variant(format!("{tag:04X?} = {v}"), &|i| {
                i.s(tag, b"DS", v);
            });
        }
    }
    // palette descriptors: entries (0 means 65536), first mapped, bits
    for d in [
        [0, 0, 16],
        [1, 0, 16],
        [256, 0, 8],
        [256, 65535, 16],
        [256, 200, 16],
        [65535, 0, 16],
        [16, 0, 16],
        [256, 0, 0],
        [256, 0, 17],
    ] {
        variant(format!("palette descriptor {d:?}"), &|i| {
            for t in PALETTE_DESCRIPTORS {
                i.set(t, b"US", V::U16(d.to_vec()));
            }
            i.s(PHOTOMETRIC, b"CS", "PALETTE COLOR").us(SAMPLES, 1);
        });
    }
    variant("palette data short".into(), &|i| {
        for t in PALETTE_DATA {
            i.set(t, b"OW", V::Words(vec![1, 2, 3]));
        }
        i.s(PHOTOMETRIC, b"CS", "PALETTE COLOR").us(SAMPLES, 1);
    });
    // pixel data: shorter, longer, empty, as another VR; other transfer syntaxes
    let pixel = [PIXEL_DATA, FLOAT_PIXEL_DATA, DOUBLE_PIXEL_DATA]
        .into_iter()
        .find(|t| base.get(*t).is_some());
    if let Some(Elem { tag, vr, value: v }) = pixel.and_then(|t| base.elem(t)).cloned() {
        variant("no pixel data".into(), &|i| {
            i.remove(tag);
        });
        let raw: Option<Vec<u8>> = match &v {
            V::Bytes(b) => Some(b.clone()),
            V::Words(w) => Some(w.iter().flat_map(|x| x.to_le_bytes()).collect()),
            V::F32(f) => Some(f.iter().flat_map(|x| x.to_le_bytes()).collect()),
            V::F64(f) => Some(f.iter().flat_map(|x| x.to_le_bytes()).collect()),
            _ => None,
        };
        if let Some(b) = &raw {
            for len in [0, 1, b.len() / 2, b.len().saturating_sub(1), b.len() + 2] {
                let mut data = b.clone();
                data.resize(len, 0xA5);
                variant(format!("pixel data of {len} bytes"), &|i| {
                    i.set(tag, &vr, V::Bytes(data.clone()));
                });
            }
            variant("pixel data as OW".into(), &|i| {
                let words = b
                    .chunks(2)
                    .map(|c| u16::from_le_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                    .collect();
                i.set(tag, b"OW", V::Words(words));
            });
            // native data under every compressed transfer syntax, and encapsulated as is
            for ts in [
                RLE,
                "1.2.840.10008.1.2.4.50",
                "1.2.840.10008.1.2.4.90",
                "1.2.840.10008.1.2.4.201",
                "1.2.840.10008.1.2.4.80",
                "1.2.3.4",
            ] {
                variant(format!("native data declared {ts}"), &|i| i.ts = ts);
                variant(format!("raw bytes encapsulated as {ts}"), &|i| {
                    i.ts = ts;
                    i.set(tag, b"OB", V::Encapsulated(Vec::new(), vec![b.clone()]));
                });
            }
        }
        if let V::Encapsulated(table, fragments) = &v {
            encapsulation_variants(table, fragments, &mut |what, table, fragments| {
                variant(what, &|i| {
                    i.set(
                        tag,
                        b"OB",
                        V::Encapsulated(table.to_vec(), fragments.to_vec()),
                    );
                });
            });
            variant("encapsulated data declared native".into(), &|i| {
                i.ts = EXPLICIT_LE;
            });
        }
    }
    // per-frame functional groups: fewer or more items than frames
    if base.get(PER_FRAME_GROUPS).is_some() {
        for n in [0, 1, 3] {
            variant(format!("{n} per-frame items"), &|i| {
                i.set(PER_FRAME_GROUPS, b"SQ", V::Seq(per_frame_items(n)));
            });
        }
    }
    out
}

/// Receives one variant of encapsulated pixel data: what it is, offset table, fragments.
type EncapsulationSink<'a> = &'a mut dyn FnMut(String, &[u32], &[Vec<u8>]);

/// Encapsulated pixel data taken apart: offset tables and fragments that disagree with the header.
fn encapsulation_variants(table: &[u32], fragments: &[Vec<u8>], out: EncapsulationSink) {
    let none: Vec<u32> = Vec::new();
    out("no offset table".into(), &none, fragments);
    out("no fragments".into(), table, &[]);
    out(
        "offset table past the end".into(),
        &table.iter().map(|o| o + 1_000_000).collect::<Vec<_>>(),
        fragments,
    );
    out(
        "offset table decreasing".into(),
        &table.iter().rev().copied().collect::<Vec<_>>(),
        fragments,
    );
    let mut split = Vec::new();
    for f in fragments {
        let (a, b) = f.split_at(f.len() / 2);
        split.push(a.to_vec());
        split.push(b.to_vec());
    }
    out("fragments split in two".into(), table, &split);
    out("fragments split, no table".into(), &none, &split);
    out("one fragment".into(), &none, &[fragments.concat()]);
    type Edit = (&'static str, fn(&mut Vec<u8>));
    let edits: [Edit; 10] = [
        ("segment count 0", |h: &mut Vec<u8>| {
            h[0..4].copy_from_slice(&0u32.to_le_bytes())
        }),
        ("segment count 16", |h: &mut Vec<u8>| {
            h[0..4].copy_from_slice(&16u32.to_le_bytes())
        }),
        ("segment count 15", |h: &mut Vec<u8>| {
            h[0..4].copy_from_slice(&15u32.to_le_bytes())
        }),
        ("first offset 0", |h: &mut Vec<u8>| {
            h[4..8].copy_from_slice(&0u32.to_le_bytes())
        }),
        ("first offset past the end", |h: &mut Vec<u8>| {
            h[4..8].copy_from_slice(&u32::MAX.to_le_bytes())
        }),
        ("second offset before the first", |h: &mut Vec<u8>| {
            h[8..12].copy_from_slice(&8u32.to_le_bytes())
        }),
        ("header only", |h: &mut Vec<u8>| h.truncate(64)),
        ("header cut", |h: &mut Vec<u8>| h.truncate(10)),
        ("runs cut", |h: &mut Vec<u8>| {
            let n = h.len();
            h.truncate(n - 3)
        }),
        ("replicate runs", |h: &mut Vec<u8>| {
            for b in h.iter_mut().skip(64).step_by(7) {
                *b = 0x81; // -127: repeat the next byte 128 times
            }
        }),
    ];
    for (what, f) in edits {
        let changed: Vec<Vec<u8>> = fragments
            .iter()
            .map(|frag| {
                let mut h = frag.clone();
                if h.len() >= 64 {
                    f(&mut h);
                }
                h
            })
            .collect();
        out(format!("RLE {what}"), table, &changed);
    }
}

#[test]
fn synthesized_malformed_inputs_satisfy_the_laws() {
    let mut failures = Vec::new();
    let mut total = 0usize;
    let mut decoded_frames = 0usize;
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    for base in base_images() {
        for (what, data) in mutations(&base) {
            total += 1;
            let label = format!("{} / {what}", base.name);
            if let Err(why) = check(&label, &data) {
                failures.push(format!("{label}: {why}"));
                continue;
            }
            match viewer_core::ingest::read_instance(laws::PATH, data) {
                Ok(i) => {
                    for f in 0..i.frames() {
                        match viewer_core::decode::decode_frame(&i, f) {
                            Ok(_) => decoded_frames += 1,
                            Err(e) => *errors.entry(e.code().as_str().into()).or_default() += 1,
                        }
                    }
                }
                Err(e) => *errors.entry(e.code().as_str().into()).or_default() += 1,
            }
        }
    }
    eprintln!(
        "synthesized: {total} inputs, {decoded_frames} frames decoded and checked, errors by code {errors:?}, \
         {} allocations over the limit refused (and handled) so far",
        alloc::refused()
    );
    assert!(
        failures.is_empty(),
        "{} of {total} synthesized inputs break the laws:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // not a no-op: many inputs decode (and are checked frame by frame), many are refused
    assert!(total > 1000, "only {total} synthesized inputs");
    assert!(decoded_frames > 300, "only {decoded_frames} frames decoded");
    assert!(errors.len() >= 4, "too few kinds of error: {errors:?}");
}

/// The corpus files `cargo xtask fuzz` seeds the fuzzers with (the smallest decodable file of each
/// transfer syntax, and of each photometric interpretation and Bits Allocated up to 64 kB: see
/// xtask/src/fuzz.rs), through the laws.
#[test]
fn fuzz_seed_files_satisfy_the_laws() {
    let Some(corpus) = corpus_dir() else { return };
    let mut picked: BTreeMap<Vec<String>, (bool, u64, String)> = BTreeMap::new();
    for row in expected_rows(&corpus) {
        let file = row.get("file");
        let Ok(meta) = std::fs::metadata(corpus.join(file)) else {
            continue;
        };
        let syntax = if row.get("ts").is_empty() {
            row.get("ts_name")
        } else {
            row.get("ts")
        };
        let candidate = (row.get("status") == "decoded", meta.len(), file.to_string());
        let rank = |c: &(bool, u64, String)| (c.0, std::cmp::Reverse(c.1));
        let mut keep = |key: Vec<String>| {
            if picked
                .get(&key)
                .is_none_or(|old| rank(&candidate) > rank(old))
            {
                picked.insert(key, candidate.clone());
            }
        };
        if meta.len() <= 400_000 {
            keep(vec![syntax.into()]);
        }
        if meta.len() <= 64_000 {
            keep(vec![
                syntax.into(),
                row.get("pi").into(),
                row.get("ba").into(),
            ]);
        }
    }
    let files: std::collections::BTreeSet<String> =
        picked.into_values().map(|(_, _, f)| f).collect();
    let mut failures = Vec::new();
    for file in &files {
        let data = std::fs::read(corpus.join(file)).expect("read a corpus file");
        if let Err(why) = check(file, &data) {
            failures.push(format!("{file}: {why}"));
        }
    }
    eprintln!("fuzz seeds: {} corpus files", files.len());
    assert!(files.len() >= 20, "too few seed files: {}", files.len());
    assert!(
        failures.is_empty(),
        "corpus files break the fuzz laws:\n{}",
        failures.join("\n")
    );
}
