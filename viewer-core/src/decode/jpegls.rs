//! JPEG-LS lossless and near-lossless (ITU-T T.87 | ISO/IEC 14495-1; DICOM transfer
//! syntaxes 1.2.840.10008.1.2.4.80 and .81), pure Rust.
//!
//! Supported: 2..16 bits, 1..4 components, interleave none / line / sample, preset
//! coding parameters (LSE id 1), oversize dimensions (LSE id 4), restart intervals (DRI),
//! the HP colour transforms signalled by an APP8 "mrfx" segment. Mapping tables (LSE id 2
//! and 3) are skipped and not applied, as the reference decoders do. Not supported (typed
//! error): component subsampling and point transforms.
//!
//! The frame header is validated against the DICOM attributes before anything is
//! allocated.

mod scan;

use super::{kind_of, Frame, Kind};
use crate::error::Error;
use crate::ingest::limits::MAX_DECODED_BYTES;
use crate::ingest::Instance;
use scan::{decode_scan, Output, ScanParams};

#[cfg(test)]
mod test_encoder;

/// Most samples one codestream may hold (two bytes each while decoding).
const MAX_SAMPLES: u64 = MAX_DECODED_BYTES / 2;

/// A decoded JPEG-LS image: `width * height * components` samples, interleaved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Image {
    pub width: u32,
    pub height: u32,
    pub components: usize,
    pub precision: u8,
    pub samples: Vec<u16>,
}

/// What the codestream must contain (from the DICOM header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Expect {
    pub width: u32,
    pub height: u32,
    pub components: usize,
}

/// Preset coding parameters as signalled (0 = default).
#[derive(Debug, Clone, Copy, Default)]
struct Preset {
    maxval: i32,
    t1: i32,
    t2: i32,
    t3: i32,
    reset: i32,
}

#[derive(Debug, Clone)]
struct FrameHeader {
    precision: u8,
    width: u32,
    height: u32,
    ids: Vec<u8>,
}

fn be16(b: &[u8], i: usize) -> u32 {
    match b.get(i..i + 2) {
        Some(s) => u32::from(u16::from_be_bytes([s[0], s[1]])),
        None => 0,
    }
}

fn be_n(b: &[u8], i: usize, n: usize) -> u32 {
    let mut v = 0u32;
    for k in 0..n {
        v = (v << 8) | u32::from(b.get(i + k).copied().unwrap_or(0));
    }
    v
}

/// Default thresholds (T.87 C.2.4.1.1.1).
fn default_thresholds(maxval: i32, near: i32) -> (i32, i32, i32) {
    let clamp = |i: i32, j: i32| if i > maxval || i < j { j } else { i };
    if maxval >= 128 {
        let factor = (maxval.min(4095) + 128) / 256;
        let t1 = clamp(factor + 2 + 3 * near, near + 1);
        let t2 = clamp(factor * 4 + 3 + 5 * near, t1);
        let t3 = clamp(factor * 17 + 4 + 7 * near, t2);
        (t1, t2, t3)
    } else {
        let factor = 256 / (maxval + 1);
        let t1 = clamp((3 / factor + 3 * near).max(2), near + 1);
        let t2 = clamp((7 / factor + 5 * near).max(3), t1);
        let t3 = clamp((21 / factor + 7 * near).max(4), t2);
        (t1, t2, t3)
    }
}

