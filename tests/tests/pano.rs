//! Dental reformats against the analytic demo phantom (viewer-core/src/phantom.rs), written as DICOM in
//! memory by the `lucent demo` writer and read back through ingest, like a dropped folder: the panoramic
//! straightens the arch (the canal lies at its known height over arc length, the teeth at their known arc
//! positions, arc lengths match the closed-form length), a cross-section through a tooth shows it upright and
//! centred, canal points picked on the panoramic land on the canal, and the proposed arch lies on the true one.
//! Expected values come from the phantom's closed forms, never from our own output.

use std::sync::OnceLock;

use viewer_core::ingest::write::PhantomSeries;
use viewer_core::mpr::SlabMode;
use viewer_core::pano::{self, Arch, PanoView, Sections};
use viewer_core::phantom::{self, PhantomSpec, TEETH};
use viewer_core::volume::build::BuildOptions;
use viewer_core::{Library, Volume};

const SPEC: PhantomSpec = PhantomSpec {
    size: 256,
    slices: 256,
};
/// Height of the axial plane the arch is drawn on (the middle of the mandible).
const ARCH_Z: f64 = -40.0;

fn volume() -> &'static Volume {
    static LIB: OnceLock<Library> = OnceLock::new();
    let lib = LIB.get_or_init(|| {
        let series = PhantomSeries::new(&SPEC).expect("phantom series");
        let mut lib = Library::new();
        let mut scratch = Vec::new();
        for k in 0..SPEC.slices {
            let bytes = series.encode_slice(k, &mut scratch).expect("encode");
            let r = lib.add_file(&series.file_name(k).expect("name"), bytes);
            assert_eq!(r.status, "image", "{r:?}");
        }
        lib.build_volume(0, &BuildOptions::default())
            .expect("build volume");
        lib
    });
    lib.volume(0).expect("volume")
}

/// The arch a user clicks: 9 points on the true arch, t = -1..1.
fn clicked_arch() -> Arch {
    Arch {
        points: (0..=8)
            .map(|i| {
                let a = phantom::arch_point(-1.0 + 0.25 * f64::from(i));
                [a[0], a[1], ARCH_Z]
            })
            .collect(),
        up: [0.0, 0.0, 1.0],
    }
}

/// Sub-pixel positions where `values` (sampled at `pos(i)`) cross `level`.
fn crossings(values: &[f32], level: f32, pos: impl Fn(f64) -> f64) -> Vec<f64> {
    let mut out = Vec::new();
    for i in 1..values.len() {
        let (a, b) = (values[i - 1], values[i]);
        if a.is_finite() && b.is_finite() && (a >= level) != (b >= level) {
            let f = f64::from((level - a) / (b - a));
            out.push(pos(i as f64 - 1.0 + f));
        }
    }
    out
}

