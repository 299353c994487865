// Parameter gradient of the denoising score-matching loss of the energy model, for a batch of
// C configurations of N particles (each with its own t and noise z). Mirrors the CPU
// reference src/reference/model_grad.rs: `dsm_loss_grad` with passes D (`moment_tangent`,
// `feature_tangent`) and E (`mlp_tangent_param_gradient`), averaged over the configurations.
//
// Runs after the passes of shaders/model_energy.wgsl on the same batch, whose outputs
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
//   `grad_tangent` (pair pass, gather per i, positions and u staged in tiles of TILE = 256):
//          the moment tangents ds_ik, dv_ik along u, then
//          work[df_offset + p * D + d] = df_i (ds_i, dq_kl = dv_k . v_l + v_k . dv_l, 0 in
//          the time slots).
//   `grad_mlp` (PPL particles per invocation, the configurations flattened): forward and
//          tangent-forward of the MLP at (f_i, df_i) (packed weights, `wpack`) and the
//          reverse pass of the tangent; stores seven H-vectors per particle, slot-major,
//          work[(slot * cn + p) * Hp + q] (Hp = 4 ceil(H/4), zero beyond H):
//            0: sc adot2        (-> w3)            3: a1      (right factor of W2)
//            1: sc bar_h2       (-> b2, W2 . a1)   4: adot1   (right factor of W2)
//            2: sc bar_hdot2    (-> W2 . adot1)    5: sc bar_h1    (-> b1, W1 . f)
//                                                  6: sc bar_hdot1 (-> W1 . df)
//          with sc = t_c (1 - t_c) / C, so every parameter gradient is a plain sum over all
//          cn particles of (left factor) x (right factor):
//            dW1[q][d] = sum_p slot5[p][q] f_p[d] + slot6[p][q] df_p[d],  db1[q] = sum slot5,
//            dW2[q][u] = sum_p slot1[p][q] a1_p[u] + slot2[p][q] adot1_p[u], db2 = sum slot1,
//            dw3[q] = sum_p slot0[p][q], db3 = 0.
//   `grad_weights` (reduction, stage 1, no float atomics): dW1 and dW2 over the block of
//          BLOCK particles b * BLOCK .. (b + 1) * BLOCK - 1 (all configurations flattened),
//          tiles of ROWS rows x 8 columns per invocation, writing
//          sums[(1 + block_offset + b) * (P + 1) + k];
//   `grad_params` (stage 1 of the other outputs): one invocation per output (b1, b2, w3, b3,
//          k = P the loss) and block; the loss slot sums |r_p|^2 inv_c / (3N)
//          (inv_c = 1/C alone).
//   `grad_reduce` (stage 2): sums[k] = sum over blocks b < total_blocks of
//          sums[(1 + b) * (P + 1) + k], so sums[0 .. P] = mean over configurations of
//          grad_theta L_c and sums[P] = mean L_c. Joint batch of several particle counts:
//          each count's passes write their blocks at their block_offset with
//          inv_c = N / sum_m C_m N_m, and one grad_reduce over all blocks gives the mean over
//          every configuration, particle and coordinate.
// Dispatch: grad_residual, grad_tangent: (ceil(n / 64), C, 1); grad_mlp:
//           (ceil(cn / (64 PPL)), 1, 1); grad_weights: (2 ceil(Hp / ROWS), n_blocks, 1) of 8
//           invocations, n_blocks = ceil(cn / BLOCK); grad_params: (ceil(items / 64),
//           n_blocks, 1) with items = H + (P + 1 - b2);
//           grad_reduce: (ceil((P + 1) / 64), 1, 1); in this order, after model_energy.
// Compile-time parameters: PPL (particles per invocation of grad_mlp) and KR, KVEC, as for
//          model_energy.wgsl. Maxima (checked on the host by
//          ModelConfig::check_kernel_limits): K <= MAX_K, K_v <= MAX_KV, D <= MAX_D, H <= MAX_H.
// Workgroup memory: two tiles of 256 vec4 (8 KiB): `tile` (model_common) and `tile_u`.

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
const PPL: u32 = 1u;     // particles per invocation of grad_mlp (12 on CPU adapters)

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
@group(0) @binding(11) var<storage, read> wpack: array<vec4<f32>>;

var<workgroup> tile_u: array<vec4<f32>, TILE>;

// Index of slot `s`, particle `p`, hidden unit `q` in `work`.
fn slot(s: u32, p: u32, q: u32) -> u32 {
    return (s * gp.cn + p) * 4u * gp.model.h4 + q;
}

