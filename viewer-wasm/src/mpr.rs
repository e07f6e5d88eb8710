//! MPR over a series' volume: building the volume, rendering panes into pane-owned RGBA buffers, and the
//! measurements a pane needs (ROI statistics, probe, distance, angle). Arguments are mapped, nothing more.

use viewer_core::measure::{self, RoiShape};
use viewer_core::mpr::{self, Plane, SlabMode, View};
use viewer_core::volume::build::BuildOptions;
use viewer_core::{Error, RgbaImage, Window};
use wasm_bindgen::prelude::*;

use crate::{js_error, json, Library};

pub(crate) fn vec3(values: &[f64], at: usize, what: &str) -> Result<[f64; 3], Error> {
    match values.get(at..at + 3) {
        Some(&[x, y, z]) if x.is_finite() && y.is_finite() && z.is_finite() => Ok([x, y, z]),
        _ => Err(Error::invalid_argument(format!(
            "{what}: expected three finite numbers at {at}"
        ))),
    }
}

/// `[cx, cy, cz, rx, ry, rz, dx, dy, dz]`: a plane's centre, right and down directions.
fn plane_from(values: &[f64]) -> Result<Plane, Error> {
    Ok(Plane {
        center: vec3(values, 0, "plane centre")?,
        right: vec3(values, 3, "plane right")?,
        down: vec3(values, 6, "plane down")?,
    })
}

pub(crate) fn mode_from(mode: &str) -> Result<SlabMode, Error> {
    match mode {
        "mip" => Ok(SlabMode::Mip),
        "minip" => Ok(SlabMode::MinIp),
        "avg" | "average" => Ok(SlabMode::Average),
        other => Err(Error::invalid_argument(format!(
            "slab mode '{other}': expected mip, minip or avg"
        ))),
    }
}

/// `[plane (9 numbers), width, height, pixel_mm, slab_mm]` and a slab mode.
fn view_from(values: &[f64], mode: &str) -> Result<View, Error> {
    let plane = plane_from(values)?;
    let number = |at: usize, what: &str| {
        values
            .get(at)
            .copied()
            .filter(|v| v.is_finite())
            .ok_or_else(|| Error::invalid_argument(format!("view {what} missing")))
    };
    let size = |at: usize, what: &str| -> Result<u32, Error> {
        let v = number(at, what)?;
        if (1.0..=16384.0).contains(&v) && v.fract() == 0.0 {
            Ok(v as u32)
        } else {
            Err(Error::invalid_argument(format!(
                "view {what} {v}: expected a whole number of pixels"
            )))
        }
    };
    Ok(View {
        plane,
        width: size(9, "width")?,
        height: size(10, "height")?,
        pixel_mm: number(11, "pixel size")?,
        slab_mm: number(12, "slab thickness")?,
        mode: mode_from(mode)?,
    })
}

#[wasm_bindgen]
impl Library {
    /// Builds (once) the volume of a series, releasing its files' pixel bytes as they are decoded into it.
    /// `max_voxel_bytes` bounds the volume (the page passes what it can afford); `downsample` 1 = full
    /// resolution, 2 = every second column, row and slice. Returns the volume's summary as JSON.
    #[wasm_bindgen(js_name = buildVolume)]
    pub fn build_volume(
        &mut self,
        series: usize,
        max_voxel_bytes: f64,
        downsample: u32,
    ) -> Result<String, JsValue> {
        let options = BuildOptions {
            max_voxel_bytes: if max_voxel_bytes.is_finite() && max_voxel_bytes > 0.0 {
                max_voxel_bytes as u64
            } else {
                BuildOptions::default().max_voxel_bytes
            },
            downsample: downsample.max(1),
        };
        self.inner
            .build_volume(series, &options)
            .map(|volume| json(&volume.summary()))
            .map_err(js_error)
    }

    /// Summary JSON of a series' volume, or an empty string when none was built.
    #[wasm_bindgen(js_name = volumeJson)]
    pub fn volume_json(&self, series: usize) -> String {
        self.inner
            .volume(series)
            .map(|v| json(&v.summary()))
            .unwrap_or_default()
    }

