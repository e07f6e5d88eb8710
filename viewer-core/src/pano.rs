//! Dental reformats of a [`Volume`]: the arch curve, the panoramic (curved planar reformat along it),
//! cross-sections perpendicular to it, a proposed arch from the bone, and distances to a traced canal.
//!
//! # Geometry (patient LPS, mm)
//!
//! An [`Arch`] is a list of control points (clicked on an axial pane) and an `up` direction (the patient's
//! superior, `+z`, unless a caller says otherwise; a `-z` up is turned over). The points are projected onto the
//! *arch plane* (through their mean, perpendicular to `up`) and joined by a centripetal Catmull-Rom spline. The
//! curve runs from the patient's right end to the left end (`+x` is patient left), so arc length `s` grows to
//! the patient's left and a panoramic shows the patient's right on the viewer's left, like a radiograph.
//!
//! The *buccal normal* is `n = tangent x up`: outward, away from the tongue, for an arch traversed right to
//! left seen with the head up. The *focal curve* is the arch moved by `shift_mm` along `n` (positive = buccal);
//! it is resampled at equal arc length, and every `s` below is arc length along the focal curve, `0..=length`.
//! A height `h` is mm along `up` from the arch plane. The *focal surface* is the focal curve swept along `up`:
//! `F(s, h) = c(s) + h * up`. It is developable and `(s, h)` are isometric coordinates on it, so a distance on
//! a panoramic is `hypot(ds, dh)` in true mm on that surface.
//!
//! * **Panoramic** ([`PanoView`]): pixel `(x, y)` is centred at `s = center_s + (x + 0.5 - width/2) * pixel_mm`,
//!   `h = center_h - (y + 0.5 - height/2) * pixel_mm`; a slab of `slab_mm` samples the surfaces `F + o * n` for
//!   `o` in `-slab/2..=slab/2` (no further apart than the smallest voxel spacing) combined by average, MIP or
//!   MinIP. Where `s` leaves the curve or the sample leaves the volume there is no value (black).
//! * **Cross-sections** ([`Sections`]): tile `i` is the plane through `c(s_i)` perpendicular to the focal curve
//!   at `s_i = at + (i - (count - 1)/2) * spacing`, with `right = n` (buccal on the viewer's right) and
//!   `down = -up`, centred at height `center_h`; its slab runs along the tangent. Each tile is an
//!   [`mpr::View`], rendered by the MPR reslicer.
//!
//! When `up` runs along the volume's slice axis and the grid is not sheared (any axial CBCT), every voxel
//! column of the panoramic is a vertical line in voxel space: the slab is then combined on each stored slice
//! from bilinear taps (merged per voxel for the average) and the rows are interpolated between slices. For a
//! thin image and for the average this equals trilinear sampling; for MIP/MinIP it is the extreme of each
//! slice, interpolated (as in [`mpr`]'s slab projection). Other geometries sample trilinearly point by point.

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::mpr::{
    self, aligned_axis, grey, inside_span, slab_offsets, Grid, Plane, SlabMode, View,
};
use crate::render::RgbaImage;
use crate::volume::{along, cross, dot, unit, Volume, Voxel, VoxelSlices};
use crate::window::Window;

/// Most control points an arch (or a canal polyline) may have.
pub const MAX_POINTS: usize = 512;
/// Largest buccal/lingual shift of the focal curve: beyond the arch's tightest curvature the shifted curve
/// would fold over itself.
pub const MAX_SHIFT_MM: f64 = 20.0;
/// Thickest panoramic slab.
pub const MAX_PANO_SLAB_MM: f64 = 40.0;
/// Most cross-sections in a strip.
pub const MAX_SECTIONS: u32 = 64;
/// Arc-length step of the focal curve's sample table (interpolated linearly between samples).
const CURVE_STEP_MM: f64 = 0.05;
/// Longest arch, in mm (a dental arch is ~100-150 mm; this bounds the sample table).
const MAX_ARCH_MM: f64 = 2000.0;

/// The arch as the user drew it: control points and the up direction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Arch {
    pub points: Vec<[f64; 3]>,
    #[serde(default = "superior")]
    pub up: [f64; 3],
}

fn superior() -> [f64; 3] {
    [0.0, 0.0, 1.0]
}

/// A saved dental file (`{"arch": {...}, ...}`) or a bare arch.
#[derive(Deserialize)]
#[serde(untagged)]
enum ArchFile {
    Saved { arch: Arch },
    Bare(Arch),
}

impl Arch {
    /// Parses an arch from JSON: a bare `{"points": [[x,y,z], ...], "up": [x,y,z]}` or a saved dental file
    /// holding one under `"arch"`.
    pub fn from_json(text: &str) -> Result<Arch, Error> {
        let file: ArchFile = serde_json::from_str(text).map_err(|e| {
            Error::invalid_argument(format!(
                "arch JSON: {e} (expected {{\"points\": [[x,y,z], ...], \"up\": [x,y,z]}})"
            ))
        })?;
        Ok(match file {
            ArchFile::Saved { arch } | ArchFile::Bare(arch) => arch,
        })
    }

    /// The focal curve: the spline through the points, moved by `shift_mm` along the buccal normal.
    pub fn curve(&self, shift_mm: f64) -> Result<Curve, Error> {
        Curve::new(self, shift_mm)
    }
}

/// One sample of the focal curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CurveSample {
    /// Arc length from the patient-right end.
    pub s: f64,
    pub point: [f64; 3],
    /// Unit buccal normal.
    pub normal: [f64; 3],
    /// Unit tangent (towards growing `s`).
    pub tangent: [f64; 3],
}

/// The focal curve at equal arc-length steps.
#[derive(Debug, Clone)]
pub struct Curve {
    up: [f64; 3],
    step: f64,
    samples: Vec<CurveSample>,
}

fn finite3(v: [f64; 3]) -> bool {
    v.iter().all(|c| c.is_finite())
}

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn lerp3(a: [f64; 3], b: [f64; 3], t: f64) -> [f64; 3] {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

fn len3(v: [f64; 3]) -> f64 {
    dot(v, v).sqrt()
}

/// Centripetal Catmull-Rom (Barry-Goldman) through `p1..p2` with neighbours `p0`, `p3`, at `u` in `[0, 1]`.
fn catmull_rom(p: [[f64; 3]; 4], u: f64) -> [f64; 3] {
    // knot spacing |Δp|^0.5, never zero (duplicates were removed; the mirrored ends are distinct too)
    let knot = |a: [f64; 3], b: [f64; 3]| len3(sub(b, a)).sqrt().max(1e-9);
    let t0 = 0.0;
    let t1 = t0 + knot(p[0], p[1]);
    let t2 = t1 + knot(p[1], p[2]);
    let t3 = t2 + knot(p[2], p[3]);
    let t = t1 + (t2 - t1) * u;
    let mix = |a: [f64; 3], b: [f64; 3], ta: f64, tb: f64| lerp3(a, b, (t - ta) / (tb - ta));
    let a1 = mix(p[0], p[1], t0, t1);
    let a2 = mix(p[1], p[2], t1, t2);
    let a3 = mix(p[2], p[3], t2, t3);
    let b1 = mix(a1, a2, t0, t2);
    let b2 = mix(a2, a3, t1, t3);
    mix(b1, b2, t1, t2)
}

/// Walks a polyline's cumulative arc lengths (`cum[0] = 0`, at least two entries) by growing arc length: the
/// segment holding `s` and the fraction along it.
struct ArcWalk<'a> {
    cum: &'a [f64],
    seg: usize,
}

