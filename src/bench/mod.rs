//! Benchmarks as a program (`nti-gpu bench`, `cargo bench`): warm-up, device
//! synchronisation before every clock read, repeats, median / min / max, in the field's
//! units, next to nti-gpu's own f64 CPU reference measured in the same run on one thread
//! and on all threads, as ratios; device time from timestamp queries where the adapter
//! offers them; achieved FLOP/s and bytes/s of the force kernels from the operation count
//! model of [`ops`]. The JSON schema is docs/bench.md (and docs/bench.schema.json);
//! [`compare`] prints two result files side by side.
//!
//! Workloads (versioned by [`SUITE_VERSION`]):
//! - `paper-N200-B{1,64,256}`: the paper's box (L = 6, eps = 0.8 kT, every minimum-image
//!   pair, no cutoff), N = 200, B independent replicas in the same dispatches.
//! - `lj-rho0.8-N{4000,32000}`: LJ fluid rho = 0.8, T = 2, r_c = 2.5, cell list + Verlet
//!   list (skin 0.3), one replica (the LAMMPS comparison point).
//! - `hoomd-lj-liquid-N64000` (standard suite): HOOMD-blue's lj-liquid, rho = 0.382,
//!   r_c = 3.0, T = 1.2, dt = 0.005.
//! - `lambda-windows-N40-B48`: 48 λ windows of the paper's N = 40 box on the WCA soft-core
//!   leg, one batched run (the λ-TI baseline's workload); its CPU figure is the f64 force
//!   routine alone (no integration), so the ratio flatters the CPU.
//! - `widom-paper-N200`, `widom-lj-rho0.8-N4000` (standard): Widom insertion energies.
//! - `train-step-N{40,200}-B32`: one training step (denoising loss, second-order parameter
//!   gradient, AdamW) with the default model on a batch of 32, against the f64 reference
//!   gradient.
//!
//! - `sampler-{rsde,mala1}-N{40,200}-C64`: the Neural-TI sampler (reverse SDE, and with one
//!   MALA corrector per grid point), 64 trajectories over a 9-point grid, untrained default
//!   model, in trajectory-steps/s (one model evaluation of one trajectory); N = 40 in the
//!   quick suite, N = 200 in the standard suite.
//! - `pipeline-quick` (standard suite): `nti-gpu run assets/scenes/quick.ron`, wall time per
//!   stage; no CPU figures (`null`).
//!
//! - `peak-fma`, `peak-gemm-D64-H64`, `model-passes-N{40,200}-C32` ([`model`]): the
//!   adapter's measured f32 peak, a model-shaped matrix product, and every pass of a
//!   training step with FLOP/s and fraction of that peak.
//!
//! Version 2 added the Widom, λ-window and training workloads; version 3 the sampler and
//! pipeline workloads (report schema 2: CPU figures and ratios may be `null`); version 4 the
//! peak and model-pass workloads.
//!
//! Adding a workload kind: write a module with its workload
//! struct and a `bench_*(gpu, &w, &BenchOptions) -> Result<WorkloadResult>`, add a
//! [`Task`] variant and its arms in [`Task::name`] / [`run_task`], list it in [`suite`],
//! and bump [`SUITE_VERSION`]. Everything downstream (table, JSON, `--only`, `--compare`)
//! works on [`WorkloadResult`] and needs no change.

pub mod compare;
pub mod cpu_md;
pub mod md;
pub mod model;
pub mod ops;
pub mod pipeline;
pub mod sampler;
pub mod timing;
pub mod train;
pub mod widom;

pub use md::Workload;
pub use model::ModelWorkload;
pub use pipeline::PipelineWorkload;
pub use sampler::SamplerWorkload;
pub use train::TrainWorkload;
pub use widom::WidomWorkload;

use crate::error::{Error, Result};
use crate::gpu::Gpu;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Instant;

