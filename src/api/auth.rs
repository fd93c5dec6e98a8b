//! Who may do what. Every request under `/api/` passes [`guard`]: it needs a bearer token —
//! the admin token (`api.token`, or the one generated into `<storage.dir>/api-token`), a
//! read-only token (`api.read_tokens`), or a named token from the tokens file — or, for the
//! stream only, a single-use ticket. Read tokens get 403 on anything but `GET`. Every
//! state-changing request made with a valid token is written to the audit log with the token's
//! name and the source address, whatever its outcome; requests without one are only counted.
//! Tokens are compared as SHA-256 digests in constant time and never reach a log or an error
//! message.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, ResponseError, web};
use honeybee_store::AuditRow;

use super::error::{ApiError, Code};
use super::server::ApiState;
use crate::tokens::{random_token, same, sha256_hex};

/// How long a stream ticket stays valid.
pub const TICKET_TTL: Duration = Duration::from_secs(30);
/// Tickets outstanding at most, in all and per token (each is tiny; the bounds keep one busy
/// client from growing the table or using up everybody's share).
const MAX_TICKETS: usize = 10_000;
const MAX_TICKETS_PER_TOKEN: usize = 100;

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's name in the audit log: `admin` (api.token), `generated` (the generated
    /// file's token), `read` (a read token), or a named token's name.
    pub name: String,
    pub admin: bool,
}

/// Named tokens (the tokens file); reloaded on SIGHUP.
pub trait NamedTokens: Send + Sync + 'static {
    /// The name and admin flag of the token `presented`, comparing in constant time.
    fn verify(&self, presented: &str) -> Option<Principal>;
}

/// The tokens the API accepts, kept as SHA-256 digests: comparing digests of equal length
/// says nothing about a token's length or content.
#[derive(Clone, Default)]
pub struct Tokens {
    admin: Option<String>,
    generated: Option<String>,
    read: Vec<String>,
    named: Arc<Mutex<Option<Arc<dyn NamedTokens>>>>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("admin", &self.admin.as_ref().map(|_| "<redacted>"))
            .field("generated", &self.generated.as_ref().map(|_| "<redacted>"))
            .field("read", &self.read.len())
            .finish_non_exhaustive()
    }
}

impl Tokens {
    pub fn new(admin: Option<String>, read: Vec<String>) -> Self {
        Tokens {
            admin: admin.as_deref().map(sha256_hex),
            read: read.iter().map(|t| sha256_hex(t)).collect(),
            ..Tokens::default()
        }
    }

    /// Also accepts the generated admin token.
    pub fn with_generated(mut self, token: Option<String>) -> Self {
        self.generated = token.as_deref().map(sha256_hex);
        self
    }

    /// Replaces the named tokens (at start and on SIGHUP); every clone sees the new set.
    pub fn set_named(&self, named: Arc<dyn NamedTokens>) {
        *self.named.lock().unwrap_or_else(PoisonError::into_inner) = Some(named);
    }

    /// Who `presented` is, if anybody. Every configured token is compared, so the time taken
    /// does not say which one matched.
    pub fn identify(&self, presented: &str) -> Option<Principal> {
        let digest = sha256_hex(presented);
        let p = digest.as_bytes();
        let matches = |t: &Option<String>| t.as_deref().is_some_and(|t| same(p, t.as_bytes()));
        let admin = matches(&self.admin);
        let generated = matches(&self.generated);
        let read = self
            .read
            .iter()
            .fold(false, |any, t| same(p, t.as_bytes()) | any);
        let named = self
            .named
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let named = named.and_then(|n| n.verify(presented));
        let principal = |name: &str, admin: bool| Principal {
            name: name.to_owned(),
            admin,
        };
        if admin {
            Some(principal("admin", true))
        } else if generated {
            Some(principal("generated", true))
        } else if read {
            Some(principal("read", false))
        } else {
            named
        }
    }
}

/// The bearer token of a request, if any.
fn bearer(request: &HttpRequest) -> Option<&str> {
    request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// Who made the request, by its bearer token.
pub fn principal(request: &HttpRequest, tokens: &Tokens) -> Option<Principal> {
    bearer(request).and_then(|t| tokens.identify(t))
}

/// Who a request came from and the token it showed (kept to check, for as long as a stream
/// stays open, that the token is still valid).
#[derive(Clone, PartialEq, Eq)]
pub struct Caller {
    pub principal: Principal,
    token: String,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("principal", &self.principal)
            .finish_non_exhaustive()
    }
}

