//! Engine, registry copy, mirror and patched rebuild against the real lab:
//! a Docker engine, two docker-registry instances on loopback, a faulty proxy.

#[path = "common/containers.rs"]
mod lab;

use std::collections::BTreeSet;

use apex::engine::{self, BuildOptions};
use apex::registry::{
    CopyContext, CopyOptions, CopyReport, CopyStatus, DOCKER_LIST, ImageRef, MirrorItem,
    MirrorOptions, RawManifest, Registry, RegistrySettings, copy_image, mirror_images,
    sha256_digest,
};
use apex_lab::registry::{Fault, FaultyProxy, LabRegistry};
use lab::{client, digest_of, services};

const REPO: &str = "tripleomaster/centos-binary-nova-api";

/// Distinct blobs (configs and layers) of some images in a registry.
async fn blobs_of(host: &str, refs: &[String]) -> BTreeSet<String> {
    let reg = client(host, 3);
    let mut out = BTreeSet::new();
    for r in refs {
        let r = ImageRef::parse(r).unwrap();
        let m = reg
            .manifest(&r.repository, &r.reference)
            .await
            .unwrap()
            .unwrap()
            .parse()
            .unwrap();
        out.extend(m.config.into_iter().chain(m.layers).map(|d| d.digest));
    }
    out
}

/// The digest of an image's config blob in a registry.
async fn config_of(reg: &Registry, repo: &str, reference: &str) -> String {
    reg.manifest(repo, reference)
        .await
        .unwrap()
        .unwrap()
        .parse()
        .unwrap()
        .config
        .unwrap()
        .digest
}

/// `copy_image` with the default options and a fresh context, as a flow step calls it.
async fn copy(
    from: &Registry,
    src: &ImageRef,
    to: &Registry,
    dst: &ImageRef,
) -> anyhow::Result<CopyReport> {
    copy_with(from, src, to, dst, CopyOptions::default()).await
}

async fn copy_with(
    from: &Registry,
    src: &ImageRef,
    to: &Registry,
    dst: &ImageRef,
    opts: CopyOptions,
) -> anyhow::Result<CopyReport> {
    copy_image(from, src, to, dst, opts, &CopyContext::default()).await
}

/// Copy options under which every blob streams (POST, PATCH, commit PUT):
/// the lab's blobs are all small enough to be sent from memory otherwise.
fn streaming() -> CopyOptions {
    CopyOptions {
        in_memory_max: 0,
        ..Default::default()
    }
}

fn mirror_items(lab: &lab::Lab, to: &str) -> Vec<MirrorItem> {
    mirror_items_from(lab, &lab.upstream.host(), to)
}

/// The service images to mirror from `from` (the upstream registry or a
/// proxy in front of it) to `to`.
fn mirror_items_from(lab: &lab::Lab, from: &str, to: &str) -> Vec<MirrorItem> {
    services()
        .iter()
        .map(|s| MirrorItem {
            source: lab.image_in(from, &s.service),
            destination: lab.image_in(to, &s.service),
        })
        .collect()
}

/// The digest of the base layer (the first) of the first service image upstream.
async fn base_layer(lab: &lab::Lab) -> String {
    let first = ImageRef::parse(&lab.images[0]).unwrap();
    client(&lab.upstream.host(), 3)
        .manifest(&first.repository, &first.reference)
        .await
        .unwrap()
        .unwrap()
        .parse()
        .unwrap()
        .layers[0]
        .digest
        .clone()
}

#[tokio::test]
async fn build_passes_build_args_and_reports_a_failed_step_with_its_output() {
    let lab = lab::lab().await;
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(
        ctx.path().join("Dockerfile"),
        "FROM apexlab/busybox:base\nARG GREETING=none\nARG REAL_USER=root\n\
         RUN echo \"$GREETING\" > /greeting && cat /greeting\n\
         LABEL greeting=$GREETING\nUSER $REAL_USER\n",
    )
    .unwrap();
    let opts = BuildOptions {
        context: ctx.path().to_path_buf(),
        tag: "apexlab/test-build:args".into(),
        dockerfile: None,
        build_args: [
            ("GREETING".to_string(), "hello-apex".to_string()),
            ("REAL_USER".into(), "nobody".into()),
        ]
        .into(),
        labels: [("apex.test".to_string(), "1".to_string())].into(),
        no_cache: true,
    };
    let built = engine::build_image(&lab.docker, &opts).await.unwrap();
    assert!(built.id.starts_with("sha256:"), "{built:?}");
    let info = engine::inspect_image(&lab.docker, "apexlab/test-build:args")
        .await
        .unwrap();
    assert_eq!(info.id, built.id);
    assert_eq!(info.user, "nobody");
    assert_eq!(
        info.labels.get("greeting").map(String::as_str),
        Some("hello-apex")
    );
    assert_eq!(info.labels.get("apex.test").map(String::as_str), Some("1"));

    std::fs::write(
        ctx.path().join("Dockerfile"),
        "FROM apexlab/busybox:base\nRUN echo step-one-ok\nRUN echo about-to-fail-$((40+2)) && exit 3\nRUN echo never\n",
    )
    .unwrap();
    let failing = BuildOptions {
        tag: "apexlab/test-build:fails".into(),
        ..opts
    };
    let err = format!(
        "{:#}",
        engine::build_image(&lab.docker, &failing)
            .await
            .unwrap_err()
    );
    assert!(
        err.contains("RUN echo about-to-fail"),
        "the failed step is named: {err}"
    );
    assert!(
        err.contains("about-to-fail-42"),
        "the step's output is shown: {err}"
    );
    assert!(
        err.contains("non-zero code: 3"),
        "the exit code is shown: {err}"
    );
    assert!(!err.contains("never"), "{err}");

    let missing = BuildOptions {
        context: ctx.path().join("nope"),
        ..failing
    };
    let err = engine::build_image(&lab.docker, &missing)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("no Dockerfile in context"), "{err}");
    engine::remove_image(&lab.docker, "apexlab/test-build:args", true)
        .await
        .unwrap();
}

#[tokio::test]
async fn pull_tag_inspect_user_and_push_to_a_registry() {
    let lab = lab::lab().await;
    let upstream = &lab.images[0];
    let pulled = engine::pull_image(&lab.docker, upstream, None)
        .await
        .unwrap();
    assert_eq!(pulled.user, "nova", "the service user, not root");
    assert_eq!(
        pulled.labels.get("name").map(String::as_str),
        Some("centos-binary-nova-api")
    );
    let upstream_digest = digest_of(&lab.upstream.host(), REPO, "current-tripleo").await;
    assert!(
        pulled.digests.iter().any(|d| d.ends_with(&upstream_digest)),
        "{:?} has {upstream_digest}",
        pulled.digests
    );

    let target = format!("{}/{REPO}:apex", lab.local.host());
    engine::tag_image(&lab.docker, upstream, &target)
        .await
        .unwrap();
    let tagged = engine::inspect_image(&lab.docker, &target).await.unwrap();
    assert_eq!(tagged.id, pulled.id);
    assert!(tagged.tags.contains(&target), "{:?}", tagged.tags);

    let pushed = engine::push_image(&lab.docker, &target, None)
        .await
        .unwrap();
    assert_eq!(
        pushed.digest,
        digest_of(&lab.local.host(), REPO, "apex").await
    );
    assert_eq!(
        client(&lab.local.host(), 3).tags(REPO).await.unwrap(),
        vec!["apex".to_string()]
    );
    assert_eq!(
        client(&lab.local.host(), 3).catalog().await.unwrap(),
        vec![REPO.to_string()]
    );
    engine::remove_image(&lab.docker, &target, false)
        .await
        .unwrap();
    engine::remove_image(&lab.docker, upstream, false)
        .await
        .unwrap();

    let err = engine::pull_image(
        &lab.docker,
        &format!("{}/no/such:image", lab.local.host()),
        None,
    )
    .await
    .unwrap_err();
    assert!(format!("{err:#}").contains("pulling"), "{err:#}");
    lab.cleanup().await;
}

#[tokio::test]
async fn copy_keeps_the_digest_and_a_rerun_sends_nothing() {
    let lab = lab::lab().await;
    let proxy = FaultyProxy::start(&lab.local.host()).await.unwrap();
    let src = ImageRef::parse(&lab.images[0]).unwrap();
    let dst = ImageRef::parse(&lab.image_in(&proxy.host(), "nova-api")).unwrap();
    let (from, to) = (client(&lab.upstream.host(), 3), client(&proxy.host(), 3));
    let report = copy(&from, &src, &to, &dst).await.unwrap();
    assert_eq!(report.status, CopyStatus::Copied);
    let upstream_digest = digest_of(&lab.upstream.host(), REPO, "current-tripleo").await;
    assert_eq!(report.digest, upstream_digest);
    assert_eq!(
        digest_of(&lab.local.host(), REPO, "current-tripleo").await,
        upstream_digest
    );
    let blobs = blobs_of(&lab.upstream.host(), &lab.images[..1]).await;
    assert_eq!(report.blobs_sent as usize, blobs.len());
    assert_eq!(
        proxy.count("PUT", "/blobs/uploads/"),
        blobs.len(),
        "each blob sent once"
    );
    assert!(proxy.count("PUT", "/manifests/") == 1);

    proxy.reset();
    let again = copy(&from, &src, &to, &dst).await.unwrap();
    assert_eq!(again.status, CopyStatus::Present);
    assert_eq!(again.digest, upstream_digest);
    let seen = proxy.requests();
    assert!(
        seen.iter().all(|r| !r.path.contains("/blobs/")),
        "no blob requests on a rerun: {seen:?}"
    );
    assert_eq!(seen.len(), 1, "one HEAD of the manifest: {seen:?}");

    let missing = ImageRef::parse(&format!("{}/no/such:tag", lab.upstream.host())).unwrap();
    let err = copy(&from, &missing, &to, &dst).await.unwrap_err();
    assert!(
        format!("{err:#}").contains("no such image in the source registry"),
        "{err:#}"
    );
}

