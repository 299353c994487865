//! Parity of every MD kernel with its f64 CPU reference in `src/reference/` on small random
//! inputs: forces, energies and virial to relative 1e-5; cell counts, neighbour sets and g(r)
//! histogram counts identical.

mod common;

use common::{as_f32, gpu, random_positions};
use nti_gpu::md::{LjForces, MdConfig, MdKernels, MdSystem, PairSearch};
use nti_gpu::reference::cell_list::{cell_counts, exclusive_scan, neighbors_brute_force};
use nti_gpu::reference::integrate::Baoab;
use nti_gpu::reference::lj_forces::{lj_forces, minimum_image, norm2};
use nti_gpu::reference::observables::{gr_histogram, kinetic_energy};
use nti_gpu::reference::rng::key_of;
use nti_gpu::scene::LjParams;
use std::sync::Arc;

fn config(n: u32, replicas: u32, lj: LjParams, search: PairSearch) -> MdConfig {
    MdConfig {
        n,
        replicas,
        lj,
        kt: 1.0,
        mass: 1.3,
        dt: 0.004,
        friction: 0.7,
        seed: 0x1234_5678_9abc,
        search,
        gr_bins: 64,
        gr_max: match (search, lj.cutoff) {
            (PairSearch::CellList { .. }, Some(rc)) => rc,
            _ => 0.5 * lj.box_length,
        },
        neighbor_capacity: None,
        alchemy: None,
    }
}

/// The paper's potential: eps = 0.8 kT, every minimum-image pair in L = 6.
fn paper_lj() -> LjParams {
    LjParams {
        epsilon: 0.8,
        sigma: 1.0,
        cutoff: None,
        shift: false,
        box_length: 6.0,
    }
}

fn velocities(count: usize, seed: u64) -> Vec<[f64; 3]> {
    random_positions(count, 2.0, 0.0, seed)
        .into_iter()
        .map(|v| v.map(|c| c - 1.0))
        .collect()
}

/// Distances of every pair (all replicas), to keep test inputs away from decision edges.
fn pair_distances(pos: &[[f64; 3]], n: usize, l: f64) -> Vec<f64> {
    let mut out = Vec::new();
    for rep in pos.chunks(n) {
        for i in 0..n {
            for j in i + 1..n {
                let d = [
                    rep[i][0] - rep[j][0],
                    rep[i][1] - rep[j][1],
                    rep[i][2] - rep[j][2],
                ];
                out.push(norm2(minimum_image(d, l)).sqrt());
            }
        }
    }
    out
}

fn assert_forces_match(system: &MdSystem, g: &nti_gpu::gpu::Gpu, pos: &[[f64; 3]], lj: &LjParams) {
    let n = system.config.n as usize;
    let force = system.read_forces(g).unwrap();
    let aux = system.read_aux(g).unwrap();
    for (b, rep) in pos.chunks(n).enumerate() {
        let r = lj_forces(rep, lj);
        let f_scale = (r.forces.iter().map(|f| norm2(*f)).sum::<f64>() / n as f64).sqrt();
        let e_scale = r.energy.iter().map(|e| e.abs()).sum::<f64>() / n as f64;
        let w_scale = r.virial.iter().map(|e| e.abs()).sum::<f64>() / n as f64;
        for i in 0..n {
            let gi = b * n + i;
            let df = norm2([
                force[gi][0] as f64 - r.forces[i][0],
                force[gi][1] as f64 - r.forces[i][1],
                force[gi][2] as f64 - r.forces[i][2],
            ])
            .sqrt();
            let fi = norm2(r.forces[i]).sqrt().max(f_scale);
            assert!(df / fi < 1e-5, "force {gi}: |dF|/|F| = {}", df / fi);
            let de = (force[gi][3] as f64 - r.energy[i]).abs() / r.energy[i].abs().max(e_scale);
            assert!(de < 1e-5, "energy {gi}: rel {de}");
            let dw = (aux[gi][0] as f64 - r.virial[i]).abs() / r.virial[i].abs().max(w_scale);
            assert!(dw < 1e-5, "virial {gi}: rel {dw}");
            assert_eq!(aux[gi][1] as f64, r.pairs[i], "pair count {gi}");
        }
        let e_gpu: f64 = (0..n).map(|i| force[b * n + i][3] as f64).sum();
        assert!((e_gpu - r.total_energy()).abs() / r.total_energy().abs() < 1e-5);
    }
}

