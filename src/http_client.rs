//! The one way apex starts an HTTP client: with the system's CA roots read
//! once per process. reqwest's default verifier reads and parses every file
//! of /etc/ssl/certs each time a client is built; a deploy builds one per
//! registry and one for artifacts, and that reading was a large share of a
//! rerun's CPU time. The trust is the same: the system roots, plus any CA a
//! caller adds. Every request says who sends it: `User-Agent: apex/<version>`
//! (registries, token servers, artifact servers and Gerrit log it; public
//! registries attribute rate limits and support by it).

use std::sync::LazyLock;

/// The system's CA certificates (those `rustls-native-certs` finds), in DER.
fn system_roots() -> &'static [reqwest::Certificate] {
    static ROOTS: LazyLock<Vec<reqwest::Certificate>> = LazyLock::new(|| {
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            tracing::warn!("loading the system CA certificates: {e}");
        }
        let roots: Vec<_> = found
            .certs
            .iter()
            .filter_map(|c| reqwest::Certificate::from_der(c).ok())
            .collect();
        if roots.is_empty() {
            tracing::warn!(
                "no system CA certificates found (Debian package ca-certificates): HTTPS servers will not be trusted"
            );
        }
        roots
    });
    &ROOTS
}

/// The `User-Agent` of every request apex sends.
pub const USER_AGENT: &str = concat!("apex/", env!("CARGO_PKG_VERSION"));

/// A client builder trusting the system roots and naming apex as the user
/// agent; callers add their own CA with `tls_certs_merge` and set timeouts as
/// they need.
pub fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .tls_certs_only(system_roots().iter().cloned())
        .user_agent(USER_AGENT)
}

/// How much of a small answer apex reads before it calls the answer wrong:
/// a server (a registry, a token server, an artifact mirror) decides what it
/// sends, so no answer read into memory is unbounded.
pub mod limits {
    /// A registry's error body (only its start is shown).
    pub const ERROR_BODY: usize = 64 << 10;
    /// A token server's JSON answer.
    pub const TOKEN: usize = 1 << 20;
    /// A manifest; distribution refuses to store one over 4 MiB.
    pub const MANIFEST: usize = 4 << 20;
    /// One page of a catalog or tag list (`n=1000` names).
    pub const LIST_PAGE: usize = 8 << 20;
    /// How many pages a catalog or tag list may have (10 million names).
    pub const LIST_PAGES: usize = 10_000;
    /// An image config blob read whole (its history makes it grow, slowly).
    pub const CONFIG: usize = 16 << 20;
    /// A published checksum file.
    pub const CHECKSUM_FILE: usize = 1 << 20;
    /// `core.http.get`'s default (an API answer: Gerrit, a registry).
    pub const API_BODY: usize = 16 << 20;
}

/// Reads a whole body into memory, at most `max` bytes: a longer one (by its
/// Content-Length or as it streams) is an error naming `what` and the limit.
pub async fn read_limited(
    mut resp: reqwest::Response,
    max: usize,
    what: &str,
) -> anyhow::Result<bytes::Bytes> {
    let too_long =
        || anyhow::anyhow!("{what}: the answer is longer than {max} bytes (apex's limit)");
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(too_long());
    }
    let mut out = bytes::BytesMut::new();
    while let Some(chunk) = resp.chunk().await? {
        if out.len() + chunk.len() > max {
            return Err(too_long());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out.freeze())
}

/// Like [`read_limited`], as text (lossy UTF-8), cut at `max` bytes instead
/// of refused: for error bodies that are only shown.
pub async fn read_start(mut resp: reqwest::Response, max: usize) -> String {
    let mut out = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        let room = max - out.len();
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if out.len() >= max {
            break;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
