// Lennard-Jones forces, per-particle energy and virial, gathered per particle (no atomics on floats).
//
// Inputs:  params, pos[B*n] (xyz wrapped into the box), and for `lj_forces_neighbors`
//          neighbors[k * total + s] / neighbor_count[s] from cell_list.wgsl, indexed by the
//          cell-order slot s of particle cell_particles[s] (invocation s handles it, so
//          neighbouring invocations work on nearby particles).
// Outputs: force[i] = (F_i, e_i) with e_i = 1/2 sum_j u(r_ij);
//          aux[i] = (w_i, c_i) with w_i = 1/2 sum_j r_ij . f_ij and c_i = 1/2 #{j : r_ij < r_c},
//          or, when params.alchemy != 0 (lambda windows, lambda = lambdas[replica]),
//          c_i = 1/2 sum_j du/dlambda(r_ij) with the alchemical pair term of that path.
// Dispatch: `lj_forces` (all minimum-image pairs, tiled in workgroup memory, PPL particles
//              per invocation): (ceil(n / (64 PPL)), B, 1) workgroups of 64;
//           `lj_forces_neighbors`: (ceil(total / 64), 1, 1) workgroups of 64.

#import md_types
#import pbc
#import lj
#import alchemy

@group(0) @binding(0) var<uniform> params: SimParams;
@group(0) @binding(1) var<storage, read> pos: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> force: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> aux: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read_write> control: Control;
@group(0) @binding(5) var<storage, read> neighbors: array<u32>;
@group(0) @binding(6) var<storage, read> neighbor_count: array<u32>;
@group(0) @binding(7) var<storage, read> cell_particles: array<u32>;
@group(0) @binding(8) var<storage, read> lambdas: array<f32>;

// (u, f_over_r, c) of a pair: c = 1 (a pair within the cutoff) for plain LJ, du/dlambda
// on an alchemical path.
fn pair_terms(r2: f32, lambda: f32) -> vec3<f32> {
    if (params.alchemy == ALCHEMY_NONE) {
        let p = lj_pair(r2, params.sigma2, params.eps4, params.shift);
        return vec3<f32>(p.x, p.y, 1.0);
    }
    return alchemical_pair(params.alchemy, r2, lambda, params.sigma2, params.eps4);
}

const TILE: u32 = 64u;
var<workgroup> tile: array<vec4<f32>, TILE>;

fn store_result(i: u32, f: vec3<f32>, e: f32, w: f32, c: f32) {
    force[i] = vec4<f32>(f, e);
    aux[i] = vec2<f32>(w, c);
    if (not_finite3(f) || not_finite(e)) {
        atomicOr(&control.status, STATUS_NOT_FINITE);
    }
}

// Particles per invocation of `lj_forces` (a compile-time parameter): every position read
// from the tile serves PPL particles held in registers. CPU adapters load a tile entry lane
// by lane, so there it pays to reuse it; GPUs run 1.
const PPL: u32 = 1u;

// Accumulates the pair (i, j) into one particle's sums (f, e, w, c); i == j and pairs past
// the cutoff add nothing.
fn add_pair(
    xi: vec3<f32>, xj: vec3<f32>, same: bool, lambda: f32,
    f: ptr<function, vec3<f32>>, e: ptr<function, f32>, w: ptr<function, f32>,
    c: ptr<function, f32>,
) {
    let d = minimum_image(xi - xj, params.box_length, params.inv_box);
    let r2 = dot(d, d);
    if (r2 < params.rc2 && !same) {
        let p = pair_terms(r2, lambda);
        *f = *f + p.y * d;
        *e = *e + 0.5 * p.x;
        *w = *w + 0.5 * p.y * r2;
        *c = *c + 0.5 * p.z;
    }
}

// All minimum-image pairs: invocation li of workgroup (x, b) owns particles
// (x * 64 + li) PPL + m (m < PPL) of replica b, so that the live invocations come first and
// the rest skip the pair loop.
@compute @workgroup_size(64)
fn lj_forces(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let n = params.n;
    let base = wg.y * n;
    let lambda = lambdas[wg.y];
    let i0 = (wg.x * TILE + li) * PPL;
    let live = i0 < n;
    //#repeat m PPL
    let i_@m = i0 + @mu;
    var x_@m = vec3<f32>(0.0);
    if (i_@m < n) {
        x_@m = pos[base + i_@m].xyz;
    }
    var f_@m = vec3<f32>(0.0);
    var e_@m = 0.0;
    var w_@m = 0.0;
    var c_@m = 0.0;
    //#end
    let n_tiles = (n + TILE - 1u) / TILE;
    for (var t = 0u; t < n_tiles; t = t + 1u) {
        let j_load = t * TILE + li;
        if (j_load < n) {
            tile[li] = pos[base + j_load];
        }
        workgroupBarrier();
        let count = select(0u, min(TILE, n - t * TILE), live);
        for (var k = 0u; k < count; k = k + 1u) {
            let xj = tile[k].xyz;
            let j = t * TILE + k;
            //#repeat m PPL
            add_pair(x_@m, xj, j == i_@m, lambda, &f_@m, &e_@m, &w_@m, &c_@m);
            //#end
        }
        workgroupBarrier();
    }
    //#repeat m PPL
    if (i_@m < n) {
        store_result(base + i_@m, f_@m, e_@m, w_@m, c_@m);
    }
    //#end
}

@compute @workgroup_size(64)
fn lj_forces_neighbors(@builtin(global_invocation_id) gid: vec3<u32>) {
    let s = gid.x;
    if (s >= params.total) {
        return;
    }
    let i = cell_particles[s];
    let lambda = lambdas[i / params.n];
    let xi = pos[i].xyz;
    let count = min(neighbor_count[s], params.max_neighbors);
    var f = vec3<f32>(0.0);
    var e = 0.0;
    var w = 0.0;
    var c = 0.0;
    for (var k = 0u; k < count; k = k + 1u) {
        let j = neighbors[k * params.total + s];
        add_pair(xi, pos[j].xyz, false, lambda, &f, &e, &w, &c);
    }
    store_result(i, f, e, w, c);
}
