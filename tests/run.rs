//! `nti-gpu run` end to end on a tiny scene (sampling, training, the four samplers at N and
//! N + 1, results.json keys, resumption), and `nti-gpu check` refusing inconsistent stages
//! before any work starts.

mod common;

use common::{nti, nti_ok};

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("nti-run-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn scene(extra: &str) -> String {
    common::tiny_scene("tiny_run", extra)
}

const STAGES: &str = r#"
    training: (steps: 30, batch: 8, log_every: 10, checkpoint_every: 10),
    integration: (trajectories: 16, steps: 8, correctors: 1, populations: 2, resample: 1.0),
"#;

fn check(text: &str, name: &str) -> (bool, String) {
    let dir = temp_dir(name);
    let path = dir.join("scene.ron");
    std::fs::write(&path, text).unwrap();
    let out = nti()
        .args(["check", path.to_str().unwrap()])
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_refuses_integration_without_training() {
    let (ok, err) = check(&scene("integration: (),"), "no-training");
    assert!(!ok);
    assert!(err.contains("integration needs a trained model"), "{err}");
}

#[test]
fn check_refuses_evaluating_too_many_particles() {
    let (ok, err) = check(
        &scene("training: (), integration: (particles: [100]),"),
        "too-many",
    );
    assert!(!ok);
    assert!(err.contains("integration.particles"), "{err}");
    assert!(err.contains("density"), "{err}");
}

#[test]
fn check_refuses_bad_integration_fields() {
    let (ok, err) = check(
        &scene("training: (), integration: (correctors: 0, estimators: [Annealed]),"),
        "no-correctors",
    );
    assert!(!ok);
    assert!(err.contains("integration.correctors"), "{err}");
    let (ok, err) = check(
        &scene("training: (), integration: (trajectoires: 4),"),
        "typo",
    );
    assert!(!ok);
    assert!(err.contains("trajectoires"), "{err}");
    // Resampling: populations must divide the trajectories, two or more of at least 8.
    for (fields, needle) in [
        (
            "trajectories: 32, populations: 5",
            "integration.populations",
        ),
        (
            "trajectories: 32, populations: 1, resample: 0.5",
            "integration.populations",
        ),
        (
            "trajectories: 12, populations: 2, resample: 0.5",
            "integration.populations",
        ),
        (
            "trajectories: 32, populations: 4, resample: 1.5",
            "integration.resample",
        ),
        // More correctors over a span of t: a real span, at least one corrector.
        (
            "corrector_span: (from: 0.7, to: 0.1, correctors: 8)",
            "integration.corrector_span",
        ),
        (
            "corrector_span: (from: 0.1, to: 0.7, correctors: 0)",
            "integration.corrector_span.correctors",
        ),
        (
            "correctors: 0, estimators: [ReverseSde], \
             corrector_span: (from: 0.1, to: 0.7, correctors: 8)",
            "integration.corrector_span",
        ),
    ] {
        let (ok, err) = check(
            &scene(&format!("training: (), integration: ({fields}),")),
            "populations",
        );
        assert!(!ok, "{fields}");
        assert!(err.contains(needle), "{fields}: {err}");
    }
    // Sizing by a target error: a positive error; a cap only with it, of whole batches.
    for (fields, needle) in [
        ("target_error: 0.0", "integration.target_error"),
        ("target_error: -1.0", "integration.target_error"),
        (
            "target_relative_error: 1.5",
            "integration.target_relative_error",
        ),
        ("max_trajectories: 128", "integration.max_trajectories"),
        (
            "trajectories: 32, target_error: 0.1, max_trajectories: 16",
            "integration.max_trajectories",
        ),
    ] {
        let (ok, err) = check(
            &scene(&format!("training: (), integration: ({fields}),")),
            "target",
        );
        assert!(!ok, "{fields}");
        assert!(err.contains(needle), "{fields}: {err}");
    }
    let (ok, err) = check(
        &scene("training: (), integration: (trajectories: 32, populations: 4, resample: 0.5),"),
        "populations-ok",
    );
    assert!(ok, "{err}");
    let (ok, err) = check(
        &scene("training: (), integration: (corrector_span: (from: 0.1, to: 0.7, correctors: 8)),"),
        "span-ok",
    );
    assert!(ok, "{err}");
}

#[test]
fn run_computes_every_estimator_and_resumes() {
    if common::gpu().is_none() {
        return;
    }
    let dir = temp_dir("e2e");
    let path = dir.join("scene.ron");
    std::fs::write(&path, scene(STAGES)).unwrap();
    let out_dir = dir.join("out");
    let run = || {
        nti_ok(&[
            "run",
            path.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
        ])
    };
    let first = run();
    assert!(first.contains("sample: ran"), "{first}");
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("results.json")).unwrap())
            .unwrap();
    for n in ["6", "7"] {
        let fe = &results["free_energy"][n];
        for key in ["reverse_sde", "corrected", "annealed", "neural_ti"] {
            for field in ["mean", "err"] {
                assert!(
                    fe[key]["betaF_ex"][field]
                        .as_f64()
                        .is_some_and(f64::is_finite),
                    "free_energy.{n}.{key}.betaF_ex.{field}: {fe}"
                );
            }
        }
        assert!(fe["ais"]["betaF_ex"]["mean"]
            .as_f64()
            .is_some_and(f64::is_finite));
        // Importance-weighted TI of the annealed run (top level) and of the corrected one
        // (its weights carry the predictor's ln L/F); both resample their 2 populations, the
        // reverse SDE (no correctors) does not.
        for v in [
            &fe["weighted_ti"]["betaF_ex"],
            &fe["corrected"]["weighted_ti"]["betaF_ex"],
        ] {
            assert!(v["mean"].as_f64().is_some_and(f64::is_finite), "{fe}");
            assert!(v["err"].as_f64().is_some_and(f64::is_finite), "{fe}");
        }
        for key in ["corrected", "annealed"] {
            assert_eq!(fe[key]["populations"]["populations"], 2, "{fe}");
            assert_eq!(fe[key]["populations"]["resample"], 1.0, "{fe}");
        }
        assert_eq!(fe["reverse_sde"]["populations"]["resample"], 0.0, "{fe}");
        assert_eq!(fe["reverse_sde"]["populations"]["families"], 16, "{fe}");
        assert_eq!(fe["ais"]["method"], "population annealing", "{fe}");
        assert!(out_dir.join(format!("integrand_N{n}.csv")).exists());
    }
    // Forward noise needs reference samples: there are some at N = 6 only.
    assert!(results["free_energy"]["6"]["forward_noise"]["betaF_ex"]["mean"].is_number());
    assert!(results["free_energy"]["7"]["forward_noise"].is_null());
    // The headline is the MALA-corrected TI, and βμ_ex comes from the same estimate at
    // N + 1.
    let head = &results["free_energy"]["6"]["neural_ti"];
    assert_eq!(head["estimator"], "corrected");
    let mu = head["betamu_ex"]["mean"].as_f64().unwrap();
    let (f6, f7) = (
        results["free_energy"]["6"]["corrected"]["betaF_ex"]["mean"]
            .as_f64()
            .unwrap(),
        results["free_energy"]["7"]["corrected"]["betaF_ex"]["mean"]
            .as_f64()
            .unwrap(),
    );
    assert!((mu - (f7 - f6)).abs() < 1e-12);
    assert!(out_dir.join("model.ckpt").exists());
    // Every headline carries a verdict: converged, or the reasons and remedies; the report
    // and the terminal say the same.
    let v = &head["verdict"];
    let reasons = v["reasons"].as_array().unwrap();
    assert_eq!(v["converged"].as_bool().unwrap(), reasons.is_empty(), "{v}");
    assert_eq!(
        reasons.is_empty(),
        v["remedies"].as_array().unwrap().is_empty(),
        "{v}"
    );
    assert!(head["err_sys"].as_f64().unwrap() >= 0.0);
    // Every results.json says its layout version and the commit that wrote it.
    assert_eq!(results["schema_version"], nti_gpu::results::SCHEMA_VERSION);
    assert!(results["provenance"]["commit"]
        .as_str()
        .is_some_and(|c| !c.is_empty()));
    let report = std::fs::read_to_string(out_dir.join("report.md")).unwrap();
    assert!(report.contains("Verdict: **"), "{report}");
    assert!(first.contains("N = 6: headline (corrected)"), "{first}");

    // A second run reuses the samples, the finished training and the sampler records.
    let raw = out_dir.join("ti_N6_corrected.json");
    let before = std::fs::read(&raw).unwrap();
    let stamp = std::fs::metadata(&raw).unwrap().modified().unwrap();
    let second = run();
    assert!(second.contains("sample: reused"), "{second}");
    assert!(second.contains("train: reused"), "{second}");
    assert_eq!(std::fs::read(&raw).unwrap(), before);
    assert_eq!(std::fs::metadata(&raw).unwrap().modified().unwrap(), stamp);
    let again: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("results.json")).unwrap())
            .unwrap();
    assert_eq!(
        again["free_energy"]["6"]["corrected"]["betaF_ex"],
        results["free_energy"]["6"]["corrected"]["betaF_ex"]
    );
}