/// Version of the workload definitions; bump when a workload changes.
pub const SUITE_VERSION: u32 = 4;

/// Version of the JSON layout of [`BenchReport`] (docs/bench.md); bump when it changes.
pub const SCHEMA_VERSION: u32 = 2;

/// Suites `nti-gpu bench --suite` accepts.
pub const SUITES: &[&str] = &["quick", "standard", "full"];

/// The git commit nti-gpu was built from (`build.rs`; "unknown" outside a git checkout).
pub fn git_commit() -> &'static str {
    env!("NTI_GIT_COMMIT")
}

/// One workload of a suite.
#[derive(Clone, Debug)]
pub enum Task {
    /// MD steps (forces + BAOAB), plain LJ or λ windows.
    Md(Workload),
    /// Widom insertion energies.
    Widom(WidomWorkload),
    /// One training step.
    Train(TrainWorkload),
    /// The Neural-TI denoising sampler.
    Sampler(SamplerWorkload),
    /// The whole `nti-gpu run` pipeline on a scene.
    Pipeline(PipelineWorkload),
    /// The adapter's peak and the energy model's passes against it.
    Model(ModelWorkload),
}

impl Task {
    /// The workload's stable name.
    pub fn name(&self) -> &str {
        match self {
            Task::Md(w) => &w.name,
            Task::Widom(w) => &w.name,
            Task::Train(w) => &w.name,
            Task::Sampler(w) => &w.name,
            Task::Pipeline(w) => &w.name,
            Task::Model(w) => &w.name,
        }
    }
}

/// The workloads of a suite: `quick` (under two minutes on a 2-core software adapter),
/// `standard`, or `full` (standard plus the ρ = 0.8 fluid at N = 256 000); `None` for an
/// unknown name.
pub fn suite(name: &str) -> Option<Vec<Task>> {
    let (standard, full) = match name {
        "quick" => (false, false),
        "standard" => (true, false),
        "full" => (true, true),
        _ => return None,
    };
    let mut v: Vec<Task> = Vec::new();
    v.push(Task::Md(Workload::paper(1)));
    v.push(Task::Md(Workload::paper(64)));
    if standard {
        v.push(Task::Md(Workload::paper(256)));
    }
    v.push(Task::Md(Workload::fluid(4000)));
    if standard {
        v.push(Task::Md(Workload::fluid(32000)));
        v.push(Task::Md(Workload::hoomd()));
    }
    if full {
        v.push(Task::Md(Workload::fluid(256000)));
    }
    v.push(Task::Md(Workload::lambda_windows()));
    v.push(Task::Widom(WidomWorkload::paper()));
    if standard {
        v.push(Task::Widom(WidomWorkload::fluid()));
    }
    v.push(Task::Train(TrainWorkload::new(40, 32)));
    if standard {
        v.push(Task::Train(TrainWorkload::new(200, 32)));
    }
    let sampler_n = if standard { 200 } else { 40 };
    v.push(Task::Sampler(SamplerWorkload::reverse_sde(sampler_n)));
    v.push(Task::Sampler(SamplerWorkload::mala(sampler_n)));
    if standard {
        v.push(Task::Pipeline(PipelineWorkload::quick()));
    }
    v.push(Task::Model(ModelWorkload::peak_fma()));
    v.push(Task::Model(ModelWorkload::peak_gemm()));
    v.push(Task::Model(ModelWorkload::passes(40)));
    if standard {
        v.push(Task::Model(ModelWorkload::passes(200)));
    }
    Some(v)
}

/// What to run.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Suite name (see [`SUITES`]).
    pub suite: String,
    /// Run only the workloads whose names are listed (exact names); empty: all.
    pub only: Vec<String>,
    /// Time budget per workload and side (GPU, CPU), seconds; 3 for published numbers.
    pub target_seconds: f64,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            suite: "quick".into(),
            only: Vec::new(),
            target_seconds: 3.0,
        }
    }
}

