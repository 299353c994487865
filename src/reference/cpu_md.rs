//! A reasonably fast f64 molecular-dynamics engine on the CPU: the baseline the GPU
//! throughput is compared against, and an independent check of the GPU sampler.
//!
//! One replica of N Lennard-Jones particles in a cubic periodic box, integrated with the
//! BAOAB Langevin splitting of [`Baoab`] (the very same arithmetic and Philox normals, so
//! that a few steps agree with the step-by-step reference functions to rounding).
//!
//! Pairs are found either over all minimum-image pairs ([`CpuPairSearch::AllPairs`]) or
//! from a Verlet neighbour list within r_c + skin built from a cell list and rebuilt only
//! when some particle has moved more than skin/2 since the last build
//! ([`CpuPairSearch::CellList`]). With one thread the neighbour list is a half list
//! (each pair once, Newton's third law); with several threads each thread owns a
//! contiguous chunk of particles with its full neighbour list, integrates them, rebuilds
//! their lists and writes only their forces, so no locks or atomics touch the data. The
//! worker threads live for the whole [`CpuMd::run`] call and meet at a spinning barrier
//! twice per step (three times on a rebuild).
//!
//! The pair loop uses flat arrays, no allocation after the first builds, no square root
//! and no branch on the cutoff (a select), and computes energy and virial only on the
//! last step of a `run` call.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::integrate::Baoab;
use super::lj::LjParams;

/// How interacting pairs are found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CpuPairSearch {
    /// Every minimum-image pair (the [`LjParams`] cutoff may be `None`).
    AllPairs,
    /// Verlet neighbour list within r_c + `skin`, built from a cell list (cells of side
    /// >= r_c + skin). Needs a cutoff. Falls back to all pairs when the box holds fewer
    /// than 3 cells per side.
    CellList {
        /// Verlet skin; the list is rebuilt once some particle has moved more than
        /// skin/2 (minimum image) since the last build.
        skin: f64,
    },
}

/// 1.5 * 2^52: adding and subtracting it rounds an f64 of magnitude < 2^51 to the
/// nearest integer (ties to even) without a libm call or SSE4.1.
const ROUND_MAGIC: f64 = 6_755_399_441_055_744.0;

/// Pair-term constants, precomputed.
#[derive(Clone, Copy, Debug)]
struct Kernel {
    rc2: f64,
    sigma2: f64,
    eps4: f64,
    eps24: f64,
    shift: f64,
    box_length: f64,
    inv_box: f64,
}

impl Kernel {
    fn new(lj: &LjParams) -> Self {
        Self {
            rc2: lj.cutoff2(),
            sigma2: lj.sigma * lj.sigma,
            eps4: 4.0 * lj.epsilon,
            eps24: 24.0 * lj.epsilon,
            shift: lj.shift_energy(),
            box_length: lj.box_length,
            inv_box: 1.0 / lj.box_length,
        }
    }

