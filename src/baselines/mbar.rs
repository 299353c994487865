//! The multistate Bennett acceptance ratio (MBAR) estimator, solved on the host in f64.
//!
//! Reference: M. R. Shirts, J. D. Chodera, "Statistically optimal analysis of samples from
//! multiple equilibrium states", J. Chem. Phys. 129, 124105 (2008), doi:10.1063/1.2978177.
//!
//! Written here rather than taken from a crate: the only Rust MBAR crate found on docs.rs
//! (`mbar-rs` 0.1.0) is an unmaintained single release that needs a nightly compiler and
//! `ndarray`; the estimator is small enough to own.
//!
//! # Inputs and conventions
//!
//! `u_kn[k][n]` is the reduced energy `beta_k U_k(x_n)` (plus `beta_k p V` etc. where it
//! applies) of the pooled sample `n` evaluated in state `k`; `n_k[k]` is the number of pooled
//! samples drawn from state `k` (their order in the pool does not matter). States with
//! `n_k = 0` are unsampled target states: they take no part in the self-consistent solution
//! and their free energies and uncertainties are computed from the converged weights.
//! `+inf` energies (a sample impossible in a state) are allowed; `NaN` and `-inf` are not.
//!
//! # Method
//!
//! The reduced free energies `f_k` solve the self-consistent equations (Shirts & Chodera,
//! eq. 11) `f_i = -ln sum_n exp(-u_in) / sum_k N_k exp(f_k - u_kn)`, the stationary point of
//! the convex function `F(f) = sum_n ln sum_k N_k exp(f_k - u_kn) - sum_k N_k f_k`. Every
//! iteration computes a self-consistent update and a Newton-Raphson update of `F` (with the
//! gauge `f` of the first sampled state fixed at 0) and keeps the one with the smaller
//! gradient, as pymbar's "adaptive" solver does; all sums over exponentials are log-sum-exp.
//! Iteration stops when every normalisation `sum_n W_nk` of a sampled state is 1 to
//! [`TOLERANCE`] (or stops improving below [`ROUNDOFF_FLOOR`]).
//!
//! The asymptotic covariance is Shirts & Chodera's `Theta = W^T (I - W N W^T)^+ W` (their
//! eq. D4), evaluated without an SVD through the equivalent `K x K` form
//! `Theta = (I - G C)^-1 G - 1 1^T / N_tot`, with `G = W^T W` and
//! `C = N - (N 1)(N 1)^T / N_tot` (the pseudo-inverse's null vector is removed exactly; the
//! constant term cancels in every difference `f_i - f_j`). The overlap matrix is the standard
//! `O = W^T W N`; its rows sum to 1.

// Dense K x K linear algebra below reads most clearly with explicit indices.
#![allow(clippy::needless_range_loop)]

use serde::{Deserialize, Serialize};

/// Convergence tolerance on `max_k |sum_n W_nk - 1|` over the sampled states.
pub const TOLERANCE: f64 = 1e-12;

/// If no update improves the gradient any more and it is already below this, the solution is
/// at the round-off floor of the sums and is accepted.
pub const ROUNDOFF_FLOOR: f64 = 1e-9;

/// Most solver iterations before [`MbarError::NotConverged`].
pub const MAX_ITERATIONS: usize = 10_000;

/// Neighbouring states whose overlap is below this are usually poorly estimated (the
/// threshold pymbar's documentation suggests).
pub const DEFAULT_OVERLAP_THRESHOLD: f64 = 0.03;

