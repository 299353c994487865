//! The `training` section of a scene: denoising score-matching settings, the regression
//! target ([`ScoreTarget`]) and AdamW with its learning-rate schedule ([`AdamSettings`]).

use super::bad;
use super::model::{S_MAX_OVER_L, S_MIN_OVER_L};
use crate::error::Result;
use serde::{Deserialize, Serialize};

/// Training settings (defaults: the paper's code, with a CI-sized step count).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingSettings {
    /// Optimizer steps (the paper: 100 000).
    #[serde(default = "default_training_steps")]
    pub steps: u64,
    /// Configurations per batch (the paper: 32).
    #[serde(default = "default_batch")]
    pub batch: u32,
    /// AdamW and its learning-rate schedule.
    #[serde(default)]
    pub optimizer: AdamSettings,
    /// Read the loss back every this many steps (progress bar, loss log).
    #[serde(default = "default_log_every")]
    pub log_every: u32,
    /// Write a checkpoint every this many steps.
    #[serde(default = "default_checkpoint_every")]
    pub checkpoint_every: u32,
    /// Regression target of the score (default: target score matching blended into
    /// denoising above t = 0.3; `Denoising` is the paper's plain DSM).
    #[serde(default)]
    pub target: ScoreTarget,
    /// Times are drawn as t = v^time_exponent with v stratified uniform over the batch:
    /// 1 is uniform (the paper), 3 (default) puts 0.1^(1/3) ≈ 46 % of the configurations
    /// below t = 0.1, where the target score gives the loss its signal.
    #[serde(default = "default_time_exponent")]
    pub time_exponent: f64,
}

fn default_time_exponent() -> f64 {
    3.0
}

fn default_training_steps() -> u64 {
    10_000
}
fn default_batch() -> u32 {
    32
}
fn default_log_every() -> u32 {
    100
}
fn default_checkpoint_every() -> u32 {
    1000
}

impl TrainingSettings {
    /// Checks the `training` section of a scene with `counts` particle counts.
    pub fn validate(&self, path: &str, counts: usize) -> Result<()> {
        let t = self;
        if t.steps == 0 {
            return Err(bad(path, "training.steps", 0, "must be >= 1"));
        }
        if t.batch == 0 || t.batch > 4096 {
            return Err(bad(
                path,
                "training.batch",
                t.batch,
                "must be in 1..=4096 (the paper uses 32)",
            ));
        }
        if t.log_every == 0 || t.checkpoint_every == 0 {
            return Err(bad(
                path,
                "training.log_every",
                format!("{} / checkpoint_every {}", t.log_every, t.checkpoint_every),
                "both must be >= 1",
            ));
        }
        t.optimizer.validate().map_err(|(field, value, range)| {
            bad(path, &format!("training.optimizer.{field}"), value, range)
        })?;
        if let ScoreTarget::Blend { switch } = t.target {
            if !(0.0..=1.0).contains(&switch) {
                return Err(bad(
                    path,
                    "training.target.switch",
                    switch,
                    "must be a time in [0, 1] (0.3 is the default; use `target: \
                     Denoising` for plain denoising score matching)",
                ));
            }
        }
        if !(t.time_exponent.is_finite() && (0.25..=4.0).contains(&t.time_exponent)) {
            return Err(bad(
                path,
                "training.time_exponent",
                t.time_exponent,
                "must be in [0.25, 4] (1 = uniform t, 2 = more configurations at small t)",
            ));
        }
        if t.batch < counts as u32 {
            return Err(bad(
                path,
                "training.batch",
                t.batch,
                format!(
                    "must be at least the number of particle counts ({counts}): every step \
                     trains each N on batch / {counts} configurations"
                ),
            ));
        }
        Ok(())
    }
}

/// Default switch time of [`ScoreTarget::Blend`].
pub const DEFAULT_TARGET_SWITCH: f64 = 0.3;

/// Regression target of ∇_x E(x_t, t) in the training loss (scene field
/// `training.target`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum ScoreTarget {
    /// The noise z: denoising score matching, the paper's loss.
    Denoising,
    /// w(t) · s(t) β∇U(x_0) + (1 − w(t)) · z, w(t) = 1/(1 + (s(t)/s(switch))²): target
    /// score matching below `switch`, denoising above.
    Blend {
        /// Time t_w at which w = 1/2, in [0, 1].
        switch: f64,
    },
}

impl Default for ScoreTarget {
    fn default() -> Self {
        ScoreTarget::Blend {
            switch: DEFAULT_TARGET_SWITCH,
        }
    }
}

