//! Sweeps: `nti-gpu sweep init` writes a row project (one directory per state point with
//! its scene and axis values), rerunning it adds points and never touches started ones, and
//! `nti-gpu collect` merges the finished points into one table with the axis values,
//! listing the unfinished ones and refusing points whose scenes differ beyond the axes.
//! Each point is run here with the command row would run (`scripts/check-sweep.sh` drives
//! the same project through `row submit`).

mod common;

use std::path::{Path, PathBuf};

const BASE: &str = r#"Scene(
    name: "tiny", seed: 1,
    system: (box_length: 6.0, temperature: 1.0, epsilon: 0.8, particles: [10],
             potential: MinimumImage),
    sampler: (replicas: 2, dt: 0.005, equilibration_steps: 20, production_steps: 100,
              record_every: 10, sample_every: 50),
    baselines: (widom: (insertions: 50), eos: true),
)"#;

fn project(name: &str, epsilons: &str) -> (PathBuf, PathBuf) {
    let root = std::env::temp_dir().join(format!("nti-sweep-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("base.ron"), BASE).unwrap();
    write_sweep(&root, epsilons);
    (root.join("sweep.ron"), root.join("proj"))
}

fn write_sweep(root: &Path, epsilons: &str) {
    let text = format!(
        "Sweep(scene: \"base.ron\", axes: [\n    (field: \"system.epsilon\", values: [{epsilons}]),\n    (field: \"system.particles\", values: [[10], [12]]),\n])"
    );
    std::fs::write(root.join("sweep.ron"), text).unwrap();
}

fn init(sweep: &Path, proj: &Path) -> String {
    common::nti_ok(&[
        "sweep",
        "init",
        sweep.to_str().unwrap(),
        proj.to_str().unwrap(),
    ])
}

/// Runs one point as row's `run` action does.
fn run_point(proj: &Path, point: &str) {
    let dir = proj.join("workspace").join(point);
    common::nti_ok(&[
        "run",
        dir.join("scene.ron").to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
    ]);
}

#[test]
fn a_two_by_two_sweep_is_initialised_run_and_collected() {
    let (sweep, proj) = project("2x2", "0.8, 1.0");
    let out = init(&sweep, &proj);
    let points = [
        "epsilon-0.8_particles-10",
        "epsilon-0.8_particles-12",
        "epsilon-1.0_particles-10",
        "epsilon-1.0_particles-12",
    ];
    for p in points {
        assert!(out.contains(p), "{out}");
        let v: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(proj.join("workspace").join(p).join("value.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(v.as_object().unwrap().len(), 2, "{v}");
    }
    let workflow = std::fs::read_to_string(proj.join("workflow.toml")).unwrap();
    assert!(
        workflow.contains("value_file = \"value.json\""),
        "{workflow}"
    );
    assert!(workflow.contains("products = [\"run.done\"]"), "{workflow}");
    // Three of the four points run; the fourth is listed as not started.
    for p in &points[..3] {
        run_point(&proj, p);
    }
    let stdout = common::nti_ok(&["collect", proj.to_str().unwrap()]);
    assert!(stdout.contains("3 finished point(s)"), "{stdout}");
    assert!(
        stdout.contains("unfinished: epsilon-1.0_particles-12: not started"),
        "{stdout}"
    );
    run_point(&proj, points[3]);
    let stdout = common::nti_ok(&["collect", proj.to_str().unwrap()]);
    assert!(stdout.contains("4 finished point(s)"), "{stdout}");
    let csv = std::fs::read_to_string(proj.join("collected.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |n: &str| header.iter().position(|h| *h == n).unwrap();
    let widom: Vec<Vec<&str>> = lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|c| c[col("method")] == "widom")
        .collect();
    assert_eq!(widom.len(), 4, "{csv}");
    for c in &widom {
        // The axis values, the temperature they imply and the row's own N agree.
        let eps: f64 = c[col("system.epsilon")].parse().unwrap();
        let t_star: f64 = c[col("T_star")].parse().unwrap();
        assert!((t_star - 1.0 / eps).abs() < 1e-12, "{c:?}");
        assert_eq!(c[col("system.particles")], format!("[{}]", c[col("N")]));
        assert!(c[col("mean")].parse::<f64>().unwrap().is_finite());
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(proj.join("collected.json")).unwrap())
            .unwrap();
    assert_eq!(json["points"].as_array().unwrap().len(), 4);
    // One colour per temperature (two here), shared by the points and the EOS line.
    let img = image::open(proj.join("collected_betamu.png"))
        .unwrap()
        .to_rgb8();
    for t in 0..2 {
        let c = nti_gpu::report::plot::series_color(t);
        let n = img.pixels().filter(|p| p.0 == c).count();
        assert!(n > 200, "temperature {t}: {n} pixels");
    }

    // Rerunning init with a changed base scene and a new temperature: the four points
    // already run are kept as they are, two new ones are added.
    let before =
        std::fs::read_to_string(proj.join("workspace").join(points[0]).join("scene.ron")).unwrap();
    std::fs::write(
        sweep.parent().unwrap().join("base.ron"),
        BASE.replace("insertions: 50", "insertions: 60"),
    )
    .unwrap();
    write_sweep(sweep.parent().unwrap(), "0.8, 1.0, 1.2");
    let out = init(&sweep, &proj);
    assert!(
        out.contains("added: epsilon-1.2_particles-10 epsilon-1.2_particles-12"),
        "{out}"
    );
    assert!(out.contains("kept as run"), "{out}");
    let after =
        std::fs::read_to_string(proj.join("workspace").join(points[0]).join("scene.ron")).unwrap();
    assert_eq!(before, after);
    // A point whose scene differs beyond the axes is refused by collect.
    run_point(&proj, "epsilon-1.2_particles-10");
    let out = common::nti()
        .args(["collect", proj.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("differ in more than the sweep's axes"),
        "{err}"
    );
    std::fs::remove_dir_all(sweep.parent().unwrap()).unwrap();
}

#[test]
fn a_bad_sweep_names_the_axis_and_collect_needs_a_project() {
    let (sweep, proj) = project("bad", "0.8, -1.0");
    let out = common::nti()
        .args([
            "sweep",
            "init",
            sweep.to_str().unwrap(),
            proj.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("axes") && err.contains("epsilon"), "{err}");
    let out = common::nti()
        .args(["collect", sweep.parent().unwrap().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("workspace/"), "{err}");
    std::fs::remove_dir_all(sweep.parent().unwrap()).unwrap();
}

#[test]
fn points_that_differ_in_what_they_evaluate_share_one_trained_model() {
    let root = std::env::temp_dir().join(format!("nti-sweep-shared-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("base.ron"), common::staged()).unwrap();
    // Two temperatures (two models) × two evaluated particle counts (one model each).
    std::fs::write(
        root.join("sweep.ron"),
        "Sweep(scene: \"base.ron\", axes: [\n    (field: \"system.epsilon\", values: [0.8, 1.0]),\n    (field: \"integration.particles\", values: [[6], [7]]),\n])",
    )
    .unwrap();
    let proj = root.join("proj");
    let out = init(&root.join("sweep.ron"), &proj);
    assert_eq!(out.matches("share model").count(), 2, "{out}");
    let ws = proj.join("workspace");
    let key = |p: &str| -> String {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(ws.join(p).join("value.json")).unwrap())
                .unwrap();
        v["trained_model"].as_str().unwrap().to_string()
    };
    let points = [
        "particles-6_epsilon-0.8",
        "particles-7_epsilon-0.8",
        "particles-6_epsilon-1.0",
        "particles-7_epsilon-1.0",
    ];
    assert_eq!(key(points[0]), key(points[1]));
    assert_eq!(key(points[2]), key(points[3]));
    assert_ne!(key(points[0]), key(points[2]));
    let workflow = std::fs::read_to_string(proj.join("workflow.toml")).unwrap();
    for part in [
        "name = \"train\"",
        "sweep train . {directories}",
        "sort_by = [\"/trained_model\"]",
        "split_by_sort_key = true",
        "walltime.per_submission",
        "previous_actions = [\"train\"]",
    ] {
        assert!(workflow.contains(part), "{part}: {workflow}");
    }

    // row's `train` action on all four points (row would make one job per model).
    let mut args = vec!["sweep", "train", proj.to_str().unwrap()];
    args.extend(points);
    let out = common::nti_ok(&args);
    assert_eq!(out.matches("training ran").count(), 2, "{out}");
    let model = |p: &str| std::fs::read(ws.join(p).join("model.ckpt")).unwrap();
    assert_eq!(model(points[0]), model(points[1]));
    assert_eq!(model(points[2]), model(points[3]));
    assert_ne!(model(points[0]), model(points[2]));
    assert_eq!(
        model(points[0]),
        std::fs::read(proj.join("models").join(key(points[0])).join("model.ckpt")).unwrap()
    );
    for p in points {
        assert!(ws.join(p).join("train.done").is_file());
        // Each point's own run finds its samples and model and only integrates.
        let dir = ws.join(p);
        let out = common::nti_ok(&[
            "run",
            dir.join("scene.ron").to_str().unwrap(),
            "--out",
            dir.to_str().unwrap(),
        ]);
        assert!(out.contains("sample: reused"), "{out}");
        assert!(out.contains("train: reused"), "{out}");
        let r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap())
                .unwrap();
        assert_eq!(r["shared_model"]["key"], key(p).as_str());
        assert_eq!(r["training"]["steps"], 30);
        let n = if p.starts_with("particles-6") {
            "6"
        } else {
            "7"
        };
        assert!(r["free_energy"][n]["neural_ti"]["betaF_ex"]["mean"]
            .as_f64()
            .unwrap()
            .is_finite());
    }
    // A name that is no point is refused before any device is opened.
    let out = common::nti()
        .args(["sweep", "train", proj.to_str().unwrap(), "no-such-point"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("no-such-point") && err.contains("no scene.ron") && !err.contains("adapter:"),
        "{err}"
    );
    // Asked again, the models are reused, not trained again.
    let out = common::nti_ok(&["sweep", "train", proj.to_str().unwrap(), points[0]]);
    assert!(out.contains("sampling reused, training reused"), "{out}");
    let out = common::nti_ok(&["collect", proj.to_str().unwrap()]);
    assert!(out.contains("4 finished point(s)"), "{out}");
    let csv = std::fs::read_to_string(proj.join("collected.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(header.contains("integration.particles"), "{header}");
    assert!(!header.contains("trained_model"), "{header}");

    // A point added later joins its temperature's model: nothing is sampled or trained.
    std::fs::write(
        root.join("sweep.ron"),
        "Sweep(scene: \"base.ron\", axes: [\n    (field: \"system.epsilon\", values: [0.8, 1.0]),\n    (field: \"integration.particles\", values: [[6], [7], [8]]),\n])",
    )
    .unwrap();
    let out = init(&root.join("sweep.ron"), &proj);
    assert!(out.contains("added: particles-8_epsilon-0.8"), "{out}");
    assert_eq!(key("particles-8_epsilon-0.8"), key(points[0]));
    let out = common::nti_ok(&[
        "sweep",
        "train",
        proj.to_str().unwrap(),
        "particles-8_epsilon-0.8",
    ]);
    assert!(out.contains("sampling reused, training reused"), "{out}");
    assert_eq!(model("particles-8_epsilon-0.8"), model(points[0]));
    std::fs::remove_dir_all(&root).unwrap();
}
