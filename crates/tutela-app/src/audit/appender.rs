//! Group commit of audit events. Every operation hands its events to one
//! appender task and waits; the task takes whatever has queued while the
//! previous commit ran, seals it into the chains (hash chain, Merkle
//! frontier, one signature per chain per batch, checkpoints every N events)
//! and stores it in one transaction. Only after the commit is each waiting
//! operation told it may proceed, so no operation is acknowledged without
//! its event, and one fsync serves a whole batch.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tutela_domain::Clock;
use tutela_domain::audit::{AuditEvent, AuditIndex, ChainId, ChainState, Checkpoint, Seal};
use tutela_storage::{AuditBatch, IndexedRecord, StorageError, Store};

use super::signer::AuditSigner;
use crate::AppError;

/// Events taken into one batch at most.
const MAX_BATCH: usize = 8192;
/// Operations that may wait for the appender before new ones queue up.
const QUEUE: usize = 16384;

/// Events of one operation and where to tell it they are stored.
type Waiting = (Vec<AuditEvent>, oneshot::Sender<Result<(), StorageError>>);

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

impl Task {
    async fn run(mut self, mut rx: mpsc::Receiver<Job>) {
        while let Some(first) = rx.recv().await {
            let mut appends = Vec::new();
            let mut count = 0;
            let mut next = Some(first);
            while let Some(job) = next.take() {
                match job {
                    Job::Append(events, done) => {
                        count += events.len();
                        appends.push((events, done));
                    }
                    Job::Checkpoint(chain, done) => {
                        let result = self.checkpoint(chain).await;
                        let _ = done.send(result);
                    }
                }
                if count < MAX_BATCH {
                    next = rx.try_recv().ok();
                }
            }
            if appends.is_empty() {
                continue;
            }
            let result = self.commit_with_retry(&appends).await;
            for (_, done) in appends {
                let _ = done.send(result.clone());
            }
        }
    }

    async fn commit_with_retry(&mut self, appends: &[Waiting]) -> Result<(), StorageError> {
        let events: Vec<&AuditEvent> = appends.iter().flat_map(|(e, _)| e.iter()).collect();
        match self.commit(&events).await {
            Err(StorageError::Conflict { .. }) => self.commit(&events).await,
            other => other,
        }
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

    async fn commit(&mut self, events: &[&AuditEvent]) -> Result<(), StorageError> {
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
        let stored = self.store.append_audit(&batch).await;
        match stored {
            Ok(()) => {
                for (chain, (state, _, _)) in work {
                    self.chains.insert(chain, state);
                }
                Ok(())
            }
            Err(e) => {
                // The stored head is unknown now: read it again next time.
                for chain in work.keys() {
                    self.chains.remove(chain);
                }
                Err(e)
            }
        }
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
