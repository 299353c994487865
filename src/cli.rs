//! The `nti-gpu` command line: `info`, `check`, `run`, `sample`, `baselines`, `train`,
//! `integrate`, `eos`, `bench`.

use crate::gpu::{describe_adapter, enumerate_adapters, parse_backends, Gpu, GpuOptions};
use crate::output::DirLock;
use crate::scene::Scene;
use crate::stages::sample::sample_stage;
use crate::stages::Progress;
use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;

/// Free energies of Lennard-Jones fluids by neural thermodynamic integration, on any GPU.
#[derive(Parser, Debug)]
#[command(name = "nti-gpu", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Adapter selection shared by every command that uses the GPU.
#[derive(Args, Debug, Clone, Default)]
pub struct AdapterArgs {
    /// Use the adapter whose name contains this (case-insensitive), e.g. "llvmpipe", "nvidia".
    #[arg(long, global = true)]
    adapter: Option<String>,
    /// Use this backend: vulkan, metal, dx12 or gl.
    #[arg(long, global = true)]
    backend: Option<String>,
}

impl AdapterArgs {
    fn options(&self) -> GpuOptions {
        GpuOptions {
            adapter: self.adapter.clone(),
            backend: self.backend.clone(),
            ..Default::default()
        }
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List every adapter wgpu can see, with backend, type, driver, limits and features.
    Info {
        #[command(flatten)]
        gpu: AdapterArgs,
    },
    /// Validate a scene file without running anything.
    Check {
        /// Scene file (RON).
        scene: PathBuf,
    },
    /// Sample the reference LJ fluid (batched Langevin MD on the GPU).
    Sample {
        /// Scene file (RON).
        scene: PathBuf,
        /// Output directory (default: the scene's `output`, or out/<name>).
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        gpu: AdapterArgs,
    },
    /// Benchmark the kernels on this machine's GPU against the CPU reference.
    Bench {
        /// Workload suite: quick (< 2 min on a 2-core software adapter), standard or full (adds the N = 256 000 fluid).
        #[arg(long, default_value = "quick")]
        suite: String,
        /// Also write the report as JSON to this file (schema: docs/bench.md).
        #[arg(long)]
        json: Option<PathBuf>,
        /// Run only these workloads of the suite (comma-separated names).
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// Seconds per workload and side (GPU, CPU); smaller is quicker and noisier.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
        /// Print two JSON reports side by side with ratios b/a instead of running.
        #[arg(long, num_args = 2, value_names = ["A_JSON", "B_JSON"])]
        compare: Option<Vec<PathBuf>>,
        #[command(flatten)]
        gpu: AdapterArgs,
    },
    /// Compute the classical baselines the scene names (Widom insertion, ...) next to the
    /// reference samples, reusing those of an earlier `sample` run of the same scene.
    Baselines {
        /// Scene file (RON).
        scene: PathBuf,
        /// Output directory (default: the scene's `output`, or out/<name>).
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        gpu: AdapterArgs,
    },
    /// Train the energy model by denoising score matching on the reference samples of the
    /// scene's first particle count (reused from an earlier `sample` run, sampled otherwise).
    Train {
        /// Scene file (RON).
        scene: PathBuf,
        /// Output directory (default: the scene's `output`, or out/<name>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Continue from the checkpoint `model.ckpt` in the output directory.
        #[arg(long)]
        resume: bool,
        #[command(flatten)]
        gpu: AdapterArgs,
    },
    /// Run everything the scene asks for, in order, resuming from what the output directory
    /// holds: reference sampling, training, baselines, neural TI, report and plots.
    Run {
        /// Scene file (RON).
        scene: PathBuf,
        /// Output directory (default: the scene's `output`, or out/<name>).
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        gpu: AdapterArgs,
    },
    /// Neural TI with the trained model of the output directory: the scene's `integration`
    /// section (samplers, grid, particle counts); reuses matching sampler records.
    Integrate {
        /// Scene file (RON).
        scene: PathBuf,
        /// Output directory (default: the scene's `output`, or out/<name>).
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        gpu: AdapterArgs,
    },
    /// Rewrite report.md and the plots of an output directory from its results.json and
    /// sampler records (no GPU needed; after a partial or interrupted run, or a new version).
    Report {
        /// Scene file (RON).
        scene: PathBuf,
        /// Output directory (default: the scene's `output`, or out/<name>).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Evaluate the Kolafa-Nezbeda and Johnson-Zollweg-Gubbins equations of state of the full
    /// LJ fluid: beta A_ex/N, Z - 1, beta mu_ex, U_ex/N and P (reduced units).
    Eos {
        /// Reduced temperature T* = kT/epsilon (> 0).
        #[arg(long, allow_negative_numbers = true)]
        temperature: f64,
        /// Reduced number density rho* = N sigma^3 / V (>= 0).
        #[arg(long, allow_negative_numbers = true)]
        density: f64,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Progress bar on a terminal; on a pipe or log file (where indicatif draws nothing), one
/// line per tenth of the stage with the rate and the time left.
#[derive(Default)]
struct Bar(Option<indicatif::ProgressBar>, Option<LogProgress>);

struct LogProgress {
    label: String,
    total: u64,
    start: std::time::Instant,
    next_tenth: u64,
    /// Steps already done when the first report came (a resumed stage).
    base: Option<u64>,
}

impl Bar {
    fn new() -> Self {
        Self::default()
    }
}

impl Progress for Bar {
    fn start(&mut self, label: &str, total: u64) {
        use std::io::IsTerminal;
        if !std::io::stderr().is_terminal() {
            eprintln!("{label}: {total} steps");
            self.1 = Some(LogProgress {
                label: label.to_string(),
                total,
                start: std::time::Instant::now(),
                next_tenth: 1,
                base: None,
            });
            return;
        }
        let bar = indicatif::ProgressBar::new(total);
        let style = indicatif::ProgressStyle::with_template(
            "{prefix:>14} [{bar:32}] {pos}/{len} steps  {per_sec}  ETA {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(label.to_string());
        self.0 = Some(bar);
    }
    fn set(&mut self, done: u64) {
        if let Some(b) = &self.0 {
            b.set_position(done);
        }
        if let Some(l) = &mut self.1 {
            if l.base.is_none() && done > 0 && done * 10 >= l.total {
                // The first report is already past a tenth (a resumed stage, or a short
                // one): measure the rate from here on.
                l.base = Some(done);
                l.start = std::time::Instant::now();
                l.next_tenth = done * 10 / l.total.max(1) + 1;
                eprintln!("{}: {done}/{}", l.label, l.total);
                return;
            }
            if l.total > 0 && done * 10 >= l.next_tenth * l.total {
                let secs = l.start.elapsed().as_secs_f64();
                let base = *l.base.get_or_insert(0);
                let rate = done.saturating_sub(base) as f64 / secs.max(1e-9);
                let left = (l.total.saturating_sub(done)) as f64 / rate.max(1e-9);
                eprintln!(
                    "{}: {done}/{} ({:.0} %), {rate:.1} steps/s, {left:.0} s left",
                    l.label,
                    l.total,
                    100.0 * done as f64 / l.total as f64
                );
                l.next_tenth = done * 10 / l.total + 1;
            }
        }
    }
    fn finish(&mut self) {
        if let Some(b) = self.0.take() {
            b.finish();
        }
        if let Some(l) = self.1.take() {
            eprintln!(
                "{}: done in {:.1} s",
                l.label,
                l.start.elapsed().as_secs_f64()
            );
        }
    }
}

/// Runs the CLI; returns the process exit code.
pub fn run() -> i32 {
    // Writing to a closed pipe (`nti-gpu info | head -1`) or a full device makes Rust's
    // print macros panic; such a failure ends the command with a message (where stderr still
    // takes one) and exit code 1, not a backtrace. Every other panic is reported as before.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !is_output_failure(info.payload()) {
            default_hook(info);
        }
    }));
    match std::panic::catch_unwind(|| dispatch(Cli::parse())) {
        Ok(Ok(())) => 0,
        Ok(Err(e)) => {
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            1
        }
        Err(payload) if is_output_failure(payload.as_ref()) => {
            let _ = writeln!(
                std::io::stderr(),
                "error: the output could not be written (closed pipe or full device)"
            );
            1
        }
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

/// Whether a panic payload is the print macros' failure to write stdout or stderr.
fn is_output_failure(payload: &(dyn std::any::Any + Send)) -> bool {
    let text = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("");
    text.starts_with("failed printing to std")
}

fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Info { gpu } => info(&gpu),
        Command::Bench {
            suite,
            json,
            only,
            seconds,
            compare,
            gpu,
        } => match compare {
            Some(files) => {
                print!(
                    "{}",
                    crate::bench::compare::compare_files(&files[0], &files[1])?
                );
                Ok(())
            }
            None => bench(&suite, only, seconds, json, &gpu),
        },
        Command::Eos {
            temperature,
            density,
            json,
        } => eos(temperature, density, json),
        Command::Baselines { scene, out, gpu } => {
            let (s, dir, gpu, _lock) = open_run(&scene, out, &gpu)?;
            let result = crate::stages::baselines::baselines_stage(&gpu, &s, &dir, &mut Bar::new())
                .with_context(|| format!("baselines of {}", scene.display()))?;
            print_free_energy(&result);
            println!("wrote {}", dir.join("results.json").display());
            Ok(())
        }
        Command::Train {
            scene,
            out,
            resume,
            gpu,
        } => train(&scene, out, resume, &gpu),
        Command::Run { scene, out, gpu } => {
            let (s, dir, gpu, _lock) = open_run(&scene, out, &gpu)?;
            let outcome = crate::stages::run_scene(&gpu, &s, &dir, &mut Bar::new())
                .with_context(|| format!("running {}", scene.display()))?;
            for (stage, what, secs) in &outcome.stages {
                println!("{stage:>10}: {what} ({secs:.1} s)");
            }
            print_free_energy(&results_of(&dir));
            println!("wrote {}", dir.join("results.json").display());
            Ok(())
        }
        Command::Integrate { scene, out, gpu } => {
            let (s, dir, gpu, _lock) = open_run(&scene, out, &gpu)?;
            let outcome =
                crate::stages::integrate::integration_stage(&gpu, &s, &dir, &mut Bar::new())
                    .with_context(|| format!("integrating {}", scene.display()))?;
            print_free_energy(&outcome.json);
            println!("wrote {}", dir.join("results.json").display());
            Ok(())
        }
        Command::Report { scene, out } => {
            let s = Scene::load_validated(&scene)?;
            let dir = out.unwrap_or_else(|| s.output_dir());
            if !dir.is_dir() {
                return Err(crate::error::Error::argument(
                    "--out",
                    dir.display(),
                    "no such output directory: give the directory of an earlier `nti-gpu run`",
                )
                .into());
            }
            let files = crate::stages::report::report_stage(&s, &dir)
                .with_context(|| format!("reporting {}", dir.display()))?;
            println!(
                "wrote {} and {} plots",
                files.report.display(),
                files.plots.len()
            );
            Ok(())
        }
        Command::Check { scene } => {
            let s = Scene::load_validated(&scene)?;
            println!(
                "{}: ok ({} particle count(s) {:?}, {} replicas, {} + {} steps, pair search: {})",
                scene.display(),
                s.system.particles.len(),
                s.system.particles,
                s.sampler.replicas,
                s.sampler.equilibration_steps,
                s.sampler.production_steps,
                if s.uses_cell_list() {
                    "cell list"
                } else {
                    "all pairs"
                }
            );
            Ok(())
        }
        Command::Sample { scene, out, gpu } => {
            let (s, dir, gpu, _lock) = open_run(&scene, out, &gpu)?;
            let result = sample_stage(&gpu, &s, &dir, false, &mut Bar::new())
                .with_context(|| format!("sampling {}", scene.display()))?;
            print_reference(&result.json);
            println!("wrote {}", dir.join("results.json").display());
            Ok(())
        }
    }
}

/// Loads and validates a scene, resolves the output directory, takes its lock (held until
/// the returned [`DirLock`] is dropped) and opens the device.
fn open_run(
    scene: &std::path::Path,
    out: Option<PathBuf>,
    gpu: &AdapterArgs,
) -> Result<(Scene, PathBuf, Gpu, DirLock)> {
    let s = Scene::load_validated(scene)?;
    let dir = out.unwrap_or_else(|| s.output_dir());
    let command: Vec<String> = std::env::args().collect();
    let lock = DirLock::acquire(&dir, &command.join(" "))?;
    let gpu = Gpu::new(&gpu.options())?;
    eprintln!(
        "adapter: {} ({}, {})",
        gpu.adapter.name, gpu.adapter.backend, gpu.adapter.driver_info
    );
    Ok((s, dir, gpu, lock))
}

fn train(
    scene: &std::path::Path,
    out: Option<PathBuf>,
    resume: bool,
    gpu: &AdapterArgs,
) -> Result<()> {
    let (s, dir, gpu, _lock) = open_run(scene, out, gpu)?;
    let checkpoint = dir.join(crate::train::CHECKPOINT_FILE);
    if resume && !checkpoint.exists() {
        return Err(crate::error::Error::argument(
            "--resume",
            checkpoint.display(),
            "no checkpoint to resume from; leave out --resume to start a new training",
        )
        .into());
    }
    let result = crate::stages::train::train_stage(&gpu, &s, &dir, resume, &mut Bar::new())
        .with_context(|| format!("training {}", scene.display()))?;
    let t = &result["training"];
    println!(
        "N = {}: {} steps, loss {:.5} (zero network {:.5}), {:.2} steps/s",
        t["n"],
        t["steps"],
        t["final_loss"].as_f64().unwrap_or(f64::NAN),
        t["zero_network_loss"].as_f64().unwrap_or(f64::NAN),
        t["steps_per_second"].as_f64().unwrap_or(f64::NAN)
    );
    println!(
        "wrote {}, {} and {}",
        dir.join(crate::train::CHECKPOINT_FILE).display(),
        dir.join(crate::train::LOSS_LOG_FILE).display(),
        dir.join("results.json").display()
    );
    Ok(())
}

fn bench(
    suite: &str,
    only: Vec<String>,
    seconds: f64,
    json: Option<PathBuf>,
    args: &AdapterArgs,
) -> Result<()> {
    anyhow::ensure!(
        seconds.is_finite() && seconds > 0.0,
        "--seconds must be a positive number of seconds, got {seconds}"
    );
    let opts = crate::bench::BenchOptions {
        suite: suite.into(),
        only,
        target_seconds: seconds,
    };
    opts.tasks()?; // unknown suite or workload: fail before creating a device
    if let Some(path) = &json {
        // Where the report cannot be written, say so before the benchmark runs.
        anyhow::ensure!(
            !path.is_dir(),
            "--json {}: is a directory; give a file name, e.g. {}",
            path.display(),
            path.join("bench.json").display()
        );
        let parent = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        anyhow::ensure!(
            parent.is_dir(),
            "--json {}: the directory {} does not exist",
            path.display(),
            parent.display()
        );
    }
    let gpu = Gpu::new(&GpuOptions {
        timestamps: true,
        ..args.options()
    })?;
    println!(
        "nti-gpu {} (commit {}), adapter: {} ({}, {}, {}), timestamp queries: {}",
        env!("CARGO_PKG_VERSION"),
        crate::bench::git_commit(),
        gpu.adapter.name,
        gpu.adapter.backend,
        gpu.adapter.device_type,
        gpu.adapter.driver_info,
        if crate::bench::timing::has_timestamps(&gpu) {
            "yes"
        } else {
            "no"
        }
    );
    println!("GPU: median [min - max] of repeats, wall clock; tstamp: device time; CPU: nti-gpu's f64 reference on the same workload");
    println!("{}", crate::bench::table_header());
    let report =
        crate::bench::run_suite(&gpu, &opts, |r| println!("{}", crate::bench::table_row(r)))?;
    print!("{}", crate::bench::report_footer(&report));
    if let Some(path) = json {
        let text = serde_json::to_string_pretty(&report)?;
        crate::output::write_atomic(&path, text.as_bytes())?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn eos(temperature: f64, density: f64, json: bool) -> Result<()> {
    use crate::baselines::eos::{johnson, kolafa_nezbeda, validate_state, EosError};
    match validate_state(temperature, density) {
        Err(EosError::Temperature(t)) => {
            anyhow::bail!("--temperature must be a finite number > 0 (reduced kT/epsilon), got {t}")
        }
        Err(EosError::Density(d)) => {
            anyhow::bail!("--density must be a finite number >= 0 (reduced N sigma^3/V), got {d}")
        }
        Ok(()) => {}
    }
    let (kn, jzg) = (
        kolafa_nezbeda(temperature, density),
        johnson(temperature, density),
    );
    // The fits' range: the simulation data both equations were fitted to.
    const FITTED: &str = "T* 0.7-6 (to 10 for Kolafa-Nezbeda) and rho* <= 1.25";
    let values = |p: &crate::baselines::eos::EosPoint| {
        [
            p.beta_a_ex_per_particle,
            p.z_minus_1,
            p.beta_mu_ex,
            p.u_per_particle,
            p.pressure,
        ]
    };
    anyhow::ensure!(
        values(&kn)
            .iter()
            .chain(&values(&jzg))
            .all(|v| v.is_finite() && v.abs() < 1e6),
        "T* = {}, rho* = {} is far outside the range the equations of \
         state were fitted to ({FITTED}): they give no finite or meaningful value there",
        short(temperature),
        short(density)
    );
    if !(0.7..=10.0).contains(&temperature) || density > 1.25 {
        eprintln!(
            "note: T* = {}, rho* = {} is outside the range the equations were fitted to \
             ({FITTED}): the values are extrapolations",
            short(temperature),
            short(density)
        );
    }
    if json {
        let out = serde_json::json!({
            "temperature": temperature,
            "density": density,
            "kolafa_nezbeda": kn.labelled(temperature),
            "johnson": jzg.labelled(temperature),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "full LJ fluid, T* = kT/eps = {}, rho* = N sigma^3/V = {}; U_ex/N and P in kT \
         units and in eps units",
        short(temperature),
        short(density)
    );
    print!(
        "{}",
        crate::baselines::eos::EosPoint::table(
            temperature,
            &[
                ("Kolafa-Nezbeda 1994", kn),
                ("Johnson-Zollweg-Gubbins 1993", jzg)
            ]
        )
    );
    Ok(())
}

/// A number as written by a person: plain, or in exponent form when very small or large.
fn short(x: f64) -> String {
    if x != 0.0 && !(1e-4..1e6).contains(&x.abs()) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

fn info(args: &AdapterArgs) -> Result<()> {
    let backends = match &args.backend {
        Some(b) => Some(parse_backends(b)?),
        None => None,
    };
    let mut adapters = enumerate_adapters(backends);
    if let Some(f) = &args.adapter {
        let f = f.to_ascii_lowercase();
        adapters.retain(|a| a.get_info().name.to_ascii_lowercase().contains(&f));
    }
    if adapters.is_empty() {
        // Reuse the library's error with its installation hint.
        Gpu::new(&args.options())?;
    }
    for (k, a) in adapters.iter().enumerate() {
        print!("[{k}] {}", describe_adapter(a));
    }
    match Gpu::new(&args.options()) {
        Ok(g) => println!("default choice: {} ({})", g.adapter.name, g.adapter.backend),
        Err(e) => println!("no usable adapter: {e}"),
    }
    Ok(())
}

fn print_reference(result: &serde_json::Value) {
    let Some(refs) = result["reference"].as_object() else {
        return;
    };
    println!(
        "{:>6} {:>8} {:>22} {:>22} {:>20} {:>10} {:>8}",
        "N", "rho", "U/N", "P", "T", "tau(steps)", "samples"
    );
    let pm = |v: &serde_json::Value| {
        format!(
            "{:.5} ± {:.5}",
            v["mean"].as_f64().unwrap_or(f64::NAN),
            v["err"].as_f64().unwrap_or(f64::NAN)
        )
    };
    for (n, r) in refs {
        println!(
            "{:>6} {:>8.4} {:>22} {:>22} {:>20} {:>10.1} {:>8}",
            n,
            r["density"].as_f64().unwrap_or(f64::NAN),
            pm(&r["potential_energy_per_particle"]),
            pm(&r["pressure"]),
            pm(&r["temperature"]),
            r["tau_int"].as_f64().unwrap_or(f64::NAN),
            r["samples"]
        );
        let spacing = r["sample_spacing_over_tau"].as_f64().unwrap_or(f64::NAN);
        if spacing < 2.0 {
            println!(
                "{:>6} warning: kept configurations are only {spacing:.1} tau_int apart; \
                 raise sampler.sample_every for decorrelated samples",
                ""
            );
        }
        if let Some(t) = r.get("tail_corrected") {
            println!(
                "{:>6} {:>8} {:>22} {:>22}   (tail-corrected; mu_tail = {:.5})",
                "",
                "",
                pm(&t["potential_energy_per_particle"]),
                pm(&t["pressure"]),
                t["chemical_potential_tail"].as_f64().unwrap_or(f64::NAN)
            );
        }
    }
}

fn results_of(dir: &std::path::Path) -> serde_json::Value {
    std::fs::read_to_string(dir.join("results.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(serde_json::json!({}))
}

fn print_free_energy(result: &serde_json::Value) {
    let Some(fe) = result["free_energy"].as_object() else {
        return;
    };
    let pm = |v: &serde_json::Value| match (v["mean"].as_f64(), v["err"].as_f64()) {
        (Some(m), Some(e)) => format!("{m:.4} ± {e:.4}"),
        _ => "no answer".into(),
    };
    for (n, methods) in fe {
        for key in ["reverse_sde", "corrected", "annealed", "forward_noise"] {
            if let Some(m) = methods.get(key) {
                let acc = m["mean_acceptance"]
                    .as_f64()
                    .map(|a| format!(", acceptance {a:.2}"))
                    .unwrap_or_default();
                println!(
                    "N = {n}: neural TI ({key}) betaF_ex = {} (quadrature ± {:.3}{acc})",
                    pm(&m["betaF_ex"]),
                    m["quadrature"]["error_estimate"]
                        .as_f64()
                        .unwrap_or(f64::NAN),
                );
            }
        }
        if let Some(a) = methods.get("ais") {
            println!(
                "N = {n}: neural TI (annealed importance sampling) betaF_ex = {} (ESS {:.1} of {})",
                pm(&a["betaF_ex"]),
                a["ess"].as_f64().unwrap_or(f64::NAN),
                a["trajectories"]
            );
        }
        if let Some(h) = methods.get("neural_ti") {
            let v = &h["verdict"];
            println!(
                "N = {n}: headline ({}) betaF_ex = {} ± {:.3} (sys): {}",
                h["estimator"].as_str().unwrap_or("?"),
                pm(&h["betaF_ex"]),
                h["err_sys"].as_f64().unwrap_or(f64::NAN),
                if v["converged"].as_bool() == Some(true) {
                    "converged"
                } else {
                    "NOT CONVERGED"
                }
            );
            for (r, what) in [("reasons", "because"), ("remedies", "to do")] {
                for line in v[r].as_array().into_iter().flatten() {
                    println!("    {what}: {}", line.as_str().unwrap_or(""));
                }
            }
            if h.get("betamu_ex").is_some() {
                println!(
                    "N = {n}: neural TI ({}) betamu_ex(N -> N+1) = {}",
                    h["estimator"].as_str().unwrap_or("?"),
                    pm(&h["betamu_ex"])
                );
            }
        }
        if let Some(t) = methods.get("lambda_ti") {
            println!("N = {n}: lambda-TI betaF_ex = {}", pm(t));
            if let Some(d) = t["diagnosis"].as_str().filter(|d| !d.is_empty()) {
                println!("    {d}");
            }
        }
        if let Some(m) = methods.get("mbar") {
            println!(
                "N = {n}: MBAR over the windows' span = {} (TI same span {}), smallest overlap {:.3}",
                pm(m),
                pm(&m["ti_same_span"]),
                m["min_overlap"].as_f64().unwrap_or(f64::NAN)
            );
            if let Some(w) = m["warning"].as_str() {
                println!("    {w}");
            }
        }
        if let Some(e) = methods.get("eos") {
            println!(
                "N = {n}: equation of state betaF_ex = {} (KN; err = |KN - JZG|), betamu_ex(KN) = {:.4}",
                pm(e),
                e["kolafa_nezbeda"]["betamu_ex"].as_f64().unwrap_or(f64::NAN)
            );
        }
        if let Some(w) = methods.get("widom") {
            println!(
                "N = {n}: Widom beta mu_ex(N -> N+1) = {:.4} ± {:.4}  ({} insertions, {:.0} effective){}",
                w["mean"].as_f64().unwrap_or(f64::NAN),
                w["err"].as_f64().unwrap_or(f64::NAN),
                w["insertions"],
                w["effective_insertions"].as_f64().unwrap_or(f64::NAN),
                if w["converged"].as_bool() == Some(true) {
                    String::new()
                } else {
                    format!("\n    {}", w["diagnosis"].as_str().unwrap_or(""))
                }
            );
        }
    }
}
