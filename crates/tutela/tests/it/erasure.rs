//! Erasure that reaches everything (issue 8): after a person is erased at
//! their request, no file the service wrote (database, its journal, blobs,
//! outboxes, keys) and no table of PostgreSQL holds their phone number,
//! e-mail or name, in clear or hex; re-importing their list does not bring
//! them back; their number is denied; the audit chain still verifies. And
//! a database restored from a backup taken before the erasure loses them
//! again at the next start.

use std::sync::Arc;

use serde_json::{Value, json};
use tutela_app::audit::{TrustedKeys, verify_store};

use crate::requests::{Desk, agreement};
use crate::scenario::Scenario;
use crate::support::{Backend, backends};

const PHONE: &str = "+393471234567";
const EMAIL: &str = "maria.rossi@example.it";
const NAME: &str = "Maria Rossi";

/// Every spelling of the person's data a store might hold.
fn needles() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for text in [PHONE, "3471234567", EMAIL, NAME] {
        out.push(text.as_bytes().to_vec());
        out.push(hex::encode(text).into_bytes());
    }
    out
}

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// Files under `dir` holding any needle.
fn files_holding(dir: &std::path::Path) -> Vec<String> {
    let needles = needles();
    files_under(dir)
        .into_iter()
        .filter(|path| {
            let bytes = std::fs::read(path).unwrap_or_default();
            needles
                .iter()
                .any(|n| bytes.windows(n.len()).any(|w| w == n.as_slice()))
        })
        .map(|p| p.display().to_string())
        .collect()
}

/// Tables of the PostgreSQL database holding any needle in any column.
async fn tables_holding(url: &str) -> Vec<String> {
    use sqlx::Connection;
    let mut c = sqlx::PgConnection::connect(url).await.unwrap();
    let tables: Vec<(String,)> = sqlx::query_as(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    assert!(tables.len() > 20, "{tables:?}");
    let needles: Vec<String> = needles()
        .into_iter()
        .map(|n| String::from_utf8(n).unwrap())
        .collect();
    let mut holding = Vec::new();
    for (table,) in tables {
        let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT t::text FROM \"{table}\" t"
        )))
        .fetch_all(&mut c)
        .await
        .unwrap();
        if rows
            .iter()
            .any(|(row,)| needles.iter().any(|n| row.contains(n.as_str())))
        {
            holding.push(table);
        }
    }
    holding
}

fn list_metadata() -> Value {
    let mut metadata = crate::contacts::metadata("2026-11-20T00:00:00Z");
    metadata["name"] = json!("Autunno");
    metadata
}

const LIST: &str = "Nome;Telefono;Email\nMaria Rossi;347 123 4567;maria.rossi@example.it\n\
                    Anna Verdi;347 555 0001;anna@example.it\n";