    /// Statistics (JSON) of a rectangle or ellipse drawn on a plane (9 numbers, see `Pane.render`),
    /// given by two opposite corners in patient coordinates.
    #[wasm_bindgen(js_name = roiStatsJson)]
    pub fn roi_stats_json(
        &self,
        series: usize,
        plane: &[f64],
        shape: &str,
        corner_a: &[f64],
        corner_b: &[f64],
    ) -> Result<String, JsValue> {
        let run = || -> Result<String, Error> {
            let volume = self.volume_of(series)?;
            let shape = match shape {
                "rectangle" => RoiShape::Rectangle,
                "ellipse" => RoiShape::Ellipse,
                other => {
                    return Err(Error::invalid_argument(format!(
                        "ROI shape '{other}': expected rectangle or ellipse"
                    )))
                }
            };
            let stats = measure::roi_stats(
                volume,
                &plane_from(plane)?,
                shape,
                vec3(corner_a, 0, "corner a")?,
                vec3(corner_b, 0, "corner b")?,
            )?;
            Ok(json(&stats))
        };
        run().map_err(js_error)
    }

    /// Value (modality units, trilinear) and voxel coordinates at a patient point, as JSON.
    #[wasm_bindgen(js_name = probeJson)]
    pub fn probe_json(&self, series: usize, point: &[f64]) -> Result<String, JsValue> {
        let run = || -> Result<String, Error> {
            let volume = self.volume_of(series)?;
            Ok(json(&measure::probe(volume, vec3(point, 0, "point")?)?))
        };
        run().map_err(js_error)
    }

    pub(crate) fn volume_of(&self, series: usize) -> Result<&viewer_core::Volume, Error> {
        self.inner.volume(series).ok_or_else(|| {
            Error::invalid_argument(format!("series {series} has no volume: build it first"))
        })
    }
}

/// One pane (MPR, panoramic or cross-section strip): its own RGBA buffer (reused across renders) and reslice
/// scratch space.
#[wasm_bindgen]
#[derive(Default)]
pub struct Pane {
    pub(crate) rgba: RgbaImage,
    pub(crate) scratch: Vec<f32>,
}

#[wasm_bindgen]
impl Pane {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Pane {
        Pane::default()
    }

    /// Renders a view of a series' volume: `view` = `[cx, cy, cz, rx, ry, rz, dx, dy, dz, width, height,
    /// pixel_mm, slab_mm]` (patient mm; right/down are the screen directions), `mode` = mip | minip | avg,
    /// window in modality units.
    pub fn render(
        &mut self,
        library: &Library,
        series: usize,
        view: &[f64],
        mode: &str,
        center: f64,
        width: f64,
    ) -> Result<(), JsValue> {
        let mut run = || -> Result<(), Error> {
            let volume = library.volume_of(series)?;
            let view = view_from(view, mode)?;
            mpr::render(
                volume,
                &view,
                Window { center, width },
                &mut self.scratch,
                &mut self.rgba,
            )
        };
        run().map_err(js_error)
    }

    #[wasm_bindgen(js_name = rgbaPtr)]
    pub fn rgba_ptr(&self) -> *const u8 {
        self.rgba.data.as_ptr()
    }

    #[wasm_bindgen(js_name = rgbaLen)]
    pub fn rgba_len(&self) -> usize {
        self.rgba.data.len()
    }

    pub fn width(&self) -> u32 {
        self.rgba.width
    }

    pub fn height(&self) -> u32 {
        self.rgba.height
    }
}

/// Orientation letters (JSON `{left, right, top, bottom}`) for a plane given as 9 numbers.
#[wasm_bindgen(js_name = planeLabelsJson)]
pub fn plane_labels_json(plane: &[f64]) -> Result<String, JsValue> {
    plane_from(plane)
        .map(|p| json(&mpr::labels(&p)))
        .map_err(js_error)
}

/// Distance in mm between two patient points.
#[wasm_bindgen(js_name = distanceMm)]
pub fn distance_mm(a: &[f64], b: &[f64]) -> Result<f64, JsValue> {
    Ok(measure::distance_mm(
        vec3(a, 0, "a").map_err(js_error)?,
        vec3(b, 0, "b").map_err(js_error)?,
    ))
}

/// Angle in degrees at `vertex` between the rays to `a` and `b`.
#[wasm_bindgen(js_name = angleDeg)]
pub fn angle_deg(a: &[f64], vertex: &[f64], b: &[f64]) -> Result<f64, JsValue> {
    Ok(measure::angle_deg(
        vec3(a, 0, "a").map_err(js_error)?,
        vec3(vertex, 0, "vertex").map_err(js_error)?,
        vec3(b, 0, "b").map_err(js_error)?,
    ))
}
