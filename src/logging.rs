//! Logging: `tracing` to the console (around any progress bars) and to a log
//! file, so every run leaves a full record next to its artifacts.

use std::io::IsTerminal as _;
use std::path::Path;
use std::sync::Mutex;

use anyhow::Context as _;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::progress;

/// Console writer that suspends progress bars while a line is written.
#[derive(Clone, Copy)]
struct ConsoleWriter;

impl std::io::Write for ConsoleWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        progress::multi().suspend(|| std::io::stderr().write_all(buf))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> MakeWriter<'a> for ConsoleWriter {
    type Writer = ConsoleWriter;
    fn make_writer(&'a self) -> Self::Writer {
        *self
    }
}

/// Where the log file layer writes: lines are kept in memory until a file is
/// attached (a deploy attaches its run log, see [`attach_run_log`], only once
/// its inputs are valid, so bad input writes nothing), then appended to it.
enum FileTarget {
    Buffer(Vec<u8>),
    File(std::fs::File),
}

/// Lines kept before a file is attached, at most (older ones are dropped).
const BUFFER_LIMIT: usize = 4 << 20;

fn file_target() -> &'static Mutex<FileTarget> {
    static TARGET: std::sync::OnceLock<Mutex<FileTarget>> = std::sync::OnceLock::new();
    TARGET.get_or_init(|| Mutex::new(FileTarget::Buffer(Vec::new())))
}

/// Starts appending the log to `path` (created with its directory), with
/// what was logged before it.
pub fn attach_file(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::fsutil::create_dir_all(dir)?;
    }
    // Never through a symlink: one planted as apex.log would have the log
    // (and root's rights) write wherever it points.
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .with_context(|| format!("cannot open log file {}", path.display()))?;
    start_file(file, path)
}

/// Makes `file` the log file layer's target, writing the lines kept so far first.
fn start_file(mut file: std::fs::File, path: &Path) -> anyhow::Result<()> {
    let mut target = file_target().lock().unwrap_or_else(|e| e.into_inner());
    if let FileTarget::Buffer(kept) = &*target {
        use std::io::Write as _;
        file.write_all(kept)
            .with_context(|| format!("cannot write log file {}", path.display()))?;
    }
    *target = FileTarget::File(file);
    Ok(())
}

/// Where a deploy keeps its run logs, under its tmp dir.
pub const LOG_DIR: &str = "logs";
/// The latest run's log, under the tmp dir: the same file as its
/// `logs/<time>.log` (a hard link; a symlink where the file system has none).
pub const LATEST_LOG: &str = "apex.log";
/// Run logs kept in [`LOG_DIR`]; the oldest beyond are removed at each run.
pub const KEEP_LOGS: usize = 20;

/// Starts this run's own log in `tmp_dir` (which exists; the caller holds its
/// run lock): a new `logs/<UTC time>.log` and `apex.log` the same file, so
/// `apex.log` is always the latest run's log and no log grows over runs.
/// An `apex.log` of an apex that appended every run to it moves into `logs/`
/// first; then the oldest logs beyond [`KEEP_LOGS`] are removed. A planted
/// symlink is never followed: `logs` must be a directory of its own and the
/// new file is created exclusively. Returns the new log's path.
pub fn attach_run_log(tmp_dir: &Path) -> anyhow::Result<std::path::PathBuf> {
    let dir = tmp_dir.join(LOG_DIR);
    match std::fs::symlink_metadata(&dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => anyhow::bail!(
            "{} is not a directory (a symlink or a file); remove it, apex keeps its run logs there",
            dir.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir(&dir).with_context(|| format!("cannot create {}", dir.display()))?
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
    }
    let latest = tmp_dir.join(LATEST_LOG);
    adopt_appended_log(&latest, &dir);
    let now = std::time::SystemTime::now();
    let mut stamp = log_stamp(now);
    let mut n = 1;
    let (path, file) = loop {
        let path = dir.join(format!("{stamp}.log"));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(f) => break (path, f),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 100 => {
                n += 1;
                stamp = format!("{}-{n}", log_stamp(now));
            }
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot create log file {}", path.display()));
            }
        }
    };
    match std::fs::remove_file(&latest) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot replace {}", latest.display())),
    }
    if std::fs::hard_link(&path, &latest).is_err() {
        let rel = Path::new(LOG_DIR).join(path.file_name().unwrap_or_default());
        std::os::unix::fs::symlink(&rel, &latest)
            .with_context(|| format!("cannot make {} the latest log", latest.display()))?;
    }
    prune_logs(&dir, KEEP_LOGS);
    start_file(file, &path)?;
    Ok(path)
}

