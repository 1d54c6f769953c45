//! The `apex.core` table and the record of what it holds.
//!
//! Every host function is registered through [`Api`], which both installs the
//! Lua function and keeps its [`FnSpec`]. The LuaLS stubs (`apex lua-types`)
//! are generated from those specs, so the editor's view of the API cannot
//! drift from what the binary really registers.
//!
//! A function is named `family.name` (`registry.copy`) and installed at
//! `core.<family>.<name>`; the families and the flat names kept as aliases
//! for one release are listed in [`super::names`].

use std::future::Future;

use mlua::{Function, Lua, LuaSerdeExt, Table, Value};
use schemars::JsonSchema;
use serde::{Serialize, de::DeserializeOwned};

use super::classes::Class;

/// One parameter of a host function, as LuaLS sees it.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    /// A LuaLS type expression, e.g. `apex.FetchOpts` or `string`.
    pub ty: &'static str,
    pub doc: &'static str,
}

/// What a host function may touch; plan mode refuses [`Effect::Remote`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Computes or touches only local files under the caller's control.
    Local,
    /// Reads from a remote service (a registry catalog, Gerrit) without changing it.
    ReadRemote,
    /// Changes a host, registry or engine: refused in plan mode.
    Remote,
}

/// The description of one `apex.core` function.
///
/// A function registered through [`Api::sync`] or [`Api::async_fn`] leaves
/// `params` and `returns` empty (`..FnSpec::TYPED`, or [`FnSpec::local`]):
/// its stub types are rendered from the Rust option and result types it is
/// registered with, so they cannot disagree with the table Lua's value goes
/// through. Only a function registered [`Api::raw`] (callbacks, any value)
/// writes them by hand.
#[derive(Debug, Clone, Copy)]
pub struct FnSpec {
    /// `family.name`, e.g. `registry.copy`: installed at `core.registry.copy`;
    /// errors start with it (`registry.copy: ...`).
    pub name: &'static str,
    /// One or two sentences: what it does and why a flow calls it.
    pub doc: &'static str,
    pub params: &'static [Param],
    /// A LuaLS type expression for the return value.
    pub returns: &'static str,
    /// Whether the function yields (async in Rust): `---@async` in stubs.
    pub is_async: bool,
    pub effect: Effect,
}

impl FnSpec {
    /// The family table the function lives in (`registry` of `registry.copy`).
    pub fn family(&self) -> &'static str {
        self.name.split_once('.').map_or(self.name, |(f, _)| f)
    }

    /// The function's name in its family (`copy` of `registry.copy`).
    pub fn short(&self) -> &'static str {
        self.name.split_once('.').map_or(self.name, |(_, n)| n)
    }

    /// The base of a typed spec (`FnSpec { name, doc, is_async, effect,
    /// ..FnSpec::TYPED }`): no hand-written parameter or return type.
    pub const TYPED: Self = Self {
        name: "",
        doc: "",
        params: &[],
        returns: "",
        is_async: false,
        effect: Effect::Local,
    };

    /// A blocking function with only local effects (files, data, clock),
    /// registered through [`Api::sync`]: its types come from Rust.
    pub const fn local(name: &'static str, doc: &'static str) -> Self {
        Self {
            name,
            doc,
            ..Self::TYPED
        }
    }

    /// A blocking local function registered [`Api::raw`], its LuaLS types
    /// written by hand.
    pub const fn local_raw(
        name: &'static str,
        doc: &'static str,
        params: &'static [Param],
        returns: &'static str,
    ) -> Self {
        Self {
            name,
            doc,
            params,
            returns,
            is_async: false,
            effect: Effect::Local,
        }
    }

    /// Whether the spec writes its types by hand (a raw function).
    pub fn has_lua_types(&self) -> bool {
        !self.params.is_empty() || !self.returns.is_empty()
    }
}

/// Shared state the host keeps in the Lua state's app data.
#[derive(Debug, Clone, Default)]
pub struct HostState {
    /// Plan mode: functions with [`Effect::Remote`] raise instead of acting.
    pub plan: bool,
    /// Override directories, in search order (for `core.modules.list`).
    pub lua_paths: Vec<std::path::PathBuf>,
}

