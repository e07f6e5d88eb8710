//! The greyscale pipeline's two stages before display: the modality stage ([`Modality`]: Rescale
//! Slope/Intercept, or the Modality LUT Sequence which replaces them, PS3.3 C.11.1) and the VOI stage
//! ([`Voi`]: the linear window of C.11.2.1.2.1, or one of the file's VOI LUTs, C.11.2.1.1), mapped to 0..255.
//!
//! # Which VOI is shown first
//!
//! [`default_voi`]: the file's first Window Center/Width (per-frame when present) when it has one; else its
//! first VOI LUT; else a window over the frame's data range in modality units. When a file has both a window
//! and VOI LUTs, the window comes first: it is what the reading physician adjusts from (dragging starts from
//! it, the overlay shows its numbers, presets replace it), and modalities that write both (CR/DX, MG) write
//! the window as their default rendering and the LUTs as alternatives. pydicom's `apply_voi_lut` prefers the
//! LUT instead (`prefer_lut=True`); both are allowed by the standard, which leaves the choice to the
//! application. Every VOI LUT stays selectable ([`Voi::Lut`], `lucent render --voi-lut N`, the element's
//! `setVoiLut(i)`). A VOI LUT's output `0 ..= 2^bits - 1` is scaled to 0..255 ([`crate::ingest::Lut::display`]).

use crate::decode::Frame;
use crate::ingest::{Instance, Lut};

/// VOI window in modality units (after Rescale Slope/Intercept).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Window {
    pub center: f64,
    pub width: f64,
}

impl Window {
    /// Whether the window is usable (finite, width >= 1).
    pub fn is_valid(&self) -> bool {
        self.center.is_finite() && self.width.is_finite() && self.width >= 1.0
    }

    /// Window covering exactly `min..=max`: `min` maps to 0 and `max` to 255.
    pub fn from_range(min: f64, max: f64) -> Window {
        if !(min.is_finite() && max.is_finite()) || max < min {
            return Window {
                center: 0.5,
                width: 1.0,
            };
        }
        Window {
            center: (min + max + 1.0) / 2.0,
            width: max - min + 1.0,
        }
    }
}

/// The modality stage: stored value to modality value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Modality<'a> {
    /// Rescale Slope/Intercept (1/0 when absent).
    Rescale { slope: f64, intercept: f64 },
    /// The Modality LUT Sequence (C.11.1): the entry for the stored value, clamped to the table.
    Lut(&'a Lut),
}

impl Modality<'_> {
    /// Modality value of stored value `x`.
    #[inline]
    pub fn apply(&self, x: f64) -> f64 {
        match self {
            Modality::Rescale { slope, intercept } => x * slope + intercept,
            Modality::Lut(lut) => f64::from(lut.lookup(x)),
        }
    }
}

/// The VOI stage a greyscale frame is shown with.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub enum Voi {
    /// The linear window (C.11.2.1.2.1).
    Window(Window),
    /// The file's VOI LUT of this index ([`Instance::voi_luts`]).
    Lut(usize),
}

/// Linear VOI function (PS3.3 C.11.2.1.2.1) with output range 0..255, rounded half to
/// even (as numpy's `round`) and clamped.
#[inline]
pub fn voi_linear(x: f64, window: Window) -> u8 {
    let c = window.center;
    let w = window.width.max(1.0);
    let lower = c - 0.5 - (w - 1.0) / 2.0;
    let upper = c - 0.5 + (w - 1.0) / 2.0;
    if x <= lower {
        0
    } else if x > upper {
        255
    } else {
        let y = ((x - (c - 0.5)) / (w - 1.0) + 0.5) * 255.0;
        y.round_ties_even().clamp(0.0, 255.0) as u8
    }
}

/// Whether the frame is shown as colour (not through the monochrome VOI pipeline).
pub(crate) fn is_colour(instance: &Instance, frame: &Frame) -> bool {
    frame.samples_per_pixel > 1 || instance.palette().is_some()
}

