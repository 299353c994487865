//! The reference sampler: batched Langevin MD of one scene at one N, recording observables,
//! keeping decorrelated configurations on the device, accumulating g(r), and summarising
//! everything with statistical errors.
//!
//! Work is submitted in chunks of steps; between chunks the host reads only the 16-byte
//! control block (status flags) and updates the progress bar. On the cell-list path the
//! state at the start of each chunk is backed up on the device, so a neighbour-list
//! overflow rolls back, grows the list and redoes the chunk: no step is ever computed with
//! a truncated list.

use super::init::initial_state;
use super::params::STATUS_NEIGHBOR_OVERFLOW;
use super::system::{obs_record, status_error, MdConfig, MdSystem, PairSearch};
use super::MdKernels;
use crate::dataset::SampleSet;
use crate::error::{Error, Result};
use crate::gpu::footprint::Footprint;
use crate::gpu::Gpu;
use crate::md::tail::LjTail;
use crate::reference::observables::gr_normalize;
use crate::scene::LjParams;
use crate::scene::{Potential, Scene};
use crate::stats::{summarize, SeriesSummary};
use serde::Serialize;
use std::sync::Arc;
use std::time::Instant;

/// The MD configuration a scene asks for at particle count `n`.
pub fn md_config(scene: &Scene, n: u32) -> MdConfig {
    let s = &scene.system;
    let m = &scene.sampler;
    let (cutoff, shift) = match s.potential {
        Potential::MinimumImage => (None, false),
        Potential::Truncated { cutoff, shift } => (Some(cutoff), shift),
    };
    let search = if scene.uses_cell_list() {
        PairSearch::CellList { skin: m.skin }
    } else {
        PairSearch::AllPairs
    };
    let gr_default = match (search, cutoff) {
        (PairSearch::CellList { .. }, Some(rc)) => rc,
        _ => 0.5 * s.box_length,
    };
    MdConfig {
        n,
        replicas: m.replicas,
        lj: LjParams {
            epsilon: s.epsilon,
            sigma: s.sigma,
            cutoff,
            shift,
            box_length: s.box_length,
        },
        kt: s.temperature,
        mass: s.mass,
        dt: m.dt,
        friction: m.friction,
        seed: scene.seed,
        search,
        gr_bins: m.gr_bins,
        gr_max: m.gr_max.unwrap_or(gr_default),
        neighbor_capacity: None,
        alchemy: None,
    }
}

/// What the reference run of `scene` at `n` particles asks of the device: the replicas'
/// buffers and dispatches and the production run's recording.
pub fn reference_footprint(scene: &Scene, n: u32) -> Footprint {
    let config = md_config(scene, n);
    config
        .footprint()
        .with(Recording::footprint(&config, &scene.sampler))
}

/// Raw output of one sampling run.
pub struct SampleOutcome {
    /// The MD configuration.
    pub config: MdConfig,
    /// Per replica, per record: (potential energy, virial W, half-step kinetic energy,
    /// pairs within r_c, step-boundary kinetic energy).
    pub records: Vec<Vec<[f64; 5]>>,
    /// MD steps between records.
    pub record_every: u32,
    /// Configurations kept on the device: `frames * B * N` vec4, frame-major.
    pub samples: wgpu::Buffer,
    /// Frames per replica in `samples`.
    pub frames: u32,
    /// MD steps between frames.
    pub sample_every: u32,
    /// τ_int of U (MD steps) over the second half of equilibration, when production was
    /// sized by it (`sampler.tau_spacing`).
    pub pilot_tau_int: Option<f64>,
    /// g(r) pair counts summed over all frames and replicas.
    pub gr_hist: Vec<u64>,
    /// Neighbour-list rebuilds (cell-list path).
    pub rebuilds: u32,
    /// Neighbour-list capacity at the end.
    pub max_neighbors: u32,
    /// Steps run (equilibration + production).
    pub steps: u64,
    /// Wall time of the MD loop in seconds.
    pub wall_time: f64,
    /// The system, left in its final state.
    pub system: MdSystem,
}

