//! apex: a deployer for containerized TripleO clouds with SDN controllers.
//!
//! The Rust core does the heavy, risky work (HTTP, archives, Docker engine,
//! registries, SSH, loop devices) as plain Rust APIs, each with a thin Lua
//! binding on `apex.core`; the deploy flow, scenarios and SDN rules are Lua
//! (see `stdlib/`, `plugins/`, `scripts/`).

pub mod archive;
pub mod artifacts;
pub mod cli;
pub mod engine;
pub mod examples;
pub mod fsutil;
pub mod host_helpers;
pub mod http_client;
pub mod image_edit;
pub mod interrupt;
pub mod leftovers;
pub mod local_tools;
pub mod logging;
pub mod loopdev;
pub mod lua;
pub mod mountinfo;
pub mod oci;
pub mod progress;
pub mod registry;
pub mod run_lock;
pub mod ssh;
pub mod vm;
