//! The on-disk cache beside each artifact: validators of the complete copy,
//! the partial download and its validators (for resuming), and the lock that
//! keeps two processes sharing the cache from writing the same artifact.
//!
//! For `dir/name` the files are `dir/.name.apex-fetch.json` (validators of the
//! cached copy), `dir/.name.apex-part` and `dir/.name.apex-part.json` (a partial
//! download), and `dir/.name.apex-lock`.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

/// Where the cache keeps everything about one artifact.
#[derive(Debug, Clone)]
pub struct CachePaths {
    pub dest: PathBuf,
    pub meta: PathBuf,
    pub part: PathBuf,
    pub part_meta: PathBuf,
    pub lock: PathBuf,
}

impl CachePaths {
    pub fn new(dest: &Path) -> anyhow::Result<Self> {
        let name = dest
            .file_name()
            .with_context(|| format!("destination {} has no file name", dest.display()))?
            .to_string_lossy()
            .into_owned();
        let dir = dest
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let side = |suffix: &str| dir.join(format!(".{name}.{suffix}"));
        Ok(Self {
            dest: dest.to_path_buf(),
            meta: side("apex-fetch.json"),
            part: side("apex-part"),
            part_meta: side("apex-part.json"),
            lock: side("apex-lock"),
        })
    }

    pub fn dir(&self) -> &Path {
        self.lock.parent().unwrap_or(Path::new("."))
    }
}

/// What the server said about a response, as sent back on the next request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

impl Validators {
    pub fn from_headers(h: &reqwest::header::HeaderMap) -> Self {
        let get = |n: reqwest::header::HeaderName| {
            h.get(n).and_then(|v| v.to_str().ok()).map(str::to_string)
        };
        Self {
            etag: get(reqwest::header::ETAG),
            last_modified: get(reqwest::header::LAST_MODIFIED),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.etag.is_none() && self.last_modified.is_none()
    }

    /// The value for If-Range: a strong ETag, else the date (weak ETags may not be used).
    pub fn if_range(&self) -> Option<&str> {
        match &self.etag {
            Some(e) if !e.starts_with("W/") => Some(e),
            _ => self.last_modified.as_deref(),
        }
    }
}

/// The sidecar of a complete, verified copy. Written only after the rename.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CachedMeta {
    pub url: String,
    pub size: u64,
    #[serde(flatten)]
    pub validators: Validators,
    /// Checksums verified when the copy was made (hex). sha256 is computed
    /// with every download, given or not, so the copy can be checked later.
    pub sha256: Option<String>,
    pub md5: Option<String>,
    /// The file as it was when its sha256 was last checked: while it is the
    /// same inode with the same size, mtime and ctime, nothing wrote to it
    /// (a write in place changes ctime, which no one can set back), so the
    /// recorded sha256 still holds without a read; otherwise the file is
    /// hashed again before use.
    #[serde(default)]
    pub file: Option<FileStamp>,
}

/// What identifies a file's content without reading it (see [`CachedMeta::file`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStamp {
    pub ino: u64,
    pub size: u64,
    pub mtime_ns: i128,
    pub ctime_ns: i128,
}

impl FileStamp {
    pub fn of(path: &Path) -> Option<Self> {
        use std::os::unix::fs::MetadataExt as _;
        let m = std::fs::metadata(path).ok()?;
        Some(Self {
            ino: m.ino(),
            size: m.len(),
            mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
            ctime_ns: i128::from(m.ctime()) * 1_000_000_000 + i128::from(m.ctime_nsec()),
        })
    }
}

/// The sidecar of a partial download: what it is a prefix of.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartialMeta {
    pub url: String,
    #[serde(flatten)]
    pub validators: Validators,
    pub total: Option<u64>,
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    let text = std::fs::read(path).ok()?;
    match serde_json::from_slice(&text) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!("ignoring unreadable cache record {}: {e}", path.display());
            None
        }
    }
}

