//! Pull, tag, inspect, push and remove through the engine. Credentials come
//! from the caller or the Docker config file (bollard does not read it).

use std::collections::BTreeMap;

use anyhow::Context as _;
use bollard::Docker;
use bollard::auth::DockerCredentials;
use bollard::query_parameters::{
    CreateImageOptionsBuilder, PushImageOptionsBuilder, RemoveImageOptionsBuilder,
    TagImageOptionsBuilder,
};
use futures::StreamExt as _;
use serde::Serialize;

use crate::oci::ImageRef;
use crate::oci::auth::{self, Credentials};

/// What `inspect_image` tells a flow.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(rename = "apex.ImageInfo")]
pub struct ImageInfo {
    /// `sha256:...`.
    pub id: String,
    /// The user the image runs as (`Config.User`), `""` for root.
    pub user: String,
    pub labels: BTreeMap<String, String>,
    pub tags: Vec<String>,
    /// `repo@sha256:...` for each registry the image was pushed to or pulled from.
    pub digests: Vec<String>,
    /// Bytes.
    pub size: i64,
    pub architecture: String,
}

/// What a push reported.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct PushResult {
    pub image: String,
    /// The manifest digest the registry stored.
    pub digest: String,
}

/// Splits `name[:tag]` into the engine's (repo, tag) pair.
fn repo_and_tag(image: &str) -> (String, String) {
    match image.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo.to_string(), tag.to_string()),
        _ => (image.to_string(), "latest".to_string()),
    }
}

fn registry_of(image: &str) -> Option<String> {
    ImageRef::parse(image).ok().map(|r| r.registry)
}

/// Credentials for the registry an image names: given ones, else the Docker config file's.
fn credentials(
    image: &str,
    explicit: Option<&Credentials>,
) -> anyhow::Result<Option<DockerCredentials>> {
    let Some(host) = registry_of(image) else {
        return Ok(explicit.map(to_docker));
    };
    Ok(auth::resolve(explicit, &host, None)?
        .as_ref()
        .map(|c| DockerCredentials {
            serveraddress: Some(host.clone()),
            ..to_docker(c)
        }))
}

fn to_docker(c: &Credentials) -> DockerCredentials {
    DockerCredentials {
        username: Some(c.username.clone()),
        password: Some(c.password.clone()),
        ..Default::default()
    }
}

/// Pulls `image` (`host:port/repo:tag`) into the engine.
pub async fn pull_image(
    docker: &Docker,
    image: &str,
    creds: Option<&Credentials>,
) -> anyhow::Result<ImageInfo> {
    let (repo, tag) = repo_and_tag(image);
    let opts = CreateImageOptionsBuilder::new()
        .from_image(&repo)
        .tag(&tag)
        .build();
    let mut stream = docker.create_image(Some(opts), None, credentials(image, creds)?);
    while let Some(item) = stream.next().await {
        let info = item.with_context(|| format!("pulling {image}"))?;
        if let Some(status) = info.status {
            tracing::debug!(target: "apex::pull", "{image}: {status}");
        }
    }
    inspect_image(docker, image).await
}

/// Adds the name `target` to the image `source`.
pub async fn tag_image(docker: &Docker, source: &str, target: &str) -> anyhow::Result<()> {
    let (repo, tag) = repo_and_tag(target);
    let opts = TagImageOptionsBuilder::new().repo(&repo).tag(&tag).build();
    docker
        .tag_image(source, Some(opts))
        .await
        .with_context(|| format!("tagging {source} as {target}"))
}

/// Id, user, labels, tags and digests of a local image.
pub async fn inspect_image(docker: &Docker, image: &str) -> anyhow::Result<ImageInfo> {
    let i = docker
        .inspect_image(image)
        .await
        .with_context(|| format!("inspecting image {image}"))?;
    let config = i.config.unwrap_or_default();
    Ok(ImageInfo {
        id: i.id.unwrap_or_default(),
        user: config.user.unwrap_or_default(),
        labels: config.labels.unwrap_or_default().into_iter().collect(),
        tags: i.repo_tags.unwrap_or_default(),
        digests: i.repo_digests.unwrap_or_default(),
        size: i.size.unwrap_or_default(),
        architecture: i.architecture.unwrap_or_default(),
    })
}

/// Pushes `image` to the registry its name points at. The engine does the
/// transfer: plain HTTP works for loopback and the engine's
/// `insecure-registries`, TLS for the rest.
pub async fn push_image(
    docker: &Docker,
    image: &str,
    creds: Option<&Credentials>,
) -> anyhow::Result<PushResult> {
    let (repo, tag) = repo_and_tag(image);
    let opts = PushImageOptionsBuilder::new().tag(&tag).build();
    let mut stream = docker.push_image(&repo, Some(opts), credentials(image, creds)?);
    let mut digest = None;
    while let Some(item) = stream.next().await {
        let info = item.with_context(|| format!("pushing {image}"))?;
        if let Some(status) = info.status {
            tracing::debug!(target: "apex::push", "{image}: {status}");
            // The last line reads "<tag>: digest: sha256:... size: N".
            if let Some(rest) = status.split("digest: ").nth(1) {
                digest = rest.split_whitespace().next().map(str::to_string);
            }
        }
    }
    let digest =
        digest.with_context(|| format!("pushing {image}: the engine reported no digest"))?;
    tracing::debug!("pushed {image} ({digest})");
    Ok(PushResult {
        image: image.to_string(),
        digest,
    })
}

/// Removes an image name (and the image when no name is left).
pub async fn remove_image(docker: &Docker, image: &str, force: bool) -> anyhow::Result<()> {
    let opts = RemoveImageOptionsBuilder::new().force(force).build();
    docker
        .remove_image(image, Some(opts), None)
        .await
        .with_context(|| format!("removing image {image}"))?;
    Ok(())
}