impl<'a> ArcWalk<'a> {
    fn new(cum: &'a [f64]) -> Self {
        ArcWalk { cum, seg: 0 }
    }

    fn at(&mut self, s: f64) -> (usize, f64) {
        let cum = self.cum;
        while self.seg + 2 < cum.len() && cum[self.seg + 1] < s {
            self.seg += 1;
        }
        let seg = self.seg;
        let span = cum[seg + 1] - cum[seg];
        let f = if span > 0.0 {
            ((s - cum[seg]) / span).clamp(0.0, 1.0)
        } else {
            0.0
        };
        (seg, f)
    }
}

impl Curve {
    fn new(arch: &Arch, shift_mm: f64) -> Result<Curve, Error> {
        if arch.points.len() < 2 || arch.points.len() > MAX_POINTS {
            return Err(Error::invalid_argument(format!(
                "the arch has {} points: expected 2 to {MAX_POINTS}",
                arch.points.len()
            )));
        }
        if !arch.points.iter().all(|&p| finite3(p)) || !finite3(arch.up) {
            return Err(Error::invalid_argument("the arch has non-finite numbers"));
        }
        if !(shift_mm.is_finite() && shift_mm.abs() <= MAX_SHIFT_MM) {
            return Err(Error::invalid_argument(format!(
                "focal shift {shift_mm} mm: expected -{MAX_SHIFT_MM} to {MAX_SHIFT_MM}"
            )));
        }
        let mut up = unit(arch.up)
            .ok_or_else(|| Error::invalid_argument("the arch's up direction is a zero vector"))?;
        if up[2] < 0.0 {
            up = up.map(|c| -c);
        }
        // Onto the arch plane; consecutive duplicates dropped.
        let n = arch.points.len() as f64;
        let mean = arch.points.iter().fold([0.0; 3], |m, p| {
            [m[0] + p[0] / n, m[1] + p[1] / n, m[2] + p[2] / n]
        });
        let mut pts: Vec<[f64; 3]> = Vec::with_capacity(arch.points.len());
        for &p in &arch.points {
            let q = along(p, up, -dot(sub(p, mean), up));
            if pts.last().is_none_or(|&l| len3(sub(q, l)) > 1e-6) {
                pts.push(q);
            }
        }
        if pts.len() < 2 {
            return Err(Error::invalid_argument(
                "the arch's points all coincide once projected onto the arch plane",
            ));
        }
        // Patient right (-x) to left (+x).
        if pts[pts.len() - 1][0] < pts[0][0] {
            pts.reverse();
        }
        // Dense polyline of the spline (ends continued by mirroring the neighbour).
        let m = pts.len();
        let ext = |i: isize| -> [f64; 3] {
            if i < 0 {
                along(pts[0], sub(pts[0], pts[1]), 1.0)
            } else if i as usize >= m {
                along(pts[m - 1], sub(pts[m - 1], pts[m - 2]), 1.0)
            } else {
                pts[i as usize]
            }
        };
        let mut dense = vec![pts[0]];
        let mut total = 0.0;
        for i in 0..m - 1 {
            let chord = len3(sub(pts[i + 1], pts[i]));
            total += chord;
            if total > MAX_ARCH_MM {
                return Err(Error::invalid_argument(format!(
                    "the arch is longer than {MAX_ARCH_MM} mm"
                )));
            }
            let steps = ((chord / 0.02).ceil() as usize).clamp(16, 20_000);
            let quad = [ext(i as isize - 1), pts[i], pts[i + 1], ext(i as isize + 2)];
            for k in 1..=steps {
                dense.push(catmull_rom(quad, k as f64 / steps as f64));
            }
        }
        // Buccal normals of the dense arch, then the focal (shifted) polyline.
        let tangent_at = |k: usize| {
            let (a, b) = (
                dense[k.saturating_sub(1)],
                dense[(k + 1).min(dense.len() - 1)],
            );
            unit(sub(b, a)).unwrap_or([1.0, 0.0, 0.0])
        };
        let normals: Vec<[f64; 3]> = (0..dense.len())
            .map(|k| unit(cross(tangent_at(k), up)).unwrap_or([0.0, -1.0, 0.0]))
            .collect();
        let focal: Vec<[f64; 3]> = dense
            .iter()
            .zip(&normals)
            .map(|(&p, &nm)| along(p, nm, shift_mm))
            .collect();
        let mut cum = Vec::with_capacity(focal.len());
        let mut acc = 0.0;
        cum.push(0.0);
        for w in focal.windows(2) {
            acc += len3(sub(w[1], w[0]));
            cum.push(acc);
        }
        if acc <= 1e-6 {
            return Err(Error::invalid_argument("the arch has no length"));
        }
        // Resample at equal arc length.
        let count = (acc / CURVE_STEP_MM).ceil() as usize;
        let step = acc / count as f64;
        let mut samples = Vec::with_capacity(count + 1);
        let mut walk = ArcWalk::new(&cum);
        for k in 0..=count {
            let s = (k as f64 * step).min(acc);
            let (seg, f) = walk.at(s);
            let point = lerp3(focal[seg], focal[seg + 1], f);
            let normal = unit(lerp3(normals[seg], normals[seg + 1], f)).unwrap_or(normals[seg]);
            samples.push(CurveSample {
                s,
                point,
                normal,
                tangent: cross(up, normal),
            });
        }
        Ok(Curve { up, step, samples })
    }

    /// Length of the focal curve (mm).
    pub fn length(&self) -> f64 {
        self.samples.last().map_or(0.0, |s| s.s)
    }

    /// Unit up direction (superior).
    pub fn up(&self) -> [f64; 3] {
        self.up
    }

    /// The sample table (every ~0.05 mm).
    pub fn samples(&self) -> &[CurveSample] {
        &self.samples
    }

    /// The samples every `step_mm` (at least 0.05 mm; the last one at the end of the curve).
    pub fn resampled(&self, step_mm: f64) -> Vec<CurveSample> {
        let step = if step_mm.is_finite() {
            step_mm.max(CURVE_STEP_MM)
        } else {
            1.0
        };
        let len = self.length();
        let n = (len / step).ceil() as usize;
        (0..=n)
            .filter_map(|i| self.at((i as f64 * step).min(len)))
            .collect()
    }

    /// The focal curve at arc length `s` (None outside `0..=length`, with 1e-9 mm of tolerance).
    pub fn at(&self, s: f64) -> Option<CurveSample> {
        let len = self.length();
        if !(s.is_finite() && (-1e-9..=len + 1e-9).contains(&s)) {
            return None;
        }
        let s = s.clamp(0.0, len);
        let i = ((s / self.step) as usize).min(self.samples.len() - 2);
        let (a, b) = (&self.samples[i], &self.samples[i + 1]);
        let f = ((s - a.s) / (b.s - a.s)).clamp(0.0, 1.0);
        let normal = unit(lerp3(a.normal, b.normal, f)).unwrap_or(a.normal);
        Some(CurveSample {
            s,
            point: lerp3(a.point, b.point, f),
            normal,
            tangent: cross(self.up, normal),
        })
    }

    /// The patient point at `(s, h)` on the focal surface.
    pub fn to_world(&self, s: f64, h: f64) -> Option<[f64; 3]> {
        self.at(s).map(|c| along(c.point, self.up, h))
    }

