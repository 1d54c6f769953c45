//! Engine-free image copy between registries: manifests moved byte for byte
//! (the digest stays the same), each blob sent from the source into one
//! destination upload (in bounded memory) only when the destination lacks
//! it, the manifest pushed last so a tag never names a partial image.
//!
//! Every blob's digest is checked by apex before the registry's commit
//! point, in one of two ways:
//! - A blob up to [`IN_MEMORY_MAX`] (16 MiB: image configs, most own
//!   layers) is read whole from the source, its size and digest checked,
//!   and only then sent: POST (the session opens), then one `PUT ?digest=`
//!   carrying the bytes. A source that fails or lies opens no session; the
//!   body is replayable (a 401 or 429 answered, the PUT sent again). The
//!   memory is bounded by the process, not by the concurrency: at most 128
//!   MiB of such blobs at once (4 images x 4 blobs x 16 MiB would be 256);
//!   a blob that does not fit what is left streams instead.
//! - A larger blob streams: its bytes go into the session with one PATCH
//!   while apex hashes them; the final `PUT ?digest=` (empty) is sent only
//!   when they hash to the digest asked for.
//!
//! A session that does not end in its commit (an error, a digest mismatch,
//! a cancelled copy) is deleted, so no abandoned upload stays in the
//! destination's storage. Why never a PUT whose body streams from the
//! source (a request less than the PATCH): docker-registry (2.8) keeps the
//! session of a PUT that failed, whether its body was cut short or had
//! another digest (400), with the bytes it got, and refuses to delete it
//! (404 BLOB_UPLOAD_INVALID: the session's offset moved past the `_state`
//! its Location carries); a PATCH answers with the new state, so the
//! session can still be deleted. (In 2.8.2's upload dispatcher, a request
//! whose `_state` offset is not the session's closes the session's writer
//! before its handler calls `Cancel`, which then fails as "already closed";
//! only the registry's upload purging removes such a session, by default a
//! week after it started, and not at all where purging is off.) A body in
//! memory has no such failure: its digest is known good before it is sent.
//! Why not one `POST ?digest=` with the bytes (the spec's single-request
//! upload): docker-registry 2.8.2 answers it 202, discarding the body, and
//! where a registry takes it, a body cut short leaves a session whose name
//! the client never learnt.
//!
//! First copies (see `Starts`) read the destination's catalog once per run
//! (without token auth only: it would cost a token of its own): a
//! repository it lacks gets no manifest HEAD and no blob HEADs
//! (`CopyContext::is_new_repo`).
//!
//! What requests cost the destination (docker-registry 2.8.2, its CPU per
//! request, small blobs, measured with curl on a loaded 2-core machine):
//! any request ~1.3 ms on a kept-alive connection (~2.7 on a new one), a
//! blob HEAD ~1.7 (3.5), POST + PUT with the body ~12, POST + PATCH + PUT
//! ~15, a mount ~3.2-4.7, a catalog read ~9. Per GB of body every style
//! costs the same. Against curl uploading only the distinct layers (POST +
//! PUT each), a mirror also uploads every config, mounts the shared layers
//! into each repository and puts each manifest; and it reads every blob
//! from the source registry and hashes it, which on one machine takes CPU
//! from the destination too. The TripleO-size bench (4.5 GB, 2 cores, quiet
//! machine, `APEX_BENCH_TOOLS=apex,curl`, each run beside curl's): the first
//! copy at 1.18x curl's time (median of 5; 1.13-1.24), down from 1.34x
//! (1.23-1.36) before a waiting image gave its slot up (see `phases`: the
//! machine sat half idle while one copy sent the 1 GB base). Both runs keep
//! the 2 cores busy now; what is left is CPU curl's run does not spend:
//! apex's run ~34 CPU-s (destination ~24, the source registry ~3.8, apex
//! ~6), curl's ~28 (destination ~22, curl and its shells ~6). The source
//! registry's cost is mostly per request (~6 ms a GET at 1/20 size, where
//! the bytes weigh little; ~2.6 a manifest HEAD), the destination's extra
//! the 100 configs, 179 mounts and 100 manifests curl does not send.
//! Against curl making the same 100 images from the source's files
//! (configs, mounts and manifests too, 4 requests at a time) the first copy
//! takes 0.98x its time (0.97-1.17, 3 rounds). The 16 MiB bound: 8, 16 and
//! 32 MiB differ by at most one PATCH (~3 ms) for 75 of 100 own layers,
//! below the bench's noise; 16 MiB kept apex's peak RSS
//! at ~70 MB (8 MiB: ~36, all streamed: ~24).
//!
//! Blobs shared by the images of a run are sent once, by the copy that
//! claimed them first; the others mount them from its repository, which
//! their first token request already names (one token per repository): see
//! [`BlobLedger`] and the start order of first copies and reruns.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use anyhow::{Context as _, bail};
use futures::{StreamExt as _, TryStreamExt as _};
use serde::Serialize;
use sha2::Digest as _;
use url::Url;

use super::blobs::{Mount, UploadRefused};
use super::client::Registry;
use super::phases::{ImagePhase, Phases};
use super::reference::ImageRef;
use super::repository::{Descriptor, RawManifest};
use super::token::Scopes;
use super::transport::with_retries;

