//! Sending requests to a registry: one request with its authentication and
//! rate-limit rounds, retries on transient failures, and the errors an
//! unexpected status becomes.

use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context as _;
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use url::Url;

use super::client::Registry;
use super::token::Scopes;

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

pub(super) async fn status_error(method: Method, url: &Url, resp: Response) -> anyhow::Error {
    described_status_error(format!("{method} {url}"), resp).await
}

pub(super) async fn described_status_error(request: String, resp: Response) -> anyhow::Error {
    let status = resp.status();
    let body = crate::http_client::read_start(resp, crate::http_client::limits::ERROR_BODY).await;
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
pub(super) async fn server_error_as_err(what: &str, resp: Response) -> anyhow::Result<Response> {
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
    /// Logs `RateLimit-Remaining` when the registry sends it: once at info,
    /// then at debug, and as a warning when few pulls are left.
    pub(super) fn note_rate_limit(&self, resp: &Response) {
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
    pub(super) async fn send_once(
        &self,
        scopes: &Scopes,
        make: &(dyn Fn(&reqwest::Client) -> RequestBuilder + Sync),
    ) -> anyhow::Result<Response> {
        self.send_once_as(scopes, make, None).await
    }

    /// [`Registry::send_once`] for a POST that opens an upload session in
    /// `repo`: sent by a task of its own (see [`Registry::execute_opening`]).
    pub(super) async fn send_opening(
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

    /// Sends an idempotent request with retries; 5xx become transient errors.
    pub(super) async fn send(
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

    pub(super) async fn expect(
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
}
