//! One deploy per tmp dir at a time: two runs writing the same state file,
//! Dockerfiles and archive would leave a mix of both. The lock is an flock on
//! `<tmp>/.apex.lock` (released by the kernel when the process ends, even
//! killed), holding the owner's PID for the error message.

use std::fs::File;
use std::io::{Read as _, Seek as _, Write as _};
use std::path::Path;

use anyhow::{Context as _, bail};

/// Held for the whole run; dropping it releases the lock.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

/// Who holds the lock of `tmp_dir` now (`apex (pid N)`), without taking it
/// for longer than the look: None when no deploy runs there.
pub fn holder(tmp_dir: &Path) -> anyhow::Result<Option<String>> {
    let path = tmp_dir.join(".apex.lock");
    let mut file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot open {}", path.display())),
    };
    match file.try_lock() {
        Ok(()) => Ok(None),
        Err(std::fs::TryLockError::WouldBlock) => Ok(Some(owner(&mut file))),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
}

/// The holder as the lock file names it.
fn owner(file: &mut File) -> String {
    let mut owner = String::new();
    let _ = file.read_to_string(&mut owner);
    match owner.trim() {
        "" => String::from("another apex"),
        pid => format!("apex (pid {pid})"),
    }
}

/// Takes the lock of `tmp_dir` (created when missing), or fails at once
/// naming the process that holds it.
///
/// The tmp dir must be the invoking user's own and writable by no one else
/// (see [`crate::fsutil::check_private_dir`]): files planted there by
/// another user (a symlink named `apex.log` or `nics`) would otherwise be
/// written through. It is made 0755 when missing, its parents too.
pub fn lock(tmp_dir: &Path) -> anyhow::Result<RunLock> {
    use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
    crate::fsutil::check_private_dir(tmp_dir, "tmp dir")?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(tmp_dir)
        .with_context(|| format!("cannot create the tmp dir {}", tmp_dir.display()))?;
    // Checked again once it exists: made just now, or there all along.
    crate::fsutil::check_private_dir(tmp_dir, "tmp dir")?;
    let path = tmp_dir.join(".apex.lock");
    let mut file = File::options()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let who = owner(&mut file);
            bail!(
                "{who} is already running with the tmp dir {}; wait for it to finish or give another --tmp-dir",
                tmp_dir.display()
            );
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("cannot lock {}", path.display()));
        }
    }
    file.set_len(0)?;
    file.rewind()?;
    write!(file, "{}", std::process::id())?;
    Ok(RunLock { _file: file })
}

/// Where a claimed tmp dir's run logs.
#[derive(Debug, Clone, Copy)]
pub enum Log<'a> {
    /// No log file (the lines stay in memory).
    None,
    /// Appended to this file (`--log-file`).
    Append(&'a Path),
    /// The run's own log in the tmp dir ([`crate::logging::attach_run_log`]).
    PerRun,
}

/// Claims `tmp_dir` for the rest of this process: takes its lock (kept until
/// the process exits), starts the log file and cleans what a killed
/// run left (see [`crate::leftovers`]). A deploy calls it only
/// after every input validated, so bad input leaves nothing on disk.
/// Returns the log file started, if any.
pub fn claim(tmp_dir: &Path, log: Log<'_>) -> anyhow::Result<Option<std::path::PathBuf>> {
    static HELD: std::sync::Mutex<Vec<(std::path::PathBuf, RunLock)>> =
        std::sync::Mutex::new(Vec::new());
    let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
    let first = !held.iter().any(|(d, _)| d == tmp_dir);
    if first {
        let lock = lock(tmp_dir)?;
        held.push((tmp_dir.to_path_buf(), lock));
        crate::fsutil::guard_dir(&std::path::absolute(tmp_dir)?);
    }
    let started = match log {
        Log::None => None,
        Log::Append(file) => {
            crate::logging::attach_file(file)?;
            Some(file.to_path_buf())
        }
        Log::PerRun => Some(crate::logging::attach_run_log(tmp_dir)?),
    };
    if first {
        // Ours now: what a killed run left here is no one's any more.
        crate::leftovers::clean(tmp_dir)?;
    }
    Ok(started)
}