struct Backup {
    pos: wgpu::Buffer,
    vel: wgpu::Buffer,
    force: wgpu::Buffer,
    aux: wgpu::Buffer,
    control: wgpu::Buffer,
    gr_hist: wgpu::Buffer,
}

fn copy_whole(encoder: &mut wgpu::CommandEncoder, from: &wgpu::Buffer, to: &wgpu::Buffer) {
    encoder.copy_buffer_to_buffer(from, 0, to, 0, from.size().min(to.size()));
}

impl Backup {
    fn new(gpu: &Gpu, s: &MdSystem) -> Backup {
        let b = &s.buffers;
        let z = |label: &str, buf: &wgpu::Buffer| gpu.storage_zeroed(label, buf.size());
        Backup {
            pos: z("backup pos", &b.pos),
            vel: z("backup vel", &b.vel),
            force: z("backup force", &b.force),
            aux: z("backup aux", &b.aux),
            control: z("backup control", &b.control),
            gr_hist: z("backup gr", &b.gr_hist),
        }
    }
    fn pairs<'a>(&'a self, s: &'a MdSystem) -> [(&'a wgpu::Buffer, &'a wgpu::Buffer); 6] {
        let b = &s.buffers;
        [
            (&b.pos, &self.pos),
            (&b.vel, &self.vel),
            (&b.force, &self.force),
            (&b.aux, &self.aux),
            (&b.control, &self.control),
            (&b.gr_hist, &self.gr_hist),
        ]
    }
    fn save(&self, encoder: &mut wgpu::CommandEncoder, s: &MdSystem) {
        for (live, saved) in self.pairs(s) {
            copy_whole(encoder, live, saved);
        }
    }
    fn restore(&self, gpu: &Gpu, s: &MdSystem) {
        let mut encoder = gpu.device.create_command_encoder(&Default::default());
        for (live, saved) in self.pairs(s) {
            copy_whole(&mut encoder, saved, live);
        }
        gpu.queue.submit([encoder.finish()]);
    }
}

/// What happens after a given step.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Event {
    record: Option<u64>,
    frame: Option<u64>,
}

/// Runs the reference sampler for `scene` at particle count `n`, from a lattice with
/// Maxwell velocities. `on_progress(steps_done, steps_in_run)` is called after every chunk.
pub fn run_reference(
    gpu: &Gpu,
    kernels: Arc<MdKernels>,
    scene: &Scene,
    n: u32,
    on_progress: impl FnMut(u64, u64),
) -> Result<SampleOutcome> {
    let m = &scene.sampler;
    let (pos, vel) = initial_state(
        n,
        m.replicas,
        scene.system.box_length,
        scene.system.temperature,
        scene.system.mass,
        scene.seed,
    );
    run_reference_with(
        gpu,
        kernels,
        scene,
        md_config(scene, n),
        &pos,
        &vel,
        on_progress,
    )
}

