//! How every run of a flow starts and ends, whatever the command: a
//! current-thread runtime drives the Lua entry point, SIGINT or SIGTERM stops
//! it, and the pooled SSH connections are closed at the end so none lingers
//! after apex exits. Commands only parse their arguments and call [`drive`].

/// A run stopped by SIGINT (Ctrl-C) or SIGTERM.
#[derive(Debug, thiserror::Error)]
#[error("interrupted by {0}")]
pub struct Interrupted(pub &'static str);

impl Interrupted {
    /// The shell's exit code for a process ended by this signal.
    pub fn exit_code(&self) -> std::process::ExitCode {
        std::process::ExitCode::from(if self.0 == "SIGINT" { 130 } else { 143 })
    }
}

/// Drives a Lua entry point to completion on a current-thread runtime, then
/// closes pooled SSH connections. SIGINT or SIGTERM stops it: the work in
/// flight is dropped (each remote command is tied to its channel and stops
/// with it; local blocking work such as an image customization finishes its
/// clean-up before the runtime ends) and the error is [`Interrupted`].
pub fn drive<T>(fut: impl std::future::Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    use tokio::signal::unix::{SignalKind, signal};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let mut int = signal(SignalKind::interrupt())?;
        let mut term = signal(SignalKind::terminate())?;
        let out = tokio::select! {
            out = fut => out,
            _ = int.recv() => {
                crate::interrupt::request("SIGINT");
                Err(Interrupted("SIGINT").into())
            }
            _ = term.recv() => {
                crate::interrupt::request("SIGTERM");
                Err(Interrupted("SIGTERM").into())
            }
        };
        if let Some(i) = out
            .as_ref()
            .err()
            .and_then(|e| e.downcast_ref::<Interrupted>())
        {
            tracing::warn!(
                "{i}: stopping (remote commands of this run are stopped with their channels)"
            );
        }
        // A cancelled copy runs the clean-up of a failed one: its upload
        // sessions are deleted (a short deadline), as are partial uploads.
        crate::registry::abandon_open_uploads(std::time::Duration::from_secs(5)).await;
        crate::ssh::close_all().await;
        out
    })
}
