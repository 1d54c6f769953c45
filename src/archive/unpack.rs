//! `unpack`: a tar or tar.gz into a directory, refusing every entry that could
//! write outside it (`..`, absolute paths, symlinks or hard links leading
//! out, writing through a symlink). Link targets are resolved against the
//! tree as it is being written: the links already unpacked are followed
//! component by component inside the staging directory (never the host's),
//! and every symlink is resolved once more against the finished tree, so the
//! order of the entries cannot hide a chain that leaves. The archive is
//! unpacked into a staging directory beside the destination and moved into
//! place only when every entry passed, so a refused archive (or one over its
//! caps) leaves the destination as it was and no staging directory behind.

use std::ffi::OsString;
use std::fs::File;
use std::io::{BufRead as _, BufReader, Read};
use std::path::{Component, Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;
use tar::EntryType;

/// The default cap on entries: far above a real image or rootfs tarball
/// (hundreds of thousands), far below what fills a disk with inodes.
pub const DEFAULT_MAX_ENTRIES: u64 = 1_000_000;

/// How many symlinks one resolution may follow (as the kernel's ELOOP limit).
const MAX_LINK_HOPS: u32 = 40;

/// What `unpack` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct UnpackOutcome {
    pub path: PathBuf,
    /// Entries unpacked (files, directories, links).
    pub entries: u64,
    /// Bytes of file content written.
    pub bytes: u64,
}

/// Caps and modes of [`unpack_with`].
#[derive(Debug, Clone)]
pub struct UnpackOptions {
    /// Most bytes of file content to write. `None`: what the destination's
    /// filesystem has free when the unpack starts (an archive that cannot fit
    /// fails before filling the disk).
    pub max_bytes: Option<u64>,
    /// Most entries (files, directories, links); default [`DEFAULT_MAX_ENTRIES`].
    pub max_entries: u64,
    /// Keep setuid, setgid and sticky bits from the archive (default: dropped).
    pub keep_special_bits: bool,
}

impl Default for UnpackOptions {
    fn default() -> Self {
        Self {
            max_bytes: None,
            max_entries: DEFAULT_MAX_ENTRIES,
            keep_special_bits: false,
        }
    }
}

/// Unpacks `src` (tar, or tar.gz/.tgz detected by its magic bytes) into
/// `dest` with the default options. Top-level entries of the archive replace
/// those of the same name in `dest`; other files in `dest` are kept. The error
/// names the archive and the refused entry.
pub fn unpack(src: &Path, dest: &Path) -> anyhow::Result<UnpackOutcome> {
    unpack_with(src, dest, &UnpackOptions::default())
}

/// [`unpack`] with caps on bytes and entries and the choice to keep special mode bits.
pub fn unpack_with(src: &Path, dest: &Path, opts: &UnpackOptions) -> anyhow::Result<UnpackOutcome> {
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
    let bytes_cap = match opts.max_bytes {
        Some(n) => Cap::Given(n),
        None => free_bytes(staging.path())
            .map(|n| Cap::Free(n, parent.to_path_buf()))
            .unwrap_or(Cap::None),
    };
    let tree = Tree {
        staging: staging.path(),
        dest,
    };
    let (entries, bytes) = unpack_into(input, &tree, opts, &bytes_cap)
        .with_context(|| format!("cannot unpack {}", src.display()))?;
    // Dropping `staging` on an error above removes it with what was written.
    move_into_place(staging, dest)?;
    Ok(UnpackOutcome {
        path: dest.to_path_buf(),
        entries,
        bytes,
    })
}

/// The cap on bytes of file content.
enum Cap {
    Given(u64),
    /// What the filesystem of this directory had free.
    Free(u64, PathBuf),
    None,
}

fn free_bytes(dir: &Path) -> Option<u64> {
    let st = rustix::fs::statvfs(dir).ok()?;
    Some(st.f_bavail.saturating_mul(st.f_frsize))
}

