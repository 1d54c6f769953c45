//! Upstream artifacts against a real HTTP server on loopback (the lab's
//! artifact server), and unpack/archive on real files: every check of the
//! artifacts issue, through the Rust API and through Lua.

#[path = "common/artifacts.rs"]
mod fixtures;
#[path = "common/hosts.rs"]
mod hosts;

use std::path::{Path, PathBuf};
use std::process::Command;

use apex::archive;
use apex::artifacts::{FetchRequest, FetchStatus, Fetcher};
use apex_lab::artifact_server::{Fault, Validators};
use fixtures::{Lab, RawEntry, content, listing, quick, sha256_hex, write_raw_tar};

const MIB: usize = 1 << 20;

async fn fetch(req: &FetchRequest) -> anyhow::Result<apex::artifacts::FetchOutcome> {
    Fetcher::new(quick())?.fetch(req).await
}

fn gets(lab: &Lab, name: &str) -> Vec<apex_lab::artifact_server::RequestRecord> {
    let p = format!("/{name}");
    lab.server
        .log()
        .into_iter()
        .filter(|r| r.path == p && r.method == "GET")
        .collect()
}

// ---------------------------------------------------------------- fetch

#[tokio::test]
async fn first_download_streams_verifies_and_records() {
    let lab = Lab::new();
    let data = lab.publish("overcloud-full.tar", 3 * MIB + 17, 1);
    let mut req = lab.request("overcloud-full.tar");
    req.sha256 = Some(sha256_hex(&data));
    let out = fetch(&req).await.unwrap();
    assert_eq!(out.status, FetchStatus::Downloaded);
    assert_eq!(out.bytes, data.len() as u64);
    assert_eq!(out.size, data.len() as u64);
    assert_eq!(out.sha256.as_deref(), Some(sha256_hex(&data).as_str()));
    assert_eq!(std::fs::read(&req.dest).unwrap(), data);
    // The complete copy, its record and the lock file; no partial left behind.
    assert_eq!(
        lab.cache_listing(),
        [
            ".overcloud-full.tar.apex-fetch.json",
            ".overcloud-full.tar.apex-lock",
            "overcloud-full.tar"
        ]
    );
    let g = gets(&lab, "overcloud-full.tar");
    assert_eq!(g.len(), 1);
    assert_eq!(g[0].status, 200);
    assert_eq!(
        (
            g[0].if_none_match.as_deref(),
            g[0].if_modified_since.as_deref()
        ),
        (None, None)
    );
}

#[tokio::test]
async fn second_fetch_is_304_by_etag() {
    let lab = Lab::new();
    lab.server.set_validators(Validators::EtagOnly);
    lab.publish("a.tar", MIB, 2);
    let req = lab.request("a.tar");
    assert_eq!(fetch(&req).await.unwrap().status, FetchStatus::Downloaded);
    let out = fetch(&req).await.unwrap();
    assert_eq!(out.status, FetchStatus::NotModified);
    assert_eq!((out.bytes, out.requests), (0, 1));
    let g = gets(&lab, "a.tar");
    assert_eq!(g.len(), 2);
    assert_eq!(g[1].status, 304);
    assert!(
        g[1].if_none_match.is_some(),
        "conditional by ETag: {:?}",
        g[1]
    );
    assert_eq!(g[1].if_modified_since, None);
}

#[tokio::test]
async fn a_cached_copy_corrupted_in_place_is_fetched_again() {
    use std::io::{Seek as _, Write as _};
    let lab = Lab::new();
    // No checksum given or published: the sha256 recorded at download is
    // what the copy is checked against.
    let data = lab.publish("a.tar", 2 * MIB, 5);
    let req = lab.request("a.tar");
    let first = fetch(&req).await.unwrap();
    assert_eq!(first.status, FetchStatus::Downloaded);
    assert_eq!(first.sha256.as_deref(), Some(sha256_hex(&data).as_str()));
    // Untouched, a rerun reads nothing of it: one conditional request.
    assert_eq!(fetch(&req).await.unwrap().status, FetchStatus::NotModified);

    // Corrupted in place: same size, mtime put back.
    let mtime = std::fs::metadata(&req.dest).unwrap().modified().unwrap();
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(&req.dest)
        .unwrap();
    f.seek(std::io::SeekFrom::Start(MIB as u64)).unwrap();
    f.write_all(b"corrupt").unwrap();
    f.set_modified(mtime).unwrap();
    drop(f);
    assert_eq!(
        std::fs::metadata(&req.dest).unwrap().len(),
        data.len() as u64
    );
    assert_eq!(
        std::fs::metadata(&req.dest).unwrap().modified().unwrap(),
        mtime
    );

    let out = fetch(&req).await.unwrap();
    assert_eq!(
        out.status,
        FetchStatus::Downloaded,
        "the corrupt copy was used"
    );
    assert_eq!(out.bytes, data.len() as u64);
    assert_eq!(std::fs::read(&req.dest).unwrap(), data);
    let g = gets(&lab, "a.tar");
    assert_eq!(
        (
            g.len(),
            g[2].if_none_match.as_deref(),
            g[2].if_modified_since.as_deref()
        ),
        (3, None, None),
        "an unconditional GET: {:?}",
        g[2]
    );

    // Offline, a corrupt copy is not used either.
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(&req.dest)
        .unwrap();
    f.write_all(b"x").unwrap();
    drop(f);
    let mut offline = quick();
    offline.offline = true;
    let out = Fetcher::new(offline).unwrap().fetch(&req).await.unwrap();
    assert_eq!(out.status, FetchStatus::Downloaded);
    assert_eq!(std::fs::read(&req.dest).unwrap(), data);
}

/// Corruption the file's stamp cannot show (bit rot, or a write whose ctime
/// the record happened to take): simulated by corrupting in place and then
/// recording the corrupt file's stamp. Every use checks the recorded sha256:
/// the unpack in the read it makes anyway (nothing put in place on a
/// mismatch), a file used as it is with one read; the flow's helper then
/// fetches the artifact again, unconditionally, and uses the good copy.
#[tokio::test]
async fn a_corrupt_cached_artifact_is_caught_where_it_is_used_and_fetched_again() {
    use std::io::{Seek as _, Write as _};
    let lab = Lab::new();
    let image = content(3 * MIB, 61);
    let tar_path = lab.upstream("overcloud-full.tar");
    write_raw_tar(&tar_path, &[RawEntry::file("overcloud-full.qcow2", &image)]);
    let tar_bytes = std::fs::read(&tar_path).unwrap();
    let plain = lab.publish("undercloud.qcow2", 2 * MIB, 62);
    let reqs = [
        lab.request("overcloud-full.tar"),
        lab.request("undercloud.qcow2"),
    ];
    for r in &reqs {
        assert_eq!(fetch(r).await.unwrap().status, FetchStatus::Downloaded);
    }
    let corrupt_unseen = |path: &Path| {
        let mut f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        f.seek(std::io::SeekFrom::Start(MIB as u64)).unwrap();
        f.write_all(b"rot").unwrap();
        drop(f);
        let rec = path.parent().unwrap().join(format!(
            ".{}.apex-fetch.json",
            path.file_name().unwrap().to_string_lossy()
        ));
        let mut meta: apex::artifacts::CachedMeta =
            serde_json::from_slice(&std::fs::read(&rec).unwrap()).unwrap();
        meta.file = apex::artifacts::FileStamp::of(path);
        std::fs::write(&rec, serde_json::to_vec(&meta).unwrap()).unwrap();
    };
    for r in &reqs {
        corrupt_unseen(&r.dest);
        // The fetch cannot tell (that is the case): one conditional request.
        assert_eq!(fetch(r).await.unwrap().status, FetchStatus::NotModified);
    }

    // The Rust API: the unpack checks the digest in its one read and puts
    // nothing in place on a mismatch.
    let out = lab.dir.path().join("images");
    let before = listing(lab.dir.path());
    let err = archive::unpack_with(
        &reqs[0].dest,
        &out,
        &archive::UnpackOptions {
            sha256: Some(sha256_hex(&tar_bytes)),
            ..Default::default()
        },
    )
    .unwrap_err();
    let c = err
        .downcast_ref::<apex::artifacts::Corrupt>()
        .unwrap_or_else(|| panic!("not a Corrupt error: {err:#}"));
    assert_eq!(c.expected, sha256_hex(&tar_bytes));
    assert_eq!(
        listing(lab.dir.path()),
        before,
        "nothing written, no staging left"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("does not match the sha256 recorded") && msg.contains("overcloud-full.tar"),
        "{msg}"
    );

    // The flow's helper (apex.artifacts) as the steps call it.
    let host = apex::lua::Host::new(apex::lua::HostConfig::default()).unwrap();
    let f = host
        .lua()
        .load(
            r#"
            local core = require("apex.core")
            local artifacts = require("apex.artifacts")
            local base, cache, out, tar_sha, plain_sha = ...
            local ctx = { infra = { artifacts = { url = base, cache_dir = cache } }, artifacts = {
              ["overcloud-full.tar"] = { path = cache .. "/overcloud-full.tar", sha256 = tar_sha, generation = "g1" },
              ["undercloud.qcow2"] = { path = cache .. "/undercloud.qcow2", sha256 = plain_sha, generation = "g2" },
            } }
            local r = artifacts.unpack(ctx, "overcloud-full.tar", out)
            assert(r.entries == 1 and not r.corrupt, core.json.dump(r))
            assert(ctx.artifacts["overcloud-full.tar"].status == "downloaded")
            assert(ctx.artifacts["overcloud-full.tar"].generation == "g1", "same content: made things stay valid")
            assert(artifacts.checked(ctx, "undercloud.qcow2") == cache .. "/undercloud.qcow2")
            assert(ctx.artifacts["undercloud.qcow2"].status == "downloaded")
            -- Intact now: used without fetching.
            r = artifacts.unpack(ctx, "overcloud-full.tar", out)
            assert(r.entries == 1)
            artifacts.checked(ctx, "undercloud.qcow2")
            return true
            "#,
        )
        .set_name("@artifact_use_test")
        .into_function()
        .unwrap();
    host.call(
        &f,
        (
            lab.server.url(""),
            lab.dir.path().join("cache").to_string_lossy().into_owned(),
            out.to_string_lossy().into_owned(),
            sha256_hex(&tar_bytes),
            sha256_hex(&plain),
        ),
    )
    .await
    .unwrap();
    assert_eq!(
        std::fs::read(out.join("overcloud-full.qcow2")).unwrap(),
        image
    );
    assert_eq!(std::fs::read(&reqs[0].dest).unwrap(), tar_bytes);
    assert_eq!(std::fs::read(&reqs[1].dest).unwrap(), plain);
    for name in ["overcloud-full.tar", "undercloud.qcow2"] {
        let g = gets(&lab, name);
        // Download, 304, the refetch (unconditional: the corrupt copy was removed).
        assert_eq!(g.len(), 3, "{name}: {g:?}");
        assert_eq!(
            (
                g[2].status,
                g[2].if_none_match.as_deref(),
                g[2].if_modified_since.as_deref()
            ),
            (200, None, None),
            "{name}: {:?}",
            g[2]
        );
    }
}

