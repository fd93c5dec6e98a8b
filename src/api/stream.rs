//! `GET /api/v1/stream`: a WebSocket pushing stored events and node, pot, command and alert
//! changes as they happen, with the filters of `/api/v1/events`. Each client reads the Core's
//! live feed (a bounded broadcast that never waits for anybody); a client that falls a whole
//! feed buffer behind, or does not take a message within [`SEND_TIMEOUT`], is told why and
//! closed — it never slows ingestion or other clients.
//!
//! `POST /api/v1/stream/tickets` hands out single-use tickets for browsers, which cannot set
//! an `Authorization` header on a WebSocket.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use actix_ws::{CloseCode, CloseReason, Message};
use futures_util::StreamExt;
use honeybee_actors::feed::Change;
use honeybee_protocol::NodeId;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use super::auth::{self, TICKET_TTL};
use super::error::{ApiError, ApiResult};
use super::event::write_event;
use super::events::{EventFilters, EventMatch, ids_of};
use super::handshake;
use super::server::ApiState;
use super::views;

/// Longest a client may take to accept one message before it counts as too slow.
pub(super) const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest a closing client may take to drain what was buffered for it and answer the close.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(30);

/// Pings keep idle connections (and proxies) alive; a client silent for three of them is gone.
const PING_EVERY: Duration = Duration::from_secs(20);

pub(super) async fn ticket(request: HttpRequest, state: web::Data<ApiState>) -> ApiResult {
    let caller = auth::caller(&request)?;
    let ticket = state.tickets.issue(caller)?;
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({"ticket": ticket, "expires_in_secs": TICKET_TTL.as_secs()})))
}

pub(super) async fn stream(
    request: HttpRequest,
    body: web::Payload,
    state: web::Data<ApiState>,
    filters: web::Query<EventFilters>,
) -> Result<HttpResponse, actix_web::Error> {
    if let Err(why) = handshake::check(request.method(), request.headers()) {
        let mut response = ApiError::invalid(why).error_response();
        response.headers_mut().insert(
            header::SEC_WEBSOCKET_VERSION,
            header::HeaderValue::from_static(handshake::VERSION),
        );
        return Ok(response);
    }
    let matching = filters.checked()?;
    let caller = auth::caller(&request)?;
    open(&request, body, &state, matching, caller, true, None).await
}

/// Besides its token, what else must still hold for a stream to stay open (the dashboard's:
/// its session); asked every [`RECHECK_EVERY`].
pub(crate) type Alive = Box<dyn Fn() -> bool>;

/// Opens a stream for `caller` once its handshake has been checked: the route above, and the
/// dashboard's own stream (`events: false` leaves stored events out, for pages that only
/// follow the fleet; `alive`: the dashboard's session).
pub(crate) async fn open(
    request: &HttpRequest,
    body: web::Payload,
    state: &ApiState,
    matching: EventMatch,
    caller: auth::Caller,
    events: bool,
    alive: Option<Alive>,
) -> Result<HttpResponse, actix_web::Error> {
    let store = state.store.clone();
    let node_id = matching.node_id;
    let node_ids = web::block(move || ids_of(&store, node_id))
        .await
        .map_err(ApiError::from)??;
    let feed = state.feed.subscribe();
    // The handshake was checked by the caller; actix-ws checks the same rules.
    let (response, session, messages) =
        actix_ws::handle(request, body).map_err(|e| ApiError::invalid(e.to_string()))?;
    actix_rt::spawn(serve(Client {
        session,
        messages,
        feed,
        filter: Filter {
            matching,
            node_ids,
            events,
        },
        caller,
        alive,
        tokens: state.tokens.clone(),
        closing: state.closing.clone(),
    }));
    Ok(response)
}

struct Filter {
    matching: EventMatch,
    node_ids: Vec<NodeId>,
    /// Whether stored events are streamed (the fleet's changes always are).
    events: bool,
}

impl Filter {
    fn node_ok(&self, node_id: Option<NodeId>) -> bool {
        self.matching.node_id.is_none() || node_id.is_some_and(|id| self.node_ids.contains(&id))
    }

    fn pot_ok(&self, pot_id: Option<&str>) -> bool {
        self.matching
            .pot_id
            .as_deref()
            .is_none_or(|want| pot_id == Some(want))
    }

