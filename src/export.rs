//! Files for other tools, each a plain table with exactly one header row (pandas, R,
//! spreadsheets read them with default options) or extended XYZ (ASE, OVITO):
//!
//! - `summary.csv`: one row per particle count × method ([`summary_csv`], from results.json);
//! - per λ leg of the λ-window baseline ([`write_leg_files`]): the reduced energies of every
//!   kept frame in every window's state in alchemlyb's `u_nk` layout (`*_u_nk.csv`, which
//!   is also pymbar's `u_kn` transposed), the per-record β∂U/∂λ in alchemlyb's `dHdl`
//!   layout (`*_dhdl.csv`), and the states with their sample counts N_k and this program's
//!   MBAR free energies (`*_states.csv`);
//! - Widom's running estimate of each N (`widom_N<N>_running.csv`, [`widom_running_csv`]):
//!   βμ_ex and its error after each tenth of the reference configurations;
//! - the thermo log of each reference run (`thermo_N<N>.csv`, written by the sampling stage
//!   with [`crate::md::sampler::SampleOutcome::thermo_csv`]) and the extended XYZ of its kept
//!   configurations ([`crate::dataset::SampleSet::to_extxyz_all`]).
//!
//! docs/results.md ("Files for other tools") documents every column.

use crate::baselines::lambda_ti::{LegResult, LegSeries};
use crate::error::Result;
use crate::output::write_atomic;
use crate::reference::alchemical_energies::AlchemicalPath;
use serde::Serialize;
use serde_json::Value;
use std::fmt::Write as _;
use std::path::Path;

/// File name of Widom's running estimate at N.
pub fn widom_running_file(n: u32) -> String {
    format!("widom_N{n}_running.csv")
}

/// The column names of `widom_N<N>_running.csv`.
pub const WIDOM_RUNNING_COLUMNS: &str = "insertions,configurations,betamu_ex,err";

/// Widom's running estimate as a table: one row per tenth of the configurations, with the
/// insertions and configurations used, βμ_ex of them (the analytic tail added, as in the
/// final value) and its standard error.
pub fn widom_running_csv(est: &crate::md::widom::WidomEstimate) -> String {
    let mut text = format!("{WIDOM_RUNNING_COLUMNS}\n");
    let per_config = est.insertions.checked_div(est.configurations).unwrap_or(0);
    for (i, &(insertions, mu)) in est.running.iter().enumerate() {
        let configurations = insertions.checked_div(per_config).unwrap_or(0);
        let err = est.running_err.get(i).copied().unwrap_or(f64::NAN);
        let _ = writeln!(
            text,
            "{insertions},{configurations},{},{}",
            num(mu + est.betamu_tail),
            num(err)
        );
    }
    text
}

/// File name of the per-method summary table.
pub const SUMMARY_FILE: &str = "summary.csv";

/// The column names of `summary.csv`.
pub const SUMMARY_COLUMNS: &str =
    "N,rho,method,quantity,mean,err,err_sys,verdict,wall_s,deviation_sigma";

/// The interop files of one λ leg (names relative to the output directory).
#[derive(Clone, Debug, Default, Serialize)]
pub struct LegFiles {
    /// alchemlyb `u_nk` table: reduced energies of every sample in every state (None
    /// without MBAR, which computes them).
    pub u_nk: Option<String>,
    /// alchemlyb `dHdl` table: β∂U/∂λ of every record.
    pub dhdl: String,
    /// States: λ, N_k, ⟨β∂U/∂λ⟩ and this program's MBAR free energies.
    pub states: String,
}

/// The key of a leg's path in file names.
pub fn path_key(path: AlchemicalPath) -> &'static str {
    match path {
        AlchemicalPath::SoftCore => "soft_core",
        AlchemicalPath::LjToWca => "lj_to_wca",
        AlchemicalPath::WcaSoftCore => "wca_soft_core",
    }
}

/// The file names of the leg on `path` at N.
pub fn leg_files(n: u32, path: AlchemicalPath) -> LegFiles {
    let stem = format!("lambda_N{n}_{}", path_key(path));
    LegFiles {
        u_nk: Some(format!("{stem}_u_nk.csv")),
        dhdl: format!("{stem}_dhdl.csv"),
        states: format!("{stem}_states.csv"),
    }
}