#[tokio::test]
async fn an_artifact_above_the_size_cap_is_refused_and_nothing_is_kept() {
    let lab = Lab::new();
    lab.publish("a.tar", 3 * MIB, 7);
    let capped = |max: u64| {
        Fetcher::new(apex::artifacts::FetchSettings {
            max_bytes: max,
            ..quick()
        })
        .unwrap()
    };
    // Announced larger than the cap: refused before the body is read.
    let req = lab.request("a.tar");
    let err = format!("{:#}", capped(MIB as u64).fetch(&req).await.unwrap_err());
    assert!(
        err.contains("the server announces 3145728 bytes")
            && err.contains("above the cap of 1048576 bytes"),
        "{err}"
    );
    // A body without an end (no Content-Length, not chunked) stops at the cap.
    lab.server.set_fault(Fault::NoLength {
        after: 3 * MIB as u64,
        chunked: false,
    });
    let err = format!("{:#}", capped(MIB as u64).fetch(&req).await.unwrap_err());
    assert!(
        err.contains("more than 1048576 bytes received") && err.contains("max_size"),
        "{err}"
    );
    assert!(!req.dest.exists());
    assert!(
        !lab.cache_listing().iter().any(|n| n.contains("apex-part")),
        "{:?}",
        lab.cache_listing()
    );
}

#[tokio::test]
async fn second_fetch_is_304_by_date() {
    let lab = Lab::new();
    lab.server.set_validators(Validators::DateOnly);
    lab.publish("a.tar", MIB, 3);
    let req = lab.request("a.tar");
    assert_eq!(fetch(&req).await.unwrap().status, FetchStatus::Downloaded);
    let out = fetch(&req).await.unwrap();
    assert_eq!(out.status, FetchStatus::NotModified);
    let g = gets(&lab, "a.tar");
    assert_eq!(g[1].status, 304);
    assert_eq!(g[1].if_none_match, None);
    assert!(
        g[1].if_modified_since.is_some(),
        "conditional by date: {:?}",
        g[1]
    );
}

#[tokio::test]
async fn changed_upstream_is_downloaded_again() {
    let lab = Lab::new();
    lab.publish("a.tar", MIB, 4);
    let req = lab.request("a.tar");
    fetch(&req).await.unwrap();
    let new = lab.republish("a.tar", MIB + 5, 5, 10);
    let out = fetch(&req).await.unwrap();
    assert_eq!(out.status, FetchStatus::Downloaded);
    assert_eq!(out.bytes, new.len() as u64);
    assert_eq!(std::fs::read(&req.dest).unwrap(), new);
    assert_eq!(gets(&lab, "a.tar")[1].status, 200);
    // Same size, new content: the ETag (and date) still tell.
    let newer = lab.republish("a.tar", MIB + 5, 6, 20);
    assert_eq!(fetch(&req).await.unwrap().status, FetchStatus::Downloaded);
    assert_eq!(std::fs::read(&req.dest).unwrap(), newer);
}

#[tokio::test]
async fn server_without_validators_falls_back_to_head_and_size() {
    let lab = Lab::new();
    lab.server.set_validators(Validators::None);
    lab.publish("a.tar", MIB, 7);
    let req = lab.request("a.tar");
    assert_eq!(fetch(&req).await.unwrap().status, FetchStatus::Downloaded);
    let out = fetch(&req).await.unwrap();
    assert_eq!(out.status, FetchStatus::NotModified);
    assert_eq!(out.requests, 1);
    let log = lab.server.log();
    assert_eq!(
        log.iter()
            .map(|r| (r.method.as_str(), r.path.as_str(), r.status))
            .collect::<Vec<_>>(),
        [
            ("GET", "/a.tar", 200),
            ("GET", "/a.tar.sha256", 404),
            ("GET", "/a.tar.md5", 404),
            ("HEAD", "/a.tar", 200)
        ],
        "a download looks for a published checksum; the check after it is one HEAD"
    );
    assert!(
        log.iter()
            .all(|r| r.user_agent.as_deref() == Some(apex::http_client::USER_AGENT)),
        "every request names apex: {log:?}"
    );
    // A different size upstream: HEAD says so, then one GET (and the sidecar lookups).
    let new = lab.publish("a.tar", MIB + 1, 8);
    let out = fetch(&req).await.unwrap();
    assert_eq!(out.status, FetchStatus::Downloaded);
    assert_eq!(out.requests, 4);
    assert_eq!(std::fs::read(&req.dest).unwrap(), new);
}

#[tokio::test]
async fn cut_connection_resumes_with_range_and_if_range() {
    let lab = Lab::new();
    let data = lab.publish("a.tar", 8 * MIB, 9);
    lab.server.set_fault(Fault::CutMidBody {
        after: 3 * MIB as u64,
        times: 1,
    });
    let mut req = lab.request("a.tar");
    req.sha256 = Some(sha256_hex(&data));
    let out = fetch(&req).await.unwrap();
    assert_eq!(out.status, FetchStatus::Downloaded);
    assert!(out.resumed);
    assert_eq!(std::fs::read(&req.dest).unwrap(), data);
    let g = gets(&lab, "a.tar");
    assert_eq!(g.len(), 2, "{g:?}");
    assert_eq!((g[0].status, g[0].body_bytes), (200, 3 * MIB as u64));
    assert_eq!(g[1].status, 206);
    let range = g[1].range.as_deref().expect("second GET asks for a range");
    let start: u64 = range
        .trim_start_matches("bytes=")
        .trim_end_matches('-')
        .parse()
        .unwrap();
    assert!(
        start > 0 && start <= 3 * MIB as u64,
        "resumes where the cut left off: {range}"
    );
    assert!(
        g[1].if_range.as_deref().is_some_and(|v| v.starts_with('"')),
        "If-Range carries the ETag: {:?}",
        g[1]
    );
    assert_eq!(out.bytes, data.len() as u64, "nothing transferred twice");
}

#[tokio::test]
async fn partial_download_starts_over_when_upstream_changed() {
    let lab = Lab::new();
    lab.publish("a.tar", 4 * MIB, 10);
    lab.server.set_fault(Fault::CutMidBody {
        after: MIB as u64,
        times: 1,
    });
    let req = lab.request("a.tar");
    let no_retry = apex::artifacts::FetchSettings {
        retries: 0,
        ..quick()
    };
    let err = Fetcher::new(no_retry)
        .unwrap()
        .fetch(&req)
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("length mismatch"), "{err:#}");
    assert!(!req.dest.exists());
    let new = lab.republish("a.tar", 4 * MIB, 11, 10);
    let out = fetch(&req).await.unwrap();
    assert_eq!(out.status, FetchStatus::Downloaded);
    assert!(!out.resumed);
    assert_eq!(std::fs::read(&req.dest).unwrap(), new);
    let g = gets(&lab, "a.tar");
    assert!(
        g[1].range.is_some() && g[1].if_range.is_some(),
        "{:?}",
        g[1]
    );
    assert_eq!(
        g[1].status, 200,
        "If-Range no longer matches: the whole new artifact"
    );
}

