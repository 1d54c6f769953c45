//! YAML and JSON load/dump. YAML goes through serde-saphyr (the maintained,
//! pure-Rust successor of serde_yaml) so syntax errors carry line and column.

use std::path::{Path, PathBuf};

use mlua::{Lua, Value};
use serde::Deserialize;

use crate::lua::api::{Api, FnSpec, Param, from_lua};

/// Parses YAML text; `origin` names the file in errors.
pub fn parse_yaml(text: &str, origin: &str) -> anyhow::Result<serde_json::Value> {
    if text.trim().is_empty() {
        return Ok(serde_json::Value::Null);
    }
    serde_saphyr::from_str::<serde_json::Value>(text)
        .map_err(|e| anyhow::anyhow!("{origin}: invalid YAML: {}", for_operators(&e.to_string())))
}

/// The parser's message in an operator's words: its advice to the
/// programmer (which parser option to set) is dropped, and the alias-bomb
/// guard says what it guards against.
fn for_operators(msg: &str) -> String {
    let msg = msg.replace(", set DuplicateKeyPolicy in Options if acceptable", "");
    match msg.find("budget breached") {
        Some(at) => {
            let end = msg[at..].find('\n').map_or(msg.len(), |n| at + n);
            format!(
                "{}the document expands to too much (aliases or nesting past the parser's limits){}",
                &msg[..at],
                &msg[end..]
            )
        }
        None => msg,
    }
}

/// Reads and parses a YAML file.
pub fn load_yaml_file(path: &Path) -> anyhow::Result<serde_json::Value> {
    let text = crate::fsutil::read_settings_text(path)?;
    parse_yaml(&text, &path.display().to_string())
}

/// Renders a value as YAML.
pub fn dump_yaml(v: &serde_json::Value) -> anyhow::Result<String> {
    Ok(serde_saphyr::to_string(v)?)
}

/// One of path or text.
#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
struct LoadOpts {
    path: Option<PathBuf>,
    text: Option<String>,
    /// Name used in error messages when parsing `text`.
    name: Option<String>,
}

impl LoadOpts {
    fn source(&self, what: &str) -> anyhow::Result<(String, String)> {
        match (&self.path, &self.text) {
            (Some(p), None) => Ok((
                crate::fsutil::read_settings_text(p)?,
                p.display().to_string(),
            )),
            (None, Some(t)) => Ok((
                t.clone(),
                self.name
                    .clone()
                    .unwrap_or_else(|| format!("<{what} text>")),
            )),
            _ => anyhow::bail!("give exactly one of `path` or `text`"),
        }
    }
}

/// Parses JSON text; `origin` names the file in errors.
pub fn parse_json(text: &str, origin: &str) -> anyhow::Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| anyhow::anyhow!("{origin}: invalid JSON: {e}"))
}

const YAML_LOAD: FnSpec = FnSpec::local(
    "yaml.load",
    "Parses a YAML document from a file or a string. Syntax errors name the file, line and column.",
);
const JSON_LOAD: FnSpec = FnSpec::local(
    "json.load",
    "Parses a JSON document from a file or a string.",
);
const YAML_DUMP: FnSpec = FnSpec::local_raw(
    "yaml.dump",
    "Renders a Lua value as YAML text (map keys sorted, so output is stable).",
    &[Param {
        name: "value",
        ty: "any",
        doc: "tables, strings, numbers, booleans",
    }],
    "string",
);
const JSON_DUMP: FnSpec = FnSpec::local_raw(
    "json.dump",
    "Renders a Lua value as JSON text (map keys sorted).",
    &[
        Param {
            name: "value",
            ty: "any",
            doc: "tables, strings, numbers, booleans",
        },
        Param {
            name: "opts",
            ty: "{pretty?: boolean}?",
            doc: "pretty-print",
        },
    ],
    "string",
);

const ARRAY: FnSpec = FnSpec::local_raw(
    "data.array",
    "Marks a table as a list, so json.dump and yaml.dump write it as `[]` when it is empty (an empty table is a mapping otherwise). Lists read by yaml.load and json.load, and those returned by host functions, carry the mark already.",
    &[Param {
        name: "t",
        ty: "any[]?",
        doc: "the table (default a new one)",
    }],
    "any[]",
);

fn to_json(lua: &Lua, v: Value) -> mlua::Result<serde_json::Value> {
    from_lua::<serde_json::Value>(lua, v)
}

pub fn register(api: &mut Api) -> mlua::Result<()> {
    let lua = api.lua();
    api.sync(YAML_LOAD, |_, o: LoadOpts| {
        let (text, origin) = o.source("YAML")?;
        parse_yaml(&text, &origin)
    })?;
    api.sync(JSON_LOAD, |_, o: LoadOpts| {
        let (text, origin) = o.source("JSON")?;
        parse_json(&text, &origin)
    })?;
    api.raw(
        ARRAY,
        lua.create_function(|lua, t: Option<mlua::Table>| {
            use mlua::LuaSerdeExt as _;
            let t = match t {
                Some(t) => t,
                None => lua.create_table()?,
            };
            t.set_metatable(Some(lua.array_metatable()))?;
            Ok(t)
        })?,
    )?;
    api.raw(
        YAML_DUMP,
        lua.create_function(|lua, v: Value| {
            let j =
                to_json(lua, v).map_err(|e| crate::lua::api::primitive_error(YAML_DUMP.name, e))?;
            dump_yaml(&j).map_err(|e| crate::lua::api::primitive_error(YAML_DUMP.name, e))
        })?,
    )?;
    api.raw(
        JSON_DUMP,
        lua.create_function(|lua, (v, opts): (Value, Option<mlua::Table>)| {
            let j =
                to_json(lua, v).map_err(|e| crate::lua::api::primitive_error(JSON_DUMP.name, e))?;
            let pretty = opts
                .map(|o| o.get::<Option<bool>>("pretty"))
                .transpose()?
                .flatten()
                .unwrap_or(false);
            let s = if pretty {
                serde_json::to_string_pretty(&j)
            } else {
                serde_json::to_string(&j)
            };
            s.map_err(|e| crate::lua::api::primitive_error(JSON_DUMP.name, e))
        })?,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_syntax_error_names_file_and_line() {
        let err = parse_yaml("a: 1\nb: [1, 2\nc: 3\n", "deploy.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("deploy.yaml: invalid YAML"), "{err}");
        assert!(err.contains('3') || err.contains('2'), "no line in {err}");
    }

    #[test]
    fn yaml_errors_speak_to_the_operator() {
        let dup = parse_yaml("a: 1\na: 2\n", "d.yaml")
            .unwrap_err()
            .to_string();
        assert!(dup.contains("duplicate mapping key: a"), "{dup}");
        assert!(!dup.contains("DuplicateKeyPolicy"), "{dup}");
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
        for (prev, name) in ["a", "b", "c", "d", "e", "f", "g", "h"]
            .iter()
            .zip(["b", "c", "d", "e", "f", "g", "h", "i"])
        {
            bomb.push_str(&format!(
                "{name}: &{name} [{}]\n",
                vec![format!("*{prev}"); 9].join(", ")
            ));
        }
        let err = parse_yaml(&bomb, "b.yaml").unwrap_err().to_string();
        assert!(err.contains("expands to too much"), "{err}");
        assert!(!err.contains("budget breached"), "{err}");
    }

    #[test]
    fn yaml_round_trip() {
        let v = parse_yaml("a: [1, two]\nb: {c: true}\n", "x").unwrap();
        let again = parse_yaml(&dump_yaml(&v).unwrap(), "y").unwrap();
        assert_eq!(v, again);
    }
}
