//! Engine-free image copy between registries: manifests moved byte for byte
//! (the digest stays the same), each blob streamed from the source GET into
//! one destination PUT (constant memory) only when the destination lacks it,
//! the manifest pushed last so a tag never names a partial image.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context as _;
use futures::{StreamExt as _, TryStreamExt as _};
use serde::Serialize;

use super::client::{Descriptor, Mount, RawManifest, Registry, UploadRefused, with_retries};
use super::reference::ImageRef;
use super::token::Scopes;

/// Blobs known to be in a destination registry during one run, so images
/// sharing a base layer send it once: the first copy uploads it, the others
/// mount it from that repository. One lock per digest keeps two concurrent
/// copies from uploading the same blob.
#[derive(Default)]
pub struct BlobLedger {
    slots: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<String>>>>>,
    /// The first repository that set out to send each blob: where the others
    /// will most likely mount it from (asked for in their token up front).
    claims: std::sync::Mutex<HashMap<String, String>>,
}

impl BlobLedger {
    /// Records that `repo` is about to need `digests`; returns the other
    /// repositories that claimed some of them first.
    fn claim(&self, registry: &str, digests: &[&str], repo: &str) -> Vec<String> {
        let mut claims = self.claims.lock().expect("ledger lock");
        let mut others: Vec<String> = digests
            .iter()
            .map(|d| {
                claims
                    .entry(format!("{registry}|{d}"))
                    .or_insert_with(|| repo.to_string())
                    .clone()
            })
            .filter(|r| r != repo)
            .collect();
        others.sort();
        others.dedup();
        others
    }

    fn slot(&self, registry: &str, digest: &str) -> Arc<tokio::sync::Mutex<Option<String>>> {
        let mut slots = self.slots.lock().expect("ledger lock");
        slots
            .entry(format!("{registry}|{digest}"))
            .or_default()
            .clone()
    }
}

/// Counters of one copy (or a whole mirror run).
#[derive(Debug, Default)]
pub struct CopyStats {
    pub blobs_sent: AtomicU64,
    pub blobs_mounted: AtomicU64,
    pub blobs_present: AtomicU64,
    pub bytes_sent: AtomicU64,
}

/// Tuning of a copy.
#[derive(Debug, Clone, Copy)]
pub struct CopyOptions {
    /// Blobs of one image transferred at once (default 4).
    pub blob_concurrency: usize,
}

impl Default for CopyOptions {
    fn default() -> Self {
        Self {
            blob_concurrency: 4,
        }
    }
}

/// What happened to one image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CopyStatus {
    /// The destination already had the manifest under that tag: nothing sent.
    Present,
    /// The manifest (and any missing blob) was sent.
    Copied,
}

/// The outcome of [`copy_image`].
#[derive(Debug, Clone, Serialize)]
pub struct CopyReport {
    pub source: String,
    pub destination: String,
    pub status: CopyStatus,
    /// Digest of the manifest (or list), identical on both sides.
    pub digest: String,
    pub blobs_sent: u64,
    pub blobs_mounted: u64,
    pub blobs_present: u64,
    pub bytes_sent: u64,
}

/// Shared state of a run: the ledger and running counters (progress reads `bytes_sent`).
#[derive(Default)]
pub struct CopyContext {
    pub ledger: BlobLedger,
    pub stats: Arc<CopyStats>,
}

/// Copies `src` (in `from`) to `dst` (in `to`). Manifest lists are copied
/// with every image they list. When the destination already has the same
/// digest under the tag, nothing else is requested.
pub async fn copy_image(
    from: &Registry,
    src: &ImageRef,
    to: &Registry,
    dst: &ImageRef,
    opts: CopyOptions,
    ctx: &CopyContext,
) -> anyhow::Result<CopyReport> {
    let run = async {
        let mut report = CopyReport {
            source: src.to_string(),
            destination: dst.to_string(),
            status: CopyStatus::Present,
            digest: String::new(),
            blobs_sent: 0,
            blobs_mounted: 0,
            blobs_present: 0,
            bytes_sent: 0,
        };
        to.will_push(&dst.repository);
        // Both sides asked at once, HEAD only: a rerun costs one round trip
        // per image, and HEADs do not count against Docker Hub's pull limit.
        let (source_digest, present_digest) = futures::try_join!(
            from.manifest_digest(&src.repository, &src.reference),
            to.manifest_digest(&dst.repository, &dst.reference)
        )?;
        let source_digest = source_digest
            .with_context(|| format!("{src}: no such image in the source registry"))?;
        if present_digest.as_deref() == Some(source_digest.as_str()) {
            // Debug: a rerun finds every image present; the mirror's summary says how many.
            tracing::debug!("{dst}: already present ({source_digest})");
            report.digest = source_digest;
            return Ok::<_, anyhow::Error>(report);
        }
        // By digest: the tag may have moved since the HEAD.
        let manifest = from
            .manifest(&src.repository, &source_digest)
            .await?
            .with_context(|| {
                format!("{src}: manifest {source_digest} vanished from the source registry")
            })?;
        report.digest = manifest.digest.clone();
        let counters = Counters {
            run: ctx.stats.clone(),
            image: Arc::default(),
        };
        if manifest.is_list() {
            for entry in manifest.parse()?.manifests {
                let child = from
                    .manifest(&src.repository, &entry.digest)
                    .await?
                    .with_context(|| {
                        format!("{src}: listed manifest {} is missing", entry.digest)
                    })?;
                copy_blobs(from, src, to, dst, &child, opts, &ctx.ledger, &counters).await?;
                to.put_manifest(&dst.repository, &child.digest, &child)
                    .await?;
            }
        } else {
            copy_blobs(from, src, to, dst, &manifest, opts, &ctx.ledger, &counters).await?;
        }
        to.put_manifest(&dst.repository, &dst.reference, &manifest)
            .await?;
        report.status = CopyStatus::Copied;
        report.blobs_sent = counters.image.blobs_sent.load(Ordering::Relaxed);
        report.blobs_mounted = counters.image.blobs_mounted.load(Ordering::Relaxed);
        report.blobs_present = counters.image.blobs_present.load(Ordering::Relaxed);
        report.bytes_sent = counters.image.bytes_sent.load(Ordering::Relaxed);
        tracing::info!(
            "{dst}: copied {} (sent {} blobs, {} bytes; mounted {}; present {})",
            report.digest,
            report.blobs_sent,
            report.bytes_sent,
            report.blobs_mounted,
            report.blobs_present
        );
        Ok(report)
    };
    run.await.with_context(|| format!("copying {src} to {dst}"))
}

