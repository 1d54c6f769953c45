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
/// attached (a deploy attaches `<tmp>/apex.log` only once its inputs are
/// valid, so bad input writes nothing), then appended to it.
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
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .with_context(|| format!("cannot open log file {}", path.display()))?;
    let mut target = file_target().lock().unwrap_or_else(|e| e.into_inner());
    if let FileTarget::Buffer(kept) = &*target {
        use std::io::Write as _;
        file.write_all(kept)
            .with_context(|| format!("cannot write log file {}", path.display()))?;
    }
    *target = FileTarget::File(file);
    Ok(())
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
