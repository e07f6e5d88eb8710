//! Volumes: a series of parallel slices as one 3-D grid in patient coordinates (LPS, mm).
//!
//! A [`Volume`] holds its voxels in their stored type, one buffer per slice (`slices[k]`, row-major,
//! `dims[0]` columns by `dims[1]` rows). One buffer per slice (not one contiguous block) is what lets a
//! volume be built within one volume of memory: each file's bytes are released as soon as its frame has
//! been decoded into its slice, and the allocator reuses that space for the next slice.
//!
//! Geometry: voxel `(i, j, k)` (column, row, slice) has its centre at
//! `origin + i * spacing[0] * axes[0] + j * spacing[1] * axes[1] + k * spacing[2] * axes[2]`.
//! `axes[0]` is the row direction (along a row, increasing column), `axes[1]` the column direction,
//! both from Image Orientation (Patient); `axes[2]` is the unit direction from one slice's origin to the
//! next. With a gantry tilt `axes[2]` is not perpendicular to the slice plane: the grid is sheared and
//! [`Volume::world_to_voxel`] uses the true inverse, so reslices show no staircase.

pub mod build;

use crate::error::Error;
use crate::window::Window;

/// One value type for all slices of a volume. Data of other stored types is converted when the volume is
/// built (8-bit signed, 32-bit integers and doubles become `F32`, and so does data whose slices have
/// different rescale slopes or intercepts, stored then as modality values with slope 1, intercept 0).
#[derive(Debug, Clone, PartialEq)]
pub enum VoxelSlices {
    U8(Vec<Vec<u8>>),
    U16(Vec<Vec<u16>>),
    I16(Vec<Vec<i16>>),
    F32(Vec<Vec<f32>>),
}

impl VoxelSlices {
    /// Number of slices.
    pub fn len(&self) -> usize {
        match self {
            VoxelSlices::U8(v) => v.len(),
            VoxelSlices::U16(v) => v.len(),
            VoxelSlices::I16(v) => v.len(),
            VoxelSlices::F32(v) => v.len(),
        }
    }
    /// Whether there are no slices.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Bytes per voxel.
    pub fn item_size(&self) -> usize {
        match self {
            VoxelSlices::U8(_) => 1,
            VoxelSlices::U16(_) | VoxelSlices::I16(_) => 2,
            VoxelSlices::F32(_) => 4,
        }
    }
    /// Stored value of voxel `index` (= `j * columns + i`) of slice `k`, as f64 (None when out of range).
    pub fn get(&self, k: usize, index: usize) -> Option<f64> {
        match self {
            VoxelSlices::U8(v) => v.get(k)?.get(index).map(|&x| f64::from(x)),
            VoxelSlices::U16(v) => v.get(k)?.get(index).map(|&x| f64::from(x)),
            VoxelSlices::I16(v) => v.get(k)?.get(index).map(|&x| f64::from(x)),
            VoxelSlices::F32(v) => v.get(k)?.get(index).map(|&x| f64::from(x)),
        }
    }
}

/// A stored voxel type: the reslicer is generic over it (monomorphised per type, no per-voxel match).
pub trait Voxel: Copy + PartialOrd + Send + Sync + 'static {
    fn to_f32(self) -> f32;
}
impl Voxel for u8 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        f32::from(self)
    }
}
impl Voxel for u16 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        f32::from(self)
    }
}
impl Voxel for i16 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        f32::from(self)
    }
}
impl Voxel for f32 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self
    }
}

/// A 3-D grid of stored values in patient space.
#[derive(Debug, Clone)]
pub struct Volume {
    /// Columns (i), rows (j), slices (k).
    pub dims: [usize; 3],
    /// mm between voxel centres along i, j, k (k: distance between consecutive slice origins).
    pub spacing: [f64; 3],
    /// Patient position (LPS, mm) of the centre of voxel (0, 0, 0).
    pub origin: [f64; 3],
    /// Unit directions of +i, +j, +k in patient space (see the module docs; +k may be oblique).
    pub axes: [[f64; 3]; 3],
    /// `slices.len() == dims[2]`, each slice `dims[0] * dims[1]` values, row-major.
    pub voxels: VoxelSlices,
    /// Modality value = stored * slope + intercept (HU for CT).
    pub slope: f64,
    pub intercept: f64,
    /// MONOCHROME1: low values are shown white.
    pub invert: bool,
    /// Modality of the series ("CT", "MR", ...).
    pub modality: String,
    /// The window the series suggests (first file's window, else the data range), modality units.
    pub default_window: Window,
    /// What the builder had to do or could not do: resampling, duplicates dropped, gaps, tilt. Shown to
    /// the user; never empty when the volume is not a faithful copy of the slices as stored.
    pub warnings: Vec<String>,
}

