//! A property-test harness for everything nti-gpu reads from disk: the scene parser and
//! validator, the sample files (`.ntis`), the checkpoints and the raw sampler records.
//! Each target starts from valid inputs (the seed corpus: the bundled scenes and files made
//! here, plus the valid inputs of `tests/data/fuzz/`; an input that once broke a reader gets
//! a test of its own) and mutates them (bit flips, byte and token replacement with extreme
//! values, truncation, splices); every mutant must give a value or an error, never a panic.
//!
//! `cargo test --release --test fuzz` runs a short pass (a few thousand mutants per target,
//! seconds); `NTI_FUZZ_ITERS=200000 cargo test --release --test fuzz -- --nocapture` a long
//! one. The seed of the mutations is `NTI_FUZZ_SEED` (default fixed), printed on failure.

use nti_gpu::dataset::SampleSet;
use nti_gpu::model::checkpoint::Checkpoint;
use nti_gpu::scene::{AdamSettings, Estimator, ModelConfig, Scene, ScoreTarget};
use nti_gpu::ti::record::RawRun;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

/// xorshift64*: deterministic mutations without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn iterations() -> usize {
    std::env::var("NTI_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000)
}

fn seed() -> u64 {
    std::env::var("NTI_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x6e74_692d_6670_7521)
}

/// Values that break naive readers.
const EXTREMES: [&str; 14] = [
    "0",
    "-1",
    "1e308",
    "-1e308",
    "1e-320",
    "NaN",
    "inf",
    "4294967295",
    "4294967296",
    "18446744073709551615",
    "99999999999999999999999",
    "0.0",
    "[]",
    "\"\"",
];

/// One mutant of `input`.
fn mutate(rng: &mut Rng, input: &[u8], text: bool) -> Vec<u8> {
    let mut b = input.to_vec();
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        if b.is_empty() {
            b.push(rng.next() as u8);
            continue;
        }
        let at = rng.below(b.len());
        match rng.below(if text { 7 } else { 5 }) {
            0 => b[at] ^= 1 << rng.below(8),
            1 => b[at] = rng.next() as u8,
            2 => b.truncate(at),
            3 => {
                // Splice a copy of another slice in.
                let from = rng.below(b.len());
                let len = rng.below(16).min(b.len() - from);
                let piece = b[from..from + len].to_vec();
                b.splice(at..at, piece);
            }
            4 => {
                let len = rng.below(8).min(b.len() - at);
                b.drain(at..at + len);
            }
            _ => {
                // Replace the number (or token) at `at` with an extreme value.
                let is_tok = |c: u8| c.is_ascii_alphanumeric() || b".-+e".contains(&c);
                let mut end = at;
                while end < b.len() && is_tok(b[end]) {
                    end += 1;
                }
                let value = EXTREMES[rng.below(EXTREMES.len())].as_bytes().to_vec();
                b.splice(at..end, value);
            }
        }
    }
    b
}

/// Feeds `iterations()` mutants of every corpus entry to `read` (true: the reader accepted
/// it); a panic fails the test with the mutant written to a temporary file for the corpus.
fn fuzz(target: &str, corpus: &[Vec<u8>], text: bool, read: impl Fn(&[u8]) -> bool) {
    let mut rng = Rng(seed() ^ (target.len() as u64 * 0x9e37_79b9_7f4a_7c15));
    // The corpus itself is valid: every entry reads.
    for (i, input) in corpus.iter().enumerate() {
        assert!(read(input), "{target}: corpus entry {i} does not read");
    }
    let n = iterations();
    let mut accepted = 0;
    for i in 0..n {
        let input = &corpus[i % corpus.len()];
        let mutant = mutate(&mut rng, input, text);
        let outcome = catch_unwind(AssertUnwindSafe(|| read(&mutant)));
        accepted += usize::from(matches!(outcome, Ok(true)));
        if outcome.is_err() {
            let path = std::env::temp_dir().join(format!("nti-fuzz-{target}-{i}.bin"));
            std::fs::write(&path, &mutant).unwrap();
            panic!(
                "{target}: mutant {i} (seed {}) panicked; it is in {} (add it to tests/data/fuzz/)",
                seed(),
                path.display()
            );
        }
    }
    eprintln!("{target}: {n} mutants, {accepted} accepted by the reader, no panic");
}

