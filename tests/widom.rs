//! Widom insertion: device energies against the f64 reference, the estimator on cases with
//! known answers, agreement with an independent long Widom run at a dilute state, and the
//! non-convergence diagnosis at liquid density.

mod common;

use common::{as_f32, gpu, random_positions};
use nti_gpu::md::sampler::run_reference;
use nti_gpu::md::tail::LjTail;
use nti_gpu::md::widom::{insertion_energies, widom_estimate, Configurations, WidomKernel};
use nti_gpu::md::MdKernels;
use nti_gpu::reference::rng::key_of;
use nti_gpu::reference::widom::{insertion_energy, insertion_point};
use nti_gpu::scene::LjParams;
use nti_gpu::scene::Scene;
use std::sync::Arc;

#[test]
fn insertion_energies_match_reference() {
    let Some(g) = gpu() else { return };
    let kernel = WidomKernel::new(&g).unwrap();
    for lj in [
        LjParams {
            epsilon: 0.8,
            sigma: 1.0,
            cutoff: None,
            shift: false,
            box_length: 6.0,
        },
        LjParams {
            epsilon: 1.0,
            sigma: 1.0,
            cutoff: Some(2.5),
            shift: true,
            box_length: 6.0,
        },
    ] {
        let (n, configs, insertions) = (70usize, 3u32, 200u32);
        let pos: Vec<[f64; 3]> = (0..configs)
            .flat_map(|c| random_positions(n, 6.0, 0.9, 200 + c as u64))
            .collect();
        let pos = as_f32(&pos);
        let buf = g.storage_from(
            "configs",
            &pos.iter()
                .map(|p| [p[0] as f32, p[1] as f32, p[2] as f32, 0.0])
                .collect::<Vec<_>>(),
        );
        let set = Configurations {
            buffer: &buf,
            n: n as u32,
            replicas: 1,
            frames: configs,
        };
        let seed = 77u64;
        let du = insertion_energies(&g, &kernel, &set, &lj, 1.25, insertions, seed).unwrap();
        assert_eq!(du.len(), (configs * insertions) as usize);
        for c in 0..configs as usize {
            for k in 0..insertions as usize {
                let x = insertion_point(k as u32, c as u32, key_of(seed), 6.0);
                let x = x.map(|v| v as f32 as f64);
                let e = insertion_energy(&pos[c * n..(c + 1) * n], x, &lj, 1.25);
                let got = du[c * insertions as usize + k] as f64;
                assert!(
                    (got - e).abs() <= 1e-4 * e.abs().max(1.0),
                    "config {c} insertion {k}: {got} vs {e}"
                );
            }
        }
    }
}

#[test]
fn estimator_on_known_answers() {
    // Constant energies: beta mu = that constant, no spread.
    let du = vec![0.7f32; 4 * 5 * 100];
    let est = widom_estimate(&du, 10, 4, 5, 100, 0.0);
    assert!((est.betamu_ex.mean - 0.7).abs() < 1e-6);
    assert!(est.betamu_ex.err < 1e-9);
    assert!(est.converged, "{}", est.diagnosis);
    // Two-level energies: half the insertions at 0, half at +inf (overlap): mu = ln 2.
    let du: Vec<f32> = (0..4000)
        .map(|k| if k % 2 == 0 { 0.0 } else { 1e30 })
        .collect();
    let est = widom_estimate(&du, 10, 4, 10, 100, 0.25);
    assert!((est.betamu_ex_simulated.mean - 2f64.ln()).abs() < 1e-9);
    assert!((est.betamu_ex.mean - 2f64.ln() - 0.25).abs() < 1e-9);
    // One insertion carries everything: flagged.
    let mut du = vec![50.0f32; 4000];
    du[17] = 0.0;
    let est = widom_estimate(&du, 10, 4, 10, 100, 0.0);
    assert!(!est.converged);
    assert!(
        est.diagnosis.contains("effective insertions"),
        "{}",
        est.diagnosis
    );
}

