//! One HTTP request of a sink, and what its status means under OUTPUTS.md's rules: 2xx
//! delivered; 429, 5xx, timeouts and connection errors retried; any other 4xx refused for good
//! (the items go to the dead-letter list) — except those that say the sink itself is set up
//! wrong (401, 403, 404, 405, 407, 408, 421: credentials, URL, proxy), and 3xx (redirects are
//! not followed with the sink's credentials): retried with the error shown, never
//! dead-lettered, since nothing is wrong with the items.

use awc::http::header::{HeaderName, HeaderValue};

/// The answer's body is read up to this (a `_bulk` answer for 10,000 items fits).
const BODY_LIMIT: usize = 64 << 20;

/// What a status means for the items of the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    Delivered,
    Retry,
    Refused,
}

pub(super) fn verdict(status: u16) -> Verdict {
    match status {
        200..=299 => Verdict::Delivered,
        429 | 300..=399 | 500.. => Verdict::Retry,
        401 | 403 | 404 | 405 | 407 | 408 | 421 => Verdict::Retry,
        _ => Verdict::Refused,
    }
}

/// A sent request's status and body.
#[derive(Debug)]
pub(super) struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Answer {
    /// The body's start, for an error text.
    pub(super) fn excerpt(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        text.chars().take(200).collect()
    }
}

/// POSTs `body` to `url` with `headers`; an error says what failed (never a header's value).
pub(super) async fn post(
    client: &awc::Client,
    url: &str,
    headers: &[(&'static str, String)],
    body: Vec<u8>,
) -> Result<Answer, String> {
    send("POST", client.post(url), url, headers, body).await
}

/// PUTs a JSON `body` (the `_bulk` sink's index template).
pub(super) async fn put_json(
    client: &awc::Client,
    url: &str,
    headers: &[(&'static str, String)],
    body: Vec<u8>,
) -> Result<Answer, String> {
    let request = client.put(url).content_type("application/json");
    send("PUT", request, url, headers, body).await
}

/// Sends `request` with `headers` and `body`; the answer's status and (bounded) body.
async fn send(
    method: &str,
    mut request: awc::ClientRequest,
    url: &str,
    headers: &[(&'static str, String)],
    body: Vec<u8>,
) -> Result<Answer, String> {
    for (name, value) in headers {
        let value =
            HeaderValue::from_str(value).map_err(|_| format!("header {name} is not valid"))?;
        request = request.insert_header((HeaderName::from_static(name), value));
    }
    let mut response = request
        .send_body(body)
        .await
        .map_err(|e| format!("{method} {url}: {e}"))?;
    let status = response.status().as_u16();
    let body = response
        .body()
        .limit(BODY_LIMIT)
        .await
        .map_err(|e| format!("{method} {url}: reading the answer: {e}"))?;
    Ok(Answer {
        status,
        body: body.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_mean_what_outputs_md_says() {
        for (status, want) in [
            (200, Verdict::Delivered),
            (204, Verdict::Delivered),
            (301, Verdict::Retry),
            (400, Verdict::Refused),
            (401, Verdict::Retry),
            (403, Verdict::Retry),
            (404, Verdict::Retry),
            (409, Verdict::Refused),
            (413, Verdict::Refused),
            (422, Verdict::Refused),
            (429, Verdict::Retry),
            (500, Verdict::Retry),
            (503, Verdict::Retry),
        ] {
            assert_eq!(verdict(status), want, "{status}");
        }
    }
}
