//! The reader threads: a batch is read with the pure reader on threads that
//! live as long as the process, at most `cores - 1` of them (at least one),
//! so that a batch is read beside the store writing the one before it and
//! the IMAP session fetching, without taking every core from them. Each of
//! the reader's regexes keeps a search cache for every thread that used it
//! (up to megabytes each, kept in the regex's pool by thread): threads made
//! afresh for every batch left a cache set each behind; these few threads
//! make theirs once and reuse them.

use std::panic::AssertUnwindSafe;
use std::sync::{mpsc, Arc, Mutex, OnceLock};

type Job = Box<dyn FnOnce() + Send>;

struct Readers {
    /// None when no reader thread could be started: jobs then run on
    /// tokio's blocking threads.
    tx: Option<Mutex<mpsc::Sender<Job>>>,
    threads: usize,
}

fn readers() -> &'static Readers {
    static READERS: OnceLock<Readers> = OnceLock::new();
    READERS.get_or_init(|| {
        let want = std::thread::available_parallelism()
            .map(|p| p.get())
            .unwrap_or(1)
            .saturating_sub(1)
            .clamp(1, 7);
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let started = (0..want)
            .filter(|i| {
                let rx = Arc::clone(&rx);
                std::thread::Builder::new()
                    .name(format!("reader-{i}"))
                    .spawn(move || serve(&rx))
                    .map_err(|e| tracing::warn!("could not start a reader thread: {e}"))
                    .is_ok()
            })
            .count();
        Readers {
            tx: (started > 0).then(|| Mutex::new(tx)),
            threads: started.max(1),
        }
    })
}

/// A reader thread's loop: one job after another until the process ends.
fn serve(rx: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        let job = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        match job {
            // A job reports through its own channel; a panic drops it, and
            // the waiting side sees that.
            Ok(job) => {
                let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
            }
            Err(_) => return,
        }
    }
}

/// How many reader threads there are (how many parts a batch is read in).
pub(super) fn threads() -> usize {
    readers().threads
}

/// Runs `f` on a reader thread; None when it panicked (or the process is
/// shutting down).
pub(super) async fn run<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = tx.send(f());
    });
    match &readers().tx {
        Some(jobs) => jobs.lock().ok()?.send(job).ok()?,
        None => tokio::task::spawn_blocking(job).await.ok()?,
    }
    rx.await.ok()
}
