//! The lab's upstream artifact server: a real HTTP/1.1 server on 127.0.0.1
//! serving the files of one directory, with the validators and ranges an
//! image mirror sends (Last-Modified, ETag, Range/If-Range, optional
//! `<name>.sha256` sidecars) and faults that can be switched on at run time
//! (no validators, a connection cut mid-body, a truncated body, a body
//! without Content-Length, HTTP 500).
//!
//! It writes responses on the socket itself (requests are parsed with
//! `httparse`) because the faults need control of the wire that an HTTP
//! framework hides: a reset after N body bytes, or a clean close before the
//! announced length. It runs on its own thread and runtime, so tests, benches
//! and `apex lab up` can use it from sync or async code alike.

use std::collections::BTreeMap;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use sha2::Digest as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// Which validators responses carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Validators {
    /// ETag and Last-Modified (a normal mirror).
    #[default]
    Both,
    EtagOnly,
    DateOnly,
    /// Neither: clients must fall back to comparing size (HEAD).
    None,
}

/// A fault injected into GET responses; switch with [`ArtifactServer::set_fault`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    #[default]
    None,
    /// Resets the connection after `after` body bytes, for the next `times` GETs.
    CutMidBody { after: u64, times: u32 },
    /// Announces the full length, sends half of the body, then closes the
    /// connection cleanly (FIN, not a reset); ignores Range. Every GET.
    TruncatedBody,
    /// Answers 500 to the next `times` requests, then serves normally.
    Fail500 { times: u32 },
    /// Answers 500 to every request.
    Fail500Forever,
    /// Sends `after` body bytes, then goes silent (up to a minute) without
    /// closing: for client timeouts. Every GET.
    Stall { after: u64 },
    /// Answers 200 without Content-Length and closes the connection cleanly
    /// after `after` body bytes (the whole file when it is smaller); ignores
    /// Range. Close-delimited, a cut body looks complete; `chunked` frames
    /// the body in chunks instead, and a cut one lacks the last chunk. Every GET.
    NoLength { after: u64, chunked: bool },
}

/// What one request asked and what it got, for tests to assert on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    pub range: Option<String>,
    pub if_range: Option<String>,
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<String>,
    pub user_agent: Option<String>,
    pub status: u16,
    /// Body bytes the server wrote (fewer than announced when a fault cut it).
    pub body_bytes: u64,
    /// When the request arrived and when its response was written: tests
    /// read concurrency from overlapping intervals.
    pub started: Instant,
    pub finished: Instant,
}

#[derive(Debug, Default)]
struct Behaviour {
    validators: Validators,
    fault: Fault,
    publish_sha256: bool,
    /// Bytes per second for bodies; None is as fast as possible.
    rate: Option<u64>,
}

#[derive(Debug)]
struct Shared {
    root: PathBuf,
    behaviour: Mutex<Behaviour>,
    log: Mutex<Log>,
}

/// The request log; `generation` changes on each clear, so an answer still in
/// flight cannot overwrite a newer request's record.
#[derive(Debug, Default)]
struct Log {
    generation: u64,
    records: Vec<RequestRecord>,
}

/// A running server; dropping it stops it.
pub struct ArtifactServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ArtifactServer {
    /// Serves the files under `root` on an ephemeral port of 127.0.0.1.
    pub fn start(root: impl Into<PathBuf>) -> std::io::Result<Self> {
        Self::start_on(root, "127.0.0.1:0".parse().expect("literal address"))
    }