/// Runs the reference sampler with the scene's schedule (steps, records, samples) on an
/// explicit MD configuration and initial state (B * N positions and velocities,
/// replica-major). With `sampler.tau_spacing`, the second half of equilibration is
/// recorded to measure τ_int and production is sized from it (see
/// [`crate::scene::SamplerSettings::tau_spacing`]). `on_progress(done, total)` is called
/// after every chunk with the steps done and the run's length (known once τ_int is).
pub fn run_reference_with(
    gpu: &Gpu,
    kernels: Arc<MdKernels>,
    scene: &Scene,
    config: MdConfig,
    pos: &[[f64; 3]],
    vel: &[[f64; 3]],
    mut on_progress: impl FnMut(u64, u64),
) -> Result<SampleOutcome> {
    let scene_settings = &scene.sampler;
    let mut system = MdSystem::new(gpu, kernels, config.clone(), pos, vel)?;
    let backup = system.uses_cells().then(|| Backup::new(gpu, &system));
    let start = Instant::now();
    let mut gr_total = vec![0u64; scene_settings.gr_bins as usize];
    let mut run = |system: &mut MdSystem, rec: &Recording, offset: u64, total: u64| {
        let steps = rec.equil + rec.production;
        run_phase(
            gpu,
            system,
            rec,
            backup.as_ref(),
            steps,
            &mut gr_total,
            |d| on_progress(offset + d, total),
        )
    };
    let (m, pilot_tau_int) = match scene_settings.tau_spacing {
        None => (scene_settings.clone(), None),
        Some(spacing) => {
            // Pilot: equilibration with its second half recorded, no frames kept.
            let half = scene_settings.equilibration_steps / 2;
            let mut pilot = scene_settings.clone();
            pilot.equilibration_steps -= half;
            pilot.production_steps = half;
            pilot.sample_every = u32::MAX;
            let rec = Recording::new(gpu, &config, &pilot)?;
            let guess = scene_settings.equilibration_steps + scene_settings.production_steps;
            run(&mut system, &rec, 0, guess)?;
            let u = series_of(&rec.read_records(gpu)?, |r| r[0]);
            let tau = crate::stats::tau_int_replicas(&u) * scene_settings.record_every as f64;
            (sized_by_tau(scene_settings, tau, spacing), Some(tau))
        }
    };
    let rec = Recording::new(gpu, &config, &m)?;
    let done = scene_settings.equilibration_steps - m.equilibration_steps;
    let total_steps = done + m.equilibration_steps + m.production_steps;
    run(&mut system, &rec, done, total_steps)?;
    let wall_time = start.elapsed().as_secs_f64();
    for (t, c) in gr_total.iter_mut().zip(system.read_gr(gpu)?) {
        *t += c as u64;
    }
    let records = rec.read_records(gpu)?;
    let control = system.control(gpu)?;
    Ok(SampleOutcome {
        records,
        record_every: m.record_every,
        samples: rec.samples,
        frames: rec.frames as u32,
        sample_every: m.sample_every,
        pilot_tau_int,
        gr_hist: gr_total,
        rebuilds: control.rebuilds,
        max_neighbors: system.params.max_neighbors,
        steps: total_steps,
        wall_time,
        config,
        system,
    })
}

/// The production schedule of `m` sized by a measured τ_int (MD steps): configurations
/// `spacing` τ_int apart (rounded up to a multiple of `record_every`), as many per replica
/// as `production_steps / sample_every` keeps; equilibration already done.
pub fn sized_by_tau(
    m: &crate::scene::SamplerSettings,
    tau_int: f64,
    spacing: f64,
) -> crate::scene::SamplerSettings {
    let record = m.record_every as u64;
    let frames = (m.production_steps / m.sample_every as u64).max(1);
    let every = ((spacing * tau_int / record as f64).ceil() as u64).max(1) * record;
    let every = every.min(u32::MAX as u64 / record * record);
    let mut sized = m.clone();
    sized.equilibration_steps = 0;
    sized.sample_every = every as u32;
    sized.production_steps = frames * every;
    sized
}

