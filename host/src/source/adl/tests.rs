use serde_json::json;

use super::*;

fn item(value: serde_json::Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

#[test]
fn a_release_the_gateways_program_overrides_is_not_a_refusal_but_a_fault_is() {
    let sent: Vec<Sent> = [
        item(json!({"callsign": "DAL1", "tmi": {}})),
        item(json!({"callsign": "UAL2", "tmi": {"ctl_type": "GDP"}})),
        item(json!({"callsign": "AAL3", "tmi": {}})),
    ]
    .iter()
    .map(Sent::of)
    .collect();
    let problem = |index: u32, field: &str, error: &str| FieldRefusal {
        index,
        field: field.into(),
        error: error.into(),
    };
    let report = [
        problem(
            0,
            "tmi",
            "the flight is controlled by this gateway's program 3",
        ),
        problem(
            1,
            "tmi",
            "the flight is controlled by this gateway's program 3",
        ),
        problem(2, "off_utc", "more than 7 days from now"),
    ];
    let kept: Vec<String> = refusals(&sent, &report).collect();
    assert_eq!(
        kept,
        [
            "UAL2: tmi: the flight is controlled by this gateway's program 3",
            "AAL3: off_utc: more than 7 days from now",
        ]
    );
}
