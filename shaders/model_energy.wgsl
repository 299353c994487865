// Time-dependent energy model U~_theta(x, t) of neural thermodynamic integration: energy and
// score (grad_x U~) for a batch of configurations. Mirrors the CPU reference
// src/reference/model_energy.rs pass by pass (see its module doc: the spec).
//
// Inputs:  params (ModelParams: sizes, parameter offsets, box, LJ, schedule);
//          pos[c * n + i] (vec4, xyz in the box) for configurations c = 0 .. n_configs - 1;
//          times[c] (t of configuration c);
//          theta: the flat parameter vector in the layout of ModelConfig::layout
//          (W1 H x D row-major, b1, W2 H x H row-major, b2, w3, b3).
// Outputs (per particle p = c * n + i):
//          `model_descriptors` (pass A + feature step of B):
//              features[p * dim + d] = f_i (s_i, upper triangle of v_ik . v_il, tau(t)),
//              moments[p * kv + k] = (v_ik, 0);
//          `model_mlp` (pass B): input_grad[p * dim + d] = g_i = dMLP/df (at f_i),
//              moment_adjoint[p * kv + k] = (dy/dv_ik, 0),
//              particle_energy[p] = MLP(f_i) - MLP(f_null(t));
//          `model_score` (pass C + composition): score[p] = (grad_{x_i} U~, u_i) and
//              particle_energy[p] = u_i, with sum_i u_i = U~(x_c, t_c):
//              u_i = [t(1-t) e_i + (1-t) s_min 1/2 sum_j e_soft(r_ij)] / s(t).
//          `model_score_time` (instead of `model_score`): the same, plus the per-particle
//              pieces of dU~/dt (summed and combined in f64 on the host):
//              time_terms[p] = (e_i, (g_i - g_null) . dtau/dt, 1/2 sum_j e_soft(r_ij),
//                               1/2 sum_j de_soft/da(r_ij)),  a = t.
//              It is the only entry that uses binding 10 (`time_terms`); the other entries
//              run with the 10-binding layout MODEL_ENERGY_BINDINGS (a prefix).
// Dispatch: every entry (ceil(n / 64), n_configs, 1) workgroups of 64 (one invocation per
//          particle, one configuration per workgroup row), in the order descriptors, mlp,
//          score (or score_time). Pair passes loop over all j of the configuration (minimum image), staging
//          positions through workgroup memory in tiles of 64.
// Maxima (checked on the host by model::kernels): K <= MAX_K, K_v <= MAX_KV, D <= MAX_D,
//          H <= MAX_H.

#import pbc
#import model_common


@group(0) @binding(0) var<uniform> params: ModelParams;
@group(0) @binding(1) var<storage, read> pos: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> times: array<f32>;
@group(0) @binding(3) var<storage, read> theta: array<f32>;
@group(0) @binding(4) var<storage, read_write> features: array<f32>;
@group(0) @binding(5) var<storage, read_write> moments: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> input_grad: array<f32>;
@group(0) @binding(7) var<storage, read_write> moment_adjoint: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> particle_energy: array<f32>;
@group(0) @binding(9) var<storage, read_write> score: array<vec4<f32>>;
// Only `model_score_time` touches this binding (see the header).
@group(0) @binding(10) var<storage, read_write> time_terms: array<vec4<f32>>;

var<workgroup> null_a1: array<f32, MAX_H>;
var<workgroup> null_da1: array<f32, MAX_H>;
var<workgroup> null_part: array<vec2<f32>, TILE>;

// The null network, cooperatively over the 64 invocations of a workgroup: MLP(f_null(t))
// (zero descriptors, the time features of t) and its slope along the time features,
// dMLP(f_null(t))/dt = g_null . dtau/dt, in forward mode (the tangent of the two hidden
// layers). Layer 1 only sees the time slots; layer 2 is split over the invocations. Call
// from uniform control flow.
fn null_network(li: u32, t: f32) -> vec2<f32> {
    let h = params.hidden;
    let dim = params.dim;
    let n_time = 2u * params.freqs + 1u;
    for (var q = li; q < h; q = q + TILE) {
        var z = theta[params.b1 + q];
        var dz = 0.0;
        for (var u = 0u; u < n_time; u = u + 1u) {
            let w = theta[params.w1 + q * dim + params.time_offset + u];
            z = z + w * time_feature(u, t);
            dz = dz + w * time_feature_slope(u, t);
        }
        let act = silu3(z);
        null_a1[q] = act.x;
        null_da1[q] = act.y * dz;
    }
    workgroupBarrier();
    var part = vec2<f32>(0.0);
    for (var q = li; q < h; q = q + TILE) {
        var z = theta[params.b2 + q];
        var dz = 0.0;
        for (var u = 0u; u < h; u = u + 1u) {
            let w = theta[params.w2 + q * h + u];
            z = z + w * null_a1[u];
            dz = dz + w * null_da1[u];
        }
        let act = silu3(z);
        let w3 = theta[params.w3 + q];
        part = part + vec2<f32>(w3 * act.x, w3 * act.y * dz);
    }
    null_part[li] = part;
    workgroupBarrier();
    var out = vec2<f32>(theta[params.b3], 0.0);
    for (var q = 0u; q < TILE; q = q + 1u) {
        out = out + null_part[q];
    }
    return out;
}

