//! CPU reference (f64) of the batched denoising samplers of `shaders/denoise.wgsl`: the
//! reverse-SDE predictor, Metropolis-adjusted Langevin (MALA) correctors with one step size
//! shared by the batch, the forward-noise paths and the per-grid-point records. It draws the
//! same Philox numbers as the kernels (counters in the shader's header), so a GPU batch can be
//! compared step by step with [`run_batch`].
//!
//! A trajectory marches the grid t_0 = 1 > t_1 > … > t_K = 0 (grid index j; the estimators
//! use the ascending order k = K − j). At every grid point j:
//! 1. evaluate Ũ, ∇Ũ, ∂_t Ũ at (x, t_j); record u_start = Ũ(x, t_j);
//! 2. M corrector steps: propose y = x − h∇Ũ(x) + √(2h) ξ, accept with the MALA ratio;
//! 3. record ∂_t Ũ(x, t_j) and u_end = Ũ(x, t_j) of the state after the correctors;
//! 4. unless j = K, the reverse-SDE predictor (if on):
//!    x ← x − g(t_j)² Δt ∇Ũ(x, t_j) + g(t_j) √Δt ξ, Δt = t_j − t_{j+1}.
//!
//! The batch is split into P populations of C/P trajectories. After the correctors of grid
//! point j each population's step size h adapts to the population's acceptance
//! ([`adapt_shared_step_size`]). Adapting h per trajectory from its own accept/reject history
//! would make the kernel depend on the trajectory's state, and the kernel would no longer
//! leave exp(−Ũ(·, t)) invariant; the population mean ties a trajectory's kernel to its own
//! past only through a 1/(C/P) share.
//!
//! Sampler paths carry importance weights: at j ≥ 1, before the correctors,
//! ln w += ln L/F − (u_start_j − u_end_{j−1}), where ln L/F ([`predictor_move`]) is 0
//! without the predictor and otherwise the log ratio of the backward kernel (exact forward
//! noising from t_j back to t_{j−1}) to the predictor's density of the move (a sequential
//! Monte Carlo sampler with the reverse SDE as its proposal); with resampling on, a population whose effective
//! sample size drops below `resample` · C/P is resampled ([`systematic_resample`], population
//! annealing) and its ln-normaliser increment ln(mean w) recorded.
//!
//! The annealed-importance-sampling work of a trajectory is W = Σ_{j≥1} (u_start_j −
//! u_end_{j−1}): valid when the predictor is off (every move leaves exp(−Ũ(·, t_j))
//! invariant).

use crate::reference::model_energy::{energy, schedule, score, time_derivative};
use crate::reference::rng::{gaussian3, philox4x32_10, uniform_open01};
use crate::scene::model::{S_MAX_OVER_L, S_MIN_OVER_L};
use crate::scene::{CorrectorSettings, ModelConfig, ModelSystem};

/// Counter tag of the initial uniform positions.
pub const TAG_INIT: u32 = 0xD0;
/// Counter tag of the predictor noise.
pub const TAG_PREDICT: u32 = 0xD1;
/// Counter tag of the MALA proposal noise (plus `sub << 8`).
pub const TAG_PROPOSE: u32 = 0xD2;
/// Counter tag of the MALA accept uniform (plus `sub << 8`).
pub const TAG_ACCEPT: u32 = 0xD3;
/// Counter tag of the forward-noise z.
pub const TAG_NOISE: u32 = 0xD4;
/// Counter tag of a population's resampling uniform.
pub const TAG_RESAMPLE: u32 = 0xD5;

fn wrap(y: f64, l: f64) -> f64 {
    let w = y - l * (y / l).floor();
    if w >= l {
        0.0
    } else {
        w
    }
}

fn min_image(d: f64, l: f64) -> f64 {
    d - l * (d / l).round()
}

/// g(t)² = 2 s(t)² ln(s_max/s_min), the squared diffusion coefficient of the forward
/// process.
pub fn g2(box_length: f64, t: f64) -> f64 {
    let (s, _) = schedule(box_length, t);
    2.0 * s * s * (S_MAX_OVER_L / S_MIN_OVER_L).ln()
}

/// Predictor coefficients (drift g²Δt, noise g√Δt) from t_j down to t_next.
pub fn predictor_coefficients(box_length: f64, t_j: f64, t_next: f64) -> (f64, f64) {
    let dt = t_j - t_next;
    let g2 = g2(box_length, t_j);
    (g2 * dt, (g2 * dt).sqrt())
}

