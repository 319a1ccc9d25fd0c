//! The single writer (DESIGN.md): one thread owns the write connection, is fed by a bounded
//! channel and commits in batches, so callers never wait for a disk sync.

use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, RecvError, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use rusqlite::{Connection, TransactionBehavior};

use super::cdr::{insert_cdr, Cdr};
use super::events::{insert_event, Event};
use super::{Db, StorageError};

/// How many messages may wait for the writer before `append` blocks (back-pressure).
const CHANNEL_CAPACITY: usize = 8192;
/// The most work items committed in one transaction: bounds the time a reader can be starved of
/// a fresh snapshot and the work redone if a commit fails.
const MAX_BATCH: usize = 1024;
/// How long the writer waits for more work after the first item of a batch: at most this much
/// later on disk, and at most ~100 fsyncs a second however many calls there are.
const LINGER: std::time::Duration = std::time::Duration::from_millis(10);

enum Msg {
    Append(Event),
    FinishCall(Vec<Event>, Box<Cdr>),
    /// Answered after everything sent before it is committed.
    Flush(SyncSender<Result<(), String>>),
    /// Like `Flush`, then the thread exits.
    Shutdown(SyncSender<Result<(), String>>),
}

/// A clone-able handle to the storage writer thread.
#[derive(Clone)]
pub struct StorageWriter {
    tx: SyncSender<Msg>,
    thread: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl std::fmt::Debug for StorageWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageWriter").finish_non_exhaustive()
    }
}

impl StorageWriter {
    /// Opens (and migrates) the database at `path` and starts the writer thread.
    pub fn start(path: &Path) -> Result<StorageWriter, StorageError> {
        let db = Db::open(path)?;
        let (tx, rx) = sync_channel(CHANNEL_CAPACITY);
        let thread = std::thread::Builder::new()
            .name("storage-writer".into())
            .spawn(move || run(db.into_conn(), rx))
            .map_err(|e| StorageError::Writer(format!("cannot start thread: {e}")))?;
        Ok(StorageWriter {
            tx,
            thread: Arc::new(Mutex::new(Some(thread))),
        })
    }

    /// Queues one event; blocks only while the channel is full.
    pub fn append(&self, event: Event) {
        if self.tx.send(Msg::Append(event)).is_err() {
            tracing::error!("storage writer is stopped: event dropped");
        }
    }

    /// Queues a finished call: its remaining events and its CDR are committed in one transaction,
    /// so a CDR is never half-written and never lost once committed.
    pub fn finish_call(&self, events: Vec<Event>, cdr: Cdr) {
        let call_id = cdr.call_id.clone();
        if self
            .tx
            .send(Msg::FinishCall(events, Box::new(cdr)))
            .is_err()
        {
            tracing::error!(%call_id, "storage writer is stopped: CDR dropped");
        }
    }

    /// Blocks until everything sent so far (from any handle) is committed. Reports the first
    /// write that failed since the previous flush, if any.
    pub fn flush(&self) -> Result<(), StorageError> {
        let (ack_tx, ack_rx) = sync_channel(1);
        self.tx
            .send(Msg::Flush(ack_tx))
            .map_err(|_| StorageError::Writer("writer thread is stopped".into()))?;
        wait_ack(&ack_rx)
    }

    /// Commits everything sent so far and stops the writer thread. Other handles' later sends
    /// are dropped with an error log.
    pub fn shutdown(self) -> Result<(), StorageError> {
        let (ack_tx, ack_rx) = sync_channel(1);
        self.tx
            .send(Msg::Shutdown(ack_tx))
            .map_err(|_| StorageError::Writer("writer thread is stopped".into()))?;
        let result = wait_ack(&ack_rx);
        let handle = self.thread.lock().ok().and_then(|mut h| h.take());
        if let Some(handle) = handle {
            if handle.join().is_err() {
                return Err(StorageError::Writer("writer thread panicked".into()));
            }
        }
        result
    }
}

fn wait_ack(rx: &Receiver<Result<(), String>>) -> Result<(), StorageError> {
    match rx.recv() {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(StorageError::Writer(e)),
        Err(RecvError) => Err(StorageError::Writer("writer thread died".into())),
    }
}