impl ScoreTarget {
    /// Weight w(t) of the target score (0 for [`ScoreTarget::Denoising`]).
    ///
    /// Blend: w(t) = 1 / (1 + (s(t)/s(t_w))²), a logistic in t, w = 1/2 at the switch time
    /// t_w, → 1 below it (w(0) ≥ 0.998 for t_w ≥ 0.5) and decaying as
    /// exp(−2 ln(s_max/s_min)(t − t_w)) ≈ exp(−12.4 (t − t_w)) above it. This is the
    /// minimum-variance blend of two independent unbiased estimates with variances 1 (the
    /// noise z) and (s(t)/s(t_w))² (the target score, whose spread grows like s(t)); see
    /// [`score_matching_target`](crate::reference::model_grad::score_matching_target).
    pub fn weight(&self, t: f64) -> f64 {
        match *self {
            ScoreTarget::Denoising => 0.0,
            ScoreTarget::Blend { switch } => {
                let ln_ratio = (S_MAX_OVER_L / S_MIN_OVER_L).ln();
                1.0 / (1.0 + (2.0 * ln_ratio * (t - switch)).exp())
            }
        }
    }
}

/// AdamW hyperparameters and the learning-rate schedule (defaults: the paper's code).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdamSettings {
    /// Initial learning rate.
    #[serde(default = "default_lr")]
    pub lr: f64,
    /// Factor applied every `decay_steps` (continuously).
    #[serde(default = "default_decay")]
    pub lr_decay: f64,
    /// Steps per decay factor.
    #[serde(default = "default_decay_steps")]
    pub lr_decay_steps: f64,
    /// Floor of the learning rate.
    #[serde(default = "default_lr_min")]
    pub lr_min: f64,
    /// First-moment decay.
    #[serde(default = "default_beta1")]
    pub beta1: f64,
    /// Second-moment decay.
    #[serde(default = "default_beta2")]
    pub beta2: f64,
    /// Denominator regulariser.
    #[serde(default = "default_eps")]
    pub eps: f64,
    /// Decoupled weight decay.
    #[serde(default)]
    pub weight_decay: f64,
    /// Weight averaging: the decay d of an exponential moving average of the parameters,
    /// avg ← d_k·avg + (1 − d_k)·θ after update k with d_k = min(d, (1 + k)/(10 + k)). The
    /// warm-up term rules until k ≈ 9/(1 − d) − 10 (≈ 9 000 updates for d = 0.999), and
    /// meanwhile the average spans about the last k/9 updates: ≈ 560 after 5 000, whatever
    /// d ≥ 0.9982. The checkpoint keeps it beside θ and the samplers use it. Absent: no
    /// averaging, the samplers use θ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average: Option<f64>,
}

fn default_lr() -> f64 {
    1e-3
}
fn default_decay() -> f64 {
    0.1
}
fn default_decay_steps() -> f64 {
    50_000.0
}
fn default_lr_min() -> f64 {
    1e-5
}
fn default_beta1() -> f64 {
    0.9
}
fn default_beta2() -> f64 {
    0.999
}
fn default_eps() -> f64 {
    1e-8
}

impl Default for AdamSettings {
    fn default() -> Self {
        AdamSettings {
            lr: default_lr(),
            lr_decay: default_decay(),
            lr_decay_steps: default_decay_steps(),
            lr_min: default_lr_min(),
            beta1: default_beta1(),
            beta2: default_beta2(),
            eps: default_eps(),
            weight_decay: 0.0,
            average: None,
        }
    }
}

impl AdamSettings {
    /// Learning rate at update `step` (0-based).
    pub fn learning_rate(&self, step: u64) -> f64 {
        (self.lr * self.lr_decay.powf(step as f64 / self.lr_decay_steps)).max(self.lr_min)
    }

    /// Checks every value; the error names the field (relative to the `training` section).
    pub fn validate(&self) -> std::result::Result<(), (String, String, String)> {
        let check = |name: &str, v: f64, ok: bool, range: &str| {
            if ok && v.is_finite() {
                Ok(())
            } else {
                Err((name.to_string(), v.to_string(), range.to_string()))
            }
        };
        check("lr", self.lr, self.lr > 0.0, "must be > 0")?;
        check(
            "lr_decay",
            self.lr_decay,
            self.lr_decay > 0.0 && self.lr_decay <= 1.0,
            "must be in (0, 1]",
        )?;
        check(
            "lr_decay_steps",
            self.lr_decay_steps,
            self.lr_decay_steps > 0.0,
            "must be > 0",
        )?;
        check(
            "lr_min",
            self.lr_min,
            self.lr_min >= 0.0 && self.lr_min <= self.lr,
            "must be in [0, lr]",
        )?;
        check(
            "beta1",
            self.beta1,
            (0.0..1.0).contains(&self.beta1),
            "must be in [0, 1)",
        )?;
        check(
            "beta2",
            self.beta2,
            (0.0..1.0).contains(&self.beta2),
            "must be in [0, 1)",
        )?;
        check("eps", self.eps, self.eps > 0.0, "must be > 0")?;
        check(
            "weight_decay",
            self.weight_decay,
            self.weight_decay >= 0.0,
            "must be >= 0",
        )?;
        match self.average {
            Some(d) => check(
                "average",
                d,
                (0.0..1.0).contains(&d),
                "must be in [0, 1) (e.g. 0.999: an average over about the last 1 000 updates \
                 once past its warm-up; leave it out for no averaging)",
            ),
            None => Ok(()),
        }
    }
}
