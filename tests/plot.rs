//! The figures of `nti-gpu run`, rendered from synthetic data: each kind of series the
//! pipeline draws, asserted on pixels (PNG) and on elements (SVG). No GPU and no system fonts
//! needed.
//!
//! Set NTI_PLOT_DIR=some/dir to also keep the four PNGs for looking at.

use std::path::PathBuf;

use image::RgbImage;
use nti_gpu::report::plot::{
    band_fill_color, dodge_px, heat_color, render, render_panels, render_svg, render_with_frame,
    series_color, write_figure, write_png, Figure, Series, DEFAULT_HEIGHT, DEFAULT_WIDTH,
    POINT_DODGE_PX,
};
use nti_gpu::Error;

/// t grid dense near 0, as the TI quadrature uses.
fn t_grid(n: usize) -> Vec<f64> {
    (0..=n).map(|i| (i as f64 / n as f64).powi(2)).collect()
}

/// An integrand shaped like the real one: −2000 at t = 0, a bump of about +460 at t ≈ 0.3.
fn integrand(t: f64, shift: f64) -> f64 {
    -2000.0 * (-t / 0.03).exp() + 460.0 * (t / 0.3) * (1.0 - t / 0.3).exp() + shift * t
}

/// Figure 1: integrand per estimator with error bands.
fn integrand_figure() -> Figure {
    let t = t_grid(200);
    let estimators = [
        ("reverse SDE", 40.0, 3.0),
        ("MALA-corrected", 0.0, 1.0),
        ("forward noise", -25.0, 0.5),
    ];
    let mut fig = Figure::new("TI integrand, N = 40", "t", "⟨∂_t Ũ⟩ (kT)");
    for (name, shift, scale) in estimators {
        let y = t.iter().map(|&t| integrand(t, shift)).collect();
        let err = t
            .iter()
            .map(|&t| scale * (15.0 + 150.0 * (-t / 0.05).exp()))
            .collect();
        fig = fig.with_series(Series::band(name, t.clone(), y, err));
    }
    fig
}

/// Figure 2: training loss per step, log y.
fn loss_figure() -> Figure {
    let steps: Vec<f64> = (0..=500).map(|i| i as f64 * 20.0).collect();
    let noise = |i: usize| 1.0 + 0.05 * ((i as f64 * 12.9898).sin() * 43758.5453).fract();
    let train = steps
        .iter()
        .enumerate()
        .map(|(i, &s)| (s, (0.02 + 0.98 * (-s / 700.0).exp()) * noise(i)));
    let val = steps
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 25 == 0)
        .map(|(i, &s)| (s, (0.03 + 0.97 * (-s / 700.0).exp()) * noise(i + 7)));
    Figure::new("Training loss", "step", "denoising loss")
        .log_y()
        .with_series(Series::line("training batch", train))
        .with_series(Series::line("held-out", val))
}

/// A radial distribution function shaped like a dense LJ fluid's, with its first peak of
/// height `peak` at r = 1.12.
fn g_of_r(r: f64, peak: f64) -> f64 {
    let gauss = |c: f64, w: f64| (-((r - c) / w).powi(2)).exp();
    let core = 1.0 / (1.0 + (-(r - 0.95) / 0.02).exp());
    core * (1.0 + (peak - 1.0) * gauss(1.12, 0.1) - 0.4 * gauss(1.55, 0.15)
        + 0.15 * gauss(2.1, 0.15))
}

/// Figure 3: g(r) of generated samples against reference samples.
fn gr_figure() -> Figure {
    let r: Vec<f64> = (0..300).map(|i| 0.5 + i as f64 * 0.01).collect();
    Figure::new("Radial distribution at t = 0", "r / σ", "g(r)")
        .with_series(Series::line("reference MD", r.iter().map(|&r| (r, g_of_r(r, 2.6)))).dashed())
        .with_series(Series::line(
            "reverse SDE",
            r.iter().map(|&r| (r, g_of_r(r, 2.3))),
        ))
        .with_series(Series::line(
            "MALA-corrected",
            r.iter().map(|&r| (r, g_of_r(r, 2.55))),
        ))
}

