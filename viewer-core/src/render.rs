//! Render a decoded frame into a caller-owned RGBA buffer (1:1 pixels, alpha 255).

use crate::decode::{Frame, Samples};
use crate::error::Error;
use crate::ingest::Instance;
use crate::window::{voi_linear, Voi, Window};

/// RGBA8 image owned by the caller and reused between renders.
#[derive(Default, Debug, Clone)]
pub struct RgbaImage {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

impl RgbaImage {
    /// Make the buffer `width` x `height`; reallocates only when the size changes.
    pub fn ensure_size(&mut self, width: u32, height: u32) -> Result<(), Error> {
        let len = (width as usize)
            .checked_mul(height as usize)
            .and_then(|n| n.checked_mul(4))
            .ok_or_else(|| Error::limit("image too large to render"))?;
        if self.width != width || self.height != height || self.data.len() != len {
            self.data.clear();
            self.data
                .try_reserve_exact(len)
                .map_err(|_| Error::limit("render buffer does not fit in memory"))?;
            self.data.resize(len, 0);
            self.width = width;
            self.height = height;
        }
        Ok(())
    }
}

/// A lookup table from a stored integer value to an 8-bit output, for 8/16-bit data.
fn lut_for(frame: &Frame, f: impl Fn(f64) -> u8) -> Option<Vec<u8>> {
    match &frame.data {
        Samples::U8(_) => Some((0..256u32).map(|i| f(f64::from(i))).collect()),
        Samples::I8(_) => Some((0..256u32).map(|i| f(f64::from(i as u8 as i8))).collect()),
        Samples::U16(_) => Some((0..65536u32).map(|i| f(f64::from(i))).collect()),
        Samples::I16(_) => Some(
            (0..65536u32)
                .map(|i| f(f64::from(i as u16 as i16)))
                .collect(),
        ),
        _ => None,
    }
}

/// Apply `lut` (or `f` when there is no LUT) to every value of the frame, calling
/// `put(index, output)`.
fn map_values(
    frame: &Frame,
    lut: Option<&[u8]>,
    f: impl Fn(f64) -> u8,
    mut put: impl FnMut(usize, u8),
) {
    match (&frame.data, lut) {
        (Samples::U8(v), Some(l)) => v
            .iter()
            .enumerate()
            .for_each(|(i, &x)| put(i, l[usize::from(x)])),
        (Samples::I8(v), Some(l)) => v
            .iter()
            .enumerate()
            .for_each(|(i, &x)| put(i, l[usize::from(x as u8)])),
        (Samples::U16(v), Some(l)) => v
            .iter()
            .enumerate()
            .for_each(|(i, &x)| put(i, l[usize::from(x)])),
        (Samples::I16(v), Some(l)) => v
            .iter()
            .enumerate()
            .for_each(|(i, &x)| put(i, l[usize::from(x as u16)])),
        (data, _) => {
            let mut i = 0usize;
            data.for_each_f64(|x| {
                put(i, f(x));
                i += 1;
            });
        }
    }
}

/// YCbCr to RGB (ITU-R BT.601, full or partial range), for samples of `bits` bits.
fn ybr_to_rgb(y: f64, cb: f64, cr: f64, bits: u32, partial: bool) -> [f64; 3] {
    let max = 2f64.powi(bits as i32) - 1.0;
    let half = 2f64.powi(bits as i32 - 1);
    let scale = max / 255.0;
    let (r, g, b) = if partial {
        let y = (y - 16.0 * scale) * 255.0 / 219.0;
        let cb = (cb - half) * 255.0 / 224.0;
        let cr = (cr - half) * 255.0 / 224.0;
        (
            y + 1.402 * cr,
            y - 0.344_136 * cb - 0.714_136 * cr,
            y + 1.772 * cb,
        )
    } else {
        let cb = cb - half;
        let cr = cr - half;
        (
            y + 1.402 * cr,
            y - 0.344_136 * cb - 0.714_136 * cr,
            y + 1.772 * cb,
        )
    };
    [r.clamp(0.0, max), g.clamp(0.0, max), b.clamp(0.0, max)]
}

/// Whether the instance can be shown truthfully: PALETTE COLOR needs its palette, since indices shown
/// as grey would look like a plausible image and be wrong. The library checks this when it decodes, so
/// a slice that decodes also renders.
/// A palette or Modality LUT the header has but that cannot be used (malformed) refuses the image too.
pub fn check_displayable(instance: &Instance) -> Result<(), Error> {
    if let Some(problem) = instance.lut_problem() {
        return Err(Error::malformed(problem.to_string()).with_file(instance.path()));
    }
    if instance.photometric() == "PALETTE COLOR" && instance.palette().is_none() {
        return Err(Error::unsupported_pixel_format(
            "PALETTE COLOR without Palette Color Lookup Table Descriptors",
        )
        .with_file(instance.path()));
    }
    Ok(())
}

/// Render `frame` with `window` into `out` (resized only when dimensions change).
///
/// Monochrome: the modality stage (the Modality LUT Sequence when present, else the per-frame
/// Rescale), then the linear VOI function, MONOCHROME1 inverted. Palette colour: the palette. RGB / YBR:
/// shown as colour (YBR converted to RGB), the window applied per channel.
pub fn render_frame(
    instance: &Instance,
    frame: &Frame,
    window: Window,
    out: &mut RgbaImage,
) -> Result<(), Error> {
    render_frame_voi(instance, frame, Voi::Window(window), out)
}

/// [`render_frame`] with any VOI: a window or one of the file's VOI LUTs (monochrome only: colour and
/// palette images ignore a VOI LUT and show their full range). A VOI LUT index the file does not have is
/// an `invalid-argument` error.
pub fn render_frame_voi(
    instance: &Instance,
    frame: &Frame,
    voi: Voi,
    out: &mut RgbaImage,
) -> Result<(), Error> {
    check_displayable(instance)?;
    let (window, lut) = match voi {
        Voi::Window(w) => (w, None),
        Voi::Lut(i) => {
            let lut = instance.voi_luts().get(i).ok_or_else(|| {
                Error::invalid_argument(format!(
                    "VOI LUT {i} (the file has {})",
                    instance.voi_luts().len()
                ))
            })?;
            (crate::window::default_window(instance, frame), Some(lut))
        }
    };
    render_inner(instance, frame, window, lut, out).map_err(|e| e.with_file(instance.path()))
}

fn render_inner(
    instance: &Instance,
    frame: &Frame,
    window: Window,
    voi_lut: Option<&crate::ingest::Lut>,
    out: &mut RgbaImage,
) -> Result<(), Error> {
    let pixels = (frame.rows as usize) * (frame.columns as usize);
    let spp = usize::from(frame.samples_per_pixel);
    if frame.data.len() != pixels * spp {
        return Err(Error::corrupt(format!(
            "frame has {} values, {} expected",
            frame.data.len(),
            pixels * spp
        )));
    }
    let window = if window.is_valid() {
        window
    } else {
        Window {
            center: if window.center.is_finite() {
                window.center
            } else {
                0.0
            },
            width: 1.0,
        }
    };
    out.ensure_size(frame.columns, frame.rows)?;
    let data = &mut out.data;

    if spp == 1 {
        if let Some(palette) = instance.palette() {
            let mut i = 0usize;
            frame.data.for_each_f64(|x| {
                let rgb = palette.lookup(x as i64);
                data[i * 4..i * 4 + 4].copy_from_slice(&[rgb[0], rgb[1], rgb[2], 255]);
                i += 1;
            });
            return Ok(());
        }
        let modality = instance.modality_stage(frame.index);
        let invert = frame.photometric == "MONOCHROME1";
        let f = |x: f64| {
            let m = modality.apply(x);
            let y = match voi_lut {
                Some(lut) => lut.display(m),
                None => voi_linear(m, window),
            };
            if invert {
                255 - y
            } else {
                y
            }
        };
        let lut = lut_for(frame, f);
        map_values(frame, lut.as_deref(), f, |i, y| {
            data[i * 4..i * 4 + 4].copy_from_slice(&[y, y, y, 255]);
        });
        return Ok(());
    }
    if spp != 3 {
        return Err(Error::unsupported_pixel_format(format!(
            "{spp} samples per pixel cannot be displayed"
        )));
    }
    let photometric = frame.photometric.as_str();
    let ybr = photometric.starts_with("YBR_FULL") || photometric.starts_with("YBR_PARTIAL");
    if !ybr {
        let f = |x: f64| voi_linear(x, window);
        let lut = lut_for(frame, f);
        map_values(frame, lut.as_deref(), f, |i, y| {
            let p = i / 3;
            data[p * 4 + i % 3] = y;
            if i % 3 == 2 {
                data[p * 4 + 3] = 255;
            }
        });
        return Ok(());
    }
    let partial = photometric.starts_with("YBR_PARTIAL");
    let bits = match frame.data.item_size() {
        1 => 8,
        _ => u32::from(instance.bits_stored().clamp(1, 32)),
    };
    let mut px = [0f64; 3];
    let mut i = 0usize;
    frame.data.for_each_f64(|x| {
        px[i % 3] = x;
        if i % 3 == 2 {
            let rgb = ybr_to_rgb(px[0], px[1], px[2], bits, partial);
            let p = i / 3;
            data[p * 4] = voi_linear(rgb[0].round(), window);
            data[p * 4 + 1] = voi_linear(rgb[1].round(), window);
            data[p * 4 + 2] = voi_linear(rgb[2].round(), window);
            data[p * 4 + 3] = 255;
        }
        i += 1;
    });
    Ok(())
}
