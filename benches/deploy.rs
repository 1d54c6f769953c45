//! Wall time of a full deploy on a fresh lab (empty local registry and
//! artifact cache), of the rerun with nothing changed (target: under 10% of
//! the first), and of each step of both (read from the state file's per-run
//! timings), so the slowest step is visible. The rerun still asks both
//! registries for every image's digest, the artifact server for every
//! artifact and the undercloud for its uploads; it runs no deploy command
//! (nothing changed) and reuses the SSH connection the first run kept.
//!
//! One machine's timings wander (two cores shared with the lab's registries,
//! sshd and Docker engine), so the bench repeats: ROUNDS fresh labs, each
//! with one full deploy and RERUNS reruns, and compares medians.
//!
//! Then the undercloud VM (site `undercloud.create`): create-to-SSH time of
//! the VM apex makes from the lab's undercloud image (KVM when it boots
//! here, else TCG), the whole first deploy on it, and the rerun that reuses
//! the running VM; `apex destroy` removes it after.
//!
//! `cargo bench --bench deploy [-- SCENARIO]` (default os-odl-nofeature-ha);
//! `APEX_BENCH_VM_ONLY=1` runs only the undercloud VM part.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use apex_lab::{Lab, LabOptions};

const APEX: &str = env!("CARGO_BIN_EXE_apex");
const ROUNDS: usize = 3;
const RERUNS: usize = 3;

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
    assert!(
        out.status.success(),
        "deploy failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    secs
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Per-step seconds of one recorded run (`evaluate` first), and whether each was skipped.
fn steps_of(run: &serde_json::Value) -> Vec<(String, f64, bool)> {
    let mut out = vec![(
        "evaluate".to_string(),
        run["evaluate"].as_f64().unwrap_or(0.0),
        false,
    )];
    for (key, s) in run["steps"].as_object().expect("steps") {
        out.push((
            key.clone(),
            s["seconds"].as_f64().unwrap_or(0.0),
            s["skipped"] == true,
        ));
    }
    out
}

fn main() {
    let scenario = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_else(|| "os-odl-nofeature-ha".into());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    if std::env::var_os("APEX_BENCH_VM_ONLY").is_some() {
        undercloud_vm(&rt);
        return;
    }
    let (mut firsts, mut reruns) = (Vec::new(), Vec::new());
    // step -> (first-run seconds, rerun seconds, skipped on rerun)
    let mut steps: BTreeMap<String, (Vec<f64>, Vec<f64>, bool)> = BTreeMap::new();
    for round in 0..ROUNDS {
        let dir = tempfile::tempdir().unwrap();
        let lab = rt
            .block_on(Lab::up(LabOptions {
                dir: dir.path().join("lab"),
            }))
            .expect("lab up");
        let tmp = dir.path().join("deploy");
        let first = deploy(&lab, &scenario, &tmp);
        let again: Vec<f64> = (0..RERUNS).map(|_| deploy(&lab, &scenario, &tmp)).collect();
        println!(
            "round {}: full deploy {first:.2}s, reruns {}",
            round + 1,
            again
                .iter()
                .map(|s| format!("{s:.2}s"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        let state: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(tmp.join("state.json")).unwrap())
                .unwrap();
        let runs = state["runs"].as_array().unwrap();
        let recorded = &runs[runs.len() - 1 - RERUNS..];
        for (key, secs, _) in steps_of(&recorded[0]) {
            steps.entry(key).or_default().0.push(secs);
        }
        for run in &recorded[1..] {
            for (key, secs, skipped) in steps_of(run) {
                let e = steps.entry(key).or_default();
                e.1.push(secs);
                e.2 = skipped;
            }
        }
        firsts.push(first);
        reruns.extend(again);
        rt.block_on(lab.down()).expect("lab down");
    }
    let (first, rerun) = (median(&firsts), median(&reruns));
    println!("deploy {scenario} on a fresh lab ({ROUNDS} rounds, {RERUNS} reruns each; medians)");
    println!("  full deploy:  {first:8.2}s (wall, incl. process start)");
    println!(
        "  rerun:        {rerun:8.2}s  = {:.1}% of the full deploy (target < 10%)",
        100.0 * rerun / first
    );
    println!("  per step            first      rerun");
    let mut slowest = ("", 0.0);
    for (key, (a, b, skipped)) in &steps {
        let (s1, s2) = (median(a), median(b));
        println!(
            "  {key:<18} {s1:8.2}s  {s2:8.2}s{}",
            if *skipped { " (skipped)" } else { "" }
        );
        if s1 > slowest.1 {
            slowest = (key.as_str(), s1);
        }
    }
    println!(
        "  slowest step of the full deploy: {} ({:.2}s)",
        slowest.0, slowest.1
    );
    undercloud_vm(&rt);
}

/// The created undercloud: create-to-SSH, the first deploy on it, the reuse rerun.
fn undercloud_vm(rt: &tokio::runtime::Runtime) {
    use apex_lab::undercloud_vm::{self, Libvirtd, VmSite};
    let dir = tempfile::Builder::new()
        .prefix("apex-bench-vm-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let lab = rt
        .block_on(Lab::up(LabOptions {
            dir: dir.path().join("lab"),
        }))
        .expect("lab up");
    let img = undercloud_vm::ensure_image().expect("undercloud image");
    let accel = undercloud_vm::accel(&img);
    let libvirtd = Libvirtd::start("apexbench-").expect("libvirtd");
    let s = VmSite::new(
        libvirtd.uri(),
        &dir.path().join("images"),
        &accel,
        "apexbench-",
    )
    .unwrap();
    let site = dir.path().join("site-vm.yaml");
    undercloud_vm::write_site(&lab, &img, &site, &s).unwrap();
    let tmp = dir.path().join("deploy-vm");
    let run = || {
        let t0 = Instant::now();
        let out = Command::new(APEX)
            .env_remove("APEX_LUA_PATH")
            .args(["deploy", "os-nosdn-nofeature-noha", "-s"])
            .arg(&site)
            .arg("-n")
            .arg(lab.network_settings_file())
            .arg("--tmp-dir")
            .arg(&tmp)
            .output()
            .expect("run apex");
        assert!(
            out.status.success(),
            "deploy failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        t0.elapsed().as_secs_f64()
    };
    let first = run();
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.join("state.json")).unwrap()).unwrap();
    let vm = &state["steps"]["undercloud_vm"];
    let reruns: Vec<f64> = (0..RERUNS).map(|_| run()).collect();
    let _ = Command::new(APEX)
        .args(["destroy", "--tmp-dir"])
        .arg(&tmp)
        .output();
    println!("undercloud VM created by apex (os-nosdn-nofeature-noha, {accel}, 1 vCPU, 512 MiB)");
    println!(
        "  create-to-SSH:  {:8.2}s (overlay, customization, define, start; boot to the SSH banner {:.2}s)",
        vm["seconds"].as_f64().unwrap_or(0.0),
        vm["outputs"]["ssh_seconds"].as_f64().unwrap_or(0.0)
    );
    println!(
        "  first deploy:   {first:8.2}s (wall, with undercloud install and the full deploy on the VM)"
    );
    println!(
        "  reuse rerun:    {:8.2}s (median of {RERUNS}; the running VM is reused, nothing recreated)",
        median(&reruns)
    );
    drop(libvirtd);
    rt.block_on(lab.down()).expect("lab down");
}
