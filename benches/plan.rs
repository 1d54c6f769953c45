//! Wall time of `apex deploy <shipped scenario> --plan` (no patches): many
//! runs, median and p95, against the target of 100 ms. The peer measured in
//! the same run is `apex --version` (process start alone), so the ratio shows
//! what the flow itself costs. CPU time of the runs (from /proc/self/stat's
//! children times) and the load average are printed too: on a shared 2-core
//! machine wall time mostly measures the other jobs.
//! Build and run: `cargo bench --bench plan`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const RUNS: usize = 40;
const SCENARIOS: &[&str] = &[
    "os-odl-nofeature-ha",
    "os-nosdn-nofeature-noha",
    "os-ovn-nofeature-ha",
];

fn binary() -> std::path::PathBuf {
    // benches are built in target/release/deps; the apex binary sits in target/release.
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let bin = dir.join("apex");
    assert!(
        bin.is_file(),
        "{} missing: run `cargo build --release` (cargo bench builds it)",
        bin.display()
    );
    bin
}

fn time(bin: &Path, args: &[&str]) -> Duration {
    let start = Instant::now();
    let out = Command::new(bin)
        .args(args)
        .env_remove("APEX_LUA_PATH")
        .output()
        .unwrap();
    let elapsed = start.elapsed();
    assert!(
        out.status.success(),
        "apex {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    elapsed
}

fn stats(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (ms(v[v.len() / 2]), ms(v[(v.len() * 95).div_ceil(100) - 1]))
}

/// CPU seconds (user + system) used by waited-for children so far.
fn children_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the command name (which ends with ')'): cutime and cstime are fields 16 and 17.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f[13].parse::<f64>().unwrap() + f[14].parse::<f64>().unwrap();
    ticks / 100.0
}

fn main() {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "load average at start: {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let bin = binary();
    // Artifacts on disk (the default /tmp) and on tmpfs: every artifact is
    // written atomically with an fsync, which dominates wall time on a busy disk.
    let disk = tempfile::tempdir().unwrap();
    let shm = tempfile::tempdir_in("/dev/shm").ok();
    let peer: Vec<Duration> = (0..RUNS).map(|_| time(&bin, &["--version"])).collect();
    let (peer_med, peer_p95) = stats(peer);
    println!("peer `apex --version`: median {peer_med:.1} ms, p95 {peer_p95:.1} ms ({RUNS} runs)");
    let places: Vec<(&str, &Path)> = std::iter::once(("disk", disk.path()))
        .chain(shm.as_ref().map(|d| ("tmpfs", d.path())))
        .collect();
    for (place, root) in places {
        for s in SCENARIOS {
            bench_one(&bin, place, root, s, peer_med);
        }
    }
    bench_override_edit(&bin, disk.path());
}

/// Edit an override plugin, rerun `--plan`, see the change: the loop a plugin
/// author lives in, with no compile step. Target: under one second wall.
fn bench_override_edit(bin: &Path, root: &Path) {
    let lua = root.join("override");
    let plugin = lua.join("plugins/opendaylight.lua");
    std::fs::create_dir_all(plugin.parent().unwrap()).unwrap();
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/plugins/opendaylight.lua"
    ))
    .unwrap();
    std::fs::write(&plugin, &shipped).unwrap();
    let tmp = root.join("override-plan");
    let args = [
        "--lua-path",
        lua.to_str().unwrap(),
        "deploy",
        "os-odl-nofeature-ha",
        "--plan",
        "--tmp-dir",
        tmp.to_str().unwrap(),
    ];
    time(bin, &args);
    let dockerfile = tmp.join("containers/opendaylight/Dockerfile");
    let mut loops = Vec::new();
    for i in 0..10 {
        let marker = format!("RUN echo edit-{i}");
        let start = Instant::now();
        let edited = shipped.replacen(
            "\"RUN yum -y install opendaylight\",",
            &format!("\"RUN yum -y install opendaylight\", \"{marker}\","),
            1,
        );
        assert_ne!(
            edited, shipped,
            "the edit point moved in plugins/opendaylight.lua"
        );
        std::fs::write(&plugin, edited).unwrap();
        time(bin, &args);
        let seen = std::fs::read_to_string(&dockerfile)
            .unwrap()
            .contains(&marker);
        loops.push(start.elapsed());
        assert!(seen, "the edited override did not reach the plan");
    }
    let (med, p95) = stats(loops);
    println!(
        "edit override plugin + rerun --plan + change seen: median {med:.1} ms, p95 {p95:.1} ms (10 edits); \
         target < 1000 ms: {}",
        if p95 < 1000.0 { "met" } else { "MISSED" }
    );
}

/// Times one scenario's plan, writing its artifacts under `root`.
fn bench_one(bin: &Path, place: &str, root: &Path, s: &str, peer_med: f64) {
    let dir = root.join(s);
    let args = ["deploy", s, "--plan", "--tmp-dir", dir.to_str().unwrap()];
    time(bin, &args); // warm the page cache
    let cpu0 = children_cpu();
    let runs: Vec<Duration> = (0..RUNS).map(|_| time(bin, &args)).collect();
    let cpu_ms = (children_cpu() - cpu0) * 1000.0 / RUNS as f64;
    let (med, p95) = stats(runs);
    println!(
        "[{place}] apex deploy {s} --plan: median {med:.1} ms, p95 {p95:.1} ms, CPU {cpu_ms:.1} ms/run ({RUNS} runs); \
         {:.1}x process start; target median < 100 ms: {}",
        med / peer_med,
        if med < 100.0 { "met" } else { "MISSED" }
    );
}
