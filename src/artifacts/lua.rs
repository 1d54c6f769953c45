//! `core.artifacts.fetch`: the Lua binding of [`super::Fetcher`], for one
//! artifact or a list fetched concurrently.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{FetchOutcome, FetchRequest, FetchSettings, Fetcher};
use crate::lua::api::{Api, Effect, FnSpec, Param};

const CLASSES: &str = r#"---@class apex.FetchItem
---@field url string the artifact's URL
---@field dest string where the artifact is cached (records sit beside it as hidden files)
---@field sha256? string expected SHA-256 (hex)
---@field md5? string expected MD5 (hex)
---@field checksum_url? string a published `<name>.sha256` / `<name>.md5`, fetched with each new download
---@field discover_checksum? boolean without sha256/md5/checksum_url, look for `<url>.sha256` then `<url>.md5` with each new download and verify it when found (default true)
---@field size? integer expected size in bytes

---@class apex.FetchOpts
---@field url? string one artifact (with dest); or give `items`
---@field dest? string
---@field sha256? string
---@field md5? string
---@field checksum_url? string
---@field discover_checksum? boolean
---@field size? integer
---@field items? apex.FetchItem[] a list, fetched concurrently; the result is `{results = ...}`
---@field limit? integer how many of `items` at once (default 4)
---@field offline? boolean `--no-fetch`: use cached copies, fetch only what is missing (default false)
---@field retries? integer retries on connection errors, cut bodies and 5xx (default 4)
---@field backoff? number seconds before the first retry, doubling each time (default 0.5)
---@field timeout? number seconds a connection may stay silent (default 30)
---@field durable? boolean fsync each download before renaming it into place (default true)
---@field proxy? string HTTP proxy URL for upstream (e.g. the network settings' http_proxy); environment proxies are not used
---@field max_size? integer the most bytes one artifact may have (default 64 GiB): a larger or endless body is an error naming the cap

---@class apex.FetchResult
---@field status "downloaded"|"not-modified"|"cached-offline"
---@field url string
---@field path string the cached file
---@field bytes integer body bytes transferred by this call (0 unless downloaded)
---@field size integer size of the cached file
---@field resumed boolean whether an interrupted download was continued
---@field requests integer HTTP requests made for this artifact
---@field sha256? string SHA-256 of the copy (computed with each download, checked before a cached copy is used)
---@field md5? string verified MD5, when one was checked

---@class apex.FetchResults
---@field results apex.FetchResult[] in the order of `items`"#;

const SPEC: FnSpec = FnSpec {
    name: "artifacts.fetch",
    doc: "Brings cached upstream artifacts up to date: one conditional GET each (ETag/Last-Modified, HEAD+size without validators),\n\
          verified streaming downloads renamed into place, resume after a cut, retries with backoff, a lock shared with other processes.\n\
          Without a given checksum, one published beside the artifact (`<url>.sha256`, `<url>.md5`) is verified when found;\n\
          a body without Content-Length is cached only when a checksum verified it (else it stays a partial download).\n\
          With `items`, fetches the list concurrently and raises (after all finish) naming every artifact that failed.",
    params: &[Param {
        name: "opts",
        ty: "apex.FetchOpts",
        doc: "one artifact (url, dest) or `items`",
    }],
    returns: "apex.FetchResult|apex.FetchResults",
    is_async: true,
    effect: Effect::ReadRemote,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Opts {
    url: Option<String>,
    dest: Option<PathBuf>,
    sha256: Option<String>,
    md5: Option<String>,
    checksum_url: Option<String>,
    discover_checksum: Option<bool>,
    size: Option<u64>,
    items: Option<Vec<FetchRequest>>,
    limit: Option<usize>,
    offline: Option<bool>,
    retries: Option<u32>,
    backoff: Option<f64>,
    timeout: Option<f64>,
    durable: Option<bool>,
    proxy: Option<String>,
    /// Bytes one artifact may have at most (default 64 GiB).
    max_size: Option<u64>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Out {
    One(FetchOutcome),
    Many { results: Vec<FetchOutcome> },
}

fn seconds(key: &str, v: Option<f64>, default: Duration) -> anyhow::Result<Duration> {
    match v {
        None => Ok(default),
        Some(s) => Duration::try_from_secs_f64(s)
            .map_err(|_| anyhow::anyhow!("{key} must be a number of seconds >= 0, got {s}")),
    }
}

impl Opts {
    fn settings(&self) -> anyhow::Result<FetchSettings> {
        let d = FetchSettings::default();
        Ok(FetchSettings {
            offline: self.offline.unwrap_or(d.offline),
            retries: self.retries.unwrap_or(d.retries),
            backoff: seconds("backoff", self.backoff, d.backoff)?,
            timeout: seconds("timeout", self.timeout, d.timeout)?,
            durable: self.durable.unwrap_or(d.durable),
            proxy: self.proxy.clone(),
            max_bytes: match self.max_size {
                Some(0) => anyhow::bail!("max_size must be at least 1 byte"),
                Some(n) => n,
                None => d.max_bytes,
            },
            limit: match self.limit {
                Some(0) => anyhow::bail!("limit must be at least 1"),
                Some(n) => n,
                None => d.limit,
            },
        })
    }

    /// The single artifact named at the top level, if any.
    fn single(&self) -> anyhow::Result<Option<FetchRequest>> {
        match (&self.url, &self.dest) {
            (Some(url), Some(dest)) => Ok(Some(FetchRequest {
                url: url.clone(),
                dest: dest.clone(),
                sha256: self.sha256.clone(),
                md5: self.md5.clone(),
                checksum_url: self.checksum_url.clone(),
                discover_checksum: self.discover_checksum,
                size: self.size,
            })),
            (None, None) => Ok(None),
            _ => anyhow::bail!("give both url and dest (or a list in items)"),
        }
    }
}

async fn run(opts: Opts) -> anyhow::Result<Out> {
    let fetcher = Fetcher::new(opts.settings()?)?;
    match (opts.single()?, &opts.items) {
        (Some(req), None) => Ok(Out::One(fetcher.fetch(&req).await?)),
        (None, Some(items)) => {
            let mut results = Vec::with_capacity(items.len());
            let mut failures = Vec::new();
            for (item, r) in items.iter().zip(fetcher.fetch_all(items).await) {
                match r {
                    Ok(o) => results.push(o),
                    Err(e) => {
                        failures.push(format!("{} -> {}: {e:#}", item.url, item.dest.display()))
                    }
                }
            }
            if !failures.is_empty() {
                anyhow::bail!(
                    "{} of {} artifacts failed:\n  {}",
                    failures.len(),
                    items.len(),
                    failures.join("\n  ")
                );
            }
            Ok(Out::Many { results })
        }
        (Some(_), Some(_)) => anyhow::bail!("give either url/dest or items, not both"),
        (None, None) => anyhow::bail!("missing url and dest (or items)"),
    }
}

/// Registers `fetch_if_modified` on `apex.core`.
pub fn register(api: &mut Api) -> mlua::Result<()> {
    api.class(CLASSES);
    api.async_fn(SPEC, run)
}