/// Figure 4: βF_ex / N against density for several methods, with error bars, and the
/// equation of state as a line.
fn density_figure() -> Figure {
    let rho: Vec<f64> = [40.0, 80.0, 120.0, 160.0, 200.0]
        .iter()
        .map(|n| n / 216.0)
        .collect();
    let eos = |r: f64| -3.6 * r + 1.9 * r * r * r;
    let pts = |dy: f64, err: f64| -> (Vec<f64>, Vec<f64>, Option<Vec<f64>>) {
        (
            rho.clone(),
            rho.iter().map(|&r| eos(r) + dy * r).collect(),
            Some(rho.iter().map(|&r| err * (1.0 + 3.0 * r)).collect()),
        )
    };
    let mut fig = Figure::new("Excess free energy per particle", "ρσ³", "βF_ex / N");
    for (name, dy, err) in [
        ("Neural TI (MALA)", 0.05, 0.02),
        ("annealed IS", -0.04, 0.015),
        ("λ-TI", 0.0, 0.01),
    ] {
        let (x, y, e) = pts(dy, err);
        fig = fig.with_series(Series::points(name, x, y, e));
    }
    let dense: Vec<(f64, f64)> = (0..=100)
        .map(|i| 0.15 + 0.8 * i as f64 / 100.0)
        .map(|r| (r, eos(r)))
        .collect();
    fig.with_series(Series::line("equation of state", dense).dashed())
}

fn count_color(img: &RgbImage, c: [u8; 3], tol: u8) -> usize {
    img.pixels()
        .filter(|p| p.0.iter().zip(c).all(|(a, b)| a.abs_diff(b) <= tol))
        .count()
}

/// Whether a pixel within `radius` of `(x, y)` has colour `c` (each channel within `tol`).
fn color_near(img: &RgbImage, (x, y): (u32, u32), radius: u32, c: [u8; 3], tol: u8) -> bool {
    let (w, h) = img.dimensions();
    (y.saturating_sub(radius)..=(y + radius).min(h - 1)).any(|yy| {
        (x.saturating_sub(radius)..=(x + radius).min(w - 1)).any(|xx| {
            img.get_pixel(xx, yy)
                .0
                .iter()
                .zip(c)
                .all(|(a, b)| a.abs_diff(b) <= tol)
        })
    })
}

fn keep(fig: &Figure, name: &str) {
    if let Ok(dir) = std::env::var("NTI_PLOT_DIR") {
        write_png(fig, &PathBuf::from(dir).join(name)).expect("write PNG");
    }
}

/// Common checks of every figure: default size, not uniform, each series' colour present.
fn check_common(fig: &Figure, img: &RgbImage) {
    assert_eq!(img.dimensions(), (DEFAULT_WIDTH, DEFAULT_HEIGHT));
    let white = count_color(img, [255, 255, 255], 0);
    let total = (DEFAULT_WIDTH * DEFAULT_HEIGHT) as usize;
    assert!(
        white < total * 97 / 100,
        "image almost uniform: {white} of {total} white"
    );
    assert!(
        white > total / 3,
        "image mostly non-white: {white} of {total} white"
    );
    assert!(
        count_color(img, [0, 0, 0], 60) > 500,
        "no dark text/axis pixels"
    );
    for i in 0..fig.series.len() {
        let n = count_color(img, series_color(i), 0);
        assert!(
            n > 100,
            "series {i} colour {:?}: only {n} pixels",
            series_color(i)
        );
    }
}

