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
    create_dir_all(dir)?;
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

/// Directories this process claimed (a deploy's tmp dir): below them no
/// symlink is followed when writing, since apex makes none there itself.
fn guarded() -> &'static std::sync::Mutex<Vec<std::path::PathBuf>> {
    static GUARDED: std::sync::Mutex<Vec<std::path::PathBuf>> = std::sync::Mutex::new(Vec::new());
    &GUARDED
}

/// Marks `root` as apex's own: [`create_dir_all`] and [`write_atomic`] refuse
/// to go through a symlink below it (one planted there, not made by apex).
pub fn guard_dir(root: &Path) {
    let mut g = guarded().lock().unwrap_or_else(|e| e.into_inner());
    if !g.iter().any(|d| d == root) {
        g.push(root.to_path_buf());
    }
}

/// Creates `dir` and its parents. Below a directory given to [`guard_dir`]
/// every component is checked without following it: a symlink (or a file)
/// there is an error naming it, so a write never lands outside the tmp dir.
pub fn create_dir_all(dir: &Path) -> anyhow::Result<()> {
    let abs =
        std::path::absolute(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let root = {
        let g = guarded().lock().unwrap_or_else(|e| e.into_inner());
        g.iter().find(|r| abs.starts_with(r)).cloned()
    };
    let Some(root) = root else {
        return std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create {}", dir.display()));
    };
    let rel = abs.strip_prefix(&root).unwrap_or(Path::new(""));
    let mut at = root.clone();
    for part in std::iter::once(None).chain(rel.components().map(Some)) {
        if let Some(part) = part {
            if !matches!(part, std::path::Component::Normal(_)) {
                anyhow::bail!(
                    "refusing to create {}: '..' below {}",
                    dir.display(),
                    root.display()
                );
            }
            at.push(part);
        }
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => anyhow::bail!(
                "refusing to write through {}: a symlink apex did not create (remove it)",
                at.display()
            ),
            Ok(m) if m.is_dir() => {}
            Ok(_) => anyhow::bail!(
                "cannot create {}: {} is not a directory",
                dir.display(),
                at.display()
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => match std::fs::create_dir(&at) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && at.is_dir() => {}
                Err(e) => return Err(e).with_context(|| format!("cannot create {}", at.display())),
            },
            Err(e) => return Err(e).with_context(|| format!("cannot inspect {}", at.display())),
        }
    }
    Ok(())
}

/// Refuses, before anything is written, a symlink (or a non-directory)
/// where a directory on the way to one of `files` (paths relative to
/// `root`) is: apex makes no symlinks there, so one was planted, and
/// [`create_dir_all`] would refuse it anyway, but only after the files
/// before it were written. Missing directories are fine (apex makes them).
pub fn check_no_planted_links(root: &Path, files: &[String]) -> anyhow::Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    for rel in files {
        let rel = Path::new(rel);
        let mut at = root.to_path_buf();
        let parts: Vec<_> = rel.components().collect();
        for part in parts.iter().take(parts.len().saturating_sub(1)) {
            let std::path::Component::Normal(p) = part else {
                anyhow::bail!(
                    "refusing to write {}: not a plain path below {}",
                    rel.display(),
                    root.display()
                );
            };
            at.push(p);
            if !seen.insert(at.clone()) {
                continue;
            }
            match std::fs::symlink_metadata(&at) {
                Ok(m) if m.file_type().is_symlink() => anyhow::bail!(
                    "refusing to write through {}: a symlink apex did not create (remove it)",
                    at.display()
                ),
                Ok(m) if !m.is_dir() => anyhow::bail!(
                    "cannot write {}: {} is not a directory (remove it)",
                    root.join(rel).display(),
                    at.display()
                ),
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot inspect {}", at.display()));
                }
            }
        }
    }
    Ok(())
}

