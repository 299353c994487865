//! The `results.json` schema: its version ([`SCHEMA_VERSION`]), the keys every stage writes
//! ([`header`]: `schema_version`, `provenance`, `units`, the scene as run with its
//! defaults filled in, the scene hash) and the upgrade of files written under an older
//! schema ([`upgrade`]), which every reader applies (through
//! [`crate::output::read_results`]) so that older output directories are reported and
//! resumed like new ones. docs/results.md documents the keys; docs/results.schema.json
//! describes them as a JSON Schema.

use crate::gpu::AdapterSummary;
use crate::scene::{Estimator, Scene};
use serde_json::{json, Map, Value};

/// The schema this version writes. 1: files without `schema_version` (nti-gpu 0.1.0 before
/// the key existed); 2: one spelling per key (`betaF_ex`, `betamu_ex`), sampler names as
/// their keys, `provenance` and `units` blocks, EOS energies with their units in the key.
pub const SCHEMA_VERSION: u64 = 2;

/// Where the results came from: this build's version and git commit, and the adapter.
pub fn provenance(adapter: &AdapterSummary) -> Value {
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "commit": crate::bench::git_commit(),
        "adapter": adapter,
    })
}

/// The units of every dimensional number in results.json, with the scene's values of kT,
/// ε, σ and the mass in them. Only dimensionless quantities carry their unit in the key
/// (`beta*`: in kT) or in a labelled sub-object (the equations of state).
pub fn units(scene: &Scene) -> Value {
    let s = &scene.system;
    units_of(s.temperature, s.epsilon, s.sigma, s.mass)
}

/// [`units`] from the system's kT, ε, σ and mass.
fn units_of(kt: f64, epsilon: f64, sigma: f64, mass: f64) -> Value {
    json!({
        "energy": "the scene's energy unit, in which kT = system.temperature",
        "kT": kt,
        "epsilon": epsilon,
        "length": "the scene's length unit, in which sigma = system.sigma",
        "sigma": sigma,
        "mass": mass,
        "time": "length * sqrt(mass / energy), the unit of sampler.dt",
        "pressure": "energy / length^3",
        "density": "particles / length^3 (N / L^3); density_reduced is N sigma^3 / V",
        "beta_quantities": "dimensionless: betaF_ex, betamu_ex, betaA_ex and every other key starting with beta are in units of kT",
        "eos": "equation-of-state energies and pressures name their unit: u_ex_per_particle.kT / .epsilon, pressure.kT_per_sigma3 / .epsilon_per_sigma3",
        "errors": "one standard error (1 sigma) unless the key says otherwise",
    })
}

/// The scene as run, every default filled in (`model`: the architecture the scene
/// resolves to, [`Scene::model`]).
pub fn resolved_scene(scene: &Scene) -> Value {
    let mut resolved = scene.clone();
    resolved.model = Some(scene.model());
    serde_json::to_value(&resolved).unwrap_or_default()
}

/// The keys every stage writes into results.json: `schema_version`, `provenance`, `units`,
/// the scene as run (defaults filled in) and its hash.
pub fn header(adapter: &AdapterSummary, scene: &Scene) -> Value {
    json!({
        "schema_version": SCHEMA_VERSION,
        "provenance": provenance(adapter),
        "units": units(scene),
        "scene": resolved_scene(scene),
        "scene_hash": format!("{:016x}", scene.hash()),
    })
}

/// The schema version of a results object: `schema_version`, or 1 when the key is absent.
/// A key that is not a positive integer is refused, naming it.
pub fn schema_version(v: &Value) -> Result<u64, String> {
    match v.get("schema_version") {
        None => Ok(1),
        Some(x) => x.as_u64().filter(|&x| x >= 1).ok_or_else(|| {
            format!("schema_version is {x}, not a positive integer; restore the file's value")
        }),
    }
}

/// `v` (a results.json object of any known schema) in the current schema. An empty object
/// (no results yet) stays empty; a newer schema than this version writes is refused.
pub fn upgrade(mut v: Value) -> Result<Value, String> {
    if v.as_object().is_some_and(|o| o.is_empty()) {
        return Ok(v);
    }
    let version = schema_version(&v)?;
    if version > SCHEMA_VERSION {
        return Err(format!(
            "schema_version {version} was written by a newer nti-gpu (this one reads up to \
             {SCHEMA_VERSION}); use that version, or move the directory away and rerun"
        ));
    }
    if version < 2 {
        upgrade_v1(&mut v);
    }
    Ok(v)
}

/// Moves `from` to `to` in `o` when `from` is there.
fn rename(o: &mut Map<String, Value>, from: &str, to: &str) {
    if let Some(x) = o.remove(from) {
        o.insert(to.into(), x);
    }
}

