//! Checking a cached artifact against its recorded sha256 where it is used,
//! at (near) no cost: the consumer that already reads the whole file (the
//! unpack of a tarball) hands each block it reads to a [`SideHasher`], which
//! hashes on a thread of its own while the consumer goes on writing; the
//! digest is compared when the consumer reached the end, before its result is
//! put in place. A file used without such a pass (a VM's backing image, a file
//! a customization copies) is hashed with [`sha256_file`]: large reads on one
//! thread, hashing on another.

use std::io::Read as _;
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use anyhow::Context as _;
use sha2::Digest as _;

/// Blocks queued for the hashing thread at most (bounded memory: this many
/// times the consumer's read size).
const QUEUED: usize = 8;

/// A SHA-256 computed on its own thread over the blocks given to
/// [`SideHasher::update`] (each copied once into a recycled buffer).
pub struct SideHasher {
    tx: Option<SyncSender<Vec<u8>>>,
    spare: Receiver<Vec<u8>>,
    thread: Option<JoinHandle<String>>,
    /// Hashing here instead, when no thread could be started.
    inline: Option<sha2::Sha256>,
}

impl SideHasher {
    pub fn start() -> Self {
        let (tx, rx) = sync_channel::<Vec<u8>>(QUEUED);
        let (give_back, spare) = sync_channel::<Vec<u8>>(QUEUED + 2);
        let thread = std::thread::Builder::new()
            .name("apex-sha256".into())
            .spawn(move || {
                let mut h = sha2::Sha256::new();
                for block in rx {
                    h.update(&block);
                    // The consumer may have stopped taking spares; never block on that.
                    let _ = give_back.try_send(block);
                }
                hex::encode(h.finalize())
            })
            .ok();
        let inline = thread.is_none().then(sha2::Sha256::new);
        Self {
            tx: thread.as_ref().map(|_| tx),
            spare,
            thread,
            inline,
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        if let Some(h) = &mut self.inline {
            h.update(data);
            return;
        }
        let mut block = self.spare.try_recv().unwrap_or_default();
        block.clear();
        block.extend_from_slice(data);
        if let Some(tx) = &self.tx {
            // The thread ends only when `tx` is dropped.
            let _ = tx.send(block);
        }
    }

    /// The hex digest of everything given.
    pub fn finish(mut self) -> String {
        if let Some(h) = self.inline.take() {
            return hex::encode(h.finalize());
        }
        self.tx = None;
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for SideHasher {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The size of one read of [`sha256_file`].
const BLOCK: usize = 4 << 20;

/// The SHA-256 (hex) of a whole file: 4 MiB reads on this thread, hashed on
/// another, so the disk and the hash overlap. A SIGINT or SIGTERM stops it
/// (an error) between reads.
pub fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let mut f =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut h = SideHasher::start();
    let mut buf = vec![0u8; BLOCK];
    loop {
        // A stop asked for by a signal ends the read (this may run for seconds).
        crate::interrupt::check()?;
        let n = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        h.update(&buf[..n]);
    }
    Ok(h.finish())
}

/// A cached artifact that does not match the sha256 recorded when it was
/// downloaded: it changed on disk since (the error of a consumer that checked it).
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "{path} does not match the sha256 recorded when it was downloaded (now {actual}, recorded {expected}): \
     the cached copy is corrupt"
)]
pub struct Corrupt {
    pub path: String,
    pub actual: String,
    pub expected: String,
}

/// Checks `path` against `expected` (hex) with one read ([`sha256_file`]).
pub fn check_file(path: &Path, expected: &str) -> anyhow::Result<()> {
    let actual = sha256_file(path)?;
    if !actual.eq_ignore_ascii_case(expected.trim()) {
        return Err(Corrupt {
            path: path.display().to_string(),
            actual,
            expected: expected.trim().to_ascii_lowercase(),
        }
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn side_hasher_matches_one_pass() {
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut h = SideHasher::start();
        for chunk in data.chunks(65_537) {
            h.update(chunk);
        }
        assert_eq!(h.finish(), hex::encode(sha2::Sha256::digest(&data)));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, &data).unwrap();
        assert_eq!(
            sha256_file(&p).unwrap(),
            hex::encode(sha2::Sha256::digest(&data))
        );
        let err = check_file(&p, &"0".repeat(64)).unwrap_err();
        assert!(err.is::<Corrupt>(), "{err:#}");
    }
}
