//! Reading `[[outputs]]` (an array of tables, so not overridable from the environment) and
//! `[intel]`. Each sink's keys are checked against its `type`; every problem is named with
//! its path, `outputs[0].url` for the first table's `url` (0-based, as TOML paths count).
//! Secret values are never quoted; a `*_file` is read here, so `check` finds a missing one.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use config::{Map, Value, ValueKind};

use super::Problem;

mod sinks;
use super::checks::{self, Checked, integer, seconds, string};
use crate::config::outputs::{
    Cidr, IntelConfig, OutputConfig, OutputFilter, Secret, SinkConfig, What,
};

/// Keys every sink takes.
const COMMON: &[&str] = &[
    "name",
    "type",
    "what",
    "filter",
    "max_events_per_sec",
    "max_lag_events",
    "batch_size",
    "timeout_secs",
    "retry_max_secs",
    "alerts_per_minute",
    "start",
];
const SYSLOG: &[&str] = &[
    "address",
    "transport",
    "ca",
    "cert",
    "key",
    "format",
    "facility",
];
const HEC: &[&str] = &["url", "token", "token_file", "index", "gzip", "ack", "ca"];
const WEBHOOK: &[&str] = &["url", "secret", "secret_file", "format", "ca"];
const ELASTIC: &[&str] = &[
    "url",
    "username",
    "password",
    "password_file",
    "api_key",
    "api_key_file",
    "index",
    "alert_index",
    "template",
    "ca",
];
const FILTER: &[&str] = &["event_type_prefix", "pot_type", "node"];
const WHAT: &[(&str, What)] = &[
    (
        "events",
        What {
            events: true,
            alerts: false,
        },
    ),
    (
        "alerts",
        What {
            events: false,
            alerts: true,
        },
    ),
    (
        "both",
        What {
            events: true,
            alerts: true,
        },
    ),
];
const TYPES: &[&str] = &["syslog", "splunk_hec", "webhook", "elasticsearch"];

/// Reads every `[[outputs]]` table.
pub(super) fn read_outputs(
    root: &Map<String, Value>,
    problems: &mut Vec<Problem>,
) -> Vec<OutputConfig> {
    let Some(value) = root.get("outputs") else {
        return Vec::new();
    };
    let ValueKind::Array(items) = &value.kind else {
        problems.push(problem(
            "outputs",
            "must be an array of tables ([[outputs]])",
        ));
        return Vec::new();
    };
    let mut names = HashSet::new();
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("outputs[{i}]");
        let ValueKind::Table(table) = &item.kind else {
            problems.push(problem(&path, "must be a table ([[outputs]])"));
            continue;
        };
        let before = problems.len();
        let mut t = Table {
            path: &path,
            table,
            problems,
        };
        let sink = t.sink(&mut names);
        if let Some(sink) = sink
            && problems.len() == before
        {
            out.push(sink);
        }
    }
    out
}

/// Reads `[intel]`.
pub(super) fn read_intel(root: &Map<String, Value>, problems: &mut Vec<Problem>) -> IntelConfig {
    let Some(ValueKind::Table(table)) = root.get("intel").map(|v| &v.kind) else {
        return IntelConfig::default();
    };
    let mut allowlist = Vec::new();
    if let Some(v) = table.get("allowlist") {
        match &v.kind {
            ValueKind::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    match &item.kind {
                        ValueKind::String(s) if Cidr::parse(s).is_some() => {
                            allowlist.extend(Cidr::parse(s));
                        }
                        _ => problems.push(problem(
                            "intel.allowlist",
                            format!(
                                "entry {} must be an address or a CIDR range like \
                                 203.0.113.0/24 or 2001:db8::/32",
                                i + 1
                            ),
                        )),
                    }
                }
            }
            _ => problems.push(problem(
                "intel.allowlist",
                "must be a list of addresses or CIDR ranges",
            )),
        }
    }
    let include_private = match table.get("include_private").map(|v| &v.kind) {
        None => false,
        Some(v) => checks::boolean("intel.include_private", v).unwrap_or_else(|m| {
            for message in m {
                problems.push(problem("intel.include_private", message));
            }
            false
        }),
    };
    IntelConfig {
        allowlist,
        include_private,
    }
}

