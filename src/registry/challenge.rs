//! How requests to a registry are authenticated: the scheme learnt from its
//! first 401 challenge (Basic with the credentials, or Bearer with a token of
//! the token server, fetched and cached by scope set in `token`).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use anyhow::Context as _;
use reqwest::header::WWW_AUTHENTICATE;
use reqwest::{RequestBuilder, Response};
use url::Url;

use super::client::Registry;
use super::token::{self, Scopes, Token};

/// What a request carried.
pub(super) enum Sent {
    Nothing,
    Basic,
    Bearer(String),
}

/// How the registry wants requests authenticated, learnt from its first 401.
#[derive(Debug, Clone)]
pub(super) enum Scheme {
    /// Nothing asked yet: requests go without credentials.
    Unknown,
    Basic,
    Bearer {
        realm: Url,
        service: Option<String>,
    },
}

impl Registry {
    /// Adds what the registry's scheme needs for `scopes`; returns what was sent.
    pub(super) async fn authorize(
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

    /// A token for `scopes` from the token server (counted in
    /// [`Registry::token_fetches`]).
    async fn fetch_token(
        &self,
        realm: Url,
        service: Option<String>,
        scopes: &Scopes,
    ) -> anyhow::Result<Token> {
        self.token_fetches.fetch_add(1, Ordering::Relaxed);
        token::fetch(
            &self.http,
            &self.host,
            realm,
            service,
            self.creds.as_ref(),
            scopes,
        )
        .await
    }

    /// Adds the credentials at hand for `scopes` without asking for any: a
    /// cached token (none is fetched), for a request sent later.
    pub(super) fn authorize_cached(&self, req: RequestBuilder, scopes: &Scopes) -> RequestBuilder {
        let scheme = self.scheme.lock().expect("scheme lock").clone();
        match (scheme, &self.creds) {
            (Scheme::Basic, Some(c)) => req.basic_auth(&c.username, Some(&c.password)),
            (Scheme::Bearer { .. }, _) => match self.tokens.find(scopes) {
                Some(t) => req.bearer_auth(t),
                None => req,
            },
            _ => req,
        }
    }

    /// Learns from a 401 how to authenticate (and forgets a refused token).
    /// Returns false when nothing can help.
    pub(super) fn learn_challenge(&self, resp: &Response, sent: &Sent) -> anyhow::Result<bool> {
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
    fn challenge_parsing() {
        let p = parse_challenge(
            r#" realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#,
        );
        assert_eq!(p["realm"], "https://auth.example/token");
        assert_eq!(p["scope"], "repository:a/b:pull,push");
    }
}