fn unpack_into(
    input: impl Read,
    tree: &Tree,
    opts: &UnpackOptions,
    cap: &Cap,
) -> anyhow::Result<(u64, u64)> {
    let root = tree.staging;
    let mut archive = tar::Archive::new(input);
    // Without "preserve", the tar crate applies `mode & 0o777`: no setuid, setgid or sticky bit.
    archive.set_preserve_permissions(opts.keep_special_bits);
    archive.set_preserve_mtime(true);
    archive.set_preserve_ownerships(false);
    archive.set_unpack_xattrs(false);
    archive.set_overwrite(true);
    let (mut entries, mut bytes) = (0u64, 0u64);
    // Every symlink written (entry name, path below the root), checked again at the end.
    let mut symlinks: Vec<(String, PathBuf)> = Vec::new();
    for entry in archive.entries().context("cannot read the archive")? {
        let mut entry = entry.context("cannot read the archive")?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let kind = entry.header().entry_type();
        if matches!(
            kind,
            EntryType::XGlobalHeader
                | EntryType::XHeader
                | EntryType::GNULongName
                | EntryType::GNULongLink
        ) {
            continue;
        }
        if entries >= opts.max_entries {
            anyhow::bail!(
                "refused entry {name:?}: the archive has more than max_entries = {} entries",
                opts.max_entries
            );
        }
        let size = entry.header().entry_size().unwrap_or(0);
        if kind.is_file() || kind.is_contiguous() || kind.is_gnu_sparse() {
            let total = bytes.saturating_add(size);
            match cap {
                Cap::Given(max) if total > *max => anyhow::bail!(
                    "refused entry {name:?}: the archive's files exceed max_bytes = {max} bytes \
                     ({total} with this entry)"
                ),
                Cap::Free(free, dir) if total > *free => anyhow::bail!(
                    "refused entry {name:?}: the archive's files need {total} bytes with this entry, \
                     more than the {free} bytes free in {} (max_bytes caps what an unpack may write)",
                    dir.display()
                ),
                _ => {}
            }
        }
        let plan = check_entry(&entry, tree).with_context(|| format!("refused entry {name:?}"))?;
        match plan {
            Write::HardLink { link, target } => {
                hard_link(root, &target, &link)
                    .with_context(|| format!("cannot unpack entry {name:?}"))?;
            }
            Write::Tar { rel } => {
                let unpacked = entry
                    .unpack_in(root)
                    .with_context(|| format!("cannot unpack entry {name:?}"))?;
                if !unpacked {
                    anyhow::bail!(
                        "refused entry {name:?}: it would be written outside the destination"
                    );
                }
                if kind == EntryType::Symlink {
                    symlinks.push((name, rel));
                }
            }
        }
        entries += 1;
        if kind.is_file() || kind.is_contiguous() || kind.is_gnu_sparse() {
            bytes += size;
        }
    }
    // A link may point through a link written after it: resolve every
    // symlink again against the finished tree (as it will be in `dest`).
    for (name, rel) in &symlinks {
        if let Node::Link(target) = tree.lookup(rel) {
            let dir = parent_names(rel);
            tree.resolve(&dir, &target, true)
                .map_err(|why| anyhow::anyhow!("symlink to {} {why}", target.display()))
                .with_context(|| format!("refused entry {name:?}"))?;
        }
    }
    Ok((entries, bytes))
}

/// How a checked entry is written.
enum Write {
    /// By the tar crate (files, directories, symlinks), at `rel` below the root.
    Tar { rel: PathBuf },
    /// A hard link at `link` to the entry at `target` (both below the root,
    /// `target` free of symlinks so the kernel follows none).
    HardLink { link: PathBuf, target: PathBuf },
}

fn hard_link(root: &Path, target: &Path, link: &Path) -> anyhow::Result<()> {
    let at = root.join(link);
    if let Some(p) = at.parent() {
        std::fs::create_dir_all(p).with_context(|| format!("cannot create {}", p.display()))?;
    }
    match std::fs::symlink_metadata(&at) {
        Ok(m) if m.is_dir() => anyhow::bail!("{} is a directory", link.display()),
        Ok(_) => std::fs::remove_file(&at)?,
        Err(_) => {}
    }
    std::fs::hard_link(root.join(target), &at).with_context(|| {
        format!(
            "cannot hard link {} to {}",
            link.display(),
            target.display()
        )
    })
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

fn parent_names(rel: &Path) -> Vec<OsString> {
    rel.parent()
        .unwrap_or(Path::new(""))
        .components()
        .map(|c| c.as_os_str().to_os_string())
        .collect()
}

/// What a path of the tree is, without following a final symlink.
#[derive(Debug)]
enum Node {
    Missing,
    Dir,
    Other,
    Link(PathBuf),
}

/// The tree an archive is unpacked into: the staging directory, seen over the
/// destination (whose top-level entries the staged ones will replace, and
/// whose others stay beside them).
struct Tree<'a> {
    staging: &'a Path,
    dest: &'a Path,
}

