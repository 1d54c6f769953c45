//! Uploading a file or a directory tree to a host over a channel of the
//! pooled connection (a file streamed to `cat`, a tree as a tar stream to
//! `tar -x`), into a temporary name that is renamed into place only after
//! the remote size (and, on request, sha256) matched the local one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncRead, AsyncWriteExt as _, ReadBuf};

use super::error::SshError;
use super::host::SshHost;
use super::run::{RemoteCommand, run_ssh, run_with_input};
use crate::progress::{Progress, Unit};

/// What to upload where.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadOpts {
    /// Local file or directory.
    pub from: PathBuf,
    /// Remote path (absolute, or relative to the login directory). A
    /// directory upload replaces the directory at `to`.
    pub to: String,
    /// Permission bits of the file (or top directory); default the local ones.
    pub mode: Option<u32>,
    /// Also compare sha256 sums (size is always compared).
    #[serde(default)]
    pub sha256: bool,
}

/// What was uploaded.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(rename = "apex.UploadResult")]
pub struct UploadReport {
    pub path: String,
    pub bytes: u64,
    pub files: u64,
    /// The verified sha256 of a single file, when requested.
    pub sha256: Option<String>,
}

fn q(s: &str) -> String {
    shell_escape::unix::escape(s.into()).into_owned()
}

/// Temporary names of uploads in flight, per host. An upload whose future
/// is dropped (SIGINT, SIGTERM, a failed sibling) cannot clean up itself;
/// [`remove_in_flight`] removes what is left here when the run ends.
type InFlight = std::collections::HashMap<SshHost, std::collections::BTreeSet<String>>;

fn in_flight() -> &'static std::sync::Mutex<InFlight> {
    static IN_FLIGHT: std::sync::OnceLock<std::sync::Mutex<InFlight>> = std::sync::OnceLock::new();
    IN_FLIGHT.get_or_init(Default::default)
}

/// Registered while an upload writes `tmp`; [`Part::finish`] when it
/// ended (placed or removed), so only the names of cut-off uploads stay.
struct Part {
    host: SshHost,
    tmp: String,
}

impl Part {
    fn new(host: &SshHost, tmp: &str) -> Self {
        in_flight()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(host.clone())
            .or_default()
            .insert(tmp.to_string());
        Self {
            host: host.clone(),
            tmp: tmp.to_string(),
        }
    }

    fn finish(self) {
        if let Some(set) = in_flight()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(&self.host)
        {
            set.remove(&self.tmp);
        }
    }
}

/// Removes the temporary files of uploads that were cut off (the run was
/// interrupted while they were sent), on each host at most `deadline`
/// long. The run calls it as it ends, before its connections close.
pub async fn remove_in_flight(deadline: std::time::Duration) {
    let all: Vec<(SshHost, Vec<String>)> = in_flight()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .drain()
        .filter(|(_, set)| !set.is_empty())
        .map(|(h, set)| (h, set.into_iter().collect()))
        .collect();
    for (host, parts) in all {
        let names: Vec<String> = parts.iter().map(|p| q(p)).collect();
        let cmd = RemoteCommand::new(format!("rm -rf -- {}", names.join(" ")));
        match tokio::time::timeout(deadline, run_ssh(&host, &cmd)).await {
            Ok(Ok(_)) => tracing::info!(
                host = %host.label(),
                "removed {} partial upload(s) of the interrupted run",
                parts.len()
            ),
            Ok(Err(e)) => {
                tracing::warn!(host = %host.label(), "cannot remove partial uploads {parts:?}: {e}")
            }
            Err(_) => {
                tracing::warn!(host = %host.label(), "partial uploads {parts:?} not removed within {deadline:?}")
            }
        }
    }
}

/// Counts (and optionally hashes) bytes as they are read, with progress.
struct Tee<R> {
    inner: R,
    hasher: Option<Sha256>,
    progress: Progress,
}

impl<R: AsyncRead + Unpin> AsyncRead for Tee<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        let new = &buf.filled()[before..];
        if !new.is_empty() {
            let n = new.len() as u64;
            if let Some(h) = self.hasher.as_mut() {
                h.update(new);
            }
            self.progress.inc(n);
        }
        r
    }
}

