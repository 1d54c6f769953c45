//! The lab's undercloud VM: a small bootable undercloud image served as the
//! `undercloud.qcow2` artifact, and a libvirtd (with virtlogd) the tests
//! start and stop themselves.
//!
//! The image is made from this machine's files, without the network: a
//! busybox userland (busybox-static), the host's sshd, sftp-server, bash,
//! flock, patch, tar, timeout and dash (/bin/sh) with the libraries they link, the `openstack`
//! stand-in (which records `undercloud install` too), THT stand-in files and
//! a `stack` user; busybox init runs an rc script that applies the ifcfg
//! files apex injects and starts sshd. It boots with the host's Debian
//! kernel (linux-image-amd64) and a tiny initramfs made here (busybox and the
//! virtio, ext4 modules). Everything is cached under
//! `/var/tmp/apex-lab-undercloud/<version>-<kernel>/` and remade only when
//! [`CONTENT_VERSION`] or the kernel changes: a fresh machine builds it in
//! seconds.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use apex::local_tools::run;

/// Bumped whenever the image is made differently.
pub const CONTENT_VERSION: &str = "8";
/// The artifact name, as Apex's undercloud image.
pub const UNDERCLOUD_QCOW2: &str = "undercloud.qcow2";
/// The undercloud's `openstack` stand-in records its calls here (in the VM).
pub const CALLS_FILE: &str = "/var/log/apex-lab/openstack_calls.jsonl";
/// The work dir a deploy uses on the VM (the site default).
pub const WORK_DIR: &str = "/home/stack/apex";
/// The kernel command line the lab's undercloud boots with.
pub const CMDLINE: &str = "console=ttyS0 root=/dev/vda rw init=/sbin/init panic=-1";
/// Host programs copied into the image (with their libraries).
const HOST_PROGRAMS: &[&str] = &[
    "/usr/sbin/sshd",
    "/usr/lib/openssh/sftp-server",
    "/usr/bin/bash",
    "/usr/bin/flock",
    "/usr/bin/patch",
    "/usr/bin/tar",
    "/usr/bin/timeout",
    "/usr/bin/dash",
    // busybox applets that start programs run busybox's own applet when one has
    // that name (sh, timeout): the real ones are used instead.
    "/usr/bin/setsid",
    "/usr/bin/env",
    "/usr/bin/nohup",
    "/usr/bin/xargs",
];
/// GNU tools copied into the image when the host has them (the rest is busybox).
const GNU_TOOLS: &[&str] = &[
    "install",
    "cp",
    "mv",
    "ln",
    "mkdir",
    "rm",
    "rmdir",
    "chmod",
    "chown",
    "cat",
    "ls",
    "stat",
    "mktemp",
    "sha256sum",
    "md5sum",
    "dirname",
    "basename",
    "readlink",
    "realpath",
    "sort",
    "head",
    "tail",
    "tee",
    "touch",
    "sleep",
    "cut",
    "tr",
    "wc",
    "date",
    "id",
    "uname",
    "du",
    "df",
    "test",
    "printf",
    "echo",
    "true",
    "false",
    "grep",
    "sed",
    "find",
    "gzip",
    "sync",
];
/// Kernel modules the initramfs loads (with their dependencies) when not built in.
const MODULES: &[&str] = &[
    "virtio_pci",
    "virtio_blk",
    "virtio_net",
    "crc32c_generic",
    "ext4",
];
const IMAGE_SIZE: &str = "256M";
const OPENSTACK_SCRIPT: &str = include_str!("openstack.sh");

/// The cached undercloud image and the kernel and initrd it boots with.
#[derive(Debug, Clone)]
pub struct UndercloudImage {
    pub qcow2: PathBuf,
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    /// The version, kernel and build time, for reports.
    pub dir: PathBuf,
    /// Seconds it took to build (0 when it came from the cache).
    pub built_seconds: f64,
}

/// The newest installed kernel with its modules: (version, vmlinuz).
fn kernel() -> anyhow::Result<(String, PathBuf)> {
    let mut found: Vec<(String, PathBuf)> = std::fs::read_dir("/boot")
        .context("reading /boot")?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let v = name.strip_prefix("vmlinuz-")?.to_string();
            Path::new("/lib/modules")
                .join(&v)
                .join("modules.dep")
                .is_file()
                .then(|| (v, e.path()))
        })
        .collect();
    found.sort();
    found
        .pop()
        .context("no kernel in /boot with its modules (Debian package linux-image-amd64; tests/lab/install.sh installs it)")
}

