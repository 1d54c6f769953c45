//! `apex registry prune`: deletes the rebuilt (`:apex`) manifests of the
//! local registry that no deploy state references any more.
//!
//! Every rebuild pushes `<repo>:apex` and, beside it, a history tag
//! `<repo>:apex-<first 12 hex of its digest>` (see [`history_tag`]): the
//! distribution API cannot list untagged manifests, so without it a rebuild
//! superseded by the next one would be out of reach. The deploy states
//! (`<tmp-dir>/state.json`) record in `rebuild/<image>` the digest each
//! image's last rebuild pushed; a manifest under `apex` or a history tag
//! whose digest no state names is deleted (by digest, which drops its tags).
//! The registry frees the blobs only at its garbage collection.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use serde::Serialize;

use super::client::{Registry, RegistrySettings, StatusError};
use super::reference::ImageRef;

/// The tag a rebuild pushes beside `tag` so the manifest can be found after
/// `tag` moved on: `<tag>-<first 12 hex of the digest>`.
pub fn history_tag(tag: &str, digest: &str) -> String {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    format!("{tag}-{}", &hex[..hex.len().min(12)])
}

/// Whether `candidate` is `tag` or one of its history tags.
pub fn is_rebuild_tag(tag: &str, candidate: &str) -> bool {
    candidate == tag
        || candidate
            .strip_prefix(tag)
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(|hex| hex.len() == 12 && hex.chars().all(|c| c.is_ascii_hexdigit()))
}

/// What to prune.
#[derive(Debug, Clone)]
pub struct PruneOptions {
    /// The local registry (`host:port`); default: the one the states' rebuilds pushed to.
    pub registry: Option<String>,
    /// Deploy tmp dirs whose `state.json` count (a dir without one is skipped).
    pub tmp_dirs: Vec<PathBuf>,
    /// The tag of rebuilt images (default `apex`).
    pub tag: String,
    /// List what would be deleted, delete nothing.
    pub dry_run: bool,
    /// Reach the registry over TLS; default plain HTTP (the undercloud's
    /// registry, as the site default `registries.insecure: true`).
    pub tls: bool,
    pub settings: RegistrySettings,
}

/// One manifest found under the rebuild tag or a history tag.
#[derive(Debug, Clone, Serialize)]
pub struct PrunedManifest {
    pub repository: String,
    pub digest: String,
    pub tags: Vec<String>,
}

/// What a prune did (or, with `dry_run`, would do).
#[derive(Debug, Default, Serialize)]
pub struct PruneReport {
    pub registry: String,
    /// The state files read.
    pub states: Vec<PathBuf>,
    pub dry_run: bool,
    /// Unreferenced manifests: deleted, or to delete with `dry_run`.
    pub deleted: Vec<PrunedManifest>,
    /// Manifests a deploy state references.
    pub kept: Vec<PrunedManifest>,
}

/// `/tmp/apex/*`: the tmp dirs deploys use by default.
pub fn default_tmp_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/tmp/apex")
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}

/// A digest a state's rebuild record names, with the registry it pushed to.
struct Referenced {
    registry: Option<String>,
    digest: String,
}

fn read_state(path: &Path) -> anyhow::Result<Vec<Referenced>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a deploy state (JSON)", path.display()))?;
    let Some(steps) = v.get("steps").and_then(|s| s.as_object()) else {
        bail!("{}: not a deploy state (no \"steps\")", path.display());
    };
    let mut out = Vec::new();
    for (key, rec) in steps {
        if !key.starts_with("rebuild/") {
            continue;
        }
        let outputs = rec.get("outputs");
        let Some(digest) = outputs
            .and_then(|o| o.get("digest"))
            .and_then(|d| d.as_str())
        else {
            continue;
        };
        let registry = outputs
            .and_then(|o| o.get("source"))
            .and_then(|s| s.as_str())
            .and_then(|s| ImageRef::parse(s).ok())
            .map(|r| r.registry);
        out.push(Referenced {
            registry,
            digest: digest.to_string(),
        });
    }
    Ok(out)
}

