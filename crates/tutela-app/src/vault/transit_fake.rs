//! A stand-in for Vault's transit engine on loopback, for tests: the five
//! endpoints the provider calls, with Vault's answers and error messages
//! (keys versioned, `min_decryption_version`, trimming, associated data,
//! the token checked). No network beyond 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use serde_json::{Value, json};

/// The token the fake accepts.
pub const TOKEN: &str = "s.fake-root-token";

#[derive(Default)]
struct Key {
    versions: BTreeMap<u32, [u8; 32]>,
    min_decryption_version: u32,
}

impl Key {
    fn created() -> Self {
        let mut key = Self {
            min_decryption_version: 1,
            ..Self::default()
        };
        key.add_version();
        key
    }

    fn add_version(&mut self) -> u32 {
        let next = self.versions.keys().last().map_or(1, |v| v + 1);
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).unwrap();
        self.versions.insert(next, bytes);
        next
    }

    fn latest(&self) -> u32 {
        *self.versions.keys().last().unwrap()
    }
}

type Keys = Arc<Mutex<HashMap<String, Key>>>;

fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({"errors": [message]}))).into_response()
}

fn data(value: Value) -> Response {
    axum::Json(json!({"data": value})).into_response()
}

fn authorised(headers: &HeaderMap) -> bool {
    headers.get("X-Vault-Token").and_then(|v| v.to_str().ok()) == Some(TOKEN)
}

fn aead(bytes: &[u8; 32]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, bytes).unwrap())
}

fn field(body: &Value, name: &str) -> Vec<u8> {
    body.get(name)
        .and_then(Value::as_str)
        .map(|s| BASE64.decode(s).unwrap())
        .unwrap_or_default()
}

async fn create(
    State(keys): State<Keys>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    if !authorised(&headers) {
        return error(StatusCode::FORBIDDEN, "permission denied");
    }
    keys.lock()
        .unwrap()
        .entry(name)
        .or_insert_with(Key::created);
    StatusCode::NO_CONTENT.into_response()
}

async fn read(State(keys): State<Keys>, headers: HeaderMap, Path(name): Path<String>) -> Response {
    if !authorised(&headers) {
        return error(StatusCode::FORBIDDEN, "permission denied");
    }
    match keys.lock().unwrap().get(&name) {
        Some(key) => data(json!({"latest_version": key.latest(), "type": "aes256-gcm96"})),
        None => error(StatusCode::NOT_FOUND, "key not found"),
    }
}

async fn key_action(
    State(keys): State<Keys>,
    headers: HeaderMap,
    Path((name, action)): Path<(String, String)>,
    body: Option<axum::Json<Value>>,
) -> Response {
    if !authorised(&headers) {
        return error(StatusCode::FORBIDDEN, "permission denied");
    }
    let body = body.map(|b| b.0).unwrap_or(Value::Null);
    let mut keys = keys.lock().unwrap();
    let Some(key) = keys.get_mut(&name) else {
        return error(StatusCode::BAD_REQUEST, "encryption key not found");
    };
    match action.as_str() {
        "rotate" => {
            key.add_version();
            data(json!({"latest_version": key.latest()}))
        }
        "config" => {
            key.min_decryption_version = body["min_decryption_version"].as_u64().unwrap() as u32;
            StatusCode::NO_CONTENT.into_response()
        }
        "trim" => {
            let from = body["min_available_version"].as_u64().unwrap() as u32;
            if from > key.min_decryption_version {
                return error(
                    StatusCode::BAD_REQUEST,
                    "minimum available version cannot be greater than minimum decryption version",
                );
            }
            key.versions.retain(|v, _| *v >= from);
            StatusCode::NO_CONTENT.into_response()
        }
        _ => error(StatusCode::NOT_FOUND, "unsupported path"),
    }
}

async fn encrypt(
    State(keys): State<Keys>,
    headers: HeaderMap,
    Path(name): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if !authorised(&headers) {
        return error(StatusCode::FORBIDDEN, "permission denied");
    }
    let mut keys = keys.lock().unwrap();
    let key = keys.entry(name).or_insert_with(Key::created);
    let version = key.latest();
    let mut nonce = [0u8; 12];
    getrandom::fill(&mut nonce).unwrap();
    let mut buffer = field(&body, "plaintext");
    aead(&key.versions[&version])
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(field(&body, "associated_data")),
            &mut buffer,
        )
        .unwrap();
    let mut sealed = nonce.to_vec();
    sealed.extend_from_slice(&buffer);
    data(json!({
        "ciphertext": format!("vault:v{version}:{}", BASE64.encode(sealed)),
        "key_version": version,
    }))
}

async fn decrypt(
    State(keys): State<Keys>,
    headers: HeaderMap,
    Path(name): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if !authorised(&headers) {
        return error(StatusCode::FORBIDDEN, "permission denied");
    }
    let keys = keys.lock().unwrap();
    let Some(key) = keys.get(&name) else {
        return error(StatusCode::BAD_REQUEST, "encryption key not found");
    };
    let ciphertext = body["ciphertext"].as_str().unwrap_or_default();
    let Some((version, sealed)) = ciphertext
        .strip_prefix("vault:v")
        .and_then(|rest| rest.split_once(':'))
    else {
        return error(StatusCode::BAD_REQUEST, "invalid ciphertext: no prefix");
    };
    let version: u32 = version.parse().unwrap();
    let too_old = "ciphertext or signature version is disallowed by policy (too old)";
    if version < key.min_decryption_version {
        return error(StatusCode::BAD_REQUEST, too_old);
    }
    let Some(bytes) = key.versions.get(&version) else {
        return error(StatusCode::BAD_REQUEST, too_old);
    };
    let mut sealed = BASE64.decode(sealed).unwrap();
    let (nonce, rest) = sealed.split_at_mut(12);
    let nonce = Nonce::try_assume_unique_for_key(nonce).unwrap();
    match aead(bytes).open_in_place(nonce, Aad::from(field(&body, "associated_data")), rest) {
        Ok(plain) => data(json!({"plaintext": BASE64.encode(plain)})),
        Err(_) => error(
            StatusCode::BAD_REQUEST,
            "cipher: message authentication failed",
        ),
    }
}

/// Starts the fake on a loopback port; returns its address
/// (`http://127.0.0.1:N`). It runs until the test's runtime ends.
pub async fn start() -> String {
    let keys: Keys = Arc::default();
    let app = Router::new()
        .route("/v1/transit/keys/{name}", post(create).get(read))
        .route("/v1/transit/keys/{name}/{action}", post(key_action))
        .route("/v1/transit/encrypt/{name}", post(encrypt))
        .route("/v1/transit/decrypt/{name}", post(decrypt))
        .with_state(keys);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}