#[test]
fn integrand_bands_fill_between_their_bounds() {
    let fig = integrand_figure();
    let (img, frame) = render_with_frame(&fig).unwrap();
    keep(&fig, "integrand.png");
    check_common(&fig, &img);

    // Axis covers the whole data including the bands: −2000 − err … ≥ 460.
    let (ylo, yhi) = frame.y_range();
    assert!(
        ylo < -2000.0 - 3.0 * 165.0 && ylo > -3000.0,
        "y range {ylo}..{yhi}"
    );
    assert!(
        yhi > 460.0 + 40.0 * 0.3 && yhi < 800.0,
        "y range {ylo}..{yhi}"
    );
    let (xlo, xhi) = frame.x_range();
    assert!(
        xlo < 0.0 && xlo > -0.1 && xhi > 1.0 && xhi < 1.1,
        "x range {xlo}..{xhi}"
    );
    let labels: Vec<String> = frame.y_ticks().into_iter().map(|t| t.1).collect();
    assert_eq!(
        labels,
        ["-2500", "-2000", "-1500", "-1000", "-500", "0", "500"]
    );
    let xl: Vec<String> = frame.x_ticks().into_iter().map(|t| t.1).collect();
    assert_eq!(xl.first().map(String::as_str), Some("0.0"));
    assert_eq!(xl.last().map(String::as_str), Some("1.0"));

    // The first series' band (widest, ±3·15 kT at large t) is filled between its bounds:
    // inside at y + err/2, its translucent fill (alone or over a grid line or another band);
    // outside at y + 2·err, not.
    let t = 0.8;
    let (y, err) = (
        integrand(t, 40.0),
        3.0 * (15.0 + 150.0 * (-t / 0.05f64).exp()),
    );
    let fill = band_fill_color(0);
    let inside = frame.pixel(t, y + 0.6 * err).unwrap();
    assert!(
        color_near(&img, inside, 2, fill, 6),
        "no band fill at {inside:?}"
    );
    let outside = frame.pixel(t, y + 3.0 * err).unwrap();
    assert!(
        !color_near(&img, outside, 1, fill, 6),
        "band fill outside the band at {outside:?}"
    );
    // The line itself, in the series colour, at its value.
    let on_line = frame.pixel(t, y).unwrap();
    assert!(
        color_near(&img, on_line, 2, series_color(0), 0),
        "no line at {on_line:?}"
    );
}

#[test]
fn loss_figure_has_log_axis_with_decade_ticks() {
    let fig = loss_figure();
    let (img, frame) = render_with_frame(&fig).unwrap();
    keep(&fig, "loss.png");
    check_common(&fig, &img);
    let (lo, hi) = frame.y_range();
    assert!(
        lo > 0.01 && lo < 0.02 && hi > 1.0 && hi < 1.3,
        "y range {lo}..{hi}"
    );
    let ticks = frame.y_ticks();
    let labels: Vec<&str> = ticks.iter().map(|t| t.1.as_str()).collect();
    // Under two decades: 1-2-5 ticks.
    assert_eq!(labels, ["0.02", "0.05", "0.1", "0.2", "0.5", "1"]);
    assert!((ticks[2].0 - 0.1).abs() < 1e-12 && (ticks[5].0 - 1.0).abs() < 1e-12);
    // Log mapping: 0.1 and 1 are as far apart in pixels as 0.1 and 0.01 would be.
    let (_, p1) = frame.pixel(1.0, 1.0).unwrap();
    let (_, p01) = frame.pixel(1.0, 0.1).unwrap();
    let (_, p0_03) = frame.pixel(1.0, 0.1f64.powf(1.5)).unwrap();
    assert!(p01 > p1 && ((p0_03 - p01) as f64 - (p01 - p1) as f64 / 2.0).abs() <= 1.0);
    // The training curve passes through its value at step 4000.
    let y = (0.02 + 0.98 * (-4000.0f64 / 700.0).exp()) * 1.05;
    let (x, top) = frame.pixel(4000.0, y).unwrap();
    let (_, bottom) = frame.pixel(4000.0, y / 1.05 * 0.99).unwrap();
    assert!((top..=bottom).any(|row| color_near(&img, (x, row), 1, series_color(0), 0)));
}

#[test]
fn gr_figure_draws_each_curve_at_its_peak() {
    let fig = gr_figure();
    let (img, frame) = render_with_frame(&fig).unwrap();
    keep(&fig, "gr.png");
    check_common(&fig, &img);
    let (lo, hi) = frame.y_range();
    assert!(
        lo < 0.0 && lo > -0.2 && hi > 2.6 && hi < 2.8,
        "y range {lo}..{hi}"
    );
    for (i, peak) in [(1usize, 2.3), (2, 2.55)] {
        let r = 1.12;
        let px = frame.pixel(r, g_of_r(r, peak)).unwrap();
        assert!(
            color_near(&img, px, 2, series_color(i), 0),
            "series {i} not at its peak {px:?}"
        );
    }
}

