//! `payments inspect`: one payment's timeline, read from its trail (`crate::trail`). An order id is read with one
//! subject filter; a `cs_`, `pi_`, `ch_` or `evt_` id is first looked up among the trail's subjects (the NATS
//! server answers from its subject index, reading no message) to find its order.

mod render;

pub use render::table;

use std::{collections::HashSet, time::SystemTime};

use async_nats::jetstream::{
    self,
    context::GetStreamErrorKind,
    stream::{DirectGetErrorKind, Stream},
    ErrorCode,
};
use futures::TryStreamExt;
use serde::{Serialize, Serializer};

use crate::trail::{token, Record, Sent, TRAIL_PREFIX, TRAIL_STREAM};

/// Most entries read for one order: a payment has a handful; a flood of callback attempts is cut here.
const MAX_ENTRIES: usize = 10_000;

/// The timeline of one order, oldest first: the `--json` output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Timeline {
    pub order_id: String,
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// When it happened here (the NATS server's clock).
    #[serde(serialize_with = "rfc3339")]
    pub time: SystemTime,
    #[serde(flatten)]
    pub what: What,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum What {
    Event {
        #[serde(rename = "type")]
        event_type: String,
        id: String,
        source: String,
    },
    Published {
        subject: String,
        sequence: u64,
        #[serde(rename = "msgId")]
        msg_id: String,
    },
    Callback {
        url: String,
        status: Option<u16>,
        error: Option<String>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error(
        "nothing is known of {0}: no Stripe event, published outcome or callback of it is recorded"
    )]
    Unknown(String),
    #[error("JetStream: {0}")]
    Unavailable(String),
}

fn unavailable(e: impl std::fmt::Display) -> InspectError {
    InspectError::Unavailable(e.to_string())
}

/// The timeline of the order `id` is, or names (`cs_…`, `pi_…`, `ch_…`, `evt_…`).
pub async fn inspect(js: &jetstream::Context, id: &str) -> Result<Timeline, InspectError> {
    let stream = match js.get_stream(TRAIL_STREAM).await {
        Ok(stream) => stream,
        // No trail yet: this version of the service never ran against this NATS.
        Err(e) => match e.kind() {
            GetStreamErrorKind::JetStream(js) if js.error_code() == ErrorCode::STREAM_NOT_FOUND => {
                return Err(InspectError::Unknown(id.to_owned()))
            }
            _ => return Err(unavailable(e)),
        },
    };
    let Some(order) = order_token(&stream, id).await? else {
        return Err(InspectError::Unknown(id.to_owned()));
    };
    let (order_id, entries) = read(&stream, &order).await?;
    if entries.is_empty() {
        return Err(InspectError::Unknown(id.to_owned()));
    }
    Ok(Timeline { order_id, entries })
}

/// The subject token of the order that `id` is or names; `None` when the trail knows nothing of it.
async fn order_token(stream: &Stream, id: &str) -> Result<Option<String>, InspectError> {
    let t = token(id);
    // An object's position among `<order>.event.<evt>.<cs>.<pi>.<ch>`.
    let object = match id.split_once('_').map(|(prefix, _)| prefix) {
        Some("evt") => Some(format!("{TRAIL_PREFIX}.*.event.{t}.*.*.*")),
        Some("cs") => Some(format!("{TRAIL_PREFIX}.*.event.*.{t}.*.*")),
        Some("pi") => Some(format!("{TRAIL_PREFIX}.*.event.*.*.{t}.*")),
        Some("ch" | "py") => Some(format!("{TRAIL_PREFIX}.*.event.*.*.*.{t}")),
        _ => None,
    };
    let order = format!("{TRAIL_PREFIX}.{t}.>");
    for filter in object.iter().chain([&order]) {
        let mut subjects = stream
            .info_with_subjects(filter)
            .await
            .map_err(unavailable)?;
        if let Some((subject, _)) = subjects.try_next().await.map_err(unavailable)? {
            return Ok(subject.split('.').nth(2).map(str::to_owned));
        }
    }
    Ok(None)
}

/// Every entry of the order, oldest first; an event or an outcome recorded twice (a retried write, a replay)
/// counts once.
async fn read(stream: &Stream, order: &str) -> Result<(String, Vec<Entry>), InspectError> {
    let filter = format!("{TRAIL_PREFIX}.{order}.>");
    let mut order_id = String::new();
    let mut entries = Vec::new();
    let mut seen = HashSet::new();
    let mut next = 1;
    while entries.len() < MAX_ENTRIES {
        let message = match stream
            .direct_get_next_for_subject(filter.as_str(), Some(next))
            .await
        {
            Ok(message) => message,
            Err(e) if e.kind() == DirectGetErrorKind::NotFound => break,
            Err(e) => return Err(unavailable(e)),
        };
        next = message.sequence + 1;
        let Ok(record) = serde_json::from_slice::<Record>(&message.payload) else {
            continue; // written by a newer version: not ours to read
        };
        let (order_of, recorded) = entries_of(record, message.time.into());
        order_id = order_of;
        for entry in recorded {
            let key = match &entry.what {
                What::Event { id, .. } => Some(format!("event {id}")),
                What::Published { msg_id, .. } => Some(format!("published {msg_id}")),
                What::Callback { .. } => None,
            };
            if key.is_none_or(|key| seen.insert(key)) {
                entries.push(entry);
            }
        }
    }
    entries.sort_by_key(|e| e.time);
    Ok((order_id, entries))
}

