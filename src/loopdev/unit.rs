//! The persistent form of a loop device: a systemd unit that re-attaches the
//! backing file to the same device at boot (the kernel forgets loop devices on
//! reboot, and Ceph's OSD settings name the device).

use std::path::Path;

use anyhow::bail;

/// Where units written by apex live (on a host or inside an image).
pub const UNIT_DIR: &str = "/etc/systemd/system";

/// A unit and how to enable it without running `systemctl`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LoopUnit {
    /// Unit file name, e.g. `apex-loop3.service`.
    pub name: String,
    /// Absolute path of the unit file.
    pub path: String,
    /// The unit file's text.
    pub text: String,
    /// The symlink `systemctl enable` would create: its path ...
    pub enable_link: String,
    /// ... and its target (the unit path).
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

/// The unit that attaches `file` to `device` at boot, before local
/// filesystems are used, and detaches it at shutdown.
pub fn loop_unit(device: &Path, file: &Path) -> anyhow::Result<LoopUnit> {
    let (dev, file) = (device.to_string_lossy(), file.to_string_lossy());
    check_abs("device", &dev)?;
    check_abs("file", &file)?;
    let Some(n) = dev
        .strip_prefix("/dev/loop")
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    else {
        bail!("device must be /dev/loopN (got {dev:?})");
    };
    let name = format!("apex-loop{n}.service");
    let text = format!(
        "# Written by apex: re-attaches {file} to {dev} at boot (Ceph OSD backing store).\n\
         [Unit]\n\
         Description=Attach {file} to {dev}\n\
         DefaultDependencies=no\n\
         RequiresMountsFor={file}\n\
         ConditionPathExists={file}\n\
         Before=local-fs.target ceph-osd.target\n\
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