#[test]
fn density_figure_has_markers_and_error_bars() {
    let fig = density_figure();
    let (img, frame) = render_with_frame(&fig).unwrap();
    keep(&fig, "density.png");
    check_common(&fig, &img);
    let (x, y) = (
        200.0 / 216.0,
        -3.6 * (200.0 / 216.0) + 1.9 * (200.0f64 / 216.0).powi(3) + 0.05 * (200.0 / 216.0),
    );
    let err = 0.02 * (1.0 + 3.0 * 200.0 / 216.0);
    // Marker at the point, error bar up to y + err (the cap), nothing of the colour at y + 2 err.
    // Three point series: the first is drawn dodge_px(0, 3) pixels left of its x.
    let shift = |(c, r): (u32, u32)| ((c as i32 + dodge_px(0, 3)) as u32, r);
    assert_eq!(dodge_px(0, 3), -POINT_DODGE_PX);
    let centre = shift(frame.pixel(x, y).unwrap());
    assert!(color_near(&img, centre, 1, series_color(0), 0));
    let cap = shift(frame.pixel(x, y + err).unwrap());
    assert!(
        color_near(&img, (cap.0 + 3, cap.1), 1, series_color(0), 0),
        "no cap at {cap:?}"
    );
    let above = shift(frame.pixel(x, y + 2.0 * err).unwrap());
    assert!(
        !color_near(&img, above, 2, series_color(0), 0),
        "bar too long at {above:?}"
    );
    // y axis includes the error bars of the lowest and highest points.
    let (lo, hi) = frame.y_range();
    let ymin = -3.6 * (200.0 / 216.0) + 1.9 * (200.0f64 / 216.0).powi(3)
        - 0.04 * (200.0 / 216.0)
        - 0.015 * (1.0 + 3.0 * 200.0 / 216.0);
    assert!(
        lo < ymin && lo > ymin - 0.1,
        "y lower end {lo} vs lowest bar {ymin}"
    );
    assert!(hi > -0.6, "y upper end {hi}");
}

#[test]
fn non_finite_values_are_skipped_not_fatal() {
    let x = vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
    let y = vec![1.0, f64::NAN, 3.0, f64::INFINITY, 2.0, f64::NEG_INFINITY];
    let err = vec![0.1, 0.1, f64::NAN, 0.1, 0.1, 0.1];
    let fig = Figure::new("NaN", "x", "y")
        .with_series(Series::band("band", x.clone(), y.clone(), err.clone()))
        .with_series(Series::points("points", x.clone(), y.clone(), Some(err)))
        .with_series(Series::line(
            "line",
            x.iter().copied().zip(y.iter().copied()),
        ))
        .with_series(Series::line(
            "all NaN",
            vec![(f64::NAN, 1.0), (2.0, f64::NAN)],
        ));
    let (img, frame) = render_with_frame(&fig).unwrap();
    let (lo, hi) = frame.y_range();
    // Finite y values 1…3, band bounds 0.9…2.1: range is 0.9…3 plus a few per cent.
    assert!(
        lo < 0.9 && lo > 0.8 && hi > 3.0 && hi < 3.1,
        "y range {lo}..{hi}"
    );
    assert!(count_color(&img, series_color(2), 0) > 50);
    // A line broken at NaN: nothing of its colour halfway between x = 0 and x = 2.
    let mid = frame.pixel(1.0, 2.0).unwrap();
    assert!(!color_near(&img, mid, 3, series_color(2), 0));
}

#[test]
fn log_axis_skips_non_positive_values() {
    let pts: Vec<(f64, f64)> = vec![
        (0.0, 1.0),
        (1.0, 0.0),
        (2.0, -5.0),
        (3.0, 100.0),
        (4.0, 10.0),
    ];
    let fig = Figure::new("log", "x", "y")
        .log_y()
        .with_series(Series::line("l", pts.clone()));
    let (_, frame) = render_with_frame(&fig).unwrap();
    let (lo, hi) = frame.y_range();
    assert!(
        lo > 0.8 && lo < 1.0 && hi > 100.0 && hi < 130.0,
        "y range {lo}..{hi}"
    );
    let labels: Vec<String> = frame.y_ticks().into_iter().map(|t| t.1).collect();
    assert_eq!(labels, ["1", "10", "100"]);
    // Only non-positive values: an error that names the log axis.
    let bad = Figure::new("bad log", "x", "y")
        .log_y()
        .with_series(Series::line("l", vec![(0.0, 0.0), (1.0, -1.0)]));
    let e = render(&bad).unwrap_err().to_string();
    assert!(e.contains("bad log") && e.contains("log y axis"), "{e}");
}

