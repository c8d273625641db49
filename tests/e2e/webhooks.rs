//! Outbound webhooks as a partner uses them (docs/WEBHOOKS.md): register
//! with a system key, receive signed batches at a real HTTP endpoint,
//! verify them with the documented script, survive a gateway killed with
//! SIGKILL, an endpoint that is down and one that refuses batches.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::gateway::{self, Gateway, wait_for};
use crate::ingest::post;
use crate::receiver::{Received, Receiver};

const SECRET: &str = "a-partner-secret-0123456789";
const CHANNELS: &str = "flight.departed,flight.arrived";

fn register(gw: &Gateway, url: &str, extra: Value) -> (u16, Value) {
    let mut body = json!({
        "source_id": "tests",
        "callback_url": url,
        "shared_secret": SECRET,
        "event_types": CHANNELS,
    });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    post(gw, "/webhooks", "application/json", body.to_string())
}

/// The seqs of every event in the batches taken, in the order received.
fn seqs(batches: &[Received]) -> Vec<u64> {
    batches
        .iter()
        .flat_map(|b| b.json()["events"].as_array().unwrap().clone())
        .map(|e| e["seq"].as_u64().unwrap())
        .collect()
}

/// Every event on the webhook's channels after `from` up to `to` (the
/// feed's own record) was delivered, at least once.
fn assert_none_missing(gw: &Gateway, delivered: &[u64], from: u64, to: u64) {
    let expected: BTreeSet<u64> = gw
        .events_since(from, CHANNELS)
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .filter(|seq| *seq <= to)
        .collect();
    let got: BTreeSet<u64> = delivered.iter().copied().collect();
    let missing: Vec<&u64> = expected.difference(&got).collect();
    assert!(
        missing.is_empty(),
        "{} of {} events never delivered: {missing:?}",
        missing.len(),
        expected.len()
    );
}

/// The verification script docs/WEBHOOKS.md gives partners, run on a
/// delivery: true if it accepts it.
fn docs_script_accepts(script: &Path, delivery: &Received, body: &[u8]) -> bool {
    use std::io::Write;
    let mut child = std::process::Command::new("python3")
        .arg(script)
        .args([
            SECRET,
            delivery.header("x-vatswim-signature").unwrap(),
            delivery.header("x-vatswim-timestamp").unwrap(),
        ])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child.stdin.take().unwrap().write_all(body).unwrap();
    child.wait().unwrap().success()
}

fn docs_script(dir: &Path) -> std::path::PathBuf {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/WEBHOOKS.md"))
        .unwrap();
    let start = doc.find("```python\n").expect("a python block") + "```python\n".len();
    let script = &doc[start..start + doc[start..].find("```").unwrap()];
    assert!(
        script.lines().count() <= 12,
        "the script is short: {script}"
    );
    let path = dir.join("verify.py");
    std::fs::write(&path, script).unwrap();
    path
}

