//! Artifact benchmark, on loopback against the lab's artifact server:
//! - first download of a 1 GiB artifact, throughput as a ratio to `curl -o`
//!   on the same server and file (target >= 0.9);
//! - rerun with three unchanged artifacts: wall time and requests made
//!   (target: one request each, under 50 ms in all);
//! - peak RSS of a process downloading the 1 GiB artifact (target < 64 MiB);
//! - unpack on tmpfs of 65,536 small files (tar and tar.gz) and of one 1 GiB file, each as a
//!   ratio of apex's time to GNU `tar -xf`'s (target <= 1.0); `-- unpack`
//!   runs that part alone.
//!
//! Run with `cargo bench --bench artifacts`. Data lives in a temp dir under
//! /tmp and is removed at the end. Without `--bench` (as `cargo test
//! --all-targets` runs it) it is a quick smoke run with 8 MiB, to keep the
//! bench code working; its numbers are not the targets' measure.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use apex::artifacts::{FetchRequest, FetchSettings, FetchStatus, Fetcher};
use apex_lab::artifact_server::ArtifactServer;

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;
const CHILD_ENV: &str = "APEX_BENCH_ARTIFACTS_CHILD";

fn main() -> anyhow::Result<()> {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        return child(&spec);
    }
    if std::env::args().any(|a| a == "--list") {
        return Ok(()); // `cargo bench -- --list` and test discovery
    }
    let full = std::env::args().any(|a| a == "--bench");
    let big = if full { GIB } else { 8 * MIB };
    if std::env::args().any(|a| a == "unpack") {
        return unpack_bench(big); // `cargo bench --bench artifacts -- unpack`: that part alone
    }
    if !full {
        println!(
            "artifacts bench: smoke run with 8 MiB (use `cargo bench --bench artifacts` for the real one)"
        );
    }
    let work = tempfile::Builder::new()
        .prefix("apex-bench-artifacts-")
        .tempdir_in("/tmp")?;
    let result = run(work.path(), big);
    drop(work);
    result
}

fn run(work: &Path, big: u64) -> anyhow::Result<()> {
    let big_h = indicatif::HumanBytes(big).to_string();
    let upstream = work.join("upstream");
    std::fs::create_dir_all(&upstream)?;
    println!(
        "artifacts bench: generating {big_h} + 2 x 16 MiB under {}",
        work.display()
    );
    generate(&upstream.join("overcloud-full.tar"), big, 1)?;
    generate(&upstream.join("ironic-python-agent.tar"), 16 * MIB, 2)?;
    generate(&upstream.join("undercloud.qcow2"), 16 * MIB, 3)?;
    let server = ArtifactServer::start(&upstream)?;
    let big_url = server.url("overcloud-full.tar");

    // 1 + 3: first download (apex in a child process, for its peak RSS) against curl.
    let curl_out = work.join("curl.bin");
    let cache = work.join("cache");
    let mut curl_best = f64::MAX;
    let mut curl_sync_best = f64::MAX;
    let mut apex_best = f64::MAX;
    let mut fast_best = f64::MAX;
    let mut rss_max_kib = 0u64;
    for round in 0..2 {
        let _ = std::fs::remove_file(&curl_out);
        settle();
        let t = Instant::now();
        let st = Command::new("curl")
            .args(["-sSf", "-o"])
            .arg(&curl_out)
            .arg(&big_url)
            .status()?;
        anyhow::ensure!(
            st.success(),
            "curl failed (is curl installed? tests/lab/install.sh)"
        );
        curl_best = curl_best.min(t.elapsed().as_secs_f64());
        // The same durability as apex's default: the data on disk before it counts.
        let st = Command::new("sync").arg(&curl_out).status()?;
        anyhow::ensure!(st.success(), "sync failed");
        curl_sync_best = curl_sync_best.min(t.elapsed().as_secs_f64());
        std::fs::remove_file(&curl_out)?;

        let _ = std::fs::remove_dir_all(&cache);
        settle();
        let (fast, _) = child_download(&big_url, &cache.join("overcloud-full.tar"), false, big)?;
        fast_best = fast_best.min(fast);
        let _ = std::fs::remove_dir_all(&cache);
        settle();
        let (secs, rss) = child_download(&big_url, &cache.join("overcloud-full.tar"), true, big)?;
        apex_best = apex_best.min(secs);
        rss_max_kib = rss_max_kib.max(rss);
        println!(
            "  round {round}: curl {curl_best:.3} s best so far, apex {secs:.3} s (durable), {fast:.3} s (durable=false), peak RSS {rss} KiB"
        );
    }
    let gib_s = |secs: f64| big as f64 / secs / GIB as f64;
    let ratio = curl_best / apex_best;
    println!(
        "first download {big_h}: apex {apex_best:.3} s ({:.2} GiB/s), curl -o {curl_best:.3} s ({:.2} GiB/s), ratio {ratio:.2} (target >= 0.9) {}",
        gib_s(apex_best),
        gib_s(curl_best),
        verdict(ratio >= 0.9)
    );
    println!(
        "  same durability as apex (curl -o, then sync FILE): curl {curl_sync_best:.3} s, ratio {:.2} (target >= 0.9) {}",
        curl_sync_best / apex_best,
        verdict(curl_sync_best / apex_best >= 0.9)
    );
    println!(
        "  same without fsync (durable=false): apex {fast_best:.3} s, ratio {:.2} (target >= 0.9) {}",
        curl_best / fast_best,
        verdict(curl_best / fast_best >= 0.9)
    );
    let rss_mib = rss_max_kib as f64 / 1024.0;
    println!(
        "peak RSS downloading {big_h}: {rss_mib:.1} MiB (target < 64 MiB) {}",
        verdict(rss_mib < 64.0)
    );

    // 2: rerun with three unchanged artifacts.
    let reqs: Vec<FetchRequest> = [
        "overcloud-full.tar",
        "ironic-python-agent.tar",
        "undercloud.qcow2",
    ]
    .iter()
    .map(|n| FetchRequest {
        url: server.url(n),
        dest: cache.join(n),
        ..Default::default()
    })
    .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let fetcher = Fetcher::new(FetchSettings::default())?;
    for r in rt.block_on(fetcher.fetch_all(&reqs)) {
        r?;
    }
    let mut best = Duration::MAX;
    let mut requests = 0;
    for _ in 0..3 {
        server.clear_log();
        let t = Instant::now();
        let out = rt.block_on(fetcher.fetch_all(&reqs));
        let took = t.elapsed();
        for o in out {
            anyhow::ensure!(
                o?.status == FetchStatus::NotModified,
                "rerun downloaded again"
            );
        }
        requests = server.log().len();
        best = best.min(took);
    }
    // A fresh process pays for a new connection each time: measure that too.
    let fresh = Fetcher::new(FetchSettings::default())?;
    server.clear_log();
    let t = Instant::now();
    for o in rt.block_on(fresh.fetch_all(&reqs)) {
        o?;
    }
    let cold = t.elapsed();
    println!(
        "rerun, 3 unchanged artifacts: {:.1} ms (new client: {:.1} ms), {requests} requests (target: 3 requests, < 50 ms) {}",
        best.as_secs_f64() * 1e3,
        cold.as_secs_f64() * 1e3,
        verdict(requests == 3 && cold < Duration::from_millis(50))
    );
    drop(server);
    std::fs::remove_dir_all(&cache)?;
    std::fs::remove_dir_all(&upstream)?;

    unpack_bench(big)
}

