//! Configuration: built-in defaults, then a TOML file, then `TUTELA_*`
//! environment variables, then command-line flags; each layer overrides the
//! one before. Every error names the setting and the source it came from
//! (`file tutela.toml`, `environment variable TUTELA_LISTEN`, `--listen`).
//! Secrets (the database URL) are never printed, not even by `Debug`.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::providers::{Format, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider, Source};
use jiff::SignedDuration;
use serde::Deserialize;
use tutela_domain::{LoginPolicy, Secret};
use tutela_server::{HttpSettings, TlsFiles};
use tutela_storage::DatabaseUrl;

use crate::data_dir::DataDir;

/// Environment variables with this prefix are settings: `TUTELA_LISTEN` is
/// `listen`, `TUTELA_HTTP__BODY_LIMIT_BYTES` is `http.body_limit_bytes`.
pub const ENV_PREFIX: &str = "TUTELA_";

/// Environment variables that are not settings although they carry the prefix:
/// the config file's own path and anything reserved for the test tooling.
fn is_reserved_env(name: &str) -> bool {
    name == "TUTELA_CONFIG" || name.starts_with("TUTELA_TEST_")
}

/// The configuration file as written by the operator (every field optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    data_dir: Option<PathBuf>,
    listen: Option<SocketAddr>,
    database_url: Option<Secret>,
    #[serde(default)]
    http: RawHttp,
    tls: Option<RawTls>,
    #[serde(default)]
    log: RawLog,
    #[serde(default)]
    auth: RawAuth,
    #[serde(default)]
    audit: RawAudit,
    #[serde(default)]
    consent: RawConsent,
    /// Directory of `CC.toml` calling-rule files replacing the shipped ones
    /// (`TUTELA_RULES_DIR`, as for `tutela scrub`).
    rules_dir: Option<PathBuf>,
    /// Directory of `<language>.toml` letter templates replacing the
    /// shipped ones (`TUTELA_LETTERS_DIR`).
    letters_dir: Option<PathBuf>,
    /// The erasure journal's file (`TUTELA_ERASURE_JOURNAL`); best on
    /// storage that is not restored with the database.
    erasure_journal: Option<PathBuf>,
    #[serde(default)]
    recordings: RawRecordings,
    #[serde(default)]
    requests: RawRequests,
}

/// `[requests]`: how data-subject requests reach people. Codes for
/// e-mail addresses go by SMTP when `smtp_url` is set; everything else is
/// written to the data directory's `outbox/`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequests {
    smtp_url: Option<Secret>,
    smtp_from: Option<String>,
}

/// `[requests]` checked: the SMTP server for e-mailed codes, if any.
#[derive(Clone)]
pub struct RequestSettings {
    /// The server's URL (credentials inside; never printed) and the
    /// sender address.
    pub smtp: Option<(Secret, String)>,
}

impl fmt::Debug for RequestSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestSettings")
            .field("smtp_from", &self.smtp.as_ref().map(|(_, from)| from))
            .finish_non_exhaustive()
    }
}

/// `[recordings]`: where recordings' encrypted blobs and key-encryption
/// keys live. A local folder of the data directory by default; an
/// S3-compatible bucket when `s3_bucket` is set.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
// Builds without the `vault-transit` feature still parse the Vault settings,
// so a configuration naming them is refused for the missing feature rather
// than for unknown settings; only those builds never read them.
#[cfg_attr(not(feature = "vault-transit"), allow(dead_code))]
struct RawRecordings {
    dir: Option<PathBuf>,
    keys_dir: Option<PathBuf>,
    s3_bucket: Option<String>,
    s3_endpoint: Option<String>,
    s3_region: Option<String>,
    s3_access_key_id: Option<String>,
    s3_secret_access_key: Option<Secret>,
    s3_allow_http: Option<bool>,
    key_provider: Option<String>,
    vault_address: Option<String>,
    vault_token: Option<Secret>,
    vault_mount: Option<String>,
    vault_key_prefix: Option<String>,
    vault_namespace: Option<String>,
}

