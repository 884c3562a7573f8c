//! Conformance of subjects with blind indexes, lead-list imports, art. 14
//! notices, list purges and the consent ledger, on every backend.

use std::sync::Arc;

use tutela_domain::audit::Actor;
use tutela_domain::{
    Art14Event, BlindIndex, Channel, ConsentAction, ConsentEvent, ConsentEventId, ControllerId,
    Evidence, Label, LeadList, LegalBasis, ListId, Provenance, Registry, RegistryRegistration,
    Role, SourceKind, Subject, SubjectId, Timestamp, encode_record,
};
use tutela_storage::{ImportBatch, Rejection, StorageError, Store, SubjectRow};

use crate::conformance::{later, t0};
use crate::conformance_access::{controller, subject};

pub(crate) fn row(s: &Subject) -> SubjectRow {
    SubjectRow {
        id: s.id,
        created_at: s.created_at,
        updated_at: s.updated_at,
        record: encode_record(&s.attributes, &s.contacts),
    }
}

pub(crate) fn list(controller: ControllerId, id: ListId, digest: u8, accepted: u64) -> LeadList {
    let provenance = Provenance {
        supplier: Label::parse("Liste Srl").unwrap(),
        data_owner: Label::parse("Liste Srl").unwrap(),
        acquired_at: t0(),
        source: SourceKind::Rented,
        legal_basis: LegalBasis::Consent,
        purpose: "telemarketing".parse().unwrap(),
    };
    LeadList {
        id,
        controller_id: controller,
        name: Label::parse("autumn").unwrap(),
        expires_at: tutela_domain::list_expiry(&provenance, None).unwrap(),
        provenance,
        default_region: tutela_domain::CountryCode::parse("IT").ok(),
        imported_at: later(60),
        accepted_rows: accepted,
        rejected_rows: 1,
        content_digest: [digest; 32],
        imported_by: Actor::Operator,
        purged_at: None,
    }
}

pub(crate) async fn claim_all(
    session: &mut Box<dyn tutela_storage::ImportSession>,
    people: &[Subject],
) {
    let claims: Vec<_> = people
        .iter()
        .flat_map(|s| s.blinds().map(move |b| (b, s.id)))
        .collect();
    assert!(session.claim(&claims).await.unwrap().is_empty());
}

