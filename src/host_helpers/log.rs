//! `core.log.write`: Lua messages go into the same tracing log as the Rust core,
//! tagged with the script's file:line.

use mlua::{Lua, Table};

use crate::lua::api::{Api, Effect, FnSpec, Param};

const SPEC: FnSpec = FnSpec {
    name: "log.write",
    doc: "Writes a message to the apex log (console and log file), tagged with the caller's file:line.",
    params: &[Param {
        name: "opts",
        ty: "{level?: 'error'|'warn'|'info'|'debug'|'trace', msg: string}",
        doc: "level defaults to info",
    }],
    returns: "nil",
    is_async: false,
    effect: Effect::Local,
};

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
    let f = api.lua().create_function(|lua, o: Table| {
        let msg: String = o.get("msg")?;
        let level: Option<String> = o.get("level")?;
        let at = caller(lua);
        match level.as_deref().unwrap_or("info") {
            "error" => tracing::error!(target: "lua", at, "{msg}"),
            "warn" => tracing::warn!(target: "lua", at, "{msg}"),
            "info" => tracing::info!(target: "lua", at, "{msg}"),
            "debug" => tracing::debug!(target: "lua", at, "{msg}"),
            "trace" => tracing::trace!(target: "lua", at, "{msg}"),
            other => {
                return Err(crate::lua::api::primitive_error(
                    SPEC.name,
                    format!("unknown level {other:?} (valid: error, warn, info, debug, trace)"),
                ));
            }
        }
        Ok(())
    })?;
    api.raw(SPEC, f)
}