/// Builds (once) and returns the lab's undercloud image.
pub fn ensure_image() -> anyhow::Result<UndercloudImage> {
    let (kver, vmlinuz) = kernel()?;
    let base = PathBuf::from(
        std::env::var_os("APEX_LAB_UNDERCLOUD_CACHE")
            .unwrap_or_else(|| "/var/tmp/apex-lab-undercloud".into()),
    );
    let dir = base.join(format!("v{CONTENT_VERSION}-{kver}"));
    let done = |built_seconds| UndercloudImage {
        qcow2: dir.join(UNDERCLOUD_QCOW2),
        kernel: dir.join("vmlinuz"),
        initrd: dir.join("initrd.img"),
        dir: dir.clone(),
        built_seconds,
    };
    if dir.join("done").is_file() {
        return Ok(done(0.0));
    }
    std::fs::create_dir_all(&base)?;
    std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o755))?;
    let lock = std::fs::File::create(base.join(".lock"))?;
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)?;
    if dir.join("done").is_file() {
        return Ok(done(0.0));
    }
    let t0 = Instant::now();
    let work = tempfile::Builder::new()
        .prefix(".build-")
        .tempdir_in(&base)?;
    build(work.path(), &kver, &vmlinuz).context("lab: building the undercloud image")?;
    std::fs::write(
        work.path().join("done"),
        format!("{CONTENT_VERSION} {kver}\n"),
    )?;
    let _ = std::fs::remove_dir_all(&dir);
    let built = work.keep();
    std::fs::rename(&built, &dir)?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))?;
    // Old versions go: only this one is used.
    for e in std::fs::read_dir(&base)?.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.starts_with('v') && e.path() != dir {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
    Ok(done(t0.elapsed().as_secs_f64()))
}

fn build(out: &Path, kver: &str, vmlinuz: &Path) -> anyhow::Result<()> {
    std::fs::copy(vmlinuz, out.join("vmlinuz"))?;
    std::fs::set_permissions(out.join("vmlinuz"), std::fs::Permissions::from_mode(0o644))?;
    let initrd = initramfs(kver)?;
    std::fs::write(out.join("initrd.img"), initrd)?;
    let stage = out.join("root");
    rootfs(&stage)?;
    let raw = out.join("undercloud.raw");
    let mut mkfs = Command::new("mkfs.ext4");
    mkfs.args(["-q", "-F", "-L", "undercloud", "-d"])
        .arg(&stage)
        .arg(&raw)
        .arg(IMAGE_SIZE);
    run(mkfs, "e2fsprogs")?;
    let mut convert = Command::new("qemu-img");
    convert
        .args(["convert", "-O", "qcow2"])
        .arg(&raw)
        .arg(out.join(UNDERCLOUD_QCOW2));
    run(convert, "qemu-utils")?;
    std::fs::remove_file(&raw)?;
    std::fs::remove_dir_all(&stage)?;
    for f in ["vmlinuz", "initrd.img", UNDERCLOUD_QCOW2] {
        std::fs::set_permissions(out.join(f), std::fs::Permissions::from_mode(0o644))?;
    }
    Ok(())
}

// --- initramfs -------------------------------------------------------------

/// A newc cpio archive, written entry by entry.
struct Cpio {
    out: Vec<u8>,
    ino: u32,
}

impl Cpio {
    fn new() -> Self {
        Self {
            out: Vec::new(),
            ino: 1,
        }
    }

    fn entry(&mut self, name: &str, mode: u32, data: &[u8], rdev: (u32, u32)) {
        let pad = |v: &mut Vec<u8>| {
            while !v.len().is_multiple_of(4) {
                v.push(0);
            }
        };
        let header = format!(
            "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            self.ino,
            mode,
            0,
            0,
            1,
            0,
            data.len(),
            0,
            0,
            rdev.0,
            rdev.1,
            name.len() + 1,
            0
        );
        self.ino += 1;
        self.out.extend_from_slice(header.as_bytes());
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(0);
        pad(&mut self.out);
        self.out.extend_from_slice(data);
        pad(&mut self.out);
    }

