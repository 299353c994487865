//! Training checkpoints: a versioned file holding the architecture, the parameters, the
//! optimizer state (both AdamW moments and the step), the seed of the training noise and
//! the scene hash, written atomically (temporary file, then rename).
//!
//! # Format, version 2 (little-endian)
//!
//! | bytes | content |
//! |---|---|
//! | 8 | magic `b"NTICKPT\0"` |
//! | 4 | u32 version = 2 |
//! | 4 | u32 length H of the header |
//! | H | UTF-8 JSON header: `scene_hash` (16 hex digits), `architecture` (the model configuration), `step`, `seed`, `optimizer` (AdamW settings), `batch` (configurations per step, over all particle counts), `target` (the regression target, [`ScoreTarget`]), `param_count` P, `payload_fnv1a64` (16 hex digits), `header_fnv1a64` (16 hex digits: the header's JSON with this field null) |
//! | 12 P or 16 P | f32 parameters, then f32 first moments, then f32 second moments, then (where `optimizer.average` is set: weight averaging) f32 averaged parameters |
//!
//! Version 1 (before `batch` and `target`) is refused with a message to start a new
//! training. Loading checks the magic, the version, the lengths, the header's checksum
//! (`header_fnv1a64`, in files written since it exists) and the payload checksum, so a
//! truncated or corrupted file is a clear error; [`Checkpoint::check_architecture`] refuses
//! a checkpoint made for another model, [`Checkpoint::check_scene`] one made for another
//! scene (other training data or training settings).

use crate::error::{Error, Result};
use crate::output::{fnv1a64, write_atomic};
use crate::scene::{AdamSettings, ModelConfig, Scene, ScoreTarget};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Magic bytes of checkpoint files.
pub const MAGIC: &[u8; 8] = b"NTICKPT\0";
/// Current format version.
pub const VERSION: u32 = 2;

/// Everything needed to resume training bit for bit.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// Hash of the scene sections that determined the training data.
    pub scene_hash: u64,
    /// The model architecture.
    pub architecture: ModelConfig,
    /// Optimizer updates done.
    pub step: u64,
    /// Seed of the training noise (counter-based: the stream position is `step`).
    pub seed: u64,
    /// AdamW settings.
    pub optimizer: AdamSettings,
    /// Configurations per step (over all particle counts).
    pub batch: u32,
    /// Regression target of the loss.
    pub target: ScoreTarget,
    /// Parameters.
    pub params: Vec<f32>,
    /// AdamW first moments.
    pub m: Vec<f32>,
    /// AdamW second moments.
    pub v: Vec<f32>,
    /// The parameters' moving average, present exactly when `optimizer.average` is set.
    pub average: Option<Vec<f32>>,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    scene_hash: String,
    architecture: ModelConfig,
    step: u64,
    seed: u64,
    optimizer: AdamSettings,
    batch: u32,
    target: ScoreTarget,
    param_count: u64,
    payload_fnv1a64: String,
    /// FNV-1a 64 of this header's JSON with this field null (absent in older files, which
    /// are read without the check).
    #[serde(default)]
    header_fnv1a64: Option<String>,
}

impl Header {
    /// The header's checksum: FNV-1a 64 of its JSON with `header_fnv1a64` null.
    fn checksum(&self) -> Result<String> {
        let mut h = self.clone();
        h.header_fnv1a64 = None;
        let json = serde_json::to_vec(&h).map_err(|e| Error::Model(e.to_string()))?;
        Ok(format!("{:016x}", fnv1a64(&json)))
    }
}

fn payload(c: &Checkpoint) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 * c.params.len());
    for block in [&c.params, &c.m, &c.v]
        .into_iter()
        .chain(c.average.as_ref())
    {
        for x in block.iter() {
            out.extend_from_slice(&x.to_le_bytes());
        }
    }
    out
}

impl Checkpoint {
    /// The parameters the samplers use: the moving average where the training kept one,
    /// else θ.
    pub fn model_params(&self) -> &[f32] {
        self.average.as_deref().unwrap_or(&self.params)
    }