/// Where recordings go.
#[derive(Clone, Debug)]
pub enum RecordingStore {
    /// A folder (the data directory's `recordings/` unless `recordings.dir`).
    Local(Option<PathBuf>),
    /// An S3-compatible bucket.
    S3(tutela_app::vault::S3Settings),
}

/// What holds the recordings' key-encryption keys.
#[derive(Clone, Debug)]
pub enum RecordingKeys {
    /// Key files in a folder (the data directory's `keys/recordings/`
    /// unless `recordings.keys_dir`).
    Local(Option<PathBuf>),
    /// HashiCorp Vault's transit engine (`key_provider = "vault-transit"`,
    /// builds with the `vault-transit` feature).
    #[cfg(feature = "vault-transit")]
    VaultTransit(tutela_app::vault::TransitSettings),
}

/// `[recordings]` checked.
#[derive(Clone, Debug)]
pub struct RecordingSettings {
    /// The blob store.
    pub store: RecordingStore,
    /// The key-encryption keys.
    pub keys: RecordingKeys,
}

fn recording_settings(
    raw: RawRecordings,
    invalid: &dyn Fn(&str, String) -> ConfigError,
) -> Result<RecordingSettings, ConfigError> {
    let store = match raw.s3_bucket {
        None => RecordingStore::Local(raw.dir),
        Some(bucket) => {
            let need = |value: Option<String>, setting: &str| {
                value.ok_or_else(|| {
                    invalid(
                        setting,
                        "is required when recordings.s3_bucket is set".into(),
                    )
                })
            };
            RecordingStore::S3(tutela_app::vault::S3Settings {
                bucket,
                endpoint: raw.s3_endpoint,
                region: raw.s3_region.unwrap_or_else(|| "us-east-1".into()),
                access_key_id: need(raw.s3_access_key_id, "recordings.s3_access_key_id")?,
                secret_access_key: need(
                    raw.s3_secret_access_key.map(|s| s.expose().to_owned()),
                    "recordings.s3_secret_access_key",
                )?,
                allow_http: raw.s3_allow_http.unwrap_or(false),
            })
        }
    };
    let keys = match raw.key_provider.as_deref() {
        None | Some("local") => RecordingKeys::Local(raw.keys_dir),
        #[cfg(feature = "vault-transit")]
        Some("vault-transit") => {
            let address = raw.vault_address.ok_or_else(|| {
                invalid(
                    "recordings.vault_address",
                    "is required with key_provider = \"vault-transit\"".into(),
                )
            })?;
            let token = raw.vault_token.ok_or_else(|| {
                invalid(
                    "recordings.vault_token",
                    "is required with key_provider = \"vault-transit\"".into(),
                )
            })?;
            RecordingKeys::VaultTransit(tutela_app::vault::TransitSettings {
                address,
                token: token.expose().to_owned(),
                mount: raw.vault_mount.unwrap_or_else(|| "transit".into()),
                key_prefix: raw
                    .vault_key_prefix
                    .unwrap_or_else(|| "tutela-recordings-".into()),
                namespace: raw.vault_namespace,
            })
        }
        #[cfg(not(feature = "vault-transit"))]
        Some("vault-transit") => {
            return Err(invalid(
                "recordings.key_provider",
                "this build has no Vault support: build with `--features vault-transit`".into(),
            ));
        }
        Some(_) => {
            return Err(invalid(
                "recordings.key_provider",
                "must be \"local\" or \"vault-transit\"".into(),
            ));
        }
    };
    Ok(RecordingSettings { store, keys })
}