    /// `(s, h, d)` of a patient point: arc length and height of its nearest point on the focal surface and
    /// its signed distance from it along the buccal normal.
    pub fn project(&self, p: [f64; 3]) -> [f64; 3] {
        let flat = |q: [f64; 3]| along(q, self.up, -dot(q, self.up));
        let pf = flat(p);
        let mut best = (f64::INFINITY, 0.0);
        for w in self.samples.windows(2) {
            let (a, b) = (flat(w[0].point), flat(w[1].point));
            let ab = sub(b, a);
            let l2 = dot(ab, ab);
            let f = if l2 > 0.0 {
                (dot(sub(pf, a), ab) / l2).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let d2 = {
                let q = lerp3(a, b, f);
                dot(sub(pf, q), sub(pf, q))
            };
            if d2 < best.0 {
                best = (d2, w[0].s + f * (w[1].s - w[0].s));
            }
        }
        let c = self.at(best.1).unwrap_or(self.samples[0]);
        let rel = sub(p, c.point);
        [best.1, dot(rel, self.up), dot(rel, c.normal)]
    }
}

/// A panoramic image: a window onto the focal surface (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PanoView {
    pub center_s: f64,
    pub center_h: f64,
    pub width: u32,
    pub height: u32,
    pub pixel_mm: f64,
    /// 0 = the focal surface only.
    pub slab_mm: f64,
    pub mode: SlabMode,
}

fn check_size(width: u32, height: u32) -> Result<(), Error> {
    if width == 0 || height == 0 || u64::from(width) * u64::from(height) > mpr::MAX_VIEW_PIXELS {
        return Err(Error::invalid_argument(format!(
            "image size {width}x{height}: expected 1 to {} pixels",
            mpr::MAX_VIEW_PIXELS
        )));
    }
    Ok(())
}

fn check_mm(value: f64, what: &str, max: f64) -> Result<(), Error> {
    if !(value.is_finite() && (0.0..=max).contains(&value)) {
        return Err(Error::invalid_argument(format!(
            "{what} {value} mm: expected 0 to {max}"
        )));
    }
    Ok(())
}

impl PanoView {
    fn check(&self) -> Result<(), Error> {
        check_size(self.width, self.height)?;
        if !(self.pixel_mm.is_finite() && self.pixel_mm > 0.0) {
            return Err(Error::invalid_argument(format!(
                "pixel size {} mm: expected a positive number",
                self.pixel_mm
            )));
        }
        if !(self.center_s.is_finite() && self.center_h.is_finite()) {
            return Err(Error::invalid_argument(
                "the panoramic's centre has non-finite numbers",
            ));
        }
        check_mm(self.slab_mm, "panoramic slab", MAX_PANO_SLAB_MM)
    }

    /// Arc length of the centre of pixel column `x`.
    pub fn s_at(&self, x: f64) -> f64 {
        self.center_s + (x + 0.5 - f64::from(self.width) / 2.0) * self.pixel_mm
    }

    /// Height of the centre of pixel row `y`.
    pub fn h_at(&self, y: f64) -> f64 {
        self.center_h - (y + 0.5 - f64::from(self.height) / 2.0) * self.pixel_mm
    }
}

/// Modality values of a panoramic (`width * height`, row-major, NaN where there is none) into `out`.
pub fn reslice_pano(
    volume: &Volume,
    curve: &Curve,
    view: &PanoView,
    out: &mut Vec<f32>,
) -> Result<(), Error> {
    reslice_pano_with(volume, curve, view, out, true)
}

/// `vertical`: voxel columns along the slice axis may be combined slice by slice (see the module docs).
fn reslice_pano_with(
    volume: &Volume,
    curve: &Curve,
    view: &PanoView,
    out: &mut Vec<f32>,
    vertical: bool,
) -> Result<(), Error> {
    view.check()?;
    volume.validate()?;
    match &volume.voxels {
        VoxelSlices::U8(s) => pano_typed(volume, s, curve, view, out, vertical),
        VoxelSlices::U16(s) => pano_typed(volume, s, curve, view, out, vertical),
        VoxelSlices::I16(s) => pano_typed(volume, s, curve, view, out, vertical),
        VoxelSlices::F32(s) => pano_typed(volume, s, curve, view, out, vertical),
    }
}

fn combine(mode: SlabMode, acc: f32, value: f32) -> f32 {
    match mode {
        SlabMode::Average => acc + value,
        SlabMode::Mip => acc.max(value),
        SlabMode::MinIp => acc.min(value),
    }
}

fn initial(mode: SlabMode) -> f32 {
    match mode {
        SlabMode::Average => 0.0,
        SlabMode::Mip => f32::NEG_INFINITY,
        SlabMode::MinIp => f32::INFINITY,
    }
}

fn pano_typed<T: Voxel>(
    volume: &Volume,
    slices: &[Vec<T>],
    curve: &Curve,
    view: &PanoView,
    out: &mut Vec<f32>,
    vertical: bool,
) -> Result<(), Error> {
    let (w, h) = (view.width as usize, view.height as usize);
    out.clear();
    out.try_reserve(w * h)
        .map_err(|_| Error::limit("the panoramic does not fit in memory"))?;
    out.resize(w * h, f32::NAN);
    let offsets = slab_offsets(volume, view.slab_mm);
    let grid = Grid {
        slices,
        dims: volume.dims,
        slope: volume.slope as f32,
        intercept: volume.intercept as f32,
    };
    let columns: Vec<Option<CurveSample>> = (0..w).map(|x| curve.at(view.s_at(x as f64))).collect();
    // The slice-by-slice path holds every column's taps and one line per slice: beyond these sizes (absurd
    // slabs on a very wide image) the point-by-point path, which needs no such tables, is used instead.
    const MAX_TAPS: usize = 1 << 24;
    const MAX_LINE_VALUES: usize = 1 << 25;
    let small = offsets.len() * 4 * w <= MAX_TAPS && volume.dims[2] * w <= MAX_LINE_VALUES;
    if vertical && small && aligned_axis(volume, curve.up) == Some(2) {
        return pano_vertical(volume, &grid, &columns, &offsets, curve, view, out);
    }
    let inv = volume.inverse_steps()?;
    let linear = |v: [f64; 3]| [dot(inv[0], v), dot(inv[1], v), dot(inv[2], v)];
    let dy = linear(curve.up.map(|c| -c * view.pixel_mm));
    let dims = volume.dims;
    let max = [
        (dims[0] - 1) as f64,
        (dims[1] - 1) as f64,
        (dims[2] - 1) as f64,
    ];
    let h_top = view.h_at(0.0);
    let mut counts = vec![0u16; h];
    let mut column = vec![0f32; h];
    for (x, c) in columns.iter().enumerate() {
        let Some(c) = c else { continue };
        column.fill(initial(view.mode));
        counts.fill(0);
        for &o in &offsets {
            let top = along(along(c.point, c.normal, o), curve.up, h_top);
            let base = volume.world_to_voxel(top)?;
            grid.row(base, dy, inside_span(base, dy, max, h), |y, v| {
                column[y] = combine(view.mode, column[y], v);
                counts[y] += 1;
            });
        }
        for y in 0..h {
            out[y * w + x] = match counts[y] {
                0 => f32::NAN,
                n if view.mode == SlabMode::Average => column[y] / f32::from(n),
                _ => column[y],
            };
        }
    }
    Ok(())
}

