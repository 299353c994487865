//! f64 reference of `shaders/adam.wgsl`: one AdamW update with the learning-rate schedule
//! of [`AdamSettings::learning_rate`].

use crate::scene::AdamSettings;

/// One AdamW update in f64: the reference of `adam_update` (step is the number of updates
/// done before this one).
pub fn adam_update(
    s: &AdamSettings,
    step: u64,
    theta: &mut [f64],
    grad: &[f64],
    m: &mut [f64],
    v: &mut [f64],
) {
    let lr = s.learning_rate(step);
    let t = step as f64 + 1.0;
    for p in 0..theta.len() {
        m[p] = s.beta1 * m[p] + (1.0 - s.beta1) * grad[p];
        v[p] = s.beta2 * v[p] + (1.0 - s.beta2) * grad[p] * grad[p];
        let mhat = m[p] / (1.0 - s.beta1.powf(t));
        let vhat = v[p] / (1.0 - s.beta2.powf(t));
        theta[p] -= lr * (mhat / (vhat.sqrt() + s.eps) + s.weight_decay * theta[p]);
    }
}
