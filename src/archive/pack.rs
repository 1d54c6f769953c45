//! `archive`: a reproducible tar.gz of a directory. Entries are sorted by
//! name, owners are 0/0 with no names, mtimes are one fixed value, modes are
//! normalised (0755 dirs and executables, 0644 other files) and the gzip
//! header carries no time or name, so the same tree gives the same bytes on
//! any machine and any run (the patch archive's checksum means something).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;
use sha2::Digest as _;

/// What `archive` wrote.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct ArchiveOutcome {
    pub path: PathBuf,
    /// SHA-256 (hex) of the archive file.
    pub sha256: String,
    pub size: u64,
    /// Entries archived (files, directories, symlinks).
    pub entries: u64,
}

/// The mtime written for every entry unless the caller gives one
/// (2000-01-01T00:00:00Z: a date tools do not treat as "unset").
pub const DEFAULT_MTIME: u64 = 946_684_800;

/// Writes a tar.gz of the contents of `src` (paths relative to `src`) to
/// `dest` atomically. Only files, directories and symlinks are allowed.
pub fn archive(src: &Path, dest: &Path, mtime: Option<u64>) -> anyhow::Result<ArchiveOutcome> {
    archive_tree(src, dest, mtime, false)
}

/// [`archive`], or with `include_dir` the directory itself as the top entry
/// (`containers/<image>/Dockerfile`, as `tar -C parent containers` makes
/// it), so unpacking in a directory gives that directory there.
pub fn archive_tree(
    src: &Path,
    dest: &Path,
    mtime: Option<u64>,
    include_dir: bool,
) -> anyhow::Result<ArchiveOutcome> {
    if !src.is_dir() {
        anyhow::bail!("{} is not a directory", src.display());
    }
    let dir = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = tempfile::Builder::new()
        .prefix(".apex-archive-")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temp file in {}", dir.display()))?;
    let hashing = HashingWriter {
        inner: std::io::BufWriter::new(tmp.as_file().try_clone()?),
        hash: sha2::Sha256::new(),
        size: 0,
    };
    let gz = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(hashing, flate2::Compression::default());
    let mut builder = tar::Builder::new(gz);
    builder.follow_symlinks(false);
    let mut entries = 0u64;
    let mtime = mtime.unwrap_or(DEFAULT_MTIME);
    match src.file_name().filter(|_| include_dir) {
        Some(name) => {
            let top = Path::new(name);
            let mut h = header(tar::EntryType::Directory, 0o755, 0, mtime);
            builder.append_data(&mut h, top, std::io::empty())?;
            entries += 1;
            let parent = src.parent().unwrap_or(Path::new("."));
            append_dir(&mut builder, parent, top, mtime, &mut entries)?;
        }
        None => append_dir(&mut builder, src, Path::new(""), mtime, &mut entries)?,
    }
    let gz = builder
        .into_inner()
        .context("cannot finish the tar stream")?;
    let mut hashing = gz.finish().context("cannot finish the gzip stream")?;
    hashing.inner.flush()?;
    let (sha256, size) = (hex::encode(hashing.hash.finalize()), hashing.size);
    tmp.as_file().sync_data()?;
    tmp.persist(dest)
        .with_context(|| format!("cannot write {}", dest.display()))?;
    Ok(ArchiveOutcome {
        path: dest.to_path_buf(),
        sha256,
        size,
        entries,
    })
}

fn header(kind: tar::EntryType, mode: u32, size: u64, mtime: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_mtime(mtime);
    h.set_uid(0);
    h.set_gid(0);
    h
}

fn append_dir<W: Write>(
    b: &mut tar::Builder<W>,
    root: &Path,
    rel: &Path,
    mtime: u64,
    count: &mut u64,
) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = root.join(rel);
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()?;
    names.sort_by(|a, b| a.as_encoded_bytes().cmp(b.as_encoded_bytes()));
    for name in names {
        let rel = rel.join(&name);
        let path = root.join(&rel);
        let meta = std::fs::symlink_metadata(&path)
            .with_context(|| format!("cannot stat {}", path.display()))?;
        let ft = meta.file_type();
        if ft.is_dir() {
            let mut h = header(tar::EntryType::Directory, 0o755, 0, mtime);
            b.append_data(&mut h, &rel, std::io::empty())?;
            append_dir(b, root, &rel, mtime, count)?;
        } else if ft.is_file() {
            let mode = if meta.permissions().mode() & 0o111 != 0 {
                0o755
            } else {
                0o644
            };
            let mut h = header(tar::EntryType::Regular, mode, meta.len(), mtime);
            let f = File::open(&path).with_context(|| format!("cannot read {}", path.display()))?;
            b.append_data(&mut h, &rel, f)
                .with_context(|| format!("cannot archive {}", path.display()))?;
        } else if ft.is_symlink() {
            let target = std::fs::read_link(&path)?;
            let mut h = header(tar::EntryType::Symlink, 0o777, 0, mtime);
            b.append_link(&mut h, &rel, &target)?;
        } else {
            anyhow::bail!(
                "{} is neither a file, a directory nor a symlink",
                path.display()
            );
        }
        *count += 1;
    }
    Ok(())
}

/// Counts and hashes what goes to the file, so the checksum needs no re-read.
struct HashingWriter<W> {
    inner: W,
    hash: sha2::Sha256,
    size: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
