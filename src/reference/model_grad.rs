//! CPU reference (f64) of the denoising score-matching loss of the energy model and its
//! parameter gradient ∇_θ L (docs/method.md §4), written by hand: passes D (descriptor
//! tangents) and E (the reverse pass of the MLP's tangent) on top of the energy passes
//! A–C of [`crate::reference::model_energy`]. `shaders/model_grad.wgsl` mirrors them and is
//! parity-tested against [`dsm_loss_grad`] (`tests/model_grad.rs`).
//!
//! # Derivation of ∇_θ L (second order, as the GPU computes it)
//!
//! ∇_x E = t(1−t) ∇_x E_θ + (1−t) s_min ∇_x E_soft; only ∇_x E_θ depends on θ, and
//! the f_∅ term has no x-dependence. With u = 2(∇_x E − z)/(3N) held fixed,
//! ∇_θ L = Σ_m u_m · ∂_θ ∇_{x_m} E = t(1−t) ∂_θ Σ_m u_m · Σ_i g_i · ∂f_i/∂x_m
//! = t(1−t) Σ_i ∂_θ [g_i(θ) · δf_i], with the descriptor tangent
//! δf_i = Σ_m (∂f_i/∂x_m) u_m (pass D; θ-independent; zero in the time slots).
//! τ_i = g_i · δf_i is the forward-mode tangent of the MLP at f_i along δf_i, and
//! ∂_θ τ_i is the reverse pass of that tangent program (pass E). The ordinary
//! ∂_θ MLP(f_i) does *not* appear in ∇_θ L.

use crate::reference::lj_forces::norm2;
use crate::reference::model_energy::{
    dot, dot3, for_each_basis_neighbour, inverse_or_zero, scaled_score, scaled_score_from,
    schedule, silu, MlpForward, Moments, NetworkPass,
};
use crate::scene::{ModelConfig, ModelSystem};

/// Pass E (per particle): accumulates `scale · ∂_θ τ` into `grad` and returns τ, where
/// τ = g(f) · δf is the forward-mode tangent of the MLP at `f` along `df`.
///
/// Tangent forward: ḣ1 = W1 δf, ȧ1 = σ'(h1) ḣ1, ḣ2 = W2 ȧ1, ȧ2 = σ'(h2) ḣ2, τ = w3 · ȧ2.
/// Its reverse pass (adjoints written `bar`):
/// - ∂τ/∂w3 = ȧ2; bar ḣ2 = w3 σ'(h2); bar h2 = w3 σ''(h2) ḣ2;
/// - ∂τ/∂W2 = bar ḣ2 ȧ1ᵀ + bar h2 a1ᵀ; ∂τ/∂b2 = bar h2;
/// - bar ȧ1 = W2ᵀ bar ḣ2; bar a1 = W2ᵀ bar h2;
/// - bar ḣ1 = bar ȧ1 σ'(h1); bar h1 = bar ȧ1 σ''(h1) ḣ1 + bar a1 σ'(h1);
/// - ∂τ/∂W1 = bar ḣ1 δfᵀ + bar h1 fᵀ; ∂τ/∂b1 = bar h1; ∂τ/∂b3 = 0.
pub fn mlp_tangent_param_gradient(
    cfg: &ModelConfig,
    params: &[f64],
    f: &[f64],
    fwd: &MlpForward,
    df: &[f64],
    scale: f64,
    grad: &mut [f64],
) -> f64 {
    let (d, h) = (cfg.feature_dim(), cfg.hidden);
    let lay = cfg.layout();
    let act1: Vec<(f64, f64, f64)> = fwd.pre1.iter().map(|&z| silu(z)).collect();
    let act2: Vec<(f64, f64, f64)> = fwd.pre2.iter().map(|&z| silu(z)).collect();
    // Tangent forward.
    let hdot1: Vec<f64> = (0..h)
        .map(|p| dot(&params[lay.w1 + p * d..lay.w1 + (p + 1) * d], df))
        .collect();
    let adot1: Vec<f64> = (0..h).map(|p| act1[p].1 * hdot1[p]).collect();
    let hdot2: Vec<f64> = (0..h)
        .map(|p| dot(&params[lay.w2 + p * h..lay.w2 + (p + 1) * h], &adot1))
        .collect();
    let adot2: Vec<f64> = (0..h).map(|p| act2[p].1 * hdot2[p]).collect();
    let w3 = &params[lay.w3..lay.b3];
    let tau = dot(w3, &adot2);
    // Reverse pass of the tangent program.
    for p in 0..h {
        grad[lay.w3 + p] += scale * adot2[p];
    }
    let bar_hdot2: Vec<f64> = (0..h).map(|p| w3[p] * act2[p].1).collect();
    let bar_h2: Vec<f64> = (0..h).map(|p| w3[p] * act2[p].2 * hdot2[p]).collect();
    let mut bar_adot1 = vec![0.0; h];
    let mut bar_a1 = vec![0.0; h];
    for p in 0..h {
        grad[lay.b2 + p] += scale * bar_h2[p];
        let row = lay.w2 + p * h;
        for q in 0..h {
            grad[row + q] += scale * (bar_hdot2[p] * adot1[q] + bar_h2[p] * act1[q].0);
            let w = params[row + q];
            bar_adot1[q] += w * bar_hdot2[p];
            bar_a1[q] += w * bar_h2[p];
        }
    }
    for p in 0..h {
        let bar_hdot1 = bar_adot1[p] * act1[p].1;
        let bar_h1 = bar_adot1[p] * act1[p].2 * hdot1[p] + bar_a1[p] * act1[p].1;
        grad[lay.b1 + p] += scale * bar_h1;
        let row = lay.w1 + p * d;
        for c in 0..d {
            grad[row + c] += scale * (bar_hdot1 * df[c] + bar_h1 * f[c]);
        }
    }
    tau
}

