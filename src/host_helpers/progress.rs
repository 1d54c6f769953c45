//! `core.progress.*`: a progress bar for long work a Lua flow follows (the
//! overcloud stack's resources while the deploy command runs), drawn with
//! the Rust core's bars ([`crate::progress`]) when the console is a
//! terminal. Not on a terminal, no bar: the flow logs its own lines.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use serde::{Deserialize, Serialize};

use crate::lua::api::{Api, FnSpec};
use crate::progress::{Progress, Unit};

/// At most this many bars open at once (a flow that never finishes its bars
/// is an error, not a growing table).
pub const MAX_OPEN: usize = 64;

fn open() -> &'static Mutex<HashMap<u64, Progress>> {
    static OPEN: OnceLock<Mutex<HashMap<u64, Progress>>> = OnceLock::new();
    OPEN.get_or_init(Default::default)
}

/// Starts a bar counting `unit`s; returns its id and whether it is drawn.
pub fn start(label: &str, total: Option<u64>, unit: Unit) -> anyhow::Result<(u64, bool)> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let mut bars = open().lock().unwrap_or_else(|e| e.into_inner());
    anyhow::ensure!(
        bars.len() < MAX_OPEN,
        "{MAX_OPEN} progress bars open: finish one first"
    );
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let p = Progress::new(label, total, unit);
    let drawn = p.is_bar();
    bars.insert(id, p);
    Ok((id, drawn))
}

/// Sets bar `id` to `done` (and its total when given).
pub fn set(id: u64, done: u64, total: Option<u64>) -> anyhow::Result<()> {
    let mut bars = open().lock().unwrap_or_else(|e| e.into_inner());
    let p = bars
        .get_mut(&id)
        .ok_or_else(|| anyhow::anyhow!("no open progress bar {id}"))?;
    if let Some(t) = total {
        p.set_total(t);
    }
    p.set(done);
    Ok(())
}

/// Ends bar `id` (a debug log line with `msg`); an unknown id is an error.
pub fn finish(id: u64, msg: &str) -> anyhow::Result<()> {
    let p = open()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&id)
        .ok_or_else(|| anyhow::anyhow!("no open progress bar {id}"))?;
    p.finish(msg);
    Ok(())
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
#[serde(deny_unknown_fields)]
struct StartOpts {
    label: String,
    total: Option<u64>,
    /// Default items.
    unit: Option<Unit>,
}

#[derive(Serialize, schemars::JsonSchema)]
#[schemars(inline)]
struct Started {
    id: u64,
    bar: bool,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
#[serde(deny_unknown_fields)]
struct SetOpts {
    id: u64,
    done: u64,
    total: Option<u64>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
#[serde(deny_unknown_fields)]
struct FinishOpts {
    id: u64,
    msg: Option<String>,
}

pub fn register(api: &mut Api) -> mlua::Result<()> {
    api.sync(
        FnSpec::local(
            "progress.start",
            "Starts a progress bar (drawn only when the console is a terminal: `bar` says whether; otherwise the caller logs its own lines). Finish it with progress.finish."),
        |_, o: StartOpts| {
            let (id, bar) = start(&o.label, o.total, o.unit.unwrap_or(Unit::Items))?;
            Ok(Started { id, bar })
        },
    )?;
    api.sync(
        FnSpec::local(
            "progress.set",
            "Sets how many units of a progress bar are done (and its total when given).",
        ),
        |_, o: SetOpts| set(o.id, o.done, o.total),
    )?;
    api.sync(
        FnSpec::local(
            "progress.finish",
            "Ends a progress bar; msg goes to the log (debug).",
        ),
        |_, o: FinishOpts| finish(o.id, o.msg.as_deref().unwrap_or("done")),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_is_set_and_finished_once() {
        let (id, _) = start("resources", Some(10), Unit::Items).unwrap();
        set(id, 3, None).unwrap();
        set(id, 2, Some(12)).unwrap();
        finish(id, "done").unwrap();
        let err = set(id, 1, None).unwrap_err().to_string();
        assert!(err.contains("no open progress bar"), "{err}");
        assert!(finish(id, "again").is_err());
    }
}
