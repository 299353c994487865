//! What a set of device buffers and dispatches asks of an adapter, computed from sizes
//! alone: the kernels' allocators check their own footprint before they allocate, and
//! `nti-gpu check` adds up a whole scene's against an adapter's limits (or WebGPU's
//! defaults) before anything runs. wgpu answers a buffer or a dispatch beyond the limits
//! with a panic, so nothing may reach it unchecked.

/// One demand on the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Demand {
    /// Bytes of a storage buffer bound whole to a shader.
    Binding(u64),
    /// Bytes of a buffer that is only copied (never bound whole).
    Buffer(u64),
    /// Workgroups along one dimension of a dispatch.
    Workgroups(u64),
}

/// A named demand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Need {
    /// The buffer or dispatch, as its allocator names it.
    pub label: &'static str,
    /// How much of what.
    pub demand: Demand,
}

/// The demands of one allocation (a batch of replicas, a model workspace, …).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Footprint(pub Vec<Need>);

/// A demand beyond a limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Excess {
    /// The buffer or dispatch.
    pub label: &'static str,
    /// What it asks for.
    pub demand: Demand,
    /// The adapter's limit.
    pub limit: u64,
}

impl Footprint {
    /// Adds a storage buffer bound whole.
    pub fn binding(mut self, label: &'static str, bytes: u64) -> Self {
        self.0.push(Need {
            label,
            demand: Demand::Binding(bytes),
        });
        self
    }

    /// Adds a copy-only buffer.
    pub fn buffer(mut self, label: &'static str, bytes: u64) -> Self {
        self.0.push(Need {
            label,
            demand: Demand::Buffer(bytes),
        });
        self
    }

    /// Adds a dispatch of `groups` workgroups along one dimension.
    pub fn workgroups(mut self, label: &'static str, groups: u64) -> Self {
        self.0.push(Need {
            label,
            demand: Demand::Workgroups(groups),
        });
        self
    }

    /// Both footprints' demands.
    pub fn with(mut self, other: Footprint) -> Self {
        self.0.extend(other.0);
        self
    }

    /// The largest excess over `limits` (by ratio to its limit), if any demand exceeds one.
    pub fn excess(&self, limits: &wgpu::Limits) -> Option<Excess> {
        self.0
            .iter()
            .filter_map(|need| {
                let (amount, limit) = match need.demand {
                    Demand::Binding(b) => (
                        b,
                        limits
                            .max_storage_buffer_binding_size
                            .min(limits.max_buffer_size),
                    ),
                    Demand::Buffer(b) => (b, limits.max_buffer_size),
                    Demand::Workgroups(g) => {
                        (g, limits.max_compute_workgroups_per_dimension as u64)
                    }
                };
                (amount > limit).then_some(Excess {
                    label: need.label,
                    demand: need.demand,
                    limit,
                })
            })
            .max_by(|a, b| {
                let ratio = |e: &Excess| e.amount() as f64 / e.limit.max(1) as f64;
                ratio(a).total_cmp(&ratio(b))
            })
    }
}

/// Bytes as a short human figure (MiB above 1 MiB).
fn bytes(b: u64) -> String {
    if b >= 1 << 20 {
        format!("{:.0} MiB", b as f64 / (1u64 << 20) as f64)
    } else {
        format!("{b} bytes")
    }
}

impl Excess {
    /// The demand's amount (bytes or workgroups).
    pub fn amount(&self) -> u64 {
        match self.demand {
            Demand::Binding(b) | Demand::Buffer(b) | Demand::Workgroups(b) => b,
        }
    }
}

impl std::fmt::Display for Excess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.demand {
            Demand::Binding(b) => write!(
                f,
                "buffer `{}` needs {}, more than the {} a storage binding may hold",
                self.label,
                bytes(b),
                bytes(self.limit)
            ),
            Demand::Buffer(b) => write!(
                f,
                "buffer `{}` needs {}, more than the {} a buffer may hold",
                self.label,
                bytes(b),
                bytes(self.limit)
            ),
            Demand::Workgroups(g) => write!(
                f,
                "dispatch `{}` needs {g} workgroups along one dimension, more than the {} \
                 allowed",
                self.label, self.limit
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excess_names_the_worst_demand_and_only_demands_beyond_a_limit() {
        let limits = wgpu::Limits::default();
        let binding = limits.max_storage_buffer_binding_size;
        let fits = Footprint::default()
            .binding("a", binding)
            .buffer("b", limits.max_buffer_size)
            .workgroups("c", 65535);
        assert_eq!(fits.excess(&limits), None);
        let over = fits
            .clone()
            .binding("twice", 2 * binding)
            .workgroups("thrice", 3 * 65535);
        let e = over.excess(&limits).unwrap();
        assert_eq!(e.label, "thrice");
        assert_eq!(e.limit, 65535);
        assert!(e.to_string().contains("196605 workgroups"), "{e}");
        // A binding is bounded by the buffer-size limit too where that is the smaller one.
        let tight = wgpu::Limits {
            max_buffer_size: 1000,
            ..limits
        };
        let e = Footprint::default()
            .binding("x", 1001)
            .excess(&tight)
            .unwrap();
        assert_eq!((e.label, e.limit), ("x", 1000));
    }
}