/// Resolve and validate the parameters of a scan (T.87 C.2.4.1.1, table C.1).
fn resolve(preset: &Preset, precision: u8, near: i32) -> Result<(i32, i32, i32, i32, i32), Error> {
    let full = (1i32 << precision) - 1;
    let bad = |what: &str| Err(Error::corrupt(format!("invalid JPEG-LS {what}")));
    if preset.maxval != 0 && (preset.maxval < 1 || preset.maxval > full) {
        return bad("MAXVAL");
    }
    let maxval = if preset.maxval != 0 {
        preset.maxval
    } else {
        full
    };
    if near > (maxval / 2).min(255) {
        return bad("NEAR");
    }
    let (d1, d2, d3) = default_thresholds(maxval, near);
    if preset.t1 != 0 && (preset.t1 < near + 1 || preset.t1 > maxval) {
        return bad("threshold T1");
    }
    let t1 = if preset.t1 != 0 { preset.t1 } else { d1 };
    if preset.t2 != 0 && (preset.t2 < t1 || preset.t2 > maxval) {
        return bad("threshold T2");
    }
    let t2 = if preset.t2 != 0 { preset.t2 } else { d2 };
    if preset.t3 != 0 && (preset.t3 < t2 || preset.t3 > maxval) {
        return bad("threshold T3");
    }
    let t3 = if preset.t3 != 0 { preset.t3 } else { d3 };
    if preset.reset != 0 && (preset.reset < 3 || preset.reset > maxval.max(255)) {
        return bad("RESET");
    }
    let reset = if preset.reset != 0 { preset.reset } else { 64 };
    Ok((maxval, t1, t2, t3, reset))
}

/// Inverse HP colour transforms (APP8 "mrfx"), modulo 2^precision.
fn inverse_colour_transform(samples: &mut [u16], transform: u8, precision: u8) {
    let range = 1i32 << precision;
    let mask = range - 1;
    let half = range / 2;
    let quarter = range / 4;
    for px in samples.chunks_exact_mut(3) {
        let (v1, v2, v3) = (i32::from(px[0]), i32::from(px[1]), i32::from(px[2]));
        let (r, g, b) = match transform {
            1 => (v1 + v2 - half, v2, v3 + v2 - half),
            2 => {
                let r = (v1 + v2 - half) & mask;
                let g = v2;
                (r, g, v3 + ((r + g) >> 1) - half)
            }
            _ => {
                let g = (v1 - ((v3 + v2) >> 2) + quarter) & mask;
                (v3 + g - half, g, v2 + g - half)
            }
        };
        px[0] = (r & mask) as u16;
        px[1] = (g & mask) as u16;
        px[2] = (b & mask) as u16;
    }
}