// Pass A and the feature step of pass B: one invocation per particle i.
@compute @workgroup_size(64)
fn model_descriptors(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let c = wg.y;
    let i = wg.x * TILE + li;
    let n = params.n;
    let base = c * n;
    let live = i < n;
    var xi = vec3<f32>(0.0);
    if (live) {
        xi = pos[base + i].xyz;
    }
    var s: array<f32, MAX_K>;
    var v: array<vec3<f32>, MAX_KV>;
    for (var k = 0u; k < params.k_radial; k = k + 1u) {
        s[k] = 0.0;
    }
    for (var k = 0u; k < params.kv; k = k + 1u) {
        v[k] = vec3<f32>(0.0);
    }
    let rc2 = params.r_c * params.r_c;
    let n_tiles = (n + TILE - 1u) / TILE;
    for (var tt = 0u; tt < n_tiles; tt = tt + 1u) {
        let jl = tt * TILE + li;
        if (jl < n) {
            tile[li] = pos[base + jl];
        }
        workgroupBarrier();
        let count = min(TILE, n - tt * TILE);
        var nb: array<u32, TILE>;
        let m = tile_neighbours(
            &nb, xi, tt * TILE, count, i, live, rc2, params.box_length, params.inv_box,
        );
        for (var e = 0u; e < m; e = e + 1u) {
            let d = minimum_image(tile[nb[e]].xyz - xi, params.box_length, params.inv_box);
            let r = sqrt(dot(d, d));
            let fc = envelope(r, params.r_c);
            for (var k = 0u; k < params.k_radial; k = k + 1u) {
                let w = basis(k, r, fc, params.delta, params.gamma).x;
                s[k] = s[k] + w;
                if (k < params.kv) {
                    v[k] = v[k] + w * params.inv_sigma * d;
                }
            }
        }
        workgroupBarrier();
    }
    if (!live) {
        return;
    }
    let p = base + i;
    let row = p * params.dim;
    for (var k = 0u; k < params.k_radial; k = k + 1u) {
        features[row + k] = s[k];
    }
    var idx = row + params.k_radial;
    for (var k = 0u; k < params.kv; k = k + 1u) {
        moments[p * params.kv + k] = vec4<f32>(v[k], 0.0);
        for (var l = k; l < params.kv; l = l + 1u) {
            features[idx] = dot(v[k], v[l]);
            idx = idx + 1u;
        }
    }
    let t = times[c];
    for (var q = 0u; q < 2u * params.freqs + 1u; q = q + 1u) {
        features[row + params.time_offset + q] = time_feature(q, t);
    }
}

