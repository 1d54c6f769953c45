//! The lab undercloud's tripleo-heat-templates: the real THT of each release
//! apex deploys (Queens, Rocky, Stein), from the source archives published on
//! PyPI, as a real undercloud has them under
//! `/usr/share/openstack-tripleo-heat-templates` (sources: the Jinja2
//! templates are not rendered there; TripleO renders them at deploy time with
//! THT's own `tools/process-templates.py`, which the lab's `openstack`
//! stand-in does too).
//!
//! Each archive (and tripleo-common's of the same release, for the facts
//! tests) is downloaded once into the cache dir ([`cache_dir`]) and
//! checked against its pinned sha256; it is the archive itself, not a pip
//! install: building the metadata of these old packages fails with today's
//! setuptools ("Multiple top-level packages discovered in a flat-layout"),
//! and `pip download` runs that build, so the lab asks PyPI's files host
//! for the archive directly.

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use sha2::Digest as _;

/// A released source archive on PyPI's files host, pinned by its sha256.
#[derive(Debug, Clone, Copy)]
pub struct SourceArchive {
    /// `<project>-<version>`: the archive's name without `.tar.gz` and its top dir.
    pub name: &'static str,
    pub url: &'static str,
    pub sha256: &'static str,
}

/// One THT release the lab's undercloud can hold, with the tripleo-common of
/// the same release day (its container image list, for the facts tests).
#[derive(Debug, Clone, Copy)]
pub struct ThtRelease {
    /// The TripleO release (apex's os_version; `master` deploys Stein's).
    pub release: &'static str,
    /// The tripleo-heat-templates version on PyPI.
    pub version: &'static str,
    pub tht: SourceArchive,
    pub common: SourceArchive,
}

/// The releases: the last THT of each TripleO stable branch that apex targets
/// (the versions the shipped facts, stdlib/tht_releases.lua, name).
pub const RELEASES: [ThtRelease; 3] = [
    ThtRelease {
        release: "queens",
        version: "8.4.1",
        tht: SourceArchive {
            name: "tripleo-heat-templates-8.4.1",
            url: "https://files.pythonhosted.org/packages/50/7d/139b3bc501520065fdf269135665c8989ca7a24398d9f27821cc8b31e357/tripleo-heat-templates-8.4.1.tar.gz",
            sha256: "9c4800e6e0d9cdaa95c90e4f5db7612960ef267eba88804df117fc651d98f5d9",
        },
        common: SourceArchive {
            name: "tripleo-common-8.7.1",
            url: "https://files.pythonhosted.org/packages/b1/ff/14a847650644ee3a75f8a7dc40044ff829eca47b478cdfb2bef7840a819d/tripleo-common-8.7.1.tar.gz",
            sha256: "e066be6ccb0700892376ac711b79a35aa7f058b1a135bbd913b52d4295089a3f",
        },
    },
    ThtRelease {
        release: "rocky",
        version: "9.4.1",
        tht: SourceArchive {
            name: "tripleo-heat-templates-9.4.1",
            url: "https://files.pythonhosted.org/packages/18/e3/375af6a83d0cd882a4dd97b81817f87d7f8457e7f3ca56f05e03792fc98a/tripleo-heat-templates-9.4.1.tar.gz",
            sha256: "4ad9ed54d35e6018a35c1fe2f7a7683d7200ea0297972c783cc215dcc90a47ff",
        },
        common: SourceArchive {
            name: "tripleo-common-9.6.1",
            url: "https://files.pythonhosted.org/packages/42/40/5d5868ccee9714d5dc9667cf1f021054a6d7bc6174b119d6bd658e28765d/tripleo-common-9.6.1.tar.gz",
            sha256: "a015d673b47a0948dc4105a45a577559edffc6e63f9b9fe33a7265e281d221a7",
        },
    },
    ThtRelease {
        release: "stein",
        version: "10.6.2",
        tht: SourceArchive {
            name: "tripleo-heat-templates-10.6.2",
            url: "https://files.pythonhosted.org/packages/5f/1e/6a8a85871a7c5d65e727cc633814e2b80de41c57cbf2ae8503ba75b46a01/tripleo-heat-templates-10.6.2.tar.gz",
            sha256: "4dd0258d6a922813517b06e878c1fde0f57fdb14471e575b289e5f4ee9dbc1ad",
        },
        common: SourceArchive {
            name: "tripleo-common-10.8.2",
            url: "https://files.pythonhosted.org/packages/b9/52/09c9957275ac5cd6fe3b4a48e1478066ad79614af9baa67f4fe2c2466e7d/tripleo-common-10.8.2.tar.gz",
            sha256: "5f1751ea1a5687c5c2407ed2cd22e8b4b19e328da1bff91b34ed9eedc05fcd7f",
        },
    },
];