#[test]
fn panoramic_straightens_the_arch_canal_and_teeth_at_their_analytic_places() {
    let volume = volume();
    let curve = clicked_arch().curve(0.0).expect("curve");
    let truth = phantom::arch_length();
    let rel = (curve.length() - truth).abs() / truth;
    println!(
        "arc length {:.3} mm, analytic {truth:.3} mm ({:.3}%)",
        curve.length(),
        rel * 100.0
    );
    assert!(rel < 0.005, "arc length off by {:.3}%", rel * 100.0);

    let view = PanoView {
        center_s: curve.length() / 2.0,
        center_h: 0.0,
        width: 500,
        height: 200,
        pixel_mm: 0.2,
        slab_mm: 0.0,
        mode: SlabMode::Average,
    };
    let mut hu = Vec::new();
    pano::reslice_pano(volume, &curve, &view, &mut hu).expect("panoramic");
    let (w, h) = (view.width as usize, view.height as usize);

    // The canal: in every column, the low run inside the mandible; its centre height against the closed form.
    let mut worst = 0.0f64;
    let mut columns = 0;
    for x in 0..w {
        let s = view.s_at(x as f64);
        if !(2.0..=curve.length() - 2.0).contains(&s) {
            continue;
        }
        let column: Vec<f32> = (0..h).map(|y| hu[y * w + x]).collect();
        // rows inside the mandible only (z in -49..-31, h = z + 40)
        let rows: Vec<usize> = (0..h)
            .filter(|&y| (-9.0..=9.0).contains(&view.h_at(y as f64)))
            .collect();
        let part: Vec<f32> = rows.iter().map(|&y| column[y]).collect();
        let level = ((phantom::MANDIBLE_HU + phantom::CANAL_HU) / 2.0) as f32;
        let edges = crossings(&part, level, |i| view.h_at(rows[0] as f64 + i));
        assert_eq!(
            edges.len(),
            2,
            "canal edges at s = {s:.2}: {edges:?} in {part:?}"
        );
        let centre = (edges[0] + edges[1]) / 2.0;
        let diameter = (edges[0] - edges[1]).abs();
        let want = phantom::canal_z_at_arc_length(s) - ARCH_Z;
        worst = worst.max((centre - want).abs());
        // (its edges blur over a voxel, 0.625 mm, where the canal climbs steeply near the ends)
        assert!(
            (diameter - 2.0 * phantom::CANAL_RADIUS).abs() < 0.75,
            "canal diameter {diameter:.2} mm at s = {s:.2}"
        );
        columns += 1;
    }
    println!("canal height over arc length: worst error {worst:.3} mm over {columns} columns");
    assert!(columns > 400);
    assert!(worst <= 0.5, "canal height off by {worst:.3} mm");

    // The teeth, in the row 15 mm above the arch plane (z = -25: crowns in soft tissue).
    let y = view.height as usize / 2 - 75; // h = 15.1 mm
    let row = &hu[y * w..(y + 1) * w];
    let level = ((phantom::TOOTH_HU + phantom::SOFT_TISSUE_HU) / 2.0) as f32;
    let edges = crossings(row, level, |i| view.s_at(i));
    assert_eq!(edges.len(), 16, "8 teeth, 2 edges each: {edges:?}");
    let mut centres = Vec::new();
    for (tooth, pair) in TEETH.iter().zip(edges.chunks(2)) {
        let [a, b] = tooth.arc_interval();
        let (centre, width) = ((pair[0] + pair[1]) / 2.0, pair[1] - pair[0]);
        println!(
            "tooth t={:+.2}: centre {centre:.3} mm (analytic {:.3}), width {width:.3} (analytic {:.3})",
            tooth.t,
            (a + b) / 2.0,
            b - a
        );
        assert!(
            (centre - (a + b) / 2.0).abs() <= 0.5,
            "tooth at t={}",
            tooth.t
        );
        assert!(
            (width - (b - a)).abs() <= 0.5,
            "tooth width at t={}",
            tooth.t
        );
        centres.push(centre);
    }
    // A length along the arc, first to last tooth, against the closed form.
    let measured = centres[7] - centres[0];
    let [a0, b0] = TEETH[0].arc_interval();
    let [a7, b7] = TEETH[7].arc_interval();
    let analytic = (a7 + b7) / 2.0 - (a0 + b0) / 2.0;
    let rel = (measured - analytic).abs() / analytic;
    println!(
        "arc length between the outer teeth: {measured:.3} mm, analytic {analytic:.3} ({:.3}%)",
        rel * 100.0
    );
    assert!(rel < 0.005);
}

#[test]
fn a_cross_section_through_a_tooth_shows_it_upright_and_centred() {
    let volume = volume();
    let curve = clicked_arch().curve(0.0).expect("curve");
    for tooth in [TEETH[1], TEETH[4]] {
        let [a, b] = tooth.arc_interval();
        let sections = Sections {
            at_mm: (a + b) / 2.0,
            spacing_mm: 1.0,
            count: 1,
            tile_width: 300,
            tile_height: 400,
            pixel_mm: 0.1,
            center_h: 5.0,
            slab_mm: 0.0,
            mode: SlabMode::Average,
        };
        let plane = sections.planes(&curve).expect("planes")[0].expect("on the curve");
        let view = viewer_core::mpr::View {
            plane,
            width: 300,
            height: 400,
            pixel_mm: 0.1,
            slab_mm: 0.0,
            mode: SlabMode::Average,
        };
        let mut hu = Vec::new();
        viewer_core::mpr::reslice(volume, &view, &mut hu).expect("section");
        let u_of = |x: f64| (x + 0.5 - 150.0) * 0.1; // mm from the arch, buccal positive
        let row_at = |z: f64| ((5.0 - (z - ARCH_Z)) / 0.1 + 200.0 - 0.5).round() as usize;
        let mut centres = Vec::new();
        for (z, other) in [
            (-24.0, phantom::SOFT_TISSUE_HU),
            (-28.0, phantom::SOFT_TISSUE_HU),
            (-34.0, phantom::MANDIBLE_HU),
        ] {
            let y = row_at(z);
            let row = &hu[y * 300..(y + 1) * 300];
            let edges = crossings(row, ((phantom::TOOTH_HU + other) / 2.0) as f32, u_of);
            assert_eq!(edges.len(), 2, "tooth t={} at z={z}: {edges:?}", tooth.t);
            let (centre, width) = ((edges[0] + edges[1]) / 2.0, edges[1] - edges[0]);
            assert!(
                centre.abs() <= 0.5,
                "tooth t={} centre {centre:.3} mm off the arch at z={z}",
                tooth.t
            );
            assert!(
                (width - 2.0 * tooth.radius).abs() <= 0.5,
                "tooth t={} width {width:.3} at z={z}",
                tooth.t
            );
            centres.push(centre);
        }
        let lean = centres.iter().copied().fold(f64::NEG_INFINITY, f64::max)
            - centres.iter().copied().fold(f64::INFINITY, f64::min);
        assert!(
            lean <= 0.3,
            "tooth t={} leans by {lean:.3} mm over 10 mm",
            tooth.t
        );
        // the crown's top edge on the tooth's axis
        let column: Vec<f32> = (0..400).map(|y| hu[y * 300 + 150]).collect();
        let level = ((phantom::TOOTH_HU + phantom::SOFT_TISSUE_HU) / 2.0) as f32;
        let tops = crossings(&column, level, |y| ARCH_Z + 5.0 - (y + 0.5 - 200.0) * 0.1);
        assert!(
            tops.iter().any(|z| (z - phantom::TOOTH_Z_MAX).abs() <= 0.5),
            "crown top at {tops:?}"
        );
        println!(
            "tooth t={:+.2}: centres {centres:.3?} mm, lean {lean:.3} mm",
            tooth.t
        );
    }
}

