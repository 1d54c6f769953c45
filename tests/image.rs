//! Image customization against real images (ext4 and qcow2 made with
//! mkfs.ext4 and qemu-img, real loop devices and mounts): file operations,
//! patches, run operations chrooted into the image, partition tables, and
//! what a killed run left.

#[path = "common/hosts.rs"]
mod hosts;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use hosts::*;

// ---------- image customization ----------

/// A small ext4 filesystem image in qcow2, made with mkfs.ext4 and qemu-img.
fn make_qcow2(dir: &Path) -> PathBuf {
    require_tool("mkfs.ext4", "e2fsprogs");
    require_tool("qemu-img", "qemu-utils");
    let raw = dir.join("fs.raw");
    let qcow = dir.join("overcloud-full.qcow2");
    sh(&format!("mkfs.ext4 -q -F -L img {} 64M", raw.display()));
    sh(&format!(
        "qemu-img convert -O qcow2 {} {}",
        raw.display(),
        qcow.display()
    ));
    std::fs::remove_file(raw).unwrap();
    qcow
}

/// Mounts a qcow2 image read-only with the system tools (not apex code) and
/// hands the mount point to `check`; cleans up whatever happens.
fn with_mounted_copy(image: &Path, check: impl FnOnce(&Path)) {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("check.raw");
    sh(&format!(
        "qemu-img convert -O raw {} {}",
        image.display(),
        raw.display()
    ));
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    sh(&format!(
        "mount -o loop,ro {} {}",
        raw.display(),
        mnt.display()
    ));
    struct Umount(PathBuf);
    impl Drop for Umount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _u = Umount(mnt.clone());
    check(&mnt);
}

fn no_loop_device_uses(dir: &Path) {
    let dir = std::fs::canonicalize(dir).unwrap().display().to_string();
    for e in std::fs::read_dir("/sys/block").unwrap().flatten() {
        let bf = std::fs::read_to_string(e.path().join("loop/backing_file")).unwrap_or_default();
        assert!(
            !bf.starts_with(&dir),
            "{} still attached to {bf}",
            e.file_name().to_string_lossy()
        );
    }
}

#[tokio::test]
async fn image_gets_the_loop_unit_and_the_sparse_file() {
    let dir = tempfile::tempdir().unwrap();
    let image = make_qcow2(dir.path());
    let extra = dir.path().join("ceph.conf");
    std::fs::write(&extra, "[global]\nosd pool default size = 1\n").unwrap();
    let host = lua_host(false);
    let chunk = format!(
        r#"
        local core = require("apex.core")
        local unit = core.loop.unit({{device = "/dev/loop3", file = "/srv/data.img"}})
        local r = core.image.customize({{image = {image:?}, ops = {{
            {{op = "truncate", path = "/srv/data.img", size = "1G"}},
            {{op = "write", path = unit.path, content = unit.text, mode = 420}},
            {{op = "symlink", path = unit.enable_link, target = unit.enable_target}},
            {{op = "mkdir", path = "/etc/ceph", mode = 493}},
            {{op = "upload", from = {extra:?}, to = "/etc/ceph/ceph.conf", mode = 384}},
        }}}})
        assert(r.format == "qcow2" and #r.applied == 5, r.format)
        UNIT_TEXT = unit.text
        "#,
        image = image.display().to_string(),
        extra = extra.display().to_string(),
    );
    run_lua(&host, &chunk).await.unwrap();
    let unit_text: String = host.lua().globals().get("UNIT_TEXT").unwrap();
    no_loop_device_uses(dir.path());
    let info = sh(&format!("qemu-img info --output=json {}", image.display()));
    assert!(info.contains("\"format\": \"qcow2\""), "{info}");
    with_mounted_copy(&image, |root| {
        let data = std::fs::metadata(root.join("srv/data.img")).unwrap();
        assert_eq!(data.len(), 1 << 30);
        assert!(
            std::os::unix::fs::MetadataExt::blocks(&data) * 512 < 1 << 20,
            "data.img is not sparse"
        );
        let unit = root.join("etc/systemd/system/apex-loop3.service");
        assert_eq!(std::fs::read_to_string(&unit).unwrap(), unit_text);
        let link = root.join("etc/systemd/system/local-fs.target.wants/apex-loop3.service");
        assert_eq!(
            std::fs::read_link(&link).unwrap(),
            Path::new("/etc/systemd/system/apex-loop3.service")
        );
        let conf = root.join("etc/ceph/ceph.conf");
        assert_eq!(
            std::fs::read_to_string(&conf).unwrap(),
            "[global]\nosd pool default size = 1\n"
        );
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(
                &std::fs::metadata(&conf).unwrap().permissions()
            ) & 0o777,
            0o600
        );
    });
}

#[test]
fn image_symlinks_cannot_lead_outside_and_failures_leave_the_image_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let image = make_qcow2(dir.path());
    let host_target = dir.path().join("host-side");
    std::fs::create_dir(&host_target).unwrap();
    // An absolute symlink in the image naming a path that exists on the host
    // (and in the image): writing through it must land inside the image.
    apex::image_edit::customize_image(
        &serde_json::from_value(serde_json::json!({
            "image": image,
            "ops": [
                {"op": "mkdir", "path": host_target},
                {"op": "symlink", "path": "/escape", "target": host_target},
                {"op": "write", "path": "/escape/inside.txt", "content": "in the image"}
            ]
        }))
        .unwrap(),
    )
    .unwrap();
    assert!(
        !host_target.join("inside.txt").exists(),
        "a write escaped the image"
    );
    let in_image = host_target.strip_prefix("/").unwrap().join("inside.txt");
    with_mounted_copy(&image, |root| {
        assert_eq!(
            std::fs::read_to_string(root.join(&in_image)).unwrap(),
            "in the image"
        )
    });

    // A failing operation keeps the old image.
    let before = sh(&format!("sha256sum {}", image.display()));
    let err = apex::image_edit::customize_image(
        &serde_json::from_value(serde_json::json!({
            "image": image,
            "ops": [
                {"op": "write", "path": "/etc/motd", "content": "x"},
                {"op": "mkdir", "path": "/etc/hostname-dir"},
                {"op": "write", "path": "/etc/hostname-dir", "content": "not a file"}
            ]
        }))
        .unwrap(),
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("operation 3"), "{err:#}");
    assert_eq!(
        sh(&format!("sha256sum {}", image.display())),
        before,
        "failed customization changed the image"
    );
    no_loop_device_uses(dir.path());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(leftovers.len(), 2, "work files left behind: {leftovers:?}");

    let bad = serde_json::from_value::<apex::image_edit::CustomizeOpts>(serde_json::json!({
        "image": image, "ops": [{"op": "write", "path": "etc/relative", "content": ""}]
    }))
    .unwrap();
    assert!(
        format!("{:#}", apex::image_edit::customize_image(&bad).unwrap_err())
            .contains("must be absolute")
    );
    let dotdot = serde_json::from_value::<apex::image_edit::CustomizeOpts>(serde_json::json!({
        "image": image, "ops": [{"op": "mkdir", "path": "/../../etc"}]
    }))
    .unwrap();
    assert!(
        format!(
            "{:#}",
            apex::image_edit::customize_image(&dotdot).unwrap_err()
        )
        .contains("..")
    );
}

