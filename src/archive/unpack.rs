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
//!
//! It is as fast as GNU tar or faster: the checks run against the tree as
//! kept in memory ([`super::tree`]), each write is the system calls tar
//! makes ([`super::write`]), and small files are written by worker threads
//! ([`super::writers`]). Directory modes and times are set at the end, as
//! tar does, so a read-only directory still receives its entries.

use std::fs::File;
use std::io::{BufRead as _, BufReader, Read};
use std::path::{Component, Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;
use tar::EntryType;

use super::tree::{Tree, parent_names};
use super::write::Staging;
use super::writers::{self, EntryFailed, FileJob, Writers};
use crate::progress::{Progress, Unit};

/// The default cap on entries: far above a real image or rootfs tarball
/// (hundreds of thousands), far below what fills a disk with inodes.
pub const DEFAULT_MAX_ENTRIES: u64 = 1_000_000;

/// What `unpack` wrote.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(inline)]
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
    /// The archive file's expected SHA-256 (hex), e.g. a cached artifact's
    /// recorded one: hashed on a thread of its own as the archive is read
    /// (the unpack's one pass, no second read), then checked before anything
    /// is moved into place; a mismatch is an [`crate::artifacts::Corrupt`]
    /// error and leaves `dest` as it was.
    pub sha256: Option<String>,
}

impl Default for UnpackOptions {
    fn default() -> Self {
        Self {
            max_bytes: None,
            max_entries: DEFAULT_MAX_ENTRIES,
            keep_special_bits: false,
            sha256: None,
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
    let size = file.metadata().map(|m| m.len()).ok();
    let name = src.file_name().unwrap_or(src.as_os_str()).to_string_lossy();
    let mut progress = Progress::new(format!("unpack {name}"), size, Unit::Bytes);
    let mut hasher = opts
        .sha256
        .as_ref()
        .map(|_| crate::artifacts::SideHasher::start());
    let mut reader = BufReader::with_capacity(
        1 << 20,
        Counted {
            inner: file,
            progress: &mut progress,
            hasher: hasher.as_mut(),
        },
    );
    let gz = reader
        .fill_buf()
        .with_context(|| format!("cannot read {}", src.display()))?
        .starts_with(&[0x1f, 0x8b]);
    let mut input: Box<dyn Read + '_> = if gz {
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
    let unpacked =
        unpack_into(&mut input, staging.path(), dest, opts, &bytes_cap).and_then(|counts| {
            // The rest of the file (the archive's end blocks, padding, what
            // follows) is part of what the digest covers.
            if opts.sha256.is_some() {
                std::io::copy(&mut input, &mut std::io::sink())
                    .context("cannot read the archive")?;
            }
            Ok(counts)
        });
    drop(input);
    if let Some(expected) = &opts.sha256 {
        let expected = expected.trim().to_ascii_lowercase();
        let actual = match (hasher.take(), &unpacked) {
            (Some(h), Ok(_)) => Some(h.finish()),
            // Stopped by a signal: that is the error to report.
            _ if crate::interrupt::requested().is_some() => None,
            // Cut short by an error: is the file what it should be? (Only
            // on failure: one more read to tell corruption from a bad archive.)
            _ => crate::artifacts::sha256_file(src).ok(),
        };
        if let Some(actual) = actual.filter(|a| *a != expected) {
            // Dropping `staging` removes what was written.
            return Err(crate::artifacts::Corrupt {
                path: src.display().to_string(),
                actual,
                expected,
            }
            .into());
        }
    }
    let (entries, bytes) = unpacked.with_context(|| format!("cannot unpack {}", src.display()))?;
    // Dropping `staging` on an error above removes it with what was written.
    move_into_place(staging, dest)?;
    progress.finish(&format!(
        "{entries} entries, {} of files",
        indicatif::HumanBytes(bytes)
    ));
    Ok(UnpackOutcome {
        path: dest.to_path_buf(),
        entries,
        bytes,
    })
}

/// The archive file, counting what is read of it for the progress bar and
/// handing it to the hasher checking it.
struct Counted<'p> {
    inner: File,
    progress: &'p mut Progress,
    hasher: Option<&'p mut crate::artifacts::SideHasher>,
}

impl Read for Counted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.inc(n as u64);
        if let Some(h) = &mut self.hasher {
            h.update(&buf[..n]);
        }
        Ok(n)
    }
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
    input: &mut dyn Read,
    staging: &Path,
    dest: &Path,
    opts: &UnpackOptions,
    cap: &Cap,
) -> anyhow::Result<(u64, u64)> {
    let mut archive = tar::Archive::new(input);
    let entries = archive.entries().context("cannot read the archive")?;
    let out = Staging::open(staging)?;
    std::thread::scope(|scope| {
        let writers = Writers::start(scope, &out, writers::worker_count());
        let mut unpack = Unpack {
            out: &out,
            tree: Tree::new(dest),
            writers,
            mask: if opts.keep_special_bits {
                0o7777
            } else {
                0o777
            },
            dirs: Vec::new(),
            symlinks: Vec::new(),
            buf: Vec::new(),
        };
        unpack.entries(entries, opts, cap)
    })
}

