//! Analytic CBCT-like head phantom: the ground truth for MPR and panoramic (dental) tests.
//!
//! This module is a pure analytic model (no DICOM here; `ingest::write` turns it into files).
//! Every voxel value is a closed-form function of its centre position, so tests can compute
//! the expected value of any pixel of any reformat without trusting our own decoder.
//!
//! # Coordinate system and sampling grid
//!
//! All positions are DICOM patient coordinates (LPS) in millimetres:
//! `+x` = patient **L**eft, `+y` = **P**osterior, `+z` = head / **S**uperior.
//!
//! * The field of view is a fixed cube of [`FOV_MM`] = 160 mm centred on the origin:
//!   `x, y, z ∈ [-80, 80]`. A [`PhantomSpec`] only chooses how finely it is sampled.
//! * Axial slices, Image Orientation (Patient) `[1,0,0, 0,1,0]`: column index grows towards
//!   patient left (`+x`), row index grows towards posterior (`+y`). Row-major storage.
//! * Pixel spacing `FOV_MM / size` (rows = cols = size), slice spacing `FOV_MM / slices`
//!   (= Slice Thickness; slices are contiguous).
//! * Slice `k = 0` is the most **inferior**; slice index grows towards the head.
//! * Voxels are cells that tile the FOV exactly, so the first pixel centre of slice `k` is
//!   `(-80 + dx/2, -80 + dx/2, -80 + (k + 1/2)·dz)` and the FOV centre is `(0,0,0)`.
//! * Geometry numbers are quantised to the decimal string written into the DICOM DS
//!   attributes ([`format_ds`]), so [`Phantom::image_position`], [`Phantom::pixel_spacing`] and
//!   [`Phantom::slice_spacing`] are bit-identical to what a reader parses from the files (for the
//!   usual sizes, e.g. 256 or 512 or 500, the values are exact short decimals anyway).
//! * The centre of voxel `(col, row, slice)` is
//!   `image_position(slice) + col·pixel_spacing[1]·x̂ + row·pixel_spacing[0]·ŷ`
//!   ([`Phantom::voxel_center`]).
//!
//! # Sampling
//!
//! **Plain centre sampling** (no supersampling, no partial-volume blur): the stored value of a
//! voxel is exactly `stored_from_hu(hu_at(voxel_center))`, i.e. `round(HU + 1024)` clamped to
//! `i16`; with Rescale Slope 1 and Rescale Intercept -1024 it decodes back to exactly `HU`
//! (all HU constants below are integers). A unit test checks every voxel of several volumes.
//!
//! # Shapes (closed sets, boundaries count as inside) and precedence
//!
//! Highest precedence first; a point takes the value of the first shape containing it:
//!
//! | shape | HU | definition |
//! |---|---|---|
//! | orientation marker | [`MARKER_HU`] 3000 | sphere, centre [`MARKER_CENTER`] `(55,-55,55)` (left-anterior-superior, in the air outside the head), radius [`MARKER_RADIUS`] 3 mm |
//! | teeth | [`TOOTH_HU`] 2500 | 8 vertical cylinders ([`TEETH`]), axis through [`arch_point`]`(t_i)`, `z ∈ [-38, -20]` |
//! | mandibular canal | [`CANAL_HU`] 20 | disc of radius [`CANAL_RADIUS`] 1.5 mm in the plane normal to the arch: `d² + (z - canal_z(t))² ≤ 1.5²` |
//! | mandible | [`MANDIBLE_HU`] 1200 | band `|d| ≤ 5 mm` around the arch, foot parameter `|t| ≤ 1`, `z ∈ [-50, -30]` |
//! | skull | [`SKULL_HU`] 1500 | shell between ellipsoids [`SKULL_OUTER_SEMI_AXES`] `(66,72,72)` and [`SKULL_INNER_SEMI_AXES`] `(61,67,67)`, only where `z ≥ -15` |
//! | soft tissue | [`SOFT_TISSUE_HU`] 40 | ellipsoid [`HEAD_SEMI_AXES`] `(70,76,76)` centred at the origin |
//! | air | [`AIR_HU`] -1000 | everything else |
//!
//! where `(t, d)` = [`arch_closest`]`(x, y)`: `t` is the parameter of the nearest point of the
//! (infinitely extended) arch parabola and `d` the signed in-plane distance to it (positive =
//! outward/buccal). Within 12.5 mm of the curve (its smallest radius of curvature) the nearest
//! point is unique, so the band and the canal are true constant-thickness tubes whose ends are
//! cut flat, perpendicular to the arch, at `t = ±1`.
//!
//! # The dental arch
//!
//! The arch is the parabola, in every axial plane,
//! `x(t) = 30·t`, `y(t) = -44 + 0.04·x(t)²`, `t ∈ [-1, 1]`
//! ([`ARCH_HALF_WIDTH`] 30, [`ARCH_VERTEX_Y`] -44, [`ARCH_CURVATURE`] 0.04 = depth 36 / 30²).
//! The vertex `(0, -44)` is anterior (chin side); the arms run posteriorly to `(±30, -8)`.
//! `t = -1` is the patient-right end. Arc length (see [`arch_arc_length`]) is measured from the
//! patient-right end, so a panoramic image with arc length growing to the right shows the
//! patient's right on the viewer's left, as usual. Total length (closed form):
//! `L = 78 + 12.5·ln 5 ≈ 98.117973905 mm` ([`arch_length`]).
//!
//! The canal centre line is [`canal_point`]`(t) = (x(t), y(t), -46 + 5·t²)`: lowest (-46) at the
//! midline, rising to -41 at the arch ends; it passes more than 4 mm below every root apex
//! (teeth stop at `|t| = 0.68`) and at least 2.5 mm above the mandible's lower border.
//!
//! In a curved (panoramic) reformat along the arch (`d = 0`), the ground truth is therefore:
//! canal at `z ∈ canal_z(t) ± 1.5`, mandible at `z ∈ [-50, -30]`, and tooth `i` at
//! `z ∈ [-38, -20]` over the arc-length interval [`Tooth::arc_interval`].

use std::f64::consts::PI;

/// Edge of the cubic field of view, in mm. The FOV is `[-80, 80]³` in patient coordinates.
pub const FOV_MM: f64 = 160.0;
/// Largest accepted rows = columns ([`Phantom::new`] clamps to `1..=MAX_SIZE`).
pub const MAX_SIZE: u32 = 4096;
/// Largest accepted number of slices ([`Phantom::new`] clamps to `1..=MAX_SLICES`).
pub const MAX_SLICES: u32 = 4096;

/// Rescale Slope of the stored values (HU = stored · slope + intercept).
pub const RESCALE_SLOPE: f64 = 1.0;
/// Rescale Intercept of the stored values.
pub const RESCALE_INTERCEPT: f64 = -1024.0;

