//! Test images made locally (nothing can be pulled from the internet): a
//! busybox rootfs from `busybox-static` imported as the base, optionally a
//! bulk layer of generated data on top, and service images built on it so
//! they share the base layers. Each service image runs as its own non-root
//! user (so `REAL_USER` matters) and is pushed to a registry as
//! `tripleomaster/centos-binary-<service>:current-tripleo`.

use anyhow::Context as _;
use bollard::Docker;
use bollard::query_parameters::CreateImageOptionsBuilder;
use futures::StreamExt as _;

use apex::engine::{self, BuildOptions};

/// The imported busybox base image.
pub const BASE_IMAGE: &str = "apexlab/busybox:base";
/// Namespace and tag upstream images are pushed under.
pub const NAMESPACE: &str = "tripleomaster";
pub const TAG: &str = "current-tripleo";

/// One service image to make.
#[derive(Debug, Clone)]
pub struct ServiceImage {
    /// e.g. `nova-api`; the image is `centos-binary-<service>`.
    pub service: String,
    /// The user it runs as (added to /etc/passwd with `uid`; busybox-static has no adduser).
    pub user: String,
    pub uid: u32,
    /// Bytes of generated (incompressible) data unique to this image.
    pub unique_bytes: u64,
}

impl ServiceImage {
    /// A small service image running as user `<first word of service>`.
    pub fn small(service: &str, uid: u32) -> Self {
        let user = service.split('-').next().unwrap_or(service).to_string();
        Self {
            service: service.to_string(),
            user,
            uid,
            unique_bytes: 0,
        }
    }

    /// `tripleomaster/centos-binary-<service>`.
    pub fn repository(&self) -> String {
        format!("{NAMESPACE}/centos-binary-{}", self.service)
    }
}

/// A reproducible busybox rootfs tar (fixed mtimes and owners: same digest every time).
pub(crate) fn busybox_rootfs() -> anyhow::Result<Vec<u8>> {
    let busybox = std::fs::read("/bin/busybox")
        .context("reading /bin/busybox (Debian package busybox-static)")?;
    let list = std::process::Command::new("/bin/busybox")
        .arg("--list")
        .output()
        .context("busybox --list")?;
    let applets = String::from_utf8_lossy(&list.stdout).into_owned();
    let mut tar = tar::Builder::new(Vec::new());
    let header = |kind: tar::EntryType, mode: u32, size: u64| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(size);
        h.set_mtime(1_500_000_000);
        h.set_uid(0);
        h.set_gid(0);
        h
    };
    for dir in [
        "bin", "etc", "tmp", "root", "var", "var/lib", "home", "usr", "usr/bin",
    ] {
        let mut h = header(
            tar::EntryType::Directory,
            if dir == "tmp" { 0o1777 } else { 0o755 },
            0,
        );
        tar.append_data(&mut h, dir, std::io::empty())?;
    }
    let mut h = header(tar::EntryType::Regular, 0o755, busybox.len() as u64);
    tar.append_data(&mut h, "bin/busybox", busybox.as_slice())?;
    for applet in applets
        .lines()
        .map(str::trim)
        .filter(|a| !a.is_empty() && *a != "busybox")
    {
        let mut h = header(tar::EntryType::Symlink, 0o777, 0);
        tar.append_link(&mut h, format!("bin/{applet}"), "busybox")?;
    }
    for (path, text) in [
        ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
        ("etc/group", "root:x:0:\n"),
        ("etc/shadow", "root:*:19000:0:99999:7:::\n"),
    ] {
        let mut h = header(
            tar::EntryType::Regular,
            if path == "etc/shadow" { 0o600 } else { 0o644 },
            text.len() as u64,
        );
        tar.append_data(&mut h, path, text.as_bytes())?;
    }
    Ok(tar.into_inner()?)
}

/// Imports the busybox base into the engine (idempotent: same content, same id).
pub async fn base_image(docker: &Docker) -> anyhow::Result<String> {
    if engine::inspect_image(docker, BASE_IMAGE).await.is_ok() {
        return Ok(BASE_IMAGE.to_string());
    }
    let rootfs = tokio::task::spawn_blocking(busybox_rootfs).await??;
    let (repo, tag) = BASE_IMAGE.split_once(':').expect("base image has a tag");
    let opts = CreateImageOptionsBuilder::new()
        .from_src("-")
        .repo(repo)
        .tag(tag)
        .build();
    let mut stream = docker.create_image(Some(opts), Some(bollard::body_full(rootfs.into())), None);
    while let Some(item) = stream.next().await {
        item.context("importing the busybox base image")?;
    }
    Ok(BASE_IMAGE.to_string())
}