#[test]
fn run_gives_the_isotherm_from_several_particle_counts() {
    if common::gpu().is_none() {
        return;
    }
    let dir = temp_dir("isotherm");
    let path = dir.join("scene.ron");
    std::fs::write(
        &path,
        scene(
            r#"training: (steps: 20, batch: 8, log_every: 10, checkpoint_every: 10),
    baselines: (widom: (insertions: 20), eos: true),
    integration: (particles: [4, 6, 8], chemical_potential: [8], trajectories: 8,
                  steps: 8, correctors: 1, estimators: [Corrected]),"#,
        ),
    )
    .unwrap();
    let out_dir = dir.join("out");
    nti_ok(&[
        "run",
        path.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("results.json")).unwrap())
            .unwrap();
    let fe = &results["free_energy"];
    // N + 1 of the listed N only, with its finite difference.
    assert!(fe["9"]["neural_ti"]["betaF_ex"]["mean"].is_f64(), "{fe}");
    assert!(fe["8"]["neural_ti"]["betamu_ex"]["mean"].is_f64(), "{fe}");
    assert!(fe.get("5").is_none() && fe.get("7").is_none(), "{fe}");
    // Widom and the equations of state at every integrated N, trained (6) or not (4, 8),
    // from reference samples of each; none at N + 1.
    for n in ["4", "6", "8"] {
        assert!(fe[n]["widom"]["mean"].is_f64(), "N = {n}: {}", fe[n]);
        assert!(
            fe[n]["widom"]["converged"].is_boolean(),
            "N = {n}: {}",
            fe[n]
        );
        assert!(fe[n]["eos"]["mean"].is_f64(), "N = {n}: {}", fe[n]);
        assert!(
            out_dir.join(format!("samples_N{n}.ntis")).exists(),
            "N = {n}"
        );
    }
    assert!(fe["9"].get("widom").is_none(), "{}", fe["9"]);
    let gc = &results["grand_canonical"];
    // Nodes: the exact N = 0, 1 and the three counts of the scene, not N + 1 = 9, whose
    // noise one particle from 8 would set the spline's slope there.
    assert_eq!(gc["nodes"].as_array().unwrap().len(), 5, "{gc}");
    let table = std::fs::read_to_string(out_dir.join("isotherm.csv")).unwrap();
    // One plain header row, then numbers.
    assert_eq!(
        table.lines().next(),
        Some("betamu,mean_n,var_n,density,edge_probability")
    );
    let rows: Vec<Vec<f64>> = table
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 201);
    // The density grows with the chemical potential and stays within the evaluated range.
    for w in rows.windows(2) {
        assert!(w[1][3] >= w[0][3] - 1e-12, "{:?} then {:?}", w[0], w[1]);
    }
    let volume = 64.0;
    assert!(
        rows[0][3] < 2.0 / volume && rows[200][3] > 7.0 / volume,
        "{:?} {:?}",
        rows[0],
        rows[200]
    );
    assert!(out_dir.join("isotherm.png").exists());
    // p(N) at the largest fluctuation: normalised over the spline's range 0..=8.
    let pn = std::fs::read_to_string(out_dir.join("pn.csv")).unwrap();
    assert_eq!(pn.lines().next(), Some("n,p"));
    let p: Vec<f64> = pn
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(p.len(), 9);
    assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-5);
    assert!(gc["p_n"]["var_n"].as_f64().unwrap() > 0.0);
}

