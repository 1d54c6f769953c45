//! A loopback HTTP proxy in front of a lab registry: it records every request
//! (so a test can count blob uploads) and can fail the next N matching
//! requests with a status or a dropped connection (so a test can check
//! retries), rate-limit them (429 with `Retry-After`, as Docker Hub's pull
//! limit), hold them or send their body slowly (a slow upload), or flip a
//! byte of the answer's body (a corrupt blob). Bodies are streamed both ways.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use bytes::Bytes;
use futures::{StreamExt as _, TryStreamExt as _};
use http_body_util::{BodyExt, BodyStream, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request as HyperRequest, Response};
use hyper_util::rt::TokioIo;

/// One request seen by the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// Path and query.
    pub path: String,
    /// The `User-Agent` header, if any.
    pub user_agent: Option<String>,
}

/// How a request is made to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status (e.g. 503) without reaching the registry.
    Status(u16),
    /// Close the connection without answering.
    Drop,
    /// Answer 429 with `Retry-After: <secs>` and `RateLimit-Remaining: 0`.
    RateLimit { retry_after_secs: u64 },
    /// Forward the request only after this many milliseconds (its headers
    /// reach the registry late: a token may have run out meanwhile).
    Delay { millis: u64 },
    /// Forward the request's headers at once but its body only after this
    /// many milliseconds (a slow upload the registry authorized at its start).
    SlowBody { millis: u64 },
    /// Forward the request but flip the first byte of the answer's body (a
    /// source serving a corrupt blob: same length, another digest).
    CorruptBody,
}

#[derive(Default)]
struct State {
    seen: Vec<Request>,
    /// "METHOD path" and the status answered, for each answered request.
    answered: Vec<(String, u16)>,
    /// (remaining, filter on "METHOD path", fault)
    faults: Vec<(usize, String, Fault)>,
}

