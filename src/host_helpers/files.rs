//! File operations for flows. Writes are atomic (temp file + rename, see
//! [`crate::fsutil`]) so an interrupted run never leaves a half-written
//! artifact behind.

use std::path::PathBuf;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::fsutil::write_atomic_with;
use crate::lua::api::{Api, FnSpec};

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
struct PathOpts {
    path: PathBuf,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
struct WriteOpts {
    path: PathBuf,
    content: String,
    /// Unix mode, e.g. 0o755 given as 493.
    mode: Option<u32>,
    /// fsync before the rename.
    #[serde(default)]
    sync: bool,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
struct TmpOpts {
    prefix: Option<String>,
    /// Parent directory; default the system temp dir.
    parent: Option<PathBuf>,
}

#[derive(Serialize, schemars::JsonSchema)]
#[schemars(inline)]
struct Content {
    content: String,
}

#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(inline)]
enum Kind {
    File,
    Dir,
    Other,
}

#[derive(Serialize, schemars::JsonSchema)]
#[schemars(inline)]
struct Exists {
    exists: bool,
    /// "file", "dir", "other"; absent when it does not exist.
    kind: Option<Kind>,
    size: Option<u64>,
    /// Last modification, seconds since the epoch with nanoseconds.
    mtime: Option<f64>,
}

#[derive(Serialize, schemars::JsonSchema)]
#[schemars(inline)]
struct Listing {
    entries: Vec<String>,
}

#[derive(Serialize, schemars::JsonSchema)]
#[schemars(inline)]
struct PathOut {
    path: PathBuf,
}

#[derive(Serialize, schemars::JsonSchema)]
#[schemars(inline)]
struct Done {
    ok: bool,
}

pub fn register(api: &mut Api) -> mlua::Result<()> {
    api.sync(
        FnSpec::local(
            "fs.read",
            "Reads a UTF-8 text file: a regular file of at most 8 MiB (a FIFO or device is refused)."),
        |_, o: PathOpts| {
            let content = crate::fsutil::read_settings_text(&o.path)?;
            Ok(Content { content })
        },
    )?;
    api.sync(
        FnSpec::local(
            "fs.write",
            "Writes a file atomically (temp file then rename), creating parent directories. `sync` also flushes it to disk first (for state files)."),
        |_, o: WriteOpts| {
            write_atomic_with(&o.path, o.content.as_bytes(), o.mode, o.sync)?;
            Ok(PathOut { path: o.path })
        },
    )?;
    api.sync(
        FnSpec::local(
            "fs.mkdir",
            "Creates a directory and its parents (no error if it exists).",
        ),
        |_, o: PathOpts| {
            crate::fsutil::create_dir_all(&o.path)?;
            Ok(PathOut { path: o.path })
        },
    )?;
    api.sync(
        FnSpec::local("fs.exists", "Tells whether a path exists and what it is."),
        |_, o: PathOpts| {
            Ok(match std::fs::metadata(&o.path) {
                Ok(m) => Exists {
                    exists: true,
                    kind: Some(if m.is_file() {
                        Kind::File
                    } else if m.is_dir() {
                        Kind::Dir
                    } else {
                        Kind::Other
                    }),
                    size: Some(m.len()),
                    mtime: m
                        .modified()
                        .ok()
                        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                        .map(|d| d.as_secs_f64()),
                },
                Err(_) => Exists {
                    exists: false,
                    mtime: None,
                    kind: None,
                    size: None,
                },
            })
        },
    )?;
    api.sync(
        FnSpec::local("fs.list", "Lists the names in a directory, sorted."),
        |_, o: PathOpts| {
            let mut entries = Vec::new();
            for e in std::fs::read_dir(&o.path)
                .with_context(|| format!("cannot list {}", o.path.display()))?
            {
                entries.push(e?.file_name().to_string_lossy().into_owned());
            }
            entries.sort();
            Ok(Listing { entries })
        },
    )?;
    api.sync(
        FnSpec::local(
            "fs.remove",
            "Removes a file or a directory tree (no error if absent).",
        ),
        |_, o: PathOpts| {
            match std::fs::symlink_metadata(&o.path) {
                Ok(m) if m.is_dir() => std::fs::remove_dir_all(&o.path)?,
                Ok(_) => std::fs::remove_file(&o.path)?,
                Err(_) => {}
            }
            Ok(Done { ok: true })
        },
    )?;
    api.sync(
        FnSpec::local(
            "fs.tmpdir",
            "Creates a new unique directory (kept after the run; remove it with core.fs.remove).",
        ),
        |_, o: TmpOpts| {
            let mut b = tempfile::Builder::new();
            let prefix = o.prefix.unwrap_or_else(|| "apex-".into());
            b.prefix(&prefix);
            let dir = match o.parent {
                Some(p) => {
                    std::fs::create_dir_all(&p)?;
                    b.tempdir_in(p)?
                }
                None => b.tempdir()?,
            };
            Ok(PathOut { path: dir.keep() })
        },
    )?;
    Ok(())
}
