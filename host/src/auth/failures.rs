//! Repeated auth failures, aggregated: the first failure of a kind from an
//! address in a window is audited as it happens; the rest of that window's
//! are counted and written as one summary row when the window closes. A
//! client retrying a bad key (or scanning) then costs the audit log two
//! rows a minute, not one row a request.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::audit::AuditRow;

/// How long one aggregation window lasts.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Windows held at most; past it, failures from new addresses share one
/// window, so a spray from many addresses costs bounded memory (each
/// window's row is cut to the audit log's bounds, under 1 KB) and at most
/// this many audit rows a minute, plus one summary each, overall.
pub const MAX_WINDOWS: usize = 1_000;

/// What groups failures: the address (none when the failures overflowed
/// into the shared window), the status and the error code.
type FailureKey = (Option<IpAddr>, u16, String);

struct Window {
    opened: Instant,
    /// Failures after the first, not written yet.
    more: u64,
    /// The first failure, as a model for the summary.
    first: AuditRow,
}

/// The open windows.
#[derive(Default)]
pub struct Failures {
    windows: Mutex<HashMap<FailureKey, Window>>,
}

impl Failures {
    /// Notes a failure; the row to write now, if it is the first of its window.
    pub fn note(&self, address: Option<IpAddr>, row: AuditRow) -> Option<AuditRow> {
        // Cut before it is kept: a request line can be tens of KB.
        let row = row.bounded();
        let mut windows = self.windows.lock();
        let code = row.detail.clone().unwrap_or_default();
        let mut key = (address, row.status, code);
        if !windows.contains_key(&key) && windows.len() >= MAX_WINDOWS {
            key.0 = None;
        }
        match windows.entry(key) {
            Entry::Occupied(mut window) => {
                window.get_mut().more += 1;
                None
            }
            Entry::Vacant(slot) => {
                slot.insert(Window {
                    opened: Instant::now(),
                    more: 0,
                    first: row.clone(),
                });
                Some(row)
            }
        }
    }

    /// Closes the windows older than [`WINDOW`]; a summary row for each
    /// that counted more failures than its first.
    pub fn close_due(&self, at: i64) -> Vec<AuditRow> {
        let mut due = Vec::new();
        self.windows.lock().retain(|(address, _, _), w| {
            if w.opened.elapsed() < WINDOW {
                return true;
            }
            if w.more > 0 {
                due.push(summary(*address, w, at));
            }
            false
        });
        due
    }
}

fn summary(address: Option<IpAddr>, window: &Window, at: i64) -> AuditRow {
    let from = match address {
        Some(_) => "this address",
        None => "addresses past the aggregation table's size",
    };
    let code = window.first.detail.as_deref().unwrap_or("failure");
    AuditRow {
        at,
        detail: Some(format!(
            "{code}: {} more like this from {from} within {} s (the path is the first one's)",
            window.more,
            WINDOW.as_secs()
        )),
        ..window.first.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(path: &str) -> AuditRow {
        AuditRow {
            at: 1,
            key_prefix: None,
            client_addr: Some("192.0.2.7:5000".into()),
            method: "GET".into(),
            path: path.into(),
            status: 401,
            bytes: 0,
            detail: Some("MISSING_API_KEY".into()),
        }
    }

    #[test]
    fn the_first_failure_is_written_and_the_rest_summed_once_the_window_closes() {
        let failures = Failures::default();
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        assert!(failures.note(Some(ip), row("/a")).is_some());
        for _ in 0..99 {
            assert!(failures.note(Some(ip), row("/b")).is_none());
        }
        // Another address has its own window.
        assert!(
            failures
                .note(Some("192.0.2.8".parse().unwrap()), row("/a"))
                .is_some()
        );
        assert!(failures.close_due(2).is_empty(), "the window is still open");
        for w in failures.windows.lock().values_mut() {
            w.opened -= WINDOW;
        }
        let summaries = failures.close_due(2);
        assert_eq!(summaries.len(), 1, "only the window that counted more");
        let detail = summaries[0].detail.as_deref().unwrap();
        assert!(detail.starts_with("MISSING_API_KEY: 99 more"), "{detail}");
        assert_eq!(summaries[0].path, "/a");
        assert!(failures.windows.lock().is_empty());
    }

    #[test]
    fn a_spray_from_many_addresses_keeps_short_rows_and_writes_a_bounded_number() {
        let failures = Failures::default();
        let long = format!("/{}", "x".repeat(60_000));
        let written = (0..5_000u32)
            .filter_map(|i| {
                let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
                failures.note(Some(ip), row(&long))
            })
            .collect::<Vec<_>>();
        // One row per window, and one for the overflow window.
        assert_eq!(written.len(), MAX_WINDOWS + 1);
        let windows = failures.windows.lock();
        assert_eq!(windows.len(), MAX_WINDOWS + 1);
        let kept: usize = windows.values().map(|w| w.first.path.len()).sum();
        assert!(kept < (MAX_WINDOWS + 1) * 300, "{kept} bytes of paths kept");
        assert!(written.iter().all(|r| r.path.len() < 300));
        assert_eq!(
            windows[&(None, 401, "MISSING_API_KEY".to_string())].more,
            5_000 - MAX_WINDOWS as u64 - 1
        );
    }
}
