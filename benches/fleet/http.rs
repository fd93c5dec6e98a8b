//! A tiny blocking HTTP/1.1 client for the Core's API: one keep-alive connection, bearer
//! token, JSON bodies, `Content-Length` answers (what actix-web sends for these routes). It
//! reconnects when the server has closed an idle connection.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// actix-web closes a keep-alive connection after 5 s idle; reconnect before that.
const MAX_IDLE: Duration = Duration::from_secs(3);
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// An answer: status and body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

impl Response {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("the API answered non-JSON ({e}): {}", self.body))
    }
}

/// A keep-alive client of one API address.
#[derive(Debug)]
pub struct Http {
    addr: SocketAddr,
    token: String,
    conn: Option<(BufReader<TcpStream>, Instant)>,
}

impl Http {
    pub fn new(addr: SocketAddr, token: &str) -> Http {
        Http {
            addr,
            token: token.to_owned(),
            conn: None,
        }
    }

    pub fn get(&mut self, path: &str) -> Response {
        self.request("GET", path, None)
    }

    pub fn post(&mut self, path: &str, json: &str) -> Response {
        self.request("POST", path, Some(json))
    }

    /// Sends one request; retries once on a fresh connection when a reused one turns out
    /// closed by the server.
    fn request(&mut self, method: &str, path: &str, body: Option<&str>) -> Response {
        let message = self.message(method, path, body);
        let reused = self
            .conn
            .as_ref()
            .is_some_and(|(_, used)| used.elapsed() < MAX_IDLE);
        if !reused {
            self.conn = None;
        }
        match self.exchange(&message) {
            Ok(response) => response,
            Err(e) if reused => {
                self.conn = None;
                self.exchange(&message).unwrap_or_else(|e2| {
                    panic!(
                        "{method} {path} failed twice ({e}; then {e2}) at {}",
                        self.addr
                    )
                })
            }
            Err(e) => panic!("{method} {path} failed at {}: {e}", self.addr),
        }
    }

    fn message(&self, method: &str, path: &str, body: Option<&str>) -> Vec<u8> {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n",
            self.addr, self.token
        );
        if let Some(body) = body {
            head.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        head.push_str("\r\n");
        let mut message = head.into_bytes();
        message.extend_from_slice(body.unwrap_or_default().as_bytes());
        message
    }

    fn exchange(&mut self, message: &[u8]) -> std::io::Result<Response> {
        if self.conn.is_none() {
            let stream = TcpStream::connect(self.addr)?;
            stream.set_nodelay(true)?;
            stream.set_read_timeout(Some(READ_TIMEOUT))?;
            self.conn = Some((BufReader::new(stream), Instant::now()));
        }
        let (reader, used) = self.conn.as_mut().expect("a connection was just made");
        reader.get_mut().write_all(message)?;
        let (response, close) = read_response(reader)?;
        *used = Instant::now();
        if close {
            self.conn = None;
        }
        Ok(response)
    }
}

/// Reads one response; also whether the server closes the connection after it.
fn read_response(reader: &mut BufReader<TcpStream>) -> std::io::Result<(Response, bool)> {
    let eof = || std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "connection closed");
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(eof());
    }
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP status line: {line:?}")))?;
    let (mut length, mut close) = (None, false);
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(eof());
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        match name.as_str() {
            "content-length" => length = value.parse::<usize>().ok(),
            "connection" => close = value.eq_ignore_ascii_case("close"),
            "transfer-encoding" => {
                return Err(std::io::Error::other(format!(
                    "transfer-encoding {value} is not supported by this client"
                )));
            }
            _ => {}
        }
    }
    let mut body = vec![0; length.unwrap_or(0)];
    reader.read_exact(&mut body)?;
    let body = String::from_utf8_lossy(&body).into_owned();
    Ok((Response { status, body }, close))
}