/// 4: unpack against GNU tar on tmpfs (no disk in the way, so the per-entry
/// work is what is measured): many small files, and one big file.
fn unpack_bench(big: u64) -> anyhow::Result<()> {
    let shm = Path::new("/dev/shm");
    let fs = rustix::fs::statfs(shm)?;
    anyhow::ensure!(
        fs.f_type == TMPFS_MAGIC,
        "{} is not a tmpfs: the unpack bench measures on one",
        shm.display()
    );
    let work = tempfile::Builder::new()
        .prefix("apex-bench-unpack-")
        .tempdir_in(shm)?;
    let small = if big >= GIB { 65_536 } else { 4_096 };
    let tree = work.path().join("tree");
    small_files(&tree, small)?;
    let many = work.path().join("many.tar");
    tar_create(&many, &tree)?;
    std::fs::remove_dir_all(&tree)?;
    compare_unpack(work.path(), &many, &format!("{small} small files"), "-xf")?;
    let gz = work.path().join("many.tar.gz");
    let st = Command::new("gzip")
        .arg("-k")
        .arg("-6")
        .arg(&many)
        .status()?;
    anyhow::ensure!(st.success(), "gzip failed");
    std::fs::remove_file(&many)?;
    compare_unpack(
        work.path(),
        &gz,
        &format!("{small} small files in a tar.gz"),
        "-xzf",
    )?;
    std::fs::remove_file(&gz)?;

    std::fs::create_dir_all(&tree)?;
    generate(&tree.join("overcloud-full.raw"), big, 10)?;
    let one = work.path().join("one.tar");
    tar_create(&one, &tree)?;
    std::fs::remove_dir_all(&tree)?;
    compare_unpack(
        work.path(),
        &one,
        &format!("one {} file", indicatif::HumanBytes(big)),
        "-xf",
    )
}

const TMPFS_MAGIC: rustix::fs::FsWord = 0x0102_1994;

/// `count` files of 0 to 8 KiB (a rootfs's spread: most of them small) in
/// directories of 256, two levels deep. Their text is words drawn from a
/// vocabulary, so it compresses about as source code does (3-4x) and the
/// tar.gz case weighs inflating too.
fn small_files(root: &Path, count: u32) -> anyhow::Result<()> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let vocabulary: Vec<String> = (0..3000)
        .map(|_| {
            let len = 2 + next() % 9;
            (0..len)
                .map(|_| (b'a' + (next() % 26) as u8) as char)
                .collect()
        })
        .collect();
    // Each file takes the next slice of one long text, so no two are alike.
    let mut data = Vec::with_capacity((16 << 20) + 16);
    while data.len() < 16 << 20 {
        data.extend_from_slice(vocabulary[(next() % 3000) as usize].as_bytes());
        data.push(if next() % 10 == 0 { b'\n' } else { b' ' });
    }
    let mut at = 0;
    for i in 0..count {
        let dir = root.join(format!("d{:02x}/e{:02x}", i >> 12, (i >> 8) & 0xf));
        if i % 256 == 0 {
            std::fs::create_dir_all(&dir)?;
        }
        let len = (i as usize).wrapping_mul(2_654_435_761) % 8193 / (1 + i as usize % 4);
        if at + len > data.len() {
            at = 0;
        }
        std::fs::write(dir.join(format!("f{i:05}.py")), &data[at..at + len])?;
        at += len;
    }
    Ok(())
}

