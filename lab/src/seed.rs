//! Seeds the lab's "upstream" registry with small CentOS-like images made
//! locally: every `centos-binary-<svc>` of the shipped image facts plus the
//! Ceph daemon image. Images are composed as layers in Rust and pushed over
//! the distribution API, not built by an engine: three layers (the busybox
//! rootfs shared with [`super::images`], the lab tools such as `yum`, one
//! small layer per service), byte-for-byte reproducible, so a reseed finds
//! every manifest in place and sends nothing.

use std::io::Write as _;
use std::sync::Arc;

use anyhow::Context as _;
use bytes::Bytes;
use futures::{StreamExt as _, TryStreamExt as _};

use apex::progress::{Progress, Unit};
use apex::registry::{
    DOCKER_MANIFEST, Mount, RawManifest, Registry, RegistrySettings, sha256_digest,
};

/// The `yum` stand-in every image carries (`/usr/bin/yum`).
pub const YUM_SCRIPT: &str = include_str!("yum.sh");
/// Namespace and tag of the upstream service images.
pub const NAMESPACE: &str = super::images::NAMESPACE;
pub const TAG: &str = super::images::TAG;
/// The Ceph daemon image as the shipped facts name it (under the upstream host).
pub const CEPH_REPOSITORY: &str = "ceph/daemon";
pub const CEPH_TAG: &str = "v3.1.0-stable-3.1-luminous-centos-7-x86_64";
/// Marker of the OpenDaylight shipped in the upstream image.
pub const ODL_UPSTREAM_VERSION: &str = "upstream";
/// Where python projects live in the images (patch targets).
pub const SITE_PACKAGES: &str = "usr/lib/python2.7/site-packages";
/// How many images are pushed at once.
const PARALLEL_PUSHES: usize = 8;

/// The shipped image facts, read for the service names.
/// The shipped image lists: master's and each release's (the lab seeds their
/// union in every namespace, so a scenario of any release finds its images).
const IMAGE_FACTS: [&str; 2] = [
    include_str!("../../stdlib/tripleo_images.lua"),
    include_str!("../../stdlib/tripleo_images_releases.lua"),
];

/// One image the lab seeds.
#[derive(Debug, Clone)]
pub struct SeedImage {
    /// Repository under the registry, e.g. `tripleomaster/centos-binary-nova-api`.
    pub repository: String,
    pub tag: String,
    /// Short service name, e.g. `nova-api`.
    pub service: String,
    /// The non-root user it runs as, and its uid.
    pub user: String,
    pub uid: u32,
}

impl SeedImage {
    /// `repository:tag`.
    pub fn reference(&self) -> String {
        format!("{}:{}", self.repository, self.tag)
    }

    /// The python project the service belongs to (`nova` for `nova-api`).
    pub fn project(&self) -> &str {
        self.service.split('-').next().unwrap_or(&self.service)
    }
}

/// Service user names that differ from the project name (Kolla's).
fn user_of(project: &str) -> &str {
    match project {
        "opendaylight" => "odl",
        "mariadb" => "mysql",
        "daemon" => "ceph",
        other => other,
    }
}

/// A stable uid in Kolla's range for a user name.
fn uid_of(user: &str) -> u32 {
    let sum = user
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    42400 + sum % 500
}

