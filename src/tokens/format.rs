//! The tokens file's text: parsed from a generic TOML table so that every problem is found and
//! reported in words that never quote a value, and rendered with one `[[token]]` table per
//! entry.

use super::{HEX, MAX_NAME, NamedToken, Role, TokenFile, valid_name};

/// Parses the file's text; every problem, in words that never quote a value (a token pasted
/// into the wrong place must not end up in a terminal or a log).
pub(super) fn parse(text: &str) -> Result<TokenFile, Vec<String>> {
    let table: toml::Table = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map_or(0, |span| text[..span.start.min(text.len())].lines().count());
        vec![format!("line {}: {}", line.max(1), e.message().trim())]
    })?;
    let mut problems = Vec::new();
    for key in table.keys().filter(|k| *k != "token") {
        problems.push(format!(
            "unknown key {key:?} (entries are [[token]] tables)"
        ));
    }
    let entries = match table.get("token") {
        None => &Vec::new(),
        Some(toml::Value::Array(entries)) => entries,
        Some(_) => {
            problems.push("\"token\" must be a list of [[token]] tables".to_owned());
            &Vec::new()
        }
    };
    let mut tokens: Vec<NamedToken> = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let Some(token) = parse_entry(entry, i + 1, &mut problems) else {
            continue;
        };
        if tokens.iter().any(|t| t.name == token.name) {
            problems.push(format!(
                "token {}: the name {:?} is used twice",
                i + 1,
                token.name
            ));
        }
        tokens.push(token);
    }
    if problems.is_empty() {
        Ok(TokenFile { tokens })
    } else {
        Err(problems)
    }
}

/// The `n`th `[[token]]` table (1-based), or `None` with its problems added to `problems`.
fn parse_entry(entry: &toml::Value, n: usize, problems: &mut Vec<String>) -> Option<NamedToken> {
    let before = problems.len();
    let Some(table) = entry.as_table() else {
        problems.push(format!("token {n}: not a table"));
        return None;
    };
    for key in table.keys() {
        if !matches!(key.as_str(), "name" | "role" | "sha256" | "created_at") {
            problems.push(format!("token {n}: unknown key {key:?}"));
        }
    }
    let mut field = |key: &str| match table.get(key) {
        Some(toml::Value::String(s)) => Some(s.clone()),
        Some(_) => {
            problems.push(format!("token {n}: {key} must be a string"));
            None
        }
        None => {
            problems.push(format!("token {n}: {key} is missing"));
            None
        }
    };
    let (name, role, sha256, created_at) = (
        field("name"),
        field("role"),
        field("sha256"),
        field("created_at"),
    );
    let name = name.filter(|name| valid_name(name));
    if table.get("name").is_some_and(toml::Value::is_str) && name.is_none() {
        problems.push(format!(
            "token {n}: the name must be 1 to {MAX_NAME} characters of A-Z, a-z, 0-9, '.', '_', '-'"
        ));
    }
    let role = role.and_then(|role| match role.parse::<Role>() {
        Ok(role) => Some(role),
        Err(_) => {
            problems.push(format!("token {n}: role must be \"admin\" or \"read\""));
            None
        }
    });
    let sha256 = sha256.and_then(|hash| {
        let hash = hash.to_ascii_lowercase();
        if hash.len() == 64 && hash.bytes().all(|b| HEX.contains(&b)) {
            return Some(hash);
        }
        problems.push(format!(
            "token {n}: sha256 must be 64 hex digits (the hash of the token, not the token)"
        ));
        None
    });
    if problems.len() != before {
        return None;
    }
    Some(NamedToken {
        name: name?,
        role: role?,
        sha256: sha256?,
        created_at: created_at?,
    })
}

/// The file's text.
pub(super) fn render(tokens: &[NamedToken]) -> String {
    let mut out = String::from(
        "# HoneyBee Core API tokens, managed with `honeybee-core token`. Only SHA-256 hashes of\n\
         # the tokens are kept; the Core picks up changes on SIGHUP or within a few seconds.\n",
    );
    for token in tokens {
        // A TOML string value's Display is its quoted, escaped form.
        let quoted = |s: &str| toml::Value::from(s).to_string();
        out.push_str(&format!(
            "\n[[token]]\nname = {}\nrole = {}\nsha256 = {}\ncreated_at = {}\n",
            quoted(&token.name),
            quoted(token.role.as_str()),
            quoted(&token.sha256),
            quoted(&token.created_at),
        ));
    }
    out
}