/// The release the lab's default THT dir holds: Stein, which apex's
/// `master` (the shipped scenarios but the queens one) deploys.
pub const DEFAULT_RELEASE: &str = "stein";

/// The release of an os_version (`master` is Stein, as for apex's facts).
pub fn release(name: &str) -> anyhow::Result<&'static ThtRelease> {
    let name = if name == "master" { "stein" } else { name };
    RELEASES
        .iter()
        .find(|r| r.release == name)
        .with_context(|| {
            format!("no THT release {name:?} in the lab (valid: queens, rocky, stein, master)")
        })
}

/// Where the archives are kept between labs and test runs:
/// `$APEX_LAB_THT_CACHE`, else `/var/cache/apex-lab/tht`.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("APEX_LAB_THT_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/apex-lab/tht"))
}

fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let mut f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut h = sha2::Sha256::new();
    std::io::copy(&mut f, &mut h)?;
    Ok(hex::encode(h.finalize()))
}

/// The archive in the cache, downloaded (and checked) when absent.
pub async fn archive(rel: &SourceArchive) -> anyhow::Result<PathBuf> {
    let dir = cache_dir();
    let path = dir.join(format!("{}.tar.gz", rel.name));
    if path.exists() && sha256_file(&path)? == rel.sha256 {
        return Ok(path);
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    tracing::info!(url = rel.url, "lab: downloading {}", rel.name);
    let resp = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(120))
        .build()?
        .get(rel.url)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .with_context(|| format!("lab: downloading {}", rel.url))?;
    let body = resp
        .bytes()
        .await
        .with_context(|| format!("lab: downloading {}", rel.url))?;
    anyhow::ensure!(
        body.len() < 64 << 20,
        "lab: {} is {} bytes, more than a THT archive",
        rel.url,
        body.len()
    );
    let got = hex::encode(sha2::Sha256::digest(&body));
    anyhow::ensure!(
        got == rel.sha256,
        "lab: {} has sha256 {got}, expected {} (the archive pinned in lab/src/tht.rs)",
        rel.url,
        rel.sha256
    );
    let tmp = path.with_extension("part");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&body)?;
    f.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

/// [`archive`] from synchronous code (inside or outside a runtime): on a
/// thread of its own with its own runtime.
pub fn archive_blocking(rel: &SourceArchive) -> anyhow::Result<PathBuf> {
    let rel = *rel;
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(archive(&rel))
    })
    .join()
    .map_err(|_| anyhow::anyhow!("lab: the THT download thread panicked"))?
}

/// Unpacks a source archive into `dest` (its top dir's content: for THT the
/// root with `environments/`, `tools/`, `roles_data.yaml` below it),
/// replacing what was there, so a THT file a deploy patched or replaced is
/// put back as the release ships it.
pub fn install(archive: &Path, rel: &SourceArchive, dest: &Path) -> anyhow::Result<()> {
    let parent = dest.parent().context("a THT dir has a parent")?;
    std::fs::create_dir_all(parent)?;
    let staging = tempfile::Builder::new()
        .prefix(".tht-")
        .tempdir_in(parent)
        .with_context(|| format!("a staging dir in {}", parent.display()))?;
    let unpacked = staging.path().join("src");
    apex::archive::unpack(archive, &unpacked)
        .with_context(|| format!("lab: unpacking {}", archive.display()))?;
    let top = unpacked.join(rel.name);
    anyhow::ensure!(
        top.join("setup.py").is_file(),
        "lab: {} has no {}/setup.py",
        archive.display(),
        rel.name
    );
    if dest.exists() {
        std::fs::remove_dir_all(dest).with_context(|| format!("removing {}", dest.display()))?;
    }
    // The one deviation from the release: THT's NIC template merge script
    // (#!/usr/bin/env python, Python 2 era) is not executable, so a deploy
    // skips it as on a THT without it (Queens). The lab's undercloud has no
    // `python`, and the script renders all of THT per NIC template (3 s of
    // CPU each), for templates the tests compare byte for byte.
    let merge = top.join("tools/merge-new-params-nic-config-script.py");
    if merge.is_file() {
        std::fs::set_permissions(&merge, std::fs::Permissions::from_mode(0o644))?;
    }
    std::fs::rename(&top, dest).with_context(|| format!("moving THT to {}", dest.display()))?;
    Ok(())
}
