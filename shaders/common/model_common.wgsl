// Shared by the energy model's kernels (model_energy.wgsl, model_grad.wgsl): the
// compile-time maxima of the per-invocation arrays (mirrored by MAX_* in
// src/scene/model.rs), the workgroup tile of positions, the uniform parameters of a batch
// (ModelParams, mirrored by src/model/model_energy.rs), the vec4 loads of the flat
// parameter vector, and the model's building blocks: activation, time features, envelope,
// radial basis, noise schedule, the staging and neighbour compaction of a tile. Expects the
// including shader to declare `theta` (storage array<f32>, the parameters in the layout of
// ModelConfig::layout) and `pos` (storage array<vec4<f32>>, the positions of the batch).

const MAX_K: u32 = 64u;
const MAX_KV: u32 = 16u;
const MAX_D: u32 = 160u;
const MAX_H: u32 = 128u;
const MAX_H4: u32 = 32u;
// Compile-time K and K_v of the model the kernels are built for (ModelKernels::new sets
// them from the model's configuration): the pair passes keep one register per radial
// function and vector channel instead of an array.
const KR: u32 = 16u;
const KVEC: u32 = 8u;
// GROUP: invocations per workgroup of the pair passes (one particle each); TILE: particles
// staged per step of their pair loops (every invocation stages TILE / GROUP of them).
const GROUP: u32 = 64u;
const TILE: u32 = 256u;
const PI: f32 = 3.14159265358979;
const TAU: f32 = 6.28318530717959;

// Packed MLP weights (`wpack`, written by model_energy's `model_pack` from theta), vec4
// blocks with h4 = ceil(H/4), d4 = ceil(D/4), zero beyond H or D:
//   W1T[d][qb] = (W1[4qb..4qb+3][d])      at d * h4 + qb                (d < D)
//   W1P[q][db] = (W1[q][4db..4db+3])      at o_w1p + q * d4 + db        (q < 4 h4)
//   W2T[u][qb] = (W2[4qb..4qb+3][u])      at o_w2t + u * h4 + qb        (u < 4 h4)
//   W2P[q][ub] = (W2[q][4ub..4ub+3])      at o_w2p + q * h4 + ub        (q < 4 h4)
//   b1, b2, w3 in blocks of four          at o_bias + {0, 1, 2} h4 + qb
// n_pack = o_bias + 3 h4 vec4 in all.
struct ModelParams {
    k_radial: u32,     // K
    kv: u32,           // K_v (0: no vector moments)
    freqs: u32,        // M
    hidden: u32,       // H
    dim: u32,          // D = K + K_v(K_v+1)/2 + 1 + 2M
    n: u32,            // particles per configuration
    n_configs: u32,    // C
    time_offset: u32,  // K + K_v(K_v+1)/2
    w1: u32,           // offsets into theta (W1 < b1 < W2 < b2 < w3 < b3)
    b1: u32,
    w2: u32,
    b2: u32,
    w3: u32,
    b3: u32,
    h4: u32,           // ceil(H / 4)
    d4: u32,           // ceil(D / 4)
    r_c: f32,          // descriptor cutoff
    box_length: f32,
    inv_box: f32,
    eps4_beta: f32,    // 4 beta epsilon
    sigma2: f32,       // sigma^2
    inv_sigma: f32,    // 1 / sigma
    s_min: f32,        // 1e-3 L
    ln_ratio: f32,     // ln(s_max / s_min)
    soft_rc2: f32,     // prior cutoff^2 (3.4e38: all minimum-image pairs)
    delta: f32,        // radial spacing r_c / (K - 1)
    gamma: f32,        // 1 / (2 delta^2)
    o_w1p: u32,        // offsets into wpack (vec4 units), see above
    o_w2t: u32,
    o_w2p: u32,
    o_bias: u32,
    n_pack: u32,
}

// Positions of one tile of TILE particles of a configuration, staged by every pair pass.
var<workgroup> tile: array<vec4<f32>, TILE>;

// Stages particles first .. first + TILE - 1 (those below n) of the configuration whose
// positions start at pos[base] into `tile`, TILE / GROUP of them per invocation `li`. Call
// from uniform control flow, followed by workgroupBarrier().
fn stage_positions(base: u32, first: u32, n: u32, li: u32) {
    for (var sl = li; sl < TILE; sl = sl + GROUP) {
        if (first + sl < n) {
            tile[sl] = pos[base + first + sl];
        }
    }
}

// Four rows (clamped to the last row h - 1) of a row-major matrix in theta at `base` with
// `cols` columns, column c: (M[q0][c], M[q0+1][c], M[q0+2][c], M[q0+3][c]).
fn rows4(base: u32, q0: u32, h: u32, cols: u32, c: u32) -> vec4<f32> {
    return vec4<f32>(
        theta[base + min(q0, h - 1u) * cols + c],
        theta[base + min(q0 + 1u, h - 1u) * cols + c],
        theta[base + min(q0 + 2u, h - 1u) * cols + c],
        theta[base + min(q0 + 3u, h - 1u) * cols + c],
    );
}

