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

/// Jobs waiting per worker (measured: 32 is slower, 128 no slower than 64).
const QUEUE_DEPTH: usize = 128;

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
    File(FileJob),
    /// Answered once every job before it is done, with the first error since the last one.
    Drain(SyncSender<Option<anyhow::Error>>),
}

pub(super) struct Writers<'s> {
    staging: &'s Staging,
    queues: Vec<SyncSender<Job>>,
    next: usize,
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
        let queue = &self.queues[self.next % self.queues.len()];
        self.next = self.next.wrapping_add(1);
        if queue.send(Job::File(job)).is_err() {
            // The worker is gone: only a panic does that; drain() says so.
            return self.drain();
        }
        Ok(())
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
        if let Job::File(file) = &job {
            queued_bytes.fetch_sub(file.data.len(), Ordering::Relaxed);
        }
        match job {
            Job::File(_) if stop.load(Ordering::Relaxed) => {} // the unpack fails or is failing
            Job::File(job) => {
                if let Err(e) = write(staging, job) {
                    stop.store(true, Ordering::Relaxed);
                    error.get_or_insert(e);
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
