//! Master connections kept open after a run (OpenSSH's ControlPersist, as
//! Ansible uses it), so the next apex run on the same host skips the TCP
//! connect, key exchange and authentication. A kept master is found again
//! through a record file named by [`SshHost::connection_id`]; it exits by
//! itself after `persist` idle seconds.
//!
//! Sockets and records live in a directory only this user can enter: who
//! can open a master's socket can run commands on its host.

use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use openssh::Session;

use super::error::SshError;
use super::host::SshHost;

/// Prefix the openssh crate gives each master's directory.
const MASTER_DIR_PREFIX: &str = ".ssh-connection";

/// A master directory without a socket this old is left over (its master
/// exited); younger ones may belong to a master still starting.
const STALE_AFTER: Duration = Duration::from_secs(600);

/// `$XDG_RUNTIME_DIR/apex-ssh`, else `$TMPDIR/apex-ssh-<uid>`: owned by this
/// user (refused otherwise), made mode 0700, tidied once per process.
pub fn control_dir() -> Result<&'static Path, SshError> {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    if let Some(d) = DIR.get() {
        return Ok(d);
    }
    let uid = rustix::process::getuid().as_raw();
    let dir = match std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|d| d.is_dir())
    {
        Some(runtime) => runtime.join("apex-ssh"),
        None => std::env::temp_dir().join(format!("apex-ssh-{uid}")),
    };
    let fail = |msg: String| SshError::Config {
        host: "-".into(),
        msg,
    };
    if let Err(e) = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        && e.kind() != std::io::ErrorKind::AlreadyExists
    {
        return Err(fail(format!(
            "cannot create the ssh control directory {}: {e}",
            dir.display()
        )));
    }
    let meta = std::fs::symlink_metadata(&dir).map_err(|e| {
        fail(format!(
            "cannot read the ssh control directory {}: {e}",
            dir.display()
        ))
    })?;
    if !meta.is_dir() || meta.uid() != uid {
        return Err(fail(format!(
            "the ssh control directory {} must be a directory owned by uid {uid} (it is owned by uid {}); \
             remove it and run again",
            dir.display(),
            meta.uid(),
        )));
    }
    if meta.mode() & 0o077 != 0 {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).map_err(|e| {
            fail(format!(
                "cannot make the ssh control directory {} private: {e}",
                dir.display()
            ))
        })?;
    }
    tidy(&dir);
    Ok(DIR.get_or_init(|| dir))
}

/// Removes records whose master is gone, master directories left behind,
/// forward sockets of dead processes, and the per-process directories of
/// apex versions that kept no master.
fn tidy(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".master") {
            if read_record(&path).is_none_or(|(ctl, _)| !ctl.exists()) {
                let _ = std::fs::remove_file(&path);
            }
        } else if name.starts_with(MASTER_DIR_PREFIX) {
            let old = e.metadata().and_then(|m| m.modified()).is_ok_and(|t| {
                SystemTime::now().duration_since(t).unwrap_or_default() > STALE_AFTER
            });
            if old && !path.join("master").exists() {
                let _ = std::fs::remove_dir_all(&path);
            }
        } else if name.parse::<u32>().is_ok_and(|pid| !alive(pid)) {
            let _ = std::fs::remove_dir_all(&path);
        } else if let Some(pid) = forward_owner(&name)
            && !alive(pid)
        {
            // The local end of a forward whose apex died before cancelling it.
            let _ = std::fs::remove_file(&path);
        }
    }
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// The process that made a forward socket `fwd-<id>-<pid>-<n>.sock`.
fn forward_owner(name: &str) -> Option<u32> {
    let rest = name.strip_prefix("fwd-")?.strip_suffix(".sock")?;
    rest.split('-').nth(1)?.parse().ok()
}

/// The local path of the `n`th forward of this process over `host`'s master.
pub fn forward_path(host: &SshHost, n: usize) -> Result<PathBuf, SshError> {
    Ok(control_dir()?.join(format!(
        "fwd-{}-{}-{n}.sock",
        &host.connection_id()[..8],
        std::process::id()
    )))
}

