//! Registry mirror benchmark against the real lab, measured in one run.
//!
//! 8 images sharing a ~200 MB base, each with ~20 MB of unique generated data,
//! are pushed to an "upstream" docker-registry. Then, each into its own empty
//! "local" registry:
//! - `apex run mirror.lua` (the shipped binary, `core.registry.mirror`), a child
//!   process so its peak RSS is its own;
//! - `skopeo copy` of each image in turn;
//! - `docker pull` + `tag` + `push` of each image in turn, through the lab engine;
//! - the apex mirror again with everything present;
//! - apex mirror and skopeo copy again, each into a registry with token auth
//!   (the lab's token server), counting the tokens each fetched.
//!
//! Prints times, ratios against the targets, and apex's peak RSS; removes
//! every image and registry it made afterwards (the disk is shared).
//!
//! Sizes can be scaled down with APEX_BENCH_BASE_MB / APEX_BENCH_UNIQUE_MB.
//!
//! `APEX_BENCH_TRIPLEO=1` (or the argument `--tripleo`) runs the TripleO-size
//! set instead: see `registry/tripleo.rs`.

#[path = "registry/tripleo.rs"]
mod tripleo;

use std::process::Command;
use std::time::{Duration, Instant};

use apex::engine;
use apex_lab::docker::ensure_engine;
use apex_lab::images::{self, ServiceImage};
use apex_lab::registry::LabRegistry;

const SERVICES: [&str; 8] = [
    "nova-api",
    "nova-conductor",
    "nova-scheduler",
    "neutron-server",
    "glance-api",
    "keystone",
    "heat-engine",
    "cinder-volume",
];

const MIRROR_LUA: &str = r#"
local core = require("apex.core")
local path, images_at_once, blobs_at_once = ...
local items = core.json.load({path = path})
local s = core.registry.mirror({images = items, concurrency = tonumber(images_at_once or "4"),
  blob_concurrency = tonumber(blobs_at_once or "4")})
