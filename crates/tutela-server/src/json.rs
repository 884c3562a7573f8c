//! A JSON body extractor that refuses what it does not understand and says
//! which field is wrong, without echoing the value (it may be personal data).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::ApiError;

/// Like `axum::Json`, but errors are [`ApiError`]s with codes
/// `unsupported_media_type`, `payload_too_large`, `malformed_json`,
/// `unknown_field`, `missing_field` or `invalid_field`. Request types are
/// expected to use `#[serde(deny_unknown_fields)]`.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim();
                mime.eq_ignore_ascii_case("application/json")
                    || (mime.starts_with("application/") && mime.ends_with("+json"))
            });
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "request body must be JSON with `content-type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "request body is larger than this endpoint accepts",
                )
            } else {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "unreadable_body",
                    "request body could not be read",
                )
                .with_detail(rejection.body_text())
            }
        })?;
        parse(&bytes).map(ApiJson)
    }
}

/// Deserialises `bytes`, turning serde's error into a field-naming [`ApiError`].
pub(crate) fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(json_error)?;
    de.end().map_err(|e| syntax_error(&e))?;
    Ok(value)
}

fn json_error(error: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = error.path().to_string();
    let inner = error.into_inner();
    if !inner.is_data() {
        return syntax_error(&inner);
    }
    // serde_json appends " at line L column C"; the position is useful, the
    // text before it is classified below so that values are never echoed.
    let text = inner.to_string();
    let text = text.split(" at line ").next().unwrap_or_default();
    let named = |prefix: &str| {
        text.strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned)
    };
    // serde_path_to_error's path ends with the offending key for unknown
    // fields but stops at the parent for missing ones.
    let join = |parent: &str, name: &str| {
        if parent == "." || parent.is_empty() {
            name.to_owned()
        } else if parent == name || parent.ends_with(&format!(".{name}")) {
            parent.to_owned()
        } else {
            format!("{parent}.{name}")
        }
    };
    if let Some(name) = named("unknown field `") {
        let field = join(&path, &name);
        // The key came from the client and could be anything, a phone number
        // included: repeat it only if it looks like a field name.
        if !looks_like_field_name(&field) {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                "unknown_field",
                "the body has a field that is not known here; nothing was changed",
            );
        }
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            "unknown_field",
            format!("field `{field}` is not known here; nothing was changed"),
        )
        .with_field(field);
    }
    if let Some(name) = named("missing field `") {
        let field = join(&path, &name);
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            "missing_field",
            format!("field `{field}` is required"),
        )
        .with_field(field);
    }
    // "invalid type: string \"…\", expected u32": keep only what was expected.
    // A domain type's own reason ("must be six digits") quotes no value and
    // is shown as it is.
    let expected = match text.split_once(", expected ") {
        Some((_, expected)) => format!(": expected {expected}"),
        None if is_domain_reason(text) => format!(": {text}"),
        None => String::new(),
    };
    let field = if path == "." || !looks_like_field_name(&path) {
        "body".to_owned()
    } else {
        path
    };
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_field",
        format!("field `{field}` has the wrong type or value{expected}"),
    )
    .with_field(field)
}

/// Reasons of `tutela_domain::InvalidValue` start like this and never quote
/// the value; serde's own messages quote it, so they are not repeated.
fn is_domain_reason(text: &str) -> bool {
    ["must ", "may ", "is "].iter().any(|p| text.starts_with(p)) && !text.contains(['"', '`', '\''])
}

/// Field paths as our schemas spell them: `a-z 0-9 _`, dots and `[n]`.
fn looks_like_field_name(path: &str) -> bool {
    (1..=128).contains(&path.len())
        && path
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.[]".contains(&b))
}

fn syntax_error(error: &serde_json::Error) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "malformed_json",
        format!(
            "request body is not valid JSON (line {}, column {})",
            error.line(),
            error.column()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        age: u32,
        inner: Option<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        flag: bool,
    }

    fn err(body: &str) -> ApiError {
        parse::<Outer>(body.as_bytes()).unwrap_err()
    }

    #[test]
    fn names_unknown_and_missing_fields() {
        let e = err(r#"{"name":"x","age":1,"nmae":"y"}"#);
        assert_eq!(
            (e.body.code, e.body.field.as_deref()),
            ("unknown_field", Some("nmae"))
        );
        let e = err(r#"{"name":"x","age":1,"inner":{"flag":true,"extra":1}}"#);
        assert_eq!(e.body.field.as_deref(), Some("inner.extra"));
        let e = err(r#"{"name":"x"}"#);
        assert_eq!(
            (e.body.code, e.body.field.as_deref()),
            ("missing_field", Some("age"))
        );
    }

    #[test]
    fn unknown_keys_that_are_not_field_names_are_not_repeated() {
        let e = err(r#"{"name":"x","age":1,"+39 347 1234567":1}"#);
        assert_eq!(e.body.code, "unknown_field");
        assert_eq!(e.body.field, None);
        assert!(!e.body.message.contains("347"), "{}", e.body.message);
    }

    #[test]
    fn wrong_types_name_the_field_but_not_the_value() {
        let e = err(r#"{"name":"x","age":"Mario Rossi"}"#);
        assert_eq!(
            (e.body.code, e.body.field.as_deref()),
            ("invalid_field", Some("age"))
        );
        assert!(!e.body.message.contains("Mario"), "{}", e.body.message);
        assert!(
            e.body.message.contains("expected u32"),
            "{}",
            e.body.message
        );
    }

    #[test]
    fn syntax_errors_are_malformed_json() {
        for body in [
            r#"{"name": "#,
            "not json",
            r#"{"name":"x","age":1} trailing"#,
        ] {
            assert_eq!(err(body).body.code, "malformed_json", "{body}");
        }
    }
}
