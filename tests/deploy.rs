//! The real deploy, end to end, on the lab (`apex_lab::Lab`): the built
//! `apex` binary runs `apex deploy` with the lab's site and network settings;
//! the results are read back from the lab's registries (over HTTP), its
//! Docker engine (the patched file inside the image), the customized
//! overcloud image (qemu-img + debugfs), the undercloud work dir and the
//! `openstack` stand-in's record. One lab per test process; deploys share its
//! registries and artifact cache, so the tests take turns (a mutex).

#[path = "common/output.rs"]
mod output;
use output::{json, read, text, yaml};

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard, OnceLock};

use apex_lab::{Lab, LabOptions};
use sha2::Digest as _;

const APEX: &str = env!("CARGO_BIN_EXE_apex");
const NS: &str = "tripleomaster";
const PREFIX: &str = "centos-binary-";
const CEPH: &str = "ceph/daemon:v3.1.0-stable-3.1-luminous-centos-7-x86_64";

struct TestLab {
    rt: tokio::runtime::Runtime,
    lab: Lab,
}

static LAB: OnceLock<Mutex<TestLab>> = OnceLock::new();

/// The lab of this test process (started once), held for the whole test.
fn lab() -> MutexGuard<'static, TestLab> {
    let m = LAB.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        // This checkout's dir in the lab cache: the next run reattaches to its
        // registries and sshd (Lab::up is idempotent per dir) instead of
        // leaving one lab per run, and another checkout has its own.
        let dir = apex_lab::cache::checkout_dir("deploy");
        let lab = rt
            .block_on(Lab::up(LabOptions { dir }))
            .unwrap_or_else(|e| panic!("the lab did not come up (apex_lab::Lab::up): {e:#}"));
        Mutex::new(TestLab { rt, lab })
    });
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether an `openstack` call (argv) is the deploy command.
fn is_deploy(call: &[String]) -> bool {
    call.get(1..3) == Some(&["overcloud".to_string(), "deploy".to_string()][..])
}

/// How many deploy commands the lab's `openstack` stand-in has run.
fn deploy_calls(t: &TestLab) -> usize {
    t.lab
        .openstack_calls()
        .unwrap()
        .iter()
        .filter(|c| is_deploy(c))
        .count()
}

impl TestLab {
    /// Runs `apex deploy` with the lab's site and network settings.
    fn deploy(&self, args: &[&str], tmp: &Path, lua_path: Option<&Path>) -> Output {
        self.deploy_on(args, tmp, lua_path, &self.lab.site_file())
    }

    /// [`Self::deploy`] with another site file.
    fn deploy_on(&self, args: &[&str], tmp: &Path, lua_path: Option<&Path>, site: &Path) -> Output {
        let site = site.to_path_buf();
        let net = self.lab.network_settings_file();
        let mut cmd = Command::new(APEX);
        cmd.env_remove("APEX_LUA_PATH");
        if let Some(d) = lua_path {
            cmd.arg("--lua-path").arg(d);
        }
        cmd.arg("deploy").args(args);
        cmd.arg("-s")
            .arg(&site)
            .arg("-n")
            .arg(&net)
            .arg("--tmp-dir")
            .arg(tmp);
        cmd.output().expect("run apex")
    }

    fn deploy_ok(&self, args: &[&str], tmp: &Path, lua_path: Option<&Path>) -> String {
        let out = self.deploy(args, tmp, lua_path);
        assert!(
            out.status.success(),
            "apex deploy {args:?} failed:\nstdout:\n{}\nstderr:\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// The manifest digest of `repo:tag` in a registry, or None when absent.
    fn digest(&self, host: &str, repo: &str, tag: &str) -> Option<String> {
        let url = format!("http://{host}/v2/{repo}/manifests/{tag}");
        self.rt.block_on(async {
            let resp = reqwest::Client::new()
                .head(&url)
                .header(
                    "Accept",
                    "application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, \
                     application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json",
                )
                .send()
                .await
                .unwrap_or_else(|e| panic!("HEAD {url}: {e}"));
            if resp.status() == 404 {
                return None;
            }
            assert!(resp.status().is_success(), "HEAD {url}: {}", resp.status());
            resp.headers().get("docker-content-digest").map(|v| v.to_str().unwrap().to_string())
        })
    }

    /// Digests of the blobs a manifest names (config and layers).
    fn manifest_blobs(&self, host: &str, repo: &str, tag: &str) -> BTreeSet<String> {
        let url = format!("http://{host}/v2/{repo}/manifests/{tag}");
        let doc: serde_json::Value = self.rt.block_on(async {
            reqwest::Client::new()
                .get(&url)
                .header("Accept", "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json")
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        });
        let mut out = BTreeSet::new();
        out.insert(
            doc["config"]["digest"]
                .as_str()
                .unwrap_or_else(|| panic!("{url}: no config digest: {doc}"))
                .to_string(),
        );
        for l in doc["layers"].as_array().unwrap() {
            out.insert(l["digest"].as_str().unwrap().to_string());
        }
        out
    }

    /// Every blob file of the local registry's storage with (mtime, inode):
    /// a blob sent again rewrites its file, a new one adds a file.
    fn local_blobs(&self) -> BTreeMap<String, (i64, u64)> {
        let root = self.lab.local().dir().join("data/docker/registry/v2/blobs");
        let mut out = BTreeMap::new();
        let mut stack = vec![root];
        while let Some(d) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if e.file_name() == "data" {
                    let m = e.metadata().unwrap();
                    let digest = p
                        .parent()
                        .unwrap()
                        .file_name()
                        .unwrap()
                        .to_string_lossy()
                        .into_owned();
                    out.insert(
                        format!("sha256:{digest}"),
                        (m.mtime() * 1_000_000_000 + m.mtime_nsec(), m.ino()),
                    );
                }
            }
        }
        out
    }

