//! A short ASCII code (an ARTCC like `ZNY`, a FIR like `EGTT`) stored
//! inline, so the sections that hold one stay `Copy`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Up to 8 ASCII bytes, zero-padded.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Code([u8; 8]);

impl Code {
    /// The code of `s`, or none if it is empty, longer than 8 bytes or not ASCII.
    pub fn new(s: &str) -> Option<Code> {
        if s.is_empty() || s.len() > 8 || !s.is_ascii() {
            return None;
        }
        let mut bytes = [0; 8];
        bytes[..s.len()].copy_from_slice(s.as_bytes());
        Some(Code(bytes))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        let len = self.0.iter().position(|&b| b == 0).unwrap_or(8);
        std::str::from_utf8(&self.0[..len]).unwrap_or("")
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Code::new(&s).ok_or_else(|| serde::de::Error::custom(format!("bad code {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::Code;

    #[test]
    fn codes_round_trip_and_refuse_what_does_not_fit() {
        assert_eq!(Code::new("ZNY").unwrap().as_str(), "ZNY");
        assert_eq!(Code::new("EGTTABCD").unwrap().to_string(), "EGTTABCD");
        assert!(Code::new("").is_none() && Code::new("TOOLONGXX").is_none());
        let json = serde_json::to_string(&Code::new("ZDV")).unwrap();
        assert_eq!(json, "\"ZDV\"");
    }
}
