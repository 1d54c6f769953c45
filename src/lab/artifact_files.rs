//! The files the lab's artifact server serves, as RDO publishes them:
//! `overcloud-full.tar` (holding `overcloud-full.qcow2`, a small ext4 image
//! made with mkfs.ext4 and qemu-img, plus kernel and initrd stand-ins) and
//! `ironic-python-agent.tar`. Made once per lab dir and kept, so a re-served
//! file keeps its content and its validators.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context as _;

use crate::local_tools::run;

pub const OVERCLOUD_TAR: &str = "overcloud-full.tar";
pub const OVERCLOUD_QCOW2: &str = "overcloud-full.qcow2";
pub const IPA_TAR: &str = "ironic-python-agent.tar";
/// Size of the ext4 filesystem in the qcow2 (sparse; the qcow2 stays small).
const IMAGE_SIZE: &str = "64M";

/// Makes what is missing of the served files in `dir`; returns `dir`.
pub fn ensure(dir: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    if !dir.join(OVERCLOUD_TAR).is_file() {
        make_overcloud_tar(dir)?;
    }
    if !dir.join(IPA_TAR).is_file() {
        let files: [(&str, &[u8]); 2] = [
            ("ironic-python-agent.kernel", b"apex lab ironic-python-agent kernel stand-in\n"),
            ("ironic-python-agent.initramfs", b"apex lab ironic-python-agent initramfs stand-in\n"),
        ];
        write_tar(&dir.join(IPA_TAR), &files.map(|(n, b)| (n.to_string(), b.to_vec())))?;
    }
    Ok(dir.to_path_buf())
}

fn make_overcloud_tar(dir: &Path) -> anyhow::Result<()> {
    let work = tempfile::Builder::new().prefix("apex-lab-overcloud-").tempdir_in(dir)?;
    let root = work.path().join("root");
    std::fs::create_dir_all(root.join("etc"))?;
    std::fs::write(root.join("etc/hostname"), "overcloud-full\n")?;
    std::fs::write(root.join("etc/os-release"), "NAME=\"CentOS Linux\"\nVERSION_ID=\"7\"\nID=\"centos\"\n")?;
    let raw = work.path().join("fs.raw");
    let mut mkfs = Command::new("mkfs.ext4");
    mkfs.args(["-q", "-F", "-L", "img", "-d"]).arg(&root).arg(&raw).arg(IMAGE_SIZE);
    run(mkfs, "e2fsprogs")?;
    let qcow = work.path().join(OVERCLOUD_QCOW2);
    let mut convert = Command::new("qemu-img");
    convert.args(["convert", "-O", "qcow2"]).arg(&raw).arg(&qcow);
    run(convert, "qemu-utils")?;
    let files = vec![
        (OVERCLOUD_QCOW2.to_string(), std::fs::read(&qcow)?),
        ("overcloud-full.vmlinuz".to_string(), b"apex lab kernel stand-in\n".to_vec()),
        ("overcloud-full.initrd".to_string(), b"apex lab initrd stand-in\n".to_vec()),
    ];
    write_tar(&dir.join(OVERCLOUD_TAR), &files)
}

/// Writes a tar of `files` via a temp file and rename (never half-written).
fn write_tar(path: &Path, files: &[(String, Vec<u8>)]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tar.part");
    let mut tar = tar::Builder::new(std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?);
    for (name, bytes) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1_500_000_000);
        tar.append_data(&mut h, name, bytes.as_slice())?;
    }
    tar.into_inner()?.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming into {}", path.display()))
}
