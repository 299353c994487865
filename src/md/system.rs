//! A batch of B independent replicas of N Lennard-Jones particles living on the device, and
//! the recording of MD steps into compute passes.
//!
//! Per step: `integrate_baoa` → [cell-list chain, which returns at once unless a particle
//! moved more than skin/2] → forces → `integrate_b`. Nothing is read back in the step loop;
//! the host reads the 16-byte control block between submissions.

use super::params::{Control, SimParams, STATUS_NEIGHBOR_OVERFLOW, STATUS_NOT_FINITE};
use super::{CellArgs, IntegrateArgs, LjArgs, MdKernels, ObservableArgs, StepControlArgs};
use crate::error::{Error, Result};
use crate::gpu::footprint::Footprint;
use crate::gpu::kernel::dispatch;
use crate::gpu::Gpu;
use crate::reference::alchemical_energies::AlchemicalPath;
use crate::scene::LjParams;
use std::sync::Arc;

/// How pairs are found on the device.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PairSearch {
    /// All minimum-image pairs, tiled in workgroup memory.
    AllPairs,
    /// Cell list + Verlet list of radius cutoff + skin, rebuilt on the device when needed.
    CellList {
        /// Verlet skin.
        skin: f64,
    },
}

/// Everything that defines an MD batch.
#[derive(Clone, Debug)]
pub struct MdConfig {
    /// Particles per replica.
    pub n: u32,
    /// Replicas B.
    pub replicas: u32,
    /// Pair potential and box.
    pub lj: LjParams,
    /// kT.
    pub kt: f64,
    /// Particle mass.
    pub mass: f64,
    /// Time step.
    pub dt: f64,
    /// Langevin friction (0: NVE).
    pub friction: f64,
    /// Seed of the Langevin noise.
    pub seed: u64,
    /// Pair search.
    pub search: PairSearch,
    /// g(r) bins.
    pub gr_bins: u32,
    /// g(r) range.
    pub gr_max: f64,
    /// Initial neighbour-list capacity per particle (`None`: from the density; it grows
    /// on overflow either way).
    pub neighbor_capacity: Option<u32>,
    /// λ windows: replica b runs the alchemical pair term of `path` at `lambdas[b]`, and
    /// the reductions' fourth component becomes Σ ∂U/∂λ (`None`: plain LJ).
    pub alchemy: Option<Alchemy>,
}

/// Alchemical λ windows, one λ per replica.
#[derive(Clone, Debug, PartialEq)]
pub struct Alchemy {
    /// The λ path.
    pub path: AlchemicalPath,
    /// λ of every replica (length = replicas).
    pub lambdas: Vec<f64>,
}

impl MdConfig {
    /// Total particles B * N.
    pub fn total(&self) -> u32 {
        self.n * self.replicas
    }
    /// Number density N / L^3.
    pub fn density(&self) -> f64 {
        self.n as f64 / self.lj.box_length.powi(3)
    }
    /// Cells per side on the cell-list path: cells at least one list radius wide (the
    /// neighbour search scans 27 cells). 0 on the all-pairs path or when the box is
    /// shorter than 3 list radii (then all pairs are used).
    pub fn cells_side(&self) -> u32 {
        match (self.search, self.lj.cutoff) {
            (PairSearch::CellList { skin }, Some(rc)) => {
                let side = (self.lj.box_length / (rc + skin)).floor() as u32;
                if side >= 3 {
                    side
                } else {
                    0
                }
            }
            _ => 0,
        }
    }
    /// What a batch of these replicas asks of the device (its largest buffers and
    /// dispatches), checked by [`MdSystem::new`] before anything is allocated.
    pub fn footprint(&self) -> Footprint {
        let total = self.total() as u64;
        let cells = self.cells_side() as u64;
        Footprint::default()
            .binding("neighbors", 4 * total * self.initial_max_neighbors() as u64)
            .binding("pos", 16 * total)
            .binding("cell_start", 4 * (cells.pow(3) * self.replicas as u64 + 1))
            .workgroups("per-particle kernels", groups_for(self.total()) as u64)
            .workgroups("per-replica kernels", self.replicas as u64)
    }

