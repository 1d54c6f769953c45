//! What can go wrong on a host, each case with the words an operator needs.

/// An SSH failure. `Display` is the message a flow shows.
#[derive(Debug, thiserror::Error)]
pub enum SshError {
    #[error("{host}: bad host settings: {msg}")]
    Config { host: String, msg: String },
    #[error(
        "{host}: host key is not in {known_hosts}; refusing to connect (set accept_new = true to record it on first contact)"
    )]
    HostKeyUnknown { host: String, known_hosts: String },
    #[error(
        "{host}: HOST KEY HAS CHANGED since it was recorded in {known_hosts} ({detail}); refusing to connect. If the host was reinstalled, remove the old entry (ssh-keygen -R) and reconnect"
    )]
    HostKeyChanged {
        host: String,
        known_hosts: String,
        detail: String,
    },
    #[error("{host}: authentication failed with {with}")]
    AuthFailed { host: String, with: String },
    #[error("{host}: cannot connect: {msg}")]
    Connect { host: String, msg: String },
    #[error("{host}: connection lost while running `{command}`")]
    Disconnected { host: String, command: String },
    #[error("{host}: `{command}` timed out after {secs}s")]
    TimedOut {
        host: String,
        command: String,
        secs: f64,
    },
    #[error("{host}: `{command}` exited with status {status}: {stderr_tail}")]
    Failed {
        host: String,
        command: String,
        status: i32,
        stderr_tail: String,
    },
    #[error("{host}: upload to {path} failed: {msg}")]
    Upload {
        host: String,
        path: String,
        msg: String,
    },
    #[error("{host}: {msg}")]
    Io { host: String, msg: String },
}