/// Decode a JPEG-LS codestream whose frame must match `expect`.
pub(crate) fn decode_codestream(data: &[u8], expect: Expect) -> Result<Image, Error> {
    if data.len() < 4 || data[0] != 0xFF || data[1] != 0xD8 {
        return Err(Error::corrupt("JPEG-LS data does not start with SOI"));
    }
    let mut pos = 2usize;
    let mut frame: Option<FrameHeader> = None;
    let mut preset = Preset::default();
    let mut restart_interval = 0u32;
    let mut transform = 0u8;
    let mut samples: Vec<u16> = Vec::new();
    let mut done: Vec<bool> = Vec::new();
    let cut = || Error::corrupt("JPEG-LS marker segment is cut off");
    loop {
        // a marker: 0xFF, optional fill bytes, code
        if data.get(pos) != Some(&0xFF) {
            if pos >= data.len() {
                break; // no EOI: accepted when every component was decoded
            }
            return Err(Error::corrupt(format!(
                "JPEG-LS marker expected at byte {pos}"
            )));
        }
        while data.get(pos) == Some(&0xFF) {
            pos += 1;
        }
        let Some(&marker) = data.get(pos) else {
            break;
        };
        pos += 1;
        match marker {
            0xD9 => break,
            0xD8 => return Err(Error::corrupt("JPEG-LS data has a second SOI")),
            0xD0..=0xD7 | 0x01 => continue,
            _ => {}
        }
        let len = be16(data, pos) as usize;
        if len < 2 || pos + len > data.len() {
            return Err(cut());
        }
        let seg = &data[pos + 2..pos + len];
        let seg_end = pos + len;
        match marker {
            0xF7 => {
                if frame.is_some() {
                    return Err(Error::corrupt("JPEG-LS data has a second frame header"));
                }
                if seg.len() < 6 {
                    return Err(cut());
                }
                let precision = seg[0];
                let mut height = be16(seg, 1);
                let width = be16(seg, 3);
                let nf = usize::from(seg[5]);
                if seg.len() < 6 + 3 * nf {
                    return Err(cut());
                }
                if !(2..=16).contains(&precision) {
                    return Err(Error::corrupt(format!(
                        "JPEG-LS sample precision {precision}"
                    )));
                }
                if nf != expect.components {
                    return Err(Error::corrupt(format!(
                        "JPEG-LS frame has {nf} components, Samples per Pixel is {}",
                        expect.components
                    )));
                }
                let mut ids = Vec::with_capacity(nf);
                for k in 0..nf {
                    ids.push(seg[6 + 3 * k]);
                    if seg[7 + 3 * k] != 0x11 {
                        return Err(Error::unsupported_pixel_format(
                            "JPEG-LS with subsampled components",
                        ));
                    }
                }
                if height == 0 {
                    // height defined later by a DNL marker: the DICOM header says it
                    height = expect.height;
                }
                frame = Some(FrameHeader {
                    precision,
                    width,
                    height,
                    ids,
                });
            }
            0xF8 => {
                let Some(&id) = seg.first() else {
                    return Err(cut());
                };
                match id {
                    1 => {
                        if seg.len() < 11 {
                            return Err(cut());
                        }
                        preset = Preset {
                            maxval: be16(seg, 1) as i32,
                            t1: be16(seg, 3) as i32,
                            t2: be16(seg, 5) as i32,
                            t3: be16(seg, 7) as i32,
                            reset: be16(seg, 9) as i32,
                        };
                    }
                    // mapping table specification / continuation: not applied
                    2 | 3 => {}
                    4 => {
                        let Some(f) = frame.as_mut() else {
                            return Err(Error::corrupt(
                                "JPEG-LS oversize dimensions before the frame header",
                            ));
                        };
                        let wxy = usize::from(seg.get(1).copied().unwrap_or(0));
                        if !(2..=4).contains(&wxy) || seg.len() < 2 + 2 * wxy {
                            return Err(cut());
                        }
                        f.height = be_n(seg, 2, wxy);
                        f.width = be_n(seg, 2 + wxy, wxy);
                    }
                    _ => {
                        return Err(Error::unsupported_pixel_format(format!(
                            "JPEG-LS preset parameters of type {id}"
                        )))
                    }
                }
            }
            0xDD => {
                restart_interval = match seg.len() {
                    2..=4 => be_n(seg, 0, seg.len()),
                    _ => return Err(cut()),
                };
            }
            0xE8 if seg.len() >= 5 && &seg[..4] == b"mrfx" => transform = seg[4],
            0xDA => {
                let Some(f) = frame.as_ref() else {
                    return Err(Error::corrupt("JPEG-LS scan before the frame header"));
                };
                if f.width != expect.width || f.height != expect.height {
                    return Err(Error::corrupt(format!(
                        "JPEG-LS frame is {}x{}, the image is {}x{}",
                        f.width, f.height, expect.width, expect.height
                    )));
                }
                let nf = f.ids.len();
                if samples.is_empty() {
                    let n = (f.width as usize)
                        .checked_mul(f.height as usize)
                        .and_then(|v| v.checked_mul(nf))
                        .filter(|&n| n > 0)
                        .ok_or_else(|| Error::corrupt("JPEG-LS frame has no samples"))?;
                    if n as u64 > MAX_SAMPLES {
                        return Err(Error::limit(format!(
                            "JPEG-LS frame of {n} samples (limit {MAX_SAMPLES})"
                        )));
                    }
                    samples
                        .try_reserve_exact(n)
                        .map_err(|_| Error::limit("JPEG-LS image does not fit in memory"))?;
                    samples.resize(n, 0);
                    done = vec![false; nf];
                }
                let ns = usize::from(seg.first().copied().unwrap_or(0));
                if ns == 0 || ns > nf || seg.len() < 1 + 2 * ns + 3 {
                    return Err(Error::corrupt("JPEG-LS scan header is invalid"));
                }
                let mut comps = Vec::with_capacity(ns);
                for k in 0..ns {
                    let id = seg[1 + 2 * k];
                    let Some(c) = f
                        .ids
                        .iter()
                        .enumerate()
                        .position(|(i, &x)| x == id && !done[i] && !comps.contains(&i))
                    else {
                        return Err(Error::corrupt(format!(
                            "JPEG-LS scan names unknown component {id}"
                        )));
                    };
                    comps.push(c);
                }
                let near = i32::from(seg[1 + 2 * ns]);
                let ilv = seg[2 + 2 * ns];
                let pt = seg[3 + 2 * ns] & 0x0F;
                if ilv > 2 || (ilv == 0 && ns != 1) {
                    return Err(Error::corrupt(format!(
                        "JPEG-LS interleave mode {ilv} with {ns} components in the scan"
                    )));
                }
                if pt != 0 {
                    return Err(Error::unsupported_pixel_format(
                        "JPEG-LS with a point transform",
                    ));
                }
                let (maxval, t1, t2, t3, reset) = resolve(&preset, f.precision, near)?;
                let params = ScanParams {
                    width: f.width as usize,
                    height: f.height as usize,
                    maxval,
                    near,
                    t1,
                    t2,
                    t3,
                    reset,
                    ilv,
                    restart_interval,
                };
                let mut out = Output {
                    data: &mut samples,
                    components: nf,
                };
                let end = decode_scan(data, seg_end, &params, &comps, &mut out)?;
                for &c in &comps {
                    done[c] = true;
                }
                pos = end;
                continue;
            }
            // frame headers of other JPEG processes
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                return Err(Error::corrupt(
                    "not a JPEG-LS codestream (other JPEG process)",
                ));
            }
            // APPn, COM, DNL and anything else with a length: skipped
            _ => {}
        }
        pos = seg_end;
    }
    let Some(f) = frame else {
        return Err(Error::corrupt("JPEG-LS data has no frame header"));
    };
    if samples.is_empty() || done.iter().any(|d| !d) {
        return Err(Error::corrupt(
            "JPEG-LS data ends before every component is decoded",
        ));
    }
    if transform != 0 && f.ids.len() == 3 {
        if !matches!(transform, 1..=3) {
            return Err(Error::unsupported_pixel_format(format!(
                "JPEG-LS colour transform {transform}"
            )));
        }
        inverse_colour_transform(&mut samples, transform, f.precision);
    }
    Ok(Image {
        width: f.width,
        height: f.height,
        components: f.ids.len(),
        precision: f.precision,
        samples,
    })
}

