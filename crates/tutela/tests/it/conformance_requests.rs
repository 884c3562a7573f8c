//! Conformance of data-subject requests' storage: deadlines and details
//! round-trip, duplicates are found by shared identifiers among open
//! requests of the same kind, moves are version-checked and carry their
//! history, letters and outbox items, codes are replaced and cleared.

use std::sync::Arc;

use jiff::civil::date;
use tutela_domain::{
    BlindIndex, Channel, IntakeChannel, Language, RequestId, RequestKind, RequestState, SubjectId,
};
use tutela_storage::{
    OutboxItem, RequestDetails, RequestMove, RequestStep, Store, StoredCode, StoredLetter,
    StoredRequest,
};

use crate::conformance::{later, t0};
use crate::conformance_access::controller;

fn request(controller: tutela_domain::ControllerId, kind: RequestKind, at: i64) -> StoredRequest {
    StoredRequest {
        id: RequestId::generate(),
        controller,
        kind,
        channel: IntakeChannel::Email,
        language: Language::It,
        state: RequestState::Received,
        received_at: later(at),
        zone: "Europe/Rome".into(),
        due: date(2026, 2, 28),
        latest_extension: date(2026, 4, 28),
        extended_until: None,
        subject: None,
        duplicate_of: None,
        details: RequestDetails {
            purpose: Some("telemarketing".parse().unwrap()),
            channel: Some(Channel::Phone),
            identifier_kinds: vec!["phone".into()],
        },
        version: 1,
    }
}

fn step(state: RequestState, at: i64) -> RequestStep {
    RequestStep {
        state,
        at: later(at),
        actor: "user:dpo".into(),
        detail: "{}".into(),
    }
}

fn plain(state: RequestState, at: i64) -> RequestMove {
    RequestMove {
        step: step(state, at),
        subject: None,
        extended_until: None,
        letter: None,
        outbox: None,
    }
}

pub async fn requests_keep_deadlines_history_letters_and_codes(store: Arc<dyn Store>) {
    let a = controller(&store, "A").await;
    let b = controller(&store, "B").await;
    let phone = BlindIndex([1; 16]);
    let email = BlindIndex([2; 16]);

    let first = request(a.id, RequestKind::Erasure, 0);
    store
        .insert_request(&first, &[phone, email], &step(RequestState::Received, 0))
        .await
        .unwrap();
    assert_eq!(
        store.request(a.id, first.id).await.unwrap().as_ref(),
        Some(&first)
    );
    assert_eq!(
        store.request(b.id, first.id).await.unwrap(),
        None,
        "another controller's"
    );

    // Duplicates: same controller, same kind, a shared identifier, open.
    let second = StoredRequest {
        duplicate_of: Some(first.id),
        ..request(a.id, RequestKind::Erasure, 10)
    };
    store
        .insert_request(&second, &[email], &step(RequestState::Received, 10))
        .await
        .unwrap();
    assert_eq!(
        store
            .open_requests_sharing(a.id, RequestKind::Erasure, &[email, BlindIndex([9; 16])])
            .await
            .unwrap(),
        vec![first.id, second.id],
        "oldest first"
    );
    for (controller, kind, blind) in [
        (a.id, RequestKind::Access, email),
        (b.id, RequestKind::Erasure, email),
        (a.id, RequestKind::Erasure, BlindIndex([9; 16])),
    ] {
        assert!(
            store
                .open_requests_sharing(controller, kind, &[blind])
                .await
                .unwrap()
                .is_empty()
        );
    }

    // Moves are checked against the version they start from.
    let verified = RequestMove {
        subject: Some(SubjectId::generate()),
        ..plain(RequestState::Verified, 20)
    };
    store
        .put_codes(
            first.id,
            &[StoredCode {
                subject: verified.subject.unwrap(),
                digest: vec![3; 32],
                expires_at: later(3600),
            }],
        )
        .await
        .unwrap();
    assert_eq!(store.request_codes(first.id).await.unwrap().len(), 1);
    assert_eq!(store.count_code_attempt(first.id).await.unwrap(), 1);
    assert_eq!(store.count_code_attempt(first.id).await.unwrap(), 2);
    assert!(
        store
            .move_request(a.id, first.id, 1, &verified)
            .await
            .unwrap()
    );
    assert!(
        !store
            .move_request(a.id, first.id, 1, &plain(RequestState::Refused, 21))
            .await
            .unwrap(),
        "a stale version moves nothing"
    );
    assert!(
        !store
            .move_request(b.id, first.id, 2, &plain(RequestState::Refused, 21))
            .await
            .unwrap(),
        "nor another controller"
    );
    assert!(
        store.request_codes(first.id).await.unwrap().is_empty(),
        "verified: codes cleared"
    );

    let item = OutboxItem {
        id: uuid::Uuid::now_v7(),
        controller: a.id,
        request: first.id,
        payload: "{\"kind\":\"erasure\"}".into(),
        created_at: later(30),
    };
    let forwarded = RequestMove {
        outbox: Some(item.clone()),
        ..plain(RequestState::Forwarded, 30)
    };
    assert!(
        store
            .move_request(a.id, first.id, 2, &forwarded)
            .await
            .unwrap()
    );
    assert_eq!(store.pending_outbox(10).await.unwrap(), vec![item.clone()]);
    store
        .mark_delivered(item.id, later(31), "file")
        .await
        .unwrap();
    assert!(store.pending_outbox(10).await.unwrap().is_empty());

    let letter = StoredLetter {
        outcome: "extended".into(),
        language: Language::It,
        subject: "Proroga".into(),
        body: "Gentile interessato…".into(),
        at: later(40),
    };
    let extended = RequestMove {
        extended_until: Some(date(2026, 4, 20)),
        letter: Some(letter.clone()),
        ..plain(RequestState::Extended, 40)
    };
    assert!(
        store
            .move_request(a.id, first.id, 3, &extended)
            .await
            .unwrap()
    );
    let stored = store.request(a.id, first.id).await.unwrap().unwrap();
    assert_eq!(
        (
            stored.state,
            stored.version,
            stored.subject,
            stored.extended_until
        ),
        (
            RequestState::Extended,
            4,
            verified.subject,
            Some(date(2026, 4, 20))
        )
    );
    assert_eq!(stored.deadline(), date(2026, 4, 20));
    assert_eq!(store.request_letters(first.id).await.unwrap(), vec![letter]);

    // Open requests by deadline in force: the extended one comes last.
    let open = store.open_requests(a.id, None, 10).await.unwrap();
    assert_eq!(
        open.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![second.id, first.id]
    );
    let due = store
        .open_requests(a.id, Some(date(2026, 3, 1)), 10)
        .await
        .unwrap();
    assert_eq!(
        due.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![second.id]
    );

    // Closing takes it out of the open lists and the duplicate search.
    assert!(
        store
            .move_request(a.id, first.id, 4, &plain(RequestState::Answered, 50))
            .await
            .unwrap()
    );
    assert_eq!(store.open_requests(a.id, None, 10).await.unwrap().len(), 1);
    assert_eq!(
        store
            .open_requests_sharing(a.id, RequestKind::Erasure, &[phone])
            .await
            .unwrap(),
        vec![]
    );
    let history = store.request_history(first.id).await.unwrap();
    assert_eq!(
        history.iter().map(|s| s.state).collect::<Vec<_>>(),
        vec![
            RequestState::Received,
            RequestState::Verified,
            RequestState::Forwarded,
            RequestState::Extended,
            RequestState::Answered
        ]
    );
    assert_eq!(history.first().unwrap().at, t0());
}
