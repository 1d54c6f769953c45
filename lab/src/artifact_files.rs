//! The files the lab's artifact server serves, as RDO publishes them:
//! `overcloud-full.tar` (holding `overcloud-full.qcow2`, a small ext4 image
//! made with mkfs.ext4 and qemu-img with a busybox userland and a recording
//! `yum`, plus kernel and initrd stand-ins) and
//! `ironic-python-agent.tar`; and, as an operator's artifact mirror would,
//! `puppet-opendaylight-<branch>.tar` for each ODL release, and small
//! stand-ins of what Apex's image customizations need: `quagga-4.tar.gz`
//! (BGPVPN), `neutron-patch-NSDriver.patch` (fdio) and `nosdn_vpp_rpms.tar`
//! (fdio without SDN). Made once per lab
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
const CONTENT_VERSION: &str = "5";
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

/// Apex's quagga tarball (constants.py QUAGGA_URL): `quagga/<package>.rpm`.
pub const QUAGGA_TAR: &str = "quagga-4.tar.gz";
/// The packages in it; Apex installs all but debuginfo, devel and contrib.
pub const QUAGGA_RPMS: &[&str] = &[
    "c-capnproto-0.2-1.el7.x86_64.rpm",
    "quagga-1.2.4-1.el7.x86_64.rpm",
    "quagga-contrib-1.2.4-1.el7.x86_64.rpm",
    "quagga-debuginfo-1.2.4-1.el7.x86_64.rpm",
    "quagga-devel-1.2.4-1.el7.x86_64.rpm",
    "zrpcd-0.2-1.el7.x86_64.rpm",
];
/// Apex's neutron NSDriver patch (fdio), applied -p1 in python2.7's site-packages.
pub const NSDRIVER_PATCH: &str = "neutron-patch-NSDriver.patch";
/// The file of the lab image the stand-in patch changes, and its content before.
pub const NEUTRON_INTERFACE_PY: &str =
    "/usr/lib/python2.7/site-packages/neutron/agent/linux/interface.py";
const NEUTRON_INTERFACE_BEFORE: &str = "# apex lab stand-in for neutron's interface drivers\nclass LinuxInterfaceDriver(object):\n    pass\n";
/// The line the stand-in patch adds.
pub const NSDRIVER_CLASS: &str = "class NSDriver(LinuxInterfaceDriver):";
/// Apex's VPP packages for fdio without SDN, as a tar of `nosdn_vpp_rpms/*.rpm`.
pub const NOSDN_VPP_TAR: &str = "nosdn_vpp_rpms.tar";
pub const NOSDN_VPP_RPMS: &[&str] = &[
    "vpp-19.01-release.x86_64.rpm",
    "vpp-lib-19.01-release.x86_64.rpm",
    "vpp-plugins-19.01-release.x86_64.rpm",
];

