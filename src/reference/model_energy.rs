//! CPU reference (f64) of the time-dependent energy model Ũ_θ(x, t) of neural
//! thermodynamic integration (Máté, Fleuret & Bereau 2024; docs/method.md §2–3): the
//! energy, the score ∇_x Ũ and the TI integrand ∂_t Ũ, all derivatives written by hand
//! (no autodiff). `shaders/model_energy.wgsl` mirrors passes A–C step by step and is
//! parity-tested against them (`tests/model_energy.rs`); the loss and its parameter
//! gradient (passes D–E) are [`crate::reference::model_grad`].
//!
//! # The model (this is the spec)
//!
//! Positions live in a cubic periodic box of side L; every pair separation is the
//! minimum image. kT = 1/β; LJ well depth ε and diameter σ.
//!
//! - **Noise schedule** ([`schedule`]): s(t) = s_min^(1−t) s_max^t, computed as
//!   s_min · exp(t ln(s_max/s_min)), with s_min = 1e-3 L, s_max = 0.5 L;
//!   ds/dt = s(t) ln(s_max/s_min).
//! - **Soft-core prior** ([`soft_energy`]): E_soft(x; a) = Σ_{i<j} 4βε [q⁶ − q³],
//!   q = σ² / (aσ² + r_ij²), over all minimum-image pairs, or only those with
//!   r_ij < r_cut when [`System::cutoff`] is `Some(r_cut)` (no shift). At a = 0 this
//!   is βU_LJ. Derivatives: ∂e/∂(r²) = −4βε(6q⁷ − 3q⁴)/σ², ∂e/∂a = −4βε(6q⁷ − 3q⁴).
//! - **Descriptors** of particle i ([`descriptors`]), over neighbours j ≠ i with
//!   r = |d_ij| < r_c, d_ij = minimum_image(x_j − x_i):
//!   - envelope f_c(r) = ½(cos(πr/r_c) + 1) (value and slope vanish at r_c);
//!   - radial basis φ_k(r) = exp(−γ(r − μ_k)²), k = 0..K−1, μ_k = kΔ,
//!     Δ = r_c/(K−1) (the centres cover [0, r_c] including 0), γ = 1/(2Δ²);
//!     w_k(r) := φ_k(r) f_c(r) ([`pair_basis`]);
//!   - radial invariants s_ik = Σ_j w_k(r_ij);
//!   - vector moments v_ik = Σ_j w_k(r_ij) d_ij/σ for k < K_v (`vector_channels`;
//!     0 switches them off), contracted to q_ikl = v_ik · v_il for 0 ≤ k ≤ l < K_v,
//!     in row-major upper-triangle order (k outer, l inner);
//!   - time features τ(t) = [t, sin(2πt), cos(2πt), sin(4πt), cos(4πt), …,
//!     sin(2πMt), cos(2πMt)] (sin/cos interleaved per frequency m = 1..M);
//!   - f_i = [s_i0..s_i(K−1), q_i00, q_i01, …, q_i(K_v−1)(K_v−1), τ(t)], of dimension
//!     D = K + K_v(K_v+1)/2 + 1 + 2M ([`ModelConfig::feature_dim`]).
//!
//!   f_∅(t) = [0, …, 0, τ(t)] are the features of an isolated particle.
//! - **MLP** ([`mlp_forward`]): D → H → H → 1, SiLU activation σ(z) = z/(1 + e^{−z})
//!   on both hidden layers, linear output: h1 = W1 f + b1, a1 = σ(h1),
//!   h2 = W2 a1 + b2, a2 = σ(h2), y = w3 · a2 + b3. All parameters in one flat
//!   vector, layout W1 (H×D, row-major: `W1[p][d]` at p·D + d), b1 (H), W2 (H×H,
//!   row-major), b2 (H), w3 (H), b3 (1); see [`ParamLayout`].
//! - **Network energy** ([`network_energy`]): E_θ(x, t) = Σ_i [MLP(f_i) − MLP(f_∅(t))],
//!   so an isolated particle has zero energy (this pins the additive c(t) the loss
//!   leaves free). b3 cancels: E_θ does not depend on it and its gradient is 0.
//! - **Energy** ([`energy`]): Ũ(x, t) = [t(1−t) E_θ(x, t) + (1−t) s_min E_soft(x; a = t)] / s(t),
//!   hence Ũ(x, 0) = βU_LJ(x) and Ũ(x, 1) = 0 exactly for any θ.
//! - **Denoising loss** of one configuration
//!   ([`dsm_loss`](crate::reference::model_grad::dsm_loss)): with E(x, t) := s(t) Ũ(x, t)
//!   and noise z (3N numbers), L = (1/(3N)) Σ_{i,a} (∂E/∂x_ia(x_t, t) − z_ia)², where
//!   x_t = wrap(x_0 + s(t) z) ([`noised_positions`]). The caller averages over a batch.
//!
//! The descriptors are C¹ in the positions when L ≥ 2 r_c (only the minimum image of
//! each pair is counted; at L ≥ 2 r_c no pair inside r_c can change image). The
//! soft-core prior without cutoff, like the paper's minimum-image LJ, jumps when a
//! pair separation crosses a face of the half box. The radial invariants with
//! μ_k > 0 are functions of r = |d| with non-zero slope at r = 0, so they have a
//! cusp when two particles coincide exactly; at r = 0 the d/r factors below are
//! taken as 0 (a subgradient). The vector moments use d, not d/r, and are smooth.
//!
//! # Passes (what the kernels mirror)
//!
//! | pass | shape | function | output |
//! |---|---|---|---|
//! | A | pair, gather per i | [`descriptor_moments`] | s_i (K), v_i (K_v × 3) |
//! | B | per particle | [`assemble_features`], [`mlp_forward`], [`mlp_input_gradient`], [`moment_adjoint`] | f_i, y_i, g_i = ∂y/∂f_i, (∂y/∂s_i, ∂y/∂v_i) |
//! | C | pair, gather per m | [`network_gradient`], [`soft_gradient`] | ∇_x E_θ, ∇_x E_soft |
//! | D | pair, gather per i | [`moment_tangent`](crate::reference::model_grad::moment_tangent), [`feature_tangent`](crate::reference::model_grad::feature_tangent) | δf_i along u |
//! | E | per particle, then reduce | [`mlp_tangent_param_gradient`](crate::reference::model_grad::mlp_tangent_param_gradient) | ∂_θ (g_i · δf_i) |
//!
//! Pass C in gather form: with G_ij := ∂(g_i · f_i)/∂d_ij (g_i held fixed),
//! ∂/∂x_m Σ_i g_i · f_i = Σ_{j≠m} (G_jm − G_mj), where
//! G_ij = Σ_k [∂y/∂s_ik · w_k' d/r] + Σ_{k<K_v} (1/σ) [w_k V_ik + w_k' (d · V_ik) d/r],
//! d = d_ij, V_ik = ∂y/∂v_ik. Since d_ji = −d_ij, both terms come from one pair
//! evaluation per (m, j).

