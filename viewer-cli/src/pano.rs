//! `lucent pano`, `lucent sections` and `lucent arch`: the dental reformats of a series' volume by the same core
//! calls the browser's dental layout makes, so a pane's parameters given here write exactly the pixels it shows.

use std::path::PathBuf;

use viewer_core::mpr::SlabMode;
use viewer_core::pano::{self, Arch, Curve, PanoView, Sections};
use viewer_core::{RgbaImage, Volume};

use crate::mpr::{load_volume, parse_dims, write_image};
use crate::{parse_window, read, Args};

/// Default panoramic height: both jaws around an arch drawn at the occlusal level.
const DEFAULT_PANO_HEIGHT_MM: f64 = 80.0;
/// Default cross-section tile: 40 x 40 mm.
const DEFAULT_SECTION_MM: f64 = 40.0;

fn mode_of(args: &Args) -> Result<SlabMode, String> {
    match args.value("--mode").unwrap_or("avg") {
        "mip" => Ok(SlabMode::Mip),
        "minip" => Ok(SlabMode::MinIp),
        "avg" | "average" => Ok(SlabMode::Average),
        other => Err(format!("--mode '{other}': expected avg, mip or minip")),
    }
}

fn arch_of(args: &Args) -> Result<Arch, String> {
    let path = PathBuf::from(args.value("--arch").ok_or("needs --arch ARCH.json")?);
    let text = String::from_utf8(read(&path)?)
        .map_err(|_| format!("{}: not UTF-8 text", path.display()))?;
    Arch::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn min_spacing(volume: &Volume) -> f64 {
    volume.spacing.iter().copied().fold(f64::INFINITY, f64::min)
}

/// Pixels covering `mm` at `pixel_mm` (at least 1, at most 8192).
fn pixels_for(mm: f64, pixel_mm: f64) -> u32 {
    (mm / pixel_mm).round().clamp(1.0, 8192.0) as u32
}

struct Common<'a> {
    volume: &'a Volume,
    curve: Curve,
    shift: f64,
    pixel_mm: f64,
    window: viewer_core::Window,
    out: PathBuf,
}

fn common<'a>(args: &Args, volume: &'a Volume) -> Result<Common<'a>, String> {
    let out = PathBuf::from(args.value("--out").ok_or("needs --out OUT.png")?);
    let shift = args.number::<f64>("--shift")?.unwrap_or(0.0);
    let curve = arch_of(args)?.curve(shift).map_err(|e| e.to_string())?;
    let pixel_mm = args
        .number::<f64>("--pixel-mm")?
        .unwrap_or_else(|| min_spacing(volume));
    let window = match args.value("--window") {
        Some(v) => parse_window(v)?,
        None => volume.default_window,
    };
    Ok(Common {
        volume,
        curve,
        shift,
        pixel_mm,
        window,
        out,
    })
}

fn print_json(report: &serde_json::Value) -> Result<(), String> {
    println!(
        "{}",
        serde_json::to_string_pretty(report).map_err(|e| e.to_string())?
    );
    Ok(())
}

const VIEW_OPTIONS: [&str; 10] = [
    "--arch",
    "--shift",
    "--slab",
    "--mode",
    "--window",
    "--pixel-mm",
    "--center-h",
    "--series",
    "--downsample",
    "--out",
];

pub fn pano_cmd(args: &[String]) -> Result<(), String> {
    let valued: Vec<&str> = VIEW_OPTIONS
        .iter()
        .copied()
        .chain(["--center-s", "--size"])
        .collect();
    let args = Args::parse(args, &["--json"], &valued)?;
    let (library, series) = load_volume(&args)?;
    let volume = library
        .volume(series)
        .ok_or("the volume was not built (internal error)")?;
    let c = common(&args, volume)?;
    let length = c.curve.length();
    let (width, height) = match args.value("--size") {
        Some(v) => parse_dims("--size", v)?,
        None => (
            pixels_for(length, c.pixel_mm),
            pixels_for(DEFAULT_PANO_HEIGHT_MM, c.pixel_mm),
        ),
    };
    let view = PanoView {
        center_s: args.number("--center-s")?.unwrap_or(length / 2.0),
        center_h: args.number("--center-h")?.unwrap_or(0.0),
        width,
        height,
        pixel_mm: c.pixel_mm,
        slab_mm: args.number("--slab")?.unwrap_or(0.0),
        mode: mode_of(&args)?,
    };
    let mut image = RgbaImage::default();
    pano::render_pano(
        c.volume,
        &c.curve,
        &view,
        c.window,
        &mut Vec::new(),
        &mut image,
    )
    .map_err(|e| e.to_string())?;
    write_image(&c.out, &image)?;
    if args.flag("--json") {
        print_json(&serde_json::json!({
            "view": view, "shift_mm": c.shift, "length_mm": length, "window": c.window,
            "out": c.out.display().to_string(),
        }))
    } else {
        println!(
            "panoramic {width}x{height} at {:.4} mm/pixel along {length:.2} mm of arch (shift {} mm), slab {} mm, \
             window {},{} -> {}",
            c.pixel_mm,
            c.shift,
            view.slab_mm,
            c.window.center,
            c.window.width,
            c.out.display()
        );
        Ok(())
    }
}

