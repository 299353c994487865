//! A reasonably fast f64 molecular-dynamics engine on the CPU: the baseline the GPU
//! throughput is compared against, and an independent check of the GPU sampler.
//!
//! One replica of N Lennard-Jones particles in a cubic periodic box, integrated with the
//! BAOAB Langevin splitting of [`Baoab`] (its very arithmetic and Philox normals, so that
//! a few steps agree with the step-by-step reference functions to rounding).
//!
//! Pairs are found either over all minimum-image pairs ([`CpuPairSearch::AllPairs`]) or
//! from a Verlet neighbour list within r_c + skin, built from a cell list and rebuilt only
//! when some particle has moved more than skin/2 since the last build
//! ([`CpuPairSearch::CellList`]).
//!
//! The neighbour list is a half list (each pair once, Newton's third law), built from the
//! own cell and the 13 "forward" neighbour cells. With several threads each thread owns a
//! contiguous chunk of particles: it integrates them, rebuilds their half lists,
//! accumulates their pair forces into a private force buffer, then sums the buffers of all
//! threads for its own particles, so no locks or atomics touch the data. (This does half
//! the pair work of full lists where each thread writes only its own forces, at the price
//! of one O(N) reduction per step.) The worker threads live for a whole [`CpuMd::run`]
//! call and meet at a spinning barrier twice per step (three times on a rebuild). With
//! all pairs and several threads each thread sums full rows for its own particles.
//!
//! The pair loop uses flat arrays, no allocation after the first list builds, no square
//! root, no minimum image and no branch on the cutoff (a select); energy and virial are
//! computed only on the last step of each `run` call. Between builds it works on
//! unwrapped positions (position at the last build plus the minimum-image displacement
//! since, computed anyway for the rebuild check), each list entry carrying the periodic
//! shift of its pair found at the build. The list build appends without branches.
//!
//! Everything is deterministic for a given thread count; different thread counts agree
//! to rounding.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::reference::integrate::Baoab;
use crate::scene::LjParams;

/// How interacting pairs are found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CpuPairSearch {
    /// Every minimum-image pair (the [`LjParams`] cutoff may be `None`).
    AllPairs,
    /// Verlet neighbour list within r_c + `skin`, built from a cell list (cells of side
    /// at least r_c + skin). Needs a cutoff. Falls back to all pairs when the box holds
    /// fewer than 3 cells per side.
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
    /// Periodic shift of each neighbour-list code (see [`shift_code`]); padded to 32 so
    /// that `code & 31` needs no bounds check.
    shifts: [[f64; 3]; 32],
}

/// Code of the periodic shift (sx, sy, sz) L, each s in {-1, 0, 1}: the low 5 bits of a
/// neighbour-list entry.
fn shift_code(s: [i64; 3]) -> u32 {
    ((s[0] + 1) + 3 * (s[1] + 1) + 9 * (s[2] + 1)) as u32
}

/// Bits of a neighbour-list entry below the particle index.
const CODE_BITS: u32 = 5;

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
            shifts: std::array::from_fn(|c| {
                let c = c as i64;
                if c < 27 {
                    [c % 3 - 1, c / 3 % 3 - 1, c / 9 - 1].map(|v| v as f64 * lj.box_length)
                } else {
                    [0.0; 3]
                }
            }),
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
    /// Per cell and stencil entry: the periodic shift s such that x_j + s is the image
    /// of a particle j of that neighbour cell next to this cell ...
    shift: Vec<[[f64; 3]; 27]>,
    /// ... and its [`shift_code`].
    code: Vec<[u32; 27]>,
    /// Cell c holds slots start[c]..start[c + 1], particles in increasing index.
    start: Vec<u32>,
    /// Particle index of each slot.
    idx: Vec<u32>,
    /// Position of each slot (contiguous per cell).
    cpos: Vec<[f64; 3]>,
    /// Cell of each particle.
    cell_of: Vec<u32>,
    /// Slot of each particle.
    slot_of: Vec<u32>,
}

