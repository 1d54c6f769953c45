//! The container flow in plan mode, end to end: the built `apex` binary runs
//! every shipped scenario with `--plan` and the artifacts are checked; patches
//! come from a Gerrit-style REST endpoint this test serves on loopback (real
//! HTTP) and from a local diff file, against a real registry (Debian's
//! docker-registry on loopback) as the source of the image catalog; a --lua-path override changes the plan;
//! bad input fails cleanly with nothing written. The Lua unit tests of the
//! stdlib and plugins (tests/lua/*_test.lua) run here too, through `apex run`.

#[path = "common/output.rs"]
mod output;
use output::{read, text, yaml};

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine as _;

const APEX: &str = env!("CARGO_BIN_EXE_apex");

const SCENARIOS: &[&str] = &[
    "os-nosdn-nofeature-ha",
    "os-nosdn-nofeature-noha",
    "os-odl-nofeature-ha",
    "os-odl-nofeature-noha",
    "os-odl-sfc-ha",
    "os-odl-bgpvpn-ha",
    "os-odl-queens-ha",
    "os-ovn-nofeature-ha",
    "os-nosdn-ovs_dpdk-ha",
    "os-nosdn-fdio-ha",
];

const ENV: &str = "/usr/share/openstack-tripleo-heat-templates/environments/";

/// Images each shipped scenario mirrors (the services of its deploy, its
/// patched and plugin-named images) of its release's list for its driver.
const MIRRORED: &[(&str, usize, usize)] = &[
    ("os-nosdn-nofeature-ha", 43, 99),
    ("os-nosdn-nofeature-noha", 44, 99),
    ("os-odl-nofeature-ha", 42, 100),
    ("os-odl-nofeature-noha", 43, 100),
    ("os-odl-sfc-ha", 42, 100),
    ("os-odl-bgpvpn-ha", 42, 100),
    ("os-odl-queens-ha", 40, 85),
    ("os-ovn-nofeature-ha", 44, 104),
    ("os-nosdn-ovs_dpdk-ha", 43, 99),
    ("os-nosdn-fdio-ha", 43, 99),
];

fn apex(args: &[&str]) -> Output {
    Command::new(APEX)
        .args(args)
        .env_remove("APEX_LUA_PATH")
        .output()
        .expect("run apex")
}

/// Runs a plan and fails with its output when it does not succeed.
fn plan(args: &[&str], tmp: &Path) -> String {
    let mut all: Vec<&str> = vec!["deploy", "--plan", "--tmp-dir", tmp.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = apex(&all);
    assert!(
        out.status.success(),
        "apex {all:?} failed:\nstdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// The `-e` files of a deploy command, in order.
fn env_files(cmd: &str) -> Vec<String> {
    let words: Vec<&str> = cmd.split_whitespace().collect();
    words
        .windows(2)
        .filter(|w| w[0] == "-e")
        .map(|w| w[1].to_string())
        .collect()
}

fn flag<'a>(cmd: &'a str, name: &str) -> &'a str {
    let words: Vec<&str> = cmd.split_whitespace().collect();
    let i = words
        .iter()
        .position(|w| *w == name)
        .unwrap_or_else(|| panic!("{name} missing in {cmd}"));
    words[i + 1]
}

fn param(env: &serde_json::Value, name: &str) -> String {
    env["parameter_defaults"][name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in image env"))
        .to_string()
}

#[test]
fn every_shipped_scenario_plans_with_the_contract_artifacts() {
    let root = tempfile::tempdir().unwrap();
    for name in SCENARIOS {
        let tmp = root.path().join(name);
        let summary = plan(&[name], &tmp);
        let ha = name.ends_with("-ha");
        let odl = name.contains("-odl-");
        let cmd = read(tmp.join("deploy_command"));
        let files = env_files(&cmd);

        // Order: network env, docker.yaml, docker-ha.yaml (HA), operator env, image env, SDN, features, storage, virtual.
        let mut want = vec![
            "network-environment.yaml".to_string(),
            format!("{ENV}docker.yaml"),
        ];
        if ha {
            want.push(format!("{ENV}docker-ha.yaml"));
        }
        want.push("opnfv-environment.yaml".into());
        want.push("docker-images.yaml".into());
        // Master deploys Stein's THT, which defaults to OVN: ML2/OVS first
        // for every SDN but OVN.
        if !name.contains("-queens-") && !name.contains("-ovn-") {
            want.push(format!("{ENV}services/neutron-ovs.yaml"));
        }
        if odl {
            want.push(format!("{ENV}services/neutron-opendaylight.yaml"));
        }
        if name.contains("-sfc-") {
            want.push(format!("{ENV}services/neutron-sfc-opendaylight.yaml"));
        }
        if name.contains("-bgpvpn-") {
            want.push(format!("{ENV}services/neutron-bgpvpn-opendaylight.yaml"));
        }
        if name.contains("-ovn-") {
            want.push(format!("{ENV}services/neutron-ovn-ha.yaml"));
        }
        if name.contains("ovs_dpdk") {
            want.push(format!("{ENV}neutron-ovs-dpdk.yaml"));
        }
        if name.contains("-fdio-") {
            want.push(format!("{ENV}neutron-ml2-vpp.yaml"));
        }
        if name.contains("ovs_dpdk") || name.contains("-fdio-") {
            want.push(format!("{ENV}services/tacker.yaml"));
        }
        want.push(format!("{ENV}storage-environment.yaml"));
        want.push("virtual-environment.yaml".into());
        assert_eq!(files, want, "{name}: env files of {cmd}");

        assert!(
            cmd.starts_with("openstack overcloud deploy --templates"),
            "{name}: {cmd}"
        );
        assert_eq!(
            flag(&cmd, "--control-scale"),
            if ha { "3" } else { "1" },
            "{name}"
        );
        // Apex's virtual defaults: one compute, two with HA.
        assert_eq!(
            flag(&cmd, "--compute-scale"),
            if ha { "2" } else { "1" },
            "{name}"
        );
        assert_eq!(
            flag(&cmd, "--ntp-server"),
            "0.pool.ntp.org",
            "{name}: NTP from the shipped network settings"
        );
        assert!(
            ["kvm", "qemu"].contains(&flag(&cmd, "--libvirt-type")),
            "{name}"
        );

        let ns = if name.contains("queens") {
            "tripleoqueens"
        } else {
            "tripleomaster"
        };
        let env = yaml(tmp.join("docker-images.yaml"));
        let reg = format!("192.0.2.1:8787/{ns}/centos-binary-");
        assert_eq!(
            param(&env, "DockerNovaApiImage"),
            format!("{reg}nova-api:current-tripleo"),
            "{name}"
        );
        assert_eq!(
            param(&env, "DockerCephDaemonImage"),
            "192.0.2.1:8787/ceph/daemon:v3.1.0-stable-3.1-luminous-centos-7-x86_64",
            "{name}"
        );
        assert_eq!(
            env["parameter_defaults"]["DockerInsecureRegistryAddress"][0], "192.0.2.1:8787",
            "{name}"
        );
        let neutron = param(&env, "DockerNeutronApiImage");
        // Only an undercloud apex installs reads TripleO's prepare file.
        assert!(
            !tmp.join("containers-prepare-parameter.yaml").exists(),
            "{name}: containers-prepare-parameter.yaml written for an existing undercloud"
        );
        let list = yaml(tmp.join("image_list.yaml"));
        let copies = list["copy"].as_array().unwrap();
        assert!(
            copies.iter().any(|c| c["from"]
                == format!("docker.io/{ns}/centos-binary-keystone:current-tripleo")
                && c["to"] == format!("{reg}keystone:current-tripleo")),
            "{name}: keystone copy"
        );
        assert!(
            !copies
                .iter()
                .any(|c| c["name"].as_str().unwrap_or("").is_empty()),
            "{name}: nameless image copied"
        );
        // Only the images of the deploy's services (and the patched ones).
        let (_, mirrored, total) = MIRRORED.iter().find(|m| m.0 == *name).unwrap();
        assert!(
            summary.contains(&format!(
                "mirror: {mirrored} of {total} images (services of the deploy; site registries.mirror_all for all)"
            )),
            "{name}: summary\n{summary}"
        );
        assert_eq!(copies.len(), mirrored + 1, "{name}: the images and Ceph's");
        let why = list["why"].as_object().unwrap();
        assert_eq!(why.len(), *mirrored, "{name}");
        assert_eq!(
            why["keystone"], "service OS::TripleO::Services::Keystone",
            "{name}"
        );
        for unused in ["zaqar-wsgi", "designate-api", "manila-api", "sahara-api"] {
            assert!(!why.contains_key(unused), "{name}: {unused} mirrored");
            assert!(
                !read(tmp.join("docker-images.yaml")).contains(&format!("centos-binary-{unused}:")),
                "{name}: {unused} in the image env file"
            );
        }
        if odl {
            assert_eq!(why["opendaylight"], "patched", "{name}");
        }
        // Neutron as the SDN wants it: the agents of ML2/OVS, no OVN service
        // but with OVN (Stein's THT enables them unless told otherwise).
        let has = |img: &str| why.contains_key(img);
        if name.contains("-ovn-") {
            assert!(
                has("ovn-controller") && !has("neutron-l3-agent"),
                "{name}: {why:?}"
            );
        } else {
            assert!(
                !why.keys()
                    .any(|k| k.starts_with("ovn-") || k.ends_with("-ovn")),
                "{name}: OVN images mirrored: {why:?}"
            );
            assert!(
                has("neutron-dhcp-agent") && has("neutron-metadata-agent"),
                "{name}: {why:?}"
            );
            assert_eq!(has("neutron-l3-agent"), !odl, "{name}: {why:?}");
            assert_eq!(
                has("neutron-openvswitch-agent"),
                !odl && !name.contains("-fdio-"),
                "{name}: {why:?}"
            );
        }

        // Lists stay lists when empty (nosdn patches nothing, customizes nothing).
        let manifest: serde_json::Value =
            serde_json::from_str(&read(tmp.join("plan.json"))).unwrap();
        for key in [
            "patched_images",
            "skipped_patches",
            "notes",
            "plugins",
            "env_files",
            "actions",
            "files",
        ] {
            assert!(
                manifest[key].is_array(),
                "{name}: plan.json {key} is not a list: {}",
                manifest[key]
            );
        }
        assert!(
            yaml(tmp.join("image_builds.yaml"))["builds"].is_array(),
            "{name}: image_builds.yaml builds"
        );
        assert!(
            yaml(tmp.join("overcloud_customize.yaml"))["steps"].is_array(),
            "{name}: overcloud_customize.yaml steps"
        );

        if odl {
            let df = read(tmp.join("containers/opendaylight/Dockerfile"));
            let release = if name.contains("queens") {
                "oxygen"
            } else {
                "neon"
            };
            assert!(
                df.starts_with(&format!("FROM {reg}opendaylight:current-tripleo\n")),
                "{name}: {df}"
            );
            for line in [
                "USER root",
                "RUN yum -y remove opendaylight",
                "RUN yum -y install opendaylight",
                "USER $REAL_USER",
            ] {
                assert!(
                    df.lines().any(|l| l == line),
                    "{name}: {line} missing in\n{df}"
                );
            }
            assert!(
                df.contains(&format!("opendaylight-{release}-epel-7-x86_64-devel/")),
                "{name}: release {release}\n{df}"
            );
            assert_eq!(
                param(&env, "DockerOpendaylightApiImage"),
                format!("{reg}opendaylight:apex"),
                "{name}"
            );
            assert_eq!(
                neutron,
                format!("{reg}neutron-server-opendaylight:current-tripleo"),
                "{name}"
            );
            assert!(
                summary.contains("opendaylight: OpenDaylight"),
                "{name}: summary\n{summary}"
            );
        } else {
            assert!(!tmp.join("containers/opendaylight").exists(), "{name}");
            assert!(
                env["parameter_defaults"]
                    .get("DockerOpendaylightApiImage")
                    .is_none(),
                "{name}"
            );
        }
        if name.contains("-ovn-") {
            assert_eq!(
                neutron,
                format!("{reg}neutron-server-ovn:current-tripleo"),
                "{name}"
            );
            assert_eq!(
                param(&env, "DockerOvnControllerImage"),
                format!("{reg}ovn-controller:current-tripleo")
            );
        } else if !odl {
            assert_eq!(
                neutron,
                format!("{reg}neutron-server:current-tripleo"),
                "{name}"
            );
            assert!(
                env["parameter_defaults"]
                    .get("DockerOvnControllerImage")
                    .is_none(),
                "{name}"
            );
        }
        assert!(
            tmp.join("apex-loop3.service").is_file(),
            "{name}: loop device unit (no ceph_device given)"
        );
        assert!(
            summary.contains("Env files") && summary.contains("[step 8] copy"),
            "{name}: summary\n{summary}"
        );
        assert!(tmp.join("plan.json").is_file(), "{name}: manifest");
    }
}

// ---------------------------------------------------------------------------
// A Gerrit-style REST endpoint served on loopback, and a real registry.

struct Server {
    url: String,
    /// The `User-Agent` of each request ("" without one).
    agents: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

/// Serves fixed GET routes (path+query -> status, body) on 127.0.0.1 until the process ends.
fn serve(routes: BTreeMap<String, (u16, String)>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let agents = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = agents.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (routes, seen) = (routes.clone(), seen.clone());
            std::thread::spawn(move || answer(stream, &routes, &seen));
        }
    });
    Server { url, agents }
}

