//! Reading the audit trail: only DPOs and auditors, a controller's chain only
//! within their scope, and every read recorded in the chain it reads.

use tutela_domain::audit::merkle::{consistency_proof, inclusion_proof, leaf_hash, root};
use tutela_domain::audit::{
    Action, Actor, AuditEvent, ChainId, Checkpoint, ClientContext, Hash, ObjectKind, ObjectRef,
    Outcome, decode,
};
use tutela_domain::{ControllerId, Principal, Role, SubjectId, Timestamp, authorize_audit};
use tutela_storage::AuditFilter;

use super::{object, pseudonym};
use crate::grants::principal_actor;
use crate::{App, AppError};

/// Largest page of events.
pub const MAX_AUDIT_PAGE: u32 = 1000;
/// Events read from storage per round trip when hashing a whole chain.
const PAGE: u32 = 10_000;

/// Proof that the caller may read one audit chain.
#[derive(Debug, Clone)]
pub struct AuditGrant {
    actor: Actor,
    role: Option<Role>,
    controller: Option<ControllerId>,
    origin: ClientContext,
}

impl AuditGrant {
    /// The chain this grant reads.
    pub fn chain(&self) -> ChainId {
        self.controller
            .map_or(ChainId::Platform, ChainId::Controller)
    }

    fn event(&self, action: Action, instant: Timestamp) -> AuditEvent {
        let mut event = AuditEvent::new(instant, self.actor, action, Outcome::Allowed)
            .role(self.role)
            .client(self.origin.clone());
        event.controller = self.controller;
        let trail = match self.controller {
            Some(c) => ObjectRef::new(ObjectKind::AuditTrail, c.to_string()),
            None => ObjectRef::new(ObjectKind::AuditTrail, "platform"),
        };
        if let Ok(trail) = trail {
            event = event.object(trail);
        }
        event
    }
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Events about this data subject (controller chains only).
    pub subject: Option<SubjectId>,
    /// Events by this actor.
    pub actor: Option<Actor>,
    /// Events about this object.
    pub object: Option<ObjectRef>,
    /// At or after.
    pub from: Option<Timestamp>,
    /// Before.
    pub until: Option<Timestamp>,
    /// After this position (paging).
    pub after: Option<u64>,
    /// Page size, 1 to [`MAX_AUDIT_PAGE`].
    pub limit: u32,
}

/// One event with its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// The chain.
    pub chain: ChainId,
    /// Position in the chain.
    pub seq: u64,
    /// The event, decoded from its stored bytes (not from the search columns).
    pub event: AuditEvent,
}

/// An inclusion proof for one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    /// The event's position.
    pub seq: u64,
    /// The tree size the proof is against.
    pub tree_size: u64,
    /// The event's leaf hash.
    pub leaf_hash: Hash,
    /// The tree head at `tree_size`.
    pub root: Hash,
    /// The audit path.
    pub path: Vec<Hash>,
}

/// A consistency proof between two tree sizes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyProof {
    /// Older size.
    pub first: u64,
    /// Newer size.
    pub second: u64,
    /// Tree head at `first`.
    pub first_root: Hash,
    /// Tree head at `second`.
    pub second_root: Hash,
    /// The proof.
    pub path: Vec<Hash>,
}

impl App {
    /// Decides whether `principal` may read the audit chain of `controller`
    /// (the platform's with `None`); a refusal is itself recorded.
    pub async fn grant_audit(
        &self,
        principal: &Principal,
        controller: Option<ControllerId>,
        origin: &ClientContext,
    ) -> Result<AuditGrant, AppError> {
        match authorize_audit(principal, controller) {
            Ok((actor, role)) => Ok(AuditGrant {
                actor: Actor::User(actor),
                role: Some(role),
                controller,
                origin: origin.clone(),
            }),
            Err(denied) => {
                self.record_denial(
                    principal,
                    Action::AuditRead,
                    controller,
                    origin,
                    denied.code(),
                )
                .await?;
                Err(denied.into())
            }
        }
    }

    /// The operator's grant over `chain`: for the command line, run by
    /// whoever holds the data directory and the database (who could read the
    /// tables directly anyway). Its reads are recorded with actor `operator`.
    pub fn grant_operator_audit(&self, chain: ChainId) -> AuditGrant {
        AuditGrant {
            actor: Actor::Operator,
            role: None,
            controller: match chain {
                ChainId::Platform => None,
                ChainId::Controller(c) => Some(c),
            },
            origin: ClientContext::default(),
        }
    }

    /// Records that the operator exported the whole trail (before the
    /// export reads it, so the bundle contains its own export event).
    pub async fn record_operator_export(&self) -> Result<(), AppError> {
        let event = AuditEvent::new(
            self.clock.now(),
            Actor::Operator,
            Action::AuditExport,
            Outcome::Allowed,
        );
        self.record(vec![event]).await
    }