#[test]
fn image_tree_is_removed_and_a_tar_unpacked_in_its_place_without_leaving_the_image() {
    let dir = tempfile::tempdir().unwrap();
    let image = make_qcow2(dir.path());
    // A host directory that an absolute symlink in the image names: removing
    // the tree holding that symlink must not touch the host side.
    let host_side = dir.path().join("host-keep");
    std::fs::create_dir(&host_side).unwrap();
    std::fs::write(host_side.join("keep.txt"), "host").unwrap();
    let op = |v: serde_json::Value| v;
    let customize = |ops: Vec<serde_json::Value>| {
        apex::image_edit::customize_image(
            &serde_json::from_value(serde_json::json!({"image": image, "ops": ops})).unwrap(),
        )
    };
    customize(vec![
        op(serde_json::json!({"op": "write", "path": "/etc/puppet/modules/opendaylight/old.pp", "content": "old"})),
        op(serde_json::json!({"op": "write", "path": "/etc/puppet/modules/opendaylight/sub/deep.pp", "content": "old"})),
        op(serde_json::json!({"op": "symlink", "path": "/etc/puppet/modules/opendaylight/host", "target": host_side})),
        op(serde_json::json!({"op": "write", "path": "/etc/puppet/modules/stdlib/init.pp", "content": "keep"})),
    ])
    .unwrap();

    // The new module as a tar.gz, the way a module is published.
    let src = dir.path().join("module");
    std::fs::create_dir_all(src.join("opendaylight/manifests")).unwrap();
    std::fs::write(
        src.join("opendaylight/manifests/init.pp"),
        "class opendaylight {}\n",
    )
    .unwrap();
    std::fs::write(
        src.join("opendaylight/metadata.json"),
        "{\"version\": \"9.9.9\"}\n",
    )
    .unwrap();
    let tarball = dir.path().join("puppet-opendaylight.tar.gz");
    sh(&format!(
        "tar -czf {} -C {} opendaylight",
        tarball.display(),
        src.display()
    ));

    let r = customize(vec![
        op(serde_json::json!({"op": "remove", "path": "/etc/puppet/modules/opendaylight"})),
        op(serde_json::json!({"op": "remove", "path": "/etc/not/there"})),
        op(serde_json::json!({"op": "unpack", "from": tarball, "to": "/etc/puppet/modules/"})),
    ])
    .unwrap();
    assert_eq!(r.applied.len(), 3);
    assert_eq!(
        std::fs::read_to_string(host_side.join("keep.txt")).unwrap(),
        "host",
        "remove followed a symlink out"
    );
    with_mounted_copy(&image, |root| {
        let m = root.join("etc/puppet/modules");
        assert_eq!(
            std::fs::read_to_string(m.join("opendaylight/metadata.json")).unwrap(),
            "{\"version\": \"9.9.9\"}\n"
        );
        assert!(m.join("opendaylight/manifests/init.pp").is_file());
        for gone in [
            "opendaylight/old.pp",
            "opendaylight/sub",
            "opendaylight/host",
        ] {
            assert!(
                std::fs::symlink_metadata(m.join(gone)).is_err(),
                "{gone} survived the remove"
            );
        }
        assert_eq!(
            std::fs::read_to_string(m.join("stdlib/init.pp")).unwrap(),
            "keep",
            "a sibling was removed"
        );
    });

    // An archive entry that would leave the destination is refused; the image stays as it was.
    let evil = dir.path().join("evil.tar");
    sh(&format!(
        "cd {} && tar -cf {} --absolute-names /etc/hostname",
        dir.path().display(),
        evil.display()
    ));
    let before = sh(&format!("sha256sum {}", image.display()));
    let err = customize(vec![op(
        serde_json::json!({"op": "unpack", "from": evil, "to": "/srv"}),
    )])
    .unwrap_err();
    assert!(format!("{err:#}").contains("unpack"), "{err:#}");
    assert_eq!(sh(&format!("sha256sum {}", image.display())), before);
    no_loop_device_uses(dir.path());
}

