//! Helpers of the host tests (ssh, loop devices, image editing): the lab's
//! sshd, a host description for it, shell and Lua runners.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use apex::lua::{Host, HostConfig};
use apex::ssh::SshHost;
use apex_lab::sshd::Sshd;

pub fn sshd() -> Sshd {
    Sshd::start().expect("lab sshd must start (needs openssh-server: tests/lab/install.sh)")
}

pub fn host_of(s: &Sshd) -> SshHost {
    SshHost {
        port: Some(s.port()),
        user: Some(s.user().to_string()),
        key: Some(s.user_key()),
        known_hosts: Some(s.known_hosts()),
        ..SshHost::new(s.address())
    }
}

pub fn require_tool(name: &str, package: &str) {
    assert!(
        apex::local_tools::which(name).is_some(),
        "lab tool {name} is missing: install Debian package {package} (tests/lab/install.sh)"
    );
}

pub fn sh(cmd: &str) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .expect("sh runs");
    assert!(
        out.status.success(),
        "`{cmd}` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Lua host with the apex API; `plan` for plan mode.
pub fn lua_host(plan: bool) -> Host {
    Host::new(HostConfig {
        plan,
        ..Default::default()
    })
    .expect("Lua host")
}

pub async fn run_lua(host: &Host, chunk: &str) -> anyhow::Result<()> {
    let f = host
        .lua()
        .load(chunk)
        .set_name("@hosts_test.lua")
        .into_function()?;
    host.call(&f, ()).await.map(drop)
}

/// A Lua table literal describing the lab host.
pub fn lua_host_table(s: &Sshd) -> String {
    format!(
        "{{address = {:?}, port = {}, user = {:?}, key = {:?}, known_hosts = {:?}}}",
        s.address(),
        s.port(),
        s.user(),
        s.user_key().display().to_string(),
        s.known_hosts().display().to_string()
    )
}

/// The apex binary with its own TMPDIR (its ssh control dir goes there).
pub fn apex_with_tmp(tmp: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_apex"));
    cmd.env("TMPDIR", tmp).env_remove("XDG_RUNTIME_DIR");
    cmd
}

/// Runs `apex --log-file <tmp>/apex.log run <script>` (its own TMPDIR),
/// fails with stderr unless it succeeds, and returns the log file's text.
pub fn apex_run_logged(tmp: &Path, script: &Path) -> String {
    std::fs::create_dir_all(tmp).unwrap();
    let log_file = tmp.join("apex.log");
    apex_run(tmp, &["--log-file".as_ref(), log_file.as_os_str()], script);
    std::fs::read_to_string(&log_file).unwrap()
}

/// Runs `apex ARGS run <script>` (its own TMPDIR) and fails with stderr
/// unless it succeeds.
pub fn apex_run(tmp: &Path, args: &[&std::ffi::OsStr], script: &Path) -> std::process::Output {
    let out = apex_with_tmp(tmp)
        .args(args)
        .arg("run")
        .arg(script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "apex run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
