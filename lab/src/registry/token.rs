//! The lab's token server for a docker-registry with `auth: token`: on
//! loopback, anonymous, granting any scope asked, with RS256 JWTs the
//! registry verifies against a self-signed certificate made with openssl at
//! start (`rootcertbundle`, the certificate sent in the token's `x5c`).
//!
//! It counts the tokens it hands out per scope set, so tests and the bench
//! can check how many a client asked for, and its token lifetime can be made
//! short. docker-registry accepts a token up to 60 s past its `exp` (clock
//! leeway); the lab signs `exp` 60 s early so a token stops working when
//! `expires_in` says.

use std::convert::Infallible;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rsa::pkcs8::DecodePrivateKey as _;
use sha2::{Digest as _, Sha256};

/// The issuer and service names the lab registry's token config expects.
pub const ISSUER: &str = "apex-lab-token";
pub const SERVICE: &str = "apex-lab-registry";
/// docker-registry's clock leeway on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 60;

struct Signer {
    key: rsa::RsaPrivateKey,
    /// Base64 (standard) DER of the certificate, for the `x5c` header.
    cert_b64: String,
}

#[derive(Default)]
struct State {
    /// The scope parameters of each token handed out, sorted.
    issued: Vec<Vec<String>>,
    /// The `User-Agent` of each request ("" without one).
    user_agents: Vec<String>,
}

/// A running token server; it stops when dropped.
pub struct TokenServer {
    port: u16,
    expires_in: Arc<AtomicU64>,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl Signer {
    fn load(dir: &Path) -> anyhow::Result<Self> {
        let key_pem = std::fs::read_to_string(dir.join("token.key"))?;
        let key = rsa::RsaPrivateKey::from_pkcs8_pem(&key_pem)
            .context("the lab token key is not a PKCS#8 RSA key")?;
        let cert = std::fs::read_to_string(dir.join("token.pem"))?;
        let cert_b64: String = cert
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<Vec<_>>()
            .concat();
        Ok(Self { key, cert_b64 })
    }

    /// An RS256 JWT with these claims.
    fn sign(&self, claims: &serde_json::Value) -> anyhow::Result<String> {
        let header = serde_json::json!({"typ": "JWT", "alg": "RS256", "x5c": [self.cert_b64]});
        let input = format!(
            "{}.{}",
            b64url(&serde_json::to_vec(&header)?),
            b64url(&serde_json::to_vec(claims)?)
        );
        // PKCS#1 v1.5 over the SHA-256 DigestInfo.
        const SHA256_PREFIX: [u8; 19] = [
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ];
        let mut digest_info = SHA256_PREFIX.to_vec();
        digest_info.extend_from_slice(&Sha256::digest(input.as_bytes()));
        let sig = self
            .key
            .sign(rsa::Pkcs1v15Sign::new_unprefixed(), &digest_info)
            .context("signing a lab token")?;
        Ok(format!("{input}.{}", b64url(&sig)))
    }
}

/// `repository:a/b:pull,push` -> the JWT `access` entry.
fn access_entry(scope: &str) -> Option<serde_json::Value> {
    let (kind, rest) = scope.split_once(':')?;
    let (name, actions) = rest.rsplit_once(':')?;
    let actions: Vec<&str> = actions.split(',').filter(|a| !a.is_empty()).collect();
    Some(serde_json::json!({"type": kind, "name": name, "actions": actions}))
}

fn answer(
    signer: &Signer,
    expires_in: u64,
    scopes: &[String],
) -> anyhow::Result<serde_json::Value> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let access: Vec<serde_json::Value> = scopes.iter().filter_map(|s| access_entry(s)).collect();
    let claims = serde_json::json!({
        "iss": ISSUER,
        "sub": "anonymous",
        "aud": SERVICE,
        // Signed early by the registry's leeway: it stops working at expires_in.
        "exp": (now + expires_in).saturating_sub(LEEWAY_SECS),
        "nbf": now.saturating_sub(1),
        "iat": now,
        "jti": format!("{now}-{}", rand_suffix()),
        "access": access,
    });
    let token = signer.sign(&claims)?;
    let issued_at = httpdate_rfc3339(now);
    Ok(serde_json::json!({
        "token": token,
        "access_token": token,
        "expires_in": expires_in,
        "issued_at": issued_at,
    }))
}

