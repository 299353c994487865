// Time-dependent energy model U~_theta(x, t) of neural thermodynamic integration: energy and
// score (grad_x U~) for a batch of configurations. Mirrors the CPU reference
// src/reference/model_energy.rs pass by pass (see its module doc: the spec).
//
// Inputs:  params (ModelParams: sizes, parameter offsets, packed-weight offsets, box, LJ,
//          schedule); pos[c * n + i] (vec4, xyz in the box) for configurations
//          c = 0 .. n_configs - 1; times[c] (t of configuration c);
//          theta: the flat parameter vector in the layout of ModelConfig::layout
//          (W1 H x D row-major, b1, W2 H x H row-major, b2, w3, b3).
// Outputs (per particle p = c * n + i):
//          `model_pack`: wpack, the MLP's weights repacked as vec4 blocks for the matrix
//              products (layout in shaders/common/model_common.wgsl); run after every change
//              of theta, before the other entries;
//          `model_null`: null_out[c] = (MLP(f_null(t_c)), dMLP(f_null(t_c))/dt, 0, 0), the
//              network at an isolated particle's features and its slope along t;
//          `model_descriptors` (pass A + feature step of B):
//              features[p * dim + d] = f_i (s_i, upper triangle of v_ik . v_il, tau(t)),
//              moments[p * kv + k] = (v_ik, 0);
//          `model_mlp` (pass B): input_grad[p * d4 + d / 4][d % 4] = g_i = dMLP/df (at f_i;
//              rows of d4 vec4, zero beyond D, so the pair loop loads four at a time),
//              moment_adjoint[p * kv + k] = (dy/dv_ik, 0),
//              particle_energy[p] = MLP(f_i) - MLP(f_null(t));
//          `model_score` (pass C + composition): score[p] = (grad_{x_i} U~, u_i) and
//              particle_energy[p] = u_i, with sum_i u_i = U~(x_c, t_c):
//              u_i = [t(1-t) e_i + (1-t) s_min 1/2 sum_j e_soft(r_ij)] / s(t).
//          `model_score_time` (instead of `model_score`): the same, plus the per-particle
//              pieces of dU~/dt (summed and combined in f64 on the host):
//              time_terms[p] = (e_i, (g_i - g_null) . dtau/dt, 1/2 sum_j e_soft(r_ij),
//                               1/2 sum_j de_soft/da(r_ij)),  a = t.
//              It is the only entry that uses binding 12 (`time_terms`); the other entries
//              run with the 12-binding layout MODEL_ENERGY_BINDINGS (a prefix).
// Dispatch, in this order: model_pack (ceil(n_pack / 64), 1, 1); model_null
//          (ceil(n_configs / 64), 1, 1); model_descriptors (ceil(n / 64), n_configs, 1);
//          model_mlp (ceil(n * n_configs / (64 PPL)), 1, 1): PPL particles per invocation,
//          the configurations flattened; model_score or model_score_time
//          (ceil(n / 64), n_configs, 1). Pair passes loop over all j of the configuration
//          (minimum image), staging positions through workgroup memory in tiles of TILE = 256
//          (every invocation of the 64 stages four), so that up to 256 particles take one
//          pass of each loop (one neighbour list, no barrier inside).
// Compile-time parameter: PPL, particles per invocation of model_mlp (1 by default; CPU
//          adapters use 12, so that every weight loaded serves twelve particles held in
//          registers).
// Maxima (checked on the host by ModelConfig::check_kernel_limits): K <= MAX_K,
//          K_v <= MAX_KV, D <= MAX_D, H <= MAX_H.

#import pbc
#import model_common

const PPL: u32 = 1u;

@group(0) @binding(0) var<uniform> params: ModelParams;
@group(0) @binding(1) var<storage, read> pos: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> times: array<f32>;
@group(0) @binding(3) var<storage, read> theta: array<f32>;
@group(0) @binding(4) var<storage, read_write> features: array<f32>;
@group(0) @binding(5) var<storage, read_write> moments: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> input_grad: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> moment_adjoint: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> particle_energy: array<f32>;
@group(0) @binding(9) var<storage, read_write> score: array<vec4<f32>>;
@group(0) @binding(10) var<storage, read_write> wpack: array<vec4<f32>>;
@group(0) @binding(11) var<storage, read_write> null_out: array<vec4<f32>>;
// Only `model_score_time` touches this binding (see the header).
@group(0) @binding(12) var<storage, read_write> time_terms: array<vec4<f32>>;

