//! The lab: real services on loopback (artifact server, Docker engine,
//! registries, sshd standing for the undercloud) used by the tests and by
//! `apex lab up`. Each part lives in its own module.

pub mod artifact_server;
pub mod docker;
pub mod images;
pub mod registry;
pub mod sshd;

/// `apex lab up|down`: implemented by the lab orchestration.
pub async fn cli(action: &crate::cli::LabAction) -> anyhow::Result<()> {
    anyhow::bail!("apex lab {action:?}: not implemented yet")
}
