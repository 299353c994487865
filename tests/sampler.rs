//! The sampler's bookkeeping: a neighbour-list overflow in the middle of a run rolls back,
//! grows the list and redoes the chunk, leaving the same trajectory as a run that never
//! overflowed (up to the f32 rounding of one extra list rebuild, which changes the order of
//! force summation); outputs and sample files.

mod common;

use common::gpu;
use nti_gpu::md::sampler::{md_config, run_reference, run_reference_with};
use nti_gpu::md::MdKernels;
use nti_gpu::reference::cell_list::neighbors_brute_force;
use nti_gpu::scene::Scene;
use std::sync::Arc;

/// The scene of `text`, parsed and validated.
fn valid_scene(text: &str) -> Scene {
    let s = Scene::from_str(text, "test").unwrap();
    s.validate("test").unwrap();
    s
}

fn fluid_scene(steps: u64) -> Scene {
    let text = format!(
        r#"Scene(
    name: "overflow", seed: 9,
    system: (box_length: {l}, temperature: 2.0, particles: [500],
             potential: Truncated(cutoff: 2.5, shift: false)),
    sampler: (replicas: 2, dt: 0.005, equilibration_steps: 0, production_steps: {steps},
              record_every: 10, sample_every: 100, neighbor: CellList, skin: 0.3),
)"#,
        l = (500.0f64 / 0.8).cbrt()
    );
    valid_scene(&text)
}

#[test]
fn neighbor_overflow_rolls_back_and_is_invisible_in_the_trajectory() {
    let Some(g) = gpu() else { return };
    let kernels = Arc::new(MdKernels::new(&g).unwrap());
    // Melt the lattice first.
    let melt = run_reference(&g, kernels.clone(), &fluid_scene(300), 500, |_, _| {}).unwrap();
    let pos: Vec<[f64; 3]> = melt
        .system
        .read_positions(&g)
        .unwrap()
        .iter()
        .map(|p| [p[0] as f64, p[1] as f64, p[2] as f64])
        .collect();
    let vel: Vec<[f64; 3]> = melt
        .system
        .read_velocities(&g)
        .unwrap()
        .iter()
        .map(|p| [p[0] as f64, p[1] as f64, p[2] as f64])
        .collect();
    let scene = fluid_scene(300);
    let config = md_config(&scene, 500);
    let l = config.lj.box_length;
    // Capacity exactly the largest list of the starting configuration: the first build
    // fits, a later one will not.
    let tight = pos
        .chunks(500)
        .flat_map(|rep| neighbors_brute_force(rep, l, 2.8))
        .map(|s| s.len() as u32)
        .max()
        .unwrap();
    let roomy = run_reference_with(
        &g,
        kernels.clone(),
        &scene,
        config.clone(),
        &pos,
        &vel,
        |_, _| {},
    )
    .unwrap();
    let mut tight_config = config.clone();
    tight_config.neighbor_capacity = Some(tight);
    let squeezed =
        run_reference_with(&g, kernels, &scene, tight_config, &pos, &vel, |_, _| {}).unwrap();
    assert!(
        squeezed.max_neighbors > tight,
        "the list never overflowed (capacity {tight}); the test did not exercise the rollback"
    );
    assert!(roomy.max_neighbors >= squeezed.max_neighbors || roomy.max_neighbors > tight);
    // A step computed with a truncated list would miss pair terms of order 0.01-1 in the
    // energy; rounding differences stay orders of magnitude below that over 300 steps.
    let a = roomy.system.read_positions(&g).unwrap();
    let b = squeezed.system.read_positions(&g).unwrap();
    let worst = a
        .iter()
        .zip(&b)
        .flat_map(|(p, q)| {
            (0..3).map(move |k| {
                let d = (p[k] - q[k]) as f64;
                (d - l * (d / l).round()).abs()
            })
        })
        .fold(0.0, f64::max);
    assert!(worst < 1e-2, "positions differ by {worst} after a rollback");
    for (ra, rb) in roomy.records.iter().zip(&squeezed.records) {
        for (x, y) in ra.iter().zip(rb) {
            assert!(
                (x[0] - y[0]).abs() < 1e-3 * x[0].abs(),
                "energy {} vs {}",
                x[0],
                y[0]
            );
        }
    }
    assert_eq!(roomy.records.len(), squeezed.records.len());
}

