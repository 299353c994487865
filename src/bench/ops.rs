//! Operation count model of the LJ force kernels (`shaders/lj_forces.wgsl`), behind the
//! achieved FLOP/s and bytes/s of `nti-gpu bench` (docs/bench.md, "Operation counts").
//!
//! Flops: f32 additions, subtractions, multiplications and divisions, per vector
//! component; `dot` of n components = 2n − 1; `fma` = 2; comparisons, `round`, `select`,
//! integer and address arithmetic = 0. Per pair the kernels spend
//! - [`LJ_VISIT_FLOPS`] = 17 on every pair they visit (x_i − x_j: 3, minimum image: 9,
//!   r²: 5), whether or not it is within the cutoff, and
//! - [`LJ_PAIR_FLOPS`] = 26 more on every pair within the cutoff (the pair term `lj_pair`:
//!   13; accumulating force, energy, virial and count: 13).
//!
//! [`shader_pair_flops`] counts the same numbers from the composed WGSL with naga (the
//! innermost loop of an entry point, calls expanded), so a test holds the constants to the
//! shader. Pair counts are the kernels' own: `lj_forces` (all pairs, tiles of 64, P
//! particles per invocation) runs ⌈n/P⌉ live invocations per replica, each visiting the n
//! particles of its replica for its P slots, padding slots included (the other invocations
//! of the last workgroup skip the loop); `lj_forces_neighbors` visits Σ_s
//! `min(neighbor_count[s], max_neighbors)` list entries. Pairs within the cutoff are read
//! from the kernel's output (c_i = ½ #{j: r_ij < r_c}); the padding slots of `lj_forces`
//! (x = 0) are counted on the host.
//!
//! Bytes: what the kernel's loads and stores request from storage buffers, without any
//! cache model (an upper bound on memory traffic; workgroup-memory reads not counted):
//! - `lj_forces`: per workgroup (⌈n/(64 P)⌉ per replica) the n positions of its replica
//!   (16 B each, into the tile) and 64 λ reads (4 B); per particle its own position (16 B)
//!   and force + aux (24 B).
//! - `lj_forces_neighbors`: per particle slot 52 B (cell_particles 4, λ 4, position 16,
//!   neighbor_count 4, force + aux 24), per visited entry 20 B (index 4, position 16).

use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::md::MdSystem;
use serde::Serialize;

/// Flops per visited pair (distance and cutoff test).
pub const LJ_VISIT_FLOPS: u64 = 17;
/// Further flops per pair within the cutoff (plain LJ pair term and accumulation).
pub const LJ_PAIR_FLOPS: u64 = 26;
/// Invocations per workgroup of the force kernels.
pub const WORKGROUP: u64 = 64;

/// Pair counts of one force-kernel dispatch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PairCounts {
    /// Pair distances computed (loop trips).
    pub visited: u64,
    /// Pair terms evaluated (within the cutoff, self excluded).
    pub interacting: u64,
}

impl PairCounts {
    /// Flops of one dispatch.
    pub fn flops(&self) -> f64 {
        (self.visited * LJ_VISIT_FLOPS + self.interacting * LJ_PAIR_FLOPS) as f64
    }
}

/// Bytes requested by one `lj_forces` dispatch (n particles, B replicas, `ppl` particles
/// per invocation).
pub fn lj_forces_bytes(n: u64, replicas: u64, ppl: u64) -> f64 {
    let groups = n.div_ceil(WORKGROUP * ppl);
    (replicas * groups * (n * 16 + WORKGROUP * 4) + replicas * n * (16 + 24)) as f64
}

/// Bytes requested by one `lj_forces_neighbors` dispatch.
pub fn lj_forces_neighbors_bytes(total: u64, visited: u64) -> f64 {
    (total * 52 + visited * 20) as f64
}

/// f32 minimum-image squared distance as the kernels compute it (round half to even).
pub fn min_image_r2_f32(a: [f32; 3], b: [f32; 3], box_length: f32, inv_box: f32) -> f32 {
    let mut r2 = 0.0f32;
    for k in 0..3 {
        let d = a[k] - b[k];
        let m = d - box_length * (d * inv_box).round_ties_even();
        r2 += m * m;
    }
    r2
}