/// Uniform initial positions of trajectory `c` (exact samples of p_1).
pub fn initial_positions(key: [u32; 2], c: u32, n: usize, box_length: f64) -> Vec<[f64; 3]> {
    (0..n as u32)
        .map(|i| {
            let b = philox4x32_10([c, i, TAG_INIT, 0], key);
            [0, 1, 2].map(|a| wrap(uniform_open01(b[a]) * box_length, box_length))
        })
        .collect()
}

/// Reverse-SDE predictor move of trajectory `c` at grid step `step` from t_j to t_next,
/// x′ = wrap(x − drift ∇Ũ + noise ξ), and its ln L(x′ → x) − ln F(x → x′): F the
/// Euler–Maruyama step, L the exact forward noising from t_next back to t_j (variance
/// `back_var` = s(t_j)² − s(t_next)²), both wrapped Gaussians per coordinate.
#[allow(clippy::too_many_arguments)]
pub fn predictor_move(
    key: [u32; 2],
    c: u32,
    step: u32,
    pos: &[[f64; 3]],
    grad: &[[f64; 3]],
    (drift, noise): (f64, f64),
    back_var: f64,
    box_length: f64,
) -> (Vec<[f64; 3]>, f64) {
    let mut ratio = 0.0;
    let moved = pos
        .iter()
        .zip(grad)
        .enumerate()
        .map(|(i, (x, g))| {
            let xi = gaussian3(philox4x32_10([c, i as u32, TAG_PREDICT, step], key));
            std::array::from_fn(|a| {
                let y = wrap(x[a] - drift * g[a] + noise * xi[a], box_length);
                let back = min_image(x[a] - y, box_length);
                ratio += log_wrapped_gaussian(back, back_var, box_length)
                    - log_wrapped_gaussian(noise * xi[a], noise * noise, box_length);
                y
            })
        })
        .collect();
    (moved, ratio)
}

/// Variance (as a fraction of l²) above which [`log_wrapped_gaussian`] sums the Fourier
/// series instead of the images: both truncations then err by about e^−23.
pub const WRAPPED_FOURIER_FROM: f64 = 0.133;

/// ln of the wrapped Gaussian density (variance `v`, circle of length `l`) of a
/// one-coordinate displacement `d`, plus ln √(2π): the images −2l … 2l for
/// v < [`WRAPPED_FOURIER_FROM`] l², else the Fourier series (1/l)(1 + 2 Σ_{k≤3}
/// e^{−2π²k²v/l²} cos(2πkd/l)).
pub fn log_wrapped_gaussian(d: f64, v: f64, l: f64) -> f64 {
    if v < WRAPPED_FOURIER_FROM * l * l {
        let sum: f64 = (-2..=2)
            .map(|k| {
                let e = d + k as f64 * l;
                (-(e * e - d * d) / (2.0 * v)).exp()
            })
            .sum();
        -d * d / (2.0 * v) + sum.ln() - 0.5 * v.ln()
    } else {
        let tau = std::f64::consts::TAU;
        let series: f64 = (1..=3)
            .map(|k| {
                let k = k as f64;
                (-0.5 * (tau * k / l).powi(2) * v).exp() * (tau * k * d / l).cos()
            })
            .sum();
        (tau.sqrt() * (1.0 + 2.0 * series) / l).ln()
    }
}

/// MALA proposal y = wrap(x − h∇Ũ(x) + √(2h) ξ).
#[allow(clippy::too_many_arguments)]
pub fn mala_proposal(
    key: [u32; 2],
    c: u32,
    step: u32,
    sub: u32,
    pos: &[[f64; 3]],
    grad: &[[f64; 3]],
    h: f64,
    box_length: f64,
) -> Vec<[f64; 3]> {
    let tag = TAG_PROPOSE + (sub << 8);
    pos.iter()
        .zip(grad)
        .enumerate()
        .map(|(i, (x, g))| {
            let xi = gaussian3(philox4x32_10([c, i as u32, tag, step], key));
            std::array::from_fn(|a| wrap(x[a] - h * g[a] + (2.0 * h).sqrt() * xi[a], box_length))
        })
        .collect()
}

/// ln α of the MALA move x → y (displacements by minimum image):
/// −(U_y − U_x) − Σ|x − y + h g_y|²/4h + Σ|y − x + h g_x|²/4h.
#[allow(clippy::too_many_arguments)]
pub fn mala_log_alpha(
    x: &[[f64; 3]],
    y: &[[f64; 3]],
    grad_x: &[[f64; 3]],
    grad_y: &[[f64; 3]],
    u_x: f64,
    u_y: f64,
    h: f64,
    box_length: f64,
) -> f64 {
    let mut dq = 0.0;
    for i in 0..x.len() {
        for a in 0..3 {
            let d = min_image(y[i][a] - x[i][a], box_length);
            let fw = d + h * grad_x[i][a];
            let bw = -d + h * grad_y[i][a];
            dq += bw * bw - fw * fw;
        }
    }
    -(u_y - u_x) - dq / (4.0 * h)
}

