//! Wall time of `apex deploy <shipped scenario> --plan` (no patches): many
//! runs, median and p95, against the target of 100 ms. The peer measured in
//! the same run is `apex --version` (process start alone), so the ratio shows
//! what the flow itself costs. Build and run: `cargo bench --bench plan`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const RUNS: usize = 40;
const SCENARIOS: &[&str] = &["os-odl-nofeature-ha", "os-nosdn-nofeature-noha", "os-ovn-nofeature-ha"];

fn binary() -> std::path::PathBuf {
    // benches are built in target/release/deps; the apex binary sits in target/release.
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let bin = dir.join("apex");
    assert!(bin.is_file(), "{} missing: run `cargo build --release` (cargo bench builds it)", bin.display());
    bin
}

fn time(bin: &Path, args: &[&str]) -> Duration {
    let start = Instant::now();
    let out = Command::new(bin).args(args).env_remove("APEX_LUA_PATH").output().unwrap();
    let elapsed = start.elapsed();
    assert!(out.status.success(), "apex {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    elapsed
}

fn stats(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (ms(v[v.len() / 2]), ms(v[(v.len() * 95).div_ceil(100) - 1]))
}

fn main() {
    let bin = binary();
    let tmp = tempfile::tempdir().unwrap();
    let peer: Vec<Duration> = (0..RUNS).map(|_| time(&bin, &["--version"])).collect();
    let (peer_med, peer_p95) = stats(peer);
    println!("peer `apex --version`: median {peer_med:.1} ms, p95 {peer_p95:.1} ms ({RUNS} runs)");
    for s in SCENARIOS {
        let dir = tmp.path().join(s);
        let args = ["deploy", s, "--plan", "--tmp-dir", dir.to_str().unwrap()];
        time(&bin, &args); // warm the page cache
        let runs: Vec<Duration> = (0..RUNS).map(|_| time(&bin, &args)).collect();
        let (med, p95) = stats(runs);
        println!(
            "apex deploy {s} --plan: median {med:.1} ms, p95 {p95:.1} ms ({RUNS} runs); {:.1}x process start; target < 100 ms: {}",
            med / peer_med,
            if p95 < 100.0 { "met" } else { "MISSED" }
        );
    }
}