/// The panoramic when `up` runs along the (unsheared) slice axis: per column, the slab's bilinear taps on each
/// stored slice, combined there, then interpolated between slices row by row.
fn pano_vertical<T: Voxel>(
    volume: &Volume,
    grid: &Grid<'_, T>,
    columns: &[Option<CurveSample>],
    offsets: &[f64],
    curve: &Curve,
    view: &PanoView,
    out: &mut [f32],
) -> Result<(), Error> {
    let (w, h) = (view.width as usize, view.height as usize);
    let [di, dj, dk] = volume.dims;
    const EPS: f64 = 1e-6;
    // Taps per column: (index in a slice, weight). For the average the taps of all slab surfaces are merged
    // per voxel with weights summing to 1; for MIP/MinIP each surface keeps its own four (`group` = 4).
    let average = view.mode == SlabMode::Average;
    let mut taps: Vec<(u32, f32)> = Vec::new();
    let mut starts = vec![0usize; w + 1];
    let mut k_plane = f64::NAN;
    for (x, c) in columns.iter().enumerate() {
        starts[x] = taps.len();
        let Some(c) = c else { continue };
        let first = taps.len();
        let mut inside = 0usize;
        for &o in offsets {
            let v = volume.world_to_voxel(along(c.point, c.normal, o))?;
            if k_plane.is_nan() {
                k_plane = v[2];
            }
            let within = |c: f64, d: usize| (-EPS..=(d - 1) as f64 + EPS).contains(&c);
            if !(within(v[0], di) && within(v[1], dj)) {
                continue;
            }
            inside += 1;
            let (i0, i1, fx) = mpr::corner(v[0], di);
            let (j0, j1, fy) = mpr::corner(v[1], dj);
            for (idx, wt) in [
                (j0 * di + i0, (1.0 - fx) * (1.0 - fy)),
                (j0 * di + i1, fx * (1.0 - fy)),
                (j1 * di + i0, (1.0 - fx) * fy),
                (j1 * di + i1, fx * fy),
            ] {
                taps.push((idx as u32, wt));
            }
        }
        if average && inside > 0 {
            let group = &mut taps[first..];
            group.sort_unstable_by_key(|t| t.0);
            let scale = 1.0 / inside as f32;
            let mut merged: Vec<(u32, f32)> = Vec::with_capacity(group.len());
            for &(idx, wt) in group.iter() {
                match merged.last_mut() {
                    Some(last) if last.0 == idx => last.1 += wt * scale,
                    _ => merged.push((idx, wt * scale)),
                }
            }
            taps.truncate(first);
            taps.extend(merged.into_iter().filter(|t| t.1 != 0.0));
            if taps.len() == first {
                // every weight vanished (cannot happen with `inside > 0`, but keep the column valid)
                taps.push((0, 0.0));
            }
        }
    }
    starts[w] = taps.len();
    if k_plane.is_nan() {
        return Ok(()); // no column on the curve
    }
    // Continuous slice coordinate of each row; rows outside the slices stay NaN.
    let dk_dh = dot(volume.inverse_steps()?[2], curve.up);
    let rows: Vec<Option<(usize, usize, f32)>> = (0..h)
        .map(|y| {
            let k = k_plane + dk_dh * view.h_at(y as f64);
            (k >= -EPS && k <= (dk - 1) as f64 + EPS).then(|| mpr::corner(k, dk))
        })
        .collect();
    let Some((k_lo, k_hi)) = rows.iter().flatten().fold(None, |acc, &(k0, k1, _)| {
        let (lo, hi) = acc.unwrap_or((k0, k1));
        Some((lo.min(k0), hi.max(k1)))
    }) else {
        return Ok(());
    };
    // Each needed slice once: the combined slab value of every column on it.
    let nk = k_hi - k_lo + 1;
    let mut lines: Vec<f32> = Vec::new();
    lines
        .try_reserve(nk * w)
        .map_err(|_| Error::limit("the panoramic does not fit in memory"))?;
    lines.resize(nk * w, f32::NAN);
    for k in k_lo..=k_hi {
        let Some(slice) = grid.slices.get(k) else {
            continue;
        };
        let line = &mut lines[(k - k_lo) * w..(k - k_lo + 1) * w];
        for (x, value) in line.iter_mut().enumerate() {
            let column = &taps[starts[x]..starts[x + 1]];
            if column.is_empty() {
                continue;
            }
            let at = |idx: u32| slice.get(idx as usize).map_or(f32::NAN, |v| v.to_f32());
            *value = if average {
                column.iter().map(|&(idx, wt)| at(idx) * wt).sum()
            } else {
                let mut acc = initial(view.mode);
                for quad in column.chunks_exact(4) {
                    let v: f32 = quad.iter().map(|&(idx, wt)| at(idx) * wt).sum();
                    acc = combine(view.mode, acc, v);
                }
                acc
            };
        }
    }
    let (slope, intercept) = (grid.slope, grid.intercept);
    for (y, row) in rows.iter().enumerate() {
        let Some((k0, k1, f)) = *row else { continue };
        let (a, b) = (
            &lines[(k0 - k_lo) * w..(k0 - k_lo + 1) * w],
            &lines[(k1 - k_lo) * w..(k1 - k_lo + 1) * w],
        );
        for x in 0..w {
            let v = a[x] + (b[x] - a[x]) * f;
            out[y * w + x] = v * slope + intercept;
        }
    }
    Ok(())
}

/// Renders a panoramic through the window into `out` (reused), with `scratch` for the modality values.
pub fn render_pano(
    volume: &Volume,
    curve: &Curve,
    view: &PanoView,
    window: Window,
    scratch: &mut Vec<f32>,
    out: &mut RgbaImage,
) -> Result<(), Error> {
    check_window(window)?;
    reslice_pano(volume, curve, view, scratch)?;
    out.ensure_size(view.width, view.height)?;
    for (px, &v) in out.data.chunks_exact_mut(4).zip(scratch.iter()) {
        px.copy_from_slice(&grey(f64::from(v), window, volume.invert));
    }
    Ok(())
}

fn check_window(window: Window) -> Result<(), Error> {
    if !window.is_valid() {
        return Err(Error::invalid_argument(format!(
            "window {},{}: expected a finite centre and a width >= 1",
            window.center, window.width
        )));
    }
    Ok(())
}

/// A strip of cross-sections perpendicular to the focal curve (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sections {
    /// Arc length of the middle section.
    pub at_mm: f64,
    pub spacing_mm: f64,
    pub count: u32,
    /// Pixels of one tile.
    pub tile_width: u32,
    pub tile_height: u32,
    pub pixel_mm: f64,
    /// Height of the tiles' centre above the arch plane.
    pub center_h: f64,
    /// Slab along the curve's tangent.
    pub slab_mm: f64,
    pub mode: SlabMode,
}

impl Sections {
    fn check(&self) -> Result<(), Error> {
        if self.count == 0 || self.count > MAX_SECTIONS {
            return Err(Error::invalid_argument(format!(
                "{} cross-sections: expected 1 to {MAX_SECTIONS}",
                self.count
            )));
        }
        check_size(self.tile_width.saturating_mul(self.count), self.tile_height)?;
        if !(self.at_mm.is_finite() && self.center_h.is_finite()) {
            return Err(Error::invalid_argument(
                "the cross-sections' position has non-finite numbers",
            ));
        }
        check_mm(self.spacing_mm, "cross-section spacing", 1000.0)?;
        check_mm(self.slab_mm, "cross-section slab", MAX_PANO_SLAB_MM)?;
        if !(self.pixel_mm.is_finite() && self.pixel_mm > 0.0) {
            return Err(Error::invalid_argument(format!(
                "pixel size {} mm: expected a positive number",
                self.pixel_mm
            )));
        }
        Ok(())
    }

