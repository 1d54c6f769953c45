//! Wall time of a full deploy on a fresh lab (empty local registry and
//! artifact cache), of the rerun with nothing changed (target: under 10% of
//! the first), and of each step of both (read from the state file's per-run
//! timings), so the slowest step is visible.
//!
//! `cargo bench --bench deploy [-- SCENARIO]` (default os-odl-nofeature-ha).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use apex::lab::{Lab, LabOptions};

const APEX: &str = env!("CARGO_BIN_EXE_apex");

fn deploy(lab: &Lab, scenario: &str, tmp: &Path) -> f64 {
    let t0 = Instant::now();
    let out = Command::new(APEX)
        .env_remove("APEX_LUA_PATH")
        .args(["deploy", scenario, "-s"])
        .arg(lab.site_file())
        .arg("-n")
        .arg(lab.network_settings_file())
        .arg("--tmp-dir")
        .arg(tmp)
        .output()
        .expect("run apex");
    let secs = t0.elapsed().as_secs_f64();
    assert!(out.status.success(), "deploy failed:\n{}", String::from_utf8_lossy(&out.stderr));
    secs
}

fn main() {
    let scenario = std::env::args().skip(1).find(|a| !a.starts_with('-')).unwrap_or_else(|| "os-odl-nofeature-ha".into());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lab = rt.block_on(Lab::up(LabOptions { dir: dir.path().join("lab") })).expect("lab up");
    let tmp = dir.path().join("deploy");

    let first = deploy(&lab, &scenario, &tmp);
    let rerun = deploy(&lab, &scenario, &tmp);

    let state: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(tmp.join("state.json")).unwrap()).unwrap();
    let runs = state["runs"].as_array().unwrap();
    let (a, b) = (&runs[runs.len() - 2], &runs[runs.len() - 1]);
    println!("deploy {scenario} on a fresh lab");
    println!("  full deploy:  {first:8.2}s (wall, incl. process start)");
    println!("  rerun:        {rerun:8.2}s  = {:.1}% of the full deploy (target < 10%)", 100.0 * rerun / first);
    println!("  per step            first      rerun");
    println!("  {:<18} {:8.2}s  {:8.2}s", "evaluate", a["evaluate"].as_f64().unwrap_or(0.0), b["evaluate"].as_f64().unwrap_or(0.0));
    let mut slowest = ("", 0.0);
    for (key, s) in a["steps"].as_object().unwrap() {
        let s1 = s["seconds"].as_f64().unwrap_or(0.0);
        let s2 = b["steps"][key]["seconds"].as_f64().unwrap_or(0.0);
        let skipped = if b["steps"][key]["skipped"] == true { " (skipped)" } else { "" };
        println!("  {key:<18} {s1:8.2}s  {s2:8.2}s{skipped}");
        if s1 > slowest.1 {
            slowest = (key.as_str(), s1);
        }
    }
    println!("  slowest step of the full deploy: {} ({:.2}s)", slowest.0, slowest.1);
    rt.block_on(lab.down()).expect("lab down");
}
