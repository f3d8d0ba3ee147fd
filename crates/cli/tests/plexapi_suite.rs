//! python-plexapi's own test suite (release 4.16.1, unchanged in tests/peer/) as a judge of
//! the simulator and of cachearr's transparency: the harness (tests/python/plexapi_suite/)
//! runs it against `cachearr sim --library plexapi-bootstrap` directly, then through
//! `cachearr serve` in front of a fresh simulator. Any test that passes directly and fails
//! through cachearr fails this test; the per-file table is printed either way.

use std::path::PathBuf;
use std::process::Command;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Fewer selected tests passing against the simulator than this is a fidelity regression
/// (measured: see docs/simulator.md; raise it as the simulator improves).
const DIRECT_PASSED_FLOOR: u64 = 140;

#[test]
fn serial_plexapi_suite_passes_through_cachearr_wherever_it_passes_directly() {
    let root = workspace();
    let venv = root.join(".venv-plexapi-suite/bin/python");
    assert!(
        venv.exists(),
        "{} is missing: run scripts/setup-test-env first (it creates the suite's own venv with \
         plexapi==4.16.1)",
        venv.display()
    );
    let dir = std::env::temp_dir().join(format!("cachearr-plexapi-suite-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let results = dir.join("results.json");
    let harness = root.join("tests/python/plexapi_suite");
    let run = Command::new("python3")
        .arg(harness.join("run.py"))
        .arg("--cachearr")
        .arg(env!("CARGO_BIN_EXE_cachearr"))
        .arg("--out")
        .arg(&results)
        .arg("--log")
        .arg(dir.join("run.log"))
        .status()
        .expect("python3 runs the harness");
    assert!(run.success(), "the harness failed; see {}", dir.display());
    let table = Command::new("python3")
        .arg(harness.join("report.py"))
        .arg(&results)
        .output()
        .expect("report");
    println!("{}", String::from_utf8_lossy(&table.stdout));
    let json = Command::new("python3")
        .arg(harness.join("report.py"))
        .arg(&results)
        .arg("--json")
        .output()
        .expect("report --json");
    let summary: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json summary");
    let regressions = summary["transparency_regressions"]
        .as_array()
        .expect("list");
    assert!(
        regressions.is_empty(),
        "tests that pass directly but fail through cachearr (log: {}):\n{}",
        dir.join("run.log").display(),
        serde_json::to_string_pretty(regressions).unwrap_or_default()
    );
    let direct = summary["total"]["direct"]["passed"]
        .as_u64()
        .expect("passed");
    assert!(
        direct >= DIRECT_PASSED_FLOOR,
        "only {direct} selected tests pass against the simulator (floor {DIRECT_PASSED_FLOOR})"
    );
    // Both runs really ran the suite (an empty run would pass the check above vacuously).
    let through = summary["total"]["cachearr"]["passed"]
        .as_u64()
        .expect("passed");
    assert!(through >= DIRECT_PASSED_FLOOR, "{through}");
    std::fs::remove_dir_all(&dir).ok();
}
