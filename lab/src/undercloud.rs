//! The undercloud's files in the lab: the work dir a deploy uploads into, the
//! real tripleo-heat-templates of each release ([`crate::tht`]: Stein in
//! [`Undercloud::tht_dir`], Queens and Rocky beside it), and the `openstack`
//! stand-in that records its calls and resolves a deploy's templates in the
//! rendered THT as Heat would. (Its sshd and registry are started by
//! [`super::Lab`].)

use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// The stand-in `openstack` command (bash); `@CALLS@`/`@WORK_DIR@` are filled in.
const OPENSTACK_SCRIPT: &str = include_str!("openstack.sh");

/// The shell helpers the lab's stand-in scripts share.
const JSON_STRING_SH: &str = include_str!("json_string.sh");

/// A stand-in script with the shared helpers in place of its `@JSON_STRING@` line.
pub(crate) fn script_helpers(script: &str) -> String {
    script.replace("@JSON_STRING@\n", JSON_STRING_SH)
}

/// The stand-in's Heat part: renders THT and resolves the deploy's files in it.
const THT_RESOLVE_SCRIPT: &str = include_str!("tht_resolve.py");

/// Paths of the undercloud part of a lab dir.
#[derive(Debug, Clone)]
pub struct Undercloud {
    root: PathBuf,
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

    /// The THT root (`environments/` below it) of the default release
    /// (Stein, which `master` deploys).
    pub fn tht_dir(&self) -> PathBuf {
        self.root.join("tht")
    }

    /// The THT root of a release (queens, rocky, stein, or master = stein).
    pub fn tht_dir_of(&self, release: &str) -> anyhow::Result<PathBuf> {
        let rel = crate::tht::release(release)?;
        Ok(if rel.release == crate::tht::DEFAULT_RELEASE {
            self.tht_dir()
        } else {
            self.root.join(format!("tht-{}", rel.release))
        })
    }

    /// Where the stand-in keeps its renders of THT.
    pub fn render_cache(&self) -> PathBuf {
        self.root.join("tht-rendered")
    }

    /// Installs the real THT of every release (downloaded once into
    /// [`crate::tht::cache_dir`]), replacing what a deploy changed there.
    pub async fn install_tht(&self) -> anyhow::Result<()> {
        for rel in &crate::tht::RELEASES {
            let archive = crate::tht::archive(&rel.tht).await?;
            let dest = self.tht_dir_of(rel.release)?;
            tokio::task::spawn_blocking(move || crate::tht::install(&archive, &rel.tht, &dest))
                .await??;
        }
        Ok(())
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

    /// Writes the work dir and the `openstack` stand-in (idempotent: same
    /// content); the THT comes from [`Self::install_tht`].
    pub fn prepare(&self) -> anyhow::Result<()> {
        std::fs::create_dir_all(self.work_dir())?;
        write_if_changed(
            &self.stackrc(),
            "# apex lab undercloud credentials (stand-in)\nexport APEX_LAB_STACKRC=1\nexport OS_CLOUD=undercloud\n",
            0o644,
        )?;
        let script = script_helpers(OPENSTACK_SCRIPT)
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
        let mut dirs = Vec::new();
        for rel in &crate::tht::RELEASES {
            dirs.push(shell_quote(
                &self.tht_dir_of(rel.release)?.display().to_string(),
            ));
        }
        let resolve = self.root.join("bin/tht-resolve");
        let script = script
            .replace("@THT_DIRS@", &dirs.join(" "))
            .replace(
                "@THT_RESOLVE@",
                &shell_quote(&resolve.display().to_string()),
            )
            .replace(
                "@RENDER_CACHE@",
                &shell_quote(&self.render_cache().display().to_string()),
            );
        std::fs::create_dir_all(self.root.join("bin"))?;
        write_if_changed(&resolve, THT_RESOLVE_SCRIPT, 0o755)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Both stand-ins get the one json_string, and are valid bash with it.
    #[test]
    fn the_stand_in_scripts_share_json_string() {
        for script in [OPENSTACK_SCRIPT, include_str!("node_command.sh")] {
            let full = script_helpers(script);
            assert!(!full.contains("@JSON_STRING@"), "{full}");
            assert_eq!(full.matches("json_string() {").count(), 1);
            let out = std::process::Command::new("bash")
                .args(["-n", "-c", &full])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let out = std::process::Command::new("bash")
            .args([
                "-c",
                &format!("{JSON_STRING_SH}\njson_string \"$1\"",),
                "-",
                "a\"b\\c\nd\te\r",
            ])
            .output()
            .unwrap();
        let s = String::from_utf8(out.stdout).unwrap();
        assert_eq!(
            serde_json::from_str::<String>(&s).unwrap(),
            "a\"b\\c\nd\te\r"
        );
    }
}
