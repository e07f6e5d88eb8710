//! The laws the fuzz targets check, in one place.
//!
//! Used by the cargo-fuzz targets (`fuzz/fuzz_targets/*.rs`, through `fuzz/src/lib.rs`) and, on stable
//! `cargo test` without cargo-fuzz, by `tests/tests/fuzz_regressions.rs` (through `#[path]`), which replays
//! every file of `fuzz/regressions/` and a generated set of malformed inputs through the same functions.
//! Only `std` and `viewer-core`: this file must compile in both crates.
//!
//! A law that does not hold panics, which libFuzzer reports as a crash (and the test as a failure):
//!
//! * any input: [`read_instance`] returns, never panics or aborts, even when every allocation over
//!   [`MAX_ALLOCATION`] fails; an error carries a stable code and a sentence naming the file;
//! * a parsed header is within the limits ingest enforces before any allocation
//!   (`viewer_core::ingest::limits`) and describes pixels the decoder can shape: rows, columns, frames,
//!   samples per pixel, Bits Allocated/Stored, High Bit, Pixel Representation, Planar Configuration;
//! * every frame that decodes has exactly `rows x columns x samples per pixel` values, of the dtype Bits
//!   Allocated and Pixel Representation give, with no bit set outside Bits Stored (the normalisation of
//!   the corpus README, which the core implements);
//! * `normalize_all` is `frames x rows x columns x samples` values: the frames' bytes, in order;
//! * a frame renders, with every RGBA pixel written, exactly when it is displayable (1 or 3 samples, a
//!   palette when PALETTE COLOR), whatever the window;
//! * reading a file asks for no single allocation larger than [`parse_budget`] (16 MiB + 8x the input,
//!   the core's limit for a deflated data set): checked by the regression test, and by the fuzz targets
//!   only under `LUCENT_FUZZ_STRICT_ALLOC=1`, because dicom-rs still breaks it on known inputs (see
//!   `KNOWN_OVER_BUDGET` in tests/tests/fuzz_regressions.rs).

use viewer_core::decode::{decode_frame, normalize_all, Frame, Samples};
use viewer_core::ingest::{limits, read_instance, Instance};
use viewer_core::render::{check_displayable, render_frame};
use viewer_core::window::default_window;
use viewer_core::{Error, ErrorCode, RgbaImage, Window};

/// The path every input is read as (errors must name it).
pub const PATH: &str = "fuzz.dcm";

/// Frames larger than this (pixels) are decoded and checked but not rendered: the render buffer is 4 bytes
/// per pixel, which for a 1 GiB 8-bit frame would be 4 GiB, over the fuzzers' allocation limit, and it
/// would only measure memory bandwidth.
pub const RENDER_MAX_PIXELS: u64 = 1 << 22;

/// `normalize_all` (a second decode of every frame) is checked when the decoded size is at most this:
/// every small input, without halving the executions on large images.
pub const NORMALIZE_MAX_BYTES: u64 = 1 << 20;

/// The largest single allocation that may succeed: the core's decoded-size limit plus 64 MiB, the slack
/// ingest itself allows for an inflated data set. Larger requests fail (the allocator of
/// `fuzz/src/alloc.rs`, in the fuzz targets and the regression test), and the core must cope: a typed
/// error, never an abort. (libFuzzer's `-malloc_limit_mb`, passed too, only acts under a sanitizer.)
pub const MAX_ALLOCATION: usize = limits::MAX_DECODED_BYTES as usize + (64 << 20);

/// The `parse` target: read the input; on success check the header laws. Returns the largest single
/// allocation reading asked for; with `LUCENT_FUZZ_STRICT_ALLOC=1` it must be within the parse allocation
/// budget ([`check_parse_budget`]).
pub fn parse_target(data: &[u8]) -> usize {
    let _ = super::alloc::take_largest();
    let _ = parse(data);
    let largest = super::alloc::take_largest();
    if super::alloc::strict() {
        check_parse_budget(data, largest);
    }
    largest
}

/// Reading a file (header and raw pixel data, no decoding) allocates at most this in one piece: ingest's
/// pre-scan checks every length against the bytes there are, so nothing read can be much larger than the
/// input; only a deflated data set may inflate, up to the core's limit.
pub fn parse_budget(data: &[u8]) -> usize {
    let deflated = data.windows(22).any(|w| w == b"1.2.840.10008.1.2.1.99");
    if deflated {
        MAX_ALLOCATION
    } else {
        (16 << 20) + 8 * data.len()
    }
}

/// The parse allocation law: `largest`, the largest single request while reading `data`, is within
/// [`parse_budget`]. A larger one is a length from the file that nobody checked: in the browser it grows
/// the wasm memory for good. Checked by the regression test always (with its list of known exceptions)
/// and by the fuzz targets under `LUCENT_FUZZ_STRICT_ALLOC=1` (known exceptions exist, so not in CI).
pub fn check_parse_budget(data: &[u8], largest: usize) {
    assert!(
        largest <= parse_budget(data),
        "reading {} bytes asked for an allocation of {largest} bytes (budget {}): a length nobody checked",
        data.len(),
        parse_budget(data)
    );
}

