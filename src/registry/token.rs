//! Bearer tokens of the distribution token protocol, cached per scope set.
//!
//! Registries with token auth (Docker Hub, Quay, docker-registry's `auth:
//! token`) scope each token to repositories and actions. A registry client
//! is shared by every copy of a run, so one token per registry would have
//! concurrent copies replace each other's token. Here each request names the
//! scopes it needs up front (`repository:<name>:pull` on a source,
//! `...:pull,push` on a destination, plus `pull` on the repository a blob is
//! mounted from), and a token is fetched once per scope set and reused by any
//! request whose scopes it covers, until shortly before it expires.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use reqwest::header::CONTENT_TYPE;
use serde::Deserialize;
use url::Url;

use super::auth::{self, Credentials};
use super::transport::described_status_error;

/// The access a request needs: resource (`repository:a/b`) -> actions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scopes(BTreeMap<String, BTreeSet<String>>);

impl Scopes {
    /// `pull` on a repository.
    pub fn pull(repo: &str) -> Self {
        Self::default().with(repo, &["pull"])
    }

    /// `pull,push` on a repository.
    pub fn push(repo: &str) -> Self {
        Self::default().with(repo, &["pull", "push"])
    }

    /// Adds actions on a repository.
    pub fn with(mut self, repo: &str, actions: &[&str]) -> Self {
        self.0
            .entry(format!("repository:{repo}"))
            .or_default()
            .extend(actions.iter().map(|a| a.to_string()));
        self
    }

    /// Adds actions on any resource (`registry:catalog`).
    pub fn with_resource(mut self, resource: &str, actions: &[&str]) -> Self {
        self.0
            .entry(resource.to_string())
            .or_default()
            .extend(actions.iter().map(|a| a.to_string()));
        self
    }

    /// Everything of `self` and `other`.
    pub fn union(&self, other: &Scopes) -> Self {
        let mut out = self.clone();
        for (res, actions) in &other.0 {
            out.0
                .entry(res.clone())
                .or_default()
                .extend(actions.iter().cloned());
        }
        out
    }

    /// Whether a token for `self` allows everything `wanted` asks.
    pub fn covers(&self, wanted: &Scopes) -> bool {
        wanted.0.iter().all(|(res, actions)| {
            self.0
                .get(res)
                .is_some_and(|have| actions.is_subset(have) || have.contains("*"))
        })
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `scope` parameters of a token request, one per resource.
    pub fn params(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|(res, actions)| {
                format!(
                    "{res}:{}",
                    actions.iter().cloned().collect::<Vec<_>>().join(",")
                )
            })
            .collect()
    }
}

impl std::fmt::Display for Scopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(no scope)");
        }
        f.write_str(&self.params().join(" "))
    }
}

/// One bearer token and when it stops being worth sending.
#[derive(Clone)]
pub struct Token {
    pub value: String,
    /// Past this instant the token is refreshed rather than sent: its expiry
    /// less a margin (a fifth of its lifetime, at most 30 s), so a request
    /// (or a long upload, which the registry authorizes when it starts)
    /// never starts with a token about to run out.
    pub refresh_at: Instant,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("value", &"<redacted>")
            .field("refresh_at", &self.refresh_at)
            .finish()
    }
}

impl Token {
    /// A token received now, valid `expires_in` seconds from `issued_at`
    /// (RFC 3339; absent: now). The spec's default lifetime is 60 s.
    pub fn new(value: String, expires_in: Option<u64>, issued_at: Option<&str>) -> Self {
        let lifetime = Duration::from_secs(expires_in.unwrap_or(60));
        // A token issued a while ago (a slow answer) has less left; a
        // token server whose clock runs ahead of ours is not trusted for more.
        let age = issued_at
            .and_then(parse_rfc3339)
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .unwrap_or_default()
            .min(lifetime);
        let left = lifetime - age;
        let margin = (lifetime / 5).min(Duration::from_secs(30));
        Self {
            value,
            refresh_at: Instant::now() + left.saturating_sub(margin),
        }
    }