#[test]
fn a_partner_registers_and_gets_signed_batches_it_can_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = Gateway::start(
        &["demo", "--flights", "400", "--speed", "30", "--seed", "9"],
        &tmp.path().join("data"),
    );
    let endpoint = Receiver::start();
    // Only a system key manages webhooks.
    let developer = gw.developer_key.clone().unwrap();
    let refused = gw
        .http()
        .get(format!("{}/webhooks", gw.base))
        .bearer_auth(&developer)
        .send()
        .unwrap();
    assert_eq!(refused.status(), 403);

    let (status, made) = register(&gw, &endpoint.url, json!({}));
    assert_eq!(status, 201, "{made}");
    let id = made["id"].as_i64().unwrap();
    let from = made["webhook"]["cursor"]["seq"].as_u64().unwrap();
    let listed = gw.ok("/webhooks/register");
    let mine = &listed["subscriptions"][0];
    assert_eq!(
        (mine["id"].as_i64(), mine["is_active"].as_bool()),
        (Some(id), Some(true))
    );
    assert!(
        !listed.to_string().contains(SECRET),
        "a listing shows the secret"
    );

    wait_for("three batches", Duration::from_secs(120), || {
        (endpoint.taken().len() >= 3).then_some(())
    });
    let batches = endpoint.taken();
    let script = docs_script(tmp.path());
    for batch in &batches {
        assert!(docs_script_accepts(&script, batch, &batch.body));
        let body = batch.json();
        let events = body["events"].as_array().unwrap();
        assert_eq!(body["count"].as_u64(), Some(events.len() as u64));
        assert!(!events.is_empty() && events.len() <= 100);
        for e in events {
            assert!(CHANNELS.contains(e["event_type"].as_str().unwrap()), "{e}");
            assert_eq!(
                e["event_id"].as_str().unwrap(),
                format!("evt_{}_{}", e["epoch"].as_str().unwrap(), e["seq"])
            );
            assert_eq!(e["source"], "vatswim");
        }
    }
    let first = &batches[0];
    let mut tampered = first.body.clone();
    tampered.push(b' ');
    assert!(!docs_script_accepts(&script, first, &tampered));
    let delivered = seqs(&batches);
    assert!(
        delivered.windows(2).all(|w| w[0] < w[1]),
        "in seq order: {delivered:?}"
    );
    assert_none_missing(&gw, &delivered, from, *delivered.last().unwrap());

    // Deleted: delivery stops.
    let deleted = gw
        .http()
        .delete(format!("{}/webhooks/{id}", gw.base))
        .bearer_auth(gw.key.as_deref().unwrap())
        .send()
        .unwrap();
    assert_eq!(deleted.status(), 200);
    let after_delete = endpoint.received().len();
    let last_seq = gw.ok("/health")["data"]["last_seq"].as_u64().unwrap();
    wait_for(
        "departures after the delete",
        Duration::from_secs(60),
        || (!gw.events_since(last_seq, CHANNELS).is_empty()).then_some(()),
    );
    // A live webhook gets an event within milliseconds of its publication.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        endpoint.received().len(),
        after_delete,
        "delivered after delete"
    );
    let (status, gone) = gw.get(&format!("/webhooks/{id}/deliveries"));
    assert_eq!(
        (status, gone["data"]["is_active"].as_bool()),
        (200, Some(false)),
        "{gone}"
    );
    // PERTI's deletion of an unknown id.
    let unknown = gw
        .http()
        .delete(format!("{}/webhooks/register?id=999", gw.base))
        .bearer_auth(gw.key.as_deref().unwrap())
        .send()
        .unwrap();
    assert_eq!(unknown.status(), 200);
    assert_eq!(
        serde_json::from_str::<Value>(&unknown.text().unwrap()).unwrap(),
        json!({"success": false, "deactivated": 0})
    );
}

#[test]
fn a_gateway_killed_mid_delivery_resumes_without_a_gap() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let args = ["demo", "--flights", "400", "--speed", "30", "--seed", "12"];
    let gw = Gateway::start(&args, &data);
    let key = gw.key.clone();
    let endpoint = Receiver::start();
    let (status, made) = register(&gw, &endpoint.url, json!({}));
    assert_eq!(status, 201, "{made}");
    let id = made["id"].as_i64().unwrap();
    let from = made["webhook"]["cursor"]["seq"].as_u64().unwrap();
    wait_for("two batches", Duration::from_secs(120), || {
        (endpoint.taken().len() >= 2).then_some(())
    });
    // The endpoint stops taking batches: a batch is being sent and more
    // events wait behind it when the gateway is killed.
    endpoint.answer(503, Duration::ZERO);
    let last_taken = *seqs(&endpoint.taken()).last().unwrap();
    let waiting = wait_for(
        "events waiting to be delivered",
        Duration::from_secs(120),
        || {
            let failing =
                gw.ok(&format!("/webhooks/{id}/deliveries"))["data"]["consecutive_failures"]
                    .as_u64()?
                    >= 1;
            let waiting = gw.events_since(last_taken, CHANNELS);
            (failing && waiting.len() >= 2).then_some(waiting)
        },
    );
    gw.kill();
    endpoint.answer(200, Duration::ZERO);
    let backlog_end = waiting.last().unwrap()["seq"].as_u64().unwrap();

    let gw = Gateway::start_keyed(&args, &data, key);
    wait_for(
        "the backlog after the restart",
        Duration::from_secs(120),
        || (seqs(&endpoint.taken()).iter().max() >= Some(&backlog_end)).then_some(()),
    );
    let delivered = seqs(&endpoint.taken());
    let repeats = delivered.len() - delivered.iter().collect::<BTreeSet<_>>().len();
    println!(
        "{} events delivered across a kill -9 ({} waiting when it came), {repeats} sent twice",
        delivered.len(),
        waiting.len()
    );
    assert_none_missing(&gw, &delivered, from, *delivered.iter().max().unwrap());
}