#[tokio::test]
async fn mirror_sends_shared_blobs_once_and_a_rerun_sends_none() {
    let lab = lab::lab().await;
    let proxy = FaultyProxy::start(&lab.local.host()).await.unwrap();
    let items = mirror_items(&lab, &proxy.host());
    let summary = mirror_images(
        &items,
        RegistrySettings::default(),
        MirrorOptions::default(),
    )
    .await;
    assert!(summary.failed.is_empty(), "{:?}", summary.failed);
    assert_eq!(summary.copied.len(), items.len());
    for s in services() {
        let repo = s.repository();
        assert_eq!(
            digest_of(&lab.upstream.host(), &repo, "current-tripleo").await,
            digest_of(&lab.local.host(), &repo, "current-tripleo").await,
            "{repo}: same digest on both sides"
        );
    }
    let blobs = blobs_of(&lab.upstream.host(), &lab.images).await;
    assert_eq!(
        proxy.count("PUT", "/blobs/uploads/"),
        blobs.len(),
        "every distinct blob sent exactly once"
    );
    assert_eq!(summary.blobs_sent as usize, blobs.len());
    assert!(
        summary.blobs_mounted >= 2,
        "the shared base is mounted, not sent again: {summary:?}"
    );

    proxy.reset();
    let rerun = mirror_images(
        &items,
        RegistrySettings::default(),
        MirrorOptions::default(),
    )
    .await;
    assert_eq!(rerun.present.len(), items.len(), "{rerun:?}");
    assert!(rerun.copied.is_empty() && rerun.failed.is_empty());
    assert_eq!(
        proxy
            .requests()
            .iter()
            .filter(|r| r.path.contains("/blobs/"))
            .count(),
        0
    );
    assert_eq!(rerun.blobs_sent, 0);
}

/// Images share a base; the first copy to claim it sends it while the others
/// wait. A waiting image gives its slot up: with two slots, the third image
/// sends its own blobs while the first is still sending the base (before,
/// it started only once one of the first two had finished).
#[tokio::test]
async fn an_image_waiting_for_a_shared_blob_lets_the_next_image_send() {
    let lab = lab::lab().await;
    let source = FaultyProxy::start(&lab.upstream.host()).await.unwrap();
    let proxy = FaultyProxy::start(&lab.local.host()).await.unwrap();
    let items = mirror_items_from(&lab, &source.host(), &proxy.host());
    let first = ImageRef::parse(&lab.images[0]).unwrap();
    let base = base_layer(&lab).await;
    let shared = blobs_of(&lab.upstream.host(), &lab.images[1..]).await;
    assert!(shared.contains(&base), "every image sits on the base");
    // The first image's read of the base is held back 3 s.
    source.fail_next(
        1,
        &format!("GET /v2/{}/blobs/{base}", first.repository),
        Fault::Delay { millis: 3000 },
    );
    let summary = mirror_images(
        &items,
        RegistrySettings::default(),
        MirrorOptions {
            concurrency: 2,
            ..Default::default()
        },
    )
    .await;
    assert!(summary.failed.is_empty(), "{:?}", summary.failed);
    assert_eq!(summary.copied.len(), items.len());
    let seen = proxy.requests();
    let at = |what: &str, pick: &dyn Fn(&apex_lab::registry::Request) -> bool| {
        seen.iter()
            .position(pick)
            .unwrap_or_else(|| panic!("no {what} in {seen:?}"))
    };
    let base_commit = at("commit of the base", &|r| {
        r.method == "PUT"
            && r.path
                .contains(&format!("digest={}", base.replace(':', "%3A")))
    });
    let third = services()[2].repository();
    let third_upload = at("upload by the third image", &|r| {
        r.method == "POST" && r.path.contains(&format!("/v2/{third}/blobs/uploads/"))
    });
    assert!(
        third_upload < base_commit,
        "the third image sent its own blobs while the first sent the base: {seen:?}"
    );
    assert_eq!(
        seen.iter()
            .filter(|r| r.method == "PUT" && r.path.contains(&base.replace(':', "%3A")))
            .count(),
        1,
        "the base sent once"
    );
    assert!(summary.blobs_mounted >= 2, "{summary:?}");
    for s in services() {
        let repo = s.repository();
        assert_eq!(
            digest_of(&lab.upstream.host(), &repo, "current-tripleo").await,
            digest_of(&lab.local.host(), &repo, "current-tripleo").await,
            "{repo}"
        );
    }
}