/// Builder for the `apex.core` table.
pub struct Api<'l> {
    lua: &'l Lua,
    table: Table,
    /// The family tables on `table`, by name.
    families: std::collections::BTreeMap<&'static str, Table>,
    specs: Vec<FnSpec>,
    aliases: Vec<Alias>,
    classes: Vec<Class>,
    bindings: Vec<Binding>,
}

/// The Rust types a registered function's options and result go through:
/// its stub's parameter and return types are rendered from them.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    /// Index of the function in [`ApiDoc::functions`].
    pub index: usize,
    pub options: Class,
    pub result: Class,
}

/// Serialization options used for every value handed to Lua: `nil` for
/// `None`/unit (a null userdata would be truthy in Lua).
pub fn to_lua<T: Serialize + ?Sized>(lua: &Lua, v: &T) -> mlua::Result<Value> {
    let opts = mlua::serde::SerializeOptions::new()
        .serialize_none_to_null(false)
        .serialize_unit_to_null(false);
    lua.to_value_with(v, opts)
}

/// Deserialization used for every options table coming from Lua.
pub fn from_lua<T: DeserializeOwned>(lua: &Lua, v: Value) -> mlua::Result<T> {
    let v = match v {
        Value::Nil => Value::Table(lua.create_table()?),
        v => v,
    };
    let de = mlua::serde::Deserializer::new_with_options(
        v,
        mlua::serde::DeserializeOptions::new().sort_keys(true),
    );
    // The failing option's path (`host.port`, `ops[2].path`) goes into the message.
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = match e.into_inner() {
            mlua::Error::DeserializeError(m) => m,
            other => other.to_string(),
        };
        mlua::Error::DeserializeError(if path == "." {
            inner
        } else {
            format!("{path}: {inner}")
        })
    })
}

/// The error for an options table that does not fit the function.
pub fn bad_options(name: &str, e: mlua::Error) -> mlua::Error {
    let cause = match e {
        mlua::Error::DeserializeError(m) => m,
        other => other.to_string(),
    };
    primitive_error(name, format!("bad options: {cause}"))
}

/// Formats a primitive failure as the Lua error message: `name: cause: cause`.
pub fn primitive_error(name: &str, err: impl std::fmt::Display) -> mlua::Error {
    mlua::Error::runtime(format!("{name}: {err}"))
}

fn check_effect(lua: &Lua, spec: &FnSpec) -> mlua::Result<()> {
    if spec.effect == Effect::Remote && lua.app_data_ref::<HostState>().is_some_and(|s| s.plan) {
        return Err(primitive_error(
            spec.name,
            "refused in plan mode (it would change a host, registry or engine)",
        ));
    }
    Ok(())
}

impl<'l> Api<'l> {
    pub fn new(lua: &'l Lua) -> mlua::Result<Self> {
        Ok(Self {
            lua,
            table: lua.create_table()?,
            families: Default::default(),
            specs: Vec::new(),
            aliases: Vec::new(),
            classes: Vec::new(),
            bindings: Vec::new(),
        })
    }