    /// Initial neighbour-list capacity: the mean count within r_c + skin at a dense-liquid
    /// density (1.0 sigma^-3, or the actual one if higher) times 1.3, rounded up to 32.
    pub fn initial_max_neighbors(&self) -> u32 {
        if let Some(c) = self.neighbor_capacity {
            return c.max(1);
        }
        match (self.search, self.lj.cutoff) {
            (PairSearch::CellList { skin }, Some(rc)) => {
                let rho = (self.density() * self.lj.sigma.powi(3)).max(1.0) / self.lj.sigma.powi(3);
                let mean = rho * 4.0 / 3.0 * std::f64::consts::PI * (rc + skin).powi(3);
                ((1.3 * mean / 32.0).ceil() as u32).max(1) * 32
            }
            _ => 1,
        }
    }

    fn sim_params(&self, max_neighbors: u32) -> SimParams {
        let l = self.lj.box_length;
        let cells_side = self.cells_side();
        let (rlist2, half_skin2) = match (self.search, self.lj.cutoff) {
            (PairSearch::CellList { skin }, Some(rc)) => {
                ((rc + skin).powi(2), (0.5 * skin).powi(2))
            }
            _ => (0.0, f64::MAX),
        };
        let c1 = (-self.friction * self.dt).exp();
        let seed = self.seed;
        SimParams {
            n: self.n,
            replicas: self.replicas,
            total: self.total(),
            max_neighbors,
            cells_side,
            cells_per_replica: cells_side.pow(3),
            total_cells: cells_side.pow(3) * self.replicas,
            gr_bins: self.gr_bins,
            box_length: l as f32,
            inv_box: (1.0 / l) as f32,
            inv_cell: (cells_side as f64 / l) as f32,
            mass: self.mass as f32,
            eps4: (4.0 * self.lj.epsilon) as f32,
            sigma2: (self.lj.sigma * self.lj.sigma) as f32,
            rc2: self.lj.cutoff.map_or(f32::MAX, |rc| (rc * rc) as f32),
            shift: self.lj.shift_energy() as f32,
            rlist2: rlist2 as f32,
            half_skin2: half_skin2.min(f32::MAX as f64) as f32,
            dt: self.dt as f32,
            inv_mass: (1.0 / self.mass) as f32,
            c1: c1 as f32,
            c2: ((1.0 - c1 * c1) * self.kt / self.mass).sqrt() as f32,
            gr_max: self.gr_max as f32,
            gr_inv_width: (self.gr_bins as f64 / self.gr_max) as f32,
            seed_lo: seed as u32,
            seed_hi: (seed >> 32) as u32,
            alchemy: self.alchemy.as_ref().map_or(0, |a| a.path.code()),
            _pad1: 0,
        }
    }
}

/// Device buffers of a batch.
pub struct MdBuffers {
    /// SimParams uniform.
    pub params: wgpu::Buffer,
    /// Positions, vec4 per particle (w unused).
    pub pos: wgpu::Buffer,
    /// Velocities, vec4.
    pub vel: wgpu::Buffer,
    /// (force, per-particle energy), vec4.
    pub force: wgpu::Buffer,
    /// (per-particle virial, half pair count), vec2.
    pub aux: wgpu::Buffer,
    /// Control block.
    pub control: wgpu::Buffer,
    /// Positions at the last neighbour-list build.
    pub pos_ref: wgpu::Buffer,
    /// Particles per cell.
    pub cell_count: wgpu::Buffer,
    /// Exclusive scan of cell_count.
    pub cell_start: wgpu::Buffer,
    /// (cell, slot) per particle.
    pub particle_cell: wgpu::Buffer,
    /// Particle indices sorted by cell.
    pub cell_particles: wgpu::Buffer,
    /// Positions in cell order at the last rebuild.
    pub sorted_pos: wgpu::Buffer,
    /// Indirect workgroup counts of the five list kernels (zeros when no rebuild is due).
    pub dispatch_args: wgpu::Buffer,
    /// Neighbour list, `neighbors[k * total + i]`.
    pub neighbors: wgpu::Buffer,
    /// Neighbour counts.
    pub neighbor_count: wgpu::Buffer,
    /// Per-replica observable sums of the last reduction (two vec4 per replica).
    pub obs: wgpu::Buffer,
    /// g(r) histogram.
    pub gr_hist: wgpu::Buffer,
    /// λ per replica (f32; zeros without alchemy).
    pub lambdas: wgpu::Buffer,
}

struct BindGroups {
    lj: wgpu::BindGroup,
    cells: wgpu::BindGroup,
    step_control: wgpu::BindGroup,
    integrate: wgpu::BindGroup,
    observables: wgpu::BindGroup,
}

