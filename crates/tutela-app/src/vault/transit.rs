//! HashiCorp Vault's transit engine as the key-encryption key provider
//! (cargo feature `vault-transit`): each controller's KEK is a transit key
//! (`<prefix><controller id>`, AES-256-GCM) that never leaves Vault. Data
//! keys are wrapped by `encrypt` and unwrapped by `decrypt`, bound to the
//! controller and recording through transit's associated data (Vault 1.13
//! and later), so a wrapped key copied to another recording does not open.
//! Rotation is transit's `rotate`; retirement raises the key's
//! `min_decryption_version` and trims the older versions, which destroys
//! them.
//!
//! Written against the HTTP API with the HTTP client already in the build:
//! the Rust Vault clients on crates.io bring their own HTTP stack and TLS
//! choices for the four calls used here.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};
use tutela_domain::ControllerId;
use tutela_storage::WrappedKey;

use super::key_provider::{KeyProvider, wrap_aad};
use crate::AppError;
use crate::sealed_stream::DataKey;

/// Where the transit engine is and how to reach it.
#[derive(Clone)]
pub struct TransitSettings {
    /// Vault's address (`https://vault.internal:8200`).
    pub address: String,
    /// A token allowed to use the transit keys below (never printed).
    pub token: String,
    /// The engine's mount path (`transit` by default).
    pub mount: String,
    /// Prefix of the keys' names (`tutela-recordings-` by default).
    pub key_prefix: String,
    /// A Vault Enterprise namespace, when used.
    pub namespace: Option<String>,
}

impl fmt::Debug for TransitSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransitSettings")
            .field("address", &self.address)
            .field("mount", &self.mount)
            .field("key_prefix", &self.key_prefix)
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

/// KEKs held by Vault's transit engine.
pub struct VaultTransit {
    settings: TransitSettings,
    http: reqwest::Client,
}

impl fmt::Debug for VaultTransit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultTransit")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Vault's answer to a decryption under a version below the key's
/// `min_decryption_version` or trimmed away.
const TOO_OLD: &str = "disallowed by policy";

fn transit_error(operation: &str, detail: impl fmt::Display) -> AppError {
    AppError::internal(format!("vault transit {operation}: {detail}"))
}

impl VaultTransit {
    /// A provider talking to the transit engine described by `settings`.
    pub fn new(settings: TransitSettings) -> Result<Self, AppError> {
        // Vault over HTTPS needs the crypto provider the rest of the
        // process uses; installing it twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| transit_error("client", e))?;
        Ok(Self { settings, http })
    }

    fn key_name(&self, controller: ControllerId) -> String {
        format!("{}{controller}", self.settings.key_prefix)
    }

    fn url(&self, path: &str) -> String {
        format!(
            "{}/v1/{}/{path}",
            self.settings.address.trim_end_matches('/'),
            self.settings.mount.trim_matches('/')
        )
    }

    /// One call to Vault; the answer's `data` object, or an error naming
    /// the operation, the status and Vault's own messages (which never
    /// carry key material).
    async fn call(
        &self,
        operation: &'static str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, TransitFailure> {
        let mut request = self
            .http
            .request(method, self.url(path))
            .header("X-Vault-Token", &self.settings.token);
        if let Some(namespace) = &self.settings.namespace {
            request = request.header("X-Vault-Namespace", namespace);
        }
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_string());
        }
        let response = request
            .send()
            .await
            .map_err(|e| TransitFailure::Unreachable(operation, e.without_url().to_string()))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| TransitFailure::Unreachable(operation, e.without_url().to_string()))?;
        let answer: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).map_err(|_| {
                TransitFailure::Refused(
                    operation,
                    status.as_u16(),
                    "an answer that is not JSON".into(),
                )
            })?
        };
        if !status.is_success() {
            let errors = answer
                .get("errors")
                .and_then(Value::as_array)
                .map(|errors| {
                    errors
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .unwrap_or_default();
            return Err(TransitFailure::Refused(operation, status.as_u16(), errors));
        }
        Ok(answer.get("data").cloned().unwrap_or(Value::Null))
    }

    /// The key's newest version (creating the key when missing).
    async fn latest_version(&self, controller: ControllerId) -> Result<u32, AppError> {
        let name = self.key_name(controller);
        let data = self
            .call(
                "read key",
                reqwest::Method::GET,
                &format!("keys/{name}"),
                None,
            )
            .await?;
        data.get("latest_version")
            .and_then(Value::as_u64)
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| transit_error("read key", "no latest_version in the answer"))
    }

    async fn ensure_key(&self, controller: ControllerId) -> Result<(), AppError> {
        let name = self.key_name(controller);
        self.call(
            "create key",
            reqwest::Method::POST,
            &format!("keys/{name}"),
            Some(json!({"type": "aes256-gcm96"})),
        )
        .await?;
        Ok(())
    }
}