// Pass B: MLP forward at f_i and at f_null(t) (`null_network`, once per workgroup), input
// gradient g_i and moment adjoints.
@compute @workgroup_size(64)
fn model_mlp(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let c = wg.y;
    let i = wg.x * TILE + li;
    let n = params.n;
    let h = params.hidden;
    let dim = params.dim;
    let t = times[c];
    let y_null = null_network(li, t).x;

    if (i >= n) {
        return;
    }
    let p = c * n + i;
    let row = p * dim;

    // --- Forward at f_i, keeping the pre-activations. Every matrix-vector product runs four
    // output rows (or columns) at a time with vec4 accumulators, so each value read from the
    // private arrays serves four products (rows beyond the matrix are clamped and dropped).
    var f: array<f32, MAX_D>;
    for (var d = 0u; d < dim; d = d + 1u) {
        f[d] = features[row + d];
    }
    var pre1: array<f32, MAX_H>;
    var a1: array<f32, MAX_H>;
    for (var q0 = 0u; q0 < h; q0 = q0 + 4u) {
        var z = cols4(params.b1, q0, h);
        for (var d = 0u; d < dim; d = d + 1u) {
            z = z + rows4(params.w1, q0, h, dim, d) * f[d];
        }
        for (var e = 0u; e < 4u; e = e + 1u) {
            let q = q0 + e;
            if (q < h) {
                pre1[q] = z[e];
                a1[q] = silu3(z[e]).x;
            }
        }
    }
    // adj2[q] = w3[q] sigma'(h2[q]); the forward output y is accumulated alongside.
    var adj2: array<f32, MAX_H>;
    var y = theta[params.b3];
    for (var q0 = 0u; q0 < h; q0 = q0 + 4u) {
        var z = cols4(params.b2, q0, h);
        for (var u = 0u; u < h; u = u + 1u) {
            z = z + rows4(params.w2, q0, h, h, u) * a1[u];
        }
        for (var e = 0u; e < 4u; e = e + 1u) {
            let q = q0 + e;
            if (q < h) {
                let act = silu3(z[e]);
                let w3 = theta[params.w3 + q];
                y = y + w3 * act.x;
                adj2[q] = w3 * act.y;
            }
        }
    }
    particle_energy[p] = y - y_null;

    // --- Reverse: adj1 = (W2^T adj2) . sigma'(h1) (into a1), g = W1^T adj1 (into f).
    for (var u0 = 0u; u0 < h; u0 = u0 + 4u) {
        var acc = vec4<f32>(0.0);
        for (var q = 0u; q < h; q = q + 1u) {
            acc = acc + cols4(params.w2 + q * h, u0, h) * adj2[q];
        }
        for (var e = 0u; e < 4u; e = e + 1u) {
            let u = u0 + e;
            if (u < h) {
                a1[u] = acc[e] * silu3(pre1[u]).y;
            }
        }
    }
    for (var d0 = 0u; d0 < dim; d0 = d0 + 4u) {
        var acc = vec4<f32>(0.0);
        for (var q = 0u; q < h; q = q + 1u) {
            acc = acc + cols4(params.w1 + q * dim, d0, dim) * a1[q];
        }
        for (var e = 0u; e < 4u; e = e + 1u) {
            let d = d0 + e;
            if (d < dim) {
                f[d] = acc[e];
                input_grad[row + d] = acc[e];
            }
        }
    }

    // --- Moment adjoint: dy/dv_k = sum_l c_kl v_l, c_kl = c_lk = g_{q_kl}, c_kk = 2 g_{q_kk}.
    let kv = params.kv;
    var adj_v: array<vec3<f32>, MAX_KV>;
    for (var k = 0u; k < kv; k = k + 1u) {
        adj_v[k] = vec3<f32>(0.0);
    }
    var idx = params.k_radial;
    for (var k = 0u; k < kv; k = k + 1u) {
        let vk = moments[p * kv + k].xyz;
        for (var l = k; l < kv; l = l + 1u) {
            let cq = f[idx];
            idx = idx + 1u;
            let vl = moments[p * kv + l].xyz;
            adj_v[k] = adj_v[k] + cq * vl;
            adj_v[l] = adj_v[l] + cq * vk;
        }
    }
    for (var k = 0u; k < kv; k = k + 1u) {
        moment_adjoint[p * kv + k] = vec4<f32>(adj_v[k], 0.0);
    }
}

// What the pair pass of pass C gathers for particle m.
struct PairSums {
    g_net: vec3<f32>,    // grad_{x_m} E_theta (adjoints of pass B held fixed)
    g_soft: vec3<f32>,   // grad_{x_m} E_soft(x; a = t)
    e_soft: f32,         // sum_j e_soft(r_mj)
    de_soft_da: f32,     // sum_j de_soft/da(r_mj)
}