#[test]
fn sample_stage_writes_results_samples_and_gr() {
    let Some(g) = gpu() else { return };
    let text = r#"Scene(
    name: "stage", seed: 3,
    system: (box_length: 6.0, temperature: 1.0, epsilon: 0.8, particles: [20, 21],
             potential: MinimumImage),
    sampler: (replicas: 4, dt: 0.005, equilibration_steps: 100, production_steps: 400,
              record_every: 10, sample_every: 100),
)"#;
    let scene = Scene::from_str(text, "t").unwrap();
    scene.validate("t").unwrap();
    let dir = std::env::temp_dir().join(format!("nti-stage-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    nti_gpu::stages::sample::sample_stage(
        &g,
        &scene,
        &dir,
        false,
        &mut nti_gpu::stages::NoProgress,
    )
    .unwrap();
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    for n in ["20", "21"] {
        let r = &results["reference"][n];
        for key in ["potential_energy_per_particle", "pressure", "temperature"] {
            assert!(
                r[key]["mean"].is_f64() && r[key]["err"].as_f64().unwrap() > 0.0,
                "{n} {key}"
            );
        }
        assert_eq!(r["samples"], 16);
        assert!(r["tau_int"].as_f64().unwrap() >= 5.0);
        let set =
            nti_gpu::dataset::SampleSet::read(&dir.join(format!("samples_N{n}.ntis"))).unwrap();
        assert_eq!(set.frames, 4);
        assert_eq!(set.replicas, 4);
        assert_eq!(set.scene_hash, scene.hash());
        assert!(set
            .positions
            .iter()
            .all(|p| p.iter().all(|&x| (0.0..6.0).contains(&x))));
        // Every kept configuration: 4 frames of 4 replicas.
        let xyz = std::fs::read_to_string(dir.join(format!("samples_N{n}.xyz"))).unwrap();
        assert_eq!(xyz.lines().count(), 16 * (2 + n.parse::<usize>().unwrap()));
        assert!(dir.join(format!("gr_N{n}.csv")).exists());
        // The thermo log: one row per record of the production phase (400 / 10), from
        // step 110 (after 100 equilibration steps), time = step × dt; its mean U/N and T
        // over the rows are the summary's (the same records; the block average drops a few
        // leading records, so within its error).
        assert_eq!(r["files"]["thermo"], format!("thermo_N{n}.csv"));
        let thermo = std::fs::read_to_string(dir.join(format!("thermo_N{n}.csv"))).unwrap();
        let mut lines = thermo.lines();
        assert_eq!(
            lines.next(),
            Some("step,time,u_per_particle,u_per_particle_sem,pressure,pressure_sem,temperature,temperature_sem")
        );
        let rows: Vec<Vec<f64>> = lines
            .map(|l| l.split(',').map(|c| c.parse().unwrap()).collect())
            .collect();
        assert_eq!(rows.len(), 40);
        assert_eq!((rows[0][0], rows[39][0]), (110.0, 500.0));
        assert!((rows[0][1] - 110.0 * 0.005).abs() < 1e-12);
        let mean = |c: usize| rows.iter().map(|r| r[c]).sum::<f64>() / rows.len() as f64;
        for (c, key) in [(2, "potential_energy_per_particle"), (6, "temperature")] {
            let (m, e) = (
                r[key]["mean"].as_f64().unwrap(),
                r[key]["err"].as_f64().unwrap(),
            );
            assert!((mean(c) - m).abs() < e, "{key}: {} vs {m} ± {e}", mean(c));
        }
    }
    assert!(results["provenance"]["adapter"]["name"].is_string());
    assert!(results["provenance"]["adapter"]["backend"].is_string());
    assert!(results["provenance"]["adapter"]["driver"].is_string());
    assert!(results
        .get("reference")
        .and_then(|r| r.get("20"))
        .and_then(|r| r.get("tail_corrected"))
        .is_none());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cell_list_trajectories_are_reproducible_run_to_run() {
    let Some(g) = gpu() else { return };
    let kernels = Arc::new(MdKernels::new(&g).unwrap());
    let scene = fluid_scene(300);
    let a = run_reference(&g, kernels.clone(), &scene, 500, |_, _| {}).unwrap();
    let b = run_reference(&g, kernels, &scene, 500, |_, _| {}).unwrap();
    assert!(a.system.uses_cells());
    assert!(a.rebuilds > 10);
    let pa = a.system.read_positions(&g).unwrap();
    let pb = b.system.read_positions(&g).unwrap();
    assert!(pa == pb, "two runs of the same scene differ");
    assert_eq!(a.records, b.records);
}

fn paper_box_scene(sampling: &str) -> Scene {
    let text = format!(
        r#"Scene(
    name: "tau", seed: 5,
    system: (box_length: 6.0, temperature: 1.0, epsilon: 0.8, particles: [40],
             potential: MinimumImage),
    sampler: (replicas: 4, dt: 0.005, record_every: 10, {sampling}),
)"#
    );
    valid_scene(&text)
}