/// `[consent]`: the operator's table of consent-voiding rules, replacing
/// the defaults (`tutela_domain::default_voiding_rules`) when given.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConsent {
    voiding_rules: Option<Vec<tutela_domain::VoidingRule>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAudit {
    checkpoint_every: Option<u64>,
    workstation_header: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAuth {
    account_failures: Option<u32>,
    address_failures: Option<u32>,
    failure_window_secs: Option<u64>,
    lockout_secs: Option<u64>,
    session_lifetime_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    body_limit_bytes: Option<u64>,
    request_timeout_secs: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert_path: PathBuf,
    key_path: PathBuf,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLog {
    level: Option<String>,
    format: Option<LogFormat>,
}

/// How log lines are written to standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Validated settings. Holding one means every value was checked.
#[derive(Clone)]
pub struct Settings {
    /// Data directory (database, key file, blobs under it by default).
    pub data_dir: PathBuf,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Storage backend.
    pub database: DatabaseUrl,
    /// HTTP limits.
    pub http: HttpSettings,
    /// TLS certificate and key, when serving HTTPS.
    pub tls: Option<TlsFiles>,
    /// Log filter directive (`info`, `tutela=debug,sqlx=warn`, …).
    pub log_level: String,
    /// Log line format.
    pub log_format: LogFormat,
    /// Sign-in throttling, lockout and session lifetime.
    pub login: LoginPolicy,
    /// Events between signed audit checkpoints (`[audit] checkpoint_every`).
    pub audit_checkpoint_every: u64,
    /// Which do-not-call registrations void earlier consents
    /// (`[[consent.voiding_rules]]`; the built-in table when not set).
    pub voiding_rules: Vec<tutela_domain::VoidingRule>,
    /// Directory of calling-rule files replacing the shipped ones, per
    /// country (`rules_dir`); the shipped rules when not set.
    pub rules_dir: Option<PathBuf>,
    /// Letter templates replacing the shipped ones per language
    /// (`letters_dir`); the shipped letters when not set.
    pub letters_dir: Option<PathBuf>,
    /// The erasure journal's file (`erasure_journal`); the data
    /// directory's `journal/erasures.jsonl` when not set.
    pub erasure_journal: Option<PathBuf>,
    /// Where recordings and their key-encryption keys live.
    pub recordings: RecordingSettings,
    /// How data-subject requests reach people.
    pub requests: RequestSettings,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("data_dir", &self.data_dir)
            .field("listen", &self.listen)
            .field("database", &self.database)
            .field("http", &self.http)
            .field("tls", &self.tls)
            .field("log_level", &self.log_level)
            .field("log_format", &self.log_format)
            .field("login", &self.login)
            .field("audit_checkpoint_every", &self.audit_checkpoint_every)
            .field("voiding_rules", &self.voiding_rules)
            .field("rules_dir", &self.rules_dir)
            .field("letters_dir", &self.letters_dir)
            .field("erasure_journal", &self.erasure_journal)
            .field("recordings", &self.recordings)
            .field("requests", &self.requests)
            .finish()
    }
}

/// Where configuration comes from. `main` fills it from the process; tests
/// fill it by hand, so no test has to touch the process environment.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    /// A TOML file; it must exist if named.
    pub file: Option<PathBuf>,
    /// Environment variables (all of them; only `TUTELA_*` are read).
    pub env: Vec<(String, String)>,
    /// Command-line flags as (setting, value), for example `("listen", "0.0.0.0:8080")`.
    pub flags: Vec<(&'static str, String)>,
}

/// A configuration error: which setting, from which source, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A setting has a bad value.
    #[error("configuration: setting `{setting}` (from {origin}): {reason}")]
    Invalid {
        /// Dotted setting name.
        setting: String,
        /// Where the value came from.
        origin: String,
        /// What is wrong.
        reason: String,
    },
    /// A source names a setting that does not exist.
    #[error("configuration: unknown setting `{setting}` (from {origin})")]
    Unknown {
        /// Dotted setting name.
        setting: String,
        /// Where it came from.
        origin: String,
    },
    /// The configuration file cannot be read or parsed.
    #[error("configuration: file {path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

impl Settings {
    /// Loads and validates configuration from `sources`.
    pub fn load(sources: &Sources) -> Result<Self, ConfigError> {
        let figment = figment(sources)?;
        let raw: RawConfig = figment
            .extract()
            .map_err(|e| extraction_error(&figment, e))?;
        validate(&figment, raw)
    }
}

fn figment(sources: &Sources) -> Result<Figment, ConfigError> {
    let mut figment = Figment::new();
    if let Some(path) = &sources.file {
        if !path.is_file() {
            return Err(ConfigError::File {
                path: path.display().to_string(),
                reason: "no such file".into(),
            });
        }
        figment = figment.merge(Toml::file(path));
    }
    let env = sources
        .env
        .iter()
        .filter(|(name, _)| name.starts_with(ENV_PREFIX) && !is_reserved_env(name))
        .filter_map(|(name, value)| {
            let key = name
                .strip_prefix(ENV_PREFIX)?
                .to_ascii_lowercase()
                .replace("__", ".");
            Some((key, value.clone()))
        })
        .collect();
    figment = figment.merge(Layer::environment(env));
    let flags = sources
        .flags
        .iter()
        .map(|(key, value)| ((*key).to_owned(), value.clone()))
        .collect();
    Ok(figment.merge(Layer::command_line(flags)))
}

/// Environment variables or command-line flags as a figment provider that
/// names each key as the operator wrote it.
struct Layer {
    metadata: Metadata,
    entries: Vec<(String, String)>,
}

impl Layer {
    fn environment(entries: Vec<(String, String)>) -> Self {
        Self {
            metadata: Metadata::named("environment variable").interpolater(
                |_: &Profile, keys: &[&str]| {
                    format!("{ENV_PREFIX}{}", keys.join("__").to_ascii_uppercase())
                },
            ),
            entries,
        }
    }

    fn command_line(entries: Vec<(String, String)>) -> Self {
        Self {
            metadata: Metadata::named("command-line flag").interpolater(
                |_: &Profile, keys: &[&str]| format!("--{}", keys.join("-").replace('_', "-")),
            ),
            entries,
        }
    }
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        self.metadata.clone()
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut dict = Dict::new();
        for (key, value) in &self.entries {
            // Same value parsing as figment's own environment provider:
            // "8080" becomes a number, "true" a boolean.
            let value: Value = value.parse().unwrap_or_else(|_| Value::from(value.clone()));
            if let Some(nested) = figment::util::nest(key, value).into_dict() {
                merge_into(&mut dict, nested);
            }
        }
        Ok(Profile::Default.collect(dict))
    }
}

