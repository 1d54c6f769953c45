//! LuaLS classes (`---@class apex.X`) generated from the Rust types Lua sees.
//!
//! The option tables a host function deserializes and the tables it returns
//! are Rust structs; each derives [`JsonSchema`] (its `///` comments become
//! the field docs) and is named for Lua with `#[schemars(rename =
//! "apex.X")]`. A family registers the classes its functions name
//! ([`crate::lua::Api::class`]); the classes they contain come with them.
//! So the stub of a class is rendered from the one type that parses or
//! builds the table, and cannot drift from it.
//!
//! The rendering, from the schema (deserialize view: what Lua may pass):
//! - a field is optional (`name?`) when Lua may leave it out or get nil
//!   (`Option`, `#[serde(default)]`);
//! - `Vec<T>` is `T[]`, a string-keyed map `table<string,T>`, a named struct
//!   its class, an inlined struct (`#[schemars(inline)]`) a table literal, a
//!   string enum `"a"|"b"`, integers `integer`, paths `string`;
//! - required fields come first in declaration order, then the optional
//!   ones by name (the schema keeps no order for those);
//! - an internally tagged enum (`#[serde(tag = "op")]`) is one class: the tag
//!   is the union of its values, every other field is optional and says
//!   which variants take it, and the class doc lists the variants.
//!
//! A type Lua sees is either a class named `apex.X` or inlined
//! (`#[schemars(inline)]`: enums, small tables).
//!
//! A function registered with its Rust types ([`crate::lua::Api::sync`],
//! [`crate::lua::Api::async_fn`]) gets its stub's parameter and return types
//! here too ([`render_api`]): the class name, or the table literal of an
//! inlined struct with its field docs on the parameter; options whose fields
//! are all optional may be nil (`T?`: nil is read as `{}`). Its spec writes
//! no type. The tests below hold that only the raw functions (any value, a
//! callback) write types by hand, and that every class named is generated.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{Map, Value};
use std::any::TypeId;
use std::borrow::Cow;

use super::api::ApiDoc;

/// One registered class: a type whose schema (and the schemas of the named
/// types it contains) the stub renders.
#[derive(Clone, Copy)]
pub struct Class {
    name: fn() -> Cow<'static, str>,
    add: fn(&mut SchemaGenerator) -> Schema,
    type_id: TypeId,
}

impl std::fmt::Debug for Class {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Class({})", (self.name)())
    }
}

impl Class {
    pub fn of<T: JsonSchema + 'static>() -> Self {
        Self {
            name: T::schema_name,
            add: SchemaGenerator::subschema_for::<T>,
            type_id: TypeId::of::<T>(),
        }
    }

    /// The LuaLS name, e.g. `apex.BuildOpts`.
    pub fn name(&self) -> Cow<'static, str> {
        (self.name)()
    }

    /// The Rust type it is rendered from.
    pub fn type_id(&self) -> TypeId {
        self.type_id
    }
}

/// The `---@class` (or `---@alias`) blocks of `classes` and of every named
/// type they contain, sorted by name, one string per block.
pub fn render(classes: &[Class]) -> Vec<String> {
    let mut generator = SchemaSettings::draft2020_12()
        .for_deserialize()
        .into_generator();
    for c in classes {
        let r = (c.add)(&mut generator);
        assert!(
            r.get("$ref").is_some(),
            "{} is inlined: a class must be a named type",
            (c.name)()
        );
    }
    generator
        .definitions()
        .iter()
        .map(|(name, schema)| render_def(name, schema))
        .collect()
}

/// The LuaLS types of one function's stub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// (name, type, doc) of each parameter.
    pub params: Vec<(&'static str, String, String)>,
    pub returns: String,
}

