//! Output files: atomic writes (write to a temporary file in the same directory, then
//! rename) so that nothing already computed is lost or half-written if a run is stopped,
//! merging of `results.json` so that every stage adds its keys to the same file, and the
//! stable hash ([`fnv1a64`]) that fingerprints what made each file, and the lock
//! ([`DirLock`]) that keeps two runs out of one directory.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Name of the lock file in an output directory.
pub const LOCK_FILE: &str = ".nti-gpu.lock";

/// An output directory held by this process until dropped: the lock file `LOCK_FILE` says
/// which process holds it, with which command, since when.
#[derive(Debug)]
pub struct DirLock {
    path: PathBuf,
}

impl DirLock {
    /// Creates `dir` if needed and takes its lock for `command`. A lock held by a live
    /// process is an [`Error::Locked`] that names it; one left by a process that no longer
    /// exists (stopped by a signal; checked where `/proc` exists) is taken over with a
    /// note on stderr. A directory that cannot be created or written is an error here,
    /// before any work.
    pub fn acquire(dir: &Path, command: &str) -> Result<DirLock> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let path = dir.join(LOCK_FILE);
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let me = format!(
            "pid {}\nhost {}\ncommand {command}\nstarted {started} (seconds since 1970)\n",
            std::process::id(),
            host_name()
        );
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    f.write_all(me.as_bytes())
                        .and_then(|_| f.sync_all())
                        .map_err(|e| Error::io(&path, e))?;
                    return Ok(DirLock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = std::fs::read_to_string(&path).unwrap_or_default();
                    let pid = holder
                        .lines()
                        .find_map(|l| l.strip_prefix("pid ")?.trim().parse::<u32>().ok());
                    // A process id means something only on the machine that wrote it: a
                    // lock from another node of a cluster (shared file system) is never
                    // taken over. Locks without a host line predate it: this machine's.
                    let host = holder.lines().find_map(|l| l.strip_prefix("host "));
                    let here = host.is_none_or(|h| h.trim() == host_name());
                    if let Some(pid) = pid.filter(|&p| here && process_is_gone(p)) {
                        eprintln!(
                            "note: {} was left by process {pid}, which no longer runs; taking \
                             the directory over",
                            path.display()
                        );
                        std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
                        continue;
                    }
                    return Err(Error::Locked {
                        dir: dir.to_path_buf(),
                        holder: holder.trim().replace('\n', ", "),
                        lock: path,
                    });
                }
                Err(e) => return Err(Error::io(&path, e)),
            }
        }
        Err(Error::Locked {
            dir: dir.to_path_buf(),
            holder: "another process took it over at the same time".into(),
            lock: path,
        })
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// This machine's name (`/proc/sys/kernel/hostname`, else `HOSTNAME` or `COMPUTERNAME`,
/// else "unknown"): which machine a lock's process id belongs to.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// Whether process `pid` is known not to exist (only where `/proc` lists the processes).
fn process_is_gone(pid: u32) -> bool {
    Path::new("/proc/self").exists() && !Path::new(&format!("/proc/{pid}")).exists()
}

/// The temporary file a new version of `path` is written to before it is renamed over
/// `path` (`name.ext.tmp`, next to it).
pub fn temp_path(path: &Path) -> PathBuf {
    path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("")
    ))
}

/// Writes `bytes` to `path` atomically (temporary file + fsync + rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
    }
    let tmp = temp_path(path);
    let mut f = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    f.write_all(bytes).map_err(|e| Error::io(&tmp, e))?;
    f.sync_all().map_err(|e| Error::io(&tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// Writes a results.json value atomically, pretty-printed.
fn write_results(path: &Path, value: &serde_json::Value) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Error::Format {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    write_atomic(path, text.as_bytes())
}

/// FNV-1a 64-bit hash.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    fnv1a64_parts(&[bytes])
}

/// FNV-1a 64-bit hash of the concatenation of `parts` (without building it).
pub fn fnv1a64_parts(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for &b in parts.iter().flat_map(|p| p.iter()) {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// The results file at `path` (an empty object when missing), in the current schema: a file
/// of an older schema is upgraded on reading ([`crate::results::upgrade`]; the file itself
/// is rewritten in the new schema by the next stage that merges into it). A file that is
/// there but is not a JSON object, or is of a newer schema, is refused with a message, never
/// silently replaced: it may hold the only record of finished work.
pub fn read_results(path: &Path) -> Result<serde_json::Value> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(serde_json::json!({})),
        Err(e) => return Err(Error::io(path, e)),
    };
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(v) if v.is_object() => crate::results::upgrade(v).map_err(|message| Error::Format {
            path: path.to_path_buf(),
            message,
        }),
        _ => Err(Error::Format {
            path: path.to_path_buf(),
            message: "not a valid results file (JSON object); restore it, or move it away and \
                      rerun: every stage's results are rebuilt from the files next to it"
                .into(),
        }),
    }
}

