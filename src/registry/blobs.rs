//! Blobs of a repository: existence, streamed and small reads, mounts
//! across repositories, and upload sessions (opened, streamed, committed,
//! abandoned).

use anyhow::Context as _;
use bytes::Bytes;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use reqwest::{Method, Response, StatusCode};
use url::Url;

use super::challenge::Sent;
use super::client::Registry;
use super::token::Scopes;
use super::transport::{status_error, with_retries};

/// What a cross-repository mount request led to.
pub enum Mount {
    /// The registry linked the blob: nothing to send.
    Mounted,
    /// The registry opened an upload session instead.
    Upload(Url),
}

/// A streamed upload refused for a reason a restart fixes (a token that ran
/// out, a rate limit waited out): the caller restarts it once.
#[derive(Debug, thiserror::Error)]
#[error("the upload is to be restarted")]
pub struct UploadRefused;

impl Registry {
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
            let resp = self.blob_stream(repo, digest).await?;
            crate::http_client::read_limited(resp, crate::http_client::limits::CONFIG, &what).await
        })
        .await
    }

    pub(super) fn location(&self, resp: &Response) -> anyhow::Result<Url> {
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
    pub(super) async fn streamed_refusal(
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

    /// Completes an upload session with a blob held in memory whose digest
    /// the caller has checked: one `PUT ?digest=` carrying the bytes (the
    /// commit point). The body is replayable, so a challenge or a rate limit
    /// is answered and the PUT sent again.
    pub async fn put_upload_bytes(
        &self,
        repo: &str,
        location: &Url,
        digest: &str,
        bytes: Bytes,
    ) -> anyhow::Result<()> {
        let mut url = location.clone();
        url.query_pairs_mut().append_pair("digest", digest);
        let resp = self
            .send_once(&self.push_scopes(repo), &|c| {
                c.put(url.clone())
                    .header(CONTENT_TYPE, "application/octet-stream")
                    .header(CONTENT_LENGTH, bytes.len())
                    .body(bytes.clone())
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
        self.authorize_cached(self.http.delete(location), &Scopes::push(repo))
    }

    /// Sends a POST that may open an upload session on a task of its own. A
    /// copy dropped while the POST is in flight (the run stopped by a signal)
    /// would lose the answer, and with it the only name of a session the
    /// registry opened meanwhile. The task reads the answer whatever happens
    /// to its caller; an answer no one took (the caller was gone before the
    /// task finished, or between the task's hand-over and its next poll) goes
    /// to the run's clean-up ([`super::copy::orphaned_session`]), which
    /// deletes the session.
    pub(super) async fn execute_opening(
        &self,
        repo: &str,
        req: reqwest::Request,
    ) -> anyhow::Result<Response> {
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
        got.map_err(|_| anyhow::anyhow!("the request's task ended without an answer"))?
            .map_err(anyhow::Error::from)
    }
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
                reqwest::RequestBuilder::from_parts(self.http.clone(), delete),
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
