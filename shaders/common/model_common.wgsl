// Shared by the energy model's kernels (model_energy.wgsl, model_grad.wgsl): the
// compile-time maxima of the per-invocation arrays (mirrored by MAX_* in
// src/model/kernels.rs and src/model/grad.rs), the workgroup tile, and the vec4 loads of
// the flat parameter vector. Expects the including shader to declare `theta`
// (storage array<f32>, the parameters in the layout of ModelConfig::layout).

const MAX_K: u32 = 64u;
const MAX_KV: u32 = 16u;
const MAX_D: u32 = 160u;
const MAX_H: u32 = 128u;
const TILE: u32 = 64u;

// Four rows (clamped to the last row h - 1) of a row-major matrix in theta at `base` with
// `cols` columns, column c: (M[q0][c], M[q0+1][c], M[q0+2][c], M[q0+3][c]).
fn rows4(base: u32, q0: u32, h: u32, cols: u32, c: u32) -> vec4<f32> {
    return vec4<f32>(
        theta[base + min(q0, h - 1u) * cols + c],
        theta[base + min(q0 + 1u, h - 1u) * cols + c],
        theta[base + min(q0 + 2u, h - 1u) * cols + c],
        theta[base + min(q0 + 3u, h - 1u) * cols + c],
    );
}

// Four consecutive entries (clamped to the last index h - 1) of theta from `base + u0`.
fn cols4(base: u32, u0: u32, h: u32) -> vec4<f32> {
    return vec4<f32>(
        theta[base + min(u0, h - 1u)],
        theta[base + min(u0 + 1u, h - 1u)],
        theta[base + min(u0 + 2u, h - 1u)],
        theta[base + min(u0 + 3u, h - 1u)],
    );
}
