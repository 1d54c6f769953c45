//! apex-lab: real services on loopback (artifact server, Docker engine,
//! registries, sshd standing for the undercloud) used by the tests, the
//! benchmarks and `apex lab up`. Each part lives in its own module; [`Lab`]
//! puts them together under one directory so a deploy can be pointed at them
//! with the site file it writes.
//!
//! Registries and sshd run detached with their PIDs in `dir/lab.json`: a
//! second [`Lab::up`] on the same dir (another test binary, `apex lab up`
//! again) reattaches to them and reseeds nothing; [`Lab::down`] stops them.
//! The Docker engine is the shared lab engine ([`docker::ensure_engine`]) and
//! is left running.
//!
//! # Why a crate of its own
//! The lab is test infrastructure, not product: it serves HTTP (hyper's
//! server, a hand-rolled artifact server with httparse and httpdate), hashes
//! registry passwords (bcrypt) and drives Debian's dockerd, docker-registry
//! and sshd. Kept in the `apex` crate it shipped all of that in every deploy
//! binary. Here it depends on `apex` (it uses apex's registry client, engine,
//! SSH host and progress bars, so the lab exercises the product's own code)
//! and `apex` does not depend on it: the tests and benchmarks take it as a
//! dev-dependency, and the person at a shell gets it as the `apex-lab`
//! binary, which `apex lab ...` runs (found beside `apex`, on `PATH`, or at
//! `APEX_LAB_BIN`). A cargo feature on `apex` cannot do this: the lab needs
//! `apex`, so `apex` depending on the lab, even optionally, is a cycle.

pub mod artifact_files;
pub mod artifact_server;
pub mod cache;
mod cli;
pub mod docker;
pub mod images;
pub mod nodes;
pub mod process;
pub mod record;
pub mod registry;
pub mod seed;
pub mod sshd;
pub mod state;
pub mod tht;
pub mod undercloud;
pub mod undercloud_vm;

use std::path::{Path, PathBuf};

use anyhow::Context as _;

pub use artifact_server::ArtifactServer;
pub use cli::{LabAction, cli, up_commands};

/// The site file a lab writes in its dir (`apex deploy -s`).
pub const SITE_FILE: &str = "site.yaml";
/// The network settings file a lab writes in its dir (`apex deploy -n`).
pub const NETWORK_SETTINGS_FILE: &str = "network_settings.yaml";
pub use registry::LabRegistry;
pub use seed::SeedReport;
pub use sshd::Sshd;
use state::LabState;
pub use undercloud::Undercloud;

use apex::engine::EngineSettings;
use apex::ssh::SshHost;

/// A free TCP port on loopback for a lab service to listen on.
pub(crate) fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("binding a loopback port")?;
    Ok(l.local_addr()?.port())
}

/// Where a lab lives.
#[derive(Debug, Clone)]
pub struct LabOptions {
    /// State, keys, registries, artifacts and logs live under it.
    pub dir: PathBuf,
}

/// A running lab (see the module doc).
pub struct Lab {
    dir: PathBuf,
    engine: docker::LabEngine,
    upstream: LabRegistry,
    local: LabRegistry,
    sshd: Sshd,
    artifacts: ArtifactServer,
    undercloud: Undercloud,
    seeded: SeedReport,
}

