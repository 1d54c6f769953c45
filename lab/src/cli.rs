//! `apex lab up|down|serve-artifacts` (the `apex-lab` binary): the lab for a
//! person at a shell. `up` runs [`Lab::up`], then serves the artifacts from a
//! detached `apex-lab serve-artifacts` child (the in-process server ends with
//! the command), points the site file at it and prints how to deploy.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use super::state::LabState;
use super::{ArtifactServer, Lab, LabOptions, docker, process, state};

/// What `apex lab` (the `apex-lab` binary) does.
#[derive(Debug, clap::Subcommand)]
pub enum LabAction {
    /// Start the lab services in the background and print the deploy settings for it.
    Up {
        /// Where the lab keeps its state, keys, registries and logs.
        #[arg(long, value_name = "DIR", default_value = "/tmp/apex-lab")]
        dir: PathBuf,
    },
    /// Stop every lab service started by `apex lab up` with this DIR.
    Down {
        #[arg(long, value_name = "DIR", default_value = "/tmp/apex-lab")]
        dir: PathBuf,
        /// Also stop the lab's own Docker engine (shared by every lab dir and
        /// the tests; started when no engine answered). A system engine is never stopped.
        #[arg(long)]
        engine: bool,
        /// Also remove DIR (its keys, registries' storage, artifacts): the next `up` there
        /// starts from nothing. For the test runs' labs kept in the lab cache.
        #[arg(long)]
        purge: bool,
    },
    /// (internal) Serve the lab's artifacts in the foreground; `lab up` starts it.
    #[command(hide = true)]
    ServeArtifacts {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        port: u16,
    },
}

/// Runs one `apex lab` subcommand.
pub async fn cli(action: &LabAction) -> anyhow::Result<()> {
    match action {
        LabAction::Up { dir } => up(dir).await,
        LabAction::Down { dir, engine, purge } => {
            if *purge {
                purgeable(dir)?;
            }
            down(dir.clone(), *engine).await?;
            if *purge && dir.exists() {
                std::fs::remove_dir_all(dir)
                    .with_context(|| format!("lab: removing {}", dir.display()))?;
                println!("lab: removed {}", dir.display());
            }
            Ok(())
        }
        LabAction::ServeArtifacts { dir, port } => serve_artifacts(dir, *port).await,
    }
}

/// Whether `down --purge` may remove `dir` (checked before `down` touches
/// it): missing, or a lab's (it has `lab.json`), so a mistyped --dir
/// removes nothing else.
fn purgeable(dir: &Path) -> anyhow::Result<()> {
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("lab: {}", dir.display())),
        Ok(m) if !m.is_dir() => bail!("lab: {} is not a directory; not removing it", dir.display()),
        Ok(_) => {}
    }
    if !LabState::path(dir).is_file() {
        bail!(
            "lab: {} has no lab.json, so it is no lab dir; not removing it",
            dir.display()
        );
    }
    Ok(())
}

/// The commands `apex lab up` prints for a lab in `dir`: a deploy on it
/// (with a tmp dir of its own, not a shipped deploy's /tmp/apex/<scenario>),
/// its status, and stopping the lab. The README shows them.
pub fn up_commands(dir: &Path) -> Vec<String> {
    let deploy = dir.join("deploy");
    vec![
        format!(
            "apex deploy os-odl-nofeature-ha -n {} -s {} --tmp-dir {}",
            dir.join(crate::NETWORK_SETTINGS_FILE).display(),
            dir.join(crate::SITE_FILE).display(),
            deploy.display()
        ),
        format!("apex status --tmp-dir {}", deploy.display()),
        format!("apex lab down --dir {}", dir.display()),
    ]
}

