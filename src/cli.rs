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

    /// Write the log here (default: <tmp-dir>/apex.log for deploy, none otherwise).
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
    /// Run Lua tests (files named *_test.lua) with the host API in plan mode.
    Test {
        /// Test files or directories (default: tests/ in the current directory).
        paths: Vec<PathBuf>,
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
        /// Tag of rebuilt images.
        #[arg(long, default_value = "apex")]
        tag: String,
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
        Err(e) => {
            tracing::debug!("{e:?}");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
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

/// A run stopped by SIGINT (Ctrl-C) or SIGTERM.
#[derive(Debug, thiserror::Error)]
#[error("interrupted by {0}")]
pub struct Interrupted(pub &'static str);

impl Interrupted {
    /// The shell's exit code for a process ended by this signal.
    fn exit_code(&self) -> ExitCode {
        ExitCode::from(if self.0 == "SIGINT" { 130 } else { 143 })
    }
}

/// Drives a Lua entry point to completion on a current-thread runtime, then
/// closes pooled SSH connections so none lingers after apex exits. SIGINT
/// or SIGTERM stops it: the work in flight is dropped (each remote command
/// is tied to its channel and stops with it; local blocking work such as an
/// image customization finishes its clean-up before the runtime ends) and
/// the error is [`Interrupted`].
fn drive<T>(fut: impl std::future::Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    use tokio::signal::unix::{SignalKind, signal};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let mut int = signal(SignalKind::interrupt())?;
        let mut term = signal(SignalKind::terminate())?;
        let out = tokio::select! {
            out = fut => out,
            _ = int.recv() => {
                crate::interrupt::request("SIGINT");
                Err(Interrupted("SIGINT").into())
            }
            _ = term.recv() => {
                crate::interrupt::request("SIGTERM");
                Err(Interrupted("SIGTERM").into())
            }
        };
        if let Some(i) = out
            .as_ref()
            .err()
            .and_then(|e| e.downcast_ref::<Interrupted>())
        {
            tracing::warn!(
                "{i}: stopping (remote commands of this run are stopped with their channels)"
            );
        }
        // A cancelled copy runs the clean-up of a failed one: its upload
        // sessions are deleted (a short deadline), as are partial uploads.
        crate::registry::abandon_open_uploads(std::time::Duration::from_secs(5)).await;
        crate::ssh::close_all().await;
        out
    })
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let dirs = lua_paths(&cli);
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
            crate::logging::init(cli.verbose, cli.log_file.as_deref())?;
            let host = Host::new(HostConfig {
                lua_paths: dirs,
                plan: false,
            })?;
            match drive(host.run_file(script, args.clone())) {
                Ok(_) => Ok(ExitCode::SUCCESS),
                Err(e) => match e.downcast_ref::<Interrupted>() {
                    Some(i) => {
                        eprintln!("error: {i}");
                        Ok(i.exit_code())
                    }
                    None => Err(e),
                },
            }
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
            crate::logging::init(cli.verbose, cli.log_file.as_deref())?;
            let host = Host::new(HostConfig {
                lua_paths: dirs,
                plan: true,
            })?;
            let paths: Vec<PathBuf> = if paths.is_empty() {
                vec![PathBuf::from("tests")]
            } else {
                paths.clone()
            };
            let arg = host.to_lua(&serde_json::json!({ "paths": paths }))?;
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
            let host = Host::new(HostConfig {
                lua_paths: dirs,
                plan: true,
            })?;
            crate::lua::stubs::write_dir(dir, host.doc())?;
            println!("wrote LuaLS stubs and .luarc.json to {}", dir.display());
            Ok(ExitCode::SUCCESS)
        }
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
            crate::logging::init(cli.verbose, cli.log_file.as_deref())?;
            prune(tmp_dirs, registry.clone(), tag, *dry_run, *tls)
        }
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "apex", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
    }
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
    let log_file = cli
        .log_file
        .clone()
        .unwrap_or_else(|| tmp_dir.join("apex.log"));
    // The tmp dir, its lock and the log file are made by the flow
    // (core.claim_tmp_dir) once every input is valid: bad input writes nothing.
    crate::logging::init(cli.verbose, None)?;
    let host = Host::new(HostConfig {
        lua_paths: dirs.clone(),
        plan: args.plan,
    })?;
    let mut opts = serde_json::to_value(args).context("deploy options")?;
    opts["tmp_dir"] = serde_json::json!(tmp_dir);
    opts["log_file"] = serde_json::json!(log_file);
    opts["lua_paths"] = serde_json::json!(dirs);
    let arg = host.to_lua(&opts)?;
    match drive(host.call_module("flows.deploy", "run", arg)) {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(e) => match e.downcast_ref::<Interrupted>() {
            Some(i) => {
                let arg = host.to_lua(&serde_json::json!({ "tmp_dir": tmp_dir, "signal": i.0 }))?;
                drive(host.call_module("apex.state", "mark_interrupted", arg))?;
                eprintln!(
                    "error: {i}; `apex status` shows where it stopped, `apex deploy ... --resume` goes on"
                );
                Ok(i.exit_code())
            }
            None => Err(e),
        },
    }
}

