//! Who may do what. Every request under `/api/` passes [`guard`]: it needs a bearer token —
//! the admin token (`api.token`, or the one generated into `<storage.dir>/api-token`), a
//! read-only token (`api.read_tokens`), or a named token from the tokens file — or, for the
//! stream only, a single-use ticket. Read tokens get 403 on anything but `GET`. Every
//! state-changing request is written to the audit log with the token's name and the source
//! address, whatever its outcome. Tokens are compared in constant time and never reach a log
//! or an error message.

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
use crate::tokens::{random_token, same};

/// How long a stream ticket stays valid.
pub const TICKET_TTL: Duration = Duration::from_secs(30);
/// Tickets outstanding at most (each is tiny; the bound keeps a busy client from growing it).
const MAX_TICKETS: usize = 10_000;

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

/// The tokens the API accepts.
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
            admin,
            read,
            ..Tokens::default()
        }
    }

    /// Also accepts the generated admin token.
    pub fn with_generated(mut self, token: Option<String>) -> Self {
        self.generated = token;
        self
    }

    /// Replaces the named tokens (at start and on SIGHUP); every clone sees the new set.
    pub fn set_named(&self, named: Arc<dyn NamedTokens>) {
        *self.named.lock().unwrap_or_else(PoisonError::into_inner) = Some(named);
    }

    /// Who `presented` is, if anybody. Every configured token is compared, so the time taken
    /// does not say which one matched.
    pub fn identify(&self, presented: &str) -> Option<Principal> {
        let p = presented.as_bytes();
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

/// Single-use WebSocket tickets (browsers cannot set headers on a WebSocket).
#[derive(Debug, Clone, Default)]
pub struct Tickets {
    issued: Arc<Mutex<HashMap<String, (Principal, Instant)>>>,
}

impl Tickets {
    /// A new ticket for `principal`, valid for [`TICKET_TTL`].
    pub fn issue(&self, principal: Principal) -> Result<String, ApiError> {
        let ticket = random_token().map_err(|_| ApiError::unavailable("no randomness"))?;
        let now = Instant::now();
        let mut issued = self.issued.lock().unwrap_or_else(PoisonError::into_inner);
        issued.retain(|_, (_, at)| now.duration_since(*at) < TICKET_TTL);
        if issued.len() >= MAX_TICKETS {
            return Err(ApiError::new(
                Code::Conflict,
                "too many stream tickets outstanding; use them or wait 30 s",
            ));
        }
        issued.insert(ticket.clone(), (principal, now));
        Ok(ticket)
    }

    /// Takes a ticket (it works once), if it is valid.
    pub fn redeem(&self, ticket: &str) -> Option<Principal> {
        let mut issued = self.issued.lock().unwrap_or_else(PoisonError::into_inner);
        let (principal, at) = issued.remove(ticket)?;
        (at.elapsed() < TICKET_TTL).then_some(principal)
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
    let who = match ticket {
        Some(ticket) => state.tickets.redeem(&ticket),
        None => principal(request.request(), &state.tokens),
    };
    let refusal = match &who {
        None => Some(ApiError::new(
            Code::Unauthorized,
            "a valid bearer token is required",
        )),
        Some(p) if changes && !p.admin => Some(ApiError::new(
            Code::Forbidden,
            "this token may only read; changes need an admin token",
        )),
        Some(_) => None,
    };
    let audit = changes.then(|| Audit::of(&request, who.as_ref()));
    let response = match refusal {
        Some(error) => {
            let (request, _) = request.into_parts();
            ServiceResponse::new(request, error.error_response())
        }
        None => {
            if let Some(p) = who {
                request.extensions_mut().insert(p);
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
    fn of(request: &ServiceRequest, who: Option<&Principal>) -> Audit {
        let pattern = request
            .match_pattern()
            .unwrap_or_else(|| request.path().to_owned());
        Audit {
            actor: who.map_or_else(|| "anonymous".to_owned(), |p| p.name.clone()),
            source: request
                .peer_addr()
                .map_or_else(|| "unknown".to_owned(), |a| a.to_string()),
            action: format!("{} {pattern}", request.method()),
            target: honeybee_protocol::error::sanitize(request.path(), 256),
        }
    }

    fn record(self, state: &ApiState, status: u16) {
        let row = AuditRow {
            at: SystemTime::now(),
            actor: self.actor,
            source: self.source,
            action: self.action,
            target: Some(self.target),
            outcome: status.to_string(),
        };
        if let Err(e) = state.writer.append_audit(row) {
            log::error!("Cannot queue an audit entry: {e}.");
        }
    }
}

/// The principal the guard attached to a request (handlers under `/api/` always have one).
pub fn who(request: &HttpRequest) -> Principal {
    request
        .extensions()
        .get::<Principal>()
        .cloned()
        .unwrap_or_else(|| Principal {
            name: "anonymous".to_owned(),
            admin: false,
        })
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
    fn a_ticket_works_once() {
        let tickets = Tickets::default();
        let p = Principal {
            name: "admin".into(),
            admin: true,
        };
        let t = tickets.issue(p.clone()).unwrap();
        assert_eq!(tickets.redeem(&t), Some(p));
        assert_eq!(tickets.redeem(&t), None);
        assert_eq!(tickets.redeem("nope"), None);
    }
}
