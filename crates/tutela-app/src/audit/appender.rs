//! Group commit of audit events. Every operation hands its events to one
//! appender task and waits; the task takes whatever has queued while the
//! previous commit ran, seals it into the chains (hash chain, Merkle
//! frontier, one signature per chain per batch, checkpoints every N events)
//! and stores it in one transaction. Only after the commit is each waiting
//! operation told it may proceed, so no operation is acknowledged without
//! its event, and one fsync serves a whole batch.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tutela_domain::Clock;
use tutela_domain::audit::{
    AuditEvent, AuditIndex, AuditRecord, ChainId, ChainState, Checkpoint, Seal,
};
use tutela_storage::{AuditBatch, IndexedRecord, StorageError, Store};

use super::signer::AuditSigner;
use crate::AppError;

/// Events taken into one batch at most.
const MAX_BATCH: usize = 8192;
/// Operations that may wait for the appender before new ones queue up.
const QUEUE: usize = 16384;

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
            let events: Vec<&AuditEvent> = appends.iter().flat_map(|(e, _)| e.iter()).collect();
            let result = self.commit(&events).await;
            for (_, done) in appends {
                let _ = done.send(result.clone());
            }
        }
    }

    /// Seals `events` on the heads this process last committed and stores
    /// them. If another process appended meanwhile, the batch is sealed
    /// again on the stored tails while the chains are locked, so the
    /// second attempt cannot be overtaken.
    async fn commit(&mut self, events: &[&AuditEvent]) -> Result<(), StorageError> {
        let mut chains: Vec<ChainId> = events.iter().map(|e| e.chain()).collect();
        chains.sort_unstable();
        chains.dedup();
        let mut heads = HashMap::new();
        for chain in &chains {
            heads.insert(*chain, self.head(*chain).await?);
        }
        let sealed = seal(&self.signer, self.checkpoint_every, heads, events);
        let result = match self.store.append_audit(&sealed.batch).await {
            Ok(()) => Ok(sealed.heads),
            Err(StorageError::Conflict { .. }) => {
                let (signer, every) = (&self.signer, self.checkpoint_every);
                let mut heads_after = Vec::new();
                self.store
                    .append_audit_sealed(&chains, &mut |tails| {
                        let heads = tails
                            .into_iter()
                            .map(|(chain, tail)| Ok((chain, state_after(chain, tail)?)))
                            .collect::<Result<_, StorageError>>()?;
                        let sealed = seal(signer, every, heads, events);
                        heads_after = sealed.heads;
                        Ok(sealed.batch)
                    })
                    .await
                    .map(|()| heads_after)
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(heads) => {
                for head in heads {
                    self.chains.insert(head.chain(), head);
                }
                Ok(())
            }
            Err(e) => {
                // The stored heads are unknown now: read them again next time.
                for chain in &chains {
                    self.chains.remove(chain);
                }
                Err(e)
            }
        }
    }

    async fn head(&mut self, chain: ChainId) -> Result<ChainState, StorageError> {
        if let Some(state) = self.chains.get(&chain) {
            return Ok(state.clone());
        }
        let tail = self.store.audit_tail(chain).await?;
        state_after(chain, tail)
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

/// A chain's state after its stored tail (the genesis state if empty).
fn state_after(chain: ChainId, tail: Option<AuditRecord>) -> Result<ChainState, StorageError> {
    match tail {
        None => Ok(ChainState::genesis(chain)),
        Some(last) => ChainState::resume(&last).ok_or_else(|| StorageError::Corrupt {
            detail: format!(
                "{chain}: event {} carries no valid seal; run `tutela audit verify`",
                last.seq
            ),
        }),
    }
}

/// A sealed batch and the chain heads after it.
struct Sealed {
    batch: AuditBatch,
    heads: Vec<ChainState>,
}

/// Seals `events` into their chains from `heads` (one per chain they name):
/// hash chain and frontier per event, checkpoints every `checkpoint_every`
/// events, and a signed seal on each chain's last event. Pure: stores
/// nothing, so it can run again on other heads.
fn seal(
    signer: &AuditSigner,
    checkpoint_every: u64,
    heads: HashMap<ChainId, ChainState>,
    events: &[&AuditEvent],
) -> Sealed {
    let mut work: HashMap<ChainId, (ChainState, u64, usize)> = heads
        .into_iter()
        .map(|(chain, state)| {
            let size = state.size();
            (chain, (state, size, 0))
        })
        .collect();
    let mut batch = AuditBatch::default();
    for event in events {
        let Some((state, _, last)) = work.get_mut(&event.chain()) else {
            continue;
        };
        *last = batch.records.len();
        batch.records.push(IndexedRecord {
            record: state.append(event),
            index: AuditIndex::of(event),
        });
        if checkpoint_every > 0 && state.size() % checkpoint_every == 0 {
            batch
                .checkpoints
                .push(signer.checkpoint(state.head(event.instant)));
        }
    }
    let mut heads = Vec::with_capacity(work.len());
    for (chain, (state, before, last)) in work {
        if state.size() == before {
            continue;
        }
        batch.expected.push((chain, before));
        if let Some(IndexedRecord { record, index }) = batch.records.get_mut(last) {
            let head = state.head(index.instant);
            record.seal = Some(
                Seal {
                    key_id: signer.key_id(),
                    signature: signer.sign(&head),
                    frontier: state.frontier().clone(),
                }
                .encode(),
            );
        }
        heads.push(state);
    }
    Sealed { batch, heads }
}
