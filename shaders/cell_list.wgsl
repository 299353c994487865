// Cell list by counting sort, and the Verlet neighbour list built from it, for B replicas.
// Every entry point returns at once unless control.rebuild != 0, so the whole chain can be
// recorded every step and the list is rebuilt on the device only when a particle has moved
// more than half the skin (flag raised by integrate_baoa). No host round trip.
//
// Cells: cells_side^3 per replica, cell index b * cells_per_replica + (cz * s + cy) * s + cx.
// Chain (each a separate dispatch, in this order):
//   cells_clear    (ceil(total_cells / 64))  cell_count[c] = 0
//   cells_count    (ceil(total / 64))        particle_cell[i] = (cell, slot) with slot from atomicAdd
//   cells_scan     (1)                       cell_start[c] = exclusive prefix sum of cell_count
//   cells_scatter  (ceil(total / 64))        cell_particles[cell_start[cell] + slot] = i
//   neighbors_build(ceil(total / 64))        neighbors[k * total + i], neighbor_count[i], pos_ref[i] = pos[i]
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

fn rebuild_requested() -> bool {
    return atomicLoad(&control.rebuild) != 0u;
}

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
fn cells_clear(@builtin(global_invocation_id) gid: vec3<u32>) {
    if (gid.x >= params.total_cells || !rebuild_requested()) {
        return;
    }
    atomicStore(&cell_count[gid.x], 0u);
}

@compute @workgroup_size(64)
fn cells_count(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= params.total || !rebuild_requested()) {
        return;
    }
    let b = i / params.n;
    let cell = cell_index(b, cell_coords(pos[i].xyz));
    let slot = atomicAdd(&cell_count[cell], 1u);
    particle_cell[i] = vec2<u32>(cell, slot);
}

const SCAN_THREADS: u32 = 256u;
var<workgroup> scan_partial: array<u32, SCAN_THREADS>;
var<workgroup> scan_flag: u32;

// Exclusive prefix sum over all cells by one workgroup: each thread scans a contiguous chunk,
// the chunk totals are scanned in workgroup memory (Hillis-Steele), then chunks are offset.
@compute @workgroup_size(256)
fn cells_scan(@builtin(local_invocation_index) li: u32) {
    if (li == 0u) {
        scan_flag = atomicLoad(&control.rebuild);
    }
    if (workgroupUniformLoad(&scan_flag) == 0u) {
        return;
    }
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
    if (i >= params.total || !rebuild_requested()) {
        return;
    }
    let pc = particle_cell[i];
    cell_particles[cell_start[pc.x] + pc.y] = i;
}

@compute @workgroup_size(64)
fn neighbors_build(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= params.total || !rebuild_requested()) {
        return;
    }
    let b = i / params.n;
    let xi = pos[i];
    pos_ref[i] = xi;
    let s = i32(params.cells_side);
    let ci = vec3<i32>(cell_coords(xi.xyz));
    var count = 0u;
    for (var dz = -1; dz <= 1; dz = dz + 1) {
        for (var dy = -1; dy <= 1; dy = dy + 1) {
            for (var dx = -1; dx <= 1; dx = dx + 1) {
                let cc = vec3<u32>((ci + vec3<i32>(dx, dy, dz) + vec3<i32>(s)) % vec3<i32>(s));
                let cell = cell_index(b, cc);
                let start = cell_start[cell];
                let end = start + atomicLoad(&cell_count[cell]);
                for (var k = start; k < end; k = k + 1u) {
                    let j = cell_particles[k];
                    let d = minimum_image(xi.xyz - pos[j].xyz, params.box_length, params.inv_box);
                    if (j != i && dot(d, d) < params.rlist2) {
                        if (count < params.max_neighbors) {
                            neighbors[count * params.total + i] = j;
                        }
                        count = count + 1u;
                    }
                }
            }
        }
    }
    if (count > params.max_neighbors) {
        atomicOr(&control.status, STATUS_NEIGHBOR_OVERFLOW);
    }
    neighbor_count[i] = min(count, params.max_neighbors);
}
