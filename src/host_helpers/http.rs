//! HTTP GET for APIs (Gerrit, registries): small bodies held in memory.
//! Artifacts go through `fetch_if_modified`, which streams to disk.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::lua::api::{Api, Effect, FnSpec};

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct GetOpts {
    pub url: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Seconds; default 30, at most 3600.
    pub timeout: Option<f64>,
    /// The longest body read, in bytes; default 16 MiB (a longer one is an error).
    pub max_bytes: Option<usize>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct GetResult {
    pub status: u16,
    pub body: String,
    pub headers: BTreeMap<String, String>,
}

/// One GET; any status is returned (the caller decides what is an error),
/// transport failures are errors naming the URL.
pub async fn get(opts: GetOpts) -> anyhow::Result<GetResult> {
    let timeout = opts.timeout.unwrap_or(30.0);
    if !(timeout > 0.0 && timeout <= 3600.0) {
        anyhow::bail!("timeout: got {timeout} (valid: seconds above 0, at most 3600)");
    }
    let max = opts
        .max_bytes
        .unwrap_or(crate::http_client::limits::API_BODY);
    let client = crate::http_client::builder()
        .timeout(Duration::from_secs_f64(timeout))
        .build()?;
    let mut req = client.get(&opts.url);
    for (k, v) in &opts.headers {
        req = req.header(k, v);
    }
    let resp = req
        .send()
        .await
        .with_context(|| format!("GET {} failed", opts.url))?;
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let what = format!("GET {}", opts.url);
    let body = crate::http_client::read_limited(resp, max, &what)
        .await
        .with_context(|| format!("GET {}: reading the body failed", opts.url))?;
    let body = String::from_utf8_lossy(&body).into_owned();
    Ok(GetResult {
        status,
        body,
        headers,
    })
}

pub fn register(api: &mut Api) -> mlua::Result<()> {
    api.async_fn(
        FnSpec {
            name: "http.get",
            doc: "GETs a URL (an API: Gerrit, a registry) and returns status, body and headers. Any status is returned; transport failures raise.",
            is_async: true,
            effect: Effect::ReadRemote,
            ..FnSpec::TYPED
        },
        get,
    )
}