#[tokio::test]
async fn truncated_body_is_a_length_mismatch_and_nothing_is_cached() {
    let lab = Lab::new();
    lab.publish("a.tar", 2 * MIB, 12);
    lab.server.set_fault(Fault::TruncatedBody);
    let req = lab.request("a.tar");
    let err = fetch(&req).await.unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("length mismatch") && msg.contains(&req.url),
        "{msg}"
    );
    assert!(msg.contains(&format!("of {} bytes", 2 * MIB)), "{msg}");
    assert!(!req.dest.exists());
    assert!(
        !lab.cache_listing()
            .iter()
            .any(|n| n.ends_with(".apex-fetch.json"))
    );
    assert_eq!(gets(&lab, "a.tar").len(), 4, "one try and three retries");
}

#[tokio::test]
async fn wrong_checksum_is_refused_and_nothing_is_cached() {
    let lab = Lab::new();
    lab.publish("a.tar", MIB, 13);
    let mut req = lab.request("a.tar");
    req.sha256 = Some("0".repeat(64));
    let msg = format!("{:#}", fetch(&req).await.unwrap_err());
    assert!(
        msg.contains("checksum mismatch")
            && msg.contains(&"0".repeat(64))
            && msg.contains(&req.url),
        "{msg}"
    );
    assert!(!req.dest.exists());
    assert_eq!(
        lab.cache_listing(),
        [".a.tar.apex-lock"],
        "no partial and no record left"
    );

    // A wrong md5 published beside the artifact.
    std::fs::write(
        lab.upstream("a.tar.md5"),
        format!("{}  a.tar\n", "f".repeat(32)),
    )
    .unwrap();
    let mut req = lab.request("a.tar");
    req.checksum_url = Some(lab.server.url("a.tar.md5"));
    let msg = format!("{:#}", fetch(&req).await.unwrap_err());
    assert!(msg.contains("checksum mismatch: expected md5"), "{msg}");
    assert!(!req.dest.exists());
}

#[tokio::test]
async fn published_checksums_are_verified() {
    let lab = Lab::new();
    let data = lab.publish("a.tar", MIB, 14);
    lab.server.set_publish_sha256(true);
    let mut req = lab.request("a.tar");
    req.checksum_url = Some(lab.server.url("a.tar.sha256"));
    let out = fetch(&req).await.unwrap();
    assert_eq!(out.sha256.as_deref(), Some(sha256_hex(&data).as_str()));
    assert_eq!(out.requests, 2);

    let data = lab.publish("b.tar", MIB, 15);
    let md5 = {
        use md5::Digest as _;
        hex::encode(md5::Md5::digest(&data))
    };
    std::fs::write(lab.upstream("b.tar.md5"), format!("{md5} *b.tar\n")).unwrap();
    let mut req = lab.request("b.tar");
    req.checksum_url = Some(lab.server.url("b.tar.md5"));
    assert_eq!(fetch(&req).await.unwrap().md5, Some(md5));
}

fn md5_hex(data: &[u8]) -> String {
    use md5::Digest as _;
    hex::encode(md5::Md5::digest(data))
}

#[tokio::test]
async fn body_without_length_is_kept_partial_unless_a_checksum_verifies_it() {
    let lab = Lab::new();
    let data = lab.publish("a.tar", 2 * MIB, 40);
    lab.server.set_fault(Fault::NoLength {
        after: MIB as u64,
        chunked: false,
    });
    let req = lab.request("a.tar");
    let msg = format!("{:#}", fetch(&req).await.unwrap_err());
    assert!(
        msg.contains(&req.url)
            && msg.contains("no Content-Length")
            && msg.contains("no checksum")
            && msg.contains("kept as a partial download"),
        "{msg}"
    );
    assert!(!req.dest.exists(), "a body cut without a length was cached");
    assert_eq!(
        std::fs::metadata(lab.cache(".a.tar.apex-part"))
            .unwrap()
            .len(),
        MIB as u64,
        "what arrived stays as the partial download"
    );
    assert!(
        !lab.cache_listing()
            .iter()
            .any(|n| n.ends_with(".apex-fetch.json"))
    );
    assert_eq!(
        gets(&lab, "a.tar").len(),
        1,
        "another try could not tell either"
    );

    // The whole body, still without a length: nothing proves it complete.
    lab.server.set_fault(Fault::NoLength {
        after: u64::MAX,
        chunked: false,
    });
    assert!(fetch(&req).await.is_err());
    assert!(!req.dest.exists());

    // With a checksum published beside it, the same answer is verified and cached.
    lab.server.set_publish_sha256(true);
    let out = fetch(&req).await.unwrap();
    assert_eq!(out.status, FetchStatus::Downloaded);
    assert_eq!(out.sha256.as_deref(), Some(sha256_hex(&data).as_str()));
    assert_eq!(std::fs::read(&req.dest).unwrap(), data);

    // Cut early against the published checksum: a mismatch, nothing cached.
    lab.publish("b.tar", 2 * MIB, 41);
    lab.server.set_fault(Fault::NoLength {
        after: MIB as u64,
        chunked: false,
    });
    let req_b = lab.request("b.tar");
    let msg = format!("{:#}", fetch(&req_b).await.unwrap_err());
    assert!(msg.contains("checksum mismatch"), "{msg}");
    assert!(!req_b.dest.exists());

    // Chunked framing shows where the body ends: a complete one is cached
    // without a checksum, a cut one is not.
    lab.server.set_publish_sha256(false);
    let c = lab.publish("c.tar", MIB, 42);
    lab.server.set_fault(Fault::NoLength {
        after: u64::MAX,
        chunked: true,
    });
    let out = fetch(&lab.request("c.tar")).await.unwrap();
    assert_eq!(
        (out.status, out.size),
        (FetchStatus::Downloaded, c.len() as u64)
    );
    assert_eq!(std::fs::read(lab.cache("c.tar")).unwrap(), c);
    lab.publish("d.tar", MIB, 43);
    lab.server.set_fault(Fault::NoLength {
        after: MIB as u64 / 2,
        chunked: true,
    });
    let req_d = lab.request("d.tar");
    assert!(fetch(&req_d).await.is_err());
    assert!(!req_d.dest.exists());
}

#[tokio::test]
async fn published_sidecars_are_used_when_no_checksum_is_given() {
    let lab = Lab::new();
    // `<name>.sha256` in sha256sum format (the lab computes it).
    let a = lab.publish("a.tar", MIB, 44);
    lab.server.set_publish_sha256(true);
    let req = lab.request("a.tar");
    let out = fetch(&req).await.unwrap();
    assert_eq!(out.sha256.as_deref(), Some(sha256_hex(&a).as_str()));
    assert_eq!(out.requests, 2, "the artifact and its .sha256");
    assert_eq!(lab.server.requests("/a.tar.sha256"), 1);
    // A rerun is one conditional GET: the verified digest was recorded.
    let out = fetch(&req).await.unwrap();
    assert_eq!((out.status, out.requests), (FetchStatus::NotModified, 1));
    assert_eq!(out.sha256.as_deref(), Some(sha256_hex(&a).as_str()));
    lab.server.set_publish_sha256(false);

    // `<name>.md5` in md5sum format, when there is no .sha256.
    let b = lab.publish("b.tar", MIB, 45);
    std::fs::write(
        lab.upstream("b.tar.md5"),
        format!("{}  b.tar\n", md5_hex(&b)),
    )
    .unwrap();
    let out = fetch(&lab.request("b.tar")).await.unwrap();
    assert_eq!(out.md5, Some(md5_hex(&b)));
    assert_eq!(out.requests, 3, "the artifact, .sha256 (404) and .md5");

    // A bare hex digest that does not match: refused, nothing cached.
    let c = lab.publish("c.tar", MIB, 46);
    std::fs::write(
        lab.upstream("c.tar.sha256"),
        format!("{}\n", "0".repeat(64)),
    )
    .unwrap();
    let req_c = lab.request("c.tar");
    let msg = format!("{:#}", fetch(&req_c).await.unwrap_err());
    assert!(
        msg.contains("checksum mismatch") && msg.contains(&req_c.url),
        "{msg}"
    );
    assert!(!req_c.dest.exists());
    // ...unless the caller turns the lookup off.
    let mut req_c = lab.request("c.tar");
    req_c.discover_checksum = Some(false);
    let out = fetch(&req_c).await.unwrap();
    // No sidecar asked for; the sha256 is the one computed while receiving
    // (recorded to check the cached copy before each use).
    assert_eq!((out.sha256, out.requests), (Some(sha256_hex(&c)), 1));

    // A given checksum wins: the sidecar is not asked for.
    let d = lab.publish("d.tar", MIB, 47);
    std::fs::write(
        lab.upstream("d.tar.sha256"),
        format!("{}\n", "0".repeat(64)),
    )
    .unwrap();
    let mut req_d = lab.request("d.tar");
    req_d.md5 = Some(md5_hex(&d));
    fetch(&req_d).await.unwrap();
    assert_eq!(lab.server.requests("/d.tar.sha256"), 0);

    // Nothing published: downloaded (the length verified it); its sha256
    // is the one computed while receiving, no md5.
    let e = lab.publish("e.tar", MIB, 48);
    let out = fetch(&lab.request("e.tar")).await.unwrap();
    assert_eq!(
        (out.sha256, out.md5, out.requests),
        (Some(sha256_hex(&e)), None, 3)
    );
}