/// The stubs' class blocks ([`render`] of the registered classes and of
/// every named type a bound function's options or result contain) and each
/// function's signature, by its index in [`ApiDoc::functions`]: a bound
/// function's rendered from its Rust types, a raw one's as its spec writes.
pub fn render_api(doc: &ApiDoc) -> (Vec<String>, Vec<Signature>) {
    let mut de = SchemaSettings::draft2020_12()
        .for_deserialize()
        .into_generator();
    // A result is rendered as Lua receives it (a field serde skips when
    // empty is optional); the named classes in it come from `de`.
    let mut ser = SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    let mut sigs: Vec<Signature> = doc
        .functions
        .iter()
        .map(|f| Signature {
            params: f
                .params
                .iter()
                .map(|p| (p.name, p.ty.to_string(), p.doc.to_string()))
                .collect(),
            returns: f.returns.to_string(),
        })
        .collect();
    let mut options = Vec::new();
    for b in &doc.bindings {
        let schema = (b.options.add)(&mut de);
        let result = (b.result.add)(&mut ser);
        (b.result.add)(&mut de);
        options.push((b.index, schema));
        sigs[b.index].returns = lua_type(result.as_value()).0;
    }
    for c in &doc.classes {
        (c.add)(&mut de);
    }
    let defs = de.definitions().clone();
    for (index, schema) in options {
        let (mut ty, _) = lua_type(schema.as_value());
        // Lua may leave out a table whose fields are all optional (nil is `{}`).
        let target = match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => defs.get(r.rsplit('/').next().unwrap_or(r)),
            None => Some(schema.as_value()),
        };
        if target.is_some_and(all_optional) && !ty.ends_with('?') {
            if ty.contains('|') {
                ty = format!("({ty})");
            }
            ty.push('?');
        }
        // An inlined table's field docs go on the parameter (a class has its own).
        let doc = match target {
            Some(t) if schema.get("$ref").is_none() => inline_doc(t),
            _ => String::new(),
        };
        sigs[index].params = vec![("opts", ty, doc)];
    }
    let blocks = defs
        .iter()
        .map(|(name, schema)| render_def(name, schema))
        .collect();
    (blocks, sigs)
}

/// The doc of an inlined table: its own, then each documented field's.
fn inline_doc(schema: &Value) -> String {
    let mut parts: Vec<String> = description(schema)
        .map(|d| one_line(d).trim_end_matches('.').to_string())
        .into_iter()
        .collect();
    parts.extend(
        fields(schema)
            .into_iter()
            .filter_map(|f| Some(format!("{}: {}", f.name, f.doc?.trim_end_matches('.')))),
    );
    parts.join("; ")
}

/// An object schema that requires no field.
fn all_optional(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("object")
        && schema
            .get("required")
            .and_then(Value::as_array)
            .is_none_or(|r| r.is_empty())
}

/// One named type: a struct is a class, an internally tagged enum a class
/// with every variant's fields, anything else an alias.
fn render_def(name: &str, schema: &Value) -> String {
    let mut out = String::new();
    push_doc(&mut out, schema);
    if schema.get("properties").is_some() {
        out.push_str(&format!("---@class {name}\n"));
        for f in fields(schema) {
            out.push_str(&f.line());
        }
    } else if let Some(variants) = tagged_variants(schema) {
        render_tagged(&mut out, name, &variants);
    } else {
        out.push_str(&format!("---@alias {name} {}\n", lua_type(schema).0));
    }
    out.truncate(out.trim_end().len());
    out
}

fn push_doc(out: &mut String, schema: &Value) {
    if let Some(d) = description(schema) {
        for line in d.lines() {
            out.push_str(&format!("--- {line}\n").replace("--- \n", "---\n"));
        }
    }
}

fn description(schema: &Value) -> Option<&str> {
    schema
        .get("description")
        .and_then(Value::as_str)
        .filter(|d| !d.trim().is_empty())
}

/// A doc on one line (a `---@field` line cannot continue).
fn one_line(doc: &str) -> String {
    doc.split_whitespace().collect::<Vec<_>>().join(" ")
}

struct Field {
    name: String,
    ty: String,
    optional: bool,
    doc: Option<String>,
}

