//! The data authority matrix: which kind of writer may write which section,
//! and patches applied field by field, each refused field reported with the
//! reason (never silently dropped).
//!
//! | section | sync (VATSIM feed) | ingest adapters | detectors |
//! |---|---|---|---|
//! | identity, flight_plan | yes | if `owns` | - |
//! | position | yes | if `owns` | - |
//! | progress | - | - | if `owns` |
//! | times | - | if `owns` | if `owns` |
//! | tmi | - | if `owns`, per flight | if `owns`, per flight |
//! | track, metering | - | if `owns` | - |
//!
//! A plugin's manifest `owns` lists fields ("times.off_utc"), whole sections
//! ("tmi.*" or "tmi"); it may only name sections its kind may write, which
//! is checked when the manifest loads.
//!
//! `tmi` is decided per flight, by who controls it: a flight under a
//! gateway program (issued with `/tmi/programs`) is the `tmi` detector's,
//! and an adapter's TMI for it is refused, naming the program; a flight an
//! adapter controls (PERTI's ADL, for the programs it issues) is that
//! adapter's until it lets the flight go, and a detector's TMI for it is
//! not applied (quietly: detectors see every flight, and the `tmi`
//! detector lets go of programs it does not know). A flight no one
//! controls takes the first controller's TMI.

use std::sync::Arc;

use super::motion::{self, Implausible, Withheld};
use crate::flight::{
    ControlType, FlightRecord, Metering, Phase, Position, Progress, Reporter, Times, Tmi, Track,
};
use crate::wit::{self, FieldValue, Kind};

/// The sections of a flight record, as manifests name them.
pub const SECTIONS: &[&str] = &[
    "identity",
    "flight_plan",
    "position",
    "progress",
    "times",
    "tmi",
    "track",
    "metering",
];

/// Sections each kind of plugin may own.
pub fn writable_by(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Detector => &["progress", "times", "tmi"],
        Kind::IngestAdapter => &[
            "identity",
            "flight_plan",
            "position",
            "times",
            "tmi",
            "track",
            "metering",
        ],
        Kind::SubscriptionFilter => &[],
    }
}

/// Sections the VATSIM sync writes.
pub const SYNC_SECTIONS: &[&str] = &["identity", "flight_plan", "position"];

/// Checks a manifest's `owns` against the matrix; the error names the entry.
pub fn check_owns(kind: Kind, owns: &[String]) -> Result<(), String> {
    for entry in owns {
        let section = entry.split('.').next().unwrap_or_default();
        if !SECTIONS.contains(&section) {
            return Err(format!(
                "{entry:?} names no section; sections: {}",
                SECTIONS.join(", ")
            ));
        }
        if !writable_by(kind).contains(&section) {
            let allowed = writable_by(kind).join(", ");
            return Err(format!(
                "{entry:?}: a {kind} may not write {section}; it may write: {allowed}"
            ));
        }
    }
    Ok(())
}

/// Who is writing a patch.
#[derive(Debug, Clone, Copy)]
pub enum Writer<'a> {
    /// The VATSIM feed sync.
    Sync,
    /// A plugin, with its manifest's `owns`.
    Plugin {
        /// The plugin's name (for messages, and as a flight's TMI
        /// controller).
        name: &'a str,
        /// Detector or ingest adapter.
        kind: Kind,
        /// Its manifest's `owns`.
        owns: &'a [String],
    },
}

impl Writer<'_> {
    fn may_write(&self, path: &str) -> bool {
        let section = path.split('.').next().unwrap_or(path);
        match self {
            Writer::Sync => SYNC_SECTIONS.contains(&section),
            Writer::Plugin { owns, .. } => owns.iter().any(|o| covers(o, path, section)),
        }
    }
}

/// Whether an `owns` entry covers a field path ("times.off_utc" or "track").
fn covers(owned: &str, path: &str, section: &str) -> bool {
    owned == path || owned == section || owned.strip_suffix(".*") == Some(section)
}

/// A field of a patch that was not applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The field, e.g. "times.off_utc".
    pub field: &'static str,
    /// Why.
    pub message: String,
    /// Expected, not a fault of the writer: a detector's TMI for a flight
    /// a partner controls (not reported as a cycle issue).
    pub quiet: bool,
    /// Only part of the field was refused (a position's implausible ground
    /// speed): the rest of it applied.
    pub partial: bool,
}

/// Applies the fields `writer` may write; returns the refused ones.
pub fn apply(record: &mut FlightRecord, writer: Writer<'_>, fields: &[FieldValue]) -> Vec<Refusal> {
    apply_counting(record, writer, fields).0
}

