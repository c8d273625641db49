//! Cluster mode end to end (docs/CLUSTER.md): real `swim demo` processes
//! on one JetStream stream and one PostgreSQL database, each test with its
//! own stream and database, removed after. The leader is killed with
//! SIGKILL mid-run, or exits right after a commit and before relaying it;
//! clients on the survivors see every seq once, in order.
//!
//! Needs NATS with JetStream on 127.0.0.1:4222 and PostgreSQL on
//! 127.0.0.1:5432 (`postgres`, trust auth): `.ci/run` starts them.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::gateway::{Gateway, wait_for};
use crate::turns::turn;
use crate::ws_client::Ws;

const NATS: &str = "nats://127.0.0.1:4222";
const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432";

/// A stream and a database of the test's own, removed when dropped.
struct Services {
    stream: String,
    database: String,
    runtime: tokio::runtime::Runtime,
}

impl Services {
    fn new(tag: &str) -> Services {
        for (what, port, start) in [
            ("NATS", 4222, "nats-server -js (see .ci/run)"),
            (
                "PostgreSQL",
                5432,
                "pg_ctlcluster ... main start (see .ci/run)",
            ),
        ] {
            assert!(
                std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
                "{what} is not running on 127.0.0.1:{port}: start it ({start})"
            );
        }
        let id = format!("{tag}_{}", std::process::id());
        Services {
            stream: format!("SWIMTEST_{}", id.to_ascii_uppercase()),
            database: format!("{POSTGRES}/swimtest_{id}"),
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
        }
    }

    /// `swim demo` as a member of this cluster.
    fn member(&self, dir: &Path, id: &str, key: &str, envs: &[(&str, &str)]) -> Gateway {
        let mut gw = Gateway::member(
            &[
                "demo",
                "--flights",
                "300",
                "--speed",
                "20",
                "--seed",
                "5",
                "--cluster",
                NATS,
                "--stream",
                &self.stream,
                "--database",
                &self.database,
                "--instance-id",
                id,
            ],
            &dir.join(id),
            envs,
        );
        gw.key = Some(key.to_string());
        gw
    }

    /// `swim keys ARGS --database` against the cluster's database.
    fn keys(&self, args: &[&str]) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_swim"))
            .arg("keys")
            .args(args)
            .args(["--database", &self.database])
            .output()
            .expect("run swim keys");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        text
    }

    fn new_key(&self, tier: &str) -> String {
        let text = self.keys(&["create", "--tier", tier, "--owner", "cluster-tests"]);
        text.lines()
            .find_map(|l| l.strip_prefix("key: "))
            .unwrap_or_else(|| panic!("no key in {text}"))
            .to_string()
    }

    /// The stream's state: (first seq, last seq, messages).
    fn stream_state(&self) -> (u64, u64, u64) {
        self.runtime.block_on(async {
            let client = async_nats::connect(NATS).await.unwrap();
            let js = async_nats::jetstream::new(client);
            let mut stream = js.get_stream(&self.stream).await.unwrap();
            let state = stream.info().await.unwrap().state.clone();
            (state.first_sequence, state.last_sequence, state.messages)
        })
    }

    /// The instance the lease names now, if it is held.
    fn lease_holder(&self) -> Option<String> {
        self.runtime.block_on(async {
            let client = async_nats::connect(NATS).await.unwrap();
            let js = async_nats::jetstream::new(client);
            let kv = js
                .get_key_value(format!("{}_LEADER", self.stream))
                .await
                .unwrap();
            let entry = kv.entry("leader").await.unwrap()?;
            if entry.operation != async_nats::jetstream::kv::Operation::Put {
                return None;
            }
            let value: Value = serde_json::from_slice(&entry.value).ok()?;
            value["instance_id"].as_str().map(String::from)
        })
    }

    /// The change feed rows in PostgreSQL: (count, min seq, max seq).
    fn committed(&self) -> (i64, i64, i64) {
        let mut client = postgres::Client::connect(&self.database, postgres::NoTls).unwrap();
        let row = client
            .query_one(
                "SELECT COUNT(*), COALESCE(MIN(seq), 0), COALESCE(MAX(seq), 0) FROM change_feed",
                &[],
            )
            .unwrap();
        (row.get(0), row.get(1), row.get(2))
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        let stream = self.stream.clone();
        self.runtime.block_on(async move {
            if let Ok(client) = async_nats::connect(NATS).await {
                let js = async_nats::jetstream::new(client);
                let _ = js.delete_stream(&stream).await;
                let _ = js.delete_key_value(format!("{stream}_LEADER")).await;
                let _ = js.delete_object_store(format!("{stream}_PLUGINS")).await;
            }
        });
        let url: swim::db::PgUrl = self.database.parse().unwrap();
        if let Err(e) = url.drop_database() {
            eprintln!("could not drop the test database: {e}");
        }
    }
}

