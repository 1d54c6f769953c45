//! File helpers shared by the primitives, the Lua host and the lab: plain
//! Rust, no Lua, so a primitive family can use them without depending on the
//! Lua host (`host_helpers::files` binds them for flows).

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;

/// Writes `content` to `path` atomically (temp file + rename), creating parent
/// directories. Readers see the old file or the whole new one, never a part.
pub fn write_atomic(path: &Path, content: &[u8], mode: Option<u32>) -> anyhow::Result<()> {
    write_atomic_with(path, content, mode, false)
}

/// [`write_atomic`], with `sync` also flushing the data to disk before the
/// rename (for state that must survive a power loss, not for plan artifacts).
pub fn write_atomic_with(
    path: &Path,
    content: &[u8],
    mode: Option<u32>,
    sync: bool,
) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".apex-tmp-")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temp file in {}", dir.display()))?;
    tmp.write_all(content)?;
    if let Some(mode) = mode {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    if sync {
        tmp.as_file().sync_all()?;
    }
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