/// The accept uniform of trajectory `c`, grid step `step`, sub-step `sub`.
pub fn accept_uniform(key: [u32; 2], c: u32, step: u32, sub: u32) -> f64 {
    uniform_open01(philox4x32_10([c, 0, TAG_ACCEPT + (sub << 8), step], key)[0])
}

/// The shared step size after a grid point at which `trajectories` trajectories accepted
/// `accepted` of their `proposals` proposals each in total:
/// ln h += κ (accepted / C − M a*), capped at h_max.
pub fn adapt_shared_step_size(
    h: f64,
    accepted: u64,
    trajectories: usize,
    proposals: u32,
    settings: &CorrectorSettings,
) -> f64 {
    let mean_accepted = accepted as f64 / trajectories as f64;
    let change = settings.adapt_rate * (mean_accepted - settings.target_accept * proposals as f64);
    (h * change.exp()).min(settings.h_max)
}

/// Forward-noised path point x = wrap(x0 + s z), z fixed per (c, i).
pub fn forward_noise(
    key: [u32; 2],
    c: u32,
    x0: &[[f64; 3]],
    s: f64,
    box_length: f64,
) -> Vec<[f64; 3]> {
    x0.iter()
        .enumerate()
        .map(|(i, x)| {
            let z = gaussian3(philox4x32_10([c, i as u32, TAG_NOISE, 0], key));
            std::array::from_fn(|a| wrap(x[a] + s * z[a], box_length))
        })
        .collect()
}

/// Systematic resampling of normalised-or-not log weights with one uniform `u` ∈ (0, 1):
/// slot k takes the first index whose cumulative normalised weight exceeds (k + u)/n.
pub fn systematic_resample(log_w: &[f64], u: f64) -> Vec<usize> {
    let n = log_w.len();
    let m = log_w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let w: Vec<f64> = log_w.iter().map(|&l| (l - m).exp()).collect();
    let total: f64 = w.iter().sum();
    let mut a = 0;
    let mut cum = w[0] / total;
    (0..n)
        .map(|k| {
            let point = (k as f64 + u) / n as f64;
            while cum <= point && a + 1 < n {
                a += 1;
                cum += w[a] / total;
            }
            a
        })
        .collect()
}

/// ln(mean w) and the effective sample size (Σw)²/Σw² of log weights.
pub fn log_mean_and_ess(log_w: &[f64]) -> (f64, f64) {
    let m = log_w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (s, s2) = log_w.iter().fold((0.0, 0.0), |(s, s2), &l| {
        let w = (l - m).exp();
        (s + w, s2 + w * w)
    });
    (m + (s / log_w.len() as f64).ln(), s * s / s2)
}

/// Per-grid-point record of one trajectory (grid index j, descending t).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PointRecord {
    /// ∂_t Ũ(x, t_j) after the correctors.
    pub integrand: f64,
    /// Ũ(x, t_j) before the correctors.
    pub u_start: f64,
    /// Ũ(x, t_j) after the correctors.
    pub u_end: f64,
    /// Accepted corrector proposals.
    pub accepted: u32,
    /// ln w after any resampling at this grid point (annealed paths; else 0).
    pub log_weight: f64,
    /// The population's ln-normaliser increment here (0 unless it resampled).
    pub log_norm: f64,
    /// Batch index of the trajectory whose state this one took here (itself unless its
    /// population resampled).
    pub ancestor: u32,
    /// ln L/F of the predictor move that arrived here (0 without predictor).
    pub move_log_ratio: f64,
}

