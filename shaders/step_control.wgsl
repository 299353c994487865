// Per-step control, dispatched once per MD step right after integrate_baoa /
// integrate_b_baoa, as a single invocation:
//   - advances control.step (the Philox counter of the next step);
//   - when integrate_baoa raised control.rebuild (a particle moved more than half the skin
//     since the last neighbour-list build) and the system uses cell lists, zeroes the cell
//     counts and writes the workgroup counts of the four list kernels of cell_list.wgsl
//     into dispatch_args, otherwise zeros (their indirect dispatches then do nothing);
//     clears the flag.
// dispatch_args layout: five (x, y, z) triples: cells_count, cells_scan, cells_scatter,
// neighbors_build, cells_sort. Dispatch: one workgroup of 64 (the cell clearing is the only parallel
// part).

#import md_types

@group(0) @binding(0) var<uniform> params: SimParams;
@group(0) @binding(1) var<storage, read_write> control: Control;
@group(0) @binding(2) var<storage, read_write> dispatch_args: array<u32>;
@group(0) @binding(3) var<storage, read_write> cell_count: array<u32>;

// Offsets (in u32) of the indirect arguments of each list kernel in dispatch_args.
const ARGS_COUNT: u32 = 0u;
const ARGS_SCAN: u32 = 3u;
const ARGS_SCATTER: u32 = 6u;
const ARGS_BUILD: u32 = 9u;
const ARGS_SORT: u32 = 12u;

fn set_args(offset: u32, x: u32) {
    dispatch_args[offset] = x;
    dispatch_args[offset + 1u] = 1u;
    dispatch_args[offset + 2u] = 1u;
}

var<workgroup> wg_rebuild: u32;

@compute @workgroup_size(64)
fn step_control(@builtin(local_invocation_index) li: u32) {
    if (li == 0u) {
        wg_rebuild = select(0u, 1u, atomicLoad(&control.rebuild) != 0u && params.cells_side >= 3u);
    }
    let rebuild = workgroupUniformLoad(&wg_rebuild) != 0u;
    if (rebuild) {
        for (var c = li; c < params.total_cells; c = c + 64u) {
            cell_count[c] = 0u;
        }
    }
    if (li != 0u) {
        return;
    }
    control.step = control.step + 1u;
    let per_particle = select(0u, (params.total + 63u) / 64u, rebuild);
    set_args(ARGS_COUNT, per_particle);
    set_args(ARGS_SCAN, select(0u, 1u, rebuild));
    set_args(ARGS_SCATTER, per_particle);
    set_args(ARGS_BUILD, per_particle);
    set_args(ARGS_SORT, select(0u, (params.total_cells + 63u) / 64u, rebuild));
    if (atomicLoad(&control.rebuild) != 0u) {
        atomicStore(&control.rebuild, 0u);
        control.rebuilds = control.rebuilds + 1u;
    }
}