fn answer(
    mut stream: TcpStream,
    routes: &BTreeMap<String, (u16, String)>,
    agents: &std::sync::Mutex<Vec<String>>,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let target = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut agent = String::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((name, value)) = h.split_once(':')
            && name.eq_ignore_ascii_case("user-agent")
        {
            agent = value.trim().to_string();
        }
    }
    agents.lock().unwrap().push(agent);
    let (status, body) = routes
        .get(&target)
        .cloned()
        .unwrap_or((404, "not found".into()));
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

const NOVA_DIFF: &str = "--- a/nova/api.py\n+++ b/nova/api.py\n@@ -1 +1 @@\n-old\n+new\n";
const PUPPET_DIFF: &str = "--- a/manifests/init.pp\n+++ b/manifests/init.pp\n@@ -1 +1 @@\n-a\n+b\n";

fn change(id: &str, status: &str, submitted: Option<&str>) -> String {
    let sub = submitted
        .map(|s| format!(", \"submitted\": \"{s}\""))
        .unwrap_or_default();
    format!(
        ")]}}'\n{{\"change_id\": \"{id}\", \"status\": \"{status}\", \"current_revision\": \"rev{id}\"{sub}}}"
    )
}

fn gerrit() -> Server {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let mut r = BTreeMap::new();
    let c =
        |project: &str, id: &str| format!("/changes/{}~master~{id}", project.replace('/', "%2F"));
    r.insert(
        format!(
            "{}?o=CURRENT_REVISION",
            c(
                "openstack/nova",
                "I1111111111111111111111111111111111111111"
            )
        ),
        (
            200,
            change("I1111111111111111111111111111111111111111", "NEW", None),
        ),
    );
    r.insert(
        format!(
            "{}/revisions/revI1111111111111111111111111111111111111111/patch",
            c(
                "openstack/nova",
                "I1111111111111111111111111111111111111111"
            )
        ),
        (200, b64(NOVA_DIFF)),
    );
    r.insert(
        format!(
            "{}?o=CURRENT_REVISION",
            c(
                "openstack/neutron",
                "I2222222222222222222222222222222222222222"
            )
        ),
        (
            200,
            change(
                "I2222222222222222222222222222222222222222",
                "MERGED",
                Some("2019-01-01 10:00:00.000000000"),
            ),
        ),
    );
    r.insert(
        format!(
            "{}/revisions/revI2222222222222222222222222222222222222222/patch",
            c(
                "openstack/neutron",
                "I2222222222222222222222222222222222222222"
            )
        ),
        (200, b64(NOVA_DIFF)),
    );
    r.insert(
        format!(
            "{}?o=CURRENT_REVISION",
            c(
                "openstack/puppet-tripleo",
                "I3333333333333333333333333333333333333333"
            )
        ),
        (
            200,
            change("I3333333333333333333333333333333333333333", "NEW", None),
        ),
    );
    r.insert(
        format!(
            "{}/revisions/revI3333333333333333333333333333333333333333/patch",
            c(
                "openstack/puppet-tripleo",
                "I3333333333333333333333333333333333333333"
            )
        ),
        (200, b64(PUPPET_DIFF)),
    );
    serve(r)
}

