//! The undercloud VM and the virtual overcloud nodes on a real libvirtd
//! started by the test (KVM when a KVM guest boots here, else TCG: never
//! skipped): `apex deploy` with a site whose undercloud apex creates, then
//! SSH to it with the injected key, its undercloud.conf and recorded
//! `undercloud install`, the full deploy run on it, a rerun that reuses it,
//! a changed input refused, the nodes' BMCs answering IPMI power commands,
//! and `apex destroy` leaving no domain, disk or BMC behind.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use apex_lab::undercloud_vm::{self, Libvirtd, VmSite};
use apex_lab::{Lab, LabOptions};

const APEX: &str = env!("CARGO_BIN_EXE_apex");

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn apex(args: &[&str]) -> Output {
    Command::new(APEX)
        .env_remove("APEX_LUA_PATH")
        .args(args)
        .output()
        .expect("run apex")
}

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed:\nstdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Runs `apex destroy` for the tmp dir when dropped (also when a test panics),
/// so no VM or vbmcd outlives the test.
struct Destroy(PathBuf);

impl Drop for Destroy {
    fn drop(&mut self) {
        let _ = apex(&["destroy", "--tmp-dir", self.0.to_str().unwrap()]);
    }
}

fn ssh(tmp: &Path, port: u16, user: &str, cmd: &str) -> Output {
    let dir = tmp.join("undercloud_ssh");
    Command::new("ssh")
        .arg("-F")
        .arg("/dev/null")
        .arg("-i")
        .arg(dir.join("id_ed25519"))
        .arg("-o")
        .arg(format!(
            "UserKnownHostsFile={}",
            dir.join("known_hosts").display()
        ))
        .args([
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-p",
        ])
        .arg(port.to_string())
        .arg(format!("{user}@127.0.0.1"))
        .arg(cmd)
        .output()
        .expect("run ssh")
}

fn state(tmp: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(tmp.join("state.json")).unwrap()).unwrap()
}

fn ipmi(port: u16, args: &[&str]) -> String {
    let out = Command::new("ipmitool")
        .args([
            "-I",
            "lanplus",
            "-H",
            "127.0.0.1",
            "-U",
            "admin",
            "-P",
            "password",
            "-p",
        ])
        .arg(port.to_string())
        .args(args)
        .output()
        .expect("run ipmitool (Debian ipmitool)");
    assert!(
        out.status.success(),
        "ipmitool {args:?}: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn domain_state(uri: &str, name: &str) -> Option<String> {
    let out = Command::new("virsh")
        .args(["-q", "-c", uri, "domstate", name])
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| text(&out.stdout).trim().to_string())
}

