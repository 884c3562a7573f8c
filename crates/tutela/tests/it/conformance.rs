//! The storage conformance suite: the same tests on every backend. A backend
//! difference is a failing test here, not a production surprise.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use tutela_app::{PasswordHasher, digest};
use tutela_domain::{NewUser, Password, Role, SecretDigest, UserId, Username};
use tutela_storage::{SetupCompletion, SetupTokenIssue, StorageError, Store};

pub use crate::conformance_access::*;
pub use crate::conformance_audit::*;
pub use crate::conformance_calls::*;
pub use crate::conformance_contacts::*;
pub use crate::conformance_requests::*;

/// Instantiates every conformance test for one backend.
macro_rules! conformance_suite {
    ($module:ident, $backend:expr) => {
        mod $module {
            macro_rules! case {
                ($name:ident) => {
                    #[tokio::test]
                    async fn $name() {
                        let Some(db) = crate::support::FreshDatabase::create($backend).await else {
                            eprintln!("skipped: no PostgreSQL configured");
                            return;
                        };
                        super::$name(db.open().await).await;
                    }
                };
            }
            case!(fresh_store_is_ready_with_all_migrations);
            case!(setup_creates_the_administrator_and_consumes_the_token);
            case!(setup_is_refused_once_a_user_exists);
            case!(wrong_token_rolls_back_the_user_insert);
            case!(expired_token_is_refused);
            case!(reissued_token_replaces_the_earlier_one);
            case!(no_token_is_issued_after_setup);
            case!(instants_round_trip_to_the_microsecond);
            case!(unknown_user_is_none_not_an_error);
            case!(concurrent_setups_create_exactly_one_administrator);
            case!(closed_store_reports_unavailable_not_empty);
            case!(controllers_keep_every_agreement_version);
            case!(users_carry_their_scopes_and_unique_names);
            case!(the_last_administrator_cannot_be_disabled_or_demoted);
            case!(disabling_revokes_sessions_and_issued_tokens);
            case!(totp_steps_are_accepted_once);
            case!(login_failures_lock_at_the_threshold_within_the_window);
            case!(subjects_are_reachable_only_through_their_controller);
            case!(client_tokens_rotate_and_revoke);
            case!(subjects_are_found_by_blind_index_and_erased_with_everything);
            case!(imports_are_all_or_nothing_and_once_per_content);
            case!(art14_notices_fall_due_and_expired_lists_are_purged);
            case!(the_consent_ledger_answers_at_any_instant);
            case!(audit_queries_equal_a_naive_filter_across_segments_and_epochs);
            case!(call_records_gather_lists_checks_outcomes_and_suppressions);
            case!(requests_keep_deadlines_history_letters_and_codes);
        }
    };
}

conformance_suite!(sqlite, crate::support::Backend::Sqlite);
conformance_suite!(postgres, crate::support::Backend::Postgres);

pub fn t0() -> Timestamp {
    "2026-11-22T10:00:00.123456Z".parse().unwrap()
}

pub fn later(by_secs: i64) -> Timestamp {
    t0().checked_add(SignedDuration::from_secs(by_secs))
        .unwrap()
}

pub async fn admin(name: &str, at: Timestamp) -> NewUser {
    NewUser {
        id: UserId::generate(),
        username: Username::parse(name).unwrap(),
        role: Role::Administrator,
        controllers: Vec::new(),
        password_hash: PasswordHasher::new()
            .hash(&Password::parse("a long enough password").unwrap())
            .await
            .unwrap(),
        created_at: at,
    }
}

async fn issue(store: &Arc<dyn Store>, token: &str) -> SecretDigest {
    let d = digest(token);
    let outcome = store.issue_setup_token(d, t0(), later(3600)).await.unwrap();
    assert_eq!(outcome, SetupTokenIssue::Issued);
    d
}

pub async fn fresh_store_is_ready_with_all_migrations(store: Arc<dyn Store>) {
    let readiness = store.readiness().await.unwrap();
    assert!(readiness.migrations_expected >= 1);
    assert!(readiness.is_ready(), "{readiness:?}");
    assert_eq!(store.count_users().await.unwrap(), 0);
}

pub async fn setup_creates_the_administrator_and_consumes_the_token(store: Arc<dyn Store>) {
    let d = issue(&store, "token-a").await;
    let new = admin("admin", later(1)).await;
    let id = new.id;
    let SetupCompletion::Created(user) = store.complete_setup(d, later(2), new).await.unwrap()
    else {
        panic!("setup should succeed");
    };
    assert_eq!(user.id, id);
    assert_eq!(user.role, Role::Administrator);
    assert_eq!(user.username.as_str(), "admin");
    assert_eq!(store.user_by_id(id).await.unwrap(), Some(user));
    assert_eq!(store.count_users().await.unwrap(), 1);
}

pub async fn setup_is_refused_once_a_user_exists(store: Arc<dyn Store>) {
    let d = issue(&store, "token-a").await;
    let first = store
        .complete_setup(d, later(2), admin("admin", later(1)).await)
        .await
        .unwrap();
    assert!(matches!(first, SetupCompletion::Created(_)));
    let again = store
        .complete_setup(d, later(3), admin("intruder", later(3)).await)
        .await
        .unwrap();
    assert_eq!(again, SetupCompletion::AlreadyComplete);
    assert_eq!(store.count_users().await.unwrap(), 1);
}