#[test]
fn a_dead_endpoint_loses_nothing_and_a_refused_batch_is_dead_lettered_and_replayed() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = gateway::config(tmp.path(), gateway::sim(4, 400, 30.0, None));
    config.webhooks.allowed.loopback = true;
    config.webhooks.retry = vec![Duration::from_millis(300); 2];
    config.webhooks.circuit_cooldown = Duration::from_secs(1);
    let gw = Gateway::in_process(config);

    let down = Receiver::start();
    down.answer(503, Duration::ZERO);
    let (status, made) = register(&gw, &down.url, json!({}));
    assert_eq!(status, 201, "{made}");
    let down_id = made["id"].as_i64().unwrap();
    let from = made["webhook"]["cursor"]["seq"].as_u64().unwrap();
    let deliveries = |id: i64| gw.ok(&format!("/webhooks/{id}/deliveries"))["data"].clone();
    wait_for("the circuit to open", Duration::from_secs(120), || {
        let d = deliveries(down_id);
        (d["delivery"]["circuit"] == "open" && d["consecutive_failures"].as_u64() >= Some(4))
            .then_some(())
    });
    let open = deliveries(down_id);
    assert!(
        open["last_error"].as_str().unwrap().contains("503"),
        "{open}"
    );
    assert_eq!(
        open["dead_letter_count"], 0,
        "an endpoint that is down loses nothing"
    );
    // Back up: everything published meanwhile arrives.
    down.answer(200, Duration::ZERO);
    let until = gw.ok("/health")["data"]["last_seq"].as_u64().unwrap();
    wait_for("the backlog", Duration::from_secs(120), || {
        (deliveries(down_id)["cursor"]["seq"].as_u64()? >= until).then_some(())
    });
    assert_none_missing(&gw, &seqs(&down.taken()), from, until);

    let refusing = Receiver::start();
    refusing.answer(422, Duration::ZERO);
    let (_, made) = register(&gw, &refusing.url, json!({}));
    let refusing_id = made["id"].as_i64().unwrap();
    let letters = wait_for("a dead letter", Duration::from_secs(120), || {
        let d = deliveries(refusing_id);
        (d["dead_letter_count"].as_u64()? >= 1).then_some(d)
    });
    let letter = &letters["dead_letters"][0];
    assert_eq!(
        (letter["attempts"].as_u64(), letter["last_status"].as_u64()),
        (Some(3), Some(422)),
        "{letter}"
    );
    refusing.answer(200, Duration::ZERO);
    let (status, replayed) = post(
        &gw,
        &format!("/webhooks/{refusing_id}/deliveries/{}/replay", letter["id"]),
        "application/json",
        "",
    );
    assert_eq!(status, 200, "{replayed}");
    assert_eq!(replayed["data"]["delivered"], true, "{replayed}");
    assert!(
        refusing
            .taken()
            .iter()
            .any(|r| r.json()["first_seq"] == letter["first_seq"]),
        "the replayed batch was not received"
    );
    // An operator sees it in /metrics.
    let (_, metrics) = gw.get_text("/metrics");
    let value = |name: &str| -> u64 {
        let line = metrics
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} in {metrics}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert!(value("swim_webhook_failures_total") >= 4 + 3, "{metrics}");
    assert!(value("swim_webhook_dead_letters_total") >= 1, "{metrics}");
    assert!(value("swim_webhook_batches_total") >= 1, "{metrics}");
    assert_eq!(value("swim_webhooks_active"), 2, "{metrics}");
}

