//! The human-readable report of `nti-gpu run`: `report.md` and its figures (each a PNG and an
//! SVG of the same stem), rebuilt from what a run left in its output directory
//! (`results.json`, the sampler records `ti_N<N>_<estimator>.json` or the tables
//! `integrand_N<N>.csv`, `train_loss.csv`, the reference run's `gr_N<N>.csv` and
//! `thermo_N<N>.csv`, Widom's `widom_N<N>_running.csv`). Nothing is recomputed on the device;
//! a piece that is missing is left out of the report (and said so), never an error.
//!
//! Figures (one small function each; every caption says only what its figure draws):
//! - `integrand_N<N>.png`: ⟨∂_t Ũ⟩(t) of every estimator with its standard-error band, on
//!   the whole of [0, 1] (upper panel) and zoomed to t ≤ [`ZOOM_T`] (lower panel), where the
//!   integrand is steepest;
//! - `training_loss.png`: the denoising loss of every logged batch (faint) with its running
//!   mean, the probe losses at fixed t and the loss of the zero network, against the
//!   optimizer step (log y);
//! - `gr_N<N>.png`: g(r) of the generated samples at t = 0 of each sampler, with the
//!   reference samples' g(r) on top;
//! - `acceptance_N<N>.png`: the correctors' acceptance along t and its target;
//! - `free_energy.png` and `chemical_potential.png`: βF_ex and βμ_ex against density ρ = N/L³
//!   for every method (the headline included), with error bars;
//! - `ti_running_N<N>.png`: βF_ex against the number of trajectories used, per sampler;
//! - `widom_running_N<N>.png`: Widom's βμ_ex against the number of insertions;
//! - `weights_N<N>.png`: the histogram of the final importance log-weights (AIS, population
//!   annealing) and their effective sample size along t;
//! - `overlap_N<N>_<leg>.png`: the MBAR overlap matrix of each λ leg;
//! - `thermo_N<N>.png`: U/N, P and T of the reference run against MD time.
//!
//! `report.md` starts with the table a person reads first (βF_ex ± 1σ per method and N, βμ_ex,
//! wall time per stage), then the diagnostics, then the figures with one sentence each on how
//! to read them. Every file is written atomically.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::output::write_atomic;
use crate::report::plot::{
    series_color, write_figure, Figure, Series, DEFAULT_HEIGHT, DEFAULT_WIDTH,
};
use crate::scene::Estimator;
use crate::scene::{KnownValue, Scene};
use crate::ti::along_t;
use crate::ti::estimators::mean_band;
use crate::ti::record::{integrand_file, raw_file, RawRun};
use crate::train::LOSS_LOG_FILE;

/// File name of the report in the output directory.
pub const REPORT_FILE: &str = "report.md";
/// Upper end of the zoomed panel of the integrand figure.
pub const ZOOM_T: f64 = 0.1;
/// The sampler estimators, in the order of the tables and legends.
pub const ESTIMATORS: [Estimator; 4] = [
    Estimator::ReverseSde,
    Estimator::Corrected,
    Estimator::Annealed,
    Estimator::ForwardNoise,
];
/// Height in pixels of each panel of the integrand figure (two panels, stacked).
pub const INTEGRAND_PANEL_HEIGHT: u32 = 450;
/// Height in pixels of each panel of the importance-weight figure.
pub const WEIGHTS_PANEL_HEIGHT: u32 = 420;
/// Height in pixels of each panel of the reference run's thermo figure.
pub const THERMO_PANEL_HEIGHT: u32 = 320;
/// The stages of `nti-gpu run` in order, as keyed in `results.json`'s `wall_time_s`.
const STAGES: [&str; 4] = ["sample", "train", "baselines", "integrate"];

/// What [`write_report`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportFiles {
    /// `out_dir/report.md`.
    pub report: PathBuf,
    /// `out_dir/summary.csv` ([`crate::export::SUMMARY_FILE`]).
    pub summary: PathBuf,
    /// The PNG figures written, in the order the report lists them.
    pub plots: Vec<PathBuf>,
    /// The same figures as SVG (same stems), in the same order.
    pub svgs: Vec<PathBuf>,
}

/// Writes `report.md` and the PNG figures into `out_dir` from the files a run left there
/// (see the module doc). A missing `results.json` gives a report that says so; one that is
/// not JSON is an [`Error::Format`]. Figures whose data are missing are not drawn; a figure
/// that cannot be drawn (no finite data) is named in the report's notes instead.
pub fn write_report(scene: &Scene, out_dir: &Path) -> Result<ReportFiles> {
    let inputs = Inputs::read(scene, out_dir)?;
    let mut plots = Vec::new();
    let mut svgs = Vec::new();
    let mut notes = inputs.notes.clone();
    for figure in figures(&inputs) {
        match figure.write(out_dir) {
            Ok(svg) => {
                plots.push(figure);
                svgs.push(svg);
            }
            Err(Error::Plot { title, message }) => notes.push(format!(
                "figure `{}` ({title}) not drawn: {message}",
                figure.file
            )),
            Err(e) => return Err(e),
        }
    }
    let text = markdown(&inputs, &plots, &notes);
    let report = out_dir.join(REPORT_FILE);
    write_atomic(&report, text.as_bytes())?;
    let summary = out_dir.join(crate::export::SUMMARY_FILE);
    crate::export::write_summary(out_dir, &inputs.results)?;
    Ok(ReportFiles {
        report,
        summary,
        plots: plots.iter().map(|p| out_dir.join(&p.file)).collect(),
        svgs,
    })
}

// ---------------------------------------------------------------------------------------
// Inputs

/// Everything the report reads, gathered once.
struct Inputs<'a> {
    scene: &'a Scene,
    dir: PathBuf,
    /// results.json (an empty object when missing).
    results: Value,
    /// Particle counts with any result or record, ascending.
    counts: Vec<u32>,
    /// Sampler records per N, in [`ESTIMATORS`] order.
    raw: BTreeMap<u32, Vec<RawRun>>,
    /// Problems met while reading, for the report's notes.
    notes: Vec<String>,
}

impl<'a> Inputs<'a> {
    fn read(scene: &'a Scene, dir: &Path) -> Result<Self> {
        let mut notes = Vec::new();
        let path = dir.join("results.json");
        // Older schemas are upgraded on reading (crate::results::upgrade).
        let results = if path.exists() {
            crate::output::read_results(&path)?
        } else {
            notes.push("no results.json in the output directory: no numbers to report".into());
            serde_json::json!({})
        };
        let mut counts: Vec<u32> = ["free_energy", "reference"]
            .iter()
            .filter_map(|k| results.get(*k).and_then(Value::as_object))
            .flat_map(|o| o.keys().filter_map(|k| k.parse().ok()))
            .chain(scene.system.particles.iter().copied())
            .collect();
        counts.sort_unstable();
        counts.dedup();
        // Only the records results.json names: records of other particle counts or
        // estimators left by earlier runs are not this run's. Without results.json's free
        // energies there is nothing to mix them with, and every record is read.
        let named = |n: u32, e: Estimator| {
            results
                .get("free_energy")
                .and_then(Value::as_object)
                .is_none_or(|fe| {
                    fe.get(&n.to_string())
                        .and_then(|r| r.get(e.key()))
                        .is_some()
                })
        };
        let mut raw = BTreeMap::new();
        for &n in &counts {
            let runs: Vec<RawRun> = ESTIMATORS
                .iter()
                .filter(|&&e| named(n, e))
                .filter_map(|&e| read_raw(dir, n, e, &mut notes))
                .collect();
            raw.insert(n, runs);
        }
        Ok(Inputs {
            scene,
            dir: dir.to_path_buf(),
            results,
            counts,
            raw,
            notes,
        })
    }

    /// `free_energy.<N>`, if present.
    fn fe(&self, n: u32) -> Option<&Value> {
        self.results.get("free_energy")?.get(n.to_string())
    }

    /// Number density N/L³ of the scene's box.
    fn rho(&self, n: u32) -> f64 {
        n as f64 / self.scene.system.box_length.powi(3)
    }

    /// Counts that have a `free_energy` entry.
    fn fe_counts(&self) -> Vec<u32> {
        self.counts
            .iter()
            .copied()
            .filter(|&n| self.fe(n).is_some())
            .collect()
    }
}

fn read_raw(dir: &Path, n: u32, e: Estimator, notes: &mut Vec<String>) -> Option<RawRun> {
    let file = raw_file(n, e);
    let text = std::fs::read_to_string(dir.join(&file)).ok()?;
    match RawRun::from_json(&text, Path::new(&file)) {
        Ok(r) if r.n == n && r.estimator == e => Some(r),
        Ok(r) => {
            notes.push(format!(
                "{file} holds N = {} / {} instead: ignored",
                r.n,
                r.estimator.key()
            ));
            None
        }
        Err(err) => {
            notes.push(format!("not read: {err}"));
            None
        }
    }
}

/// The value at `path` under `v`.
fn get<'v>(v: &'v Value, path: &[&str]) -> Option<&'v Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

/// The finite number at `path` under `v`.
fn num(v: &Value, path: &[&str]) -> Option<f64> {
    get(v, path)?.as_f64().filter(|x| x.is_finite())
}

/// The string at `path` under `v`.
fn text<'v>(v: &'v Value, path: &[&str]) -> Option<&'v str> {
    get(v, path)?.as_str()
}

/// `{mean, err}` at `path` under `v`: the mean (finite) and its error if finite.
fn mean_err(v: &Value, path: &[&str]) -> Option<(f64, Option<f64>)> {
    let e = get(v, path)?;
    Some((num(e, &["mean"])?, num(e, &["err"])))
}

/// Reads a CSV of numbers: comment lines (`#`) skipped, the first other line is the header.
/// Returns the column names and the rows that parse completely; an empty cell is a missing
/// value (NaN).
fn read_csv(path: &Path) -> Option<(Vec<String>, Vec<Vec<f64>>)> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    let header: Vec<String> = lines
        .next()?
        .split(',')
        .map(|s| s.trim().to_string())
        .collect();
    let rows = lines
        .filter_map(|l| {
            l.split(',')
                .map(|s| match s.trim() {
                    "" => Some(f64::NAN),
                    s => s.parse::<f64>().ok(),
                })
                .collect::<Option<Vec<f64>>>()
        })
        .filter(|r| r.len() == header.len())
        .collect();
    Some((header, rows))
}

/// Column `name` of a CSV read by [`read_csv`].
fn column(csv: &(Vec<String>, Vec<Vec<f64>>), name: &str) -> Option<Vec<f64>> {
    let i = csv.0.iter().position(|h| h == name)?;
    Some(csv.1.iter().map(|r| r[i]).collect())
}

// ---------------------------------------------------------------------------------------
// Figures

/// One figure file: its panels (stacked vertically) and how to read it.
struct Plot {
    file: String,
    panels: Vec<Figure>,
    caption: String,
}

impl Plot {
    fn single(file: String, figure: Figure, caption: impl Into<String>) -> Self {
        Plot {
            file,
            panels: vec![figure],
            caption: caption.into(),
        }
    }

    /// Renders the panels, stacks them and writes the PNG and the SVG (same stem)
    /// atomically; returns the SVG's path.
    fn write(&self, dir: &Path) -> Result<PathBuf> {
        write_figure(&self.panels, &dir.join(&self.file))
    }
}

/// Every figure there are data for, in the order the report lists them.
fn figures(inputs: &Inputs) -> Vec<Plot> {
    let mut plots = Vec::new();
    for &n in &inputs.counts {
        plots.extend(integrand_plot(inputs, n));
    }
    plots.extend(loss_plot(inputs));
    for &n in &inputs.counts {
        plots.extend(gr_plot(inputs, n));
    }
    for &n in &inputs.counts {
        plots.extend(acceptance_plot(inputs, n));
    }
    plots.extend(free_energy_plot(inputs));
    plots.extend(chemical_potential_plot(inputs));
    for &n in &inputs.counts {
        plots.extend(ti_running_plot(inputs, n));
        plots.extend(widom_running_plot(inputs, n));
        plots.extend(weights_plot(inputs, n));
        plots.extend(overlap_plots(inputs, n));
        plots.extend(thermo_plot(inputs, n));
    }
    plots
}

/// Colour of reference curves and values drawn over the palette's series: near black.
pub const REFERENCE_COLOR: [u8; 3] = [20, 20, 20];
/// Colour of target lines (the correctors' acceptance target, thresholds).
pub const TARGET_COLOR: [u8; 3] = [200, 30, 30];

/// ⟨∂_t Ũ⟩(t) with its standard error per estimator at N: from the records, else the CSV.
/// An estimator's integrand curve: (estimator, t, mean, standard error).
type Band = (Estimator, Vec<f64>, Vec<f64>, Vec<f64>);

