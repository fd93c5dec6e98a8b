//! A read-only TAXII 2.1 server on the API port: discovery at `/taxii2/`, one API root
//! (`/taxii2/honeybee/`), one collection (`honeybee-indicators`: the Core's identity and an
//! indicator per attacker address, download URL and file hash, from the indicator index), its
//! objects, manifest, single objects and their versions. Every object has one version and a
//! `date_added` that never changes, so `added_after` and `next` page through it exactly.
//!
//! Answers only `Accept: application/taxii+json;version=2.1` (or without the version
//! parameter), 406 otherwise; takes a read or admin token as `Authorization: Bearer` or as the
//! password of HTTP Basic (how MISP and OpenCTI authenticate). Errors are TAXII error messages.

use std::collections::HashMap;

use actix_web::http::{Method, StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use serde_json::{Value, json};

use super::server::{ApiState, resource};
use crate::intel::stix;

mod page;

use page::{Page, envelope_of, filters, find, page, with_date_headers};

pub(super) const TAXII: &str = "application/taxii+json;version=2.1";
pub(super) const STIX: &str = "application/stix+json;version=2.1";
const ROOT: &str = "/taxii2/honeybee/";
pub(super) const COLLECTION: &str = "honeybee-indicators";

fn collection_id() -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_DNS,
        b"honeybee-core/honeybee-indicators",
    )
    .to_string()
}

/// The TAXII routes.
pub(super) fn routes(scope: actix_web::Scope) -> actix_web::Scope {
    let get = |h| vec![(Method::GET, h)];
    scope
        .service(resource("/taxii2/", get(web::to(discovery))))
        .service(resource(ROOT, get(web::to(api_root))))
        .service(resource(
            "/taxii2/honeybee/collections/",
            get(web::to(collections)),
        ))
        .service(resource(
            "/taxii2/honeybee/collections/{id}/",
            get(web::to(collection)),
        ))
        .service(resource(
            "/taxii2/honeybee/collections/{id}/objects/",
            get(web::to(objects)),
        ))
        .service(resource(
            "/taxii2/honeybee/collections/{id}/manifest/",
            get(web::to(manifest)),
        ))
        .service(resource(
            "/taxii2/honeybee/collections/{id}/objects/{object_id}/",
            get(web::to(object)),
        ))
        .service(resource(
            "/taxii2/honeybee/collections/{id}/objects/{object_id}/versions/",
            get(web::to(versions)),
        ))
}

/// A TAXII error message.
#[derive(Debug)]
pub(super) struct TaxiiError {
    status: StatusCode,
    title: String,
}

impl TaxiiError {
    pub(super) fn new(status: StatusCode, title: impl Into<String>) -> Self {
        TaxiiError {
            status,
            title: title.into(),
        }
    }

    fn response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((
                header::WWW_AUTHENTICATE,
                "Basic realm=\"HoneyBee TAXII\", Bearer",
            ));
        }
        response.content_type(TAXII).body(
            json!({"title": self.title, "http_status": self.status.as_u16().to_string()})
                .to_string(),
        )
    }
}

type Answer = Result<HttpResponse, TaxiiError>;

fn finish(answer: Answer) -> HttpResponse {
    answer.unwrap_or_else(|e| e.response())
}

/// The token of a request: `Bearer <token>`, or the password of `Basic`.
fn token(request: &HttpRequest) -> Option<String> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    if let Some(t) = value.strip_prefix("Bearer ") {
        return Some(t.trim().to_owned());
    }
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    text.split_once(':')
        .map(|(_, password)| password.to_owned())
}

/// Whether the `Accept` header asks for TAXII 2.1.
pub(super) fn accepts_taxii(request: &HttpRequest) -> bool {
    let Some(accept) = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    accept.split(',').any(|range| {
        let mut parts = range.split(';').map(str::trim);
        let ty = parts.next().unwrap_or("");
        if !ty.eq_ignore_ascii_case("application/taxii+json") {
            return false;
        }
        parts.all(|p| match p.split_once('=') {
            Some((k, v)) if k.trim().eq_ignore_ascii_case("version") => v.trim() == "2.1",
            _ => true,
        })
    })
}