fn merge_into(into: &mut Dict, from: Dict) {
    for (key, value) in from {
        match (into.get_mut(&key), value) {
            (Some(Value::Dict(_, existing)), Value::Dict(_, incoming)) => {
                merge_into(existing, incoming)
            }
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

/// Describes where `setting` came from, as the operator would look for it.
fn origin(figment: &Figment, setting: &str) -> String {
    match figment.find_metadata(setting) {
        Some(metadata) => describe(metadata, setting),
        None => "built-in default".into(),
    }
}

fn describe(metadata: &Metadata, setting: &str) -> String {
    match &metadata.source {
        Some(Source::File(path)) => format!("file {}", path.display()),
        _ => {
            let keys: Vec<&str> = setting.split('.').collect();
            format!(
                "{} {}",
                metadata.name,
                metadata.interpolate(&Profile::Default, &keys)
            )
        }
    }
}

fn extraction_error(figment: &Figment, error: figment::Error) -> ConfigError {
    use figment::error::Kind;
    let path = error.path.join(".");
    let origin_of = |setting: &str| match &error.metadata {
        Some(metadata) => describe(metadata, setting),
        None => origin(figment, setting),
    };
    match &error.kind {
        Kind::UnknownField(name, _) => {
            // figment's path already ends with the unknown key.
            let setting = if path.is_empty() {
                name.clone()
            } else {
                path.clone()
            };
            ConfigError::Unknown {
                origin: origin_of(&setting),
                setting,
            }
        }
        kind => {
            // Describe what was expected, never the value found: it may be a secret.
            let reason = match kind {
                Kind::InvalidType(_, expected) | Kind::InvalidValue(_, expected) => {
                    format!("invalid value, expected {expected}")
                }
                Kind::UnknownVariant(_, expected) => {
                    format!("must be one of: {}", expected.join(", "))
                }
                Kind::MissingField(field) => format!("`{field}` is required here"),
                Kind::Message(message) => without_quoted_source(message),
                _ => "invalid value".into(),
            };
            if let (true, Some(Source::File(file))) = (
                path.is_empty(),
                error.metadata.as_ref().and_then(|m| m.source.as_ref()),
            ) {
                return ConfigError::File {
                    path: file.display().to_string(),
                    reason,
                };
            }
            ConfigError::Invalid {
                origin: origin_of(&path),
                setting: path,
                reason,
            }
        }
    }
}

/// A TOML parse error quotes the offending line, which may hold the database
/// password. Keep the position (first line) and the reason (last line) only.
fn without_quoted_source(message: &str) -> String {
    let mut lines = message.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or_default();
    match lines.next_back() {
        Some(last) if !last.contains('|') => format!("{first}: {last}"),
        _ => first.to_owned(),
    }
}

/// Default data directory, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = "./tutela-data";
/// Default listen address: loopback only, so a first start exposes nothing.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

fn validate(figment: &Figment, raw: RawConfig) -> Result<Settings, ConfigError> {
    let invalid = |setting: &str, reason: String| ConfigError::Invalid {
        setting: setting.to_owned(),
        origin: origin(figment, setting),
        reason,
    };
    let data_dir = raw
        .data_dir
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    if data_dir.as_os_str().is_empty() {
        return Err(invalid("data_dir", "must not be empty".into()));
    }
    let listen = match raw.listen {
        Some(listen) => listen,
        None => DEFAULT_LISTEN
            .parse()
            .map_err(|_| invalid("listen", "built-in default does not parse".into()))?,
    };
    let database = match &raw.database_url {
        Some(url) => {
            DatabaseUrl::parse(url.expose()).map_err(|e| invalid("database_url", e.to_string()))?
        }
        None => DatabaseUrl::sqlite(data_dir.join(crate::data_dir::DATABASE_FILE)),
    };
    let body_limit = raw.http.body_limit_bytes.unwrap_or(1024 * 1024);
    if !(1024..=1024 * 1024 * 1024).contains(&body_limit) {
        return Err(invalid(
            "http.body_limit_bytes",
            "must be between 1024 and 1073741824".into(),
        ));
    }
    let timeout = raw.http.request_timeout_secs.unwrap_or(30);
    if !(1..=3600).contains(&timeout) {
        return Err(invalid(
            "http.request_timeout_secs",
            "must be between 1 and 3600".into(),
        ));
    }
    let tls = match raw.tls {
        Some(tls) => {
            for (setting, path) in [
                ("tls.cert_path", &tls.cert_path),
                ("tls.key_path", &tls.key_path),
            ] {
                if !path.is_file() {
                    return Err(invalid(
                        setting,
                        format!("{}: no such file", path.display()),
                    ));
                }
            }
            Some(TlsFiles {
                cert_path: tls.cert_path,
                key_path: tls.key_path,
            })
        }
        None => None,
    };
    let log_level = raw.log.level.unwrap_or_else(|| "info".into());
    tracing_subscriber::EnvFilter::try_new(&log_level)
        .map_err(|e| invalid("log.level", format!("not a valid filter: {e}")))?;
    let login = login_policy(&raw.auth, &invalid)?;
    let audit_checkpoint_every = raw
        .audit
        .checkpoint_every
        .unwrap_or(tutela_app::audit::DEFAULT_CHECKPOINT_EVERY);
    if !(1..=1_000_000).contains(&audit_checkpoint_every) {
        return Err(invalid(
            "audit.checkpoint_every",
            "must be between 1 and 1000000".into(),
        ));
    }
    let workstation_header = raw
        .audit
        .workstation_header
        .map(|h| {
            axum_header_name(&h).ok_or_else(|| {
                invalid(
                    "audit.workstation_header",
                    "must be an HTTP header name, for example x-workstation-id".into(),
                )
            })
        })
        .transpose()?;
    let voiding_rules = raw
        .consent
        .voiding_rules
        .unwrap_or_else(tutela_domain::default_voiding_rules);
    if let Some(i) = voiding_rules.iter().position(|r| r.channels.is_empty()) {
        return Err(invalid(
            &format!("consent.voiding_rules[{i}].channels"),
            "must name at least one channel".into(),
        ));
    }
    let recordings = recording_settings(raw.recordings, &invalid)?;
    let requests = RequestSettings {
        smtp: match (raw.requests.smtp_url, raw.requests.smtp_from) {
            (None, None) => None,
            (Some(url), Some(from)) => Some((url, from)),
            (Some(_), None) => {
                return Err(invalid(
                    "requests.smtp_from",
                    "is required when requests.smtp_url is set".into(),
                ));
            }
            (None, Some(_)) => {
                return Err(invalid(
                    "requests.smtp_url",
                    "is required when requests.smtp_from is set".into(),
                ));
            }
        },
    };
    Ok(Settings {
        recordings,
        requests,
        login,
        audit_checkpoint_every,
        voiding_rules,
        rules_dir: raw.rules_dir,
        letters_dir: raw.letters_dir,
        erasure_journal: raw.erasure_journal,
        data_dir,
        listen,
        database,
        http: HttpSettings {
            body_limit_bytes: usize::try_from(body_limit).map_err(|_| {
                invalid("http.body_limit_bytes", "too large for this machine".into())
            })?,
            request_timeout: Duration::from_secs(timeout),
            hsts: tls.is_some(),
            workstation_header,
        },
        tls,
        log_level,
        log_format: raw.log.format.unwrap_or_default(),
    })
}

/// A header name as the server uses it (lower case, token characters).
fn axum_header_name(name: &str) -> Option<tutela_server::HeaderName> {
    tutela_server::HeaderName::from_bytes(name.trim().to_ascii_lowercase().as_bytes()).ok()
}

/// The sign-in policy from `[auth]`, each value bounded so that a typo
/// cannot switch protection off (a threshold of 0, a lock of 0 seconds).
fn login_policy(
    raw: &RawAuth,
    invalid: &dyn Fn(&str, String) -> ConfigError,
) -> Result<LoginPolicy, ConfigError> {
    let defaults = LoginPolicy::default();
    let count = |setting: &str, value: Option<u32>, default: u32, max: u32| {
        let value = value.unwrap_or(default);
        if (1..=max).contains(&value) {
            Ok(value)
        } else {
            Err(invalid(setting, format!("must be between 1 and {max}")))
        }
    };
    let seconds = |setting: &str,
                   value: Option<u64>,
                   default: SignedDuration,
                   min: u64,
                   max: u64| {
        match value {
            None => Ok(default),
            Some(v) if (min..=max).contains(&v) => i64::try_from(v)
                .map(SignedDuration::from_secs)
                .map_err(|_| invalid(setting, "too large".into())),
            Some(_) => Err(invalid(setting, format!("must be between {min} and {max}"))),
        }
    };
    Ok(LoginPolicy {
        account_failures: count(
            "auth.account_failures",
            raw.account_failures,
            defaults.account_failures,
            100,
        )?,
        address_failures: count(
            "auth.address_failures",
            raw.address_failures,
            defaults.address_failures,
            100_000,
        )?,
        failure_window: seconds(
            "auth.failure_window_secs",
            raw.failure_window_secs,
            defaults.failure_window,
            60,
            86_400,
        )?,
        lockout: seconds(
            "auth.lockout_secs",
            raw.lockout_secs,
            defaults.lockout,
            60,
            86_400,
        )?,
        session_lifetime: seconds(
            "auth.session_lifetime_secs",
            raw.session_lifetime_secs,
            defaults.session_lifetime,
            300,
            7 * 86_400,
        )?,
    })
}

impl Settings {
    /// The data directory, prepared (created on first start).
    pub fn prepare_data_dir(&self) -> Result<DataDir, crate::data_dir::DataDirError> {
        DataDir::prepare(Path::new(&self.data_dir))
    }
}
