// Peak arithmetic throughput of the adapter, for `nti-gpu bench`: what the model kernels'
// FLOP/s are compared with.
//
// `peak_fma`: every invocation runs twelve independent chains of 4096 fused multiply-adds
//          on registers (no memory traffic but one store): 2 x 12 x 4096 FLOP per
//          invocation. Dispatch (groups, 1, 1), any number of groups.
// `peak_gemm`: z = W x for `count` vectors x of D = 64 floats and W of H = 64 rows, as the
//          energy model's layers compute it: the weights as vec4 blocks over four outputs
//          (w4[d * 16 + qb] = W[4 qb .. 4 qb + 3][d]), PPL vectors per invocation held in
//          registers (the compile-time parameter of shaders/model_energy.wgsl). 2 D H FLOP
//          per vector. Dispatch (ceil(count / (64 PPL)), 1, 1).
// Inputs: x[p * 64 + d] (count x 64 f32), w4 (1024 vec4). Output: z[p * 64 + q], or one float
//          per invocation for peak_fma.

const PPL: u32 = 1u;
const D: u32 = 64u;
const H4: u32 = 16u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> z: array<f32>;

@compute @workgroup_size(64)
fn peak_fma(@builtin(global_invocation_id) gid: vec3<u32>) {
    let seed = f32(gid.x) * 1e-6 + x[0];
    var a0 = seed;
    var a1 = seed + 0.1;
    var a2 = seed + 0.2;
    var a3 = seed + 0.3;
    var a4 = seed + 0.4;
    var a5 = seed + 0.5;
    var a6 = seed + 0.6;
    var a7 = seed + 0.7;
    var a8 = seed + 0.8;
    var a9 = seed + 0.9;
    var a10 = seed + 1.0;
    var a11 = seed + 1.1;
    let m = 0.999 + 1e-9 * w4[0].x;
    let c = 0.001;
    for (var i = 0u; i < 4096u; i = i + 1u) {
        a0 = fma(a0, m, c);
        a1 = fma(a1, m, c);
        a2 = fma(a2, m, c);
        a3 = fma(a3, m, c);
        a4 = fma(a4, m, c);
        a5 = fma(a5, m, c);
        a6 = fma(a6, m, c);
        a7 = fma(a7, m, c);
        a8 = fma(a8, m, c);
        a9 = fma(a9, m, c);
        a10 = fma(a10, m, c);
        a11 = fma(a11, m, c);
    }
    z[gid.x] = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
}

@compute @workgroup_size(64)
fn peak_gemm(@builtin(global_invocation_id) gid: vec3<u32>) {
    let count = arrayLength(&z) / (4u * H4);
    let p0 = gid.x * PPL;
    if (p0 >= count) {
        return;
    }
    //#repeat m PPL
    let p_@m = min(p0 + @mu, count - 1u);
    var x_@m: array<f32, D>;
    for (var d = 0u; d < D; d = d + 1u) {
        x_@m[d] = x[p_@m * D + d];
    }
    //#end
    for (var qb = 0u; qb < H4; qb = qb + 1u) {
        //#repeat m PPL
        var acc_@m = vec4<f32>(0.0);
        //#end
        for (var d = 0u; d < D; d = d + 1u) {
            let w = w4[d * H4 + qb];
            //#repeat m PPL
            acc_@m = fma(w, vec4<f32>(x_@m[d]), acc_@m);
            //#end
        }
        //#repeat m PPL
        if (p0 + @mu < count) {
            let o = (p0 + @mu) * 4u * H4 + 4u * qb;
            z[o] = acc_@m.x;
            z[o + 1u] = acc_@m.y;
            z[o + 2u] = acc_@m.z;
            z[o + 3u] = acc_@m.w;
        }
        //#end
    }
}