/// A sampler's serialized name (`"Annealed"`) as its key (`"annealed"`).
fn estimator_key(name: &str) -> Option<&'static str> {
    [
        Estimator::ReverseSde,
        Estimator::Corrected,
        Estimator::Annealed,
        Estimator::ForwardNoise,
    ]
    .into_iter()
    .find(|e| format!("{e:?}") == name || e.key() == name)
    .map(Estimator::key)
}

/// Schema 1 → 2: every rename of docs/results.md's "Schema history".
fn upgrade_v1(v: &mut Value) {
    let Some(o) = v.as_object_mut() else {
        return;
    };
    // provenance
    let version = o.remove("nti_gpu_version");
    let adapter = o.remove("adapter");
    // Late schema-1 files record the commit at the top level.
    let commit = o.remove("commit");
    if version.is_some() || adapter.is_some() {
        o.insert(
            "provenance".into(),
            json!({
                "version": version.unwrap_or(Value::Null),
                "commit": commit.unwrap_or_else(|| json!("unknown")),
                "adapter": adapter.unwrap_or(Value::Null),
            }),
        );
    }
    // The scene with its model defaults, and the units it implies (read field by field:
    // a scene of an older version need not parse as today's).
    if let Some(scene) = o.get_mut("scene").and_then(Value::as_object_mut) {
        if scene.get("model").is_none_or(Value::is_null) {
            let model =
                serde_json::to_value(crate::scene::ModelConfig::default()).unwrap_or_default();
            scene.insert("model".into(), model);
        }
    }
    let system = |k: &str, default: f64| {
        o.get("scene")
            .and_then(|s| s["system"][k].as_f64())
            .unwrap_or(default)
    };
    if o.get("scene")
        .is_some_and(|s| s["system"]["temperature"].is_number())
    {
        let u = units_of(
            system("temperature", f64::NAN),
            system("epsilon", 1.0),
            system("sigma", 1.0),
            system("mass", 1.0),
        );
        o.insert("units".into(), u);
    }
    if let Some(fe) = o.get_mut("free_energy").and_then(Value::as_object_mut) {
        for methods in fe.values_mut().filter_map(Value::as_object_mut) {
            upgrade_methods_v1(methods);
        }
    }
    if let Some(g) = o.get_mut("grand_canonical").and_then(Value::as_object_mut) {
        rename(g, "units", "ideal_gas_units");
        for node in g
            .get_mut("nodes")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object_mut)
        {
            rename(node, "beta_f_ex", "betaF_ex");
        }
        if let Some(p) = g.get_mut("p_n").and_then(Value::as_object_mut) {
            rename(p, "beta_mu", "betamu");
        }
    }
    o.insert("schema_version".into(), json!(2));
}