/// Why a call to Vault failed.
enum TransitFailure {
    /// No answer (connection, timeout).
    Unreachable(&'static str, String),
    /// Vault answered with an error status and these messages.
    Refused(&'static str, u16, String),
}

impl From<TransitFailure> for AppError {
    fn from(failure: TransitFailure) -> Self {
        match failure {
            TransitFailure::Unreachable(operation, detail) => {
                transit_error(operation, format!("Vault unreachable ({detail})"))
            }
            TransitFailure::Refused(operation, status, errors) => {
                transit_error(operation, format!("HTTP {status}: {errors}"))
            }
        }
    }
}

/// The version in a transit ciphertext (`vault:v3:…`).
fn ciphertext_version(ciphertext: &str) -> Option<u32> {
    ciphertext
        .strip_prefix("vault:v")?
        .split_once(':')?
        .0
        .parse()
        .ok()
}

#[async_trait]
impl KeyProvider for VaultTransit {
    fn name(&self) -> &'static str {
        "vault-transit"
    }

    async fn wrap(
        &self,
        controller: ControllerId,
        key: &DataKey,
        context: &[u8],
    ) -> Result<WrappedKey, AppError> {
        let name = self.key_name(controller);
        // `type` lets encrypt create the key on first use (Vault's upsert).
        let data = self
            .call(
                "encrypt",
                reqwest::Method::POST,
                &format!("encrypt/{name}"),
                Some(json!({
                    "type": "aes256-gcm96",
                    "plaintext": BASE64.encode(key.as_bytes()),
                    "associated_data": BASE64.encode(wrap_aad(controller, context)),
                })),
            )
            .await?;
        let ciphertext = data
            .get("ciphertext")
            .and_then(Value::as_str)
            .ok_or_else(|| transit_error("encrypt", "no ciphertext in the answer"))?;
        let kek_version = ciphertext_version(ciphertext)
            .ok_or_else(|| transit_error("encrypt", "a ciphertext without a key version"))?;
        Ok(WrappedKey {
            kek_version,
            wrapped: ciphertext.as_bytes().to_vec(),
        })
    }

    async fn unwrap(
        &self,
        controller: ControllerId,
        wrapped: &WrappedKey,
        context: &[u8],
    ) -> Result<DataKey, AppError> {
        let name = self.key_name(controller);
        let ciphertext = std::str::from_utf8(&wrapped.wrapped).map_err(|_| {
            transit_error("decrypt", "a wrapped key that is not a transit ciphertext")
        })?;
        let data = match self
            .call(
                "decrypt",
                reqwest::Method::POST,
                &format!("decrypt/{name}"),
                Some(json!({
                    "ciphertext": ciphertext,
                    "associated_data": BASE64.encode(wrap_aad(controller, context)),
                })),
            )
            .await
        {
            Ok(data) => data,
            Err(TransitFailure::Refused(_, 400, errors)) if errors.contains(TOO_OLD) => {
                return Err(AppError::KeyDestroyed);
            }
            Err(e) => return Err(e.into()),
        };
        let plain = data
            .get("plaintext")
            .and_then(Value::as_str)
            .and_then(|p| BASE64.decode(p).ok())
            .ok_or_else(|| transit_error("decrypt", "no plaintext in the answer"))?;
        let bytes: [u8; 32] = plain
            .try_into()
            .map_err(|_| transit_error("decrypt", "the data key is not 256 bits"))?;
        Ok(DataKey::from_bytes(bytes))
    }

    async fn rotate(&self, controller: ControllerId) -> Result<u32, AppError> {
        self.ensure_key(controller).await?;
        let name = self.key_name(controller);
        self.call(
            "rotate",
            reqwest::Method::POST,
            &format!("keys/{name}/rotate"),
            None,
        )
        .await?;
        self.latest_version(controller).await
    }

    async fn retire(&self, controller: ControllerId, keep_from: u32) -> Result<(), AppError> {
        let name = self.key_name(controller);
        self.call(
            "retire",
            reqwest::Method::POST,
            &format!("keys/{name}/config"),
            Some(json!({"min_decryption_version": keep_from})),
        )
        .await?;
        // Trimming deletes the versions below: archived versions could
        // otherwise be brought back by raising the setting again.
        self.call(
            "trim",
            reqwest::Method::POST,
            &format!("keys/{name}/trim"),
            Some(json!({"min_available_version": keep_from})),
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::vault::transit_fake;

    fn settings(address: String, token: &str) -> TransitSettings {
        TransitSettings {
            address,
            token: token.into(),
            mount: "transit".into(),
            key_prefix: "tutela-recordings-".into(),
            namespace: None,
        }
    }

    #[tokio::test]
    async fn transit_keeps_the_provider_contract() {
        let address = transit_fake::start().await;
        let transit = VaultTransit::new(settings(address, transit_fake::TOKEN)).unwrap();
        super::super::key_provider::provider_contract(&transit).await;
    }

    #[tokio::test]
    async fn a_refused_token_is_an_error_that_names_the_call_and_not_the_token() {
        let address = transit_fake::start().await;
        let transit = VaultTransit::new(settings(address, "s.wrong")).unwrap();
        let key = DataKey::generate().unwrap();
        let error = transit
            .wrap(ControllerId::generate(), &key, b"rec-1")
            .await
            .unwrap_err();
        let detail = error.detail();
        assert!(
            detail.contains("encrypt") && detail.contains("403"),
            "{detail}"
        );
        assert!(!detail.contains("s.wrong"), "{detail}");
        assert!(!format!("{transit:?}").contains("s.wrong"));
    }

    #[tokio::test]
    async fn an_unreachable_vault_is_an_error() {
        // A port nothing listens on: bound, then released.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let transit = VaultTransit::new(settings(address, transit_fake::TOKEN)).unwrap();
        let key = DataKey::generate().unwrap();
        let error = transit
            .wrap(ControllerId::generate(), &key, b"rec-1")
            .await
            .unwrap_err();
        assert!(error.detail().contains("unreachable"), "{}", error.detail());
    }

    #[test]
    fn the_version_is_read_from_the_ciphertext() {
        assert_eq!(ciphertext_version("vault:v1:abc"), Some(1));
        assert_eq!(ciphertext_version("vault:v12:abc"), Some(12));
        assert_eq!(ciphertext_version("vault:x1:abc"), None);
        assert_eq!(ciphertext_version("vault:v1"), None);
    }
}
