//! Checks what each client session received against the change feed as
//! REST `/events` serves it afterwards (the reference).

use std::collections::HashMap;

/// One connection's subscription and what it received.
#[derive(Debug, Clone, Default)]
pub struct Session {
    /// Channel names or patterns subscribed.
    pub channels: Vec<String>,
    /// Whether the subscription had filters (then only a subset of the
    /// channels' events arrives, so only order and authenticity are
    /// checked, not completeness).
    pub filtered: bool,
    /// The `since` sent, if the session resumed.
    pub since: Option<u64>,
    /// Every event received: (seq, type), in arrival order.
    pub received: Vec<(u64, String)>,
    /// A `RESUME_GAP` the server answered.
    pub resume_gap: bool,
}

/// What the check found, summed over sessions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    /// Sessions checked.
    pub sessions: usize,
    /// Events received.
    pub events: usize,
    /// Events a complete (unfiltered) session should have had and did not.
    pub gaps: usize,
    /// Events received twice, or out of order.
    pub duplicates: usize,
    /// Events whose seq the feed does not have, or has with another type.
    pub phantoms: usize,
    /// Sessions that replayed from `since` (resumed).
    pub resumed: usize,
    /// `RESUME_GAP`s answered (none is expected within retention).
    pub resume_gaps: usize,
    /// The first few problems, for the report.
    pub examples: Vec<String>,
}

impl Findings {
    /// Whether nothing was lost, repeated or made up.
    pub fn clean(&self) -> bool {
        self.gaps == 0 && self.duplicates == 0 && self.phantoms == 0 && self.resume_gaps == 0
    }

    fn example(&mut self, text: String) {
        if self.examples.len() < 5 {
            self.examples.push(text);
        }
    }
}

/// Whether an event type is on one of the channels.
pub fn on_channels(kind: &str, channels: &[String]) -> bool {
    channels.iter().any(|c| {
        c == "*"
            || c == kind
            || c.strip_suffix(".*")
                .is_some_and(|ns| kind.strip_prefix(ns).is_some_and(|r| r.starts_with('.')))
    })
}

/// Checks every session against `reference` (seq -> type, in seq order).
pub fn check(sessions: &[Session], reference: &[(u64, String)]) -> Findings {
    let by_seq: HashMap<u64, &str> = reference.iter().map(|(s, t)| (*s, t.as_str())).collect();
    let mut findings = Findings::default();
    for (n, session) in sessions.iter().enumerate() {
        findings.sessions += 1;
        findings.events += session.received.len();
        findings.resumed += usize::from(session.since.is_some());
        findings.resume_gaps += usize::from(session.resume_gap);
        check_order(n, session, &by_seq, &mut findings);
        if !session.filtered && !session.resume_gap {
            check_complete(n, session, reference, &mut findings);
        }
    }
    findings
}

/// Strictly increasing seqs, each the feed's, none at or before `since`.
fn check_order(n: usize, s: &Session, by_seq: &HashMap<u64, &str>, f: &mut Findings) {
    let mut last = s.since;
    for (seq, kind) in &s.received {
        if last.is_some_and(|l| *seq <= l) {
            f.duplicates += 1;
            f.example(format!("session {n}: seq {seq} after {last:?}"));
        }
        last = Some(*seq);
        if by_seq.get(seq) != Some(&kind.as_str()) {
            f.phantoms += 1;
            f.example(format!(
                "session {n}: seq {seq} {kind} is {:?} in the feed",
                by_seq.get(seq)
            ));
        }
    }
}

/// Every feed event on the session's channels, from its start (`since`,
/// or its first event) to its last event, arrived.
fn check_complete(n: usize, s: &Session, reference: &[(u64, String)], f: &mut Findings) {
    let Some((last, _)) = s.received.last() else {
        return;
    };
    let after = s.since.unwrap_or(s.received[0].0.saturating_sub(1));
    let got: std::collections::HashSet<u64> = s.received.iter().map(|(seq, _)| *seq).collect();
    for (seq, kind) in reference {
        if *seq > after && seq <= last && on_channels(kind, &s.channels) && !got.contains(seq) {
            f.gaps += 1;
            f.example(format!("session {n}: missed seq {seq} {kind}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed() -> Vec<(u64, String)> {
        [
            "flight.departed",
            "flight.positions",
            "tmi.issued",
            "flight.arrived",
            "flight.positions",
        ]
        .iter()
        .enumerate()
        .map(|(i, t)| (i as u64 + 1, t.to_string()))
        .collect()
    }

    fn session(channels: &[&str], since: Option<u64>, received: &[u64]) -> Session {
        let reference = feed();
        Session {
            channels: channels.iter().map(|c| c.to_string()).collect(),
            since,
            received: received
                .iter()
                .map(|s| reference[*s as usize - 1].clone())
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_complete_resumed_stream_is_clean() {
        let s = session(&["flight.*"], Some(1), &[2, 4, 5]);
        let f = check(&[s], &feed());
        assert!(f.clean(), "{f:?}");
        assert_eq!((f.events, f.resumed), (3, 1));
    }

    #[test]
    fn a_missed_event_on_a_subscribed_channel_is_a_gap() {
        let s = session(
            &["flight.departed", "flight.arrived", "tmi.*"],
            Some(0),
            &[1, 4],
        );
        let f = check(&[s], &feed());
        assert_eq!(f.gaps, 1, "{f:?}");
        assert!(f.examples[0].contains("missed seq 3 tmi.issued"));
    }

    #[test]
    fn a_repeat_across_a_resume_and_a_wrong_type_are_caught() {
        let repeated = session(&["*"], Some(2), &[2, 3]);
        let mut forged = session(&["*"], None, &[1]);
        forged.received[0].1 = "flight.arrived".into();
        let f = check(&[repeated, forged], &feed());
        assert_eq!((f.duplicates, f.phantoms), (1, 1), "{f:?}");
    }

    #[test]
    fn a_filtered_session_is_not_held_to_completeness() {
        let mut s = session(&["flight.positions"], Some(0), &[5]);
        s.filtered = true;
        assert!(check(&[s], &feed()).clean());
    }
}