#[test]
fn lj_forces_all_pairs_match_reference_minimum_image() {
    let Some(g) = gpu() else { return };
    let lj = paper_lj();
    // N = 150 spans three 64-wide tiles with a partial last tile; 3 replicas. Every layout
    // of the all-pairs kernel: 1 particle per invocation (GPUs), 3 (divides 150), 8
    // (padding slots in the last invocation) and the adapter's.
    let (n, b) = (150usize, 3u32);
    let pos: Vec<[f64; 3]> = (0..b)
        .flat_map(|r| random_positions(n, 6.0, 0.85, 10 + r as u64))
        .collect();
    let pos = as_f32(&pos);
    let vel = velocities(pos.len(), 99);
    let adapter = LjForces::adapter_particles_per_invocation(&g);
    for ppl in [1, 3, 8, adapter] {
        let kernels = Arc::new(MdKernels::with_particles_per_invocation(&g, ppl).unwrap());
        let sys = MdSystem::new(
            &g,
            kernels,
            config(n as u32, b, lj, PairSearch::AllPairs),
            &pos,
            &vel,
        )
        .unwrap();
        assert_eq!(sys.all_pairs_particles_per_invocation(), ppl);
        assert_forces_match(&sys, &g, &pos, &lj);
    }
    assert!(MdKernels::with_particles_per_invocation(&g, 9).is_err());
}

#[test]
fn lj_forces_all_pairs_match_reference_truncated_shifted() {
    let Some(g) = gpu() else { return };
    let kernels = Arc::new(MdKernels::new(&g).unwrap());
    let lj = LjParams {
        epsilon: 1.0,
        sigma: 1.0,
        cutoff: Some(2.5),
        shift: true,
        box_length: 6.0,
    };
    let pos = as_f32(&random_positions(100, 6.0, 0.9, 5));
    let vel = velocities(pos.len(), 98);
    let sys = MdSystem::new(
        &g,
        kernels,
        config(100, 1, lj, PairSearch::AllPairs),
        &pos,
        &vel,
    )
    .unwrap();
    assert_forces_match(&sys, &g, &pos, &lj);
}

#[test]
fn cell_list_and_neighbor_forces_match_brute_force() {
    let Some(g) = gpu() else { return };
    let kernels = Arc::new(MdKernels::new(&g).unwrap());
    let (l, rc, skin) = (7.5, 2.0, 0.4);
    let lj = LjParams {
        epsilon: 1.0,
        sigma: 1.0,
        cutoff: Some(rc),
        shift: false,
        box_length: l,
    };
    let (n, b) = (300usize, 2u32);
    // Pick a seed whose pair distances stay clear of r_c and r_list in f32.
    let pos = (0u64..)
        .map(|s| {
            let p: Vec<[f64; 3]> = (0..b)
                .flat_map(|r| random_positions(n, l, 0.85, 100 * s + r as u64))
                .collect();
            as_f32(&p)
        })
        .find(|p| {
            pair_distances(p, n, l)
                .iter()
                .all(|&r| (r - rc).abs() > 2e-6 && (r - rc - skin).abs() > 2e-6)
        })
        .expect("no seed clear of the cutoffs");
    let vel = velocities(pos.len(), 97);
    let cfg = config(n as u32, b, lj, PairSearch::CellList { skin });
    let side = cfg.cells_side();
    assert_eq!(side, 3);
    let cells = (side * side * side) as u64;
    let sys = MdSystem::new(&g, kernels, cfg, &pos, &vel).unwrap();
    assert!(sys.uses_cells());
    // Cell counts and their scan are exact.
    let counts: Vec<u32> = g
        .read(&sys.buffers.cell_count, 0, cells * b as u64)
        .unwrap();
    let starts: Vec<u32> = g
        .read(&sys.buffers.cell_start, 0, cells * b as u64 + 1)
        .unwrap();
    let mut ref_counts = Vec::new();
    for rep in pos.chunks(n) {
        ref_counts.extend(cell_counts(rep, l, side));
    }
    assert_eq!(counts, ref_counts);
    assert_eq!(starts, exclusive_scan(&ref_counts));
    // Neighbour sets are identical to brute force (global indices).
    let sets = sys.read_neighbor_sets(&g).unwrap();
    for (r, rep) in pos.chunks(n).enumerate() {
        let brute = neighbors_brute_force(rep, l, rc + skin);
        for i in 0..n {
            let expect: Vec<u32> = brute[i].iter().map(|j| j + (r * n) as u32).collect();
            assert_eq!(
                sets[r * n + i],
                expect,
                "neighbours of particle {i} in replica {r}"
            );
        }
    }
    assert_forces_match(&sys, &g, &pos, &lj);
}