/// Steps `rec`'s phase on `system` in submissions of about 0.25 s, growing the neighbour
/// list when it overflows and adding g(r) counts into `gr_total` before they could
/// overflow. `on_progress(done)` after every submission.
fn run_phase(
    gpu: &Gpu,
    system: &mut MdSystem,
    rec: &Recording,
    backup: Option<&Backup>,
    total_steps: u64,
    gr_total: &mut [u64],
    mut on_progress: impl FnMut(u64),
) -> Result<()> {
    let mut done = 0u64;
    let mut chunk = 20u64;
    while done < total_steps {
        let end = (done + chunk).min(total_steps);
        let t0 = Instant::now();
        let mut encoder = gpu.device.create_command_encoder(&Default::default());
        if let Some(b) = backup {
            b.save(&mut encoder, system);
        }
        rec.record_steps(&mut encoder, system, done, end);
        gpu.queue.submit([encoder.finish()]);
        let control = system.control(gpu)?;
        if control.status & STATUS_NEIGHBOR_OVERFLOW != 0 {
            if let Some(b) = backup {
                b.restore(gpu, system);
                system.grow_neighbor_list(gpu)?;
                continue;
            }
        }
        status_error(control.status)?;
        // Keep u32 histogram counts far from overflow.
        let counts = system.read_gr(gpu)?;
        if counts.iter().any(|&c| c > 1 << 30) {
            for (t, c) in gr_total.iter_mut().zip(&counts) {
                *t += *c as u64;
            }
            system.clear_gr(gpu);
        }
        let steps_in_chunk = end - done;
        done = end;
        on_progress(done);
        // Aim at ~0.25 s per submission.
        let rate = steps_in_chunk as f64 / t0.elapsed().as_secs_f64().max(1e-4);
        chunk = ((0.25 * rate) as u64).clamp(1, 5000);
    }
    Ok(())
}

/// Per replica, `f` of every record.
fn series_of(records: &[Vec<[f64; 5]>], f: impl Fn(&[f64; 5]) -> f64) -> Vec<Vec<f64>> {
    records.iter().map(|r| r.iter().map(&f).collect()).collect()
}

/// Where a reference run keeps its observables and configurations on the device, and when
/// it records them.
struct Recording {
    /// Observables of every record, `n_records × B` pairs of vec4.
    series: wgpu::Buffer,
    /// Kept configurations, `frames × B × N` vec4, frame-major.
    samples: wgpu::Buffer,
    replicas: u64,
    n: u64,
    equil: u64,
    production: u64,
    record_every: u64,
    sample_every: u64,
    n_records: u64,
    frames: u64,
}

impl Recording {
    /// The observable series and the kept samples of a production run: copy-only buffers.
    pub fn footprint(config: &MdConfig, m: &crate::scene::SamplerSettings) -> Footprint {
        let (series_bytes, sample_bytes) = Self::sizes(config, m);
        Footprint::default()
            .buffer("observable series", series_bytes)
            .buffer("samples", sample_bytes)
    }

    fn sizes(config: &MdConfig, m: &crate::scene::SamplerSettings) -> (u64, u64) {
        let replicas = config.replicas as u64;
        let n_records = m.production_steps / m.record_every as u64;
        let frames = m.production_steps / m.sample_every as u64;
        (
            n_records * replicas * 32,
            frames * replicas * config.n as u64 * 16,
        )
    }

    /// Allocates the buffers, refusing sizes beyond the adapter's buffer limit.
    fn new(gpu: &Gpu, config: &MdConfig, m: &crate::scene::SamplerSettings) -> Result<Self> {
        if let Some(e) = Self::footprint(config, m).excess(&gpu.limits) {
            return Err(Error::Device(format!(
                "{e}; raise sampler.record_every / sampler.sample_every or lower \
                 sampler.production_steps"
            )));
        }
        let (series_bytes, sample_bytes) = Self::sizes(config, m);
        // A pilot keeps no frames; a buffer of no bytes is not portable.
        let sample_bytes = sample_bytes.max(16);
        let replicas = config.replicas as u64;
        let n = config.n as u64;
        let n_records = m.production_steps / m.record_every as u64;
        let frames = m.production_steps / m.sample_every as u64;
        Ok(Self {
            series: gpu.storage_zeroed("observable series", series_bytes),
            samples: gpu.storage_zeroed("samples", sample_bytes),
            replicas,
            n,
            equil: m.equilibration_steps,
            production: m.production_steps,
            record_every: m.record_every as u64,
            sample_every: m.sample_every as u64,
            n_records,
            frames,
        })
    }