    /// The messages a change becomes for this client.
    fn render(&self, change: &Change) -> Vec<String> {
        let tagged = |kind: &str, mut value: Value| {
            if let Value::Object(map) = &mut value {
                map.insert("kind".into(), kind.into());
            }
            value.to_string()
        };
        match change {
            Change::Events(_) if !self.events => Vec::new(),
            Change::Events(commit) => commit
                .events
                .iter()
                .filter(|e| self.matching.matches(e, &self.node_ids))
                .map(|e| {
                    let mut out = b"{\"kind\":\"event\",".to_vec();
                    let mut event = Vec::with_capacity(512);
                    write_event(&mut event, e);
                    out.extend_from_slice(event.get(1..).unwrap_or_default());
                    String::from_utf8(out).unwrap_or_default()
                })
                .collect(),
            Change::Node(node) if self.node_ok(Some(node.node_id)) => {
                vec![tagged("node", views::node(node))]
            }
            Change::Pot(pot)
                if self.node_ok(Some(pot.node_id)) && self.pot_ok(Some(&pot.pot_id)) =>
            {
                vec![tagged("pot", views::pot(pot))]
            }
            Change::Command(command) if self.node_ok(Some(command.node_id)) => {
                vec![tagged("command", views::command(command))]
            }
            Change::Alert(alert)
                if self.node_ok(alert.key.node_id) || alert.key.node_id.is_none() =>
            {
                vec![tagged("alert", views::alert(alert))]
            }
            _ => Vec::new(),
        }
    }
}

/// Why a client is dropped, told to it before the close.
async fn refuse(
    mut session: actix_ws::Session,
    messages: &mut actix_ws::MessageStream,
    code: &str,
    message: &str,
) {
    let error = json!({"kind": "error", "error": {"code": code, "message": message}});
    // Behind what is already buffered for it: a client that reads again within the send
    // timeout gets the reason and the close.
    let _ = tokio::time::timeout(SEND_TIMEOUT, session.text(error.to_string())).await;
    let reason = CloseReason {
        code: CloseCode::Policy,
        description: Some(message.to_owned()),
    };
    let _ = tokio::time::timeout(SEND_TIMEOUT, session.close(Some(reason))).await;
    // The closing handshake: read what the client still sends until its Close (or the send
    // timeout). Dropping the connection with its data unread would reset it, and the client
    // would lose what was buffered for it, the reason included.
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
        while let Some(Ok(message)) = messages.next().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

/// One stream client and what it needs.
struct Client {
    session: actix_ws::Session,
    messages: actix_ws::MessageStream,
    feed: tokio::sync::broadcast::Receiver<Arc<Change>>,
    filter: Filter,
    /// Who opened it: checked every [`RECHECK_EVERY`], so a revoked token's stream ends.
    caller: auth::Caller,
    alive: Option<Alive>,
    tokens: auth::Tokens,
    closing: tokio::sync::watch::Receiver<bool>,
}

/// How often a stream checks that its token is still valid.
const RECHECK_EVERY: Duration = Duration::from_secs(5);

async fn serve(client: Client) {
    let Client {
        mut session,
        mut messages,
        mut feed,
        filter,
        caller,
        alive,
        tokens,
        mut closing,
    } = client;
    let mut ping = tokio::time::interval(PING_EVERY);
    let mut recheck = tokio::time::interval(RECHECK_EVERY);
    let mut unanswered = 0u32;
    loop {
        tokio::select! {
            _ = closing.wait_for(|c| *c) => {
                let _ = session.close(Some(CloseCode::Away.into())).await;
                return;
            }
            _ = recheck.tick() => {
                if !caller.still_valid(&tokens) {
                    return refuse(session, &mut messages, "unauthorized",
                        "the token this stream was opened with is no longer valid").await;
                }
                if alive.as_ref().is_some_and(|alive| !alive()) {
                    return refuse(session, &mut messages, "unauthorized",
                        "the session this stream was opened in has ended").await;
                }
            }
            change = feed.recv() => match change {
                Ok(change) => {
                    for text in filter.render(&change) {
                        match tokio::time::timeout(SEND_TIMEOUT, session.text(text)).await {
                            Ok(Ok(())) => {}
                            Ok(Err(_)) => return,
                            Err(_) => {
                                return refuse(session, &mut messages, "slow_consumer",
                                    "this client did not read the stream fast enough").await;
                            }
                        }
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    let message = format!(
                        "this client fell {missed} changes behind the live feed; reconnect and \
                         catch up with /api/v1/events"
                    );
                    return refuse(session, &mut messages, "slow_consumer", &message).await;
                }
                Err(RecvError::Closed) => {
                    let _ = session.close(Some(CloseCode::Away.into())).await;
                    return;
                }
            },
            message = messages.next() => match message {
                Some(Ok(Message::Ping(bytes))) => {
                    if session.pong(&bytes).await.is_err() {
                        return;
                    }
                }
                Some(Ok(Message::Pong(_))) => unanswered = 0,
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                    let _ = session.close(None).await;
                    return;
                }
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => {
                unanswered += 1;
                if unanswered > 3 || session.ping(b"").await.is_err() {
                    let _ = session.close(Some(CloseCode::Away.into())).await;
                    return;
                }
            }
        }
    }
}
