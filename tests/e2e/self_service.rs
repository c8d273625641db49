//! Self-service keys as a pilot client gets them (docs/CONFIG.md,
//! self-service keys): a VATSIM Connect access token in, a developer key
//! tied to the pilot's CID out, against a local server answering as
//! Connect's user endpoint does (a valid token, an expired one, one without
//! the scope that gives the CID) and one that is not there.

use serde_json::{Value, json};

use crate::gateway::{self, Gateway};
use crate::receiver::{Received, Receiver};

/// Connect's user endpoint: `good-CID` is a valid token of that CID,
/// `expired` one Connect no longer takes, `noscope` one without
/// `vatsim_details`.
fn connect_answer(request: &Received) -> (u16, String) {
    let token = request
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or_default();
    let personal = json!({"name_first": "Ada", "name_last": "Pilot", "name_full": "Ada Pilot",
                          "email": "ada@example.org"});
    match token.strip_prefix("good-") {
        Some(cid) => (
            200,
            json!({"data": {"cid": cid, "personal": personal,
                            "vatsim": {"rating": {"short": "OBS"}, "pilotrating": {"short": "P2"}},
                            "oauth": {"token_valid": "true"}}})
            .to_string(),
        ),
        None if token == "noscope" => (
            200,
            json!({"data": {"personal": personal, "oauth": {"token_valid": "true"}}}).to_string(),
        ),
        None => (401, json!({"message": "Unauthenticated."}).to_string()),
    }
}

fn gateway_asking(dir: &std::path::Path, connect_url: &str) -> Gateway {
    let mut config = gateway::config(dir, gateway::sim(3, 50, 1.0, None));
    config.self_service = Some(swim::auth::provision::SelfServiceConfig {
        connect_url: connect_url.to_string(),
        expires: std::time::Duration::from_secs(365 * 86_400),
    });
    Gateway::in_process(config)
}

/// POSTs a body with no API key.
fn post(gw: &Gateway, path: &str, body: Value) -> (u16, Value) {
    let response = gw
        .http()
        .post(format!("{}{path}", gw.base))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .unwrap();
    let status = response.status().as_u16();
    (
        status,
        serde_json::from_str(&response.text().unwrap()).unwrap(),
    )
}

fn flights_with(gw: &Gateway, key: &str) -> u16 {
    gw.http()
        .get(format!("{}/flights?per_page=1", gw.base))
        .bearer_auth(key)
        .send()
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn a_pilot_client_gets_its_own_key_with_a_connect_token_and_revokes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let connect = Receiver::answering(connect_answer);
    let gw = gateway_asking(tmp.path(), &connect.url);
    let provision = |token: &str, client: &str| {
        post(
            &gw,
            "/keys/provision",
            json!({"access_token": token, "client_name": client, "client_version": "2.1"}),
        )
    };

    let (status, missing) = post(&gw, "/keys/provision", json!({}));
    assert_eq!(
        (status, missing["code"].as_str()),
        (400, Some("MISSING_TOKEN")),
        "{missing}"
    );
    let (status, made) = provision("good-1234567", "xPilot");
    assert_eq!(status, 200, "{made}");
    let data = &made["data"];
    let key = data["api_key"].as_str().unwrap().to_string();
    assert!(key.starts_with("swim_dev_"), "{made}");
    assert_eq!(
        (data["cid"].as_u64(), data["is_new"].as_bool()),
        (Some(1_234_567), Some(true))
    );
    assert_eq!(
        (data["tier"].as_str(), data["pilot_rating"].as_str()),
        (Some("developer"), Some("P2"))
    );
    assert_eq!(flights_with(&gw, &key), 200);
    // Connect's token reached Connect, with the pilot's token.
    assert_eq!(
        connect.received()[0].header("authorization"),
        Some("Bearer good-1234567")
    );

    // The same pilot and client again (a second machine): the same key.
    let (_, again) = provision("good-1234567", "xPilot");
    assert_eq!(again["data"]["api_key"].as_str(), Some(key.as_str()));
    assert_eq!(again["data"]["is_new"], false);
    let (_, other_client) = provision("good-1234567", "vPilot");
    assert_ne!(other_client["data"]["api_key"].as_str(), Some(key.as_str()));

    let (status, expired) = provision("expired", "xPilot");
    // A 401 says UNAUTHORIZED with the reason (the gateway's 401 shape).
    assert_eq!(
        (status, expired["reason"].as_str()),
        (401, Some("INVALID_TOKEN")),
        "{expired}"
    );
    let (status, scope) = provision("noscope", "xPilot");
    assert_eq!(
        (status, scope["code"].as_str()),
        (403, Some("INSUFFICIENT_SCOPE")),
        "{scope}"
    );
    assert!(
        scope["message"]
            .as_str()
            .unwrap()
            .contains("vatsim_details"),
        "{scope}"
    );

    // Only its owner revokes a key.
    let (status, not_his) = post(
        &gw,
        "/keys/revoke",
        json!({"access_token": "good-999", "api_key": key}),
    );
    assert_eq!(
        (status, not_his["code"].as_str()),
        (404, Some("NO_KEYS_FOUND")),
        "{not_his}"
    );
    assert_eq!(flights_with(&gw, &key), 200);
    let (status, revoked) = post(
        &gw,
        "/keys/revoke",
        json!({"access_token": "good-1234567", "api_key": key}),
    );
    assert_eq!(status, 200, "{revoked}");
    assert_eq!(revoked["data"]["revoked_count"], 1);
    assert_eq!(flights_with(&gw, &key), 401, "a revoked key still works");
    // Provisioned again: a new key.
    let (_, renewed) = provision("good-1234567", "xPilot");
    assert_eq!(renewed["data"]["is_new"], true);
    assert_ne!(renewed["data"]["api_key"].as_str(), Some(key.as_str()));

    let listed = gw.ok("/keys").to_string();
    assert!(
        listed.contains("VATSIM 1234567 (Ada Pilot), xPilot"),
        "{listed}"
    );
    assert!(!listed.contains(&key[12..]), "a listing shows a key");
}

#[test]
fn connect_out_of_reach_is_said_and_a_gateway_without_it_serves_no_provisioning() {
    let tmp = tempfile::tempdir().unwrap();
    // A port nothing listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/api/user", dead.local_addr().unwrap());
    drop(dead);
    let gw = gateway_asking(&tmp.path().join("a"), &url);
    let (status, body) = post(&gw, "/keys/provision", json!({"access_token": "good-1"}));
    assert_eq!(status, 503, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("VATSIM Connect could not be reached"),
        "{body}"
    );
    drop(gw);

    let off = Gateway::in_process(gateway::config(
        &tmp.path().join("b"),
        gateway::sim(3, 50, 1.0, None),
    ));
    let (status, body) = post(&off, "/keys/provision", json!({"access_token": "good-1"}));
    assert_eq!(status, 404, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("vatsim_connect_url"),
        "{body}"
    );
}