pub(super) fn decode(instance: &Instance, data: &[u8]) -> Result<Frame, Error> {
    let kind = kind_of(instance);
    if matches!(kind, Kind::F32 | Kind::F64) || instance.bits_allocated() == 1 {
        return Err(Error::unsupported_pixel_format(
            "JPEG-LS with float or 1-bit pixel data",
        ));
    }
    let expect = Expect {
        width: instance.columns(),
        height: instance.rows(),
        components: usize::from(instance.samples_per_pixel()),
    };
    let img = decode_codestream(data, expect)?;
    if u16::from(img.precision) > instance.bits_allocated() {
        return Err(Error::corrupt(format!(
            "JPEG-LS sample precision {} exceeds Bits Allocated {}",
            img.precision,
            instance.bits_allocated()
        )));
    }
    let n = img.samples.len();
    let values = img.samples.iter().map(|&v| u32::from(v));
    Ok(Frame::from_raw(instance, kind, values, n))
}

#[cfg(test)]
mod tests {
    use super::test_encoder::{encode, EncodeParams};
    use super::*;
    use crate::error::ErrorCode;

    /// SOI, SOF55 (one 8-bit component), SOS, `scan`, EOI.
    fn tiny(width: u16, height: u16, near: u8, scan: &[u8]) -> Vec<u8> {
        let mut v = vec![0xFF, 0xD8, 0xFF, 0xF7, 0, 11, 8];
        v.extend_from_slice(&height.to_be_bytes());
        v.extend_from_slice(&width.to_be_bytes());
        v.extend_from_slice(&[1, 1, 0x11, 0]);
        v.extend_from_slice(&[0xFF, 0xDA, 0, 8, 1, 1, 0, near, 0, 0]);
        v.extend_from_slice(scan);
        v.extend_from_slice(&[0xFF, 0xD9]);
        v
    }

