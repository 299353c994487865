//! Reference samples on disk: the versioned binary `.ntis` format and an extended-XYZ export.
//!
//! # `.ntis` format, version 2 (all little-endian)
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic `b"NTISAMP\0"` |
//! | 8 | 4 | u32 version = 2 (1: the same without the checksum) |
//! | 12 | 4 | u32 header size in bytes = 80 (data starts here) |
//! | 16 | 8 | u64 scene hash ([`crate::scene::Scene::hash`]: seed, system and sampler sections) |
//! | 24 | 4 | u32 N, particles per configuration |
//! | 28 | 4 | u32 B, replicas |
//! | 32 | 4 | u32 F, frames per replica |
//! | 36 | 4 | u32 dtype: 1 = f32 xyz |
//! | 40 | 8 | f64 box length L |
//! | 48 | 8 | f64 kT |
//! | 56 | 8 | f64 epsilon |
//! | 64 | 8 | f64 sigma |
//! | 72 | 4 | u32 steps between frames |
//! | 76 | 4 | u32 checksum: FNV-1a 64 of the whole file with this field zeroed, its two halves XORed |
//! | 80 | F·B·N·12 | positions, f32 x y z, frame-major, then replica, then particle, wrapped into [0, L) |
//!
//! Consecutive frames of a replica are `sample_every` MD steps apart; replicas are
//! independent. Reading refuses a file whose checksum does not match (version 2) and
//! positions that are not finite or lie outside the box, naming the file.

use crate::error::{Error, Result};
use crate::output::write_atomic;
use std::path::Path;

/// Magic bytes of `.ntis` files.
pub const MAGIC: &[u8; 8] = b"NTISAMP\0";
/// Current format version.
pub const VERSION: u32 = 2;
/// Offset of the checksum field.
const CHECKSUM_AT: usize = 76;
/// Header size (versions 1 and 2).
pub const HEADER_BYTES: usize = 80;
/// dtype code of f32 xyz.
pub const DTYPE_F32_XYZ: u32 = 1;

/// The checksum of a `.ntis` byte image: FNV-1a 64 over the bytes with the checksum field
/// read as zero, folded to 32 bits.
fn checksum(bytes: &[u8]) -> u32 {
    let end = CHECKSUM_AT + 4;
    let h = if bytes.len() >= end {
        crate::output::fnv1a64_parts(&[&bytes[..CHECKSUM_AT], &[0; 4], &bytes[end..]])
    } else {
        crate::output::fnv1a64(bytes)
    };
    (h ^ (h >> 32)) as u32
}

/// A set of configurations and its provenance.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleSet {
    /// Hash of the scene that made them.
    pub scene_hash: u64,
    /// Particles per configuration.
    pub n: u32,
    /// Replicas.
    pub replicas: u32,
    /// Frames per replica.
    pub frames: u32,
    /// Box length.
    pub box_length: f64,
    /// kT.
    pub temperature: f64,
    /// LJ epsilon.
    pub epsilon: f64,
    /// LJ sigma.
    pub sigma: f64,
    /// MD steps between frames.
    pub sample_every: u32,
    /// Positions, `frames * replicas * n` xyz triples, frame-major.
    pub positions: Vec<[f32; 3]>,
}

impl SampleSet {
    /// Number of configurations (frames * replicas).
    pub fn configurations(&self) -> usize {
        (self.frames * self.replicas) as usize
    }

    /// Positions of frame `f`, replica `b`.
    pub fn configuration(&self, f: u32, b: u32) -> &[[f32; 3]] {
        let n = self.n as usize;
        let start = ((f * self.replicas + b) as usize) * n;
        &self.positions[start..start + n]
    }

    /// Serialises to the `.ntis` byte layout.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_BYTES + self.positions.len() * 12);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&(HEADER_BYTES as u32).to_le_bytes());
        out.extend_from_slice(&self.scene_hash.to_le_bytes());
        for v in [self.n, self.replicas, self.frames, DTYPE_F32_XYZ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in [self.box_length, self.temperature, self.epsilon, self.sigma] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&self.sample_every.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        debug_assert_eq!(out.len(), HEADER_BYTES);
        for p in &self.positions {
            for c in p {
                out.extend_from_slice(&c.to_le_bytes());
            }
        }
        let sum = checksum(&out);
        out[CHECKSUM_AT..CHECKSUM_AT + 4].copy_from_slice(&sum.to_le_bytes());
        out
    }

