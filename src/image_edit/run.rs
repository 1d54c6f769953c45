//! Running a shell command inside a mounted image (the `run` operation),
//! without libguestfs: chroot into the image's root with the host's `/proc`,
//! `/sys`, `/dev` and `/dev/pts` bound in, a minimal environment, stdin
//! closed, the output logged line by line.
//!
//! How the host is kept out of reach and everything is undone:
//! - The bind targets are opened inside the image with `RESOLVE_IN_ROOT`, so an
//!   image whose `/proc` is a symlink cannot make apex mount over a host path
//!   (a missing target directory is created in the image, as it would be there).
//!   All four are bound read-only: device nodes still open and work (a pty
//!   can be allocated through `/dev/ptmx`), but nothing of the host's
//!   `/dev`, procfs or sysfs can be created, removed, chmod'ed or written.
//! - The host's `/etc/resolv.conf` is copied in only when the image has none,
//!   and removed afterwards (unless the command replaced it).
//! - Cleanup ([`RunEnv::release`], also run on drop, hence on error and panic)
//!   kills every process still running inside the image (found by their
//!   root directory), then unmounts every mount below the image root as
//!   listed in `/proc/self/mountinfo` (the binds and whatever the command
//!   mounted) in reverse order, lazily detaching one that stays busy.
//!
//! The command runs through `std::process::Command` with a `pre_exec` hook
//! that calls `chroot` and `chdir("/")` (rather than the coreutils `chroot`
//! binary): no dependency on a host program or its PATH lookup, `/bin/sh` is
//! resolved inside the image by the `execve` itself, and the hook only makes
//! raw syscalls on pre-built C strings (nothing allocates after `fork`). The
//! command is the leader of its own process group, which a timeout kills as
//! a whole.

use std::collections::VecDeque;
use std::ffi::CString;
use std::io::{BufRead as _, BufReader, Write as _};
use std::os::fd::{AsRawFd as _, OwnedFd};
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;
use rustix::mount::{MountFlags, UnmountFlags};
use rustix::process::{Pid, Signal};

use super::ops::{IN_ROOT, mkdir_p};

/// How long a `run` operation may take unless it says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// The command's whole environment besides HOME and LANG.
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// How long a command stopped by SIGINT/SIGTERM gets between TERM and KILL.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// Lines of output an error quotes.
const TAIL_LINES: usize = 20;
/// Where the command's output goes in the log.
const OUTPUT_TARGET: &str = "apex::image_edit::output";

/// A host filesystem bound into the image for a run.
struct Bind {
    source: &'static str,
    /// Relative to the image root.
    target: &'static str,
    /// Flags besides RDONLY of the read-only remount.
    flags: MountFlags,
}

const NO_DEV_SUID_EXEC: MountFlags = MountFlags::NOSUID
    .union(MountFlags::NODEV)
    .union(MountFlags::NOEXEC);

/// Mounted in this order, unmounted in the reverse one.
const BINDS: &[Bind] = &[
    Bind {
        source: "/proc",
        target: "proc",
        flags: NO_DEV_SUID_EXEC,
    },
    Bind {
        source: "/sys",
        target: "sys",
        flags: NO_DEV_SUID_EXEC,
    },
    Bind {
        source: "/dev",
        target: "dev",
        flags: MountFlags::NOSUID.union(MountFlags::NOEXEC),
    },
    Bind {
        source: "/dev/pts",
        target: "dev/pts",
        flags: MountFlags::NOSUID.union(MountFlags::NOEXEC),
    },
];

/// Runs `command` with `/bin/sh -c` inside the filesystem mounted at `root`;
/// fails with the exit status and the tail of the output when it does not
/// exit 0, or when it is still running after `timeout` (then it is killed
/// with every process it started).
pub(super) fn run_in_image(root: &Path, command: &str, timeout: Duration) -> anyhow::Result<()> {
    let root = std::fs::canonicalize(root)
        .with_context(|| format!("cannot resolve the image root {}", root.display()))?;
    let mut env = RunEnv {
        root,
        resolv: None,
        released: false,
    };
    let result = env
        .prepare()
        .and_then(|()| exec(&env.root, command, timeout));
    let cleanup = env.release();
    match (result, cleanup) {
        (Err(e), Err(c)) => {
            tracing::warn!("after a failed run in the image: {c:#}");
            Err(e)
        }
        (Err(e), Ok(())) | (Ok(()), Err(e)) => Err(e),
        (Ok(()), Ok(())) => Ok(()),
    }
}

