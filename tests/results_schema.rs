//! results.json against its JSON Schema (docs/results.schema.json, draft 2020-12): a tiny
//! real run's file, and files of schema 1 (no `schema_version`) after the upgrade every
//! reader applies; the upgraded file is reported and resumed like a new one.

mod common;

use nti_gpu::output::{merge_results, read_results};
use nti_gpu::results::{upgrade, SCHEMA_VERSION};
use nti_gpu::scene::Scene;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn manifest(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn validator() -> jsonschema::Validator {
    let schema = read_json(&manifest("docs/results.schema.json"));
    jsonschema::draft202012::new(&schema).expect("docs/results.schema.json is a valid schema")
}

/// Every violation, one per line with its place in the document.
fn violations(v: &Value) -> Vec<String> {
    validator()
        .iter_errors(v)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nti-schema-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const V1: &str = "tests/data/results_v1_dense.json";

#[test]
fn a_version_1_file_is_refused_by_the_schema_and_valid_once_upgraded() {
    let v1 = read_json(&manifest(V1));
    assert!(v1.get("schema_version").is_none());
    let before = violations(&v1);
    // The old spellings are what the schema refuses.
    let all = before.join("\n");
    for old in [
        "schema_version",
        "nti_gpu_version",
        "beta_f",
        "betaf_ex",
        "u_per_particle",
    ] {
        assert!(all.contains(old), "{old} not flagged:\n{all}");
    }
    let v2 = upgrade(v1.clone()).unwrap();
    let after = violations(&v2);
    assert!(after.is_empty(), "{}", after.join("\n"));
    assert_eq!(v2["schema_version"], SCHEMA_VERSION);
    // Values move, they do not change.
    let (old, new) = (&v1["free_energy"]["120"], &v2["free_energy"]["120"]);
    assert_eq!(
        new["lambda_ti"]["mean"],
        old["lambda_ti"]["betaf_ex"]["mean"]
    );
    assert_eq!(
        new["lambda_ti"]["ti_betaF_span"],
        old["lambda_ti"]["ti_betaf_span"]
    );
    assert_eq!(
        new["annealed"]["ais"]["betaF_ex"]["mean"],
        old["annealed"]["ais"]["beta_f"]
    );
    assert_eq!(new["annealed"]["estimator"], "annealed");
    assert_eq!(new["widom"]["mean"], old["widom"]["betamu_ex"]["mean"]);
    let t_star = old["eos"]["temperature_reduced"].as_f64().unwrap();
    let u_eps = old["eos"]["kolafa_nezbeda"]["u_per_particle"]
        .as_f64()
        .unwrap();
    let kn = &new["eos"]["kolafa_nezbeda"]["u_ex_per_particle"];
    assert_eq!(kn["epsilon"].as_f64().unwrap(), u_eps);
    assert!((kn["kT"].as_f64().unwrap() - u_eps / t_star).abs() < 1e-12);
    assert_eq!(v2["provenance"]["adapter"], v1["adapter"]);
    assert_eq!(v2["provenance"]["version"], v1["nti_gpu_version"]);
    assert_eq!(
        v2["scene"]["model"]["hidden"], 64,
        "model defaults filled in"
    );
    assert_eq!(v2["units"]["epsilon"], 0.8);
    assert_eq!(v2["grand_canonical"]["nodes"][2]["betaF_ex"], old_node(&v1));
}

fn old_node(v1: &Value) -> Value {
    v1["grand_canonical"]["nodes"][2]["beta_f_ex"].clone()
}

/// Every results.json of schema 1 kept in benches/results (the bench reports there have
/// their own schema) validates once upgraded.
#[test]
fn every_committed_version_1_results_file_upgrades_to_a_valid_one() {
    let mut checked = 0;
    for entry in std::fs::read_dir(manifest("benches/results")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let v = read_json(&path);
        if v.get("suite").is_some() || v.get("free_energy").is_none() {
            continue;
        }
        let errors = violations(&upgrade(v).unwrap());
        assert!(
            errors.is_empty(),
            "{}:\n{}",
            path.display(),
            errors.join("\n")
        );
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} results files found");
}

/// An output directory written before the schema existed: `nti-gpu report` reads it, and a
/// resumed run that merges new keys into it leaves a file of the current schema.
#[test]
fn a_version_1_directory_is_reported_and_resumed() {
    let dir = temp_dir("v1dir");
    std::fs::copy(manifest(V1), dir.join("results.json")).unwrap();
    let v1 = read_json(&dir.join("results.json"));
    let scene: Scene = serde_json::from_value(v1["scene"].clone()).unwrap();
    nti_gpu::report::summary::write_report(&scene, &dir).unwrap();
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    // λ-TI (-160.66 ± 0.60) and AIS (-158.6 ± 0.56) of N = 120, the adapter of provenance.
    assert!(
        report.contains("-160.66") || report.contains("−160.66"),
        "{report}"
    );
    assert!(
        report.contains("-158.6") || report.contains("−158.6"),
        "{report}"
    );
    assert!(report.contains("llvmpipe"), "{report}");
    // The file itself is still schema 1 until a stage writes into it ...
    assert!(read_json(&dir.join("results.json"))
        .get("schema_version")
        .is_none());
    assert_eq!(
        read_results(&dir.join("results.json")).unwrap()["schema_version"],
        SCHEMA_VERSION
    );
    // ... then all of it is the current schema.
    merge_results(&dir, serde_json::json!({"wall_time_s": {"report": 1.0}})).unwrap();
    let now = read_json(&dir.join("results.json"));
    let errors = violations(&now);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert_eq!(
        now["free_energy"]["160"]["lambda_ti"]["mean"],
        v1["free_energy"]["160"]["lambda_ti"]["mean"]
    );
    assert!(now.get("adapter").is_none());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A file of a newer schema is refused by name, not overwritten.
#[test]
fn a_newer_schema_is_refused_naming_the_key() {
    let dir = temp_dir("newer");
    std::fs::write(dir.join("results.json"), r#"{"schema_version": 99}"#).unwrap();
    let e = merge_results(&dir, serde_json::json!({"x": 1}))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("schema_version 99") && e.contains("results.json"),
        "{e}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("results.json")).unwrap(),
        r#"{"schema_version": 99}"#
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A tiny run with every stage and baseline writes a results.json the schema accepts, with
/// the provenance, units and resolved model of the current schema.
#[test]
fn a_real_run_validates_against_the_schema() {
    let Some(gpu) = common::gpu() else { return };
    let text = r#"Scene(
    name: "schema", seed: 11,
    system: (box_length: 4.0, temperature: 1.0, epsilon: 0.8, particles: [6],
             potential: MinimumImage),
    sampler: (replicas: 4, dt: 0.005, equilibration_steps: 200, production_steps: 400,
              record_every: 10, sample_every: 100),
    baselines: (widom: (insertions: 50), eos: true,
                lambda_ti: (windows: 3, replicas_per_window: 2, equilibration_steps: 100,
                            production_steps: 200, sample_every: 50)),
    model: (k_radial: 6, vector_channels: 2, time_frequencies: 1, hidden: 16),
    training: (steps: 20, batch: 8, log_every: 10, checkpoint_every: 10),
    integration: (trajectories: 16, steps: 6, correctors: 1, populations: 2, resample: 1.0,
                  chemical_potential: true),
)"#;
    let scene = Scene::from_str(text, "schema.ron").unwrap();
    scene.validate("schema.ron").unwrap();
    let dir = temp_dir("run");
    nti_gpu::stages::run_scene(&gpu, &scene, &dir, false, &mut nti_gpu::stages::NoProgress)
        .unwrap();
    let v = read_json(&dir.join("results.json"));
    let errors = violations(&v);
    assert!(errors.is_empty(), "{}\n{v:#}", errors.join("\n"));
    assert_eq!(v["schema_version"], SCHEMA_VERSION);
    assert_eq!(v["provenance"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["provenance"]["commit"], nti_gpu::bench::git_commit());
    assert_eq!(
        v["provenance"]["adapter"]["name"],
        gpu.adapter.name.as_str()
    );
    assert_eq!(v["units"]["kT"], 1.0);
    assert_eq!(v["scene"]["model"]["hidden"], 16);
    let fe = &v["free_energy"]["6"];
    for key in [
        "widom",
        "lambda_ti",
        "mbar",
        "eos",
        "corrected",
        "annealed",
        "neural_ti",
    ] {
        assert!(fe.get(key).is_some(), "free_energy.6.{key} missing: {fe}");
    }
    assert_eq!(fe["corrected"]["estimator"], "corrected");
    // The EOS of a minimum-image box names the pair energy it leaves out (attractive).
    assert!(
        fe["eos"]["long_range_outside_box"]["betaU"]
            .as_f64()
            .unwrap()
            < 0.0
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
