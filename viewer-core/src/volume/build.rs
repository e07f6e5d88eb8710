//! Series to volume: the slices of a series as one grid (see the issue "CBCT volumes").
//!
//! 1. The slices are grouped by orientation and size; the largest group becomes the volume (the others are
//!    named in a warning).
//! 2. They are ordered by position along the slice normal (never by file name or instance number); exact
//!    duplicate positions are dropped with a warning.
//! 3. The slice axis runs from the first slice's origin to the last one's: with a gantry tilt it is not the
//!    normal, and the grid keeps that shear (no staircase). The spacing comes from the positions, never from
//!    Slice Thickness. Uneven gaps (or missing slices) are resampled to uniform spacing by linear
//!    interpolation between the two neighbouring slices, and said.
//! 4. Frames are decoded one at a time straight into their slice of the volume, and each file's pixel bytes
//!    are released as soon as no later slice needs them, so building costs about one volume of memory.

use crate::decode::{decode_frame, Samples};
use crate::error::Error;
use crate::ingest::Instance;
use crate::volume::{dot, norm, sub, unit, Volume, VoxelSlices};
use crate::window::Window;

/// Limits and options of a build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildOptions {
    /// A volume whose voxels would need more bytes is refused (with the size a downsampled build needs).
    pub max_voxel_bytes: u64,
    /// 1 = full resolution; n = every n-th column, row and slice.
    pub downsample: u32,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            max_voxel_bytes: 3 << 30,
            downsample: 1,
        }
    }
}

/// One slice offered to the builder: a frame of an instance (indices into the caller's instances).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SliceRef {
    pub instance: usize,
    pub frame: u32,
}

/// Where each slice of a built volume came from: the source slice at (or, when resampled, nearest to) it.
pub type SliceSources = Vec<SliceRef>;

/// Largest number of slices and of samples per slice the builder accepts, whatever the byte limit says.
const MAX_SLICES: usize = 16_384;

/// A source slice with its geometry.
#[derive(Debug, Clone, Copy)]
struct Source {
    slice: SliceRef,
    position: [f64; 3],
    /// Position along the slice axis, from the first slice (mm).
    s: f64,
    slope: f64,
    intercept: f64,
}

/// The stored type the voxels are kept in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dtype {
    U8,
    U16,
    I16,
    F32,
}

fn dtype_of(instance: &Instance) -> Dtype {
    match (
        instance.float_bits(),
        instance.bits_allocated(),
        instance.pixel_representation(),
    ) {
        (0, 8, 0) => Dtype::U8,
        (0, 16, 0) => Dtype::U16,
        (0, 16, _) => Dtype::I16,
        _ => Dtype::F32,
    }
}

