//! The WebSocket opening handshake of `GET /api/v1/stream` (RFC 6455 §4.2.1), checked before
//! actix-ws takes the connection over, so that a request that is not a handshake gets the API's
//! JSON error (400 `invalid_request`) naming what is wrong, instead of an empty 400. The rules
//! are exactly the header parameters of the stream in `openapi.json`: `Upgrade: websocket`,
//! `Connection` listing `upgrade` (and not `close`), `Sec-WebSocket-Version: 13` and a
//! `Sec-WebSocket-Key` of 16 bytes in base64. Names and values compare case-insensitively where
//! RFC 6455 says so.

use actix_web::http::{Method, header};

/// The WebSocket version the stream speaks (sent back with every refusal, RFC 6455 §4.4).
pub(crate) const VERSION: &str = "13";

/// Why a request is not a WebSocket handshake (an operator-readable sentence).
pub(crate) fn check(method: &Method, headers: &header::HeaderMap) -> Result<(), String> {
    if method != Method::GET {
        return Err(format!(
            "the stream is a WebSocket: its handshake is a GET, not a {method}"
        ));
    }
    let values = |name: header::HeaderName| {
        headers
            .get_all(name)
            .map(|v| v.to_str().ok())
            .collect::<Option<Vec<_>>>()
    };
    let upgrade = values(header::UPGRADE).unwrap_or_default();
    if !matches!(upgrade.as_slice(), [one] if trim(one).eq_ignore_ascii_case("websocket")) {
        return Err("the stream is a WebSocket: send `Upgrade: websocket`".to_owned());
    }
    let connection = values(header::CONNECTION).unwrap_or_default();
    let options = || connection.iter().flat_map(|v| v.split(',')).map(trim);
    if connection.is_empty()
        || !options().any(|o| o.eq_ignore_ascii_case("upgrade"))
        || options().any(|o| o.eq_ignore_ascii_case("close"))
    {
        return Err(
            "the stream is a WebSocket: send `Connection: Upgrade` (without `close`)".to_owned(),
        );
    }
    let version = values(header::SEC_WEBSOCKET_VERSION).unwrap_or_default();
    if version.as_slice() != [VERSION] {
        return Err(format!(
            "the stream speaks WebSocket version {VERSION}: send `Sec-WebSocket-Version: {VERSION}`"
        ));
    }
    let key = values(header::SEC_WEBSOCKET_KEY).unwrap_or_default();
    if !matches!(key.as_slice(), [one] if key_ok(one)) {
        return Err(
            "`Sec-WebSocket-Key` must be 16 random bytes in base64 (24 characters)".to_owned(),
        );
    }
    Ok(())
}

/// Optional whitespace around a header value or list element (space and tab).
fn trim(text: &str) -> &str {
    text.trim_matches([' ', '\t'])
}

/// 16 bytes in canonical base64: 21 free characters, one whose last 4 bits are zero, `==`
/// (the document's pattern `^[A-Za-z0-9+/]{21}[AQgw]==$`).
fn key_ok(key: &str) -> bool {
    let b = key.as_bytes();
    b.len() == 24
        && b[..21]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/'))
        && matches!(b[21], b'A' | b'Q' | b'g' | b'w')
        && &b[22..] == b"=="
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn valid() -> Vec<(&'static str, &'static str)> {
        vec![
            ("upgrade", "websocket"),
            ("connection", "Upgrade"),
            ("sec-websocket-version", "13"),
            ("sec-websocket-key", KEY),
        ]
    }

    #[test]
    fn a_browser_handshake_passes() {
        assert_eq!(check(&Method::GET, &headers(&valid())), Ok(()));
        // Firefox lists keep-alive too; case does not matter where RFC 6455 says so.
        let mut firefox = valid();
        firefox[0].1 = "WebSocket";
        firefox[1].1 = "keep-alive, Upgrade";
        assert_eq!(check(&Method::GET, &headers(&firefox)), Ok(()));
    }

    #[test]
    fn each_missing_or_wrong_part_is_named() {
        let cases: &[(usize, Option<&str>, &str)] = &[
            (0, None, "Upgrade: websocket"),
            (0, Some("h2c"), "Upgrade: websocket"),
            (0, Some("websockets"), "Upgrade: websocket"),
            (1, None, "Connection: Upgrade"),
            (1, Some("keep-alive"), "Connection: Upgrade"),
            (1, Some("upgrade, close"), "Connection: Upgrade"),
            (1, Some("not-upgrade"), "Connection: Upgrade"),
            (2, None, "Sec-WebSocket-Version: 13"),
            (2, Some("8"), "Sec-WebSocket-Version: 13"),
            (3, None, "Sec-WebSocket-Key"),
            (3, Some("short"), "Sec-WebSocket-Key"),
            (3, Some("dGhlIHNhbXBsZSBub25jZR=="), "Sec-WebSocket-Key"),
            (3, Some("dGhlIHNhbXBsZSBub25jZQ="), "Sec-WebSocket-Key"),
        ];
        for (index, value, said) in cases {
            let mut pairs = valid();
            match value {
                Some(v) => pairs[*index].1 = v,
                None => {
                    pairs.remove(*index);
                }
            }
            let error = check(&Method::GET, &headers(&pairs)).unwrap_err();
            assert!(error.contains(said), "{pairs:?}: {error}");
        }
        let error = check(&Method::HEAD, &headers(&valid())).unwrap_err();
        assert!(error.contains("GET"), "{error}");
    }
}
