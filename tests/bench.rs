//! `nti-gpu bench`: the operation counts behind FLOP/s against the shaders and against
//! instrumented CPU loops, the JSON report against docs/bench.schema.json, `--compare`,
//! and option errors.

mod common;

use nti_gpu::bench::ops::{
    lj_forces_counts, lj_forces_neighbors_counts, min_image_r2_f32, shader_function_flops,
    shader_pair_flops, PairCounts, LJ_PAIR_FLOPS, LJ_VISIT_FLOPS, WORKGROUP,
};
use nti_gpu::bench::pipeline::bench_pipeline;
use nti_gpu::bench::sampler::{bench_sampler, outcome_steps, reference_steps, KEY};
use nti_gpu::bench::{BenchOptions, PipelineWorkload, SamplerWorkload, Workload};
use nti_gpu::md::init::initial_state;
use nti_gpu::md::{LjForces, MdKernels, MdSystem};
use nti_gpu::model::ModelKernels;
use nti_gpu::reference::denoise::run_batch;
use nti_gpu::ti::denoise::{run_denoise, DenoiseKernels};
use serde_json::{json, Value};
use std::process::Command;
use std::sync::Arc;

fn nti() -> Command {
    Command::new(env!("CARGO_BIN_EXE_nti-gpu"))
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("nti-bench-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

// ---------------------------------------------------------------- operation counts

#[test]
fn flop_constants_match_the_shaders() {
    // The pair term and minimum image as written in shaders/common.
    assert_eq!(shader_function_flops("lj_forces", "lj_pair").unwrap(), 13);
    assert_eq!(
        shader_function_flops("lj_forces", "minimum_image").unwrap(),
        9
    );
    // The innermost loop of both force kernels, calls expanded.
    for entry in ["lj_forces", "lj_forces_neighbors"] {
        let c = shader_pair_flops("lj_forces", entry).unwrap();
        assert_eq!(
            c,
            PairCounts {
                visited: LJ_VISIT_FLOPS,
                interacting: LJ_PAIR_FLOPS
            },
            "{entry}"
        );
    }
    // The counter sees a different kernel differently (it can fail).
    let widom = shader_pair_flops("widom", "widom_insert").unwrap();
    assert_ne!(
        widom,
        PairCounts {
            visited: LJ_VISIT_FLOPS,
            interacting: LJ_PAIR_FLOPS
        }
    );
}

fn f32_positions(pos: &[[f32; 4]]) -> Vec<[f32; 3]> {
    pos.iter().map(|p| [p[0], p[1], p[2]]).collect()
}

/// The all-pairs kernel's loop structure replayed on the host in f32: per replica
/// ⌈n/P⌉ live invocations of P slots each (padding slots at x = 0), every slot visiting the
/// n particles of its replica in tiles, a pair counted when r² < r_c² and j ≠ i.
fn instrumented_all_pairs(
    pos: &[[f32; 3]],
    (n, b, ppl): (usize, usize, usize),
    l: f32,
    rc2: f32,
) -> PairCounts {
    let inv = 1.0 / l;
    let tiles = n.div_ceil(WORKGROUP as usize);
    let mut c = PairCounts {
        visited: 0,
        interacting: 0,
    };
    for r in 0..b {
        let base = r * n;
        for i in 0..n.div_ceil(ppl) * ppl {
            let xi = if i < n { pos[base + i] } else { [0.0; 3] };
            for t in 0..tiles {
                let count = (WORKGROUP as usize).min(n - t * WORKGROUP as usize);
                for k in 0..count {
                    let j = t * WORKGROUP as usize + k;
                    c.visited += 1;
                    if min_image_r2_f32(xi, pos[base + j], l, inv) < rc2 && j != i {
                        c.interacting += 1;
                    }
                }
            }
        }
    }
    c
}

fn small(n: u32, replicas: u32, density: f64, cutoff: Option<f64>, skin: Option<f64>) -> Workload {
    let mut w = Workload::paper(replicas);
    w.name = "test".into();
    w.n = n;
    w.density = density;
    w.cutoff = cutoff;
    w.skin = skin;
    w
}

fn system(gpu: &nti_gpu::gpu::Gpu, w: &Workload, steps: u32) -> MdSystem {
    let cfg = w.md_config();
    let (pos, vel) = initial_state(w.n, w.replicas, cfg.lj.box_length, w.temperature, 1.0, 11);
    let kernels = Arc::new(MdKernels::new(gpu).unwrap());
    let sys = MdSystem::new(gpu, kernels, cfg, &pos, &vel).unwrap();
    sys.run(gpu, steps).unwrap();
    sys
}

#[test]
fn all_pairs_counts_match_an_instrumented_loop() {
    let Some(gpu) = common::gpu() else { return };
    // n = 100, 3 replicas, with and without a cutoff; padding slots when P does not
    // divide 100.
    for cutoff in [None, Some(2.5)] {
        let w = small(100, 3, 0.5, cutoff, None);
        let sys = system(&gpu, &w, 20);
        assert!(!sys.uses_cells());
        let model = lj_forces_counts(&gpu, &sys).unwrap();
        let p = sys.params;
        let pos = f32_positions(&sys.read_positions(&gpu).unwrap());
        let ppl = sys.all_pairs_particles_per_invocation() as usize;
        let cpu = instrumented_all_pairs(&pos, (100, 3, ppl), p.box_length, p.rc2);
        assert_eq!(model.visited, cpu.visited, "cutoff {cutoff:?}");
        let slots = 100usize.div_ceil(ppl) * ppl;
        assert_eq!(model.visited, 3 * slots as u64 * 100);
        // Pairs near r_c may round differently in f32 on the device: allow 2 per replica.
        let diff = model.interacting.abs_diff(cpu.interacting);
        assert!(diff <= 6, "cutoff {cutoff:?}: model {model:?} cpu {cpu:?}");
        if cutoff.is_none() {
            assert_eq!(
                model.interacting,
                3 * (100 * 99 + (slots as u64 - 100) * 100)
            );
        } else {
            assert!(model.interacting < 3 * 100 * 99 / 2, "{model:?}");
        }
    }
}

#[test]
fn neighbor_list_counts_match_brute_force() {
    let Some(gpu) = common::gpu() else { return };
    // rho = 0.8, r_c = 2.5, skin 0.3: L = 10.8, three cells per side.
    let w = small(1000, 1, 0.8, Some(2.5), Some(0.3));
    let sys = system(&gpu, &w, 30);
    assert!(sys.uses_cells());
    let model = lj_forces_neighbors_counts(&gpu, &sys).unwrap();
    let p = sys.params;
    let count = |pos: &[[f32; 3]], r2max: f32| -> u64 {
        let mut c = 0;
        for i in 0..pos.len() {
            for j in 0..pos.len() {
                if i != j && min_image_r2_f32(pos[i], pos[j], p.box_length, p.inv_box) < r2max {
                    c += 1;
                }
            }
        }
        c
    };
    // The list holds the pairs within r_c + skin of the positions at the last rebuild.
    let at_rebuild = f32_positions(&gpu.read_all::<[f32; 4]>(&sys.buffers.sorted_pos).unwrap());
    let listed = count(&at_rebuild[..1000], p.rlist2);
    let now = f32_positions(&sys.read_positions(&gpu).unwrap());
    let within = count(&now[..1000], p.rc2);
    assert!(model.visited.abs_diff(listed) <= 4, "{model:?} vs {listed}");
    assert!(
        model.interacting.abs_diff(within) <= 4,
        "{model:?} vs {within}"
    );
    // ~ (4/3) pi 2.8^3 rho N = 73.6 N list entries, 52.4 N within r_c: sanity of scale.
    assert!((60_000..90_000).contains(&model.visited), "{model:?}");
    assert!((45_000..60_000).contains(&model.interacting), "{model:?}");
}

// ---------------------------------------------------------------- JSON schema

/// A JSON Schema subset (type, enum, required, properties, additionalProperties, items,
/// minimum, $ref to #/$defs/...) sufficient for docs/bench.schema.json; returns the
/// violations with their paths.
fn validate(schema: &Value, root: &Value, v: &Value, path: &str, errors: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.strip_prefix("#/$defs/").expect("only #/$defs refs");
        return validate(&root["$defs"][name], root, v, path, errors);
    }
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => panic!("bad type in schema"),
        };
        let ok = types.iter().any(|t| match *t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "boolean" => v.is_boolean(),
            "null" => v.is_null(),
            "number" => v.is_number(),
            "integer" => v.is_u64() || v.is_i64(),
            other => panic!("unsupported type {other}"),
        });
        if !ok {
            errors.push(format!("{path}: expected {types:?}, got {v}"));
            return;
        }
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array) {
        if !e.contains(v) {
            errors.push(format!("{path}: {v} not in {e:?}"));
        }
    }
    if let (Some(m), Some(x)) = (schema.get("minimum").and_then(Value::as_f64), v.as_f64()) {
        if x < m {
            errors.push(format!("{path}: {x} < {m}"));
        }
    }
    if let Some(obj) = v.as_object() {
        for r in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !obj.contains_key(r.as_str().unwrap()) {
                errors.push(format!(
                    "{path}: missing required `{}`",
                    r.as_str().unwrap()
                ));
            }
        }
        let props = schema.get("properties").and_then(Value::as_object);
        for (k, x) in obj {
            let sub = format!("{path}.{k}");
            if let Some(s) = props.and_then(|p| p.get(k)) {
                validate(s, root, x, &sub, errors);
            } else if let Some(s) = schema.get("additionalProperties") {
                validate(s, root, x, &sub, errors);
            }
        }
    }
    if let (Some(items), Some(a)) = (schema.get("items"), v.as_array()) {
        for (i, x) in a.iter().enumerate() {
            validate(items, root, x, &format!("{path}[{i}]"), errors);
        }
    }
}