/// A number in the shortest form that reads back to the same f64 (empty for NaN, which
/// pandas reads as missing).
fn num(x: f64) -> String {
    if x.is_nan() {
        String::new()
    } else if x == 0.0 || (1e-4..1e15).contains(&x.abs()) || x.is_infinite() {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

/// The λ values as column names: the shortest form that reads back to the same f64.
fn lambda_name(l: f64) -> String {
    format!("{l}")
}

/// alchemlyb's `u_nk` layout: columns `time,fep-lambda,<λ_0>,…,<λ_{K−1}>`, one row per
/// sample (rows ordered window by window, then frame, then replica: the column order of
/// pymbar's `u_kn`), each state's column its reduced energy βU_k there. `None` without
/// reduced energies (MBAR not run).
pub fn u_nk_csv(series: &LegSeries) -> Option<String> {
    let k = series.lambdas.len();
    if series.u_kn.len() != k || k == 0 {
        return None;
    }
    let reps = series.replicas_per_window.max(1);
    let frames = series.frame_times.len();
    let mut text = String::from("time,fep-lambda");
    for &l in &series.lambdas {
        let _ = write!(text, ",{}", lambda_name(l));
    }
    text.push('\n');
    let mut col = 0;
    for &lambda in &series.lambdas {
        for &time in &series.frame_times {
            for _ in 0..reps {
                let _ = write!(text, "{},{}", num(time), lambda_name(lambda));
                for row in &series.u_kn {
                    let _ = write!(text, ",{}", num(row[col]));
                }
                text.push('\n');
                col += 1;
            }
        }
    }
    debug_assert_eq!(col, k * frames * reps);
    Some(text)
}

/// alchemlyb's `dHdl` layout: columns `time,fep-lambda,fep`, one row per record of every
/// replica (window by window, then time, then replica), `fep` = β∂U/∂λ in kT.
pub fn dhdl_csv(series: &LegSeries) -> String {
    let reps = series.replicas_per_window.max(1);
    let mut text = String::from("time,fep-lambda,fep\n");
    for (w, &lambda) in series.lambdas.iter().enumerate() {
        for (i, &time) in series.record_times.iter().enumerate() {
            for r in 0..reps {
                let v = series
                    .dudl
                    .get(w * reps + r)
                    .and_then(|row| row.get(i))
                    .copied()
                    .unwrap_or(f64::NAN);
                let _ = writeln!(text, "{},{},{}", num(time), lambda_name(lambda), num(v));
            }
        }
    }
    text
}

/// One row per state: `state,lambda,n_k,dudl_mean,dudl_err,mbar_f_k,mbar_f_k_err` (the MBAR
/// columns empty without MBAR).
pub fn states_csv(leg: &LegResult) -> String {
    let mut text = String::from("state,lambda,n_k,dudl_mean,dudl_err,mbar_f_k,mbar_f_k_err\n");
    for (k, w) in leg.windows.iter().enumerate() {
        let at = |v: &Option<Vec<f64>>| v.as_ref().and_then(|v| v.get(k)).copied();
        let _ = writeln!(
            text,
            "{k},{},{},{},{},{},{}",
            lambda_name(w.lambda),
            leg.series.n_k.get(k).copied().unwrap_or(0),
            num(w.dudl.mean),
            num(w.dudl.err),
            at(&leg.mbar_f_k).map_or(String::new(), num),
            at(&leg.mbar_f_k_err).map_or(String::new(), num),
        );
    }
    text
}

/// Writes the leg's interop files into `dir` (the `u_nk` table only where MBAR ran) and
/// returns their names.
pub fn write_leg_files(dir: &Path, n: u32, leg: &LegResult) -> Result<LegFiles> {
    let mut files = leg_files(n, leg.path);
    match (u_nk_csv(&leg.series), &files.u_nk) {
        (Some(text), Some(name)) => write_atomic(&dir.join(name), text.as_bytes())?,
        _ => files.u_nk = None,
    }
    write_atomic(&dir.join(&files.dhdl), dhdl_csv(&leg.series).as_bytes())?;
    write_atomic(&dir.join(&files.states), states_csv(leg).as_bytes())?;
    Ok(files)
}

/// A CSV field: quoted when it holds a comma or a quote.
pub(crate) fn field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The number at `path` under `v` ("" when absent or not a finite number).
fn at(v: &Value, path: &[&str]) -> String {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .and_then(Value::as_f64)
        .map_or(String::new(), num)
}

/// `summary.csv` from a results.json object (current schema): one row per N and method —
/// `N,rho,method,quantity,mean,err,err_sys,verdict,wall_s` — for every method that has an
/// entry: the neural-TI samplers, `ais`, `weighted_ti`, the headline `neural_ti` (βF_ex,
/// and βμ_ex where N + 1 was evaluated), `neural_ti_spline` (βμ_ex from the spline of
/// βF_ex(N)), `widom`, `lambda_ti`, `mbar`, `eos`. `rho` is N/L³; `verdict` is `converged` /
/// `not_converged` (neural_ti, widom), `collapse` (lambda_ti), `poor_overlap` (mbar), or
/// empty; `wall_s` the method's own wall time (for ais and weighted_ti that of the annealed
/// run they come from).
pub fn summary_csv(results: &Value) -> String {
    let mut text = format!("{SUMMARY_COLUMNS}\n");
    let box_length = results["scene"]["system"]["box_length"].as_f64();
    let Some(fe) = results.get("free_energy").and_then(Value::as_object) else {
        return text;
    };
    let mut counts: Vec<(u32, &Value)> = fe
        .iter()
        .filter_map(|(n, v)| Some((n.parse().ok()?, v)))
        .collect();
    counts.sort_by_key(|(n, _)| *n);
    // βμ_ex from the spline of βF_ex(N), one point per evaluated N.
    let spline: std::collections::BTreeMap<u32, &Value> = results["grand_canonical"]
        ["betamu_ex_spline"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p["n"].as_u64()? as u32, p)))
        .collect();
    // The scene's known values (`reference`), which every row of the same N and quantity
    // is compared with.
    let known: Vec<crate::scene::ReferenceValue> =
        serde_json::from_value(results["scene"]["reference"].clone()).unwrap_or_default();
    for (n, methods) in counts {
        let rho = box_length.map_or(String::new(), |l| num(n as f64 / (l * l * l)));
        let known_n = known.iter().find(|r| r.n == n);
        let mut row = |method: &str,
                       quantity: &str,
                       value: &Value,
                       err_sys: String,
                       verdict: &str,
                       wall: String| {
            let deviation = known_n
                .and_then(|r| r.get(quantity))
                .zip(value["mean"].as_f64())
                .and_then(|(k, mean)| {
                    let err = value["err"].as_f64().unwrap_or(0.0);
                    let sys = err_sys.parse().unwrap_or(0.0);
                    crate::scene::reference::deviation_sigma(mean, err, sys, k)
                })
                .map_or(String::new(), num);
            let _ = writeln!(
                text,
                "{n},{rho},{method},{quantity},{},{},{err_sys},{},{wall},{deviation}",
                at(value, &["mean"]),
                at(value, &["err"]),
                field(verdict),
            );
        };
        let annealed_wall = at(methods, &["annealed", "wall_time_s"]);
        for key in ["reverse_sde", "corrected", "annealed", "forward_noise"] {
            if let Some(s) = methods.get(key).filter(|s| s.is_object()) {
                row(
                    key,
                    "betaF_ex",
                    &s["betaF_ex"],
                    at(s, &["quadrature", "error_estimate"]),
                    "",
                    at(s, &["wall_time_s"]),
                );
            }
        }
        for key in ["ais", "weighted_ti"] {
            if let Some(s) = methods.get(key).filter(|s| s.is_object()) {
                let err_sys = if key == "ais" {
                    "0".into()
                } else {
                    at(methods, &["annealed", "quadrature", "error_estimate"])
                };
                row(
                    key,
                    "betaF_ex",
                    &s["betaF_ex"],
                    err_sys,
                    "",
                    annealed_wall.clone(),
                );
            }
        }
        if let Some(h) = methods.get("neural_ti").filter(|s| s.is_object()) {
            let verdict = match h["verdict"]["converged"].as_bool() {
                Some(true) => "converged",
                Some(false) => "not_converged",
                None => "",
            };
            let source = match h["estimator"].as_str() {
                Some("ais" | "weighted_ti") => "annealed",
                Some(k) => k,
                None => "",
            };
            let wall = at(methods, &[source, "wall_time_s"]);
            row(
                "neural_ti",
                "betaF_ex",
                &h["betaF_ex"],
                at(h, &["err_sys"]),
                verdict,
                wall.clone(),
            );
            if h.get("betamu_ex").is_some_and(Value::is_object) {
                row(
                    "neural_ti",
                    "betamu_ex",
                    &h["betamu_ex"],
                    String::new(),
                    verdict,
                    wall,
                );
            }
        }
        if let Some(p) = spline.get(&n) {
            row(
                "neural_ti_spline",
                "betamu_ex",
                p,
                String::new(),
                "",
                String::new(),
            );
        }
        if let Some(w) = methods.get("widom").filter(|s| s.is_object()) {
            let verdict = match w["converged"].as_bool() {
                Some(true) => "converged",
                Some(false) => "not_converged",
                None => "",
            };
            row(
                "widom",
                "betamu_ex",
                w,
                "0".into(),
                verdict,
                at(w, &["cost", "wall_time_s"]),
            );
        }
        if let Some(t) = methods.get("lambda_ti").filter(|s| s.is_object()) {
            let verdict = if t["collapse"].as_bool() == Some(true) {
                "collapse"
            } else {
                ""
            };
            let err_sys = t["legs"]
                .as_array()
                .map(|legs| {
                    let e: Vec<f64> = legs
                        .iter()
                        .filter_map(|l| l["discretisation_error"].as_f64())
                        .collect();
                    if e.is_empty() {
                        String::new()
                    } else {
                        num(e.iter().sum())
                    }
                })
                .unwrap_or_default();
            row(
                "lambda_ti",
                "betaF_ex",
                t,
                err_sys,
                verdict,
                at(t, &["cost", "wall_time_s"]),
            );
        }
        if let Some(m) = methods.get("mbar").filter(|s| s.is_object()) {
            let verdict = if m["warning"].is_string() {
                "poor_overlap"
            } else {
                ""
            };
            row(
                "mbar",
                "betaF_span",
                m,
                String::new(),
                verdict,
                at(m, &["cost", "wall_time_s"]),
            );
        }
        if let Some(e) = methods.get("eos").filter(|s| s.is_object()) {
            row(
                "eos",
                "betaF_ex",
                e,
                String::new(),
                "",
                at(e, &["cost", "wall_time_s"]),
            );
        }
        for (quantity, k) in known_n
            .into_iter()
            .flat_map(|r| [("betaF_ex", r.beta_f_ex), ("betamu_ex", r.betamu_ex)])
        {
            if let Some(k) = k {
                let _ = writeln!(
                    text,
                    "{n},{rho},reference,{quantity},{},{},,,,",
                    num(k.mean),
                    num(k.err),
                );
            }
        }
    }
    text
}

