//! The lab's Docker engine: reuse one that answers, else start Debian's
//! `dockerd` with its own data, exec root, pidfile and socket under a fixed
//! lab directory, detached so later test processes (and `apex lab up`) reuse
//! it. A file lock keeps concurrent test binaries from starting two.
//!
//! The engine runs with `--bridge=none --iptables=false`: no network of its
//! own, nothing changed in the host's firewall; builds need no network.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::engine::{self, EngineSettings};

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
    crate::local_tools::tail(&std::fs::read(path).unwrap_or_default(), 15)
}

fn spawn_dockerd(dir: &Path, storage_driver: Option<&str>) -> anyhow::Result<std::process::Child> {
    let log = std::fs::File::create(dir.join("dockerd.log"))?;
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
    // Its own session: it outlives the test process that started it.
    cmd.stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0);
    cmd.spawn()
        .context("starting dockerd (Debian package docker.io) failed; is it installed?")
}

/// Returns an engine that answers: `APEX_LAB_DOCKER_HOST` if set, the lab's
/// own engine if running, the local default socket if it answers, else a lab
/// engine started now (overlay2, falling back to vfs).
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
    let endpoint = format!("unix://{}", dir.join("docker.sock").display());
    let lock_dir = dir.clone();
    let _lock = tokio::task::spawn_blocking(move || lock(&lock_dir)).await??;
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
    let mut failures = Vec::new();
    for driver in [None, Some("vfs")] {
        let _ = std::fs::remove_file(dir.join("docker.sock"));
        let mut child = spawn_dockerd(&dir, driver)?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if answers(&endpoint).await {
                tracing::info!("lab: started dockerd (pid {}) at {endpoint}", child.id());
                return Ok(LabEngine {
                    endpoint,
                    started: true,
                });
            }
            if let Some(status) = child.try_wait()? {
                failures.push(format!(
                    "dockerd (storage driver {}) exited with {status}:\n{}",
                    driver.unwrap_or("default"),
                    log_tail(&dir.join("dockerd.log"))
                ));
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                failures.push(format!(
                    "dockerd did not answer within 60 s:\n{}",
                    log_tail(&dir.join("dockerd.log"))
                ));
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    bail!(
        "lab: no Docker engine answers and none could be started:\n{}",
        failures.join("\n")
    )
}
