//! Physics of the GPU energy model: invariance of Ũ under translations, permutations and
//! all 48 symmetries of the cube (with the score rotating along), and the boundary
//! conditions Ũ(x, 0) = βU_LJ(x) (against the sampler's own force kernel) and Ũ(x, 1) = 0,
//! for random parameters.

mod common;

use common::{as_f32, gpu, random_positions};
use nti_gpu::md::{MdConfig, MdKernels, MdSystem, PairSearch};
use nti_gpu::model::{energy_and_score, ModelKernels};
use nti_gpu::scene::LjParams;
use nti_gpu::scene::{ModelConfig, ModelSystem};
use std::sync::Arc;

const L: f64 = 6.0;
const N: usize = 40;

fn setup() -> (ModelConfig, ModelSystem, Vec<f64>) {
    let cfg = ModelConfig::default();
    let sys = ModelSystem {
        box_length: L,
        beta: 1.0,
        epsilon: 0.8,
        sigma: 1.0,
        cutoff: None,
    };
    // Scaled-up random parameters so that the network term is not negligible.
    let params: Vec<f64> = cfg.init_params(11).iter().map(|p| 3.0 * p).collect();
    (cfg, sys, params)
}

/// The 48 symmetries of the cube: axis permutations times sign flips (x -> L - x).
fn cube_symmetries() -> Vec<([usize; 3], [bool; 3])> {
    let perms = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    let mut out = Vec::new();
    for p in perms {
        for f in 0..8u32 {
            out.push((p, [f & 1 != 0, f & 2 != 0, f & 4 != 0]));
        }
    }
    out
}

fn apply(x: [f64; 3], (p, flip): ([usize; 3], [bool; 3])) -> [f64; 3] {
    let mut y = [0.0; 3];
    for k in 0..3 {
        let v = x[p[k]];
        y[k] = if flip[k] { (L - v) % L } else { v };
    }
    y
}

#[test]
fn energy_is_invariant_and_score_is_covariant_under_all_48_cube_symmetries() {
    let Some(g) = gpu() else { return };
    let (cfg, sys, params) = setup();
    let kernels = ModelKernels::new(&g, &cfg).unwrap();
    let base = as_f32(&random_positions(N, L, 0.8, 77));
    let syms = cube_symmetries();
    assert_eq!(syms.len(), 48);
    // One batch: the original, every symmetry image, a translation and a permutation.
    let mut batch = base.clone();
    for s in &syms {
        batch.extend(as_f32(
            &base.iter().map(|&x| apply(x, *s)).collect::<Vec<_>>(),
        ));
    }
    let shift = [1.25, -2.5, 0.75]; // exact in f32, keeps coordinates exact after wrapping
    batch.extend(
        base.iter()
            .map(|x| [0, 1, 2].map(|k| (x[k] + shift[k]).rem_euclid(L))),
    );
    let perm: Vec<usize> = (0..N).rev().collect();
    batch.extend(perm.iter().map(|&i| base[i]));
    let configs = batch.len() / N;
    let t = 0.45;
    let (u, score) = energy_and_score(
        &g,
        &kernels,
        &cfg,
        &sys,
        &params,
        &batch,
        &vec![t; configs],
        N,
    )
    .unwrap();
    let scale = u[0].abs().max(1.0);
    let rms: f64 = (score[..N]
        .iter()
        .map(|s| s.iter().map(|c| c * c).sum::<f64>())
        .sum::<f64>()
        / N as f64)
        .sqrt();
    for (k, s) in syms.iter().enumerate() {
        let c = k + 1;
        assert!(
            (u[c] - u[0]).abs() < 2e-5 * scale,
            "symmetry {s:?}: U {} vs {}",
            u[c],
            u[0]
        );
        for i in 0..N {
            // The score transforms like the positions' differences: permute and flip signs.
            let expect = apply_vector(score[i], *s);
            for a in 0..3 {
                let got = score[c * N + i][a];
                assert!(
                    (got - expect[a]).abs() < 2e-4 * rms,
                    "symmetry {s:?} particle {i}: {got} vs {}",
                    expect[a]
                );
            }
        }
    }
    let c_shift = syms.len() + 1;
    assert!((u[c_shift] - u[0]).abs() < 2e-5 * scale, "translation");
    let c_perm = c_shift + 1;
    assert!((u[c_perm] - u[0]).abs() < 2e-5 * scale, "permutation");
    for (j, &i) in perm.iter().enumerate() {
        for (got, want) in score[c_perm * N + j].iter().zip(score[i]) {
            assert!((got - want).abs() < 2e-4 * rms, "permutation: score of {i}");
        }
    }
    // The test can fail: a non-symmetric configuration change is detected.
    let mut moved = base.clone();
    moved[0][0] = (moved[0][0] + 0.3) % L;
    let (u2, _) = energy_and_score(&g, &kernels, &cfg, &sys, &params, &moved, &[t], N).unwrap();
    assert!((u2[0] - u[0]).abs() > 1e-3 * scale);
}

fn apply_vector(v: [f64; 3], (p, flip): ([usize; 3], [bool; 3])) -> [f64; 3] {
    let mut y = [0.0; 3];
    for k in 0..3 {
        y[k] = if flip[k] { -v[p[k]] } else { v[p[k]] };
    }
    y
}

#[test]
fn boundary_conditions_hold_for_random_parameters() {
    let Some(g) = gpu() else { return };
    let md = Arc::new(MdKernels::new(&g).unwrap());
    let (cfg, sys, _) = setup();
    let kernels = ModelKernels::new(&g, &cfg).unwrap();
    for seed in [1u64, 2, 3] {
        let params: Vec<f64> = cfg.init_params(seed).iter().map(|p| 3.0 * p).collect();
        let pos = as_f32(&random_positions(N, L, 0.85, 100 + seed));
        let (u, _) = energy_and_score(
            &g,
            &kernels,
            &cfg,
            &sys,
            &params,
            &[pos.clone(), pos.clone()].concat(),
            &[0.0, 1.0],
            N,
        )
        .unwrap();
        // beta U_LJ from the sampler's force kernel (kT = 1).
        let md_cfg = MdConfig {
            n: N as u32,
            replicas: 1,
            lj: LjParams {
                epsilon: 0.8,
                sigma: 1.0,
                cutoff: None,
                shift: false,
                box_length: L,
            },
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
        let system = MdSystem::new(&g, md.clone(), md_cfg, &pos, &vec![[0.0; 3]; N]).unwrap();
        let u_lj: f64 = system
            .read_forces(&g)
            .unwrap()
            .iter()
            .map(|f| f[3] as f64)
            .sum();
        assert!(
            (u[0] - u_lj).abs() < 1e-4 * u_lj.abs().max(1.0),
            "seed {seed}: U(x, 0) = {} vs beta U_LJ = {u_lj}",
            u[0]
        );
        assert!(u[1].abs() < 1e-6, "seed {seed}: U(x, 1) = {}", u[1]);
    }
}
