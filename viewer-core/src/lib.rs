//! Lucent core: DICOM ingest, pixel decode, window/level and rendering.
//!
//! Pure Rust, builds for native targets and `wasm32-unknown-unknown`.
//! Only [`ingest`] and [`decode`] touch dicom-rs. [`volume`] builds a series' volume, [`mpr`] reslices it
//! and [`measure`] measures on it in patient millimetres.

pub mod decode;
pub mod error;
pub mod ingest;
pub mod library;
pub mod measure;
pub mod mpr;
pub mod pano;
pub mod phantom;
pub mod render;
#[cfg(feature = "share")]
pub mod share;
pub mod volume;
pub mod window;

pub use error::{Error, ErrorCode};
pub use library::Library;
pub use render::RgbaImage;
pub use volume::Volume;
pub use window::Window;