    fn dir(&mut self, name: &str) {
        self.entry(name, 0o040755, b"", (0, 0));
    }

    fn file(&mut self, name: &str, mode: u32, data: &[u8]) {
        self.entry(name, 0o100000 | mode, data, (0, 0));
    }

    fn symlink(&mut self, name: &str, target: &str) {
        self.entry(name, 0o120777, target.as_bytes(), (0, 0));
    }

    fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, b"", (0, 0));
        self.out
    }
}

/// The modules to load, dependencies first, as paths relative to the module dir.
fn module_order(kver: &str) -> anyhow::Result<Vec<String>> {
    let root = Path::new("/lib/modules").join(kver);
    let dep = std::fs::read_to_string(root.join("modules.dep"))?;
    let builtin = std::fs::read_to_string(root.join("modules.builtin")).unwrap_or_default();
    let name_of = |p: &str| -> String {
        let f = p.rsplit('/').next().unwrap_or(p);
        f.split(".ko").next().unwrap_or(f).replace('-', "_")
    };
    let mut deps = std::collections::BTreeMap::new();
    for line in dep.lines() {
        if let Some((m, d)) = line.split_once(':') {
            deps.insert(
                name_of(m),
                (
                    m.to_string(),
                    d.split_whitespace().map(String::from).collect::<Vec<_>>(),
                ),
            );
        }
    }
    let builtins: BTreeSet<String> = builtin.lines().map(name_of).collect();
    let mut order = Vec::new();
    let mut seen = BTreeSet::new();
    fn visit(
        name: &str,
        deps: &std::collections::BTreeMap<String, (String, Vec<String>)>,
        seen: &mut BTreeSet<String>,
        order: &mut Vec<String>,
        name_of: &dyn Fn(&str) -> String,
    ) {
        if !seen.insert(name.to_string()) {
            return;
        }
        if let Some((path, ds)) = deps.get(name) {
            for d in ds {
                visit(&name_of(d), deps, seen, order, name_of);
            }
            order.push(path.clone());
        }
    }
    for m in MODULES {
        if builtins.contains(*m) {
            continue;
        }
        if !deps.contains_key(*m) {
            bail!("kernel {kver} has no module {m}");
        }
        visit(m, &deps, &mut seen, &mut order, &name_of);
    }
    Ok(order)
}

const INIT: &str = r#"#!/bin/sh
# apex lab initramfs: load the disk, NIC and ext4 modules, mount the root, switch to it.
export PATH=/bin
mkdir -p /proc /sys /dev /newroot
mount -t proc proc /proc
mount -t devtmpfs dev /dev
for m in $(cat /modules.order); do insmod "/lib/modules/$m" 2>/dev/null; done
root=/dev/vda
for a in $(cat /proc/cmdline); do case "$a" in root=*) root=${a#root=} ;; esac; done
i=0
while [ ! -b "$root" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
mount -t ext4 -o rw "$root" /newroot || { echo "initramfs: cannot mount $root"; sleep 5; poweroff -f; }
umount /proc
umount /dev
exec switch_root /newroot /sbin/init
"#;

fn initramfs(kver: &str) -> anyhow::Result<Vec<u8>> {
    let busybox = std::fs::read("/bin/busybox")
        .context("reading /bin/busybox (Debian package busybox-static)")?;
    let order = module_order(kver)?;
    let mut c = Cpio::new();
    for d in ["bin", "dev", "proc", "sys", "newroot", "lib", "lib/modules"] {
        c.dir(d);
    }
    c.entry("dev/console", 0o020600, b"", (5, 1));
    c.file("bin/busybox", 0o755, &busybox);
    for a in [
        "sh",
        "mount",
        "umount",
        "mkdir",
        "insmod",
        "cat",
        "sleep",
        "switch_root",
        "poweroff",
        "echo",
    ] {
        c.symlink(&format!("bin/{a}"), "busybox");
    }
    c.file("init", 0o755, INIT.as_bytes());
    let mut names = Vec::new();
    for m in &order {
        let data = std::fs::read(Path::new("/lib/modules").join(kver).join(m))?;
        let base = m.rsplit('/').next().unwrap_or(m).to_string();
        c.file(&format!("lib/modules/{base}"), 0o644, &data);
        names.push(base);
    }
    c.file(
        "modules.order",
        0o644,
        format!("{}\n", names.join("\n")).as_bytes(),
    );
    let cpio = c.finish();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&cpio)?;
    Ok(gz.finish()?)
}

// --- the root filesystem -----------------------------------------------------

const RC: &str = r#"#!/bin/sh
# apex lab undercloud: mounts, hostname, the NICs of the ifcfg files apex injected.
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=0755 run /run && mkdir -p /run/sshd && chmod 0755 /run/sshd
for k in /etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_rsa_key; do
  [ -f "$k" ] && echo "HostKey $k"
done > /run/sshd/host_keys.conf
mount -t tmpfs -o mode=1777 tmp /tmp
[ -f /etc/hostname ] && hostname -F /etc/hostname
ip link set lo up
configured=
for f in /etc/sysconfig/network-scripts/ifcfg-*; do
  [ -f "$f" ] || continue
  DEVICE= BOOTPROTO= IPADDR= PREFIX= GATEWAY=
  . "$f"
  [ -n "$DEVICE" ] && [ -e "/sys/class/net/$DEVICE" ] || continue
  ip link set "$DEVICE" up
  case "$BOOTPROTO" in
    dhcp) udhcpc -i "$DEVICE" -n -q -t 20 -s /etc/apex-lab/udhcpc.sh ;;
    *) [ -n "$IPADDR" ] && ip addr add "$IPADDR/${PREFIX:-24}" dev "$DEVICE"
       [ -n "$GATEWAY" ] && ip route add default via "$GATEWAY" ;;
  esac
  configured="$configured $DEVICE"