/// Service names of the shipped facts (`image = "<svc>"`) that make valid
/// `centos-binary-` names, without the Ceph one.
pub fn service_names() -> Vec<String> {
    let mut names: Vec<String> = IMAGE_FACTS
        .iter()
        .flat_map(|facts| facts.split("image = \"").skip(1))
        .filter_map(|rest| rest.split('"').next())
        .filter(|n| n.starts_with(|c: char| c.is_ascii_lowercase()) && *n != "daemon")
        .filter(|n| {
            n.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The upstream namespaces the lab seeds: master and the other release a
/// shipped scenario deploys (os-odl-queens-ha), so every scenario runs on it.
pub const NAMESPACES: &[&str] = &[NAMESPACE, "tripleoqueens"];

/// Every image the lab seeds: the service images of each namespace and the
/// Ceph daemon.
pub fn lab_images() -> Vec<SeedImage> {
    let services = service_names();
    let mut out: Vec<SeedImage> = NAMESPACES
        .iter()
        .flat_map(|ns| {
            services.iter().map(move |service| {
                let project = service.split('-').next().unwrap_or(service).to_string();
                let user = user_of(&project).to_string();
                SeedImage {
                    repository: format!("{ns}/centos-binary-{service}"),
                    tag: TAG.into(),
                    uid: uid_of(&user),
                    user,
                    service: service.clone(),
                }
            })
        })
        .collect();
    out.push(SeedImage {
        repository: CEPH_REPOSITORY.into(),
        tag: CEPH_TAG.into(),
        service: "daemon".into(),
        user: "ceph".into(),
        uid: 167,
    });
    out
}

/// A layer being written: a reproducible tar (fixed mtimes).
struct LayerTar(tar::Builder<Vec<u8>>);

impl LayerTar {
    fn new() -> Self {
        Self(tar::Builder::new(Vec::new()))
    }

    fn header(kind: tar::EntryType, mode: u32, uid: u32, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(size);
        h.set_mtime(1_500_000_000);
        h.set_uid(u64::from(uid));
        h.set_gid(u64::from(uid));
        h
    }

    fn dir(&mut self, path: &str, uid: u32) -> anyhow::Result<()> {
        let mut h = Self::header(tar::EntryType::Directory, 0o755, uid, 0);
        self.0.append_data(&mut h, path, std::io::empty())?;
        Ok(())
    }

    fn file(&mut self, path: &str, mode: u32, text: &str) -> anyhow::Result<()> {
        let mut h = Self::header(tar::EntryType::Regular, mode, 0, text.len() as u64);
        self.0.append_data(&mut h, path, text.as_bytes())?;
        Ok(())
    }

    fn finish(self) -> anyhow::Result<Vec<u8>> {
        Ok(self.0.into_inner()?)
    }
}

/// A compressed layer and the digests a manifest and config name it by.
#[derive(Clone)]
struct Layer {
    gz: Bytes,
    digest: String,
    diff_id: String,
}

fn layer(tar: &[u8]) -> anyhow::Result<Layer> {
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::fast());
    gz.write_all(tar)?;
    let gz = Bytes::from(gz.finish()?);
    Ok(Layer {
        digest: sha256_digest(&gz),
        diff_id: sha256_digest(tar),
        gz,
    })
}

/// The lab tools on top of busybox: `yum`, its log and state dirs, a repo dir.
fn tools_layer() -> anyhow::Result<Vec<u8>> {
    let mut t = LayerTar::new();
    for d in [
        "usr",
        "usr/bin",
        "var",
        "var/log",
        "var/log/apex-lab",
        "var/lib",
        "var/lib/apex-lab",
        "var/lib/apex-lab/yum",
        "etc",
        "etc/yum.repos.d",
        "opt",
        "usr/lib",
        "usr/lib/python2.7",
        SITE_PACKAGES,
    ] {
        t.dir(d, 0)?;
    }
    t.file("usr/bin/yum", 0o755, YUM_SCRIPT)?;
    t.file("var/lib/apex-lab/yum/installed", 0o644, "")?;
    t.file(
        "etc/yum.repos.d/delorean.repo",
        0o644,
        "[delorean]\nname=delorean\nbaseurl=https://trunk.rdoproject.org/centos7-master/current-tripleo/\nenabled=1\ngpgcheck=0\n",
    )?;
    t.finish()
}

/// A stand-in `version.py` of a python project (what upstream patches touch).
pub fn version_py(project: &str) -> String {
    let upper = project.to_uppercase();
    let title = project[..1].to_uppercase() + &project[1..];
    format!(
        "# Copyright 2011 OpenStack Foundation\n\
         # apex lab stand-in of {project}/version.py\n\
         \n\
         {upper}_VENDOR = \"OpenStack Foundation\"\n\
         {upper}_PRODUCT = \"OpenStack {title}\"\n\
         {upper}_PACKAGE = None  # OS distro package version suffix\n\
         \n\
         loaded = False\n\
         version_info = None\n\
         version_string = None\n\
         \n\
         \n\
         def vendor_string():\n    return {upper}_VENDOR\n\
         \n\
         \n\
         def product_string():\n    return {upper}_PRODUCT\n\
         \n\
         \n\
         def package_string():\n    return {upper}_PACKAGE\n"
    )
}

/// The layer proper to one image: its user, home, python project and packages.
fn service_layer(img: &SeedImage) -> anyhow::Result<Vec<u8>> {
    let mut t = LayerTar::new();
    let (user, uid, svc, project) = (&img.user, img.uid, &img.service, img.project());
    t.dir("etc", 0)?;
    t.file(
        "etc/passwd",
        0o644,
        &format!(
            "root:x:0:0:root:/root:/bin/sh\n{user}:x:{uid}:{uid}:{user}:/var/lib/{svc}:/bin/sh\n"
        ),
    )?;
    t.file("etc/group", 0o644, &format!("root:x:0:\n{user}:x:{uid}:\n"))?;
    t.dir("var/lib", 0)?;
    t.dir(&format!("var/lib/{svc}"), uid)?;
    t.file(&format!("var/lib/{svc}/id"), 0o644, &format!("{svc}\n"))?;
    let mut installed = vec![format!("openstack-{svc}")];
    if project == "opendaylight" {
        t.dir("opt/opendaylight", 0)?;
        t.file(
            "opt/opendaylight/VERSION",
            0o644,
            &format!("{ODL_UPSTREAM_VERSION}\n"),
        )?;
        installed = vec!["opendaylight".into()];
    }
    t.dir(&format!("{SITE_PACKAGES}/{project}"), 0)?;
    t.file(&format!("{SITE_PACKAGES}/{project}/__init__.py"), 0o644, "")?;
    t.file(
        &format!("{SITE_PACKAGES}/{project}/version.py"),
        0o644,
        &version_py(project),
    )?;
    t.dir("var/lib/apex-lab/yum", 0)?;
    t.file(
        "var/lib/apex-lab/yum/installed",
        0o644,
        &(installed.join("\n") + "\n"),
    )?;
    t.finish()
}

/// The image config and its manifest (Docker schema 2).
fn image_manifest(img: &SeedImage, layers: &[Layer]) -> anyhow::Result<(Bytes, RawManifest)> {
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "created": "2019-04-01T00:00:00Z",
        "config": {
            "User": img.user,
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["/bin/sh"],
            "WorkingDir": "/",
            "Labels": { "name": img.repository.rsplit('/').next().unwrap_or_default(), "apex.lab": "1" },
        },
        "rootfs": { "type": "layers", "diff_ids": layers.iter().map(|l| l.diff_id.clone()).collect::<Vec<_>>() },
    });
    let config = Bytes::from(serde_json::to_vec(&config)?);
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": config.len(),
            "digest": sha256_digest(&config),
        },
        "layers": layers.iter().map(|l| serde_json::json!({
            "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
            "size": l.gz.len(),
            "digest": l.digest,
        })).collect::<Vec<_>>(),
    });
    let bytes = Bytes::from(serde_json::to_vec(&manifest)?);
    let digest = sha256_digest(&bytes);
    Ok((
        config,
        RawManifest {
            bytes,
            media_type: DOCKER_MANIFEST.into(),
            digest,
        },
    ))
}