impl Caller {
    /// A caller who showed `token` (the dashboard's sessions keep the token server-side).
    pub(crate) fn new(principal: Principal, token: String) -> Caller {
        Caller { principal, token }
    }

    /// Whether the token it came with is still accepted (it may have been revoked since).
    pub fn still_valid(&self, tokens: &Tokens) -> bool {
        tokens.identify(&self.token).is_some()
    }
}

/// Single-use WebSocket tickets (browsers cannot set headers on a WebSocket).
#[derive(Debug, Clone, Default)]
pub struct Tickets {
    issued: Arc<Mutex<HashMap<String, (Caller, Instant)>>>,
}

impl Tickets {
    /// A new ticket for `caller`, valid for [`TICKET_TTL`].
    pub fn issue(&self, caller: Caller) -> Result<String, ApiError> {
        let ticket = random_token().map_err(|_| ApiError::unavailable("no randomness"))?;
        let now = Instant::now();
        let mut issued = self.issued.lock().unwrap_or_else(PoisonError::into_inner);
        issued.retain(|_, (_, at)| now.duration_since(*at) < TICKET_TTL);
        let mine = issued
            .values()
            .filter(|(c, _)| c.token == caller.token)
            .count();
        if issued.len() >= MAX_TICKETS || mine >= MAX_TICKETS_PER_TOKEN {
            return Err(ApiError::new(
                Code::Conflict,
                "too many stream tickets outstanding; use them or wait 30 s",
            ));
        }
        issued.insert(ticket.clone(), (caller, now));
        Ok(ticket)
    }

    /// Takes a ticket (it works once), if it is valid and its token still is.
    pub fn redeem(&self, ticket: &str, tokens: &Tokens) -> Option<Caller> {
        let mut issued = self.issued.lock().unwrap_or_else(PoisonError::into_inner);
        let (caller, at) = issued.remove(ticket)?;
        (at.elapsed() < TICKET_TTL && caller.still_valid(tokens)).then_some(caller)
    }
}

/// The stream's path: the only one a ticket opens.
pub const STREAM_PATH: &str = "/api/v1/stream";
/// Where tickets come from.
const TICKETS_PATH: &str = "/api/v1/stream/tickets";

fn ticket_of(request: &ServiceRequest) -> Option<String> {
    web::Query::<HashMap<String, String>>::from_query(request.query_string())
        .ok()
        .and_then(|q| q.0.get("ticket").cloned())
}

/// The `/api/` gate: authenticates, authorises, and audits state-changing requests.
pub async fn guard(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let Some(state) = request.app_data::<web::Data<ApiState>>().cloned() else {
        return Err(ApiError::unavailable("no API state").into());
    };
    // A stream ticket changes nothing: read tokens may take one (a read-only dashboard).
    let changes =
        !matches!(*request.method(), Method::GET | Method::HEAD) && request.path() != TICKETS_PATH;
    let ticket = (request.path() == STREAM_PATH)
        .then(|| ticket_of(&request))
        .flatten();
    let caller = match ticket {
        Some(ticket) => state.tickets.redeem(&ticket, &state.tokens),
        None => bearer(request.request()).and_then(|token| {
            state.tokens.identify(token).map(|principal| Caller {
                principal,
                token: token.to_owned(),
            })
        }),
    };
    let who = caller.as_ref().map(|c| c.principal.clone());
    let refusal = match &who {
        None => Some(unauthorized()),
        Some(p) if changes && !p.admin => Some(ApiError::new(
            Code::Forbidden,
            "this token may only read; changes need an admin token",
        )),
        Some(_) => None,
    };
    // Requests without a valid token are not audited one by one (anybody could fill the log):
    // they are counted and logged at a limited rate.
    let audit = match &who {
        Some(p) if changes => Some(Audit::of(&request, p)),
        None => {
            state
                .unauthorized
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            None
        }
        Some(_) => None,
    };
    let response = match refusal {
        Some(error) => {
            let (request, _) = request.into_parts();
            ServiceResponse::new(request, error.error_response())
        }
        None => {
            if let Some(caller) = caller {
                request.extensions_mut().insert(caller);
            }
            next.call(request).await?.map_into_boxed_body()
        }
    };
    if let Some(audit) = audit {
        audit.record(&state, response.status().as_u16());
    }
    Ok(response)
}

