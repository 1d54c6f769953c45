//! The file writers of `unpack`. A small file's content is read into memory
//! by the thread reading the archive, and the file is created, written and
//! timed on a worker thread, so the system calls of many files overlap (they
//! are most of an unpack's time: GNU tar makes the same ones, one after the
//! other). Whatever depends on a queued file being on disk (another entry of
//! the same name, a hard link to it, a directory created where it is) first
//! waits for the queues to drain ([`Writers::settle`]).

use std::collections::HashSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use super::write::Staging;

/// Files up to this size are queued; bigger ones are streamed by the
/// reading thread, so memory stays bounded.
pub(super) const QUEUED_MAX: u64 = 64 << 10;

/// Files go to a worker in batches of this many (or [`BATCH_BYTES`]): one
/// channel message and wake-up per batch, not per file.
const BATCH_FILES: usize = 32;
const BATCH_BYTES: usize = 256 << 10;

/// Batches waiting per worker.
const QUEUE_DEPTH: usize = 8;

/// Most bytes of queued content, all workers together: past it the reading
/// thread waits for the queues to drain.
const MAX_QUEUED_BYTES: usize = 16 << 20;

/// Most workers: past a few, file creation in one directory serializes in
/// the kernel anyway.
const MAX_WORKERS: usize = 8;

/// One file to write.
pub(super) struct FileJob {
    /// The entry's name in the archive, for the error.
    pub name: String,
    pub rel: PathBuf,
    pub mode: u32,
    pub mtime: Option<u64>,
    pub data: Vec<u8>,
}

/// The context of an entry's error: which entry of the archive.
#[derive(Debug)]
pub(super) struct EntryFailed(pub String);

impl std::fmt::Display for EntryFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "refused entry {:?}", self.0)
    }
}

enum Job {
    Files(Vec<FileJob>),
    /// Answered once every job before it is done, with the first error since the last one.
    Drain(SyncSender<Option<anyhow::Error>>),
}

pub(super) struct Writers<'s> {
    staging: &'s Staging,
    queues: Vec<SyncSender<Job>>,
    next: usize,
    /// The batch being filled, sent to the next worker when full.
    batch: Vec<FileJob>,
    batch_bytes: usize,
    /// Paths queued since the last drain.
    pending: HashSet<PathBuf>,
    /// Set by a worker whose write failed, and when the unpack gives up:
    /// workers then skip what is queued.
    stop: Arc<AtomicBool>,
    /// Bytes of content queued and not yet written.
    queued_bytes: Arc<AtomicUsize>,
}

/// How many workers to run: none (write inline) on one CPU, else one more
/// than the CPUs (measured on 2 CPUs and tmpfs: 2 workers 0.84x GNU tar's
/// time, 3 workers 0.65x, 4 to 6 no better, 8 worse).
pub(super) fn worker_count() -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cpus < 2 {
        0
    } else {
        (cpus + 1).min(MAX_WORKERS)
    }
}

