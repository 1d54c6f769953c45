//! One master connection per host, reused by every call (each command is a
//! channel multiplexed over it), checked before use and reopened when it died;
//! taken over from an earlier run when that one kept it (see `kept`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};

use tokio::sync::Semaphore;

use super::error::SshError;
use super::host::{SshHost, connect};
use super::kept;

/// Channels in flight per connection; sshd's default `MaxSessions` is 10.
pub const MAX_CHANNELS: usize = 8;

/// A live master connection and its channel budget.
#[derive(Debug)]
pub struct Connection {
    pub session: openssh::Session,
    pub channels: Semaphore,
    /// Sockets forwarded over it: (local path, remote path).
    pub forwards: tokio::sync::Mutex<Vec<(PathBuf, PathBuf)>>,
}

type Slot = Arc<tokio::sync::Mutex<Option<Arc<Connection>>>>;

static POOL: LazyLock<Mutex<HashMap<SshHost, Slot>>> = LazyLock::new(Default::default);

/// The connection to `host`, opened on first use or when the last one died.
pub async fn connection(host: &SshHost) -> Result<Arc<Connection>, SshError> {
    let slot = POOL
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(host.clone())
        .or_default()
        .clone();
    let mut current = slot.lock().await;
    if let Some(conn) = current.as_ref() {
        if conn.session.check().await.is_ok() {
            return Ok(conn.clone());
        }
        tracing::info!(host = %host.label(), "ssh connection was closed; reconnecting");
    }
    let session = match kept::resume(host).await {
        Some(s) => s,
        None => connect(host).await?,
    };
    let conn = Arc::new(Connection {
        session,
        channels: Semaphore::new(MAX_CHANNELS),
        forwards: Default::default(),
    });
    *current = Some(conn.clone());
    Ok(conn)
}

/// Whether the connection to `host` is still up (after a failed command).
pub async fn is_alive(conn: &Connection) -> bool {
    conn.session.check().await.is_ok()
}

/// Ends the run's use of every pooled connection: each is kept open for the
/// next run (its host's `persist`) or closed.
pub async fn close_all() {
    let slots: Vec<(SshHost, Slot)> = POOL
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .drain()
        .collect();
    for (host, slot) in slots {
        if let Some(conn) = slot.lock().await.take() {
            // Forwards end with the run even while a straggler still holds the connection.
            super::forward::cancel_all(&conn).await;
            if let Ok(conn) = Arc::try_unwrap(conn) {
                kept::keep_or_close(&host, conn.session).await;
            }
        }
    }
}
