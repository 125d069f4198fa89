//! The readable form of a timeline (`payments inspect` without `--json`): one line per entry, in columns.

use std::fmt::Write;

use super::{format_time, Timeline, What};

/// The timeline as a table for a terminal.
pub fn table(timeline: &Timeline) -> String {
    let mut out = format!(
        "order {}: {} entr{} (times UTC, as recorded by NATS)\n",
        timeline.order_id,
        timeline.entries.len(),
        if timeline.entries.len() == 1 {
            "y"
        } else {
            "ies"
        }
    );
    let _ = writeln!(out, "{:<24}  {:<9}  WHAT", "TIME", "KIND");
    for entry in &timeline.entries {
        let (kind, what) = describe(&entry.what);
        let _ = writeln!(out, "{:<24}  {kind:<9}  {what}", format_time(entry.time));
    }
    out
}

fn describe(what: &What) -> (&'static str, String) {
    match what {
        What::Event {
            event_type,
            id,
            source,
        } => ("event", format!("{event_type} {id} (from {source})")),
        What::Published {
            subject,
            sequence,
            msg_id,
        } => (
            "published",
            format!("{subject} as PAYMENTS #{sequence} (Nats-Msg-Id {msg_id})"),
        ),
        What::Callback { url, status, error } => {
            let answer = match (status, error) {
                (Some(status), _) => format!("HTTP {status}"),
                (None, Some(error)) => format!("no answer: {error}"),
                (None, None) => "no answer".to_owned(),
            };
            ("callback", format!("{url} → {answer}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::table;
    use crate::inspect::{Entry, Timeline, What};

    #[test]
    fn one_line_per_entry_with_what_happened() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_765_000_000);
        let timeline = Timeline {
            order_id: "o-1".into(),
            entries: vec![
                Entry {
                    time: at,
                    what: What::Event {
                        event_type: "charge.succeeded".into(),
                        id: "evt_1".into(),
                        source: "webhook".into(),
                    },
                },
                Entry {
                    time: at,
                    what: What::Callback {
                        url: "https://x/cb".into(),
                        status: None,
                        error: Some("connection refused".into()),
                    },
                },
            ],
        };
        let text = table(&timeline);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[0].starts_with("order o-1: 2 entries"), "{text}");
        assert!(lines[2].contains("event      charge.succeeded evt_1 (from webhook)"));
        assert!(lines[3].contains("https://x/cb → no answer: connection refused"));
    }
}