// Residual and the fixed displacement field u of the derivation: one invocation per particle.
@compute @workgroup_size(64)
fn grad_residual(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let c = wg.y;
    let i = wg.x * GROUP + li;
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
    let i = wg.x * GROUP + li;
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
    //#repeat k KR
    var ds_@k = 0.0;
    var dv_@k = vec3<f32>(0.0);
    //#end
    let rc2 = gp.model.r_c * gp.model.r_c;
    let scales = radial_scales(gp.model.r_c, gp.model.delta);
    let n_tiles = (n + TILE - 1u) / TILE;
    for (var tt = 0u; tt < n_tiles; tt = tt + 1u) {
        stage_positions(base, tt * TILE, n, li);
        for (var sl = li; sl < TILE; sl = sl + GROUP) {
            let jl = tt * TILE + sl;
            if (jl < n) {
                tile_u[sl] = resid[base + jl];
            }
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
            let fc = envelope(r, scales);
            var walk = basis_walk(r, scales);
            //#repeat k KR
            let w_@k = basis_next(&walk, @ku, fc);
            ds_@k = ds_@k + w_@k.y * d_du;
            if (@ku < KVEC) {
                dv_@k = dv_@k + gp.model.inv_sigma * (w_@k.x * du + w_@k.y * d_du * d);
            }
            //#end
        }
        workgroupBarrier();
    }
    if (!live) {
        return;
    }
    let p = base + i;
    let row = gp.df_offset + p * gp.model.dim;
    var dv: array<vec3<f32>, MAX_KV>;
    //#repeat k KR
    work[row + @ku] = flush(ds_@k);
    if (@ku < KVEC) {
        dv[min(@ku, MAX_KV - 1u)] = flush3(dv_@k);
    }
    //#end
    var idx = row + gp.model.k_radial;
    for (var k = 0u; k < kv; k = k + 1u) {
        let vk = moments[p * kv + k].xyz;
        for (var l = k; l < kv; l = l + 1u) {
            let vl = moments[p * kv + l].xyz;
            work[idx] = flush(dot(dv[k], vl) + dot(vk, dv[l]));
            idx = idx + 1u;
        }
    }
    for (; idx < row + gp.model.dim; idx = idx + 1u) {
        work[idx] = 0.0;
    }
}

