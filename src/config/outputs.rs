//! The typed `[[outputs]]` sinks and the `[intel]` section (OUTPUTS.md), read and checked by
//! `load/outputs.rs`. Secrets (HEC tokens, webhook secrets, Elasticsearch passwords and API
//! keys) are [`Secret`]s: their `Debug` never shows them.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// A secret from the config or its `*_file`: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(value)
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// What a sink carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct What {
    pub events: bool,
    pub alerts: bool,
}

impl What {
    pub const fn as_str(self) -> &'static str {
        match (self.events, self.alerts) {
            (true, true) => "both",
            (false, true) => "alerts",
            _ => "events",
        }
    }
}

/// Which events a sink sends (every non-empty list must match; empty = any).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutputFilter {
    pub event_type_prefix: Vec<String>,
    pub pot_type: Vec<String>,
    /// Node names or ids (decimal).
    pub node: Vec<String>,
}

/// One `[[outputs]]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputConfig {
    pub name: String,
    pub what: What,
    pub filter: OutputFilter,
    /// 0 = as fast as the receiver takes them.
    pub max_events_per_sec: u32,
    pub max_lag_events: u64,
    /// Items per delivery (a request, or a write on a syslog stream).
    pub batch_size: usize,
    /// A delivery attempt that takes longer failed.
    pub timeout: Duration,
    /// Retries back off from 0.5 s doubling up to this.
    pub retry_max: Duration,
    /// Alert messages per minute; the rest of the minute is folded into one summary.
    pub alerts_per_minute: u32,
    /// Where a sink without a stored position starts: `false` = the oldest stored event and
    /// alert change (`start = "oldest"`), `true` = what comes after its first start
    /// (`start = "now"`).
    pub start_now: bool,
    pub sink: SinkConfig,
}

impl OutputConfig {
    pub const fn type_name(&self) -> &'static str {
        match self.sink {
            SinkConfig::Syslog(_) => "syslog",
            SinkConfig::SplunkHec(_) => "splunk_hec",
            SinkConfig::Webhook(_) => "webhook",
            SinkConfig::Elasticsearch(_) => "elasticsearch",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum SinkConfig {
    Syslog(SyslogConfig),
    SplunkHec(HecConfig),
    Webhook(WebhookConfig),
    Elasticsearch(ElasticConfig),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyslogFormat {
    Cef,
    Json,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SyslogConfig {
    /// `host:port` (a name, an IPv4 address, or `[v6]`).
    pub address: String,
    pub transport: Transport,
    /// CA certificates (PEM) to trust for `tls`; the system's when unset.
    pub ca: Option<PathBuf>,
    /// A client certificate and key (PEM) for `tls`.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub format: SyslogFormat,
    /// RFC 5424 facility code (0–23; `local0` = 16).
    pub facility: u8,
}

/// An `http(s)` URL, checked; `display` is it without user information.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// Without user information.
    pub url: String,
    /// `user:password` taken out of the URL, if it had them.
    pub userinfo: Option<(String, Secret)>,
}

impl std::fmt::Debug for HttpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpUrl")
            .field("url", &self.url)
            .field("userinfo", &self.userinfo.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct HecConfig {
    pub url: HttpUrl,
    pub token: Secret,
    pub index: Option<String>,
    pub gzip: bool,
    pub ack: bool,
    pub ca: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookFormat {
    Json,
    Slack,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WebhookConfig {
    pub url: HttpUrl,
    pub secret: Secret,
    pub format: WebhookFormat,
    pub ca: Option<PathBuf>,
}

/// How the `_bulk` sink declares `honeybee.data` at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// An index template with `honeybee.data` as Elasticsearch's `flattened`.
    Flattened,
    /// The same with OpenSearch's `flat_object`.
    FlatObject,
    /// None: the operator manages the mapping.
    None,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ElasticConfig {
    pub url: HttpUrl,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub api_key: Option<Secret>,
    /// Index name with `%Y`, `%m`, `%d` from the event's `received_at` (UTC).
    pub index: String,
    pub alert_index: String,
    pub template: Template,
    pub ca: Option<PathBuf>,
}

/// An address range (`intel.allowlist`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    /// Parses `203.0.113.0/24`, `2001:db8::/32` or a bare address.
    pub fn parse(text: &str) -> Option<Cidr> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr: IpAddr = addr.trim().parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().ok().filter(|p| *p <= max)?
            }
            Some(_) => return None,
            None => max,
        };
        Some(Cidr { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let shift = 32 - u32::from(self.prefix);
                let mask = u32::MAX.checked_shl(shift).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let shift = 128 - u32::from(self.prefix);
                let mask = u128::MAX.checked_shl(shift).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            // An IPv4-mapped IPv6 address is the IPv4 address.
            (IpAddr::V4(_), IpAddr::V6(ip)) => ip
                .to_ipv4_mapped()
                .is_some_and(|v4| self.contains(IpAddr::V4(v4))),
            (IpAddr::V6(_), IpAddr::V4(_)) => false,
        }
    }
}

/// `[intel]`: the blocklist and STIX feeds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IntelConfig {
    pub allowlist: Vec<Cidr>,
    pub include_private: bool,
}