done
if [ -z "$configured" ] && [ -e /sys/class/net/eth0 ]; then
  ip link set eth0 up && udhcpc -i eth0 -n -q -t 20 -s /etc/apex-lab/udhcpc.sh
fi
mkdir -p /var/log/apex-lab && chmod 0777 /var/log/apex-lab
echo "apex lab undercloud up:$configured"
"#;

const UDHCPC: &str = r#"#!/bin/sh
case "$1" in
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    [ -n "$router" ] && ip route add default via "${router%% *}" dev "$interface"
    ;;
esac
exit 0
"#;

const INITTAB: &str = "::sysinit:/etc/apex-lab/rc\n::respawn:/usr/sbin/sshd -D -e\n::ctrlaltdel:/bin/umount -a -r\n::shutdown:/bin/umount -a -r\n";

/// The host keys are those apex injected (Ed25519, or the RSA key of an
/// earlier apex): the rc script lists the ones present in /run/sshd/host_keys.conf, so
/// sshd does not complain about an absent one at every boot.
const SSHD_CONFIG: &str = "# apex lab undercloud\nInclude /run/sshd/host_keys.conf\n\
PermitRootLogin prohibit-password\nPubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
UsePAM no\nAuthorizedKeysFile .ssh/authorized_keys\nSubsystem sftp /usr/lib/openssh/sftp-server\nAcceptEnv LANG LC_*\n\
MaxSessions 64\nMaxStartups 64\n";

/// `sudo` stand-in: the lab has no PAM; options are dropped and the command runs as is.
const SUDO: &str = "#!/bin/sh\n# apex lab stand-in of sudo: runs the command as the caller\nwhile [ $# -gt 0 ]; do case \"$1\" in -n|-E|-H) shift ;; -u) shift 2 ;; --) shift; break ;; *) break ;; esac; done\nexec \"$@\"\n";

fn write(root: &Path, rel: &str, text: &str, mode: u32) -> anyhow::Result<()> {
    let p = root.join(rel.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().expect("a parent"))?;
    std::fs::write(&p, text)?;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

/// Copies a host file to the same path under `root` (following symlinks).
fn copy_host(root: &Path, path: &str) -> anyhow::Result<()> {
    let dest = root.join(path.trim_start_matches('/'));
    if dest.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(dest.parent().expect("a parent"))?;
    std::fs::copy(path, &dest).with_context(|| format!("copying {path}"))?;
    Ok(())
}

/// The shared libraries `program` needs (ldd's resolved paths).
fn libraries(program: &str) -> anyhow::Result<Vec<String>> {
    let mut cmd = Command::new("ldd");
    cmd.arg(program);
    let out = run(cmd, "libc-bin")?;
    Ok(String::from_utf8_lossy(&out)
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let path = match l.split_once("=>") {
                Some((_, r)) => r.split_whitespace().next()?,
                None => l.split_whitespace().next()?,
            };
            path.starts_with('/').then(|| path.to_string())
        })
        .collect())
}