fn status(cli: &Cli, args: &StatusArgs, dirs: Vec<PathBuf>) -> anyhow::Result<ExitCode> {
    crate::logging::init(cli.verbose, cli.log_file.as_deref())?;
    let tmp_dir = args.target.tmp_dir()?;
    let running = crate::run_lock::holder(&tmp_dir)?;
    let host = Host::new(HostConfig {
        lua_paths: dirs,
        plan: true,
    })?;
    let leftovers = crate::leftovers::find(&tmp_dir);
    let arg = host.to_lua(
        &serde_json::json!({ "tmp_dir": tmp_dir, "running": running, "leftovers": leftovers }),
    )?;
    drive(host.call_module("apex.state", "print_status", arg))?;
    Ok(ExitCode::SUCCESS)
}

fn destroy(cli: &Cli, args: &StatusArgs, dirs: Vec<PathBuf>) -> anyhow::Result<ExitCode> {
    crate::logging::init(cli.verbose, cli.log_file.as_deref())?;
    let tmp_dir = args.target.tmp_dir()?;
    if let Some(holder) = crate::run_lock::holder(&tmp_dir)? {
        anyhow::bail!(
            "a deploy runs with {} ({holder}); stop it first",
            tmp_dir.display()
        );
    }
    let host = Host::new(HostConfig {
        lua_paths: dirs,
        plan: false,
    })?;
    let arg = host.to_lua(&serde_json::json!({ "tmp_dir": tmp_dir }))?;
    drive(host.call_module("flows.destroy", "run", arg))?;
    Ok(ExitCode::SUCCESS)
}

fn list(cli: &Cli, kind: &str, dirs: Vec<PathBuf>) -> anyhow::Result<ExitCode> {
    crate::logging::init(cli.verbose, cli.log_file.as_deref())?;
    let host = Host::new(HostConfig {
        lua_paths: dirs.clone(),
        plan: true,
    })?;
    let found = modules::list(kind, &dirs);
    let width = found.iter().map(|f| f.name.len()).max().unwrap_or(0);
    for f in found {
        let description = match host.require(&f.module) {
            Ok(mlua::Value::Table(t)) => t
                .get::<Option<String>>("description")
                .ok()
                .flatten()
                .unwrap_or_default(),
            Ok(_) => String::new(),
            Err(e) => format!(
                "(fails to load: {})",
                e.to_string().lines().next().unwrap_or("")
            ),
        };
        println!("{:width$}  {}  [{}]", f.name, description, f.origin);
    }
    Ok(ExitCode::SUCCESS)
}

fn scaffold(cli: &Cli, kind: &str, name: &str, dirs: Vec<PathBuf>) -> anyhow::Result<ExitCode> {
    crate::logging::init(cli.verbose, cli.log_file.as_deref())?;
    let target = dirs.first().cloned().unwrap_or_else(|| PathBuf::from("."));
    let host = Host::new(HostConfig {
        lua_paths: dirs,
        plan: true,
    })?;
    let arg = host.to_lua(&serde_json::json!({ "kind": kind, "name": name, "dir": target }))?;
    drive(host.call_module("flows.scaffold", "run", arg))?;
    Ok(ExitCode::SUCCESS)
}

fn prune(
    tmp_dirs: &[PathBuf],
    registry: Option<String>,
    tag: &str,
    dry_run: bool,
    tls: bool,
) -> anyhow::Result<ExitCode> {
    use crate::registry::{PruneOptions, RegistrySettings, prune_registry};
    let tmp_dirs = if tmp_dirs.is_empty() {
        crate::registry::default_tmp_dirs()
    } else {
        tmp_dirs.to_vec()
    };
    let opts = PruneOptions {
        registry,
        tmp_dirs,
        tag: tag.to_string(),
        dry_run,
        tls,
        settings: RegistrySettings::default(),
    };
    let report = drive(prune_registry(&opts))?;
    let states: Vec<String> = report
        .states
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    println!(
        "registry {}: {} deploy state(s) read: {}",
        report.registry,
        states.len(),
        states.join(", ")
    );
    let verb = if dry_run { "would delete" } else { "deleted" };
    for m in &report.deleted {
        println!(
            "  {verb} {}@{} (tags: {})",
            m.repository,
            m.digest,
            m.tags.join(", ")
        );
    }
    for m in &report.kept {
        println!(
            "  kept {}@{} (tags: {}): a deploy state references it",
            m.repository,
            m.digest,
            m.tags.join(", ")
        );
    }
    println!(
        "{} manifest(s) {verb}, {} kept.",
        report.deleted.len(),
        report.kept.len()
    );
    if !report.deleted.is_empty() {
        println!(
            "The registry frees their blobs only at its garbage collection; on the registry host run\n  \
             registry garbage-collect /etc/docker/registry/config.yml\n\
             (Debian's package names the binary docker-registry; stop the registry or make it read-only meanwhile)."
        );
    }
    Ok(ExitCode::SUCCESS)
}
