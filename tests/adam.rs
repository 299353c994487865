//! AdamW on the device against its f64 reference, over several steps and across the
//! learning-rate schedule, with and without weight averaging.

mod common;

use nti_gpu::model::adam::Adam;
use nti_gpu::reference::adam::{adam_update, average_update};
use nti_gpu::scene::AdamSettings;

#[test]
fn adamw_steps_match_reference() {
    let Some(g) = common::gpu() else { return };
    // No averaging (the average is θ), a short one (past its warm-up within the 6 steps:
    // min(0.3, (1 + k)/(10 + k)) reaches 0.3 at k = 3) and a long one (all warm-up).
    for average in [None, Some(0.3), Some(0.999)] {
        steps_match_reference(&g, average);
    }
}

fn steps_match_reference(g: &nti_gpu::gpu::Gpu, average: Option<f64>) {
    let settings = AdamSettings {
        lr: 3e-3,
        lr_decay: 0.5,
        lr_decay_steps: 2.0,
        lr_min: 1e-3,
        weight_decay: 0.01,
        average,
        ..Default::default()
    };
    let p = 1000usize;
    let theta0: Vec<f32> = (0..p)
        .map(|k| ((k * 37 % 101) as f32 - 50.0) * 0.01)
        .collect();
    let adam = Adam::new(g, &settings, &theta0, None, None, 0).unwrap();
    let mut theta: Vec<f64> = theta0.iter().map(|&x| x as f64).collect();
    let mut avg = theta.clone();
    let (mut m, mut v) = (vec![0.0; p], vec![0.0; p]);
    for step in 0..6u64 {
        // A gradient that changes sign and scale from step to step.
        let grad: Vec<f32> = (0..p)
            .map(|k| (((k + 3 * step as usize) % 17) as f32 - 8.0) * 0.1 * (1.0 + step as f32))
            .collect();
        g.queue
            .write_buffer(&adam.grad, 0, bytemuck::cast_slice(&grad));
        let mut encoder = g.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            adam.record_step(&mut pass);
        }
        g.queue.submit([encoder.finish()]);
        let grad64: Vec<f64> = grad.iter().map(|&x| x as f64).collect();
        adam_update(&settings, step, &mut theta, &grad64, &mut m, &mut v);
        average_update(&settings, step, &mut avg, &theta);
    }
    let snap = adam.read_state(g).unwrap();
    let (gt, gm, gv) = (&snap.theta, &snap.m, &snap.v);
    assert_eq!(snap.step, 6);
    for k in 0..p {
        assert!(
            (gt[k] as f64 - theta[k]).abs() < 1e-5 * (1.0 + theta[k].abs()),
            "theta {k}: {} vs {}",
            gt[k],
            theta[k]
        );
        assert!(
            (gm[k] as f64 - m[k]).abs() < 1e-5 * (1.0 + m[k].abs()),
            "m {k}"
        );
        // 1 - beta2 = 1e-3 is not exact in f32 (relative 1.3e-5).
        assert!(
            (gv[k] as f64 - v[k]).abs() < 1e-4 * (1e-6 + v[k].abs()),
            "v {k}: {} vs {}",
            gv[k],
            v[k]
        );
        let ga = snap.average[k] as f64;
        assert!(
            (ga - avg[k]).abs() < 1e-5 * (1.0 + avg[k].abs()),
            "average {average:?}, parameter {k}: {ga} vs {}",
            avg[k]
        );
        if average.is_none() {
            assert_eq!(snap.average[k], gt[k], "no averaging: the average is θ");
        }
    }
    // The average moved away from θ where it averages (θ changes by ~lr per step).
    let apart = (0..p).filter(|&k| snap.average[k] != gt[k]).count();
    assert_eq!(apart > p / 2, average.is_some(), "{apart} of {p} apart");
    // The schedule reached its floor: lr(6) = max(3e-3 * 0.5^3, 1e-3) = 1e-3.
    assert_eq!(settings.learning_rate(6), 1e-3);
}