    pub fn lua(&self) -> &'l Lua {
        self.lua
    }

    /// Adds the LuaLS class of `T` (named `apex.X` by its schema), and of the
    /// named types it contains, to the stubs: the specs may then name them.
    pub fn class<T: JsonSchema + 'static>(&mut self) {
        self.classes.push(Class::of::<T>());
    }

    /// Registers a blocking function taking one options table.
    pub fn sync<O, R, F>(&mut self, spec: FnSpec, f: F) -> mlua::Result<()>
    where
        O: DeserializeOwned + JsonSchema + 'static,
        R: Serialize + JsonSchema + 'static,
        F: Fn(&Lua, O) -> anyhow::Result<R> + Send + 'static,
    {
        debug_assert!(!spec.is_async, "{} registered as sync", spec.name);
        let func = self.lua.create_function(move |lua, v: Value| {
            check_effect(lua, &spec)?;
            let opts: O = from_lua(lua, v).map_err(|e| bad_options(spec.name, e))?;
            let out = f(lua, opts).map_err(|e| primitive_error(spec.name, format!("{e:#}")))?;
            to_lua(lua, &out)
        })?;
        self.bind::<O, R>(&spec);
        self.install(spec, func)
    }

    /// Registers an async function taking one options table; it looks blocking to Lua.
    pub fn async_fn<O, R, F, Fut>(&mut self, spec: FnSpec, f: F) -> mlua::Result<()>
    where
        O: DeserializeOwned + JsonSchema + 'static,
        R: Serialize + JsonSchema + 'static,
        F: Fn(O) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<R>> + Send + 'static,
    {
        debug_assert!(spec.is_async, "{} registered as async", spec.name);
        let f = std::sync::Arc::new(f);
        let func = self.lua.create_async_function(move |lua, v: Value| {
            let f = f.clone();
            async move {
                check_effect(&lua, &spec)?;
                let opts: O = from_lua(&lua, v).map_err(|e| bad_options(spec.name, e))?;
                let out = f(opts)
                    .await
                    .map_err(|e| primitive_error(spec.name, format!("{e:#}")))?;
                to_lua(&lua, &out)
            }
        })?;
        self.bind::<O, R>(&spec);
        self.install(spec, func)
    }

    /// Records the option and result types of the function registered next.
    fn bind<O: JsonSchema + 'static, R: JsonSchema + 'static>(&mut self, spec: &FnSpec) {
        assert!(
            !spec.has_lua_types(),
            "apex.core.{}: its types are rendered from its Rust option and result types; \
             remove the hand-written params/returns from its spec",
            spec.name
        );
        self.bindings.push(Binding {
            index: self.specs.len(),
            options: Class::of::<O>(),
            result: Class::of::<R>(),
        });
    }

    /// Registers a function built by hand (e.g. one that takes Lua callbacks),
    /// its LuaLS types written in its spec. The function itself must call
    /// [`Api::guard`] if it has remote effects.
    pub fn raw(&mut self, spec: FnSpec, func: Function) -> mlua::Result<()> {
        assert!(
            !spec.returns.is_empty(),
            "apex.core.{}: a raw function's spec writes its return type",
            spec.name
        );
        self.install(spec, func)
    }

    fn install(&mut self, spec: FnSpec, func: Function) -> mlua::Result<()> {
        let ident = |s: &str| {
            !s.is_empty()
                && !s.starts_with(|c: char| c.is_ascii_digit())
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        assert!(
            spec.name.matches('.').count() == 1 && ident(spec.family()) && ident(spec.short()),
            "apex.core.{}: a host function is named family.name",
            spec.name
        );
        assert!(
            super::names::family_doc(spec.family()).is_some(),
            "apex.core.{}: family {} is not described in lua/names.rs",
            spec.name,
            spec.family()
        );
        assert!(
            !self.specs.iter().any(|s| s.name == spec.name),
            "apex.core.{} registered twice",
            spec.name
        );
        let family = match self.families.get(spec.family()) {
            Some(t) => t.clone(),
            None => {
                let t = self.lua.create_table()?;
                self.table.raw_set(spec.family(), &t)?;
                self.families.insert(spec.family(), t.clone());
                t
            }
        };
        family.raw_set(spec.short(), func)?;
        self.specs.push(spec);
        Ok(())
    }

    /// Installs the flat names of the release before as aliases of their
    /// `family.name` (the same function). A flat name that is now a family
    /// (`core.log`) stays callable through the family table's `__call`.
    pub fn deprecated_aliases(
        &mut self,
        list: &[(&'static str, &'static str)],
    ) -> mlua::Result<()> {
        for &(old, new) in list {
            let spec = *self
                .specs
                .iter()
                .find(|s| s.name == new)
                .unwrap_or_else(|| panic!("alias core.{old}: core.{new} is not registered"));
            assert!(
                !self.aliases.iter().any(|a| a.old == old),
                "alias core.{old} given twice"
            );
            let func: Function = self.families[spec.family()].raw_get(spec.short())?;
            if let Some(family) = self.families.get(old) {
                // The old call `core.log(opts)` arrives as `__call(core.log, opts)`.
                assert!(
                    !spec.is_async,
                    "alias core.{old}: a family's __call must be sync"
                );
                let call = self.lua.create_function(
                    move |_, (_family, args): (Value, mlua::MultiValue)| {
                        func.call::<mlua::MultiValue>(args)
                    },
                )?;
                let meta = self.lua.create_table()?;
                meta.raw_set("__call", call)?;
                family.set_metatable(Some(meta))?;
            } else {
                assert!(
                    self.table.raw_get::<Value>(old)?.is_nil(),
                    "alias core.{old} hides a name on core"
                );
                self.table.raw_set(old, func)?;
            }
            self.aliases.push(Alias { old, new, spec });
        }
        Ok(())
    }

    /// Raises when `spec` may not run now (plan mode and a remote effect).
    pub fn guard(lua: &Lua, spec: &FnSpec) -> mlua::Result<()> {
        check_effect(lua, spec)
    }

    /// Sets a plain value (not a function) on the table, e.g. `version`.
    pub fn value(&mut self, name: &str, v: impl mlua::IntoLua) -> mlua::Result<()> {
        self.table.raw_set(name, v)
    }

    pub fn finish(self) -> (Table, ApiDoc) {
        (
            self.table,
            ApiDoc {
                functions: self.specs,
                aliases: self.aliases,
                classes: self.classes,
                bindings: self.bindings,
            },
        )
    }
}