fn check(request: &HttpRequest, state: &ApiState) -> Result<(), TaxiiError> {
    let known = token(request).is_some_and(|t| state.tokens.identify(&t).is_some());
    if !known {
        state
            .unauthorized
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return Err(TaxiiError::new(
            StatusCode::UNAUTHORIZED,
            "a read token is needed, as Authorization: Bearer or as the password of Basic",
        ));
    }
    if !accepts_taxii(request) {
        return Err(TaxiiError::new(
            StatusCode::NOT_ACCEPTABLE,
            format!("this server answers only Accept: {TAXII}"),
        ));
    }
    Ok(())
}

fn ok(body: &Value) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(TAXII)
        .body(body.to_string())
}

async fn discovery(request: HttpRequest, state: web::Data<ApiState>) -> HttpResponse {
    finish(check(&request, &state).map(|()| {
        ok(&json!({
            "title": "HoneyBee Core TAXII",
            "description": "Indicators from what HoneyBee's honeypots saw (read-only).",
            "default": ROOT,
            "api_roots": [ROOT],
        }))
    }))
}

async fn api_root(request: HttpRequest, state: web::Data<ApiState>) -> HttpResponse {
    finish(check(&request, &state).map(|()| {
        ok(&json!({
            "title": "HoneyBee Core",
            "versions": [TAXII],
            "max_content_length": state.max_body_bytes,
        }))
    }))
}

fn collection_info() -> Value {
    json!({
        "id": collection_id(),
        "title": COLLECTION,
        "description": "Attacker addresses, download URLs and file hashes seen by the honeypots, as STIX 2.1 indicators.",
        "alias": COLLECTION,
        "can_read": true,
        "can_write": false,
        "media_types": [STIX],
    })
}

fn known_collection(id: &str) -> Result<(), TaxiiError> {
    if id == collection_id() || id == COLLECTION {
        Ok(())
    } else {
        Err(TaxiiError::new(StatusCode::NOT_FOUND, "no such collection"))
    }
}

async fn collections(request: HttpRequest, state: web::Data<ApiState>) -> HttpResponse {
    finish(check(&request, &state).map(|()| ok(&json!({ "collections": [collection_info()] }))))
}

async fn collection(
    request: HttpRequest,
    state: web::Data<ApiState>,
    id: web::Path<String>,
) -> HttpResponse {
    finish(
        check(&request, &state)
            .and_then(|()| known_collection(&id))
            .map(|()| ok(&collection_info())),
    )
}

async fn objects(
    request: HttpRequest,
    state: web::Data<ApiState>,
    id: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let answer = async {
        check(&request, &state)?;
        known_collection(&id)?;
        let f = filters(&query)?;
        let page = page(&state, &f).await?;
        let items = page.objects.iter().map(|(o, _)| o.clone()).collect();
        Ok(with_date_headers(
            &page,
            &envelope_of(&page, items, "objects"),
        ))
    };
    finish(answer.await)
}

async fn manifest(
    request: HttpRequest,
    state: web::Data<ApiState>,
    id: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let answer = async {
        check(&request, &state)?;
        known_collection(&id)?;
        let f = filters(&query)?;
        let page = page(&state, &f).await?;
        let items = page
            .objects
            .iter()
            .map(|(o, added)| {
                json!({
                    "id": o.get("id"),
                    "date_added": stix::time(*added),
                    "version": o.get("modified"),
                    "media_type": STIX,
                })
            })
            .collect();
        Ok(with_date_headers(
            &page,
            &envelope_of(&page, items, "objects"),
        ))
    };
    finish(answer.await)
}

async fn object(
    request: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    one_object(
        request,
        state,
        path,
        |object| json!({"more": false, "objects": [object]}),
    )
    .await
}

async fn versions(
    request: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    one_object(
        request,
        state,
        path,
        |object| json!({"more": false, "versions": [object.get("modified")]}),
    )
    .await
}

/// One object of the collection, answered as `envelope` makes of it.
async fn one_object(
    request: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<(String, String)>,
    envelope: impl FnOnce(&Value) -> Value,
) -> HttpResponse {
    let answer = async {
        check(&request, &state)?;
        known_collection(&path.0)?;
        let (object, added) = find(&state, &path.1).await?;
        let body = envelope(&object);
        let page = Page {
            objects: vec![(object, added)],
            more: false,
            next: 0,
        };
        Ok(with_date_headers(&page, &body))
    };
    finish(answer.await)
}