/// A real registry (Debian's docker-registry) on a loopback port, with images
/// pushed through the distribution API (config blob + manifest, no layers).
struct Registry {
    url: String,
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl Registry {
    fn start() -> Registry {
        let bin = "/usr/bin/docker-registry";
        assert!(
            Path::new(bin).is_file(),
            "lab part missing: {bin} (Debian package docker-registry, see tests/lab/install.sh)"
        );
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cfg = write(
            dir.path(),
            "config.yml",
            &format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
                dir.path().join("data").display()
            ),
        );
        let child = Command::new(bin)
            .arg("serve")
            .arg(&cfg)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start docker-registry");
        let url = format!("http://127.0.0.1:{port}");
        let reg = Registry {
            url,
            child,
            _dir: dir,
        };
        for _ in 0..100 {
            if curl(&[
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                &format!("{}/v2/", reg.url),
            ]) == "200"
            {
                return reg;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("docker-registry did not answer on {}", reg.url);
    }

    /// Pushes an image whose config says it was created at `created`.
    fn push(&self, repo: &str, created: &str) {
        use sha2::Digest as _;
        let config = format!(
            "{{\"created\":\"{created}\",\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[]}}}}"
        );
        let digest = format!(
            "sha256:{}",
            hex::encode(sha2::Sha256::digest(config.as_bytes()))
        );
        let headers = curl(&[
            "-s",
            "-D",
            "-",
            "-o",
            "/dev/null",
            "-X",
            "POST",
            &format!("{}/v2/{repo}/blobs/uploads/", self.url),
        ]);
        let location = headers
            .lines()
            .find_map(|l| {
                l.strip_prefix("Location: ")
                    .or_else(|| l.strip_prefix("location: "))
            })
            .unwrap_or_else(|| panic!("no upload location: {headers}"))
            .trim()
            .to_string();
        let sep = if location.contains('?') { '&' } else { '?' };
        let put = format!("{location}{sep}digest={digest}");
        let code = curl_put("application/octet-stream", &config, &put);
        assert_eq!(code, "201", "push config blob of {repo} to {put}");
        let manifest = format!(
            "{{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"config\":{{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"size\":{},\"digest\":\"{digest}\"}},\"layers\":[]}}",
            config.len()
        );
        let code = curl_put(
            "application/vnd.docker.distribution.manifest.v2+json",
            &manifest,
            &format!("{}/v2/{repo}/manifests/current-tripleo", self.url),
        );
        assert_eq!(code, "201", "push manifest of {repo}");
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs curl (a lab package) and returns its stdout.
fn curl(args: &[&str]) -> String {
    let out = Command::new("curl")
        .args(args)
        .output()
        .expect("curl (lab package) missing");
    text(&out.stdout)
}

/// PUTs `body` as `content_type` to `url`; the HTTP status code.
fn curl_put(content_type: &str, body: &str, url: &str) -> String {
    let header = format!("Content-Type: {content_type}");
    curl(&[
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-X",
        "PUT",
        "-H",
        &header,
        "--data-binary",
        body,
        url,
    ])
}

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, content).unwrap();
    p
}

#[test]
fn patches_from_gerrit_and_a_local_diff_build_one_dockerfile_per_image() {
    let server = gerrit();
    let registry = Registry::start();
    // The source registry's images; the ODL neutron image was built in June 2019, after I2222222222222222222222222222222222222222 merged.
    for name in [
        "nova-api",
        "nova-compute",
        "nova-conductor",
        "novajoin-server",
        "neutron-server",
        "keystone",
        "opendaylight",
    ] {
        registry.push(
            &format!("tripleomaster/centos-binary-{name}"),
            "2019-03-01T00:00:00Z",
        );
    }
    registry.push(
        "tripleomaster/centos-binary-neutron-server-opendaylight",
        "2019-06-01T12:00:00.5Z",
    );
    registry.push("other/thing", "2019-03-01T00:00:00Z");
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "local/nova-fix.diff",
        "--- a/nova/x.py\n+++ b/nova/x.py\n@@ -1 +1 @@\n-x\n+y\n",
    );
    let settings = write(
        dir.path(),
        "deploy.yaml",
        &format!(
            "global_params:\n  ha_enabled: false\n  gerrit_url: {url}\n  source_registry: {reg}\n  patches:\n    overcloud:\n      - change-id: I1111111111111111111111111111111111111111\n        project: openstack/nova\n      - change-id: I4444444444444444444444444444444444444444\n        project: openstack/nova\n        diff: local/nova-fix.diff\n      - change-id: I2222222222222222222222222222222222222222\n        project: openstack/neutron\n      - change-id: I3333333333333333333333333333333333333333\n        project: openstack/puppet-tripleo\ndeploy_options:\n  sdn_controller: opendaylight\n  odl_version: fluorine\n",
            url = server.url,
            reg = registry.url
        ),
    );
    let tmp = dir.path().join("plan");
    let summary = plan(&["-d", settings.to_str().unwrap()], &tmp);

    // Every nova image of the catalog, not novajoin (another project).
    for image in ["nova-api", "nova-compute", "nova-conductor"] {
        let df = read(tmp.join(format!("containers/{image}/Dockerfile")));
        let lines: Vec<&str> = df.lines().collect();
        assert_eq!(
            lines[0],
            format!("FROM 192.0.2.1:8787/tripleomaster/centos-binary-{image}:current-tripleo")
        );
        for l in &lines {
            let word = l.split_whitespace().next().unwrap_or("");
            assert!(
                ["FROM", "USER", "ARG", "RUN", "ADD"].contains(&word),
                "{image}: one operation per line: {l:?}\n{df}"
            );
        }
        for id in [
            "I1111111111111111111111111111111111111111",
            "I4444444444444444444444444444444444444444",
        ] {
            assert!(
                lines.contains(&format!("ADD {id}.patch /tmp/apex-patches/{id}.patch").as_str()),
                "{image}: {id}\n{df}"
            );
            assert!(
                lines.contains(&format!("RUN cd /usr/lib/python2.7/site-packages && patch -p1 < /tmp/apex-patches/{id}.patch").as_str()),
                "{image}: {id}\n{df}"
            );
        }
        assert_eq!(
            lines.iter().filter(|l| **l == "USER root").count(),
            2,
            "{df}"
        );
        assert_eq!(lines.last(), Some(&"USER $REAL_USER"));
        assert_eq!(
            read(tmp.join(format!(
                "containers/{image}/I1111111111111111111111111111111111111111.patch"
            ))),
            NOVA_DIFF
        );
        assert!(
            read(tmp.join(format!(
                "containers/{image}/I4444444444444444444444444444444444444444.patch"
            )))
            .contains("+y")
        );
    }
    assert!(
        !tmp.join("containers/novajoin-server").exists(),
        "novajoin is not nova"
    );
    // Every request to Gerrit said who sent it.
    let agents = server.agents.lock().unwrap().clone();
    assert!(
        !agents.is_empty()
            && agents
                .iter()
                .all(|a| *a == format!("apex/{}", env!("CARGO_PKG_VERSION"))),
        "{agents:?}"
    );
    // The merged change is older than the upstream image: skipped, and the plan says so.
    assert!(!tmp.join("containers/neutron-server").exists());
    assert!(
        !tmp.join("containers/neutron-server-opendaylight").exists(),
        "{summary}"
    );
    assert!(
        summary.contains("skipped patch I2222222222222222222222222222222222222222"),
        "{summary}"
    );
    // Puppet goes to the overcloud image customization list.
    let custom = yaml(tmp.join("overcloud_customize.yaml"));
    let steps = custom["steps"].as_array().unwrap();
    assert!(
        steps.iter().any(|s| s["op"] == "patch"
            && s["arg"]
                == "I3333333333333333333333333333333333333333.patch:/etc/puppet/modules/tripleo"),
        "{custom}"
    );
    assert_eq!(
        read(tmp.join("overcloud_patches/I3333333333333333333333333333333333333333.patch")),
        PUPPET_DIFF
    );
    // The shipped list's images the catalog lacks are named, with what that means.
    assert!(
        summary.contains("images of the shipped list are not in")
            && summary.contains("glance-api")
            && summary.contains("stay at THT's defaults in docker-images.yaml"),
        "{summary}"
    );
    // A site that requires every image makes that an error, and writes nothing.
    let strict = write(
        dir.path(),
        "strict-site.yaml",
        "registries:\n  require_all_images: true\n",
    );
    let tmp2 = dir.path().join("strict");
    let out = Command::new(APEX)
        .args(["deploy", "--plan", "--tmp-dir"])
        .arg(&tmp2)
        .args([
            "-d",
            settings.to_str().unwrap(),
            "-s",
            strict.to_str().unwrap(),
        ])
        .env_remove("APEX_LUA_PATH")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("registries.require_all_images"),
        "{}",
        text(&out.stderr)
    );
    assert!(!tmp2.exists());
    // Image env: patched images tagged apex; the image set comes from the catalog.
    let env = yaml(tmp.join("docker-images.yaml"));
    assert_eq!(
        param(&env, "DockerNovaApiImage"),
        "192.0.2.1:8787/tripleomaster/centos-binary-nova-api:apex"
    );
    assert_eq!(
        param(&env, "DockerKeystoneImage"),
        "192.0.2.1:8787/tripleomaster/centos-binary-keystone:current-tripleo"
    );
    assert!(
        env["parameter_defaults"]
            .get("DockerGlanceApiImage")
            .is_none(),
        "glance is not in the catalog"
    );
    assert!(
        read(tmp.join("containers/opendaylight/Dockerfile")).contains("opendaylight-fluorine-epel")
    );
    let host = registry.url.trim_start_matches("http://");
    assert!(read(tmp.join("image_list.yaml")).contains(&format!(
        "from: {host}/tripleomaster/centos-binary-keystone:current-tripleo"
    )));
    let builds = read(tmp.join("image_builds.yaml"));
    assert!(builds.contains("centos-binary-nova-api:apex"), "{builds}");
}

#[test]
fn patch_archive_holds_the_containers_dir() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("plan");
    plan(&["os-odl-nofeature-ha"], &tmp);
    let f = std::fs::File::open(tmp.join("docker_patches.tar.gz")).expect(
        "docker_patches.tar.gz missing: is core.tar.pack (merged separately) in this build?",
    );
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(f));
    let mut found = BTreeMap::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().to_string_lossy().into_owned();
        let mut s = String::new();
        if e.header().entry_type().is_file() {
            e.read_to_string(&mut s).unwrap();
        }
        found.insert(name, s);
    }
    // Apex's layout: unpacked in the work dir, it gives containers/<image>/ there.
    let df = found
        .get("containers/opendaylight/Dockerfile")
        .unwrap_or_else(|| {
            panic!(
                "containers/opendaylight/Dockerfile not in {:?}",
                found.keys()
            )
        });
    assert!(df.contains("RUN yum -y install opendaylight"));
    assert!(
        found.keys().all(|k| k.starts_with("containers")),
        "{:?}",
        found.keys()
    );
}

