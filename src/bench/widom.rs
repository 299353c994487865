//! Widom-insertion workloads: insertion energies of test particles into stored
//! configurations, in pair-energy evaluations per second (insertions × N / s).

use super::{on_threads, BenchOptions, Spread, Workload, WorkloadResult};
use crate::error::Result;
use crate::gpu::Gpu;
use crate::md::init::initial_state;
use serde::Serialize;
use std::time::Instant;

/// One Widom-insertion workload: `configs` configurations of N particles, `insertions`
/// test particles each.
#[derive(Clone, Debug, Serialize)]
pub struct WidomWorkload {
    /// Stable name.
    pub name: String,
    /// The underlying system (its replicas field is unused).
    pub system: Workload,
    /// Configurations.
    pub configs: u32,
    /// Insertions per configuration.
    pub insertions: u32,
}

impl WidomWorkload {
    /// 64 configurations of the paper's N = 200 box, 4096 insertions each.
    pub fn paper() -> Self {
        WidomWorkload {
            name: "widom-paper-N200".into(),
            system: Workload::paper(1),
            configs: 64,
            insertions: 4096,
        }
    }

    /// 16 configurations of the ρ = 0.8 fluid, N = 4000, r_c = 2.5, 4096 insertions each.
    pub fn fluid() -> Self {
        WidomWorkload {
            name: "widom-lj-rho0.8-N4000".into(),
            system: Workload::fluid(4000),
            configs: 16,
            insertions: 4096,
        }
    }
}

/// Measures one Widom workload on the GPU (5 repeats, including the copy of each chunk of
/// configurations and the readback of the energies) and the f64 CPU reference on one and
/// on all threads.
pub fn bench_widom(gpu: &Gpu, w: &WidomWorkload, opts: &BenchOptions) -> Result<WorkloadResult> {
    use crate::md::widom::{insertion_energies, Configurations, WidomKernel};
    let kernel = WidomKernel::new(gpu)?;
    let lj = w.system.lj();
    let (pos, _) = initial_state(w.system.n, w.configs, lj.box_length, 1.0, 1.0, 3);
    let pos4: Vec<[f32; 4]> = pos
        .iter()
        .map(|p| [p[0] as f32, p[1] as f32, p[2] as f32, 0.0])
        .collect();
    let buffer = gpu.storage_from("widom bench configs", &pos4);
    let set = Configurations {
        buffer: &buffer,
        n: w.system.n,
        replicas: 1,
        frames: w.configs,
    };
    let beta = 1.0 / w.system.temperature;
    let evals = w.configs as f64 * w.insertions as f64 * w.system.n as f64;
    insertion_energies(gpu, &kernel, &set, &lj, beta, w.insertions, 1)?; // warm-up
    let mut rates = Vec::new();
    for rep in 0..5 {
        gpu.wait()?;
        let t = Instant::now();
        insertion_energies(gpu, &kernel, &set, &lj, beta, w.insertions, rep)?;
        rates.push(evals / t.elapsed().as_secs_f64());
    }
    // CPU: insertions into the first configuration for ~target / 3 seconds.
    let n = w.system.n as usize;
    let key = crate::reference::rng::key_of(1);
    let cpu = |threads: usize| {
        let (done, secs) = on_threads(threads, |k, _| {
            let t = Instant::now();
            let mut done = 0u64;
            let mut sink = 0.0;
            while t.elapsed().as_secs_f64() < opts.target_seconds / 3.0 {
                for i in 0..256u32 {
                    let c = (done as u32).wrapping_add(k as u32 * 1_000_003);
                    let x = crate::reference::widom::insertion_point(i, c, key, lj.box_length);
                    sink +=
                        crate::reference::widom::insertion_energy(&pos[..n], x, &lj, beta).min(1e3);
                }
                done += 256;
            }
            std::hint::black_box(sink);
            done
        });
        done as f64 * n as f64 / secs
    };
    let threads = super::cpu_threads();
    let cpu1 = cpu(1);
    let cpun = if threads > 1 { cpu(threads) } else { cpu1 };
    Ok(WorkloadResult {
        notes: vec![
            "GPU figure includes the configuration copies and the energy readback; \
             no timestamp instrumentation"
                .into(),
        ],
        ..WorkloadResult::timed(
            &w.name,
            "widom",
            "pair-evaluations/s",
            w.configs as u64 * w.insertions as u64,
            "insertions",
            Spread::of(rates),
            Some((cpu1, cpun, threads)),
            serde_json::to_value(w).unwrap_or_default(),
        )
    })
}