#[test]
fn empty_or_inconsistent_figures_are_errors() {
    let e = render(&Figure::new("empty", "x", "y")).unwrap_err();
    assert!(matches!(e, Error::Plot { .. }), "{e:?}");
    assert!(e.to_string().contains("no finite data"), "{e}");
    let nan =
        Figure::new("nan", "x", "y").with_series(Series::line("l", vec![(f64::NAN, f64::NAN)]));
    assert!(render(&nan)
        .unwrap_err()
        .to_string()
        .contains("no finite data"));
    let mismatched = Figure::new("m", "x", "y").with_series(Series::band(
        "b",
        vec![1.0, 2.0],
        vec![1.0],
        vec![0.1, 0.1],
    ));
    let e = render(&mismatched).unwrap_err().to_string();
    assert!(e.contains("series `b`") && e.contains("2, 1, 2"), "{e}");
    let tiny = integrand_figure().size(20, 10);
    assert!(render(&tiny).unwrap_err().to_string().contains("20x10"));
}

#[test]
fn single_point_gets_a_usable_range() {
    let fig =
        Figure::new("one", "x", "y").with_series(Series::points("p", vec![2.0], vec![-7.0], None));
    let (img, frame) = render_with_frame(&fig).unwrap();
    let (lo, hi) = frame.y_range();
    assert!(lo < -7.0 && hi > -7.0 && hi - lo < 5.0, "{lo}..{hi}");
    let p = frame.pixel(2.0, -7.0).unwrap();
    assert!(color_near(&img, p, 1, series_color(0), 0));
}

