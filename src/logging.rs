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

/// Installs the global subscriber. `verbosity` 0 = info, 1 = debug, 2+ = trace
/// on the console; the file always gets debug. `RUST_LOG` overrides the console.
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

    let file_layer = match log_file {
        Some(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("cannot open log file {}", path.display()))?;
            let level = if verbosity >= 2 { "trace" } else { "debug" };
            Some(
                tracing_subscriber::fmt::layer()
                    .with_writer(Mutex::new(file))
                    .with_ansi(false)
                    .with_filter(EnvFilter::new(format!("warn,apex={level},lua={level}"))),
            )
        }
        None => None,
    };
    tracing_subscriber::registry()
        .with(console)
        .with(file_layer)
        .try_init()
        .ok();
    Ok(())
}

use tracing_subscriber::Layer as _;