    /// Minimum-image separation a - b and its squared norm.
    #[inline(always)]
    fn sep(&self, a: [f64; 3], b: [f64; 3]) -> ([f64; 3], f64) {
        let mut d = [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
        for x in &mut d {
            let k = (*x * self.inv_box + ROUND_MAGIC) - ROUND_MAGIC;
            *x -= self.box_length * k;
        }
        (d, d[0] * d[0] + d[1] * d[1] + d[2] * d[2])
    }

    /// (u, f_over_r) at squared distance `r2`, both zero at or beyond the cutoff; u is
    /// only computed when `E`.
    #[inline(always)]
    fn pair<const E: bool>(&self, r2: f64) -> (f64, f64) {
        let inv = 1.0 / r2;
        let s2 = self.sigma2 * inv;
        let s6 = s2 * s2 * s2;
        let fr = self.eps24 * s6 * (2.0 * s6 - 1.0) * inv;
        let u = if E {
            self.eps4 * s6 * (s6 - 1.0) - self.shift
        } else {
            0.0
        };
        let inside = r2 < self.rc2;
        (if inside { u } else { 0.0 }, if inside { fr } else { 0.0 })
    }
}

/// Cell list of one replica (cell numbering of [`super::cells`]), stored sorted by cell.
#[derive(Clone, Debug)]
struct Grid {
    side: usize,
    inv_cell: f64,
    /// Per cell: itself, the 13 "forward" neighbours, then the 13 "backward" ones.
    stencil: Vec<[u32; 27]>,
    /// Cell c holds slots start[c]..start[c + 1].
    start: Vec<u32>,
    /// Particle index of each slot.
    idx: Vec<u32>,
    /// Position of each slot (contiguous per cell).
    cpos: Vec<[f64; 3]>,
    /// Cell of each particle.
    cell_of: Vec<u32>,
    /// Scratch for the counting sort.
    fill: Vec<u32>,
}

impl Grid {
    fn new(side: usize, box_length: f64, n: usize) -> Self {
        assert!(side >= 3);
        let s = side as i64;
        let ncell = side * side * side;
        let mut offsets = vec![[0i64; 3]];
        let mut forward = Vec::new();
        let mut backward = Vec::new();
        for dz in -1..=1i64 {
            for dy in -1..=1i64 {
                for dx in -1..=1i64 {
                    if (dz, dy, dx) > (0, 0, 0) {
                        forward.push([dx, dy, dz]);
                    } else if (dz, dy, dx) < (0, 0, 0) {
                        backward.push([dx, dy, dz]);
                    }
                }
            }
        }
        offsets.extend(forward);
        offsets.extend(backward);
        let mut stencil = vec![[0u32; 27]; ncell];
        for cz in 0..s {
            for cy in 0..s {
                for cx in 0..s {
                    let c = ((cz * s + cy) * s + cx) as usize;
                    for (k, o) in offsets.iter().enumerate() {
                        let x = (cx + o[0] + s) % s;
                        let y = (cy + o[1] + s) % s;
                        let z = (cz + o[2] + s) % s;
                        stencil[c][k] = ((z * s + y) * s + x) as u32;
                    }
                }
            }
        }
        Self {
            side,
            inv_cell: side as f64 / box_length,
            stencil,
            start: vec![0; ncell + 1],
            idx: vec![0; n],
            cpos: vec![[0.0; 3]; n],
            cell_of: vec![0; n],
            fill: vec![0; ncell],
        }
    }

    /// Counting sort of the particles by cell.
    fn build(&mut self, pos: &[[f64; 3]]) {
        let s = self.side;
        let top = s - 1;
        self.start.fill(0);
        for (i, x) in pos.iter().enumerate() {
            let c = x.map(|v| ((v * self.inv_cell) as usize).min(top));
            let c = (c[2] * s + c[1]) * s + c[0];
            self.cell_of[i] = c as u32;
            self.start[c + 1] += 1;
        }
        for c in 0..s * s * s {
            self.start[c + 1] += self.start[c];
        }
        self.fill.copy_from_slice(&self.start[..s * s * s]);
        for (i, x) in pos.iter().enumerate() {
            let c = self.cell_of[i] as usize;
            let slot = self.fill[c] as usize;
            self.fill[c] += 1;
            self.idx[slot] = i as u32;
            self.cpos[slot] = *x;
        }
    }

    #[inline(always)]
    fn slots(&self, c: u32) -> Range<usize> {
        self.start[c as usize] as usize..self.start[c as usize + 1] as usize
    }
}

/// Neighbour list (CSR) of a contiguous range of particles.
#[derive(Clone, Debug, Default)]
struct NeighList {
    /// Particle `range.start + k` has neighbours `neigh[offsets[k]..offsets[k + 1]]`.
    offsets: Vec<u32>,
    neigh: Vec<u32>,
}

impl NeighList {
    /// Half list of all particles: pair {i, j} stored once, under i, from the own cell
    /// (j > i) and the 13 forward cells.
    fn build_half(&mut self, pos: &[[f64; 3]], grid: &Grid, k: &Kernel, r_list2: f64) {
        self.offsets.clear();
        self.neigh.clear();
        self.offsets.push(0);
        for (i, &xi) in pos.iter().enumerate() {
            let c = grid.cell_of[i];
            for slot in grid.slots(c) {
                if grid.idx[slot] as usize > i && k.sep(xi, grid.cpos[slot]).1 < r_list2 {
                    self.neigh.push(grid.idx[slot]);
                }
            }
            for &cc in &grid.stencil[c as usize][1..14] {
                for slot in grid.slots(cc) {
                    if k.sep(xi, grid.cpos[slot]).1 < r_list2 {
                        self.neigh.push(grid.idx[slot]);
                    }
                }
            }
            self.offsets.push(self.neigh.len() as u32);
        }
    }