/// What a run put around the image root; undone by [`RunEnv::release`] or on drop.
struct RunEnv {
    /// Canonical path of the image root (as `/proc/self/mountinfo` shows it).
    root: PathBuf,
    /// The image's `/etc` and the inode of the resolv.conf copied into it.
    resolv: Option<(OwnedFd, u64)>,
    released: bool,
}

impl RunEnv {
    fn root_fd(&self) -> anyhow::Result<OwnedFd> {
        rustix::fs::open(
            &self.root,
            OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .with_context(|| format!("cannot open the image root {}", self.root.display()))
    }

    /// Binds the host filesystems in and gives the image a resolv.conf when it has none.
    fn prepare(&mut self) -> anyhow::Result<()> {
        let root = self.root_fd()?;
        for b in BINDS {
            bind(&root, b).with_context(|| {
                format!("cannot bind {} into the image at /{}", b.source, b.target)
            })?;
        }
        self.resolv = lend_resolv_conf(&root)?;
        Ok(())
    }

    /// Kills what still runs in the image, removes the lent resolv.conf,
    /// unmounts everything below the root. Reports the first problem after
    /// trying all of it.
    fn release(&mut self) -> anyhow::Result<()> {
        if std::mem::replace(&mut self.released, true) {
            return Ok(());
        }
        let mut problems = Vec::new();
        kill_processes_in(&self.root);
        if let Some((etc, ino)) = self.resolv.take()
            && let Err(e) = take_back_resolv_conf(&etc, ino)
        {
            problems.push(format!("{e:#}"));
        }
        if let Err(e) = unmount_below(&self.root) {
            problems.push(format!("{e:#}"));
        }
        match problems.is_empty() {
            true => Ok(()),
            false => bail!("{}", problems.join("; ")),
        }
    }
}

impl Drop for RunEnv {
    fn drop(&mut self) {
        if let Err(e) = self.release() {
            tracing::warn!("{e:#}");
        }
    }
}

/// `/proc/self/fd/N` of an `O_PATH` descriptor: a mount target that is
/// exactly the directory opened, whatever happens to paths meanwhile.
fn fd_path(fd: &OwnedFd) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

/// Opens (creating when missing) `rel` in the image as an `O_PATH` directory.
fn open_target(root: &OwnedFd, rel: &str) -> anyhow::Result<OwnedFd> {
    let open = || {
        rustix::fs::openat2(
            root,
            rel,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
            IN_ROOT,
        )
    };
    match open() {
        Ok(fd) => Ok(fd),
        Err(Errno::NOENT) => {
            mkdir_p(root, Path::new(rel))?;
            open().with_context(|| {
                format!("/{rel} in the image leads nowhere (a symlink to a missing directory?)")
            })
        }
        Err(e) => bail!("cannot open /{rel} in the image: {e}"),
    }
}

fn bind(root: &OwnedFd, b: &Bind) -> anyhow::Result<()> {
    let target = open_target(root, b.target)?;
    rustix::mount::mount_bind(b.source, fd_path(&target).as_str())?;
    // Reopened: the first descriptor names the directory under the new
    // mount, this one the root of the bind.
    let top = open_target(root, b.target)?;
    rustix::mount::mount_remount(
        fd_path(&top).as_str(),
        MountFlags::BIND | MountFlags::RDONLY | b.flags,
        "",
    )
    .context("cannot make the bind read-only")?;
    tracing::debug!(source = b.source, target = b.target, "bound into the image");
    Ok(())
}

/// Copies the host's resolv.conf into the image's `/etc` when the image has
/// none (not even a symlink), so a package manager can resolve names.
fn lend_resolv_conf(root: &OwnedFd) -> anyhow::Result<Option<(OwnedFd, u64)>> {
    let etc = match rustix::fs::openat2(
        root,
        "etc",
        OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
        IN_ROOT,
    ) {
        Ok(fd) => fd,
        Err(_) => return Ok(None),
    };
    match rustix::fs::statat(&etc, "resolv.conf", AtFlags::SYMLINK_NOFOLLOW) {
        Err(Errno::NOENT) => {}
        _ => return Ok(None),
    }
    let Ok(host) = std::fs::read("/etc/resolv.conf") else {
        return Ok(None);
    };
    let fd = rustix::fs::openat(
        &etc,
        "resolv.conf",
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o644),
    )
    .context("cannot lend the host's resolv.conf to the image")?;
    let ino = rustix::fs::fstat(&fd)?.st_ino;
    let mut f = std::fs::File::from(fd);
    f.write_all(&host)?;
    tracing::debug!("the image has no /etc/resolv.conf: the host's is lent for the run");
    Ok(Some((etc, ino)))
}

