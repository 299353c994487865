// Counter-based random numbers: Philox4x32-10 (Salmon et al., SC'11), as in Random123.
// A stream is addressed by a 128-bit counter (particle id, step, purpose, 0) and a 64-bit key
// (the scene seed), so every kernel draws the same numbers as the CPU reference in
// src/reference/rng.rs, in any order and on any device. Shared include: no bindings.

const PHILOX_M0: u32 = 0xD2511F53u;
const PHILOX_M1: u32 = 0xCD9E8D57u;
const PHILOX_W0: u32 = 0x9E3779B9u;
const PHILOX_W1: u32 = 0xBB67AE85u;

// Full 32x32 -> 64-bit product as (hi, lo), with 16-bit limbs (WGSL has no u64).
fn mulhilo32(a: u32, b: u32) -> vec2<u32> {
    let a_lo = a & 0xffffu;
    let a_hi = a >> 16u;
    let b_lo = b & 0xffffu;
    let b_hi = b >> 16u;
    let ll = a_lo * b_lo;
    let hl = a_hi * b_lo;
    let lh = a_lo * b_hi;
    let hh = a_hi * b_hi;
    // Cannot overflow: lh <= (2^16-1)^2 and the other two terms are < 2^16 each.
    let cross = (ll >> 16u) + (hl & 0xffffu) + lh;
    let hi = hh + (hl >> 16u) + (cross >> 16u);
    return vec2<u32>(hi, a * b);
}

fn philox_round(ctr: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    let p0 = mulhilo32(PHILOX_M0, ctr.x);
    let p1 = mulhilo32(PHILOX_M1, ctr.z);
    return vec4<u32>(p1.x ^ ctr.y ^ key.x, p1.y, p0.x ^ ctr.w ^ key.y, p0.y);
}

// Philox4x32 with 10 rounds.
fn philox4x32_10(counter: vec4<u32>, key_in: vec2<u32>) -> vec4<u32> {
    var ctr = counter;
    var key = key_in;
    for (var r = 0u; r < 9u; r = r + 1u) {
        ctr = philox_round(ctr, key);
        key = key + vec2<u32>(PHILOX_W0, PHILOX_W1);
    }
    return philox_round(ctr, key);
}

// Uniform in the open interval (0, 1) from the top 24 bits.
fn uniform_open01(x: u32) -> f32 {
    return (f32(x >> 8u) + 0.5) * (1.0 / 16777216.0);
}

// Three standard normal deviates by Box-Muller from one Philox block.
fn gaussian3(bits: vec4<u32>) -> vec3<f32> {
    let two_pi = 6.283185307179586;
    let r0 = sqrt(-2.0 * log(uniform_open01(bits.x)));
    let t0 = two_pi * uniform_open01(bits.y);
    let r1 = sqrt(-2.0 * log(uniform_open01(bits.z)));
    let t1 = two_pi * uniform_open01(bits.w);
    return vec3<f32>(r0 * cos(t0), r0 * sin(t0), r1 * cos(t1));
}