// Pass E as matrix products over blocks of PPL particles per invocation (the configurations
// flattened): tangent forward and its reverse pass; stores the seven factors. Every vec4 of
// weights loaded (packed layout) serves both the value and the tangent of PPL particles.
@compute @workgroup_size(64)
fn grad_mlp(@builtin(global_invocation_id) gid: vec3<u32>) {
    let n = gp.model.n;
    let total = gp.cn;
    let dim = gp.model.dim;
    let h4 = gp.model.h4;
    let o_bias = gp.model.o_bias;
    let p0 = gid.x * PPL;
    if (p0 >= total) {
        return;
    }
    //#repeat m PPL
    let p_@m = min(p0 + @mu, total - 1u);
    let t_@m = times[p_@m / n];
    let sc_@m = t_@m * (1.0 - t_@m) * gp.inv_c;
    var f_@m: array<f32, MAX_D>;
    var df_@m: array<f32, MAX_D>;
    for (var d = 0u; d < dim; d = d + 1u) {
        f_@m[d] = features[p_@m * dim + d];
        df_@m[d] = work[gp.df_offset + p_@m * dim + d];
    }
    var a1_@m: array<vec4<f32>, MAX_H4>;
    var ad1_@m: array<vec4<f32>, MAX_H4>;
    var s1_@m: array<vec4<f32>, MAX_H4>;
    var cz1_@m: array<vec4<f32>, MAX_H4>;
    var bhd2_@m: array<vec4<f32>, MAX_H4>;
    var bh2_@m: array<vec4<f32>, MAX_H4>;
    //#end

    // Layer 1: h1 = W1 f + b1, hdot1 = W1 df; a1, adot1 = s'(h1) hdot1 (slots 3 and 4).
    for (var qb = 0u; qb < h4; qb = qb + 1u) {
        let b = wpack[o_bias + qb];
        //#repeat m PPL
        var z_@m = b;
        var zd_@m = vec4<f32>(0.0);
        //#end
        for (var d = 0u; d < dim; d = d + 1u) {
            let w = wpack[d * h4 + qb];
            //#repeat m PPL
            z_@m = fma(w, vec4<f32>(f_@m[d]), z_@m);
            zd_@m = fma(w, vec4<f32>(df_@m[d]), zd_@m);
            //#end
        }
        //#repeat m PPL
        let act_@m = silu4(z_@m);
        a1_@m[qb] = act_@m.v;
        ad1_@m[qb] = act_@m.s * zd_@m;
        s1_@m[qb] = act_@m.s;
        cz1_@m[qb] = act_@m.c * zd_@m;
        store4(3u, p0 + @mu, qb, act_@m.v);
        store4(4u, p0 + @mu, qb, act_@m.s * zd_@m);
        //#end
    }

    // Layer 2 and the output: tangent adot2 (slot 0), adjoints bar_hdot2 = w3 s'(h2)
    // (slot 2) and bar_h2 = w3 s''(h2) hdot2 (slot 1), all scaled by sc; the reverse pass is
    // linear in the adjoints, so slots 5 and 6 come out scaled as well.
    for (var qb = 0u; qb < h4; qb = qb + 1u) {
        let b = wpack[o_bias + h4 + qb];
        let w3 = wpack[o_bias + 2u * h4 + qb];
        //#repeat m PPL
        var z_@m = b;
        var zd_@m = vec4<f32>(0.0);
        //#end
        for (var ub = 0u; ub < h4; ub = ub + 1u) {
            let base = gp.model.o_w2t + 4u * ub * h4 + qb;
            let wx = wpack[base];
            let wy = wpack[base + h4];
            let wz = wpack[base + 2u * h4];
            let ww = wpack[base + 3u * h4];
            //#repeat m PPL
            let a_@m = a1_@m[ub];
            let ad_@m = ad1_@m[ub];
            z_@m = fma4(wx, wy, wz, ww, a_@m, z_@m);
            zd_@m = fma4(wx, wy, wz, ww, ad_@m, zd_@m);
            //#end
        }
        //#repeat m PPL
        let act_@m = silu4(z_@m);
        bh2_@m[qb] = sc_@m * (w3 * act_@m.c * zd_@m);
        bhd2_@m[qb] = sc_@m * (w3 * act_@m.s);
        store4(0u, p0 + @mu, qb, sc_@m * act_@m.s * zd_@m);
        store4(1u, p0 + @mu, qb, bh2_@m[qb]);
        store4(2u, p0 + @mu, qb, bhd2_@m[qb]);
        //#end
    }
    // bar_adot1 = W2^T bar_hdot2, bar_a1 = W2^T bar_h2; then
    // bar_hdot1 = bar_adot1 s'(h1) (slot 6), bar_h1 = bar_adot1 s''(h1) hdot1 + bar_a1 s'(h1)
    // (slot 5).
    for (var ub = 0u; ub < h4; ub = ub + 1u) {
        //#repeat m PPL
        var bad_@m = vec4<f32>(0.0);
        var ba_@m = vec4<f32>(0.0);
        //#end
        for (var qb = 0u; qb < h4; qb = qb + 1u) {
            let base = gp.model.o_w2p + 4u * qb * h4 + ub;
            let wx = wpack[base];
            let wy = wpack[base + h4];
            let wz = wpack[base + 2u * h4];
            let ww = wpack[base + 3u * h4];
            //#repeat m PPL
            let g_@m = bhd2_@m[qb];
            let gh_@m = bh2_@m[qb];
            bad_@m = fma4(wx, wy, wz, ww, g_@m, bad_@m);
            ba_@m = fma4(wx, wy, wz, ww, gh_@m, ba_@m);
            //#end
        }
        //#repeat m PPL
        store4(5u, p0 + @mu, ub, bad_@m * cz1_@m[ub] + ba_@m * s1_@m[ub]);
        store4(6u, p0 + @mu, ub, bad_@m * s1_@m[ub]);
        //#end
    }
}

// Stores four hidden units of slot `s` of particle p (skipped beyond the batch).
fn store4(s: u32, p: u32, qb: u32, v: vec4<f32>) {
    if (p >= gp.cn) {
        return;
    }
    let k = slot(s, p, 4u * qb);
    let w = flush4(v);
    work[k] = w.x;
    work[k + 1u] = w.y;
    work[k + 2u] = w.z;
    work[k + 3u] = w.w;
}

// Loads four hidden units of slot `s` of particle p.
fn load4(s: u32, p: u32, qb: u32) -> vec4<f32> {
    let k = slot(s, p, 4u * qb);
    return vec4<f32>(work[k], work[k + 1u], work[k + 2u], work[k + 3u]);
}

// The weight matrices' gradients, reduction stage 1: workgroup (j, b) sums over the block
// of BLOCK particles b the outer products of rows ROWS j' .. ROWS j' + ROWS - 1 of W1
// (j = j' < ceil(4 h4 / ROWS)) or of W2 (the next blocks); invocation li owns columns
// 8 li .. 8 li + 7 (two vec4 per row, 2 ROWS accumulators):
//   dW1[q][d] += slot5[p][q] f_p[d] + slot6[p][q] df_p[d],
//   dW2[q][u] += slot1[p][q] a1_p[u] + slot2[p][q] adot1_p[u].
// The slot values of a row block are the same for every invocation of the workgroup, so
// each serves eight columns.
const ROWS: u32 = 16u;