use crate::reference::lj_forces::{minimum_image, norm2};
use crate::scene::model::{S_MAX_OVER_L, S_MIN_OVER_L};
use crate::scene::{ModelConfig, ModelSystem};

// ---------------------------------------------------------------------------------
// Schedule, time features, radial basis
// ---------------------------------------------------------------------------------

/// Noise schedule: (s(t), ds/dt) with s(t) = s_min exp(t ln(s_max/s_min)),
/// s_min = 1e-3 L, s_max = 0.5 L. s(0) = s_min exactly.
pub fn schedule(box_length: f64, t: f64) -> (f64, f64) {
    let ln_ratio = (S_MAX_OVER_L / S_MIN_OVER_L).ln();
    let s = S_MIN_OVER_L * box_length * (t * ln_ratio).exp();
    (s, s * ln_ratio)
}

/// Time features [t, sin(2πt), cos(2πt), …, sin(2πMt), cos(2πMt)] (length 1 + 2M).
pub fn time_features(time_frequencies: usize, t: f64) -> Vec<f64> {
    let mut out = Vec::with_capacity(1 + 2 * time_frequencies);
    out.push(t);
    for m in 1..=time_frequencies {
        let w = std::f64::consts::TAU * m as f64;
        out.push((w * t).sin());
        out.push((w * t).cos());
    }
    out
}

/// d/dt of [`time_features`]: [1, 2πm cos(2πmt), −2πm sin(2πmt), …].
pub fn time_feature_derivatives(time_frequencies: usize, t: f64) -> Vec<f64> {
    let mut out = Vec::with_capacity(1 + 2 * time_frequencies);
    out.push(1.0);
    for m in 1..=time_frequencies {
        let w = std::f64::consts::TAU * m as f64;
        out.push(w * (w * t).cos());
        out.push(-w * (w * t).sin());
    }
    out
}

/// Enveloped radial basis at distance `r` < r_c: writes w_k = φ_k(r) f_c(r) into `w`
/// and dw_k/dr into `dw` (both of length K). Returns `false` (and writes nothing)
/// for r ≥ r_c.
pub fn pair_basis(cfg: &ModelConfig, r: f64, w: &mut [f64], dw: &mut [f64]) -> bool {
    if r >= cfg.r_c {
        return false;
    }
    let x = std::f64::consts::PI * r / cfg.r_c;
    let fc = 0.5 * (x.cos() + 1.0);
    let dfc = -0.5 * std::f64::consts::PI / cfg.r_c * x.sin();
    let delta = cfg.radial_spacing();
    let gamma = cfg.radial_gamma();
    for k in 0..cfg.k_radial {
        let dr = r - k as f64 * delta;
        let phi = (-gamma * dr * dr).exp();
        let dphi = -2.0 * gamma * dr * phi;
        w[k] = phi * fc;
        dw[k] = dphi * fc + phi * dfc;
    }
    true
}

/// Minimum-image d = x_j − x_i and its squared length.
pub(crate) fn separation(pos: &[[f64; 3]], i: usize, j: usize, box_length: f64) -> ([f64; 3], f64) {
    let d = minimum_image(
        [
            pos[j][0] - pos[i][0],
            pos[j][1] - pos[i][1],
            pos[j][2] - pos[i][2],
        ],
        box_length,
    );
    (d, norm2(d))
}

pub(crate) fn inverse_or_zero(r: f64) -> f64 {
    if r > 0.0 {
        1.0 / r
    } else {
        0.0
    }
}

/// Calls `f(j, d_ij, r_ij, w, dw)` for every neighbour j ≠ i of particle i inside the
/// descriptor cutoff whose radial basis is non-zero (`w` = w_k(r), `dw` = w_k'(r)): the pair
/// loop shared by the descriptor pass and its derivatives.
pub(crate) fn for_each_basis_neighbour(
    cfg: &ModelConfig,
    sys: &ModelSystem,
    pos: &[[f64; 3]],
    i: usize,
    mut f: impl FnMut(usize, [f64; 3], f64, &[f64], &[f64]),
) {
    let rc2 = cfg.r_c * cfg.r_c;
    let mut w = vec![0.0; cfg.k_radial];
    let mut dw = vec![0.0; cfg.k_radial];
    for j in 0..pos.len() {
        if j == i {
            continue;
        }
        let (d, r2) = separation(pos, i, j, sys.box_length);
        if r2 >= rc2 {
            continue;
        }
        let r = r2.sqrt();
        if pair_basis(cfg, r, &mut w, &mut dw) {
            f(j, d, r, &w, &dw);
        }
    }
}