/// Why MBAR could not be run or did not converge.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MbarError {
    /// `n_k` is empty.
    #[error("MBAR needs at least one state (n_k is empty)")]
    NoStates,
    /// `u_kn` and `n_k` disagree on the number of states.
    #[error("u_kn has {rows} rows (states) but n_k has {states} entries")]
    StateCount {
        /// Rows of `u_kn`.
        rows: usize,
        /// Entries of `n_k`.
        states: usize,
    },
    /// A row of `u_kn` does not hold one energy per pooled sample.
    #[error("row {state} of u_kn has {len} energies, but the counts n_k add up to {expected}")]
    SampleCount {
        /// The state (row).
        state: usize,
        /// Its length.
        len: usize,
        /// `sum_k n_k`.
        expected: usize,
    },
    /// A flat `u_kn` is not `K x N` long.
    #[error("flat u_kn has {len} energies, expected {states} states x {samples} samples")]
    FlatLength {
        /// Its length.
        len: usize,
        /// Number of states.
        states: usize,
        /// `sum_k n_k`.
        samples: usize,
    },
    /// Every `n_k` is zero.
    #[error("no samples: every entry of n_k is zero")]
    NoSamples,
    /// A reduced energy is `NaN` or `-inf`.
    #[error("reduced energy u_kn[{state}][{sample}] = {value} (NaN and -inf are not allowed)")]
    BadEnergy {
        /// The state (row).
        state: usize,
        /// The sample (column).
        sample: usize,
        /// The value.
        value: f64,
    },
    /// A sample has infinite energy in every sampled state, so none of them can have drawn it.
    #[error("sample {sample} has infinite reduced energy in every sampled state")]
    ImpossibleSample {
        /// The sample (column).
        sample: usize,
    },
    /// An unsampled state gives every sample infinite energy: its free energy is infinite.
    #[error("state {state} has infinite reduced energy for every sample: no overlap at all")]
    UnreachableState {
        /// The state.
        state: usize,
    },
    /// The solver did not reach the tolerance.
    #[error(
        "MBAR did not converge in {iterations} iterations (normalisation residual {residual:e})"
    )]
    NotConverged {
        /// Iterations done.
        iterations: usize,
        /// Last `max_k |sum_n W_nk - 1|`.
        residual: f64,
    },
}

/// Free energies of every state from MBAR, with their uncertainties and overlaps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MbarResult {
    /// Reduced free energies `f_k - f_0` (in kT of each state's reduced energy), `f_0 = 0`.
    pub free_energies: Vec<f64>,
    /// Asymptotic one-sigma uncertainties of `f_k - f_0` (0 for state 0).
    pub uncertainties: Vec<f64>,
    /// Asymptotic covariance `Theta` of the `f_k` (only differences are meaningful:
    /// `var(f_i - f_j) = Theta_ii + Theta_jj - 2 Theta_ij`); infinite if singular.
    pub covariance: Vec<Vec<f64>>,
    /// Overlap matrix `O = W^T W N` (`O[i][j]`; rows sum to 1, columns of unsampled states
    /// are 0).
    pub overlap: Vec<Vec<f64>>,
    /// Solver iterations used.
    pub iterations: usize,
    /// The sample counts `N_k` the result was computed from.
    pub sample_counts: Vec<usize>,
}

impl MbarResult {
    /// One-sigma uncertainty of `f_j - f_i`.
    pub fn difference_uncertainty(&self, i: usize, j: usize) -> f64 {
        let c = &self.covariance;
        (c[i][i] + c[j][j] - 2.0 * c[i][j]).max(0.0).sqrt()
    }

    /// Overlap of each neighbouring pair `(i, i + 1)`: the smaller of `O[i][i+1]` and
    /// `O[i+1][i]`, leaving out a direction whose target state is unsampled (its column of
    /// `O` is 0 by construction); `NaN` if both states are unsampled.
    pub fn neighbour_overlaps(&self) -> Vec<f64> {
        let n = &self.sample_counts;
        (1..self.overlap.len())
            .map(|j| {
                let i = j - 1;
                let mut v = f64::INFINITY;
                if n[j] > 0 {
                    v = v.min(self.overlap[i][j]);
                }
                if n[i] > 0 {
                    v = v.min(self.overlap[j][i]);
                }
                if v.is_finite() {
                    v
                } else {
                    f64::NAN
                }
            })
            .collect()
    }