    fn expect(width: u32, height: u32, components: usize) -> Expect {
        Expect {
            width,
            height,
            components,
        }
    }

    /// Test image: flat regions (runs), ramps, noise and extreme values.
    fn image(w: usize, h: usize, nc: usize, maxval: i32, seed: u64) -> Vec<u16> {
        let mut x = seed | 1;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut v = Vec::with_capacity(w * h * nc);
        for y in 0..h {
            for i in 0..w {
                for c in 0..nc {
                    let r = next();
                    let val = match (y / 3 + i / 5 + c) % 5 {
                        0 => (maxval / 3) as u64,
                        1 => ((i * 7 + y * 3 + c) as u64) % (maxval as u64 + 1),
                        2 => r % (maxval as u64 + 1),
                        3 => {
                            if r & 1 == 0 {
                                0
                            } else {
                                maxval as u64
                            }
                        }
                        _ => (maxval as u64 / 2 + r % 3).min(maxval as u64),
                    };
                    v.push(val as u16);
                }
            }
        }
        v
    }

    fn params(precision: u8, components: usize, w: usize, h: usize) -> EncodeParams {
        EncodeParams {
            precision,
            components,
            width: w,
            height: h,
            near: 0,
            ilv: 0,
            restart_interval: 0,
            preset: None,
        }
    }

    fn round_trip(img: &[u16], p: &EncodeParams) {
        let (stream, recon) = encode(img, p);
        let out = decode_codestream(
            &stream,
            expect(p.width as u32, p.height as u32, p.components),
        )
        .unwrap_or_else(|e| panic!("{p:?}: {e}"));
        assert_eq!(out.samples, recon, "{p:?}");
        for (a, b) in img.iter().zip(&recon) {
            assert!(
                (i32::from(*a) - i32::from(*b)).abs() <= p.near,
                "{p:?}: {a} vs {b}"
            );
        }
    }

    #[test]
    fn hand_made_run_stream() {
        // four zero samples: run mode with J = 0,0,0,0 -> bits 1111
        let img = decode_codestream(&tiny(4, 1, 0, &[0xF0]), expect(4, 1, 1)).expect("decodes");
        assert_eq!(img.samples, vec![0, 0, 0, 0]);
        assert_eq!((img.width, img.height, img.precision), (4, 1, 8));
    }

    #[test]
    fn hand_made_run_interruption() {
        // one sample of value 5: run bit 0 (no run), then run interruption with RItype 1:
        // A = 4, N = 1 -> k = 2; Errval 5 -> EMErrval 9 -> Golomb 001 01. Bits 0 00101 00.
        let img = decode_codestream(&tiny(1, 1, 0, &[0x14]), expect(1, 1, 1)).expect("decodes");
        assert_eq!(img.samples, vec![5]);
    }