#[test]
fn observables_gr_histogram_counts_identical() {
    let Some(g) = gpu() else { return };
    let kernels = Arc::new(MdKernels::new(&g).unwrap());
    for (search, l, cutoff) in [
        (PairSearch::AllPairs, 6.0, None),
        (PairSearch::CellList { skin: 0.3 }, 8.0, Some(2.5)),
    ] {
        let lj = LjParams {
            epsilon: 1.0,
            sigma: 1.0,
            cutoff,
            shift: false,
            box_length: l,
        };
        let (n, b) = (80usize, 2u32);
        let cfg = config(n as u32, b, lj, search);
        let width = cfg.gr_max / cfg.gr_bins as f64;
        // A seed whose pair distances are all clear of bin edges by more than f32 rounding
        // (|r / width - k| > 3e-5 for every integer k); about two seeds in three qualify.
        let pos = (0u64..200)
            .map(|s| {
                let p: Vec<[f64; 3]> = (0..b)
                    .flat_map(|r| random_positions(n, l, 0.8, 1000 + 10 * s + r as u64))
                    .collect();
                as_f32(&p)
            })
            .find(|p| {
                pair_distances(p, n, l).iter().all(|&r| {
                    let x = r / width;
                    (x - x.round()).abs() > 3e-5
                })
            })
            .expect("no seed clear of bin edges");
        let vel = velocities(pos.len(), 96);
        let sys = MdSystem::new(&g, kernels.clone(), cfg.clone(), &pos, &vel).unwrap();
        sys.submit_pass(&g, |pass| sys.record_gr(pass));
        let counts = sys.read_gr(&g).unwrap();
        let mut expect = vec![0u64; cfg.gr_bins as usize];
        for rep in pos.chunks(n) {
            for (e, c) in expect
                .iter_mut()
                .zip(gr_histogram(rep, l, cfg.gr_max, cfg.gr_bins))
            {
                *e += c;
            }
        }
        let counts: Vec<u64> = counts.into_iter().map(u64::from).collect();
        assert_eq!(counts, expect, "{search:?}");
        assert!(expect.iter().sum::<u64>() > 500, "too few pairs to test");
    }
}