fn rootfs(root: &Path) -> anyhow::Result<()> {
    for d in [
        "bin",
        "sbin",
        "usr/bin",
        "usr/sbin",
        "etc/ssh",
        "proc",
        "sys",
        "dev",
        "run",
        "tmp",
        "root/.ssh",
        "var/log",
        "var/empty",
        "home",
        "etc/sysconfig/network-scripts",
    ] {
        std::fs::create_dir_all(root.join(d))?;
    }
    std::fs::set_permissions(root.join("tmp"), std::fs::Permissions::from_mode(0o1777))?;
    std::fs::set_permissions(root.join("root"), std::fs::Permissions::from_mode(0o700))?;
    // GNU coreutils, grep, sed, find: the flags a deploy's remote commands use.
    let gnu = GNU_TOOLS
        .iter()
        .map(|t| format!("/usr/bin/{t}"))
        .filter(|p| Path::new(p).is_file());
    for p in HOST_PROGRAMS.iter().map(|p| p.to_string()).chain(gnu) {
        let p = p.as_str();
        copy_host(root, p)?;
        for lib in libraries(p)? {
            copy_host(root, &lib)?;
        }
    }
    copy_host(root, "/bin/busybox")?;
    // /bin/sh is dash, as on Debian: busybox's ash prefers its own applets
    // (timeout without --kill-after) over the GNU tools on PATH.
    std::os::unix::fs::symlink("/usr/bin/dash", root.join("bin/sh"))?;
    let list = Command::new("/bin/busybox")
        .arg("--list-full")
        .output()
        .context("busybox --list-full")?;
    for full in String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        let link = root.join(full);
        if link.symlink_metadata().is_ok() || full.ends_with("/busybox") {
            continue;
        }
        std::fs::create_dir_all(link.parent().expect("a parent"))?;
        std::os::unix::fs::symlink("/bin/busybox", &link)?;
    }
    for (p, t) in [
        ("bin/bash", "/usr/bin/bash"),
        ("usr/bin/env", "/bin/busybox"),
    ] {
        if root.join(p).symlink_metadata().is_err() {
            std::os::unix::fs::symlink(t, root.join(p))?;
        }
    }
    write(
        root,
        "etc/passwd",
        "root:x:0:0:root:/root:/bin/sh\nsshd:x:100:65534::/run/sshd:/sbin/nologin\nstack:x:1000:1000:stack:/home/stack:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n",
        0o644,
    )?;
    write(
        root,
        "etc/group",
        "root:x:0:\nstack:x:1000:\nnogroup:x:65534:\n",
        0o644,
    )?;
    write(
        root,
        "etc/shadow",
        "root:*:19000:0:99999:7:::\nsshd:*:19000:0:99999:7:::\nstack:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n",
        0o600,
    )?;
    write(root, "etc/hostname", "undercloud\n", 0o644)?;
    write(root, "etc/hosts", "127.0.0.1 localhost undercloud\n", 0o644)?;
    write(root, "etc/inittab", INITTAB, 0o644)?;
    write(root, "etc/apex-lab/rc", RC, 0o755)?;
    write(root, "etc/apex-lab/udhcpc.sh", UDHCPC, 0o755)?;
    write(root, "etc/ssh/sshd_config", SSHD_CONFIG, 0o644)?;
    write(
        root,
        "etc/profile",
        "export PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin\n",
        0o644,
    )?;
    write(root, "usr/bin/sudo", SUDO, 0o755)?;
    std::os::unix::fs::symlink("/bin/busybox", root.join("sbin/init")).or_else(|e| {
        if root.join("sbin/init").symlink_metadata().is_ok() {
            Ok(())
        } else {
            Err(e)
        }
    })?;
    // The undercloud's THT (the real Stein, as `master` deploys), credentials
    // and openstack stand-in, as on the sshd lab undercloud.
    let tht = "usr/share/openstack-tripleo-heat-templates";
    let stein = crate::tht::release(crate::tht::DEFAULT_RELEASE)?;
    let archive = crate::tht::archive_blocking(&stein.tht)?;
    crate::tht::install(&archive, &stein.tht, &root.join(tht))?;
    write(
        root,
        "home/stack/stackrc",
        "# apex lab undercloud credentials (stand-in)\nexport APEX_LAB_STACKRC=1\nexport OS_CLOUD=undercloud\n",
        0o644,
    )?;
    let q = |s: &str| format!("'{s}'");
    let script = crate::undercloud::script_helpers(OPENSTACK_SCRIPT)
        .replace("@CALLS@", &q(CALLS_FILE))
        .replace("@WORK_DIR@", &q(WORK_DIR))
        .replace("@FAIL_FILE@", &q("/var/log/apex-lab/fail_deploy"))
        .replace("@SLOW_FILE@", &q("/var/log/apex-lab/slow_deploy"))
        // No Python in the VM to render THT with: its stand-in checks files only.
        .replace("@THT_DIRS@", "")
        .replace("@THT_RESOLVE@", "''")
        .replace("@RENDER_CACHE@", "''");
    write(root, "usr/bin/openstack", &script, 0o755)?;
    std::fs::create_dir_all(root.join("home/stack/.ssh"))?;
    // stack owns its home and the THT copy (the lab's sudo cannot elevate).
    for p in walk(&root.join("home/stack"))?
        .into_iter()
        .chain(walk(&root.join(tht))?)
    {
        std::os::unix::fs::lchown(&p, Some(1000), Some(1000))?;
    }
    let meta = std::fs::metadata(root.join("home/stack"))?;
    debug_assert_eq!(meta.uid(), 1000);
    Ok(())
}