impl Lab {
    /// Starts (or reattaches to) every part of the lab in `opts.dir`, seeds
    /// the upstream registry and writes `site.yaml`, `network_settings.yaml`
    /// and `lab.json`. Idempotent per dir; concurrent calls on one dir
    /// serialize on a lock file.
    pub async fn up(opts: LabOptions) -> anyhow::Result<Lab> {
        std::fs::create_dir_all(&opts.dir)
            .with_context(|| format!("lab: creating {}", opts.dir.display()))?;
        let dir = std::fs::canonicalize(&opts.dir)?;
        record::note("lab", &dir);
        let lock_dir = dir.clone();
        let _lock = tokio::task::spawn_blocking(move || docker::lock(&lock_dir)).await??;
        let mut state = LabState::read(&dir)?;
        let engine = docker::ensure_engine().await?;
        let upstream = LabRegistry::kept(
            "upstream",
            &dir.join("registries/upstream"),
            state.running("upstream"),
        )
        .await?;
        let local = LabRegistry::kept(
            "local",
            &dir.join("registries/local"),
            state.running("local"),
        )
        .await?;
        let ssh_dir = dir.join("ssh");
        let ssh_running = state.running("sshd");
        let sshd = tokio::task::spawn_blocking(move || Sshd::kept(&ssh_dir, ssh_running)).await??;
        let seeded = seed::seed(&upstream.host())
            .await
            .context("lab: seeding the upstream registry")?;
        let artifacts_dir = dir.join("artifacts");
        tokio::task::spawn_blocking(move || artifact_files::ensure(&artifacts_dir)).await??;
        let undercloud = Undercloud::new(&dir);
        undercloud.install_tht().await?;
        undercloud.prepare()?;
        let artifacts = ArtifactServer::start(dir.join("artifacts"))
            .context("lab: starting the artifact server")?;
        // As image servers do: a checksum beside each artifact, which a deploy verifies.
        artifacts.set_publish_sha256(true);
        state.engine = Some(engine.endpoint.clone());
        state.set(
            "upstream",
            upstream.port(),
            upstream.pid(),
            upstream.dir().join("config.yml"),
        );
        state.set(
            "local",
            local.port(),
            local.pid(),
            local.dir().join("config.yml"),
        );
        state.set(
            "sshd",
            sshd.port(),
            sshd.pid(),
            sshd.dir().join("sshd_config"),
        );
        state.write(&dir)?;
        let lab = Lab {
            dir,
            engine,
            upstream,
            local,
            sshd,
            artifacts,
            undercloud,
            seeded,
        };
        lab.write_site(&lab.artifacts.url(""))?;
        lab.write_network_settings()?;
        tracing::info!(dir = %lab.dir.display(), pushed = lab.seeded.pushed, "lab up");
        Ok(lab)
    }

    /// The lab's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `dir/site.yaml`: the site settings pointing a deploy at this lab.
    pub fn site_file(&self) -> PathBuf {
        self.dir.join(SITE_FILE)
    }

    /// `dir/network_settings.yaml`: Apex network settings whose admin
    /// `installer_vm.ip` is 127.0.0.1.
    pub fn network_settings_file(&self) -> PathBuf {
        self.dir.join(NETWORK_SETTINGS_FILE)
    }

    /// The "upstream" registry (seeded with the lab images).
    pub fn upstream(&self) -> &LabRegistry {
        &self.upstream
    }

    /// The undercloud's "local" registry.
    pub fn local(&self) -> &LabRegistry {
        &self.local
    }

    /// What the upstream seeding found and pushed.
    pub fn seeded(&self) -> &SeedReport {
        &self.seeded
    }

    /// The sshd standing for the undercloud, as a deploy reaches it.
    pub fn undercloud(&self) -> SshHost {
        let mut host = SshHost::new(self.sshd.address());
        host.port = Some(self.sshd.port());
        host.user = Some(self.sshd.user().to_string());
        host.key = Some(self.sshd.user_key());
        host.known_hosts = Some(self.sshd.known_hosts());
        host
    }

    /// The undercloud's work dir, THT dir and `openstack` stand-in.
    pub fn undercloud_files(&self) -> &Undercloud {
        &self.undercloud
    }

    /// Overcloud nodes named `names` (sshd on 127.0.2.x behind the
    /// undercloud), listed by the stand-in's `server list` until dropped.
    pub fn overcloud_nodes(&self, names: &[&str]) -> anyhow::Result<nodes::Nodes> {
        nodes::Nodes::start(&self.undercloud, &self.sshd.home(), names)
    }

    /// The in-process artifact server of this lab (request counts per path).
    pub fn artifacts(&self) -> &ArtifactServer {
        &self.artifacts
    }

    /// The argv of every call of the `openstack` stand-in so far.
    pub fn openstack_calls(&self) -> anyhow::Result<Vec<Vec<String>>> {
        self.undercloud.calls()
    }

    /// The Docker engine that rebuilds patched images.
    pub fn engine(&self) -> EngineSettings {
        self.engine.settings()
    }