    /// The smallest neighbour overlap (see [`Self::neighbour_overlaps`]) as `(i, overlap)`
    /// for the pair `(i, i + 1)`; `None` with fewer than two states.
    pub fn min_neighbour_overlap(&self) -> Option<(usize, f64)> {
        self.neighbour_overlaps()
            .into_iter()
            .enumerate()
            .filter(|(_, v)| !v.is_nan())
            .min_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// A warning naming every neighbouring pair whose overlap is below `threshold`
    /// (e.g. [`DEFAULT_OVERLAP_THRESHOLD`]); `None` when all pairs overlap well enough.
    pub fn warn_overlap(&self, threshold: f64) -> Option<String> {
        let poor: Vec<String> = self
            .neighbour_overlaps()
            .iter()
            .enumerate()
            .filter(|(_, v)| **v < threshold)
            .map(|(i, v)| format!("{i}-{} ({v:.2e})", i + 1))
            .collect();
        if poor.is_empty() {
            None
        } else {
            Some(format!(
                "MBAR: poor overlap (< {threshold}) between neighbouring states {}; their free \
                 energy differences are unreliable: add intermediate states or samples",
                poor.join(", ")
            ))
        }
    }
}

/// MBAR on a flat, row-major `K x N` array of reduced energies (`u_kn[k * N + n]`); see
/// [`mbar`].
pub fn mbar_flat(u_kn: &[f64], n_k: &[usize]) -> Result<MbarResult, MbarError> {
    let (states, samples) = (n_k.len(), n_k.iter().sum::<usize>());
    if states == 0 {
        return Err(MbarError::NoStates);
    }
    if u_kn.len() != states * samples {
        return Err(MbarError::FlatLength {
            len: u_kn.len(),
            states,
            samples,
        });
    }
    if samples == 0 {
        return Err(MbarError::NoSamples);
    }
    let rows: Vec<Vec<f64>> = u_kn.chunks(samples).map(<[f64]>::to_vec).collect();
    mbar(&rows, n_k)
}

/// Runs MBAR: `u_kn[k][n]` is the reduced energy of pooled sample `n` in state `k`, `n_k[k]`
/// the number of samples drawn from state `k` (0 for an unsampled target state).
///
/// Returns the free energies relative to state 0, their asymptotic uncertainties and
/// covariance, and the overlap matrix.
pub fn mbar(u_kn: &[Vec<f64>], n_k: &[usize]) -> Result<MbarResult, MbarError> {
    let solver = Solver::new(u_kn, n_k)?;
    let k_states = n_k.len();
    let mut f = vec![0.0; k_states];
    let (mut log_d, mut residual) = solver.evaluate(&f);
    let mut iterations = 0;
    while residual > TOLERANCE {
        if iterations >= MAX_ITERATIONS {
            return Err(MbarError::NotConverged {
                iterations,
                residual,
            });
        }
        iterations += 1;
        let f_sc = solver.self_consistent(&f, &log_d);
        let (log_d_sc, res_sc) = solver.evaluate(&f_sc);
        let mut best = (f_sc, log_d_sc, res_sc);
        if let Some(f_nr) = solver.newton(&f, &log_d) {
            let (log_d_nr, res_nr) = solver.evaluate(&f_nr);
            if res_nr < best.2 {
                best = (f_nr, log_d_nr, res_nr);
            }
        }
        if best.2 >= residual && residual < ROUNDOFF_FLOOR {
            break;
        }
        (f, log_d, residual) = best;
    }
    solver.finish(&log_d, iterations)
}

/// The validated problem and the pieces of the MBAR equations.
struct Solver<'a> {
    u: &'a [Vec<f64>],
    /// Indices of the states with samples.
    sampled: Vec<usize>,
    /// `N_k` as f64.
    counts: Vec<f64>,
    /// `ln N_k` (only read for sampled states).
    log_counts: Vec<f64>,
    /// Total number of samples.
    samples: usize,
}

/// `ln sum_i exp(x_i)`, with the largest term factored out; `-inf` for no (finite) terms.
fn log_sum_exp(x: &[f64]) -> f64 {
    let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + x.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
}

