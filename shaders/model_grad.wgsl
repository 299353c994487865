// Parameter gradient of the denoising score-matching loss of the energy model, for a batch of
// C configurations of N particles (each with its own t and noise z). Mirrors the CPU
// reference src/reference/model_grad.rs: `dsm_loss_grad` with passes D (`moment_tangent`,
// `feature_tangent`) and E (`mlp_tangent_param_gradient`), averaged over the configurations.
//
// Runs after the three passes of shaders/model_energy.wgsl on the same batch, whose outputs
// it reads: features (f_i, D floats per particle), moments (v_ik, vec4, K_v per particle)
// and score (vec4 (grad_x U~, u_i) per particle).
//
// Inputs:  gp (GradParams: the batch's ModelParams, 1/(3N), weights, block layout);
//          pos[c * n + i] (vec4), times[c], theta (flat parameters, ModelConfig::layout:
//          W1 H x D row-major, b1, W2 H x H row-major, b2, w3, b3, in this order);
//          features, moments, score (from model_energy); noise[p] = (target_p, 0), the
//          regression target of grad_x E: the noise z_p (denoising) or a blend with the
//          target score s(t) beta grad U(x_0) (src/train).
// Outputs and scratch (p = c * n + i, cn = C * N, P = number of parameters):
//   `grad_residual` (per particle): resid[p] = (u_p, |r_p|^2) with r_p = s(t) grad_x U~ - z_p
//          = grad_x E - z_p and u_p = 2 r_p / (3N) (held fixed in the derivation).
//   `grad_tangent` (pair pass, gather per i, positions and u staged in tiles of 64):
//          the moment tangents ds_ik, dv_ik along u, then
//          work[df_offset + p * D + d] = df_i (ds_i, dq_kl = dv_k . v_l + v_k . dv_l, 0 in
//          the time slots).
//   `grad_mlp` (per particle): forward and tangent-forward of the MLP at (f_i, df_i) and the
//          reverse pass of the tangent; stores seven H-vectors per particle, slot-major,
//          work[(slot * cn + p) * H + q]:
//            0: sc adot2        (-> w3)            3: a1      (right factor of W2)
//            1: sc bar_h2       (-> b2, W2 . a1)   4: adot1   (right factor of W2)
//            2: sc bar_hdot2    (-> W2 . adot1)    5: sc bar_h1    (-> b1, W1 . f)
//                                                  6: sc bar_hdot1 (-> W1 . df)
//          with sc = t_c (1 - t_c) / C, so every parameter gradient is a plain sum over all
//          cn particles of (left factor) x (right factor):
//            dW1[q][d] = sum_p slot5[p][q] f_p[d] + slot6[p][q] df_p[d],  db1[q] = sum slot5,
//            dW2[q][u] = sum_p slot1[p][q] a1_p[u] + slot2[p][q] adot1_p[u], db2 = sum slot1,
//            dw3[q] = sum_p slot0[p][q], db3 = 0.
//   `grad_params` (reduction, stage 1, no float atomics): each invocation of workgroup row b
//          owns a 4 x 4 tile of W1 or W2, or one other output (b1, b2, w3, b3, k = P the
//          loss), and sums its products over the block of BLOCK particles
//          b * BLOCK .. (b + 1) * BLOCK - 1 (all configurations flattened),
//          writing sums[(1 + block_offset + b) * (P + 1) + k]. The loss slot sums
//          |r_p|^2 inv_c / (3N) (inv_c = 1/C alone).
//   `grad_reduce` (stage 2): sums[k] = sum over blocks b < total_blocks of
//          sums[(1 + b) * (P + 1) + k], so sums[0 .. P] = mean over configurations of
//          grad_theta L_c and sums[P] = mean L_c. Joint batch of several particle counts:
//          each count's passes write their blocks at their block_offset with
//          inv_c = N / sum_m C_m N_m, and one grad_reduce over all blocks gives the mean over
//          every configuration, particle and coordinate.
// Dispatch: grad_residual, grad_tangent, grad_mlp: (ceil(n / 64), C, 1);
//           grad_params: (ceil(items / 64), n_blocks = ceil(cn / BLOCK), 1) with
//           items = ceil(H/4) ceil(D/4) + ceil(H/4)^2 + H + (P + 1 - b2);
//           grad_reduce: (ceil((P + 1) / 64), 1, 1); in this order, after model_energy.
// Maxima (checked on the host by ModelConfig::check_kernel_limits): K <= MAX_K, K_v <= MAX_KV, D <= MAX_D,
//          H <= MAX_H (the same values as model_energy.wgsl).
// Workgroup memory: two tiles of 64 vec4 (2 KiB): `tile` (model_common) and `tile_u`.

#import pbc
#import model_common

