//! Access control against the real server: keys at the door, tier limits,
//! write permissions, the audit log, exact per-key counts.

use std::process::Stdio;
use std::time::Duration;

use reqwest::blocking::Response;

use crate::gateway::{Gateway, create_key, wait_for};

fn start(tmp: &tempfile::TempDir) -> Gateway {
    let log = std::fs::File::create(tmp.path().join("gateway.log")).unwrap();
    Gateway::start_with(
        &["demo", "--flights", "50", "--seed", "5"],
        tmp.path(),
        None,
        Stdio::from(log),
        "debug",
    )
}

fn get(gw: &Gateway, path: &str, key: Option<&str>) -> Response {
    let request = gw.http().get(format!("{}{path}", gw.base));
    match key {
        Some(k) => request.bearer_auth(k),
        None => request,
    }
    .send()
    .unwrap()
}

fn post(gw: &Gateway, path: &str, key: &str) -> Response {
    gw.http()
        .post(format!("{}{path}", gw.base))
        .header("x-api-key", key)
        .body("{}")
        .send()
        .unwrap()
}

fn code(r: Response) -> (u16, String) {
    let status = r.status().as_u16();
    let body = json(r);
    (
        status,
        // PERTI's 401 code is UNAUTHORIZED; which check failed is `reason`.
        body["reason"]
            .as_str()
            .or(body["code"].as_str())
            .unwrap_or("")
            .to_string(),
    )
}

fn json(r: Response) -> serde_json::Value {
    serde_json::from_str(&r.text().unwrap()).unwrap()
}

fn header(r: &Response, name: &str) -> u64 {
    r.headers()[name].to_str().unwrap().parse().unwrap()
}