    /// Parses the `.ntis` byte layout; `path` is used in messages.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<SampleSet> {
        let bad = |message: String| Error::Format {
            path: path.to_path_buf(),
            message,
        };
        if bytes.len() < HEADER_BYTES || &bytes[0..8] != MAGIC {
            return Err(bad("not an nti-gpu sample file (bad magic)".into()));
        }
        let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().expect("4 bytes"));
        let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().expect("8 bytes"));
        let f64_at = |o: usize| f64::from_bits(u64_at(o));
        let version = u32_at(8);
        if version != VERSION && version != 1 {
            return Err(bad(format!(
                "sample file version {version}; this nti-gpu reads versions 1 and {VERSION}"
            )));
        }
        let header = u32_at(12) as usize;
        let (n, replicas, frames, dtype) = (u32_at(24), u32_at(28), u32_at(32), u32_at(36));
        if dtype != DTYPE_F32_XYZ {
            return Err(bad(format!("unknown dtype code {dtype}")));
        }
        let count = (frames as usize)
            .checked_mul(replicas as usize)
            .and_then(|c| c.checked_mul(n as usize));
        let size = count
            .and_then(|c| c.checked_mul(12))
            .and_then(|b| b.checked_add(header));
        if header < HEADER_BYTES || size != Some(bytes.len()) {
            return Err(bad(format!(
                "size {} does not match header (N = {n}, B = {replicas}, F = {frames})",
                bytes.len()
            )));
        }
        if version >= 2 && checksum(bytes) != u32_at(CHECKSUM_AT) {
            return Err(bad(
                "checksum mismatch: the file was altered or damaged after it was written; \
                 remove it to sample again"
                    .into(),
            ));
        }
        let positions: Vec<[f32; 3]> = bytes[header..]
            .chunks_exact(12)
            .map(|c| {
                let f =
                    |k: usize| f32::from_le_bytes(c[4 * k..4 * k + 4].try_into().expect("4 bytes"));
                [f(0), f(1), f(2)]
            })
            .collect();
        // Wrapped into [0, L) when written; f32 rounding may reach L itself.
        let l = f64_at(40);
        if let Some(i) = positions.iter().position(|p| {
            p.iter()
                .any(|&v| !(v.is_finite() && (0.0..=l).contains(&(v as f64))))
        }) {
            return Err(bad(format!(
                "position {i} (configuration {}, particle {}) = {:?} is not finite or lies \
                 outside the box [0, {l}]; remove the file to sample again",
                i / n.max(1) as usize,
                i % n.max(1) as usize,
                positions[i]
            )));
        }
        Ok(SampleSet {
            scene_hash: u64_at(16),
            n,
            replicas,
            frames,
            box_length: f64_at(40),
            temperature: f64_at(48),
            epsilon: f64_at(56),
            sigma: f64_at(64),
            sample_every: u32_at(72),
            positions,
        })
    }

    /// Writes the `.ntis` file atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        write_atomic(path, &self.to_bytes())
    }

    /// Reads a `.ntis` file.
    pub fn read(path: &Path) -> Result<SampleSet> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(&bytes, path)
    }

    /// Extended XYZ text of the frames of replica `replica` (readable by OVITO and ASE;
    /// particles are written as species `Ar`).
    pub fn to_extxyz(&self, replica: u32) -> String {
        let mut s = String::new();
        for f in 0..self.frames {
            self.push_extxyz_frame(&mut s, f, replica);
        }
        s
    }

    /// Extended XYZ of the kept configurations for other tools: every frame of every
    /// replica (frame by frame, replicas in order) when that is at most
    /// [`EXTXYZ_MAX_PARTICLE_LINES`] particle lines, otherwise every replica of the last
    /// frame only. Returns the text and whether every frame is in it.
    pub fn to_extxyz_all(&self) -> (String, bool) {
        let all =
            self.frames as u64 * self.replicas as u64 * self.n as u64 <= EXTXYZ_MAX_PARTICLE_LINES;
        let first = if all {
            0
        } else {
            self.frames.saturating_sub(1)
        };
        let mut s = String::new();
        for f in first..self.frames {
            for r in 0..self.replicas {
                self.push_extxyz_frame(&mut s, f, r);
            }
        }
        (s, all)
    }

    /// One configuration in extended XYZ: lengths in units of σ (positions and lattice
    /// divided by the scene's σ, stated as `length_unit=sigma`; ASE reads the numbers as
    /// ångström), the production step of the frame.
    fn push_extxyz_frame(&self, s: &mut String, frame: u32, replica: u32) {
        use std::fmt::Write as _;
        let sigma = self.sigma;
        let l = self.box_length / sigma;
        let _ = writeln!(s, "{}", self.n);
        let _ = writeln!(
            s,
            "Lattice=\"{l} 0.0 0.0 0.0 {l} 0.0 0.0 0.0 {l}\" Properties=species:S:1:pos:R:3 pbc=\"T T T\" frame={frame} replica={replica} step={} length_unit=sigma sigma={sigma} kT={} epsilon={}",
            (frame + 1) as u64 * self.sample_every as u64,
            self.temperature,
            self.epsilon,
        );
        for p in self.configuration(frame, replica) {
            let _ = writeln!(
                s,
                "Ar {:.6} {:.6} {:.6}",
                p[0] as f64 / sigma,
                p[1] as f64 / sigma,
                p[2] as f64 / sigma
            );
        }
    }
}

