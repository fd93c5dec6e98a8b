//! The HTTP and WebSocket client of the operator commands: awc (actix's own client) on a
//! one-thread actix `System`, HTTPS as `tls.rs` sets it up. Answers are mapped to
//! [`CliError`]s that say what to do: the Core is not running, the token is wrong, or the API
//! refused and why.

use std::io;
use std::time::Duration;

use awc::error::{ConnectError, SendRequestError, WsClientError, WsProtocolError};
use awc::ws::{Frame, Message};
use futures_util::{Sink, Stream};
use serde_json::Value;

use super::escape::escape;
use super::target::{TOKEN_ENV, Target, TokenSource, find_token};
use super::{ApiArgs, CliError};
use crate::config::Config;

/// The largest answer read (a page of 10,000 events fits many times over).
const BODY_LIMIT: usize = 256 << 20;
/// The largest WebSocket message accepted.
const FRAME_LIMIT: usize = 16 << 20;
/// How long a request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection to the API with its token.
pub(super) struct Api {
    client: awc::Client,
    base: String,
    token: String,
    origin: TokenSource,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("base", &self.base)
            .field("token_from", &self.origin)
            .finish_non_exhaustive()
    }
}

/// An answer in the 2xx range: its text as sent and parsed (`Null` when empty).
#[derive(Debug)]
pub(super) struct Reply {
    pub text: String,
    pub json: Value,
}

/// Resolves the target and token of `args`, then runs `work` with an [`Api`] on a fresh actix
/// `System` and returns what it returns.
pub(super) fn with_api<T>(
    args: &ApiArgs,
    config: &Config,
    work: impl AsyncFnOnce(&Api) -> Result<T, CliError>,
) -> Result<T, CliError> {
    let target = Target::resolve(config, args.api.as_deref())?;
    let env_token = std::env::var(TOKEN_ENV).ok();
    let (token, origin) = find_token(env_token, args.token_file.as_deref(), config)?;
    let tls = (target.root_cert.as_deref())
        .map(super::tls::client_config)
        .transpose()?;
    actix_rt::System::new().block_on(async move {
        let mut connector = awc::Connector::new().timeout(CONNECT_TIMEOUT);
        if let Some(tls) = tls {
            connector = connector.rustls_0_23(tls);
        }
        let client = awc::Client::builder()
            .connector(connector)
            .timeout(REQUEST_TIMEOUT)
            .disable_redirects()
            .finish();
        let api = Api {
            client,
            base: target.base,
            token,
            origin,
        };
        work(&api).await
    })
}

impl Api {
    /// `GET path?query`.
    pub(super) async fn get(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Reply, CliError> {
        let request = self.client.get(self.url(path, query));
        self.exchange(request, None).await
    }

    /// `POST path?query` with a JSON body (or none).
    pub(super) async fn post(
        &self,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Reply, CliError> {
        let request = self.client.post(self.url(path, query));
        self.exchange(request, body).await
    }

    /// `DELETE path`.
    pub(super) async fn delete(&self, path: &str) -> Result<Reply, CliError> {
        let request = self.client.delete(self.url(path, &[]));
        self.exchange(request, None).await
    }

    /// Opens the WebSocket at `path?query`: a stream of frames and a sink for answers.
    pub(super) async fn stream(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<
        impl Stream<Item = Result<Frame, WsProtocolError>>
        + Sink<Message, Error = WsProtocolError>
        + Unpin
        + use<>,
        CliError,
    > {
        let connected = (self.client.ws(self.url(path, query)))
            .bearer_auth(&self.token)
            .max_frame_size(FRAME_LIMIT)
            .connect()
            .await;
        match connected {
            Ok((_, framed)) => Ok(framed),
            Err(WsClientError::InvalidResponseStatus(status)) => {
                Err(self.refusal(status.as_u16(), &Value::Null, ""))
            }
            Err(WsClientError::SendRequest(e)) => Err(self.send_error(e)),
            Err(e) => Err(CliError::Http {
                url: self.base.clone(),
                detail: format!("the stream could not be opened: {e}"),
            }),
        }
    }

    async fn exchange(
        &self,
        request: awc::ClientRequest,
        body: Option<&Value>,
    ) -> Result<Reply, CliError> {
        let request = request.bearer_auth(&self.token);
        let sent = match body {
            Some(body) => request.send_json(body).await,
            None => request.send().await,
        };
        let mut response = sent.map_err(|e| self.send_error(e))?;
        let bytes = (response.body().limit(BODY_LIMIT).await).map_err(|e| CliError::Http {
            url: self.base.clone(),
            detail: format!("reading the answer failed: {e}"),
        })?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = match text.trim() {
            "" => Value::Null,
            body => serde_json::from_str(body).unwrap_or(Value::Null),
        };
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(self.refusal(status, &json, &text));
        }
        if json.is_null() && !text.trim().is_empty() {
            return Err(CliError::Http {
                url: self.base.clone(),
                detail: "the answer is not JSON (is this a HoneyBee Core?)".to_owned(),
            });
        }
        Ok(Reply { text, json })
    }

    /// The error for a non-2xx answer, from its `{"error":{"code","message"}}` body.
    fn refusal(&self, status: u16, json: &Value, text: &str) -> CliError {
        let origin = self.origin.to_string();
        let error = &json["error"];
        let message = match error["message"].as_str() {
            Some(message) => escape(message).into_owned(),
            None if status == 404 && text.trim().is_empty() => {
                "no such route (is the Core older than this CLI?)".to_owned()
            }
            None if text.trim().is_empty() => "no reason given".to_owned(),
            None => escape(text.trim()).chars().take(200).collect(),
        };
        match status {
            401 => CliError::Unauthorized { origin },
            403 => CliError::Forbidden { origin, message },
            _ => CliError::Api {
                status,
                code: error["code"].as_str().map(|code| escape(code).into_owned()),
                message,
            },
        }
    }

    fn send_error(&self, e: SendRequestError) -> CliError {
        let url = self.base.clone();
        match e {
            SendRequestError::Connect(e) => {
                let hint = match &e {
                    ConnectError::Io(io) if io.kind() == io::ErrorKind::InvalidData => {
                        " The TLS handshake failed: is api.tls_cert the certificate the Core serves?"
                    }
                    ConnectError::Io(_) | ConnectError::Timeout => {
                        " The Core may not be running there."
                    }
                    _ => "",
                };
                CliError::Connect {
                    url,
                    detail: e.to_string(),
                    hint,
                }
            }
            SendRequestError::Timeout => CliError::Http {
                url,
                detail: format!("no answer within {} s", REQUEST_TIMEOUT.as_secs()),
            },
            e => CliError::Http {
                url,
                detail: e.to_string(),
            },
        }
    }

    fn url(&self, path: &str, query: &[(&str, String)]) -> String {
        let mut url = format!("{}{path}", self.base);
        for (i, (key, value)) in query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(key);
            url.push('=');
            url.push_str(&encode(value));
        }
        url
    }
}

/// `text` percent-encoded for a path segment or a query value (RFC 3986 unreserved kept).
pub(super) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_keeps_unreserved_characters_only() {
        assert_eq!(encode("cowrie-01_a.b~"), "cowrie-01_a.b~");
        assert_eq!(encode("a b/c?d&e=f"), "a%20b%2Fc%3Fd%26e%3Df");
        assert_eq!(encode("2024-01-15T10:30:00Z"), "2024-01-15T10%3A30%3A00Z");
        assert_eq!(encode("ü"), "%C3%BC");
    }
}