fn integrand_bands(inputs: &Inputs, n: u32) -> Vec<Band> {
    let from_raw: Vec<_> = inputs.raw[&n]
        .iter()
        .filter_map(|r| {
            let (mean, se) = mean_band(&r.integrand).ok()?;
            (mean.len() == r.grid.len()).then(|| (r.estimator, r.grid.clone(), mean, se))
        })
        .collect();
    if !from_raw.is_empty() {
        return from_raw;
    }
    let Some(csv) = read_csv(&inputs.dir.join(integrand_file(n))) else {
        return Vec::new();
    };
    let Some(t) = column(&csv, "t") else {
        return Vec::new();
    };
    ESTIMATORS
        .iter()
        .filter_map(|&e| {
            let mean = column(&csv, &format!("{}_mean", e.key()))?;
            let se = column(&csv, &format!("{}_se", e.key()))?;
            Some((e, t.clone(), mean, se))
        })
        .collect()
}

/// "a", "a and b", "a, b and c".
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

fn integrand_plot(inputs: &Inputs, n: u32) -> Option<Plot> {
    let bands = integrand_bands(inputs, n);
    if bands.is_empty() {
        return None;
    }
    let panel = |title: String, t_max: f64| {
        let mut fig =
            Figure::new(title, "t", "⟨∂_t Ũ⟩ (kT)").size(DEFAULT_WIDTH, INTEGRAND_PANEL_HEIGHT);
        for (e, t, m, se) in &bands {
            // Up to the first point past t_max, so that the curve reaches the panel's edge.
            let end = t.iter().position(|&x| x > t_max).map_or(t.len(), |k| k + 1);
            let (t, m, se) = (&t[..end], &m[..end.min(m.len())], &se[..end.min(se.len())]);
            fig = fig.with_series(Series::band(e.label(), t.to_vec(), m.to_vec(), se.to_vec()));
        }
        fig
    };
    let mut panels = vec![panel(format!("TI integrand, N = {n}"), f64::INFINITY)];
    // The zoom only when the grid has points on both sides of ZOOM_T.
    let t = &bands[0].1;
    let zoom = t.iter().filter(|&&x| x <= ZOOM_T).count() >= 3 && t.iter().any(|&x| x > ZOOM_T);
    if zoom {
        panels.push(panel(
            format!("TI integrand, N = {n}: t ≤ {ZOOM_T}"),
            ZOOM_T,
        ));
    }
    let names: Vec<String> = bands.iter().map(|b| b.0.label().to_string()).collect();
    let parting = if bands.len() > 1 {
        "; where curves part the estimators disagree"
    } else {
        ""
    };
    Some(Plot {
        file: format!("integrand_N{n}.png"),
        panels,
        caption: format!(
            "the mean of ∂_t Ũ over trajectories at each time t with its standard-error band \
             ({}){}; βF_ex is minus the area under a curve{parting}.",
            and_list(&names),
            if zoom {
                format!(", whole path above and t ≤ {ZOOM_T} (where it is steepest) below")
            } else {
                String::new()
            }
        ),
    })
}

/// Points of a running mean over the last `window` values (fewer at the start).
fn running_mean(points: &[(f64, f64)], window: usize) -> Vec<(f64, f64)> {
    let window = window.max(1);
    (0..points.len())
        .map(|i| {
            let from = (i + 1).saturating_sub(window);
            let w = &points[from..=i];
            (
                points[i].0,
                w.iter().map(|p| p.1).sum::<f64>() / w.len() as f64,
            )
        })
        .collect()
}

fn loss_plot(inputs: &Inputs) -> Option<Plot> {
    let csv = read_csv(&inputs.dir.join(LOSS_LOG_FILE))?;
    let (step, loss) = (column(&csv, "step")?, column(&csv, "loss")?);
    let raw: Vec<(f64, f64)> = step
        .iter()
        .copied()
        .zip(loss)
        .filter(|p| p.0.is_finite() && p.1.is_finite() && p.1 > 0.0)
        .collect();
    if raw.is_empty() {
        return None;
    }
    // The logged losses are each one batch's: the running mean over about a tenth of them
    // (at least 3) shows the trend through their scatter.
    let window = (raw.len() / 10).clamp(3, 50);
    let smooth = running_mean(&raw, window);
    let mut fig = Figure::new("Training loss", "optimizer step", "denoising loss")
        .log_y()
        .with_series(
            Series::line("loss of the logged batch", raw.iter().copied())
                .faint()
                .color(series_color(0)),
        );
    let mut said = vec![format!(
        "the denoising score-matching loss of the batch at each of the {} logged steps (faint)",
        raw.len()
    )];
    if raw.len() >= window {
        fig = fig.with_series(
            Series::line(format!("running mean of {window}"), smooth)
                .color(series_color(0))
                .width(3),
        );
        said.push(format!(
            "its running mean over {window} logged steps (thick)"
        ));
    }
    let mut probes = Vec::new();
    for (name, values) in probe_columns(&csv) {
        let points: Vec<(f64, f64)> = step
            .iter()
            .copied()
            .zip(values)
            .filter(|p| p.1.is_finite() && p.1 > 0.0)
            .collect();
        if !points.is_empty() {
            fig = fig.with_series(Series::line(format!("t = {name}"), points));
            probes.push(name);
        }
    }
    if !probes.is_empty() {
        let average = num(
            &inputs.results,
            &["scene", "training", "optimizer", "average"],
        );
        said.push(format!(
            "the loss on fixed probe batches at t = {}{}",
            and_list(&probes),
            match average {
                Some(d) => format!(
                    " of the parameters' moving average (decay {d}), the model the samplers use"
                ),
                None => String::new(),
            }
        ));
    }
    let zero = num(&inputs.results, &["training", "zero_network_loss"]).filter(|z| *z > 0.0);
    if let Some(zero) = zero {
        fig = fig.with_series(
            Series::hline("zero network", zero)
                .dashed()
                .color(REFERENCE_COLOR),
        );
        said.push("the loss of the zero network on the last batch (dashed)".into());
    }
    let mut caption = format!(
        "{} against the optimizer step, on a log scale; ",
        and_list(&said)
    );
    caption.push_str(if zero.is_some() {
        "training has learnt where the loss lies below the zero network's, and has \
         converged where the curves level off."
    } else {
        "training has converged where the curves level off."
    });
    Some(Plot::single("training_loss.png".into(), fig, caption))
}

fn gr_plot(inputs: &Inputs, n: u32) -> Option<Plot> {
    let reference = read_csv(&inputs.dir.join(format!("gr_N{n}.csv")))
        .and_then(|csv| Some((column(&csv, "r")?, column(&csv, "g")?)));
    let generated: Vec<&RawRun> = inputs.raw[&n].iter().filter(|r| !r.gr.is_empty()).collect();
    if generated.is_empty() {
        return None;
    }
    let mut fig = Figure::new(format!("g(r) at t = 0, N = {n}"), "r (σ)", "g(r)");
    let names: Vec<String> = generated
        .iter()
        .map(|r| r.estimator.label().to_string())
        .collect();
    for raw in generated {
        fig = fig.with_series(Series::line(raw.estimator.label(), raw.gr.iter().copied()));
    }
    // The reference last, on top of the samplers' noisier curves, thick and dashed.
    let with_reference = reference.is_some();
    if let Some((r, g)) = reference {
        fig = fig.with_series(
            Series::line("reference samples", r.into_iter().zip(g))
                .dashed()
                .width(3)
                .color(REFERENCE_COLOR),
        );
    }
    let caption = if with_reference {
        format!(
            "the radial distribution function of the configurations each sampler generated at \
             t = 0 ({}) against that of the reference samples (thick dashed, on top); a \
             sampler whose peak or core edge differs samples the wrong fluid.",
            and_list(&names)
        )
    } else {
        format!(
            "the radial distribution function of the configurations each sampler generated at \
             t = 0 ({}); the reference samples' g(r) (gr_N{n}.csv) is missing.",
            and_list(&names)
        )
    };
    Some(Plot::single(format!("gr_N{n}.png"), fig, caption))
}

/// The MALA correctors' acceptance rate against t at N, per estimator that ran them, with
/// the step-size controller's target.
fn acceptance_plot(inputs: &Inputs, n: u32) -> Option<Plot> {
    let runs: Vec<&RawRun> = inputs.raw[&n]
        .iter()
        .filter(|r| r.acceptance.len() == r.grid.len() && !r.grid.is_empty())
        .collect();
    if runs.is_empty() {
        return None;
    }
    let mut fig = Figure::new(
        format!("MALA acceptance along t, N = {n}"),
        "t",
        "accepted fraction",
    );
    for raw in runs {
        fig = fig.with_series(Series::line(
            raw.estimator.label(),
            raw.grid.iter().copied().zip(raw.acceptance.iter().copied()),
        ));
    }
    let target = inputs.scene.integration().target_accept;
    fig = fig.with_series(
        Series::hline(format!("target {target}"), target)
            .dashed()
            .color(TARGET_COLOR),
    );
    Some(Plot::single(
        format!("acceptance_N{n}.png"),
        fig,
        format!(
            "the fraction of corrector proposals accepted at each t, and the target {target} \
             (dashed) the step size adapts towards, per population between grid points; a dip \
             below the target marks where the model's p_t is hardest to sample, and where the \
             estimates depend most on enough corrector steps."
        ),
    ))
}

/// One series of a density figure: label and, per N, (ρ, value, error).
type DensitySeries = (String, Vec<(f64, f64, Option<f64>)>);

/// A figure of one quantity against ρ, or None when no method has a finite value; with the
/// labels of the series drawn.
fn density_figure(
    title: &str,
    y_label: &str,
    series: Vec<DensitySeries>,
) -> Option<(Figure, Vec<String>)> {
    let mut fig = Figure::new(title, "ρ = N/L³ (σ⁻³)", y_label);
    let mut drawn = Vec::new();
    for (label, pts) in series.into_iter().filter(|(_, p)| !p.is_empty()) {
        let x = pts.iter().map(|p| p.0).collect();
        let y = pts.iter().map(|p| p.1).collect();
        let err = pts.iter().map(|p| p.2.unwrap_or(0.0)).collect();
        drawn.push(label.clone());
        fig = fig.with_series(Series::points(label, x, y, Some(err)));
    }
    (!fig.series.is_empty()).then_some((fig, drawn))
}

/// (ρ, mean, err) for every N where `value` finds a number.
fn per_density(
    inputs: &Inputs,
    value: impl Fn(&Value, u32) -> Option<(f64, Option<f64>)>,
) -> Vec<(f64, f64, Option<f64>)> {
    inputs
        .fe_counts()
        .into_iter()
        .filter_map(|n| {
            let (m, e) = value(inputs.fe(n)?, n)?;
            Some((inputs.rho(n), m, e))
        })
        .collect()
}

/// Labels of the free-energy figure's methods, in drawing order.
pub const HEADLINE_LABEL: &str = "neural TI (headline)";

fn free_energy_plot(inputs: &Inputs) -> Option<Plot> {
    let mut series: Vec<DensitySeries> = vec![(
        HEADLINE_LABEL.into(),
        per_density(inputs, |fe, _| mean_err(fe, &["neural_ti", "betaF_ex"])),
    )];
    series.extend(ESTIMATORS.iter().map(|e| {
        let pts = per_density(inputs, |fe, _| mean_err(fe, &[e.key(), "betaF_ex"]));
        (format!("TI, {}", e.label()), pts)
    }));
    for (label, path) in [
        ("importance-weighted TI", &["weighted_ti", "betaF_ex"][..]),
        ("AIS", &["ais", "betaF_ex"][..]),
        ("λ-TI (reference)", &["lambda_ti"][..]),
        ("EOS (Kolafa–Nezbeda)", &["eos"][..]),
    ] {
        series.push((
            label.into(),
            per_density(inputs, |fe, _| mean_err(fe, path)),
        ));
    }
    let (fig, drawn) = density_figure("Excess free energy", "βF_ex", series)?;
    let several = drawn.len() > 1;
    let caption = format!(
        "βF_ex of the whole box against density with 1σ error bars: {}{}{}",
        and_list(&drawn),
        if several {
            " (markers of different methods at one density are shifted sideways a little)"
        } else {
            ""
        },
        if several {
            "; methods that agree overlap within their bars."
        } else {
            "."
        }
    );
    Some(Plot::single("free_energy.png".into(), fig, caption))
}

/// Points of a series against density: (ρ, value, error).
type DensityPoints = Vec<(f64, f64, Option<f64>)>;