// Four consecutive entries (clamped to the last index h - 1) of theta from `base + u0`.
fn cols4(base: u32, u0: u32, h: u32) -> vec4<f32> {
    return vec4<f32>(
        theta[base + min(u0, h - 1u)],
        theta[base + min(u0 + 1u, h - 1u)],
        theta[base + min(u0 + 2u, h - 1u)],
        theta[base + min(u0 + 3u, h - 1u)],
    );
}

// SiLU value and first two derivatives: (z g, g (1 + z (1 - g)), g (1 - g) (2 + z (1 - 2g))),
// g = 1 / (1 + e^-z).
fn silu3(z: f32) -> vec3<f32> {
    let g = 1.0 / (1.0 + exp(-z));
    return vec3<f32>(z * g, g * (1.0 + z * (1.0 - g)), g * (1.0 - g) * (2.0 + z * (1.0 - 2.0 * g)));
}

// acc + W a for four inputs a = (a.x, a.y, a.z, a.w) whose weight columns, over four outputs,
// are wx, wy, wz, ww (fused multiply-adds in that order).
fn fma4(wx: vec4<f32>, wy: vec4<f32>, wz: vec4<f32>, ww: vec4<f32>, a: vec4<f32>, acc: vec4<f32>) -> vec4<f32> {
    return fma(ww, vec4<f32>(a.w), fma(wz, vec4<f32>(a.z), fma(wy, vec4<f32>(a.y), fma(wx, vec4<f32>(a.x), acc))));
}

// SiLU of four values: value, slope and curvature (as silu3).
struct Act4 {
    v: vec4<f32>,
    s: vec4<f32>,
    c: vec4<f32>,
}

fn silu4(z: vec4<f32>) -> Act4 {
    let g = 1.0 / (1.0 + exp(-z));
    return Act4(z * g, g * (1.0 + z * (1.0 - g)), g * (1.0 - g) * (2.0 + z * (1.0 - 2.0 * g)));
}

// Time feature number `q` (0 .. 2M): t, sin(2 pi t), cos(2 pi t), sin(4 pi t), ...
fn time_feature(q: u32, t: f32) -> f32 {
    if (q == 0u) {
        return t;
    }
    let m = f32((q + 1u) / 2u);
    let x = TAU * m * t;
    return select(cos(x), sin(x), (q & 1u) == 1u);
}

// d/dt of time feature `q`: 1, 2 pi m cos(2 pi m t), -2 pi m sin(2 pi m t), ...
fn time_feature_slope(q: u32, t: f32) -> f32 {
    if (q == 0u) {
        return 1.0;
    }
    let m = f32((q + 1u) / 2u);
    let w = TAU * m;
    let x = w * t;
    return select(-w * sin(x), w * cos(x), (q & 1u) == 1u);
}

// What the pair loops need of r_c and the radial spacing, formed once per invocation so
// that no division is left in them.
struct RadialScales {
    pi_over_rc: f32,  // pi / r_c
    inv_delta: f32,   // 1 / delta
}

fn radial_scales(r_c: f32, delta: f32) -> RadialScales {
    return RadialScales(PI / r_c, 1.0 / delta);
}

// Envelope f_c(r) = (cos(pi r / r_c) + 1) / 2 and its slope, for 0 <= r <= r_c (the pair
// loops call it for neighbours only). With y = pi r / r_c - pi / 2 in [-pi/2, pi/2],
// cos(pi r / r_c) = -sin y and sin(pi r / r_c) = cos y, and on that interval the Taylor
// polynomials of degree 11 (sin) and 12 (cos) are within 6e-8 of both: the precision of
// f32, without the range reduction the built-in cos and sin do (this and the exponential
// saved in the basis walk below: about 3 % of the pair passes on the CPU adapter).
fn envelope(r: f32, sc: RadialScales) -> vec2<f32> {
    let y = fma(r, sc.pi_over_rc, -0.5 * PI);
    let y2 = y * y;
    var ps = fma(y2, -2.5052108385441720e-8, 2.7557319223985893e-6);
    ps = fma(y2, ps, -1.9841269841269841e-4);
    ps = fma(y2, ps, 8.3333333333333333e-3);
    ps = fma(y2, ps, -1.6666666666666667e-1);
    let sin_y = fma(y * y2, ps, y);
    var pc = fma(y2, 2.0876756987868099e-9, -2.7557319223985891e-7);
    pc = fma(y2, pc, 2.4801587301587302e-5);
    pc = fma(y2, pc, -1.3888888888888889e-3);
    pc = fma(y2, pc, 4.1666666666666667e-2);
    pc = fma(y2, pc, -0.5);
    let cos_y = fma(y2, pc, 1.0);
    return vec2<f32>(0.5 * (1.0 - sin_y), -0.5 * sc.pi_over_rc * cos_y);
}