/// Air, outside the head (and inside nothing else).
pub const AIR_HU: f64 = -1000.0;
/// Soft tissue filling the head ellipsoid (also inside the skull).
pub const SOFT_TISSUE_HU: f64 = 40.0;
/// Skull shell (cranium only, `z ≥ SKULL_Z_MIN`).
pub const SKULL_HU: f64 = 1500.0;
/// Mandible (the U-shaped bony band).
pub const MANDIBLE_HU: f64 = 1200.0;
/// Teeth (enamel-like cylinders).
pub const TOOTH_HU: f64 = 2500.0;
/// Mandibular canal (inside the mandible).
pub const CANAL_HU: f64 = 20.0;
/// Orientation marker sphere.
pub const MARKER_HU: f64 = 3000.0;

/// Semi-axes `(a_x, a_y, a_z)` of the soft-tissue head ellipsoid, centred at the origin.
pub const HEAD_SEMI_AXES: [f64; 3] = [70.0, 76.0, 76.0];
/// Outer semi-axes of the skull shell (centred at the origin).
pub const SKULL_OUTER_SEMI_AXES: [f64; 3] = [66.0, 72.0, 72.0];
/// Inner semi-axes of the skull shell: 5 mm thinner along every axis.
pub const SKULL_INNER_SEMI_AXES: [f64; 3] = [61.0, 67.0, 67.0];
/// The skull shell only exists for `z ≥ SKULL_Z_MIN` (an open bowl: the cranium).
pub const SKULL_Z_MIN: f64 = -15.0;

/// Half width of the arch: `x(t) = ARCH_HALF_WIDTH · t`, `t ∈ [-1, 1]`.
pub const ARCH_HALF_WIDTH: f64 = 30.0;
/// `y` of the arch vertex (anterior midline point).
pub const ARCH_VERTEX_Y: f64 = -44.0;
/// Depth of the arch: `y(±1) - y(0)`.
pub const ARCH_DEPTH: f64 = 36.0;
/// Parabola coefficient `k` in `y = ARCH_VERTEX_Y + k·x²` (= 36 / 30² = 0.04).
pub const ARCH_CURVATURE: f64 = ARCH_DEPTH / (ARCH_HALF_WIDTH * ARCH_HALF_WIDTH);

/// Half thickness of the mandible band, measured along the in-plane arch normal.
pub const MANDIBLE_HALF_THICKNESS: f64 = 5.0;
/// Lower border of the mandible band.
pub const MANDIBLE_Z_MIN: f64 = -50.0;
/// Upper border of the mandible band (alveolar crest).
pub const MANDIBLE_Z_MAX: f64 = -30.0;

/// Bottom of every tooth (root apex, 8 mm inside the bone).
pub const TOOTH_Z_MIN: f64 = -38.0;
/// Top of every tooth (crown, 10 mm above the bone).
pub const TOOTH_Z_MAX: f64 = -20.0;

/// Radius of the mandibular canal (3 mm diameter).
pub const CANAL_RADIUS: f64 = 1.5;
/// Height of the canal centre line at the midline (`t = 0`).
pub const CANAL_Z_MIDLINE: f64 = -46.0;
/// Rise of the canal centre line: `canal_z(t) = CANAL_Z_MIDLINE + CANAL_RISE · t²`.
pub const CANAL_RISE: f64 = 5.0;

/// Centre of the orientation marker: patient left (+x), anterior (-y), superior (+z),
/// in the air outside the head.
pub const MARKER_CENTER: [f64; 3] = [55.0, -55.0, 55.0];
/// Radius of the orientation marker sphere (6 mm diameter).
pub const MARKER_RADIUS: f64 = 3.0;

/// One tooth: a vertical cylinder standing on the arch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tooth {
    /// Arch parameter of the cylinder axis: the axis passes through [`arch_point`]`(t)`.
    pub t: f64,
    /// Cylinder radius in mm.
    pub radius: f64,
}

impl Tooth {
    /// `(x, y)` of the cylinder axis.
    pub fn center(&self) -> [f64; 2] {
        let p = arch_point(self.t);
        [p[0], p[1]]
    }

    /// Arc length of the axis along the arch, from the patient-right end.
    pub fn arc_length(&self) -> f64 {
        arch_arc_length(self.t)
    }

    /// Arc-length interval `[s_in, s_out]` (from the patient-right end) where the arch curve
    /// itself runs inside this tooth's cylinder, i.e. the tooth's extent in a panoramic
    /// reformat at `d = 0`. Found by bisection to ~1e-12 mm; close to `arc_length() ± radius`.
    pub fn arc_interval(&self) -> [f64; 2] {
        let c = self.center();
        let dist = |t: f64| {
            let a = arch_point(t);
            ((a[0] - c[0]).powi(2) + (a[1] - c[1]).powi(2)).sqrt()
        };
        // The distance grows monotonically away from `t` along the arch (radius < curvature
        // radius); the chord reaches `radius` within `radius / ARCH_HALF_WIDTH` in `t`.
        let edge = |dir: f64| {
            let (mut inside, mut outside) = (self.t, self.t + dir * self.radius / ARCH_HALF_WIDTH);
            for _ in 0..200 {
                let mid = 0.5 * (inside + outside);
                if dist(mid) <= self.radius {
                    inside = mid;
                } else {
                    outside = mid;
                }
            }
            arch_arc_length(inside)
        };
        [edge(-1.0), edge(1.0)]
    }

    /// Whether `p` lies in this tooth (closed cylinder, `z ∈ [TOOTH_Z_MIN, TOOTH_Z_MAX]`).
    pub fn contains(&self, p: [f64; 3]) -> bool {
        if !(TOOTH_Z_MIN..=TOOTH_Z_MAX).contains(&p[2]) {
            return false;
        }
        in_disc(self.center(), self.radius, p[0], p[1])
    }
}

/// The eight teeth, patient right to left, mirror-symmetric about `x = 0`:
/// radii 3.5 / 3.0 / 2.5 / 2.0 mm (molar-like to incisor-like) at `t = ∓0.68, ∓0.51, ∓0.32,
/// ∓0.11`. Neighbouring teeth are about 2.5 mm apart (edge to edge); the two central ones
/// are 2.6 mm apart.
pub const TEETH: [Tooth; 8] = [
    Tooth {
        t: -0.68,
        radius: 3.5,
    },
    Tooth {
        t: -0.51,
        radius: 3.0,
    },
    Tooth {
        t: -0.32,
        radius: 2.5,
    },
    Tooth {
        t: -0.11,
        radius: 2.0,
    },
    Tooth {
        t: 0.11,
        radius: 2.0,
    },
    Tooth {
        t: 0.32,
        radius: 2.5,
    },
    Tooth {
        t: 0.51,
        radius: 3.0,
    },
    Tooth {
        t: 0.68,
        radius: 3.5,
    },
];

/// Point of the arch curve at parameter `t` (`t ∈ [-1, 1]` is the arch; other values extend
/// the parabola). Returned `z` is the mid-height of the mandible band, -40 mm; the same
/// curve is the arch in every axial plane.
pub fn arch_point(t: f64) -> [f64; 3] {
    let x = ARCH_HALF_WIDTH * t;
    [
        x,
        ARCH_VERTEX_Y + ARCH_CURVATURE * x * x,
        0.5 * (MANDIBLE_Z_MIN + MANDIBLE_Z_MAX),
    ]
}

