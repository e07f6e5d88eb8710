//! Dental reformats over a series' volume: the arch's focal curve, the panoramic and the cross-section strip
//! rendered into a pane-owned RGBA buffer, a proposed arch, and the geometry the page needs to draw and map
//! clicks (panoramic <-> patient, section planes, distance to a canal polyline). Arguments are mapped, nothing
//! more; the conventions are `viewer_core::pano`'s (module docs). An arch is passed as its JSON text
//! (`{"points": [[x,y,z], ...], "up": [x,y,z]}` or a saved dental file holding one under "arch").

use viewer_core::pano::{self, Arch, Curve, PanoView, Sections};
use viewer_core::{Error, Window};
use wasm_bindgen::prelude::*;

use crate::mpr::{mode_from, vec3, Pane};
use crate::{js_error, json, Library};

fn curve_of(arch_json: &str, shift_mm: f64) -> Result<Curve, Error> {
    Arch::from_json(arch_json)?.curve(shift_mm)
}

fn number(values: &[f64], at: usize, what: &str) -> Result<f64, Error> {
    values
        .get(at)
        .copied()
        .filter(|v| v.is_finite())
        .ok_or_else(|| Error::invalid_argument(format!("{what} missing or not a number")))
}

fn pixels(values: &[f64], at: usize, what: &str) -> Result<u32, Error> {
    let v = number(values, at, what)?;
    if (1.0..=16384.0).contains(&v) && v.fract() == 0.0 {
        Ok(v as u32)
    } else {
        Err(Error::invalid_argument(format!(
            "{what} {v}: expected a whole number from 1 to 16384"
        )))
    }
}

/// `[at_mm, spacing_mm, count, tile_width, tile_height, pixel_mm, center_h, shift_mm, slab_mm]`.
fn sections_from(params: &[f64], mode: &str) -> Result<(Sections, f64), Error> {
    let count = number(params, 2, "section count")?;
    if !(1.0..=f64::from(pano::MAX_SECTIONS)).contains(&count) || count.fract() != 0.0 {
        return Err(Error::invalid_argument(format!(
            "section count {count}: expected 1 to {}",
            pano::MAX_SECTIONS
        )));
    }
    Ok((
        Sections {
            at_mm: number(params, 0, "section position")?,
            spacing_mm: number(params, 1, "section spacing")?,
            count: count as u32,
            tile_width: pixels(params, 3, "tile width")?,
            tile_height: pixels(params, 4, "tile height")?,
            pixel_mm: number(params, 5, "pixel size")?,
            center_h: number(params, 6, "section height")?,
            slab_mm: number(params, 8, "section slab")?,
            mode: mode_from(mode)?,
        },
        number(params, 7, "focal shift")?,
    ))
}

fn points_from(flat: &[f64]) -> Result<Vec<[f64; 3]>, Error> {
    if !flat.len().is_multiple_of(3) || flat.len() / 3 > pano::MAX_POINTS {
        return Err(Error::invalid_argument(format!(
            "a polyline is 3 numbers per point, at most {} points",
            pano::MAX_POINTS
        )));
    }
    (0..flat.len() / 3)
        .map(|i| vec3(flat, 3 * i, "polyline point"))
        .collect()
}

#[wasm_bindgen]
impl Library {
    /// An arch (JSON) proposed from the bone of the axial slab of `slab_mm` centred at patient z `z_center`
    /// of a series' volume (built first).
    #[wasm_bindgen(js_name = proposeArchJson)]
    pub fn propose_arch_json(
        &self,
        series: usize,
        z_center: f64,
        slab_mm: f64,
    ) -> Result<String, JsValue> {
        let run = || -> Result<String, Error> {
            let volume = self.volume_of(series)?;
            Ok(json(&pano::propose_arch(volume, z_center, slab_mm, None)?))
        };
        run().map_err(js_error)
    }
}

/// The focal curve of an arch moved by `shift_mm` (buccal positive), sampled every `step_mm` (>= 0.05):
/// `{"length_mm", "up", "samples": [[s, px, py, pz, nx, ny, nz, tx, ty, tz], ...]}`.
#[wasm_bindgen(js_name = archCurveJson)]
pub fn arch_curve_json(arch_json: &str, shift_mm: f64, step_mm: f64) -> Result<String, JsValue> {
    let run = || -> Result<String, Error> {
        let curve = curve_of(arch_json, shift_mm)?;
        let samples: Vec<[f64; 10]> = curve
            .resampled(step_mm)
            .iter()
            .map(|c| {
                let (p, n, t) = (c.point, c.normal, c.tangent);
                [c.s, p[0], p[1], p[2], n[0], n[1], n[2], t[0], t[1], t[2]]
            })
            .collect();
        Ok(json(&serde_json::json!({
            "length_mm": curve.length(),
            "up": curve.up(),
            "samples": samples,
        })))
    };
    run().map_err(js_error)
}