/// Extra corpus entries kept in tests/data/fuzz/ whose names start with `prefix`.
fn kept(prefix: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .map(|e| e.path())
        .collect();
    files.sort();
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

#[test]
fn scene_parser_and_validator() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut corpus: Vec<Vec<u8>> = ["assets/scenes", "benches/scenes"]
        .iter()
        .flat_map(|d| std::fs::read_dir(dir.join(d)).unwrap().flatten())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    corpus.extend(kept("scene"));
    assert!(corpus.len() >= 4);
    fuzz("scene", &corpus, true, |bytes| {
        let text = String::from_utf8_lossy(bytes);
        Scene::from_str(&text, "fuzz.ron").is_ok_and(|s| s.validate("fuzz.ron").is_ok())
    });
}

fn samples() -> SampleSet {
    SampleSet {
        scene_hash: 0x1234_5678_9abc_def0,
        n: 4,
        replicas: 2,
        frames: 3,
        box_length: 6.0,
        temperature: 1.0,
        epsilon: 0.8,
        sigma: 1.0,
        sample_every: 50,
        positions: (0..24)
            .map(|k| [k as f32 * 0.2, 1.0, 5.5 - k as f32 * 0.1])
            .collect(),
    }
}

#[test]
fn sample_files() {
    let mut corpus = vec![samples().to_bytes()];
    corpus.extend(kept("ntis"));
    fuzz("ntis", &corpus, false, |bytes| {
        SampleSet::from_bytes(bytes, Path::new("fuzz.ntis")).is_ok()
    });
}

#[test]
fn checkpoints() {
    let architecture = ModelConfig {
        k_radial: 4,
        vector_channels: 2,
        time_frequencies: 1,
        hidden: 4,
        r_c: 2.0,
    };
    let p = architecture.param_count();
    let ck = Checkpoint {
        scene_hash: 7,
        architecture,
        step: 12,
        seed: 3,
        optimizer: AdamSettings::default(),
        batch: 8,
        target: ScoreTarget::Blend { switch: 0.3 },
        params: (0..p).map(|k| k as f32 * 0.01).collect(),
        m: vec![0.0; p],
        v: vec![1e-4; p],
        average: None,
    };
    let mut corpus = vec![ck.to_bytes().unwrap()];
    corpus.extend(kept("ckpt"));
    fuzz("ckpt", &corpus, false, |bytes| {
        Checkpoint::from_bytes(bytes, Path::new("fuzz.ckpt")).is_ok()
    });
}

#[test]
fn raw_sampler_records() {
    let grid = vec![0.0, 0.1, 0.4, 1.0];
    let raw = RawRun {
        version: 4,
        fingerprint: "0123456789abcdef".into(),
        n: 4,
        estimator: Estimator::Annealed,
        grid: grid.clone(),
        integrand: vec![vec![-10.0, 2.5, 3.0, 0.0]; 4],
        work: vec![0.5; 4],
        log_weight: vec![vec![-0.1, 0.0, 0.0, 0.0]; 4],
        log_norm: vec![vec![0.0, 0.2, 0.0, 0.0]; 2],
        resample: 1.0,
        families: 2,
        acceptance: vec![0.5, 0.6, 0.7, 1.0],
        gr: vec![(0.5, 0.0), (1.0, 1.2)],
        min_pair_distance: 0.9,
        evaluations: 12,
        wall_time_s: 0.5,
        checksum: String::new(),
    };
    let mut corpus = vec![
        raw.to_json().unwrap().into_bytes(),
        serde_json::to_vec(&raw).unwrap(),
    ];
    corpus.extend(kept("raw"));
    fuzz("raw", &corpus, true, |bytes| {
        let text = String::from_utf8_lossy(bytes);
        if let Ok(r) = RawRun::from_json(&text, Path::new("fuzz.json")) {
            // What the report does with a record that reads.
            let cuts = nti_gpu::ti::along_t::cuts(&r.grid, &nti_gpu::ti::along_t::EDGES);
            let _ = nti_gpu::ti::along_t::ti_spans(&r, &cuts);
            let _ = nti_gpu::ti::along_t::weight_spans(&r, &cuts);
            let _ = nti_gpu::ti::along_t::acceptance_spans(&r, &cuts);
            return true;
        }
        false
    });
}