fn cluster(gw: &Gateway) -> Value {
    gw.ok("/health")["data"]["cluster"].clone()
}

/// The cluster part of `/health`, degraded (503) or not.
fn cluster_state(gw: &Gateway) -> Option<Value> {
    let (status, body) = gw.get("/health");
    (status == 200 || status == 503).then(|| body["data"]["cluster"].clone())
}

fn role(gw: &Gateway) -> Option<String> {
    cluster_state(gw)?["role"].as_str().map(String::from)
}

/// The one gateway of `gws` that leads, once one does and every member
/// names it (a follower learns of a new lease at its next read of the
/// lease, so "one leads" alone can be seen before the others know).
fn leader_of(gws: &[Gateway], timeout: Duration) -> usize {
    wait_for("a leader every member knows", timeout, || {
        let leading: Vec<usize> = (0..gws.len())
            .filter(|&i| role(&gws[i]).as_deref() == Some("leader"))
            .collect();
        let [leader] = leading[..] else { return None };
        let id = cluster_state(&gws[leader])?["instance_id"].clone();
        gws.iter()
            .all(|gw| cluster_state(gw).is_some_and(|c| c["leader_id"] == id))
            .then_some(leader)
    })
}

/// A WebSocket client subscribed to every channel (from `since`, if given).
fn watch(gw: &Gateway, key: &str, since: Option<u64>) -> Ws {
    let (mut ws, _) = Ws::open(gw, key);
    let mut subscribe = json!({"action": "subscribe", "channels": ["*"]});
    if let Some(since) = since {
        subscribe["since"] = json!(since);
    }
    ws.send(subscribe);
    ws.next_of("subscribed");
    ws
}

/// Events received until one reaches `until`; panics on a gap or a repeat.
fn contiguous_until(ws: &mut Ws, last: Option<u64>, until: u64) -> u64 {
    events_until(ws, last, until).len() as u64
}

/// The events themselves (see `contiguous_until`).
fn events_until(ws: &mut Ws, mut last: Option<u64>, until: u64) -> Vec<Value> {
    let mut received = Vec::new();
    loop {
        let m = ws.next();
        let Some(seq) = m["seq"].as_u64() else {
            continue;
        };
        if let Some(last) = last {
            assert_eq!(
                seq,
                last + 1,
                "after seq {last} came {seq} ({} received)",
                received.len()
            );
        }
        last = Some(seq);
        received.push(m);
        if seq >= until {
            return received;
        }
    }
}

fn last_seq(gw: &Gateway) -> u64 {
    gw.ok("/health")["data"]["last_seq"].as_u64().unwrap()
}