/// Like `apply`, also counting the motion values not published.
pub fn apply_counting(
    record: &mut FlightRecord,
    writer: Writer<'_>,
    fields: &[FieldValue],
) -> (Vec<Refusal>, Implausible) {
    let mut refused = Vec::new();
    let mut implausible = Implausible::default();
    for value in fields {
        let path = field_path(value);
        if !writer.may_write(path) {
            refused.push(Refusal {
                field: path,
                message: refusal_message(writer, path),
                quiet: false,
                partial: false,
            });
            continue;
        }
        if let FieldValue::Position(update) = value {
            let withheld = set_position(record, update);
            implausible.add(motion::count(&withheld));
            refused.extend(
                withheld
                    .into_iter()
                    .filter(|w| w.reported)
                    .map(|w| Refusal {
                        field: w.field,
                        message: w.message,
                        quiet: false,
                        partial: true,
                    }),
            );
            continue;
        }
        if let FieldValue::Tmi(tmi) = value
            && let Err(refusal) = take_control(record, writer, tmi)
        {
            refused.push(refusal);
            continue;
        }
        set(record, value);
    }
    (refused, implausible)
}

/// A partner's position sample: the fields it gives over the ones held,
/// its vertical rate given or derived from its own previous sample
/// (`store::motion`); what was outside the limits is listed.
fn set_position(record: &mut FlightRecord, update: &wit::PositionUpdate) -> Vec<Withheld> {
    let held = record.position;
    let mut sample = held.unwrap_or_default();
    merge_position(&mut sample, update);
    let (position, withheld) = motion::next(held.as_ref(), sample, update.vertical_rate_fpm);
    record.position = Some(position);
    withheld
}

/// The per-flight rule of the `tmi` section (module docs): whether this
/// writer may set the flight's TMI, and who controls it after.
fn take_control(
    record: &mut FlightRecord,
    writer: Writer<'_>,
    new: &wit::Tmi,
) -> Result<(), Refusal> {
    let Writer::Plugin { name, kind, .. } = writer else {
        return Ok(());
    };
    let controlled_now = record
        .tmi
        .is_some_and(|t| t.gs_held || t.ctl_type.is_some());
    let refusal = |message: String, quiet: bool| Refusal {
        field: "tmi",
        message,
        quiet,
        partial: false,
    };
    match (kind, record.tmi_controller.as_deref()) {
        (Kind::IngestAdapter, None) if controlled_now => {
            let program = record
                .tmi
                .and_then(|t| t.program_id)
                .map_or(String::new(), |id| format!(" {id}"));
            Err(refusal(
                format!(
                    "the flight is controlled by this gateway's program{program}; its TMI is the tmi detector's until the program lets it go"
                ),
                false,
            ))
        }
        (Kind::IngestAdapter, Some(other)) if other != name && controlled_now => Err(refusal(
            format!(
                "the flight is controlled by {other}'s programs; {name} may not change its TMI"
            ),
            false,
        )),
        (Kind::IngestAdapter, _) => {
            let controls = new.gs_held || new.ctl_type.is_some();
            record.tmi_controller = controls.then(|| name.to_string());
            Ok(())
        }
        (_, Some(partner)) => Err(refusal(
            format!("the flight's TMI is controlled by {partner}'s programs"),
            true,
        )),
        (_, None) => Ok(()),
    }
}

fn refusal_message(writer: Writer<'_>, path: &str) -> String {
    let section = path.split('.').next().unwrap_or(path);
    match writer {
        Writer::Sync => format!("the VATSIM sync does not own {path}"),
        Writer::Plugin { name, kind, .. } if !writable_by(kind).contains(&section) => format!(
            "plugin {name} may not write {path}: {section} is written by {}",
            match section {
                "progress" => "the gateway (from the VATSIM feed and the position) and detectors",
                "identity" | "flight_plan" | "position" => "the VATSIM sync and ingest adapters",
                _ => "ingest adapters",
            }
        ),
        Writer::Plugin { name, .. } => format!(
            "plugin {name} does not own {path} (add it to `owns` in its manifest, if its kind may write it)"
        ),
    }
}

