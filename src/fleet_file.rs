//! The fleet file (`fleet.file`): the desired state of the fleet — which pots each node should
//! run — as TOML, by node name or id (`conf/fleet.example.toml` documents it). A node the file
//! lists is managed: pots it runs that the file does not list are stopped. Overrides through
//! the API sit on top (see `honeybee_actors::policy::desired`).
//!
//! Parsing is pure and reports every problem at once, each with its TOML path; loading a file
//! is a thin wrapper. Every value is checked with the same validators as a command, so nothing
//! the file says can reach a node unless it could be sent through the API too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use honeybee_actors::policy::{DesiredPot, FileNode, RestartPolicy};
use honeybee_protocol::{AllowedSources, validate};

#[cfg(test)]
mod tests;

/// The parsed fleet file (the registry's own type: the file is parsed here, decided on there).
pub use honeybee_actors::policy::FleetFile;

/// Why the fleet file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FleetFileError {
    #[error("cannot read the fleet file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid fleet file {}:\n{}", path.display(), problems.join("\n"))]
    Invalid {
        path: PathBuf,
        problems: Vec<String>,
    },
}

/// Reads and parses the fleet file at `path`.
pub fn load(path: &Path, allowed: &AllowedSources) -> Result<FleetFile, FleetFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| FleetFileError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(&text, allowed).map_err(|problems| FleetFileError::Invalid {
        path: path.to_owned(),
        problems,
    })
}

/// Parses the fleet file's text; on failure, every problem, each as `path: what is wrong`.
pub fn parse(text: &str, allowed: &AllowedSources) -> Result<FleetFile, Vec<String>> {
    let root: toml::Table = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map_or(0, |span| text[..span.start.min(text.len())].lines().count());
        vec![format!("line {}: {}", line.max(1), e.message().trim())]
    })?;
    let mut parser = Parser {
        allowed,
        problems: Vec::new(),
        fleet: FleetFile::default(),
    };
    for (key, value) in &root {
        match key.as_str() {
            "nodes" => parser.nodes(value),
            _ => parser.problem(
                &quote_key(key),
                "unknown key (the file holds [nodes.<name or id>.pots.<pot_id>] tables)",
            ),
        }
    }
    if parser.problems.is_empty() {
        Ok(parser.fleet)
    } else {
        Err(parser.problems)
    }
}

/// Keys of a pot's table.
const POT_KEYS: &str = "type, restart, git_url, git_branch, config";

struct Parser<'a> {
    allowed: &'a AllowedSources,
    problems: Vec<String>,
    fleet: FleetFile,
}