#[test]
fn a_lua_path_override_of_a_shipped_plugin_changes_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let over = dir.path().join("lua");
    write(
        &over,
        "plugins/opendaylight.lua",
        r#"return {
  description = "my ODL",
  kind = "sdn",
  options = { odl_version = { type = "string", description = "the shipped scenario names it" } },
  images = function() return { driver = "odl" } end,
  patches = function() return { { image = "opendaylight", reason = "my build", ops = { "RUN echo overridden" } } } end,
  env_files = function() return { { path = "services/neutron-opendaylight.yaml", reason = "odl" }, { path = "/home/stack/my-odl.yaml", reason = "mine" } } end,
}
"#,
    );
    let tmp = dir.path().join("plan");
    let summary = plan(
        &["os-odl-nofeature-ha", "--lua-path", over.to_str().unwrap()],
        &tmp,
    );
    let df = read(tmp.join("containers/opendaylight/Dockerfile"));
    assert!(df.lines().any(|l| l == "RUN echo overridden"), "{df}");
    assert!(!df.contains("yum -y remove"), "{df}");
    assert!(
        env_files(&read(tmp.join("deploy_command")))
            .contains(&"/home/stack/my-odl.yaml".to_string())
    );
    assert!(
        summary.contains(over.join("plugins/opendaylight.lua").to_str().unwrap()),
        "{summary}"
    );
    let listed = apex(&["plugins", "--lua-path", over.to_str().unwrap()]);
    assert!(
        text(&listed.stdout).contains("my ODL"),
        "{}",
        text(&listed.stdout)
    );
}

#[test]
fn a_new_plan_in_the_same_tmp_dir_leaves_no_stale_artifact() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("plan");
    plan(&["os-odl-nofeature-ha"], &tmp);
    assert!(tmp.join("containers/opendaylight/Dockerfile").is_file());
    assert!(tmp.join("apex-loop3.service").is_file());
    let settings = write(
        dir.path(),
        "d.yaml",
        "global_params: {ha_enabled: false}\ndeploy_options: {ceph: false}\n",
    );
    plan(&["-d", settings.to_str().unwrap()], &tmp);
    assert!(
        !tmp.join("containers/opendaylight").exists(),
        "stale Dockerfile left"
    );
    assert!(
        !tmp.join("apex-loop3.service").exists(),
        "stale loop unit left"
    );
    assert!(read(tmp.join("plan.json")).contains("\"deploy_command\""));
}

#[test]
fn a_custom_sdn_plugin_named_in_the_settings_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let over = dir.path().join("lua");
    write(
        &over,
        "plugins/my_sdn.lua",
        "return { description = 'mine', env_files = function() return { { path = 'my-sdn.yaml', reason = 'mine' } } end }\n",
    );
    let settings = write(
        dir.path(),
        "d.yaml",
        "global_params: {ha_enabled: true}\ndeploy_options: {sdn_controller: my_sdn, ceph: false}\n",
    );
    let tmp = dir.path().join("plan");
    plan(
        &[
            "-d",
            settings.to_str().unwrap(),
            "--lua-path",
            over.to_str().unwrap(),
        ],
        &tmp,
    );
    let files = env_files(&read(tmp.join("deploy_command")));
    assert!(files.contains(&format!("{ENV}my-sdn.yaml")), "{files:?}");
    assert!(
        !files.iter().any(|f| f.contains("storage-environment")),
        "ceph off: {files:?}"
    );
    assert!(!tmp.join("apex-loop3.service").exists());
}

#[test]
fn a_scenario_file_can_replace_a_flow_step() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(
        dir.path(),
        "my-lab.lua",
        r#"return {
  description = "my lab",
  global_params = { ha_enabled = false },
  deploy_options = { sdn_controller = "ovn", ceph = false },
  inventory = { nodes = {
    a = { capabilities = "profile:control", ipmi_ip = "10.4.7.2", ipmi_user = "root", ipmi_pass = "pw", mac_address = "00:1e:67:00:00:0a" },
    b = { capabilities = "profile:compute", ipmi_ip = "10.4.7.3", ipmi_user = "root", ipmi_pass = "pw", mac_address = "00:1e:67:00:00:0b" },
    c = { capabilities = "profile:compute", ipmi_ip = "10.4.7.4", ipmi_user = "root", ipmi_pass = "pw", mac_address = "00:1e:67:00:00:0c" },
  } },
  steps = {
    deploy_command = function(ctx)
      require("flows.deploy").steps.deploy_command(ctx)
      ctx.files["deploy_command"] = ctx.deploy_command .. " --debug\n"
    end,
  },
}
"#,
    );
    let tmp = dir.path().join("plan");
    let summary = plan(&[scenario.to_str().unwrap()], &tmp);
    assert!(summary.contains("Plan for my-lab: my lab"), "{summary}");
    let cmd = read(tmp.join("deploy_command"));
    assert!(cmd.trim_end().ends_with("--debug"), "{cmd}");
    assert_eq!(
        flag(&cmd, "--compute-scale"),
        "2",
        "scales from the inventory"
    );
    assert_eq!(
        flag(&cmd, "--libvirt-type"),
        "kvm",
        "baremetal with an inventory"
    );
    assert!(env_files(&cmd).contains(&"baremetal-environment.yaml".to_string()));
}

/// Nodes registered in the undercloud's ironic (site
/// `undercloud.registered_nodes`, no inventory, no --virtual) are baremetal,
/// as Apex decides it (its `virtual` is the --virtual flag): the baremetal
/// env file and worker counts, libvirt type kvm, the baremetal Ceph loop
/// size, and the plan says what it assumes about the counts.
#[test]
fn registered_nodes_are_deployed_as_baremetal() {
    let dir = tempfile::tempdir().unwrap();
    let site = write(
        dir.path(),
        "site.yaml",
        "undercloud:\n  registered_nodes: true\n",
    );
    let tmp = dir.path().join("plan");
    let summary = plan(
        &["os-nosdn-nofeature-ha", "-s", site.to_str().unwrap()],
        &tmp,
    );
    let cmd = read(tmp.join("deploy_command"));
    let files = env_files(&cmd);
    assert_eq!(
        files.last().map(String::as_str),
        Some("baremetal-environment.yaml"),
        "{cmd}"
    );
    assert!(!files.iter().any(|f| f.contains("virtual")), "{cmd}");
    assert_eq!(flag(&cmd, "--libvirt-type"), "kvm", "{cmd}");
    assert_eq!(flag(&cmd, "--control-scale"), "3", "{cmd}");
    assert!(!tmp.join("virtual-environment.yaml").exists());
    let bm = yaml(tmp.join("baremetal-environment.yaml"));
    assert_eq!(bm["parameter_defaults"]["NovaWorkers"], 12, "{bm:?}");
    assert!(bm["parameter_defaults"]["NovaComputeLibvirtType"].is_null());
    assert!(
        summary.contains("Note: nodes registered in the undercloud's ironic")
            && summary.contains("deployed as baremetal")
            && summary.contains("3 control (HA)"),
        "{summary}"
    );
    assert!(!summary.contains("Not deployable"), "{summary}");
    // Ceph on a loop device: the baremetal size, as for an inventory (-i),
    // whose nodes the loop device step (before the deploy command) knows too.
    let loop_line = |summary: &str| {
        summary
            .lines()
            .find(|l| l.contains("/srv/data.img"))
            .unwrap_or_else(|| panic!("no loop file in:\n{summary}"))
            .to_string()
    };
    assert!(
        loop_line(&summary).contains("(50G, baremetal deploy)"),
        "{summary}"
    );
    let inventory = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/inventory/pod_ha.yaml"
    );
    let summary = plan(
        &["os-nosdn-nofeature-ha", "-i", inventory],
        &dir.path().join("inv"),
    );
    assert!(
        loop_line(&summary).contains("(50G, baremetal deploy)"),
        "{summary}"
    );
    let summary = plan(&["os-nosdn-nofeature-ha"], &dir.path().join("none"));
    assert!(
        loop_line(&summary).contains("(10G, virtual deploy)"),
        "{summary}"
    );
}

#[test]
fn a_service_of_another_neutron_driver_is_refused_at_plan_time() {
    // Stein's THT without ML2/OVS (as OPNFV Apex deploys master) enables
    // the OVN services, whose images a deploy without OVN never mirrors.
    let dir = tempfile::tempdir().unwrap();
    for (sdn, services) in [
        (
            "false",
            &["OVNController", "OVNDBs", "OVNMetadataAgent"][..],
        ),
        ("\"opendaylight\"", &["OVNMetadataAgent"][..]),
    ] {
        let scenario = write(
            dir.path(),
            "no-ml2-ovs.lua",
            &format!(
                r#"return {{
  description = "Stein without ML2/OVS",
  global_params = {{ ha_enabled = true }},
  deploy_options = {{ os_version = "master", sdn_controller = {sdn}, ceph = true }},
  steps = {{
    deploy_command = function(ctx)
      require("flows.deploy").steps.deploy_command(ctx)
      for i = #ctx.env_files, 1, -1 do
        if ctx.env_files[i].path:match("/services/neutron%-ovs%.yaml$") then table.remove(ctx.env_files, i) end
      end
    end,
  }},
}}
"#
            ),
        );
        let tmp = dir.path().join("plan");
        let out = Command::new(APEX)
            .args(["deploy", "--plan", "--tmp-dir"])
            .arg(&tmp)
            .arg(&scenario)
            .env_remove("APEX_LUA_PATH")
            .output()
            .unwrap();
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{sdn}: planned");
        assert!(
            err.contains(&format!(
                "{} enabled service{} of the deploy use",
                services.len(),
                if services.len() == 1 { "" } else { "s" }
            )),
            "{sdn}: {err}"
        );
        for s in services {
            assert!(
                err.contains(&format!("service OS::TripleO::Services::{s} (role ")),
                "{sdn}: {s}: {err}"
            );
        }
        assert!(
            err.contains("OVNMetadataAgent (role Compute, enabled in tripleo-heat-templates 10.6.2 (stein; os_version master) with the deploy's env files) uses image centos-binary-neutron-metadata-agent-ovn, which is in the image list of neutron driver ovn only"),
            "{sdn}: {err}"
        );
        if sdn == "false" {
            assert!(
                err.contains("OVNController (role Controller,")
                    && err.contains("image centos-binary-ovn-controller,"),
                "{err}"
            );
        }
        assert!(!tmp.exists(), "nothing is written");
    }
}