#[tokio::test]
async fn server_error_then_success_retries() {
    let lab = Lab::new();
    let data = lab.publish("a.tar", MIB, 16);
    lab.server.set_fault(Fault::Fail500 { times: 2 });
    let req = lab.request("a.tar");
    let out = fetch(&req).await.unwrap();
    assert_eq!(out.status, FetchStatus::Downloaded);
    assert_eq!(out.requests, 5, "two 500s, the GET, .sha256 and .md5 (404)");
    assert_eq!(std::fs::read(&req.dest).unwrap(), data);
    assert_eq!(
        gets(&lab, "a.tar")
            .iter()
            .map(|r| r.status)
            .collect::<Vec<_>>(),
        [500, 500, 200]
    );
}

#[tokio::test]
async fn server_error_forever_gives_a_clear_error_and_caches_nothing() {
    let lab = Lab::new();
    lab.publish("a.tar", MIB, 17);
    lab.server.set_fault(Fault::Fail500Forever);
    let req = lab.request("a.tar");
    let msg = format!("{:#}", fetch(&req).await.unwrap_err());
    assert!(msg.contains(&req.url), "{msg}");
    assert!(msg.contains("HTTP 500 Internal Server Error"), "{msg}");
    assert!(msg.contains("gave up after 4 tries"), "{msg}");
    assert_eq!(gets(&lab, "a.tar").len(), 4);
    assert_eq!(lab.cache_listing(), [".a.tar.apex-lock"]);
}

#[tokio::test]
async fn silent_server_times_out_and_keeps_the_part_for_a_resume() {
    let lab = Lab::new();
    let data = lab.publish("a.tar", 2 * MIB, 31);
    lab.server.set_fault(Fault::Stall {
        after: MIB as u64 / 2,
    }); // half a MiB per try: two tries leave 1 of 2 MiB
    let req = lab.request("a.tar");
    let impatient = apex::artifacts::FetchSettings {
        retries: 1,
        timeout: std::time::Duration::from_millis(300),
        ..quick()
    };
    let msg = format!(
        "{:#}",
        Fetcher::new(impatient)
            .unwrap()
            .fetch(&req)
            .await
            .unwrap_err()
    );
    assert!(msg.contains(&req.url) && msg.contains("timed out"), "{msg}");
    assert!(!req.dest.exists());
    lab.server.set_fault(Fault::None);
    let out = fetch(&req).await.unwrap();
    assert!(out.resumed, "continues after the bytes that did arrive");
    assert_eq!(std::fs::read(&req.dest).unwrap(), data);
}

#[tokio::test]
async fn requests_go_through_the_given_proxy() {
    let lab = Lab::new();
    let proxy = Lab::new(); // a second server stands for the proxy and logs what it is asked
    let req = FetchRequest {
        url: "http://127.0.0.1:9/a.tar".into(),
        dest: lab.cache("a.tar"),
        ..Default::default()
    };
    let via = apex::artifacts::FetchSettings {
        proxy: Some(proxy.server.url("")),
        ..quick()
    };
    let msg = format!(
        "{:#}",
        Fetcher::new(via).unwrap().fetch(&req).await.unwrap_err()
    );
    assert!(msg.contains("HTTP 404"), "{msg}");
    let log = proxy.server.log();
    assert_eq!(log.len(), 1);
    assert_eq!(
        log[0].path, "http://127.0.0.1:9/a.tar",
        "absolute-form request to the proxy"
    );
}

#[tokio::test]
async fn missing_artifact_is_not_retried() {
    let lab = Lab::new();
    let req = lab.request("nope.tar");
    let msg = format!("{:#}", fetch(&req).await.unwrap_err());
    assert!(
        msg.contains("HTTP 404 Not Found") && msg.contains(&req.url),
        "{msg}"
    );
    assert_eq!(gets(&lab, "nope.tar").len(), 1);
}

#[tokio::test]
async fn offline_uses_the_cache_and_fetches_only_what_is_missing() {
    let lab = Lab::new();
    let a = lab.publish("a.tar", MIB, 18);
    let b = lab.publish("b.tar", MIB, 19);
    fetch(&lab.request("a.tar")).await.unwrap();
    lab.server.clear_log();
    let offline = Fetcher::new(apex::artifacts::FetchSettings {
        offline: true,
        ..quick()
    })
    .unwrap();
    let out = offline
        .fetch_all(&[lab.request("a.tar"), lab.request("b.tar")])
        .await;
    let out: Vec<_> = out.into_iter().map(Result::unwrap).collect();
    assert_eq!(out[0].status, FetchStatus::CachedOffline);
    assert_eq!(out[0].requests, 0);
    assert_eq!(out[1].status, FetchStatus::Downloaded);
    assert_eq!(std::fs::read(lab.cache("a.tar")).unwrap(), a);
    assert_eq!(std::fs::read(lab.cache("b.tar")).unwrap(), b);
    assert_eq!(
        lab.server.request_counts().into_iter().collect::<Vec<_>>(),
        [
            ("/b.tar".to_string(), 1),
            ("/b.tar.md5".to_string(), 1),
            ("/b.tar.sha256".to_string(), 1)
        ]
    );
}

#[tokio::test]
async fn offline_without_cache_or_server_fails_naming_the_url() {
    let lab = Lab::new();
    let req = FetchRequest {
        url: "http://127.0.0.1:9/gone.tar".into(),
        dest: lab.cache("gone.tar"),
        ..Default::default()
    };
    let offline = apex::artifacts::FetchSettings {
        offline: true,
        retries: 1,
        ..quick()
    };
    let msg = format!(
        "{:#}",
        Fetcher::new(offline)
            .unwrap()
            .fetch(&req)
            .await
            .unwrap_err()
    );
    assert!(
        msg.contains("http://127.0.0.1:9/gone.tar") && msg.contains("GET failed"),
        "{msg}"
    );
}

#[tokio::test]
async fn several_artifacts_are_fetched_concurrently_within_the_bound() {
    let lab = Lab::new();
    let names = ["a.tar", "b.tar", "c.tar", "d.tar", "e.tar"];
    let datas: Vec<_> = names
        .iter()
        .enumerate()
        .map(|(i, n)| lab.publish(n, 2 * MIB, 20 + i as u64))
        .collect();
    // Slow bodies so the transfers visibly overlap in the server's log.
    lab.server.set_rate(Some(8 * MIB as u64));
    let reqs: Vec<_> = names.iter().map(|n| lab.request(n)).collect();
    let fetcher = Fetcher::new(apex::artifacts::FetchSettings {
        limit: 2,
        ..quick()
    })
    .unwrap();
    for (r, d) in fetcher.fetch_all(&reqs).await.into_iter().zip(&datas) {
        let r = r.unwrap();
        assert_eq!(r.status, FetchStatus::Downloaded);
        assert_eq!(&std::fs::read(&r.path).unwrap(), d);
    }
    let log = lab.server.log();
    // Artifacts in flight: a published-checksum lookup (`.sha256`, `.md5`)
    // belongs to its artifact, whose body is still coming.
    let artifact = |p: &str| {
        p.trim_end_matches(".sha256")
            .trim_end_matches(".md5")
            .to_string()
    };
    let max_in_flight = log
        .iter()
        .map(|r| {
            log.iter()
                .filter(|o| o.started <= r.started && r.started < o.finished)
                .map(|o| artifact(&o.path))
                .collect::<std::collections::BTreeSet<_>>()
                .len()
        })
        .max()
        .unwrap();
    assert_eq!(max_in_flight, 2, "two at once, never more: {log:#?}");
}

#[test]
fn two_processes_share_one_cache() {
    let lab = Lab::new();
    let data = lab.publish("shared.tar", 4 * MIB, 30);
    lab.server.set_rate(Some(8 * MIB as u64)); // half a second: the second process arrives mid-download
    let script = lab.dir.path().join("fetch.lua");
    std::fs::write(
        &script,
        "local core = require('apex.core')\n\
         -- `apex run` passes its arguments as one list today; accept both forms.\n\
         local a = {...}\nif type(a[1]) == 'table' then a = a[1] end\nlocal url, dest = a[1], a[2]\n\
         local r = core.artifacts.fetch{url = url, dest = dest}\nprint(r.status)\n",
    )
    .unwrap();
    let url = lab.server.url("shared.tar");
    let dest = lab.cache("shared.tar");
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_apex"))
            .arg("run")
            .arg(&script)
            .arg(&url)
            .arg(&dest)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("apex binary runs")
    };
    let first = spawn();
    std::thread::sleep(std::time::Duration::from_millis(100));
    let second = spawn();
    let (a, b) = (
        first.wait_with_output().unwrap(),
        second.wait_with_output().unwrap(),
    );
    for o in [&a, &b] {
        assert!(
            o.status.success(),
            "apex run failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let mut statuses = [
        String::from_utf8_lossy(&a.stdout).trim().to_string(),
        String::from_utf8_lossy(&b.stdout).trim().to_string(),
    ];
    statuses.sort();
    assert_eq!(statuses, ["downloaded", "not-modified"]);
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    // A record lands once its response is written; the 304 may be logged first.
    let mut g = gets(&lab, "shared.tar");
    for _ in 0..50 {
        if g.len() >= 2 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        g = gets(&lab, "shared.tar");
    }
    g.sort_by_key(|r| r.started);
    assert_eq!(
        g.iter().map(|r| r.status).collect::<Vec<_>>(),
        [200, 304],
        "one body, one check"
    );
    assert!(!lab.cache_listing().iter().any(|n| n.contains("apex-part")));
}

