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