impl Field {
    fn line(&self) -> String {
        let opt = if self.optional { "?" } else { "" };
        match &self.doc {
            Some(d) => format!("---@field {}{opt} {} {d}\n", self.name, self.ty),
            None => format!("---@field {}{opt} {}\n", self.name, self.ty),
        }
    }
}

/// The fields of an object schema: required ones in declaration order,
/// then the others by name.
fn fields(schema: &Value) -> Vec<Field> {
    let empty = Map::new();
    let props = schema
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut names: Vec<&str> = required
        .iter()
        .copied()
        .filter(|n| props.contains_key(*n))
        .collect();
    names.extend(
        props
            .keys()
            .map(String::as_str)
            .filter(|n| !required.contains(n)),
    );
    names
        .into_iter()
        .map(|n| {
            let (ty, nullable) = lua_type(&props[n]);
            let doc = description(&props[n]).map(one_line);
            let doc = match (doc, value_docs(&props[n])) {
                (Some(d), Some(v)) => Some(format!("{d} {v}")),
                (d, v) => d.or(v),
            };
            Field {
                name: n.to_string(),
                ty,
                optional: nullable || !required.contains(&n),
                doc,
            }
        })
        .collect()
}

/// What each value of a string enum means, when its variants have docs:
/// "`a`: doc; `b`: doc".
fn value_docs(schema: &Value) -> Option<String> {
    let values = schema.get("oneOf")?.as_array()?;
    let docs: Vec<String> = values
        .iter()
        .filter_map(|v| {
            let value = v.get("const")?.as_str()?;
            let doc = one_line(description(v)?);
            Some(format!("`{value}`: {}", doc.trim_end_matches('.')))
        })
        .collect();
    (!docs.is_empty()).then(|| docs.join("; "))
}

/// The variants of an internally tagged enum: (tag field, tag value, variant schema).
fn tagged_variants(schema: &Value) -> Option<Vec<(String, String, &Value)>> {
    let variants = schema.get("oneOf")?.as_array()?;
    let mut out = Vec::new();
    for v in variants {
        let props = v.get("properties")?.as_object()?;
        let (tag, value) = props
            .iter()
            .find_map(|(k, p)| Some((k, p.get("const")?.as_str()?)))?;
        out.push((tag.clone(), value.to_string(), v));
    }
    let tag = &out.first()?.0;
    out.iter().all(|(t, ..)| t == tag).then_some(out)
}

fn render_tagged(out: &mut String, name: &str, variants: &[(String, String, &Value)]) {
    let tag = &variants[0].0;
    for (_, value, v) in variants {
        match description(v) {
            Some(d) => out.push_str(&format!("--- - `{value}`: {}\n", one_line(d))),
            None => out.push_str(&format!("--- - `{value}`\n")),
        }
    }
    out.push_str(&format!("---@class {name}\n"));
    let values: Vec<String> = variants.iter().map(|(_, v, _)| quote(v)).collect();
    out.push_str(&format!("---@field {tag} {}\n", values.join("|")));
    // Each field once, in the order the variants first name it.
    let mut merged: Vec<(Field, Vec<&str>)> = Vec::new();
    for (_, value, v) in variants {
        for f in fields(v).into_iter().filter(|f| f.name != *tag) {
            match merged.iter_mut().find(|(m, _)| m.name == f.name) {
                Some((m, users)) => {
                    if !m.ty.split('|').any(|t| t == f.ty) {
                        m.ty = format!("{}|{}", m.ty, f.ty);
                    }
                    if m.doc.is_none() {
                        m.doc = f.doc;
                    }
                    users.push(value);
                }
                None => merged.push((f, vec![value])),
            }
        }
    }
    for (mut f, users) in merged {
        f.optional = true;
        let which = format!("({})", users.join(", "));
        f.doc = Some(match f.doc {
            Some(d) => format!("{d} {which}"),
            None => which,
        });
        out.push_str(&f.line());
    }
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

/// The LuaLS type of a schema, and whether it admits nil.
fn lua_type(schema: &Value) -> (String, bool) {
    let Some(obj) = schema.as_object() else {
        // `true`: anything (e.g. a `serde_json::Value`).
        return ("any".into(), false);
    };
    if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        return (name.to_string(), false);
    }
    if let Some(c) = obj.get("const") {
        return literal_union(std::slice::from_ref(c));
    }
    if let Some(Value::Array(values)) = obj.get("enum") {
        return literal_union(values);
    }
    if let Some(Value::Array(vs)) = obj.get("anyOf").or_else(|| obj.get("oneOf")) {
        return union(vs.iter().map(lua_type));
    }
    let types: Vec<&str> = match obj.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return ("any".into(), false),
    };
    union(types.into_iter().map(|t| match t {
        "null" => (String::new(), true),
        "string" => ("string".into(), false),
        "integer" => ("integer".into(), false),
        "number" => ("number".into(), false),
        "boolean" => ("boolean".into(), false),
        "array" => {
            let item = match obj.get("items") {
                Some(items) => lua_type(items).0,
                None => "any".into(),
            };
            if item.contains('|') {
                (format!("({item})[]"), false)
            } else {
                (format!("{item}[]"), false)
            }
        }
        "object" => (object_type(obj), false),
        _ => ("any".into(), false),
    }))
}