fn rand_suffix() -> u64 {
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// Unix seconds as RFC 3339 UTC.
fn httpdate_rfc3339(unix: u64) -> String {
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix))
        .to_string()
}

impl TokenServer {
    /// Makes a key and certificate in `dir` and serves tokens valid
    /// `expires_in` seconds on a free loopback port.
    pub async fn start(dir: &Path, expires_in: u64) -> anyhow::Result<Self> {
        // `token.key` (RSA, PKCS#8) and a self-signed `token.pem`.
        super::self_signed(dir, "apex lab token issuer", "token.key", "token.pem")?;
        let signer = Arc::new(Signer::load(dir)?);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(Mutex::new(State::default()));
        let expires = Arc::new(AtomicU64::new(expires_in));
        let (st, exp) = (state.clone(), expires.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (signer, st, exp) = (signer.clone(), st.clone(), exp.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let (signer, st, exp) = (signer.clone(), st.clone(), exp.clone());
                        async move {
                            let agent = req
                                .headers()
                                .get(hyper::header::USER_AGENT)
                                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
                            st.lock()
                                .expect("token state")
                                .user_agents
                                .push(agent.unwrap_or_default());
                            let mut scopes: Vec<String> = url::form_urlencoded::parse(
                                req.uri().query().unwrap_or("").as_bytes(),
                            )
                            .filter(|(k, _)| k == "scope")
                            .flat_map(|(_, v)| v.split(' ').map(str::to_string).collect::<Vec<_>>())
                            .filter(|s| !s.is_empty())
                            .collect();
                            scopes.sort();
                            let (code, body) =
                                match answer(&signer, exp.load(Ordering::Relaxed), &scopes) {
                                    Ok(v) => {
                                        st.lock().expect("token state").issued.push(scopes);
                                        (200, v.to_string())
                                    }
                                    Err(e) => (500, format!("{e:#}")),
                                };
                            let body = Full::new(Bytes::from(body))
                                .map_err(|e: Infallible| match e {})
                                .boxed();
                            Ok::<_, Infallible>(
                                Response::builder()
                                    .status(code)
                                    .header("content-type", "application/json")
                                    .body(body)
                                    .expect("a status and a body make a response"),
                            )
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self {
            port,
            expires_in: expires,
            state,
            task,
        })
    }

    /// The realm URL the registry sends clients to.
    pub fn realm(&self) -> String {
        format!("http://127.0.0.1:{}/token", self.port)
    }

    /// Lifetime of the tokens handed out from now on.
    pub fn set_expires_in(&self, secs: u64) {
        self.expires_in.store(secs, Ordering::Relaxed);
    }

    /// Tokens handed out so far.
    pub fn fetches(&self) -> usize {
        self.state.lock().expect("token state").issued.len()
    }

    /// The scope set of each token handed out so far, in order (each sorted,
    /// joined by spaces).
    pub fn issued(&self) -> Vec<String> {
        self.state
            .lock()
            .expect("token state")
            .issued
            .iter()
            .map(|s| s.join(" "))
            .collect()
    }

    /// The `User-Agent` of each request so far, in order ("" without one).
    pub fn user_agents(&self) -> Vec<String> {
        self.state.lock().expect("token state").user_agents.clone()
    }

    /// Forgets the tokens and requests counted so far.
    pub fn reset(&self) {
        let mut st = self.state.lock().expect("token state");
        st.issued.clear();
        st.user_agents.clear();
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_of_unix_seconds() {
        assert_eq!(
            super::httpdate_rfc3339(1_793_613_600),
            "2026-11-02T10:00:00Z"
        );
        assert_eq!(super::httpdate_rfc3339(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn access_entries() {
        assert_eq!(
            super::access_entry("repository:a/b:pull,push").unwrap(),
            serde_json::json!({"type": "repository", "name": "a/b", "actions": ["pull", "push"]})
        );
    }
}