#[test]
fn created_undercloud_vm_deploys_reruns_and_is_destroyed_with_its_virtual_nodes() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let lab = rt
        .block_on(Lab::up(LabOptions {
            dir: apex_lab::cache::checkout_dir("vm"),
        }))
        .unwrap_or_else(|e| panic!("the lab did not come up: {e:#}"));
    let img = undercloud_vm::ensure_image().unwrap();
    let accel = undercloud_vm::accel(&img);
    let libvirtd = Libvirtd::start("apexlab-").unwrap();
    let tmp = tempfile::Builder::new()
        .prefix("apex-vm-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let images = tmp.path().join("vm-images");
    let s = VmSite::new(libvirtd.uri(), &images, &accel, "apexlab-").unwrap();
    let site = tmp.path().join("site.yaml");
    undercloud_vm::write_site(&lab, &img, &site, &s).unwrap();
    let work = tmp.path().join("deploy");
    let _destroy = Destroy(work.clone());
    let net = lab.network_settings_file();
    let deploy = |extra: &[&str], site: &Path| {
        let mut args = vec![
            "deploy",
            "os-nosdn-nofeature-noha",
            "-s",
            site.to_str().unwrap(),
            "-n",
            net.to_str().unwrap(),
        ];
        args.extend(["--tmp-dir", work.to_str().unwrap()]);
        args.extend(extra);
        apex(&args)
    };
    let virt = [
        "--virtual",
        "--virtual-computes",
        "1",
        "--virtual-ram",
        "1",
        "--virtual-cpus",
        "1",
    ];
    eprintln!(
        "accel {accel}, libvirt {}, image built in {:.1}s",
        libvirtd.uri(),
        img.built_seconds
    );

    // The plan shows the domain XML, undercloud.conf and instackenv.json, touching nothing.
    let plan_dir = tmp.path().join("plan");
    let out = apex(
        &[
            &[
                "deploy",
                "os-nosdn-nofeature-noha",
                "-s",
                site.to_str().unwrap(),
                "-n",
                net.to_str().unwrap(),
                "--tmp-dir",
                plan_dir.to_str().unwrap(),
                "--plan",
            ][..],
            &virt[..],
        ]
        .concat(),
    );
    let stdout = ok(out, "plan");
    assert!(
        stdout.contains("create the undercloud VM apexlab-uc"),
        "{stdout}"
    );
    for f in [
        "undercloud/domain.xml",
        "undercloud/undercloud.conf",
        "containers-prepare-parameter.yaml",
        "instackenv.json",
        "virtual/apexlab-uc-node1.xml",
        "undercloud_ssh/id_ed25519",
        "undercloud_ssh/ssh_host_ed25519_key",
        "overcloud_ssh/id_ed25519",
    ] {
        assert!(plan_dir.join(f).is_file(), "plan lacks {f}");
    }
    assert_eq!(
        domain_state(libvirtd.uri(), &s.name),
        None,
        "the plan touched libvirt"
    );

    // The real deploy: VM created, configured, the full deploy run on it.
    let t0 = Instant::now();
    let out = deploy(&virt, &site);
    if !out.status.success() {
        let d = ssh(
            &work,
            s.ssh_port,
            "stack",
            "echo PATH=$PATH; command -v timeout; ls -l /bin/sh; sh -c 'command -v timeout; echo $PATH'",
        );
        eprintln!("diagnostics: {} {}", text(&d.stdout), text(&d.stderr));
    }
    ok(out, "first deploy");
    let first = t0.elapsed().as_secs_f64();
    let st = state(&work);
    let ssh_seconds = st["steps"]["undercloud_vm"]["outputs"]["ssh_seconds"]
        .as_f64()
        .unwrap();
    let vm_seconds = st["steps"]["undercloud_vm"]["seconds"].as_f64().unwrap();
    eprintln!(
        "first deploy {first:.1}s; undercloud VM create-to-SSH {vm_seconds:.1}s (boot to banner {ssh_seconds:.1}s)"
    );
    assert_eq!(
        domain_state(libvirtd.uri(), &s.name).as_deref(),
        Some("running")
    );
    let conf = ok(
        ssh(
            &work,
            s.ssh_port,
            "stack",
            "cat /home/stack/undercloud.conf",
        ),
        "ssh as stack",
    );
    // sshd loads only the host key apex injected (no absent RSA key named).
    assert_eq!(
        ok(
            ssh(&work, s.ssh_port, "stack", "cat /run/sshd/host_keys.conf"),
            "the lab VM's host key list",
        ),
        "HostKey /etc/ssh/ssh_host_ed25519_key\n"
    );
    for want in [
        "local_ip = 127.0.0.1/24",
        "local_interface = eth1",
        "dhcp_start = 127.0.0.2",
        "dhcp_end = 127.0.0.50",
        "cidr = 127.0.0.0/24",
        "inspection_iprange = ",
        &format!("docker_insecure_registries = {}", lab.local().host()),
        "undercloud_hostname = undercloud.opnfvlf.org",
    ] {
        assert!(
            conf.contains(want),
            "undercloud.conf lacks {want:?}:\n{conf}"
        );
    }
    let prepare = ok(
        ssh(
            &work,
            s.ssh_port,
            "stack",
            "cat /home/stack/containers-prepare-parameter.yaml",
        ),
        "undercloud.conf's container_images_file",
    );
    assert!(prepare.contains("ContainerImagePrepare"), "{prepare}");
    ok(
        ssh(
            &work,
            s.ssh_port,
            "root",
            "test -f /etc/sysconfig/network-scripts/ifcfg-eth1",
        ),
        "ssh as root, ifcfg",
    );
    let calls = ok(
        ssh(
            &work,
            s.ssh_port,
            "stack",
            &format!("cat {}", undercloud_vm::CALLS_FILE),
        ),
        "calls",
    );
    let lines: Vec<&str> = calls.lines().collect();
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with(r#"["openstack","undercloud","install""#))
            .count(),
        1,
        "{calls}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(r#""node","import","--provide","instackenv.json""#)),
        "{calls}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(r#"["openstack","overcloud","deploy""#)),
        "{calls}"
    );
    assert!(
        ok(
            ssh(
                &work,
                s.ssh_port,
                "stack",
                "cat /home/stack/apex/overcloudrc"
            ),
            "rc"
        )
        .contains("OS_AUTH_URL")
    );

    // The nodes answer their BMC's power commands.
    let compute = s.bmc_port + 1;
    assert!(ipmi(s.bmc_port, &["power", "status"]).contains("off"));
    ipmi(compute, &["power", "on"]);
    assert_eq!(
        domain_state(libvirtd.uri(), &format!("{}-node1", s.name)).as_deref(),
        Some("running")
    );
    assert!(ipmi(compute, &["power", "status"]).contains("on"));
    ipmi(compute, &["power", "off"]);
    assert!(ipmi(compute, &["power", "status"]).contains("off"));

    // A rerun reuses the running VM and does nothing.
    let t0 = Instant::now();
    ok(deploy(&virt, &site), "rerun");
    let rerun = t0.elapsed().as_secs_f64();
    let st = state(&work);
    for k in ["undercloud_vm", "undercloud_configure", "virtual_nodes"] {
        assert_eq!(
            st["steps"][k]["skipped"], true,
            "{k} ran again: {}",
            st["steps"][k]
        );
    }
    let calls = ok(
        ssh(
            &work,
            s.ssh_port,
            "stack",
            &format!("cat {}", undercloud_vm::CALLS_FILE),
        ),
        "calls",
    );
    assert_eq!(
        calls
            .lines()
            .filter(|l| l.contains(r#""undercloud","install""#))
            .count(),
        1
    );
    eprintln!("rerun {rerun:.1}s");

    // Changed inputs are refused; the VM stays.
    let changed = tmp.path().join("site-changed.yaml");
    std::fs::write(
        &changed,
        std::fs::read_to_string(&site)
            .unwrap()
            .replace("memory: 512", "memory: 640"),
    )
    .unwrap();
    let out = deploy(&virt, &changed);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("--recreate-undercloud") && err.contains("domain"),
        "{err}"
    );
    assert_eq!(
        domain_state(libvirtd.uri(), &s.name).as_deref(),
        Some("running")
    );

    // destroy: no domain, disk or BMC left.
    let out = ok(
        apex(&["destroy", "--tmp-dir", work.to_str().unwrap()]),
        "destroy",
    );
    assert!(out.contains("removed domain apexlab-uc"), "{out}");
    for d in [
        s.name.clone(),
        format!("{}-node0", s.name),
        format!("{}-node1", s.name),
    ] {
        assert_eq!(domain_state(libvirtd.uri(), &d), None, "{d} is left");
    }
    assert_eq!(
        std::fs::read_dir(&images).unwrap().count(),
        0,
        "disks are left"
    );
    assert!(!work.join("vms.json").exists());
    assert!(!work.join("vbmc/vbmcd.pid").exists(), "vbmcd is left");
    let bmc = std::net::UdpSocket::bind(("127.0.0.1", s.bmc_port));
    assert!(bmc.is_ok(), "a BMC still listens on {}", s.bmc_port);
    drop(libvirtd);
    rt.block_on(lab.down()).unwrap();
}
