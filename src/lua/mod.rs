//! The Lua host: one Lua 5.4 state with the `apex.core` API, module
//! resolution (override directories, then shipped modules) and an async
//! driver so host I/O looks blocking to scripts.

pub mod api;
pub mod classes;
mod lifecycle;
pub mod modules;
pub mod names;
mod parallel;
pub mod stubs;

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use mlua::{Function, Lua, LuaOptions, MultiValue, StdLib, Table, Value};

pub use api::{Alias, Api, ApiDoc, Effect, FnSpec, HostState, Param};
pub use lifecycle::{Interrupted, drive};

/// How to build a [`Host`].
#[derive(Debug, Clone, Default)]
pub struct HostConfig {
    /// Override directories, searched in order before the shipped modules
    /// (`--lua-path` first, then `APEX_LUA_PATH`).
    pub lua_paths: Vec<PathBuf>,
    /// Plan mode: host functions that would change a host, registry or engine raise.
    pub plan: bool,
}

/// A Lua state with the apex host API installed.
pub struct Host {
    lua: Lua,
    config: HostConfig,
    doc: ApiDoc,
}

/// Registers every primitive family on the `apex.core` table (`core.<family>.<name>`),
/// then the flat names of the release before as aliases. The one list of
/// registrations: stubs and the Lua state both come from it.
pub fn register_all(api: &mut Api) -> mlua::Result<()> {
    api.value("version", env!("CARGO_PKG_VERSION"))?;
    crate::host_helpers::register(api)?;
    parallel::register(api)?;
    modules::register(api)?;
    crate::artifacts::register(api)?;
    crate::archive::register(api)?;
    crate::engine::register(api)?;
    crate::registry::register(api)?;
    crate::ssh::register(api)?;
    crate::loopdev::register(api)?;
    crate::image_edit::register(api)?;
    crate::vm::register(api)?;
    api.deprecated_aliases(names::DEPRECATED)?;
    Ok(())
}

/// The description of every registered host function, without a live state.
pub fn api_doc() -> anyhow::Result<ApiDoc> {
    let lua = Lua::new();
    let mut api = Api::new(&lua)?;
    register_all(&mut api)?;
    Ok(api.finish().1)
}

impl Host {
    pub fn new(config: HostConfig) -> anyhow::Result<Self> {
        // The debug library gives tests and flows tracebacks and file:line;
        // scripts are the operator's own, so nothing here is sandboxed.
        let libs = StdLib::ALL_SAFE | StdLib::DEBUG;
        // SAFETY: DEBUG is the only non-safe library loaded; no FFI, no C modules
        // (package.cpath is emptied below).
        let lua = unsafe { Lua::unsafe_new_with(libs, LuaOptions::default()) };
        lua.set_app_data(HostState {
            plan: config.plan,
            lua_paths: config.lua_paths.clone(),
        });
        let mut api = Api::new(&lua)?;
        register_all(&mut api)?;
        let (core, doc) = api.finish();
        install_loader(&lua, &config.lua_paths, core)?;
        install_boundary(&lua)?;
        Ok(Self { lua, config, doc })
    }

    pub fn lua(&self) -> &Lua {
        &self.lua
    }

    pub fn config(&self) -> &HostConfig {
        &self.config
    }

    pub fn doc(&self) -> &ApiDoc {
        &self.doc
    }

    /// Requires a module (override directories first, then shipped).
    pub fn require(&self, module: &str) -> anyhow::Result<Value> {
        let require: Function = self.lua.globals().get("require")?;
        require
            .call::<Value>(module)
            .map_err(|e| lua_error(e).context(format!("require {module:?}")))
    }

    /// Runs a Lua file as a chunk named `@path`, with `...` = args, driving
    /// async host calls to completion. Returns what the chunk returns.
    pub async fn run_file(&self, path: &Path, args: Vec<String>) -> anyhow::Result<MultiValue> {
        let source = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read Lua script {}", path.display()))?;
        let func = self
            .lua
            .load(source)
            .set_name(format!("@{}", path.display()))
            .into_function()
            .map_err(lua_error)?;
        self.call(&func, mlua::Variadic::from_iter(args)).await
    }

    /// Calls a Lua function asynchronously with Rust arguments.
    pub async fn call<A: mlua::IntoLuaMulti>(
        &self,
        func: &Function,
        args: A,
    ) -> anyhow::Result<MultiValue> {
        let mut all = args.into_lua_multi(&self.lua)?;
        all.push_front(Value::Function(func.clone()));
        // `call_async`: a call dropped midway (the run stopped by a signal)
        // ends its coroutine there and then, dropping the Rust work it awaits
        // inside the runtime, so their clean-up (an upload session's DELETE)
        // runs before the run's own; a coroutine merely unreferenced would
        // keep that work until the Lua state is closed, after the runtime.
        let out = boundary(&self.lua)?
            .call_async::<MultiValue>(all)
            .await
            .map_err(lua_error)?;
        Ok(out)
    }

    /// Calls `module.field(arg)` asynchronously, e.g. `flows.deploy.run(opts)`.
    pub async fn call_module(
        &self,
        module: &str,
        field: &str,
        arg: Value,
    ) -> anyhow::Result<MultiValue> {
        let m = self.require(module)?;
        let Value::Table(t) = m else {
            anyhow::bail!(
                "module {module} returned {} instead of a table",
                m.type_name()
            );
        };
        let f: Function = t
            .get(field)
            .with_context(|| format!("module {module} has no function {field:?}"))?;
        self.call(&f, arg).await
    }

