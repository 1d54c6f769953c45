//! Lua bindings of the `core.ssh` family (`core.ssh.run`, `core.ssh.upload`,
//! ...), a host described by one table.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{RemoteCommand, SshHost, UploadOpts, forward_socket, key_pair, run_ssh, upload};
use crate::lua::api::{Api, Effect, FnSpec};

/// A command to run on a host.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "apex.RunSshOpts")]
struct RunOpts {
    host: SshHost,
    /// Shell command line, run by the login shell.
    command: String,
    /// Raise on a non-zero exit (default true).
    check: Option<bool>,
    /// Seconds; the remote command is killed after it.
    timeout: Option<f64>,
    /// Bytes fed to the command.
    #[schemars(with = "Option<String>")]
    stdin: Option<mlua::BString>,
    /// Do not log output lines.
    #[serde(default)]
    quiet: bool,
}

/// What to upload where, on which host.
// The fields of `UploadOpts` (the Rust API's), and the host.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "apex.UploadOpts")]
struct LuaUploadOpts {
    host: SshHost,
    /// Local file or directory.
    from: std::path::PathBuf,
    /// Remote path (absolute, or relative to the login directory); a
    /// directory upload replaces the directory there.
    to: String,
    /// Permission bits, e.g. 420 for 0644 (default the local ones).
    mode: Option<u32>,
    /// Also compare sha256 sums (size is always compared).
    #[serde(default)]
    sha256: bool,
}

/// A unix socket of a host to reach from here.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "apex.ForwardSocketOpts")]
struct ForwardOpts {
    host: SshHost,
    /// Absolute path of a unix socket on the host, e.g. "/var/run/docker.sock".
    remote: std::path::PathBuf,
}

#[derive(Serialize, JsonSchema)]
#[schemars(rename = "apex.ForwardSocketResult")]
struct ForwardResult {
    /// The local unix socket that reaches it (for this run).
    path: std::path::PathBuf,
}

#[derive(Serialize, JsonSchema)]
#[schemars(rename = "apex.RunSshResult")]
struct RunResult {
    /// Exit status.
    status: i32,
    /// status == 0
    ok: bool,
    #[schemars(with = "String")]
    stdout: mlua::BString,
    #[schemars(with = "String")]
    stderr: mlua::BString,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
#[serde(deny_unknown_fields)]
struct UnlockOpts {
    host: SshHost,
    path: String,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
#[serde(deny_unknown_fields)]
struct LockOpts {
    host: SshHost,
    path: String,
    #[serde(default)]
    holder: String,
}

/// Nothing to report.
#[derive(Serialize, schemars::JsonSchema)]
#[schemars(inline)]
struct Unlocked {}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
#[serde(deny_unknown_fields)]
struct KeyPairOpts {
    path: std::path::PathBuf,
    comment: Option<String>,
}

pub fn register(api: &mut Api) -> mlua::Result<()> {
    api.class::<RunOpts>();
    api.class::<RunResult>();
    api.class::<LuaUploadOpts>();
    api.class::<super::UploadReport>();
    api.class::<ForwardOpts>();
    api.class::<ForwardResult>();
    api.async_fn(
        FnSpec {
            name: "ssh.run",
            doc: "Runs a command on a host over SSH (one multiplexed connection per host) and returns its exit status and output; output lines also go to the log.",
            is_async: true,
            effect: Effect::Remote,
            ..FnSpec::TYPED
        },
        |o: RunOpts| async move {
            if o.timeout.is_some_and(|t| !(t > 0.0 && t <= 7.0 * 86400.0)) {
                anyhow::bail!("timeout must be a positive number of seconds, at most a week");
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
            is_async: true,
            effect: Effect::Remote,
            ..FnSpec::TYPED
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
            is_async: false,
            effect: Effect::Local,
            ..FnSpec::TYPED
        },
        |_, o: KeyPairOpts| key_pair(&o.path, o.comment.as_deref().unwrap_or("apex")),
    )?;
    api.async_fn(
        FnSpec {
            name: "ssh.forward_socket",
            doc: "Makes a unix socket of a host (its Docker engine) reachable at a local socket for this run, through the host's SSH connection.",
            is_async: true,
            effect: Effect::Remote,
            ..FnSpec::TYPED
        },
        |o: ForwardOpts| async move { Ok(ForwardResult { path: forward_socket(&o.host, &o.remote).await? }) },
    )?;
    api.async_fn(
        FnSpec {
            name: "ssh.lock",
            doc: "Takes an flock on a file of a host (path relative to the login directory) and holds it until ssh.unlock or the end of the process (a killed apex included: a channel of its connection holds it); `holder` is recorded beside it. Already held by this process: held. Held by another: held = false and who, as recorded.",
            is_async: true,
            effect: Effect::Remote,
            ..FnSpec::TYPED
        },
        |o: LockOpts| async move { Ok(crate::ssh::hold_lock(&o.host, &o.path, &o.holder).await?) },
    )?;
    api.sync(
        FnSpec {
            name: "ssh.unlock",
            doc: "Releases a lock ssh.lock took (nothing when not held).",
            is_async: false,
            effect: Effect::Remote,
            ..FnSpec::TYPED
        },
        |_, o: UnlockOpts| {
            crate::ssh::release_lock(&o.host, &o.path);
            Ok(Unlocked {})
        },
    )?;
    Ok(())
}