    fn fresh(&self) -> bool {
        Instant::now() < self.refresh_at
    }
}

#[derive(Default)]
struct Slot {
    /// Held while this scope set's token is fetched: one fetch at a time.
    fetching: tokio::sync::Mutex<()>,
    token: std::sync::Mutex<Option<Token>>,
}

/// Tokens of one registry, by scope set.
#[derive(Default)]
pub struct TokenCache {
    slots: std::sync::Mutex<HashMap<Scopes, Arc<Slot>>>,
}

impl TokenCache {
    /// A fresh cached token whose scopes cover `wanted`.
    pub fn find(&self, wanted: &Scopes) -> Option<String> {
        let slots = self.slots.lock().expect("token cache lock");
        // The exact set first, then any wider one.
        if let Some(t) = slots.get(wanted).and_then(|s| fresh(s)) {
            return Some(t);
        }
        slots
            .iter()
            .filter(|(scopes, _)| scopes.covers(wanted))
            .find_map(|(_, s)| fresh(s))
    }

    /// The token for `wanted`: cached, or fetched with `fetch` (once, even
    /// when many requests ask at the same time).
    pub async fn get<F, Fut>(&self, wanted: &Scopes, fetch: F) -> anyhow::Result<String>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = anyhow::Result<Token>>,
    {
        if let Some(t) = self.find(wanted) {
            return Ok(t);
        }
        let slot = self
            .slots
            .lock()
            .expect("token cache lock")
            .entry(wanted.clone())
            .or_default()
            .clone();
        let _one = slot.fetching.lock().await;
        // Another request may have fetched it (or a wider one) meanwhile.
        if let Some(t) = self.find(wanted) {
            return Ok(t);
        }
        let token = fetch().await?;
        let value = token.value.clone();
        *slot.token.lock().expect("token slot lock") = Some(token);
        Ok(value)
    }

    /// Forgets a token the registry refused (expired or revoked early).
    pub fn invalidate(&self, value: &str) {
        for slot in self.slots.lock().expect("token cache lock").values() {
            let mut t = slot.token.lock().expect("token slot lock");
            if t.as_ref().is_some_and(|t| t.value == value) {
                *t = None;
            }
        }
    }
}

fn fresh(slot: &Slot) -> Option<String> {
    slot.token
        .lock()
        .expect("token slot lock")
        .as_ref()
        .filter(|t| t.fresh())
        .map(|t| t.value.clone())
}

/// Asks the token server at `realm` for a token covering `scopes` (with the
/// credentials, if any: Basic, or an identity token as a refresh token).
pub async fn fetch(
    http: &reqwest::Client,
    host: &str,
    realm: Url,
    service: Option<String>,
    creds: Option<&Credentials>,
    scopes: &Scopes,
) -> anyhow::Result<Token> {
    let mut url = realm;
    let identity = creds.filter(|c| c.username == auth::IDENTITY_TOKEN_USER);
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
        http.post(url.clone())
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
        let mut req = http.get(url.clone());
        if let Some(c) = creds {
            req = req.basic_auth(&c.username, Some(&c.password));
        }
        req
    };
    tracing::debug!("{host}: fetching a token for {scopes}");
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
    let body =
        crate::http_client::read_limited(tok, crate::http_client::limits::TOKEN, &what).await?;
    let a: Answer = serde_json::from_slice(&body).with_context(|| what.clone())?;
    let value = a
        .token
        .or(a.access_token)
        .with_context(|| format!("{what}: answer without a token"))?;
    Ok(Token::new(value, a.expires_in, a.issued_at.as_deref()))
}