    #[test]
    fn lossless_round_trips_all_depths_and_interleaves() {
        for precision in [2u8, 5, 8, 10, 12, 15, 16] {
            let maxval = (1i32 << precision) - 1;
            for (nc, ilv) in [
                (1usize, 0u8),
                (3, 0),
                (3, 1),
                (3, 2),
                (2, 2),
                (4, 1),
                (4, 2),
            ] {
                for (w, h) in [(1usize, 1usize), (2, 3), (17, 9), (64, 5)] {
                    let img = image(w, h, nc, maxval, u64::from(precision) * 31 + w as u64);
                    let mut p = params(precision, nc, w, h);
                    p.ilv = ilv;
                    round_trip(&img, &p);
                }
            }
        }
    }

    #[test]
    fn near_lossless_round_trips() {
        for precision in [4u8, 8, 12, 16] {
            let maxval = (1i32 << precision) - 1;
            for near in [1, 2, 3, 7] {
                if near > maxval / 2 {
                    continue;
                }
                for (nc, ilv) in [(1usize, 0u8), (3, 1), (3, 2)] {
                    let img = image(23, 11, nc, maxval, 7 + near as u64);
                    let mut p = params(precision, nc, 23, 11);
                    p.ilv = ilv;
                    p.near = near;
                    round_trip(&img, &p);
                }
            }
        }
    }

    #[test]
    fn restart_intervals_and_preset_parameters() {
        for (nc, ilv) in [(1usize, 0u8), (3, 1), (3, 2)] {
            let img = image(19, 13, nc, 4095, 99);
            let mut p = params(12, nc, 19, 13);
            p.ilv = ilv;
            p.restart_interval = 4;
            round_trip(&img, &p);
            p.restart_interval = 1;
            p.near = 2;
            round_trip(&img, &p);
            // custom thresholds and RESET, and a MAXVAL below 2^P - 1
            p.restart_interval = 0;
            p.near = 0;
            p.preset = Some((4095, 5, 9, 30, 32));
            round_trip(&img, &p);
            let img = image(19, 13, nc, 1000, 5);
            p.preset = Some((1000, 0, 0, 0, 0));
            round_trip(&img, &p);
        }
    }

    #[test]
    fn hp_colour_transforms_are_inverted() {
        // HP1 coded values (v1, v2, v3) = (R - G + 128, G, B - G + 128) mod 256
        let mut s = vec![10u16, 200, 30];
        let (r, g, b) = (50i32, 200i32, 30i32);
        s[0] = ((r - g + 128) & 255) as u16;
        s[2] = ((b - g + 128) & 255) as u16;
        inverse_colour_transform(&mut s, 1, 8);
        assert_eq!(s, vec![50, 200, 30]);
    }

    #[test]
    fn truncated_streams_are_errors_not_panics() {
        let img = image(31, 17, 3, 255, 3);
        for ilv in [0u8, 1, 2] {
            let mut p = params(8, 3, 31, 17);
            p.ilv = ilv;
            p.restart_interval = if ilv == 1 { 5 } else { 0 };
            let (stream, _) = encode(&img, &p);
            for cut in 0..stream.len() - 2 {
                let r = decode_codestream(&stream[..cut], expect(31, 17, 3));
                assert!(
                    r.is_err(),
                    "ilv {ilv}: cut at {cut} of {} decoded",
                    stream.len()
                );
            }
            // without EOI the image is complete
            assert!(decode_codestream(&stream[..stream.len() - 2], expect(31, 17, 3)).is_ok());
        }
    }

    #[test]
    fn corrupted_streams_never_panic() {
        let img = image(40, 20, 1, 65535, 11);
        let mut p = params(16, 1, 40, 20);
        p.restart_interval = 6;
        let (stream, _) = encode(&img, &p);
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut errors = 0;
        for _ in 0..3000 {
            let mut s = stream.clone();
            for _ in 0..1 + next() % 4 {
                let at = (next() % s.len() as u64) as usize;
                s[at] = next() as u8;
            }
            if decode_codestream(&s, expect(40, 20, 1)).is_err() {
                errors += 1;
            }
        }
        assert!(errors > 0);
        // long runs of 0x00 / 0xFF in the entropy-coded data
        for fill in [0x00u8, 0xFF, 0x7F, 0x80] {
            let mut s = stream.clone();
            let start = 40;
            let end = s.len() - 10;
            s[start..end].fill(fill);
            let _ = decode_codestream(&s, expect(40, 20, 1));
        }
    }

