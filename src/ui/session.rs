//! Dashboard sessions: a sign-in with an API token yields a random session id, sent to the
//! browser as an `HttpOnly`, `SameSite=Strict` cookie. The token stays on the server, in this
//! table only, and is checked again on every request, so a session ends as soon as its token is
//! revoked or removed from the tokens file. Sessions also end at sign-out, after
//! `api.ui_session_idle_secs` unused and `api.ui_session_max_secs` after sign-in. The table is
//! keyed by the SHA-256 of the session id (a memory dump shows no usable cookie) and bounded.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::api::auth::{Caller, Principal, Tokens};
use crate::tokens::{random_token, same, sha256_hex};

/// The session cookie's name.
pub(crate) const COOKIE: &str = "hb_session";

/// Sessions kept at most; past it the least recently used goes.
const MAX_SESSIONS: usize = 10_000;

/// What the dashboard's sessions are configured with.
#[derive(Debug, Clone)]
pub struct UiSettings {
    pub idle: Duration,
    pub max: Duration,
    /// The API itself serves HTTPS.
    pub https: bool,
    pub trusted_proxies: Vec<IpAddr>,
}

struct Session {
    token: String,
    csrf: String,
    created: Instant,
    used: Instant,
}

/// The sessions of every signed-in browser (cheap to clone; one table).
#[derive(Clone)]
pub struct Sessions {
    table: Arc<Mutex<HashMap<String, Session>>>,
    settings: Arc<UiSettings>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions").finish_non_exhaustive()
    }
}

/// A signed-in viewer of one request.
#[derive(Debug, Clone)]
pub(crate) struct Viewer {
    pub principal: Principal,
    /// This session's CSRF token (every form carries it).
    pub csrf: String,
    /// For the live stream: who, and the token to check again while it stays open.
    pub caller: Caller,
}

impl Viewer {
    /// Whether `presented` is this session's CSRF token (compared in constant time).
    pub(crate) fn csrf_ok(&self, presented: Option<&str>) -> bool {
        presented.is_some_and(|p| same(p.as_bytes(), self.csrf.as_bytes()))
    }
}

impl Sessions {
    pub fn new(settings: UiSettings) -> Sessions {
        Sessions {
            table: Arc::default(),
            settings: Arc::new(settings),
        }
    }

