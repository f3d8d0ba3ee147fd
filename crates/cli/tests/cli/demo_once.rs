//! `cachearr demo` end to end: the real binary starts the simulator and a gateway on ephemeral
//! ports and a temp data dir, builds the index, runs the workload both ways and exits with a
//! report.

use std::process::Command;

#[test]
fn serial_demo_once_reports_fewer_server_requests_through_cachearr() {
    let output = Command::new(env!("CARGO_BIN_EXE_cachearr"))
        .args(["demo", "--json", "--tracks", "300", "--latency-ms", "1"])
        .env("RUST_LOG", "warn")
        .output()
        .expect("cachearr runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "demo failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("--json prints JSON");
    let requests = |run: &str| {
        report[run]["server_requests"]
            .as_u64()
            .expect("server_requests")
    };
    let (direct, cached) = (requests("direct"), requests("cachearr"));
    assert!(direct > 0, "{report}");
    // The index crawl is counted once, on its own, and not inside the direct run: the direct
    // run's server requests are exactly the requests the workload made.
    let crawl = &report["index_crawl"];
    assert_eq!(crawl["ready"], true, "{report}");
    assert!(
        crawl["server_requests"].as_u64().unwrap_or(0) > 0,
        "{report}"
    );
    let actors: u64 = ["dashboard", "browsing", "paging"]
        .iter()
        .map(|a| report["direct"][a]["requests"].as_u64().unwrap_or(0))
        .sum();
    let made = report["direct"]["requests"].as_u64().unwrap_or(0);
    assert_eq!(
        made,
        actors + 1,
        "the actors and the one planning lookup: {report}"
    );
    assert_eq!(direct, made, "{report}");
    assert!(
        cached < direct,
        "cachearr should spare the server requests: {report}"
    );
    for run in ["direct", "cachearr"] {
        for actor in ["dashboard", "browsing", "paging"] {
            let a = &report[run][actor];
            assert!(
                a["requests"].as_u64().unwrap_or(0) > 0,
                "{run} {actor} made requests"
            );
        }
        // Whatever fails directly fails the same way through cachearr, never more.
        let errors: u64 = ["dashboard", "browsing", "paging"]
            .iter()
            .map(|a| report[run][a]["errors"].as_u64().unwrap_or(0))
            .sum();
        let direct_errors: u64 = ["dashboard", "browsing", "paging"]
            .iter()
            .map(|a| report["direct"][a]["errors"].as_u64().unwrap_or(0))
            .sum();
        assert!(errors <= direct_errors, "{run}: {report}");
    }
}

#[test]
fn demo_help_explains_itself() {
    let output = Command::new(env!("CARGO_BIN_EXE_cachearr"))
        .args(["demo", "--help"])
        .output()
        .expect("cachearr runs");
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(help.contains("--keep-serving"), "{help}");
    assert!(
        !help.contains("workload-against"),
        "internal flags stay hidden: {help}"
    );
}