/// Unit tangent of the arch at `t` (direction of growing `t`, i.e. towards patient left).
pub fn arch_tangent(t: f64) -> [f64; 2] {
    let slope = 2.0 * ARCH_CURVATURE * ARCH_HALF_WIDTH * t;
    let n = (1.0 + slope * slope).sqrt();
    [1.0 / n, slope / n]
}

/// Unit in-plane normal of the arch at `t`, pointing outward (buccal/labial side, away from
/// the tongue): `(0, -1)` (anterior) at the vertex.
pub fn arch_normal(t: f64) -> [f64; 2] {
    let [tx, ty] = arch_tangent(t);
    [ty, -tx]
}

/// Antiderivative of `sqrt(1 + 4k²x²)`, i.e. arc length of the parabola from its vertex to `x`.
fn parabola_arc_from_vertex(x: f64) -> f64 {
    let k = ARCH_CURVATURE;
    let u = 2.0 * k * x;
    0.5 * (x * (1.0 + u * u).sqrt() + u.asinh() / (2.0 * k))
}

/// Arc length along the arch from the patient-right end (`t = -1`) to `t` (closed form;
/// negative for `t < -1`). `arch_arc_length(0) = arch_length() / 2`.
pub fn arch_arc_length(t: f64) -> f64 {
    parabola_arc_from_vertex(ARCH_HALF_WIDTH * t) + parabola_arc_from_vertex(ARCH_HALF_WIDTH)
}

/// Total length of the arch `t ∈ [-1, 1]`: `78 + 12.5·ln 5 ≈ 98.117973905 mm`.
pub fn arch_length() -> f64 {
    2.0 * parabola_arc_from_vertex(ARCH_HALF_WIDTH)
}

/// Inverse of [`arch_arc_length`]: the parameter `t` at arc length `s` from the patient-right
/// end (Newton iteration to full precision; `s` outside `[0, L]` extrapolates on the parabola).
pub fn arch_t_at_arc_length(s: f64) -> f64 {
    let mut t = (2.0 * s / arch_length() - 1.0).clamp(-4.0, 4.0);
    for _ in 0..50 {
        let x = ARCH_HALF_WIDTH * t;
        let ds_dt = ARCH_HALF_WIDTH * (1.0 + 4.0 * ARCH_CURVATURE * ARCH_CURVATURE * x * x).sqrt();
        let step = (arch_arc_length(t) - s) / ds_dt;
        t -= step;
        if step.abs() < 1e-15 {
            break;
        }
    }
    t
}

/// Height of the mandibular canal centre line at arch parameter `t`: `-46 + 5·t²`.
pub fn canal_z(t: f64) -> f64 {
    CANAL_Z_MIDLINE + CANAL_RISE * t * t
}

/// Point of the mandibular canal centre line at arch parameter `t ∈ [-1, 1]`: the arch point
/// `(x(t), y(t))` at height [`canal_z`]`(t)`.
pub fn canal_point(t: f64) -> [f64; 3] {
    let a = arch_point(t);
    [a[0], a[1], canal_z(t)]
}

/// Height of the canal centre line at arc length `s` (from the patient-right end).
pub fn canal_z_at_arc_length(s: f64) -> f64 {
    canal_z(arch_t_at_arc_length(s))
}

/// Nearest point of the (infinitely extended) arch parabola to the in-plane point `(x, y)`:
/// returns `(t, d)` with `t` the parameter of the foot point and `d` the signed distance
/// (positive on the outward/buccal side, see [`arch_normal`]). Exact: solves the cubic
/// `2k²x³ + (1 + 2k(y₀ - y))x - x_p = 0` in closed form and keeps the nearest root.
pub fn arch_closest(p: [f64; 2]) -> (f64, f64) {
    let k = ARCH_CURVATURE;
    let (px, py) = (p[0], p[1]);
    let a = 2.0 * k * k;
    // x³ + P x + Q = 0
    let pp = (1.0 + 2.0 * k * (ARCH_VERTEX_Y - py)) / a;
    let qq = -px / a;
    let dist2 = |x: f64| {
        let dy = ARCH_VERTEX_Y + k * x * x - py;
        (x - px) * (x - px) + dy * dy
    };
    let disc = (qq / 2.0) * (qq / 2.0) + (pp / 3.0) * (pp / 3.0) * (pp / 3.0);
    let mut x = if disc >= 0.0 {
        let sd = disc.sqrt();
        let big_a = -qq.signum() * (qq.abs() / 2.0 + sd).cbrt();
        let big_b = if big_a != 0.0 {
            -pp / (3.0 * big_a)
        } else {
            0.0
        };
        big_a + big_b
    } else {
        // Three real roots (pp < 0): trigonometric form.
        let m = 2.0 * (-pp / 3.0).sqrt();
        let arg = ((3.0 * qq) / (2.0 * pp) * (-3.0 / pp).sqrt()).clamp(-1.0, 1.0);
        let theta = arg.acos() / 3.0;
        let mut best = m * theta.cos();
        for j in 1..3 {
            let r = m * (theta - 2.0 * PI * f64::from(j) / 3.0).cos();
            if dist2(r) < dist2(best) {
                best = r;
            }
        }
        best
    };
    // Polish the root (Newton on the cubic).
    for _ in 0..2 {
        let f = (x * x + pp) * x + qq;
        let df = 3.0 * x * x + pp;
        if df != 0.0 {
            let nx = x - f / df;
            if nx.is_finite() && dist2(nx) <= dist2(x) {
                x = nx;
            }
        }
    }
    let t = x / ARCH_HALF_WIDTH;
    let c = [x, ARCH_VERTEX_Y + k * x * x];
    let n = arch_normal(t);
    let d = (px - c[0]) * n[0] + (py - c[1]) * n[1];
    (t, d)
}

/// HU of the jaw (mandible / canal) at `p`, if `p` is in the mandible band.
fn jaw_hu(x: f64, y: f64, z: f64) -> Option<f64> {
    if !(MANDIBLE_Z_MIN..=MANDIBLE_Z_MAX).contains(&z) {
        return None;
    }
    let (t, d) = arch_closest([x, y]);
    if !(-1.0..=1.0).contains(&t) || d.abs() > MANDIBLE_HALF_THICKNESS {
        return None;
    }
    let dz = z - canal_z(t);
    if d * d + dz * dz <= CANAL_RADIUS * CANAL_RADIUS {
        Some(CANAL_HU)
    } else {
        Some(MANDIBLE_HU)
    }
}

/// In-plane bounding box `[x_min, x_max, y_min, y_max]` of the mandible band (conservative).
fn jaw_bbox() -> [f64; 4] {
    let h = MANDIBLE_HALF_THICKNESS;
    [
        -ARCH_HALF_WIDTH - h,
        ARCH_HALF_WIDTH + h,
        ARCH_VERTEX_Y - h,
        ARCH_VERTEX_Y + ARCH_DEPTH + h,
    ]
}

#[inline]
fn in_ellipsoid(axes: [f64; 3], x: f64, y: f64, z: f64) -> bool {
    let (u, v, w) = (x / axes[0], y / axes[1], z / axes[2]);
    u * u + v * v + w * w <= 1.0
}