#[test]
fn image_files_are_patched_with_a_multi_file_diff_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let image = make_qcow2(dir.path());
    let customize = |ops: serde_json::Value| {
        apex::image_edit::customize_image(
            &serde_json::from_value(serde_json::json!({"image": image, "ops": ops})).unwrap(),
        )
    };
    customize(serde_json::json!([
        {"op": "write", "path": "/etc/puppet/modules/tripleo/manifests/init.pp", "content": "class tripleo {\n  $a = 1\n}\n"},
        {"op": "write", "path": "/etc/puppet/modules/tripleo/old.pp", "content": "gone\n"},
    ]))
    .unwrap();
    // A git format-patch mail: a change, a new file, a removed one.
    let diff = dir.path().join("I333.patch");
    std::fs::write(
        &diff,
        "From 0123 Mon Sep 17 00:00:00 2001\nSubject: [PATCH] tune tripleo\n\n---\n\
         diff --git a/manifests/init.pp b/manifests/init.pp\nindex 1..2 100644\n--- a/manifests/init.pp\n+++ b/manifests/init.pp\n\
         @@ -1,3 +1,3 @@\n class tripleo {\n-  $a = 1\n+  $a = 2\n }\n\
         diff --git a/new.pp b/new.pp\nnew file mode 100644\nindex 0..3\n--- /dev/null\n+++ b/new.pp\n@@ -0,0 +1 @@\n+added\n\
         diff --git a/old.pp b/old.pp\ndeleted file mode 100644\nindex 4..0\n--- a/old.pp\n+++ /dev/null\n@@ -1 +0,0 @@\n-gone\n",
    )
    .unwrap();
    customize(
        serde_json::json!([{"op": "patch", "from": diff, "dir": "/etc/puppet/modules/tripleo"}]),
    )
    .unwrap();
    with_mounted_copy(&image, |root| {
        let m = root.join("etc/puppet/modules/tripleo");
        assert_eq!(
            std::fs::read_to_string(m.join("manifests/init.pp")).unwrap(),
            "class tripleo {\n  $a = 2\n}\n"
        );
        assert_eq!(
            std::fs::read_to_string(m.join("new.pp")).unwrap(),
            "added\n"
        );
        assert!(
            !m.join("old.pp").exists(),
            "the deleted file is still there"
        );
    });

    // A diff whose second file does not apply changes nothing, and says which file.
    let bad = dir.path().join("bad.patch");
    std::fs::write(
        &bad,
        "--- a/manifests/init.pp\n+++ b/manifests/init.pp\n@@ -1,3 +1,3 @@\n class tripleo {\n-  $a = 2\n+  $a = 3\n }\n\
         --- a/new.pp\n+++ b/new.pp\n@@ -1 +1 @@\n-not what is there\n+x\n",
    )
    .unwrap();
    let before = sh(&format!("sha256sum {}", image.display()));
    let err = customize(
        serde_json::json!([{"op": "patch", "from": bad, "dir": "/etc/puppet/modules/tripleo"}]),
    )
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("new.pp: the patch does not apply"),
        "{err:#}"
    );
    assert_eq!(sh(&format!("sha256sum {}", image.display())), before);
    // Paths leaving the directory are refused.
    let escape = dir.path().join("escape.patch");
    std::fs::write(
        &escape,
        "--- /dev/null\n+++ b/../../../../x\n@@ -0,0 +1 @@\n+x\n",
    )
    .unwrap();
    let err =
        customize(serde_json::json!([{"op": "patch", "from": escape, "dir": "/etc"}])).unwrap_err();
    assert!(format!("{err:#}").contains(".."), "{err:#}");
    no_loop_device_uses(dir.path());
}

/// The lab's overcloud image (busybox userland, recording yum stand-in).
fn make_lab_image(dir: &Path) -> PathBuf {
    require_tool("mkfs.ext4", "e2fsprogs");
    require_tool("qemu-img", "qemu-utils");
    let qcow = dir.join("overcloud-full.qcow2");
    apex_lab::artifact_files::make_overcloud_qcow2(&qcow).expect("lab overcloud image");
    qcow
}

/// Mount points at or below `dir` in this process's mount namespace.
fn mounts_under(dir: &Path) -> Vec<String> {
    let dir = std::fs::canonicalize(dir).unwrap();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| Path::new(m).starts_with(&dir))
        .map(str::to_string)
        .collect()
}

/// Processes whose root directory is below `dir` (chrooted into an image there).
fn processes_rooted_under(dir: &Path) -> Vec<String> {
    let dir = std::fs::canonicalize(dir).unwrap();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter(|e| std::fs::read_link(e.path().join("root")).is_ok_and(|r| r.starts_with(&dir)))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// Nothing of a customization is left: no mount below `dir`, no loop device
/// on the image or on a work copy beside it, no process chrooted there.
fn nothing_left(dir: &Path, image: &Path) {
    assert_eq!(
        mounts_under(dir),
        Vec::<String>::new(),
        "mounts left behind"
    );
    assert_eq!(
        sh(&format!("losetup -j {}", image.display())).trim(),
        "",
        "loop device on the image"
    );
    let canon = std::fs::canonicalize(dir).unwrap().display().to_string();
    let all = sh("losetup -a");
    assert!(
        !all.lines().any(|l| l.contains(&canon)),
        "loop device on a work copy:\n{all}"
    );
    no_loop_device_uses(dir);
    assert_eq!(
        processes_rooted_under(dir),
        Vec::<String>::new(),
        "processes left running in the image"
    );
}

fn customize_json(
    image: &Path,
    ops: serde_json::Value,
) -> anyhow::Result<apex::image_edit::CustomizeReport> {
    apex::image_edit::customize_image(
        &serde_json::from_value(serde_json::json!({"image": image, "ops": ops})).unwrap(),
    )
}

#[test]
fn lab_overcloud_image_is_reproducible_and_has_a_userland() {
    let dir = tempfile::tempdir().unwrap();
    let a = make_lab_image(dir.path());
    let b = dir.path().join("again.qcow2");
    std::thread::sleep(Duration::from_millis(1100));
    apex_lab::artifact_files::make_overcloud_qcow2(&b).unwrap();
    assert_eq!(
        std::fs::read(&a).unwrap(),
        std::fs::read(&b).unwrap(),
        "the lab's overcloud image differs from one build to the next"
    );
    with_mounted_copy(&a, |root| {
        assert!(root.join("bin/busybox").is_file());
        for applet in ["sh", "echo", "cat", "mkdir", "ls", "rm"] {
            assert_eq!(
                std::fs::read_link(root.join("bin").join(applet)).unwrap(),
                Path::new("busybox"),
                "{applet}"
            );
        }
        let yum = std::fs::metadata(root.join("usr/bin/yum")).unwrap();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&yum.permissions()) & 0o777,
            0o755
        );
        for d in ["proc", "sys", "dev"] {
            assert!(root.join(d).is_dir(), "/{d}");
        }
        assert_eq!(
            std::fs::read_to_string(root.join("etc/puppet/modules/tripleo/manifests/init.pp"))
                .unwrap(),
            apex_lab::artifact_files::IMAGE_PUPPET_TRIPLEO_INIT
        );
    });
}