/// An output directory stays one scene's record: changed settings are redone or refused
/// before anything is written, results of settings no longer in the scene go, a corrupted
/// results.json is refused, not replaced.
#[test]
fn reruns_with_changed_settings_never_mix_results() {
    if common::gpu().is_none() {
        return;
    }
    let dir = temp_dir("integrity");
    let out_dir = dir.join("out");
    let run = |text: &str| {
        let path = dir.join("scene.ron");
        std::fs::write(&path, text).unwrap();
        nti()
            .args(["run", path.to_str().unwrap(), "--out"])
            .arg(&out_dir)
            .output()
            .unwrap()
    };
    let results = || -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("results.json")).unwrap())
            .unwrap()
    };
    assert!(run(&scene(STAGES)).status.success());
    let samples = std::fs::read(out_dir.join("samples_N6.ntis")).unwrap();
    let first = results();
    assert!(first["free_energy"]["6"]["corrected"].is_object());

    // Other samples (particle count), other training settings, fewer steps: refused before
    // any work, nothing overwritten.
    for (changed, why) in [
        (
            scene(STAGES).replace("particles: [6]", "particles: [7]"),
            "scene hash",
        ),
        (scene(STAGES).replace("batch: 8", "batch: 10"), "batch"),
        (
            scene(STAGES).replace("steps: 30", "steps: 20"),
            "more than training.steps",
        ),
    ] {
        let out = run(&changed);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{why}: {err}");
        assert!(err.contains(why) && err.contains("--out"), "{why}: {err}");
        assert_eq!(
            std::fs::read(out_dir.join("samples_N6.ntis")).unwrap(),
            samples
        );
        assert_eq!(results()["scene"], first["scene"], "{why}");
    }

    // Fewer estimators, more trajectories: the samplers no longer asked for disappear from
    // results.json and the report.
    let fewer = scene(&STAGES.replace(
        "integration: (trajectories: 16,",
        "integration: (trajectories: 20, estimators: [ReverseSde],",
    ));
    let out = run(&fewer);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let now = results();
    for gone in [
        "corrected",
        "annealed",
        "ais",
        "weighted_ti",
        "forward_noise",
    ] {
        assert!(now["free_energy"]["6"][gone].is_null(), "{gone}: {now}");
    }
    assert_eq!(now["free_energy"]["6"]["reverse_sde"]["trajectories"], 20);
    assert_eq!(
        now["free_energy"]["6"]["neural_ti"]["estimator"],
        "reverse_sde"
    );
    let report = std::fs::read_to_string(out_dir.join("report.md")).unwrap();
    assert!(!report.contains("reverse SDE + MALA"), "{report}");

    // Another integration seed on the same model: an independent replicate of the samplers,
    // the samples and the model reused as they are; the same seed again reuses the records.
    let model = std::fs::read(out_dir.join("model.ckpt")).unwrap();
    let reseeded = fewer.replace(
        "estimators: [ReverseSde],",
        "estimators: [ReverseSde], seed: 5,",
    );
    let estimate = |r: &serde_json::Value| r["free_energy"]["6"]["reverse_sde"]["betaF_ex"].clone();
    let out = run(&reseeded);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let replicate = estimate(&results());
    assert_ne!(replicate, estimate(&now));
    assert_eq!(std::fs::read(out_dir.join("model.ckpt")).unwrap(), model);
    assert_eq!(
        std::fs::read(out_dir.join("samples_N6.ntis")).unwrap(),
        samples
    );
    assert!(run(&reseeded).status.success());
    assert_eq!(estimate(&results()), replicate);

    // A damaged sample file is refused, named, and left as it is (never sampled over).
    let ntis = out_dir.join("samples_N6.ntis");
    let mut damaged = samples.clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 0x40;
    std::fs::write(&ntis, &damaged).unwrap();
    let out = run(&reseeded);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("samples_N6.ntis"), "{err}");
    assert_eq!(std::fs::read(&ntis).unwrap(), damaged);
    std::fs::write(&ntis, &samples).unwrap();

    // A corrupted results.json is refused and left as it is.
    let junk = b"\x00\x01 not json at all";
    std::fs::write(out_dir.join("results.json"), junk).unwrap();
    let out = run(&fewer);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("results.json") && err.contains("not a valid results file"),
        "{err}"
    );
    assert_eq!(std::fs::read(out_dir.join("results.json")).unwrap(), junk);
}