impl Grid {
    fn new(side: usize, box_length: f64, n: usize) -> Self {
        assert!(side >= 3);
        let s = side as i64;
        let ncell = side * side * side;
        let mut offsets = vec![[0i64; 3]];
        let mut backward = Vec::new();
        for dz in -1..=1i64 {
            for dy in -1..=1i64 {
                for dx in -1..=1i64 {
                    if (dz, dy, dx) > (0, 0, 0) {
                        offsets.push([dx, dy, dz]);
                    } else if (dz, dy, dx) < (0, 0, 0) {
                        backward.push([dx, dy, dz]);
                    }
                }
            }
        }
        offsets.extend(backward);
        let mut stencil = vec![[0u32; 27]; ncell];
        let mut shift = vec![[[0.0; 3]; 27]; ncell];
        let mut code = vec![[0u32; 27]; ncell];
        for cz in 0..s {
            for cy in 0..s {
                for cx in 0..s {
                    let c = ((cz * s + cy) * s + cx) as usize;
                    for (k, o) in offsets.iter().enumerate() {
                        let u = [cx + o[0], cy + o[1], cz + o[2]];
                        let w = u.map(|v| (v + s) % s);
                        stencil[c][k] = ((w[2] * s + w[1]) * s + w[0]) as u32;
                        let sh = u.map(|v| (v >= s) as i64 - (v < 0) as i64);
                        shift[c][k] = sh.map(|v| v as f64 * box_length);
                        code[c][k] = shift_code(sh);
                    }
                }
            }
        }
        Self {
            side,
            inv_cell: side as f64 / box_length,
            stencil,
            shift,
            code,
            start: vec![0; ncell + 1],
            idx: vec![0; n],
            cpos: vec![[0.0; 3]; n],
            cell_of: vec![0; n],
            slot_of: vec![0; n],
        }
    }

    /// Counting sort of the particles by cell (stable: increasing index within a cell).
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
        for (i, x) in pos.iter().enumerate() {
            // start[c] is used as the fill pointer, then restored below.
            let c = self.cell_of[i] as usize;
            let slot = self.start[c] as usize;
            self.start[c] += 1;
            self.idx[slot] = i as u32;
            self.cpos[slot] = *x;
            self.slot_of[i] = slot as u32;
        }
        for c in (1..=s * s * s).rev() {
            self.start[c] = self.start[c - 1];
        }
        self.start[0] = 0;
    }

    #[inline(always)]
    fn slots(&self, c: u32) -> Range<usize> {
        self.start[c as usize] as usize..self.start[c as usize + 1] as usize
    }
}

/// Half neighbour list (CSR) of a contiguous range of particles.
///
/// An entry is `j << CODE_BITS | code`: the neighbour j and the [`shift_code`] of the
/// periodic shift S (fixed at the build) such that the pair separation is
/// x_i - (x_j + S) in the unwrapped coordinates of [`displace`], so the pair loop needs
/// no minimum image.
#[derive(Clone, Debug, Default)]
struct NeighList {
    /// Particle `range.start + k` has entries `neigh[offsets[k]..offsets[k + 1]]`.
    offsets: Vec<u32>,
    /// Entries; may be longer than `offsets.last()` (reused storage).
    neigh: Vec<u32>,
}

impl NeighList {
    /// Half list of the particles in `range`: pair {i, j} is stored once, under i, if j
    /// follows i in their common cell or j lies in one of the 13 forward cells of i.
    fn build(&mut self, range: Range<usize>, grid: &Grid, r_list2: f64) {
        self.offsets.clear();
        self.offsets.push(0);
        let mut len = 0;
        for i in range {
            let c = grid.cell_of[i] as usize;
            let own = grid.slot_of[i] as usize;
            let xi = grid.cpos[own];
            let same = own + 1..grid.start[c + 1] as usize;
            len = self.scan(len, xi, same, grid.code[c][0], grid, r_list2);
            for k in 1..14 {
                let sh = grid.shift[c][k];
                let xs = [xi[0] - sh[0], xi[1] - sh[1], xi[2] - sh[2]];
                let slots = grid.slots(grid.stencil[c][k]);
                len = self.scan(len, xs, slots, grid.code[c][k], grid, r_list2);
            }
            self.offsets.push(len as u32);
        }
    }

    /// Appends the particles of `slots` within `r_list` of `x` (already shifted by minus
    /// their periodic shift, of code `code`) after `len`; returns the new length.
    #[inline(always)]
    fn scan(
        &mut self,
        len: usize,
        x: [f64; 3],
        slots: Range<usize>,
        code: u32,
        grid: &Grid,
        r_list2: f64,
    ) -> usize {
        let need = len + slots.len();
        if self.neigh.len() < need {
            let grown = need.max(2 * self.neigh.len()).max(1024);
            self.neigh.resize(grown, 0);
        }
        let out = &mut self.neigh[len..need];
        let mut m = 0;
        for (p, &j) in grid.cpos[slots.clone()].iter().zip(&grid.idx[slots]) {
            let d = [x[0] - p[0], x[1] - p[1], x[2] - p[2]];
            let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
            // m <= number of slots seen so far < out.len().
            out[m] = j << CODE_BITS | code;
            m += (r2 < r_list2) as usize;
        }
        len + m
    }
}

