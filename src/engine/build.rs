//! `docker build` through the engine API: the context directory sent as a
//! tar, build args, a tag, the build log streamed into the tracing log, and a
//! failed step reported with the step and its output.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use bollard::Docker;
use bollard::query_parameters::BuildImageOptionsBuilder;
use futures::StreamExt as _;
use serde::Serialize;

/// What to build (the Rust API's shape; Lua passes `apex.BuildOpts`, see
/// `engine::lua`, which converts to this).
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The build context directory (holds the Dockerfile).
    pub context: PathBuf,
    /// The image name to tag the result with (`host:port/repo:tag`).
    pub tag: String,
    /// Dockerfile path inside the context (default `Dockerfile`).
    pub dockerfile: Option<String>,
    pub build_args: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    /// Build without the layer cache.
    pub no_cache: bool,
}

/// What a build produced.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct BuildResult {
    /// `sha256:...` image id.
    pub id: String,
    pub tag: String,
}

/// Lines of output kept to explain a failed step.
const TAIL_LINES: usize = 40;

/// Drops terminal color sequences (the engine colors RUN stderr).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // ESC [ params letter
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Tars a context directory in memory (contexts are Dockerfiles and patches).
fn tar_context(dir: &Path) -> anyhow::Result<Vec<u8>> {
    let meta =
        std::fs::metadata(dir).with_context(|| format!("build context {}", dir.display()))?;
    if !meta.is_dir() {
        bail!("build context {} is not a directory", dir.display());
    }
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    builder
        .append_dir_all(".", dir)
        .with_context(|| format!("archiving build context {}", dir.display()))?;
    builder
        .into_inner()
        .context("finishing the build context archive")
}

/// What the engine says when an image it was reading vanished under a
/// concurrent removal (moby's image store; the classic builder reads every
/// image while it looks for a cached step): the build did not fail on its own.
const IMAGE_VANISHED: &str = "failed to get digest";

/// Builds an image; the log goes to tracing (target `apex::build`). A failed
/// step raises with the step line and the output that led to it. A build the
/// engine broke off because another client removed an image meanwhile runs
/// once more.
pub async fn build_image(docker: &Docker, opts: &BuildOptions) -> anyhow::Result<BuildResult> {
    match build_once(docker, opts).await {
        Err(e) if format!("{e:#}").contains(IMAGE_VANISHED) => {
            tracing::warn!(
                "build of {}: the engine lost an image under a concurrent removal ({e:#}); building once more",
                opts.tag
            );
            build_once(docker, opts).await
        }
        r => r,
    }
}

async fn build_once(docker: &Docker, opts: &BuildOptions) -> anyhow::Result<BuildResult> {
    let dockerfile = opts
        .dockerfile
        .clone()
        .unwrap_or_else(|| "Dockerfile".to_string());
    if !opts.context.join(&dockerfile).is_file() {
        bail!(
            "build of {}: no {} in context {}",
            opts.tag,
            dockerfile,
            opts.context.display()
        );
    }
    let dir = opts.context.clone();
    let tar = tokio::task::spawn_blocking(move || tar_context(&dir)).await??;
    let args: HashMap<String, String> = opts.build_args.clone().into_iter().collect();
    let labels: HashMap<String, String> = opts.labels.clone().into_iter().collect();
    let query = BuildImageOptionsBuilder::new()
        .dockerfile(&dockerfile)
        .t(&opts.tag)
        .buildargs(&args)
        .labels(&labels)
        .nocache(opts.no_cache)
        .rm(true)
        .forcerm(true)
        .build();
    let mut stream = docker.build_image(query, None, Some(bollard::body_full(tar.into())));
    let mut tail: VecDeque<String> = VecDeque::new();
    let mut step = String::new();
    let mut id = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => {
                if let Some(text) = info.stream.as_deref() {
                    for line in strip_ansi(text).lines().filter(|l| !l.trim().is_empty()) {
                        tracing::debug!(target: "apex::build", "{}: {line}", opts.tag);
                        if line.starts_with("Step ") {
                            step = line.to_string();
                            tail.clear();
                        }
                        tail.push_back(line.to_string());
                        if tail.len() > TAIL_LINES {
                            tail.pop_front();
                        }
                    }
                }
                if let Some(aux) = info.aux.and_then(|a| a.id) {
                    id = Some(aux);
                }
            }
            Err(e) => {
                let output: Vec<String> = tail.into_iter().filter(|l| *l != step).collect();
                bail!(
                    "build of {} failed at {:?}: {}\n{}",
                    opts.tag,
                    if step.is_empty() { "the start" } else { &step },
                    match &e {
                        bollard::errors::Error::DockerStreamError { error } => error.clone(),
                        other => other.to_string(),
                    },
                    output.join("\n")
                );
            }
        }
    }
    let id = match id {
        Some(id) => id,
        None => super::inspect_image(docker, &opts.tag).await?.id,
    };
    tracing::debug!("built {} ({id})", opts.tag);
    Ok(BuildResult {
        id,
        tag: opts.tag.clone(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn strips_colors() {
        assert_eq!(super::strip_ansi("\u{1b}[91mboom\u{1b}[0m ok"), "boom ok");
    }
}