impl Tree<'_> {
    /// Looks up a path below the root whose every parent is a real directory
    /// (resolution only ever asks for such paths), so no host link is followed.
    fn lookup(&self, rel: &Path) -> Node {
        let Some(Component::Normal(top)) = rel.components().next() else {
            return Node::Dir;
        };
        let base = if std::fs::symlink_metadata(self.staging.join(top)).is_ok() {
            self.staging
        } else {
            self.dest
        };
        let path = base.join(rel);
        match std::fs::symlink_metadata(&path) {
            Err(_) => Node::Missing,
            Ok(m) if m.file_type().is_symlink() => match std::fs::read_link(&path) {
                Ok(t) => Node::Link(t),
                Err(_) => Node::Missing,
            },
            Ok(m) if m.is_dir() => Node::Dir,
            Ok(_) => Node::Other,
        }
    }

    /// Resolves `target` from the directory `dir` (names below the root),
    /// following the symlinks of the tree component by component (the last
    /// one too when `follow_last`). Missing components are taken as they are
    /// written. Err says why the resolution leaves the destination.
    fn resolve(
        &self,
        dir: &[OsString],
        target: &Path,
        follow_last: bool,
    ) -> Result<Vec<OsString>, String> {
        enum Step {
            Up,
            Name(OsString),
        }
        fn push_steps(todo: &mut Vec<Step>, target: &Path) {
            // A stack: the first component ends up on top.
            for c in target.components().rev() {
                match c {
                    Component::Normal(n) => todo.push(Step::Name(n.to_os_string())),
                    Component::ParentDir => todo.push(Step::Up),
                    _ => {}
                }
            }
        }
        if target.has_root() {
            return Err("leaves the destination (absolute path)".into());
        }
        let mut at: Vec<OsString> = dir.to_vec();
        let mut todo = Vec::new();
        push_steps(&mut todo, target);
        let mut hops = 0;
        let mut via: Option<String> = None;
        let through = |via: &Option<String>| {
            via.as_ref()
                .map(|v| format!(" through the link {v}"))
                .unwrap_or_default()
        };
        while let Some(step) = todo.pop() {
            match step {
                Step::Up => {
                    if at.pop().is_none() {
                        return Err(format!("leaves the destination{}", through(&via)));
                    }
                }
                Step::Name(n) => {
                    at.push(n);
                    if todo.is_empty() && !follow_last {
                        break;
                    }
                    let here: PathBuf = at.iter().collect();
                    if let Node::Link(t) = self.lookup(&here) {
                        hops += 1;
                        if hops > MAX_LINK_HOPS {
                            return Err(format!(
                                "cannot be resolved: more than {MAX_LINK_HOPS} links in a chain (a loop?)"
                            ));
                        }
                        via = Some(format!("{} -> {}", here.display(), t.display()));
                        if t.has_root() {
                            return Err(format!(
                                "leaves the destination{} (absolute path)",
                                through(&via)
                            ));
                        }
                        at.pop();
                        push_steps(&mut todo, &t);
                    }
                }
            }
        }
        Ok(at)
    }
}

fn check_entry<R: Read>(entry: &tar::Entry<R>, tree: &Tree) -> anyhow::Result<Write> {
    let root = tree.staging;
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
    match kind {
        EntryType::Symlink => {
            let target = link()?;
            tree.resolve(&parent_names(&rel), &target, true)
                .map_err(|why| anyhow::anyhow!("symlink to {} {why}", target.display()))?;
        }
        EntryType::Link => {
            let target = link()?;
            let inside = relative(&target, "hard link target")
                .context("hard link points outside the destination")?;
            let resolved = tree
                .resolve(&[], &inside, false)
                .map_err(|why| anyhow::anyhow!("hard link to {} {why}", target.display()))?;
            let resolved: PathBuf = resolved.iter().collect();
            if resolved.as_os_str().is_empty() {
                anyhow::bail!("hard link to the destination itself");
            }
            match std::fs::symlink_metadata(root.join(&resolved)) {
                Ok(m) if m.file_type().is_symlink() => anyhow::bail!(
                    "hard link to the symlink {} (its target would change meaning)",
                    target.display()
                ),
                Ok(m) if m.is_dir() => {
                    anyhow::bail!("hard link to the directory {}", target.display())
                }
                Ok(_) => {}
                Err(_) => anyhow::bail!(
                    "hard link to {}, which is not an earlier entry of the archive",
                    target.display()
                ),
            }
            return Ok(Write::HardLink {
                link: rel,
                target: resolved,
            });
        }
        EntryType::Char | EntryType::Block | EntryType::Fifo => {
            anyhow::bail!("device and fifo entries are not unpacked");
        }
        _ => {}
    }
    Ok(Write::Tar { rel })
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
    fn relative_paths() {
        assert!(relative(Path::new("a/../b"), "path").is_err());
        assert!(relative(Path::new("/etc/x"), "path").is_err());
        assert_eq!(
            relative(Path::new("./a/b"), "path").unwrap(),
            PathBuf::from("a/b")
        );
    }

    #[test]
    fn resolves_through_the_tree() {
        let tmp = tempfile::tempdir().unwrap();
        let staging = tmp.path().join("s");
        std::fs::create_dir_all(staging.join("a/b")).unwrap();
        std::os::unix::fs::symlink("..", staging.join("a/up")).unwrap();
        let tree = Tree {
            staging: &staging,
            dest: &tmp.path().join("d"),
        };
        let names = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        let r = |dir: &[&str], t: &str| tree.resolve(&names(dir), Path::new(t), true);
        assert_eq!(r(&["a", "b"], "../c"), Ok(names(&["a", "c"])));
        assert_eq!(r(&[], "a/up/a/b"), Ok(names(&["a", "b"])));
        assert!(r(&["a"], "../..").is_err());
        assert!(r(&[], "..").is_err());
        assert!(r(&["a"], "/etc").is_err());
        let e = r(&[], "a/up/..").unwrap_err();
        assert!(e.contains("a/up -> .."), "{e}");
        assert_eq!(
            tree.resolve(&[], Path::new("a/up"), false),
            Ok(names(&["a", "up"]))
        );
    }
}