#[test]
fn three_gateways_survive_their_leader_killed_and_clients_see_every_seq_once() {
    let _turn = turn();
    let services = Services::new("failover");
    let tmp = tempfile::tempdir().unwrap();
    let key = services.new_key("system");
    let mut gws: Vec<Gateway> = (1..=3)
        .map(|i| services.member(tmp.path(), &format!("gw-{i}"), &key, &[]))
        .collect();
    let leader = leader_of(&gws, Duration::from_secs(30));
    for gw in &gws {
        let c = cluster(gw);
        assert_eq!(c["leader_id"], format!("gw-{}", leader + 1), "{c}");
        assert_eq!(c["stream"], services.stream.as_str());
    }
    // Followers serve the leader's flights.
    wait_for("followers' flights", Duration::from_secs(30), || {
        gws.iter()
            .all(|gw| gw.ok("/health")["data"]["active_flights"].as_u64() > Some(100))
            .then_some(())
    });

    // A partner's track posted to a follower is applied by the leader, and
    // the follower answers with the leader's report.
    let follower = (leader + 1) % 3;
    // The feed's controllers are the leader's alone (a follower reads no
    // feed): a follower answers with the leader's positions.
    let online = gws[follower].ok("/controllers?per_page=500");
    let staffed = online["data"].as_array().unwrap();
    assert!(!staffed.is_empty(), "{online}");
    assert!(
        staffed.iter().all(|c| c["last_source"] == "vatsim"),
        "{online}"
    );
    let target = gws[follower].ok("/flights?phase=enroute&per_page=1")["data"][0].clone();
    let callsign = target["identity"]["aircraft_identification"]
        .as_str()
        .unwrap()
        .to_string();
    let track =
        json!({"tracks": [{"callsign": callsign, "latitude": 12.3456, "longitude": -45.6789}]});
    let before = gws[follower].ok("/events?since=0&limit=1")["data"]["last_seq"]
        .as_u64()
        .unwrap();
    let (status, reply) = crate::ingest::post(
        &gws[follower],
        "/ingest/track",
        "application/json",
        track.to_string(),
    );
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["data"]["updated"], 1, "{reply}");
    // In every member's change feed: the flight's record shows the track
    // only until the next snapshot (the feed owns its position), which at
    // this speed comes within a second, too soon to poll three members.
    let tracked = |event: &Value| {
        event["data"]["positions"]
            .as_array()
            .is_some_and(|entries| {
                entries
                    .iter()
                    .any(|p| p["callsign"] == callsign.as_str() && p["latitude"] == 12.3456)
            })
    };
    for gw in &gws {
        wait_for("the track on every member", Duration::from_secs(10), || {
            let page = gw.ok(&format!(
                "/events?since={before}&channels=flight.positions&limit=500"
            ));
            page["data"]["events"]
                .as_array()?
                .iter()
                .any(tracked)
                .then_some(())
        });
    }

    // A client on each gateway, all of them seeing events.
    let mut clients: Vec<Ws> = gws.iter().map(|gw| watch(gw, &key, None)).collect();
    let firsts: Vec<u64> = clients
        .iter_mut()
        .map(|ws| {
            loop {
                if let Some(seq) = ws.next()["seq"].as_u64() {
                    break seq;
                }
            }
        })
        .collect();

    // The leader's client reads a little more, then the leader dies.
    let killed_client_seen = contiguous_until(
        &mut clients[leader],
        Some(firsts[leader]),
        firsts[leader] + 20,
    );
    let killed_last = firsts[leader] + 20;
    assert!(killed_client_seen > 0);
    let at_kill = last_seq(&gws[leader]);
    let killed_at = Instant::now();
    gws.remove(leader).kill();
    // Its client's connection is gone with it.
    drop(clients.remove(leader));

    let new_leader = leader_of(&gws, Duration::from_secs(60));
    let took = killed_at.elapsed();
    eprintln!("cluster: a new leader after {:.1} s", took.as_secs_f64());
    wait_for("events after the takeover", Duration::from_secs(60), || {
        gws.iter()
            .all(|gw| last_seq(gw) > at_kill + 200)
            .then_some(())
    });
    // Every client on a survivor saw every seq once, across the takeover,
    // each event as the database committed it (large payloads cross the
    // stream gzipped).
    for (i, ws) in clients.iter_mut().enumerate() {
        let seen = events_until(ws, Some(firsts[i]), at_kill + 200);
        assert!(seen.len() > 200, "client {i} received {}", seen.len());
        let committed = gws[new_leader].events_since(firsts[i], "*");
        for (got, want) in seen.iter().zip(&committed) {
            assert_eq!(got["seq"], want["seq"]);
            assert_eq!(
                (&got["type"], &got["data"]),
                (&want["type"], &want["data"]),
                "seq {}",
                got["seq"]
            );
        }
    }
    // The killed instance's client resumes on a survivor where it stopped.
    let mut resumed = watch(&gws[1 - new_leader], &key, Some(killed_last));
    contiguous_until(&mut resumed, Some(killed_last), at_kill + 200);

    // The stream holds each seq once, and so does the database.
    let (first, last, messages) = services.stream_state();
    assert_eq!((first, messages), (1, last), "stream has gaps or repeats");
    let (rows, min, max) = services.committed();
    assert_eq!(
        (rows, min),
        (max, 1),
        "the database's change feed has gaps or repeats"
    );
    assert!(
        max as u64 >= last,
        "stream {last} beyond the database {max}"
    );
}

