//! LJ pair term, minimum image and all-pairs forces in f64: the reference of
//! `shaders/lj_forces.wgsl` and `shaders/common/{lj,pbc}.wgsl`.

use crate::scene::LjParams;

impl LjParams {
    /// u(r_c) if the potential is shifted, else 0.
    pub fn shift_energy(&self) -> f64 {
        match (self.cutoff, self.shift) {
            (Some(rc), true) => lj_pair_unshifted(rc * rc, self.sigma, self.epsilon).0,
            _ => 0.0,
        }
    }

    /// Cutoff squared (infinite for the minimum-image potential).
    pub fn cutoff2(&self) -> f64 {
        self.cutoff.map_or(f64::INFINITY, |rc| rc * rc)
    }
}

fn lj_pair_unshifted(r2: f64, sigma: f64, epsilon: f64) -> (f64, f64) {
    let s2 = sigma * sigma / r2;
    let s6 = s2 * s2 * s2;
    let s12 = s6 * s6;
    (
        4.0 * epsilon * (s12 - s6),
        24.0 * epsilon * (2.0 * s12 - s6) / r2,
    )
}

/// Pair term at squared distance `r2`: `Some((u, f_over_r))` inside the cutoff, with
/// f_over_r = -u'(r)/r; `None` beyond it.
pub fn lj_pair(r2: f64, p: &LjParams) -> Option<(f64, f64)> {
    if r2 >= p.cutoff2() {
        return None;
    }
    let (u, f) = lj_pair_unshifted(r2, p.sigma, p.epsilon);
    Some((u - p.shift_energy(), f))
}

/// Minimum-image separation.
pub fn minimum_image(d: [f64; 3], box_length: f64) -> [f64; 3] {
    d.map(|x| x - box_length * (x / box_length).round())
}

/// Squared norm.
pub fn norm2(d: [f64; 3]) -> f64 {
    d[0] * d[0] + d[1] * d[1] + d[2] * d[2]
}

/// Per-particle results of a force evaluation.
#[derive(Clone, Debug, Default)]
pub struct ForceResult {
    /// Force on each particle.
    pub forces: Vec<[f64; 3]>,
    /// Per-particle energy: half the sum of its pair energies.
    pub energy: Vec<f64>,
    /// Per-particle virial: half the sum of r_ij . f_ij.
    pub virial: Vec<f64>,
    /// Half the number of its pairs within the cutoff.
    pub pairs: Vec<f64>,
}

impl ForceResult {
    /// Total potential energy.
    pub fn total_energy(&self) -> f64 {
        self.energy.iter().sum()
    }
    /// Total virial W = sum_{i<j} r_ij . f_ij.
    pub fn total_virial(&self) -> f64 {
        self.virial.iter().sum()
    }
}

/// All-pairs minimum-image forces of one replica for any pair term: `pair(r2)` returns
/// `Some((u, f_over_r, c))` inside the cutoff, and `c` is half-summed into `pairs`.
pub fn pair_forces(
    pos: &[[f64; 3]],
    box_length: f64,
    pair: impl Fn(f64) -> Option<(f64, f64, f64)>,
) -> ForceResult {
    let n = pos.len();
    let mut out = ForceResult {
        forces: vec![[0.0; 3]; n],
        energy: vec![0.0; n],
        virial: vec![0.0; n],
        pairs: vec![0.0; n],
    };
    for i in 0..n {
        for j in 0..n {
            if i == j {
                continue;
            }
            let d = minimum_image(
                [
                    pos[i][0] - pos[j][0],
                    pos[i][1] - pos[j][1],
                    pos[i][2] - pos[j][2],
                ],
                box_length,
            );
            let r2 = norm2(d);
            if let Some((u, f, c)) = pair(r2) {
                for (fk, dk) in out.forces[i].iter_mut().zip(d) {
                    *fk += f * dk;
                }
                out.energy[i] += 0.5 * u;
                out.virial[i] += 0.5 * f * r2;
                out.pairs[i] += 0.5 * c;
            }
        }
    }
    out
}

/// All-pairs minimum-image LJ forces of one replica (`pairs`: half pair counts within
/// the cutoff).
pub fn lj_forces(pos: &[[f64; 3]], p: &LjParams) -> ForceResult {
    pair_forces(pos, p.box_length, |r2| {
        lj_pair(r2, p).map(|(u, f)| (u, f, 1.0))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paper() -> LjParams {
        LjParams {
            epsilon: 0.8,
            sigma: 1.0,
            cutoff: None,
            shift: false,
            box_length: 6.0,
        }
    }

    #[test]
    fn two_particle_analytic_values() {
        let p = paper();
        let rmin = 2f64.powf(1.0 / 6.0);
        let (u, f) = lj_pair(rmin * rmin, &p).unwrap();
        assert!((u + 0.8).abs() < 1e-12, "u(r_min) = -eps, got {u}");
        assert!(f.abs() < 1e-12);
        let (u, f) = lj_pair(1.0, &p).unwrap();
        assert!(u.abs() < 1e-12);
        assert!((f - 24.0 * 0.8).abs() < 1e-12);
        let r: f64 = 1.5;
        let (u, _) = lj_pair(r * r, &p).unwrap();
        assert!((u - 4.0 * 0.8 * (r.powi(-12) - r.powi(-6))).abs() < 1e-14);
    }

    #[test]
    fn forces_are_minus_energy_gradient() {
        let p = LjParams {
            cutoff: Some(2.5),
            shift: true,
            ..paper()
        };
        let pos = vec![
            [0.5, 0.5, 0.5],
            [1.6, 0.9, 0.4],
            [5.7, 0.2, 1.1],
            [0.9, 5.6, 5.5],
        ];
        let f = lj_forces(&pos, &p);
        let h = 1e-6;
        for i in 0..pos.len() {
            for k in 0..3 {
                let mut a = pos.clone();
                a[i][k] += h;
                let mut b = pos.clone();
                b[i][k] -= h;
                let fd = -(lj_forces(&a, &p).total_energy() - lj_forces(&b, &p).total_energy())
                    / (2.0 * h);
                assert!(
                    (fd - f.forces[i][k]).abs() < 1e-6 * (1.0 + fd.abs()),
                    "{fd} vs {}",
                    f.forces[i][k]
                );
            }
        }
    }

    #[test]
    fn minimum_image_and_cutoff() {
        let p = paper();
        let f = lj_forces(&[[0.1, 0.0, 0.0], [5.9, 0.0, 0.0]], &p);
        // Separated by 0.2 across the boundary: strongly repulsive, particle 0 pushed to +x.
        assert!(f.forces[0][0] > 1e3);
        let t = LjParams {
            cutoff: Some(2.5),
            ..p
        };
        assert!(lj_pair(2.6 * 2.6, &t).is_none());
        assert!(lj_pair(2.4 * 2.4, &t).is_some());
    }
}