/// Blobs known to be in a destination registry during one run, so images
/// sharing a base layer send it once: the first copy uploads it, the others
/// mount it from that repository. One lock per digest keeps two concurrent
/// copies from uploading the same blob.
#[derive(Default)]
pub struct BlobLedger {
    slots: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<String>>>>>,
    /// The first repository that set out to send each blob: where the others
    /// mount it from (asked for in their token up front).
    claims: std::sync::Mutex<HashMap<String, String>>,
}

/// A blob's ledger slot, locked: the repository that holds the blob, once
/// one does.
type HeldSlot = tokio::sync::OwnedMutexGuard<Option<String>>;

/// What a copy learns when it claims the blobs it needs.
#[derive(Default)]
struct Claim {
    /// `pull` on the repositories that claimed some of them first.
    mounts: Scopes,
    /// The slots of the blobs this copy claimed first, locked from the claim
    /// on: a later claimer waits until this copy has sent the blob (or gave
    /// up), so it mounts from the repository its token names rather than
    /// racing to upload it.
    held: HashMap<String, HeldSlot>,
}

impl Claim {
    /// The image is in `repo` already (its tag names it): so are its blobs.
    fn held_by(self, repo: &str) {
        for (_, mut slot) in self.held {
            slot.get_or_insert_with(|| repo.to_string());
        }
    }
}

impl BlobLedger {
    /// Records that `repo` is about to need `digests`. Claims always follow
    /// one order and a copy waits only for earlier claimers, which never wait
    /// for it: no two copies wait for each other.
    fn claim(&self, registry: &str, digests: &[&str], repo: &str) -> Claim {
        let mut claims = self.claims.lock().expect("ledger lock");
        let mut claim = Claim::default();
        for d in digests {
            let key = format!("{registry}|{d}");
            match claims.get(&key) {
                Some(first) if first != repo => claim.mounts = claim.mounts.with(first, &["pull"]),
                // Claimed by an earlier call of this copy (a listed image).
                Some(_) => {}
                None => {
                    claims.insert(key, repo.to_string());
                    // Unlocked: no one else claimed it before.
                    if let Ok(slot) = self.slot(registry, d).try_lock_owned() {
                        claim.held.insert(d.to_string(), slot);
                    }
                }
            }
        }
        claim
    }

    fn slot(&self, registry: &str, digest: &str) -> Arc<tokio::sync::Mutex<Option<String>>> {
        let mut slots = self.slots.lock().expect("ledger lock");
        slots
            .entry(format!("{registry}|{digest}"))
            .or_default()
            .clone()
    }
}

/// How the copies of a run to each destination registry start. A rerun's
/// copies ask both sides with one HEAD each, at once (nothing else is asked
/// of the source: HEADs do not count against Docker Hub's pull limit). A
/// first copy's read the source manifest first and claim its blobs, so the
/// destination's first token request already names the repositories those
/// are mounted from: one token per repository. The first copy to a registry
/// decides for the rest, which wait for its HEADs.
#[derive(Default)]
struct Starts(std::sync::Mutex<HashMap<String, Arc<tokio::sync::watch::Sender<Option<bool>>>>>);

/// Held by the copy that decides; deciding nothing (an error) means HEADs first.
struct Decider(Arc<tokio::sync::watch::Sender<Option<bool>>>);

impl Decider {
    fn decide(self, first_copies: bool) {
        self.0.send_replace(Some(first_copies));
    }
}

impl Drop for Decider {
    fn drop(&mut self) {
        if self.0.borrow().is_none() {
            self.0.send_replace(Some(false));
        }
    }
}

