//! The files the lab's artifact server serves, as RDO publishes them:
//! `overcloud-full.tar` (holding `overcloud-full.qcow2`, a small ext4 image
//! made with mkfs.ext4 and qemu-img, plus kernel and initrd stand-ins) and
//! `ironic-python-agent.tar`; and, as an operator's artifact mirror would,
//! `puppet-opendaylight-<branch>.tar` for each ODL release. Made once per lab
//! dir and kept, so a re-served file keeps its content and its validators
//! (remade when this code makes them differently: [`CONTENT_VERSION`]).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context as _;

use apex::local_tools::run;

pub const OVERCLOUD_TAR: &str = "overcloud-full.tar";
pub const OVERCLOUD_QCOW2: &str = "overcloud-full.qcow2";
pub const IPA_TAR: &str = "ironic-python-agent.tar";
/// Size of the ext4 filesystem in the qcow2 (sparse; the qcow2 stays small).
const IMAGE_SIZE: &str = "64M";
/// Bumped when the served files change shape; a kept dir of another version is remade.
const CONTENT_VERSION: &str = "3";
/// The puppet-opendaylight branches served (`stable/<release>` as `stable-<release>`).
pub const PUPPET_ODL_BRANCHES: &[&str] = &[
    "master",
    "stable-carbon",
    "stable-nitrogen",
    "stable-oxygen",
    "stable-fluorine",
    "stable-neon",
];
/// What the overcloud image's own (old) puppet-opendaylight says it is.
pub const IMAGE_PUPPET_ODL_VERSION: &str = "upstream image module";
/// `manifests/init.pp` of the image's puppet-tripleo (what an upstream puppet patch changes).
pub const IMAGE_PUPPET_TRIPLEO_INIT: &str = "class tripleo {\n  $profile = 'upstream'\n}\n";

/// The served name of the puppet-opendaylight tarball of `branch` (e.g. `stable-neon`).
pub fn puppet_odl_tar(branch: &str) -> String {
    format!("puppet-opendaylight-{branch}.tar")
}

/// The `metadata.json` of the lab's puppet-opendaylight module of `version`.
pub fn puppet_odl_metadata(version: &str) -> String {
    format!("{{\"name\": \"opendaylight-opendaylight\", \"version\": \"{version}\"}}\n")
}

/// Makes what is missing of the served files in `dir`; returns `dir`.
pub fn ensure(dir: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let version_file = dir.join(".content-version");
    if std::fs::read_to_string(&version_file).ok().as_deref() != Some(CONTENT_VERSION) {
        for name in [OVERCLOUD_TAR, IPA_TAR] {
            let _ = std::fs::remove_file(dir.join(name));
        }
    }
    for branch in PUPPET_ODL_BRANCHES {
        let tar = dir.join(puppet_odl_tar(branch));
        if !tar.is_file() {
            let files = [
                (
                    "opendaylight/metadata.json".to_string(),
                    puppet_odl_metadata(branch).into_bytes(),
                ),
                (
                    "opendaylight/manifests/init.pp".to_string(),
                    b"class opendaylight () {}\n".to_vec(),
                ),
            ];
            write_tar(&tar, &files)?;
        }
    }
    if !dir.join(OVERCLOUD_TAR).is_file() {
        make_overcloud_tar(dir)?;
    }
    if !dir.join(IPA_TAR).is_file() {
        let files: [(&str, &[u8]); 2] = [
            (
                "ironic-python-agent.kernel",
                b"apex lab ironic-python-agent kernel stand-in\n",
            ),
            (
                "ironic-python-agent.initramfs",
                b"apex lab ironic-python-agent initramfs stand-in\n",
            ),
        ];
        write_tar(
            &dir.join(IPA_TAR),
            &files.map(|(n, b)| (n.to_string(), b.to_vec())),
        )?;
    }
    std::fs::write(&version_file, CONTENT_VERSION)?;
    Ok(dir.to_path_buf())
}

fn make_overcloud_tar(dir: &Path) -> anyhow::Result<()> {
    let work = tempfile::Builder::new()
        .prefix("apex-lab-overcloud-")
        .tempdir_in(dir)?;
    let root = work.path().join("root");
    std::fs::create_dir_all(root.join("etc"))?;
    std::fs::write(root.join("etc/hostname"), "overcloud-full\n")?;
    std::fs::write(
        root.join("etc/os-release"),
        "NAME=\"CentOS Linux\"\nVERSION_ID=\"7\"\nID=\"centos\"\n",
    )?;
    // The module the image ships, which an ODL deploy replaces.
    let module = root.join("etc/puppet/modules/opendaylight");
    std::fs::create_dir_all(module.join("manifests"))?;
    std::fs::write(
        module.join("metadata.json"),
        puppet_odl_metadata(IMAGE_PUPPET_ODL_VERSION),
    )?;
    std::fs::write(
        module.join("manifests/legacy.pp"),
        "class opendaylight::legacy () {}\n",
    )?;
    let tripleo = root.join("etc/puppet/modules/tripleo/manifests");
    std::fs::create_dir_all(&tripleo)?;
    std::fs::write(tripleo.join("init.pp"), IMAGE_PUPPET_TRIPLEO_INIT)?;
    let raw = work.path().join("fs.raw");
    let mut mkfs = Command::new("mkfs.ext4");
    mkfs.args(["-q", "-F", "-L", "img", "-d"])
        .arg(&root)
        .arg(&raw)
        .arg(IMAGE_SIZE);
    run(mkfs, "e2fsprogs")?;
    let qcow = work.path().join(OVERCLOUD_QCOW2);
    let mut convert = Command::new("qemu-img");
    convert
        .args(["convert", "-O", "qcow2"])
        .arg(&raw)
        .arg(&qcow);
    run(convert, "qemu-utils")?;
    let files = vec![
        (OVERCLOUD_QCOW2.to_string(), std::fs::read(&qcow)?),
        (
            "overcloud-full.vmlinuz".to_string(),
            b"apex lab kernel stand-in\n".to_vec(),
        ),
        (
            "overcloud-full.initrd".to_string(),
            b"apex lab initrd stand-in\n".to_vec(),
        ),
    ];
    write_tar(&dir.join(OVERCLOUD_TAR), &files)
}

/// Writes a tar of `files` via a temp file and rename (never half-written).
fn write_tar(path: &Path, files: &[(String, Vec<u8>)]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tar.part");
    let mut tar = tar::Builder::new(
        std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?,
    );
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