#[test]
fn production_sized_by_tau_int_is_the_fixed_run_it_chose() {
    let Some(g) = gpu() else { return };
    let kernels = Arc::new(MdKernels::new(&g).unwrap());
    // 1 000 steps of equilibration, the second half measuring tau_int; 5 configurations
    // per replica (production_steps / sample_every), 2 tau_int apart.
    let auto = paper_box_scene(
        "equilibration_steps: 1000, production_steps: 500, sample_every: 100, tau_spacing: 2.0",
    );
    let mut totals = Vec::new();
    let a = run_reference(&g, kernels.clone(), &auto, 40, |_, t| totals.push(t)).unwrap();
    let tau = a.pilot_tau_int.expect("a pilot tau_int");
    assert!(tau > 0.0 && tau.is_finite(), "{tau}");
    let sized = nti_gpu::md::sampler::sized_by_tau(&auto.sampler, tau, 2.0);
    assert_eq!(a.sample_every, sized.sample_every);
    assert!(a.sample_every as f64 >= 2.0 * tau && a.sample_every % 10 == 0);
    assert_eq!(a.frames, 5);
    assert_eq!(a.steps, 1000 + 5 * a.sample_every as u64);
    // Progress: the first guess, then the run's length once tau_int is known.
    assert_eq!(totals.first(), Some(&1500));
    assert_eq!(totals.last(), Some(&a.steps));
    // The same trajectory as a fixed schedule with that spacing: equal kept samples.
    let fixed = paper_box_scene(&format!(
        "equilibration_steps: 1000, production_steps: {}, sample_every: {}",
        sized.production_steps, sized.sample_every
    ));
    let b = run_reference(&g, kernels, &fixed, 40, |_, _| {}).unwrap();
    assert!(b.pilot_tau_int.is_none());
    let (sa, sb) = (
        a.sample_set(&g, &auto).unwrap(),
        b.sample_set(&g, &fixed).unwrap(),
    );
    assert_eq!(sa.positions, sb.positions);
    assert_eq!(a.records, b.records);
    let summary = a.summary();
    assert_eq!(summary.tau_int_pilot, Some(tau));
    assert_eq!(summary.samples, 20);
}

#[test]
fn tau_spacing_is_checked() {
    for (sampling, field) in [
        (
            "equilibration_steps: 1000, production_steps: 500, tau_spacing: 0.0",
            "sampler.tau_spacing",
        ),
        (
            "equilibration_steps: 10, production_steps: 500, tau_spacing: 2.0",
            "sampler.equilibration_steps",
        ),
    ] {
        let text = format!(
            r#"Scene(name: "t", seed: 1,
    system: (box_length: 6.0, temperature: 1.0, particles: [40], potential: MinimumImage),
    sampler: (replicas: 2, dt: 0.005, record_every: 10, {sampling}))"#
        );
        let e = Scene::from_str(&text, "t.ron")
            .and_then(|s| s.validate("t.ron"))
            .unwrap_err()
            .to_string();
        assert!(e.contains(field), "{e}");
    }
}