/// The trajectories `cs` (their Philox counters) of one batch on the descending grid `times`
/// (t_0 = 1 … t_K = 0), marched together in `correctors.populations` populations: the f64
/// specification of the GPU sampler, one record list per trajectory. With `x0` (`cs.len()` ·
/// n positions), the forward-noise path wrap(x0 + s(t) z) replaces every move.
#[allow(clippy::too_many_arguments)]
pub fn run_batch(
    cfg: &ModelConfig,
    sys: &ModelSystem,
    params: &[f64],
    times: &[f64],
    predictor: bool,
    correctors: &CorrectorSettings,
    key: [u32; 2],
    cs: &[u32],
    n: usize,
    x0: Option<&[[f64; 3]]>,
) -> Vec<Vec<PointRecord>> {
    let l = sys.box_length;
    let pops = correctors.populations.max(1) as usize;
    assert!(cs.len() % pops == 0, "populations must divide the batch");
    let size = cs.len() / pops;
    let weighted = x0.is_none();
    let mut arrived = vec![0.0; cs.len()];
    let mut xs: Vec<Vec<[f64; 3]>> = cs
        .iter()
        .map(|&c| initial_positions(key, c, n, l))
        .collect();
    let mut h = vec![correctors.h_init; pops];
    let mut out: Vec<Vec<PointRecord>> = vec![Vec::with_capacity(times.len()); cs.len()];
    for (j, &t) in times.iter().enumerate() {
        // Arrival: energies at t_j.
        let mut state: Vec<(f64, Vec<[f64; 3]>)> = Vec::with_capacity(cs.len());
        let mut recs = Vec::with_capacity(cs.len());
        for (b, &c) in cs.iter().enumerate() {
            if let Some(x0) = x0 {
                xs[b] = forward_noise(key, c, &x0[b * n..(b + 1) * n], schedule(l, t).0, l);
            }
            let u = energy(cfg, sys, params, &xs[b], t);
            state.push((u, score(cfg, sys, params, &xs[b], t)));
            recs.push(PointRecord {
                u_start: u,
                ancestor: b as u32,
                move_log_ratio: std::mem::take(&mut arrived[b]),
                ..Default::default()
            });
        }
        // Importance weights and resampling (annealed paths).
        if weighted && j > 0 {
            for p in 0..pops {
                let members = p * size..(p + 1) * size;
                let log_w: Vec<f64> = members
                    .clone()
                    .map(|b| {
                        let before = &out[b][j - 1];
                        before.log_weight + recs[b].move_log_ratio
                            - (recs[b].u_start - before.u_end)
                    })
                    .collect();
                let (log_mean, ess) = log_mean_and_ess(&log_w);
                if ess < correctors.resample * size as f64 {
                    let u = uniform_open01(
                        philox4x32_10([p as u32, 0, TAG_RESAMPLE, j as u32], key)[0],
                    );
                    let anc = systematic_resample(&log_w, u);
                    let (old_x, old_state) = (xs.clone(), state.clone());
                    for (k, &a) in anc.iter().enumerate() {
                        let (b, from) = (p * size + k, p * size + a);
                        xs[b] = old_x[from].clone();
                        state[b] = old_state[from].clone();
                        recs[b].ancestor = from as u32;
                        recs[b].log_norm = log_mean;
                    }
                } else {
                    for (k, b) in members.enumerate() {
                        recs[b].log_weight = log_w[k];
                    }
                }
            }
        }
        // Correctors, records.
        let steps = correctors.steps_at(t);
        let mut accepted = vec![0u64; pops];
        for (b, &c) in cs.iter().enumerate() {
            let hb = h[b / size];
            let mut x = std::mem::take(&mut xs[b]);
            let (mut u, mut g) = std::mem::take(&mut state[b]);
            let mut rec = recs[b];
            if x0.is_none() {
                for sub in 0..steps {
                    let y = mala_proposal(key, c, j as u32, sub, &x, &g, hb, l);
                    let u_y = energy(cfg, sys, params, &y, t);
                    let g_y = score(cfg, sys, params, &y, t);
                    let log_alpha = mala_log_alpha(&x, &y, &g, &g_y, u, u_y, hb, l);
                    if accept_uniform(key, c, j as u32, sub).ln() < log_alpha {
                        (x, g, u) = (y, g_y, u_y);
                        rec.accepted += 1;
                    }
                }
            }
            accepted[b / size] += rec.accepted as u64;
            rec.u_end = u;
            rec.integrand = time_derivative(cfg, sys, params, &x, t);
            out[b].push(rec);
            xs[b] = x;
            state[b] = (u, g);
        }
        if steps > 0 && x0.is_none() {
            for (p, hp) in h.iter_mut().enumerate() {
                *hp = adapt_shared_step_size(*hp, accepted[p], size, steps, correctors);
            }
        }
        if predictor && x0.is_none() && j + 1 < times.len() {
            let coef = predictor_coefficients(l, t, times[j + 1]);
            let back_var = schedule(l, t).0.powi(2) - schedule(l, times[j + 1]).0.powi(2);
            for (b, &c) in cs.iter().enumerate() {
                let g = &state[b].1;
                (xs[b], arrived[b]) =
                    predictor_move(key, c, j as u32, &xs[b], g, coef, back_var, l);
            }
        }
    }
    out
}

