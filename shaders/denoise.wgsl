// Batched Langevin denoising samplers of neural TI (docs/method.md §5): C independent
// trajectories of N particles march t from 1 down to 0 over a grid, with the learned energy
// U~(x, t) evaluated by shaders/model_energy.wgsl into `score` (grad_x U~, u_i) and
// `time_terms` (pieces of dU~/dt). Mirrors src/reference/denoise.rs (the spec).
//
// Per grid point j (time t_j), the host records one submission (one uniform, one t):
//   model(pos) -> score, time_terms;  denoise_record_start (u_start, clears the counters)
//   sampler paths, j >= 1: denoise_reweight (importance weights; resampling decision), then,
//     if resampling is on, denoise_stash + denoise_gather (copy the ancestors' states)
//   M times: denoise_propose -> prop;  model(prop) -> score_p, time_p;  denoise_accept
//   denoise_adapt (if M > 0: the shared step size from the batch's acceptance)
//   denoise_record_end (parts, u_end);  denoise_move (reverse-SDE predictor, if on)
// The C trajectories form P populations of C / P (trajectory c in population c / (C / P)).
// One MALA step size per population serves all its trajectories and correctors at a grid
// point; it adapts between grid points from the population's acceptance, so a trajectory's
// kernel depends on its own past only through a share of a population mean (per-trajectory
// adaptation would tie h to the trajectory's state and break the invariance the AIS weights
// rely on).
//
// Sampler paths carry importance weights: ln w_c accumulates -(U~(x, t_j) - U~(x, t_{j-1}))
// (the AIS work) plus, for a reverse-SDE predictor move x -> x' from t_{j-1} to t_j, the
// log ratio of the backward kernel (the exact forward noising from t_j back to t_{j-1},
// variance back_var) to the predictor's density, ln L(x' -> x) - ln F(x -> x'), both wrapped
// Gaussians on the torus (a sequential Monte Carlo sampler with the paper's predictor as the
// proposal). With resampling on, a population whose effective sample
// size falls below resample_threshold * C/P is resampled (systematic resampling): copies of
// heavy trajectories replace light ones, every ln w of the population is reset to 0 and
// ln(mean w) goes to the record as the population's normaliser increment (population
// annealing; Z_N / V^N = prod of the increments times the final mean weight).
// The corrector sub-step index m of trajectory c is the proposal counter of its record
// (records[j * n_configs + c].energy.w, cleared by denoise_record_start).
// The forward-noise diagnostic replaces the moves by denoise_noise (x0 + s(t) z).
//
// Random streams (Philox4x32-10, key (key_lo, key_hi) of the run), counters:
//   initial uniform positions  (c, i, 0xD0, 0)
//   predictor noise            (c, i, 0xD1, step)
//   MALA proposal noise        (c, i, 0xD2 + (sub << 8), step)
//   MALA accept uniform        (c, 0, 0xD3 + (sub << 8), step)
//   forward-noise z (fixed per path for every t)   (c, i, 0xD4, 0)
//   resampling uniform of population p              (p, 0, 0xD5, step)
//
// Records: records[step * n_configs + c] = { parts: sum_i time_terms,
//   energy: (u_start, u_end, accepted proposals, proposals),
//   weight: (ln w after any resampling at step, the population's ln-normaliser increment at
//            step (0 without resampling), ancestor index (c itself without resampling),
//            ln L/F of the predictor move that arrived at step (0 without predictor)) }.
// Dispatch: per-particle entries (ceil(n / 64), n_configs, 1); per-configuration entries
// (denoise_accept, denoise_record_*) (1, n_configs, 1), one workgroup of 64 per trajectory.

#import pbc
#import rng

