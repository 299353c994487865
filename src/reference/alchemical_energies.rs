//! Alchemical pair terms in f64: the reference of `shaders/common/alchemy.wgsl`, for
//! standard λ-window thermodynamic integration from the full LJ fluid (λ = 0) to the ideal
//! gas (λ = 1), and the reduced energies of whole configurations in every λ state
//! ([`alchemical_energies`], the reference of `shaders/alchemical_energies.wgsl`).

use crate::reference::lj_forces::{minimum_image, norm2};
use crate::scene::LjParams;

/// Which λ path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AlchemicalPath {
    /// The paper's soft core with the attraction on: u = 4ε(1−λ)[q⁶ − q³],
    /// q = σ²/(λσ² + r²). Collapses at liquid densities.
    SoftCore,
    /// Leg 1 of the robust path: LJ → WCA, u = u_rep + (1−λ) u_att (WCA split at 2^{1/6}σ).
    LjToWca,
    /// Leg 2 of the robust path: WCA → ideal gas, u = 4ε(1−λ)(s³ − ½)² where s³ > ½,
    /// s = σ²/(λσ² + r²); never negative, so it cannot collapse.
    WcaSoftCore,
}

impl AlchemicalPath {
    /// The code the shaders use (`SimParams.alchemy`).
    pub fn code(self) -> u32 {
        match self {
            AlchemicalPath::SoftCore => 1,
            AlchemicalPath::LjToWca => 2,
            AlchemicalPath::WcaSoftCore => 3,
        }
    }
}

/// (u, f_over_r, ∂u/∂λ) of a pair at squared distance `r2` (no cutoff applied here).
pub fn alchemical_pair(
    path: AlchemicalPath,
    r2: f64,
    l: f64,
    sigma: f64,
    epsilon: f64,
) -> [f64; 3] {
    let sigma2 = sigma * sigma;
    let eps4 = 4.0 * epsilon;
    match path {
        AlchemicalPath::SoftCore => {
            let q = sigma2 / (l * sigma2 + r2);
            let (q3, q4, q6, q7) = (q.powi(3), q.powi(4), q.powi(6), q.powi(7));
            let w = 1.0 - l;
            [
                eps4 * w * (q6 - q3),
                2.0 * eps4 * w * (6.0 * q7 - 3.0 * q4) / sigma2,
                -eps4 * (q6 - q3) - eps4 * w * (6.0 * q7 - 3.0 * q4),
            ]
        }
        AlchemicalPath::LjToWca => {
            let s6 = (sigma2 / r2).powi(3);
            let s12 = s6 * s6;
            let u_lj = eps4 * (s12 - s6);
            let f_lj = 6.0 * eps4 * (2.0 * s12 - s6) / r2;
            if s6 > 0.5 {
                [u_lj + l * epsilon, f_lj, epsilon]
            } else {
                [(1.0 - l) * u_lj, (1.0 - l) * f_lj, -u_lj]
            }
        }
        AlchemicalPath::WcaSoftCore => {
            let s = sigma2 / (l * sigma2 + r2);
            let (s3, s4) = (s.powi(3), s.powi(4));
            if s3 <= 0.5 {
                return [0.0; 3];
            }
            let w = 1.0 - l;
            let h = s3 - 0.5;
            [
                eps4 * w * h * h,
                12.0 * eps4 * w * h * s4 / sigma2,
                -eps4 * h * h - 6.0 * eps4 * w * h * s4,
            ]
        }
    }
}

/// All-pairs forces of one replica on an alchemical path at `lambda` (minimum image,
/// cutoff from `lj` if any, no shift): the reference of the alchemical branch of
/// `shaders/lj_forces.wgsl`. `pairs` holds each particle's half-sum of ∂u/∂λ.
pub fn alchemical_forces(
    pos: &[[f64; 3]],
    lj: &LjParams,
    path: AlchemicalPath,
    lambda: f64,
) -> super::lj_forces::ForceResult {
    super::lj_forces::pair_forces(pos, lj.box_length, |r2| {
        (r2 < lj.cutoff2()).then(|| {
            let [u, f, dudl] = alchemical_pair(path, r2, lambda, lj.sigma, lj.epsilon);
            (u, f, dudl)
        })
    })
}