/// Removes the lent resolv.conf, unless the command put its own in its place.
fn take_back_resolv_conf(etc: &OwnedFd, ino: u64) -> anyhow::Result<()> {
    match rustix::fs::statat(etc, "resolv.conf", AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) if st.st_ino == ino => rustix::fs::unlinkat(etc, "resolv.conf", AtFlags::empty())
            .context("cannot remove the resolv.conf lent to the image"),
        _ => Ok(()),
    }
}

/// Mount points at or below `root` (not `root` itself), in mount order.
fn mounts_below(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    Ok(crate::mountinfo::mount_points()?
        .into_iter()
        .filter(|p| p.starts_with(root) && p != root)
        .collect())
}

/// Unmounts every mount below `root`, the last mounted first; one that stays
/// busy is detached lazily (it goes once its last user does).
fn unmount_below(root: &Path) -> anyhow::Result<()> {
    let mut lazy = Vec::new();
    for _round in 0..3 {
        let mounts = mounts_below(root)?;
        if mounts.is_empty() {
            break;
        }
        for m in mounts.iter().rev() {
            match unmount_retrying(m) {
                Ok(()) => tracing::debug!(path = %m.display(), "unmounted"),
                Err(Errno::INVAL | Errno::NOENT) => {} // gone with its parent already
                Err(e) => {
                    tracing::warn!(path = %m.display(), "cannot unmount ({e}); detaching it lazily");
                    match rustix::mount::unmount(m, UnmountFlags::DETACH | UnmountFlags::NOFOLLOW) {
                        Ok(()) => lazy.push(m.display().to_string()),
                        Err(e) => bail!("cannot unmount {}: {e}", m.display()),
                    }
                }
            }
        }
    }
    let left = mounts_below(root)?;
    if !left.is_empty() {
        bail!(
            "still mounted in the image after the run: {}",
            left.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !lazy.is_empty() {
        tracing::warn!("detached lazily (they were busy): {}", lazy.join(", "));
    }
    Ok(())
}

fn unmount_retrying(m: &Path) -> Result<(), Errno> {
    let mut delay = Duration::from_millis(10);
    for _ in 0..6 {
        match rustix::mount::unmount(m, UnmountFlags::NOFOLLOW) {
            Err(Errno::BUSY) => {
                std::thread::sleep(delay);
                delay *= 2;
            }
            other => return other,
        }
    }
    rustix::mount::unmount(m, UnmountFlags::NOFOLLOW)
}

/// Processes whose root directory is `root` or below it, with their name.
pub(crate) fn processes_in(root: &Path) -> Vec<(i32, String)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/root")).is_ok_and(|r| r.starts_with(root))
        })
        .map(|pid| {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            (pid, comm.trim().to_string())
        })
        .collect()
}