/// The copy that claimed a shared blob fails to send it: the image that
/// waited for it sends it itself once it finishes, and is copied.
#[tokio::test]
async fn a_waiting_image_sends_a_shared_blob_whose_sender_failed() {
    let lab = lab::lab().await;
    let source = FaultyProxy::start(&lab.upstream.host()).await.unwrap();
    let proxy = FaultyProxy::start(&lab.local.host()).await.unwrap();
    let mut two = mirror_items_from(&lab, &source.host(), &proxy.host());
    two.truncate(2);
    let first = ImageRef::parse(&lab.images[0]).unwrap();
    let base = base_layer(&lab).await;
    // The first image reads the base late (the second finds it claimed and
    // waits), then every upload of its fails.
    source.fail_next(
        1,
        &format!("GET /v2/{}/blobs/{base}", first.repository),
        Fault::Delay { millis: 2000 },
    );
    proxy.fail_next(
        100,
        &format!("PUT /v2/{}/blobs/uploads/", first.repository),
        Fault::Status(503),
    );
    let settings = RegistrySettings {
        attempts: Some(2),
        ..Default::default()
    };
    let summary = mirror_images(
        &two,
        settings,
        MirrorOptions {
            concurrency: 2,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(summary.failed.len(), 1, "{summary:?}");
    assert_eq!(summary.failed[0].source, two[0].source);
    assert_eq!(summary.copied.len(), 1, "{summary:?}");
    let second = services()[1].repository();
    let base_put = format!("digest={}", base.replace(':', "%3A"));
    assert!(
        proxy.count_status("PUT", &base_put, 503) >= 1,
        "the first image's upload of the base failed: {:?}",
        proxy.requests()
    );
    assert_eq!(
        proxy.count_status("PUT", &base_put, 201),
        1,
        "the second image sent the base itself: {:?}",
        proxy.requests()
    );
    assert_eq!(
        digest_of(&lab.upstream.host(), &second, "current-tripleo").await,
        digest_of(&lab.local.host(), &second, "current-tripleo").await
    );
}

#[tokio::test]
async fn copy_retries_through_failures_and_mirror_recovers_after_a_stopped_registry() {
    let mut lab = lab::lab().await;
    let proxy = FaultyProxy::start(&lab.local.host()).await.unwrap();
    // 503s and dropped connections on blob uploads, manifest puts and HEADs.
    proxy.fail_next(
        2,
        "PUT /v2/tripleomaster/centos-binary-nova-api/blobs/uploads/",
        Fault::Status(503),
    );
    proxy.fail_next(1, "POST /v2/", Fault::Drop);
    proxy.fail_next(
        1,
        "PUT /v2/tripleomaster/centos-binary-nova-api/manifests/",
        Fault::Status(502),
    );
    proxy.fail_next(1, "HEAD /v2/", Fault::Drop);
    let src = ImageRef::parse(&lab.images[0]).unwrap();
    let dst = ImageRef::parse(&lab.image_in(&proxy.host(), "nova-api")).unwrap();
    let (from, to) = (client(&lab.upstream.host(), 5), client(&proxy.host(), 5));
    let report = copy(&from, &src, &to, &dst).await.unwrap();
    assert_eq!(report.status, CopyStatus::Copied);
    assert_eq!(
        digest_of(&lab.local.host(), REPO, "current-tripleo").await,
        report.digest
    );
    assert!(
        proxy.count("PUT", "/blobs/uploads/")
            > blobs_of(&lab.upstream.host(), &lab.images[..1]).await.len(),
        "failures were retried"
    );

    // A stopped destination: every image fails with its reason, none is lost;
    // after the first, the others are not tried (each would wait its back-off).
    lab.local.stop().await;
    let items = mirror_items(&lab, &lab.local.host());
    let settings = RegistrySettings {
        attempts: Some(2),
        ..Default::default()
    };
    let one_at_a_time = MirrorOptions {
        concurrency: 1,
        ..Default::default()
    };
    let down = mirror_images(&items, settings.clone(), one_at_a_time).await;
    assert_eq!(down.failed.len(), items.len(), "{down:?}");
    assert!(
        down.failed
            .iter()
            .all(|f| f.error.contains(&lab.local.host())),
        "{:?}",
        down.failed
    );
    let not_tried: Vec<_> = down
        .failed
        .iter()
        .filter(|f| f.error.starts_with("not tried:"))
        .collect();
    assert_eq!(not_tried.len(), items.len() - 1, "{:?}", down.failed);
    assert!(
        not_tried
            .iter()
            .all(|f| f.error.contains("Connection refused")),
        "{not_tried:?}"
    );
    lab.local.restart().await.unwrap();
    let up = mirror_images(&items, settings, MirrorOptions::default()).await;
    assert!(up.failed.is_empty(), "{:?}", up.failed);
    assert_eq!(up.present.len(), 1, "nova-api was copied before the stop");
    assert_eq!(up.copied.len(), items.len() - 1);
    for s in services() {
        let repo = s.repository();
        assert_eq!(
            digest_of(&lab.upstream.host(), &repo, "current-tripleo").await,
            digest_of(&lab.local.host(), &repo, "current-tripleo").await
        );
    }
}

#[tokio::test]
async fn a_manifest_list_is_copied_byte_for_byte_with_its_images() {
    let lab = lab::lab().await;
    let up = client(&lab.upstream.host(), 3);
    let mut entries = Vec::new();
    for (arch, svc) in [("amd64", "nova-api"), ("arm64", "nova-conductor")] {
        let repo = format!("tripleomaster/centos-binary-{svc}");
        let m = up
            .manifest(&repo, "current-tripleo")
            .await
            .unwrap()
            .unwrap();
        // Put the child into the list's repository (by digest) first.
        let child_src = ImageRef::parse(&lab.image_in(&lab.upstream.host(), svc)).unwrap();
        let child_dst = ImageRef {
            repository: "tripleomaster/multi".into(),
            reference: m.digest.clone(),
            ..child_src.clone()
        };
        copy(&up, &child_src, &up, &child_dst).await.unwrap();
        entries.push(format!(
            r#"{{"mediaType":"{}","size":{},"digest":"{}","platform":{{"architecture":"{arch}","os":"linux"}}}}"#,
            m.media_type,
            m.bytes.len(),
            m.digest
        ));
    }
    // Unusual spacing on purpose: a re-serialized list would change the digest.
    let list = format!(
        "{{\n   \"schemaVersion\": 2,\n   \"mediaType\": \"{DOCKER_LIST}\",\n   \"manifests\": [ {} ]\n}}",
        entries.join(",\n      ")
    );
    let raw = RawManifest {
        bytes: list.clone().into(),
        media_type: DOCKER_LIST.into(),
        digest: sha256_digest(list.as_bytes()),
    };
    up.put_manifest("tripleomaster/multi", "current-tripleo", &raw)
        .await
        .unwrap();

    let src = ImageRef::parse(&format!(
        "{}/tripleomaster/multi:current-tripleo",
        lab.upstream.host()
    ))
    .unwrap();
    let dst = ImageRef::parse(&format!(
        "{}/tripleomaster/multi:current-tripleo",
        lab.local.host()
    ))
    .unwrap();
    let local = client(&lab.local.host(), 3);
    let report = copy(&up, &src, &local, &dst).await.unwrap();
    assert_eq!(report.digest, raw.digest);
    let copied = local
        .manifest("tripleomaster/multi", "current-tripleo")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(copied.bytes, raw.bytes, "byte-identical list");
    assert_eq!(copied.media_type, DOCKER_LIST);
    for child in copied.parse().unwrap().manifests {
        let m = local
            .manifest("tripleomaster/multi", &child.digest)
            .await
            .unwrap()
            .expect("child manifest copied");
        for blob in m.parse().unwrap().layers {
            assert!(
                local
                    .blob_exists("tripleomaster/multi", &blob.digest)
                    .await
                    .unwrap()
            );
        }
    }

    // Under verify, a blob lost from a listed image is found and sent again.
    let child = copied.parse().unwrap().manifests[1].digest.clone();
    let config = config_of(&local, "tripleomaster/multi", &child).await;
    lab.local.lose_blob(&config).unwrap();
    let opts = CopyOptions {
        verify: true,
        ..Default::default()
    };
    let ctx = CopyContext::default();
    let fixed = copy_image(&up, &src, &local, &dst, opts, &ctx)
        .await
        .unwrap();
    assert_eq!(fixed.status, CopyStatus::Repaired, "{fixed:?}");
    assert_eq!((fixed.blobs_missing, fixed.blobs_sent), (1, 1), "{fixed:?}");
    assert!(
        local
            .blob_exists("tripleomaster/multi", &config)
            .await
            .unwrap()
    );
    let again = copy_image(&up, &src, &local, &dst, opts, &ctx)
        .await
        .unwrap();
    assert_eq!(again.status, CopyStatus::Present, "{again:?}");
}

#[tokio::test]
async fn patched_images_are_rebuilt_with_their_own_user_tagged_apex_and_pushed() {
    let lab = lab::lab().await;
    let items = mirror_items(&lab, &lab.local.host());
    let summary = mirror_images(
        &items,
        RegistrySettings::default(),
        MirrorOptions::default(),
    )
    .await;
    assert!(summary.failed.is_empty(), "{:?}", summary.failed);

    let containers = tempfile::tempdir().unwrap();
    for (dir, image) in [
        ("nova-api", "nova-api"),
        ("neutron-server", "neutron-server"),
    ] {
        std::fs::create_dir_all(containers.path().join(dir)).unwrap();
        std::fs::write(
            containers.path().join(dir).join("Dockerfile"),
            format!(
                "FROM {}\nARG REAL_USER\nUSER root\nRUN echo patched > /var/lib/{image}/patched\n\
                 LABEL apex.real_user=$REAL_USER\nUSER $REAL_USER\n",
                lab.image_in(&lab.local.host(), image)
            ),
        )
        .unwrap();
    }
    std::fs::create_dir_all(containers.path().join("not-in-registry")).unwrap();
    std::fs::write(
        containers.path().join("not-in-registry/Dockerfile"),
        "FROM scratch\n",
    )
    .unwrap();

    let summary = rebuild_lua(
        &lab,
        containers.path(),
        &["neutron-server", "not-in-registry", "nova-api"],
    )
    .await;
    assert_eq!(list(&summary["failed"]).len(), 0, "{summary}");
    assert_eq!(
        list(&summary["missing"]),
        vec![serde_json::json!("not-in-registry")]
    );
    let rebuilt = list(&summary["rebuilt"]);
    let users: Vec<(&str, &str)> = rebuilt
        .iter()
        .map(|r| (r["image"].as_str().unwrap(), r["user"].as_str().unwrap()))
        .collect();
    let host = lab.local.host();
    assert_eq!(
        users,
        vec![
            (
                format!("{host}/tripleomaster/centos-binary-neutron-server:apex").as_str(),
                "neutron"
            ),
            (
                format!("{host}/tripleomaster/centos-binary-nova-api:apex").as_str(),
                "nova"
            ),
        ]
    );
    for r in &rebuilt {
        let (image, user, digest) = (
            r["image"].as_str().unwrap(),
            r["user"].as_str().unwrap(),
            r["digest"].as_str().unwrap(),
        );
        let repo = ImageRef::parse(image).unwrap().repository;
        assert_eq!(digest_of(&host, &repo, "apex").await, digest);
        let hex = digest.strip_prefix("sha256:").unwrap();
        assert_eq!(
            digest_of(&host, &repo, &format!("apex-{}", &hex[..12])).await,
            digest,
            "the history tag names the same manifest"
        );
        let config = client(&host, 3).image_config(&repo, "apex").await.unwrap();
        assert_eq!(config["config"]["User"], user, "runs as its own user again");
        assert_eq!(config["config"]["Labels"]["apex.real_user"], user);
    }
    let untouched = client(&host, 3)
        .tags("tripleomaster/centos-binary-nova-conductor")
        .await
        .unwrap();
    assert_eq!(
        untouched,
        vec!["current-tripleo".to_string()],
        "images without patches are not rebuilt"
    );
    lab.cleanup().await;
}

/// Runs a Lua chunk on a fresh host with `...` = `args` (a table).
async fn run_lua(plan: bool, chunk: &str, args: serde_json::Value) -> anyhow::Result<()> {
    let host = apex::lua::Host::new(apex::lua::HostConfig {
        plan,
        ..Default::default()
    })?;
    let func = host
        .lua()
        .load(chunk)
        .set_name("@containers_test.lua")
        .into_function()?;
    let args = host.to_lua(&args)?;
    host.call(&func, args).await?;
    Ok(())
}

/// The items of a list from Lua (an empty one may come back as `{}`).
fn list(v: &serde_json::Value) -> Vec<serde_json::Value> {
    match v {
        serde_json::Value::Array(a) => a.clone(),
        serde_json::Value::Object(o) if o.is_empty() => Vec::new(),
        other => panic!("not a list: {other}"),
    }
}

/// Runs the patched-image rebuild of step 8d (`apex.rebuild`, Lua over the
/// engine and registry primitives) for `images` staged in `stage` against
/// the lab's local registry; returns its result.
async fn rebuild_lua(
    lab: &lab::Lab,
    stage: &std::path::Path,
    images: &[&str],
) -> serde_json::Value {
    use mlua::LuaSerdeExt as _;
    let host = apex::lua::Host::new(apex::lua::HostConfig::default()).unwrap();
    let chunk = r#"
local o = ...
return require("apex.rebuild").patched({
  site = {local_registry = o.registry, namespace = "tripleomaster", upstream = "unused"},
  images = o.images, stage = o.stage, engine = o.engine, concurrency = 2,
})
"#;
    let func = host
        .lua()
        .load(chunk)
        .set_name("@rebuild_test.lua")
        .into_function()
        .unwrap();
    let args = host
        .to_lua(&serde_json::json!({
            "registry": lab.local.host(),
            "images": images,
            "stage": stage,
            "engine": { "endpoint": lab.engine.endpoint },
        }))
        .unwrap();
    let out = host.call(&func, args).await.unwrap();
    host.lua()
        .from_value(out.into_iter().next().unwrap())
        .unwrap()
}

#[tokio::test]
async fn lua_bindings_build_push_copy_mirror_tag_check_delete_and_the_lua_rebuild() {
    let lab = lab::lab().await;
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(
        ctx.path().join("Dockerfile"),
        "FROM apexlab/busybox:base\nARG REAL_USER\nUSER $REAL_USER\n",
    )
    .unwrap();
    let containers = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(containers.path().join("nova-conductor")).unwrap();
    std::fs::write(
        containers.path().join("nova-conductor/Dockerfile"),
        format!(
            "FROM {}\nARG REAL_USER\nUSER root\nRUN touch /patched\nUSER $REAL_USER\n",
            lab.image_in(&lab.local.host(), "nova-conductor")
        ),
    )
    .unwrap();
    let args = serde_json::json!({
        "engine": { "endpoint": lab.engine.endpoint },
        "upstream": lab.upstream.host(),
        "local": lab.local.host(),
        "context": ctx.path(),
        "containers": containers.path(),
    });
    let chunk = r#"
local core = require("apex.core")
local lab = ...
local engine = lab.engine
local built = core.engine.build({context = lab.context, tag = "apexlab/lua-build:1", build_args = {REAL_USER = "daemon"}, engine = engine})
assert(built.id:match("^sha256:"), built.id)
local info = core.engine.inspect({image = "apexlab/lua-build:1", engine = engine})
assert(info.user == "daemon", info.user)
local target = lab["local"] .. "/lua/build:1"
assert(core.engine.tag({source = "apexlab/lua-build:1", target = target, engine = engine}).target == target)
local pushed = core.engine.push({image = target, engine = engine})
assert(pushed.digest:match("^sha256:"), pushed.digest)
local pulled = core.engine.pull({image = target, engine = engine})
assert(pulled.user == "daemon")

local cat = core.registry.catalog({registry = lab.upstream})
assert(#cat.repositories == 3, #cat.repositories)
local tags = core.registry.tags({registry = lab.upstream, repository = "tripleomaster/centos-binary-nova-api"})
assert(tags.tags[1] == "current-tripleo" and #tags.tags == 1)
assert(#core.registry.tags({registry = lab.upstream, repository = "no/such"}).tags == 0)

local src = lab.upstream .. "/tripleomaster/centos-binary-nova-api:current-tripleo"
local one = core.registry.copy({source = src, destination = lab["local"] .. "/tripleomaster/centos-binary-nova-api:current-tripleo"})
assert(one.status == "copied" and one.blobs_sent > 0, one.status)

local images = {}
for _, svc in ipairs({"nova-api", "nova-conductor", "neutron-server"}) do
  images[#images + 1] = {
    source = lab.upstream .. "/tripleomaster/centos-binary-" .. svc .. ":current-tripleo",
    destination = lab["local"] .. "/tripleomaster/centos-binary-" .. svc .. ":current-tripleo",
  }
end
local m = core.registry.mirror({images = images, concurrency = 2})
assert(#m.present == 1 and #m.copied == 2 and #m.failed == 0)
local again = core.registry.mirror({images = images})
assert(#again.present == 3 and again.blobs_sent == 0)
local checked = core.registry.mirror({images = images, verify = true})
assert(#checked.present == 3 and #checked.repaired == 0 and checked.present[1].blobs_present > 0)
local one_checked = core.registry.copy({source = src, destination = images[1].destination, verify = true})
assert(one_checked.status == "present" and one_checked.blobs_missing == 0, one_checked.status)

local ok, err = pcall(core.registry.mirror, {images = {{source = lab.upstream .. "/no/such:1", destination = lab["local"] .. "/x/y:1"}}})
err = tostring(err)
assert(not ok and err:match("registry%.mirror: 1 of the images failed") and err:match("no such image"), err)
local r = core.registry.mirror({images = {{source = lab.upstream .. "/no/such:1", destination = lab["local"] .. "/x/y:1"}}, allow_failures = true})
assert(#r.failed == 1 and r.failed[1].error:match("no such image"))

local ok2, err2 = pcall(core.registry.copy, {source = "tripleomaster/x:1", destination = lab["local"] .. "/x:1"})
err2 = tostring(err2)
assert(not ok2 and err2:match("registry%.copy: image reference") and err2:match("names no registry"), err2)
local ok3, err3 = pcall(core.registry.copy, {source = src, destination = lab["local"] .. "/x:1", bogus = 1})
err3 = tostring(err3)
assert(not ok3 and err3:match("bad options") and err3:match("bogus"), err3)

local rb = require("apex.rebuild").patched({site = {local_registry = lab["local"], namespace = "tripleomaster", upstream = lab.upstream},
  images = {"nova-conductor"}, stage = lab.containers, engine = engine})
assert(#rb.rebuilt == 1 and rb.rebuilt[1].user == "nova", core.json.dump(rb))
assert(rb.rebuilt[1].image == lab["local"] .. "/tripleomaster/centos-binary-nova-conductor:apex")
local apex_digest = rb.rebuilt[1].digest
local history = "apex-" .. apex_digest:sub(8, 19)
local put = core.registry.put_tag({registry = lab["local"], repository = "tripleomaster/centos-binary-nova-conductor",
  digest = apex_digest, tag = "copy-of-apex"})
assert(put.digest == apex_digest)
assert(core.registry.digest({registry = lab["local"], repository = "tripleomaster/centos-binary-nova-conductor",
  reference = "copy-of-apex"}).digest == apex_digest)
assert(core.registry.digest({registry = lab["local"], repository = "tripleomaster/centos-binary-nova-conductor",
  reference = history}).digest == apex_digest, history)
local check = core.registry.missing_blobs({registry = lab["local"], repository = "tripleomaster/centos-binary-nova-conductor",
  reference = "apex"})
assert(check.digest == apex_digest and #check.missing == 0 and check.present > 1, check.present)
assert(core.registry.missing_blobs({registry = lab["local"], repository = "no/such", reference = "x"}).digest == nil)
local ok4, err4 = pcall(core.registry.put_tag, {registry = lab["local"], repository = "tripleomaster/centos-binary-nova-conductor",
  digest = "sha256:" .. string.rep("0", 64), tag = "x"})
assert(not ok4 and tostring(err4):match("no manifest"), tostring(err4))
core.registry.delete_manifest({registry = lab["local"], repository = "tripleomaster/centos-binary-nova-conductor",
  digest = apex_digest})
assert(core.registry.digest({registry = lab["local"], repository = "tripleomaster/centos-binary-nova-conductor",
  reference = "copy-of-apex"}).digest == nil, "every tag goes with the manifest")
"#;
    run_lua(false, chunk, args).await.unwrap();

    let plan = r#"
local core = require("apex.core")
local lab = ...
local ok, err = pcall(core.registry.copy, {source = lab.upstream .. "/a/b:1", destination = lab.upstream .. "/a/c:1"})
err = tostring(err)
assert(not ok and err:match("refused in plan mode"), err)
assert(#core.registry.catalog({registry = lab.upstream}).repositories == 3, "reads are allowed in plan mode")
"#;
    run_lua(
        true,
        plan,
        serde_json::json!({"upstream": lab.upstream.host()}),
    )
    .await
    .unwrap();
    engine::remove_image(&lab.docker, "apexlab/lua-build:1", true)
        .await
        .unwrap();
    lab.cleanup().await;
}

#[tokio::test]
async fn copy_to_a_tls_registry_trusts_the_given_ca_only() {
    let lab = lab::lab().await;
    let tls = apex_lab::registry::LabRegistry::start_tls("tls")
        .await
        .unwrap();
    let src = ImageRef::parse(&lab.images[0]).unwrap();
    let dst = ImageRef::parse(&lab.image_in(&tls.host(), "nova-api")).unwrap();
    let from = client(&lab.upstream.host(), 3);

    let untrusted = RegistrySettings {
        tls: vec![tls.host()],
        attempts: Some(1),
        ..Default::default()
    };
    let to = apex::registry::Registry::new(&tls.host(), &untrusted).unwrap();
    let err = copy(&from, &src, &to, &dst).await.unwrap_err();
    assert!(
        format!("{err:#}").contains(&format!("https://{}", tls.host())),
        "{err:#}"
    );

    let trusted = RegistrySettings {
        ca_file: tls.ca_file(),
        ..untrusted
    };
    let to = apex::registry::Registry::new(&tls.host(), &trusted).unwrap();
    let report = copy(&from, &src, &to, &dst).await.unwrap();
    assert_eq!(report.status, CopyStatus::Copied);
    assert_eq!(
        to.manifest_digest(REPO, "current-tripleo").await.unwrap(),
        Some(report.digest)
    );
    assert_eq!(to.catalog().await.unwrap(), vec![REPO.to_string()]);
}

#[tokio::test]
async fn credentials_come_from_settings_or_a_docker_config_file() {
    let lab = lab::lab().await;
    let secured = apex_lab::registry::LabRegistry::start_with_auth("auth", "apex", "s3cret")
        .await
        .unwrap();
    let host = secured.host();

    // A 401 says whether credentials were missing or refused.
    let anonymous = client(&host, 1);
    let err = format!("{:#}", anonymous.catalog().await.unwrap_err());
    assert!(
        err.contains("401") && err.contains(&format!("no credentials for {host}")),
        "{err}"
    );
    let refused = Registry::new(
        &host,
        &RegistrySettings {
            attempts: Some(1),
            credentials: std::collections::BTreeMap::from([(
                host.clone(),
                apex::registry::Credentials {
                    username: "apex".into(),
                    password: "wrong".into(),
                },
            )]),
            ..Default::default()
        },
    )
    .unwrap();
    let err = format!("{:#}", refused.catalog().await.unwrap_err());
    assert!(
        err.contains("the registry refused the credentials given for"),
        "{err}"
    );

    // Engine push with credentials from the caller.
    let creds = apex::registry::Credentials {
        username: "apex".into(),
        password: "s3cret".into(),
    };
    let target = format!("{host}/{REPO}:pushed");
    engine::pull_image(&lab.docker, &lab.images[0], None)
        .await
        .unwrap();
    engine::tag_image(&lab.docker, &lab.images[0], &target)
        .await
        .unwrap();
    let wrong = apex::registry::Credentials {
        password: "nope".into(),
        ..creds.clone()
    };
    assert!(
        engine::push_image(&lab.docker, &target, Some(&wrong))
            .await
            .is_err(),
        "a wrong password is refused"
    );
    let pushed = engine::push_image(&lab.docker, &target, Some(&creds))
        .await
        .unwrap();

    // Registry client with credentials in settings.
    let settings = RegistrySettings {
        credentials: [(host.clone(), creds.clone())].into(),
        ..Default::default()
    };
    let reg = apex::registry::Registry::new(&host, &settings).unwrap();
    assert_eq!(
        reg.manifest_digest(REPO, "pushed").await.unwrap(),
        Some(pushed.digest.clone())
    );

    // ... and from a Docker config file as `docker login` writes it.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        format!(r#"{{"auths":{{"{host}":{{"auth":"YXBleDpzM2NyZXQ="}}}}}}"#),
    )
    .unwrap();
    let settings = RegistrySettings {
        docker_config: Some(config),
        ..Default::default()
    };
    let reg = apex::registry::Registry::new(&host, &settings).unwrap();
    assert_eq!(reg.catalog().await.unwrap(), vec![REPO.to_string()]);

    // A copy into the secured registry authenticates every request it makes.
    let src = ImageRef::parse(&lab.images[1]).unwrap();
    let dst = ImageRef::parse(&lab.image_in(&host, "nova-conductor")).unwrap();
    let report = copy(&client(&lab.upstream.host(), 3), &src, &reg, &dst)
        .await
        .unwrap();
    assert_eq!(report.status, CopyStatus::Copied);
    assert!(report.blobs_sent >= 1);
    engine::remove_image(&lab.docker, &target, false)
        .await
        .unwrap();
    lab.cleanup().await;
}

/// Items copying the lab's three images into `n` destination repositories
/// `tripleomaster/<prefix>-<i>` of `to` (any number of images from three).
fn fanout_items(lab: &lab::Lab, to: &str, prefix: &str, n: usize) -> Vec<MirrorItem> {
    (0..n)
        .map(|i| MirrorItem {
            source: lab.images[i % lab.images.len()].clone(),
            destination: format!("{to}/tripleomaster/{prefix}-{i}:current-tripleo"),
        })
        .collect()
}

/// Scope sets the token server handed out more than once.
fn duplicates(issued: &[String]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    issued
        .iter()
        .filter(|s| !seen.insert(s.as_str()))
        .cloned()
        .collect()
}

#[tokio::test]
async fn token_auth_mirror_of_8_and_100_images_fetches_each_scope_once() {
    let lab = lab::lab().await;
    let tokened = LabRegistry::start_with_token("token", 300).await.unwrap();
    let tokens = tokened.token_server().unwrap();
    let host = tokened.host();

    let items = fanout_items(&lab, &host, "eight", 8);
    let summary = mirror_images(
        &items,
        RegistrySettings::default(),
        MirrorOptions::default(),
    )
    .await;
    assert!(summary.failed.is_empty(), "{:?}", summary.failed);
    assert_eq!(summary.copied.len(), 8);
    let issued = tokens.issued();
    assert_eq!(summary.token_fetches as usize, issued.len());
    // One token per repository: each names the repositories it mounts from.
    for i in 0..8 {
        let repo = format!("tripleomaster/eight-{i}");
        let own: Vec<&String> = issued
            .iter()
            .filter(|s| s.contains(&format!("repository:{repo}:pull,push")))
            .collect();
        assert_eq!(own.len(), 1, "{repo}: one token: {issued:#?}");
    }
    assert_eq!(issued.len(), 8, "8 tokens for 8 repositories: {issued:#?}");
    assert!(
        summary.blobs_mounted > 0,
        "shared blobs are mounted across repositories with auth: {summary:?}"
    );
    for item in &items {
        let (s, d) = (
            ImageRef::parse(&item.source).unwrap(),
            ImageRef::parse(&item.destination).unwrap(),
        );
        assert_eq!(
            digest_of(&lab.upstream.host(), &s.repository, "current-tripleo").await,
            client(&host, 3)
                .manifest_digest(&d.repository, "current-tripleo")
                .await
                .unwrap()
                .unwrap()
        );
    }

    // As a source: one pull token per repository.
    tokens.reset();
    let back: Vec<MirrorItem> = items
        .iter()
        .map(|i| MirrorItem {
            source: i.destination.clone(),
            destination: i.destination.replace(&host, &lab.local.host()),
        })
        .collect();
    let summary = mirror_images(&back, RegistrySettings::default(), MirrorOptions::default()).await;
    assert!(summary.failed.is_empty(), "{:?}", summary.failed);
    let issued = tokens.issued();
    assert_eq!(
        issued.len(),
        8,
        "one token per source repository: {issued:#?}"
    );
    assert!(
        issued
            .iter()
            .all(|s| s.ends_with(":pull") && !s.contains(' ')),
        "{issued:#?}"
    );

    // 100 images at the default concurrency.
    tokens.reset();
    let items = fanout_items(&lab, &host, "hundred", 100);
    let summary = mirror_images(
        &items,
        RegistrySettings::default(),
        MirrorOptions::default(),
    )
    .await;
    assert!(summary.failed.is_empty(), "{:?}", summary.failed.first());
    assert_eq!(summary.copied.len(), 100);
    let issued = tokens.issued();
    assert!(duplicates(&issued).is_empty(), "{:#?}", duplicates(&issued));
    assert_eq!(issued.len(), 100, "one token per repository");

    // Reruns of the 100: trusting the tags (one HEAD per image), then
    // verifying them (a GET of each manifest and a HEAD of each blob more);
    // one token per repository at most.
    let mut times = Vec::new();
    for verify in [false, true] {
        tokens.reset();
        let opts = MirrorOptions {
            copy: CopyOptions {
                verify,
                ..Default::default()
            },
            ..Default::default()
        };
        let start = std::time::Instant::now();
        let rerun = mirror_images(&items, RegistrySettings::default(), opts).await;
        times.push(start.elapsed());
        assert_eq!(rerun.present.len(), 100, "{:?}", rerun.failed.first());
        assert_eq!(rerun.blobs_sent, 0);
        assert_eq!(tokens.fetches(), 100, "{:#?}", tokens.issued());
    }
    eprintln!(
        "rerun of 100 present images: {:?} trusting the tags, {:?} verifying every blob",
        times[0], times[1]
    );
}

#[tokio::test]
async fn a_token_that_runs_out_during_a_slow_upload_is_refreshed_and_the_copy_finishes() {
    let lab = lab::lab().await;
    let tokened = LabRegistry::start_with_token("short-token", 3)
        .await
        .unwrap();
    let tokens = tokened.token_server().unwrap();
    let proxy = FaultyProxy::start(&tokened.host()).await.unwrap();
    let src = ImageRef::parse(&lab.images[0]).unwrap();
    let from = client(&lab.upstream.host(), 3);

    // The first blob upload is slow (its body held 4 s after the registry
    // authorized it): the 3 s token runs out meanwhile; later requests get a
    // fresh token before they are sent, none is refused.
    // Streamed blobs (POST, PATCH, commit PUT): the PATCH carries the bytes.
    proxy.fail_next(1, "PATCH /v2/", Fault::SlowBody { millis: 4000 });
    let to = client(&proxy.host(), 3);
    let dst = ImageRef::parse(&lab.image_in(&proxy.host(), "nova-api")).unwrap();
    let report = copy_with(&from, &src, &to, &dst, streaming())
        .await
        .unwrap();
    assert_eq!(report.status, CopyStatus::Copied);
    let scope = format!("repository:{REPO}:pull,push");
    let issued = tokens.issued();
    assert!(
        issued.iter().filter(|s| **s == scope).count() >= 2,
        "the token was refreshed: {issued:#?}"
    );
    let refused: usize = ["HEAD", "GET", "POST", "PATCH", "PUT", "DELETE"]
        .iter()
        .map(|m| proxy.count_status(m, "/v2/", 401))
        .sum();
    assert_eq!(
        refused,
        1,
        "only the first request met a challenge: {:?}",
        proxy.requests()
    );
    assert_eq!(
        digest_of(&tokened.host(), REPO, "current-tripleo").await,
        report.digest
    );

    // A blob upload whose request reaches the registry after its token ran
    // out is refused (401) and restarted once with a fresh token.
    proxy.reset();
    tokens.reset();
    proxy.fail_next(1, "PATCH /v2/", Fault::Delay { millis: 4000 });
    let dst = ImageRef::parse(&lab.image_in(&proxy.host(), "neutron-server")).unwrap();
    let src = ImageRef::parse(&lab.images[2]).unwrap();
    let report = copy_with(&from, &src, &to, &dst, streaming())
        .await
        .unwrap();
    assert_eq!(report.status, CopyStatus::Copied);
    assert_eq!(
        proxy.count_status("PATCH", "/blobs/uploads/", 401),
        1,
        "{:?}",
        proxy.requests()
    );
    assert_eq!(
        digest_of(
            &tokened.host(),
            "tripleomaster/centos-binary-neutron-server",
            "current-tripleo"
        )
        .await,
        report.digest
    );

    // A blob sent from memory: its PUT refused (401) is answered with a
    // fresh token and sent again (the body is at hand), no restart.
    proxy.reset();
    tokens.reset();
    proxy.fail_next(1, "PUT /v2/", Fault::Delay { millis: 4000 });
    let dst = ImageRef::parse(&lab.image_in(&proxy.host(), "nova-conductor")).unwrap();
    let src = ImageRef::parse(&lab.images[1]).unwrap();
    let report = copy(&from, &src, &to, &dst).await.unwrap();
    assert_eq!(report.status, CopyStatus::Copied);
    assert_eq!(
        proxy.count_status("PUT", "/blobs/uploads/", 401),
        1,
        "{:?}",
        proxy.requests()
    );
    assert_eq!(proxy.count("PATCH", "/blobs/uploads/"), 0);
    assert_eq!(
        digest_of(
            &tokened.host(),
            "tripleomaster/centos-binary-nova-conductor",
            "current-tripleo"
        )
        .await,
        report.digest
    );
}

#[tokio::test]
async fn a_cross_repository_mount_with_token_auth_sends_the_base_layer_once() {
    let lab = lab::lab().await;
    let tokened = LabRegistry::start_with_token("mount", 300).await.unwrap();
    let tokens = tokened.token_server().unwrap();
    let proxy = FaultyProxy::start(&tokened.host()).await.unwrap();
    let from = client(&lab.upstream.host(), 3);
    let to = client(&proxy.host(), 3);
    let ctx = CopyContext::default();
    for (i, svc) in ["nova-api", "nova-conductor"].iter().enumerate() {
        let src = ImageRef::parse(&lab.images[i]).unwrap();
        let dst = ImageRef::parse(&lab.image_in(&proxy.host(), svc)).unwrap();
        copy_image(&from, &src, &to, &dst, CopyOptions::default(), &ctx)
            .await
            .unwrap();
    }
    let blobs = blobs_of(&lab.upstream.host(), &lab.images[..2]).await;
    assert_eq!(
        proxy.count("PUT", "/blobs/uploads/"),
        blobs.len(),
        "every distinct blob sent once: {:?}",
        proxy.requests()
    );
    assert!(
        proxy.count_status("POST", "mount=", 201) >= 1,
        "{:?}",
        proxy.requests()
    );
    // One token per repository; the second image's first one already
    // covers the repository it mounts from.
    let issued = tokens.issued();
    assert_eq!(
        issued,
        [
            format!("repository:{REPO}:pull,push"),
            format!(
                "repository:{REPO}:pull repository:tripleomaster/centos-binary-nova-conductor:pull,push"
            )
        ],
        "the mount's token covers the repository mounted from"
    );
    // Every request to the registry and to its token server names apex.
    let agent = apex::http_client::USER_AGENT;
    assert_eq!(agent, format!("apex/{}", env!("CARGO_PKG_VERSION")));
    let requests = proxy.requests();
    assert!(
        requests
            .iter()
            .all(|r| r.user_agent.as_deref() == Some(agent)),
        "{requests:?}"
    );
    let agents = tokens.user_agents();
    assert!(
        !agents.is_empty() && agents.iter().all(|a| a == agent),
        "{agents:?}"
    );
}

#[tokio::test]
async fn a_rate_limit_with_retry_after_is_waited_out_within_the_budget() {
    let lab = lab::lab().await;
    let proxy = FaultyProxy::start(&lab.upstream.host()).await.unwrap();
    let items: Vec<MirrorItem> = mirror_items(&lab, &lab.local.host())
        .into_iter()
        .map(|i| MirrorItem {
            source: i.source.replace(&lab.upstream.host(), &proxy.host()),
            ..i
        })
        .collect();
    proxy.fail_next(
        2,
        "/manifests/",
        Fault::RateLimit {
            retry_after_secs: 1,
        },
    );
    let start = std::time::Instant::now();
    let summary = mirror_images(
        &items,
        RegistrySettings::default(),
        MirrorOptions::default(),
    )
    .await;
    assert!(summary.failed.is_empty(), "{:?}", summary.failed);
    assert_eq!(summary.copied.len(), 3);
    assert!(
        (1.9..4.0).contains(&summary.rate_limit_wait_secs),
        "the summary says how long it waited: {}",
        summary.rate_limit_wait_secs
    );
    assert!(start.elapsed() >= std::time::Duration::from_secs(1));
    assert_eq!(
        proxy.count_status("HEAD", "/manifests/", 429)
            + proxy.count_status("GET", "/manifests/", 429),
        2
    );

    // Asked to wait longer than the budget: the image fails, saying so.
    proxy.fail_next(
        1,
        "/manifests/",
        Fault::RateLimit {
            retry_after_secs: 3600,
        },
    );
    let settings = RegistrySettings {
        rate_limit_wait: Some(5),
        ..Default::default()
    };
    let one = vec![MirrorItem {
        source: items[0].source.clone(),
        destination: format!("{}/other/x:1", lab.local.host()),
    }];
    let summary = mirror_images(&one, settings, MirrorOptions::default()).await;
    assert_eq!(summary.failed.len(), 1);
    let err = &summary.failed[0].error;
    assert!(
        err.contains("rate limited") && err.contains("rate_limit_wait"),
        "{err}"
    );
}

#[tokio::test]
async fn credentials_come_from_a_docker_credential_helper_and_are_never_logged() {
    let lab = lab::lab().await;
    let secured = LabRegistry::start_with_auth("helper", "apex", "hunter2-secret")
        .await
        .unwrap();
    let host = secured.host();
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let calls = dir.path().join("calls");
    let helper = bin.join("docker-credential-apextest");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread server\necho \"$server\" >> {calls}\n\
             if [ \"$server\" = \"{host}\" ]; then\n\
               printf '{{\"ServerURL\":\"%s\",\"Username\":\"apex\",\"Secret\":\"hunter2-secret\"}}' \"$server\"\n\
             else\n  echo 'credentials not found in native keychain'; exit 1\nfi\n",
            calls = calls.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let script = dir.path().join("copy.lua");
    std::fs::write(
        &script,
        r#"
local core = require("apex.core")
local src, dst, reg = ...
local r = core.registry.copy({source = src, destination = dst})
assert(r.status == "copied", r.status)
assert(#core.registry.catalog({registry = reg}).repositories >= 1)
print("copied " .. r.digest)
"#,
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for (n, config) in [
        format!(r#"{{"credHelpers":{{"{host}":"apextest"}}}}"#),
        format!(r#"{{"credsStore":"apextest","auths":{{"{host}":{{}}}}}}"#),
    ]
    .iter()
    .enumerate()
    {
        let conf_dir = dir.path().join(format!("docker-{n}"));
        std::fs::create_dir_all(&conf_dir).unwrap();
        std::fs::write(conf_dir.join("config.json"), config).unwrap();
        let dst = format!("{host}/tripleomaster/helped-{n}:1");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_apex"))
            .arg("-vv")
            .arg("run")
            .arg(&script)
            .args([&lab.images[0], &dst, &host])
            .env("PATH", &path)
            .env("DOCKER_CONFIG", &conf_dir)
            .env_remove("APEX_LUA_PATH")
            .output()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(out.status.success(), "{config}\n{stdout}\n{stderr}");
        assert!(stdout.contains("copied sha256:"), "{stdout}");
        assert!(
            !stdout.contains("hunter2") && !stderr.contains("hunter2"),
            "the secret is never logged:\n{stderr}"
        );
    }
    let asked = std::fs::read_to_string(&calls).unwrap();
    // credHelpers names the helper for this registry only; credsStore is
    // asked for every registry (upstream too, which it has nothing for).
    assert!(asked.lines().filter(|l| *l == host).count() >= 2, "{asked}");
}

/// Writes `<dir>/state.json` with rebuild records naming these digests.
fn write_state(dir: &std::path::Path, registry: &str, rebuilt: &[(&str, &str)]) {
    std::fs::create_dir_all(dir).unwrap();
    let mut steps = serde_json::Map::new();
    for (img, digest) in rebuilt {
        steps.insert(
            format!("rebuild/{img}"),
            serde_json::json!({"step": 8, "status": "done", "inputs": "x", "outputs": {
                "digest": digest, "user": "nova",
                "source": format!("{registry}/tripleomaster/centos-binary-{img}:current-tripleo")}}),
        );
    }
    let state = serde_json::json!({"version": 1, "steps": steps, "runs": []});
    std::fs::write(
        dir.join("state.json"),
        serde_json::to_vec_pretty(&state).unwrap(),
    )
    .unwrap();
}

/// `apex registry prune ARGS`: its exit status and stdout (stderr on failure).
fn prune(args: &[&str], dirs: &[std::path::PathBuf]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_apex"))
        .args(["registry", "prune"])
        .args(args)
        .args(dirs)
        .output()
        .unwrap();
    let text = if out.status.success() {
        String::from_utf8_lossy(&out.stdout).into_owned()
    } else {
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    (out.status.success(), text)
}

#[tokio::test]
async fn prune_removes_exactly_the_superseded_apex_manifests() {
    let lab = lab::lab().await;
    let host = lab.local.host();
    let summary = mirror_images(
        &mirror_items(&lab, &host),
        RegistrySettings::default(),
        MirrorOptions::default(),
    )
    .await;
    assert!(summary.failed.is_empty(), "{:?}", summary.failed);
    let containers = tempfile::tempdir().unwrap();
    let stage = |images: &[(&'static str, &str)]| -> Vec<&'static str> {
        let _ = std::fs::remove_dir_all(containers.path());
        for (image, marker) in images {
            let d = containers.path().join(image);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(
                d.join("Dockerfile"),
                format!(
                    "FROM {}\nARG REAL_USER\nUSER root\nRUN echo {marker} > /patched\nUSER $REAL_USER\n",
                    lab.image_in(&host, image)
                ),
            )
            .unwrap();
        }
        images.iter().map(|(i, _)| *i).collect()
    };
    let digest = |s: &serde_json::Value, img: &str| {
        assert_eq!(list(&s["failed"]).len(), 0, "{s}");
        list(&s["rebuilt"])
            .iter()
            .find(|r| r["name"] == img)
            .unwrap()["digest"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let names = stage(&[("nova-api", "one"), ("neutron-server", "one")]);
    let first = rebuild_lua(&lab, containers.path(), &names).await;
    let (nova_old, neutron) = (digest(&first, "nova-api"), digest(&first, "neutron-server"));
    // The next rebuild of nova-api supersedes the first.
    let names = stage(&[("nova-api", "two")]);
    let second = rebuild_lua(&lab, containers.path(), &names).await;
    let nova_new = digest(&second, "nova-api");
    assert_ne!(nova_old, nova_new);
    let reg = client(&host, 3);
    let mut tags = reg.tags(REPO).await.unwrap();
    tags.sort();
    assert_eq!(
        tags.len(),
        4,
        "apex, two history tags, current-tripleo: {tags:?}"
    );

    // Two deploys use the registry: one the new nova-api, one the neutron-server.
    let states = tempfile::tempdir().unwrap();
    let (a, b) = (states.path().join("a"), states.path().join("b"));
    write_state(&a, &host, &[("nova-api", &nova_new)]);
    write_state(&b, &host, &[("neutron-server", &neutron)]);
    std::fs::create_dir_all(states.path().join("no-state")).unwrap();
    let tmp_dirs = vec![a.clone(), b.clone(), states.path().join("no-state")];

    let (ok, text) = prune(&["--dry-run"], &tmp_dirs);
    assert!(ok, "{text}");
    assert!(
        text.contains(&format!("registry {host}: 2 deploy state(s) read")),
        "{text}"
    );
    assert!(
        text.contains(&format!("would delete {REPO}@{nova_old}")),
        "{text}"
    );
    assert!(
        text.contains("1 manifest(s) would delete, 2 kept"),
        "{text}"
    );
    assert!(
        text.contains("registry garbage-collect /etc/docker/registry/config.yml"),
        "{text}"
    );
    assert_eq!(
        reg.manifest_digest(REPO, &nova_old).await.unwrap(),
        Some(nova_old.clone()),
        "a dry run deletes nothing"
    );

    let (ok, text) = prune(&[], &tmp_dirs);
    assert!(ok, "{text}");
    assert!(
        text.contains(&format!("deleted {REPO}@{nova_old}")),
        "{text}"
    );
    assert!(text.contains("1 manifest(s) deleted, 2 kept"), "{text}");
    assert_eq!(
        reg.manifest_digest(REPO, &nova_old).await.unwrap(),
        None,
        "gone"
    );
    assert_eq!(
        reg.manifest_digest(REPO, "apex").await.unwrap(),
        Some(nova_new.clone())
    );
    assert_eq!(
        reg.manifest_digest("tripleomaster/centos-binary-neutron-server", "apex")
            .await
            .unwrap(),
        Some(neutron.clone())
    );
    assert_eq!(
        reg.manifest_digest(REPO, "current-tripleo").await.unwrap(),
        Some(digest_of(&lab.upstream.host(), REPO, "current-tripleo").await),
        "images other than rebuilds are untouched"
    );
    let (ok, text) = prune(&[], &tmp_dirs);
    assert!(ok && text.contains("0 manifest(s) deleted"), "{text}");

    // Without any state, nothing is deleted.
    let (ok, err) = prune(&[], &[states.path().join("no-state")]);
    assert!(!ok && err.contains("no deploy state"), "{err}");

    // A registry that does not allow deleting says how to enable it.
    let locked = LabRegistry::start_with(
        "no-delete",
        apex_lab::registry::LabRegistryOptions {
            delete: false,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let src = ImageRef::parse(&lab.images[0]).unwrap();
    let dst = ImageRef::parse(&format!("{}/{REPO}:apex", locked.host())).unwrap();
    copy(
        &client(&lab.upstream.host(), 3),
        &src,
        &client(&locked.host(), 3),
        &dst,
    )
    .await
    .unwrap();
    let (ok, err) = prune(&["--registry", &locked.host()], &tmp_dirs);
    assert!(
        !ok && err.contains("405") && err.contains("delete: enabled: true"),
        "{err}"
    );
    let locked_digest = digest_of(&locked.host(), REPO, "apex").await;
    let err = apex::registry::delete_manifest(&client(&locked.host(), 3), REPO, &locked_digest)
        .await
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("storage: delete: enabled: true"),
        "{err:#}"
    );
    lab.cleanup().await;
}

#[tokio::test]
async fn prune_keeps_a_manifest_another_tag_still_names() {
    let lab = lab::lab().await;
    let host = lab.local.host();
    let summary = mirror_images(
        &mirror_items(&lab, &host),
        RegistrySettings::default(),
        MirrorOptions::default(),
    )
    .await;
    assert!(summary.failed.is_empty(), "{:?}", summary.failed);
    // A foreign :apex on the very manifest the deploy mirrored as current-tripleo.
    let repo = "tripleomaster/centos-binary-nova-conductor";
    let reg = client(&host, 3);
    let mirrored = digest_of(&host, repo, "current-tripleo").await;
    apex::registry::put_tag(&reg, repo, &mirrored, "apex")
        .await
        .unwrap();
    assert_eq!(digest_of(&host, repo, "apex").await, mirrored);
    let states = tempfile::tempdir().unwrap();
    let a = states.path().join("a");
    write_state(&a, &host, &[]);
    let (ok, text) = prune(&["--registry", &host], std::slice::from_ref(&a));
    assert!(ok, "{text}");
    assert!(
        text.contains(&format!(
            "kept {repo}@{mirrored} (tags: apex): also tagged current-tripleo"
        )),
        "{text}"
    );
    assert!(text.contains("0 manifest(s) deleted"), "{text}");
    assert_eq!(
        reg.manifest_digest(repo, "current-tripleo").await.unwrap(),
        Some(mirrored.clone()),
        "the mirrored image the deploy uses is still there"
    );
    lab.cleanup().await;
}

/// Copy options that check every blob of an image the destination already has.
fn verifying() -> CopyOptions {
    CopyOptions {
        verify: true,
        ..Default::default()
    }
}

#[tokio::test]
async fn verify_finds_a_lost_blob_of_a_present_image_and_copies_it_again() {
    let lab = lab::lab().await;
    let proxy = FaultyProxy::start(&lab.local.host()).await.unwrap();
    let src = ImageRef::parse(&lab.images[0]).unwrap();
    let dst = ImageRef::parse(&lab.image_in(&proxy.host(), "nova-api")).unwrap();
    let (from, to) = (client(&lab.upstream.host(), 3), client(&proxy.host(), 3));
    let local = client(&lab.local.host(), 3);
    let first = copy(&from, &src, &to, &dst).await.unwrap();
    assert_eq!(first.status, CopyStatus::Copied);
    let image = from
        .manifest(REPO, "current-tripleo")
        .await
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    let blobs = image.layers.len() + 1;
    let lost = image.layers.last().unwrap().digest.clone();
    lab.local.lose_blob(&lost).unwrap();
    assert!(!local.blob_exists(REPO, &lost).await.unwrap());

    // Trusted blindly, the tag is reported present without its blob.
    let blind = copy(&from, &src, &to, &dst).await.unwrap();
    assert_eq!(blind.status, CopyStatus::Present);
    assert!(!local.blob_exists(REPO, &lost).await.unwrap());

    // Verified: the lost blob is found, sent again, the manifest pushed again.
    proxy.reset();
    let ctx = CopyContext::default();
    let fixed = copy_image(&from, &src, &to, &dst, verifying(), &ctx)
        .await
        .unwrap();
    assert_eq!(fixed.status, CopyStatus::Repaired, "{fixed:?}");
    assert_eq!(fixed.digest, first.digest);
    assert_eq!(fixed.blobs_missing, 1, "{fixed:?}");
    assert_eq!(fixed.blobs_sent, 1, "{fixed:?}");
    assert_eq!(fixed.blobs_present as usize, blobs - 1, "{fixed:?}");
    assert_eq!(proxy.count("PUT", "/blobs/uploads/"), 1);
    assert_eq!(proxy.count("PUT", "/manifests/"), 1);
    let bytes = local.blob_bytes(REPO, &lost).await.unwrap();
    assert_eq!(sha256_digest(&bytes), lost, "the blob is whole again");
    assert_eq!(
        digest_of(&lab.local.host(), REPO, "current-tripleo").await,
        first.digest
    );

    // Verified with everything there: HEADs of the tag and every blob, and
    // the manifest read from the destination; nothing asked of the source.
    proxy.reset();
    let checked = copy_image(&from, &src, &to, &dst, verifying(), &ctx)
        .await
        .unwrap();
    assert_eq!(checked.status, CopyStatus::Present);
    assert_eq!(checked.blobs_present as usize, blobs);
    let seen = proxy.requests();
    assert_eq!(seen.len(), 2 + blobs, "{seen:?}");
    assert_eq!(proxy.count("HEAD", "/blobs/"), blobs, "{seen:?}");

    // A mirror run says which images it repaired.
    let items = mirror_items(&lab, &proxy.host());
    let summary = mirror_images(
        &items,
        RegistrySettings::default(),
        MirrorOptions::default(),
    )
    .await;
    assert!(summary.failed.is_empty(), "{:?}", summary.failed);
    let neutron = ImageRef::parse(&lab.images[2]).unwrap();
    let config = config_of(&from, &neutron.repository, "current-tripleo").await;
    lab.local.lose_blob(&config).unwrap();
    let opts = MirrorOptions {
        copy: verifying(),
        ..Default::default()
    };
    let summary = mirror_images(&items, RegistrySettings::default(), opts).await;
    assert!(summary.failed.is_empty(), "{:?}", summary.failed);
    assert_eq!(summary.present.len(), 2, "{summary:?}");
    assert_eq!(summary.repaired.len(), 1, "{summary:?}");
    assert_eq!(summary.repaired[0].destination, items[2].destination);
    assert_eq!(summary.repaired[0].blobs_missing, 1);
    assert!(
        local
            .blob_exists(&neutron.repository, &config)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_failed_or_cancelled_upload_leaves_no_upload_session() {
    let lab = lab::lab().await;
    let proxy = FaultyProxy::start(&lab.local.host()).await.unwrap();
    let source = FaultyProxy::start(&lab.upstream.host()).await.unwrap();
    let src = ImageRef::parse(&lab.image_in(&source.host(), "nova-api")).unwrap();
    // Each case copies into a repository of its own (no blob there yet).
    let dst = |case: &str| {
        ImageRef::parse(&format!("{}/cases/{case}:current-tripleo", proxy.host())).unwrap()
    };
    // One attempt per request: each fault below fails the copy.
    let (from, to) = (client(&source.host(), 1), client(&proxy.host(), 1));
    let uploads = "/blobs/uploads/";
    let blob_gets = "GET /v2/tripleomaster/centos-binary-nova-api/blobs/";

    // Streamed blobs (POST, PATCH, commit PUT).
    // The commit (PUT ?digest=) refused after the bytes went into the session.
    proxy.fail_next(1, "PUT /v2/", Fault::Status(503));
    let err = copy_with(&from, &src, &to, &dst("commit"), streaming())
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("503"), "{err:#}");
    // The connection dropped on the PATCH carrying the bytes.
    proxy.fail_next(1, "PATCH /v2/", Fault::Drop);
    copy_with(&from, &src, &to, &dst("patch"), streaming())
        .await
        .unwrap_err();
    // The source failing once the session is open.
    source.fail_next(1, blob_gets, Fault::Status(500));
    let err = copy_with(&from, &src, &to, &dst("source"), streaming())
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("500"), "{err:#}");
    assert!(
        proxy.count("DELETE", uploads) >= 3,
        "{:?}",
        proxy.requests()
    );
    // Blobs sent from memory (POST, then one PUT with the bytes): the PUT
    // refused, then cut off before the registry saw it.
    let deletes = proxy.count("DELETE", uploads);
    proxy.fail_next(
        1,
        "PUT /v2/cases/mem-put/blobs/uploads/",
        Fault::Status(503),
    );
    let err = copy(&from, &src, &to, &dst("mem-put")).await.unwrap_err();
    assert!(format!("{err:#}").contains("503"), "{err:#}");
    proxy.fail_next(1, "PUT /v2/cases/mem-drop/blobs/uploads/", Fault::Drop);
    copy(&from, &src, &to, &dst("mem-drop")).await.unwrap_err();
    assert!(
        proxy.count("DELETE", uploads) >= deletes + 2,
        "{:?}",
        proxy.requests()
    );
    // The source failing: the blob is read before its session opens (the
    // others, under way, go through).
    source.fail_next(1, blob_gets, Fault::Status(500));
    let err = copy(&from, &src, &to, &dst("mem-source"))
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("500"), "{err:#}");
    let image_blobs = blobs_of(&lab.upstream.host(), &lab.images[..1]).await.len();
    assert!(
        proxy.count("POST", "/v2/cases/mem-source/blobs/uploads/") < image_blobs,
        "no session for the blob the source failed: {:?}",
        proxy.requests()
    );
    assert_eq!(
        proxy.count_status("DELETE", uploads, 204),
        proxy.count("DELETE", uploads),
        "every session deleted was known to the registry: {:?}",
        proxy.requests()
    );
    assert_eq!(
        sessions_left(&lab.local).await,
        Vec::<std::path::PathBuf>::new(),
        "every failed upload's session was deleted"
    );

    // A copy dropped while its sessions are open (the source holding the
    // blobs back): each session is deleted by the guard that held it.
    proxy.reset();
    let blobs = blobs_of(&lab.upstream.host(), &lab.images[..1]).await.len();
    source.fail_next(blobs, blob_gets, Fault::Delay { millis: 3000 });
    let cancelled = tokio::time::timeout(
        std::time::Duration::from_millis(1500),
        copy_with(&from, &src, &to, &dst("cancelled"), streaming()),
    )
    .await;
    assert!(cancelled.is_err(), "the copy was cancelled midway");
    let opened = proxy.count("POST", uploads);
    assert!(opened >= 1, "{:?}", proxy.requests());
    assert_eq!(
        sessions_left(&lab.local).await,
        Vec::<std::path::PathBuf>::new()
    );
    assert_eq!(
        proxy.count_status("DELETE", uploads, 204),
        opened,
        "{:?}",
        proxy.requests()
    );

    let local = client(&lab.local.host(), 3);
    for case in [
        "commit",
        "patch",
        "source",
        "mem-put",
        "mem-drop",
        "mem-source",
        "cancelled",
    ] {
        let repo = format!("cases/{case}");
        assert_eq!(
            local
                .manifest_digest(&repo, "current-tripleo")
                .await
                .unwrap(),
            None
        );
    }
    // Afterwards the copy goes through and leaves no session either.
    let report = copy(&from, &src, &to, &dst("cancelled")).await.unwrap();
    assert_eq!(report.status, CopyStatus::Copied);
    assert_eq!(
        lab.local.upload_sessions(),
        Vec::<std::path::PathBuf>::new()
    );
}

#[tokio::test]
async fn a_corrupt_source_blob_is_refused_by_apex_before_the_commit() {
    let lab = lab::lab().await;
    let source = FaultyProxy::start(&lab.upstream.host()).await.unwrap();
    let proxy = FaultyProxy::start(&lab.local.host()).await.unwrap();
    let src = ImageRef::parse(&lab.image_in(&source.host(), "nova-api")).unwrap();
    let (from, to) = (client(&source.host(), 3), client(&proxy.host(), 3));
    let image = from
        .manifest(REPO, "current-tripleo")
        .await
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    // The config read into memory and checked before its session opens
    // (POST, then one PUT with the bytes), and a layer streamed into its
    // session (checked before the commit).
    let cases = [
        (
            "config",
            image.config.unwrap().digest,
            CopyOptions::default(),
        ),
        (
            "layer",
            image.layers.last().unwrap().digest.clone(),
            streaming(),
        ),
    ];
    let local = client(&lab.local.host(), 3);
    for (case, bad, opts) in cases {
        proxy.reset();
        let repo = format!("corrupt-{case}/centos-binary-nova-api");
        let dst = ImageRef::parse(&format!("{}/{repo}:current-tripleo", proxy.host())).unwrap();
        source.fail_next(
            1,
            &format!("GET /v2/{REPO}/blobs/{bad}"),
            Fault::CorruptBody,
        );
        let err = copy_with(&from, &src, &to, &dst, opts).await.unwrap_err();
        let msg = format!("{err:#}");
        assert!(
            msg.contains(&format!("blob {bad} from {}/{REPO}", source.host()))
                && msg.contains(&format!("not {bad}")),
            "{case}: {msg}"
        );
        let got = msg
            .split("digest is ")
            .nth(1)
            .and_then(|s| s.split(',').next())
            .unwrap_or_default();
        assert!(got.starts_with("sha256:") && got != bad, "{case}: {msg}");
        assert_eq!(source.count("GET", &bad), 1, "{case}: not retried");
        source.reset();
        let hex = bad.trim_start_matches("sha256:");
        assert_eq!(
            proxy
                .requests()
                .iter()
                .filter(|r| r.path.contains("digest=") && r.path.contains(hex))
                .count(),
            0,
            "{case}: no commit of the corrupt blob reached the destination: {:?}",
            proxy.requests()
        );
        assert_eq!(proxy.count("PUT", "/manifests/"), 0);
        assert!(!local.blob_exists(&repo, &bad).await.unwrap(), "{case}");
        assert_eq!(
            local
                .manifest_digest(&repo, "current-tripleo")
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            sessions_left(&lab.local).await,
            Vec::<std::path::PathBuf>::new(),
            "{case}"
        );
    }
}

#[tokio::test]
async fn first_copies_into_a_repository_the_catalog_lacks_skip_the_heads_and_resend_what_is_there()
{
    let lab = lab::lab().await;
    // A registry of its own: its catalog is known.
    let dest = LabRegistry::start("catalog").await.unwrap();
    let proxy = FaultyProxy::start(&dest.host()).await.unwrap();
    let (up, local) = (client(&lab.upstream.host(), 3), client(&dest.host(), 3));
    let svc = services();
    let items = mirror_items(&lab, &proxy.host());
    // The second repository holds its image under another tag: the catalog lists it.
    let second = svc[1].repository();
    copy(
        &up,
        &ImageRef::parse(&items[1].source).unwrap(),
        &local,
        &ImageRef::parse(&format!("{}/{second}:old", dest.host())).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(local.catalog().await.unwrap(), vec![second.clone()]);
    // The third gets its image's config from someone else once the catalog
    // was read (docker-registry 2 lists a repository once it holds a blob;
    // 3 once it holds a manifest): the mirror, holding its uploads to the
    // third back 3 s, finds it there without asking.
    let third = svc[2].repository();
    let config = config_of(&up, &third, "current-tripleo").await;
    let third_uploads = format!("/v2/{third}/blobs/uploads/");
    proxy.fail_next(
        100,
        &format!("POST {third_uploads}"),
        Fault::Delay { millis: 3000 },
    );
    let pushed_by_another = async {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while proxy.count("GET", "/v2/_catalog") == 0 {
            assert!(std::time::Instant::now() < deadline, "no catalog read");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let bytes = up.blob_bytes(&third, &config).await.unwrap();
        let session = local.start_upload(&third).await.unwrap();
        local
            .put_upload_bytes(&third, &session, &config, bytes)
            .await
            .unwrap();
        // Before any upload of the mirror's reached the third.
        proxy.count_status("POST", &third_uploads, 202)
            + proxy.count_status("POST", &third_uploads, 201)
    };

    // One image at a time: the first asks with HEADs and decides that the
    // others are first copies, which read the catalog once.
    let opts = MirrorOptions {
        concurrency: 1,
        ..Default::default()
    };
    let (summary, answered_before) = tokio::join!(
        mirror_images(&items, RegistrySettings::default(), opts),
        pushed_by_another
    );
    assert_eq!(answered_before, 0);
    assert!(summary.failed.is_empty(), "{:?}", summary.failed);
    assert_eq!(summary.copied.len(), 3, "{summary:?}");
    assert_eq!(proxy.count("GET", "/v2/_catalog"), 1);
    let heads = |repo: &str| proxy.count("HEAD", &format!("/v2/{repo}/"));
    assert!(heads(&svc[0].repository()) > 0, "{:?}", proxy.requests());
    assert!(
        heads(&second) > 0,
        "a repository the catalog lists is asked: {:?}",
        proxy.requests()
    );
    assert_eq!(
        heads(&third),
        0,
        "neither the tag nor the blobs of a repository the catalog lacks: {:?}",
        proxy.requests()
    );
    // The blob that was there is sent again; the registry keeps it intact.
    let hex = config.trim_start_matches("sha256:");
    assert_eq!(
        proxy
            .requests()
            .iter()
            .filter(|r| {
                r.method == "PUT" && r.path.contains(&third_uploads) && r.path.contains(hex)
            })
            .count(),
        1,
        "{:?}",
        proxy.requests()
    );
    assert_eq!(
        sha256_digest(&local.blob_bytes(&third, &config).await.unwrap()),
        config
    );
    for s in &svc {
        let repo = s.repository();
        assert_eq!(
            digest_of(&lab.upstream.host(), &repo, "current-tripleo").await,
            digest_of(&dest.host(), &repo, "current-tripleo").await,
            "{repo}"
        );
    }
    assert_eq!(sessions_left(&dest).await, Vec::<std::path::PathBuf>::new());
}

/// A registry's upload sessions once the deletes in flight had time to land
/// (5 s at most; a cancelled copy's guards send theirs from tasks of their own).
async fn sessions_left(reg: &LabRegistry) -> Vec<std::path::PathBuf> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let left = reg.upload_sessions();
        if left.is_empty() || std::time::Instant::now() > deadline {
            return left;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mirror_cut_off_by_sigint_deletes_its_upload_sessions() {
    let lab = lab::lab().await;
    let proxy = FaultyProxy::start(&lab.local.host()).await.unwrap();
    // Every blob body (a PATCH, or the PUT of a blob sent from memory) is
    // held back a minute: the run is stopped with its upload sessions open.
    let ns = format!("cancel{}", std::process::id());
    proxy.fail_next(1000, "PATCH /v2/", Fault::SlowBody { millis: 60_000 });
    proxy.fail_next(
        1000,
        &format!("PUT /v2/{ns}/"),
        Fault::SlowBody { millis: 60_000 },
    );
    let images: Vec<String> = services()
        .iter()
        .take(3)
        .map(|s| {
            format!(
                "{{source = {:?}, destination = {:?}}}",
                lab.image_in(&lab.upstream.host(), &s.service),
                format!(
                    "{}/{ns}/centos-binary-{}:current-tripleo",
                    proxy.host(),
                    s.service
                )
            )
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("mirror.lua");
    std::fs::write(
        &script,
        format!(
            "local core = require(\"apex.core\")\ncore.registry.mirror({{images = {{{}}}}})\n",
            images.join(", ")
        ),
    )
    .unwrap();
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_apex"))
        .args(["-v", "run"])
        .arg(&script)
        .env("TMPDIR", dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while proxy.count("PATCH", "/blobs/uploads/") + proxy.count("PUT", "/blobs/uploads/") == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no blob upload started"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    unsafe { libc::kill(child.id().unwrap() as i32, libc::SIGINT) };
    let out = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("apex did not stop within 30 s of SIGINT")
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let opened = proxy.count_status("POST", "/blobs/uploads/", 202);
    let deleted = proxy.count("DELETE", "/blobs/uploads/");
    assert!(opened >= 1, "no upload session was opened");
    assert!(
        deleted >= opened,
        "{opened} upload sessions opened, {deleted} deleted; apex said:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