fn chemical_potential_plot(inputs: &Inputs) -> Option<Plot> {
    let widom = |converged: bool| {
        per_density(inputs, move |fe, _| {
            let w = fe.get("widom")?;
            (w["converged"].as_bool().unwrap_or(true) == converged)
                .then(|| mean_err(w, &[]))
                .flatten()
        })
    };
    // (label, points, what the caption says of it)
    let candidates: Vec<(&str, DensityPoints, &str)> = vec![
        (
            "neural TI, βF_ex(N+1) − βF_ex(N)",
            per_density(inputs, |fe, _| mean_err(fe, &["neural_ti", "betamu_ex"])),
            "neural TI as βF_ex(N+1) − βF_ex(N) where N + 1 was evaluated",
        ),
        (
            "neural TI, spline of βF_ex(N)",
            spline_betamu(inputs, false),
            "neural TI from the spline of the headline βF_ex(N) (at N, unseen counts included)",
        ),
        (
            "neural TI, spline, N + 1 past its end",
            spline_betamu(inputs, true),
            "at the largest N, the spline's last cubic continued by one particle (separate \
             marker)",
        ),
        (
            "λ-TI, finite differences",
            lambda_ti_differences(inputs),
            "the λ-window TI's [βF_ex(N₂) − βF_ex(N₁)] / (N₂ − N₁) between neighbouring counts \
             (at the mean density)",
        ),
        (
            "Widom",
            widom(true),
            "Widom insertion into the reference samples",
        ),
        (
            "Widom, not converged",
            widom(false),
            "Widom insertion where too few insertions carry the weight (separate markers)",
        ),
        (
            "EOS (Kolafa–Nezbeda)",
            per_density(inputs, |fe, _| eos_betamu(fe)),
            "the equation of state (error: Kolafa–Nezbeda against Johnson)",
        ),
    ];
    let said: Vec<String> = candidates
        .iter()
        .filter(|c| !c.1.is_empty())
        .map(|c| c.2.to_string())
        .collect();
    let series: Vec<DensitySeries> = candidates
        .into_iter()
        .map(|(label, pts, _)| (label.to_string(), pts))
        .collect();
    let (fig, _) = density_figure("Excess chemical potential", "βμ_ex", series)?;
    Some(Plot::single(
        "chemical_potential.png".into(),
        fig,
        format!(
            "βμ_ex against density with 1σ error bars: {}.",
            and_list(&said)
        ),
    ))
}

/// βF_ex against the number of trajectories used, per sampler record of N: the mean of the
/// first k per-trajectory estimates −Σ_k w_k y_ck with its standard error.
fn ti_running_plot(inputs: &Inputs, n: u32) -> Option<Plot> {
    let rule = inputs.scene.integration().rule;
    let mut fig = Figure::new(
        format!("Running TI estimate, N = {n}"),
        "trajectories used",
        "βF_ex",
    );
    let mut names = Vec::new();
    for run in &inputs.raw[&n] {
        let Ok(w) = crate::quadrature::weights(rule, &run.grid) else {
            continue;
        };
        let Ok(integrals) = crate::ti::estimators::trajectory_integrals(&run.integrand, &w) else {
            continue;
        };
        if integrals.len() < 2 {
            continue;
        }
        let (mut x, mut y, mut err) = (Vec::new(), Vec::new(), Vec::new());
        let (mut s, mut s2) = (0.0, 0.0);
        for (k, &i) in integrals.iter().enumerate() {
            let f = -i;
            s += f;
            s2 += f * f;
            let c = (k + 1) as f64;
            if k == 0 {
                continue;
            }
            let mean = s / c;
            let var = ((s2 - c * mean * mean) / (c - 1.0)).max(0.0);
            x.push(c);
            y.push(mean);
            err.push((var / c).sqrt());
        }
        names.push(run.estimator.label().to_string());
        fig = fig.with_series(Series::band(
            format!("TI, {}", run.estimator.label()),
            x,
            y,
            err,
        ));
    }
    if names.is_empty() {
        return None;
    }
    Some(Plot::single(
        format!("ti_running_N{n}.png"),
        fig,
        format!(
            "βF_ex from the first k trajectories against k, with the standard-error band, for \
             {}: a curve still drifting at the right end has not converged, and the band \
             narrows as 1/√k while the trajectories are independent.",
            and_list(&names)
        ),
    ))
}

/// Widom's βμ_ex against the number of insertions: from `widom_N<N>_running.csv` (with its
/// error band), else from results.json's `running` (without).
fn widom_running_plot(inputs: &Inputs, n: u32) -> Option<Plot> {
    let file = crate::export::widom_running_file(n);
    let from_csv = read_csv(&inputs.dir.join(&file)).and_then(|csv| {
        let x = column(&csv, "insertions")?;
        let y = column(&csv, "betamu_ex")?;
        let e = column(&csv, "err")?;
        (!x.is_empty()).then_some((x, y, e))
    });
    let mut fig = Figure::new(
        format!("Running Widom estimate, N = {n}"),
        "insertions used",
        "βμ_ex",
    );
    let band = from_csv.is_some();
    if let Some((x, y, e)) = from_csv {
        fig = fig.with_series(Series::band("Widom", x, y, e));
    } else {
        let w = inputs.fe(n)?.get("widom")?;
        let tail = num(w, &["betamu_tail"]).unwrap_or(0.0);
        let points: Vec<(f64, f64)> = w["running"]
            .as_array()?
            .iter()
            .filter_map(|p| Some((p.get(0)?.as_f64()?, p.get(1)?.as_f64()? + tail)))
            .collect();
        if points.is_empty() {
            return None;
        }
        fig = fig.with_series(Series::line("Widom", points));
    }
    Some(Plot::single(
        format!("widom_running_N{n}.png"),
        fig,
        format!(
            "βμ_ex from the insertions into the first tenths of the reference configurations \
             against the insertions used{}; jumps when a rare favourable insertion enters mean \
             the average is carried by few insertions.",
            if band {
                ", with the standard-error band"
            } else {
                ""
            }
        ),
    ))
}

/// The final importance log-weights of the runs with weights at N, relative to the largest:
/// (label, ln w − max ln w per trajectory, ESS fraction along t when the weights are known
/// at every grid point).
type WeightRun = (String, Vec<f64>, Option<Vec<(f64, f64)>>);

fn weight_runs(inputs: &Inputs, n: u32) -> Vec<WeightRun> {
    let mut out = Vec::new();
    for run in &inputs.raw[&n] {
        let c = run.integrand.len();
        let points = run.grid.len();
        let pops = run.log_norm.len();
        let full = c > 0
            && run.log_weight.len() == c
            && pops > 0
            && c % pops == 0
            && run.log_weight.iter().all(|r| r.len() == points)
            && run.log_norm.iter().all(|r| r.len() == points);
        let (finals, ess) = if full {
            let g = crate::ti::estimators::global_log_weights(&run.log_weight, &run.log_norm);
            let ess: Vec<(f64, f64)> = (0..points)
                .map(|k| {
                    let m = g.iter().map(|r| r[k]).fold(f64::NEG_INFINITY, f64::max);
                    let (s, s2) = g.iter().fold((0.0, 0.0), |(s, s2), r| {
                        let e = (r[k] - m).exp();
                        (s + e, s2 + e * e)
                    });
                    (run.grid[k], s * s / s2 / c as f64)
                })
                .collect();
            (g.iter().map(|r| r[0]).collect::<Vec<f64>>(), Some(ess))
        } else if run.estimator == Estimator::Annealed && run.work.len() == c && c > 0 {
            (run.work.iter().map(|w| -w).collect(), None)
        } else {
            continue;
        };
        let max = finals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !max.is_finite() {
            continue;
        }
        let rel = finals.iter().map(|g| g - max).collect();
        out.push((run.estimator.label().to_string(), rel, ess));
    }
    out
}

/// Histogram counts of `values` over `bins` equal bins spanning `[lo, hi]`.
fn histogram(values: &[f64], lo: f64, hi: f64, bins: usize) -> (Vec<f64>, Vec<f64>) {
    let width = (hi - lo) / bins as f64;
    let edges = (0..=bins).map(|i| lo + width * i as f64).collect();
    let mut counts = vec![0.0; bins];
    for &v in values.iter().filter(|v| v.is_finite()) {
        let i = (((v - lo) / width) as usize).min(bins - 1);
        counts[i] += 1.0;
    }
    (edges, counts)
}

/// AIS / population annealing at N: the histogram of the final log-weights and the
/// effective sample size of the weights along t.
fn weights_plot(inputs: &Inputs, n: u32) -> Option<Plot> {
    let runs = weight_runs(inputs, n);
    if runs.is_empty() {
        return None;
    }
    let all: Vec<f64> = runs
        .iter()
        .flat_map(|r| r.1.iter().copied())
        .filter(|v| v.is_finite())
        .collect();
    let lo = all.iter().copied().fold(0.0, f64::min);
    let lo = if lo < 0.0 { lo } else { -1.0 };
    let bins = ((all.len() as f64).sqrt().round() as usize).clamp(5, 40);
    let mut hist = Figure::new(
        format!("Final importance log-weights, N = {n}"),
        "ln w − max ln w at t = 0 (kT)",
        "trajectories",
    )
    .size(DEFAULT_WIDTH, WEIGHTS_PANEL_HEIGHT);
    for (label, rel, _) in &runs {
        let (edges, counts) = histogram(rel, lo, 0.0, bins);
        hist = hist.with_series(Series::bars(label.clone(), edges, counts));
    }
    let mut panels = vec![hist];
    let with_ess: Vec<&WeightRun> = runs.iter().filter(|r| r.2.is_some()).collect();
    if !with_ess.is_empty() {
        let mut ess = Figure::new(
            format!("Effective sample size of the weights along t, N = {n}"),
            "t",
            "ESS / trajectories",
        )
        .size(DEFAULT_WIDTH, WEIGHTS_PANEL_HEIGHT);
        for (i, (label, _, e)) in runs.iter().enumerate() {
            if let Some(e) = e {
                ess =
                    ess.with_series(Series::line(label.clone(), e.clone()).color(series_color(i)));
            }
        }
        let floor = crate::ti::record::MIN_AIS_ESS_FRACTION;
        ess = ess.with_series(
            Series::hline(format!("{:.0} %", 100.0 * floor), floor)
                .dashed()
                .color(TARGET_COLOR),
        );
        panels.push(ess);
    }
    let names: Vec<String> = runs.iter().map(|r| r.0.clone()).collect();
    let mut caption = format!(
        "the final importance log-weights (minus the work) of the trajectories of {}, relative \
         to the largest: a wide spread means few trajectories carry the exponential average",
        and_list(&names)
    );
    if panels.len() > 1 {
        let floor = 100.0 * crate::ti::record::MIN_AIS_ESS_FRACTION;
        let _ = write!(
            caption,
            "; below, the effective sample size (Σw)²/Σw² of the weights at each t as a \
             fraction of the trajectories, with the {floor:.0} % the headline asks of AIS \
             (dashed); it falls from t = 1 towards t = 0 and, with resampling, recovers after \
             each resampling step"
        );
    }
    caption.push('.');
    Some(Plot {
        file: format!("weights_N{n}.png"),
        panels,
        caption,
    })
}

/// The MBAR overlap matrix of every λ leg of N that has one.
fn overlap_plots(inputs: &Inputs, n: u32) -> Vec<Plot> {
    let Some(legs) = inputs
        .fe(n)
        .and_then(|fe| get(fe, &["lambda_ti", "legs"]))
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    legs.iter()
        .enumerate()
        .filter_map(|(k, leg)| {
            let rows: Vec<Vec<f64>> = leg
                .get("mbar_overlap")?
                .as_array()?
                .iter()
                .map(|r| {
                    r.as_array()
                        .map(|r| r.iter().map(|v| v.as_f64().unwrap_or(f64::NAN)).collect())
                })
                .collect::<Option<_>>()?;
            if rows.is_empty() || rows.iter().any(|r| r.len() != rows.len()) {
                return None;
            }
            let key = leg
                .get("path")
                .and_then(|p| {
                    serde_json::from_value::<crate::reference::alchemical_energies::AlchemicalPath>(
                        p.clone(),
                    )
                    .ok()
                })
                .map_or_else(|| format!("leg{k}"), |p| crate::export::path_key(p).into());
            let lambdas: Vec<String> = leg
                .get("windows")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|w| w.get("lambda").and_then(Value::as_f64))
                .map(|l| format!("{l:.2}"))
                .collect();
            let states = rows.len();
            let side = (DEFAULT_HEIGHT + 100).max(DEFAULT_WIDTH.min(60 * states as u32 + 200));
            let fig = Figure::new(
                format!("MBAR overlap, N = {n}, leg {key}"),
                "state j (window, ascending λ)",
                "state i (window, ascending λ)",
            )
            .size(side, side)
            .with_series(Series::heatmap(rows));
            let min = num(leg, &["mbar_min_overlap"]).map_or(String::new(), |m| {
                format!("; the smallest neighbour overlap is {}", format_value(m))
            });
            let lam = if lambdas.len() == states {
                format!(" (λ = {})", lambdas.join(", "))
            } else {
                String::new()
            };
            Some(Plot::single(
                format!("overlap_N{n}_{key}.png"),
                fig,
                format!(
                    "the MBAR overlap matrix O_ij of the {states} windows of leg {key}{lam}, \
                     white 0 to dark the largest value: the probability that a sample of \
                     window i is attributed to window j; MBAR is reliable when the cells next \
                     to the diagonal are well above 0.03{min}."
                ),
            ))
        })
        .collect()
}

