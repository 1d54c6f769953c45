//! Libvirt on the jump host through `virsh -c URI` (Debian libvirt-clients):
//! no C binding to build, and the same commands an operator would type.

use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::process::Command;

use super::domain::owner_of;

/// The libvirt connection apex uses.
#[derive(Debug, Clone)]
pub struct Libvirt {
    pub uri: String,
}

/// The default URI, as Apex uses it.
pub const DEFAULT_URI: &str = "qemu:///system";

/// A domain's state as `virsh domstate` names it ("running", "shut off", ...).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DomainState {
    pub state: String,
    pub running: bool,
    /// The owner mark of its XML (see `DomainSpec::owner`).
    pub owner: Option<String>,
}

fn not_found(stderr: &str) -> bool {
    let s = stderr.to_lowercase();
    s.contains("not found")
        || s.contains("failed to get domain")
        || s.contains("failed to get network")
}

impl Libvirt {
    pub fn new(uri: Option<&str>) -> Self {
        Self {
            uri: uri.unwrap_or(DEFAULT_URI).to_string(),
        }
    }

    /// Runs `virsh -c URI args...`; Ok(Err(stderr)) when it failed.
    async fn virsh(&self, args: &[&str]) -> anyhow::Result<Result<String, String>> {
        let mut cmd = Command::new("virsh");
        cmd.arg("-q").arg("-c").arg(&self.uri).args(args);
        cmd.kill_on_drop(true);
        tracing::debug!(uri = %self.uri, ?args, "virsh");
        let out = match tokio::time::timeout(Duration::from_secs(120), cmd.output()).await {
            Ok(Ok(o)) => o,
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                bail!("virsh is not installed (Debian package libvirt-clients)")
            }
            Ok(Err(e)) => bail!("cannot run virsh: {e}"),
            Err(_) => bail!("virsh -c {} {} took over 120 s", self.uri, args.join(" ")),
        };
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(Ok(stdout))
        } else {
            Ok(Err(String::from_utf8_lossy(&out.stderr).trim().to_string()))
        }
    }

    async fn checked(&self, args: &[&str]) -> anyhow::Result<String> {
        match self.virsh(args).await? {
            Ok(s) => Ok(s),
            Err(e) => bail!("virsh -c {} {}: {e}", self.uri, args.join(" ")),
        }
    }

    /// Whether libvirt answers on the URI.
    pub async fn ping(&self) -> anyhow::Result<()> {
        self.checked(&["version"]).await.map(drop)
    }

    /// Defines (or redefines) a persistent domain from its XML; returns its name.
    pub async fn define(&self, xml: &str) -> anyhow::Result<()> {
        let f = tempfile::NamedTempFile::new()?;
        std::fs::write(f.path(), xml)?;
        let path = f.path().to_string_lossy().into_owned();
        self.checked(&["define", &path]).await.map(drop)
    }

    /// Starts a defined domain (no-op when it runs).
    pub async fn start(&self, name: &str) -> anyhow::Result<()> {
        if self.state(name).await?.is_some_and(|s| s.running) {
            return Ok(());
        }
        self.checked(&["start", name]).await.map(drop)
    }

    /// The domain's state and owner, or None when no such domain exists.
    pub async fn state(&self, name: &str) -> anyhow::Result<Option<DomainState>> {
        let state = match self.virsh(&["domstate", name]).await? {
            Ok(s) => s.trim().to_string(),
            Err(e) if not_found(&e) => return Ok(None),
            Err(e) => bail!("virsh -c {} domstate {name}: {e}", self.uri),
        };
        let xml = self.dumpxml(name).await?.unwrap_or_default();
        Ok(Some(DomainState {
            running: state == "running",
            state,
            owner: owner_of(&xml),
        }))
    }

    /// The domain's XML as libvirt holds it, or None when it does not exist.
    pub async fn dumpxml(&self, name: &str) -> anyhow::Result<Option<String>> {
        match self.virsh(&["dumpxml", name]).await? {
            Ok(s) => Ok(Some(s)),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => bail!("virsh -c {} dumpxml {name}: {e}", self.uri),
        }
    }

    /// Stops (destroy: power off) and undefines a domain. Returns false when
    /// it did not exist.
    pub async fn remove(&self, name: &str) -> anyhow::Result<bool> {
        let Some(st) = self.state(name).await? else {
            return Ok(false);
        };
        if st.state != "shut off"
            && let Err(e) = self.virsh(&["destroy", name]).await?
            && !e.contains("not running")
        {
            bail!("virsh -c {} destroy {name}: {e}", self.uri);
        }
        match self.virsh(&["undefine", name, "--nvram"]).await? {
            Ok(_) => Ok(true),
            Err(e) if not_found(&e) => Ok(true),
            Err(_) => self.checked(&["undefine", name]).await.map(|_| true),
        }
    }

    /// Defines and starts a network (from its XML) unless one of that name is active.
    pub async fn ensure_network(&self, name: &str, xml: &str) -> anyhow::Result<bool> {
        let created = match self.virsh(&["net-info", name]).await? {
            Ok(_) => false,
            Err(e) if not_found(&e) => {
                let f = tempfile::NamedTempFile::new()?;
                std::fs::write(f.path(), xml)?;
                let path = f.path().to_string_lossy().into_owned();
                self.checked(&["net-define", &path]).await?;
                true
            }
            Err(e) => bail!("virsh net-info {name}: {e}"),
        };
        let info = self.checked(&["net-info", name]).await?;
        let active = info
            .lines()
            .any(|l| l.starts_with("Active:") && l.trim_end().ends_with("yes"));
        if !active {
            self.checked(&["net-start", name])
                .await
                .with_context(|| format!("starting network {name}"))?;
        }
        Ok(created)
    }

    /// Stops and undefines a network; false when it did not exist.
    pub async fn remove_network(&self, name: &str) -> anyhow::Result<bool> {
        match self.virsh(&["net-info", name]).await? {
            Ok(_) => {}
            Err(e) if not_found(&e) => return Ok(false),
            Err(e) => bail!("virsh net-info {name}: {e}"),
        }
        let _ = self.virsh(&["net-destroy", name]).await?;
        self.checked(&["net-undefine", name]).await.map(|_| true)
    }
}