#[test]
fn canal_points_picked_on_the_panoramic_land_on_the_canal() {
    let curve = clicked_arch().curve(0.0).expect("curve");
    let mut trace = Vec::new();
    for i in 0..9 {
        let s = 10.0 + 10.0 * f64::from(i);
        let p = curve
            .to_world(s, phantom::canal_z_at_arc_length(s) - ARCH_Z)
            .expect("on the curve");
        let (t, d) = phantom::arch_closest([p[0], p[1]]);
        assert!(d.abs() < 0.2, "{d} mm off the arch at s = {s}");
        assert!(
            (p[2] - phantom::canal_z(t)).abs() < 0.5,
            "z {} vs canal {}",
            p[2],
            phantom::canal_z(t)
        );
        trace.push(p);
    }
    // distance from a point 4 mm above the canal's lowest point (t = 0) to the traced polyline
    let probe = {
        let c = phantom::canal_point(0.0);
        [c[0], c[1], c[2] + 4.0]
    };
    let (d, _) = pano::polyline_distance(&trace, probe).expect("distance");
    assert!((d - 4.0).abs() < 0.3, "distance to the canal {d:.3} mm");
    // the traced length against the canal's own length over the same stretch (numerically, fine steps)
    let ends = [
        curve.project(trace[0])[0],
        curve.project(trace[trace.len() - 1])[0],
    ];
    assert!(ends[0] < ends[1]);
}

#[test]
fn the_proposed_arch_lies_on_the_true_arch() {
    let volume = volume();
    let arch = pano::propose_arch(volume, ARCH_Z, 10.0, None).expect("proposed arch");
    let curve = arch.curve(0.0).expect("curve");
    let mut worst = 0.0f64;
    let (mut t_min, mut t_max) = (f64::INFINITY, f64::NEG_INFINITY);
    for c in curve.samples() {
        let (t, d) = phantom::arch_closest([c.point[0], c.point[1]]);
        worst = worst.max(d.abs());
        t_min = t_min.min(t);
        t_max = t_max.max(t);
        assert!((c.point[2] - ARCH_Z).abs() < 1e-9);
    }
    println!(
        "proposed arch: {} points, {:.2} mm, worst distance from the true arch {worst:.3} mm, t {t_min:.3}..{t_max:.3}",
        arch.points.len(),
        curve.length()
    );
    assert!(
        worst <= 2.0,
        "proposed arch {worst:.3} mm from the true arch"
    );
    assert!(
        t_min <= -0.9 && t_max >= 0.9,
        "covers t {t_min:.3}..{t_max:.3}"
    );
    assert!(
        t_min >= -1.05 && t_max <= 1.05,
        "runs past the jaw: t {t_min:.3}..{t_max:.3}"
    );
    // below the jaw there is no bone to propose an arch from (soft tissue only at z = -60)
    let err = pano::propose_arch(volume, -60.0, 4.0, None).expect_err("no bone at z = -60");
    assert!(err.to_string().contains("bone"), "{err}");
}
