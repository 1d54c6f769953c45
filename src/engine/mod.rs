//! A Docker engine through bollard: build, pull, tag, inspect, push.
//!
//! The engine is reached at the local socket by default (`DOCKER_HOST` when
//! set), or at any endpoint bollard speaks: `unix://`, `tcp://`/`http://`,
//! `https://` (TLS with the `DOCKER_CERT_PATH` certificates). The API version
//! is negotiated, so older engines (Debian's 20.10) answer too.

mod build;
mod image;
mod lua;

use anyhow::Context as _;
use bollard::Docker;
use serde::Deserialize;

pub use build::{BuildOptions, BuildResult, build_image};
pub use image::{
    ImageInfo, PushResult, inspect_image, pull_image, push_image, remove_image, tag_image,
};
pub use lua::register;

/// Where the Docker engine is.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "apex.EngineSettings")]
pub struct EngineSettings {
    /// `unix:///path.sock`, `tcp://host:2375`, `https://host:2376`; default
    /// `DOCKER_HOST` or the local socket.
    pub endpoint: Option<String>,
    /// Seconds per engine request, default 600 (builds are long).
    pub timeout: Option<u64>,
}

/// Connects to the engine and negotiates the API version; errors name the endpoint.
pub async fn connect(settings: &EngineSettings) -> anyhow::Result<Docker> {
    let endpoint = settings
        .endpoint
        .clone()
        .or_else(|| std::env::var("DOCKER_HOST").ok())
        .unwrap_or_else(|| "unix:///var/run/docker.sock".to_string());
    let docker = if endpoint.starts_with('/') {
        Docker::connect_with_unix(&endpoint, 600, bollard::API_DEFAULT_VERSION)
    } else {
        Docker::connect_with_host(&endpoint)
    }
    .with_context(|| format!("Docker engine at {endpoint}: cannot connect"))?
    .with_timeout(std::time::Duration::from_secs(
        settings.timeout.unwrap_or(600),
    ));
    docker
        .negotiate_version()
        .await
        .with_context(|| format!("Docker engine at {endpoint} does not answer"))
}
