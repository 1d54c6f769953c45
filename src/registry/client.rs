//! A client of one registry on the OCI distribution API (`/v2/...`).
//!
//! Built on reqwest rather than oci-client 0.18: an engine-free copy needs to
//! hold both legs of a blob transfer itself (the source GET streamed straight
//! into one monolithic destination PUT with a known length, restarted as a
//! whole on a connection error or 5xx), to mount across repositories with the
//! upload session it falls back to, and to move manifests as raw bytes with
//! their own media type. oci-client streams, but its stream push is either a
//! series of chunked PATCHes or monolithic only through a client-wide flag,
//! cannot replay a consumed stream, and its retries are not ours to shape;
//! the few distribution calls below are simpler than adapting it.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use bytes::Bytes;
use reqwest::header::{
    ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, LOCATION, WWW_AUTHENTICATE,
};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use url::Url;

use super::auth::{self, Credentials};
use super::token::{Scopes, Token, TokenCache};

/// Media types of manifests and manifest lists this client moves.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const ACCEPT_MANIFESTS: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// How registries are reached, as given in settings (`registries:` in Lua options).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrySettings {
    /// Hosts (`host:port`) reached over plain HTTP. Loopback hosts always are,
    /// as Docker treats 127.0.0.0/8 as insecure by default.
    #[serde(default)]
    pub insecure: Vec<String>,
    /// Hosts reached over TLS even on loopback (a TLS lab registry).
    #[serde(default)]
    pub tls: Vec<String>,
    /// Credentials per host; hosts not listed use the Docker config file's.
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

/// A manifest or manifest list exactly as the registry serves it.
#[derive(Debug, Clone)]
pub struct RawManifest {
    pub bytes: Bytes,
    pub media_type: String,
    /// `sha256:<hex>` of `bytes`: the digest the image is known by.
    pub digest: String,
}

/// The parts of a manifest a copy needs.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestBody {
    pub media_type: Option<String>,
    pub config: Option<Descriptor>,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    /// Entries of a manifest list / index.
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
}

/// A content descriptor (digest, size, media type).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: Option<String>,
    pub digest: String,
    pub size: u64,
    #[serde(default)]
    pub urls: Vec<String>,
}

impl RawManifest {
    pub fn parse(&self) -> anyhow::Result<ManifestBody> {
        serde_json::from_slice(&self.bytes)
            .with_context(|| format!("manifest {} is not valid JSON", self.digest))
    }

    /// Whether this is a manifest list / OCI index (entries are manifests, not blobs).
    pub fn is_list(&self) -> bool {
        self.media_type == OCI_INDEX || self.media_type == DOCKER_LIST
    }
}

/// `sha256:<hex>` of some bytes.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// What a cross-repository mount request led to.
pub enum Mount {
    /// The registry linked the blob: nothing to send.
    Mounted,
    /// The registry opened an upload session instead.
    Upload(Url),
}

/// What a request carried.
enum Sent {
    Nothing,
    Basic,
    Bearer(String),
}

/// How the registry wants requests authenticated, learnt from its first 401.
#[derive(Debug, Clone)]
enum Scheme {
    /// Nothing asked yet: requests go without credentials.
    Unknown,
    Basic,
    Bearer {
        realm: Url,
        service: Option<String>,
    },
}

/// Hands a session an upload POST opened to the run's clean-up when the
/// copy that sent the POST is gone (see [`Registry::execute_opening`]).
struct SessionAdopter {
    http: reqwest::Client,
    posted: Url,
    delete: Option<reqwest::Request>,
}

impl SessionAdopter {
    fn adopt(&self, resp: &Response) {
        let location = resp
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|loc| self.posted.join(loc).ok());
        if resp.status() == StatusCode::ACCEPTED
            && let (Some(location), Some(mut delete)) =
                (location, self.delete.as_ref().and_then(|d| d.try_clone()))
        {
            *delete.url_mut() = location.clone();
            super::copy::orphaned_session(
                location,
                RequestBuilder::from_parts(self.http.clone(), delete),
            );
        }
    }
}

/// The caller's end of an upload POST sent by a task: dropped before the
/// answer was taken, it adopts an answer already handed over.
struct OpeningAnswer {
    rx: Option<tokio::sync::oneshot::Receiver<reqwest::Result<Response>>>,
    adopt: std::sync::Arc<SessionAdopter>,
}

impl Drop for OpeningAnswer {
    fn drop(&mut self) {
        if let Some(mut rx) = self.rx.take()
            && let Ok(Ok(resp)) = rx.try_recv()
        {
            self.adopt.adopt(&resp);
        }
    }
}

