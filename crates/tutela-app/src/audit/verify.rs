//! Checking a whole store's audit trail offline: every chain, every event,
//! every checkpoint, in one pass. Storage reads run in their own task while
//! this one hashes, so the two overlap.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::mpsc;
use tutela_domain::audit::{AuditRecord, Break, ChainId, ChainReport, ChainVerifier, Checkpoint};
use tutela_storage::{StorageError, Store};

use super::signer::TrustedKeys;

/// Events read per round trip.
const PAGE: u32 = 20_000;

/// A verified store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// One report per chain, in chain order.
    pub chains: Vec<ChainReport>,
}

impl VerifyReport {
    /// Events checked in all chains.
    pub fn events(&self) -> u64 {
        self.chains.iter().map(|c| c.events).sum()
    }

    /// Stored bytes read.
    pub fn bytes(&self) -> u64 {
        self.chains.iter().map(|c| c.bytes).sum()
    }
}

/// Why verification did not pass.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The trail is broken: the first bad event and why.
    #[error("{0}")]
    Broken(Break),
    /// The store could not be read (a malformed column names its event).
    #[error("{0}")]
    Storage(StorageError),
}

/// Feeds chains' records and checkpoints to verifiers; shared by the store
/// and bundle verifiers.
pub struct Verification<'a> {
    keys: &'a TrustedKeys,
    checkpoints: BTreeMap<ChainId, Vec<Checkpoint>>,
    current: Option<ChainVerifier<'a>>,
    current_chain: Option<ChainId>,
    report: VerifyReport,
}

impl<'a> Verification<'a> {
    /// Starts a verification with every checkpoint known.
    pub fn new(keys: &'a TrustedKeys, checkpoints: Vec<Checkpoint>) -> Self {
        let mut by_chain: BTreeMap<ChainId, Vec<Checkpoint>> = BTreeMap::new();
        for cp in checkpoints {
            by_chain.entry(cp.head.chain).or_default().push(cp);
        }
        Self {
            keys,
            checkpoints: by_chain,
            current: None,
            current_chain: None,
            report: VerifyReport::default(),
        }
    }

    /// Checks the next record; records come in (chain, position) order.
    pub fn feed(&mut self, record: &AuditRecord) -> Result<(), Break> {
        if self.current_chain != Some(record.chain) {
            self.close_chain()?;
            let checkpoints = self.checkpoints.remove(&record.chain).unwrap_or_default();
            self.current = Some(ChainVerifier::new(record.chain, checkpoints, self.keys));
            self.current_chain = Some(record.chain);
        }
        match self.current.as_mut() {
            Some(v) => v.feed(record),
            None => Ok(()),
        }
    }

    fn close_chain(&mut self) -> Result<(), Break> {
        if let Some(v) = self.current.take() {
            self.report.chains.push(v.finish()?);
        }
        Ok(())
    }

    /// Ends the verification. Checkpoints of chains with no events left at
    /// all mean those events were removed.
    pub fn finish(mut self) -> Result<VerifyReport, Break> {
        self.close_chain()?;
        let orphans = std::mem::take(&mut self.checkpoints);
        for (chain, checkpoints) in orphans {
            self.report
                .chains
                .push(ChainVerifier::new(chain, checkpoints, self.keys).finish()?);
        }
        Ok(self.report)
    }
}

/// Verifies every chain in `store` against `keys`.
pub async fn verify_store(
    store: Arc<dyn Store>,
    keys: &TrustedKeys,
) -> Result<VerifyReport, VerifyError> {
    let checkpoints = store
        .audit_checkpoints(None)
        .await
        .map_err(VerifyError::Storage)?;
    let mut verification = Verification::new(keys, checkpoints);
    let (pages, mut rx) = mpsc::channel::<Result<Vec<AuditRecord>, StorageError>>(2);
    let reader = tokio::spawn(async move {
        let mut after: Option<(ChainId, u64)> = None;
        loop {
            let page = store.audit_scan(after, PAGE).await;
            let last = page
                .as_ref()
                .ok()
                .and_then(|p| p.last().map(|r| (r.chain, r.seq)));
            let done = page
                .as_ref()
                .map_or(true, |p| (p.len() as u64) < u64::from(PAGE));
            if pages.send(page).await.is_err() || done {
                break;
            }
            after = last;
        }
    });
    let mut outcome = Ok(());
    while let Some(page) = rx.recv().await {
        let page = match page {
            Ok(page) => page,
            Err(e) => {
                outcome = Err(VerifyError::Storage(e));
                break;
            }
        };
        if let Err(b) = page.iter().try_for_each(|r| verification.feed(r)) {
            outcome = Err(VerifyError::Broken(b));
            break;
        }
    }
    drop(rx);
    reader.abort();
    outcome?;
    verification.finish().map_err(VerifyError::Broken)
}