    /// What happens after `step` completed steps: a record and/or a kept frame (their
    /// indices) during production, nothing during equilibration.
    fn event_after(&self, step: u64) -> Event {
        if step <= self.equil {
            return Event {
                record: None,
                frame: None,
            };
        }
        let p = step - self.equil;
        Event {
            record: (p % self.record_every == 0).then(|| p / self.record_every - 1),
            frame: (p % self.sample_every == 0).then(|| p / self.sample_every - 1),
        }
    }

    /// Records steps `done + 1 ..= end` into `encoder`: runs of plain steps up to each
    /// event, then the event's reduction or g(r) and its copy into the series or samples.
    fn record_steps(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        system: &MdSystem,
        done: u64,
        end: u64,
    ) {
        let replicas = self.replicas;
        let mut s = done;
        while s < end {
            // Steps until the next event (or chunk end).
            let mut k = s;
            let mut ev = Event {
                record: None,
                frame: None,
            };
            while k < end {
                k += 1;
                ev = self.event_after(k);
                if ev.record.is_some() || ev.frame.is_some() {
                    break;
                }
            }
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                system.record_steps(&mut pass, (k - s) as u32);
                if ev.record.is_some() {
                    system.record_reduce(&mut pass);
                }
                if ev.frame.is_some() {
                    system.record_gr(&mut pass);
                }
            }
            if let Some(r) = ev.record {
                encoder.copy_buffer_to_buffer(
                    &system.buffers.obs,
                    0,
                    &self.series,
                    r * replicas * 32,
                    replicas * 32,
                );
            }
            if let Some(f) = ev.frame {
                let bytes = replicas * self.n * 16;
                encoder.copy_buffer_to_buffer(
                    &system.buffers.pos,
                    0,
                    &self.samples,
                    f * bytes,
                    bytes,
                );
            }
            s = k;
        }
    }

    /// Per replica, per record: the observables read back from the series.
    fn read_records(&self, gpu: &Gpu) -> Result<Vec<Vec<[f64; 5]>>> {
        let replicas = self.replicas as usize;
        let raw: Vec<[f32; 4]> = gpu.read(&self.series, 0, 2 * self.n_records * self.replicas)?;
        Ok((0..replicas)
            .map(|b| {
                (0..self.n_records as usize)
                    .map(|r| {
                        let k = 2 * (r * replicas + b);
                        obs_record(raw[k], raw[k + 1])
                    })
                    .collect()
            })
            .collect())
    }
}

impl SampleOutcome {
    /// Reads the kept configurations back from the device.
    pub fn sample_set(&self, gpu: &Gpu, scene: &Scene) -> Result<SampleSet> {
        let c = &self.config;
        let count = self.frames as u64 * c.replicas as u64 * c.n as u64;
        let raw: Vec<[f32; 4]> = gpu.read(&self.samples, 0, count)?;
        Ok(SampleSet {
            scene_hash: scene.hash(),
            n: c.n,
            replicas: c.replicas,
            frames: self.frames,
            box_length: c.lj.box_length,
            temperature: c.kt,
            epsilon: c.lj.epsilon,
            sigma: c.lj.sigma,
            sample_every: self.sample_every,
            positions: raw.into_iter().map(|p| [p[0], p[1], p[2]]).collect(),
        })
    }

    fn series(&self, f: impl Fn(&[f64; 5]) -> f64) -> Vec<Vec<f64>> {
        series_of(&self.records, f)
    }

