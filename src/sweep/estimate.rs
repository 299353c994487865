//! How long a state point takes on an adapter, from the scene's amounts of work and the
//! rates `nti-gpu bench` measured on that adapter: what `sweep init --bench` turns into the
//! walltime row asks the scheduler for.
//!
//! Costs per particle are taken as growing linearly with N (every minimum-image pair in
//! the MD and λ windows; the model's pair passes and the all-pairs prior in the samplers),
//! scaled from the benchmark's N: a conservative rule for cut-off potentials, whose cost
//! per particle is flat. The estimate leaves out Widom insertion and set-up (seconds).

use crate::error::{Error, Result};
use crate::scene::{Estimator, Scene};
use serde_json::Value;
use std::path::Path;

/// The rates of one adapter, each at the particle count it was measured at.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rates {
    /// MD particle-steps/s and the N of that workload (`paper-N<N>-B<B>`).
    pub md: (f64, u32),
    /// Training configurations/s and N (`train-step-N<N>-B<B>`).
    pub train: (f64, u32),
    /// Sampler trajectory-steps/s with one MALA corrector, and N
    /// (`sampler-mala1-N<N>-C<C>`).
    pub sampler: (f64, u32),
}

/// Seconds per stage of one point.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StageSeconds {
    /// Reference sampling.
    pub sample: f64,
    /// Training.
    pub train: f64,
    /// λ-window TI.
    pub baselines: f64,
    /// Neural TI.
    pub integrate: f64,
}

impl StageSeconds {
    /// The whole point.
    pub fn total(&self) -> f64 {
        self.sample + self.train + self.baselines + self.integrate
    }
}

/// The N in a workload name such as `train-step-N200-B32`.
fn n_of(name: &str) -> Option<u32> {
    name.split('-')
        .find_map(|p| p.strip_prefix('N').and_then(|n| n.parse().ok()))
}

impl Rates {
    /// The rates of a bench report (`nti-gpu bench --json-out FILE`): for each kind, the
    /// workload of the largest N that it has (of equal N, the fastest).
    pub fn from_bench(report: &Value, path: &Path) -> Result<Rates> {
        let pick = |prefix: &str| -> Option<(f64, u32)> {
            report["workloads"]
                .as_array()?
                .iter()
                .filter_map(|w| {
                    let name = w["name"].as_str()?;
                    let rate = w["gpu"]["median"].as_f64()?;
                    (name.starts_with(prefix) && rate > 0.0).then_some((rate, n_of(name)?))
                })
                // The largest N; of equal N the fastest (the batched replicas of a run).
                .max_by(|a, b| a.1.cmp(&b.1).then(a.0.total_cmp(&b.0)))
        };
        let need = |prefix: &str| {
            pick(prefix).ok_or_else(|| Error::Format {
                path: path.to_path_buf(),
                message: format!(
                    "this bench report has no `{prefix}N…` workload; run `nti-gpu bench --suite \
                     quick --json-out FILE` (or standard) on the cluster's adapter"
                ),
            })
        };
        Ok(Rates {
            md: need("paper-N")?,
            train: need("train-step-N")?,
            sampler: need("sampler-mala1-N")?,
        })
    }

    /// The seconds of each stage of `scene`.
    pub fn estimate(&self, scene: &Scene) -> Result<StageSeconds> {
        let s = &scene.system;
        let scale = |n: u32, at: u32| n as f64 / at.max(1) as f64;
        let md_seconds =
            |n: u32, particle_steps: f64| particle_steps * scale(n, self.md.1) / self.md.0;
        let mut out = StageSeconds::default();
        let m = &scene.sampler;
        // The trained counts and those Widom insertion alone needs.
        for n in scene.sampled_counts() {
            let steps = (m.equilibration_steps + m.production_steps) as f64;
            out.sample += md_seconds(n, m.replicas as f64 * n as f64 * steps);
        }
        if let Some(t) = &scene.training {
            let share = t.batch as f64 / s.particles.len().max(1) as f64;
            let configs: f64 = s
                .particles
                .iter()
                .map(|&n| share * scale(n, self.train.1))
                .sum();
            out.train = t.steps as f64 * configs / self.train.0;
        }
        if let Some(l) = scene.baselines.as_ref().and_then(|b| b.lambda_ti.as_ref()) {
            let legs = l.legs() as f64;
            for &n in &s.particles {
                let steps = (l.equilibration_steps + l.production_steps) as f64;
                let ps = legs * l.windows as f64 * l.replicas_per_window as f64 * n as f64 * steps;
                out.baselines += md_seconds(n, ps);
            }
        }
        if let Some(integ) = &scene.integration {
            let grid = integ.grid.points(integ.steps as usize)?;
            // Model evaluations per grid point of a sampler at N, averaged over the grid.
            let evaluations = |n: u32| -> f64 {
                let settings = integ.correctors(n, s.box_length, s.sigma, true, false);
                let correctors = grid
                    .iter()
                    .map(|&t| f64::from(settings.steps_at(t)))
                    .sum::<f64>()
                    / grid.len().max(1) as f64;
                integ
                    .estimators
                    .iter()
                    .map(|e| match e {
                        Estimator::Corrected | Estimator::Annealed => 1.0 + correctors,
                        _ => 1.0,
                    })
                    .sum()
            };
            // The benchmark's step is a predictor and one corrector: two evaluations. With a
            // target error, the most batches it may run (a walltime must hold the worst case).
            let trajectories = f64::from(integ.trajectories) * f64::from(integ.max_batches());
            for n in integ.evaluated_counts(&s.particles) {
                out.integrate += trajectories * integ.steps as f64 * evaluations(n) / 2.0
                    * scale(n, self.sampler.1)
                    / self.sampler.0;
            }
        }
        Ok(out)
    }
}