/// The state of one unpack.
struct Unpack<'a, 's> {
    out: &'s Staging,
    tree: Tree<'a>,
    writers: Writers<'s>,
    /// The mode bits kept from the archive.
    mask: u32,
    /// Directory modes and times, set once every entry is in (deepest first).
    dirs: Vec<(PathBuf, u32, Option<u64>)>,
    /// Every symlink entry (name, path below the root), checked again at the end.
    symlinks: Vec<(String, PathBuf)>,
    /// The copy buffer of files too big to queue.
    buf: Vec<u8>,
}

/// The copy buffer of big files (fewer, larger writes).
const COPY_BUF: usize = 1 << 20;

impl Unpack<'_, '_> {
    fn entries<R: Read>(
        &mut self,
        entries: tar::Entries<'_, R>,
        opts: &UnpackOptions,
        cap: &Cap,
    ) -> anyhow::Result<(u64, u64)> {
        let (mut count, mut bytes) = (0u64, 0u64);
        for entry in entries {
            let mut entry = entry.context("cannot read the archive")?;
            let kind = entry.header().entry_type();
            if kind.is_pax_global_extensions()
                || kind.is_pax_local_extensions()
                || kind.is_gnu_longname()
                || kind.is_gnu_longlink()
            {
                continue;
            }
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            if count >= opts.max_entries {
                anyhow::bail!(
                    "refused entry {name:?}: the archive has more than max_entries = {} entries",
                    opts.max_entries
                );
            }
            // A pax size overrides the header's; a sparse file's is its real size.
            let size = entry.size();
            if written_as_file(kind, &name) {
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
            bytes += self.entry(&mut entry, &name).map_err(|e| {
                // A queued file's error already names its own entry.
                if e.is::<EntryFailed>() {
                    e
                } else {
                    e.context(EntryFailed(name))
                }
            })?;
            count += 1;
        }
        self.writers.drain()?;
        // A link may point through a link written after it: resolve every
        // symlink again against the finished tree (as it will be in `dest`).
        for (name, rel) in &self.symlinks {
            if let Some(target) = self.tree.link(rel) {
                self.tree
                    .resolve(&parent_names(rel), target, true)
                    .map_err(|why| anyhow::anyhow!("symlink to {} {why}", target.display()))
                    .context(EntryFailed(name.clone()))?;
            }
        }
        self.dirs
            .sort_by_key(|(rel, _, _)| std::cmp::Reverse(rel.components().count()));
        for (rel, mode, mtime) in &self.dirs {
            self.out.finish_dir(rel, *mode, *mtime)?;
        }
        Ok((count, bytes))
    }

    /// Checks one entry against the tree and writes it (or queues it);
    /// returns the bytes of file content.
    fn entry<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>, name: &str) -> anyhow::Result<u64> {
        let header = entry.header();
        let kind = header.entry_type();
        let mode = header.mode().unwrap_or(0o644) & self.mask;
        let mtime = header.mtime().ok();
        let size = entry.size();
        let rel = relative(&entry.path().context("unreadable path")?, "path")?;
        let is_dir = is_dir(kind, name);
        if rel.as_os_str().is_empty() {
            if !is_dir {
                anyhow::bail!("an entry that is not a directory names the destination itself");
            }
            // `./`: the destination keeps its own mode (the archive's is
            // often a build directory's 0700).
            return Ok(0);
        }
        let writers = &mut self.writers;
        self.out
            .parents(&mut self.tree, &rel, |dir| writers.settle(dir))?;
        let link = || -> anyhow::Result<PathBuf> {
            Ok(entry
                .link_name()
                .context("unreadable link target")?
                .context("link without a target")?
                .into_owned())
        };
        if is_dir {
            self.writers.settle(&rel)?;
            self.out.dir(&mut self.tree, &rel)?;
            self.dirs.push((rel, mode, mtime));
            return Ok(0);
        }
        match kind {
            EntryType::Symlink => {
                let target = link()?;
                self.tree
                    .resolve(&parent_names(&rel), &target, true)
                    .map_err(|why| anyhow::anyhow!("symlink to {} {why}", target.display()))?;
                self.writers.settle(&rel)?;
                self.out.symlink(&mut self.tree, &rel, &target)?;
                self.symlinks.push((name.to_string(), rel));
                Ok(0)
            }
            EntryType::Link => {
                let target = link()?;
                let resolved = self.hard_link_target(&target)?;
                self.writers.settle(&resolved)?;
                self.writers.settle(&rel)?;
                match self.out.kind(&resolved) {
                    Some(rustix::fs::FileType::Directory) => {
                        anyhow::bail!("hard link to the directory {}", target.display())
                    }
                    Some(_) => {}
                    None => anyhow::bail!(
                        "hard link to {}, which is not an earlier entry of the archive",
                        target.display()
                    ),
                }
                self.out.hard_link(&mut self.tree, &rel, &resolved)?;
                Ok(0)
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                anyhow::bail!("device and fifo entries are not unpacked");
            }
            // POSIX: an unknown type is unpacked as a regular file.
            _ => {
                self.tree.wrote_file(&rel);
                if size <= writers::QUEUED_MAX {
                    let mut data = Vec::with_capacity(size as usize);
                    entry
                        .read_to_end(&mut data)
                        .context("cannot read the archive")?;
                    let written = data.len() as u64;
                    ensure_whole(written, size)?;
                    self.writers.submit(FileJob {
                        name: name.to_string(),
                        rel,
                        mode,
                        mtime,
                        data,
                    })?;
                    return Ok(written);
                }
                self.writers.settle(&rel)?;
                if self.buf.is_empty() {
                    self.buf = vec![0; COPY_BUF];
                }
                let buf = &mut self.buf;
                let sparse = kind.is_gnu_sparse();
                let written = self.out.file(&rel, mode, mtime, |f| {
                    if sparse {
                        copy_sparse(entry, f, buf)
                    } else {
                        copy(entry, f, buf)
                    }
                })?;
                ensure_whole(written, size)?;
                Ok(written)
            }
        }
    }

