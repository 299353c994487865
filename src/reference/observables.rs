//! Observables in f64: the reference of `shaders/observables.wgsl`.

use super::lj_forces::{minimum_image, norm2};

/// Histogram of minimum-image pair distances (pairs i < j) below `r_max`, `bins` bins.
pub fn gr_histogram(pos: &[[f64; 3]], box_length: f64, r_max: f64, bins: u32) -> Vec<u64> {
    let mut h = vec![0u64; bins as usize];
    let inv_width = bins as f64 / r_max;
    for i in 0..pos.len() {
        for j in i + 1..pos.len() {
            let d = [
                pos[i][0] - pos[j][0],
                pos[i][1] - pos[j][1],
                pos[i][2] - pos[j][2],
            ];
            let r = norm2(minimum_image(d, box_length)).sqrt();
            if r < r_max {
                h[((r * inv_width) as usize).min(bins as usize - 1)] += 1;
            }
        }
    }
    h
}

/// Normalises a pair-distance histogram accumulated over `frames` configurations of `n`
/// particles in volume `volume` into g(r) at the bin centres: counts / ideal-gas counts.
pub fn gr_normalize(hist: &[u64], r_max: f64, n: u32, volume: f64, frames: u64) -> Vec<(f64, f64)> {
    let width = r_max / hist.len() as f64;
    let pairs = n as f64 * (n as f64 - 1.0) / 2.0;
    hist.iter()
        .enumerate()
        .map(|(k, &c)| {
            let (r0, r1) = (k as f64 * width, (k + 1) as f64 * width);
            let shell = 4.0 / 3.0 * std::f64::consts::PI * (r1.powi(3) - r0.powi(3));
            let ideal = pairs * shell / volume * frames as f64;
            (
                0.5 * (r0 + r1),
                if ideal > 0.0 { c as f64 / ideal } else { 0.0 },
            )
        })
        .collect()
}

/// Kinetic energy sum m v^2 / 2.
pub fn kinetic_energy(vel: &[[f64; 3]], mass: f64) -> f64 {
    vel.iter()
        .map(|v| 0.5 * mass * (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]))
        .sum()
}