// ---------------------------------------------------------------------------------
// Pass D: descriptor tangents
// ---------------------------------------------------------------------------------

/// Pass D (pair pass, gather per particle i): the directional derivatives of the
/// moments along the per-particle displacement field `u`, δm_i = Σ_m (∂m_i/∂x_m) u_m.
/// Per neighbour j, with d = d_ij and Δu = u_j − u_i:
/// δs_ik += w_k' (d · Δu)/r, δv_ik += (1/σ)[w_k Δu + w_k' (d · Δu) d/r].
pub fn moment_tangent(
    cfg: &ModelConfig,
    sys: &ModelSystem,
    pos: &[[f64; 3]],
    u: &[[f64; 3]],
) -> Vec<Moments> {
    let inv_sigma = 1.0 / sys.sigma;
    (0..pos.len())
        .map(|i| {
            let mut m = Moments::zeros(cfg);
            for_each_basis_neighbour(cfg, sys, pos, i, |j, d, r, w, dw| {
                let inv_r = inverse_or_zero(r);
                let du = [u[j][0] - u[i][0], u[j][1] - u[i][1], u[j][2] - u[i][2]];
                let d_du = dot3(d, du) * inv_r;
                for (s, dwk) in m.radial.iter_mut().zip(dw) {
                    *s += dwk * d_du;
                }
                for (k, v) in m.vector.iter_mut().enumerate() {
                    for a in 0..3 {
                        v[a] += inv_sigma * (w[k] * du[a] + dw[k] * d_du * d[a]);
                    }
                }
            });
            m
        })
        .collect()
}