#[test]
fn network_settings_file_sets_undercloud_and_ntp() {
    let dir = tempfile::tempdir().unwrap();
    let net = write(
        dir.path(),
        "net.yaml",
        "http_proxy: http://proxy.lab:3128\nntp: [ntp.example.org]\nnetworks:\n  admin:\n    cidr: 10.20.0.0/24\n    installer_vm:\n      ip: 10.20.0.1\n",
    );
    let tmp = dir.path().join("plan");
    plan(&["os-ovn-nofeature-ha", "-n", net.to_str().unwrap()], &tmp);
    let cmd = read(tmp.join("deploy_command"));
    assert_eq!(flag(&cmd, "--ntp-server"), "ntp.example.org");
    let env = yaml(tmp.join("docker-images.yaml"));
    assert!(param(&env, "DockerNovaApiImage").starts_with("10.20.0.1:8787/tripleomaster/"));
    let custom = read(tmp.join("overcloud_customize.yaml"));
    assert!(
        custom.contains("http_proxy=http://proxy.lab:3128"),
        "{custom}"
    );
}

// ---------------------------------------------------------------------------
// Bad input: a clear error naming file/key/valid choices, non-zero exit, nothing written.

struct Bad {
    what: &'static str,
    settings: Option<&'static str>,
    extra: Vec<(&'static str, &'static str)>,
    args: Vec<&'static str>,
    expect: Vec<&'static str>,
}