// Four entries of the row-major matrix at theta[base] (rows x cols): entry k at row
// r0 + k dr, column c0 + k dc, 0 outside the matrix.
fn pack4(base: u32, rows: u32, cols: u32, r0: u32, c0: u32, dr: u32, dc: u32) -> vec4<f32> {
    var v = vec4<f32>(0.0);
    for (var k = 0u; k < 4u; k = k + 1u) {
        let r = r0 + k * dr;
        let c = c0 + k * dc;
        if (r < rows && c < cols) {
            v[k] = theta[base + r * cols + c];
        }
    }
    return v;
}

// Repacks the MLP's weights from theta into wpack (one vec4 per invocation).
@compute @workgroup_size(64)
fn model_pack(@builtin(global_invocation_id) gid: vec3<u32>) {
    let e = gid.x;
    if (e >= params.n_pack) {
        return;
    }
    let h = params.hidden;
    let dim = params.dim;
    let h4 = params.h4;
    let d4 = params.d4;
    var v: vec4<f32>;
    if (e < params.o_w1p) {
        // W1T[d][qb] = W1[4 qb + k][d].
        v = pack4(params.w1, h, dim, 4u * (e % h4), e / h4, 1u, 0u);
    } else if (e < params.o_w2t) {
        // W1P[q][db] = W1[q][4 db + k].
        let r = e - params.o_w1p;
        v = pack4(params.w1, h, dim, r / d4, 4u * (r % d4), 0u, 1u);
    } else if (e < params.o_w2p) {
        // W2T[u][qb] = W2[4 qb + k][u].
        let r = e - params.o_w2t;
        v = pack4(params.w2, h, h, 4u * (r % h4), r / h4, 1u, 0u);
    } else if (e < params.o_bias) {
        // W2P[q][ub] = W2[q][4 ub + k].
        let r = e - params.o_w2p;
        v = pack4(params.w2, h, h, r / h4, 4u * (r % h4), 0u, 1u);
    } else {
        // b1, b2, w3 in blocks of four.
        let r = e - params.o_bias;
        let which = r / h4;
        var base = params.b1;
        if (which == 1u) {
            base = params.b2;
        } else if (which == 2u) {
            base = params.w3;
        }
        v = pack4(base, h, 1u, 4u * (r % h4), 0u, 1u, 0u);
    }
    wpack[e] = v;
}

// The null network of configuration c: MLP(f_null(t)) (zero descriptors, the time features
// of t) and its slope along the time features, dMLP(f_null(t))/dt = g_null . dtau/dt, in
// forward mode (the tangent of the two hidden layers). Layer 1 only sees the time slots.
@compute @workgroup_size(64)
fn model_null(@builtin(global_invocation_id) gid: vec3<u32>) {
    let c = gid.x;
    if (c >= params.n_configs) {
        return;
    }
    let t = times[c];
    let h4 = params.h4;
    let n_time = 2u * params.freqs + 1u;
    var a1: array<vec4<f32>, MAX_H4>;
    var da1: array<vec4<f32>, MAX_H4>;
    for (var qb = 0u; qb < h4; qb = qb + 1u) {
        var z = wpack[params.o_bias + qb];
        var dz = vec4<f32>(0.0);
        for (var u = 0u; u < n_time; u = u + 1u) {
            let w = wpack[(params.time_offset + u) * h4 + qb];
            z = fma(w, vec4<f32>(time_feature(u, t)), z);
            dz = fma(w, vec4<f32>(time_feature_slope(u, t)), dz);
        }
        let act = silu4(z);
        a1[qb] = act.v;
        da1[qb] = act.s * dz;
    }
    var y = theta[params.b3];
    var dy = 0.0;
    for (var qb = 0u; qb < h4; qb = qb + 1u) {
        var z = wpack[params.o_bias + h4 + qb];
        var dz = vec4<f32>(0.0);
        for (var ub = 0u; ub < h4; ub = ub + 1u) {
            let base = params.o_w2t + 4u * ub * h4 + qb;
            let a = a1[ub];
            let da = da1[ub];
            for (var k = 0u; k < 4u; k = k + 1u) {
                let w = wpack[base + k * h4];
                z = fma(w, vec4<f32>(a[k]), z);
                dz = fma(w, vec4<f32>(da[k]), dz);
            }
        }
        let act = silu4(z);
        let w3 = wpack[params.o_bias + 2u * h4 + qb];
        y = y + dot(w3, act.v);
        dy = dy + dot(w3, act.s * dz);
    }
    null_out[c] = vec4<f32>(y, dy, 0.0, 0.0);
}

