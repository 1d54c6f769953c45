//! How a host is described, and how a connection to it is opened: the system
//! `ssh` as a ControlMaster, with host keys always checked.

use std::path::PathBuf;
use std::time::Duration;

use openssh::{ControlPersist, KnownHosts, Session, SessionBuilder};
use serde::Deserialize;

use super::error::SshError;

/// One host, as a flow describes it (one Lua table).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "apex.SshHost")]
pub struct SshHost {
    /// Name or IP (names resolve through `~/.ssh/config` like with `ssh`).
    pub address: String,
    /// Default 22 (or `~/.ssh/config`'s).
    pub port: Option<u16>,
    /// The login user.
    pub user: Option<String>,
    /// Private key file; without it the agent and the default keys are used.
    pub key: Option<PathBuf>,
    /// The agent's socket when not `$SSH_AUTH_SOCK`.
    pub agent_socket: Option<PathBuf>,
    /// known_hosts file to verify the host key against (default `~/.ssh/known_hosts`).
    pub known_hosts: Option<PathBuf>,
    /// Record the key of a host not yet in known_hosts (first contact). A
    /// changed key is refused regardless.
    #[serde(default)]
    pub accept_new: bool,
    /// Seconds to wait for the TCP connection and handshake (default 30).
    pub connect_timeout: Option<u64>,
    /// Jump hosts (`ProxyJump`), e.g. `{"stack@jumphost"}`.
    #[serde(default)]
    pub jump: Vec<String>,
    /// An ssh config file used instead of `~/.ssh/config`.
    pub ssh_config: Option<PathBuf>,
    /// Seconds the master connection stays open after apex exits, for the
    /// next run to reuse (OpenSSH's ControlPersist; default 60, 0 closes it
    /// when the run ends).
    pub persist: Option<u64>,
}

impl SshHost {
    /// A host at `address` with everything else default.
    pub fn new(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            port: None,
            user: None,
            key: None,
            agent_socket: None,
            known_hosts: None,
            accept_new: false,
            connect_timeout: None,
            jump: Vec::new(),
            ssh_config: None,
            persist: None,
        }
    }

    /// How long the master outlives the run (see `persist`).
    pub fn persist(&self) -> Duration {
        Duration::from_secs(self.persist.unwrap_or(DEFAULT_PERSIST_SECS))
    }

    /// Names the master connection these settings open: every setting that
    /// changes who is reached, as whom and how the key is checked (not the
    /// timeouts). A later run reuses a kept master only with the same name.
    pub fn connection_id(&self) -> String {
        use sha2::Digest as _;
        let who = format!(
            "{:?}",
            (
                &self.address,
                self.port,
                &self.user,
                &self.key,
                &self.agent_socket,
                &self.known_hosts,
                self.accept_new,
                &self.jump,
                &self.ssh_config
            )
        );
        hex::encode(&sha2::Sha256::digest(who.as_bytes())[..12])
    }

    /// `user@address:port` for logs and errors.
    pub fn label(&self) -> String {
        let user = self
            .user
            .as_deref()
            .map(|u| format!("{u}@"))
            .unwrap_or_default();
        let port = self.port.map(|p| format!(":{p}")).unwrap_or_default();
        format!("{user}{}{port}", self.address)
    }

    /// Refuses a value ssh would read as an option (`-oProxyCommand=...` as
    /// the address runs a command) or split at a blank: the address, the user
    /// and each jump host reach ssh's command line.
    pub fn check_args(&self) -> Result<(), SshError> {
        let fields = [
            ("address", Some(self.address.as_str())),
            ("user", self.user.as_deref()),
        ];
        let jumps = self.jump.iter().map(|j| ("jump", Some(j.as_str())));
        for (name, value) in fields.into_iter().chain(jumps) {
            let Some(v) = value else { continue };
            if v.is_empty()
                || v.starts_with('-')
                || v.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(SshError::Config {
                    host: self.label(),
                    msg: format!(
                        "{name} {v:?} is not a host or user name (empty, starts with '-', or holds blanks)"
                    ),
                });
            }
        }
        Ok(())
    }

    fn known_hosts_label(&self) -> String {
        self.known_hosts.as_ref().map_or_else(
            || "~/.ssh/known_hosts".to_string(),
            |p| p.display().to_string(),
        )
    }
}