/// What the page and the CLI need to know about a volume (no voxels): geometry, extent, warnings.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct VolumeSummary {
    pub dims: [usize; 3],
    pub spacing: [f64; 3],
    pub origin: [f64; 3],
    pub axes: [[f64; 3]; 3],
    /// Patient position of the grid's centre.
    pub center: [f64; 3],
    /// Axis-aligned bounding box of the voxel centres in patient space: `[min, max]`.
    pub bounds: [[f64; 3]; 2],
    /// Unit normal of the slice planes.
    pub slice_normal: [f64; 3],
    pub modality: String,
    pub default_window: Window,
    pub voxel_bytes: usize,
    pub invert: bool,
    /// "u1", "u2", "i2" or "f4": the stored type the voxels are kept in.
    pub dtype: &'static str,
    pub warnings: Vec<String>,
}

// 3-vector helpers for patient-space geometry, shared by the builder, the reslicer and the measurements.
pub(crate) fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

pub(crate) fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

/// `p + t d`.
pub(crate) fn along(p: [f64; 3], d: [f64; 3], t: f64) -> [f64; 3] {
    [p[0] + t * d[0], p[1] + t * d[1], p[2] + t * d[2]]
}

pub(crate) fn norm(a: [f64; 3]) -> f64 {
    dot(a, a).sqrt()
}

/// `a / |a|`, or None for a zero (or non-finite) vector.
pub(crate) fn unit(a: [f64; 3]) -> Option<[f64; 3]> {
    let l = norm(a);
    (l.is_finite() && l > 1e-9).then(|| [a[0] / l, a[1] / l, a[2] / l])
}

pub(crate) fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

impl Volume {
    /// Number of voxels.
    pub fn voxel_count(&self) -> usize {
        self.dims[0] * self.dims[1] * self.dims[2]
    }

    /// Bytes held by the voxels.
    pub fn voxel_bytes(&self) -> usize {
        self.voxel_count() * self.voxels.item_size()
    }

    /// Columns of the voxel-to-world matrix: the patient-space step of one voxel along i, j and k.
    pub fn steps(&self) -> [[f64; 3]; 3] {
        let s = |a: usize| {
            [
                self.axes[a][0] * self.spacing[a],
                self.axes[a][1] * self.spacing[a],
                self.axes[a][2] * self.spacing[a],
            ]
        };
        [s(0), s(1), s(2)]
    }

    /// Patient position (mm) of continuous voxel coordinates `(i, j, k)`.
    pub fn voxel_to_world(&self, v: [f64; 3]) -> [f64; 3] {
        let s = self.steps();
        let mut p = self.origin;
        for (a, step) in s.iter().enumerate() {
            for d in 0..3 {
                p[d] += v[a] * step[d];
            }
        }
        p
    }

    /// Rows of the world-to-voxel matrix (inverse of [`Volume::steps`]), or an error for a degenerate
    /// geometry (zero spacing, parallel axes).
    pub fn inverse_steps(&self) -> Result<[[f64; 3]; 3], Error> {
        let [a, b, c] = self.steps();
        // Inverse of the matrix with columns a, b, c: rows (b x c, c x a, a x b) / det.
        let det = dot(a, cross(b, c));
        if !det.is_finite() || det.abs() < 1e-12 {
            return Err(Error::malformed(
                "the volume's axes are degenerate (zero spacing or parallel directions)",
            ));
        }
        let r = |v: [f64; 3]| [v[0] / det, v[1] / det, v[2] / det];
        Ok([r(cross(b, c)), r(cross(c, a)), r(cross(a, b))])
    }

