//! Host mirrors of the WGSL structs in `shaders/common/md_types.wgsl`.

use crate::gpu::kernel::StructLayout;
use crate::struct_layout;
use bytemuck::{Pod, Zeroable};

/// Host mirrors of this module's WGSL structs, for the layout reflection test.
pub const STRUCT_LAYOUTS: &[StructLayout] = &[
    struct_layout!(
        "lj_forces",
        "SimParams",
        SimParams {
            n,
            replicas,
            total,
            max_neighbors,
            cells_side,
            cells_per_replica,
            total_cells,
            gr_bins,
            box_length,
            inv_box,
            inv_cell,
            mass,
            eps4,
            sigma2,
            rc2,
            shift,
            rlist2,
            half_skin2,
            dt,
            inv_mass,
            c1,
            c2,
            gr_max,
            gr_inv_width,
            seed_lo,
            seed_hi,
            alchemy,
            _pad1,
        }
    ),
    struct_layout!(
        "lj_forces",
        "Control",
        Control {
            step,
            status,
            rebuild,
            rebuilds,
        }
    ),
];

/// Uniform parameters of every MD kernel (mirror of WGSL `SimParams`; same field order).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct SimParams {
    /// Particles per replica.
    pub n: u32,
    /// Replicas B.
    pub replicas: u32,
    /// B * n.
    pub total: u32,
    /// Neighbour-list capacity per particle.
    pub max_neighbors: u32,
    /// Cells per box side (0 on the all-pairs path).
    pub cells_side: u32,
    /// cells_side^3.
    pub cells_per_replica: u32,
    /// B * cells_per_replica.
    pub total_cells: u32,
    /// g(r) bins.
    pub gr_bins: u32,
    /// Box side.
    pub box_length: f32,
    /// 1 / box side.
    pub inv_box: f32,
    /// cells_side / box side.
    pub inv_cell: f32,
    /// Particle mass.
    pub mass: f32,
    /// 4 epsilon.
    pub eps4: f32,
    /// sigma^2.
    pub sigma2: f32,
    /// Cutoff squared (f32::MAX without cutoff).
    pub rc2: f32,
    /// u(r_c) subtracted from pair energies (0 if not shifted).
    pub shift: f32,
    /// Neighbour-list radius squared.
    pub rlist2: f32,
    /// (skin/2)^2.
    pub half_skin2: f32,
    /// Time step.
    pub dt: f32,
    /// 1 / mass.
    pub inv_mass: f32,
    /// exp(-friction dt).
    pub c1: f32,
    /// sqrt((1 - c1^2) kT / m).
    pub c2: f32,
    /// g(r) range.
    pub gr_max: f32,
    /// gr_bins / gr_max.
    pub gr_inv_width: f32,
    /// Philox key, low word.
    pub seed_lo: u32,
    /// Philox key, high word.
    pub seed_hi: u32,
    /// 0: plain LJ; 1, 2, 3: alchemical path ([`crate::reference::alchemical_energies::AlchemicalPath::code`]),
    /// with λ per replica in the `lambdas` buffer.
    pub alchemy: u32,
    /// Padding.
    pub _pad1: u32,
}

/// Device control block (mirror of WGSL `Control`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable, PartialEq, Eq)]
pub struct Control {
    /// MD step counter (Philox counter word).
    pub step: u32,
    /// Status flags ([`STATUS_NOT_FINITE`], ...).
    pub status: u32,
    /// Non-zero when the neighbour list must be rebuilt this step.
    pub rebuild: u32,
    /// Neighbour-list rebuilds so far.
    pub rebuilds: u32,
}

/// NaN or infinity in forces or positions.
pub const STATUS_NOT_FINITE: u32 = 1;
/// A particle had more neighbours than the list holds.
pub const STATUS_NEIGHBOR_OVERFLOW: u32 = 2;