/// Deletes (or lists, with `dry_run`) the manifests under the rebuild tag
/// or a history tag that no deploy state of `tmp_dirs` references.
pub async fn prune_registry(opts: &PruneOptions) -> anyhow::Result<PruneReport> {
    let mut report = PruneReport {
        dry_run: opts.dry_run,
        ..Default::default()
    };
    let mut refs = Vec::new();
    for dir in &opts.tmp_dirs {
        let path = dir.join("state.json");
        if !path.is_file() {
            continue;
        }
        refs.extend(read_state(&path)?);
        report.states.push(path);
    }
    if report.states.is_empty() {
        bail!(
            "no deploy state (state.json) in {}: every rebuilt image would count as unreferenced; name the deploys' tmp dirs",
            if opts.tmp_dirs.is_empty() {
                "/tmp/apex/*".to_string()
            } else {
                opts.tmp_dirs
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        );
    }
    let registry = match &opts.registry {
        Some(r) => r.clone(),
        None => {
            let hosts: BTreeSet<&str> = refs.iter().filter_map(|r| r.registry.as_deref()).collect();
            match hosts.len() {
                1 => hosts.into_iter().next().unwrap_or_default().to_string(),
                0 => {
                    bail!("the deploy states name no rebuilt image: give the registry (--registry)")
                }
                _ => bail!(
                    "the deploy states name several registries ({}): give one (--registry)",
                    hosts.into_iter().collect::<Vec<_>>().join(", ")
                ),
            }
        }
    };
    let referenced: BTreeSet<&str> = refs
        .iter()
        .filter(|r| r.registry.as_deref().is_none_or(|h| h == registry))
        .map(|r| r.digest.as_str())
        .collect();
    report.registry = registry.clone();
    let mut settings = opts.settings.clone();
    if opts.tls {
        settings.tls.push(registry.clone());
    } else {
        settings.insecure.push(registry.clone());
    }
    let reg = Registry::new(&registry, &settings)?;
    for repo in reg.catalog().await? {
        let tags: Vec<String> = reg
            .tags(&repo)
            .await?
            .into_iter()
            .filter(|t| is_rebuild_tag(&opts.tag, t))
            .collect();
        let mut by_digest: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for tag in tags {
            if let Some(d) = reg.manifest_digest(&repo, &tag).await? {
                by_digest.entry(d).or_default().push(tag);
            }
        }
        for (digest, mut tags) in by_digest {
            tags.sort();
            let m = PrunedManifest {
                repository: repo.clone(),
                digest,
                tags,
            };
            if referenced.contains(m.digest.as_str()) {
                report.kept.push(m);
                continue;
            }
            if !opts.dry_run {
                reg.delete_manifest(&repo, &m.digest).await.map_err(|e| {
                    let disabled = e
                        .chain()
                        .filter_map(|c| c.downcast_ref::<StatusError>())
                        .any(|s| s.status == reqwest::StatusCode::METHOD_NOT_ALLOWED);
                    if disabled {
                        e.context(format!(
                            "registry {registry} does not allow deleting (HTTP 405): enable it in its config \
                             (docker-registry: `storage: delete: enabled: true` in /etc/docker/registry/config.yml) and restart it"
                        ))
                    } else {
                        e
                    }
                })?;
                tracing::info!("deleted {registry}/{}@{}", m.repository, m.digest);
            }
            report.deleted.push(m);
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_tags() {
        let t = history_tag("apex", "sha256:0123456789abcdef0123");
        assert_eq!(t, "apex-0123456789ab");
        assert!(is_rebuild_tag("apex", &t));
        assert!(is_rebuild_tag("apex", "apex"));
        assert!(!is_rebuild_tag("apex", "apex-latest"));
        assert!(!is_rebuild_tag("apex", "current-tripleo"));
    }
}