impl Starts {
    /// Whether copies to `host` start from the source manifest, or (None)
    /// this copy decides.
    async fn first_copies(&self, host: &str) -> Result<bool, Decider> {
        let mut rx = {
            let mut by_host = self.0.lock().expect("starts lock");
            match by_host.get(host) {
                Some(tx) => tx.subscribe(),
                None => {
                    let tx = Arc::new(tokio::sync::watch::channel(None).0);
                    by_host.insert(host.to_string(), tx.clone());
                    return Err(Decider(tx));
                }
            }
        };
        match rx.wait_for(Option::is_some).await {
            Ok(v) => Ok(v.unwrap_or(false)),
            Err(_) => Ok(false),
        }
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

/// Blobs up to this size are, by default, read whole into memory, their
/// digest checked, then sent in one PUT (see the module header).
pub const IN_MEMORY_MAX: u64 = 16 << 20;

/// What the blobs held in memory may take at once, in KiB, over every copy
/// of the process (whatever the image and blob concurrency): 128 MiB. A
/// blob that would exceed it streams instead.
const IN_MEMORY_BUDGET_KIB: usize = 128 << 10;

static IN_MEMORY: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(IN_MEMORY_BUDGET_KIB);

/// Pages of 1000 names a destination's catalog may take to be used (see
/// [`CopyContext::is_new_repo`]); a longer one is not read.
const CATALOG_PAGES: usize = 10;

/// Tuning of a copy.
#[derive(Debug, Clone, Copy)]
pub struct CopyOptions {
    /// Blobs of one image transferred (or checked) at once (default 4).
    pub blob_concurrency: usize,
    /// Do not trust a destination that has the manifest under the tag: HEAD
    /// every blob it names (and, for a list, every listed manifest and its
    /// blobs) there, copy what is missing again from the source and push the
    /// manifest again ([`CopyStatus::Repaired`]). Default off: a rerun then
    /// costs one HEAD per image.
    pub verify: bool,
    /// Blobs up to this many bytes are read whole from the source, their
    /// digest checked, and only then sent to the destination in one PUT
    /// (default [`IN_MEMORY_MAX`]); larger ones stream (POST, PATCH, commit
    /// PUT). 0: every blob streams.
    pub in_memory_max: u64,
}

impl Default for CopyOptions {
    fn default() -> Self {
        Self {
            blob_concurrency: 4,
            verify: false,
            in_memory_max: IN_MEMORY_MAX,
        }
    }
}

/// What happened to one image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(inline)]
pub enum CopyStatus {
    /// The destination already had the manifest under that tag: nothing sent.
    Present,
    /// The manifest (and any missing blob) was sent.
    Copied,
    /// Under `verify`: the destination had the manifest under the tag but
    /// lacked some of what it names (`blobs_missing`); that was copied again
    /// and the manifest pushed again.
    Repaired,
}

/// The outcome of one image's copy.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(rename = "apex.CopyReport")]
pub struct CopyReport {
    pub source: String,
    pub destination: String,
    pub status: CopyStatus,
    /// Digest of the manifest (or list), identical on both sides.
    pub digest: String,
    pub blobs_sent: u64,
    /// Blobs linked from another repository of the destination.
    pub blobs_mounted: u64,
    pub blobs_present: u64,
    pub bytes_sent: u64,
    /// Under `verify`: blobs (and listed manifests) the destination's
    /// manifest named but the destination lacked, copied again.
    pub blobs_missing: u64,
}

/// Shared state of a run: the ledger and running counters (progress reads `bytes_sent`).
#[derive(Default)]
pub struct CopyContext {
    pub ledger: BlobLedger,
    pub stats: Arc<CopyStats>,
    starts: Starts,
    /// Each destination's catalog as first read by the run's first copies
    /// (None: not available), by host.
    catalogs: std::sync::Mutex<HashMap<String, Catalog>>,
    /// A mirror run's bounds on the images sending and finishing at once.
    phases: Option<Phases>,
}

type Catalog = Arc<tokio::sync::OnceCell<Option<std::collections::HashSet<String>>>>;

impl CopyContext {
    /// The shared state of a mirror run copying `concurrency` images at
    /// once (see [`Phases`]).
    pub fn for_mirror(concurrency: usize) -> Self {
        Self {
            phases: Some(Phases::new(concurrency)),
            ..Self::default()
        }
    }

    /// Waits for a slot to send an image in (at once outside a mirror run).
    pub(super) async fn sending_slot(&self) -> anyhow::Result<ImagePhase> {
        ImagePhase::sending(self.phases.as_ref()).await
    }

    /// Whether `repo` was missing from `to`'s catalog when this run first
    /// read it (once per registry, by the first copies only): such a
    /// repository held no blob then (docker-registry 2 lists a repository
    /// once it links one) or at least no manifest (3), so neither the tag
    /// nor its blobs need a HEAD. A blob there after all (pushed since, or
    /// without a manifest to a 3) is uploaded again: the registry takes the
    /// same bytes again and keeps one copy. A registry that refuses the catalog
    /// (404, 401) or has a longer one than [`CATALOG_PAGES`] pages gets the
    /// HEADs; so does one with token auth, where the catalog would cost a
    /// token of its own (and is seldom granted).
    async fn is_new_repo(&self, to: &Registry, repo: &str) -> bool {
        if to.uses_tokens() {
            return false;
        }
        let cell = self
            .catalogs
            .lock()
            .expect("catalogs lock")
            .entry(to.host().to_string())
            .or_default()
            .clone();
        let listed = cell
            .get_or_init(|| async {
                match to.catalog_within(CATALOG_PAGES).await {
                    Ok(Some(repos)) => Some(repos.into_iter().collect()),
                    Ok(None) => {
                        tracing::debug!(
                            "{}: catalog longer than {CATALOG_PAGES} pages: HEADs first",
                            to.host()
                        );
                        None
                    }
                    Err(e) => {
                        tracing::debug!("{}: no catalog ({e:#}): HEADs first", to.host());
                        None
                    }
                }
            })
            .await;
        listed.as_ref().is_some_and(|l| !l.contains(repo))
    }
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
    let phase = ctx.sending_slot().await?;
    copy_image_in(from, src, to, dst, opts, ctx, &phase).await
}

/// [`copy_image`] in the sending slot `phase` (see [`Phases`]).
pub(super) async fn copy_image_in(
    from: &Registry,
    src: &ImageRef,
    to: &Registry,
    dst: &ImageRef,
    opts: CopyOptions,
    ctx: &CopyContext,
    phase: &ImagePhase,
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
            blobs_missing: 0,
        };
        let repo = dst.repository.as_str();
        // Within one registry, blobs are mounted from the source repository.
        let same_host = if from.host() == to.host() && src.repository != dst.repository {
            Scopes::pull(&src.repository)
        } else {
            Scopes::default()
        };
        let (first_copies, decider) = match ctx.starts.first_copies(to.host()).await {
            Ok(f) => (f, None),
            Err(d) => (false, Some(d)),
        };
        let mut claim = None;
        let mut read = None;
        let mut fresh = false;
        let (source_digest, present_digest) = if first_copies {
            let manifest = from
                .manifest(&src.repository, &src.reference)
                .await?
                .with_context(|| format!("{src}: no such image in the source registry"))?;
            let mut also = same_host;
            // A list's images are read only when it is copied.
            if !manifest.is_list() {
                let blobs = image_blobs(&manifest)?;
                let digests: Vec<&str> = blobs.iter().map(|d| d.digest.as_str()).collect();
                let c = ctx.ledger.claim(to.host(), &digests, repo);
                also = also.union(&c.mounts);
                claim = Some(c);
            }
            to.will_push_with(repo, &also);
            // A repository the catalog lacked has no tag to ask about.
            fresh = ctx.is_new_repo(to, repo).await;
            let present = if fresh {
                None
            } else {
                to.manifest_digest(repo, &dst.reference).await?
            };
            let digest = manifest.digest.clone();
            read = Some(manifest);
            (digest, present)
        } else {
            to.will_push_with(repo, &same_host);
            // Both sides asked at once, HEAD only: a rerun costs one round trip
            // per image, and HEADs do not count against Docker Hub's pull limit.
            let (source_digest, present_digest) = futures::try_join!(
                from.manifest_digest(&src.repository, &src.reference),
                to.manifest_digest(repo, &dst.reference)
            )?;
            let source_digest = source_digest
                .with_context(|| format!("{src}: no such image in the source registry"))?;
            (source_digest, present_digest)
        };
        let present = present_digest.as_deref() == Some(source_digest.as_str());
        // Mixed runs aside, the rest follow: after a rerun's first image, at
        // once; after a first copy's, once its blobs are claimed (below), so
        // theirs name its repository.
        let mut decider = match decider {
            Some(d) if present => {
                d.decide(false);
                None
            }
            d => d,
        };
        let counters = Counters {
            run: ctx.stats.clone(),
            image: Arc::default(),
        };
        let t = Transfer {
            from,
            src,
            to,
            dst,
            opts,
            ledger: &ctx.ledger,
            counters: &counters,
            fresh,
            phase,
        };
        if present {
            report.digest = source_digest;
            if opts.verify {
                let missing = repair_present(t, &report.digest).await?;
                report.fill(&counters);
                if missing > 0 {
                    drop(claim);
                    report.status = CopyStatus::Repaired;
                    report.blobs_missing = missing;
                    tracing::warn!(
                        "{dst}: repaired {}: {missing} blob(s) or manifest(s) it names were missing; copied again (sent {} blobs, {} bytes; mounted {})",
                        report.digest,
                        report.blobs_sent,
                        report.bytes_sent,
                        report.blobs_mounted
                    );
                    return Ok(report);
                }
            }
            if let Some(c) = claim {
                c.held_by(repo);
            }
            // Debug: a rerun finds every image present; the mirror's summary says how many.
            tracing::debug!("{dst}: already present ({})", report.digest);
            return Ok::<_, anyhow::Error>(report);
        }
        let manifest = match read {
            Some(m) => m,
            // By digest: the tag may have moved since the HEAD.
            None => from
                .manifest(&src.repository, &source_digest)
                .await?
                .with_context(|| {
                    format!("{src}: manifest {source_digest} vanished from the source registry")
                })?,
        };
        report.digest = manifest.digest.clone();
        if claim.is_none() && !manifest.is_list() {
            let blobs = image_blobs(&manifest)?;
            let digests: Vec<&str> = blobs.iter().map(|d| d.digest.as_str()).collect();
            claim = Some(ctx.ledger.claim(to.host(), &digests, repo));
        }
        if let Some(d) = decider.take() {
            d.decide(true);
        }
        if manifest.is_list() {
            for entry in manifest.parse()?.manifests {
                let child = from
                    .manifest(&src.repository, &entry.digest)
                    .await?
                    .with_context(|| {
                        format!("{src}: listed manifest {} is missing", entry.digest)
                    })?;
                copy_blobs(t, image_blobs(&child)?, None).await?;
                to.put_manifest(&dst.repository, &child.digest, &child)
                    .await?;
            }
        } else {
            copy_blobs(t, image_blobs(&manifest)?, claim).await?;
        }
        to.put_manifest(&dst.repository, &dst.reference, &manifest)
            .await?;
        report.status = CopyStatus::Copied;
        report.fill(&counters);
        tracing::debug!(
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

impl CopyReport {
    fn fill(&mut self, counters: &Counters) {
        let image = &counters.image;
        self.blobs_sent = image.blobs_sent.load(Ordering::Relaxed);
        self.blobs_mounted = image.blobs_mounted.load(Ordering::Relaxed);
        self.blobs_present = image.blobs_present.load(Ordering::Relaxed);
        self.bytes_sent = image.bytes_sent.load(Ordering::Relaxed);
    }
}

/// Under `verify`, for a destination that has the manifest (list) `digest`
/// under the tag: HEADs every blob it names (a list: every listed manifest,
/// then its blobs) at the destination, copies what is missing from the
/// source and pushes the manifests again. Returns how many blobs and listed
/// manifests were missing. The manifests are read from the destination (by
/// digest, so their bytes are checked): nothing is asked of the source
/// while everything is there.
async fn repair_present(t: Transfer<'_>, digest: &str) -> anyhow::Result<u64> {
    let Transfer {
        from,
        src,
        to,
        dst,
        opts,
        counters,
        ..
    } = t;
    let repo = dst.repository.as_str();
    let manifest = to.manifest(repo, digest).await?.with_context(|| {
        format!("{dst}: the tag names {digest} but the manifest cannot be read")
    })?;
    let mut missing = 0;
    // Listed manifests to push again after their blobs (or themselves) were repaired.
    let mut children = Vec::new();
    let mut images = Vec::new();
    if manifest.is_list() {
        for entry in manifest.parse()?.manifests {
            match to.manifest(repo, &entry.digest).await? {
                Some(child) => images.push(child),
                None => {
                    missing += 1;
                    let child = from
                        .manifest(&src.repository, &entry.digest)
                        .await?
                        .with_context(|| {
                            format!("{src}: listed manifest {} is missing", entry.digest)
                        })?;
                    copy_blobs(t, image_blobs(&child)?, None).await?;
                    children.push(child);
                }
            }
        }
    } else {
        images.push(manifest.clone());
    }
    for image in images {
        let blobs = image_blobs(&image)?;
        let checked: Vec<(Descriptor, bool)> =
            futures::stream::iter(blobs.into_iter().map(|d| async move {
                let there = to.blob_exists(repo, &d.digest).await?;
                Ok::<_, anyhow::Error>((d, there))
            }))
            .buffer_unordered(opts.blob_concurrency.max(1))
            .try_collect()
            .await?;
        let mut lost = Vec::new();
        for (d, there) in checked {
            if there {
                counters.add(|s| &s.blobs_present, 1);
            } else {
                tracing::warn!("{dst}: blob {} is missing at the destination", d.digest);
                lost.push(d);
            }
        }
        if !lost.is_empty() {
            missing += lost.len() as u64;
            copy_blobs(t, lost, None).await?;
            if manifest.is_list() {
                children.push(image);
            }
        }
    }
    if missing > 0 {
        for child in &children {
            to.put_manifest(repo, &child.digest, child).await?;
        }
        to.put_manifest(repo, &dst.reference, &manifest).await?;
    }
    Ok(missing)
}

/// The blobs (config and layers) an image manifest names that a registry holds.
pub(super) fn image_blobs(manifest: &RawManifest) -> anyhow::Result<Vec<Descriptor>> {
    let body = manifest.parse()?;
    Ok(body
        .config
        .into_iter()
        .chain(body.layers)
        // Foreign layers live elsewhere (their `urls`); registries do not hold them.
        .filter(|d| d.urls.is_empty())
        .collect())
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

/// One image's copy as its blobs see it: both sides, the options, and
/// what the run shares (the ledger, the counters).
#[derive(Clone, Copy)]
struct Transfer<'a> {
    from: &'a Registry,
    src: &'a ImageRef,
    to: &'a Registry,
    dst: &'a ImageRef,
    opts: CopyOptions,
    ledger: &'a BlobLedger,
    counters: &'a Counters,
    /// The destination repository was missing from the catalog: no HEAD
    /// before an upload (see [`CopyContext::is_new_repo`]).
    fresh: bool,
    /// The image's slot in a mirror run: given up while it waits for blobs
    /// other copies send.
    phase: &'a ImagePhase,
}

/// Copies the blobs an image lacks; `claim` is the image's claim on them
/// when made already (before its first request to the destination). The
/// blobs it holds or finds free go first; those another copy is sending
/// now are waited for with the image's slot given up (see [`Phases`]),
/// then mounted.
async fn copy_blobs(
    t: Transfer<'_>,
    blobs: Vec<Descriptor>,
    claim: Option<Claim>,
) -> anyhow::Result<()> {
    let Transfer {
        from,
        src,
        to,
        dst,
        ledger,
        ..
    } = t;
    // Every repository this image may mount from, in one token.
    let claim = claim.unwrap_or_else(|| {
        let digests: Vec<&str> = blobs.iter().map(|d| d.digest.as_str()).collect();
        ledger.claim(to.host(), &digests, &dst.repository)
    });
    let mut mount_scopes = claim.mounts;
    if from.host() == to.host() && src.repository != dst.repository {
        mount_scopes = mount_scopes.with(&src.repository, &["pull"]);
    }
    let mut held = claim.held;
    let (mut now, mut later) = (Vec::new(), Vec::new());
    for d in blobs {
        let slot = held
            .remove(&d.digest)
            .or_else(|| ledger.slot(to.host(), &d.digest).try_lock_owned().ok());
        match slot {
            Some(slot) => now.push((d, Some(slot))),
            None => later.push((d, None)),
        }
    }
    drop(held);
    copy_each(t, now, &mount_scopes).await?;
    if later.is_empty() {
        return Ok(());
    }
    t.phase.wait().await;
    for (d, _) in &later {
        let slot = ledger.slot(to.host(), &d.digest);
        drop(slot.lock().await);
    }
    t.phase.resume().await?;
    copy_each(t, later, &mount_scopes).await
}

/// A blob to copy, with its ledger slot when this copy holds it already.
type Job = (Descriptor, Option<HeldSlot>);

/// Copies `jobs`, `blob_concurrency` at a time.
async fn copy_each(t: Transfer<'_>, jobs: Vec<Job>, mount_scopes: &Scopes) -> anyhow::Result<()> {
    // After a failure no further blob is started, but those under way are
    // let finish: dropping one amid its PATCH would leave its upload session
    // in the registry (it can only be deleted with the state the PATCH's
    // answer carries; docker-registry refuses a stale one and keeps it).
    // A blob not started lets its slot go.
    let failed = &AtomicBool::new(false);
    let results: Vec<anyhow::Result<()>> =
        futures::stream::iter(jobs.into_iter().map(|(d, slot)| async move {
            if failed.load(Ordering::Relaxed) {
                return Ok(());
            }
            let r = copy_blob(t, d, mount_scopes, slot).await;
            if r.is_err() {
                failed.store(true, Ordering::Relaxed);
            }
            r
        }))
        .buffer_unordered(t.opts.blob_concurrency.max(1))
        .collect()
        .await;
    results.into_iter().collect()
}

async fn copy_blob(
    t: Transfer<'_>,
    blob: Descriptor,
    mount_scopes: &Scopes,
    held: Option<HeldSlot>,
) -> anyhow::Result<()> {
    let Transfer {
        from,
        src,
        to,
        dst,
        ledger,
        counters,
        fresh,
        ..
    } = t;
    let known = match held {
        Some(slot) => slot,
        None => ledger.slot(to.host(), &blob.digest).lock_owned().await,
    };
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
    // A blob some repository holds already is only mounted: its slot is let
    // go at once, so the copies that waited for it mount it side by side.
    // The slot of one to send is kept until it is there.
    let sending = known.is_none().then_some(known);
    let what = format!("blob {digest} to {}/{repo}", to.host());
    // A small blob to upload is read whole and checked before its session
    // opens, then sent in one PUT; kept across attempts.
    let memory = if mount_from.is_none() && blob.size <= t.opts.in_memory_max {
        let kib = blob.size.div_ceil(1024).clamp(1, u32::MAX.into()) as u32;
        IN_MEMORY.try_acquire_many(kib).ok().map(|permit| InMemory {
            bytes: std::sync::Mutex::new(None),
            _permit: permit,
        })
    } else {
        None
    };
    let memory = memory.as_ref();
    // A refused upload (its token ran out before the registry read the
    // request, or a rate limit was waited out) starts over once, whole.
    let mut restarted = false;
    loop {
        let attempt = with_retries(&what, to.attempts(), || async {
            if mount_from.is_none() && !fresh && to.blob_exists(repo, digest).await? {
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
                None => {
                    // Read and checked before a session opens: a source
                    // failing or lying opens none.
                    if let Some(m) = memory {
                        m.load(from, src, to, repo, &blob, counters).await?;
                    }
                    to.start_upload(repo).await?
                }
            };
            let mut session = UploadSession::open(to, repo, location);
            let sent = match memory.and_then(InMemory::get) {
                Some(bytes) => {
                    to.put_upload_bytes(repo, session.url(), digest, bytes)
                        .await
                }
                None => send_blob(from, src, to, repo, &blob, counters, &mut session).await,
            };
            match sent {
                Ok(()) => session.committed(),
                Err(e) => {
                    session.abandon().await;
                    return Err(e);
                }
            }
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
    if let Some(mut slot) = sending {
        *slot = Some(repo.to_string());
    }
    Ok(())
}

/// An upload session opened at the destination: unless committed, it is
/// deleted on an error ([`UploadSession::abandon`], awaited) or when the
/// copy holding it is dropped midway (a DELETE sent by a task of its own).
/// While open it is also recorded in [`OPEN`], with the DELETE that ends
/// it: a run stopped by a signal drops its copies without running their
/// clean-up, and [`abandon_open_uploads`] sends those DELETEs as it ends.
struct UploadSession<'a> {
    reg: &'a Registry,
    repo: &'a str,
    /// Where the session is now (a PATCH answers with its next Location).
    location: Option<Url>,
    id: u64,
}

/// Upload sessions open now (see [`UploadSession`]), by id.
static OPEN: std::sync::LazyLock<
    std::sync::Mutex<std::collections::HashMap<u64, (Url, reqwest::RequestBuilder)>>,
> = std::sync::LazyLock::new(Default::default);

fn open_sessions()
-> std::sync::MutexGuard<'static, std::collections::HashMap<u64, (Url, reqwest::RequestBuilder)>> {
    OPEN.lock().unwrap_or_else(|e| e.into_inner())
}

/// A new id for [`OPEN`].
fn session_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// POSTs that may open an upload session, in flight now (their answers are
/// awaited before the clean-up deletes what is open).
static OPENING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Counts a session-opening POST in flight while it lives.
pub(super) struct OpeningGuard(());

impl OpeningGuard {
    pub(super) fn new() -> Self {
        OPENING.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Self(())
    }
}

impl Drop for OpeningGuard {
    fn drop(&mut self) {
        OPENING.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// An upload session the registry opened for a copy that was dropped
/// before it read the answer: deleted by [`abandon_open_uploads`].
pub(super) fn orphaned_session(location: Url, delete: reqwest::RequestBuilder) {
    open_sessions().insert(session_id(), (location, delete));
}

/// Deletes every upload session still open (a copy cut off by SIGINT or
/// SIGTERM, or dropped midway), all at once within `deadline`: what a
/// failed copy does, for a cancelled one. Sessions already deleted answer
/// 404, which is fine. Session-opening POSTs still in flight are awaited
/// first (within the same deadline): one may have opened a session.
pub async fn abandon_open_uploads(deadline: std::time::Duration) {
    let start = std::time::Instant::now();
    while OPENING.load(std::sync::atomic::Ordering::SeqCst) > 0 && start.elapsed() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let deadline = deadline.saturating_sub(start.elapsed());
    let open: Vec<(Url, reqwest::RequestBuilder)> =
        open_sessions().drain().map(|(_, v)| v).collect();
    if open.is_empty() {
        return;
    }
    let n = open.len();
    let sends = open.into_iter().map(|(loc, req)| async move {
        match req.send().await {
            Ok(r) if r.status().is_success() || r.status() == reqwest::StatusCode::NOT_FOUND => {
                true
            }
            Ok(r) => {
                tracing::warn!("DELETE {loc} (abandoned upload): HTTP {}", r.status());
                false
            }
            Err(e) => {
                tracing::warn!("DELETE {loc} (abandoned upload): {e:#}");
                false
            }
        }
    });
    match tokio::time::timeout(deadline, futures::future::join_all(sends)).await {
        Ok(done) => tracing::info!(
            "deleted {} of {n} upload session(s) the run left open",
            done.iter().filter(|ok| **ok).count()
        ),
        Err(_) => tracing::warn!("{n} upload session(s) not deleted within {deadline:?}"),
    }
}

impl<'a> UploadSession<'a> {
    fn open(reg: &'a Registry, repo: &'a str, location: Url) -> Self {
        let id = session_id();
        let mut s = Self {
            reg,
            repo,
            location: None,
            id,
        };
        s.moved(location);
        s
    }

    /// The session's new location (after a PATCH).
    fn moved(&mut self, location: Url) {
        let req = self.reg.cancel_request(self.repo, location.clone());
        open_sessions().insert(self.id, (location.clone(), req));
        self.location = Some(location);
    }

    fn url(&self) -> &Url {
        self.location.as_ref().expect("an open upload session")
    }

    fn committed(mut self) {
        self.location = None;
        open_sessions().remove(&self.id);
    }

    /// Deletes the session, best effort: a failure is only logged.
    async fn abandon(mut self) {
        open_sessions().remove(&self.id);
        if let Some(loc) = self.location.take()
            && let Err(e) = self.reg.cancel_upload(self.repo, &loc).await
        {
            tracing::debug!("abandoning the upload session {loc}: {e:#}");
        }
    }
}

impl Drop for UploadSession<'_> {
    fn drop(&mut self) {
        if let Some(loc) = self.location.take() {
            self.reg.cancel_upload_detached(self.repo, loc);
        }
    }
}

/// A running hash of the bytes of a blob, in the algorithm of its digest.
enum BlobHasher {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl BlobHasher {
    /// None for an algorithm apex cannot check (the registry still does).
    fn for_digest(digest: &str) -> Option<Self> {
        match digest.split_once(':')?.0 {
            "sha256" => Some(Self::Sha256(sha2::Sha256::new())),
            "sha512" => Some(Self::Sha512(sha2::Sha512::new())),
            _ => None,
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            Self::Sha256(h) => h.update(bytes),
            Self::Sha512(h) => h.update(bytes),
        }
    }

    fn finish(self) -> String {
        match self {
            Self::Sha256(h) => format!("sha256:{}", hex::encode(h.finalize())),
            Self::Sha512(h) => format!("sha512:{}", hex::encode(h.finalize())),
        }
    }
}

/// A small blob's bytes, read whole from the source and checked against
/// its digest, kept across the attempts of its copy; holds its share of
/// [`IN_MEMORY`] while it lives.
struct InMemory {
    bytes: std::sync::Mutex<Option<bytes::Bytes>>,
    _permit: tokio::sync::SemaphorePermit<'static>,
}

impl InMemory {
    fn get(&self) -> Option<bytes::Bytes> {
        self.bytes.lock().expect("blob bytes lock").clone()
    }

    /// Reads the blob (once) and checks its size and digest.
    async fn load(
        &self,
        from: &Registry,
        src: &ImageRef,
        to: &Registry,
        repo: &str,
        blob: &Descriptor,
        counters: &Counters,
    ) -> anyhow::Result<()> {
        if self.get().is_some() {
            return Ok(());
        }
        let digest = blob.digest.as_str();
        let origin = format!("blob {digest} from {}/{}", from.host(), src.repository);
        let resp = from.blob_stream(&src.repository, digest).await?;
        // At most the size the manifest names (and the budget holds).
        let mut buf = bytes::BytesMut::with_capacity(blob.size as usize);
        // Hashed as it arrives (no long hash of the whole on a runtime thread).
        let mut hasher = BlobHasher::for_digest(digest);
        let mut body = resp.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.with_context(|| format!("reading {origin}"))?;
            if (buf.len() + chunk.len()) as u64 > blob.size {
                bail!(
                    "{origin}: the source sent more than the {} bytes the manifest names",
                    blob.size
                );
            }
            if let Some(h) = hasher.as_mut() {
                h.update(&chunk);
            }
            buf.extend_from_slice(&chunk);
        }
        if buf.len() as u64 != blob.size {
            bail!(
                "{origin}: the source sent {} bytes, the manifest names {}",
                buf.len(),
                blob.size
            );
        }
        match hasher {
            Some(h) => {
                let got = h.finish();
                if got != digest {
                    bail!(
                        "{origin}: the source sent bytes whose digest is {got}, not {digest}; nothing sent to {}/{repo}",
                        to.host()
                    );
                }
            }
            None => tracing::debug!("blob {digest}: digest algorithm not checked by apex"),
        }
        counters.add(|s| &s.bytes_sent, buf.len() as u64);
        *self.bytes.lock().expect("blob bytes lock") = Some(buf.freeze());
        Ok(())
    }
}

/// Streams one blob from the source into the open session (one PATCH),
/// hashing it on the way, and commits the session only when the bytes hash
/// to the digest asked for.
async fn send_blob(
    from: &Registry,
    src: &ImageRef,
    to: &Registry,
    repo: &str,
    blob: &Descriptor,
    counters: &Counters,
    session: &mut UploadSession<'_>,
) -> anyhow::Result<()> {
    let digest = blob.digest.as_str();
    let resp = from.blob_stream(&src.repository, digest).await?;
    let hasher = Arc::new(std::sync::Mutex::new(BlobHasher::for_digest(digest)));
    let (c, h) = (counters.clone(), hasher.clone());
    let stream = resp.bytes_stream().inspect_ok(move |chunk| {
        c.add(|s| &s.bytes_sent, chunk.len() as u64);
        if let Some(h) = h.lock().expect("hasher lock").as_mut() {
            h.update(chunk);
        }
    });
    let next = to
        .upload_bytes(
            repo,
            session.url(),
            blob.size,
            reqwest::Body::wrap_stream(stream),
        )
        .await?;
    session.moved(next);
    let taken = hasher.lock().expect("hasher lock").take();
    match taken {
        Some(h) => {
            let got = h.finish();
            if got != digest {
                bail!(
                    "blob {digest} from {}/{}: the source sent bytes whose digest is {got}, not {digest}; not committed to {}/{repo} (upload abandoned)",
                    from.host(),
                    src.repository,
                    to.host()
                );
            }
        }
        None => tracing::debug!("blob {digest}: digest algorithm not checked by apex"),
    }
    to.commit_upload(repo, session.url(), digest).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_later_claimer_names_the_first_which_holds_the_blob_until_it_has_it() {
        let ledger = BlobLedger::default();
        let a = ledger.claim("reg", &["sha256:1", "sha256:2"], "a");
        assert!(a.mounts.is_empty());
        assert_eq!(a.held.len(), 2);
        let b = ledger.claim("reg", &["sha256:2", "sha256:3"], "b");
        assert_eq!(b.mounts, Scopes::pull("a"));
        assert_eq!(b.held.keys().collect::<Vec<_>>(), ["sha256:3"]);
        // Another registry is another ledger entry.
        assert!(ledger.claim("other", &["sha256:2"], "b").mounts.is_empty());
        let slot = ledger.slot("reg", "sha256:2");
        assert!(slot.try_lock().is_err(), "a holds it until it has sent it");
        a.held_by("a");
        assert_eq!(slot.try_lock().unwrap().as_deref(), Some("a"));
        // A claim dropped unused lets its slots go, holding nothing.
        drop(b);
        assert_eq!(*ledger.slot("reg", "sha256:3").try_lock().unwrap(), None);
    }

    #[tokio::test]
    async fn the_first_copy_to_a_registry_decides_how_the_others_start() {
        let starts = Starts::default();
        let Err(decider) = starts.first_copies("reg").await else {
            panic!("the first copy decides")
        };
        let waiting = tokio::spawn({
            let tx = starts.0.lock().unwrap()["reg"].clone();
            async move {
                let mut rx = tx.subscribe();
                *rx.wait_for(Option::is_some).await.unwrap()
            }
        });
        decider.decide(true);
        assert_eq!(waiting.await.unwrap(), Some(true));
        assert!(matches!(starts.first_copies("reg").await, Ok(true)));
        // A decider dropped undecided (its copy failed) means HEADs first.
        let Err(d) = starts.first_copies("other").await else {
            panic!()
        };
        drop(d);
        assert!(matches!(starts.first_copies("other").await, Ok(false)));
    }
}