fn nsdriver_patch() -> String {
    let file = NEUTRON_INTERFACE_PY.trim_start_matches("/usr/lib/python2.7/site-packages/");
    format!(
        "--- a/{file}\n+++ b/{file}\n@@ -1,3 +1,7 @@\n \
         # apex lab stand-in for neutron's interface drivers\n \
         class LinuxInterfaceDriver(object):\n \
         \x20   pass\n+\n+\n+{NSDRIVER_CLASS}\n+    \"\"\"apex lab stand-in for Apex's NSDriver\"\"\"\n"
    )
}

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
        for name in [
            OVERCLOUD_TAR,
            IPA_TAR,
            QUAGGA_TAR,
            NOSDN_VPP_TAR,
            NSDRIVER_PATCH,
        ] {
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
    let stand_in = |name: &str| format!("apex lab stand-in for {name}\n").into_bytes();
    if !dir.join(QUAGGA_TAR).is_file() {
        let files: Vec<_> = QUAGGA_RPMS
            .iter()
            .map(|r| (format!("quagga/{r}"), stand_in(r)))
            .collect();
        write_tar_gz(&dir.join(QUAGGA_TAR), &files)?;
    }
    if !dir.join(NOSDN_VPP_TAR).is_file() {
        let files: Vec<_> = NOSDN_VPP_RPMS
            .iter()
            .map(|r| (format!("nosdn_vpp_rpms/{r}"), stand_in(r)))
            .collect();
        write_tar(&dir.join(NOSDN_VPP_TAR), &files)?;
    }
    if !dir.join(NSDRIVER_PATCH).is_file() {
        let tmp = dir.join(format!("{NSDRIVER_PATCH}.part"));
        std::fs::write(&tmp, nsdriver_patch())?;
        std::fs::rename(&tmp, dir.join(NSDRIVER_PATCH))?;
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
    let qcow = work.path().join(OVERCLOUD_QCOW2);
    make_overcloud_qcow2(&qcow)?;
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

/// Where the lab's `yum` stand-in records each call (one line of arguments).
pub const YUM_LOG: &str = "/var/log/apex-lab-yum.log";
/// Where it marks a package installed: `<dir>/<package>`.
pub const PACKAGES_DIR: &str = "/usr/share/apex-lab-packages";
/// A package name the stand-in refuses, as yum does an unknown package.
pub const MISSING_PACKAGE_PREFIX: &str = "apex-lab-missing";

/// The image's `/usr/bin/yum`: records its arguments; `install PKG...` marks
/// each package installed (a package file by its file name), except the
/// missing ones, which fail like yum; `remove PKG...` drops the marks.
fn yum_stand_in() -> String {
    format!(
        "#!/bin/sh\n\
         # apex lab stand-in for yum: records each call; install marks packages installed.\n\
         echo \"$@\" >> {YUM_LOG}\n\
         verb=\n\
         for a in \"$@\"; do\n\
         \x20 case \"$a\" in\n\
         \x20   -*) ;;\n\
         \x20   install|remove) verb=$a ;;\n\
         \x20   {MISSING_PACKAGE_PREFIX}*) echo \"No package $a available.\" >&2; echo \"Error: Nothing to do\" >&2; exit 1 ;;\n\
         \x20   *) case \"$verb\" in\n\
         \x20        install) mkdir -p {PACKAGES_DIR} && echo \"$a\" > {PACKAGES_DIR}/\"${{a##*/}}\" ;;\n\
         \x20        remove) rm -f {PACKAGES_DIR}/\"$a\" ;;\n\
         \x20      esac ;;\n\
         \x20 esac\n\
         done\n"
    )
}

/// Where the lab's `crudini` and `exportfs` stand-ins record their calls.
pub const CRUDINI_LOG: &str = "/var/log/apex-lab-crudini.log";
pub const EXPORTFS_LOG: &str = "/var/log/apex-lab-exportfs.log";

/// The image's `/usr/bin/crudini`: `--del FILE SECTION KEY` as crudini does
/// it (the key's lines in that section removed), nothing else.
fn crudini_stand_in() -> String {
    r#"#!/bin/sh
# apex lab stand-in for crudini: --del FILE SECTION KEY only.
echo "$@" >> LOG
[ "$1" = --del ] && [ $# -eq 4 ] || { echo 'crudini stand-in: only --del FILE SECTION KEY' >&2; exit 1; }
[ -f "$2" ] || { echo "crudini: $2: No such file or directory" >&2; exit 1; }
awk -v sec="[$3]" -v key="$4" '/^\[/ { cur = $0 } { k = $0; sub(/[ \t]*=.*/, "", k) } !(cur == sec && k == key)' "$2" > "$2.new" \
  && cat "$2.new" > "$2" && rm -f "$2.new"
"#
    .replace("LOG", CRUDINI_LOG)
}

/// The image's `/usr/sbin/exportfs`: records its arguments, lists /etc/exports.
fn exportfs_stand_in() -> String {
    r#"#!/bin/sh
# apex lab stand-in for exportfs: records each call.
echo "$@" >> LOG
while read -r dir opts; do echo "exporting $opts:$dir"; done < /etc/exports
"#
    .replace("LOG", EXPORTFS_LOG)
}

/// The lab image's units (as an upstream overcloud-full ships them) and
/// the one it enables, the OVS agent an SDN controller replaces.
pub const DHCP_UNIT: &str = "/usr/lib/systemd/system/dhcp-interface@.service";
pub const DHCP_UNIT_TEXT: &str = "[Unit]\nDescription=DHCP interface %i\nAfter=network.target\n\
ConditionPathExists=!/etc/sysconfig/network-scripts/ifcfg-%i\n\n[Service]\nType=oneshot\n\
ExecStart=/usr/local/sbin/dhcp-interface %i\n";
pub const OVS_AGENT_UNIT: &str = "/usr/lib/systemd/system/neutron-openvswitch-agent.service";
pub const OVS_AGENT_LINK: &str =
    "/etc/systemd/system/multi-user.target.wants/neutron-openvswitch-agent.service";

/// The lab's overcloud image: a small ext4 filesystem in qcow2 holding a
/// busybox userland (`/bin/busybox`, its applets as symlinks: enough for a
/// chroot to run `sh -c`), a recording `yum` stand-in, `/proc`, `/sys`,
/// `/dev` to bind into, and the puppet modules a deploy swaps or patches.
/// Reproducible: a fixed UUID, hash seed and time for every inode, so the
/// same host (its busybox) makes the same bytes.
pub fn make_overcloud_qcow2(qcow: &Path) -> anyhow::Result<()> {
    let work = tempfile::Builder::new()
        .prefix("apex-lab-overcloud-")
        .tempdir_in(
            qcow.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new(".")),
        )?;
    let root = work.path().join("root");
    tar::Archive::new(super::images::busybox_rootfs()?.as_slice())
        .unpack(&root)
        .context("unpacking the busybox rootfs")?;
    for d in [
        "proc",
        "sys",
        "dev",
        "run",
        "var/log",
        "usr/share",
        "etc/yum.repos.d",
    ] {
        std::fs::create_dir_all(root.join(d))?;
    }
    std::fs::write(root.join("etc/hostname"), "overcloud-full\n")?;
    std::fs::write(
        root.join("etc/os-release"),
        "NAME=\"CentOS Linux\"\nVERSION_ID=\"7\"\nID=\"centos\"\n",
    )?;
    for (path, text) in [
        ("usr/bin/yum", yum_stand_in()),
        ("usr/bin/crudini", crudini_stand_in()),
        ("usr/sbin/exportfs", exportfs_stand_in()),
    ] {
        let file = root.join(path);
        std::fs::create_dir_all(file.parent().unwrap())?;
        std::fs::write(&file, text)?;
        std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    }
    // What nfs-utils gives a CentOS image: its user.
    for (file, line) in [
        (
            "etc/passwd",
            "nfsnobody:x:65534:65534:Anonymous NFS User:/var/lib/nfs:/sbin/nologin\n",
        ),
        ("etc/group", "nfsnobody:x:65534:\n"),
    ] {
        let mut text = std::fs::read_to_string(root.join(file))?;
        text.push_str(line);
        std::fs::write(root.join(file), text)?;
    }
    let image_file = |path: &str, text: &str| -> anyhow::Result<()> {
        let file = root.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(file.parent().unwrap())?;
        std::fs::write(file, text)?;
        Ok(())
    };
    image_file(DHCP_UNIT, DHCP_UNIT_TEXT)?;
    image_file(
        OVS_AGENT_UNIT,
        "[Unit]\nDescription=OpenStack Neutron Open vSwitch Agent\n\n[Install]\nWantedBy=multi-user.target\n",
    )?;
    image_file(
        "/usr/lib/systemd/system/nfs-server.service",
        "[Unit]\nDescription=NFS server and services\n\n[Install]\nWantedBy=multi-user.target\n",
    )?;
    image_file(NEUTRON_INTERFACE_PY, NEUTRON_INTERFACE_BEFORE)?;
    image_file(
        "/etc/rc.d/rc.local",
        "#!/bin/bash\ntouch /var/lock/subsys/local\n",
    )?;
    let link = root.join(OVS_AGENT_LINK.trim_start_matches('/'));
    std::fs::create_dir_all(link.parent().unwrap())?;
    std::os::unix::fs::symlink(OVS_AGENT_UNIT, link)?;
    std::os::unix::fs::symlink("rc.d/rc.local", root.join("etc/rc.local"))?;
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
    mkfs.env("E2FSPROGS_FAKE_TIME", FIXED_TIME)
        .args(["-q", "-F", "-L", "img", "-U", FS_UUID, "-E"])
        .arg(format!("hash_seed={HASH_SEED}"))
        .arg("-d")
        .arg(&root)
        .arg(&raw)
        .arg(IMAGE_SIZE);
    run(mkfs, "e2fsprogs")?;
    // mkfs copies each file's times from the staging tree (ctime and atime
    // are the host's now): set them all to the fixed time.
    let mut script = String::new();
    let mut paths = vec![PathBuf::from("/")];
    paths.extend(tree(&root, Path::new("/"))?);
    for path in paths {
        for field in ["atime", "ctime", "mtime", "crtime"] {
            script.push_str(&format!(
                "sif \"{}\" {field} {FIXED_TIME}\n",
                path.display()
            ));
        }
    }
    let cmds = work.path().join("times.debugfs");
    std::fs::write(&cmds, script)?;
    let mut debugfs = Command::new("debugfs");
    debugfs
        .env("E2FSPROGS_FAKE_TIME", FIXED_TIME)
        .arg("-w")
        .arg("-f")
        .arg(&cmds)
        .arg(&raw);
    run(debugfs, "e2fsprogs")?;
    let mut convert = Command::new("qemu-img");
    convert.args(["convert", "-O", "qcow2"]).arg(&raw).arg(qcow);
    run(convert, "qemu-utils").map(drop)
}

/// The lab image's fixed filesystem identity and time (2017-07-14).
const FS_UUID: &str = "6a1b3c4d-0000-4000-8000-00000000a9e1";
const HASH_SEED: &str = "6a1b3c4d-0000-4000-8000-00000000a9e2";
const FIXED_TIME: &str = "1500000000";

/// Every path below `dir` as seen from the image root `at`, sorted.
fn tree(dir: &Path, at: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = at.join(e.file_name());
        out.push(path.clone());
        if e.file_type()?.is_dir() {
            out.extend(tree(&e.path(), &path)?);
        }
    }
    Ok(out)
}

/// Writes a gzipped tar of `files` via a temp file and rename.
fn write_tar_gz(path: &Path, files: &[(String, Vec<u8>)]) -> anyhow::Result<()> {
    let plain = path.with_extension("plain.part");
    write_tar(&plain, files)?;
    let tar = std::fs::read(&plain)?;
    std::fs::remove_file(&plain)?;
    let mut gz = flate2::GzBuilder::new()
        .mtime(1_500_000_000)
        .write(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &tar)?;
    let tmp = path.with_extension("gz.part");
    std::fs::write(&tmp, gz.finish()?)?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming into {}", path.display()))
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