fn tar_create(tar_file: &Path, tree: &Path) -> anyhow::Result<()> {
    let st = Command::new("tar")
        .arg("-cf")
        .arg(tar_file)
        .arg("-C")
        .arg(tree)
        .arg(".")
        .status()?;
    anyhow::ensure!(st.success(), "tar -cf failed");
    Ok(())
}

/// Best of three: `tar --no-same-owner <mode>` (apex sets no owners either)
/// and `apex::archive::unpack`, each into a fresh directory; prints apex's
/// time as a ratio to tar's (target <= 1.0).
fn compare_unpack(work: &Path, tar_file: &Path, what: &str, mode: &str) -> anyhow::Result<()> {
    let (mut gnu_best, mut apex_best) = (f64::MAX, f64::MAX);
    let mut entries = 0;
    for _ in 0..3 {
        let out = work.join("gnu");
        std::fs::create_dir_all(&out)?;
        let t = Instant::now();
        let st = Command::new("tar")
            .arg("--no-same-owner")
            .arg(mode)
            .arg(tar_file)
            .arg("-C")
            .arg(&out)
            .status()?;
        anyhow::ensure!(st.success(), "tar -xf failed");
        gnu_best = gnu_best.min(t.elapsed().as_secs_f64());
        std::fs::remove_dir_all(&out)?;

        let out = work.join("apex");
        let t = Instant::now();
        let u = apex::archive::unpack(tar_file, &out)?;
        apex_best = apex_best.min(t.elapsed().as_secs_f64());
        entries = u.entries;
        std::fs::remove_dir_all(&out)?;
    }
    let ratio = apex_best / gnu_best;
    println!(
        "unpack {what} ({entries} entries) on tmpfs: apex {apex_best:.3} s, tar {mode} {gnu_best:.3} s, \
         apex/tar {ratio:.2} (target <= 1.0) {}",
        verdict(ratio <= 1.0)
    );
    Ok(())
}

/// Flushes dirty pages left by the previous step, so no measured run pays
/// for another's writeback.
fn settle() {
    let _ = Command::new("sync").status();
}

fn verdict(ok: bool) -> &'static str {
    if ok { "OK" } else { "MISSED" }
}

/// Writes `size` bytes of cheap pseudo-random data.
fn generate(path: &Path, size: u64, seed: u64) -> anyhow::Result<()> {
    let mut f = std::io::BufWriter::with_capacity(4 << 20, std::fs::File::create(path)?);
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut block = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        for w in block.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            w.copy_from_slice(&x.to_le_bytes());
        }
        let n = left.min(block.len() as u64) as usize;
        f.write_all(&block[..n])?;
        left -= n as u64;
    }
    f.flush()?;
    Ok(())
}

/// Runs one download in a child process; returns (seconds, peak RSS in KiB).
fn child_download(url: &str, dest: &Path, durable: bool, size: u64) -> anyhow::Result<(f64, u64)> {
    let out = Command::new(std::env::current_exe()?)
        .env(
            CHILD_ENV,
            format!("{url}\n{}\n{durable}\n{size}", dest.display()),
        )
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "download child failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text.split_whitespace();
    let secs: f64 = it.next().unwrap_or_default().parse()?;
    let rss: u64 = it.next().unwrap_or_default().parse()?;
    Ok((secs, rss))
}

/// The child: one fetch on a current-thread runtime (as the Lua host runs it),
/// then prints the time taken and VmHWM (peak RSS) in KiB.
fn child(spec: &str) -> anyhow::Result<()> {
    let mut parts = spec.split('\n');
    let (Some(url), Some(dest), Some(durable), Some(size)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        anyhow::bail!("bad child spec {spec:?}");
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let req = FetchRequest {
        url: url.into(),
        dest: PathBuf::from(dest),
        ..Default::default()
    };
    let settings = FetchSettings {
        durable: durable == "true",
        ..Default::default()
    };
    let t = Instant::now();
    let out = rt.block_on(apex::artifacts::fetch_if_modified(&req, settings))?;
    let secs = t.elapsed().as_secs_f64();
    anyhow::ensure!(
        out.status == FetchStatus::Downloaded && out.size == size.parse::<u64>()?,
        "unexpected outcome {out:?}"
    );
    let status = std::fs::read_to_string("/proc/self/status")?;
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0);
    println!("{secs} {hwm}");
    Ok(())
}