#[test]
fn image_run_operations_run_chrooted_in_order_with_file_ops() {
    let dir = tempfile::tempdir().unwrap();
    let image = make_lab_image(dir.path());
    let host_marker = Path::new("/dev/apex-run-test-marker");
    let r = customize_json(
        &image,
        serde_json::json!([
            {"op": "write", "path": "/etc/greeting", "content": "hello\n"},
            {"op": "run", "command": concat!(
                "set -e; cat /etc/greeting > /root/seen; ",
                "echo \"$PATH|$HOME|$LANG|$(pwd)\" > /root/env; ",
                "env | sort > /root/environ; ",
                "cat > /root/stdin; ",
                "test -r /proc/self/status && echo proc >> /root/seen; ",
                "test -c /dev/null && echo dev-null >> /root/seen; ",
                "test -d /dev/pts && echo pts >> /root/seen; ",
                "test -d /sys/class && echo sys >> /root/seen; ",
                "if test -f /etc/resolv.conf; then echo resolv >> /root/seen; fi; ",
                "touch /dev/apex-run-test-marker 2>/dev/null || echo dev-read-only >> /root/seen; ",
                // The same value back: harmless should the bind be writable.
                "cat /proc/sys/kernel/hostname > /root/hostname; ",
                "cat /root/hostname > /proc/sys/kernel/hostname 2>/dev/null || echo proc-read-only >> /root/seen; ",
                "chmod \"$(stat -c %a /dev/pts/ptmx)\" /dev/pts/ptmx 2>/dev/null || echo pts-read-only >> /root/seen; ",
                "cat /sys/class/mem/null/dev > /dev/null; echo x > /dev/null && echo dev-writable-nodes >> /root/seen; ",
                "echo to-the-log"
            )},
            {"op": "write", "path": "/etc/later", "content": "later\n"},
            {"op": "run", "command": "cat /etc/later >> /root/seen", "timeout": 60},
        ]),
    )
    .unwrap();
    assert_eq!(r.applied.len(), 4);
    assert_eq!(r.format, "qcow2");
    nothing_left(dir.path(), &image);
    assert!(!host_marker.exists(), "the run wrote into the host's /dev");
    let host_has_resolv = Path::new("/etc/resolv.conf").is_file();
    with_mounted_copy(&image, |root| {
        let mut want = "hello\nproc\ndev-null\npts\nsys\n".to_string();
        if host_has_resolv {
            want.push_str("resolv\n");
        }
        want.push_str("dev-read-only\nproc-read-only\npts-read-only\ndev-writable-nodes\nlater\n");
        assert_eq!(
            std::fs::read_to_string(root.join("root/seen")).unwrap(),
            want
        );
        assert_eq!(
            std::fs::read_to_string(root.join("root/env")).unwrap(),
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|/root|C|/\n"
        );
        let environ = std::fs::read_to_string(root.join("root/environ")).unwrap();
        for line in environ.lines() {
            let name = line.split('=').next().unwrap();
            assert!(
                ["PATH", "HOME", "LANG", "PWD", "SHLVL", "_"].contains(&name),
                "unexpected variable in the command's environment: {line}\n{environ}"
            );
        }
        assert_eq!(
            std::fs::read(root.join("root/stdin")).unwrap(),
            b"",
            "stdin is not closed"
        );
        assert!(
            std::fs::symlink_metadata(root.join("etc/resolv.conf")).is_err(),
            "the lent resolv.conf stayed in the image"
        );
    });
}

#[test]
fn image_run_failure_reports_its_output_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let image = make_lab_image(dir.path());
    let before = sh(&format!("sha256sum {}", image.display()));
    let err = customize_json(
        &image,
        serde_json::json!([
            {"op": "write", "path": "/etc/motd", "content": "x"},
            {"op": "run", "command": "echo first-line; i=0; while [ $i -lt 30 ]; do echo line-$i; i=$((i+1)); done; echo oops >&2; exit 3"},
            {"op": "write", "path": "/etc/never", "content": "x"},
        ]),
    )
    .unwrap_err();
    let err = format!("{err:#}");
    assert!(err.contains("operation 2"), "{err}");
    assert!(err.contains("exit status 3"), "{err}");
    assert!(
        err.contains("echo first-line;"),
        "the command is named: {err}"
    );
    assert!(
        err.contains("line-29\noops"),
        "the tail of the output: {err}"
    );
    assert!(!err.contains("first-line\n"), "only the tail: {err}");
    assert_eq!(
        sh(&format!("sha256sum {}", image.display())),
        before,
        "failed run changed the image"
    );
    nothing_left(dir.path(), &image);

    // Killed by a signal, and a missing program: same cleanup.
    let err = format!(
        "{:#}",
        customize_json(
            &image,
            serde_json::json!([{"op": "run", "command": "echo dying; kill -9 $$"}])
        )
        .unwrap_err()
    );
    assert!(
        err.contains("killed by signal 9") && err.contains("dying"),
        "{err}"
    );
    nothing_left(dir.path(), &image);
    let err = format!(
        "{:#}",
        customize_json(
            &image,
            serde_json::json!([{"op": "run", "command": "no-such-program --x"}])
        )
        .unwrap_err()
    );
    assert!(
        err.contains("exit status 127") && err.contains("no-such-program"),
        "{err}"
    );
    nothing_left(dir.path(), &image);

    // An image without a shell says so.
    let bare = tempfile::tempdir().unwrap();
    let bare_image = make_qcow2(bare.path());
    let err = format!(
        "{:#}",
        customize_json(
            &bare_image,
            serde_json::json!([{"op": "run", "command": "true"}])
        )
        .unwrap_err()
    );
    assert!(err.contains("the image has no /bin/sh"), "{err}");
    nothing_left(bare.path(), &bare_image);
    assert_eq!(sh(&format!("sha256sum {}", image.display())), before);
}

