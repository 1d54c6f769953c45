//! The operations a flow asks for on an image, and how file operations are
//! applied inside a mounted root without ever leaving it: every path is
//! resolved with `openat2(RESOLVE_IN_ROOT)`, so an absolute symlink inside the
//! image (e.g. `/var/run -> /run`) points into the image, never the host.

use std::fs::File;
use std::io::Write as _;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use anyhow::{Context as _, bail};
use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;
use serde::Deserialize;

use crate::loopdev::ByteSize;

/// One customization step, applied in order inside the loop-mounted image:
/// file operations through `RESOLVE_IN_ROOT`, `run` chrooted into it.
//
// The first variant naming a field documents it (for the LuaLS class, which
// has every variant's fields and says which variants take each).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
#[schemars(rename = "apex.ImageOp")]
pub enum Op {
    /// Copies a local file (or directory tree) to `to` in the image.
    Upload {
        /// A local file: the file or directory to upload, the tar or tar.gz
        /// to unpack, the unified diff to apply.
        from: PathBuf,
        /// Absolute destination in the image (for unpack: the directory,
        /// created when missing).
        to: String,
        /// Permission bits, e.g. 420 for 0644.
        mode: Option<u32>,
    },
    /// Writes `content` to `path`.
    Write {
        /// Absolute path in the image (for remove: a file or whole tree).
        path: String,
        /// File content.
        content: String,
        mode: Option<u32>,
    },
    /// Creates a directory and its parents.
    Mkdir { path: String, mode: Option<u32> },
    /// Creates (or replaces) a symlink `path -> target`, e.g. what `systemctl enable` does.
    Symlink {
        path: String,
        /// Symlink target.
        target: String,
    },
    /// Creates or resizes a file to `size` bytes without allocating (sparse).
    Truncate {
        path: String,
        /// Bytes or e.g. "10G".
        size: ByteSize,
    },
    /// Removes a file or a whole tree (symlinks themselves, never what they
    /// point to); nothing there is not an error (like `rm -rf`).
    Remove { path: String },
    /// Unpacks a local tar (or tar.gz) into the directory `to` (created when
    /// missing), with the archive checks of `unpack`: no entry escapes.
    Unpack { from: PathBuf, to: String },
    /// Applies a unified diff (a local file) in the directory `dir`, like
    /// `patch -p<strip>` run there (default 1); all files or none.
    Patch {
        from: PathBuf,
        /// Absolute directory in the image the diff applies in.
        dir: String,
        /// Leading path components stripped from the diff's paths (default 1, like patch -p1).
        strip: Option<usize>,
    },
    /// Runs a shell command inside the image (`/bin/sh -c`, chrooted, like
    /// virt-customize --run-command); killed with everything it started
    /// after `timeout` seconds (default 30 minutes).
    Run {
        /// Shell command run inside the image with /bin/sh -c, chrooted.
        command: String,
        /// Seconds a run may take before it is killed with all it started (default 1800).
        timeout: Option<u64>,
    },
}

impl Op {
    /// A short description for logs and errors.
    pub fn describe(&self) -> String {
        match self {
            Op::Upload { from, to, .. } => format!("upload {} -> {to}", from.display()),
            Op::Write { path, .. } => format!("write {path}"),
            Op::Mkdir { path, .. } => format!("mkdir {path}"),
            Op::Symlink { path, target } => format!("symlink {path} -> {target}"),
            Op::Truncate { path, size } => format!("truncate {path} to {} bytes", size.0),
            Op::Remove { path } => format!("remove {path}"),
            Op::Unpack { from, to } => format!("unpack {} into {to}", from.display()),
            Op::Patch { from, dir, .. } => format!("patch {} in {dir}", from.display()),
            Op::Run { command, .. } => format!("run `{command}`"),
        }
    }

    /// Checks paths before anything is touched.
    pub fn validate(&self) -> anyhow::Result<()> {
        match self {
            Op::Upload { from, to, .. } => {
                image_path(to)?;
                if !from.exists() {
                    bail!("upload source {} does not exist", from.display());
                }
            }
            Op::Write { path, .. }
            | Op::Mkdir { path, .. }
            | Op::Truncate { path, .. }
            | Op::Remove { path } => {
                image_path(path)?;
            }
            Op::Unpack { from, to } | Op::Patch { from, dir: to, .. } => {
                image_path(to)?;
                if !from.is_file() {
                    bail!("{} is not a file", from.display());
                }
            }
            Op::Symlink { path, target } => {
                image_path(path)?;
                if target.is_empty() {
                    bail!("symlink {path}: empty target");
                }
            }
            Op::Run { command, timeout } => {
                if command.trim().is_empty() {
                    bail!("run: empty command");
                }
                if *timeout == Some(0) {
                    bail!("run: timeout must be at least 1 second");
                }
            }
        }
        Ok(())
    }
}

