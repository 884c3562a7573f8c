//! `tutela serve`: open storage, issue the setup token if nobody can sign in
//! yet, bind, and serve until told to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tutela_app::audit::AuditSigner;
use tutela_app::{App, AppError, KeyRing, RegistryShelf, RuleBook};
use tutela_domain::{Clock, SetupToken};
use tutela_server::{ServeError, TlsError, load_tls_config, router, serve};
use tutela_storage::{OpenMode, StorageError};

use crate::config::Settings;
use crate::data_dir::DataDirError;
use crate::store::open_store;

/// Why the server could not start. Each variant names what failed.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data directory could not be prepared.
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    /// Storage could not be opened or migrated.
    #[error("storage ({backend}): {source}")]
    Storage {
        /// Redacted description of the database URL.
        backend: String,
        /// What failed.
        source: StorageError,
    },
    /// The TLS certificate or key is unusable.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The listen address could not be bound.
    #[error("setting `listen`: cannot listen on {addr}: {source}")]
    Bind {
        /// The configured address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The calling rules (`rules_dir`) do not load: the file and field.
    #[error("setting `rules_dir`: {0}")]
    Rules(#[from] tutela_app::RuleBookError),
    /// The letter templates (`letters_dir`) do not load: the file and key.
    #[error("setting `letters_dir`: {0}")]
    Letters(#[from] tutela_app::letters::LetterError),
    /// The registry folder of the data directory cannot be read.
    #[error("registry folder {path}: {source}")]
    Registries {
        /// The folder.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Deriving keys or issuing the setup token failed.
    #[error("starting the application: {0}")]
    Setup(#[from] AppError),
    /// The server stopped with an error.
    #[error(transparent)]
    Serve(#[from] ServeError),
    /// The server task ended abnormally.
    #[error("server task: {0}")]
    Task(String),
}

impl StartError {
    /// True when the operator's configuration is at fault (bad TLS files,
    /// an address that cannot be bound, an unusable data directory), so
    /// `main` can exit with the configuration-error code.
    pub fn is_configuration(&self) -> bool {
        matches!(
            self,
            Self::Tls(_)
                | Self::Bind { .. }
                | Self::DataDir(_)
                | Self::Rules(_)
                | Self::Letters(_)
                | Self::Registries { .. }
        )
    }
}

/// A server that is accepting connections.
#[derive(Debug)]
pub struct Running {
    /// The address actually bound (the port is real even if 0 was configured).
    pub local_addr: SocketAddr,
    /// True when serving HTTPS.
    pub tls: bool,
    /// The application behind the server, sharing its store and clock.
    pub app: App,
    /// The one-time setup token, when no user exists yet.
    pub setup_token: Option<SetupToken>,
    task: JoinHandle<Result<(), ServeError>>,
    retention: JoinHandle<()>,
}

/// Prepares storage and starts serving `settings.listen` in a background task
/// until `shutdown` completes.
pub async fn start(
    settings: &Settings,
    clock: Arc<dyn Clock>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<Running, StartError> {
    // The data directory holds the key file and blobs whatever the backend.
    let data_dir = settings.prepare_data_dir()?;
    let keys = KeyRing::from_root(data_dir.root_key())?;
    let store = open_store(&settings.database, OpenMode::CreateIfMissing)
        .await
        .map_err(|source| StartError::Storage {
            backend: format!("{:?}", settings.database),
            source,
        })?;
    let tls = settings.tls.as_ref().map(load_tls_config).transpose()?;
    let listener = TcpListener::bind(settings.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: settings.listen,
            source,
        })?;
    let local_addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: settings.listen,
        source,
    })?;
    // Only now, with TLS loaded and the port bound, is a token issued: a start
    // that fails must not void the token a running instance has printed.
    let signer = AuditSigner::from_pkcs8(data_dir.audit_signing_key())?;
    let rules = RuleBook::load(settings.rules_dir.as_deref())?;
    let letters = match &settings.letters_dir {
        Some(dir) => tutela_app::letters::LetterBook::with_overrides(dir)?,
        None => tutela_app::letters::LetterBook::shipped()?,
    };
    let folder = data_dir.registries();
    // A snapshot that does not read is logged and left out: the node starts,
    // and decisions governed by that registry deny as unavailable.
    let (registries, _) =
        RegistryShelf::open(&folder).map_err(|source| StartError::Registries {
            path: folder.clone(),
            source,
        })?;
    let vault = open_vault(settings, &data_dir)?;
    let app = App::new(store, clock, keys, signer, settings.audit_checkpoint_every)
        .with_login_policy(settings.login)
        .with_voiding_rules(settings.voiding_rules.clone())
        .with_rules(rules)
        .with_registries(registries)
        .with_vault(vault)
        .with_letters(letters)
        .with_erasure_journal(tutela_app::erasure_journal::ErasureJournal::new(
            settings
                .erasure_journal
                .clone()
                .unwrap_or_else(|| data_dir.erasure_journal()),
        ))
        .with_request_delivery(match &settings.requests.smtp {
            None => tutela_app::requests::RequestDelivery::files(&data_dir.outbox()),
            Some((url, from)) => {
                tutela_app::requests::RequestDelivery::smtp(&data_dir.outbox(), url.expose(), from)?
            }
        });
    // Before anything is served: a database restored from an older backup
    // must not bring an erased person back, not even for a moment.
    let again = app.replay_erasure_journal().await?;
    if again > 0 {
        tracing::warn!(
            people = again,
            "erasures re-applied from the journal after a restore"
        );
    }
    let setup_token = app.issue_setup_token().await?;
    let routes = router(app.clone(), &settings.http);
    let is_tls = tls.is_some();
    let task = tokio::spawn(serve(listener, routes, tls, shutdown));
    let retention = tokio::spawn(purge_lists_hourly(app.clone()));
    tracing::info!(%local_addr, tls = is_tls, backend = app.store().backend(), "tutela is serving");
    Ok(Running {
        local_addr,
        tls: is_tls,
        app,
        setup_token,
        task,
        retention,
    })
}

/// The recordings vault as configured: blobs in the data directory's
/// `blobs/recordings/` (or the configured folder or S3 bucket), KEK files in
/// its `keys/recordings/` (or the configured folder, or Vault's transit
/// engine).
fn open_vault(
    settings: &Settings,
    data_dir: &crate::data_dir::DataDir,
) -> Result<tutela_app::Vault, StartError> {
    use crate::config::RecordingStore;
    let keys: Arc<dyn tutela_app::vault::KeyProvider> = match &settings.recordings.keys {
        crate::config::RecordingKeys::Local(dir) => {
            Arc::new(tutela_app::vault::LocalKeyFiles::new(
                dir.clone().unwrap_or_else(|| data_dir.recording_keys()),
            ))
        }
        #[cfg(feature = "vault-transit")]
        crate::config::RecordingKeys::VaultTransit(transit) => {
            Arc::new(tutela_app::vault::VaultTransit::new(transit.clone())?)
        }
    };
    Ok(match &settings.recordings.store {
        RecordingStore::Local(dir) => {
            let dir = dir.clone().unwrap_or_else(|| data_dir.recordings());
            tutela_app::Vault::local(&dir, keys)?
        }
        RecordingStore::S3(s3) => {
            tutela_app::Vault::new(tutela_app::vault::s3_blob_store(s3)?, keys)
        }
    })
}

/// The retention jobs: purges expired lead lists and recordings every hour
/// (the first run a minute after start). A failed run is logged and retried
/// at the next hour; the job stops with the server.
async fn purge_lists_hourly(app: App) {
    let mut every = tokio::time::interval_at(
        tokio::time::Instant::now() + std::time::Duration::from_secs(60),
        std::time::Duration::from_secs(3600),
    );
    loop {
        every.tick().await;
        if let Err(e) = app.purge_expired_lists().await {
            tracing::error!(
                code = e.code(),
                "purging expired lead lists failed; retrying in an hour"
            );
        }
        if let Err(e) = app.deliver_forwarded_requests().await {
            tracing::error!(
                code = e.code(),
                detail = %e.detail(),
                "delivering forwarded data-subject requests failed; retrying in an hour"
            );
        }
        if let Err(e) = app.purge_recordings().await {
            tracing::error!(
                code = e.code(),
                detail = %e.detail(),
                "purging recordings failed; retrying in an hour"
            );
        }
    }
}

impl Running {
    /// The base URL clients use, for example `http://127.0.0.1:8080`.
    pub fn base_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.local_addr)
    }

    /// Waits until the server has shut down (requests in flight finished),
    /// then closes storage.
    pub async fn finished(self) -> Result<(), StartError> {
        let served = self.task.await;
        self.retention.abort();
        self.app.store().close().await;
        match served {
            Ok(result) => Ok(result?),
            Err(e) => Err(StartError::Task(e.to_string())),
        }
    }

    /// What `tutela serve` prints on start: where it listens and, while no
    /// user exists, how the first administrator gets in. Never a password.
    pub fn banner(&self) -> String {
        let base = self.base_url();
        let mut text = format!(
            "tutela {} listening on {base} (storage: {})\nAPI documentation: {base}/docs/\n",
            env!("CARGO_PKG_VERSION"),
            self.app.store().backend()
        );
        if let Some(token) = &self.setup_token {
            let token = token.expose();
            text.push_str(&format!(
                "\nNo administrator exists yet. Create the first one with this one-time setup token\n\
                 (valid for 24 hours; restarting `tutela serve` replaces it):\n\n    \
                 SETUP TOKEN: {token}\n\n    \
                 curl -sS {base}/v1/setup -H 'content-type: application/json' \\\n      \
                 -d '{{\"setup_token\":\"{token}\",\"username\":\"admin\",\"password\":\"<at least 12 characters>\"}}'\n"
            ));
        }
        text
    }
}