/// A batch of replicas on the device.
pub struct MdSystem {
    /// Its configuration.
    pub config: MdConfig,
    /// Current uniform parameters.
    pub params: SimParams,
    /// Its buffers.
    pub buffers: MdBuffers,
    kernels: Arc<MdKernels>,
    groups: BindGroups,
}

const WG: u32 = 64;

fn groups_for(n: u32) -> u32 {
    n.div_ceil(WG)
}

impl MdSystem {
    /// Uploads positions (wrapped into the box) and velocities, B * N each, replica-major,
    /// and computes the initial forces (building the neighbour list).
    pub fn new(
        gpu: &Gpu,
        kernels: Arc<MdKernels>,
        config: MdConfig,
        positions: &[[f64; 3]],
        velocities: &[[f64; 3]],
    ) -> Result<Self> {
        let total = config.total() as usize;
        if positions.len() != total || velocities.len() != total {
            return Err(Error::Simulation(format!(
                "expected {total} positions and velocities, got {} and {}",
                positions.len(),
                velocities.len()
            )));
        }
        if let Some(a) = &config.alchemy {
            if a.lambdas.len() != config.replicas as usize
                || a.lambdas.iter().any(|l| !(0.0..=1.0).contains(l))
            {
                return Err(Error::Simulation(format!(
                    "alchemy needs one lambda in [0, 1] per replica ({} replicas, {} lambdas)",
                    config.replicas,
                    a.lambdas.len()
                )));
            }
        }
        if config.gr_bins == 0 || config.gr_bins > 256 {
            return Err(Error::Simulation("gr_bins must be in 1..=256".into()));
        }
        let params = config.sim_params(config.initial_max_neighbors());
        let l = config.lj.box_length;
        let pos4: Vec<[f32; 4]> = positions
            .iter()
            .map(|x| {
                let w = x.map(|v| (v - l * (v / l).floor()) as f32);
                [w[0], w[1], w[2], 0.0]
            })
            .collect();
        let vel4: Vec<[f32; 4]> = velocities
            .iter()
            .map(|v| [v[0] as f32, v[1] as f32, v[2] as f32, 0.0])
            .collect();
        let lambdas: Vec<f32> = match &config.alchemy {
            Some(a) => a.lambdas.iter().map(|&l| l as f32).collect(),
            None => vec![0.0; config.replicas as usize],
        };
        if let Some(e) = config.footprint().excess(&gpu.limits) {
            return Err(Error::Device(format!(
                "{e}; use fewer replicas or particles"
            )));
        }
        let buffers = Self::allocate(gpu, &params, &pos4, &vel4, &lambdas)?;
        let groups = Self::bind_all(gpu, &kernels, &buffers);
        let mut system = MdSystem {
            config,
            params,
            buffers,
            kernels,
            groups,
        };
        system.initial_forces(gpu)?;
        Ok(system)
    }