/// The path of the field a value writes, as `owns` names it.
pub fn field_path(value: &FieldValue) -> &'static str {
    use FieldValue as F;
    match value {
        F::IdentityCallsign(_) => "identity.callsign",
        F::IdentityCid(_) => "identity.cid",
        F::FlightPlanDeptIcao(_) => "flight_plan.dept_icao",
        F::FlightPlanDestIcao(_) => "flight_plan.dest_icao",
        F::FlightPlanAltIcao(_) => "flight_plan.alt_icao",
        F::FlightPlanAircraftType(_) => "flight_plan.aircraft_type",
        F::FlightPlanAltitudeFt(_) => "flight_plan.altitude_ft",
        F::FlightPlanTasKts(_) => "flight_plan.tas_kts",
        F::FlightPlanRoute(_) => "flight_plan.route",
        F::FlightPlanRemarks(_) => "flight_plan.remarks",
        F::FlightPlanRules(_) => "flight_plan.rules",
        F::FlightPlanDeptime(_) => "flight_plan.deptime",
        F::Position(_) => "position",
        F::ProgressPhase(_) => "progress.phase",
        F::ProgressIsActive(_) => "progress.is_active",
        F::ProgressDistToDestNm(_) => "progress.dist_to_dest_nm",
        F::ProgressPctComplete(_) => "progress.pct_complete",
        F::ProgressEtaUtc(_) => "progress.eta_utc",
        F::TimesOutUtc(_) => "times.out_utc",
        F::TimesOffUtc(_) => "times.off_utc",
        F::TimesOnUtc(_) => "times.on_utc",
        F::TimesInUtc(_) => "times.in_utc",
        F::Tmi(_) => "tmi",
        F::Track(_) => "track",
        F::Metering(_) => "metering",
    }
}

/// The flight's identity to write to (shared sections are copied on write).
fn identity_mut(r: &mut FlightRecord) -> &mut crate::flight::Identity {
    Arc::make_mut(r.identity.get_or_insert_with(Default::default))
}

/// The flight's plan to write to (copied on write).
fn plan_mut(r: &mut FlightRecord) -> &mut crate::flight::FlightPlan {
    Arc::make_mut(r.flight_plan.get_or_insert_with(Default::default))
}

/// Writes one field, creating its section with defaults if the flight has none.
fn set(r: &mut FlightRecord, value: &FieldValue) {
    use FieldValue as F;
    match value {
        F::IdentityCallsign(v) => identity_mut(r).callsign = v.clone(),
        F::IdentityCid(v) => identity_mut(r).cid = *v,
        F::FlightPlanDeptIcao(v) => plan_mut(r).dept_icao = v.clone(),
        F::FlightPlanDestIcao(v) => plan_mut(r).dest_icao = v.clone(),
        F::FlightPlanAltIcao(v) => plan_mut(r).alt_icao = v.clone(),
        F::FlightPlanAircraftType(v) => plan_mut(r).aircraft_type = v.clone(),
        F::FlightPlanAltitudeFt(v) => plan_mut(r).altitude_ft = Some(*v),
        F::FlightPlanTasKts(v) => plan_mut(r).tas_kts = Some(*v),
        F::FlightPlanRoute(v) => plan_mut(r).route = v.clone(),
        F::FlightPlanRemarks(v) => plan_mut(r).remarks = v.clone(),
        F::FlightPlanRules(v) => plan_mut(r).rules = v.clone(),
        F::FlightPlanDeptime(v) => plan_mut(r).deptime = v.clone(),
        // Applied by `set_position`, with its limits.
        F::Position(update) => {
            set_position(r, update);
        }
        F::ProgressPhase(v) => r.progress.get_or_insert_with(Progress::default).phase = phase(*v),
        F::ProgressIsActive(v) => r.progress.get_or_insert_with(Progress::default).is_active = *v,
        F::ProgressDistToDestNm(v) => {
            r.progress
                .get_or_insert_with(Progress::default)
                .dist_to_dest_nm = *v
        }
        F::ProgressPctComplete(v) => {
            r.progress
                .get_or_insert_with(Progress::default)
                .pct_complete = *v
        }
        F::ProgressEtaUtc(v) => r.progress.get_or_insert_with(Progress::default).eta_utc = *v,
        F::TimesOutUtc(v) => r.times.get_or_insert_with(Times::default).out_utc = *v,
        F::TimesOffUtc(v) => r.times.get_or_insert_with(Times::default).off_utc = *v,
        F::TimesOnUtc(v) => r.times.get_or_insert_with(Times::default).on_utc = *v,
        F::TimesInUtc(v) => r.times.get_or_insert_with(Times::default).in_utc = *v,
        F::Tmi(v) => r.tmi = Some(tmi(v)),
        F::Track(v) => {
            r.track = Some(Track {
                source: v.source.clone(),
                squawk: v.squawk,
                updated_at: v.updated_at,
            })
        }
        F::Metering(v) => merge_metering(r.metering.get_or_insert_with(Metering::default), v),
    }
}

