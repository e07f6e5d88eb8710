//! Multiplanar reformatting: a plane (or a slab around it) through a [`Volume`], resampled with trilinear
//! interpolation at the pane's own resolution (square pixels in mm, whatever the voxel spacing).
//!
//! A [`View`] is what a pane shows: pixel `(x, y)` of a `width` x `height` image is centred at
//! `center + (x + 0.5 - width/2) * pixel_mm * right + (y + 0.5 - height/2) * pixel_mm * down` (patient LPS, mm).
//! `right` and `down` are the screen directions; the normal is `right x down` (it points away from the viewer).
//! A slab of `slab_mm` covers `-slab/2` to `+slab/2` along the normal. Its average samples planes no further apart
//! than the smallest voxel spacing. Its maximum (MIP) or minimum (MinIP) is taken over the values where the pixel's
//! ray along the normal crosses the voxel planes of the axis it crosses fastest, each bilinear on its plane: no
//! voxel plane is skipped, and each is read once, in one piece. A slab along an unsheared volume axis is a
//! projection of voxel columns (see `slab_along_axis`). Outside the grid of voxel centres a pixel has no value
//! (shown black).

use serde::Serialize;

use crate::error::Error;
use crate::render::RgbaImage;
use crate::volume::{along, cross, dot, unit, Volume, Voxel, VoxelSlices};
use crate::window::{voi_linear, Window};

/// Most pixels a view may have (a 8192 x 8192 pane).
pub const MAX_VIEW_PIXELS: u64 = 1 << 26;
/// Most planes a slab may be sampled with.
pub const MAX_SLAB_SAMPLES: usize = 1024;

/// A plane in patient space: a centre and the screen's right and down directions (unit, orthogonal).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Plane {
    pub center: [f64; 3],
    pub right: [f64; 3],
    pub down: [f64; 3],
}

impl Plane {
    /// Axial, seen from the feet: patient right on the viewer's left, anterior up.
    pub fn axial(center: [f64; 3]) -> Plane {
        Plane {
            center,
            right: [1.0, 0.0, 0.0],
            down: [0.0, 1.0, 0.0],
        }
    }
    /// Coronal, seen from the front: patient right on the viewer's left, head up.
    pub fn coronal(center: [f64; 3]) -> Plane {
        Plane {
            center,
            right: [1.0, 0.0, 0.0],
            down: [0.0, 0.0, -1.0],
        }
    }
    /// Sagittal, seen from the patient's left: anterior on the viewer's left, head up.
    pub fn sagittal(center: [f64; 3]) -> Plane {
        Plane {
            center,
            right: [0.0, 1.0, 0.0],
            down: [0.0, 0.0, -1.0],
        }
    }
    /// Any plane, given its normal (pointing away from the viewer) and the direction shown up (projected
    /// onto the plane).
    pub fn oblique(center: [f64; 3], normal: [f64; 3], up: [f64; 3]) -> Result<Plane, Error> {
        let n =
            unit(normal).ok_or_else(|| Error::invalid_argument("the normal is a zero vector"))?;
        // minus the part of `up` that lies in the plane
        let down = unit(along(up, n, -dot(up, n)).map(|c| -c))
            .ok_or_else(|| Error::invalid_argument("the up direction is parallel to the normal"))?;
        Ok(Plane {
            center,
            right: cross(down, n),
            down,
        })
    }
    /// Unit normal, `right x down`.
    pub fn normal(&self) -> [f64; 3] {
        cross(self.right, self.down)
    }

    fn check(&self) -> Result<(), Error> {
        let finite = |v: [f64; 3]| v.iter().all(|c| c.is_finite());
        if !(finite(self.center) && finite(self.right) && finite(self.down)) {
            return Err(Error::invalid_argument("the plane has non-finite numbers"));
        }
        let len = |v: [f64; 3]| dot(v, v).sqrt();
        if (len(self.right) - 1.0).abs() > 1e-3
            || (len(self.down) - 1.0).abs() > 1e-3
            || dot(self.right, self.down).abs() > 1e-3
        {
            return Err(Error::invalid_argument(
                "the plane's right and down directions must be orthogonal unit vectors",
            ));
        }
        Ok(())
    }
}

/// How the planes of a slab are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SlabMode {
    #[serde(rename = "avg")]
    Average,
    #[serde(rename = "mip")]
    Mip,
    #[serde(rename = "minip")]
    MinIp,
}

/// What a pane shows: a plane, the image size, mm per pixel and the slab.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct View {
    #[serde(flatten)]
    pub plane: Plane,
    pub width: u32,
    pub height: u32,
    pub pixel_mm: f64,
    /// 0 = a thin plane.
    pub slab_mm: f64,
    pub mode: SlabMode,
}

impl View {
    fn check(&self) -> Result<(), Error> {
        self.plane.check()?;
        if self.width == 0
            || self.height == 0
            || u64::from(self.width) * u64::from(self.height) > MAX_VIEW_PIXELS
        {
            return Err(Error::invalid_argument(format!(
                "view size {}x{}: expected 1 to {MAX_VIEW_PIXELS} pixels",
                self.width, self.height
            )));
        }
        if !(self.pixel_mm.is_finite() && self.pixel_mm > 0.0) {
            return Err(Error::invalid_argument(format!(
                "pixel size {} mm: expected a positive number",
                self.pixel_mm
            )));
        }
        if !(self.slab_mm.is_finite() && (0.0..=1000.0).contains(&self.slab_mm)) {
            return Err(Error::invalid_argument(format!(
                "slab thickness {} mm: expected 0 to 1000",
                self.slab_mm
            )));
        }
        Ok(())
    }

    /// Offsets (mm along the normal) of the planes a slab is sampled at.
    pub fn slab_offsets(&self, volume: &Volume) -> Vec<f64> {
        slab_offsets(volume, self.slab_mm)
    }

    /// Patient position of the centre of pixel `(x, y)`.
    pub fn pixel_center(&self, x: f64, y: f64) -> [f64; 3] {
        let (u, v) = (
            (x + 0.5 - f64::from(self.width) / 2.0) * self.pixel_mm,
            (y + 0.5 - f64::from(self.height) / 2.0) * self.pixel_mm,
        );
        let p = &self.plane;
        [
            p.center[0] + u * p.right[0] + v * p.down[0],
            p.center[1] + u * p.right[1] + v * p.down[1],
            p.center[2] + u * p.right[2] + v * p.down[2],
        ]
    }
}

