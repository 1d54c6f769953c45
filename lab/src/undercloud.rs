//! The undercloud's files in the lab: the work dir a deploy uploads into, a
//! THT dir holding every env file the shipped scenarios and plugins name,
//! and the `openstack` stand-in that records its calls. (Its sshd and
//! registry are started by [`super::Lab`].)

use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// The stand-in `openstack` command (bash); `@CALLS@`/`@WORK_DIR@` are filled in.
const OPENSTACK_SCRIPT: &str = include_str!("openstack.sh");

/// THT's own env files (relative to `<tht>/environments`) the lab has as
/// stand-ins: data, not code (`tht_environments.txt`); a plugin's own files
/// reach the THT dir by upload, as on a real undercloud.
const ENV_FILE_LIST: &str = include_str!("tht_environments.txt");

/// The entries of [`ENV_FILE_LIST`].
pub fn env_files() -> impl Iterator<Item = &'static str> {
    ENV_FILE_LIST
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// Paths of the undercloud part of a lab dir.
#[derive(Debug, Clone)]
pub struct Undercloud {
    root: PathBuf,
}

/// A TripleO roles_data.yaml in the shape THT ships (Controller, Compute,
/// CephStorage), for the deploy's roles_data edits to work on.
pub const ROLES_DATA: &str = "\
- name: Controller
  CountDefault: 1
  networks:
    - External
    - InternalApi
    - Storage
    - StorageMgmt
    - Tenant
  default_route_networks: ['External']
  ServicesDefault:
    - OS::TripleO::Services::CephMon
    - OS::TripleO::Services::CephRbdMirror
    - OS::TripleO::Services::Keystone
    - OS::TripleO::Services::NeutronServer
- name: Compute
  CountDefault: 1
  networks:
    - InternalApi
    - Tenant
    - Storage
  ServicesDefault:
    - OS::TripleO::Services::CephClient
    - OS::TripleO::Services::NovaCompute
    - OS::TripleO::Services::NovaLibvirt
- name: CephStorage
  networks:
    - Storage
    - StorageMgmt
  ServicesDefault:
    - OS::TripleO::Services::CephOSD
    - OS::TripleO::Services::Kernel
";

/// The content of the lab's stand-in of THT `environments/<rel>`.
pub fn env_file_text(rel: &str) -> String {
    format!(
        "# apex lab stand-in of environments/{rel}\nresource_registry: {{}}\nparameter_defaults: {{}}\n"
    )
}

impl Undercloud {
    pub fn new(lab_dir: &Path) -> Self {
        Self {
            root: lab_dir.join("undercloud"),
        }
    }

    /// Where a deploy uploads patches and env files.
    pub fn work_dir(&self) -> PathBuf {
        self.root.join("home")
    }

    /// The THT root (`environments/` below it).
    pub fn tht_dir(&self) -> PathBuf {
        self.root.join("tht")
    }

    /// The `openstack` stand-in.
    pub fn openstack(&self) -> PathBuf {
        self.root.join("bin/openstack")
    }

    /// The undercloud's credentials file, sourced before every openstack call.
    pub fn stackrc(&self) -> PathBuf {
        self.root.join("stackrc")
    }

    /// While this file exists, `openstack overcloud deploy` fails and
    /// `openstack stack failures list` prints its text.
    pub fn fail_file(&self) -> PathBuf {
        self.root.join("fail_deploy")
    }

    /// While this file exists, `openstack overcloud deploy` first sleeps as
    /// many seconds as it holds and writes its PID to `<this>.started`.
    pub fn slow_file(&self) -> PathBuf {
        self.root.join("slow_deploy")
    }

    /// While this file exists, an `openstack` call whose argv starts with
    /// its text (e.g. `subnet create`) fails.
    pub fn fail_command_file(&self) -> PathBuf {
        self.root.join("fail_command")
    }

    /// How many nodes `openstack baremetal node list` shows (default 5,
    /// all available) is this file's number when it exists.
    pub fn registered_nodes_file(&self) -> PathBuf {
        self.root.join("registered_nodes")
    }

    /// What the post-deploy created on the stand-in overcloud:
    /// `<kind>/<name>` (network, subnet, datasource).
    pub fn overcloud_dir(&self) -> PathBuf {
        self.root.join("overcloud")
    }

    /// The lab overcloud nodes' dirs ([`crate::nodes::Nodes`]).
    pub fn nodes_dir(&self) -> PathBuf {
        self.root.join("nodes")
    }

    /// What `openstack server list -f json` answers while lab nodes run
    /// (else an empty list).
    pub fn servers_file(&self) -> PathBuf {
        self.root.join("servers.json")
    }

    /// One JSON array (argv) per line, appended by the stand-in.
    pub fn calls_file(&self) -> PathBuf {
        self.root.join("openstack_calls.jsonl")
    }

    /// Writes the work dir, THT files and the stand-in (idempotent: same content).
    /// Writes (back) the THT stand-in files and the `openstack` stand-in;
    /// a THT file an undercloud patch changed is put back as it was.
    pub fn prepare(&self) -> anyhow::Result<()> {
        std::fs::create_dir_all(self.work_dir())?;
        let env_dir = self.tht_dir().join("environments");
        for rel in env_files() {
            let path = env_dir.join(rel);
            std::fs::create_dir_all(path.parent().expect("env files have a parent"))?;
            write_if_changed(&path, &env_file_text(rel), 0o644)?;
        }
        write_if_changed(&self.tht_dir().join("roles_data.yaml"), ROLES_DATA, 0o644)?;
        write_if_changed(
            &self.stackrc(),
            "# apex lab undercloud credentials (stand-in)\nexport APEX_LAB_STACKRC=1\nexport OS_CLOUD=undercloud\n",
            0o644,
        )?;
        let script = OPENSTACK_SCRIPT
            .replace(
                "@CALLS@",
                &shell_quote(&self.calls_file().display().to_string()),
            )
            .replace(
                "@WORK_DIR@",
                &shell_quote(&self.work_dir().display().to_string()),
            )
            .replace(
                "@FAIL_FILE@",
                &shell_quote(&self.fail_file().display().to_string()),
            )
            .replace(
                "@SLOW_FILE@",
                &shell_quote(&self.slow_file().display().to_string()),
            );
        std::fs::create_dir_all(self.root.join("bin"))?;
        write_if_changed(&self.openstack(), &script, 0o755)
    }

    /// The argv of every `openstack` call so far (empty before the first).
    pub fn calls(&self) -> anyhow::Result<Vec<Vec<String>>> {
        let path = self.calls_file();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(n, l)| {
                serde_json::from_str(l).with_context(|| {
                    format!("{}:{}: not a JSON string array", path.display(), n + 1)
                })
            })
            .collect()
    }
}

/// Quotes a string for sh.
fn shell_quote(s: &str) -> String {
    shell_escape::unix::escape(s.into()).into_owned()
}

/// Writes `text` via a temp file and rename unless the file already holds it.
pub(crate) fn write_if_changed(path: &Path, text: &str, mode: u32) -> anyhow::Result<()> {
    if std::fs::read_to_string(path).is_ok_and(|t| t == text) {
        return Ok(());
    }
    apex::fsutil::write_atomic(path, text.as_bytes(), Some(mode))
}