/// What the audit log keeps of one request (taken before the handler runs).
struct Audit {
    actor: String,
    source: String,
    action: String,
    target: String,
}

impl Audit {
    fn of(request: &ServiceRequest, who: &Principal) -> Audit {
        // The route, never the raw path (which the caller chooses, at any length).
        let pattern = request
            .match_pattern()
            .unwrap_or_else(|| "(no such route)".to_owned());
        Audit {
            actor: who.name.clone(),
            source: request
                .peer_addr()
                .map_or_else(|| "unknown".to_owned(), |a| a.to_string()),
            action: format!("{} {pattern}", request.method()),
            target: honeybee_protocol::error::sanitize(request.path(), 256),
        }
    }

    fn record(self, state: &ApiState, status: u16) {
        record_audit(
            state,
            self.actor,
            self.source,
            self.action,
            self.target,
            status,
        );
    }
}

/// Queues one audit entry: who (the token's name), from where, which route, on what, and the
/// HTTP status it ended with. The dashboard's actions are recorded through it too, under the
/// API route each one stands for.
pub(crate) fn record_audit(
    state: &ApiState,
    actor: String,
    source: String,
    action: String,
    target: String,
    status: u16,
) {
    let row = AuditRow {
        at: SystemTime::now(),
        actor,
        source,
        action,
        target: Some(target),
        outcome: status.to_string(),
    };
    if let Err(e) = state.writer.append_audit(row) {
        log::error!("Cannot queue an audit entry: {e}.");
    }
}

/// The caller the guard attached to a request (handlers under `/api/` always have one).
pub fn caller(request: &HttpRequest) -> Result<Caller, ApiError> {
    request
        .extensions()
        .get::<Caller>()
        .cloned()
        .ok_or_else(unauthorized)
}

pub fn unauthorized() -> ApiError {
    ApiError::new(Code::Unauthorized, "a valid bearer token is required")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_never_printed() {
        let tokens = Tokens::new(Some("s3cret".into()), vec!["r3ad".into()])
            .with_generated(Some("g3n".into()));
        let printed = format!("{tokens:?}");
        for secret in ["s3cret", "r3ad", "g3n"] {
            assert!(!printed.contains(secret), "{printed}");
        }
    }

    #[test]
    fn each_kind_of_token_is_named() {
        let tokens =
            Tokens::new(Some("a".into()), vec!["r".into()]).with_generated(Some("g".into()));
        let name = |t: &str| tokens.identify(t).map(|p| (p.name, p.admin));
        assert_eq!(name("a"), Some(("admin".into(), true)));
        assert_eq!(name("g"), Some(("generated".into(), true)));
        assert_eq!(name("r"), Some(("read".into(), false)));
        assert_eq!(name("x"), None);
        assert_eq!(name(""), None);
    }

    #[test]
    fn a_ticket_works_once_and_only_while_its_token_is_valid() {
        let tokens = Tokens::new(Some("admin-token-0123456789".into()), vec![]);
        let tickets = Tickets::default();
        let caller = Caller {
            principal: Principal {
                name: "admin".into(),
                admin: true,
            },
            token: "admin-token-0123456789".into(),
        };
        let t = tickets.issue(caller.clone()).unwrap();
        assert_eq!(tickets.redeem(&t, &tokens), Some(caller.clone()));
        assert_eq!(tickets.redeem(&t, &tokens), None);
        assert_eq!(tickets.redeem("nope", &tokens), None);
        let t = tickets.issue(caller.clone()).unwrap();
        let revoked = Tokens::new(Some("another-token-0123456789".into()), vec![]);
        assert_eq!(tickets.redeem(&t, &revoked), None);
        // One token cannot take every ticket.
        for _ in 0..MAX_TICKETS_PER_TOKEN {
            let _ = tickets.issue(caller.clone());
        }
        assert!(tickets.issue(caller).is_err());
    }
}
