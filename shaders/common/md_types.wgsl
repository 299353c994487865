// Types shared by the MD kernels. Shared include: no bindings.
// The host-side mirror is `md::SimParams` (src/md/params.rs); keep the field order identical.

struct SimParams {
    n: u32,                 // particles per replica
    replicas: u32,          // B
    total: u32,             // B * n
    max_neighbors: u32,     // neighbour-list capacity per particle
    cells_side: u32,        // cells per box side (cell-list path), 0 for all pairs
    cells_per_replica: u32, // cells_side^3
    total_cells: u32,       // B * cells_per_replica
    gr_bins: u32,           // g(r) histogram bins (<= 256)
    box_length: f32,
    inv_box: f32,
    inv_cell: f32,          // cells_side / box_length
    mass: f32,
    eps4: f32,              // 4 epsilon
    sigma2: f32,            // sigma^2
    rc2: f32,               // cutoff^2 (3.4e38 for the minimum-image potential)
    shift: f32,             // u(r_c) subtracted from each pair energy (0 if not shifted)
    rlist2: f32,            // (r_c + skin)^2, neighbour-list radius squared
    half_skin2: f32,        // (skin / 2)^2, displacement that triggers a rebuild
    dt: f32,
    inv_mass: f32,
    c1: f32,                // exp(-friction dt)
    c2: f32,                // sqrt((1 - c1^2) kT / m)
    gr_max: f32,            // g(r) histogram range
    gr_inv_width: f32,      // gr_bins / gr_max
    seed_lo: u32,
    seed_hi: u32,
    alchemy: u32,           // 0: plain LJ; else the lambda path (common/alchemy.wgsl)
    _pad1: u32,
}

// Device-side control block: step counter, status flags, rebuild request.
struct Control {
    step: u32,
    status: atomic<u32>,
    rebuild: atomic<u32>,
    rebuilds: u32,
}

const STATUS_NOT_FINITE: u32 = 1u;       // NaN or inf in forces or positions
const STATUS_NEIGHBOR_OVERFLOW: u32 = 2u; // a particle had more neighbours than max_neighbors
const STATUS_TOO_FAST: u32 = 4u;         // a particle moved more than half the skin in one step