    /// Arc length of section `i`.
    pub fn s_of(&self, i: u32) -> f64 {
        self.at_mm + (f64::from(i) - (f64::from(self.count) - 1.0) / 2.0) * self.spacing_mm
    }

    /// The plane of each section (None where its position is off the curve).
    pub fn planes(&self, curve: &Curve) -> Result<Vec<Option<Plane>>, Error> {
        self.check()?;
        Ok((0..self.count)
            .map(|i| {
                curve.at(self.s_of(i)).map(|c| Plane {
                    center: along(c.point, curve.up, self.center_h),
                    right: c.normal,
                    down: curve.up.map(|v| -v),
                })
            })
            .collect())
    }
}

/// Renders the strip of cross-sections (`count` tiles side by side) into `out`.
pub fn render_sections(
    volume: &Volume,
    curve: &Curve,
    sections: &Sections,
    window: Window,
    scratch: &mut Vec<f32>,
    out: &mut RgbaImage,
) -> Result<(), Error> {
    check_window(window)?;
    let planes = sections.planes(curve)?;
    let (tw, th) = (sections.tile_width as usize, sections.tile_height as usize);
    let strip_w = tw * planes.len();
    out.ensure_size(strip_w as u32, sections.tile_height)?;
    for (i, plane) in planes.iter().enumerate() {
        let Some(plane) = plane else {
            for y in 0..th {
                let row = (y * strip_w + i * tw) * 4;
                for px in out.data[row..row + tw * 4].chunks_exact_mut(4) {
                    px.copy_from_slice(&grey(f64::NAN, window, volume.invert));
                }
            }
            continue;
        };
        let view = View {
            plane: *plane,
            width: sections.tile_width,
            height: sections.tile_height,
            pixel_mm: sections.pixel_mm,
            slab_mm: sections.slab_mm,
            mode: sections.mode,
        };
        mpr::reslice(volume, &view, scratch)?;
        for y in 0..th {
            let row = (y * strip_w + i * tw) * 4;
            for (px, &v) in out.data[row..row + tw * 4]
                .chunks_exact_mut(4)
                .zip(&scratch[y * tw..(y + 1) * tw])
            {
                px.copy_from_slice(&grey(f64::from(v), window, volume.invert));
            }
        }
    }
    Ok(())
}

/// Length of a polyline (mm).
pub fn polyline_length(points: &[[f64; 3]]) -> f64 {
    points.windows(2).map(|w| len3(sub(w[1], w[0]))).sum()
}

