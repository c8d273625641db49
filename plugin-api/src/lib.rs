//! Write VATSWIM plugins in Rust.
//!
//! A plugin is a WebAssembly component built for `wasm32-wasip2` against the
//! WIT package `vatswim:plugin@0.1.0`. With this crate, writing one is: a
//! struct, one trait implemented, one export macro.
//!
//! | kind | trait | macro |
//! |---|---|---|
//! | detector | [`Detector`] | [`export_detector!`] |
//! | ingest adapter | [`IngestAdapter`] | [`export_ingest_adapter!`] |
//! | subscription filter | [`SubscriptionFilter`] | [`export_subscription_filter!`] |
//!
//! The crate must be a `cdylib` (add `rlib` too to unit-test the logic
//! natively: the export macro expands to nothing off wasm). Build it with
//! `cargo build --target wasm32-wasip2 --release`, check it with
//! `swim plugins check target/wasm32-wasip2/release/NAME.wasm`, and drop
//! it into the plugins directory next to a manifest `NAME.toml`.
//!
//! # A detector
//!
//! ```
//! use vatswim_plugin_api::{Changes, Context, Description, Detection, Detector, Event};
//!
//! /// Emits `flight.fast` when a flight's groundspeed passes a limit.
//! struct Fast { limit_kts: i32 }
//!
//! impl Detector for Fast {
//!     fn describe() -> Description {
//!         Description::new("fast", "0.1.0", "groundspeed above a limit")
//!     }
//!     fn init(config: serde_json::Value) -> Result<Self, String> {
//!         let limit_kts = config.get("limit_kts").and_then(|v| v.as_i64()).unwrap_or(600);
//!         Ok(Fast { limit_kts: limit_kts as i32 })
//!     }
//!     fn detect(&self, _ctx: &Context, changes: &Changes) -> Detection {
//!         let mut out = Detection::default();
//!         for change in changes.iter() {
//!             let now = change.after().and_then(|f| f.position());
//!             if now.is_some_and(|p| p.groundspeed_kts > self.limit_kts) {
//!                 out.events.push(Event::for_flight("flight.fast", change.flight_uid(), "{}"));
//!             }
//!         }
//!         out
//!     }
//! }
//!
//! vatswim_plugin_api::export_detector!(Fast);
//! ```
//! Its manifest `fast.toml`:
//! ```toml
//! name = "fast"
//! kind = "detector"
//! version = "0.1.0"
//! reads = ["position"]
//! [config]
//! limit_kts = 550
//! ```
//!
//! # An ingest adapter
//!
//! ```
//! use vatswim_plugin_api::{Description, FieldValue, FlightRef, IngestAdapter, IngestItem, ItemError, Parsed, Patch};
//!
//! /// `POST /ingest/activity`, one item per line: `CALLSIGN ACTIVE|INACTIVE`.
//! struct Activity;
//!
//! impl IngestAdapter for Activity {
//!     fn describe() -> Description {
//!         Description::new("activity", "0.1.0", "marks flights active or inactive")
//!     }
//!     fn init(_config: serde_json::Value) -> Result<Self, String> { Ok(Activity) }
//!     fn parse(&self, _content_type: &str, body: &[u8]) -> Result<Parsed, String> {
//!         let text = std::str::from_utf8(body).map_err(|_| "body is not UTF-8".to_string())?;
//!         let mut parsed = Parsed { items: vec![], errors: vec![] };
//!         for (index, line) in text.lines().enumerate() {
//!             let index = index as u32;
//!             match line.split_once(' ') {
//!                 Some((callsign, "ACTIVE" | "INACTIVE")) => parsed.items.push(IngestItem {
//!                     index,
//!                     patch: Patch {
//!                         flight: FlightRef::Callsign(callsign.to_string()),
//!                         fields: vec![FieldValue::ProgressIsActive(line.ends_with(" ACTIVE"))],
//!                     },
//!                 }),
//!                 _ => parsed.errors.push(ItemError::new(index, "", "expected `CALLSIGN ACTIVE|INACTIVE`")),
//!             }
//!         }
//!         Ok(parsed)
//!     }
//! }
//!
//! vatswim_plugin_api::export_ingest_adapter!(Activity);
//! ```
//!
//! # A subscription filter
//!
//! ```
//! use vatswim_plugin_api::{Description, SubjectView, SubscriptionFilter};
//!
//! /// Flights above a given altitude: params `{"min_ft": 18000}`.
//! struct High;
//!
//! impl SubscriptionFilter for High {
//!     type Compiled = i32;
//!     fn describe() -> Description {
//!         Description::new("high", "0.1.0", "flights above an altitude")
//!     }
//!     fn init(_config: serde_json::Value) -> Result<Self, String> { Ok(High) }
//!     fn compile(&self, params: serde_json::Value) -> Result<i32, String> {
//!         params.get("min_ft").and_then(|v| v.as_i64()).map(|ft| ft as i32)
//!             .ok_or_else(|| "params need a number `min_ft`".to_string())
//!     }
//!     fn matches(&self, min_ft: &i32, subject: &SubjectView<'_>) -> bool {
//!         subject.altitude_ft >= *min_ft
//!     }
//! }
//!
//! vatswim_plugin_api::export_subscription_filter!(High);
//! ```

