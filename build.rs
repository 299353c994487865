//! Embeds the git commit as `NTI_GIT_COMMIT` (read by `nti_gpu::bench::git_commit`), with
//! `+dirty` when the sources built (src, shaders, the manifest, the lock file, this script)
//! differ from that commit. `NTI_GIT_COMMIT` in the environment wins (packagers building
//! from a tarball); outside a git checkout whose top level is this crate, or without git,
//! the value is "unknown". Never fails the build.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=NTI_GIT_COMMIT");
    if let Ok(c) = std::env::var("NTI_GIT_COMMIT") {
        println!("cargo:rustc-env=NTI_GIT_COMMIT={c}");
        return;
    }
    // Only this crate's own checkout counts, not a repository it happens to sit in
    // (a vendored copy inside another project).
    let own = git(&["rev-parse", "--show-toplevel"]).is_some_and(|top| {
        let canon = |p: &Path| p.canonicalize().ok();
        canon(Path::new(&top)).is_some()
            && canon(Path::new(&top)) == canon(Path::new(env!("CARGO_MANIFEST_DIR")))
    });
    if !own {
        println!("cargo:rustc-env=NTI_GIT_COMMIT=unknown");
        return;
    }
    const SOURCES: [&str; 5] = ["src", "shaders", "Cargo.toml", "Cargo.lock", "build.rs"];
    let mut commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let mut status = vec!["status", "--porcelain", "--untracked-files=no", "--"];
    status.extend(SOURCES);
    // `git` gives None for an empty output: no change.
    if git(&status).is_some() {
        commit.push_str("+dirty");
    }
    // Rerun when a source changes, so that the flag follows the tree.
    for p in SOURCES {
        println!("cargo:rerun-if-changed={p}");
    }
    // Rebuild when HEAD moves: HEAD itself, the branch it points at, packed refs (only paths
    // that exist, or cargo would rerun this script on every build).
    let mut watch = vec![git(&["rev-parse", "--git-path", "HEAD"])];
    if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watch.push(git(&["rev-parse", "--git-path", &r]));
    }
    watch.push(git(&["rev-parse", "--git-path", "packed-refs"]));
    for p in watch.into_iter().flatten() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(p);
        if p.exists() {
            println!("cargo:rerun-if-changed={}", p.display());
        }
    }
    println!("cargo:rustc-env=NTI_GIT_COMMIT={commit}");
}