    /// The thermo log of the run (`thermo_N<N>.csv`): one row per observable record of the
    /// production phase, `step,time,u_per_particle,u_per_particle_sem,pressure,pressure_sem,
    /// temperature,temperature_sem`, each the mean over the replicas at that step and its
    /// standard error over them (empty with one replica); `step` counts MD steps from the
    /// start (equilibration included), `time` = step × dt. The observables are those of
    /// [`SampleOutcome::summary`] (simulated potential, virial pressure, half-step kinetic
    /// temperature).
    pub fn thermo_csv(&self, equilibration_steps: u64) -> String {
        use std::fmt::Write as _;
        let c = &self.config;
        let n = c.n as f64;
        let volume = c.lj.box_length.powi(3);
        let observables = |r: &[f64; 5]| {
            [
                r[0] / n,
                (2.0 * r[2] + r[1]) / (3.0 * volume),
                2.0 * r[2] / (3.0 * n),
            ]
        };
        let mut text = String::from(
            "step,time,u_per_particle,u_per_particle_sem,pressure,pressure_sem,temperature,temperature_sem\n",
        );
        let records = self.records.iter().map(Vec::len).min().unwrap_or(0);
        let b = self.records.len() as f64;
        for i in 0..records {
            let step = equilibration_steps + (i as u64 + 1) * self.record_every as u64;
            let _ = write!(text, "{step},{:e}", step as f64 * c.dt);
            for q in 0..3 {
                let values: Vec<f64> = self.records.iter().map(|r| observables(&r[i])[q]).collect();
                let mean = values.iter().sum::<f64>() / b;
                let sem = if values.len() > 1 {
                    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (b - 1.0);
                    format!("{:e}", (var / b).sqrt())
                } else {
                    String::new()
                };
                let _ = write!(text, ",{mean:e},{sem}");
            }
            text.push('\n');
        }
        text
    }

    /// g(r) at bin centres.
    pub fn gr(&self) -> Vec<(f64, f64)> {
        let c = &self.config;
        gr_normalize(
            &self.gr_hist,
            c.gr_max,
            c.n,
            c.lj.box_length.powi(3),
            self.frames as u64 * c.replicas as u64,
        )
    }

    /// Statistical summary of the run.
    pub fn summary(&self) -> ReferenceSummary {
        let c = &self.config;
        let n = c.n as f64;
        let volume = c.lj.box_length.powi(3);
        let rho = c.density();
        let u = summarize(&self.series(|r| r[0] / n));
        let t = summarize(&self.series(|r| 2.0 * r[2] / (3.0 * n)));
        let p = summarize(&self.series(|r| (2.0 * r[2] + r[1]) / (3.0 * volume)));
        let tail = match (c.lj.cutoff, c.lj.shift) {
            (Some(rc), shift) => {
                let lt = LjTail::new(c.lj.epsilon, c.lj.sigma, rc);
                let uc = if shift {
                    lt.pair_energy_at_cutoff()
                } else {
                    0.0
                };
                let u_tail = lt.energy_per_particle(rho);
                let u_tc = summarize(&self.series(|r| (r[0] + r[3] * uc) / n + u_tail));
                let p_tail = lt.pressure(rho);
                Some(TailCorrected {
                    potential_energy_per_particle: u_tc,
                    pressure: SeriesSummary {
                        mean: p.mean + p_tail,
                        ..p
                    },
                    energy_tail_per_particle: u_tail,
                    pressure_tail: p_tail,
                    chemical_potential_tail: lt.chemical_potential(rho),
                    shift_restored: shift,
                })
            }
            _ => None,
        };
        let total_records = self.records.iter().map(|r| r.len()).sum::<usize>();
        let tau_steps = u.tau_int * self.record_every as f64;
        ReferenceSummary {
            n: c.n,
            density: rho,
            replicas: c.replicas,
            pair_search: match c.search {
                PairSearch::AllPairs => "all_pairs".into(),
                PairSearch::CellList { .. } => "cell_list".into(),
            },
            potential_energy_per_particle: u,
            pressure: p,
            temperature: t,
            tail_corrected: tail,
            samples: self.frames as u64 * c.replicas as u64,
            sample_every: self.sample_every,
            tau_int: tau_steps,
            tau_int_pilot: self.pilot_tau_int,
            n_eff: u.n_eff,
            sample_spacing_over_tau: self.sample_every as f64 / tau_steps.max(1e-12),
            records: total_records as u64,
            neighbor_rebuilds: self.rebuilds,
            neighbor_capacity: self.max_neighbors,
            steps: self.steps,
            wall_time_s: self.wall_time,
            particle_steps_per_second: self.steps as f64 * c.total() as f64
                / self.wall_time.max(1e-9),
            files: SampleFiles::default(),
        }
    }
}