fn record_path(host: &SshHost) -> Result<PathBuf, SshError> {
    Ok(control_dir()?.join(format!("{}.master", host.connection_id())))
}

/// (control socket, master log) of a record.
fn read_record(path: &Path) -> Option<(PathBuf, Option<PathBuf>)> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    let ctl = PathBuf::from(lines.next().filter(|l| !l.is_empty())?);
    Some((
        ctl,
        lines.next().filter(|l| !l.is_empty()).map(PathBuf::from),
    ))
}

/// The known_hosts lines that vouch for `host` now (its key as the user's
/// and the system's known_hosts record it; hashed names included), hashed.
/// A kept master was opened under these: when they change (a key removed,
/// replaced or revoked) it is not reused, and the new connection checks the
/// key again.
fn host_keys(host: &SshHost) -> String {
    use sha2::Digest as _;
    let name = match host.port {
        Some(p) if p != 22 => format!("[{}]:{p}", host.address),
        _ => host.address.clone(),
    };
    let user_file = host
        .known_hosts
        .clone()
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".ssh/known_hosts")));
    let mut digest = sha2::Sha256::new();
    for file in user_file
        .into_iter()
        .chain([PathBuf::from("/etc/ssh/ssh_known_hosts")])
    {
        let found = std::process::Command::new("ssh-keygen")
            .args(["-F", &name, "-f"])
            .arg(&file)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output();
        match found {
            Ok(out) => {
                for line in String::from_utf8_lossy(&out.stdout).lines() {
                    if !line.starts_with('#') {
                        digest.update(line.as_bytes());
                        digest.update(b"\n");
                    }
                }
            }
            // Without ssh-keygen, the whole file stands for the host's lines.
            Err(_) => digest.update(std::fs::read(&file).unwrap_or_default()),
        }
    }
    hex::encode(digest.finalize())
}

/// The master an earlier run kept for `host`, when it still answers.
pub async fn resume(host: &SshHost) -> Option<Session> {
    if host.persist().is_zero() {
        return None;
    }
    let record = record_path(host).ok()?;
    let (ctl, log) = read_record(&record)?;
    let kept_keys = std::fs::read_to_string(&record)
        .ok()
        .and_then(|t| t.lines().nth(2).map(str::to_string));
    let session = Session::resume(ctl.into_boxed_path(), log.map(PathBuf::into_boxed_path));
    let keys = {
        let host = host.clone();
        tokio::task::spawn_blocking(move || host_keys(&host))
            .await
            .unwrap_or_default()
    };
    if kept_keys.as_deref() != Some(keys.as_str()) {
        tracing::info!(host = %host.label(), "known_hosts changed since the kept ssh connection was opened; connecting anew");
        let _ = session.close().await;
        let _ = std::fs::remove_file(&record);
        return None;
    }
    if session.check().await.is_ok() {
        tracing::debug!(host = %host.label(), "reusing the ssh connection kept by an earlier run");
        Some(session)
    } else {
        let _ = std::fs::remove_file(&record);
        None
    }
}

/// Leaves the master of `session` running for the next run (it exits after
/// `persist` idle seconds) and records where it is; with `persist` 0 it is closed.
pub async fn keep_or_close(host: &SshHost, session: Session) {
    if host.persist().is_zero() {
        let _ = session.close().await;
        return;
    }
    let Ok(record) = record_path(host) else {
        return;
    };
    let keys = {
        let host = host.clone();
        tokio::task::spawn_blocking(move || host_keys(&host))
            .await
            .unwrap_or_default()
    };
    let (ctl, log) = session.detach();
    let text = format!(
        "{}\n{}\n{keys}\n",
        ctl.display(),
        log.as_deref()
            .map(|l| l.display().to_string())
            .unwrap_or_default()
    );
    if let Err(e) = crate::fsutil::write_atomic(&record, text.as_bytes(), None) {
        tracing::debug!(host = %host.label(), "the kept ssh connection is not recorded: {e:#}");
    }
    tracing::debug!(host = %host.label(), secs = host.persist().as_secs(), "ssh connection kept open for the next run");
}
