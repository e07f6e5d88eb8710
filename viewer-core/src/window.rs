//! Modality LUT (Rescale Slope/Intercept) and the linear VOI function of PS3.3
//! C.11.2.1.2.1, mapped to 0..255.

use crate::decode::Frame;
use crate::ingest::Instance;

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
    let (slope, intercept) = instance.frame_rescale(frame.index);
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    frame.data.for_each_f64(|v| {
        if v.is_finite() {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    });
    if lo > hi {
        return Window::from_range(0.0, 0.0);
    }
    let a = lo * slope + intercept;
    let b = hi * slope + intercept;
    Window::from_range(a.min(b), a.max(b))
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
