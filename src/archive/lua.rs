//! The archive family's binding: `unpack` and `archive` on `apex.core`.

use std::path::PathBuf;

use serde::Deserialize;

use super::{archive, unpack};
use crate::lua::Api;
use crate::lua::api::{Effect, FnSpec, Param};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UnpackOpts {
    src: PathBuf,
    dest: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ArchiveOpts {
    src: PathBuf,
    dest: PathBuf,
    mtime: Option<u64>,
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
            doc: "Unpacks a tar or tar.gz (.tgz) into a directory. Entries with `..`, absolute paths, links pointing outside\n\
                  or paths through symlinks are refused (the error names the entry) and nothing is written outside `dest`;\n\
                  the tree is staged beside `dest` and its top-level entries replace their namesakes only when all passed.",
            params: &[Param { name: "opts", ty: "{src: string, dest: string}", doc: "the archive and the directory to unpack into" }],
            returns: "{path: string, entries: integer, bytes: integer}",
            is_async: true,
            effect: Effect::Local,
        },
        |o: UnpackOpts| blocking(move || unpack(&o.src, &o.dest)),
    )?;
    api.async_fn(
        FnSpec {
            name: "archive",
            doc: "Writes a reproducible tar.gz of a directory's contents (sorted entries, fixed mtime, owner 0/0, modes 0755/0644):\n\
                  the same tree gives byte-identical output. Written atomically.",
            params: &[Param {
                name: "opts",
                ty: "{src: string, dest: string, mtime?: integer}",
                doc: "mtime in seconds since the epoch for every entry (default 946684800, 2000-01-01)",
            }],
            returns: "{path: string, sha256: string, size: integer, entries: integer}",
            is_async: true,
            effect: Effect::Local,
        },
        |o: ArchiveOpts| blocking(move || archive(&o.src, &o.dest, o.mtime)),
    )?;
    Ok(())
}
