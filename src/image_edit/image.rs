//! The image pipeline: convert to raw, loop-attach, mount, apply (file ops
//! and run ops in their order), unmount, convert back. Guards undo mounts and
//! loop devices on every exit path.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, bail};
use rustix::io::Errno;
use rustix::mount::{MountFlags, UnmountFlags};
use serde::{Deserialize, Serialize};

use super::ops::{Op, apply_file_op};
use super::partitions::read_partitions;
use super::run::{DEFAULT_TIMEOUT, run_in_image};
use crate::local_tools::run;
use crate::loopdev::TempLoop;
use crate::progress::{Progress, Unit};

/// What to customize and how.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "apex.CustomizeImageOpts")]
pub struct CustomizeOpts {
    /// A qcow2 or raw image; rewritten in place unless `output` is given.
    pub image: PathBuf,
    /// Where to write the result (same format as the input).
    pub output: Option<PathBuf>,
    /// Applied in order.
    pub ops: Vec<Op>,
    /// Partition number to mount when the image has a partition table;
    /// default the largest partition.
    pub partition: Option<u32>,
    /// Filesystem type; default: tried from /proc/filesystems.
    pub fstype: Option<String>,
    /// Write the (qcow2) result as a copy-on-write overlay of this image:
    /// only what differs from it is stored (e.g. a VM's disk over a cached
    /// base image, which stays untouched).
    #[serde(default)]
    pub backing: Option<PathBuf>,
}

/// What a customization did.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(rename = "apex.CustomizeImageResult")]
pub struct CustomizeReport {
    /// The written image.
    pub image: PathBuf,
    #[schemars(extend("enum" = ["qcow2", "raw"]))]
    pub format: String,
    /// A description of each operation applied.
    pub applied: Vec<String>,
}

/// Mounted filesystem, unmounted on drop (lazily if still busy).
struct Mounted {
    dir: tempfile::TempDir,
    active: bool,
}

impl Mounted {
    fn unmount(&mut self) -> anyhow::Result<()> {
        if !std::mem::take(&mut self.active) {
            return Ok(());
        }
        match rustix::mount::unmount(self.dir.path(), UnmountFlags::empty()) {
            Ok(()) => Ok(()),
            Err(e) => {
                let _ = rustix::mount::unmount(self.dir.path(), UnmountFlags::DETACH);
                bail!(
                    "cannot unmount {}: {e} (detached lazily)",
                    self.dir.path().display()
                )
            }
        }
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        if let Err(e) = self.unmount() {
            tracing::warn!("{e:#}");
        }
    }
}

/// Filesystems the kernel can mount from a block device, common ones first.
fn block_filesystems() -> Vec<String> {
    let mut list: Vec<String> = std::fs::read_to_string("/proc/filesystems")
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with("nodev"))
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    list.sort_by_key(|f| {
        ["ext4", "xfs", "btrfs", "ext3", "ext2", "vfat"]
            .iter()
            .position(|p| p == f)
            .unwrap_or(99)
    });
    list
}

/// The byte range holding the filesystem: the whole image, the requested
/// partition, or the largest one.
fn filesystem_range(raw: &Path, partition: Option<u32>) -> anyhow::Result<Option<(u64, u64)>> {
    let parts = read_partitions(raw)?;
    let chosen = match partition {
        None if parts.is_empty() => return Ok(None),
        None => parts.iter().max_by_key(|p| p.size),
        Some(k) => parts.iter().find(|p| p.number == k),
    };
    match chosen {
        Some(p) => Ok(Some((p.start, p.size))),
        None => bail!(
            "partition p{} does not exist (the image has {})",
            partition.unwrap_or(0),
            parts.len()
        ),
    }
}

/// Mounts `device` on a new directory in `work` (the work directory beside
/// the output, so every mount of a customization lives below it).
fn mount(device: &Path, fstype: Option<&str>, work: &Path) -> anyhow::Result<(Mounted, String)> {
    let dir = tempfile::Builder::new().prefix("root-").tempdir_in(work)?;
    let candidates = match fstype {
        Some(f) => vec![f.to_string()],
        None => block_filesystems(),
    };
    for fs in &candidates {
        match rustix::mount::mount(device, dir.path(), fs.as_str(), MountFlags::empty(), None) {
            Ok(()) => return Ok((Mounted { dir, active: true }, fs.clone())),
            Err(Errno::INVAL | Errno::NODEV) if fstype.is_none() => continue,
            Err(e) => bail!("cannot mount {} as {fs}: {e}", device.display()),
        }
    }
    bail!(
        "no filesystem found on {} (tried {})",
        device.display(),
        candidates.join(", ")
    )
}