/// The reference run's U/N, P and T against MD time, from `thermo_N<N>.csv`.
fn thermo_plot(inputs: &Inputs, n: u32) -> Option<Plot> {
    let csv = read_csv(&inputs.dir.join(format!("thermo_N{n}.csv")))?;
    let time = column(&csv, "time")?;
    if time.len() < 2 {
        return None;
    }
    let mut panels = Vec::new();
    let mut drawn = Vec::new();
    for (key, title, unit) in [
        ("u_per_particle", "potential energy per particle", "U/N"),
        ("pressure", "pressure", "P"),
        ("temperature", "kinetic temperature", "T"),
    ] {
        let Some(y) = column(&csv, key) else { continue };
        let sem = column(&csv, &format!("{key}_sem")).unwrap_or_else(|| vec![0.0; y.len()]);
        let sem: Vec<f64> = sem
            .into_iter()
            .map(|e| if e.is_finite() { e } else { 0.0 })
            .collect();
        let mut fig = Figure::new(format!("Reference run, N = {n}: {title}"), "MD time", unit)
            .size(DEFAULT_WIDTH, THERMO_PANEL_HEIGHT)
            .with_series(Series::band(
                "mean over replicas ± standard error",
                time.clone(),
                y,
                sem,
            ));
        if key == "temperature" {
            let kt = inputs.scene.system.temperature;
            fig = fig.with_series(
                Series::hline(format!("thermostat kT = {kt}"), kt)
                    .dashed()
                    .color(REFERENCE_COLOR),
            );
        }
        panels.push(fig);
        drawn.push(unit.to_string());
    }
    if panels.is_empty() {
        return None;
    }
    let thermostat = drawn.iter().any(|d| d == "T");
    Some(Plot {
        file: format!("thermo_N{n}.png"),
        panels,
        caption: format!(
            "{} of the reference run's production phase against MD time, the mean over the \
             replicas with its standard-error band{}; a drift means the run was not yet in \
             equilibrium.",
            and_list(&drawn),
            if thermostat {
                ", and the thermostat's kT (dashed)"
            } else {
                ""
            }
        ),
    })
}

/// βμ_ex(N → N+1) from the spline of the headline βF_ex(N) (`grand_canonical` in
/// results.json), at ρ = N/L³: the points within the spline's range, or (`extrapolated`)
/// the one at its largest N, whose N + 1 lies one particle past it.
fn spline_betamu(inputs: &Inputs, extrapolated: bool) -> Vec<(f64, f64, Option<f64>)> {
    inputs.results["grand_canonical"]["betamu_ex_spline"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["extrapolated"].as_bool().unwrap_or(false) == extrapolated)
        .filter_map(|p| {
            let n = p["n"].as_u64()? as u32;
            Some((inputs.rho(n), p["mean"].as_f64()?, p["err"].as_f64()))
        })
        .collect()
}

/// [βF_ex(N₂) − βF_ex(N₁)] / (N₂ − N₁) of the λ-window TI between neighbouring counts with
/// a value, at the mean density, the errors added in quadrature.
fn lambda_ti_differences(inputs: &Inputs) -> Vec<(f64, f64, Option<f64>)> {
    let values: Vec<(u32, f64, f64)> = inputs
        .fe_counts()
        .into_iter()
        .filter_map(|n| {
            let (m, e) = mean_err(inputs.fe(n)?.get("lambda_ti")?, &[])?;
            Some((n, m, e.unwrap_or(0.0)))
        })
        .collect();
    values
        .windows(2)
        .map(|w| {
            let ((n1, f1, e1), (n2, f2, e2)) = (w[0], w[1]);
            let dn = f64::from(n2 - n1);
            (
                0.5 * (inputs.rho(n1) + inputs.rho(n2)),
                (f2 - f1) / dn,
                Some(e1.hypot(e2) / dn),
            )
        })
        .collect()
}

/// βμ_ex of the equation of state (Kolafa–Nezbeda), err = |KN − JZG|.
fn eos_betamu(fe: &Value) -> Option<(f64, Option<f64>)> {
    let kn = num(fe, &["eos", "kolafa_nezbeda", "betamu_ex"])?;
    let jzg = num(fe, &["eos", "johnson", "betamu_ex"]);
    Some((kn, jzg.map(|j| (kn - j).abs())))
}

// ---------------------------------------------------------------------------------------
// Number formatting

/// `x` with `decimals` decimals and a typographic minus sign (no "−0.00").
fn fixed(x: f64, decimals: usize) -> String {
    let s = format!("{x:.decimals$}");
    if s.trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        s.trim_start_matches('-').to_string()
    } else {
        s.replace('-', "−")
    }
}

/// Decimals that show two significant digits of `scale` (0 to 6).
fn decimals_for(scale: f64) -> usize {
    if !(scale.is_finite() && scale > 0.0) {
        return 2;
    }
    (1 - scale.log10().floor() as i64).clamp(0, 6) as usize
}

/// A number alone, with four significant digits (at most six decimals), or "n/a".
fn format_value(x: f64) -> String {
    if !x.is_finite() {
        return "n/a".into();
    }
    if x != 0.0 && (x.abs() >= 1e6 || x.abs() < 1e-4) {
        return format!("{x:.3e}").replace('-', "−");
    }
    let d = if x == 0.0 {
        0
    } else {
        (3 - x.abs().log10().floor() as i64).clamp(0, 6) as usize
    };
    fixed(x, d)
}

/// "mean ± err" with the err's two significant digits deciding the decimals, e.g.
/// "−22.34 ± 0.21"; the mean alone when there is no finite error.
fn format_pm(mean: f64, err: Option<f64>) -> String {
    match err.filter(|e| e.is_finite() && *e > 0.0) {
        Some(e) => {
            let d = decimals_for(e);
            format!("{} ± {}", fixed(mean, d), fixed(e, d))
        }
        None => format_value(mean),
    }
}

/// A duration in seconds, in the unit that reads best.
fn format_seconds(s: f64) -> String {
    if !s.is_finite() {
        "n/a".into()
    } else if s < 60.0 {
        format!("{s:.1} s")
    } else if s < 3600.0 {
        format!("{} min {:02} s", (s / 60.0).floor(), (s % 60.0).floor())
    } else {
        format!(
            "{} h {:02} min",
            (s / 3600.0).floor(),
            ((s % 3600.0) / 60.0).floor()
        )
    }
}

fn opt_value(x: Option<f64>) -> String {
    x.map_or_else(|| "—".into(), format_value)
}

/// A count (a JSON integer) or a list of counts ("40, 41": joint training on several N),
/// or "—".
fn count_list(v: &Value, path: &[&str]) -> String {
    match get(v, path) {
        Some(Value::Array(items)) => {
            let counts: Vec<String> = items
                .iter()
                .filter_map(Value::as_u64)
                .map(|c| c.to_string())
                .collect();
            if counts.is_empty() || counts.len() != items.len() {
                "—".into()
            } else {
                counts.join(", ")
            }
        }
        _ => opt_count(v, path),
    }
}

/// A count (a JSON integer), or "—".
fn opt_count(v: &Value, path: &[&str]) -> String {
    get(v, path)
        .and_then(Value::as_u64)
        .map_or_else(|| "—".into(), |c| c.to_string())
}

// ---------------------------------------------------------------------------------------
// report.md

fn markdown(inputs: &Inputs, plots: &[Plot], notes: &[String]) -> String {
    let mut md = String::new();
    header(&mut md, inputs);
    summary_table(&mut md, inputs);
    wall_times(&mut md, inputs);
    md.push_str("\n## Diagnostics\n");
    for &n in &inputs.counts {
        sampler_diagnostics(&mut md, inputs, n);
        baseline_diagnostics(&mut md, inputs, n);
        reference_diagnostics(&mut md, inputs, n);
    }
    training_diagnostics(&mut md, inputs);
    run_info(&mut md, inputs);
    plot_list(&mut md, plots);
    if !notes.is_empty() {
        md.push_str("\n## Notes\n\n");
        for n in notes {
            let _ = writeln!(md, "- {n}");
        }
    }
    md
}

fn header(md: &mut String, inputs: &Inputs) {
    let s = &inputs.scene.system;
    let _ = writeln!(md, "# nti-gpu report: {}\n", inputs.scene.name);
    let _ = writeln!(
        md,
        "Lennard-Jones fluid, kT = {}, ε = {}, σ = {}, box L = {}, potential {}. \
         Free energies are in units of kT (βF_ex, βμ_ex); errors are 1σ.",
        s.temperature,
        s.epsilon,
        s.sigma,
        s.box_length,
        ron::to_string(&s.potential).unwrap_or_default(),
    );
}