#[test]
fn integrate_baoab_steps_and_observables_reductions_match_reference() {
    let Some(g) = gpu() else { return };
    let kernels = Arc::new(MdKernels::new(&g).unwrap());
    let lj = paper_lj();
    let (n, b) = (64usize, 2u32);
    let pos: Vec<[f64; 3]> = (0..b)
        .flat_map(|r| random_positions(n, 6.0, 0.95, 40 + r as u64))
        .collect();
    let pos = as_f32(&pos);
    let vel = as_f32(&velocities(pos.len(), 95));
    let cfg = config(n as u32, b, lj, PairSearch::AllPairs);
    let sys = MdSystem::new(&g, kernels, cfg.clone(), &pos, &vel).unwrap();
    let steps = 3u32;
    let control = sys.run(&g, steps).unwrap();
    assert_eq!(control.step, steps);
    sys.submit_pass(&g, |pass| sys.record_reduce(pass));
    let gpu_pos = sys.read_positions(&g).unwrap();
    let gpu_vel = sys.read_velocities(&g).unwrap();
    let obs = sys.read_obs(&g).unwrap();
    let integ = Baoab {
        dt: cfg.dt,
        friction: cfg.friction,
        kt: cfg.kt,
        mass: cfg.mass,
        box_length: 6.0,
        key: key_of(cfg.seed),
    };
    for r in 0..b as usize {
        let mut p = pos[r * n..(r + 1) * n].to_vec();
        let mut v = vel[r * n..(r + 1) * n].to_vec();
        let mut f = lj_forces(&p, &lj);
        for s in 0..steps {
            integ.baoa(&mut p, &mut v, &f.forces, s, (r * n) as u32);
            f = lj_forces(&p, &lj);
            integ.b(&mut v, &f.forces);
        }
        for i in 0..n {
            let gi = r * n + i;
            for k in 0..3 {
                let dx = minimum_image([gpu_pos[gi][k] as f64 - p[i][k], 0.0, 0.0], 6.0)[0];
                assert!(
                    dx.abs() < 2e-5,
                    "x[{gi}][{k}]: {} vs {}",
                    gpu_pos[gi][k],
                    p[i][k]
                );
                assert!((gpu_vel[gi][k] as f64 - v[i][k]).abs() < 1e-4 * (1.0 + v[i][k].abs()));
            }
        }
        // Reductions over the replica: energy, virial, half-step and boundary kinetic energy.
        let half: Vec<[f64; 3]> = v
            .iter()
            .zip(&f.forces)
            .map(|(v, f)| [0, 1, 2].map(|k| v[k] + 0.5 * cfg.dt * f[k] / cfg.mass))
            .collect();
        let expect = [
            f.total_energy(),
            f.total_virial(),
            kinetic_energy(&half, cfg.mass),
            f.pairs.iter().sum(),
            kinetic_energy(&v, cfg.mass),
        ];
        for k in 0..5 {
            let rel = (obs[r][k] - expect[k]).abs() / expect[k].abs();
            assert!(
                rel < 1e-4,
                "replica {r} observable {k}: {} vs {}",
                obs[r][k],
                expect[k]
            );
        }
    }
}