/// Removes from the engine the image names under this lab's registries
/// (`127.0.0.1:PORT/...`: the images deploys on the lab pulled and rebuilt):
/// once the registries stop those names point nowhere (the next `up` picks
/// new ports), so they would only pile up in the shared engine. Only an
/// engine that runs is asked; none is started for this.
async fn remove_registry_images(hosts: &[String]) -> anyhow::Result<usize> {
    let lab_engine = docker::running_dockerd(&docker::lab_dir()).is_some();
    if hosts.is_empty() || !(lab_engine || std::env::var_os("APEX_LAB_DOCKER_HOST").is_some()) {
        return Ok(0);
    }
    let client = apex::engine::connect(&docker::ensure_engine().await?.settings()).await?;
    let opts = bollard::query_parameters::ListImagesOptionsBuilder::default().build();
    let mut removed = 0;
    for image in client.list_images(Some(opts)).await? {
        for tag in &image.repo_tags {
            if hosts.iter().any(|h| tag.starts_with(&format!("{h}/"))) {
                apex::engine::remove_image(&client, tag, false).await?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}

async fn down(dir: PathBuf, engine: bool) -> anyhow::Result<()> {
    let hosts: Vec<String> = LabState::read(&dir)
        .map(|s| {
            ["local", "upstream"]
                .iter()
                .filter_map(|n| s.services.get(*n))
                .map(|svc| format!("127.0.0.1:{}", svc.port))
                .collect()
        })
        .unwrap_or_default();
    let mut stopped = tokio::task::spawn_blocking(move || state::stop_recorded(&dir)).await??;
    match remove_registry_images(&hosts).await {
        Ok(0) => {}
        Ok(n) => println!("lab: removed {n} image name(s) of its registries from the engine"),
        Err(e) => eprintln!("lab: could not remove its registries' images from the engine: {e:#}"),
    }
    let engine_dir = docker::lab_dir();
    if engine {
        let dir = engine_dir.clone();
        if let Some(pid) =
            tokio::task::spawn_blocking(move || docker::stop_engine_in(&dir)).await??
        {
            stopped.push(format!("the lab's Docker engine (dockerd pid {pid})"));
        }
    }
    if stopped.is_empty() {
        println!("lab: nothing was running");
    } else {
        println!("lab: stopped {}", stopped.join(", "));
    }
    if !engine && let Some(pid) = docker::running_dockerd(&engine_dir) {
        println!(
            "lab: the lab's Docker engine (dockerd pid {pid}, {}) keeps running for other labs and the tests; \
             `apex lab down --engine` stops it",
            engine_dir.display()
        );
    }
    Ok(())
}

async fn up(dir: &Path) -> anyhow::Result<()> {
    let lab = Lab::up(LabOptions {
        dir: dir.to_path_buf(),
    })
    .await?;
    let dir = lab.dir().to_path_buf();
    let _lock = {
        let d = dir.clone();
        tokio::task::spawn_blocking(move || super::docker::lock(&d)).await??
    };
    let mut state = LabState::read(&dir)?;
    let marker = format!("serve-artifacts --dir {}", dir.display());
    let (port, pid) = match state.running("artifacts") {
        Some(running) => running,
        None => spawn_artifact_server(&dir, &marker)?,
    };
    state.set("artifacts", port, Some(pid), &marker);
    state.write(&dir)?;
    lab.write_site(&format!("http://127.0.0.1:{port}/"))?;
    println!("lab up in {}", dir.display());
    println!("site settings:    {}", lab.site_file().display());
    println!(
        "network settings: {}",
        lab.network_settings_file().display()
    );
    println!(
        "upstream registry: {} ({} images)",
        lab.upstream().host(),
        lab.seeded().images.len()
    );
    println!("local registry:    {}", lab.local().host());
    let cmds = up_commands(&dir);
    println!("deploy with:\n  {}", cmds[0]);
    println!("its state:  {}", cmds[1]);
    println!("stop with:  {}", cmds[2]);
    Ok(())
}

/// Starts `apex lab serve-artifacts` detached on a free port; waits until it answers.
fn spawn_artifact_server(dir: &Path, marker: &str) -> anyhow::Result<(u16, u32)> {
    let port = super::free_port()?;
    let exe = std::env::current_exe().context("lab: locating the apex-lab binary")?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["serve-artifacts", "--dir"])
        .arg(dir)
        .arg("--port")
        .arg(port.to_string());
    let pid = process::spawn_detached(cmd, &dir.join("artifacts.log"))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
        if !process::alive(pid, marker) {
            let log = std::fs::read_to_string(dir.join("artifacts.log")).unwrap_or_default();
            bail!("lab: the artifact server exited at start:\n{log}");
        }
        if Instant::now() > deadline {
            process::terminate(pid, marker);
            bail!("lab: the artifact server did not answer on port {port} within 10 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok((port, pid))
}

/// Serves `dir/artifacts` on `port` until SIGTERM or SIGINT.
async fn serve_artifacts(dir: &Path, port: u16) -> anyhow::Result<()> {
    let root = dir.join("artifacts");
    let server = ArtifactServer::start_on(&root, SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .with_context(|| format!("lab: serving {} on port {port}", root.display()))?;
    server.set_publish_sha256(true);
    tracing::info!("serving {} at {}", root.display(), server.url(""));
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    drop(server);
    Ok(())
}