/// Builds `dockerfile` (needing no other context file) as `tag`.
async fn build_dockerfile(docker: &Docker, tag: &str, dockerfile: &str) -> anyhow::Result<()> {
    let ctx = tempfile::tempdir()?;
    std::fs::write(ctx.path().join("Dockerfile"), dockerfile)?;
    let opts = BuildOptions {
        context: ctx.path().to_path_buf(),
        tag: tag.to_string(),
        dockerfile: None,
        build_args: Default::default(),
        labels: Default::default(),
        no_cache: false,
    };
    engine::build_image(docker, &opts).await?;
    Ok(())
}

/// Builds a base with `bytes` of generated data on top of busybox (the shared
/// bulk layer of the benchmark); returns its tag. Zero bytes: the busybox base.
pub async fn bulk_base(docker: &Docker, bytes: u64) -> anyhow::Result<String> {
    let base = base_image(docker).await?;
    if bytes == 0 {
        return Ok(base);
    }
    let tag = format!("apexlab/bulk-base:{bytes}");
    if engine::inspect_image(docker, &tag).await.is_ok() {
        return Ok(tag);
    }
    build_dockerfile(
        docker,
        &tag,
        &format!("FROM {base}\nRUN head -c {bytes} /dev/urandom > /var/lib/base.bin\n"),
    )
    .await?;
    Ok(tag)
}

/// Builds one service image on `base`; returns its local tag.
pub async fn build_service(
    docker: &Docker,
    base: &str,
    svc: &ServiceImage,
) -> anyhow::Result<String> {
    let tag = format!("apexlab/centos-binary-{}:{TAG}", svc.service);
    let data = if svc.unique_bytes > 0 {
        format!(
            " && head -c {} /dev/urandom > /var/lib/{}/data.bin",
            svc.unique_bytes, svc.service
        )
    } else {
        String::new()
    };
    let dockerfile = format!(
        "FROM {base}\n\
         RUN echo '{user}:x:{uid}:{uid}:{user}:/var/lib/{svc}:/bin/sh' >> /etc/passwd \
         && echo '{user}:x:{uid}:' >> /etc/group && mkdir -p /var/lib/{svc} && echo {svc} > /var/lib/{svc}/id{data}\n\
         LABEL name=centos-binary-{svc} apex.lab=1\n\
         USER {user}\n",
        uid = svc.uid,
        user = svc.user,
        svc = svc.service,
    );
    build_dockerfile(docker, &tag, &dockerfile).await?;
    Ok(tag)
}

/// Builds the service images on a base with `base_bytes` of bulk data and
/// pushes them to `registry` (`host:port`) as
/// `tripleomaster/centos-binary-<service>:current-tripleo`; returns the
/// pushed references.
pub async fn populate(
    docker: &Docker,
    registry: &str,
    base_bytes: u64,
    services: &[ServiceImage],
) -> anyhow::Result<Vec<String>> {
    let base = bulk_base(docker, base_bytes).await?;
    let mut refs = Vec::new();
    for svc in services {
        let local = build_service(docker, &base, svc).await?;
        let remote = format!("{registry}/{}:{TAG}", svc.repository());
        engine::tag_image(docker, &local, &remote).await?;
        engine::push_image(docker, &remote, None).await?;
        engine::remove_image(docker, &remote, false).await?;
        refs.push(remote);
    }
    Ok(refs)
}

/// The content of `path` inside `image` (which the engine must have), read by
/// copying it out of a created, never started container: how a test reads
/// back what a build did (a yum log, a patched file, a version marker).
pub async fn read_file(docker: &Docker, image: &str, path: &str) -> anyhow::Result<Vec<u8>> {
    use bollard::query_parameters::{
        DownloadFromContainerOptionsBuilder, RemoveContainerOptionsBuilder,
    };
    let body = bollard::models::ContainerCreateBody {
        image: Some(image.to_string()),
        ..Default::default()
    };
    let created = docker
        .create_container(None, body)
        .await
        .with_context(|| format!("creating a container of {image} to read {path}"))?;
    let opts = DownloadFromContainerOptionsBuilder::new()
        .path(path)
        .build();
    let tar: Result<Vec<bytes::Bytes>, _> = docker
        .download_from_container(&created.id, Some(opts))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect();
    let _ = docker
        .remove_container(
            &created.id,
            Some(RemoveContainerOptionsBuilder::new().force(true).build()),
        )
        .await;
    let tar = tar
        .with_context(|| format!("{image}: reading {path}"))?
        .concat();
    let mut archive = tar::Archive::new(tar.as_slice());
    let mut entry = archive
        .entries()?
        .next()
        .with_context(|| format!("{image}: {path} came back as an empty archive"))??;
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut entry, &mut out)?;
    Ok(out)
}