/// Pass D, per-particle step: δf_i = [δs_i, δq_i, 0 (time slots)] with
/// δq_kl = δv_k · v_l + v_k · δv_l.
pub fn feature_tangent(cfg: &ModelConfig, m: &Moments, dm: &Moments) -> Vec<f64> {
    let mut df = Vec::with_capacity(cfg.feature_dim());
    df.extend_from_slice(&dm.radial);
    let kv = cfg.vector_channels;
    for k in 0..kv {
        for l in k..kv {
            df.push(dot3(dm.vector[k], m.vector[l]) + dot3(m.vector[k], dm.vector[l]));
        }
    }
    df.resize(cfg.feature_dim(), 0.0);
    df
}

/// Regression target of ∇_x E(x_t, t) for a configuration x_0 noised with z at time t:
/// w · s(t) · β∇U(x_0) + (1 − w) · z, with `grad_u0` = β∇U(x_0) (= ∇_x E_soft(x_0; 0),
/// [`soft_gradient`](crate::reference::model_energy::soft_gradient) at a = 0) and weight `w` in [0, 1] (e.g. [`ScoreTarget::weight`](crate::scene::ScoreTarget::weight)).
///
/// Every w gives an unbiased target for the same minimiser: for variance-exploding noise
/// ∇ log p_t(x_t) = E[∇ log p_0(x_0) | x_t] (target score matching) and
/// = E[−z/s(t) | x_t] (denoising score matching), and the model score is −∇_x E / s(t).
/// w = 0 is plain denoising; w = 1 (target score matching) has a small variance at small t,
/// where the noise target z is almost unpredictable (loss ≈ 1 for every model).
pub fn score_matching_target(
    box_length: f64,
    grad_u0: &[[f64; 3]],
    z: &[[f64; 3]],
    t: f64,
    w: f64,
) -> Vec<[f64; 3]> {
    let (s, _) = schedule(box_length, t);
    grad_u0
        .iter()
        .zip(z)
        .map(|(g, zz)| std::array::from_fn(|a| w * s * g[a] + (1.0 - w) * zz[a]))
        .collect()
}

fn loss_and_residual(grad_e: &[[f64; 3]], z: &[[f64; 3]]) -> (f64, Vec<[f64; 3]>) {
    let n3 = 3.0 * grad_e.len() as f64;
    let residual: Vec<[f64; 3]> = grad_e
        .iter()
        .zip(z)
        .map(|(g, zz)| std::array::from_fn(|a| g[a] - zz[a]))
        .collect();
    let sum: f64 = residual.iter().map(|r| norm2(*r)).sum();
    (if n3 > 0.0 { sum / n3 } else { 0.0 }, residual)
}

/// L = (1/(3N)) Σ_{i,a} (∂E/∂x_ia(x_t, t) − z_ia)² for one configuration (0 if N = 0).
/// `z` is the regression target: the noise itself (denoising score matching) or any
/// blend from [`score_matching_target`].
pub fn dsm_loss(
    cfg: &ModelConfig,
    sys: &ModelSystem,
    params: &[f64],
    x_t: &[[f64; 3]],
    z: &[[f64; 3]],
    t: f64,
) -> f64 {
    loss_and_residual(&scaled_score(cfg, sys, params, x_t, t), z).0
}

