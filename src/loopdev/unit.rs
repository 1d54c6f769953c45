//! The persistent form of a loop device: a systemd unit that re-attaches the
//! backing file to the same device at boot (the kernel forgets loop devices on
//! reboot, and Ceph's OSD settings name the device).

use std::path::Path;

use anyhow::bail;

/// Where units written by apex live (on a host or inside an image).
pub const UNIT_DIR: &str = "/etc/systemd/system";

/// A unit and how to enable it without running `systemctl`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[schemars(rename = "apex.LoopUnit")]
pub struct LoopUnit {
    /// Unit file name, e.g. `apex-loop3.service`.
    pub name: String,
    /// Absolute path of the unit file (under /etc/systemd/system).
    pub path: String,
    /// The unit file's text.
    pub text: String,
    /// The symlink `systemctl enable` would create.
    pub enable_link: String,
    /// What that symlink points to (the unit path).
    pub enable_target: String,
}

fn check_abs(what: &str, p: &str) -> anyhow::Result<()> {
    if !p.starts_with('/') || p.contains(['\n', ' ', '\'', '"', '\\', '%']) {
        bail!(
            "{what} must be an absolute path without spaces, quotes, '%' or newlines (got {p:?})"
        );
    }
    Ok(())
}

/// What the caller says about a unit: its name, why it exists and which
/// units need the device (e.g. `ceph-osd.target`). Empty fields take the
/// defaults: `apex-loopN.service`, no purpose line, only `local-fs.target`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitSpec {
    /// Unit file name, ending in `.service`.
    #[serde(default)]
    pub name: Option<String>,
    /// One line saying what the device backs, written as a comment.
    #[serde(default)]
    pub purpose: Option<String>,
    /// Units that must start after the device is attached.
    #[serde(default)]
    pub before: Vec<String>,
}

fn check_unit_name(what: &str, n: &str) -> anyhow::Result<()> {
    let ok = !n.is_empty()
        && n.len() <= 200
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b))
        && !n.starts_with('.');
    if !ok {
        bail!("{what} must be a systemd unit name of letters, digits and -_.@ (got {n:?})");
    }
    Ok(())
}

/// The unit that attaches `file` to `device` at boot, before local
/// filesystems are used, and detaches it at shutdown (default name and
/// ordering; see [`loop_unit_with`]).
pub fn loop_unit(device: &Path, file: &Path) -> anyhow::Result<LoopUnit> {
    loop_unit_with(device, file, &UnitSpec::default())
}

/// [`loop_unit`] with the caller's name, purpose and the units it must
/// come before.
pub fn loop_unit_with(device: &Path, file: &Path, spec: &UnitSpec) -> anyhow::Result<LoopUnit> {
    let (dev, file) = (device.to_string_lossy(), file.to_string_lossy());
    check_abs("device", &dev)?;
    check_abs("file", &file)?;
    let Some(n) = dev
        .strip_prefix("/dev/loop")
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    else {
        bail!("device must be /dev/loopN (got {dev:?})");
    };
    let name = spec
        .name
        .clone()
        .unwrap_or_else(|| format!("apex-loop{n}.service"));
    check_unit_name("name", &name)?;
    if !name.ends_with(".service") {
        bail!("name must end in .service (got {name:?})");
    }
    for b in &spec.before {
        check_unit_name("before", b)?;
    }
    let purpose = match &spec.purpose {
        Some(p) if p.contains(['\n', '\r']) => bail!("purpose must be one line (got {p:?})"),
        Some(p) => format!(" ({p})"),
        None => String::new(),
    };
    let before: String = std::iter::once("local-fs.target")
        .chain(spec.before.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ");
    let text = format!(
        "# Written by apex: re-attaches {file} to {dev} at boot{purpose}.\n\
         [Unit]\n\
         Description=Attach {file} to {dev}\n\
         DefaultDependencies=no\n\
         RequiresMountsFor={file}\n\
         ConditionPathExists={file}\n\
         Before={before}\n\
         Conflicts=shutdown.target\n\
         Before=shutdown.target\n\
         \n\
         [Service]\n\
         Type=oneshot\n\
         RemainAfterExit=yes\n\
         ExecStartPre=-/sbin/modprobe loop\n\
         ExecStart=/sbin/losetup {dev} {file}\n\
         ExecStop=/sbin/losetup -d {dev}\n\
         \n\
         [Install]\n\
         WantedBy=local-fs.target\n"
    );
    let path = format!("{UNIT_DIR}/{name}");
    Ok(LoopUnit {
        enable_link: format!("{UNIT_DIR}/local-fs.target.wants/{name}"),
        enable_target: path.clone(),
        name,
        path,
        text,
    })
}
