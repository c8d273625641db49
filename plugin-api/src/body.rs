//! Reading partners' JSON bodies in ingest adapters: the item array (or
//! why the whole body is refused), then each item's fields, each problem
//! naming the field at fault.

use serde_json::{Map, Value};

use crate::{IngestItem, ItemError, Parsed, Patch, Timestamp};

/// Why one item cannot be used: the field at fault ("" for the whole item)
/// and the message.
pub type ItemFault = (&'static str, String);

/// A JSON object item.
pub type Item = Map<String, Value>;

/// Every problem found in one item, so that a partner fixes them all in
/// one round rather than one per request. Reading a field through
/// [`Faults::check`] notes its fault and goes on to the next field.
#[derive(Debug, Default)]
pub struct Faults(Vec<ItemFault>);

impl Faults {
    /// The value, or `None` with its fault noted.
    pub fn check<T>(&mut self, result: Result<T, ItemFault>) -> Option<T> {
        result.map_err(|fault| self.0.push(fault)).ok()
    }

    /// An optional field's value: `None` when it is absent or at fault
    /// (the fault noted).
    pub fn optional<T>(&mut self, result: Result<Option<T>, ItemFault>) -> Option<T> {
        self.check(result).flatten()
    }

    /// Notes a fault found by the adapter itself.
    pub fn note(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push((field, message.into()));
    }

    /// `Ok` when nothing was noted, else every fault.
    pub fn finish(self) -> Result<(), Faults> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }

    /// These faults, then `other`'s.
    pub fn and(mut self, other: Faults) -> Faults {
        self.0.extend(other.0);
        self
    }

    /// The faults noted, in the order found.
    pub fn into_vec(self) -> Vec<ItemFault> {
        self.0
    }
}

/// The body as a JSON object, or why it is refused whole.
pub fn object(body: &[u8]) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err("body must be a JSON object".to_string()),
        Err(e) => Err(format!("body is not valid JSON: {e}")),
    }
}