/// A flat name kept for one release: `core.<old>` is `core.<new>`.
#[derive(Debug, Clone, Copy)]
pub struct Alias {
    pub old: &'static str,
    pub new: &'static str,
    pub spec: FnSpec,
}

impl Alias {
    /// Whether the old name is now a family table, callable via `__call`.
    pub fn is_family(&self) -> bool {
        super::names::family_doc(self.old).is_some()
    }
}

/// What was registered: the source of the LuaLS stubs.
#[derive(Debug, Clone, Default)]
pub struct ApiDoc {
    pub functions: Vec<FnSpec>,
    /// The deprecated flat names, each with the spec of the function it names.
    pub aliases: Vec<Alias>,
    /// Rendered by [`super::classes::render`].
    pub classes: Vec<Class>,
    /// The types of the functions registered through [`Api::sync`] and [`Api::async_fn`].
    pub bindings: Vec<Binding>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRITE: FnSpec = FnSpec {
        name: "fs.poke",
        doc: "test",
        is_async: false,
        effect: Effect::Remote,
        ..FnSpec::TYPED
    };

    fn core_with_poke(plan: bool) -> (Lua, Table) {
        let lua = Lua::new();
        lua.set_app_data(HostState {
            plan,
            ..Default::default()
        });
        let mut api = Api::new(&lua).unwrap();
        api.sync(WRITE, |_, _o: serde_json::Value| {
            Ok(serde_json::json!({"poked": true}))
        })
        .unwrap();
        let (t, doc) = api.finish();
        assert_eq!(doc.functions.len(), 1);
        (lua, t)
    }

    #[test]
    fn plan_mode_refuses_remote_effects() {
        let (lua, core) = core_with_poke(true);
        lua.globals().set("core", core).unwrap();
        let err = lua.load("core.fs.poke({})").exec().unwrap_err().to_string();
        assert!(err.contains("fs.poke: refused in plan mode"), "{err}");
    }

    #[test]
    fn remote_effects_run_outside_plan_mode() {
        let (lua, core) = core_with_poke(false);
        lua.globals().set("core", core).unwrap();
        let poked: bool = lua.load("return core.fs.poke({}).poked").eval().unwrap();
        assert!(poked);
    }

    #[test]
    fn bad_options_name_the_function() {
        let lua = Lua::new();
        let mut api = Api::new(&lua).unwrap();
        #[derive(serde::Deserialize, JsonSchema)]
        struct O {
            #[allow(dead_code)]
            path: String,
        }
        const S: FnSpec = FnSpec {
            name: "fs.needs_path",
            doc: "",
            is_async: false,
            effect: Effect::Local,
            ..FnSpec::TYPED
        };
        api.sync(S, |_, _o: O| Ok(serde_json::json!({}))).unwrap();
        let (t, _) = api.finish();
        lua.globals().set("core", t).unwrap();
        let err = lua
            .load("core.fs.needs_path({})")
            .exec()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("fs.needs_path: bad options: missing field `path`"),
            "{err}"
        );
        // A wrong type names the option, nested ones by their path.
        let err = lua
            .load("core.fs.needs_path({path = {1}})")
            .exec()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("fs.needs_path: bad options: path: invalid type"),
            "{err}"
        );
    }
}