#[test]
fn image_run_timeout_kills_the_command_tree_and_leftovers_are_killed() {
    let dir = tempfile::tempdir().unwrap();
    let image = make_lab_image(dir.path());
    let started = Instant::now();
    let err = format!(
        "{:#}",
        customize_json(
            &image,
            serde_json::json!([{"op": "run", "command": "sleep 300 & echo started; sleep 300", "timeout": 1}])
        )
        .unwrap_err()
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the timeout did not stop it"
    );
    assert!(
        err.contains("did not finish within 1s") && err.contains("started"),
        "{err}"
    );
    nothing_left(dir.path(), &image);

    // A daemon that left the command's process group is still found (by its
    // root) and killed; the run itself succeeds.
    customize_json(
        &image,
        serde_json::json!([{"op": "run", "command": "setsid sleep 300 </dev/null >/dev/null 2>&1 & echo spawned > /root/daemon"}]),
    )
    .unwrap();
    nothing_left(dir.path(), &image);
    with_mounted_copy(&image, |root| {
        assert_eq!(
            std::fs::read_to_string(root.join("root/daemon")).unwrap(),
            "spawned\n"
        );
    });
}

#[test]
fn lua_install_and_run_go_through_the_images_own_package_manager() {
    let dir = tempfile::tempdir().unwrap();
    let image = make_lab_image(dir.path());
    let script = dir.path().join("customize.lua");
    std::fs::write(
        &script,
        format!(
            r##"
            local core = require("apex.core")
            local customize = require("apex.customize")
            local ops, skipped = customize.image_ops({{ tmp_dir = "/nonexistent", files = {{}} }}, {{
              {{ op = "install", arg = "java-1.8.0-openjdk,tcpdump", reason = "odl" }},
              {{ op = "run-command", arg = "echo ran > /root/ran; echo run-output-line", reason = "r" }},
            }})
            assert(#ops == 2 and #skipped == 0)
            local r = core.image.customize({{ image = {image:?}, ops = ops }})
            assert(#r.applied == 2, #r.applied)
            -- Without yum, dnf; without either, an error naming both.
            local dnf = "#!/bin/sh\necho \"$@\" > /root/dnf-args\n"
            core.image.customize({{ image = {image:?}, ops = {{
              {{ op = "remove", path = "/usr/bin/yum" }},
              {{ op = "write", path = "/usr/bin/dnf", content = dnf, mode = 493 }},
              {{ op = "run", command = customize.install_command("vim") }},
            }} }})
            local ok, e = pcall(core.image.customize, {{ image = {image:?}, ops = {{
              {{ op = "remove", path = "/usr/bin/dnf" }},
              {{ op = "run", command = customize.install_command("vim") }},
            }} }})
            assert(not ok, "install without a package manager succeeded")
            e = tostring(e)
            assert(e:find("customize_image", 1, true) and e:find("neither /usr/bin/yum nor /usr/bin/dnf", 1, true)
              and e:find("exit status 127", 1, true), e)
            "##,
            image = image.display().to_string()
        ),
    )
    .unwrap();
    let log = apex_run_logged(dir.path(), &script);
    assert!(
        log.lines()
            .any(|l| l.contains("apex::image_edit::output") && l.contains("run-output-line")),
        "the command's output is not in the log:\n{log}"
    );
    nothing_left(dir.path(), &image);
    with_mounted_copy(&image, |root| {
        assert_eq!(
            std::fs::read_to_string(root.join("var/log/apex-lab-yum.log")).unwrap(),
            "-y install java-1.8.0-openjdk tcpdump\n"
        );
        for p in ["java-1.8.0-openjdk", "tcpdump"] {
            assert!(
                root.join("usr/share/apex-lab-packages").join(p).is_file(),
                "{p}"
            );
        }
        assert_eq!(
            std::fs::read_to_string(root.join("root/ran")).unwrap(),
            "ran\n"
        );
        assert_eq!(
            std::fs::read_to_string(root.join("root/dnf-args")).unwrap(),
            "-y install vim\n"
        );
    });

    // A package yum cannot find fails the customization with yum's words.
    let err = format!(
        "{:#}",
        customize_json(
            &make_lab_image(&{
                let d = dir.path().join("fresh");
                std::fs::create_dir(&d).unwrap();
                d
            }),
            serde_json::json!([{"op": "run", "command": "yum -y install apex-lab-missing-pkg"}])
        )
        .unwrap_err()
    );
    assert!(
        err.contains("exit status 1") && err.contains("No package apex-lab-missing-pkg available."),
        "{err}"
    );
    nothing_left(dir.path(), &image);
}

fn make_partitioned_raw(dir: &Path) -> (PathBuf, u64) {
    require_tool("mkfs.ext4", "e2fsprogs");
    const MIB: u64 = 1 << 20;
    let (p1_start, p1_len, p2_start, p2_len) = (MIB, 4 * MIB, 5 * MIB, 60 * MIB);
    let fs = dir.join("p2.ext4");
    sh(&format!("mkfs.ext4 -q -F -L root {} 60M", fs.display()));
    let disk = dir.join("disk.raw");
    let mut mbr = vec![0u8; 512];
    for (i, (start, len, kind)) in [(p1_start, p1_len, 0xdau8), (p2_start, p2_len, 0x83)]
        .into_iter()
        .enumerate()
    {
        let e = &mut mbr[446 + 16 * i..446 + 16 * (i + 1)];
        e[4] = kind;
        e[8..12].copy_from_slice(&((start / 512) as u32).to_le_bytes());
        e[12..16].copy_from_slice(&((len / 512) as u32).to_le_bytes());
    }
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    let mut f = std::fs::File::create(&disk).unwrap();
    f.write_all(&mbr).unwrap();
    f.set_len(p2_start + p2_len).unwrap();
    use std::io::Seek as _;
    f.seek(std::io::SeekFrom::Start(p2_start)).unwrap();
    std::io::copy(&mut std::fs::File::open(&fs).unwrap(), &mut f).unwrap();
    std::fs::remove_file(fs).unwrap();
    (disk, p2_start)
}

#[test]
fn image_with_a_partition_table_is_edited_on_its_largest_partition() {
    let dir = tempfile::tempdir().unwrap();
    let (disk, offset) = make_partitioned_raw(dir.path());
    let opts = serde_json::from_value::<apex::image_edit::CustomizeOpts>(serde_json::json!({
        "image": disk,
        "ops": [{"op": "write", "path": "/etc/apex-partition", "content": "on p2\n"}]
    }))
    .unwrap();
    let report = apex::image_edit::customize_image(&opts).unwrap();
    assert_eq!(report.format, "raw");
    no_loop_device_uses(dir.path());
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    sh(&format!(
        "mount -o loop,ro,offset={offset} {} {}",
        disk.display(),
        mnt.display()
    ));
    let content = std::fs::read_to_string(mnt.join("etc/apex-partition"));
    let _ = Command::new("umount").arg(&mnt).status();
    assert_eq!(content.unwrap(), "on p2\n");
    let missing = serde_json::from_value::<apex::image_edit::CustomizeOpts>(serde_json::json!({
        "image": disk, "partition": 7, "ops": [{"op": "mkdir", "path": "/x"}]
    }))
    .unwrap();
    let err = format!(
        "{:#}",
        apex::image_edit::customize_image(&missing).unwrap_err()
    );
    assert!(
        err.contains("p7 does not exist") && err.contains("has 2"),
        "{err}"
    );
    no_loop_device_uses(dir.path());
}

#[test]
fn what_a_killed_run_left_is_named_by_status_and_cleaned_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("tmp");
    // As a SIGKILL in the middle of an image customization leaves it: the
    // work dir with its raw copy, attached to a loop device and mounted.
    let work = tmp.join("images/.apex-image-killed");
    let root = work.join("root-1");
    std::fs::create_dir_all(&root).unwrap();
    let raw = work.join("image.raw");
    sh(&format!(
        "truncate -s 16M {0} && mkfs.ext4 -q -F {0}",
        raw.display()
    ));
    let dev = sh(&format!("losetup --find --show {}", raw.display()))
        .trim()
        .to_string();
    sh(&format!("mount {dev} {}", root.display()));
    let staging = tmp.join(".apex-unpack-zzz");
    std::fs::create_dir_all(&staging).unwrap();
    std::fs::write(staging.join("half.bin"), vec![7u8; 4096]).unwrap();

    let status = Command::new(env!("CARGO_BIN_EXE_apex"))
        .args(["status", "--tmp-dir"])
        .arg(&tmp)
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&status.stdout);
    assert!(
        shown.contains(&format!(
            "left by a killed run: {} (1 mounts, 1 loop devices",
            work.display()
        )),
        "{shown}"
    );
    assert!(shown.contains(&staging.display().to_string()), "{shown}");

    let out = Command::new(env!("CARGO_BIN_EXE_apex"))
        .args(["deploy", "os-nosdn-nofeature-noha", "--plan", "--tmp-dir"])
        .arg(&tmp)
        .env_remove("APEX_LUA_PATH")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!work.exists() && !staging.exists());
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mountinfo.contains(&root.display().to_string()),
        "still mounted"
    );
    let attached = sh("losetup -a");
    assert!(!attached.contains(&raw.display().to_string()), "{attached}");
    assert!(read_log(&tmp).contains("removed what an earlier run left"));
}

