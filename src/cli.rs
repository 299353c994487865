//! The `nti-gpu` command line: `check`, `sample`, `train`, `baselines`, `integrate`, `run`,
//! `report`, `eos`, `bench`, `info`; the progress of the stages on stderr in [`progress`].

use crate::gpu::{
    adapter_json, describe_adapter, enumerate_adapters, parse_backends, Gpu, GpuOptions,
};
use crate::output::DirLock;
use crate::scene::Scene;
use crate::stages::limits::check_device_limits;
use crate::stages::sample::sample_stage;
use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::path::PathBuf;

mod progress;
use progress::Bar;

/// Free energies of Lennard-Jones fluids by neural thermodynamic integration, on any GPU.
#[derive(Parser, Debug)]
#[command(name = "nti-gpu", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// A backend wgpu can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Backend {
    /// Vulkan (Linux, Windows, Android; Mesa lavapipe without a GPU).
    #[value(alias = "vk")]
    Vulkan,
    /// Metal (macOS, iOS).
    #[value(alias = "mtl")]
    Metal,
    /// Direct3D 12 (Windows).
    #[value(alias = "d3d12")]
    Dx12,
    /// OpenGL / OpenGL ES.
    #[value(aliases = ["gles", "opengl"])]
    Gl,
    /// Every backend (as without --backend).
    #[value(hide = true)]
    All,
}

impl Backend {
    /// The name [`parse_backends`] reads.
    fn name(self) -> &'static str {
        match self {
            Backend::Vulkan => "vulkan",
            Backend::Metal => "metal",
            Backend::Dx12 => "dx12",
            Backend::Gl => "gl",
            Backend::All => "all",
        }
    }
}

/// Adapter selection shared by every command that uses the GPU.
#[derive(Args, Debug, Clone, Default)]
pub struct AdapterArgs {
    /// Use the adapter whose name contains this (case-insensitive), e.g. "llvmpipe", "nvidia".
    #[arg(long, global = true, value_name = "NAME")]
    adapter: Option<String>,
    /// Use this backend (a comma-separated list for several).
    #[arg(long, global = true, value_enum, value_delimiter = ',')]
    backend: Vec<Backend>,
}

impl AdapterArgs {
    /// The backends as [`GpuOptions::backend`] takes them (None: every backend).
    fn backend_names(&self) -> Option<String> {
        (!self.backend.is_empty()).then(|| {
            self.backend
                .iter()
                .map(|b| b.name())
                .collect::<Vec<_>>()
                .join(",")
        })
    }

    fn options(&self) -> GpuOptions {
        GpuOptions {
            adapter: self.adapter.clone(),
            backend: self.backend_names(),
            ..Default::default()
        }
    }
}

/// The scene a command runs, where its outputs go and the seed it runs with.
#[derive(Args, Debug, Clone)]
struct SceneArgs {
    /// Scene file (RON).
    scene: PathBuf,
    /// Output directory (default: the scene's `output`, or out/<name>).
    #[arg(short, long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Seed of every random stream in place of the scene's `seed` (results.json records
    /// the scene with this seed).
    #[arg(long)]
    seed: Option<u64>,
}

impl SceneArgs {
    /// The validated scene with the seed override applied, and the output directory.
    fn load(&self) -> Result<(Scene, PathBuf)> {
        let mut s = Scene::load_validated(&self.scene)?;
        if let Some(seed) = self.seed {
            s.seed = seed;
        }
        let dir = self.out.clone().unwrap_or_else(|| s.output_dir());
        Ok((s, dir))
    }
}

/// Subcommands of `nti-gpu sweep`.
#[derive(Subcommand, Debug)]
enum SweepCommand {
    /// Write (or complete) the row project in DIR for the sweep file: workflow.toml and a
    /// directory per state point with its scene.ron and value.json. Rerunning adds new
    /// points and never touches points already started.
    Init {
        /// Sweep file (RON): a base scene and axes over its fields.
        sweep: PathBuf,
        /// Project directory to write.
        dir: PathBuf,
        /// The command row runs for each action (default: this nti-gpu binary's path).
        #[arg(long, value_name = "PATH")]
        program: Option<String>,
        /// GPUs per point in place of the sweep file's `gpus` (0 for CPU-only nodes).
        #[arg(long, value_name = "N")]
        gpus: Option<u32>,
        /// A bench report of the cluster's adapter (`nti-gpu bench --json-out FILE`): the
        /// walltime becomes twice the longest point's expected time, unless the sweep file
        /// gives one.
        #[arg(long, value_name = "FILE")]
        bench: Option<PathBuf>,
    },
    /// Sample and train once for points that share a model (row's `train` action of a
    /// project that shares models): the model is trained in PROJECT/models/<key> and each
    /// point is given its files and writes train.done; its own `run` then reuses them.
    Train {
        /// The project directory (`sweep init`'s DIR).
        project: PathBuf,
        /// Point directories (names in PROJECT/workspace).
        #[arg(required = true)]
        points: Vec<String>,
        #[command(flatten)]
        gpu: AdapterArgs,
    },
}

