//! Attaching and detaching loop devices, and finding the device that
//! already serves a backing file (sysfs `loop/backing_file`).

use std::fs::{File, OpenOptions};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context as _, bail};
use rustix::io::Errno;

use super::ioctl;

const LOOP_CONTROL: &str = "/dev/loop-control";
const SYS_BLOCK: &str = "/sys/block";

/// Serializes find-or-attach in this process so two callers asking for the
/// same backing file get the same device instead of two.
static ATTACH_LOCK: Mutex<()> = Mutex::new(());

/// What create_loop_device did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[schemars(rename = "apex.LoopDevice")]
pub struct LoopDevice {
    /// `/dev/loopN`.
    pub device: PathBuf,
    /// The backing file, canonical.
    pub file: PathBuf,
    /// The size of the backing file in bytes.
    pub size: u64,
    /// True when the file was already attached and that device is returned.
    pub reused: bool,
    /// True when the backing file was created by this call.
    pub created_file: bool,
}

/// Turns an errno from the loop driver into a message an operator can act on.
fn explain(errno: Errno, what: &str) -> anyhow::Error {
    match errno {
        Errno::PERM | Errno::ACCESS => {
            anyhow::anyhow!("{what}: permission denied (loop devices need root or CAP_SYS_ADMIN)")
        }
        Errno::NOENT | Errno::NODEV | Errno::NXIO => {
            anyhow::anyhow!(
                "{what}: no loop device support ({errno}); load the `loop` kernel module"
            )
        }
        e => anyhow::anyhow!("{what}: {e}"),
    }
}

fn open_rw(path: &Path) -> anyhow::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| {
            explain(
                Errno::from_io_error(&e).unwrap_or(Errno::IO),
                &format!("cannot open {}", path.display()),
            )
        })
}

fn loop_control() -> anyhow::Result<File> {
    if !Path::new(LOOP_CONTROL).exists() {
        bail!("no loop device support: {LOOP_CONTROL} is missing (load the `loop` kernel module)");
    }
    open_rw(Path::new(LOOP_CONTROL))
}

/// The number in `/dev/loopN`.
fn device_number(device: &Path) -> anyhow::Result<u32> {
    device
        .to_str()
        .and_then(|s| s.strip_prefix("/dev/loop"))
        .and_then(|n| n.parse().ok())
        .with_context(|| {
            format!(
                "{} is not a loop device path (expected /dev/loopN)",
                device.display()
            )
        })
}

fn sys_dir(n: u32) -> PathBuf {
    Path::new(SYS_BLOCK).join(format!("loop{n}"))
}

/// The backing file of `/dev/loopN` as sysfs reports it, `None` when unbound.
pub fn backing_file(n: u32) -> Option<PathBuf> {
    let raw = std::fs::read_to_string(sys_dir(n).join("loop/backing_file")).ok()?;
    let raw = raw.trim_end_matches('\n');
    (!raw.is_empty()).then(|| PathBuf::from(raw))
}

/// The size of `/dev/loopN` in bytes, from sysfs (512-byte sectors).
pub fn device_size(n: u32) -> Option<u64> {
    let s = std::fs::read_to_string(sys_dir(n).join("size")).ok()?;
    s.trim().parse::<u64>().ok().map(|sectors| sectors * 512)
}

/// The loop device currently serving `file` (canonical path), if any.
pub fn find_attached(file: &Path) -> anyhow::Result<Option<PathBuf>> {
    let file = std::fs::canonicalize(file)
        .with_context(|| format!("cannot resolve {}", file.display()))?;
    let Ok(entries) = std::fs::read_dir(SYS_BLOCK) else {
        return Ok(None);
    };
    let mut found: Vec<u32> = entries
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .to_str()?
                .strip_prefix("loop")?
                .parse()
                .ok()
        })
        .filter(|n| backing_file(*n).as_deref() == Some(file.as_path()))
        .collect();
    found.sort();
    Ok(found
        .first()
        .map(|n| PathBuf::from(format!("/dev/loop{n}"))))
}

