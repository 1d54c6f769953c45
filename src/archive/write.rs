//! The writes of `unpack`, each one system call relative to the staging
//! directory's descriptor where it can be: the checks are done against the
//! tree `unpack` keeps in memory ([`Tree`]), so no entry costs a stat of its
//! parents or a path canonicalization, and a file costs what it costs GNU
//! tar (open, write, set the time, close). [`super::writers`] runs the
//! file writes of small files on threads.

use std::fs::File;
use std::os::fd::OwnedFd;
use std::path::Path;

use anyhow::Context as _;
use rustix::fs::{AtFlags, Mode, OFlags, Timespec, Timestamps};
use rustix::io::Errno;

use super::tree::Tree;

/// The staging directory, opened once.
pub(super) struct Staging {
    dir: OwnedFd,
    /// The process umask, applied by the kernel to the mode a file is
    /// created with; `None` when unknown (every file is then chmod-ed).
    umask: Option<u32>,
}

impl Staging {
    pub(super) fn open(path: &Path) -> anyhow::Result<Self> {
        let dir = rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .with_context(|| format!("cannot open {}", path.display()))?;
        Ok(Self {
            dir,
            umask: process_umask(),
        })
    }

    /// Makes `rel`'s parent a directory, creating missing ones; refuses to
    /// go through a symlink (even one pointing inside: the next entry could
    /// retarget it) or a file.
    /// `before_mkdir` is called with each directory about to be created.
    pub(super) fn parents(
        &self,
        tree: &mut Tree,
        rel: &Path,
        mut before_mkdir: impl FnMut(&Path) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let Some(parent) = rel.parent() else {
            return Ok(());
        };
        if tree.is_dir(parent) {
            return Ok(());
        }
        let mut at = std::path::PathBuf::new();
        for c in parent.components() {
            at.push(c);
            if tree.is_dir(&at) {
                continue;
            }
            if tree.link(&at).is_some() {
                anyhow::bail!("it would be written through the symlink {}", at.display());
            }
            before_mkdir(&at)?;
            match rustix::fs::mkdirat(&self.dir, &at, Mode::from_raw_mode(0o777)) {
                Ok(()) => tree.wrote_dir(&at),
                Err(Errno::EXIST) => anyhow::bail!("{} is a file, not a directory", at.display()),
                Err(e) => return Err(e).with_context(|| format!("cannot create {}", at.display())),
            }
        }
        Ok(())
    }

    /// A directory entry: created (replacing a file or link of that name) or
    /// kept; its mode and time are set by [`Self::finish_dir`] at the end, so
    /// a read-only directory can still receive its entries.
    pub(super) fn dir(&self, tree: &mut Tree, rel: &Path) -> anyhow::Result<()> {
        if tree.is_dir(rel) {
            return Ok(());
        }
        self.replacing(rel, || {
            rustix::fs::mkdirat(&self.dir, rel, Mode::from_raw_mode(0o700))
        })
        .with_context(|| format!("cannot create the directory {}", rel.display()))?;
        tree.wrote_dir(rel);
        Ok(())
    }

    /// Sets a directory's mode and modification time.
    pub(super) fn finish_dir(
        &self,
        rel: &Path,
        mode: u32,
        mtime: Option<u64>,
    ) -> anyhow::Result<()> {
        let at: &Path = if rel.as_os_str().is_empty() {
            Path::new(".")
        } else {
            rel
        };
        rustix::fs::chmodat(&self.dir, at, Mode::from_raw_mode(mode), AtFlags::empty())
            .with_context(|| format!("cannot set the mode of {}", rel.display()))?;
        if let Some(t) = mtime {
            rustix::fs::utimensat(&self.dir, at, &times(t), AtFlags::SYMLINK_NOFOLLOW)
                .with_context(|| format!("cannot set the time of {}", rel.display()))?;
        }
        Ok(())
    }

