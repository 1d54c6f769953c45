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

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use bytes::Bytes;
use reqwest::header::{
    ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, LOCATION, WWW_AUTHENTICATE,
};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use tokio::sync::Mutex;
use url::Url;

use super::auth::{self, Credentials};

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

#[derive(Debug, Clone)]
enum AuthState {
    None,
    Basic,
    Bearer(String),
}

/// One registry endpoint with its connection pool, credentials and retries.
pub struct Registry {
    host: String,
    base: Url,
    http: reqwest::Client,
    creds: Option<Credentials>,
    auth: Mutex<AuthState>,
    attempts: u32,
}

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

/// An unexpected HTTP status, with the registry's error body.
#[derive(Debug, thiserror::Error)]
#[error("{request}: HTTP {status}: {body}")]
pub struct StatusError {
    /// What was asked (`PUT <url>` or a description).
    pub request: String,
    pub status: StatusCode,
    pub body: String,
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
            auth: Mutex::new(AuthState::None),
            attempts: settings.attempts.unwrap_or(5),
        })
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
        self.http.get(self.url("v2/")).send().await.is_ok()
    }

    fn url(&self, path: &str) -> Url {
        self.base
            .join(path)
            .expect("registry paths are valid URL paths")
    }

    async fn authorize(&self, req: RequestBuilder) -> RequestBuilder {
        match (&*self.auth.lock().await, &self.creds) {
            (AuthState::Basic, Some(c)) => req.basic_auth(&c.username, Some(&c.password)),
            (AuthState::Bearer(t), _) => req.bearer_auth(t),
            _ => req,
        }
    }

    /// Answers a 401 challenge: Basic uses the credentials, Bearer fetches a
    /// token for the challenged scope. Returns false when nothing can help.
    async fn answer_challenge(&self, resp: &Response) -> anyhow::Result<bool> {
        let Some(challenge) = resp
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
        else {
            return Ok(false);
        };
        let lower = challenge.to_ascii_lowercase();
        if lower.starts_with("basic") {
            if self.creds.is_none() {
                return Ok(false);
            }
            *self.auth.lock().await = AuthState::Basic;
            return Ok(true);
        }
        if !lower.starts_with("bearer") {
            return Ok(false);
        }
        let params = parse_challenge(&challenge[6..]);
        let realm = params
            .get("realm")
            .context("Bearer challenge without realm")?;
        let mut url =
            Url::parse(realm).with_context(|| format!("Bearer realm {realm:?} is not a URL"))?;
        for key in ["service", "scope"] {
            if let Some(v) = params.get(key) {
                url.query_pairs_mut().append_pair(key, v);
            }
        }
        let mut req = self.http.get(url.clone());
        if let Some(c) = &self.creds {
            req = req.basic_auth(&c.username, Some(&c.password));
        }
        let tok = req.send().await.with_context(|| format!("GET {url}"))?;
        if !tok.status().is_success() {
            return Err(status_error(Method::GET, &url, tok).await);
        }
        #[derive(Deserialize)]
        struct Token {
            token: Option<String>,
            access_token: Option<String>,
        }
        let t: Token = tok
            .json()
            .await
            .with_context(|| format!("token from {url}"))?;
        let t = t
            .token
            .or(t.access_token)
            .context("token response without a token")?;
        *self.auth.lock().await = AuthState::Bearer(t);
        Ok(true)
    }

    /// Sends one request (built anew for an auth retry); any status is returned.
    async fn send_once(
        &self,
        make: &(dyn Fn(&reqwest::Client) -> RequestBuilder + Sync),
    ) -> anyhow::Result<Response> {
        let mut answered = 0;
        loop {
            let req = self.authorize(make(&self.http)).await.build()?;
            let (method, url) = (req.method().clone(), req.url().clone());
            let resp = self
                .http
                .execute(req)
                .await
                .with_context(|| format!("{method} {url}"))?;
            if resp.status() == StatusCode::UNAUTHORIZED
                && answered < 2
                && self.answer_challenge(&resp).await?
            {
                answered += 1;
                continue;
            }
            return Ok(resp);
        }
    }

    /// Sends an idempotent request with retries; 5xx become transient errors.
    async fn send(
        &self,
        what: &str,
        make: &(dyn Fn(&reqwest::Client) -> RequestBuilder + Sync),
    ) -> anyhow::Result<Response> {
        with_retries(what, self.attempts, || async {
            server_error_as_err(what, self.send_once(make).await?).await
        })
        .await
    }

    async fn expect(resp: Response, method: Method, ok: &[StatusCode]) -> anyhow::Result<Response> {
        if ok.contains(&resp.status()) {
            Ok(resp)
        } else {
            let url = resp.url().clone();
            Err(status_error(method, &url, resp).await)
        }
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
        while let Some(url) = next.take() {
            let resp = self
                .send(&format!("catalog of {}", self.host), &|c| {
                    c.get(url.clone())
                })
                .await?;
            let resp = Self::expect(resp, Method::GET, &[StatusCode::OK]).await?;
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
        while let Some(url) = next.take() {
            let resp = self
                .send(&format!("tags of {}/{repo}", self.host), &|c| {
                    c.get(url.clone())
                })
                .await?;
            if resp.status() == StatusCode::NOT_FOUND {
                return Ok(out);
            }
            let resp = Self::expect(resp, Method::GET, &[StatusCode::OK]).await?;
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
            .send(&what, &|c| {
                c.head(url.clone()).header(ACCEPT, ACCEPT_MANIFESTS)
            })
            .await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let resp = Self::expect(resp, Method::HEAD, &[StatusCode::OK]).await?;
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
        with_retries(&what, self.attempts, || async {
            // One attempt per round: the body read below is retried with it.
            let resp = self
                .send_once(&|c| c.get(url.clone()).header(ACCEPT, ACCEPT_MANIFESTS))
                .await?;
            let resp = server_error_as_err(&what, resp).await?;
            if resp.status() == StatusCode::NOT_FOUND {
                return Ok(None);
            }
            let resp = Self::expect(resp, Method::GET, &[StatusCode::OK]).await?;
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
            .send(&what, &|c| {
                c.put(url.clone())
                    .header(CONTENT_TYPE, &m.media_type)
                    .body(m.bytes.clone())
            })
            .await?;
        Self::expect(
            resp,
            Method::PUT,
            &[StatusCode::CREATED, StatusCode::OK, StatusCode::ACCEPTED],
        )
        .await?;
        Ok(())
    }

    /// Whether the repository holds a blob (HEAD).
    pub async fn blob_exists(&self, repo: &str, digest: &str) -> anyhow::Result<bool> {
        let url = self.url(&format!("v2/{repo}/blobs/{digest}"));
        let resp = self
            .send(&format!("HEAD blob {}/{repo}@{digest}", self.host), &|c| {
                c.head(url.clone())
            })
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
        let resp = self.send_once(&|c| c.get(url.clone())).await?;
        Self::expect(resp, Method::GET, &[StatusCode::OK]).await
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
        let mut url = self.url(&format!("v2/{repo}/blobs/uploads/"));
        url.query_pairs_mut()
            .append_pair("mount", digest)
            .append_pair("from", from);
        let resp = self
            .send_once(&|c| c.post(url.clone()).header(CONTENT_LENGTH, "0"))
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
            .send_once(&|c| c.post(url.clone()).header(CONTENT_LENGTH, "0"))
            .await?;
        let resp = Self::expect(resp, Method::POST, &[StatusCode::ACCEPTED]).await?;
        self.location(&resp)
    }

    /// Completes an upload session with the whole blob in one streamed PUT;
    /// the registry verifies `digest` against what it received.
    pub async fn finish_upload(
        &self,
        location: Url,
        digest: &str,
        size: u64,
        body: reqwest::Body,
    ) -> anyhow::Result<()> {
        let mut url = location;
        url.query_pairs_mut().append_pair("digest", digest);
        let req = self
            .authorize(self.http.put(url.clone()))
            .await
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_LENGTH, size)
            .body(body);
        let resp = req.send().await.with_context(|| format!("PUT {url}"))?;
        Self::expect(resp, Method::PUT, &[StatusCode::CREATED]).await?;
        Ok(())
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