/// Sends a blob unless the repository has it; shared layers are mounted from
/// `mount_from` (a repository already holding them).
async fn push_blob(
    reg: &Registry,
    repo: &str,
    digest: &str,
    bytes: &Bytes,
    mount_from: Option<&str>,
) -> anyhow::Result<()> {
    if reg.blob_exists(repo, digest).await? {
        return Ok(());
    }
    let location = match mount_from {
        Some(from) if from != repo => match reg.mount_blob(repo, digest, from).await? {
            Mount::Mounted => return Ok(()),
            Mount::Upload(url) => url,
        },
        _ => reg.start_upload(repo).await?,
    };
    reg.finish_upload(
        location,
        digest,
        bytes.len() as u64,
        reqwest::Body::from(bytes.clone()),
    )
    .await
}

/// What a seeding did.
#[derive(Debug, Clone, Default)]
pub struct SeedReport {
    /// `host/repository:tag` of every seeded image.
    pub images: Vec<String>,
    /// How many were pushed now (the others were already there, same digest).
    pub pushed: usize,
}

/// Pushes every lab image to the registry at `host` (idempotent).
pub async fn seed(host: &str) -> anyhow::Result<SeedReport> {
    seed_images(host, &lab_images()).await
}

/// Pushes `images` to the registry at `host` (idempotent).
pub async fn seed_images(host: &str, images: &[SeedImage]) -> anyhow::Result<SeedReport> {
    anyhow::ensure!(!images.is_empty(), "lab seed: no images given");
    let reg = Arc::new(Registry::new(host, &RegistrySettings::default())?);
    let (busybox, tools) = tokio::task::spawn_blocking(|| -> anyhow::Result<(Layer, Layer)> {
        Ok((
            layer(&super::images::busybox_rootfs()?)?,
            layer(&tools_layer()?)?,
        ))
    })
    .await??;
    // The shared layers go to the first repository once; the others mount them.
    let first = images[0].repository.clone();
    for shared in [&busybox, &tools] {
        push_blob(&reg, &first, &shared.digest, &shared.gz, None).await?;
    }
    let bar = std::sync::Mutex::new(Progress::new(
        format!("seed {host}"),
        Some(images.len() as u64),
        Unit::Items,
    ));
    let progress = &bar;
    let pushed: Vec<bool> = futures::stream::iter(images.iter().cloned())
        .map(|img| {
            let (reg, busybox, tools, first) =
                (reg.clone(), busybox.clone(), tools.clone(), first.clone());
            async move {
                let own = layer(&service_layer(&img)?)?;
                let layers = [busybox, tools, own];
                let (config, manifest) = image_manifest(&img, &layers)?;
                let done = || progress.lock().expect("progress lock").inc(1);
                if reg
                    .manifest_digest(&img.repository, &img.tag)
                    .await?
                    .as_deref()
                    == Some(manifest.digest.as_str())
                {
                    done();
                    return Ok(false);
                }
                for l in &layers[..2] {
                    push_blob(&reg, &img.repository, &l.digest, &l.gz, Some(&first)).await?;
                }
                push_blob(
                    &reg,
                    &img.repository,
                    &layers[2].digest,
                    &layers[2].gz,
                    None,
                )
                .await?;
                push_blob(
                    &reg,
                    &img.repository,
                    &sha256_digest(&config),
                    &config,
                    None,
                )
                .await?;
                reg.put_manifest(&img.repository, &img.tag, &manifest)
                    .await
                    .with_context(|| format!("seeding {}", img.reference()))?;
                done();
                anyhow::Ok(true)
            }
        })
        .buffer_unordered(PARALLEL_PUSHES)
        .try_collect()
        .await?;
    let pushed = pushed.iter().filter(|p| **p).count();
    let bar = bar.into_inner().expect("progress lock");
    bar.finish(&format!(
        "{pushed} pushed, {} already there",
        images.len() - pushed
    ));
    Ok(SeedReport {
        images: images
            .iter()
            .map(|i| format!("{host}/{}", i.reference()))
            .collect(),
        pushed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_services_are_seeded() {
        let names = service_names();
        for must in [
            "opendaylight",
            "neutron-server-opendaylight",
            "ovn-northd",
            "nova-compute",
            "mariadb",
            "haproxy",
            "congress-api", // Queens' list only: Stein dropped congress
        ] {
            assert!(
                names.iter().any(|n| n == must),
                "{must} missing from {names:?}"
            );
        }
        assert!(
            !names
                .iter()
                .any(|n| n.is_empty() || n.starts_with('-') || n == "daemon")
        );
    }

    #[test]
    fn layers_are_reproducible() {
        let img = lab_images()
            .into_iter()
            .find(|i| i.service == "nova-api")
            .unwrap();
        assert_eq!(img.user, "nova");
        assert_ne!(img.uid, 0);
        let a = layer(&service_layer(&img).unwrap()).unwrap();
        let b = layer(&service_layer(&img).unwrap()).unwrap();
        assert_eq!(a.digest, b.digest);
    }
}