/// A position update keeps the current value of every field it leaves out
/// (the vertical rate is `store::motion`'s); the sample is the partner's.
fn merge_position(p: &mut Position, u: &wit::PositionUpdate) {
    p.lat = u.lat;
    p.lon = u.lon;
    p.altitude_ft = u.altitude_ft.unwrap_or(p.altitude_ft);
    p.heading_deg = u.heading_deg.unwrap_or(p.heading_deg);
    p.groundspeed_kts = u.groundspeed_kts.unwrap_or(p.groundspeed_kts);
    p.squawk = u.squawk.or(p.squawk);
    p.updated_at = u.updated_at;
    p.reported_by = Reporter::Partner;
}

fn phase(p: wit::Phase) -> Phase {
    match p {
        wit::Phase::Prefile => Phase::Prefile,
        wit::Phase::Taxiing => Phase::Taxiing,
        wit::Phase::Departed => Phase::Departed,
        wit::Phase::Enroute => Phase::Enroute,
        wit::Phase::Descending => Phase::Descending,
        wit::Phase::Arrived => Phase::Arrived,
        wit::Phase::Disconnected => Phase::Disconnected,
    }
}

fn tmi(t: &wit::Tmi) -> Tmi {
    Tmi {
        gs_held: t.gs_held,
        ctl_type: t.ctl_type.map(|c| match c {
            wit::ControlType::Gs => ControlType::Gs,
            wit::ControlType::Gdp => ControlType::Gdp,
        }),
        program_id: t.program_id,
        slot_time_utc: t.slot_time_utc,
        edct_utc: t.edct_utc,
        delay_minutes: t.delay_minutes,
        eta_utc: t.eta_utc,
    }
}