/// Adds the forces of the half-list pairs of the particles in `range` to `force` (N
/// long, both ends of each pair); returns their energy and virial. `x`: the unwrapped
/// positions of [`displace`] (or the wrapped ones right after a build).
fn forces_half<const E: bool>(
    x: &[[f64; 3]],
    range: Range<usize>,
    list: &NeighList,
    force: &mut [[f64; 3]],
    k: &Kernel,
) -> (f64, f64) {
    let (mut e, mut w) = (0.0, 0.0);
    for (l, i) in range.enumerate() {
        let xi = x[i];
        let nb = &list.neigh[list.offsets[l] as usize..list.offsets[l + 1] as usize];
        let mut fi = [0.0; 3];
        for &entry in nb {
            let j = (entry >> CODE_BITS) as usize;
            let sh = k.shifts[(entry & 31) as usize];
            let xj = x[j];
            let d = [
                xi[0] - (xj[0] + sh[0]),
                xi[1] - (xj[1] + sh[1]),
                xi[2] - (xj[2] + sh[2]),
            ];
            let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
            let (u, fr) = k.pair::<E>(r2);
            add_pair::<E>(&mut fi, &mut force[j], d, r2, (u, fr), (&mut e, &mut w));
        }
        for a in 0..3 {
            force[i][a] += fi[a];
        }
    }
    (e, w)
}

/// Adds one pair's force to both particles (Newton's third law) and, when `E`, its energy
/// and virial to the sums.
#[inline(always)]
fn add_pair<const E: bool>(
    fi: &mut [f64; 3],
    fj: &mut [f64; 3],
    d: [f64; 3],
    r2: f64,
    (u, fr): (f64, f64),
    (e, w): (&mut f64, &mut f64),
) {
    for a in 0..3 {
        fi[a] += fr * d[a];
        fj[a] -= fr * d[a];
    }
    if E {
        *e += u;
        *w += fr * r2;
    }
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
            add_pair::<E>(&mut fi, fj, d, r2, (u, fr), (&mut e, &mut w));
        }
        for a in 0..3 {
            force[i][a] += fi[a];
        }
    }
    (e, w)
}

/// All minimum-image pairs of the particles in `range` (forces written from
/// `range.start` on); returns their share (half of each pair) of energy and virial.
fn forces_all_rows<const E: bool>(
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
            // The self term (r2 = 0, not finite) must not count.
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

/// Unwrapped positions `unwrapped` = `reference` + minimum image of (`pos` -
/// `reference`), continuous since the last build; returns the largest squared
/// displacement.
fn displace(
    pos: &[[f64; 3]],
    reference: &[[f64; 3]],
    unwrapped: &mut [[f64; 3]],
    k: &Kernel,
) -> f64 {
    let mut max: f64 = 0.0;
    for ((x, r), u) in pos.iter().zip(reference).zip(unwrapped) {
        let (d, d2) = k.sep(*x, *r);
        *u = [r[0] + d[0], r[1] + d[1], r[2] + d[2]];
        max = max.max(d2);
    }
    max
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
    /// Unwrapped positions (see [`displace`]).
    unwrapped: Vec<[f64; 3]>,
}

/// A thread's share of the particles.
#[derive(Clone, Debug)]
struct Chunk {
    range: Range<usize>,
    list: NeighList,
    /// Private force buffer (N long) of a parallel run with a neighbour list.
    buf: Vec<[f64; 3]>,
    energy: f64,
    virial: f64,
}

/// Spinning barrier (spins, then yields the core).
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

    /// Returns once all `n` threads have called it; everything before the call in every
    /// thread happens before everything after it in every thread.
    fn wait(&self) {
        let gen = self.generation.load(Ordering::Acquire);
        if self.count.fetch_add(1, Ordering::AcqRel) + 1 == self.n {
            self.count.store(0, Ordering::Relaxed);
            self.generation
                .store(gen.wrapping_add(1), Ordering::Release);
        } else {
            let mut spins = 0u32;
            while self.generation.load(Ordering::Acquire) == gen {
                if spins < 2000 {
                    std::hint::spin_loop();
                    spins += 1;
                } else {
                    std::thread::yield_now();
                }
            }
        }
    }
}