pub async fn subjects_are_found_by_blind_index_and_erased_with_everything(store: Arc<dyn Store>) {
    let a = controller(&store, "A").await;
    let b = controller(&store, "B").await;
    let mario = subject(a.id, "Mario");
    let blind = mario.blinds().next().unwrap();
    store.create_subject(&mario, &[1; 32]).await.unwrap();
    assert_eq!(
        store.find_subjects(a.id, blind).await.unwrap(),
        vec![mario.id]
    );
    assert!(store.find_subjects(b.id, blind).await.unwrap().is_empty());
    assert_eq!(
        store.subject(a.id, mario.id).await.unwrap(),
        Some(mario.clone())
    );
    assert_eq!(
        store
            .subject_audit_secrets(a.id, &[mario.id])
            .await
            .unwrap(),
        vec![(mario.id, vec![1; 32])]
    );
    store
        .append_consent(&consent(&mario, ConsentAction::Granted, t0()))
        .await
        .unwrap();
    assert!(!store.erase_subject(b.id, mario.id, later(5)).await.unwrap());
    assert!(store.erase_subject(a.id, mario.id, later(5)).await.unwrap());
    assert!(store.find_subjects(a.id, blind).await.unwrap().is_empty());
    assert!(
        store
            .consent_events(a.id, mario.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .subject_audit_secrets(a.id, &[mario.id])
            .await
            .unwrap()
            .is_empty()
    );
    assert!(!store.erase_subject(a.id, mario.id, later(5)).await.unwrap());
}

pub async fn imports_are_all_or_nothing_and_once_per_content(store: Arc<dyn Store>) {
    let a = controller(&store, "A").await;
    let people: Vec<Subject> = (0..450).map(|i| subject(a.id, &format!("P{i}"))).collect();

    // Dropped without commit: nothing stays.
    let mut session = store.begin_import(a.id, ListId::generate()).await.unwrap();
    let batch = ImportBatch {
        new_subjects: people.iter().map(|s| (row(s), [5; 32])).collect(),
        members: people.iter().map(|s| (s.id, 1)).collect(),
        ..ImportBatch::default()
    };
    claim_all(&mut session, &people).await;
    session.write(&batch).await.unwrap();
    drop(session);
    assert!(store.subjects(a.id, None, 10).await.unwrap().is_empty());
    assert!(store.lead_lists(a.id).await.unwrap().is_empty());

    // Committed: everything, with the rejection report.
    let mut session = store.begin_import(a.id, ListId::generate()).await.unwrap();
    let list_id = session.list_id();
    claim_all(&mut session, &people).await;
    session
        .write(&ImportBatch {
            new_subjects: people.iter().map(|s| (row(s), [5; 32])).collect(),
            members: people
                .iter()
                .enumerate()
                .map(|(i, s)| (s.id, i as u64 + 1))
                .collect(),
            rejections: vec![Rejection {
                row: 7,
                column: "phone".into(),
                reason: "is not a phone number".into(),
            }],
            ..ImportBatch::default()
        })
        .await
        .unwrap();
    // What this import wrote is visible to its own later batches: a claim
    // of a held identifier names its holder, a new one is taken.
    let first = people[0].blinds().next().unwrap();
    let newcomer = SubjectId::generate();
    let held = session
        .claim(&[(first, newcomer), (BlindIndex([0xee; 16]), newcomer)])
        .await
        .unwrap();
    assert_eq!(held, vec![(first, people[0].id)]);
    assert_eq!(
        session.subjects(&[people[0].id, newcomer]).await.unwrap(),
        vec![people[0].clone()]
    );
    let committed = list(a.id, list_id, 1, 450);
    session.commit(&committed, "operator").await.unwrap();
    assert_eq!(
        store.lead_list(a.id, list_id).await.unwrap(),
        Some(committed.clone())
    );
    assert_eq!(
        store.lead_list_by_digest(a.id, &[1; 32]).await.unwrap(),
        Some(committed.clone())
    );
    let members = store.list_members(a.id, list_id, None, 1000).await.unwrap();
    assert_eq!(members.len(), 450);
    assert_eq!(
        store.list_rejections(a.id, list_id, 0, 10).await.unwrap(),
        vec![Rejection {
            row: 7,
            column: "phone".into(),
            reason: "is not a phone number".into()
        }]
    );
    let b = controller(&store, "B").await;
    assert_eq!(store.lead_list(b.id, list_id).await.unwrap(), None);
    assert!(
        store
            .list_members(b.id, list_id, None, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // The same content again is a conflict, and writes nothing.
    let mut again = store.begin_import(a.id, ListId::generate()).await.unwrap();
    let extra = subject(a.id, "Extra");
    again
        .write(&ImportBatch {
            new_subjects: vec![(row(&extra), [5; 32])],
            ..ImportBatch::default()
        })
        .await
        .unwrap();
    let duplicate = list(a.id, again.list_id(), 1, 1);
    assert!(matches!(
        again.commit(&duplicate, "operator").await,
        Err(StorageError::Conflict { .. })
    ));
    assert_eq!(store.subject(a.id, extra.id).await.unwrap(), None);
}

pub async fn art14_notices_fall_due_and_expired_lists_are_purged(store: Arc<dyn Store>) {
    let a = controller(&store, "A").await;
    let people: Vec<Subject> = (0..3).map(|i| subject(a.id, &format!("P{i}"))).collect();
    let mut session = store.begin_import(a.id, ListId::generate()).await.unwrap();
    let list_id = session.list_id();
    claim_all(&mut session, &people).await;
    session
        .write(&ImportBatch {
            new_subjects: people.iter().map(|s| (row(s), [5; 32])).collect(),
            members: people
                .iter()
                .enumerate()
                .map(|(i, s)| (s.id, i as u64 + 1))
                .collect(),
            ..ImportBatch::default()
        })
        .await
        .unwrap();
    let imported = list(a.id, list_id, 2, 3);
    session.commit(&imported, "operator").await.unwrap();
    let due: Timestamp = "2026-12-22T10:00:00.123456Z".parse().unwrap(); // a month after t0
    let before = due
        .checked_sub(jiff::SignedDuration::from_micros(1))
        .unwrap();
    assert!(
        store
            .notices_overdue(a.id, before, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // A first contact makes the notice due at once.
    assert!(
        store
            .record_art14(a.id, people[0].id, Art14Event::FirstContact, later(3600))
            .await
            .unwrap()
    );
    assert!(
        store
            .record_art14(a.id, people[0].id, Art14Event::FirstContact, later(7200))
            .await
            .unwrap()
    );
    let early = store.notices_overdue(a.id, before, 10).await.unwrap();
    assert_eq!(early.len(), 1);
    assert_eq!(
        (
            early[0].subject_id,
            early[0].due_at,
            early[0].first_contact_at
        ),
        (people[0].id, later(3600), Some(later(3600)))
    );
    assert!(
        store
            .record_art14(a.id, people[0].id, Art14Event::NoticeGiven, later(3601))
            .await
            .unwrap()
    );
    let overdue = store.notices_overdue(a.id, due, 10).await.unwrap();
    assert_eq!(overdue.len(), 2);
    assert!(
        overdue
            .iter()
            .all(|n| n.due_at == due && n.list_id == list_id)
    );
    let stranger = SubjectId::generate();
    assert!(
        !store
            .record_art14(a.id, stranger, Art14Event::NoticeGiven, due)
            .await
            .unwrap()
    );

    // Expired at acquisition + 90 days: purged; a subject with a consent stays.
    store
        .append_consent(&consent(&people[1], ConsentAction::Granted, later(10)))
        .await
        .unwrap();
    let expiry = imported.expires_at.unwrap();
    let just_before = expiry
        .checked_sub(jiff::SignedDuration::from_micros(1))
        .unwrap();
    assert_eq!(
        store
            .purge_expired_lists(a.id, just_before)
            .await
            .unwrap()
            .lists,
        0
    );
    let purge = store.purge_expired_lists(a.id, expiry).await.unwrap();
    assert_eq!((purge.lists, purge.members, purge.subjects), (1, 3, 2));
    assert_eq!(
        store
            .lead_list(a.id, list_id)
            .await
            .unwrap()
            .unwrap()
            .purged_at,
        Some(expiry)
    );
    assert!(
        store
            .list_members(a.id, list_id, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.subject(a.id, people[0].id).await.unwrap().is_none());
    assert!(store.subject(a.id, people[1].id).await.unwrap().is_some());
    assert_eq!(
        store
            .purge_expired_lists(a.id, later(999_999_999))
            .await
            .unwrap()
            .lists,
        0
    );
}

fn consent(s: &Subject, action: ConsentAction, at: Timestamp) -> ConsentEvent {
    ConsentEvent {
        id: ConsentEventId::generate(),
        controller_id: s.controller_id,
        subject_id: s.id,
        purpose: "telemarketing".parse().unwrap(),
        channel: Channel::Phone,
        action,
        at,
        recorded_at: at,
        evidence: Evidence::Verbal {
            agent_role: Role::Agent,
        },
        notice_version: Some(2),
        collected_by: Actor::Operator,
        collected_where: Label::parse("inbound").unwrap(),
    }
}

pub async fn the_consent_ledger_answers_at_any_instant(store: Arc<dyn Store>) {
    let a = controller(&store, "A").await;
    let b = controller(&store, "B").await;
    let anna = subject(a.id, "Anna");
    store.create_subject(&anna, &[1; 32]).await.unwrap();
    let granted = consent(&anna, ConsentAction::Granted, later(10));
    let withdrawn = consent(&anna, ConsentAction::Withdrawn, later(20));
    let mut sms = consent(&anna, ConsentAction::Granted, later(5));
    sms.channel = Channel::Sms;
    for e in [&withdrawn, &granted, &sms] {
        store.append_consent(e).await.unwrap();
    }
    let mut foreign = granted.clone();
    foreign.id = ConsentEventId::generate();
    foreign.controller_id = b.id;
    assert!(matches!(
        store.append_consent(&foreign).await,
        Err(StorageError::NotFound { .. })
    ));
    assert_eq!(
        store.consent_events(a.id, anna.id).await.unwrap(),
        vec![sms.clone(), granted.clone(), withdrawn.clone()]
    );
    assert!(
        store
            .consent_events(b.id, anna.id)
            .await
            .unwrap()
            .is_empty()
    );
    let purpose: tutela_domain::Purpose = "telemarketing".parse().unwrap();
    let blind = anna.blinds().next().unwrap();
    let h = |secs: i64| {
        let store = store.clone();
        let purpose = purpose.clone();
        async move {
            let last = store
                .last_consent_event(a.id, anna.id, &purpose, Channel::Phone, later(secs))
                .await
                .unwrap();
            // The call decision reads the same event within its one read.
            let ask = tutela_storage::ConsentAsk {
                purpose: &purpose,
                channel: Channel::Phone,
                at: later(secs),
            };
            let folded = store
                .call_record(a.id, blind, later(secs), None, Some(ask))
                .await
                .unwrap();
            assert_eq!(folded.subject, Some(anna.id));
            assert_eq!(folded.consent, last, "the call record's consent at {secs}");
            let registrations = store
                .registrations(a.id, anna.id, later(secs))
                .await
                .unwrap();
            (
                last.into_iter().map(|(e, _)| e).collect::<Vec<_>>(),
                registrations,
            )
        }
    };
    assert!(h(9).await.0.is_empty());
    assert_eq!(h(10).await.0, vec![granted.clone()]);
    assert_eq!(h(19).await.0, vec![granted.clone()]);
    assert_eq!(h(20).await.0, vec![withdrawn.clone()]);
    let registration = RegistryRegistration {
        subject_id: anna.id,
        registry: Registry::ItRpo,
        at: later(15),
        recorded_at: later(16),
    };
    store
        .append_registration(a.id, &registration)
        .await
        .unwrap();
    store
        .append_registration(a.id, &registration)
        .await
        .unwrap();
    assert!(matches!(
        store.append_registration(b.id, &registration).await,
        Err(StorageError::NotFound { .. })
    ));
    assert!(h(14).await.1.is_empty());
    assert_eq!(h(15).await.1, vec![registration]);
}