pub async fn wrong_token_rolls_back_the_user_insert(store: Arc<dyn Store>) {
    let right = issue(&store, "token-right").await;
    let outcome = store
        .complete_setup(
            digest("token-wrong"),
            later(2),
            admin("admin", later(1)).await,
        )
        .await
        .unwrap();
    assert_eq!(outcome, SetupCompletion::InvalidToken);
    assert_eq!(
        store.count_users().await.unwrap(),
        0,
        "the user insert must be rolled back"
    );
    // The right token was not touched by the failed attempt.
    let outcome = store
        .complete_setup(right, later(3), admin("admin", later(3)).await)
        .await
        .unwrap();
    assert!(matches!(outcome, SetupCompletion::Created(_)));
}

pub async fn expired_token_is_refused(store: Arc<dyn Store>) {
    let d = issue(&store, "token-a").await;
    // Valid until exactly t0 + 3600 s, exclusive.
    let at_expiry = later(3600);
    let outcome = store
        .complete_setup(d, at_expiry, admin("admin", at_expiry).await)
        .await
        .unwrap();
    assert_eq!(outcome, SetupCompletion::InvalidToken);
    assert_eq!(store.count_users().await.unwrap(), 0);
    let just_before = at_expiry
        .checked_sub(SignedDuration::from_micros(1))
        .unwrap();
    let outcome = store
        .complete_setup(d, just_before, admin("admin", just_before).await)
        .await
        .unwrap();
    assert!(matches!(outcome, SetupCompletion::Created(_)));
}

pub async fn reissued_token_replaces_the_earlier_one(store: Arc<dyn Store>) {
    let old = issue(&store, "token-old").await;
    let new = issue(&store, "token-new").await;
    let outcome = store
        .complete_setup(old, later(2), admin("admin", later(2)).await)
        .await
        .unwrap();
    assert_eq!(outcome, SetupCompletion::InvalidToken);
    let outcome = store
        .complete_setup(new, later(3), admin("admin", later(3)).await)
        .await
        .unwrap();
    assert!(matches!(outcome, SetupCompletion::Created(_)));
}

pub async fn no_token_is_issued_after_setup(store: Arc<dyn Store>) {
    let d = issue(&store, "token-a").await;
    store
        .complete_setup(d, later(2), admin("admin", later(1)).await)
        .await
        .unwrap();
    let outcome = store
        .issue_setup_token(digest("token-b"), later(5), later(3600))
        .await
        .unwrap();
    assert_eq!(outcome, SetupTokenIssue::AlreadyComplete);
    let outcome = store
        .complete_setup(digest("token-b"), later(6), admin("other", later(6)).await)
        .await
        .unwrap();
    assert_eq!(outcome, SetupCompletion::AlreadyComplete);
}

pub async fn instants_round_trip_to_the_microsecond(store: Arc<dyn Store>) {
    let d = issue(&store, "token-a").await;
    let with_nanos: Timestamp = "2026-03-29T01:59:59.999999999Z".parse().unwrap();
    let SetupCompletion::Created(user) = store
        .complete_setup(d, later(1), admin("admin", with_nanos).await)
        .await
        .unwrap()
    else {
        panic!("setup should succeed");
    };
    let expected: Timestamp = "2026-03-29T01:59:59.999999Z".parse().unwrap();
    assert_eq!(
        user.created_at, expected,
        "returned value is what storage holds"
    );
    let read = store.user_by_id(user.id).await.unwrap().unwrap();
    assert_eq!(read.created_at, expected);
    assert_eq!(read.disabled_at, None);
}

pub async fn unknown_user_is_none_not_an_error(store: Arc<dyn Store>) {
    assert_eq!(store.user_by_id(UserId::generate()).await.unwrap(), None);
}

pub async fn concurrent_setups_create_exactly_one_administrator(store: Arc<dyn Store>) {
    let d = issue(&store, "token-a").await;
    let (a, b) = (
        admin("first", later(1)).await,
        admin("second", later(1)).await,
    );
    let (s1, s2) = (store.clone(), store.clone());
    let (r1, r2) = tokio::join!(
        tokio::spawn(async move { s1.complete_setup(d, later(2), a).await }),
        tokio::spawn(async move { s2.complete_setup(d, later(2), b).await }),
    );
    let outcomes = [r1.unwrap(), r2.unwrap()];
    let created = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(SetupCompletion::Created(_))))
        .count();
    assert_eq!(created, 1, "{outcomes:?}");
    for outcome in &outcomes {
        assert!(
            matches!(
                outcome,
                Ok(SetupCompletion::Created(_)
                    | SetupCompletion::InvalidToken
                    | SetupCompletion::AlreadyComplete)
            ),
            "the loser is refused cleanly: {outcome:?}"
        );
    }
    assert_eq!(store.count_users().await.unwrap(), 1);
}

pub async fn closed_store_reports_unavailable_not_empty(store: Arc<dyn Store>) {
    store.close().await;
    assert!(matches!(
        store.readiness().await,
        Err(StorageError::Unavailable { .. })
    ));
    assert!(matches!(
        store.count_users().await,
        Err(StorageError::Unavailable { .. })
    ));
    assert!(matches!(
        store.user_by_id(UserId::generate()).await,
        Err(StorageError::Unavailable { .. })
    ));
}

#[tokio::test]
async fn offline_tools_never_create_an_empty_sqlite_database() {
    let (_dir, path) = crate::support::temp_path("missing.db");
    let result = tutela::store::open_store(
        &tutela_storage::DatabaseUrl::sqlite(&path),
        tutela_storage::OpenMode::MustExist,
    )
    .await;
    assert!(matches!(result, Err(StorageError::Unavailable { .. })));
    assert!(!path.exists(), "no file was created");
}