fn problem(key: &str, message: impl Into<String>) -> Problem {
    Problem {
        key: key.to_owned(),
        message: message.into(),
    }
}

/// One `[[outputs]]` table being read.
struct Table<'a> {
    path: &'a str,
    table: &'a Map<String, Value>,
    problems: &'a mut Vec<Problem>,
}

impl Table<'_> {
    fn problem(&mut self, key: &str, message: String) {
        self.problems
            .push(problem(&format!("{}.{key}", self.path), message));
    }

    fn value(&self, key: &str) -> Option<&ValueKind> {
        self.table.get(key).map(|v| &v.kind)
    }

    /// Reads `key` with `check`, recording its problems; `None` when unset or wrong.
    fn get<T>(&mut self, key: &str, check: impl Fn(&str, &ValueKind) -> Checked<T>) -> Option<T> {
        let path = format!("{}.{key}", self.path);
        let value = self.value(key)?.clone();
        match check(&path, &value) {
            Ok(v) => Some(v),
            Err(messages) => {
                for m in messages {
                    self.problems.push(problem(&path, m));
                }
                None
            }
        }
    }

    fn required<T>(
        &mut self,
        key: &str,
        check: impl Fn(&str, &ValueKind) -> Checked<T>,
    ) -> Option<T> {
        if self.value(key).is_none() {
            self.problem(key, "required".into());
            return None;
        }
        self.get(key, check)
    }

    fn uint(&mut self, key: &str, min: u64, max: u64, default: u64) -> u64 {
        self.get(key, |p, v| integer(p, v, min, max))
            .unwrap_or(default)
    }

    fn secs(&mut self, key: &str, default: u64) -> Duration {
        self.get(key, |p, v| seconds(p, v, true))
            .unwrap_or(Duration::from_secs(default))
    }

    fn flag(&mut self, key: &str) -> bool {
        self.get(key, checks::boolean).unwrap_or(false)
    }

    fn path_key(&mut self, key: &str) -> Option<PathBuf> {
        self.get(key, string).map(PathBuf::from)
    }

    fn choice<T: Copy>(&mut self, key: &str, default: T, options: &[(&str, T)]) -> T {
        self.get(key, |p, v| checks::one_of(p, v, options))
            .unwrap_or(default)
    }

    /// A secret given as `key` or read from `key_file` (exactly one of them).
    fn secret(&mut self, key: &str, required: bool) -> Option<Secret> {
        let file_key = format!("{key}_file");
        let inline = self.value(key).cloned();
        let file = self.value(&file_key).cloned();
        match (inline, file) {
            (Some(_), Some(_)) => {
                self.problem(
                    &file_key,
                    format!("set either {key} or {file_key}, not both"),
                );
                None
            }
            (Some(ValueKind::String(s)), None) if !s.trim().is_empty() => {
                Some(Secret::new(s.trim().to_owned()))
            }
            (Some(_), None) => {
                self.problem(key, "must be a non-empty string (value hidden)".into());
                None
            }
            (None, Some(ValueKind::String(f))) if !f.trim().is_empty() => {
                match std::fs::read_to_string(f.trim()) {
                    Ok(text) if !text.trim().is_empty() => {
                        Some(Secret::new(text.trim().to_owned()))
                    }
                    Ok(_) => {
                        self.problem(&file_key, format!("{f:?} is empty"));
                        None
                    }
                    Err(e) => {
                        self.problem(&file_key, format!("cannot read {f:?}: {e}"));
                        None
                    }
                }
            }
            (None, Some(_)) => {
                self.problem(&file_key, "must be the path of a file".into());
                None
            }
            (None, None) => {
                if required {
                    self.problem(key, format!("required (or {file_key})"));
                }
                None
            }
        }
    }

    fn unknown_keys(&mut self, allowed: &[&str]) {
        let unknown: Vec<String> = self
            .table
            .keys()
            .filter(|k| !COMMON.contains(&k.as_str()) && !allowed.contains(&k.as_str()))
            .cloned()
            .collect();
        for key in unknown {
            self.problem(&key, "unknown key for this type".into());
        }
    }

    fn sink(&mut self, names: &mut HashSet<String>) -> Option<OutputConfig> {
        let name = self.required("name", sink_name);
        if let Some(name) = &name
            && !names.insert(name.clone())
        {
            self.problem("name", format!("{name:?} is used by an earlier sink"));
        }
        let kind = self.required("type", |p, v| checks::one_of(p, v, &types()));
        let what = self.choice("what", WHAT[0].1, WHAT);
        let filter = self.filter();
        let default_batch = if kind == Some("webhook") { 1 } else { 500 };
        let max_events_per_sec = self.uint("max_events_per_sec", 0, u64::from(u32::MAX), 0);
        let max_lag_events = self.uint("max_lag_events", 1, u64::MAX, 1_000_000);
        let batch_size = self.uint("batch_size", 1, 10_000, default_batch);
        let timeout = self.secs("timeout_secs", 10);
        let retry_max = self.secs("retry_max_secs", 30);
        let alerts_per_minute = self.uint("alerts_per_minute", 1, 10_000, 30);
        let start_now = self.choice("start", false, &[("oldest", false), ("now", true)]);
        let sink = match kind? {
            "syslog" => {
                self.unknown_keys(SYSLOG);
                SinkConfig::Syslog(self.syslog()?)
            }
            "splunk_hec" => {
                self.unknown_keys(HEC);
                SinkConfig::SplunkHec(self.hec()?)
            }
            "webhook" => {
                self.unknown_keys(WEBHOOK);
                SinkConfig::Webhook(self.webhook()?)
            }
            _ => {
                self.unknown_keys(ELASTIC);
                SinkConfig::Elasticsearch(self.elastic()?)
            }
        };
        Some(OutputConfig {
            name: name?,
            what,
            filter,
            max_events_per_sec: u32::try_from(max_events_per_sec).unwrap_or(u32::MAX),
            max_lag_events,
            batch_size: usize::try_from(batch_size).unwrap_or(500),
            timeout,
            retry_max,
            alerts_per_minute: u32::try_from(alerts_per_minute).unwrap_or(30),
            start_now,
            sink,
        })
    }

    fn filter(&mut self) -> OutputFilter {
        let Some(value) = self.value("filter").cloned() else {
            return OutputFilter::default();
        };
        let ValueKind::Table(table) = value else {
            self.problem(
                "filter",
                "must be a table like { pot_type = [\"cowrie\"] }".into(),
            );
            return OutputFilter::default();
        };
        let mut filter = OutputFilter::default();
        for (key, v) in &table {
            let path = format!("{}.filter.{key}", self.path);
            let list = match checks::list(&path, &v.kind, checks::string) {
                Ok(list) => list,
                Err(messages) => {
                    for m in messages {
                        self.problems.push(problem(&path, m));
                    }
                    continue;
                }
            };
            match key.as_str() {
                "event_type_prefix" => filter.event_type_prefix = list,
                "pot_type" => filter.pot_type = list,
                "node" => filter.node = list,
                _ => self.problems.push(problem(
                    &path,
                    format!("unknown key (a filter has {})", FILTER.join(", ")),
                )),
            }
        }
        filter
    }
}

fn types() -> Vec<(&'static str, &'static str)> {
    TYPES.iter().map(|t| (*t, *t)).collect()
}

/// A sink name: 1 to 64 of `A-Z a-z 0-9 . _ -` (it appears in metrics labels and paths).
fn sink_name(path: &str, v: &ValueKind) -> Checked<String> {
    let s = string(path, v)?;
    if s.starts_with('_') {
        return Err(vec![
            "must not start with _ (reserved for the Core's own followers)".to_owned(),
        ]);
    }
    if s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        Ok(s)
    } else {
        Err(vec![
            "must be 1 to 64 of A-Z a-z 0-9 . _ - (it names the sink in metrics and paths)"
                .to_owned(),
        ])
    }
}