    /// Full list of the particles in `range`: every neighbour from the 27 cells.
    fn build_full(
        &mut self,
        pos: &[[f64; 3]],
        range: Range<usize>,
        grid: &Grid,
        k: &Kernel,
        r_list2: f64,
    ) {
        self.offsets.clear();
        self.neigh.clear();
        self.offsets.push(0);
        for i in range {
            let xi = pos[i];
            for &cc in &grid.stencil[grid.cell_of[i] as usize] {
                for slot in grid.slots(cc) {
                    let j = grid.idx[slot];
                    if j as usize != i && k.sep(xi, grid.cpos[slot]).1 < r_list2 {
                        self.neigh.push(j);
                    }
                }
            }
            self.offsets.push(self.neigh.len() as u32);
        }
    }
}

/// Forces from a half list into `force` (zeroed here); returns (energy, virial).
fn forces_half<const E: bool>(
    pos: &[[f64; 3]],
    list: &NeighList,
    force: &mut [[f64; 3]],
    k: &Kernel,
) -> (f64, f64) {
    force.fill([0.0; 3]);
    let (mut e, mut w) = (0.0, 0.0);
    for (i, &xi) in pos.iter().enumerate() {
        let nb = &list.neigh[list.offsets[i] as usize..list.offsets[i + 1] as usize];
        let mut fi = [0.0; 3];
        for &j in nb {
            let j = j as usize;
            let (d, r2) = k.sep(xi, pos[j]);
            let (u, fr) = k.pair::<E>(r2);
            let fj = &mut force[j];
            for a in 0..3 {
                fi[a] += fr * d[a];
                fj[a] -= fr * d[a];
            }
            if E {
                e += u;
                w += fr * r2;
            }
        }
        for a in 0..3 {
            force[i][a] += fi[a];
        }
    }
    (e, w)
}

/// Forces on the particles of `range` (into `force`, indexed from `range.start`) from
/// their full lists; returns their share (half of each pair) of energy and virial.
fn forces_full<const E: bool>(
    pos: &[[f64; 3]],
    range: Range<usize>,
    list: &NeighList,
    force: &mut [[f64; 3]],
    k: &Kernel,
) -> (f64, f64) {
    let (mut e, mut w) = (0.0, 0.0);
    for (l, i) in range.enumerate() {
        let xi = pos[i];
        let nb = &list.neigh[list.offsets[l] as usize..list.offsets[l + 1] as usize];
        let mut fi = [0.0; 3];
        for &j in nb {
            let (d, r2) = k.sep(xi, pos[j as usize]);
            let (u, fr) = k.pair::<E>(r2);
            for a in 0..3 {
                fi[a] += fr * d[a];
            }
            if E {
                e += u;
                w += fr * r2;
            }
        }
        force[l] = fi;
    }
    (0.5 * e, 0.5 * w)
}

/// All minimum-image pairs i < j into `force` (zeroed here); returns (energy, virial).
fn forces_all_half<const E: bool>(
    pos: &[[f64; 3]],
    force: &mut [[f64; 3]],
    k: &Kernel,
) -> (f64, f64) {
    force.fill([0.0; 3]);
    let (mut e, mut w) = (0.0, 0.0);
    for i in 0..pos.len() {
        let xi = pos[i];
        let mut fi = [0.0; 3];
        let (_, rest) = force.split_at_mut(i + 1);
        for (xj, fj) in pos[i + 1..].iter().zip(rest) {
            let (d, r2) = k.sep(xi, *xj);
            let (u, fr) = k.pair::<E>(r2);
            for a in 0..3 {
                fi[a] += fr * d[a];
                fj[a] -= fr * d[a];
            }
            if E {
                e += u;
                w += fr * r2;
            }
        }
        for a in 0..3 {
            force[i][a] += fi[a];
        }
    }
    (e, w)
}

/// All minimum-image pairs of the particles in `range` (forces indexed from
/// `range.start`); returns their share of energy and virial.
fn forces_all_full<const E: bool>(
    pos: &[[f64; 3]],
    range: Range<usize>,
    force: &mut [[f64; 3]],
    k: &Kernel,
) -> (f64, f64) {
    let (mut e, mut w) = (0.0, 0.0);
    for (l, i) in range.enumerate() {
        let xi = pos[i];
        let mut fi = [0.0; 3];
        for (j, &xj) in pos.iter().enumerate() {
            let (d, r2) = k.sep(xi, xj);
            let (u, fr) = k.pair::<E>(r2);
            // The self term (r2 = 0) must not count: mask it explicitly.
            let (u, fr) = if j == i { (0.0, 0.0) } else { (u, fr) };
            for a in 0..3 {
                fi[a] += fr * d[a];
            }
            if E {
                e += u;
                w += fr * r2;
            }
        }
        force[l] = fi;
    }
    (0.5 * e, 0.5 * w)
}

/// Largest squared minimum-image displacement of `pos` from `reference`.
fn max_disp2(pos: &[[f64; 3]], reference: &[[f64; 3]], k: &Kernel) -> f64 {
    pos.iter()
        .zip(reference)
        .map(|(a, b)| k.sep(*a, *b).1)
        .fold(0.0, f64::max)
}

/// Verlet-list bookkeeping.
#[derive(Clone, Debug)]
struct Verlet {
    /// (r_c + skin)^2.
    r_list2: f64,
    /// (skin / 2)^2.
    limit2: f64,
    grid: Grid,
    /// Positions at the last build.
    pos_ref: Vec<[f64; 3]>,
}

/// A thread's share of the particles.
#[derive(Clone, Debug)]
struct Chunk {
    range: Range<usize>,
    list: NeighList,
    energy: f64,
    virial: f64,
}

/// Sense-free spinning barrier (spins, then yields the core).
struct SpinBarrier {
    n: usize,
    count: AtomicUsize,
    generation: AtomicUsize,
}

impl SpinBarrier {
    fn new(n: usize) -> Self {
        Self {
            n,
            count: AtomicUsize::new(0),
            generation: AtomicUsize::new(0),
        }
    }