    /// Converts a Rust value into a Lua value with the host's conventions.
    pub fn to_lua<T: serde::Serialize>(&self, v: &T) -> anyhow::Result<Value> {
        Ok(api::to_lua(&self.lua, v)?)
    }
}

/// A user error: bad input or a refused operation, raised in Lua by
/// `util.fail` (a table `{kind = "user", message = ...}`). It leaves Lua
/// through the host's boundary as this type, so Rust tells it from a bug by
/// its type, not by the shape of its message.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct UserError(pub String);

/// The user error inside an mlua error (through callbacks and contexts), if any.
pub fn find_user_error(e: &mlua::Error) -> Option<&UserError> {
    match e {
        mlua::Error::CallbackError { cause, .. } | mlua::Error::WithContext { cause, .. } => {
            find_user_error(cause)
        }
        mlua::Error::ExternalError(inner) => inner.downcast_ref::<UserError>(),
        _ => None,
    }
}

/// Turns an mlua error into an anyhow error: a user error is its message
/// alone; anything else (a bug) is the Lua message followed by the traceback
/// (file:line of the scripts involved).
pub fn lua_error(e: mlua::Error) -> anyhow::Error {
    let full = first_traceback_only(&format_lua_error(&e));
    match find_user_error(&e) {
        Some(user) => {
            // The traceback of an input error only shows the flow's internals;
            // it stays in the log file for whoever debugs the flow.
            tracing::debug!("{full}");
            anyhow::anyhow!("{}", user.0)
        }
        None => anyhow::anyhow!("{full}"),
    }
}

/// Where an error leaves Lua for Rust (the host's entry calls, parallel_map's
/// calls): a bug gets its traceback where it was raised; a user error (a
/// table of kind "user") becomes a Rust [`UserError`], which mlua carries
/// unchanged to the Rust caller (any other value is turned into a string).
const BOUNDARY: &str = r#"
local raise_user = ...
local function handler(e)
  if type(e) == "string" then return debug.traceback(e, 2) end
  return e
end
return function(f, ...)
  local r = table.pack(xpcall(f, handler, ...))
  if r[1] then return table.unpack(r, 2, r.n) end
  local e = r[2]
  if type(e) == "table" and rawget(e, "kind") == "user" and type(rawget(e, "message")) == "string" then
    return raise_user(rawget(e, "message"))
  end
  error(e, 0)
end
"#;

const BOUNDARY_KEY: &str = "apex.boundary";

fn install_boundary(lua: &Lua) -> mlua::Result<()> {
    let raise = lua.create_function(|_, message: String| -> mlua::Result<()> {
        Err(mlua::Error::external(UserError(message)))
    })?;
    let f: Function = lua
        .load(BOUNDARY)
        .set_name("=apex host boundary")
        .call(raise)?;
    lua.set_named_registry_value(BOUNDARY_KEY, f)
}

/// The boundary function of a host's state: `boundary(f, ...)` calls `f(...)`.
/// An error when the state was not made by [`Host::new`].
pub(crate) fn boundary(lua: &Lua) -> mlua::Result<Function> {
    lua.named_registry_value::<Function>(BOUNDARY_KEY)
}

/// A hook error already carries the traceback of where it was raised; the one
/// added when it crossed back into Rust only repeats the flow's frames.
fn first_traceback_only(text: &str) -> String {
    const MARK: &str = "stack traceback:";
    match text.find(MARK) {
        Some(first) => match text[first + MARK.len()..].find(MARK) {
            Some(second) => text[..first + MARK.len() + second].trim_end().to_string(),
            None => text.to_string(),
        },
        None => text.to_string(),
    }
}

/// Renders a Lua error: the innermost message first, then the tracebacks.
pub fn format_lua_error(e: &mlua::Error) -> String {
    match e {
        mlua::Error::CallbackError { traceback, cause } => {
            let inner = format_lua_error(cause);
            if inner.contains("stack traceback:") {
                inner
            } else {
                format!("{inner}\n{traceback}")
            }
        }
        mlua::Error::WithContext { context, cause } => {
            format!("{context}: {}", format_lua_error(cause))
        }
        mlua::Error::RuntimeError(m) | mlua::Error::SyntaxError { message: m, .. } => m.clone(),
        other => other.to_string(),
    }
}

/// Installs `require("apex.core")`, sets `package.path` to the override
/// directories and appends the shipped-module searcher after the path searcher.
fn install_loader(lua: &Lua, dirs: &[PathBuf], core: Table) -> anyhow::Result<()> {
    let package: Table = lua.globals().get("package")?;
    package.set("path", modules::package_path(dirs))?;
    package.set("cpath", "")?;
    let loaded: Table = package.get("loaded")?;
    loaded.set("apex.core", core)?;

    let searchers: Table = package.get("searchers")?;
    // Keep the preload and Lua-path searchers; drop the C searchers.
    let preload: Function = searchers.get(1)?;
    let path: Function = searchers.get(2)?;
    let new = lua.create_sequence_from([preload, path])?;
    let shipped = lua.create_function(|lua, name: String| match modules::shipped(&name) {
        Some(s) => {
            let f = lua
                .load(s.source)
                .set_name(format!("@{}", s.repo_path))
                .into_function()?;
            Ok((
                Value::Function(f),
                Value::String(lua.create_string(s.repo_path)?),
            ))
        }
        None => Ok((
            Value::String(lua.create_string(format!("\n\tno shipped module '{name}'"))?),
            Value::Nil,
        )),
    })?;
    new.push(shipped)?;
    package.set("searchers", new)?;
    Ok(())
}
