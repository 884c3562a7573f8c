//! Choosing and opening the storage backend named by a database URL.

use std::sync::Arc;

use tutela_storage::{DatabaseUrl, OpenMode, StorageError, Store};
use tutela_storage_postgres::PostgresStore;
use tutela_storage_sqlite::SqliteStore;

/// Opens the backend the URL names and applies its migrations. Unknown
/// schemes never reach here: [`DatabaseUrl::parse`] refuses them.
pub async fn open_store(url: &DatabaseUrl, mode: OpenMode) -> Result<Arc<dyn Store>, StorageError> {
    Ok(match url {
        DatabaseUrl::Sqlite { path } => Arc::new(SqliteStore::open(path, mode).await?),
        DatabaseUrl::Postgres { url } => Arc::new(PostgresStore::open(url).await?),
    })
}