/// β U_λ(configuration) for every λ (the reference of `alchemical_energies`).
pub fn alchemical_energies(
    config: &[[f64; 3]],
    lambdas: &[f64],
    path: AlchemicalPath,
    lj: &LjParams,
    beta: f64,
) -> Vec<f64> {
    lambdas
        .iter()
        .map(|&l| {
            let mut e = 0.0;
            for i in 0..config.len() {
                for j in i + 1..config.len() {
                    let d = [0, 1, 2].map(|k| config[i][k] - config[j][k]);
                    let r2 = norm2(minimum_image(d, lj.box_length));
                    if r2 < lj.cutoff2() {
                        e += alchemical_pair(path, r2, l, lj.sigma, lj.epsilon)[0];
                    }
                }
            }
            beta * e
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use AlchemicalPath::*;

    #[test]
    fn derivatives_match_finite_differences() {
        for path in [SoftCore, LjToWca, WcaSoftCore] {
            for &l in &[0.0, 0.1, 0.45, 0.8, 0.97] {
                for &r in &[0.3, 0.7, 0.95, 1.05, 1.3, 2.2] {
                    if path == LjToWca && (r - 2f64.powf(1.0 / 6.0)).abs() < 1e-3 {
                        continue;
                    }
                    let [u, f, dudl] = alchemical_pair(path, r * r, l, 1.0, 0.8);
                    let h = 1e-6;
                    let up = alchemical_pair(path, (r + h) * (r + h), l, 1.0, 0.8)[0];
                    let um = alchemical_pair(path, (r - h) * (r - h), l, 1.0, 0.8)[0];
                    let fd_f = -(up - um) / (2.0 * h) / r;
                    // Rounding of the central difference grows with |u| / h.
                    let noise = 1e-9 * u.abs();
                    assert!(
                        (fd_f - f).abs() <= 1e-6 * (1.0 + f.abs()) + noise,
                        "{path:?} l {l} r {r}: f {f} fd {fd_f}"
                    );
                    if l > 0.0 {
                        let lp = alchemical_pair(path, r * r, l + h, 1.0, 0.8)[0];
                        let lm = alchemical_pair(path, r * r, l - h, 1.0, 0.8)[0];
                        let fd_l = (lp - lm) / (2.0 * h);
                        assert!(
                            (fd_l - dudl).abs() <= 1e-6 * (1.0 + dudl.abs()) + noise,
                            "{path:?} l {l} r {r}: dudl {dudl} fd {fd_l}"
                        );
                    }
                    assert!(u.is_finite());
                }
            }
        }
    }

    #[test]
    fn endpoints_and_continuity() {
        let lj = |r: f64| 4.0 * 0.8 * (r.powi(-12) - r.powi(-6));
        for &r in &[0.9, 1.0, 1.12, 1.5, 2.5] {
            // Full LJ at lambda = 0 for the soft core and leg 1; nothing at lambda = 1.
            assert!((alchemical_pair(SoftCore, r * r, 0.0, 1.0, 0.8)[0] - lj(r)).abs() < 1e-12);
            assert!((alchemical_pair(LjToWca, r * r, 0.0, 1.0, 0.8)[0] - lj(r)).abs() < 1e-12);
            assert_eq!(alchemical_pair(SoftCore, r * r, 1.0, 1.0, 0.8)[0], 0.0);
            assert_eq!(alchemical_pair(WcaSoftCore, r * r, 1.0, 1.0, 0.8)[0], 0.0);
            // Leg 1 ends where leg 2 starts: the WCA potential.
            let a = alchemical_pair(LjToWca, r * r, 1.0, 1.0, 0.8)[0];
            let b = alchemical_pair(WcaSoftCore, r * r, 0.0, 1.0, 0.8)[0];
            assert!((a - b).abs() < 1e-9 * (1.0 + a.abs()), "r {r}: {a} vs {b}");
            // Leg 2 is never negative.
            for &l in &[0.0, 0.3, 0.9] {
                assert!(alchemical_pair(WcaSoftCore, r * r, l, 1.0, 0.8)[0] >= 0.0);
            }
        }
    }
}