    /// A page of events matching `query`, in chain order. Recorded as an
    /// `audit.read` (naming the subject's pseudonym when listing by subject).
    pub async fn audit_events(
        &self,
        grant: &AuditGrant,
        query: AuditQuery,
    ) -> Result<Vec<AuditEntry>, AppError> {
        if !(1..=MAX_AUDIT_PAGE).contains(&query.limit) {
            return Err(AppError::invalid("limit", "must be between 1 and 1000"));
        }
        let mut read = grant.event(Action::AuditRead, self.clock.now());
        let subject = match (query.subject, grant.controller) {
            (None, _) => None,
            (Some(_), None) => {
                return Err(AppError::invalid(
                    "subject",
                    "the platform chain holds no data subjects; ask a controller's chain",
                ));
            }
            (Some(id), Some(controller)) => {
                let secrets = self.store.subject_audit_secrets(controller, &[id]).await?;
                match secrets.first() {
                    // Erased (or never existed): nothing links to them any more.
                    None => {
                        self.record(vec![read]).await?;
                        return Ok(Vec::new());
                    }
                    Some((_, secret)) => Some(pseudonym(secret, id)),
                }
            }
        };
        if let Some(p) = subject {
            read = read.subject(p);
        }
        let filter = AuditFilter {
            subject,
            actor: query.actor.map(|a| a.to_string()),
            object: query.object.map(|o| o.to_string()),
            from: query.from,
            until: query.until,
        };
        let records = self
            .store
            .audit_query(grant.chain(), &filter, query.after, query.limit)
            .await?;
        self.record(vec![read]).await?;
        records
            .into_iter()
            .map(|r| {
                decode(&r.body)
                    .map(|(chain, seq, event)| AuditEntry { chain, seq, event })
                    .map_err(|e| AppError::internal(format!("{}: event {}: {e}", r.chain, r.seq)))
            })
            .collect()
    }

    /// Signs a checkpoint of the chain now (recorded first, so the
    /// checkpoint covers its own request).
    pub async fn audit_checkpoint(&self, grant: &AuditGrant) -> Result<Checkpoint, AppError> {
        self.record(vec![grant.event(Action::AuditCheckpoint, self.clock.now())])
            .await?;
        self.appender.checkpoint(grant.chain()).await
    }

    /// The chain's checkpoints, oldest first.
    pub async fn audit_checkpoints(&self, grant: &AuditGrant) -> Result<Vec<Checkpoint>, AppError> {
        self.record(vec![grant.event(Action::AuditRead, self.clock.now())])
            .await?;
        Ok(self.store.audit_checkpoints(Some(grant.chain())).await?)
    }

    /// Proof that event `seq` is in the chain's tree of `tree_size` events.
    pub async fn audit_inclusion_proof(
        &self,
        grant: &AuditGrant,
        seq: u64,
        tree_size: u64,
    ) -> Result<InclusionProof, AppError> {
        self.record(vec![grant.event(Action::AuditProof, self.clock.now())])
            .await?;
        let leaves = self.leaf_hashes(grant.chain(), tree_size).await?;
        let path = inclusion_proof(&leaves, seq).map_err(|e| AppError::invalid("seq", e))?;
        let leaf = *leaves
            .get(usize::try_from(seq).unwrap_or(usize::MAX))
            .ok_or_else(|| AppError::invalid("seq", "is not in the tree"))?;
        Ok(InclusionProof {
            seq,
            tree_size,
            leaf_hash: leaf,
            root: root(&leaves),
            path,
        })
    }

    /// Proof that the chain's tree of `first` events is a prefix of its tree
    /// of `second` events.
    pub async fn audit_consistency_proof(
        &self,
        grant: &AuditGrant,
        first: u64,
        second: u64,
    ) -> Result<ConsistencyProof, AppError> {
        self.record(vec![grant.event(Action::AuditProof, self.clock.now())])
            .await?;
        let leaves = self.leaf_hashes(grant.chain(), second).await?;
        let path = consistency_proof(&leaves, first).map_err(|e| AppError::invalid("from", e))?;
        let prefix = leaves
            .get(..usize::try_from(first).unwrap_or(usize::MAX))
            .ok_or_else(|| AppError::invalid("from", "is larger than `to`"))?;
        Ok(ConsistencyProof {
            first,
            second,
            first_root: root(prefix),
            second_root: root(&leaves),
            path,
        })
    }

    /// The leaf hashes of the chain's first `size` events (read and hashed
    /// from storage: O(size), which is what an occasional proof costs).
    async fn leaf_hashes(&self, chain: ChainId, size: u64) -> Result<Vec<Hash>, AppError> {
        let mut leaves = Vec::new();
        while (leaves.len() as u64) < size {
            let want = u32::try_from(size - leaves.len() as u64)
                .unwrap_or(PAGE)
                .min(PAGE);
            let page = self
                .store
                .audit_range(chain, leaves.len() as u64, want)
                .await?;
            if page.is_empty() {
                return Err(AppError::invalid("tree_size", "is larger than the chain"));
            }
            leaves.extend(page.iter().map(|r| leaf_hash(&r.body)));
        }
        Ok(leaves)
    }

    /// Records that `principal` was refused `action`, with the reason code
    /// (for refusals decided before a grant is asked, as in extractors).
    pub async fn record_denial(
        &self,
        principal: &Principal,
        action: Action,
        controller: Option<ControllerId>,
        origin: &ClientContext,
        code: &str,
    ) -> Result<(), AppError> {
        let (actor, role) = principal_actor(principal);
        let mut event = AuditEvent::new(self.clock.now(), actor, action, Outcome::denied(code))
            .role(role)
            .client(origin.clone());
        // A refusal for a controller outside the caller's scope goes to the
        // platform chain: the controller's own chain is not theirs to grow,
        // and the id they probed may not even exist.
        if code != "not_found" {
            event.controller = controller;
        }
        if let Some(c) = controller {
            event = event.object(object(ObjectKind::Controller, c)?);
        }
        self.record(vec![event]).await
    }
}