fn read_log(tmp: &Path) -> String {
    std::fs::read_to_string(tmp.join("apex.log")).unwrap_or_default()
}

// ---------- Apex's prep_image customizations, per scenario ----------

/// Customizes a fresh lab image with what the owners (common base,
/// dataplane, plugins) give for `options` (a Lua table of deploy options),
/// their artifacts taken from the lab's artifact files in `artifacts`;
/// returns the image. Every customization must translate (none skipped).
async fn prep_image(dir: &Path, artifacts: &Path, name: &str, options: &str) -> PathBuf {
    let sub = dir.join(name);
    std::fs::create_dir(&sub).unwrap();
    let image = make_lab_image(&sub);
    let host = lua_host(false);
    let chunk = format!(
        r#"
        local core = require("apex.core")
        local plugins = require("apex.plugins")
        local settings = require("apex.settings")
        local customize = require("apex.customize")
        local s = settings.validate_deploy({{ global_params = {{ ha_enabled = true }}, deploy_options = {options} }}, "t.yaml")
        local ctx = {{ settings = s, network = {{ http_proxy = "http://proxy.lab:3128" }}, files = {{}}, tmp_dir = {sub:?}, artifacts = {{}} }}
        local owners = plugins.customizers(plugins.enabled(s))
        for _, r in ipairs(plugins.call_all(owners, "artifacts", ctx)) do
          for _, a in ipairs(r.result) do ctx.artifacts[a.name] = {{ path = {artifacts:?} .. "/" .. a.name }} end
        end
        local list = {{}}
        for _, r in ipairs(plugins.call_all(owners, "overcloud_customize", ctx)) do
          customize.merge(list, r.plugin.name, r.result)
        end
        local ops, skipped = customize.image_ops(ctx, list)
        assert(#skipped == 0, skipped[1] and (skipped[1].op .. " " .. skipped[1].arg .. ": " .. skipped[1].why))
        local r = core.image.customize({{ image = {image:?}, ops = ops }})
        assert(#r.applied == #ops)
        "#,
        sub = sub.display().to_string(),
        artifacts = artifacts.display().to_string(),
        image = image.display().to_string(),
    );
    run_lua(&host, &chunk)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e:#}"));
    nothing_left(&sub, &image);
    image
}

fn read(root: &Path, path: &str) -> String {
    std::fs::read_to_string(root.join(path.trim_start_matches('/')))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn mode_of(root: &Path, path: &str) -> u32 {
    std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(root.join(path.trim_start_matches('/')))
            .unwrap()
            .permissions(),
    ) & 0o7777
}

fn exists(root: &Path, path: &str) -> bool {
    std::fs::symlink_metadata(root.join(path.trim_start_matches('/'))).is_ok()
}

const OVS_LINK: &str = apex_lab::artifact_files::OVS_AGENT_LINK;
const OVS_UNIT: &str = apex_lab::artifact_files::OVS_AGENT_UNIT;
const MODULES: [&str; 2] = [
    "/etc/sysconfig/modules/vfio_pci.modules",
    "/etc/sysconfig/modules/uio_pci_generic.modules",
];
const ZRPCD: &str = "/opt/quagga/etc/init.d/zrpcd_start.sh";

/// What every deploy's image has: NFS, the DHCP unit workaround, the proxy.
fn check_common(root: &Path, yum: &str) {
    assert_eq!(
        read(root, "/etc/exports"),
        "/glance *(rw,sync,no_root_squash,no_acl)\n/cinder *(rw,sync,no_root_squash,no_acl)\n\
         /nova *(rw,sync,no_root_squash,no_acl)\n"
    );
    for d in ["/glance", "/cinder", "/nova"] {
        let meta = std::fs::metadata(root.join(&d[1..])).unwrap();
        assert!(meta.is_dir(), "{d}");
        assert_eq!(mode_of(root, d), 0o777, "{d}");
        assert_eq!(
            std::os::unix::fs::MetadataExt::uid(&meta),
            65534,
            "{d} owner"
        );
    }
    assert_eq!(
        std::fs::read_link(
            root.join("etc/systemd/system/multi-user.target.wants/nfs-server.service")
        )
        .unwrap(),
        Path::new("/usr/lib/systemd/system/nfs-server.service")
    );
    assert_eq!(
        read(root, apex_lab::artifact_files::EXPORTFS_LOG),
        "-avr\n",
        "exportfs ran in the image"
    );
    let unit = read(root, apex_lab::artifact_files::DHCP_UNIT);
    assert!(!unit.contains("ConditionPathExists"), "{unit}");
    assert!(
        unit.contains("After=network.target") && unit.contains("ExecStart="),
        "{unit}"
    );
    assert_eq!(
        read(root, "/etc/environment"),
        "http_proxy=http://proxy.lab:3128\n"
    );
    assert_eq!(read(root, apex_lab::artifact_files::YUM_LOG), yum);
}

#[tokio::test]
async fn apex_prep_image_customizations_land_in_the_image_per_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let artifacts = apex_lab::artifact_files::ensure(&dir.path().join("artifacts")).unwrap();

    // OpenDaylight: the OVS agent gone, the ODL repo, no DPDK modules.
    let image = prep_image(
        dir.path(),
        &artifacts,
        "odl",
        r#"{ sdn_controller = "opendaylight" }"#,
    )
    .await;
    with_mounted_copy(&image, |root| {
        check_common(
            root,
            "-y install nfs-utils\n-y install java-1.8.0-openjdk\n",
        );
        assert!(
            !exists(root, OVS_LINK) && !exists(root, OVS_UNIT),
            "OVS agent still there"
        );
        let repo = read(root, "/etc/yum.repos.d/opendaylight-oxygen.repo");
        assert!(
            repo.starts_with("[opendaylight-oxygen]\nname=opendaylight-oxygen\nbaseurl=")
                && repo.contains("opendaylight-oxygen-epel-7-x86_64-devel/")
                && repo.ends_with("gpgcheck=0\n"),
            "{repo}"
        );
        assert!(MODULES.iter().all(|m| !exists(root, m)));
        assert!(!exists(root, ZRPCD));
    });

    // No SDN, OVS: the OVS agent stays; only the common base.
    let image = prep_image(dir.path(), &artifacts, "nosdn", "{}").await;
    with_mounted_copy(&image, |root| {
        check_common(root, "-y install nfs-utils\n");
        assert_eq!(
            std::fs::read_link(root.join(&OVS_LINK[1..])).unwrap(),
            Path::new(OVS_UNIT)
        );
        assert!(exists(root, OVS_UNIT));
        assert!(MODULES.iter().all(|m| !exists(root, m)));
    });

    // OVS-DPDK: the module loaders, executable.
    let image = prep_image(
        dir.path(),
        &artifacts,
        "ovs_dpdk",
        r#"{ dataplane = "ovs_dpdk" }"#,
    )
    .await;
    with_mounted_copy(&image, |root| {
        check_common(root, "-y install nfs-utils\n");
        for (m, module) in MODULES.iter().zip(["vfio_pci", "uio_pci_generic"]) {
            assert_eq!(
                read(root, m),
                format!("#!/bin/bash\nexec /sbin/modprobe {module}\n")
            );
            assert_eq!(mode_of(root, m), 0o755, "{m}");
        }
    });

    // fdio without SDN: the loaders, the NSDriver patch, vpp-lib swapped for Apex's VPP packages.
    let image = prep_image(dir.path(), &artifacts, "fdio", r#"{ dataplane = "fdio" }"#).await;
    with_mounted_copy(&image, |root| {
        let mut yum = "-y install nfs-utils\n-y remove vpp-lib\n-y install".to_string();
        for r in apex_lab::artifact_files::NOSDN_VPP_RPMS {
            yum.push_str(&format!(" /root/nosdn_vpp_rpms/{r}"));
        }
        check_common(root, &(yum + "\n"));
        assert!(MODULES.iter().all(|m| exists(root, m)));
        let py = read(root, apex_lab::artifact_files::NEUTRON_INTERFACE_PY);
        assert!(
            py.contains(apex_lab::artifact_files::NSDRIVER_CLASS),
            "{py}"
        );
        for r in apex_lab::artifact_files::NOSDN_VPP_RPMS {
            assert!(
                root.join("usr/share/apex-lab-packages").join(r).is_file(),
                "{r}"
            );
        }
    });

    // BGPVPN: Quagga unpacked in /root, its packages but debuginfo/devel/contrib
    // installed, zrpcd started from rc.local (once: /etc/rc.local stays a link).
    let image = prep_image(
        dir.path(),
        &artifacts,
        "bgpvpn",
        r#"{ sdn_controller = "opendaylight", vpn = true }"#,
    )
    .await;
    with_mounted_copy(&image, |root| {
        let yum = read(root, apex_lab::artifact_files::YUM_LOG);
        let quagga = yum
            .lines()
            .find(|l| l.contains("quagga-1.2.4"))
            .unwrap_or_else(|| panic!("{yum}"));
        assert_eq!(
            quagga,
            "-y install c-capnproto-0.2-1.el7.x86_64.rpm quagga-1.2.4-1.el7.x86_64.rpm zrpcd-0.2-1.el7.x86_64.rpm"
        );
        for r in apex_lab::artifact_files::QUAGGA_RPMS {
            assert!(root.join("root/quagga").join(r).is_file(), "{r} unpacked");
        }
        assert_eq!(
            read(root, ZRPCD),
            "sudo /opt/quagga/etc/init.d/zrpcd start\n"
        );
        assert_eq!(mode_of(root, ZRPCD), 0o755);
        assert_eq!(
            std::fs::read_link(root.join("etc/rc.local")).unwrap(),
            Path::new("rc.d/rc.local")
        );
        let rc = read(root, "/etc/rc.d/rc.local");
        assert_eq!(rc.matches(ZRPCD).count(), 1, "{rc}");
        assert!(rc.ends_with(&format!("{ZRPCD}\n")), "{rc}");
        assert_eq!(mode_of(root, "/etc/rc.d/rc.local") & 0o111, 0o111);
        assert!(exists(root, "/etc/yum.repos.d/opendaylight-oxygen.repo"));
    });

    // An image without a package manager (or without crudini) fails naming
    // what it lacks and what needed it, with nothing left mounted; the image
    // is left as it was.
    for (name, lacks, expect) in [
        (
            "no-yum",
            "/usr/bin/yum",
            "cannot install nfs-utils: the image has neither /usr/bin/yum nor /usr/bin/dnf",
        ),
        (
            "no-crudini",
            "/usr/bin/crudini",
            "the image lacks crudini, which run-command \"crudini --del",
        ),
    ] {
        let sub = dir.path().join(name);
        std::fs::create_dir(&sub).unwrap();
        let image = make_lab_image(&sub);
        let before = std::fs::read(&image).unwrap();
        let host = lua_host(false);
        let chunk = format!(
            r#"
            local core = require("apex.core")
            local customize = require("apex.customize")
            local list = require("apex.overcloud_base").overcloud_customize({{ network = {{}} }})
            local ops = customize.image_ops({{ files = {{}}, tmp_dir = "/nonexistent" }}, list)
            table.insert(ops, 1, {{ op = "remove", path = {lacks:?} }})
            core.image.customize({{ image = {image:?}, ops = ops }})
            "#,
            image = image.display().to_string()
        );
        let err = format!("{:#}", run_lua(&host, &chunk).await.unwrap_err());
        assert!(
            err.contains(expect) && err.contains("exit status 127"),
            "{name}: {err}"
        );
        nothing_left(&sub, &image);
        assert!(
            std::fs::read(&image).unwrap() == before,
            "{name}: the image changed"
        );
    }
}

/// Starts `apex run` customizing `image` with `ops` (a Lua table literal)
/// and waits until a process runs chrooted into it.
fn start_customize(dir: &Path, image: &Path, ops: &str) -> std::process::Child {
    let script = dir.join("customize.lua");
    std::fs::write(
        &script,
        format!(
            "local core = require(\"apex.core\")\ncore.image.customize({{image = {:?}, ops = {ops}}})\n",
            image.display().to_string()
        ),
    )
    .unwrap();
    let mut child = apex_with_tmp(dir)
        .arg("--log-file")
        .arg(dir.join("run.log"))
        .arg("run")
        .arg(&script)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while processes_rooted_under(dir).is_empty() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "apex ended before the command ran"
        );
        assert!(Instant::now() < deadline, "the command never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

#[test]
fn sigint_or_sigterm_stops_a_command_in_the_image_and_nothing_later_starts() {
    // A command that ignores TERM (so do its children): KILL after the grace.
    let ops = r#"{ { op = "run", command = "trap '' TERM; sleep 90; sleep 90" },
        { op = "write", path = "/root/later", content = "ran\n" } }"#;
    for (sig, code) in [(libc::SIGINT, 130), (libc::SIGTERM, 143)] {
        let dir = tempfile::tempdir().unwrap();
        let image = make_lab_image(dir.path());
        let before = std::fs::read(&image).unwrap();
        let child = start_customize(dir.path(), &image, ops);
        let started = Instant::now();
        unsafe { libc::kill(child.id() as i32, sig) };
        let out = child.wait_with_output().unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "stopping took {:?}",
            started.elapsed()
        );
        assert_eq!(
            out.status.code(),
            Some(code),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        nothing_left(dir.path(), &image);
        let log = std::fs::read_to_string(dir.path().join("run.log")).unwrap();
        assert!(
            !log.contains("image op 2"),
            "a later operation started:\n{log}"
        );
        assert_eq!(std::fs::read(&image).unwrap(), before, "the image changed");
    }
}

#[test]
fn after_sigkill_the_next_run_kills_what_ran_in_the_image_then_detaches() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("tmp");
    std::fs::create_dir_all(tmp.join("images")).unwrap();
    let image = make_lab_image(&tmp.join("images"));
    let mut child = start_customize(&tmp, &image, r#"{ { op = "run", command = "sleep 300" } }"#);
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    child.wait().unwrap();
    // The killed run left its command running in the image, mounted.
    assert!(!processes_rooted_under(&tmp).is_empty());
    assert!(!mounts_under(&tmp).is_empty());
    let cleaned = apex::leftovers::clean(&tmp).unwrap();
    assert_eq!(cleaned.len(), 1, "{cleaned:?}");
    nothing_left(&tmp, &image);
}
