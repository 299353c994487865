//! `nti-gpu bench --compare a.json b.json`: two reports side by side, per workload and
//! figure, with the ratio b/a. Workloads present in only one file are listed as such;
//! differing suite or schema versions, suites or units are warned about, not refused.
//!
//! Works on the JSON values, not on [`super::BenchReport`], so files written by other
//! versions compare as far as their figures share names.

use crate::error::{Error, Result};
use serde_json::Value;
use std::path::Path;

/// Reads and compares two report files (see [`compare_values`]).
pub fn compare_files(a: &Path, b: &Path) -> Result<String> {
    let read = |p: &Path| -> Result<Value> {
        let text = std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?;
        serde_json::from_str(&text).map_err(|e| Error::Format {
            path: p.into(),
            message: format!("not a JSON benchmark report (nti-gpu bench --json-out FILE): {e}"),
        })
    };
    compare_values(
        &read(a)?,
        &read(b)?,
        &a.display().to_string(),
        &b.display().to_string(),
    )
}

/// One workload's numeric figures, flattened to dotted names in display order.
fn figures(w: &Value) -> Vec<(String, f64)> {
    fn walk(prefix: &str, v: &Value, out: &mut Vec<(String, f64)>) {
        match v {
            Value::Number(n) => {
                if let Some(x) = n.as_f64() {
                    out.push((prefix.to_string(), x));
                }
            }
            Value::Object(m) => {
                for (k, v) in m {
                    if prefix.is_empty() && k == "workload" {
                        continue;
                    }
                    let name = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&name, v, out);
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let key = item
                        .get("kernel")
                        .and_then(Value::as_str)
                        .map_or(i.to_string(), str::to_string);
                    walk(&format!("{prefix}.{key}"), item, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk("", w, &mut out);
    let rank = |name: &str| -> usize {
        const ORDER: &[&str] = &[
            "gpu.median",
            "gpu.",
            "gpu_timestamp.median",
            "gpu_timestamp.",
            "cpu_1thread",
            "cpu_all_threads",
            "ratio_vs_cpu_1thread",
            "ratio_vs_cpu_all_threads",
            "kernels.",
            "extra.",
        ];
        ORDER
            .iter()
            .position(|p| name == *p || (p.ends_with('.') && name.starts_with(p)))
            .unwrap_or(ORDER.len())
    };
    out.sort_by_key(|(n, _)| rank(n));
    out
}

fn text(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "?".into(),
        Some(x) => x.to_string(),
    }
}

fn describe(label: &str, r: &Value) -> String {
    let adapter = r.get("adapter").cloned().unwrap_or(Value::Null);
    format!(
        "{label}: suite {} v{}, nti-gpu {} commit {}, {} ({}, {}), {}",
        text(r, "suite"),
        text(r, "suite_version"),
        text(r, "nti_gpu_version"),
        text(r, "git_commit"),
        text(&adapter, "name"),
        text(&adapter, "backend"),
        text(&adapter, "device_type"),
        text(r, "os"),
    )
}

fn workloads<'a>(r: &'a Value, label: &str) -> Result<Vec<(&'a str, &'a Value)>> {
    let list = r
        .get("workloads")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::Format {
            path: label.into(),
            message: "no `workloads` array: not a report of `nti-gpu bench --json-out FILE` \
                      (schema version 1 or later)"
                .into(),
        })?;
    Ok(list
        .iter()
        .map(|w| (w.get("name").and_then(Value::as_str).unwrap_or("?"), w))
        .collect())
}

fn number(x: f64) -> String {
    if x.abs() >= 1e4 || (x != 0.0 && x.abs() < 1e-2) {
        format!("{x:.4e}")
    } else {
        format!("{x:.4}")
    }
}

/// The side-by-side text of two parsed reports labelled `a_label` and `b_label`: warnings,
/// then per workload (in `a`'s order, then those only in `b`) each figure of either file
/// with a, b and b/a ("-" where a figure is missing or a is 0).
pub fn compare_values(a: &Value, b: &Value, a_label: &str, b_label: &str) -> Result<String> {
    let wa = workloads(a, a_label)?;
    let wb = workloads(b, b_label)?;
    let mut s = String::new();
    s.push_str(&describe("a", a));
    s.push('\n');
    s.push_str(&describe("b", b));
    s.push('\n');
    for key in ["suite_version", "schema_version", "suite"] {
        if a.get(key) != b.get(key) {
            s.push_str(&format!(
                "warning: {key} differs (a: {}, b: {}); workloads of the same name may not \
                 measure the same thing\n",
                text(a, key),
                text(b, key)
            ));
        }
    }
    s.push_str(&format!(
        "\n{:<44} {:>14} {:>14} {:>8}\n",
        "workload / figure", "a", "b", "b/a"
    ));
    let mut names: Vec<&str> = wa.iter().map(|(n, _)| *n).collect();
    for (n, _) in &wb {
        if !names.contains(n) {
            names.push(n);
        }
    }
    let (mut only_a, mut only_b) = (Vec::new(), Vec::new());
    for name in names {
        let x = wa.iter().find(|(n, _)| *n == name).map(|(_, w)| *w);
        let y = wb.iter().find(|(n, _)| *n == name).map(|(_, w)| *w);
        let units = x.or(y).map_or("?".into(), |w| text(w, "units"));
        match (x, y) {
            (Some(_), None) => only_a.push(name),
            (None, Some(_)) => only_b.push(name),
            _ => {}
        }
        let tag = match (x, y) {
            (Some(_), None) => " (only in a)",
            (None, Some(_)) => " (only in b)",
            _ => "",
        };
        s.push_str(&format!("{name} [{units}]{tag}\n"));
        if let (Some(x), Some(y)) = (x, y) {
            if x.get("units") != y.get("units") {
                s.push_str(&format!(
                    "  warning: units differ (a: {}, b: {})\n",
                    text(x, "units"),
                    text(y, "units")
                ));
            }
        }
        let fa = x.map(figures).unwrap_or_default();
        let fb = y.map(figures).unwrap_or_default();
        let mut keys: Vec<&String> = fa.iter().map(|(k, _)| k).collect();
        for (k, _) in &fb {
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        for k in keys {
            let va = fa.iter().find(|(n, _)| n == k).map(|(_, v)| *v);
            let vb = fb.iter().find(|(n, _)| n == k).map(|(_, v)| *v);
            let ratio = match (va, vb) {
                (Some(p), Some(q)) if p != 0.0 => format!("{:.3}", q / p),
                _ => "-".into(),
            };
            s.push_str(&format!(
                "  {:<42} {:>14} {:>14} {:>8}\n",
                k,
                va.map_or("-".into(), number),
                vb.map_or("-".into(), number),
                ratio
            ));
        }
    }
    if !only_a.is_empty() {
        s.push_str(&format!("only in a: {}\n", only_a.join(", ")));
    }
    if !only_b.is_empty() {
        s.push_str(&format!("only in b: {}\n", only_b.join(", ")));
    }
    Ok(s)
}