/// The patient point `[x, y, z]` at arc length `s` and height `h` on the focal surface.
#[wasm_bindgen(js_name = panoToWorld)]
pub fn pano_to_world(arch_json: &str, shift_mm: f64, s: f64, h: f64) -> Result<Vec<f64>, JsValue> {
    let run = || -> Result<Vec<f64>, Error> {
        let curve = curve_of(arch_json, shift_mm)?;
        curve
            .to_world(s, h)
            .filter(|_| h.is_finite())
            .map(|p| p.to_vec())
            .ok_or_else(|| {
                Error::invalid_argument(format!(
                    "arc length {s} mm is off the curve (0 to {:.2} mm)",
                    curve.length()
                ))
            })
    };
    run().map_err(js_error)
}

/// `[s, h, d]` of a patient point: its nearest point on the focal surface and its distance from it.
#[wasm_bindgen(js_name = worldToPano)]
pub fn world_to_pano(arch_json: &str, shift_mm: f64, point: &[f64]) -> Result<Vec<f64>, JsValue> {
    let run = || -> Result<Vec<f64>, Error> {
        let curve = curve_of(arch_json, shift_mm)?;
        Ok(curve.project(vec3(point, 0, "point")?).to_vec())
    };
    run().map_err(js_error)
}

/// The planes of a strip of cross-sections (params as in `Pane.renderSections`): 9 numbers per section
/// (centre, right, down); NaN for a section whose position is off the curve.
#[wasm_bindgen(js_name = sectionPlanes)]
pub fn section_planes(arch_json: &str, params: &[f64]) -> Result<Vec<f64>, JsValue> {
    let run = || -> Result<Vec<f64>, Error> {
        let (sections, shift) = sections_from(params, "avg")?;
        let curve = curve_of(arch_json, shift)?;
        Ok(sections
            .planes(&curve)?
            .iter()
            .flat_map(|p| match p {
                Some(p) => [p.center, p.right, p.down].concat(),
                None => vec![f64::NAN; 9],
            })
            .collect())
    };
    run().map_err(js_error)
}

/// Distance from a point to a polyline (flat xyz): `{"distance_mm", "closest": [x, y, z]}`.
#[wasm_bindgen(js_name = polylineDistanceJson)]
pub fn polyline_distance_json(points: &[f64], point: &[f64]) -> Result<String, JsValue> {
    let run = || -> Result<String, Error> {
        let (d, q) = pano::polyline_distance(&points_from(points)?, vec3(point, 0, "point")?)
            .ok_or_else(|| Error::invalid_argument("the polyline has no points"))?;
        Ok(json(&serde_json::json!({ "distance_mm": d, "closest": q })))
    };
    run().map_err(js_error)
}

/// The panoramic and the cross-section strip render into a [`Pane`] like an MPR view (one pane each).
#[wasm_bindgen]
impl Pane {
    /// Renders a panoramic: `view` = `[center_s, center_h, width, height, pixel_mm, shift_mm, slab_mm]`,
    /// `mode` = avg | mip | minip, window in modality units.
    #[wasm_bindgen(js_name = renderPano)]
    #[allow(clippy::too_many_arguments)]
    pub fn render_pano(
        &mut self,
        library: &Library,
        series: usize,
        arch_json: &str,
        view: &[f64],
        mode: &str,
        center: f64,
        width: f64,
    ) -> Result<(), JsValue> {
        let mut run = || -> Result<(), Error> {
            let volume = library.volume_of(series)?;
            let curve = curve_of(arch_json, number(view, 5, "focal shift")?)?;
            let pano_view = PanoView {
                center_s: number(view, 0, "arc position")?,
                center_h: number(view, 1, "height")?,
                width: pixels(view, 2, "width")?,
                height: pixels(view, 3, "height")?,
                pixel_mm: number(view, 4, "pixel size")?,
                slab_mm: number(view, 6, "slab thickness")?,
                mode: mode_from(mode)?,
            };
            pano::render_pano(
                volume,
                &curve,
                &pano_view,
                Window { center, width },
                &mut self.scratch,
                &mut self.rgba,
            )
        };
        run().map_err(js_error)
    }

    /// Renders a strip of cross-sections: `params` = `[at_mm, spacing_mm, count, tile_width, tile_height,
    /// pixel_mm, center_h, shift_mm, slab_mm]`; tiles side by side, `count * tile_width` pixels wide.
    #[wasm_bindgen(js_name = renderSections)]
    #[allow(clippy::too_many_arguments)]
    pub fn render_sections(
        &mut self,
        library: &Library,
        series: usize,
        arch_json: &str,
        params: &[f64],
        mode: &str,
        center: f64,
        width: f64,
    ) -> Result<(), JsValue> {
        let mut run = || -> Result<(), Error> {
            let volume = library.volume_of(series)?;
            let (sections, shift) = sections_from(params, mode)?;
            let curve = curve_of(arch_json, shift)?;
            pano::render_sections(
                volume,
                &curve,
                &sections,
                Window { center, width },
                &mut self.scratch,
                &mut self.rgba,
            )
        };
        run().map_err(js_error)
    }
}
