//! The patched-image rebuild of flow step 8d: every image that is both in the
//! local registry and in the patch set (a `containers/<image>` directory) is
//! rebuilt from that directory's Dockerfile with `REAL_USER` set to the
//! image's own user, tagged `apex` and pushed back, a bounded number at once.
//!
//! A patch directory matches a repository whose last path part is the
//! directory name, or `centos-binary-<name>` (Apex names patch directories
//! after the service, e.g. `nova-api`, and images after the TripleO name).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};

use super::auth::Credentials;
use super::client::{Registry, RegistrySettings};
use crate::engine::{self, BuildOptions, EngineSettings};
use crate::progress::{Progress, Unit};

/// What to rebuild.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RebuildOptions {
    /// The local registry, `host:port` (e.g. `192.0.2.1:8787`).
    pub registry: String,
    /// The `containers/` directory holding one directory per patched image.
    pub containers_dir: PathBuf,
    /// Tag of the rebuilt images (default `apex`).
    pub tag: Option<String>,
    /// Tag of the images to patch; default: the repository's only tag other than
    /// `tag` and its history tags (`<tag>-<12 hex>`).
    pub source_tag: Option<String>,
    /// Only repositories under this namespace (e.g. `tripleoqueens`): a local
    /// registry that holds two releases' images has a `centos-binary-<name>`
    /// in each, and the deploy's own must be the one rebuilt.
    pub namespace: Option<String>,
    /// Builds at once (default 2).
    pub concurrency: Option<usize>,
    #[serde(default)]
    pub engine: EngineSettings,
    #[serde(default)]
    pub registries: RegistrySettings,
    pub credentials: Option<Credentials>,
}

/// One rebuilt image.
#[derive(Debug, Clone, Serialize)]
pub struct Rebuilt {
    /// The pushed image, `host:port/repo:apex`.
    pub image: String,
    /// The base it was built from.
    pub source: String,
    /// The `REAL_USER` it was built with.
    pub user: String,
    pub digest: String,
}

/// A patch directory that could not be rebuilt, and why.
#[derive(Debug, Clone, Serialize)]
pub struct RebuildFailure {
    pub name: String,
    pub error: String,
}

/// What a rebuild run did.
#[derive(Debug, Default, Serialize)]
pub struct RebuildSummary {
    pub rebuilt: Vec<Rebuilt>,
    /// Patch directories with no matching image in the registry.
    pub not_in_registry: Vec<String>,
    pub failed: Vec<RebuildFailure>,
}

fn patch_dirs(dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)
        .with_context(|| format!("reading patch directory {}", dir.display()))?
    {
        let entry = entry?;
        if entry.file_type()?.is_dir() && entry.path().join("Dockerfile").is_file() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}

fn matches(repo: &str, name: &str) -> bool {
    let base = repo.rsplit('/').next().unwrap_or(repo);
    base == name || base.strip_prefix("centos-binary-") == Some(name)
}

async fn pick_source_tag(
    reg: &Registry,
    repo: &str,
    opts: &RebuildOptions,
    tag: &str,
) -> anyhow::Result<String> {
    if let Some(t) = &opts.source_tag {
        return Ok(t.clone());
    }
    let tags: Vec<String> = reg
        .tags(repo)
        .await?
        .into_iter()
        .filter(|t| !super::prune::is_rebuild_tag(tag, t))
        .collect();
    match tags.as_slice() {
        [one] => Ok(one.clone()),
        [] => bail!("{repo} has no tag to rebuild from"),
        many => bail!(
            "{repo} has several tags ({}); give source_tag",
            many.join(", ")
        ),
    }
}

