//! The lab's Docker engine: reuse one that answers, else start Debian's
//! `dockerd` with its own data, exec root, pidfile and socket under a fixed
//! lab directory, detached so later test processes (and `apex lab up`) reuse
//! it. A file lock keeps concurrent test binaries from starting two.
//!
//! The engine runs with `--bridge=none --iptables=false`: no network of its
//! own, nothing changed in the host's firewall; builds need no network.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use super::process;
use apex::engine::{self, EngineSettings};

/// Where the lab engine keeps everything (override with `APEX_LAB_DOCKER_DIR`).
pub fn lab_dir() -> PathBuf {
    std::env::var_os("APEX_LAB_DOCKER_DIR")
        .map_or_else(|| PathBuf::from("/var/tmp/apex-lab/docker"), PathBuf::from)
}

/// A Docker engine the lab can use.
#[derive(Debug, Clone)]
pub struct LabEngine {
    /// `unix:///...sock`, ready for [`EngineSettings::endpoint`].
    pub endpoint: String,
    /// Whether this call started it (false: it was already answering).
    pub started: bool,
}

impl LabEngine {
    pub fn settings(&self) -> EngineSettings {
        EngineSettings {
            endpoint: Some(self.endpoint.clone()),
            timeout: None,
        }
    }
}

async fn answers(endpoint: &str) -> bool {
    let settings = EngineSettings {
        endpoint: Some(endpoint.to_string()),
        timeout: Some(5),
    };
    match engine::connect(&settings).await {
        Ok(d) => d.ping().await.is_ok(),
        Err(_) => false,
    }
}

