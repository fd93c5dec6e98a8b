//! The API's errors: `{"error":{"code":..,"message":..}}` with CORE.md's codes. Messages are
//! written for operators and never carry a token, a TOTP secret or a code.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Unauthorized,
    Forbidden,
    NotFound,
    InvalidRequest,
    NodeOffline,
    NodeLegacyProtocol,
    Conflict,
    PayloadTooLarge,
    Unavailable,
}

impl Code {
    pub const fn as_str(self) -> &'static str {
        match self {
            Code::Unauthorized => "unauthorized",
            Code::Forbidden => "forbidden",
            Code::NotFound => "not_found",
            Code::InvalidRequest => "invalid_request",
            Code::NodeOffline => "node_offline",
            Code::NodeLegacyProtocol => "node_legacy_protocol",
            Code::Conflict => "conflict",
            Code::PayloadTooLarge => "payload_too_large",
            Code::Unavailable => "unavailable",
        }
    }

    pub const fn status(self) -> StatusCode {
        match self {
            Code::Unauthorized => StatusCode::UNAUTHORIZED,
            Code::Forbidden => StatusCode::FORBIDDEN,
            Code::NotFound => StatusCode::NOT_FOUND,
            Code::InvalidRequest => StatusCode::BAD_REQUEST,
            Code::NodeOffline | Code::NodeLegacyProtocol | Code::Conflict => StatusCode::CONFLICT,
            Code::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", code.as_str())]
pub struct ApiError {
    pub code: Code,
    pub message: String,
}

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError::new(Code::InvalidRequest, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(Code::NotFound, message)
    }

    /// The registry or the store could not answer (the Core is stopping or the store failed).
    pub fn unavailable(what: impl std::fmt::Display) -> Self {
        ApiError::new(
            Code::Unavailable,
            format!("the Core cannot answer now: {what}"),
        )
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if self.code == Code::Unauthorized {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        response.json(json!({"error": {"code": self.code.as_str(), "message": self.message}}))
    }
}

impl From<actix::MailboxError> for ApiError {
    fn from(e: actix::MailboxError) -> Self {
        ApiError::unavailable(e)
    }
}

impl From<honeybee_store::StoreError> for ApiError {
    fn from(e: honeybee_store::StoreError) -> Self {
        match e {
            honeybee_store::StoreError::BadCursor(_) => ApiError::invalid(e.to_string()),
            other => ApiError::unavailable(other),
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::unavailable(e)
    }
}

pub type ApiResult<T = HttpResponse> = Result<T, ApiError>;

/// Turns the extractors' own errors (bad JSON, bad query, body too large) into API errors.
pub fn extractor_error(error: &dyn std::fmt::Display, too_large: bool) -> actix_web::Error {
    let api = if too_large {
        ApiError::new(
            Code::PayloadTooLarge,
            "the request body is larger than api.max_body_bytes",
        )
    } else {
        ApiError::invalid(error.to_string())
    };
    api.into()
}

/// A node id from a path or query parameter: decimal digits of a u64.
pub fn parse_node_id(text: &str) -> ApiResult<u64> {
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::invalid(format!(
            "node id {:?} is not a decimal u64",
            honeybee_protocol::error::sanitize(text, 40)
        )));
    }
    text.parse()
        .map_err(|_| ApiError::invalid("node id out of range for a u64"))
}
