// AdamW update of a flat parameter vector (Loshchilov & Hutter), the paper's optimizer.
//
// Inputs:  params (step count, learning-rate schedule, betas, eps, weight decay);
//          grad[p] (the batch-mean gradient), state.step (updates done so far).
// Outputs: theta[p], m[p], v[p] updated in place:
//            lr_t = max(lr0 * decay^(t / decay_steps), lr_min), t = state.step
//            m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//            theta -= lr_t * ( m / (1 - b1^(t+1)) / (sqrt(v / (1 - b2^(t+1))) + eps) + wd * theta )
//          avg[p], the exponential moving average of theta (weight averaging):
//            d = min(average, (1 + t) / (10 + t));  avg = d avg + (1 - d) theta
//          (average = 0: avg is theta; the warm-up (1 + t)/(10 + t) keeps the random
//          initial parameters from lingering in it).
// Dispatch: adam_update over (ceil(P / 64), 1, 1) workgroups of 64; then adam_advance
//          (1 invocation) increments state.step. The CPU references are
//          src/reference/adam.rs::adam_update and ::average_update.

struct AdamParams {
    count: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
    lr0: f32,
    decay: f32,
    decay_steps: f32,
    lr_min: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    weight_decay: f32,
    average: f32,
    _pad3: u32,
    _pad4: u32,
    _pad5: u32,
}

struct AdamState {
    step: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: AdamParams;
@group(0) @binding(1) var<storage, read_write> theta: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@group(0) @binding(5) var<storage, read_write> state: AdamState;
@group(0) @binding(6) var<storage, read_write> avg: array<f32>;

@compute @workgroup_size(64)
fn adam_update(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = gid.x;
    if (p >= params.count) {
        return;
    }
    let t = f32(state.step);
    let lr = max(params.lr0 * pow(params.decay, t / params.decay_steps), params.lr_min);
    let g = grad[p];
    let m1 = params.beta1 * m[p] + (1.0 - params.beta1) * g;
    let v1 = params.beta2 * v[p] + (1.0 - params.beta2) * g * g;
    m[p] = m1;
    v[p] = v1;
    let mhat = m1 / (1.0 - pow(params.beta1, t + 1.0));
    let vhat = v1 / (1.0 - pow(params.beta2, t + 1.0));
    let w = theta[p];
    let w1 = w - lr * (mhat / (sqrt(vhat) + params.eps) + params.weight_decay * w);
    theta[p] = w1;
    let d = min(params.average, (1.0 + t) / (10.0 + t));
    avg[p] = d * avg[p] + (1.0 - d) * w1;
}

@compute @workgroup_size(1)
fn adam_advance() {
    state.step = state.step + 1u;
}