/// A record as entries at `stored`: an event (dated when it entered the events stream) and what it published
/// (dated when it was recorded, just after), or one callback attempt.
fn entries_of(record: Record, stored: SystemTime) -> (String, Vec<Entry>) {
    let published = |sent: Sent| Entry {
        time: stored,
        what: What::Published {
            subject: sent.subject,
            sequence: sent.sequence,
            msg_id: sent.msg_id,
        },
    };
    match record {
        Record::Event {
            order_id,
            id,
            event_type,
            source,
            received,
            published: sent,
        } => {
            let time = humantime::parse_rfc3339(&received).unwrap_or(stored);
            let what = What::Event {
                event_type,
                id,
                source,
            };
            let entries = std::iter::once(Entry { time, what })
                .chain(sent.into_iter().map(published))
                .collect();
            (order_id, entries)
        }
        Record::Published { order_id, sent } => (order_id, vec![published(sent)]),
        Record::Callback {
            order_id,
            url,
            status,
            error,
        } => {
            let what = What::Callback { url, status, error };
            (order_id, vec![Entry { time: stored, what }])
        }
    }
}

/// RFC 3339 in UTC with milliseconds, as the contract's `time`.
pub fn format_time(time: SystemTime) -> String {
    humantime::format_rfc3339_millis(time).to_string()
}

fn rfc3339<S: Serializer>(time: &SystemTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format_time(*time))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::{entries_of, Entry, Timeline, What};
    use crate::trail::{Record, Sent};

    #[test]
    fn json_has_the_contract_fields() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_765_000_000_123);
        let timeline = Timeline {
            order_id: "o-1".into(),
            entries: vec![
                Entry {
                    time: at,
                    what: What::Published {
                        subject: "payment.succeeded".into(),
                        sequence: 7,
                        msg_id: "succeeded.pi_1".into(),
                    },
                },
                Entry {
                    time: at,
                    what: What::Callback {
                        url: "https://x/cb".into(),
                        status: None,
                        error: Some("timed out".into()),
                    },
                },
            ],
        };
        let json: serde_json::Value = serde_json::to_value(&timeline).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"orderId": "o-1", "entries": [
                {"time": "2025-12-06T05:46:40.123Z", "kind": "published", "subject": "payment.succeeded",
                 "sequence": 7, "msgId": "succeeded.pi_1"},
                {"time": "2025-12-06T05:46:40.123Z", "kind": "callback", "url": "https://x/cb",
                 "status": null, "error": "timed out"}]})
        );
    }

    fn sent() -> Sent {
        Sent {
            subject: "payment.succeeded".into(),
            sequence: 7,
            msg_id: "succeeded.pi_1".into(),
        }
    }

    #[test]
    fn an_event_is_dated_when_it_was_received_and_its_outcomes_when_recorded() {
        let stored = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        let record = Record::Event {
            order_id: "o".into(),
            id: "evt_1".into(),
            event_type: "charge.succeeded".into(),
            source: "reconcile".into(),
            received: "1970-01-01T00:01:00.5Z".into(),
            published: vec![sent()],
        };
        let (order, entries) = entries_of(record, stored);
        assert_eq!(order, "o");
        let times: Vec<_> = entries.iter().map(|e| e.time).collect();
        let received = SystemTime::UNIX_EPOCH + Duration::from_millis(60_500);
        assert_eq!(times, [received, stored]);
        assert!(matches!(&entries[0].what, What::Event { id, .. } if id == "evt_1"));
        assert!(
            matches!(&entries[1].what, What::Published { sequence: 7, msg_id, .. } if msg_id == "succeeded.pi_1")
        );
    }

    #[test]
    fn an_outcome_recorded_on_its_own_by_an_earlier_version_still_reads() {
        let old = r#"{"kind":"published","orderId":"o","subject":"payment.succeeded","sequence":7,
                      "msgId":"succeeded.pi_1"}"#;
        let record: Record = serde_json::from_str(old).unwrap();
        assert_eq!(
            record,
            Record::Published {
                order_id: "o".into(),
                sent: sent()
            }
        );
        let stored = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        let (_, entries) = entries_of(record, stored);
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].time, stored);
    }
}
