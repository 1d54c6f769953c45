//! VM disks with qemu-img: copy-on-write overlays of a base image and empty
//! disks for nodes that boot from the network.

use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, bail};
use serde::Serialize;

use crate::local_tools::run;

/// What `qemu-img info` says of a disk.
#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
#[schemars(inline)]
pub struct DiskInfo {
    pub format: String,
    pub virtual_size: u64,
    pub backing: Option<String>,
}

/// Creates a qcow2 disk of `size` bytes at `path`: empty, or a copy-on-write
/// overlay of `backing` (a qcow2 image; absolute path recorded) when given,
/// grown to `size` when that is larger than the backing image. An existing
/// file is an error (nothing is overwritten).
pub fn create_disk(path: &Path, size: u64, backing: Option<&Path>) -> anyhow::Result<DiskInfo> {
    if path.exists() {
        bail!("{} exists already", path.display());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut cmd = Command::new("qemu-img");
    cmd.args(["create", "-q", "-f", "qcow2"]);
    if let Some(b) = backing {
        let b =
            std::fs::canonicalize(b).with_context(|| format!("backing image {}", b.display()))?;
        let base = disk_info(&b)?;
        cmd.arg("-F").arg(&base.format).arg("-b").arg(&b);
        cmd.arg(path).arg(size.max(base.virtual_size).to_string());
    } else {
        if size == 0 {
            bail!("an empty disk needs a size above 0");
        }
        cmd.arg(path).arg(size.to_string());
    }
    run(cmd, "qemu-utils")?;
    disk_info(path)
}

/// `qemu-img info` of a disk.
pub fn disk_info(path: &Path) -> anyhow::Result<DiskInfo> {
    let mut cmd = Command::new("qemu-img");
    cmd.args(["info", "-U", "--output=json"]).arg(path);
    let v: serde_json::Value = serde_json::from_slice(&run(cmd, "qemu-utils")?)?;
    Ok(DiskInfo {
        format: v["format"].as_str().unwrap_or("raw").to_string(),
        virtual_size: v["virtual-size"].as_u64().unwrap_or(0),
        backing: v["backing-filename"].as_str().map(String::from),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_disk_and_overlay() {
        if crate::local_tools::which("qemu-img").is_none() {
            panic!("qemu-img is needed (Debian qemu-utils; tests/lab/install.sh installs it)");
        }
        let d = tempfile::tempdir().unwrap();
        let base = d.path().join("base.qcow2");
        let info = create_disk(&base, 64 << 20, None).unwrap();
        assert_eq!(
            (info.format.as_str(), info.virtual_size),
            ("qcow2", 64 << 20)
        );
        let over = d.path().join("sub/over.qcow2");
        let info = create_disk(&over, 128 << 20, Some(&base)).unwrap();
        assert_eq!(info.virtual_size, 128 << 20);
        assert_eq!(info.backing.as_deref(), Some(base.to_str().unwrap()));
        // Small: an overlay holds only what differs.
        assert!(std::fs::metadata(&over).unwrap().len() < 1 << 20);
        assert!(
            create_disk(&over, 1, None)
                .unwrap_err()
                .to_string()
                .contains("exists")
        );
        assert!(create_disk(&d.path().join("z"), 0, None).is_err());
    }
}
