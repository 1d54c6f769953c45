//! A loopback HTTP proxy in front of a lab registry: it records every request
//! (so a test can count blob uploads) and can fail the next N matching
//! requests with a status or a dropped connection (so a test can check
//! retries). Bodies are streamed both ways.

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
}

/// How a request is made to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status (e.g. 503) without reaching the registry.
    Status(u16),
    /// Close the connection without answering.
    Drop,
}

#[derive(Default)]
struct State {
    seen: Vec<Request>,
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
    let body = StreamBody::new(
        resp.bytes_stream()
            .map(|r| r.map(Frame::data).map_err(io_err)),
    );
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
                            };
                            let fault = {
                                let mut s = st.lock().expect("proxy state");
                                let key = format!("{} {}", line.method, line.path);
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
                            match fault {
                                Some(Fault::Drop) => Err(io_err("dropped by the faulty proxy")),
                                Some(Fault::Status(code)) => {
                                    Ok(text_response(code, "injected fault".into()))
                                }
                                None => match forward(&client, &target, &proxy_host, req).await {
                                    Ok(r) => Ok(r),
                                    Err(e) => Ok(text_response(502, format!("{e:#}"))),
                                },
                            }
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

    /// Forgets the requests seen so far.
    pub fn reset(&self) {
        self.state.lock().expect("proxy state").seen.clear();
    }
}

impl Drop for FaultyProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
