//! Native benchmark of the reslicer on a 512^3 signed 16-bit volume (0.3125 mm isotropic, like the demo
//! phantom at 512): thin axial and oblique 512x512 reslices, 20 mm slabs (axial = projection of voxel columns,
//! oblique = sampled planes), and a full render (reslice + window to RGBA). `cargo xtask bench mpr` runs it
//! before the same operations in Chromium (tests/bench/mpr.mjs).

use criterion::{criterion_group, criterion_main, Criterion};
use viewer_core::mpr::{render, reslice, Plane, SlabMode, View};
use viewer_core::pano::{render_pano, render_sections, Arch, PanoView, Sections};
use viewer_core::volume::{Volume, VoxelSlices};
use viewer_core::{RgbaImage, Window};

const N: usize = 512;
const SPACING: f64 = 0.3125;

/// Smooth background plus bright spheres: values vary over the whole volume, like a CT.
fn volume() -> Volume {
    let slices = (0..N)
        .map(|k| {
            let mut s = Vec::with_capacity(N * N);
            for j in 0..N {
                for i in 0..N {
                    let (x, y, z) = (i as i32 - 256, j as i32 - 256, k as i32 - 256);
                    let r2 = x * x + y * y + z * z;
                    let base = 1000 + ((i * 7 + j * 3 + k * 5) % 200) as i32;
                    let sphere = if (r2 % 9000) < 400 { 1500 } else { 0 };
                    s.push((base + sphere) as i16);
                }
            }
            s
        })
        .collect();
    Volume {
        dims: [N, N, N],
        spacing: [SPACING; 3],
        origin: [-80.0; 3],
        axes: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        voxels: VoxelSlices::I16(slices),
        slope: 1.0,
        intercept: -1024.0,
        invert: false,
        modality: "CT".into(),
        default_window: Window {
            center: 40.0,
            width: 400.0,
        },
        warnings: vec![],
    }
}

fn view(plane: Plane, slab_mm: f64, mode: SlabMode) -> View {
    View {
        plane,
        width: 512,
        height: 512,
        pixel_mm: SPACING,
        slab_mm,
        mode,
    }
}

fn benches(c: &mut Criterion) {
    let v = volume();
    let center = v.center();
    let oblique = Plane::oblique(center, [0.3, 0.5, 0.81], [0.0, 0.0, 1.0]).expect("plane");
    let mut out = Vec::new();
    let mut group = c.benchmark_group("mpr 512^3 i16, 512x512 view");
    group.sample_size(10);
    for (name, v_) in [
        (
            "axial thin",
            view(Plane::axial(center), 0.0, SlabMode::Average),
        ),
        ("oblique thin", view(oblique, 0.0, SlabMode::Average)),
        (
            "axial 20 mm MIP",
            view(Plane::axial(center), 20.0, SlabMode::Mip),
        ),
        ("oblique 20 mm MIP", view(oblique, 20.0, SlabMode::Mip)),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| reslice(&v, &v_, &mut out).expect("reslice"))
        });
    }
    let mut image = RgbaImage::default();
    let window = Window {
        center: 40.0,
        width: 400.0,
    };
    let thin = view(oblique, 0.0, SlabMode::Average);
    group.bench_function("oblique thin + window to RGBA", |b| {
        b.iter(|| render(&v, &thin, window, &mut out, &mut image).expect("render"))
    });
    group.finish();

    // Dental: the phantom's arch (x = 30t, y = -44 + 0.04x^2 at z = -40; tests/bench/pano.mjs times the same in
    // Chromium), a 1024x512 panoramic with a 10 mm slab and a strip of 20 cross-sections of 128x128.
    let arch = Arch {
        points: (0..9)
            .map(|i| {
                let x = 30.0 * (-1.0 + f64::from(i) / 4.0);
                [x, -44.0 + 0.04 * x * x, -40.0]
            })
            .collect(),
        up: [0.0, 0.0, 1.0],
    };
    let curve = arch.curve(0.0).expect("curve");
    let length = curve.length();
    let mut group = c.benchmark_group("dental 512^3 i16");
    group.sample_size(10);
    for (name, slab_mm, mode) in [
        ("panoramic 1024x512 10 mm avg", 10.0, SlabMode::Average),
        ("panoramic 1024x512 10 mm MIP", 10.0, SlabMode::Mip),
        ("panoramic 1024x512 thin", 0.0, SlabMode::Average),
    ] {
        let pano = PanoView {
            center_s: length / 2.0,
            center_h: 0.0,
            width: 1024,
            height: 512,
            pixel_mm: length / 1024.0,
            slab_mm,
            mode,
        };
        group.bench_function(name, |b| {
            b.iter(|| render_pano(&v, &curve, &pano, window, &mut out, &mut image).expect("pano"))
        });
    }
    let sections = Sections {
        at_mm: length / 2.0,
        spacing_mm: 2.0,
        count: 20,
        tile_width: 128,
        tile_height: 128,
        pixel_mm: 40.0 / 128.0,
        center_h: 0.0,
        slab_mm: 0.0,
        mode: SlabMode::Average,
    };
    group.bench_function("20 cross-sections 128x128 thin", |b| {
        b.iter(|| {
            render_sections(&v, &curve, &sections, window, &mut out, &mut image).expect("sections")
        })
    });
    group.finish();
}

criterion_group!(mpr, benches);
criterion_main!(mpr);
