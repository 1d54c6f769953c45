//! A stop asked for by SIGINT or SIGTERM, for blocking work the async side
//! cannot drop: an image customization runs on a thread of its own, and
//! dropping the future that waits for it does not stop it. Such work asks
//! [`requested`] between its steps (no later operation starts) and while it
//! waits for a command (which is then stopped: TERM, then KILL).

use std::sync::atomic::{AtomicU8, Ordering};

static STOP: AtomicU8 = AtomicU8::new(0);

/// Records that the run is to stop, and why (`"SIGINT"` or `"SIGTERM"`).
pub fn request(signal: &'static str) {
    let v = if signal == "SIGTERM" { 2 } else { 1 };
    let _ = STOP.compare_exchange(0, v, Ordering::SeqCst, Ordering::SeqCst);
}

/// The signal that asked the run to stop, if one did.
pub fn requested() -> Option<&'static str> {
    match STOP.load(Ordering::SeqCst) {
        0 => None,
        2 => Some("SIGTERM"),
        _ => Some("SIGINT"),
    }
}

/// An error when a stop was asked for: for a loop of steps to end at once.
pub fn check() -> anyhow::Result<()> {
    match requested() {
        Some(sig) => anyhow::bail!("interrupted by {sig}"),
        None => Ok(()),
    }
}
