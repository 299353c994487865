// Cell list by counting sort, and the Verlet neighbour list built from it, for B replicas.
// The list kernels are dispatched indirectly, every step, from the arguments that
// step_control.wgsl writes: real workgroup counts when a particle has moved more than half
// the skin, zeros otherwise. So the list is rebuilt on the device only when needed, at
// almost no cost otherwise, and with no host round trip.
//
// Cells: cells_side^3 per replica, cells_side = floor(L / r_list) >= 3,, cell index b * cells_per_replica + (cz * s + cy) * s + cx.
// List kernels (each a separate indirect dispatch, in this order; step_control has zeroed
// cell_count):
//   cells_count    (ceil(total / 64))        particle_cell[i] = (cell, slot) with slot from atomicAdd
//   cells_scan     (1)                       cell_start[c] = exclusive prefix sum of cell_count
//   cells_scatter  (ceil(total / 64))        cell_particles[cell_start[cell] + slot] = i and
//                                            sorted_pos[same] = pos[i] (positions in cell order)
//   cells_sort     (ceil(total_cells / 64))  each cell's entries ordered by particle index
//   neighbors_build(ceil(total / 64))        for the particle i = cell_particles[s] in cell-order
//                                            slot s: neighbors[k * total + s] (particle
//                                            indices), neighbor_count[s], pos_ref[i] = pos[i]
// Neighbour lists are full (j in list of i and i in list of j) so forces are gathered.

#import md_types
#import pbc

@group(0) @binding(0) var<uniform> params: SimParams;
@group(0) @binding(1) var<storage, read> pos: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> control: Control;
@group(0) @binding(3) var<storage, read_write> cell_count: array<atomic<u32>>;
@group(0) @binding(4) var<storage, read_write> cell_start: array<u32>;
@group(0) @binding(5) var<storage, read_write> particle_cell: array<vec2<u32>>;
@group(0) @binding(6) var<storage, read_write> cell_particles: array<u32>;
@group(0) @binding(7) var<storage, read_write> neighbors: array<u32>;
@group(0) @binding(8) var<storage, read_write> neighbor_count: array<u32>;
@group(0) @binding(9) var<storage, read_write> pos_ref: array<vec4<f32>>;
@group(0) @binding(10) var<storage, read_write> sorted_pos: array<vec4<f32>>;
fn cell_coords(x: vec3<f32>) -> vec3<u32> {
    let s = params.cells_side;
    let c = vec3<u32>(max(x * params.inv_cell, vec3<f32>(0.0)));
    return min(c, vec3<u32>(s - 1u));
}

fn cell_index(b: u32, c: vec3<u32>) -> u32 {
    let s = params.cells_side;
    return b * params.cells_per_replica + (c.z * s + c.y) * s + c.x;
}


@compute @workgroup_size(64)
fn cells_count(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= params.total) {
        return;
    }
    let b = i / params.n;
    let cell = cell_index(b, cell_coords(pos[i].xyz));
    let slot = atomicAdd(&cell_count[cell], 1u);
    particle_cell[i] = vec2<u32>(cell, slot);
}

const SCAN_THREADS: u32 = 256u;
var<workgroup> scan_partial: array<u32, SCAN_THREADS>;

// Exclusive prefix sum over all cells by one workgroup: each thread scans a contiguous chunk,
// the chunk totals are scanned in workgroup memory (Hillis-Steele), then chunks are offset.
@compute @workgroup_size(256)
fn cells_scan(@builtin(local_invocation_index) li: u32) {
    let total = params.total_cells;
    let chunk = (total + SCAN_THREADS - 1u) / SCAN_THREADS;
    let begin = min(li * chunk, total);
    let end = min(begin + chunk, total);
    var sum = 0u;
    for (var c = begin; c < end; c = c + 1u) {
        sum = sum + atomicLoad(&cell_count[c]);
    }
    scan_partial[li] = sum;
    workgroupBarrier();
    for (var offset = 1u; offset < SCAN_THREADS; offset = offset * 2u) {
        var add = 0u;
        if (li >= offset) {
            add = scan_partial[li - offset];
        }
        workgroupBarrier();
        scan_partial[li] = scan_partial[li] + add;
        workgroupBarrier();
    }
    var running = scan_partial[li] - sum;
    for (var c = begin; c < end; c = c + 1u) {
        cell_start[c] = running;
        running = running + atomicLoad(&cell_count[c]);
    }
    if (li == SCAN_THREADS - 1u) {
        cell_start[total] = scan_partial[li];
    }
}