impl BenchOptions {
    /// The suite's workloads after the `only` filter; an unknown suite or a name in `only`
    /// that is not in the suite is an error listing the valid names.
    pub fn tasks(&self) -> Result<Vec<Task>> {
        let all = suite(&self.suite).ok_or_else(|| {
            Error::Bench(format!(
                "unknown suite `{}` (--suite); use one of {}",
                self.suite,
                SUITES.join(", ")
            ))
        })?;
        for name in &self.only {
            if !all.iter().any(|t| t.name() == name) {
                let names: Vec<&str> = all.iter().map(|t| t.name()).collect();
                return Err(Error::Bench(format!(
                    "--only: no workload `{name}` in suite `{}`; its workloads are {}",
                    self.suite,
                    names.join(", ")
                )));
            }
        }
        Ok(all
            .into_iter()
            .filter(|t| self.only.is_empty() || self.only.iter().any(|n| n == t.name()))
            .collect())
    }
}

/// Median, min and max of repeated measurements.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Spread {
    /// Median.
    pub median: f64,
    /// Minimum.
    pub min: f64,
    /// Maximum.
    pub max: f64,
}

impl Spread {
    /// Rates `work / seconds` from a spread of seconds (the fastest run gives the maximum).
    pub fn rate(work: f64, seconds: &Spread) -> Spread {
        Spread {
            median: work / seconds.median,
            min: work / seconds.max,
            max: work / seconds.min,
        }
    }

    /// Median / min / max of `v` (the upper median for an even count); `v` non-empty.
    pub fn of(mut v: Vec<f64>) -> Spread {
        v.sort_by(|a, b| a.total_cmp(b));
        Spread {
            median: v[v.len() / 2],
            min: v[0],
            max: v[v.len() - 1],
        }
    }
}

/// Achieved throughput of one kernel, from the operation count model of [`ops`].
#[derive(Clone, Debug, Serialize)]
pub struct KernelFigure {
    /// WGSL entry point.
    pub kernel: String,
    /// Dispatches timed per repeat.
    pub calls: u32,
    /// Pair distances computed per call (the kernel's loop trips).
    pub pairs_visited: f64,
    /// Pair terms evaluated per call (within the cutoff, self excluded).
    pub pairs_interacting: f64,
    /// Floating-point operations per call ([`ops`]).
    pub flops_per_call: f64,
    /// Bytes requested from storage buffers per call ([`ops`]).
    pub bytes_per_call: f64,
    /// Wall seconds per call (median / min / max of the repeats).
    pub wall_s_per_call: Spread,
    /// Device seconds per call from timestamp queries; `None` where the adapter has none.
    pub gpu_s_per_call: Option<Spread>,
    /// "timestamp" or "wall": which time the FLOP/s and bytes/s divide by.
    pub time_source: String,
    /// Achieved FLOP/s (median time).
    pub flops_per_s: f64,
    /// Achieved bytes/s (median time).
    pub bytes_per_s: f64,
}

/// Result of one workload, in one layout for every kind.
#[derive(Clone, Debug, Serialize)]
pub struct WorkloadResult {
    /// Stable workload name.
    pub name: String,
    /// Kind: "md", "widom", "train", "sampler", "pipeline", "peak" or "model".
    pub kind: String,
    /// Unit of the throughput figures, e.g. "particle-steps/s".
    pub units: String,
    /// Problem size: particles (MD: B·N), insertions (Widom) or configurations (training).
    pub size: u64,
    /// What `size` counts.
    pub size_units: String,
    /// GPU throughput by wall clock (device synchronised before every clock read).
    pub gpu: Spread,
    /// GPU throughput by device time from timestamp queries; `None` ("n/a") where the
    /// adapter offers none or the workload's submissions are not instrumented.
    pub gpu_timestamp: Option<Spread>,
    /// CPU reference throughput on one thread; `None` (null) where no CPU reference exists.
    pub cpu_1thread: Option<f64>,
    /// CPU reference throughput on all threads; `None` as `cpu_1thread`.
    pub cpu_all_threads: Option<f64>,
    /// Threads of the all-threads figure.
    pub cpu_threads: usize,
    /// GPU median / CPU one thread (`None` without a CPU figure).
    pub ratio_vs_cpu_1thread: Option<f64>,
    /// GPU median / CPU all threads (`None` without a CPU figure).
    pub ratio_vs_cpu_all_threads: Option<f64>,
    /// Per-kernel hardware-efficiency figures (empty where no count model exists).
    pub kernels: Vec<KernelFigure>,
    /// Kind-specific figures, e.g. `first_step_s`, `device_bytes_per_particle`.
    pub extra: BTreeMap<String, f64>,
    /// Caveats of this row's figures.
    pub notes: Vec<String>,
    /// The workload definition.
    pub workload: serde_json::Value,
}