    /// Returns once all `n` threads have called it; orders everything before the call
    /// in every thread before everything after it in every thread.
    fn wait(&self) {
        let gen = self.generation.load(Ordering::Acquire);
        if self.count.fetch_add(1, Ordering::AcqRel) + 1 == self.n {
            self.count.store(0, Ordering::Relaxed);
            self.generation
                .store(gen.wrapping_add(1), Ordering::Release);
        } else {
            let mut spins = 0u32;
            while self.generation.load(Ordering::Acquire) == gen {
                if spins < 1 << 14 {
                    std::hint::spin_loop();
                    spins += 1;
                } else {
                    std::thread::yield_now();
                }
            }
        }
    }
}

/// A raw pointer shared between the worker threads of one `run`; the barrier phases
/// make the accesses through it disjoint or read-only (see `worker`).
#[derive(Clone, Copy)]
struct SyncPtr<T>(*mut T);
// SAFETY: only dereferenced under the phase discipline documented in `worker`.
unsafe impl<T: Send> Send for SyncPtr<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for SyncPtr<T> {}

impl<T> SyncPtr<T> {
    fn get(self) -> *mut T {
        self.0
    }
}

/// What every worker of a parallel `run` shares.
struct Common<'a> {
    pos: SyncPtr<[f64; 3]>,
    n: usize,
    grid: Option<SyncPtr<Grid>>,
    r_list2: f64,
    limit2: f64,
    barrier: &'a SpinBarrier,
    rebuild: &'a AtomicBool,
    integrator: Baoab,
    kernel: Kernel,
    first_step: u64,
    steps: u64,
}

