//! A detector that misbehaves as its config says, to prove the host's
//! isolation: `mode` is "echo" (default: one `test.echo` event per change,
//! a well-behaved plugin), "slow" (echo after `delay_ms` of busy waiting),
//! "loop", "oom", "panic", "init-fail" or "escape" (tries the filesystem,
//! the environment and the network, and reports what worked in a
//! `test.escape` event). Like a real bug, the faults are
//! triggered by data: an empty batch (the host's smoke call) gets an empty
//! answer unless the config says `always = true`.

use vatswim_plugin_api::{Changes, Context, Description, Detection, Detector, Event};

enum Mode {
    Echo,
    Slow(i64),
    Loop,
    Oom,
    Panic,
    Escape,
}

struct Misbehave {
    mode: Mode,
    always: bool,
}

impl Detector for Misbehave {
    fn describe() -> Description {
        Description::new("misbehave", "0.1.0", "misbehaves on purpose (tests only)")
    }

    fn init(config: serde_json::Value) -> Result<Self, String> {
        let mode = match config.get("mode").and_then(|m| m.as_str()).unwrap_or("echo") {
            "echo" => Mode::Echo,
            "slow" => Mode::Slow(config.get("delay_ms").and_then(|d| d.as_i64()).unwrap_or(200)),
            "loop" => Mode::Loop,
            "oom" => Mode::Oom,
            "panic" => Mode::Panic,
            "escape" => Mode::Escape,
            "init-fail" => return Err("refusing to start: mode is init-fail".into()),
            other => return Err(format!("unknown mode {other:?}")),
        };
        let always = config.get("always").and_then(|a| a.as_bool()).unwrap_or(false);
        Ok(Misbehave { mode, always })
    }

    fn detect(&self, _ctx: &Context, changes: &Changes) -> Detection {
        if changes.is_empty() && !self.always {
            return Detection::default();
        }
        match self.mode {
            Mode::Echo => echo(changes),
            Mode::Slow(delay_ms) => {
                let until = vatswim_plugin_api::log::now() + delay_ms;
                while vatswim_plugin_api::log::now() < until {}
                echo(changes)
            }
            Mode::Loop => spin_forever(),
            Mode::Oom => hoard_memory(),
            Mode::Panic => panic!("misbehave: panicking on purpose"),
            Mode::Escape => Detection { events: vec![try_escape()], patches: Vec::new() },
        }
    }
}

fn echo(changes: &Changes) -> Detection {
    Detection {
        events: changes.iter().map(|c| Event::for_flight("test.echo", c.flight_uid(), "{}")).collect(),
        patches: Vec::new(),
    }
}

/// Tries to read a file, list the environment and open a connection.
fn try_escape() -> Event {
    let file = std::fs::read("/etc/hostname").is_ok() || std::fs::read_dir("/").is_ok() || std::fs::read_dir(".").is_ok();
    let env = std::env::vars().count();
    let args = std::env::args().count();
    let net = std::net::TcpStream::connect("127.0.0.1:22").is_ok() || std::net::UdpSocket::bind("127.0.0.1:0").is_ok();
    let payload = format!(r#"{{"file":{file},"env":{env},"args":{args},"net":{net}}}"#);
    Event { kind: "test.escape".into(), flight_uid: None, payload }
}

fn spin_forever() -> ! {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

fn hoard_memory() -> ! {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        hoard.push(vec![1u8; 1 << 20]);
        std::hint::black_box(&hoard);
    }
}

vatswim_plugin_api::export_detector!(Misbehave);
