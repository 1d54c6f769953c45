//! A lock on a host held for as long as this process wants it: two deploys
//! from different tmp dirs against one undercloud would otherwise upload
//! their files and run image, flavor and subnet commands inside each
//! other's deploy.
//!
//! The lock is an `flock` on a file in the login directory, taken by a
//! remote shell that then waits on its stdin (a channel of the pooled
//! connection that apex keeps open and never writes). The kernel drops the
//! lock when that shell ends: when apex releases it, exits, is killed, or
//! the connection is lost, so no stale lock outlives its holder. Beside the
//! lock file, `<path>.info` names the holder for the error a second run gets.

use std::collections::HashMap;
use std::sync::Mutex;

use openssh::Stdio;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::sync::oneshot;

use super::error::SshError;
use super::host::SshHost;
use super::pool;

/// Exit status of the remote shell when another process holds the lock.
const BUSY: i32 = 75;

/// The locks this process holds: sending on (or dropping) the sender
/// releases one; the task ends once the remote shell did.
type Held = HashMap<(SshHost, String), (oneshot::Sender<()>, tokio::task::JoinHandle<()>)>;

fn held() -> &'static Mutex<Held> {
    static HELD: std::sync::OnceLock<Mutex<Held>> = std::sync::OnceLock::new();
    HELD.get_or_init(|| Mutex::new(HashMap::new()))
}

/// What [`hold`] found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct LockState {
    /// True: this process holds the lock now (taken, or held already).
    pub held: bool,
    /// When not held: who does, as its `.info` file says.
    pub holder: Option<String>,
}

fn q(s: &str) -> String {
    shell_escape::unix::escape(s.into()).into_owned()
}

/// Takes the lock `path` (relative to the login directory, or absolute) on
/// `host` and keeps it until [`release`] or the end of the process;
/// `holder` is recorded beside it for whoever finds it taken. Holding it
/// already is a success; another holder is `held: false` with its record.
pub async fn hold(host: &SshHost, path: &str, holder: &str) -> Result<LockState, SshError> {
    let key = (host.clone(), path.to_string());
    if held()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains_key(&key)
    {
        return Ok(LockState {
            held: true,
            holder: None,
        });
    }
    let conn = pool::connection(host).await?;
    let who = format!(
        "apex pid {} on {}{}, since {}",
        std::process::id(),
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .unwrap_or_default()
            .trim(),
        if holder.is_empty() {
            String::new()
        } else {
            format!(", {holder}")
        },
        httpdate::fmt_http_date(std::time::SystemTime::now())
    );
    let (p, info) = (q(path), q(&format!("{path}.info")));
    let line = format!(
        "mkdir -p -- \"$(dirname -- {p})\" && exec 9>>{p} || exit 1; if flock -n 9; then printf '%s\\n' {h} > {info}; echo held; exec cat >/dev/null; \
         else printf 'busy %s\\n' \"$(head -c 1000 {info} 2>/dev/null)\"; exit {BUSY}; fi",
        h = q(&who)
    );
    let label = host.label();
    let (ready_tx, ready_rx) = oneshot::channel::<Result<LockState, SshError>>();
    let (release_tx, release_rx) = oneshot::channel::<()>();
    let task_label = label.clone();
    let task = tokio::spawn(async move {
        let io = |msg: String| SshError::Io {
            host: task_label.clone(),
            msg,
        };
        let child = conn
            .session
            .raw_command(&line)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .await;
        let mut child = match child {
            Ok(c) => c,
            Err(e) => {
                let _ = ready_tx.send(Err(io(format!("cannot open a channel: {e}"))));
                return;
            }
        };
        let stdin = child.stdin().take();
        let Some(stdout) = child.stdout().take() else {
            let _ = ready_tx.send(Err(io("no output pipe".into())));
            return;
        };
        let mut first = String::new();
        let mut reader = BufReader::new(stdout);
        let _ = reader.read_line(&mut first).await;
        if first.trim() == "held" {
            let _ = ready_tx.send(Ok(LockState {
                held: true,
                holder: None,
            }));
            // Held until released (or the sender dropped, or the runtime ends).
            let _ = release_rx.await;
            drop(stdin);
            let _ = child.wait().await;
            return;
        }
        drop(stdin);
        let status = child.wait().await.ok().and_then(|s| s.code());
        let out = match (status, first.trim().strip_prefix("busy")) {
            (Some(BUSY), Some(who)) => Ok(LockState {
                held: false,
                holder: Some(match who.trim() {
                    "" => "another process (no record of it)".to_string(),
                    w => w.to_string(),
                }),
            }),
            _ => Err(io(format!(
                "cannot take the lock {path_shown}: the remote shell exited with {status:?} (flock missing, or the file not writable?)",
                path_shown = line_path(&line)
            ))),
        };
        let _ = ready_tx.send(out);
    });
    let state = ready_rx.await.map_err(|_| SshError::Io {
        host: label.clone(),
        msg: "the lock's channel ended early".into(),
    })??;
    if state.held {
        tracing::debug!(host = %label, path, "holding the lock");
        held()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, (release_tx, task));
    }
    Ok(state)
}

/// The lock file named in a remote line (for the error message only).
fn line_path(line: &str) -> &str {
    line.split_once("exec 9>>")
        .and_then(|(_, r)| r.split(" ||").next())
        .unwrap_or(line)
}

/// Releases a lock [`hold`] took (nothing when not held).
pub fn release(host: &SshHost, path: &str) {
    let sender = held()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&(host.clone(), path.to_string()));
    if let Some((s, _task)) = sender {
        let _ = s.send(());
    }
}

/// Releases every lock held and waits (5 s at most) for their channels to
/// end, so the pooled connections they used can be closed or kept.
pub async fn release_all() {
    let all: Vec<_> = held()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .drain()
        .map(|(_, v)| v)
        .collect();
    for (s, task) in all {
        let _ = s.send(());
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), task).await;
    }
}