/// Local regular files under `dir` (relative path → size, sha256).
fn manifest(dir: &Path, hash: bool) -> std::io::Result<BTreeMap<String, (u64, Option<String>)>> {
    fn walk(
        root: &Path,
        dir: &Path,
        hash: bool,
        out: &mut BTreeMap<String, (u64, Option<String>)>,
    ) -> std::io::Result<()> {
        for e in std::fs::read_dir(dir)? {
            let e = e?;
            let ft = e.file_type()?;
            if ft.is_dir() {
                walk(root, &e.path(), hash, out)?;
            } else if ft.is_file() {
                let rel = e
                    .path()
                    .strip_prefix(root)
                    .expect("under root")
                    .to_string_lossy()
                    .into_owned();
                let sum = if hash {
                    let mut h = Sha256::new();
                    std::io::copy(&mut std::fs::File::open(e.path())?, &mut h)?;
                    Some(hex::encode(h.finalize()))
                } else {
                    None
                };
                out.insert(rel, (e.metadata()?.len(), sum));
            }
        }
        Ok(())
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, hash, &mut out)?;
    Ok(out)
}

/// Uploads a file or a directory to `host` (see [`UploadOpts`]).
pub async fn upload(host: &SshHost, o: &UploadOpts) -> Result<UploadReport, SshError> {
    let fail = |msg: String| upload_error(host, o, msg);
    if o.to.is_empty() || o.to.ends_with('/') {
        return Err(fail(
            "the destination must name the file or directory to create".into(),
        ));
    }
    if o.mode.is_some_and(|m| m > 0o7777) {
        return Err(fail(format!(
            "mode {:#o} is not a permission mode (e.g. 420 for 0644)",
            o.mode.unwrap_or(0)
        )));
    }
    let meta = tokio::fs::metadata(&o.from)
        .await
        .map_err(|e| fail(format!("cannot read {}: {e}", o.from.display())))?;
    let mode = o
        .mode
        .unwrap_or(std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o7777);
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let tmp = format!("{}.apex-part-{}-{nonce}", o.to, std::process::id());
    let part = Part::new(host, &tmp);
    let sent = if meta.is_dir() {
        upload_dir(host, o, &tmp).await
    } else {
        upload_file(host, o, &tmp, meta.len()).await
    };
    let (t, d) = (q(&tmp), q(&o.to));
    let (bytes, files, sha256) = match sent {
        Ok(r) => r,
        Err(e) => {
            // Nothing half-written stays behind under the temp name.
            let _ = run_ssh(host, &RemoteCommand::new(format!("rm -rf -- {t}"))).await;
            part.finish();
            return Err(e);
        }
    };
    let place = if meta.is_dir() {
        format!(
            "chmod {mode:o} -- {t} && rm -rf -- {d}.apex-old && if [ -d {d} ] && [ ! -L {d} ]; then mv -- {d} {d}.apex-old; fi && mv -fT -- {t} {d} && rm -rf -- {d}.apex-old"
        )
    } else {
        format!("chmod {mode:o} -- {t} && mv -fT -- {t} {d}")
    };
    if let Err(e) = run_ssh(host, &RemoteCommand::new(place).check()).await {
        let _ = run_ssh(host, &RemoteCommand::new(format!("rm -rf -- {t}"))).await;
        part.finish();
        return Err(e);
    }
    part.finish();
    tracing::debug!(host = %host.label(), path = %o.to, bytes, files, "uploaded");
    Ok(UploadReport {
        path: o.to.clone(),
        bytes,
        files,
        sha256,
    })
}

fn upload_error(host: &SshHost, o: &UploadOpts, msg: String) -> SshError {
    SshError::Upload {
        host: host.label(),
        path: o.to.clone(),
        msg,
    }
}

async fn upload_file(
    host: &SshHost,
    o: &UploadOpts,
    tmp: &str,
    size: u64,
) -> Result<(u64, u64, Option<String>), SshError> {
    let file = tokio::fs::File::open(&o.from)
        .await
        .map_err(|e| upload_error(host, o, format!("cannot read {}: {e}", o.from.display())))?;
    let mut tee = Tee {
        inner: file,
        hasher: o.sha256.then(Sha256::new),
        progress: Progress::new(
            format!("upload {}", o.from.display()),
            Some(size),
            Unit::Bytes,
        ),
    };
    let t = q(tmp);
    // Written 0600 until placed with its mode: a secret is never readable
    // by others on the way. Parts of this destination an earlier, killed
    // run left are removed first.
    let stale = format!("{}.apex-part-*", q(&o.to));
    let mut script = format!(
        "set -e; mkdir -p -- \"$(dirname -- {t})\"; rm -rf -- {stale}; umask 077; cat > {t}; stat -c %s -- {t}"
    );
    if o.sha256 {
        script.push_str(&format!("; sha256sum -- {t}"));
    }
    let mut cmd = RemoteCommand::new(script).check();
    cmd.quiet = true;
    let out = run_with_input(host, &cmd, Some(Box::new(&mut tee))).await?;
    let Tee {
        hasher, progress, ..
    } = tee;
    let text = out.stdout_text();
    let mut lines = text.lines();
    let remote_size: Option<u64> = lines.next().and_then(|l| l.trim().parse().ok());
    if remote_size != Some(size) {
        return Err(upload_error(
            host,
            o,
            format!("size mismatch: sent {size} bytes, the host has {remote_size:?}"),
        ));
    }
    let local_sum = hasher.map(|h| hex::encode(h.finalize()));
    if let Some(local) = &local_sum {
        let remote = lines
            .next()
            .and_then(|l| l.split_whitespace().next())
            .unwrap_or_default();
        if remote != local {
            return Err(upload_error(
                host,
                o,
                format!("sha256 mismatch: local {local}, remote {remote}"),
            ));
        }
    }
    progress.finish("uploaded");
    Ok((size, 1, local_sum))
}

