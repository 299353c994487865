// On-device observables.
//
// reduce_observables: one workgroup of 256 per replica b, tree reduction in workgroup memory:
//   obs[2b]     = (sum_i e_i, sum_i w_i, sum_i m u_i^2 / 2, sum_i c_i)
//               = (potential energy, virial W = sum_{i<j} r.f, half-step kinetic energy,
//                  pairs within r_c), with u_i = v_i + dt/2 F_i/m the velocity after the
//                  next half kick: BAOAB samples it exactly for harmonic forces, while the
//                  step-boundary velocity v_i is biased by -(omega dt / 2)^2;
//   obs[2b + 1] = (sum_i m v_i^2 / 2, 0, 0, 0), the step-boundary kinetic energy (the
//                  conserved energy of NVE velocity Verlet uses it).
//   Dispatch (B, 1, 1).
// gr_all_pairs: histogram of minimum-image pair distances r < gr_max over all pairs i < j of
//   every replica; bin = floor(r * gr_inv_width). Per-workgroup histogram in workgroup
//   memory, flushed with integer atomics. Dispatch (ceil(n / 64), B, 1).
// gr_neighbors: the same from the neighbour list (requires gr_max <= r_c; list slot s holds
//   the neighbours of particle cell_particles[s]).
//   Dispatch (ceil(total / 64), 1, 1).

#import md_types
#import pbc

@group(0) @binding(0) var<uniform> params: SimParams;
@group(0) @binding(1) var<storage, read> pos: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> vel: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> force: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> aux: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read_write> obs: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> gr_hist: array<atomic<u32>>;
@group(0) @binding(7) var<storage, read> neighbors: array<u32>;
@group(0) @binding(8) var<storage, read> neighbor_count: array<u32>;
@group(0) @binding(9) var<storage, read> cell_particles: array<u32>;

const REDUCE_THREADS: u32 = 256u;
var<workgroup> partial: array<vec4<f32>, REDUCE_THREADS>;
var<workgroup> partial_ke: array<f32, REDUCE_THREADS>;

@compute @workgroup_size(256)
fn reduce_observables(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let b = wg.x;
    let base = b * params.n;
    var acc = vec4<f32>(0.0);
    var ke = 0.0;
    for (var k = li; k < params.n; k = k + REDUCE_THREADS) {
        let i = base + k;
        let f = force[i];
        let v = vel[i].xyz;
        let u = v + 0.5 * params.dt * params.inv_mass * f.xyz;
        let a = aux[i];
        acc = acc + vec4<f32>(f.w, a.x, 0.5 * params.mass * dot(u, u), a.y);
        ke = ke + 0.5 * params.mass * dot(v, v);
    }
    partial[li] = acc;
    partial_ke[li] = ke;
    workgroupBarrier();
    for (var stride = REDUCE_THREADS / 2u; stride > 0u; stride = stride / 2u) {
        if (li < stride) {
            partial[li] = partial[li] + partial[li + stride];
            partial_ke[li] = partial_ke[li] + partial_ke[li + stride];
        }
        workgroupBarrier();
    }
    if (li == 0u) {
        obs[2u * b] = partial[0];
        obs[2u * b + 1u] = vec4<f32>(partial_ke[0], 0.0, 0.0, 0.0);
    }
}

const MAX_BINS: u32 = 256u;
var<workgroup> local_hist: array<atomic<u32>, MAX_BINS>;

fn hist_clear(li: u32) {
    for (var k = li; k < MAX_BINS; k = k + 64u) {
        atomicStore(&local_hist[k], 0u);
    }
}

fn hist_flush(li: u32) {
    for (var k = li; k < params.gr_bins; k = k + 64u) {
        let v = atomicLoad(&local_hist[k]);
        if (v != 0u) {
            atomicAdd(&gr_hist[k], v);
        }
    }
}

fn hist_add(r2: f32) {
    let r = sqrt(r2);
    if (r < params.gr_max) {
        let bin = min(u32(r * params.gr_inv_width), params.gr_bins - 1u);
        atomicAdd(&local_hist[bin], 1u);
    }
}

@compute @workgroup_size(64)
fn gr_all_pairs(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    hist_clear(li);
    workgroupBarrier();
    let n = params.n;
    let base = wg.y * n;
    let i = wg.x * 64u + li;
    if (i < n) {
        let xi = pos[base + i].xyz;
        for (var j = i + 1u; j < n; j = j + 1u) {
            let d = minimum_image(xi - pos[base + j].xyz, params.box_length, params.inv_box);
            hist_add(dot(d, d));
        }
    }
    workgroupBarrier();
    hist_flush(li);
}

@compute @workgroup_size(64)
fn gr_neighbors(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    hist_clear(li);
    workgroupBarrier();
    let s = gid.x;
    if (s < params.total) {
        let i = cell_particles[s];
        let xi = pos[i].xyz;
        let count = neighbor_count[s];
        for (var k = 0u; k < count; k = k + 1u) {
            let j = neighbors[k * params.total + s];
            if (j > i) {
                let d = minimum_image(xi - pos[j].xyz, params.box_length, params.inv_box);
                hist_add(dot(d, d));
            }
        }
    }
    workgroupBarrier();
    hist_flush(li);
}
