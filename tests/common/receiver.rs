//! A small HTTP/1.1 server standing in for HEC, a webhook or an Elasticsearch `_bulk` endpoint:
//! it records every request and answers as the test's `reply` function says (documented
//! failures included). It can be stopped — listener and open connections closed at once, like
//! a receiver that dies — and started again on the same port.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub type Reply = (u16, String);
pub type Behaviour = Arc<Mutex<dyn FnMut(&Request) -> Reply + Send>>;

pub struct Receiver {
    pub addr: SocketAddr,
    pub requests: Arc<Mutex<Vec<Request>>>,
    behaviour: Behaviour,
    alive: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
    thread: Option<JoinHandle<()>>,
}

impl Receiver {
    pub fn start(reply: impl FnMut(&Request) -> Reply + Send + 'static) -> Receiver {
        let behaviour: Behaviour = Arc::new(Mutex::new(reply));
        Receiver::bind("127.0.0.1:0".parse().unwrap(), behaviour, Arc::default())
    }

    fn bind(
        addr: SocketAddr,
        behaviour: Behaviour,
        requests: Arc<Mutex<Vec<Request>>>,
    ) -> Receiver {
        let listener = TcpListener::bind(addr).unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let alive = Arc::new(AtomicBool::new(true));
        let conns: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (a, c, b, r) = (
            alive.clone(),
            conns.clone(),
            behaviour.clone(),
            requests.clone(),
        );
        let thread = std::thread::spawn(move || {
            while a.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        stream.set_nonblocking(false).unwrap();
                        c.lock().unwrap().push(stream.try_clone().unwrap());
                        let (a, b, r) = (a.clone(), b.clone(), r.clone());
                        std::thread::spawn(move || serve(stream, &a, &b, &r));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Receiver {
            addr,
            requests,
            behaviour,
            alive,
            conns,
            thread: Some(thread),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stops listening and drops every open connection (a receiver that died).
    pub fn kill(&mut self) {
        self.alive.store(false, Ordering::Relaxed);
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(std::net::Shutdown::Both);
        }
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }

    /// Starts again on the same port, with the same behaviour and request log.
    pub fn restart(&mut self) {
        self.kill();
        let again = Receiver::bind(self.addr, self.behaviour.clone(), self.requests.clone());
        *self = again;
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.kill();
    }
}

fn serve(stream: TcpStream, alive: &AtomicBool, behaviour: &Behaviour, log: &Mutex<Vec<Request>>) {
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || !alive.load(Ordering::Relaxed) {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or("").to_owned(),
            parts.next().unwrap_or("").to_owned(),
        );
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((n, v)) = h.split_once(':') {
                headers.push((n.trim().to_owned(), v.trim().to_owned()));
            }
        }
        let len = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        if headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("content-encoding") && v == "gzip")
        {
            let mut plain = Vec::new();
            flate2::read::GzDecoder::new(&body[..])
                .read_to_end(&mut plain)
                .unwrap();
            body = plain;
        }
        let request = Request {
            method,
            path,
            headers,
            body,
        };
        let (status, reply) = (behaviour.lock().unwrap())(&request);
        if !alive.load(Ordering::Relaxed) {
            return;
        }
        log.lock().unwrap().push(request);
        // Head and body in one write: two small writes would wait on the client's delayed ACK.
        let answer = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{reply}",
            reply.len()
        );
        if writer.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}