/// Σ over particles of 2 c_i from the aux buffer (pairs within the cutoff, ordered).
fn interacting_from_aux(gpu: &Gpu, sys: &MdSystem) -> Result<u64> {
    let aux = sys.read_aux(gpu)?;
    Ok(aux.iter().map(|a| (2.0 * a[1] as f64).round() as u64).sum())
}

/// Pair counts of the last `lj_forces` dispatch on `sys` (all-pairs path, plain LJ).
pub fn lj_forces_counts(gpu: &Gpu, sys: &MdSystem) -> Result<PairCounts> {
    let p = &sys.params;
    let (n, b) = (p.n as u64, p.replicas as u64);
    let ppl = sys.all_pairs_particles_per_invocation() as u64;
    let lanes = n.div_ceil(ppl) * ppl;
    let real = interacting_from_aux(gpu, sys)?;
    // Padding slots sit at x = 0 and count every particle within the cutoff of it.
    let pos = sys.read_positions(gpu)?;
    let mut padding = 0u64;
    for r in 0..b as usize {
        let near = pos[r * n as usize..(r + 1) * n as usize]
            .iter()
            .filter(|x| {
                min_image_r2_f32([0.0; 3], [x[0], x[1], x[2]], p.box_length, p.inv_box) < p.rc2
            })
            .count() as u64;
        padding += (lanes - n) * near;
    }
    Ok(PairCounts {
        visited: b * lanes * n,
        interacting: real + padding,
    })
}

/// Pair counts of the last `lj_forces_neighbors` dispatch on `sys` (cell-list path).
pub fn lj_forces_neighbors_counts(gpu: &Gpu, sys: &MdSystem) -> Result<PairCounts> {
    let counts = gpu.read_all::<u32>(&sys.buffers.neighbor_count)?;
    let max = sys.params.max_neighbors;
    let visited = counts[..sys.params.total as usize]
        .iter()
        .map(|&c| c.min(max) as u64)
        .sum();
    Ok(PairCounts {
        visited,
        interacting: interacting_from_aux(gpu, sys)?,
    })
}

/// The force kernel of `sys`'s path, its pair counts for the current state (forces must
/// have been computed for the current positions) and its bytes per dispatch.
pub fn force_kernel_counts(gpu: &Gpu, sys: &MdSystem) -> Result<(&'static str, PairCounts, f64)> {
    let p = &sys.params;
    if sys.uses_cells() {
        let c = lj_forces_neighbors_counts(gpu, sys)?;
        Ok((
            "lj_forces_neighbors",
            c,
            lj_forces_neighbors_bytes(p.total as u64, c.visited),
        ))
    } else {
        let c = lj_forces_counts(gpu, sys)?;
        Ok((
            "lj_forces",
            c,
            lj_forces_bytes(
                p.n as u64,
                p.replicas as u64,
                sys.all_pairs_particles_per_invocation() as u64,
            ),
        ))
    }
}

/// Flops per visited pair and per interacting pair counted by naga in the innermost loop
/// of entry point `entry` of kernel file `kernel`, calls expanded; `pair_terms` is counted
/// as `lj_pair` (its plain-LJ branch). Flops are the ones defined in the module doc.
pub fn shader_pair_flops(kernel: &str, entry: &str) -> Result<PairCounts> {
    let src = crate::gpu::shader::compose(kernel)?;
    let (module, info) = crate::gpu::shader::validate(kernel, &src)?;
    let (index, ep) = module
        .entry_points
        .iter()
        .enumerate()
        .find(|(_, e)| e.name == entry)
        .ok_or_else(|| Error::Device(format!("no entry point `{entry}` in `{kernel}`")))?;
    let counter = Counter { module: &module };
    let ctx = Ctx {
        func: &ep.function,
        info: info.get_entry_point(index),
    };
    let body = innermost_loop(&ep.function.body)
        .ok_or_else(|| Error::Device(format!("entry point `{entry}` has no loop")))?;
    let f = |skip| counter.block(body, &ctx, &info, skip);
    let visited = f(true);
    let total = f(false);
    Ok(PairCounts {
        visited,
        interacting: total - visited,
    })
}