/// Writes `summary.csv` into `dir` from its results.json object.
pub fn write_summary(dir: &Path, results: &Value) -> Result<()> {
    write_atomic(&dir.join(SUMMARY_FILE), summary_csv(results).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baselines::lambda_ti::WindowResult;
    use crate::stats::Estimate;

    fn series() -> LegSeries {
        // 2 states, 2 replicas per window, 3 frames: 12 samples; u = 100 k + n.
        LegSeries {
            lambdas: vec![0.25, 0.75],
            replicas_per_window: 2,
            frame_times: vec![1.0, 2.0, 3.0],
            u_kn: (0..2)
                .map(|k| (0..12).map(|n| 100.0 * k as f64 + n as f64).collect())
                .collect(),
            n_k: vec![6, 6],
            record_times: vec![0.5, 1.0],
            dudl: (0..4)
                .map(|row| (0..2).map(|i| (10 * row + i) as f64).collect())
                .collect(),
        }
    }

    #[test]
    fn u_nk_rows_are_samples_in_u_kn_order() {
        let text = u_nk_csv(&series()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "time,fep-lambda,0.25,0.75");
        assert_eq!(lines.len(), 1 + 12);
        // Sample n = 7: window 1 (λ = 0.75), frame 0 (t = 1), replica 1.
        let cells: Vec<f64> = lines[1 + 7]
            .split(',')
            .map(|c| c.parse().unwrap())
            .collect();
        assert_eq!(cells, vec![1.0, 0.75, 7.0, 107.0]);
        assert!(u_nk_csv(&LegSeries::default()).is_none());
    }

    #[test]
    fn dhdl_rows_are_records_of_every_replica() {
        let text = dhdl_csv(&series());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "time,fep-lambda,fep");
        assert_eq!(lines.len(), 1 + 2 * 2 * 2);
        // Window 1, record 1 (t = 1), replica 0: row 2 of the dudl table, column 1.
        assert_eq!(lines[1 + 4 + 2], "1,0.75,21");
    }

    #[test]
    fn states_list_n_k_and_mbar() {
        let leg = LegResult {
            path: AlchemicalPath::LjToWca,
            windows: [0.25, 0.75]
                .iter()
                .map(|&lambda| WindowResult {
                    lambda,
                    dudl: Estimate {
                        mean: -3.5,
                        err: 0.25,
                    },
                    min_pair_distance: 1.0,
                    close_pair_ratio: 0.0,
                })
                .collect(),
            integral: Estimate {
                mean: 0.0,
                err: 0.0,
            },
            discretisation_error: None,
            mbar_delta_f: None,
            mbar_min_overlap: None,
            mbar_warning: None,
            mbar_overlap: None,
            mbar_f_k: Some(vec![0.0, -1.5]),
            mbar_f_k_err: Some(vec![0.0, 0.125]),
            files: None,
            series: series(),
        };
        let text = states_csv(&leg);
        assert_eq!(
            text,
            "state,lambda,n_k,dudl_mean,dudl_err,mbar_f_k,mbar_f_k_err\n\
             0,0.25,6,-3.5,0.25,0,0\n\
             1,0.75,6,-3.5,0.25,-1.5,0.125\n"
        );
        assert_eq!(
            leg_files(40, leg.path).u_nk.as_deref(),
            Some("lambda_N40_lj_to_wca_u_nk.csv")
        );
    }

    #[test]
    fn summary_has_one_row_per_n_and_method() {
        let results = serde_json::json!({
            "scene": {"system": {"box_length": 2.0}},
            "free_energy": {
                "16": {"widom": {"mean": -0.5, "err": 0.01, "converged": false,
                                 "cost": {"wall_time_s": 2.0}}},
                "8": {
                    "corrected": {"betaF_ex": {"mean": -3.0, "err": 0.5},
                                  "quadrature": {"error_estimate": 0.03}, "wall_time_s": 7.0},
                    "neural_ti": {"estimator": "corrected", "betaF_ex": {"mean": -3.0, "err": 0.5},
                                  "betamu_ex": {"mean": -0.25, "err": 0.5}, "err_sys": 0.03,
                                  "verdict": {"converged": true}},
                    "lambda_ti": {"mean": null, "err": null, "collapse": true, "legs": [],
                                  "cost": {"wall_time_s": 9.0}},
                    "mbar": {"mean": null, "err": null, "warning": "MBAR: poor overlap, see below",
                             "cost": {"wall_time_s": 9.0}},
                    "eos": {"mean": -3.25, "err": 0.125, "cost": {"wall_time_s": 0.0}}
                }
            },
            "grand_canonical": {"betamu_ex_spline": [{"n": 8, "mean": -0.375, "err": 0.0625}]}
        });
        let text = summary_csv(&results);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            vec![
                SUMMARY_COLUMNS,
                "8,1,corrected,betaF_ex,-3,0.5,0.03,,7,",
                "8,1,neural_ti,betaF_ex,-3,0.5,0.03,converged,7,",
                "8,1,neural_ti,betamu_ex,-0.25,0.5,,converged,7,",
                "8,1,neural_ti_spline,betamu_ex,-0.375,0.0625,,,,",
                "8,1,lambda_ti,betaF_ex,,,,collapse,9,",
                "8,1,mbar,betaF_span,,,,poor_overlap,9,",
                "8,1,eos,betaF_ex,-3.25,0.125,,,0,",
                "16,2,widom,betamu_ex,-0.5,0.01,0,not_converged,2,",
            ]
        );
    }
}