/// Offsets (mm) from `-slab_mm/2` to `+slab_mm/2` at which a slab is sampled, evenly spaced and no further apart
/// than the smallest voxel spacing (`[0]` for a thin plane); at most [`MAX_SLAB_SAMPLES`].
pub(crate) fn slab_offsets(volume: &Volume, slab_mm: f64) -> Vec<f64> {
    let step = volume.spacing.iter().copied().fold(f64::INFINITY, f64::min);
    if slab_mm <= 0.0 || !step.is_finite() || step <= 0.0 {
        return vec![0.0];
    }
    let n = ((slab_mm / step).ceil() as usize + 1).clamp(2, MAX_SLAB_SAMPLES);
    (0..n)
        .map(|i| -slab_mm / 2.0 + slab_mm * i as f64 / (n - 1) as f64)
        .collect()
}

/// Modality values of a view (`width * height`, row-major; NaN where the view leaves the volume) into `out`.
pub fn reslice(volume: &Volume, view: &View, out: &mut Vec<f32>) -> Result<(), Error> {
    reslice_with(volume, view, out, true)
}

/// `project`: a slab along a volume axis may be computed as a projection of voxel columns.
fn reslice_with(
    volume: &Volume,
    view: &View,
    out: &mut Vec<f32>,
    project: bool,
) -> Result<(), Error> {
    view.check()?;
    volume.validate()?;
    match &volume.voxels {
        VoxelSlices::U8(s) => reslice_typed(volume, s, view, out, project),
        VoxelSlices::U16(s) => reslice_typed(volume, s, view, out, project),
        VoxelSlices::I16(s) => reslice_typed(volume, s, view, out, project),
        VoxelSlices::F32(s) => reslice_typed(volume, s, view, out, project),
    }
}

fn reslice_typed<T: Voxel>(
    volume: &Volume,
    slices: &[Vec<T>],
    view: &View,
    out: &mut Vec<f32>,
    project: bool,
) -> Result<(), Error> {
    let (w, h) = (view.width as usize, view.height as usize);
    let n = w * h;
    out.clear();
    out.try_reserve(n)
        .map_err(|_| Error::limit("the view does not fit in memory"))?;
    out.resize(n, f32::NAN);
    let offsets = view.slab_offsets(volume);
    let inv = volume.inverse_steps()?;
    // a patient-space step as a voxel-space step
    let linear = |v: [f64; 3]| [dot(inv[0], v), dot(inv[1], v), dot(inv[2], v)];
    let plane = &view.plane;
    let normal = plane.normal();
    let dx = linear(plane.right.map(|c| c * view.pixel_mm));
    let dy = linear(plane.down.map(|c| c * view.pixel_mm));
    let dims = volume.dims;
    let max = [
        (dims[0] - 1) as f64,
        (dims[1] - 1) as f64,
        (dims[2] - 1) as f64,
    ];
    let first = view.pixel_center(0.0, 0.0);
    // Voxel coordinates of pixel (0, 0) on each slab plane.
    let bases = offsets
        .iter()
        .map(|&o| volume.world_to_voxel(along(first, normal, o)))
        .collect::<Result<Vec<_>, _>>()?;
    let grid = Grid {
        slices,
        dims,
        slope: volume.slope as f32,
        intercept: volume.intercept as f32,
    };
    if let [base] = bases[..] {
        // A thin plane: each pixel once, in tiles of TILE x TILE pixels. A tile covers a compact patch of
        // the volume, so its voxels' cache lines and pages are reused by the tile's next rows; a whole image
        // row of an oblique plane would wander through hundreds of slices and evict them first.
        const TILE: usize = 32;
        let spans: Vec<(usize, usize)> = (0..h)
            .map(|y| inside_span(along(base, dy, y as f64), dx, max, w))
            .collect();
        for ty in (0..h).step_by(TILE) {
            for tx in (0..w).step_by(TILE) {
                for (y, &(x0, x1)) in spans.iter().enumerate().skip(ty).take(TILE) {
                    let span = (x0.max(tx), x1.min(tx + TILE));
                    if span.0 >= span.1 {
                        continue;
                    }
                    let row = along(base, dy, y as f64);
                    grid.row(row, dx, span, |x, value| out[y * w + x] = value);
                }
            }
        }
        return Ok(());
    }
    if let Some(axis) = aligned_axis(volume, normal).filter(|_| project) {
        return slab_along_axis(volume, slices, view, axis, &bases, dx, dy, out);
    }
    if project && view.mode != SlabMode::Average {
        let centre = volume.world_to_voxel(first)?;
        let dn = linear(normal);
        if let Some(done) = slab_crossings(volume, &grid, view, centre, dx, dy, dn, out) {
            return done;
        }
    }
    // A slab: plane after plane over the whole image (each plane reads two neighbouring slices' worth of
    // memory at a time), combined per pixel; `counts` says how many planes a pixel had a value on.
    let init = match view.mode {
        SlabMode::Average => 0.0,
        SlabMode::Mip => f32::NEG_INFINITY,
        SlabMode::MinIp => f32::INFINITY,
    };
    out.fill(init);
    let mut counts = vec![0u16; n];
    for &base in &bases {
        for y in 0..h {
            let row = along(base, dy, y as f64);
            grid.row(row, dx, inside_span(row, dx, max, w), |x, value| {
                let acc = &mut out[y * w + x];
                *acc = match view.mode {
                    SlabMode::Average => *acc + value,
                    SlabMode::Mip => acc.max(value),
                    SlabMode::MinIp => acc.min(value),
                };
                counts[y * w + x] += 1;
            });
        }
    }
    for (acc, &c) in out.iter_mut().zip(&counts) {
        if c == 0 {
            *acc = f32::NAN;
        } else if view.mode == SlabMode::Average && c > 1 {
            *acc /= f32::from(c);
        }
    }
    Ok(())
}