    /// Continuous voxel coordinates `(i, j, k)` of a patient position (mm).
    pub fn world_to_voxel(&self, p: [f64; 3]) -> Result<[f64; 3], Error> {
        let inv = self.inverse_steps()?;
        let d = [
            p[0] - self.origin[0],
            p[1] - self.origin[1],
            p[2] - self.origin[2],
        ];
        Ok([dot(inv[0], d), dot(inv[1], d), dot(inv[2], d)])
    }

    /// Patient position of the volume's centre (centre of the voxel grid).
    pub fn center(&self) -> [f64; 3] {
        self.voxel_to_world([
            (self.dims[0].saturating_sub(1)) as f64 / 2.0,
            (self.dims[1].saturating_sub(1)) as f64 / 2.0,
            (self.dims[2].saturating_sub(1)) as f64 / 2.0,
        ])
    }

    /// Unit normal of the slice planes (row direction x column direction).
    pub fn slice_normal(&self) -> [f64; 3] {
        let n = cross(self.axes[0], self.axes[1]);
        let len = dot(n, n).sqrt();
        if len > 0.0 {
            [n[0] / len, n[1] / len, n[2] / len]
        } else {
            n
        }
    }

    /// Modality value (stored * slope + intercept) of the nearest voxel to continuous voxel coordinates,
    /// or None outside the grid.
    pub fn value_at_voxel(&self, v: [f64; 3]) -> Option<f64> {
        let mut idx = [0usize; 3];
        for a in 0..3 {
            let r = v[a].round();
            if !(r >= 0.0 && r < self.dims[a] as f64) {
                return None;
            }
            idx[a] = r as usize;
        }
        let stored = self.voxels.get(idx[2], idx[1] * self.dims[0] + idx[0])?;
        Some(stored * self.slope + self.intercept)
    }

    /// Axis-aligned bounding box of the voxel centres in patient space: `[min, max]`.
    pub fn bounds(&self) -> [[f64; 3]; 2] {
        let mut lo = [f64::INFINITY; 3];
        let mut hi = [f64::NEG_INFINITY; 3];
        let last = |a: usize| self.dims[a].saturating_sub(1) as f64;
        for corner in 0..8 {
            let v = [
                if corner & 1 == 0 { 0.0 } else { last(0) },
                if corner & 2 == 0 { 0.0 } else { last(1) },
                if corner & 4 == 0 { 0.0 } else { last(2) },
            ];
            let p = self.voxel_to_world(v);
            for d in 0..3 {
                lo[d] = lo[d].min(p[d]);
                hi[d] = hi[d].max(p[d]);
            }
        }
        [lo, hi]
    }

    /// Geometry and warnings without the voxels.
    pub fn summary(&self) -> VolumeSummary {
        VolumeSummary {
            dims: self.dims,
            spacing: self.spacing,
            origin: self.origin,
            axes: self.axes,
            center: self.center(),
            bounds: self.bounds(),
            slice_normal: self.slice_normal(),
            modality: self.modality.clone(),
            default_window: self.default_window,
            voxel_bytes: self.voxel_bytes(),
            invert: self.invert,
            dtype: match self.voxels {
                VoxelSlices::U8(_) => "u1",
                VoxelSlices::U16(_) => "u2",
                VoxelSlices::I16(_) => "i2",
                VoxelSlices::F32(_) => "f4",
            },
            warnings: self.warnings.clone(),
        }
    }

    /// Checks the invariants every consumer relies on: slice count and sizes match `dims`, spacing is
    /// positive and finite, axes are unit vectors and not degenerate.
    pub fn validate(&self) -> Result<(), Error> {
        let plane = self.dims[0]
            .checked_mul(self.dims[1])
            .ok_or_else(|| Error::limit("volume slice too large"))?;
        if self.voxels.len() != self.dims[2] {
            return Err(Error::malformed(format!(
                "volume has {} slices, expected {}",
                self.voxels.len(),
                self.dims[2]
            )));
        }
        let sizes_ok = match &self.voxels {
            VoxelSlices::U8(v) => v.iter().all(|s| s.len() == plane),
            VoxelSlices::U16(v) => v.iter().all(|s| s.len() == plane),
            VoxelSlices::I16(v) => v.iter().all(|s| s.len() == plane),
            VoxelSlices::F32(v) => v.iter().all(|s| s.len() == plane),
        };
        if !sizes_ok {
            return Err(Error::malformed("a volume slice has the wrong size"));
        }
        if self.spacing.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
            return Err(Error::malformed(format!(
                "volume spacing must be positive: {:?}",
                self.spacing
            )));
        }
        for a in &self.axes {
            let len = dot(*a, *a).sqrt();
            if len.is_nan() || (len - 1.0).abs() >= 1e-3 {
                return Err(Error::malformed("volume axes must be unit vectors"));
            }
        }
        self.inverse_steps().map(|_| ())
    }
}

