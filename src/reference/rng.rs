//! Philox4x32-10 counter-based RNG (Salmon et al. 2011), bit-identical to
//! `shaders/common/rng.wgsl`, and the Box-Muller normals built from it.

const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

fn round(ctr: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let p0 = (M0 as u64) * (ctr[0] as u64);
    let p1 = (M1 as u64) * (ctr[2] as u64);
    [
        ((p1 >> 32) as u32) ^ ctr[1] ^ key[0],
        p1 as u32,
        ((p0 >> 32) as u32) ^ ctr[3] ^ key[1],
        p0 as u32,
    ]
}

/// Philox4x32 with 10 rounds.
pub fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let mut ctr = counter;
    let mut key = key;
    for _ in 0..9 {
        ctr = round(ctr, key);
        key = [key[0].wrapping_add(W0), key[1].wrapping_add(W1)];
    }
    round(ctr, key)
}

/// Uniform in (0, 1) from the top 24 bits, as the shader computes it.
pub fn uniform_open01(x: u32) -> f64 {
    ((x >> 8) as f64 + 0.5) / 16_777_216.0
}

/// Three standard normals from one Philox block (Box-Muller), as the shader computes them.
pub fn gaussian3(bits: [u32; 4]) -> [f64; 3] {
    let two_pi = std::f64::consts::TAU;
    let r0 = (-2.0 * uniform_open01(bits[0]).ln()).sqrt();
    let t0 = two_pi * uniform_open01(bits[1]);
    let r1 = (-2.0 * uniform_open01(bits[2]).ln()).sqrt();
    let t1 = two_pi * uniform_open01(bits[3]);
    [r0 * t0.cos(), r0 * t0.sin(), r1 * t1.cos()]
}

/// Splits a 64-bit seed into the Philox key.
pub fn key_of(seed: u64) -> [u32; 2] {
    [seed as u32, (seed >> 32) as u32]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answer_vectors_of_random123() {
        // Random123 kat_vectors, philox4x32 with 10 rounds.
        assert_eq!(
            philox4x32_10([0, 0, 0, 0], [0, 0]),
            [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
        );
        assert_eq!(
            philox4x32_10([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]
        );
        assert_eq!(
            philox4x32_10(
                [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
                [0xa4093822, 0x299f31d0]
            ),
            [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]
        );
    }

    #[test]
    fn normals_have_unit_variance() {
        let n = 20000u32;
        let (mut s1, mut s2) = (0.0, 0.0);
        for i in 0..n {
            for g in gaussian3(philox4x32_10([i, 7, 0, 0], [1, 2])) {
                s1 += g;
                s2 += g * g;
            }
        }
        let m = s1 / (3 * n) as f64;
        let v = s2 / (3 * n) as f64 - m * m;
        assert!(m.abs() < 0.02, "mean {m}");
        assert!((v - 1.0).abs() < 0.03, "variance {v}");
    }
}