/// (L, ∇_θ L) for one configuration and regression target `z` (the noise, or a blend from
/// [`score_matching_target`]), by passes A–E: u = 2(∇_x E − z)/(3N),
/// δf_i = tangent of f_i along u (pass D), ∇_θ L = t(1−t) Σ_i ∂_θ (g_i · δf_i) (pass E).
/// The b3 component is always 0.
pub fn dsm_loss_grad(
    cfg: &ModelConfig,
    sys: &ModelSystem,
    params: &[f64],
    x_t: &[[f64; 3]],
    z: &[[f64; 3]],
    t: f64,
) -> (f64, Vec<f64>) {
    let mut grad = vec![0.0; cfg.param_count()];
    let n = x_t.len();
    if n == 0 {
        return (0.0, grad);
    }
    let net = NetworkPass::new(cfg, sys, params, x_t, t);
    let grad_e = scaled_score_from(cfg, sys, params, x_t, t, &net);
    let (loss, residual) = loss_and_residual(&grad_e, z);
    let c = 2.0 / (3.0 * n as f64);
    let u: Vec<[f64; 3]> = residual.iter().map(|r| r.map(|x| c * x)).collect();
    let tangents = moment_tangent(cfg, sys, x_t, &u);
    let scale = t * (1.0 - t);
    for (i, dm) in tangents.iter().enumerate() {
        let df = feature_tangent(cfg, &net.moments[i], dm);
        mlp_tangent_param_gradient(
            cfg,
            params,
            &net.features[i],
            &net.mlp[i],
            &df,
            scale,
            &mut grad,
        );
    }
    // f_∅ has no x-dependence and contributes no term to ∇_θ L.
    (loss, grad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::model_energy::fixtures::*;
    use crate::reference::model_energy::{noised_positions, soft_gradient};
    use crate::scene::ScoreTarget;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn check_param_fd(cfg: &ModelConfig) -> f64 {
        let sys = small_sys();
        let params = random_params(cfg, 13);
        let x0 = config();
        let mut worst: f64 = 0.0;
        for (n, t) in TIMES.into_iter().enumerate() {
            let z = noise(x0.len(), 100 + n as u64);
            // A small t keeps the planted close pair close; larger t moves it.
            let x_t = noised_positions(L, &x0, &z, t.min(0.3));
            let (loss, analytic) = dsm_loss_grad(cfg, &sys, &params, &x_t, &z, t);
            assert!((loss - dsm_loss(cfg, &sys, &params, &x_t, &z, t)).abs() <= 1e-14 * loss);
            let numeric: Vec<f64> = (0..params.len())
                .map(|k| {
                    central(1e-4, |h| {
                        let mut p = params.clone();
                        p[k] += h;
                        dsm_loss(cfg, &sys, &p, &x_t, &z, t)
                    })
                })
                .collect();
            let (e, k) = worst_relative(&analytic, &numeric);
            println!(
                "grad_theta L FD t = {t}: L = {loss:.4e}, worst rel {e:.2e} at param {k} ({} vs {})",
                analytic[k], numeric[k]
            );
            assert_eq!(analytic[cfg.layout().b3], 0.0);
            worst = worst.max(e);
        }
        worst
    }

    #[test]
    fn loss_gradient_matches_finite_differences() {
        let worst = check_param_fd(&small_cfg(3));
        assert!(worst < 1e-6, "worst relative error {worst:.2e}");
    }

    /// The loss with a blended target (target score and noise, [`score_matching_target`])
    /// has the same hand-written gradient: finite differences agree to 1e-6.
    #[test]
    fn blended_target_loss_gradient_matches_finite_differences() {
        let cfg = small_cfg(3);
        let sys = small_sys();
        let params = random_params(&cfg, 17);
        let x0 = config();
        let g0 = soft_gradient(&sys, &x0, 0.0);
        let mut worst: f64 = 0.0;
        for (n, t) in [0.02, 0.2, 0.45].into_iter().enumerate() {
            let z = noise(x0.len(), 300 + n as u64);
            let x_t = noised_positions(L, &x0, &z, t);
            let w = ScoreTarget::Blend { switch: 0.3 }.weight(t);
            let target = score_matching_target(L, &g0, &z, t, w);
            let (loss, analytic) = dsm_loss_grad(&cfg, &sys, &params, &x_t, &target, t);
            let numeric: Vec<f64> = (0..params.len())
                .map(|k| {
                    central(1e-4, |h| {
                        let mut p = params.clone();
                        p[k] += h;
                        dsm_loss(&cfg, &sys, &p, &x_t, &target, t)
                    })
                })
                .collect();
            let (e, k) = worst_relative(&analytic, &numeric);
            println!(
                "blended target t = {t}, w = {w:.4}: L = {loss:.4e}, worst rel {e:.2e} at {k}"
            );
            worst = worst.max(e);
        }
        assert!(worst < 1e-6, "worst relative error {worst:.2e}");
    }

    /// The target score is the model's own ∇_x E at t = 0 (Ũ(·, 0) = βU_LJ): at x_t = x_0
    /// and t = 0 the target-score loss vanishes for any θ, the denoising loss does not.
    /// The weight is 1/2 at the switch, → 1 below and → 0 above it.
    #[test]
    fn target_score_is_the_exact_score_at_t_zero() {
        let cfg = small_cfg(3);
        let sys = small_sys();
        let params = random_params(&cfg, 5);
        let x0 = config();
        let g0 = soft_gradient(&sys, &x0, 0.0);
        let z = noise(x0.len(), 9);
        let tsm = score_matching_target(L, &g0, &z, 0.0, 1.0);
        let scale: f64 = tsm.iter().map(|g| norm2(*g)).sum::<f64>() / (3.0 * x0.len() as f64);
        assert!(scale > 1e-4, "{scale}");
        let l_tsm = dsm_loss(&cfg, &sys, &params, &x0, &tsm, 0.0);
        assert!(l_tsm < 1e-24 * scale.max(1.0), "{l_tsm}");
        let l_dsm = dsm_loss(&cfg, &sys, &params, &x0, &z, 0.0);
        assert!(l_dsm > 0.3, "{l_dsm}");
        let blend = ScoreTarget::Blend { switch: 0.3 };
        assert!((blend.weight(0.3) - 0.5).abs() < 1e-15);
        assert!(blend.weight(0.0) > 0.97);
        assert!(blend.weight(0.7) < 0.01);
        let half = score_matching_target(L, &g0, &z, 0.1, 0.5);
        let (s, _) = schedule(L, 0.1);
        assert!((half[3][1] - 0.5 * (s * g0[3][1] + z[3][1])).abs() < 1e-15);
    }

    #[test]
    fn radial_only_model_works_and_passes_finite_differences() {
        let cfg = small_cfg(0);
        assert!(cfg.validate().is_ok());
        assert_eq!(cfg.feature_dim(), 6 + 1 + 4);
        assert_eq!(small_cfg(3).feature_dim(), 6 + 6 + 1 + 4);
        let worst = check_score_fd(&cfg)
            .max(check_time_fd(&cfg))
            .max(check_param_fd(&cfg));
        assert!(worst < 1e-6, "worst relative error {worst:.2e}");
    }

    /// Rough CPU cost of `dsm_loss_grad` at the default size in the paper's box.
    #[test]
    #[ignore = "timing: cargo test --release --lib model_grad -- --ignored --nocapture"]
    fn dsm_loss_grad_timing() {
        let cfg = ModelConfig::default();
        let sys = ModelSystem {
            box_length: 6.0,
            beta: 1.0 / 1.25,
            epsilon: 1.0,
            sigma: 1.0,
            cutoff: None,
        };
        let params = cfg.init_params(1);
        println!("param_count = {}", cfg.param_count());
        for n in [40, 200] {
            let mut rng = StdRng::seed_from_u64(n as u64);
            let x0: Vec<[f64; 3]> = (0..n)
                .map(|_| std::array::from_fn(|_| rng.random_range(0.0..6.0)))
                .collect();
            let z = noise(n, 3);
            let x_t = noised_positions(6.0, &x0, &z, 0.5);
            let reps = if n == 40 { 50 } else { 10 };
            let start = std::time::Instant::now();
            let mut acc = 0.0;
            for _ in 0..reps {
                acc += dsm_loss_grad(&cfg, &sys, &params, &x_t, &z, 0.5).0;
            }
            let dt = start.elapsed().as_secs_f64() / reps as f64;
            println!("N = {n}: dsm_loss_grad {:.2} ms (loss {acc:.3e})", dt * 1e3);
        }
    }
}
