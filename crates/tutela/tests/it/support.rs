//! Test support: fresh databases per test, and the real server on port 0.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use tempfile::TempDir;
use tutela::config::{Settings, Sources};
use tutela::serve::{Running, start};
use tutela::store::open_store;
use tutela_domain::{Clock, SystemClock};
use tutela_storage::{DatabaseUrl, OpenMode, Store};

/// The environment variable naming a PostgreSQL server for tests.
pub const POSTGRES_URL_VAR: &str = "TUTELA_TEST_POSTGRES_URL";

/// A storage backend under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The backends to run backend-generic tests on: SQLite always, PostgreSQL
/// when configured. Under `CI=true` a missing PostgreSQL fails the test.
pub fn backends() -> Vec<Backend> {
    if postgres_admin_url().is_some() {
        vec![Backend::Sqlite, Backend::Postgres]
    } else {
        vec![Backend::Sqlite]
    }
}

/// The PostgreSQL admin URL, or `None` outside CI when it is not set.
pub fn postgres_admin_url() -> Option<String> {
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI")
            .is_ok_and(|v| matches!(v.as_str(), "true" | "TRUE" | "True" | "1" | "yes")) =>
        {
            panic!("{POSTGRES_URL_VAR} is not set under CI=true: PostgreSQL tests must run in CI")
        }
        _ => None,
    }
}

/// A database that exists for one test and is removed after it.
pub struct FreshDatabase {
    pub url: DatabaseUrl,
    pub dir: TempDir,
    postgres_name: Option<String>,
}

impl FreshDatabase {
    /// Creates an empty database on `backend`. Returns `None` for PostgreSQL
    /// when no server is configured (outside CI).
    pub async fn create(backend: Backend) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        match backend {
            Backend::Sqlite => Some(Self {
                url: DatabaseUrl::sqlite(dir.path().join("test.db")),
                dir,
                postgres_name: None,
            }),
            Backend::Postgres => {
                let admin = postgres_admin_url()?;
                let name = format!("tutela_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
                    .await
                    .expect("connect to the test PostgreSQL server");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .expect("create a fresh test database");
                let url = DatabaseUrl::parse(&with_database(&admin, &name)).unwrap();
                Some(Self {
                    url,
                    dir,
                    postgres_name: Some(name),
                })
            }
        }
    }

    /// The store on this database, migrated.
    pub async fn open(&self) -> Arc<dyn Store> {
        open_store(&self.url, OpenMode::CreateIfMissing)
            .await
            .unwrap()
    }

    /// The URL as a string, for configuration.
    pub fn url_string(&self) -> String {
        match &self.url {
            DatabaseUrl::Sqlite { path } => format!("sqlite:{}", path.display()),
            DatabaseUrl::Postgres { url } => url.expose().to_owned(),
        }
    }
}

impl Drop for FreshDatabase {
    /// Drops the PostgreSQL database so a long-lived test server does not
    /// fill up; runs on its own thread because `Drop` cannot await.
    fn drop(&mut self) {
        let (Some(name), Some(admin)) = (self.postgres_name.take(), postgres_admin_url()) else {
            return;
        };
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                if let Ok(mut conn) =
                    <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await
                {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut conn)
                    .await;
                }
            });
        })
        .join();
    }
}