/// One registry endpoint with its connection pool, credentials, tokens and retries.
pub struct Registry {
    host: String,
    base: Url,
    http: reqwest::Client,
    creds: Option<Credentials>,
    scheme: std::sync::Mutex<Scheme>,
    tokens: TokenCache,
    /// Repositories this client writes to, with what every request on them
    /// asks for: `pull,push` and `pull` on the repositories their blobs are
    /// mounted from, up front, so one token serves the whole copy.
    push_repos: std::sync::Mutex<HashMap<String, Scopes>>,
    token_fetches: AtomicU64,
    attempts: u32,
    rate_budget: Duration,
    rate_waited_ms: AtomicU64,
    rate_seen: AtomicBool,
}

/// The registry asked to wait longer than the run may (not retried).
#[derive(Debug, thiserror::Error)]
#[error(
    "{request}: rate limited (HTTP 429); the registry asks to wait {asked:?}, more than the {left:?} left of this run's budget (registries.rate_limit_wait)"
)]
pub struct RateLimited {
    pub request: String,
    pub asked: Duration,
    pub left: Duration,
}

/// A streamed upload refused for a reason a restart fixes (a token that ran
/// out, a rate limit waited out): the caller restarts it once.
#[derive(Debug, thiserror::Error)]
#[error("the upload is to be restarted")]
pub struct UploadRefused;

/// Whether a failed request is worth repeating (the transfer, not the input, failed).
pub fn is_transient(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        if let Some(re) = e.downcast_ref::<reqwest::Error>() {
            return re.is_connect()
                || re.is_timeout()
                || re.is_request()
                || re.is_body()
                || re.is_decode();
        }
        if let Some(s) = e.downcast_ref::<StatusError>() {
            return s.status.is_server_error() || s.status == StatusCode::TOO_MANY_REQUESTS;
        }
        e.downcast_ref::<std::io::Error>().is_some()
    })
}

/// Whether the registry could not be reached at all (no connection), as
/// opposed to an error about the request or the image.
pub fn is_unreachable(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<reqwest::Error>()
            .is_some_and(|re| re.is_connect())
    })
}

/// An unexpected HTTP status, with the registry's error body (and, for a
/// 401, whether credentials were given and refused or none were there).
#[derive(Debug, thiserror::Error)]
#[error("{request}: HTTP {status}: {body}{hint}")]
pub struct StatusError {
    /// What was asked (`PUT <url>` or a description).
    pub request: String,
    pub status: StatusCode,
    pub body: String,
    pub hint: String,
}

async fn status_error(method: Method, url: &Url, resp: Response) -> anyhow::Error {
    described_status_error(format!("{method} {url}"), resp).await
}

async fn described_status_error(request: String, resp: Response) -> anyhow::Error {
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    let body: String = body.trim().chars().take(300).collect();
    StatusError {
        request,
        status,
        body,
        hint: String::new(),
    }
    .into()
}

/// Turns a 5xx or 429 answer into a (transient) error.
async fn server_error_as_err(what: &str, resp: Response) -> anyhow::Result<Response> {
    if resp.status().is_server_error() || resp.status() == StatusCode::TOO_MANY_REQUESTS {
        return Err(described_status_error(format!("{what} ({})", resp.url()), resp).await);
    }
    Ok(resp)
}

