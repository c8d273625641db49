//! The order detectors run in within a cycle: a detector that reads a
//! column another writes (its manifest's `owns`, alias `writes`) runs after
//! it and sees its patches. Detectors with no such link run by name. A
//! cycle of such links could never be ordered, so the registry refuses the
//! detector that would close one, naming the plugins in it.

use super::columns::AIRPORTS;
use super::manifest::Manifest;

/// Whether `reader` reads something `writer` writes (never itself).
pub fn reads_what_writes(reader: &Manifest, writer: &Manifest) -> bool {
    if reader.name == writer.name {
        return false;
    }
    writer.owns.iter().any(|owned| match &reader.reads {
        // A detector without `reads` sees every section.
        None => true,
        Some(reads) => reads
            .iter()
            .filter(|r| r.as_str() != AIRPORTS)
            .any(|read| overlaps(read, owned)),
    })
}

/// Whether two dotted paths name some column in common: "tmi" and
/// "tmi.edct_utc" do, "times.off_utc" and "times.on_utc" do not; "x.*" is
/// the whole section "x".
fn overlaps(a: &str, b: &str) -> bool {
    let whole = |p: &str| p.strip_suffix(".*").unwrap_or(p).to_string();
    let (a, b) = (whole(a), whole(b));
    let within = |inner: &str, outer: &str| {
        inner == outer
            || inner
                .strip_prefix(outer)
                .is_some_and(|rest| rest.starts_with('.'))
    };
    within(&a, &b) || within(&b, &a)
}

/// Indices of `manifests` in the order to run them: every writer before
/// its readers, otherwise by position (callers pass them by name). A
/// cycle, which the registry keeps out, leaves its members by position.
pub fn run_order(manifests: &[&Manifest]) -> Vec<usize> {
    let n = manifests.len();
    let waits_for = |i: usize| {
        (0..n)
            .filter(move |&j| reads_what_writes(manifests[i], manifests[j]))
            .collect::<Vec<_>>()
    };
    let mut placed = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        // The first detector whose writers have all run; with none (a
        // cycle), the first not yet placed.
        let ready = (0..n)
            .filter(|&i| !placed[i])
            .find(|&i| waits_for(i).into_iter().all(|j| placed[j]))
            .or_else(|| (0..n).find(|&i| !placed[i]));
        let Some(next) = ready else { break };
        placed[next] = true;
        order.push(next);
    }
    order
}

/// The detectors a `candidate` would close a cycle with among `others`,
/// as "a -> b -> a" (each reads what the next writes), if it would.
pub fn cycle_through(candidate: &Manifest, others: &[&Manifest]) -> Option<String> {
    let all: Vec<&Manifest> = std::iter::once(candidate)
        .chain(others.iter().copied().filter(|m| m.name != candidate.name))
        .collect();
    // Depth-first from the candidate along "reads what ... writes" links;
    // a path back to it is the cycle.
    let mut path = vec![0usize];
    let mut next_child = vec![0usize];
    let mut seen = vec![false; all.len()];
    seen[0] = true;
    while let (Some(&at), Some(child)) = (path.last(), next_child.last_mut()) {
        let Some(to) = (*child..all.len()).find(|&j| reads_what_writes(all[at], all[j])) else {
            path.pop();
            next_child.pop();
            continue;
        };
        *child = to + 1;
        if to == 0 {
            let names: Vec<&str> = path
                .iter()
                .chain([&0])
                .map(|&i| all[i].name.as_str())
                .collect();
            return Some(names.join(" -> "));
        }
        if !seen[to] {
            seen[to] = true;
            path.push(to);
            next_child.push(0);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::Kind;

    fn detector(name: &str, reads: Option<&[&str]>, owns: &[&str]) -> Manifest {
        let mut m = Manifest::implied(name, Kind::Detector);
        m.reads = reads.map(|r| r.iter().map(|s| s.to_string()).collect());
        m.owns = owns.iter().map(|s| s.to_string()).collect();
        m
    }

    #[test]
    fn a_reader_of_a_written_column_runs_after_its_writer() {
        let edct = detector("edct", Some(&["tmi.edct_utc", "identity.callsign"]), &[]);
        let tmi = detector("tmi", Some(&["tmi", "airports"]), &["tmi"]);
        let squawk = detector("squawk", Some(&["position.squawk"]), &[]);
        assert!(reads_what_writes(&edct, &tmi));
        assert!(!reads_what_writes(&tmi, &tmi), "not on itself");
        assert!(!reads_what_writes(&tmi, &edct));
        let order = run_order(&[&edct, &squawk, &tmi]);
        assert_eq!(order, [1, 2, 0], "squawk by name, tmi before edct");
    }

    #[test]
    fn columns_overlap_only_where_they_meet() {
        assert!(overlaps("tmi", "tmi.edct_utc"));
        assert!(overlaps("tmi.*", "tmi.edct_utc"));
        assert!(!overlaps("times.off_utc", "times.on_utc"));
        assert!(!overlaps("times", "timestamps"));
        let all = detector("all", None, &[]);
        let departure = detector("departure", Some(&["position"]), &["times.off_utc"]);
        assert!(reads_what_writes(&all, &departure), "no `reads` is all");
        let arrival = detector("arrival", Some(&["times.on_utc"]), &["times.on_utc"]);
        assert!(!reads_what_writes(&arrival, &departure));
    }

    #[test]
    fn a_cycle_is_named_from_the_candidate_round_to_it() {
        let a = detector("a", Some(&["times.off_utc"]), &["times.on_utc"]);
        let b = detector("b", Some(&["times.in_utc"]), &["times.off_utc"]);
        let c = detector("c", Some(&["times.on_utc"]), &["times.in_utc"]);
        let unrelated = detector("d", Some(&["position"]), &[]);
        assert_eq!(cycle_through(&a, &[&b, &unrelated]), None);
        assert_eq!(
            cycle_through(&a, &[&unrelated, &b, &c]).as_deref(),
            Some("a -> b -> c -> a")
        );
        // A new version of a plugin is checked without its old self.
        assert_eq!(cycle_through(&a, &[&a.clone()]), None);
    }
}
