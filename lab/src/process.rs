//! Lab services that outlive the process starting them (`apex lab up` exits,
//! a test binary ends, the next one reuses them): spawned in their own
//! process group, known by PID, checked alive through /proc, stopped by
//! signal. Also the directory a lab part lives in: a temp dir removed on drop
//! (one test's part) or a kept dir under the lab's `--dir`.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use rustix::process::{Pid, Signal, kill_process};

/// Where a lab part keeps its files.
pub enum PartDir {
    /// Removed with the part (a single test's registry or sshd).
    Temp(tempfile::TempDir),
    /// Kept across runs (the lab of `apex lab up` / `Lab::up`).
    Kept(PathBuf),
}

impl PartDir {
    pub fn path(&self) -> &Path {
        match self {
            Self::Temp(t) => t.path(),
            Self::Kept(p) => p,
        }
    }
}

/// Starts `cmd` in its own process group with output to `log`, without
/// keeping a handle: it runs until [`terminate`]d. Returns its PID.
pub fn spawn_detached(mut cmd: Command, log: &Path) -> anyhow::Result<u32> {
    let out = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let program = cmd.get_program().to_string_lossy().into_owned();
    let child = cmd
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting {program}"))?;
    let pid = child.id();
    // Reap it when it ends while we still run, so it never lingers as a zombie.
    std::thread::spawn(move || {
        let mut child = child;
        let _ = child.wait();
    });
    Ok(pid)
}

pub use apex::local_tools::alive;

/// The PID written in `pidfile`, if it holds one.
pub fn read_pidfile(pidfile: &Path) -> Option<u32> {
    std::fs::read_to_string(pidfile).ok()?.trim().parse().ok()
}

/// Stops `pid` if it still is the process marked by `marker`: SIGTERM, then
/// SIGKILL after 5 s. Returns whether it was running.
pub fn terminate(pid: u32, marker: &str) -> bool {
    terminate_within(pid, marker, Duration::from_secs(5))
}

/// [`terminate`] with `grace` between SIGTERM and SIGKILL.
pub fn terminate_within(pid: u32, marker: &str, grace: Duration) -> bool {
    if !alive(pid, marker) {
        return false;
    }
    let Some(p) = Pid::from_raw(pid as i32) else {
        return false;
    };
    let _ = kill_process(p, Signal::TERM);
    let deadline = Instant::now() + grace;
    while alive(pid, marker) {
        if Instant::now() > deadline {
            let _ = kill_process(p, Signal::KILL);
            std::thread::sleep(Duration::from_millis(100));
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

/// Direct children of `pid`, from /proc.
pub fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| {
            let child: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).ok()?;
            // Fields after the command name (which may hold spaces) in parentheses.
            let rest = &stat[stat.rfind(')')? + 2..];
            let ppid: u32 = rest.split(' ').nth(1)?.parse().ok()?;
            (ppid == pid).then_some(child)
        })
        .collect()
}

/// [`terminate`], after killing the process's direct children: sshd's
/// per-connection processes start sessions of their own and outlive their
/// listener (a kept SSH master would hold one open for its persist time).
pub fn terminate_with_children(pid: u32, marker: &str) -> bool {
    if !alive(pid, marker) {
        return false;
    }
    for child in children_of(pid) {
        if let Some(p) = Pid::from_raw(child as i32) {
            let _ = kill_process(p, Signal::KILL);
        }
    }
    terminate(pid, marker)
}
