//! Remote hosts: `run_ssh` and `upload`, with host keys verified against known_hosts.
//!
//! Everything that happens "on the undercloud" (steps 2, 8a and 9 of the
//! flow) goes through here.
//!
//! Why the `openssh` crate (the system `ssh` with ControlMaster
//! multiplexing) and not russh: NFV labs reach their undercloud through
//! `~/.ssh/config` entries, `ProxyJump` bastions, agents and hardware keys,
//! and the system client honours all of them exactly as the operator's own
//! `ssh` does; host key checking is OpenSSH's own (known_hosts hashing,
//! `@revoked`, `@cert-authority`), not a re-implementation. One master
//! connection per host carries every command as its own channel, so calls
//! are cheap and many hosts run concurrently. The cost is an `ssh` binary
//! on the machine running apex (Debian `openssh-client`).
//!
//! Host keys: `StrictHostKeyChecking=yes`, or `accept-new` when the host
//! settings say `accept_new` (which records a new key and still refuses a
//! changed one). There is deliberately no option that turns checking off.

mod error;
mod forward;
mod host;
mod kept;
mod keygen;
mod lock;
mod lua;
mod pool;
mod run;
mod upload;

pub use error::SshError;
pub use forward::forward_socket;
pub use host::SshHost;
pub use keygen::{KeyPair, key_pair};
pub use lock::{LockState, hold as hold_lock, release as release_lock};
pub use lua::register;
pub use pool::MAX_CHANNELS;

/// Ends what the run holds on its hosts: the locks first (their channels
/// use the pooled connections), then the connections (kept or closed).
pub async fn close_all() {
    upload::remove_in_flight(std::time::Duration::from_secs(5)).await;
    lock::release_all().await;
    pool::close_all().await;
}
pub use run::{CommandOutput, RemoteCommand, run_many, run_ssh, run_with_input};
pub use upload::{UploadOpts, UploadReport, upload};
