//! What a repository lists and holds: the catalog, tags and manifests
//! (their media types, raw bytes and digest; GET, HEAD, PUT, DELETE), and an
//! image's config read through its manifest.

use anyhow::{Context as _, anyhow, bail};
use bytes::Bytes;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use url::Url;

use super::client::Registry;
use super::token::Scopes;
use super::transport::{server_error_as_err, with_retries};
use crate::http_client::{limits, read_limited};

/// Media types of manifests and manifest lists this client moves.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const ACCEPT_MANIFESTS: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

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

impl Registry {
    /// Lists repositories (`/v2/_catalog`, following pagination).
    pub async fn catalog(&self) -> anyhow::Result<Vec<String>> {
        Ok(self.catalog_within(usize::MAX).await?.unwrap_or_default())
    }

    /// [`Registry::catalog`] when it takes at most `max_pages` requests (of
    /// 1000 names each); `None` when it is longer.
    pub async fn catalog_within(&self, max_pages: usize) -> anyhow::Result<Option<Vec<String>>> {
        #[derive(Deserialize)]
        struct Catalog {
            #[serde(default)]
            repositories: Vec<String>,
        }
        let mut out = Vec::new();
        let mut pages = 0;
        let mut next = Some(self.url("v2/_catalog?n=1000"));
        let catalog_scope = Scopes::default().with_resource("registry:catalog", &["*"]);
        while let Some(url) = next.take() {
            if pages == max_pages {
                return Ok(None);
            }
            let resp = self
                .send(&format!("catalog of {}", self.host), &catalog_scope, &|c| {
                    c.get(url.clone())
                })
                .await?;
            let resp = self.expect(resp, Method::GET, &[StatusCode::OK]).await?;
            next = next_link(&url, resp.headers());
            let what = format!("catalog of {}", self.host);
            let body = read_limited(resp, limits::LIST_PAGE, &what).await?;
            let page: Catalog =
                serde_json::from_slice(&body).with_context(|| format!("{what}: bad JSON"))?;
            pages = next_page(pages, &what)?;
            out.extend(page.repositories);
        }
        Ok(Some(out))
    }

    /// Lists the tags of a repository; an unknown repository has none.
    pub async fn tags(&self, repo: &str) -> anyhow::Result<Vec<String>> {
        #[derive(Deserialize)]
        struct Tags {
            tags: Option<Vec<String>>,
        }
        let mut out = Vec::new();
        let mut pages = 0;
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
            let what = format!("tags of {}/{repo}", self.host);
            let body = read_limited(resp, limits::LIST_PAGE, &what).await?;
            let page: Tags =
                serde_json::from_slice(&body).with_context(|| format!("{what}: bad JSON"))?;
            pages = next_page(pages, &what)?;
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
            let bytes = read_limited(resp, limits::MANIFEST, &what)
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

/// Counts a page of a catalog or tag list: a registry whose `Link` headers
/// never end is an error after [`limits::LIST_PAGES`] pages, not a loop.
fn next_page(pages: usize, what: &str) -> anyhow::Result<usize> {
    if pages + 1 >= limits::LIST_PAGES {
        bail!(
            "{what}: more than {} pages (apex's limit)",
            limits::LIST_PAGES
        );
    }
    Ok(pages + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_parsing() {
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
}