/// Default of [`SshHost::persist`]: a minute, as Ansible keeps its masters.
const DEFAULT_PERSIST_SECS: u64 = 60;

/// How long an idle master outlives its last command when it is not kept
/// for a later run (a crashed apex leaves nothing for longer).
const IDLE_SECS_UNKEPT: u64 = 120;

/// Seconds the master waits, idle, before it exits by itself.
fn idle_secs(host: &SshHost) -> usize {
    let kept = host.persist().as_secs();
    (if kept == 0 { IDLE_SECS_UNKEPT } else { kept }) as usize
}

/// Opens the master connection. Verification is never off: `yes` or
/// `accept-new` (which still refuses a changed key).
pub async fn connect(host: &SshHost) -> Result<Session, SshError> {
    host.check_args()?;
    let mut b = SessionBuilder::default();
    b.known_hosts_check(if host.accept_new {
        KnownHosts::Add
    } else {
        KnownHosts::Strict
    })
    .connect_timeout(Duration::from_secs(host.connect_timeout.unwrap_or(30)))
    .server_alive_interval(Duration::from_secs(15))
    .control_directory(super::kept::control_dir()?)
    .control_persist(ControlPersist::IdleFor(
        idle_secs(host).try_into().expect("non-zero"),
    ));
    if let Some(p) = host.port {
        b.port(p);
    }
    if let Some(u) = &host.user {
        b.user(u.clone());
    }
    if let Some(k) = &host.key {
        if !k.is_file() {
            return Err(SshError::Config {
                host: host.label(),
                msg: format!("key file {} does not exist", k.display()),
            });
        }
        b.keyfile(k);
    }
    if let Some(s) = &host.agent_socket {
        b.ssh_auth_sock(s);
    }
    if let Some(k) = &host.known_hosts {
        if let Some(dir) = k.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(dir);
        }
        b.user_known_hosts_file(k);
    }
    if let Some(c) = &host.ssh_config {
        b.config_file(c);
    }
    if !host.jump.is_empty() {
        b.jump_hosts(&host.jump);
    }
    tracing::debug!(host = %host.label(), "opening ssh master connection");
    b.connect(&host.address)
        .await
        .map_err(|e| interpret_connect_error(host, e))
}

/// Turns ssh's own words into an error that says what to do.
fn interpret_connect_error(host: &SshHost, e: openssh::Error) -> SshError {
    let text = match &e {
        openssh::Error::Connect(io) | openssh::Error::Master(io) => io.to_string(),
        other => format!(
            "{other}: {}",
            std::error::Error::source(other)
                .map(|s| s.to_string())
                .unwrap_or_default()
        ),
    };
    let label = host.label();
    let known_hosts = host.known_hosts_label();
    if text.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
        || (text.contains("Host key for") && text.contains("has changed"))
    {
        let offending = text
            .lines()
            .find_map(|l| {
                l.split_once("Offending ")
                    .map(|(_, r)| r.trim().to_string())
            })
            .unwrap_or_default();
        return SshError::HostKeyChanged {
            host: label,
            known_hosts,
            detail: offending,
        };
    }
    if text.contains("Host key verification failed") || text.contains("host key is known") {
        return SshError::HostKeyUnknown {
            host: label,
            known_hosts,
        };
    }
    if text.contains("Permission denied") {
        let with = host
            .key
            .as_ref()
            .map_or("the agent or default keys".to_string(), |k| {
                format!("key {}", k.display())
            });
        return SshError::AuthFailed { host: label, with };
    }
    SshError::Connect {
        host: label,
        msg: text.trim().to_string(),
    }
}