/// A test volume on any grid whose modality value at voxel (i, j, k) is `f(world)` (unit tests of the reslicers).
#[cfg(test)]
pub(crate) fn test_volume(
    dims: [usize; 3],
    spacing: [f64; 3],
    axes: [[f64; 3]; 3],
    origin: [f64; 3],
    f: impl Fn([f64; 3]) -> f32,
) -> Volume {
    let mut v = Volume {
        dims,
        spacing,
        origin,
        axes,
        voxels: VoxelSlices::F32(Vec::new()),
        slope: 1.0,
        intercept: 0.0,
        invert: false,
        modality: "CT".into(),
        default_window: Window {
            center: 0.0,
            width: 100.0,
        },
        warnings: vec![],
    };
    let slices = (0..dims[2])
        .map(|k| {
            let mut s = Vec::with_capacity(dims[0] * dims[1]);
            for j in 0..dims[1] {
                for i in 0..dims[0] {
                    s.push(f(v.voxel_to_world([i as f64, j as f64, k as f64])));
                }
            }
            s
        })
        .collect();
    v.voxels = VoxelSlices::F32(slices);
    v.validate().expect("valid test volume");
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tilted() -> Volume {
        let t = 0.2f64; // gantry tilt: slices step along z and y
        Volume {
            dims: [4, 3, 5],
            spacing: [0.5, 0.7, 2.0],
            origin: [-10.0, 20.0, 30.0],
            axes: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, t.sin(), t.cos()]],
            voxels: VoxelSlices::I16(vec![vec![0; 12]; 5]),
            slope: 1.0,
            intercept: -1024.0,
            invert: false,
            modality: "CT".into(),
            default_window: Window {
                center: 40.0,
                width: 400.0,
            },
            warnings: vec![],
        }
    }

    #[test]
    fn world_voxel_round_trip_on_a_sheared_grid() {
        let v = tilted();
        v.validate().expect("valid");
        for probe in [[0.0, 0.0, 0.0], [3.0, 2.0, 4.0], [1.25, -0.5, 2.75]] {
            let p = v.voxel_to_world(probe);
            let back = v.world_to_voxel(p).expect("invertible");
            for a in 0..3 {
                assert!((back[a] - probe[a]).abs() < 1e-9, "{probe:?} -> {back:?}");
            }
        }
        // bounds: x spans 3 columns of 0.5 mm, y 2 rows of 0.7 mm plus the tilt's 4 slices * 2 sin t
        let [lo, hi] = v.bounds();
        assert!((lo[0] + 10.0).abs() < 1e-12 && (hi[0] + 8.5).abs() < 1e-12);
        assert!((lo[1] - 20.0).abs() < 1e-12);
        assert!((hi[1] - (20.0 + 1.4 + 8.0 * 0.2f64.sin())).abs() < 1e-12);
        assert_eq!(v.summary().dtype, "i2");
        // one slice step moves 2 mm along the tilted axis: y by 2 sin t, z by 2 cos t
        let p = v.voxel_to_world([0.0, 0.0, 1.0]);
        assert!((p[1] - (20.0 + 2.0 * 0.2f64.sin())).abs() < 1e-12);
        assert!((p[2] - (30.0 + 2.0 * 0.2f64.cos())).abs() < 1e-12);
    }

    #[test]
    fn degenerate_geometry_is_an_error() {
        let mut v = tilted();
        v.axes[2] = [0.0, 1.0, 0.0]; // slice axis in the slice plane
        assert!(v.validate().is_err());
        let mut v = tilted();
        v.spacing[2] = 0.0;
        assert!(v.validate().is_err());
    }
}
