//! `report.md` and the PNG figures of `nti-gpu run`, built from a synthetic output directory
//! (results.json, sampler records, loss log, reference g(r)); no device needed.

use std::path::{Path, PathBuf};

use nti_gpu::report::plot::series_color;
use nti_gpu::report::summary::{write_report, REPORT_FILE};
use nti_gpu::scene::Estimator;
use nti_gpu::scene::Scene;
use nti_gpu::ti::record::{raw_file, RawRun};
use serde_json::json;

fn scene() -> Scene {
    let text = r#"Scene(
    name: "report-test", seed: 7,
    system: (box_length: 6.0, temperature: 1.0, epsilon: 0.8, particles: [40, 41],
             potential: MinimumImage),
    sampler: (replicas: 4, dt: 0.005, equilibration_steps: 100, production_steps: 400,
              record_every: 10, sample_every: 100),
)"#;
    let s = Scene::from_str(text, "t").unwrap();
    s.validate("t").unwrap();
    s
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nti-report-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn summary(
    key: &str,
    mean: f64,
    err: f64,
    acc: Option<(f64, f64)>,
    evals: u64,
) -> serde_json::Value {
    json!({
        "estimator": key,
        "betaF_ex": {"mean": mean, "err": err, "bootstrap_err": err * 0.97, "n": 64},
        "quadrature": {"full": mean, "half": mean + 0.1, "error_estimate": 0.03732925},
        "ais": null,
        "mean_acceptance": acc.map(|a| a.0),
        "min_acceptance": acc.map(|a| a.1),
        "min_pair_distance": 0.9021964,
        "trajectories": 64,
        "evaluations": evals,
        "trajectory_steps_per_s": 177.49,
        "wall_time_s": 109.26,
        "file": format!("ti_N40_{key}.json"),
    })
}

/// results.json of a full run at N = 40 and 41.
fn results(scene: &Scene) -> serde_json::Value {
    json!({
        "nti_gpu_version": "0.1.0",
        "adapter": {"name": "llvmpipe (LLVM 15.0.6, 256 bits)", "backend": "Vulkan",
                    "device_type": "Cpu", "driver": "llvmpipe", "driver_info": "Mesa 25"},
        "scene": scene,
        "scene_hash": format!("{:016x}", scene.hash()),
        "wall_time_s": {"integrate": 262.69, "sample": 12.5, "train": 3725.0},
        "reference": {"40": {"samples": 256, "tau_int": 31.7, "n_eff": 95.2,
                             "sample_spacing_over_tau": 15.8,
                             "potential_energy_per_particle": {"mean": -1.2341, "err": 0.0123},
                             "pressure": {"mean": 0.0612, "err": 0.0041}}},
        "training": {"n": 40, "steps": 2000, "batch": 32, "final_loss": 0.3105,
                     "zero_network_loss": 2.4839, "steps_per_second": 55.3, "wall_time_s": 36.2},
        "free_energy": {
            "40": {
                "reverse_sde": summary("reverse_sde", -19.026305, 0.8234998, None, 101),
                "corrected": summary("corrected", -19.116764, 0.3952092, Some((0.5751856, 0.1328125)), 303),
                "annealed": summary("annealed", -16.362417, 0.409432, Some((0.578125, 0.171875)), 303),
                "forward_noise": summary("forward_noise", -23.826958, 0.9911739, None, 101),
                "ais": {"betaF_ex": {"mean": -19.600597, "err": 0.8711592, "delta_err": 0.72},
                        "ess": 1.9177447, "ess_fraction": 0.0299648, "trajectories": 64},
                "neural_ti": {"estimator": "corrected",
                              "betaF_ex": {"mean": -19.116764, "err": 0.3952092, "bootstrap_err": 0.38, "n": 64},
                              "quadrature_error": 0.0373, "rho": 0.185185,
                              "betamu_ex": {"mean": -0.431234, "err": 0.5623},
                              "forward_noise_gap": 4.710194},
                "widom": {"mean": -0.52871, "err": 0.01234, "converged": true, "diagnosis": "",
                          "insertions": 64000, "effective_insertions": 20311.4,
                          "max_insertion_weight": 0.0012},
                "lambda_ti": {"mean": -19.4321, "err": 0.1187, "collapse": false, "diagnosis": "",
                              "legs": [{"windows": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
                                        "discretisation_error": 0.0217}]},
                "mbar": {"mean": -12.3456, "err": 0.0456, "min_overlap": 0.1234, "warning": null,
                         "ti_same_span": {"mean": -12.3333, "err": 0.0501}},
                "eos": {"mean": -20.1234, "err": 0.3456,
                        "kolafa_nezbeda": {"betamu_ex": -0.5561},
                        "johnson": {"betamu_ex": -0.5438},
                        "note": "full LJ fluid"}
            },
            "41": {
                "corrected": summary("corrected", -19.548, 0.41, Some((0.57, 0.12)), 303),
                "neural_ti": {"estimator": "corrected",
                              "betaF_ex": {"mean": -19.548, "err": 0.41, "bootstrap_err": 0.4, "n": 64},
                              "rho": 0.189815}
            }
        }
    })
}