/// An object that is not a named class: a table literal, a map, or a table.
fn object_type(obj: &Map<String, Value>) -> String {
    if obj.contains_key("properties") {
        let fields: Vec<String> = fields(&Value::Object(obj.clone()))
            .into_iter()
            .map(|f| {
                let opt = if f.optional { "?" } else { "" };
                format!("{}{opt}: {}", f.name, f.ty)
            })
            .collect();
        return format!("{{{}}}", fields.join(", "));
    }
    match obj.get("additionalProperties") {
        Some(v @ Value::Object(_)) => format!("table<string,{}>", lua_type(v).0),
        // A struct without fields.
        None | Some(Value::Bool(false)) => "{}".into(),
        _ => "table".into(),
    }
}

fn literal_union(values: &[Value]) -> (String, bool) {
    union(values.iter().map(|v| match v {
        Value::Null => (String::new(), true),
        Value::String(s) => (quote(s), false),
        other => (other.to_string(), false),
    }))
}

/// Joins alternatives with `|` (each once); nil makes the whole nullable.
fn union(parts: impl Iterator<Item = (String, bool)>) -> (String, bool) {
    let mut names: Vec<String> = Vec::new();
    let mut nullable = false;
    for (t, n) in parts {
        nullable |= n;
        if !t.is_empty() && t != "nil" && !names.contains(&t) {
            names.push(t);
        }
    }
    if names.is_empty() {
        return ("nil".into(), true);
    }
    (names.join("|"), nullable)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::PathBuf;

    use schemars::JsonSchema;
    use serde::Deserialize;

    use super::*;

    /// Every `apex.X` a LuaLS type expression names.
    pub fn named_classes(ty: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut rest = ty;
        while let Some(at) = rest.find("apex.") {
            let tail = &rest[at..];
            let end = tail
                .char_indices()
                .skip(5)
                .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '.'))
                .map_or(tail.len(), |(i, _)| i);
            out.insert(tail[..end].to_string());
            rest = &tail[end..];
        }
        out
    }

    #[allow(dead_code)]
    #[derive(Deserialize, JsonSchema)]
    #[serde(rename_all = "snake_case")]
    #[schemars(inline)]
    enum Mode {
        /// no checks
        Fast,
        /// every check
        Safe,
    }

    /// A pair of ports.
    #[allow(dead_code)]
    #[derive(Deserialize, JsonSchema)]
    #[schemars(inline)]
    struct Forward {
        host: u16,
        guest: u16,
    }

    /// Where to go.
    #[allow(dead_code)]
    #[derive(Deserialize, JsonSchema)]
    #[schemars(rename = "apex.Inner")]
    struct Inner {
        /// the address
        address: String,
    }

    /// Holds one field of each kind.
    ///
    /// Second paragraph.
    #[allow(dead_code)]
    #[derive(Deserialize, JsonSchema)]
    #[schemars(rename = "apex.Every")]
    struct Every {
        /// the name,
        /// on two lines
        name: String,
        count: u64,
        ratio: Option<f64>,
        #[serde(default)]
        on: bool,
        path: PathBuf,
        #[serde(default)]
        list: Vec<String>,
        map: BTreeMap<String, Inner>,
        inner: Inner,
        maybe: Option<Inner>,
        mode: Mode,
        forwards: Vec<Forward>,
        #[schemars(with = "SizeArg")]
        size: u64,
    }

    #[allow(dead_code)]
    #[derive(JsonSchema)]
    #[serde(untagged)]
    #[schemars(inline)]
    enum SizeArg {
        Bytes(u64),
        Text(String),
    }

    /// A step.
    #[allow(dead_code)]
    #[derive(Deserialize, JsonSchema)]
    #[serde(tag = "op", rename_all = "snake_case")]
    #[schemars(rename = "apex.Step")]
    enum Step {
        /// Writes a file.
        Write {
            /// where
            path: String,
            mode: Option<u32>,
        },
        /// Makes a directory.
        Mkdir {
            path: String,
            mode: Option<u32>,
        },
        Run {
            command: String,
        },
    }

    #[test]
    fn renders_each_kind_of_field() {
        let out = render(&[Class::of::<Every>(), Class::of::<Step>()]);
        assert_eq!(
            out,
            [
                "--- Holds one field of each kind.
---
--- Second paragraph.
---@class apex.Every
---@field name string the name, on two lines
---@field count integer
---@field path string
---@field map table<string,apex.Inner>
---@field inner apex.Inner
---@field mode \"fast\"|\"safe\" `fast`: no checks; `safe`: every check
---@field forwards {host: integer, guest: integer}[]
---@field size integer|string
---@field list? string[]
---@field maybe? apex.Inner
---@field on? boolean
---@field ratio? number",
                "--- Where to go.
---@class apex.Inner
---@field address string the address",
                "--- A step.
--- - `write`: Writes a file.
--- - `mkdir`: Makes a directory.
--- - `run`
---@class apex.Step
---@field op \"write\"|\"mkdir\"|\"run\"
---@field path? string where (write, mkdir)
---@field mode? integer (write, mkdir)
---@field command? string (run)",
            ]
        );
    }

    /// The classes every registered function names exist in the stub, and
    /// every generated class is named `apex.X` (a Rust type Lua sees is a
    /// named class or inlined; a clash of two names would add a digit).
    #[test]
    fn every_class_a_function_names_is_generated() {
        let doc = crate::lua::api_doc().unwrap();
        let (rendered, sigs) = render_api(&doc);
        let generated: BTreeSet<String> = rendered
            .iter()
            .flat_map(|block| block.lines())
            .filter_map(|l| {
                l.strip_prefix("---@class ")
                    .or_else(|| l.strip_prefix("---@alias "))
            })
            .map(|l| l.split_whitespace().next().unwrap().to_string())
            .collect();
        assert!(generated.len() >= 30, "only {generated:?}");
        for name in &generated {
            let tail = name.strip_prefix("apex.").unwrap_or("");
            assert!(
                tail.starts_with(|c: char| c.is_ascii_uppercase())
                    && tail.chars().all(|c| c.is_ascii_alphabetic()),
                "generated class {name}: name Lua types apex.X (#[schemars(rename)]) or inline them"
            );
        }
        let mut named = BTreeSet::new();
        for (f, sig) in doc.functions.iter().zip(&sigs) {
            for ty in sig.params.iter().map(|p| &p.1).chain([&sig.returns]) {
                for class in named_classes(ty) {
                    assert!(
                        generated.contains(&class),
                        "core.{} names {class}, which no registered type generates",
                        f.name
                    );
                    named.insert(class);
                }
            }
        }
        // The stub text itself refers to no class it lacks either.
        for block in &rendered {
            for class in named_classes(block) {
                assert!(
                    generated.contains(&class),
                    "{class} is named but not generated"
                );
            }
        }
        assert!(named.len() >= 20, "only {named:?}");
    }

    /// The functions whose stub types are written by hand: each is
    /// registered raw because Lua's value does not go through a serde type
    /// (any value, a callback). Every other function is
    /// registered with its Rust option and result types, which its stub is
    /// rendered from: a function that moves to raw (and so could drift) has
    /// to be added here, with its reason.
    const HAND_TYPED: &[(&str, &str)] = &[
        ("data.array", "marks any Lua table"),
        ("json.dump", "any Lua value"),
        ("yaml.dump", "any Lua value"),
        ("parallel.map", "takes a Lua callback"),
    ];

    /// A spec's types cannot disagree with the Rust types its function is
    /// registered with: a bound spec writes none (registration refuses one
    /// that does), its stub is rendered from the types, and only the
    /// functions of [`HAND_TYPED`] are written by hand.
    #[test]
    fn only_raw_functions_write_their_types_by_hand() {
        let doc = crate::lua::api_doc().unwrap();
        let (_, sigs) = render_api(&doc);
        let bound: BTreeSet<usize> = doc.bindings.iter().map(|b| b.index).collect();
        let mut hand = Vec::new();
        for (i, f) in doc.functions.iter().enumerate() {
            if bound.contains(&i) {
                assert!(
                    !f.has_lua_types(),
                    "core.{}: bound, yet its spec writes types",
                    f.name
                );
            } else {
                assert!(f.has_lua_types(), "core.{}: raw without types", f.name);
                hand.push(f.name);
            }
        }
        hand.sort();
        let mut want: Vec<&str> = HAND_TYPED.iter().map(|(n, _)| *n).collect();
        want.sort();
        assert_eq!(
            hand, want,
            "the functions registered raw (types by hand) are not those listed in HAND_TYPED"
        );
        assert!(bound.len() >= 60, "only {} bound", bound.len());
        // A bound type says what the table holds: `any` or a bare `table`
        // (a `serde_json::Value`, a field-less map) would hide it. A loaded
        // document is any value.
        let documents = ["yaml.load", "json.load"];
        for b in &doc.bindings {
            let (f, sig) = (&doc.functions[b.index], &sigs[b.index]);
            let mut types = vec![sig.params[0].1.as_str()];
            if !documents.contains(&f.name) {
                types.push(&sig.returns);
            }
            for ty in types {
                let bare = ty.trim_end_matches('?');
                assert!(
                    bare != "any" && bare != "table",
                    "core.{}: its type renders as {ty}; give its options or result a struct",
                    f.name
                );
            }
        }
    }

    /// A bound function's stub types are those of its Rust types, through
    /// the host as registered (here `data.sha256`'s `HashOpts` and `Hex`).
    #[test]
    fn a_bound_function_has_the_types_of_its_structs() {
        let doc = crate::lua::api_doc().unwrap();
        let (_, sigs) = render_api(&doc);
        let i = doc
            .functions
            .iter()
            .position(|f| f.name == "data.sha256")
            .unwrap();
        assert_eq!(
            sigs[i],
            Signature {
                params: vec![(
                    "opts",
                    "{path?: string, text?: string}?".into(),
                    "One of the two".into()
                )],
                returns: "{hex: string}".into(),
            }
        );
        let i = doc
            .functions
            .iter()
            .position(|f| f.name == "artifacts.fetch")
            .unwrap();
        assert_eq!(sigs[i].returns, "apex.FetchResult|apex.FetchResults");
    }

    #[test]
    fn finds_the_classes_a_type_names() {
        let got: Vec<String> =
            named_classes("{host: apex.SshHost, x?: apex.Vbmc[]}|apex.FetchResult")
                .into_iter()
                .collect();
        assert_eq!(got, ["apex.FetchResult", "apex.SshHost", "apex.Vbmc"]);
    }
}