/// The verdict of the headline: converged, or the reasons and remedies.
fn verdict_notes(md: &mut String, fe: &Value) {
    let Some(v) = fe.get("neural_ti").and_then(|h| h.get("verdict")) else {
        return;
    };
    if v["converged"].as_bool() == Some(true) {
        let _ = writeln!(
            md,
            "\nVerdict: **converged** (the independent estimates agree within 2 σ, the \
             importance weights have an adequate effective sample size and the quadrature \
             error is below the statistical one)."
        );
        return;
    }
    let _ = writeln!(
        md,
        "\nVerdict: **not converged** — do not use this number as it is."
    );
    let list = |key: &str| -> Vec<String> {
        v[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect()
    };
    for r in list("reasons") {
        let _ = writeln!(md, "- because {r};");
    }
    for r in list("remedies") {
        let _ = writeln!(md, "- remedy: {r}.");
    }
}

/// One row of the summary table: a label and a cell per N (None: nothing there).
type Row = (String, Vec<Option<String>>);

fn summary_table(md: &mut String, inputs: &Inputs) {
    let counts = inputs.fe_counts();
    md.push_str("\n## Results\n\n");
    if counts.is_empty() {
        md.push_str("No free-energy results yet.\n");
        return;
    }
    let cells = |f: &dyn Fn(&Value, u32) -> Option<String>| -> Vec<Option<String>> {
        counts
            .iter()
            .map(|&n| inputs.fe(n).and_then(|fe| f(fe, n)))
            .collect()
    };
    let mut rows: Vec<Row> = vec![
        (
            "**neural TI** (headline)".into(),
            cells(&|fe, _| {
                let (m, e) = mean_err(fe, &["neural_ti", "betaF_ex"])?;
                let est = text(fe, &["neural_ti", "estimator"]).unwrap_or("?");
                let sys = num(fe, &["neural_ti", "err_sys"])
                    .filter(|s| *s > 0.0)
                    .map_or(String::new(), |s| format!(" ± {} (sys)", format_value(s)));
                Some(format!(
                    "**{}**{sys} ({})",
                    format_pm(m, e),
                    estimator_label(est)
                ))
            }),
        ),
        (
            "verdict".into(),
            cells(&|fe, _| {
                let v = fe.get("neural_ti")?.get("verdict")?;
                Some(if v["converged"].as_bool() == Some(true) {
                    "converged".into()
                } else {
                    "**not converged** (see below)".into()
                })
            }),
        ),
    ];
    for e in ESTIMATORS {
        rows.push((
            format!("TI, {}", e.label()),
            cells(&|fe, _| {
                let (m, err) = mean_err(fe, &[e.key(), "betaF_ex"])?;
                Some(format_pm(m, err))
            }),
        ));
    }
    rows.push((
        "TI, annealed MALA, importance-weighted".into(),
        cells(&|fe, _| {
            let (m, err) = mean_err(fe, &["weighted_ti", "betaF_ex"])?;
            Some(format_pm(m, err))
        }),
    ));
    rows.push(("AIS, annealed MALA".into(), cells(&ais_cell)));
    rows.push(("λ-TI".into(), cells(&lambda_ti_cell)));
    rows.push(("neural TI − λ-TI".into(), cells(&headline_minus_lambda_ti)));
    let known = |n: u32, quantity: &str| {
        inputs
            .scene
            .reference
            .iter()
            .find(|r| r.n == n)
            .and_then(|r| r.get(quantity))
    };
    rows.push((
        "known value (scene's `reference`)".into(),
        cells(&|_, n| known(n, "betaF_ex").map(|k| format_pm(k.mean, Some(k.err)))),
    ));
    rows.push((
        "neural TI − known value".into(),
        cells(&|fe, n| {
            let (h, he) = mean_err(fe, &["neural_ti", "betaF_ex"])?;
            let sys = num(fe, &["neural_ti", "err_sys"]).unwrap_or(0.0);
            deviation_cell(h, he.unwrap_or(0.0), sys, known(n, "betaF_ex")?)
        }),
    ));
    rows.push((
        "λ-TI − known value".into(),
        cells(&|fe, n| {
            let (l, le) = mean_err(fe.get("lambda_ti")?, &[])?;
            deviation_cell(l, le.unwrap_or(0.0), 0.0, known(n, "betaF_ex")?)
        }),
    ));
    rows.push(("MBAR, windows' span".into(), cells(&mbar_cell)));
    rows.push((
        "EOS (Kolafa–Nezbeda, full LJ)".into(),
        cells(&|fe, _| mean_err(fe, &["eos"]).map(|(m, e)| format_pm(m, e))),
    ));
    rows.push((
        "βμ_ex, neural TI (spline of βF_ex(N))".into(),
        cells(&|_, n| {
            let p = inputs.results["grand_canonical"]["betamu_ex_spline"]
                .as_array()?
                .iter()
                .find(|p| p["n"].as_u64() == Some(u64::from(n)))?;
            let cell = format_pm(p["mean"].as_f64()?, p["err"].as_f64());
            Some(match p["extrapolated"].as_bool() {
                Some(true) => format!("{cell} (N + 1 past the spline)"),
                _ => cell,
            })
        }),
    ));
    rows.push((
        "βμ_ex, neural TI (N → N+1)".into(),
        cells(&|fe, _| mean_err(fe, &["neural_ti", "betamu_ex"]).map(|(m, e)| format_pm(m, e))),
    ));
    rows.push(("βμ_ex, Widom".into(), cells(&widom_cell)));
    rows.push((
        "βμ_ex, known value (scene's `reference`)".into(),
        cells(&|_, n| known(n, "betamu_ex").map(|k| format_pm(k.mean, Some(k.err)))),
    ));
    rows.push((
        "βμ_ex, neural TI − known value".into(),
        cells(&|fe, n| {
            let (h, he) = mean_err(fe, &["neural_ti", "betamu_ex"])?;
            deviation_cell(h, he.unwrap_or(0.0), 0.0, known(n, "betamu_ex")?)
        }),
    ));
    rows.push((
        "βμ_ex, Widom − known value".into(),
        cells(&|fe, n| {
            let (w, we) = mean_err(fe.get("widom")?, &[])?;
            deviation_cell(w, we.unwrap_or(0.0), 0.0, known(n, "betamu_ex")?)
        }),
    ));
    rows.push((
        "βμ_ex, EOS (Kolafa–Nezbeda)".into(),
        cells(&|fe, _| eos_betamu(fe).map(|(m, e)| format_pm(m, e))),
    ));
    md.push_str("βF_ex of the whole box unless the row says βμ_ex.\n\n| method |");
    for &n in &counts {
        let _ = write!(md, " N = {n} (ρ = {}) |", format_value(inputs.rho(n)));
    }
    md.push_str("\n|---|");
    md.push_str(&"---|".repeat(counts.len()));
    md.push('\n');
    for (label, row) in rows.iter().filter(|(_, r)| r.iter().any(Option::is_some)) {
        let _ = write!(md, "| {label} |");
        for c in row {
            let _ = write!(md, " {} |", c.as_deref().unwrap_or("—"));
        }
        md.push('\n');
    }
    let sources: Vec<String> = inputs
        .scene
        .reference
        .iter()
        .filter(|r| counts.contains(&r.n) && !r.source.is_empty())
        .map(|r| format!("N = {}: {}", r.n, r.source))
        .collect();
    if !sources.is_empty() {
        let _ = writeln!(
            md,
            "
Known values from the scene (deviations in combined standard errors, the \
             headline's systematic error added): {}.",
            sources.join("; ")
        );
    }
}

fn estimator_label(key: &str) -> &str {
    if key == "ais" {
        return "annealed importance sampling";
    }
    if key == "weighted_ti" {
        return "importance-weighted TI";
    }
    ESTIMATORS
        .iter()
        .find(|e| e.key() == key)
        .map_or(key, |e| e.label())
}

fn ais_cell(fe: &Value, _: u32) -> Option<String> {
    let (m, e) = mean_err(fe, &["ais", "betaF_ex"])?;
    let ess = num(fe, &["ais", "ess"]).map_or_else(String::new, |ess| {
        let of = get(fe, &["ais", "trajectories"])
            .and_then(Value::as_u64)
            .map_or_else(String::new, |c| format!(" of {c}"));
        format!(" (ESS {ess:.1}{of})")
    });
    Some(format!("{}{ess}", format_pm(m, e)))
}

fn lambda_ti_cell(fe: &Value, _: u32) -> Option<String> {
    let l = fe.get("lambda_ti")?;
    Some(match mean_err(l, &[]) {
        Some((m, e)) => format_pm(m, e),
        None if l.get("collapse").and_then(Value::as_bool) == Some(true) => {
            "no value (collapse, see diagnostics)".into()
        }
        None => "no value".into(),
    })
}

/// The headline's difference from the λ-window TI of the same run, in kT and in combined
/// standard errors (the headline's systematic error added): the independent check at the
/// states where Widom insertion fails.
fn headline_minus_lambda_ti(fe: &Value, _: u32) -> Option<String> {
    let (h, he) = mean_err(fe, &["neural_ti", "betaF_ex"])?;
    let (l, le) = mean_err(fe.get("lambda_ti")?, &[])?;
    let sys = num(fe, &["neural_ti", "err_sys"]).unwrap_or(0.0);
    deviation_cell(h, he?, sys, KnownValue { mean: l, err: le? })
}

/// An estimate's difference from a known value, in kT and in combined standard errors
/// (`sys`, the estimate's systematic error, added), flagged beyond 2σ.
fn deviation_cell(mean: f64, err: f64, sys: f64, known: KnownValue) -> Option<String> {
    let z = crate::scene::reference::deviation_sigma(mean, err, sys, known)?;
    let d = format_pm(mean - known.mean, Some(err.hypot(known.err)));
    Some(if z.abs() > 2.0 {
        format!("**{d}** ({:.1} σ: disagree)", z.abs())
    } else {
        format!("{d} ({:.1} σ)", z.abs())
    })
}

fn mbar_cell(fe: &Value, _: u32) -> Option<String> {
    let m = fe.get("mbar")?;
    let ti = mean_err(m, &["ti_same_span"]).map_or_else(String::new, |(a, e)| {
        format!(" (TI same span {})", format_pm(a, e))
    });
    Some(match mean_err(m, &[]) {
        Some((a, e)) => format!("{}{ti}", format_pm(a, e)),
        None => "no value (see diagnostics)".into(),
    })
}

fn widom_cell(fe: &Value, _: u32) -> Option<String> {
    let (m, e) = mean_err(fe, &["widom"])?;
    let flag = match fe["widom"].get("converged").and_then(Value::as_bool) {
        Some(false) => " (not converged)",
        _ => "",
    };
    Some(format!("{}{flag}", format_pm(m, e)))
}

fn wall_times(md: &mut String, inputs: &Inputs) {
    let Some(w) = inputs.results.get("wall_time_s").and_then(Value::as_object) else {
        return;
    };
    md.push_str("\n| stage | wall time |\n|---|---|\n");
    let mut keys: Vec<&String> = w.keys().collect();
    keys.sort_by_key(|k| STAGES.iter().position(|s| s == k).unwrap_or(STAGES.len()));
    let mut total = 0.0;
    for k in keys {
        if let Some(s) = w[k].as_f64().filter(|s| s.is_finite()) {
            total += s;
            let _ = writeln!(md, "| {k} | {} |", format_seconds(s));
        }
    }
    let _ = writeln!(md, "| total | {} |", format_seconds(total));
}

fn sampler_diagnostics(md: &mut String, inputs: &Inputs, n: u32) {
    let Some(fe) = inputs.fe(n) else { return };
    let present: Vec<(Estimator, &Value)> = ESTIMATORS
        .iter()
        .filter_map(|&e| Some((e, fe.get(e.key())?)))
        .collect();
    if present.is_empty() {
        return;
    }
    let _ = writeln!(md, "\n### Neural TI samplers, N = {n}\n");
    md.push_str(
        "| estimator | βF_ex | bootstrap err | importance-weighted TI | weights' normaliser (ESS) \
         | quadrature error (halving) | acceptance mean / min | min pair distance at t = 0 (σ) \
         | trajectories × evaluations | trajectory steps/s | wall time \
         |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for (e, s) in present {
        let acc = match (num(s, &["mean_acceptance"]), num(s, &["min_acceptance"])) {
            (Some(a), Some(b)) => format!("{a:.3} / {b:.3}"),
            _ => "—".into(),
        };
        let (m, err) = mean_err(s, &["betaF_ex"]).unwrap_or((f64::NAN, None));
        let weighted = mean_err(s, &["weighted_ti", "betaF_ex"])
            .map_or("—".into(), |(m, e)| format_pm(m, e));
        let normaliser = match (mean_err(s, &["ais", "betaF_ex"]), num(s, &["ais", "ess"])) {
            (Some((f, e)), Some(ess)) => format!("{} ({ess:.1})", format_pm(f, e)),
            _ => "—".into(),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {weighted} | {normaliser} | {} | {acc} | {} | {} × {} | {} | {} |",
            e.label(),
            format_pm(m, err),
            opt_value(num(s, &["betaF_ex", "bootstrap_err"])),
            opt_value(num(s, &["quadrature", "error_estimate"])),
            opt_value(num(s, &["min_pair_distance"])),
            opt_count(s, &["trajectories"]),
            opt_count(s, &["evaluations"]),
            num(s, &["trajectory_steps_per_s"]).map_or("—".into(), |r| format!("{r:.0}")),
            num(s, &["wall_time_s"]).map_or("—".into(), format_seconds),
        );
    }
    headline_notes(md, fe);
    along_t_table(md, inputs, n);
}

/// Where each estimate of N builds up along t ([`along_t`]): one row per span of the time
/// grid, one column per TI estimate and per importance-weight normaliser, the correctors'
/// acceptance, and notes naming the spans where the estimators part.
fn along_t_table(md: &mut String, inputs: &Inputs, n: u32) {
    let Some(first) = inputs.raw.get(&n).and_then(|r| r.first()) else {
        return;
    };
    let cut = along_t::cuts(&first.grid, &along_t::EDGES);
    if cut.len() < 2 {
        return;
    }
    // (label, spans, the sampler that made them)
    type Column = (String, Vec<(f64, f64)>, Estimator);
    let own_path = |e: Estimator| !matches!(e, Estimator::ReverseSde | Estimator::ForwardNoise);
    let mut columns: Vec<Column> = Vec::new();
    let mut dissipation: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    let mut acceptance = None;
    for run in &inputs.raw[&n] {
        if run.grid != first.grid {
            continue;
        }
        let e = run.estimator;
        let spans = along_t::ti_spans(run, &cut);
        if spans.len() == cut.len() - 1 {
            columns.push((format!("TI, {}", e.label()), spans.clone(), e));
        }
        if let Some(w) = along_t::weight_spans(run, &cut) {
            // The work annealed importance sampling dissipates in each span: its
            // trajectories' mean work (the TI span) less the free-energy change its weights
            // give (≥ 0 by Jensen's inequality, the weights being the works' exponentials;
            // the predictor samplers' weights carry their proposals too, so not for them).
            if e == Estimator::Annealed && spans.len() == w.len() {
                let d = spans
                    .iter()
                    .zip(&w)
                    .map(|(a, b)| (a.0 - b.0, a.1.hypot(b.1)))
                    .collect();
                dissipation.push((format!("dissipated work, {}", e.label()), d));
            }
            columns.push((format!("weights, {}", e.label()), w, e));
        }
        if acceptance.is_none() {
            acceptance = along_t::acceptance_spans(run, &cut);
        }
    }
    if columns.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "\nWhere βF_ex builds up along t (kT per span; TI by the trapezoid rule on the run's \
         grid, weights as increments of −ln Z_t of the importance weights; dissipated work = \
         annealed MALA's TI − its weights, ≥ 0 up to noise and quadrature: where it is \
         large the annealing is driven out of equilibrium):\n"
    );
    md.push_str("| t span |");
    for (label, _, _) in &columns {
        let _ = write!(md, " {label} |");
    }
    for (label, _) in &dissipation {
        let _ = write!(md, " {label} |");
    }
    md.push_str(" spread of the model-path estimates | acceptance |\n|---|");
    md.push_str(&"---|".repeat(columns.len() + dissipation.len() + 2));
    md.push('\n');
    let mut widest = (0.0, 0);
    let mut data_gap = (0.0, 0);
    for (i, w) in cut.windows(2).enumerate() {
        let _ = write!(md, "| {:.3}–{:.3} |", first.grid[w[0]], first.grid[w[1]]);
        for (_, spans, _) in &columns {
            let _ = write!(md, " {} |", format_pm(spans[i].0, Some(spans[i].1)));
        }
        for (_, d) in &dissipation {
            let _ = write!(md, " {} |", format_pm(d[i].0, Some(d[i].1)));
        }
        let own: Vec<f64> = columns
            .iter()
            .filter(|c| own_path(c.2))
            .map(|c| c.1[i].0)
            .collect();
        let spread = own.iter().copied().fold(f64::NEG_INFINITY, f64::max)
            - own.iter().copied().fold(f64::INFINITY, f64::min);
        if own.len() > 1 && spread > widest.0 {
            widest = (spread, i);
        }
        let data = columns.iter().find(|c| c.2 == Estimator::ForwardNoise);
        if let (Some(d), false) = (data, own.is_empty()) {
            let gap = (own.iter().sum::<f64>() / own.len() as f64 - d.1[i].0).abs();
            if gap > data_gap.0 {
                data_gap = (gap, i);
            }
        }
        let _ = writeln!(
            md,
            " {} | {} |",
            if own.len() > 1 {
                format_value(spread)
            } else {
                "—".into()
            },
            acceptance
                .as_ref()
                .map_or("—".into(), |a| format!("{:.2}", a[i]))
        );
    }
    let span = |i: usize| {
        format!(
            "t ∈ [{:.3}, {:.3}]",
            first.grid[cut[i]],
            first.grid[cut[i + 1]]
        )
    };
    if widest.0 > 0.0 {
        let _ = writeln!(
            md,
            "\nThe estimates of the model's own path part most over {} (spread {}): the \
             samplers lag the path there; more correctors in that span \
             (integration.corrector_span) are the first remedy.",
            span(widest.1),
            format_value(widest.0)
        );
    }
    for (label, d) in &dissipation {
        let (i, most) = d
            .iter()
            .enumerate()
            .max_by(|a, b| a.1 .0.total_cmp(&b.1 .0))
            .map(|(i, v)| (i, v.0))
            .unwrap_or((0, 0.0));
        let total: f64 = d.iter().map(|v| v.0).sum();
        if most > 0.0 {
            let _ = writeln!(
                md,
                "\n{} is largest over {} ({} of {} kT in all).",
                upper_first(label),
                span(i),
                format_value(most),
                format_value(total)
            );
        }
    }
    if data_gap.0 > 0.0 {
        let _ = writeln!(
            md,
            "\nThe forward-noised data part most from the samplers over {} ({} kT): there the \
             model's marginals differ most from the data's.",
            span(data_gap.1),
            format_value(data_gap.0)
        );
    }
}

/// `text` with its first letter upper case.
fn upper_first(text: &str) -> String {
    let mut c = text.chars();
    c.next()
        .map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
}

fn headline_notes(md: &mut String, fe: &Value) {
    verdict_notes(md, fe);
    if let Some(gap) = num(fe, &["neural_ti", "forward_noise_gap"]) {
        let e1 = num(fe, &["neural_ti", "betaF_ex", "err"]);
        let e2 = num(fe, &["forward_noise", "betaF_ex", "err"]);
        let sigma = match (e1, e2) {
            (Some(a), Some(b)) => format!(
                " ({:.1} σ of the combined error {})",
                gap.abs() / (a * a + b * b).sqrt(),
                format_value((a * a + b * b).sqrt())
            ),
            _ => String::new(),
        };
        let _ = writeln!(
            md,
            "\nForward-noise gap (headline − forward-noised data): {}{sigma}. The forward-noised \
             reference samples follow the true marginals, so a gap of many σ measures how far \
             the model's own samples are from them.",
            format_value(gap)
        );
    }
    if let (Some(ess), Some(frac)) = (num(fe, &["ais", "ess"]), num(fe, &["ais", "ess_fraction"])) {
        let warn = if frac < 0.1 {
            " — under 10 %: a few trajectories carry the AIS average; trust its error bar little"
        } else {
            ""
        };
        let _ = writeln!(
            md,
            "\nAIS effective sample size {ess:.1} ({:.1} % of the trajectories){warn}.",
            100.0 * frac
        );
    }
    if let Some(p) = fe.get("annealed").and_then(|a| a.get("populations")) {
        let (pops, resample, families) = (
            num(p, &["populations"]).unwrap_or(1.0),
            num(p, &["resample"]).unwrap_or(0.0),
            num(p, &["families"]).unwrap_or(f64::NAN),
        );
        if resample > 0.0 {
            let _ = writeln!(
                md,
                "\nPopulation annealing: {pops:.0} populations, resampled when the effective \
                 sample size fell below {:.0} % of a population; {families:.0} distinct \
                 t = 1 ancestors survive at t = 0. Errors of the annealed estimates are \
                 jackknifed over the populations.",
                100.0 * resample
            );
        }
    }
}

fn baseline_diagnostics(md: &mut String, inputs: &Inputs, n: u32) {
    let Some(fe) = inputs.fe(n) else { return };
    let mut lines = Vec::new();
    if let Some(l) = fe.get("lambda_ti") {
        let legs: Vec<String> = l
            .get("legs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|leg| {
                format!(
                    "{} windows, discretisation error {}",
                    leg.get("windows")
                        .and_then(Value::as_array)
                        .map_or(0, Vec::len),
                    opt_value(num(leg, &["discretisation_error"]))
                )
            })
            .collect();
        let mut line = format!("λ-TI: {}", legs.join("; "));
        if let Some(d) = text(l, &["diagnosis"]).filter(|d| !d.is_empty()) {
            let _ = write!(line, ". {d}");
        }
        if let Some(raw) = mean_err(l, &["betaF_ex_unreliable"]) {
            let _ = write!(line, " (unreliable raw sum {})", format_pm(raw.0, raw.1));
        }
        lines.push(line);
    }
    if let Some(m) = fe.get("mbar") {
        let mut line = format!(
            "MBAR: smallest overlap {}",
            opt_value(num(m, &["min_overlap"]))
        );
        if let Some(w) = text(m, &["warning"]) {
            let _ = write!(line, "; {w}");
        }
        lines.push(line);
    }
    if let Some(w) = fe.get("widom") {
        let mut line = format!(
            "Widom: {} insertions, effective {}, largest insertion weight {}",
            opt_count(w, &["insertions"]),
            opt_value(num(w, &["effective_insertions"])),
            opt_value(num(w, &["max_insertion_weight"])),
        );
        match (
            w.get("converged").and_then(Value::as_bool),
            text(w, &["diagnosis"]),
        ) {
            (Some(true), _) => line.push_str("; converged"),
            (Some(false), Some(d)) => {
                let _ = write!(line, "; not converged: {d}");
            }
            _ => {}
        }
        lines.push(line);
    }
    if let Some(note) = text(fe, &["eos", "note"]) {
        let mut line = format!("EOS: {note}");
        if let Some(u) = num(fe, &["eos", "long_range_outside_box", "betaU"]) {
            let _ = write!(
                line,
                ". Pair energy beyond this box (first-order part of the finite-size gap, not in \
                 the EOS error): βU = {} kT",
                format_value(u)
            );
        }
        lines.push(line);
    }
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(md, "\n### Baselines, N = {n}\n");
    for l in lines {
        let _ = writeln!(md, "- {l}");
    }
}