    /// Reads a file from an image by running it on the lab's engine.
    fn cat_in_image(&self, image: &str, path: &str) -> String {
        let endpoint = self
            .lab
            .engine()
            .endpoint
            .expect("the lab engine has an endpoint");
        let out = Command::new("docker")
            .args([
                "-H",
                &endpoint,
                "run",
                "--rm",
                "--entrypoint",
                "cat",
                image,
                path,
            ])
            .output()
            .expect("docker CLI");
        assert!(
            out.status.success(),
            "docker run {image} cat {path}: {}",
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// Statuses of the artifact server's answers since the last clear.
    fn artifact_statuses(&self) -> Vec<(String, u16)> {
        self.lab
            .artifacts()
            .log()
            .into_iter()
            .map(|r| (r.path, r.status))
            .collect()
    }
}

/// The copy list the deploy used: (source, destination) of every image.
fn copy_list(tmp: &Path) -> Vec<(String, String)> {
    let v = yaml(tmp.join("image_list.yaml"));
    v["copy"]
        .as_array()
        .expect("image_list.yaml: copy")
        .iter()
        .map(|c| {
            (
                c["from"].as_str().unwrap().to_string(),
                c["to"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn split_ref(r: &str) -> (&str, &str, &str) {
    let (host, rest) = r.split_once('/').unwrap();
    let (repo, tag) = rest.rsplit_once(':').unwrap();
    (host, repo, tag)
}

fn patched_images(tmp: &Path) -> Vec<String> {
    let v = &json(tmp.join("plan.json"))["patched_images"];
    // Lua writes an empty list as `{}`.
    v.as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
        .unwrap_or_else(|| {
            assert_eq!(
                v.as_object().map(|o| o.len()),
                Some(0),
                "patched_images: {v}"
            );
            Vec::new()
        })
}

fn state(tmp: &Path) -> serde_json::Value {
    json(tmp.join("state.json"))
}

/// What every deploy must leave behind: every image of the list in the
/// local registry (unpatched ones with the upstream digest), the patched ones
/// tagged `apex` (a different image), the image env file naming the local
/// registry with `:apex` exactly for patched images, the Ceph image, the
/// customized overcloud image and the deploy command seen by the stand-in.
fn check_deploy(t: &TestLab, tmp: &Path) {
    let local = t.lab.local().host();
    let upstream = t.lab.upstream().host();
    let patched: BTreeSet<String> = patched_images(tmp).into_iter().collect();
    let list = copy_list(tmp);
    assert!(list.len() > 5, "image list too short: {list:?}");
    for (from, to) in &list {
        let (fh, frepo, ftag) = split_ref(from);
        let (th, trepo, ttag) = split_ref(to);
        assert_eq!(th, local, "{to} is not in the local registry");
        if from.contains("ceph/daemon") {
            assert_eq!(
                fh, upstream,
                "the Ceph image comes from the site's ceph_image"
            );
        }
        let up = t
            .digest(fh, frepo, ftag)
            .unwrap_or_else(|| panic!("{from} not upstream"));
        let down = t
            .digest(th, trepo, ttag)
            .unwrap_or_else(|| panic!("{to} not copied into the local registry"));
        assert_eq!(up, down, "{to} does not have the upstream digest");
        let name = trepo
            .rsplit('/')
            .next()
            .unwrap()
            .strip_prefix(PREFIX)
            .unwrap_or("");
        // (Unpatched images may carry an apex tag from another test's deploy:
        // the lab's registries are shared; the env file below decides.)
        if patched.contains(name) {
            let apex = t
                .digest(th, trepo, "apex")
                .unwrap_or_else(|| panic!("{trepo}:apex not in the local registry"));
            assert_ne!(apex, up, "{trepo}:apex is the unpatched image");
        }
    }
    assert!(
        list.iter().any(|(_, to)| to.ends_with(CEPH)),
        "no Ceph image in the list: {list:?}"
    );
    // The image env file (here and uploaded).
    let env_text = read(tmp.join("docker-images.yaml"));
    let uploaded = t
        .lab
        .undercloud_files()
        .work_dir()
        .join("docker-images.yaml");
    assert_eq!(
        read(&uploaded),
        env_text,
        "the image env file on the undercloud differs"
    );
    let env = yaml(tmp.join("docker-images.yaml"));
    let params = env["parameter_defaults"].as_object().unwrap();
    let mut seen_patched = BTreeSet::new();
    for (k, v) in params {
        let Some(r) = v.as_str() else { continue };
        assert!(
            r.starts_with(&format!("{local}/")),
            "{k}: {r} does not name the local registry"
        );
        if let Some(rest) = r.split(&format!("/{NS}/{PREFIX}")).nth(1) {
            let (name, tag) = rest.rsplit_once(':').unwrap();
            assert_eq!(
                tag == "apex",
                patched.contains(name),
                "{k}: {r}: :apex exactly for patched images ({patched:?})"
            );
            if tag == "apex" {
                seen_patched.insert(name.to_string());
            }
        }
    }
    assert!(
        params
            .values()
            .any(|v| v.as_str().is_some_and(|s| s.ends_with(CEPH))),
        "no Ceph image parameter"
    );
    for p in &patched {
        assert!(
            seen_patched.contains(p)
                || !params.values().any(|v| v
                    .as_str()
                    .is_some_and(|s| s.contains(&format!("{PREFIX}{p}:")))),
            "{p} is patched but the env file does not name its :apex image"
        );
    }
    // The patch archive was unpacked on the undercloud.
    for p in &patched {
        let f = t
            .lab
            .undercloud_files()
            .work_dir()
            .join("containers")
            .join(p)
            .join("Dockerfile");
        assert_eq!(
            read(&f),
            read(tmp.join("containers").join(p).join("Dockerfile")),
            "{}",
            f.display()
        );
    }
    check_overcloud_image(tmp);
    // The deploy command reached the stand-in, with the env files in order.
    let calls = t.lab.openstack_calls().expect("openstack calls");
    let last = calls
        .iter()
        .rev()
        .find(|c| is_deploy(c))
        .expect("the deploy command did not reach the openstack stand-in");
    let expected: Vec<String> = json(tmp.join("plan.json"))["env_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap().to_string())
        .collect();
    let got: Vec<String> = last
        .windows(2)
        .filter(|w| w[0] == "-e")
        .map(|w| w[1].clone())
        .collect();
    assert_eq!(got, expected, "env files of the deploy command: {last:?}");
    let tht = t.lab.undercloud_files().tht_dir();
    assert!(
        got.iter()
            .any(|e| e.starts_with(&tht.display().to_string())),
        "THT files from the site's tht_dir: {got:?}"
    );
    assert!(
        last.iter().any(|a| a == "overcloud") && last.iter().any(|a| a == "deploy"),
        "{last:?}"
    );
    assert!(
        last.windows(2)
            .any(|w| w[0] == "--control-scale" && w[1] == "3"),
        "{last:?}"
    );
}

/// The loop unit, its enable link and the sparse backing file are in the
/// customized overcloud image (read with qemu-img and debugfs).
fn check_overcloud_image(tmp: &Path) {
    let image = OvercloudImage::read(tmp);
    let debugfs = |req: &str| image.debugfs(req);
    // The Ceph plugin's unit, as the plan wrote it beside the other artifacts.
    let unit = apex::loopdev::loop_unit_with(
        Path::new("/dev/loop3"),
        Path::new("/srv/data.img"),
        &apex::loopdev::UnitSpec {
            name: None,
            purpose: Some("Ceph OSD backing store".into()),
            before: vec!["ceph-osd.target".into()],
        },
    )
    .unwrap();
    assert_eq!(
        read(tmp.join(&unit.name)),
        unit.text,
        "the plan's unit file"
    );
    // 50G: the lab's nodes are registered in ironic, a baremetal deploy.
    let stat = debugfs("stat /srv/data.img");
    assert!(
        stat.contains("Size: 53687091200"),
        "/srv/data.img is not the 50G sparse file:\n{stat}"
    );
    let blocks: u64 = stat
        .split("Blockcount: ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        blocks < 1024,
        "/srv/data.img is not sparse ({blocks} blocks)"
    );
    assert_eq!(
        debugfs(&format!("cat {}", unit.path)),
        unit.text,
        "loop unit {} in the image",
        unit.path
    );
    let link = debugfs(&format!("stat {}", unit.enable_link));
    assert!(
        link.contains("Type: symlink") && link.contains(&unit.enable_target),
        "enable link {}:\n{link}",
        unit.enable_link
    );
}

/// The customized overcloud image of a deploy, as a raw copy read with
/// debugfs (e2fsprogs), not with apex code.
struct OvercloudImage {
    _dir: tempfile::TempDir,
    raw: PathBuf,
}

impl OvercloudImage {
    fn read(tmp: &Path) -> Self {
        let qcow = tmp.join("images/overcloud-full.qcow2");
        assert!(qcow.is_file(), "no customized {}", qcow.display());
        let dir = tempfile::tempdir().unwrap();
        let raw = dir.path().join("image.raw");
        let out = Command::new("qemu-img")
            .args(["convert", "-O", "raw"])
            .arg(&qcow)
            .arg(&raw)
            .output()
            .expect("qemu-img");
        assert!(
            out.status.success(),
            "qemu-img convert: {}",
            text(&out.stderr)
        );
        Self { _dir: dir, raw }
    }

    fn debugfs(&self, request: &str) -> String {
        let out = Command::new("debugfs")
            .arg("-R")
            .arg(request)
            .arg(&self.raw)
            .output()
            .expect("debugfs");
        text(&out.stdout)
    }
}

#[test]
fn odl_deploy_swaps_the_odl_version_in_the_local_registry() {
    let t = lab();
    let tmp = tempfile::tempdir().unwrap();
    let out = t.deploy_ok(&["os-odl-nofeature-ha"], tmp.path(), None);
    check_deploy(&t, tmp.path());
    assert!(patched_images(tmp.path()).contains(&"opendaylight".to_string()));
    let local = t.lab.local().host();
    let version = t.cat_in_image(
        &format!("{local}/{NS}/{PREFIX}opendaylight:apex"),
        "/opt/opendaylight/VERSION",
    );
    assert!(
        version.contains("neon"),
        "ODL master is the neon release; VERSION holds {version:?}"
    );
    assert!(
        !version.contains("upstream"),
        "the upstream ODL marker is still there: {version:?}"
    );
    // The overcloud image has the puppet module of ODL master in place of its own.
    let image = OvercloudImage::read(tmp.path());
    assert_eq!(
        image.debugfs("cat /etc/puppet/modules/opendaylight/metadata.json"),
        apex_lab::artifact_files::puppet_odl_metadata("master"),
        "puppet-opendaylight was not swapped"
    );
    assert!(
        image
            .debugfs("ls /etc/puppet/modules/opendaylight/manifests")
            .contains("init.pp")
    );
    let legacy = image.debugfs("stat /etc/puppet/modules/opendaylight/manifests/legacy.pp");
    assert!(
        !legacy.contains("Inode:"),
        "the image's own module was not removed first:\n{legacy}"
    );
    // Java was installed with the image's own package manager, chrooted into
    // the image (the lab image's yum stand-in records it).
    assert!(
        !out.contains("not applied"),
        "every customization applies:\n{out}"
    );
    assert_eq!(
        image.debugfs(&format!("cat {}", apex_lab::artifact_files::YUM_LOG)),
        "-y install nfs-utils\n-y install java-1.8.0-openjdk\n",
        "yum was not run in the image"
    );
    // Apex's prep_image customizations: the OVS agent gone (ODL replaces it),
    // the ODL repo, the NFS exports, the DHCP unit workaround.
    let ovs = image.debugfs(&format!(
        "stat {}",
        apex_lab::artifact_files::OVS_AGENT_UNIT
    ));
    assert!(!ovs.contains("Inode:"), "the OVS agent unit is still there");
    assert!(
        image
            .debugfs("cat /etc/yum.repos.d/opendaylight-neon.repo")
            .contains("baseurl=https://nexus.opendaylight.org/content/repositories/opendaylight-neon-epel-7-x86_64-devel/")
    );
    assert!(
        image
            .debugfs("cat /etc/exports")
            .starts_with("/glance *(rw,sync,no_root_squash,no_acl)\n")
    );
    assert!(
        !image
            .debugfs(&format!("cat {}", apex_lab::artifact_files::DHCP_UNIT))
            .contains("ConditionPathExists")
    );
    let java = image.debugfs(&format!(
        "stat {}/java-1.8.0-openjdk",
        apex_lab::artifact_files::PACKAGES_DIR
    ));
    assert!(
        java.contains("Inode:"),
        "java-1.8.0-openjdk is not installed:\n{java}"
    );

    // Without the tarball on the artifact server the deploy goes on, says
    // what is left out, and the image keeps its own module.
    struct PutBack(PathBuf, PathBuf);
    impl Drop for PutBack {
        fn drop(&mut self) {
            std::fs::rename(&self.1, &self.0).expect("put the lab's puppet tarball back");
        }
    }
    let served = t
        .lab
        .dir()
        .join("artifacts")
        .join(apex_lab::artifact_files::puppet_odl_tar("master"));
    let aside = served.with_extension("aside");
    std::fs::rename(&served, &aside).unwrap();
    let _back = PutBack(served, aside);
    let tmp2 = tempfile::tempdir().unwrap();
    let out = t.deploy_ok(&["os-odl-nofeature-ha"], tmp2.path(), None);
    let err = read(tmp2.path().join("apex.log"));
    assert!(
        err.contains("puppet-opendaylight-master.tar is not available"),
        "no warning about the missing tarball:\n{err}"
    );
    assert!(
        out.contains("unpack puppet-opendaylight-master.tar:/etc/puppet/modules/ not applied"),
        "{out}"
    );
    assert_eq!(
        OvercloudImage::read(tmp2.path())
            .debugfs("cat /etc/puppet/modules/opendaylight/metadata.json"),
        apex_lab::artifact_files::puppet_odl_metadata(
            apex_lab::artifact_files::IMAGE_PUPPET_ODL_VERSION
        )
    );
}

/// BGPVPN needs Apex's quagga tarball: without it on the artifact server the
/// deploy stops in step 1, naming the file and what needs it.
#[test]
fn bgpvpn_without_the_quagga_tarball_stops_naming_what_needs_it() {
    let t = lab();
    struct PutBack(PathBuf, PathBuf);
    impl Drop for PutBack {
        fn drop(&mut self) {
            std::fs::rename(&self.1, &self.0).expect("put the lab's quagga tarball back");
        }
    }
    let served = t
        .lab
        .dir()
        .join("artifacts")
        .join(apex_lab::artifact_files::QUAGGA_TAR);
    let aside = served.with_extension("aside");
    std::fs::rename(&served, &aside).unwrap();
    let _back = PutBack(served, aside);
    let tmp = tempfile::tempdir().unwrap();
    let out = t.deploy(&["os-odl-bgpvpn-ha"], tmp.path(), None);
    let err = text(&out.stderr);
    assert!(!out.status.success(), "deployed without quagga:\n{err}");
    assert!(
        err.contains("quagga-4.tar.gz is needed for vpn (BGPVPN)") && err.contains("404"),
        "{err}"
    );
    let log = read(tmp.path().join("apex.log"));
    assert!(
        !log.contains("image mounted"),
        "step 3 ran after step 1 failed:\n{log}"
    );
}

#[test]
fn ovn_deploy_copies_the_ovn_images_unpatched() {
    let t = lab();
    let tmp = tempfile::tempdir().unwrap();
    t.deploy_ok(&["os-ovn-nofeature-ha"], tmp.path(), None);
    check_deploy(&t, tmp.path());
    let names: Vec<String> = copy_list(tmp.path()).into_iter().map(|(f, _)| f).collect();
    for want in ["neutron-server-ovn", "ovn-controller", "ovn-northd"] {
        assert!(
            names
                .iter()
                .any(|n| n.contains(&format!("{PREFIX}{want}:"))),
            "{want} not in the OVN list: {names:?}"
        );
    }
}

/// Puts `repo:tag` back to the manifest it had, when dropped (the lab is kept across test runs).
struct RestoreManifest<'a> {
    t: &'a TestLab,
    registry: apex::registry::Registry,
    repo: String,
    tag: String,
    original: apex::registry::RawManifest,
}

impl Drop for RestoreManifest<'_> {
    fn drop(&mut self) {
        let r = self.t.rt.block_on(self.registry.put_manifest(
            &self.repo,
            &self.tag,
            &self.original,
        ));
        r.unwrap_or_else(|e| panic!("restoring {}:{} upstream: {e:#}", self.repo, self.tag));
    }
}

#[test]
fn an_upstream_image_update_is_mirrored_and_deployed_again() {
    let t = lab();
    let tmp = tempfile::tempdir().unwrap();
    let scenario = "os-nosdn-nofeature-noha";
    t.deploy_ok(&[scenario], tmp.path(), None);
    let deploys = deploy_calls(&t);

    // Upstream publishes a new keystone under the same tag: same layers, a
    // manifest with other bytes (so another digest).
    let upstream = t.lab.upstream().host();
    let registry =
        apex::registry::Registry::new(&upstream, &apex::registry::RegistrySettings::default())
            .unwrap();
    let (repo, tag) = (
        format!("{NS}/{PREFIX}keystone"),
        "current-tripleo".to_string(),
    );
    let original =
        t.rt.block_on(registry.manifest(&repo, &tag))
            .unwrap()
            .expect("keystone upstream");
    let mut bytes = original.bytes.to_vec();
    bytes.extend_from_slice(b"\n");
    let updated = apex::registry::RawManifest {
        digest: format!("sha256:{}", hex::encode(sha2::Sha256::digest(&bytes))),
        bytes: bytes.into(),
        media_type: original.media_type.clone(),
    };
    t.rt.block_on(registry.put_manifest(&repo, &tag, &updated))
        .unwrap();
    let restore = RestoreManifest {
        t: &t,
        registry,
        repo: repo.clone(),
        tag: tag.clone(),
        original,
    };

    t.deploy_ok(&[scenario], tmp.path(), None);
    let local = t.lab.local().host();
    assert_eq!(
        t.digest(&local, &repo, &tag),
        Some(updated.digest.clone()),
        "the new keystone was not mirrored"
    );
    let st = state(tmp.path());
    assert_eq!(
        step(&st, "mirror_images")["outputs"]["copied"],
        1,
        "only keystone is copied: {st}"
    );
    assert_eq!(
        step(&st, "mirror_images")["outputs"]["blobs_sent"],
        0,
        "its layers were there already: {st}"
    );
    assert_eq!(
        last_run(&st)["steps"]["run_deploy"]["skipped"],
        false,
        "a new image did not deploy again"
    );
    assert_eq!(deploy_calls(&t), deploys + 1);

    // Back to the original upstream: mirrored back, deployed again.
    drop(restore);
    t.deploy_ok(&[scenario], tmp.path(), None);
    assert_ne!(
        t.digest(&local, &repo, &tag),
        Some(updated.digest),
        "the restored keystone was not mirrored"
    );
    assert_eq!(deploy_calls(&t), deploys + 2);
}

/// What the THT undercloud patch of the nova test writes into environments/docker.yaml.
const THT_PATCHED: &str = "# patched by apex (an undercloud patch to THT)";

/// A deploy settings file with an upstream python patch (a local diff) to nova.
fn nova_patch_settings(dir: &Path, tht_dir: &Path) -> PathBuf {
    let original = apex_lab::seed::version_py("nova");
    let lines: Vec<&str> = original.lines().take(7).collect();
    assert!(
        lines[3].starts_with("NOVA_VENDOR = "),
        "lab nova/version.py changed: {original}"
    );
    let mut diff = String::from("--- a/nova/version.py\n+++ b/nova/version.py\n@@ -1,7 +1,7 @@\n");
    for (i, l) in lines.iter().enumerate() {
        if i == 3 {
            diff.push_str(&format!(
                "-{l}\n+NOVA_VENDOR = \"OpenStack Foundation (patched by apex)\"\n"
            ));
        } else {
            diff.push_str(&format!(" {l}\n"));
        }
    }
    std::fs::write(dir.join("nova.diff"), diff).unwrap();
    let settings = dir.join("os-nosdn-nova-patch-ha.yaml");
    // And one to puppet-tripleo, applied to the overcloud image.
    let init = apex_lab::artifact_files::IMAGE_PUPPET_TRIPLEO_INIT;
    let patched_init = init.replace("'upstream'", "'patched by apex'");
    let puppet = format!(
        "--- a/manifests/init.pp\n+++ b/manifests/init.pp\n@@ -1,3 +1,3 @@\n{}",
        init.lines()
            .zip(patched_init.lines())
            .map(|(a, b)| if a == b {
                format!(" {a}\n")
            } else {
                format!("-{a}\n+{b}\n")
            })
            .collect::<String>()
    );
    std::fs::write(dir.join("tripleo.diff"), puppet).unwrap();
    // And one to THT, applied on the undercloud.
    // The lab's THT is the real one, as the lab installed it (its first line replaced).
    let docker_env = read(tht_dir.join("environments/docker.yaml"));
    let tht = format!(
        "--- a/environments/docker.yaml\n+++ b/environments/docker.yaml\n@@ -1,3 +1,3 @@\n{}",
        docker_env
            .lines()
            .take(3)
            .enumerate()
            .map(|(i, l)| if i == 0 {
                format!("-{l}\n+{}\n", THT_PATCHED)
            } else {
                format!(" {l}\n")
            })
            .collect::<String>()
    );
    std::fs::write(dir.join("tht.diff"), tht).unwrap();
    std::fs::write(
        &settings,
        "global_params:\n  ha_enabled: true\n  patches:\n    overcloud:\n      - change-id: I0123456789abcdef0123456789abcdef01234567\n        project: openstack/nova\n        diff: nova.diff\n\
         \x20     - change-id: I89abcdef0123456789abcdef0123456789abcdef\n        project: openstack/puppet-tripleo\n        diff: tripleo.diff\n\
         \x20   undercloud:\n      - change-id: I76543210fedcba9876543210fedcba9876543210\n        project: openstack/tripleo-heat-templates\n        diff: tht.diff\n\
         deploy_options:\n  containers: true\n  os_version: master\n  sdn_controller: false\n  ceph: true\n",
    )
    .unwrap();
    settings
}

/// An override of the shipped Ceph plugin that also adds `RUN false` to
/// nova-api: the rebuild of that image fails.
fn failing_override(dir: &Path) -> PathBuf {
    let shipped = include_str!("../plugins/ceph.lua");
    let body = shipped
        .trim_end()
        .strip_suffix("return M")
        .expect("ceph.lua ends with return M");
    let hook = "function M.patches(ctx)\n  return { { image = \"nova-api\", reason = \"injected failure\", ops = { \"RUN false\" } } }\nend\n\nreturn M\n";
    let d = dir.join("override");
    std::fs::create_dir_all(d.join("plugins")).unwrap();
    std::fs::write(d.join("plugins/ceph.lua"), format!("{body}{hook}")).unwrap();
    d
}

fn step<'a>(st: &'a serde_json::Value, key: &str) -> &'a serde_json::Value {
    &st["steps"][key]
}

/// Length of a list from the state file (Lua writes an empty list as `{}`).
fn count(v: &serde_json::Value) -> usize {
    v.as_array()
        .map(|a| a.len())
        .or_else(|| v.as_object().map(|o| o.len()))
        .unwrap_or_else(|| panic!("not a list: {v}"))
}

fn last_run(st: &serde_json::Value) -> &serde_json::Value {
    st["runs"].as_array().unwrap().last().unwrap()
}

#[test]
fn nova_patch_fails_in_rebuild_then_resume_finishes_and_a_rerun_transfers_nothing() {
    let t = lab();
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("run");
    let settings = nova_patch_settings(dir.path(), &t.lab.undercloud_files().tht_dir());
    let settings = settings.to_str().unwrap();
    let over = failing_override(dir.path());

    // 1. The injected failure stops the deploy in the rebuild step.
    let out = t.deploy(&["-d", settings], &tmp, Some(&over));
    assert!(
        !out.status.success(),
        "the injected RUN false did not fail:\n{}",
        text(&out.stdout)
    );
    let err = text(&out.stderr);
    assert!(
        err.contains("rebuild_patched") && err.contains("nova-api"),
        "{err}"
    );
    let st = state(&tmp);
    assert_eq!(step(&st, "rebuild_patched")["status"], "failed", "{st}");
    for done in [
        "fetch_artifacts",
        "undercloud",
        "customize_image",
        "upload",
        "mirror_images",
    ] {
        assert_eq!(step(&st, done)["status"], "done", "{done}: {st}");
    }
    assert!(
        step(&st, "run_deploy").is_null(),
        "the deploy command ran after a failed step"
    );
    // `apex status` says the same to the operator, and where --resume goes on.
    let shown = status(&tmp);
    let line_of = |key: &str| {
        shown
            .lines()
            .find(|l| l.split_whitespace().nth(2) == Some(key))
            .unwrap_or_else(|| panic!("{key} not in:\n{shown}"))
            .to_string()
    };
    assert!(line_of("rebuild_patched").contains("failed"), "{shown}");
    assert!(line_of("rebuild_patched").contains("nova-api"), "{shown}");
    assert!(line_of("mirror_images").contains("done"), "{shown}");
    assert!(
        shown.contains("failed: rebuild_patched") && shown.contains("--resume"),
        "{shown}"
    );

    // 2. --resume without the override: no artifact request, no blob copied
    //    again; only the rebuilt nova-api:apex may bring new blobs.
    t.lab.artifacts().clear_log();
    let before = t.local_blobs();
    t.deploy_ok(&["-d", settings, "--resume"], &tmp, None);
    assert_eq!(
        t.artifact_statuses(),
        vec![],
        "--resume fetched artifacts again"
    );
    let after = t.local_blobs();
    let local = t.lab.local().host();
    // New blobs may come only from what had not run: nova-api:apex and the
    // Ceph image (step 8f comes after the failed rebuild).
    let mut allowed = t.manifest_blobs(&local, &format!("{NS}/{PREFIX}nova-api"), "apex");
    let (ceph_repo, ceph_tag) = CEPH.split_once(':').unwrap();
    allowed.extend(t.manifest_blobs(&local, ceph_repo, ceph_tag));
    // A registry stores a pushed manifest as a blob too.
    allowed.extend(t.digest(&local, &format!("{NS}/{PREFIX}nova-api"), "apex"));
    allowed.extend(t.digest(&local, ceph_repo, ceph_tag));
    for (d, v) in &after {
        match before.get(d) {
            Some(old) => assert_eq!(old, v, "blob {d} was sent again on --resume"),
            None => assert!(
                allowed.contains(d),
                "--resume sent blob {d}, not one of nova-api:apex or the Ceph image"
            ),
        }
    }
    let st = state(&tmp);
    let run = last_run(&st);
    assert_eq!(run["steps"]["fetch_artifacts"]["skipped"], true, "{run}");
    assert_eq!(run["steps"]["mirror_images"]["skipped"], true, "{run}");
    assert_eq!(
        count(&step(&st, "rebuild_patched")["outputs"]["rebuilt"]),
        1,
        "only nova-api is rebuilt: {st}"
    );
    let shown = status(&tmp);
    let (steps, runs) = shown.split_once("runs (").expect("a runs list");
    assert!(!steps.contains("failed"), "{shown}");
    let newest = runs.lines().nth(1).unwrap_or_default();
    assert!(newest.contains("(--resume)  finished"), "{shown}");
    assert!(!shown.contains("continues at"), "{shown}");
    check_deploy(&t, &tmp);
    // The puppet-tripleo patch went into the overcloud image (applied by apex, no virt-customize).
    let init = apex_lab::artifact_files::IMAGE_PUPPET_TRIPLEO_INIT;
    assert_eq!(
        OvercloudImage::read(&tmp).debugfs("cat /etc/puppet/modules/tripleo/manifests/init.pp"),
        init.replace("'upstream'", "'patched by apex'"),
        "the puppet patch is not in the overcloud image"
    );
    // The THT patch was applied on the undercloud (its tht_dir), once.
    let docker_env = t
        .lab
        .undercloud_files()
        .tht_dir()
        .join("environments/docker.yaml");
    assert!(
        read(&docker_env).contains(THT_PATCHED),
        "the THT patch is not on the undercloud:\n{}",
        read(&docker_env)
    );
    assert_eq!(step(&st, "undercloud_patches")["status"], "done", "{st}");
    let patched = patched_images(&tmp);
    let nova: Vec<String> = copy_list(&tmp)
        .into_iter()
        .filter_map(|(f, _)| {
            f.split(&format!("/{PREFIX}"))
                .nth(1)
                .and_then(|r| r.split(':').next())
                .map(str::to_string)
        })
        .filter(|n| n.starts_with("nova-"))
        .collect();
    assert!(
        nova.len() >= 3,
        "the lab has at least three nova images: {nova:?}"
    );
    assert_eq!(
        patched, nova,
        "every nova image (and only those) is patched"
    );
    for img in &patched {
        let v = t.cat_in_image(
            &format!("{local}/{NS}/{PREFIX}{img}:apex"),
            "/usr/lib/python2.7/site-packages/nova/version.py",
        );
        assert!(
            v.contains("(patched by apex)"),
            "{img}:apex does not hold the patch:\n{v}"
        );
    }

    // 3. A full rerun with nothing changed: 304s only, no blob, no rebuild,
    //    and no second stack update: the deploy command is not run again.
    t.lab.artifacts().clear_log();
    let before = t.local_blobs();
    let deploys = deploy_calls(&t);
    let out = t.deploy_ok(&["-d", settings], &tmp, None);
    let statuses = t.artifact_statuses();
    assert!(!statuses.is_empty(), "a full run checks the artifacts");
    assert!(
        statuses.iter().all(|(_, s)| *s == 304),
        "a rerun downloaded: {statuses:?}"
    );
    assert_eq!(t.local_blobs(), before, "a rerun sent blobs");
    let st = state(&tmp);
    assert_eq!(
        count(&step(&st, "rebuild_patched")["outputs"]["rebuilt"]),
        0,
        "{st}"
    );
    assert_eq!(
        count(&step(&st, "rebuild_patched")["outputs"]["kept"]),
        patched.len(),
        "{st}"
    );
    assert_eq!(
        step(&st, "mirror_images")["outputs"]["blobs_sent"],
        0,
        "{st}"
    );
    assert_eq!(deploy_calls(&t), deploys, "the unchanged deploy ran again");
    assert_eq!(
        last_run(&st)["steps"]["run_deploy"]["skipped"],
        true,
        "{st}"
    );
    assert!(
        out.contains("run_deploy") && out.contains("skipped"),
        "the summary says the deploy was skipped:\n{out}"
    );

    // 4. --redeploy runs it again, and only it.
    t.deploy_ok(&["-d", settings, "--redeploy"], &tmp, None);
    assert_eq!(
        deploy_calls(&t),
        deploys + 1,
        "--redeploy did not run the deploy command"
    );
    assert_eq!(
        last_run(&state(&tmp))["steps"]["run_deploy"]["skipped"],
        false
    );
    assert_eq!(last_run(&state(&tmp))["steps"]["upload"]["skipped"], true);

    // 5. The undercloud lost the uploaded files (wiped, reinstalled): a rerun
    //    sees it in step 2 and uploads them again.
    let work = t.lab.undercloud_files().work_dir();
    std::fs::remove_dir_all(work.join("containers")).unwrap();
    std::fs::remove_file(work.join("docker-images.yaml")).unwrap();
    t.deploy_ok(&["-d", settings], &tmp, None);
    assert_eq!(
        last_run(&state(&tmp))["steps"]["upload"]["skipped"],
        false,
        "the wiped files were not uploaded again"
    );
    assert_eq!(
        read(work.join("docker-images.yaml")),
        read(tmp.join("docker-images.yaml"))
    );
    for img in &patched {
        assert!(
            work.join("containers")
                .join(img)
                .join("Dockerfile")
                .is_file(),
            "{img}: containers/ not unpacked again"
        );
    }
    assert!(
        read(tmp.join("apex.log")).contains("as uploaded; uploading again"),
        "the log does not say why"
    );
}

/// Runs `apex deploy SCENARIO [--plan] -s SITE --tmp-dir TMP` without the lab.
/// `apex status` on states no deploy test leaves: none yet, a step cut off
/// by a kill (interrupted), the same step while a deploy holds the tmp dir
/// (running, naming its PID), a corrupt state file.
#[test]
fn status_tells_interrupted_from_running_and_names_a_bad_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("run");
    // No state: an answer no script may take for a deploy, so a failure with a hint.
    for made in [false, true] {
        if made {
            std::fs::create_dir_all(&tmp).unwrap();
        }
        let out = Command::new(APEX)
            .args(["status", "--tmp-dir"])
            .arg(&tmp)
            .output()
            .unwrap();
        let shown = text(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{shown}");
        assert!(shown.contains("no deploy state"), "{shown}");
        assert!(
            shown.contains(if made {
                "a --plan records no state"
            } else {
                "the tmp dir does not exist"
            }),
            "{shown}"
        );
        assert!(shown.contains("hint: `apex deploy"), "{shown}");
    }
    std::fs::write(
        tmp.join("state.json"),
        r#"{"version": 1,
            "steps": {"fetch_artifacts": {"step": 1, "status": "done", "inputs": "a", "seconds": 1.5},
                      "mirror_images": {"step": 8, "status": "running", "inputs": "b"},
                      "rebuild/neutron-server-opendaylight": {"step": 8, "order": 4, "status": "done",
                                                              "inputs": "c", "seconds": 312.25},
                      "upload_deploy_files": {"step": 9, "order": 6, "status": "done", "inputs": "d", "seconds": 0.5},
                      "image_upload": {"step": 9, "order": 7, "status": "done", "inputs": "e", "seconds": 3}},
            "runs": [{"started": 1795628067, "resume": false, "steps": {}}]}"#,
    )
    .unwrap();
    let shown = status(&tmp);
    // Sub-steps in the order the run took them (not by name), in aligned columns.
    let at = |k: &str| shown.find(k).unwrap_or_else(|| panic!("{k}: {shown}"));
    assert!(at("upload_deploy_files") < at("image_upload"), "{shown}");
    assert!(at("rebuild/neutron") < at("mirror_images"), "{shown}");
    let columns: Vec<usize> = shown
        .lines()
        .filter(|l| l.starts_with("  step "))
        .map(|l| l.find(" done").or_else(|| l.find(" interrupted")).unwrap())
        .collect();
    assert_eq!(columns.len(), 5, "{shown}");
    assert!(columns.iter().all(|c| *c == columns[0]), "{shown}");
    assert!(
        shown.contains("mirror_images") && shown.contains("interrupted"),
        "{shown}"
    );
    assert!(
        shown.contains("2026-11-25 17:34:27 UTC  interrupted"),
        "{shown}"
    );
    assert!(shown.contains("continues at"), "{shown}");

    let lock = apex::run_lock::lock(&tmp).unwrap();
    let shown = status(&tmp);
    let me = format!(
        "apex (pid {}) is deploying from this dir now",
        std::process::id()
    );
    assert!(shown.contains(&me), "{shown}");
    assert!(
        !shown.contains("interrupted") && shown.contains("running now"),
        "{shown}"
    );
    drop(lock);

    std::fs::write(tmp.join("state.json"), "[1, 2]").unwrap();
    let out = Command::new(APEX)
        .args(["status", "--tmp-dir"])
        .arg(&tmp)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("state.json: not a deploy state file"),
        "{}",
        text(&out.stderr)
    );
    let out = Command::new(APEX).arg("status").output().unwrap();
    assert!(!out.status.success() && text(&out.stderr).contains("give a scenario name"));
}

/// `apex status --tmp-dir TMP`, which must succeed; its stdout.
fn status(tmp: &Path) -> String {
    let out = Command::new(APEX)
        .args(["status", "--tmp-dir"])
        .arg(tmp)
        .output()
        .expect("run apex status");
    assert!(out.status.success(), "apex status: {}", text(&out.stderr));
    text(&out.stdout)
}

fn deploy_with_site(scenario: &str, plan: bool, site: &Path, tmp: &Path) -> Output {
    let mut cmd = Command::new(APEX);
    cmd.env_remove("APEX_LUA_PATH").args(["deploy", scenario]);
    if plan {
        cmd.arg("--plan");
    }
    cmd.arg("-s")
        .arg(site)
        .arg("--tmp-dir")
        .arg(tmp)
        .output()
        .expect("run apex")
}

#[test]
fn bad_site_settings_name_the_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site.yaml");
    for (body, want) in [
        (
            "undercloud:\n  adress: 127.0.0.1\n",
            "unknown key undercloud.adress",
        ),
        ("undercloud:\n  port: x\n", "undercloud.port"),
        ("registry: {}\n", "unknown key registry"),
        ("artifacts:\n  url: ftp://x/\n", "artifacts.url"),
    ] {
        std::fs::write(&site, body).unwrap();
        let tmp = dir.path().join("tmp");
        let out = deploy_with_site("os-nosdn-nofeature-ha", true, &site, &tmp);
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{body}: accepted");
        assert!(
            err.contains(site.to_str().unwrap()) && err.contains(want),
            "{body}: {err}"
        );
        assert!(!tmp.join("plan.json").exists(), "{body}: wrote a plan");
    }
}

#[test]
fn site_settings_change_the_plan_and_touch_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site.yaml");
    std::fs::write(
        &site,
        "undercloud:\n  address: 127.0.0.1\n  port: 2222\n  user: root\n  tht_dir: /srv/tht\n\
         registries:\n  local: 127.0.0.1:5999\n\
         artifacts:\n  url: http://127.0.0.1:1/art\n  cache_dir: /nonexistent/cache\n",
    )
    .unwrap();
    let tmp = dir.path().join("tmp");
    let out = deploy_with_site("os-odl-nofeature-ha", true, &site, &tmp);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("fetch http://127.0.0.1:1/art/overcloud-full.tar if newer than /nonexistent/cache/overcloud-full.tar"), "{stdout}");
    assert!(stdout.contains("root@127.0.0.1:2222"), "{stdout}");
    assert!(
        read(tmp.join("docker-images.yaml")).contains("127.0.0.1:5999/tripleomaster/"),
        "local registry from the site"
    );
    assert!(
        read(tmp.join("deploy_command")).contains("/srv/tht/environments/docker-ha.yaml"),
        "THT dir from the site"
    );
    assert!(!Path::new("/nonexistent/cache").exists());
    assert!(
        !tmp.join("state.json").exists(),
        "plan mode wrote a state file"
    );
}