// Pass C pair loop (gather per particle m = wg.x * 64 + li of configuration c): both
// adjoint terms of every pair (m, j) and the soft-core prior at a = t. Called from uniform
// control flow (it stages positions through workgroup memory); dead invocations return 0.
fn pair_pass(c: u32, m: u32, li: u32, t: f32) -> PairSums {
    let n = params.n;
    let base = c * n;
    let live = m < n;
    let dim = params.dim;
    let kv = params.kv;
    var xm = vec3<f32>(0.0);
    // Own adjoints: A_m = dy/ds_m (the first K slots of g_m), V_m = dy/dv_m.
    var a_m: array<f32, MAX_K>;
    var v_m: array<vec3<f32>, MAX_KV>;
    if (live) {
        xm = pos[base + m].xyz;
        for (var k = 0u; k < params.k_radial; k = k + 1u) {
            a_m[k] = input_grad[(base + m) * dim + k];
        }
        for (var k = 0u; k < kv; k = k + 1u) {
            v_m[k] = moment_adjoint[(base + m) * kv + k].xyz;
        }
    }
    let rc2 = params.r_c * params.r_c;
    let a = t;
    var out: PairSums;
    out.g_net = vec3<f32>(0.0);
    out.g_soft = vec3<f32>(0.0);
    out.e_soft = 0.0;
    out.de_soft_da = 0.0;
    let n_tiles = (n + TILE - 1u) / TILE;
    for (var tt = 0u; tt < n_tiles; tt = tt + 1u) {
        let jl = tt * TILE + li;
        if (jl < n) {
            tile[li] = pos[base + jl];
        }
        workgroupBarrier();
        let count = min(TILE, n - tt * TILE);
        // Soft-core prior over every pair of the tile.
        for (var q = 0u; q < count; q = q + 1u) {
            let j = tt * TILE + q;
            if (!live || j == m) {
                continue;
            }
            let d = minimum_image(tile[q].xyz - xm, params.box_length, params.inv_box);
            let r2 = dot(d, d);
            // Soft-core prior: q_s = sigma^2 / (a sigma^2 + r^2).
            if (r2 < params.soft_rc2) {
                let qs = params.sigma2 / (a * params.sigma2 + r2);
                let q2 = qs * qs;
                let q3 = q2 * qs;
                let q4 = q2 * q2;
                let q6 = q3 * q3;
                let q7 = q6 * qs;
                out.e_soft = out.e_soft + params.eps4_beta * (q6 - q3);
                // de/da = -4 beta eps (6 q^7 - 3 q^4); de/d(r^2) = (de/da) / sigma^2.
                let de_da = -params.eps4_beta * (6.0 * q7 - 3.0 * q4);
                out.de_soft_da = out.de_soft_da + de_da;
                out.g_soft = out.g_soft - 2.0 * (de_da / params.sigma2) * d;
            }
        }
        // Then the network terms over the neighbours within r_c only.
        var nb: array<u32, TILE>;
        let n_nb = tile_neighbours(
            &nb, xm, tt * TILE, count, m, live, rc2, params.box_length, params.inv_box,
        );
        for (var e = 0u; e < n_nb; e = e + 1u) {
            let q = nb[e];
            let j = tt * TILE + q;
            let d = minimum_image(tile[q].xyz - xm, params.box_length, params.inv_box);
            let r = sqrt(dot(d, d));
            let inv_r = select(0.0, 1.0 / r, r > 0.0);
            let fc = envelope(r, params.r_c);
            let row_j = (base + j) * dim;
            var radial = 0.0;
            for (var k = 0u; k < params.k_radial; k = k + 1u) {
                let w = basis(k, r, fc, params.delta, params.gamma);
                radial = radial - (input_grad[row_j + k] + a_m[k]) * w.y * inv_r;
                if (k < kv) {
                    let delta = moment_adjoint[(base + j) * kv + k].xyz - v_m[k];
                    let along = w.y * inv_r * dot(d, delta);
                    out.g_net = out.g_net + params.inv_sigma * (w.x * delta + along * d);
                }
            }
            out.g_net = out.g_net + radial * d;
        }
        workgroupBarrier();
    }
    return out;
}

// Pass C and the composition: grad_{x_m} of E_theta (gather form, both adjoints per pair)
// and of E_soft(x; a = t), combined into grad_x U~; per-particle share of U~.
@compute @workgroup_size(64)
fn model_score(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let c = wg.y;
    let m = wg.x * TILE + li;
    let t = times[c];
    let sums = pair_pass(c, m, li, t);
    if (m >= params.n) {
        return;
    }
    let p = c * params.n + m;
    let s = schedule(t, params.s_min, params.ln_ratio);
    let c_net = t * (1.0 - t) / s;
    let c_soft = (1.0 - t) * params.s_min / s;
    let u = c_net * particle_energy[p] + c_soft * 0.5 * sums.e_soft;
    particle_energy[p] = u;
    score[p] = vec4<f32>(c_net * sums.g_net + c_soft * sums.g_soft, u);
}

// `model_score` plus the pieces of dU~/dt. The slope of the null network along the time
// features, dMLP(f_null(t))/dt = g_null . dtau/dt, comes from `null_network` (once per
// workgroup).
@compute @workgroup_size(64)
fn model_score_time(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let c = wg.y;
    let m = wg.x * TILE + li;
    let dim = params.dim;
    let t = times[c];
    let n_time = 2u * params.freqs + 1u;
    let dy_null = null_network(li, t).y;

    let sums = pair_pass(c, m, li, t);
    if (m >= params.n) {
        return;
    }
    let p = c * params.n + m;
    // Slope of MLP(f_i) along the time features: g_i . dtau/dt.
    var dy = 0.0;
    for (var u = 0u; u < n_time; u = u + 1u) {
        dy = dy + input_grad[p * dim + params.time_offset + u] * time_feature_slope(u, t);
    }
    let e_net = particle_energy[p];
    let s = schedule(t, params.s_min, params.ln_ratio);
    let c_net = t * (1.0 - t) / s;
    let c_soft = (1.0 - t) * params.s_min / s;
    let u = c_net * e_net + c_soft * 0.5 * sums.e_soft;
    particle_energy[p] = u;
    score[p] = vec4<f32>(c_net * sums.g_net + c_soft * sums.g_soft, u);
    time_terms[p] = vec4<f32>(e_net, dy - dy_null, 0.5 * sums.e_soft, 0.5 * sums.de_soft_da);
}
