//! Group commit of audit events. Every operation hands its events to one
//! appender task and waits; the task takes whatever has queued while the
//! previous commit ran, seals it into the chains (hash chain, Merkle
//! frontier, one signature per chain per batch, checkpoints every N events)
//! and stores it in one transaction. Sealing the next batch overlaps storing
//! the previous one. Only after the commit is each waiting operation told
//! it may proceed, so no operation is acknowledged without its event, and
//! one fsync serves a whole batch.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinError, JoinHandle};
use tutela_domain::Clock;
use tutela_domain::audit::{AuditEvent, AuditIndex, ChainId, ChainState, Checkpoint, Seal};
use tutela_storage::{AuditBatch, IndexedRecord, StorageError, Store};

use super::signer::AuditSigner;
use crate::AppError;

/// Events taken into one batch at most.
const MAX_BATCH: usize = 8192;
/// Times a batch is sealed and stored before a conflict with another
/// process's appends is reported to its operations.
const CONFLICT_ATTEMPTS: u32 = 8;
/// Operations that may wait for the appender before new ones queue up.
const QUEUE: usize = 16384;

/// Events of one operation and where to tell it they are stored.
type Waiting = (Vec<AuditEvent>, oneshot::Sender<Result<(), StorageError>>);

/// A checkpoint request and where to send the checkpoint.
type CheckpointJob = (ChainId, oneshot::Sender<Result<Checkpoint, StorageError>>);

enum Job {
    Append(Vec<AuditEvent>, oneshot::Sender<Result<(), StorageError>>),
    Checkpoint(ChainId, oneshot::Sender<Result<Checkpoint, StorageError>>),
}

/// The handle operations use to record events. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Appender {
    jobs: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Job")
    }
}

fn stopped() -> AppError {
    AppError::internal("the audit appender is not running; refusing to act unaudited")
}

impl Appender {
    /// Starts the appender task on the current Tokio runtime.
    pub fn start(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        signer: Arc<AuditSigner>,
        checkpoint_every: u64,
    ) -> Self {
        let (jobs, rx) = mpsc::channel(QUEUE);
        let task = Task {
            store,
            clock,
            signer,
            checkpoint_every,
            chains: HashMap::new(),
        };
        tokio::spawn(task.run(rx));
        Self { jobs }
    }

    /// Stores `events` durably; returns once they are committed.
    pub async fn append(&self, events: Vec<AuditEvent>) -> Result<(), AppError> {
        if events.is_empty() {
            return Ok(());
        }
        let (done, wait) = oneshot::channel();
        self.jobs
            .send(Job::Append(events, done))
            .await
            .map_err(|_| stopped())?;
        Ok(wait.await.map_err(|_| stopped())??)
    }

    /// Signs and stores a checkpoint of `chain` as it is now.
    pub async fn checkpoint(&self, chain: ChainId) -> Result<Checkpoint, AppError> {
        let (done, wait) = oneshot::channel();
        self.jobs
            .send(Job::Checkpoint(chain, done))
            .await
            .map_err(|_| stopped())?;
        Ok(wait.await.map_err(|_| stopped())??)
    }
}

/// Splits what has queued (up to [`MAX_BATCH`] events) into appends and
/// checkpoint requests.
fn gather(first: Job, rx: &mut mpsc::Receiver<Job>) -> (Vec<Waiting>, Vec<CheckpointJob>) {
    let mut appends = Vec::new();
    let mut checkpoints = Vec::new();
    let mut count = 0;
    let mut next = Some(first);
    while let Some(job) = next.take() {
        match job {
            Job::Append(events, done) => {
                count += events.len();
                appends.push((events, done));
            }
            Job::Checkpoint(chain, done) => checkpoints.push((chain, done)),
        }
        if count < MAX_BATCH {
            next = rx.try_recv().ok();
        }
    }
    (appends, checkpoints)
}

