//! Build metadata for `nokv --version`: the git commit (when built from a git checkout; set
//! `NOKV_GIT_COMMIT` to override, e.g. when packaging from a tarball) and the build profile.
//! Works without `.git` and without `git`: the commit is then `unknown`.

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
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!text.is_empty()).then_some(text)
}

fn main() {
    println!("cargo:rerun-if-env-changed=NOKV_GIT_COMMIT");
    println!("cargo:rerun-if-env-changed=GIT_DIR");
    let commit = std::env::var("NOKV_GIT_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| {
            // Rebuild when HEAD moves: HEAD itself, the branch it names, and packed refs
            // (`--git-path` finds them in a worktree too).
            let mut watch = vec!["HEAD".to_string(), "packed-refs".to_string()];
            if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
                watch.push(branch);
            }
            for name in watch {
                if let Some(path) = git(&["rev-parse", "--git-path", &name]) {
                    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
                    println!("cargo:rerun-if-changed={}", path.display());
                }
            }
            git(&["rev-parse", "--short=12", "HEAD"])
        })
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=NOKV_GIT_COMMIT={commit}");
    let profile = std::env::var("PROFILE").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=NOKV_BUILD_PROFILE={profile}");
    println!("cargo:rerun-if-changed=build.rs");
}