/// The `decode` target: read the input, then decode (and render) every frame, checking every law.
pub fn decode_target(data: &[u8]) {
    if let Some(instance) = parse(data) {
        decode_all(&instance);
    }
}

/// Read `data` as a DICOM file; check the error or the header laws.
pub fn parse(data: &[u8]) -> Option<Instance> {
    match read_instance(PATH, data.to_vec()) {
        Ok(instance) => {
            check_header(&instance);
            Some(instance)
        }
        Err(e) => {
            check_error(&e, "read_instance");
            None
        }
    }
}

/// An error is typed and says which file it is about.
pub fn check_error(e: &Error, what: &str) {
    let text = e.to_string();
    assert!(
        !e.code().as_str().is_empty() && text.len() > PATH.len() + 8,
        "{what}: an error without a reason: {e:?}"
    );
    if !matches!(e.code(), ErrorCode::NotFound | ErrorCode::InvalidArgument) {
        assert!(
            text.contains(PATH),
            "{what}: the error does not name the file: {text}"
        );
    }
}

/// Header laws: what ingest promises before anything is allocated from header values.
pub fn check_header(i: &Instance) {
    let (rows, columns, frames) = (i.rows(), i.columns(), i.frames());
    let spp = i.samples_per_pixel();
    assert_eq!(i.path(), PATH);
    assert!(
        (1..=limits::MAX_DIM).contains(&rows) && (1..=limits::MAX_DIM).contains(&columns),
        "image size {columns}x{rows} outside 1..={}",
        limits::MAX_DIM
    );
    assert!(
        (1..=limits::MAX_FRAMES).contains(&frames),
        "{frames} frames outside 1..={}",
        limits::MAX_FRAMES
    );
    assert!(
        (1..=limits::MAX_SAMPLES).contains(&spp),
        "{spp} samples per pixel outside 1..={}",
        limits::MAX_SAMPLES
    );
    let (ba, bs, hb) = (i.bits_allocated(), i.bits_stored(), i.high_bit());
    assert!(
        matches!(ba, 1 | 8 | 16 | 32 | 64),
        "Bits Allocated {ba} accepted"
    );
    assert!(
        (1..=ba).contains(&bs),
        "Bits Stored {bs} with Bits Allocated {ba}"
    );
    assert!(hb < ba, "High Bit {hb} with Bits Allocated {ba}");
    match i.float_bits() {
        0 => assert!(ba != 64, "integer pixel data with Bits Allocated 64"),
        f @ (32 | 64) => assert_eq!(f, ba, "float pixel data of {f} bits, Bits Allocated {ba}"),
        f => panic!("float_bits {f}"),
    }
    assert!(
        i.pixel_representation() <= 1,
        "Pixel Representation {}",
        i.pixel_representation()
    );
    assert!(
        i.planar_configuration() <= 1,
        "Planar Configuration {}",
        i.planar_configuration()
    );
    assert!(
        decoded_bytes(i) <= limits::MAX_DECODED_BYTES,
        "{} decoded bytes accepted, limit {}",
        decoded_bytes(i),
        limits::MAX_DECODED_BYTES
    );
    assert!(!i.transfer_syntax().is_empty(), "no transfer syntax");
    // per-frame accessors are total for every frame, and one past the end
    for f in [0, frames / 2, frames - 1, frames] {
        let _ = (i.image_position(f), i.frame_rescale(f), i.frame_window(f));
    }
}

/// Values of one decoded frame: rows x columns x samples per pixel (the law).
pub fn frame_values(i: &Instance) -> u64 {
    u64::from(i.rows()) * u64::from(i.columns()) * u64::from(i.samples_per_pixel())
}

/// Bytes of all decoded frames, as ingest bounds them.
pub fn decoded_bytes(i: &Instance) -> u64 {
    frame_values(i) * u64::from(i.bits_allocated().div_ceil(8)) * u64::from(i.frames())
}

/// The dtype the corpus README gives for the header (1-bit data unpacked to bytes).
pub fn expected_dtype(i: &Instance) -> &'static str {
    let signed = i.pixel_representation() == 1;
    match (i.float_bits(), i.bits_allocated(), signed) {
        (32, _, _) => "f4",
        (64, _, _) => "f8",
        (_, 1, _) | (_, 8, false) => "u1",
        (_, 8, true) => "i1",
        (_, 16, false) => "u2",
        (_, 16, true) => "i2",
        (_, 32, false) => "u4",
        (_, 32, true) => "i4",
        (_, ba, _) => panic!("Bits Allocated {ba} passed ingest"),
    }
}