    /// Serialises to the version-2 byte layout.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        if self.average.is_some() != self.optimizer.average.is_some() {
            return Err(Error::Model(
                "checkpoint: the averaged parameters must be present exactly when the \
                 optimizer averages"
                    .into(),
            ));
        }
        let body = payload(self);
        let header = Header {
            scene_hash: format!("{:016x}", self.scene_hash),
            architecture: self.architecture,
            step: self.step,
            seed: self.seed,
            optimizer: self.optimizer,
            batch: self.batch,
            target: self.target,
            param_count: self.params.len() as u64,
            payload_fnv1a64: format!("{:016x}", fnv1a64(&body)),
            header_fnv1a64: None,
        };
        let header = Header {
            header_fnv1a64: Some(header.checksum()?),
            ..header
        };
        let json = serde_json::to_vec(&header).map_err(|e| Error::Format {
            path: "checkpoint".into(),
            message: e.to_string(),
        })?;
        let mut out = Vec::with_capacity(16 + json.len() + body.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&(json.len() as u32).to_le_bytes());
        out.extend_from_slice(&json);
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Parses the byte layout; `path` is used in messages.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Checkpoint> {
        let bad = |message: String| Error::Format {
            path: path.to_path_buf(),
            message,
        };
        if bytes.len() < 16 || &bytes[..8] != MAGIC {
            return Err(bad("not an nti-gpu checkpoint (bad magic)".into()));
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
        if version != VERSION {
            return Err(bad(format!(
                "checkpoint version {version}; this nti-gpu reads version {VERSION} (version 1 \
                 lacks the batch and target of the training): start a new training (remove \
                 the checkpoint or use another output directory)"
            )));
        }
        let h = u32::from_le_bytes(bytes[12..16].try_into().expect("4 bytes")) as usize;
        if bytes.len() < 16 + h {
            return Err(bad("truncated header".into()));
        }
        let header: Header = serde_json::from_slice(&bytes[16..16 + h])
            .map_err(|e| bad(format!("corrupted header: {e}")))?;
        if let Some(sum) = &header.header_fnv1a64 {
            if *sum != header.checksum()? {
                return Err(bad(
                    "header checksum mismatch: the file was altered after it was written; \
                     remove it to start a new training"
                        .into(),
                ));
            }
        }
        let p = header.param_count as usize;
        let body = &bytes[16 + h..];
        let blocks = if header.optimizer.average.is_some() {
            4
        } else {
            3
        };
        if p.checked_mul(4 * blocks) != Some(body.len()) {
            return Err(bad(format!(
                "payload is {} bytes, the header says {} parameters ({} bytes): truncated or corrupted",
                body.len(),
                p,
                4 * blocks as u128 * p as u128
            )));
        }
        if format!("{:016x}", fnv1a64(body)) != header.payload_fnv1a64 {
            return Err(bad(
                "payload checksum mismatch: the file is corrupted".into()
            ));
        }
        let floats: Vec<f32> = body
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect();
        let scene_hash = u64::from_str_radix(&header.scene_hash, 16)
            .map_err(|e| bad(format!("bad scene hash: {e}")))?;
        Ok(Checkpoint {
            scene_hash,
            architecture: header.architecture,
            step: header.step,
            seed: header.seed,
            optimizer: header.optimizer,
            batch: header.batch,
            target: header.target,
            params: floats[..p].to_vec(),
            m: floats[p..2 * p].to_vec(),
            v: floats[2 * p..3 * p].to_vec(),
            average: (blocks == 4).then(|| floats[3 * p..].to_vec()),
        })
    }

    /// Writes the checkpoint atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        write_atomic(path, &self.to_bytes()?)
    }

    /// Reads a checkpoint.
    pub fn read(path: &Path) -> Result<Checkpoint> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(&bytes, path)
    }

    /// Refuses a checkpoint that the scene did not make: another architecture, other
    /// training data (scene hash: seed, system or sampler changed), another optimizer,
    /// batch or regression target. Says nothing about the step.
    pub fn check_scene(&self, scene: &Scene, path: &Path) -> Result<()> {
        self.check_architecture(&scene.model(), path)?;
        let refuse = |message: String| Error::Format {
            path: path.to_path_buf(),
            message,
        };
        if self.scene_hash != scene.hash() {
            return Err(refuse(format!(
                "checkpoint is for scene hash {:016x}, this scene's is {:016x} (seed, system or \
                 sampler changed): the training data differ; start a new training (remove the \
                 checkpoint or use another output directory)",
                self.scene_hash,
                scene.hash()
            )));
        }
        let settings = scene.training();
        if self.optimizer != settings.optimizer {
            // Includes the weight averaging (`average`): a resumed average must be the
            // same average.
            return Err(refuse(format!(
                "checkpoint was trained with other optimizer settings ({}); restore the \
                 scene's training.optimizer or start a new training",
                optimizer_difference(&self.optimizer, &settings.optimizer)
            )));
        }
        if self.batch != settings.batch || self.target != settings.target {
            return Err(refuse(format!(
                "checkpoint was trained with batch {} and target {:?}, the scene asks for batch \
                 {} and target {:?}; restore the scene's training section or start a new \
                 training",
                self.batch, self.target, settings.batch, settings.target
            )));
        }
        Ok(())
    }

    /// Refuses a checkpoint made for another architecture.
    pub fn check_architecture(&self, expected: &ModelConfig, path: &Path) -> Result<()> {
        if &self.architecture != expected {
            return Err(Error::Format {
                path: path.to_path_buf(),
                message: format!(
                    "checkpoint is for model {:?}, the scene asks for {:?}; start a new training \
                     (remove the checkpoint) or restore the scene's model section",
                    self.architecture, expected
                ),
            });
        }
        if self.params.len() != expected.param_count() {
            return Err(Error::Format {
                path: path.to_path_buf(),
                message: format!(
                    "checkpoint holds {} parameters, the model has {}",
                    self.params.len(),
                    expected.param_count()
                ),
            });
        }
        Ok(())
    }
}

