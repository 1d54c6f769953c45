//! A client of one registry on the OCI distribution API (`/v2/...`): the
//! endpoint, its connection pool, credentials and settings. What it does is
//! split by job: `transport` (sending, retries, rate limits, status errors),
//! `challenge` (how requests are authenticated, with tokens from `token`),
//! `repository` (catalog, tags, manifests) and `blobs` (reads, mounts,
//! uploads).
//!
//! Built on reqwest rather than oci-client 0.18: an engine-free copy needs to
//! hold both legs of a blob transfer itself (the source GET streamed straight
//! into one monolithic destination PUT with a known length, restarted as a
//! whole on a connection error or 5xx), to mount across repositories with the
//! upload session it falls back to, and to move manifests as raw bytes with
//! their own media type. oci-client streams, but its stream push is either a
//! series of chunked PATCHes or monolithic only through a client-wide flag,
//! cannot replay a consumed stream, and its retries are not ours to shape;
//! the few distribution calls of these modules are simpler than adapting it.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use serde::Deserialize;
use url::Url;

use super::auth::{self, Credentials};
use super::challenge::Scheme;
use super::token::{Scopes, TokenCache};

/// How registries are reached, as given in settings (`registries:` in Lua options).
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "apex.RegistrySettings")]
pub struct RegistrySettings {
    /// Hosts (`host:port`) reached over plain HTTP. Loopback hosts always are,
    /// as Docker treats 127.0.0.0/8 as insecure by default.
    #[serde(default)]
    pub insecure: Vec<String>,
    /// Hosts reached over TLS even on loopback (a TLS lab registry).
    #[serde(default)]
    pub tls: Vec<String>,
    /// Credentials per host; hosts not listed use the Docker config file's
    /// (credHelpers, credsStore, auths).
    #[serde(default)]
    pub credentials: BTreeMap<String, Credentials>,
    /// The Docker config file to read credentials from (default
    /// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`).
    pub docker_config: Option<PathBuf>,
    /// A PEM CA bundle trusted for TLS registries besides the system roots.
    pub ca_file: Option<PathBuf>,
    /// Verify TLS certificates (default true).
    pub tls_verify: Option<bool>,
    /// Attempts per request on connection errors and 5xx (default 5).
    pub attempts: Option<u32>,
    /// Seconds a run may spend waiting out rate limits (HTTP 429 with
    /// `Retry-After`, e.g. Docker Hub's pull limit), per registry (default 900).
    pub rate_limit_wait: Option<u64>,
}

