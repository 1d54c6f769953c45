//! Upstream artifacts: conditional, resumable, verified downloads into a cache (`fetch_if_modified`).
//!
//! Step 1 of the deploy flow checks each upstream artifact (overcloud images,
//! several GB each) against the server and downloads it only when it changed.
//! One conditional GET per artifact (ETag / Last-Modified; HEAD and size for
//! servers without validators); bodies stream to a temp file beside the target
//! with constant memory, are verified (length, checksums: given, or published
//! beside the artifact as `<name>.sha256` / `<name>.md5`), and only then are
//! renamed into place with their validators recorded. A body whose end cannot
//! be told (no Content-Length, not chunked) is kept as a partial download
//! unless a checksum verified it. Interrupted downloads
//! resume with Range + If-Range; a per-artifact lock lets several processes
//! share one cache.

mod cache;
mod checksum;
mod lua;
mod transfer;
mod verify;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};

pub use cache::{CacheLock, CachePaths, CachedMeta, FileStamp, Validators};
pub use checksum::{Algo, Digests, Expected};
pub use lua::register;
pub use verify::{Corrupt, SideHasher, check_file, sha256_file};

/// One artifact to fetch.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "apex.FetchItem")]
pub struct FetchRequest {
    /// The artifact's URL.
    pub url: String,
    /// Where the complete artifact lives; its directory holds the cache records.
    pub dest: PathBuf,
    /// Expected SHA-256 (hex).
    #[serde(default)]
    pub sha256: Option<String>,
    /// Expected MD5 (hex).
    #[serde(default)]
    pub md5: Option<String>,
    /// URL of a published checksum file (`<name>.sha256` or `<name>.md5`), fetched with a new download.
    #[serde(default)]
    pub checksum_url: Option<String>,
    /// With no checksum given (none of the three above), look for one published
    /// beside the artifact (`<url>.sha256`, then `<url>.md5`) with each new
    /// download and verify it when found. Default true.
    #[serde(default)]
    pub discover_checksum: Option<bool>,
    /// Expected size in bytes, when known in advance.
    #[serde(default)]
    pub size: Option<u64>,
}

/// How fetching behaves; shared by every artifact of a call.
#[derive(Debug, Clone)]
pub struct FetchSettings {
    /// `--no-fetch`: use what is cached, fetch only what is missing.
    pub offline: bool,
    /// Retries after the first try on connection errors, cut bodies and 5xx.
    pub retries: u32,
    /// The wait before the first retry; it doubles with each retry (capped at 30 s).
    pub backoff: Duration,
    /// How long a connection may stay silent (connect, or between body reads).
    pub timeout: Duration,
    /// How many artifacts of a list are fetched at once.
    pub limit: usize,
    /// Flush each download to disk before it is renamed into place (fsync),
    /// so a power loss cannot leave a recorded copy with missing blocks.
    /// Off trades that for speed on a disk slower than the network.
    pub durable: bool,
    /// HTTP proxy for upstream (e.g. the network settings' `http_proxy`).
    /// Environment proxies are ignored so a lab on loopback is never proxied.
    pub proxy: Option<String>,
    /// The most bytes one artifact may have: a body announced larger, or one
    /// without an end that grows past it, is an error naming the cap (it
    /// would fill the disk otherwise), and nothing of it is kept.
    pub max_bytes: u64,
}

/// Default of [`FetchSettings::max_bytes`]: 64 GiB, far above any image of
/// this era (overcloud-full is a few GB).
pub const DEFAULT_MAX_BYTES: u64 = 64 << 30;

