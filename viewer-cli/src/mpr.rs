//! `lucent mpr` and `lucent measure`: a series' volume, resliced or measured by the same core calls the
//! browser's MPR panes make, so `lucent mpr` with a pane's view writes exactly the pixels that pane shows.

use std::path::{Path, PathBuf};

use viewer_core::measure;
use viewer_core::mpr::{self, Plane, SlabMode, View};
use viewer_core::volume::build::BuildOptions;
use viewer_core::{Library, RgbaImage, Volume};

use crate::{files_under, parse_window, read, write_png, Args};

/// Pixels on the longer side of the output when --size is not given.
const DEFAULT_SIZE: u32 = 512;

pub(crate) fn vec3(name: &str, value: &str) -> Result<[f64; 3], String> {
    let bad = || format!("{name} expects X,Y,Z (three numbers, mm), got '{value}'");
    let parts: Vec<f64> = value
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    match parts.as_slice() {
        &[x, y, z] if x.is_finite() && y.is_finite() && z.is_finite() => Ok([x, y, z]),
        _ => Err(bad()),
    }
}

/// Reads every file under DIR and builds the volume of one series (`--series N`, else the series with the
/// most slices).
pub(crate) fn load_volume(args: &Args) -> Result<(Library, usize), String> {
    let root = args.one_path("DIR")?;
    let mut library = Library::new();
    for file in files_under(&root)? {
        let name = file
            .strip_prefix(&root)
            .unwrap_or(&file)
            .display()
            .to_string();
        library.add_file(&name, read(&file)?);
    }
    let series = match args.number::<usize>("--series")? {
        Some(s) => s,
        None => (0..library.series_count())
            .max_by_key(|&s| library.slice_count(s).unwrap_or(0))
            .ok_or_else(|| format!("{}: no image series found", root.display()))?,
    };
    let options = BuildOptions {
        downsample: args.number("--downsample")?.unwrap_or(1),
        ..BuildOptions::default()
    };
    library
        .build_volume(series, &options)
        .map_err(|e| e.to_string())?;
    Ok((library, series))
}

/// The plane a command asks for: --plane axial|coronal|sagittal|oblique (oblique needs --normal and --up),
/// through --center (default: the volume's centre).
fn plane_of(args: &Args, volume: &Volume) -> Result<Plane, String> {
    let center = match args.value("--center") {
        Some(v) => vec3("--center", v)?,
        None => volume.center(),
    };
    match args.value("--plane").unwrap_or("axial") {
        "axial" => Ok(Plane::axial(center)),
        "coronal" => Ok(Plane::coronal(center)),
        "sagittal" => Ok(Plane::sagittal(center)),
        "oblique" => {
            let normal = vec3(
                "--normal",
                args.value("--normal")
                    .ok_or("--plane oblique needs --normal")?,
            )?;
            let up = vec3(
                "--up",
                args.value("--up").ok_or("--plane oblique needs --up")?,
            )?;
            Plane::oblique(center, normal, up).map_err(|e| e.to_string())
        }
        other => Err(format!(
            "--plane '{other}': expected axial, coronal, sagittal or oblique"
        )),
    }
}

/// Largest mm-per-pixel that shows the whole volume (all 8 corners projected onto the plane) in the image,
/// centred on the plane's centre.
fn fit_pixel_mm(volume: &Volume, plane: &Plane, width: u32, height: u32) -> f64 {
    let last = |a: usize| volume.dims[a].saturating_sub(1) as f64;
    let mut half = [0.0f64; 2];
    for corner in 0..8 {
        let p = volume.voxel_to_world([
            if corner & 1 == 0 { 0.0 } else { last(0) },
            if corner & 2 == 0 { 0.0 } else { last(1) },
            if corner & 4 == 0 { 0.0 } else { last(2) },
        ]);
        let d = [
            p[0] - plane.center[0],
            p[1] - plane.center[1],
            p[2] - plane.center[2],
        ];
        for (h, axis) in half.iter_mut().zip([plane.right, plane.down]) {
            *h = h.max((d[0] * axis[0] + d[1] * axis[1] + d[2] * axis[2]).abs());
        }
    }
    let fit = (2.0 * half[0] / f64::from(width)).max(2.0 * half[1] / f64::from(height));
    if fit.is_finite() && fit > 0.0 {
        fit
    } else {
        volume.spacing.iter().copied().fold(f64::INFINITY, f64::min)
    }
}

pub(crate) fn parse_size(value: &str) -> Result<(u32, u32), String> {
    parse_dims("--size", value)
}

