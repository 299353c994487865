//! `nti-gpu collect DIR`: every finished state point of a sweep project merged into one
//! tidy table (`collected.csv`, `collected.json`) and figures (`collected_betamu.png`,
//! `collected_betaF.png`), with the unfinished points listed and their reason.
//!
//! A point is finished when its results.json records the wall time of every stage its
//! scene asks for and no process holds its lock. Points of different nti-gpu versions, or
//! whose scenes differ in more than the sweep's axes (a base scene changed under points
//! already run), are refused: their numbers would not be comparable.

use super::{VALUE_FILE, WORKSPACE_DIR};
use crate::error::{Error, Result};
use crate::export::{field, summary_csv, SUMMARY_COLUMNS};
use crate::output::{read_results, write_atomic, LOCK_FILE};
use crate::report::plot::{series_color, write_png, Figure, Series};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The merged table.
pub const COLLECTED_CSV: &str = "collected.csv";
/// The merged table and every point's status, as JSON.
pub const COLLECTED_JSON: &str = "collected.json";

/// What [`collect`] found and wrote.
#[derive(Clone, Debug, Default)]
pub struct Collected {
    /// Finished points (directory names).
    pub finished: Vec<String>,
    /// Unfinished points and why.
    pub unfinished: Vec<(String, String)>,
    /// Rows of the table.
    pub rows: usize,
    /// Files written.
    pub files: Vec<PathBuf>,
}

/// One point's directory name, axis values and results (when finished).
struct PointData {
    directory: String,
    values: serde_json::Map<String, Value>,
    results: Option<Value>,
    reason: Option<String>,
}

/// Why the point in `dir` is not finished, or `None` when it is; `results` its results.json.
fn unfinished_reason(dir: &Path, results: Option<&Value>) -> Option<String> {
    let Some(r) = results else {
        return Some("not started (no results.json)".into());
    };
    if dir.join(LOCK_FILE).exists() {
        return Some(format!(
            "running, or stopped without releasing its lock ({LOCK_FILE})"
        ));
    }
    let scene = &r["scene"];
    let mut missing = Vec::new();
    for (stage, section) in [
        ("sample", None),
        ("train", Some("training")),
        ("baselines", Some("baselines")),
        ("integrate", Some("integration")),
    ] {
        let asked = section.is_none_or(|s| scene.get(s).is_some_and(|v| !v.is_null()));
        if asked && r["wall_time_s"][stage].as_f64().is_none() {
            missing.push(stage);
        }
    }
    (!missing.is_empty()).then(|| format!("stage(s) {} not finished", missing.join(", ")))
}

/// The points of the project in `dir` (workspace directories with a value.json), sorted.
fn read_points(dir: &Path) -> Result<Vec<PointData>> {
    let workspace = dir.join(WORKSPACE_DIR);
    let entries = std::fs::read_dir(&workspace).map_err(|e| {
        Error::argument(
            "DIR",
            dir.display(),
            format!("has no {WORKSPACE_DIR}/ ({e}): give the directory `nti-gpu sweep init` wrote"),
        )
    })?;
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join(VALUE_FILE).is_file())
        .collect();
    dirs.sort();
    let mut points = Vec::new();
    for p in dirs {
        let directory = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let vpath = p.join(VALUE_FILE);
        let text = std::fs::read_to_string(&vpath).map_err(|e| Error::io(&vpath, e))?;
        let values = match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(m)) => m,
            _ => {
                return Err(Error::Format {
                    path: vpath,
                    message: "not a JSON object of axis values; rerun `nti-gpu sweep init`".into(),
                })
            }
        };
        let rpath = p.join("results.json");
        let results = if rpath.is_file() {
            Some(read_results(&rpath)?)
        } else {
            None
        };
        let reason = unfinished_reason(&p, results.as_ref());
        points.push(PointData {
            directory,
            values,
            results,
            reason,
        });
    }
    Ok(points)
}

/// The scene of a results object without the swept fields and the per-point name: what
/// must be the same across the points.
fn common_scene(results: &Value, axes: &[String]) -> Value {
    let mut scene = results["scene"].clone();
    if let Some(o) = scene.as_object_mut() {
        o.remove("name");
        o.remove("output");
    }
    for field in axes {
        let parts: Vec<&str> = field.split('.').collect();
        let mut node = &mut scene;
        for (k, part) in parts.iter().enumerate() {
            let Some(o) = node.as_object_mut() else { break };
            if k + 1 == parts.len() {
                o.remove(*part);
                break;
            }
            match o.get_mut(*part) {
                Some(next) => node = next,
                None => break,
            }
        }
    }
    scene
}