fn bad(what: &'static str, settings: &'static str, expect: &[&'static str]) -> Bad {
    Bad {
        what,
        settings: Some(settings),
        extra: vec![],
        args: vec![],
        expect: expect.to_vec(),
    }
}

#[test]
fn bad_input_fails_cleanly_with_nothing_written() {
    let gerrit = serve(BTreeMap::new());
    let gerrit_settings: &'static str = Box::leak(
        format!(
            "global_params:\n  ha_enabled: true\n  gerrit_url: {}\n  patches:\n    overcloud:\n      - {{change-id: I9999999999999999999999999999999999999999, project: openstack/nova}}\ndeploy_options: {{}}\n",
            gerrit.url
        )
        .into_boxed_str(),
    );
    let cases = vec![
        bad(
            "unknown deploy option",
            "global_params: {ha_enabled: true}\ndeploy_options: {sdn_controler: opendaylight}\n",
            &[
                "deploy_options.sdn_controler",
                "unknown deploy option",
                "valid:",
                "nearest: sdn_controller",
            ],
        ),
        bad(
            "invalid ODL version",
            "global_params: {ha_enabled: true}\ndeploy_options: {sdn_controller: opendaylight, odl_version: boron}\n",
            &[
                "deploy_options.odl_version",
                "\"boron\"",
                "carbon, nitrogen, oxygen, fluorine, neon, master",
            ],
        ),
        bad(
            "invalid dataplane",
            "global_params: {ha_enabled: true}\ndeploy_options: {dataplane: dpdk}\n",
            &["deploy_options.dataplane", "ovs, ovs_dpdk, fdio"],
        ),
        bad(
            "wrong type ha_enabled",
            "global_params: {ha_enabled: 'yes'}\ndeploy_options: {}\n",
            &["global_params.ha_enabled", "valid: true, false"],
        ),
        bad(
            "wrong type ceph",
            "global_params: {ha_enabled: true}\ndeploy_options: {ceph: [1]}\n",
            &["deploy_options.ceph", "a list", "valid: true, false"],
        ),
        bad(
            "YAML syntax error",
            "global_params:\n  ha_enabled: true\ndeploy_options: {sfc: [true\n",
            &["d.yaml", "invalid YAML", "line"],
        ),
        bad(
            "missing ha_enabled",
            "global_params: {}\ndeploy_options: {}\n",
            &["global_params.ha_enabled", "missing"],
        ),
        bad(
            "patch without change-id",
            "global_params:\n  ha_enabled: true\n  patches:\n    overcloud:\n      - project: openstack/nova\ndeploy_options: {}\n",
            &["global_params.patches.overcloud[1]", "missing change-id"],
        ),
        bad(
            "unknown sdn_controller",
            "global_params: {ha_enabled: true}\ndeploy_options: {sdn_controller: odl}\n",
            &[
                "deploy_options.sdn_controller",
                "unknown plugin \"odl\"",
                "opendaylight",
                "ovn",
                "searched:",
            ],
        ),
        bad(
            "sriov true",
            "global_params: {ha_enabled: true}\ndeploy_options: {sriov: true}\n",
            &["deploy_options.sriov", "false or an interface name"],
        ),
        bad(
            "gluon without vpn",
            "global_params: {ha_enabled: true}\ndeploy_options: {sdn_controller: opendaylight, gluon: true}\n",
            &["deploy_options.gluon", "vpn"],
        ),
        bad(
            "sfc without SDN",
            "global_params: {ha_enabled: true}\ndeploy_options: {sfc: true}\n",
            &["plugin nosdn", "deploy_options.sfc", "opendaylight"],
        ),
        bad(
            "unknown global param",
            "global_params: {ha_enabled: true, ha: 3}\ndeploy_options: {}\n",
            &["global_params.ha", "valid: ha_enabled, patches"],
        ),
        bad(
            "unknown top-level key",
            "global_params: {ha_enabled: true}\ndeploy_options: {}\nextra: 1\n",
            &["extra", "valid: global_params, deploy_options"],
        ),
        bad(
            "unknown os_version",
            "global_params: {ha_enabled: true}\ndeploy_options: {os_version: ocata}\n",
            &["deploy_options.os_version", "master"],
        ),
        bad(
            "containers false",
            "global_params: {ha_enabled: true}\ndeploy_options: {containers: false}\n",
            &["deploy_options.containers", "valid: true"],
        ),
        bad(
            "local diff missing",
            "global_params:\n  ha_enabled: true\n  patches:\n    overcloud:\n      - {change-id: I5555555555555555555555555555555555555555, project: openstack/nova, diff: nope.diff}\ndeploy_options: {}\n",
            &["global_params.patches.overcloud[1].diff", "nope.diff"],
        ),
        bad(
            "Gerrit change not found",
            gerrit_settings,
            &["Gerrit", "I9999999999999999999999999999999999999999", "404"],
        ),
        Bad {
            what: "Lua syntax error in an override",
            settings: Some(
                "global_params: {ha_enabled: true}\ndeploy_options: {sdn_controller: broken}\n",
            ),
            extra: vec![("lua/plugins/broken.lua", "return { description = 'x',\n")],
            args: vec![],
            expect: vec!["plugin broken", "broken.lua", "failed to load"],
        },
        Bad {
            what: "a plugin that raises",
            settings: Some(
                "global_params: {ha_enabled: true}\ndeploy_options: {sdn_controller: boom}\n",
            ),
            extra: vec![(
                "lua/plugins/boom.lua",
                "return { description = 'x', validate = function() error('the lab is on fire', 0) end }\n",
            )],
            args: vec![],
            expect: vec!["plugin boom", "validate", "the lab is on fire"],
        },
        Bad {
            what: "a plugin returning a wrong shape",
            settings: Some(
                "global_params: {ha_enabled: true}\ndeploy_options: {sdn_controller: shape}\n",
            ),
            extra: vec![(
                "lua/plugins/shape.lua",
                "return { description = 'x', env_files = function() return { { path = 3 } } end }\n",
            )],
            args: vec![],
            expect: vec![
                "plugin shape",
                "hook env_files",
                "[1].path",
                "a non-empty string",
            ],
        },
        Bad {
            what: "unknown scenario",
            settings: None,
            extra: vec![],
            args: vec!["os-nope-ha"],
            expect: vec!["unknown scenario \"os-nope-ha\"", "apex scenarios"],
        },
        Bad {
            what: "bad network settings",
            settings: None,
            extra: vec![(
                "net.yaml",
                "networks:\n  admin:\n    cidr: 192.0.2.0/24\n    installer_vm:\n      ip: not-an-ip\n",
            )],
            args: vec!["os-nosdn-nofeature-ha", "-n", "net.yaml"],
            expect: vec!["net.yaml", "networks.admin.installer_vm.ip", "IPv4"],
        },
        Bad {
            what: "overlapping CIDRs",
            settings: None,
            extra: vec![(
                "net.yaml",
                "networks:\n  admin:\n    cidr: 192.0.2.0/24\n    installer_vm: {ip: 192.0.2.1}\n  tenant:\n    enabled: true\n    cidr: 192.0.2.128/25\n",
            )],
            args: vec!["os-nosdn-nofeature-ha", "-n", "net.yaml"],
            expect: vec![
                "net.yaml",
                "networks.tenant.cidr",
                "overlaps",
                "networks.admin",
            ],
        },
        Bad {
            what: "a pool outside its CIDR",
            settings: None,
            extra: vec![(
                "net.yaml",
                "networks:\n  admin:\n    cidr: 192.0.2.0/24\n    installer_vm: {ip: 192.0.2.1}\n    dhcp_range: [192.0.3.2, 192.0.3.10]\n",
            )],
            args: vec!["os-nosdn-nofeature-ha", "-n", "net.yaml"],
            expect: vec!["net.yaml", "networks.admin.dhcp_range", "192.0.2.0/24"],
        },
        Bad {
            what: "a VLAN out of range",
            settings: None,
            extra: vec![(
                "net.yaml",
                "networks:\n  admin:\n    cidr: 192.0.2.0/24\n    installer_vm: {ip: 192.0.2.1}\n    nic_mapping:\n      compute: {phys_type: interface, members: [eth0]}\n      controller: {phys_type: interface, members: [eth0]}\n  tenant:\n    enabled: true\n    cidr: 11.0.0.0/24\n    nic_mapping:\n      compute: {phys_type: interface, vlan: 4095, members: [eth1]}\n      controller: {phys_type: interface, vlan: 4095, members: [eth1]}\n",
            )],
            args: vec!["os-nosdn-nofeature-ha", "-n", "net.yaml"],
            expect: vec!["net.yaml", "networks.tenant.nic_mapping", "vlan", "4094"],
        },
        Bad {
            what: "a proxy with a newline (an extra line in the image's /etc/environment)",
            settings: None,
            extra: vec![(
                "net.yaml",
                "http_proxy: \"http://proxy.lab:3128\\nLD_PRELOAD=/tmp/x.so\"\nnetworks:\n  admin:\n    cidr: 192.0.2.0/24\n    installer_vm: {ip: 192.0.2.1}\n",
            )],
            args: vec!["os-nosdn-nofeature-ha", "-n", "net.yaml"],
            expect: vec!["net.yaml", "http_proxy", "control character"],
        },
        Bad {
            what: "a mirror_all that is not a boolean",
            settings: None,
            extra: vec![("site.yaml", "registries:\n  mirror_all: everything\n")],
            args: vec!["os-nosdn-nofeature-ha", "-s", "site.yaml"],
            expect: vec!["site.yaml", "registries.mirror_all", "everything"],
        },
        Bad {
            what: "a Ceph loop file size out of bounds",
            settings: None,
            extra: vec![("site.yaml", "ceph:\n  loop_size: 100T\n")],
            args: vec!["os-nosdn-nofeature-ha", "-s", "site.yaml"],
            expect: vec!["site.yaml", "ceph.loop_size", "at most 16T"],
        },
        Bad {
            what: "a nic_mapping without a role",
            settings: None,
            extra: vec![(
                "net.yaml",
                "networks:\n  admin:\n    cidr: 192.0.2.0/24\n    installer_vm: {ip: 192.0.2.1}\n    nic_mapping:\n      compute: {phys_type: interface, members: [eth0]}\n",
            )],
            args: vec!["os-nosdn-nofeature-ha", "-n", "net.yaml"],
            expect: vec!["net.yaml", "networks.admin.nic_mapping", "controller"],
        },
        Bad {
            what: "an inventory node without a MAC",
            settings: None,
            extra: vec![(
                "inv.yaml",
                "nodes:\n  node1: {ipmi_ip: 10.4.7.2, ipmi_user: root, ipmi_pass: pw, capabilities: 'profile:control'}\n",
            )],
            args: vec!["os-nosdn-nofeature-noha", "-i", "inv.yaml"],
            expect: vec!["inv.yaml", "nodes.node1.mac_address"],
        },
        Bad {
            what: "an inventory node with an unknown profile",
            settings: None,
            extra: vec![(
                "inv.yaml",
                "nodes:\n  node1: {mac_address: '00:1e:67:00:00:01', ipmi_ip: 10.4.7.2, ipmi_user: root, ipmi_pass: pw, capabilities: 'profile:storage'}\n",
            )],
            args: vec!["os-nosdn-nofeature-noha", "-i", "inv.yaml"],
            expect: vec![
                "inv.yaml",
                "nodes.node1.capabilities",
                "profile:control, profile:compute",
            ],
        },
        Bad {
            what: "too few controllers for HA",
            settings: None,
            extra: vec![(
                "inv.yaml",
                "nodes:\n  node1: {mac_address: '00:1e:67:00:00:01', ipmi_ip: 10.4.7.2, ipmi_user: root, ipmi_pass: pw, capabilities: 'profile:control'}\n  node2: {mac_address: '00:1e:67:00:00:02', ipmi_ip: 10.4.7.3, ipmi_user: root, ipmi_pass: pw, capabilities: 'profile:compute'}\n",
            )],
            args: vec!["os-nosdn-nofeature-ha", "-i", "inv.yaml"],
            expect: vec!["inv.yaml", "3"],
        },
        Bad {
            what: "a change-id that is a path",
            settings: Some(
                "global_params:\n  ha_enabled: false\n  patches:\n    overcloud:\n      - {change-id: ../../../../tmp/x, project: openstack/nova}\ndeploy_options: {}\n",
            ),
            extra: vec![],
            args: vec![],
            expect: vec![
                "d.yaml",
                "global_params.patches.overcloud[1].change-id",
                "40 hex",
            ],
        },
        // A typo in the network settings: an error naming the nearest key,
        // not the default used silently.
        Bad {
            what: "a misspelt network settings key",
            settings: None,
            extra: vec![(
                "net.yaml",
                "dns_nameserver: [10.0.0.53]\nnetworks:\n  admin: {cidr: 192.0.2.0/24}\n",
            )],
            args: vec!["os-nosdn-nofeature-noha", "-n", "net.yaml"],
            expect: vec![
                "net.yaml",
                "dns_nameserver: unknown key",
                "nearest: dns_nameservers",
            ],
        },
        Bad {
            what: "a misspelt key of a network",
            settings: None,
            extra: vec![(
                "net.yaml",
                "networks:\n  admin: {cidr: 192.0.2.0/24, dhcp_rnage: [192.0.2.2, 192.0.2.9]}\n",
            )],
            args: vec!["os-nosdn-nofeature-noha", "-n", "net.yaml"],
            expect: vec![
                "net.yaml",
                "networks.admin.dhcp_rnage: unknown key",
                "nearest: dhcp_range",
            ],
        },
        // Site values that become command arguments are checked before
        // anything is written.
        Bad {
            what: "a local registry with shell metacharacters",
            settings: None,
            extra: vec![(
                "site.yaml",
                "registries:\n  local: '192.0.2.1:8787;$(touch /tmp/apex-pwned)'\n",
            )],
            args: vec!["os-nosdn-nofeature-noha", "-s", "site.yaml"],
            expect: vec!["site.yaml", "registries.local", "host:port"],
        },
        Bad {
            what: "an undercloud address that ssh would read as an option",
            settings: None,
            extra: vec![(
                "site.yaml",
                "undercloud:\n  address: '-oProxyCommand=touch /tmp/apex-pwned'\n",
            )],
            args: vec!["os-nosdn-nofeature-noha", "-s", "site.yaml"],
            expect: vec!["site.yaml", "undercloud.address", "not starting with '-'"],
        },
        Bad {
            what: "an undercloud user starting with '-'",
            settings: None,
            extra: vec![("site.yaml", "undercloud:\n  user: -lroot\n")],
            args: vec!["os-nosdn-nofeature-noha", "-s", "site.yaml"],
            expect: vec!["site.yaml", "undercloud.user"],
        },
        Bad {
            what: "a source registry with a port out of range",
            settings: None,
            extra: vec![(
                "site.yaml",
                "registries:\n  source: registry.example:99999\n",
            )],
            args: vec!["os-nosdn-nofeature-noha", "-s", "site.yaml"],
            expect: vec!["site.yaml", "registries.source", "port 1-65535"],
        },
        Bad {
            what: "an engine URL whose host is an option",
            settings: None,
            extra: vec![("site.yaml", "engine: tcp://-H:2375\n")],
            args: vec!["os-nosdn-nofeature-noha", "-s", "site.yaml"],
            expect: vec!["site.yaml", "engine"],
        },
    ];
    assert!(cases.len() >= 15);
    for case in cases {
        let dir = tempfile::tempdir().unwrap();
        for (name, content) in &case.extra {
            write(dir.path(), name, content);
        }
        let tmp = dir.path().join("plan");
        let mut args: Vec<String> = vec![
            "deploy".into(),
            "--plan".into(),
            "--tmp-dir".into(),
            tmp.display().to_string(),
        ];
        if let Some(s) = case.settings {
            args.push("-d".into());
            args.push(write(dir.path(), "d.yaml", s).display().to_string());
        }
        if dir.path().join("lua").is_dir() {
            args.push("--lua-path".into());
            args.push(dir.path().join("lua").display().to_string());
        }
        for a in &case.args {
            args.push(if a.ends_with(".yaml") {
                dir.path().join(a).display().to_string()
            } else {
                a.to_string()
            });
        }
        let out = Command::new(APEX)
            .args(&args)
            .env_remove("APEX_LUA_PATH")
            .output()
            .unwrap();
        let err = text(&out.stderr);
        assert!(
            !out.status.success(),
            "{}: should fail\n{}",
            case.what,
            text(&out.stdout)
        );
        for want in &case.expect {
            assert!(
                err.contains(want),
                "{}: error should contain {want:?}:\n{err}",
                case.what
            );
        }
        // Nothing written: not even the tmp dir (its lock and log come once inputs are valid).
        assert!(!tmp.exists(), "{}: the tmp dir was made", case.what);
    }
}

