//! HoneyBee Protocol v2 as the bench's raw TCP nodes speak it: the frames they send (one
//! compact JSON envelope per line, written by hand so the bench does not share the Core's
//! encoder), the cowrie event generator, and registering a connection.

use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

/// How long a raw node waits for its `RegistrationAck`.
pub const ACK_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a node waits for the Core to close after its goodbye.
const GOODBYE_TIMEOUT: Duration = Duration::from_secs(5);

/// A `NodeRegistration` line, with a TOTP code when given.
pub fn registration(node_id: u64, name: &str, totp_code: Option<&str>) -> String {
    let code = totp_code.map_or(String::new(), |c| format!(r#","totp_code":"{c}""#));
    format!(
        r#"{{"version":2,"message":{{"NodeRegistration":{{"node_id":{node_id},"node_name":"{name}","address":"127.0.0.1","port":22,"node_type":"Full"{code}}}}}}}"#
    ) + "\n"
}

/// A `PotStatusUpdate` line: pot `pot_id` (cowrie) is `Running`.
pub fn pot_running(node_id: u64, pot_id: &str) -> String {
    format!(
        r#"{{"version":2,"message":{{"PotStatusUpdate":{{"node_id":{node_id},"pot_id":"{pot_id}","pot_type":"cowrie","status":"Running"}}}}}}"#
    ) + "\n"
}

/// Says goodbye: `NodeDrop`, then the sending side closed.
pub fn say_goodbye(mut stream: &TcpStream) {
    let _ = stream.write_all(b"{\"version\":2,\"message\":{\"NodeDrop\":{}}}\n");
    let _ = stream.shutdown(Shutdown::Write);
}

/// Says goodbye on every connection and reads each to its end, so that the Core ends every
/// session as a clean departure: closing a socket with unread input (the Core's first
/// command, say) would reset the connection instead.
pub fn goodbye_all(streams: Vec<TcpStream>) {
    for stream in &streams {
        say_goodbye(stream);
    }
    for mut stream in streams {
        let _ = stream.set_read_timeout(Some(GOODBYE_TIMEOUT));
        let _ = std::io::copy(&mut stream, &mut std::io::sink());
    }
}

/// A ~300-byte cowrie `PotEvent` line with realistic cardinalities (event `n` of a node).
pub fn event(node_id: u64, n: usize) -> String {
    let users = [
        "root", "admin", "ubuntu", "test", "oracle", "pi", "user", "guest",
    ];
    format!(
        concat!(
            r#"{{"version":2,"message":{{"PotEvent":{{"node_id":{},"pot_id":"cowrie-01","#,
            r#""pot_type":"cowrie","event_type":"cowrie.login.failed","#,
            r#""timestamp":"2024-01-15T10:30:00.123456Z","data":{{"username":"{}","#,
            r#""password":"pass{}","src_ip":"203.0.{}.{}","src_port":{},"session":"s{:08x}","#,
            r#""protocol":"ssh"}}}}}}}}"#,
            "\n"
        ),
        node_id,
        users[n % users.len()],
        n % 500,
        (n / 7) % 20,
        n % 250,
        40_000 + n % 20_000,
        n
    )
}

/// Reads the next line (the `RegistrationAck` first of all) from a node connection.
pub fn read_line(reader: &mut BufReader<TcpStream>, what: &str) -> String {
    let mut line = String::new();
    let n = reader
        .read_line(&mut line)
        .unwrap_or_else(|e| panic!("reading {what} failed: {e}"));
    assert!(n > 0, "the Core closed the connection before {what}");
    line
}

/// Whether an ack line accepted the registration.
pub fn accepted(ack: &str) -> bool {
    ack.contains(r#""accepted":true"#)
}

/// A node connection to the Core: no Nagle delay, reads bounded by [`ACK_TIMEOUT`].
pub fn connect(core: SocketAddr, who: &str) -> TcpStream {
    let stream = TcpStream::connect(core)
        .unwrap_or_else(|e| panic!("{who} cannot connect to the Core at {core}: {e}"));
    stream
        .set_nodelay(true)
        .expect("cannot set TCP_NODELAY on a node connection");
    stream
        .set_read_timeout(Some(ACK_TIMEOUT))
        .expect("cannot set a read timeout on a node connection");
    stream
}

/// Connects and registers node `node_id` (no TOTP code); the connection, once accepted.
pub fn register(core: SocketAddr, node_id: u64, name: &str) -> BufReader<TcpStream> {
    let mut stream = connect(core, &format!("node {name}"));
    stream
        .write_all(registration(node_id, name, None).as_bytes())
        .unwrap_or_else(|e| panic!("node {name} cannot send its registration: {e}"));
    let mut reader = BufReader::new(stream);
    let ack = read_line(&mut reader, &format!("the RegistrationAck of node {name}"));
    assert!(accepted(&ack), "node {name} was refused: {ack}");
    reader
}