/// One worker of a parallel `run` (thread `t`, owning `chunk`). Returns the number of
/// rebuilds (counted by thread 0 only).
///
/// Phases of a step, separated by barriers:
/// 1. BAOA on the own particles (writes own positions only), displacement check.
/// 2. On a rebuild: thread 0 rebuilds the cell grid (reads all positions).
/// 3. On a rebuild: own neighbour lists; forces on the own particles (reads all
///    positions, writes own forces), final B on the own velocities.
#[allow(clippy::too_many_arguments)]
fn worker(
    t: usize,
    c: &Common,
    chunk: &mut Chunk,
    vel: &mut [[f64; 3]],
    force: &mut [[f64; 3]],
    pos_ref: &mut [[f64; 3]],
) -> u64 {
    let range = chunk.range.clone();
    let mut rebuilds = 0;
    for s in 0..c.steps {
        let step = c.first_step + s;
        {
            // SAFETY: phase 1: every thread touches only its own disjoint range; no shared
            // slice of the positions is alive (the previous step ended with a barrier).
            let own = unsafe {
                std::slice::from_raw_parts_mut(c.pos.get().add(range.start), range.len())
            };
            c.integrator
                .baoa(own, vel, force, step as u32, range.start as u32);
            if c.grid.is_some() && max_disp2(own, pos_ref, &c.kernel) > c.limit2 {
                c.rebuild.store(true, Ordering::Relaxed);
            }
        }
        c.barrier.wait();
        // SAFETY: phases 2 and 3 only read the positions.
        let pos = unsafe { std::slice::from_raw_parts(c.pos.get() as *const [f64; 3], c.n) };
        if let Some(grid) = c.grid {
            if c.rebuild.load(Ordering::Relaxed) {
                if t == 0 {
                    // SAFETY: only thread 0 touches the grid during phase 2.
                    unsafe { (*grid.get()).build(pos) };
                    rebuilds += 1;
                }
                c.barrier.wait();
                if t == 0 {
                    // Every thread has read the flag before the barrier above; the next
                    // writes come after the barrier that ends this step.
                    c.rebuild.store(false, Ordering::Relaxed);
                }
                // SAFETY: phase 3 only reads the grid.
                let grid = unsafe { &*grid.get() };
                chunk
                    .list
                    .build_full(pos, range.clone(), grid, &c.kernel, c.r_list2);
                pos_ref.copy_from_slice(&pos[range.clone()]);
            }
        }
        let last = s + 1 == c.steps;
        let (e, w) = match (c.grid.is_some(), last) {
            (true, true) => forces_full::<true>(pos, range.clone(), &chunk.list, force, &c.kernel),
            (true, false) => {
                forces_full::<false>(pos, range.clone(), &chunk.list, force, &c.kernel)
            }
            (false, true) => forces_all_full::<true>(pos, range.clone(), force, &c.kernel),
            (false, false) => forces_all_full::<false>(pos, range.clone(), force, &c.kernel),
        };
        if last {
            chunk.energy = e;
            chunk.virial = w;
        }
        c.integrator.b(vel, force);
        // Nobody may write positions (next phase 1) while others still read them.
        c.barrier.wait();
    }
    rebuilds
}

/// One replica of N Lennard-Jones particles integrated with BAOAB Langevin dynamics in
/// f64 on the CPU, optionally on several threads.
#[derive(Clone, Debug)]
pub struct CpuMd {
    pos: Vec<[f64; 3]>,
    vel: Vec<[f64; 3]>,
    force: Vec<[f64; 3]>,
    lj: LjParams,
    integrator: Baoab,
    kernel: Kernel,
    /// `None`: all pairs.
    verlet: Option<Verlet>,
    /// One chunk per thread; a single chunk means the serial half-list path.
    chunks: Vec<Chunk>,
    /// Philox step counter of the next step.
    step: u64,
    energy: f64,
    virial: f64,
    rebuilds: u64,
}

