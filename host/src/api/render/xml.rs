//! JSON as XML, the way PERTI's `SwimFormat::toXml` writes a response
//! (`format=xml`): one element per key, array items named `item_name`,
//! null as an empty element, booleans as `true`/`false`; a key that is not
//! a valid element name has its other characters replaced by `_` (and a
//! leading `_` before a digit).

use std::fmt::Write;

use serde_json::Value;

/// The whole value as an XML document under `root`.
pub fn xml(root: &str, item_name: &str, value: &Value) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    element(&mut out, root, item_name, value, 0);
    out
}

fn element(out: &mut String, name: &str, item_name: &str, value: &Value, depth: usize) {
    let name = element_name(name);
    let indent = "  ".repeat(depth);
    match value {
        Value::Null => {
            let _ = writeln!(out, "{indent}<{name}/>");
        }
        Value::Object(map) => {
            let _ = writeln!(out, "{indent}<{name}>");
            for (key, child) in map {
                element(out, key, item_name, child, depth + 1);
            }
            let _ = writeln!(out, "{indent}</{name}>");
        }
        Value::Array(items) => {
            let _ = writeln!(out, "{indent}<{name}>");
            for child in items {
                element(out, item_name, item_name, child, depth + 1);
            }
            let _ = writeln!(out, "{indent}</{name}>");
        }
        Value::String(text) => {
            let _ = writeln!(out, "{indent}<{name}>{}</{name}>", escape(text));
        }
        Value::Bool(_) | Value::Number(_) => {
            let _ = writeln!(out, "{indent}<{name}>{value}</{name}>");
        }
    }
}

fn element_name(key: &str) -> String {
    let mut name: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    name
}

/// Escapes text, and drops the control characters XML 1.0 cannot hold.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c < ' ' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_arrays_nulls_and_text_are_written_as_perti_writes_them() {
        let value = serde_json::json!({
            "success": true,
            "data": [{"callsign": "BAW<1>&", "alt": null, "1st": 2}],
        });
        let out = xml("swim_flights", "flight", &value);
        assert!(out.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<swim_flights>"));
        assert!(out.contains("<success>true</success>"), "{out}");
        assert!(out.contains("<flight>"), "{out}");
        assert!(
            out.contains("<callsign>BAW&lt;1&gt;&amp;</callsign>"),
            "{out}"
        );
        assert!(out.contains("<alt/>"), "{out}");
        assert!(out.contains("<_1st>2</_1st>"), "{out}");
    }

    #[test]
    fn control_characters_are_dropped() {
        let out = xml("r", "i", &serde_json::json!({"remarks": "a\u{1}b"}));
        assert!(out.contains("<remarks>ab</remarks>"), "{out}");
    }
}