#[tokio::test]
async fn lua_binding_single_list_and_errors() {
    let lab = Lab::new();
    let a = lab.publish("a.tar", MIB, 40);
    lab.publish("b.tar", MIB, 41);
    lab.publish("c.tar", MIB, 42);
    let host = apex::lua::Host::new(apex::lua::HostConfig::default()).unwrap();
    let chunk = r#"
        local core = require("apex.core")
        local base, cache, sha = ...
        local r = core.artifacts.fetch{url = base .. "a.tar", dest = cache .. "/a.tar", sha256 = sha}
        assert(r.status == "downloaded", r.status)
        assert(r.bytes == 1048576 and r.size == 1048576 and r.sha256 == sha)
        assert(r.path == cache .. "/a.tar")
        r = core.artifacts.fetch{url = base .. "a.tar", dest = cache .. "/a.tar"}
        assert(r.status == "not-modified" and r.bytes == 0 and r.requests == 1)

        local items = {}
        for _, n in ipairs({"a.tar", "b.tar", "c.tar"}) do
          items[#items + 1] = {url = base .. n, dest = cache .. "/" .. n}
        end
        local all = core.artifacts.fetch{items = items, limit = 2}
        assert(#all.results == 3)
        assert(all.results[1].status == "not-modified")
        assert(all.results[2].status == "downloaded" and all.results[3].status == "downloaded")

        all = core.artifacts.fetch{items = items, offline = true}
        for _, x in ipairs(all.results) do assert(x.status == "cached-offline", x.status) end

        local ok, err = pcall(core.artifacts.fetch, {url = base .. "missing.tar", dest = cache .. "/m.tar"})
        err = tostring(err)
        assert(not ok and err:find("artifacts.fetch: ", 1, true) and err:find("404", 1, true), err)
        ok, err = pcall(core.artifacts.fetch, {url = base .. "a.tar"})
        err = tostring(err)
        assert(not ok and err:find("give both url and dest", 1, true), err)
        ok, err = pcall(core.artifacts.fetch, {url = base .. "a.tar", dest = cache .. "/a.tar", sha265 = "x"})
        err = tostring(err)
        assert(not ok and err:find("sha265", 1, true), err)
        ok, err = pcall(core.artifacts.fetch, {items = { {url = base .. "missing.tar", dest = cache .. "/m.tar"}, items[2] }})
        err = tostring(err)
        assert(not ok and err:find("1 of 2 artifacts failed", 1, true) and err:find("missing.tar", 1, true), err)
        return true
        "#;
    let f = host
        .lua()
        .load(chunk)
        .set_name("@lua_binding_test")
        .into_function()
        .unwrap();
    let cache = lab.dir.path().join("cache").to_string_lossy().into_owned();
    let out = host
        .call(&f, (lab.server.url(""), cache, sha256_hex(&a)))
        .await
        .unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(
        gets(&lab, "a.tar").len(),
        3,
        "first download, then two conditional GETs"
    );
}

// ---------------------------------------------------------------- unpack

/// Unpacks `entries` into `<tmp>/dest` and checks it was refused naming
/// `entry`, with nothing new beside `dest` (where a `..` would land).
fn assert_refused(entries: &[RawEntry], entry: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let tar = tmp.path().join("evil.tar");
    write_raw_tar(&tar, entries);
    let before = listing(tmp.path());
    let dest = tmp.path().join("dest");
    let msg = format!("{:#}", archive::unpack(&tar, &dest).unwrap_err());
    assert!(
        msg.contains(&format!("{entry:?}")),
        "error names the entry {entry:?}: {msg}"
    );
    assert_eq!(
        listing(tmp.path()),
        before,
        "nothing written beside the destination"
    );
    assert!(
        !dest.exists(),
        "a refused archive leaves no destination behind"
    );
    tmp
}

fn unique(name: &str) -> String {
    format!("apex-evil-{}-{name}", std::process::id())
}

#[test]
fn unpack_refuses_parent_dir_entries() {
    assert_refused(
        &[
            RawEntry::file("ok.txt", b"fine"),
            RawEntry::file("../x", b"evil"),
        ],
        "../x",
    );
    assert_refused(&[RawEntry::file("a/../../x", b"evil")], "a/../../x");
}

#[test]
fn unpack_refuses_absolute_entries() {
    let target = format!("/etc/{}", unique("x"));
    assert_refused(&[RawEntry::file(&target, b"evil")], &target);
    assert!(!Path::new(&target).exists());
}

#[test]
fn unpack_refuses_symlink_escapes() {
    let victim = format!("tmp/{}", unique("through-link"));
    let through = format!("root/{victim}");
    assert_refused(
        &[
            RawEntry::symlink("root", "/"),
            RawEntry::file(&through, b"evil"),
        ],
        "root",
    );
    assert!(!Path::new("/").join(&victim).exists());
    assert_refused(
        &[
            RawEntry::dir("d"),
            RawEntry::symlink("d/up", "../.."),
            RawEntry::file("d/up/x", b"evil"),
        ],
        "d/up",
    );
    // A link that stays inside is fine, but nothing is written through it.
    let tmp = assert_refused(
        &[
            RawEntry::dir("d"),
            RawEntry::symlink("l", "d"),
            RawEntry::file("l/x", b"x"),
        ],
        "l/x",
    );
    assert!(!tmp.path().join("x").exists());
}

#[test]
fn unpack_refuses_hardlinks_outside() {
    let tmp = assert_refused(&[RawEntry::hardlink("h", "../outside.txt")], "h");
    assert!(!tmp.path().join("outside.txt").exists());
    assert_refused(&[RawEntry::hardlink("h", "/etc/passwd")], "h");
    let passwd_links = std::fs::metadata("/etc/passwd")
        .map(|m| std::os::unix::fs::MetadataExt::nlink(&m))
        .unwrap_or(1);
    assert_eq!(passwd_links, 1);
}

/// Every symlink under `dir`, with its target, for "no link leads out" checks.
fn links_under(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            if m.file_type().is_symlink() {
                let t = std::fs::read_link(&p).unwrap();
                out.push((p.display().to_string(), t.display().to_string()));
            } else if m.is_dir() {
                todo.push(p);
            }
        }
    }
    out
}

#[test]
fn unpack_refuses_chained_symlink_escapes() {
    // Each link alone stays inside lexically; followed through the tree as
    // unpacked, `x` is the host's /etc/passwd.
    let tmp = assert_refused(
        &[
            RawEntry::dir("a"),
            RawEntry::symlink("a/up", ".."),
            RawEntry::symlink("x", "a/up/../../etc/passwd"),
        ],
        "x",
    );
    assert!(links_under(tmp.path()).is_empty());
    // The error names the archive too.
    let tar = tmp.path().join("evil.tar");
    let msg = format!(
        "{:#}",
        archive::unpack(&tar, &tmp.path().join("dest")).unwrap_err()
    );
    assert!(
        msg.contains(&tar.display().to_string()) && msg.contains("leaves the destination"),
        "{msg}"
    );
    // The same links in the other order: `x` is checked again once `a/up` exists.
    assert_refused(
        &[
            RawEntry::symlink("x", "a/up/../../etc/passwd"),
            RawEntry::dir("a"),
            RawEntry::symlink("a/up", ".."),
        ],
        "x",
    );
    // A link to the destination's parent through a link to the root.
    assert_refused(
        &[
            RawEntry::dir("a"),
            RawEntry::symlink("a/up", ".."),
            RawEntry::symlink("b", "a/up/.."),
        ],
        "b",
    );
    // Chains of links: c -> b/.., b -> a/up, a/up -> .. : c is above the root.
    assert_refused(
        &[
            RawEntry::dir("a"),
            RawEntry::symlink("a/up", ".."),
            RawEntry::symlink("b", "a/up"),
            RawEntry::symlink("c", "b/.."),
        ],
        "c",
    );
    // A hard link whose target goes through a link that leaves (once `a/up` exists).
    assert_refused(
        &[
            RawEntry::symlink("x", "a/up/../.."),
            RawEntry::dir("a"),
            RawEntry::symlink("a/up", ".."),
            RawEntry::hardlink("h", "x/etc/passwd"),
        ],
        "h",
    );
    // Top-level entries the archive lacks stay in the destination: a link
    // through one of them is resolved there too.
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("dest");
    std::fs::create_dir_all(&dest).unwrap();
    std::os::unix::fs::symlink("/", dest.join("host")).unwrap();
    let tar = tmp.path().join("evil.tar");
    write_raw_tar(&tar, &[RawEntry::symlink("x", "host/etc/passwd")]);
    let msg = format!("{:#}", archive::unpack(&tar, &dest).unwrap_err());
    assert!(msg.contains("\"x\"") && msg.contains("host -> /"), "{msg}");
    assert!(std::fs::symlink_metadata(dest.join("x")).is_err());
    // Loops are refused rather than followed forever.
    assert_refused(
        &[
            RawEntry::symlink("l1", "l2/x"),
            RawEntry::symlink("l2", "l1"),
        ],
        "l1",
    );
}