/// A raw pointer shared by the workers of one parallel `run`; the barrier phases make
/// the accesses through it disjoint or read-only (see [`worker`]).
struct SyncPtr<T>(*mut T);

impl<T> Clone for SyncPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for SyncPtr<T> {}

// SAFETY: only dereferenced under the phase discipline documented in `worker`.
unsafe impl<T: Send> Send for SyncPtr<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for SyncPtr<T> {}

impl<T> SyncPtr<T> {
    /// The pointer (a method, so that closures capture the `Sync` wrapper).
    fn get(self) -> *mut T {
        self.0
    }
}

/// What every worker of a parallel `run` shares.
struct Common<'a> {
    pos: SyncPtr<[f64; 3]>,
    n: usize,
    grid: Option<SyncPtr<Grid>>,
    /// Unwrapped positions (with a grid).
    unwrapped: SyncPtr<[f64; 3]>,
    /// Start of each chunk's private force buffer (N long each), with a grid.
    bufs: &'a [SyncPtr<[f64; 3]>],
    r_list2: f64,
    limit2: f64,
    barrier: &'a SpinBarrier,
    rebuild: &'a AtomicBool,
    integrator: Baoab,
    kernel: Kernel,
    first_step: u64,
    steps: u64,
}

/// One worker of a parallel `run` (thread `t`, owning `chunk` and the matching slices of
/// velocities, forces and reference positions). Returns the number of rebuilds (counted
/// by thread 0 only).
///
/// Phases of a step, separated by barriers:
/// 1. BAOA on the own particles (writes their positions only); displacement check.
/// 2. Only on a rebuild: thread 0 rebuilds the cell grid (reads all positions); barrier;
///    every thread rebuilds its half lists (reads grid).
/// 3. Pair forces of the own half lists into the own private buffer (reads all
///    positions). With all pairs: full rows into the own forces instead.
/// 4. Own forces = sum of all private buffers at the own particles; final B.
///
/// Barriers end phases 1 and 3 (and the grid build). Positions are written in 1 and read
/// in 2-3 only; buffers are written in 3 and read in 4 only; the next step's phase 3 of
/// any thread comes after the barrier ending phase 1, which every thread reaches after
/// its phase 4.
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
            // SAFETY: phase 1: every thread touches only its own disjoint range of the
            // positions, which nobody reads (the previous phase 3 ended with a barrier).
            let own = unsafe {
                std::slice::from_raw_parts_mut(c.pos.get().add(range.start), range.len())
            };
            c.integrator
                .baoa(own, vel, force, step as u32, range.start as u32);
            if c.grid.is_some() {
                // SAFETY: as for the positions.
                let un = unsafe {
                    std::slice::from_raw_parts_mut(c.unwrapped.get().add(range.start), range.len())
                };
                if displace(own, pos_ref, un, &c.kernel) > c.limit2 {
                    c.rebuild.store(true, Ordering::Relaxed);
                }
            }
        }
        c.barrier.wait();
        // SAFETY: phases 2 and 3 only read the positions.
        let pos = unsafe { std::slice::from_raw_parts(c.pos.get() as *const [f64; 3], c.n) };
        let last = s + 1 == c.steps;
        let (e, w) = if let Some(grid) = c.grid {
            let rebuilt = c.rebuild.load(Ordering::Relaxed);
            if rebuilt {
                if t == 0 {
                    // SAFETY: only thread 0 touches the grid until the next barrier.
                    unsafe { (*grid.get()).build(pos) };
                    rebuilds += 1;
                }
                c.barrier.wait();
                if t == 0 {
                    // Every thread read the flag before the barrier above; the next
                    // writes follow the barrier that ends phase 3.
                    c.rebuild.store(false, Ordering::Relaxed);
                }
                // SAFETY: the grid is only read until the next step's phase 2.
                let grid = unsafe { &*grid.get() };
                chunk.list.build(range.clone(), grid, c.r_list2);
                pos_ref.copy_from_slice(&pos[range.clone()]);
            }
            // Right after a build the lists hold the shifts of the wrapped positions.
            let x = if rebuilt {
                pos
            } else {
                // SAFETY: phase 3 only reads the unwrapped positions (written in phase 1).
                unsafe { std::slice::from_raw_parts(c.unwrapped.get() as *const [f64; 3], c.n) }
            };
            // SAFETY: phase 3: only this thread touches its own buffer.
            let buf = unsafe { std::slice::from_raw_parts_mut(c.bufs[t].get(), c.n) };
            buf.fill([0.0; 3]);
            if last {
                forces_half::<true>(x, range.clone(), &chunk.list, buf, &c.kernel)
            } else {
                forces_half::<false>(x, range.clone(), &chunk.list, buf, &c.kernel)
            }
        } else if last {
            forces_all_rows::<true>(pos, range.clone(), force, &c.kernel)
        } else {
            forces_all_rows::<false>(pos, range.clone(), force, &c.kernel)
        };
        if last {
            chunk.energy = e;
            chunk.virial = w;
        }
        c.barrier.wait();
        if c.grid.is_some() {
            force.fill([0.0; 3]);
            for b in c.bufs {
                // SAFETY: phase 4: the buffers are only read.
                let b = unsafe {
                    std::slice::from_raw_parts(
                        b.get().add(range.start) as *const [f64; 3],
                        range.len(),
                    )
                };
                for (f, x) in force.iter_mut().zip(b) {
                    for a in 0..3 {
                        f[a] += x[a];
                    }
                }
            }
        }
        c.integrator.b(vel, force);
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
    /// One chunk per thread; a single chunk means the serial path.
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
    /// to all pairs when L < 3 (r_c + skin). `threads` (clamped to 1..=N) splits the
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
        assert!(n < 1 << (32 - CODE_BITS), "too many particles");
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
                    unwrapped: pos.clone(),
                })
            }
        };
        let threads = threads.clamp(1, n.max(1));
        let size = n.div_ceil(threads).max(1);
        let count = n.div_ceil(size).max(1);
        let buf_len = if count > 1 && verlet.is_some() { n } else { 0 };
        let chunks = (0..count)
            .map(|c| Chunk {
                range: c * size..((c + 1) * size).min(n),
                list: NeighList::default(),
                buf: vec![[0.0; 3]; buf_len],
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
        md.rebuild();
        md.serial_forces::<true>();
        md
    }

    /// Rebuilds the grid and every chunk's half list on this thread.
    fn rebuild(&mut self) {
        let Some(v) = &mut self.verlet else { return };
        v.grid.build(&self.pos);
        for ch in &mut self.chunks {
            ch.list.build(ch.range.clone(), &v.grid, v.r_list2);
        }
        v.pos_ref.copy_from_slice(&self.pos);
        v.unwrapped.copy_from_slice(&self.pos);
    }

    /// Forces (and, if `E`, energy and virial) at the current positions, on this thread.
    fn serial_forces<const E: bool>(&mut self) {
        let k = &self.kernel;
        let (e, w) = if let Some(v) = &self.verlet {
            self.force.fill([0.0; 3]);
            let (mut e, mut w) = (0.0, 0.0);
            for ch in &self.chunks {
                let x = &v.unwrapped;
                let (de, dw) = forces_half::<E>(x, ch.range.clone(), &ch.list, &mut self.force, k);
                e += de;
                w += dw;
            }
            (e, w)
        } else {
            forces_all_half::<E>(&self.pos, &mut self.force, k)
        };
        if E {
            self.energy = e;
            self.virial = w;
        }
    }

    /// One step on this thread.
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
            if displace(&self.pos, &v.pos_ref, &mut v.unwrapped, &self.kernel) > v.limit2 {
                self.rebuilds += 1;
                self.rebuild();
            }
        }
        self.serial_forces::<E>();
        self.integrator.b(&mut self.vel, &self.force);
    }

    /// Runs `steps` BAOAB steps (B, A, O, A, forces, B) exactly as [`Baoab::baoa`] and
    /// [`Baoab::b`] do, with the same Philox counters (particle index i, i.e.
    /// `first_index` 0, and a step counter starting at 0 at construction and incremented
    /// per step, carried over between calls).
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
        } else {
            self.parallel_run(steps);
        }
    }

    /// `run` on one scoped thread per chunk (the calling thread takes chunk 0).
    fn parallel_run(&mut self, steps: u64) {
        let barrier = SpinBarrier::new(self.chunks.len());
        let rebuild = AtomicBool::new(false);
        let bufs: Vec<SyncPtr<[f64; 3]>> = self
            .chunks
            .iter_mut()
            .map(|ch| SyncPtr(ch.buf.as_mut_ptr()))
            .collect();
        let (grid, unwrapped, r_list2, limit2, mut pos_ref) = match &mut self.verlet {
            Some(v) => (
                Some(SyncPtr(&mut v.grid as *mut Grid)),
                SyncPtr(v.unwrapped.as_mut_ptr()),
                v.r_list2,
                v.limit2,
                &mut v.pos_ref[..],
            ),
            None => (None, SyncPtr(std::ptr::null_mut()), 0.0, 0.0, &mut [][..]),
        };
        let common = Common {
            pos: SyncPtr(self.pos.as_mut_ptr()),
            n: self.pos.len(),
            grid,
            unwrapped,
            bufs: &bufs,
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

    /// Virial W = sum over pairs i < j of r_ij . f_ij at the current positions.
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
    /// [`CpuMd::new`] is not counted); always 0 without a neighbour list.
    pub fn neighbor_rebuilds(&self) -> u64 {
        self.rebuilds
    }

    /// Whether a Verlet neighbour list is in use (false for all pairs, requested or
    /// fallen back to).
    pub fn uses_neighbor_list(&self) -> bool {
        self.verlet.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::integrate::Baoab;
    use crate::reference::lj_forces::lj_forces;
    use crate::reference::rng::{gaussian3, philox4x32_10};
    use crate::scene::LjParams;

    /// `cells^3` simple-cubic sites (or 4 per fcc cell), jittered by up to `jitter`,
    /// wrapped into [0, L).
    fn lattice(cells: usize, fcc: bool, box_length: f64, jitter: f64, seed: u32) -> Vec<[f64; 3]> {
        let a = box_length / cells as f64;
        let basis: &[[f64; 3]] = if fcc {
            &[
                [0.0, 0.0, 0.0],
                [0.5, 0.5, 0.0],
                [0.5, 0.0, 0.5],
                [0.0, 0.5, 0.5],
            ]
        } else {
            &[[0.0, 0.0, 0.0]]
        };
        let mut out = Vec::new();
        for z in 0..cells {
            for y in 0..cells {
                for x in 0..cells {
                    for b in basis {
                        let i = out.len() as u32;
                        let r = philox4x32_10([i, seed, 1, 0], [7, 9]);
                        let c = [x, y, z];
                        let p: [f64; 3] = std::array::from_fn(|k| {
                            let u = r[k] as f64 / u32::MAX as f64 - 0.5;
                            let v = (c[k] as f64 + b[k] + 0.1) * a + 2.0 * jitter * u;
                            v - box_length * (v / box_length).floor()
                        });
                        out.push(p);
                    }
                }
            }
        }
        out
    }

    /// Maxwell velocities at `kt` (unit mass), zero total momentum.
    fn maxwell(n: usize, kt: f64, seed: u32) -> Vec<[f64; 3]> {
        let mut v: Vec<[f64; 3]> = (0..n as u32)
            .map(|i| gaussian3(philox4x32_10([i, seed, 2, 0], [3, 5])).map(|g| g * kt.sqrt()))
            .collect();
        for k in 0..3 {
            let mean = v.iter().map(|x| x[k]).sum::<f64>() / n as f64;
            v.iter_mut().for_each(|x| x[k] -= mean);
        }
        v
    }

    fn params(box_length: f64, rc: Option<f64>) -> LjParams {
        LjParams {
            epsilon: 1.0,
            sigma: 1.0,
            cutoff: rc,
            shift: true,
            box_length,
        }
    }

    fn integrator(box_length: f64, dt: f64, friction: f64, kt: f64) -> Baoab {
        Baoab {
            dt,
            friction,
            kt,
            mass: 1.0,
            box_length,
            key: [0x1234_5678, 0x9abc_def0],
        }
    }

    fn max_diff(a: &[[f64; 3]], b: &[[f64; 3]]) -> f64 {
        a.iter()
            .zip(b)
            .flat_map(|(x, y)| (0..3).map(move |k| (x[k] - y[k]).abs()))
            .fold(0.0, f64::max)
    }

    /// 64 particles at rho ~ 0.19, r_c = 2, skin 0.1 (3 cells per side in L = 7).
    fn small_system() -> (Vec<[f64; 3]>, Vec<[f64; 3]>, LjParams, Baoab) {
        let l = 7.0;
        let pos = lattice(4, false, l, 0.2, 1);
        let vel = maxwell(pos.len(), 1.5, 1);
        (
            pos,
            vel,
            params(l, Some(2.0)),
            integrator(l, 0.005, 1.0, 1.5),
        )
    }

    #[test]
    fn cell_list_and_all_pairs_follow_the_reference_steps() {
        let (pos0, vel0, lj, integ) = small_system();
        let steps = 20;
        let (mut pos, mut vel) = (pos0.clone(), vel0.clone());
        let mut f = lj_forces(&pos, &lj);
        for s in 0..steps {
            integ.baoa(&mut pos, &mut vel, &f.forces, s as u32, 0);
            f = lj_forces(&pos, &lj);
            integ.b(&mut vel, &f.forces);
        }
        let skin = 0.1;
        for search in [CpuPairSearch::CellList { skin }, CpuPairSearch::AllPairs] {
            for threads in [1, 3] {
                let mut md = CpuMd::new(pos0.clone(), vel0.clone(), lj, integ, search, threads);
                assert_eq!(md.uses_neighbor_list(), search != CpuPairSearch::AllPairs);
                // Two calls, to check the step counter carries over.
                md.run(7);
                md.run(steps - 7);
                let dx = max_diff(md.positions(), &pos);
                let dv = max_diff(md.velocities(), &vel);
                assert!(
                    dx < 1e-9 && dv < 1e-9,
                    "{search:?} x{threads}: dx {dx:e} dv {dv:e}"
                );
                let de = (md.potential_energy() - f.total_energy()).abs();
                let dw = (md.virial() - f.total_virial()).abs();
                assert!(de < 1e-9 && dw < 1e-9, "{search:?}: dE {de:e} dW {dw:e}");
                if search != CpuPairSearch::AllPairs {
                    assert!(md.neighbor_rebuilds() >= 1, "no rebuild happened");
                }
            }
        }
    }

    #[test]
    fn small_box_falls_back_to_all_pairs() {
        let l = 6.0;
        let pos = lattice(3, false, l, 0.1, 2);
        let vel = maxwell(pos.len(), 1.0, 2);
        let lj = params(l, Some(2.5));
        let md = CpuMd::new(
            pos.clone(),
            vel,
            lj,
            integrator(l, 0.005, 1.0, 1.0),
            CpuPairSearch::CellList { skin: 0.3 },
            1,
        );
        assert!(!md.uses_neighbor_list());
        assert!((md.potential_energy() - lj_forces(&pos, &lj).total_energy()).abs() < 1e-10);
    }

    #[test]
    fn two_threads_match_one() {
        let l = 8.5;
        let pos = lattice(5, true, l, 0.05, 3); // 500 particles, rho ~ 0.81
        let vel = maxwell(pos.len(), 2.0, 3);
        let lj = params(l, Some(2.5));
        let integ = integrator(l, 0.005, 1.0, 2.0);
        for search in [
            CpuPairSearch::CellList { skin: 0.3 },
            CpuPairSearch::AllPairs,
        ] {
            let mut one = CpuMd::new(pos.clone(), vel.clone(), lj, integ, search, 1);
            let mut two = CpuMd::new(pos.clone(), vel.clone(), lj, integ, search, 2);
            one.run(50);
            two.run(50);
            assert_eq!(one.neighbor_rebuilds(), two.neighbor_rebuilds());
            let dx = max_diff(one.positions(), two.positions());
            let dv = max_diff(one.velocities(), two.velocities());
            assert!(dx < 1e-12 && dv < 1e-12, "{search:?}: dx {dx:e} dv {dv:e}");
            let de = (one.potential_energy() - two.potential_energy()).abs();
            assert!(de < 1e-9, "dE {de:e}");
        }
    }

    #[test]
    fn forces_stay_exact_across_rebuilds_and_wrapping() {
        let l = 8.5;
        let pos = lattice(5, true, l, 0.05, 6);
        let vel = maxwell(pos.len(), 3.0, 6);
        let lj = params(l, Some(2.5));
        let integ = integrator(l, 0.005, 0.5, 3.0);
        for threads in [1, 2] {
            let search = CpuPairSearch::CellList { skin: 0.2 };
            let mut md = CpuMd::new(pos.clone(), vel.clone(), lj, integ, search, threads);
            for _ in 0..3 {
                md.run(97);
                let f = lj_forces(md.positions(), &lj);
                let df = max_diff(md.forces(), &f.forces);
                let de = (md.potential_energy() - f.total_energy()).abs();
                let dw = (md.virial() - f.total_virial()).abs();
                assert!(
                    df < 1e-9 && de < 1e-9 && dw < 1e-9,
                    "x{threads}: {df:e} {de:e} {dw:e}"
                );
            }
            assert!(md.neighbor_rebuilds() > 20, "{}", md.neighbor_rebuilds());
            assert_eq!(md.steps_done(), 291);
        }
    }

    /// NVE run of 2000 steps from a melting fcc lattice at rho 0.8 (kT = 2 initially),
    /// r_c = 2.5 shifted, dt = 0.004, total energy sampled every 10 steps. Returns the
    /// drift per particle (mean of the last 50 samples minus mean of the first 50), the
    /// largest deviation per particle from the initial energy, and whether a neighbour
    /// list was used.
    fn nve(cells: usize, search: CpuPairSearch, threads: usize) -> (f64, f64, bool) {
        let n = 4 * cells.pow(3);
        let l = (n as f64 / 0.8).cbrt();
        let pos = lattice(cells, true, l, 0.0, 4);
        let vel = maxwell(n, 2.0, 4);
        let lj = params(l, Some(2.5));
        let integ = integrator(l, 0.004, 0.0, 2.0);
        let mut md = CpuMd::new(pos, vel, lj, integ, search, threads);
        let e0 = md.potential_energy() + md.kinetic_energy();
        let e: Vec<f64> = (0..200)
            .map(|_| {
                md.run(10);
                (md.potential_energy() + md.kinetic_energy() - e0) / n as f64
            })
            .collect();
        let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
        let drift = (mean(&e[150..]) - mean(&e[..50])).abs();
        let worst = e.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        (drift, worst, md.uses_neighbor_list())
    }

    #[test]
    fn nve_conserves_energy() {
        // N = 256: L = 6.84 < 3 (r_c + skin), all pairs.
        let (drift, worst, listed) = nve(4, CpuPairSearch::CellList { skin: 0.3 }, 1);
        assert!(!listed);
        assert!(
            drift < 1e-3 && worst < 3e-3,
            "N = 256: drift {drift:e}, worst {worst:e}"
        );
        // N = 500: L = 8.55, 3 cells per side, Verlet list.
        let (drift, worst, listed) = nve(5, CpuPairSearch::CellList { skin: 0.3 }, 1);
        assert!(listed);
        assert!(
            drift < 1e-3 && worst < 3e-3,
            "N = 500: drift {drift:e}, worst {worst:e}"
        );
    }

    /// Throughput for the benchmark setting (N = 4000, rho = 0.8, kT = 2, r_c = 2.5,
    /// skin 0.3, friction 1, dt = 0.005). Run with
    /// `cargo test --release cpu_md::tests::throughput -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn throughput() {
        let n = 4000;
        let l = (n as f64 / 0.8).cbrt();
        let pos = lattice(10, true, l, 0.0, 5);
        let vel = maxwell(n, 2.0, 5);
        let lj = params(l, Some(2.5));
        let integ = integrator(l, 0.005, 1.0, 2.0);
        let steps = 400;
        for threads in [1, 2] {
            let search = CpuPairSearch::CellList { skin: 0.3 };
            let mut md = CpuMd::new(pos.clone(), vel.clone(), lj, integ, search, threads);
            md.run(500);
            let r0 = md.neighbor_rebuilds();
            // Best and mean of 5 timings (the best is the least disturbed by other load).
            let t: Vec<f64> = (0..5)
                .map(|_| {
                    let t = std::time::Instant::now();
                    md.run(steps);
                    t.elapsed().as_secs_f64()
                })
                .collect();
            let best = t.iter().cloned().fold(f64::INFINITY, f64::min);
            let mean = t.iter().sum::<f64>() / t.len() as f64;
            let rate = |s: f64| (n as u64 * steps) as f64 / s;
            println!(
                "threads {threads}: best {:.3e}, mean {:.3e} particle-steps/s ({:.0} us/step best), \
                 {} rebuilds in {} steps, T = {:.3}, U/N = {:.4}",
                rate(best),
                rate(mean),
                1e6 * best / steps as f64,
                md.neighbor_rebuilds() - r0,
                5 * steps,
                2.0 * md.kinetic_energy() / (3.0 * n as f64),
                md.potential_energy() / n as f64,
            );
        }
    }
}