impl WorkloadResult {
    /// A result with its identity, the GPU figure and the CPU figures `(one thread, all
    /// threads, threads)`; no timestamps, kernels, extra figures or notes (set those after)
    /// and no ratios yet (`WorkloadResult::with_ratios` fills them).
    #[allow(clippy::too_many_arguments)]
    pub fn timed(
        name: &str,
        kind: &str,
        units: &str,
        size: u64,
        size_units: &str,
        gpu: Spread,
        cpu: Option<(f64, f64, usize)>,
        workload: serde_json::Value,
    ) -> Self {
        WorkloadResult {
            name: name.to_string(),
            kind: kind.into(),
            units: units.into(),
            size,
            size_units: size_units.into(),
            gpu,
            gpu_timestamp: None,
            cpu_1thread: cpu.map(|c| c.0),
            cpu_all_threads: cpu.map(|c| c.1),
            cpu_threads: cpu.map_or(1, |c| c.2),
            ratio_vs_cpu_1thread: None,
            ratio_vs_cpu_all_threads: None,
            kernels: Vec::new(),
            extra: BTreeMap::new(),
            notes: Vec::new(),
            workload,
        }
    }

    /// Fills the ratios from the GPU median and the CPU figures.
    fn with_ratios(mut self) -> Self {
        self.ratio_vs_cpu_1thread = self.cpu_1thread.map(|c| self.gpu.median / c);
        self.ratio_vs_cpu_all_threads = self.cpu_all_threads.map(|c| self.gpu.median / c);
        self
    }
}

/// A whole benchmark report (docs/bench.md).
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Suite name.
    pub suite: String,
    /// Suite version ([`SUITE_VERSION`]).
    pub suite_version: u32,
    /// Workloads run, when restricted by `--only` (empty: the whole suite).
    pub only: Vec<String>,
    /// nti-gpu version.
    pub nti_gpu_version: String,
    /// Git commit of the build ("unknown" outside a git checkout).
    pub git_commit: String,
    /// Start time, seconds since the Unix epoch.
    pub unix_time: u64,
    /// Wall seconds of the whole run.
    pub total_seconds: f64,
    /// Adapter.
    pub adapter: crate::gpu::AdapterSummary,
    /// Whether the device has timestamp queries (GPU time figures).
    pub timestamp_queries: bool,
    /// OS and architecture.
    pub os: String,
    /// Logical CPUs of this machine.
    pub cpu_threads: usize,
    /// How the CPU reference was built.
    pub cpu_build: String,
    /// Results, in suite order.
    pub workloads: Vec<WorkloadResult>,
}

fn cpu_build() -> String {
    format!(
        "{} profile, target-cpu {}",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        if cfg!(target_feature = "avx2") {
            "with AVX2"
        } else {
            "x86-64 default (no AVX2)"
        }
    )
}

