//! PERTI's webhook signature: `X-VATSWIM-Signature: sha256=HEX`, the
//! HMAC-SHA256 of `TIMESTAMP.BODY` under the subscription's shared secret,
//! with `X-VATSWIM-Timestamp: TIMESTAMP` (Unix seconds). A receiver
//! recomputes it over the raw body and refuses old timestamps (replays).

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The signature header.
pub const SIGNATURE_HEADER: &str = "X-VATSWIM-Signature";
/// The timestamp header (Unix seconds).
pub const TIMESTAMP_HEADER: &str = "X-VATSWIM-Timestamp";

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &str, timestamp: &str, body: &[u8]) -> HmacSha256 {
    // HMAC takes a key of any length.
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The signature header's value for `body` sent at `timestamp`.
pub fn signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let tag = mac(secret, timestamp, body).finalize().into_bytes();
    format!("sha256={}", hex::encode(tag))
}

/// Why a signed request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The timestamp is not a number of seconds.
    #[error("the timestamp {0:?} is not Unix seconds")]
    BadTimestamp(String),
    /// Older (or further ahead) than the window.
    #[error("the timestamp is {age} s from now, beyond the {window} s window (a replay?)")]
    Stale {
        /// Seconds between the timestamp and now.
        age: u64,
        /// The window.
        window: u64,
    },
    /// Not `sha256=HEX`.
    #[error("the signature is not `sha256=` and 64 hex digits")]
    BadFormat,
    /// Not this body's signature under the secret.
    #[error("the signature does not match the body")]
    Mismatch,
}

/// Checks a received body's signature (in constant time) and that its
/// timestamp is within `window_s` of `now_s`.
pub fn verify(
    secret: &str,
    signature: &str,
    timestamp: &str,
    body: &[u8],
    now_s: i64,
    window_s: u64,
) -> Result<(), Refused> {
    let sent: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| Refused::BadTimestamp(crate::text::cut(timestamp.to_string(), 32)))?;
    let age = now_s.abs_diff(sent);
    if age > window_s {
        return Err(Refused::Stale {
            age,
            window: window_s,
        });
    }
    let tag = signature
        .strip_prefix("sha256=")
        .and_then(|h| hex::decode(h).ok())
        .filter(|t| t.len() == 32)
        .ok_or(Refused::BadFormat)?;
    mac(secret, timestamp.trim(), body)
        .verify_slice(&tag)
        .map_err(|_| Refused::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Computed independently, as a partner's receiver would:
        // Python's hmac.new(b"s3cret", b"1700000000.{}", hashlib.sha256).
        assert_eq!(
            signature("s3cret", "1700000000", b"{}"),
            "sha256=97926816e98fbb41ccb1673225ff29a2f35369099990e1b1561651e7bd097ebf"
        );
    }

    #[test]
    fn verify_takes_its_own_signature_and_refuses_tampering_and_replays() {
        let body = br#"{"events":[]}"#;
        let sig = signature("k", "1000", body);
        assert_eq!(verify("k", &sig, "1000", body, 1000, 300), Ok(()));
        assert_eq!(
            verify("k", &sig, "1000", b"{\"events\":[1]}", 1000, 300),
            Err(Refused::Mismatch)
        );
        assert_eq!(
            verify("other", &sig, "1000", body, 1000, 300),
            Err(Refused::Mismatch)
        );
        assert_eq!(
            verify("k", &sig, "1000", body, 1400, 300),
            Err(Refused::Stale {
                age: 400,
                window: 300
            })
        );
        assert_eq!(
            verify("k", "md5=00", "1000", body, 1000, 300),
            Err(Refused::BadFormat)
        );
        assert!(matches!(
            verify("k", &sig, "yesterday", body, 1000, 300),
            Err(Refused::BadTimestamp(_))
        ));
    }
}
