//! Where Lua modules come from: override directories first, then the Lua
//! files shipped inside the binary.
//!
//! Module names map to files the same way in both places:
//! `apex.<name>` is `stdlib/<name>.lua`, `plugins.<name>` is `plugins/<name>.lua`,
//! `scenarios.<name>` is `scripts/scenarios/<name>.lua`, `steps.<name>` (one
//! deploy step) is `scripts/steps/<name>.lua` and `flows.<name>` is
//! `scripts/<name>.lua`. In an override directory the same module lives at
//! `DIR/apex/<name>.lua`, `DIR/plugins/<name>.lua`, `DIR/scenarios/<name>.lua`,
//! `DIR/steps/<name>.lua` or `DIR/flows/<name>.lua` (plain Lua `package.path` rules).

use std::path::PathBuf;
use std::sync::OnceLock;

use include_dir::{Dir, include_dir};

static STDLIB: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/stdlib");
static PLUGINS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/plugins");
static SCRIPTS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/scripts");

/// A shipped Lua source file.
#[derive(Debug, Clone, Copy)]
pub struct Shipped {
    /// The path inside the repository, used as the chunk name (`@stdlib/x.lua`).
    pub repo_path: &'static str,
    pub source: &'static str,
}

/// The module-name prefixes, the embedded directory each one reads, the
/// sub-directory inside it, and the repository path of that directory.
struct Root {
    prefix: &'static str,
    dir: &'static Dir<'static>,
    sub: &'static str,
    repo: &'static str,
}

const ROOTS: &[Root] = &[
    Root {
        prefix: "apex.",
        dir: &STDLIB,
        sub: "",
        repo: "stdlib/",
    },
    Root {
        prefix: "plugins.",
        dir: &PLUGINS,
        sub: "",
        repo: "plugins/",
    },
    Root {
        prefix: "scenarios.",
        dir: &SCRIPTS,
        sub: "scenarios/",
        repo: "scripts/",
    },
    Root {
        prefix: "steps.",
        dir: &SCRIPTS,
        sub: "steps/",
        repo: "scripts/",
    },
    Root {
        prefix: "flows.",
        dir: &SCRIPTS,
        sub: "",
        repo: "scripts/",
    },
];

/// Every shipped module with its source, computed once.
fn table() -> &'static [(String, Shipped)] {
    static TABLE: OnceLock<Vec<(String, Shipped)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut out = Vec::new();
        for root in ROOTS {
            collect(root, root.dir, &mut out);
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    })
}

fn collect(root: &Root, dir: &'static Dir<'static>, out: &mut Vec<(String, Shipped)>) {
    for f in dir.files() {
        let path = f.path().to_string_lossy();
        let (Some(rel), Some(source)) = (path.strip_prefix(root.sub), f.contents_utf8()) else {
            continue;
        };
        let Some(stem) = rel.strip_suffix(".lua") else {
            continue;
        };
        // `flows.` covers only the top level of scripts/; scenarios have their own prefix.
        if root.prefix == "flows." && stem.contains('/') {
            continue;
        }
        let module = format!("{}{}", root.prefix, stem.replace('/', "."));
        let repo_path: &'static str = Box::leak(format!("{}{}", root.repo, path).into_boxed_str());
        out.push((module, Shipped { repo_path, source }));
    }
    for d in dir.dirs() {
        collect(root, d, out);
    }
}

/// Every shipped module: its name and source, sorted by name.
pub fn shipped_all() -> impl Iterator<Item = (&'static str, Shipped)> {
    table().iter().map(|(m, s)| (m.as_str(), *s))
}

/// Finds the shipped source of a module, if the binary carries one.
pub fn shipped(module: &str) -> Option<Shipped> {
    let t = table();
    t.binary_search_by(|(m, _)| m.as_str().cmp(module))
        .ok()
        .map(|i| t[i].1)
}

/// Where a module was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Shipped(&'static str),
    Override(PathBuf),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Shipped(p) => write!(f, "shipped ({p})"),
            Origin::Override(p) => write!(f, "{}", p.display()),
        }
    }
}

/// A module found by [`list`].
#[derive(Debug, Clone)]
pub struct Found {
    /// The short name (`opendaylight`), without the kind prefix.
    pub name: String,
    /// The full module name (`plugins.opendaylight`).
    pub module: String,
    pub origin: Origin,
}