@compute @workgroup_size(8)
fn grad_weights(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let h = gp.model.hidden;
    let hp = 4u * gp.model.h4;
    let row_blocks = (hp + ROWS - 1u) / ROWS;
    let dim = gp.model.dim;
    let is_w1 = wg.x < row_blocks;
    let q0 = ROWS * select(wg.x - row_blocks, wg.x, is_w1);
    var cols = h;
    var lefts = vec2<u32>(1u, 2u);
    var base = gp.model.w2;
    if (is_w1) {
        cols = dim;
        lefts = vec2<u32>(5u, 6u);
        base = gp.model.w1;
    }
    let c0 = 8u * li;
    let b = wg.y;
    let p_begin = b * BLOCK;
    let p_end = min(p_begin + BLOCK, gp.cn);
    //#repeat r ROWS
    var lo_@r = vec4<f32>(0.0);
    var hi_@r = vec4<f32>(0.0);
    //#end
    let live = c0 < cols;
    // Rows beyond the padded width read row hp - 1 (their sums are not written).
    let rmax = hp - 1u - q0;
    for (var p = p_begin; p < p_end; p = p + 1u) {
        var r1lo = vec4<f32>(0.0);
        var r1hi = vec4<f32>(0.0);
        var r2lo = vec4<f32>(0.0);
        var r2hi = vec4<f32>(0.0);
        if (live) {
            if (is_w1) {
                for (var k = 0u; k < 4u; k = k + 1u) {
                    let d = min(c0 + k, dim - 1u);
                    let keep = select(0.0, 1.0, c0 + k < dim);
                    r1lo[k] = keep * features[p * dim + d];
                    r2lo[k] = keep * work[gp.df_offset + p * dim + d];
                    let e = min(c0 + 4u + k, dim - 1u);
                    let keep_e = select(0.0, 1.0, c0 + 4u + k < dim);
                    r1hi[k] = keep_e * features[p * dim + e];
                    r2hi[k] = keep_e * work[gp.df_offset + p * dim + e];
                }
            } else {
                r1lo = load4(3u, p, 2u * li);
                r1hi = load4(3u, p, 2u * li + 1u);
                r2lo = load4(4u, p, 2u * li);
                r2hi = load4(4u, p, 2u * li + 1u);
            }
        }
        let l1 = slot(lefts.x, p, q0);
        let l2 = slot(lefts.y, p, q0);
        //#repeat r ROWS
        let x_@r = vec4<f32>(work[l1 + min(@ru, rmax)]);
        let y_@r = vec4<f32>(work[l2 + min(@ru, rmax)]);
        lo_@r = fma(x_@r, r1lo, fma(y_@r, r2lo, lo_@r));
        hi_@r = fma(x_@r, r1hi, fma(y_@r, r2hi, hi_@r));
        //#end
    }
    if (!live) {
        return;
    }
    let row = (1u + gp.block_offset + b) * (gp.n_params + 1u);
    //#repeat r ROWS
    store_weight_sums(row + base, q0 + @ru, cols, c0, lo_@r, hi_@r);
    //#end
}

// Writes the eight sums (lo, hi) of row q, columns c0 .. c0 + 7, of a weight matrix with
// `cols` columns starting at `at` in sums (rows beyond H and columns beyond `cols` skipped).
fn store_weight_sums(at: u32, q: u32, cols: u32, c0: u32, lo: vec4<f32>, hi: vec4<f32>) {
    if (q >= gp.model.hidden) {
        return;
    }
    for (var k = 0u; k < 4u; k = k + 1u) {
        if (c0 + k < cols) {
            sums[at + q * cols + c0 + k] = lo[k];
        }
        if (c0 + 4u + k < cols) {
            sums[at + q * cols + c0 + 4u + k] = hi[k];
        }
    }
}

// Reduction stage 1 of the other outputs over one block of particles: one item per output,
// b1 (H) first, then b2, w3, b3 and the loss (k = b2 .. P).
@compute @workgroup_size(64)
fn grad_params(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let rest = wg.x * 64u + li;
    let n_out = gp.n_params + 1u;
    let b = wg.y;
    let p0 = b * BLOCK;
    let p1 = min(p0 + BLOCK, gp.cn);
    let h = gp.model.hidden;
    let row = (1u + gp.block_offset + b) * n_out;
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