/// An image path: absolute, no `..`, not the root itself. Returned relative.
pub(super) fn image_path(p: &str) -> anyhow::Result<PathBuf> {
    let path = Path::new(p);
    if !path.is_absolute() {
        bail!("image path {p:?} must be absolute");
    }
    let mut rel = PathBuf::new();
    for c in path.components() {
        match c {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(n) => rel.push(n),
            _ => bail!("image path {p:?} must not contain '..'"),
        }
    }
    if rel.as_os_str().is_empty() {
        bail!("image path {p:?} names the image root");
    }
    Ok(rel)
}

pub(super) const IN_ROOT: ResolveFlags = ResolveFlags::IN_ROOT.union(ResolveFlags::NO_MAGICLINKS);

/// Opens directory `rel` inside `root`, creating missing components (mode 0755).
pub(super) fn mkdir_p(root: &OwnedFd, rel: &Path) -> anyhow::Result<OwnedFd> {
    let mut dir = rustix::fs::openat2(
        root,
        ".",
        OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
        IN_ROOT,
    )?;
    for c in rel.components() {
        let name = c.as_os_str();
        let open = |d: &OwnedFd| {
            rustix::fs::openat2(
                d,
                name,
                OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
                Mode::empty(),
                IN_ROOT,
            )
        };
        dir = match open(&dir) {
            Ok(d) => d,
            Err(Errno::NOENT) => {
                match rustix::fs::mkdirat(&dir, name, Mode::from_raw_mode(0o755)) {
                    Ok(()) | Err(Errno::EXIST) => {}
                    Err(e) => bail!("cannot create directory {}: {e}", rel.display()),
                }
                open(&dir)?
            }
            Err(Errno::NOTDIR) => bail!("{} is not a directory in the image", rel.display()),
            Err(e) => bail!("cannot open {} in the image: {e}", rel.display()),
        };
    }
    Ok(dir)
}

/// The parent directory (created if needed) and the final name of `rel`.
fn parent_of<'p>(root: &OwnedFd, rel: &'p Path) -> anyhow::Result<(OwnedFd, &'p std::ffi::OsStr)> {
    let name = rel.file_name().context("path has no file name")?;
    let parent = rel.parent().unwrap_or(Path::new(""));
    Ok((mkdir_p(root, parent)?, name))
}

/// Opens directory `rel` inside `root` when it exists (never creating it).
fn open_dir(root: &OwnedFd, rel: &Path) -> anyhow::Result<Option<OwnedFd>> {
    let rel = if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    };
    match rustix::fs::openat2(
        root,
        rel,
        OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
        IN_ROOT,
    ) {
        Ok(d) => Ok(Some(d)),
        Err(Errno::NOENT | Errno::NOTDIR) => Ok(None),
        Err(e) => bail!("cannot open {} in the image: {e}", rel.display()),
    }
}

/// Removes `rel` (a file or a tree) when it is there.
pub(super) fn remove_tree_at(root: &OwnedFd, rel: &Path) -> anyhow::Result<()> {
    let name = rel.file_name().context("path has no file name")?;
    match open_dir(root, rel.parent().unwrap_or(Path::new("")))? {
        Some(dir) => remove_tree(&dir, name),
        None => Ok(()),
    }
}

/// Removes `name` in `dir`: a directory with everything below it (entered
/// without following symlinks), anything else by unlinking it.
fn remove_tree(dir: &OwnedFd, name: &std::ffi::OsStr) -> anyhow::Result<()> {
    let st = match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => st,
        Err(Errno::NOENT) => return Ok(()),
        Err(e) => bail!("cannot inspect {}: {e}", name.to_string_lossy()),
    };
    if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
        rustix::fs::unlinkat(dir, name, AtFlags::empty())
            .with_context(|| format!("cannot remove {}", name.to_string_lossy()))?;
        return Ok(());
    }
    let sub = rustix::fs::openat(
        dir,
        name,
        OFlags::DIRECTORY | OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("cannot open {}", name.to_string_lossy()))?;
    let mut names = Vec::new();
    for entry in rustix::fs::Dir::read_from(&sub)? {
        let entry = entry?;
        let n = entry.file_name().to_bytes();
        if n != b"." && n != b".." {
            names.push(
                <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(n).to_os_string(),
            );
        }
    }
    for n in names {
        remove_tree(&sub, &n)?;
    }
    rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR)
        .with_context(|| format!("cannot remove {}", name.to_string_lossy()))
}

/// Opens a regular file for writing, refusing to follow a final symlink.
fn create_file(dir: &OwnedFd, name: &std::ffi::OsStr, truncate: bool) -> anyhow::Result<File> {
    let mut flags = OFlags::WRONLY | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    if truncate {
        flags |= OFlags::TRUNC;
    }
    match rustix::fs::openat(dir, name, flags, Mode::from_raw_mode(0o644)) {
        Ok(fd) => Ok(File::from(fd)),
        Err(Errno::LOOP) => bail!(
            "{} is a symlink in the image; refusing to write through it",
            name.to_string_lossy()
        ),
        Err(e) => bail!("cannot create {}: {e}", name.to_string_lossy()),
    }
}