/// Refuses a directory other users could change under apex: it must be a
/// real directory (not a symlink) owned by the invoking user and writable by
/// no one else; each existing ancestor must be owned by root or this user
/// and, when others may write it, sticky (as /tmp). A missing `dir` is
/// judged by its ancestors only.
pub fn check_private_dir(dir: &Path, what: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::MetadataExt as _;
    let me = rustix::process::geteuid().as_raw();
    let abs = std::path::absolute(dir).with_context(|| format!("{what} {}", dir.display()))?;
    match std::fs::symlink_metadata(&abs) {
        Ok(m) if m.file_type().is_symlink() => anyhow::bail!(
            "{what} {} is a symlink; give the real directory (apex never writes through a symlink it did not create)",
            dir.display()
        ),
        Ok(m) if !m.is_dir() => anyhow::bail!("{what} {} is not a directory", dir.display()),
        Ok(m) => {
            if m.uid() != me {
                anyhow::bail!(
                    "{what} {} is owned by uid {}, not by the invoking user (uid {me}); give a directory of your own",
                    dir.display(),
                    m.uid()
                );
            }
            if m.mode() & 0o022 != 0 {
                anyhow::bail!(
                    "{what} {} is writable by others (mode {:o}); `chmod go-w` it or give another directory",
                    dir.display(),
                    m.mode() & 0o7777
                );
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(e).with_context(|| format!("cannot inspect {what} {}", dir.display()));
        }
    }
    let mut parent = abs.parent();
    while let Some(p) = parent {
        match std::fs::metadata(p) {
            Ok(m) => {
                if m.uid() != 0 && m.uid() != me {
                    anyhow::bail!(
                        "{what} {}: its parent {} is owned by uid {}, who could replace it; give a directory under one of your own",
                        dir.display(),
                        p.display(),
                        m.uid()
                    );
                }
                if m.mode() & 0o022 != 0 && m.mode() & 0o1000 == 0 {
                    anyhow::bail!(
                        "{what} {}: its parent {} is writable by others and not sticky (mode {:o}); give another directory",
                        dir.display(),
                        p.display(),
                        m.mode() & 0o7777
                    );
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot inspect {}", p.display())),
        }
        parent = p.parent();
    }
    Ok(())
}

/// The most a settings file (YAML, JSON, a patch, a scenario) may hold: far
/// above any real one, low enough that `/dev/zero` or a runaway file is an
/// error at once instead of filling memory.
pub const MAX_SETTINGS_BYTES: u64 = 8 << 20;

/// Reads a file given as input: only a regular file (a FIFO, a device or a
/// socket is refused before anything blocks on it: opened non-blocking, then
/// checked), and at most `cap` bytes (more is an error naming the limit).
pub fn read_regular(path: &Path, cap: u64) -> anyhow::Result<Vec<u8>> {
    use std::io::Read as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let meta = file
        .metadata()
        .with_context(|| format!("cannot read {}", path.display()))?;
    if !meta.is_file() {
        anyhow::bail!(
            "{}: not a regular file (a FIFO, device or directory); give the file itself",
            path.display()
        );
    }
    if meta.len() > cap {
        anyhow::bail!(
            "{}: {} bytes, above the limit of {} MiB for a settings file",
            path.display(),
            meta.len(),
            cap >> 20
        );
    }
    let mut data = Vec::with_capacity(meta.len() as usize);
    file.take(cap + 1)
        .read_to_end(&mut data)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if data.len() as u64 > cap {
        anyhow::bail!(
            "{}: grew above the limit of {} MiB for a settings file while read",
            path.display(),
            cap >> 20
        );
    }
    Ok(data)
}

/// [`read_regular`] as UTF-8 text, with the settings cap.
pub fn read_settings_text(path: &Path) -> anyhow::Result<String> {
    let data = read_regular(path, MAX_SETTINGS_BYTES)?;
    String::from_utf8(data).map_err(|_| anyhow::anyhow!("{}: not UTF-8 text", path.display()))
}