impl CpuMd {
    /// One replica of N particles. `pos` is wrapped into [0, L)^3 (L from `lj`, which
    /// must equal `integrator.box_length`). `CellList` needs `lj.cutoff`; it falls back
    /// to all pairs when L < 3 (r_c + skin). `threads` (at least 1, at most N) splits the
    /// particles into contiguous chunks, one per thread. Computes the initial forces.
    pub fn new(
        pos: Vec<[f64; 3]>,
        vel: Vec<[f64; 3]>,
        lj: LjParams,
        integrator: Baoab,
        search: CpuPairSearch,
        threads: usize,
    ) -> Self {
        let n = pos.len();
        assert_eq!(vel.len(), n, "one velocity per particle");
        assert!(
            (lj.box_length - integrator.box_length).abs() <= 1e-12 * lj.box_length,
            "LjParams and Baoab disagree on the box length"
        );
        let l = lj.box_length;
        let pos: Vec<[f64; 3]> = pos
            .into_iter()
            .map(|x| {
                x.map(|v| {
                    let w = v - l * (v / l).floor();
                    if w >= l {
                        0.0
                    } else {
                        w
                    }
                })
            })
            .collect();
        let kernel = Kernel::new(&lj);
        let verlet = match search {
            CpuPairSearch::AllPairs => None,
            CpuPairSearch::CellList { skin } => {
                let rc = lj.cutoff.expect("CpuPairSearch::CellList needs a cutoff");
                assert!(skin >= 0.0, "negative skin");
                let r_list = rc + skin;
                let side = (l / r_list).floor() as usize;
                (side >= 3).then(|| Verlet {
                    r_list2: r_list * r_list,
                    limit2: 0.25 * skin * skin,
                    grid: Grid::new(side, l, n),
                    pos_ref: pos.clone(),
                })
            }
        };
        let threads = threads.clamp(1, n.max(1));
        let size = n.div_ceil(threads).max(1);
        let chunks = (0..n.div_ceil(size).max(1))
            .map(|c| Chunk {
                range: c * size..((c + 1) * size).min(n),
                list: NeighList::default(),
                energy: 0.0,
                virial: 0.0,
            })
            .collect();
        let mut md = Self {
            force: vec![[0.0; 3]; n],
            pos,
            vel,
            lj,
            integrator,
            kernel,
            verlet,
            chunks,
            step: 0,
            energy: 0.0,
            virial: 0.0,
            rebuilds: 0,
        };
        if let Some(v) = &mut md.verlet {
            v.grid.build(&md.pos);
        }
        md.rebuild_lists();
        md.serial_forces::<true>();
        md
    }

    /// Rebuilds every chunk's neighbour list serially from the current grid.
    fn rebuild_lists(&mut self) {
        let Some(v) = &mut self.verlet else { return };
        if self.chunks.len() == 1 {
            self.chunks[0]
                .list
                .build_half(&self.pos, &v.grid, &self.kernel, v.r_list2);
        } else {
            for ch in &mut self.chunks {
                ch.list.build_full(
                    &self.pos,
                    ch.range.clone(),
                    &v.grid,
                    &self.kernel,
                    v.r_list2,
                );
            }
        }
        v.pos_ref.copy_from_slice(&self.pos);
    }

    /// Forces (and, if `E`, energy and virial) at the current positions, on this thread.
    fn serial_forces<const E: bool>(&mut self) {
        let k = &self.kernel;
        let (e, w) = if self.chunks.len() == 1 {
            match &self.verlet {
                Some(_) => forces_half::<E>(&self.pos, &self.chunks[0].list, &mut self.force, k),
                None => forces_all_half::<E>(&self.pos, &mut self.force, k),
            }
        } else {
            let (mut e, mut w) = (0.0, 0.0);
            for ch in &self.chunks {
                let f = &mut self.force[ch.range.clone()];
                let (de, dw) = match &self.verlet {
                    Some(_) => forces_full::<E>(&self.pos, ch.range.clone(), &ch.list, f, k),
                    None => forces_all_full::<E>(&self.pos, ch.range.clone(), f, k),
                };
                e += de;
                w += dw;
            }
            (e, w)
        };
        if E {
            self.energy = e;
            self.virial = w;
        }
    }

    /// One step on this thread (single-chunk path).
    fn serial_step<const E: bool>(&mut self) {
        self.integrator.baoa(
            &mut self.pos,
            &mut self.vel,
            &self.force,
            self.step as u32,
            0,
        );
        self.step += 1;
        if let Some(v) = &mut self.verlet {
            if max_disp2(&self.pos, &v.pos_ref, &self.kernel) > v.limit2 {
                v.grid.build(&self.pos);
                self.rebuilds += 1;
                self.rebuild_lists();
            }
        }
        self.serial_forces::<E>();
        self.integrator.b(&mut self.vel, &self.force);
    }

    /// Runs `steps` BAOAB steps (B, A, O, A, forces, B) exactly as [`Baoab::baoa`] and
    /// [`Baoab::b`] do, with the same Philox counters (particle index i, step counter
    /// starting at 0 at construction and incremented per step).
    pub fn run(&mut self, steps: u64) {
        if steps == 0 {
            return;
        }
        if self.pos.is_empty() {
            self.step += steps;
            return;
        }
        if self.chunks.len() == 1 {
            for s in 0..steps {
                if s + 1 == steps {
                    self.serial_step::<true>();
                } else {
                    self.serial_step::<false>();
                }
            }
            return;
        }
        self.parallel_run(steps);
    }