#[test]
fn unpack_follows_links_that_stay_inside() {
    let tmp = tempfile::tempdir().unwrap();
    let tar = tmp.path().join("ok.tar");
    write_raw_tar(
        &tar,
        &[
            RawEntry::dir("usr"),
            RawEntry::dir("usr/lib"),
            RawEntry::file("usr/lib/libc.so", b"libc"),
            RawEntry::symlink("lib", "usr/lib"),
            RawEntry::dir("usr/lib/sub"),
            RawEntry::symlink("usr/lib/sub/up", ".."),
            RawEntry::symlink("libc", "usr/lib/sub/up/libc.so"),
            RawEntry::symlink("dangling", "not/yet/there"),
            RawEntry::hardlink("hard", "lib/libc.so"),
        ],
    );
    let dest = tmp.path().join("dest");
    let out = archive::unpack(&tar, &dest).unwrap();
    assert_eq!(out.entries, 9);
    assert_eq!(std::fs::read(dest.join("libc")).unwrap(), b"libc");
    assert_eq!(std::fs::read(dest.join("hard")).unwrap(), b"libc");
    use std::os::unix::fs::MetadataExt as _;
    assert_eq!(
        std::fs::metadata(dest.join("hard")).unwrap().ino(),
        std::fs::metadata(dest.join("usr/lib/libc.so"))
            .unwrap()
            .ino(),
        "the hard link is to the file the link led to"
    );
    assert!(
        std::fs::symlink_metadata(dest.join("hard"))
            .unwrap()
            .is_file()
    );
}

/// A tar.gz of `n` files of `size` zero bytes (compresses ~1000:1).
fn zeros_tgz(path: &Path, n: usize, size: usize) {
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(path).unwrap(),
        flate2::Compression::fast(),
    );
    let mut b = tar::Builder::new(gz);
    let zeros = vec![0u8; size];
    for i in 0..n {
        let mut h = tar::Header::new_gnu();
        h.set_size(size as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, format!("zero-{i}"), &zeros[..])
            .unwrap();
    }
    b.into_inner().unwrap().finish().unwrap();
}

#[test]
fn unpack_limits_bytes_and_entries() {
    use archive::UnpackOptions;
    let tmp = tempfile::tempdir().unwrap();
    let tgz = tmp.path().join("bomb.tgz");
    zeros_tgz(&tgz, 4, 8 * MIB);
    assert!(std::fs::metadata(&tgz).unwrap().len() < MIB as u64 / 4);
    let dest = tmp.path().join("dest");
    let before = listing(tmp.path());

    let capped = UnpackOptions {
        max_bytes: Some(20 * MIB as u64),
        ..Default::default()
    };
    let msg = format!(
        "{:#}",
        archive::unpack_with(&tgz, &dest, &capped).unwrap_err()
    );
    assert!(
        msg.contains("max_bytes")
            && msg.contains(&(20 * MIB).to_string())
            && msg.contains("\"zero-2\"")
            && msg.contains(&tgz.display().to_string()),
        "{msg}"
    );
    assert_eq!(listing(tmp.path()), before, "staging removed, no dest");

    let few = UnpackOptions {
        max_entries: 3,
        ..Default::default()
    };
    let msg = format!("{:#}", archive::unpack_with(&tgz, &dest, &few).unwrap_err());
    assert!(
        msg.contains("max_entries") && msg.contains("\"zero-3\""),
        "{msg}"
    );
    assert_eq!(listing(tmp.path()), before, "staging removed, no dest");

    // Within the caps: unpacked.
    let enough = UnpackOptions {
        max_bytes: Some(32 * MIB as u64),
        max_entries: 4,
        ..Default::default()
    };
    let out = archive::unpack_with(&tgz, &dest, &enough).unwrap();
    assert_eq!((out.entries, out.bytes), (4, 32 * MIB as u64));

    // Without max_bytes, what the filesystem has free is the cap: a header
    // announcing 1 PiB is refused before anything is written.
    let huge = tmp.path().join("huge.tar");
    {
        let mut h = tar::Header::new_gnu();
        h.set_path("huge.img").unwrap();
        h.set_size(1 << 50);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        let mut raw = h.as_bytes().to_vec();
        raw.extend_from_slice(&[0u8; 4096]);
        std::fs::write(&huge, raw).unwrap();
    }
    let dest2 = tmp.path().join("dest2");
    let before = listing(tmp.path());
    let msg = format!("{:#}", archive::unpack(&huge, &dest2).unwrap_err());
    assert!(
        msg.contains("free") && msg.contains("\"huge.img\""),
        "{msg}"
    );
    assert_eq!(listing(tmp.path()), before);
}

#[test]
fn unpack_counts_entries_of_unknown_type_against_max_bytes() {
    // POSIX: an unknown type is unpacked as a regular file, so its bytes
    // count against the cap like any file's.
    let tmp = tempfile::tempdir().unwrap();
    let tar_path = tmp.path().join("odd.tar");
    let data = vec![b'z'; 6000];
    let mut odd = RawEntry::file("odd", &data);
    odd.kind = tar::EntryType::new(b'Z');
    write_raw_tar(&tar_path, &[odd]);
    let capped = archive::UnpackOptions {
        max_bytes: Some(4096),
        ..Default::default()
    };
    let dest = tmp.path().join("dest");
    let msg = format!(
        "{:#}",
        archive::unpack_with(&tar_path, &dest, &capped).unwrap_err()
    );
    assert!(
        msg.contains("max_bytes") && msg.contains("\"odd\""),
        "{msg}"
    );
    assert!(!dest.exists());
    let out = archive::unpack(&tar_path, &dest).unwrap();
    assert_eq!(out.bytes, 6000);
    assert_eq!(std::fs::read(dest.join("odd")).unwrap(), data);
}

#[test]
fn unpack_drops_special_bits_unless_asked() {
    use std::os::unix::fs::PermissionsExt as _;
    let tmp = tempfile::tempdir().unwrap();
    let tar_path = tmp.path().join("modes.tar");
    {
        let mut b = tar::Builder::new(std::fs::File::create(&tar_path).unwrap());
        for (name, kind, mode) in [
            ("shared", tar::EntryType::Directory, 0o1777),
            ("group", tar::EntryType::Directory, 0o2775),
            ("suid", tar::EntryType::Regular, 0o4755),
            ("sgid", tar::EntryType::Regular, 0o2711),
        ] {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(kind);
            h.set_mode(mode);
            h.set_size(0);
            b.append_data(&mut h, name, &b""[..]).unwrap();
        }
        b.finish().unwrap();
    }
    let mode = |p: &Path| std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777;
    let dest = tmp.path().join("plain");
    archive::unpack(&tar_path, &dest).unwrap();
    assert_eq!(
        ["shared", "group", "suid", "sgid"].map(|n| mode(&dest.join(n))),
        [0o777, 0o775, 0o755, 0o711]
    );
    let dest = tmp.path().join("kept");
    let keep = archive::UnpackOptions {
        keep_special_bits: true,
        ..Default::default()
    };
    archive::unpack_with(&tar_path, &dest, &keep).unwrap();
    assert_eq!(
        ["shared", "group", "suid", "sgid"].map(|n| mode(&dest.join(n))),
        [0o1777, 0o2775, 0o4755, 0o2711]
    );
}

#[test]
fn unpack_writes_tar_and_tgz_and_replaces_top_level_entries() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    std::fs::create_dir_all(tree.join("images/sub")).unwrap();
    std::fs::write(tree.join("images/overcloud-full.qcow2"), content(MIB, 50)).unwrap();
    std::fs::write(tree.join("images/sub/vmlinuz"), b"kernel").unwrap();
    std::os::unix::fs::symlink("sub/vmlinuz", tree.join("images/kernel")).unwrap();
    let tgz = tmp.path().join("a.tgz");
    archive::archive(&tree, &tgz, None).unwrap();

    let dest = tmp.path().join("dest");
    std::fs::create_dir_all(dest.join("images")).unwrap();
    std::fs::write(dest.join("images/stale"), b"old").unwrap();
    std::fs::write(dest.join("keep.txt"), b"kept").unwrap();
    let out = archive::unpack(&tgz, &dest).unwrap();
    assert_eq!(out.entries, 5);
    assert_eq!(out.bytes, MIB as u64 + 6);
    assert_eq!(
        std::fs::read(dest.join("images/overcloud-full.qcow2")).unwrap(),
        content(MIB, 50)
    );
    assert_eq!(
        std::fs::read(dest.join("images/kernel")).unwrap(),
        b"kernel"
    );
    assert!(
        !dest.join("images/stale").exists(),
        "a top-level entry replaces its namesake"
    );
    assert_eq!(std::fs::read(dest.join("keep.txt")).unwrap(), b"kept");
    assert_eq!(
        listing(tmp.path()),
        ["a.tgz", "dest", "tree"],
        "no staging directory left"
    );

    // Plain tar (GNU tar's own output) unpacks the same.
    let plain = tmp.path().join("plain.tar");
    gnu_tar_create(&plain, &tree);
    let dest2 = tmp.path().join("dest2");
    archive::unpack(&plain, &dest2).unwrap();
    assert_eq!(
        std::fs::read(dest2.join("images/sub/vmlinuz")).unwrap(),
        b"kernel"
    );
}