fn notify(appends: Vec<Waiting>, result: &Result<(), StorageError>) {
    for (_, done) in appends {
        let _ = done.send(result.clone());
    }
}

/// A storing task's result; a task that panicked or was cancelled stored
/// nothing anyone may rely on.
fn joined(result: Result<Result<(), StorageError>, JoinError>) -> Result<(), StorageError> {
    result.unwrap_or_else(|e| {
        Err(StorageError::Backend {
            detail: format!("audit storing task ended abnormally: {e}"),
        })
    })
}

struct Task {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    signer: Arc<AuditSigner>,
    checkpoint_every: u64,
    /// Chain heads as last committed by this process. Another process may
    /// append meanwhile; storage then reports a conflict and the head is
    /// read again.
    chains: HashMap<ChainId, ChainState>,
}

/// A sealed batch and the chain heads after it.
struct Prepared {
    batch: AuditBatch,
    heads: Vec<ChainState>,
}

/// The batch being stored, in its own task so that the next batch is sealed
/// meanwhile, and the operations waiting for it.
struct Storing {
    appends: Vec<Waiting>,
    stored: JoinHandle<Result<(), StorageError>>,
}

impl Task {
    /// Takes jobs in arrival order. While one batch is being stored, the
    /// next is gathered and sealed on the heads the first will leave, so
    /// hashing and signing overlap the database's round trips; it is stored
    /// only once the first has committed (sealed again if that failed).
    async fn run(mut self, mut rx: mpsc::Receiver<Job>) {
        let mut storing: Option<Storing> = None;
        loop {
            let first = match storing.as_mut() {
                None => rx.recv().await,
                Some(current) => tokio::select! {
                    result = &mut current.stored => {
                        if let Some(done) = storing.take() {
                            self.settle(done.appends, joined(result)).await;
                        }
                        continue;
                    }
                    job = rx.recv() => job,
                },
            };
            let Some(first) = first else { break };
            let (appends, checkpoints) = gather(first, &mut rx);
            if !checkpoints.is_empty() {
                // A checkpoint signs the head as stored: settle first.
                if let Some(done) = storing.take() {
                    let result = joined(done.stored.await);
                    self.settle(done.appends, result).await;
                }
                for (chain, done) in checkpoints {
                    let _ = done.send(self.checkpoint(chain).await);
                }
            }
            if appends.is_empty() {
                continue;
            }
            let mut prepared = self.prepare(&appends).await;
            if let Some(done) = storing.take() {
                let result = joined(done.stored.await);
                if !self.settle(done.appends, result).await {
                    // Sealed on heads that were never stored: seal again.
                    prepared = self.prepare(&appends).await;
                }
            }
            match prepared {
                Ok(prepared) => storing = Some(self.store(appends, prepared)),
                Err(e) => {
                    self.chains.clear();
                    notify(appends, &Err(e));
                }
            }
        }
        if let Some(done) = storing.take() {
            let result = joined(done.stored.await);
            self.settle(done.appends, result).await;
        }
    }

    /// Seals the events of `appends` on the current heads (those the batch
    /// being stored will leave) and makes the heads after them current.
    async fn prepare(&mut self, appends: &[Waiting]) -> Result<Prepared, StorageError> {
        let events: Vec<&AuditEvent> = appends.iter().flat_map(|(e, _)| e.iter()).collect();
        let prepared = self.seal(&events).await?;
        for head in &prepared.heads {
            self.chains.insert(head.chain(), head.clone());
        }
        Ok(prepared)
    }

    fn store(&self, appends: Vec<Waiting>, prepared: Prepared) -> Storing {
        let store = self.store.clone();
        let stored = tokio::spawn(async move { store.append_audit(&prepared.batch).await });
        Storing { appends, stored }
    }

