//! The lab: real services on loopback (artifact server, Docker engine,
//! registries, sshd standing for the undercloud) used by the tests and by
//! `apex lab up`. Each part lives in its own module.
pub mod docker;
pub mod images;
pub mod registry;