// Pass A and the feature step of pass B: one invocation per particle i.
@compute @workgroup_size(64)
fn model_descriptors(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let c = wg.y;
    let i = wg.x * GROUP + li;
    let n = params.n;
    let base = c * n;
    let live = i < n;
    var xi = vec3<f32>(0.0);
    if (live) {
        xi = pos[base + i].xyz;
    }
    //#repeat k KR
    var s_@k = 0.0;
    var v_@k = vec3<f32>(0.0);
    //#end
    let rc2 = params.r_c * params.r_c;
    let scales = radial_scales(params.r_c, params.delta);
    let n_tiles = (n + TILE - 1u) / TILE;
    for (var tt = 0u; tt < n_tiles; tt = tt + 1u) {
        stage_positions(base, tt * TILE, n, li);
        workgroupBarrier();
        let count = min(TILE, n - tt * TILE);
        var nb: array<u32, TILE>;
        let m = tile_neighbours(
            &nb, xi, tt * TILE, count, i, live, rc2, params.box_length, params.inv_box,
        );
        for (var e = 0u; e < m; e = e + 1u) {
            let d = minimum_image(tile[nb[e]].xyz - xi, params.box_length, params.inv_box);
            let r = sqrt(dot(d, d));
            let fc = envelope(r, scales);
            var walk = basis_walk(r, scales);
            let ds = params.inv_sigma * d;
            //#repeat k KR
            let w_@k = basis_next(&walk, @ku, fc).x;
            s_@k = s_@k + w_@k;
            if (@ku < KVEC) {
                v_@k = v_@k + w_@k * ds;
            }
            //#end
        }
        workgroupBarrier();
    }
    if (!live) {
        return;
    }
    let p = base + i;
    let row = p * params.dim;
    var v: array<vec3<f32>, MAX_KV>;
    //#repeat k KR
    features[row + @ku] = flush(s_@k);
    if (@ku < KVEC) {
        v[min(@ku, MAX_KV - 1u)] = flush3(v_@k);
    }
    //#end
    var idx = row + params.k_radial;
    for (var k = 0u; k < params.kv; k = k + 1u) {
        moments[p * params.kv + k] = vec4<f32>(v[k], 0.0);
        for (var l = k; l < params.kv; l = l + 1u) {
            features[idx] = flush(dot(v[k], v[l]));
            idx = idx + 1u;
        }
    }
    let t = times[c];
    for (var q = 0u; q < 2u * params.freqs + 1u; q = q + 1u) {
        features[row + params.time_offset + q] = time_feature(q, t);
    }
}

