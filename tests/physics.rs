//! Physics above parity: two-particle LJ on the device, NVE energy conservation, Langevin
//! temperature, and <U>/N and P against independent LAMMPS/OpenMM and Monte Carlo values
//! (tests/data, copied from the project's reference set).

mod common;

use common::gpu;
use nti_gpu::md::sampler::run_reference;
use nti_gpu::md::{MdConfig, MdKernels, MdSystem, PairSearch};
use nti_gpu::scene::LjParams;
use nti_gpu::scene::Scene;
use std::sync::Arc;

#[test]
fn two_particles_match_the_analytic_pair_term() {
    let Some(g) = gpu() else { return };
    let kernels = Arc::new(MdKernels::new(&g).unwrap());
    let eps = 0.8;
    let lj = LjParams {
        epsilon: eps,
        sigma: 1.0,
        cutoff: None,
        shift: false,
        box_length: 6.0,
    };
    // Pairs at r along x, one of them straddling the periodic boundary.
    for (x0, x1) in [
        (1.0, 2.0),
        (1.0, 2.122_462_048_309_373),
        (2.0, 3.5),
        (0.3, 5.5),
    ] {
        let r: f64 = {
            let d = x1 - x0;
            (d - 6.0 * (d / 6.0_f64).round()).abs()
        };
        let cfg = MdConfig {
            n: 2,
            replicas: 1,
            lj,
            kt: 1.0,
            mass: 1.0,
            dt: 0.005,
            friction: 1.0,
            seed: 1,
            search: PairSearch::AllPairs,
            gr_bins: 10,
            gr_max: 3.0,
            neighbor_capacity: None,
            alchemy: None,
        };
        let sys = MdSystem::new(
            &g,
            kernels.clone(),
            cfg,
            &[[x0, 3.0, 3.0], [x1, 3.0, 3.0]],
            &[[0.0; 3]; 2],
        )
        .unwrap();
        let f = sys.read_forces(&g).unwrap();
        let u = 4.0 * eps * (r.powi(-12) - r.powi(-6));
        let du = 4.0 * eps * (-12.0 * r.powi(-13) + 6.0 * r.powi(-7));
        let e = (f[0][3] + f[1][3]) as f64;
        assert!(
            (e - u).abs() < 1e-5 * u.abs().max(1e-3),
            "r = {r}: U = {e}, expected {u}"
        );
        // Force on particle 1 along +x (from 0 to 1, minimum image) is -u'(r).
        let dir = {
            let d = x1 - x0;
            (d - 6.0 * (d / 6.0_f64).round()).signum()
        };
        let f1 = f[1][0] as f64 * dir;
        assert!(
            (f1 + du).abs() < 1e-5 * du.abs().max(1e-3),
            "r = {r}: F = {f1}, expected {}",
            -du
        );
        assert!(
            ((f[0][0] + f[1][0]) as f64).abs() < 1e-5 * du.abs().max(1e-3),
            "Newton's third law"
        );
    }
}

fn scene(text: &str) -> Scene {
    let s = Scene::from_str(text, "test").unwrap();
    s.validate("test").unwrap();
    s
}

#[test]
fn nve_energy_drift_is_bounded_over_ten_thousand_steps() {
    let Some(g) = gpu() else { return };
    let kernels = Arc::new(MdKernels::new(&g).unwrap());
    // rho = 0.8, shifted cutoff 2.5 (the conserved energy needs a continuous potential).
    let n = 500u32;
    let l = (n as f64 / 0.8).cbrt();
    let (pos, vel) = nti_gpu::md::init::initial_state(n, 1, l, 1.5, 1.0, 3);
    let cfg = MdConfig {
        n,
        replicas: 1,
        lj: LjParams {
            epsilon: 1.0,
            sigma: 1.0,
            cutoff: Some(2.5),
            shift: true,
            box_length: l,
        },
        kt: 1.5,
        mass: 1.0,
        dt: 0.005,
        friction: 0.0,
        seed: 1,
        search: PairSearch::CellList { skin: 0.3 },
        gr_bins: 10,
        gr_max: 2.5,
        neighbor_capacity: None,
        alchemy: None,
    };
    let sys = MdSystem::new(&g, kernels, cfg, &pos, &vel).unwrap();
    // Let the lattice melt first (energy is conserved from the start, but the first steps
    // have the largest forces).
    let energy = |sys: &MdSystem| {
        sys.submit_pass(&g, |pass| sys.record_reduce(pass));
        let o = sys.read_obs(&g).unwrap()[0];
        (o[0] + o[4]) / n as f64
    };
    sys.run(&g, 500).unwrap();
    let e0 = energy(&sys);
    let mut worst: f64 = 0.0;
    let mut last = e0;
    for _ in 0..20 {
        sys.run(&g, 500).unwrap();
        last = energy(&sys);
        worst = worst.max((last - e0).abs());
    }
    let c = sys.control(&g).unwrap();
    assert_eq!(c.step, 10_500);
    assert!(
        c.rebuilds > 10,
        "the neighbour list must have been rebuilt ({})",
        c.rebuilds
    );
    eprintln!("NVE: E/N start {e0:.6}, end {last:.6}, max |dE|/N = {worst:.2e}");
    assert!(
        worst < 2e-3,
        "energy drift {worst} per particle over 10^4 steps"
    );
}

