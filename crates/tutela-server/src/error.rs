//! The API's error model: one JSON shape, stable codes, the right status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tutela_app::AppError;
use tutela_domain::{AccessDenied, AuthError, DomainError};
use tutela_storage::StorageError;
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, for example `unknown_field`.
    pub code: &'static str,
    /// What went wrong, for people. Never contains personal data.
    pub message: String,
    /// The request field the error is about, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The id of the request, to quote when reporting a problem; the server
    /// log has the details under the same id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// An error on its way to becoming a response. `detail` goes to the log
/// (with the request id), never to the client.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// What the client sees.
    pub body: ErrorBody,
    /// What the operator's log sees; no personal data.
    pub detail: Option<String>,
}

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody {
                code,
                message: message.into(),
                field: None,
                request_id: None,
            },
            detail: None,
        }
    }

    /// The same error, about `field`.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.body.field = Some(field.into());
        self
    }

    /// The same error, with a detail for the log.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// 400 for a field that failed to parse.
    pub fn invalid_field(field: &str, reason: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_field",
            format!("field `{field}` is invalid: {reason}"),
        )
        .with_field(field)
    }

    /// 404 for a path that names nothing.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such resource")
    }

    /// 500 for a failure inside the server.
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; nothing was changed",
        )
        .with_detail(detail)
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        let status = match &error {
            // Outside the caller's scope and missing look exactly the same.
            AppError::Access(AccessDenied::NotFound) | AppError::NotFound => {
                return Self::not_found();
            }
            AppError::Domain(DomainError::InvalidSetupToken) => StatusCode::UNAUTHORIZED,
            AppError::Domain(DomainError::SetupAlreadyComplete) => StatusCode::CONFLICT,
            AppError::Access(_) => StatusCode::FORBIDDEN,
            AppError::Auth(AuthError::Throttled { .. }) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Auth(_) => StatusCode::UNAUTHORIZED,
            AppError::Invalid { .. } => StatusCode::BAD_REQUEST,
            AppError::Conflict { .. } | AppError::Storage(StorageError::Conflict { .. }) => {
                StatusCode::CONFLICT
            }
            AppError::Refused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::QuotaExhausted { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::KeyDestroyed => StatusCode::GONE,
            AppError::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            AppError::VaultNotConfigured | AppError::DeliveryNotConfigured => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            // A storage failure is never the client's fault and never an
            // empty answer: 500, with details in the log under the request id.
            AppError::Storage(_) | AppError::Internal { .. } | AppError::Damaged { .. } => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let mut api = Self::new(status, error.code(), error.message()).with_detail(error.detail());
        api.body.field = error.field().map(str::to_owned);
        api
    }
}

impl IntoResponse for ApiError {
    /// Sets the status and carries the error in the response extensions; the
    /// `observe` middleware, which every route passes through, renders the
    /// body once, with the request id, and logs the detail.
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        response.extensions_mut().insert(self);
        response
    }
}