pub(crate) fn dot3(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

// ---------------------------------------------------------------------------------
// Pass A: descriptor moments; pass B (first half): features
// ---------------------------------------------------------------------------------

/// Per-particle descriptor moments before contraction (also used for their tangents
/// and adjoints, which have the same shape).
#[derive(Clone, Debug, PartialEq)]
pub struct Moments {
    /// s_ik, k = 0..K.
    pub radial: Vec<f64>,
    /// v_ik, k = 0..K_v.
    pub vector: Vec<[f64; 3]>,
}

impl Moments {
    /// All-zero moments of the sizes of `cfg`.
    pub fn zeros(cfg: &ModelConfig) -> Self {
        Self {
            radial: vec![0.0; cfg.k_radial],
            vector: vec![[0.0; 3]; cfg.vector_channels],
        }
    }
}

/// Pass A (pair pass, gather per particle i): s_ik = Σ_j w_k(r_ij) and
/// v_ik = Σ_j w_k(r_ij) d_ij/σ over neighbours j ≠ i with r_ij < r_c.
pub fn descriptor_moments(cfg: &ModelConfig, sys: &ModelSystem, pos: &[[f64; 3]]) -> Vec<Moments> {
    let inv_sigma = 1.0 / sys.sigma;
    (0..pos.len())
        .map(|i| {
            let mut m = Moments::zeros(cfg);
            for_each_basis_neighbour(cfg, sys, pos, i, |_, d, _, w, _| {
                for (s, wk) in m.radial.iter_mut().zip(w) {
                    *s += wk;
                }
                for (v, wk) in m.vector.iter_mut().zip(w) {
                    for a in 0..3 {
                        v[a] += wk * d[a] * inv_sigma;
                    }
                }
            });
            m
        })
        .collect()
}

/// Pass B, first step (per particle): f_i = [s_i, q_i (upper triangle of v_ik·v_il,
/// row-major), time features].
pub fn assemble_features(cfg: &ModelConfig, m: &Moments, t: f64) -> Vec<f64> {
    let mut f = Vec::with_capacity(cfg.feature_dim());
    f.extend_from_slice(&m.radial);
    let kv = cfg.vector_channels;
    for k in 0..kv {
        for l in k..kv {
            f.push(dot3(m.vector[k], m.vector[l]));
        }
    }
    f.extend(time_features(cfg.time_frequencies, t));
    f
}

/// Features of an isolated particle: f_∅(t) = [0, …, 0, time features].
pub fn null_features(cfg: &ModelConfig, t: f64) -> Vec<f64> {
    assemble_features(cfg, &Moments::zeros(cfg), t)
}

/// f_i for every particle (passes A and the feature step of B).
pub fn descriptors(
    cfg: &ModelConfig,
    sys: &ModelSystem,
    pos: &[[f64; 3]],
    t: f64,
) -> Vec<Vec<f64>> {
    descriptor_moments(cfg, sys, pos)
        .iter()
        .map(|m| assemble_features(cfg, m, t))
        .collect()
}

// ---------------------------------------------------------------------------------
// Pass B: the MLP
// ---------------------------------------------------------------------------------

/// SiLU and its first two derivatives: (σ(z), σ'(z), σ''(z)) with
/// σ' = g(1 + z(1−g)), σ'' = g(1−g)(2 + z(1−2g)), g = 1/(1 + e^{−z}).
pub fn silu(z: f64) -> (f64, f64, f64) {
    let g = 1.0 / (1.0 + (-z).exp());
    (
        z * g,
        g * (1.0 + z * (1.0 - g)),
        g * (1.0 - g) * (2.0 + z * (1.0 - 2.0 * g)),
    )
}

/// What the forward pass keeps for the backward passes.
#[derive(Clone, Debug, PartialEq)]
pub struct MlpForward {
    /// h1 = W1 f + b1 (pre-activations of layer 1).
    pub pre1: Vec<f64>,
    /// h2 = W2 σ(h1) + b2 (pre-activations of layer 2).
    pub pre2: Vec<f64>,
    /// y = w3 · σ(h2) + b3.
    pub output: f64,
}

/// y = MLP(f), keeping the pre-activations.
pub fn mlp_forward(cfg: &ModelConfig, params: &[f64], f: &[f64]) -> MlpForward {
    let (d, h) = (cfg.feature_dim(), cfg.hidden);
    let lay = cfg.layout();
    let w1 = &params[lay.w1..lay.b1];
    let w2 = &params[lay.w2..lay.b2];
    let pre1: Vec<f64> = (0..h)
        .map(|p| params[lay.b1 + p] + dot(&w1[p * d..(p + 1) * d], f))
        .collect();
    let a1: Vec<f64> = pre1.iter().map(|&z| silu(z).0).collect();
    let pre2: Vec<f64> = (0..h)
        .map(|p| params[lay.b2 + p] + dot(&w2[p * h..(p + 1) * h], &a1))
        .collect();
    let output = params[lay.b3]
        + pre2
            .iter()
            .zip(&params[lay.w3..lay.b3])
            .map(|(&z, w)| w * silu(z).0)
            .sum::<f64>();
    MlpForward { pre1, pre2, output }
}

pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// g = ∂y/∂f (reverse pass seeded with 1): adj_h2 = w3 ⊙ σ'(h2),
/// adj_h1 = (W2ᵀ adj_h2) ⊙ σ'(h1), g = W1ᵀ adj_h1.
pub fn mlp_input_gradient(cfg: &ModelConfig, params: &[f64], fwd: &MlpForward) -> Vec<f64> {
    let (d, h) = (cfg.feature_dim(), cfg.hidden);
    let lay = cfg.layout();
    let adj_h2: Vec<f64> = (0..h)
        .map(|p| params[lay.w3 + p] * silu(fwd.pre2[p]).1)
        .collect();
    let mut adj_h1 = vec![0.0; h];
    for (p, &a) in adj_h2.iter().enumerate() {
        let row = &params[lay.w2 + p * h..lay.w2 + (p + 1) * h];
        for (q, w) in row.iter().enumerate() {
            adj_h1[q] += w * a;
        }
    }
    for (q, a) in adj_h1.iter_mut().enumerate() {
        *a *= silu(fwd.pre1[q]).1;
    }
    let mut g = vec![0.0; d];
    for (p, &a) in adj_h1.iter().enumerate() {
        let row = &params[lay.w1 + p * d..lay.w1 + (p + 1) * d];
        for (gd, w) in g.iter_mut().zip(row) {
            *gd += w * a;
        }
    }
    g
}

/// Pass B, last step (per particle): splits g = ∂y/∂f into the adjoints of the moments,
/// ∂y/∂s_ik = g_k and ∂y/∂v_ik = Σ_l c_kl v_il with c_kl = c_lk = g_{q_kl} (k ≠ l),
/// c_kk = 2 g_{q_kk}. The time slots of g are not used here.
pub fn moment_adjoint(cfg: &ModelConfig, m: &Moments, g: &[f64]) -> Moments {
    let kv = cfg.vector_channels;
    let mut adj = Moments::zeros(cfg);
    adj.radial.copy_from_slice(&g[..cfg.k_radial]);
    let mut idx = cfg.k_radial;
    for k in 0..kv {
        for l in k..kv {
            let c = g[idx];
            idx += 1;
            for a in 0..3 {
                adj.vector[k][a] += c * m.vector[l][a];
                adj.vector[l][a] += c * m.vector[k][a];
            }
        }
    }
    adj
}

// ---------------------------------------------------------------------------------
// Pass C: position gradients
// ---------------------------------------------------------------------------------

/// Pass C, network part (pair pass, gather per particle m): ∇_{x_m} Σ_i g_i · f_i with
/// the moment adjoints `adj` (from [`moment_adjoint`]) held fixed; with the adjoints of
/// the MLP this is ∇_x E_θ. Per neighbour j (d = d_mj, r < r_c):
/// Σ_k −(A_jk + A_mk) w_k' d/r + Σ_{k<K_v} (1/σ)[w_k Δ_k + w_k' (d · Δ_k) d/r],
/// where A = ∂y/∂s, Δ_k = V_jk − V_mk, V = ∂y/∂v.
pub fn network_gradient(
    cfg: &ModelConfig,
    sys: &ModelSystem,
    pos: &[[f64; 3]],
    adj: &[Moments],
) -> Vec<[f64; 3]> {
    let inv_sigma = 1.0 / sys.sigma;
    let mut out = vec![[0.0; 3]; pos.len()];
    for (m, acc) in out.iter_mut().enumerate() {
        for_each_basis_neighbour(cfg, sys, pos, m, |j, d, r, w, dw| {
            let inv_r = inverse_or_zero(r);
            let radial: f64 = (0..cfg.k_radial)
                .map(|k| -(adj[j].radial[k] + adj[m].radial[k]) * dw[k] * inv_r)
                .sum();
            for a in 0..3 {
                acc[a] += radial * d[a];
            }
            for k in 0..cfg.vector_channels {
                let (vj, vm) = (adj[j].vector[k], adj[m].vector[k]);
                let delta = [vj[0] - vm[0], vj[1] - vm[1], vj[2] - vm[2]];
                let along = dw[k] * inv_r * dot3(d, delta);
                for a in 0..3 {
                    acc[a] += inv_sigma * (w[k] * delta[a] + along * d[a]);
                }
            }
        });
    }
    out
}

/// Soft-core pair term at squared distance `r2`: `Some((e, ∂e/∂(r²), ∂e/∂a))` with
/// e = 4βε(q⁶ − q³), q = σ²/(aσ² + r²); `None` beyond the cutoff.
pub fn soft_pair(sys: &ModelSystem, r2: f64, a: f64) -> Option<(f64, f64, f64)> {
    if let Some(rc) = sys.cutoff {
        if r2 >= rc * rc {
            return None;
        }
    }
    let s2 = sys.sigma * sys.sigma;
    let q = s2 / (a * s2 + r2);
    let q2 = q * q;
    let q3 = q2 * q;
    let q4 = q2 * q2;
    let q6 = q3 * q3;
    let q7 = q6 * q;
    let c = 4.0 * sys.beta * sys.epsilon;
    let slope = -c * (6.0 * q7 - 3.0 * q4);
    Some((c * (q6 - q3), slope / s2, slope))
}

/// E_soft(x; a) = Σ_{i<j} 4βε [q⁶ − q³], q = σ²/(aσ² + r_ij²) (minimum image).
pub fn soft_energy(sys: &ModelSystem, pos: &[[f64; 3]], a: f64) -> f64 {
    soft_sums(sys, pos, a).0
}

/// ∂E_soft/∂a.
pub fn soft_energy_da(sys: &ModelSystem, pos: &[[f64; 3]], a: f64) -> f64 {
    soft_sums(sys, pos, a).1
}

fn soft_sums(sys: &ModelSystem, pos: &[[f64; 3]], a: f64) -> (f64, f64) {
    let n = pos.len();
    let (mut e, mut de_da) = (0.0, 0.0);
    for i in 0..n {
        for j in i + 1..n {
            let (_, r2) = separation(pos, i, j, sys.box_length);
            if let Some((u, _, du_da)) = soft_pair(sys, r2, a) {
                e += u;
                de_da += du_da;
            }
        }
    }
    (e, de_da)
}

/// Pass C, prior part (pair pass, gather per particle i): ∇_{x_i} E_soft(x; a)
/// = Σ_j ∂e/∂(r²) · (−2 d_ij), d_ij = x_j − x_i.
pub fn soft_gradient(sys: &ModelSystem, pos: &[[f64; 3]], a: f64) -> Vec<[f64; 3]> {
    let n = pos.len();
    let mut out = vec![[0.0; 3]; n];
    for (i, acc) in out.iter_mut().enumerate() {
        for j in 0..n {
            if j == i {
                continue;
            }
            let (d, r2) = separation(pos, i, j, sys.box_length);
            if let Some((_, de_dr2, _)) = soft_pair(sys, r2, a) {
                for k in 0..3 {
                    acc[k] -= 2.0 * de_dr2 * d[k];
                }
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------
// Composition: energy, score, ∂_t
// ---------------------------------------------------------------------------------

/// Passes A and B for one configuration.
pub(crate) struct NetworkPass {
    pub(crate) moments: Vec<Moments>,
    pub(crate) features: Vec<Vec<f64>>,
    pub(crate) mlp: Vec<MlpForward>,
    null_mlp: MlpForward,
}

impl NetworkPass {
    pub(crate) fn new(
        cfg: &ModelConfig,
        sys: &ModelSystem,
        params: &[f64],
        pos: &[[f64; 3]],
        t: f64,
    ) -> Self {
        let moments = descriptor_moments(cfg, sys, pos);
        let features: Vec<Vec<f64>> = moments
            .iter()
            .map(|m| assemble_features(cfg, m, t))
            .collect();
        let mlp = features
            .iter()
            .map(|f| mlp_forward(cfg, params, f))
            .collect();
        let null_mlp = mlp_forward(cfg, params, &null_features(cfg, t));
        Self {
            moments,
            features,
            mlp,
            null_mlp,
        }
    }

    /// E_θ = Σ_i [y_i − y_∅].
    fn energy(&self) -> f64 {
        self.mlp
            .iter()
            .map(|f| f.output - self.null_mlp.output)
            .sum()
    }

    /// ∂_t E_θ = Σ_i (g_i − g_∅) · τ'(t), over the time slots of the input gradients.
    fn time_derivative(&self, cfg: &ModelConfig, params: &[f64], t: f64) -> f64 {
        let off = cfg.time_feature_offset();
        let dtau = time_feature_derivatives(cfg.time_frequencies, t);
        let slope = |fwd: &MlpForward| dot(&mlp_input_gradient(cfg, params, fwd)[off..], &dtau);
        let null_slope = slope(&self.null_mlp);
        self.mlp.iter().map(|f| slope(f) - null_slope).sum()
    }

    /// ∇_x E_θ (passes B adjoint + C).
    fn gradient(
        &self,
        cfg: &ModelConfig,
        sys: &ModelSystem,
        params: &[f64],
        pos: &[[f64; 3]],
    ) -> Vec<[f64; 3]> {
        let adj: Vec<Moments> = self
            .moments
            .iter()
            .zip(&self.mlp)
            .map(|(m, fwd)| moment_adjoint(cfg, m, &mlp_input_gradient(cfg, params, fwd)))
            .collect();
        network_gradient(cfg, sys, pos, &adj)
    }
}

/// E_θ(x, t) = Σ_i [MLP(f_i(x, t)) − MLP(f_∅(t))].
pub fn network_energy(
    cfg: &ModelConfig,
    sys: &ModelSystem,
    params: &[f64],
    pos: &[[f64; 3]],
    t: f64,
) -> f64 {
    NetworkPass::new(cfg, sys, params, pos, t).energy()
}

/// ∂_t E_θ(x, t) at fixed x: Σ_i (g_i − g_∅) · dτ/dt, where g are the MLP input
/// gradients restricted to the time slots (the descriptors do not depend on t).
pub fn network_time_derivative(
    cfg: &ModelConfig,
    sys: &ModelSystem,
    params: &[f64],
    pos: &[[f64; 3]],
    t: f64,
) -> f64 {
    NetworkPass::new(cfg, sys, params, pos, t).time_derivative(cfg, params, t)
}

/// ∇_x E_θ(x, t): MLP input gradients (pass B) and the descriptor back-propagation
/// pair pass [`network_gradient`] (pass C).
pub fn network_energy_gradient(
    cfg: &ModelConfig,
    sys: &ModelSystem,
    params: &[f64],
    pos: &[[f64; 3]],
    t: f64,
) -> Vec<[f64; 3]> {
    NetworkPass::new(cfg, sys, params, pos, t).gradient(cfg, sys, params, pos)
}

/// Ũ(x, t) = [t(1−t) E_θ(x, t) + (1−t) s_min E_soft(x; a = t)] / s(t).
pub fn energy(
    cfg: &ModelConfig,
    sys: &ModelSystem,
    params: &[f64],
    pos: &[[f64; 3]],
    t: f64,
) -> f64 {
    let (s, _) = schedule(sys.box_length, t);
    let e_net = network_energy(cfg, sys, params, pos, t);
    let e_soft = soft_energy(sys, pos, t);
    (t * (1.0 - t) * e_net + (1.0 - t) * sys.s_min() * e_soft) / s
}

/// ∇_x E(x, t) = s(t) ∇_x Ũ = t(1−t) ∇_x E_θ + (1−t) s_min ∇_x E_soft(x; t): the quantity
/// the denoising loss regresses on z.
pub fn scaled_score(
    cfg: &ModelConfig,
    sys: &ModelSystem,
    params: &[f64],
    pos: &[[f64; 3]],
    t: f64,
) -> Vec<[f64; 3]> {
    let net = NetworkPass::new(cfg, sys, params, pos, t);
    scaled_score_from(cfg, sys, params, pos, t, &net)
}

pub(crate) fn scaled_score_from(
    cfg: &ModelConfig,
    sys: &ModelSystem,
    params: &[f64],
    pos: &[[f64; 3]],
    t: f64,
    net: &NetworkPass,
) -> Vec<[f64; 3]> {
    let g_net = net.gradient(cfg, sys, params, pos);
    let g_soft = soft_gradient(sys, pos, t);
    let (c_net, c_soft) = (t * (1.0 - t), (1.0 - t) * sys.s_min());
    g_net
        .iter()
        .zip(&g_soft)
        .map(|(a, b)| std::array::from_fn(|k| c_net * a[k] + c_soft * b[k]))
        .collect()
}

/// ∇_x Ũ(x, t) (the model's score is its negative): MLP input gradients, the descriptor
/// back-propagation pair pass and the soft-core forces, divided by s(t).
pub fn score(
    cfg: &ModelConfig,
    sys: &ModelSystem,
    params: &[f64],
    pos: &[[f64; 3]],
    t: f64,
) -> Vec<[f64; 3]> {
    let (s, _) = schedule(sys.box_length, t);
    scaled_score(cfg, sys, params, pos, t)
        .into_iter()
        .map(|g| g.map(|x| x / s))
        .collect()
}

/// ∂_t Ũ(x, t) at fixed x. With E = t(1−t) E_θ + (1−t) s_min E_soft(x; t):
/// ∂_t E = (1−2t) E_θ + t(1−t) ∂_t E_θ − s_min E_soft + (1−t) s_min ∂_a E_soft,
/// ∂_t E_θ = Σ_i (g_i − g_∅)·τ'(t) over the time slots, and
/// ∂_t Ũ = ∂_t E / s − E s'/s².
pub fn time_derivative(
    cfg: &ModelConfig,
    sys: &ModelSystem,
    params: &[f64],
    pos: &[[f64; 3]],
    t: f64,
) -> f64 {
    let (s, ds) = schedule(sys.box_length, t);
    let net = NetworkPass::new(cfg, sys, params, pos, t);
    let e_net = net.energy();
    let de_net = net.time_derivative(cfg, params, t);
    let (e_soft, de_soft_da) = soft_sums(sys, pos, t);
    let s_min = sys.s_min();
    let e = t * (1.0 - t) * e_net + (1.0 - t) * s_min * e_soft;
    let de = (1.0 - 2.0 * t) * e_net + t * (1.0 - t) * de_net - s_min * e_soft
        + (1.0 - t) * s_min * de_soft_da;
    de / s - e * ds / (s * s)
}

/// x_t = wrap(x_0 + s(t) z) into [0, L)³.
pub fn noised_positions(box_length: f64, x0: &[[f64; 3]], z: &[[f64; 3]], t: f64) -> Vec<[f64; 3]> {
    let (s, _) = schedule(box_length, t);
    x0.iter()
        .zip(z)
        .map(|(x, zz)| {
            std::array::from_fn(|a| {
                let y = x[a] + s * zz[a];
                y - box_length * (y / box_length).floor()
            })
        })
        .collect()
}

/// Shared fixtures of the reference's unit tests (a small model, a planted configuration,
/// finite differences) and the position and time derivative checks.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use rand_distr::{Distribution, StandardNormal};

    pub(crate) const L: f64 = 4.0;

    pub(crate) fn small_cfg(vector_channels: usize) -> ModelConfig {
        ModelConfig {
            k_radial: 6,
            vector_channels,
            time_frequencies: 2,
            hidden: 8,
            r_c: 2.0,
        }
    }

    pub(crate) fn small_sys() -> ModelSystem {
        ModelSystem {
            box_length: L,
            beta: 1.0 / 1.25,
            epsilon: 1.0,
            sigma: 1.0,
            cutoff: None,
        }
    }

    /// Seeded init plus a perturbation of every parameter, so biases are non-zero.
    pub(crate) fn random_params(cfg: &ModelConfig, seed: u64) -> Vec<f64> {
        let mut rng = StdRng::seed_from_u64(seed ^ 0xABCD);
        cfg.init_params(seed)
            .into_iter()
            .map(|p| p + rng.random_range(-0.2..0.2))
            .collect()
    }

    pub(crate) fn wrap(x: [f64; 3]) -> [f64; 3] {
        x.map(|y| y - L * (y / L).floor())
    }

    /// 10 particles in L = 4: a pair at r = 0.49σ across the z boundary, a pair at
    /// r ≈ 0.83σ across the x boundary, the rest random with r > 0.9σ; no pair has a
    /// separation component within 1e-2 of L/2 (where minimum image jumps).
    pub(crate) fn config() -> Vec<[f64; 3]> {
        let mut pos = vec![
            [2.0, 2.0, 0.2],
            wrap([2.3, 2.25, -0.1]),
            [0.1, 1.0, 2.0],
            [3.3, 1.2, 2.1],
        ];
        let mut rng = StdRng::seed_from_u64(7);
        while pos.len() < 10 {
            let c: [f64; 3] = std::array::from_fn(|_| rng.random_range(0.0..L));
            let ok = pos.iter().all(|p| {
                let d = minimum_image(std::array::from_fn(|a| c[a] - p[a]), L);
                norm2(d) > 0.81 && d.iter().all(|x| (x.abs() - 0.5 * L).abs() > 1e-2)
            });
            if ok {
                pos.push(c);
            }
        }
        pos
    }

    pub(crate) fn noise(n: usize, seed: u64) -> Vec<[f64; 3]> {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..n)
            .map(|_| std::array::from_fn(|_| StandardNormal.sample(&mut rng)))
            .collect()
    }

    /// Fourth-order central difference (f(x−2h) − 8f(x−h) + 8f(x+h) − f(x+2h))/(12h).
    pub(crate) fn central(h: f64, mut f: impl FnMut(f64) -> f64) -> f64 {
        (f(-2.0 * h) - 8.0 * f(-h) + 8.0 * f(h) - f(2.0 * h)) / (12.0 * h)
    }

    /// Worst |a − b| / max(|b|, scale) with scale = RMS of `numeric` (norm-relative floor).
    pub(crate) fn worst_relative(analytic: &[f64], numeric: &[f64]) -> (f64, usize) {
        let rms = (numeric.iter().map(|x| x * x).sum::<f64>() / numeric.len() as f64).sqrt();
        let mut worst = (0.0, 0);
        for (k, (a, b)) in analytic.iter().zip(numeric).enumerate() {
            let e = (a - b).abs() / b.abs().max(rms);
            if e > worst.0 || e.is_nan() {
                worst = (e, k);
            }
        }
        worst
    }

    pub(crate) const TIMES: [f64; 4] = [0.05, 0.3, 0.62, 0.9];

    pub(crate) fn check_score_fd(cfg: &ModelConfig) -> f64 {
        let sys = small_sys();
        let params = random_params(cfg, 11);
        let pos = config();
        let mut worst: f64 = 0.0;
        for t in TIMES {
            let analytic: Vec<f64> = score(cfg, &sys, &params, &pos, t).concat();
            let numeric = position_fd(&pos, &|p| energy(cfg, &sys, &params, p, t));
            let (e, k) = worst_relative(&analytic, &numeric);
            println!(
                "score FD t = {t}: worst rel {e:.2e} at component {k} ({} vs {})",
                analytic[k], numeric[k]
            );
            worst = worst.max(e);
            // The parts separately, so that neither can hide under the other's scale.
            let parts: [(&str, Vec<f64>, EnergyOf); 2] = [
                (
                    "grad E_theta",
                    network_energy_gradient(cfg, &sys, &params, &pos, t).concat(),
                    &|p| network_energy(cfg, &sys, &params, p, t),
                ),
                ("grad E_soft", soft_gradient(&sys, &pos, t).concat(), &|p| {
                    soft_energy(&sys, p, t)
                }),
            ];
            for (name, analytic, f) in parts {
                let numeric = position_fd(&pos, f);
                let (e, k) = worst_relative(&analytic, &numeric);
                println!("{name} FD t = {t}: worst rel {e:.2e} at component {k}");
                worst = worst.max(e);
            }
        }
        worst
    }

    /// An energy as a function of the positions.
    pub(crate) type EnergyOf<'a> = &'a dyn Fn(&[[f64; 3]]) -> f64;

    pub(crate) fn position_fd(pos: &[[f64; 3]], f: EnergyOf) -> Vec<f64> {
        let mut numeric = Vec::new();
        for i in 0..pos.len() {
            for a in 0..3 {
                numeric.push(central(1e-4, |h| {
                    let mut p = pos.to_vec();
                    p[i][a] += h;
                    f(&p)
                }));
            }
        }
        numeric
    }

    pub(crate) fn check_time_fd(cfg: &ModelConfig) -> f64 {
        let sys = small_sys();
        let params = random_params(cfg, 12);
        let pos = config();
        let mut worst: f64 = 0.0;
        for t in TIMES {
            let a = time_derivative(cfg, &sys, &params, &pos, t);
            let b = central(1e-4, |h| energy(cfg, &sys, &params, &pos, t + h));
            let e = (a - b).abs() / b.abs();
            println!("dU/dt FD t = {t}: {a} vs {b}, rel {e:.2e}");
            worst = worst.max(e);
            // The parts separately: ∂_t E_θ and ∂_a E_soft.
            let a = network_time_derivative(cfg, &sys, &params, &pos, t);
            let b = central(1e-4, |h| network_energy(cfg, &sys, &params, &pos, t + h));
            let e = (a - b).abs() / b.abs();
            println!("dE_theta/dt FD t = {t}: {a} vs {b}, rel {e:.2e}");
            worst = worst.max(e);
            let a = soft_energy_da(&sys, &pos, t);
            let b = central(1e-4, |h| soft_energy(&sys, &pos, t + h));
            let e = (a - b).abs() / b.abs();
            println!("dE_soft/da FD a = {t}: {a} vs {b}, rel {e:.2e}");
            worst = worst.max(e);
        }
        worst
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;
    use crate::reference::lj_forces::lj_forces;
    use crate::scene::LjParams;

    #[test]
    fn score_matches_finite_differences() {
        let worst = check_score_fd(&small_cfg(3));
        assert!(worst < 1e-6, "worst relative error {worst:.2e}");
    }

    #[test]
    fn time_derivative_matches_finite_differences() {
        let worst = check_time_fd(&small_cfg(3));
        assert!(worst < 1e-6, "worst relative error {worst:.2e}");
    }

    #[test]
    fn endpoints_are_exact_for_any_parameters() {
        let sys = small_sys();
        let pos = config();
        let lj = LjParams {
            epsilon: sys.epsilon,
            sigma: sys.sigma,
            cutoff: None,
            shift: false,
            box_length: L,
        };
        let beta_u = sys.beta * lj_forces(&pos, &lj).total_energy();
        for v in [0, 3] {
            let cfg = small_cfg(v);
            for seed in 0..3 {
                let params = random_params(&cfg, seed);
                let u0 = energy(&cfg, &sys, &params, &pos, 0.0);
                assert!(
                    (u0 - beta_u).abs() <= 1e-10 * beta_u.abs(),
                    "U(x, 0) = {u0}, beta U_LJ = {beta_u}"
                );
                let u1 = energy(&cfg, &sys, &params, &pos, 1.0);
                assert!(u1.abs() < 1e-12, "U(x, 1) = {u1}");
                // The network really contributes in between.
                let e_net = network_energy(&cfg, &sys, &params, &pos, 0.5);
                assert!(e_net.abs() > 1e-3, "E_theta = {e_net}");
            }
        }
    }

    fn assert_same_energy_and_score(
        cfg: &ModelConfig,
        params: &[f64],
        pos: &[[f64; 3]],
        moved: &[[f64; 3]],
        map_score: impl Fn(usize, [f64; 3]) -> (usize, [f64; 3]),
        what: &str,
    ) {
        let sys = small_sys();
        for t in [0.05, 0.5, 0.9] {
            let (u, u2) = (
                energy(cfg, &sys, params, pos, t),
                energy(cfg, &sys, params, moved, t),
            );
            assert!(
                (u - u2).abs() <= 1e-10 * u.abs(),
                "{what}: U = {u} vs {u2} at t = {t}"
            );
            let g = score(cfg, &sys, params, pos, t);
            let g2 = score(cfg, &sys, params, moved, t);
            let gmax = g.iter().flatten().fold(0.0f64, |m, x| m.max(x.abs()));
            for (i, gi) in g.iter().enumerate() {
                let (j, expected) = map_score(i, *gi);
                for a in 0..3 {
                    assert!(
                        (g2[j][a] - expected[a]).abs() <= 1e-10 * gmax,
                        "{what}: score of {i} -> {j}: {:?} vs {expected:?}",
                        g2[j]
                    );
                }
            }
        }
    }

    #[test]
    fn energy_is_invariant_and_score_covariant() {
        let cfg = small_cfg(3);
        let params = random_params(&cfg, 21);
        let pos = config();
        let n = pos.len();
        // Translation with wrap.
        let shift = [1.37, -2.91, 0.73];
        let moved: Vec<_> = pos
            .iter()
            .map(|p| wrap(std::array::from_fn(|a| p[a] + shift[a])))
            .collect();
        assert_same_energy_and_score(&cfg, &params, &pos, &moved, |i, g| (i, g), "translation");
        // Permutation (reversal).
        let moved: Vec<_> = pos.iter().rev().copied().collect();
        assert_same_energy_and_score(
            &cfg,
            &params,
            &pos,
            &moved,
            |i, g| (n - 1 - i, g),
            "permutation",
        );
        // Cube symmetries: axis permutation `perm` then reflection x_a → L − x_a where flip[a].
        let symmetries = [
            ([1, 2, 0], [false, false, false]),
            ([0, 1, 2], [true, false, false]),
            ([2, 0, 1], [false, true, true]),
            ([1, 0, 2], [true, true, true]),
        ];
        for (perm, flip) in symmetries {
            let apply = |x: [f64; 3]| -> [f64; 3] {
                std::array::from_fn(|a| {
                    let y = x[perm[a]];
                    if flip[a] {
                        L - y
                    } else {
                        y
                    }
                })
            };
            let rotate = |g: [f64; 3]| -> [f64; 3] {
                std::array::from_fn(|a| if flip[a] { -g[perm[a]] } else { g[perm[a]] })
            };
            let moved: Vec<_> = pos.iter().map(|p| wrap(apply(*p))).collect();
            assert_same_energy_and_score(
                &cfg,
                &params,
                &pos,
                &moved,
                |i, g| (i, rotate(g)),
                &format!("cube symmetry {perm:?} {flip:?}"),
            );
        }
    }

    #[test]
    fn isolated_particle_has_zero_network_energy() {
        let sys = ModelSystem {
            box_length: 20.0,
            ..small_sys()
        };
        let pos = vec![[1.0, 1.0, 1.0], [4.0, 5.0, 6.0]];
        for v in [0, 3] {
            let cfg = small_cfg(v);
            let params = random_params(&cfg, 31);
            for t in [0.05, 0.5, 0.9] {
                assert_eq!(network_energy(&cfg, &sys, &params, &pos, t), 0.0);
                // Within r_c the same network gives a non-zero energy.
                let near = vec![[1.0, 1.0, 1.0], [2.2, 1.0, 1.0]];
                assert!(network_energy(&cfg, &sys, &params, &near, t).abs() > 1e-6);
            }
        }
    }

    #[test]
    fn sizes_and_layout() {
        let cfg = ModelConfig::default();
        assert_eq!(cfg.feature_dim(), 16 + 36 + 1 + 6);
        assert_eq!(cfg.param_count(), 64 * 59 + 64 + 64 * 64 + 64 + 64 + 1);
        let p = cfg.init_params(5);
        assert_eq!(p, cfg.init_params(5));
        assert_ne!(p, cfg.init_params(6));
        let lay = cfg.layout();
        assert!(p[lay.b1..lay.w2].iter().all(|&b| b == 0.0));
        assert!(p[lay.w1..lay.b1]
            .iter()
            .all(|w| w.abs() < (6.0f64 / 123.0).sqrt()));
        assert!(ModelConfig { k_radial: 1, ..cfg }.validate().is_err());
        assert!(ModelConfig {
            vector_channels: 17,
            ..cfg
        }
        .validate()
        .is_err());
        let (s0, _) = schedule(6.0, 0.0);
        let (s1, _) = schedule(6.0, 1.0);
        assert_eq!(s0, 6e-3);
        assert!((s1 - 3.0).abs() < 1e-12);
    }
}