#[inline]
fn in_disc(c: [f64; 2], r: f64, x: f64, y: f64) -> bool {
    let (dx, dy) = (x - c[0], y - c[1]);
    dx * dx + dy * dy <= r * r
}

#[inline]
fn in_marker(x: f64, y: f64, z: f64) -> bool {
    let (dx, dy, dz) = (
        x - MARKER_CENTER[0],
        y - MARKER_CENTER[1],
        z - MARKER_CENTER[2],
    );
    dx * dx + dy * dy + dz * dz <= MARKER_RADIUS * MARKER_RADIUS
}

/// Stored pixel value for a HU value: `round(HU - RESCALE_INTERCEPT)` clamped to `i16`.
pub fn stored_from_hu(hu: f64) -> i16 {
    let v = ((hu - RESCALE_INTERCEPT) / RESCALE_SLOPE).round();
    v.clamp(f64::from(i16::MIN), f64::from(i16::MAX)) as i16
}

/// The decimal string written for a DICOM DS value (at most 16 characters, shortest
/// representation, at most 10 decimals). Geometry values of the phantom are quantised to it.
pub fn format_ds(v: f64) -> String {
    if !v.is_finite() {
        return "0".to_string();
    }
    for decimals in (0..=10).rev() {
        let mut s = format!("{v:.decimals$}");
        if s.contains('.') {
            while s.ends_with('0') {
                s.pop();
            }
            if s.ends_with('.') {
                s.pop();
            }
        }
        if s == "-0" {
            s = "0".to_string();
        }
        if s.len() <= 16 {
            return s;
        }
    }
    format!("{v:e}")
}

/// `v` quantised to the value a reader parses back from [`format_ds`]`(v)`.
fn quantize(v: f64) -> f64 {
    format_ds(v).parse::<f64>().unwrap_or(v)
}

/// How finely the fixed 160 mm field of view is sampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PhantomSpec {
    /// Rows = columns of every slice.
    pub size: u32,
    /// Number of axial slices.
    pub slices: u32,
}

impl Default for PhantomSpec {
    /// 256 × 256 × 256 (0.625 mm isotropic).
    fn default() -> Self {
        PhantomSpec {
            size: 256,
            slices: 256,
        }
    }
}

/// The sampled phantom: analytic model plus its voxel grid.
#[derive(Debug, Clone)]
pub struct Phantom {
    spec: PhantomSpec,
    /// `[row spacing (y), column spacing (x)]`, DICOM Pixel Spacing order.
    pixel_spacing: [f64; 2],
    slice_spacing: f64,
    /// In-plane position of the first pixel centre (x and y are equal).
    first_xy: f64,
    /// x of every column centre (= y of every row centre).
    centers: Vec<f64>,
    teeth_xy: [[f64; 2]; 8],
}

impl Phantom {
    /// Samples the phantom on `spec`'s grid. `size` and `slices` are clamped to
    /// `1..=MAX_SIZE` / `1..=MAX_SLICES` (see [`Phantom::spec`] for the effective values).
    pub fn new(spec: PhantomSpec) -> Phantom {
        let spec = PhantomSpec {
            size: spec.size.clamp(1, MAX_SIZE),
            slices: spec.slices.clamp(1, MAX_SLICES),
        };
        let dx = quantize(FOV_MM / f64::from(spec.size));
        let dz = quantize(FOV_MM / f64::from(spec.slices));
        let first_xy = quantize(-FOV_MM / 2.0 + FOV_MM / f64::from(spec.size) / 2.0);
        let centers = (0..spec.size)
            .map(|i| first_xy + f64::from(i) * dx)
            .collect();
        let mut teeth_xy = [[0.0; 2]; 8];
        for (xy, tooth) in teeth_xy.iter_mut().zip(TEETH.iter()) {
            *xy = tooth.center();
        }
        Phantom {
            spec,
            pixel_spacing: [dx, dx],
            slice_spacing: dz,
            first_xy,
            centers,
            teeth_xy,
        }
    }

    /// The effective (clamped) spec.
    pub fn spec(&self) -> PhantomSpec {
        self.spec
    }

    /// Rows (= columns) per slice.
    pub fn rows(&self) -> u32 {
        self.spec.size
    }

    /// Columns (= rows) per slice.
    pub fn cols(&self) -> u32 {
        self.spec.size
    }

    /// Number of slices.
    pub fn slices(&self) -> u32 {
        self.spec.slices
    }

    /// DICOM Pixel Spacing `[between rows (y), between columns (x)]` in mm: `FOV_MM / size`.
    pub fn pixel_spacing(&self) -> [f64; 2] {
        self.pixel_spacing
    }

    /// Distance between slice centres = Slice Thickness, in mm: `FOV_MM / slices`.
    pub fn slice_spacing(&self) -> f64 {
        self.slice_spacing
    }