#[test]
fn running_estimate_has_errors_ending_at_the_final_one() {
    // 40 configurations (4 replicas × 10 frames) of 100 insertions with energies varying
    // from configuration to configuration: the running errors shrink and the last is the
    // final error (the same data, the same widening by the block average).
    let du: Vec<f32> = (0..40 * 100)
        .map(|k| {
            let c = k / 100;
            (0.5 + 0.3 * ((c * 7 % 11) as f32 / 11.0) + 0.01 * (k % 13) as f32).max(0.0)
        })
        .collect();
    let est = widom_estimate(&du, 10, 4, 10, 100, 0.25);
    assert_eq!(est.running.len(), 10);
    assert_eq!(est.running_err.len(), 10);
    assert_eq!(est.running[9].0, 4000);
    assert!((est.running[9].1 + 0.25 - est.betamu_ex.mean).abs() < 1e-6);
    let last = est.running_err[9];
    assert!(
        (last - est.betamu_ex.err).abs() < 0.05 * est.betamu_ex.err,
        "{last} vs {}",
        est.betamu_ex.err
    );
    assert!(est.running_err[1] > last, "{:?}", est.running_err);
    // The table: one plain header row, then insertions, configurations, βμ_ex with the
    // tail, err.
    let table = nti_gpu::export::widom_running_csv(&est);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines[0], nti_gpu::export::WIDOM_RUNNING_COLUMNS);
    assert_eq!(lines.len(), 11);
    let last_row: Vec<f64> = lines[10].split(',').map(|v| v.parse().unwrap()).collect();
    assert_eq!(&last_row[..2], &[4000.0, 40.0]);
    assert!((last_row[2] - est.betamu_ex.mean).abs() < 1e-12);
    assert_eq!(last_row[3], last);
    assert!(lines[1].starts_with("400,4,"), "{}", lines[1]);
}

fn scene(text: &str) -> Scene {
    let s = Scene::from_str(text, "t").unwrap();
    s.validate("t").unwrap();
    s
}

#[test]
fn dilute_lj_agrees_with_long_reference_run() {
    let Some(g) = gpu() else { return };
    let kernels = Arc::new(MdKernels::new(&g).unwrap());
    let widom = WidomKernel::new(&g).unwrap();
    // rho = 0.1, T = 2, r_c = 2.5 unshifted: tests/data/lj_muex_T2.0_rc2.5.csv gives
    // mu_trunc = -0.358 +- 0.001 (units of eps), mu_tail = -0.107.
    let s = scene(&format!(
        r#"Scene(name: "w", seed: 21,
    system: (box_length: {l}, temperature: 2.0, particles: [500],
             potential: Truncated(cutoff: 2.5, shift: false)),
    sampler: (replicas: 8, dt: 0.005, equilibration_steps: 1000, production_steps: 3000,
              record_every: 10, sample_every: 100, neighbor: CellList),
)"#,
        l = (500.0f64 / 0.1).cbrt()
    ));
    let out = run_reference(&g, kernels, &s, 500, |_, _| {}).unwrap();
    let lj = out.config.lj;
    let set = Configurations {
        buffer: &out.samples,
        n: 500,
        replicas: 8,
        frames: out.frames,
    };
    let du = insertion_energies(&g, &widom, &set, &lj, 0.5, 2000, 5).unwrap();
    let tail = 0.5 * LjTail::new(1.0, 1.0, 2.5).chemical_potential(0.1);
    let est = widom_estimate(&du, 500, 8, out.frames, 2000, tail);
    eprintln!(
        "rho 0.1 T 2: beta mu (truncated) {:.4} ± {:.4}, with tail {:.4}; reference -0.179 ± 0.0005, full -0.2325; n_eff {:.0}",
        est.betamu_ex_simulated.mean, est.betamu_ex_simulated.err, est.betamu_ex.mean, est.effective_insertions
    );
    assert!(est.converged, "{}", est.diagnosis);
    let reference = -0.358 / 2.0;
    assert!(
        (est.betamu_ex_simulated.mean - reference).abs()
            < 3.0 * (est.betamu_ex_simulated.err + 0.0005),
        "beta mu {} vs {reference}",
        est.betamu_ex_simulated.mean
    );
    assert!((tail - (-0.107 / 2.0)).abs() < 5e-4);
    // With the tail correction, the full-potential value agrees with the Kolafa-Nezbeda
    // equation of state.
    let kn = nti_gpu::baselines::eos::kolafa_nezbeda(2.0, 0.1).beta_mu_ex;
    assert!(
        (est.betamu_ex.mean - kn).abs() < 3.0 * est.betamu_ex.err + 1e-3,
        "Widom {} vs KN {kn}",
        est.betamu_ex.mean
    );
}

