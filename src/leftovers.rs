//! What a killed run leaves in its tmp dir, found and cleaned by the next.
//!
//! A run stopped by Ctrl-C cleans up as it unwinds (guards unmount, detach
//! and remove), but SIGKILL or a power loss leaves an image work dir (a
//! multi-GB raw copy, mounted through a loop device, bind mounts below it)
//! or an unpack staging dir. Each of these is made, before anything is
//! mounted or attached in it, as a directory with a fixed prefix beside its
//! output inside the tmp dir: that directory is the record. The next run,
//! once it holds the tmp dir's lock (so no other run can be using them),
//! unmounts what is mounted below it, detaches loop devices backed by files
//! in it and removes it; `apex status` names them meanwhile.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// Prefixes of the work directories primitives make beside their output.
pub const PREFIXES: &[&str] = &[".apex-image-", ".apex-unpack-"];

/// How deep below the tmp dir work directories are looked for (they sit
/// beside outputs such as `<tmp>/images/overcloud-full.qcow2`).
const DEPTH: usize = 3;

/// One work directory an earlier run left.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct Leftover {
    pub path: PathBuf,
    /// Mount points at or below it, deepest first.
    pub mounts: Vec<PathBuf>,
    /// Loop devices whose backing file is below it.
    pub loops: Vec<PathBuf>,
    /// Bytes it holds on disk (not counting what is mounted there).
    pub bytes: u64,
}

/// The work directories left in `tmp_dir`, with what is mounted and
/// attached in them.
pub fn find(tmp_dir: &Path) -> Vec<Leftover> {
    let mut dirs = Vec::new();
    collect(tmp_dir, DEPTH, &mut dirs);
    let mounts = crate::mountinfo::mount_points().unwrap_or_default();
    let loops = loop_backings();
    dirs.into_iter()
        .map(|path| {
            let mut under: Vec<PathBuf> = mounts
                .iter()
                .filter(|m| m.starts_with(&path))
                .cloned()
                .collect();
            under.sort_by_key(|m| std::cmp::Reverse(m.components().count()));
            let loops = loops
                .iter()
                .filter(|(_, file)| file.starts_with(&path))
                .map(|(dev, _)| dev.clone())
                .collect();
            let bytes = if under.is_empty() {
                disk_usage(&path)
            } else {
                0
            };
            Leftover {
                path,
                mounts: under,
                loops,
                bytes,
            }
        })
        .collect()
}

/// Unmounts, detaches and removes what [`find`] reports; the caller holds
/// the tmp dir's run lock. Returns what was cleaned.
pub fn clean(tmp_dir: &Path) -> anyhow::Result<Vec<Leftover>> {
    let found = find(tmp_dir);
    for l in &found {
        // A process the killed run started in the image (chrooted below
        // the work dir) still holds its mounts and loop device: it goes first.
        crate::image_edit::kill_processes_in(&l.path);
        for m in &l.mounts {
            if rustix::mount::unmount(m, rustix::mount::UnmountFlags::empty()).is_err() {
                rustix::mount::unmount(m, rustix::mount::UnmountFlags::DETACH)
                    .with_context(|| format!("cannot unmount {}", m.display()))?;
            }
        }
        for dev in &l.loops {
            crate::loopdev::detach_loop_device(dev)
                .with_context(|| format!("cannot detach {}", dev.display()))?;
        }
        std::fs::remove_dir_all(&l.path)
            .with_context(|| format!("cannot remove {}", l.path.display()))?;
        tracing::warn!(
            path = %l.path.display(),
            mounts = l.mounts.len(),
            loops = l.loops.len(),
            "removed what an earlier run left (it was killed before cleaning up)"
        );
    }
    Ok(found)
}

fn collect(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let Ok(kind) = e.file_type() else { continue };
        if !kind.is_dir() {
            continue;
        }
        let name = e.file_name().to_string_lossy().into_owned();
        if PREFIXES.iter().any(|p| name.starts_with(p)) {
            out.push(e.path());
        } else if depth > 1 {
            collect(&e.path(), depth - 1, out);
        }
    }
}

/// Every attached loop device with its backing file.
fn loop_backings() -> Vec<(PathBuf, PathBuf)> {
    let Ok(entries) = std::fs::read_dir("/sys/block") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let backing = std::fs::read_to_string(e.path().join("loop/backing_file")).ok()?;
            Some((
                PathBuf::from(format!("/dev/{name}")),
                PathBuf::from(backing.trim_end().trim_end_matches(" (deleted)")),
            ))
        })
        .filter(|(d, _)| d.to_string_lossy().starts_with("/dev/loop"))
        .collect()
}

/// Bytes allocated below `dir` (sparse files count what they hold).
fn disk_usage(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt as _;
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(meta) = e.metadata() else { continue };
            if meta.is_dir() {
                stack.push(e.path());
            } else {
                total += meta.blocks() * 512;
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_work_dirs_by_prefix() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("images/.apex-image-abc/root-1")).unwrap();
        std::fs::create_dir_all(dir.path().join(".apex-unpack-x")).unwrap();
        std::fs::create_dir_all(dir.path().join("images/kept")).unwrap();
        std::fs::write(dir.path().join("images/.apex-image-abc/image.raw"), b"x").unwrap();
        let mut found: Vec<PathBuf> = find(dir.path()).into_iter().map(|l| l.path).collect();
        found.sort();
        assert_eq!(
            found,
            [
                dir.path().join(".apex-unpack-x"),
                dir.path().join("images/.apex-image-abc")
            ]
        );
        let cleaned = clean(dir.path()).unwrap();
        assert_eq!(cleaned.len(), 2);
        assert!(find(dir.path()).is_empty() && dir.path().join("images/kept").is_dir());
    }
}
