//! A stand-in for the Core's API in the CLI tests: a blocking HTTP/1.1 server on 127.0.0.1
//! (plain or TLS) that records each request and answers what the test's handler says — JSON,
//! or a WebSocket upgrade followed by text messages — so that the CLI's requests, output and
//! errors can be checked without the real routes.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use sha1::{Digest, Sha1};

/// A request as the stub saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap()
    }
}

/// What the stub answers.
pub enum Answer {
    /// A status and a JSON body.
    Json(u16, String),
    /// Upgrade to a WebSocket, send these text messages, then close with `close` (a code and
    /// a reason) or, with `None`, hold the connection open until the client leaves.
    WebSocket(Vec<String>, Option<(u16, String)>),
}

type Handler = dyn Fn(&Request) -> Answer + Send + Sync;

/// The running stub (its thread serves until the test process ends).
pub struct Stub {
    pub url: String,
    requests: Arc<Mutex<Vec<Request>>>,
}

trait Conn: Read + Write + Send {}
impl<T: Read + Write + Send> Conn for T {}

impl Stub {
    /// Serves plain HTTP.
    pub fn start(handler: impl Fn(&Request) -> Answer + Send + Sync + 'static) -> Stub {
        Stub::serve(None, Arc::new(handler))
    }

    /// Serves HTTPS with the certificate and key in these PEM files.
    pub fn start_tls(
        cert: &std::path::Path,
        key: &std::path::Path,
        handler: impl Fn(&Request) -> Answer + Send + Sync + 'static,
    ) -> Stub {
        let config = honeybee_core::net::server_config(cert, key, None).unwrap();
        Stub::serve(Some(config), Arc::new(handler))
    }

    fn serve(tls: Option<Arc<rustls::ServerConfig>>, handler: Arc<Handler>) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (handler, seen, tls) = (handler.clone(), seen.clone(), tls.clone());
                std::thread::spawn(move || {
                    stream
                        .set_read_timeout(Some(Duration::from_secs(30)))
                        .unwrap();
                    let conn: Box<dyn Conn> = match tls {
                        Some(config) => {
                            let server = rustls::ServerConnection::new(config).unwrap();
                            Box::new(rustls::StreamOwned::new(server, stream))
                        }
                        None => Box::new(stream),
                    };
                    let _ = handle(conn, &*handler, &seen);
                });
            }
        });
        Stub { url, requests }
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

fn handle(
    conn: Box<dyn Conn>,
    handler: &Handler,
    seen: &Mutex<Vec<Request>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, target) = (
        parts.next().unwrap_or("").to_owned(),
        parts.next().unwrap_or("").to_owned(),
    );
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    let length = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let request = Request {
        method,
        target,
        headers,
        body: String::from_utf8(body).unwrap(),
    };
    seen.lock().unwrap().push(request.clone());
    let answer = handler(&request);
    let mut conn = reader;
    match answer {
        Answer::Json(status, body) => {
            write!(
                conn.get_mut(),
                "HTTP/1.1 {status} Answer\r\ncontent-type: application/json\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            )?;
            conn.get_mut().flush()
        }
        Answer::WebSocket(messages, close) => {
            let key = request.header("sec-websocket-key").unwrap_or_default();
            let mut sha = Sha1::new();
            sha.update(key.as_bytes());
            sha.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
            let accept = base64::engine::general_purpose::STANDARD.encode(sha.finalize());
            let out = conn.get_mut();
            write!(
                out,
                "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\
                 connection: Upgrade\r\nsec-websocket-accept: {accept}\r\n\r\n"
            )?;
            for message in messages {
                out.write_all(&frame(0x1, message.as_bytes()))?;
            }
            out.flush()?;
            match close {
                Some((code, reason)) => {
                    let mut payload = code.to_be_bytes().to_vec();
                    payload.extend_from_slice(reason.as_bytes());
                    out.write_all(&frame(0x8, &payload))?;
                    out.flush()?;
                    // Let the client read it before the socket goes.
                    std::thread::sleep(Duration::from_millis(500));
                }
                None => {
                    // Hold until the client leaves (its frames are not read as frames).
                    let mut sink = [0u8; 1024];
                    while conn.read(&mut sink)? > 0 {}
                }
            }
            Ok(())
        }
    }
}

/// One unmasked server frame with FIN set.
fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0x80 | opcode];
    match payload.len() {
        n if n < 126 => out.push(n as u8),
        n if n < 65_536 => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    out
}