#[test]
fn a_real_deploy_on_an_unreachable_site_fails_and_records_each_failed_step() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site.yaml");
    // Every endpoint on port 1 of loopback: nothing listens; nothing leaves the machine.
    std::fs::write(
        &site,
        format!(
            "undercloud:\n  address: 127.0.0.1\n  port: 1\n  known_hosts: {kh}\n  persist: 0\n  registered_nodes: true\n\
             engine: unix://{sock}\n\
             registries:\n  source: 127.0.0.1:1\n  local: 127.0.0.1:1\n  ceph_image: 127.0.0.1:1/ceph/daemon:x\n\
             artifacts:\n  url: http://127.0.0.1:1/\n  cache_dir: {cache}\n",
            kh = dir.path().join("known_hosts").display(),
            sock = dir.path().join("no-engine.sock").display(),
            cache = dir.path().join("cache").display()
        ),
    )
    .unwrap();
    let tmp = dir.path().join("tmp");
    let out = deploy_with_site("os-nosdn-nofeature-ha", false, &site, &tmp);
    let err = text(&out.stderr);
    assert!(!out.status.success());
    // The independent first steps run together; each failure is said, not only the first.
    assert!(err.contains("steps failed:"), "{err}");
    for (number, key) in [
        (1, "fetch_artifacts"),
        (2, "undercloud"),
        (8, "mirror_images"),
        (8, "ceph_image"),
    ] {
        assert!(
            err.contains(&format!("step {number} ({key}) failed")),
            "{key} not said: {err}"
        );
        let st = state(&tmp);
        assert_eq!(step(&st, key)["status"], "failed", "{key}");
        assert!(
            step(&st, key)["error"]
                .as_str()
                .unwrap()
                .contains("127.0.0.1"),
            "{key}: {}",
            step(&st, key)
        );
    }
    assert!(err.contains("--resume"), "{err}");
}

