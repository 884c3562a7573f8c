//! Set-up shared by the bench binaries (each includes this file with
//! `#[path]`): a controller with an administrator and an agreement.

use std::sync::Arc;

use tutela_domain::{AgreementTerms, Clock, ControllerId, SystemClock};
use tutela_storage::Store;

/// Registers a controller "Bench" (Italy) in `store`, an administrator, and
/// `terms` as its agreement; returns the controller.
pub async fn bench_controller(store: &Arc<dyn Store>, terms: &AgreementTerms) -> ControllerId {
    let controller = tutela_domain::Controller {
        id: ControllerId::generate(),
        name: tutela_domain::Label::parse("Bench").unwrap(),
        country: tutela_domain::CountryCode::parse("IT").unwrap(),
        dpo_contact: tutela_domain::Label::parse("dpo@example.com").unwrap(),
        representative: None,
        created_at: SystemClock.now(),
    };
    store.create_controller(&controller).await.unwrap();
    let admin = tutela_domain::NewUser {
        id: tutela_domain::UserId::generate(),
        username: tutela_domain::Username::parse("bench").unwrap(),
        role: tutela_domain::Role::Administrator,
        controllers: vec![],
        password_hash: tutela_app::PasswordHasher::new()
            .hash(&tutela_domain::Password::parse("a long enough password").unwrap())
            .await
            .unwrap(),
        created_at: SystemClock.now(),
    };
    let admin = store.create_user(admin).await.unwrap().id;
    store
        .record_agreement(controller.id, terms, SystemClock.now(), admin)
        .await
        .unwrap();
    controller.id
}

/// A fresh store named `name`: a SQLite file in `dir`, or, with `postgres`
/// (an administrator's URL), a new database on that server.
pub async fn fresh_store(
    postgres: Option<&str>,
    dir: &std::path::Path,
    name: &str,
) -> Arc<dyn Store> {
    use tutela_storage::{DatabaseUrl, OpenMode};
    let url = match postgres {
        None => DatabaseUrl::sqlite(dir.join(format!("{name}.db"))),
        Some(admin) => {
            use sqlx::Connection;
            let db = format!("tutela_bench_{}_{name}", std::process::id());
            let mut c = sqlx::PgConnection::connect(admin).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
                .execute(&mut c)
                .await
                .unwrap();
            let (base, _) = admin.rsplit_once('/').unwrap();
            DatabaseUrl::parse(&format!("{base}/{db}")).unwrap()
        }
    };
    tutela::store::open_store(&url, OpenMode::CreateIfMissing)
        .await
        .unwrap()
}