struct DenoiseParams {
    n: u32,
    n_configs: u32,
    step: u32,          // grid index j (0 at t = 1)
    populations: u32,   // P: populations (each its own step size and resampling)
    key_lo: u32,
    key_hi: u32,
    _pad1: u32,
    _pad2: u32,
    box_length: f32,
    inv_box: f32,
    drift: f32,         // predictor: g(t)^2 dt
    noise: f32,         // predictor: g(t) sqrt(dt)
    target_accept: f32, // MALA step-size adaptation target
    adapt_rate: f32,    // per grid point: ln h += adapt_rate (mean accepted - M target_accept)
    h_max: f32,         // largest MALA step size
    s_t: f32,           // denoise_noise: s(t_j)
    h_init: f32,        // denoise_init: initial MALA step size
    resample_threshold: f32, // resample a population when ESS < this * C/P (0: never)
    back_var: f32,      // s(t_j)^2 - s(t_{j+1})^2: variance of the forward kernel back from t_{j+1}
    _pad5: f32,
}

// Corrector sub-step of trajectory c at the current grid point: its proposals so far.
fn sub_step(c: u32) -> u32 {
    return u32(records[params.step * params.n_configs + c].energy.w);
}

struct Record {
    parts: vec4<f32>,
    energy: vec4<f32>,
    weight: vec4<f32>,
}

// Trajectories per population.
fn population_size() -> u32 {
    return params.n_configs / params.populations;
}

// The step size of trajectory c (its population's).
fn step_of(c: u32) -> f32 {
    return step_size[c / population_size()];
}

@group(0) @binding(0) var<uniform> params: DenoiseParams;
@group(0) @binding(1) var<storage, read_write> pos: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> prop: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> score: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> score_p: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> time_terms: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> time_p: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> step_size: array<f32>; // [p]: population p's h
@group(0) @binding(8) var<storage, read_write> records: array<Record>;
@group(0) @binding(9) var<storage, read> x0: array<vec4<f32>>;

const TAG_INIT: u32 = 0xD0u;
const TAG_PREDICT: u32 = 0xD1u;
const TAG_PROPOSE: u32 = 0xD2u;
const TAG_ACCEPT: u32 = 0xD3u;
const TAG_NOISE: u32 = 0xD4u;
const TAG_RESAMPLE: u32 = 0xD5u;

fn key() -> vec2<u32> {
    return vec2<u32>(params.key_lo, params.key_hi);
}

// Uniform initial positions (exact samples of p_1) and the initial MALA step size.
@compute @workgroup_size(64)
fn denoise_init(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    let c = gid.y;
    if (i >= params.n) {
        return;
    }
    let bits = philox4x32_10(vec4<u32>(c, i, TAG_INIT, 0u), key());
    let u = vec3<f32>(uniform_open01(bits.x), uniform_open01(bits.y), uniform_open01(bits.z));
    pos[c * params.n + i] = vec4<f32>(wrap_position(u * params.box_length, params.box_length, params.inv_box), 0.0);
    if (i == 0u && c < params.populations) {
        step_size[c] = params.h_init;
    }
}

// ln of the wrapped Gaussian density of a displacement d (one coordinate) with variance v on
// a circle of length L, plus ln sqrt(2 pi): the images -2L ... 2L for v < 0.133 L^2, else the
// Fourier series (1/L)(1 + 2 sum_{k<=3} exp(-2 pi^2 k^2 v / L^2) cos(2 pi k d / L)) (both
// truncations err by about e^-23; reference::denoise::log_wrapped_gaussian).
fn log_wrapped_gaussian(d: f32, v: f32) -> f32 {
    let l = params.box_length;
    if (v < 0.133 * l * l) {
        let d0 = d * d;
        var sum = 0.0;
        for (var k = -2; k <= 2; k = k + 1) {
            let e = d + f32(k) * l;
            sum = sum + exp(-(e * e - d0) / (2.0 * v));
        }
        return -d0 / (2.0 * v) + log(sum) - 0.5 * log(v);
    }
    let tau = 6.283185307179586;
    var series = 0.0;
    for (var k = 1; k <= 3; k = k + 1) {
        let w = tau * f32(k) / l;
        series = series + exp(-0.5 * w * w * v) * cos(w * d);
    }
    return log(sqrt(tau) * (1.0 + 2.0 * series) / l);
}

