//! The API's errors: `{"error":{"code":..,"message":..}}` with CORE.md's codes, plus
//! `method_not_allowed` (405) and `unsupported_media_type` (415), which CORE.md's list cannot
//! express. Messages are written for operators and never carry a token, a TOTP secret or a code.

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
    /// A method the path does not serve (405, with `Allow`).
    MethodNotAllowed,
    /// A request body that is not `application/json` (415).
    UnsupportedMediaType,
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
            Code::MethodNotAllowed => "method_not_allowed",
            Code::UnsupportedMediaType => "unsupported_media_type",
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
            Code::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Code::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
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

/// A JSON body extractor's error: 413 past `api.max_body_bytes`, 415 for a body that is not
/// `application/json`, 400 for anything else (malformed JSON, a wrong field).
pub fn json_error(error: &actix_web::error::JsonPayloadError) -> actix_web::Error {
    use actix_web::error::JsonPayloadError;
    match error {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            extractor_error(error, true)
        }
        JsonPayloadError::ContentType => ApiError::new(
            Code::UnsupportedMediaType,
            "the request body must be JSON, sent with Content-Type: application/json",
        )
        .into(),
        other => extractor_error(other, false),
    }
}

/// Largest number of digits a u64 id may be written with (leading zeros included).
const MAX_ID_DIGITS: usize = 20;

/// A u64 written in decimal digits (at most 20, leading zeros allowed) — node ids, command ids
/// and unix seconds in paths and queries. `None` for anything else, a value above
/// 18446744073709551615 included. The OpenAPI document's `U64Digits` pattern admits exactly
/// these strings.
pub fn u64_digits(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > MAX_ID_DIGITS || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The u64 a JSON number denotes, from its text: any spelling whose value is a whole number in
/// range (`7`, `7.0`, `7e0`, `0.7e1`, `-0`), as JSON Schema's `integer` reads it. `None` for a
/// fraction, a negative number or one above u64::MAX. Read from the text, not through an `f64`,
/// so an id above 2^53 is never rounded.
pub fn json_u64(text: &str) -> Option<u64> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(at) => (&rest[..at], Some(&rest[at + 1..])),
        None => (rest, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits_only = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits_only(int) || !digits_only(frac) || mantissa.ends_with('.') {
        return None;
    }
    let digits = format!("{int}{frac}");
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Some(0); // zero, whatever its sign or exponent
    }
    if negative {
        return None;
    }
    let significant = digits.trim_end_matches('0');
    // value = significant × 10^scale
    let mut scale =
        i64::try_from(digits.len() - significant.len()).ok()? - i64::try_from(frac.len()).ok()?;
    if let Some(exponent) = exponent {
        let (sign, magnitude) = match exponent.as_bytes().first() {
            Some(b'-') => (-1, &exponent[1..]),
            Some(b'+') => (1, &exponent[1..]),
            _ => (1, exponent),
        };
        if magnitude.is_empty() || !digits_only(magnitude) {
            return None;
        }
        // Any exponent past 999 makes a fraction or a number out of range: 1000 stands for it.
        let magnitude = magnitude.trim_start_matches('0');
        let magnitude: i64 = if magnitude.len() > 3 {
            1000
        } else {
            magnitude.parse().unwrap_or(0)
        };
        scale += sign * magnitude;
    }
    if scale < 0 || significant.len() + usize::try_from(scale).ok()? > MAX_ID_DIGITS {
        return None;
    }
    format!("{significant}{}", "0".repeat(usize::try_from(scale).ok()?))
        .parse()
        .ok()
}

/// A node id from a path or query parameter: decimal digits of a u64 (else 400).
pub fn parse_node_id(text: &str) -> ApiResult<u64> {
    u64_digits(text).ok_or_else(|| {
        ApiError::invalid(format!(
            "node id {:?} is not a u64 in decimal digits (0 to 18446744073709551615)",
            honeybee_protocol::error::sanitize(text, 40)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u64_digits_takes_exactly_the_u64s() {
        for (text, want) in [
            ("0", Some(0)),
            ("007", Some(7)),
            ("18446744073709551615", Some(u64::MAX)),
            ("00000000000000000001", Some(1)),
            ("18446744073709551616", None),
            ("99999999999999999999", None),
            ("000000000000000000001", None),
            ("", None),
            ("+1", None),
            ("-1", None),
            ("1 ", None),
            ("１", None),
        ] {
            assert_eq!(u64_digits(text), want, "{text:?}");
        }
    }

    #[test]
    fn json_u64_reads_every_spelling_of_a_whole_number() {
        for (text, want) in [
            ("0", Some(0)),
            ("0.0", Some(0)),
            ("-0", Some(0)),
            ("-0.0e5", Some(0)),
            ("7", Some(7)),
            ("7.000", Some(7)),
            ("7e0", Some(7)),
            ("0.7e1", Some(7)),
            ("70e-1", Some(7)),
            ("1E+3", Some(1000)),
            ("18446744073709551615", Some(u64::MAX)),
            ("18446744073709551615.0", Some(u64::MAX)),
            ("1.8446744073709551615e19", Some(u64::MAX)),
            ("11364728073201639405", Some(11_364_728_073_201_639_405)),
            ("18446744073709551616", None),
            ("1e20", None),
            ("1e99999999999999999999999", None),
            ("7.5", None),
            ("75e-1", None),
            ("1e-99999999999999999999999", None),
            ("-1", None),
            ("-7.0", None),
            ("", None),
            ("1.", None),
            (".5", None),
            ("1e", None),
            ("0x10", None),
        ] {
            assert_eq!(json_u64(text), want, "{text:?}");
        }
    }
}