impl<'a> Solver<'a> {
    fn new(u: &'a [Vec<f64>], n_k: &[usize]) -> Result<Self, MbarError> {
        if n_k.is_empty() {
            return Err(MbarError::NoStates);
        }
        if u.len() != n_k.len() {
            return Err(MbarError::StateCount {
                rows: u.len(),
                states: n_k.len(),
            });
        }
        let samples: usize = n_k.iter().sum();
        if samples == 0 {
            return Err(MbarError::NoSamples);
        }
        for (state, row) in u.iter().enumerate() {
            if row.len() != samples {
                return Err(MbarError::SampleCount {
                    state,
                    len: row.len(),
                    expected: samples,
                });
            }
            if let Some((sample, &value)) = row
                .iter()
                .enumerate()
                .find(|(_, v)| v.is_nan() || **v == f64::NEG_INFINITY)
            {
                return Err(MbarError::BadEnergy {
                    state,
                    sample,
                    value,
                });
            }
        }
        let sampled: Vec<usize> = (0..n_k.len()).filter(|&k| n_k[k] > 0).collect();
        if let Some(sample) =
            (0..samples).find(|&n| sampled.iter().all(|&k| u[k][n] == f64::INFINITY))
        {
            return Err(MbarError::ImpossibleSample { sample });
        }
        Ok(Self {
            u,
            counts: n_k.iter().map(|&c| c as f64).collect(),
            log_counts: n_k.iter().map(|&c| (c as f64).ln()).collect(),
            sampled,
            samples,
        })
    }

    /// `ln sum_{k sampled} N_k exp(f_k - u_kn)` for every sample `n`.
    fn log_denominators(&self, f: &[f64]) -> Vec<f64> {
        let mut terms = vec![0.0; self.sampled.len()];
        (0..self.samples)
            .map(|n| {
                for (t, &k) in terms.iter_mut().zip(&self.sampled) {
                    *t = self.log_counts[k] + f[k] - self.u[k][n];
                }
                log_sum_exp(&terms)
            })
            .collect()
    }

    /// The self-consistent value `-ln sum_n exp(-u_kn - ln D_n)` of `f_k` (any state).
    fn free_energy(&self, k: usize, log_d: &[f64]) -> f64 {
        let terms: Vec<f64> = self.u[k].iter().zip(log_d).map(|(u, d)| -u - d).collect();
        -log_sum_exp(&terms)
    }

    /// Log denominators at `f` and the residual `max_k |sum_n W_nk - 1|` (sampled `k`).
    fn evaluate(&self, f: &[f64]) -> (Vec<f64>, f64) {
        let log_d = self.log_denominators(f);
        let residual = self
            .sampled
            .iter()
            .map(|&k| {
                let s: f64 = self.u[k]
                    .iter()
                    .zip(&log_d)
                    .map(|(u, d)| (f[k] - u - d).exp())
                    .sum();
                (s - 1.0).abs()
            })
            .fold(0.0, f64::max);
        (
            log_d,
            if residual.is_nan() {
                f64::INFINITY
            } else {
                residual
            },
        )
    }

    /// Shifts `f` so that the first sampled state has `f = 0`.
    fn normalise(&self, f: &mut [f64]) {
        let f0 = f[self.sampled[0]];
        for &k in &self.sampled {
            f[k] -= f0;
        }
    }

    /// One self-consistent update (Shirts & Chodera eq. 11) of the sampled `f_k`.
    fn self_consistent(&self, f: &[f64], log_d: &[f64]) -> Vec<f64> {
        let mut out = f.to_vec();
        for &k in &self.sampled {
            out[k] = self.free_energy(k, log_d);
        }
        self.normalise(&mut out);
        out
    }

    /// One Newton-Raphson step on the convex MBAR objective, first sampled state held fixed;
    /// `None` when the reduced Hessian is not numerically positive definite.
    fn newton(&self, f: &[f64], log_d: &[f64]) -> Option<Vec<f64>> {
        let s = self.sampled.len();
        if s < 2 {
            return None;
        }
        // Gradient g_a = N_a (sum_n W_na - 1); Hessian H_ab = -N_a N_b sum_n W_na W_nb (a != b),
        // H_aa = -sum_{b != a} H_ab (rows of H sum to zero because sum_k N_k W_nk = 1), which
        // avoids the cancellation in N_a sum W_na - N_a^2 sum W_na^2.
        let mut grad = vec![0.0; s];
        let mut hess = vec![vec![0.0; s]; s];
        let mut w = vec![0.0; s];
        for n in 0..self.samples {
            for (a, &k) in self.sampled.iter().enumerate() {
                w[a] = (f[k] - self.u[k][n] - log_d[n]).exp();
                grad[a] += w[a];
            }
            for a in 0..s {
                for b in (a + 1)..s {
                    hess[a][b] += w[a] * w[b];
                }
            }
        }
        for a in 0..s {
            let na = self.counts[self.sampled[a]];
            grad[a] = na * (grad[a] - 1.0);
            for b in (a + 1)..s {
                let v = -na * self.counts[self.sampled[b]] * hess[a][b];
                hess[a][b] = v;
                hess[b][a] = v;
            }
        }
        for a in 0..s {
            hess[a][a] = -(0..s).filter(|&b| b != a).map(|b| hess[a][b]).sum::<f64>();
        }
        // Reduced system without the first sampled state: H_red x = -g_red.
        let h_red: Vec<Vec<f64>> = hess[1..].iter().map(|r| r[1..].to_vec()).collect();
        let rhs: Vec<f64> = grad[1..].iter().map(|g| -g).collect();
        let step = cholesky_solve(h_red, rhs)?;
        let mut out = f.to_vec();
        for (a, x) in step.iter().enumerate() {
            out[self.sampled[a + 1]] += x;
        }
        self.normalise(&mut out);
        out.iter().all(|v| v.is_finite()).then_some(out)
    }