/// Creates `file` as a sparse file of `size` bytes, or checks an existing one:
/// a smaller file grows (sparse), a larger one is an error (shrinking would
/// drop data). Returns whether the file was created. Nothing is left (no
/// empty file, no new directory) when it fails.
pub fn ensure_sparse_file(file: &Path, size: u64) -> anyhow::Result<bool> {
    if size == 0 {
        bail!("size of {} must be greater than 0", file.display());
    }
    let old_len = match std::fs::metadata(file) {
        Ok(m) => Some(m.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", file.display())),
    };
    if let Some(current) = old_len.filter(|l| *l > size) {
        bail!(
            "backing file {} is {current} bytes, larger than the requested {size}; refusing to shrink it",
            file.display()
        );
    }
    make_file(file, size, old_len)?.keep();
    Ok(old_len.is_none())
}

/// Binds `backing` to `/dev/loopN` with `flags`, retrying on a free device
/// another process grabbed first (EBUSY). With `wanted`, only that device.
fn bind(
    backing: &File,
    wanted: Option<u32>,
    flags: u32,
    range: Option<(u64, u64)>,
) -> anyhow::Result<(u32, File)> {
    let ctl = loop_control()?;
    for _ in 0..32 {
        let n = match wanted {
            Some(n) => {
                match ioctl::ctl_add(&ctl, n) {
                    Ok(()) | Err(Errno::EXIST) => {}
                    Err(e) => return Err(explain(e, &format!("cannot create /dev/loop{n}"))),
                }
                n
            }
            None => ioctl::ctl_get_free(&ctl)
                .map_err(|e| explain(e, "cannot find a free loop device"))?,
        };
        let path = PathBuf::from(format!("/dev/loop{n}"));
        let dev = open_rw(&path)?;
        let mut config = ioctl::config_for(backing.as_raw_fd() as u32, flags);
        if let Some((offset, size)) = range {
            config.info.lo_offset = offset;
            config.info.lo_sizelimit = size;
        }
        match ioctl::configure(&dev, config) {
            Ok(()) => return Ok((n, dev)),
            Err(Errno::BUSY) if wanted.is_none() => continue,
            Err(Errno::BUSY) => bail!(
                "{} is busy (attached to {})",
                path.display(),
                backing_file(n).map_or("another file".into(), |p| p.display().to_string())
            ),
            Err(e) => return Err(explain(e, &format!("cannot attach {}", path.display()))),
        }
    }
    bail!("no free loop device after 32 attempts (every free device was taken concurrently)")
}

/// The largest backing file `create_loop_device` makes: 16 TiB, about what
/// ext4 allows a file, and far beyond any lab's Ceph OSD.
pub const MAX_SIZE: u64 = 16 << 40;

/// A loop device has whole 512-byte sectors: a size that is not a positive
/// multiple of 512 (or is beyond [`MAX_SIZE`]) is refused before anything changes.
pub fn check_size(file: &Path, size: u64) -> anyhow::Result<()> {
    if size == 0 || !size.is_multiple_of(512) {
        bail!(
            "size of {} must be a positive multiple of 512 bytes (a loop device has whole 512-byte sectors), got {size}",
            file.display()
        );
    }
    if size > MAX_SIZE {
        bail!(
            "size of {} must be at most {MAX_SIZE} bytes (16T), got {size}",
            file.display()
        );
    }
    Ok(())
}

/// What was done to the backing file, undone when a later step fails.
struct FileChange<'a> {
    file: &'a Path,
    /// Directories created for it, outermost first.
    dirs: Vec<PathBuf>,
    /// The length it had, `None` when it was created.
    old_len: Option<u64>,
    done: bool,
}

impl FileChange<'_> {
    fn keep(mut self) {
        self.done = true;
    }
}

impl Drop for FileChange<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        match self.old_len {
            None => {
                let _ = std::fs::remove_file(self.file);
            }
            Some(len) => {
                let _ = OpenOptions::new()
                    .write(true)
                    .open(self.file)
                    .and_then(|f| f.set_len(len));
            }
        }
        for d in self.dirs.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
    }
}

/// Creates `file` sparse with `size` bytes, or grows a smaller one; undone on drop unless kept.
fn make_file(file: &Path, size: u64, old_len: Option<u64>) -> anyhow::Result<FileChange<'_>> {
    let mut change = FileChange {
        file,
        dirs: Vec::new(),
        old_len,
        done: false,
    };
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        let mut missing: Vec<PathBuf> = dir
            .ancestors()
            .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
            .map(Path::to_path_buf)
            .collect();
        missing.reverse();
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        change.dirs = missing;
    }
    let f = OpenOptions::new()
        .write(true)
        .create(old_len.is_none())
        .truncate(false)
        .open(file)
        .with_context(|| format!("cannot open backing file {}", file.display()))?;
    if old_len != Some(size) {
        f.set_len(size)
            .with_context(|| format!("cannot size {} to {size} bytes", file.display()))?;
    }
    Ok(change)
}