// The enveloped radial basis w_k(r) = phi_k(r) f_c(r), phi_k(r) = exp(-gamma (r - k delta)^2),
// walked k = 0, 1, 2, ... in turn: with x = r / delta and gamma = 1 / (2 delta^2),
// phi_k = exp(-(x - k)^2 / 2) and phi_{k+1} = phi_k rho_k, rho_k = exp(x - k - 1/2) =
// rho_0 e^-k, so one multiplication per function. phi is restarted from exp every eight
// functions so that it does not underflow on its way (three exponentials per sixteen
// functions instead of sixteen); rho does not underflow and is restarted as rho_0 e^-k.
struct BasisWalk {
    phi: f32,    // phi_k
    ratio: f32,  // rho_k = phi_{k+1} / phi_k
    ratio0: f32, // rho_k at the last restart k: rho_0 e^-k
    x: f32,      // r / delta
    inv_delta: f32,
}

const INV_E: f32 = 0.36787944117144233;
// e^-8: rho_8 = rho_0 e^-8.
const INV_E8: f32 = 3.3546262790251185e-4;

fn basis_walk(r: f32, sc: RadialScales) -> BasisWalk {
    let x = r * sc.inv_delta;
    return BasisWalk(0.0, 0.0, exp(x - 0.5), x, sc.inv_delta);
}

// w_k(r) and its slope dw_k/dr given f_c; call with k = 0, 1, 2, ... in order.
fn basis_next(b: ptr<function, BasisWalk>, k: u32, fc: vec2<f32>) -> vec2<f32> {
    let u = (*b).x - f32(k);
    if ((k & 7u) == 0u) {
        (*b).phi = exp(-0.5 * u * u);
        if (k != 0u) {
            (*b).ratio0 = (*b).ratio0 * INV_E8;
        }
        (*b).ratio = (*b).ratio0;
    }
    let phi = (*b).phi;
    let dphi = -u * (*b).inv_delta * phi;
    (*b).phi = phi * (*b).ratio;
    (*b).ratio = (*b).ratio * INV_E;
    return vec2<f32>(phi * fc.x, dphi * fc.x + phi * fc.y);
}

// s(t) = s_min exp(t ln(s_max / s_min)).
fn schedule(t: f32, s_min: f32, ln_ratio: f32) -> f32 {
    return s_min * exp(t * ln_ratio);
}

// Magnitudes below this are written as zero by the descriptor and gradient passes. Some
// CPUs take a slow path for every operation with a subnormal operand or result; a dilute
// fluid's descriptors reach down into the Gaussian tails, and products of two such small
// factors (the weight gradients' sums) land below the normal range. Next to the O(1)
// values they are summed with, they change nothing in f32.
const NEGLIGIBLE: f32 = 1.0e-30;

fn flush(x: f32) -> f32 {
    return select(x, 0.0, abs(x) < NEGLIGIBLE);
}

fn flush3(v: vec3<f32>) -> vec3<f32> {
    return select(v, vec3<f32>(0.0), abs(v) < vec3<f32>(NEGLIGIBLE));
}

fn flush4(v: vec4<f32>) -> vec4<f32> {
    return select(v, vec4<f32>(0.0), abs(v) < vec4<f32>(NEGLIGIBLE));
}

// Compacts the neighbours of particle `self_index` (at xi) among the `count` staged
// particles of `tile` (global indices first .. first + count - 1) into nb: the tile slots
// within r_c, so that the basis loops run over neighbours only (SIMD lanes stay busy: most
// pairs of a tile are beyond r_c). Dead invocations (`live` false) get none. Returns the
// number of neighbours.
fn tile_neighbours(
    nb: ptr<function, array<u32, TILE>>,
    xi: vec3<f32>,
    first: u32,
    count: u32,
    self_index: u32,
    live: bool,
    rc2: f32,
    box_length: f32,
    inv_box: f32,
) -> u32 {
    var m = 0u;
    // A dead invocation runs no iteration, so that SIMD lanes of dead invocations only
    // (the tail of the last workgroup) skip the scan.
    let scan = select(0u, count, live);
    for (var q = 0u; q < scan; q = q + 1u) {
        let d = minimum_image(tile[q].xyz - xi, box_length, inv_box);
        // Written whatever the test (the next slot takes the next neighbour): a store
        // outside a branch costs SIMD compilers no per-lane test.
        (*nb)[m] = q;
        m = m + select(0u, 1u, first + q != self_index && dot(d, d) < rc2);
    }
    return m;
}