#[test]
fn a_leader_that_dies_between_commit_and_relay_loses_and_repeats_nothing() {
    let _turn = turn();
    let services = Services::new("outbox");
    let tmp = tempfile::tempdir().unwrap();
    let key = services.new_key("system");
    // The first leader exits right after its 30th commit, before relaying it.
    let first = services.member(
        tmp.path(),
        "gw-a",
        &key,
        &[("SWIM_FAILPOINT", "exit-after-commit:30")],
    );
    wait_for("gw-a to lead", Duration::from_secs(30), || {
        (role(&first).as_deref() == Some("leader")).then_some(())
    });
    let second = services.member(tmp.path(), "gw-b", &key, &[]);
    let mut ws = watch(&second, &key, Some(0));
    wait_for(
        "gw-a to exit at its failpoint",
        Duration::from_secs(60),
        || {
            first
                .http()
                .get(format!("{}/health", first.base))
                .send()
                .is_err()
                .then_some(())
        },
    );
    // Committed but not relayed: the database is ahead of the stream.
    let (_, stream_last, _) = services.stream_state();
    let (_, _, committed) = services.committed();
    assert!(
        committed as u64 > stream_last,
        "the crash left nothing to relay (stream {stream_last}, database {committed})"
    );
    wait_for("gw-b to lead", Duration::from_secs(60), || {
        (role(&second).as_deref() == Some("leader")).then_some(())
    });
    let target = committed as u64 + 100;
    wait_for("events after the takeover", Duration::from_secs(60), || {
        (last_seq(&second) > target).then_some(())
    });
    let n = contiguous_until(&mut ws, Some(0), target);
    assert_eq!(n, target, "seqs 1..={target} each once");
    let (first_seq, last, messages) = services.stream_state();
    assert_eq!(
        (first_seq, messages),
        (1, last),
        "stream has gaps or repeats"
    );
    let (rows, min, max) = services.committed();
    assert_eq!((rows, min), (max, 1));
    drop(first);
}

#[test]
fn keys_and_plugins_pushed_once_hold_on_every_member() {
    let _turn = turn();
    let services = Services::new("keys");
    let tmp = tempfile::tempdir().unwrap();
    let system = services.new_key("system");
    let listed = services.keys(&["list", "--json"]);
    let keys: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(keys.as_array().map(Vec::len), Some(1), "{listed}");
    let gws: Vec<Gateway> = (1..=3)
        .map(|i| services.member(tmp.path(), &format!("gw-{i}"), &system, &[]))
        .collect();
    leader_of(&gws, Duration::from_secs(30));
    let developer = services.new_key("developer");
    let status = |gw: &Gateway| {
        gw.http()
            .get(format!("{}/flights?per_page=1", gw.base))
            .bearer_auth(&developer)
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    for gw in &gws {
        assert_eq!(status(gw), 200);
    }
    let id = serde_json::from_str::<Value>(&services.keys(&["list", "--json"])).unwrap()[0]["id"]
        .as_i64()
        .unwrap();
    // Revoked through one instance, refused by every one.
    let revoked = gws[2]
        .http()
        .delete(format!("{}/keys/{id}", gws[2].base))
        .bearer_auth(&system)
        .send()
        .unwrap();
    assert_eq!(
        revoked.status().as_u16(),
        200,
        "{}",
        revoked.text().unwrap_or_default()
    );
    for gw in &gws {
        wait_for("the revoked key refused", Duration::from_secs(15), || {
            (status(gw) == 401).then_some(())
        });
    }

    // A partner's adapter pushed once serves its route on every member.
    let staged = tmp.path().join("csv.wasm");
    std::fs::copy(
        Path::new(env!("SWIM_TEST_GUESTS_DIR")).join("csv_positions.wasm"),
        &staged,
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("csv.toml"),
        "name = \"csv\"\nkind = \"ingest-adapter\"\nroute = \"csv\"\nowns = [\"position\", \"track\"]\n",
    )
    .unwrap();
    let pushed = Command::new(env!("CARGO_BIN_EXE_swim"))
        .args(["plugins", "push"])
        .arg(&staged)
        .args(["--cluster", NATS, "--stream", &services.stream])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&pushed.stdout);
    assert!(
        pushed.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&pushed.stderr)
    );
    assert!(said.starts_with("pushed csv"), "{said}");
    for gw in &gws {
        let mut last = Value::Null;
        let active = (0..300).any(|_| {
            let plugins = gw.ok("/plugins")["data"].clone();
            last = plugins
                .as_array()
                .and_then(|all| all.iter().find(|p| p["name"] == "csv").cloned())
                .unwrap_or(Value::Null);
            let instances = last["instances"].as_object().cloned().unwrap_or_default();
            let everywhere = last["status"] == "active"
                && instances.len() == 3
                && instances.values().all(|i| i["status"] == "active");
            if !everywhere {
                std::thread::sleep(Duration::from_millis(100));
            }
            everywhere
        });
        assert!(
            active,
            "the pushed plugin is not active on all three: {last}"
        );
    }
    // Its route works on a follower too: the write reaches the leader.
    let leader = leader_of(&gws, Duration::from_secs(5));
    let follower = &gws[(leader + 1) % 3];
    let target = follower.ok("/flights?phase=enroute&per_page=1")["data"][0].clone();
    let callsign = target["identity"]["aircraft_identification"]
        .as_str()
        .unwrap()
        .to_string();
    let line = format!("{callsign},33.25,-97.5,12000\n");
    let (status, reply) = crate::ingest::post(follower, "/ingest/csv", "text/csv", line);
    assert_eq!(
        (status, &reply["data"]["updated"]),
        (200, &json!(1)),
        "{reply}"
    );
    // A garbage file is refused before it reaches any instance.
    std::fs::write(tmp.path().join("junk.wasm"), "not a component").unwrap();
    let refused = Command::new(env!("CARGO_BIN_EXE_swim"))
        .args(["plugins", "push"])
        .arg(tmp.path().join("junk.wasm"))
        .args(["--cluster", NATS, "--stream", &services.stream])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stdout).contains("not pushed"));
}

