//! A blocking WebSocket client for tests (tungstenite), speaking the
//! gateway's protocol the way PERTI's SDKs do.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

use crate::gateway::Gateway;

/// A connected client.
pub struct Ws {
    socket: WebSocket<MaybeTlsStream<TcpStream>>,
}

/// How a read ended when no message came.
#[derive(Debug, PartialEq)]
pub enum Ended {
    /// Nothing within the wait.
    Quiet,
    /// The server closed with this code.
    Closed(u16),
}

impl Ws {
    /// Connects to `/api/swim/v1/ws` with `?api_key=`.
    pub fn connect(gw: &Gateway, key: &str) -> Ws {
        Self::connect_url(&Self::url(gw, &format!("ws?api_key={key}")))
    }

    /// The ws:// URL of a path under the API.
    pub fn url(gw: &Gateway, path: &str) -> String {
        format!("{}/{path}", gw.base.replacen("http://", "ws://", 1))
    }

    /// Connects to a URL.
    pub fn connect_url(url: &str) -> Ws {
        let (socket, _) =
            tungstenite::connect(url).unwrap_or_else(|e| panic!("connect {url}: {e}"));
        let ws = Ws { socket };
        ws.set_timeout(Duration::from_secs(30));
        ws
    }

    /// Wraps a socket connected elsewhere.
    pub fn from_socket(socket: WebSocket<MaybeTlsStream<TcpStream>>) -> Ws {
        Ws { socket }
    }

    /// Connects and reads the `connected` message.
    pub fn open(gw: &Gateway, key: &str) -> (Ws, Value) {
        let mut ws = Self::connect(gw, key);
        let hello = ws.next();
        assert_eq!(hello["type"], "connected", "{hello}");
        (ws, hello)
    }

    /// The read timeout of the socket.
    pub fn set_timeout(&self, timeout: Duration) {
        if let MaybeTlsStream::Plain(s) = self.socket.get_ref() {
            s.set_read_timeout(Some(timeout)).unwrap();
        }
    }

    /// Sends a JSON message.
    pub fn send(&mut self, message: Value) {
        self.send_text(&message.to_string());
    }

    /// Sends raw text.
    pub fn send_text(&mut self, text: &str) {
        self.socket.send(Message::text(text)).expect("send");
    }

    /// Sends raw text; false once the connection is gone.
    pub fn try_send_text(&mut self, text: &str) -> bool {
        self.socket.send(Message::text(text)).is_ok()
    }

    /// Subscribes and reads up to the `subscribed` reply.
    pub fn subscribe(&mut self, channels: &[&str], filters: Value) -> Value {
        self.send(json!({"action": "subscribe", "channels": channels, "filters": filters}));
        self.next_of("subscribed")
    }

    /// The next text message (30 s at most).
    pub fn next(&mut self) -> Value {
        match self.next_within(Duration::from_secs(30)) {
            Ok(v) => v,
            Err(e) => panic!("no message: {e:?}"),
        }
    }

    /// The next message of this type, skipping others (heartbeats,
    /// events), within 60 s: a test waiting for a message that never comes
    /// fails, naming it, instead of reading a live stream forever.
    pub fn next_of(&mut self, kind: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut skipped = Vec::new();
        while Instant::now() < deadline {
            let m = self.next();
            if m["type"] == kind {
                return m;
            }
            if skipped.len() < 5 {
                skipped.push(m["type"].to_string());
            }
        }
        panic!("no {kind:?} message within 60 s (skipped, first: {skipped:?})");
    }

    /// The next text message within `wait`, or how the wait ended.
    pub fn next_within(&mut self, wait: Duration) -> Result<Value, Ended> {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Ended::Quiet);
            }
            self.set_timeout(left);
            match self.socket.read() {
                Ok(Message::Text(t)) => return Ok(serde_json::from_str(&t).expect("JSON")),
                Ok(Message::Close(frame)) => {
                    let code = frame.map_or(1005, |f| u16::from(f.code));
                    return Err(Ended::Closed(code));
                }
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(Ended::Quiet);
                }
                Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                    return Err(Ended::Closed(1006));
                }
                Err(e) => panic!("read: {e}"),
            }
        }
    }

    /// Every message that arrives within `wait`.
    pub fn drain(&mut self, wait: Duration) -> Vec<Value> {
        let deadline = Instant::now() + wait;
        let mut all = Vec::new();
        while let Ok(m) = self.next_within(deadline.saturating_duration_since(Instant::now())) {
            all.push(m);
        }
        all
    }

    /// Reads until the server closes; the close code.
    pub fn close_code(&mut self) -> u16 {
        loop {
            match self.next_within(Duration::from_secs(30)) {
                Ok(_) => {}
                Err(Ended::Closed(code)) => return code,
                Err(Ended::Quiet) => panic!("the server did not close the connection"),
            }
        }
    }

    /// Closes from our side and waits for the server's answer (RFC 6455
    /// 5.5.1): the code it echoes, or 1006 if none came.
    pub fn close_handshake(mut self) -> u16 {
        let _ = self.socket.close(Some(tungstenite::protocol::CloseFrame {
            code: CloseCode::Normal,
            reason: "bye".into(),
        }));
        self.set_timeout(Duration::from_secs(10));
        loop {
            match self.socket.read() {
                Ok(Message::Close(frame)) => return frame.map_or(1005, |f| u16::from(f.code)),
                Ok(_) => {}
                Err(_) => return 1006,
            }
        }
    }

    /// Closes from our side.
    pub fn close(mut self) {
        let _ = self.socket.close(Some(tungstenite::protocol::CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        }));
        let _ = self.socket.flush();
    }
}

/// A WebSocket opened by hand on `url`: the upgrade request sent, nothing
/// read (for tests that must control every byte, which a library would
/// not let them).
pub fn raw_upgrade(url: &str) -> std::net::TcpStream {
    use std::io::Write;
    let rest = url.strip_prefix("ws://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut tcp = std::net::TcpStream::connect(host).unwrap();
    write!(
        tcp,
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .unwrap();
    tcp
}