print(string.format("apex: copied %d, present %d, failed %d, blobs sent %d, mounted %d, bytes %d, tokens %d",
  #s.copied, #s.present, #s.failed, s.blobs_sent, s.blobs_mounted, s.bytes_sent, s.token_fetches))
"#;

fn env_mb(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Peak RSS (KiB) of the largest child waited for so far.
fn children_max_rss_kib() -> i64 {
    // SAFETY: getrusage only writes into the zeroed struct we pass.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru);
        ru.ru_maxrss
    }
}

fn run(cmd: &mut Command) -> Duration {
    let start = Instant::now();
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    let elapsed = start.elapsed();
    if !out.status.success() {
        panic!(
            "{cmd:?} failed: {}\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    for line in stdout.lines().filter(|l| l.starts_with("apex:")) {
        println!("  {line}");
    }
    elapsed
}

fn refs(host: &str) -> Vec<String> {
    SERVICES
        .iter()
        .map(|s| format!("{host}/tripleomaster/centos-binary-{s}:current-tripleo"))
        .collect()
}

fn apex_mirror(dir: &std::path::Path, upstream: &str, local: &str) -> Command {
    let items: Vec<serde_json::Value> = refs(upstream)
        .into_iter()
        .zip(refs(local))
        .map(|(s, d)| serde_json::json!({"source": s, "destination": d}))
        .collect();
    let items_path = dir.join(format!("items-{}.json", local.replace(':', "_")));
    std::fs::write(&items_path, serde_json::to_vec(&items).unwrap()).unwrap();
    let script = dir.join("mirror.lua");
    std::fs::write(&script, MIRROR_LUA).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_apex"));
    cmd.arg("run")
        .arg(&script)
        .arg(&items_path)
        .env_remove("APEX_LUA_PATH");
    cmd
}

/// Skopeo copy of every image in turn from `upstream` to `dest`.
fn skopeo_all(upstream: &str, dest: &str) -> Duration {
    let start = Instant::now();
    for (src, dst) in refs(upstream).iter().zip(refs(dest)) {
        run(Command::new("skopeo")
            .args([
                "copy",
                "--quiet",
                "--src-tls-verify=false",
                "--dest-tls-verify=false",
            ])
            .arg(format!("docker://{src}"))
            .arg(format!("docker://{dst}")));
    }
    start.elapsed()
}

// Multi-threaded: the lab's token servers answer while a child process runs.
#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "--list") {
        return Ok(());
    }
    if std::env::args().any(|a| a == "--tripleo")
        || std::env::var("APEX_BENCH_TRIPLEO").is_ok_and(|v| v == "1")
    {
        return tripleo::main().await;
    }
    let base_mb = env_mb("APEX_BENCH_BASE_MB", 200);
    let unique_mb = env_mb("APEX_BENCH_UNIQUE_MB", 20);
    let lab = ensure_engine().await?;
    let docker = engine::connect(&lab.settings()).await?;
    let upstream = LabRegistry::start("bench-upstream").await?;
    let work = tempfile::tempdir()?;

    println!("registry bench: 8 images, {base_mb} MB shared base + {unique_mb} MB unique each");
    let t = Instant::now();
    let services: Vec<ServiceImage> = SERVICES
        .iter()
        .enumerate()
        .map(|(i, s)| ServiceImage {
            unique_bytes: unique_mb << 20,
            ..ServiceImage::small(s, 1000 + i as u32)
        })
        .collect();
    let pushed = images::populate(&docker, &upstream.host(), base_mb << 20, &services).await?;
    // The engine must not hold the layers, or `docker pull` would not transfer them.
    for s in &services {
        engine::remove_image(
            &docker,
            &format!("apexlab/centos-binary-{}:current-tripleo", s.service),
            true,
        )
        .await?;
    }
    engine::remove_image(
        &docker,
        &format!("apexlab/bulk-base:{}", base_mb << 20),
        true,
    )
    .await?;
    println!(
        "  upstream populated in {:.1}s ({} images)",
        t.elapsed().as_secs_f64(),
        pushed.len()
    );

    let apex_local = LabRegistry::start("bench-apex").await?;
    let apex_first = run(&mut apex_mirror(
        work.path(),
        &upstream.host(),
        &apex_local.host(),
    ));
    let apex_rss_kib = children_max_rss_kib();

    let skopeo_local = LabRegistry::start("bench-skopeo").await?;
    let skopeo = skopeo_all(&upstream.host(), &skopeo_local.host());

    // Token auth on the destination: the same runs into registries whose
    // token servers count the tokens handed out.
    let apex_token = LabRegistry::start_with_token("bench-apex-token", 300).await?;
    let apex_token_time = run(&mut apex_mirror(
        work.path(),
        &upstream.host(),
        &apex_token.host(),
    ));
    let apex_fetches = apex_token.token_server().map_or(0, |t| t.fetches());
    let skopeo_token = LabRegistry::start_with_token("bench-skopeo-token", 300).await?;
    let skopeo_token_time = skopeo_all(&upstream.host(), &skopeo_token.host());
    let skopeo_fetches = skopeo_token.token_server().map_or(0, |t| t.fetches());

    let docker_local = LabRegistry::start("bench-docker").await?;
    let start = Instant::now();
    for (src, dst) in refs(&upstream.host())
        .iter()
        .zip(refs(&docker_local.host()))
    {
        engine::pull_image(&docker, src, None).await?;
        engine::tag_image(&docker, src, &dst).await?;
        engine::push_image(&docker, &dst, None).await?;
    }
    let docker_time = start.elapsed();

    let apex_rerun = run(&mut apex_mirror(
        work.path(),
        &upstream.host(),
        &apex_local.host(),
    ));

    let secs = |d: Duration| d.as_secs_f64();
    let ratio_skopeo = secs(apex_first) / secs(skopeo);
    let speedup_docker = secs(docker_time) / secs(apex_first);
    let rerun_share = secs(apex_rerun) / secs(apex_first);
    let rss_mib = apex_rss_kib as f64 / 1024.0;
    println!("apex mirror (empty local):     {:8.2}s", secs(apex_first));
    println!("skopeo copy, each in turn:     {:8.2}s", secs(skopeo));
    println!("docker pull+tag+push, each:    {:8.2}s", secs(docker_time));
    println!("apex mirror rerun (present):   {:8.3}s", secs(apex_rerun));
    println!("destination:                       open   token-auth   token fetches");
    println!(
        "apex mirror:                   {:8.2}s  {:8.2}s   {apex_fetches:>8}",
        secs(apex_first),
        secs(apex_token_time)
    );
    println!(
        "skopeo copy, each in turn:     {:8.2}s  {:8.2}s   {skopeo_fetches:>8}",
        secs(skopeo),
        secs(skopeo_token_time)
    );
    let verdict = |ok: bool| if ok { "ok" } else { "MISSED" };
    println!(
        "apex / skopeo time:  {ratio_skopeo:.2}x  (target <= 0.80x) {}",
        verdict(ratio_skopeo <= 0.8)
    );
    println!(
        "docker / apex time:  {speedup_docker:.1}x faster (target >= 5x) {}",
        verdict(speedup_docker >= 5.0)
    );
    println!(
        "rerun / first:       {:.2}%  (target < 5%) {}",
        rerun_share * 100.0,
        verdict(rerun_share < 0.05)
    );
    println!(
        "apex peak RSS:       {rss_mib:.1} MiB (target < 128 MiB) {}",
        verdict(rss_mib < 128.0)
    );
    let token_ratio = secs(apex_token_time) / secs(apex_first);
    println!(
        "apex token-auth / open time: {token_ratio:.2}x  (target <= 1.10x) {}",
        verdict(token_ratio <= 1.1)
    );
    println!(
        "token fetches apex / skopeo: {apex_fetches} / {skopeo_fetches}  (target: apex <= skopeo) {}",
        verdict(apex_fetches <= skopeo_fetches)
    );

    // Clean up: engine images (the registries' temp dirs go with them).
    for (src, dst) in refs(&upstream.host())
        .iter()
        .zip(refs(&docker_local.host()))
    {
        let _ = engine::remove_image(&docker, &dst, true).await;
        let _ = engine::remove_image(&docker, src, true).await;
    }
    drop((upstream, apex_local, skopeo_local, docker_local));
    drop((apex_token, skopeo_token));
    Ok(())
}