#[test]
fn alchemical_energies_forces_and_lambda_derivatives_match_reference() {
    use nti_gpu::md::system::Alchemy;
    use nti_gpu::reference::alchemical_energies::{alchemical_forces, AlchemicalPath};
    let Some(g) = gpu() else { return };
    let kernels = Arc::new(MdKernels::new(&g).unwrap());
    for (path, l, cutoff, search) in [
        (AlchemicalPath::SoftCore, 6.0, None, PairSearch::AllPairs),
        (AlchemicalPath::LjToWca, 6.0, None, PairSearch::AllPairs),
        (AlchemicalPath::WcaSoftCore, 6.0, None, PairSearch::AllPairs),
        (
            AlchemicalPath::LjToWca,
            7.5,
            Some(2.0),
            PairSearch::CellList { skin: 0.4 },
        ),
    ] {
        let lj = LjParams {
            epsilon: 0.8,
            sigma: 1.0,
            cutoff,
            shift: false,
            box_length: l,
        };
        let lambdas = [0.0, 0.3, 0.75, 0.95];
        let n = 90usize;
        // Overlapping pairs (down to 0.5 sigma) as soft cores allow them.
        let pos: Vec<[f64; 3]> = (0..4)
            .flat_map(|r| random_positions(n, l, 0.5, 300 + r as u64))
            .collect();
        let pos = as_f32(&pos);
        let vel = velocities(pos.len(), 93);
        let mut cfg = config(n as u32, 4, lj, search);
        cfg.alchemy = Some(Alchemy {
            path,
            lambdas: lambdas.to_vec(),
        });
        let sys = MdSystem::new(&g, kernels.clone(), cfg, &pos, &vel).unwrap();
        let force = sys.read_forces(&g).unwrap();
        let aux = sys.read_aux(&g).unwrap();
        for (r, rep) in pos.chunks(n).enumerate() {
            let reference = alchemical_forces(rep, &lj, path, lambdas[r]);
            let scale = reference
                .forces
                .iter()
                .map(|f| norm2(*f))
                .sum::<f64>()
                .sqrt()
                / (n as f64).sqrt();
            let dl_scale = reference.pairs.iter().map(|x| x.abs()).sum::<f64>() / n as f64;
            let e_scale = reference.energy.iter().map(|x| x.abs()).sum::<f64>() / n as f64;
            for i in 0..n {
                let gi = r * n + i;
                let df =
                    norm2([0, 1, 2].map(|k| force[gi][k] as f64 - reference.forces[i][k])).sqrt();
                assert!(
                    df <= 1e-5 * norm2(reference.forces[i]).sqrt().max(scale).max(1e-1),
                    "{path:?} lambda {}: force {gi}",
                    lambdas[r]
                );
                let de = (force[gi][3] as f64 - reference.energy[i]).abs();
                assert!(
                    de <= 1e-5 * reference.energy[i].abs().max(e_scale).max(1e-2),
                    "{path:?}: energy {gi}: {} vs {}",
                    force[gi][3],
                    reference.energy[i]
                );
                let dl = (aux[gi][1] as f64 - reference.pairs[i]).abs();
                assert!(
                    dl <= 1e-5 * reference.pairs[i].abs().max(dl_scale).max(1e-2),
                    "{path:?} lambda {}: dU/dlambda {gi}: {} vs {}",
                    lambdas[r],
                    aux[gi][1],
                    reference.pairs[i]
                );
            }
        }
    }
}

#[test]
fn alchemical_energies_of_every_state_match_reference() {
    use nti_gpu::md::alchemical_energies::AlchemicalEnergies;
    use nti_gpu::reference::alchemical_energies::alchemical_energies;
    use nti_gpu::reference::alchemical_energies::AlchemicalPath;
    let Some(g) = gpu() else { return };
    let kernel = AlchemicalEnergies::new(&g).unwrap();
    let lambdas = [0.0, 0.05, 0.4, 0.9, 1.0];
    let (n, configs) = (70usize, 5usize);
    let pos: Vec<[f64; 3]> = (0..configs)
        .flat_map(|c| random_positions(n, 6.0, 0.6, 500 + c as u64))
        .collect();
    let pos = as_f32(&pos);
    let buf = g.storage_from(
        "configs",
        &pos.iter()
            .map(|p| [p[0] as f32, p[1] as f32, p[2] as f32, 0.0])
            .collect::<Vec<_>>(),
    );
    for (path, cutoff) in [
        (AlchemicalPath::SoftCore, None),
        (AlchemicalPath::LjToWca, Some(2.5)),
        (AlchemicalPath::WcaSoftCore, None),
    ] {
        let lj = LjParams {
            epsilon: 0.8,
            sigma: 1.0,
            cutoff,
            shift: false,
            box_length: 6.0,
        };
        let u = kernel
            .energies(&g, &buf, configs as u32, n as u32, &lambdas, path, &lj, 1.3)
            .unwrap();
        for c in 0..configs {
            let reference = alchemical_energies(&pos[c * n..(c + 1) * n], &lambdas, path, &lj, 1.3);
            for (l, r) in reference.iter().enumerate() {
                assert!(
                    (u[l][c] - r).abs() <= 1e-5 * r.abs().max(1.0),
                    "{path:?} config {c} lambda {}: {} vs {r}",
                    lambdas[l],
                    u[l][c]
                );
            }
        }
    }
}