/// Kills every process left running inside the image (e.g. a daemon a
/// package script started) and waits for them to go, so the mounts can.
pub(crate) fn kill_processes_in(root: &Path) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut told = false;
    loop {
        let left = processes_in(root);
        if left.is_empty() {
            return;
        }
        if !told {
            tracing::warn!(
                "killing processes left running in the image: {}",
                left.iter()
                    .map(|(p, c)| format!("{p} ({c})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            told = true;
        }
        for (pid, _) in &left {
            if let Some(pid) = Pid::from_raw(*pid) {
                let _ = rustix::process::kill_process(pid, Signal::KILL);
            }
        }
        if Instant::now() > deadline {
            tracing::warn!("processes still running in the image after SIGKILL");
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Kills the command's process group if the run is abandoned (error or panic).
#[derive(Default)]
struct GroupGuard(Option<Pid>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.0.take() {
            let _ = rustix::process::kill_process_group(pid, Signal::KILL);
        }
    }
}

/// Runs the command chrooted into `root`; logs its output; the error names
/// the command, how it ended and the tail of its output.
fn exec(root: &Path, command: &str, timeout: Duration) -> anyhow::Result<()> {
    let root_c = CString::new(root.as_os_str().as_bytes()).context("image root path")?;
    let (reader, writer) = std::io::pipe()?;
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(command)
        .env_clear()
        .env("PATH", PATH)
        .env("HOME", "/root")
        .env("LANG", "C")
        .stdin(Stdio::null())
        .stdout(writer.try_clone()?)
        .stderr(writer)
        .process_group(0);
    // SAFETY: the hook runs between fork and exec; it only makes syscalls on
    // data prepared before the fork (no allocation, no locks).
    unsafe {
        cmd.pre_exec(move || {
            rustix::process::chroot(root_c.as_c_str())?;
            rustix::process::chdir(c"/")?;
            rustix::process::umask(Mode::from_raw_mode(0o022));
            Ok(())
        });
    }
    let started = Instant::now();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("cannot run `{command}`: the image has no /bin/sh")
        }
        Err(e) => bail!("cannot run `{command}` in the image: {e}"),
    };
    // The parent's copies of the pipe's write end go with the Command, so the
    // reader sees the end of the output when the command's processes are gone.
    drop(cmd);
    let mut group = GroupGuard(Some(Pid::from_child(&child)));
    tracing::debug!(command, pid = child.id(), "running in the image");

    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut tail = VecDeque::with_capacity(TAIL_LINES);
        for line in BufReader::new(reader).split(b'\n') {
            let Ok(line) = line else { break };
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches('\r');
            tracing::debug!(target: OUTPUT_TARGET, "{line}");
            if tail.len() == TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line.to_string());
        }
        let _ = done_tx.send(tail);
    });

    let mut delay = Duration::from_millis(5);
    let mut stopped: Option<(&'static str, Instant)> = None;
    let (status, timed_out) = loop {
        if let Some(status) = child.try_wait()? {
            break (status, false);
        }
        // SIGINT/SIGTERM to apex: the command's group gets TERM, then KILL
        // after a grace.
        match (stopped, crate::interrupt::requested()) {
            (None, Some(sig)) => {
                tracing::warn!(
                    command,
                    "{sig}: stopping it (TERM, KILL after {}s)",
                    STOP_GRACE.as_secs()
                );
                if let Some(pid) = group.0 {
                    let _ = rustix::process::kill_process_group(pid, Signal::TERM);
                }
                stopped = Some((sig, Instant::now()));
            }
            (Some((_, at)), _) if at.elapsed() >= STOP_GRACE => {
                if let Some(pid) = group.0 {
                    let _ = rustix::process::kill_process_group(pid, Signal::KILL);
                }
                break (child.wait()?, false);
            }
            _ => {}
        }
        if started.elapsed() >= timeout {
            tracing::warn!(
                command,
                "timed out after {}s; killing it",
                timeout.as_secs()
            );
            if let Some(pid) = group.0 {
                let _ = rustix::process::kill_process_group(pid, Signal::KILL);
            }
            break (child.wait()?, true);
        }
        std::thread::sleep(delay.min(timeout.saturating_sub(started.elapsed())));
        delay = (delay * 2).min(Duration::from_millis(100));
    };
    // What the command left behind (in its group, or escaped from it but still
    // in the image) goes now; then the output ends.
    drop(std::mem::take(&mut group));
    kill_processes_in(root);
    let tail = done_rx
        .recv_timeout(Duration::from_secs(10))
        .map(|t| Vec::from(t).join("\n"))
        .unwrap_or_else(|_| {
            "(the output did not end: a process outside the image holds it)".into()
        });
    let output = match tail.is_empty() {
        true => "no output".to_string(),
        false => format!("its output ended with:\n{tail}"),
    };
    if let Some((sig, _)) = stopped {
        bail!("`{command}` was stopped: interrupted by {sig}; {output}");
    }
    if timed_out {
        bail!(
            "`{command}` did not finish within {}s and was killed with every process it started; {output}",
            timeout.as_secs()
        );
    }
    if !status.success() {
        let how = match (status.code(), status.signal()) {
            (Some(c), _) => format!("exit status {c}"),
            (None, Some(s)) => format!("killed by signal {s}"),
            _ => status.to_string(),
        };
        bail!("`{command}` failed with {how}; {output}");
    }
    tracing::debug!(
        command,
        seconds = started.elapsed().as_secs_f32(),
        "ran in the image"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tmpfs standing for a mounted image root; unmounted on drop.
    struct Tmpfs(tempfile::TempDir);

    impl Tmpfs {
        fn new() -> Self {
            assert!(
                rustix::process::geteuid().is_root(),
                "image run tests need root (mounts)"
            );
            let dir = tempfile::Builder::new()
                .prefix("apex-run-test-")
                .tempdir()
                .unwrap();
            rustix::mount::mount("tmpfs", dir.path(), "tmpfs", MountFlags::empty(), None).unwrap();
            std::fs::create_dir(dir.path().join("etc")).unwrap();
            Tmpfs(dir)
        }

        fn root(&self) -> PathBuf {
            std::fs::canonicalize(self.0.path()).unwrap()
        }
    }

    impl Drop for Tmpfs {
        fn drop(&mut self) {
            let _ = rustix::mount::unmount(self.0.path(), UnmountFlags::DETACH);
        }
    }

    #[test]
    fn a_panic_during_a_run_still_undoes_the_binds_and_the_lent_resolv_conf() {
        let fs = Tmpfs::new();
        let root = fs.root();
        let lent = Path::new("/etc/resolv.conf").is_file();
        let r = std::panic::catch_unwind(|| {
            let mut env = RunEnv {
                root: root.clone(),
                resolv: None,
                released: false,
            };
            env.prepare().unwrap();
            let mounted: Vec<_> = mounts_below(&root).unwrap();
            assert_eq!(
                mounted,
                ["proc", "sys", "dev", "dev/pts"].map(|t| root.join(t)),
            );
            assert_eq!(root.join("etc/resolv.conf").is_file(), lent);
            panic!("boom while the binds are in place");
        });
        assert!(r.is_err());
        assert_eq!(mounts_below(&root).unwrap(), Vec::<PathBuf>::new());
        assert!(!root.join("etc/resolv.conf").exists());
    }

    #[test]
    fn an_image_resolv_conf_is_kept_and_a_symlinked_proc_stays_inside() {
        let fs = Tmpfs::new();
        let root = fs.root();
        std::fs::write(root.join("etc/resolv.conf"), "nameserver 192.0.2.53\n").unwrap();
        // The image's /proc names a host path: the bind must land in the image,
        // and where the image lacks that path, nothing is mounted at all.
        let host_side = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(host_side.path(), root.join("proc")).unwrap();
        let mut env = RunEnv {
            root: root.clone(),
            resolv: None,
            released: false,
        };
        let err = format!("{:#}", env.prepare().unwrap_err());
        assert!(
            err.contains("cannot bind /proc into the image at /proc"),
            "{err}"
        );
        env.release().unwrap();
        assert_eq!(mounts_below(&root).unwrap(), Vec::<PathBuf>::new());
        let inside = root.join(host_side.path().strip_prefix("/").unwrap());
        std::fs::create_dir_all(&inside).unwrap();
        let mut env = RunEnv {
            root: root.clone(),
            resolv: None,
            released: false,
        };
        env.prepare().unwrap();
        assert!(mounts_below(&root).unwrap().contains(&inside));
        assert!(
            std::fs::read_dir(host_side.path())
                .unwrap()
                .next()
                .is_none(),
            "the bind went over the host path"
        );
        env.release().unwrap();
        assert_eq!(
            std::fs::read_to_string(root.join("etc/resolv.conf")).unwrap(),
            "nameserver 192.0.2.53\n"
        );
        assert_eq!(mounts_below(&root).unwrap(), Vec::<PathBuf>::new());
    }
}