/// The integrand of the synthetic records: steep near t = 0, like the real one.
fn integrand(t: f64) -> f64 {
    -650.0 * (-t / 0.04).exp() + 100.0 * (6.0 * t).sin()
}

fn raw(estimator: Estimator, offset: f64) -> RawRun {
    let grid: Vec<f64> = (0..=100).map(|k| (k as f64 / 100.0).powi(2)).collect();
    let integrand = (0..16)
        .map(|c| {
            grid.iter()
                .map(|&t| integrand(t) + offset + 10.0 * ((c as f64 * 1.7 + t * 40.0).sin()))
                .collect()
        })
        .collect();
    RawRun {
        version: 1,
        fingerprint: "0123456789abcdef".into(),
        n: 40,
        estimator,
        grid: grid.clone(),
        integrand,
        work: vec![0.0; 16],
        log_weight: Vec::new(),
        log_norm: Vec::new(),
        resample: 0.0,
        families: 16,
        acceptance: vec![0.57; grid.len()],
        gr: (0..100)
            .map(|i| {
                let r = 0.015 + 0.03 * i as f64;
                (r, gr_model(r) * (1.0 + offset / 500.0))
            })
            .collect(),
        min_pair_distance: 0.9,
        evaluations: 303,
        wall_time_s: 10.0,
        checksum: String::new(),
    }
}

