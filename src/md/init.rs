//! Initial configurations: particles on a simple-cubic lattice (random subset of sites,
//! small jitter) and Maxwell-Boltzmann velocities, seeded per replica.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};

/// `n` positions on a simple-cubic lattice filling the box, a random subset of the
/// ceil(n^(1/3))^3 sites, each jittered by up to 5% of the spacing.
pub fn lattice_positions(n: u32, box_length: f64, rng: &mut impl Rng) -> Vec<[f64; 3]> {
    let side = (n as f64).cbrt().ceil() as u32;
    let side = if side.pow(3) < n { side + 1 } else { side };
    let a = box_length / side as f64;
    let mut sites: Vec<[u32; 3]> = (0..side.pow(3))
        .map(|k| [k % side, (k / side) % side, k / (side * side)])
        .collect();
    sites.shuffle(rng);
    sites
        .into_iter()
        .take(n as usize)
        .map(|s| s.map(|c| (c as f64 + 0.5 + 0.05 * (rng.random::<f64>() - 0.5)) * a))
        .collect()
}

/// Maxwell-Boltzmann velocities at temperature kT for mass m, with zero total momentum.
pub fn maxwell_velocities(n: u32, kt: f64, mass: f64, rng: &mut impl Rng) -> Vec<[f64; 3]> {
    let normal = Normal::new(0.0, (kt / mass).sqrt()).expect("finite positive width");
    let mut v: Vec<[f64; 3]> = (0..n)
        .map(|_| [normal.sample(rng), normal.sample(rng), normal.sample(rng)])
        .collect();
    if n > 1 {
        let mut mean = [0.0; 3];
        for x in &v {
            for k in 0..3 {
                mean[k] += x[k] / n as f64;
            }
        }
        for x in &mut v {
            for k in 0..3 {
                x[k] -= mean[k];
            }
        }
    }
    v
}

/// Positions and velocities of `replicas` independent replicas, replica-major.
pub fn initial_state(
    n: u32,
    replicas: u32,
    box_length: f64,
    kt: f64,
    mass: f64,
    seed: u64,
) -> (Vec<[f64; 3]>, Vec<[f64; 3]>) {
    let mut pos = Vec::with_capacity((n * replicas) as usize);
    let mut vel = Vec::with_capacity((n * replicas) as usize);
    for b in 0..replicas {
        let mut rng = rand::rngs::StdRng::seed_from_u64(
            seed ^ (0x9E37_79B9_7F4A_7C15u64.wrapping_mul(b as u64 + 1)) ^ n as u64,
        );
        pos.extend(lattice_positions(n, box_length, &mut rng));
        vel.extend(maxwell_velocities(n, kt, mass, &mut rng));
    }
    (pos, vel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lattice_has_no_overlaps_and_fills_box() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let p = lattice_positions(200, 6.0, &mut rng);
        assert_eq!(p.len(), 200);
        for i in 0..p.len() {
            assert!(p[i].iter().all(|&x| (0.0..6.0).contains(&x)));
            for j in 0..i {
                let d = crate::reference::lj_forces::minimum_image(
                    [p[i][0] - p[j][0], p[i][1] - p[j][1], p[i][2] - p[j][2]],
                    6.0,
                );
                assert!(crate::reference::lj_forces::norm2(d) > 0.8);
            }
        }
    }

    #[test]
    fn velocities_have_zero_momentum() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(4);
        let v = maxwell_velocities(500, 2.0, 1.0, &mut rng);
        let px: f64 = v.iter().map(|x| x[0]).sum();
        assert!(px.abs() < 1e-9);
        let ke: f64 = v
            .iter()
            .map(|x| x.iter().map(|c| c * c).sum::<f64>())
            .sum::<f64>()
            / 2.0;
        let t = 2.0 * ke / (3.0 * 500.0);
        assert!((t - 2.0).abs() < 0.2, "T = {t}");
    }
}