/// Removes from `dir/results.json` every `free_energy.<N>.<method>` entry for which
/// `keep(N, method)` is false (and any `free_energy.<N>` left empty), atomically: results of
/// settings no longer in the scene do not outlive a rerun.
pub fn prune_free_energy(dir: &Path, keep: impl Fn(&str, &str) -> bool) -> Result<()> {
    let path = dir.join("results.json");
    let mut current = read_results(&path)?;
    let Some(fe) = current
        .get_mut("free_energy")
        .and_then(|v| v.as_object_mut())
    else {
        return Ok(());
    };
    let mut changed = false;
    for (n, methods) in fe.iter_mut() {
        if let Some(m) = methods.as_object_mut() {
            let before = m.len();
            m.retain(|method, _| keep(n, method));
            changed |= m.len() != before;
        }
    }
    let before = fe.len();
    fe.retain(|_, methods| methods.as_object().is_none_or(|m| !m.is_empty()));
    changed |= fe.len() != before;
    if !changed {
        return Ok(());
    }
    write_results(&path, &current)
}

/// Removes the per-N entries (`reference.<N>`, `free_energy.<N>`) of `dir/results.json`
/// whose N is not in `keep`; returns the counts removed (nothing written when none).
pub fn retain_counts(dir: &Path, keep: &[u32]) -> Result<Vec<u32>> {
    let path = dir.join("results.json");
    let mut current = read_results(&path)?;
    let mut removed = Vec::new();
    for section in ["reference", "free_energy"] {
        if let Some(map) = current.get_mut(section).and_then(|v| v.as_object_mut()) {
            map.retain(|n, _| {
                let known = n.parse::<u32>().is_ok_and(|n| keep.contains(&n));
                if !known {
                    if let Ok(n) = n.parse::<u32>() {
                        removed.push(n);
                    }
                }
                known
            });
        }
    }
    removed.sort_unstable();
    removed.dedup();
    if removed.is_empty() {
        return Ok(removed);
    }
    write_results(&path, &current)?;
    Ok(removed)
}

/// Merges `update`'s top-level keys into `dir/results.json` (created if missing) and
/// writes it atomically. Keys of `update` replace existing ones; nested objects under
/// `reference` and `wall_time_s` are merged one level deeper, and `free_energy` two
/// (`free_energy.<N>.<method>`), so that different N, stages or methods do not erase each
/// other.
pub fn merge_results(dir: &Path, update: serde_json::Value) -> Result<()> {
    let path = dir.join("results.json");
    let mut current = read_results(&path)?;
    if let (Some(cur), Some(upd)) = (current.as_object_mut(), update.as_object()) {
        for (k, v) in upd {
            match (cur.get_mut(k), v) {
                (Some(serde_json::Value::Object(old)), serde_json::Value::Object(new))
                    if k == "reference" || k == "free_energy" || k == "wall_time_s" =>
                {
                    for (kk, vv) in new {
                        // free_energy.<N> holds one entry per method: merge those too.
                        match (old.get_mut(kk), vv) {
                            (
                                Some(serde_json::Value::Object(old_n)),
                                serde_json::Value::Object(new_n),
                            ) if k == "free_energy" => {
                                for (m, e) in new_n {
                                    old_n.insert(m.clone(), e.clone());
                                }
                            }
                            _ => {
                                old.insert(kk.clone(), vv.clone());
                            }
                        }
                    }
                }
                _ => {
                    cur.insert(k.clone(), v.clone());
                }
            }
        }
    }
    write_results(&path, &current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_of_a_newer_schema_are_refused_and_older_ones_read() {
        let dir = std::env::temp_dir().join(format!("nti-schema-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("results.json");
        std::fs::write(&path, r#"{"schema_version": 99, "free_energy": {}}"#).unwrap();
        let e = read_results(&path).unwrap_err().to_string();
        assert!(e.contains("newer nti-gpu") && e.contains("99"), "{e}");
        for older in [r#"{"free_energy": {}}"#, r#"{"schema_version": 1}"#] {
            std::fs::write(&path, older).unwrap();
            assert!(read_results(&path).unwrap().is_object());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn merge_keeps_other_entries() {
        let dir = std::env::temp_dir().join(format!("nti-merge-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        merge_results(
            &dir,
            serde_json::json!({"reference": {"40": {"a": 1}}, "x": 1}),
        )
        .unwrap();
        merge_results(
            &dir,
            serde_json::json!({"reference": {"80": {"a": 2}}, "x": 2}),
        )
        .unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap())
                .unwrap();
        assert_eq!(v["reference"]["40"]["a"], 1);
        assert_eq!(v["reference"]["80"]["a"], 2);
        assert_eq!(v["x"], 2);
        assert!(!dir.join("results.json.tmp").exists());
        // Methods of one N from different stages coexist.
        merge_results(
            &dir,
            serde_json::json!({"free_energy": {"40": {"widom": 1}}}),
        )
        .unwrap();
        merge_results(
            &dir,
            serde_json::json!({"free_energy": {"40": {"neural_ti": 2}}}),
        )
        .unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap())
                .unwrap();
        assert_eq!(v["free_energy"]["40"]["widom"], 1);
        assert_eq!(v["free_energy"]["40"]["neural_ti"], 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
