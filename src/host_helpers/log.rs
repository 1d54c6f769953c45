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
    #[schemars(with = "Option<LevelName>")]
    level: Option<String>,
    msg: String,
}

// The values of `level` (checked where it is read).
#[allow(dead_code)]
#[derive(schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(inline)]
enum LevelName {
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
        match o.level.as_deref().unwrap_or("info") {
            "error" => tracing::error!(target: "lua", at, "{msg}"),
            "warn" => tracing::warn!(target: "lua", at, "{msg}"),
            "info" => tracing::info!(target: "lua", at, "{msg}"),
            "debug" => tracing::debug!(target: "lua", at, "{msg}"),
            "trace" => tracing::trace!(target: "lua", at, "{msg}"),
            other => {
                anyhow::bail!("unknown level {other:?} (valid: error, warn, info, debug, trace)")
            }
        }
        Ok(())
    })
}
