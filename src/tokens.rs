//! Named API tokens (`api.tokens_file`, default `<storage.dir>/tokens.toml`): one entry per
//! token with its name, role and the SHA-256 of the token — never the token itself, which is
//! shown once when `honeybee-core token create` makes it. The Core reads the file; the CLI
//! edits it.
//!
//! ```toml
//! [[token]]
//! name = "ops-laptop"
//! role = "admin"          # or "read"
//! sha256 = "9f86d0…"      # hex of SHA-256 of the token's text
//! created_at = "2025-01-15T10:30:00Z"
//! ```

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::SystemTime;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use honeybee_protocol::Timestamp;
use sha2::{Digest, Sha256};

mod format;
#[cfg(test)]
mod tests;

use format::{parse, render};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Everything, including changes.
    Admin,
    /// `GET`s only.
    Read,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Read => "read",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Role, String> {
        match text {
            "admin" => Ok(Role::Admin),
            "read" => Ok(Role::Read),
            _ => Err("a role is \"admin\" or \"read\"".to_owned()),
        }
    }
}

/// One entry of the file.
#[derive(Clone, PartialEq, Eq)]
pub struct NamedToken {
    pub name: String,
    pub role: Role,
    /// Lowercase hex of the SHA-256 of the token.
    pub sha256: String,
    /// RFC 3339, UTC.
    pub created_at: String,
}

impl fmt::Debug for NamedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NamedToken")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("sha256", &"<redacted>")
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// The named tokens, as loaded from (and saved to) the tokens file.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TokenFile {
    tokens: Vec<NamedToken>,
}

impl fmt::Debug for TokenFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.tokens).finish()
    }
}

/// Why the tokens file could not be read, written or changed. Messages name the file and the
/// problem, never a token or a hash.
#[derive(Debug, thiserror::Error)]
pub enum TokenFileError {
    #[error("cannot read the tokens file {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("the tokens file {} is invalid:\n{}", path.display(), problems.join("\n"))]
    Invalid {
        path: PathBuf,
        /// One line per problem.
        problems: Vec<String>,
    },
    #[error("cannot write the tokens file {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error(
        "invalid token name {0:?}: use 1 to {MAX_NAME} characters of A-Z, a-z, 0-9, '.', '_', '-'"
    )]
    BadName(String),
    #[error("a token named {0:?} already exists")]
    DuplicateName(String),
    #[error("the operating system gave no random bytes: {0}")]
    Random(getrandom::Error),
}

/// The longest token name.
pub(crate) const MAX_NAME: usize = 64;

/// Random bytes in a token: 256 bits.
const TOKEN_BYTES: usize = 32;

/// What every generated token starts with (easy to spot in a leak scanner).
const TOKEN_PREFIX: &str = "hb_";

impl TokenFile {
    /// Reads `path`. A missing file is an empty set; anything else that is wrong is an error
    /// naming the file and every problem found.
    pub fn load(path: &Path) -> Result<TokenFile, TokenFileError> {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(TokenFile::default()),
            Err(source) => {
                return Err(TokenFileError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        parse(&text).map_err(|problems| TokenFileError::Invalid {
            path: path.to_path_buf(),
            problems,
        })
    }

    /// Writes the file atomically (a private temporary file renamed over it): mode 0600, its
    /// directory created 0700 when missing.
    pub fn save(&self, path: &Path) -> Result<(), TokenFileError> {
        write_private(path, render(&self.tokens).as_bytes()).map_err(|source| {
            TokenFileError::Write {
                path: path.to_path_buf(),
                source,
            }
        })
    }

    /// Adds a token named `name` with `role`; returns the token, which is not kept anywhere:
    /// this is the only time it is seen.
    pub fn create(&mut self, name: &str, role: Role) -> Result<String, TokenFileError> {
        if !valid_name(name) {
            return Err(TokenFileError::BadName(name.to_owned()));
        }
        if self.tokens.iter().any(|t| t.name == name) {
            return Err(TokenFileError::DuplicateName(name.to_owned()));
        }
        let token = random_token().map_err(TokenFileError::Random)?;
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let created_at = Timestamp::from_unix_seconds(now)
            .map_or_else(|_| "1970-01-01T00:00:00Z".to_owned(), |t| t.to_string());
        self.tokens.push(NamedToken {
            name: name.to_owned(),
            role,
            sha256: sha256_hex(&token),
            created_at,
        });
        Ok(token)
    }

    /// Removes the token named `name`; whether there was one.
    pub fn revoke(&mut self, name: &str) -> bool {
        let before = self.tokens.len();
        self.tokens.retain(|t| t.name != name);
        self.tokens.len() != before
    }

    pub fn tokens(&self) -> &[NamedToken] {
        &self.tokens
    }

    /// The name and role of the token `presented`, if it is one of these. Its hash is compared
    /// with every entry, each in constant time, so timing tells nothing about which matched.
    pub fn verify(&self, presented: &str) -> Option<(&str, Role)> {
        let hash = sha256_hex(presented);
        self.tokens.iter().fold(None, |found, t| {
            let matched = same(hash.as_bytes(), t.sha256.as_bytes());
            if matched {
                Some((t.name.as_str(), t.role))
            } else {
                found
            }
        })
    }
}

/// A new token: "hb_" and 43 URL-safe base64 characters (256 bits from the OS).
///
/// # Panics
/// If the operating system cannot provide random bytes (`getrandom` fails), which Linux does
/// not do once booted. [`TokenFile::create`] reports that as an error instead.
#[allow(clippy::expect_used)]
pub fn generate_token() -> String {
    random_token().expect("the OS random number generator works")
}

pub(crate) fn random_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes)?;
    Ok(format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// Lowercase hex of the SHA-256 of `text`.
pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            hex.push(char::from(HEX[usize::from(byte >> 4)]));
            hex.push(char::from(HEX[usize::from(byte & 0xf)]));
            hex
        })
}

pub(crate) const HEX: &[u8; 16] = b"0123456789abcdef";

/// Whether `a` and `b` are equal, in time that depends only on their lengths.
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub(crate) fn valid_name(name: &str) -> bool {
    (1..=MAX_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Writes `bytes` to `path` through a private temporary file in the same directory, renamed
/// over `path` once it is on disk.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    create_private_dir(dir)?;
    let file_name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?;
    let temp = dir.join(format!(
        ".{}.{}.tmp",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    // A leftover from a process that died is ours to replace (create_new then refuses links).
    match fs::remove_file(&temp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let written = write_new_private(&temp, bytes).and_then(|()| fs::rename(&temp, path));
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written?;
    // The rename is durable once the directory is.
    fs::File::open(dir)?.sync_all()
}

fn write_new_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(bytes)?;
    file.sync_all()
}

pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}