/// Decode every frame and check it; then `normalize_all` and rendering.
pub fn decode_all(i: &Instance) {
    let mut concat = Vec::new();
    let check_normalize = decoded_bytes(i) <= NORMALIZE_MAX_BYTES;
    let mut all_decoded = true;
    for f in 0..i.frames() {
        match decode_frame(i, f) {
            Ok(frame) => {
                check_frame(i, f, &frame);
                if check_normalize {
                    frame.data.extend_le_bytes(&mut concat);
                }
                if u64::from(i.rows()) * u64::from(i.columns()) <= RENDER_MAX_PIXELS {
                    check_render(i, &frame);
                }
            }
            Err(e) => {
                check_error(&e, "decode_frame");
                all_decoded = false;
            }
        }
    }
    assert!(
        decode_frame(i, i.frames()).is_err(),
        "a frame past the end decodes"
    );
    if check_normalize {
        match normalize_all(i) {
            Ok(n) => {
                assert!(all_decoded, "normalize_all succeeds where a frame fails");
                let mut shape = vec![i.frames() as usize, i.rows() as usize, i.columns() as usize];
                if i.samples_per_pixel() > 1 {
                    shape.push(usize::from(i.samples_per_pixel()));
                }
                assert_eq!(n.shape, shape, "normalize_all shape");
                assert_eq!(n.dtype, expected_dtype(i), "normalize_all dtype");
                assert_eq!(
                    n.bytes.len() as u64,
                    frame_values(i) * u64::from(i.frames()) * item_size(n.dtype),
                    "normalize_all length: rows x columns x samples x frames"
                );
                assert!(n.bytes == concat, "normalize_all is not the frames' bytes");
            }
            Err(e) => {
                check_error(&e, "normalize_all");
                assert!(
                    !all_decoded,
                    "normalize_all fails where every frame decodes: {e}"
                );
            }
        }
    }
}

fn item_size(dtype: &str) -> u64 {
    match dtype {
        "u1" | "i1" => 1,
        "u2" | "i2" => 2,
        "u4" | "i4" | "f4" => 4,
        _ => 8,
    }
}

/// The decode law for one frame.
pub fn check_frame(i: &Instance, index: u32, frame: &Frame) {
    assert_eq!(frame.index, index, "frame index");
    assert_eq!(
        (frame.rows, frame.columns, frame.samples_per_pixel),
        (i.rows(), i.columns(), i.samples_per_pixel()),
        "frame shape differs from the header"
    );
    assert_eq!(
        frame.data.len() as u64,
        frame_values(i),
        "frame {index}: {} values, rows x columns x samples = {}x{}x{}",
        frame.data.len(),
        i.rows(),
        i.columns(),
        i.samples_per_pixel()
    );
    assert_eq!(frame.data.dtype(), expected_dtype(i), "frame {index} dtype");
    // no bit outside Bits Stored (1-bit data: 0 or 1), signed where the dtype is (above: the header's)
    let bs = u32::from(if i.bits_allocated() == 1 {
        1
    } else {
        i.bits_stored().min(32)
    });
    let unsigned = |x: u64| x >> bs != 0;
    let signed = |x: i64| {
        let half = 1i64 << (bs - 1);
        !(-half..half).contains(&x)
    };
    let out_of_range = match &frame.data {
        Samples::U8(v) => v.iter().position(|&x| unsigned(x.into())),
        Samples::U16(v) => v.iter().position(|&x| unsigned(x.into())),
        Samples::U32(v) => v.iter().position(|&x| unsigned(x.into())),
        Samples::I8(v) => v.iter().position(|&x| signed(x.into())),
        Samples::I16(v) => v.iter().position(|&x| signed(x.into())),
        Samples::I32(v) => v.iter().position(|&x| signed(x.into())),
        Samples::F32(_) | Samples::F64(_) => None,
    };
    if let Some(at) = out_of_range {
        panic!(
            "frame {index}: value {} at {at} has bits outside Bits Stored {bs}",
            frame.data.get_f64(at)
        );
    }
}

/// Render with the default window and with an unusable one; every pixel must be written.
pub fn check_render(i: &Instance, frame: &Frame) {
    let displayable = check_displayable(i).is_ok() && matches!(frame.samples_per_pixel, 1 | 3);
    let windows = [
        default_window(i, frame),
        Window {
            center: f64::NAN,
            width: 0.0,
        },
    ];
    for window in windows {
        let mut out = RgbaImage::default();
        match render_frame(i, frame, window, &mut out) {
            Ok(()) => {
                assert!(displayable, "a non-displayable frame rendered");
                assert_eq!((out.width, out.height), (i.columns(), i.rows()));
                assert_eq!(
                    out.data.len() as u64,
                    u64::from(i.columns()) * u64::from(i.rows()) * 4
                );
                assert!(
                    out.data.chunks_exact(4).all(|p| p[3] == 255),
                    "render left pixels unwritten"
                );
            }
            Err(e) => {
                check_error(&e, "render_frame");
                assert!(!displayable, "a displayable frame did not render: {e}");
                // the frame has the right length (checked above): a refusal is about the format
                assert_ne!(e.code(), ErrorCode::CorruptPixelData, "render: {e}");
            }
        }
    }
}
