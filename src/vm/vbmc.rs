//! Virtual BMCs (VirtualBMC, the Python package Apex uses): one `vbmcd` per
//! deploy, with its own config dir, PID file and control port, so that
//! `apex destroy` stops exactly the BMCs of that deploy. Each BMC answers
//! IPMI on its own UDP port and powers its libvirt domain on and off.

use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};

use crate::local_tools::run;

/// Where a deploy's vbmcd lives and how it is reached.
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "apex.Vbmc")]
pub struct Vbmc {
    /// The deploy's vbmcd config dir (virtualbmc.conf, the BMCs' state,
    /// vbmcd.pid, vbmcd.log).
    pub dir: PathBuf,
    /// The `vbmc` command (its `vbmcd` is looked for beside it); default
    /// vbmc on PATH.
    #[serde(default = "default_command")]
    pub command: PathBuf,
    /// vbmcd's control port on 127.0.0.1 (vbmc's default 50891).
    #[serde(default = "default_port")]
    pub control_port: u16,
}

fn default_command() -> PathBuf {
    PathBuf::from("vbmc")
}

fn default_port() -> u16 {
    50891
}

/// One BMC.
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "apex.Bmc")]
pub struct Bmc {
    /// The libvirt domain it controls.
    pub domain: String,
    /// IPMI UDP port.
    pub port: u16,
    /// The address it listens on.
    pub address: String,
    pub user: String,
    pub password: String,
    pub libvirt_uri: String,
}

impl Vbmc {
    fn config_file(&self) -> PathBuf {
        self.dir.join("virtualbmc.conf")
    }

    fn pid_file(&self) -> PathBuf {
        self.dir.join("vbmcd.pid")
    }

    fn daemon(&self) -> PathBuf {
        match self.command.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(dir) => dir.join("vbmcd"),
            None => PathBuf::from("vbmcd"),
        }
    }

    fn cli(&self) -> Command {
        let mut c = Command::new(&self.command);
        c.env("VIRTUALBMC_CONFIG", self.config_file());
        c
    }

    /// The running vbmcd's PID, if any.
    pub fn pid(&self) -> Option<u32> {
        let pid: u32 = std::fs::read_to_string(self.pid_file())
            .ok()?
            .trim()
            .parse()
            .ok()?;
        alive(pid).then_some(pid)
    }

    /// Starts this deploy's vbmcd unless it runs (detached, in its own
    /// process group, outliving apex: the BMCs serve the undercloud).
    pub fn ensure_daemon(&self) -> anyhow::Result<u32> {
        if let Some(pid) = self.pid() {
            return Ok(pid);
        }
        std::fs::create_dir_all(self.dir.join("bmcs"))?;
        let conf = format!(
            "[default]\nconfig_dir = {}\npid_file = {}\nserver_port = {}\n\n[log]\nlogfile = {}\n",
            self.dir.join("bmcs").display(),
            self.pid_file().display(),
            self.control_port,
            self.dir.join("vbmcd.log").display()
        );
        std::fs::write(self.config_file(), conf)?;
        let _ = std::fs::remove_file(self.pid_file());
        let log = std::fs::File::create(self.dir.join("vbmcd.out"))?;
        let mut cmd = Command::new(self.daemon());
        cmd.arg("--foreground")
            .env("VIRTUALBMC_CONFIG", self.config_file())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0);
        let child = cmd.spawn().map_err(|e| {
            anyhow::anyhow!(
                "cannot start {} ({e}); VirtualBMC is a Python package: `pip install virtualbmc` \
                 (with Debian's python3-libvirt), then set vm.vbmc in the site settings",
                self.daemon().display()
            )
        })?;
        let pid = child.id();
        std::thread::spawn(move || {
            let mut child = child;
            let _ = child.wait();
        });
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(30) {
            if self.pid() == Some(pid) && self.list().is_ok() {
                return Ok(pid);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let out = std::fs::read_to_string(self.dir.join("vbmcd.out")).unwrap_or_default();
        let _ = kill_group(pid);
        bail!(
            "vbmcd did not answer on port {} within 30 s: {}",
            self.control_port,
            out.trim()
        )
    }

    /// Names of the BMCs vbmcd knows.
    pub fn list(&self) -> anyhow::Result<Vec<String>> {
        let mut c = self.cli();
        c.args(["list", "-f", "value", "-c", "Domain name", "--no-daemon"]);
        let out = run(c, "virtualbmc (pip)")?;
        Ok(String::from_utf8_lossy(&out)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect())
    }

    /// Adds (when missing) and starts the BMC of a domain.
    pub fn add(&self, bmc: &Bmc) -> anyhow::Result<()> {
        self.ensure_daemon()?;
        if !self.list()?.contains(&bmc.domain) {
            let mut c = self.cli();
            c.args(["add", "--no-daemon", &bmc.domain])
                .args(["--port", &bmc.port.to_string()])
                .args(["--address", &bmc.address])
                .args(["--username", &bmc.user])
                .args(["--password", &bmc.password])
                .args(["--libvirt-uri", &bmc.libvirt_uri]);
            run(c, "virtualbmc (pip)")
                .with_context(|| format!("adding the BMC of {}", bmc.domain))?;
        }
        let mut c = self.cli();
        c.args(["start", "--no-daemon", &bmc.domain]);
        if let Err(e) = run(c, "virtualbmc (pip)")
            && !e.to_string().contains("already running")
        {
            return Err(e.context(format!("starting the BMC of {}", bmc.domain)));
        }
        Ok(())
    }

    /// Stops and deletes a domain's BMC; false when vbmcd (or the BMC) was not there.
    pub fn remove(&self, domain: &str) -> anyhow::Result<bool> {
        if self.pid().is_none() || !self.list()?.iter().any(|d| d == domain) {
            return Ok(false);
        }
        let mut c = self.cli();
        c.args(["stop", "--no-daemon", domain]);
        let _ = run(c, "virtualbmc (pip)");
        let mut c = self.cli();
        c.args(["delete", "--no-daemon", domain]);
        run(c, "virtualbmc (pip)")?;
        Ok(true)
    }

    /// Stops vbmcd and every BMC process it started (its process group).
    pub fn stop(&self) -> anyhow::Result<bool> {
        let Some(pid) = self.pid() else {
            return Ok(false);
        };
        kill_group(pid)?;
        let _ = std::fs::remove_file(self.pid_file());
        Ok(true)
    }
}

/// Whether `pid` runs vbmcd (not a zombie, not a recycled PID).
fn alive(pid: u32) -> bool {
    crate::local_tools::alive(pid, "vbmcd")
}

/// SIGTERM to the process group of `pid`, SIGKILL after 5 s.
fn kill_group(pid: u32) -> anyhow::Result<()> {
    use rustix::process::{Pid, Signal, kill_process_group};
    let Some(p) = Pid::from_raw(pid as i32) else {
        return Ok(());
    };
    let _ = kill_process_group(p, Signal::TERM);
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(5) {
        if !alive(pid) {
            let _ = kill_process_group(p, Signal::KILL);
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = kill_process_group(p, Signal::KILL);
    Ok(())
}