// Reverse-SDE predictor (Euler-Maruyama): x <- wrap(x - g^2 dt grad U~ + g sqrt(dt) xi).
// prop.w gets the particle's share of ln L(x' -> x) - ln F(x -> x') (see the header), summed
// into the next grid point's record by denoise_record_start.
@compute @workgroup_size(64)
fn denoise_move(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    let c = gid.y;
    if (i >= params.n) {
        return;
    }
    let p = c * params.n + i;
    let xi = gaussian3(philox4x32_10(vec4<u32>(c, i, TAG_PREDICT, params.step), key()));
    let mu = -params.drift * score[p].xyz;
    let moved = wrap_position(pos[p].xyz + mu + params.noise * xi, params.box_length, params.inv_box);
    let back = minimum_image(pos[p].xyz - moved, params.box_length, params.inv_box);
    let fv = params.noise * params.noise;
    var ratio = 0.0;
    for (var a = 0; a < 3; a = a + 1) {
        ratio = ratio + log_wrapped_gaussian(back[a], params.back_var)
            - log_wrapped_gaussian(params.noise * xi[a], fv);
    }
    pos[p] = vec4<f32>(moved, 0.0);
    prop[p] = vec4<f32>(0.0, 0.0, 0.0, ratio);
}

// MALA proposal: y = wrap(x - h grad U~(x) + sqrt(2h) xi), h = the population's step size.
@compute @workgroup_size(64)
fn denoise_propose(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    let c = gid.y;
    if (i >= params.n) {
        return;
    }
    let p = c * params.n + i;
    let h = step_of(c);
    let tag = TAG_PROPOSE + (sub_step(c) << 8u);
    let xi = gaussian3(philox4x32_10(vec4<u32>(c, i, tag, params.step), key()));
    let y = pos[p].xyz - h * score[p].xyz + sqrt(2.0 * h) * xi;
    prop[p] = vec4<f32>(wrap_position(y, params.box_length, params.inv_box), 0.0);
}

// Forward-noised reference paths: x = wrap(x0 + s(t) z), z fixed per (c, i) for every t.
@compute @workgroup_size(64)
fn denoise_noise(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    let c = gid.y;
    if (i >= params.n) {
        return;
    }
    let p = c * params.n + i;
    let z = gaussian3(philox4x32_10(vec4<u32>(c, i, TAG_NOISE, 0u), key()));
    pos[p] = vec4<f32>(wrap_position(x0[p].xyz + params.s_t * z, params.box_length, params.inv_box), 0.0);
}

var<workgroup> red_a: array<vec4<f32>, 64>;
var<workgroup> red_b: array<f32, 64>;
var<workgroup> accept_flag: u32;

// Tree reduction of red_a and red_b over the workgroup; every invocation must call it.
fn reduce_workgroup(lid: u32) {
    for (var stride = 32u; stride > 0u; stride = stride >> 1u) {
        workgroupBarrier();
        if (lid < stride) {
            red_a[lid] = red_a[lid] + red_a[lid + stride];
            red_b[lid] = red_b[lid] + red_b[lid + stride];
        }
    }
    workgroupBarrier();
}

// Metropolis test of the proposals of trajectory c (all 3N coordinates at once):
// ln alpha = -(U_y - U_x) - |x - y + h g_y|^2 / 4h + |y - x + h g_x|^2 / 4h, with
// displacements by minimum image. An accepted proposal replaces pos, score and time_terms.
@compute @workgroup_size(64)
fn denoise_accept(@builtin(local_invocation_id) lid3: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let lid = lid3.x;
    let c = wid.y;
    let h = step_of(c);
    var du = 0.0;
    var dq = 0.0;
    for (var i = lid; i < params.n; i = i + 64u) {
        let p = c * params.n + i;
        let d = minimum_image(prop[p].xyz - pos[p].xyz, params.box_length, params.inv_box);
        let forward = d + h * score[p].xyz;
        let backward = -d + h * score_p[p].xyz;
        du = du + (score_p[p].w - score[p].w);
        dq = dq + (dot(backward, backward) - dot(forward, forward));
    }
    red_a[lid] = vec4<f32>(du, dq, 0.0, 0.0);
    red_b[lid] = 0.0;
    reduce_workgroup(lid);
    if (lid == 0u) {
        let log_alpha = -red_a[0].x - red_a[0].y / (4.0 * h);
        let tag = TAG_ACCEPT + (sub_step(c) << 8u);
        let u = uniform_open01(philox4x32_10(vec4<u32>(c, 0u, tag, params.step), key()).x);
        // NaN log_alpha (a non-finite proposal) rejects.
        let accepted = log(u) < log_alpha;
        accept_flag = select(0u, 1u, accepted);
        let a = select(0.0, 1.0, accepted);
        let r = params.step * params.n_configs + c;
        records[r].energy = records[r].energy + vec4<f32>(0.0, 0.0, a, 1.0);
    }
    workgroupBarrier();
    if (workgroupUniformLoad(&accept_flag) == 1u) {
        for (var i = lid; i < params.n; i = i + 64u) {
            let p = c * params.n + i;
            pos[p] = prop[p];
            score[p] = score_p[p];
            time_terms[p] = time_p[p];
        }
    }
}