pub fn sections_cmd(args: &[String]) -> Result<(), String> {
    let valued: Vec<&str> = VIEW_OPTIONS
        .iter()
        .copied()
        .chain([
            "--at",
            "--spacing",
            "--count",
            "--width",
            "--height",
            "--tile",
        ])
        .collect();
    let args = Args::parse(args, &["--json"], &valued)?;
    let at_mm = args
        .number::<f64>("--at")?
        .ok_or("sections needs --at MM (arc length of the middle section)")?;
    let (library, series) = load_volume(&args)?;
    let volume = library
        .volume(series)
        .ok_or("the volume was not built (internal error)")?;
    let c = common(&args, volume)?;
    let (tile_width, tile_height) = match args.value("--tile") {
        Some(v) => parse_dims("--tile", v)?,
        None => (
            pixels_for(
                args.number("--width")?.unwrap_or(DEFAULT_SECTION_MM),
                c.pixel_mm,
            ),
            pixels_for(
                args.number("--height")?.unwrap_or(DEFAULT_SECTION_MM),
                c.pixel_mm,
            ),
        ),
    };
    let sections = Sections {
        at_mm,
        spacing_mm: args.number("--spacing")?.unwrap_or(1.0),
        count: args.number("--count")?.unwrap_or(5),
        tile_width,
        tile_height,
        pixel_mm: c.pixel_mm,
        center_h: args.number("--center-h")?.unwrap_or(0.0),
        slab_mm: args.number("--slab")?.unwrap_or(0.0),
        mode: mode_of(&args)?,
    };
    let mut image = RgbaImage::default();
    pano::render_sections(
        c.volume,
        &c.curve,
        &sections,
        c.window,
        &mut Vec::new(),
        &mut image,
    )
    .map_err(|e| e.to_string())?;
    write_image(&c.out, &image)?;
    let positions: Vec<f64> = (0..sections.count).map(|i| sections.s_of(i)).collect();
    if args.flag("--json") {
        print_json(&serde_json::json!({
            "sections": sections, "positions_mm": positions, "shift_mm": c.shift,
            "length_mm": c.curve.length(), "window": c.window, "out": c.out.display().to_string(),
        }))
    } else {
        let list: Vec<String> = positions.iter().map(|s| format!("{s:.1}")).collect();
        println!(
            "{} cross-sections of {tile_width}x{tile_height} at {:.4} mm/pixel, at {} mm of {:.2} mm of arch -> {}",
            sections.count,
            c.pixel_mm,
            list.join(", "),
            c.curve.length(),
            c.out.display()
        );
        Ok(())
    }
}

pub fn arch_cmd(args: &[String]) -> Result<(), String> {
    let args = Args::parse(
        args,
        &[],
        &[
            "--z",
            "--slab",
            "--threshold",
            "--series",
            "--downsample",
            "--out",
        ],
    )?;
    let z = args
        .number::<f64>("--z")?
        .ok_or("arch needs --z MM (patient height of the axial slab)")?;
    let out = PathBuf::from(args.value("--out").ok_or("arch needs --out ARCH.json")?);
    let (library, series) = load_volume(&args)?;
    let volume = library
        .volume(series)
        .ok_or("the volume was not built (internal error)")?;
    let arch = pano::propose_arch(
        volume,
        z,
        args.number("--slab")?.unwrap_or(10.0),
        args.number("--threshold")?,
    )
    .map_err(|e| e.to_string())?;
    let length = arch.curve(0.0).map_err(|e| e.to_string())?.length();
    let text = serde_json::to_string_pretty(&arch).map_err(|e| e.to_string())?;
    std::fs::write(&out, text + "\n").map_err(|e| format!("{}: {e}", out.display()))?;
    println!(
        "proposed arch: {} points, {length:.1} mm -> {}",
        arch.points.len(),
        out.display()
    );
    Ok(())
}