/// Splits one CSV line written by [`crate::export`] (fields quoted only when they hold
/// commas or quotes).
fn split_csv(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// Merges the finished points of the sweep project in `dir` (see the module doc).
pub fn collect(dir: &Path) -> Result<Collected> {
    let points = read_points(dir)?;
    if points.is_empty() {
        return Err(Error::argument(
            "DIR",
            dir.display(),
            format!("has no state points ({WORKSPACE_DIR}/*/{VALUE_FILE}): run `nti-gpu sweep init` first"),
        ));
    }
    let mut axes: Vec<String> = points
        .iter()
        .flat_map(|p| p.values.keys().cloned())
        .filter(|k| super::share::is_axis_key(k))
        .collect();
    axes.sort();
    axes.dedup();
    let finished: Vec<&PointData> = points.iter().filter(|p| p.reason.is_none()).collect();
    // Comparable numbers only: one nti-gpu version, one scene up to the axes.
    let mut versions: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let mut scenes: Vec<(Value, Vec<&str>)> = Vec::new();
    for p in &finished {
        let r = p.results.as_ref().expect("finished points have results");
        let v = r["provenance"]["version"]
            .as_str()
            .unwrap_or("unknown")
            .to_string();
        versions.entry(v).or_default().push(&p.directory);
        let s = common_scene(r, &axes);
        match scenes.iter_mut().find(|(c, _)| *c == s) {
            Some((_, names)) => names.push(&p.directory),
            None => scenes.push((s, vec![&p.directory])),
        }
    }
    if versions.len() > 1 {
        let list: Vec<String> = versions
            .iter()
            .map(|(v, names)| format!("{v}: {}", names.join(", ")))
            .collect();
        return Err(Error::argument(
            "DIR",
            dir.display(),
            format!(
                "its points were run by different nti-gpu versions ({}): rerun the odd ones \
                 (remove their results) so that every point comes from one version",
                list.join("; ")
            ),
        ));
    }
    if scenes.len() > 1 {
        let list: Vec<String> = scenes.iter().map(|(_, n)| n.join(", ")).collect();
        return Err(Error::argument(
            "DIR",
            dir.display(),
            format!(
                "its points' scenes differ in more than the sweep's axes (groups: {}): the \
                 base scene changed under points already run; rerun one group",
                list.join(" | ")
            ),
        ));
    }
    // The table.
    let summary_columns: Vec<&str> = SUMMARY_COLUMNS.split(',').collect();
    let mut header: Vec<String> = vec!["point".into()];
    header.extend(axes.iter().cloned());
    header.extend(["kT", "epsilon", "T_star", "box_length"].map(String::from));
    header.extend(summary_columns.iter().map(|c| c.to_string()));
    let mut csv = header.join(",") + "\n";
    let mut rows_json = Vec::new();
    for p in &finished {
        let r = p.results.as_ref().expect("finished points have results");
        let sys = &r["scene"]["system"];
        let (kt, eps, l) = (
            sys["temperature"].as_f64(),
            sys["epsilon"].as_f64(),
            sys["box_length"].as_f64(),
        );
        let t_star = kt.zip(eps).map(|(k, e)| k / e);
        let mut prefix: Vec<String> = vec![field(&p.directory)];
        let mut obj = serde_json::Map::new();
        obj.insert("point".into(), json!(p.directory));
        for a in &axes {
            let v = p.values.get(a).cloned().unwrap_or(Value::Null);
            let cell = match &v {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            prefix.push(field(&cell));
            obj.insert(a.clone(), v);
        }
        for (k, v) in [
            ("kT", kt),
            ("epsilon", eps),
            ("T_star", t_star),
            ("box_length", l),
        ] {
            prefix.push(v.map_or(String::new(), |x| format!("{x}")));
            obj.insert(k.into(), json!(v));
        }
        for line in summary_csv(r).lines().skip(1) {
            let cells = split_csv(line);
            let _ = writeln!(
                csv,
                "{},{}",
                prefix.join(","),
                cells.iter().map(|c| field(c)).collect::<Vec<_>>().join(",")
            );
            let mut row = obj.clone();
            for (c, cell) in summary_columns.iter().zip(&cells) {
                let v = if cell.is_empty() {
                    Value::Null
                } else {
                    cell.parse::<f64>()
                        .ok()
                        .filter(|x| x.is_finite())
                        .map_or(json!(cell), |x| json!(x))
                };
                row.insert((*c).to_string(), v);
            }
            rows_json.push(Value::Object(row));
        }
    }
    let mut files = Vec::new();
    let csv_path = dir.join(COLLECTED_CSV);
    write_atomic(&csv_path, csv.as_bytes())?;
    files.push(csv_path);
    let unfinished: Vec<(String, String)> = points
        .iter()
        .filter_map(|p| Some((p.directory.clone(), p.reason.clone()?)))
        .collect();
    let status: Vec<Value> = points
        .iter()
        .map(|p| {
            json!({
                "point": p.directory,
                "values": p.values,
                "finished": p.reason.is_none(),
                "reason": p.reason,
            })
        })
        .collect();
    let doc = json!({
        "axes": axes,
        "columns": header,
        "points": status,
        "rows": rows_json,
        "provenance": {"collected_by": env!("CARGO_PKG_VERSION"),
                       "commit": crate::bench::git_commit()},
    });
    let json_path = dir.join(COLLECTED_JSON);
    write_atomic(
        &json_path,
        (serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n").as_bytes(),
    )?;
    files.push(json_path);
    files.extend(figures(dir, &rows_json)?);
    Ok(Collected {
        finished: finished.iter().map(|p| p.directory.clone()).collect(),
        unfinished,
        rows: rows_json.len(),
        files,
    })
}

/// (T*, method, quantity) of a series in the figures; its points are (ρ, value, err).
type GroupKey = (String, String, String);

/// βμ_ex(ρ) and βF_ex/N(ρ), one series per temperature and method, with the
/// Kolafa–Nezbeda equation of state of each temperature as a line.
fn figures(dir: &Path, rows: &[Value]) -> Result<Vec<PathBuf>> {
    let key = |r: &Value| {
        (
            r["T_star"].as_f64().unwrap_or(f64::NAN),
            r["method"].as_str().unwrap_or("").to_string(),
            r["quantity"].as_str().unwrap_or("").to_string(),
        )
    };
    let mut groups: BTreeMap<GroupKey, Vec<(f64, f64, f64)>> = BTreeMap::new();
    for r in rows {
        let (t, method, quantity) = key(r);
        let (Some(rho), Some(mean), Some(n)) =
            (r["rho"].as_f64(), r["mean"].as_f64(), r["N"].as_f64())
        else {
            continue;
        };
        let err = r["err"].as_f64().unwrap_or(0.0);
        let (value, err) = if quantity == "betaF_ex" {
            (mean / n, err / n)
        } else {
            (mean, err)
        };
        groups
            .entry((format!("{t}"), method, quantity))
            .or_default()
            .push((rho, value, err));
    }
    let mut written = Vec::new();
    for (quantity, file, title, y) in [
        (
            "betamu_ex",
            "collected_betamu.png",
            "Excess chemical potential across the sweep",
            "βμ_ex",
        ),
        (
            "betaF_ex",
            "collected_betaF.png",
            "Excess free energy per particle across the sweep",
            "βF_ex / N",
        ),
    ] {
        let methods: &[&str] = if quantity == "betamu_ex" {
            &["neural_ti_spline", "neural_ti", "widom", "lambda_ti"]
        } else {
            &["neural_ti", "lambda_ti"]
        };
        let mut fig = Figure::new(title, "ρσ³", y);
        let mut any = false;
        let mut temps: Vec<f64> = Vec::new();
        // One colour per temperature, shared by its points and its EOS line.
        let mut keys: Vec<&str> = groups.keys().map(|k| k.0.as_str()).collect();
        keys.dedup();
        let colour = |t: &str| series_color(keys.iter().position(|k| *k == t).unwrap_or(0));
        for ((t, method, q), pts) in &groups {
            if q != quantity || !methods.contains(&method.as_str()) {
                continue;
            }
            let mut pts = pts.clone();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            let label = format!("T* = {t}, {method}");
            fig = fig.with_series(
                Series::points(
                    label,
                    pts.iter().map(|p| p.0).collect(),
                    pts.iter().map(|p| p.1).collect(),
                    Some(pts.iter().map(|p| p.2).collect()),
                )
                .color(colour(t)),
            );
            any = true;
            if let Ok(tv) = t.parse::<f64>() {
                if !temps.contains(&tv) {
                    temps.push(tv);
                }
            }
        }
        if !any {
            continue;
        }
        // The EOS of each temperature over the sweep's densities.
        let rhos: Vec<f64> = groups.values().flatten().map(|p| p.0).collect();
        let (lo, hi) = rhos
            .iter()
            .fold((f64::INFINITY, 0.0f64), |(a, b), &r| (a.min(r), b.max(r)));
        for t in temps {
            let rgb = colour(&format!("{t}"));
            let line: Vec<(f64, f64)> = (0..=40)
                .map(|i| lo + (hi - lo) * i as f64 / 40.0)
                .filter(|&rho| crate::baselines::eos::validate_state(t, rho).is_ok())
                .map(|rho| {
                    let p = crate::baselines::eos::kolafa_nezbeda(t, rho);
                    let v = if quantity == "betamu_ex" {
                        p.beta_mu_ex
                    } else {
                        p.beta_a_ex_per_particle
                    };
                    (rho, v)
                })
                .collect();
            if line.len() > 1 {
                fig = fig.with_series(
                    Series::line(format!("T* = {t}, EOS (Kolafa–Nezbeda)"), line)
                        .dashed()
                        .color(rgb),
                );
            }
        }
        let path = dir.join(file);
        write_png(&fig, &path)?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_lines_split_with_quotes() {
        assert_eq!(split_csv("a,\"b,c\",,d"), vec!["a", "b,c", "", "d"]);
        assert_eq!(split_csv("\"x\"\"y\""), vec!["x\"y"]);
    }

    #[test]
    fn unfinished_points_say_which_stage() {
        let dir = std::env::temp_dir().join(format!("nti-collect-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(unfinished_reason(&dir, None)
            .unwrap()
            .contains("not started"));
        let r = json!({"scene": {"training": {"steps": 1}}, "wall_time_s": {"sample": 1.0}});
        assert_eq!(
            unfinished_reason(&dir, Some(&r)).unwrap(),
            "stage(s) train not finished"
        );
        let done = json!({"scene": {"training": null}, "wall_time_s": {"sample": 1.0}});
        assert_eq!(unfinished_reason(&dir, Some(&done)), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