/// Tail-corrected values of a truncated potential (standard analytic corrections with
/// g(r) = 1 beyond r_c; for a shifted potential the shift is restored with the measured
/// number of pairs within r_c).
#[derive(Clone, Debug, Serialize)]
pub struct TailCorrected {
    /// U/N of the full (untruncated, unshifted) potential.
    pub potential_energy_per_particle: SeriesSummary,
    /// P of the full potential.
    pub pressure: SeriesSummary,
    /// u_tail added to U/N.
    pub energy_tail_per_particle: f64,
    /// P_tail added to P.
    pub pressure_tail: f64,
    /// mu_tail to add to a truncated-potential chemical potential.
    pub chemical_potential_tail: f64,
    /// Whether the shift was restored before adding the tail.
    pub shift_restored: bool,
}

/// Files written for one N (relative to the output directory).
#[derive(Clone, Debug, Default, Serialize)]
pub struct SampleFiles {
    /// `.ntis` configurations.
    pub samples: String,
    /// Extended XYZ of the kept configurations (every frame of every replica, or every
    /// replica of the last frame when that would be too large: `SampleSet::to_extxyz_all`).
    pub xyz: String,
    /// g(r) table.
    pub gr: String,
    /// Thermo log (U/N, P, T against MD time; [`SampleOutcome::thermo_csv`]).
    pub thermo: String,
}

/// `results.json` entry `reference.<N>`. Errors are 1-sigma from block averaging over
/// replicas and time; `tau_int` is in MD steps.
#[derive(Clone, Debug, Serialize)]
pub struct ReferenceSummary {
    /// Particles.
    #[serde(rename = "N")]
    pub n: u32,
    /// Number density N / L^3.
    pub density: f64,
    /// Replicas.
    pub replicas: u32,
    /// "all_pairs" or "cell_list".
    pub pair_search: String,
    /// U/N (the simulated potential: truncated and shifted as the scene says).
    pub potential_energy_per_particle: SeriesSummary,
    /// Virial pressure (2K + W) / 3V.
    pub pressure: SeriesSummary,
    /// Kinetic temperature 2K / 3N (half-step kinetic energy, see `observables.wgsl`).
    pub temperature: SeriesSummary,
    /// Tail-corrected values (truncated potentials only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tail_corrected: Option<TailCorrected>,
    /// Configurations kept (frames x replicas).
    pub samples: u64,
    /// MD steps between kept configurations.
    pub sample_every: u32,
    /// Integrated autocorrelation time of U, in MD steps.
    pub tau_int: f64,
    /// τ_int of U over the second half of equilibration (MD steps), from which
    /// `sample_every` and the production length were sized (`sampler.tau_spacing`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tau_int_pilot: Option<f64>,
    /// Effective number of independent U records.
    pub n_eff: f64,
    /// sample_every / tau_int: >= 2 means kept configurations are decorrelated.
    pub sample_spacing_over_tau: f64,
    /// Observable records (replicas x times).
    pub records: u64,
    /// Neighbour-list rebuilds.
    pub neighbor_rebuilds: u32,
    /// Neighbour-list capacity.
    pub neighbor_capacity: u32,
    /// MD steps (equilibration + production).
    pub steps: u64,
    /// Wall time of the MD loop.
    pub wall_time_s: f64,
    /// Throughput, B * N * steps / wall time.
    pub particle_steps_per_second: f64,
    /// Output files.
    pub files: SampleFiles,
}
