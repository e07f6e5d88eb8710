//! Measurements in patient millimetres on a volume: distance, angle, rectangle/ellipse ROI statistics in
//! modality units (HU for CT) and a probe.

use serde::Serialize;

use crate::error::Error;
use crate::mpr::Plane;
use crate::volume::{dot, Volume};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::volume::VoxelSlices;
    use crate::window::Window;

    /// 10 x 8 x 6 voxels of 0.5 x 0.5 x 2 mm; stored value = i + 10 j + 100 k, HU = stored - 1024.
    fn ramp() -> Volume {
        let slices = (0..6)
            .map(|k| {
                (0..8)
                    .flat_map(|j| (0..10).map(move |i| (i + 10 * j + 100 * k) as i16))
                    .collect()
            })
            .collect();
        Volume {
            dims: [10, 8, 6],
            spacing: [0.5, 0.5, 2.0],
            origin: [10.0, 20.0, 30.0],
            axes: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
            voxels: VoxelSlices::I16(slices),
            slope: 1.0,
            intercept: -1024.0,
            invert: false,
            modality: "CT".into(),
            default_window: Window {
                center: 0.0,
                width: 100.0,
            },
            warnings: vec![],
        }
    }

    #[test]
    fn distance_and_angle() {
        assert!((distance_mm([0.0, 0.0, 0.0], [3.0, 4.0, 12.0]) - 13.0).abs() < 1e-12);
        assert!((angle_deg([1.0, 0.0, 0.0], [0.0; 3], [0.0, 2.0, 0.0]) - 90.0).abs() < 1e-12);
        assert!((angle_deg([1.0, 1.0, 0.0], [0.0; 3], [1.0, 0.0, 0.0]) - 45.0).abs() < 1e-12);
        assert!(angle_deg([0.0; 3], [0.0; 3], [1.0, 0.0, 0.0]).is_nan());
    }

    #[test]
    fn rectangle_roi_covers_exactly_the_voxels_inside() {
        let v = ramp();
        // axial plane through slice 2 (z = 34)
        let plane = Plane::axial([0.0, 0.0, 34.0]);
        let a = [10.0 + 1.75, 20.0 + 0.25, 34.0];
        let b = [10.0 + 2.75, 20.0 + 1.75, 34.0];
        let s = roi_stats(&v, &plane, RoiShape::Rectangle, a, b).expect("stats");
        // x from 11.75 to 12.75 covers the centres 12.0 and 12.5 (i = 4, 5); y from 20.25 to 21.75 the rows
        // 1, 2, 3 (20.5, 21.0, 21.5)
        assert_eq!(s.count, 6);
        let values: Vec<f64> = [4, 5]
            .iter()
            .flat_map(|i| [1, 2, 3].map(|j| f64::from(i + 10 * j + 200) - 1024.0))
            .collect();
        let mean = values.iter().sum::<f64>() / 6.0;
        let var = values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 6.0;
        assert!((s.mean - mean).abs() < 1e-9, "{s:?}");
        assert!((s.std_dev - var.sqrt()).abs() < 1e-9);
        assert_eq!((s.min, s.max), (214.0 - 1024.0, 235.0 - 1024.0));
        assert!((s.area_mm2 - 1.5).abs() < 1e-12);
    }

    #[test]
    fn ellipse_roi_area_and_symmetric_mean() {
        let v = ramp();
        // coronal plane through row 4 (y = 22); ellipse centred on voxel (5, 4, 3): mean = its value
        let plane = Plane::coronal([0.0, 22.0, 0.0]);
        let c = [12.5, 22.0, 36.0];
        let (ra, rb) = (1.3, 2.2);
        let s = roi_stats(
            &v,
            &plane,
            RoiShape::Ellipse,
            [c[0] - ra, 22.0, c[2] + rb],
            [c[0] + ra, 22.0, c[2] - rb],
        )
        .expect("stats");
        assert!((s.area_mm2 - std::f64::consts::PI * ra * rb).abs() < 1e-9);
        assert!(
            (s.mean - (5.0 + 40.0 + 300.0 - 1024.0)).abs() < 1e-9,
            "{s:?}"
        );
        // it spans slices 2..=4 (z 34..38) and columns 3..=7
        assert_eq!((s.min, s.max), (243.0 - 1024.0, 447.0 - 1024.0));
        assert!(roi_stats(&v, &plane, RoiShape::Ellipse, c, c).is_err());
    }

    #[test]
    fn probe_reads_the_nearest_voxel() {
        let v = ramp();
        let p = probe(&v, [11.1, 21.4, 34.9]).expect("probe");
        // nearest voxel (2.2 -> 2, 2.8 -> 3, 2.45 -> 2)
        assert_eq!(p.value, Some(f64::from(2 + 30 + 200) - 1024.0));
        assert!((p.voxel[0] - 2.2).abs() < 1e-9 && (p.voxel[2] - 2.45).abs() < 1e-9);
        assert_eq!(probe(&v, [0.0, 0.0, 0.0]).expect("probe").value, None);
    }
}