/// Builds the volume of `slices` (the frames of one series). `skip` says which instances are known not to
/// decode (they are left out and said). Instances whose frames all went into the volume have their pixel
/// data released.
pub(crate) fn build(
    instances: &mut [Instance],
    slices: &[SliceRef],
    skip: impl Fn(usize) -> bool,
    options: &BuildOptions,
) -> Result<(Volume, SliceSources), Error> {
    let mut warnings = Vec::new();
    let f = options.downsample.clamp(1, 16) as usize;
    let failed = slices.iter().filter(|s| skip(s.instance)).count();
    let usable: Vec<SliceRef> = slices
        .iter()
        .copied()
        .filter(|s| !skip(s.instance))
        .collect();
    if failed > 0 {
        warnings.push(format!(
            "{failed} image(s) of the series could not be decoded and were left out of the volume"
        ));
    }

    // 1. Group by orientation and size; the largest group is the volume.
    let key = |sl: &SliceRef| -> Option<([i64; 6], u32, u32)> {
        let i = &instances[sl.instance];
        let o = i.image_orientation()?;
        Some((o.map(|c| (c * 1e4).round() as i64), i.rows(), i.columns()))
    };
    if let Some(bad) = usable.iter().find(|s| key(s).is_none()) {
        return Err(Error::malformed(
            "an image has no Image Orientation (Patient): its slices cannot be placed in a volume",
        )
        .with_file(instances[bad.instance].path()));
    }
    type GroupKey = ([i64; 6], u32, u32);
    let mut groups: Vec<(GroupKey, Vec<SliceRef>)> = Vec::new();
    for sl in &usable {
        let k = key(sl).unwrap_or(([0; 6], 0, 0));
        match groups.iter_mut().find(|(g, _)| *g == k) {
            Some((_, v)) => v.push(*sl),
            None => groups.push((k, vec![*sl])),
        }
    }
    groups.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
    let Some((_, group)) = groups.first() else {
        return Err(Error::not_found("images to build a volume from"));
    };
    let group = group.clone();
    let left_out: usize = groups.iter().skip(1).map(|(_, v)| v.len()).sum();
    if left_out > 0 {
        warnings.push(format!(
            "{left_out} image(s) with another orientation or size were left out of the volume"
        ));
    }

    let first = &instances[group[0].instance];
    let orientation = first
        .image_orientation()
        .ok_or_else(|| Error::malformed("no Image Orientation (Patient)"))?;
    let (rows, cols) = (first.rows() as usize, first.columns() as usize);
    let row_dir = [orientation[0], orientation[1], orientation[2]];
    let col_dir = [orientation[3], orientation[4], orientation[5]];
    let degenerate =
        || Error::malformed("Image Orientation (Patient) is degenerate").with_file(first.path());
    let row_dir = unit(row_dir).ok_or_else(degenerate)?;
    let col_dir = unit(col_dir).ok_or_else(degenerate)?;
    let normal = crate::library::slice_normal(&orientation).ok_or_else(degenerate)?;
    if first.samples_per_pixel() != 1 || first.palette().is_some() {
        return Err(Error::unsupported_pixel_format(format!(
            "{} images: a volume is built from greyscale slices only",
            first.photometric()
        ))
        .with_file(first.path()));
    }
    let invert = first.photometric() == "MONOCHROME1";

    // In-plane spacing: Pixel Spacing is [between rows, between columns].
    let spacing_xy = match first.pixel_spacing() {
        Some([r, c]) if r > 0.0 && c > 0.0 && r.is_finite() && c.is_finite() => [c, r],
        _ => {
            warnings.push(
                "the images have no Pixel Spacing: 1 mm is assumed, so distances are not true mm"
                    .to_string(),
            );
            [1.0, 1.0]
        }
    };
    for sl in &group {
        let i = &instances[sl.instance];
        let ps = i.pixel_spacing().map(|[r, c]| [c, r]).unwrap_or([1.0, 1.0]);
        if (ps[0] - spacing_xy[0]).abs() > 1e-4 || (ps[1] - spacing_xy[1]).abs() > 1e-4 {
            return Err(Error::malformed(format!(
                "Pixel Spacing {:?} differs from the series' {:?}: the slices are not one grid",
                [ps[1], ps[0]],
                [spacing_xy[1], spacing_xy[0]]
            ))
            .with_file(i.path()));
        }
        if i.samples_per_pixel() != 1 {
            return Err(
                Error::unsupported_pixel_format("a colour image in a greyscale series")
                    .with_file(i.path()),
            );
        }
        if i.modality_lut().is_some() {
            // voxels keep stored values with one linear rescale; a Modality LUT is not linear
            return Err(Error::unsupported_pixel_format(
                "images with a Modality LUT Sequence: a volume is built from linearly rescaled slices only",
            )
            .with_file(i.path()));
        }
    }

    // 2. Positions, order along the normal, duplicates.
    let mut sources = Vec::with_capacity(group.len());
    for sl in &group {
        let i = &instances[sl.instance];
        let position = i.image_position(sl.frame).ok_or_else(|| {
            Error::malformed(
                "an image has no Image Position (Patient): its slice cannot be placed in a volume",
            )
            .with_file(i.path())
        })?;
        if position.iter().any(|c| !c.is_finite()) {
            return Err(
                Error::malformed("Image Position (Patient) is not finite").with_file(i.path())
            );
        }
        let (slope, intercept) = i.frame_rescale(sl.frame);
        sources.push(Source {
            slice: *sl,
            position,
            s: 0.0,
            slope,
            intercept,
        });
    }
    sources.sort_by(|a, b| {
        dot(a.position, normal)
            .total_cmp(&dot(b.position, normal))
            .then_with(|| {
                instances[a.slice.instance]
                    .instance_number()
                    .cmp(&instances[b.slice.instance].instance_number())
            })
            .then_with(|| a.slice.frame.cmp(&b.slice.frame))
    });
    let before = sources.len();
    sources.dedup_by(|later, kept| norm(sub(later.position, kept.position)) < 1e-3);
    if sources.len() < before {
        warnings.push(format!(
            "{} slice(s) at the same position as another were dropped (duplicates, or a second image type at the same positions): the first at each position is kept",
            before - sources.len()
        ));
    }
    if sources.len() < 2 {
        return Err(Error::not_found(
            "two or more parallel slices at different positions (a volume needs them)",
        ));
    }
    if sources.len() > MAX_SLICES {
        return Err(Error::limit(format!(
            "{} slices, more than the {MAX_SLICES} a volume may have",
            sources.len()
        )));
    }

    // 3. Slice axis (sheared with a tilt), collinearity, spacing.
    let p0 = sources[0].position;
    let last = sources[sources.len() - 1].position;
    let extent = norm(sub(last, p0));
    // two distinct positions remain after the duplicates were dropped
    let axis = unit(sub(last, p0))
        .ok_or_else(|| Error::malformed("the first and last slice origins coincide"))?;
    for src in &mut sources {
        src.s = dot(sub(src.position, p0), axis);
    }
    let off_line = sources
        .iter()
        .map(|src| {
            let d = sub(src.position, p0);
            let along = dot(d, axis);
            norm([
                d[0] - along * axis[0],
                d[1] - along * axis[1],
                d[2] - along * axis[2],
            ])
        })
        .fold(0.0f64, f64::max);
    let min_pixel = spacing_xy[0].min(spacing_xy[1]);
    if off_line > min_pixel {
        return Err(Error::malformed(format!(
            "the slice origins do not lie on one line (up to {off_line:.2} mm off): not one volume"
        )));
    }
    let tilt = dot(axis, normal).clamp(-1.0, 1.0).acos().to_degrees();
    if tilt > 0.1 {
        warnings.push(format!(
            "gantry tilt of {tilt:.1}°: the grid is sheared along the tilt and reslices use the true geometry"
        ));
    }
    let mut gaps: Vec<f64> = sources.windows(2).map(|w| w[1].s - w[0].s).collect();
    gaps.sort_by(f64::total_cmp);
    let median = gaps[gaps.len() / 2];
    let (min_gap, max_gap) = (gaps[0], gaps[gaps.len() - 1]);
    let uneven = max_gap - min_gap > (0.01 * median).max(0.005);
    // Resampled at the finest gap, so no detail of the densely sampled parts is lost (but never finer than a
    // quarter of the usual gap: a stray near-duplicate must not multiply the volume).
    let target = min_gap.max(median / 4.0);
    let n_uniform = if uneven {
        ((extent / target).round() as usize + 1).max(2)
    } else {
        sources.len()
    };
    if n_uniform > MAX_SLICES {
        return Err(Error::limit(format!(
            "resampling to {target} mm would make {n_uniform} slices, more than {MAX_SLICES}"
        )));
    }
    let step = extent / (n_uniform - 1) as f64;
    if uneven {
        let missing = sources
            .windows(2)
            .filter(|w| w[1].s - w[0].s > 1.5 * median)
            .count();
        let mut text = format!(
            "uneven slice spacing (gaps from {min_gap:.3} to {max_gap:.3} mm): resampled by linear interpolation to {n_uniform} slices {step:.3} mm apart"
        );
        if missing > 0 {
            text.push_str(&format!(
                "; {missing} gap(s) wider than 1.5x the usual {median:.3} mm (missing slices?) were filled by interpolation"
            ));
        }
        warnings.push(text);
    }

    // Output grid (downsampled by f).
    let out_cols = cols.div_ceil(f);
    let out_rows = rows.div_ceil(f);
    let out_slices = n_uniform.div_ceil(f);
    if out_slices < 2 {
        return Err(Error::invalid_argument(format!(
            "downsampling by {f} leaves fewer than 2 slices"
        )));
    }
    if f > 1 {
        warnings.push(format!(
            "downsampled {f}x: every {f}th column, row and slice ({out_cols}x{out_rows}x{out_slices} of {cols}x{rows}x{n_uniform})"
        ));
    }
    let resampled = uneven;
    let same_rescale = sources
        .iter()
        .all(|s| s.slope == sources[0].slope && s.intercept == sources[0].intercept);
    let mut dtype = dtype_of(first);
    if resampled
        || !same_rescale
        || group
            .iter()
            .any(|sl| dtype_of(&instances[sl.instance]) != dtype)
    {
        // Interpolated values and per-slice rescales are kept as modality values.
        dtype = Dtype::F32;
    }
    let item = match dtype {
        Dtype::U8 => 1u64,
        Dtype::U16 | Dtype::I16 => 2,
        Dtype::F32 => 4,
    };
    let plane = (out_cols as u64) * (out_rows as u64);
    let need = plane * out_slices as u64 * item;
    if need > options.max_voxel_bytes {
        let half = need / 8;
        return Err(Error::limit(format!(
            "the volume needs {} MiB, more than the {} MiB allowed here; a 2x downsampled volume needs {} MiB",
            need >> 20,
            options.max_voxel_bytes >> 20,
            half >> 20
        )));
    }
    let (slope, intercept) = if dtype == Dtype::F32 {
        (1.0, 0.0)
    } else {
        (sources[0].slope, sources[0].intercept)
    };

    let modality = first.modality().to_string();
    let file_window = instances[sources[0].slice.instance]
        .frame_window(sources[0].slice.frame)
        .filter(Window::is_valid);

    // 4. Fill, slice by slice. Each instance's pixel data is released once no later slice uses it.
    let mut remaining = vec![0usize; instances.len()];
    for src in &sources {
        remaining[src.slice.instance] += 1;
    }
    let mut voxels = match dtype {
        Dtype::U8 => VoxelSlices::U8(Vec::with_capacity(out_slices)),
        Dtype::U16 => VoxelSlices::U16(Vec::with_capacity(out_slices)),
        Dtype::I16 => VoxelSlices::I16(Vec::with_capacity(out_slices)),
        Dtype::F32 => VoxelSlices::F32(Vec::with_capacity(out_slices)),
    };
    let mut decoded: Vec<(usize, Samples)> = Vec::new(); // at most the two bracketing source slices
    let mut next_release = 0usize; // sources below this index have been let go
    let mut range = (f64::INFINITY, f64::NEG_INFINITY);
    for k in 0..out_slices {
        let s = (k * f) as f64 * step;
        // bracketing sources a <= s <= b
        let b = sources
            .partition_point(|src| src.s < s - 1e-6)
            .min(sources.len() - 1);
        let a = if (sources[b].s - s).abs() <= 1e-6 || b == 0 {
            b
        } else {
            b - 1
        };
        // release what no later slice needs (everything before a)
        while next_release < a {
            decoded.retain(|(i, _)| *i != next_release);
            let inst = sources[next_release].slice.instance;
            remaining[inst] -= 1;
            if remaining[inst] == 0 {
                instances[inst].release_pixel_data();
            }
            next_release += 1;
        }
        for idx in [a, b] {
            if !decoded.iter().any(|(i, _)| *i == idx) {
                let src = sources[idx];
                let frame = decode_frame(&instances[src.slice.instance], src.slice.frame)?;
                if frame.data.len() != rows * cols {
                    return Err(Error::corrupt(format!(
                        "decoded {} values, expected {rows}x{cols}",
                        frame.data.len()
                    ))
                    .with_file(instances[src.slice.instance].path()));
                }
                decoded.push((idx, frame.data));
            }
        }
        let get = |idx: usize| -> &Samples {
            &decoded
                .iter()
                .find(|(i, _)| *i == idx)
                .expect("decoded above")
                .1
        };
        let (sa, sb) = (&sources[a], &sources[b]);
        let w = if a == b {
            0.0
        } else {
            (s - sa.s) / (sb.s - sa.s)
        };
        fill_slice(
            &mut voxels,
            (get(a), sa.slope, sa.intercept),
            (get(b), sb.slope, sb.intercept),
            w,
            [cols, rows],
            f,
            &mut range,
        )?;
    }
    drop(decoded);
    for src in &sources[next_release..] {
        let inst = src.slice.instance;
        remaining[inst] -= 1;
        if remaining[inst] == 0 {
            instances[inst].release_pixel_data();
        }
    }

    // Which source slice each volume slice shows (nearest), for the stack view's file details.
    let slice_sources = (0..out_slices)
        .map(|k| {
            let s = (k * f) as f64 * step;
            let b = sources
                .partition_point(|src| src.s < s)
                .min(sources.len() - 1);
            let best = if b > 0 && (sources[b - 1].s - s).abs() <= (sources[b].s - s).abs() {
                b - 1
            } else {
                b
            };
            sources[best].slice
        })
        .collect();

    let default_window = file_window.unwrap_or_else(|| {
        let (lo, hi) = if dtype == Dtype::F32 {
            range
        } else {
            (range.0 * slope + intercept, range.1 * slope + intercept)
        };
        Window::from_range(lo.min(hi), hi.max(lo))
    });
    let volume = Volume {
        dims: [out_cols, out_rows, out_slices],
        spacing: [
            spacing_xy[0] * f as f64,
            spacing_xy[1] * f as f64,
            step * f as f64,
        ],
        origin: p0,
        axes: [row_dir, col_dir, axis],
        voxels,
        slope,
        intercept,
        invert,
        modality,
        default_window,
        warnings,
    };
    volume.validate()?;
    Ok((volume, slice_sources))
}

