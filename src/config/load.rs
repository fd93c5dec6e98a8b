//! Loads the config: TOML text (a file, or a string) merged with `HONEYBEE__SECTION__KEY`
//! environment overrides by the `config` crate, then validated into a typed [`Config`].
//!
//! Validation collects every problem before failing: the merged tree is walked against the
//! known keys (`keys.rs`) for unknown sections and keys, then every value is checked
//! (`read.rs`). Loading is pure apart from reading the file: the environment is a parameter.

use std::fmt;
use std::path::Path;

use config::{File, FileFormat, Map, Value, ValueKind};

use super::Config;

mod checks;
mod keys;
mod outputs;
mod read;

#[cfg(test)]
#[path = "tests.rs"]
mod tests;

/// Prefix of an environment override (matched case-insensitively).
const ENV_PREFIX: &str = "HONEYBEE__";

/// One thing wrong with a config: which key (`section.key`, or a file or variable name when no
/// key applies) and why. Never contains the value of a secret key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// An invalid config: every problem found, one per line, in config-table order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(.problems))]
pub struct ConfigError {
    problems: Vec<Problem>,
}

impl ConfigError {
    /// Every problem, in display order.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    fn one(key: impl Into<String>, message: impl Into<String>) -> Self {
        let problem = Problem {
            key: key.into(),
            message: message.into(),
        };
        ConfigError {
            problems: vec![problem],
        }
    }
}

fn render(problems: &[Problem]) -> String {
    let lines: Vec<String> = problems.iter().map(Problem::to_string).collect();
    lines.join("\n")
}

/// Loads the TOML file at `path` plus the `HONEYBEE__SECTION__KEY` overrides among `env`
/// (pass the process environment in production, e.g. `std::env::vars()`), and validates it.
/// A file that cannot be read is an error naming its path.
pub fn load(
    path: &Path,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Config, ConfigError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::one(&origin, format!("cannot read the config file: {e}")))?;
    load_text(&text, &origin, env)
}

