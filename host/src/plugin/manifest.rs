//! `NAME.toml`, the manifest beside each `NAME.wasm`.

use std::collections::BTreeSet;

use serde::Deserialize;

pub use crate::wit::Kind;

/// Resource limits of one plugin.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Deadline of one call, in milliseconds.
    pub call_timeout_ms: u64,
    /// Memory of one instance, in MiB.
    pub memory_mb: u64,
    /// Consecutive faults before quarantine.
    pub fault_threshold: u32,
}

/// The most a manifest may give its plugin by default (`[plugins]` in the
/// config file sets the operator's own): a plugin cannot raise its own
/// limits past what the gateway allows.
pub const CEILING: Limits = Limits {
    call_timeout_ms: 5_000,
    memory_mb: 512,
    fault_threshold: 1_000,
};

impl Limits {
    /// Whether every limit is within `ceiling`; the error names the one
    /// over it.
    pub fn within(&self, ceiling: &Limits) -> Result<(), ManifestError> {
        let over = [
            (
                "call_timeout_ms",
                self.call_timeout_ms,
                ceiling.call_timeout_ms,
            ),
            ("memory_mb", self.memory_mb, ceiling.memory_mb),
            (
                "fault_threshold",
                u64::from(self.fault_threshold),
                u64::from(ceiling.fault_threshold),
            ),
        ];
        match over.into_iter().find(|(_, value, max)| value > max) {
            Some((name, value, max)) => Err(ManifestError::Field {
                field: "limits",
                message: format!("{name} = {value} is over the gateway's ceiling of {max}"),
            }),
            None => Ok(()),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            call_timeout_ms: 50,
            memory_mb: 64,
            fault_threshold: 5,
        }
    }
}

/// A plugin's manifest.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The plugin's name; the file stem unless given.
    #[serde(default)]
    pub name: String,
    /// Which world it implements.
    pub kind: Kind,
    /// Its version, as the operator knows it.
    #[serde(default = "default_version")]
    pub version: String,
    /// A disabled plugin is loaded and validated but never called.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Handed to `init` as a JSON object.
    #[serde(default)]
    pub config: toml::Table,
    /// Resource limits.
    #[serde(default)]
    pub limits: Limits,
    /// Detectors: the sections of each flight the plugin sees (plus
    /// "airports" for the context's reference data). Default: all.
    #[serde(default)]
    pub reads: Option<BTreeSet<String>>,
    /// Fields it may patch, e.g. "times.off_utc", "tmi.*" or "track"
    /// (detectors and ingest adapters; see `store::authority`); `writes`
    /// is the same list. A detector reading one of them runs after this one
    /// in a cycle and sees its patches (`plugin::order`).
    #[serde(default, alias = "writes")]
    pub owns: Vec<String>,
    /// Ingest adapters: the route (`POST /ingest/{route}`); default the name.
    /// Up to three segments (`vnas/track`, as PERTI's nested routes are),
    /// each lowercase letters, digits, `_` and `-`.
    #[serde(default)]
    pub route: Option<String>,
    /// Ingest adapters: the most items one body may carry.
    #[serde(default)]
    pub max_items: Option<u32>,
    /// Ingest adapters: an item for a flight the gateway does not know
    /// creates it (ADL: a flight plan filed elsewhere) instead of counting
    /// as `not_found`.
    #[serde(default)]
    pub creates_flights: bool,
}

fn default_version() -> String {
    "0.0.0".into()
}

fn yes() -> bool {
    true
}

