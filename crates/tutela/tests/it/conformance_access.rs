//! Conformance cases for controllers, users, sessions, machine clients,
//! sign-in throttling and subjects (instantiated in `conformance.rs`).

use std::sync::Arc;

use tutela_app::digest;
use tutela_domain::{
    Agreement, AgreementDraft, AgreementTerms, AttributeValue, BlindIndex, Capability, ClientId,
    ClientKind, ContactKind, ContactPoint, Controller, ControllerId, CountryCode, DataCategory,
    Label, MachineClient, Role, SessionId, StoredAttribute, StoredContact, StoredValue, Subject,
    SubjectId, UserId,
};
use tutela_storage::{NewApiToken, NewSession, StorageError, Store, UserChange, UserUpdate};

use crate::conformance::{admin, later, t0};

pub fn terms(reference: &str) -> AgreementTerms {
    let draft: AgreementDraft = serde_json::from_value(serde_json::json!({
        "reference": reference,
        "purposes": [{"purpose": "customer_care", "legal_basis": {"basis": "contract"}}],
        "categories": ["identity", "contact"],
        "retention": [{"category": "contact", "purpose": "customer_care", "days": 365}],
        "operator_countries": ["IT"],
        "sub_processors": [{"name": "Cloud SpA", "country": "IT", "service": "hosting"}],
        "valid_from": "2026-01-01T00:00:00Z"
    }))
    .unwrap();
    draft.try_into().unwrap()
}

pub async fn controller(store: &Arc<dyn Store>, name: &str) -> Controller {
    let c = Controller {
        id: ControllerId::generate(),
        name: Label::parse(name).unwrap(),
        country: CountryCode::parse("IT").unwrap(),
        dpo_contact: Label::parse("dpo@example.com").unwrap(),
        representative: None,
        created_at: t0(),
    };
    store.create_controller(&c).await.unwrap();
    c
}

async fn user(store: &Arc<dyn Store>, name: &str, role: Role, scopes: Vec<ControllerId>) -> UserId {
    let mut new = admin(name, t0()).await;
    new.role = role;
    new.controllers = scopes;
    store.create_user(new).await.unwrap().id
}

pub async fn controllers_keep_every_agreement_version(store: Arc<dyn Store>) {
    let c = controller(&store, "Energia Srl").await;
    assert_eq!(store.controller(c.id).await.unwrap(), Some(c.clone()));
    assert_eq!(store.current_agreement(c.id).await.unwrap(), None);
    let by = user(&store, "admin", Role::Administrator, vec![]).await;
    let first = store
        .record_agreement(c.id, &terms("DPA-1"), t0(), by)
        .await
        .unwrap();
    let second = store
        .record_agreement(c.id, &terms("DPA-2"), later(60), by)
        .await
        .unwrap();
    assert_eq!((first.version, second.version), (1, 2));
    let current: Agreement = store.current_agreement(c.id).await.unwrap().unwrap();
    assert_eq!(current, second);
    assert_eq!(current.terms.fields().reference.as_str(), "DPA-2");
    let other = controller(&store, "Banca SpA").await;
    assert_eq!(store.current_agreement(other.id).await.unwrap(), None);
    let names: Vec<String> = store
        .list_controllers()
        .await
        .unwrap()
        .iter()
        .map(|c| c.name.as_str().to_owned())
        .collect();
    assert_eq!(names, ["Banca SpA", "Energia Srl"]);
}

