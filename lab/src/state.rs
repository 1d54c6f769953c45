//! `dir/lab.json`: what a lab runs (port, PID and the file its command line
//! names, so a recycled PID is never mistaken for it), read by the next
//! `Lab::up` to reattach and by `apex lab down` to stop.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use super::process;

/// One detached lab service.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Service {
    pub port: u16,
    pub pid: u32,
    /// A string its command line contains (its config file or lab dir).
    pub marker: String,
}

/// The content of `lab.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LabState {
    /// The Docker engine endpoint (shared; `lab down` leaves it running).
    pub engine: Option<String>,
    /// By name: `upstream`, `local`, `sshd`, `artifacts`.
    #[serde(default)]
    pub services: BTreeMap<String, Service>,
}

impl LabState {
    pub fn path(dir: &Path) -> PathBuf {
        dir.join("lab.json")
    }

    /// The state in `dir` (empty when there is none yet).
    pub fn read(dir: &Path) -> anyhow::Result<Self> {
        let path = Self::path(dir);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("{}: not a lab state file", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Port and PID of a recorded service that still runs.
    pub fn running(&self, name: &str) -> Option<(u16, u32)> {
        let s = self.services.get(name)?;
        process::alive(s.pid, &s.marker).then_some((s.port, s.pid))
    }

    /// Records a service (a missing PID removes it).
    pub fn set(&mut self, name: &str, port: u16, pid: Option<u32>, marker: impl AsRef<Path>) {
        match pid.filter(|p| *p != 0) {
            Some(pid) => {
                let marker = marker.as_ref().display().to_string();
                self.services
                    .insert(name.to_string(), Service { port, pid, marker });
            }
            None => {
                self.services.remove(name);
            }
        }
    }

    /// Writes `dir/lab.json` (temp file, then rename).
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        apex::fsutil::write_atomic(&Self::path(dir), &serde_json::to_vec_pretty(self)?, None)
    }
}

/// Stops every service recorded in `dir/lab.json` and records that none
/// runs; returns the names of those that were running.
pub fn stop_recorded(dir: &Path) -> anyhow::Result<Vec<String>> {
    let _lock = super::docker::lock(dir)?;
    let mut state = LabState::read(dir)?;
    let mut stopped = Vec::new();
    for (name, s) in std::mem::take(&mut state.services) {
        if process::terminate_with_children(s.pid, &s.marker) {
            stopped.push(name);
        }
    }
    state.write(dir)?;
    Ok(stopped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_state_file_is_named_and_dead_services_are_not_running() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(LabState::path(dir.path()), "{not json").unwrap();
        let err = LabState::read(dir.path()).unwrap_err();
        assert!(
            format!("{err:#}").contains("lab.json: not a lab state file"),
            "{err:#}"
        );

        let mut state = LabState::default();
        // Our own PID runs, but its command line lacks the marker: not ours.
        state.set(
            "upstream",
            5000,
            Some(std::process::id()),
            "/no/such/config.yml",
        );
        assert_eq!(state.running("upstream"), None);
        state.set("upstream", 5000, None, "");
        assert!(state.services.is_empty());
        state.write(dir.path()).unwrap();
        assert!(LabState::read(dir.path()).unwrap().services.is_empty());
    }
}