/// `apex.log` written by an apex that appended every run to it (a regular
/// file with no other link) moves into `logs/` under its modification time,
/// so pruning ages it out like any run's log rather than deleting it now.
fn adopt_appended_log(latest: &Path, dir: &Path) {
    use std::os::unix::fs::MetadataExt as _;
    let Ok(m) = std::fs::symlink_metadata(latest) else {
        return;
    };
    if !m.is_file() || m.nlink() != 1 {
        return;
    }
    let when = m.modified().unwrap_or(std::time::UNIX_EPOCH);
    let dest = dir.join(format!("{}-appended.log", log_stamp(when)));
    if !dest.exists() {
        let _ = std::fs::rename(latest, dest);
    }
}

/// Removes the oldest run logs of `dir` (names as [`log_stamp`] makes them,
/// which sort by time) beyond `keep`; other files are left alone.
fn prune_logs(dir: &Path, keep: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut logs: Vec<String> = entries
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| is_run_log(n))
        .collect();
    if logs.len() <= keep {
        return;
    }
    logs.sort();
    for name in &logs[..logs.len() - keep] {
        let _ = std::fs::remove_file(dir.join(name));
    }
}

/// Whether `name` is a run log's name: `YYYY-MM-DDTHH-MM-SS.mmmZ[...].log`.
fn is_run_log(name: &str) -> bool {
    let b = name.as_bytes();
    name.ends_with(".log")
        && b.len() >= 28
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[10] == b'T'
        && b[23] == b'Z'
}

/// A UTC time as a file name part that sorts by time:
/// `2026-12-07T02-15-16.123Z`.
fn log_stamp(t: std::time::SystemTime) -> String {
    // RFC 3339 in UTC with milliseconds, `:` made `-` for a file name.
    humantime::format_rfc3339_millis(t)
        .to_string()
        .replace(':', "-")
}

/// The file layer's writer (see [`FileTarget`]).
#[derive(Clone, Copy)]
struct FileWriter;

impl std::io::Write for FileWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut target = file_target().lock().unwrap_or_else(|e| e.into_inner());
        match &mut *target {
            FileTarget::File(f) => f.write_all(buf)?,
            FileTarget::Buffer(kept) => {
                if kept.len() + buf.len() > BUFFER_LIMIT {
                    kept.clear();
                }
                kept.extend_from_slice(buf);
            }
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for FileWriter {
    type Writer = FileWriter;
    fn make_writer(&'a self) -> Self::Writer {
        *self
    }
}

/// Installs the global subscriber. `verbosity` 0 = info, 1 = debug, 2+ = trace
/// on the console; the file always gets debug. `RUST_LOG` overrides the console.
/// Without `log_file` the file layer keeps lines in memory until
/// [`attach_file`].
pub fn init(verbosity: u8, log_file: Option<&Path>) -> anyhow::Result<()> {
    let console_level = match verbosity {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let console_filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(format!("warn,apex={console_level},lua={console_level}"))
    });
    let console = tracing_subscriber::fmt::layer()
        .with_writer(ConsoleWriter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .without_time()
        .with_filter(console_filter);

    if let Some(path) = log_file {
        attach_file(path)?;
    }
    let level = if verbosity >= 2 { "trace" } else { "debug" };
    let file_layer = tracing_subscriber::fmt::layer()
        .with_writer(FileWriter)
        .with_ansi(false)
        .with_filter(EnvFilter::new(format!("warn,apex={level},lua={level}")));
    tracing_subscriber::registry()
        .with(console)
        .with(file_layer)
        .try_init()
        .ok();
    Ok(())
}

use tracing_subscriber::Layer as _;

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn log_stamps_are_utc_dates_that_sort_by_time() {
        assert_eq!(log_stamp(UNIX_EPOCH), "1970-01-01T00-00-00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_795_628_067_250);
        assert_eq!(log_stamp(t), "2026-11-25T17-34-27.250Z");
        // 2000-02-29 (a leap day of a century year divisible by 400).
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(log_stamp(leap), "2000-02-29T00-00-00.000Z");
        assert!(is_run_log(&format!("{}.log", log_stamp(t))));
        assert!(is_run_log(&format!("{}-2.log", log_stamp(t))));
        assert!(is_run_log(&format!("{}-appended.log", log_stamp(t))));
        assert!(!is_run_log("notes.log"));
        assert!(log_stamp(t) < log_stamp(t + Duration::from_millis(1)));
    }
}
