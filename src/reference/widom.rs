//! Widom insertion energies in f64: the reference of `shaders/widom.wgsl`.

use super::lj_forces::{lj_pair, minimum_image, norm2};
use super::rng::{philox4x32_10, uniform_open01};
use crate::scene::LjParams;

/// Smallest squared distance used for a pair (an insertion exactly on a particle gets a
/// huge finite energy instead of a NaN), as in the shader.
pub const MIN_R2: f64 = 1e-6;

/// The insertion point of insertion `k` into global configuration `c` (Philox counter
/// (k, c, 2, 0)), as the shader draws it.
pub fn insertion_point(k: u32, c: u32, key: [u32; 2], box_length: f64) -> [f64; 3] {
    let bits = philox4x32_10([k, c, 2, 0], key);
    [bits[0], bits[1], bits[2]].map(|b| uniform_open01(b) * box_length)
}

/// beta * Delta U of inserting a particle at `x` into `config`.
pub fn insertion_energy(config: &[[f64; 3]], x: [f64; 3], lj: &LjParams, beta: f64) -> f64 {
    let mut e = 0.0;
    for p in config {
        let d = minimum_image([x[0] - p[0], x[1] - p[1], x[2] - p[2]], lj.box_length);
        if let Some((u, _)) = lj_pair(norm2(d).max(MIN_R2), lj) {
            e += u;
        }
    }
    beta * e
}