/// The annealed-importance-sampling work W = Σ_{j≥1} (u_start_j − u_end_{j−1}) of one
/// trajectory's records.
pub fn ais_work(records: &[PointRecord]) -> f64 {
    records.windows(2).map(|w| w[1].u_start - w[0].u_end).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (ModelConfig, ModelSystem, Vec<f64>) {
        let cfg = ModelConfig {
            k_radial: 6,
            vector_channels: 2,
            time_frequencies: 1,
            hidden: 8,
            r_c: 2.0,
        };
        let sys = ModelSystem {
            box_length: 3.0,
            beta: 1.0,
            epsilon: 0.8,
            sigma: 1.0,
            cutoff: None,
        };
        let params = cfg.init_params(5);
        (cfg, sys, params)
    }

    #[test]
    fn mala_ratio_is_antisymmetric_and_zero_for_flat_energy() {
        let (cfg, sys, params) = setup();
        let key = [1, 2];
        let x = initial_positions(key, 0, 4, sys.box_length);
        let t = 0.4;
        let g = score(&cfg, &sys, &params, &x, t);
        let y = mala_proposal(key, 0, 3, 0, &x, &g, 1e-3, sys.box_length);
        let gy = score(&cfg, &sys, &params, &y, t);
        let (ux, uy) = (
            energy(&cfg, &sys, &params, &x, t),
            energy(&cfg, &sys, &params, &y, t),
        );
        let fwd = mala_log_alpha(&x, &y, &g, &gy, ux, uy, 1e-3, sys.box_length);
        let bwd = mala_log_alpha(&y, &x, &gy, &g, uy, ux, 1e-3, sys.box_length);
        assert!((fwd + bwd).abs() < 1e-9 * (1.0 + fwd.abs()), "{fwd} {bwd}");
        // Flat energy, zero gradient: the Gaussian proposal is symmetric.
        let zero = vec![[0.0; 3]; 4];
        assert_eq!(
            mala_log_alpha(&x, &y, &zero, &zero, 0.0, 0.0, 1e-3, 3.0),
            0.0
        );
    }

    #[test]
    fn wrapped_gaussian_is_a_normalised_density_on_the_circle() {
        let l = 6.0;
        for v in [0.01, 0.5, 4.0, 4.7, 4.8, 10.0, 100.0] {
            let k = 20_000;
            let h = l / k as f64;
            let total: f64 = (0..k)
                .map(|i| {
                    let d = -0.5 * l + (i as f64 + 0.5) * h;
                    log_wrapped_gaussian(d, v, l).exp()
                })
                .sum::<f64>()
                * h
                / (2.0 * std::f64::consts::PI).sqrt();
            assert!((total - 1.0).abs() < 1e-9, "v = {v}: {total}");
            // The two representations agree where they switch.
            let switch = WRAPPED_FOURIER_FROM * l * l;
            for d in [0.0, 1.0, 2.9] {
                let (below, above) = (
                    log_wrapped_gaussian(d, switch * (1.0 - 1e-12), l),
                    log_wrapped_gaussian(d, switch, l),
                );
                assert!((below - above).abs() < 1e-9, "d = {d}: {below} vs {above}");
            }
            // Narrow: the plain Gaussian; wide: flatter than it.
            let plain = -0.5 * v.ln();
            assert!((log_wrapped_gaussian(0.0, 0.01, l) - (-0.5f64 * 0.01f64.ln())).abs() < 1e-12);
            assert!(log_wrapped_gaussian(0.0, v, l) >= plain);
        }
    }

    #[test]
    fn endpoints_of_a_trajectory_are_exact() {
        let (cfg, sys, params) = setup();
        let times = [1.0, 0.5, 0.0];
        let corr = CorrectorSettings {
            steps: 2,
            target_accept: 0.57,
            adapt_rate: 0.1,
            h_init: 1e-3,
            h_max: 0.05,
            populations: 1,
            resample: 0.0,
            spans: Vec::new(),
        };
        let rec = run_batch(
            &cfg,
            &sys,
            &params,
            &times,
            true,
            &corr,
            [3, 4],
            &[1],
            5,
            None,
        )
        .pop()
        .unwrap();
        // Ũ(·, 1) = 0 for every θ, so every move at t = 1 is accepted.
        assert_eq!(rec[0].u_start, 0.0);
        assert_eq!(rec[0].accepted, 2);
        assert!(ais_work(&rec).is_finite());
    }
}