fn chmod(fd: impl AsFd, mode: Option<u32>) -> anyhow::Result<()> {
    if let Some(m) = mode {
        if m > 0o7777 {
            bail!("mode {m:#o} is not a permission mode (at most 0o7777, e.g. 420 for 0644)");
        }
        rustix::fs::fchmod(fd, Mode::from_raw_mode(m))?;
    }
    Ok(())
}

pub(super) fn write_file(
    root: &OwnedFd,
    rel: &Path,
    data: &mut dyn std::io::Read,
    mode: Option<u32>,
) -> anyhow::Result<()> {
    let (dir, name) = parent_of(root, rel)?;
    let mut f = create_file(&dir, name, true)?;
    std::io::copy(data, &mut f)?;
    f.flush()?;
    chmod(&f, mode)
}

/// Replaces whatever symlink is at `name`; refuses to replace anything else.
fn symlink(dir: &OwnedFd, name: &std::ffi::OsStr, target: &str) -> anyhow::Result<()> {
    match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Symlink => {
            rustix::fs::unlinkat(dir, name, AtFlags::empty())?;
        }
        Ok(_) => bail!("{} exists and is not a symlink", name.to_string_lossy()),
        Err(Errno::NOENT) => {}
        Err(e) => bail!("cannot inspect {}: {e}", name.to_string_lossy()),
    }
    rustix::fs::symlinkat(target, dir, name)?;
    Ok(())
}

/// Copies a local file or tree into the image at `rel`; the top gets `mode`.
fn upload(root: &OwnedFd, from: &Path, rel: &Path, mode: Option<u32>) -> anyhow::Result<()> {
    let meta = std::fs::symlink_metadata(from)
        .with_context(|| format!("cannot read {}", from.display()))?;
    let perm =
        |m: &std::fs::Metadata| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o7777;
    if meta.file_type().is_symlink() {
        let (dir, name) = parent_of(root, rel)?;
        let target = std::fs::read_link(from)?;
        return symlink(&dir, name, &target.to_string_lossy());
    }
    if meta.is_dir() {
        let dir = mkdir_p(root, rel)?;
        chmod(&dir, Some(mode.unwrap_or(perm(&meta))))?;
        let mut entries: Vec<_> = std::fs::read_dir(from)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            upload(root, &e.path(), &rel.join(e.file_name()), None)?;
        }
        return Ok(());
    }
    let mut src = File::open(from).with_context(|| format!("cannot read {}", from.display()))?;
    write_file(root, rel, &mut src, Some(mode.unwrap_or(perm(&meta))))
}

/// Applies one file operation inside the filesystem mounted at `root_dir`.
pub fn apply_file_op(root_dir: &Path, op: &Op) -> anyhow::Result<()> {
    let root = rustix::fs::open(
        root_dir,
        OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    match op {
        Op::Upload { from, to, mode } => upload(&root, from, &image_path(to)?, *mode),
        Op::Write {
            path,
            content,
            mode,
        } => write_file(&root, &image_path(path)?, &mut content.as_bytes(), *mode),
        Op::Mkdir { path, mode } => chmod(mkdir_p(&root, &image_path(path)?)?, *mode),
        Op::Symlink { path, target } => {
            let rel = image_path(path)?;
            let (dir, name) = parent_of(&root, &rel)?;
            symlink(&dir, name, target)
        }
        Op::Truncate { path, size } => {
            let rel = image_path(path)?;
            let (dir, name) = parent_of(&root, &rel)?;
            let f = create_file(&dir, name, false)?;
            rustix::fs::ftruncate(&f, size.0)?;
            Ok(())
        }
        Op::Remove { path } => remove_tree_at(&root, &image_path(path)?),
        Op::Unpack { from, to } => {
            let rel = image_path(to)?;
            // Unpacked (and checked) outside the image first, then copied in
            // through the root like an upload.
            let stage = tempfile::Builder::new()
                .prefix("apex-image-unpack-")
                .tempdir()?;
            let tree = stage.path().join("tree");
            crate::archive::unpack(from, &tree)?;
            mkdir_p(&root, &rel)?;
            let mut entries: Vec<_> = std::fs::read_dir(&tree)?.collect::<Result<_, _>>()?;
            entries.sort_by_key(|e| e.file_name());
            for e in entries {
                upload(&root, &e.path(), &rel.join(e.file_name()), None)?;
            }
            Ok(())
        }
        Op::Patch { from, dir, strip } => {
            super::patch::apply(&root, from, &image_path(dir)?, strip.unwrap_or(1))
        }
        Op::Run { .. } => bail!("`run` is not a file operation"),
    }
    .with_context(|| op.describe())
}
