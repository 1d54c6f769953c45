//! The lab of issue 6, checked part by part through real calls: `Lab::up`
//! once per test binary (a kept dir, so a rerun reattaches), then the site
//! file, the seeded upstream registry, the images' `yum` and `patch` inside
//! real builds on the lab engine, SSH to the undercloud, the `openstack`
//! stand-in, the artifact server and its qcow2; and `apex lab up|down`
//! through the binary (`apex-lab`, which `apex lab` runs). A missing lab part fails the test with what is missing.

use std::path::{Path, PathBuf};
use std::process::Command;

use apex::engine::{self, BuildOptions};
use apex::registry::{Registry, RegistrySettings};
use apex::ssh::{RemoteCommand, run_ssh};
use apex_lab::{Lab, LabOptions, images, seed, state::LabState};
use bollard::Docker;
use serde::Deserialize;
use tokio::sync::OnceCell;

/// The shared lab of this binary, kept in one dir so later runs reuse it.
async fn lab() -> &'static Lab {
    static LAB: OnceCell<Lab> = OnceCell::const_new();
    LAB.get_or_init(|| async {
        let dir = std::env::var_os("APEX_LAB_TEST_DIR")
            .map_or_else(|| apex_lab::cache::checkout_dir("lab-tests"), PathBuf::from);
        Lab::up(LabOptions { dir })
            .await
            .expect("lab: Lab::up must start every part (see the error for the missing one)")
    })
    .await
}

async fn docker(lab: &Lab) -> Docker {
    engine::connect(&lab.engine())
        .await
        .expect("lab: connect to the lab's Docker engine")
}

/// An image built from `dockerfile` (plus `files`) on the lab engine; removed on drop.
struct Built {
    docker: Docker,
    tag: String,
}

impl Drop for Built {
    fn drop(&mut self) {
        let (docker, tag) = (self.docker.clone(), self.tag.clone());
        // Best effort from a sync drop: a thread with its own runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async { engine::remove_image(&docker, &tag, true).await })
        })
        .join();
    }
}

async fn build(
    docker: &Docker,
    name: &str,
    dockerfile: &str,
    files: &[(&str, &str)],
) -> anyhow::Result<Built> {
    let ctx = tempfile::tempdir()?;
    std::fs::write(ctx.path().join("Dockerfile"), dockerfile)?;
    for (path, text) in files {
        std::fs::write(ctx.path().join(path), text)?;
    }
    let tag = format!("apexlab-test/{name}:{}", std::process::id());
    let opts = BuildOptions {
        context: ctx.path().to_path_buf(),
        tag: tag.clone(),
        dockerfile: None,
        build_args: Default::default(),
        labels: Default::default(),
        no_cache: true,
    };
    engine::build_image(docker, &opts).await?;
    Ok(Built {
        docker: docker.clone(),
        tag,
    })
}

async fn read_text(docker: &Docker, image: &str, path: &str) -> String {
    let bytes = images::read_file(docker, image, path)
        .await
        .unwrap_or_else(|e| panic!("reading {path} in {image}: {e:#}"));
    String::from_utf8(bytes).unwrap()
}

fn upstream_image(lab: &Lab, service: &str) -> String {
    format!(
        "{}/{}/centos-binary-{service}:{}",
        lab.upstream().host(),
        seed::NAMESPACE,
        seed::TAG
    )
}