fn image_format(image: &Path) -> anyhow::Result<String> {
    let mut cmd = Command::new("qemu-img");
    cmd.args(["info", "--output=json"]).arg(image);
    let info: serde_json::Value = serde_json::from_slice(&run(cmd, "qemu-utils")?)?;
    let format = info["format"]
        .as_str()
        .context("qemu-img info gave no format")?
        .to_string();
    if !matches!(format.as_str(), "raw" | "qcow2") {
        bail!(
            "{} is {format}; only qcow2 and raw images are supported",
            image.display()
        );
    }
    Ok(format)
}

fn convert(from: &Path, to: &Path, format: &str) -> anyhow::Result<()> {
    convert_over(from, to, format, None)
}

/// Converts `from` into `to`; with `backing`, `to` is a qcow2 overlay of it
/// holding only the clusters that differ (qemu-img convert -B).
fn convert_over(
    from: &Path,
    to: &Path,
    format: &str,
    backing: Option<&Path>,
) -> anyhow::Result<()> {
    let mut cmd = Command::new("qemu-img");
    cmd.args(["convert", "-O", format]);
    if let Some(b) = backing {
        let b =
            std::fs::canonicalize(b).with_context(|| format!("backing image {}", b.display()))?;
        cmd.arg("-F").arg(image_format(&b)?).arg("-B").arg(b);
    }
    cmd.arg(from).arg(to);
    run(cmd, "qemu-utils").map(drop)
}

/// Applies the operations in order through one loop mount: file operations
/// inside the mounted root, `run` chrooted into it.
fn apply_mounted(
    raw: &Path,
    work: &Path,
    ops: &[(usize, &Op)],
    o: &CustomizeOpts,
    progress: &mut Progress,
) -> anyhow::Result<()> {
    let lo = TempLoop::attach(raw, filesystem_range(raw, o.partition)?)?;
    let device = lo.device().to_path_buf();
    // Declared after the loop device: dropped (unmounted) before it is detached.
    let (mut mounted, fs) = mount(&device, o.fstype.as_deref(), work)?;
    tracing::debug!(device = %device.display(), fstype = %fs, "image mounted");
    for (i, op) in ops {
        // After SIGINT/SIGTERM no later operation starts; the guards unmount
        // and detach as this returns.
        crate::interrupt::check().with_context(|| format!("before operation {}", i + 1))?;
        tracing::debug!("image op {}: {}", i + 1, op.describe());
        match op {
            Op::Run { command, timeout } => run_in_image(
                mounted.dir.path(),
                command,
                timeout.map_or(DEFAULT_TIMEOUT, Duration::from_secs),
            ),
            _ => apply_file_op(mounted.dir.path(), op),
        }
        .with_context(|| format!("operation {}", i + 1))?;
        progress.inc(1);
    }
    rustix::fs::sync();
    mounted.unmount()?;
    lo.detach()
}

/// Applies `ops` in order to a qcow2 or raw image, without libguestfs. The
/// image is edited as a raw copy in a work directory next to the output (the
/// mount point is there too) and renamed into place only when every
/// operation succeeded.
pub fn customize_image(o: &CustomizeOpts) -> anyhow::Result<CustomizeReport> {
    for (i, op) in o.ops.iter().enumerate() {
        op.validate()
            .with_context(|| format!("operation {} ({})", i + 1, op.describe()))?;
    }
    if !o.image.is_file() {
        bail!("image {} does not exist", o.image.display());
    }
    let format = image_format(&o.image)?;
    let output = o.output.clone().unwrap_or_else(|| o.image.clone());
    let out_dir = output
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let work = tempfile::Builder::new()
        .prefix(".apex-image-")
        .tempdir_in(out_dir)
        .with_context(|| {
            format!(
                "cannot create a work directory in {} (the raw copy is edited there)",
                out_dir.display()
            )
        })?;
    let raw = work.path().join("image.raw");
    convert(&o.image, &raw, "raw")?;

    let mut progress = Progress::new(
        format!("customize {}", o.image.display()),
        Some(o.ops.len() as u64),
        Unit::Items,
    );
    let indexed: Vec<(usize, &Op)> = o.ops.iter().enumerate().collect();
    if !indexed.is_empty() {
        apply_mounted(&raw, work.path(), &indexed, o, &mut progress)?;
    }

    if o.backing.is_some() && format != "qcow2" {
        bail!(
            "an overlay (backing) is a qcow2 image; {} is {format}",
            o.image.display()
        );
    }
    let result = if format == "raw" {
        raw.clone()
    } else {
        let converted = work.path().join(format!("image.{format}"));
        convert_over(&raw, &converted, &format, o.backing.as_deref())?;
        converted
    };
    std::fs::rename(&result, &output)
        .with_context(|| format!("cannot move the result to {}", output.display()))?;
    progress.finish("done");
    Ok(CustomizeReport {
        image: output,
        format,
        applied: o.ops.iter().map(Op::describe).collect(),
    })
}