struct GradParams {
    model: ModelParams, // sizes, parameter offsets, box and schedule of the batch
    n_params: u32,      // P
    n_blocks: u32,      // ceil(cn / BLOCK)
    cn: u32,            // C * N
    df_offset: u32,     // 7 * cn * H: start of df in `work`
    inv_3n: f32,        // 1 / (3N)
    inv_c: f32,         // weight per configuration: 1 / C (joint batch: N / sum_m C_m N_m)
    block_offset: u32,  // first block of this batch's partial sums (0 unless joint)
    total_blocks: u32,  // blocks grad_reduce sums (n_blocks unless joint)
}

const BLOCK: u32 = 64u;
const TILE_W: u32 = 4u;  // grad_params: 4 x 4 output tiles of W1 and W2

@group(0) @binding(0) var<uniform> gp: GradParams;
@group(0) @binding(1) var<storage, read> pos: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> times: array<f32>;
@group(0) @binding(3) var<storage, read> theta: array<f32>;
@group(0) @binding(4) var<storage, read> features: array<f32>;
@group(0) @binding(5) var<storage, read> moments: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> score: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read> noise: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> resid: array<vec4<f32>>;
@group(0) @binding(9) var<storage, read_write> work: array<f32>;
@group(0) @binding(10) var<storage, read_write> sums: array<f32>;

var<workgroup> tile_u: array<vec4<f32>, TILE>;

// Index of slot `s`, particle `p`, hidden unit `q` in `work`.
fn slot(s: u32, p: u32, q: u32) -> u32 {
    return (s * gp.cn + p) * gp.model.hidden + q;
}

// Residual and the fixed displacement field u of the derivation: one invocation per particle.
@compute @workgroup_size(64)
fn grad_residual(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let c = wg.y;
    let i = wg.x * TILE + li;
    if (i >= gp.model.n) {
        return;
    }
    let p = c * gp.model.n + i;
    let r = schedule(times[c], gp.model.s_min, gp.model.ln_ratio) * score[p].xyz - noise[p].xyz;
    resid[p] = vec4<f32>(2.0 * gp.inv_3n * r, dot(r, r));
}

// Pass D: descriptor tangent df_i along u (gather per i over all j of the configuration).
@compute @workgroup_size(64)
fn grad_tangent(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let c = wg.y;
    let i = wg.x * TILE + li;
    let n = gp.model.n;
    let base = c * n;
    let live = i < n;
    let kv = gp.model.kv;
    var xi = vec3<f32>(0.0);
    var ui = vec3<f32>(0.0);
    if (live) {
        xi = pos[base + i].xyz;
        ui = resid[base + i].xyz;
    }
    var ds: array<f32, MAX_K>;
    var dv: array<vec3<f32>, MAX_KV>;
    for (var k = 0u; k < gp.model.k_radial; k = k + 1u) {
        ds[k] = 0.0;
    }
    for (var k = 0u; k < kv; k = k + 1u) {
        dv[k] = vec3<f32>(0.0);
    }
    let rc2 = gp.model.r_c * gp.model.r_c;
    let n_tiles = (n + TILE - 1u) / TILE;
    for (var tt = 0u; tt < n_tiles; tt = tt + 1u) {
        let jl = tt * TILE + li;
        if (jl < n) {
            tile[li] = pos[base + jl];
            tile_u[li] = resid[base + jl];
        }
        workgroupBarrier();
        let count = min(TILE, n - tt * TILE);
        var nb: array<u32, TILE>;
        let m = tile_neighbours(
            &nb, xi, tt * TILE, count, i, live, rc2, gp.model.box_length, gp.model.inv_box,
        );
        for (var e = 0u; e < m; e = e + 1u) {
            let q = nb[e];
            let d = minimum_image(tile[q].xyz - xi, gp.model.box_length, gp.model.inv_box);
            let r2 = dot(d, d);
            let r = sqrt(r2);
            let inv_r = select(0.0, 1.0 / r, r > 0.0);
            let du = tile_u[q].xyz - ui;
            let d_du = dot(d, du) * inv_r;
            let fc = envelope(r, gp.model.r_c);
            for (var k = 0u; k < gp.model.k_radial; k = k + 1u) {
                let w = basis(k, r, fc, gp.model.delta, gp.model.gamma);
                ds[k] = ds[k] + w.y * d_du;
                if (k < kv) {
                    dv[k] = dv[k] + gp.model.inv_sigma * (w.x * du + w.y * d_du * d);
                }
            }
        }
        workgroupBarrier();
    }
    if (!live) {
        return;
    }
    let p = base + i;
    let row = gp.df_offset + p * gp.model.dim;
    for (var k = 0u; k < gp.model.k_radial; k = k + 1u) {
        work[row + k] = ds[k];
    }
    var idx = row + gp.model.k_radial;
    for (var k = 0u; k < kv; k = k + 1u) {
        let vk = moments[p * kv + k].xyz;
        for (var l = k; l < kv; l = l + 1u) {
            let vl = moments[p * kv + l].xyz;
            work[idx] = dot(dv[k], vl) + dot(vk, dv[l]);
            idx = idx + 1u;
        }
    }
    for (; idx < row + gp.model.dim; idx = idx + 1u) {
        work[idx] = 0.0;
    }
}

