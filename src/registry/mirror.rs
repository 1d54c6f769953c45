//! Mirroring a list of images into a registry (flow steps 8c and 8f):
//! bounded concurrency across images (an image waiting for a blob another
//! sends lets the next start: see `phases`), shared blobs sent once, one image's
//! failure recorded without losing the others, and a summary a flow can act on.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures::StreamExt as _;
use serde::{Deserialize, Serialize};

use super::client::{Registry, RegistrySettings};
use super::copy::{CopyContext, CopyOptions, CopyReport, CopyStatus, copy_image_in};
use super::phases::in_flight;
use super::reference::ImageRef;
use super::transport::is_unreachable;
use crate::progress::{Progress, Unit};

/// One image to copy.
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
#[schemars(inline)]
#[serde(deny_unknown_fields)]
pub struct MirrorItem {
    pub source: String,
    pub destination: String,
}

/// An image that could not be copied, and why.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct MirrorFailure {
    pub source: String,
    pub destination: String,
    pub error: String,
}

/// What a mirror run did.
#[derive(Debug, Default, Serialize, schemars::JsonSchema)]
#[schemars(rename = "apex.MirrorSummary")]
pub struct MirrorSummary {
    pub copied: Vec<CopyReport>,
    pub present: Vec<CopyReport>,
    /// Under `verify`: images whose tag was there but some blob it names was
    /// not; copied again.
    pub repaired: Vec<CopyReport>,
    pub failed: Vec<MirrorFailure>,
    pub blobs_sent: u64,
    pub blobs_mounted: u64,
    pub bytes_sent: u64,
    /// Bearer tokens fetched from the registries' token servers (one per
    /// scope set while it lasts).
    pub token_fetches: u64,
    /// Seconds spent waiting out rate limits (429 with Retry-After).
    pub rate_limit_wait_secs: f64,
}

/// Tuning of a mirror run.
#[derive(Debug, Clone, Copy)]
pub struct MirrorOptions {
    /// Images sending their blobs at once (default 4); as many more may
    /// finish (mount what others sent, put their manifest) meanwhile.
    pub concurrency: usize,
    pub copy: CopyOptions,
}

impl Default for MirrorOptions {
    fn default() -> Self {
        Self {
            concurrency: 4,
            copy: CopyOptions::default(),
        }
    }
}

/// Registry clients by host, shared by every copy of a run (one connection
/// pool per registry).
pub struct Registries {
    settings: RegistrySettings,
    clients: std::sync::Mutex<HashMap<String, Arc<Registry>>>,
    /// Hosts found not answering in this run, with the cause: an image that
    /// needs one fails at once instead of going through its own retries (a
    /// registry that is down would cost every image of the list its back-off).
    down: std::sync::Mutex<HashMap<String, String>>,
}

impl Registries {
    pub fn new(settings: RegistrySettings) -> Self {
        Self {
            settings,
            clients: Default::default(),
            down: Default::default(),
        }
    }

    /// Why `host` was found not answering earlier in this run, if it was.
    fn down(&self, host: &str) -> Option<String> {
        self.down
            .lock()
            .expect("registries lock")
            .get(host)
            .cloned()
    }

    /// After a copy failed for want of a connection: asks each registry
    /// involved once whether it answers and remembers those that do not.
    async fn note_unreachable(&self, regs: [&Registry; 2], err: &anyhow::Error) {
        for reg in regs {
            // Copies in flight when a registry went down each land here; one look is enough.
            if self.down(reg.host()).is_none() && !reg.answers().await {
                let cause = err.root_cause().to_string();
                tracing::warn!(
                    "registry {} does not answer ({cause}); images that need it are not tried",
                    reg.host()
                );
                self.down
                    .lock()
                    .expect("registries lock")
                    .entry(reg.host().to_string())
                    .or_insert(cause);
            }
        }
    }

    /// Tokens fetched and time waited out on rate limits, over every registry.
    pub fn totals(&self) -> (u64, std::time::Duration) {
        let clients = self.clients.lock().expect("registries lock");
        clients.values().fold((0, Default::default()), |(n, w), c| {
            (n + c.token_fetches(), w + c.rate_limit_waited())
        })
    }