fn reference_diagnostics(md: &mut String, inputs: &Inputs, n: u32) {
    let Some(r) = get(&inputs.results, &["reference", &n.to_string()]) else {
        return;
    };
    let _ = writeln!(
        md,
        "\n### Reference samples, N = {n}\n\n{} configurations, τ_int = {} MD steps, n_eff = {}, \
         sample spacing / τ_int = {} (≥ 2: decorrelated); U/N = {}, pressure {}.",
        opt_count(r, &["samples"]),
        opt_value(num(r, &["tau_int"])),
        opt_value(num(r, &["n_eff"])),
        opt_value(num(r, &["sample_spacing_over_tau"])),
        mean_err(r, &["potential_energy_per_particle"])
            .map_or("—".into(), |(m, e)| format_pm(m, e)),
        mean_err(r, &["pressure"]).map_or("—".into(), |(m, e)| format_pm(m, e)),
    );
}

/// The probe-loss columns of the loss log (`loss_t<t>`): (t as written, values).
fn probe_columns(csv: &(Vec<String>, Vec<Vec<f64>>)) -> Vec<(String, Vec<f64>)> {
    csv.0
        .iter()
        .filter_map(|h| {
            let t = h.strip_prefix("loss_t")?;
            Some((t.to_string(), column(csv, h)?))
        })
        .collect()
}

