//! A partner's webhook endpoint for tests: a real HTTP/1.1 server on
//! 127.0.0.1:0 that keeps every request it gets and answers as told
//! (a status, after a delay), as a partner's endpoint that is up, down,
//! slow or refusing would.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// One request the endpoint got.
#[derive(Debug, Clone)]
pub struct Received {
    /// Header names (lower case) and values.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
    /// When it arrived.
    pub at: Instant,
    /// The status it was answered with.
    pub answered: u16,
}

impl Received {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// How the endpoint answers.
#[derive(Debug, Clone, Copy)]
pub struct Answer {
    /// The status.
    pub status: u16,
    /// How long it takes first.
    pub delay: Duration,
}

/// An answer given once, before the standing one: status, headers, body.
type Scripted = (u16, Vec<(String, String)>, String);

/// How the endpoint answers: scripted answers first, then the standing
/// one, unless a responder answers each request from what it asked.
struct Answers {
    scripted: VecDeque<Scripted>,
    standing: Answer,
    responder: Option<Responder>,
}

/// Answers a request from what it asked (status, body).
type Responder = fn(&Received) -> (u16, String);

/// The endpoint.
pub struct Receiver {
    /// `http://127.0.0.1:PORT/hook`.
    pub url: String,
    got: Arc<Mutex<Vec<Received>>>,
    answers: Arc<Mutex<Answers>>,
}

impl Receiver {
    /// An endpoint answering each request as `responder` says.
    pub fn answering(responder: Responder) -> Receiver {
        let receiver = Receiver::start();
        receiver.answers.lock().unwrap().responder = Some(responder);
        receiver
    }

    /// An endpoint answering 200 at once.
    pub fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Vec::new()));
        let answers = Arc::new(Mutex::new(Answers {
            scripted: VecDeque::new(),
            standing: Answer {
                status: 200,
                delay: Duration::ZERO,
            },
            responder: None,
        }));
        let (g, a) = (got.clone(), answers.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (g, a) = (g.clone(), a.clone());
                std::thread::spawn(move || serve(stream, &g, &a));
            }
        });
        Receiver { url, got, answers }
    }

    /// Answers from now on with `status` after `delay`.
    pub fn answer(&self, status: u16, delay: Duration) {
        self.answers.lock().unwrap().standing = Answer { status, delay };
    }

    /// The next request (after those scripted before) is answered with
    /// `status`, `headers` and `body`, at once.
    pub fn answer_once(&self, status: u16, headers: &[(&str, &str)], body: &str) {
        let headers = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        self.answers
            .lock()
            .unwrap()
            .scripted
            .push_back((status, headers, body.to_string()));
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// The requests answered 2xx.
    pub fn taken(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| (200..300).contains(&r.answered))
            .collect()
    }
}

/// Serves one connection's requests (keep-alive) until it closes.
fn serve(stream: TcpStream, got: &Mutex<Vec<Received>>, answers: &Mutex<Answers>) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
            }
        }
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let mut received = Received {
            headers,
            body,
            at: Instant::now(),
            answered: 0,
        };
        let responder = answers.lock().unwrap().responder;
        let (status, extra, text) = match responder {
            Some(respond) => {
                let (status, text) = respond(&received);
                (status, Vec::new(), text)
            }
            None => next_answer(answers),
        };
        received.answered = status;
        got.lock().unwrap().push(received);
        let mut reply = format!("HTTP/1.1 {status} X\r\n");
        for (name, value) in extra {
            reply.push_str(&format!("{name}: {value}\r\n"));
        }
        // A 204 has no body (Discord answers its webhooks so).
        if status != 204 {
            reply.push_str(&format!("Content-Length: {}\r\n\r\n{text}", text.len()));
        } else {
            reply.push_str("\r\n");
        }
        if writer.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

/// The next scripted answer, else the standing one (after its delay).
fn next_answer(answers: &Mutex<Answers>) -> Scripted {
    let (scripted, Answer { status, delay }) = {
        let mut answers = answers.lock().unwrap();
        (answers.scripted.pop_front(), answers.standing)
    };
    scripted.unwrap_or_else(|| {
        std::thread::sleep(delay);
        (status, Vec::new(), "ok".into())
    })
}
