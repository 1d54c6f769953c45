//! The archive family's binding: `unpack` and `archive` on `apex.core`.

use std::path::PathBuf;

use serde::Deserialize;

use super::{DEFAULT_MAX_ENTRIES, UnpackOptions, archive_tree, unpack_with};
use crate::loopdev::ByteSize;
use crate::lua::Api;
use crate::lua::api::{Effect, FnSpec, Param};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UnpackOpts {
    src: PathBuf,
    dest: PathBuf,
    max_bytes: Option<ByteSize>,
    max_entries: Option<u64>,
    #[serde(default)]
    keep_special_bits: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ArchiveOpts {
    src: PathBuf,
    dest: PathBuf,
    mtime: Option<u64>,
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
            name: "unpack",
            doc: "Unpacks a tar or tar.gz (.tgz) into a directory. Entries with `..`, absolute paths, links leading outside\n\
                  (link targets are followed through the links already unpacked) or paths through symlinks are refused\n\
                  (the error names the archive and the entry) and nothing is written outside `dest`; the tree is staged\n\
                  beside `dest` and its top-level entries replace their namesakes only when all passed. Setuid, setgid\n\
                  and sticky bits are dropped unless `keep_special_bits`. Over a cap, or cut short, it fails and leaves nothing.",
            params: &[Param {
                name: "opts",
                ty: "{src: string, dest: string, max_bytes?: integer|string, max_entries?: integer, keep_special_bits?: boolean}",
                doc: "the archive and the directory to unpack into; max_bytes: most bytes of file content (e.g. \"20G\"; default what the filesystem has free); max_entries: most entries (default 1000000)",
            }],
            returns: "{path: string, entries: integer, bytes: integer}",
            is_async: true,
            effect: Effect::Local,
        },
        |o: UnpackOpts| {
            blocking(move || {
                let opts = UnpackOptions {
                    max_bytes: o.max_bytes.map(|b| b.0),
                    max_entries: o.max_entries.unwrap_or(DEFAULT_MAX_ENTRIES),
                    keep_special_bits: o.keep_special_bits,
                };
                unpack_with(&o.src, &o.dest, &opts)
            })
        },
    )?;
    api.async_fn(
        FnSpec {
            name: "archive",
            doc: "Writes a reproducible tar.gz of a directory's contents (sorted entries, fixed mtime, owner 0/0, modes 0755/0644):\n\
                  the same tree gives byte-identical output. Written atomically.",
            params: &[Param {
                name: "opts",
                ty: "{src: string, dest: string, mtime?: integer, include_dir?: boolean}",
                doc: "mtime in seconds since the epoch for every entry (default 946684800, 2000-01-01); include_dir: entries start with src's own name",
            }],
            returns: "{path: string, sha256: string, size: integer, entries: integer}",
            is_async: true,
            effect: Effect::Local,
        },
        |o: ArchiveOpts| blocking(move || archive_tree(&o.src, &o.dest, o.mtime, o.include_dir)),
    )?;
    Ok(())
}