// Pass B: MLP forward at f_i, input gradient g_i and moment adjoints, as matrix products
// over blocks of PPL particles per invocation: every vec4 of weights loaded (from the packed
// layout) serves the PPL particles, whose activations stay in the invocation's registers.
@compute @workgroup_size(64)
fn model_mlp(@builtin(global_invocation_id) gid: vec3<u32>) {
    let n = params.n;
    let total = n * params.n_configs;
    let dim = params.dim;
    let h4 = params.h4;
    let d4 = params.d4;
    let p0 = gid.x * PPL;
    if (p0 >= total) {
        return;
    }
    //#repeat m PPL
    let p_@m = min(p0 + @mu, total - 1u);
    var f_@m: array<f32, MAX_D>;
    for (var d = 0u; d < dim; d = d + 1u) {
        f_@m[d] = features[p_@m * dim + d];
    }
    var a1_@m: array<vec4<f32>, MAX_H4>;
    var s1_@m: array<vec4<f32>, MAX_H4>;
    var g2_@m: array<vec4<f32>, MAX_H4>;
    var y_@m = theta[params.b3];
    //#end

    // Layer 1: z1 = W1 f + b1, a1 = silu(z1), s1 = silu'(z1).
    for (var qb = 0u; qb < h4; qb = qb + 1u) {
        let b = wpack[params.o_bias + qb];
        //#repeat m PPL
        var z_@m = b;
        //#end
        for (var d = 0u; d < dim; d = d + 1u) {
            let w = wpack[d * h4 + qb];
            //#repeat m PPL
            z_@m = fma(w, vec4<f32>(f_@m[d]), z_@m);
            //#end
        }
        //#repeat m PPL
        let act_@m = silu4(z_@m);
        a1_@m[qb] = act_@m.v;
        s1_@m[qb] = act_@m.s;
        //#end
    }

    // Layer 2 and the output: y = w3 . silu(W2 a1 + b2) + b3, g2 = w3 silu'(z2).
    for (var qb = 0u; qb < h4; qb = qb + 1u) {
        let b = wpack[params.o_bias + h4 + qb];
        let w3 = wpack[params.o_bias + 2u * h4 + qb];
        //#repeat m PPL
        var z_@m = b;
        //#end
        for (var ub = 0u; ub < h4; ub = ub + 1u) {
            let base = params.o_w2t + 4u * ub * h4 + qb;
            let wx = wpack[base];
            let wy = wpack[base + h4];
            let wz = wpack[base + 2u * h4];
            let ww = wpack[base + 3u * h4];
            //#repeat m PPL
            let a_@m = a1_@m[ub];
            z_@m = fma4(wx, wy, wz, ww, a_@m, z_@m);
            //#end
        }
        //#repeat m PPL
        let act_@m = silu4(z_@m);
        y_@m = y_@m + dot(w3, act_@m.v);
        g2_@m[qb] = w3 * act_@m.s;
        //#end
    }

    // Reverse: adj1 = (W2^T g2) . s1 (into a1).
    for (var ub = 0u; ub < h4; ub = ub + 1u) {
        //#repeat m PPL
        var g_@m = vec4<f32>(0.0);
        //#end
        for (var qb = 0u; qb < h4; qb = qb + 1u) {
            let base = params.o_w2p + 4u * qb * h4 + ub;
            let wx = wpack[base];
            let wy = wpack[base + h4];
            let wz = wpack[base + 2u * h4];
            let ww = wpack[base + 3u * h4];
            //#repeat m PPL
            let a_@m = g2_@m[qb];
            g_@m = fma4(wx, wy, wz, ww, a_@m, g_@m);
            //#end
        }
        //#repeat m PPL
        a1_@m[ub] = g_@m * s1_@m[ub];
        //#end
    }

    // g = W1^T adj1 (into f).
    for (var db = 0u; db < d4; db = db + 1u) {
        //#repeat m PPL
        var g_@m = vec4<f32>(0.0);
        //#end
        for (var qb = 0u; qb < h4; qb = qb + 1u) {
            let base = params.o_w1p + 4u * qb * d4 + db;
            let wx = wpack[base];
            let wy = wpack[base + d4];
            let wz = wpack[base + 2u * d4];
            let ww = wpack[base + 3u * d4];
            //#repeat m PPL
            let a_@m = a1_@m[qb];
            g_@m = fma4(wx, wy, wz, ww, a_@m, g_@m);
            //#end
        }
        //#repeat m PPL
        f_@m[4u * db] = g_@m.x;
        f_@m[4u * db + 1u] = g_@m.y;
        f_@m[4u * db + 2u] = g_@m.z;
        f_@m[4u * db + 3u] = g_@m.w;
        //#end
    }

    //#repeat m PPL
    if (p0 + @mu < total) {
        write_mlp_outputs(p0 + @mu, y_@m, &f_@m);
    }
    //#end
}