/// The loss at each probe time at the last logged step, and its change over the last
/// quarter of the logged steps: a loss still falling there says that span of t would gain
/// from more training.
fn probe_table(md: &mut String, inputs: &Inputs) {
    let Some(csv) = read_csv(&inputs.dir.join(LOSS_LOG_FILE)) else {
        return;
    };
    let Some(step) = column(&csv, "step") else {
        return;
    };
    let rows: Vec<(String, f64, f64, f64)> = probe_columns(&csv)
        .into_iter()
        .filter_map(|(t, v)| {
            let finite: Vec<(f64, f64)> = step
                .iter()
                .copied()
                .zip(v)
                .filter(|p| p.1.is_finite())
                .collect();
            if finite.len() < 4 {
                return None;
            }
            let last = finite[finite.len() - 1];
            let earlier = finite[finite.len() - 1 - finite.len() / 4];
            Some((t, earlier.0, last.1, (last.1 - earlier.1) / earlier.1))
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    md.push_str(
        "\nLoss at fixed times t (the same probe configurations and noise at every log step; \
         losses at different t are not comparable with each other, their trend is):\n\n\
         | t | loss at the last step | change since step | change |\n|---|---|---|---|\n",
    );
    for (t, since, last, change) in rows {
        let _ = writeln!(
            md,
            "| {t} | {} | {since:.0} | {:+.1} % |",
            format_value(last),
            100.0 * change
        );
    }
}

fn training_diagnostics(md: &mut String, inputs: &Inputs) {
    let Some(t) = inputs.results.get("training") else {
        return;
    };
    let (fin, zero) = (num(t, &["final_loss"]), num(t, &["zero_network_loss"]));
    let ratio = match (fin, zero) {
        (Some(f), Some(z)) if z > 0.0 => format!(" ({:.3} of the zero network's)", f / z),
        _ => String::new(),
    };
    let _ = writeln!(
        md,
        "\n### Training\n\nN = {}, {} steps of batch {}: final loss {} vs zero-network loss \
         {}{ratio}; {} steps/s, {}.",
        count_list(t, &["n"]),
        opt_count(t, &["steps"]),
        opt_count(t, &["batch"]),
        opt_value(fin),
        opt_value(zero),
        num(t, &["steps_per_second"]).map_or("—".into(), |r| format!("{r:.1}")),
        num(t, &["wall_time_s"]).map_or("—".into(), format_seconds),
    );
    probe_table(md, inputs);
}

fn run_info(md: &mut String, inputs: &Inputs) {
    let r = &inputs.results;
    let hash = format!("{:016x}", inputs.scene.hash());
    let _ = writeln!(md, "\n### Run\n");
    let _ = writeln!(md, "- scene `{}`, hash `{hash}`", inputs.scene.name);
    if let Some(h) = text(r, &["scene_hash"]).filter(|h| *h != hash) {
        let _ = writeln!(
            md,
            "- **warning**: results.json was written for scene hash `{h}`, not this scene's \
             `{hash}`: its numbers may come from other samples"
        );
    }
    if let Some(v) = text(r, &["provenance", "version"]) {
        let _ = writeln!(
            md,
            "- written by nti-gpu {v} (commit {}); report by nti-gpu {} (commit {})",
            text(r, &["provenance", "commit"]).unwrap_or("unknown"),
            env!("CARGO_PKG_VERSION"),
            crate::bench::git_commit()
        );
    }
    if let Some(a) = get(r, &["provenance", "adapter"]).filter(|a| a.is_object()) {
        let _ = writeln!(
            md,
            "- adapter: {} ({}, {}; driver {} {})",
            text(a, &["name"]).unwrap_or("?"),
            text(a, &["backend"]).unwrap_or("?"),
            text(a, &["device_type"]).unwrap_or("?"),
            text(a, &["driver"]).unwrap_or("?"),
            text(a, &["driver_info"]).unwrap_or(""),
        );
    }
}

fn plot_list(md: &mut String, plots: &[Plot]) {
    if plots.is_empty() {
        return;
    }
    md.push_str(
        "\n## Figures\n\nEach figure is also written as SVG next to its PNG (same name, \
         `.svg`), for print and for editing.\n",
    );
    for p in plots {
        let stem = p.file.trim_end_matches(".png");
        let _ = writeln!(
            md,
            "\n![{stem}]({})\n\n`{}` ([SVG]({stem}.svg)): {}",
            p.file, p.file, p.caption
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::plot::{render_panels, render_with_frame, SeriesKind};

    /// A scene of N = 40 and 41 in a box of 6σ, with the correctors' target 0.6.
    fn scene40() -> Scene {
        Scene::from_str(
            r#"Scene(name: "fig", seed: 1,
                system: (box_length: 6.0, temperature: 1.0, epsilon: 0.8,
                         particles: [40, 41], potential: MinimumImage),
                integration: (target_accept: 0.6),
                sampler: (replicas: 4, dt: 0.005, equilibration_steps: 10,
                          production_steps: 10))"#,
            "fig.ron",
        )
        .unwrap()
    }

    fn inputs<'a>(scene: &'a Scene, dir: &Path, results: Value, raw: Vec<RawRun>) -> Inputs<'a> {
        let mut by_n = BTreeMap::new();
        by_n.insert(40, raw);
        by_n.insert(41, Vec::new());
        Inputs {
            scene,
            dir: dir.to_path_buf(),
            results,
            counts: vec![40, 41],
            raw: by_n,
            notes: Vec::new(),
        }
    }

    /// A sampler record at N = 40 of 8 trajectories on a 21-point grid: trajectory c's
    /// integrand is the constant −(20 + c), so its βF_ex is 20 + c; log-weights −c/2 at
    /// t = 0, 0 at t = 1, in one population.
    fn record(estimator: Estimator) -> RawRun {
        let grid: Vec<f64> = (0..=20).map(|k| f64::from(k) / 20.0).collect();
        let c = 8;
        RawRun {
            version: 4,
            fingerprint: String::new(),
            n: 40,
            estimator,
            grid: grid.clone(),
            integrand: (0..c)
                .map(|i| vec![-(20.0 + f64::from(i)); grid.len()])
                .collect(),
            work: vec![0.0; c as usize],
            log_weight: (0..c)
                .map(|i| {
                    grid.iter()
                        .map(|t| -(1.0 - t) * f64::from(i) / 2.0)
                        .collect()
                })
                .collect(),
            log_norm: vec![vec![0.0; grid.len()]],
            resample: 0.0,
            families: c as usize,
            acceptance: vec![0.5; grid.len()],
            gr: vec![(1.0, 1.0), (2.0, 1.0)],
            min_pair_distance: 0.9,
            evaluations: 21,
            wall_time_s: 1.0,
            checksum: String::new(),
        }
    }

    fn tmp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("nti-summary-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn labels(fig: &Figure) -> Vec<&str> {
        fig.series.iter().map(|s| s.label.as_str()).collect()
    }

    #[test]
    fn training_line_lists_every_count_of_a_joint_training() {
        let scene = scene40();
        for (n, expect) in [
            (
                serde_json::json!([40, 41, 120]),
                "N = 40, 41, 120, 10 steps",
            ),
            (serde_json::json!(40), "N = 40, 10 steps"),
            (serde_json::json!(null), "N = —, 10 steps"),
        ] {
            let results = serde_json::json!({"training": {"n": n, "steps": 10, "batch": 4}});
            let inputs = inputs(&scene, Path::new("/nonexistent"), results, Vec::new());
            let mut md = String::new();
            training_diagnostics(&mut md, &inputs);
            assert!(md.contains(expect), "{md}");
        }
    }

    #[test]
    fn density_figures_of_one_density_are_centred_on_it() {
        let scene = scene40();
        let results = serde_json::json!({"free_energy": {"40": {
            "neural_ti": {"estimator": "corrected", "betaF_ex": {"mean": -21.0, "err": 0.5},
                          "betamu_ex": {"mean": -0.2, "err": 0.7}},
            "widom": {"mean": -1.08, "err": 0.01, "converged": true}}}});
        let inputs = inputs(&scene, Path::new("/nonexistent"), results, Vec::new());
        let rho = 40.0 / 216.0;
        for plot in [
            chemical_potential_plot(&inputs).unwrap(),
            free_energy_plot(&inputs).unwrap(),
        ] {
            let (_, frame) = render_with_frame(&plot.panels[0]).unwrap();
            let (lo, hi) = frame.x_range();
            assert!(
                (lo - 0.9 * rho).abs() < 1e-9 && (hi - 1.1 * rho).abs() < 1e-9,
                "{}: {lo}..{hi}",
                plot.file
            );
        }
    }

    #[test]
    fn free_energy_figure_draws_the_headline_and_the_weighted_ti_inside_the_axes() {
        let scene = scene40();
        let entry = |m: f64| {
            serde_json::json!({
                "neural_ti": {"estimator": "corrected", "betaF_ex": {"mean": m, "err": 0.5}},
                "reverse_sde": {"betaF_ex": {"mean": m + 4.0, "err": 2.0}},
                "corrected": {"betaF_ex": {"mean": m, "err": 0.5}},
                "annealed": {"betaF_ex": {"mean": m + 1.5, "err": 0.6}},
                "forward_noise": {"betaF_ex": {"mean": m - 5.0, "err": 1.0}},
                "weighted_ti": {"betaF_ex": {"mean": m + 0.3, "err": 0.8}},
                "ais": {"betaF_ex": {"mean": m + 0.6, "err": 0.6}},
                "lambda_ti": {"mean": m - 0.4, "err": 0.1},
                "eos": {"mean": m - 2.0, "err": 0.2},
            })
        };
        let results = serde_json::json!({"free_energy": {"40": entry(-21.0), "41": entry(-21.3)}});
        let inputs = inputs(&scene, Path::new("/nonexistent"), results, Vec::new());
        let plot = free_energy_plot(&inputs).unwrap();
        let fig = &plot.panels[0];
        assert_eq!(
            labels(fig),
            [
                HEADLINE_LABEL,
                "TI, reverse SDE",
                "TI, reverse SDE + MALA",
                "TI, annealed MALA",
                "TI, forward-noised data",
                "importance-weighted TI",
                "AIS",
                "λ-TI (reference)",
                "EOS (Kolafa–Nezbeda)"
            ]
        );
        // The outermost markers (shifted 32 px sideways) and their radius lie inside the axes.
        let (img, frame) = render_with_frame(fig).unwrap();
        let (left, _, right, _) = frame.plot_area();
        let shift = crate::report::plot::dodge_px(0, 9);
        let (x, y) = frame.pixel(40.0 / 216.0, -21.0).unwrap();
        let first = (x as i32 + shift) as u32;
        assert!(first > left + 6, "{first} vs {left}");
        assert_eq!(img.get_pixel(first, y).0, series_color(0));
        let (x, _) = frame.pixel(41.0 / 216.0, -23.3).unwrap();
        assert!(((x as i32 - shift) as u32) + 6 < right);
        for name in [
            "neural TI (headline)",
            "importance-weighted TI",
            "λ-TI (reference)",
        ] {
            assert!(plot.caption.contains(name), "{}", plot.caption);
        }
    }

    #[test]
    fn captions_name_only_what_is_drawn() {
        let scene = scene40();
        let dir = tmp("captions");
        std::fs::write(
            dir.join(LOSS_LOG_FILE),
            "step,loss,lr\n10,1.0,1e-3\n20,0.8,1e-3\n",
        )
        .unwrap();
        let results = serde_json::json!({"free_energy": {"40": {
            "corrected": {"betaF_ex": {"mean": -21.0, "err": 0.5}},
            "widom": {"mean": -1.08, "err": 0.01, "converged": true}}}});
        let inputs = inputs(&scene, &dir, results, Vec::new());
        let fe = free_energy_plot(&inputs).unwrap();
        assert_eq!(labels(&fe.panels[0]), ["TI, reverse SDE + MALA"]);
        assert!(
            !fe.caption.contains("EOS") && !fe.caption.contains("shifted"),
            "{}",
            fe.caption
        );
        let mu = chemical_potential_plot(&inputs).unwrap();
        assert!(
            mu.caption.contains("Widom") && !mu.caption.contains("equation of state"),
            "{}",
            mu.caption
        );
        assert!(!mu.caption.contains("neural TI"), "{}", mu.caption);
        // Two logged points: no running mean, no probes, no zero network in the words.
        let loss = loss_plot(&inputs).unwrap();
        assert_eq!(loss.panels[0].series.len(), 1);
        assert!(loss.panels[0].log_y && loss.caption.contains("log scale"));
        for absent in ["zero network", "running mean", "probe", "should"] {
            assert!(!loss.caption.contains(absent), "{absent}: {}", loss.caption);
        }
        // With the zero network's loss: its line, and the caption names it.
        let mut with_zero = inputs;
        with_zero.results = serde_json::json!({"training": {"zero_network_loss": 2.5}});
        let loss = loss_plot(&with_zero).unwrap();
        assert!(loss.caption.contains("zero network"), "{}", loss.caption);
        assert_eq!(
            loss.panels[0].series.last().unwrap().kind,
            SeriesKind::HLine(2.5)
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn loss_figure_draws_every_logged_batch_faintly_and_its_running_mean() {
        let scene = scene40();
        let dir = tmp("loss");
        let mut csv = String::from("step,loss,lr,loss_t0.40\n");
        for k in 1..=40 {
            let _ = writeln!(csv, "{},{},1e-3,0.5", 25 * k, 1.0 + f64::from(k % 4));
        }
        std::fs::write(dir.join(LOSS_LOG_FILE), csv).unwrap();
        let inputs = inputs(&scene, &dir, serde_json::json!({}), Vec::new());
        let plot = loss_plot(&inputs).unwrap();
        let fig = &plot.panels[0];
        let SeriesKind::Line(raw) = &fig.series[0].kind else {
            panic!("{:?}", fig.series[0])
        };
        assert_eq!(raw.len(), 40);
        assert!(fig.series[0].opacity < 0.5);
        let SeriesKind::Line(mean) = &fig.series[1].kind else {
            panic!("{:?}", fig.series[1])
        };
        // Window 4 (a tenth of 40): the loss cycles 2, 3, 4, 1 → mean 2.5 from the fourth.
        assert_eq!(fig.series[1].label, "running mean of 4");
        assert!(
            mean[3..].iter().all(|p| (p.1 - 2.5).abs() < 1e-12),
            "{mean:?}"
        );
        assert_eq!(fig.series[1].width, Some(3));
        assert_eq!(fig.series[2].label, "t = 0.40");
        // The thick mean is drawn in the full colour; the raw batches only see-through.
        let img = crate::report::plot::render(fig).unwrap();
        let full = img.pixels().filter(|p| p.0 == series_color(0)).count();
        assert!(full > 1500, "{full}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn gr_reference_is_drawn_last_and_acceptance_has_its_target() {
        let scene = scene40();
        let dir = tmp("gr");
        std::fs::write(dir.join("gr_N40.csv"), "r,g\n1.0,0.5\n2.0,1.5\n").unwrap();
        let runs = vec![record(Estimator::Corrected), record(Estimator::Annealed)];
        let inputs = inputs(&scene, &dir, serde_json::json!({}), runs);
        let gr = gr_plot(&inputs, 40).unwrap();
        let last = gr.panels[0].series.last().unwrap();
        assert_eq!(last.label, "reference samples");
        assert!(last.dashed && last.width == Some(3) && last.color == Some(REFERENCE_COLOR));
        let acc = acceptance_plot(&inputs, 40).unwrap();
        let target = acc.panels[0].series.last().unwrap();
        assert_eq!(target.kind, SeriesKind::HLine(0.6));
        assert!(target.dashed && target.label == "target 0.6");
        assert!(acc.caption.contains("target 0.6"), "{}", acc.caption);
        let (img, frame) = render_with_frame(&acc.panels[0]).unwrap();
        let (_, row) = frame.pixel(0.5, 0.6).unwrap();
        let red = (0..img.width())
            .filter(|&x| img.get_pixel(x, row).0 == TARGET_COLOR)
            .count();
        assert!(red > 300, "{red} target pixels on its row");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn running_estimates_end_at_the_final_values() {
        let scene = scene40();
        let dir = tmp("running");
        std::fs::write(
            dir.join(crate::export::widom_running_file(40)),
            "insertions,configurations,betamu_ex,err\n100,1,-1.2,0.3\n200,2,-1.1,0.2\n\
             300,3,-1.05,0.1\n",
        )
        .unwrap();
        let inputs = inputs(
            &scene,
            &dir,
            serde_json::json!({}),
            vec![record(Estimator::Corrected)],
        );
        let ti = ti_running_plot(&inputs, 40).unwrap();
        let SeriesKind::Band { x, y, err } = &ti.panels[0].series[0].kind else {
            panic!()
        };
        // Trajectory c gives 20 + c: after k trajectories the mean is 20 + (k − 1)/2.
        assert_eq!(x.first(), Some(&2.0));
        assert_eq!(x.last(), Some(&8.0));
        for (k, m) in x.iter().zip(y) {
            assert!((m - (20.0 + (k - 1.0) / 2.0)).abs() < 1e-9, "{k}: {m}");
        }
        // sd of 0..8 is √6: the last error √6/√8.
        assert!((err[err.len() - 1] - (6.0f64 / 8.0).sqrt()).abs() < 1e-9);
        let widom = widom_running_plot(&inputs, 40).unwrap();
        assert_eq!(
            widom.panels[0].series[0].kind,
            SeriesKind::Band {
                x: vec![100.0, 200.0, 300.0],
                y: vec![-1.2, -1.1, -1.05],
                err: vec![0.3, 0.2, 0.1]
            }
        );
        assert!(widom.caption.contains("error band"));
        // Without the table: results.json's running values, tail added, no band.
        std::fs::remove_file(dir.join(crate::export::widom_running_file(40))).unwrap();
        let mut inputs = inputs;
        inputs.results = serde_json::json!({"free_energy": {"40": {"widom": {
            "mean": -1.0, "err": 0.1, "betamu_tail": -0.5, "running": [[10, -0.4], [20, -0.5]]}}}});
        let widom = widom_running_plot(&inputs, 40).unwrap();
        assert_eq!(
            widom.panels[0].series[0].kind,
            SeriesKind::Line(vec![(10.0, -0.9), (20.0, -1.0)])
        );
        assert!(!widom.caption.contains("band"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn annealing_has_its_dissipated_work_per_span_and_the_predictors_none() {
        let scene = scene40();
        let mut md = String::new();
        let only_sde = inputs(
            &scene,
            Path::new("/nonexistent"),
            serde_json::json!({}),
            vec![record(Estimator::ReverseSde)],
        );
        along_t_table(&mut md, &only_sde, 40);
        assert!(md.contains("weights, reverse SDE"), "{md}");
        assert!(!md.contains("| dissipated work"), "{md}");
        let mut md = String::new();
        let annealed = inputs(
            &scene,
            Path::new("/nonexistent"),
            serde_json::json!({}),
            vec![record(Estimator::Annealed)],
        );
        along_t_table(&mut md, &annealed, 40);
        assert!(md.contains("| dissipated work, annealed MALA |"), "{md}");
        // Over the whole grid: mean work 23.5 less −ln mean_c e^{−c/2}.
        let free = -((0..8).map(|c| (-f64::from(c) / 2.0).exp()).sum::<f64>() / 8.0).ln();
        let line = md
            .lines()
            .find(|l| l.starts_with("Dissipated work, annealed MALA is largest"))
            .unwrap();
        let total: f64 = line
            .split(" of ")
            .nth(1)
            .and_then(|t| t.split(" kT").next())
            .unwrap()
            .parse()
            .unwrap();
        assert!((total - (23.5 - free)).abs() < 0.01, "{line} {free}");
    }

    #[test]
    fn weights_figure_has_the_histogram_and_the_ess_along_t() {
        let scene = scene40();
        let inputs = inputs(
            &scene,
            Path::new("/nonexistent"),
            serde_json::json!({}),
            vec![record(Estimator::Annealed)],
        );
        let plot = weights_plot(&inputs, 40).unwrap();
        assert_eq!(plot.panels.len(), 2);
        let SeriesKind::Bars { edges, heights } = &plot.panels[0].series[0].kind else {
            panic!()
        };
        // Eight trajectories, ln w − max from −3.5 to 0.
        assert_eq!(heights.iter().sum::<f64>(), 8.0);
        assert_eq!((edges[0], edges[edges.len() - 1]), (-3.5, 0.0));
        let SeriesKind::Line(ess) = &plot.panels[1].series[0].kind else {
            panic!()
        };
        // Equal weights at t = 1: ESS = all; at t = 0 the weights e^{−c/2}.
        assert!((ess[20].1 - 1.0).abs() < 1e-12);
        let w: Vec<f64> = (0..8).map(|c| (-f64::from(c) / 2.0).exp()).collect();
        let expect = w.iter().sum::<f64>().powi(2) / w.iter().map(|x| x * x).sum::<f64>() / 8.0;
        assert!((ess[0].1 - expect).abs() < 1e-12);
        assert_eq!(
            plot.panels[1].series[1].kind,
            SeriesKind::HLine(crate::ti::record::MIN_AIS_ESS_FRACTION)
        );
        let (img, _) = render_panels(&plot.panels).unwrap();
        assert_eq!(img.dimensions(), (DEFAULT_WIDTH, 2 * WEIGHTS_PANEL_HEIGHT));
    }

    #[test]
    fn overlap_matrix_of_each_leg_is_a_heatmap() {
        let scene = scene40();
        let overlap = serde_json::json!([[0.7, 0.3, 0.0], [0.3, 0.4, 0.3], [0.0, 0.3, 0.7]]);
        let results = serde_json::json!({"free_energy": {"40": {"lambda_ti": {"legs": [
            {"path": "LjToWca", "mbar_overlap": overlap, "mbar_min_overlap": 0.3,
             "windows": [{"lambda": 0.0}, {"lambda": 0.5}, {"lambda": 1.0}]},
            {"path": "WcaSoftCore", "mbar_overlap": null},
            {"path": "SoftCore", "mbar_overlap": [[1.0]]},
        ]}}}});
        let inputs = inputs(&scene, Path::new("/nonexistent"), results, Vec::new());
        let plots = overlap_plots(&inputs, 40);
        let files: Vec<&str> = plots.iter().map(|p| p.file.as_str()).collect();
        assert_eq!(
            files,
            ["overlap_N40_lj_to_wca.png", "overlap_N40_soft_core.png"]
        );
        let p = &plots[0];
        assert!(p.caption.contains("λ = 0.00, 0.50, 1.00") && p.caption.contains("0.3000"));
        let (img, frame) = render_with_frame(&p.panels[0]).unwrap();
        for (i, j, v) in [(0, 0, 0.7), (0, 1, 0.3), (2, 0, 0.0), (1, 1, 0.4)] {
            let (x, y) = frame.pixel(f64::from(j) + 0.3, f64::from(i) + 0.3).unwrap();
            assert_eq!(
                img.get_pixel(x, y).0,
                crate::report::plot::heat_color(v / 0.7),
                "cell ({i}, {j})"
            );
        }
    }

    #[test]
    fn thermo_figure_has_three_panels_and_the_thermostat() {
        let scene = scene40();
        let dir = tmp("thermo");
        let mut csv = String::from(
            "step,time,u_per_particle,u_per_particle_sem,pressure,pressure_sem,temperature,\
             temperature_sem\n",
        );
        for k in 1..=50 {
            let t = f64::from(k) * 0.05;
            let _ = writeln!(csv, "{k},{t},-1.0,0.01,0.1,,1.0{k},0.02");
        }
        std::fs::write(dir.join("thermo_N40.csv"), csv).unwrap();
        let inputs = inputs(&scene, &dir, serde_json::json!({}), Vec::new());
        let plot = thermo_plot(&inputs, 40).unwrap();
        assert_eq!(plot.file, "thermo_N40.png");
        let units: Vec<&str> = plot.panels.iter().map(|f| f.y_label.as_str()).collect();
        assert_eq!(units, ["U/N", "P", "T"]);
        // The empty standard errors of P are no band; T has the thermostat's kT.
        let SeriesKind::Band { err, .. } = &plot.panels[1].series[0].kind else {
            panic!()
        };
        assert!(err.iter().all(|e| *e == 0.0));
        assert_eq!(plot.panels[2].series[1].kind, SeriesKind::HLine(1.0));
        assert!(plot.caption.contains("thermostat"));
        let (img, frames) = render_panels(&plot.panels).unwrap();
        assert_eq!(img.dimensions(), (DEFAULT_WIDTH, 3 * THERMO_PANEL_HEIGHT));
        assert!(frames[2].plot_area().1 > 2 * THERMO_PANEL_HEIGHT);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn numbers_are_formatted_by_their_error() {
        assert_eq!(format_pm(-22.3412, Some(0.2134)), "−22.34 ± 0.21");
        assert_eq!(format_pm(-19.116763, Some(0.395)), "−19.12 ± 0.40");
        assert_eq!(format_pm(-1234.5, Some(12.3)), "−1234 ± 12");
        assert_eq!(format_pm(0.51234, Some(0.0041)), "0.5123 ± 0.0041");
        assert_eq!(format_pm(-3.0, None), "−3.000");
        assert_eq!(format_pm(-0.0001, Some(0.1)), "0.00 ± 0.10");
        assert_eq!(format_value(f64::NAN), "n/a");
        assert_eq!(format_value(4.710194), "4.710");
        assert_eq!(format_value(0.18518), "0.1852");
        assert_eq!(format_value(2.5e-6), "2.500e−6");
        assert_eq!(format_seconds(38.29), "38.3 s");
        assert_eq!(format_seconds(262.7), "4 min 22 s");
        assert_eq!(format_seconds(3725.0), "1 h 02 min");
    }

    #[test]
    fn chemical_potential_figure_has_the_spline_the_lambda_ti_differences_and_widom_split() {
        let scene = Scene::from_str(
            r#"Scene(name: "mu", seed: 1,
                system: (box_length: 6.0, temperature: 1.0, epsilon: 0.8,
                         particles: [120, 160, 200], potential: MinimumImage),
                sampler: (replicas: 4, dt: 0.005, equilibration_steps: 10,
                          production_steps: 10))"#,
            "mu.ron",
        )
        .unwrap();
        let results = serde_json::json!({
            "free_energy": {
                "120": {"lambda_ti": {"mean": -160.0, "err": 0.3},
                        "widom": {"mean": -2.08, "err": 0.01, "converged": true}},
                "160": {"lambda_ti": {"mean": -228.0, "err": 0.4}},
                "200": {"lambda_ti": {"mean": -202.0, "err": 0.0},
                        "widom": {"mean": 3.5, "err": 0.3, "converged": false}},
            },
            "grand_canonical": {"betamu_ex_spline": [
                {"n": 120, "mean": -2.1, "err": 0.05},
                {"n": 200, "mean": 2.9, "err": 0.1, "extrapolated": true},
            ]},
        });
        let inputs = Inputs {
            scene: &scene,
            dir: PathBuf::new(),
            results,
            counts: vec![120, 160, 200],
            raw: BTreeMap::new(),
            notes: Vec::new(),
        };
        let v = 216.0;
        let d = lambda_ti_differences(&inputs);
        assert_eq!(d.len(), 2);
        assert!((d[0].0 - 140.0 / v).abs() < 1e-12 && (d[0].1 + 68.0 / 40.0).abs() < 1e-12);
        assert!((d[0].2.unwrap() - 0.5 / 40.0).abs() < 1e-12);
        assert!((d[1].1 - 26.0 / 40.0).abs() < 1e-12);
        assert_eq!(
            spline_betamu(&inputs, false),
            vec![(120.0 / v, -2.1, Some(0.05))]
        );
        assert_eq!(
            spline_betamu(&inputs, true),
            vec![(200.0 / v, 2.9, Some(0.1))]
        );
        let plot = chemical_potential_plot(&inputs).unwrap();
        let labels: Vec<(&str, usize)> = plot.panels[0]
            .series
            .iter()
            .map(|s| match &s.kind {
                crate::report::plot::SeriesKind::Points { x, .. } => (s.label.as_str(), x.len()),
                _ => (s.label.as_str(), 0),
            })
            .collect();
        assert_eq!(
            labels,
            [
                ("neural TI, spline of βF_ex(N)", 1),
                ("neural TI, spline, N + 1 past its end", 1),
                ("λ-TI, finite differences", 2),
                ("Widom", 1),
                ("Widom, not converged", 1),
            ]
        );
        // The results table has the spline's βμ_ex beside Widom's, marked where N + 1 lies
        // past the spline.
        let mut md = String::new();
        summary_table(&mut md, &inputs);
        assert!(
            md.contains(
                "| βμ_ex, neural TI (spline of βF_ex(N)) | −2.100 ± 0.050 | — | 2.90 ± 0.10 \
                 (N + 1 past the spline) |"
            ),
            "{md}"
        );
    }
}