#[test]
fn liquid_density_is_flagged_not_converged() {
    let Some(g) = gpu() else { return };
    let kernels = Arc::new(MdKernels::new(&g).unwrap());
    let widom = WidomKernel::new(&g).unwrap();
    // The paper's system at N = 200 (rho = 0.926).
    let s = scene(
        r#"Scene(name: "dense", seed: 4,
    system: (box_length: 6.0, temperature: 1.0, epsilon: 0.8, particles: [200],
             potential: MinimumImage),
    sampler: (replicas: 16, dt: 0.005, equilibration_steps: 1500, production_steps: 2000,
              record_every: 10, sample_every: 200),
)"#,
    );
    let out = run_reference(&g, kernels, &s, 200, |_, _| {}).unwrap();
    let set = Configurations {
        buffer: &out.samples,
        n: 200,
        replicas: 16,
        frames: out.frames,
    };
    let du = insertion_energies(&g, &widom, &set, &out.config.lj, 1.0, 1000, 6).unwrap();
    let est = widom_estimate(&du, 200, 16, out.frames, 1000, 0.0);
    eprintln!(
        "rho 0.93: beta mu {:.3} ± {:.3}, n_eff {:.1}, max insertion weight {:.3}: {}",
        est.betamu_ex.mean,
        est.betamu_ex.err,
        est.effective_insertions,
        est.max_insertion_weight,
        est.diagnosis
    );
    assert!(!est.converged);
    assert!(est
        .diagnosis
        .starts_with("Widom insertion has not converged"));
}

#[test]
fn paper_system_n40_widom_matches_monte_carlo_and_reuses_samples() {
    let Some(g) = gpu() else { return };
    let reference: serde_json::Value =
        serde_json::from_str(include_str!("data/lj_paper_system_N40.json")).unwrap();
    let (mu, mu_err) = (
        reference["per_N"]["40"]["betamu_widom"].as_f64().unwrap(),
        reference["per_N"]["40"]["betamu_widom_err"]
            .as_f64()
            .unwrap(),
    );
    let s = scene(
        r#"Scene(name: "paper40", seed: 8,
    system: (box_length: 6.0, temperature: 1.0, epsilon: 0.8, particles: [40],
             potential: MinimumImage),
    baselines: (widom: (insertions: 1000)),
    sampler: (replicas: 64, dt: 0.005, equilibration_steps: 4000, production_steps: 6000,
              record_every: 10, sample_every: 200),
)"#,
    );
    let dir = std::env::temp_dir().join(format!("nti-widom-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut none = nti_gpu::stages::NoProgress;
    let out = nti_gpu::stages::baselines::baselines_stage(&g, &s, &dir, &mut none).unwrap();
    let w = &out["free_energy"]["40"]["widom"];
    let (m, e) = (w["mean"].as_f64().unwrap(), w["err"].as_f64().unwrap());
    eprintln!("N = 40: Widom beta mu {m:.4} ± {e:.4} (Monte Carlo {mu:.4} ± {mu_err:.4})");
    assert!(w["converged"].as_bool().unwrap(), "{}", w["diagnosis"]);
    assert!((m - mu).abs() < 3.0 * (e + mu_err), "{m} vs {mu}");
    // The stage sampled (no samples were there) and recorded the reference section.
    assert!(out["reference"]["40"]["samples"].as_u64().unwrap() > 0);
    // A second run reuses the samples: same number, no new reference section.
    let again = nti_gpu::stages::baselines::baselines_stage(&g, &s, &dir, &mut none).unwrap();
    assert_eq!(
        again["free_energy"]["40"]["widom"]["mean"]
            .as_f64()
            .unwrap(),
        m
    );
    assert!(again.get("reference").is_none());
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    assert!(results["wall_time_s"]["baselines"].is_f64());
    assert!(
        results["free_energy"]["40"]["widom"]["cost"]["energy_evaluations"]
            .as_u64()
            .unwrap()
            > 0
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