#[test]
fn a_callback_to_a_private_address_is_refused_with_the_setting_that_allows_it() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = Gateway::in_process(gateway::config(tmp.path(), gateway::sim(2, 50, 1.0, None)));
    for (url, says) in [
        ("http://127.0.0.1:9/hook", "allow_loopback"),
        ("http://10.0.0.8/hook", "allow_private"),
        ("http://169.254.169.254/latest/meta-data", "allow_private"),
        ("file:///etc/passwd", "http or https"),
    ] {
        let (status, body) = register(&gw, url, json!({}));
        assert_eq!(status, 400, "{url}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains(says),
            "{url}: {body}"
        );
    }
    let (status, body) = register(
        &gw,
        "https://1.1.1.1/hook",
        json!({"shared_secret": "short"}),
    );
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("shared_secret"),
        "{body}"
    );
    assert_eq!(gw.ok("/webhooks")["subscriptions"], json!([]));
}

#[test]
fn a_slow_endpoint_delays_only_its_own_deliveries() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = gateway::config(tmp.path(), gateway::sim(6, 400, 30.0, None));
    config.webhooks.allowed.loopback = true;
    let gw = Gateway::in_process(config);
    let slow = Receiver::start();
    slow.answer(200, Duration::from_secs(5));
    let fast = Receiver::start();
    for endpoint in [&slow, &fast] {
        let (status, made) = register(&gw, &endpoint.url, json!({"event_types": "*"}));
        assert_eq!(status, 201, "{made}");
    }
    wait_for(
        "ten batches at the fast endpoint",
        Duration::from_secs(60),
        || (fast.taken().len() >= 10).then_some(()),
    );
    let slow_answered = slow.received().len();
    assert!(
        slow_answered <= 2,
        "the slow endpoint answered {slow_answered} while the fast one took 10"
    );
}

/// The seqs a Discord message's embeds name in their footers.
fn embed_seqs(message: &Value) -> Vec<u64> {
    message["embeds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let footer = e["footer"]["text"].as_str().unwrap();
            let seq = footer
                .strip_prefix("seq ")
                .unwrap()
                .split(' ')
                .next()
                .unwrap();
            seq.parse().unwrap()
        })
        .collect()
}

#[test]
fn a_discord_webhook_gets_embeds_and_waits_out_a_429() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = Gateway::start(
        &["demo", "--flights", "400", "--speed", "30", "--seed", "14"],
        &tmp.path().join("data"),
    );
    // As Discord answers a webhook that posts too fast, then as it takes one.
    let discord = Receiver::start();
    discord.answer_once(
        429,
        &[("Retry-After", "1"), ("Content-Type", "application/json")],
        r#"{"message": "You are being rate limited.", "retry_after": 1.5, "global": false}"#,
    );
    discord.answer(204, Duration::ZERO);
    let (status, made) = register(&gw, &discord.url, json!({"format": "discord"}));
    assert_eq!(status, 201, "{made}");
    let from = made["webhook"]["cursor"]["seq"].as_u64().unwrap();
    wait_for("three messages", Duration::from_secs(120), || {
        (discord.taken().len() >= 3).then_some(())
    });
    let all = discord.received();
    assert_eq!(all[0].answered, 429);
    let waited = all[1].at - all[0].at;
    // Discord's body asks for 1.5 s (its header rounds to 1 s); the retry
    // schedule would have waited 10 s.
    assert!(
        waited >= Duration::from_millis(1_500) && waited < Duration::from_secs(9),
        "retried after {waited:?}"
    );
    assert_eq!(all[0].body, all[1].body, "the same message again");
    let mut delivered = Vec::new();
    for message in discord.taken() {
        let body = message.json();
        assert_eq!(body["username"], "VATSWIM");
        let embeds = body["embeds"].as_array().unwrap();
        assert!((1..=10).contains(&embeds.len()), "{} embeds", embeds.len());
        let text: usize = embeds
            .iter()
            .map(|e| {
                let fields: usize = e["fields"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| f["name"].as_str().unwrap().len() + f["value"].as_str().unwrap().len())
                    .sum();
                e["title"].as_str().unwrap().len()
                    + e["footer"]["text"].as_str().unwrap().len()
                    + fields
            })
            .sum();
        assert!(text <= 6_000, "{text} characters in one message");
        for e in embeds {
            let title = e["title"].as_str().unwrap();
            assert!(
                title.contains(" departed ") || title.contains(" arrived at "),
                "{title}"
            );
        }
        delivered.extend(embed_seqs(&body));
    }
    assert_none_missing(&gw, &delivered, from, *delivered.iter().max().unwrap());
}
