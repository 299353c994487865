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

/// Runs `nti-gpu <args> --out <out_dir>`, asserts exit code 1 and returns stderr.
fn fails_with_out(args: &[&str], out_dir: &std::path::Path) -> String {
    let out = nti().args(args).arg("--out").arg(out_dir).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{args:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
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

/// An OS error is printed once, not once per link of the error chain.
#[test]
fn os_errors_are_printed_once() {
    let out = nti()
        .args(["check", "/no/such/scene.ron"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("(os error 2)").count(), 1, "{err}");
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
    // Where adapters exist, the hint lists them instead of advising a driver install.
    if common::gpu().is_some() {
        assert!(
            err.contains("The adapters seen are: ") && !err.contains("install Mesa"),
            "{err}"
        );
    }
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

/// A second run on a directory in use is refused before any work, naming the holder; a
/// lock left by a process that no longer runs is taken over; the lock is gone afterwards.
#[test]
fn a_directory_in_use_is_refused_and_a_stale_lock_taken_over() {
    let path = temp_scene("lock", TINY);
    let out_dir = path.parent().unwrap().join("locked-out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let lock = out_dir.join(nti_gpu::output::LOCK_FILE);
    // Held by this (live) test process.
    std::fs::write(
        &lock,
        format!("pid {}\ncommand nti-gpu run x\n", std::process::id()),
    )
    .unwrap();
    let err = fails_with_out(&["sample", path.to_str().unwrap()], &out_dir);
    assert!(
        err.contains("is in use by another nti-gpu")
            && err.contains(&format!("pid {}", std::process::id()))
            && err.contains("nti-gpu run x"),
        "{err}"
    );
    assert!(!out_dir.join("results.json").exists(), "work was done");
    // Left by a process that is gone (pid beyond Linux's pid_max).
    if !std::path::Path::new("/proc/self").exists() || common::gpu().is_none() {
        return;
    }
    std::fs::write(&lock, "pid 2147483646\ncommand nti-gpu run x\n").unwrap();
    let out = common::nti()
        .args(["sample", path.to_str().unwrap(), "--out"])
        .arg(&out_dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("no longer runs; taking the directory over"),
        "{err}"
    );
    assert!(out_dir.join("results.json").exists());
    assert!(!lock.exists(), "the lock outlived the run");
}

/// Rerunning a directory with another system forgets the other scene's particle counts:
/// results.json and the report hold only this scene's N.
#[test]
fn another_scene_in_the_same_directory_leaves_no_stale_counts() {
    if common::gpu().is_none() {
        return;
    }
    let a = temp_scene(
        "stale-a",
        r#"Scene(name: "stale", seed: 1,
    system: (box_length: 4.0, temperature: 1.0, epsilon: 0.8, particles: [12],
             potential: MinimumImage),
    sampler: (replicas: 4, dt: 0.005, equilibration_steps: 50, production_steps: 200,
              record_every: 10, sample_every: 50),
    baselines: (widom: (insertions: 10), eos: true),
)"#,
    );
    let b = a.with_file_name("b.ron");
    let text = std::fs::read_to_string(&a).unwrap();
    std::fs::write(&b, text.replace("particles: [12]", "particles: [14]")).unwrap();
    let out_dir = a.parent().unwrap().join("stale-out");
    let _ = std::fs::remove_dir_all(&out_dir);
    run_to_results("run", &a, &out_dir);
    let run_b = common::nti()
        .args(["run", b.to_str().unwrap(), "--out"])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(run_b.status.success());
    let err = String::from_utf8_lossy(&run_b.stderr);
    assert!(
        err.contains("results of another scene") && err.contains("N = [12]"),
        "{err}"
    );
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("results.json")).unwrap())
            .unwrap();
    for section in ["reference", "free_energy"] {
        let keys: Vec<&String> = results[section].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["14"], "{section}");
    }
    let md = std::fs::read_to_string(out_dir.join("report.md")).unwrap();
    assert!(!md.contains("N = 12") && md.contains("N = 14"), "{md}");
}

/// `train --resume` without a checkpoint fails at once, before sampling anything.
#[test]
fn resuming_without_a_checkpoint_fails_before_any_work() {
    if common::gpu().is_none() {
        return;
    }
    let path = temp_scene("resume", TINY);
    let out_dir = path.parent().unwrap().join("resume-out");
    let err = fails_with_out(&["train", path.to_str().unwrap(), "--resume"], &out_dir);
    assert!(
        err.contains("`--resume`") && err.contains("no checkpoint to resume from"),
        "{err}"
    );
    assert!(
        !out_dir.join("results.json").exists(),
        "sampled before failing"
    );
}

/// `bench --json` at a directory or in a missing one fails before benchmarking.
#[test]
fn bench_json_paths_are_checked_first() {
    let dir = std::env::temp_dir();
    for (path, expected) in [
        (dir.clone(), "is a directory"),
        (dir.join("no-such-dir-nti").join("b.json"), "does not exist"),
    ] {
        let out = common::nti()
            .args(["bench", "--suite", "quick", "--json"])
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected) && !err.contains("adapter"), "{err}");
    }
}

/// `report` needs no GPU: it rewrites report.md from what the directory holds (here
/// nothing, which the report says), and a missing directory is an error naming `--out`.
#[test]
fn report_rewrites_a_directory_and_names_a_missing_one() {
    let path = temp_scene("report", TINY);
    let out_dir = path.parent().unwrap().join("report-out");
    let err = fails_with_out(&["report", path.to_str().unwrap()], &out_dir);
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

/// A scene whose buffers or dispatches exceed the device's limits is refused by `check`
/// (against WebGPU's defaults, naming the field) and by `run` before any work, where wgpu
/// would otherwise panic mid-run.
#[test]
fn scenes_beyond_the_device_limits_are_refused_before_any_work() {
    let big = TINY
        .replace("replicas: 2", "replicas: 30000")
        .replace("particles: [10]", "particles: [200]")
        .replace("sample_every: 50", "sample_every: 100");
    let path = temp_scene("limits", &big);
    let out = nti()
        .args(["check", path.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("`sampler.replicas` = 30000")
            && err.contains("93750 workgroups")
            && err.contains("WebGPU's default limits")
            && err.contains("--adapter NAME"),
        "{err}"
    );
    if common::gpu().is_none() {
        return;
    }
    let out_dir = path.parent().unwrap().join("limits-out");
    let err = fails_with_out(&["run", path.to_str().unwrap()], &out_dir);
    assert!(
        err.contains("`sampler.replicas` = 30000") && err.contains("93750 workgroups"),
        "{err}"
    );
    assert!(
        !out_dir.join("results.json").exists() && !out_dir.join("samples_N200.ntis").exists(),
        "worked before refusing"
    );
}
