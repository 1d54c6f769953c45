//! The command line: parses arguments, sets up logging and the Lua host, and
//! hands the work to Lua flows. Wiring only; the work lives elsewhere.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, CommandFactory, Parser, Subcommand};
use serde::Serialize;

use crate::lua::{Host, HostConfig, modules};

/// apex: deploy containerized TripleO clouds with SDN controllers.
///
/// The deploy flow, scenarios and SDN plugins are Lua scripts shipped inside
/// this binary; copy one into a --lua-path directory to change it.
#[derive(Debug, Parser)]
#[command(name = "apex", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// More output on the console (-v debug, -vv trace). The log file always has debug.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Directory of Lua overrides, searched before the shipped modules
    /// (DIR/plugins/NAME.lua, DIR/scenarios/NAME.lua, DIR/apex/NAME.lua, DIR/flows/NAME.lua).
    /// Repeatable; searched in the order given, then APEX_LUA_PATH.
    #[arg(long = "lua-path", value_name = "DIR", global = true)]
    pub lua_path: Vec<PathBuf>,

    /// Append the log here (default for deploy: the run's own <tmp-dir>/logs/<time>.log,
    /// <tmp-dir>/apex.log the latest, the last 20 kept; none otherwise).
    #[arg(long, value_name = "FILE", global = true)]
    pub log_file: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Deploy a scenario (or, with --plan, write every artifact without touching any host).
    Deploy(DeployArgs),
    /// Show the state of a deploy's tmp dir: each step done, failed or
    /// interrupted (with its error and time), the last runs, and whether a deploy runs now.
    Status(StatusArgs),
    /// Remove what apex created on this host for a deploy (its tmp dir): the undercloud and
    /// virtual node VMs, their disks, virtual BMCs and libvirt networks; nothing else.
    Destroy(StatusArgs),
    /// Run a Lua script with the host API (`require("apex.core")`); ARGS are its `...`.
    Run {
        /// The Lua file to run.
        script: PathBuf,
        /// Arguments passed to the script as `...`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// List scenarios (shipped and from override directories), or scaffold one.
    Scenarios {
        #[command(subcommand)]
        action: Option<ScaffoldAction>,
    },
    /// List SDN and feature plugins (shipped and from override directories), or scaffold one.
    Plugins {
        #[command(subcommand)]
        action: Option<ScaffoldAction>,
    },
    /// Run Lua tests (files named *_test.lua) with the host API in plan mode; what a
    /// test prints is shown only when it fails (with -v: as it comes).
    Test {
        /// Test files or directories (default: tests/ in the current directory).
        paths: Vec<PathBuf>,
    },
    /// Write commented example input files into DIR (default ./apex-examples): deploy
    /// settings, network settings (a virtual lab, a baremetal pod with VLANs), an inventory,
    /// site files for an existing and for a created undercloud. Never overwrites a file.
    Examples {
        /// Where to write them (created when missing).
        dir: Option<PathBuf>,
    },
    /// Write LuaLS type stubs and a .luarc.json into DIR, for editor completion.
    LuaTypes {
        /// Where to write the stubs.
        dir: PathBuf,
    },
    /// Start or stop the local lab (artifact server, registries, Docker engine,
    /// an sshd undercloud) and print the settings that point a deploy at it:
    /// `apex lab up|down [--dir DIR] [--engine]`. Runs the `apex-lab` binary
    /// (beside apex, on PATH, or APEX_LAB_BIN) with ARGS; `apex lab --help` is its help.
    #[command(disable_help_flag = true)]
    Lab {
        /// Arguments for apex-lab, e.g. `up --dir /tmp/apex-lab`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Maintain the undercloud's local registry.
    Registry {
        #[command(subcommand)]
        action: RegistryAction,
    },
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum ScaffoldAction {
    /// Write a working skeleton and its test into the first --lua-path directory (or ./).
    New {
        /// Name of the new module.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum RegistryAction {
    /// Delete the rebuilt (:apex) images of the local registry that no deploy
    /// state references any more (superseded rebuilds); the registry's garbage
    /// collection frees their blobs afterwards.
    Prune {
        /// Deploy tmp dirs whose state.json count (default: every /tmp/apex/*).
        tmp_dirs: Vec<PathBuf>,
        /// The local registry, host:port (default: the one the deploy states' rebuilds pushed to).
        #[arg(long, value_name = "HOST:PORT")]
        registry: Option<String>,
        /// Tag of rebuilt images (default: the one the deploy flow pushes, `apex`).
        #[arg(long)]
        tag: Option<String>,
        /// List what would be deleted; delete nothing.
        #[arg(long)]
        dry_run: bool,
        /// Reach the registry over TLS (default: plain HTTP, as the undercloud's registry).
        #[arg(long)]
        tls: bool,
    },
}

/// What names a deploy: its scenario (or settings file) and its tmp dir.
#[derive(Debug, Args, Serialize)]
pub struct DeployTarget {
    /// Scenario name (see `apex scenarios`) or path to a scenario .lua file.
    pub scenario: Option<String>,
    /// Apex deploy settings file (YAML), used as it is.
    #[arg(short = 'd', long = "deploy-settings", value_name = "FILE")]
    pub deploy_settings: Option<PathBuf>,
    /// Working directory for artifacts and the deploy state (default: /tmp/apex/<scenario>).
    #[arg(long, value_name = "DIR")]
    pub tmp_dir: Option<PathBuf>,
}

impl DeployTarget {
    /// `--tmp-dir`, else `/tmp/apex/<name>` after the scenario (or the deploy
    /// settings file) without its extension.
    pub fn tmp_dir(&self) -> anyhow::Result<PathBuf> {
        if let Some(dir) = &self.tmp_dir {
            return Ok(dir.clone());
        }
        let stem = |p: &Path| p.file_stem().map(|s| s.to_string_lossy().into_owned());
        let name = match (&self.scenario, &self.deploy_settings) {
            (Some(s), _) => stem(Path::new(s)).unwrap_or_else(|| s.clone()),
            (None, Some(d)) => stem(d).unwrap_or_else(|| "deploy".into()),
            (None, None) => anyhow::bail!(NEED_SCENARIO),
        };
        Ok(PathBuf::from("/tmp/apex").join(name))
    }
}

const NEED_SCENARIO: &str = "give a scenario name (see `apex scenarios`) or -d DEPLOY_SETTINGS";

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub target: DeployTarget,
}

#[derive(Debug, Args, Serialize)]
pub struct DeployArgs {
    #[command(flatten)]
    #[serde(flatten)]
    pub target: DeployTarget,
    /// Apex network settings file (YAML); default: a shipped virtual lab (undercloud 192.0.2.1).
    #[arg(short = 'n', long = "network-settings", value_name = "FILE")]
    pub network_settings: Option<PathBuf>,
    /// Apex inventory file (YAML): the baremetal nodes (IPMI, MACs, profiles); gives
    /// instackenv.json and the scales. Without it the deploy is virtual.
    #[arg(short = 'i', long = "inventory", value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    /// Apex common-patches file (patches per OpenStack release, merged into the deploy's
    /// own), or `shipped` for the list Apex ships; default: none.
    #[arg(long = "patches-file", value_name = "FILE|shipped")]
    pub patches_file: Option<PathBuf>,
    /// Computes of a virtual deploy (without -i); default 1 (2 with HA), as Apex.
    #[arg(long = "virtual-computes", value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub virtual_computes: Option<u32>,
    /// A virtual deploy whose overcloud nodes apex creates as VMs on this host, each behind a
    /// virtual BMC (site `vm` settings), with their instackenv.json.
    #[arg(long)]
    pub r#virtual: bool,
    /// vCPUs of each virtual node (default 4, as Apex).
    #[arg(long = "virtual-cpus", value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub virtual_cpus: Option<u32>,
    /// RAM of each virtual node in GB (default 8; controllers get at least 10, 12 with
    /// OpenDaylight, as Apex).
    #[arg(long = "virtual-ram", value_name = "GB", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub virtual_ram: Option<u32>,
    /// Destroy and recreate the undercloud VM apex created when its image or settings changed
    /// (without it such a rerun is refused: the undercloud's state would be lost).
    #[arg(long)]
    pub recreate_undercloud: bool,
    /// Evaluate the whole flow and write every artifact under the tmp dir; touch no host, registry or engine.
    #[arg(long)]
    pub plan: bool,
    /// Site settings (YAML): how to reach the undercloud (SSH), the Docker engine,
    /// the registries and the artifact server; `apex lab up` writes one for the lab.
    #[arg(short = 's', long = "site", value_name = "FILE")]
    pub site: Option<PathBuf>,
    /// Use cached artifacts; fetch only what is missing.
    #[arg(long)]
    pub no_fetch: bool,
    /// HEAD every blob of the images the local registry already has and copy
    /// lost ones again (a plain run trusts each tag's digest).
    #[arg(long)]
    pub verify_images: bool,
    /// Continue from the step that failed in the last run with this tmp dir.
    #[arg(long)]
    pub resume: bool,
    /// Run the deploy command even when the overcloud was deployed before
    /// with the same command, files and images (to converge after a manual change).
    #[arg(long)]
    pub redeploy: bool,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        // `apex scenarios | head`: the reader has all it wanted.
        Err(e) if e.is::<StdoutClosed>() => ExitCode::SUCCESS,
        Err(e) => {
            tracing::debug!("{e:?}");
            eprintln!("error: {e:#}");
            // A run stopped by a signal exits as the shell expects (130, 143),
            // whatever the command; any other error is a failure.
            match e.downcast_ref::<Interrupted>() {
                Some(i) => i.exit_code(),
                None => ExitCode::FAILURE,
            }
        }
    }
}

/// The reader of stdout went away (a closed pipe): not a failure of apex.
#[derive(Debug, thiserror::Error)]
#[error("stdout closed")]
struct StdoutClosed;

/// Writes a line to stdout. A closed pipe ends the command quietly instead of
/// the panic `println!` gives; any other write error is reported.
fn say(line: std::fmt::Arguments) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_fmt(line).and_then(|()| out.write_all(b"\n")) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(StdoutClosed.into()),
        r => Ok(r.context("writing to stdout")?),
    }
}

