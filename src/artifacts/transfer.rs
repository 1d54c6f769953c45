//! One try at bringing an artifact up to date: the conditional (or ranged)
//! request, the streamed body written and hashed on a blocking thread through
//! a bounded channel (constant memory), and the checks before the rename.

use std::io::Write as _;

use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};

use super::cache::{CachePaths, CachedMeta, PartialMeta, Validators};
use super::checksum::{Digests, Expected, Hashers};
use super::{FetchOutcome, FetchRequest, FetchStatus, Fetcher, artifact_name, outcome};
use crate::progress::{Progress, Unit};

/// Why a try failed: worth another try (connection, 5xx, cut body) or not.
#[derive(Debug)]
pub enum Failure {
    Retry(String),
    Fatal(anyhow::Error),
}

type Result<T> = std::result::Result<T, Failure>;

fn fatal(e: impl Into<anyhow::Error>) -> Failure {
    Failure::Fatal(e.into())
}

/// Counters kept across the tries of one artifact.
#[derive(Debug, Default)]
pub struct Tries {
    pub requests: u32,
    pub transferred: u64,
    pub resumed: bool,
    /// The checksum published beside the artifact, once looked for (`Some(None)`: none).
    pub published: Option<Option<Expected>>,
}

/// Starts writeback of what was written every [`Writeback::WINDOW`] bytes, so
/// the fsync before the rename waits for the last window only and the disk
/// works while the network does (and the page cache holds few dirty pages).
struct Writeback {
    flushed: u64,
    written: u64,
}

impl Writeback {
    const WINDOW: u64 = 16 << 20;

    fn new(offset: u64) -> Self {
        Self {
            flushed: offset,
            written: offset,
        }
    }

    fn wrote(&mut self, file: &std::fs::File, n: u64) {
        use std::os::fd::AsRawFd as _;
        self.written += n;
        if self.written - self.flushed >= Self::WINDOW {
            // SAFETY: a plain syscall on an open descriptor; no memory is passed.
            // Failure only loses the head start; the fsync at commit still runs.
            unsafe {
                libc::sync_file_range(
                    file.as_raw_fd(),
                    self.flushed as libc::off64_t,
                    (self.written - self.flushed) as libc::off64_t,
                    libc::SYNC_FILE_RANGE_WRITE,
                );
            }
            self.flushed = self.written;
        }
    }
}

/// The error text of a transport error with its causes.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = c.source();
    }
    s
}

fn status_text(s: StatusCode) -> String {
    format!("HTTP {} {}", s.as_u16(), s.canonical_reason().unwrap_or(""))
        .trim_end()
        .to_string()
}

fn is_transient(s: StatusCode) -> bool {
    s.is_server_error() || s == StatusCode::REQUEST_TIMEOUT || s == StatusCode::TOO_MANY_REQUESTS
}