    /// Serves the files under `root` on `addr` (must be a loopback address).
    pub fn start_on(root: impl Into<PathBuf>, addr: SocketAddr) -> std::io::Result<Self> {
        if !addr.ip().is_loopback() {
            return Err(std::io::Error::other(format!(
                "artifact server: {addr} is not a loopback address"
            )));
        }
        let root = root.into();
        if !root.is_dir() {
            return Err(std::io::Error::other(format!(
                "artifact server: {} is not a directory",
                root.display()
            )));
        }
        let std_listener = std::net::TcpListener::bind(addr)?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let shared = Arc::new(Shared {
            root,
            behaviour: Mutex::default(),
            log: Mutex::default(),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("artifact-server")
            .enable_all()
            .build()?;
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("artifact-server".into())
            .spawn(move || {
                rt.block_on(async move {
                    let listener = match TcpListener::from_std(std_listener) {
                        Ok(l) => l,
                        Err(e) => return tracing::error!("artifact server: {e}"),
                    };
                    tokio::select! {
                        _ = accept_loop(listener, s) => {}
                        _ = stopped => {}
                    }
                });
                rt.shutdown_background();
            })?;
        tracing::debug!("artifact server on http://{addr}/");
        Ok(Self {
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The directory served.
    pub fn root(&self) -> &Path {
        &self.shared.root
    }

    /// The URL of `path` (relative to the served directory).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}/{}", self.addr, path.trim_start_matches('/'))
    }

    pub fn set_validators(&self, v: Validators) {
        self.shared
            .behaviour
            .lock()
            .expect("behaviour lock")
            .validators = v;
    }

    pub fn set_fault(&self, f: Fault) {
        self.shared.behaviour.lock().expect("behaviour lock").fault = f;
    }

    /// Serves `<name>.sha256` (computed) for every file that has no such file beside it.
    pub fn set_publish_sha256(&self, on: bool) {
        self.shared
            .behaviour
            .lock()
            .expect("behaviour lock")
            .publish_sha256 = on;
    }

    /// Limits body bandwidth (bytes per second), e.g. to make downloads overlap in tests.
    pub fn set_rate(&self, bytes_per_sec: Option<u64>) {
        self.shared.behaviour.lock().expect("behaviour lock").rate = bytes_per_sec;
    }

    /// Every request so far, in arrival order. A record shows its status and
    /// planned body size before the answer is written (status 0 while undecided).
    pub fn log(&self) -> Vec<RequestRecord> {
        self.shared.log.lock().expect("log lock").records.clone()
    }

    /// How many requests (any method) named `path`.
    pub fn requests(&self, path: &str) -> usize {
        let p = format!("/{}", path.trim_start_matches('/'));
        self.shared
            .log
            .lock()
            .expect("log lock")
            .records
            .iter()
            .filter(|r| r.path == p)
            .count()
    }

    /// Requests per path.
    pub fn request_counts(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for r in self.shared.log.lock().expect("log lock").records.iter() {
            *m.entry(r.path.clone()).or_insert(0) += 1;
        }
        m
    }

    pub fn clear_log(&self) {
        let mut log = self.shared.log.lock().expect("log lock");
        log.generation += 1;
        log.records.clear();
    }
}

impl Drop for ArtifactServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                let shared = shared.clone();
                tokio::spawn(async move {
                    if let Err(e) = serve_connection(stream, &shared).await {
                        tracing::trace!("artifact server connection: {e}");
                    }
                });
            }
            Err(e) => {
                tracing::warn!("artifact server accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// The parts of a request the server acts on.
struct Request {
    method: String,
    path: String,
    range: Option<String>,
    if_range: Option<String>,
    if_none_match: Option<String>,
    if_modified_since: Option<String>,
    user_agent: Option<String>,
}

/// Reads one request head; `None` at a clean end of the connection.
async fn read_request(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<Request>> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head: Vec<u8> = buf.drain(..end + 4).collect();
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut req = httparse::Request::new(&mut headers);
            req.parse(&head).map_err(std::io::Error::other)?;
            let header = |name: &str| {
                req.headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case(name))
                    .map(|h| String::from_utf8_lossy(h.value).into_owned())
            };
            return Ok(Some(Request {
                method: req.method.unwrap_or("").to_string(),
                path: req.path.unwrap_or("/").to_string(),
                range: header("range"),
                if_range: header("if-range"),
                if_none_match: header("if-none-match"),
                if_modified_since: header("if-modified-since"),
                user_agent: header("user-agent"),
            }));
        }
        if buf.len() > 64 * 1024 {
            return Err(std::io::Error::other("request head too large"));
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn serve_connection(mut stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let mut buf = Vec::new();
    while let Some(req) = read_request(&mut stream, &mut buf).await? {
        let keep_open = respond(&mut stream, shared, req).await?;
        if !keep_open {
            return Ok(());
        }
    }
    Ok(())
}

/// The metadata a response is built from.
struct FileInfo {
    path: PathBuf,
    size: u64,
    mtime: SystemTime,
    etag: String,
}

fn file_info(root: &Path, url_path: &str) -> Option<FileInfo> {
    let rel = url_path
        .split('?')
        .next()
        .unwrap_or("")
        .trim_start_matches('/');
    let rel = Path::new(rel);
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    let path = root.join(rel);
    let meta = std::fs::metadata(&path).ok().filter(|m| m.is_file())?;
    let mtime = meta.modified().ok()?;
    let nanos = mtime
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let etag = format!("\"{:x}-{:x}\"", meta.len(), nanos);
    Some(FileInfo {
        path,
        size: meta.len(),
        mtime,
        etag,
    })
}

/// A computed `<name>.sha256` for `url_path` when publishing is on and no real file exists.
fn published_sha256(root: &Path, url_path: &str) -> Option<Vec<u8>> {
    let artifact = url_path.strip_suffix(".sha256")?;
    let info = file_info(root, artifact)?;
    let mut f = std::fs::File::open(&info.path).ok()?;
    let mut h = sha2::Sha256::new();
    std::io::copy(&mut f, &mut h).ok()?;
    let name = info.path.file_name()?.to_string_lossy().into_owned();
    Some(format!("{}  {}\n", hex::encode(h.finalize()), name).into_bytes())
}

/// Parses `bytes=A-` or `bytes=A-B` against a file of `size` bytes.
fn parse_range(spec: &str, size: u64) -> Option<(u64, u64)> {
    let spec = spec.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (start, end) = if a.is_empty() {
        let n: u64 = b.parse().ok()?;
        (size.saturating_sub(n), size.checked_sub(1)?)
    } else {
        let start: u64 = a.parse().ok()?;
        let end = if b.is_empty() {
            size.checked_sub(1)?
        } else {
            b.parse::<u64>().ok()?.min(size.checked_sub(1)?)
        };
        (start, end)
    };
    (start <= end && start < size).then_some((start, end))
}

fn take_fault(shared: &Shared, method: &str) -> Fault {
    let mut b = shared.behaviour.lock().expect("behaviour lock");
    match b.fault {
        Fault::Fail500 { times } => {
            b.fault = if times <= 1 {
                Fault::None
            } else {
                Fault::Fail500 { times: times - 1 }
            };
            Fault::Fail500 { times }
        }
        Fault::CutMidBody { after, times } if method == "GET" => {
            b.fault = if times <= 1 {
                Fault::None
            } else {
                Fault::CutMidBody {
                    after,
                    times: times - 1,
                }
            };
            Fault::CutMidBody { after, times }
        }
        Fault::CutMidBody { .. } => Fault::None,
        f => f,
    }
}

/// Answers one request; returns whether the connection stays open.
async fn respond(stream: &mut TcpStream, shared: &Shared, req: Request) -> std::io::Result<bool> {
    let fault = take_fault(shared, &req.method);
    let (validators, publish, rate) = {
        let b = shared.behaviour.lock().expect("behaviour lock");
        (b.validators, b.publish_sha256, b.rate)
    };
    let record = RequestRecord {
        method: req.method.clone(),
        path: req.path.clone(),
        range: req.range.clone(),
        if_range: req.if_range.clone(),
        if_none_match: req.if_none_match.clone(),
        if_modified_since: req.if_modified_since.clone(),
        user_agent: req.user_agent.clone(),
        status: 0,
        body_bytes: 0,
        started: Instant::now(),
        finished: Instant::now(),
    };
    let (generation, idx) = {
        let mut log = shared.log.lock().expect("log lock");
        log.records.push(record.clone());
        (log.generation, log.records.len() - 1)
    };
    let mut slot = Slot {
        shared,
        generation,
        idx,
        record,
    };
    let result = respond_inner(
        stream, shared, &req, fault, validators, publish, rate, &mut slot,
    )
    .await;
    slot.record.finished = Instant::now();
    slot.save();
    result
}

#[allow(clippy::too_many_arguments)]
async fn respond_inner(
    stream: &mut TcpStream,
    shared: &Shared,
    req: &Request,
    fault: Fault,
    validators: Validators,
    publish: bool,
    rate: Option<u64>,
    slot: &mut Slot<'_>,
) -> std::io::Result<bool> {
    let head_only = req.method == "HEAD";
    if req.method != "GET" && !head_only {
        slot.answer(405, 0);
        write_simple(stream, 405, "Method Not Allowed", head_only).await?;
        return Ok(true);
    }
    if matches!(fault, Fault::Fail500 { .. } | Fault::Fail500Forever) {
        slot.answer(500, 0);
        write_simple(stream, 500, "Internal Server Error", head_only).await?;
        return Ok(true);
    }
    let Some(info) = file_info(&shared.root, &req.path) else {
        let sidecar = if publish {
            published_sha256(&shared.root, &req.path)
        } else {
            None
        };
        return match sidecar {
            Some(body) => {
                slot.answer(200, if head_only { 0 } else { body.len() as u64 });
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                );
                stream.write_all(head.as_bytes()).await?;
                if !head_only {
                    stream.write_all(&body).await?;
                }
                Ok(true)
            }
            None => {
                slot.answer(404, 0);
                write_simple(stream, 404, "Not Found", head_only).await?;
                Ok(true)
            }
        };
    };
    let send_etag = matches!(validators, Validators::Both | Validators::EtagOnly);
    let send_date = matches!(validators, Validators::Both | Validators::DateOnly);
    let last_modified = httpdate::fmt_http_date(info.mtime);
    let mut vheaders = String::new();
    if send_etag {
        vheaders.push_str(&format!("ETag: {}\r\n", info.etag));
    }
    if send_date {
        vheaders.push_str(&format!("Last-Modified: {last_modified}\r\n"));
    }

    // Conditional request: If-None-Match wins over If-Modified-Since (RFC 9110).
    let not_modified = match (&req.if_none_match, &req.if_modified_since) {
        (Some(inm), _) if send_etag => inm
            .split(',')
            .any(|t| t.trim() == info.etag || t.trim() == "*"),
        (Some(_), _) => false,
        (None, Some(ims)) if send_date => httpdate::parse_http_date(ims)
            .map(|since| {
                httpdate::fmt_http_date(info.mtime) == httpdate::fmt_http_date(since)
                    || info.mtime <= since
            })
            .unwrap_or(false),
        _ => false,
    };
    if not_modified {
        slot.answer(304, 0);
        stream
            .write_all(format!("HTTP/1.1 304 Not Modified\r\n{vheaders}\r\n").as_bytes())
            .await?;
        return Ok(true);
    }

    if let Fault::NoLength { after, chunked } = fault {
        return send_without_length(
            stream, &info, &vheaders, after, chunked, head_only, rate, slot,
        )
        .await;
    }

    // Range, honoured only when If-Range (if any) still matches.
    let truncated = fault == Fault::TruncatedBody;
    let range_ok = match &req.if_range {
        None => true,
        Some(v) if v.starts_with('"') || v.starts_with("W/") => send_etag && *v == info.etag,
        Some(v) => send_date && *v == last_modified,
    };
    let range = req.range.as_deref().filter(|_| range_ok && !truncated);
    let (status, start, end) = match range {
        Some(spec) => match parse_range(spec, info.size) {
            Some((s, e)) => (206, s, e),
            None => {
                slot.answer(416, 0);
                let head = format!(
                    "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{}\r\nContent-Length: 0\r\n\r\n",
                    info.size
                );
                stream.write_all(head.as_bytes()).await?;
                return Ok(true);
            }
        },
        None => (200, 0, info.size.saturating_sub(1)),
    };
    let len = if info.size == 0 { 0 } else { end - start + 1 };
    let mut head = if status == 206 {
        format!(
            "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {start}-{end}/{}\r\n",
            info.size
        )
    } else {
        "HTTP/1.1 200 OK\r\n".to_string()
    };
    head.push_str(&format!(
        "Content-Type: application/octet-stream\r\nContent-Length: {len}\r\nAccept-Ranges: bytes\r\n{vheaders}\r\n"
    ));
    let limit = match fault {
        _ if head_only => 0,
        Fault::CutMidBody { after, .. } => after.min(len),
        Fault::TruncatedBody => len / 2,
        Fault::Stall { after } => after.min(len),
        _ => len,
    };
    slot.answer(status, limit);
    stream.write_all(head.as_bytes()).await?;
    if limit == 0 {
        return Ok(true);
    }
    slot.record.body_bytes = send_file_range(stream, &info.path, start, limit, rate).await?;
    match fault {
        Fault::CutMidBody { .. } if limit < len => {
            // A reset, as when a proxy or the peer dies mid-transfer.
            stream.set_zero_linger()?;
            Ok(false)
        }
        Fault::TruncatedBody => {
            // A clean close that looks like a normal end of the body.
            stream.shutdown().await?;
            Ok(false)
        }
        Fault::Stall { .. } => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(false)
        }
        _ => Ok(true),
    }
}

/// A request's entry in the log, kept current so a client that has read the
/// answer always finds it recorded.
struct Slot<'a> {
    shared: &'a Shared,
    generation: u64,
    idx: usize,
    record: RequestRecord,
}

impl Slot<'_> {
    /// Records the status and planned body size; called before the answer is written.
    fn answer(&mut self, status: u16, body_bytes: u64) {
        self.record.status = status;
        self.record.body_bytes = body_bytes;
        self.record.finished = Instant::now();
        self.save();
    }

    fn save(&self) {
        // Cleared meanwhile: this request is forgotten.
        let mut log = self.shared.log.lock().expect("log lock");
        if log.generation == self.generation {
            log.records[self.idx] = self.record.clone();
        }
    }
}

async fn write_simple(
    stream: &mut TcpStream,
    code: u16,
    reason: &str,
    head_only: bool,
) -> std::io::Result<()> {
    let body = format!("{code} {reason}\n");
    let head = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    if !head_only {
        stream.write_all(body.as_bytes()).await?;
    }
    Ok(())
}

/// A 200 without Content-Length: close-delimited, or chunked; cut after `after` bytes.
#[allow(clippy::too_many_arguments)]
async fn send_without_length(
    stream: &mut TcpStream,
    info: &FileInfo,
    vheaders: &str,
    after: u64,
    chunked: bool,
    head_only: bool,
    rate: Option<u64>,
    slot: &mut Slot<'_>,
) -> std::io::Result<bool> {
    let limit = if head_only { 0 } else { after.min(info.size) };
    let framing = if chunked {
        "Transfer-Encoding: chunked\r\n"
    } else {
        ""
    };
    slot.answer(200, limit);
    stream
        .write_all(
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n{framing}Connection: close\r\n{vheaders}\r\n"
            )
            .as_bytes(),
        )
        .await?;
    if head_only {
        stream.shutdown().await?;
        return Ok(false);
    }
    if chunked {
        const CHUNK: usize = 64 * 1024;
        let mut file = std::fs::File::open(&info.path)?;
        let mut buf = vec![0u8; CHUNK];
        let mut sent = 0u64;
        while sent < limit {
            let want = CHUNK.min((limit - sent) as usize);
            let n = file.read(&mut buf[..want])?;
            if n == 0 {
                break;
            }
            stream.write_all(format!("{n:x}\r\n").as_bytes()).await?;
            stream.write_all(&buf[..n]).await?;
            stream.write_all(b"\r\n").await?;
            sent += n as u64;
        }
        if sent == info.size {
            stream.write_all(b"0\r\n\r\n").await?;
        }
        slot.record.body_bytes = sent;
    } else {
        slot.record.body_bytes = send_file_range(stream, &info.path, 0, limit, rate).await?;
    }
    stream.shutdown().await?;
    Ok(false)
}

