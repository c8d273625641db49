//! VATSIM Connect's user endpoint (`GET https://auth.vatsim.net/api/user`
//! with the pilot's OAuth access token): who a token belongs to, for
//! self-service keys (`auth::provision`).

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

/// How long Connect may take to answer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A pilot, as Connect says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pilot {
    /// The VATSIM CID.
    pub cid: u64,
    /// Full name, if the token's scopes give it.
    pub name: Option<String>,
    /// Email, if the token's scopes give it.
    pub email: Option<String>,
    /// Pilot rating (`P1`...), if the token's scopes give it.
    pub rating: Option<String>,
}

/// Why Connect did not say who the token belongs to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    /// Connect refused the token (expired, revoked, made up).
    #[error("VATSIM Connect refused the access token (expired or invalid): {0}")]
    InvalidToken(String),
    /// The token does not give the CID.
    #[error(
        "the access token does not give the pilot's CID; sign in again granting the \
         `vatsim_details` scope ({0})"
    )]
    Scope(String),
    /// Connect could not be asked.
    #[error("VATSIM Connect could not be reached: {0}")]
    Unreachable(String),
}

#[derive(Deserialize)]
struct Answer {
    data: Option<Value>,
}

/// Asks Connect's user endpoint at `url` who `token` belongs to.
pub async fn who(http: &reqwest::Client, url: &str, token: &str) -> Result<Pilot, ConnectError> {
    let answer = http
        .get(url)
        .bearer_auth(token)
        .header(reqwest::header::ACCEPT, "application/json")
        .timeout(TIMEOUT)
        .send()
        .await
        .map_err(|e| ConnectError::Unreachable(e.to_string()))?;
    let status = answer.status();
    let text = answer
        .text()
        .await
        .map_err(|e| ConnectError::Unreachable(e.to_string()))?;
    let said = || crate::text::cut(text.clone(), 200);
    match status.as_u16() {
        200 => {}
        401 => return Err(ConnectError::InvalidToken(format!("HTTP 401: {}", said()))),
        403 => return Err(ConnectError::Scope(format!("HTTP 403: {}", said()))),
        _ => {
            return Err(ConnectError::Unreachable(format!(
                "HTTP {status}: {}",
                said()
            )));
        }
    }
    let data = serde_json::from_str::<Answer>(&text)
        .ok()
        .and_then(|a| a.data)
        .ok_or_else(|| {
            ConnectError::Unreachable(format!("an answer without `data`: {}", said()))
        })?;
    pilot(&data).ok_or_else(|| ConnectError::Scope("the answer has no `cid`".into()))
}

/// The pilot in Connect's `data` (its `cid` is a string; a number is
/// taken too).
fn pilot(data: &Value) -> Option<Pilot> {
    let cid = match &data["cid"] {
        Value::String(s) => s.trim().parse().ok()?,
        Value::Number(n) => n.as_u64()?,
        _ => return None,
    };
    let text = |v: &Value| v.as_str().map(str::to_string);
    let personal = &data["personal"];
    Some(Pilot {
        cid,
        name: text(&personal["name_full"]).or_else(|| text(&personal["name_first"])),
        email: text(&personal["email"]),
        rating: text(&data["vatsim"]["pilotrating"]["short"]),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn connects_answer_gives_the_cid_and_what_the_scopes_allow() {
        let full = json!({"cid": "1234567", "personal": {"name_full": "Ada Pilot", "email": "a@example.org"},
                          "vatsim": {"pilotrating": {"short": "P2"}}, "oauth": {"token_valid": "true"}});
        assert_eq!(
            pilot(&full),
            Some(Pilot {
                cid: 1_234_567,
                name: Some("Ada Pilot".into()),
                email: Some("a@example.org".into()),
                rating: Some("P2".into()),
            })
        );
        assert_eq!(pilot(&json!({"cid": 42})).unwrap().cid, 42);
        assert_eq!(pilot(&json!({"personal": {"name_full": "No Cid"}})), None);
        assert_eq!(pilot(&json!({"cid": "abc"})), None);
    }
}