/// Appends one volume slice: `a` and `b` blended by `w` (0 = a), every f-th column and row.
fn fill_slice(
    voxels: &mut VoxelSlices,
    a: (&Samples, f64, f64),
    b: (&Samples, f64, f64),
    w: f64,
    [cols, rows]: [usize; 2],
    f: usize,
    range: &mut (f64, f64),
) -> Result<(), Error> {
    let out_cols = cols.div_ceil(f);
    let out_rows = rows.div_ceil(f);
    let n = out_cols * out_rows;
    let index = |o: usize| (o / out_cols) * f * cols + (o % out_cols) * f;
    let mut track = |v: f64| {
        range.0 = range.0.min(v);
        range.1 = range.1.max(v);
    };
    let track = &mut track;
    match (voxels, a.0) {
        // Same stored type, no blending: a straight copy (the common case).
        (VoxelSlices::U8(out), Samples::U8(src)) => out.push(decimate(src, n, index, track)?),
        (VoxelSlices::U16(out), Samples::U16(src)) => out.push(decimate(src, n, index, track)?),
        (VoxelSlices::I16(out), Samples::I16(src)) => out.push(decimate(src, n, index, track)?),
        (VoxelSlices::F32(out), _) => {
            let mut v = alloc(n)?;
            for o in 0..n {
                let i = index(o);
                let va = a.0.get_f64(i) * a.1 + a.2;
                let x = if w == 0.0 {
                    va
                } else {
                    let vb = b.0.get_f64(i) * b.1 + b.2;
                    va + (vb - va) * w
                };
                track(x);
                v.push(x as f32);
            }
            out.push(v);
        }
        _ => return Err(Error::corrupt("a slice decoded to another sample type")),
    }
    Ok(())
}