impl RegistrySettings {
    fn is_plain_http(&self, host: &str) -> bool {
        let name = host.rsplit_once(':').map_or(host, |(h, _)| h);
        if self.tls.iter().any(|h| h == host) {
            return false;
        }
        self.insecure.iter().any(|h| h == host)
            || name == "localhost"
            || name
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

/// One registry endpoint with its connection pool, credentials, tokens and retries.
pub struct Registry {
    pub(super) host: String,
    pub(super) base: Url,
    pub(super) http: reqwest::Client,
    pub(super) creds: Option<Credentials>,
    pub(super) scheme: std::sync::Mutex<Scheme>,
    pub(super) tokens: TokenCache,
    /// Repositories this client writes to, with what every request on them
    /// asks for: `pull,push` and `pull` on the repositories their blobs are
    /// mounted from, up front, so one token serves the whole copy.
    pub(super) push_repos: std::sync::Mutex<HashMap<String, Scopes>>,
    pub(super) token_fetches: AtomicU64,
    pub(super) attempts: u32,
    pub(super) rate_budget: Duration,
    pub(super) rate_waited_ms: AtomicU64,
    pub(super) rate_seen: AtomicBool,
}

impl Registry {
    /// A client for `host` (`host[:port]`); plain HTTP for loopback and hosts
    /// listed as insecure, TLS otherwise.
    pub fn new(host: &str, settings: &RegistrySettings) -> anyhow::Result<Self> {
        let api_host = if host == "docker.io" {
            "registry-1.docker.io"
        } else {
            host
        };
        let scheme = if settings.is_plain_http(host) {
            "http"
        } else {
            "https"
        };
        let base = Url::parse(&format!("{scheme}://{api_host}/"))
            .with_context(|| format!("registry host {host:?} is not a valid host[:port]"))?;
        let mut builder = crate::http_client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(120))
            .pool_max_idle_per_host(32)
            .no_gzip()
            .redirect(reqwest::redirect::Policy::limited(5));
        if settings.tls_verify == Some(false) {
            builder = builder.tls_danger_accept_invalid_certs(true);
        }
        if let Some(ca) = &settings.ca_file {
            let pem =
                std::fs::read(ca).with_context(|| format!("reading CA file {}", ca.display()))?;
            for cert in reqwest::Certificate::from_pem_bundle(&pem)
                .with_context(|| format!("{}: not a PEM certificate bundle", ca.display()))?
            {
                builder = builder.tls_certs_merge([cert]);
            }
        }
        let creds = auth::resolve(
            settings.credentials.get(host),
            host,
            settings.docker_config.as_deref(),
        )?;
        Ok(Self {
            host: host.to_string(),
            base,
            http: builder.build().context("building the HTTP client")?,
            creds,
            scheme: std::sync::Mutex::new(Scheme::Unknown),
            tokens: TokenCache::default(),
            push_repos: Default::default(),
            token_fetches: AtomicU64::new(0),
            attempts: settings.attempts.unwrap_or(5),
            rate_budget: Duration::from_secs(settings.rate_limit_wait.unwrap_or(900)),
            rate_waited_ms: AtomicU64::new(0),
            rate_seen: AtomicBool::new(false),
        })
    }

    /// Declares that this client writes to `repo`: its requests then ask for
    /// `pull,push` from the start (a read first, then a write, would cost two tokens).
    pub fn will_push(&self, repo: &str) {
        self.will_push_with(repo, &Scopes::default());
    }

    /// [`Registry::will_push`], and every request on `repo` also asks for
    /// `also` (`pull` on the repositories its blobs will be mounted from).
    pub fn will_push_with(&self, repo: &str, also: &Scopes) {
        let mut repos = self.push_repos.lock().expect("push repos lock");
        let scopes = repos
            .entry(repo.to_string())
            .or_insert_with(|| Scopes::push(repo));
        *scopes = scopes.union(also);
    }

    /// The scopes a request on `repo` asks for.
    pub(super) fn scopes(&self, repo: &str) -> Scopes {
        self.declared(repo).unwrap_or_else(|| Scopes::pull(repo))
    }

    /// The scopes a write to `repo` asks for.
    pub(super) fn push_scopes(&self, repo: &str) -> Scopes {
        self.declared(repo).unwrap_or_else(|| Scopes::push(repo))
    }

    fn declared(&self, repo: &str) -> Option<Scopes> {
        self.push_repos
            .lock()
            .expect("push repos lock")
            .get(repo)
            .cloned()
    }

    /// Tokens fetched from this registry's token server so far.
    pub fn token_fetches(&self) -> u64 {
        self.token_fetches.load(Ordering::Relaxed)
    }

    /// Time spent waiting out rate limits (429 with Retry-After) so far.
    pub fn rate_limit_waited(&self) -> Duration {
        Duration::from_millis(self.rate_waited_ms.load(Ordering::Relaxed))
    }

    /// The host as given (`host:port`), used to tell registries apart.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Whether the registry asked for bearer tokens (so far).
    pub(super) fn uses_tokens(&self) -> bool {
        matches!(
            *self.scheme.lock().expect("scheme lock"),
            super::challenge::Scheme::Bearer { .. }
        )
    }

    /// Attempts per request (retry budget) this registry was configured with.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Whether the registry answers at all (any HTTP status to `GET /v2/`,
    /// one try): tells "this registry is down" from "this image failed".
    pub async fn answers(&self) -> bool {
        // Any answer will do, a 401 included: no credentials needed.
        self.http.get(self.url("v2/")).send().await.is_ok()
    }

    pub(super) fn url(&self, path: &str) -> Url {
        self.base
            .join(path)
            .expect("registry paths are valid URL paths")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_plain_http() {
        let s = RegistrySettings {
            insecure: vec!["10.0.0.1:8787".into()],
            ..Default::default()
        };
        assert!(s.is_plain_http("127.0.0.1:5000"));
        assert!(s.is_plain_http("10.0.0.1:8787"));
        assert!(!s.is_plain_http("quay.io"));
        let t = RegistrySettings {
            tls: vec!["127.0.0.1:5000".into()],
            ..Default::default()
        };
        assert!(!t.is_plain_http("127.0.0.1:5000"));
    }
}
