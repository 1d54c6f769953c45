//! Overcloud nodes for the post-deploy: one sshd per node on a loopback
//! address of its own (127.0.2.1, 127.0.2.2, ..., one port for all, as
//! nodes share port 22), reached through the lab undercloud's sshd as a
//! jump host. The undercloud's own key (`~/.ssh/id_rsa` in its home, as
//! TripleO authorizes the stack user's key on every node) is authorized on
//! each node. The `openstack` stand-in's `server list` names them while they
//! run (`servers.json` beside its calls file). Every command a node runs for
//! a deploy goes to its stand-in commands ([`NODE_COMMANDS`]), which record
//! and touch nothing of this machine. Stopped (and unlisted) on drop.

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::sshd::{Sshd, keygen};
use super::undercloud::{Undercloud, write_if_changed};

/// The node's stand-in commands (one script, a symlink per name).
const NODE_SCRIPT: &str = include_str!("node_command.sh");

/// The commands a lab node answers (what Apex's post_deploy_overcloud.yml runs).
pub const NODE_COMMANDS: &[&str] = &[
    "sudo",
    "ifup",
    "systemctl",
    "pgrep",
    "install",
    "docker",
    "iptables",
    "service",
    "crudini",
    "hiera",
    "tail",
];

/// Running overcloud nodes of a lab.
pub struct Nodes {
    nodes: Vec<(String, Ipv4Addr, Sshd)>,
    root: PathBuf,
    servers: PathBuf,
    port: u16,
}

/// The loopback address of node `i` (0-based).
fn address(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(
        127,
        0,
        2,
        u8::try_from(i + 1).expect("at most 254 lab nodes"),
    )
}

/// A port free on every node address.
fn common_port(n: usize) -> anyhow::Result<u16> {
    for _ in 0..20 {
        let port = super::free_port()?;
        if (0..n).all(|i| TcpListener::bind((address(i), port)).is_ok()) {
            return Ok(port);
        }
    }
    anyhow::bail!("no port free on 127.0.2.1-{n} after 20 tries")
}

impl Nodes {
    /// Starts a node per name; `uc_home` is the lab undercloud's HOME.
    pub fn start(uc: &Undercloud, uc_home: &Path, names: &[&str]) -> anyhow::Result<Self> {
        anyhow::ensure!(!names.is_empty() && names.len() < 255, "1 to 254 nodes");
        let key = uc_home.join(".ssh/id_rsa");
        if !key.with_extension("pub").exists() {
            std::fs::create_dir_all(uc_home.join(".ssh"))?;
            keygen(&key)?;
        }
        let authorized = std::fs::read_to_string(key.with_extension("pub"))?;
        // New nodes are new machines: the undercloud forgets earlier lab nodes' host keys.
        let known = uc_home.join(".ssh/known_hosts");
        if let Ok(text) = std::fs::read_to_string(&known) {
            let kept: String = text
                .lines()
                .filter(|l| !l.starts_with("[127.0.2."))
                .map(|l| format!("{l}\n"))
                .collect();
            std::fs::write(&known, kept)?;
        }
        let root = uc.nodes_dir();
        let port = common_port(names.len())?;
        let mut nodes = Vec::new();
        let mut servers = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let dir = root.join(name);
            let bin = dir.join("bin");
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&bin)?;
            write_if_changed(
                &bin.join("node-command"),
                &super::undercloud::script_helpers(NODE_SCRIPT),
                0o755,
            )?;
            for c in NODE_COMMANDS {
                std::os::unix::fs::symlink("node-command", bin.join(c))
                    .with_context(|| format!("linking {c} in {}", bin.display()))?;
            }
            std::fs::write(
                dir.join("messages"),
                format!("Dec  7 00:00:00 {name} apex-lab: syslog of {name}\n"),
            )?;
            let addr = address(i);
            let sshd = Sshd::node(addr, port, &bin, &authorized).with_context(|| {
                format!("starting the sshd of lab node {name} on {addr}:{port}")
            })?;
            servers.push(serde_json::json!({
                "ID": format!("lab-{i}"), "Name": name, "Status": "ACTIVE",
                "Networks": format!("ctlplane={addr}"),
            }));
            nodes.push((name.to_string(), addr, sshd));
        }
        std::fs::write(uc.servers_file(), serde_json::to_string(&servers)? + "\n")?;
        Ok(Self {
            nodes,
            root,
            servers: uc.servers_file(),
            port,
        })
    }

    /// The port every node listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The user a deploy logs in as (the machine's own; nodes have no heat-admin).
    pub fn user(&self) -> String {
        self.nodes[0].2.user().to_string()
    }

    /// The node's address.
    pub fn address(&self, name: &str) -> Option<Ipv4Addr> {
        self.nodes.iter().find(|n| n.0 == name).map(|n| n.1)
    }

    /// While this file exists, the node's stand-in command whose "name args"
    /// starts with its text fails.
    pub fn fail_file(&self, name: &str) -> PathBuf {
        self.root.join(name).join("fail")
    }

    /// The argv of every stand-in command the node ran.
    pub fn calls(&self, name: &str) -> anyhow::Result<Vec<Vec<String>>> {
        let path = self.root.join(name).join("calls.jsonl");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        text.lines()
            .map(|l| serde_json::from_str(l).with_context(|| format!("{}: {l}", path.display())))
            .collect()
    }

    /// The node's authorized_keys as it is now.
    pub fn authorized_keys(&self, name: &str) -> anyhow::Result<String> {
        let n = self
            .nodes
            .iter()
            .find(|n| n.0 == name)
            .context("no such node")?;
        Ok(std::fs::read_to_string(n.2.authorized_keys())?)
    }

    /// A new host key for the node, as a reinstalled (or impersonated) node shows.
    pub fn rotate_host_key(&mut self, name: &str) -> anyhow::Result<()> {
        let n = self
            .nodes
            .iter_mut()
            .find(|n| n.0 == name)
            .context("no such node")?;
        n.2.rotate_host_key()
    }

    /// The node's messages file (what a deploy fetches as its syslog).
    pub fn messages(&self, name: &str) -> PathBuf {
        self.root.join(name).join("messages")
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.servers);
        for (_, _, sshd) in &mut self.nodes {
            sshd.stop();
        }
    }
}