fn write_json<T: Serialize>(path: &Path, v: &T) -> anyhow::Result<()> {
    let text = serde_json::to_vec_pretty(v)?;
    crate::fsutil::write_atomic(path, &text, None)
}

impl CachePaths {
    /// The cached copy of `url`, if the file and its record agree.
    pub fn cached(&self, url: &str) -> Option<CachedMeta> {
        let meta: CachedMeta = read_json(&self.meta)?;
        let size = std::fs::metadata(&self.dest)
            .ok()
            .filter(|m| m.is_file())?
            .len();
        (meta.url == url && meta.size == size).then_some(meta)
    }

    /// The partial download of `url` that can be resumed, with its length.
    pub fn partial(&self, url: &str) -> Option<(PartialMeta, u64)> {
        let meta: PartialMeta = read_json(&self.part_meta)?;
        let len = std::fs::metadata(&self.part).ok()?.len();
        (meta.url == url && meta.validators.if_range().is_some() && len > 0).then_some((meta, len))
    }

    pub fn write_partial(&self, meta: &PartialMeta) -> anyhow::Result<()> {
        write_json(&self.part_meta, meta)
    }

    /// Drops the partial download and its record.
    pub fn discard_partial(&self) {
        let _ = std::fs::remove_file(&self.part_meta);
        let _ = std::fs::remove_file(&self.part);
    }

    /// Moves the complete partial file into place and records its validators.
    /// The old record goes first, so a crash between the steps leaves a file
    /// without a record (re-fetched next time), never a record of the wrong file.
    /// `durable` flushes the data to disk first, so a power loss cannot leave
    /// a recorded file with missing blocks.
    pub fn commit(&self, file: &File, meta: &CachedMeta, durable: bool) -> anyhow::Result<()> {
        let mut meta = meta.clone();
        if durable {
            file.sync_data()
                .with_context(|| format!("cannot flush {}", self.part.display()))?;
        }
        match std::fs::remove_file(&self.meta) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("cannot remove {}", self.meta.display()));
            }
        }
        std::fs::rename(&self.part, &self.dest)
            .with_context(|| format!("cannot move the download into {}", self.dest.display()))?;
        if durable {
            // The rename itself is durable only once the directory is flushed.
            File::open(self.dir())
                .and_then(|d| d.sync_all())
                .with_context(|| format!("cannot flush {}", self.dir().display()))?;
        }
        let _ = std::fs::remove_file(&self.part_meta);
        // After the rename (which changes ctime): the stamp of the file as placed.
        meta.file = FileStamp::of(&self.dest);
        write_json(&self.meta, &meta)
    }

    /// Records a checked copy's current stamp (after it was hashed again).
    pub fn record(&self, meta: &CachedMeta) -> anyhow::Result<()> {
        write_json(&self.meta, meta)
    }

    /// Forgets the cached copy's record, so the next fetch is unconditional.
    pub fn forget(&self) {
        let _ = std::fs::remove_file(&self.meta);
    }
}

/// An exclusive lock on one artifact of the cache, held until dropped
/// (closing the file releases the `flock`).
#[derive(Debug)]
pub struct CacheLock {
    _file: File,
}

/// Takes the artifact's lock, waiting (and saying so) while another process holds it. Blocking.
pub fn lock(paths: &CachePaths) -> anyhow::Result<CacheLock> {
    std::fs::create_dir_all(paths.dir())
        .with_context(|| format!("cannot create {}", paths.dir().display()))?;
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&paths.lock)
        .with_context(|| format!("cannot open the cache lock {}", paths.lock.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            tracing::info!(
                "{} is being fetched by another process; waiting for it",
                paths.dest.display()
            );
            file.lock()
                .with_context(|| format!("cannot lock {}", paths.lock.display()))?;
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("cannot lock {}", paths.lock.display()));
        }
    }
    Ok(CacheLock { _file: file })
}
