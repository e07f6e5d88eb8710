//! The browser-facing API of Lucent: a thin wasm-bindgen mapping over `viewer_core::Library`.
//!
//! This crate owns no logic. It maps arguments, hands out the library as an opaque handle, exposes the
//! RGBA buffer as a pointer + length into wasm memory (JS wraps it without copying) and turns core errors
//! into JS `Error`s carrying a stable `code`. The contract is written down in `docs/wasm-api.md`.

mod mpr;
mod pano;

use viewer_core::window::Voi;
use viewer_core::{Error, Library as CoreLibrary, RgbaImage, Window};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(message: &str);
}

/// A panic is a bug, never an error path: say what panicked before the trap, so the worker that restarts
/// the module can report something better than "unreachable".
#[wasm_bindgen(start)]
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        console_error(&format!("lucent panic: {info}"))
    }));
}

/// The crate version, so the page can show what it runs.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// A JS `Error` whose `code` is the core's stable machine-readable code and whose message is its sentence.
fn js_error(error: Error) -> JsValue {
    let js = js_sys::Error::new(&error.to_string());
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(&js, &"code".into(), &error.code().as_str().into());
    if let Some(file) = error.file() {
        let _ = js_sys::Reflect::set(&js, &"file".into(), &file.into());
    }
    js.into()
}

fn json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    // Serialising our own plain structs to a String has no failure mode but a bug.
    serde_json::to_string(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// One file's stored values, normalised exactly as `lucent decode` writes them (see the corpus README):
/// used to check that the wasm build decodes every file to the same bytes as the native one.
#[wasm_bindgen]
pub struct Normalized {
    inner: viewer_core::decode::Normalized,
}

#[wasm_bindgen]
impl Normalized {
    /// "u1", "i2", ... as in the corpus's `ref_dtype` without the byte-order mark.
    pub fn dtype(&self) -> String {
        self.inner.dtype.to_owned()
    }

    /// frames, rows, columns[, samples]
    pub fn shape(&self) -> Vec<u32> {
        self.inner
            .shape
            .iter()
            .map(|&d| u32::try_from(d).unwrap_or(u32::MAX))
            .collect()
    }

    /// Little-endian values of every frame (a copy into JS memory).
    pub fn bytes(&self) -> Vec<u8> {
        self.inner.bytes.clone()
    }
}

/// Parses and decodes a whole file to its normalised stored values.
#[wasm_bindgen(js_name = normalizeFile)]
pub fn normalize_file(path: &str, bytes: Vec<u8>) -> Result<Normalized, JsValue> {
    let instance = viewer_core::ingest::read_instance(path, bytes).map_err(js_error)?;
    viewer_core::decode::normalize_all(&instance)
        .map(|inner| Normalized { inner })
        .map_err(js_error)
}

/// Every file of one study session, and the RGBA buffer the viewport is rendered into.
#[wasm_bindgen]
pub struct Library {
    inner: CoreLibrary,
    rgba: RgbaImage,
}

#[wasm_bindgen]
impl Library {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Library {
        Library {
            inner: CoreLibrary::new(),
            rgba: RgbaImage::default(),
        }
    }

    /// Adds one file; never throws for bad input. Returns the file's report as JSON.
    #[wasm_bindgen(js_name = addFile)]
    pub fn add_file(&mut self, path: &str, bytes: Vec<u8>) -> String {
        json(&self.inner.add_file(path, bytes))
    }

    #[wasm_bindgen(js_name = reportJson)]
    pub fn report_json(&self) -> String {
        json(self.inner.report())
    }

    #[wasm_bindgen(js_name = treeJson)]
    pub fn tree_json(&self) -> String {
        json(&self.inner.tree())
    }

    #[wasm_bindgen(js_name = seriesCount)]
    pub fn series_count(&self) -> usize {
        self.inner.series_count()
    }

    #[wasm_bindgen(js_name = sliceCount)]
    pub fn slice_count(&self, series: usize) -> Result<usize, JsValue> {
        self.inner.slice_count(series).map_err(js_error)
    }

    #[wasm_bindgen(js_name = sliceInfoJson)]
    pub fn slice_info_json(&self, series: usize, slice: usize) -> Result<String, JsValue> {
        self.inner
            .slice_info(series, slice)
            .map(|info| json(&info))
            .map_err(js_error)
    }

    /// `[center, width]` in modality units: the file's first window, else the data range.
    #[wasm_bindgen(js_name = defaultWindow)]
    pub fn default_window(&mut self, series: usize, slice: usize) -> Result<Vec<f64>, JsValue> {
        let window = self.inner.default_window(series, slice).map_err(js_error)?;
        Ok(vec![window.center, window.width])
    }

    /// The VOI of a slice as JSON `{center, width, lut, label}`: VOI LUT `lut` when given, else the slice's
    /// default (the file's window, else its first VOI LUT, else the data range). `lut` is `null` for a
    /// linear window; for a VOI LUT, `center`/`width` are the linear window over the inputs it maps.
    #[wasm_bindgen(js_name = voiJson)]
    pub fn voi_json(
        &mut self,
        series: usize,
        slice: usize,
        lut: Option<u32>,
    ) -> Result<String, JsValue> {
        self.inner
            .voi_choice(series, slice, lut.map(|i| i as usize))
            .map(|v| json(&v))
            .map_err(js_error)
    }

    /// Renders one slice at 1:1 with the file's VOI LUT `lut` (an index into the slice info's `voi_luts`).
    #[wasm_bindgen(js_name = renderVoiLut)]
    pub fn render_voi_lut(&mut self, series: usize, slice: usize, lut: u32) -> Result<(), JsValue> {
        self.inner
            .render_voi(series, slice, Voi::Lut(lut as usize), &mut self.rgba)
            .map_err(js_error)
    }

    /// Renders one slice at 1:1 into the library-owned RGBA buffer (see `rgbaPtr`).
    pub fn render(
        &mut self,
        series: usize,
        slice: usize,
        center: f64,
        width: f64,
    ) -> Result<(), JsValue> {
        self.inner
            .render(series, slice, Window { center, width }, &mut self.rgba)
            .map_err(js_error)
    }

    #[wasm_bindgen(js_name = rgbaPtr)]
    pub fn rgba_ptr(&self) -> *const u8 {
        self.rgba.data.as_ptr()
    }

    #[wasm_bindgen(js_name = rgbaLen)]
    pub fn rgba_len(&self) -> usize {
        self.rgba.data.len()
    }

    #[wasm_bindgen(js_name = renderWidth)]
    pub fn render_width(&self) -> u32 {
        self.rgba.width
    }

    #[wasm_bindgen(js_name = renderHeight)]
    pub fn render_height(&self) -> u32 {
        self.rgba.height
    }

    /// Decodes every slice of a series once; returns how many decoded. Failures go to the report.
    #[wasm_bindgen(js_name = decodeSeries)]
    pub fn decode_series(&mut self, series: usize) -> Result<usize, JsValue> {
        self.inner.decode_series(series).map_err(js_error)
    }

    /// Decodes slices `start .. start + count` (clamped); returns how many decoded. Lets the page show
    /// progress and keep rendering between chunks of a long series.
    #[wasm_bindgen(js_name = decodeSlices)]
    pub fn decode_slices(
        &mut self,
        series: usize,
        start: usize,
        count: usize,
    ) -> Result<usize, JsValue> {
        self.inner
            .decode_slices(series, start, count)
            .map_err(js_error)
    }
}

impl Default for Library {
    fn default() -> Self {
        Self::new()
    }
}
