//! Small operations on the manifests of one repository that flows combine:
//! naming a manifest with one more tag, deleting one, and checking that a
//! registry still holds every blob a manifest names. The rebuild of patched
//! images (step 8d) and `apex registry prune` are Lua over these.

use anyhow::Context as _;
use futures::{StreamExt as _, TryStreamExt as _};
use serde::Serialize;

use super::client::Registry;
use super::copy::image_blobs;
use super::transport::StatusError;

/// Puts the manifest `digest` of `repo` under `tag` as well (read back by
/// digest, so its bytes are checked, and stored byte for byte: the digest
/// stays the same).
pub async fn put_tag(reg: &Registry, repo: &str, digest: &str, tag: &str) -> anyhow::Result<()> {
    let manifest = reg
        .manifest(repo, digest)
        .await?
        .with_context(|| format!("{}/{repo}: no manifest {digest} to tag {tag}", reg.host()))?;
    reg.put_manifest(repo, tag, &manifest).await
}

/// Deletes the manifest `digest` of `repo` (the registry drops every tag
/// naming it; an absent one is no error). A registry that does not allow
/// deleting (HTTP 405) is an error that says how to allow it.
pub async fn delete_manifest(reg: &Registry, repo: &str, digest: &str) -> anyhow::Result<()> {
    reg.delete_manifest(repo, digest).await.map_err(|e| {
        let disabled = e
            .chain()
            .filter_map(|c| c.downcast_ref::<StatusError>())
            .any(|s| s.status == reqwest::StatusCode::METHOD_NOT_ALLOWED);
        if disabled {
            e.context(format!(
                "registry {} does not allow deleting (HTTP 405): enable it in its config \
                 (docker-registry: `storage: delete: enabled: true` in /etc/docker/registry/config.yml) and restart it",
                reg.host()
            ))
        } else {
            e
        }
    })
}

/// What a check of a manifest's blobs found.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(rename = "apex.BlobCheck")]
pub struct BlobCheck {
    /// The manifest digest the reference names now; nil when it names none.
    pub digest: Option<String>,
    /// Blobs (and listed manifests) the manifest names that the registry lacks.
    pub missing: Vec<String>,
    /// How many it holds.
    pub present: u64,
}

/// HEADs every blob the manifest `reference` of `repo` names (a list: every
/// listed manifest, then their blobs), `concurrency` at once.
pub async fn missing_blobs(
    reg: &Registry,
    repo: &str,
    reference: &str,
    concurrency: usize,
) -> anyhow::Result<BlobCheck> {
    let what = format!("{}/{repo}:{reference}", reg.host());
    let Some(manifest) = reg.manifest(repo, reference).await? else {
        return Ok(BlobCheck {
            digest: None,
            missing: Vec::new(),
            present: 0,
        });
    };
    let mut missing = Vec::new();
    let mut images = Vec::new();
    if manifest.is_list() {
        for entry in manifest.parse()?.manifests {
            match reg.manifest(repo, &entry.digest).await? {
                Some(child) => images.push(child),
                None => missing.push(entry.digest),
            }
        }
    } else {
        images.push(manifest.clone());
    }
    let mut blobs = Vec::new();
    for image in &images {
        blobs.extend(image_blobs(image)?.into_iter().map(|d| d.digest));
    }
    blobs.sort();
    blobs.dedup();
    let checked: Vec<(String, bool)> =
        futures::stream::iter(blobs.into_iter().map(|d| async move {
            let there = reg.blob_exists(repo, &d).await?;
            Ok::<_, anyhow::Error>((d, there))
        }))
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await
        .with_context(|| format!("checking the blobs of {what}"))?;
    let mut present = 0;
    for (d, there) in checked {
        if there {
            present += 1;
        } else {
            tracing::warn!("{what}: blob {d} is missing");
            missing.push(d);
        }
    }
    missing.sort();
    Ok(BlobCheck {
        digest: Some(manifest.digest),
        missing,
        present,
    })
}