/// Flops of a whole function of kernel file `kernel` (both branches of every `if`).
pub fn shader_function_flops(kernel: &str, function: &str) -> Result<u64> {
    let src = crate::gpu::shader::compose(kernel)?;
    let (module, info) = crate::gpu::shader::validate(kernel, &src)?;
    let (h, _) = module
        .functions
        .iter()
        .find(|(_, f)| f.name.as_deref() == Some(function))
        .ok_or_else(|| Error::Device(format!("no function `{function}` in `{kernel}`")))?;
    Ok(Counter { module: &module }.function(h, &info, false))
}

fn innermost_loop(block: &naga::Block) -> Option<&naga::Block> {
    for s in block.iter() {
        let inner = match s {
            naga::Statement::Loop { body, .. } => {
                return Some(innermost_loop(body).unwrap_or(body));
            }
            naga::Statement::Block(b) => innermost_loop(b),
            naga::Statement::If { accept, reject, .. } => {
                innermost_loop(accept).or_else(|| innermost_loop(reject))
            }
            _ => None,
        };
        if inner.is_some() {
            return inner;
        }
    }
    None
}

struct Counter<'a> {
    module: &'a naga::Module,
}

struct Ctx<'a> {
    func: &'a naga::Function,
    info: &'a naga::valid::FunctionInfo,
}

impl Counter<'_> {
    fn components(&self, ctx: &Ctx, e: naga::Handle<naga::Expression>) -> Option<u64> {
        match ctx.info[e].ty.inner_with(&self.module.types) {
            naga::TypeInner::Scalar(s) if s.kind == naga::ScalarKind::Float => Some(1),
            naga::TypeInner::Vector { size, scalar } if scalar.kind == naga::ScalarKind::Float => {
                Some(*size as u64)
            }
            _ => None,
        }
    }

    fn expression(&self, ctx: &Ctx, e: naga::Handle<naga::Expression>) -> u64 {
        use naga::{BinaryOperator as B, Expression as E, MathFunction as M};
        match &ctx.func.expressions[e] {
            E::Binary {
                op: B::Add | B::Subtract | B::Multiply | B::Divide,
                ..
            } => self.components(ctx, e).unwrap_or(0),
            E::Math {
                fun: M::Dot, arg, ..
            } => self.components(ctx, *arg).map_or(0, |n| 2 * n - 1),
            E::Math { fun: M::Fma, .. } => 2 * self.components(ctx, e).unwrap_or(0),
            _ => 0,
        }
    }

    /// Flops of function `h` (with `skip_ifs`, only what runs whatever the branches take).
    fn function(
        &self,
        h: naga::Handle<naga::Function>,
        info: &naga::valid::ModuleInfo,
        skip_ifs: bool,
    ) -> u64 {
        let mut h = h;
        if self.module.functions[h].name.as_deref() == Some("pair_terms") {
            if let Some((lj, _)) = self
                .module
                .functions
                .iter()
                .find(|(_, f)| f.name.as_deref() == Some("lj_pair"))
            {
                h = lj;
            }
        }
        let f = &self.module.functions[h];
        let ctx = Ctx {
            func: f,
            info: &info[h],
        };
        self.block(&f.body, &ctx, info, skip_ifs)
    }

    fn block(
        &self,
        block: &naga::Block,
        ctx: &Ctx,
        info: &naga::valid::ModuleInfo,
        skip_ifs: bool,
    ) -> u64 {
        use naga::Statement as S;
        block
            .iter()
            .map(|s| match s {
                S::Emit(range) => range.clone().map(|e| self.expression(ctx, e)).sum(),
                S::Call { function, .. } => self.function(*function, info, skip_ifs),
                S::Block(b) => self.block(b, ctx, info, skip_ifs),
                S::If { accept, reject, .. } if !skip_ifs => {
                    self.block(accept, ctx, info, false) + self.block(reject, ctx, info, false)
                }
                S::Loop {
                    body, continuing, ..
                } => {
                    self.block(body, ctx, info, skip_ifs)
                        + self.block(continuing, ctx, info, skip_ifs)
                }
                S::Switch { cases, .. } => cases
                    .iter()
                    .map(|c| self.block(&c.body, ctx, info, skip_ifs))
                    .sum(),
                _ => 0,
            })
            .sum()
    }
}