/// A metering update keeps the current value of every field it leaves out,
/// as partners send only what their sequencer knows.
fn merge_metering(m: &mut Metering, u: &wit::Metering) {
    let keep = |new: &Option<String>, old: &mut Option<String>| {
        if new.is_some() {
            old.clone_from(new);
        }
    };
    m.sta_utc = u.sta_utc.or(m.sta_utc);
    m.metering_time_utc = u.metering_time_utc.or(m.metering_time_utc);
    keep(&u.metering_point, &mut m.metering_point);
    m.delay_minutes = u.delay_minutes.or(m.delay_minutes);
    m.frozen = u.frozen.unwrap_or(m.frozen);
    keep(&u.stream, &mut m.stream);
    keep(&u.status, &mut m.status);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wit::{PositionUpdate, Tmi as WitTmi};

    fn owns(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_detector_writes_only_what_it_owns() {
        let owned = owns(&["times.out_utc", "times.off_utc"]);
        let departure = Writer::Plugin {
            name: "departure",
            kind: Kind::Detector,
            owns: &owned,
        };
        let mut r = FlightRecord::default();
        let refused = apply(
            &mut r,
            departure,
            &[
                FieldValue::TimesOffUtc(Some(5)),
                FieldValue::TimesOnUtc(Some(9)),
            ],
        );
        assert_eq!(r.times.unwrap().off_utc, Some(5));
        assert_eq!(
            r.times.unwrap().on_utc,
            None,
            "the refused field was not written"
        );
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].field, "times.on_utc");
        assert!(
            refused[0]
                .message
                .starts_with("plugin departure does not own times.on_utc"),
            "{}",
            refused[0].message
        );
    }

    #[test]
    fn a_section_wildcard_or_name_covers_its_fields() {
        let owned = owns(&["tmi.*", "track"]);
        let writer = Writer::Plugin {
            name: "x",
            kind: Kind::Detector,
            owns: &owned,
        };
        let mut r = FlightRecord::default();
        let tmi = WitTmi {
            gs_held: true,
            ctl_type: None,
            program_id: Some(3),
            slot_time_utc: None,
            edct_utc: None,
            delay_minutes: None,
            eta_utc: None,
        };
        let track = wit::Track {
            source: "radar".into(),
            squawk: Some(7700),
            updated_at: 1,
        };
        assert!(
            apply(
                &mut r,
                writer,
                &[FieldValue::Tmi(tmi), FieldValue::Track(track)]
            )
            .is_empty()
        );
        assert_eq!(r.tmi.unwrap().program_id, Some(3));
        assert_eq!(r.track.unwrap().squawk, Some(7700));
    }

    #[test]
    fn the_sync_owns_identity_plan_and_position_only() {
        let mut r = FlightRecord::default();
        let refused = apply(
            &mut r,
            Writer::Sync,
            &[
                FieldValue::FlightPlanDestIcao("EGLL".into()),
                FieldValue::TimesOutUtc(Some(1)),
            ],
        );
        assert_eq!(r.flight_plan.unwrap().dest_icao, "EGLL");
        assert_eq!(
            refused,
            [Refusal {
                field: "times.out_utc",
                message: "the VATSIM sync does not own times.out_utc".into(),
                quiet: false,
                partial: false,
            }]
        );
    }

    #[test]
    fn a_position_update_keeps_what_it_leaves_out() {
        let mut r = FlightRecord {
            position: Some(Position {
                lat: 1.0,
                lon: 2.0,
                altitude_ft: 35_000,
                heading_deg: 90,
                groundspeed_kts: 450,
                vertical_rate_fpm: 0,
                squawk: Some(2000),
                updated_at: 1,
                reported_by: Reporter::Feed,
            }),
            ..FlightRecord::default()
        };
        let owned = owns(&["position"]);
        let update = PositionUpdate {
            lat: 3.0,
            lon: 4.0,
            altitude_ft: Some(34_000),
            heading_deg: None,
            groundspeed_kts: None,
            vertical_rate_fpm: Some(-1_000),
            squawk: None,
            updated_at: 2,
        };
        assert!(
            apply(
                &mut r,
                Writer::Plugin {
                    name: "track",
                    kind: Kind::IngestAdapter,
                    owns: &owned
                },
                &[FieldValue::Position(update)]
            )
            .is_empty()
        );
        assert_eq!(
            r.position.unwrap(),
            Position {
                lat: 3.0,
                lon: 4.0,
                altitude_ft: 34_000,
                heading_deg: 90,
                groundspeed_kts: 450,
                vertical_rate_fpm: -1_000,
                squawk: Some(2000),
                updated_at: 2,
                reported_by: Reporter::Partner,
            }
        );
    }

    fn tmi(program: u64) -> WitTmi {
        WitTmi {
            gs_held: false,
            ctl_type: Some(wit::ControlType::Gdp),
            program_id: Some(program),
            slot_time_utc: Some(1_000),
            edct_utc: None,
            delay_minutes: Some(45),
            eta_utc: None,
        }
    }

    fn released() -> WitTmi {
        WitTmi {
            ctl_type: None,
            program_id: None,
            slot_time_utc: None,
            delay_minutes: None,
            ..tmi(0)
        }
    }

    #[test]
    fn tmi_belongs_to_whoever_controls_the_flight() {
        let owned = owns(&["tmi"]);
        let adl = Writer::Plugin {
            name: "adl",
            kind: Kind::IngestAdapter,
            owns: &owned,
        };
        let detector = Writer::Plugin {
            name: "tmi",
            kind: Kind::Detector,
            owns: &owned,
        };
        // ADL controls a flight no one controls; the detector may not undo it.
        let mut r = FlightRecord::default();
        assert!(apply(&mut r, adl, &[FieldValue::Tmi(tmi(77))]).is_empty());
        assert_eq!(r.tmi_controller.as_deref(), Some("adl"));
        assert_eq!(r.gateway_program_id(), None, "ADL's numbers are its own");
        let refused = apply(&mut r, detector, &[FieldValue::Tmi(released())]);
        assert_eq!(refused.len(), 1);
        assert!(refused[0].quiet, "expected, not a fault of the detector");
        assert_eq!(r.tmi.unwrap().program_id, Some(77));
        // ADL lets it go; then the gateway's program takes it.
        assert!(apply(&mut r, adl, &[FieldValue::Tmi(released())]).is_empty());
        assert_eq!(r.tmi_controller, None);
        assert!(apply(&mut r, detector, &[FieldValue::Tmi(tmi(3))]).is_empty());
        assert_eq!(r.gateway_program_id(), Some(3));
        // Now ADL is refused, with the program named.
        let refused = apply(&mut r, adl, &[FieldValue::Tmi(tmi(77))]);
        assert_eq!(refused.len(), 1);
        assert!(!refused[0].quiet);
        assert!(
            refused[0].message.contains("gateway's program 3"),
            "{}",
            refused[0].message
        );
        assert_eq!(r.gateway_program_id(), Some(3));
    }

    #[test]
    fn a_section_a_kind_may_not_write_is_named_with_who_writes_it() {
        let owned = owns(&["identity"]);
        let adl = Writer::Plugin {
            name: "adl",
            kind: Kind::IngestAdapter,
            owns: &owned,
        };
        let mut r = FlightRecord::default();
        let refused = apply(&mut r, adl, &[FieldValue::ProgressIsActive(true)]);
        assert!(
            refused[0]
                .message
                .contains("progress is written by the gateway"),
            "{}",
            refused[0].message
        );
    }
}