/// Logical CPUs available to this process.
pub fn cpu_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// CPU seconds (user + system) this process has used so far (Linux only).
pub(crate) fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Runs `work(thread, threads)` on `threads` scoped threads; each returns the units of work
/// it did. Returns the total and the wall seconds.
pub(crate) fn on_threads(threads: usize, work: impl Fn(usize, usize) -> u64 + Sync) -> (u64, f64) {
    let t = Instant::now();
    let total = if threads <= 1 {
        work(0, 1)
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|k| {
                    let work = &work;
                    s.spawn(move || work(k, threads))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
        })
    };
    (total, t.elapsed().as_secs_f64())
}

/// Kernel families compiled once per run and shared by its workloads.
#[derive(Default)]
pub struct KernelCache {
    md: Option<std::sync::Arc<crate::md::MdKernels>>,
    denoise: Option<
        std::sync::Arc<(
            crate::ti::denoise::DenoiseKernels,
            crate::model::ModelKernels,
        )>,
    >,
}

impl KernelCache {
    /// The MD kernels, compiled on first use.
    pub fn md(&mut self, gpu: &Gpu) -> Result<std::sync::Arc<crate::md::MdKernels>> {
        if self.md.is_none() {
            self.md = Some(std::sync::Arc::new(crate::md::MdKernels::new(gpu)?));
        }
        Ok(self.md.clone().expect("set above"))
    }

    /// The sampler's and the model's kernels, compiled on first use.
    pub fn denoise(
        &mut self,
        gpu: &Gpu,
    ) -> Result<
        std::sync::Arc<(
            crate::ti::denoise::DenoiseKernels,
            crate::model::ModelKernels,
        )>,
    > {
        if self.denoise.is_none() {
            self.denoise = Some(std::sync::Arc::new((
                crate::ti::denoise::DenoiseKernels::new(gpu)?,
                crate::model::ModelKernels::new(gpu, &crate::scene::ModelConfig::default())?,
            )));
        }
        Ok(self.denoise.clone().expect("set above"))
    }
}

/// Runs one workload.
pub fn run_task(
    gpu: &Gpu,
    task: &Task,
    opts: &BenchOptions,
    cache: &mut KernelCache,
) -> Result<WorkloadResult> {
    let r = match task {
        Task::Md(w) => md::bench_md(gpu, &cache.md(gpu)?, w, opts)?,
        Task::Widom(w) => widom::bench_widom(gpu, w, opts)?,
        Task::Train(w) => train::bench_train(gpu, w, opts)?,
        Task::Sampler(w) => sampler::bench_sampler(gpu, &*cache.denoise(gpu)?, w, opts)?,
        Task::Pipeline(w) => pipeline::bench_pipeline(gpu, w, opts)?,
        Task::Model(w) => model::bench_model(gpu, w)?,
    };
    Ok(r.with_ratios())
}

/// Runs a suite; `on_result` sees each workload's result as it completes.
pub fn run_suite(
    gpu: &Gpu,
    opts: &BenchOptions,
    mut on_result: impl FnMut(&WorkloadResult),
) -> Result<BenchReport> {
    let tasks = opts.tasks()?;
    let start = Instant::now();
    let unix_time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut workloads = Vec::new();
    let mut cache = KernelCache::default();
    for t in &tasks {
        let r = run_task(gpu, t, opts, &mut cache)?;
        on_result(&r);
        workloads.push(r);
    }
    Ok(BenchReport {
        schema_version: SCHEMA_VERSION,
        suite: opts.suite.clone(),
        suite_version: SUITE_VERSION,
        only: opts.only.clone(),
        nti_gpu_version: env!("CARGO_PKG_VERSION").into(),
        git_commit: git_commit().into(),
        unix_time,
        total_seconds: start.elapsed().as_secs_f64(),
        adapter: gpu.adapter.clone(),
        timestamp_queries: timing::has_timestamps(gpu),
        os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        cpu_threads: cpu_threads(),
        cpu_build: cpu_build(),
        workloads,
    })
}