/// Override directories: --lua-path, then APEX_LUA_PATH.
fn lua_paths(cli: &Cli) -> Vec<PathBuf> {
    let mut dirs = cli.lua_path.clone();
    if let Ok(v) = std::env::var("APEX_LUA_PATH") {
        dirs.extend(modules::env_paths(&v));
    }
    dirs
}

use crate::lua::{Interrupted, drive};

/// What a command logs to besides the console.
#[derive(Clone, Copy)]
enum Log {
    /// `--log-file`, when given.
    CliFile,
    /// The console only: the deploy flow attaches its own log file once
    /// every input is valid (`core.tmp_dir.claim`).
    ConsoleOnly,
    /// No logging set up (a command that only writes files).
    Off,
}

/// The setup every command shares: logging as `log` says, then a Lua host
/// over the override directories, in plan mode or not.
fn start_host(cli: &Cli, log: Log, dirs: Vec<PathBuf>, plan: bool) -> anyhow::Result<Host> {
    match log {
        Log::CliFile => crate::logging::init(cli.verbose, cli.log_file.as_deref())?,
        Log::ConsoleOnly => crate::logging::init(cli.verbose, None)?,
        Log::Off => {}
    }
    Host::new(HostConfig {
        lua_paths: dirs,
        plan,
    })
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let dirs = lua_paths(&cli);
    if let Command::Scenarios { action: Some(_) } | Command::Plugins { action: Some(_) } =
        &cli.command
    {
        // The scaffold writes into the first override dir: made here, as
        // `lua-types` makes its own, so a first extension needs no mkdir.
        if let Some(first) = dirs.first() {
            std::fs::create_dir_all(first)
                .with_context(|| format!("cannot create {}", first.display()))?;
        }
    }
    for d in &dirs {
        if !d.is_dir() {
            anyhow::bail!("Lua path {} is not a directory", d.display());
        }
    }
    match &cli.command {
        Command::Deploy(args) => deploy(&cli, args, dirs),
        Command::Status(args) => status(&cli, args, dirs),
        Command::Destroy(args) => destroy(&cli, args, dirs),
        Command::Run { script, args } => {
            let host = start_host(&cli, Log::CliFile, dirs, false)?;
            drive(host.run_file(script, args.clone()))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Scenarios { action: None } => list(&cli, "scenarios", dirs),
        Command::Plugins { action: None } => list(&cli, "plugins", dirs),
        Command::Scenarios {
            action: Some(ScaffoldAction::New { name }),
        } => scaffold(&cli, "scenario", name, dirs),
        Command::Plugins {
            action: Some(ScaffoldAction::New { name }),
        } => scaffold(&cli, "plugin", name, dirs),
        Command::Test { paths } => {
            let host = start_host(&cli, Log::CliFile, dirs, true)?;
            let paths: Vec<PathBuf> = if paths.is_empty() {
                vec![PathBuf::from("tests")]
            } else {
                paths.clone()
            };
            let arg =
                host.to_lua(&serde_json::json!({ "paths": paths, "verbose": cli.verbose > 0 }))?;
            let out = drive(host.call_module("flows.test", "run", arg))?;
            let failed = match out.front() {
                Some(mlua::Value::Table(t)) => t.get::<Option<i64>>("failed")?.unwrap_or(0),
                _ => 0,
            };
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::LuaTypes { dir } => {
            let host = start_host(&cli, Log::Off, dirs, true)?;
            crate::lua::stubs::write_dir(dir, host.doc())?;
            say(format_args!(
                "wrote LuaLS stubs and .luarc.json to {}",
                dir.display()
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Examples { dir } => examples(dir.as_deref()),
        Command::Lab { args } => Err(run_lab(&cli, args)),
        Command::Registry {
            action:
                RegistryAction::Prune {
                    tmp_dirs,
                    registry,
                    tag,
                    dry_run,
                    tls,
                },
        } => {
            let host = start_host(&cli, Log::CliFile, dirs, false)?;
            let arg = host.to_lua(&serde_json::json!({
                "tmp_dirs": tmp_dirs, "registry": registry, "tag": tag, "dry_run": dry_run, "tls": tls,
            }))?;
            drive(host.call_module("flows.registry_prune", "run", arg))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Completions { shell } => {
            let mut text = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "apex", &mut text);
            say(format_args!(
                "{}",
                String::from_utf8_lossy(&text).trim_end()
            ))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `apex examples [DIR]`: writes the shipped examples and says how to start.
fn examples(dir: Option<&Path>) -> anyhow::Result<ExitCode> {
    let dir = dir.unwrap_or(Path::new("apex-examples"));
    for path in crate::examples::write(dir)? {
        say(format_args!("wrote {}", path.display()))?;
    }
    let d = dir.display();
    say(format_args!(
        "next, edit them for your site, then see what a deploy would do:\n  \
         apex deploy -d {d}/deploy_settings.yaml -n {d}/network_settings_virtual.yaml \
         -s {d}/site_existing_undercloud.yaml --plan\n\
         baremetal: -n {d}/network_settings_baremetal_vlans.yaml -i {d}/inventory.yaml; \
         an undercloud apex creates: -s {d}/site_created_undercloud.yaml (with --virtual for node VMs)"
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// `apex lab ARGS`: replaces this process with `apex-lab ARGS` (the lab is a
/// crate and binary of its own, so the deploy binary carries no HTTP server
/// or password hashing). Returns only when that cannot start.
fn run_lab(cli: &Cli, args: &[String]) -> anyhow::Error {
    use std::os::unix::process::CommandExt as _;
    let Some(bin) = lab_binary() else {
        return anyhow::anyhow!(
            "apex lab: the lab is its own binary, apex-lab, found neither beside apex nor on PATH \
             (nor at APEX_LAB_BIN); install it with `cargo install --path lab` from the apex source \
             tree, or build it there with `cargo build -p apex-lab`"
        );
    };
    let mut cmd = std::process::Command::new(&bin);
    if cli.verbose > 0 {
        cmd.arg(format!("-{}", "v".repeat(cli.verbose.into())));
    }
    if let Some(log) = &cli.log_file {
        cmd.arg("--log-file").arg(log);
    }
    cmd.args(args);
    let e = cmd.exec();
    anyhow::Error::new(e).context(format!("apex lab: cannot run {}", bin.display()))
}

/// The `apex-lab` binary: `APEX_LAB_BIN`, else beside this executable, else on `PATH`.
fn lab_binary() -> Option<PathBuf> {
    if let Some(bin) = std::env::var_os("APEX_LAB_BIN").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(bin));
    }
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("apex-lab")))
        .filter(|p| p.is_file());
    beside.or_else(|| crate::local_tools::which("apex-lab"))
}

fn deploy(cli: &Cli, args: &DeployArgs, dirs: Vec<PathBuf>) -> anyhow::Result<ExitCode> {
    if args.target.scenario.is_none() && args.target.deploy_settings.is_none() {
        anyhow::bail!(NEED_SCENARIO);
    }
    let tmp_dir = args.target.tmp_dir()?;
    // The tmp dir, its lock and the log file (--log-file, else the run's own
    // <tmp-dir>/logs/<time>.log, apex.log the latest) are made by the flow
    // (core.tmp_dir.claim) once every input is valid: bad input writes nothing.
    let host = start_host(cli, Log::ConsoleOnly, dirs.clone(), args.plan)?;
    let opts = deploy_opts(args, &tmp_dir, cli.log_file.as_deref(), &dirs)?;
    let arg = host.to_lua(&opts)?;
    match drive(host.call_module("flows.deploy", "run", arg)) {
        Ok(_) => Ok(ExitCode::SUCCESS),
        // Stopped by a signal: the state says so, and the message how to go
        // on; the error keeps its type, so `main` exits with the signal's code.
        Err(e) => match e.downcast_ref::<Interrupted>() {
            Some(i) => {
                let arg = host.to_lua(&serde_json::json!({ "tmp_dir": tmp_dir, "signal": i.0 }))?;
                drive(host.call_module("apex.state", "mark_interrupted", arg))?;
                Err(e.context(
                    "the deploy stopped (`apex status` shows where, `apex deploy ... --resume` goes on)",
                ))
            }
            None => Err(e),
        },
    }
}

/// What `flows.deploy.run` receives: the deploy arguments as parsed, plus the
/// tmp dir, the log (`log_file`, else `run_log`) and the override dirs. The
/// LuaLS class `apex.DeployOpts` in scripts/deploy.lua declares these keys; a
/// unit test fails when the two disagree.
fn deploy_opts(
    args: &DeployArgs,
    tmp_dir: &Path,
    log_file: Option<&Path>,
    dirs: &[PathBuf],
) -> anyhow::Result<serde_json::Value> {
    let mut opts = serde_json::to_value(args).context("deploy options")?;
    opts["tmp_dir"] = serde_json::json!(tmp_dir);
    match log_file {
        Some(f) => opts["log_file"] = serde_json::json!(f),
        None => opts["run_log"] = serde_json::json!(true),
    }
    opts["lua_paths"] = serde_json::json!(dirs);
    Ok(opts)
}

fn status(cli: &Cli, args: &StatusArgs, dirs: Vec<PathBuf>) -> anyhow::Result<ExitCode> {
    let host = start_host(cli, Log::CliFile, dirs, true)?;
    let tmp_dir = args.target.tmp_dir()?;
    let arg = host.to_lua(&serde_json::json!({ "tmp_dir": tmp_dir }))?;
    let out = drive(host.call_module("apex.state", "print_status", arg))?;
    let found = match out.front() {
        Some(mlua::Value::Table(t)) => t.get::<Option<bool>>("found")?.unwrap_or(false),
        _ => false,
    };
    // No state is an answer a script must not take for a finished deploy.
    Ok(if found {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn destroy(cli: &Cli, args: &StatusArgs, dirs: Vec<PathBuf>) -> anyhow::Result<ExitCode> {
    let host = start_host(cli, Log::CliFile, dirs, false)?;
    let tmp_dir = args.target.tmp_dir()?;
    let arg = host.to_lua(&serde_json::json!({ "tmp_dir": tmp_dir }))?;
    drive(host.call_module("flows.destroy", "run", arg))?;
    Ok(ExitCode::SUCCESS)
}

fn list(cli: &Cli, kind: &str, dirs: Vec<PathBuf>) -> anyhow::Result<ExitCode> {
    let host = start_host(cli, Log::CliFile, dirs.clone(), true)?;
    let found = modules::list(kind, &dirs);
    let width = found.iter().map(|f| f.name.len()).max().unwrap_or(0);
    // Plugins are listed by their `kind` (default sdn), scenarios as one list.
    let mut groups: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for f in found {
        let field = |t: &mlua::Table, k: &str| t.get::<Option<String>>(k).ok().flatten();
        let (description, group) = match host.require(&f.module) {
            Ok(mlua::Value::Table(t)) => (
                field(&t, "description").unwrap_or_default(),
                field(&t, "kind").unwrap_or_else(|| "sdn".into()),
            ),
            Ok(_) => (String::new(), "sdn".into()),
            Err(e) => (
                format!(
                    "(fails to load: {})",
                    e.to_string().lines().next().unwrap_or("")
                ),
                "sdn".into(),
            ),
        };
        let group = if kind == "plugins" {
            group
        } else {
            String::new()
        };
        let line = format!("{:width$}  {}  [{}]", f.name, description, f.origin);
        groups.entry(group).or_default().push(line);
    }
    for (group, lines) in groups {
        if !group.is_empty() {
            say(format_args!("{group}:"))?;
        }
        for line in lines {
            let indent = if group.is_empty() { "" } else { "  " };
            say(format_args!("{indent}{line}"))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn scaffold(cli: &Cli, kind: &str, name: &str, dirs: Vec<PathBuf>) -> anyhow::Result<ExitCode> {
    let target = dirs.first().cloned().unwrap_or_else(|| PathBuf::from("."));
    let host = start_host(cli, Log::CliFile, dirs, true)?;
    let arg = host.to_lua(&serde_json::json!({ "kind": kind, "name": name, "dir": target }))?;
    drive(host.call_module("flows.scaffold", "run", arg))?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The fields of a `---@class NAME` block in a Lua source.
    fn class_fields(source: &str, class: &str) -> BTreeSet<String> {
        let head = format!("---@class {class}");
        let mut lines = source.lines().skip_while(|l| l.trim_end() != head).skip(1);
        let mut out = BTreeSet::new();
        while let Some(field) = lines.next().and_then(|l| l.strip_prefix("---@field ")) {
            let name = field.split_whitespace().next().unwrap_or("");
            out.insert(name.trim_end_matches('?').to_string());
        }
        out
    }

    /// The deploy options have one definition (clap's `DeployArgs` plus
    /// `deploy_opts`); the LuaLS class the flow reads them through must name
    /// exactly those keys, so a new option cannot be missing on the Lua side.
    #[test]
    fn deploy_opts_class_names_every_option_the_cli_passes() {
        let cli = Cli::try_parse_from(["apex", "deploy", "os-nosdn-nofeature-noha"]).unwrap();
        let Command::Deploy(args) = cli.command else {
            panic!("not a deploy")
        };
        let mut keys = BTreeSet::new();
        for log in [None, Some(Path::new("/tmp/x.log"))] {
            let opts = deploy_opts(&args, Path::new("/tmp/t"), log, &[]).unwrap();
            keys.extend(opts.as_object().unwrap().keys().cloned());
        }
        let source = modules::shipped("flows.deploy").unwrap().source;
        let fields = class_fields(source, "apex.DeployOpts");
        assert!(
            fields.len() > 10,
            "no apex.DeployOpts class found: {fields:?}"
        );
        let missing: Vec<_> = keys.difference(&fields).collect();
        let extra: Vec<_> = fields.difference(&keys).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "apex.DeployOpts (scripts/deploy.lua) lacks {missing:?} and declares {extra:?} the CLI does not pass"
        );
        // What the shipped flow reads of them is declared too.
        for (module, shipped) in modules::shipped_all() {
            for (i, _) in shipped.source.match_indices("ctx.opts.") {
                let rest = &shipped.source[i + "ctx.opts.".len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                assert!(
                    fields.contains(&name),
                    "{module} reads ctx.opts.{name}, which apex.DeployOpts does not declare"
                );
            }
        }
    }
}
