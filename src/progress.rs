//! Progress for long work (downloads, copies, builds): bars on a terminal,
//! periodic log lines otherwise, so CI logs still show that work moves.

use std::io::IsTerminal as _;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The one set of bars; the console log writer suspends it around each line.
pub fn multi() -> &'static MultiProgress {
    static MP: OnceLock<MultiProgress> = OnceLock::new();
    MP.get_or_init(|| {
        if std::io::stderr().is_terminal() {
            MultiProgress::with_draw_target(ProgressDrawTarget::stderr())
        } else {
            MultiProgress::with_draw_target(ProgressDrawTarget::hidden())
        }
    })
}

/// What a bar counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(inline)]
pub enum Unit {
    Bytes,
    Items,
}

/// A bar when the total is known, else a spinner with the count so far.
fn style(unit: Unit, total: bool) -> ProgressStyle {
    let tpl = match (unit, total) {
        (Unit::Bytes, true) => {
            "{msg:30!} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
        }
        (Unit::Bytes, false) => "{spinner} {msg:30!} {bytes} {bytes_per_sec}",
        (Unit::Items, true) => "{msg:30!} [{bar:30}] {pos}/{len} {elapsed}",
        (Unit::Items, false) => "{spinner} {msg:30!} {pos} {elapsed}",
    };
    ProgressStyle::with_template(tpl)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// One unit of long work. Drop or [`Progress::finish`] ends it.
pub struct Progress {
    bar: Option<ProgressBar>,
    label: String,
    unit: Unit,
    total: Option<u64>,
    done: u64,
    last_log: Instant,
}

impl Progress {
    /// Starts a bar (terminal) or a logger (not a terminal) for `label`.
    pub fn new(label: impl Into<String>, total: Option<u64>, unit: Unit) -> Self {
        let label = label.into();
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = match total {
                Some(t) => ProgressBar::new(t),
                None => ProgressBar::new_spinner(),
            };
            bar.set_style(style(unit, total.is_some()));
            bar.set_message(label.clone());
            multi().add(bar)
        });
        Self {
            bar,
            label,
            unit,
            total,
            done: 0,
            last_log: Instant::now(),
        }
    }

    /// Sets the total once known (e.g. from Content-Length): a spinner
    /// becomes a bar.
    pub fn set_total(&mut self, total: u64) {
        let was_known = self.total.replace(total).is_some();
        if let Some(b) = &self.bar {
            if !was_known {
                b.set_style(style(self.unit, true));
            }
            b.set_length(total);
        }
    }

    /// Whether this is a bar on a terminal (else progress is log lines).
    pub fn is_bar(&self) -> bool {
        self.bar.is_some()
    }

    /// Sets how many units are done (a count read from elsewhere, such as
    /// Heat's complete resources, which may also go down). No log line of
    /// its own: the caller logs what changed.
    pub fn set(&mut self, done: u64) {
        self.done = done;
        if let Some(b) = &self.bar {
            b.set_position(done);
        }
    }

    /// Records `n` more units done.
    pub fn inc(&mut self, n: u64) {
        self.done += n;
        match &self.bar {
            Some(b) => b.inc(n),
            None => {
                if self.last_log.elapsed() >= Duration::from_secs(5) {
                    self.last_log = Instant::now();
                    tracing::info!("{}: {}", self.label, self.describe());
                }
            }
        }
    }

    fn describe(&self) -> String {
        let fmt = |n: u64| match self.unit {
            Unit::Bytes => indicatif::HumanBytes(n).to_string(),
            Unit::Items => n.to_string(),
        };
        match self.total {
            Some(t) if t > 0 => format!(
                "{} of {} ({}%)",
                fmt(self.done),
                fmt(t),
                self.done * 100 / t
            ),
            _ => fmt(self.done),
        }
    }

    /// Ends the bar and logs one line with `msg` (debug: the console at the
    /// default level shows the step's own line, not one per unit of work).
    pub fn finish(mut self, msg: &str) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
            multi().remove(&b);
        }
        tracing::debug!("{}: {msg} ({})", self.label, self.describe());
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(b) = self.bar.take() {
            b.abandon();
            multi().remove(&b);
        }
    }
}