/// Most particle lines (frames × replicas × N) of the extended XYZ of every kept
/// configuration (about 30 MB); larger sample sets get every replica of their last frame.
pub const EXTXYZ_MAX_PARTICLE_LINES: u64 = 1_000_000;

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> SampleSet {
        SampleSet {
            scene_hash: 0xdead_beef_1234,
            n: 3,
            replicas: 2,
            frames: 2,
            box_length: 6.0,
            temperature: 1.0,
            epsilon: 0.8,
            sigma: 1.0,
            sample_every: 100,
            positions: (0..12).map(|k| [k as f32 * 0.5, 0.5, 1.5]).collect(),
        }
    }

    #[test]
    fn round_trip() {
        let s = set();
        let back = SampleSet::from_bytes(&s.to_bytes(), Path::new("x")).unwrap();
        assert_eq!(s, back);
        assert_eq!(back.configuration(1, 0)[0][0], 3.0);
    }

    #[test]
    fn rejects_altered_files_and_positions_outside_the_box() {
        let bytes = set().to_bytes();
        // One bit of one position flipped, then one header field: the checksum catches both.
        for at in [HEADER_BYTES + 13, 72] {
            let mut b = bytes.clone();
            b[at] ^= 1;
            let e = SampleSet::from_bytes(&b, Path::new("s.ntis")).unwrap_err();
            assert!(
                e.to_string().contains("s.ntis") && e.to_string().contains("checksum"),
                "{e}"
            );
        }
        // A consistent file (checksum rewritten) with a position outside the box or NaN.
        for bad in [1e6f32, f32::NAN, -0.5] {
            let mut s = set();
            s.positions[4][1] = bad;
            let e = SampleSet::from_bytes(&s.to_bytes(), Path::new("s.ntis")).unwrap_err();
            let m = e.to_string();
            assert!(
                m.contains("position 4 (configuration 1, particle 1)"),
                "{m}"
            );
            assert!(m.contains("outside the box"), "{m}");
        }
        // Version 1 files (no checksum) are still read.
        let mut v1 = bytes.clone();
        v1[8] = 1;
        v1[CHECKSUM_AT..CHECKSUM_AT + 4].fill(0);
        assert_eq!(SampleSet::from_bytes(&v1, Path::new("x")).unwrap(), set());
    }

    #[test]
    fn rejects_truncated_and_foreign_files() {
        let bytes = set().to_bytes();
        let e = SampleSet::from_bytes(&bytes[..bytes.len() - 4], Path::new("x")).unwrap_err();
        assert!(e.to_string().contains("does not match header"), "{e}");
        let e = SampleSet::from_bytes(
            b"hello world, this is not a sample file at all.......................................",
            Path::new("x"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("magic"), "{e}");
        let mut v3 = bytes.clone();
        v3[8] = 3;
        let e = SampleSet::from_bytes(&v3, Path::new("x")).unwrap_err();
        assert!(e.to_string().contains("version 3"), "{e}");
    }

    #[test]
    fn extxyz_of_every_configuration_states_its_length_unit() {
        let set = set();
        let (text, all) = set.to_extxyz_all();
        assert!(all);
        let lines: Vec<&str> = text.lines().collect();
        // 2 frames × 2 replicas of 3 particles.
        assert_eq!(lines.len(), 4 * (2 + 3));
        assert!(lines[1].contains("frame=0 replica=0") && lines[1].contains("length_unit=sigma"));
        assert!(lines[6].contains("frame=0 replica=1"), "{}", lines[6]);
        assert!(lines[16].contains("frame=1 replica=1"), "{}", lines[16]);
        // Lengths in σ: halving σ doubles every number.
        let half = SampleSet {
            sigma: 0.5,
            ..set.clone()
        };
        let (t2, _) = half.to_extxyz_all();
        let l2: Vec<&str> = t2.lines().collect();
        assert!(l2[1].contains("Lattice=\"12 0.0 0.0 0.0 12"), "{}", l2[1]);
        let x = |l: &str| l.split_whitespace().nth(1).unwrap().parse::<f64>().unwrap();
        assert!((x(l2[2]) - 2.0 * x(lines[2])).abs() < 1e-5);
    }

    #[test]
    fn a_large_set_keeps_every_replica_of_its_last_frame() {
        let mut big = set();
        big.n = 1000;
        big.replicas = 100;
        big.frames = 11;
        big.positions = vec![[1.0, 2.0, 3.0]; 11 * 100 * 1000];
        let (text, all) = big.to_extxyz_all();
        assert!(!all);
        let headers: Vec<&str> = text.lines().filter(|l| l.starts_with("Lattice")).collect();
        assert_eq!(headers.len(), 100);
        assert!(headers.iter().all(|h| h.contains("frame=10 ")));
    }
}
