// Reduced energies of stored configurations in every lambda state, for MBAR over the
// lambda windows of standard TI.
//
// Inputs:  params; configs[c * n + j] (vec4, xyz wrapped into the box), c < n_configs;
//          lambdas[l], l < n_states.
// Outputs: u[l * n_configs + c] = beta * sum_{i<j} u_l(r_ij) with the alchemical pair term
//          of params.path (common/alchemy.wgsl), minimum image, cutoff rc2.
// Dispatch: (n_configs, n_states, 1) workgroups of 64: each invocation sums the pairs
//          (i, j > i) of its particles i = li, li + 64, ...; a tree in workgroup memory
//          reduces them.

#import pbc
#import alchemy

struct EnergyParams {
    n: u32,
    n_configs: u32,
    n_states: u32,
    path: u32,
    box_length: f32,
    inv_box: f32,
    sigma2: f32,
    eps4: f32,
    rc2: f32,
    beta: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: EnergyParams;
@group(0) @binding(1) var<storage, read> configs: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> lambdas: array<f32>;
@group(0) @binding(3) var<storage, read_write> u: array<f32>;

var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(64)
fn alchemical_energies(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let c = wg.x;
    let l = wg.y;
    let base = c * params.n;
    let lambda = lambdas[l];
    var e = 0.0;
    for (var i = li; i < params.n; i = i + 64u) {
        let xi = configs[base + i].xyz;
        for (var j = i + 1u; j < params.n; j = j + 1u) {
            let d = minimum_image(xi - configs[base + j].xyz, params.box_length, params.inv_box);
            let r2 = dot(d, d);
            if (r2 < params.rc2) {
                e = e + alchemical_pair(params.path, r2, lambda, params.sigma2, params.eps4).x;
            }
        }
    }
    partial[li] = e;
    workgroupBarrier();
    for (var stride = 32u; stride > 0u; stride = stride / 2u) {
        if (li < stride) {
            partial[li] = partial[li] + partial[li + stride];
        }
        workgroupBarrier();
    }
    if (li == 0u) {
        u[l * params.n_configs + c] = params.beta * partial[0];
    }
}