fn schema() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/bench.schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn violations(doc: &Value) -> Vec<String> {
    let s = schema();
    let mut e = Vec::new();
    validate(&s, &s, doc, "$", &mut e);
    e
}

#[test]
fn json_report_validates_against_the_schema() {
    let Some(gpu) = common::gpu() else { return };
    // The subprocess compiles the all-pairs kernel as this process would.
    let ppl = LjForces::adapter_particles_per_invocation(&gpu);
    let dir = temp_dir("schema");
    let file = dir.join("quick.json");
    // One workload of every kind but the pipeline (minutes; its null CPU figures are
    // checked below and in `pipeline_workload_reports_stage_times`) and both force-kernel
    // paths, 0.2 s per side.
    let only = "paper-N200-B1,lj-rho0.8-N4000,lambda-windows-N40-B48,widom-paper-N200,\
                train-step-N40-B32,sampler-mala1-N40-C64";
    let out = nti()
        .args([
            "bench",
            "--suite",
            "quick",
            "--only",
            only,
            "--seconds",
            "0.2",
        ])
        .arg("--json-out")
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in only.split(',') {
        assert!(stdout.contains(name), "table lacks {name}:\n{stdout}");
    }
    assert!(stdout.contains("FLOP/s"), "{stdout}");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let errors = violations(&doc);
    assert!(errors.is_empty(), "{errors:#?}");

    // Contents beyond types.
    assert_eq!(doc["suite"], "quick");
    assert_eq!(doc["suite_version"], nti_gpu::bench::SUITE_VERSION);
    assert_eq!(doc["schema_version"], nti_gpu::bench::SCHEMA_VERSION);
    assert_eq!(doc["git_commit"], nti_gpu::bench::git_commit());
    assert!(!doc["adapter"]["name"].as_str().unwrap().is_empty());
    let w = doc["workloads"].as_array().unwrap();
    let names: Vec<&str> = w.iter().map(|x| x["name"].as_str().unwrap()).collect();
    assert_eq!(names, only.split(',').collect::<Vec<_>>());
    let kinds: Vec<&str> = w.iter().map(|x| x["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["md", "md", "md", "widom", "train", "sampler"]);
    let timestamps = doc["timestamp_queries"].as_bool().unwrap();
    for x in w {
        let g = &x["gpu"];
        let (med, min, max) = (
            g["median"].as_f64().unwrap(),
            g["min"].as_f64().unwrap(),
            g["max"].as_f64().unwrap(),
        );
        assert!(min > 0.0 && min <= med && med <= max, "{x}");
        let r1 = x["ratio_vs_cpu_1thread"].as_f64().unwrap();
        let cpu1 = x["cpu_1thread"].as_f64().unwrap();
        assert!((r1 - med / cpu1).abs() <= 1e-9 * r1, "{x}");
        if x["kind"] == "md" {
            assert_eq!(x["gpu_timestamp"].is_object(), timestamps, "{x}");
        }
    }
    // The force kernels' figures: FLOPs = the model's pair counts times the constants.
    for (i, kernel) in [(0, "lj_forces"), (1, "lj_forces_neighbors")] {
        let k = &w[i]["kernels"][0];
        assert_eq!(k["kernel"], kernel);
        let flops = k["pairs_visited"].as_f64().unwrap() * LJ_VISIT_FLOPS as f64
            + k["pairs_interacting"].as_f64().unwrap() * LJ_PAIR_FLOPS as f64;
        assert_eq!(k["flops_per_call"].as_f64().unwrap(), flops);
        assert_eq!(
            k["time_source"],
            if timestamps { "timestamp" } else { "wall" }
        );
    }
    // paper box: ⌈200/P⌉·P slots × 200 visited, 200·199 + padding·200 interacting.
    let slots = 200f64 / ppl as f64;
    let slots = slots.ceil() * ppl as f64;
    assert_eq!(w[0]["kernels"][0]["pairs_visited"], slots * 200.0);
    assert_eq!(
        w[0]["kernels"][0]["pairs_interacting"],
        200.0 * 199.0 + (slots - 200.0) * 200.0
    );

    // The validator rejects what the schema forbids.
    let mut bad = doc.clone();
    bad["adapter"].as_object_mut().unwrap().remove("vendor");
    bad["workloads"][0]["gpu"]["median"] = json!("fast");
    bad["workloads"][1]["kernels"][0]["time_source"] = json!("guess");
    let e = violations(&bad);
    assert_eq!(e.len(), 3, "{e:#?}");
    // A workload without a CPU reference (the pipeline) has null CPU figures and ratios.
    let mut no_cpu = doc.clone();
    for f in [
        "cpu_1thread",
        "cpu_all_threads",
        "ratio_vs_cpu_1thread",
        "ratio_vs_cpu_all_threads",
    ] {
        no_cpu["workloads"][0][f] = Value::Null;
    }
    no_cpu["workloads"][0]["kind"] = json!("pipeline");
    no_cpu["workloads"][0]["units"] = json!("runs/h");
    assert!(violations(&no_cpu).is_empty());
    no_cpu["workloads"][0]["cpu_1thread"] = json!("none");
    assert_eq!(violations(&no_cpu).len(), 1);
    std::fs::remove_dir_all(dir).ok();
}

// ---------------------------------------------------------------- sampler and pipeline

/// A sampler workload small enough for a test: 3 trajectories of 8 particles, 4 intervals,
/// 2 correctors.
fn small_sampler() -> SamplerWorkload {
    SamplerWorkload {
        name: "test-sampler".into(),
        n: 8,
        trajectories: 3,
        intervals: 4,
        correctors: 2,
    }
}

#[test]
fn sampler_step_counts_are_what_the_workload_claims() {
    let w = small_sampler();
    // (K + 1) grid points, each one evaluation plus one per corrector, per trajectory.
    assert_eq!(w.steps_per_trajectory(), 5 * 3);
    assert_eq!(w.steps_per_run(), 3 * 5 * 3);
    assert_eq!(w.grid().unwrap().len(), 5);
    assert_eq!(w.corrector_settings().steps, 2);
    assert_eq!(
        SamplerWorkload::reverse_sde(200).corrector_settings().steps,
        0
    );
    assert_eq!(SamplerWorkload::mala(200).steps_per_trajectory(), 9 * 2);
    // The CPU reference: one record per grid point; the count is per record and corrector.
    let (cfg, sys, params, grid) = (w.model(), w.system(), w.params(), w.grid().unwrap());
    let times: Vec<f64> = grid.iter().rev().copied().collect();
    let corr = w.corrector_settings();
    let rec = run_batch(&cfg, &sys, &params, &times, true, &corr, KEY, &[0], 8, None)
        .pop()
        .unwrap();
    assert_eq!(reference_steps(&rec, &corr), w.steps_per_trajectory());
    let Some(gpu) = common::gpu() else { return };
    // The device sampler's own account: evaluations per trajectory x trajectories.
    let kernels = (
        DenoiseKernels::new(&gpu).unwrap(),
        ModelKernels::new(&gpu, &nti_gpu::scene::ModelConfig::default()).unwrap(),
    );
    let theta: Vec<f32> = params.iter().map(|&p| p as f32).collect();
    let out = run_denoise(
        &gpu,
        &kernels.0,
        &kernels.1,
        &w.request(&cfg, &sys, &theta, &grid),
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(out.evaluations, w.steps_per_trajectory());
    assert_eq!(out.integrand.len(), 3);
    assert!(out.proposals.iter().all(|&m| m == 2));
    assert_eq!(outcome_steps(&out), w.steps_per_run());
    // Accepted proposals never exceed the proposals made.
    assert!(out.accepted.iter().flatten().all(|&a| a <= 2));
    // The benchmark's figures: throughput = counted steps / seconds per run.
    let opts = BenchOptions {
        target_seconds: 0.05,
        ..Default::default()
    };
    let r = bench_sampler(&gpu, &kernels, &w, &opts).unwrap();
    assert_eq!(r.kind, "sampler");
    assert_eq!(r.units, "trajectory-steps/s");
    assert_eq!(r.extra["trajectory_steps_per_run"], 45.0);
    assert_eq!(r.extra["nonfinite_runs"], 0.0);
    let per_run = r.extra["gpu_seconds_per_run"];
    assert!((r.gpu.median - 45.0 / per_run).abs() <= 1e-9 * r.gpu.median);
    let acc = r.extra["corrector_acceptance"];
    assert!((0.0..=1.0).contains(&acc), "{acc}");
    assert!(r.cpu_1thread.unwrap() > 0.0 && r.cpu_all_threads.unwrap() > 0.0);
}

#[test]
fn pipeline_workload_reports_stage_times() {
    let Some(gpu) = common::gpu() else { return };
    // A scene with the sampling stage only, a few hundred steps.
    let w = PipelineWorkload {
        name: "test-pipeline".into(),
        scene_file: "test.ron".into(),
        scene_text: r#"Scene(
    name: "bench-test", seed: 5,
    system: (box_length: 6.0, temperature: 1.0, epsilon: 0.8, particles: [10],
             potential: MinimumImage),
    sampler: (replicas: 2, dt: 0.005, equilibration_steps: 100, production_steps: 200,
              record_every: 10, sample_every: 100),
)"#
        .into(),
    };
    let r = bench_pipeline(&gpu, &w, &BenchOptions::default()).unwrap();
    assert_eq!(r.kind, "pipeline");
    assert!(r.cpu_1thread.is_none() && r.ratio_vs_cpu_1thread.is_none());
    let total = r.extra["total_s"];
    assert!((r.gpu.median - 3600.0 / total).abs() < 1e-9 * r.gpu.median);
    let stages = r.extra["sample_s"] + r.extra["report_s"];
    assert!(stages > 0.0 && stages <= total * 1.0001, "{:?}", r.extra);
    assert!(!r.extra.contains_key("train_s"), "{:?}", r.extra);
    let v = serde_json::to_value(&r).unwrap();
    assert!(v["cpu_1thread"].is_null() && v["ratio_vs_cpu_all_threads"].is_null());
    // The bundled quick scene parses and validates.
    let q = PipelineWorkload::quick();
    nti_gpu::scene::Scene::from_str(&q.scene_text, &q.scene_file)
        .unwrap()
        .validate(&q.scene_file)
        .unwrap();
}

// ---------------------------------------------------------------- --compare

fn report(suite_version: u32, workloads: Value) -> Value {
    json!({
        "schema_version": 1, "suite": "quick", "suite_version": suite_version,
        "nti_gpu_version": "0.1.0", "git_commit": "abc",
        "adapter": {"name": "test adapter", "backend": "Vulkan", "device_type": "Cpu"},
        "os": "linux x86_64", "workloads": workloads
    })
}

fn workload(name: &str, gpu: f64, cpu: f64) -> Value {
    json!({
        "name": name, "units": "particle-steps/s",
        "gpu": {"median": gpu, "min": gpu * 0.9, "max": gpu * 1.1},
        "gpu_timestamp": null, "cpu_1thread": cpu, "ratio_vs_cpu_1thread": gpu / cpu,
        "kernels": [{"kernel": "lj_forces", "flops_per_s": gpu * 10.0}],
        "extra": {"first_step_s": 0.5}, "workload": {"n": 200}
    })
}

#[test]
fn compare_prints_both_files_with_ratios() {
    let dir = temp_dir("compare");
    let a = dir.join("a.json");
    let b = dir.join("b.json");
    let ra = report(
        2,
        json!([workload("shared", 1.0e6, 2.0e6), workload("gone", 5.0, 1.0)]),
    );
    let rb = report(
        3,
        json!([workload("shared", 2.5e6, 2.0e6), workload("new", 7.0, 1.0)]),
    );
    std::fs::write(&a, ra.to_string()).unwrap();
    std::fs::write(&b, rb.to_string()).unwrap();
    let out = nti()
        .arg("bench")
        .arg("--compare")
        .arg(&a)
        .arg(&b)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("warning: suite_version differs (a: 2, b: 3)"),
        "{text}"
    );
    assert!(text.contains("only in a: gone"), "{text}");
    assert!(text.contains("only in b: new"), "{text}");
    let line = |prefix: &str| -> Vec<String> {
        let start = text
            .find("shared [particle-steps/s]")
            .expect("shared section");
        text[start..]
            .lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` line:\n{text}"))
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    // gpu.median: 1e6 -> 2.5e6, ratio 2.5; cpu unchanged; kernel figure by kernel name.
    assert_eq!(
        line("gpu.median"),
        ["gpu.median", "1.0000e6", "2.5000e6", "2.500"]
    );
    assert_eq!(line("cpu_1thread")[3], "1.000");
    assert_eq!(line("ratio_vs_cpu_1thread")[3], "2.500");
    assert_eq!(line("kernels.lj_forces.flops_per_s")[3], "2.500");
    assert_eq!(line("extra.first_step_s")[3], "1.000");
    // The figure rows come in order: GPU first.
    let gpu_at = text.find("  gpu.median").unwrap();
    assert!(gpu_at < text.find("  cpu_1thread").unwrap());

    // A file that is not a report is a clear error.
    std::fs::write(&b, "{\"suite\": \"quick\"}").unwrap();
    let out = nti()
        .arg("bench")
        .arg("--compare")
        .arg(&a)
        .arg(&b)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no `workloads` array"), "{err}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn unknown_suite_or_workload_is_an_error_naming_the_choices() {
    let out = nti()
        .args(["bench", "--suite", "quick", "--only", "paper-N200-B2"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no workload `paper-N200-B2`") && err.contains("paper-N200-B64"),
        "{err}"
    );
    let out = nti().args(["bench", "--suite", "huge"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown suite `huge`") && err.contains("quick, standard"),
        "{err}"
    );
}