    /// A regular file, replacing a file or link of that name; `fill`
    /// writes its content and returns how many bytes it wrote. Takes `&self`
    /// only: the unpack's file writers call it from their threads.
    pub(super) fn file(
        &self,
        rel: &Path,
        mode: u32,
        mtime: Option<u64>,
        fill: impl FnOnce(&mut File) -> std::io::Result<u64>,
    ) -> anyhow::Result<u64> {
        let fd = self
            .replacing(rel, || {
                rustix::fs::openat(
                    &self.dir,
                    rel,
                    OFlags::WRONLY
                        | OFlags::CREATE
                        | OFlags::EXCL
                        | OFlags::NOFOLLOW
                        | OFlags::CLOEXEC,
                    Mode::from_raw_mode(mode),
                )
            })
            .with_context(|| format!("cannot create {}", rel.display()))?;
        let mut file = File::from(fd);
        let written = fill(&mut file).with_context(|| format!("cannot write {}", rel.display()))?;
        if self.umask.is_none_or(|u| mode & u != 0) || mode & !0o777 != 0 {
            rustix::fs::fchmod(&file, Mode::from_raw_mode(mode))
                .with_context(|| format!("cannot set the mode of {}", rel.display()))?;
        }
        if let Some(t) = mtime {
            rustix::fs::futimens(&file, &times(t))
                .with_context(|| format!("cannot set the time of {}", rel.display()))?;
        }
        Ok(written)
    }

    /// A symlink, replacing a file or link of that name.
    pub(super) fn symlink(&self, tree: &mut Tree, rel: &Path, target: &Path) -> anyhow::Result<()> {
        self.replacing(rel, || rustix::fs::symlinkat(target, &self.dir, rel))
            .with_context(|| format!("cannot create the symlink {}", rel.display()))?;
        tree.wrote_link(rel, target);
        Ok(())
    }

    /// A hard link at `rel` to `target` (free of symlinks, checked by the
    /// caller to be an earlier file entry), replacing a file or link there.
    pub(super) fn hard_link(
        &self,
        tree: &mut Tree,
        rel: &Path,
        target: &Path,
    ) -> anyhow::Result<()> {
        let link = || rustix::fs::linkat(&self.dir, target, &self.dir, rel, AtFlags::empty());
        match link() {
            Err(Errno::EXIST) => {
                self.unlink(rel)?;
                link()
            }
            r => r,
        }
        .with_context(|| format!("cannot hard link {} to {}", rel.display(), target.display()))?;
        tree.wrote_file(rel);
        Ok(())
    }

    /// What is at `rel`, without following a symlink: `None` when nothing is.
    pub(super) fn kind(&self, rel: &Path) -> Option<rustix::fs::FileType> {
        rustix::fs::statat(&self.dir, rel, AtFlags::SYMLINK_NOFOLLOW)
            .ok()
            .map(|st| rustix::fs::FileType::from_raw_mode(st.st_mode))
    }

    /// Runs `create` (which makes `rel` and fails with EEXIST when something
    /// is there); when something is, removes it and runs `create` once more.
    fn replacing<T>(
        &self,
        rel: &Path,
        create: impl Fn() -> rustix::io::Result<T>,
    ) -> anyhow::Result<T> {
        match create() {
            Err(Errno::EXIST) => {
                self.unlink(rel)?;
                Ok(create()?)
            }
            r => Ok(r?),
        }
    }

    /// Removes the file or link at `rel` that an entry replaces; a directory
    /// is never replaced.
    fn unlink(&self, rel: &Path) -> anyhow::Result<()> {
        match rustix::fs::unlinkat(&self.dir, rel, AtFlags::empty()) {
            Ok(()) | Err(Errno::NOENT) => Ok(()),
            Err(Errno::ISDIR) | Err(Errno::PERM)
                if self.kind(rel) == Some(rustix::fs::FileType::Directory) =>
            {
                anyhow::bail!("{} is a directory", rel.display())
            }
            Err(e) => Err(e).with_context(|| format!("cannot replace {}", rel.display())),
        }
    }
}

fn times(mtime: u64) -> Timestamps {
    let t = Timespec {
        tv_sec: i64::try_from(mtime).unwrap_or(i64::MAX),
        tv_nsec: 0,
    };
    Timestamps {
        last_access: t,
        last_modification: t,
    }
}

/// The umask, read without changing it (`umask(2)` can only set it, which
/// would race with other threads creating files).
fn process_umask() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("Umask:"))?;
    u32::from_str_radix(line.trim(), 8).ok()
}