    /// Stops the lab's registries, sshd and artifact server(s) (the shared
    /// Docker engine stays); the dir with its keys and storage stays for the
    /// next [`Lab::up`].
    pub async fn down(self) -> anyhow::Result<()> {
        let dir = self.dir.clone();
        drop(self);
        tokio::task::spawn_blocking(move || state::stop_recorded(&dir)).await??;
        Ok(())
    }

    /// Writes `site.yaml` (format of the site settings) with artifacts at `artifacts_url`.
    pub(crate) fn write_site(&self, artifacts_url: &str) -> anyhow::Result<()> {
        let q = |s: &str| serde_json::Value::from(s).to_string();
        let p = |p: &Path| q(&p.display().to_string());
        let upstream = self.upstream.host();
        let text = format!(
            "# apex lab site settings (written by apex lab up)\n\
             undercloud:\n  address: {address}\n  port: {port}\n  user: {user}\n  key: {key}\n  known_hosts: {kh}\n  accept_new: false\n  work_dir: {work}\n  tht_dir: {tht}\n  openstack: {openstack}\n  stackrc: {stackrc}\n  registered_nodes: true\n\
             engine: {engine}\n\
             registries:\n  source: {upstream_q}\n  local: {local}\n  insecure: true\n  ceph_image: {ceph}\n\
             artifacts:\n  url: {url}\n  cache_dir: {cache}\n",
            address = q(self.sshd.address()),
            port = self.sshd.port(),
            user = q(self.sshd.user()),
            key = p(&self.sshd.user_key()),
            kh = p(&self.sshd.known_hosts()),
            work = p(&self.undercloud.work_dir()),
            tht = p(&self.undercloud.tht_dir()),
            openstack = p(&self.undercloud.openstack()),
            stackrc = p(&self.undercloud.stackrc()),
            // The undercloud's engine, reached through its SSH connection, as on a real site.
            engine = q(&format!(
                "undercloud:{}",
                self.engine.endpoint.trim_start_matches("unix://")
            )),
            upstream_q = q(&upstream),
            local = q(&self.local.host()),
            ceph = q(&format!(
                "{upstream}/{}:{}",
                seed::CEPH_REPOSITORY,
                seed::CEPH_TAG
            )),
            url = q(artifacts_url),
            cache = p(&self.dir.join("cache")),
        );
        undercloud::write_if_changed(&self.site_file(), &text, 0o644)
    }

    fn write_network_settings(&self) -> anyhow::Result<()> {
        undercloud::write_if_changed(&self.network_settings_file(), NETWORK_SETTINGS, 0o644)
    }
}

/// The shipped virtual lab's network settings with the admin network on
/// loopback, so the undercloud (installer_vm) is 127.0.0.1.
const NETWORK_SETTINGS: &str = r#"# apex lab network settings (written by apex lab up): the undercloud is 127.0.0.1
dns-domain: opnfvlf.org
dns_nameservers: [8.8.8.8, 8.8.4.4]
ntp: [0.pool.ntp.org, 1.pool.ntp.org]
networks:
  admin:
    enabled: true
    installer_vm:
      nic_type: interface
      members: [lo]
      vlan: native
      ip: 127.0.0.1
    cidr: 127.0.0.0/24
    gateway: 127.0.0.1
    dhcp_range: [127.0.0.2, 127.0.0.50]
    overcloud_ip_range: [127.0.0.51, 127.0.0.99]
  tenant:
    enabled: true
    cidr: 11.0.0.0/24
    mtu: 1500
    overlay_id_range: "2,65535"
    segmentation_type: vxlan
  external:
    - public:
        enabled: true
        mtu: 1500
        installer_vm:
          nic_type: interface
          vlan: native
          members: [enp0s4]
          ip: 192.168.37.1
        cidr: 192.168.37.0/24
        gateway: 192.168.37.1
        floating_ip_range: [192.168.37.200, 192.168.37.220]
        overcloud_ip_range: [192.168.37.10, 192.168.37.199]
  storage:
    enabled: true
    cidr: 12.0.0.0/24
  api:
    enabled: true
    cidr: 13.0.0.0/24
"#;