#[test]
fn write_png_writes_a_decodable_png_atomically() {
    let dir = std::env::temp_dir().join(format!("nti-plot-test-{}", std::process::id()));
    let path = dir.join("sub").join("gr.png");
    let fig = gr_figure().size(640, 400);
    write_png(&fig, &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let img = image::load_from_memory(&bytes).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (640, 400));
    assert_eq!(
        img,
        render(&fig).unwrap(),
        "decoded PNG differs from the rendered image"
    );
    // No temporary file is left next to it.
    let names: Vec<String> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["gr.png"]);
    // A failed render writes nothing.
    let bad = dir.join("bad.png");
    assert!(write_png(&Figure::new("empty", "x", "y"), &bad).is_err());
    assert!(!bad.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn rendering_is_deterministic_and_font_independent_of_the_system() {
    // Same figure twice: identical pixels (fonts come from the bundled bytes, not the system).
    let a = render(&density_figure()).unwrap();
    let b = render(&density_figure()).unwrap();
    assert_eq!(a, b);
}

#[test]
fn extreme_finite_values_do_not_panic() {
    // A span that overflows f64 is a clear error; a tiny one (1 … 1 + 1e-14) renders.
    let wide = Figure::new("wide", "x", "y")
        .with_series(Series::line("l", vec![(0.0, -1e308), (1.0, 1e308)]));
    let e = render(&wide).unwrap_err().to_string();
    assert!(e.contains("wide") && e.contains("too wide"), "{e}");
    let narrow = Figure::new("narrow", "x", "y")
        .with_series(Series::line("l", vec![(0.0, 1.0), (1.0, 1.0 + 1e-14)]));
    let (img, frame) = render_with_frame(&narrow).unwrap();
    assert_eq!(img.dimensions(), (DEFAULT_WIDTH, DEFAULT_HEIGHT));
    let (lo, hi) = frame.y_range();
    assert!(
        lo < 1.0 && hi > 1.0 + 1e-14 && frame.y_ticks().len() >= 3,
        "{lo}..{hi}"
    );
}

#[test]
fn single_point_ranges_are_padded_around_the_data() {
    // One density: ±10 % around it, not −0.3 … 0.7.
    let fig = Figure::new("one", "ρ", "βμ").with_series(Series::points(
        "p",
        vec![0.2],
        vec![-1.1],
        Some(vec![0.01]),
    ));
    let (_, frame) = render_with_frame(&fig).unwrap();
    let (lo, hi) = frame.x_range();
    assert!(
        (lo - 0.18).abs() < 1e-12 && (hi - 0.22).abs() < 1e-12,
        "{lo}..{hi}"
    );
    assert!(frame.x_ticks().len() >= 3, "{:?}", frame.x_ticks());
    // At zero: ±1.
    let zero = Figure::new("zero", "x", "y").with_series(Series::line("l", vec![(0.0, 3.0)]));
    let (_, frame) = render_with_frame(&zero).unwrap();
    assert_eq!(frame.x_range(), (-1.0, 1.0));
    // A horizontal line alone still has a vertical range around its value.
    let flat =
        Figure::new("flat", "x", "y").with_series(Series::line("l", vec![(0.0, 5.0), (1.0, 5.0)]));
    let (_, frame) = render_with_frame(&flat).unwrap();
    let (lo, hi) = frame.y_range();
    assert!(
        (lo - 4.5).abs() < 1e-12 && (hi - 5.5).abs() < 1e-12,
        "{lo}..{hi}"
    );
}

#[test]
fn dodged_markers_at_the_ends_stay_inside_the_plot() {
    // Nine methods at two close densities: the outermost markers are shifted 32 px sideways.
    let mut fig = Figure::new("many", "ρ", "βF");
    for k in 0..9 {
        let y = -20.0 + k as f64;
        fig = fig.with_series(Series::points(
            format!("m{k}"),
            vec![0.185, 0.19],
            vec![y, y + 0.5],
            Some(vec![0.3, 0.3]),
        ));
    }
    let (img, frame) = render_with_frame(&fig).unwrap();
    let (left, _, right, _) = frame.plot_area();
    let dodge = dodge_px(8, 9);
    assert_eq!(dodge, 4 * POINT_DODGE_PX);
    let (x_lo, _) = frame.pixel(0.185, -20.0).unwrap();
    let (x_hi, _) = frame.pixel(0.19, -11.5).unwrap();
    // Marker radius 5: the whole marker is inside the axes, with a few pixels to spare.
    assert!(
        x_lo as i32 - dodge - 6 > left as i32,
        "{x_lo} − {dodge} vs {left}"
    );
    assert!(
        x_hi as i32 + dodge + 6 < right as i32,
        "{x_hi} + {dodge} vs {right}"
    );
    // And the leftmost series' marker is drawn there.
    let (_, y) = frame.pixel(0.185, -20.0).unwrap();
    assert!(color_near(
        &img,
        ((x_lo as i32 - dodge) as u32, y),
        2,
        series_color(0),
        0
    ));
}

#[test]
fn horizontal_lines_span_the_plot_and_widen_only_the_y_range() {
    let fig = Figure::new("acc", "t", "accepted")
        .with_series(Series::line("a", vec![(0.0, 0.2), (1.0, 0.4)]))
        .with_series(
            Series::hline("target 0.57", 0.57)
                .dashed()
                .color([200, 30, 30]),
        );
    let (img, frame) = render_with_frame(&fig).unwrap();
    let (lo, hi) = frame.y_range();
    assert!(lo < 0.2 && hi > 0.57, "{lo}..{hi}");
    let (xlo, xhi) = frame.x_range();
    assert!(xlo > -0.1 && xhi < 1.1, "{xlo}..{xhi}");
    let (left, _, right, _) = frame.plot_area();
    let (_, row) = frame.pixel(0.5, 0.57).unwrap();
    let on_row = (left..=right)
        .filter(|&x| color_near(&img, (x, row), 1, [200, 30, 30], 0))
        .count();
    let width = (right - left) as usize;
    // Dashed 9 on, 6 off: about 60 % of the row (the legend covers a little).
    assert!(
        on_row > width / 2 && on_row < width * 9 / 10,
        "{on_row} of {width}"
    );
}

#[test]
fn bars_and_heatmap_cells_are_filled_with_their_colours() {
    let hist = Figure::new("hist", "ln w", "count").with_series(Series::bars(
        "annealed",
        vec![-3.0, -2.0, -1.0, 0.0],
        vec![2.0, 0.0, 5.0],
    ));
    let (img, frame) = render_with_frame(&hist).unwrap();
    let shade = series_color(0).map(|c| (f64::from(c) * 0.45 + 255.0 * 0.55).round() as u8);
    // Off the grid lines (which show through the translucent fill).
    let inside = frame.pixel(-0.43, 1.3).unwrap();
    assert!(
        color_near(&img, inside, 3, shade, 2),
        "{:?}",
        img.get_pixel(inside.0, inside.1)
    );
    // The empty bin and the space above a bar are background.
    for (x, y) in [(-1.5, 1.0), (-2.5, 3.0)] {
        let p = frame.pixel(x, y).unwrap();
        assert!(!color_near(&img, p, 0, shade, 2), "({x}, {y})");
    }
    let (lo, hi) = frame.y_range();
    assert!(lo < 0.0 && hi > 5.0, "bars start at 0: {lo}..{hi}");

    let values = vec![
        vec![0.8, 0.2, 0.0],
        vec![0.2, 0.6, 0.2],
        vec![0.0, 0.2, 0.8],
    ];
    let heat = Figure::new("overlap", "j", "i")
        .size(700, 700)
        .with_series(Series::heatmap(values.clone()));
    let (img, frame) = render_with_frame(&heat).unwrap();
    for (i, row) in values.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            // A quarter of the way into the cell, clear of the value written at its centre.
            let p = frame.pixel(j as f64 - 0.3, i as f64 - 0.3).unwrap();
            let want = heat_color(v / 0.8);
            assert!(
                color_near(&img, p, 0, want, 1),
                "cell ({i}, {j}): {:?} not {want:?}",
                img.get_pixel(p.0, p.1)
            );
        }
    }
    // The darkest cells carry their value in white.
    let centre = frame.pixel(0.0, 0.0).unwrap();
    assert!(color_near(&img, centre, 12, [255, 255, 255], 40));
}

