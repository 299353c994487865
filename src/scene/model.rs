//! The `model` section of a scene: the architecture of the energy model Ũ_θ
//! ([`ModelConfig`]: descriptor sizes, MLP width, cutoff; the flat parameter layout
//! [`ParamLayout`]), the GPU kernels' size limits, and [`ModelSystem`], the physical
//! system as the model sees it. The model itself is specified in
//! [`crate::reference::model_energy`] (docs/method.md §3).

use serde::{Deserialize, Serialize};

/// Largest K (radial basis functions) the GPU kernels support.
pub const MAX_K: usize = 64;
/// Largest K_v (vector channels) the GPU kernels support.
pub const MAX_KV: usize = 16;
/// Largest feature dimension D the GPU kernels support.
pub const MAX_D: usize = 160;
/// Largest hidden width H the GPU kernels support.
pub const MAX_H: usize = 128;

/// s_min / L of the noise schedule.
pub const S_MIN_OVER_L: f64 = 1e-3;
/// s_max / L of the noise schedule.
pub const S_MAX_OVER_L: f64 = 0.5;

/// Hyper-parameters of the energy model (descriptor sizes and MLP width).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// K: number of radial basis functions (≥ 2).
    pub k_radial: usize,
    /// K_v ≤ K: number of radial channels carrying vector moments (0: none).
    pub vector_channels: usize,
    /// M: number of sin/cos frequency pairs in the time features.
    pub time_frequencies: usize,
    /// H: width of both hidden layers.
    pub hidden: usize,
    /// Descriptor cutoff r_c (absolute length; the paper's is 2σ).
    pub r_c: f64,
}

impl Default for ModelConfig {
    /// K = 16, K_v = 8, M = 3, H = 64, r_c = 2 (that is 2σ for σ = 1).
    fn default() -> Self {
        Self {
            k_radial: 16,
            vector_channels: 8,
            time_frequencies: 3,
            hidden: 64,
            r_c: 2.0,
        }
    }
}

/// Why a [`ModelConfig`] cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelConfigError {
    /// Fewer than two radial basis functions (the spacing Δ = r_c/(K−1) needs K ≥ 2).
    #[error("k_radial = {0}: need at least 2 radial basis functions")]
    TooFewRadial(usize),
    /// More vector channels than radial channels.
    #[error("vector_channels = {vector} exceeds k_radial = {radial}")]
    TooManyVector {
        /// K_v as given.
        vector: usize,
        /// K as given.
        radial: usize,
    },
    /// Zero hidden width.
    #[error("hidden = 0: the MLP needs at least one hidden unit")]
    NoHidden,
    /// Non-positive or non-finite cutoff.
    #[error("r_c = {0}: the descriptor cutoff must be positive and finite")]
    BadCutoff(f64),
    /// A size beyond the GPU kernels' compile-time maxima ([`MAX_K`], [`MAX_KV`],
    /// [`MAX_D`], [`MAX_H`]).
    #[error(
        "{what} = {value} exceeds the GPU kernels' maximum {max} (raise MAX_* in \
         shaders/common/model_common.wgsl and src/scene/model.rs together)"
    )]
    ExceedsKernels {
        /// Which size.
        what: &'static str,
        /// Its value.
        value: usize,
        /// The kernels' maximum.
        max: usize,
    },
}

/// Offsets of each parameter block in the flat parameter vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamLayout {
    /// W1, H×D row-major.
    pub w1: usize,
    /// b1, H.
    pub b1: usize,
    /// W2, H×H row-major.
    pub w2: usize,
    /// b2, H.
    pub b2: usize,
    /// w3, H.
    pub w3: usize,
    /// b3, 1.
    pub b3: usize,
    /// Total number of parameters.
    pub len: usize,
}

impl ModelConfig {
    /// Checks the sizes the functions of this module assume.
    pub fn validate(&self) -> Result<(), ModelConfigError> {
        if self.k_radial < 2 {
            return Err(ModelConfigError::TooFewRadial(self.k_radial));
        }
        if self.vector_channels > self.k_radial {
            return Err(ModelConfigError::TooManyVector {
                vector: self.vector_channels,
                radial: self.k_radial,
            });
        }
        if self.hidden == 0 {
            return Err(ModelConfigError::NoHidden);
        }
        if !(self.r_c.is_finite() && self.r_c > 0.0) {
            return Err(ModelConfigError::BadCutoff(self.r_c));
        }
        Ok(())
    }