/// Writes `len` bytes of `path` from `start`, optionally paced to `rate` bytes/s.
async fn send_file_range(
    stream: &mut TcpStream,
    path: &Path,
    start: u64,
    len: u64,
    rate: Option<u64>,
) -> std::io::Result<u64> {
    const CHUNK: usize = 256 * 1024;
    let mut file = std::fs::File::open(path)?;
    file.seek(SeekFrom::Start(start))?;
    let mut buf = vec![0u8; CHUNK];
    let mut sent = 0u64;
    let began = Instant::now();
    while sent < len {
        let want = CHUNK.min((len - sent) as usize);
        // Page-cache reads of at most 256 KiB: cheap enough inline on this runtime.
        let n = file.read(&mut buf[..want])?;
        if n == 0 {
            break;
        }
        stream.write_all(&buf[..n]).await?;
        sent += n as u64;
        if let Some(rate) = rate.filter(|r| *r > 0 && sent < len) {
            let due = Duration::from_secs_f64(sent as f64 / rate as f64);
            if let Some(wait) = due.checked_sub(began.elapsed()) {
                tokio::time::sleep(wait).await;
            }
        }
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-", 10), Some((0, 9)));
        assert_eq!(parse_range("bytes=4-", 10), Some((4, 9)));
        assert_eq!(parse_range("bytes=2-5", 10), Some((2, 5)));
        assert_eq!(parse_range("bytes=-3", 10), Some((7, 9)));
        assert_eq!(parse_range("bytes=10-", 10), None);
        assert_eq!(parse_range("bytes=0-1,3-4", 10), None);
    }
}