// Per-trajectory sums of the current state at grid point `step` into red_a (time_terms)
// and red_b (u); every invocation must call it.
fn reduce_state(lid: u32, c: u32) {
    var parts = vec4<f32>(0.0);
    var u = 0.0;
    for (var i = lid; i < params.n; i = i + 64u) {
        let p = c * params.n + i;
        parts = parts + time_terms[p];
        u = u + score[p].w;
    }
    red_a[lid] = parts;
    red_b[lid] = u;
    reduce_workgroup(lid);
}

// Stores u_start = U~(x, t_j), clears the proposal counters of the record and sets its
// weight to (0, 0, c, ln L/F of the predictor move that arrived here, from prop.w; 0 when
// nothing moved: every other writer of prop leaves w = 0).
@compute @workgroup_size(64)
fn denoise_record_start(@builtin(local_invocation_id) lid3: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let lid = lid3.x;
    let c = wid.y;
    reduce_state(lid, c);
    let u = red_b[0];
    workgroupBarrier();
    var ratio = 0.0;
    for (var i = lid; i < params.n; i = i + 64u) {
        ratio = ratio + prop[c * params.n + i].w;
    }
    red_a[lid] = vec4<f32>(0.0);
    red_b[lid] = ratio;
    reduce_workgroup(lid);
    if (lid == 0u) {
        let r = params.step * params.n_configs + c;
        records[r].energy = vec4<f32>(u, 0.0, 0.0, 0.0);
        records[r].weight = vec4<f32>(0.0, 0.0, f32(c), red_b[0]);
    }
}

// Stores the summed time_terms and u_end = U~(x, t_j) after the correctors.
@compute @workgroup_size(64)
fn denoise_record_end(@builtin(local_invocation_id) lid3: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let c = wid.y;
    reduce_state(lid3.x, c);
    if (lid3.x == 0u) {
        let r = params.step * params.n_configs + c;
        records[r].parts = red_a[0];
        records[r].energy.y = red_b[0];
    }
}

// Population p's step size after the correctors of grid point `step`, from the accepted
// proposals of its trajectories: ln h += adapt_rate (mean accepted - M target_accept), capped
// at h_max. Dispatch (1, P, 1).
@compute @workgroup_size(64)
fn denoise_adapt(@builtin(local_invocation_id) lid3: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let lid = lid3.x;
    let p = wid.y;
    let size = population_size();
    var acc = 0.0;
    var prop_count = 0.0;
    for (var k = lid; k < size; k = k + 64u) {
        let e = records[params.step * params.n_configs + p * size + k].energy;
        acc = acc + e.z;
        prop_count = prop_count + e.w;
    }
    red_a[lid] = vec4<f32>(acc, prop_count, 0.0, 0.0);
    red_b[lid] = 0.0;
    reduce_workgroup(lid);
    if (lid == 0u) {
        let per_trajectory = 1.0 / f32(size);
        let mean_accepted = red_a[0].x * per_trajectory;
        let mean_proposals = red_a[0].y * per_trajectory;
        let change = params.adapt_rate * (mean_accepted - params.target_accept * mean_proposals);
        step_size[p] = min(step_size[p] * exp(change), params.h_max);
    }
}

// Largest population (trajectories per population) that denoise_reweight handles.
const MAX_POPULATION: u32 = 1024u;
var<workgroup> log_w: array<f32, 1024>;
var<workgroup> ancestors: array<u32, 1024>;
var<workgroup> normaliser: f32;