/// Schema 1 → 2 of one `free_energy.<N>` object.
fn upgrade_methods_v1(methods: &mut Map<String, Value>) {
    for key in ["reverse_sde", "corrected", "annealed", "forward_noise"] {
        let Some(s) = methods.get_mut(key).and_then(Value::as_object_mut) else {
            continue;
        };
        if let Some(name) = s.get("estimator").and_then(Value::as_str) {
            if let Some(k) = estimator_key(name) {
                s.insert("estimator".into(), json!(k));
            }
        }
        if let Some(a) = s.get("ais").and_then(Value::as_object) {
            if a.contains_key("beta_f") {
                let upgraded = json!({
                    "betaF_ex": {"mean": a["beta_f"], "err": a["err"], "delta_err": a["delta_err"]},
                    "ess": a["ess"],
                    "ess_fraction": a["ess_fraction"],
                    "trajectories": a["n"],
                });
                s.insert("ais".into(), upgraded);
            }
        }
        if let Some(w) = s.get("weighted_ti").filter(|w| w.get("mean").is_some()) {
            let upgraded = json!({ "betaF_ex": w });
            s.insert("weighted_ti".into(), upgraded);
        }
    }
    if let Some(t) = methods.get_mut("lambda_ti").and_then(Value::as_object_mut) {
        t.remove("betaf_ex");
        t.remove("energy_evaluations");
        rename(t, "betaf_ex_unreliable", "betaF_ex_unreliable");
        rename(t, "ti_betaf_span", "ti_betaF_span");
        rename(t, "mbar_betaf_span", "mbar_betaF_span");
    }
    if let Some(m) = methods.get_mut("mbar").and_then(Value::as_object_mut) {
        if let Some(q) = m.get("quantity").and_then(Value::as_str) {
            let q = q.replace("ti_betaf_span", "ti_betaF_span");
            m.insert("quantity".into(), json!(q));
        }
    }
    if let Some(w) = methods.get_mut("widom").and_then(Value::as_object_mut) {
        w.remove("betamu_ex");
        w.remove("energy_evaluations");
    }
    if let Some(e) = methods.get_mut("eos").and_then(Value::as_object_mut) {
        let t_star = e.get("temperature_reduced").and_then(Value::as_f64);
        for fit in ["kolafa_nezbeda", "johnson"] {
            if let (Some(p), Some(t)) = (e.get_mut(fit).and_then(Value::as_object_mut), t_star) {
                if let Some(u) = p.remove("u_per_particle").and_then(|u| u.as_f64()) {
                    p.insert(
                        "u_ex_per_particle".into(),
                        json!({"kT": u / t, "epsilon": u}),
                    );
                }
                if let Some(x) = p.remove("pressure").and_then(|x| x.as_f64()) {
                    p.insert(
                        "pressure".into(),
                        json!({"kT_per_sigma3": x / t, "epsilon_per_sigma3": x}),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_current_files_pass_unchanged() {
        assert_eq!(upgrade(json!({})).unwrap(), json!({}));
        let v2 = json!({"schema_version": 2, "free_energy": {"40": {"widom": {"betamu_ex": 1}}}});
        assert_eq!(upgrade(v2.clone()).unwrap(), v2);
    }

    #[test]
    fn newer_or_malformed_versions_are_refused_naming_the_key() {
        let e = upgrade(json!({"schema_version": 3})).unwrap_err();
        assert!(e.contains("schema_version 3") && e.contains("newer"), "{e}");
        let e = upgrade(json!({"schema_version": "two"})).unwrap_err();
        assert!(e.contains("schema_version"), "{e}");
    }

    #[test]
    fn version_1_keys_are_renamed() {
        let v1 = json!({
            "nti_gpu_version": "0.1.0",
            "adapter": {"name": "a"},
            "free_energy": {"40": {
                "annealed": {"estimator": "Annealed",
                             "ais": {"beta_f": -1.5, "err": 0.1, "delta_err": 0.2, "ess": 3.0,
                                     "ess_fraction": 0.5, "n": 6},
                             "weighted_ti": {"mean": -1.4, "err": 0.3, "bootstrap_err": null, "n": 6}},
                "lambda_ti": {"mean": -2.0, "err": 0.1, "betaf_ex": {"mean": -2.0, "err": 0.1},
                              "ti_betaf_span": {"mean": -1.0, "err": 0.1},
                              "mbar_betaf_span": {"mean": -1.1, "err": 0.1},
                              "energy_evaluations": 5, "cost": {"energy_evaluations": 5}},
                "widom": {"mean": 0.5, "err": 0.01, "betamu_ex": {"mean": 0.5, "err": 0.01},
                          "energy_evaluations": 7, "cost": {"energy_evaluations": 7}},
                "eos": {"temperature_reduced": 1.25,
                        "kolafa_nezbeda": {"u_per_particle": -1.5, "pressure": 0.125}},
            }},
            "grand_canonical": {"units": {"kt": 1.0}, "nodes": [{"n": 0, "beta_f_ex": 0.0, "err": 0.0}],
                                "p_n": {"beta_mu": -3.0}},
        });
        let v = upgrade(v1).unwrap();
        assert_eq!(v["schema_version"], 2);
        assert_eq!(v["provenance"]["version"], "0.1.0");
        assert_eq!(v["provenance"]["adapter"]["name"], "a");
        assert_eq!(v["provenance"]["commit"], "unknown");
        assert!(v.get("adapter").is_none() && v.get("nti_gpu_version").is_none());
        // A late schema-1 file's top-level commit moves into the provenance.
        let late =
            upgrade(json!({"nti_gpu_version": "0.1.0", "commit": "abc", "schema_version": 1}))
                .unwrap();
        assert_eq!(late["provenance"]["commit"], "abc");
        assert!(late.get("commit").is_none());
        let a = &v["free_energy"]["40"]["annealed"];
        assert_eq!(a["estimator"], "annealed");
        assert_eq!(a["ais"]["betaF_ex"]["mean"], -1.5);
        assert_eq!(a["ais"]["trajectories"], 6);
        assert_eq!(a["weighted_ti"]["betaF_ex"]["mean"], -1.4);
        let t = &v["free_energy"]["40"]["lambda_ti"];
        assert!(t.get("betaf_ex").is_none() && t.get("energy_evaluations").is_none());
        assert_eq!(t["ti_betaF_span"]["mean"], -1.0);
        assert_eq!(t["mbar_betaF_span"]["mean"], -1.1);
        let w = &v["free_energy"]["40"]["widom"];
        assert!(w.get("betamu_ex").is_none() && w.get("energy_evaluations").is_none());
        assert_eq!(w["mean"], 0.5);
        let kn = &v["free_energy"]["40"]["eos"]["kolafa_nezbeda"];
        assert_eq!(kn["u_ex_per_particle"]["epsilon"], -1.5);
        assert_eq!(kn["u_ex_per_particle"]["kT"], -1.2);
        assert_eq!(kn["pressure"]["kT_per_sigma3"], 0.1);
        let g = &v["grand_canonical"];
        assert_eq!(g["ideal_gas_units"]["kt"], 1.0);
        assert_eq!(g["nodes"][0]["betaF_ex"], 0.0);
        assert_eq!(g["p_n"]["betamu"], -3.0);
    }
}