/// An oblique MIP / MinIP slab as the extreme of the values where each pixel's ray along the normal crosses the
/// voxel planes of the axis it crosses fastest (bilinear on each plane): plane after plane, each read once and in
/// one piece, four voxels per sample instead of eight. `centre` is pixel (0, 0) on the view's plane, `dx`, `dy` one
/// pixel and `dn` one mm along the normal, all in voxel coordinates. None when the normal runs (nearly) inside
/// every voxel plane family, which cannot happen for a unit normal on a non-degenerate grid but is kept safe.
#[allow(clippy::too_many_arguments)]
fn slab_crossings<T: Voxel>(
    volume: &Volume,
    grid: &Grid<'_, T>,
    view: &View,
    centre: [f64; 3],
    dx: [f64; 3],
    dy: [f64; 3],
    dn: [f64; 3],
    out: &mut [f32],
) -> Option<Result<(), Error>> {
    const EPS: f64 = 1e-6;
    let a = (0..3).max_by(|&p, &q| dn[p].abs().total_cmp(&dn[q].abs()))?;
    if dn[a].abs() < 1e-9 {
        return None;
    }
    let (w, h) = (view.width as usize, view.height as usize);
    let dims = volume.dims;
    let max = [
        (dims[0] - 1) as f64,
        (dims[1] - 1) as f64,
        (dims[2] - 1) as f64,
    ];
    // A ray crosses plane c (coordinate a = c) at o = (c - a0) / dn[a]; inside the slab when |o| <= slab / 2, i.e.
    // a0 within `reach` of c.
    let reach = view.slab_mm / 2.0 * dn[a].abs();
    let a0 = |x: f64, y: f64| centre[a] + x * dx[a] + y * dy[a];
    let corners = [
        a0(0.0, 0.0),
        a0((w - 1) as f64, 0.0),
        a0(0.0, (h - 1) as f64),
        a0((w - 1) as f64, (h - 1) as f64),
    ];
    let lo = corners.iter().copied().fold(f64::INFINITY, f64::min) - reach;
    let hi = corners.iter().copied().fold(f64::NEG_INFINITY, f64::max) + reach;
    let (c0, c1) = (lo.ceil().max(0.0), hi.floor().min(max[a]));
    let init = if view.mode == SlabMode::Mip {
        f32::NEG_INFINITY
    } else {
        f32::INFINITY
    };
    out.fill(init);
    let mut seen = vec![false; w * h];
    // Along a row, the crossing point with plane c moves by `step` per pixel (its a-component is 0).
    let k = dx[a] / dn[a];
    let step = [dx[0] - k * dn[0], dx[1] - k * dn[1], dx[2] - k * dn[2]];
    let mip = view.mode == SlabMode::Mip;
    if c0 <= c1 {
        for c in c0 as usize..=c1 as usize {
            for y in 0..h {
                let row_a0 = a0(0.0, y as f64);
                // pixels whose ray meets plane c inside the slab: |c - row_a0 - x * dx[a]| <= reach
                let (mut x_lo, mut x_hi) = (0.0f64, w as f64 - 1.0);
                if dx[a].abs() < 1e-12 {
                    if (c as f64 - row_a0).abs() > reach + EPS {
                        continue;
                    }
                } else {
                    let t0 = (c as f64 - reach - EPS - row_a0) / dx[a];
                    let t1 = (c as f64 + reach + EPS - row_a0) / dx[a];
                    x_lo = x_lo.max(t0.min(t1));
                    x_hi = x_hi.min(t0.max(t1));
                }
                if x_lo.is_nan() || x_hi.is_nan() || x_lo > x_hi {
                    continue;
                }
                // the crossing point of pixel 0 of this row
                let o = (c as f64 - row_a0) / dn[a];
                let mut p = along(along(centre, dy, y as f64), dn, o);
                p[a] = c as f64;
                let (s0, s1) = inside_span(p, step, max, w);
                let (x0, x1) = (
                    s0.max(x_lo.ceil() as usize),
                    s1.min(x_hi.floor() as usize + 1),
                );
                if x0 >= x1 {
                    continue;
                }
                let put = |x: usize, value: f32| {
                    let acc = &mut out[y * w + x];
                    *acc = if mip { acc.max(value) } else { acc.min(value) };
                    seen[y * w + x] = true;
                };
                if a == 2 {
                    grid.slice_row(c, p, step, (x0, x1), put);
                } else {
                    grid.row(p, step, (x0, x1), put);
                }
            }
        }
    }
    for (acc, &s) in out.iter_mut().zip(&seen) {
        if !s {
            *acc = f32::NAN;
        }
    }
    Some(Ok(()))
}

/// The volume axis a slab's normal runs along, when that axis is perpendicular to the other two (no shear)
/// and the normal is parallel to it: such a slab is a projection of whole voxel columns.
pub(crate) fn aligned_axis(volume: &Volume, normal: [f64; 3]) -> Option<usize> {
    let a = (0..3).find(|&a| dot(volume.axes[a], normal).abs() > 1.0 - 1e-9)?;
    let orthogonal = (0..3)
        .filter(|&b| b != a)
        .all(|b| dot(volume.axes[a], volume.axes[b]).abs() < 1e-9);
    orthogonal.then_some(a)
}