extern crate self as vatswim_plugin_api;

pub mod bindings;
pub mod body;
pub mod columns;
pub mod geo;
pub mod ground;
mod guest;
pub mod instant;
pub mod log;
pub mod time;

pub use bindings::detector::vatswim::plugin::types::{
    Airport, Changes, Context, ControlType, Description, Detection, Event, FieldValue,
    FlightPlanColumns, FlightRef, FlightRows, IdentityColumns, IngestItem, ItemError, Matches,
    Metering, MeteringColumns, Parsed, Patch, Phase, PositionColumns, PositionUpdate, Program,
    ProgramAction, ProgramChange, ProgressColumns, StringColumn, Subjects, TimesColumns, Timestamp,
    Tmi, TmiColumns, Track, TrackColumns,
};
pub use columns::{
    ChangeView, FlightPlanView, FlightView, IdentityView, MeteringView, PositionView, ProgressView,
    SubjectView, TimesView, TmiView, TrackView, section,
};

/// Used by the export macros; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::guest::*;
    pub use serde_json;
    pub use wit_bindgen;
}

/// A detector: looks at each cycle's changed flights and returns events and
/// patches to the fields its manifest `owns`.
///
/// The host calls `detect` once per cycle with every changed flight. Keep no
/// state between calls that matters: the host may replace the instance at
/// any time (after a fault, on reload) and only calls `init` again.
pub trait Detector: Sized + 'static {
    /// Name, version and one-line summary.
    fn describe() -> Description;
    /// Build the plugin from the manifest's `[config]` table.
    fn init(config: serde_json::Value) -> Result<Self, String>;
    /// This cycle's detection. `changes` holds every changed flight; iterate
    /// it with `changes.iter()` for typed views of each change.
    fn detect(&self, ctx: &Context, changes: &Changes) -> Detection;
}

/// An ingest adapter: turns a partner's request body into patches.
pub trait IngestAdapter: Sized + 'static {
    /// Name, version and one-line summary.
    fn describe() -> Description;
    /// Build the plugin from the manifest's `[config]` table.
    fn init(config: serde_json::Value) -> Result<Self, String>;
    /// Parse one body. `Err` refuses the whole body; per-item problems go in
    /// [`Parsed::errors`] and the good items still apply.
    fn parse(&self, content_type: &str, body: &[u8]) -> Result<Parsed, String>;
}

/// A subscription filter: compiles a subscriber's params once, then matches
/// flights. The host deduplicates identical params, and calls the plugin
/// once per batch for all compiled filters.
pub trait SubscriptionFilter: Sized + 'static {
    /// The compiled form of one subscriber's params.
    type Compiled: 'static;
    /// Name, version and one-line summary.
    fn describe() -> Description;
    /// Build the plugin from the manifest's `[config]` table.
    fn init(config: serde_json::Value) -> Result<Self, String>;
    /// Validate and compile params; the error is shown to the subscriber.
    fn compile(&self, params: serde_json::Value) -> Result<Self::Compiled, String>;
    /// Whether one flight matches one compiled filter.
    fn matches(&self, filter: &Self::Compiled, subject: &SubjectView<'_>) -> bool;
}

impl Description {
    /// A description from its three parts.
    pub fn new(name: &str, version: &str, summary: &str) -> Self {
        Description {
            name: name.into(),
            version: version.into(),
            summary: summary.into(),
        }
    }
}

impl Event {
    /// An event about one flight; `payload` is a JSON object ("{}" for none).
    pub fn for_flight(kind: &str, flight_uid: u64, payload: impl Into<String>) -> Self {
        Event {
            kind: kind.into(),
            flight_uid: Some(flight_uid),
            payload: payload.into(),
        }
    }
}