/// A number with an SI prefix and 4 significant digits, e.g. `1.247 M`, `530.2`.
pub fn si(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    let (scale, prefix) = if a >= 1e12 {
        (1e12, " T")
    } else if a >= 1e9 {
        (1e9, " G")
    } else if a >= 1e6 {
        (1e6, " M")
    } else if a >= 1e3 {
        (1e3, " k")
    } else {
        (1.0, "")
    };
    let x = v / scale;
    let digits = if x.abs() >= 100.0 {
        1
    } else if x.abs() >= 10.0 {
        2
    } else {
        3
    };
    format!("{x:.digits$}{prefix}")
}

/// Header of the workload table.
pub fn table_header() -> String {
    format!(
        "{:<24} {:<18} {:>8} {:>30} {:>12} {:>11} {:>11} {:>7} {:>7}",
        "workload",
        "units",
        "size",
        "GPU median [min-max] (wall)",
        "GPU (tstamp)",
        "CPU 1 thr",
        "CPU all",
        "x 1thr",
        "x all"
    )
}

/// One row of the workload table (`n/a`: no timestamp figure; `-`: no CPU figure).
pub fn table_row(r: &WorkloadResult) -> String {
    let g = r.gpu;
    let opt = |v: Option<f64>, f: &dyn Fn(f64) -> String| v.map_or("-".into(), f);
    let ratio = |x: f64| format!("{x:.2}");
    format!(
        "{:<24} {:<18} {:>8} {:>30} {:>12} {:>11} {:>11} {:>7} {:>7}",
        r.name,
        r.units,
        r.size,
        format!("{} [{} - {}]", si(g.median), si(g.min), si(g.max)),
        r.gpu_timestamp.map_or("n/a".into(), |t| si(t.median)),
        opt(r.cpu_1thread, &si),
        opt(r.cpu_all_threads, &si),
        opt(r.ratio_vs_cpu_1thread, &ratio),
        opt(r.ratio_vs_cpu_all_threads, &ratio)
    )
}

/// Header of the kernel table.
pub fn kernel_header() -> String {
    format!(
        "{:<24} {:<20} {:>12} {:>12} {:>12} {:>10} {:>10} {:>9}",
        "workload",
        "kernel",
        "pairs/call",
        "wall s/call",
        "GPU s/call",
        "FLOP/s",
        "bytes/s",
        "time"
    )
}

/// The kernel-table rows of a workload (none when it has no count model).
pub fn kernel_rows(r: &WorkloadResult) -> Vec<String> {
    r.kernels
        .iter()
        .map(|k| {
            format!(
                "{:<24} {:<20} {:>12} {:>12.3e} {:>12} {:>10} {:>10} {:>9}",
                r.name,
                k.kernel,
                si(k.pairs_visited),
                k.wall_s_per_call.median,
                k.gpu_s_per_call
                    .map_or("n/a".into(), |s| format!("{:.3e}", s.median)),
                si(k.flops_per_s),
                si(k.bytes_per_s),
                k.time_source
            )
        })
        .collect()
}

/// The report's first lines: version, commit, suite, adapter, timestamp support.
pub fn report_header(r: &BenchReport) -> String {
    format!(
        "nti-gpu {} (commit {}), suite {} v{}, {}, {} CPU threads\nadapter: {} ({}, {}, {} {}), timestamp queries: {}\n",
        r.nti_gpu_version,
        r.git_commit,
        r.suite,
        r.suite_version,
        r.os,
        r.cpu_threads,
        r.adapter.name,
        r.adapter.backend,
        r.adapter.device_type,
        r.adapter.driver,
        r.adapter.driver_info,
        if r.timestamp_queries { "yes" } else { "no" }
    )
}