/// A slab whose normal runs along volume axis `axis`: the voxels of each column along that axis whose centres
/// lie within the slab are combined (max, min or mean, in modality units) into a 2-D image over the other two
/// axes, which is then sampled bilinearly at the pixels. On a voxel-aligned view this equals the sampled slab
/// exactly; it reads every voxel of the slab once instead of interpolating 8 of them per plane and pixel.
#[allow(clippy::too_many_arguments)]
fn slab_along_axis<T: Voxel>(
    volume: &Volume,
    slices: &[Vec<T>],
    view: &View,
    axis: usize,
    bases: &[[f64; 3]],
    dx: [f64; 3],
    dy: [f64; 3],
    out: &mut [f32],
) -> Result<(), Error> {
    let [di, dj, dk] = volume.dims;
    let (w, h) = (view.width as usize, view.height as usize);
    // The slab's extent along the axis, in voxel coordinates (the planes' first and last positions).
    let (lo, hi) = bases
        .iter()
        .map(|b| b[axis])
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, u), c| {
            (l.min(c), u.max(c))
        });
    let last = volume.dims[axis] as f64 - 1.0;
    let first_index = (lo - 1e-6).ceil().max(0.0);
    let last_index = (hi + 1e-6).floor().min(last);
    if first_index > last_index {
        return Ok(()); // the slab misses the volume: no value anywhere
    }
    let range = first_index as usize..=last_index as usize;
    let count = (range.end() - range.start() + 1) as f32;
    // the two in-plane axes (p, q) of the projection image, p varying fastest
    let (p_axis, q_axis) = match axis {
        0 => (1, 2),
        1 => (0, 2),
        _ => (0, 1),
    };
    let (dp, dq) = (volume.dims[p_axis], volume.dims[q_axis]);
    let n = dp * dq;
    let mut image: Vec<f32> = Vec::new();
    image
        .try_reserve_exact(n)
        .map_err(|_| Error::limit("the slab does not fit in memory"))?;
    let (slope, intercept) = (volume.slope as f32, volume.intercept as f32);
    // Extremes are taken on the stored values (one compare per voxel, converted once per column); with a
    // negative slope the modality maximum is the stored minimum.
    let take_max = match view.mode {
        SlabMode::Average => None,
        SlabMode::Mip => Some(slope >= 0.0),
        SlabMode::MinIp => Some(slope < 0.0),
    };
    // Visits every (projection index, run of voxels along the axis) in memory order.
    let (first, rest) = (*range.start(), *range.start() + 1..=*range.end());
    match take_max {
        Some(max) => {
            let mut acc: Vec<T> = Vec::new();
            acc.try_reserve_exact(n)
                .map_err(|_| Error::limit("the slab does not fit in memory"))?;
            match axis {
                2 => {
                    acc.extend_from_slice(&slices[first]);
                    for s in &slices[rest] {
                        fold_extreme(&mut acc, s, max);
                    }
                }
                1 => {
                    for s in slices.iter().take(dk) {
                        let at = acc.len();
                        acc.extend_from_slice(&s[first * di..(first + 1) * di]);
                        for j in rest.clone() {
                            fold_extreme(&mut acc[at..], &s[j * di..(j + 1) * di], max);
                        }
                    }
                }
                _ => {
                    for s in slices.iter().take(dk) {
                        for j in 0..dj {
                            let run = &s[j * di + first..=j * di + range.end()];
                            let mut e = run[0];
                            for &v in &run[1..] {
                                if (max && v > e) || (!max && v < e) {
                                    e = v;
                                }
                            }
                            acc.push(e);
                        }
                    }
                }
            }
            image.extend(acc.iter().map(|&v| v.to_f32() * slope + intercept));
        }
        None => {
            image.resize(n, 0.0);
            match axis {
                2 => {
                    for s in &slices[range] {
                        fold_sum(&mut image, s);
                    }
                }
                1 => {
                    for (k, s) in slices.iter().enumerate().take(dk) {
                        for j in range.clone() {
                            fold_sum(&mut image[k * di..(k + 1) * di], &s[j * di..(j + 1) * di]);
                        }
                    }
                }
                _ => {
                    for (k, s) in slices.iter().enumerate().take(dk) {
                        for j in 0..dj {
                            image[k * dj + j] = s[j * di + first..=j * di + range.end()]
                                .iter()
                                .map(|v| v.to_f32())
                                .sum();
                        }
                    }
                }
            }
            image
                .iter_mut()
                .for_each(|v| *v = *v / count * slope + intercept);
        }
    }
    // Bilinear sampling of the projection at every pixel of the view's middle plane.
    // The projection is a one-slice grid of modality values: its trilinear sample is the bilinear one.
    let base = bases[bases.len() / 2];
    let image = [image];
    let grid = Grid {
        slices: &image,
        dims: [dp, dq, 1],
        slope: 1.0,
        intercept: 0.0,
    };
    let max = [(dp - 1) as f64, (dq - 1) as f64, 0.0];
    let d2 = [dx[p_axis], dx[q_axis], 0.0];
    for y in 0..h {
        let row = along(base, dy, y as f64);
        let row2 = [row[p_axis], row[q_axis], 0.0];
        grid.row(row2, d2, inside_span(row2, d2, max, w), |x, value| {
            out[y * w + x] = value;
        });
    }
    Ok(())
}

/// `acc[i] = max(acc[i], src[i])` (or min), on stored values.
#[inline]
fn fold_extreme<T: Voxel>(acc: &mut [T], src: &[T], max: bool) {
    // Written as selects, not branches: random voxel data would mispredict a branch every other voxel.
    if max {
        for (a, &v) in acc.iter_mut().zip(src) {
            *a = if v > *a { v } else { *a };
        }
    } else {
        for (a, &v) in acc.iter_mut().zip(src) {
            *a = if v < *a { v } else { *a };
        }
    }
}

/// `acc[i] += src[i]`.
#[inline]
fn fold_sum<T: Voxel>(acc: &mut [f32], src: &[T]) {
    for (a, &v) in acc.iter_mut().zip(src) {
        *a += v.to_f32();
    }
}

/// The pixels `x0..x1` of a row (voxel coordinates `row + x * dx`) that fall inside the grid of voxel centres
/// `[0, max]` (with a tolerance of 1e-6 voxel, clamped when sampled).
pub(crate) fn inside_span(
    row: [f64; 3],
    dx: [f64; 3],
    max: [f64; 3],
    width: usize,
) -> (usize, usize) {
    const EPS: f64 = 1e-6;
    let (mut lo, mut hi) = (0.0f64, width as f64 - 1.0);
    for a in 0..3 {
        let (b, d) = (row[a], dx[a]);
        if d.abs() < 1e-12 {
            if b.is_nan() || b < -EPS || b > max[a] + EPS {
                return (0, 0);
            }
            continue;
        }
        let (t0, t1) = ((-EPS - b) / d, (max[a] + EPS - b) / d);
        lo = lo.max(t0.min(t1));
        hi = hi.min(t0.max(t1));
    }
    if lo.is_nan() || hi.is_nan() || lo > hi {
        return (0, 0);
    }
    let (x0, x1) = (lo.ceil(), hi.floor());
    if x1 < x0 {
        return (0, 0);
    }
    (x0 as usize, (x1 as usize + 1).min(width))
}

/// Trilinear interpolation in one grid, monomorphised per voxel type.
pub(crate) struct Grid<'a, T> {
    pub(crate) slices: &'a [Vec<T>],
    pub(crate) dims: [usize; 3],
    /// Modality value = stored * slope + intercept.
    pub(crate) slope: f32,
    pub(crate) intercept: f32,
}

/// The two grid indices around continuous coordinate `c` on an axis of `d` voxels, and the fraction between
/// them. Inside a span `c` is in [-1e-6, d - 1 + 1e-6]: a tiny negative truncates to index 0 with a fraction of
/// -1e-6. The lower index is never the last one (when the axis has two or more voxels), so the upper one is
/// always in the grid; at the far edge the fraction is then 1.
#[inline(always)]
pub(crate) fn corner(c: f64, d: usize) -> (usize, usize, f32) {
    if d < 2 {
        return (0, 0, 0.0);
    }
    let c0 = (c as usize).min(d - 2);
    (c0, c0 + 1, (c - c0 as f64) as f32)
}