fn state_point(rho: f64, t: f64, replicas: u32, equil: u64, prod: u64, seed: u64) -> String {
    format!(
        r#"Scene(
    name: "sp", seed: {seed},
    system: (box_length: {l}, temperature: {t}, particles: [500],
             potential: Truncated(cutoff: 2.5, shift: false)),
    sampler: (replicas: {replicas}, dt: 0.005, friction: 1.0,
              equilibration_steps: {equil}, production_steps: {prod},
              record_every: 10, sample_every: 1000, neighbor: CellList),
)"#,
        l = (500.0 / rho).cbrt()
    )
}

/// (rho, T, <U>/N, err, P, err) of LAMMPS and OpenMM in tests/data/lj_md_rc2.5.csv.
fn md_reference() -> Vec<(f64, f64, f64, f64, f64, f64, String)> {
    let text = include_str!("data/lj_md_rc2.5.csv");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("engine"))
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            let f = |k: usize| c[k].parse::<f64>().unwrap();
            (f(2), f(3), f(4), f(5), f(6), f(7), c[0].to_string())
        })
        .collect()
}

#[test]
fn langevin_md_matches_lammps_and_openmm_within_3_sigma() {
    let Some(g) = gpu() else { return };
    let kernels = Arc::new(MdKernels::new(&g).unwrap());
    let refs = md_reference();
    assert_eq!(refs.len(), 6);
    for (rho, t) in [(0.8, 2.0), (0.5, 2.0), (0.8, 1.2)] {
        let s = scene(&state_point(rho, t, 8, 1500, 4000, 17));
        let out = run_reference(&g, kernels.clone(), &s, 500, |_, _| {}).unwrap();
        let sum = out.summary();
        let (u, p, temp) = (
            sum.potential_energy_per_particle,
            sum.pressure,
            sum.temperature,
        );
        eprintln!(
            "rho {rho} T {t}: U/N {:.4} ± {:.4}  P {:.4} ± {:.4}  T {:.4} ± {:.4}",
            u.mean, u.err, p.mean, p.err, temp.mean, temp.err
        );
        // Kinetic temperature within error of the thermostat: 4 sigma, because CI makes
        // fifteen such comparisons per run and the trajectories differ from run to run (the
        // cell list's atomic slot order changes the force summation order). A 1 % error of
        // the thermostat is about 5 sigma here and still fails.
        assert!(
            (temp.mean - t).abs() < 4.0 * temp.err + 1e-3,
            "T = {} ± {}",
            temp.mean,
            temp.err
        );
        for (r_rho, r_t, r_u, r_ue, r_p, r_pe, engine) in
            refs.iter().filter(|r| r.0 == rho && r.1 == t)
        {
            let _ = (r_rho, r_t);
            let du = (u.mean - r_u).abs();
            let dp = (p.mean - r_p).abs();
            assert!(
                du < 3.0 * (u.err + r_ue),
                "{engine} rho {rho} T {t}: U/N {} vs {r_u}",
                u.mean
            );
            assert!(
                dp < 3.0 * (p.err + r_pe),
                "{engine} rho {rho} T {t}: P {} vs {r_p}",
                p.mean
            );
        }
    }
}

#[test]
fn paper_system_n40_matches_monte_carlo() {
    let Some(g) = gpu() else { return };
    let kernels = Arc::new(MdKernels::new(&g).unwrap());
    let reference: serde_json::Value =
        serde_json::from_str(include_str!("data/lj_paper_system_N40.json")).unwrap();
    let r = &reference["per_N"]["40"];
    let s = scene(
        r#"Scene(
    name: "paper", seed: 5,
    system: (box_length: 6.0, temperature: 1.0, epsilon: 0.8, particles: [40],
             potential: MinimumImage),
    sampler: (replicas: 128, dt: 0.005, equilibration_steps: 4000, production_steps: 6000,
              record_every: 10, sample_every: 500),
)"#,
    );
    let out = run_reference(&g, kernels, &s, 40, |_, _| {}).unwrap();
    let sum = out.summary();
    let (u, p) = (sum.potential_energy_per_particle, sum.pressure);
    let (ru, rue) = (r["U_per_N"].as_f64().unwrap(), r["U_err"].as_f64().unwrap());
    let (rp, rpe) = (r["P"].as_f64().unwrap(), r["P_err"].as_f64().unwrap());
    eprintln!("N = 40: U/N {:.4} ± {:.4} (MC {ru:.4} ± {rue:.4}); P {:.5} ± {:.5} (MC {rp:.5} ± {rpe:.5})",
        u.mean, u.err, p.mean, p.err);
    assert!((u.mean - ru).abs() < 3.0 * (u.err + rue));
    assert!((p.mean - rp).abs() < 3.0 * (p.err + rpe));
    assert_eq!(sum.samples, 128 * 12);
    // g(r): no pair inside the core, a first peak near 2^(1/6) sigma.
    let gr = out.gr();
    assert!(gr.iter().filter(|(r, _)| *r < 0.8).all(|(_, g)| *g == 0.0));
    let peak = gr
        .iter()
        .cloned()
        .fold((0.0, 0.0), |a, b| if b.1 > a.1 { b } else { a });
    assert!((peak.0 - 1.12).abs() < 0.1, "first peak at {}", peak.0);
}
