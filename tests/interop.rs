//! The files for other tools (docs/results.md, "Files for other tools") of a tiny real run
//! with every baseline: every CSV has exactly one plain header row and numbers below it;
//! `summary.csv` has a row per N and method; each λ leg's exported reduced energies are
//! exactly what MBAR solved (this program's MBAR on the file gives results.json's free
//! energies), in pymbar's sample order with N_k per state; the dH/dl table holds every
//! record; the extended XYZ holds every kept configuration with its length unit.

mod common;

use nti_gpu::baselines::mbar::mbar;
use nti_gpu::scene::Scene;
use serde_json::Value;
use std::path::Path;

/// A CSV as (header, rows of cells).
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    let rows = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    (header, rows)
}

fn numbers(rows: &[Vec<String>], skip: &[usize]) -> Vec<Vec<f64>> {
    rows.iter()
        .map(|r| {
            r.iter()
                .enumerate()
                .filter(|(i, _)| !skip.contains(i))
                .map(|(_, c)| {
                    if c.is_empty() {
                        f64::NAN
                    } else {
                        c.parse().unwrap()
                    }
                })
                .collect()
        })
        .collect()
}

#[test]
fn exported_tables_are_what_the_numbers_were_computed_from() {
    let Some(gpu) = common::gpu() else { return };
    let text = r#"Scene(
    name: "interop", seed: 9,
    system: (box_length: 5.0, temperature: 1.0, epsilon: 0.8, particles: [12],
             potential: MinimumImage),
    baselines: (widom: (insertions: 50), eos: true,
                lambda_ti: (windows: 4, replicas_per_window: 3, equilibration_steps: 200,
                            production_steps: 400, sample_every: 100)),
    sampler: (replicas: 4, dt: 0.005, equilibration_steps: 200, production_steps: 400,
              record_every: 10, sample_every: 100),
)"#;
    let scene = Scene::from_str(text, "interop.ron").unwrap();
    scene.validate("interop.ron").unwrap();
    let dir = std::env::temp_dir().join(format!("nti-interop-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    nti_gpu::stages::run_scene(&gpu, &scene, &dir, false, &mut nti_gpu::stages::NoProgress)
        .unwrap();
    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();

    // Every CSV: one plain header row (names, no comment), then rows of as many cells, all
    // numbers but summary.csv's words.
    let mut csvs = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("csv") {
            continue;
        }
        csvs += 1;
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let (header, rows) = read_csv(&path);
        assert!(
            header.iter().all(|h| !h.is_empty() && !h.starts_with('#'))
                && (name.contains("u_nk") || header.iter().all(|h| h.parse::<f64>().is_err())),
            "{name}: {header:?}"
        );
        assert!(!rows.is_empty(), "{name}: no rows");
        let words: Vec<usize> = if name == "summary.csv" {
            vec![2, 3, 7]
        } else {
            vec![]
        };
        for r in &rows {
            assert_eq!(r.len(), header.len(), "{name}: {r:?}");
        }
        numbers(&rows, &words);
    }
    assert!(csvs >= 9, "{csvs} CSV files");

    // summary.csv: a row per method of N = 12, with results.json's numbers.
    let (header, rows) = read_csv(&dir.join("summary.csv"));
    assert_eq!(header.join(","), nti_gpu::export::SUMMARY_COLUMNS);
    let fe = &results["free_energy"]["12"];
    for method in ["widom", "lambda_ti", "mbar", "eos"] {
        let row = rows
            .iter()
            .find(|r| r[0] == "12" && r[2] == method)
            .unwrap_or_else(|| panic!("no {method} row: {rows:?}"));
        if let Some(m) = fe[method]["mean"].as_f64() {
            assert_eq!(row[4].parse::<f64>().unwrap(), m, "{method}");
        }
    }

    // Each λ leg: u_nk holds K states × (K windows × frames × replicas) samples in MBAR's
    // order; MBAR on it gives results.json's βf_k to solver precision.
    let legs = fe["lambda_ti"]["legs"].as_array().unwrap();
    assert_eq!(legs.len(), 2);
    for leg in legs {
        let files = &leg["files"];
        let (k, frames, reps) = (4usize, 4usize, 3usize);
        let (header, rows) = read_csv(&dir.join(files["u_nk"].as_str().unwrap()));
        assert_eq!(&header[..2], &["time", "fep-lambda"]);
        let lambdas: Vec<f64> = leg["windows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["lambda"].as_f64().unwrap())
            .collect();
        let columns: Vec<f64> = header[2..].iter().map(|h| h.parse().unwrap()).collect();
        assert_eq!(columns, lambdas, "state columns are the windows' λ");
        let table = numbers(&rows, &[]);
        assert_eq!(table.len(), k * frames * reps);
        for (s, row) in table.iter().enumerate() {
            assert_eq!(
                row[1],
                lambdas[s / (frames * reps)],
                "sample {s} sampled in its window"
            );
            // Frames 100 steps apart after 200 of equilibration: t = (300 + 100 f) dt.
            let f = (s / reps) % frames;
            assert!((row[0] - (300.0 + 100.0 * f as f64) * 0.005).abs() < 1e-12);
        }
        let u_kn: Vec<Vec<f64>> = (0..k)
            .map(|j| table.iter().map(|r| r[2 + j]).collect())
            .collect();
        let (_, states) = read_csv(&dir.join(files["states"].as_str().unwrap()));
        let n_k: Vec<usize> = states.iter().map(|r| r[2].parse().unwrap()).collect();
        assert_eq!(n_k, vec![frames * reps; k]);
        let m = mbar(&u_kn, &n_k).unwrap();
        let ours: Vec<f64> = leg["mbar_f_k"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        for j in 0..k {
            let f = m.free_energies[j] - m.free_energies[0];
            assert!((f - ours[j]).abs() < 1e-9, "state {j}: {f} vs {}", ours[j]);
            let col: f64 = states[j][5].parse().unwrap();
            assert_eq!(col, ours[j], "states table");
        }
        let delta = leg["mbar_delta_f"]["mean"].as_f64().unwrap();
        assert!((ours[k - 1] - delta).abs() < 1e-12);
        // dH/dl: every record (400 / min(10, 100)) of every replica of every window.
        let (header, rows) = read_csv(&dir.join(files["dhdl"].as_str().unwrap()));
        assert_eq!(header, vec!["time", "fep-lambda", "fep"]);
        assert_eq!(rows.len(), k * reps * 40);
    }

    // Extended XYZ: all 4 frames × 4 replicas, lengths in σ.
    let xyz = std::fs::read_to_string(dir.join("samples_N12.xyz")).unwrap();
    let headers: Vec<&str> = xyz.lines().filter(|l| l.starts_with("Lattice=")).collect();
    assert_eq!(headers.len(), 16);
    assert!(headers.iter().all(|h| h.contains("length_unit=sigma")));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The bundled scene that `scripts/check_interop.py` is run on is a valid scene with every
/// baseline, MBAR included.
#[test]
fn the_interop_scene_is_valid_and_has_every_baseline() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/scenes/interop.ron");
    let scene = Scene::from_str(&std::fs::read_to_string(path).unwrap(), path).unwrap();
    scene.validate(path).unwrap();
    let b = scene.baselines.expect("baselines");
    assert!(b.widom.is_some() && b.eos && b.lambda_ti.is_some_and(|l| l.mbar));
}