/// [`load`] from TOML text instead of a file (pure).
pub fn load_str(
    toml: &str,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Config, ConfigError> {
    load_text(toml, "config", env)
}

fn load_text(
    text: &str,
    origin: &str,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Config, ConfigError> {
    let mut problems = Vec::new();
    let overrides = env_overrides(env, &mut problems);
    match merge(text, origin, &overrides) {
        Ok(root) => {
            check_tree(&root, &mut problems);
            let config = read::read(&root, &mut problems);
            if problems.is_empty() {
                return Ok(config);
            }
        }
        Err(problem) => problems.push(problem),
    }
    name_env_sources(&mut problems, &overrides);
    problems.sort_by_key(|p| keys::rank(&p.key));
    Err(ConfigError { problems })
}

/// An environment override of a known key.
#[derive(Debug)]
struct Override {
    path: String,
    var: String,
    value: ValueKind,
}

/// Picks the `HONEYBEE__SECTION__KEY` variables out of `env`; a malformed or unknown name is a
/// problem.
fn env_overrides(
    env: impl IntoIterator<Item = (String, String)>,
    problems: &mut Vec<Problem>,
) -> Vec<Override> {
    let mut overrides: Vec<Override> = Vec::new();
    for (var, raw) in env {
        let Some(path) = env_path(&var, problems) else {
            continue;
        };
        let Some(key) = keys::find_path(&path) else {
            continue;
        };
        let value = keys::env_value(key.kind, &raw);
        match overrides.iter().find(|o| o.path == path) {
            Some(earlier) if earlier.value != value => {
                let message = format!("set differently by {} and {var}", earlier.var);
                problems.push(Problem { key: path, message });
            }
            Some(_) => {}
            None => overrides.push(Override { path, var, value }),
        }
    }
    overrides
}

/// `HONEYBEE__SERVER__NODE_PORT` → `server.node_port`; `None` for variables that are not
/// overrides, and for bad ones after recording why.
fn env_path(var: &str, problems: &mut Vec<Problem>) -> Option<String> {
    let prefix = var.get(..ENV_PREFIX.len())?;
    if !prefix.eq_ignore_ascii_case(ENV_PREFIX) {
        return None;
    }
    let rest = var[ENV_PREFIX.len()..].to_ascii_lowercase();
    let (path, message) = match rest.split("__").collect::<Vec<_>>()[..] {
        ["outputs", ..] => (
            "outputs".to_owned(),
            format!(
                "[[outputs]] is a list of tables and cannot be set from the environment (from \
                 {var}); secrets have *_file forms"
            ),
        ),
        [section, name] if !section.is_empty() && !name.is_empty() => {
            match (keys::is_section(section), keys::find(section, name)) {
                (_, Some(_)) => return Some(format!("{section}.{name}")),
                (true, None) => (
                    format!("{section}.{name}"),
                    format!("unknown key (from {var})"),
                ),
                (false, None) => (section.to_owned(), format!("unknown section (from {var})")),
            }
        }
        _ => (
            var.to_owned(),
            "not an override name: use HONEYBEE__SECTION__KEY".to_owned(),
        ),
    };
    problems.push(Problem { key: path, message });
    None
}

fn problem(key: &str, message: impl Into<String>) -> Problem {
    Problem {
        key: key.to_owned(),
        message: message.into(),
    }
}

/// Merges the TOML text and the overrides with the `config` crate into one tree.
fn merge(text: &str, origin: &str, overrides: &[Override]) -> Result<Map<String, Value>, Problem> {
    let mut builder = config::Config::builder().add_source(File::from_str(text, FileFormat::Toml));
    for o in overrides {
        builder = builder
            .set_override(&o.path, Value::new(None, o.value.clone()))
            .map_err(|e| problem(&o.path, e.to_string()))?;
    }
    let merged = builder.build().map_err(|e| parse_error(origin, &e))?;
    match merged.cache.kind {
        ValueKind::Table(root) => Ok(root),
        _ => Ok(Map::new()),
    }
}

/// A TOML syntax error, without the quoted source lines (they could hold a secret).
fn parse_error(origin: &str, error: &config::ConfigError) -> Problem {
    let text = match error {
        config::ConfigError::FileParse { cause, .. } => cause.to_string(),
        other => other.to_string(),
    };
    let kept: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !is_source_excerpt(line))
        .collect();
    problem(origin, format!("invalid TOML: {}", kept.join(": ")))
}

/// The `12 | key = "value"` and `|    ^` lines of a toml error.
fn is_source_excerpt(line: &str) -> bool {
    line.trim_start_matches(|c: char| c.is_ascii_digit())
        .trim_start()
        .starts_with('|')
}

/// Walks the merged tree against the known keys: unknown sections and keys, and sections that
/// are not tables.
fn check_tree(root: &Map<String, Value>, problems: &mut Vec<Problem>) {
    for (section, value) in root {
        if section == "outputs" {
            continue; // an array of tables: `outputs.rs` checks each by its type
        }
        if !keys::is_section(section) {
            problems.push(problem(section, "unknown section"));
            continue;
        }
        let ValueKind::Table(table) = &value.kind else {
            problems.push(problem(section, "must be a table (a [section])"));
            continue;
        };
        for name in table.keys() {
            if keys::find(section, name).is_none() {
                problems.push(problem(&format!("{section}.{name}"), "unknown key"));
            }
        }
    }
}

/// Appends `(from HONEYBEE__…)` to problems about values that came from the environment.
fn name_env_sources(problems: &mut [Problem], overrides: &[Override]) {
    for p in problems.iter_mut() {
        let source = overrides.iter().find(|o| o.path == p.key);
        if let Some(o) = source.filter(|o| !p.message.contains(&o.var)) {
            p.message = format!("{} (from {})", p.message, o.var);
        }
    }
}