/// What a tree holds, path by path: kind, mode, mtime (not of links; of
/// directories when `dir_times`), content or link target, and which paths
/// share an inode (hard links).
fn tree_facts(root: &Path, dir_times: bool) -> Vec<String> {
    use std::os::unix::fs::MetadataExt as _;
    let mut out = Vec::new();
    let mut inodes: std::collections::HashMap<u64, String> = Default::default();
    let mut todo = vec![PathBuf::new()];
    while let Some(rel) = todo.pop() {
        let mut names: Vec<_> = std::fs::read_dir(root.join(&rel))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        for n in names {
            let r = rel.join(&n);
            let p = root.join(&r);
            let m = std::fs::symlink_metadata(&p).unwrap();
            let what = if m.file_type().is_symlink() {
                format!("link -> {}", std::fs::read_link(&p).unwrap().display())
            } else if m.is_dir() {
                todo.push(r.clone());
                let time = if dir_times {
                    m.mtime().to_string()
                } else {
                    String::new()
                };
                format!("dir {:o} {time}", m.mode() & 0o7777)
            } else {
                let first = inodes
                    .entry(m.ino())
                    .or_insert_with(|| r.display().to_string());
                format!(
                    "file {:o} {} {} same inode as {first}",
                    m.mode() & 0o7777,
                    m.mtime(),
                    sha256_hex(&std::fs::read(&p).unwrap())
                )
            };
            out.push(format!("{}: {what}", r.display()));
        }
    }
    out.sort();
    out
}

/// Asserts two trees hold the same, showing only what differs.
fn assert_same_tree(ours: &Path, reference: &Path, dir_times: bool) {
    let (a, b) = (
        tree_facts(ours, dir_times),
        tree_facts(reference, dir_times),
    );
    let only = |x: &[String], y: &[String]| -> Vec<String> {
        x.iter().filter(|f| !y.contains(f)).cloned().collect()
    };
    assert!(
        a == b,
        "only in {}: {:#?}\nonly in {}: {:#?}",
        ours.display(),
        only(&a, &b),
        reference.display(),
        only(&b, &a)
    );
}

/// GNU tar's archive of the tree at `tree` (`tar -cf TAR -C TREE .`).
fn gnu_tar_create(tar_file: &Path, tree: &Path) {
    let st = Command::new("tar")
        .arg("-cf")
        .arg(tar_file)
        .arg("-C")
        .arg(tree)
        .arg(".")
        .status()
        .unwrap();
    assert!(st.success(), "GNU tar is needed (tests/lab/install.sh)");
}

/// GNU tar's result for `tar_file`, the reference `unpack` is held to.
fn gnu_unpack(tar_file: &Path, dest: &Path) {
    std::fs::create_dir_all(dest).unwrap();
    let st = Command::new("tar")
        .arg("--no-same-owner")
        .arg("-xf")
        .arg(tar_file)
        .arg("-C")
        .arg(dest)
        .status()
        .unwrap();
    assert!(st.success(), "GNU tar is needed (tests/lab/install.sh)");
}

#[test]
fn unpack_writes_what_gnu_tar_writes_in_the_archive_order() {
    // Thousands of small files (written by the worker threads) among the
    // entries whose order matters: a name given twice (the last one wins),
    // hard links to files queued just before, a file a link replaces, a
    // file a directory replaces, a big file streamed beside queued ones,
    // and a read-only directory whose files come after it.
    let tmp = tempfile::tempdir().unwrap();
    let tar_path = tmp.path().join("order.tar");
    let mut b = tar::Builder::new(std::fs::File::create(&tar_path).unwrap());
    let mut add = |name: &str, kind: tar::EntryType, mode: u32, data: &[u8], link: Option<&str>| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_mtime(1_600_000_000 + name.len() as u64);
        h.set_size(data.len() as u64);
        match link {
            Some(l) => b.append_link(&mut h, name, l).unwrap(),
            None => b.append_data(&mut h, name, data).unwrap(),
        }
    };
    use tar::EntryType::{Directory as D, Link as H, Regular as F, Symlink as S};
    add("ro", D, 0o555, b"", None);
    for i in 0..7 {
        add(&format!("d{i}"), D, 0o755, b"", None);
    }
    for i in 0..1200 {
        let body = content(i % 700, i as u64);
        add(&format!("d{}/f{i}", i % 7), F, 0o644, &body, None);
        if i % 500 == 0 {
            add(
                &format!("d{}/f{i}", i % 7),
                F,
                0o600,
                format!("again {i}").as_bytes(),
                None,
            );
            add(
                &format!("d{}/h{i}", i % 7),
                H,
                0,
                b"",
                Some(&format!("d{}/f{i}", i % 7)),
            );
            add(&format!("ro/f{i}"), F, 0o444, b"in a read-only dir", None);
        }
    }
    add("replaced-by-link", F, 0o644, b"file first", None);
    add("replaced-by-link", S, 0o777, b"", Some("d0/f0"));
    add("replaced-by-dir", F, 0o644, b"file first", None);
    add("replaced-by-dir", D, 0o750, b"", None);
    add("replaced-by-dir/inside", F, 0o640, b"x", None);
    add("d1/big", F, 0o755, &content(300_000, 7), None);
    add("d1/f1", F, 0o644, b"after the big one", None);
    add("d1/hb", H, 0, b"", Some("d1/big"));
    b.finish().unwrap();
    drop(b);

    let ours = tmp.path().join("apex");
    let out = archive::unpack(&tar_path, &ours).unwrap();
    let gnu = tmp.path().join("gnu");
    gnu_unpack(&tar_path, &gnu);
    // GNU tar sets a directory's time when it reaches an entry outside it,
    // so a later entry inside leaves the time of that write; apex sets them
    // at the end: the archive's.
    assert_same_tree(&ours, &gnu, false);
    let facts = tree_facts(&ours, true);
    assert!(
        facts.contains(&"d0: dir 755 1600000002".to_string()),
        "{facts:?}"
    );
    assert!(
        facts.contains(&"ro: dir 555 1600000002".to_string()),
        "{facts:?}"
    );
    assert_eq!(out.entries, 8 + 1200 + 3 * 3 + 8);
    assert_eq!(std::fs::read(ours.join("d3/f500")).unwrap(), b"again 500");
}

#[test]
fn unpack_writes_gnu_tars_own_archive_of_a_tree_as_gnu_tar_does() {
    // A tree with what a rootfs has: nested directories with their own modes
    // and times, executables, relative and absolute-looking-inside links.
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    for i in 0..800u64 {
        let dir = tree.join(format!("usr/lib/python3/m{}", i % 40));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(format!("f{i}.py")),
            content((i * 37 % 5000) as usize, i),
        )
        .unwrap();
    }
    std::fs::create_dir_all(tree.join("usr/bin")).unwrap();
    std::fs::write(tree.join("usr/bin/tool"), b"#!/bin/sh\n").unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(
        tree.join("usr/bin/tool"),
        std::fs::Permissions::from_mode(0o751),
    )
    .unwrap();
    std::os::unix::fs::symlink("usr/bin", tree.join("bin")).unwrap();
    std::os::unix::fs::symlink("../lib/python3/m1/f1.py", tree.join("usr/bin/f1")).unwrap();
    std::fs::hard_link(tree.join("usr/bin/tool"), tree.join("usr/bin/tool2")).unwrap();
    std::fs::set_permissions(tree.join("usr/lib"), std::fs::Permissions::from_mode(0o705)).unwrap();
    let st = Command::new("touch")
        .args(["-h", "-d", "2001-02-03 04:05:06"])
        .arg(tree.join("usr/lib/python3"))
        .status()
        .unwrap();
    assert!(st.success());
    let tar_path = tmp.path().join("tree.tar");
    gnu_tar_create(&tar_path, &tree);
    let ours = tmp.path().join("apex");
    archive::unpack(&tar_path, &ours).unwrap();
    let gnu = tmp.path().join("gnu");
    gnu_unpack(&tar_path, &gnu);
    assert_same_tree(&ours, &gnu, true);
    let facts = tree_facts(&ours, true);
    assert!(
        facts.iter().any(|f| f.starts_with("usr/lib: dir 705 ")),
        "{facts:?}"
    );
}

#[test]
fn unpack_logs_what_it_unpacked() {
    let tmp = tempfile::tempdir().unwrap();
    let tar_path = tmp.path().join("images.tar");
    write_raw_tar(
        &tar_path,
        &[
            RawEntry::dir("images"),
            RawEntry::file("images/a.qcow2", b"qcow"),
            RawEntry::file("images/vmlinuz", b"kernel"),
        ],
    );
    let script = tmp.path().join("unpack.lua");
    std::fs::write(
        &script,
        format!(
            "require('apex.core').tar.unpack{{src = {:?}, dest = {:?}}}\n",
            tar_path.display().to_string(),
            tmp.path().join("out").display().to_string()
        ),
    )
    .unwrap();
    let log = hosts::apex_run_logged(&tmp.path().join("run"), &script);
    assert!(
        log.contains("unpack images.tar: 3 entries, 10 B of files"),
        "{log}"
    );
}