async fn rebuild_one(
    reg: &Registry,
    repo: &str,
    dir: PathBuf,
    opts: &RebuildOptions,
    tag: &str,
) -> anyhow::Result<Rebuilt> {
    let source_tag = pick_source_tag(reg, repo, opts, tag).await?;
    let source = format!("{}/{repo}:{source_tag}", opts.registry);
    let target = format!("{}/{repo}:{tag}", opts.registry);
    let docker = engine::connect(&opts.engine).await?;
    let base = engine::pull_image(&docker, &source, opts.credentials.as_ref()).await?;
    let build = BuildOptions {
        context: dir,
        tag: target.clone(),
        dockerfile: None,
        build_args: BTreeMap::from([("REAL_USER".to_string(), base.user.clone())]),
        labels: BTreeMap::new(),
        no_cache: false,
    };
    engine::build_image(&docker, &build).await?;
    let pushed = engine::push_image(&docker, &target, opts.credentials.as_ref()).await?;
    // A history tag keeps this rebuild findable once `tag` moves on, so
    // `apex registry prune` can delete it when no deploy uses it any more.
    let manifest = reg
        .manifest(repo, &pushed.digest)
        .await?
        .with_context(|| format!("{target}: pushed manifest {} not found", pushed.digest))?;
    reg.put_manifest(
        repo,
        &super::prune::history_tag(tag, &pushed.digest),
        &manifest,
    )
    .await?;
    Ok(Rebuilt {
        image: target,
        source,
        user: base.user,
        digest: pushed.digest,
    })
}

/// Rebuilds, tags and pushes every patched image present in the registry;
/// one failure does not stop the others.
pub async fn rebuild_patched(opts: &RebuildOptions) -> anyhow::Result<RebuildSummary> {
    let tag = opts.tag.clone().unwrap_or_else(|| "apex".to_string());
    let names = patch_dirs(&opts.containers_dir)?;
    let reg = Registry::new(&opts.registry, &opts.registries)?;
    let catalog = reg.catalog().await?;
    let mut summary = RebuildSummary::default();
    let mut jobs = Vec::new();
    for name in names {
        let in_namespace = |repo: &str| {
            opts.namespace.as_deref().is_none_or(|ns| {
                repo.strip_prefix(ns)
                    .is_some_and(|rest| rest.starts_with('/'))
            })
        };
        match catalog
            .iter()
            .find(|repo| in_namespace(repo) && matches(repo, &name))
        {
            Some(repo) => jobs.push((name.clone(), repo.clone(), opts.containers_dir.join(&name))),
            None => summary.not_in_registry.push(name),
        }
    }
    let mut progress = Progress::new(
        "rebuilding patched images",
        Some(jobs.len() as u64),
        Unit::Items,
    );
    let (reg, tag) = (&reg, tag.as_str());
    let mut results = futures::stream::iter(jobs.into_iter().map(|(name, repo, dir)| async move {
        (name, rebuild_one(reg, &repo, dir, opts, tag).await)
    }))
    .buffer_unordered(opts.concurrency.unwrap_or(2).max(1));
    while let Some((name, result)) = results.next().await {
        progress.inc(1);
        match result {
            Ok(r) => summary.rebuilt.push(r),
            Err(e) => {
                tracing::error!("rebuilding {name}: {e:#}");
                summary.failed.push(RebuildFailure {
                    name,
                    error: format!("{e:#}"),
                });
            }
        }
    }
    drop(results);
    progress.finish(&format!(
        "{} rebuilt, {} failed",
        summary.rebuilt.len(),
        summary.failed.len()
    ));
    summary.rebuilt.sort_by(|a, b| a.image.cmp(&b.image));
    Ok(summary)
}

#[cfg(test)]
mod tests {
    #[test]
    fn patch_dir_names_match_tripleo_repos() {
        assert!(super::matches(
            "tripleomaster/centos-binary-nova-api",
            "nova-api"
        ));
        assert!(super::matches(
            "tripleomaster/centos-binary-nova-api",
            "centos-binary-nova-api"
        ));
        assert!(!super::matches(
            "tripleomaster/centos-binary-nova-api-cfn",
            "nova-api"
        ));
    }
}
