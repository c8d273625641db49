//! Stream positions with epochs, end to end: a `since` older than the
//! retention replays from the oldest kept event after `RESUME_GAP`; one
//! beyond the feed's end, from another epoch, or u64::MAX gets
//! `RESUME_GAP` and the client goes on live; REST `/events` answers the
//! same cases naming the parameter; a restart keeps the epoch and a
//! database restored from a backup starts a new one.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::gateway::{Gateway, create_key, wait_for};
use crate::ws_client::Ws;

/// A fast simulated world whose change feed keeps one simulated minute.
fn start(dir: &Path, key: Option<String>) -> Gateway {
    let config = dir.join("swim.toml");
    std::fs::write(
        &config,
        "[source]\nkind = \"sim\"\nflights = 300\nseed = 3\nspeed = 300.0\n\
         [retention]\nevents_minutes = 1\npositions_minutes = 1\n",
    )
    .unwrap();
    let key = key.unwrap_or_else(|| create_key(dir, &["--tier", "system", "--owner", "tests"]));
    let config = config.to_str().unwrap().to_string();
    Gateway::start_keyed(&["serve", "--config", &config], dir, Some(key))
}

fn subscribe_since(ws: &mut Ws, since: Value) {
    ws.send(json!({"action": "subscribe", "channels": ["*"], "since": since}));
}

/// The next message that carries a seq.
fn next_event(ws: &mut Ws) -> Value {
    loop {
        let m = ws.next();
        if m["seq"].is_u64() {
            return m;
        }
    }
}

#[test]
fn positions_outside_the_feed_get_resume_gap_and_the_client_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = start(tmp.path(), None);
    let key = gw.key.clone().unwrap();
    let (_, hello) = Ws::open(&gw, &key);
    let epoch = hello["data"]["epoch"].as_str().unwrap().to_string();
    assert_eq!(epoch.len(), 16, "{hello}");
    assert!(hello["data"]["last_seq"].is_u64(), "{hello}");

    // Retention: the feed no longer holds its first events.
    let oldest = wait_for(
        "retention to remove old events",
        Duration::from_secs(90),
        || {
            let page = gw.ok("/events?since=0&limit=1");
            page["data"]["resume_gap"].as_u64()
        },
    );
    assert!(oldest > 1);

    // Older than the retention: told, then replayed from the oldest kept.
    let (mut ws, _) = Ws::open(&gw, &key);
    subscribe_since(&mut ws, json!(0));
    assert_eq!(ws.next_of("subscribed")["epoch"], epoch.as_str());
    let gap = ws.next_of("error");
    assert_eq!(gap["code"], "RESUME_GAP", "{gap}");
    let from = gap["oldest_seq"].as_u64().unwrap();
    assert!(from >= oldest, "{gap}");
    let first = next_event(&mut ws)["seq"].as_u64().unwrap();
    assert_eq!(first, from, "the replay starts at the oldest kept event");
    let second = next_event(&mut ws)["seq"].as_u64().unwrap();
    assert_eq!(second, first + 1, "then goes on with no gap");

    // Beyond the end, another epoch, the largest seq: RESUME_GAP naming
    // what is wrong, then live events.
    let last = gw.ok("/events?limit=1")["data"]["last_seq"]
        .as_u64()
        .unwrap();
    let cases = [
        (json!(last + 1_000), "since"),
        (json!({"offset": 5, "epoch": "0000000000000000"}), "epoch"),
        (json!(u64::MAX), "since"),
    ];
    for (since, param) in cases {
        let (mut ws, _) = Ws::open(&gw, &key);
        subscribe_since(&mut ws, since.clone());
        let gap = ws.next_of("error");
        assert_eq!(
            (gap["code"].as_str(), gap["param"].as_str()),
            (Some("RESUME_GAP"), Some(param)),
            "{since}: {gap}"
        );
        assert_eq!(gap["epoch"], epoch.as_str(), "{gap}");
        assert!(gap["last_seq"].as_u64().unwrap() >= last, "{gap}");
        let subscribed = ws.next_of("subscribed");
        let live_from = subscribed["since"].as_u64().unwrap();
        assert!(
            live_from >= last && live_from < last + 1_000,
            "{subscribed}"
        );
        let live = next_event(&mut ws)["seq"].as_u64().unwrap();
        assert!(
            live > live_from,
            "{since}: live events follow ({live} after {live_from})"
        );
    }

    // REST: the same cases, naming the parameter.
    let (status, body) = gw.get(&format!("/events?since={}", last + 1_000));
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "RESUME_GAP");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("parameter `since`"),
        "{body}"
    );
    let (status, body) = gw.get("/events?since=1&epoch=0000000000000000");
    assert_eq!(status, 409, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("parameter `epoch`"),
        "{body}"
    );
    let page = gw.ok(&format!("/events?since={last}&epoch={epoch}&limit=1"));
    assert_eq!(page["data"]["epoch"], epoch.as_str());
}

#[test]
fn a_restart_keeps_the_epoch_and_a_restored_database_starts_a_new_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let gw = start(dir, None);
    let key = gw.key.clone().unwrap();
    let epoch = |gw: &Gateway| {
        gw.ok("/events?limit=1")["data"]["epoch"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let last = |gw: &Gateway| {
        gw.ok("/events?limit=1")["data"]["last_seq"]
            .as_u64()
            .unwrap()
    };
    let first_epoch = epoch(&gw);
    wait_for("some events", Duration::from_secs(30), || {
        (last(&gw) > 50).then_some(())
    });
    assert!(gw.terminate().success());

    // A backup of the stopped gateway's database.
    let backup = dir.join("backup");
    std::fs::create_dir_all(&backup).unwrap();
    for f in ["swim.db", "swim.db-wal", "swim.db-shm"] {
        let _ = std::fs::copy(dir.join(f), backup.join(f));
    }
    let gw = start(dir, Some(key.clone()));
    assert_eq!(epoch(&gw), first_epoch, "a restart continues the epoch");
    let before = last(&gw);
    wait_for("the feed to move on", Duration::from_secs(30), || {
        (last(&gw) > before + 50).then_some(())
    });
    let seen = last(&gw);
    assert!(gw.terminate().success());

    // Restored: its seqs rewind, so a position from before means nothing.
    for f in ["swim.db", "swim.db-wal", "swim.db-shm"] {
        let _ = std::fs::remove_file(dir.join(f));
        let _ = std::fs::copy(backup.join(f), dir.join(f));
    }
    let gw = start(dir, Some(key.clone()));
    let restored_epoch = epoch(&gw);
    assert_ne!(
        restored_epoch, first_epoch,
        "a restored database starts a new epoch"
    );
    let (mut ws, _) = Ws::open(&gw, &key);
    ws.send(json!({"action": "subscribe", "channels": ["*"], "since": {"offset": seen, "epoch": first_epoch}}));
    let gap = ws.next_of("error");
    assert_eq!(
        (gap["code"].as_str(), gap["epoch"].as_str()),
        (Some("RESUME_GAP"), Some(restored_epoch.as_str())),
        "{gap}"
    );
}