    /// Image Orientation (Patient): axial, `[1,0,0, 0,1,0]`.
    pub fn image_orientation(&self) -> [f64; 6] {
        [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    }

    /// Image Position (Patient): centre of the first pixel (row 0, column 0) of `slice`:
    /// `(-80 + dx/2, -80 + dx/2, -80 + (slice + 1/2)·dz)` (quantised as in [`format_ds`]).
    /// Slices outside `0..slices` extrapolate the same formula.
    pub fn image_position(&self, slice: u32) -> [f64; 3] {
        let z = quantize(
            -FOV_MM / 2.0 + (f64::from(slice) + 0.5) * FOV_MM / f64::from(self.spec.slices),
        );
        [self.first_xy, self.first_xy, z]
    }

    /// Patient position of the centre of voxel `(col, row, slice)`.
    pub fn voxel_center(&self, col: u32, row: u32, slice: u32) -> [f64; 3] {
        let ipp = self.image_position(slice);
        [
            ipp[0] + f64::from(col) * self.pixel_spacing[1],
            ipp[1] + f64::from(row) * self.pixel_spacing[0],
            ipp[2],
        ]
    }

    /// Analytic HU value at any patient position `p` (see the module docs for the shapes).
    pub fn hu_at(&self, p: [f64; 3]) -> f64 {
        let [x, y, z] = p;
        if in_marker(x, y, z) {
            return MARKER_HU;
        }
        if (TOOTH_Z_MIN..=TOOTH_Z_MAX).contains(&z) {
            for (c, tooth) in self.teeth_xy.iter().zip(TEETH.iter()) {
                if in_disc(*c, tooth.radius, x, y) {
                    return TOOTH_HU;
                }
            }
        }
        if let Some(hu) = jaw_hu(x, y, z) {
            return hu;
        }
        if z >= SKULL_Z_MIN
            && in_ellipsoid(SKULL_OUTER_SEMI_AXES, x, y, z)
            && !in_ellipsoid(SKULL_INNER_SEMI_AXES, x, y, z)
        {
            return SKULL_HU;
        }
        if in_ellipsoid(HEAD_SEMI_AXES, x, y, z) {
            return SOFT_TISSUE_HU;
        }
        AIR_HU
    }

    /// Stored values (`i16`, rows × cols, row-major) of `slice`, exactly
    /// `stored_from_hu(hu_at(voxel_center(col, row, slice)))` for every pixel. `out` is resized.
    ///
    /// Fast: convex cross-sections (ellipses, discs) are filled as row spans whose ends are
    /// decided with the same predicates as [`Phantom::hu_at`]; only the mandible's bounding
    /// box is evaluated per pixel, and only in slices that intersect it.
    pub fn slice_stored(&self, slice: u32, out: &mut Vec<i16>) {
        let n = self.centers.len();
        out.clear();
        out.resize(n * n, stored_from_hu(AIR_HU));
        let z = self.image_position(slice)[2];
        let xs = &self.centers;

        let tissue = stored_from_hu(SOFT_TISSUE_HU);
        let skull = stored_from_hu(SKULL_HU);
        let tooth = stored_from_hu(TOOTH_HU);
        let marker = stored_from_hu(MARKER_HU);

        let has_skull = z >= SKULL_Z_MIN;
        let has_jaw = (MANDIBLE_Z_MIN..=MANDIBLE_Z_MAX).contains(&z);
        let has_teeth = (TOOTH_Z_MIN..=TOOTH_Z_MAX).contains(&z);
        let mdz = z - MARKER_CENTER[2];
        let has_marker = mdz.abs() <= MARKER_RADIUS + 1e-9;

        // Column range of the jaw bounding box.
        let bbox = jaw_bbox();
        let (jc0, jc1) = self.index_range(bbox[0], bbox[1]);

        for (r, row) in out.chunks_exact_mut(n).enumerate() {
            let y = xs[r];
            // Soft tissue: head ellipsoid.
            fill_ellipsoid_span(row, xs, HEAD_SEMI_AXES, y, z, tissue);
            if has_skull {
                fill_ellipsoid_span(row, xs, SKULL_OUTER_SEMI_AXES, y, z, skull);
                fill_ellipsoid_span(row, xs, SKULL_INNER_SEMI_AXES, y, z, tissue);
            }
            if has_jaw && y >= bbox[2] && y <= bbox[3] {
                for c in jc0..jc1 {
                    if let Some(hu) = jaw_hu(xs[c], y, z) {
                        row[c] = stored_from_hu(hu);
                    }
                }
            }
            if has_teeth {
                for (c, t) in self.teeth_xy.iter().zip(TEETH.iter()) {
                    let dy = y - c[1];
                    let hw2 = t.radius * t.radius - dy * dy;
                    if hw2 < -1e-9 {
                        continue;
                    }
                    fill_span(
                        row,
                        xs,
                        c[0],
                        hw2.max(0.0).sqrt(),
                        |x| in_disc(*c, t.radius, x, y),
                        tooth,
                    );
                }
            }
            if has_marker {
                let dy = y - MARKER_CENTER[1];
                let hw2 = MARKER_RADIUS * MARKER_RADIUS - dy * dy - mdz * mdz;
                if hw2 >= -1e-9 {
                    fill_span(
                        row,
                        xs,
                        MARKER_CENTER[0],
                        hw2.max(0.0).sqrt(),
                        |x| in_marker(x, y, z),
                        marker,
                    );
                }
            }
        }
    }

    /// Half-open index range of the pixel centres within `[lo, hi]` (conservatively widened).
    fn index_range(&self, lo: f64, hi: f64) -> (usize, usize) {
        let n = self.centers.len() as i64;
        let dx = self.pixel_spacing[1];
        let a = ((lo - self.first_xy) / dx).floor() as i64 - 1;
        let b = ((hi - self.first_xy) / dx).ceil() as i64 + 2;
        (a.clamp(0, n) as usize, b.clamp(0, n) as usize)
    }
}

/// Paints `value` on the ellipsoid's cross-section with row `y` of slice `z`.
fn fill_ellipsoid_span(row: &mut [i16], xs: &[f64], axes: [f64; 3], y: f64, z: f64, value: i16) {
    let (v, w) = (y / axes[1], z / axes[2]);
    let rest = 1.0 - v * v - w * w;
    if rest < -1e-9 {
        return;
    }
    let hw = axes[0] * rest.max(0.0).sqrt();
    fill_span(row, xs, 0.0, hw, |x| in_ellipsoid(axes, x, y, z), value);
}

/// Paints `value` on the pixels whose centre `x` satisfies `inside(x)`. `inside` must hold on
/// a contiguous run of pixels, approximately `[cx - hw, cx + hw]`; the ends of the run are
/// decided by `inside` itself so the result agrees exactly with the analytic predicate.
fn fill_span(
    row: &mut [i16],
    xs: &[f64],
    cx: f64,
    hw: f64,
    inside: impl Fn(f64) -> bool,
    value: i16,
) {
    let n = xs.len();
    if n == 0 || !hw.is_finite() {
        return;
    }
    let x0 = xs[0];
    let dx = if n > 1 { xs[1] - xs[0] } else { 1.0 };
    let last = n as i64 - 1;
    let lo_est = ((cx - hw - x0) / dx).ceil() as i64 - 1;
    let hi_est = ((cx + hw - x0) / dx).floor() as i64 + 1;
    let mut lo = lo_est.clamp(0, last) as usize;
    let mut hi = hi_est.clamp(0, last) as usize;
    if lo_est > last || hi_est < 0 {
        return;
    }
    while lo <= hi && !inside(xs[lo]) {
        lo += 1;
    }
    if lo > hi {
        return;
    }
    while hi > lo && !inside(xs[hi]) {
        hi -= 1;
    }
    while lo > 0 && inside(xs[lo - 1]) {
        lo -= 1;
    }
    while hi + 1 < n && inside(xs[hi + 1]) {
        hi += 1;
    }
    row[lo..=hi].fill(value);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(size: u32, slices: u32) -> Phantom {
        Phantom::new(PhantomSpec { size, slices })
    }

    #[test]
    fn phantom_default_spec_and_grid() {
        let p = Phantom::new(PhantomSpec::default());
        assert_eq!((p.rows(), p.cols(), p.slices()), (256, 256, 256));
        assert_eq!(p.pixel_spacing(), [0.625, 0.625]);
        assert_eq!(p.slice_spacing(), 0.625);
        assert_eq!(p.image_position(0), [-79.6875, -79.6875, -79.6875]);
        assert_eq!(p.image_position(255), [-79.6875, -79.6875, 79.6875]);
        assert_eq!(p.voxel_center(255, 255, 255), [79.6875, 79.6875, 79.6875]);
        assert_eq!(p.image_orientation(), [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);

        // Benchmark size: 512 x 512 x 500, centres are exact short decimals.
        let b = small(512, 500);
        assert_eq!(b.pixel_spacing(), [0.3125, 0.3125]);
        assert_eq!(b.slice_spacing(), 0.32);
        assert_eq!(b.image_position(0), [-79.84375, -79.84375, -79.84]);
        assert_eq!(b.image_position(499)[2], 79.84);
        assert_eq!(b.image_position(94)[2], -49.76);
        // The FOV centre is the origin: the middle of the first and last centres.
        for k in [0u32, 17, 250] {
            let a = b.image_position(k)[2];
            let z = b.image_position(499 - k)[2];
            assert!((a + z).abs() < 1e-12, "{a} {z}");
        }
        // Clamping instead of panicking.
        let c = small(0, 0);
        assert_eq!((c.rows(), c.slices()), (1, 1));
        assert_eq!(c.voxel_center(0, 0, 0), [0.0, 0.0, 0.0]);
    }

    #[test]
    fn phantom_format_ds() {
        assert_eq!(format_ds(0.625), "0.625");
        assert_eq!(format_ds(-79.84375), "-79.84375");
        assert_eq!(format_ds(-80.0 + 94.5 * 0.32), "-49.76");
        assert_eq!(format_ds(160.0 / 3.0), "53.3333333333");
        assert_eq!(format_ds(-0.0), "0");
        assert_eq!(format_ds(1024.0), "1024");
        assert!(format_ds(-12345.678901234567).len() <= 16);
    }

    #[test]
    fn phantom_hu_at_known_points() {
        let p = Phantom::new(PhantomSpec::default());
        // Air: FOV corners and just above the head.
        assert_eq!(p.hu_at([79.0, 79.0, 79.0]), AIR_HU);
        assert_eq!(p.hu_at([0.0, 0.0, 76.5]), AIR_HU);
        assert_eq!(p.hu_at([70.5, 0.0, 0.0]), AIR_HU);
        // Soft tissue: centre, skin layer outside the skull, lower face.
        assert_eq!(p.hu_at([0.0, 0.0, 0.0]), SOFT_TISSUE_HU);
        assert_eq!(p.hu_at([0.0, 0.0, 74.0]), SOFT_TISSUE_HU);
        assert_eq!(p.hu_at([68.0, 0.0, 0.0]), SOFT_TISSUE_HU);
        assert_eq!(p.hu_at([0.0, 0.0, -20.0]), SOFT_TISSUE_HU);
        // Skull: 5 mm shell along each axis, cranium only.
        assert_eq!(p.hu_at([0.0, 0.0, 69.5]), SKULL_HU);
        assert_eq!(p.hu_at([63.5, 0.0, 0.0]), SKULL_HU);
        assert_eq!(p.hu_at([0.0, -69.5, 0.0]), SKULL_HU);
        assert_eq!(p.hu_at([0.0, 69.5, 0.0]), SKULL_HU);
        assert_eq!(p.hu_at([0.0, 66.5, 0.0]), SOFT_TISSUE_HU);
        assert_eq!(p.hu_at([0.0, 0.0, -69.5]), SOFT_TISSUE_HU); // no skull below z = -15
        assert_eq!(p.hu_at([63.5, 0.0, SKULL_Z_MIN]), SKULL_HU);
        assert_eq!(p.hu_at([63.5, 0.0, SKULL_Z_MIN - 0.01]), SOFT_TISSUE_HU);
        // Teeth: axis, rim, crown top, root apex.
        for tooth in TEETH {
            let [cx, cy] = tooth.center();
            assert_eq!(p.hu_at([cx, cy, -25.0]), TOOTH_HU);
            assert_eq!(p.hu_at([cx, cy, -35.0]), TOOTH_HU); // root inside the bone
            assert_eq!(p.hu_at([cx, cy, TOOTH_Z_MAX]), TOOTH_HU);
            assert_eq!(p.hu_at([cx, cy, TOOTH_Z_MAX + 0.01]), SOFT_TISSUE_HU);
            assert_eq!(p.hu_at([cx + tooth.radius - 0.01, cy, -25.0]), TOOTH_HU);
            assert_eq!(
                p.hu_at([cx, cy + tooth.radius + 0.01, -25.0]),
                SOFT_TISSUE_HU
            );
            assert_eq!(p.hu_at([cx, cy, TOOTH_Z_MIN - 0.01]), MANDIBLE_HU);
        }
        // Mandible at the arch, between teeth and beyond the last tooth.
        assert_eq!(
            p.hu_at([arch_point(0.9)[0], arch_point(0.9)[1], -32.0]),
            MANDIBLE_HU
        );
        assert_eq!(p.hu_at([0.0, -44.0, -31.0]), MANDIBLE_HU);
        assert_eq!(p.hu_at([0.0, -44.0, -29.9]), SOFT_TISSUE_HU);
        assert_eq!(p.hu_at([0.0, -44.0, -50.0]), MANDIBLE_HU);
        assert_eq!(p.hu_at([0.0, -44.0, -50.1]), SOFT_TISSUE_HU);
        // Across the band along the normal: +-5 mm.
        for t in [-0.99, -0.6, 0.0, 0.2, 0.77, 0.99] {
            let a = arch_point(t);
            let n = arch_normal(t);
            for (d, want) in [
                (4.9, MANDIBLE_HU),
                (-4.9, MANDIBLE_HU),
                (5.1, SOFT_TISSUE_HU),
                (-5.1, SOFT_TISSUE_HU),
            ] {
                let q = [a[0] + d * n[0], a[1] + d * n[1], -48.0];
                assert_eq!(p.hu_at(q), want, "t={t} d={d}");
            }
        }
        // Flat ends at t = +-1: just beyond along the tangent is soft tissue.
        for t in [-1.0, 1.0] {
            let a = arch_point(t);
            let tg = arch_tangent(t);
            let q = [a[0] + t * 0.1 * tg[0], a[1] + t * 0.1 * tg[1], -32.0];
            assert_eq!(p.hu_at(q), SOFT_TISSUE_HU);
            let q = [a[0] - t * 0.1 * tg[0], a[1] - t * 0.1 * tg[1], -32.0];
            assert_eq!(p.hu_at(q), MANDIBLE_HU);
        }
        // Marker.
        assert_eq!(p.hu_at(MARKER_CENTER), MARKER_HU);
        assert_eq!(p.hu_at([55.0, -55.0, 57.9]), MARKER_HU);
        assert_eq!(p.hu_at([55.0, -55.0, 58.1]), AIR_HU);
        assert_eq!(p.hu_at([-55.0, -55.0, 55.0]), AIR_HU); // the mirror image is empty
    }

    #[test]
    fn phantom_canal_cross_section() {
        let p = Phantom::new(PhantomSpec::default());
        for i in 1..40 {
            let t = -1.0 + f64::from(i) * 0.05;
            let c = canal_point(t);
            assert_eq!(c[2], -46.0 + 5.0 * t * t);
            assert_eq!(p.hu_at(c), CANAL_HU, "t={t}");
            assert_eq!(p.hu_at([c[0], c[1], c[2] + 1.45]), CANAL_HU);
            assert_eq!(p.hu_at([c[0], c[1], c[2] - 1.45]), CANAL_HU);
            assert_eq!(p.hu_at([c[0], c[1], c[2] + 1.55]), MANDIBLE_HU);
            assert_eq!(p.hu_at([c[0], c[1], c[2] - 1.55]), MANDIBLE_HU);
            // In the plane normal to the arch the cross-section is a disc of radius 1.5.
            let n = arch_normal(t);
            for (d, dz) in [(1.0, 1.1), (-1.0, 1.1), (1.4, 0.0), (-0.3, -1.45)] {
                let q = [c[0] + d * n[0], c[1] + d * n[1], c[2] + dz];
                assert_eq!(p.hu_at(q), CANAL_HU, "t={t} d={d} dz={dz}");
            }
            for (d, dz) in [(1.1, 1.1), (-1.1, -1.1), (1.55, 0.0), (-1.55, 0.0)] {
                let q = [c[0] + d * n[0], c[1] + d * n[1], c[2] + dz];
                assert_eq!(p.hu_at(q), MANDIBLE_HU, "t={t} d={d} dz={dz}");
            }
        }
        assert_eq!(canal_z_at_arc_length(arch_length() / 2.0), CANAL_Z_MIDLINE);
        assert!((canal_z_at_arc_length(0.0) - (CANAL_Z_MIDLINE + CANAL_RISE)).abs() < 1e-12);
    }

    #[test]
    fn phantom_arch_closest_is_exact() {
        // Points built from a foot point and a normal offset come back exactly.
        for i in 0..=200 {
            let t = -1.3 + f64::from(i) * 0.013;
            for d in [-12.0, -6.0, -1.0, 0.0, 0.5, 5.0, 20.0] {
                let a = arch_point(t);
                let n = arch_normal(t);
                let (tt, dd) = arch_closest([a[0] + d * n[0], a[1] + d * n[1]]);
                assert!((tt - t).abs() < 1e-9, "t={t} d={d}: {tt}");
                assert!((dd - d).abs() < 1e-9, "t={t} d={d}: {dd}");
            }
        }
        // Brute force against dense sampling for arbitrary points.
        let mut seed = 12345u64;
        for _ in 0..2000 {
            let px = rand_unit(&mut seed) * 160.0 - 80.0;
            let py = rand_unit(&mut seed) * 160.0 - 80.0;
            let (t, d) = arch_closest([px, py]);
            let mut best = f64::INFINITY;
            for j in 0..=40000 {
                let tt = -4.0 + f64::from(j) * 8.0 / 40000.0;
                let a = arch_point(tt);
                best = best.min(((a[0] - px).powi(2) + (a[1] - py).powi(2)).sqrt());
            }
            assert!(d.abs() <= best + 1e-9, "({px},{py}): {t} {d} vs {best}");
            assert!(best - d.abs() < 1e-2, "({px},{py}): {t} {d} vs {best}");
        }
    }

    fn rand_unit(seed: &mut u64) -> f64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*seed >> 11) as f64) / ((1u64 << 53) as f64)
    }

    #[test]
    fn phantom_arc_length_matches_numeric_integration() {
        // Composite Simpson of |c'(t)| over [-1, t].
        let speed = |t: f64| {
            let x = ARCH_HALF_WIDTH * t;
            ARCH_HALF_WIDTH * (1.0 + 4.0 * ARCH_CURVATURE * ARCH_CURVATURE * x * x).sqrt()
        };
        let simpson = |a: f64, b: f64| {
            let n = 2000;
            let h = (b - a) / f64::from(n);
            let mut s = speed(a) + speed(b);
            for i in 1..n {
                s += speed(a + h * f64::from(i)) * if i % 2 == 1 { 4.0 } else { 2.0 };
            }
            s * h / 3.0
        };
        for t in [-1.0, -0.7, -0.11, 0.0, 0.3, 0.68, 1.0] {
            let want = simpson(-1.0, t);
            assert!((arch_arc_length(t) - want).abs() < 1e-9, "t={t}");
        }
        // Closed form of the total length, and a fine polyline.
        let l = arch_length();
        assert!((l - (78.0 + 12.5 * 5f64.ln())).abs() < 1e-12, "{l}");
        assert!((l - 98.117_973_905).abs() < 1e-8);
        let mut poly = 0.0;
        let mut prev = arch_point(-1.0);
        for i in 1..=100_000 {
            let a = arch_point(-1.0 + f64::from(i) * 2e-5);
            poly += ((a[0] - prev[0]).powi(2) + (a[1] - prev[1]).powi(2)).sqrt();
            prev = a;
        }
        assert!((poly - l).abs() < 1e-6);
        assert_eq!(arch_arc_length(-1.0), 0.0);
        assert!((arch_arc_length(0.0) - l / 2.0).abs() < 1e-12);
        // Inverse.
        for i in 0..=50 {
            let s = -5.0 + f64::from(i) * (l + 10.0) / 50.0;
            let t = arch_t_at_arc_length(s);
            assert!((arch_arc_length(t) - s).abs() < 1e-9, "s={s}");
        }
        assert_eq!(arch_t_at_arc_length(l / 2.0), 0.0);
    }

    #[test]
    fn phantom_geometry_is_consistent() {
        let p = Phantom::new(PhantomSpec::default());
        // Teeth: inside the band, not overlapping each other, clear of the canal.
        for w in TEETH.windows(2) {
            let (a, b) = (w[0].center(), w[1].center());
            let gap =
                ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt() - w[0].radius - w[1].radius;
            assert!(gap > 2.0 && gap < 3.0, "gap {gap}");
            assert!(w[0].arc_length() < w[1].arc_length());
        }
        for tooth in TEETH {
            assert!(tooth.radius < MANDIBLE_HALF_THICKNESS);
            assert!(tooth.t.abs() < 1.0);
            let top_of_canal = canal_z(tooth.t) + CANAL_RADIUS;
            assert!(TOOTH_Z_MIN - top_of_canal > 4.0);
            assert!(tooth.contains([tooth.center()[0], tooth.center()[1], -30.0]));
        }
        // Canal within the band vertically everywhere.
        assert!(canal_z(0.0) - CANAL_RADIUS > MANDIBLE_Z_MIN + 2.0);
        assert!(canal_z(1.0) + CANAL_RADIUS < TOOTH_Z_MIN);
        // All jaw and teeth points are inside the head; the marker is in the air.
        for i in 0..=100 {
            let t = -1.0 + f64::from(i) * 0.02;
            let a = arch_point(t);
            let n = arch_normal(t);
            for d in [-5.0, 5.0] {
                for z in [MANDIBLE_Z_MIN, TOOTH_Z_MAX] {
                    let q = [a[0] + d * n[0], a[1] + d * n[1], z];
                    assert!(in_ellipsoid(HEAD_SEMI_AXES, q[0], q[1], q[2]), "{q:?}");
                    assert!(
                        !in_ellipsoid(SKULL_OUTER_SEMI_AXES, q[0], q[1], q[2]) || z < SKULL_Z_MIN
                    );
                }
            }
        }
        for dir in [
            [1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, 0.0, 1.0],
            [-0.57, 0.57, -0.57],
        ] {
            let q = [
                MARKER_CENTER[0] + MARKER_RADIUS * dir[0],
                MARKER_CENTER[1] + MARKER_RADIUS * dir[1],
                MARKER_CENTER[2] + MARKER_RADIUS * dir[2],
            ];
            assert!(!in_ellipsoid(HEAD_SEMI_AXES, q[0], q[1], q[2]));
            assert!(q.iter().all(|v| v.abs() < FOV_MM / 2.0));
        }
        // Head inside the FOV with air around it.
        assert!(HEAD_SEMI_AXES.iter().all(|a| *a < FOV_MM / 2.0 - 3.0));
        assert_eq!(p.hu_at([0.0, -44.0, -40.0]), MANDIBLE_HU);
    }

    #[test]
    fn phantom_tooth_arc_intervals() {
        let p = Phantom::new(PhantomSpec::default());
        let l = arch_length();
        for (i, tooth) in TEETH.iter().enumerate() {
            let [s0, s1] = tooth.arc_interval();
            let s = tooth.arc_length();
            assert!(s0 < s && s < s1);
            assert!((s - s0 - tooth.radius).abs() < 0.1 && (s1 - s - tooth.radius).abs() < 0.1);
            // Mirror symmetry of the arc positions.
            let m = TEETH[7 - i].arc_interval();
            assert!((s0 - (l - m[1])).abs() < 1e-9 && (s1 - (l - m[0])).abs() < 1e-9);
            for (sv, eps, want) in [(s0, 1e-6, TOOTH_HU), (s1, -1e-6, TOOTH_HU)] {
                let a = arch_point(arch_t_at_arc_length(sv + eps));
                assert_eq!(p.hu_at([a[0], a[1], -25.0]), want);
                let a = arch_point(arch_t_at_arc_length(sv - eps));
                assert_eq!(p.hu_at([a[0], a[1], -25.0]), SOFT_TISSUE_HU);
            }
        }
    }

    #[test]
    fn phantom_symmetric_about_midsagittal_plane() {
        let p = Phantom::new(PhantomSpec::default());
        let mut seed = 99u64;
        let mut checked = 0;
        while checked < 200_000 {
            let q = [
                rand_unit(&mut seed) * 160.0 - 80.0,
                rand_unit(&mut seed) * 160.0 - 80.0,
                rand_unit(&mut seed) * 160.0 - 80.0,
            ];
            if q[2] > 45.0 {
                continue; // marker slab
            }
            assert_eq!(p.hu_at(q), p.hu_at([-q[0], q[1], q[2]]), "{q:?}");
            checked += 1;
        }
        // Stored slices: exact mirror images (64 columns: centres are exact binary numbers).
        let s = small(64, 40);
        let mut buf = Vec::new();
        for k in 0..40 {
            s.slice_stored(k, &mut buf);
            let has_marker = buf.contains(&stored_from_hu(MARKER_HU));
            let mut mirrored = true;
            for row in buf.chunks_exact(64) {
                for c in 0..64 {
                    mirrored &= row[c] == row[63 - c];
                }
            }
            assert_eq!(mirrored, !has_marker, "slice {k}");
        }
    }

    #[test]
    fn phantom_slices_equal_analytic_hu_at_every_voxel() {
        for (size, slices) in [(64, 64), (37, 23), (100, 160), (3, 2)] {
            let p = small(size, slices);
            let mut buf = Vec::new();
            let mut counts = std::collections::BTreeMap::new();
            for k in 0..slices {
                p.slice_stored(k, &mut buf);
                assert_eq!(buf.len(), (size * size) as usize);
                for r in 0..size {
                    for c in 0..size {
                        let want = stored_from_hu(p.hu_at(p.voxel_center(c, r, k)));
                        let got = buf[(r * size + c) as usize];
                        assert_eq!(got, want, "{size}x{slices} voxel ({c},{r},{k})");
                        *counts.entry(got).or_insert(0u32) += 1;
                    }
                }
            }
            if size >= 64 {
                for hu in [
                    AIR_HU,
                    SOFT_TISSUE_HU,
                    SKULL_HU,
                    MANDIBLE_HU,
                    TOOTH_HU,
                    CANAL_HU,
                    MARKER_HU,
                ] {
                    assert!(
                        counts.contains_key(&stored_from_hu(hu)),
                        "{size}: {hu} missing"
                    );
                }
            }
        }
        assert_eq!(stored_from_hu(AIR_HU), 24);
        assert_eq!(stored_from_hu(MARKER_HU), 4024);
        assert_eq!(stored_from_hu(1e9), i16::MAX);
    }

    #[test]
    fn phantom_marker_voxel_is_left_anterior_superior() {
        let p = Phantom::new(PhantomSpec::default());
        // Nearest voxel to the marker centre, from the documented grid formula.
        let dx = p.pixel_spacing()[1];
        let ipp0 = p.image_position(0);
        let col = ((MARKER_CENTER[0] - ipp0[0]) / dx).round() as u32;
        let row = ((MARKER_CENTER[1] - ipp0[1]) / dx).round() as u32;
        let slice = ((MARKER_CENTER[2] - ipp0[2]) / p.slice_spacing()).round() as u32;
        assert_eq!((col, row, slice), (216, 40, 216));
        assert!(col > 128 && row < 128 && slice > 128); // left, anterior, superior
        let mut buf = Vec::new();
        p.slice_stored(slice, &mut buf);
        assert_eq!(buf[(row * 256 + col) as usize], stored_from_hu(MARKER_HU));
        // Centroid and volume of all marker voxels.
        let (mut n, mut sum) = (0u32, [0.0f64; 3]);
        for k in 0..256 {
            p.slice_stored(k, &mut buf);
            for (i, v) in buf.iter().enumerate() {
                if *v == stored_from_hu(MARKER_HU) {
                    let c = p.voxel_center(i as u32 % 256, i as u32 / 256, k);
                    n += 1;
                    for a in 0..3 {
                        sum[a] += c[a];
                    }
                }
            }
        }
        for a in 0..3 {
            assert!((sum[a] / f64::from(n) - MARKER_CENTER[a]).abs() < 1e-6);
        }
        let volume = f64::from(n) * dx * dx * p.slice_spacing();
        let sphere = 4.0 / 3.0 * PI * MARKER_RADIUS.powi(3);
        assert!((volume / sphere - 1.0).abs() < 0.05, "{volume} vs {sphere}");
    }

    #[test]
    fn phantom_tooth_and_canal_voxels_where_documented() {
        let p = small(512, 500);
        let mut buf = Vec::new();
        let dx = p.pixel_spacing()[1];
        let ipp0 = p.image_position(0);
        let idx = |q: [f64; 3]| {
            (
                ((q[0] - ipp0[0]) / dx).round() as u32,
                ((q[1] - ipp0[1]) / dx).round() as u32,
                ((q[2] - ipp0[2]) / p.slice_spacing()).round() as u32,
            )
        };
        for tooth in TEETH {
            let [cx, cy] = tooth.center();
            let (c, r, k) = idx([cx, cy, -25.0]);
            p.slice_stored(k, &mut buf);
            assert_eq!(buf[(r * 512 + c) as usize], stored_from_hu(TOOTH_HU));
        }
        for t in [-0.9, -0.4, 0.0, 0.6] {
            let (c, r, k) = idx(canal_point(t));
            p.slice_stored(k, &mut buf);
            assert_eq!(
                buf[(r * 512 + c) as usize],
                stored_from_hu(CANAL_HU),
                "t={t}"
            );
        }
    }
}
