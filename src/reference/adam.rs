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

/// The moving average's update after update `step` (0-based) produced `theta`: the
/// reference of the average in `adam_update`, d = min(average, (1 + step)/(10 + step)),
/// avg = d avg + (1 − d) θ (average 0: avg = θ).
pub fn average_update(s: &AdamSettings, step: u64, avg: &mut [f64], theta: &[f64]) {
    let t = step as f64;
    let d = s.average.unwrap_or(0.0).min((1.0 + t) / (10.0 + t));
    for (a, &w) in avg.iter_mut().zip(theta) {
        *a = d * *a + (1.0 - d) * w;
    }
}