/// Creates (or reuses) a sparse backing file of `size` bytes and attaches it
/// persistently (no autoclear), returning `/dev/loopN`. When the file is
/// already attached, that device is returned; with `device`, exactly that
/// device is used (Ceph settings name it, e.g. `/dev/loop3`). Everything that
/// can be checked is checked before the file is touched (the size, an
/// existing file's size and attachment, whether the wanted device is free);
/// a failure after that removes a created file (and its new directories) or
/// gives a grown one back its length.
pub fn create_loop_device(
    file: &Path,
    size: u64,
    device: Option<&Path>,
) -> anyhow::Result<LoopDevice> {
    check_size(file, size)?;
    let wanted = device.map(device_number).transpose()?;
    let _guard = ATTACH_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let old_len = match std::fs::metadata(file) {
        Ok(m) if m.is_file() => Some(m.len()),
        Ok(_) => bail!("backing file {} is not a regular file", file.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", file.display())),
    };
    if let Some(current) = old_len {
        if current > size {
            bail!(
                "backing file {} is {current} bytes, larger than the requested {size}; refusing to shrink it",
                file.display()
            );
        }
        let canonical = std::fs::canonicalize(file)?;
        if let Some(existing) = find_attached(&canonical)? {
            let n = device_number(&existing)?;
            if let Some(w) = wanted.filter(|w| *w != n) {
                bail!(
                    "{} is already attached to {}, not to the requested /dev/loop{w}",
                    canonical.display(),
                    existing.display()
                );
            }
            if let Some(dev_size) = device_size(n).filter(|s| *s != size) {
                bail!(
                    "{} is attached to {} with {dev_size} bytes, not the requested {size}",
                    canonical.display(),
                    existing.display()
                );
            }
            if current != size {
                bail!(
                    "{} is attached to {} but is {current} bytes, not the requested {size}",
                    canonical.display(),
                    existing.display()
                );
            }
            tracing::info!(device = %existing.display(), file = %canonical.display(), "loop device reused");
            return Ok(LoopDevice {
                device: existing,
                file: canonical,
                size,
                reused: true,
                created_file: false,
            });
        }
    }
    if let Some(n) = wanted
        && let Some(other) = backing_file(n)
    {
        bail!("/dev/loop{n} is busy (attached to {})", other.display());
    }
    let change = make_file(file, size, old_len)?;
    let canonical = std::fs::canonicalize(file)?;
    let backing = open_rw(&canonical)?;
    let (n, _dev) = bind(&backing, wanted, 0, None)?;
    change.keep();
    let device = PathBuf::from(format!("/dev/loop{n}"));
    tracing::info!(device = %device.display(), file = %canonical.display(), size, "loop device attached");
    Ok(LoopDevice {
        device,
        file: canonical,
        size,
        reused: false,
        created_file: old_len.is_none(),
    })
}

/// Detaches `/dev/loopN`. Returns false when it was not attached; a device
/// that does not exist is an error saying so.
pub fn detach_loop_device(device: &Path) -> anyhow::Result<bool> {
    let n = device_number(device)?;
    let missing = || {
        if Path::new(LOOP_CONTROL).exists() {
            anyhow::anyhow!(
                "cannot detach {}: the device does not exist",
                device.display()
            )
        } else {
            anyhow::anyhow!(
                "cannot detach {}: no loop device support ({LOOP_CONTROL} is missing; load the `loop` kernel module)",
                device.display()
            )
        }
    };
    let dev = match OpenOptions::new().read(true).write(true).open(device) {
        Ok(f) => f,
        Err(e) => {
            return Err(match Errno::from_io_error(&e) {
                Some(Errno::NOENT | Errno::NXIO | Errno::NODEV) => missing(),
                other => explain(
                    other.unwrap_or(Errno::IO),
                    &format!("cannot open {}", device.display()),
                ),
            });
        }
    };
    match ioctl::clear_fd(&dev) {
        Ok(()) => {
            tracing::info!(device = %device.display(), "loop device detached");
            Ok(true)
        }
        Err(Errno::NXIO) => Ok(false),
        Err(e) => Err(explain(
            e,
            &format!("cannot detach {} (loop{n})", device.display()),
        )),
    }
}

/// A loop device attached for the length of a job (image editing): it is
/// detached on drop, and set to autoclear so a crash cannot leak it either.
#[derive(Debug)]
pub struct TempLoop {
    device: PathBuf,
    number: u32,
    fd: Option<OwnedFd>,
}

impl TempLoop {
    /// Attaches `file`, or with `range` (offset, length in bytes) only that
    /// part of it, e.g. one partition of a disk image.
    pub fn attach(file: &Path, range: Option<(u64, u64)>) -> anyhow::Result<Self> {
        let backing = open_rw(file)?;
        let (number, dev) = {
            let _guard = ATTACH_LOCK.lock().unwrap_or_else(|p| p.into_inner());
            bind(&backing, None, ioctl::FLAG_AUTOCLEAR, range)?
        };
        let device = PathBuf::from(format!("/dev/loop{number}"));
        tracing::debug!(device = %device.display(), file = %file.display(), "temporary loop device attached");
        Ok(Self {
            device,
            number,
            fd: Some(dev.into()),
        })
    }

    pub fn device(&self) -> &Path {
        &self.device
    }

    pub fn number(&self) -> u32 {
        self.number
    }

    /// Detaches now and reports failure (drop only logs it).
    pub fn detach(mut self) -> anyhow::Result<()> {
        self.release()
    }

    fn release(&mut self) -> anyhow::Result<()> {
        let Some(fd) = self.fd.take() else {
            return Ok(());
        };
        let res = match ioctl::clear_fd(fd.as_fd()) {
            Ok(()) | Err(Errno::NXIO) => Ok(()),
            Err(e) => Err(explain(
                e,
                &format!("cannot detach {}", self.device.display()),
            )),
        };
        drop(fd);
        // The kernel lets go of the backing file when the last user closed
        // the device, a moment after the clear: wait for it (briefly), so a
        // released device is really free when this returns.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while res.is_ok()
            && backing_file(self.number).is_some()
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        res
    }
}

impl Drop for TempLoop {
    fn drop(&mut self) {
        if let Err(e) = self.release() {
            tracing::warn!("{e:#}");
        }
    }
}