impl Default for FetchSettings {
    fn default() -> Self {
        Self {
            offline: false,
            retries: 4,
            backoff: Duration::from_millis(500),
            timeout: Duration::from_secs(30),
            limit: 4,
            durable: true,
            proxy: None,
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

/// What happened to an artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(inline)]
pub enum FetchStatus {
    /// A new copy was downloaded (the cache had none, or upstream changed).
    Downloaded,
    /// Upstream confirmed the cached copy is current; no body was transferred.
    NotModified,
    /// Offline mode: the cached copy was used without asking upstream.
    CachedOffline,
}

/// The result of fetching one artifact.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(rename = "apex.FetchResult")]
pub struct FetchOutcome {
    pub status: FetchStatus,
    pub url: String,
    /// The cached file.
    pub path: PathBuf,
    /// Body bytes transferred by this call (0 when not modified).
    pub bytes: u64,
    /// Size of the cached file.
    pub size: u64,
    /// Whether the download continued an earlier partial one.
    pub resumed: bool,
    /// HTTP requests made for this artifact (retries, HEAD and checksum files included).
    pub requests: u32,
    /// SHA-256 of the copy (hex; computed with each download, checked
    /// before a cached copy is used).
    pub sha256: Option<String>,
    /// The verified MD5 (hex), when one was checked.
    pub md5: Option<String>,
}

/// Fetches artifacts with one HTTP client (connections are reused across artifacts).
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    settings: FetchSettings,
}

/// Fetches one artifact with the given settings (see [`Fetcher::fetch`]).
pub async fn fetch_if_modified(
    req: &FetchRequest,
    settings: FetchSettings,
) -> anyhow::Result<FetchOutcome> {
    Fetcher::new(settings)?.fetch(req).await
}

impl Fetcher {
    pub fn new(settings: FetchSettings) -> anyhow::Result<Self> {
        let mut builder = crate::http_client::builder()
            .connect_timeout(settings.timeout)
            .read_timeout(settings.timeout)
            .no_proxy()
            .tcp_nodelay(true);
        if let Some(p) = &settings.proxy {
            builder = builder
                .proxy(reqwest::Proxy::all(p).with_context(|| format!("invalid proxy {p:?}"))?);
        }
        let client = builder.build().context("cannot build the HTTP client")?;
        Ok(Self { client, settings })
    }

    pub fn settings(&self) -> &FetchSettings {
        &self.settings
    }

    /// Brings `req.dest` up to date with `req.url`: one conditional request when
    /// cached, a verified download otherwise. Retries transient failures with
    /// backoff; the final error names the URL and the last status or cause.
    pub async fn fetch(&self, req: &FetchRequest) -> anyhow::Result<FetchOutcome> {
        let expected = given_checksums(req)?;
        url::Url::parse(&req.url).with_context(|| format!("invalid url {:?}", req.url))?;
        let paths = CachePaths::new(&req.dest)?;
        let lock_paths = paths.clone();
        let _lock = tokio::task::spawn_blocking(move || cache::lock(&lock_paths)).await??;

        let cached = self.usable_cache(&paths, req, &expected).await?;
        if self.settings.offline {
            if let Some(c) = &cached {
                tracing::info!("{}: offline, using the cached copy", paths.dest.display());
                return Ok(outcome(FetchStatus::CachedOffline, req, c, 0));
            }
            tracing::warn!(
                "{}: offline, but it is not in the cache; fetching it from {}",
                paths.dest.display(),
                req.url
            );
        }

        let mut tries = transfer::Tries::default();
        let attempts = self.settings.retries + 1;
        let mut last = String::new();
        for attempt in 1..=attempts {
            match transfer::attempt(self, req, &paths, cached.as_ref(), &expected, &mut tries).await
            {
                Ok(o) => return Ok(o),
                Err(transfer::Failure::Fatal(e)) => return Err(e),
                Err(transfer::Failure::Retry(msg)) => {
                    last = msg;
                    if attempt < attempts {
                        let wait = self.backoff(attempt);
                        tracing::warn!(
                            "{}: {last}; retrying in {wait:?} (try {attempt} of {attempts})",
                            req.url
                        );
                        tokio::time::sleep(wait).await;
                    }
                }
            }
        }
        anyhow::bail!("{}: {last} (gave up after {attempts} tries)", req.url)
    }

    /// Fetches every artifact, at most `settings.limit` at once; results in list order.
    pub async fn fetch_all(&self, reqs: &[FetchRequest]) -> Vec<anyhow::Result<FetchOutcome>> {
        // Boxed futures: a stream of closures borrowing `reqs` would not be provably `Send`.
        let calls: Vec<futures::future::BoxFuture<'_, anyhow::Result<FetchOutcome>>> =
            reqs.iter().map(|r| Box::pin(self.fetch(r)) as _).collect();
        futures::stream::iter(calls)
            .buffered(self.settings.limit.max(1))
            .collect()
            .await
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(16));
        self.settings
            .backoff
            .saturating_mul(factor)
            .min(Duration::from_secs(30))
    }

    /// Checks the cached copy against its recorded sha256 before it is used:
    /// a file changed since it was last checked (see [`CachedMeta::file`]) is
    /// hashed again (one read); a mismatch drops the record, so the artifact
    /// is fetched again, unconditionally. False when it does not match.
    async fn still_intact(
        &self,
        paths: &CachePaths,
        meta: &mut CachedMeta,
    ) -> anyhow::Result<bool> {
        let Some(recorded) = meta.sha256.clone() else {
            return Ok(true);
        };
        let now = FileStamp::of(&paths.dest);
        if now.is_some() && now == meta.file {
            return Ok(true);
        }
        let dest = paths.dest.clone();
        let started = std::time::Instant::now();
        let actual = tokio::task::spawn_blocking(move || sha256_file(&dest)).await??;
        tracing::debug!(
            "{}: changed on disk since last checked; hashed again in {:.2?}",
            paths.dest.display(),
            started.elapsed()
        );
        if actual != recorded {
            tracing::warn!(
                "{}: cached copy is corrupt (sha256 {actual}, recorded {recorded}); fetching it again",
                paths.dest.display()
            );
            paths.forget();
            return Ok(false);
        }
        meta.file = now;
        paths.record(meta)?;
        Ok(true)
    }

    /// The cached copy, if it exists, is intact (its recorded sha256) and
    /// matches every checksum the caller expects (others are computed once).
    async fn usable_cache(
        &self,
        paths: &CachePaths,
        req: &FetchRequest,
        expected: &[Expected],
    ) -> anyhow::Result<Option<CachedMeta>> {
        let mut meta = match paths.cached(&req.url) {
            Some(m) => m,
            // Offline, a file placed there by hand (or whose record was lost) still counts.
            None if self.settings.offline && paths.dest.is_file() => CachedMeta {
                url: req.url.clone(),
                size: std::fs::metadata(&paths.dest)?.len(),
                validators: Validators::default(),
                sha256: None,
                md5: None,
                file: None,
            },
            None => return Ok(None),
        };
        if !self.still_intact(paths, &mut meta).await? {
            return Ok(None);
        }
        let missing: Vec<Algo> = expected
            .iter()
            .filter(|e| match e.algo {
                Algo::Sha256 => meta.sha256.is_none(),
                Algo::Md5 => meta.md5.is_none(),
            })
            .map(|e| e.algo)
            .collect();
        if !missing.is_empty() {
            let dest = paths.dest.clone();
            let d = tokio::task::spawn_blocking(move || Digests::of_file(&dest, missing)).await??;
            meta.sha256 = meta.sha256.or(d.sha256);
            meta.md5 = meta.md5.or(d.md5);
        }
        let recorded = Digests {
            sha256: meta.sha256.clone(),
            md5: meta.md5.clone(),
        };
        if let Err(e) = recorded.verify(expected) {
            tracing::warn!(
                "{}: cached copy does not match ({e}); fetching it again",
                paths.dest.display()
            );
            return Ok(None);
        }
        if req.size.is_some_and(|s| s != meta.size) {
            tracing::warn!(
                "{}: cached copy has {} bytes, expected {:?}; fetching it again",
                paths.dest.display(),
                meta.size,
                req.size
            );
            return Ok(None);
        }
        Ok(Some(meta))
    }
}

fn given_checksums(req: &FetchRequest) -> anyhow::Result<Vec<Expected>> {
    let mut v = Vec::new();
    if let Some(s) = &req.sha256 {
        v.push(Expected::given(Algo::Sha256, s)?);
    }
    if let Some(m) = &req.md5 {
        v.push(Expected::given(Algo::Md5, m)?);
    }
    Ok(v)
}

fn outcome(
    status: FetchStatus,
    req: &FetchRequest,
    meta: &CachedMeta,
    requests: u32,
) -> FetchOutcome {
    FetchOutcome {
        status,
        url: req.url.clone(),
        path: req.dest.clone(),
        bytes: 0,
        size: meta.size,
        resumed: false,
        requests,
        sha256: meta.sha256.clone(),
        md5: meta.md5.clone(),
    }
}

/// The file name used in progress lines and checksum files.
fn artifact_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