// The outputs of pass B for particle p: input_grad = g, particle_energy = y - y_null and the
// moment adjoint dy/dv_k = sum_l c_kl v_l, c_kl = c_lk = g_{q_kl}, c_kk = 2 g_{q_kk}.
fn write_mlp_outputs(p: u32, y: f32, g: ptr<function, array<f32, MAX_D>>) {
    let row4 = p * params.d4;
    for (var db = 0u; db < params.d4; db = db + 1u) {
        let d = 4u * db;
        input_grad[row4 + db] = vec4<f32>((*g)[d], (*g)[d + 1u], (*g)[d + 2u], (*g)[d + 3u]);
    }
    particle_energy[p] = y - null_out[p / params.n].x;
    let kv = params.kv;
    var adj_v: array<vec3<f32>, MAX_KV>;
    for (var k = 0u; k < kv; k = k + 1u) {
        adj_v[k] = vec3<f32>(0.0);
    }
    var idx = params.k_radial;
    for (var k = 0u; k < kv; k = k + 1u) {
        let vk = moments[p * kv + k].xyz;
        for (var l = k; l < kv; l = l + 1u) {
            let cq = (*g)[idx];
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
    let kv = params.kv;
    var xm = vec3<f32>(0.0);
    // Own adjoints: A_m = dy/ds_m (the first K slots of g_m), V_m = dy/dv_m.
    //#repeat k KR
    var am_@k = 0.0;
    var vm_@k = vec3<f32>(0.0);
    //#end
    if (live) {
        xm = pos[base + m].xyz;
        //#repeat k KR
        am_@k = input_grad[(base + m) * params.d4 + @ku / 4u][@ku % 4u];
        if (@ku < KVEC) {
            vm_@k = moment_adjoint[(base + m) * kv + @ku].xyz;
        }
        //#end
    }
    let rc2 = params.r_c * params.r_c;
    let scales = radial_scales(params.r_c, params.delta);
    let a = t;
    var out: PairSums;
    out.g_net = vec3<f32>(0.0);
    out.g_soft = vec3<f32>(0.0);
    out.e_soft = 0.0;
    out.de_soft_da = 0.0;
    let n_tiles = (n + TILE - 1u) / TILE;
    for (var tt = 0u; tt < n_tiles; tt = tt + 1u) {
        stage_positions(base, tt * TILE, n, li);
        workgroupBarrier();
        let count = min(TILE, n - tt * TILE);
        // Soft-core prior over every pair of the tile, and the neighbours within r_c
        // compacted into nb (one minimum image per pair) for the network terms.
        var nb: array<u32, TILE>;
        var n_nb = 0u;
        // Dead invocations run no iteration (see tile_neighbours).
        let scan = select(0u, count, live);
        for (var q = 0u; q < scan; q = q + 1u) {
            let j = tt * TILE + q;
            if (j == m) {
                continue;
            }
            let d = minimum_image(tile[q].xyz - xm, params.box_length, params.inv_box);
            let r2 = dot(d, d);
            // Branch-free, like tile_neighbours: the slot is written whatever the test.
            nb[n_nb] = q;
            n_nb = n_nb + select(0u, 1u, r2 < rc2);
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
        for (var e = 0u; e < n_nb; e = e + 1u) {
            let q = nb[e];
            let j = tt * TILE + q;
            let d = minimum_image(tile[q].xyz - xm, params.box_length, params.inv_box);
            let r = sqrt(dot(d, d));
            let inv_r = select(0.0, 1.0 / r, r > 0.0);
            let fc = envelope(r, scales);
            let row_j4 = (base + j) * params.d4;
            var radial = 0.0;
            // The neighbour's radial adjoints, four at a time (one vector load per four).
            var a_j = vec4<f32>(0.0);
            var walk = basis_walk(r, scales);
            //#repeat k KR
            let w_@k = basis_next(&walk, @ku, fc);
            if (@ku % 4u == 0u) {
                a_j = input_grad[row_j4 + @ku / 4u];
            }
            radial = radial - (a_j[@ku % 4u] + am_@k) * w_@k.y * inv_r;
            if (@ku < KVEC) {
                let delta_@k = moment_adjoint[(base + j) * kv + @ku].xyz - vm_@k;
                let along_@k = w_@k.y * inv_r * dot(d, delta_@k);
                out.g_net = out.g_net + params.inv_sigma * (w_@k.x * delta_@k + along_@k * d);
            }
            //#end
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
    let m = wg.x * GROUP + li;
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
// features, dMLP(f_null(t))/dt = g_null . dtau/dt, comes from `model_null`.
@compute @workgroup_size(64)
fn model_score_time(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let c = wg.y;
    let m = wg.x * GROUP + li;
    let t = times[c];
    let n_time = 2u * params.freqs + 1u;
    let dy_null = null_out[c].y;

    let sums = pair_pass(c, m, li, t);
    if (m >= params.n) {
        return;
    }
    let p = c * params.n + m;
    // Slope of MLP(f_i) along the time features: g_i . dtau/dt.
    var dy = 0.0;
    for (var u = 0u; u < n_time; u = u + 1u) {
        let q = params.time_offset + u;
        dy = dy + input_grad[p * params.d4 + q / 4u][q % 4u] * time_feature_slope(u, t);
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