/// What follows the workload table: the kernel table, the notes and the total time.
pub fn report_footer(r: &BenchReport) -> String {
    let mut s = String::new();
    if r.workloads.iter().any(|w| !w.kernels.is_empty()) {
        s.push('\n');
        s.push_str(&kernel_header());
        s.push('\n');
        for w in &r.workloads {
            for line in kernel_rows(w) {
                s.push_str(&line);
                s.push('\n');
            }
        }
    }
    for w in &r.workloads {
        for n in &w.notes {
            s.push_str(&format!("note {}: {n}\n", w.name));
        }
    }
    s.push_str(&format!("total {:.1} s\n", r.total_seconds));
    s
}

/// The whole report as text: header, workload table, kernel table, notes.
pub fn report_text(r: &BenchReport) -> String {
    let mut s = report_header(r);
    s.push('\n');
    s.push_str(&table_header());
    s.push('\n');
    for w in &r.workloads {
        s.push_str(&table_row(w));
        s.push('\n');
    }
    s.push_str(&report_footer(r));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suites_and_only_filter() {
        let names = |s: &str| -> Vec<String> {
            suite(s)
                .unwrap()
                .iter()
                .map(|t| t.name().to_string())
                .collect()
        };
        let quick = names("quick");
        assert_eq!(
            quick,
            [
                "paper-N200-B1",
                "paper-N200-B64",
                "lj-rho0.8-N4000",
                "lambda-windows-N40-B48",
                "widom-paper-N200",
                "train-step-N40-B32",
                "sampler-rsde-N40-C64",
                "sampler-mala1-N40-C64",
                "peak-fma",
                "peak-gemm-D64-H64",
                "model-passes-N40-C32"
            ]
        );
        let standard = names("standard");
        assert_eq!(standard.len(), 18);
        let full = names("full");
        assert_eq!(full.len(), 19);
        assert!(full.contains(&"lj-rho0.8-N256000".to_string()));
        assert_eq!(
            standard[11..],
            [
                "sampler-rsde-N200-C64",
                "sampler-mala1-N200-C64",
                "pipeline-quick",
                "peak-fma",
                "peak-gemm-D64-H64",
                "model-passes-N40-C32",
                "model-passes-N200-C32"
            ]
        );
        assert!(quick
            .iter()
            .all(|n| standard.contains(n) || n.starts_with("sampler-")));
        assert!(suite("huge").is_none());
        let opts = BenchOptions {
            only: vec!["widom-paper-N200".into(), "paper-N200-B1".into()],
            ..Default::default()
        };
        // Suite order, not the order of --only.
        let t: Vec<String> = opts
            .tasks()
            .unwrap()
            .iter()
            .map(|t| t.name().into())
            .collect();
        assert_eq!(t, ["paper-N200-B1", "widom-paper-N200"]);
        let bad = BenchOptions {
            only: vec!["hoomd-lj-liquid-N64000".into()],
            ..Default::default()
        };
        let e = bad.tasks().unwrap_err().to_string();
        assert!(
            e.contains("no workload `hoomd-lj-liquid-N64000` in suite `quick`"),
            "{e}"
        );
    }

    #[test]
    fn spread_and_si() {
        let s = Spread::of(vec![3.0, 1.0, 2.0, 10.0]);
        assert_eq!((s.median, s.min, s.max), (3.0, 1.0, 10.0));
        assert_eq!(si(1_247_000.0), "1.247 M");
        assert_eq!(si(530.2), "530.2");
        assert_eq!(si(48.33e6), "48.33 M");
        assert_eq!(si(4.751e9), "4.751 G");
    }

    #[test]
    fn git_commit_is_embedded() {
        let c = git_commit();
        // A hex hash in a git checkout, "unknown" outside one (or NTI_GIT_COMMIT's value).
        assert!(!c.is_empty() && !c.contains(char::is_whitespace), "{c}");
        if std::env::var("NTI_GIT_COMMIT").is_err() && c != "unknown" {
            assert!(
                c.len() >= 7 && c.chars().all(|x| x.is_ascii_hexdigit()),
                "{c}"
            );
        }
    }
}
