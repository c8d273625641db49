//! A short `swim bench accuracy` as a test: the gateway's OOOI times,
//! EDCT events and derived values against the simulator's truth, for the
//! feed alone, with a partner's tracks and with the ADL, through the real
//! wasm adapters and detectors. Thresholds sit below the goals the full
//! run measures (docs/BENCHMARKS.md, "Accuracy against the truth"); the
//! feed alone once had its times up to 19.8 s late (the sample that showed
//! the change, not the instant it happened).

use vatswim_bench::accuracy::{AccuracyArgs, Mix, Score, measure};

fn args() -> AccuracyArgs {
    AccuracyArgs {
        flights: 400,
        minutes: 60,
        seed: 11,
        track_share: 0.4,
    }
}

fn assert_times(group: &str, kind: &str, s: &Score, p95_s: f64, max_s: f64) {
    let figures = format!(
        "{group} {kind}: expected {}, recall {:.3}, precision {:.3}, p50 {:.1} p95 {:.1} max {:.1} s",
        s.expected,
        s.recall(),
        s.precision(),
        s.error_s(0.5),
        s.error_s(0.95),
        s.error_s(1.0)
    );
    println!("{figures}");
    if !s.missed.is_empty() {
        println!("  missed: {:?}", s.missed);
    }
    assert!(s.expected >= 5, "too few to measure: {figures}");
    assert!(s.recall() >= 0.99 && s.precision() >= 0.99, "{figures}");
    assert!(
        s.error_s(0.95) <= p95_s && s.error_s(1.0) <= max_s,
        "{figures}"
    );
}

#[test]
fn the_feed_alone_times_each_change_between_its_snapshots() {
    let outcome = measure(Mix::Feed, &args()).unwrap();
    for (kind, s) in &outcome.groups[0].1 {
        // Goals: p95 <= 5 s, max <= 7.5 s.
        assert_times("feed", kind, s, 6.0, 9.0);
    }
    assert_eq!(outcome.implausible.vertical_rate, 0);
    assert_eq!(outcome.implausible.groundspeed, 0);
}

#[test]
fn a_partners_track_makes_its_flights_times_closer_and_no_impossible_rate() {
    let outcome = measure(Mix::Tracks, &args()).unwrap();
    let (label, every_second) = &outcome.groups[0];
    for (kind, s) in every_second {
        // Goal: within 2 s with a 1 Hz track.
        assert_times(label, kind, s, 2.5, 3.0);
    }
    for (label, scores) in &outcome.groups[1..] {
        for (kind, s) in scores {
            assert_times(label, kind, s, 6.0, 9.0);
        }
    }
    // Two reporters alternate for the tracked flights: no jump between
    // them became a rate.
    assert_eq!(
        outcome.implausible.vertical_rate, 0,
        "{:?}",
        outcome.implausible
    );
    let mut m = outcome.position_error_m.clone();
    m.sort_by(f64::total_cmp);
    assert!(
        m[m.len() * 95 / 100] < 5.0,
        "positions off the truth: p95 {} m",
        m[m.len() * 95 / 100]
    );
}

#[test]
fn every_edct_the_adl_gives_moves_or_lifts_is_one_cdm_edct_and_metering_reads_back() {
    let outcome = measure(Mix::Partners, &args()).unwrap();
    let edct = outcome.edct.unwrap();
    println!(
        "cdm.edct: expected {}, recall {:.3}, precision {:.3}",
        edct.expected,
        edct.recall(),
        edct.precision()
    );
    assert!(edct.expected >= 20, "{edct:?}");
    assert_eq!((edct.recall(), edct.precision()), (1.0, 1.0), "{edct:?}");
    let metering = outcome.metering.unwrap();
    assert!(metering.expected >= 50, "{metering:?}");
    assert_eq!(metering.recall(), 1.0, "{metering:?}");
}