/// Runs `op` up to `attempts` times while it fails transiently, backing off
/// 0.2 s, 0.4 s, ... (capped at 3 s).
pub async fn with_retries<T, F, Fut>(what: &str, attempts: u32, mut op: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let mut delay = Duration::from_millis(200);
    let mut n = 1;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if n < attempts.max(1) && is_transient(&e) => {
                tracing::warn!("{what}: attempt {n} failed, retrying in {delay:?}: {e:#}");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(3));
                n += 1;
            }
            Err(e) => return Err(e).with_context(|| format!("{what} (after {n} attempt(s))")),
        }
    }
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
    fn scopes(&self, repo: &str) -> Scopes {
        self.declared(repo).unwrap_or_else(|| Scopes::pull(repo))
    }

    /// The scopes a write to `repo` asks for.
    fn push_scopes(&self, repo: &str) -> Scopes {
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

    fn url(&self, path: &str) -> Url {
        self.base
            .join(path)
            .expect("registry paths are valid URL paths")
    }

    /// Adds what the registry's scheme needs for `scopes`; returns what was sent.
    async fn authorize(
        &self,
        req: RequestBuilder,
        scopes: &Scopes,
    ) -> anyhow::Result<(RequestBuilder, Sent)> {
        let scheme = self.scheme.lock().expect("scheme lock").clone();
        Ok(match (scheme, &self.creds) {
            (Scheme::Basic, Some(c)) => {
                (req.basic_auth(&c.username, Some(&c.password)), Sent::Basic)
            }
            (Scheme::Bearer { realm, service }, _) => {
                let token = self
                    .tokens
                    .get(scopes, || self.fetch_token(realm, service, scopes))
                    .await?;
                (req.bearer_auth(&token), Sent::Bearer(token))
            }
            _ => (req, Sent::Nothing),
        })
    }

    /// Asks the token server for a token covering `scopes` (with the
    /// credentials, if any: Basic, or an identity token as a refresh token).
    async fn fetch_token(
        &self,
        realm: Url,
        service: Option<String>,
        scopes: &Scopes,
    ) -> anyhow::Result<Token> {
        let mut url = realm;
        let identity = self
            .creds
            .as_ref()
            .filter(|c| c.username == auth::IDENTITY_TOKEN_USER);
        let req = if let Some(c) = identity {
            // OAuth2 refresh-token grant, as `docker login` identity tokens need.
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "refresh_token")
                .append_pair("refresh_token", &c.password)
                .append_pair("client_id", "apex");
            if let Some(s) = &service {
                form.append_pair("service", s);
            }
            if !scopes.is_empty() {
                form.append_pair("scope", &scopes.params().join(" "));
            }
            self.http
                .post(url.clone())
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(form.finish())
        } else {
            {
                let mut q = url.query_pairs_mut();
                if let Some(s) = &service {
                    q.append_pair("service", s);
                }
                for scope in scopes.params() {
                    q.append_pair("scope", &scope);
                }
            }
            let mut req = self.http.get(url.clone());
            if let Some(c) = &self.creds {
                req = req.basic_auth(&c.username, Some(&c.password));
            }
            req
        };
        self.token_fetches.fetch_add(1, Ordering::Relaxed);
        tracing::debug!("{}: fetching a token for {scopes}", self.host);
        // The URL carries no secret (credentials go in a header or the body).
        let what = format!("token for {scopes} from {}", url.as_str());
        let tok = req.send().await.with_context(|| what.clone())?;
        if !tok.status().is_success() {
            return Err(described_status_error(what, tok).await);
        }
        #[derive(Deserialize)]
        struct Answer {
            token: Option<String>,
            access_token: Option<String>,
            expires_in: Option<u64>,
            issued_at: Option<String>,
        }
        let a: Answer = tok.json().await.with_context(|| what.clone())?;
        let value = a
            .token
            .or(a.access_token)
            .with_context(|| format!("{what}: answer without a token"))?;
        Ok(Token::new(value, a.expires_in, a.issued_at.as_deref()))
    }

    /// Learns from a 401 how to authenticate (and forgets a refused token).
    /// Returns false when nothing can help.
    fn learn_challenge(&self, resp: &Response, sent: &Sent) -> anyhow::Result<bool> {
        let used = match sent {
            Sent::Bearer(t) => Some(t.as_str()),
            _ => None,
        };
        if let Some(t) = used {
            // Refused: expired or revoked earlier than it said.
            self.tokens.invalidate(t);
        }
        let Some(challenge) = resp
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
        else {
            // No challenge (a proxy's 401): a fresh token may still help.
            return Ok(used.is_some());
        };
        let lower = challenge.to_ascii_lowercase();
        let mut scheme = self.scheme.lock().expect("scheme lock");
        if lower.starts_with("basic") {
            if self.creds.is_none() || matches!(sent, Sent::Basic) {
                // Without credentials, or they were just refused.
                return Ok(false);
            }
            *scheme = Scheme::Basic;
            return Ok(true);
        }
        if !lower.starts_with("bearer") {
            return Ok(false);
        }
        let params = parse_challenge(&challenge[6..]);
        let realm = params
            .get("realm")
            .context("Bearer challenge without realm")?;
        let realm =
            Url::parse(realm).with_context(|| format!("Bearer realm {realm:?} is not a URL"))?;
        *scheme = Scheme::Bearer {
            realm,
            service: params.get("service").cloned(),
        };
        // Sent without a token (before the scheme was known), or with one
        // now forgotten: a fresh token may help; twice at most per request.
        Ok(true)
    }

    /// Logs `RateLimit-Remaining` when the registry sends it: once at info,
    /// then at debug, and as a warning when few pulls are left.
    fn note_rate_limit(&self, resp: &Response) {
        let Some(remaining) = resp
            .headers()
            .get("ratelimit-remaining")
            .and_then(|v| v.to_str().ok())
        else {
            return;
        };
        let limit = resp
            .headers()
            .get("ratelimit-limit")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("?");
        let left: Option<u64> = remaining
            .split(';')
            .next()
            .and_then(|n| n.trim().parse().ok());
        if left.is_some_and(|n| n <= 10) {
            tracing::warn!(
                "{}: rate limit: {remaining} requests remaining (limit {limit})",
                self.host
            );
        } else if !self.rate_seen.swap(true, Ordering::Relaxed) {
            tracing::info!(
                "{}: rate limit: {remaining} requests remaining (limit {limit})",
                self.host
            );
        } else {
            tracing::debug!("{}: RateLimit-Remaining {remaining}", self.host);
        }
    }

    /// After a 429: waits as `Retry-After` says when the run's budget allows
    /// (returns true: send again); false without the header (the caller's
    /// retries back off); an error when the wait would exceed the budget.
    pub(crate) async fn wait_rate_limit(
        &self,
        request: &str,
        headers: &HeaderMap,
    ) -> anyhow::Result<bool> {
        let Some(asked) = headers
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(super::token::retry_after)
        else {
            return Ok(false);
        };
        let asked = asked.max(Duration::from_millis(100));
        let left = self.rate_budget.saturating_sub(self.rate_limit_waited());
        if asked > left {
            return Err(RateLimited {
                request: request.to_string(),
                asked,
                left,
            }
            .into());
        }
        tracing::warn!(
            "{request}: rate limited by {} (HTTP 429), waiting {asked:?} as Retry-After asks",
            self.host
        );
        self.rate_waited_ms
            .fetch_add(asked.as_millis() as u64, Ordering::Relaxed);
        tokio::time::sleep(asked).await;
        Ok(true)
    }

    /// Sends one request (built anew for an auth or rate-limit round); any
    /// status is returned. A 401 is answered twice at most (a challenge,
    /// then a refused token), a 429 waited out within the run's budget.
    async fn send_once(
        &self,
        scopes: &Scopes,
        make: &(dyn Fn(&reqwest::Client) -> RequestBuilder + Sync),
    ) -> anyhow::Result<Response> {
        self.send_once_as(scopes, make, None).await
    }

    /// [`Registry::send_once`] for a POST that opens an upload session in
    /// `repo`: sent by a task of its own (see [`Registry::execute_opening`]).
    async fn send_opening(
        &self,
        repo: &str,
        scopes: &Scopes,
        make: &(dyn Fn(&reqwest::Client) -> RequestBuilder + Sync),
    ) -> anyhow::Result<Response> {
        self.send_once_as(scopes, make, Some(repo)).await
    }

    async fn send_once_as(
        &self,
        scopes: &Scopes,
        make: &(dyn Fn(&reqwest::Client) -> RequestBuilder + Sync),
        opening: Option<&str>,
    ) -> anyhow::Result<Response> {
        let mut answered = 0;
        loop {
            let (req, used) = self.authorize(make(&self.http), scopes).await?;
            let req = req.build()?;
            let (method, url) = (req.method().clone(), req.url().clone());
            let resp = match opening {
                None => self.http.execute(req).await.map_err(anyhow::Error::from),
                Some(repo) => self.execute_opening(repo, req).await,
            }
            .with_context(|| format!("{method} {url}"))?;
            self.note_rate_limit(&resp);
            if resp.status() == StatusCode::TOO_MANY_REQUESTS
                && self
                    .wait_rate_limit(&format!("{method} {url}"), resp.headers())
                    .await?
            {
                continue;
            }
            if resp.status() == StatusCode::UNAUTHORIZED
                && answered < 2
                && self.learn_challenge(&resp, &used)?
            {
                answered += 1;
                continue;
            }
            return Ok(resp);
        }
    }

    /// Sends a POST that may open an upload session on a task of its own. A
    /// copy dropped while the POST is in flight (the run stopped by a signal)
    /// would lose the answer, and with it the only name of a session the
    /// registry opened meanwhile. The task reads the answer whatever happens
    /// to its caller; an answer no one took (the caller was gone before the
    /// task finished, or between the task's hand-over and its next poll) goes
    /// to the run's clean-up ([`super::copy::orphaned_session`]), which
    /// deletes the session.
    async fn execute_opening(&self, repo: &str, req: reqwest::Request) -> anyhow::Result<Response> {
        let adopt = std::sync::Arc::new(SessionAdopter {
            http: self.http.clone(),
            posted: req.url().clone(),
            // The DELETE's credentials are taken now: the task has no registry.
            delete: self.cancel_request(repo, req.url().clone()).build().ok(),
        });
        let (tx, rx) = tokio::sync::oneshot::channel();
        let in_flight = super::copy::OpeningGuard::new();
        let (http, task_adopt) = (self.http.clone(), adopt.clone());
        tokio::spawn(async move {
            let _in_flight = in_flight;
            if let Err(Ok(resp)) = tx.send(http.execute(req).await) {
                task_adopt.adopt(&resp);
            }
        });
        let mut answer = OpeningAnswer {
            rx: Some(rx),
            adopt,
        };
        let got = answer.rx.as_mut().expect("just set").await;
        answer.rx = None;
        got.map_err(|_| anyhow!("the request's task ended without an answer"))?
            .map_err(anyhow::Error::from)
    }

    /// Sends an idempotent request with retries; 5xx become transient errors.
    async fn send(
        &self,
        what: &str,
        scopes: &Scopes,
        make: &(dyn Fn(&reqwest::Client) -> RequestBuilder + Sync),
    ) -> anyhow::Result<Response> {
        with_retries(what, self.attempts, || async {
            server_error_as_err(what, self.send_once(scopes, make).await?).await
        })
        .await
    }

    async fn expect(
        &self,
        resp: Response,
        method: Method,
        ok: &[StatusCode],
    ) -> anyhow::Result<Response> {
        if ok.contains(&resp.status()) {
            return Ok(resp);
        }
        let url = resp.url().clone();
        let err = status_error(method, &url, resp).await;
        Err(match err.downcast::<StatusError>() {
            Ok(mut s) if s.status == StatusCode::UNAUTHORIZED => {
                s.hint = if self.creds.is_some() {
                    format!(
                        " (the registry refused the credentials given for {})",
                        self.host
                    )
                } else {
                    format!(
                        " (no credentials for {}: give them in the site's registries or the Docker config file)",
                        self.host
                    )
                };
                s.into()
            }
            Ok(s) => s.into(),
            Err(e) => e,
        })
    }

    /// Lists repositories (`/v2/_catalog`, following pagination).
    pub async fn catalog(&self) -> anyhow::Result<Vec<String>> {
        #[derive(Deserialize)]
        struct Catalog {
            #[serde(default)]
            repositories: Vec<String>,
        }
        let mut out = Vec::new();
        let mut next = Some(self.url("v2/_catalog?n=1000"));
        let catalog_scope = Scopes::default().with_resource("registry:catalog", &["*"]);
        while let Some(url) = next.take() {
            let resp = self
                .send(&format!("catalog of {}", self.host), &catalog_scope, &|c| {
                    c.get(url.clone())
                })
                .await?;
            let resp = self.expect(resp, Method::GET, &[StatusCode::OK]).await?;
            next = next_link(&url, resp.headers());
            let page: Catalog = resp
                .json()
                .await
                .with_context(|| format!("catalog of {}: bad JSON", self.host))?;
            out.extend(page.repositories);
        }
        Ok(out)
    }

    /// Lists the tags of a repository; an unknown repository has none.
    pub async fn tags(&self, repo: &str) -> anyhow::Result<Vec<String>> {
        #[derive(Deserialize)]
        struct Tags {
            tags: Option<Vec<String>>,
        }
        let mut out = Vec::new();
        let mut next = Some(self.url(&format!("v2/{repo}/tags/list?n=1000")));
        let scopes = self.scopes(repo);
        while let Some(url) = next.take() {
            let resp = self
                .send(&format!("tags of {}/{repo}", self.host), &scopes, &|c| {
                    c.get(url.clone())
                })
                .await?;
            if resp.status() == StatusCode::NOT_FOUND {
                return Ok(out);
            }
            let resp = self.expect(resp, Method::GET, &[StatusCode::OK]).await?;
            next = next_link(&url, resp.headers());
            let page: Tags = resp
                .json()
                .await
                .with_context(|| format!("tags of {repo}: bad JSON"))?;
            out.extend(page.tags.unwrap_or_default());
        }
        Ok(out)
    }

    /// The digest of a manifest (HEAD), or `None` when the registry lacks it.
    pub async fn manifest_digest(
        &self,
        repo: &str,
        reference: &str,
    ) -> anyhow::Result<Option<String>> {
        let url = self.url(&format!("v2/{repo}/manifests/{reference}"));
        let what = format!("HEAD manifest {}/{repo}:{reference}", self.host);
        let resp = self
            .send(&what, &self.scopes(repo), &|c| {
                c.head(url.clone()).header(ACCEPT, ACCEPT_MANIFESTS)
            })
            .await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let resp = self.expect(resp, Method::HEAD, &[StatusCode::OK]).await?;
        match resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
        {
            Some(d) => Ok(Some(d.to_string())),
            // No digest header: fall back to the body (a HEAD cannot say).
            None => Ok(self.manifest(repo, reference).await?.map(|m| m.digest)),
        }
    }

    /// A manifest as raw bytes with its media type, or `None` when absent.
    pub async fn manifest(
        &self,
        repo: &str,
        reference: &str,
    ) -> anyhow::Result<Option<RawManifest>> {
        let url = self.url(&format!("v2/{repo}/manifests/{reference}"));
        let what = format!("GET manifest {}/{repo}:{reference}", self.host);
        let scopes = self.scopes(repo);
        with_retries(&what, self.attempts, || async {
            // One attempt per round: the body read below is retried with it.
            let resp = self
                .send_once(&scopes, &|c| {
                    c.get(url.clone()).header(ACCEPT, ACCEPT_MANIFESTS)
                })
                .await?;
            let resp = server_error_as_err(&what, resp).await?;
            if resp.status() == StatusCode::NOT_FOUND {
                return Ok(None);
            }
            let resp = self.expect(resp, Method::GET, &[StatusCode::OK]).await?;
            let header_type = resp
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let bytes = resp
                .bytes()
                .await
                .with_context(|| format!("{what}: reading the body"))?;
            let digest = sha256_digest(&bytes);
            if reference.starts_with("sha256:") && reference != digest {
                bail!("{what}: content digest is {digest}");
            }
            #[derive(Deserialize)]
            #[serde(rename_all = "camelCase")]
            struct TypeOnly {
                media_type: Option<String>,
            }
            let body_type = serde_json::from_slice::<TypeOnly>(&bytes)
                .ok()
                .and_then(|t| t.media_type);
            let media_type = body_type
                .or(header_type.filter(|t| t.contains("manifest") || t.contains("index")))
                .with_context(|| format!("{what}: no media type in the body or Content-Type"))?;
            Ok(Some(RawManifest {
                bytes,
                media_type,
                digest,
            }))
        })
        .await
    }

    /// Stores a manifest byte for byte under `reference` (a tag or its digest).
    pub async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        m: &RawManifest,
    ) -> anyhow::Result<()> {
        let url = self.url(&format!("v2/{repo}/manifests/{reference}"));
        let what = format!("PUT manifest {}/{repo}:{reference}", self.host);
        let resp = self
            .send(&what, &self.push_scopes(repo), &|c| {
                c.put(url.clone())
                    .header(CONTENT_TYPE, &m.media_type)
                    .body(m.bytes.clone())
            })
            .await?;
        self.expect(
            resp,
            Method::PUT,
            &[StatusCode::CREATED, StatusCode::OK, StatusCode::ACCEPTED],
        )
        .await?;
        Ok(())
    }

    /// Deletes a manifest by digest (the registry drops the tags naming it);
    /// an absent one is no error. Needs deleting enabled in the registry.
    pub async fn delete_manifest(&self, repo: &str, digest: &str) -> anyhow::Result<()> {
        let url = self.url(&format!("v2/{repo}/manifests/{digest}"));
        let what = format!("DELETE manifest {}/{repo}@{digest}", self.host);
        let resp = self
            .send(&what, &Scopes::default().with(repo, &["delete"]), &|c| {
                c.delete(url.clone())
            })
            .await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(());
        }
        self.expect(
            resp,
            Method::DELETE,
            &[StatusCode::ACCEPTED, StatusCode::OK],
        )
        .await?;
        Ok(())
    }

    /// Whether the repository holds a blob (HEAD).
    pub async fn blob_exists(&self, repo: &str, digest: &str) -> anyhow::Result<bool> {
        let url = self.url(&format!("v2/{repo}/blobs/{digest}"));
        let resp = self
            .send(
                &format!("HEAD blob {}/{repo}@{digest}", self.host),
                &self.scopes(repo),
                &|c| c.head(url.clone()),
            )
            .await?;
        match resp.status() {
            StatusCode::OK => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(status_error(Method::HEAD, &url, resp).await),
        }
    }

    /// Opens a streaming GET of a blob (one attempt: the caller restarts the whole transfer).
    pub async fn blob_stream(&self, repo: &str, digest: &str) -> anyhow::Result<Response> {
        let url = self.url(&format!("v2/{repo}/blobs/{digest}"));
        let resp = self
            .send_once(&self.scopes(repo), &|c| c.get(url.clone()))
            .await?;
        self.expect(resp, Method::GET, &[StatusCode::OK]).await
    }

    /// Reads a small blob (an image config) into memory.
    pub async fn blob_bytes(&self, repo: &str, digest: &str) -> anyhow::Result<Bytes> {
        let what = format!("GET blob {}/{repo}@{digest}", self.host);
        with_retries(&what, self.attempts, || async {
            Ok(self.blob_stream(repo, digest).await?.bytes().await?)
        })
        .await
    }

    fn location(&self, resp: &Response) -> anyhow::Result<Url> {
        let loc = resp
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .with_context(|| format!("{}: upload response without Location", self.host))?;
        self.base
            .join(loc)
            .with_context(|| format!("{}: bad upload Location {loc:?}", self.host))
    }

    /// Asks the registry to link `digest` from repository `from` into `repo`.
    pub async fn mount_blob(&self, repo: &str, digest: &str, from: &str) -> anyhow::Result<Mount> {
        self.mount_blob_with(repo, digest, from, &Scopes::default())
            .await
    }

    /// [`Registry::mount_blob`]; the token asked for covers `pull,push` on `repo`, `pull` on `from` and
    /// `also` (the other repositories this copy may mount from, so one token
    /// serves every mount of an image).
    pub async fn mount_blob_with(
        &self,
        repo: &str,
        digest: &str,
        from: &str,
        also: &Scopes,
    ) -> anyhow::Result<Mount> {
        let mut url = self.url(&format!("v2/{repo}/blobs/uploads/"));
        url.query_pairs_mut()
            .append_pair("mount", digest)
            .append_pair("from", from);
        let scopes = self
            .push_scopes(repo)
            .union(&Scopes::pull(from))
            .union(also);
        let resp = self
            .send_opening(repo, &scopes, &|c| {
                c.post(url.clone()).header(CONTENT_LENGTH, "0")
            })
            .await?;
        match resp.status() {
            StatusCode::CREATED => Ok(Mount::Mounted),
            StatusCode::ACCEPTED => Ok(Mount::Upload(self.location(&resp)?)),
            _ => Err(status_error(Method::POST, &url, resp).await),
        }
    }

    /// Opens an upload session in `repo`.
    pub async fn start_upload(&self, repo: &str) -> anyhow::Result<Url> {
        let url = self.url(&format!("v2/{repo}/blobs/uploads/"));
        let resp = self
            .send_opening(repo, &self.push_scopes(repo), &|c| {
                c.post(url.clone()).header(CONTENT_LENGTH, "0")
            })
            .await?;
        let resp = self
            .expect(resp, Method::POST, &[StatusCode::ACCEPTED])
            .await?;
        self.location(&resp)
    }

    /// Completes an upload session (of the repository its Location names)
    /// with the whole blob in one streamed PUT; see [`Registry::finish_upload_to`].
    pub async fn finish_upload(
        &self,
        location: Url,
        digest: &str,
        size: u64,
        body: reqwest::Body,
    ) -> anyhow::Result<()> {
        let repo = location
            .path()
            .strip_prefix("/v2/")
            .and_then(|p| p.split_once("/blobs/uploads/"))
            .map(|(repo, _)| repo.to_string())
            .unwrap_or_default();
        self.finish_upload_to(&repo, location, digest, size, body)
            .await
    }

    /// Completes an upload session in `repo` with the whole blob in one streamed PUT;
    /// the registry verifies `digest` against what it received. A streamed
    /// body cannot be sent twice: a 401 (the token ran out before the
    /// registry saw the request) forgets the token and fails with
    /// [`UploadRefused`] so the caller restarts the upload with a fresh one;
    /// a 429 waits as asked, then fails (transient) for the same restart.
    pub async fn finish_upload_to(
        &self,
        repo: &str,
        location: Url,
        digest: &str,
        size: u64,
        body: reqwest::Body,
    ) -> anyhow::Result<()> {
        let mut url = location;
        url.query_pairs_mut().append_pair("digest", digest);
        let (req, used) = self
            .authorize(self.http.put(url.clone()), &self.push_scopes(repo))
            .await?;
        let req = req
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_LENGTH, size)
            .body(body);
        let resp = req.send().await.with_context(|| format!("PUT {url}"))?;
        self.note_rate_limit(&resp);
        match resp.status() {
            StatusCode::CREATED => Ok(()),
            _ => Err(self
                .streamed_refusal(Method::PUT, &url, resp, &used)
                .await?),
        }
    }

    /// The error for a streamed request the registry did not take. A streamed
    /// body cannot be sent twice, so a 401 a fresh token answers, or a 429
    /// waited out, is [`UploadRefused`] (the caller restarts the upload
    /// once); anything else is the plain status error.
    async fn streamed_refusal(
        &self,
        method: Method,
        url: &Url,
        resp: Response,
        used: &Sent,
    ) -> anyhow::Result<anyhow::Error> {
        let restart = match resp.status() {
            StatusCode::UNAUTHORIZED => self.learn_challenge(&resp, used)?,
            StatusCode::TOO_MANY_REQUESTS => {
                self.wait_rate_limit(&format!("{method} {url}"), resp.headers())
                    .await?
            }
            _ => false,
        };
        let err = status_error(method, url, resp).await;
        Ok(if restart {
            anyhow::Error::new(UploadRefused).context(format!("{err:#}"))
        } else {
            err
        })
    }

    /// Streams a blob's bytes into an open upload session (one PATCH) without
    /// committing it; returns the session's Location for the next request.
    /// The bytes stay in the session until [`Registry::commit_upload`] (the
    /// commit point) or [`Registry::cancel_upload`]. A streamed body cannot be
    /// sent twice: a 401 or a 429 waited out fails with [`UploadRefused`], as
    /// in [`Registry::finish_upload_to`].
    pub async fn upload_bytes(
        &self,
        repo: &str,
        location: &Url,
        size: u64,
        body: reqwest::Body,
    ) -> anyhow::Result<Url> {
        let (req, used) = self
            .authorize(self.http.patch(location.clone()), &self.push_scopes(repo))
            .await?;
        let req = req
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_LENGTH, size)
            .body(body);
        let resp = req
            .send()
            .await
            .with_context(|| format!("PATCH {location}"))?;
        self.note_rate_limit(&resp);
        match resp.status() {
            StatusCode::ACCEPTED | StatusCode::NO_CONTENT => self.location(&resp),
            _ => Err(self
                .streamed_refusal(Method::PATCH, location, resp, &used)
                .await?),
        }
    }

    /// Commits an upload session whose bytes were sent: the final `PUT
    /// ?digest=` with an empty body (replayable, so a challenge or a rate
    /// limit is answered and the PUT sent again). The registry checks the
    /// digest against what the session holds.
    pub async fn commit_upload(
        &self,
        repo: &str,
        location: &Url,
        digest: &str,
    ) -> anyhow::Result<()> {
        let mut url = location.clone();
        url.query_pairs_mut().append_pair("digest", digest);
        let resp = self
            .send_once(&self.push_scopes(repo), &|c| {
                c.put(url.clone()).header(CONTENT_LENGTH, "0")
            })
            .await?;
        self.expect(resp, Method::PUT, &[StatusCode::CREATED])
            .await?;
        Ok(())
    }

    /// Abandons an upload session (DELETE): the registry drops what it
    /// received. A session the registry no longer knows is no error.
    pub async fn cancel_upload(&self, repo: &str, location: &Url) -> anyhow::Result<()> {
        let resp = self
            .send_once(&self.push_scopes(repo), &|c| c.delete(location.clone()))
            .await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(());
        }
        self.expect(
            resp,
            Method::DELETE,
            &[StatusCode::NO_CONTENT, StatusCode::OK, StatusCode::ACCEPTED],
        )
        .await?;
        Ok(())
    }

    /// Abandons an upload session without waiting (from a `Drop`, when the
    /// copy holding it was cancelled): the DELETE is sent by a task of its
    /// own with the credentials at hand (a cached token; none is fetched).
    pub fn cancel_upload_detached(&self, repo: &str, location: Url) {
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            tracing::debug!("{location}: no runtime to abandon the upload session");
            return;
        };
        let req = self.cancel_request(repo, location.clone());
        rt.spawn(async move {
            match req.send().await {
                Ok(r) if r.status().is_success() || r.status() == StatusCode::NOT_FOUND => {}
                Ok(r) => {
                    tracing::debug!("DELETE {location} (abandoned upload): HTTP {}", r.status())
                }
                Err(e) => tracing::debug!("DELETE {location} (abandoned upload): {e:#}"),
            }
        });
    }

    /// The DELETE that abandons an upload session, with the credentials at
    /// hand (a cached token; none is fetched), ready to send later.
    pub(crate) fn cancel_request(&self, repo: &str, location: Url) -> reqwest::RequestBuilder {
        let scheme = self.scheme.lock().expect("scheme lock").clone();
        let mut req = self.http.delete(location.clone());
        match (scheme, &self.creds) {
            (Scheme::Basic, Some(c)) => req = req.basic_auth(&c.username, Some(&c.password)),
            (Scheme::Bearer { .. }, _) => {
                if let Some(t) = self.tokens.find(&Scopes::push(repo)) {
                    req = req.bearer_auth(t);
                }
            }
            _ => {}
        }
        req
    }

    /// The image config (the JSON `docker inspect` shows under `Config`) of an
    /// image manifest, read straight from the registry.
    pub async fn image_config(
        &self,
        repo: &str,
        reference: &str,
    ) -> anyhow::Result<serde_json::Value> {
        let m = self
            .manifest(repo, reference)
            .await?
            .ok_or_else(|| anyhow!("{}/{repo}:{reference}: no such manifest", self.host))?;
        let body = m.parse()?;
        let config = body.config.with_context(|| {
            format!(
                "{}/{repo}:{reference} is a manifest list, not an image",
                self.host
            )
        })?;
        let bytes = self.blob_bytes(repo, &config.digest).await?;
        serde_json::from_slice(&bytes)
            .with_context(|| format!("config of {repo}:{reference} is not JSON"))
    }
}