/// The file's first window (per-frame when present), else the data range of the frame in
/// modality units. For colour images: the full range of the stored values.
pub fn default_window(instance: &Instance, frame: &Frame) -> Window {
    if is_colour(instance, frame) {
        let bits = match frame.data.item_size() {
            1 => 8,
            _ => i32::from(instance.bits_stored().clamp(1, 32)),
        };
        let max = 2f64.powi(bits) - 1.0;
        return Window::from_range(0.0, max);
    }
    if let Some(w) = instance.frame_window(frame.index) {
        if w.is_valid() {
            return w;
        }
    }
    // the range of the modality values of the frame (a Modality LUT need not be monotonic)
    let modality = instance.modality_stage(frame.index);
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    frame.data.for_each_f64(|v| {
        if v.is_finite() {
            let m = modality.apply(v);
            lo = lo.min(m);
            hi = hi.max(m);
        }
    });
    if lo > hi {
        return Window::from_range(0.0, 0.0);
    }
    Window::from_range(lo, hi)
}

/// The VOI a frame is first shown with (see the module docs): the file's window, else its first VOI LUT,
/// else the data range. Colour images: their full range, as [`default_window`].
pub fn default_voi(instance: &Instance, frame: &Frame) -> Voi {
    if !is_colour(instance, frame)
        && !instance.voi_luts().is_empty()
        && !instance
            .frame_window(frame.index)
            .is_some_and(|w| w.is_valid())
    {
        return Voi::Lut(0);
    }
    Voi::Window(default_window(instance, frame))
}

/// A linear window standing in for VOI LUT `lut` (where a drag starts from, what a volume shows): the
/// inputs the table maps. `None` when the instance has no such LUT.
pub fn lut_window(instance: &Instance, lut: usize) -> Option<Window> {
    let (a, b) = instance.voi_luts().get(lut)?.input_range();
    Some(Window::from_range(a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_voi_matches_the_standard_formula() {
        // PS3.3 C.11.2.1.2.1 with c = 40, w = 400: lower bound -160, upper 239
        let w = Window {
            center: 40.0,
            width: 400.0,
        };
        assert_eq!(voi_linear(-1000.0, w), 0);
        assert_eq!(voi_linear(-160.0, w), 0); // x <= c - 0.5 - (w-1)/2 -> ymin
        assert_eq!(voi_linear(240.0, w), 255); // x > c - 0.5 + (w-1)/2 -> ymax
        assert_eq!(voi_linear(3000.0, w), 255);
        // centre: ((40 - 39.5)/399 + 0.5) * 255 = 127.82 -> 128
        assert_eq!(voi_linear(40.0, w), 128);
        // x = 0: ((0 - 39.5)/399 + 0.5) * 255 = 102.26 -> 102
        assert_eq!(voi_linear(0.0, w), 102);
        // x = 100: ((100 - 39.5)/399 + 0.5)*255 = 166.16 -> 166
        assert_eq!(voi_linear(100.0, w), 166);
    }

    #[test]
    fn width_one_is_a_threshold() {
        let w = Window {
            center: 100.0,
            width: 1.0,
        };
        assert_eq!(voi_linear(99.0, w), 0);
        assert_eq!(voi_linear(99.5, w), 0);
        assert_eq!(voi_linear(99.6, w), 255);
        assert_eq!(voi_linear(100.0, w), 255);
    }

    #[test]
    fn range_window_maps_min_to_0_and_max_to_255() {
        for (lo, hi) in [(0.0, 255.0), (-1024.0, 3071.0), (5.0, 6.0)] {
            let w = Window::from_range(lo, hi);
            assert!(w.is_valid());
            assert_eq!(voi_linear(lo, w), 0, "{lo}..{hi}");
            assert_eq!(voi_linear(hi, w), 255, "{lo}..{hi}");
        }
        // a constant image gets a valid window (shown black)
        let w = Window::from_range(7.0, 7.0);
        assert!(w.is_valid());
        assert_eq!(voi_linear(7.0, w), 0);
        // identity for 8-bit full range
        let w = Window::from_range(0.0, 255.0);
        for x in 0..=255u8 {
            assert_eq!(voi_linear(f64::from(x), w), x);
        }
    }
}