/// How an entry for an item that applies marks itself a warning (a field
/// ignored, nothing wrong with the data): its message starts with this,
/// and the host reports the rest of it under `warning_details`. Any other
/// entry for an item that applies is an error for that field, which was
/// left out (`error_details`).
pub const WARNING: &str = "warning: ";

impl ItemError {
    /// A problem with the item at `index`, naming the `field` at fault.
    pub fn new(index: u32, field: &str, message: impl Into<String>) -> Self {
        ItemError {
            index,
            field: field.into(),
            message: message.into(),
        }
    }

    /// A warning about `field` of an item that applies (see [`WARNING`]).
    pub fn warning(index: u32, field: &str, message: impl std::fmt::Display) -> Self {
        ItemError::new(index, field, format!("{WARNING}{message}"))
    }
}

// The type is generated by wit-bindgen, so it cannot simply derive Default.
#[allow(clippy::derivable_impls)]
impl Default for Detection {
    fn default() -> Self {
        Detection {
            events: Vec::new(),
            patches: Vec::new(),
        }
    }
}

/// Export a [`Detector`] as the component's `detector` world.
#[macro_export]
macro_rules! export_detector {
    ($plugin:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            $crate::__private::guest_instance!($plugin, $crate::Detector);
            struct Export;
            impl $crate::bindings::detector::Guest for Export {
                fn describe() -> $crate::Description {
                    <$plugin as $crate::Detector>::describe()
                }
                fn init(config: String) -> Result<(), String> {
                    install($crate::__private::parse_config(&config).and_then(<$plugin as $crate::Detector>::init)?);
                    Ok(())
                }
                fn detect(ctx: $crate::Context, changes: $crate::Changes) -> $crate::Detection {
                    with(|p| $crate::Detector::detect(p, &ctx, &changes))
                }
            }
            $crate::bindings::detector::export_detector_world!(Export with_types_in $crate::bindings::detector);
        };
    };
}

/// Export an [`IngestAdapter`] as the component's `ingest-adapter` world.
#[macro_export]
macro_rules! export_ingest_adapter {
    ($plugin:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            $crate::__private::guest_instance!($plugin, $crate::IngestAdapter);
            struct Export;
            impl $crate::bindings::ingest_adapter::Guest for Export {
                fn describe() -> $crate::Description {
                    <$plugin as $crate::IngestAdapter>::describe()
                }
                fn init(config: String) -> Result<(), String> {
                    install($crate::__private::parse_config(&config).and_then(<$plugin as $crate::IngestAdapter>::init)?);
                    Ok(())
                }
                fn parse(content_type: String, body: Vec<u8>) -> Result<$crate::Parsed, String> {
                    with(|p| $crate::IngestAdapter::parse(p, &content_type, &body))
                }
            }
            $crate::bindings::ingest_adapter::export_ingest_adapter_world!(Export with_types_in $crate::bindings::ingest_adapter);
        };
    };
}

/// Export a [`SubscriptionFilter`] as the component's `subscription-filter` world.
#[macro_export]
macro_rules! export_subscription_filter {
    ($plugin:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            $crate::__private::guest_instance!($plugin, $crate::SubscriptionFilter);
            thread_local! {
                static COMPILED: std::cell::RefCell<$crate::__private::CompiledFilters<<$plugin as $crate::SubscriptionFilter>::Compiled>> =
                    std::cell::RefCell::new($crate::__private::CompiledFilters::default());
            }
            struct Export;
            impl $crate::bindings::subscription_filter::Guest for Export {
                fn describe() -> $crate::Description {
                    <$plugin as $crate::SubscriptionFilter>::describe()
                }
                fn init(config: String) -> Result<(), String> {
                    install($crate::__private::parse_config(&config).and_then(<$plugin as $crate::SubscriptionFilter>::init)?);
                    Ok(())
                }
                fn compile(id: u32, params: String) -> Result<(), String> {
                    let params = $crate::__private::parse_params(&params)?;
                    let compiled = with(|p| $crate::SubscriptionFilter::compile(p, params))?;
                    COMPILED.with(|c| c.borrow_mut().insert(id, compiled));
                    Ok(())
                }
                fn release(id: u32) {
                    COMPILED.with(|c| c.borrow_mut().remove(id));
                }
                fn match_batch(subjects: $crate::Subjects) -> Vec<$crate::Matches> {
                    with(|p| COMPILED.with(|c| c.borrow().match_batch(p, &subjects)))
                }
            }
            $crate::bindings::subscription_filter::export_subscription_filter_world!(Export with_types_in $crate::bindings::subscription_filter);
        };
    };
}
