//! `apex-lab`: the lab for a person at a shell. `apex lab ARGS` runs this
//! binary with ARGS (see the crate doc for why the lab is not in `apex`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use apex_lab::LabAction;

/// Start or stop the local lab (artifact server, registries, Docker engine,
/// an sshd undercloud) and print the settings that point a deploy at it.
#[derive(Debug, Parser)]
#[command(
    name = "apex-lab",
    bin_name = "apex lab",
    version,
    max_term_width = 100
)]
struct Cli {
    /// More output on the console (-v debug, -vv trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,

    /// Also write the log here.
    #[arg(long, value_name = "FILE", global = true)]
    log_file: Option<PathBuf>,

    #[command(subcommand)]
    action: LabAction,
}

fn run(cli: &Cli) -> anyhow::Result<()> {
    apex::logging::init(cli.verbose, cli.log_file.as_deref())?;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(apex_lab::cli(&cli.action))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::debug!("{e:?}");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