pub(crate) fn parse_dims(name: &str, value: &str) -> Result<(u32, u32), String> {
    let bad = || format!("{name} expects WIDTHxHEIGHT (pixels), got '{value}'");
    let (w, h) = value.split_once('x').ok_or_else(bad)?;
    let w: u32 = w.trim().parse().map_err(|_| bad())?;
    let h: u32 = h.trim().parse().map_err(|_| bad())?;
    if !(1..=8192).contains(&w) || !(1..=8192).contains(&h) {
        return Err(bad());
    }
    Ok((w, h))
}

pub fn mpr_cmd(args: &[String]) -> Result<(), String> {
    let args = Args::parse(
        args,
        &["--json"],
        &[
            "--plane",
            "--normal",
            "--up",
            "--center",
            "--slab",
            "--mode",
            "--window",
            "--size",
            "--pixel",
            "--series",
            "--downsample",
            "--out",
        ],
    )?;
    let out = PathBuf::from(args.value("--out").ok_or("mpr needs --out OUT.png")?);
    let (library, series) = load_volume(&args)?;
    let volume = library
        .volume(series)
        .ok_or("the volume was not built (internal error)")?;
    let plane = plane_of(&args, volume)?;
    let (width, height) = match args.value("--size") {
        Some(v) => parse_size(v)?,
        None => (DEFAULT_SIZE, DEFAULT_SIZE),
    };
    let pixel_mm = match args.number::<f64>("--pixel")? {
        Some(p) => p,
        None => fit_pixel_mm(volume, &plane, width, height),
    };
    let mode = match args.value("--mode").unwrap_or("avg") {
        "mip" => SlabMode::Mip,
        "minip" => SlabMode::MinIp,
        "avg" | "average" => SlabMode::Average,
        other => return Err(format!("--mode '{other}': expected mip, minip or avg")),
    };
    let view = View {
        plane,
        width,
        height,
        pixel_mm,
        slab_mm: args.number("--slab")?.unwrap_or(0.0),
        mode,
    };
    let window = match args.value("--window") {
        Some(v) => parse_window(v)?,
        None => volume.default_window,
    };
    let mut image = RgbaImage::default();
    let mut scratch = Vec::new();
    mpr::render(volume, &view, window, &mut scratch, &mut image).map_err(|e| e.to_string())?;
    write_image(&out, &image)?;
    let labels = mpr::labels(&view.plane);
    if args.flag("--json") {
        let report = serde_json::json!({
            "view": view,
            "window": window,
            "labels": labels,
            "volume": volume.summary(),
            "out": out.display().to_string(),
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        );
    } else {
        for warning in &volume.warnings {
            eprintln!("lucent: note: {warning}");
        }
        println!(
            "{}x{} at {:.4} mm/pixel, slab {} mm, window {},{}; left {} right {} top {} bottom {} -> {}",
            width,
            height,
            pixel_mm,
            view.slab_mm,
            window.center,
            window.width,
            labels.left,
            labels.right,
            labels.top,
            labels.bottom,
            out.display()
        );
    }
    Ok(())
}

pub(crate) fn write_image(out: &Path, image: &RgbaImage) -> Result<(), String> {
    if out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("rgba"))
    {
        std::fs::write(out, &image.data).map_err(|e| format!("{}: {e}", out.display()))
    } else {
        write_png(out, image)
    }
}

pub fn measure_cmd(args: &[String]) -> Result<(), String> {
    let args = Args::parse(
        args,
        &["--json"],
        &["--from", "--to", "--series", "--downsample"],
    )?;
    let from = vec3(
        "--from",
        args.value("--from").ok_or("measure needs --from X,Y,Z")?,
    )?;
    let to = vec3(
        "--to",
        args.value("--to").ok_or("measure needs --to X,Y,Z")?,
    )?;
    let (library, series) = load_volume(&args)?;
    let volume = library
        .volume(series)
        .ok_or("the volume was not built (internal error)")?;
    let distance = measure::distance_mm(from, to);
    let a = measure::probe(volume, from).map_err(|e| e.to_string())?;
    let b = measure::probe(volume, to).map_err(|e| e.to_string())?;
    if args.flag("--json") {
        let report = serde_json::json!({ "distance_mm": distance, "from": a, "to": b });
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        );
    } else {
        let value = |p: &measure::Probe| match p.value {
            Some(v) => format!("{v:.1}"),
            None => "outside the volume".to_string(),
        };
        println!(
            "distance {distance:.3} mm (from value {}, to value {})",
            value(&a),
            value(&b)
        );
    }
    Ok(())
}
