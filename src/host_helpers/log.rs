//! `core.log.write`: Lua messages go into the same tracing log as the Rust core,
//! tagged with the script's file:line.

use mlua::Lua;
use serde::Deserialize;

use crate::lua::api::{Api, FnSpec};

const SPEC: FnSpec = FnSpec::local(
    "log.write",
    "Writes a message to the apex log (console and log file), tagged with the caller's file:line.",
);

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
struct WriteOpts {
    /// Default info.
    level: Option<Level>,
    msg: String,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(inline)]
enum Level {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

/// The Lua line that called: the first Lua frame above this function (the
/// deprecated `core.log(opts)` arrives through a Rust `__call` in between).
fn caller(lua: &Lua) -> String {
    (1..=3)
        .find_map(|level| {
            lua.inspect_stack(level, |d| {
                let src = d.source();
                (src.what != "C").then(|| {
                    let file = src.short_src.as_deref().unwrap_or("?").to_string();
                    format!("{file}:{}", d.current_line().unwrap_or(0))
                })
            })
            .flatten()
        })
        .unwrap_or_default()
}

pub fn register(api: &mut Api) -> mlua::Result<()> {
    api.sync(SPEC, |lua, o: WriteOpts| {
        let msg = o.msg;
        let at = caller(lua);
        match o.level.unwrap_or(Level::Info) {
            Level::Error => tracing::error!(target: "lua", at, "{msg}"),
            Level::Warn => tracing::warn!(target: "lua", at, "{msg}"),
            Level::Info => tracing::info!(target: "lua", at, "{msg}"),
            Level::Debug => tracing::debug!(target: "lua", at, "{msg}"),
            Level::Trace => tracing::trace!(target: "lua", at, "{msg}"),
        }
        Ok(())
    })
}
