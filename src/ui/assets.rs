//! The dashboard's static files, inside the binary: its own stylesheet and scripts, and the
//! vendored htmx 2.0.4 and uPlot 1.6.31 (pinned; their licences beside them in `vendor/`).

use actix_web::{HttpResponse, web};

use super::{UiError, UiResult};

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Every asset: name, media type, bytes.
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("app.css", CSS, include_bytes!("assets/app.css")),
    ("app.js", JS, include_bytes!("assets/app.js")),
    ("fleet.js", JS, include_bytes!("assets/fleet.js")),
    ("node.js", JS, include_bytes!("assets/node.js")),
    ("attacks.js", JS, include_bytes!("assets/attacks.js")),
    (
        "icon.svg",
        "image/svg+xml",
        include_bytes!("assets/icon.svg"),
    ),
    (
        "htmx-2.0.4.min.js",
        JS,
        include_bytes!("assets/vendor/htmx-2.0.4.min.js"),
    ),
    (
        "uplot-1.6.31.min.js",
        JS,
        include_bytes!("assets/vendor/uplot-1.6.31.min.js"),
    ),
    (
        "uplot-1.6.31.min.css",
        CSS,
        include_bytes!("assets/vendor/uplot-1.6.31.min.css"),
    ),
];

/// `GET /ui/assets/{name}` (no session needed: nothing here is fleet data).
pub(super) async fn asset(name: web::Path<String>) -> UiResult<HttpResponse> {
    let (_, media, bytes) = ASSETS
        .iter()
        .find(|(n, _, _)| *n == name.as_str())
        .ok_or_else(|| UiError::Page {
            status: actix_web::http::StatusCode::NOT_FOUND,
            message: "There is no such file.".to_owned(),
        })?;
    Ok(HttpResponse::Ok()
        .content_type(*media)
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(*bytes))
}