/// Distance (mm) from `p` to a polyline and the nearest point on it (None for an empty polyline).
pub fn polyline_distance(points: &[[f64; 3]], p: [f64; 3]) -> Option<(f64, [f64; 3])> {
    let mut best: Option<(f64, [f64; 3])> = points.first().map(|&q| (len3(sub(p, q)), q));
    for w in points.windows(2) {
        let ab = sub(w[1], w[0]);
        let l2 = dot(ab, ab);
        let f = if l2 > 0.0 {
            (dot(sub(p, w[0]), ab) / l2).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let q = lerp3(w[0], w[1], f);
        let d = len3(sub(p, q));
        if best.is_none_or(|b| d < b.0) {
            best = Some((d, q));
        }
    }
    best
}

/// Bone threshold (modality units) of a CT-like volume when the caller gives none.
pub const BONE_HU: f64 = 600.0;

/// Proposes an arch from the bone in the axial slab of `slab_mm` centred at patient height `z_center`:
/// the slab's MIP is thresholded (`threshold`, else [`BONE_HU`] for CT, else Otsu's threshold of the slab), the
/// largest connected bone region is kept, and rays cast from its centroid find the middle of the bone band at
/// each angle; the ordered midpoints, smoothed, give about one control point per 12 mm (5 to 15 points).
pub fn propose_arch(
    volume: &Volume,
    z_center: f64,
    slab_mm: f64,
    threshold: Option<f64>,
) -> Result<Arch, Error> {
    if !z_center.is_finite() {
        return Err(Error::invalid_argument("the arch height is not a number"));
    }
    check_mm(slab_mm, "arch slab", 100.0)?;
    let [lo, hi] = volume.bounds();
    let extent = (hi[0] - lo[0]).max(hi[1] - lo[1]);
    let min_spacing = volume.spacing.iter().copied().fold(f64::INFINITY, f64::min);
    let size = 384usize;
    let pixel_mm = (extent / size as f64).max(min_spacing);
    let center = [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0, z_center];
    let view = View {
        plane: Plane::axial(center),
        width: size as u32,
        height: size as u32,
        pixel_mm,
        slab_mm,
        mode: SlabMode::Mip,
    };
    let mut image = Vec::new();
    mpr::reslice(volume, &view, &mut image)?;
    let threshold = match threshold {
        Some(t) if t.is_finite() => t,
        Some(t) => return Err(Error::invalid_argument(format!("bone threshold {t}"))),
        None if volume.modality == "CT" => BONE_HU,
        None => otsu(&image).ok_or_else(|| {
            Error::not_found(format!("bone in the axial slab at z = {z_center:.1} mm"))
        })?,
    };
    let mask: Vec<bool> = image.iter().map(|&v| f64::from(v) >= threshold).collect();
    let (region, members) = largest_region(&mask, size);
    if members.len() < 50 {
        return Err(Error::not_found(format!(
            "a bone arch in the axial slab at z = {z_center:.1} mm (bone >= {threshold:.0})"
        )));
    }
    let inside = |x: f64, y: f64| -> bool {
        let (xi, yi) = (x.round(), y.round());
        xi >= 0.0
            && yi >= 0.0
            && (xi as usize) < size
            && (yi as usize) < size
            && region[yi as usize * size + xi as usize]
    };
    let n = members.len() as f64;
    let (cx, cy) = members.iter().fold((0.0, 0.0), |(sx, sy), i| {
        (sx + (i % size) as f64 / n, sy + (i / size) as f64 / n)
    });
    // Ray midpoints of the first bone run, one ray per degree; (angle, chord, x, y) in pixels.
    let mut hits: Vec<(f64, f64, f64, f64)> = Vec::new();
    for a in 0..360 {
        let theta = f64::from(a).to_radians();
        let (dx, dy) = (theta.cos(), theta.sin());
        let mut run: Option<(f64, f64)> = None;
        let mut r = 0.0;
        while r < size as f64 * 1.5 {
            let hit = inside(cx + r * dx, cy + r * dy);
            match (&mut run, hit) {
                (None, true) => run = Some((r, r)),
                (Some(span), true) => span.1 = r,
                (Some(_), false) => break,
                (None, false) => {}
            }
            r += 0.25;
        }
        if let Some((r0, r1)) = run {
            let mid = (r0 + r1) / 2.0;
            hits.push((theta, r1 - r0, cx + mid * dx, cy + mid * dy));
        }
    }
    if hits.len() < 10 {
        return Err(Error::not_found(format!(
            "a bone arch in the axial slab at z = {z_center:.1} mm"
        )));
    }
    // Start after the widest gap in angle (the arch's open side).
    let mut gap = (0.0, 0);
    for i in 0..hits.len() {
        let next = hits[(i + 1) % hits.len()].0
            + if i + 1 == hits.len() {
                2.0 * std::f64::consts::PI
            } else {
                0.0
            };
        if next - hits[i].0 > gap.0 {
            gap = (next - hits[i].0, (i + 1) % hits.len());
        }
    }
    hits.rotate_left(gap.1);
    // The ray midpoints order the band but are biased where a ray crosses it obliquely: re-centre each one
    // across the band along the normal of the rough curve, then follow the band past both ends.
    let rough: Vec<[f64; 2]> = hits.iter().map(|h| [h.2, h.3]).collect();
    let rough = moving_average(&rough, 5);
    // (centre, width across the band) of each rough point; the band's width is its median.
    let across =
        |p: [f64; 2], t: [f64; 2], reach: f64| band_centre(&inside, p, [-t[1], t[0]], reach);
    let mut centred: Vec<([f64; 2], f64)> = Vec::with_capacity(rough.len());
    for i in 0..rough.len() {
        let t = unit2(sub2(
            rough[(i + 1).min(rough.len() - 1)],
            rough[i.saturating_sub(1)],
        ));
        centred.extend(across(rough[i], t, 15.0 / pixel_mm));
    }
    let mut widths: Vec<f64> = centred.iter().map(|c| c.1).collect();
    widths.sort_by(f64::total_cmp);
    let band = widths.get(widths.len() / 2).copied().unwrap_or(0.0);
    // Where the line across meets an end of the band (its cut face) it crosses more or less bone than the
    // band is wide: such points are not on the centre line.
    let full = |w: f64| (0.75 * band..=1.35 * band).contains(&w);
    while centred.first().is_some_and(|c| !full(c.1)) {
        centred.remove(0);
    }
    while centred.last().is_some_and(|c| !full(c.1)) {
        centred.pop();
    }
    let points: Vec<[f64; 2]> = centred.iter().map(|c| c.0).collect();
    let mut centred = unfold(&moving_average(&points, 5));
    if centred.len() < 5 {
        return Err(Error::not_found(format!(
            "a bone arch in the axial slab at z = {z_center:.1} mm"
        )));
    }
    // Follow the band past both ends while it is whole, 1 mm at a time.
    for _end in 0..2 {
        let step = 1.0 / pixel_mm;
        for _ in 0..200 {
            let m = centred.len();
            let (last, before) = (centred[m - 1], centred[m.saturating_sub(4)]);
            let t = unit2(sub2(last, before));
            let ahead = [last[0] + t[0] * step, last[1] + t[1] * step];
            // a new point lies ahead, not on the band already traced
            let fresh = |c: [f64; 2]| {
                dot2(sub2(c, last), t) > 0.0
                    && centred[..m.saturating_sub(3)]
                        .iter()
                        .all(|&q| sub2(c, q)[0].hypot(sub2(c, q)[1]) > 2.0 * step)
            };
            match across(ahead, t, 2.0 * band.max(step)) {
                Some((c, w)) if full(w) && fresh(c) => centred.push(c),
                _ => break,
            }
        }
        centred.reverse();
    }
    let smooth: Vec<[f64; 3]> = centred
        .iter()
        .map(|&[x, y]| view.pixel_center(x, y))
        .collect();
    let length = polyline_length(&smooth);
    let count = ((length / 12.0).round() as usize).clamp(5, 15);
    let mut cum = vec![0.0];
    for w in smooth.windows(2) {
        let last = cum[cum.len() - 1];
        cum.push(last + len3(sub(w[1], w[0])));
    }
    let mut points = Vec::with_capacity(count);
    let mut walk = ArcWalk::new(&cum);
    for i in 0..count {
        let (seg, f) = walk.at(length * i as f64 / (count - 1) as f64);
        points.push(lerp3(smooth[seg], smooth[seg + 1], f));
    }
    if points[points.len() - 1][0] < points[0][0] {
        points.reverse();
    }
    Ok(Arch {
        points,
        up: superior(),
    })
}

fn sub2(a: [f64; 2], b: [f64; 2]) -> [f64; 2] {
    [a[0] - b[0], a[1] - b[1]]
}

fn dot2(a: [f64; 2], b: [f64; 2]) -> f64 {
    a[0] * b[0] + a[1] * b[1]
}

/// The longest run of an ordered point list that keeps going one way: from its middle outwards, a point is
/// kept while the step to it does not turn back (more than 90 degrees) against the previous step.
fn unfold(points: &[[f64; 2]]) -> Vec<[f64; 2]> {
    let m = points.len();
    if m < 3 {
        return points.to_vec();
    }
    let mid = m / 2;
    let keep = |range: &mut dyn Iterator<Item = usize>| -> usize {
        let mut last_step: Option<[f64; 2]> = None;
        let mut prev = mid;
        let mut count = 0;
        for i in range {
            let step = sub2(points[i], points[prev]);
            if last_step.is_some_and(|l| dot2(l, step) < 0.0) {
                break;
            }
            if step[0].hypot(step[1]) > 0.0 {
                last_step = Some(step);
            }
            prev = i;
            count += 1;
        }
        count
    };
    let after = keep(&mut (mid + 1..m));
    let before = keep(&mut (0..mid).rev());
    points[mid - before..=mid + after].to_vec()
}

fn unit2(v: [f64; 2]) -> [f64; 2] {
    let l = v[0].hypot(v[1]);
    if l > 0.0 {
        [v[0] / l, v[1] / l]
    } else {
        [1.0, 0.0]
    }
}

/// Moving average over `window` points (shrinking at the ends, which stay in place on average).
fn moving_average(points: &[[f64; 2]], window: usize) -> Vec<[f64; 2]> {
    let half = window / 2;
    (0..points.len())
        .map(|i| {
            let (a, b) = (i.saturating_sub(half), (i + half).min(points.len() - 1));
            let k = (b - a + 1) as f64;
            points[a..=b]
                .iter()
                .fold([0.0; 2], |m, p| [m[0] + p[0] / k, m[1] + p[1] / k])
        })
        .collect()
}

/// The middle and the length of the bone run crossed by the line `p + r * dir`, `|r| <= reach` (pixels),
/// nearest to `p`.
fn band_centre(
    inside: &impl Fn(f64, f64) -> bool,
    p: [f64; 2],
    dir: [f64; 2],
    reach: f64,
) -> Option<([f64; 2], f64)> {
    const STEP: f64 = 0.25;
    let n = (reach / STEP).ceil() as i32;
    let at = |i: i32| {
        let r = f64::from(i) * STEP;
        inside(p[0] + r * dir[0], p[1] + r * dir[1])
    };
    // nearest bone sample to p, then the run around it
    let seed = (0..=n).flat_map(|i| [i, -i]).find(|&i| at(i))?;
    let (mut lo, mut hi) = (seed, seed);
    while lo > -n && at(lo - 1) {
        lo -= 1;
    }
    while hi < n && at(hi + 1) {
        hi += 1;
    }
    let mid = f64::from(lo + hi) / 2.0 * STEP;
    Some((
        [p[0] + mid * dir[0], p[1] + mid * dir[1]],
        f64::from(hi - lo + 1) * STEP,
    ))
}

/// The largest 8-connected region of `mask` (a `size` x `size` image): a mask of it and its pixel indices.
fn largest_region(mask: &[bool], size: usize) -> (Vec<bool>, Vec<usize>) {
    let mut label = vec![0u32; mask.len()];
    let mut best: Vec<usize> = Vec::new();
    let mut next = 0u32;
    let mut stack = Vec::new();
    for start in 0..mask.len() {
        if !mask[start] || label[start] != 0 {
            continue;
        }
        next += 1;
        let mut members = Vec::new();
        label[start] = next;
        stack.push(start);
        while let Some(i) = stack.pop() {
            members.push(i);
            let (x, y) = ((i % size) as isize, (i / size) as isize);
            for (ox, oy) in [
                (-1, -1),
                (0, -1),
                (1, -1),
                (-1, 0),
                (1, 0),
                (-1, 1),
                (0, 1),
                (1, 1),
            ] {
                let (nx, ny) = (x + ox, y + oy);
                if nx < 0 || ny < 0 || nx >= size as isize || ny >= size as isize {
                    continue;
                }
                let j = ny as usize * size + nx as usize;
                if mask[j] && label[j] == 0 {
                    label[j] = next;
                    stack.push(j);
                }
            }
        }
        if members.len() > best.len() {
            best = members;
        }
    }
    let mut set = vec![false; mask.len()];
    for &i in &best {
        set[i] = true;
    }
    (set, best)
}

/// Otsu's threshold of the finite values (256 bins over their range), None when they are all equal.
fn otsu(values: &[f32]) -> Option<f64> {
    let finite = || values.iter().copied().filter(|v| v.is_finite());
    let (lo, hi) = finite().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
        return None;
    }
    let mut hist = [0f64; 256];
    let scale = 255.0 / f64::from(hi - lo);
    for v in finite() {
        hist[(f64::from(v - lo) * scale) as usize] += 1.0;
    }
    let total: f64 = hist.iter().sum();
    let sum_all: f64 = hist.iter().enumerate().map(|(i, &c)| i as f64 * c).sum();
    let (mut w0, mut sum0, mut best) = (0.0, 0.0, (0.0, 0usize));
    for (i, &c) in hist.iter().enumerate() {
        w0 += c;
        sum0 += i as f64 * c;
        let w1 = total - w0;
        if w0 == 0.0 || w1 == 0.0 {
            continue;
        }
        let (m0, m1) = (sum0 / w0, (sum_all - sum0) / w1);
        let between = w0 * w1 * (m0 - m1) * (m0 - m1);
        if between > best.0 {
            best = (between, i);
        }
    }
    Some(f64::from(lo) + (best.1 as f64 + 1.0) / scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A volume whose modality value at each voxel centre is `f(world)`: axial slices (`+k` = superior) on
    /// an anisotropic grid, or sheared along y when `tilt_deg` is not 0 (so the fast path cannot apply).
    fn volume_of(dims: [usize; 3], tilt_deg: f64, f: impl Fn([f64; 3]) -> f32) -> Volume {
        let (s, c) = tilt_deg.to_radians().sin_cos();
        let axes = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, s, c]];
        crate::volume::test_volume(dims, [0.5, 0.6, 0.7], axes, [-12.0, -14.0, -10.0], f)
    }

    /// A small U-shaped arch (a parabola, drawn left to right on purpose: the curve must turn it round).
    fn arch() -> Arch {
        let points = (0..=8)
            .rev()
            .map(|i| {
                let x = -8.0 + 2.0 * f64::from(i);
                [x, -6.0 + 0.1 * x * x, 1.0]
            })
            .collect();
        Arch {
            points,
            up: [0.0, 0.0, 1.0],
        }
    }

    fn ramp(p: [f64; 3]) -> f32 {
        (3.0 * p[0] - 2.0 * p[1] + 5.0 * p[2] + 7.0) as f32
    }

    fn pano_view(curve: &Curve, slab_mm: f64, mode: SlabMode) -> PanoView {
        PanoView {
            center_s: curve.length() / 2.0,
            center_h: 0.5,
            width: 60,
            height: 24,
            pixel_mm: 0.37,
            slab_mm,
            mode,
        }
    }

    #[test]
    fn curve_runs_right_to_left_with_buccal_normals_and_equal_steps() {
        let curve = arch().curve(0.0).unwrap();
        let s = curve.samples();
        assert!(
            s[0].point[0] < s[s.len() - 1].point[0],
            "starts at patient right (-x)"
        );
        // at the vertex (x = 0) the buccal normal points anterior (-y), the tangent to patient left
        let mid = curve.project([0.0, -6.0, 1.0]);
        let c = curve.at(mid[0]).unwrap();
        assert!(c.normal[1] < -0.999 && c.tangent[0] > 0.999, "{c:?}");
        assert!(mid[1].abs() < 1e-9 && mid[2].abs() < 1e-3, "{mid:?}");
        for w in s.windows(2) {
            let step = len3(sub(w[1].point, w[0].point));
            assert!(
                (step - CURVE_STEP_MM).abs() < 0.01 * CURVE_STEP_MM,
                "step {step}"
            );
        }
        // a two-point arch is a straight segment of its length
        let line = Arch {
            points: vec![[3.0, 1.0, 2.0], [-1.0, 4.0, 7.0]],
            up: [0.0, 0.0, -1.0],
        };
        let curve = line.curve(0.0).unwrap();
        assert!((curve.length() - 5.0).abs() < 1e-9);
        assert_eq!(curve.up(), [0.0, 0.0, 1.0]);
        // projected onto the plane through the mean height: z = 4.5
        assert!(curve
            .samples()
            .iter()
            .all(|c| (c.point[2] - 4.5).abs() < 1e-12));
        assert_eq!(curve.samples()[0].point[0], -1.0);
    }

    #[test]
    fn shifted_curve_is_parallel_and_maps_back() {
        let base = arch().curve(0.0).unwrap();
        let shifted = arch().curve(1.5).unwrap();
        for c in shifted.resampled(0.5) {
            let [s, h, d] = base.project(c.point);
            assert!((d - 1.5).abs() < 2e-3, "distance to the arch {d} at s {s}");
            assert!(h.abs() < 1e-9);
        }
        // buccal (outward) is longer than the arch, lingual shorter
        assert!(shifted.length() > base.length());
        assert!(arch().curve(-1.5).unwrap().length() < base.length());
        // to_world and project invert each other on the focal surface
        for &(s, h) in &[(0.3, 2.0), (7.7, -3.5), (base.length() - 0.1, 0.0)] {
            let p = shifted.to_world(s, h).unwrap();
            let back = shifted.project(p);
            assert!(
                (back[0] - s).abs() < 1e-6 && (back[1] - h).abs() < 1e-9 && back[2].abs() < 1e-6
            );
        }
        assert!(shifted.to_world(-1.0, 0.0).is_none());
        assert!(shifted.to_world(shifted.length() + 1.0, 0.0).is_none());
    }

    #[test]
    fn panoramic_of_a_linear_ramp_is_exact_at_every_pixel() {
        // Trilinear interpolation reproduces a linear function: each pixel must equal the ramp at the point
        // the module docs define for it, on the slice-by-slice path and on the general (sheared) one.
        for tilt in [0.0, 12.0] {
            let volume = volume_of([60, 60, 40], tilt, ramp);
            let curve = arch().curve(0.8).unwrap();
            let view = pano_view(&curve, 0.0, SlabMode::Average);
            let mut out = Vec::new();
            reslice_pano(&volume, &curve, &view, &mut out).unwrap();
            let mut checked = 0;
            for y in 0..view.height as usize {
                for x in 0..view.width as usize {
                    let Some(p) = curve.to_world(view.s_at(x as f64), view.h_at(y as f64)) else {
                        assert!(out[y * view.width as usize + x].is_nan());
                        continue;
                    };
                    let got = out[y * view.width as usize + x];
                    let want = ramp(p);
                    assert!(
                        (got - want).abs() < 2e-3 * want.abs().max(1.0),
                        "tilt {tilt} ({x},{y}): {got} vs {want}"
                    );
                    checked += 1;
                }
            }
            assert!(checked > 1000, "{checked}");
            // an average slab of a ramp is the ramp at the slab's middle (the focal surface)
            let slab = PanoView {
                slab_mm: 3.0,
                ..view
            };
            let mut avg = Vec::new();
            reslice_pano(&volume, &curve, &slab, &mut avg).unwrap();
            for (a, b) in avg
                .iter()
                .zip(&out)
                .filter(|(a, b)| a.is_finite() && b.is_finite())
            {
                assert!((a - b).abs() < 5e-3 * b.abs().max(1.0), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn slice_by_slice_path_equals_point_sampling() {
        // A non-linear volume: the fast path (taps merged per voxel, rows between slices) must equal the
        // general trilinear path for thin and average images, and bound it from above for MIP.
        let volume = volume_of([50, 50, 30], 0.0, |p| {
            ((p[0] * 0.7).sin() * 300.0 + (p[1] * 1.3).cos() * 200.0 + p[2] * p[2]) as f32
        });
        let curve = arch().curve(-0.6).unwrap();
        for (slab, mode) in [
            (0.0, SlabMode::Average),
            (4.0, SlabMode::Average),
            (4.0, SlabMode::Mip),
            (4.0, SlabMode::MinIp),
        ] {
            let view = pano_view(&curve, slab, mode);
            let (mut fast, mut general) = (Vec::new(), Vec::new());
            reslice_pano_with(&volume, &curve, &view, &mut fast, true).unwrap();
            reslice_pano_with(&volume, &curve, &view, &mut general, false).unwrap();
            let mut n = 0;
            for (f, g) in fast.iter().zip(&general) {
                assert_eq!(f.is_nan(), g.is_nan(), "same coverage");
                if f.is_nan() {
                    continue;
                }
                n += 1;
                match mode {
                    SlabMode::Average => {
                        assert!((f - g).abs() < 0.05, "{mode:?} {slab}: {f} vs {g}")
                    }
                    SlabMode::Mip => assert!(*f >= g - 0.05, "MIP {f} < {g}"),
                    SlabMode::MinIp => assert!(*f <= g + 0.05, "MinIP {f} > {g}"),
                }
            }
            assert!(n > 500, "{n}");
        }
    }

    #[test]
    fn sections_are_perpendicular_to_the_curve_with_buccal_right() {
        let curve = arch().curve(0.0).unwrap();
        let sections = Sections {
            at_mm: curve.length() / 2.0,
            spacing_mm: 2.0,
            count: 3,
            tile_width: 20,
            tile_height: 10,
            pixel_mm: 0.5,
            center_h: 1.0,
            slab_mm: 0.0,
            mode: SlabMode::Average,
        };
        let planes = sections.planes(&curve).unwrap();
        for (i, plane) in planes.iter().enumerate() {
            let plane = plane.unwrap();
            let c = curve.at(sections.s_of(i as u32)).unwrap();
            assert!(
                dot(plane.normal(), c.tangent) > 1.0 - 1e-9,
                "normal = tangent"
            );
            assert_eq!(plane.right, c.normal);
            assert_eq!(plane.down, [0.0, 0.0, -1.0]);
            assert!(len3(sub(plane.center, along(c.point, curve.up(), 1.0))) < 1e-12);
        }
        // the middle one at the vertex: buccal (anterior, -y) on the right
        assert!(planes[1].unwrap().right[1] < -0.999);
        // off the curve: no plane, a black tile, no error
        let off = Sections {
            at_mm: -10.0,
            ..sections
        };
        assert!(off.planes(&curve).unwrap().iter().all(Option::is_none));
        let volume = volume_of([50, 50, 30], 0.0, ramp);
        let mut image = RgbaImage::default();
        let window = Window {
            center: 0.0,
            width: 100.0,
        };
        render_sections(&volume, &curve, &off, window, &mut Vec::new(), &mut image).unwrap();
        assert_eq!((image.width, image.height), (60, 10));
        assert!(image.data.chunks_exact(4).all(|p| p == [0, 0, 0, 255]));
    }

    #[test]
    fn bad_arches_and_views_are_errors() {
        let bad = [
            "",
            "[]",
            "{\"points\": []}",
            "{\"points\": [[0,0,0]]}",
            "{\"points\": [[0,0,0],[0,0,0]]}",
            "{\"points\": [[0,0,0],[1,0]]}",
            "{\"points\": [[0,0,0],[1,0,0]], \"up\": [0,0,0]}",
            "{\"points\": [[0,0,0],[0,0,5]]}",
        ];
        for text in bad {
            let r = Arch::from_json(text).and_then(|a| a.curve(0.0));
            assert!(r.is_err(), "{text:?} was accepted");
        }
        let saved =
            "{\"lucent\": \"dental\", \"version\": 1, \"arch\": {\"points\": [[0,0,0],[4,0,0]]}}";
        assert!((Arch::from_json(saved).unwrap().curve(0.0).unwrap().length() - 4.0).abs() < 1e-9);
        assert!(arch().curve(MAX_SHIFT_MM + 1.0).is_err());
        assert!(arch().curve(f64::NAN).is_err());
        let many = Arch {
            points: (0..=MAX_POINTS).map(|i| [i as f64, 0.0, 0.0]).collect(),
            up: [0.0, 0.0, 1.0],
        };
        assert!(many.curve(0.0).is_err());
        let volume = volume_of([10, 10, 10], 0.0, ramp);
        let curve = arch().curve(0.0).unwrap();
        let good = pano_view(&curve, 0.0, SlabMode::Average);
        for view in [
            PanoView { width: 0, ..good },
            PanoView {
                pixel_mm: 0.0,
                ..good
            },
            PanoView {
                slab_mm: 41.0,
                ..good
            },
            PanoView {
                center_s: f64::NAN,
                ..good
            },
            PanoView {
                width: 1 << 14,
                height: 1 << 14,
                ..good
            },
        ] {
            assert!(
                reslice_pano(&volume, &curve, &view, &mut Vec::new()).is_err(),
                "{view:?}"
            );
        }
    }

    #[test]
    fn polyline_length_and_distance() {
        let line = [[0.0, 0.0, 0.0], [3.0, 0.0, 0.0], [3.0, 4.0, 0.0]];
        assert_eq!(polyline_length(&line), 7.0);
        let (d, q) = polyline_distance(&line, [1.0, 2.0, 2.0]).unwrap();
        assert!((d - 8f64.sqrt()).abs() < 1e-12 && q == [1.0, 0.0, 0.0]);
        let (d, q) = polyline_distance(&line, [5.0, 3.0, 0.0]).unwrap();
        assert!((d - 2.0).abs() < 1e-12 && q == [3.0, 3.0, 0.0]);
        assert!(polyline_distance(&[], [0.0; 3]).is_none());
        assert_eq!(
            polyline_distance(&line[..1], [0.0, 0.0, 2.0]).unwrap().0,
            2.0
        );
    }
}
