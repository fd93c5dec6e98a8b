//! Who is on the other end of a dashboard request: the client's address (a trusted proxy's
//! `X-Forwarded-For` believed, nobody else's) and whether the browser reached the Core over
//! HTTPS (directly, or through a trusted TLS-terminating proxy that says so).

use std::net::IpAddr;

use actix_web::HttpRequest;

use super::session::UiSettings;

/// The request's client address and whether it came over HTTPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Client {
    pub addr: Option<IpAddr>,
    pub https: bool,
}

impl Client {
    pub(crate) fn of(request: &HttpRequest, settings: &UiSettings) -> Client {
        let peer = request.peer_addr().map(|a| a.ip());
        let trusted = peer.is_some_and(|p| settings.trusted_proxies.contains(&p));
        if !trusted {
            return Client {
                addr: peer,
                https: settings.https,
            };
        }
        let header = |name: &str| {
            request
                .headers()
                .get_all(name)
                .filter_map(|v| v.to_str().ok())
                .collect::<Vec<_>>()
                .join(",")
        };
        // The proxy appends the address it saw: the last entry is the one it vouches for.
        let forwarded = header("x-forwarded-for")
            .rsplit(',')
            .map(str::trim)
            .find(|a| !a.is_empty())
            .and_then(|a| a.parse::<IpAddr>().ok());
        let proto = header("x-forwarded-proto");
        let https = settings.https
            || proto
                .rsplit(',')
                .next()
                .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
        Client {
            addr: forwarded.or(peer),
            https,
        }
    }

    /// The address as the audit log writes it.
    pub(crate) fn source(&self) -> String {
        self.addr
            .map_or_else(|| "unknown".to_owned(), |a| a.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn settings(proxies: &[&str]) -> UiSettings {
        UiSettings {
            idle: std::time::Duration::from_secs(1),
            max: std::time::Duration::from_secs(1),
            https: false,
            trusted_proxies: proxies.iter().map(|p| p.parse().unwrap()).collect(),
        }
    }

    #[test]
    fn only_a_trusted_proxy_is_believed() {
        let request = TestRequest::default()
            .peer_addr("10.0.0.1:5000".parse().unwrap())
            .insert_header(("X-Forwarded-For", "198.51.100.9, 203.0.113.5"))
            .insert_header(("X-Forwarded-Proto", "https"))
            .to_http_request();
        let believed = Client::of(&request, &settings(&["10.0.0.1"]));
        assert_eq!(believed.addr, Some("203.0.113.5".parse().unwrap()));
        assert!(believed.https);
        let ignored = Client::of(&request, &settings(&[]));
        assert_eq!(ignored.addr, Some("10.0.0.1".parse().unwrap()));
        assert!(!ignored.https);
    }
}