/// `postgres://u@h:p/admin?x=y` with the database replaced by `name`.
fn with_database(admin: &str, name: &str) -> String {
    let (base, query) = admin
        .split_once('?')
        .map_or((admin, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// The real server, started in process on port 0 over a fresh database.
pub struct TestServer {
    pub running: Option<Running>,
    pub base: String,
    pub client: reqwest::Client,
    /// Kept so the database outlives the server.
    _db: FreshDatabase,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl TestServer {
    /// Starts on `backend` with the system clock and default settings.
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, Arc::new(SystemClock), |_| {}).await
    }

    /// Starts with a chosen clock and settings adjusted by `adjust`.
    pub async fn start_with(
        backend: Backend,
        clock: Arc<dyn Clock>,
        adjust: impl FnOnce(&mut Settings),
    ) -> Self {
        let db = FreshDatabase::create(backend)
            .await
            .expect("backend available");
        let mut settings = settings_for(&db.dir.path().join("data"), &db.url_string());
        adjust(&mut settings);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = start(&settings, clock, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
        let base = running.base_url();
        Self {
            running: Some(running),
            base,
            client: http_client(),
            _db: db,
            stop: Some(stop),
        }
    }

    /// The database URL, for tools run against it.
    pub fn database_url(&self) -> String {
        self._db.url_string()
    }

    /// The data directory (keys).
    pub fn data_dir(&self) -> std::path::PathBuf {
        self._db.dir.path().join("data")
    }

    pub fn running(&self) -> &Running {
        self.running.as_ref().unwrap()
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        self.running().app.store()
    }

    pub fn setup_token(&self) -> String {
        self.running()
            .setup_token
            .as_ref()
            .unwrap()
            .expose()
            .to_owned()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// POSTs a raw JSON body and returns status and parsed body.
    pub async fn post_json(&self, path: &str, body: &str) -> (u16, serde_json::Value) {
        let response = self
            .client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (
            status,
            response.json().await.unwrap_or(serde_json::Value::Null),
        )
    }

    /// GETs a path and returns status and parsed body.
    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let response = self.client.get(self.url(path)).send().await.unwrap();
        let status = response.status().as_u16();
        (
            status,
            response.json().await.unwrap_or(serde_json::Value::Null),
        )
    }

    /// Shuts down gracefully and keeps the database, for tools run on it after.
    pub async fn halt(mut self) -> FreshDatabase {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(running) = self.running.take() {
            running.finished().await.unwrap();
        }
        self._db
    }

    /// Shuts down gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(running) = self.running.take() {
            running.finished().await.unwrap();
        }
    }
}

/// Settings as `tutela serve` would load them, for a data dir and database.
pub fn settings_for(data_dir: &std::path::Path, database_url: &str) -> Settings {
    Settings::load(&Sources {
        file: None,
        env: vec![("TUTELA_DATABASE_URL".into(), database_url.into())],
        flags: vec![
            ("data_dir", data_dir.display().to_string()),
            ("listen", "127.0.0.1:0".into()),
        ],
    })
    .unwrap()
}

/// Runs `test` once per available backend, saying which one failed.
pub async fn on_each_backend<F, Fut>(test: F)
where
    F: Fn(Backend) -> Fut,
    Fut: Future<Output = ()>,
{
    for backend in backends() {
        eprintln!("-- on {backend:?}");
        test(backend).await;
    }
}

/// A path inside a fresh temporary directory (kept alive by the returned guard).
pub fn temp_path(name: &str) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    (dir, path)
}

#[test]
fn replaces_the_database_in_a_postgres_url() {
    assert_eq!(
        with_database("postgres://p@127.0.0.1:5432/postgres", "t1"),
        "postgres://p@127.0.0.1:5432/t1"
    );
    assert_eq!(
        with_database("postgres://p@h/postgres?sslmode=disable", "t1"),
        "postgres://p@h/t1?sslmode=disable"
    );
    assert_eq!(
        with_database("postgres://p@h:1", "t1"),
        "postgres://p@h:1/t1"
    );
}

/// Every stored audit segment in `store`, in (chain, first position) order.
pub async fn all_audit_segments(
    store: &std::sync::Arc<dyn tutela_storage::Store>,
) -> Vec<tutela_storage::StoredSegment> {
    let mut segments = Vec::new();
    let mut after = None;
    loop {
        let page = store.audit_scan(after, 100).await.unwrap();
        let done = page.len() < 100;
        after = page.last().map(|s| (s.chain, s.first_seq));
        segments.extend(page);
        if done {
            return segments;
        }
    }
}

/// Every audit record in `store`, in (chain, position) order, and the bytes
/// of every stored search term.
pub async fn all_audit_records(
    store: &std::sync::Arc<dyn tutela_storage::Store>,
) -> (Vec<tutela_domain::audit::AuditRecord>, Vec<u8>) {
    let mut records = Vec::new();
    let mut terms = Vec::new();
    for segment in all_audit_segments(store).await {
        records.extend(segment.decode().unwrap());
        let stored = store
            .audit_terms(segment.chain, segment.first_seq, segment.first_seq)
            .await
            .unwrap();
        for t in stored {
            terms.extend_from_slice(&t.term);
        }
    }
    (records, terms)
}

/// An HTTP client for tests. The binary's reqwest is built without a TLS
/// crypto provider of its own (one provider in the build: ring), so one is
/// installed first, as `tutela lists import` does.
pub fn http_client() -> reqwest::Client {
    http_client_builder().build().unwrap()
}

/// [`http_client`]'s builder, for tests that set timeouts.
pub fn http_client_builder() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}
