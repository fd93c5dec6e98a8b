//! The keys of each sink type (`syslog`, `splunk_hec`, `webhook`, `elasticsearch`) and the
//! checks of their values: addresses, URLs (user information taken out, never quoted), index
//! patterns.

use config::ValueKind;

use super::super::checks::{Checked, string};
use super::Table;
use crate::config::outputs::{
    ElasticConfig, HecConfig, HttpUrl, Secret, SyslogConfig, SyslogFormat, Template, Transport,
    WebhookConfig, WebhookFormat,
};

const FACILITIES: &[(&str, u8)] = &[
    ("kern", 0),
    ("user", 1),
    ("mail", 2),
    ("daemon", 3),
    ("auth", 4),
    ("syslog", 5),
    ("lpr", 6),
    ("news", 7),
    ("uucp", 8),
    ("cron", 9),
    ("authpriv", 10),
    ("ftp", 11),
    ("local0", 16),
    ("local1", 17),
    ("local2", 18),
    ("local3", 19),
    ("local4", 20),
    ("local5", 21),
    ("local6", 22),
    ("local7", 23),
];

impl Table<'_> {
    pub(super) fn syslog(&mut self) -> Option<SyslogConfig> {
        let address = self.required("address", address);
        let transport = self.choice(
            "transport",
            Transport::Tcp,
            &[
                ("udp", Transport::Udp),
                ("tcp", Transport::Tcp),
                ("tls", Transport::Tls),
            ],
        );
        let format = self.choice(
            "format",
            SyslogFormat::Cef,
            &[("cef", SyslogFormat::Cef), ("json", SyslogFormat::Json)],
        );
        let facility = self.choice("facility", 16, FACILITIES);
        let (ca, cert, key) = (
            self.path_key("ca"),
            self.path_key("cert"),
            self.path_key("key"),
        );
        if transport != Transport::Tls {
            for (k, set) in [
                ("ca", ca.is_some()),
                ("cert", cert.is_some()),
                ("key", key.is_some()),
            ] {
                if set {
                    self.problem(k, "only applies with transport = \"tls\"".into());
                }
            }
        }
        if cert.is_some() != key.is_some() {
            let missing = if cert.is_some() { "key" } else { "cert" };
            self.problem(
                missing,
                "required when the other of cert and key is set".into(),
            );
        }
        Some(SyslogConfig {
            address: address?,
            transport,
            ca,
            cert,
            key,
            format,
            facility,
        })
    }

    pub(super) fn hec(&mut self) -> Option<HecConfig> {
        let url = self.required("url", http_url);
        let token = self.secret("token", true);
        let index = self.get("index", string);
        let gzip = self.flag("gzip");
        let ack = self.flag("ack");
        let ca = self.path_key("ca");
        Some(HecConfig {
            url: url?,
            token: token?,
            index,
            gzip,
            ack,
            ca,
        })
    }

    pub(super) fn webhook(&mut self) -> Option<WebhookConfig> {
        let url = self.required("url", http_url);
        let secret = self.secret("secret", true);
        let format = self.choice(
            "format",
            WebhookFormat::Json,
            &[
                ("json", WebhookFormat::Json),
                ("slack", WebhookFormat::Slack),
            ],
        );
        let ca = self.path_key("ca");
        Some(WebhookConfig {
            url: url?,
            secret: secret?,
            format,
            ca,
        })
    }

    pub(super) fn elastic(&mut self) -> Option<ElasticConfig> {
        let url = self.required("url", http_url);
        let username = self.get("username", string);
        let password = self.secret("password", false);
        let api_key = self.secret("api_key", false);
        if password.is_some() && username.is_none() {
            self.problem("username", "required when a password is set".into());
        }
        if api_key.is_some() && (username.is_some() || password.is_some()) {
            self.problem(
                "api_key",
                "set either api_key or username and password".into(),
            );
        }
        let index = self
            .get("index", index_pattern)
            .unwrap_or_else(|| "honeybee-events-%Y.%m.%d".to_owned());
        let alert_index = self
            .get("alert_index", index_pattern)
            .unwrap_or_else(|| "honeybee-alerts-%Y.%m.%d".to_owned());
        let template = self.choice(
            "template",
            Template::Flattened,
            &[
                ("flattened", Template::Flattened),
                ("flat_object", Template::FlatObject),
                ("none", Template::None),
            ],
        );
        let ca = self.path_key("ca");
        let mut url = url?;
        if let Some((user, _)) = &url.userinfo
            && (username.is_some() || api_key.is_some())
        {
            let _ = user;
            self.problem(
                "url",
                "carries credentials; give them either in the URL or as username/password/api_key"
                    .into(),
            );
        }
        let (username, password) = match url.userinfo.take() {
            Some((user, pass)) => (Some(user), Some(pass)),
            None => (username, password),
        };
        Some(ElasticConfig {
            url,
            username,
            password,
            api_key,
            index,
            alert_index,
            template,
            ca,
        })
    }
}

/// `host:port`, the host a name, an IPv4 address or a bracketed IPv6 address.
fn address(path: &str, v: &ValueKind) -> Checked<String> {
    let s = string(path, v)?;
    let bad = || {
        Err(vec![format!(
            "must be host:port (like 127.0.0.1:514, siem.example:6514 or [::1]:514), got {s:?}"
        )])
    };
    let Some((host, port)) = s.rsplit_once(':') else {
        return bad();
    };
    let host_ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
        None => {
            !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        }
    };
    match port.parse::<u16>() {
        Ok(p) if p > 0 && host_ok => Ok(s),
        _ => bad(),
    }
}

/// An `http`/`https` URL; user information is taken out of it (and never quoted).
fn http_url(_path: &str, v: &ValueKind) -> Checked<HttpUrl> {
    let ValueKind::String(s) = v else {
        return Err(vec!["must be an http:// or https:// URL".to_owned()]);
    };
    let s = s.trim();
    let (scheme, rest) = match s.split_once("://") {
        Some((scheme, rest)) if scheme == "http" || scheme == "https" => (scheme, rest),
        _ => return Err(vec!["must be an http:// or https:// URL".to_owned()]),
    };
    let (authority, tail) = match rest.find(['/', '?', '#']) {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    let (userinfo, host) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let url = format!("{scheme}://{host}{tail}");
    if host.is_empty() || url.parse::<awc::http::Uri>().is_err() || tail.contains('#') {
        return Err(vec![format!(
            "must be an http:// or https:// URL with a host, got {url:?} (user information \
             hidden)"
        )]);
    }
    let userinfo = userinfo.map(|u| {
        let (user, pass) = u.split_once(':').unwrap_or((u, ""));
        (percent_decode(user), Secret::new(percent_decode(pass)))
    });
    Ok(HttpUrl { url, userinfo })
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// An index name pattern: lowercase, with only `%Y`, `%m`, `%d` and `%%` as placeholders.
fn index_pattern(path: &str, v: &ValueKind) -> Checked<String> {
    let s = string(path, v)?;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        let ok = match c {
            '%' => matches!(chars.next(), Some('Y' | 'm' | 'd' | '%')),
            c => c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.' | '+'),
        };
        if !ok {
            return Err(vec![format!(
                "must be a lowercase index name with only %Y, %m and %d as placeholders, got {s:?}"
            )]);
        }
    }
    Ok(s)
}