/// The files a plan or run lists in plan.json, with their content, and its
/// actions (step, key, text, details).
fn plan_record(tmp: &Path) -> (BTreeMap<String, Vec<u8>>, serde_json::Value) {
    let manifest = json(tmp.join("plan.json"));
    let mut files = BTreeMap::new();
    for f in manifest["files"].as_array().expect("plan.json lists files") {
        let rel = f.as_str().unwrap();
        let content = std::fs::read(tmp.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        files.insert(rel.to_string(), content);
    }
    (files, manifest["actions"].clone())
}

#[test]
fn every_shipped_scenario_runs_exactly_its_plan() {
    let t = lab();
    let scenarios: Vec<String> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/scenarios"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "lua"))
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
    assert!(scenarios.len() >= 10, "{scenarios:?}");
    let sites = tempfile::tempdir().unwrap();
    for name in &scenarios {
        let tmp = tempfile::tempdir().unwrap();
        // Each scenario against the THT of its release (the lab holds Queens, Rocky and Stein).
        let body = read(format!(
            "{}/scripts/scenarios/{name}.lua",
            env!("CARGO_MANIFEST_DIR")
        ));
        let os_version = body
            .split("os_version = \"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .expect("a scenario names its os_version");
        let uc = t.lab.undercloud_files();
        let site = sites.path().join(format!("{os_version}.yaml"));
        std::fs::write(
            &site,
            read(t.lab.site_file()).replace(
                &format!("tht_dir: \"{}\"", uc.tht_dir().display()),
                &format!(
                    "tht_dir: \"{}\"",
                    uc.tht_dir_of(os_version).unwrap().display()
                ),
            ),
        )
        .unwrap();
        assert!(
            os_version == "master" || read(&site).contains(&format!("tht-{os_version}")),
            "{name}: the site names the {os_version} THT"
        );
        let deploy_ok = |args: &[&str]| {
            let out = t.deploy_on(args, tmp.path(), None, &site);
            assert!(
                out.status.success(),
                "apex deploy {args:?} failed:\n{}",
                text(&out.stderr)
            );
        };
        deploy_ok(&[name, "--plan"]);
        let (plan_files, plan_actions) = plan_record(tmp.path());
        assert!(
            plan_actions.as_array().is_some_and(|a| a.len() >= 5),
            "{name}: {plan_actions}"
        );
        deploy_ok(&[name]);
        let (run_files, run_actions) = plan_record(tmp.path());
        assert_eq!(
            plan_files.keys().collect::<Vec<_>>(),
            run_files.keys().collect::<Vec<_>>(),
            "{name}: the run wrote other files than its plan"
        );
        for (rel, content) in &plan_files {
            assert!(
                run_files[rel] == *content,
                "{name}: {rel} differs between the plan and the run:\nplan:\n{}\nrun:\n{}",
                String::from_utf8_lossy(content),
                String::from_utf8_lossy(&run_files[rel])
            );
        }
        assert_eq!(
            plan_actions, run_actions,
            "{name}: the run's actions are not its plan's"
        );
        // What the run executed (or found done) is exactly the plan's action list.
        let st = state(tmp.path());
        let ran: BTreeSet<&str> = last_run(&st)["steps"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .filter(|k| !k.starts_with("rebuild/"))
            .collect();
        let planned: BTreeSet<&str> = plan_actions
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["key"].as_str().unwrap())
            .collect();
        assert_eq!(
            ran, planned,
            "{name}: the run executed other actions than its plan listed"
        );
    }
}

/// The `openstack` subcommands of the calls after `from`, as words up to the
/// first option or file (e.g. "overcloud image upload").
fn subcommands(t: &TestLab, from: usize) -> Vec<String> {
    t.lab.openstack_calls().unwrap()[from..]
        .iter()
        .map(|c| {
            c[1..]
                .iter()
                .take_while(|a| !a.starts_with('-') && !a.contains('.') && !a.contains('/'))
                .cloned()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn sha256_file(p: impl AsRef<Path>) -> String {
    let bytes =
        std::fs::read(p.as_ref()).unwrap_or_else(|e| panic!("{}: {e}", p.as_ref().display()));
    hex::encode(sha2::Sha256::digest(&bytes))
}

#[test]
fn step_9_runs_on_the_undercloud_as_apex_does_and_a_rerun_runs_nothing() {
    use std::os::unix::fs::PermissionsExt as _;
    let t = lab();
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("tmp");
    let inventory = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/inventory/pod_ha.yaml"
    );
    let scenario = "os-odl-nofeature-ha";
    // The stand-in overcloud starts empty: post-deploy creates the external network.
    let _ = std::fs::remove_dir_all(t.lab.undercloud_files().overcloud_dir());
    let before = t.lab.openstack_calls().unwrap().len();
    let o = t.deploy(&[scenario, "-i", inventory], &tmp, None);
    let (out, console) = (text(&o.stdout), text(&o.stderr));
    assert!(o.status.success(), "stdout:\n{out}\nstderr:\n{console}");
    // The console at the default level: a line per action (and warnings),
    // not the commands and their remote output, which the log has.
    let actions = state(&tmp)["steps"].as_object().unwrap().len();
    let lines: Vec<&str> = console.lines().collect();
    assert!(
        lines.len() <= actions + 2,
        "{} console lines for {actions} actions:\n{console}",
        lines.len()
    );
    assert!(
        lines
            .iter()
            .all(|l| l.contains(" step ") || l.contains("WARN")),
        "{console}"
    );
    let log = read(tmp.join("apex.log"));
    assert!(
        log.contains("ssh run") && log.contains("apex::ssh::output"),
        "the log lacks the commands and their output"
    );
    assert_eq!(
        subcommands(&t, before),
        [
            "overcloud image upload",
            "overcloud node import",
            "overcloud node introspect",
            "flavor set",
            "flavor set",
            "flavor set",
            "subnet set ctlplane-subnet",
            "overcloud deploy",
            "server list",
            "network show external",
            "network create external",
            "subnet show external-subnet",
            "subnet create external-subnet",
            "project list",
            "port list",
            "stack environment show overcloud",
            "endpoint list",
        ],
        "{:?}",
        &t.lab.openstack_calls().unwrap()[before..]
    );
    let calls = t.lab.openstack_calls().unwrap();
    let deploy = calls.iter().rev().find(|c| is_deploy(c)).unwrap();
    assert!(
        deploy
            .windows(2)
            .any(|w| w[0] == "--networks-file" && w[1] == "network_data.yaml"),
        "{deploy:?}"
    );
    assert!(
        deploy
            .windows(2)
            .any(|w| w[0] == "--compute-scale" && w[1] == "2"),
        "the inventory's computes: {deploy:?}"
    );
    // What the plan wrote is what the undercloud got, byte for byte.
    let uc = t.lab.undercloud_files();
    for rel in [
        "instackenv.json",
        "network-environment.yaml",
        "network_data.yaml",
        "nics/controller.yaml",
        "nics/compute.yaml",
        "opnfv-environment.yaml",
        "baremetal-environment.yaml",
        "deploy_command",
    ] {
        assert_eq!(
            read(uc.work_dir().join(rel)),
            read(tmp.join(rel)),
            "{rel} on the undercloud"
        );
        // With the mode it has here: the BMC passwords and the overcloud's
        // private key are no one else's to read.
        let mode = |p: PathBuf| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        let secret = matches!(rel, "instackenv.json" | "opnfv-environment.yaml");
        assert_eq!(
            mode(tmp.join(rel)),
            if secret { 0o600 } else { 0o644 },
            "{rel} here"
        );
        assert_eq!(
            mode(uc.work_dir().join(rel)),
            mode(tmp.join(rel)),
            "{rel} on the undercloud"
        );
    }
    assert_eq!(
        read(uc.tht_dir().join("environments/storage-environment.yaml")),
        read(tmp.join("storage-environment.yaml")),
        "the Ceph env file goes into the THT dir"
    );
    for name in ["overcloud-full.qcow2", "ironic-python-agent.kernel"] {
        assert_eq!(
            sha256_file(uc.work_dir().join(name)),
            sha256_file(tmp.join("images").join(name)),
            "{name}: the customized image is uploaded"
        );
    }
    let instackenv = json(tmp.join("instackenv.json"));
    assert_eq!(instackenv["nodes"].as_array().unwrap().len(), 5);
    assert!(
        !out.contains("s3cret-bmc"),
        "a BMC password in the output:\n{out}"
    );
    assert!(
        !read(tmp.join("apex.log")).contains("s3cret-bmc"),
        "a BMC password in apex.log"
    );
    let roles: serde_json::Value =
        serde_saphyr::from_str(&read(uc.tht_dir().join("roles_data.yaml"))).unwrap();
    let services = |role: &str| -> Vec<String> {
        roles
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == role)
            .unwrap()["ServicesDefault"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    let compute = services("Compute");
    let osd = compute
        .iter()
        .position(|s| s == "OS::TripleO::Services::CephOSD");
    let nova = compute
        .iter()
        .position(|s| s == "OS::TripleO::Services::NovaCompute");
    assert!(
        osd.is_some() && osd < nova,
        "Ceph OSD before NovaCompute on Compute: {compute:?}"
    );
    assert!(!services("CephStorage").contains(&"OS::TripleO::Services::CephOSD".to_string()));
    assert!(read(tmp.join("overcloudrc")).contains("OS_AUTH_URL"));
    // Post-deploy: the external network as Apex's external_network_cmds for the lab's
    // network settings, overcloudrc completed here and on the undercloud.
    let create = calls
        .iter()
        .rev()
        .find(|c| c[1..3] == ["network".to_string(), "create".to_string()])
        .unwrap();
    assert!(
        create.join(" ").contains(
            "--external --provider-network-type flat --provider-physical-network datacentre"
        ),
        "{create:?}"
    );
    let rc = read(tmp.join("overcloudrc"));
    for line in [
        "export OS_PROJECT_ID=5f3c0ac7e1d94d2c9c3cbd4e6f0a1b2c",
        "export OS_TENANT_NAME=admin",
        "export SDN_CONTROLLER_IP=192.0.2.5",
        "export SDN_CONTROLLER_WEBPORT=8081",
        "export SDN_CONTROLLER_RESTCONFPORT=8081",
        "export SDN_CONTROLLER_PASSWORD=lab-odl-secret",
        "export OS_REGION_NAME=regionOne",
    ] {
        assert!(
            rc.lines().any(|l| l == line),
            "{line} not in overcloudrc:\n{rc}"
        );
    }
    assert_eq!(
        read(uc.work_dir().join("overcloudrc")),
        rc,
        "overcloudrc on the undercloud"
    );
    assert!(json(tmp.join("overcloud_servers.json")).is_array());
    assert!(
        out.contains("overcloudrc"),
        "the summary names overcloudrc:\n{out}"
    );

    // Unchanged: nothing uploaded, no openstack subcommand.
    let before = t.lab.openstack_calls().unwrap().len();
    t.deploy_ok(&[scenario, "-i", inventory], &tmp, None);
    assert_eq!(
        subcommands(&t, before),
        Vec::<String>::new(),
        "an unchanged rerun ran openstack"
    );
    let st = state(&tmp);
    assert_eq!(
        last_run(&st)["steps"]["upload_deploy_files"]["skipped"],
        true,
        "{st}"
    );

    // A changed overcloud image (a bigger Ceph loop file): only the image
    // upload and the deploy run again, and only the image is sent.
    let over = dir.path().join("lua");
    std::fs::create_dir_all(over.join("plugins")).unwrap();
    let ceph = read(concat!(env!("CARGO_MANIFEST_DIR"), "/plugins/ceph.lua"))
        .replace("M.SIZE_BAREMETAL = \"50G\"", "M.SIZE_BAREMETAL = \"51G\"");
    assert!(ceph.contains("51G"));
    std::fs::write(over.join("plugins/ceph.lua"), ceph).unwrap();
    let before = t.lab.openstack_calls().unwrap().len();
    let o = t.deploy(&["-v", scenario, "-i", inventory], &tmp, Some(&over));
    assert!(o.status.success(), "{}", text(&o.stderr));
    // -v: the commands on the console too.
    assert!(
        text(&o.stderr).contains("ssh run") && text(&o.stderr).contains("overcloud deploy"),
        "{}",
        text(&o.stderr)
    );
    // After a deploy post-deploy runs again; the external network exists: not created twice.
    assert_eq!(
        subcommands(&t, before),
        [
            "overcloud image upload",
            "overcloud deploy",
            "server list",
            "network show external",
            "subnet show external-subnet",
            "project list",
            "port list",
            "stack environment show overcloud",
            "endpoint list",
        ]
    );
    let image_upload = &t.lab.openstack_calls().unwrap()[before];
    assert!(
        image_upload.contains(&"--update-existing".to_string()),
        "{image_upload:?}"
    );
    let st = state(&tmp);
    assert_eq!(
        step(&st, "upload_deploy_files")["outputs"]["uploaded"],
        1,
        "only the image: {st}"
    );
}

#[test]
fn a_failed_deploy_shows_the_stack_failures() {
    let t = lab();
    let tmp = tempfile::tempdir().unwrap();
    let fail = t.lab.undercloud_files().fail_file();
    struct Remove(PathBuf);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    std::fs::write(
        &fail,
        "overcloud.Controller.0: CREATE_FAILED: apex lab says no\n",
    )
    .unwrap();
    let _rm = Remove(fail.clone());
    let out = t.deploy(&["os-nosdn-nofeature-noha"], tmp.path(), None);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("stack failures list overcloud --long"),
        "{err}"
    );
    assert!(err.contains("CREATE_FAILED: apex lab says no"), "{err}");
    assert!(
        status(tmp.path()).contains("CREATE_FAILED"),
        "{}",
        status(tmp.path())
    );
    std::fs::remove_file(&fail).unwrap();
    t.deploy_ok(&["os-nosdn-nofeature-noha", "--resume"], tmp.path(), None);
}

#[test]
fn a_custom_plugin_adds_parameters_and_ships_an_env_file_that_reaches_the_undercloud() {
    let t = lab();
    let dir = tempfile::tempdir().unwrap();
    let lua = dir.path().join("lua");
    std::fs::create_dir_all(lua.join("plugins")).unwrap();
    std::fs::write(
        lua.join("plugins/my_sdn.lua"),
        r#"--- A custom SDN plugin: parameters, a resource-registry entry and an env file of its own.
local M = { description = "my SDN (test)", kind = "sdn" }
function M.env_params(ctx)
  return {
    parameter_defaults = { MySdnController = "192.0.2.5:6640" },
    resource_registry = { ["OS::TripleO::Services::MySdn"] = "/usr/share/openstack-tripleo-heat-templates/deployment/neutron/neutron-ovs-agent-container-puppet.yaml" },
    files = { ["my-sdn-env.yaml"] = "parameter_defaults:\n  MySdnMode: fast\n" },
  }
end
function M.env_files(ctx)
  return { { path = "my-sdn-env.yaml", reason = "my SDN's own env file", ["local"] = true } }
end
return M
"#,
    )
    .unwrap();
    let scenario = dir.path().join("my-lab.lua");
    std::fs::write(
        &scenario,
        "return { global_params = { ha_enabled = false }, deploy_options = { sdn_controller = \"my_sdn\", ceph = false } }\n",
    )
    .unwrap();
    let tmp = dir.path().join("tmp");
    let summary = t.deploy_ok(&[scenario.to_str().unwrap(), "--plan"], &tmp, Some(&lua));
    assert!(summary.contains("my-sdn-env.yaml"), "{summary}");
    let env = yaml(tmp.join("opnfv-environment.yaml"));
    assert_eq!(
        env["parameter_defaults"]["MySdnController"],
        "192.0.2.5:6640"
    );
    assert_eq!(
        env["resource_registry"]["OS::TripleO::Services::MySdn"],
        "/usr/share/openstack-tripleo-heat-templates/deployment/neutron/neutron-ovs-agent-container-puppet.yaml"
    );
    let shipped = read(tmp.join("my-sdn-env.yaml"));
    assert!(shipped.contains("MySdnMode: fast"), "{shipped}");
    t.deploy_ok(&[scenario.to_str().unwrap()], &tmp, Some(&lua));
    let uc = t.lab.undercloud_files();
    assert_eq!(read(uc.work_dir().join("my-sdn-env.yaml")), shipped);
    let calls = t.lab.openstack_calls().unwrap();
    let deploy = calls.iter().rev().find(|c| is_deploy(c)).unwrap();
    assert!(
        deploy
            .windows(2)
            .any(|w| w[0] == "-e" && w[1] == "my-sdn-env.yaml"),
        "{deploy:?}"
    );
}

/// Whether a process is alive (and not a zombie).
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(false)
}

#[test]
fn ctrl_c_stops_the_remote_deploy_and_resume_runs_it_once() {
    use std::os::unix::process::CommandExt as _;
    let t = lab();
    let uc = t.lab.undercloud_files();
    let (slow, started) = (uc.slow_file(), uc.slow_file().with_extension("started"));
    struct Remove(Vec<PathBuf>);
    impl Drop for Remove {
        fn drop(&mut self) {
            for p in &self.0 {
                let _ = std::fs::remove_file(p);
            }
        }
    }
    let _rm = Remove(vec![slow.clone(), started.clone()]);
    let _ = std::fs::remove_file(&started);
    std::fs::write(&slow, "120").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("tmp");
    let scenario = "os-nosdn-nofeature-noha";
    let start = |tmp: &Path| {
        Command::new(APEX)
            .env_remove("APEX_LUA_PATH")
            .args(["deploy", scenario, "-s"])
            .arg(t.lab.site_file())
            .arg("-n")
            .arg(t.lab.network_settings_file())
            .arg("--tmp-dir")
            .arg(tmp)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap()
    };
    let child = start(&tmp);
    let pgid = child.id() as i32;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !started.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the deploy command never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let remote: i32 = read(&started).trim().parse().unwrap();
    assert!(alive(remote));

    // A second deploy on the same undercloud, from another tmp dir and with
    // another work dir there (the lock is the SSH user's, not the work
    // dir's), is refused at its first upload while this one runs: no file
    // uploaded, no openstack command run inside the first's deploy; the
    // error names the holder in one line.
    let tmp2 = dir.path().join("tmp2");
    let work = uc.work_dir();
    let other_work = work.join("other-work-dir");
    let site = read(t.lab.site_file());
    assert!(site.contains("\n  work_dir: "), "{site}");
    let site2 = dir.path().join("site2.yaml");
    let lines: Vec<String> = site
        .lines()
        .map(|l| match l.starts_with("  work_dir: ") {
            true => format!("  work_dir: {:?}", other_work.display().to_string()),
            false => l.to_string(),
        })
        .collect();
    std::fs::write(&site2, lines.join("\n") + "\n").unwrap();
    let calls_before = t.lab.openstack_calls().unwrap().len();
    let second = t.deploy_on(&[scenario], &tmp2, None, &site2);
    assert!(!second.status.success());
    let err = text(&second.stderr);
    assert!(
        err.contains(&format!("is in use by another deploy (apex pid {pgid} on "))
            && err.contains(&format!("tmp dir {}", tmp.display())),
        "{err}"
    );
    assert!(!err.contains("stack traceback"), "{err}");
    assert_eq!(t.lab.openstack_calls().unwrap().len(), calls_before);
    assert!(
        std::fs::read_dir(&other_work).map_or(true, |d| d
            .filter_map(Result::ok)
            .all(|e| e.file_name().to_string_lossy().starts_with(".apex"))),
        "the second deploy uploaded into its work dir"
    );
    let st2 = state(&tmp2);
    assert_eq!(step(&st2, "upload")["status"], "failed", "{st2}");
    for later in ["upload_deploy_files", "image_upload", "prepare_undercloud"] {
        assert!(step(&st2, later).is_null(), "{later} ran: {st2}");
    }

    // Ctrl-C to the whole process group, as a terminal sends it.
    unsafe { libc::kill(-pgid, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("interrupted by SIGINT")
            && text(&out.stderr).contains("`apex deploy ... --resume` goes on"),
        "{}",
        text(&out.stderr)
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while alive(remote) {
        assert!(
            std::time::Instant::now() < deadline,
            "the remote deploy command {remote} still runs"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let st = state(&tmp);
    assert_eq!(step(&st, "run_deploy")["status"], "interrupted", "{st}");
    assert!(
        status(&tmp).contains("interrupted by SIGINT"),
        "{}",
        status(&tmp)
    );

    std::fs::remove_file(&slow).unwrap();
    let before = deploy_calls(&t);
    t.deploy_ok(&[scenario, "--resume"], &tmp, None);
    assert_eq!(
        deploy_calls(&t),
        before + 1,
        "exactly one deploy command on --resume"
    );
    assert_eq!(step(&state(&tmp), "run_deploy")["status"], "done");
}

#[test]
fn a_foreign_image_under_the_apex_tag_is_rebuilt_not_trusted() {
    let t = lab();
    let tmp = tempfile::tempdir().unwrap();
    let scenario = "os-odl-nofeature-noha";
    t.deploy_ok(&[scenario], tmp.path(), None);
    let local = t.lab.local().host();
    let repo = format!("{NS}/{PREFIX}opendaylight");
    let ours = t
        .digest(&local, &repo, "apex")
        .expect("the rebuilt ODL image");
    // Another deploy (another ODL version, another patch) rebuilt the tag:
    // here, keystone's manifest (its blobs mounted) under opendaylight:apex.
    let registry =
        apex::registry::Registry::new(&local, &apex::registry::RegistrySettings::default())
            .unwrap();
    let keystone = format!("{NS}/{PREFIX}keystone");
    let foreign =
        t.rt.block_on(registry.manifest(&keystone, "current-tripleo"))
            .unwrap()
            .expect("keystone in the local registry");
    let body: serde_json::Value = serde_json::from_slice(&foreign.bytes).unwrap();
    let mut blobs = vec![body["config"]["digest"].as_str().unwrap().to_string()];
    for l in body["layers"].as_array().unwrap() {
        blobs.push(l["digest"].as_str().unwrap().to_string());
    }
    for b in &blobs {
        t.rt.block_on(registry.mount_blob(&repo, b, &keystone))
            .unwrap();
    }
    t.rt.block_on(registry.put_manifest(&repo, "apex", &foreign))
        .unwrap();
    assert_eq!(
        t.digest(&local, &repo, "apex"),
        Some(foreign.digest.clone())
    );

    t.deploy_ok(&[scenario], tmp.path(), None);
    let now = t.digest(&local, &repo, "apex").unwrap();
    assert_ne!(
        now, foreign.digest,
        "the foreign image was kept and deployed"
    );
    let st = state(tmp.path());
    assert_eq!(
        step(&st, "rebuild/opendaylight")["outputs"]["digest"],
        now.as_str(),
        "{st}"
    );
    let version = t.cat_in_image(&format!("{local}/{repo}:apex"), "/opt/opendaylight/VERSION");
    assert!(
        version.contains("neon"),
        "{version:?} (the earlier digest was {ours})"
    );
}

#[test]
fn an_artifact_that_does_not_unpack_is_dropped_from_the_cache_and_fetched_again() {
    let t = lab();
    let dir = tempfile::tempdir().unwrap();
    // Its own cache, so the shared one keeps its good copies.
    let site = dir.path().join("site.yaml");
    let cache = dir.path().join("cache");
    let site_text = read(t.lab.site_file())
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("cache_dir:") {
                format!("  cache_dir: {:?}", cache.display().to_string())
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&site, site_text).unwrap();
    let served = t
        .lab
        .dir()
        .join("artifacts")
        .join("ironic-python-agent.tar");
    let good = std::fs::read(&served).unwrap();
    struct PutBack(PathBuf, Vec<u8>);
    impl Drop for PutBack {
        fn drop(&mut self) {
            std::fs::write(&self.0, &self.1).expect("put the lab's artifact back");
        }
    }
    let _back = PutBack(served.clone(), good.clone());
    // Cut short, as a server that stopped mid-body would leave it.
    std::fs::write(&served, &good[..good.len() / 2]).unwrap();
    let tmp = dir.path().join("tmp");
    let out = deploy_with_site("os-nosdn-nofeature-noha", false, &site, &tmp);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("does not unpack") && err.contains("removed from the cache"),
        "{err}"
    );
    assert!(
        !cache.join("ironic-python-agent.tar").exists(),
        "the broken copy stays cached"
    );
    std::fs::write(&served, &good).unwrap();
    let out = deploy_with_site("os-nosdn-nofeature-noha", false, &site, &tmp);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read(cache.join("ironic-python-agent.tar")).unwrap(),
        good
    );

    // The cached overcloud-full.tar corrupted in place where its stamp does
    // not show it (same size, and the record given the new stamp, as bit
    // rot would leave it): the fetch step cannot tell, and the image
    // customization, the next use, checks it as it unpacks it, fetches it
    // again and customizes the good copy.
    use std::io::{Seek as _, Write as _};
    let cached = cache.join("overcloud-full.tar");
    let intact = std::fs::read(&cached).unwrap();
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(&cached)
        .unwrap();
    f.seek(std::io::SeekFrom::Start(intact.len() as u64 / 2))
        .unwrap();
    f.write_all(b"bit rot").unwrap();
    drop(f);
    let record = cache.join(".overcloud-full.tar.apex-fetch.json");
    let mut meta: serde_json::Value = serde_json::from_str(&read(&record)).unwrap();
    meta["file"] = serde_json::to_value(apex::artifacts::FileStamp::of(&cached)).unwrap();
    std::fs::write(&record, meta.to_string()).unwrap();
    // The next use: the customization of a pristine image.
    std::fs::remove_file(tmp.join("images/overcloud-full.qcow2")).unwrap();
    let gets = |t: &TestLab| {
        t.lab
            .artifacts()
            .log()
            .into_iter()
            .filter(|r| r.path == "/overcloud-full.tar" && r.method == "GET")
            .collect::<Vec<_>>()
    };
    let before = gets(&t).len();
    let out = deploy_with_site("os-nosdn-nofeature-noha", false, &site, &tmp);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let after = gets(&t);
    // The fetch step's conditional GET, then the unconditional one.
    assert_eq!(after.len(), before + 2, "{:?}", &after[before..]);
    let refetch = &after[before + 1];
    assert_eq!(
        (
            refetch.status,
            refetch.if_none_match.as_deref(),
            refetch.if_modified_since.as_deref()
        ),
        (200, None, None),
        "{refetch:?}"
    );
    assert_eq!(std::fs::read(&cached).unwrap(), intact);
    let log = read(tmp.join("apex.log"));
    assert!(
        log.contains("not the")
            && log.contains("recorded when it was downloaded (it changed on disk)"),
        "{log}"
    );
    assert!(tmp.join("images/overcloud-full.qcow2").is_file());
}

#[test]
fn verify_images_repairs_a_blob_the_local_registry_lost() {
    let t = lab();
    let tmp = tempfile::tempdir().unwrap();
    let scenario = "os-nosdn-nofeature-noha";
    t.deploy_ok(&[scenario], tmp.path(), None);
    // A layer of keystone's image lost from the local registry's storage.
    let local = t.lab.local();
    let repo = format!("{NS}/{PREFIX}keystone");
    let registry =
        apex::registry::Registry::new(&local.host(), &apex::registry::RegistrySettings::default())
            .unwrap();
    let manifest =
        t.rt.block_on(registry.manifest(&repo, "current-tripleo"))
            .unwrap()
            .expect("keystone mirrored");
    let body: serde_json::Value = serde_json::from_slice(&manifest.bytes).unwrap();
    let layers = body["layers"].as_array().unwrap();
    let lost = layers.last().unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_string();
    local.lose_blob(&lost).unwrap();
    // A plain rerun trusts the tag; --verify-images finds the loss and repairs it.
    t.deploy_ok(&[scenario], tmp.path(), None);
    assert_eq!(
        step(&state(tmp.path()), "mirror_images")["outputs"]["repaired"],
        0
    );
    t.deploy_ok(&[scenario, "--verify-images"], tmp.path(), None);
    let st = state(tmp.path());
    assert_eq!(step(&st, "mirror_images")["outputs"]["repaired"], 1, "{st}");
    assert!(
        t.rt.block_on(registry.blob_exists(&repo, &lost)).unwrap(),
        "the lost layer is back"
    );
}

#[test]
fn verify_images_repairs_a_blob_a_rebuilt_image_lost() {
    let t = lab();
    let tmp = tempfile::tempdir().unwrap();
    let scenario = "os-odl-nofeature-noha";
    t.deploy_ok(&[scenario], tmp.path(), None);
    // The patch layer of the rebuilt ODL image lost from the local registry's storage.
    let local = t.lab.local();
    let repo = format!("{NS}/{PREFIX}opendaylight");
    let registry =
        apex::registry::Registry::new(&local.host(), &apex::registry::RegistrySettings::default())
            .unwrap();
    let manifest =
        t.rt.block_on(registry.manifest(&repo, "apex"))
            .unwrap()
            .expect("the rebuilt ODL image");
    let body: serde_json::Value = serde_json::from_slice(&manifest.bytes).unwrap();
    let lost = body["layers"].as_array().unwrap().last().unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        !t.manifest_blobs(&local.host(), &repo, "current-tripleo")
            .contains(&lost),
        "the last layer of the rebuild is its own, not its base's"
    );
    local.lose_blob(&lost).unwrap();
    t.deploy_ok(&[scenario, "--verify-images"], tmp.path(), None);
    let st = state(tmp.path());
    assert_eq!(
        step(&st, "rebuild_patched")["outputs"]["repaired"],
        1,
        "{st}"
    );
    let check =
        t.rt.block_on(apex::registry::missing_blobs(&registry, &repo, "apex", 4))
            .unwrap();
    assert!(check.missing.is_empty(), "{check:?}");
    assert_eq!(
        check.digest.as_deref(),
        step(&st, "rebuild/opendaylight")["outputs"]["digest"].as_str(),
        "{st}"
    );
}

#[test]
fn a_deploy_without_nodes_is_refused_before_anything_and_its_plan_says_so() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on port 1: a run that went on would fail there, not at the refusal.
    let site = dir.path().join("site.yaml");
    std::fs::write(
        &site,
        format!(
            "undercloud:\n  address: 127.0.0.1\n  port: 1\n  known_hosts: {kh}\n  persist: 0\n\
             artifacts:\n  url: http://127.0.0.1:1/\n  cache_dir: {cache}\n",
            kh = dir.path().join("known_hosts").display(),
            cache = dir.path().join("cache").display()
        ),
    )
    .unwrap();
    let tmp = dir.path().join("tmp");
    let out = deploy_with_site("os-nosdn-nofeature-ha", false, &site, &tmp);
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{}", text(&out.stdout));
    for want in [
        "refusing to deploy: no overcloud nodes",
        "-i inventory.yaml",
        "--virtual",
        "registered_nodes: true",
    ] {
        assert!(err.contains(want), "{want:?} not in:\n{err}");
    }
    assert!(!tmp.exists(), "the refused run made its tmp dir");
    assert!(!dir.path().join("cache").exists());

    // The plan still plans it, and says first what is missing.
    let out = deploy_with_site("os-nosdn-nofeature-ha", true, &site, &tmp);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout
            .lines()
            .next()
            .is_some_and(|l| l.starts_with("Not deployable as it is: no overcloud nodes")),
        "{stdout}"
    );
}

/// The lab's site with the overcloud stack followed every second and a
/// stack quiet for 2 s named possibly stuck.
fn watching_site(t: &TestLab, dir: &Path) -> PathBuf {
    let site = read(t.lab.site_file()).replace(
        "  registered_nodes: true\n",
        "  registered_nodes: true\n  progress_every: 1\n  stuck_after: 2\n",
    );
    assert!(site.contains("progress_every"), "{site}");
    let path = dir.join("site.yaml");
    std::fs::write(&path, site).unwrap();
    path
}

/// Registered nodes are counted before the deploy command; a slow deploy is
/// followed (progress lines, a quiet stack named possibly stuck, `apex
/// status` from another process); a post-deploy failure is resumed with only
/// what is left, and nothing is created twice.
#[test]
fn registered_nodes_are_counted_a_slow_deploy_is_followed_and_post_deploy_resumes() {
    let t = lab();
    let uc = t.lab.undercloud_files();
    struct Remove(Vec<PathBuf>);
    impl Drop for Remove {
        fn drop(&mut self) {
            for p in &self.0 {
                let _ = std::fs::remove_file(p);
            }
        }
    }
    let (nodes, fail, slow) = (
        uc.registered_nodes_file(),
        uc.fail_command_file(),
        uc.slow_file(),
    );
    let _rm = Remove(vec![nodes.clone(), fail.clone(), slow.clone()]);
    let _ = std::fs::remove_dir_all(uc.overcloud_dir());
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("tmp");
    let site = watching_site(&t, dir.path());
    let scenario = "os-nosdn-nofeature-noha";
    let command = |extra: &[&str]| {
        let mut cmd = Command::new(APEX);
        cmd.env_remove("APEX_LUA_PATH")
            .args(["deploy", scenario, "-s"])
            .arg(&site)
            .arg("-n")
            .arg(t.lab.network_settings_file())
            .arg("--tmp-dir")
            .arg(&tmp)
            .args(extra);
        cmd
    };
    let first = t.lab.openstack_calls().unwrap().len();

    // One node in ironic, two needed: refused before the deploy command.
    std::fs::write(&nodes, "1").unwrap();
    let deploys = deploy_calls(&t);
    let out = command(&[]).output().unwrap();
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("step 9 (registered_nodes) failed")
            && err.contains("holds 1 usable nodes (available or active, not in maintenance) of 1; the deploy needs 2"),
        "{err}"
    );
    assert_eq!(deploy_calls(&t), deploys, "the deploy command ran");

    // Enough nodes; a slow deploy (8 s: the stand-in's stack is quiet for its
    // second half), then the subnet create fails.
    std::fs::remove_file(&nodes).unwrap();
    std::fs::write(&slow, "8").unwrap();
    std::fs::write(&fail, "subnet create").unwrap();
    let child = command(&["--resume"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let progress = tmp.join("deploy_progress.json");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !progress.exists() {
        assert!(std::time::Instant::now() < deadline, "no progress written");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let seen = status(&tmp);
    assert!(
        seen.contains("overcloud stack: ")
            && seen.contains("resources complete")
            && seen.contains("deploy command running"),
        "apex status while the deploy runs:\n{seen}"
    );
    let out = child.wait_with_output().unwrap();
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("step 10 (external_network) failed")
            && err.contains("failing on request of the lab"),
        "{err}"
    );
    let log = read(tmp.join("apex.log"));
    // Lines as the stack moves: several counts on the way (polled every second).
    let counts: BTreeSet<&str> = err
        .lines()
        .filter_map(|l| l.split("overcloud stack: ").nth(1))
        .filter_map(|l| l.split(' ').next())
        .collect();
    assert!(counts.len() >= 3, "{counts:?}\n{err}");
    for want in [
        "overcloud stack: 6/7 resources complete",
        "possibly stuck: ComputeDeployment_Step5",
    ] {
        assert!(err.contains(want), "{want:?} not on the console:\n{err}");
        assert!(log.contains(want), "{want:?} not in apex.log");
    }
    assert!(uc.overcloud_dir().join("network/external").exists());
    assert!(!uc.overcloud_dir().join("subnet/external-subnet").exists());

    // --resume: only what is left of post-deploy; the network is not made again.
    std::fs::remove_file(&fail).unwrap();
    std::fs::remove_file(&slow).unwrap();
    let before = t.lab.openstack_calls().unwrap().len();
    let out = command(&["--resume"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        subcommands(&t, before),
        [
            "network show external",
            "subnet show external-subnet",
            "subnet create external-subnet",
            "project list",
            "endpoint list",
        ]
    );
    let rc = read(tmp.join("overcloudrc"));
    assert!(rc.contains("export OS_REGION_NAME=regionOne\n"), "{rc}");
    assert!(!rc.contains("SDN_CONTROLLER"), "no SDN controller: {rc}");

    // A plain rerun with nothing changed: no openstack command at all.
    let before = t.lab.openstack_calls().unwrap().len();
    let out = command(&[]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(subcommands(&t, before), Vec::<String>::new());
    let creates = subcommands(&t, first)
        .iter()
        .filter(|c| c.starts_with("network create") || c.starts_with("subnet create"))
        .count();
    assert_eq!(creates, 3, "network once, subnet failed once and made once");
}

/// Post-deploy on the overcloud nodes (lab nodes: sshd on 127.0.2.x behind
/// the undercloud): the jump host's key added from the undercloud, the
/// per-node tasks by role through the undercloud, a failing node named with
/// its task and output, every syslog fetched, `--resume` finishing, and a
/// node whose host key changed refused.
#[test]
fn post_deploy_runs_on_the_nodes_through_the_undercloud_and_names_a_failing_node() {
    let t = lab();
    let (controller, compute) = ("overcloud-controller-0", "overcloud-novacompute-0");
    let mut nodes = t.lab.overcloud_nodes(&[controller, compute]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("tmp");
    // Queens, which has congress (Stein dropped it): the site names the lab's Queens THT.
    let uc = t.lab.undercloud_files();
    let site = dir.path().join("site.yaml");
    std::fs::write(
        &site,
        format!(
            "{}overcloud:\n  user: {}\n  ssh_port: {}\n  parallel: 2\n",
            read(t.lab.site_file()).replace(
                &format!("tht_dir: \"{}\"", uc.tht_dir().display()),
                &format!(
                    "tht_dir: \"{}\"",
                    uc.tht_dir_of("queens").unwrap().display()
                ),
            ),
            nodes.user(),
            nodes.port()
        ),
    )
    .unwrap();
    assert!(
        read(&site).contains("tht-queens"),
        "the site names the Queens THT"
    );
    // OpenDaylight without HA, with congress on: its datasources too.
    let settings = dir.path().join("odl_congress.yaml");
    std::fs::write(
        &settings,
        "global_params:\n  ha_enabled: false\ndeploy_options:\n  containers: true\n  os_version: queens\n  \
         sdn_controller: opendaylight\n  odl_version: oxygen\n  congress: true\n",
    )
    .unwrap();
    let _ = std::fs::remove_dir_all(t.lab.undercloud_files().overcloud_dir());
    let deploy = |extra: &[&str]| {
        Command::new(APEX)
            .env_remove("APEX_LUA_PATH")
            .arg("deploy")
            .arg("-d")
            .arg(&settings)
            .arg("-s")
            .arg(&site)
            .arg("-n")
            .arg(t.lab.network_settings_file())
            .arg("--tmp-dir")
            .arg(&tmp)
            .args(extra)
            .output()
            .unwrap()
    };
    std::fs::write(nodes.fail_file(compute), "docker restart nova_compute").unwrap();
    let out = deploy(&[]);
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(
            "step 10 (overcloud_nodes) failed: post-deploy failed on 1 of 2 overcloud nodes"
        ) && err.contains(&format!(
            "node {compute} (127.0.2.2), task \"restart nova_compute (NFS workaround)\""
        )) && err.contains("failing on request"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "node {controller}: ODL container restart policy always: ok"
        )),
        "one line per node and task:\n{err}"
    );
    let words = |name: &str| -> Vec<String> {
        nodes
            .calls(name)
            .unwrap()
            .iter()
            .filter(|c| c[0] != "sudo")
            .map(|c| c.join(" "))
            .collect()
    };
    assert_eq!(
        words(controller),
        [
            "docker update --restart=always opendaylight_api",
            "iptables -C INPUT -p tcp --dport 8101 -j ACCEPT",
            "service iptables save",
            "hiera -c /etc/puppet/hiera.yaml nova_metadata_vip",
            "crudini --set /var/lib/config-data/puppet-generated/neutron/etc/neutron/metadata_agent.ini \
             DEFAULT nova_metadata_host 192.0.2.7",
            "docker restart neutron_metadata_agent",
            "tail -c 67108864 /var/log/messages",
        ]
    );
    assert_eq!(
        words(compute),
        [
            "docker restart nova_compute",
            "tail -c 67108864 /var/log/messages"
        ]
    );
    let jump_key = read(PathBuf::from(
        read(t.lab.site_file())
            .lines()
            .find_map(|l| l.strip_prefix("  key: "))
            .unwrap()
            .trim_matches('"')
            .to_string()
            + ".pub",
    ));
    for name in [controller, compute] {
        assert_eq!(
            read(tmp.join(format!("overcloud_logs/{name}.messages"))),
            read(nodes.messages(name)),
            "{name}'s syslog"
        );
        assert!(
            nodes
                .authorized_keys(name)
                .unwrap()
                .contains(jump_key.trim()),
            "{name}: the jump host's key"
        );
    }
    // Congress: Apex's six datasources; no password of the overcloud in the log.
    let mut sources: Vec<String> =
        std::fs::read_dir(t.lab.undercloud_files().overcloud_dir().join("datasource"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
    sources.sort();
    assert_eq!(
        sources,
        [
            "cinder",
            "doctor",
            "glancev2",
            "keystone",
            "neutronv2",
            "nova"
        ]
    );
    let nova = t
        .lab
        .openstack_calls()
        .unwrap()
        .into_iter()
        .rev()
        .find(|c| c.get(3).is_some_and(|a| a == "create") && c.get(4).is_some_and(|a| a == "nova"))
        .unwrap();
    assert!(
        nova.join(" ").contains(
            "--config password=lab-admin-secret --config auth_url=http://127.0.0.1:13000/v3"
        ) && nova.join(" ").contains("--config api_version=2.34"),
        "{nova:?}"
    );
    let log = read(tmp.join("apex.log"));
    let leaks: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("lab-admin-secret") || l.contains("lab-odl-secret"))
        .collect();
    assert!(
        leaks.is_empty(),
        "an overcloud password in apex.log: {leaks:#?}"
    );
    let known = read(tmp.join("overcloud_ssh/known_hosts"));
    assert!(
        known.contains("127.0.2.1") && known.contains("127.0.2.2"),
        "host keys recorded on first contact:\n{known}"
    );

    // --resume: what is left; the key is not added twice.
    std::fs::remove_file(nodes.fail_file(compute)).unwrap();
    let out = deploy(&["--resume"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        words(compute)
            .iter()
            .filter(|w| *w == "docker restart nova_compute")
            .count(),
        2
    );
    assert_eq!(
        nodes
            .authorized_keys(compute)
            .unwrap()
            .matches(jump_key.trim())
            .count(),
        1
    );

    // A node with another host key than recorded is refused.
    nodes.rotate_host_key(controller).unwrap();
    let out = deploy(&["--redeploy"]);
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(&format!("node {controller} (127.0.2.1)"))
            && err.to_lowercase().contains("host key"),
        "{err}"
    );
}

/// Puts a THT file the test moved aside back, even when the test fails.
struct Restore(PathBuf, PathBuf);
impl Drop for Restore {
    fn drop(&mut self) {
        let _ = std::fs::rename(&self.1, &self.0);
    }
}

#[test]
fn the_preflight_stops_a_deploy_whose_file_or_image_the_undercloud_lacks() {
    let t = lab();
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("tmp");
    let scenario = "os-nosdn-nofeature-noha";
    let uc = t.lab.undercloud_files();
    let tht = uc.tht_dir();
    let storage_env = tht.join("environments/storage-environment.yaml");
    let no_deploy = |before: usize| {
        let subs = subcommands(&t, before);
        assert!(
            !subs
                .iter()
                .any(|s| s.starts_with("overcloud node") || s.starts_with("overcloud deploy")),
            "nothing is deployed after a failed preflight: {subs:?}"
        );
    };

    // An image the storage env file names that the local registry lacks.
    let over = dir.path().join("lua");
    std::fs::create_dir_all(over.join("plugins")).unwrap();
    let ceph = read(concat!(env!("CARGO_MANIFEST_DIR"), "/plugins/ceph.lua")).replace(
        "pd.DockerCephDaemonImage = env.ceph_image",
        "pd.DockerCephDaemonImage = env.ceph_image .. \"-missing\"",
    );
    assert!(ceph.contains("-missing"));
    std::fs::write(over.join("plugins/ceph.lua"), ceph).unwrap();
    let before = t.lab.openstack_calls().unwrap().len();
    let out = t.deploy(&[scenario], &tmp, Some(&over));
    let err = text(&out.stderr);
    assert!(!out.status.success(), "a missing image deployed");
    let image = format!("{}/{CEPH}-missing", t.lab.local().host());
    assert!(
        err.contains("preflight on the undercloud")
            && err.contains(&format!(
                "image {image}: not in the local registry (named by {}: DockerCephDaemonImage)",
                storage_env.display()
            )),
        "{err}"
    );
    no_deploy(before);

    // A template the release's storage env file maps a Ceph service to, gone from THT.
    let mon = tht.join("deployment/ceph-ansible/ceph-mon.yaml");
    let aside = tht.join("deployment/ceph-ansible/ceph-mon.yaml.aside");
    std::fs::rename(&mon, &aside).unwrap();
    let restore = Restore(mon.clone(), aside);
    let before = t.lab.openstack_calls().unwrap().len();
    let out = t.deploy(&[scenario], &tmp, None);
    let err = text(&out.stderr);
    assert!(!out.status.success(), "a missing THT file deployed");
    assert!(
        err.contains(&format!(
            "{}: not found (resource_registry of {} (ceph: true (device /dev/loop3)): OS::TripleO::Services::CephMon)",
            mon.display(),
            storage_env.display()
        )),
        "{err}"
    );
    no_deploy(before);
    drop(restore);

    // A service the undercloud's roles_data.yaml adds (a site's own roles),
    // which the resource registry enables: its image was not mirrored.
    let roles = uc.tht_dir().join("roles_data.yaml");
    let original = read(&roles);
    let line = original
        .lines()
        .find(|l| l.trim_start() == "- OS::TripleO::Services::Keystone")
        .expect("Keystone in roles_data.yaml")
        .to_string();
    let extra = line.replace("Keystone", "CeilometerAgentIpmi");
    std::fs::write(
        &roles,
        original.replacen(&line, &format!("{line}\n{extra}"), 1),
    )
    .unwrap();
    struct PutBack(PathBuf, String);
    impl Drop for PutBack {
        fn drop(&mut self) {
            let _ = std::fs::write(&self.0, &self.1);
        }
    }
    let put_back = PutBack(roles.clone(), original);
    let before = t.lab.openstack_calls().unwrap().len();
    let out = t.deploy(&[scenario], &tmp, None);
    let err = text(&out.stderr);
    assert!(
        !out.status.success(),
        "a service without its image deployed"
    );
    assert!(
        err.contains(&format!(
            "service OS::TripleO::Services::CeilometerAgentIpmi (role Controller, enabled in {}) uses image \
             centos-binary-ceilometer-ipmi, which apex did not mirror",
            tht.display()
        )) && err.contains("registries.mirror_all"),
        "{err}"
    );
    no_deploy(before);
    drop(put_back);

    // The undercloud's neutron-ovs.yaml leaves OVNController on (Stein's
    // default registry enables it): only the OVN images serve it, which a
    // deploy without OVN never mirrors.
    let ovs = tht.join("environments/services/neutron-ovs.yaml");
    let original = read(&ovs);
    let off = "  OS::TripleO::Services::OVNController: OS::Heat::None\n";
    assert!(original.contains(off), "{original}");
    std::fs::write(&ovs, original.replace(off, "")).unwrap();
    let put_back = PutBack(ovs.clone(), original);
    let before = t.lab.openstack_calls().unwrap().len();
    let out = t.deploy(&[scenario], &tmp, None);
    let err = text(&out.stderr);
    assert!(!out.status.success(), "an OVN service without OVN deployed");
    assert!(
        err.contains(&format!(
            "service OS::TripleO::Services::OVNController (role Controller, enabled in {}) uses image \
             centos-binary-ovn-controller, which is in the image list of neutron driver ovn only, not of this \
             deploy's (default)",
            tht.display()
        )),
        "{err}"
    );
    no_deploy(before);
    drop(put_back);

    // All there: the preflight passes, well under a second, and the deploy runs.
    t.deploy_ok(&[scenario], &tmp, None);
    let st = state(&tmp);
    let pre = &last_run(&st)["steps"]["preflight"];
    let secs = pre["seconds"].as_f64().unwrap_or_else(|| panic!("{st}"));
    // Well under a second on an idle machine (0.4 s at a load of 15 on 2 cores); the bound leaves room.
    assert!(secs < 2.0, "the preflight took {secs}s");
    // Every image the env files name: the mirrored ones and the Ceph daemon.
    assert_eq!(
        step(&st, "preflight")["outputs"]["images_checked"],
        copy_list(&tmp).len(),
        "{st}"
    );
    assert!(
        step(&st, "preflight")["outputs"]["files_checked"]
            .as_u64()
            .unwrap()
            > 20,
        "{st}"
    );
}
