//! The `nti-gpu` binary: exit codes and messages of `check`, `info`, `sample` and `report`.

mod common;

use common::nti;

fn temp_scene(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("nti-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("scene.ron");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `nti-gpu <command> <scene> --out <dir>`, asserts success, returns stdout and the
/// parsed results.json.
fn run_to_results(
    command: &str,
    scene: &std::path::Path,
    out_dir: &std::path::Path,
) -> (String, serde_json::Value) {
    let stdout = common::nti_ok(&[
        command,
        scene.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    let results =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("results.json")).unwrap())
            .unwrap();
    (stdout, results)
}

const TINY: &str = r#"Scene(
    name: "tiny", seed: 1,
    system: (box_length: 6.0, temperature: 1.0, epsilon: 0.8, particles: [10],
             potential: MinimumImage),
    sampler: (replicas: 2, dt: 0.005, equilibration_steps: 20, production_steps: 100,
              record_every: 10, sample_every: 50),
)"#;

#[test]
fn check_accepts_bundled_scenes() {
    for scene in [
        "quick.ron",
        "paper_n40.ron",
        "lj_rho0.8_T2.ron",
        "validate_n40.ron",
    ] {
        let path = format!("{}/assets/scenes/{scene}", env!("CARGO_MANIFEST_DIR"));
        let out = nti().args(["check", &path]).output().unwrap();
        assert!(
            out.status.success(),
            "{scene}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("ok"));
    }
}

#[test]
fn check_rejects_bad_scene_naming_the_field() {
    let path = temp_scene("bad", &TINY.replace("replicas: 2", "replicas: 0"));
    let out = nti()
        .args(["check", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sampler.replicas") && err.contains(">= 1"),
        "{err}"
    );
    let out = nti()
        .args(["check", "/nonexistent/scene.ron"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/scene.ron"));
}

#[test]
fn unknown_backend_and_adapter_are_clear_errors() {
    let path = temp_scene("backend", TINY);
    let out = nti()
        .args(["sample", path.to_str().unwrap(), "--backend", "glide"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown backend `glide`"));
    let out = nti()
        .args([
            "sample",
            path.to_str().unwrap(),
            "--adapter",
            "no-such-gpu-xyz",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no GPU adapter found matching `no-such-gpu-xyz`"),
        "{err}"
    );
}

#[test]
fn sample_writes_into_out() {
    if common::gpu().is_none() {
        return;
    }
    let path = temp_scene("sample", TINY);
    let out_dir = path.parent().unwrap().join("out");
    let (_, results) = run_to_results("sample", &path, &out_dir);
    assert_eq!(results["reference"]["10"]["samples"], 4);
    let info = nti().arg("info").output().unwrap();
    assert!(info.status.success());
    assert!(String::from_utf8_lossy(&info.stdout).contains("default choice"));
}

#[test]
fn baselines_eos_only_writes_the_equation_of_state_with_tails() {
    if common::gpu().is_none() {
        return;
    }
    let path = temp_scene(
        "eos",
        r#"Scene(name: "eosonly", seed: 1,
    system: (box_length: 9.0, temperature: 2.0, particles: [100],
             potential: Truncated(cutoff: 2.5)),
    baselines: (eos: true),
    sampler: (replicas: 1, dt: 0.005, equilibration_steps: 10, production_steps: 10),
)"#,
    );
    let out_dir = path.parent().unwrap().join("out");
    let (stdout, results) = run_to_results("baselines", &path, &out_dir);
    let e = &results["free_energy"]["100"]["eos"];
    let rho = 100.0 / 729.0;
    let kn = nti_gpu::baselines::eos::kolafa_nezbeda(2.0, rho);
    assert!((e["mean"].as_f64().unwrap() - 100.0 * kn.beta_a_ex_per_particle).abs() < 1e-9);
    assert!(e["err"].as_f64().unwrap() >= 0.0);
    // Removing the tail raises mu (the tail is attractive).
    let mu_trunc = e["truncated"]["kolafa_nezbeda"]["betamu_ex"]
        .as_f64()
        .unwrap();
    assert!(mu_trunc > kn.beta_mu_ex);
    assert!(stdout.contains("equation of state"));
}

/// `report` needs no GPU: it rewrites report.md from what the directory holds (here
/// nothing, which the report says), and a missing directory is an error naming `--out`.
#[test]
fn report_rewrites_a_directory_and_names_a_missing_one() {
    let path = temp_scene("report", TINY);
    let out_dir = path.parent().unwrap().join("report-out");
    let missing = common::nti()
        .args(["report", path.to_str().unwrap(), "--out"])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(
        err.contains("`--out`") && err.contains("no such output directory"),
        "{err}"
    );
    std::fs::create_dir_all(&out_dir).unwrap();
    let stdout = common::nti_ok(&[
        "report",
        path.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(stdout.contains("report.md"), "{stdout}");
    let md = std::fs::read_to_string(out_dir.join("report.md")).unwrap();
    assert!(
        md.contains("# nti-gpu report: tiny") && md.contains("no results.json"),
        "{md}"
    );
}

/// Output to a closed pipe (`nti-gpu info | head -0`) or to a full device ends with exit
/// code 1 and no panic report, not exit code 101 and a backtrace. (`info` enumerates the
/// adapters before it prints, so the pipe is closed by then.)
#[test]
fn closed_pipes_and_full_devices_are_not_panics() {
    use std::process::Stdio;
    let args = ["info"];
    // stdout: a pipe whose reader is gone before anything is written.
    let mut child = nti()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains("closed pipe or full device"), "{err}");
    // stdout and stderr on a full device.
    if let (Ok(full), Ok(full_err)) = (
        std::fs::OpenOptions::new().write(true).open("/dev/full"),
        std::fs::OpenOptions::new().write(true).open("/dev/full"),
    ) {
        let status = nti()
            .args(args)
            .stdout(Stdio::from(full))
            .stderr(Stdio::from(full_err))
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(1));
    }
}