#[test]
fn keys_are_checked_at_the_door_and_revocation_is_immediate() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = start(&tmp);
    let dev = gw.developer_key.clone().unwrap();
    let system = gw.key.clone().unwrap();

    assert_eq!(get(&gw, "/health", None).status(), 200, "/health is open");
    assert_eq!(get(&gw, "/metrics", None).status(), 200, "/metrics is open");
    assert_eq!(
        code(get(&gw, "/flights", None)),
        (401, "MISSING_API_KEY".into())
    );
    assert_eq!(
        code(get(&gw, "/flights", Some("nonsense"))),
        (401, "INVALID_API_KEY".into())
    );
    let made_up = format!("swim_sys_{}", "ab".repeat(32));
    // PERTI's 401: `{"error": true, "status": 401, "code": "UNAUTHORIZED", "message"}`.
    let refused = json(get(&gw, "/flights", Some(&made_up)));
    assert_eq!(
        (&refused["error"], &refused["status"], &refused["code"]),
        (
            &serde_json::json!(true),
            &serde_json::json!(401),
            &serde_json::json!("UNAUTHORIZED")
        ),
        "{refused}"
    );
    assert_eq!(refused["reason"], "INVALID_API_KEY");
    assert_eq!(
        code(get(&gw, "/flights", Some(&made_up))),
        (401, "INVALID_API_KEY".into())
    );
    let by_header = gw
        .http()
        .get(format!("{}/flights", gw.base))
        .header("x-api-key", &dev)
        .send()
        .unwrap();
    assert_eq!(by_header.status(), 200);
    // Both sent: X-API-Key is the key, as in PERTI's auth.php.
    let both = |x_api_key: &str, bearer: &str| {
        gw.http()
            .get(format!("{}/flights", gw.base))
            .header("x-api-key", x_api_key)
            .bearer_auth(bearer)
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(both(&dev, &made_up), 200);
    assert_eq!(both(&made_up, &dev), 401);

    // A key that expires in a second.
    let brief = create_key(
        tmp.path(),
        &["--tier", "developer", "--owner", "t", "--expires", "1s"],
    );
    std::thread::sleep(Duration::from_millis(1_500));
    assert_eq!(
        code(get(&gw, "/flights", Some(&brief))),
        (401, "KEY_EXPIRED".into())
    );

    // Revoked on this instance: refused on the very next request.
    assert_eq!(get(&gw, "/flights", Some(&dev)).status(), 200);
    let keys: serde_json::Value = json(get(&gw, "/keys", Some(&system)));
    let dev_id = keys["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["tier"] == "developer" && k["owner"] == "demo")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let revoked = gw
        .http()
        .delete(format!("{}/keys/{dev_id}", gw.base))
        .bearer_auth(&system)
        .send()
        .unwrap();
    assert_eq!(revoked.status(), 200);
    assert_eq!(
        code(get(&gw, "/flights", Some(&dev))),
        (401, "KEY_REVOKED".into())
    );

    // Revoked by another process (`swim keys revoke`): refused within seconds.
    let other = create_key(tmp.path(), &["--tier", "public", "--owner", "t"]);
    assert_eq!(get(&gw, "/flights", Some(&other)).status(), 200);
    let listed = std::process::Command::new(env!("CARGO_BIN_EXE_swim"))
        .args(["keys", "list", "--json", "--data-dir"])
        .arg(tmp.path())
        .output()
        .unwrap();
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let other_id = listed[0]["id"].as_i64().unwrap();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_swim"))
        .args(["keys", "revoke", &other_id.to_string(), "--data-dir"])
        .arg(tmp.path())
        .status()
        .unwrap();
    assert!(status.success());
    wait_for(
        "the revocation to reach the gateway",
        Duration::from_secs(10),
        || (get(&gw, "/flights", Some(&other)).status() == 401).then_some(()),
    );

    // Inactive (deactivated by an admin tool, not revoked).
    let idle = create_key(tmp.path(), &["--tier", "public", "--owner", "idle"]);
    let db = rusqlite::Connection::open(tmp.path().join("swim.db")).unwrap();
    db.execute_batch(
        "UPDATE api_keys SET is_active = 0 WHERE owner = 'idle';
         UPDATE gateway_state SET value = value + 1 WHERE key = 'keys_version';",
    )
    .unwrap();
    wait_for(
        "the deactivation to reach the gateway",
        Duration::from_secs(10),
        || (code(get(&gw, "/flights", Some(&idle))) == (401, "KEY_INACTIVE".into())).then_some(()),
    );

    // No key material in the database or the log, and every failure audited.
    let system_tail = &system[system.len() - 20..];
    let mut stored = std::fs::read(tmp.path().join("swim.db")).unwrap();
    stored.extend(std::fs::read(tmp.path().join("swim.db-wal")).unwrap_or_default());
    stored.extend(std::fs::read(tmp.path().join("gateway.log")).unwrap());
    for key in [&dev, &system, &brief, &other, &idle] {
        let tail = &key[key.len() - 20..];
        assert!(
            !stored.windows(tail.len()).any(|w| w == tail.as_bytes()),
            "key material stored in plain text"
        );
    }
    assert_ne!(system_tail, "");
    // Every kind of failure is audited (repeats of a kind from one address
    // within a minute are summed into one later row).
    wait_for("the audit rows", Duration::from_secs(10), || {
        let mut stmt = db
            .prepare("SELECT DISTINCT detail FROM audit_log WHERE status = 401")
            .unwrap();
        let kinds: std::collections::BTreeSet<String> = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let expected = [
            "INVALID_API_KEY",
            "KEY_EXPIRED",
            "KEY_INACTIVE",
            "KEY_REVOKED",
            "MISSING_API_KEY",
        ];
        expected.iter().all(|k| kinds.contains(*k)).then_some(())
    });
}

#[test]
fn each_tier_gets_its_limit_then_429_with_retry_after() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = start(&tmp);
    let tiers = [
        ("public", 100u64),
        ("developer", 300),
        ("partner", 3_000),
        ("system", 30_000),
    ];
    for (tier, limit) in tiers {
        let key = create_key(tmp.path(), &["--tier", tier, "--owner", "limits"]);
        let served = std::sync::atomic::AtomicU64::new(0);
        let started = std::time::Instant::now();
        // Eight clients spend the bucket until the first 429.
        let refused = std::thread::scope(|s| {
            let clients: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        loop {
                            let r = get(&gw, "/", Some(&key));
                            if r.status() == 429 {
                                return r;
                            }
                            assert_eq!(r.status(), 200, "{tier}");
                            assert_eq!(header(&r, "x-ratelimit-limit"), limit);
                            served.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                    })
                })
                .collect();
            clients
                .into_iter()
                .map(|c| c.join().unwrap())
                .last()
                .unwrap()
        });
        let served = served.into_inner();
        // The bucket holds `limit` and refills `limit` a minute meanwhile.
        let refill = (started.elapsed().as_secs_f64() * limit as f64 / 60.0).ceil() as u64;
        assert!(
            served >= limit && served <= limit + refill + 1,
            "{tier}: {served} served for a limit of {limit} (+{refill} refilled)"
        );
        assert_eq!(header(&refused, "x-ratelimit-remaining"), 0);
        let retry = header(&refused, "retry-after");
        // One request refills every 60/limit seconds (rounded up to 1 s).
        assert!(
            (1..=60 / limit + 1).contains(&retry),
            "{tier}: Retry-After {retry}"
        );
        std::thread::sleep(Duration::from_secs(retry));
        assert_eq!(
            get(&gw, "/", Some(&key)).status(),
            200,
            "{tier}: still refused"
        );
    }
}