/// Holds an exclusive `flock` on `dir/lab.lock` until dropped (shared with the lab orchestration).
pub(crate) struct LabLock(#[allow(dead_code)] std::fs::File);

pub(crate) fn lock(dir: &Path) -> anyhow::Result<LabLock> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("lab.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
        .with_context(|| format!("locking {}", path.display()))?;
    Ok(LabLock(file))
}

fn log_tail(path: &Path) -> String {
    apex::local_tools::tail(&std::fs::read(path).unwrap_or_default(), 15)
}

/// How long a dockerd may take to answer after its start.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// The marker of a lab dockerd's command line (see [`process::alive`]).
const DOCKERD: &str = "dockerd";

/// Polls `endpoint` until it answers (true), `gave_up()` says the process is
/// gone, or `timeout` passes (false).
async fn wait_until_answering(
    endpoint: &str,
    timeout: Duration,
    mut gave_up: impl FnMut() -> bool,
) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if answers(endpoint).await {
            return true;
        }
        if gave_up() || Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The PID in the lab dockerd's pidfile, if that process is a live dockerd.
pub fn running_dockerd(dir: &Path) -> Option<u32> {
    let pid = process::read_pidfile(&dir.join("dockerd.pid"))?;
    process::alive(pid, DOCKERD).then_some(pid)
}

/// Stops the lab dockerd of `dir`, if one runs, with SIGTERM and time to stop
/// its containerd and containers cleanly (nothing left for the next start to
/// clear). Takes the dir's lock, so no start races it. Returns its PID.
pub fn stop_engine_in(dir: &Path) -> anyhow::Result<Option<u32>> {
    let _lock = lock(dir)?;
    let pid = running_dockerd(dir);
    if let Some(pid) = pid {
        process::terminate_within(pid, DOCKERD, STOP_TIMEOUT);
        if process::alive(pid, DOCKERD) {
            bail!("lab: dockerd (pid {pid}) of {} did not stop", dir.display());
        }
    }
    unmount_data_root(dir)?;
    Ok(pid)
}

/// dockerd bind-mounts its data root onto itself (to make it a shared
/// mount) and undoes that on a clean shutdown, but only when it made the
/// mount: after one killed dockerd, every later one finds the mount there and
/// leaves it. The lab's engine is stopped, so the mount goes too.
fn unmount_data_root(dir: &Path) -> anyhow::Result<()> {
    let data = dir.join("data");
    let data = std::fs::canonicalize(&data).unwrap_or(data);
    // One mount per dockerd that found none; a few at most.
    for _ in 0..8 {
        let mounted = apex::mountinfo::mount_points()
            .context("reading /proc/self/mountinfo")?
            .contains(&data);
        if !mounted {
            break;
        }
        rustix::mount::unmount(&data, rustix::mount::UnmountFlags::DETACH)
            .with_context(|| format!("lab: cannot unmount the engine's {}", data.display()))?;
        tracing::info!("lab: unmounted the engine's data root {}", data.display());
    }
    Ok(())
}

/// How long a dockerd gets to stop after SIGTERM before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// Clears what a dockerd stopped without a clean shutdown (a session or test
/// run killed) leaves in the lab dir, which would make the next start fail or crawl:
/// - its pidfile: while the dead process lingers as a zombie, dockerd refuses to start;
/// - its containerd, orphaned: a new dockerd adopts it by its pidfile and, if
///   it is a zombie by then, waits for it until "timeout waiting for containerd";
///   a live one is stopped too, so the new engine starts from a known state;
/// - its network store: the engine keeps a record of each build container's
///   sandbox and walks them at every start (~150 ms each, three more per run of
///   the container tests): after a day of runs a start took over a minute. With
///   `--bridge=none` the store holds nothing the lab needs; dockerd makes it anew.
fn clear_leftovers(dir: &Path) {
    let containerd = dir.join("exec/containerd");
    if let Some(pid) = process::read_pidfile(&containerd.join("containerd.pid"))
        && process::terminate(pid, &containerd.display().to_string())
    {
        tracing::info!(
            "lab: stopped containerd (pid {pid}) left by a dockerd of {}",
            dir.display()
        );
    }
    for stale in [
        dir.join("dockerd.pid"),
        containerd.join("containerd.pid"),
        dir.join("data/network/files/local-kv.db"),
    ] {
        match std::fs::remove_file(&stale) {
            Ok(()) => tracing::debug!("lab: removed {}", stale.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!("lab: could not remove {}: {e}", stale.display()),
        }
    }
}

/// Starts a detached dockerd (it outlives the test process that started it)
/// and returns its PID.
fn spawn_dockerd(dir: &Path, storage_driver: Option<&str>) -> anyhow::Result<u32> {
    let mut cmd = std::process::Command::new("dockerd");
    cmd.args(["--bridge=none", "--iptables=false", "--ip6tables=false"])
        .arg(format!("--data-root={}", dir.join("data").display()))
        .arg(format!("--exec-root={}", dir.join("exec").display()))
        .arg(format!("--pidfile={}", dir.join("dockerd.pid").display()))
        .arg(format!(
            "--host=unix://{}",
            dir.join("docker.sock").display()
        ));
    if let Some(driver) = storage_driver {
        cmd.arg(format!("--storage-driver={driver}"));
    }
    process::spawn_detached(cmd, &dir.join("dockerd.log"))
        .context("starting dockerd (Debian package docker.io) failed; is it installed?")
}

/// Returns an engine that answers: `APEX_LAB_DOCKER_HOST` if set, the lab's
/// own engine if running, the local default socket if it answers, else a lab
/// engine started now (overlay2, falling back to vfs) by [`ensure_engine_in`].
pub async fn ensure_engine() -> anyhow::Result<LabEngine> {
    if let Ok(endpoint) = std::env::var("APEX_LAB_DOCKER_HOST") {
        if answers(&endpoint).await {
            return Ok(LabEngine {
                endpoint,
                started: false,
            });
        }
        bail!("lab: APEX_LAB_DOCKER_HOST={endpoint} does not answer");
    }
    let dir = lab_dir();
    let endpoint = endpoint_of(&dir);
    if answers(&endpoint).await {
        return Ok(LabEngine {
            endpoint,
            started: false,
        });
    }
    if Path::new("/var/run/docker.sock").exists() && answers("unix:///var/run/docker.sock").await {
        return Ok(LabEngine {
            endpoint: "unix:///var/run/docker.sock".into(),
            started: false,
        });
    }
    ensure_engine_in(&dir).await
}

fn endpoint_of(dir: &Path) -> String {
    format!("unix://{}", dir.join("docker.sock").display())
}

/// The lab dockerd of `dir`: the one answering there, else one started now on
/// what an earlier one left behind (see [`clear_leftovers`]). Holds the dir's
/// lock, so concurrent test processes start one.
pub async fn ensure_engine_in(dir: &Path) -> anyhow::Result<LabEngine> {
    let endpoint = endpoint_of(dir);
    let lock_dir = dir.to_path_buf();
    let _lock = tokio::task::spawn_blocking(move || lock(&lock_dir)).await??;
    if answers(&endpoint).await {
        return Ok(LabEngine {
            endpoint,
            started: false,
        });
    }
    if let Some(pid) = running_dockerd(dir) {
        // Ours but silent: maybe still starting (a slow start walks its leftovers); give it the
        // same time a start gets, then stop it cleanly so a new one starts on a clear dir.
        tracing::info!(
            "lab: dockerd (pid {pid}) of {} runs but does not answer yet; waiting",
            dir.display()
        );
        if wait_until_answering(&endpoint, START_TIMEOUT, || !process::alive(pid, DOCKERD)).await {
            return Ok(LabEngine {
                endpoint,
                started: false,
            });
        }
        tracing::warn!(
            "lab: dockerd (pid {pid}) did not answer within {} s; stopping it",
            START_TIMEOUT.as_secs()
        );
        process::terminate_within(pid, DOCKERD, STOP_TIMEOUT);
    }
    clear_leftovers(dir);
    let mut failures = Vec::new();
    for driver in [None, Some("vfs")] {
        let _ = std::fs::remove_file(dir.join("docker.sock"));
        let pid = spawn_dockerd(dir, driver)?;
        if wait_until_answering(&endpoint, START_TIMEOUT, || !process::alive(pid, DOCKERD)).await {
            tracing::info!("lab: started dockerd (pid {pid}) at {endpoint}");
            super::record::note("engine", dir);
            return Ok(LabEngine {
                endpoint,
                started: true,
            });
        }
        if !process::alive(pid, DOCKERD) {
            failures.push(format!(
                "dockerd (storage driver {}) exited:\n{}",
                driver.unwrap_or("default"),
                log_tail(&dir.join("dockerd.log"))
            ));
            // A storage driver the kernel lacks makes dockerd exit: the next driver may serve.
            clear_leftovers(dir);
            continue;
        }
        // SIGTERM first: a killed dockerd leaves its containerd and state behind for the next start.
        process::terminate_within(pid, DOCKERD, STOP_TIMEOUT);
        failures.push(format!(
            "dockerd did not answer within {} s:\n{}",
            START_TIMEOUT.as_secs(),
            log_tail(&dir.join("dockerd.log"))
        ));
        break;
    }
    bail!(
        "lab: no Docker engine answers and none could be started:\n{}",
        failures.join("\n")
    )
}