fn walk(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = vec![dir.to_path_buf()];
    let mut i = 0;
    while i < out.len() {
        let p = out[i].clone();
        if p.symlink_metadata()?.is_dir() {
            for e in std::fs::read_dir(&p)? {
                out.push(e?.path());
            }
        }
        i += 1;
    }
    Ok(out)
}

// --- libvirtd ---------------------------------------------------------------

/// A libvirtd for the tests: the system one when it answers on
/// qemu:///system, else one started here with its own socket dir (and a
/// virtlogd when none runs); what was started here is stopped on drop, after
/// every domain whose name starts with the guard's prefix is removed.
pub struct Libvirtd {
    uri: String,
    dir: tempfile::TempDir,
    started: Vec<(u32, &'static str)>,
    prefix: String,
}

impl Libvirtd {
    /// Starts (or finds) libvirtd; domains named `prefix*` are removed on drop.
    pub fn start(prefix: &str) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("apex-libvirtd-")
            .tempdir()?;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))?;
        let mut started = Vec::new();
        let system_ok = Path::new("/run/libvirt/libvirt-sock").exists()
            && Command::new("virsh")
                .args(["-c", "qemu:///system", "version"])
                .output()
                .is_ok_and(|o| o.status.success());
        let uri = if system_ok {
            "qemu:///system".to_string()
        } else {
            if !Path::new("/run/libvirt/virtlogd-sock").exists()
                || !pid_alive_in("/run/virtlogd.pid", "virtlogd")
            {
                let pidfile = dir.path().join("virtlogd.pid");
                let mut c = Command::new("virtlogd");
                c.arg("-d").arg("-p").arg(&pidfile);
                run(c, "libvirt-daemon-system")?;
                started.push((wait_pidfile(&pidfile)?, "virtlogd"));
            }
            let conf = dir.path().join("libvirtd.conf");
            std::fs::write(
                &conf,
                format!(
                    "unix_sock_dir = \"{}\"\nlisten_tls = 0\nlisten_tcp = 0\n",
                    dir.path().display()
                ),
            )?;
            let pidfile = dir.path().join("libvirtd.pid");
            let mut c = Command::new("libvirtd");
            c.arg("-d").arg("-f").arg(&conf).arg("-p").arg(&pidfile);
            run(c, "libvirt-daemon-system")?;
            started.push((wait_pidfile(&pidfile)?, "libvirtd"));
            format!(
                "qemu:///system?socket={}/libvirt-sock",
                dir.path().display()
            )
        };
        let me = Self {
            uri,
            dir,
            started,
            prefix: prefix.to_string(),
        };
        let t0 = Instant::now();
        loop {
            let ok = Command::new("virsh")
                .args(["-c", &me.uri, "version"])
                .output()
                .is_ok_and(|o| o.status.success());
            if ok {
                break;
            }
            if t0.elapsed() > Duration::from_secs(20) {
                bail!("libvirtd did not answer on {} within 20 s", me.uri);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(me)
    }

    /// The URI a deploy's site settings name.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// Names of the domains libvirt has.
    pub fn domains(&self) -> Vec<String> {
        Command::new("virsh")
            .args(["-q", "-c", &self.uri, "list", "--all", "--name"])
            .output()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether this guard started libvirtd (else the system's is used).
    pub fn own(&self) -> bool {
        !self.started.is_empty()
    }

    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }
}

fn pid_alive_in(pidfile: &str, marker: &str) -> bool {
    super::process::read_pidfile(Path::new(pidfile))
        .is_some_and(|p| super::process::alive(p, marker))
}

fn wait_pidfile(p: &Path) -> anyhow::Result<u32> {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(10) {
        if let Some(pid) = super::process::read_pidfile(p) {
            return Ok(pid);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("{} was not written", p.display())
}

impl Drop for Libvirtd {
    fn drop(&mut self) {
        for d in self.domains() {
            if d.starts_with(&self.prefix) {
                let _ = Command::new("virsh")
                    .args(["-q", "-c", &self.uri, "destroy", &d])
                    .output();
                let _ = Command::new("virsh")
                    .args(["-q", "-c", &self.uri, "undefine", &d])
                    .output();
                tracing::warn!("lab: removed domain {d} left behind by a test");
            }
        }
        for (pid, marker) in self.started.iter().rev() {
            super::process::terminate(*pid, marker);
        }
    }
}

/// The libvirt domain type the lab's VMs use: `kvm` when a KVM guest of the
/// lab's kernel prints its first line within a few seconds here, else `qemu`
/// (TCG; the lab's undercloud boots to sshd in about 10 s either way).
/// `APEX_LAB_ACCEL=kvm|qemu` decides without the probe; the probe's answer is
/// kept per boot of this machine.
pub fn accel(img: &UndercloudImage) -> String {
    if let Ok(a) = std::env::var("APEX_LAB_ACCEL")
        && matches!(a.as_str(), "kvm" | "qemu")
    {
        return a;
    }
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
    let cache = img.dir.join("accel");
    if let Ok(t) = std::fs::read_to_string(&cache)
        && let Some((b, a)) = t.trim().split_once(' ')
        && b == boot.trim()
    {
        return a.to_string();
    }
    let a = if probe_kvm(img) { "kvm" } else { "qemu" };
    let _ = std::fs::write(&cache, format!("{} {a}\n", boot.trim()));
    a.to_string()
}

fn probe_kvm(img: &UndercloudImage) -> bool {
    use std::io::BufRead as _;
    if std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_err()
    {
        return false;
    }
    let Ok(mut child) = Command::new("qemu-system-x86_64")
        .args([
            "-accel",
            "kvm",
            "-m",
            "256",
            "-nographic",
            "-no-reboot",
            "-kernel",
        ])
        .arg(&img.kernel)
        .args(["-append", "console=ttyS0 panic=1 root=/dev/nonexistent"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
    else {
        return false;
    };
    let out = child.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            if line.contains("Linux version") {
                let _ = tx.send(());
                return;
            }
        }
    });
    let ok = rx.recv_timeout(Duration::from_secs(8)).is_ok();
    let _ = child.kill();
    let _ = child.wait();
    ok
}

/// What a lab site for a created undercloud names.
#[derive(Debug, Clone)]
pub struct VmSite {
    pub uri: String,
    /// Where overlays and node disks go (readable by libvirt's qemu user).
    pub image_dir: PathBuf,
    pub domain_type: String,
    pub ssh_port: u16,
    /// The undercloud domain; nodes are `<name>-node<N>`.
    pub name: String,
    pub bmc_port: u16,
    pub vbmc_control_port: u16,
}

impl VmSite {
    /// Free ports on loopback and names under `prefix`.
    pub fn new(
        uri: &str,
        image_dir: &Path,
        domain_type: &str,
        prefix: &str,
    ) -> anyhow::Result<Self> {
        let udp_free = |p: u16| std::net::UdpSocket::bind(("127.0.0.1", p)).is_ok();
        let bmc_port = (0..50)
            .map(|_| super::free_port())
            .filter_map(Result::ok)
            .find(|p| *p < 65000 && udp_free(*p) && udp_free(*p + 1) && udp_free(*p + 2))
            .context("no free UDP ports for the BMCs")?;
        Ok(Self {
            uri: uri.to_string(),
            image_dir: image_dir.to_path_buf(),
            domain_type: domain_type.to_string(),
            ssh_port: super::free_port()?,
            name: format!("{prefix}uc"),
            bmc_port,
            vbmc_control_port: super::free_port()?,
        })
    }
}

/// The VirtualBMC command tests/lab/install.sh installs (else `vbmc` on PATH).
pub fn vbmc_command() -> String {
    let venv = Path::new("/opt/apex-vbmc/bin/vbmc");
    if venv.is_file() {
        venv.display().to_string()
    } else {
        "vbmc".to_string()
    }
}

/// Serves the lab's undercloud image beside the other artifacts and writes
/// a site file (at `path`) whose undercloud apex creates as a VM: user-mode
/// networking with SSH on 127.0.0.1, the lab's kernel and initrd, small
/// sizes; the rest (engine, registries, artifacts) as the lab's own site.
pub fn write_site(
    lab: &super::Lab,
    img: &UndercloudImage,
    path: &Path,
    s: &VmSite,
) -> anyhow::Result<()> {
    let served = lab.artifacts().root().join(UNDERCLOUD_QCOW2);
    let fresh = std::fs::metadata(&served).is_ok_and(|m| {
        std::fs::metadata(&img.qcow2).is_ok_and(|i| i.ino() == m.ino() && i.dev() == m.dev())
    });
    if !fresh {
        let _ = std::fs::remove_file(&served);
        if std::fs::hard_link(&img.qcow2, &served).is_err() {
            std::fs::copy(&img.qcow2, &served)?;
        }
    }
    std::fs::create_dir_all(&s.image_dir)?;
    std::fs::set_permissions(&s.image_dir, std::fs::Permissions::from_mode(0o755))?;
    let q = |v: &str| serde_json::Value::from(v).to_string();
    let p = |v: &Path| q(&v.display().to_string());
    let engine = lab
        .engine()
        .endpoint
        .context("the lab engine has an endpoint")?;
    let upstream = lab.upstream().host();
    let text = format!(
        "# apex lab site: the undercloud is a VM apex creates (user-mode networking, SSH on 127.0.0.1:{ssh})\n\
         undercloud:\n  create: true\n  persist: 0\n\
         vm:\n  uri: {uri}\n  image_dir: {dir}\n  domain_type: {dt}\n  network: user\n  ssh_port: {ssh}\n  name: {name}\n  cpus: 1\n  memory: 512\n  disk: 1\n  kernel: {kernel}\n  initrd: {initrd}\n  cmdline: {cmdline}\n  disk_bus: virtio\n  boot_timeout: 300\n  node_prefix: {np}\n  vbmc: {vbmc}\n  vbmc_control_port: {vcp}\n  bmc_address: 127.0.0.1\n  bmc_port: {bmc}\n\
         engine: {engine}\n\
         registries:\n  source: {up}\n  local: {local}\n  insecure: true\n  ceph_image: {ceph}\n\
         artifacts:\n  url: {url}\n  cache_dir: {cache}\n",
        ssh = s.ssh_port,
        uri = q(&s.uri),
        dir = p(&s.image_dir),
        dt = s.domain_type,
        name = q(&s.name),
        np = q(&format!("{}-node", s.name)),
        kernel = p(&img.kernel),
        initrd = p(&img.initrd),
        cmdline = q(CMDLINE),
        vbmc = q(&vbmc_command()),
        vcp = s.vbmc_control_port,
        bmc = s.bmc_port,
        engine = q(&engine),
        up = q(&upstream),
        local = q(&lab.local().host()),
        ceph = q(&format!(
            "{upstream}/{}:{}",
            super::seed::CEPH_REPOSITORY,
            super::seed::CEPH_TAG
        )),
        url = q(&lab.artifacts().url("")),
        cache = p(&lab.dir().join("cache")),
    );
    super::undercloud::write_if_changed(path, &text, 0o644)
}
