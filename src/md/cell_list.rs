//! Typed wrapper of `shaders/cell_list.wgsl`: cell lists by counting sort and Verlet neighbour lists; f64 reference [`crate::reference::cell_list`].

use crate::error::Result;
use crate::gpu::kernel::{bind, Access::*, BindingSpec, KernelFamily};
use crate::gpu::Gpu;

/// Bindings of `shaders/cell_list.wgsl`.
pub const CELL_LIST_BINDINGS: &[BindingSpec] = &[
    bind(0, "params", Uniform),
    bind(1, "pos", ReadOnly),
    bind(2, "control", ReadWrite),
    bind(3, "cell_count", ReadWrite),
    bind(4, "cell_start", ReadWrite),
    bind(5, "particle_cell", ReadWrite),
    bind(6, "cell_particles", ReadWrite),
    bind(7, "neighbors", ReadWrite),
    bind(8, "neighbor_count", ReadWrite),
    bind(9, "pos_ref", ReadWrite),
    bind(10, "sorted_pos", ReadWrite),
];

/// `shaders/cell_list.wgsl`: cell list and neighbour list.
pub struct CellList(pub KernelFamily);
/// Arguments of [`CellList`].
pub struct CellArgs<'a> {
    /// SimParams uniform.
    pub params: &'a wgpu::Buffer,
    /// Positions.
    pub pos: &'a wgpu::Buffer,
    /// Control block.
    pub control: &'a wgpu::Buffer,
    /// Particles per cell.
    pub cell_count: &'a wgpu::Buffer,
    /// Exclusive prefix sum of cell_count (+ total).
    pub cell_start: &'a wgpu::Buffer,
    /// (cell, slot) of each particle.
    pub particle_cell: &'a wgpu::Buffer,
    /// Particle indices sorted by cell.
    pub cell_particles: &'a wgpu::Buffer,
    /// Neighbour list.
    pub neighbors: &'a wgpu::Buffer,
    /// Neighbour counts.
    pub neighbor_count: &'a wgpu::Buffer,
    /// Positions at the last rebuild.
    pub pos_ref: &'a wgpu::Buffer,
    /// Positions in cell order (written by cells_scatter).
    pub sorted_pos: &'a wgpu::Buffer,
}

impl CellList {
    /// Compiles the family.
    pub fn new(gpu: &Gpu) -> Result<Self> {
        Ok(Self(KernelFamily::new(
            gpu,
            "cell_list",
            CELL_LIST_BINDINGS,
            &[
                "cells_count",
                "cells_scan",
                "cells_scatter",
                "cells_sort",
                "neighbors_build",
            ],
        )?))
    }
    /// Bind group for `args`.
    pub fn bind(&self, gpu: &Gpu, a: &CellArgs) -> wgpu::BindGroup {
        self.0.bind_group(
            gpu,
            &[
                a.params,
                a.pos,
                a.control,
                a.cell_count,
                a.cell_start,
                a.particle_cell,
                a.cell_particles,
                a.neighbors,
                a.neighbor_count,
                a.pos_ref,
                a.sorted_pos,
            ],
        )
    }
}