#[test]
fn a_second_run_on_the_same_tmp_dir_is_refused_while_the_first_runs() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("t");
    let held = apex::run_lock::lock(&tmp).unwrap();
    let out = apex(&[
        "deploy",
        "os-nosdn-nofeature-noha",
        "--plan",
        "--tmp-dir",
        tmp.to_str().unwrap(),
    ]);
    let err = text(&out.stderr);
    assert!(
        !out.status.success(),
        "ran beside the lock holder:\n{}",
        text(&out.stdout)
    );
    assert!(
        err.contains(&format!(
            "apex (pid {}) is already running with the tmp dir {}",
            std::process::id(),
            tmp.display()
        )),
        "{err}"
    );
    // A refusal is one clean line, no Lua traceback.
    assert!(!err.contains("stack traceback"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        !tmp.join("deploy_command").exists(),
        "the refused run wrote artifacts"
    );
    drop(held);
    plan(&["os-nosdn-nofeature-noha"], &tmp);
    assert!(tmp.join("deploy_command").is_file());
}

/// Runs apex and fails the test when it does not end within `secs` (it is
/// killed then): for inputs that used to hang it.
fn apex_within(args: &[&str], secs: u64) -> Output {
    let mut child = Command::new(APEX)
        .args(args)
        .env_remove("APEX_LUA_PATH")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run apex");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "apex {args:?} still ran after {secs} s:\n{}",
                text(&out.stderr)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn a_tmp_dir_others_control_is_refused_and_no_planted_symlink_is_followed() {
    use std::os::unix::fs::{PermissionsExt as _, symlink};
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let run = |tmp: &Path| {
        apex_within(
            &[
                "deploy",
                "os-nosdn-nofeature-noha",
                "--plan",
                "--tmp-dir",
                tmp.to_str().unwrap(),
            ],
            60,
        )
    };
    let refused = |out: &Output, want: &str, tmp: &Path| {
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{}: ran", tmp.display());
        assert!(err.contains(want), "{}: {err}", tmp.display());
        assert_eq!(read(&victim), "precious\n", "written through a symlink");
        assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
        // Refused before a file of the plan was written, in one line.
        assert!(!tmp.join("deploy_command").exists());
        assert!(
            !err.contains("stack traceback"),
            "a refusal is one line: {err}"
        );
    };

    // Owned by another user (nobody), who planted apex.log -> the victim.
    let foreign = dir.path().join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    symlink(&victim, foreign.join("apex.log")).unwrap();
    std::os::unix::fs::chown(&foreign, Some(65534), Some(65534))
        .expect("chown needs root (the tests run as root)");
    let out = run(&foreign);
    refused(
        &out,
        "owned by uid 65534, not by the invoking user",
        &foreign,
    );
    let err = text(&out.stderr);
    assert!(
        !err.contains("stack traceback"),
        "a refusal is one line: {err}"
    );

    // Ours, but writable by everyone (mode 0777).
    let open = dir.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    symlink(&victim, open.join("apex.log")).unwrap();
    refused(&run(&open), "is writable by others (mode 777)", &open);

    // Below a parent anyone may rename things in (0777, not sticky).
    let parent = dir.path().join("parent");
    std::fs::create_dir(&parent).unwrap();
    std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(0o777)).unwrap();
    let below = parent.join("t");
    refused(&run(&below), "writable by others and not sticky", &below);
    assert!(!below.exists(), "the tmp dir was made");

    // The tmp dir itself a symlink.
    let link = dir.path().join("link");
    symlink(&elsewhere, &link).unwrap();
    refused(&run(&link), "is a symlink", &link);

    // Ours and private, with symlinks in it apex did not make: neither the
    // log nor the NIC templates are written through them.
    let own = dir.path().join("own");
    std::fs::create_dir(&own).unwrap();
    symlink(&elsewhere, own.join("nics")).unwrap();
    refused(&run(&own), "nics: a symlink apex did not create", &own);
    // Refused before anything was written: not even the log.
    assert!(!own.join("apex.log").exists() && !own.join("logs").exists());
    std::fs::remove_file(own.join("nics")).unwrap();
    symlink(&victim, own.join("apex.log")).unwrap();
    // The run's log is a new file under logs/; a planted apex.log is
    // replaced by a link to it (or the run refused), never written through.
    let _ = run(&own);
    assert_eq!(read(&victim), "precious\n", "the log followed a symlink");
    let latest = std::fs::symlink_metadata(own.join("apex.log")).unwrap();
    assert!(
        !latest.file_type().is_symlink()
            || std::fs::read_link(own.join("apex.log")).unwrap() != victim,
        "the planted apex.log is still there"
    );
    std::fs::remove_file(own.join("apex.log")).unwrap();

    // Cleaned up, the same dir plans.
    plan(&["os-nosdn-nofeature-noha"], &own);
    assert!(own.join("nics/controller.yaml").is_file());
}

#[test]
fn settings_are_read_from_regular_files_of_bounded_size() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("net.yaml");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    let big = dir.path().join("big.yaml");
    std::fs::write(&big, "# padding\n".repeat(1 << 20)).unwrap();
    let lua_fifo = dir.path().join("s.lua");
    let c = std::ffi::CString::new(lua_fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    let tmp = dir.path().join("t");
    let t = tmp.to_str().unwrap();
    for (what, args, want) in [
        (
            "a FIFO as -n",
            vec![
                "deploy",
                "os-nosdn-nofeature-noha",
                "-n",
                fifo.to_str().unwrap(),
            ],
            "not a regular file",
        ),
        (
            "/dev/zero as -n",
            vec!["deploy", "os-nosdn-nofeature-noha", "-n", "/dev/zero"],
            "not a regular file",
        ),
        (
            "/dev/zero as -d",
            vec!["deploy", "-d", "/dev/zero"],
            "not a regular file",
        ),
        (
            "10 MiB as -s",
            vec![
                "deploy",
                "os-nosdn-nofeature-noha",
                "-s",
                big.to_str().unwrap(),
            ],
            "above the limit of 8 MiB",
        ),
        (
            "a FIFO as the scenario",
            vec!["deploy", lua_fifo.to_str().unwrap()],
            "not a regular file",
        ),
    ] {
        let mut all = args.clone();
        all.extend(["--plan", "--tmp-dir", t]);
        let out = apex_within(&all, 20);
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{what}: planned");
        assert!(err.contains(want), "{what}: {err}");
        assert!(!tmp.exists(), "{what}: the tmp dir was made");
    }
}

#[test]
fn the_plan_says_the_mode_each_deploy_file_gets_on_the_undercloud() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("t");
    let inventory = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/inventory/pod_ha.yaml"
    );
    let out = plan(&["os-nosdn-nofeature-ha", "-i", inventory], &tmp);
    for (rel, mode) in [
        ("instackenv.json", 0o600),
        ("opnfv-environment.yaml", 0o600),
        ("network-environment.yaml", 0o644),
        ("deploy_command", 0o644),
    ] {
        let line = format!("/home/stack/apex/{rel} (mode {mode:04o})");
        assert!(out.contains(&line), "{line} not in the plan:\n{out}");
        let here = std::fs::metadata(tmp.join(rel))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777;
        assert_eq!(here, mode, "{rel} in the tmp dir");
    }
}

#[test]
fn the_source_catalog_is_read_with_the_credentials_of_the_copies() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let secured = rt
        .block_on(apex_lab::registry::LabRegistry::start_with_auth(
            "catalog-auth",
            "apex",
            "s3cret",
        ))
        .expect("lab part missing: docker-registry (see tests/lab/install.sh)");
    let host = secured.host();
    let dir = tempfile::tempdir().unwrap();
    let site = write(
        dir.path(),
        "site.yaml",
        &format!("registries:\n  source: {host}\n"),
    );
    let run = |docker_config: &Path, tmp: &Path| {
        Command::new(APEX)
            .args(["deploy", "os-nosdn-nofeature-noha", "--plan", "-s"])
            .arg(&site)
            .arg("--tmp-dir")
            .arg(tmp)
            .env_remove("APEX_LUA_PATH")
            .env("DOCKER_CONFIG", docker_config)
            .output()
            .unwrap()
    };
    // Without credentials the registry answers 401: an error saying so, not
    // a fallback that reports every image missing.
    let none = dir.path().join("none");
    write(&none, "config.json", "{}");
    let tmp = dir.path().join("t1");
    let out = run(&none, &tmp);
    let err = text(&out.stderr);
    assert!(!out.status.success(), "planned without credentials");
    assert!(
        err.contains(&format!(
            "source registry {host} refused its catalog (HTTP 401)"
        )) && err.contains("no credentials for"),
        "{err}"
    );
    assert!(!tmp.exists());
    // With the credentials the copies use (the Docker config file's), the
    // catalog is read.
    let auth = base64::engine::general_purpose::STANDARD.encode("apex:s3cret");
    let with = dir.path().join("with");
    write(
        &with,
        "config.json",
        &format!("{{\"auths\": {{\"{host}\": {{\"auth\": \"{auth}\"}}}}}}"),
    );
    let tmp = dir.path().join("t2");
    let out = run(&with, &tmp);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let list = read(tmp.join("image_list.yaml"));
    assert!(
        list.contains(&format!("source: catalog http://{host}")),
        "{list}"
    );
    drop(secured);
}

