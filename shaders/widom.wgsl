// Widom test-particle insertion: the interaction energy of a ghost particle inserted at a
// uniformly random point of a stored configuration.
//
// Inputs:  params; configs[c * n + j] (vec4, xyz wrapped into the box) for configurations
//          c = 0 .. n_configs - 1 of this chunk.
// Outputs: du[c * insertions + k] = beta * Delta U of insertion k into configuration c, with
//          the scene's pair potential (minimum image; cutoff and shift when truncated).
//          Insertion points come from Philox4x32-10 with counter
//          (k, first_config + c, 2, 0) and key (seed_lo, seed_hi): the CPU reference
//          (src/reference/widom.rs) draws the same points.
// Dispatch: (ceil(insertions / 64), n_configs, 1) workgroups of 64; the configuration is
//          staged through workgroup memory in tiles of 64 particles.

#import pbc
#import rng
#import lj

struct WidomParams {
    n: u32,
    n_configs: u32,
    insertions: u32,
    first_config: u32,
    box_length: f32,
    inv_box: f32,
    eps4: f32,
    sigma2: f32,
    rc2: f32,
    shift: f32,
    beta: f32,
    min_r2: f32,
    seed_lo: u32,
    seed_hi: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: WidomParams;
@group(0) @binding(1) var<storage, read> configs: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> du: array<f32>;

const TILE: u32 = 64u;
var<workgroup> tile: array<vec4<f32>, TILE>;

// Uniform insertion point of insertion k into global configuration c.
fn insertion_point(k: u32, c: u32) -> vec3<f32> {
    let bits = philox4x32_10(vec4<u32>(k, c, 2u, 0u), vec2<u32>(params.seed_lo, params.seed_hi));
    let u = vec3<f32>(uniform_open01(bits.x), uniform_open01(bits.y), uniform_open01(bits.z));
    return u * params.box_length;
}

@compute @workgroup_size(64)
fn widom_insert(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let c = wg.y;
    let k = wg.x * TILE + li;
    let base = c * params.n;
    let x = insertion_point(k, params.first_config + c);
    var e = 0.0;
    let n_tiles = (params.n + TILE - 1u) / TILE;
    for (var t = 0u; t < n_tiles; t = t + 1u) {
        let j = t * TILE + li;
        if (j < params.n) {
            tile[li] = configs[base + j];
        }
        workgroupBarrier();
        let count = min(TILE, params.n - t * TILE);
        for (var q = 0u; q < count; q = q + 1u) {
            let d = minimum_image(x - tile[q].xyz, params.box_length, params.inv_box);
            // Clamp: an insertion on top of a particle gets a huge, finite energy.
            let r2 = max(dot(d, d), params.min_r2);
            if (r2 < params.rc2) {
                e = e + lj_pair(r2, params.sigma2, params.eps4, params.shift).x;
            }
        }
        workgroupBarrier();
    }
    if (k < params.insertions) {
        du[c * params.insertions + k] = params.beta * e;
    }
}
