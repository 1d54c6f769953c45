//! `core.log`: Lua messages go into the same tracing log as the Rust core,
//! tagged with the script's file:line.

use mlua::{Lua, Table};

use crate::lua::api::{Api, Effect, FnSpec, Param};

const SPEC: FnSpec = FnSpec {
    name: "log",
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

fn caller(lua: &Lua) -> String {
    lua.inspect_stack(1, |d| {
        let src = d.source();
        let file = src.short_src.as_deref().unwrap_or("?").to_string();
        format!("{file}:{}", d.current_line().unwrap_or(0))
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
                    "log",
                    format!("unknown level {other:?} (valid: error, warn, info, debug, trace)"),
                ));
            }
        }
        Ok(())
    })?;
    api.raw(SPEC, f)
}