    /// [`ModelConfig::validate`], and the sizes against the GPU kernels' compile-time
    /// maxima (the per-invocation arrays of `shaders/model_*.wgsl`).
    pub fn check_kernel_limits(&self) -> Result<(), ModelConfigError> {
        self.validate()?;
        let checks = [
            ("k_radial (K)", self.k_radial, MAX_K),
            ("vector_channels (K_v)", self.vector_channels, MAX_KV),
            ("feature dimension D", self.feature_dim(), MAX_D),
            ("hidden (H)", self.hidden, MAX_H),
        ];
        for (what, value, max) in checks {
            if value > max {
                return Err(ModelConfigError::ExceedsKernels { what, value, max });
            }
        }
        Ok(())
    }

    /// Number of rotation invariants q_kl: K_v(K_v+1)/2.
    pub fn vector_invariant_count(&self) -> usize {
        self.vector_channels * (self.vector_channels + 1) / 2
    }

    /// Number of time features: 1 + 2M.
    pub fn time_feature_count(&self) -> usize {
        1 + 2 * self.time_frequencies
    }

    /// Offset of the time features in f_i: K + K_v(K_v+1)/2.
    pub fn time_feature_offset(&self) -> usize {
        self.k_radial + self.vector_invariant_count()
    }

    /// D = K + K_v(K_v+1)/2 + 1 + 2M.
    pub fn feature_dim(&self) -> usize {
        self.time_feature_offset() + self.time_feature_count()
    }

    /// Offsets of W1, b1, W2, b2, w3, b3 in the flat parameter vector.
    pub fn layout(&self) -> ParamLayout {
        let (d, h) = (self.feature_dim(), self.hidden);
        let w1 = 0;
        let b1 = w1 + h * d;
        let w2 = b1 + h;
        let b2 = w2 + h * h;
        let w3 = b2 + h;
        let b3 = w3 + h;
        ParamLayout {
            w1,
            b1,
            w2,
            b2,
            w3,
            b3,
            len: b3 + 1,
        }
    }

    /// H·D + H + H² + H + H + 1.
    pub fn param_count(&self) -> usize {
        self.layout().len
    }

    /// Deterministic initial parameters: weights uniform in ±sqrt(6/(fan_in + fan_out))
    /// (Glorot), biases zero, drawn in layout order from
    /// [`PhiloxStream::new`](crate::reference::rng::PhiloxStream::new)`(seed)`.
    pub fn init_params(&self, seed: u64) -> Vec<f64> {
        let (d, h) = (self.feature_dim(), self.hidden);
        let lay = self.layout();
        let mut rng = crate::reference::rng::PhiloxStream::new(seed);
        let mut params = vec![0.0; lay.len];
        let mut fill = |block: &mut [f64], fan_in: usize, fan_out: usize| {
            let a = (6.0 / (fan_in + fan_out) as f64).sqrt();
            for w in block {
                *w = a * (2.0 * rng.uniform() - 1.0);
            }
        };
        fill(&mut params[lay.w1..lay.b1], d, h);
        fill(&mut params[lay.w2..lay.b2], h, h);
        fill(&mut params[lay.w3..lay.b3], h, 1);
        params
    }

    /// Spacing of the radial centres, Δ = r_c/(K−1).
    pub fn radial_spacing(&self) -> f64 {
        self.r_c / (self.k_radial - 1) as f64
    }

    /// Width parameter of the radial basis, γ = 1/(2Δ²).
    pub fn radial_gamma(&self) -> f64 {
        let delta = self.radial_spacing();
        0.5 / (delta * delta)
    }
}

/// The energy model's view of the physical system: box, inverse temperature and the LJ
/// parameters of its soft-core prior ([`Scene::model_system`](super::Scene::model_system)).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelSystem {
    /// Side L of the cubic periodic box.
    pub box_length: f64,
    /// Inverse temperature β = 1/kT.
    pub beta: f64,
    /// LJ well depth ε.
    pub epsilon: f64,
    /// LJ diameter σ.
    pub sigma: f64,
    /// Spherical cutoff of the soft-core prior (`None`: every minimum-image pair).
    pub cutoff: Option<f64>,
}

impl ModelSystem {
    /// s_min = 1e-3 L.
    pub fn s_min(&self) -> f64 {
        S_MIN_OVER_L * self.box_length
    }
}
