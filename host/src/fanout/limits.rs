//! What one connection's subscription may hold, per tier: channels, list
//! filter entries, a wasm filter's params. Each bound keeps a connection's
//! memory and its share of routing small whatever it sends (within the
//! message size and rate limits, a connection could otherwise add
//! thousands of channels a second, or hand a shared filter plugin
//! thousands of prefixes).

use super::client::Subscription;
use super::protocol::ProtocolError;
use crate::auth::Tier;

/// Whether `after` (the subscription as a subscribe would leave it) is
/// within `tier`'s bounds; the error names the bound and the tier.
pub fn check(after: &Subscription, tier: Tier) -> Result<(), ProtocolError> {
    let channels = after.channels().len();
    let max = tier.channels_per_connection();
    if channels > max {
        return Err(ProtocolError::new(
            "TOO_MANY_CHANNELS",
            format!(
                "this subscribe would leave {channels} channels on the connection; the {} tier's limit is {max} (unsubscribe some, or use a pattern such as flight.*)",
                tier.as_str()
            ),
        ));
    }
    let filter = after.filter();
    let entries = filter.list_entries();
    let max = tier.filter_entries();
    if entries > max {
        return Err(ProtocolError::new(
            "FILTER_TOO_LARGE",
            format!(
                "the filters would hold {entries} entries (airports, artccs, callsign_prefix, phase together); the {} tier's limit is {max}",
                tier.as_str()
            ),
        ));
    }
    if let Some(plugin) = &filter.plugin {
        let bytes = plugin.params.len();
        let max = tier.filter_params_bytes();
        if bytes > max {
            return Err(ProtocolError::new(
                "FILTER_TOO_LARGE",
                format!(
                    "the `plugin` filter's params are {bytes} bytes as JSON; the {} tier's limit is {max}",
                    tier.as_str()
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::fanout::filter::Filter;

    fn subscription(channels: usize, filters: serde_json::Value) -> Subscription {
        let mut s = Subscription::default();
        let names = (0..channels).map(|i| format!("flight.custom_{i}"));
        s.add(names, Filter::parse(&filters).unwrap());
        s
    }

    #[test]
    fn each_bound_is_the_tiers_and_named_when_passed() {
        assert!(check(&subscription(64, json!({})), Tier::Public).is_ok());
        let e = check(&subscription(65, json!({})), Tier::Public).unwrap_err();
        assert_eq!(e.code, "TOO_MANY_CHANNELS");
        assert!(
            e.message.contains("public tier's limit is 64"),
            "{}",
            e.message
        );
        assert!(check(&subscription(65, json!({})), Tier::Developer).is_ok());

        let prefixes: Vec<String> = (0..201).map(|i| format!("A{i}")).collect();
        let e = check(
            &subscription(1, json!({"callsign_prefix": prefixes})),
            Tier::Public,
        )
        .unwrap_err();
        assert_eq!(e.code, "FILTER_TOO_LARGE");
        assert!(e.message.contains("201 entries"), "{}", e.message);

        let fleet: Vec<String> = (0..500).map(|i| format!("AAL{i}*")).collect();
        let plugin = json!({"plugin": {"name": "fleet", "params": {"callsigns": fleet}}});
        let e = check(&subscription(1, plugin.clone()), Tier::Public).unwrap_err();
        assert!(e.message.contains("params are"), "{}", e.message);
        assert!(check(&subscription(1, plugin), Tier::Partner).is_ok());
    }
}
