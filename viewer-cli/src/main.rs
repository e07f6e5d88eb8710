//! `lucent`: the viewer's core on the command line. Every command runs the very code the browser runs,
//! so `lucent render` produces exactly the pixels the viewport shows at 1:1.

mod mpr;
mod pano;
mod share;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use sha2::{Digest, Sha256};
use viewer_core::window::Voi;
use viewer_core::{decode, ingest, phantom, render, window, Library, RgbaImage, Window};

const USAGE: &str = "\
lucent: the Lucent DICOM viewer core on the command line

USAGE:
  lucent info PATH [--json]                 study/series tree and a per-file report (PATH: file or folder)
  lucent render FILE [--frame N] [--window C,W | --voi-lut N] --out OUT.png|OUT.rgba
                                            one frame exactly as the viewport shows it at 1:1
  lucent decode FILE --out DIR              stored values of every frame, normalised (see docs), + summary.json
  lucent demo OUT_DIR [--size N] [--slices N]
                                            write the synthetic CBCT head phantom as DICOM files
  lucent mpr DIR --plane axial|coronal|sagittal|oblique [--normal X,Y,Z --up X,Y,Z] [--center X,Y,Z]
             [--slab MM --mode avg|mip|minip] [--window C,W] [--size WxH] [--pixel MM] [--series N]
             [--downsample N] [--json] --out OUT.png|OUT.rgba
                                            a reslice of the series' volume, exactly as an MPR pane shows it
  lucent measure DIR --from X,Y,Z --to X,Y,Z [--json]
                                            distance between two patient points (mm) and the value at each
  lucent arch DIR --z MM [--slab MM] [--threshold V] --out ARCH.json
                                            propose a dental arch from the bone of an axial slab (default 10 mm)
  lucent pano DIR --arch ARCH.json [--shift MM] [--slab MM --mode avg|mip|minip] [--window C,W]
             [--pixel-mm MM] [--center-s MM] [--center-h MM] [--size WxH] [--json] --out OUT.png|OUT.rgba
                                            panoramic along the arch (equal arc length, head up, patient right
                                            on the left); ARCH.json: {\"points\": [[x,y,z],...]} or a saved file
  lucent sections DIR --arch ARCH.json --at MM [--spacing MM] [--count N] [--width MM] [--height MM]
             [--tile WxH] [--pixel-mm MM] [--center-h MM] [--shift MM] [--slab MM --mode M] [--window C,W]
             [--json] --out OUT.png|OUT.rgba
                                            cross-sections perpendicular to the arch, side by side (buccal right)
  lucent share create PATH... --base URL --out FILE.lucent [--pin PIN] [--expires 7d|24h|never|TIME]
             [--location LOC] [--chunk-size N]
                                            encrypt files/folders into a share bundle; prints the link (last line).
                                            LOC: where the bundle is served, relative to share.html or absolute
                                            (default shares/FILE.lucent); expiry defaults to 7d
  lucent share open FILE --key KEY_OR_LINK [--pin PIN] --out DIR [--json]
                                            verify every chunk, then write the files under DIR
  lucent share inspect FILE [--json]        the bundle's public header (counts, sizes, times, PIN or not)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("info") => info(&args[1..]),
        Some("render") => render_cmd(&args[1..]),
        Some("decode") => decode_cmd(&args[1..]),
        Some("demo") => demo(&args[1..]),
        Some("mpr") => mpr::mpr_cmd(&args[1..]),
        Some("measure") => mpr::measure_cmd(&args[1..]),
        Some("pano") => pano::pano_cmd(&args[1..]),
        Some("sections") => pano::sections_cmd(&args[1..]),
        Some("arch") => pano::arch_cmd(&args[1..]),
        Some("share") => share::share_cmd(&args[1..]),
        Some("-h" | "--help" | "help") | None => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => Err(format!("unknown command '{other}'\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("lucent: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Positional arguments and `--name value` options, nothing fancier.
struct Args {
    positional: Vec<String>,
    options: Vec<(String, Option<String>)>,
}

impl Args {
    fn parse(args: &[String], flags: &[&str], valued: &[&str]) -> Result<Args, String> {
        let mut parsed = Args {
            positional: Vec::new(),
            options: Vec::new(),
        };
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            if flags.contains(&arg.as_str()) {
                parsed.options.push((arg.clone(), None));
            } else if valued.contains(&arg.as_str()) {
                let value = iter.next().ok_or_else(|| format!("{arg} needs a value"))?;
                parsed.options.push((arg.clone(), Some(value.clone())));
            } else if arg.starts_with("--") {
                return Err(format!("unknown option {arg}\n\n{USAGE}"));
            } else {
                parsed.positional.push(arg.clone());
            }
        }
        Ok(parsed)
    }

    fn flag(&self, name: &str) -> bool {
        self.options.iter().any(|(n, _)| n == name)
    }

    fn value(&self, name: &str) -> Option<&str> {
        self.options
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref())
    }

    fn number<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, String> {
        self.value(name)
            .map(|v| {
                v.parse()
                    .map_err(|_| format!("{name}: '{v}' is not a valid number"))
            })
            .transpose()
    }

    fn one_path(&self, what: &str) -> Result<PathBuf, String> {
        match self.positional.as_slice() {
            [one] => Ok(PathBuf::from(one)),
            _ => Err(format!("expected exactly one {what}\n\n{USAGE}")),
        }
    }
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Every regular file under `root` (or `root` itself), in a stable order.
fn files_under(root: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(path) = pending.pop() {
        let meta = std::fs::metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        if meta.is_dir() {
            let entries =
                std::fs::read_dir(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            for entry in entries {
                pending.push(
                    entry
                        .map_err(|e| format!("{}: {e}", path.display()))?
                        .path(),
                );
            }
        } else if meta.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn info(args: &[String]) -> Result<(), String> {
    let args = Args::parse(args, &["--json"], &[])?;
    let root = args.one_path("PATH")?;
    let mut library = Library::new();
    for file in files_under(&root)? {
        let name = file.strip_prefix(&root).unwrap_or(&file);
        let name = if name.as_os_str().is_empty() {
            file.display().to_string()
        } else {
            name.display().to_string()
        };
        library.add_file(&name, read(&file)?);
    }
    let tree = library.tree();
    if args.flag("--json") {
        let mut series = Vec::new();
        for index in 0..library.series_count() {
            let count = library.slice_count(index).map_err(|e| e.to_string())?;
            let mut slices = Vec::with_capacity(count);
            for slice in 0..count {
                slices.push(
                    library
                        .slice_info(index, slice)
                        .map_err(|e| e.to_string())?,
                );
            }
            series.push(serde_json::json!({ "index": index, "slices": slices }));
        }
        let out = serde_json::json!({ "tree": tree, "series": series, "report": library.report() });
        println!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
        );
        return Ok(());
    }
    let tree = serde_json::to_value(&tree).map_err(|e| e.to_string())?;
    print_tree(&tree);
    println!("\nFiles:");
    for report in library.report() {
        match (&report.code, &report.reason) {
            (Some(code), Some(reason)) => {
                println!("  {:<14} {} [{code}] {reason}", report.status, report.file)
            }
            _ => println!("  {:<14} {}", report.status, report.file),
        }
    }
    Ok(())
}

fn text(value: &serde_json::Value, key: &str) -> String {
    match &value[key] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn print_tree(tree: &serde_json::Value) {
    let empty = Vec::new();
    let list = |v: &serde_json::Value, key: &str| v[key].as_array().unwrap_or(&empty).clone();
    for patient in list(tree, "patients") {
        println!(
            "Patient {} ({})",
            text(&patient, "name"),
            text(&patient, "id")
        );
        for study in list(&patient, "studies") {
            println!(
                "  Study {} {} {}",
                text(&study, "date"),
                text(&study, "description"),
                text(&study, "uid")
            );
            for series in list(&study, "series") {
                println!(
                    "    Series #{} {} {} {}x{}: {} slices",
                    text(&series, "number"),
                    text(&series, "modality"),
                    text(&series, "description"),
                    text(&series, "columns"),
                    text(&series, "rows"),
                    text(&series, "slices"),
                );
            }
        }
    }
}

fn parse_window(value: &str) -> Result<Window, String> {
    let bad = || format!("--window expects CENTER,WIDTH, got '{value}'");
    let (c, w) = value.split_once(',').ok_or_else(bad)?;
    let center: f64 = c.trim().parse().map_err(|_| bad())?;
    let width: f64 = w.trim().parse().map_err(|_| bad())?;
    if !center.is_finite() || !width.is_finite() || width <= 0.0 {
        return Err(bad());
    }
    Ok(Window { center, width })
}

fn render_cmd(args: &[String]) -> Result<(), String> {
    let args = Args::parse(args, &[], &["--frame", "--window", "--voi-lut", "--out"])?;
    let file = args.one_path("FILE")?;
    let out = PathBuf::from(args.value("--out").ok_or("render needs --out OUT.png")?);
    let frame: u32 = args.number("--frame")?.unwrap_or(0);
    let name = file.display().to_string();
    let instance = ingest::read_instance(&name, read(&file)?).map_err(|e| e.to_string())?;
    if frame >= instance.frames() {
        return Err(format!(
            "{name}: frame {frame} does not exist (the file has {} frames)",
            instance.frames()
        ));
    }
    let decoded = decode::decode_frame(&instance, frame).map_err(|e| e.to_string())?;
    // the same default as the viewer: the file's window, else its first VOI LUT, else the data range
    let voi = match (args.value("--window"), args.number::<usize>("--voi-lut")?) {
        (Some(_), Some(_)) => return Err("--window and --voi-lut exclude each other".into()),
        (Some(value), None) => Voi::Window(parse_window(value)?),
        (None, Some(i)) => {
            if i >= instance.voi_luts().len() {
                return Err(format!(
                    "{name}: --voi-lut {i}: the file has {} VOI LUT(s)",
                    instance.voi_luts().len()
                ));
            }
            Voi::Lut(i)
        }
        (None, None) => window::default_voi(&instance, &decoded),
    };
    let mut image = RgbaImage::default();
    render::render_frame_voi(&instance, &decoded, voi, &mut image).map_err(|e| e.to_string())?;
    let is_raw = out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("rgba"));
    if is_raw {
        std::fs::write(&out, &image.data).map_err(|e| format!("{}: {e}", out.display()))?;
    } else {
        write_png(&out, &image)?;
    }
    let shown = match voi {
        Voi::Window(w) => format!("window {},{}", w.center, w.width),
        Voi::Lut(i) => format!(
            "VOI LUT {i} \"{}\"",
            instance.voi_luts()[i].label(viewer_core::library::VOI_LUT_LABEL)
        ),
    };
    println!(
        "{}x{} {shown} -> {}",
        image.width,
        image.height,
        out.display()
    );
    Ok(())
}

fn write_png(path: &Path, image: &RgbaImage) -> Result<(), String> {
    let fail = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let file = std::fs::File::create(path).map_err(|e| fail(&e))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), image.width, image.height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| fail(&e))?;
    writer.write_image_data(&image.data).map_err(|e| fail(&e))?;
    writer.finish().map_err(|e| fail(&e))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_cmd(args: &[String]) -> Result<(), String> {
    let args = Args::parse(args, &[], &["--out"])?;
    let file = args.one_path("FILE")?;
    let out = PathBuf::from(args.value("--out").ok_or("decode needs --out DIR")?);
    let name = file.display().to_string();
    let instance = ingest::read_instance(&name, read(&file)?).map_err(|e| e.to_string())?;
    let normalized = decode::normalize_all(&instance).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let frames = normalized.shape.first().copied().unwrap_or(0);
    let frame_len = normalized.bytes.len().checked_div(frames).unwrap_or(0);
    let mut per_frame = Vec::with_capacity(frames);
    for (index, chunk) in normalized.bytes.chunks(frame_len.max(1)).enumerate() {
        let path = out.join(format!("frame_{index:05}.raw"));
        std::fs::write(&path, chunk).map_err(|e| format!("{}: {e}", path.display()))?;
        per_frame.push(serde_json::json!({
            "file": path.file_name().map(|n| n.to_string_lossy().into_owned()),
            "sha256": hex(&Sha256::digest(chunk)),
        }));
    }
    let sha256 = hex(&Sha256::digest(&normalized.bytes));
    let summary = serde_json::json!({
        "source": name,
        "transfer_syntax": instance.transfer_syntax(),
        "dtype": normalized.dtype,
        "shape": normalized.shape,
        "byte_order": "little-endian",
        "sha256": sha256,
        "frames": per_frame,
    });
    let path = out.join("summary.json");
    let text = serde_json::to_string_pretty(&summary).map_err(|e| e.to_string())?;
    std::fs::write(&path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
    println!(
        "{} {:?} {} sha256 {sha256}",
        normalized.dtype,
        normalized.shape,
        out.display()
    );
    Ok(())
}

fn demo(args: &[String]) -> Result<(), String> {
    let args = Args::parse(args, &[], &["--size", "--slices"])?;
    let out = args.one_path("OUT_DIR")?;
    let mut spec = phantom::PhantomSpec::default();
    if let Some(size) = args.number("--size")? {
        spec.size = size;
    }
    if let Some(slices) = args.number("--slices")? {
        spec.slices = slices;
    }
    if !(8..=2048).contains(&spec.size) || !(1..=4096).contains(&spec.slices) {
        return Err("--size must be 8..=2048 and --slices 1..=4096".into());
    }
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let files = ingest::write::write_phantom_series(&spec, &out)
        .map_err(|e| format!("{}: {e}", out.display()))?;
    println!(
        "wrote {} slices of {}x{} to {}",
        files.len(),
        spec.size,
        spec.size,
        out.display()
    );
    Ok(())
}
