//! Standard λ-window TI and MBAR on the paper's system: the robust two-leg path against
//! the independent Monte Carlo βF_ex at N = 40, MBAR against TI over the same span, and the
//! collapse diagnosis of the paper's soft-core path at ρ = 0.93.

mod common;

use common::gpu;
use nti_gpu::scene::Scene;

fn scene(text: &str) -> Scene {
    let s = Scene::from_str(text, "t").unwrap();
    s.validate("t").unwrap();
    s
}

fn run(s: &Scene) -> serde_json::Value {
    let g = gpu().expect("adapter");
    let dir = std::env::temp_dir().join(format!("nti-lti-{}-{}", std::process::id(), s.name));
    let _ = std::fs::remove_dir_all(&dir);
    let out =
        nti_gpu::stages::baselines::baselines_stage(&g, s, &dir, &mut nti_gpu::stages::NoProgress)
            .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    out
}

#[test]
fn two_leg_path_matches_monte_carlo_at_n40_and_mbar_agrees() {
    if gpu().is_none() {
        return;
    }
    let reference: serde_json::Value =
        serde_json::from_str(include_str!("data/lj_paper_system_N40.json")).unwrap();
    let (f_ref, f_err) = (
        reference["per_N"]["40"]["betaF_ex"].as_f64().unwrap(),
        reference["per_N"]["40"]["betaF_ex_err"].as_f64().unwrap(),
    );
    let out = run(&scene(
        r#"Scene(name: "lti40", seed: 12,
    system: (box_length: 6.0, temperature: 1.0, epsilon: 0.8, particles: [40], potential: MinimumImage),
    baselines: (lambda_ti: (windows: 12, replicas_per_window: 4)),
    sampler: (replicas: 4, dt: 0.005, equilibration_steps: 100, production_steps: 100),
)"#,
    ));
    let t = &out["free_energy"]["40"]["lambda_ti"];
    let (m, e) = (t["mean"].as_f64().unwrap(), t["err"].as_f64().unwrap());
    eprintln!(
        "N = 40 two-leg lambda-TI: betaF_ex {m:.3} ± {e:.3} (Monte Carlo {f_ref:.3} ± {f_err:.3})"
    );
    assert!(!t["collapse"].as_bool().unwrap(), "{}", t["diagnosis"]);
    assert!(e < 0.5, "error bar {e}");
    assert!((m - f_ref).abs() < 3.0 * (e + f_err), "{m} vs {f_ref}");
    let mb = &out["free_energy"]["40"]["mbar"];
    let (mm, me) = (mb["mean"].as_f64().unwrap(), mb["err"].as_f64().unwrap());
    let (tm, te) = (
        mb["ti_same_span"]["mean"].as_f64().unwrap(),
        mb["ti_same_span"]["err"].as_f64().unwrap(),
    );
    eprintln!(
        "MBAR over the windows' span {mm:.3} ± {me:.3}, TI over the same span {tm:.3} ± {te:.3}"
    );
    assert!((mm - tm).abs() < 3.0 * (me + te));
    assert!(mb["warning"].is_null(), "{}", mb["warning"]);
    // 2 legs x 12^2 window-state pairs x 4 replicas x 20 frames x 780 pairs.
    assert_eq!(mb["cost"]["energy_evaluations"], 2 * 144 * 4 * 20 * 780);
    assert!(mb["min_overlap"].as_f64().unwrap() > 0.03);
}

#[test]
fn soft_core_path_collapse_is_detected_at_liquid_density() {
    if gpu().is_none() {
        return;
    }
    let out = run(&scene(
        r#"Scene(name: "sc200", seed: 3,
    system: (box_length: 6.0, temperature: 1.0, epsilon: 0.8, particles: [200], potential: MinimumImage),
    baselines: (lambda_ti: (path: SoftCore, windows: 16, replicas_per_window: 1,
                            equilibration_steps: 3000, production_steps: 1000, mbar: false)),
    sampler: (replicas: 4, dt: 0.005, equilibration_steps: 100, production_steps: 100),
)"#,
    ));
    let t = &out["free_energy"]["200"]["lambda_ti"];
    eprintln!(
        "N = 200 soft-core: {} ± {}; {}",
        t["mean"], t["err"], t["diagnosis"]
    );
    assert!(t["collapse"].as_bool().unwrap(), "collapse not detected");
    assert!(t["diagnosis"].as_str().unwrap().contains("SoftCore"));
}

#[test]
fn mbar_warns_instead_of_answering_when_windows_do_not_overlap() {
    if gpu().is_none() {
        return;
    }
    // Three windows per leg across a dense fluid: neighbouring states barely overlap.
    let out = run(&scene(
        r#"Scene(name: "few", seed: 5,
    system: (box_length: 6.0, temperature: 1.0, epsilon: 0.8, particles: [200], potential: MinimumImage),
    baselines: (lambda_ti: (windows: 3, replicas_per_window: 2, equilibration_steps: 500,
                            production_steps: 1000, sample_every: 100)),
    sampler: (replicas: 4, dt: 0.005, equilibration_steps: 100, production_steps: 100),
)"#,
    ));
    let m = &out["free_energy"]["200"]["mbar"];
    eprintln!(
        "N = 200, 3 windows per leg: MBAR {} (overlap {}); {}",
        m["mean"], m["min_overlap"], m["warning"]
    );
    // The dense leg (WCA -> ideal gas) either overlaps too little or does not even solve.
    assert!(m["mean"].is_null());
    let w = m["warning"].as_str().unwrap();
    assert!(
        w.contains("poor overlap") || w.contains("MBAR failed"),
        "{w}"
    );
}