fn content_length(h: &HeaderMap) -> Option<u64> {
    h.get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// `bytes START-END/TOTAL` → (START, TOTAL).
fn content_range(h: &HeaderMap) -> Option<(u64, Option<u64>)> {
    let v = h.get(header::CONTENT_RANGE)?.to_str().ok()?;
    let (range, total) = v.trim().strip_prefix("bytes ")?.split_once('/')?;
    let start = range.split_once('-')?.0.parse().ok()?;
    Some((start, total.parse().ok()))
}

/// One try; see [`Fetcher::fetch`].
pub async fn attempt(
    f: &Fetcher,
    req: &FetchRequest,
    paths: &CachePaths,
    cached: Option<&CachedMeta>,
    expected: &[Expected],
    tries: &mut Tries,
) -> Result<FetchOutcome> {
    let partial = paths.partial(&req.url);
    if partial.is_none()
        && let Some(c) = cached.filter(|c| c.validators.is_empty())
        && head_says_unchanged(f, req, c, tries).await?
    {
        return Ok(outcome(FetchStatus::NotModified, req, c, tries.requests));
    }

    let mut rb = f.client.get(&req.url);
    if let Some((pm, len)) = &partial {
        let if_range = pm.validators.if_range().unwrap_or_default();
        rb = rb
            .header(header::RANGE, format!("bytes={len}-"))
            .header(header::IF_RANGE, if_range);
    } else if let Some(c) = cached {
        if let Some(e) = &c.validators.etag {
            rb = rb.header(header::IF_NONE_MATCH, e);
        }
        if let Some(d) = &c.validators.last_modified {
            rb = rb.header(header::IF_MODIFIED_SINCE, d);
        }
    }
    tries.requests += 1;
    let resp = rb
        .send()
        .await
        .map_err(|e| Failure::Retry(format!("GET failed: {}", chain(&e))))?;
    let status = resp.status();
    let (offset, total) = match status {
        StatusCode::NOT_MODIFIED => {
            return match cached {
                Some(c) => {
                    tracing::debug!("{}: not modified upstream", paths.dest.display());
                    Ok(outcome(FetchStatus::NotModified, req, c, tries.requests))
                }
                None => Err(fatal(anyhow::anyhow!(
                    "GET {}: HTTP 304 to a request without conditions",
                    req.url
                ))),
            };
        }
        StatusCode::OK => {
            if partial.is_some() {
                tracing::info!(
                    "{}: upstream changed since the partial download; starting over",
                    req.url
                );
            }
            (0, content_length(resp.headers()))
        }
        StatusCode::PARTIAL_CONTENT => match (content_range(resp.headers()), &partial) {
            (Some((start, total)), Some((_, len))) if start == *len => {
                tracing::info!("{}: resuming at byte {start}", req.url);
                tries.resumed = true;
                (start, total)
            }
            _ => {
                paths.discard_partial();
                return Err(Failure::Retry(
                    "the server sent a range that was not asked for".into(),
                ));
            }
        },
        StatusCode::RANGE_NOT_SATISFIABLE if partial.is_some() => {
            paths.discard_partial();
            return Err(Failure::Retry(
                "the partial download is longer than the artifact; starting over".into(),
            ));
        }
        s if is_transient(s) => return Err(Failure::Retry(format!("GET {}", status_text(s)))),
        s => {
            return Err(fatal(anyhow::anyhow!(
                "GET {}: {}",
                req.url,
                status_text(s)
            )));
        }
    };

    // A body ends where Content-Length or the chunked framing says (hyper
    // fails a body cut short of either); without both, a cut looks like the end.
    let framed = content_length(resp.headers()).is_some()
        || resp
            .headers()
            .get(header::TRANSFER_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let mut expected = expected.to_vec();
    if let Some(cu) = &req.checksum_url {
        expected.push(published_checksum(f, cu, &artifact_name(&paths.dest), tries).await?);
    } else if expected.is_empty()
        && req.discover_checksum.unwrap_or(true)
        && let Some(e) = discover_checksum(f, req, &artifact_name(&paths.dest), tries).await?
    {
        expected.push(e);
    }

    let validators = Validators::from_headers(resp.headers());
    if validators.if_range().is_some() {
        let pm = PartialMeta {
            url: req.url.clone(),
            validators: validators.clone(),
            total,
        };
        paths.write_partial(&pm).map_err(fatal)?;
    } else {
        // Without a validator a partial file cannot be resumed safely.
        let _ = std::fs::remove_file(&paths.part_meta);
    }

    let (received, file, digests) =
        stream_body(resp, paths, &f.settings, offset, total, &expected, tries).await?;
    if let Some(t) = total
        && received != t
    {
        return Err(Failure::Retry(format!(
            "length mismatch: received {received} of {t} bytes"
        )));
    }
    if let Some(s) = req.size
        && received != s
    {
        paths.discard_partial();
        return Err(fatal(anyhow::anyhow!(
            "{}: length mismatch: received {received} bytes, expected {s}",
            req.url
        )));
    }
    if let Err(e) = digests.verify(&expected) {
        paths.discard_partial();
        return Err(fatal(e.context(format!("{} (nothing cached)", req.url))));
    }
    if !framed && expected.is_empty() && req.size.is_none() {
        // Another try could not tell either; a later call resumes it (when the
        // server gives validators) or a checksum settles it.
        return Err(fatal(anyhow::anyhow!(
            "{}: the server sent no Content-Length (the body ended when the connection closed) and no checksum \
             was given or published, so the {received} bytes received cannot be known complete: kept as a \
             partial download in {}, not cached; give sha256, md5 or checksum_url, or publish {}.sha256 beside it",
            req.url,
            paths.part.display(),
            artifact_name(&paths.dest)
        )));
    }
    let meta = CachedMeta {
        url: req.url.clone(),
        size: received,
        validators,
        sha256: digests.sha256.clone(),
        md5: digests.md5.clone(),
        file: None,
    };
    paths
        .commit(&file, &meta, f.settings.durable)
        .map_err(fatal)?;
    Ok(FetchOutcome {
        status: FetchStatus::Downloaded,
        url: req.url.clone(),
        path: paths.dest.clone(),
        bytes: tries.transferred,
        size: received,
        resumed: tries.resumed,
        requests: tries.requests,
        sha256: digests.sha256,
        md5: digests.md5,
    })
}

/// For a cache without validators: HEAD and compare size and date.
async fn head_says_unchanged(
    f: &Fetcher,
    req: &FetchRequest,
    c: &CachedMeta,
    tries: &mut Tries,
) -> Result<bool> {
    tries.requests += 1;
    let resp = f
        .client
        .head(&req.url)
        .send()
        .await
        .map_err(|e| Failure::Retry(format!("HEAD failed: {}", chain(&e))))?;
    let s = resp.status();
    if is_transient(s) {
        return Err(Failure::Retry(format!("HEAD {}", status_text(s))));
    }
    if !s.is_success() {
        return Ok(false);
    }
    let now = Validators::from_headers(resp.headers());
    let same = content_length(resp.headers()) == Some(c.size)
        && now.last_modified == c.validators.last_modified;
    if same {
        tracing::info!(
            "{}: same size upstream (no validators); keeping the cached copy",
            req.url
        );
    }
    Ok(same)
}

/// The URL of the `<artifact>.<ext>` file beside `url`.
fn sidecar_url(url: &str, ext: &str) -> Option<String> {
    let mut u = url::Url::parse(url).ok()?;
    if u.path().ends_with('/') {
        return None;
    }
    let path = format!("{}.{ext}", u.path());
    u.set_path(&path);
    Some(u.to_string())
}

/// A published checksum file is a line or a few; anything larger is not one.
const SIDECAR_MAX: usize = 64 << 10;

/// Looks for a checksum published beside the artifact (`.sha256`, then
/// `.md5`); once per fetch, retries reuse the answer. Missing files (any 4xx)
/// and files that do not parse as a checksum (an HTML page answered with 200,
/// say) count as not published.
async fn discover_checksum(
    f: &Fetcher,
    req: &FetchRequest,
    name: &str,
    tries: &mut Tries,
) -> Result<Option<Expected>> {
    if let Some(found) = &tries.published {
        return Ok(found.clone());
    }
    let mut found = None;
    for ext in ["sha256", "md5"] {
        let Some(url) = sidecar_url(&req.url, ext) else {
            break;
        };
        tries.requests += 1;
        let mut resp = f
            .client
            .get(&url)
            .send()
            .await
            .map_err(|e| Failure::Retry(format!("GET {url} failed: {}", chain(&e))))?;
        let s = resp.status();
        if is_transient(s) {
            return Err(Failure::Retry(format!("GET {url}: {}", status_text(s))));
        }
        if !s.is_success() {
            continue;
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| Failure::Retry(format!("GET {url}: {}", chain(&e))))?
        {
            body.extend_from_slice(&chunk);
            if body.len() > SIDECAR_MAX {
                break;
            }
        }
        let parsed = if body.len() > SIDECAR_MAX {
            Err(anyhow::anyhow!("more than {SIDECAR_MAX} bytes"))
        } else {
            Expected::published(&url, &String::from_utf8_lossy(&body), name)
        };
        match parsed {
            Ok(e) => {
                tracing::debug!("{}: verifying against the published {url}", req.url);
                found = Some(e);
                break;
            }
            Err(e) => tracing::warn!("{}: ignoring {url}, not a checksum file: {e:#}", req.url),
        }
    }
    tries.published = Some(found.clone());
    Ok(found)
}

/// Fetches and parses a published checksum file.
async fn published_checksum(
    f: &Fetcher,
    url: &str,
    name: &str,
    tries: &mut Tries,
) -> Result<Expected> {
    tries.requests += 1;
    let resp = f
        .client
        .get(url)
        .send()
        .await
        .map_err(|e| Failure::Retry(format!("GET {url} failed: {}", chain(&e))))?;
    let s = resp.status();
    if is_transient(s) {
        return Err(Failure::Retry(format!("GET {url}: {}", status_text(s))));
    }
    if !s.is_success() {
        return Err(fatal(anyhow::anyhow!(
            "checksum file {url}: {}",
            status_text(s)
        )));
    }
    let what = format!("checksum file {url}");
    let body =
        crate::http_client::read_limited(resp, crate::http_client::limits::CHECKSUM_FILE, &what)
            .await
            .map_err(|e| {
                // A cut connection is worth another try; an answer past the
                // limit would be the same again.
                if e.chain().any(|c| c.is::<reqwest::Error>()) {
                    Failure::Retry(format!("GET {url}: {e:#}"))
                } else {
                    fatal(e)
                }
            })?;
    let text = String::from_utf8_lossy(&body);
    Expected::published(url, &text, name).map_err(fatal)
}

/// Streams the body into the partial file from `offset`, hashing on the way.
/// Each chunk is written as it arrives, on this task: a page-cache write of a
/// network chunk takes microseconds, and skipping a hand-off to another thread
/// keeps the CPU cost at curl's level on a busy machine. Memory stays at one
/// chunk. A cut connection keeps what arrived (for a resume) and is worth a
/// retry. `settings` gives the size cap and whether writes are made durable.
async fn stream_body(
    mut resp: reqwest::Response,
    paths: &CachePaths,
    settings: &super::FetchSettings,
    offset: u64,
    total: Option<u64>,
    expected: &[Expected],
    tries: &mut Tries,
) -> Result<(u64, std::fs::File, Digests)> {
    let max_bytes = settings.max_bytes;
    let cannot_write = |e: std::io::Error| {
        fatal(anyhow::Error::new(e).context(format!("cannot write {}", paths.part.display())))
    };
    let mut file = if offset > 0 {
        std::fs::OpenOptions::new().append(true).open(&paths.part)
    } else {
        std::fs::File::create(&paths.part)
    }
    .map_err(cannot_write)?;
    // sha256 always: the cache records it to check the copy before each use.
    let mut hashers = Hashers::for_algos(
        expected
            .iter()
            .map(|e| e.algo)
            .chain(std::iter::once(super::checksum::Algo::Sha256)),
    );
    if offset > 0 && !hashers.is_empty() {
        let part = paths.part.clone();
        hashers = tokio::task::spawn_blocking(move || {
            hashers.update_from_file(&part, offset).map(|()| hashers)
        })
        .await
        .map_err(|e| fatal(anyhow::anyhow!("hashing thread failed: {e}")))?
        .map_err(fatal)?;
    }
    let too_big = |what: String| {
        paths.discard_partial();
        fatal(anyhow::anyhow!(
            "{}: {what}, above the cap of {max_bytes} bytes per artifact (max_size); stopped, nothing kept",
            artifact_name(&paths.dest)
        ))
    };
    if let Some(t) = total.filter(|t| *t > max_bytes) {
        return Err(too_big(format!("the server announces {t} bytes")));
    }
    let mut writeback = settings.durable.then(|| Writeback::new(offset));

    let mut progress = Progress::new(artifact_name(&paths.dest), total, Unit::Bytes);
    progress.inc(offset);
    let mut received = offset;
    let cut = loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if received + chunk.len() as u64 > max_bytes {
                    drop(file);
                    return Err(too_big(format!("more than {max_bytes} bytes received")));
                }
                file.write_all(&chunk).map_err(cannot_write)?;
                hashers.update(&chunk);
                let n = chunk.len() as u64;
                if let Some(w) = &mut writeback {
                    w.wrote(&file, n);
                }
                received += n;
                tries.transferred += n;
                progress.inc(n);
            }
            Ok(None) => break None,
            Err(e) => break Some(chain(&e)),
        }
    };
    if let Some(e) = cut {
        let of = total.map(|t| format!(" of {t}")).unwrap_or_default();
        drop(progress);
        return Err(Failure::Retry(format!(
            "length mismatch: received {received}{of} bytes before the connection ended ({e})"
        )));
    }
    progress.finish("downloaded");
    Ok((received, file, hashers.finish()))
}