#[test]
fn shipped_scenarios_are_listed_with_descriptions() {
    let out = text(&apex(&["scenarios"]).stdout);
    for name in SCENARIOS {
        let line = out
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} not listed:\n{out}"));
        assert!(line.contains("OpenStack"), "{line}");
    }
}

/// Each run (a plan too) writes its own `logs/<UTC time>.log`, `apex.log` is
/// that same file (not a log appended to forever), an `apex.log` of an older
/// apex moves into `logs/`, and only the newest 20 logs stay. The plan's
/// artifact list names plan.json and the log.
#[test]
fn every_run_logs_to_its_own_file_and_old_logs_are_pruned() {
    use std::os::unix::fs::MetadataExt as _;
    let root = tempfile::tempdir().unwrap();
    let tmp = root.path().join("t");
    let logs = tmp.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    // 20 logs of earlier runs, oldest first, a file that is no run log, and
    // an apex.log an older apex appended every run to.
    let old: Vec<String> = (0..20)
        .map(|i| format!("2020-01-01T00-00-{i:02}.000Z.log"))
        .collect();
    for name in &old {
        std::fs::write(logs.join(name), "old run\n").unwrap();
    }
    std::fs::write(logs.join("notes.txt"), "mine\n").unwrap();
    std::fs::write(tmp.join("apex.log"), "appended by an older apex\n").unwrap();

    let summary = plan(&["os-nosdn-nofeature-noha"], &tmp);
    let mut names: Vec<String> = std::fs::read_dir(&logs)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert!(names.contains(&"notes.txt".to_string()), "{names:?}");
    let runs: Vec<&String> = names.iter().filter(|n| n.ends_with(".log")).collect();
    assert_eq!(runs.len(), 20, "{names:?}");
    // The two oldest went (the adopted apex.log sorts by its mtime, today).
    assert!(
        !names.contains(&old[0]) && !names.contains(&old[1]),
        "{names:?}"
    );
    assert!(names.contains(&old[2]), "{names:?}");
    let adopted = runs.iter().find(|n| n.ends_with("-appended.log")).unwrap();
    assert_eq!(
        read(logs.join(adopted.as_str())),
        "appended by an older apex\n"
    );
    let this = runs.last().unwrap();
    assert!(!this.ends_with("-appended.log"), "{names:?}");
    let latest = std::fs::symlink_metadata(tmp.join("apex.log")).unwrap();
    assert!(latest.is_file(), "apex.log is a regular file");
    assert_eq!(
        latest.ino(),
        std::fs::metadata(logs.join(this.as_str())).unwrap().ino(),
        "apex.log is this run's log"
    );
    let log = read(tmp.join("apex.log"));
    assert!(
        !log.contains("old run") && !log.contains("older apex"),
        "{log}"
    );
    assert!(log.contains("DEBUG"), "{log}");
    assert!(
        summary.contains("\n  plan.json  (")
            && summary.contains(&format!("\n  apex.log  (this run's log, also logs/{this};")),
        "{summary}"
    );

    // The next run starts a new log; apex.log follows it.
    plan(&["os-nosdn-nofeature-noha"], &tmp);
    let second = std::fs::read_dir(&logs)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".log"))
        .max()
        .unwrap();
    assert_ne!(&second, *this);
    assert_eq!(
        std::fs::metadata(tmp.join("apex.log")).unwrap().ino(),
        std::fs::metadata(logs.join(&second)).unwrap().ino()
    );
    assert_eq!(
        std::fs::metadata(logs.join(this.as_str())).unwrap().nlink(),
        1,
        "the first run's log keeps only its own name"
    );
}

/// `apex examples DIR` writes the shipped examples (never over a file), and
/// every one of them plans: deploy settings with the virtual lab's network
/// on an existing undercloud, with the baremetal pod's VLANs and inventory,
/// and with an undercloud apex creates for virtual nodes.
#[test]
fn every_shipped_example_plans() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("ex");
    let out = apex(&["examples", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let f = |n: &str| dir.join(n).to_str().unwrap().to_string();
    let cases: [(&str, Vec<String>); 3] = [
        (
            "virtual",
            vec![
                "-d".into(),
                f("deploy_settings.yaml"),
                "-n".into(),
                f("network_settings_virtual.yaml"),
                "-s".into(),
                f("site_existing_undercloud.yaml"),
            ],
        ),
        (
            "baremetal",
            vec![
                "-d".into(),
                f("deploy_settings.yaml"),
                "-n".into(),
                f("network_settings_baremetal_vlans.yaml"),
                "-i".into(),
                f("inventory.yaml"),
                "-s".into(),
                f("site_existing_undercloud.yaml"),
            ],
        ),
        (
            "created",
            vec![
                "-d".into(),
                f("deploy_settings.yaml"),
                "-n".into(),
                f("network_settings_virtual.yaml"),
                "-s".into(),
                f("site_created_undercloud.yaml"),
                "--virtual".into(),
            ],
        ),
    ];
    let mut planned = std::collections::BTreeSet::new();
    for (what, args) in &cases {
        let tmp = root.path().join(what);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let summary = plan(&args, &tmp);
        assert!(summary.contains("opendaylight"), "{what}: {summary}");
        // The examples copy from docker.io, which has no catalog API: the plan
        // says so and uses the shipped list, without asking Docker Hub.
        assert!(
            summary.contains("source registry catalog not offered by docker.io"),
            "{what}: {summary}"
        );
        for a in &args {
            if let Some(name) = a.strip_prefix(&format!("{}/", dir.display())) {
                planned.insert(name.to_string());
            }
        }
        let cmd = read(tmp.join("deploy_command"));
        match *what {
            "baremetal" => {
                assert!(cmd.contains("baremetal-environment.yaml"), "{cmd}");
                assert_eq!(flag(&cmd, "--compute-scale"), "2", "{cmd}");
                let net = read(tmp.join("network-environment.yaml"));
                assert!(net.contains("TenantNetworkVlanID: 401"), "{net}");
            }
            "created" => {
                assert!(tmp.join("undercloud/undercloud.conf").is_file());
                // TripleO's prepare input for the undercloud's install, as Apex's.
                let prepare = yaml(tmp.join("containers-prepare-parameter.yaml"));
                let set = &prepare["parameter_defaults"]["ContainerImagePrepare"][0]["set"];
                assert_eq!(set["namespace"], "docker.io/tripleomaster");
                assert_eq!(set["neutron_driver"], "odl");
            }
            _ => assert!(cmd.contains("virtual-environment.yaml"), "{cmd}"),
        }
    }
    let yamls: std::collections::BTreeSet<String> = names
        .iter()
        .filter(|n| n.ends_with(".yaml"))
        .cloned()
        .collect();
    assert_eq!(planned, yamls, "an example no plan uses");
    assert!(names.contains(&"README.md".to_string()), "{names:?}");

    // Never over an operator's file: nothing is written then.
    std::fs::remove_file(dir.join("inventory.yaml")).unwrap();
    std::fs::write(dir.join("deploy_settings.yaml"), "mine\n").unwrap();
    let out = apex(&["examples", dir.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("deploy_settings.yaml")
            && text(&out.stderr).contains("not overwriting"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        !dir.join("inventory.yaml").exists(),
        "written despite the refusal"
    );
    assert_eq!(read(dir.join("deploy_settings.yaml")), "mine\n");
}

#[test]
fn the_site_can_mirror_every_image_of_the_list() {
    let dir = tempfile::tempdir().unwrap();
    let site = write(dir.path(), "site.yaml", "registries:\n  mirror_all: true\n");
    let tmp = dir.path().join("all");
    let summary = plan(
        &["os-nosdn-nofeature-noha", "-s", site.to_str().unwrap()],
        &tmp,
    );
    assert!(
        summary.contains("mirror: 99 of 99 images (site registries.mirror_all)"),
        "{summary}"
    );
    let list = yaml(tmp.join("image_list.yaml"));
    assert_eq!(list["copy"].as_array().unwrap().len(), 100);
    assert_eq!(list["why"]["zaqar-wsgi"], "registries.mirror_all");
    assert!(
        read(tmp.join("docker-images.yaml")).contains("centos-binary-zaqar-wsgi:current-tripleo")
    );
    // Every image of the list is mirrored; the preflight still checks that
    // no service only another driver's images serve is enabled.
    assert!(
        summary.contains("every service it enables uses a mirrored image"),
        "{summary}"
    );
}