/// std::io::Write over an async writer, for the tar builder's blocking thread.
struct BlockingWriter {
    inner: tokio::io::DuplexStream,
    handle: tokio::runtime::Handle,
}

impl std::io::Write for BlockingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.handle.block_on(self.inner.write_all(buf))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn upload_dir(
    host: &SshHost,
    o: &UploadOpts,
    tmp: &str,
) -> Result<(u64, u64, Option<String>), SshError> {
    let local_err =
        |e: std::io::Error| upload_error(host, o, format!("cannot read {}: {e}", o.from.display()));
    let (from, hash) = (o.from.clone(), o.sha256);
    let local = tokio::task::spawn_blocking(move || manifest(&from, hash))
        .await
        .map_err(|e| local_err(std::io::Error::other(e)))?
        .map_err(local_err)?;
    let total: u64 = local.values().map(|(s, _)| s).sum();

    let (writer, reader) = tokio::io::duplex(1 << 20);
    let (from, handle) = (o.from.clone(), tokio::runtime::Handle::current());
    let builder = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        let mut tar = tar::Builder::new(BlockingWriter {
            inner: writer,
            handle,
        });
        tar.follow_symlinks(false);
        tar.append_dir_all(".", &from)?;
        tar.into_inner()?;
        Ok(())
    });
    let mut tee = Tee {
        inner: reader,
        hasher: None,
        // The tar stream adds headers and padding: count bytes without a total.
        progress: Progress::new(format!("upload {}", o.from.display()), None, Unit::Bytes),
    };
    let t = q(tmp);
    let stale = format!("{}.apex-part-*", q(&o.to));
    let mut script = format!(
        "set -e; rm -rf -- {stale}; mkdir -p -- {t}; tar -x -f - -C {t} --no-same-owner; cd {t}; find . -type f -printf '%P\\t%s\\n'"
    );
    if o.sha256 {
        script.push_str("; echo ---; find . -type f -exec sha256sum -- {} +");
    }
    let mut cmd = RemoteCommand::new(script).check();
    cmd.quiet = true;
    let sent = run_with_input(host, &cmd, Some(Box::new(&mut tee))).await;
    // Drop the reading end first: a tar builder blocked on a full pipe (the
    // remote stopped reading) then fails instead of waiting forever.
    drop(tee.inner);
    let progress = tee.progress;
    let built = builder
        .await
        .map_err(|e| local_err(std::io::Error::other(e)))?;
    let out = sent?;
    built.map_err(local_err)?;
    progress.finish("uploaded");

    let text = out.stdout_text();
    let (sizes, sums) = text.split_once("---\n").unwrap_or((&text, ""));
    let mut remote: BTreeMap<String, (u64, Option<String>)> = BTreeMap::new();
    for line in sizes.lines() {
        if let Some((path, size)) = line.split_once('\t') {
            remote.insert(path.to_string(), (size.parse().unwrap_or(u64::MAX), None));
        }
    }
    for line in sums.lines() {
        if let Some((sum, path)) = line.split_once("  ")
            && let Some(entry) = remote.get_mut(path.trim_start_matches("./"))
        {
            entry.1 = Some(sum.to_string());
        }
    }
    if remote != local {
        let differing: Vec<&String> = local
            .iter()
            .filter(|(p, v)| remote.get(*p) != Some(v))
            .map(|(p, _)| p)
            .chain(remote.keys().filter(|p| !local.contains_key(*p)))
            .take(5)
            .collect();
        return Err(upload_error(
            host,
            o,
            format!("the host's copy differs from the local tree at {differing:?}"),
        ));
    }
    Ok((total, local.len() as u64, None))
}