    /// The client for `host`, created on first use.
    pub fn get(&self, host: &str) -> anyhow::Result<Arc<Registry>> {
        let mut clients = self.clients.lock().expect("registries lock");
        if let Some(c) = clients.get(host) {
            return Ok(c.clone());
        }
        let c = Arc::new(Registry::new(host, &self.settings)?);
        clients.insert(host.to_string(), c.clone());
        Ok(c)
    }
}

async fn copy_one(
    regs: &Registries,
    item: &MirrorItem,
    opts: CopyOptions,
    ctx: &CopyContext,
) -> anyhow::Result<CopyReport> {
    let src = ImageRef::parse(&item.source)?;
    let dst = ImageRef::parse(&item.destination)?;
    // The slot first: a registry found down while this image waited for
    // one is not tried.
    let phase = ctx.sending_slot().await?;
    for host in [&src.registry, &dst.registry] {
        if let Some(cause) = regs.down(host) {
            anyhow::bail!(
                "not tried: registry {host} did not answer for an earlier image ({cause})"
            );
        }
    }
    let from = regs.get(&src.registry)?;
    let to = regs.get(&dst.registry)?;
    let result = copy_image_in(&from, &src, &to, &dst, opts, ctx, &phase).await;
    if let Err(e) = &result
        && is_unreachable(e)
    {
        regs.note_unreachable([&from, &to], e).await;
    }
    result
}

/// Copies every item; never stops at the first failure, but once a registry
/// is found not answering, the images that need it fail without trying it.
pub async fn mirror_images(
    items: &[MirrorItem],
    settings: RegistrySettings,
    opts: MirrorOptions,
) -> MirrorSummary {
    let regs = Arc::new(Registries::new(settings));
    let ctx = Arc::new(CopyContext::for_mirror(opts.concurrency));
    let mut progress = Progress::new("mirroring images", Some(items.len() as u64), Unit::Items);
    let mut summary = MirrorSummary::default();
    let mut results = futures::stream::iter(items.iter().cloned().map(|item| {
        let (regs, ctx) = (regs.clone(), ctx.clone());
        async move {
            let result = copy_one(&regs, &item, opts.copy, &ctx).await;
            (item, result)
        }
    }))
    // The images under way: `concurrency` send at once, and those waiting
    // for blobs another image sends let more start (see `Phases`).
    .buffer_unordered(in_flight(opts.concurrency));
    while let Some((item, result)) = results.next().await {
        progress.inc(1);
        match result {
            Ok(r) => match r.status {
                CopyStatus::Present => summary.present.push(r),
                CopyStatus::Repaired => summary.repaired.push(r),
                CopyStatus::Copied => summary.copied.push(r),
            },
            Err(e) => {
                tracing::error!("{}: {e:#}", item.source);
                summary.failed.push(MirrorFailure {
                    source: item.source.clone(),
                    destination: item.destination.clone(),
                    error: format!("{e:#}"),
                });
            }
        }
    }
    drop(results);
    summary.blobs_sent = ctx.stats.blobs_sent.load(Ordering::Relaxed);
    summary.blobs_mounted = ctx.stats.blobs_mounted.load(Ordering::Relaxed);
    summary.bytes_sent = ctx.stats.bytes_sent.load(Ordering::Relaxed);
    let (fetches, waited) = regs.totals();
    summary.token_fetches = fetches;
    summary.rate_limit_wait_secs = waited.as_secs_f64();
    let waited = if waited.is_zero() {
        String::new()
    } else {
        format!(
            "; waited {:.1}s on registry rate limits",
            waited.as_secs_f64()
        )
    };
    let repaired = if opts.copy.verify {
        format!(" (blobs checked), {} repaired", summary.repaired.len())
    } else {
        String::new()
    };
    progress.finish(&format!(
        "{} copied, {} already present{repaired}, {} failed{waited}",
        summary.copied.len(),
        summary.present.len(),
        summary.failed.len()
    ));
    summary
}