#[test]
fn a_keys_limits_hold_across_instances() {
    let _turn = turn();
    let services = Services::new("limits");
    let tmp = tempfile::tempdir().unwrap();
    let system = services.new_key("system");
    let gws: Vec<Gateway> = (1..=2)
        .map(|i| services.member(tmp.path(), &format!("gw-{i}"), &system, &[]))
        .collect();
    leader_of(&gws, Duration::from_secs(30));
    // A public key: 5 WebSocket connections and 100 requests a minute.
    let public = services.new_key("public");
    let mut open = Vec::new();
    for (gw, n) in [(&gws[0], 3), (&gws[1], 2)] {
        for _ in 0..n {
            open.push(Ws::open(gw, &public).0);
        }
    }
    // Each instance has heard the other's count within a report or two.
    std::thread::sleep(Duration::from_millis(1_000));
    for gw in &gws {
        let mut sixth = Ws::connect(gw, &public);
        let refused = sixth.next();
        assert_eq!(refused["code"], "CONNECTION_LIMIT", "{refused}");
        assert_eq!(sixth.close_code(), 4002);
    }
    drop(open);

    let get = |gw: &Gateway| {
        gw.http()
            .get(format!("{}/flights?per_page=1", gw.base))
            .bearer_auth(&public)
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    // The shared budget is per clock minute: start well inside one.
    let into_minute = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 60;
    if into_minute > 40 {
        std::thread::sleep(Duration::from_secs(61 - into_minute));
    }
    let on_first = (0..60).filter(|_| get(&gws[0]) == 200).count();
    std::thread::sleep(Duration::from_millis(1_000));
    let on_second = (0..60).filter(|_| get(&gws[1]) == 200).count();
    assert_eq!(on_first, 60);
    assert_eq!(
        on_second, 40,
        "the second instance had 40 of the minute's 100 left"
    );
    std::thread::sleep(Duration::from_millis(1_000));
    assert_eq!(
        get(&gws[0]),
        429,
        "the first has heard the second spend the rest"
    );
}

#[test]
fn a_leader_stopped_on_purpose_hands_the_lease_over_at_once() {
    let _turn = turn();
    let services = Services::new("handover");
    let tmp = tempfile::tempdir().unwrap();
    let key = services.new_key("system");
    let mut gws: Vec<Gateway> = (1..=2)
        .map(|i| services.member(tmp.path(), &format!("gw-{i}"), &key, &[]))
        .collect();
    let leader = leader_of(&gws, Duration::from_secs(30));
    let survivor = 1 - leader;
    let mut ws = watch(&gws[survivor], &key, None);
    let first = loop {
        if let Some(seq) = ws.next()["seq"].as_u64() {
            break seq;
        }
    };
    let status = gws.remove(leader).terminate();
    assert!(status.success(), "the leader's graceful stop: {status}");
    // Released, not left to lapse (that takes 6 s): the lease no longer
    // names the stopped instance.
    let holder = services.lease_holder();
    assert_ne!(
        holder.as_deref(),
        Some(format!("gw-{}", leader + 1).as_str())
    );
    let survivor = &gws[0];
    wait_for("the other to lead", Duration::from_secs(30), || {
        (role(survivor).as_deref() == Some("leader")).then_some(())
    });
    let target = last_seq(survivor) + 20;
    wait_for("events after the handover", Duration::from_secs(60), || {
        (last_seq(survivor) > target).then_some(())
    });
    contiguous_until(&mut ws, Some(first), target);
}