@compute @workgroup_size(64)
fn cells_scatter(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= params.total) {
        return;
    }
    let pc = particle_cell[i];
    let k = cell_start[pc.x] + pc.y;
    cell_particles[k] = i;
    sorted_pos[k] = pos[i];
}

// Orders every cell's entries by particle index (insertion sort, one invocation per cell,
// ~N/cells entries each), so that the slot order, and with it the order of force
// summation, does not depend on the order in which cells_count's atomics were served:
// trajectories are reproducible run to run on the same adapter.
@compute @workgroup_size(64)
fn cells_sort(@builtin(global_invocation_id) gid: vec3<u32>) {
    let c = gid.x;
    if (c >= params.total_cells) {
        return;
    }
    let start = cell_start[c];
    let end = start + atomicLoad(&cell_count[c]);
    for (var a = start + 1u; a < end; a = a + 1u) {
        let key = cell_particles[a];
        let key_pos = sorted_pos[a];
        var b = a;
        while (b > start && cell_particles[b - 1u] > key) {
            cell_particles[b] = cell_particles[b - 1u];
            sorted_pos[b] = sorted_pos[b - 1u];
            b = b - 1u;
        }
        cell_particles[b] = key;
        sorted_pos[b] = key_pos;
    }
}

// Scans the 27 surrounding cells through the cell-ordered copy of the positions
// (contiguous reads). Each stencil cell carries the periodic shift of its image, so no
// minimum-image rounding is needed: with >= 3 cells of side >= r_list per box side, a pair
// closer than r_list is always found through exactly one stencil cell. (Measured on
// lavapipe: half-width cells with a 5^3 stencil scan 0.58x the volume but ran 1.3x slower.)
const STENCIL_REACH: i32 = 1;
// Invocation k handles the k-th particle in cell order, so neighbouring invocations (SIMD
// lanes, subgroups) share a cell: the same stencil, the same trip counts, the same
// (broadcast) loads of sorted_pos.
@compute @workgroup_size(64)
fn neighbors_build(@builtin(global_invocation_id) gid: vec3<u32>) {
    let self_k = gid.x;
    if (self_k >= params.total) {
        return;
    }
    let i = cell_particles[self_k];
    let b = i / params.n;
    let xi = sorted_pos[self_k];
    pos_ref[i] = xi;
    let s = i32(params.cells_side);
    let ci = vec3<i32>(cell_coords(xi.xyz));
    var count = 0u;
    for (var dz = -STENCIL_REACH; dz <= STENCIL_REACH; dz = dz + 1) {
        for (var dy = -STENCIL_REACH; dy <= STENCIL_REACH; dy = dy + 1) {
            for (var dx = -STENCIL_REACH; dx <= STENCIL_REACH; dx = dx + 1) {
                let raw = ci + vec3<i32>(dx, dy, dz);
                let wrapped = (raw + vec3<i32>(s)) % vec3<i32>(s);
                // Image of the neighbour cell: -L, 0 or +L per axis.
                let shift = vec3<f32>((raw - wrapped) / vec3<i32>(s)) * params.box_length;
                let xs = xi.xyz - shift;
                let cell = cell_index(b, vec3<u32>(wrapped));
                let start = cell_start[cell];
                let end = start + atomicLoad(&cell_count[cell]);
                // Test up to 32 candidates into a bit mask (no stores: stays SIMD), then
                // append the hits.
                for (var c0 = start; c0 < end; c0 = c0 + 32u) {
                    let m = min(32u, end - c0);
                    var mask = 0u;
                    for (var q = 0u; q < m; q = q + 1u) {
                        let d = xs - sorted_pos[c0 + q].xyz;
                        let hit = dot(d, d) < params.rlist2 && (c0 + q) != self_k;
                        mask = mask | select(0u, 1u << q, hit);
                    }
                    while (mask != 0u) {
                        let q = countTrailingZeros(mask);
                        if (count < params.max_neighbors) {
                            neighbors[count * params.total + self_k] = cell_particles[c0 + q];
                        }
                        count = count + 1u;
                        mask = mask & (mask - 1u);
                    }
                }
            }
        }
    }
    if (count > params.max_neighbors) {
        atomicOr(&control.status, STATUS_NEIGHBOR_OVERFLOW);
    }
    neighbor_count[self_k] = min(count, params.max_neighbors);
}