/// Maria with a list membership, a call outcome and an erasure request
/// verified and under way; returns the request.
async fn maria_everywhere(desk: &Desk<'_>) -> String {
    let (status, imported) = desk
        .s
        .server
        .import_list(
            &desk.importer,
            &desk.c,
            "telemarketing",
            &list_metadata(),
            LIST.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(status, 201, "{imported}");
    let (status, body) = desk
        .s
        .server
        .call(
            "POST",
            &format!(
                "/v1/calls/outcomes?controller_id={}&purpose=customer_care",
                desk.c
            ),
            Some(&desk.dialer),
            Some(json!({"number": PHONE, "outcome": "answered", "at": "2026-11-23T08:30:00Z"})),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(desk.decide(PHONE).await["verdict"], "allow");
    desk.verified("erasure", json!([{"kind": "phone", "value": PHONE}]))
        .await
}

async fn erasure_reaches_everything(backend: Backend) {
    let s = Scenario::new(backend).await;
    let c = s.controller_with("Energia Tre SpA", agreement()).await;
    let desk = Desk::new(&s, c).await;
    let request = maria_everywhere(&desk).await;
    assert!(
        !files_holding(s.server.data_dir().parent().unwrap()).is_empty()
            || backend == Backend::Postgres,
        "the scan finds the person before the erasure"
    );
    if backend == Backend::Postgres {
        assert!(!tables_holding(&s.server.database_url()).await.is_empty());
    }

    let (status, body) = desk.handle(&request, "answer", json!({})).await;
    assert_eq!(status, 200, "{body}");

    // Nowhere: every file under the test's folder (SQLite database and its
    // write-ahead log, data directory: keys, blobs, outboxes, journal), and
    // every table of PostgreSQL.
    let root = s.server.data_dir().parent().unwrap().to_path_buf();
    assert_eq!(files_holding(&root), Vec::<String>::new());
    if backend == Backend::Postgres {
        assert_eq!(
            tables_holding(&s.server.database_url()).await,
            Vec::<String>::new()
        );
    }

    // Not back from the list (the same file is already imported; a new
    // one has her row rejected), and never called.
    let (status, again) = desk
        .s
        .server
        .import_list(
            &desk.importer,
            &desk.c,
            "telemarketing",
            &list_metadata(),
            LIST.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(
        (status, &again["already_imported"]),
        (200, &json!(true)),
        "{again}"
    );
    let mut renamed = list_metadata();
    renamed["name"] = json!("Autunno bis");
    let (status, again) = desk
        .s
        .server
        .import_list(
            &desk.importer,
            &desk.c,
            "telemarketing",
            &renamed,
            LIST.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(
        (
            &again["accepted_rows"],
            &again["rejected_rows"],
            &again["new_subjects"]
        ),
        (&json!(1), &json!(1), &json!(0)),
        "{again}"
    );
    let decision = desk.decide(PHONE).await;
    assert_eq!(decision["verdict"], "deny", "{decision}");
    assert_eq!(files_holding(&root), Vec::<String>::new());

    // The audit chain still verifies, the person's pseudonym now unlinkable.
    let app = &s.server.running().app;
    let keys = TrustedKeys::new([app.audit_public_key().to_vec()]);
    verify_store(Arc::clone(app.store()), &keys).await.unwrap();
}

#[tokio::test]
async fn erasure_leaves_nothing_of_the_person_anywhere() {
    for backend in backends() {
        erasure_reaches_everything(backend).await;
    }
}

#[tokio::test]
async fn a_backup_restored_after_an_erasure_does_not_bring_the_person_back() {
    let s = Scenario::new(Backend::Sqlite).await;
    let c = s.controller_with("Energia Tre SpA", agreement()).await;
    let desk = Desk::new(&s, c.clone()).await;
    let request = maria_everywhere(&desk).await;
    let dialer = desk.dialer.clone();

    // The backup: a consistent copy of the live database.
    let url = s.server.database_url();
    let db_path = std::path::PathBuf::from(url.strip_prefix("sqlite:").unwrap());
    let backup = db_path.with_extension("backup");
    {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite:{}", db_path.display()))
            .await
            .unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "VACUUM INTO '{}'",
            backup.display()
        )))
        .execute(&mut conn)
        .await
        .unwrap();
    }
    let (status, body) = desk.handle(&request, "answer", json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(desk.decide(PHONE).await["verdict"], "deny");
    drop(desk);

    // Restore the database alone, as an operator would after losing it.
    let Scenario { server, clock, .. } = s;
    let data_dir = server.data_dir();
    let db = server.halt().await;
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db_path.display()));
    }
    std::fs::copy(&backup, &db_path).unwrap();
    let settings = crate::support::settings_for(&data_dir, &db.url_string());
    let running = tutela::serve::start(
        &settings,
        clock as Arc<dyn tutela_domain::Clock>,
        std::future::pending(),
    )
    .await
    .unwrap();
    let base = running.base_url();
    let client = crate::support::http_client();
    let decision: Value = client
        .post(format!(
            "{base}/v1/calls/decide?controller_id={c}&purpose=customer_care"
        ))
        .bearer_auth(&dialer)
        .json(&json!({ "number": PHONE }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(decision["verdict"], "deny", "{decision}");
    let root = data_dir.parent().unwrap().to_path_buf();
    std::fs::remove_file(&backup).unwrap();
    assert_eq!(files_holding(&root), Vec::<String>::new());
    let keys = TrustedKeys::new([running.app.audit_public_key().to_vec()]);
    verify_store(Arc::clone(running.app.store()), &keys)
        .await
        .unwrap();
}