/// An empty buffer with room for `n` values, or a limit error when memory cannot be had.
fn alloc<T>(n: usize) -> Result<Vec<T>, Error> {
    let mut v = Vec::new();
    v.try_reserve_exact(n)
        .map_err(|_| Error::limit("the volume does not fit in memory"))?;
    Ok(v)
}

/// The `n` values `src[index(o)]` as a new slice, each one passed to `track` (the data range).
fn decimate<T: Copy + Into<f64>>(
    src: &[T],
    n: usize,
    index: impl Fn(usize) -> usize,
    track: &mut impl FnMut(f64),
) -> Result<Vec<T>, Error> {
    let mut v = alloc(n)?;
    v.extend((0..n).map(|o| src[index(o)]));
    v.iter().for_each(|&x| track(x.into()));
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::ingest::testutil::Slice as TestSlice;
    use crate::library::Library;
    use crate::render::RgbaImage;

    /// A 3x2 slice whose pixels encode its index k: value = 100 k + pixel index.
    fn slice_file(k: i32, position: [f64; 3], instance: i32) -> Vec<u8> {
        TestSlice {
            instance_number: Some(instance),
            position: Some(position),
            rows: 2,
            cols: 3,
            pixels: (0..6).map(|i| (100 * k + i) as i16).collect(),
            rescale: (1.0, -1024.0),
            ..TestSlice::default()
        }
        .file()
    }

    fn library(files: Vec<Vec<u8>>) -> Library {
        let mut lib = Library::new();
        for (n, f) in files.into_iter().enumerate() {
            let r = lib.add_file(&format!("f{n:02}"), f);
            assert_eq!(r.status, "image", "{r:?}");
        }
        lib
    }

    fn slice_values(v: &Volume, k: usize) -> Vec<f64> {
        (0..v.dims[0] * v.dims[1])
            .map(|i| v.voxels.get(k, i).expect("voxel"))
            .collect()
    }

    #[test]
    fn slices_are_ordered_along_the_normal_and_spaced_by_position() {
        // Arrival order, file names and instance numbers all disagree with the positions.
        let zs = [7.5, -2.5, 2.5, 0.0, 5.0, 10.0];
        let files = zs
            .iter()
            .enumerate()
            .map(|(n, &z)| slice_file((z / 2.5) as i32 + 1, [-3.0, 4.0, z], 10 - n as i32))
            .collect();
        let mut lib = library(files);
        let v = lib
            .build_volume(0, &BuildOptions::default())
            .expect("volume");
        assert_eq!(v.dims, [3, 2, 6]);
        assert_eq!(v.spacing, [0.5, 0.5, 2.5]);
        assert_eq!(v.origin, [-3.0, 4.0, -2.5]);
        assert_eq!(v.axes, [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]);
        assert!(v.warnings.is_empty(), "{:?}", v.warnings);
        assert!(matches!(v.voxels, VoxelSlices::I16(_)));
        assert_eq!((v.slope, v.intercept), (1.0, -1024.0));
        // slice k holds the file at z = -2.5 + 2.5 k, i.e. the one whose pixels say k
        for k in 0..6 {
            let expected: Vec<f64> = (0..6).map(|i| f64::from(100 * k as i32 + i)).collect();
            assert_eq!(slice_values(v, k), expected, "slice {k}");
        }
        // the voxel (2, 1, 3) is 2 columns and 1 row from the origin of the slice at z = 5
        assert_eq!(v.voxel_to_world([2.0, 1.0, 3.0]), [-2.0, 4.5, 5.0]);
    }

    #[test]
    fn a_gantry_tilt_keeps_its_sheared_geometry() {
        // Each slice origin moves 3 mm along z and 3 tan(20°) mm along y: the slice axis is tilted by 20°.
        let t = 20f64.to_radians();
        let files = (0..5)
            .map(|k| {
                let kf = f64::from(k);
                slice_file(k, [0.0, 3.0 * t.tan() * kf, 3.0 * kf], k)
            })
            .collect();
        let mut lib = library(files);
        let v = lib
            .build_volume(0, &BuildOptions::default())
            .expect("volume");
        assert_eq!(v.dims[2], 5);
        assert!((v.spacing[2] - 3.0 / t.cos()).abs() < 1e-9);
        assert!((v.axes[2][1] - t.sin()).abs() < 1e-9 && (v.axes[2][2] - t.cos()).abs() < 1e-9);
        assert!(
            v.warnings.iter().any(|w| w.contains("tilt of 20.0°")),
            "{:?}",
            v.warnings
        );
        // Every voxel sits where its own file's header puts it (no staircase, no straightening).
        for k in 0..5usize {
            let kf = k as f64;
            let p = v.voxel_to_world([1.0, 1.0, kf]);
            let expected = [0.5, 3.0 * t.tan() * kf + 0.5, 3.0 * kf];
            for d in 0..3 {
                assert!((p[d] - expected[d]).abs() < 1e-9, "{p:?} vs {expected:?}");
            }
            assert_eq!(slice_values(v, k)[4], (100 * k + 4) as f64);
        }
    }

    #[test]
    fn uneven_gaps_are_resampled_and_said() {
        // z = 0, 1, 2, 4, 5: one missing slice at 3 (and an extra one at 4.5 to make the gaps uneven).
        let zs = [0.0, 1.0, 2.0, 4.0, 4.5, 5.0];
        let files = zs
            .iter()
            .enumerate()
            .map(|(n, &z)| slice_file(n as i32, [0.0, 0.0, z], n as i32))
            .collect();
        let mut lib = library(files);
        let v = lib
            .build_volume(0, &BuildOptions::default())
            .expect("volume");
        // finest gap 0.5 mm, but no finer than a quarter of the usual gap (1 mm): 0.5 mm, 11 slices
        assert_eq!(v.dims[2], 11);
        assert!((v.spacing[2] - 0.5).abs() < 1e-12);
        assert!(matches!(v.voxels, VoxelSlices::F32(_)));
        assert_eq!((v.slope, v.intercept), (1.0, 0.0));
        let w = v.warnings.join("; ");
        assert!(
            w.contains("uneven slice spacing") && w.contains("missing slices"),
            "{w}"
        );
        // modality values: stored - 1024; z = 3 (k = 6) lies halfway between the files at 2 (n = 2) and 4 (n = 3)
        let at = |k: usize| slice_values(v, k)[0];
        assert_eq!(at(0), -1024.0);
        assert_eq!(at(4), 200.0 - 1024.0);
        assert_eq!(at(6), 250.0 - 1024.0);
        assert_eq!(at(7), 275.0 - 1024.0);
        assert_eq!(at(10), 500.0 - 1024.0);
        // the last slice keeps the true extent
        assert!((v.voxel_to_world([0.0, 0.0, 10.0])[2] - 5.0).abs() < 1e-12);
    }

    #[test]
    fn duplicates_other_orientations_and_single_slices() {
        let mut files: Vec<Vec<u8>> = (0..4)
            .map(|k| slice_file(k, [0.0, 0.0, f64::from(k)], k))
            .collect();
        files.push(slice_file(9, [0.0, 0.0, 2.0], 9)); // same position as k = 2
        files.push(
            TestSlice {
                instance_number: Some(20),
                orientation: [1.0, 0.0, 0.0, 0.0, 0.0, -1.0], // a coronal localizer in the same series
                rows: 2,
                cols: 3,
                pixels: vec![0; 6],
                ..TestSlice::default()
            }
            .file(),
        );
        let mut lib = library(files);
        let v = lib
            .build_volume(0, &BuildOptions::default())
            .expect("volume");
        assert_eq!(v.dims[2], 4);
        let w = v.warnings.join("; ");
        assert!(w.contains("1 slice(s) at the same position"), "{w}");
        assert!(w.contains("1 image(s) with another orientation"), "{w}");
        // the duplicate kept is the one with the lower instance number (k = 2)
        assert_eq!(slice_values(v, 2)[0], 200.0);

        let mut one = library(vec![slice_file(0, [0.0, 0.0, 0.0], 1)]);
        let e = one.build_volume(0, &BuildOptions::default()).unwrap_err();
        assert_eq!(e.code(), ErrorCode::NotFound);
        assert!(e.to_string().contains("two or more parallel slices"), "{e}");
    }

    #[test]
    fn pixel_data_is_released_into_the_volume_and_the_stack_shows_its_slices() {
        let files = (0..4)
            .map(|k| slice_file(k, [0.0, 0.0, 2.0 * f64::from(k)], k))
            .collect();
        let mut lib = library(files);
        let window = Window {
            center: -1024.0 + 150.0,
            width: 300.0,
        };
        let mut before = RgbaImage::default();
        lib.render(0, 2, window, &mut before).expect("render");
        let info_before = lib.slice_info(0, 2).expect("info");
        lib.build_volume(0, &BuildOptions::default())
            .expect("volume");
        for k in 0..4 {
            assert!(lib.instance(0, k).expect("instance").pixel_data_released());
        }
        assert_eq!(lib.slice_count(0).expect("count"), 4);
        let mut after = RgbaImage::default();
        lib.render(0, 2, window, &mut after)
            .expect("render from the volume");
        assert_eq!(before.data, after.data, "the stack shows the same pixels");
        let info = lib.slice_info(0, 2).expect("info");
        assert_eq!(info.file, info_before.file);
        assert_eq!(info.position, info_before.position);
        assert_eq!(info.slice_location, info_before.slice_location);
        // building again returns the same volume
        assert_eq!(
            lib.build_volume(0, &BuildOptions::default())
                .expect("again")
                .dims,
            [3, 2, 4]
        );
    }

    #[test]
    fn limits_and_downsampling() {
        let files = (0..5)
            .map(|k| slice_file(k, [0.0, 0.0, f64::from(k)], k))
            .collect();
        let mut lib = library(files);
        let small = BuildOptions {
            max_voxel_bytes: 40,
            downsample: 1,
        };
        // 3 x 2 x 5 x 2 bytes = 60 > 40: refused before any slice is decoded or released
        let e = lib.build_volume(0, &small).unwrap_err();
        assert_eq!(e.code(), ErrorCode::LimitExceeded);
        assert!(e.to_string().contains("downsampled"), "{e}");
        assert!(!lib.instance(0, 0).expect("instance").pixel_data_released());
        let half = BuildOptions {
            max_voxel_bytes: 40,
            downsample: 2,
        };
        let v = lib.build_volume(0, &half).expect("downsampled");
        assert_eq!(v.dims, [2, 1, 3]);
        assert_eq!(v.spacing, [1.0, 1.0, 2.0]);
        // every second column, row and slice: slice 1 is the file at z = 2, columns 0 and 2
        assert_eq!(slice_values(v, 1), [200.0, 202.0]);
        assert!(v.warnings.iter().any(|w| w.contains("downsampled 2x")));
    }
}