    #[test]
    fn header_mismatches_and_limits_are_typed_errors() {
        let good = tiny(4, 1, 0, &[0xF0]);
        let code =
            |data: &[u8], e: Expect| decode_codestream(data, e).map(|_| ()).unwrap_err().code();
        // wrong size or component count against the DICOM header
        assert_eq!(code(&good, expect(5, 1, 1)), ErrorCode::CorruptPixelData);
        assert_eq!(code(&good, expect(4, 2, 1)), ErrorCode::CorruptPixelData);
        assert_eq!(code(&good, expect(4, 1, 3)), ErrorCode::CorruptPixelData);
        // huge dimensions: rejected before allocating
        let huge = tiny(65535, 65535, 0, &[0xF0]);
        assert_eq!(code(&huge, expect(4, 1, 1)), ErrorCode::CorruptPixelData);
        let mut huge4 = vec![0xFF, 0xD8, 0xFF, 0xF7, 0, 20, 16, 0xFF, 0xFF, 0xFF, 0xFF, 4];
        for c in 1..=4 {
            huge4.extend_from_slice(&[c, 0x11, 0]);
        }
        huge4.extend_from_slice(&[0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 0, 0, 0xFF, 0xD9]);
        assert_eq!(
            code(&huge4, expect(65535, 65535, 4)),
            ErrorCode::LimitExceeded
        );
        // zero width
        let zero = tiny(0, 1, 0, &[0xF0]);
        assert_eq!(code(&zero, expect(0, 1, 1)), ErrorCode::CorruptPixelData);
        // not JPEG-LS at all
        assert_eq!(
            code(b"garbage!", expect(4, 1, 1)),
            ErrorCode::CorruptPixelData
        );
        let mut jpeg = good.clone();
        jpeg[3] = 0xC3;
        assert_eq!(code(&jpeg, expect(4, 1, 1)), ErrorCode::CorruptPixelData);
        // precision 1 and 17
        for bad in [1u8, 17] {
            let mut s = good.clone();
            s[6] = bad;
            assert_eq!(code(&s, expect(4, 1, 1)), ErrorCode::CorruptPixelData);
        }
        // subsampling and point transform: unsupported
        let mut s = good.clone();
        s[13] = 0x21;
        assert_eq!(code(&s, expect(4, 1, 1)), ErrorCode::UnsupportedPixelFormat);
        let mut s = good.clone();
        s[24] = 0x01; // Al (point transform)
        assert_eq!(code(&s, expect(4, 1, 1)), ErrorCode::UnsupportedPixelFormat);
        // NEAR larger than MAXVAL / 2, interleave mode 3
        let s = tiny(4, 1, 200, &[0xF0]);
        assert_eq!(code(&s, expect(4, 1, 1)), ErrorCode::CorruptPixelData);
        let mut s = good.clone();
        s[23] = 3; // ILV
        assert_eq!(code(&s, expect(4, 1, 1)), ErrorCode::CorruptPixelData);
        // invalid preset parameters (T1 above MAXVAL)
        let mut s = good[..15].to_vec();
        s.extend_from_slice(&[0xFF, 0xF8, 0, 13, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
        s.extend_from_slice(&good[15..]);
        assert_eq!(code(&s, expect(4, 1, 1)), ErrorCode::CorruptPixelData);
        // a scan naming a component the frame does not have
        let mut s = good.clone();
        s[20] = 9;
        assert_eq!(code(&s, expect(4, 1, 1)), ErrorCode::CorruptPixelData);
    }
}