/// Parses an RFC 3339 timestamp (`2026-11-02T10:00:00.123Z`, `...+01:00`).
pub fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    let (date, time) = s.split_once(['T', 't', ' '])?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let (clock, offset) = if let Some(c) = time.strip_suffix(['Z', 'z']) {
        (c, 0)
    } else {
        let pos = time.rfind(['+', '-'])?;
        let (c, off) = time.split_at(pos);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let (oh, om) = off[1..].split_once(':')?;
        (
            c,
            sign * (oh.parse::<i64>().ok()? * 3600 + om.parse::<i64>().ok()? * 60),
        )
    };
    let mut c = clock.splitn(3, ':');
    let (hh, mm) = (
        c.next()?.parse::<i64>().ok()?,
        c.next()?.parse::<i64>().ok()?,
    );
    let secs = c.next()?;
    let (whole, frac) = secs.split_once('.').unwrap_or((secs, ""));
    let ss = whole.parse::<i64>().ok()?;
    let nanos = if frac.is_empty() {
        0
    } else {
        let digits: String = frac.chars().take(9).collect();
        digits.parse::<u32>().ok()? * 10u32.pow(9 - digits.len() as u32)
    };
    // Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
    let (y2, m2) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * m2 + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let unix = days * 86_400 + hh * 3600 + mm * 60 + ss - offset;
    let base = SystemTime::UNIX_EPOCH;
    if unix >= 0 {
        Some(base + Duration::new(unix as u64, nanos))
    } else {
        None
    }
}

/// How long a `Retry-After` header asks to wait (seconds or an HTTP date).
pub fn retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_cover_and_print() {
        let push = Scopes::push("a/b");
        let mount = push.union(&Scopes::pull("c/d"));
        assert!(mount.covers(&push));
        assert!(mount.covers(&Scopes::pull("a/b")));
        assert!(!push.covers(&mount));
        assert!(!Scopes::pull("a/b").covers(&push));
        assert_eq!(
            mount.params(),
            vec!["repository:a/b:pull,push", "repository:c/d:pull"]
        );
        let cat = Scopes::default().with_resource("registry:catalog", &["*"]);
        assert!(cat.covers(&Scopes::default().with_resource("registry:catalog", &["list"])));
    }

    #[test]
    fn rfc3339_and_retry_after() {
        let t = parse_rfc3339("2026-11-02T10:00:00Z").unwrap();
        let secs = t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
        assert_eq!(secs, 1_793_613_600);
        let off = parse_rfc3339("2026-11-02T11:00:00.5+01:00").unwrap();
        assert_eq!(
            off.duration_since(SystemTime::UNIX_EPOCH).unwrap(),
            Duration::new(1_793_613_600, 500_000_000)
        );
        assert!(parse_rfc3339("yesterday").is_none());
        assert_eq!(retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert!(retry_after("soon").is_none());
    }

    #[test]
    fn tokens_refresh_before_they_expire() {
        let t = Token::new("x".into(), Some(300), None);
        let left = t.refresh_at - Instant::now();
        assert!(left > Duration::from_secs(265) && left <= Duration::from_secs(270));
        let old = Token::new("y".into(), Some(10), Some("2001-01-01T00:00:00Z"));
        assert!(!old.fresh(), "issued long ago: already stale");
        assert!(!format!("{t:?}").contains('x'));
    }

    #[tokio::test]
    async fn one_fetch_per_scope_set_and_wider_tokens_serve_narrower_asks() {
        let cache = TokenCache::default();
        let n = std::sync::atomic::AtomicU32::new(0);
        let fetch = || async {
            n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok(Token::new("t1".into(), Some(300), None))
        };
        let wide = Scopes::push("a").union(&Scopes::pull("b"));
        let (a, b) = tokio::join!(cache.get(&wide, fetch), cache.get(&wide, fetch));
        assert_eq!((a.unwrap(), b.unwrap()), ("t1".into(), "t1".into()));
        assert_eq!(n.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(cache.find(&Scopes::push("a")).as_deref(), Some("t1"));
        assert!(cache.find(&Scopes::push("b")).is_none());
        cache.invalidate("t1");
        assert!(cache.find(&Scopes::push("a")).is_none());
    }
}
