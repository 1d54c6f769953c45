//! `unpack`: a tar or tar.gz into a directory, refusing every entry that could
//! write outside it (`..`, absolute paths, symlinks or hard links pointing
//! out, writing through a symlink). The archive is unpacked into a staging
//! directory beside the destination and moved into place only when every
//! entry passed, so a refused archive leaves the destination as it was.

use std::fs::File;
use std::io::{BufRead as _, BufReader, Read};
use std::path::{Component, Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;
use tar::EntryType;

/// What `unpack` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct UnpackOutcome {
    pub path: PathBuf,
    /// Entries unpacked (files, directories, links).
    pub entries: u64,
    /// Bytes of file content written.
    pub bytes: u64,
}

/// Unpacks `src` (tar, or tar.gz/.tgz detected by its magic bytes) into
/// `dest`. Top-level entries of the archive replace those of the same name in
/// `dest`; other files in `dest` are kept. The error names the refused entry.
pub fn unpack(src: &Path, dest: &Path) -> anyhow::Result<UnpackOutcome> {
    let file = File::open(src).with_context(|| format!("cannot open {}", src.display()))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let gz = reader
        .fill_buf()
        .with_context(|| format!("cannot read {}", src.display()))?
        .starts_with(&[0x1f, 0x8b]);
    let input: Box<dyn Read> = if gz {
        Box::new(flate2::bufread::MultiGzDecoder::new(reader))
    } else {
        Box::new(reader)
    };

    let parent = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .with_context(|| format!("cannot create {}", parent.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".apex-unpack-")
        .tempdir_in(parent)
        .with_context(|| format!("cannot create a staging directory in {}", parent.display()))?;
    let (entries, bytes) = unpack_into(input, staging.path())
        .with_context(|| format!("cannot unpack {}", src.display()))?;
    move_into_place(staging, dest)?;
    Ok(UnpackOutcome {
        path: dest.to_path_buf(),
        entries,
        bytes,
    })
}

fn unpack_into(input: impl Read, root: &Path) -> anyhow::Result<(u64, u64)> {
    let mut archive = tar::Archive::new(input);
    archive.set_preserve_permissions(true);
    archive.set_preserve_mtime(true);
    archive.set_preserve_ownerships(false);
    archive.set_unpack_xattrs(false);
    archive.set_overwrite(true);
    let (mut entries, mut bytes) = (0u64, 0u64);
    for entry in archive.entries().context("cannot read the archive")? {
        let mut entry = entry.context("cannot read the archive")?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        check_entry(&entry, root).with_context(|| format!("refused entry {name:?}"))?;
        let size = entry.header().entry_size().unwrap_or(0);
        let unpacked = entry
            .unpack_in(root)
            .with_context(|| format!("cannot unpack entry {name:?}"))?;
        if !unpacked {
            anyhow::bail!("refused entry {name:?}: it would be written outside the destination");
        }
        entries += 1;
        if entry.header().entry_type().is_file() {
            bytes += size;
        }
    }
    Ok((entries, bytes))
}

/// The entry's path as components below the root; `..` and absolute paths are refused.
fn relative(path: &Path, what: &str) -> anyhow::Result<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            Component::ParentDir => anyhow::bail!("{what} {} contains `..`", path.display()),
            Component::RootDir | Component::Prefix(_) => {
                anyhow::bail!("{what} {} is an absolute path", path.display())
            }
        }
    }
    Ok(out)
}

/// Resolves `target` relative to `dir` without touching the disk; None if it climbs above the root.
fn resolve_inside(dir: &Path, target: &Path) -> Option<PathBuf> {
    let mut out: Vec<Component> = dir.components().collect();
    for c in target.components() {
        match c {
            Component::Normal(_) => out.push(c),
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out.iter().collect())
}

fn check_entry<R: Read>(entry: &tar::Entry<R>, root: &Path) -> anyhow::Result<()> {
    let path = entry.path().context("unreadable path")?;
    let rel = relative(&path, "path")?;
    let kind = entry.header().entry_type();
    let link = || -> anyhow::Result<PathBuf> {
        Ok(entry
            .link_name()
            .context("unreadable link target")?
            .context("link without a target")?
            .into_owned())
    };
    match kind {
        EntryType::Symlink => {
            let target = link()?;
            let dir = rel.parent().unwrap_or(Path::new(""));
            if target.is_absolute() || resolve_inside(dir, &target).is_none() {
                anyhow::bail!(
                    "symlink to {} points outside the destination",
                    target.display()
                );
            }
        }
        EntryType::Link => {
            let target = link()?;
            let inside = relative(&target, "hard link target")
                .context("hard link points outside the destination")?;
            let existing = std::fs::symlink_metadata(root.join(&inside));
            if existing.is_ok_and(|m| m.file_type().is_symlink()) {
                anyhow::bail!(
                    "hard link to the symlink {} (its target would change meaning)",
                    target.display()
                );
            }
        }
        EntryType::Char | EntryType::Block | EntryType::Fifo => {
            anyhow::bail!("device and fifo entries are not unpacked");
        }
        _ => {}
    }
    // Never write through a symlink, even one pointing inside: the next entry could retarget it.
    let mut at = root.to_path_buf();
    for c in rel.parent().unwrap_or(Path::new("")).components() {
        at.push(c);
        if std::fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
            anyhow::bail!(
                "it would be written through the symlink {}",
                at.strip_prefix(root).unwrap_or(&at).display()
            );
        }
    }
    Ok(())
}

/// Moves the staged tree into `dest`: a rename when `dest` is new, else each
/// top-level entry replaces its namesake.
fn move_into_place(staging: tempfile::TempDir, dest: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    if !dest.exists() {
        std::fs::set_permissions(staging.path(), std::fs::Permissions::from_mode(0o755))?;
        let staged = staging.keep();
        return std::fs::rename(&staged, dest)
            .with_context(|| format!("cannot move the unpacked tree to {}", dest.display()));
    }
    if !dest.is_dir() {
        anyhow::bail!("{} exists and is not a directory", dest.display());
    }
    let mut names: Vec<_> = std::fs::read_dir(staging.path())?.collect::<Result<_, _>>()?;
    names.sort_by_key(|e| e.file_name());
    for e in names {
        let target = dest.join(e.file_name());
        match std::fs::symlink_metadata(&target) {
            Ok(m) if m.is_dir() => std::fs::remove_dir_all(&target)?,
            Ok(_) => std::fs::remove_file(&target)?,
            Err(_) => {}
        }
        std::fs::rename(e.path(), &target)
            .with_context(|| format!("cannot move into {}", target.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_lexically() {
        assert_eq!(
            resolve_inside(Path::new("a/b"), Path::new("../c")),
            Some(PathBuf::from("a/c"))
        );
        assert_eq!(resolve_inside(Path::new("a"), Path::new("../..")), None);
        assert_eq!(resolve_inside(Path::new(""), Path::new("..")), None);
        assert_eq!(resolve_inside(Path::new("a"), Path::new("/etc")), None);
        assert!(relative(Path::new("a/../b"), "path").is_err());
        assert!(relative(Path::new("/etc/x"), "path").is_err());
        assert_eq!(
            relative(Path::new("./a/b"), "path").unwrap(),
            PathBuf::from("a/b")
        );
    }
}