/// Adds to the run's counters and the image's at once.
#[derive(Clone)]
struct Counters {
    run: Arc<CopyStats>,
    image: Arc<CopyStats>,
}

impl Counters {
    fn add(&self, pick: impl Fn(&CopyStats) -> &AtomicU64, n: u64) {
        pick(&self.run).fetch_add(n, Ordering::Relaxed);
        pick(&self.image).fetch_add(n, Ordering::Relaxed);
    }
}

#[allow(clippy::too_many_arguments)]
async fn copy_blobs(
    from: &Registry,
    src: &ImageRef,
    to: &Registry,
    dst: &ImageRef,
    manifest: &RawManifest,
    opts: CopyOptions,
    ledger: &BlobLedger,
    counters: &Counters,
) -> anyhow::Result<()> {
    let body = manifest.parse()?;
    let blobs: Vec<Descriptor> = body
        .config
        .into_iter()
        .chain(body.layers)
        // Foreign layers live elsewhere (their `urls`); registries do not hold them.
        .filter(|d| d.urls.is_empty())
        .collect();
    // Every repository this image may mount from, asked for in one token
    // with the first mount (one token fetch per image, not per source).
    let digests: Vec<&str> = blobs.iter().map(|d| d.digest.as_str()).collect();
    let mut mount_scopes = Scopes::default();
    for other in ledger.claim(to.host(), &digests, &dst.repository) {
        mount_scopes = mount_scopes.with(&other, &["pull"]);
    }
    if from.host() == to.host() && src.repository != dst.repository {
        mount_scopes = mount_scopes.with(&src.repository, &["pull"]);
    }
    let mount_scopes = &mount_scopes;
    futures::stream::iter(
        blobs
            .into_iter()
            .map(|d| copy_blob(from, src, to, dst, d, ledger, counters, mount_scopes)),
    )
    .buffer_unordered(opts.blob_concurrency.max(1))
    .try_collect::<Vec<()>>()
    .await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn copy_blob(
    from: &Registry,
    src: &ImageRef,
    to: &Registry,
    dst: &ImageRef,
    blob: Descriptor,
    ledger: &BlobLedger,
    counters: &Counters,
    mount_scopes: &Scopes,
) -> anyhow::Result<()> {
    let slot = ledger.slot(to.host(), &blob.digest);
    let mut known = slot.lock().await;
    let digest = blob.digest.as_str();
    let repo = dst.repository.as_str();
    if known.as_deref() == Some(repo) {
        counters.add(|s| &s.blobs_present, 1);
        return Ok(());
    }
    // Mount from a repository this run already filled, else from the source
    // repository when both sides are one registry.
    let mount_from = known
        .clone()
        .or_else(|| (from.host() == to.host()).then(|| src.repository.clone()));
    let what = format!("blob {digest} to {}/{repo}", to.host());
    // A refused upload (its token ran out before the registry read the
    // request, or a rate limit was waited out) starts over once, whole.
    let mut restarted = false;
    loop {
        let attempt = with_retries(&what, to.attempts(), || async {
            if mount_from.is_none() && to.blob_exists(repo, digest).await? {
                counters.add(|s| &s.blobs_present, 1);
                return Ok(());
            }
            let location = match &mount_from {
                Some(other) => match to
                    .mount_blob_with(repo, digest, other, mount_scopes)
                    .await?
                {
                    Mount::Mounted => {
                        counters.add(|s| &s.blobs_mounted, 1);
                        return Ok(());
                    }
                    Mount::Upload(loc) => loc,
                },
                None => to.start_upload(repo).await?,
            };
            let resp = from.blob_stream(&src.repository, digest).await?;
            let c = counters.clone();
            let stream = resp
                .bytes_stream()
                .inspect_ok(move |chunk| c.add(|s| &s.bytes_sent, chunk.len() as u64));
            to.finish_upload_to(
                repo,
                location,
                digest,
                blob.size,
                reqwest::Body::wrap_stream(stream),
            )
            .await?;
            counters.add(|s| &s.blobs_sent, 1);
            Ok(())
        })
        .await;
        match attempt {
            Err(e) if !restarted && e.chain().any(|c| c.is::<UploadRefused>()) => {
                tracing::info!("{what}: upload refused ({e:#}); starting it over once");
                restarted = true;
            }
            other => break other?,
        }
    }
    // The first repository that held it stays the one to mount from: the
    // others' tokens already name it (a moving source would cost a token each).
    if known.is_none() {
        *known = Some(repo.to_string());
    }
    Ok(())
}