    /// Tells the operations of a stored batch how it went; returns whether
    /// the current heads still hold. A batch refused because another
    /// process appended meanwhile is sealed again on the stored heads and
    /// stored once more (a few times at most) before anyone is told.
    async fn settle(&mut self, appends: Vec<Waiting>, result: Result<(), StorageError>) -> bool {
        if result.is_ok() {
            notify(appends, &result);
            return true;
        }
        let mut result = result;
        let mut attempts = 1;
        while matches!(result, Err(StorageError::Conflict { .. })) && attempts < CONFLICT_ATTEMPTS {
            attempts += 1;
            self.chains.clear();
            result = match self.prepare(&appends).await {
                Ok(prepared) => self.store.append_audit(&prepared.batch).await,
                Err(e) => Err(e),
            };
        }
        // The stored heads are unknown, or were re-read for a retry and are
        // behind what was sealed after it: read them again.
        self.chains.clear();
        notify(appends, &result);
        false
    }

    async fn head(&mut self, chain: ChainId) -> Result<ChainState, StorageError> {
        if let Some(state) = self.chains.get(&chain) {
            return Ok(state.clone());
        }
        match self.store.audit_tail(chain).await? {
            None => Ok(ChainState::genesis(chain)),
            Some(last) => ChainState::resume(&last).ok_or_else(|| StorageError::Corrupt {
                detail: format!(
                    "{chain}: event {} carries no valid seal; run `tutela audit verify`",
                    last.seq
                ),
            }),
        }
    }

    /// Seals `events` into their chains from the current heads: hash chain
    /// and frontier per event, a signed seal on each chain's last event,
    /// checkpoints every N events. Stores nothing.
    async fn seal(&mut self, events: &[&AuditEvent]) -> Result<Prepared, StorageError> {
        let mut work: HashMap<ChainId, (ChainState, u64, usize)> = HashMap::new();
        let mut batch = AuditBatch::default();
        for event in events {
            let chain = event.chain();
            if let Entry::Vacant(slot) = work.entry(chain) {
                let state = self.head(chain).await?;
                let size = state.size();
                slot.insert((state, size, 0));
            }
            let Some((state, _, last)) = work.get_mut(&chain) else {
                continue;
            };
            *last = batch.records.len();
            batch.records.push(IndexedRecord {
                record: state.append(event),
                index: AuditIndex::of(event),
            });
            if self.checkpoint_every > 0 && state.size() % self.checkpoint_every == 0 {
                batch
                    .checkpoints
                    .push(self.signer.checkpoint(state.head(event.instant)));
            }
        }
        for (chain, (state, before, last)) in &work {
            batch.expected.push((*chain, *before));
            if let Some(IndexedRecord { record, index }) = batch.records.get_mut(*last) {
                let head = state.head(index.instant);
                record.seal = Some(
                    Seal {
                        key_id: self.signer.key_id(),
                        signature: self.signer.sign(&head),
                        frontier: state.frontier().clone(),
                    }
                    .encode(),
                );
            }
        }
        let heads = work.into_values().map(|(state, _, _)| state).collect();
        Ok(Prepared { batch, heads })
    }

    async fn checkpoint(&mut self, chain: ChainId) -> Result<Checkpoint, StorageError> {
        let state = self.head(chain).await?;
        if state.size() == 0 {
            return Err(StorageError::Conflict {
                what: "empty audit chain",
            });
        }
        let instant = self.clock.now();
        let checkpoint = self.signer.checkpoint(state.head(instant));
        let batch = AuditBatch {
            records: Vec::new(),
            checkpoints: vec![checkpoint.clone()],
            expected: vec![(chain, state.size())],
        };
        match self.store.append_audit(&batch).await {
            Ok(()) => Ok(checkpoint),
            Err(e) => {
                self.chains.remove(&chain);
                // Already checkpointed at this size (every N events): that one serves.
                let existing = self.store.audit_checkpoints(Some(chain)).await?;
                existing
                    .into_iter()
                    .find(|c| c.head.size == state.size())
                    .ok_or(e)
            }
        }
    }
}