    /// Free energies of every state, covariance and overlap from the converged denominators.
    fn finish(&self, log_d: &[f64], iterations: usize) -> Result<MbarResult, MbarError> {
        let k_states = self.u.len();
        let f_all: Vec<f64> = (0..k_states).map(|k| self.free_energy(k, log_d)).collect();
        if let Some(state) = f_all.iter().position(|v| !v.is_finite()) {
            return Err(MbarError::UnreachableState { state });
        }
        // G = W^T W with W_nk = exp(f_k - u_kn - ln D_n).
        let mut g = vec![vec![0.0; k_states]; k_states];
        let mut w = vec![0.0; k_states];
        for n in 0..self.samples {
            for k in 0..k_states {
                w[k] = (f_all[k] - self.u[k][n] - log_d[n]).exp();
            }
            for a in 0..k_states {
                for b in a..k_states {
                    g[a][b] += w[a] * w[b];
                }
            }
        }
        for a in 0..k_states {
            for b in 0..a {
                g[a][b] = g[b][a];
            }
        }
        let overlap: Vec<Vec<f64>> = g
            .iter()
            .map(|row| row.iter().zip(&self.counts).map(|(x, n)| x * n).collect())
            .collect();
        let covariance = self.covariance(&g);
        let uncertainties = (0..k_states)
            .map(|k| {
                let c = &covariance;
                (c[k][k] + c[0][0] - 2.0 * c[k][0]).max(0.0).sqrt()
            })
            .collect();
        Ok(MbarResult {
            free_energies: f_all.iter().map(|v| v - f_all[0]).collect(),
            uncertainties,
            covariance,
            overlap,
            iterations,
            sample_counts: self.counts.iter().map(|&c| c as usize).collect(),
        })
    }

    /// `Theta = (I - G C)^-1 G - 1 1^T / N_tot` with `C = N - (N 1)(N 1)^T / N_tot`, which
    /// equals Shirts & Chodera's `W^T (I - W N W^T)^+ W` (see the module documentation).
    fn covariance(&self, g: &[Vec<f64>]) -> Vec<Vec<f64>> {
        let k_states = g.len();
        let total = self.samples as f64;
        let n = &self.counts;
        let mut a = vec![vec![0.0; k_states]; k_states];
        for i in 0..k_states {
            for j in 0..k_states {
                let gc: f64 = (0..k_states)
                    .map(|m| {
                        let c_mj = if m == j { n[m] } else { 0.0 } - n[m] * n[j] / total;
                        g[i][m] * c_mj
                    })
                    .sum();
                a[i][j] = if i == j { 1.0 } else { 0.0 } - gc;
            }
        }
        let Some(x) = lu_solve(a, g.to_vec()) else {
            return vec![vec![f64::INFINITY; k_states]; k_states];
        };
        let mut theta = vec![vec![0.0; k_states]; k_states];
        for i in 0..k_states {
            for j in 0..k_states {
                theta[i][j] = 0.5 * (x[i][j] + x[j][i]) - 1.0 / total;
            }
        }
        if theta.iter().flatten().all(|v| v.is_finite()) {
            theta
        } else {
            vec![vec![f64::INFINITY; k_states]; k_states]
        }
    }
}

