//! Native TLS: `https://` REST and a `wss://` WebSocket with a certificate
//! made in the test; a renewed certificate is served to the next
//! connection while open ones keep going; a bad pair refuses the start.

use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::pem::PemObject as _;
use serde_json::{Value, json};
use tungstenite::Connector;
use tungstenite::stream::MaybeTlsStream;

use crate::gateway::{Gateway, wait_for};

/// A self-signed certificate for 127.0.0.1: (certificate PEM, key PEM).
fn self_signed() -> (String, String) {
    let made =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    (made.cert.pem(), made.key_pair.serialize_pem())
}

/// Writes both files the way a renewal does: each to a temporary name,
/// then renamed over the old one.
fn install(dir: &Path, (cert, key): &(String, String)) {
    for (name, text) in [("cert.pem", cert), ("key.pem", key)] {
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, dir.join(name)).unwrap();
    }
}

/// A client config that trusts only `pem`.
fn trusting(pem: &str) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types::CertificateDer::pem_slice_iter(pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

type Wss = tungstenite::WebSocket<MaybeTlsStream<TcpStream>>;

/// Opens `wss://` trusting only `pem`; the `connected` message, or the error.
fn open_wss(gw: &Gateway, key: &str, pem: &str) -> Result<(Wss, Value), String> {
    let url = format!(
        "{}/ws?api_key={key}",
        gw.base.replacen("https://", "wss://", 1)
    );
    let host = url.split('/').nth(2).unwrap().to_string();
    let tcp = TcpStream::connect(&host).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let (mut ws, _) =
        tungstenite::client_tls_with_config(url, tcp, None, Some(Connector::Rustls(trusting(pem))))
            .map_err(|e| e.to_string())?;
    let hello = read_json(&mut ws);
    Ok((ws, hello))
}

fn read_json(ws: &mut Wss) -> Value {
    loop {
        if let tungstenite::Message::Text(t) = ws.read().unwrap() {
            return serde_json::from_str(&t).unwrap();
        }
    }
}

fn start_demo(dir: &Path, cert: &Path, key: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_swim"))
        .args(["demo", "--flights", "10", "--port", "0", "--data-dir"])
        .arg(dir)
        .arg("--tls-cert")
        .arg(cert)
        .arg("--tls-key")
        .arg(key)
        .output()
        .unwrap()
}

#[test]
fn a_bad_certificate_or_key_refuses_the_start_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (cert_a, _) = self_signed();
    let (_, key_b) = self_signed();
    std::fs::write(dir.join("a.pem"), &cert_a).unwrap();
    std::fs::write(dir.join("b.key"), &key_b).unwrap();
    std::fs::write(dir.join("empty.pem"), "").unwrap();
    let cases = [
        ("a.pem", "b.key", "does not belong to the certificate"),
        ("empty.pem", "b.key", "holds no PEM certificate"),
        ("a.pem", "missing.key", "cannot read private key"),
        ("missing.pem", "b.key", "cannot read certificate chain"),
    ];
    for (cert, key, reason) in cases {
        let out = start_demo(&dir.join("data"), &dir.join(cert), &dir.join(key));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{cert} + {key} started");
        assert!(stderr.contains(reason), "{cert} + {key}: {stderr}");
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("listening"),
            "{cert} + {key}: it listened before refusing"
        );
    }
}

#[test]
fn https_and_wss_work_and_a_renewed_certificate_is_served_without_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let first = self_signed();
    install(tmp.path(), &first);
    let cert = tmp.path().join("cert.pem");
    let key = tmp.path().join("key.pem");
    let gw = Gateway::start_unready(
        &[
            "demo",
            "--flights",
            "50",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
        &tmp.path().join("data"),
    )
    .trusting(&first.0)
    .started();
    assert!(gw.base.starts_with("https://127.0.0.1:"), "{}", gw.base);
    let health = gw.ok("/health");
    assert_eq!(health["success"], true);
    let api_key = gw.key.clone().unwrap();
    let (mut open, hello) = open_wss(&gw, &api_key, &first.0).unwrap();
    assert_eq!(hello["type"], "connected", "{hello}");
    // Plain HTTP on the TLS port is not served.
    let plain = gw.base.replacen("https://", "http://", 1);
    assert!(reqwest::blocking::get(format!("{plain}/health")).is_err());

    // The renewal: new files in place; the next connection gets them.
    let renewed = self_signed();
    install(tmp.path(), &renewed);
    let hello = wait_for("the renewed certificate", Duration::from_secs(20), || {
        open_wss(&gw, &api_key, &renewed.0)
            .ok()
            .map(|(_, hello)| hello)
    });
    assert_eq!(hello["type"], "connected");
    let Err(err) = open_wss(&gw, &api_key, &first.0) else {
        panic!("the old certificate is still served");
    };
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    // The connection made before the renewal is still served.
    open.send(tungstenite::Message::text(
        json!({"action": "ping"}).to_string(),
    ))
    .unwrap();
    let pong = loop {
        let m = read_json(&mut open);
        if m["type"] == "pong" {
            break m;
        }
    };
    assert_eq!(pong["type"], "pong");
    // And REST with the renewed certificate.
    let gw = gw.trusting(&renewed.0);
    assert_eq!(gw.ok("/health")["success"], true);
}
