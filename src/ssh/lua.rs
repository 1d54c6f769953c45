//! Lua bindings of the `core.ssh` family (`core.ssh.run`, `core.ssh.upload`,
//! ...), a host described by one table.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{RemoteCommand, SshHost, UploadOpts, forward_socket, key_pair, run_ssh, upload};
use crate::lua::api::{Api, Effect, FnSpec, Param};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RunOpts {
    host: SshHost,
    command: String,
    /// Raise on a non-zero exit (default true).
    check: Option<bool>,
    /// Seconds.
    timeout: Option<f64>,
    stdin: Option<mlua::BString>,
    #[serde(default)]
    quiet: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LuaUploadOpts {
    host: SshHost,
    from: std::path::PathBuf,
    to: String,
    mode: Option<u32>,
    #[serde(default)]
    sha256: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ForwardOpts {
    host: SshHost,
    remote: std::path::PathBuf,
}

#[derive(Serialize)]
struct ForwardResult {
    path: std::path::PathBuf,
}

#[derive(Serialize)]
struct RunResult {
    status: i32,
    ok: bool,
    stdout: mlua::BString,
    stderr: mlua::BString,
}

const CLASSES: &str = "\
---@class apex.SshHost
---@field address string host name or IP (names resolve through ~/.ssh/config)
---@field port? integer default 22 (or ~/.ssh/config)
---@field user? string login user
---@field key? string private key file; default the agent and default keys
---@field agent_socket? string ssh-agent socket when not $SSH_AUTH_SOCK
---@field known_hosts? string known_hosts file the host key is checked against (default ~/.ssh/known_hosts)
---@field accept_new? boolean record the key of a host not yet known (a changed key is always refused)
---@field connect_timeout? integer seconds, default 30
---@field jump? string[] ProxyJump hosts, e.g. {\"stack@bastion\"}
---@field ssh_config? string ssh config file used instead of ~/.ssh/config
---@field persist? integer seconds the connection stays open after apex exits, for the next run to reuse (default 60; 0 closes it at exit)

---@class apex.RunSshOpts
---@field host apex.SshHost
---@field command string shell command line, run by the login shell
---@field check? boolean raise on a non-zero exit (default true)
---@field timeout? number seconds; the remote command is killed after it
---@field stdin? string bytes fed to the command
---@field quiet? boolean do not log output lines

---@class apex.RunSshResult
---@field status integer exit status
---@field ok boolean status == 0
---@field stdout string
---@field stderr string

---@class apex.UploadOpts
---@field host apex.SshHost
---@field from string local file or directory
---@field to string remote path; a directory upload replaces the directory there
---@field mode? integer permission bits, e.g. 420 for 0644 (default the local ones)
---@field sha256? boolean also compare sha256 sums (size is always compared)

---@class apex.ForwardSocketOpts
---@field host apex.SshHost
---@field remote string absolute path of a unix socket on the host, e.g. \"/var/run/docker.sock\"

---@class apex.ForwardSocketResult
---@field path string the local unix socket that reaches it (for this run)

---@class apex.UploadResult
---@field path string
---@field bytes integer
---@field files integer
---@field sha256? string the verified sum of a single file, when requested
";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnlockOpts {
    host: SshHost,
    path: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LockOpts {
    host: SshHost,
    path: String,
    #[serde(default)]
    holder: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyPairOpts {
    path: std::path::PathBuf,
    comment: Option<String>,
}

pub fn register(api: &mut Api) -> mlua::Result<()> {
    api.class(CLASSES);
    api.async_fn(
        FnSpec {
            name: "ssh.run",
            doc: "Runs a command on a host over SSH (one multiplexed connection per host) and returns its exit status and output; output lines also go to the log.",
            params: &[Param { name: "opts", ty: "apex.RunSshOpts", doc: "" }],
            returns: "apex.RunSshResult",
            is_async: true,
            effect: Effect::Remote,
        },
        |o: RunOpts| async move {
            if o.timeout.is_some_and(|t| !(t > 0.0 && t.is_finite())) {
                anyhow::bail!("timeout must be a positive number of seconds");
            }
            let cmd = RemoteCommand {
                command: o.command,
                check: o.check.unwrap_or(true),
                timeout: o.timeout.map(Duration::from_secs_f64),
                stdin: o.stdin.map(|b| b.to_vec()),
                quiet: o.quiet,
            };
            let out = run_ssh(&o.host, &cmd).await?;
            Ok(RunResult { status: out.status, ok: out.status == 0, stdout: out.stdout.into(), stderr: out.stderr.into() })
        },
    )?;
    api.async_fn(
        FnSpec {
            name: "ssh.upload",
            doc: "Copies a local file or directory to a host, verified by size (and sha256 on request) before it is renamed into place.",
            params: &[Param { name: "opts", ty: "apex.UploadOpts", doc: "" }],
            returns: "apex.UploadResult",
            is_async: true,
            effect: Effect::Remote,
        },
        |o: LuaUploadOpts| async move {
            let opts = UploadOpts { from: o.from, to: o.to, mode: o.mode, sha256: o.sha256 };
            Ok(upload(&o.host, &opts).await?)
        },
    )?;
    api.sync(
        FnSpec {
            name: "ssh.key_pair",
            doc: "The RSA key pair kept at path (PKCS#8 PEM), or a new one made in memory when there is none; writes nothing (store the private key with the run's files).",
            params: &[Param { name: "opts", ty: "{path: string, comment?: string}", doc: "" }],
            returns: "{private: string, public: string, created: boolean}",
            is_async: false,
            effect: Effect::Local,
        },
        |_, o: KeyPairOpts| key_pair(&o.path, o.comment.as_deref().unwrap_or("apex")),
    )?;
    api.async_fn(
        FnSpec {
            name: "ssh.forward_socket",
            doc: "Makes a unix socket of a host (its Docker engine) reachable at a local socket for this run, through the host's SSH connection.",
            params: &[Param { name: "opts", ty: "apex.ForwardSocketOpts", doc: "" }],
            returns: "apex.ForwardSocketResult",
            is_async: true,
            effect: Effect::Remote,
        },
        |o: ForwardOpts| async move { Ok(ForwardResult { path: forward_socket(&o.host, &o.remote).await? }) },
    )?;
    api.async_fn(
        FnSpec {
            name: "ssh.lock",
            doc: "Takes an flock on a file of a host (path relative to the login directory) and holds it until ssh.unlock or the end of the process (a killed apex included: a channel of its connection holds it); `holder` is recorded beside it. Already held by this process: held. Held by another: held = false and who, as recorded.",
            params: &[Param { name: "opts", ty: "{host: apex.SshHost, path: string, holder?: string}", doc: "" }],
            returns: "{held: boolean, holder?: string}",
            is_async: true,
            effect: Effect::Remote,
        },
        |o: LockOpts| async move { Ok(crate::ssh::hold_lock(&o.host, &o.path, &o.holder).await?) },
    )?;
    api.sync(
        FnSpec {
            name: "ssh.unlock",
            doc: "Releases a lock ssh.lock took (nothing when not held).",
            params: &[Param {
                name: "opts",
                ty: "{host: apex.SshHost, path: string}",
                doc: "",
            }],
            returns: "{}",
            is_async: false,
            effect: Effect::Remote,
        },
        |_, o: UnlockOpts| {
            crate::ssh::release_lock(&o.host, &o.path);
            Ok(serde_json::json!({}))
        },
    )?;
    Ok(())
}