// Pass E, per particle: tangent forward and its reverse pass; stores the seven factors.
// Every matrix-vector product runs four output rows at a time (vec4 accumulators), so each
// input value read from the private arrays serves four products.
@compute @workgroup_size(64)
fn grad_mlp(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let c = wg.y;
    let i = wg.x * TILE + li;
    if (i >= gp.model.n) {
        return;
    }
    let p = c * gp.model.n + i;
    let h = gp.model.hidden;
    let dim = gp.model.dim;
    let t = times[c];
    let sc = t * (1.0 - t) * gp.inv_c;
    let frow = p * dim;
    let dfrow = gp.df_offset + p * dim;

    // Layer 1: h1 = W1 f + b1, hdot1 = W1 df.
    var f: array<f32, MAX_D>;
    var df: array<f32, MAX_D>;
    for (var d = 0u; d < dim; d = d + 1u) {
        f[d] = features[frow + d];
        df[d] = work[dfrow + d];
    }
    var pre1: array<f32, MAX_H>;
    var hdot1: array<f32, MAX_H>;
    var a1: array<f32, MAX_H>;
    var adot1: array<f32, MAX_H>;
    for (var q0 = 0u; q0 < h; q0 = q0 + 4u) {
        var z = cols4(gp.model.b1, q0, h);
        var zd = vec4<f32>(0.0);
        for (var d = 0u; d < dim; d = d + 1u) {
            let w = rows4(gp.model.w1, q0, h, dim, d);
            z = z + w * f[d];
            zd = zd + w * df[d];
        }
        for (var e = 0u; e < 4u; e = e + 1u) {
            let q = q0 + e;
            if (q < h) {
                let act = silu3(z[e]);
                pre1[q] = z[e];
                hdot1[q] = zd[e];
                a1[q] = act.x;
                adot1[q] = act.y * zd[e];
                work[slot(3u, p, q)] = act.x;
                work[slot(4u, p, q)] = act.y * zd[e];
            }
        }
    }

    // Layer 2 and the output: tangent adot2, adjoints bar_hdot2 = w3 s'(h2),
    // bar_h2 = w3 s''(h2) hdot2.
    var bar_hd2: array<f32, MAX_H>;
    var bar_h2: array<f32, MAX_H>;
    for (var q0 = 0u; q0 < h; q0 = q0 + 4u) {
        var z = cols4(gp.model.b2, q0, h);
        var zd = vec4<f32>(0.0);
        for (var u = 0u; u < h; u = u + 1u) {
            let w = rows4(gp.model.w2, q0, h, h, u);
            z = z + w * a1[u];
            zd = zd + w * adot1[u];
        }
        for (var e = 0u; e < 4u; e = e + 1u) {
            let q = q0 + e;
            if (q < h) {
                let act = silu3(z[e]);
                let w3 = theta[gp.model.w3 + q];
                bar_hd2[q] = w3 * act.y;
                bar_h2[q] = w3 * act.z * zd[e];
                work[slot(0u, p, q)] = sc * act.y * zd[e];
                work[slot(1u, p, q)] = sc * bar_h2[q];
                work[slot(2u, p, q)] = sc * bar_hd2[q];
            }
        }
    }

    // bar_adot1 = W2^T bar_hdot2, bar_a1 = W2^T bar_h2, four columns u at a time; then
    // bar_hdot1 = bar_adot1 s'(h1), bar_h1 = bar_adot1 s''(h1) hdot1 + bar_a1 s'(h1).
    for (var u0 = 0u; u0 < h; u0 = u0 + 4u) {
        var bad = vec4<f32>(0.0);
        var ba = vec4<f32>(0.0);
        for (var q = 0u; q < h; q = q + 1u) {
            let w = cols4(gp.model.w2 + q * h, u0, h);
            bad = bad + w * bar_hd2[q];
            ba = ba + w * bar_h2[q];
        }
        for (var e = 0u; e < 4u; e = e + 1u) {
            let u = u0 + e;
            if (u < h) {
                let act = silu3(pre1[u]);
                work[slot(5u, p, u)] = sc * (bad[e] * act.z * hdot1[u] + ba[e] * act.y);
                work[slot(6u, p, u)] = sc * (bad[e] * act.y);
            }
        }
    }
}

