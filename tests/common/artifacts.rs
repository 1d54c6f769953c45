//! Fixtures for tests/artifacts.rs: an upstream directory served by the lab's
//! artifact server, a cache directory, artifact contents, and hand-made tar
//! entries (the tar crate refuses to write the malicious names we need).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use apex::artifacts::{FetchRequest, FetchSettings};
use apex_lab::artifact_server::ArtifactServer;

/// One test's world: `upstream/` served over loopback, `cache/` to fetch into.
pub struct Lab {
    pub dir: tempfile::TempDir,
    pub server: ArtifactServer,
}

impl Lab {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("apex-artifacts-test-")
            .tempdir()
            .expect("temp dir");
        std::fs::create_dir_all(dir.path().join("upstream")).unwrap();
        std::fs::create_dir_all(dir.path().join("cache")).unwrap();
        let server = ArtifactServer::start(dir.path().join("upstream"))
            .expect("artifact server starts on loopback");
        Self { dir, server }
    }

    pub fn upstream(&self, name: &str) -> PathBuf {
        self.dir.path().join("upstream").join(name)
    }

    pub fn cache(&self, name: &str) -> PathBuf {
        self.dir.path().join("cache").join(name)
    }

    /// Publishes `name` upstream with `size` bytes derived from `seed`; returns the bytes.
    pub fn publish(&self, name: &str, size: usize, seed: u64) -> Vec<u8> {
        let data = content(size, seed);
        let path = self.upstream(name);
        std::fs::write(&path, &data).unwrap();
        data
    }

    /// Replaces `name` upstream and moves its mtime `secs` later, so even a
    /// date-only validator (second resolution) sees the change.
    pub fn republish(&self, name: &str, size: usize, seed: u64, secs: u64) -> Vec<u8> {
        let path = self.upstream(name);
        let old = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .unwrap_or(SystemTime::now());
        let data = self.publish(name, size, seed);
        let f = std::fs::File::options().write(true).open(&path).unwrap();
        f.set_modified(old + Duration::from_secs(secs)).unwrap();
        data
    }

    pub fn request(&self, name: &str) -> FetchRequest {
        FetchRequest {
            url: self.server.url(name),
            dest: self.cache(name),
            ..Default::default()
        }
    }

    /// The cache directory's file names, hidden records included, sorted.
    pub fn cache_listing(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.dir.path().join("cache"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

/// Quick settings for tests: short backoff, few retries.
pub fn quick() -> FetchSettings {
    FetchSettings {
        retries: 3,
        backoff: Duration::from_millis(10),
        timeout: Duration::from_secs(10),
        ..Default::default()
    }
}

/// Deterministic, incompressible-looking bytes.
pub fn content(size: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(data))
}

/// A tar entry written field by field, so names like `../x` or `/etc/x` survive.
pub struct RawEntry<'a> {
    pub name: &'a str,
    pub kind: tar::EntryType,
    pub link: Option<&'a str>,
    pub data: &'a [u8],
}

impl<'a> RawEntry<'a> {
    pub fn file(name: &'a str, data: &'a [u8]) -> Self {
        Self {
            name,
            kind: tar::EntryType::Regular,
            link: None,
            data,
        }
    }

    pub fn dir(name: &'a str) -> Self {
        Self {
            name,
            kind: tar::EntryType::Directory,
            link: None,
            data: b"",
        }
    }

    pub fn symlink(name: &'a str, target: &'a str) -> Self {
        Self {
            name,
            kind: tar::EntryType::Symlink,
            link: Some(target),
            data: b"",
        }
    }

    pub fn hardlink(name: &'a str, target: &'a str) -> Self {
        Self {
            name,
            kind: tar::EntryType::Link,
            link: Some(target),
            data: b"",
        }
    }
}

/// Writes a plain tar of `entries` to `path`.
pub fn write_raw_tar(path: &Path, entries: &[RawEntry]) {
    let mut b = tar::Builder::new(std::fs::File::create(path).unwrap());
    for e in entries {
        let mut h = tar::Header::new_old();
        {
            let old = h.as_old_mut();
            old.name[..e.name.len()].copy_from_slice(e.name.as_bytes());
            if let Some(l) = e.link {
                old.linkname[..l.len()].copy_from_slice(l.as_bytes());
            }
        }
        h.set_entry_type(e.kind);
        h.set_mode(if e.kind == tar::EntryType::Directory {
            0o755
        } else {
            0o644
        });
        h.set_size(e.data.len() as u64);
        h.set_mtime(1_000_000_000);
        h.set_cksum();
        b.append(&h, e.data).unwrap();
    }
    b.finish().unwrap();
}

/// Sorted names in a directory (to show nothing appeared beside the destination).
pub fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}
