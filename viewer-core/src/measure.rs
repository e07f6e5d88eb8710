//! Measurements in patient millimetres on a volume: distance, angle, rectangle/ellipse ROI statistics in
//! modality units (HU for CT) and a probe.

use serde::Serialize;

use crate::error::Error;
use crate::mpr::{dot, Plane};
use crate::volume::Volume;

/// Most sample points an ROI is evaluated at (the sampling step grows past this).
const MAX_ROI_SAMPLES: f64 = 4_000_000.0;

/// Euclidean distance between two patient points (mm).
pub fn distance_mm(a: [f64; 3], b: [f64; 3]) -> f64 {
    let d = [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
    dot(d, d).sqrt()
}

/// Angle at `vertex` between the rays to `a` and `b`, in degrees (NaN when a ray has no length).
pub fn angle_deg(a: [f64; 3], vertex: [f64; 3], b: [f64; 3]) -> f64 {
    let u = [a[0] - vertex[0], a[1] - vertex[1], a[2] - vertex[2]];
    let v = [b[0] - vertex[0], b[1] - vertex[1], b[2] - vertex[2]];
    let (lu, lv) = (dot(u, u).sqrt(), dot(v, v).sqrt());
    if lu == 0.0 || lv == 0.0 {
        return f64::NAN;
    }
    (dot(u, v) / (lu * lv)).clamp(-1.0, 1.0).acos().to_degrees()
}

/// ROI outline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoiShape {
    Rectangle,
    Ellipse,
}

/// Statistics of the voxels an ROI covers, in modality units.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoiStats {
    /// Distinct voxels inside (each counted once, the one nearest to each sample point).
    pub count: usize,
    pub mean: f64,
    /// Population standard deviation.
    pub std_dev: f64,
    pub min: f64,
    pub max: f64,
    /// Area of the outline on the plane (mm²), analytic.
    pub area_mm2: f64,
    pub width_mm: f64,
    pub height_mm: f64,
}

/// Statistics inside a rectangle or ellipse on `plane`, given by two opposite corners of its bounding box
/// (patient points, projected onto the plane). The outline is sampled on a grid finer than the voxels; each
/// sample takes its nearest voxel and each voxel counts once, so the values are true stored voxel values.
pub fn roi_stats(
    volume: &Volume,
    plane: &Plane,
    shape: RoiShape,
    corner_a: [f64; 3],
    corner_b: [f64; 3],
) -> Result<RoiStats, Error> {
    let project = |p: [f64; 3]| {
        let d = [
            p[0] - plane.center[0],
            p[1] - plane.center[1],
            p[2] - plane.center[2],
        ];
        (dot(d, plane.right), dot(d, plane.down))
    };
    let (ua, va) = project(corner_a);
    let (ub, vb) = project(corner_b);
    let (u0, u1) = (ua.min(ub), ua.max(ub));
    let (v0, v1) = (va.min(vb), va.max(vb));
    let (width, height) = (u1 - u0, v1 - v0);
    if !(width.is_finite() && height.is_finite()) || width <= 0.0 || height <= 0.0 {
        return Err(Error::invalid_argument("the ROI has no area"));
    }
    let min_spacing = volume.spacing.iter().copied().fold(f64::INFINITY, f64::min);
    let mut step = min_spacing / 2.0;
    let samples = (width / step) * (height / step);
    if samples > MAX_ROI_SAMPLES {
        step *= (samples / MAX_ROI_SAMPLES).sqrt();
    }
    let (nu, nv) = (
        ((width / step).ceil() as usize).max(1),
        ((height / step).ceil() as usize).max(1),
    );
    let (su, sv) = (width / nu as f64, height / nv as f64);
    let (cu, cv) = ((u0 + u1) / 2.0, (v0 + v1) / 2.0);
    let inv = volume.inverse_steps()?;
    let mut voxels: Vec<u64> = Vec::new();
    let dims = volume.dims;
    for iv in 0..nv {
        let v = v0 + (iv as f64 + 0.5) * sv;
        for iu in 0..nu {
            let u = u0 + (iu as f64 + 0.5) * su;
            if shape == RoiShape::Ellipse {
                let (x, y) = ((u - cu) / (width / 2.0), (v - cv) / (height / 2.0));
                if x * x + y * y > 1.0 {
                    continue;
                }
            }
            let p = [
                plane.center[0] + u * plane.right[0] + v * plane.down[0] - volume.origin[0],
                plane.center[1] + u * plane.right[1] + v * plane.down[1] - volume.origin[1],
                plane.center[2] + u * plane.right[2] + v * plane.down[2] - volume.origin[2],
            ];
            let mut idx = [0u64; 3];
            let mut inside = true;
            for a in 0..3 {
                let r = dot(inv[a], p).round();
                if !(r >= 0.0 && r < dims[a] as f64) {
                    inside = false;
                    break;
                }
                idx[a] = r as u64;
            }
            if inside {
                voxels.push((idx[2] * dims[1] as u64 + idx[1]) * dims[0] as u64 + idx[0]);
            }
        }
    }
    voxels.sort_unstable();
    voxels.dedup();
    if voxels.is_empty() {
        return Err(Error::invalid_argument("the ROI lies outside the volume"));
    }
    let plane_len = (dims[0] * dims[1]) as u64;
    let (mut sum, mut sum2) = (0.0f64, 0.0f64);
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for &v in &voxels {
        let stored = volume
            .voxels
            .get((v / plane_len) as usize, (v % plane_len) as usize)
            .unwrap_or(f64::NAN);
        let value = stored * volume.slope + volume.intercept;
        sum += value;
        sum2 += value * value;
        lo = lo.min(value);
        hi = hi.max(value);
    }
    let n = voxels.len() as f64;
    let mean = sum / n;
    let var = (sum2 / n - mean * mean).max(0.0);
    let area = match shape {
        RoiShape::Rectangle => width * height,
        RoiShape::Ellipse => std::f64::consts::PI * width * height / 4.0,
    };
    Ok(RoiStats {
        count: voxels.len(),
        mean,
        std_dev: var.sqrt(),
        min: lo,
        max: hi,
        area_mm2: area,
        width_mm: width,
        height_mm: height,
    })
}

/// What the probe reads at a patient point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Probe {
    /// The patient point (LPS, mm).
    pub world: [f64; 3],
    /// Continuous voxel coordinates (column, row, slice).
    pub voxel: [f64; 3],
    /// Modality value of the nearest voxel (None outside the volume).
    pub value: Option<f64>,
}

/// Reads the nearest voxel at a patient point.
pub fn probe(volume: &Volume, world: [f64; 3]) -> Result<Probe, Error> {
    let voxel = volume.world_to_voxel(world)?;
    Ok(Probe {
        world,
        voxel,
        value: volume.value_at_voxel(voxel),
    })
}