fn gr_model(r: f64) -> f64 {
    if r < 0.9 {
        0.0
    } else {
        1.0 + 1.2 * (-(r - 1.12).powi(2) / 0.01).exp()
    }
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

fn full_dir(name: &str, scene: &Scene) -> PathBuf {
    let dir = tmp(name);
    write(
        &dir,
        "results.json",
        &serde_json::to_string_pretty(&results(scene)).unwrap(),
    );
    for (e, offset) in [(Estimator::ReverseSde, 30.0), (Estimator::Corrected, 0.0)] {
        write(
            &dir,
            &raw_file(40, e),
            &serde_json::to_string(&raw(e, offset)).unwrap(),
        );
    }
    // The probe at t = 0.40 still falls by half its distance to 0.5 every 1000 steps; the
    // one at t = 0.85 is flat.
    let mut loss = String::from("step,loss,lr,loss_t0.40,loss_t0.85\n");
    for s in (0..=2000).step_by(100) {
        loss.push_str(&format!(
            "{s},{:e},1e-3,{:e},1\n",
            0.3 + 2.0 * (-(s as f64) / 300.0).exp(),
            0.5 + 0.5 * 0.5f64.powf(s as f64 / 1000.0)
        ));
    }
    write(&dir, "train_loss.csv", &loss);
    let mut gr = String::from("# g(r) of the reference samples; r at bin centres\nr,g\n");
    for i in 0..100 {
        let r = 0.015 + 0.03 * i as f64;
        gr.push_str(&format!("{r},{}\n", 0.95 * gr_model(r)));
    }
    write(&dir, "gr_N40.csv", &gr);
    dir
}

fn names(paths: &[PathBuf]) -> Vec<String> {
    paths
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

fn png(path: &Path) -> image::RgbImage {
    image::open(path).unwrap().to_rgb8()
}

/// Pixels of exactly `color` in rows `rows`.
fn count_color(img: &image::RgbImage, color: [u8; 3], rows: std::ops::Range<u32>) -> usize {
    img.enumerate_pixels()
        .filter(|(_, y, p)| rows.contains(y) && p.0 == color)
        .count()
}

#[test]
fn full_run_gives_every_figure_and_the_numbers() {
    let scene = scene();
    let dir = full_dir("full", &scene);
    let files = write_report(&scene, &dir).unwrap();
    assert_eq!(files.report, dir.join(REPORT_FILE));
    // The tidy table: one plain header row, as many fields a row, every number of the run.
    let csv = std::fs::read_to_string(&files.summary).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some(nti_gpu::export::SUMMARY_COLUMNS));
    let columns = nti_gpu::export::SUMMARY_COLUMNS.split(',').count();
    assert!(lines.all(|l| l.split(',').count() == columns), "{csv}");
    for row in [
        ",corrected,betaF_ex,-19.116764,0.3952092,",
        ",lambda_ti,betaF_ex,-19.4321,0.1187,",
        ",widom,betamu_ex,-0.52871,0.01234,0,converged,",
        ",neural_ti,betaF_ex,-19.548,0.41,",
    ] {
        assert!(csv.contains(row), "{row}: {csv}");
    }
    assert_eq!(
        names(&files.plots),
        [
            "integrand_N40.png",
            "training_loss.png",
            "gr_N40.png",
            "acceptance_N40.png",
            "free_energy.png",
            "chemical_potential.png",
            "ti_running_N40.png"
        ]
    );
    // Every figure also as SVG, the same stems in the same order, each well-formed XML
    // with its text as <text> elements.
    assert_eq!(files.svgs.len(), files.plots.len());
    for (png, svg) in files.plots.iter().zip(&files.svgs) {
        assert_eq!(png.with_extension("svg"), *svg);
        let text = std::fs::read_to_string(svg).unwrap();
        let mut texts = 0;
        for event in xml::reader::EventReader::new(text.as_bytes()) {
            if let xml::reader::XmlEvent::StartElement { name, .. } = event.unwrap() {
                texts += usize::from(name.local_name == "text");
            }
        }
        assert!(texts >= 3, "{}: {texts} text elements", svg.display());
    }
    // Two stacked panels for the integrand, one for the rest.
    let integrand_png = png(&dir.join("integrand_N40.png"));
    assert_eq!(integrand_png.dimensions(), (900, 900));
    for f in &files.plots[1..] {
        assert_eq!(png(f).dimensions(), (900, 600), "{}", f.display());
    }
    // Both estimators' lines (series 0 and 1) are drawn in both panels.
    for s in 0..2 {
        for rows in [0..450, 450..900] {
            let c = count_color(&integrand_png, series_color(s), rows.clone());
            assert!(c > 200, "series {s} has {c} pixels in rows {rows:?}");
        }
    }
    // g(r): the two samplers (series 0 and 1) and the reference on top, in its own colour.
    let gr = png(&dir.join("gr_N40.png"));
    for s in 0..2 {
        assert!(
            count_color(&gr, series_color(s), 0..600) > 100,
            "g(r) series {s}"
        );
    }
    assert!(
        count_color(&gr, nti_gpu::report::summary::REFERENCE_COLOR, 0..600) > 100,
        "g(r) reference"
    );
    // No figure for N = 41: it has no records.
    assert!(!dir.join("integrand_N41.png").exists() && !dir.join("gr_N41.png").exists());

    let md = std::fs::read_to_string(&files.report).unwrap();
    // Where the estimates build up along t: one row per span of the grid, a column per TI.
    assert!(md.contains(
        "| t span | TI, reverse SDE | TI, reverse SDE + MALA | spread of the model-path \
         estimates | acceptance |"
    ));
    for span in [
        "| 0.000–0.020 |",
        "| 0.020–0.102 |",
        "| 0.504–0.706 |",
        "| 0.706–1.000 |",
    ] {
        assert!(md.contains(span), "no span row {span}");
    }
    // Over the last quarter (steps 1500 → 2000): 0.5 + 0.5·2^−1.5 = 0.6768 → 0.625, −7.7 %.
    assert!(md.contains("| 0.40 | 0.6250 | 1500 | -7.7 % |"), "{md}");
    assert!(md.contains("| 0.85 | 1.000 | 1500 | +0.0 % |"), "{md}");
    for expected in [
        "# nti-gpu report: report-test",
        "| method | N = 40 (ρ = 0.1852) | N = 41 (ρ = 0.1898) |",
        "| **neural TI** (headline) | **−19.12 ± 0.40** (reverse SDE + MALA) | **−19.55 ± 0.41** (reverse SDE + MALA) |",
        "| TI, reverse SDE | −19.03 ± 0.82 | — |",
        "| TI, reverse SDE + MALA | −19.12 ± 0.40 | −19.55 ± 0.41 |",
        "| TI, annealed MALA | −16.36 ± 0.41 | — |",
        "| TI, forward-noised data | −23.83 ± 0.99 | — |",
        "| AIS, annealed MALA | −19.60 ± 0.87 (ESS 1.9 of 64) | — |",
        "| λ-TI | −19.43 ± 0.12 | — |",
        "| neural TI − λ-TI | 0.32 ± 0.41 (0.8 σ) | — |",
        "| MBAR, windows' span | −12.346 ± 0.046 (TI same span −12.333 ± 0.050) | — |",
        "| EOS (Kolafa–Nezbeda, full LJ) | −20.12 ± 0.35 | — |",
        "| βμ_ex, neural TI (N → N+1) | −0.43 ± 0.56 | — |",
        "| βμ_ex, Widom | −0.529 ± 0.012 | — |",
        "| βμ_ex, EOS (Kolafa–Nezbeda) | −0.556 ± 0.012 | — |",
        // Wall time per stage, in stage order, and the total.
        "| sample | 12.5 s |\n| train | 1 h 02 min |\n| integrate | 4 min 22 s |\n| total | 1 h 06 min |",
        // Sampler diagnostics: quadrature, acceptance, min pair distance, cost.
        "| reverse SDE + MALA | −19.12 ± 0.40 | 0.3834 | — | — | 0.03733 | 0.575 / 0.133 | 0.9022 | 64 × 303 | 177 | 1 min 49 s |",
        "| reverse SDE | −19.03 ± 0.82 | 0.7988 | — | — | 0.03733 | — | 0.9022 | 64 × 101 |",
        "Forward-noise gap (headline − forward-noised data): 4.710 (4.4 σ",
        "AIS effective sample size 1.9 (3.0 % of the trajectories) — under 10 %",
        "λ-TI: 11 windows, discretisation error 0.02170",
        "MBAR: smallest overlap 0.1234",
        "Widom: 64000 insertions, effective 20311, largest insertion weight 0.001200; converged",
        "256 configurations, τ_int = 31.70 MD steps",
        "U/N = −1.234 ± 0.012",
        "final loss 0.3105 vs zero-network loss 2.484 (0.125 of the zero network's)",
        "llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan, Cpu",
        "written by nti-gpu 0.1.0",
        "![integrand_N40](integrand_N40.png)",
        "![training_loss](training_loss.png)",
        "![gr_N40](gr_N40.png)",
        "![free_energy](free_energy.png)",
        "![chemical_potential](chemical_potential.png)",
    ] {
        assert!(md.contains(expected), "report.md lacks {expected:?}:\n{md}");
    }
    let hash = format!("scene `report-test`, hash `{:016x}`", scene.hash());
    assert!(md.contains(&hash), "{md}");
    assert!(!md.contains("warning") && !md.contains("## Notes"), "{md}");
    // The summary table comes before the diagnostics, the diagnostics before the figures.
    let pos = |s: &str| md.find(s).unwrap();
    assert!(pos("## Results") < pos("## Diagnostics") && pos("## Diagnostics") < pos("## Figures"));
    // Every link has its sentence; no temporary files left behind.
    assert_eq!(md.matches("![").count(), files.plots.len());
    let leftovers: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // A second run rewrites the same files.
    let again = write_report(&scene, &dir).unwrap();
    assert_eq!(again, files);
    assert_eq!(std::fs::read_to_string(&files.report).unwrap(), md);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn only_results_json_gives_a_report_and_the_density_figures() {
    let scene = scene();
    let dir = tmp("only-results");
    write(
        &dir,
        "results.json",
        &serde_json::to_string(&results(&scene)).unwrap(),
    );
    let files = write_report(&scene, &dir).unwrap();
    assert_eq!(
        names(&files.plots),
        ["free_energy.png", "chemical_potential.png"]
    );
    let md = std::fs::read_to_string(&files.report).unwrap();
    assert!(
        md.contains("| TI, reverse SDE + MALA | −19.12 ± 0.40 | −19.55 ± 0.41 |"),
        "{md}"
    );
    assert!(
        !md.contains("integrand_N40") && !md.contains("training_loss.png"),
        "{md}"
    );
    let mut written = names(
        &std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect::<Vec<_>>(),
    );
    written.sort();
    assert_eq!(
        written,
        [
            "chemical_potential.png",
            "chemical_potential.svg",
            "free_energy.png",
            "free_energy.svg",
            "report.md",
            "results.json",
            "summary.csv"
        ]
    );
    // summary.csv: one row per N × method with results.json's numbers (the fixture is of
    // schema 1: upgraded on reading).
    let summary = std::fs::read_to_string(dir.join("summary.csv")).unwrap();
    for row in [
        "40,0.18518518518518517,lambda_ti,betaF_ex,-19.4321,0.1187,",
        "40,0.18518518518518517,neural_ti,betamu_ex,-0.431234,0.5623,",
        "41,0.18981481481481483,corrected,betaF_ex,-19.548,0.41,",
    ] {
        assert!(summary.contains(row), "{row} missing:\n{summary}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn integrand_figure_falls_back_to_the_csv() {
    let scene = scene();
    let dir = tmp("csv");
    let mut csv = String::from("# <dU~/dt>(t) at N = 40\nt,reverse_sde_mean,reverse_sde_se,corrected_mean,corrected_se,corrected_acceptance\n");
    for k in 0..=100 {
        let t = (k as f64 / 100.0).powi(2);
        csv.push_str(&format!(
            "{t:e},{:e},5.0,{:e},4.0,0.55\n",
            integrand(t) + 30.0,
            integrand(t)
        ));
    }
    write(&dir, "integrand_N40.csv", &csv);
    let files = write_report(&scene, &dir).unwrap();
    assert_eq!(names(&files.plots), ["integrand_N40.png"]);
    let img = png(&files.plots[0]);
    assert_eq!(img.dimensions(), (900, 900));
    for s in 0..2 {
        assert!(
            count_color(&img, series_color(s), 450..900) > 200,
            "series {s}"
        );
    }
    // No results.json: the report says so instead of failing.
    let md = std::fs::read_to_string(&files.report).unwrap();
    assert!(
        md.contains("no results.json") && md.contains("No free-energy results yet"),
        "{md}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_or_odd_inputs_are_notes_or_clear_errors_never_panics() {
    let scene = scene();
    let dir = tmp("odd");
    // A collapsed λ-TI (null mean), NaN-free nulls everywhere else, a wrong record, a garbage
    // record, a loss log with only a header, a g(r) without records.
    let mut r = results(&scene);
    r["free_energy"]["40"]["lambda_ti"]["mean"] = json!(null);
    r["free_energy"]["40"]["lambda_ti"]["err"] = json!(null);
    r["free_energy"]["40"]["lambda_ti"]["collapse"] = json!(true);
    r["free_energy"]["40"]["lambda_ti"]["diagnosis"] = json!("integrand jumps by 800 kT");
    r["free_energy"]["40"]["corrected"]["betaF_ex"]["err"] = json!(null);
    r["free_energy"]["40"]["widom"]["converged"] = json!(false);
    r["free_energy"]["40"]["widom"]["diagnosis"] = json!("12 effective insertions");
    r["scene_hash"] = json!("00000000deadbeef");
    write(&dir, "results.json", &r.to_string());
    let mut wrong = raw(Estimator::Annealed, 0.0);
    wrong.n = 41;
    write(
        &dir,
        &raw_file(40, Estimator::Annealed),
        &serde_json::to_string(&wrong).unwrap(),
    );
    write(&dir, &raw_file(40, Estimator::Corrected), "{ not json");
    // A record edited after it was written (one digit of one value).
    let edited = raw(Estimator::ReverseSde, 30.0)
        .to_json()
        .unwrap()
        .replacen("\"min_pair_distance\":0.9", "\"min_pair_distance\":0.8", 1);
    assert!(edited.contains("\"min_pair_distance\":0.8"));
    write(&dir, &raw_file(40, Estimator::ReverseSde), &edited);
    write(&dir, "train_loss.csv", "step,loss,lr\n");
    write(&dir, "gr_N40.csv", "# g\nr,g\n1.0,2.0\n");
    let files = write_report(&scene, &dir).unwrap();
    assert_eq!(
        names(&files.plots),
        ["free_energy.png", "chemical_potential.png"]
    );
    let md = std::fs::read_to_string(&files.report).unwrap();
    for expected in [
        "| λ-TI | no value (collapse, see diagnostics) | — |",
        "| TI, reverse SDE + MALA | −19.12 | −19.55 ± 0.41 |",
        "| βμ_ex, Widom | −0.529 ± 0.012 (not converged) | — |",
        "not converged: 12 effective insertions",
        "integrand jumps by 800 kT",
        "**warning**: results.json was written for scene hash `00000000deadbeef`",
        "ti_N40_annealed.json holds N = 41 / annealed instead: ignored",
        "not read: ti_N40_corrected.json: not a sampler record",
        "not read: ti_N40_reverse_sde.json: checksum mismatch",
    ] {
        assert!(md.contains(expected), "report.md lacks {expected:?}:\n{md}");
    }
    // results.json that is not JSON: a Format error naming the file.
    write(&dir, "results.json", "{\"free_energy\": ");
    let e = write_report(&scene, &dir).unwrap_err();
    assert!(matches!(e, nti_gpu::Error::Format { .. }), "{e:?}");
    assert!(e.to_string().contains("results.json"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The scene's known values: a row of them and of the headline's deviation in the report,
/// and every estimate's deviation in combined standard errors in summary.csv.
#[test]
fn known_values_of_the_scene_are_compared_with_every_estimate() {
    let text = r#"Scene(
    name: "report-test", seed: 7,
    system: (box_length: 6.0, temperature: 1.0, epsilon: 0.8, particles: [40, 41],
             potential: MinimumImage),
    sampler: (replicas: 4, dt: 0.005, equilibration_steps: 100, production_steps: 400,
              record_every: 10, sample_every: 100),
    reference: [(n: 40, betaF_ex: (mean: -19.9, err: 0.3), source: "a longer run")],
)"#;
    let scene = Scene::from_str(text, "t").unwrap();
    scene.validate("t").unwrap();
    let dir = full_dir("known", &scene);
    let files = write_report(&scene, &dir).unwrap();
    let report = std::fs::read_to_string(&files.report).unwrap();
    assert!(
        report.contains("| known value (scene's `reference`) | −19.90 ± 0.30 |")
            || report.contains("| known value (scene's `reference`) | -19.90 ± 0.30 |")
            || report.contains("| known value (scene's `reference`) | −19.9 ± 0.3 |"),
        "{report}"
    );
    assert!(report.contains("| neural TI − known value |"), "{report}");
    // λ-TI −19.4321 ± 0.1187 against −19.9 ± 0.3: +0.47 ± 0.32, 1.5 σ.
    assert!(
        report.contains("| λ-TI − known value | 0.47 ± 0.32 (1.5 σ) |"),
        "{report}"
    );
    assert!(report.contains("N = 40: a longer run"), "{report}");
    let csv = std::fs::read_to_string(&files.summary).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let mut compared = 0;
    let mut reference_rows = 0;
    for line in lines {
        let c: Vec<&str> = line.split(',').collect();
        let (n, method, quantity) = (c[col("N")], c[col("method")], c[col("quantity")]);
        let dev = c[col("deviation_sigma")];
        if method == "reference" {
            reference_rows += 1;
            assert_eq!((n, quantity, c[col("mean")]), ("40", "betaF_ex", "-19.9"));
            assert!(dev.is_empty());
        } else if n == "40" && quantity == "betaF_ex" && !c[col("mean")].is_empty() {
            let f = |name: &str| c[col(name)].parse::<f64>().unwrap_or(0.0);
            let z = (f("mean") + 19.9) / (f("err").hypot(0.3) + f("err_sys"));
            let got: f64 = dev.parse().unwrap();
            assert!((got - z).abs() < 1e-9, "{line}: {got} vs {z}");
            compared += 1;
        } else {
            assert!(dev.is_empty(), "{line}");
        }
    }
    assert_eq!(reference_rows, 1, "{csv}");
    assert!(compared >= 3, "{csv}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn diagnostic_figures_appear_where_their_data_are() {
    let scene = scene();
    let dir = full_dir("diagnostics", &scene);
    // An annealed record with importance weights (two populations), the reference run's
    // thermo log, Widom's running table and an MBAR overlap matrix on the λ leg.
    let mut annealed = raw(Estimator::Annealed, 10.0);
    let points = annealed.grid.len();
    annealed.log_weight = (0..16)
        .map(|c| {
            annealed
                .grid
                .iter()
                .map(|t| -(1.0 - t) * 0.3 * c as f64)
                .collect()
        })
        .collect();
    annealed.log_norm = vec![vec![0.0; points]; 2];
    write(
        &dir,
        &raw_file(40, Estimator::Annealed),
        &serde_json::to_string(&annealed).unwrap(),
    );
    let mut thermo = String::from(
        "step,time,u_per_particle,u_per_particle_sem,pressure,pressure_sem,temperature,\
         temperature_sem\n",
    );
    for k in 1..=40 {
        let wobble = (k as f64 * 0.7).sin();
        thermo.push_str(&format!(
            "{},{},{},0.01,{},0.005,{},0.02\n",
            100 + 10 * k,
            0.05 * (100 + 10 * k) as f64,
            -1.2 + 0.02 * wobble,
            0.06 + 0.01 * wobble,
            1.0 + 0.03 * wobble
        ));
    }
    write(&dir, "thermo_N40.csv", &thermo);
    write(
        &dir,
        "widom_N40_running.csv",
        "insertions,configurations,betamu_ex,err\n6400,25,-0.50,0.05\n12800,50,-0.53,0.03\n\
         64000,256,-0.52871,0.01234\n",
    );
    let mut r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    r["free_energy"]["40"]["lambda_ti"]["legs"][0]["path"] = json!("SoftCore");
    r["free_energy"]["40"]["lambda_ti"]["legs"][0]["mbar_overlap"] =
        json!([[0.6, 0.3, 0.1], [0.3, 0.4, 0.3], [0.1, 0.3, 0.6]]);
    r["free_energy"]["40"]["annealed"] = r["free_energy"]["40"]["corrected"].clone();
    r["free_energy"]["40"]["annealed"]["estimator"] = json!("annealed");
    r["training"]["n"] = json!([40, 41]);
    write(&dir, "results.json", &r.to_string());

    let files = write_report(&scene, &dir).unwrap();
    let written = names(&files.plots);
    for f in [
        "acceptance_N40.png",
        "ti_running_N40.png",
        "widom_running_N40.png",
        "weights_N40.png",
        "overlap_N40_soft_core.png",
        "thermo_N40.png",
    ] {
        assert!(written.contains(&f.to_string()), "{f} not in {written:?}");
    }
    let size = |f: &str| png(&dir.join(f)).dimensions();
    assert_eq!(size("weights_N40.png"), (900, 840));
    assert_eq!(size("thermo_N40.png"), (900, 960));
    assert_eq!(size("overlap_N40_soft_core.png"), (700, 700));
    // The acceptance target and the thermostat line in their colours.
    use nti_gpu::report::summary::{REFERENCE_COLOR, TARGET_COLOR};
    assert!(count_color(&png(&dir.join("acceptance_N40.png")), TARGET_COLOR, 0..600) > 300);
    assert!(count_color(&png(&dir.join("thermo_N40.png")), REFERENCE_COLOR, 640..960) > 300);
    // The histogram of the annealed run's weights (the only record with weights): bars
    // outlined in its colour above, its ESS line below.
    let weights = png(&dir.join("weights_N40.png"));
    assert!(count_color(&weights, series_color(0), 0..420) > 50);
    assert!(count_color(&weights, series_color(0), 420..840) > 300);
    // Each figure's SVG is there, parses, and report.md links both.
    let md = std::fs::read_to_string(&files.report).unwrap();
    assert!(md.contains("N = 40, 41, 2000 steps"), "{md}");
    for (png_path, svg) in files.plots.iter().zip(&files.svgs) {
        let stem = png_path.file_stem().unwrap().to_string_lossy();
        assert!(md.contains(&format!("![{stem}]({stem}.png)")), "{stem}");
        assert!(md.contains(&format!("([SVG]({stem}.svg))")), "{stem}");
        let text = std::fs::read_to_string(svg).unwrap();
        let events = xml::reader::EventReader::new(text.as_bytes());
        let texts = events
            .into_iter()
            .map(|e| e.unwrap())
            .filter(|e| matches!(e, xml::reader::XmlEvent::StartElement { name, .. } if name.local_name == "text"))
            .count();
        assert!(texts >= 5, "{stem}: {texts}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
