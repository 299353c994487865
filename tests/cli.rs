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
    run_to_results_with(command, scene, out_dir, &[])
}

/// [`run_to_results`] with further arguments after the output directory.
fn run_to_results_with(
    command: &str,
    scene: &std::path::Path,
    out_dir: &std::path::Path,
    extra: &[&str],
) -> (String, serde_json::Value) {
    let mut args = vec![
        command,
        scene.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let stdout = common::nti_ok(&args);
    (stdout, results_in(out_dir))
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
        "paper_lj3d.ron",
        "paper_lj3d_hour.ron",
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
    // The backends are a closed list: clap refuses another name and lists the choices.
    let out = nti()
        .args(["sample", path.to_str().unwrap(), "--backend", "glide"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("invalid value 'glide' for '--backend")
            && err.contains("[possible values: vulkan, metal, dx12, gl]"),
        "{err}"
    );
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

/// `--help` lists the commands in the order of a workflow, then the tools.
#[test]
fn help_lists_the_commands_in_workflow_order() {
    let help = common::nti_ok(&["--help"]);
    let order = [
        "check",
        "sample",
        "train",
        "baselines",
        "integrate",
        "run",
        "report",
        "eos",
        "bench",
        "info",
    ];
    let at: Vec<usize> = order
        .iter()
        .map(|c| {
            help.find(&format!("\n  {c} "))
                .unwrap_or_else(|| panic!("{c}: {help}"))
        })
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{help}");
}

/// `-o` is `--out` on every command that writes an output directory.
#[test]
fn o_is_short_for_out_everywhere() {
    for command in ["sample", "train", "baselines", "integrate", "run", "report"] {
        let help = common::nti_ok(&[command, "--help"]);
        assert!(help.contains("-o, --out <DIR>"), "{command}: {help}");
    }
}

/// `--seed` replaces the scene's seed, and results.json records the scene as run.
#[test]
fn seed_overrides_the_scene_seed_and_is_recorded() {
    if common::gpu().is_none() {
        return;
    }
    let path = temp_scene("seed", TINY);
    let out_dir = fresh_out(&path, "seed-out");
    let stdout = common::nti_ok(&[
        "sample",
        path.to_str().unwrap(),
        "-o",
        out_dir.to_str().unwrap(),
        "--seed",
        "9",
    ]);
    assert!(stdout.contains("results.json"), "{stdout}");
    let results = results_in(&out_dir);
    assert_eq!(results["scene"]["seed"], 9);
    let mut scene = nti_gpu::scene::Scene::load(&path).unwrap();
    assert_eq!(scene.seed, 1);
    scene.seed = 9;
    assert_eq!(results["scene_hash"], format!("{:016x}", scene.hash()));
    let set = nti_gpu::dataset::SampleSet::read(&out_dir.join("samples_N10.ntis")).unwrap();
    assert_eq!(set.scene_hash, scene.hash());
}

/// `--json` means JSON on stdout wherever it is offered: `info`, `eos` and `bench` (whose
/// table then goes to stderr); `bench --json-out FILE` writes the same report to a file.
#[test]
fn json_means_json_on_stdout() {
    let eos = common::nti_ok(&["eos", "--temperature", "2", "--density", "0.5", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&eos).unwrap();
    assert_eq!(v["temperature"], 2.0);
    if common::gpu().is_none() {
        return;
    }
    let info = common::nti_ok(&["info", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&info).unwrap();
    let adapters = v["adapters"].as_array().unwrap();
    assert!(!adapters.is_empty(), "{v}");
    for a in adapters {
        assert!(
            a["name"].is_string() && a["limits"]["max_buffer_size"].is_number(),
            "{a}"
        );
        assert!(
            a["optional_features"]["TIMESTAMP_QUERY"].is_boolean(),
            "{a}"
        );
    }
    assert!(v["default_choice"]["name"].is_string(), "{v}");

    let file = std::env::temp_dir().join(format!("nti-cli-{}-bench.json", std::process::id()));
    let out = nti()
        .args([
            "bench",
            "--only",
            "paper-N200-B1",
            "--seconds",
            "0.05",
            "--json",
            "--json-out",
        ])
        .arg(&file)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(printed, written);
    assert_eq!(printed["workloads"][0]["name"], "paper-N200-B1");
    assert!(
        err.contains("paper-N200-B1") && err.contains("total"),
        "{err}"
    );
    std::fs::remove_file(&file).ok();
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
/// lock left by a process of this machine that no longer runs is taken over (one of
/// another machine never is); the lock is gone afterwards.
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
    // Written on another machine (a cluster node sharing the file system): its process
    // id says nothing here, so the lock holds.
    std::fs::write(
        &lock,
        "pid 2147483646\nhost another-node\ncommand nti-gpu run x\n",
    )
    .unwrap();
    let err = fails_with_out(&["sample", path.to_str().unwrap()], &out_dir);
    assert!(
        err.contains("is in use by another nti-gpu") && err.contains("another-node"),
        "{err}"
    );
    std::fs::write(
        &lock,
        format!(
            "pid 2147483646\nhost {}\ncommand nti-gpu run x\n",
            nti_gpu::output::host_name()
        ),
    )
    .unwrap();
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

/// `bench --json-out` at a directory or in a missing one fails before benchmarking.
#[test]
fn bench_json_paths_are_checked_first() {
    let dir = std::env::temp_dir();
    for (path, expected) in [
        (dir.clone(), "is a directory"),
        (dir.join("no-such-dir-nti").join("b.json"), "does not exist"),
    ] {
        let out = common::nti()
            .args(["bench", "--suite", "quick", "--json-out"])
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("--json-out") && err.contains(expected) && !err.contains("adapter"),
            "{err}"
        );
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

/// `report DIR` reports an output directory with the scene its results.json records (a
/// directory without one, or with --out, is refused naming the argument).
#[test]
fn report_of_a_directory_uses_the_scene_it_was_run_with() {
    let path = temp_scene("report-dir", TINY);
    let out_dir = path.parent().unwrap().join("report-dir-out");
    let _ = std::fs::remove_dir_all(&out_dir);
    run_to_results("sample", &path, &out_dir);
    std::fs::remove_file(out_dir.join("report.md")).ok();
    // The scene file is gone: the directory alone is enough.
    std::fs::remove_file(&path).unwrap();
    let stdout = common::nti_ok(&["report", out_dir.to_str().unwrap()]);
    assert!(stdout.contains("report.md"), "{stdout}");
    let md = std::fs::read_to_string(out_dir.join("report.md")).unwrap();
    assert!(md.contains("# nti-gpu report: tiny"), "{md}");
    let out = nti()
        .args(["report", out_dir.to_str().unwrap(), "--out", "elsewhere"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--out/--seed"));
    let empty = path.parent().unwrap().join("report-dir-empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = nti()
        .args(["report", empty.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`DIR`") && err.contains("no results.json"),
        "{err}"
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

/// A fresh output directory next to `scene`.
fn fresh_out(scene: &std::path::Path, name: &str) -> std::path::PathBuf {
    let dir = scene.parent().unwrap().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn results_in(out_dir: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out_dir.join("results.json")).unwrap()).unwrap()
}

/// `train` never replaces a model silently: without `--resume` or `--force` a model in the
/// output directory (this scene's or another's) is refused, naming the file and the ways
/// on; `--resume` continues it, `--force` trains from step 0 in its place.
#[test]
fn train_refuses_to_replace_a_model_unless_resumed_or_forced() {
    if common::gpu().is_none() {
        return;
    }
    let path = temp_scene("train-twice", &common::staged());
    let out_dir = fresh_out(&path, "train-twice-out");
    let scene = path.to_str().unwrap();
    let ckpt = out_dir.join("model.ckpt");
    run_to_results("train", &path, &out_dir);
    let model = std::fs::read(&ckpt).unwrap();

    let err = fails_with_out(&["train", scene], &out_dir);
    for needle in [
        "model.ckpt",
        "finished model",
        "--resume",
        "--force",
        "--out",
    ] {
        assert!(err.contains(needle), "{needle}: {err}");
    }
    assert_eq!(
        std::fs::read(&ckpt).unwrap(),
        model,
        "refused, yet replaced"
    );

    let (_, results) = run_to_results_with("train", &path, &out_dir, &["--resume"]);
    assert_eq!(results["training"]["steps_this_run"], 0);
    assert_eq!(std::fs::read(&ckpt).unwrap(), model);
    let (_, results) = run_to_results_with("train", &path, &out_dir, &["--force"]);
    assert_eq!(results["training"]["steps_this_run"], 30);

    // Another scene's model (other batch): refused with --force and --out as the ways on,
    // trained over with --force.
    let other = path.with_file_name("other.ron");
    std::fs::write(&other, common::staged().replace("batch: 8", "batch: 10")).unwrap();
    let model = std::fs::read(&ckpt).unwrap();
    let err = fails_with_out(&["train", other.to_str().unwrap()], &out_dir);
    for needle in ["batch 8", "is not this scene's", "--force", "--out"] {
        assert!(err.contains(needle), "{needle}: {err}");
    }
    assert_eq!(std::fs::read(&ckpt).unwrap(), model);
    let (_, results) = run_to_results_with("train", &other, &out_dir, &["--force"]);
    assert_eq!(results["training"]["batch"], 10);
    assert_eq!(results["training"]["steps_this_run"], 30);

    // Continuing and starting over at once is a usage error.
    let out = nti()
        .args(["train", scene, "--resume", "--force"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot be used with"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What `run` and `integrate` refuse (another scene's model, an altered sampler record)
/// they redo with `--force`; the refusals name `--force` and a new `--out`.
#[test]
fn run_and_integrate_redo_with_force_what_they_refuse() {
    if common::gpu().is_none() {
        return;
    }
    let path = temp_scene("force", &common::staged());
    let out_dir = fresh_out(&path, "force-out");
    let scene = path.to_str().unwrap();
    run_to_results("run", &path, &out_dir);

    // An altered sampler record.
    let record = out_dir.join("ti_N6_corrected.json");
    let mut raw: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&record).unwrap()).unwrap();
    raw["wall_time_s"] = serde_json::json!(1234.5);
    let altered = raw.to_string();
    std::fs::write(&record, &altered).unwrap();
    let err = fails_with_out(&["integrate", scene], &out_dir);
    for needle in [
        "ti_N6_corrected.json",
        "checksum mismatch",
        "--force",
        "--out",
    ] {
        assert!(err.contains(needle), "{needle}: {err}");
    }
    assert_eq!(std::fs::read_to_string(&record).unwrap(), altered);
    run_to_results_with("integrate", &path, &out_dir, &["--force"]);
    let text = std::fs::read_to_string(&record).unwrap();
    nti_gpu::ti::record::RawRun::from_json(&text, &record).unwrap();

    // Another scene's model (other batch): `integrate` and `run` refuse before any work,
    // `run --force` trains this scene's model in its place and redoes the integration.
    let other = path.with_file_name("other.ron");
    std::fs::write(&other, common::staged().replace("batch: 8", "batch: 10")).unwrap();
    let other = other.to_str().unwrap();
    let model = std::fs::read(out_dir.join("model.ckpt")).unwrap();
    let err = fails_with_out(&["integrate", other], &out_dir);
    for needle in ["batch 8", "train --force", "--out"] {
        assert!(err.contains(needle), "{needle}: {err}");
    }
    let err = fails_with_out(&["run", other], &out_dir);
    for needle in ["batch 8", "is not this scene's", "--force", "--out"] {
        assert!(err.contains(needle), "{needle}: {err}");
    }
    assert_eq!(std::fs::read(out_dir.join("model.ckpt")).unwrap(), model);
    let (stdout, results) =
        run_to_results_with("run", std::path::Path::new(other), &out_dir, &["--force"]);
    assert!(stdout.contains("train: ran anew"), "{stdout}");
    assert_eq!(results["training"]["batch"], 10);
    let ck = nti_gpu::model::checkpoint::Checkpoint::read(&out_dir.join("model.ckpt")).unwrap();
    assert_eq!((ck.batch, ck.step), (10, 30));
    assert_eq!(results["integration"]["model_step"], 30);
    // Rerun: nothing refused, nothing redone.
    let (stdout, _) = run_to_results("run", std::path::Path::new(other), &out_dir);
    assert!(stdout.contains("train: reused"), "{stdout}");
}

/// `run` repeats the warning of `sample` about reference samples kept too close together,
/// and both print the stage's progress as plain lines where stderr is no terminal.
#[test]
fn run_warns_of_correlated_samples_like_sample() {
    if common::gpu().is_none() {
        return;
    }
    let path = temp_scene(
        "correlated",
        &TINY.replace("sample_every: 50", "sample_every: 2"),
    );
    let out_dir = fresh_out(&path, "correlated-out");
    let warning = "kept configurations are only";
    let out = nti()
        .args(["sample", path.to_str().unwrap(), "-o"])
        .arg(&out_dir)
        .env("TERM", "dumb")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains(warning), "{stdout}");
    assert!(
        stderr.contains("sample N=10: 120 steps") && stderr.contains("sample N=10: done in "),
        "{stderr}"
    );
    let (stdout, _) = run_to_results("run", &path, &out_dir);
    assert!(
        stdout.contains(&format!("N = 10: reference samples: warning: {warning}")),
        "{stdout}"
    );
}