// Importance weights of population p at grid point `step` >= 1: ln w_c += ln L/F of the
// move that arrived (weight.w; 0 without predictor) - (u_start_j - u_end_{j-1}); if the effective sample size (sum w)^2 / sum w^2 is below
// resample_threshold * size, systematic resampling with one uniform: slot k takes the
// trajectory whose cumulative normalised weight first exceeds (k + u) / size; the
// population's ln w are reset to 0 and ln(mean w) is recorded. Dispatch (1, P, 1).
@compute @workgroup_size(64)
fn denoise_reweight(@builtin(local_invocation_id) lid3: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let lid = lid3.x;
    let p = wid.y;
    let size = population_size();
    let base = p * size;
    let now = params.step * params.n_configs;
    let before = now - params.n_configs;
    var top = -3.4e38;
    for (var k = lid; k < size; k = k + 64u) {
        let c = base + k;
        let lw = records[before + c].weight.x + records[now + c].weight.w
            - (records[now + c].energy.x - records[before + c].energy.y);
        log_w[k] = lw;
        top = max(top, lw);
    }
    red_a[lid] = vec4<f32>(top, 0.0, 0.0, 0.0);
    workgroupBarrier();
    for (var stride = 32u; stride > 0u; stride = stride >> 1u) {
        if (lid < stride) {
            red_a[lid].x = max(red_a[lid].x, red_a[lid + stride].x);
        }
        workgroupBarrier();
    }
    let m = red_a[0].x;
    workgroupBarrier();
    var sum_w = 0.0;
    var sum_w2 = 0.0;
    for (var k = lid; k < size; k = k + 64u) {
        let w = exp(log_w[k] - m);
        sum_w = sum_w + w;
        sum_w2 = sum_w2 + w * w;
    }
    red_a[lid] = vec4<f32>(sum_w, sum_w2, 0.0, 0.0);
    red_b[lid] = 0.0;
    reduce_workgroup(lid);
    if (lid == 0u) {
        let total = red_a[0].x;
        let ess = total * total / red_a[0].y;
        let resample = ess < params.resample_threshold * f32(size);
        normaliser = 0.0;
        if (resample) {
            normaliser = m + log(total / f32(size));
            let u = uniform_open01(philox4x32_10(vec4<u32>(p, 0u, TAG_RESAMPLE, params.step), key()).x);
            var a = 0u;
            var cum = exp(log_w[0] - m) / total;
            for (var k = 0u; k < size; k = k + 1u) {
                let target_point = (f32(k) + u) / f32(size);
                while (cum <= target_point && a + 1u < size) {
                    a = a + 1u;
                    cum = cum + exp(log_w[a] - m) / total;
                }
                ancestors[k] = a;
            }
            for (var k = 0u; k < size; k = k + 1u) {
                log_w[k] = 0.0;
            }
        } else {
            for (var k = 0u; k < size; k = k + 1u) {
                ancestors[k] = k;
            }
        }
    }
    workgroupBarrier();
    let z = normaliser;
    for (var k = lid; k < size; k = k + 64u) {
        let moved = records[now + base + k].weight.w;
        records[now + base + k].weight = vec4<f32>(log_w[k], z, f32(base + ancestors[k]), moved);
    }
}

// Copies every trajectory's state (pos, score, time_terms) aside before denoise_gather.
@compute @workgroup_size(64)
fn denoise_stash(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    let c = gid.y;
    if (i >= params.n) {
        return;
    }
    let p = c * params.n + i;
    prop[p] = pos[p];
    score_p[p] = score[p];
    time_p[p] = time_terms[p];
}

// Trajectory c takes the state of its ancestor (records' weight.z of this grid point).
@compute @workgroup_size(64)
fn denoise_gather(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    let c = gid.y;
    if (i >= params.n) {
        return;
    }
    let a = u32(records[params.step * params.n_configs + c].weight.z);
    let p = c * params.n + i;
    let q = a * params.n + i;
    pos[p] = prop[q];
    score[p] = score_p[q];
    time_terms[p] = time_p[q];
}