/// A manifest that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Not valid TOML or not the manifest's shape.
    #[error("manifest is not valid: {0}")]
    Syntax(#[from] toml::de::Error),
    /// A field with a value the host cannot accept.
    #[error("manifest field `{field}`: {message}")]
    Field {
        /// The field at fault.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
}

impl Manifest {
    /// Parses a manifest; `stem` (the file name) is the name if none is given.
    pub fn parse(text: &str, stem: &str) -> Result<Self, ManifestError> {
        let mut manifest: Manifest = toml::from_str(text)?;
        if manifest.name.is_empty() {
            manifest.name = stem.to_string();
        }
        if manifest.name != stem {
            return Err(ManifestError::Field {
                field: "name",
                message: format!(
                    "{:?} does not match the file name {stem:?}; rename one of them",
                    manifest.name
                ),
            });
        }
        manifest.validate()?;
        Ok(manifest)
    }

    /// The manifest used for a file that has none: defaults, with the kind
    /// taken from the component itself.
    pub fn implied(name: &str, kind: Kind) -> Self {
        Manifest {
            name: name.to_string(),
            kind,
            version: default_version(),
            enabled: true,
            config: toml::Table::new(),
            limits: Limits::default(),
            reads: None,
            owns: Vec::new(),
            route: None,
            max_items: None,
            creates_flights: false,
        }
    }

    fn validate(&self) -> Result<(), ManifestError> {
        let field = |field, message: String| Err(ManifestError::Field { field, message });
        for name in self.reads.iter().flatten() {
            if let Err(message) = super::columns::parse_read(name) {
                return field("reads", message);
            }
        }
        if self.limits.call_timeout_ms == 0
            || self.limits.memory_mb == 0
            || self.limits.fault_threshold == 0
        {
            return field(
                "limits",
                "call_timeout_ms, memory_mb and fault_threshold must be above 0".into(),
            );
        }
        if self.kind != Kind::Detector && self.reads.is_some() {
            return field(
                "reads",
                format!("`reads` is for detectors, this is a {}", self.kind),
            );
        }
        if let Err(message) = crate::store::authority::check_owns(self.kind, &self.owns) {
            return field("owns", message);
        }

        if let Some(route) = &self.route
            && let Err(message) = check_route(route)
        {
            return field("route", message);
        }
        let adapter_only = self.route.is_some() || self.max_items.is_some() || self.creates_flights;
        if self.kind != Kind::IngestAdapter && adapter_only {
            return field(
                "route",
                format!(
                    "`route`, `max_items` and `creates_flights` are for ingest adapters, this is a {}",
                    self.kind
                ),
            );
        }
        Ok(())
    }

    /// Whether a detector sees `section` (or some of its columns) of each flight.
    pub fn reads(&self, section: &str) -> bool {
        self.reads
            .as_ref()
            .is_none_or(|r| r.iter().any(|name| name.split('.').next() == Some(section)))
    }

    /// The ingest route of an adapter.
    pub fn route(&self) -> &str {
        self.route.as_deref().unwrap_or(&self.name)
    }

    /// The `[config]` table as the JSON string `init` takes. An adapter's
    /// `max_items` is handed over in it too (unless `[config]` sets it), so
    /// the limit is declared once, in the manifest.
    pub fn config_json(&self) -> String {
        let mut config = self.config.clone();
        if let (Kind::IngestAdapter, Some(max)) = (self.kind, self.max_items) {
            config
                .entry("max_items")
                .or_insert(toml::Value::Integer(i64::from(max)));
        }
        serde_json::to_string(&config).unwrap_or_else(|_| "{}".into())
    }
}

/// Segments an ingest route may have at most.
const ROUTE_SEGMENTS: usize = 3;

/// An ingest route: 1 to [`ROUTE_SEGMENTS`] segments separated by `/`,
/// each 1-32 lowercase letters, digits, `_` or `-`.
fn check_route(route: &str) -> Result<(), String> {
    let segments: Vec<&str> = route.split('/').collect();
    if segments.len() > ROUTE_SEGMENTS {
        return Err(format!(
            "{route:?} has {} segments; at most {ROUTE_SEGMENTS} (e.g. \"vnas/track\")",
            segments.len()
        ));
    }
    for segment in segments {
        let ok = (1..=32).contains(&segment.len())
            && segment
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !ok {
            return Err(format!(
                "{route:?}: each segment is 1-32 lowercase letters, digits, `_` or `-` (not {segment:?})"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_a_minimal_manifest() {
        let m = Manifest::parse("kind = \"detector\"", "squawk").unwrap();
        assert_eq!(m.name, "squawk");
        assert_eq!(m.limits, Limits::default());
        assert!(m.enabled && m.reads("position"));
    }

    #[test]
    fn a_plugin_cannot_raise_its_limits_past_the_ceiling() {
        let within = |limits: &str, ceiling: &Limits| {
            let text = format!("kind = \"detector\"\n[limits]\n{limits}");
            let manifest = Manifest::parse(&text, "x").unwrap();
            manifest.limits.within(ceiling).map_err(|e| e.to_string())
        };
        let err = within("memory_mb = 4096", &CEILING).unwrap_err();
        assert!(
            err.contains("memory_mb = 4096 is over the gateway's ceiling of 512"),
            "{err}"
        );
        let err = within("call_timeout_ms = 600000", &CEILING).unwrap_err();
        assert!(err.contains("call_timeout_ms"), "{err}");
        assert!(within("memory_mb = 512\ncall_timeout_ms = 5000", &CEILING).is_ok());
        // The operator's own ceiling.
        let tight = Limits {
            memory_mb: 32,
            ..CEILING
        };
        let err = within("memory_mb = 64", &tight).unwrap_err();
        assert!(err.contains("ceiling of 32"), "{err}");
    }

    #[test]
    fn errors_name_the_field() {
        let err = Manifest::parse("kind = \"detector\"\nreads = [\"wings\"]", "x").unwrap_err();
        assert!(
            err.to_string()
                .contains("`reads`: unknown section \"wings\""),
            "{err}"
        );
        let err =
            Manifest::parse("kind = \"detector\"\nreads = [\"position.wings\"]", "x").unwrap_err();
        assert!(
            err.to_string().contains(
                "`reads`: position has no column \"wings\"; its columns: lat, lon, altitude_ft"
            ),
            "{err}"
        );
        let ok = Manifest::parse(
            "kind = \"detector\"\nreads = [\"position.squawk\", \"times\", \"airports\"]",
            "x",
        )
        .unwrap();
        assert!(ok.reads("position") && ok.reads("times") && !ok.reads("tmi"));
        // The sections `reads` knows are the record's (the authority matrix's).
        let readable = super::super::columns::column::SECTIONS.map(|(name, ..)| name);
        assert_eq!(readable.as_slice(), crate::store::authority::SECTIONS);
        let err = Manifest::parse("kind = \"detector\"\ncolour = 1", "x").unwrap_err();
        assert!(err.to_string().contains("unknown field `colour`"), "{err}");
        let err = Manifest::parse("kind = \"gadget\"", "x").unwrap_err();
        assert!(
            err.to_string().contains("unknown variant `gadget`"),
            "{err}"
        );
        let err = Manifest::parse("name = \"other\"\nkind = \"detector\"", "x").unwrap_err();
        assert!(
            err.to_string()
                .contains("`name`: \"other\" does not match the file name \"x\""),
            "{err}"
        );
        let err = Manifest::parse("kind = \"detector\"\nroute = \"adl\"", "x").unwrap_err();
        assert!(err.to_string().contains("for ingest adapters"), "{err}");
        let err =
            Manifest::parse("kind = \"ingest-adapter\"\nreads = [\"position\"]", "x").unwrap_err();
        assert!(
            err.to_string().contains("`reads` is for detectors"),
            "{err}"
        );
        let err = Manifest::parse("kind = \"detector\"\nroute = \"adl\"", "x").unwrap_err();
        assert!(err.to_string().contains("for ingest adapters"), "{err}");
    }

    #[test]
    fn owns_is_checked_against_the_authority_matrix() {
        let ok = Manifest::parse(
            "kind = \"detector\"\nowns = [\"times.off_utc\", \"tmi.*\"]",
            "d",
        );
        assert!(ok.is_ok(), "{ok:?}");
        let err = Manifest::parse("kind = \"detector\"\nowns = [\"position\"]", "d").unwrap_err();
        assert_eq!(
            err.to_string(),
            "manifest field `owns`: \"position\": a detector may not write position; it may write: progress, times, tmi"
        );
        let err =
            Manifest::parse("kind = \"ingest-adapter\"\nowns = [\"wings\"]", "a").unwrap_err();
        assert!(
            err.to_string().contains("\"wings\" names no section"),
            "{err}"
        );
        let err =
            Manifest::parse("kind = \"subscription-filter\"\nowns = [\"times\"]", "f").unwrap_err();
        assert!(
            err.to_string()
                .contains("a subscription-filter may not write times"),
            "{err}"
        );
    }

    #[test]
    fn an_adapters_max_items_reaches_init() {
        let m = Manifest::parse("kind = \"ingest-adapter\"\nmax_items = 500", "adl").unwrap();
        assert_eq!(m.config_json(), r#"{"max_items":500}"#);
        let m = Manifest::parse(
            "kind = \"ingest-adapter\"\nmax_items = 500\n[config]\nmax_items = 9",
            "adl",
        )
        .unwrap();
        assert_eq!(m.config_json(), r#"{"max_items":9}"#);
    }

    #[test]
    fn config_reaches_init_as_json() {
        let m =
            Manifest::parse("kind = \"ingest-adapter\"\n[config]\nmax_items = 10", "t").unwrap();
        assert_eq!(m.config_json(), r#"{"max_items":10}"#);
        assert_eq!(m.route(), "t");
        let nested =
            Manifest::parse("kind = \"ingest-adapter\"\nroute = \"vnas/track\"", "v").unwrap();
        assert_eq!(nested.route(), "vnas/track");
        for bad in [
            "vnas//track",
            "/vnas",
            "a/b/c/d",
            "VNAS/track",
            "vnas/../x",
            "x y",
        ] {
            let text = format!("kind = \"ingest-adapter\"\nroute = \"{bad}\"");
            let err = Manifest::parse(&text, "v").unwrap_err().to_string();
            assert!(err.contains("route"), "{bad}: {err}");
        }
    }
}