pub async fn users_carry_their_scopes_and_unique_names(store: Arc<dyn Store>) {
    let a = controller(&store, "A").await;
    let b = controller(&store, "B").await;
    let id = user(&store, "agent.one", Role::Agent, vec![b.id, a.id]).await;
    let stored = store.user_by_id(id).await.unwrap().unwrap();
    let mut both = vec![a.id, b.id];
    both.sort();
    assert_eq!(stored.controllers, both);
    assert!(!stored.mfa_enrolled);
    let mut dup = admin("agent.one", t0()).await;
    dup.role = Role::Agent;
    assert_eq!(
        store.create_user(dup).await.unwrap_err(),
        StorageError::Conflict { what: "username" }
    );
    let change = UserChange {
        role: Some(Role::Supervisor),
        controllers: Some(vec![a.id]),
        reset_mfa: false,
    };
    let UserUpdate::Updated(changed) = store.update_user(id, change, later(1)).await.unwrap()
    else {
        panic!("update refused");
    };
    assert_eq!(
        (changed.role, changed.controllers.clone()),
        (Role::Supervisor, vec![a.id])
    );
    let creds = store.credentials("agent.one").await.unwrap().unwrap();
    assert_eq!(creds.user, changed);
    assert!(creds.password_hash.0.starts_with("$argon2id$"));
    assert!(store.credentials("nobody").await.unwrap().is_none());
    assert_eq!(store.list_users().await.unwrap().len(), 1);
    assert_eq!(
        store
            .update_user(UserId::generate(), UserChange::default(), t0())
            .await
            .unwrap(),
        UserUpdate::NotFound
    );
}

pub async fn the_last_administrator_cannot_be_disabled_or_demoted(store: Arc<dyn Store>) {
    let first = user(&store, "admin1", Role::Administrator, vec![]).await;
    assert_eq!(
        store.disable_user(first, t0()).await.unwrap(),
        UserUpdate::LastAdministrator
    );
    let demote = UserChange {
        role: Some(Role::Auditor),
        ..UserChange::default()
    };
    assert_eq!(
        store
            .update_user(first, demote.clone(), t0())
            .await
            .unwrap(),
        UserUpdate::LastAdministrator
    );
    assert!(
        store
            .user_by_id(first)
            .await
            .unwrap()
            .unwrap()
            .disabled_at
            .is_none()
    );
    let second = user(&store, "admin2", Role::Administrator, vec![]).await;
    assert!(
        matches!(store.disable_user(first, t0()).await.unwrap(), UserUpdate::Updated(u) if u.disabled_at == Some(t0()))
    );
    assert_eq!(
        store.update_user(second, demote, t0()).await.unwrap(),
        UserUpdate::LastAdministrator
    );
}

fn session(user: UserId, token: &str) -> NewSession {
    NewSession {
        id: SessionId::generate(),
        digest: digest(token),
        user_id: user,
        created_at: t0(),
        expires_at: later(3600),
        mfa_pending: true,
    }
}

fn client(controller: ControllerId, by: UserId) -> MachineClient {
    MachineClient {
        id: ClientId::generate(),
        controller_id: controller,
        name: Label::parse("dialer-1").unwrap(),
        kind: ClientKind::Dialer,
        capabilities: vec![Capability::CallGating, Capability::ReadSubjects],
        created_at: t0(),
        created_by: by,
        revoked_at: None,
    }
}

fn token(by: UserId, value: &str) -> NewApiToken {
    NewApiToken {
        digest: digest(value),
        issued_by: by,
        issued_at: t0(),
        expires_at: later(86_400),
    }
}