impl<T: Voxel> Grid<'_, T> {
    /// Modality values along a row of pixels `x0..x1` (voxel coordinates `row + x * dx`, inside the grid):
    /// `put(x, value)`.
    #[inline(always)]
    pub(crate) fn row(
        &self,
        row: [f64; 3],
        dx: [f64; 3],
        (x0, x1): (usize, usize),
        mut put: impl FnMut(usize, f32),
    ) {
        for x in x0..x1 {
            let p = along(row, dx, x as f64);
            put(
                x,
                self.sample(p[0], p[1], p[2]) * self.slope + self.intercept,
            );
        }
    }

    /// Modality values along a row of pixels `x0..x1` lying on slice `k` (voxel coordinates `row + x * dx` with
    /// a k-component of 0 in `dx`, inside the grid): bilinear on that slice, four voxels per pixel.
    #[inline(always)]
    pub(crate) fn slice_row(
        &self,
        k: usize,
        row: [f64; 3],
        dx: [f64; 3],
        (x0, x1): (usize, usize),
        mut put: impl FnMut(usize, f32),
    ) {
        let Some(slice) = self.slices.get(k) else {
            return;
        };
        let [di, dj, _] = self.dims;
        let lerp = |a: f32, b: f32, t: f32| a + (b - a) * t;
        for x in x0..x1 {
            let (i, j) = (row[0] + x as f64 * dx[0], row[1] + x as f64 * dx[1]);
            let (i0, i1, fx) = corner(i, di);
            let (j0, j1, fy) = corner(j, dj);
            // the two voxels along i on a row: one bounds check for both (i1 is i0 + 1, or i0 on a 1-voxel axis)
            let pair = |r: usize| match slice.get(r + i0..=r + i1) {
                Some([a, b]) => lerp(a.to_f32(), b.to_f32(), fx),
                Some([a]) => a.to_f32(),
                _ => f32::NAN,
            };
            put(
                x,
                lerp(pair(j0 * di), pair(j1 * di), fy) * self.slope + self.intercept,
            );
        }
    }

    /// Stored value at continuous voxel coordinates known to lie (within rounding) inside the grid.
    #[inline(always)]
    fn sample(&self, i: f64, j: f64, k: f64) -> f32 {
        let [di, dj, dk] = self.dims;
        let (i0, i1, fx) = corner(i, di);
        let (j0, j1, fy) = corner(j, dj);
        let (k0, k1, fz) = corner(k, dk);
        let (Some(s0), Some(s1)) = (self.slices.get(k0), self.slices.get(k1)) else {
            return f32::NAN;
        };
        let lerp = |a: f32, b: f32, t: f32| a + (b - a) * t;
        // The two voxels along i at (j, k): one bounds check for both (i1 is i0 + 1, or i0 on a 1-voxel axis).
        let pair = |s: &[T], row: usize| {
            if i1 > i0 {
                match s.get(row + i0..row + i0 + 2) {
                    Some(&[a, b]) => lerp(a.to_f32(), b.to_f32(), fx),
                    _ => f32::NAN,
                }
            } else {
                s.get(row + i0).map_or(f32::NAN, |v| v.to_f32())
            }
        };
        let (r0, r1) = (j0 * di, j1 * di);
        let plane = |s: &[T]| lerp(pair(s, r0), pair(s, r1), fy);
        lerp(plane(s0), plane(s1), fz)
    }
}

/// Renders a view through the window into `out` (reused; resized only when the view size changes).
/// `scratch` holds the resliced values between calls so that a pane allocates nothing per frame.
pub fn render(
    volume: &Volume,
    view: &View,
    window: Window,
    scratch: &mut Vec<f32>,
    out: &mut RgbaImage,
) -> Result<(), Error> {
    if !window.is_valid() {
        return Err(Error::invalid_argument(format!(
            "window {},{}: expected a finite centre and a width >= 1",
            window.center, window.width
        )));
    }
    reslice(volume, view, scratch)?;
    out.ensure_size(view.width, view.height)?;
    for (px, &v) in out.data.chunks_exact_mut(4).zip(scratch.iter()) {
        px.copy_from_slice(&grey(f64::from(v), window, volume.invert));
    }
    Ok(())
}

/// The RGBA pixel of a modality value: black where there is no value (NaN), MONOCHROME1 inverted.
#[inline]
pub(crate) fn grey(value: f64, window: Window, invert: bool) -> [u8; 4] {
    let g = if value.is_nan() {
        0
    } else if invert {
        255 - voi_linear(value, window)
    } else {
        voi_linear(value, window)
    };
    [g, g, g, 255]
}

/// Orientation letters on the four edges of a plane's image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Labels {
    pub left: String,
    pub right: String,
    pub top: String,
    pub bottom: String,
}

/// Letters of a patient direction (LPS): the axes it follows by more than about 15 degrees
/// (|component| >= 0.25), strongest first; "L"/"R" for x, "P"/"A" for y, "H"/"F" for z.
pub fn direction_letters(d: [f64; 3]) -> String {
    let letters = [['L', 'R'], ['P', 'A'], ['H', 'F']];
    let mut axes: Vec<usize> = (0..3).filter(|&a| d[a].abs() >= 0.25).collect();
    axes.sort_by(|&a, &b| d[b].abs().total_cmp(&d[a].abs()));
    axes.iter()
        .map(|&a| letters[a][usize::from(d[a] < 0.0)])
        .collect()
}

/// Orientation labels of a plane: what lies at the viewer's left, right, top and bottom.
pub fn labels(plane: &Plane) -> Labels {
    let neg = |v: [f64; 3]| [-v[0], -v[1], -v[2]];
    Labels {
        left: direction_letters(neg(plane.right)),
        right: direction_letters(plane.right),
        top: direction_letters(neg(plane.down)),
        bottom: direction_letters(plane.down),
    }
}