    pub(crate) fn settings(&self) -> &UiSettings {
        &self.settings
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts a session for `token` (already identified); returns the cookie's value.
    pub(crate) fn start(&self, token: &str) -> Result<String, getrandom::Error> {
        let id = random_token()?;
        let csrf = random_token()?;
        let now = Instant::now();
        let mut table = self.lock();
        self.expire(&mut table, now);
        if table.len() >= MAX_SESSIONS
            && let Some(oldest) = table
                .iter()
                .min_by_key(|(_, s)| s.used)
                .map(|(k, _)| k.clone())
        {
            table.remove(&oldest);
        }
        table.insert(
            sha256_hex(&id),
            Session {
                token: token.to_owned(),
                csrf,
                created: now,
                used: now,
            },
        );
        Ok(id)
    }

    fn expire(&self, table: &mut HashMap<String, Session>, now: Instant) {
        let (idle, max) = (self.settings.idle, self.settings.max);
        table.retain(|_, s| {
            now.duration_since(s.used) < idle && now.duration_since(s.created) < max
        });
    }

    /// The viewer of the session `id`, if it is still valid (its token too); marks it used.
    pub(crate) fn resolve(&self, id: &str, tokens: &Tokens) -> Option<Viewer> {
        let key = sha256_hex(id);
        let now = Instant::now();
        let (token, csrf) = {
            let mut table = self.lock();
            let session = table.get_mut(&key)?;
            if now.duration_since(session.used) >= self.settings.idle
                || now.duration_since(session.created) >= self.settings.max
            {
                table.remove(&key);
                return None;
            }
            session.used = now;
            (session.token.clone(), session.csrf.clone())
        };
        match tokens.identify(&token) {
            Some(principal) => Some(Viewer {
                caller: Caller::new(principal.clone(), token),
                principal,
                csrf,
            }),
            None => {
                // Its token was revoked or removed: the session ends with it.
                self.lock().remove(&key);
                None
            }
        }
    }

    /// Whether the session `id` is still open (not ended, not timed out), without using it.
    pub(crate) fn alive(&self, id: &str) -> bool {
        let now = Instant::now();
        self.lock().get(&sha256_hex(id)).is_some_and(|s| {
            now.duration_since(s.used) < self.settings.idle
                && now.duration_since(s.created) < self.settings.max
        })
    }

    /// Ends the session `id` (sign-out).
    pub(crate) fn end(&self, id: &str) {
        self.lock().remove(&sha256_hex(id));
    }

    /// Sessions open now (expired ones are dropped first).
    pub(crate) fn count(&self) -> usize {
        let mut table = self.lock();
        self.expire(&mut table, Instant::now());
        table.len()
    }
}

/// The session id a request's `Cookie` header carries, if any.
pub(crate) fn cookie_of(request: &actix_web::HttpRequest) -> Option<String> {
    request
        .headers()
        .get_all(actix_web::http::header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_owned())
}

/// The `Set-Cookie` value that stores session `id` (`Secure` when the browser reached the
/// Core over HTTPS).
pub(crate) fn set_cookie(id: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict{secure}")
}

/// The `Set-Cookie` value that removes the session cookie.
pub(crate) fn clear_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sessions(idle: u64, max: u64) -> Sessions {
        Sessions::new(UiSettings {
            idle: Duration::from_millis(idle),
            max: Duration::from_millis(max),
            https: false,
            trusted_proxies: vec![],
        })
    }

    #[test]
    fn a_session_lives_while_its_token_does() {
        let tokens = Tokens::new(Some("admin-token-0123456789".into()), vec![]);
        let s = sessions(60_000, 60_000);
        let id = s.start("admin-token-0123456789").unwrap();
        let viewer = s.resolve(&id, &tokens).unwrap();
        assert!(viewer.principal.admin);
        assert!(viewer.csrf_ok(Some(&viewer.csrf)));
        assert!(!viewer.csrf_ok(Some("nope")));
        assert!(!viewer.csrf_ok(None));
        assert!(s.resolve("another", &tokens).is_none());
        let revoked = Tokens::new(Some("other-token-0123456789".into()), vec![]);
        assert!(s.resolve(&id, &revoked).is_none());
        // Gone for good, even if the token came back.
        assert!(s.resolve(&id, &tokens).is_none());
        let id = s.start("admin-token-0123456789").unwrap();
        assert!(s.alive(&id));
        s.end(&id);
        assert!(!s.alive(&id));
        assert!(s.resolve(&id, &tokens).is_none());
    }

    #[test]
    fn idle_and_old_sessions_end() {
        let tokens = Tokens::new(Some("admin-token-0123456789".into()), vec![]);
        let s = sessions(30, 60_000);
        let id = s.start("admin-token-0123456789").unwrap();
        std::thread::sleep(Duration::from_millis(50));
        assert!(s.resolve(&id, &tokens).is_none());
        let s = sessions(60_000, 40);
        let id = s.start("admin-token-0123456789").unwrap();
        std::thread::sleep(Duration::from_millis(20));
        assert!(s.resolve(&id, &tokens).is_some());
        std::thread::sleep(Duration::from_millis(30));
        assert!(s.resolve(&id, &tokens).is_none());
        assert_eq!(s.count(), 0);
    }

    #[test]
    fn the_cookie_is_strict_and_http_only() {
        let cookie = set_cookie("abc", true);
        for part in [
            "hb_session=abc",
            "HttpOnly",
            "SameSite=Strict",
            "Path=/",
            "Secure",
        ] {
            assert!(cookie.contains(part), "{cookie}");
        }
        assert!(!set_cookie("abc", false).contains("Secure"));
    }
}