pub async fn disabling_revokes_sessions_and_issued_tokens(store: Arc<dyn Store>) {
    let c = controller(&store, "A").await;
    let _keep = user(&store, "admin0", Role::Administrator, vec![]).await;
    let issuer = user(&store, "admin1", Role::Administrator, vec![]).await;
    store
        .create_session(session(issuer, "tus_a"))
        .await
        .unwrap();
    store
        .create_session(session(issuer, "tus_b"))
        .await
        .unwrap();
    let record = store.session(digest("tus_a")).await.unwrap().unwrap();
    assert!(record.mfa_pending && record.revoked_at.is_none());
    assert_eq!(record.user.id, issuer);
    store.complete_session_mfa(record.id).await.unwrap();
    assert!(
        !store
            .session(digest("tus_a"))
            .await
            .unwrap()
            .unwrap()
            .mfa_pending
    );
    let dialer = client(c.id, issuer);
    store
        .create_client(&dialer, token(issuer, "tmc_a"))
        .await
        .unwrap();
    assert!(
        store
            .api_token(digest("tmc_a"))
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_none()
    );

    store.disable_user(issuer, later(5)).await.unwrap();
    for t in ["tus_a", "tus_b"] {
        let s = store.session(digest(t)).await.unwrap().unwrap();
        assert_eq!(s.revoked_at, Some(later(5)), "{t}");
        assert!(s.user.disabled_at.is_some());
    }
    assert_eq!(
        store
            .api_token(digest("tmc_a"))
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(later(5))
    );
    assert!(
        store
            .session(digest("tus_unknown"))
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn totp_steps_are_accepted_once(store: Arc<dyn Store>) {
    let id = user(&store, "dpo", Role::Dpo, vec![]).await;
    store.store_totp_secret(id, vec![1, 2, 3]).await.unwrap();
    let creds = store.credentials("dpo").await.unwrap().unwrap();
    assert_eq!(creds.totp_secret, Some(vec![1, 2, 3]));
    assert!(!creds.user.mfa_enrolled);
    assert!(store.accept_totp_step(id, 100).await.unwrap());
    assert!(!store.accept_totp_step(id, 100).await.unwrap(), "replay");
    assert!(!store.accept_totp_step(id, 99).await.unwrap(), "older step");
    assert!(store.accept_totp_step(id, 101).await.unwrap());
    let attempts = (0..8).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.accept_totp_step(id, 200).await.unwrap() })
    });
    let mut accepted = 0;
    for a in attempts {
        accepted += usize::from(a.await.unwrap());
    }
    assert_eq!(accepted, 1, "concurrent uses of one code");
    store.confirm_totp(id, t0()).await.unwrap();
    assert!(store.user_by_id(id).await.unwrap().unwrap().mfa_enrolled);
    let reset = UserChange {
        reset_mfa: true,
        ..UserChange::default()
    };
    let UserUpdate::Updated(u) = store.update_user(id, reset, t0()).await.unwrap() else {
        panic!("reset refused");
    };
    assert!(!u.mfa_enrolled);
    assert_eq!(
        store.credentials("dpo").await.unwrap().unwrap().totp_secret,
        None
    );
}

pub async fn login_failures_lock_at_the_threshold_within_the_window(store: Arc<dyn Store>) {
    let key = digest("account:mario");
    let lock = later(900);
    for i in 1..=2 {
        let now = later(i);
        assert_eq!(
            store
                .record_login_failure(key, now, later(i - 600), 3, lock)
                .await
                .unwrap(),
            None
        );
    }
    assert_eq!(store.locked_until(key, later(3)).await.unwrap(), None);
    assert_eq!(
        store
            .record_login_failure(key, later(3), later(-597), 3, lock)
            .await
            .unwrap(),
        Some(lock)
    );
    assert_eq!(store.locked_until(key, later(4)).await.unwrap(), Some(lock));
    assert_eq!(
        store.locked_until(key, lock).await.unwrap(),
        None,
        "lock expires"
    );
    // Failures outside the window are forgotten: two old, then one new.
    let other = digest("account:luigi");
    store
        .record_login_failure(other, t0(), later(-600), 3, lock)
        .await
        .unwrap();
    store
        .record_login_failure(other, later(1), later(-599), 3, lock)
        .await
        .unwrap();
    let far = later(2000);
    assert_eq!(
        store
            .record_login_failure(other, far, later(1400), 3, lock)
            .await
            .unwrap(),
        None
    );
    store.clear_login_failures(other).await.unwrap();
    store
        .clear_login_failures(digest("never-seen"))
        .await
        .unwrap();
}