/// The fields in which two optimizer settings differ, as
/// "training.optimizer.<field>: <checkpoint's> in the checkpoint, <scene's> in the scene"
/// (an absent value is "none").
fn optimizer_difference(checkpoint: &AdamSettings, scene: &AdamSettings) -> String {
    let fields = |a: &AdamSettings| match serde_json::to_value(a) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => Default::default(),
    };
    let (old, new) = (fields(checkpoint), fields(scene));
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    let shown = |v: Option<&serde_json::Value>| v.map_or("none".to_string(), |v| v.to_string());
    keys.into_iter()
        .filter(|k| old.get(*k) != new.get(*k))
        .map(|k| {
            format!(
                "training.optimizer.{k}: {} in the checkpoint, {} in the scene",
                shown(old.get(k)),
                shown(new.get(k))
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Checkpoint {
        let architecture = ModelConfig {
            k_radial: 6,
            vector_channels: 2,
            time_frequencies: 1,
            hidden: 4,
            r_c: 2.0,
        };
        let p = architecture.param_count();
        Checkpoint {
            scene_hash: 0x0123_4567_89ab_cdef,
            architecture,
            step: 1234,
            seed: 99,
            optimizer: AdamSettings::default(),
            batch: 32,
            target: ScoreTarget::Blend { switch: 0.25 },
            params: (0..p).map(|k| k as f32 * 0.5).collect(),
            m: (0..p).map(|k| -(k as f32)).collect(),
            v: (0..p).map(|k| k as f32 * 1e-3).collect(),
            average: None,
        }
    }

    #[test]
    fn the_moving_average_round_trips_and_is_what_the_samplers_use() {
        let plain = sample();
        assert_eq!(plain.model_params(), &plain.params[..]);
        let mut c = sample();
        c.optimizer.average = Some(0.999);
        // The average must come with an averaging optimizer, and the other way round.
        assert!(c.to_bytes().is_err());
        let avg: Vec<f32> = c.params.iter().map(|x| x + 0.25).collect();
        c.average = Some(avg.clone());
        let bytes = c.to_bytes().unwrap();
        assert_eq!(
            bytes.len(),
            plain.to_bytes().unwrap().len() + 4 * avg.len() + 16
        );
        let back = Checkpoint::from_bytes(&bytes, Path::new("a.ckpt")).unwrap();
        assert_eq!(back, c);
        assert_eq!(back.model_params(), &avg[..]);
        // Cut to the length of a file without the average: refused as truncated.
        let cut = &bytes[..bytes.len() - 4 * avg.len()];
        let e = Checkpoint::from_bytes(cut, Path::new("a.ckpt"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("truncated"), "{e}");
        let mut none = c.clone();
        none.average = None;
        assert!(none.to_bytes().is_err());
    }

    #[test]
    fn round_trip_through_a_file() {
        let c = sample();
        let dir = std::env::temp_dir().join(format!("nti-ckpt-{}", std::process::id()));
        let path = dir.join("model.ckpt");
        c.write(&path).unwrap();
        let back = Checkpoint::read(&path).unwrap();
        assert_eq!(back, c);
        back.check_architecture(&c.architecture, &path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The header (e.g. the step) is under a checksum too; files without one are still read.
    #[test]
    fn an_edited_header_is_refused() {
        let bytes = sample().to_bytes().unwrap();
        // One digit of the step, in place: the layout stays consistent, only the checksum
        // can tell.
        let needle = b"\"step\":1234";
        let at = bytes
            .windows(needle.len())
            .position(|w| w == needle)
            .unwrap();
        let mut edited = bytes.clone();
        edited[at + needle.len() - 1] = b'5';
        let e = Checkpoint::from_bytes(&edited, Path::new("x.ckpt"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("x.ckpt") && e.contains("header checksum mismatch"),
            "{e}"
        );
        // A file written before the header checksum existed: read unchecked.
        let h = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
        let mut header: serde_json::Value = serde_json::from_slice(&bytes[16..16 + h]).unwrap();
        header.as_object_mut().unwrap().remove("header_fnv1a64");
        let json = serde_json::to_vec(&header).unwrap();
        let mut old = bytes[..12].to_vec();
        old.extend_from_slice(&(json.len() as u32).to_le_bytes());
        old.extend_from_slice(&json);
        old.extend_from_slice(&bytes[16 + h..]);
        assert_eq!(
            Checkpoint::from_bytes(&old, Path::new("x")).unwrap(),
            sample()
        );
    }

    #[test]
    fn corrupted_truncated_and_foreign_files_are_clear_errors() {
        let bytes = sample().to_bytes().unwrap();
        let p = Path::new("x.ckpt");
        let mut flipped = bytes.clone();
        let last = flipped.len() - 5;
        flipped[last] ^= 0x40;
        let e = Checkpoint::from_bytes(&flipped, p).unwrap_err().to_string();
        assert!(e.contains("checksum"), "{e}");
        let e = Checkpoint::from_bytes(&bytes[..bytes.len() - 8], p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("truncated"), "{e}");
        let e = Checkpoint::from_bytes(b"NTISAMP\0 something else", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("magic"), "{e}");
        let mut v1 = bytes.clone();
        v1[8] = 1;
        let e = Checkpoint::from_bytes(&v1, p).unwrap_err().to_string();
        assert!(
            e.contains("version 1") && e.contains("start a new training"),
            "{e}"
        );
    }

    #[test]
    fn the_optimizer_difference_names_the_fields() {
        let a = AdamSettings::default();
        let b = AdamSettings {
            lr: 2e-3,
            average: Some(0.999),
            ..a
        };
        assert_eq!(
            optimizer_difference(&a, &b),
            "training.optimizer.average: none in the checkpoint, 0.999 in the scene; \
             training.optimizer.lr: 0.001 in the checkpoint, 0.002 in the scene"
        );
        assert_eq!(optimizer_difference(&a, &a), "");
    }

    #[test]
    fn another_architecture_is_refused() {
        let c = sample();
        let other = ModelConfig {
            hidden: 8,
            ..c.architecture
        };
        let e = c
            .check_architecture(&other, Path::new("m.ckpt"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("hidden: 8") && e.contains("hidden: 4"), "{e}");
    }
}