/// The scene an output directory was run with, from its results.json (every default filled
/// in; older schemas upgraded on reading).
fn scene_of_output_dir(dir: &std::path::Path) -> Result<Scene> {
    let path = dir.join("results.json");
    if !path.is_file() {
        return Err(crate::error::Error::argument(
            "DIR",
            dir.display(),
            "has no results.json: give the directory of an earlier `nti-gpu run`, or the scene \
             file with --out DIR",
        )
        .into());
    }
    let results = crate::output::read_results(&path)?;
    let scene: Scene = serde_json::from_value(results["scene"].clone()).map_err(|e| {
        crate::error::Error::Format {
            path: path.clone(),
            message: format!(
                "its `scene` is not a scene this version reads ({e}); report it with the \
                 scene file: nti-gpu report SCENE --out DIR"
            ),
        }
    })?;
    scene.validate(&path.display().to_string())?;
    Ok(scene)
}

// Subcommands are listed in the order of a workflow: check a scene, its stages one by one
// or all at once (`run`), the report, then the tools.
#[derive(Subcommand, Debug)]
enum Command {
    /// Validate a scene file without running anything: every field, and every stage's
    /// buffers and dispatches against WebGPU's default limits (with --adapter or --backend,
    /// against that adapter's).
    Check {
        /// Scene file (RON).
        scene: PathBuf,
        /// Without --adapter or --backend the scene's buffers and dispatches are checked
        /// against WebGPU's default limits, which every adapter offers; with either,
        /// against that adapter's.
        #[command(flatten)]
        gpu: AdapterArgs,
    },
    /// Sample the reference LJ fluid (batched Langevin MD on the GPU).
    Sample {
        #[command(flatten)]
        run: SceneArgs,
        #[command(flatten)]
        gpu: AdapterArgs,
    },
    /// Train the energy model by denoising score matching on the reference samples of the
    /// scene's particle counts (reused from an earlier `sample` run, sampled otherwise).
    Train {
        #[command(flatten)]
        run: SceneArgs,
        /// Continue from the checkpoint `model.ckpt` in the output directory.
        #[arg(long, conflicts_with = "force")]
        resume: bool,
        /// Train from step 0 even where the output directory holds a model (this scene's or
        /// another's), replacing it as the new checkpoints are written.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        gpu: AdapterArgs,
    },
    /// Compute the classical baselines the scene names (Widom insertion, ...) next to the
    /// reference samples, reusing those of an earlier `sample` run of the same scene.
    Baselines {
        #[command(flatten)]
        run: SceneArgs,
        #[command(flatten)]
        gpu: AdapterArgs,
    },
    /// Neural TI with the trained model of the output directory: the scene's `integration`
    /// section (samplers, grid, particle counts); reuses matching sampler records.
    Integrate {
        #[command(flatten)]
        run: SceneArgs,
        /// Run again the samplers whose records in the output directory were altered or
        /// damaged, instead of refusing them.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        gpu: AdapterArgs,
    },
    /// Run everything the scene asks for, in order, resuming from what the output directory
    /// holds: reference sampling, training, baselines, neural TI, report and plots.
    Run {
        #[command(flatten)]
        run: SceneArgs,
        /// Where the output directory holds another scene's model (other samples, model or
        /// training settings) or an altered sampler record, redo that stage instead of
        /// refusing; each file is replaced when its new version is complete.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        gpu: AdapterArgs,
    },
    /// Rewrite report.md and the plots of an output directory from its results.json and
    /// sampler records (no GPU needed; after a partial or interrupted run, or a new version).
    Report {
        /// Output directory of an earlier run (its results.json holds the scene as run), or
        /// the scene file (RON) whose output directory to report.
        #[arg(value_name = "DIR|SCENE")]
        target: PathBuf,
        /// Output directory, with a scene file (default: the scene's `output`, or
        /// out/<name>).
        #[arg(short, long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// With a scene file: its seed in place of the scene's `seed`.
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Many state points: `sweep init SWEEP DIR` writes a row project (workflow.toml and
    /// one workspace directory per point) for `row submit` on a cluster or locally.
    Sweep {
        #[command(subcommand)]
        command: SweepCommand,
    },
    /// Merge every finished point of a sweep project into collected.csv / collected.json
    /// and figures of beta mu_ex and beta F_ex/N against density; list the unfinished ones.
    Collect {
        /// The project directory (`nti-gpu sweep init`'s DIR).
        dir: PathBuf,
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
        /// Print JSON to stdout instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Benchmark the kernels on this machine's GPU against the CPU reference.
    Bench {
        /// Workload suite: quick (< 2 min on a 2-core software adapter), standard or full (adds the N = 256 000 fluid).
        #[arg(long, default_value = "quick")]
        suite: String,
        /// Print the report as JSON to stdout (schema: docs/bench.md); the table goes to
        /// stderr.
        #[arg(long, conflicts_with = "compare")]
        json: bool,
        /// Also write the report as JSON to this file (schema: docs/bench.md).
        #[arg(long, value_name = "FILE", conflicts_with = "compare")]
        json_out: Option<PathBuf>,
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
    /// List every adapter wgpu can see, with backend, type, driver, limits and features.
    Info {
        /// Print JSON to stdout instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        gpu: AdapterArgs,
    },
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
        Command::Info { json, gpu } => info(&gpu, json),
        Command::Bench {
            suite,
            json,
            json_out,
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
            None => bench(&suite, only, seconds, json, json_out, &gpu),
        },
        Command::Eos {
            temperature,
            density,
            json,
        } => eos(temperature, density, json),
        Command::Sweep {
            command:
                SweepCommand::Init {
                    sweep,
                    dir,
                    program,
                    gpus,
                    bench,
                },
        } => {
            let program = match program {
                Some(p) => p,
                None => std::env::current_exe()
                    .context("the path of this nti-gpu binary (give --program)")?
                    .display()
                    .to_string(),
            };
            let o = crate::sweep::init(&sweep, &dir, &program, gpus, bench.as_deref())
                .with_context(|| format!("sweep {}", sweep.display()))?;
            for (what, list) in [
                ("added", &o.added),
                ("unchanged", &o.unchanged),
                ("updated (not started; the base scene changed)", &o.updated),
                ("kept as run (started with an older scene)", &o.kept),
                ("not points of this sweep (left alone)", &o.foreign),
            ] {
                if !list.is_empty() {
                    println!("{what}: {}", list.join(" "));
                }
            }
            for (key, points) in &o.shared {
                if points.len() > 1 {
                    println!("share model {key}: {}", points.join(" "));
                }
            }
            if let Some((secs, point, wall)) = &o.estimate {
                println!(
                    "expected: {} for the longest point ({point}) on the benchmarked adapter; \
                     walltime {wall}",
                    crate::cli::progress::duration_text(*secs)
                );
            }
            let twice = if o.shared.is_empty() {
                ""
            } else {
                "; run it twice, as row submits what is eligible: the shared trainings, then the \
                 points"
            };
            println!(
                "wrote {}: submit with `cd {} && row submit` (`--cluster none` runs \
                 here{twice}), then `nti-gpu collect {}`",
                dir.join(crate::sweep::WORKFLOW_FILE).display(),
                dir.display(),
                dir.display()
            );
            Ok(())
        }
        Command::Sweep {
            command:
                SweepCommand::Train {
                    project,
                    points,
                    gpu,
                },
        } => {
            let context = || format!("shared models of {}", project.display());
            let points =
                crate::sweep::share::read_points(&project, &points).with_context(context)?;
            let gpu = Gpu::new(&gpu.options())?;
            eprintln!(
                "adapter: {} ({}, {})",
                gpu.adapter.name, gpu.adapter.backend, gpu.adapter.driver_info
            );
            let models = crate::sweep::share::train_shared(&gpu, &project, points, &mut Bar::new())
                .with_context(context)?;
            for m in &models {
                println!(
                    "model {}: sampling {}, training {}; given to {}",
                    m.key,
                    m.sampled,
                    m.trained,
                    m.points.join(" ")
                );
            }
            Ok(())
        }
        Command::Collect { dir } => {
            let c = crate::sweep::collect::collect(&dir)
                .with_context(|| format!("collecting {}", dir.display()))?;
            println!("{} finished point(s), {} row(s)", c.finished.len(), c.rows);
            for (p, why) in &c.unfinished {
                println!("unfinished: {p}: {why}");
            }
            for f in &c.files {
                println!("wrote {}", f.display());
            }
            Ok(())
        }
        Command::Baselines { run, gpu } => {
            let (s, dir, gpu, _lock) = open_run(&run, &gpu)?;
            let result = crate::stages::baselines::baselines_stage(&gpu, &s, &dir, &mut Bar::new())
                .with_context(|| format!("baselines of {}", run.scene.display()))?;
            print_free_energy(&result);
            println!("wrote {}", dir.join("results.json").display());
            Ok(())
        }
        Command::Train {
            run,
            resume,
            force,
            gpu,
        } => train(&run, resume, force, &gpu),
        Command::Run { run, force, gpu } => {
            let (s, dir, gpu, _lock) = open_run(&run, &gpu)?;
            let outcome = crate::stages::run_scene(&gpu, &s, &dir, force, &mut Bar::new())
                .with_context(|| format!("running {}", run.scene.display()))?;
            for (stage, what, secs) in &outcome.stages {
                println!("{stage:>10}: {what} ({})", progress::duration_text(*secs));
            }
            let results = results_of(&dir);
            print_decorrelation_warnings(&results);
            print_free_energy(&results);
            println!("wrote {}", dir.join("results.json").display());
            Ok(())
        }
        Command::Integrate { run, force, gpu } => {
            let (s, dir, gpu, _lock) = open_run(&run, &gpu)?;
            let outcome =
                crate::stages::integrate::integration_stage(&gpu, &s, &dir, force, &mut Bar::new())
                    .with_context(|| format!("integrating {}", run.scene.display()))?;
            print_free_energy(&outcome.json);
            println!("wrote {}", dir.join("results.json").display());
            Ok(())
        }
        Command::Report { target, out, seed } => {
            let (s, dir) = if target.is_dir() {
                if out.is_some() || seed.is_some() {
                    return Err(crate::error::Error::argument(
                        "--out/--seed",
                        target.display(),
                        "a directory is reported in place with the scene it was run with: \
                         leave out --out and --seed, or give the scene file instead",
                    )
                    .into());
                }
                (scene_of_output_dir(&target)?, target)
            } else {
                SceneArgs {
                    scene: target,
                    out,
                    seed,
                }
                .load()?
            };
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
        Command::Check { scene, gpu } => {
            let s = Scene::load_validated(&scene)?;
            let path = scene.display().to_string();
            if gpu.adapter.is_some() || !gpu.backend.is_empty() {
                let gpu = Gpu::new(&gpu.options())?;
                let against = format!("the limits of {}", gpu.adapter.name);
                check_device_limits(&s, &path, &gpu.limits, &against, "")?;
            } else {
                let hint = format!(
                    ", or check against your adapter's limits: `nti-gpu check {path} --adapter NAME`"
                );
                let defaults = wgpu::Limits::default();
                check_device_limits(&s, &path, &defaults, "WebGPU's default limits", &hint)?;
            }
            let m = &s.sampler;
            let production = match m.tau_spacing {
                Some(x) => format!(
                    "{} configurations per replica {x} tau_int apart",
                    m.production_steps / m.sample_every as u64
                ),
                None => format!("{} steps", m.production_steps),
            };
            println!(
                "{}: ok ({} particle count(s) {:?}, {} replicas, {} + {production}, pair search: {})",
                scene.display(),
                s.system.particles.len(),
                s.system.particles,
                m.replicas,
                m.equilibration_steps,
                if s.uses_cell_list() {
                    "cell list"
                } else {
                    "all pairs"
                }
            );
            Ok(())
        }
        Command::Sample { run, gpu } => {
            let (s, dir, gpu, _lock) = open_run(&run, &gpu)?;
            let result = sample_stage(&gpu, &s, &dir, false, &mut Bar::new())
                .with_context(|| format!("sampling {}", run.scene.display()))?;
            print_reference(&result.json);
            println!("wrote {}", dir.join("results.json").display());
            Ok(())
        }
    }
}

/// Loads and validates a scene (with the seed override), resolves the output directory,
/// takes its lock (held until the returned [`DirLock`] is dropped) and opens the device.
fn open_run(run: &SceneArgs, gpu: &AdapterArgs) -> Result<(Scene, PathBuf, Gpu, DirLock)> {
    let (s, dir) = run.load()?;
    let command: Vec<String> = std::env::args().collect();
    let lock = DirLock::acquire(&dir, &command.join(" "))?;
    let gpu = Gpu::new(&gpu.options())?;
    eprintln!(
        "adapter: {} ({}, {})",
        gpu.adapter.name, gpu.adapter.backend, gpu.adapter.driver_info
    );
    let against = format!("the limits of {}", gpu.adapter.name);
    check_device_limits(
        &s,
        &run.scene.display().to_string(),
        &gpu.limits,
        &against,
        "",
    )?;
    Ok((s, dir, gpu, lock))
}

fn train(run: &SceneArgs, resume: bool, force: bool, gpu: &AdapterArgs) -> Result<()> {
    let (s, dir, gpu, _lock) = open_run(run, gpu)?;
    let checkpoint = dir.join(crate::train::CHECKPOINT_FILE);
    if resume && !checkpoint.exists() {
        return Err(crate::error::Error::argument(
            "--resume",
            checkpoint.display(),
            "no checkpoint to resume from; leave out --resume to start a new training",
        )
        .into());
    }
    crate::stages::train::check_train_start(&s, &dir, resume, force)?;
    let result = crate::stages::train::train_stage(&gpu, &s, &dir, resume, &mut Bar::new())
        .with_context(|| format!("training {}", run.scene.display()))?;
    let t = &result["training"];
    println!(
        "N = {}: {} steps, loss {:.5} (zero network {:.5}), {} steps/s",
        t["n"],
        t["steps"],
        t["final_loss"].as_f64().unwrap_or(f64::NAN),
        t["zero_network_loss"].as_f64().unwrap_or(f64::NAN),
        progress::significant(t["steps_per_second"].as_f64().unwrap_or(f64::NAN), 3)
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
    json: bool,
    json_out: Option<PathBuf>,
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
    if let Some(path) = &json_out {
        // Where the report cannot be written, say so before the benchmark runs.
        anyhow::ensure!(
            !path.is_dir(),
            "--json-out {}: is a directory; give a file name, e.g. {}",
            path.display(),
            path.join("bench.json").display()
        );
        let parent = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        anyhow::ensure!(
            parent.is_dir(),
            "--json-out {}: the directory {} does not exist",
            path.display(),
            parent.display()
        );
    }
    let gpu = Gpu::new(&GpuOptions {
        timestamps: true,
        ..args.options()
    })?;
    // With --json, stdout carries the JSON report alone and the table goes to stderr.
    let say = |line: &str| {
        if json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    };
    say(&format!(
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
    ));
    say("GPU: median [min - max] of repeats, wall clock; tstamp: device time; CPU: nti-gpu's f64 reference on the same workload");
    say(&crate::bench::table_header());
    let report = crate::bench::run_suite(&gpu, &opts, |r| say(&crate::bench::table_row(r)))?;
    say(crate::bench::report_footer(&report).trim_end_matches('\n'));
    let text = serde_json::to_string_pretty(&report)?;
    if let Some(path) = json_out {
        crate::output::write_atomic(&path, text.as_bytes())?;
        say(&format!("wrote {}", path.display()));
    }
    if json {
        println!("{text}");
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

fn info(args: &AdapterArgs, json: bool) -> Result<()> {
    let backends = match args.backend_names() {
        Some(b) => Some(parse_backends(&b)?),
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
    let choice = Gpu::new(&args.options());
    if json {
        let out = serde_json::json!({
            "adapters": adapters.iter().map(adapter_json).collect::<Vec<_>>(),
            "default_choice": match &choice {
                Ok(g) => serde_json::to_value(&g.adapter)?,
                Err(_) => serde_json::Value::Null,
            },
            "error": match &choice {
                Ok(_) => serde_json::Value::Null,
                Err(e) => serde_json::json!(e.to_string()),
            },
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    for (k, a) in adapters.iter().enumerate() {
        print!("[{k}] {}", describe_adapter(a));
    }
    match choice {
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
        if let Some(w) = decorrelation_warning(r) {
            println!("{:>6} {w}", "");
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

/// The warning for reference samples kept closer than two autocorrelation times apart.
fn decorrelation_warning(reference: &serde_json::Value) -> Option<String> {
    let spacing = reference["sample_spacing_over_tau"].as_f64()?;
    // With a τ-sized spacing, the pilot's τ_int ran short of production's.
    let field = if reference.get("tau_int_pilot").is_some() {
        "sampler.tau_spacing (or equilibration_steps, over whose second half tau_int is measured)"
    } else {
        "sampler.sample_every"
    };
    (spacing < 2.0).then(|| {
        format!(
            "warning: kept configurations are only {spacing:.1} tau_int apart; raise {field} \
             for decorrelated samples"
        )
    })
}

/// [`decorrelation_warning`] of every particle count of results.json, one line each.
fn print_decorrelation_warnings(results: &serde_json::Value) {
    for (n, r) in results["reference"].as_object().into_iter().flatten() {
        if let Some(w) = decorrelation_warning(r) {
            println!("N = {n}: reference samples: {w}");
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