pub fn subject(controller: ControllerId, name: &str) -> Subject {
    let id = SubjectId::generate();
    Subject {
        id,
        controller_id: controller,
        attributes: vec![
            StoredAttribute {
                name: "card".parse().unwrap(),
                category: DataCategory::Payment,
                value: StoredValue::Sealed(vec![1, 2, 3, 4]),
                blind: None,
            },
            StoredAttribute {
                name: "full_name".parse().unwrap(),
                category: DataCategory::Identity,
                value: StoredValue::Clear(AttributeValue::parse(name).unwrap()),
                blind: None,
            },
        ],
        contacts: vec![StoredContact {
            point: ContactPoint::from_stored(ContactKind::Phone, "+393471234567").unwrap(),
            blind: BlindIndex(*id.0.as_bytes()),
        }],
        created_at: t0(),
        updated_at: t0(),
    }
}

pub async fn subjects_are_reachable_only_through_their_controller(store: Arc<dyn Store>) {
    let a = controller(&store, "A").await;
    let b = controller(&store, "B").await;
    let mine: Vec<Subject> = (0..5)
        .map(|i| subject(a.id, &format!("Person {i}")))
        .collect();
    for s in &mine {
        store.create_subject(s, &[7; 32]).await.unwrap();
    }
    let theirs = subject(b.id, "Someone Else");
    store.create_subject(&theirs, &[8; 32]).await.unwrap();
    assert_eq!(
        store.subject(a.id, mine[0].id).await.unwrap().as_ref(),
        Some(&mine[0])
    );
    assert_eq!(store.subject(a.id, theirs.id).await.unwrap(), None);
    assert_eq!(store.subject(b.id, mine[0].id).await.unwrap(), None);
    let page1 = store.subjects(a.id, None, 3).await.unwrap();
    let page2 = store
        .subjects(a.id, page1.last().map(|s| s.id), 3)
        .await
        .unwrap();
    let all: Vec<Subject> = page1.into_iter().chain(page2).collect();
    let mut expected = mine.clone();
    expected.sort_by_key(|s| s.id);
    assert_eq!(all, expected);
    assert_eq!(store.subjects(b.id, None, 10).await.unwrap(), vec![theirs]);
}

pub async fn client_tokens_rotate_and_revoke(store: Arc<dyn Store>) {
    let a = controller(&store, "A").await;
    let b = controller(&store, "B").await;
    let by = user(&store, "admin", Role::Administrator, vec![]).await;
    let dialer = client(a.id, by);
    store
        .create_client(&dialer, token(by, "tmc_1"))
        .await
        .unwrap();
    assert_eq!(store.clients(a.id).await.unwrap(), vec![dialer.clone()]);
    assert!(store.clients(b.id).await.unwrap().is_empty());
    assert_eq!(store.client(b.id, dialer.id).await.unwrap(), None);
    assert!(
        !store
            .replace_client_token(b.id, dialer.id, token(by, "tmc_x"), t0())
            .await
            .unwrap()
    );
    assert!(
        store
            .replace_client_token(a.id, dialer.id, token(by, "tmc_2"), later(1))
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .api_token(digest("tmc_1"))
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(later(1))
    );
    let current = store.api_token(digest("tmc_2")).await.unwrap().unwrap();
    assert_eq!(
        (current.client.clone(), current.revoked_at),
        (dialer.clone(), None)
    );
    assert!(
        !store
            .revoke_client(b.id, dialer.id, later(2))
            .await
            .unwrap()
    );
    assert!(
        store
            .revoke_client(a.id, dialer.id, later(2))
            .await
            .unwrap()
    );
    let revoked = store.api_token(digest("tmc_2")).await.unwrap().unwrap();
    assert_eq!(revoked.client.revoked_at, Some(later(2)));
    assert_eq!(revoked.revoked_at, Some(later(2)));
    assert!(
        !store
            .replace_client_token(a.id, dialer.id, token(by, "tmc_3"), later(3))
            .await
            .unwrap()
    );
}