/// Lists the modules of one kind (`plugins`, `scenarios`), override
/// directories first so the origin shown is the one `require` will load.
pub fn list(kind: &str, lua_paths: &[PathBuf]) -> Vec<Found> {
    let mut out: Vec<Found> = Vec::new();
    let push = |out: &mut Vec<Found>, name: String, origin: Origin| {
        if !out.iter().any(|f| f.name == name) {
            out.push(Found {
                module: format!("{kind}.{name}"),
                name,
                origin,
            });
        }
    };
    for dir in lua_paths {
        let sub = dir.join(kind);
        let Ok(entries) = std::fs::read_dir(&sub) else {
            continue;
        };
        let mut names: Vec<_> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "lua"))
            .collect();
        names.sort();
        for p in names {
            if let Some(stem) = p.file_stem().and_then(|s| s.to_str()) {
                push(&mut out, stem.to_string(), Origin::Override(p.clone()));
            }
        }
    }
    let prefix = format!("{kind}.");
    for (module, ship) in table() {
        if let Some(name) = module.strip_prefix(&prefix) {
            push(&mut out, name.to_string(), Origin::Shipped(ship.repo_path));
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Every shipped module name, for tests and stubs.
pub fn all_shipped() -> Vec<String> {
    table().iter().map(|(m, _)| m.clone()).collect()
}

/// The `package.path` for a list of override directories.
pub fn package_path(dirs: &[PathBuf]) -> String {
    dirs.iter()
        .flat_map(|d| {
            let d = d.display();
            [format!("{d}/?.lua"), format!("{d}/?/init.lua")]
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// Resolves the file a module would load from an override directory.
pub fn find_override(module: &str, dirs: &[PathBuf]) -> Option<PathBuf> {
    let rel = module.replace('.', "/");
    dirs.iter().find_map(|d| {
        [d.join(format!("{rel}.lua")), d.join(&rel).join("init.lua")]
            .into_iter()
            .find(|p| p.is_file())
    })
}

/// Where `module` resolves to, following the same order as `require`.
pub fn origin(module: &str, dirs: &[PathBuf]) -> Option<Origin> {
    if let Some(p) = find_override(module, dirs) {
        return Some(Origin::Override(p));
    }
    shipped(module).map(|s| Origin::Shipped(s.repo_path))
}

/// Splits `APEX_LUA_PATH` (colon separated, empty parts ignored).
pub fn env_paths(value: &str) -> Vec<PathBuf> {
    value
        .split(':')
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .collect()
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
struct ModulesOpts {
    kind: Kind,
}

// The kinds of module `core.modules.list` lists.
#[derive(Clone, Copy, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(inline)]
enum Kind {
    Plugins,
    Scenarios,
    Apex,
    Flows,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Plugins => "plugins",
            Kind::Scenarios => "scenarios",
            Kind::Apex => "apex",
            Kind::Flows => "flows",
        }
    }
}

#[derive(serde::Serialize, schemars::JsonSchema)]
#[schemars(inline)]
struct ModuleRow {
    name: String,
    module: String,
    /// "shipped" or the override file's path.
    origin: String,
    shipped: bool,
}

#[derive(serde::Serialize, schemars::JsonSchema)]
#[schemars(inline)]
struct ModulesOut {
    modules: Vec<ModuleRow>,
    /// Where modules of this kind are searched, in order.
    searched: Vec<String>,
}

/// `core.modules.list`: what `require` can find of one kind, and where it looked.
pub fn register(api: &mut super::Api) -> mlua::Result<()> {
    api.sync(
        super::FnSpec::local(
            "modules.list",
            "Lists the modules of one kind that `require` can load (override directories first, then shipped), with where each comes from and the places searched."),
        |lua, o: ModulesOpts| {
            let dirs = lua.app_data_ref::<super::HostState>().map(|s| s.lua_paths.clone()).unwrap_or_default();
            let modules = list(o.kind.as_str(), &dirs)
                .into_iter()
                .map(|f| ModuleRow {
                    shipped: matches!(f.origin, Origin::Shipped(_)),
                    origin: match &f.origin {
                        Origin::Shipped(p) => format!("shipped {p}"),
                        Origin::Override(p) => p.display().to_string(),
                    },
                    name: f.name,
                    module: f.module,
                })
                .collect();
            let mut searched: Vec<String> = dirs.iter().map(|d| d.join(o.kind.as_str()).display().to_string()).collect();
            searched.push(format!("shipped ({} in the apex binary)", ROOTS.iter().find(|r| r.prefix.trim_end_matches('.') == o.kind.as_str()).map(|r| format!("{}{}", r.repo, r.sub)).unwrap_or_default()));
            Ok(ModulesOut { modules, searched })
        },
    )
}