impl Parser<'_> {
    fn problem(&mut self, path: &str, message: impl std::fmt::Display) {
        self.problems.push(format!("{path}: {message}"));
    }

    fn nodes(&mut self, value: &toml::Value) {
        let Some(nodes) = self.table("nodes", value) else {
            return;
        };
        for (key, value) in nodes {
            let path = format!("nodes.{}", quote_key(key));
            let node = self.node(&path, value);
            self.add_node(&path, key, node);
        }
    }

    /// Files the node under its id (a key of digits) or its name.
    fn add_node(&mut self, path: &str, key: &str, node: Option<FileNode>) {
        if !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit()) {
            let Ok(id) = key.parse::<u64>() else {
                return self.problem(path, "a node id must be at most 18446744073709551615");
            };
            if self.fleet.by_id.contains_key(&id) {
                return self.problem(path, format_args!("node id {id} is listed twice"));
            }
            if let Some(node) = node {
                self.fleet.by_id.insert(id, node);
            }
        } else if let Err(e) = validate::node_name(key) {
            self.problem(path, format_args!("node name {}", e.reason));
        } else if let Some(node) = node {
            self.fleet.by_name.insert(key.to_owned(), node);
        }
    }

    fn node(&mut self, path: &str, value: &toml::Value) -> Option<FileNode> {
        let table = self.table(path, value)?;
        let before = self.problems.len();
        let mut node = FileNode::default();
        for (key, value) in table {
            let path = format!("{path}.{}", quote_key(key));
            if key != "pots" {
                self.problem(&path, "unknown key (a node has only pots)");
                continue;
            }
            let Some(pots) = self.table(&path, value) else {
                continue;
            };
            for (pot_id, value) in pots {
                let path = format!("{path}.{}", quote_key(pot_id));
                if let Err(e) = validate::pot_id(pot_id) {
                    self.problem(&path, format_args!("pot_id {}", e.reason));
                }
                if let Some(pot) = self.pot(&path, value) {
                    node.pots.insert(pot_id.clone(), pot);
                }
            }
        }
        (self.problems.len() == before).then_some(node)
    }

    fn pot(&mut self, path: &str, value: &toml::Value) -> Option<DesiredPot> {
        let table = self.table(path, value)?;
        let before = self.problems.len();
        let mut pot = DesiredPot::of_type("");
        for (key, value) in table {
            let path = format!("{path}.{}", quote_key(key));
            match key.as_str() {
                "type" => pot.pot_type = self.checked(&path, value, validate::honeypot_type),
                "restart" => pot.restart = self.restart(&path, value),
                "git_url" => pot.git_url = self.git_url(&path, value),
                "git_branch" => {
                    pot.git_branch = Some(self.checked(&path, value, validate::git_branch));
                }
                "config" => pot.config = self.config(&path, value),
                _ => self.problem(&path, format_args!("unknown key (a pot has {POT_KEYS})")),
            }
        }
        if !table.contains_key("type") {
            self.problem(&format!("{path}.type"), "missing (the pot's honeypot type)");
        }
        (self.problems.len() == before).then_some(pot)
    }

    fn restart(&mut self, path: &str, value: &toml::Value) -> Option<RestartPolicy> {
        let name = self.string(path, value)?;
        let policy = RestartPolicy::parse(name);
        if policy.is_none() {
            let names: Vec<String> = RestartPolicy::ALL
                .iter()
                .map(|p| format!("{:?}", p.as_str()))
                .collect();
            let got = quote_value(name);
            self.problem(
                path,
                format_args!("must be {}, got {got}", names.join(", ")),
            );
        }
        policy
    }

    fn git_url(&mut self, path: &str, value: &toml::Value) -> Option<String> {
        let url = self.string(path, value)?;
        if let Err(e) = self.allowed.check(url) {
            self.problem(path, e);
        }
        Some(url.to_owned())
    }

    fn config(&mut self, path: &str, value: &toml::Value) -> BTreeMap<String, String> {
        let mut config = BTreeMap::new();
        let Some(table) = self.table(path, value) else {
            return config;
        };
        for (key, value) in table {
            let path = format!("{path}.{}", quote_key(key));
            if let Err(e) = validate::config_key(key) {
                self.problem(&path, format_args!("config key {}", e.reason));
            }
            let text = match value {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(n) => n.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                other => {
                    let kind = kind(other);
                    self.problem(
                        &path,
                        format_args!("must be a string, a number or a boolean, got {kind}"),
                    );
                    continue;
                }
            };
            if let Err(e) = validate::config_value(key, &text) {
                self.problem(&path, e.reason);
            }
            config.insert(key.clone(), text);
        }
        config
    }

    /// A string checked by a protocol validator (whose reason follows the path).
    fn checked(
        &mut self,
        path: &str,
        value: &toml::Value,
        check: fn(&str) -> Result<(), validate::FieldError>,
    ) -> String {
        let Some(text) = self.string(path, value) else {
            return String::new();
        };
        if let Err(e) = check(text) {
            self.problem(path, e.reason);
        }
        text.to_owned()
    }

    fn string<'v>(&mut self, path: &str, value: &'v toml::Value) -> Option<&'v str> {
        match value {
            toml::Value::String(s) => Some(s),
            other => {
                self.problem(path, format_args!("must be a string, got {}", kind(other)));
                None
            }
        }
    }

    fn table<'v>(&mut self, path: &str, value: &'v toml::Value) -> Option<&'v toml::Table> {
        match value {
            toml::Value::Table(t) => Some(t),
            other => {
                self.problem(path, format_args!("must be a table, got {}", kind(other)));
                None
            }
        }
    }
}

/// A key as a TOML path shows it: bare when it may be, else quoted and escaped.
fn quote_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
        key.to_owned()
    } else {
        quote_value(key)
    }
}

/// A string as a TOML basic string (one line: control characters escaped), cut at 80
/// characters.
fn quote_value(text: &str) -> String {
    let mut quoted = String::from("\"");
    for c in text.chars().take(80) {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\t' => quoted.push_str("\\t"),
            '\r' => quoted.push_str("\\r"),
            c if c.is_control() => quoted.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    if text.chars().nth(80).is_some() {
        quoted.push_str("...");
    }
    quoted
}

fn kind(value: &toml::Value) -> &'static str {
    match value {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "an integer",
        toml::Value::Float(_) => "a float",
        toml::Value::Boolean(_) => "a boolean",
        toml::Value::Datetime(_) => "a date-time",
        toml::Value::Array(_) => "an array",
        toml::Value::Table(_) => "a table",
    }
}
