//! The lab of the container tests: the Docker engine (started if none
//! answers), fresh "upstream" and "local" registries per test, and the
//! service images pushed to upstream. A missing lab part fails loudly.

#![allow(dead_code)]

use apex::engine::{self, EngineSettings};
use apex::registry::{Registry, RegistrySettings};
use apex_lab::docker::{LabEngine, ensure_engine};
use apex_lab::images::{self, ServiceImage};
use apex_lab::registry::LabRegistry;
use bollard::Docker;

pub struct Lab {
    pub engine: LabEngine,
    pub docker: Docker,
    pub upstream: LabRegistry,
    pub local: LabRegistry,
    /// Pushed upstream references, in the order of [`services`].
    pub images: Vec<String>,
}

/// Three images running as their own users; two share the nova user.
pub fn services() -> Vec<ServiceImage> {
    vec![
        ServiceImage::small("nova-api", 162),
        ServiceImage::small("nova-conductor", 162),
        ServiceImage::small("neutron-server", 42435),
    ]
}

/// Engine + two fresh registries, with the service images in upstream.
pub async fn lab() -> Lab {
    let engine = ensure_engine()
        .await
        .expect("lab: a Docker engine (Debian docker.io) must run or start");
    let docker = engine::connect(&engine.settings())
        .await
        .expect("lab: connect to the Docker engine");
    let upstream = LabRegistry::start("upstream")
        .await
        .expect("lab: start the upstream docker-registry");
    let local = LabRegistry::start("local")
        .await
        .expect("lab: start the local docker-registry");
    let images = images::populate(&docker, &upstream.host(), 0, &services())
        .await
        .expect("lab: build and push the service images to upstream");
    Lab {
        engine,
        docker,
        upstream,
        local,
        images,
    }
}

impl Lab {
    /// Removes every engine image named after this lab's registries (pulled,
    /// tagged or rebuilt by a test), so runs do not pile images up.
    pub async fn cleanup(&self) {
        let prefixes = [
            format!("{}/", self.upstream.host()),
            format!("{}/", self.local.host()),
        ];
        let images = self
            .docker
            .list_images(None::<bollard::query_parameters::ListImagesOptions>)
            .await
            .expect("list engine images");
        for tag in images.iter().flat_map(|i| i.repo_tags.iter()) {
            if prefixes.iter().any(|p| tag.starts_with(p.as_str())) {
                engine::remove_image(&self.docker, tag, true)
                    .await
                    .expect("remove a test image");
            }
        }
    }

    pub fn engine_settings(&self) -> EngineSettings {
        self.engine.settings()
    }

    /// The image `service` would have in `registry` host.
    pub fn image_in(&self, host: &str, service: &str) -> String {
        format!("{host}/tripleomaster/centos-binary-{service}:current-tripleo")
    }
}

/// A registry client with a small retry budget (tests of failures stay quick).
pub fn client(host: &str, attempts: u32) -> Registry {
    let settings = RegistrySettings {
        attempts: Some(attempts),
        ..Default::default()
    };
    Registry::new(host, &settings).expect("registry client")
}

/// The digest of `repo:tag` in a registry, panicking when absent.
pub async fn digest_of(host: &str, repo: &str, tag: &str) -> String {
    client(host, 3)
        .manifest_digest(repo, tag)
        .await
        .expect("HEAD manifest")
        .unwrap_or_else(|| panic!("{host}/{repo}:{tag} is missing"))
}
