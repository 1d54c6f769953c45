//! A unix socket on a host made reachable here, through the host's master
//! connection (OpenSSH streamlocal forwarding): how the undercloud's Docker
//! engine, which listens on its own `/var/run/docker.sock` only, rebuilds
//! the patched images without being exposed on the network.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use openssh::ForwardType;

use super::error::SshError;
use super::host::SshHost;
use super::{kept, pool};

/// Makes `remote` (a unix socket path on `host`) reachable at the returned
/// local socket path for as long as this process runs. Asking twice for the
/// same socket returns the same path. The forward is cancelled when the
/// connection is released ([`super::close_all`]), so a master kept for the
/// next run carries none.
pub async fn forward_socket(host: &SshHost, remote: &Path) -> Result<PathBuf, SshError> {
    if !remote.is_absolute() {
        return Err(SshError::Config {
            host: host.label(),
            msg: format!(
                "the socket to forward must be an absolute path on the host, not {}",
                remote.display()
            ),
        });
    }
    let conn = pool::connection(host).await?;
    let mut forwards = conn.forwards.lock().await;
    if let Some((local, _)) = forwards.iter().find(|(_, r)| r == remote) {
        return Ok(local.clone());
    }
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let local = kept::forward_path(host, NEXT.fetch_add(1, Ordering::Relaxed))?;
    let _ = std::fs::remove_file(&local);
    conn.session
        .request_port_forward(ForwardType::Local, local.clone(), remote.to_path_buf())
        .await
        .map_err(|e| SshError::Io {
            host: host.label(),
            msg: format!(
                "cannot forward {} to {}: {e}",
                remote.display(),
                local.display()
            ),
        })?;
    tracing::debug!(host = %host.label(), remote = %remote.display(), local = %local.display(), "socket forwarded");
    forwards.push((local.clone(), remote.to_path_buf()));
    Ok(local)
}

/// Cancels the forwards of a connection being released and removes their
/// local sockets.
pub async fn cancel_all(conn: &pool::Connection) {
    for (local, remote) in conn.forwards.lock().await.drain(..) {
        let _ = conn
            .session
            .close_port_forward(ForwardType::Local, local.clone(), remote)
            .await;
        let _ = std::fs::remove_file(&local);
    }
}