/// Solves `A x = b` for symmetric positive definite `A` by Cholesky; `None` if a pivot is not
/// positive.
fn cholesky_solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for j in 0..n {
        let d = a[j][j] - (0..j).map(|k| a[j][k] * a[j][k]).sum::<f64>();
        if d.is_nan() || d <= 0.0 || !d.is_finite() {
            return None;
        }
        let l = d.sqrt();
        a[j][j] = l;
        for i in (j + 1)..n {
            let s = a[i][j] - (0..j).map(|k| a[i][k] * a[j][k]).sum::<f64>();
            a[i][j] = s / l;
        }
    }
    for i in 0..n {
        b[i] = (b[i] - (0..i).map(|k| a[i][k] * b[k]).sum::<f64>()) / a[i][i];
    }
    for i in (0..n).rev() {
        b[i] = (b[i] - ((i + 1)..n).map(|k| a[k][i] * b[k]).sum::<f64>()) / a[i][i];
    }
    Some(b)
}

/// Solves `A X = B` (square `A`, several right-hand sides as the columns of `B`) by LU with
/// partial pivoting; `None` if `A` is singular.
fn lu_solve(mut a: Vec<Vec<f64>>, mut b: Vec<Vec<f64>>) -> Option<Vec<Vec<f64>>> {
    let n = a.len();
    for col in 0..n {
        let piv = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[piv][col] == 0.0 || !a[piv][col].is_finite() {
            return None;
        }
        a.swap(col, piv);
        b.swap(col, piv);
        for row in (col + 1)..n {
            let m = a[row][col] / a[col][col];
            if m == 0.0 {
                continue;
            }
            for c in col..n {
                a[row][c] -= m * a[col][c];
            }
            for c in 0..b[row].len() {
                b[row][c] -= m * b[col][c];
            }
        }
    }
    for row in (0..n).rev() {
        for c in 0..b[row].len() {
            let s: f64 = ((row + 1)..n).map(|k| a[row][k] * b[k][c]).sum();
            b[row][c] = (b[row][c] - s) / a[row][row];
        }
    }
    Some(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal};

    /// Harmonic wells `u_k(x) = kappa_k (x - c_k)^2 / 2`, with exact free energies
    /// `f_k = 1/2 ln(kappa_k / 2 pi)`.
    struct Wells {
        kappa: Vec<f64>,
        centre: Vec<f64>,
    }

    impl Wells {
        fn u(&self, k: usize, x: f64) -> f64 {
            0.5 * self.kappa[k] * (x - self.centre[k]).powi(2)
        }

        /// Exact `f_k - f_0`.
        fn exact(&self, k: usize) -> f64 {
            0.5 * (self.kappa[k] / self.kappa[0]).ln()
        }

        /// Draws `n_k[k]` exact samples from each well and returns `u_kn`.
        fn sample(&self, n_k: &[usize], seed: u64) -> Vec<Vec<f64>> {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut xs = Vec::new();
            for (k, &n) in n_k.iter().enumerate() {
                let d = Normal::new(self.centre[k], 1.0 / self.kappa[k].sqrt()).unwrap();
                xs.extend((0..n).map(|_| d.sample(&mut rng)));
            }
            (0..n_k.len())
                .map(|k| xs.iter().map(|&x| self.u(k, x)).collect())
                .collect()
        }
    }

    #[test]
    fn harmonic_wells_free_energies_and_error_bars() {
        let wells = Wells {
            kappa: vec![1.0, 2.0, 4.0],
            centre: vec![0.0, 0.3, 0.6],
        };
        let n_k = [400, 400, 400];
        let repeats = 40;
        let mut est = vec![Vec::new(); 3];
        let mut sig = vec![Vec::new(); 3];
        for seed in 0..repeats {
            let r = mbar(&wells.sample(&n_k, 1000 + seed), &n_k).unwrap();
            assert_eq!(r.free_energies[0], 0.0);
            for k in 1..3 {
                let dev = r.free_energies[k] - wells.exact(k);
                assert!(
                    dev.abs() < 4.0 * r.uncertainties[k],
                    "seed {seed} state {k}: {dev} vs sigma {}",
                    r.uncertainties[k]
                );
                est[k].push(r.free_energies[k]);
                sig[k].push(r.uncertainties[k]);
            }
            assert!(r.iterations < 100, "{} iterations", r.iterations);
            for row in &r.overlap {
                assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-9);
            }
        }
        for k in 1..3 {
            let m = est[k].iter().sum::<f64>() / repeats as f64;
            let spread =
                (est[k].iter().map(|v| (v - m).powi(2)).sum::<f64>() / (repeats - 1) as f64).sqrt();
            let reported = sig[k].iter().sum::<f64>() / repeats as f64;
            let ratio = reported / spread;
            eprintln!("state {k}: reported sigma {reported:.4}, empirical spread {spread:.4}");
            assert!(
                (1.0 / 1.5..1.5).contains(&ratio),
                "state {k}: ratio {ratio}"
            );
            assert!((m - wells.exact(k)).abs() < 4.0 * spread / (repeats as f64).sqrt());
        }
    }

    #[test]
    fn shifted_gaussians_of_equal_width_have_equal_free_energies() {
        let wells = Wells {
            kappa: vec![1.0; 3],
            centre: vec![0.0, 1.0, 2.0],
        };
        let n_k = [500, 500, 500];
        let r = mbar(&wells.sample(&n_k, 7), &n_k).unwrap();
        for k in 1..3 {
            let (f, s) = (r.free_energies[k], r.uncertainties[k]);
            assert!(s > 0.0 && s < 0.2, "sigma {s}");
            assert!(f.abs() < 4.0 * s, "state {k}: {f} +- {s}");
        }
        // Equal widths: symmetric overlap matrix for equal N_k, and neighbour overlap well
        // above the warning threshold.
        assert!((r.overlap[0][1] - r.overlap[1][0]).abs() < 1e-12);
        assert!(r.warn_overlap(DEFAULT_OVERLAP_THRESHOLD).is_none());
        let flat: Vec<f64> = wells.sample(&n_k, 7).concat();
        assert_eq!(mbar_flat(&flat, &n_k).unwrap(), r);
    }

    #[test]
    fn unsampled_target_state() {
        let wells = Wells {
            kappa: vec![1.0, 1.5, 2.0],
            centre: vec![0.0, 0.2, 0.4],
        };
        let n_k = [800, 0, 800];
        let r = mbar(&wells.sample(&n_k, 11), &n_k).unwrap();
        for k in 1..3 {
            let (f, s) = (r.free_energies[k], r.uncertainties[k]);
            assert!(s.is_finite() && s > 0.0, "state {k}: sigma {s}");
            assert!(
                (f - wells.exact(k)).abs() < 4.0 * s,
                "state {k}: {f} vs {} +- {s}",
                wells.exact(k)
            );
        }
        assert!(r.overlap.iter().all(|row| row[1] == 0.0));
        assert_eq!(r.neighbour_overlaps().len(), 2);
        assert!(r.neighbour_overlaps().iter().all(|v| *v > 0.1));
        // An unsampled state 0 as the reference works too.
        let n_k = [0, 800, 800];
        let r = mbar(&wells.sample(&n_k, 12), &n_k).unwrap();
        let exact = wells.exact(2) - wells.exact(1);
        let (d, s) = (
            r.free_energies[2] - r.free_energies[1],
            r.difference_uncertainty(1, 2),
        );
        assert!((d - exact).abs() < 4.0 * s, "{d} vs {exact} +- {s}");
    }

    #[test]
    fn poorly_overlapping_states_are_flagged() {
        let wells = Wells {
            kappa: vec![1.0, 1.0, 1.0],
            centre: vec![0.0, 1.0, 9.0],
        };
        let n_k = [500, 500, 500];
        let r = mbar(&wells.sample(&n_k, 3), &n_k).unwrap();
        // Exact large-N overlap of unit Gaussians a distance d apart with equal N:
        // int p1 p2 / (p1 + p2) dx = 0.398 (d = 1), 4.9e-5 (d = 8).
        let overlaps = r.neighbour_overlaps();
        assert!((overlaps[0] - 0.398).abs() < 0.03, "{overlaps:?}");
        assert!(overlaps[1] < 2e-4, "{overlaps:?}");
        assert_eq!(r.min_neighbour_overlap().map(|(i, _)| i), Some(1));
        let warning = r.warn_overlap(DEFAULT_OVERLAP_THRESHOLD).unwrap();
        assert!(warning.contains("1-2"), "{warning}");
        // The badly determined difference comes with a large error bar.
        assert!(
            r.uncertainties[2] > 10.0 * r.uncertainties[1],
            "{:?}",
            r.uncertainties
        );
        eprintln!(
            "poor overlap: {overlaps:?}, sigma {:?}, {} iterations",
            r.uncertainties, r.iterations
        );
    }

    #[test]
    fn many_states_with_large_offsets_converge_quickly() {
        // u_k = kappa_k (x - c_k)^2 / 2 + b_k: f_k - f_0 = 1/2 ln(kappa_k / kappa_0) + b_k,
        // far from the initial guess f = 0.
        let k = 10;
        let wells = Wells {
            kappa: (0..k).map(|i| 1.5_f64.powi(i)).collect(),
            centre: (0..k).map(|i| 0.2 * i as f64).collect(),
        };
        let offset = |i: usize| 40.0 * i as f64 - 3.0 * (i * i) as f64;
        let n_k: Vec<usize> = (0..k).map(|i| 150 + 20 * i as usize).collect();
        let mut u = wells.sample(&n_k, 21);
        for (i, row) in u.iter_mut().enumerate() {
            row.iter_mut().for_each(|v| *v += offset(i));
        }
        let r = mbar(&u, &n_k).unwrap();
        assert!(r.iterations <= 30, "{} iterations", r.iterations);
        eprintln!("{k} states: {} iterations", r.iterations);
        for i in 1..k as usize {
            let exact = wells.exact(i) + offset(i);
            let (f, s) = (r.free_energies[i], r.uncertainties[i]);
            assert!(
                (f - exact).abs() < 4.0 * s,
                "state {i}: {f} vs {exact} +- {s}"
            );
        }
        let (_, worst) = r.min_neighbour_overlap().unwrap();
        assert!(worst > DEFAULT_OVERLAP_THRESHOLD, "{worst}");
    }

    #[test]
    fn identical_states_have_zero_difference_and_error() {
        let wells = Wells {
            kappa: vec![2.0, 2.0],
            centre: vec![0.5, 0.5],
        };
        let n_k = [300, 200];
        let r = mbar(&wells.sample(&n_k, 5), &n_k).unwrap();
        assert!(r.free_energies[1].abs() < 1e-10);
        assert!(r.uncertainties[1] < 1e-6);
    }

    #[test]
    fn bad_input_is_rejected() {
        let u = vec![vec![0.0, 1.0], vec![1.0, 0.0]];
        assert_eq!(mbar(&u, &[]), Err(MbarError::NoStates));
        assert!(matches!(
            mbar(&u, &[1, 1, 0]),
            Err(MbarError::StateCount { .. })
        ));
        assert!(matches!(
            mbar(&u, &[2, 1]),
            Err(MbarError::SampleCount { .. })
        ));
        assert_eq!(mbar(&[vec![], vec![]], &[0, 0]), Err(MbarError::NoSamples));
        let nan = vec![vec![0.0, f64::NAN], vec![1.0, 0.0]];
        assert!(matches!(
            mbar(&nan, &[1, 1]),
            Err(MbarError::BadEnergy {
                state: 0,
                sample: 1,
                ..
            })
        ));
        let inf = vec![vec![0.0, f64::INFINITY], vec![1.0, f64::INFINITY]];
        assert_eq!(
            mbar(&inf, &[1, 1]),
            Err(MbarError::ImpossibleSample { sample: 1 })
        );
        let unreachable = vec![vec![0.0, 1.0], vec![f64::INFINITY; 2]];
        assert_eq!(
            mbar(&unreachable, &[2, 0]),
            Err(MbarError::UnreachableState { state: 1 })
        );
        assert!(matches!(
            mbar_flat(&[0.0; 3], &[1, 1]),
            Err(MbarError::FlatLength { .. })
        ));
        // A single sampled state: trivially converged, f_0 = 0.
        let r = mbar(&[vec![0.3, 0.1]], &[2]).unwrap();
        assert_eq!(r.free_energies, vec![0.0]);
        assert_eq!(r.iterations, 0);
        assert!(r.min_neighbour_overlap().is_none());
    }
}