/// A walltime for `seconds` of expected work: twice the estimate, rounded up to 5 minutes,
/// at least 10 minutes, as `HH:MM:SS`.
pub fn walltime(seconds: f64) -> String {
    let minutes = ((2.0 * seconds / 60.0 / 5.0).ceil() * 5.0).max(10.0) as u64;
    format!("{:02}:{:02}:00", minutes / 60, minutes % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_come_from_the_largest_workload_and_scale_with_n() {
        let report = serde_json::json!({"workloads": [
            {"name": "paper-N200-B64", "gpu": {"median": 1.0e6}},
            {"name": "paper-N200-B1", "gpu": {"median": 0.5e6}},
            {"name": "train-step-N40-B32", "gpu": {"median": 1000.0}},
            {"name": "train-step-N200-B32", "gpu": {"median": 200.0}},
            {"name": "sampler-mala1-N200-C64", "gpu": {"median": 400.0}},
        ]});
        let r = Rates::from_bench(&report, Path::new("b.json")).unwrap();
        assert_eq!(r.md.1, 200);
        assert_eq!(r.train, (200.0, 200));
        let text = r#"Scene(name: "e", seed: 1,
            system: (box_length: 6.0, temperature: 1.0, epsilon: 0.8, particles: [100],
                     potential: MinimumImage),
            sampler: (replicas: 10, dt: 0.005, equilibration_steps: 1000,
                      production_steps: 1000, record_every: 10, sample_every: 100),
            training: (steps: 100, batch: 20),
            integration: (trajectories: 8, steps: 10, correctors: 2, chemical_potential: false,
                          estimators: [Corrected, ReverseSde], grid: Uniform),
        )"#;
        let scene = Scene::from_str(text, "e").unwrap();
        let e = r.estimate(&scene).unwrap();
        // 10 × 100 × 2000 particle-steps at half the benchmark's N: 1 s.
        assert!((e.sample - 1.0).abs() < 1e-12, "{e:?}");
        // 100 steps × 20 configurations at half the N, 200 configurations/s: 5 s.
        assert!((e.train - 5.0).abs() < 1e-12, "{e:?}");
        // 8 × 10 × (3 + 1) evaluations / 2 at half the N, 400 steps/s: 0.2 s.
        assert!((e.integrate - 0.2).abs() < 1e-12, "{e:?}");
        // Sized by a target error: the walltime holds the most batches it may run (3 here).
        let sized = Scene::from_str(
            &text.replace(
                "grid: Uniform",
                "grid: Uniform, target_error: 0.1, max_trajectories: 30",
            ),
            "e",
        )
        .unwrap();
        let e3 = r.estimate(&sized).unwrap();
        assert!((e3.integrate - 0.6).abs() < 1e-12, "{e3:?}");
        // Widom at an integrated N it does not train on samples that N too: 50 particles,
        // half the cost per particle-step of 100, a quarter of 1 s more.
        let widom = Scene::from_str(
            &text
                .replace("chemical_potential: false,", "particles: [100, 50],")
                .replace(
                    "training: (",
                    "baselines: (widom: ()),\n            training: (",
                ),
            "e",
        )
        .unwrap();
        assert_eq!(widom.sampled_counts(), [100, 50]);
        let ew = r.estimate(&widom).unwrap();
        assert!((ew.sample - 1.25).abs() < 1e-12, "{ew:?}");
        assert_eq!(walltime(e.total()), "00:10:00");
        assert_eq!(walltime(3600.0), "02:00:00");
        let e = Rates::from_bench(&serde_json::json!({"workloads": []}), Path::new("b.json"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("paper-N") && e.contains("nti-gpu bench"), "{e}");
    }
}