/// The `Link: <...>; rel="next"` target of a paginated answer.
fn next_link(current: &Url, headers: &HeaderMap) -> Option<Url> {
    let link = headers.get("link")?.to_str().ok()?;
    let target = link
        .split(';')
        .next()?
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>');
    current.join(target).ok()
}

/// `key="value", key2="value2"` of a WWW-Authenticate challenge.
fn parse_challenge(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = s.trim();
    while let Some((key, after)) = rest.split_once('=') {
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = after.trim_start();
        let (value, tail) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"').unwrap_or(q.len());
            (&q[..end], q.get(end + 1..).unwrap_or(""))
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        out.insert(key, value.to_string());
        rest = tail.trim_start_matches(',').trim();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_and_link_parsing() {
        let p = parse_challenge(
            r#" realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#,
        );
        assert_eq!(p["realm"], "https://auth.example/token");
        assert_eq!(p["scope"], "repository:a/b:pull,push");
        let mut h = HeaderMap::new();
        h.insert(
            "link",
            "</v2/_catalog?last=b&n=2>; rel=\"next\"".parse().unwrap(),
        );
        let u = next_link(
            &Url::parse("http://127.0.0.1:5000/v2/_catalog?n=2").unwrap(),
            &h,
        )
        .unwrap();
        assert_eq!(u.as_str(), "http://127.0.0.1:5000/v2/_catalog?last=b&n=2");
    }

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
