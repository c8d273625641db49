//! `swim bench fanout --mode broadcast`: one event at a time to every
//! client, through the gateway and through a minimal broadcaster built in
//! here as the reference, in the same run.
//!
//! The reference is what a WebSocket broadcast costs at the least with the
//! same libraries (tokio, tungstenite): each event serialized once, the
//! frame shared through a `tokio::sync::broadcast` channel, one task per
//! connection writing it. The gateway's events take its real path: each
//! is a `POST /ingest/track` for one flight, so a cycle, a commit, the
//! change feed, the hub and the writers. Both runs use the same child
//! process of clients (`fanout-clients --mix broadcast`), so the figures
//! differ only by the server.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use super::fanout::{self, Measured, Mix, Published, Run, Traffic};
use swim::fanout::connection;
use swim::server::SourceConfig;

/// Runs both and prints their figures and ratios.
pub fn run(clients: usize, rate: f64, seconds: u64) -> anyhow::Result<()> {
    anyhow::ensure!(
        rate > 0.0 && rate <= 10_000.0,
        "--rate must be in (0, 10000] events a second"
    );
    println!("{}", super::machine());
    println!(
        "{clients} clients on flight.positions, unfiltered; {rate} events/s; {seconds} s of traffic per run"
    );
    let run = Run {
        clients,
        seconds,
        mix: Mix::Broadcast,
    };
    println!("\n-- reference: a minimal tokio-tungstenite broadcaster");
    let reference = reference(run, rate)?;
    println!("\n-- the gateway: each event a POST /ingest/track through the whole path");
    let gateway = gateway(run, rate)?;
    compare(&reference, &gateway);
    Ok(())
}

/// Delivered frames per second, and CPU-seconds per million of them.
fn figures(m: &Measured) -> (f64, f64) {
    let r = &m.report;
    let per_second = r.messages as f64 / r.seconds;
    let cpu_per_million = m.cpu_seconds / (r.messages.max(1) as f64) * 1e6;
    (per_second, cpu_per_million)
}

fn compare(reference: &Measured, gateway: &Measured) {
    let (ref_rate, ref_cpu) = figures(reference);
    let (gw_rate, gw_cpu) = figures(gateway);
    println!(
        "\n{:<10} {:>12} {:>14} {:>10} {:>10} {:>12} {:>16}",
        "", "published/s", "delivered/s", "p50 ms", "p99 ms", "CPU s", "CPU s per 1M"
    );
    for (name, m, rate, cpu) in [
        ("reference", reference, ref_rate, ref_cpu),
        ("gateway", gateway, gw_rate, gw_cpu),
    ] {
        // Events published while the clients listened (a gateway that
        // fans out faster takes the ingests faster too).
        let published = m.events_published as f64 / m.report.seconds;
        println!(
            "{name:<10} {published:>12.0} {rate:>14.0} {:>10.1} {:>10.1} {:>12.2} {cpu:>16.2}",
            m.report.latency_ms_p50, m.report.latency_ms_p99, m.cpu_seconds
        );
    }
    let delivered = gw_rate / ref_rate;
    let cpu = gw_cpu / ref_cpu;
    println!(
        "gateway / reference: delivered {delivered:.2}x (goal >= 0.9: {}), CPU per frame {cpu:.2}x (goal <= 1.2: {})",
        met(delivered >= 0.9),
        met(cpu <= 1.2)
    );
}

fn met(yes: bool) -> &'static str {
    if yes { "met" } else { "NOT MET" }
}

/// The minimal broadcaster, serving the child's clients.
fn reference(run: Run, rate: f64) -> anyhow::Result<Measured> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("ws://{}/ws", listener.local_addr()?);
        let (frames, _) = broadcast::channel::<Utf8Bytes>(1024);
        let accept = tokio::spawn(accept(listener, frames.clone()));
        let published: Published = Arc::default();
        let publish = tokio::spawn(publish(frames, rate, published.clone()));
        // The reference checks no key; the child sends one anyway.
        let measured = fanout::drive_clients(&url, &["none".into()], run, published).await;
        publish.abort();
        accept.abort();
        measured
    })
}

async fn accept(listener: tokio::net::TcpListener, frames: broadcast::Sender<Utf8Bytes>) {
    while let Ok((tcp, _)) = listener.accept().await {
        tokio::spawn(connection(tcp, frames.subscribe()));
    }
}