impl<'s> Writers<'s> {
    /// Starts `workers` threads in `scope` (0: files are written inline). The
    /// threads end when the `Writers` is dropped; the scope joins them.
    pub(super) fn start<'scope>(
        scope: &'scope std::thread::Scope<'scope, '_>,
        staging: &'s Staging,
        workers: usize,
    ) -> Self
    where
        's: 'scope,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let queued_bytes = Arc::new(AtomicUsize::new(0));
        let queues = (0..workers)
            .map(|_| {
                let (tx, rx) = sync_channel(QUEUE_DEPTH);
                let (stop, queued_bytes) = (stop.clone(), queued_bytes.clone());
                scope.spawn(move || work(staging, rx, &stop, &queued_bytes));
                tx
            })
            .collect();
        Self {
            staging,
            queues,
            next: 0,
            batch: Vec::with_capacity(BATCH_FILES),
            batch_bytes: 0,
            pending: HashSet::new(),
            stop,
            queued_bytes,
        }
    }

    /// Writes `job`'s file, on a worker when there are any.
    pub(super) fn submit(&mut self, job: FileJob) -> anyhow::Result<()> {
        if self.queues.is_empty() {
            return write(self.staging, job);
        }
        if self.stop.load(Ordering::Relaxed) {
            return self.drain();
        }
        self.settle(&job.rel)?;
        let len = job.data.len();
        if self.queued_bytes.load(Ordering::Relaxed) + len > MAX_QUEUED_BYTES {
            self.drain()?;
        }
        self.queued_bytes.fetch_add(len, Ordering::Relaxed);
        self.pending.insert(job.rel.clone());
        self.batch.push(job);
        self.batch_bytes += len;
        if self.batch.len() >= BATCH_FILES || self.batch_bytes >= BATCH_BYTES {
            self.send_batch();
        }
        Ok(())
    }

    /// Sends the batch being filled to the next worker. A worker that is
    /// gone (only a panic does that) is reported by the next drain.
    fn send_batch(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH_FILES));
        self.batch_bytes = 0;
        let queue = &self.queues[self.next % self.queues.len()];
        self.next = self.next.wrapping_add(1);
        let _ = queue.send(Job::Files(batch));
    }

    /// Waits for the queued files when one of them is at `rel`.
    pub(super) fn settle(&mut self, rel: &Path) -> anyhow::Result<()> {
        if self.pending.contains(rel) {
            self.drain()?;
        }
        Ok(())
    }

    /// Waits until every queued file is written; the first error of any.
    pub(super) fn drain(&mut self) -> anyhow::Result<()> {
        self.send_batch();
        let mut first = None;
        for queue in &self.queues {
            let (tx, rx) = sync_channel(1);
            let answer = match queue.send(Job::Drain(tx)) {
                Ok(()) => rx.recv().ok(),
                Err(_) => None,
            };
            let error =
                answer.unwrap_or_else(|| Some(anyhow::anyhow!("a file writer thread died")));
            if first.is_none() {
                first = error;
            }
        }
        self.pending.clear();
        first.map_or(Ok(()), Err)
    }
}

impl Drop for Writers<'_> {
    /// An unpack that ends early (an error) does not wait for its queued files.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn work(staging: &Staging, jobs: Receiver<Job>, stop: &AtomicBool, queued_bytes: &AtomicUsize) {
    let mut error = None;
    for job in jobs {
        match job {
            Job::Files(files) => {
                for file in files {
                    queued_bytes.fetch_sub(file.data.len(), Ordering::Relaxed);
                    if stop.load(Ordering::Relaxed) {
                        continue; // the unpack fails or is failing
                    }
                    if let Err(e) = write(staging, file) {
                        stop.store(true, Ordering::Relaxed);
                        error.get_or_insert(e);
                    }
                }
            }
            Job::Drain(answer) => {
                let _ = answer.send(error.take());
            }
        }
    }
}

fn write(staging: &Staging, job: FileJob) -> anyhow::Result<()> {
    let FileJob {
        name,
        rel,
        mode,
        mtime,
        data,
    } = job;
    staging
        .file(&rel, mode, mtime, |f| {
            f.write_all(&data)?;
            Ok(data.len() as u64)
        })
        .map_err(|e| e.context(EntryFailed(name)))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(rel: &str, data: &[u8]) -> FileJob {
        FileJob {
            name: rel.into(),
            rel: rel.into(),
            mode: 0o640,
            mtime: Some(1_000_000_000),
            data: data.to_vec(),
        }
    }

    /// Inline (one CPU) and on workers: the last entry of a name wins, and a
    /// failed write is reported by its entry's name.
    #[test]
    fn writes_in_order_inline_and_on_workers() {
        for workers in [0, 3] {
            let tmp = tempfile::tempdir().unwrap();
            std::fs::create_dir(tmp.path().join("dir")).unwrap();
            let staging = Staging::open(tmp.path()).unwrap();
            let err = std::thread::scope(|scope| {
                let mut w = Writers::start(scope, &staging, workers);
                for round in 0..3 {
                    for i in 0..100 {
                        w.submit(job(&format!("f{i}"), format!("{round}").as_bytes()))
                            .unwrap();
                    }
                }
                w.drain().unwrap();
                let failed = w.submit(job("dir", b"over a directory"));
                failed.and_then(|()| w.drain()).unwrap_err()
            });
            for i in 0..100 {
                let p = tmp.path().join(format!("f{i}"));
                assert_eq!(std::fs::read(&p).unwrap(), b"2", "{workers} workers");
                use std::os::unix::fs::MetadataExt as _;
                let m = std::fs::metadata(&p).unwrap();
                assert_eq!((m.mode() & 0o777, m.mtime()), (0o640, 1_000_000_000));
            }
            let msg = format!("{err:#}");
            assert!(
                msg.contains("refused entry \"dir\"") && msg.contains("is a directory"),
                "{msg}"
            );
        }
    }
}