/// The array under `key`, at most `max` long, or why the body is refused.
pub fn items(body: &mut Map<String, Value>, key: &str, max: usize) -> Result<Vec<Value>, String> {
    let Some(Value::Array(items)) = body.remove(key) else {
        return Err(format!(r#"body must be an object with a "{key}" array"#));
    };
    if items.len() > max {
        return Err(format!(
            "{} {key} is over the limit of {max} per request",
            items.len()
        ));
    }
    Ok(items)
}

/// Each item through `patch`: the usable ones with their index, and every
/// fault of each unusable one (index, field, message). A usable item's
/// fields that are not among `known` are reported as warnings
/// ([`ItemError::warning`]: the item applies; the field is ignored).
pub fn parse_each(
    items: &[Value],
    known: &[&str],
    patch: impl Fn(&Item) -> Result<Patch, Faults>,
) -> Parsed {
    parse_each_field(items, known, |item| {
        patch(item).map(|patch| (patch, Faults::default()))
    })
}

/// Like [`parse_each`], for an adapter that applies an item's good fields
/// and reports each bad one: `patch` returns the patch with the faults of
/// the fields it left out (reported for the item, which applies), or
/// every fault of an item it cannot use at all (a bad callsign).
pub fn parse_each_field(
    items: &[Value],
    known: &[&str],
    patch: impl Fn(&Item) -> Result<(Patch, Faults), Faults>,
) -> Parsed {
    let mut parsed = Parsed {
        items: Vec::new(),
        errors: Vec::new(),
    };
    let entries = |index: u32, faults: Faults| {
        faults
            .into_vec()
            .into_iter()
            .map(move |(field, message)| ItemError::new(index, field, message))
    };
    for (index, item) in items.iter().enumerate() {
        let index = index as u32;
        let object = match as_item(item) {
            Ok(object) => object,
            Err((field, message)) => {
                parsed.errors.push(ItemError::new(index, field, message));
                continue;
            }
        };
        match patch(object) {
            Ok((patch, left_out)) => {
                parsed.items.push(IngestItem { index, patch });
                parsed.errors.extend(entries(index, left_out));
                for name in object.keys().filter(|k| !known.contains(&k.as_str())) {
                    parsed
                        .errors
                        .push(ItemError::warning(index, name, "unknown field; ignored"));
                }
            }
            Err(faults) => parsed.errors.extend(entries(index, faults)),
        }
    }
    parsed
}

/// An item as an object.
pub fn as_item(item: &Value) -> Result<&Item, ItemFault> {
    item.as_object()
        .ok_or(("", "an item must be a JSON object".to_string()))
}

/// `max_items` from an adapter's config (`default` when absent).
pub fn max_items(config: &Value, default: usize) -> Result<usize, String> {
    match config.get("max_items") {
        None => Ok(default),
        Some(v) => v
            .as_u64()
            .filter(|n| *n > 0)
            .map(|n| n as usize)
            .ok_or_else(|| "config `max_items` must be a positive integer".to_string()),
    }
}

/// The first of `names` the item has, with the name it was found under.
fn first<'a>(item: &'a Item, names: &[&'static str]) -> Option<(&'static str, &'a Value)> {
    names
        .iter()
        .find_map(|n| item.get(*n).filter(|v| !v.is_null()).map(|v| (*n, v)))
}

/// A required non-empty string, upper-cased (callsigns, ICAO codes).
pub fn required_code(item: &Item, field: &'static str) -> Result<String, ItemFault> {
    optional_code(item, &[field])?.ok_or((field, format!("missing required field: {field}")))
}

/// An optional string under any of `names`, trimmed and upper-cased.
pub fn optional_code(item: &Item, names: &[&'static str]) -> Result<Option<String>, ItemFault> {
    optional_text(item, names).map(|v| v.map(|s| s.to_ascii_uppercase()))
}

/// An optional string under any of `names`, trimmed; empty counts as absent.
pub fn optional_text(item: &Item, names: &[&'static str]) -> Result<Option<String>, ItemFault> {
    match first(item, names) {
        None => Ok(None),
        Some((_, Value::String(s))) if s.trim().is_empty() => Ok(None),
        Some((_, Value::String(s))) => Ok(Some(s.trim().to_string())),
        Some((name, _)) => Err((name, "must be a string".to_string())),
    }
}

/// A required number within `-limit..=limit` (latitude, longitude).
pub fn coordinate(item: &Item, names: &[&'static str], limit: f64) -> Result<f64, ItemFault> {
    let (name, value) =
        first(item, names).ok_or((names[0], format!("missing required field: {}", names[0])))?;
    match value.as_f64() {
        Some(v) if v.abs() <= limit => Ok(v),
        Some(v) => Err((
            name,
            format!("{v} is out of range: must be between -{limit} and {limit}"),
        )),
        None => Err((name, "must be a number".to_string())),
    }
}

/// An optional whole number within `min..=max` under any of `names`.
pub fn optional_int(
    item: &Item,
    names: &[&'static str],
    min: i64,
    max: i64,
) -> Result<Option<i32>, ItemFault> {
    let Some((name, value)) = first(item, names) else {
        return Ok(None);
    };
    match value.as_f64() {
        Some(n) if (min as f64..=max as f64).contains(&n) => Ok(Some(n.round() as i32)),
        Some(n) => Err((
            name,
            format!("{n} is out of range: must be between {min} and {max}"),
        )),
        None => Err((name, "must be a number".to_string())),
    }
}

/// An optional boolean under any of `names`.
pub fn optional_bool(item: &Item, names: &[&'static str]) -> Result<Option<bool>, ItemFault> {
    match first(item, names) {
        None => Ok(None),
        Some((_, Value::Bool(b))) => Ok(Some(*b)),
        Some((name, _)) => Err((name, "must be true or false".to_string())),
    }
}

/// An optional ISO 8601 UTC time under any of `names`.
pub fn optional_time(item: &Item, names: &[&'static str]) -> Result<Option<Timestamp>, ItemFault> {
    let Some((name, value)) = first(item, names) else {
        return Ok(None);
    };
    value
        .as_str()
        .and_then(crate::time::parse_rfc3339)
        .map(Some)
        .ok_or((
            name,
            "must be an ISO 8601 UTC time, e.g. 2026-01-16T12:00:00Z".to_string(),
        ))
}

/// A squawk: four octal digits ("0000" to "7777"), as the decimal number
/// the digits read as.
pub fn optional_squawk(item: &Item, field: &'static str) -> Result<Option<u16>, ItemFault> {
    match item.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.len() == 4 && s.bytes().all(|b| (b'0'..=b'7').contains(&b)) => {
            Ok(s.parse().ok())
        }
        Some(_) => Err((
            field,
            "must be four octal digits, e.g. \"1200\"".to_string(),
        )),
    }
}