/// Renders slice `k` of a volume as stored (the stack view of a series once its volume is built).
pub fn render_slice(
    volume: &Volume,
    k: usize,
    window: Window,
    out: &mut RgbaImage,
) -> Result<(), Error> {
    let [w, h, d] = volume.dims;
    if k >= d {
        return Err(Error::not_found(format!(
            "slice {k} of the volume (it has {d})"
        )));
    }
    out.ensure_size(w as u32, h as u32)?;
    let (slope, intercept) = (volume.slope, volume.intercept);
    for (i, px) in out.data.chunks_exact_mut(4).enumerate() {
        let v = volume.voxels.get(k, i).unwrap_or(f64::NAN) * slope + intercept;
        px.copy_from_slice(&grey(v, window, volume.invert));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::volume::VoxelSlices;

    use crate::volume::test_volume as volume_of;

    fn rotation(axis: [f64; 3], deg: f64) -> impl Fn([f64; 3]) -> [f64; 3] {
        let k = unit(axis).expect("axis");
        let (s, c) = deg.to_radians().sin_cos();
        move |v| {
            let kxv = cross(k, v);
            let kv = dot(k, v);
            [
                v[0] * c + kxv[0] * s + k[0] * kv * (1.0 - c),
                v[1] * c + kxv[1] * s + k[1] * kv * (1.0 - c),
                v[2] * c + kxv[2] * s + k[2] * kv * (1.0 - c),
            ]
        }
    }

    fn view(plane: Plane, size: u32, pixel_mm: f64) -> View {
        View {
            plane,
            width: size,
            height: size,
            pixel_mm,
            slab_mm: 0.0,
            mode: SlabMode::Average,
        }
    }

    #[test]
    fn trilinear_reslice_of_a_ramp_is_exact_at_any_oblique_angle() {
        let ramp = |p: [f64; 3]| (3.0 * p[0] - 2.0 * p[1] + 1.5 * p[2] + 50.0) as f32;
        // rotated rows/columns, a tilted (sheared) slice axis, anisotropic voxels
        let rot = rotation([0.2, 0.3, 1.0], 17.0);
        let tilt = unit([0.0, 0.3, 1.0]).expect("tilt");
        let v = volume_of(
            [24, 20, 16],
            [0.7, 0.9, 1.6],
            [rot([1.0, 0.0, 0.0]), rot([0.0, 1.0, 0.0]), rot(tilt)],
            [-5.0, 3.0, -10.0],
            ramp,
        );
        let mut out = Vec::new();
        for (normal, up) in [
            ([0.0, 0.0, 1.0], [0.0, -1.0, 0.0]),
            ([0.3, 0.5, 0.81], [0.0, 0.0, 1.0]),
            ([-0.7, 0.1, 0.2], [0.1, 0.9, 0.3]),
            ([0.0, 1.0, 0.0], [0.0, 0.0, 1.0]),
        ] {
            let plane = Plane::oblique(v.center(), normal, up).expect("plane");
            let vw = view(plane, 64, 0.37);
            reslice(&v, &vw, &mut out).expect("reslice");
            let mut inside = 0;
            for y in 0..64 {
                for x in 0..64 {
                    let value = out[y * 64 + x];
                    if value.is_nan() {
                        continue;
                    }
                    inside += 1;
                    let expected = ramp(vw.pixel_center(x as f64, y as f64));
                    assert!(
                        (value - expected).abs() < 2e-3,
                        "normal {normal:?} pixel ({x},{y}): {value} vs {expected}"
                    );
                }
            }
            assert!(inside > 1000, "the plane cuts the volume ({inside} pixels)");
        }
    }

    /// Intensity-weighted centroid (patient mm) of the pixels above `threshold`, restricted to `keep`.
    fn centroid(
        vw: &View,
        values: &[f32],
        threshold: f32,
        keep: impl Fn([f64; 3]) -> bool,
    ) -> [f64; 3] {
        let mut sum = [0.0; 3];
        let mut weight = 0.0;
        for y in 0..vw.height {
            for x in 0..vw.width {
                let value = values[(y * vw.width + x) as usize];
                let p = vw.pixel_center(f64::from(x), f64::from(y));
                if value > threshold && keep(p) {
                    let w = f64::from(value);
                    for d in 0..3 {
                        sum[d] += w * p[d];
                    }
                    weight += w;
                }
            }
        }
        assert!(weight > 0.0, "nothing above the threshold");
        sum.map(|s| s / weight)
    }

    #[test]
    fn a_sphere_appears_centred_under_the_crosshair_in_all_three_panes() {
        let sphere = [12.3, -7.9, 20.4];
        let inside = move |p: [f64; 3]| {
            let d = [p[0] - sphere[0], p[1] - sphere[1], p[2] - sphere[2]];
            if dot(d, d) <= 36.0 {
                1000.0
            } else {
                0.0
            }
        };
        let axes = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
        let v = volume_of(
            [80, 80, 40],
            [0.5, 0.5, 1.25],
            axes,
            [-8.0, -28.0, 0.0],
            inside,
        );
        let mut out = Vec::new();
        // The crosshair at the sphere's centre; each pane panned away from it (its image centre elsewhere).
        for plane in [
            Plane::axial([5.0, -3.0, 0.0]),
            Plane::coronal([8.0, 0.0, 22.0]),
            Plane::sagittal([0.0, -10.0, 18.0]),
        ] {
            let n = plane.normal();
            let off = dot(
                [
                    sphere[0] - plane.center[0],
                    sphere[1] - plane.center[1],
                    sphere[2] - plane.center[2],
                ],
                n,
            );
            let through = Plane {
                center: [
                    plane.center[0] + off * n[0],
                    plane.center[1] + off * n[1],
                    plane.center[2] + off * n[2],
                ],
                ..plane
            };
            let vw = view(through, 128, 0.25);
            reslice(&v, &vw, &mut out).expect("reslice");
            let c = centroid(&vw, &out, 500.0, |_| true);
            for d in 0..3 {
                assert!(
                    (c[d] - sphere[d]).abs() < 0.15,
                    "{:?}: centroid {c:?}, sphere {sphere:?}",
                    labels(&through)
                );
            }
        }
    }

    #[test]
    fn distances_between_markers_are_true_mm_on_orthogonal_and_oblique_planes() {
        let a = [-6.2, 4.1, 9.3];
        let b = [7.9, -3.4, 15.8];
        let blob = move |p: [f64; 3]| {
            let g = |c: [f64; 3]| {
                let d = [p[0] - c[0], p[1] - c[1], p[2] - c[2]];
                (-dot(d, d) / (2.0 * 1.5 * 1.5)).exp()
            };
            (1000.0 * (g(a) + g(b))) as f32
        };
        let truth = crate::measure::distance_mm(a, b);
        for spacing in [[0.5, 0.5, 0.5], [0.4, 0.6, 1.0]] {
            let dims = [
                (40.0 / spacing[0]) as usize,
                (40.0 / spacing[1]) as usize,
                (30.0 / spacing[2]) as usize,
            ];
            let axes = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
            let v = volume_of(dims, spacing, axes, [-20.0, -20.0, -2.0], blob);
            let mid = [
                (a[0] + b[0]) / 2.0,
                (a[1] + b[1]) / 2.0,
                (a[2] + b[2]) / 2.0,
            ];
            let ab = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
            // planes containing both markers: one with the normal in the xy plane (vertical), one general
            let n1 = cross(ab, [0.0, 0.0, 1.0]);
            let n2 = cross(ab, [0.3, -0.8, 0.5]);
            for (normal, up) in [(n1, [0.0, 0.0, 1.0]), (n2, [0.0, 0.0, 1.0])] {
                let plane = Plane::oblique(mid, normal, up).expect("plane");
                let vw = view(plane, 160, 0.2);
                let mut out = Vec::new();
                reslice(&v, &vw, &mut out).expect("reslice");
                let side = |p: [f64; 3]| dot([p[0] - mid[0], p[1] - mid[1], p[2] - mid[2]], ab);
                let ca = centroid(&vw, &out, 300.0, |p| side(p) < 0.0);
                let cb = centroid(&vw, &out, 300.0, |p| side(p) > 0.0);
                let d = crate::measure::distance_mm(ca, cb);
                assert!(
                    (d - truth).abs() < 0.1,
                    "spacing {spacing:?} normal {normal:?}: {d} mm vs {truth} mm"
                );
            }
        }
    }

    #[test]
    fn orientation_labels_follow_the_direction_cosines() {
        let c = [0.0; 3];
        let edges = |p: &Plane| {
            let l = labels(p);
            [l.left, l.right, l.top, l.bottom]
        };
        assert_eq!(edges(&Plane::axial(c)), ["R", "L", "A", "P"]);
        assert_eq!(edges(&Plane::coronal(c)), ["R", "L", "H", "F"]);
        assert_eq!(edges(&Plane::sagittal(c)), ["A", "P", "H", "F"]);
        // Axial turned 30° about the feet-head axis: right = (cos 30, sin 30, 0) = L then P.
        let rot = rotation([0.0, 0.0, 1.0], 30.0);
        let axial30 = Plane {
            center: c,
            right: rot([1.0, 0.0, 0.0]),
            down: rot([0.0, 1.0, 0.0]),
        };
        // down = (-sin 30, cos 30, 0) = P then R.
        assert_eq!(edges(&axial30), ["RA", "LP", "AL", "PR"]);
        // Coronal tilted 30° forward about the left-right axis: up = (0, -sin 30, cos 30) = H then A.
        let p = Plane::oblique(
            c,
            [0.0, 30f64.to_radians().cos(), 30f64.to_radians().sin()],
            [0.0, -30f64.to_radians().sin(), 30f64.to_radians().cos()],
        )
        .expect("plane");
        assert_eq!(edges(&p), ["R", "L", "HA", "FP"]);
        assert_eq!(direction_letters([0.1, 0.1, -0.99]), "F");
    }

    #[test]
    fn oblique_mip_and_minip_equal_the_brute_force_over_the_voxel_planes_each_ray_crosses() {
        // A random volume on a rotated, sheared, anisotropic grid. Definition (module docs): an oblique MIP/MinIP
        // pixel is the extreme of the values where its ray along the normal, within the slab, crosses the voxel
        // planes of the axis the normal crosses fastest, each bilinear on its plane. Computed here pixel by pixel
        // from the voxels directly.
        // a hash of the position: values unrelated from one voxel to the next
        let noise = |p: [f64; 3]| {
            let h = (p[0] * 12.9898 + p[1] * 78.233 + p[2] * 37.719).sin() * 43_758.545;
            (h - h.floor()) as f32 * 3000.0 - 1000.0
        };
        let rot = rotation([0.2, 0.3, 1.0], 17.0);
        let tilt = unit([0.0, 0.3, 1.0]).expect("tilt");
        let v = volume_of(
            [22, 19, 17],
            [0.7, 0.9, 1.3],
            [rot([1.0, 0.0, 0.0]), rot([0.0, 1.0, 0.0]), rot(tilt)],
            [-5.0, 3.0, -10.0],
            noise,
        );
        let inv = v.inverse_steps().expect("inverse");
        let value = |q: [f64; 3]| -> f64 {
            // trilinear from the voxels; on a voxel plane one weight is 0 (or 1): bilinear on it
            let mut acc = 0.0;
            let base = q.map(|c| (c.floor() as isize).clamp(0, 1 << 20) as usize);
            for corner in 0..8 {
                let mut wgt = 1.0;
                let mut idx = [0usize; 3];
                for a in 0..3 {
                    let hi = (corner >> a) & 1 == 1;
                    let b = base[a].min(v.dims[a] - 2);
                    let f = q[a] - b as f64;
                    idx[a] = b + usize::from(hi);
                    wgt *= if hi { f } else { 1.0 - f };
                }
                if wgt != 0.0 {
                    acc += wgt
                        * v.voxels
                            .get(idx[2], idx[1] * v.dims[0] + idx[0])
                            .expect("voxel");
                }
            }
            acc * v.slope + v.intercept
        };
        let mut axes_used = Vec::new();
        for (normal, up, slab) in [
            ([0.3, 0.5, 0.81], [0.0, 0.0, 1.0], 6.0),
            ([-0.7, 0.1, 0.2], [0.1, 0.9, 0.3], 4.5),
            ([0.05, 0.95, 0.2], [0.0, 0.0, 1.0], 3.0),
        ] {
            let plane = Plane::oblique(v.center(), normal, up).expect("plane");
            let n = plane.normal();
            let dn = [dot(inv[0], n), dot(inv[1], n), dot(inv[2], n)];
            let a = (0..3)
                .max_by(|&p, &q| dn[p].abs().total_cmp(&dn[q].abs()))
                .expect("axis");
            axes_used.push(a);
            for mode in [SlabMode::Mip, SlabMode::MinIp] {
                let vw = View {
                    slab_mm: slab,
                    mode,
                    ..view(plane, 40, 0.5)
                };
                let mut out = Vec::new();
                reslice(&v, &vw, &mut out).expect("reslice");
                let (mut checked, mut empty) = (0, 0);
                for y in 0..40 {
                    for x in 0..40 {
                        let centre = v
                            .world_to_voxel(vw.pixel_center(x as f64, y as f64))
                            .expect("voxel");
                        let mut expected: Option<f64> = None;
                        for c in 0..v.dims[a] {
                            let o = (c as f64 - centre[a]) / dn[a];
                            if o.abs() > slab / 2.0 + 1e-9 {
                                continue;
                            }
                            let mut q = [0.0; 3];
                            for b in 0..3 {
                                q[b] = centre[b] + o * dn[b];
                            }
                            q[a] = c as f64;
                            if (0..3).any(|b| q[b] < -1e-6 || q[b] > (v.dims[b] - 1) as f64 + 1e-6)
                            {
                                continue;
                            }
                            let val = value(q.map(|c| c.max(0.0)));
                            expected = Some(match (expected, mode) {
                                (None, _) => val,
                                (Some(e), SlabMode::Mip) => e.max(val),
                                (Some(e), _) => e.min(val),
                            });
                        }
                        let got = out[y * 40 + x];
                        match expected {
                            None => {
                                assert!(
                                    got.is_nan(),
                                    "{mode:?} ({x},{y}) has {got} but no crossing"
                                );
                                empty += 1;
                            }
                            Some(e) => {
                                assert!(
                                    (f64::from(got) - e).abs() < 1e-2,
                                    "{mode:?} normal {normal:?} ({x},{y}): {got} vs {e}"
                                );
                                checked += 1;
                            }
                        }
                    }
                }
                assert!(
                    checked > 600 && empty > 0,
                    "{checked} checked, {empty} outside"
                );
            }
        }
        // both samplers: bilinear on slices (k) and on planes of the other axes
        assert!(
            axes_used.contains(&2) && axes_used.iter().any(|&a| a != 2),
            "{axes_used:?}"
        );
    }

    #[test]
    fn slab_mip_minip_and_average_equal_the_brute_force_over_the_slices() {
        let (w, h, d) = (20usize, 18usize, 16usize);
        let mut seed = 12345u32;
        let mut next = || {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            ((seed >> 16) % 2000) as i16 - 1000
        };
        let slices: Vec<Vec<i16>> = (0..d)
            .map(|_| (0..w * h).map(|_| next()).collect())
            .collect();
        let v = Volume {
            dims: [w, h, d],
            spacing: [1.0, 1.0, 1.0],
            origin: [0.0, 0.0, 0.0],
            axes: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
            voxels: VoxelSlices::I16(slices.clone()),
            slope: 2.0,
            intercept: -5.0,
            invert: false,
            modality: "CT".into(),
            default_window: Window {
                center: 0.0,
                width: 100.0,
            },
            warnings: vec![],
        };
        // Pixels on voxel centres; a 4 mm slab around slice 7 covers slices 5..=9 exactly.
        let centre = [(w - 1) as f64 / 2.0, (h - 1) as f64 / 2.0, 7.0];
        for mode in [SlabMode::Mip, SlabMode::MinIp, SlabMode::Average] {
            let vw = View {
                plane: Plane::axial(centre),
                width: w as u32,
                height: h as u32,
                pixel_mm: 1.0,
                slab_mm: 4.0,
                mode,
            };
            assert_eq!(vw.slab_offsets(&v), [-2.0, -1.0, 0.0, 1.0, 2.0]);
            let mut out = Vec::new();
            reslice(&v, &vw, &mut out).expect("reslice");
            for i in 0..w * h {
                let values = (5..=9).map(|k| f32::from(slices[k][i]) * 2.0 - 5.0);
                let expected = match mode {
                    SlabMode::Mip => values.fold(f32::NEG_INFINITY, f32::max),
                    SlabMode::MinIp => values.fold(f32::INFINITY, f32::min),
                    SlabMode::Average => values.sum::<f32>() / 5.0,
                };
                assert!(
                    (out[i] - expected).abs() < 1e-3,
                    "{mode:?} pixel {i}: {} vs {expected}",
                    out[i]
                );
            }
        }
    }

    #[test]
    fn axis_slabs_as_projections_equal_the_sampled_slab_on_voxel_aligned_views() {
        let (w, h, d) = (14usize, 12usize, 10usize);
        let mut seed = 777u32;
        let slices: Vec<Vec<i16>> = (0..d)
            .map(|_| {
                (0..w * h)
                    .map(|_| {
                        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                        ((seed >> 16) % 3000) as i16 - 1000
                    })
                    .collect()
            })
            .collect();
        let v = Volume {
            dims: [w, h, d],
            spacing: [0.5, 0.5, 0.5],
            origin: [3.0, -2.0, 7.0],
            axes: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
            voxels: VoxelSlices::I16(slices.clone()),
            slope: -1.5, // a negative slope: MIP is the maximum of modality values, not of stored ones
            intercept: 100.0,
            invert: false,
            modality: "CT".into(),
            default_window: Window {
                center: 0.0,
                width: 100.0,
            },
            warnings: vec![],
        };
        let voxel = |i: f64, j: f64, k: f64| v.voxel_to_world([i, j, k]);
        // each plane through voxel centres, pixels of one voxel on voxel centres; slab 2 mm = 5 voxels
        for (plane, size) in [
            (Plane::axial(voxel(6.5, 5.5, 4.0)), (w, h)),
            (Plane::coronal(voxel(6.5, 5.0, 4.5)), (w, d)),
            (Plane::sagittal(voxel(6.0, 5.5, 4.5)), (h, d)),
        ] {
            for mode in [SlabMode::Mip, SlabMode::MinIp, SlabMode::Average] {
                let vw = View {
                    plane,
                    width: size.0 as u32,
                    height: size.1 as u32,
                    pixel_mm: 0.5,
                    slab_mm: 2.0,
                    mode,
                };
                let (mut fast, mut sampled) = (Vec::new(), Vec::new());
                reslice_with(&v, &vw, &mut fast, true).expect("projection");
                reslice_with(&v, &vw, &mut sampled, false).expect("sampled");
                assert!(aligned_axis(&v, plane.normal()).is_some());
                for (i, (a, b)) in fast.iter().zip(&sampled).enumerate() {
                    assert!(
                        (a - b).abs() < 1e-2 || (a.is_nan() && b.is_nan()),
                        "{:?} {mode:?} pixel {i}: {a} vs {b}",
                        labels(&plane)
                    );
                }
                assert!(fast.iter().filter(|x| !x.is_nan()).count() > size.0 * size.1 / 2);
            }
        }
        // A sheared grid is never projected.
        let mut sheared = v.clone();
        sheared.axes[2] = unit([0.0, 0.3, 1.0]).expect("axis");
        assert_eq!(aligned_axis(&sheared, [0.0, 0.0, 1.0]), None);
    }

    #[test]
    fn outside_the_volume_is_no_value_and_bad_views_are_errors() {
        let axes = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
        let v = volume_of([4, 4, 4], [1.0; 3], axes, [0.0; 3], |_| 100.0);
        let mut out = Vec::new();
        let far = view(Plane::axial([0.0, 0.0, 50.0]), 8, 1.0);
        reslice(&v, &far, &mut out).expect("reslice");
        assert!(out.iter().all(|x| x.is_nan()));
        let mut img = RgbaImage::default();
        let win = Window {
            center: 100.0,
            width: 10.0,
        };
        render(&v, &far, win, &mut out, &mut img).expect("render");
        assert!(img.data.chunks(4).all(|p| p == [0, 0, 0, 255]));
        let near = view(Plane::axial([1.5, 1.5, 1.5]), 2, 1.0);
        render(&v, &near, win, &mut out, &mut img).expect("render");
        // PS3.3 C.11.2.1.2.1: ((100 - 99.5) / 9 + 0.5) * 255 = 141.7
        assert!(
            img.data.chunks(4).all(|p| p == [142, 142, 142, 255]),
            "{:?}",
            img.data
        );

        let bad = [
            View { width: 0, ..near },
            View {
                pixel_mm: f64::NAN,
                ..near
            },
            View {
                slab_mm: -1.0,
                ..near
            },
            View {
                plane: Plane {
                    down: [1.0, 0.0, 0.0],
                    ..near.plane
                },
                ..near
            },
        ];
        for b in bad {
            let e = reslice(&v, &b, &mut out).unwrap_err();
            assert_eq!(e.code(), crate::ErrorCode::InvalidArgument, "{b:?}");
        }
        assert!(Plane::oblique([0.0; 3], [0.0, 0.0, 1.0], [0.0, 0.0, 2.0]).is_err());
    }
}
