//! Philox4x32-10 counter-based RNG (Salmon et al. 2011), bit-identical to
//! `shaders/common/rng.wgsl`, the Box-Muller normals built from it, and [`PhiloxStream`],
//! the sequential generator of everything seeded on the host (initial configurations and
//! velocities, initial model parameters, bootstrap resamples): defined here bit for bit,
//! so that a seed gives the same numbers whatever the versions of the dependencies.

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

/// Counter word 3 of every [`PhiloxStream`] block, which no kernel's or training counter
/// uses: a stream never repeats a block of another use of the same key.
const STREAM_TAG: u32 = 0x5354_524D; // "STRM"

/// A sequential random stream over Philox4x32-10: block b (0, 1, ...) is
/// `philox4x32_10([b_lo, b_hi, 0, STREAM_TAG], key_of(seed))`, its four words used in order.
/// Uniforms take the top 53 bits of two words, integers below a bound use Lemire's
/// multiply-and-reject, normals Box-Muller: every number is a fixed function of the seed,
/// unlike `rand`'s `StdRng` and its distributions, which may change between versions.
#[derive(Clone, Debug)]
pub struct PhiloxStream {
    key: [u32; 2],
    block: u64,
    words: [u32; 4],
    used: usize,
    spare_normal: Option<f64>,
}

impl PhiloxStream {
    /// The stream of `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            key: key_of(seed),
            block: 0,
            words: [0; 4],
            used: 4,
            spare_normal: None,
        }
    }

    /// The next 32 random bits.
    pub fn next_u32(&mut self) -> u32 {
        if self.used == 4 {
            let b = self.block;
            self.words = philox4x32_10([b as u32, (b >> 32) as u32, 0, STREAM_TAG], self.key);
            self.block += 1;
            self.used = 0;
        }
        self.used += 1;
        self.words[self.used - 1]
    }

    /// The next 64 random bits (high word first).
    pub fn next_u64(&mut self) -> u64 {
        let hi = self.next_u32() as u64;
        (hi << 32) | self.next_u32() as u64
    }

    /// Uniform in [0, 1), a multiple of 2^-53.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in [0, bound) (`bound` >= 1), without bias (Lemire 2019).
    pub fn below(&mut self, bound: u64) -> u64 {
        assert!(bound > 0, "PhiloxStream::below(0)");
        let threshold = bound.wrapping_neg() % bound;
        loop {
            let m = self.next_u64() as u128 * bound as u128;
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }

    /// A standard normal (Box-Muller; the second of each pair is kept for the next call).
    pub fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare_normal.take() {
            return z;
        }
        let r = (-2.0 * (1.0 - self.uniform()).ln()).sqrt();
        let theta = std::f64::consts::TAU * self.uniform();
        self.spare_normal = Some(r * theta.sin());
        r * theta.cos()
    }

    /// Shuffles `items` in place (Fisher-Yates, from the last position down).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stream's numbers are pinned: a change of any of them changes every seeded run.
    #[test]
    fn the_stream_is_fixed_by_its_seed() {
        let mut s = PhiloxStream::new(42);
        let first = philox4x32_10([0, 0, 0, STREAM_TAG], key_of(42));
        let second = philox4x32_10([1, 0, 0, STREAM_TAG], key_of(42));
        let words: Vec<u32> = (0..8).map(|_| s.next_u32()).collect();
        assert_eq!(words[..4], first);
        assert_eq!(words[4..], second);
        let mut s = PhiloxStream::new(42);
        let u = s.uniform();
        assert_eq!(
            u,
            ((((first[0] as u64) << 32) | first[1] as u64) >> 11) as f64 / 2f64.powi(53)
        );
        let mut s = PhiloxStream::new(7);
        let mut counts = [0u32; 3];
        let mut sum = 0.0;
        let mut sum_sq = 0.0;
        for _ in 0..30_000 {
            counts[s.below(3) as usize] += 1;
            let z = s.normal();
            sum += z;
            sum_sq += z * z;
        }
        assert!(
            counts.iter().all(|&c| (9_500..10_500).contains(&c)),
            "{counts:?}"
        );
        let mean = sum / 30_000.0;
        assert!(
            mean.abs() < 0.03 && (sum_sq / 30_000.0 - 1.0).abs() < 0.05,
            "{mean}"
        );
        let mut v: Vec<u32> = (0..10).collect();
        PhiloxStream::new(1).shuffle(&mut v);
        let mut sorted = v.clone();
        sorted.sort();
        assert_eq!(sorted, (0..10).collect::<Vec<_>>());
        assert_ne!(v, sorted);
    }

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
