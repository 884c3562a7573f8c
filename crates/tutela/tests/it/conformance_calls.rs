//! Conformance of call gating's storage: list registry checks, call
//! outcomes, suppressions left by erasure, and the one read per number.

use std::sync::Arc;

use tutela_domain::{CallOutcome, Language, ListId, NoticeDraft, Registry, Subject, Timestamp};
use tutela_storage::{ImportBatch, ListCheck, StorageError, Store};

use crate::conformance::{later, t0};
use crate::conformance_access::{controller, subject};
use crate::conformance_contacts::{claim_all, list, row};

fn check(
    list_id: ListId,
    registry: Registry,
    as_of: Timestamp,
    checked_at: Timestamp,
) -> ListCheck {
    ListCheck {
        list_id,
        registry,
        as_of,
        snapshot_sha256: [7; 32],
        checked_at,
        listed: 2,
    }
}

pub async fn call_records_gather_lists_checks_outcomes_and_suppressions(store: Arc<dyn Store>) {
    let a = controller(&store, "A").await;
    let b = controller(&store, "B").await;
    let people: Vec<Subject> = (0..2).map(|i| subject(a.id, &format!("P{i}"))).collect();
    let blind = people[0].blinds().next().unwrap();

    // Unknown number: nothing at all, and no error.
    let empty = store
        .call_record(a.id, blind, t0(), None, None)
        .await
        .unwrap();
    assert!(empty.subject.is_none() && empty.lists.is_empty() && empty.outcomes.is_empty());

    let mut session = store.begin_import(a.id, ListId::generate()).await.unwrap();
    let list_id = session.list_id();
    claim_all(&mut session, &people).await;
    session
        .write(&ImportBatch {
            new_subjects: people.iter().map(|s| (row(s), [5; 32])).collect(),
            members: vec![(people[0].id, 1), (people[1].id, 2)],
            ..ImportBatch::default()
        })
        .await
        .unwrap();
    session
        .commit(&list(a.id, list_id, 3, 2), "operator")
        .await
        .unwrap();

    // Checks: another controller's list is not found; history is kept
    // newest first; the record carries the latest snapshot per registry.
    assert!(matches!(
        store
            .record_list_check(b.id, &check(list_id, Registry::ItRpo, t0(), later(1)))
            .await,
        Err(StorageError::NotFound { .. })
    ));
    for c in [
        check(list_id, Registry::ItRpo, t0(), later(10)),
        check(list_id, Registry::ItRpo, later(100), later(200)),
        check(list_id, Registry::FrBloctel, later(50), later(60)),
    ] {
        store.record_list_check(a.id, &c).await.unwrap();
    }
    let checks = store.list_checks(a.id, list_id).await.unwrap();
    assert_eq!(
        checks.iter().map(|c| c.checked_at).collect::<Vec<_>>(),
        vec![later(200), later(60), later(10)]
    );
    assert!(store.list_checks(b.id, list_id).await.unwrap().is_empty());

    // Outcomes: a retried report is the same report; `since` bounds them.
    for (at, outcome) in [
        (later(5), CallOutcome::NoAnswer),
        (later(5), CallOutcome::NoAnswer),
        (later(30), CallOutcome::Refused),
        (later(20), CallOutcome::Silent),
    ] {
        store
            .record_call_outcome(a.id, blind, at, outcome)
            .await
            .unwrap();
    }
    store
        // Storage keeps what it is given; completeness is checked above it.
        .publish_notice(a.id, Language::It, &NoticeDraft::default(), t0(), "dpo")
        .await
        .unwrap();

    let record = store
        .call_record(a.id, blind, later(10), Some(Language::It), None)
        .await
        .unwrap();
    assert_eq!(record.subject, Some(people[0].id));
    assert_eq!(record.audit_secret, Some(vec![5; 32]));
    assert!(record.suppression.is_none());
    assert_eq!(
        record.outcomes,
        vec![
            (later(20), CallOutcome::Silent),
            (later(30), CallOutcome::Refused)
        ]
    );
    assert_eq!(record.notice_version, Some(1));
    assert_eq!(record.lists.len(), 1);
    let on = &record.lists[0];
    assert_eq!(on.list.id, list_id);
    assert_eq!(
        on.checks,
        vec![
            (Registry::FrBloctel, later(50)),
            (Registry::ItRpo, later(100))
        ]
    );
    // A rented list: the art. 14 notice is owed until given.
    assert!(on.notice_owed);
    store
        .record_art14(
            a.id,
            people[0].id,
            tutela_domain::Art14Event::NoticeGiven,
            later(40),
        )
        .await
        .unwrap();
    let record = store
        .call_record(a.id, blind, later(10), None, None)
        .await
        .unwrap();
    assert!(!record.lists[0].notice_owed);
    assert_eq!(record.notice_version, None);

    // On a second list too: one entry per list, in list order, each with
    // its own checks (none yet for the new one).
    let mut second = store.begin_import(a.id, ListId::generate()).await.unwrap();
    let second_id = second.list_id();
    second
        .write(&ImportBatch {
            members: vec![(people[0].id, 1)],
            ..ImportBatch::default()
        })
        .await
        .unwrap();
    second
        .commit(&list(a.id, second_id, 1, 0), "operator")
        .await
        .unwrap();
    let record = store
        .call_record(a.id, blind, later(10), None, None)
        .await
        .unwrap();
    let mut ids = vec![list_id, second_id];
    ids.sort_by_key(|id| id.0);
    assert_eq!(
        record.lists.iter().map(|l| l.list.id).collect::<Vec<_>>(),
        ids
    );
    let second_on = record
        .lists
        .iter()
        .find(|l| l.list.id == second_id)
        .unwrap();
    assert!(second_on.checks.is_empty());
    assert_eq!(
        record.outcomes.len(),
        2,
        "facts repeated per list, read once"
    );

    // Another controller sees nothing of it.
    let other = store
        .call_record(b.id, blind, t0(), None, None)
        .await
        .unwrap();
    assert!(other.subject.is_none() && other.outcomes.is_empty());

    // Erasure leaves a suppression of every blind index, in the same
    // transaction, and nothing else.
    assert!(
        store
            .erase_subject(a.id, people[0].id, later(300))
            .await
            .unwrap()
    );
    let erased = store
        .call_record(a.id, blind, t0(), None, None)
        .await
        .unwrap();
    assert!(erased.subject.is_none() && erased.lists.is_empty());
    let suppression = erased.suppression.unwrap();
    assert_eq!(
        (suppression.reason.as_str(), suppression.at),
        ("erased", later(300))
    );
    assert!(
        store
            .call_record(b.id, blind, t0(), None, None)
            .await
            .unwrap()
            .suppression
            .is_none()
    );
}