#[test]
fn unpack_refuses_a_truncated_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let mut entries = Vec::new();
    let small = content(3000, 1);
    let big = content(200_000, 2);
    for i in 0..50 {
        entries.push((format!("f{i}"), small.clone()));
    }
    entries.push(("big".to_string(), big));
    let tar_path = tmp.path().join("whole.tar");
    let raw: Vec<RawEntry> = entries.iter().map(|(n, d)| RawEntry::file(n, d)).collect();
    write_raw_tar(&tar_path, &raw);
    let whole = std::fs::read(&tar_path).unwrap();
    // Cut inside the big file, then inside a small one (the 10th: header 512 + data 3072 each).
    for (cut, entry) in [
        (whole.len() - 1024 - 100_000, "big"),
        (9 * 3584 + 512 + 1000, "f9"),
    ] {
        let cut_path = tmp.path().join("cut.tar");
        std::fs::write(&cut_path, &whole[..cut]).unwrap();
        let before = listing(tmp.path());
        let dest = tmp.path().join("dest");
        let msg = format!("{:#}", archive::unpack(&cut_path, &dest).unwrap_err());
        assert!(
            msg.contains(&format!("{entry:?}")) && msg.contains("truncated"),
            "{msg}"
        );
        assert_eq!(listing(tmp.path()), before, "nothing left behind");
    }
}

#[test]
fn unpack_reports_a_failed_queued_write_by_its_entry() {
    // `d` is a directory, then a file entry of the same name: the file write
    // (on a worker thread) fails; the error names that entry, and the
    // staging directory is gone.
    let mut entries = vec![RawEntry::dir("d")];
    let names: Vec<String> = (0..300).map(|i| format!("d/f{i}")).collect();
    entries.extend(names.iter().map(|n| RawEntry::file(n, b"small")));
    entries.push(RawEntry::file("d", b"not a directory"));
    entries.extend(names.iter().map(|n| RawEntry::file(&n[2..], b"after")));
    let tmp = assert_refused(&entries, "d");
    let tar = tmp.path().join("evil.tar");
    let msg = format!(
        "{:#}",
        archive::unpack(&tar, &tmp.path().join("dest")).unwrap_err()
    );
    assert!(msg.contains("is a directory"), "{msg}");
}

// ---------------------------------------------------------------- archive

#[test]
fn archive_is_reproducible() {
    use std::os::unix::fs::PermissionsExt as _;
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("containers");
    for (dir, file, body) in [
        ("nova-api", "Dockerfile", "FROM x\n"),
        ("opendaylight", "Dockerfile", "FROM y\n"),
        ("a", "run.sh", "#!/bin/sh\n"),
    ] {
        std::fs::create_dir_all(src.join(dir)).unwrap();
        std::fs::write(src.join(dir).join(file), body).unwrap();
    }
    std::fs::set_permissions(src.join("a/run.sh"), std::fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::symlink("nova-api/Dockerfile", src.join("link")).unwrap();
    let one = archive::archive(&src, &tmp.path().join("one.tar.gz"), None).unwrap();

    // Different mtimes, modes and creation order: the same bytes.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let src2 = tmp.path().join("again");
    for (dir, file, body) in [
        ("opendaylight", "Dockerfile", "FROM y\n"),
        ("a", "run.sh", "#!/bin/sh\n"),
        ("nova-api", "Dockerfile", "FROM x\n"),
    ] {
        std::fs::create_dir_all(src2.join(dir)).unwrap();
        std::fs::write(src2.join(dir).join(file), body).unwrap();
    }
    std::fs::set_permissions(
        src2.join("a/run.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::os::unix::fs::symlink("nova-api/Dockerfile", src2.join("link")).unwrap();
    let two = archive::archive(&src2, &tmp.path().join("two.tar.gz"), None).unwrap();

    let (a, b) = (
        std::fs::read(&one.path).unwrap(),
        std::fs::read(&two.path).unwrap(),
    );
    assert_eq!(a, b, "byte-identical archives");
    assert_eq!(one.sha256, two.sha256);
    assert_eq!(one.sha256, sha256_hex(&a));
    assert_eq!((one.size, one.entries), (a.len() as u64, 7));

    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(&a[..]));
    let mut seen = Vec::new();
    for e in ar.entries().unwrap() {
        let e = e.unwrap();
        let h = e.header();
        assert_eq!(
            (h.uid().unwrap(), h.gid().unwrap(), h.mtime().unwrap()),
            (0, 0, archive::DEFAULT_MTIME)
        );
        seen.push(format!(
            "{} {:o}",
            e.path().unwrap().display(),
            h.mode().unwrap()
        ));
    }
    assert_eq!(
        seen,
        [
            "a 755",
            "a/run.sh 755",
            "link 777",
            "nova-api 755",
            "nova-api/Dockerfile 644",
            "opendaylight 755",
            "opendaylight/Dockerfile 644"
        ]
    );

    // With the directory itself on top (Apex's containers/<image>/ layout).
    let top = archive::archive_tree(&src, &tmp.path().join("top.tar.gz"), None, true).unwrap();
    let bytes = std::fs::read(&top.path).unwrap();
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
    let names: Vec<String> = ar
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert_eq!(names[0], "containers");
    assert!(
        names.contains(&"containers/nova-api/Dockerfile".to_string()),
        "{names:?}"
    );
    assert_eq!(top.entries, 8);
}

/// A GNU sparse entry (`tar -S`) is unpacked sparse: its holes stay holes
/// (the file takes the blocks of its data, not of its size) and its content
/// reads back the same.
#[test]
fn a_sparse_entry_is_unpacked_sparse() {
    use std::io::{Seek as _, Write as _};
    use std::os::unix::fs::MetadataExt as _;
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir(&src).unwrap();
    let size = 64 * MIB as u64;
    let mut f = std::fs::File::create(src.join("disk.img")).unwrap();
    f.set_len(size).unwrap();
    let pieces: [(u64, &[u8]); 3] = [
        (0, b"head of the disk"),
        (32 * MIB as u64 + 5, b"in the middle"),
        (size - 4, b"tail"),
    ];
    for (at, data) in pieces {
        f.seek(std::io::SeekFrom::Start(at)).unwrap();
        f.write_all(data).unwrap();
    }
    drop(f);
    let tar_path = tmp.path().join("sparse.tar");
    let st = Command::new("tar")
        .arg("-S")
        .arg("-cf")
        .arg(&tar_path)
        .arg("-C")
        .arg(&src)
        .arg("disk.img")
        .status()
        .expect("GNU tar (tests/lab/install.sh)");
    assert!(st.success());
    assert!(
        std::fs::metadata(&tar_path).unwrap().len() < MIB as u64,
        "tar -S made a sparse entry"
    );
    let dest = tmp.path().join("out");
    let out = archive::unpack(&tar_path, &dest).unwrap();
    assert_eq!(out.bytes, size, "the real size counts");
    let img = dest.join("disk.img");
    let m = std::fs::metadata(&img).unwrap();
    assert_eq!(m.len(), size);
    assert!(
        m.blocks() * 512 <= 1 << 20,
        "{} bytes allocated for 3 small pieces of data: written fully",
        m.blocks() * 512
    );
    assert_eq!(
        std::fs::read(&img).unwrap(),
        std::fs::read(src.join("disk.img")).unwrap()
    );
}

#[tokio::test]
async fn lua_binding_archive_and_unpack() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("containers/nova-api");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("Dockerfile"), "FROM nova\n").unwrap();
    let evil = tmp.path().join("evil.tar");
    write_raw_tar(&evil, &[RawEntry::file("../x", b"evil")]);
    let host = apex::lua::Host::new(apex::lua::HostConfig {
        plan: true,
        ..Default::default()
    })
    .unwrap();
    let f = host
        .lua()
        .load(
            r#"
            local core = require("apex.core")
            local dir = ...
            local a = core.tar.pack{src = dir .. "/containers", dest = dir .. "/docker_patches.tar.gz"}
            local b = core.tar.pack{src = dir .. "/containers", dest = dir .. "/again.tar.gz"}
            assert(a.path == dir .. "/docker_patches.tar.gz" and #a.sha256 == 64 and a.sha256 == b.sha256, a.sha256)
            assert(a.entries == 2 and a.size > 0)
            local u = core.tar.unpack{src = a.path, dest = dir .. "/out"}
            assert(u.entries == 2 and u.bytes == 10)
            assert(core.fs.read{path = dir .. "/out/nova-api/Dockerfile"}.content == "FROM nova\n")
            local ok, err = pcall(core.tar.unpack, {src = dir .. "/evil.tar", dest = dir .. "/out2"})
            err = tostring(err)
            assert(not ok and err:find("tar.unpack: ", 1, true) and err:find('"../x"', 1, true), err)
            ok, err = pcall(core.tar.unpack, {src = a.path, dest = dir .. "/out3", max_entries = 1})
            err = tostring(err)
            assert(not ok and err:find("max_entries", 1, true), err)
            ok, err = pcall(core.tar.unpack, {src = a.path, dest = dir .. "/out3", max_bytes = "9"})
            err = tostring(err)
            assert(not ok and err:find("max_bytes", 1, true), err)
            assert(not core.fs.exists{path = dir .. "/out3"}.exists)
            u = core.tar.unpack{src = a.path, dest = dir .. "/out3", max_bytes = "1K", max_entries = 2, keep_special_bits = true}
            assert(u.entries == 2)
            return true
            "#,
        )
        .set_name("@lua_archive_test")
        .into_function()
        .unwrap();
    host.call(&f, tmp.path().to_string_lossy().into_owned())
        .await
        .unwrap();
    assert!(!tmp.path().join("x").exists());
}