    fn parallel_run(&mut self, steps: u64) {
        let barrier = SpinBarrier::new(self.chunks.len());
        let rebuild = AtomicBool::new(false);
        let n = self.pos.len();
        let (grid, r_list2, limit2, mut pos_ref) = match &mut self.verlet {
            Some(v) => (
                Some(SyncPtr(&mut v.grid as *mut Grid)),
                v.r_list2,
                v.limit2,
                &mut v.pos_ref[..],
            ),
            None => (None, 0.0, 0.0, &mut [][..]),
        };
        let common = Common {
            pos: SyncPtr(self.pos.as_mut_ptr()),
            n,
            grid,
            r_list2,
            limit2,
            barrier: &barrier,
            rebuild: &rebuild,
            integrator: self.integrator,
            kernel: self.kernel,
            first_step: self.step,
            steps,
        };
        let mut vel = &mut self.vel[..];
        let mut force = &mut self.force[..];
        let rebuilds = std::thread::scope(|scope| {
            let mut own = None;
            let mut handles = Vec::with_capacity(self.chunks.len() - 1);
            for (t, chunk) in self.chunks.iter_mut().enumerate() {
                let len = chunk.range.len();
                let (v, rest) = std::mem::take(&mut vel).split_at_mut(len);
                vel = rest;
                let (f, rest) = std::mem::take(&mut force).split_at_mut(len);
                force = rest;
                let r = if pos_ref.is_empty() {
                    &mut [][..]
                } else {
                    let (r, rest) = std::mem::take(&mut pos_ref).split_at_mut(len);
                    pos_ref = rest;
                    r
                };
                if t == 0 {
                    own = Some((chunk, v, f, r));
                } else {
                    let common = &common;
                    handles.push(scope.spawn(move || worker(t, common, chunk, v, f, r)));
                }
            }
            let (chunk, v, f, r) = own.expect("at least one chunk");
            let rebuilds = worker(0, &common, chunk, v, f, r);
            for h in handles {
                h.join().expect("worker thread panicked");
            }
            rebuilds
        });
        self.step += steps;
        self.rebuilds += rebuilds;
        self.energy = self.chunks.iter().map(|c| c.energy).sum();
        self.virial = self.chunks.iter().map(|c| c.virial).sum();
    }

    /// Potential energy at the current positions (shifted if the [`LjParams`] say so).
    pub fn potential_energy(&self) -> f64 {
        self.energy
    }

    /// Virial W = sum over pairs of r_ij . f_ij at the current positions.
    pub fn virial(&self) -> f64 {
        self.virial
    }

    /// Kinetic energy sum m v^2 / 2.
    pub fn kinetic_energy(&self) -> f64 {
        0.5 * self.integrator.mass
            * self
                .vel
                .iter()
                .map(|v| v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
                .sum::<f64>()
    }

    /// Positions, wrapped into [0, L)^3.
    pub fn positions(&self) -> &[[f64; 3]] {
        &self.pos
    }

    /// Velocities (full-step, after the final B).
    pub fn velocities(&self) -> &[[f64; 3]] {
        &self.vel
    }

    /// Forces at the current positions.
    pub fn forces(&self) -> &[[f64; 3]] {
        &self.force
    }

    /// Pair parameters.
    pub fn lj_params(&self) -> &LjParams {
        &self.lj
    }

    /// Steps run so far (the Philox step counter of the next step).
    pub fn steps_done(&self) -> u64 {
        self.step
    }

    /// Neighbour-list rebuilds triggered during [`CpuMd::run`] (the initial build in
    /// [`CpuMd::new`] is not counted); always 0 when searching all pairs.
    pub fn neighbor_rebuilds(&self) -> u64 {
        self.rebuilds
    }

    /// Whether a Verlet neighbour list is in use (false for all pairs, requested or
    /// fallen back to).
    pub fn uses_neighbor_list(&self) -> bool {
        self.verlet.is_some()
    }
}
