//! `core.artifacts.fetch`: the Lua binding of [`super::Fetcher`], for one
//! artifact or a list fetched concurrently.

use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{FetchOutcome, FetchRequest, FetchSettings, Fetcher};
use crate::lua::api::{Api, Effect, FnSpec};

const SPEC: FnSpec = FnSpec {
    name: "artifacts.fetch",
    doc: "Brings cached upstream artifacts up to date: one conditional GET each (ETag/Last-Modified, HEAD+size without validators),\n\
          verified streaming downloads renamed into place, resume after a cut, retries with backoff, a lock shared with other processes.\n\
          Without a given checksum, one published beside the artifact (`<url>.sha256`, `<url>.md5`) is verified when found;\n\
          a body without Content-Length is cached only when a checksum verified it (else it stays a partial download).\n\
          With `items`, fetches the list concurrently and raises (after all finish) naming every artifact that failed.",
    is_async: true,
    effect: Effect::ReadRemote,
    ..FnSpec::TYPED
};

/// One artifact (the fields of `apex.FetchItem` at the top level), or a list
/// in `items`; and how to fetch.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "apex.FetchOpts")]
struct Opts {
    /// One artifact (with dest); or give `items`.
    url: Option<String>,
    dest: Option<PathBuf>,
    sha256: Option<String>,
    md5: Option<String>,
    checksum_url: Option<String>,
    discover_checksum: Option<bool>,
    size: Option<u64>,
    /// A list, fetched concurrently; the result is `{results = ...}`.
    items: Option<Vec<FetchRequest>>,
    /// How many of `items` at once (default 4).
    limit: Option<usize>,
    /// `--no-fetch`: use cached copies, fetch only what is missing (default false).
    offline: Option<bool>,
    /// Retries on connection errors, cut bodies and 5xx (default 4).
    retries: Option<u32>,
    /// Seconds before the first retry, doubling each time (default 0.5).
    backoff: Option<f64>,
    /// Seconds a connection may stay silent (default 30).
    timeout: Option<f64>,
    /// Fsync each download before renaming it into place (default true).
    durable: Option<bool>,
    /// HTTP proxy URL for upstream (e.g. the network settings' http_proxy);
    /// environment proxies are not used.
    proxy: Option<String>,
    /// The most bytes one artifact may have (default 64 GiB): a larger or
    /// endless body is an error naming the cap.
    max_size: Option<u64>,
}

/// The results of a fetch of `items`.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "apex.FetchResults")]
struct FetchResults {
    /// In the order of `items`.
    results: Vec<FetchOutcome>,
}

#[derive(Serialize, schemars::JsonSchema)]
#[schemars(inline)]
#[serde(untagged)]
enum Out {
    One(FetchOutcome),
    Many(FetchResults),
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
            Ok(Out::Many(FetchResults { results }))
        }
        (Some(_), Some(_)) => anyhow::bail!("give either url/dest or items, not both"),
        (None, None) => anyhow::bail!("missing url and dest (or items)"),
    }
}

/// Registers `core.artifacts.fetch` (formerly `fetch_if_modified`).
pub fn register(api: &mut Api) -> mlua::Result<()> {
    api.class::<Opts>();
    api.class::<FetchResults>();
    api.async_fn(SPEC, run)
}