/// Runs the tiny scene with a short training and corrected-sampler integration settings
/// `extra` (scene `dir/name.ron`) into `out`: (stderr, the N = 6 corrected record,
/// results.json).
fn run_integration(
    dir: &std::path::Path,
    out: &std::path::Path,
    name: &str,
    extra: &str,
) -> (String, serde_json::Value, serde_json::Value) {
    let path = dir.join(format!("{name}.ron"));
    std::fs::write(
        &path,
        scene(&format!(
            "training: (steps: 30, batch: 8, log_every: 10, checkpoint_every: 10),
    integration: (trajectories: 16, steps: 8, correctors: 1, populations: 2, resample: 1.0,
                  chemical_potential: false, {extra}),"
        )),
    )
    .unwrap();
    let done = nti()
        .args([
            "run",
            path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&done.stderr).into_owned();
    assert!(done.status.success(), "{err}");
    let json = |file: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(out.join(file)).unwrap()).unwrap()
    };
    (err, json("ti_N6_corrected.json"), json("results.json"))
}

#[test]
fn a_target_error_extends_the_recorded_trajectories_and_other_settings_reuse_them() {
    if common::gpu().is_none() {
        return;
    }
    let dir = temp_dir("extend");
    let out = dir.join("out");
    let run = |name: &str, extra: &str| {
        let (err, record, _) = run_integration(&dir, &out, name, extra);
        (err, record)
    };
    let sampler_lines = |err: &str| -> Vec<String> {
        err.lines()
            .filter(|l| l.starts_with("reverse SDE") && l.ends_with("steps"))
            .map(String::from)
            .collect()
    };
    let (err, plain) = run("plain", "estimators: [Corrected]");
    assert_eq!(sampler_lines(&err).len(), 1, "{err}");
    // Another rule, another estimator beside it: the corrected record is read back.
    let (err, again) = run("rule", "estimators: [Corrected, ReverseSde], rule: Simpson");
    let lines = sampler_lines(&err);
    assert!(
        lines.len() == 1 && !lines[0].contains("MALA"),
        "only the new estimator runs: {lines:?}"
    );
    assert_eq!(again, plain);
    // A target no run reaches: the recorded batch is kept and one more runs after it.
    let (err, extended) = run(
        "target",
        "estimators: [Corrected], target_error: 1e-9, max_trajectories: 32",
    );
    let lines = sampler_lines(&err);
    assert!(
        lines.len() == 1 && lines[0].contains("batch 2"),
        "only the second batch runs: {lines:?}"
    );
    let rows = extended["integrand"].as_array().unwrap();
    assert_eq!(rows.len(), 32);
    assert_eq!(rows[..16], plain["integrand"].as_array().unwrap()[..]);
    // Done: the same scene again runs nothing.
    let (err, same) = run(
        "target",
        "estimators: [Corrected], target_error: 1e-9, max_trajectories: 32",
    );
    assert!(sampler_lines(&err).is_empty(), "{err}");
    assert_eq!(same, extended);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_target_error_adds_batches_of_trajectories_up_to_the_cap() {
    if common::gpu().is_none() {
        return;
    }
    let dir = temp_dir("target-error");
    let run = |name: &str, target: &str| -> serde_json::Value {
        let extra = format!("estimators: [Corrected], {target}");
        let (_, record, results) = run_integration(&dir, &dir.join(name), name, &extra);
        serde_json::json!({"record": record, "results": results})
    };
    // An error no run reaches: batches until the cap (3 of 16 trajectories, 6 populations).
    let capped = run("capped", "target_error: 1e-9, max_trajectories: 50");
    assert_eq!(capped["record"]["integrand"].as_array().unwrap().len(), 48);
    assert_eq!(capped["record"]["log_norm"].as_array().unwrap().len(), 6);
    // The same asked as a fraction of |βF_ex|.
    let relative = run(
        "relative",
        "target_relative_error: 1e-9, max_trajectories: 32",
    );
    assert_eq!(
        relative["record"]["integrand"].as_array().unwrap().len(),
        32
    );
    // One already met: the first batch only, the same numbers as a run without a target.
    let met = run("met", "target_error: 1e9");
    let plain = run("plain", "");
    assert_eq!(met["record"]["integrand"].as_array().unwrap().len(), 16);
    assert_eq!(
        met["record"]["integrand"], plain["record"]["integrand"],
        "the first batch is the run without a target"
    );
    // The capped run's first batch is that run too, and its error is smaller.
    assert_eq!(
        capped["record"]["integrand"].as_array().unwrap()[..16],
        plain["record"]["integrand"].as_array().unwrap()[..]
    );
    let err = |v: &serde_json::Value| {
        v["results"]["free_energy"]["6"]["corrected"]["betaF_ex"]["err"]
            .as_f64()
            .unwrap()
    };
    assert!(
        err(&capped) < err(&plain),
        "{} {}",
        err(&capped),
        err(&plain)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