// Reduction stage 1 over one block of particles. Work items (one per invocation, in this
// order): the 4 x 4 tiles of W1 (rows q, columns d) and of W2 (rows q, columns u), each
// summing sixteen outputs so that every value loaded serves four products; then one item per
// remaining output: b1 (H), then b2, w3, b3 and the loss (k = b2 .. P).
fn tile_count(rows: u32, cols: u32) -> u32 {
    return ((rows + TILE_W - 1u) / TILE_W) * ((cols + TILE_W - 1u) / TILE_W);
}

@compute @workgroup_size(64)
fn grad_params(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let item = wg.x * 64u + li;
    let n_out = gp.n_params + 1u;
    let b = wg.y;
    let p0 = b * BLOCK;
    let p1 = min(p0 + BLOCK, gp.cn);
    let h = gp.model.hidden;
    let dim = gp.model.dim;
    let row = (1u + gp.block_offset + b) * n_out;
    let n1 = tile_count(h, dim);
    let n2 = tile_count(h, h);
    if (item < n1 + n2) {
        // dW1[q][d] = sum_p slot5[p][q] f_p[d] + slot6[p][q] df_p[d];
        // dW2[q][u] = sum_p slot1[p][q] a1_p[u] + slot2[p][q] adot1_p[u].
        let is_w1 = item < n1;
        var cols = h;
        var local = item - n1;
        var left = vec2<u32>(1u, 2u);
        if (is_w1) {
            cols = dim;
            local = item;
            left = vec2<u32>(5u, 6u);
        }
        let col_tiles = (cols + TILE_W - 1u) / TILE_W;
        let q0 = (local / col_tiles) * TILE_W;
        let c0 = (local % col_tiles) * TILE_W;
        var acc: array<f32, 16>;
        for (var e = 0u; e < 16u; e = e + 1u) {
            acc[e] = 0.0;
        }
        for (var p = p0; p < p1; p = p + 1u) {
            var la: array<f32, 4>;
            var lb: array<f32, 4>;
            var ra: array<f32, 4>;
            var rb: array<f32, 4>;
            for (var a = 0u; a < TILE_W; a = a + 1u) {
                let q = min(q0 + a, h - 1u);
                la[a] = work[slot(left.x, p, q)];
                lb[a] = work[slot(left.y, p, q)];
                let c = min(c0 + a, cols - 1u);
                if (is_w1) {
                    ra[a] = features[p * dim + c];
                    rb[a] = work[gp.df_offset + p * dim + c];
                } else {
                    ra[a] = work[slot(3u, p, c)];
                    rb[a] = work[slot(4u, p, c)];
                }
            }
            for (var a = 0u; a < TILE_W; a = a + 1u) {
                for (var c = 0u; c < TILE_W; c = c + 1u) {
                    acc[a * TILE_W + c] = acc[a * TILE_W + c] + la[a] * ra[c] + lb[a] * rb[c];
                }
            }
        }
        var base = gp.model.w2;
        if (is_w1) {
            base = gp.model.w1;
        }
        for (var a = 0u; a < TILE_W; a = a + 1u) {
            for (var c = 0u; c < TILE_W; c = c + 1u) {
                if (q0 + a < h && c0 + c < cols) {
                    sums[row + base + (q0 + a) * cols + c0 + c] = acc[a * TILE_W + c];
                }
            }
        }
        return;
    }
    let rest = item - n1 - n2;
    var k = gp.model.b1 + rest;
    if (rest >= h) {
        k = gp.model.b2 + rest - h;
    }
    if (k >= n_out) {
        return;
    }
    var acc = 0.0;
    if (k < gp.model.w2) {
        let q = k - gp.model.b1;
        for (var p = p0; p < p1; p = p + 1u) {
            acc = acc + work[slot(5u, p, q)];
        }
    } else if (k < gp.model.w3) {
        let q = k - gp.model.b2;
        for (var p = p0; p < p1; p = p + 1u) {
            acc = acc + work[slot(1u, p, q)];
        }
    } else if (k < gp.model.b3) {
        let q = k - gp.model.w3;
        for (var p = p0; p < p1; p = p + 1u) {
            acc = acc + work[slot(0u, p, q)];
        }
    } else if (k == gp.n_params) {
        for (var p = p0; p < p1; p = p + 1u) {
            acc = acc + resid[p].w;
        }
        acc = acc * gp.inv_3n * gp.inv_c;
    }
    // k == b3: the gradient of b3 is 0 (acc stays 0).
    sums[row + k] = acc;
}

// Reduction stage 2: sums[k] = sum over blocks of the stage-1 partials.
@compute @workgroup_size(64)
fn grad_reduce(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let k = wg.x * 64u + li;
    let n_out = gp.n_params + 1u;
    if (k >= n_out) {
        return;
    }
    var acc = 0.0;
    for (var b = 0u; b < gp.total_blocks; b = b + 1u) {
        acc = acc + sums[(1u + b) * n_out + k];
    }
    sums[k] = acc;
}
