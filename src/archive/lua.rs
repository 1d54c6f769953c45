//! The archive family's binding: `core.tar.unpack` and `core.tar.pack`.
//!
//! The family is `tar`, not `archive`: `core.archive` was a function (now
//! `core.tar.pack`), and a family of that name would have had to stay callable
//! through a `__call` for the release its old name is kept. As `tar`, the old
//! `core.archive` and `core.unpack` stay plain aliases of the very same
//! functions, and the name says the format (tar, tar.gz) the functions know.

use std::path::PathBuf;

use serde::Deserialize;

use super::{DEFAULT_MAX_ENTRIES, UnpackOptions, archive_tree, unpack_with};
use crate::loopdev::ByteSize;
use crate::lua::Api;
use crate::lua::api::{Effect, FnSpec};

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
#[serde(deny_unknown_fields)]
struct UnpackOpts {
    /// The archive.
    src: PathBuf,
    /// The directory to unpack into.
    dest: PathBuf,
    /// Most bytes of file content (e.g. "20G"; default what the filesystem has free).
    max_bytes: Option<ByteSize>,
    /// Most entries (default 1000000).
    max_entries: Option<u64>,
    #[serde(default)]
    keep_special_bits: bool,
    /// The archive file's expected SHA-256 (hex).
    sha256: Option<String>,
}

/// What `core.tar.unpack` returns: the outcome, or with `sha256` given, that the
/// archive did not match it (nothing written).
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
#[schemars(inline)]
#[serde(untagged)]
enum Unpacked {
    Done(super::UnpackOutcome),
    Corrupt {
        corrupt: bool,
        path: PathBuf,
        sha256: String,
        expected: String,
    },
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
#[serde(deny_unknown_fields)]
struct ArchiveOpts {
    src: PathBuf,
    dest: PathBuf,
    /// Seconds since the epoch for every entry (default 946684800, 2000-01-01).
    mtime: Option<u64>,
    /// Entries start with src's own name.
    #[serde(default)]
    include_dir: bool,
}

/// Runs blocking archive work off the Lua thread.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(f).await?
}

/// Registers this family's functions on `apex.core`.
pub fn register(api: &mut Api) -> mlua::Result<()> {
    api.async_fn(
        FnSpec {
            name: "tar.unpack",
            doc: "Unpacks a tar or tar.gz (.tgz) into a directory. Entries with `..`, absolute paths, links leading outside\n\
                  (link targets are followed through the links already unpacked) or paths through symlinks are refused\n\
                  (the error names the archive and the entry) and nothing is written outside `dest`; the tree is staged\n\
                  beside `dest` and its top-level entries replace their namesakes only when all passed. Setuid, setgid\n\
                  and sticky bits are dropped unless `keep_special_bits`. Over a cap, or cut short, it fails and leaves nothing.\n\
                  With `sha256` (a cached artifact's recorded digest), the archive file is hashed in the same read (on a thread\n\
                  of its own) and checked before anything is put in place: on a mismatch nothing is written and the result is\n\
                  `{corrupt = true, sha256 = <actual>, expected = ...}` instead of raising, so the caller can fetch it again.",
            is_async: true,
            effect: Effect::Local,
            ..FnSpec::TYPED
        },
        |o: UnpackOpts| {
            blocking(move || {
                let opts = UnpackOptions {
                    max_bytes: o.max_bytes.map(|b| b.0),
                    max_entries: o.max_entries.unwrap_or(DEFAULT_MAX_ENTRIES),
                    keep_special_bits: o.keep_special_bits,
                    sha256: o.sha256,
                };
                match unpack_with(&o.src, &o.dest, &opts) {
                    Ok(out) => Ok(Unpacked::Done(out)),
                    Err(e) => match e.downcast::<crate::artifacts::Corrupt>() {
                        Ok(c) => Ok(Unpacked::Corrupt {
                            corrupt: true,
                            path: o.src,
                            sha256: c.actual,
                            expected: c.expected,
                        }),
                        Err(e) => Err(e),
                    },
                }
            })
        },
    )?;
    api.async_fn(
        FnSpec {
            name: "tar.pack",
            doc: "Writes a reproducible tar.gz of a directory's contents (sorted entries, fixed mtime, owner 0/0, modes 0755/0644):\n\
                  the same tree gives byte-identical output. Written atomically.",
            is_async: true,
            effect: Effect::Local,
            ..FnSpec::TYPED
        },
        |o: ArchiveOpts| blocking(move || archive_tree(&o.src, &o.dest, o.mtime, o.include_dir)),
    )?;
    Ok(())
}
