//! What tests run beside themselves: the workspace's files, its Python environments, and
//! child processes that must not outlive the test.

use std::path::PathBuf;
use std::process::Child;

/// The workspace's root (its `Cargo.toml`, `tests/`, the `.venv*` environments), whichever
/// crate's test asks.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The Python of the workspace's virtual environment `venv` (`.venv`, `.venv-plexapi-suite`),
/// which `scripts/setup-test-env` creates with the pinned libraries.
///
/// # Panics
/// If it is missing, saying how to create it.
pub fn venv_python(venv: &str) -> PathBuf {
    let python = workspace_root().join(venv).join("bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup-test-env first (it creates {venv} with the pinned \
         Python libraries)",
        python.display()
    );
    python
}

/// A child process killed and reaped when this is dropped, so a failing test leaves no
/// server behind.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workspace_root_holds_the_workspace_manifest() {
        let manifest = std::fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap();
        assert!(manifest.contains("[workspace]"), "{manifest}");
    }

    #[test]
    fn a_dropped_child_is_killed_and_reaped() {
        let child = std::process::Command::new("sleep")
            .arg("600")
            .spawn()
            .unwrap();
        let proc_dir = PathBuf::from(format!("/proc/{}", child.id()));
        assert!(proc_dir.exists());
        drop(KillOnDrop(child));
        assert!(!proc_dir.exists(), "{} still exists", proc_dir.display());
    }

    #[test]
    #[should_panic(expected = "run scripts/setup-test-env first")]
    fn a_missing_environment_says_how_to_make_it() {
        venv_python(".venv-that-does-not-exist");
    }
}