#[test]
fn faint_series_and_widths_are_drawn_as_asked() {
    let steps: Vec<(f64, f64)> = (0..200).map(|i| (i as f64, 1.0 + (i % 7) as f64)).collect();
    let faint =
        Figure::new("loss", "step", "loss").with_series(Series::line("raw", steps.clone()).faint());
    let img = render(&faint).unwrap();
    // See-through: no pixel has the full colour, but lighter shades of it are there.
    assert_eq!(count_color(&img, series_color(0), 0), 0);
    let light = series_color(0).map(|c| (f64::from(c) * 0.35 + 255.0 * 0.65).round() as u8);
    assert!(count_color(&img, light, 3) > 200);
    let thin = render(
        &Figure::new("w", "x", "y").with_series(Series::line("l", vec![(0.0, 0.0), (1.0, 0.0)])),
    )
    .unwrap();
    let thick = render(
        &Figure::new("w", "x", "y")
            .with_series(Series::line("l", vec![(0.0, 0.0), (1.0, 0.0)]).width(4)),
    )
    .unwrap();
    let (a, b) = (
        count_color(&thin, series_color(0), 0),
        count_color(&thick, series_color(0), 0),
    );
    assert!(
        b as f64 > 1.6 * a as f64,
        "width 4: {b} pixels, width 2: {a}"
    );
}

/// An SVG element: its name, attributes and text content.
type SvgElement = (String, Vec<(String, String)>, String);

/// The elements of an SVG document by name, after parsing it as XML (a parse error fails).
fn svg_elements(svg: &str) -> Vec<SvgElement> {
    use xml::reader::{EventReader, XmlEvent};
    let mut out: Vec<SvgElement> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    for event in EventReader::from_str(svg) {
        match event.expect("the SVG is well-formed XML") {
            XmlEvent::StartElement {
                name, attributes, ..
            } => {
                let attrs = attributes
                    .into_iter()
                    .map(|a| (a.name.local_name, a.value))
                    .collect();
                open.push(out.len());
                out.push((name.local_name, attrs, String::new()));
            }
            XmlEvent::Characters(t) => {
                if let Some(&k) = open.last() {
                    out[k].2.push_str(t.trim());
                }
            }
            XmlEvent::EndElement { .. } => {
                open.pop();
            }
            _ => {}
        }
    }
    out
}