#[test]
fn writes_need_permission_and_every_refusal_is_audited() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = start(&tmp);
    let dev = gw.developer_key.clone().unwrap();
    let partner = create_key(
        tmp.path(),
        &[
            "--tier",
            "partner",
            "--owner",
            "p",
            "--can-write",
            "--sources",
            "track",
        ],
    );
    assert_eq!(code(post(&gw, "/ingest/track", &dev)).0, 403);
    assert_eq!(code(post(&gw, "/tmi/programs", &dev)).0, 403);
    assert_eq!(code(post(&gw, "/ingest/adl", &partner)).0, 403);
    assert_eq!(code(post(&gw, "/tmi/programs", &partner)).0, 403);
    assert_eq!(code(get(&gw, "/plugins", Some(&dev))).0, 403);
    // Its own route passes the gate; the adapter then refuses the body `{}`.
    assert_eq!(
        code(post(&gw, "/ingest/track", &partner)),
        (400, "INVALID_BODY".into())
    );

    let db = rusqlite::Connection::open(tmp.path().join("swim.db")).unwrap();
    wait_for("the audit rows", Duration::from_secs(10), || {
        let rows: Vec<(String, String, i64)> = db
            .prepare("SELECT method, path, status FROM audit_log WHERE status = 403 ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        (rows.len() == 5).then_some(rows)
    });
    // The audit writer is a thread of its own: the row lands shortly after.
    let written = |db: &rusqlite::Connection| -> i64 {
        db.query_row(
            "SELECT COUNT(*) FROM audit_log WHERE path = '/api/swim/v1/ingest/track' AND status != 403",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    wait_for(
        "the permitted write audited",
        Duration::from_secs(10),
        || (written(&db) >= 1).then_some(()),
    );
    assert_eq!(written(&db), 1, "the permitted write is audited too, once");
}

#[test]
fn a_thousand_concurrent_requests_are_counted_exactly_per_key() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = start(&tmp);
    let keys: Vec<String> = (0..10)
        .map(|i| {
            create_key(
                tmp.path(),
                &["--tier", "developer", "--owner", &format!("k{i}")],
            )
        })
        .collect();
    std::thread::scope(|s| {
        for t in 0..50 {
            let (gw, keys) = (&gw, &keys);
            s.spawn(move || {
                for i in 0..20 {
                    let key = &keys[(t * 20 + i) % keys.len()];
                    assert_eq!(get(gw, "/", Some(key)).status(), 200);
                }
            });
        }
    });
    for key in &keys {
        assert_eq!(get(&gw, "/", Some(key)).status(), 200);
    }
    let system = gw.key.clone().unwrap();
    let counted = wait_for("usage to be written", Duration::from_secs(15), || {
        let list: serde_json::Value = json(get(&gw, "/keys", Some(&system)));
        let counts: Vec<u64> = list["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["owner"].as_str().unwrap().starts_with('k'))
            .map(|k| k["requests"].as_u64().unwrap())
            .collect();
        (counts.len() == 10 && counts.iter().all(|c| *c >= 101)).then_some(counts)
    });
    assert!(counted.iter().all(|c| *c == 101), "{counted:?}");
}