    fn allocate(
        gpu: &Gpu,
        p: &SimParams,
        pos4: &[[f32; 4]],
        vel4: &[[f32; 4]],
        lambdas: &[f32],
    ) -> Result<MdBuffers> {
        let total = p.total as u64;
        let cells = p.total_cells as u64;
        let nbr_bytes = 4 * total * p.max_neighbors as u64;
        let control = Control {
            rebuild: 1,
            ..Default::default()
        };
        Ok(MdBuffers {
            params: gpu.uniform_from("params", p),
            pos: gpu.storage_from("pos", pos4),
            vel: gpu.storage_from("vel", vel4),
            force: gpu.storage_zeroed("force", 16 * total),
            aux: gpu.storage_zeroed("aux", 8 * total),
            control: gpu.storage_from("control", &[control]),
            pos_ref: gpu.storage_zeroed("pos_ref", 16 * total),
            cell_count: gpu.storage_zeroed("cell_count", 4 * cells),
            cell_start: gpu.storage_zeroed("cell_start", 4 * (cells + 1)),
            particle_cell: gpu.storage_zeroed("particle_cell", 8 * total),
            cell_particles: gpu.storage_zeroed("cell_particles", 4 * total),
            sorted_pos: gpu.storage_zeroed("sorted_pos", 16 * total),
            dispatch_args: gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("dispatch_args"),
                size: 64,
                usage: crate::gpu::buffers::STORAGE | wgpu::BufferUsages::INDIRECT,
                mapped_at_creation: false,
            }),
            neighbors: gpu.storage_zeroed("neighbors", nbr_bytes),
            neighbor_count: gpu.storage_zeroed("neighbor_count", 4 * total),
            obs: gpu.storage_zeroed("obs", 32 * p.replicas as u64),
            gr_hist: gpu.storage_zeroed("gr_hist", 4 * 256),
            lambdas: gpu.storage_from("lambdas", lambdas),
        })
    }

    fn bind_all(gpu: &Gpu, k: &MdKernels, b: &MdBuffers) -> BindGroups {
        BindGroups {
            lj: k.lj.bind(
                gpu,
                &LjArgs {
                    params: &b.params,
                    pos: &b.pos,
                    force: &b.force,
                    aux: &b.aux,
                    control: &b.control,
                    neighbors: &b.neighbors,
                    neighbor_count: &b.neighbor_count,
                    cell_particles: &b.cell_particles,
                    lambdas: &b.lambdas,
                },
            ),
            cells: k.cells.bind(
                gpu,
                &CellArgs {
                    params: &b.params,
                    pos: &b.pos,
                    control: &b.control,
                    cell_count: &b.cell_count,
                    cell_start: &b.cell_start,
                    particle_cell: &b.particle_cell,
                    cell_particles: &b.cell_particles,
                    neighbors: &b.neighbors,
                    neighbor_count: &b.neighbor_count,
                    pos_ref: &b.pos_ref,
                    sorted_pos: &b.sorted_pos,
                },
            ),
            step_control: k.step_control.bind(
                gpu,
                &StepControlArgs {
                    params: &b.params,
                    control: &b.control,
                    dispatch_args: &b.dispatch_args,
                    cell_count: &b.cell_count,
                },
            ),
            integrate: k.integrate.bind(
                gpu,
                &IntegrateArgs {
                    params: &b.params,
                    pos: &b.pos,
                    vel: &b.vel,
                    force: &b.force,
                    control: &b.control,
                    pos_ref: &b.pos_ref,
                },
            ),
            observables: k.observables.bind(
                gpu,
                &ObservableArgs {
                    params: &b.params,
                    pos: &b.pos,
                    vel: &b.vel,
                    force: &b.force,
                    aux: &b.aux,
                    obs: &b.obs,
                    gr_hist: &b.gr_hist,
                    neighbors: &b.neighbors,
                    neighbor_count: &b.neighbor_count,
                    cell_particles: &b.cell_particles,
                },
            ),
        }
    }

    /// True on the cell-list path.
    pub fn uses_cells(&self) -> bool {
        self.params.cells_side >= 3
    }

    /// Names of the kernels that make up one force evaluation on this system's path, in
    /// dispatch order (after `step_control`). The list kernels are dispatched indirectly:
    /// they run only when `step_control` found a rebuild due.
    pub fn force_kernels(&self) -> &'static [&'static str] {
        if self.uses_cells() {
            &[
                "cells_count",
                "cells_scan",
                "cells_scatter",
                "cells_sort",
                "neighbors_build",
                "lj_forces_neighbors",
            ]
        } else {
            &["lj_forces"]
        }
    }

    /// Byte offset of a list kernel's arguments in `dispatch_args`.
    fn indirect_offset(entry: &str) -> Option<u64> {
        let k = match entry {
            "cells_count" => 0,
            "cells_scan" => 1,
            "cells_scatter" => 2,
            "neighbors_build" => 3,
            "cells_sort" => 4,
            _ => return None,
        };
        Some(12 * k)
    }

    /// Particles per invocation of the all-pairs force kernel this system runs.
    pub fn all_pairs_particles_per_invocation(&self) -> u32 {
        self.kernels.lj.ppl
    }

    /// Records one dispatch of the MD kernel `entry` with its standard grid (for per-kernel
    /// timing). Returns false for an unknown entry.
    pub fn record_kernel(&self, pass: &mut wgpu::ComputePass<'_>, entry: &str) -> bool {
        let p = &self.params;
        let k = &self.kernels;
        let per_particle = (groups_for(p.total), 1, 1);
        if let Some(offset) = Self::indirect_offset(entry) {
            pass.set_pipeline(k.cells.0.pipeline(entry));
            pass.set_bind_group(0, &self.groups.cells, &[]);
            pass.dispatch_workgroups_indirect(&self.buffers.dispatch_args, offset);
            return true;
        }
        let (family, group, grid) = match entry {
            "step_control" => (&k.step_control.0, &self.groups.step_control, (1, 1, 1)),
            "lj_forces_neighbors" => (&k.lj.family, &self.groups.lj, per_particle),
            "lj_forces" => (
                &k.lj.family,
                &self.groups.lj,
                k.lj.all_pairs_groups(p.n, p.replicas),
            ),
            "integrate_baoa" | "integrate_b_baoa" | "integrate_b" => {
                (&k.integrate.0, &self.groups.integrate, per_particle)
            }
            "reduce_observables" => (
                &k.observables.0,
                &self.groups.observables,
                (p.replicas, 1, 1),
            ),
            "gr_all_pairs" => (
                &k.observables.0,
                &self.groups.observables,
                (groups_for(p.n), p.replicas, 1),
            ),
            "gr_neighbors" => (&k.observables.0, &self.groups.observables, per_particle),
            _ => return false,
        };
        dispatch(pass, family, entry, group, grid);
        true
    }

    /// Records the forces of the current positions, rebuilding the neighbour list first if
    /// the last `step_control` found a rebuild due.
    pub fn record_forces(&self, pass: &mut wgpu::ComputePass<'_>) {
        for entry in self.force_kernels() {
            self.record_kernel(pass, entry);
        }
    }

    /// Records `steps` BAOAB steps: `integrate_baoa`, `step_control`, forces, then
    /// `integrate_b_baoa` (the closing half kick fused with the next step's opening), ...,
    /// and a final `integrate_b`.
    pub fn record_steps(&self, pass: &mut wgpu::ComputePass<'_>, steps: u32) {
        for k in 0..steps {
            self.record_kernel(
                pass,
                if k == 0 {
                    "integrate_baoa"
                } else {
                    "integrate_b_baoa"
                },
            );
            self.record_kernel(pass, "step_control");
            self.record_forces(pass);
        }
        if steps > 0 {
            self.record_kernel(pass, "integrate_b");
        }
    }

    /// Records the per-replica reduction into `buffers.obs`.
    pub fn record_reduce(&self, pass: &mut wgpu::ComputePass<'_>) {
        self.record_kernel(pass, "reduce_observables");
    }

    /// Records one g(r) accumulation of the current positions into `buffers.gr_hist`.
    pub fn record_gr(&self, pass: &mut wgpu::ComputePass<'_>) {
        let p = &self.params;
        if self.uses_cells() && p.gr_max * p.gr_max <= p.rc2 {
            self.record_kernel(pass, "gr_neighbors");
        } else {
            self.record_kernel(pass, "gr_all_pairs");
        }
    }

    /// Runs `f` inside one compute pass of a new encoder and submits it.
    pub fn submit_pass(&self, gpu: &Gpu, f: impl FnOnce(&mut wgpu::ComputePass<'_>)) {
        let mut encoder = gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("md") });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("md"),
                timestamp_writes: None,
            });
            f(&mut pass);
        }
        gpu.queue.submit([encoder.finish()]);
    }

    /// Runs `steps` steps and checks the status word (blocking).
    pub fn run(&self, gpu: &Gpu, steps: u32) -> Result<Control> {
        self.submit_pass(gpu, |pass| self.record_steps(pass, steps));
        self.check_status(gpu)
    }

    /// Reads the control block.
    pub fn control(&self, gpu: &Gpu) -> Result<Control> {
        Ok(gpu.read::<Control>(&self.buffers.control, 0, 1)?[0])
    }

    /// Reads the control block and turns a set error flag into an error.
    pub fn check_status(&self, gpu: &Gpu) -> Result<Control> {
        let c = self.control(gpu)?;
        status_error(c.status)?;
        Ok(c)
    }

    fn initial_forces(&mut self, gpu: &Gpu) -> Result<()> {
        loop {
            // control.rebuild is set: step_control enables the list kernels.
            self.submit_pass(gpu, |pass| {
                self.record_kernel(pass, "step_control");
                self.record_forces(pass);
            });
            let c = self.control(gpu)?;
            if c.status & STATUS_NEIGHBOR_OVERFLOW != 0 {
                self.grow_neighbor_list(gpu)?;
                continue;
            }
            status_error(c.status)?;
            let cleared = Control {
                step: 0,
                status: 0,
                rebuild: 0,
                rebuilds: c.rebuilds,
            };
            gpu.queue
                .write_buffer(&self.buffers.control, 0, bytemuck::bytes_of(&cleared));
            return Ok(());
        }
    }

    /// Grows the neighbour-list capacity by half, clears the overflow flag and requests a
    /// rebuild. Forces must be recomputed afterwards.
    pub fn grow_neighbor_list(&mut self, gpu: &Gpu) -> Result<()> {
        let new_max = (self.params.max_neighbors * 3 / 2).div_ceil(32) * 32;
        let bytes = 4 * self.params.total as u64 * new_max as u64;
        if let Some(e) = Footprint::default()
            .binding("neighbors", bytes)
            .excess(&gpu.limits)
        {
            return Err(Error::Device(format!(
                "{e}; use fewer replicas or particles"
            )));
        }
        self.params.max_neighbors = new_max;
        self.buffers.neighbors = gpu.storage_zeroed("neighbors", bytes);
        gpu.queue
            .write_buffer(&self.buffers.params, 0, bytemuck::bytes_of(&self.params));
        let mut c = self.control(gpu)?;
        c.status &= !STATUS_NEIGHBOR_OVERFLOW;
        c.rebuild = 1;
        gpu.queue
            .write_buffer(&self.buffers.control, 0, bytemuck::bytes_of(&c));
        self.groups = Self::bind_all(gpu, &self.kernels, &self.buffers);
        Ok(())
    }

    /// Positions as f32 vec4, B * N.
    pub fn read_positions(&self, gpu: &Gpu) -> Result<Vec<[f32; 4]>> {
        gpu.read_all(&self.buffers.pos)
    }
    /// Velocities as f32 vec4.
    pub fn read_velocities(&self, gpu: &Gpu) -> Result<Vec<[f32; 4]>> {
        gpu.read_all(&self.buffers.vel)
    }
    /// (force, energy) per particle.
    pub fn read_forces(&self, gpu: &Gpu) -> Result<Vec<[f32; 4]>> {
        gpu.read_all(&self.buffers.force)
    }
    /// (virial, half pair count) per particle.
    pub fn read_aux(&self, gpu: &Gpu) -> Result<Vec<[f32; 2]>> {
        gpu.read_all(&self.buffers.aux)
    }
    /// Per-replica sums of the last reduction: (potential energy, virial, half-step kinetic
    /// energy, pairs within r_c, step-boundary kinetic energy); see `observables.wgsl`.
    pub fn read_obs(&self, gpu: &Gpu) -> Result<Vec<[f64; 5]>> {
        let raw: Vec<[f32; 4]> = gpu.read(&self.buffers.obs, 0, 2 * self.params.replicas as u64)?;
        Ok(raw
            .chunks_exact(2)
            .map(|c| obs_record(c[0], c[1]))
            .collect())
    }
    /// The g(r) histogram counts.
    pub fn read_gr(&self, gpu: &Gpu) -> Result<Vec<u32>> {
        gpu.read(&self.buffers.gr_hist, 0, self.params.gr_bins as u64)
    }
    /// Zeroes the g(r) histogram.
    pub fn clear_gr(&self, gpu: &Gpu) {
        gpu.queue
            .write_buffer(&self.buffers.gr_hist, 0, &[0u8; 4 * 256]);
    }
    /// Neighbour lists as sorted sets, indexed by particle (cell-list path only; the
    /// device stores them by cell-order slot).
    pub fn read_neighbor_sets(&self, gpu: &Gpu) -> Result<Vec<Vec<u32>>> {
        let total = self.params.total as usize;
        let list: Vec<u32> = gpu.read_all(&self.buffers.neighbors)?;
        let count: Vec<u32> = gpu.read(&self.buffers.neighbor_count, 0, total as u64)?;
        let order: Vec<u32> = gpu.read(&self.buffers.cell_particles, 0, total as u64)?;
        let mut sets = vec![Vec::new(); total];
        for slot in 0..total {
            let mut s: Vec<u32> = (0..count[slot] as usize)
                .map(|k| list[k * total + slot])
                .collect();
            s.sort_unstable();
            sets[order[slot] as usize] = s;
        }
        Ok(sets)
    }
}

/// One record from the two vec4 the reduction writes per replica.
pub fn obs_record(a: [f32; 4], b: [f32; 4]) -> [f64; 5] {
    [
        a[0] as f64,
        a[1] as f64,
        a[2] as f64,
        a[3] as f64,
        b[0] as f64,
    ]
}

/// Turns device status flags into an error.
pub fn status_error(status: u32) -> Result<()> {
    if status & STATUS_NOT_FINITE != 0 {
        return Err(Error::Simulation(
            "NaN or infinity in forces or positions: particles overlapped or the time step is \
             too large. Reduce sampler.dt or check the density"
                .into(),
        ));
    }
    if status & STATUS_NEIGHBOR_OVERFLOW != 0 {
        return Err(Error::Simulation(
            "neighbour list overflow (more neighbours than its capacity)".into(),
        ));
    }
    Ok(())
}
