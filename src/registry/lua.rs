//! Lua bindings of the registry primitives: thin wrappers over the Rust API.

use anyhow::bail;
use serde::{Deserialize, Serialize};

use super::{
    CopyContext, CopyOptions, ImageRef, MirrorItem, MirrorOptions, Registry, RegistrySettings,
    copy_image, mirror_images,
};
use crate::lua::api::{Api, Effect, FnSpec};

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
#[serde(deny_unknown_fields)]
struct CatalogArgs {
    /// The registry, `host:port`.
    registry: String,
    #[serde(default)]
    registries: RegistrySettings,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
#[serde(deny_unknown_fields)]
struct DigestArgs {
    registry: String,
    repository: String,
    /// A tag or digest.
    reference: String,
    #[serde(default)]
    registries: RegistrySettings,
}

#[derive(Serialize, schemars::JsonSchema)]
#[schemars(inline)]
struct Digest {
    digest: Option<String>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
#[serde(deny_unknown_fields)]
struct TagsArgs {
    registry: String,
    repository: String,
    #[serde(default)]
    registries: RegistrySettings,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
#[serde(deny_unknown_fields)]
struct CopyArgs {
    /// Full reference `host:port/repo:tag`.
    source: String,
    /// Full reference `host:port/repo:tag`.
    destination: String,
    /// Blobs at once, 1-256, default 4.
    blob_concurrency: Option<usize>,
    /// When the destination has the tag, HEAD every blob it names and copy the missing ones again (status `repaired`).
    #[serde(default)]
    verify: bool,
    #[serde(default)]
    registries: RegistrySettings,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
#[serde(deny_unknown_fields)]
struct MirrorArgs {
    images: Vec<MirrorItem>,
    /// Images sending blobs at once, 1-256, default 4 (as many more may
    /// mount what others sent and put their manifests meanwhile).
    concurrency: Option<usize>,
    /// Blobs of one image at once, 1-256, default 4.
    blob_concurrency: Option<usize>,
    /// Images already there have every blob HEADed, missing ones copied again (`repaired`).
    #[serde(default)]
    verify: bool,
    #[serde(default)]
    allow_failures: bool,
    #[serde(default)]
    registries: RegistrySettings,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
#[serde(deny_unknown_fields)]
struct PutTagArgs {
    registry: String,
    repository: String,
    digest: String,
    tag: String,
    #[serde(default)]
    registries: RegistrySettings,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
#[serde(deny_unknown_fields)]
struct DeleteArgs {
    registry: String,
    repository: String,
    digest: String,
    #[serde(default)]
    registries: RegistrySettings,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
#[serde(deny_unknown_fields)]
struct BlobCheckArgs {
    registry: String,
    repository: String,
    /// A tag or digest.
    reference: String,
    /// HEADs at once, 1-256, default 8.
    concurrency: Option<usize>,
    #[serde(default)]
    registries: RegistrySettings,
}

#[derive(Serialize, schemars::JsonSchema)]
#[schemars(inline)]
struct Done {
    repository: String,
    digest: String,
}

#[derive(Serialize, schemars::JsonSchema)]
#[schemars(inline)]
struct Repositories {
    repositories: Vec<String>,
}

#[derive(Serialize, schemars::JsonSchema)]
#[schemars(inline)]
struct Tags {
    tags: Vec<String>,
}

/// Raises with every failure when a batch had some and the caller did not allow it.
/// Most of anything a registry call does at once (images, blobs).
const AT_ONCE_MAX: usize = 256;

/// A concurrency option: its default when unset, else 1 to [`AT_ONCE_MAX`].
fn at_once(key: &str, value: Option<usize>, default: usize) -> anyhow::Result<usize> {
    match value {
        None => Ok(default),
        Some(n @ 1..=AT_ONCE_MAX) => Ok(n),
        Some(n) => anyhow::bail!("{key}: got {n} (valid: 1 to {AT_ONCE_MAX})"),
    }
}

fn check_failures<'a>(
    what: &str,
    allow: bool,
    failures: impl Iterator<Item = (&'a str, &'a str)>,
) -> anyhow::Result<()> {
    let lines: Vec<String> = failures
        .map(|(name, err)| format!("  {name}: {err}"))
        .collect();
    if !allow && !lines.is_empty() {
        bail!(
            "{} of the {what} failed:\n{}",
            lines.len(),
            lines.join("\n")
        );
    }
    Ok(())
}

/// Registers the `core.registry` family: catalog, tags, digest, put_tag,
/// delete_manifest, missing_blobs, copy, mirror.
pub fn register(api: &mut Api) -> mlua::Result<()> {
    api.class::<RegistrySettings>();
    api.class::<super::CopyReport>();
    api.class::<super::MirrorSummary>();
    api.class::<super::BlobCheck>();
    api.async_fn(
        FnSpec {
            name: "registry.catalog",
            doc: "Lists the repositories of a registry (`/v2/_catalog`, all pages).",
            is_async: true,
            effect: Effect::ReadRemote,
            ..FnSpec::TYPED
        },
        |a: CatalogArgs| async move {
            let reg = Registry::new(&a.registry, &a.registries)?;
            Ok(Repositories {
                repositories: reg.catalog().await?,
            })
        },
    )?;
    api.async_fn(
        FnSpec {
            name: "registry.tags",
            doc: "Lists the tags of a repository; an unknown repository has none.",
            is_async: true,
            effect: Effect::ReadRemote,
            ..FnSpec::TYPED
        },
        |a: TagsArgs| async move {
            let reg = Registry::new(&a.registry, &a.registries)?;
            Ok(Tags {
                tags: reg.tags(&a.repository).await?,
            })
        },
    )?;
    api.async_fn(
        FnSpec {
            name: "registry.digest",
            doc: "The manifest digest a tag (or digest) of a repository has now (one HEAD); nil when it has none.",
            is_async: true,
            effect: Effect::ReadRemote,
            ..FnSpec::TYPED
        },
        |a: DigestArgs| async move {
            let reg = Registry::new(&a.registry, &a.registries)?;
            Ok(Digest {
                digest: reg.manifest_digest(&a.repository, &a.reference).await?,
            })
        },
    )?;
    api.async_fn(
        FnSpec {
            name: "registry.put_tag",
            doc: "Names a manifest of a repository with one more tag (the manifest read by digest and stored byte for byte, so the digest stays).",
            is_async: true,
            effect: Effect::Remote,
            ..FnSpec::TYPED
        },
        |a: PutTagArgs| async move {
            let reg = Registry::new(&a.registry, &a.registries)?;
            super::put_tag(&reg, &a.repository, &a.digest, &a.tag).await?;
            Ok(Done { repository: a.repository, digest: a.digest })
        },
    )?;
    api.async_fn(
        FnSpec {
            name: "registry.delete_manifest",
            doc: "Deletes a manifest by digest: every tag naming it goes with it (an absent one is no error). A registry that does not allow deleting raises with how to allow it. Its blobs are freed only by the registry's garbage collection.",
            is_async: true,
            effect: Effect::Remote,
            ..FnSpec::TYPED
        },
        |a: DeleteArgs| async move {
            let reg = Registry::new(&a.registry, &a.registries)?;
            super::delete_manifest(&reg, &a.repository, &a.digest).await?;
            tracing::info!("deleted {}/{}@{}", a.registry, a.repository, a.digest);
            Ok(Done { repository: a.repository, digest: a.digest })
        },
    )?;
    api.async_fn(
        FnSpec {
            name: "registry.missing_blobs",
            doc: "HEADs every blob (and listed manifest) a manifest names and returns those the registry lacks (e.g. lost from its storage).",
            is_async: true,
            effect: Effect::ReadRemote,
            ..FnSpec::TYPED
        },
        |a: BlobCheckArgs| async move {
            let reg = Registry::new(&a.registry, &a.registries)?;
            super::missing_blobs(&reg, &a.repository, &a.reference, at_once("concurrency", a.concurrency, 8)?).await
        },
    )?;
    api.async_fn(
        FnSpec {
            name: "registry.copy",
            doc: "Copies an image (or manifest list) between registries without an engine: same digest on both sides, only missing blobs sent (each checked against its digest by apex before the upload is committed), manifest last.",
            is_async: true,
            effect: Effect::Remote,
            ..FnSpec::TYPED
        },
        |a: CopyArgs| async move {
            let (src, dst) = (ImageRef::parse(&a.source)?, ImageRef::parse(&a.destination)?);
            let from = Registry::new(&src.registry, &a.registries)?;
            let to = Registry::new(&dst.registry, &a.registries)?;
            let blob_concurrency = at_once("blob_concurrency", a.blob_concurrency, CopyOptions::default().blob_concurrency)?;
            let opts = CopyOptions { blob_concurrency, verify: a.verify, ..CopyOptions::default() };
            copy_image(&from, &src, &to, &dst, opts, &CopyContext::default()).await
        },
    )?;
    api.async_fn(
        FnSpec {
            name: "registry.mirror",
            doc: "Copies a list of images (steps 8c/8f) a few at a time, shared blobs sent once, with progress. Every image is attempted; failures raise together at the end unless allow_failures is set.",
            is_async: true,
            effect: Effect::Remote,
            ..FnSpec::TYPED
        },
        |a: MirrorArgs| async move {
            let mut opts = MirrorOptions::default();
            opts.concurrency = at_once("concurrency", a.concurrency, opts.concurrency)?;
            opts.copy.blob_concurrency = at_once("blob_concurrency", a.blob_concurrency, opts.copy.blob_concurrency)?;
            opts.copy.verify = a.verify;
            let summary = mirror_images(&a.images, a.registries, opts).await;
            check_failures("images", a.allow_failures, summary.failed.iter().map(|f| (f.source.as_str(), f.error.as_str())))?;
            Ok(summary)
        },
    )
}
