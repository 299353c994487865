//! Initial configurations: particles on a simple-cubic lattice (random subset of sites,
//! small jitter) and Maxwell-Boltzmann velocities, seeded per replica from a
//! [`PhiloxStream`] (the same numbers for a seed whatever the dependencies' versions).

use crate::reference::rng::PhiloxStream;

/// `n` positions on a simple-cubic lattice filling the box, a random subset of the
/// ceil(n^(1/3))^3 sites, each jittered by up to 5% of the spacing.
pub fn lattice_positions(n: u32, box_length: f64, rng: &mut PhiloxStream) -> Vec<[f64; 3]> {
    let side = (n as f64).cbrt().ceil() as u32;
    let side = if side.pow(3) < n { side + 1 } else { side };
    let a = box_length / side as f64;
    let mut sites: Vec<[u32; 3]> = (0..side.pow(3))
        .map(|k| [k % side, (k / side) % side, k / (side * side)])
        .collect();
    rng.shuffle(&mut sites);
    sites
        .into_iter()
        .take(n as usize)
        .map(|s| s.map(|c| (c as f64 + 0.5 + 0.05 * (rng.uniform() - 0.5)) * a))
        .collect()
}

/// Maxwell-Boltzmann velocities at temperature kT for mass m, with zero total momentum.
pub fn maxwell_velocities(n: u32, kt: f64, mass: f64, rng: &mut PhiloxStream) -> Vec<[f64; 3]> {
    let width = (kt / mass).sqrt();
    let mut v: Vec<[f64; 3]> = (0..n)
        .map(|_| std::array::from_fn(|_| width * rng.normal()))
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
        let mut rng = PhiloxStream::new(
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

    /// The initial state and the initial model parameters of a seed are pinned: they come
    /// from the project's own generator, so no dependency update can change them.
    #[test]
    fn a_seed_gives_pinned_initial_states_and_parameters() {
        let (p, v) = initial_state(8, 2, 3.0, 1.5, 1.0, 11);
        // Positions need no transcendental function: exact.
        assert_eq!(
            p[0],
            [0.7721949571056445, 0.7216251615411649, 2.2817779373491507]
        );
        assert_eq!(
            p[8],
            [0.7330389258744369, 2.279348604705446, 2.2466447056496257]
        );
        // Velocities go through ln, sin and cos: equal up to the last bits of a libm.
        let close = |a: [f64; 3], b: [f64; 3]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12);
        assert!(
            close(
                v[0],
                [0.759526823547816, 0.5634300409357236, 0.9812485922757433]
            ),
            "{:?}",
            v[0]
        );
        assert!(
            close(
                v[15],
                [
                    -0.2068586950824964,
                    0.03166884409031612,
                    -1.2609564990235107
                ]
            ),
            "{:?}",
            v[15]
        );
        // Initial parameters: uniforms scaled by a square root, exact.
        let theta = crate::scene::ModelConfig::default().init_params(11);
        assert_eq!(
            theta[..3],
            [
                0.1319885651438487,
                -0.05194933114797932,
                0.04292679420295971
            ]
        );
        assert_eq!(theta.len(), 8065);
    }

    #[test]
    fn lattice_has_no_overlaps_and_fills_box() {
        let mut rng = PhiloxStream::new(3);
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
        let mut rng = PhiloxStream::new(4);
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