/// One connection: every frame out, whatever comes in read and dropped.
/// Its buffers are the gateway's (`fanout::connection`): the library's
/// default 128 KB read buffer would make the reference the bigger one.
async fn connection(tcp: tokio::net::TcpStream, mut frames: broadcast::Receiver<Utf8Bytes>) {
    let config = WebSocketConfig::default()
        .read_buffer_size(connection::READ_BUFFER)
        .write_buffer_size(connection::WRITE_BUFFER);
    let Ok(ws) = tokio_tungstenite::accept_async_with_config(tcp, Some(config)).await else {
        return;
    };
    let (mut sink, mut stream) = ws.split();
    // Frames start with the client's first message (its subscribe), as
    // the gateway's do.
    match stream.next().await {
        Some(Ok(_)) => frames = frames.resubscribe(),
        _ => return,
    }
    loop {
        tokio::select! {
            frame = frames.recv() => match frame {
                Ok(text) => {
                    if sink.send(Message::Text(text)).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            },
            message = stream.next() => match message {
                Some(Ok(_)) => {}
                _ => return,
            },
        }
    }
}

/// `rate` events a second, each serialized once; their publish times are
/// recorded for the latency.
async fn publish(frames: broadcast::Sender<Utf8Bytes>, rate: f64, published: Published) {
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    // As the gateway's ingest: ticks missed while the runtime was busy are
    // skipped, not made up in a burst (never more than `rate` a second).
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    for seq in 1.. {
        tick.tick().await;
        // The gateway's field order: `seq` first (the clients read it
        // from the front of the frame).
        let text: Utf8Bytes = format!(
            r#"{{"seq":{seq},"type":"flight.positions","timestamp":"{}","data":{{"count":1,"positions":[{}]}}}}"#,
            swim::time::format_iso_millis(swim::health::wall_ms()),
            position(seq)
        )
        .into();
        published.lock().push((seq, fanout::now_us()));
        let _ = frames.send(text);
    }
}

/// A position entry like the gateway's (the frame is about as long as the
/// gateway's, ~330 bytes), moving a little with every event.
fn position(n: u64) -> serde_json::Value {
    json!({
        "flight_uid": 1, "callsign": "BENCH1", "dep": "KJFK", "arr": "KBOS",
        "latitude": 40.0 + (n % 1000) as f64 * 0.001, "longitude": -73.5,
        "altitude_ft": 31000, "groundspeed_kts": 450, "heading_deg": 45,
        "phase": "enroute", "aircraft_type": "A320", "squawk": "4321"
    })
}

/// The gateway on the simulator (a few flights, one snapshot), with one
/// flight's track posted `rate` times a second (`ingest`).
fn gateway(run: Run, rate: f64) -> anyhow::Result<Measured> {
    let dir = tempfile::tempdir()?;
    let keys = swim::auth::SqliteKeys::open(&dir.path().join("swim.db"))?;
    let key_list = fanout::system_keys(&keys, run.clients)?;
    let mut config = fanout::sim_config(dir.path(), 20, 1.0);
    if let SourceConfig::Sim { stop_after, .. } = &mut config.source {
        // One snapshot makes the flights; after it, every event is ours.
        *stop_after = Some(1);
    }
    let traffic = ingest(key_list[0].clone(), rate);
    fanout::measure(
        config,
        &key_list,
        Box::new(|| Ok((Vec::new(), Vec::new()))),
        run,
        Some(traffic),
    )
}

/// Posts one flight's track `rate` times a second on a thread of its own,
/// each POST sent on time whether or not the last was answered (up to
/// `IN_FLIGHT` waiting), so the gateway is offered the reference's load:
/// a publisher that waited for each answer would be slowed by the very
/// fan-out it measures.
fn ingest(key: String, rate: f64) -> Traffic {
    Box::new(move |base| {
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the ingest traffic");
            runtime.block_on(async move {
                tokio::select! {
                    result = post_tracks(&base, &key, rate) => {
                        if let Err(e) = result {
                            println!("FAILED: the ingest traffic stopped: {e:#}");
                        }
                    }
                    _ = done_rx => {}
                }
            });
        });
        // Aborting the returned task drops `done_tx`, which ends the thread.
        tokio::spawn(async move {
            let _done = done_tx;
            std::future::pending::<()>().await;
        })
    })
}

/// POSTs waiting for their answer at most; past it, ticks are skipped.
/// An answer comes after the ingest's cycle is committed and published,
/// which under this load takes up to a second or two: a few seconds'
/// worth of ticks.
const IN_FLIGHT: usize = 512;

async fn post_tracks(base: &str, key: &str, rate: f64) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let callsign = a_callsign(&http, base, key).await?;
    let slots = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let failed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    for n in 0u64.. {
        tick.tick().await;
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            continue;
        };
        let body = json!({"tracks": [{
            "callsign": callsign,
            "latitude": 40.0 + (n % 1000) as f64 * 0.001, "longitude": -73.5,
            "altitude_ft": 31000, "ground_speed_kts": 450, "squawk": "4321",
            "track_source": "radar",
        }]});
        let request = http
            .post(format!("{base}/ingest/track"))
            .bearer_auth(key)
            .header("content-type", "application/json")
            .body(body.to_string());
        let failed = failed.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let outcome = match request.send().await {
                Ok(r) if r.status().is_success() => return,
                Ok(r) => format!(
                    "answered {}: {}",
                    r.status(),
                    r.text().await.unwrap_or_default()
                ),
                Err(e) => e.to_string(),
            };
            if !failed.swap(true, std::sync::atomic::Ordering::Relaxed) {
                println!("FAILED: POST /ingest/track {outcome}");
            }
        });
    }
    Ok(())
}

/// The callsign of a flight the simulator made.
async fn a_callsign(http: &reqwest::Client, base: &str, key: &str) -> anyhow::Result<String> {
    for _ in 0..100 {
        let text = http
            .get(format!("{base}/flights?per_page=1"))
            .bearer_auth(key)
            .send()
            .await?
            .text()
            .await?;
        let body: serde_json::Value = serde_json::from_str(&text).context("GET /flights")?;
        if let Some(callsign) = body["data"][0]["identity"]["aircraft_identification"].as_str() {
            return Ok(callsign.to_string());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("the simulator made no flight in 10 s")
}