    /// A hard link's target, resolved below the root and free of symlinks
    /// (so the kernel follows none), refused when it leaves or is a link.
    fn hard_link_target(&self, target: &Path) -> anyhow::Result<PathBuf> {
        let inside = relative(target, "hard link target")
            .context("hard link points outside the destination")?;
        let resolved: PathBuf = self
            .tree
            .resolve(&[], &inside, false)
            .map_err(|why| anyhow::anyhow!("hard link to {} {why}", target.display()))?
            .iter()
            .collect();
        if resolved.as_os_str().is_empty() {
            anyhow::bail!("hard link to the destination itself");
        }
        if self.tree.link(&resolved).is_some() {
            anyhow::bail!(
                "hard link to the symlink {} (its target would change meaning)",
                target.display()
            );
        }
        Ok(resolved)
    }
}

/// Whether an entry is a directory; an old-style archive marks one by a
/// trailing slash alone.
fn is_dir(kind: EntryType, name: &str) -> bool {
    kind.is_dir() || (kind == EntryType::Regular && name.ends_with('/'))
}

/// Whether [`Unpack::entry`] writes the entry as a regular file, so its size
/// counts against the caps: everything but directories, links, devices and
/// fifos (POSIX: an unknown type is a regular file).
fn written_as_file(kind: EntryType, name: &str) -> bool {
    !is_dir(kind, name)
        && !matches!(
            kind,
            EntryType::Symlink
                | EntryType::Link
                | EntryType::Char
                | EntryType::Block
                | EntryType::Fifo
        )
}

/// A file shorter than its header says: the archive is cut short.
fn ensure_whole(read: u64, size: u64) -> anyhow::Result<()> {
    if read != size {
        anyhow::bail!(
            "the archive ends inside this entry ({read} of its {size} bytes): it is truncated"
        );
    }
    Ok(())
}

/// Copies a big file's content through `buf`.
fn copy(from: &mut impl Read, to: &mut File, buf: &mut [u8]) -> std::io::Result<u64> {
    use std::io::Write as _;
    let mut written = 0;
    loop {
        let n = match from.read(buf) {
            Ok(0) => return Ok(written),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        to.write_all(&buf[..n])?;
        written += n as u64;
    }
}

/// The granularity of holes [`copy_sparse`] leaves: a block of this many
/// zero bytes is skipped, not written.
const HOLE: usize = 64 << 10;

/// Zeros to compare blocks with (slice equality is one `memcmp`).
static ZEROS: [u8; HOLE] = [0; HOLE];

/// Copies a GNU sparse entry's content, leaving its holes holes: the tar
/// reader gives a hole as zeros, and each whole block of zeros is skipped
/// over (a seek), so the file takes the disk its data needs, not its size
/// (`tar -S` writes the same way). The length is set at the end, for a hole
/// at the end.
fn copy_sparse(from: &mut impl Read, to: &mut File, buf: &mut [u8]) -> std::io::Result<u64> {
    use std::io::{Seek as _, SeekFrom, Write as _};
    let mut written = 0u64;
    loop {
        // Whole blocks only, so holes stay aligned however the reader splits.
        let mut n = 0;
        while n < buf.len() {
            match from.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if n == 0 {
            to.set_len(written)?;
            return Ok(written);
        }
        for block in buf[..n].chunks(HOLE) {
            if block == &ZEROS[..block.len()] {
                to.seek(SeekFrom::Current(block.len() as i64))?;
            } else {
                to.write_all(block)?;
            }
        }
        written += n as u64;
    }
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
}