/// The site file format of round 2; unknown keys fail the parse.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Site {
    undercloud: SiteUndercloud,
    engine: String,
    registries: SiteRegistries,
    artifacts: SiteArtifacts,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SiteUndercloud {
    address: String,
    port: u16,
    user: String,
    key: PathBuf,
    known_hosts: PathBuf,
    accept_new: bool,
    work_dir: PathBuf,
    tht_dir: PathBuf,
    openstack: PathBuf,
    stackrc: PathBuf,
    /// The lab's ironic stand-in lists nodes (a deploy needs no -i).
    registered_nodes: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SiteRegistries {
    source: String,
    local: String,
    insecure: bool,
    ceph_image: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SiteArtifacts {
    url: String,
    cache_dir: PathBuf,
}

#[tokio::test]
async fn site_file_names_every_part_of_the_lab() {
    let lab = lab().await;
    let text = std::fs::read_to_string(lab.site_file()).unwrap();
    let site: Site = serde_saphyr::from_str(&text)
        .unwrap_or_else(|e| panic!("site.yaml does not parse: {e}\n{text}"));
    let host = lab.undercloud();
    assert_eq!(site.undercloud.address, "127.0.0.1");
    assert_eq!(Some(site.undercloud.port), host.port);
    assert_eq!(Some(&site.undercloud.user), host.user.as_ref());
    assert!(!site.undercloud.accept_new);
    assert!(site.undercloud.registered_nodes);
    assert!(site.undercloud.key.is_file() && site.undercloud.known_hosts.is_file());
    assert!(site.undercloud.work_dir.is_dir());
    assert!(
        site.undercloud
            .tht_dir
            .join("environments/docker-ha.yaml")
            .is_file()
    );
    assert!(
        site.undercloud
            .tht_dir
            .join("environments/services/neutron-opendaylight.yaml")
            .is_file()
    );
    assert!(
        site.undercloud
            .tht_dir
            .join("environments/storage-environment.yaml")
            .is_file()
    );
    assert!(site.undercloud.openstack.is_file());
    assert!(site.undercloud.stackrc.is_file());
    let engine_socket = lab
        .engine()
        .endpoint
        .expect("lab engine endpoint")
        .trim_start_matches("unix://")
        .to_string();
    assert_eq!(site.engine, format!("undercloud:{engine_socket}"));
    assert_eq!(site.registries.source, lab.upstream().host());
    assert_eq!(site.registries.local, lab.local().host());
    assert!(site.registries.insecure);
    assert!(
        site.registries
            .ceph_image
            .starts_with(&format!("{}/ceph/daemon:", lab.upstream().host()))
    );
    assert_eq!(site.artifacts.url, lab.artifacts().url(""));
    assert!(site.artifacts.cache_dir.starts_with(lab.dir()));
    // The engine it names answers, through the undercloud's SSH connection.
    let forwarded = apex::ssh::forward_socket(&host, Path::new(&engine_socket))
        .await
        .expect("forward the engine socket");
    assert_eq!(
        apex::ssh::forward_socket(&host, Path::new(&engine_socket))
            .await
            .unwrap(),
        forwarded,
        "one forward per socket"
    );
    let settings = engine::EngineSettings {
        endpoint: Some(format!("unix://{}", forwarded.display())),
        timeout: None,
    };
    engine::connect(&settings)
        .await
        .expect("the site's engine answers through SSH")
        .ping()
        .await
        .unwrap();
    assert_ne!(
        forwarded,
        Path::new(&engine_socket),
        "the engine socket is reached through the forward"
    );
    apex::ssh::close_all().await;
    assert!(
        !forwarded.exists(),
        "the local end of the forward outlived the connection"
    );

    let net: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(lab.network_settings_file()).unwrap())
            .unwrap();
    assert_eq!(net["networks"]["admin"]["installer_vm"]["ip"], "127.0.0.1");
    let state = LabState::read(lab.dir()).unwrap();
    for name in ["upstream", "local", "sshd"] {
        assert!(
            state.running(name).is_some(),
            "lab.json: {name} is not recorded as running: {state:?}"
        );
    }
}

#[tokio::test]
async fn upstream_catalog_lists_the_seeded_images() {
    let lab = lab().await;
    let reg = Registry::new(&lab.upstream().host(), &RegistrySettings::default()).unwrap();
    let catalog = reg.catalog().await.unwrap();
    let required = [
        "opendaylight",
        "neutron-server",
        "neutron-server-opendaylight",
        "neutron-server-ovn",
        "ovn-controller",
        "ovn-northd",
        "ovn-nb-db-server",
        "ovn-sb-db-server",
        "neutron-metadata-agent-ovn",
        "nova-api",
        "nova-conductor",
        "nova-compute",
        "keystone",
        "glance-api",
        "mariadb",
        "rabbitmq",
        "haproxy",
        "memcached",
    ];
    for svc in required
        .iter()
        .flat_map(|s| seed::NAMESPACES.iter().map(move |ns| (ns, s)))
    {
        let repo = format!("{}/centos-binary-{}", svc.0, svc.1);
        assert!(
            catalog.contains(&repo),
            "{repo} missing from the upstream catalog ({} repos)",
            catalog.len()
        );
        assert_eq!(reg.tags(&repo).await.unwrap(), vec![seed::TAG.to_string()]);
    }
    assert!(catalog.contains(&seed::CEPH_REPOSITORY.to_string()));
    assert_eq!(
        reg.tags(seed::CEPH_REPOSITORY).await.unwrap(),
        vec![seed::CEPH_TAG.to_string()]
    );
    assert_eq!(lab.seeded().images.len(), catalog.len());
    // Each runs as a non-root service user.
    for (repo, tag, user) in [
        ("tripleomaster/centos-binary-nova-api", seed::TAG, "nova"),
        ("tripleomaster/centos-binary-opendaylight", seed::TAG, "odl"),
        (seed::CEPH_REPOSITORY, seed::CEPH_TAG, "ceph"),
    ] {
        let config = reg.image_config(repo, tag).await.unwrap();
        assert_eq!(config["config"]["User"], user, "{repo}: {config}");
    }
    // Reseeding finds everything in place.
    let again = seed::seed(&lab.upstream().host()).await.unwrap();
    assert_eq!(again.pushed, 0);
}

#[tokio::test]
async fn yum_records_what_a_dockerfile_does_and_fails_on_unknown_packages() {
    let lab = lab().await;
    let docker = docker(lab).await;
    let base = upstream_image(lab, "neutron-server-opendaylight");
    let dockerfile = format!(
        "FROM {base}\nUSER root\nRUN yum -y remove python-networking-odl && yum -y install python-networking-odl patch\nUSER neutron\n"
    );
    let built = build(&docker, "yum-ok", &dockerfile, &[])
        .await
        .expect("a build using known packages succeeds");
    let log = read_text(&docker, &built.tag, "/var/log/apex-lab/yum.log").await;
    assert!(log.contains("remove python-networking-odl"), "{log}");
    assert!(
        log.contains("install python-networking-odl") && log.contains("install patch"),
        "{log}"
    );
    assert!(
        log.contains("repo /etc/yum.repos.d/delorean.repo baseurl=https://trunk.rdoproject.org/"),
        "{log}"
    );
    let info = engine::inspect_image(&docker, &built.tag).await.unwrap();
    assert_eq!(info.user, "neutron");

    let bad = format!(
        "FROM {base}\nUSER root\nRUN yum -y install python-networking-odl no-such-package\n"
    );
    let err = build(&docker, "yum-bad", &bad, &[])
        .await
        .err()
        .expect("an unknown package fails the build");
    assert!(
        format!("{err:#}").contains("No package no-such-package available"),
        "{err:#}"
    );
}

/// A repo file of an ODL release; `{suffix}` is empty or `-devel` (the
/// plugin's form), and a disabled repo of another release comes first.
const ODL_REPO: &str = "[opendaylight-old]\nbaseurl=https://nexus.opendaylight.org/content/repositories/opendaylight-fluorine-epel-7-x86_64/\nenabled=0\n\n\
[opendaylight-{rel}]\nname=OpenDaylight {rel}\nbaseurl=https://nexus.opendaylight.org/content/repositories/opendaylight-{rel}-epel-7-x86_64{suffix}/\nenabled=1\ngpgcheck=0\n";

async fn odl_swap(lab: &Lab, docker: &Docker, release: &str, suffix: &str) -> String {
    let dockerfile = format!(
        "FROM {}\nUSER root\nRUN yum -y remove opendaylight && test ! -e /opt/opendaylight/VERSION\n\
         COPY odl.repo /etc/yum.repos.d/opendaylight.repo\nRUN yum -y install opendaylight\nUSER odl\n",
        upstream_image(lab, "opendaylight")
    );
    let repo = ODL_REPO
        .replace("{rel}", release)
        .replace("{suffix}", suffix);
    let built = build(
        docker,
        &format!("odl-{release}"),
        &dockerfile,
        &[("odl.repo", &repo)],
    )
    .await
    .unwrap();
    let log = read_text(docker, &built.tag, "/var/log/apex-lab/yum.log").await;
    assert!(
        log.contains("remove opendaylight")
            && log.contains(&format!("install opendaylight {release}")),
        "{log}"
    );
    read_text(docker, &built.tag, "/opt/opendaylight/VERSION")
        .await
        .trim()
        .to_string()
}

#[tokio::test]
async fn odl_version_marker_follows_the_enabled_repo() {
    let lab = lab().await;
    let docker = docker(lab).await;
    engine::pull_image(&docker, &upstream_image(lab, "opendaylight"), None)
        .await
        .unwrap();
    let upstream = read_text(
        &docker,
        &upstream_image(lab, "opendaylight"),
        "/opt/opendaylight/VERSION",
    )
    .await;
    assert_eq!(upstream.trim(), seed::ODL_UPSTREAM_VERSION);
    assert_eq!(odl_swap(lab, &docker, "neon", "").await, "neon");
    assert_eq!(odl_swap(lab, &docker, "oxygen", "-devel").await, "oxygen");

    // Without a repo naming a release, installing fails.
    let dockerfile = format!(
        "FROM {}\nUSER root\nRUN yum -y remove opendaylight && yum -y install opendaylight\n",
        upstream_image(lab, "opendaylight")
    );
    let err = build(&docker, "odl-norepo", &dockerfile, &[])
        .await
        .err()
        .expect("no ODL repo: install fails");
    assert!(
        format!("{err:#}").contains("No package opendaylight available"),
        "{err:#}"
    );
}

const NOVA_PATCH: &str = "--- a/nova/version.py\n+++ b/nova/version.py\n@@ -5,3 +5,3 @@\n NOVA_VENDOR = \"OpenStack Foundation\"\n-NOVA_PRODUCT = \"OpenStack Nova\"\n+NOVA_PRODUCT = \"OpenStack Nova (patched by apex)\"\n NOVA_PACKAGE = None  # OS distro package version suffix\n";

#[tokio::test]
async fn busybox_patch_applies_an_upstream_diff_to_nova() {
    let lab = lab().await;
    let docker = docker(lab).await;
    let dockerfile = format!(
        "FROM {}\nUSER root\nRUN yum -y install patch\nCOPY nova.patch /tmp/nova.patch\n\
         RUN cd /usr/lib/python2.7/site-packages && patch -p1 < /tmp/nova.patch\nUSER nova\n",
        upstream_image(lab, "nova-api")
    );
    let built = build(
        &docker,
        "nova-patch",
        &dockerfile,
        &[("nova.patch", NOVA_PATCH)],
    )
    .await
    .expect("the patch applies");
    let text = read_text(
        &docker,
        &built.tag,
        "/usr/lib/python2.7/site-packages/nova/version.py",
    )
    .await;
    assert!(
        text.contains("NOVA_PRODUCT = \"OpenStack Nova (patched by apex)\""),
        "{text}"
    );
    assert!(
        !text.contains("NOVA_PRODUCT = \"OpenStack Nova\"\n"),
        "{text}"
    );
}

#[tokio::test]
async fn ssh_reaches_the_undercloud_and_the_openstack_stand_in_records_calls() {
    let lab = lab().await;
    let host = lab.undercloud();
    let out = run_ssh(
        &host,
        &RemoteCommand::new("echo undercloud-$((40+2))").check(),
    )
    .await
    .expect("ssh with the site's key/known_hosts");
    assert_eq!(out.stdout_text().trim(), "undercloud-42");

    let files = lab.undercloud_files();
    // As a deploy does: the undercloud's credentials first (the stand-in refuses without).
    let openstack = format!(
        ". {} && {}",
        files.stackrc().display(),
        files.openstack().display()
    );
    let env = files
        .tht_dir()
        .join("environments/docker.yaml")
        .display()
        .to_string();
    let marker = format!("apex-lab-test-{}", std::process::id());
    std::fs::write(
        files.work_dir().join(format!("{marker}.yaml")),
        "parameter_defaults: {}\n",
    )
    .unwrap();
    // A relative -e resolves in the work dir; an absolute THT file exists.
    let ok = format!(
        "{openstack} overcloud deploy --templates -e {env} -e {marker}.yaml --stack '{marker} x'"
    );
    let out = run_ssh(&host, &RemoteCommand::new(ok)).await.unwrap();
    assert_eq!(out.status, 0, "{}", out.stderr_text());
    let missing = format!("{openstack} overcloud deploy -e {env} -e missing-{marker}.yaml");
    let out = run_ssh(&host, &RemoteCommand::new(missing)).await.unwrap();
    assert_eq!(out.status, 1);
    let stderr = out.stderr_text();
    assert!(
        stderr.contains(&format!(
            "{}/missing-{marker}.yaml",
            files.work_dir().display()
        )),
        "{stderr}"
    );

    let calls = lab.openstack_calls().unwrap();
    let expected: Vec<String> = [
        "openstack",
        "overcloud",
        "deploy",
        "--templates",
        "-e",
        &env,
        "-e",
        &format!("{marker}.yaml"),
        "--stack",
        &format!("{marker} x"),
    ]
    .map(String::from)
    .to_vec();
    assert!(calls.contains(&expected), "{expected:?} not in {calls:?}");
    assert!(
        calls
            .iter()
            .any(|c| c.last() == Some(&format!("missing-{marker}.yaml"))),
        "the failing call is recorded too"
    );

    // Heat's part: THT rendered with the deploy's roles and networks; a
    // resource_registry target that is not in it fails as Heat does, and a
    // rendered-only file (network/ports/external.yaml) resolves.
    let tht = files.tht_dir();
    std::fs::write(
        files.work_dir().join(format!("{marker}-registry.yaml")),
        format!(
            "resource_registry:\n  OS::TripleO::Network::Ports::ExternalVipPort: {tht}/network/ports/external.yaml\n  \
             OS::TripleO::Services::Apex: {tht}/puppet/services/missing-{marker}.yaml\n",
            tht = tht.display()
        ),
    )
    .unwrap();
    let heat =
        format!("{openstack} overcloud deploy --templates -e {env} -e {marker}-registry.yaml");
    let out = run_ssh(&host, &RemoteCommand::new(heat)).await.unwrap();
    assert_eq!(out.status, 1, "{}", out.stderr_text());
    let stderr = out.stderr_text();
    assert!(
        stderr.contains(&format!(
            "Could not fetch contents for file://{}/puppet/services/missing-{marker}.yaml (resource_registry of {}/{marker}-registry.yaml: OS::TripleO::Services::Apex",
            tht.display(),
            files.work_dir().display()
        )),
        "{stderr}"
    );
    assert!(
        !stderr.contains("external.yaml"),
        "the rendered port template resolves: {stderr}"
    );
}

#[tokio::test]
async fn artifact_server_serves_an_overcloud_image_that_mounts_as_ext4() {
    let lab = lab().await;
    let before = lab.artifacts().requests("/overcloud-full.tar");
    let body = reqwest::get(lab.artifacts().url("overcloud-full.tar"))
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(
        lab.artifacts().requests("/overcloud-full.tar"),
        before + 1,
        "{:?}",
        lab.artifacts().request_counts()
    );
    let ipa = reqwest::get(lab.artifacts().url("ironic-python-agent.tar"))
        .await
        .unwrap();
    assert!(ipa.status().is_success());

    let dir = tempfile::tempdir().unwrap();
    tar::Archive::new(body.as_ref()).unpack(dir.path()).unwrap();
    let qcow = dir.path().join("overcloud-full.qcow2");
    assert!(
        qcow.is_file(),
        "overcloud-full.tar holds no overcloud-full.qcow2"
    );
    let raw = dir.path().join("check.raw");
    sh(Command::new("qemu-img")
        .args(["convert", "-O", "raw"])
        .arg(&qcow)
        .arg(&raw));
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    sh(Command::new("mount")
        .args(["-t", "ext4", "-o", "loop,ro"])
        .arg(&raw)
        .arg(&mnt));
    let hostname = std::fs::read_to_string(mnt.join("etc/hostname"));
    sh(Command::new("umount").arg(&mnt));
    assert_eq!(hostname.unwrap().trim(), "overcloud-full");
}

fn sh(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e} (lab tool missing?)"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `apex lab ARGS --dir DIR` (the `apex-lab` binary), ready for more settings.
fn apex_cmd(args: &[&str], dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_apex-lab"));
    cmd.args(args).arg("--dir").arg(dir);
    cmd
}

/// Runs `cmd`, which must succeed; its stdout.
fn stdout_of(mut cmd: Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn apex(args: &[&str], dir: &Path) -> String {
    stdout_of(apex_cmd(args, dir))
}

fn pids(dir: &Path) -> Vec<(String, u32, String)> {
    LabState::read(dir)
        .unwrap()
        .services
        .into_iter()
        .map(|(n, s)| (n, s.pid, s.marker))
        .collect()
}

/// A lab dir of one test, its services stopped (`apex lab down`) before the
/// dir goes, also when the test fails: nothing outlives the test in a dir
/// that no longer exists.
struct DownOnDrop(tempfile::TempDir);

impl std::ops::Deref for DownOnDrop {
    type Target = tempfile::TempDir;
    fn deref(&self) -> &tempfile::TempDir {
        &self.0
    }
}

impl Drop for DownOnDrop {
    fn drop(&mut self) {
        let _ = apex_cmd(&["down"], self.0.path()).output();
    }
}

#[tokio::test]
async fn apex_lab_up_and_down_through_the_binary() {
    let dir = DownOnDrop(
        tempfile::Builder::new()
            .prefix("apex-lab-cli-")
            .tempdir()
            .unwrap(),
    );
    let out = apex(&["up"], dir.path());
    let site = dir.path().canonicalize().unwrap().join("site.yaml");
    assert!(out.contains(&site.display().to_string()), "{out}");
    assert!(
        out.contains("network_settings.yaml") && out.contains("apex deploy"),
        "{out}"
    );
    let first = pids(dir.path());
    let names: Vec<&str> = first.iter().map(|(n, ..)| n.as_str()).collect();
    assert_eq!(names, ["artifacts", "local", "sshd", "upstream"]);
    for (name, pid, marker) in &first {
        assert!(
            apex_lab::process::alive(*pid, marker),
            "{name} (pid {pid}) does not run after lab up"
        );
    }
    // The site's artifact URL is the detached server.
    let text = std::fs::read_to_string(&site).unwrap();
    let site_yaml: Site = serde_saphyr::from_str(&text).unwrap();
    let tar = reqwest::get(format!("{}overcloud-full.tar", site_yaml.artifacts.url))
        .await
        .unwrap();
    assert!(tar.status().is_success());

    // Rerun: same processes, nothing reseeded; Lab::up on the dir reattaches too.
    apex(&["up"], dir.path());
    assert_eq!(pids(dir.path()), first);
    let lab = Lab::up(LabOptions {
        dir: dir.path().to_path_buf(),
    })
    .await
    .unwrap();
    assert_eq!(lab.seeded().pushed, 0);
    assert_eq!(
        lab.upstream().pid(),
        first
            .iter()
            .find(|(n, ..)| n == "upstream")
            .map(|(_, p, _)| *p)
    );
    drop(lab);

    // A session held open on the undercloud (as a kept SSH master holds one):
    // sshd's per-connection process outlives its listener unless down stops it.
    let u = &site_yaml.undercloud;
    let mut session = Command::new("ssh")
        .args(["-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-i"])
        .arg(&u.key)
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", u.known_hosts.display()))
        .args([
            "-p",
            &u.port.to_string(),
            "-l",
            &u.user,
            &u.address,
            "sleep 120",
        ])
        .stdin(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let sshd_pid = first.iter().find(|(n, ..)| n == "sshd").unwrap().1;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let connections = loop {
        let c = apex_lab::process::children_of(sshd_pid);
        if !c.is_empty() || std::time::Instant::now() > deadline {
            break c;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(
        !connections.is_empty(),
        "the ssh session did not reach sshd"
    );

    let out = apex(&["down"], dir.path());
    assert!(out.contains("stopped"), "{out}");
    for (name, pid, marker) in &first {
        assert!(
            !apex_lab::process::alive(*pid, marker),
            "{name} (pid {pid}) still runs after lab down"
        );
    }
    for pid in connections {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists()
                || !apex_lab::process::alive(pid, "sshd"),
            "sshd's connection (pid {pid}) outlived lab down"
        );
    }
    let _ = session.wait();
    assert!(LabState::read(dir.path()).unwrap().services.is_empty());

    // --purge removes the lab dir; a dir that is no lab's is refused.
    let other = tempfile::tempdir().unwrap();
    let refused = apex_cmd(&["down", "--purge"], other.path())
        .output()
        .unwrap();
    assert!(!refused.status.success() && other.path().is_dir());
    let out = apex(&["down", "--purge"], dir.path());
    assert!(out.contains("removed"), "{out}");
    assert!(!dir.path().exists());
}

/// The README's lab commands are the ones `apex lab up` prints (for its
/// /tmp/apex-lab), so a reader's deploy gets the lab's own tmp dir.
#[test]
fn the_readme_shows_the_commands_lab_up_prints() {
    let readme = include_str!("../../README.md");
    let dir = std::path::Path::new("/tmp/apex-lab");
    let printed = apex_lab::up_commands(dir);
    for cmd in &printed {
        assert!(
            readme.lines().any(|l| l.trim() == cmd),
            "README.md lacks `{cmd}` (what apex lab up prints)"
        );
    }
    assert!(printed.iter().any(|c| c.starts_with("apex deploy ")));
}

/// Stops the dockerd (and its containerd) of a test's own engine dir and
/// unmounts what it left mounted, also when the test fails.
struct OwnEngine(tempfile::TempDir);

impl OwnEngine {
    fn dockerd_pid(&self) -> u32 {
        apex_lab::process::read_pidfile(&self.0.path().join("dockerd.pid"))
            .expect("the lab dockerd writes its pidfile")
    }
}

impl Drop for OwnEngine {
    fn drop(&mut self) {
        use apex_lab::process::{read_pidfile, terminate};
        let containerd = self.0.path().join("exec/containerd");
        if let Some(pid) = read_pidfile(&self.0.path().join("dockerd.pid")) {
            terminate(pid, "dockerd");
        }
        if let Some(pid) = read_pidfile(&containerd.join("containerd.pid")) {
            terminate(pid, &containerd.display().to_string());
        }
        // dockerd bind-mounts its data root onto itself and leaves it so (once per start).
        let data = self.0.path().join("data");
        while rustix::mount::unmount(&data, rustix::mount::UnmountFlags::DETACH).is_ok() {}
    }
}

/// A dockerd ended without a clean stop (a session or CI run ends so) leaves a
/// pidfile that may name a zombie, an orphaned containerd and a network store
/// the next start reads: the lab starts a new engine on that dir all the same.
/// Then `apex lab down --engine` stops it cleanly. Its own dir (the binary is
/// pointed at it with `APEX_LAB_DOCKER_DIR`), so the shared lab engine is untouched.
#[tokio::test]
async fn a_killed_lab_engine_starts_again_on_what_it_left() {
    use apex_lab::{docker, process};
    let own = OwnEngine(
        tempfile::Builder::new()
            .prefix("apex-dockerd-")
            .tempdir()
            .unwrap(),
    );
    let dir = own.0.path();
    let first = docker::ensure_engine_in(dir)
        .await
        .expect("lab: start a dockerd of its own");
    assert!(first.started);
    let driver = |e: docker::LabEngine| async move {
        let docker = engine::connect(&e.settings()).await.unwrap();
        docker.info().await.expect("the engine answers").driver
    };
    let first_driver = driver(first).await;
    let killed = own.dockerd_pid();
    let _ = rustix::process::kill_process(
        rustix::process::Pid::from_raw(killed as i32).unwrap(),
        rustix::process::Signal::KILL,
    );
    while process::alive(killed, "dockerd") {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // What it left, at its worst: its PID not yet reaped (here a zombie of ours
    // stands in for it) and a network store cut short mid-write.
    let mut zombie = Command::new("true").spawn().unwrap();
    std::fs::write(dir.join("dockerd.pid"), zombie.id().to_string()).unwrap();
    std::fs::write(dir.join("data/network/files/local-kv.db"), b"cut short").unwrap();

    let again = docker::ensure_engine_in(dir)
        .await
        .expect("lab: start again on what a killed dockerd left");
    assert!(again.started);
    assert_eq!(
        driver(again).await,
        first_driver,
        "the same storage (a start refused on leftovers falls back to vfs)"
    );
    let second = own.dockerd_pid();
    assert_ne!(second, killed);
    let _ = zombie.wait();

    // `apex lab down` leaves the engine (other labs and tests share it) and
    // says so; `--engine` stops it cleanly, its containerd with it.
    let down = |extra: &[&str]| {
        let lab_dir = tempfile::tempdir().unwrap();
        let mut cmd = apex_cmd(&[&["down"], extra].concat(), lab_dir.path());
        cmd.env("APEX_LAB_DOCKER_DIR", dir);
        stdout_of(cmd)
    };
    let out = down(&[]);
    assert!(
        out.contains(&format!("dockerd pid {second}")) && out.contains("--engine"),
        "{out}"
    );
    assert!(
        process::alive(second, "dockerd"),
        "lab down without --engine stopped the engine"
    );
    let containerd = dir.join("exec/containerd");
    let containerd_pid =
        process::read_pidfile(&containerd.join("containerd.pid")).expect("containerd's pidfile");
    let out = down(&["--engine"]);
    assert!(
        out.contains(&format!(
            "stopped the lab's Docker engine (dockerd pid {second})"
        )),
        "{out}"
    );
    assert!(!process::alive(second, "dockerd"));
    assert!(
        !process::alive(containerd_pid, &containerd.display().to_string()),
        "containerd outlived its dockerd"
    );
    // The killed dockerd left its data root mounted onto itself; the second
    // one found the mount and left it too: `down --engine` unmounts it.
    let data = std::fs::canonicalize(dir.join("data")).unwrap();
    assert!(
        !apex::mountinfo::mount_points().unwrap().contains(&data),
        "the engine's data root is still mounted"
    );
    assert!(down(&["--engine"]).contains("nothing was running"));
}