/// The writer loop: wait for one message, take whatever else is queued (up to a batch), commit
/// it in one transaction, then answer the flushes that were in the batch.
#[allow(clippy::disallowed_methods)] // an I/O thread like the driver's: the linger deadline reads the clock
fn run(mut conn: Connection, rx: Receiver<Msg>) {
    // The first failure since the last flush, reported to the next flush.
    let mut failure: Option<String> = None;
    let mut batch: Vec<Msg> = Vec::with_capacity(MAX_BATCH);
    loop {
        match rx.recv() {
            Ok(m) => batch.push(m),
            Err(RecvError) => return, // every handle dropped, nothing left to write
        }
        // Group commit: with synchronous=FULL every commit costs an fsync and a WAL frame per
        // touched page, so the writer lingers briefly for more work instead of committing each
        // call's events alone. A flush (or shutdown) ends the wait: whoever waits on it is not
        // kept waiting.
        let deadline = std::time::Instant::now() + LINGER;
        while batch.len() < MAX_BATCH
            && !matches!(batch.last(), Some(Msg::Flush(_) | Msg::Shutdown(_)))
        {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(m) => batch.push(m),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
            }
        }
        if let Err(e) = commit_batch(&mut conn, &batch) {
            tracing::error!(error = %e, items = batch.len(), "storage batch not committed");
            failure.get_or_insert_with(|| e.to_string());
        }
        let mut stop = false;
        for msg in batch.drain(..) {
            match msg {
                Msg::Flush(ack) => {
                    let _ = ack.send(failure.take().map_or(Ok(()), Err));
                }
                Msg::Shutdown(ack) => {
                    let _ = ack.send(failure.take().map_or(Ok(()), Err));
                    stop = true;
                }
                Msg::Append(_) | Msg::FinishCall(..) => {}
            }
        }
        if stop {
            return;
        }
    }
}

/// Writes one batch in one transaction. The whole batch is first written without savepoints:
/// a savepoint per item costs a statement prepare and a sub-journal copy of every page it
/// touches, most of the writer's time at a few thousand calls per second. Only when an item
/// fails is that attempt rolled back and the batch redone item by item, each in its own
/// savepoint, so a bad item (say a duplicate CDR) is logged alone instead of taking its
/// neighbours with it.
fn commit_batch(conn: &mut Connection, batch: &[Msg]) -> Result<(), StorageError> {
    if !batch
        .iter()
        .any(|m| matches!(m, Msg::Append(_) | Msg::FinishCall(..)))
    {
        return Ok(());
    }
    if commit_whole(conn, batch)? {
        return Ok(());
    }
    commit_item_by_item(conn, batch)
}

/// Writes one work item (an event, or a finished call's events and CDR).
fn write_item(conn: &Connection, msg: &Msg) -> Result<(), StorageError> {
    match msg {
        Msg::Append(event) => insert_event(conn, event),
        Msg::FinishCall(events, cdr) => events
            .iter()
            .try_for_each(|e| insert_event(conn, e))
            .and_then(|()| insert_cdr(conn, cdr)),
        Msg::Flush(_) | Msg::Shutdown(_) => Ok(()),
    }
}

/// The fast path: every item in one transaction, no savepoints. `Ok(false)` when an item
/// failed (the transaction is rolled back; nothing of the batch is kept).
fn commit_whole(conn: &mut Connection, batch: &[Msg]) -> Result<bool, StorageError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for msg in batch {
        if write_item(&tx, msg).is_err() {
            // Dropping the transaction rolls it back; the slow path reports the item.
            return Ok(false);
        }
    }
    invalidate_and_commit(tx, batch)?;
    Ok(true)
}

/// The slow path after a failed fast attempt: each item in its own savepoint.
fn commit_item_by_item(conn: &mut Connection, batch: &[Msg]) -> Result<(), StorageError> {
    let mut first_error: Option<StorageError> = None;
    let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for msg in batch {
        let sp = tx.savepoint()?;
        match write_item(&sp, msg) {
            Ok(()) => sp.commit()?,
            Err(e) => {
                // Dropping the savepoint rolls it back.
                drop(sp);
                if let Msg::FinishCall(_, cdr) = msg {
                    tracing::error!(call_id = %cdr.call_id, error = %e, "CDR not written");
                } else {
                    tracing::error!(error = %e, "event not written");
                }
                first_error.get_or_insert(e);
            }
        }
    }
    invalidate_and_commit(tx, batch)?;
    match first_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Drops the report rollups the batch's events could change, then commits.
fn invalidate_and_commit(tx: rusqlite::Transaction<'_>, batch: &[Msg]) -> Result<(), StorageError> {
    // Migration 0011: cached report days these events could change are dropped in the same
    // transaction, so a rollup never outlives the events it was computed from.
    let written = batch.iter().flat_map(|m| match m {
        Msg::Append(e) => std::slice::from_ref(e),
        Msg::FinishCall(events, _) => events.as_slice(),
        Msg::Flush(_) | Msg::Shutdown(_) => &[],
    });
    if let Err(e) = super::rollups::invalidate(&tx, written) {
        // Without the invalidation a stale rollup could be served: keep nothing of the batch.
        tracing::error!(error = %e, "report rollups not invalidated; batch rolled back");
        return Err(e);
    }
    tx.commit()?;
    Ok(())
}