#[test]
fn svg_is_the_same_figure_with_text_as_text_elements() {
    let fig = density_figure();
    let svg = render_svg(&fig).unwrap();
    let elements = svg_elements(&svg);
    assert_eq!(elements[0].0, "svg");
    let attr = |e: &(String, Vec<(String, String)>, String), k: &str| {
        e.1.iter().find(|a| a.0 == k).map(|a| a.1.clone())
    };
    assert_eq!(attr(&elements[0], "width").as_deref(), Some("900"));
    assert_eq!(attr(&elements[0], "height").as_deref(), Some("600"));
    // Every text of the figure is a <text>: title, two axis labels, every tick label, every
    // legend entry, and nothing else.
    let (_, frame) = render_with_frame(&fig).unwrap();
    let texts: Vec<&str> = elements
        .iter()
        .filter(|e| e.0 == "text")
        .map(|e| e.2.as_str())
        .collect();
    let expected = 3 + frame.x_ticks().len() + frame.y_ticks().len() + fig.series.len();
    assert_eq!(texts.len(), expected, "{texts:?}");
    for t in [
        "Excess free energy per particle",
        "ρσ³",
        "βF_ex / N",
        "λ-TI",
        "equation of state",
    ] {
        assert!(texts.contains(&t), "no <text> {t}: {texts:?}");
    }
    for (_, label) in frame.x_ticks() {
        assert!(texts.contains(&label.as_str()), "tick {label}");
    }
    // No raster image inside, and markers as vector shapes: a circle per point of the first
    // series (and its legend entry).
    assert!(!elements.iter().any(|e| e.0 == "image"));
    let circles = elements.iter().filter(|e| e.0 == "circle").count();
    assert_eq!(circles, 5 + 1);
    // The dashed equation of state: many short pieces of its colour.
    let eos_colour = format!(
        "#{:02X}{:02X}{:02X}",
        series_color(3)[0],
        series_color(3)[1],
        series_color(3)[2]
    );
    let eos_paths = elements
        .iter()
        .filter(|e| e.0 == "polyline" && attr(e, "stroke").as_deref() == Some(eos_colour.as_str()))
        .count();
    assert!(eos_paths > 10, "{eos_paths} dashes");
}

#[test]
fn stacked_panels_and_write_figure_give_png_and_svg() {
    let top = integrand_figure().size(DEFAULT_WIDTH, 400);
    let bottom = loss_figure().size(700, 300);
    let (img, frames) = render_panels(&[top.clone(), bottom.clone()]).unwrap();
    assert_eq!(img.dimensions(), (DEFAULT_WIDTH, 700));
    // The second panel's frame lies in the lower 300 rows and its left 700 columns.
    let (l, t, r, b) = frames[1].plot_area();
    assert!(
        t > 400 && b < 700 && r < 700 && l < r,
        "{:?}",
        frames[1].plot_area()
    );
    let (_, t0, _, b0) = frames[0].plot_area();
    assert!(b0 < 400 && t0 < b0);
    let dir = std::env::temp_dir().join(format!("nti-plot-svg-{}", std::process::id()));
    let png = dir.join("stack.png");
    let svg = write_figure(&[top, bottom], &png).unwrap();
    assert_eq!(svg, dir.join("stack.svg"));
    let decoded = image::open(&png).unwrap().to_rgb8();
    assert_eq!(decoded, img);
    let text = std::fs::read_to_string(&svg).unwrap();
    let elements = svg_elements(&text);
    let titles: Vec<&str> = elements
        .iter()
        .filter(|e| e.0 == "text")
        .map(|e| e.2.as_str())
        .filter(|t| t.contains("TI integrand") || t.contains("Training loss"))
        .collect();
    assert_eq!(titles, ["TI integrand, N = 40", "Training loss"]);
    // A figure that cannot be drawn writes neither file.
    let bad = dir.join("bad.png");
    assert!(write_figure(&[Figure::new("empty", "x", "y")], &bad).is_err());
    assert!(!bad.exists() && !dir.join("bad.svg").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}
