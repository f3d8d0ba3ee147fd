//! What tests run beside themselves: the workspace's files, its Python environments, and
//! child processes that must not outlive the test.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

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

/// The lines a child process writes to `pipe` (its stderr, usually), as they come, read to
/// the pipe's end on a thread of their own — also once the receiver is dropped: a pipe
/// closed under a running server fails its next write, and a server that cannot write its
/// log may stop.
pub fn log_lines(pipe: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead as _;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}

/// Runs `command` to its end like [`Command::output`], but for at most `limit`: a process
/// still running then is killed and the test fails with what it printed, so a command that
/// hangs shows why instead of holding the test until the runner's own timeout.
///
/// # Panics
/// If the command cannot be started, or has not ended within `limit`.
pub fn output_within(command: &mut Command, limit: Duration) -> Output {
    let mut child = KillOnDrop(
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the command starts"),
    );
    // Read both pipes beside the wait: a child blocked on a full pipe would never end.
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(child.0.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.0.stderr.take().map(|p| Box::new(p) as _));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.0.try_wait().expect("the command can be waited for") {
            break Some(status);
        }
        if Instant::now() >= deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let Some(status) = status else {
        drop(child);
        let said = String::from_utf8_lossy(&stderr.join().unwrap_or_default()).into_owned();
        panic!("{command:?} was still running after {limit:?}; it said:\n{said}");
    };
    Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
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
    fn log_lines_are_read_to_the_end_after_the_receiver_is_gone() {
        let mut child = Command::new("sh")
            .args([
                "-c",
                "echo one >&2; sleep 0.2; echo two >&2; sleep 0.2; echo three >&2",
            ])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = log_lines(child.stderr.take().unwrap());
        assert_eq!(lines.recv().unwrap(), "one");
        drop(lines);
        // Writing after the receiver went must not fail: the child ends as it would alone.
        assert!(child.wait().unwrap().success());
    }

    #[test]
    fn a_command_that_ends_gives_its_output() {
        let out = output_within(
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            Duration::from_secs(30),
        );
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(out.stdout, b"out\n");
        assert_eq!(out.stderr, b"err\n");
    }

    #[test]
    #[should_panic(expected = "was still running after")]
    fn a_command_that_hangs_fails_the_test_with_what_it_said() {
        output_within(
            Command::new("sh").args(["-c", "echo waiting >&2; exec sleep 600"]),
            Duration::from_millis(300),
        );
    }

    #[test]
    #[should_panic(expected = "run scripts/setup-test-env first")]
    fn a_missing_environment_says_how_to_make_it() {
        venv_python(".venv-that-does-not-exist");
    }
}
