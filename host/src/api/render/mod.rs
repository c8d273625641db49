//! Flights as PERTI's clients read them, one module per shape: the FIXM
//! record (`fixm`, PERTI's default), the legacy snake_case record
//! (`legacy`), a GeoJSON feature (`geojson`, `positions.php`), CSV, XML and
//! KML. Fields PERTI's record has that are not stored are derived once per
//! flight in [`Derived`], from the reference tables and the TMI programs.

mod csv;
mod derived;
mod fixm;
mod geojson;
mod kml;
mod legacy;
mod xml;

pub use csv::{CSV_HEADER, csv_of_rows, csv_row};
pub use derived::{Context, Derived};
pub use fixm::{FixmDetail, FixmFlight, fixm_detail, fixm_flight};
pub use geojson::{Feature, feature};
pub use kml::kml;
pub use legacy::{FlightJson as LegacyFlight, flight as legacy};
pub use xml::xml;

use serde::Serialize;
use vatswim_plugin_api::time::format_utc;

use crate::flight::FlightRecord;

/// An absent string as the empty one (PERTI's flight plan fields are `''`,
/// never null).
fn s(text: Option<&str>) -> &str {
    text.unwrap_or("")
}

/// An epoch-ms time as ISO 8601 UTC.
fn time(ms: Option<i64>) -> Option<String> {
    ms.map(format_utc)
}

/// The last partner track (`POST /ingest/track`), in both record shapes:
/// this gateway's addition, as PERTI keeps no track section.
#[derive(Serialize, utoipa::ToSchema)]
struct Track<'a> {
    source: &'a str,
    squawk: Option<String>,
    updated_at: String,
}

fn track(r: &FlightRecord) -> Option<Track<'_>> {
    r.track.as_ref().map(|t| Track {
        source: &t.source,
        squawk: t.squawk.map(|q| format!("{q:04}")),
        updated_at: format_utc(t.updated_at),
    })
}