/// The running proxy; it stops when dropped.
pub struct FaultyProxy {
    port: u16,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

type Body = BoxBody<Bytes, std::io::Error>;

fn io_err(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

async fn forward(
    client: &reqwest::Client,
    target: &str,
    proxy_host: &str,
    req: HyperRequest<Incoming>,
    hold_body: Option<u64>,
    corrupt: bool,
) -> anyhow::Result<Response<Body>> {
    let (parts, body) = req.into_parts();
    let url = format!(
        "http://{target}{}",
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let mut out = client.request(parts.method.clone(), &url);
    for (k, v) in &parts.headers {
        if !matches!(
            k.as_str(),
            "host" | "connection" | "transfer-encoding" | "keep-alive"
        ) {
            out = out.header(k, v);
        }
    }
    let stream = BodyStream::new(body).try_filter_map(|f| async move { Ok(f.into_data().ok()) });
    let held = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(hold_body.is_none()));
    let stream = stream.and_then(move |chunk: Bytes| {
        let held = held.clone();
        async move {
            if !held.swap(true, std::sync::atomic::Ordering::Relaxed) {
                let ms = hold_body.unwrap_or(0);
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            }
            Ok(chunk)
        }
    });
    out = out
        .header("host", proxy_host)
        .body(reqwest::Body::wrap_stream(stream));
    let resp = out
        .send()
        .await
        .with_context(|| format!("proxying {url}"))?;
    let mut builder = Response::builder().status(resp.status().as_u16());
    for (k, v) in resp.headers() {
        if !matches!(
            k.as_str(),
            "connection" | "transfer-encoding" | "keep-alive"
        ) {
            builder = builder.header(k.as_str(), v.as_bytes());
        }
    }
    let mut flipped = !corrupt;
    let body = StreamBody::new(resp.bytes_stream().map(move |r| {
        r.map(|chunk| {
            if flipped || chunk.is_empty() {
                return Frame::data(chunk);
            }
            flipped = true;
            let mut bytes = chunk.to_vec();
            bytes[0] ^= 0xff;
            Frame::data(Bytes::from(bytes))
        })
        .map_err(io_err)
    }));
    Ok(builder.body(BodyExt::boxed(body))?)
}

fn text_response(code: u16, text: String) -> Response<Body> {
    let body = http_body_util::Full::new(Bytes::from(text)).map_err(|e: Infallible| match e {});
    Response::builder()
        .status(code)
        .body(body.boxed())
        .expect("a status and a text body make a response")
}

impl FaultyProxy {
    /// Starts a proxy on a free loopback port forwarding to `target` (`host:port`).
    pub async fn start(target: &str) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(Mutex::new(State::default()));
        let (target, st) = (target.to_string(), state.clone());
        let client = apex::http_client::builder()
            .no_gzip()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (target, st, client) = (target.clone(), st.clone(), client.clone());
                let proxy_host = format!("127.0.0.1:{port}");
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: HyperRequest<Incoming>| {
                        let (target, st, client, proxy_host) = (
                            target.clone(),
                            st.clone(),
                            client.clone(),
                            proxy_host.clone(),
                        );
                        async move {
                            let line = Request {
                                method: req.method().to_string(),
                                path: req.uri().to_string(),
                                user_agent: req
                                    .headers()
                                    .get(hyper::header::USER_AGENT)
                                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
                            };
                            let key = format!("{} {}", line.method, line.path);
                            let fault = {
                                let mut s = st.lock().expect("proxy state");
                                s.seen.push(line);
                                let hit = s
                                    .faults
                                    .iter_mut()
                                    .find(|(n, f, _)| *n > 0 && key.contains(f.as_str()));
                                hit.map(|(n, _, fault)| {
                                    *n -= 1;
                                    *fault
                                })
                            };
                            let answer = match fault {
                                Some(Fault::Drop) => Err(io_err("dropped by the faulty proxy")),
                                Some(Fault::Status(code)) => {
                                    Ok(text_response(code, "injected fault".into()))
                                }
                                Some(Fault::RateLimit { retry_after_secs }) => {
                                    let mut r = text_response(
                                        429,
                                        r#"{"errors":[{"code":"TOOMANYREQUESTS","message":"injected rate limit"}]}"#.into(),
                                    );
                                    let h = r.headers_mut();
                                    h.insert("retry-after", retry_after_secs.into());
                                    h.insert(
                                        "ratelimit-limit",
                                        "100;w=21600".parse().expect("header"),
                                    );
                                    h.insert(
                                        "ratelimit-remaining",
                                        "0;w=21600".parse().expect("header"),
                                    );
                                    Ok(r)
                                }
                                other => {
                                    let mut throttle = None;
                                    let corrupt = other == Some(Fault::CorruptBody);
                                    match other {
                                        Some(Fault::Delay { millis }) => {
                                            tokio::time::sleep(std::time::Duration::from_millis(
                                                millis,
                                            ))
                                            .await
                                        }
                                        Some(Fault::SlowBody { millis }) => throttle = Some(millis),
                                        _ => {}
                                    }
                                    match forward(
                                        &client,
                                        &target,
                                        &proxy_host,
                                        req,
                                        throttle,
                                        corrupt,
                                    )
                                    .await
                                    {
                                        Ok(r) => Ok(r),
                                        Err(e) => Ok(text_response(502, format!("{e:#}"))),
                                    }
                                }
                            };
                            if let Ok(r) = &answer {
                                st.lock()
                                    .expect("proxy state")
                                    .answered
                                    .push((key, r.status().as_u16()));
                            }
                            answer
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self { port, state, task })
    }

    /// `127.0.0.1:<port>`: use it as the registry host.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Makes the next `n` requests whose "METHOD path" contains `filter` fail with `fault`.
    pub fn fail_next(&self, n: usize, filter: &str, fault: Fault) {
        self.state
            .lock()
            .expect("proxy state")
            .faults
            .push((n, filter.to_string(), fault));
    }

    /// Every request seen so far.
    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().expect("proxy state").seen.clone()
    }

    /// How many requests seen so far have this method and a path containing `path_part`.
    pub fn count(&self, method: &str, path_part: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method == method && r.path.contains(path_part))
            .count()
    }

    /// How many requests with this method and a path containing
    /// `path_part` were answered with `status`.
    pub fn count_status(&self, method: &str, path_part: &str, status: u16) -> usize {
        let prefix = format!("{method} ");
        self.state
            .lock()
            .expect("proxy state")
            .answered
            .iter()
            .filter(|(k, s)| *s == status && k.starts_with(&prefix) && k.contains(path_part))
            .count()
    }

    /// Forgets the requests seen so far.
    pub fn reset(&self) {
        let mut s = self.state.lock().expect("proxy state");
        s.seen.clear();
        s.answered.clear();
    }
}

impl Drop for FaultyProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
