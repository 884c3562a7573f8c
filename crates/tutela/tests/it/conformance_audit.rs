//! Conformance of the audit store: appends across segments, epochs and
//! chains, the head check, and queries that must equal a naive filter over
//! every event.

use std::sync::Arc;

use tutela_domain::audit::{
    Action, Actor, AuditEvent, AuditIndex, AuditRecord, ChainId, ChainState, ObjectKind, ObjectRef,
    Outcome, Pseudonym,
};
use tutela_domain::{ControllerId, UserId};
use tutela_storage::{AuditBatch, AuditFilter, IndexedRecord, StorageError, Store};

use crate::conformance::{later, t0};

fn event(chain: ChainId, i: u64) -> AuditEvent {
    let actor = Actor::User(UserId(uuid::Uuid::from_u128(u128::from(i % 3) + 1)));
    // Instants mostly rise, with some out of order, as concurrent requests give.
    let offset = i as i64 - if i.is_multiple_of(5) { 3 } else { 0 };
    let mut e = AuditEvent::new(later(offset), actor, Action::SubjectRead, Outcome::Allowed);
    if let ChainId::Controller(c) = chain {
        e = e.controller(c);
    }
    if !i.is_multiple_of(10) {
        e = e.subject(Pseudonym([(i * 7 % 50) as u8; 32]));
    }
    if i.is_multiple_of(4) {
        e = e.object(ObjectRef::kind_only(ObjectKind::Subject));
    }
    e
}

fn append(state: &mut ChainState, events: &[AuditEvent], batch: &mut AuditBatch) {
    batch.expected.push((state.chain(), state.size()));
    for e in events {
        batch.records.push(IndexedRecord {
            record: state.append(e),
            index: AuditIndex::of(e),
        });
    }
}

/// Pages through `filter` with `limit`-sized pages.
async fn paged(
    store: &Arc<dyn Store>,
    chain: ChainId,
    filter: &AuditFilter,
    limit: u32,
) -> Vec<u64> {
    let mut seqs = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .audit_query(chain, filter, after, limit)
            .await
            .unwrap();
        assert!(page.len() <= limit as usize);
        seqs.extend(page.iter().map(|r| r.seq));
        match page.last() {
            Some(last) if page.len() == limit as usize => after = Some(last.seq),
            _ => return seqs,
        }
    }
}

pub async fn audit_queries_equal_a_naive_filter_across_segments_and_epochs(store: Arc<dyn Store>) {
    let chain = ChainId::Controller(ControllerId::generate());
    let mut state = ChainState::genesis(chain);
    let mut platform = ChainState::genesis(ChainId::Platform);
    let mut all: Vec<(AuditRecord, AuditIndex)> = Vec::new();
    let mut n = 0u64;
    // Batch sizes cross segment (256) and epoch (1024) boundaries.
    for size in [1u64, 300, 700, 5, 1024, 970] {
        let events: Vec<AuditEvent> = (n..n + size).map(|i| event(chain, i)).collect();
        let mut batch = AuditBatch::default();
        append(&mut state, &events, &mut batch);
        // Another chain in the same commit.
        append(&mut platform, &[event(ChainId::Platform, n)], &mut batch);
        all.extend(
            batch
                .records
                .iter()
                .filter(|r| r.record.chain == chain)
                .map(|r| (r.record.clone(), r.index.clone())),
        );
        store.append_audit(&batch).await.unwrap();
        n += size;
    }
    assert_eq!(store.audit_tail(chain).await.unwrap().unwrap().seq, n - 1);
    assert_eq!(
        store
            .audit_tail(ChainId::Platform)
            .await
            .unwrap()
            .unwrap()
            .seq,
        5
    );

    // A stale head is refused and nothing of the batch is stored.
    let mut stale = ChainState::genesis(chain);
    let mut batch = AuditBatch::default();
    append(&mut stale, &[event(chain, 0)], &mut batch);
    assert!(matches!(
        store.append_audit(&batch).await,
        Err(StorageError::Conflict { .. })
    ));
    assert_eq!(store.audit_tail(chain).await.unwrap().unwrap().seq, n - 1);

    let range = store.audit_range(chain, 1500, 10).await.unwrap();
    assert_eq!(
        range.iter().map(|r| r.seq).collect::<Vec<_>>(),
        (1500..1510).collect::<Vec<_>>()
    );
    assert_eq!(range[0], all[1500].0, "records come back as appended");

    let subject = Pseudonym([21; 32]);
    let filters = [
        AuditFilter::default(),
        AuditFilter {
            subject: Some(subject),
            ..Default::default()
        },
        AuditFilter {
            subject: Some(Pseudonym([99; 32])),
            ..Default::default()
        },
        AuditFilter {
            actor: Some(format!("user:{}", uuid::Uuid::from_u128(2))),
            ..Default::default()
        },
        AuditFilter {
            object: Some(String::from("subject")),
            ..Default::default()
        },
        AuditFilter {
            from: Some(later(1000)),
            until: Some(later(2100)),
            ..Default::default()
        },
        AuditFilter {
            from: Some(later(2990)),
            ..Default::default()
        },
        AuditFilter {
            until: Some(later(2)),
            ..Default::default()
        },
        AuditFilter {
            subject: Some(subject),
            actor: Some(format!("user:{}", uuid::Uuid::from_u128(1))),
            from: Some(later(500)),
            ..Default::default()
        },
        AuditFilter {
            from: Some(t0()),
            until: Some(t0()),
            ..Default::default()
        },
    ];
    for filter in &filters {
        let naive: Vec<u64> = all
            .iter()
            .filter(|(_, index)| filter.matches(index))
            .map(|(r, _)| r.seq)
            .collect();
        assert_eq!(paged(&store, chain, filter, 37).await, naive, "{filter:?}");
        assert_eq!(
            paged(&store, chain, filter, 1000).await,
            naive,
            "{filter:?}"
        );
    }
    assert!(
        paged(&store, chain, &filters[1], 37).await.len() > 40,
        "the subject filter spans pages and epochs"
    );
}
