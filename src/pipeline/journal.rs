//! The order journal: per order, what was published (the lifecycle's [`History`]) and what is being published
//! right now, in one JetStream KV entry (`payment_outcomes`, key `order.<order>`), changed only by
//! compare-and-set. It is what keeps an order's messages truthful and in order across replicas:
//!
//! 1. read the order's entry; if a publication is pending, wait for it (or complete it, see below);
//! 2. decide with the lifecycle rules; write the new history *and* the messages to publish as `pending`, with
//!    the revision read (one writer wins; the others start again from 1 and see the pending publication);
//! 3. publish the pending messages in order, then clear `pending` (compare-and-set again), keeping each one's
//!    stream sequence and event in `sent` for the payment trail.
//!
//! A publish that fails gives its claim back at once (`release`: the history keeps only what was published), so
//! the very next attempt — a retry, another replica, `payments replay` — can publish. Only a holder that dies
//! (`kill -9`) leaves a pending entry behind; it holds the messages themselves, so anyone can complete it: the
//! holder's own event when it is redelivered (the holder acknowledged progress while alive, so a redelivery means
//! it is gone), or any worker that has seen the same revision unchanged for `stale_after` (measured on its own
//! monotonic clock: no two machines' wall clocks are compared). Completing re-publishes with the same
//! `Nats-Msg-Id`s, which JetStream de-duplicates.
//!
//! The entries live as long as the events (`EVENTS_RETENTION`), so an outcome is published once for the whole
//! retention, not just within JetStream's de-duplication window. `charge.<id>` entries index the order of each
//! succeeded charge, for disputes, which carry no metadata of ours.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use async_nats::jetstream::kv::{self, Operation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    error::{BoxError, Error, Unavailable},
    payment::lifecycle::History,
    trail::Sent,
};

/// Value of an outcome key written by the ledger of earlier versions (`succeeded.pi_…` → `published`).
const LEGACY_PUBLISHED: &[u8] = b"published";
/// Most revisions remembered for staleness; older observations are forgotten (they only delay a takeover).
const MAX_OBSERVED: usize = 10_000;

#[derive(Clone)]
pub struct Journal {
    kv: kv::Store,
    stale_after: Duration,
    observed: Arc<Mutex<HashMap<String, (u64, Instant)>>>,
}

/// An order's entry.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Record {
    #[serde(flatten)]
    pub history: History,
    /// Messages being published, in order; empty when nobody is publishing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<Publication>,
    /// The event whose processing wrote `pending`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_event: Option<String>,
    /// What was published, by which event: an event processed again after its worker died (or its trail write
    /// failed) still records in the trail what it published.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sent: Vec<SentBy>,
}

/// One outcome published for an order, and the event that published it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SentBy {
    pub event_id: String,
    #[serde(flatten)]
    pub sent: Sent,
}

impl Record {
    /// What `event_id` published, as far as this entry knows.
    pub fn sent_by(&self, event_id: &str) -> Vec<Sent> {
        self.sent
            .iter()
            .filter(|s| s.event_id == event_id)
            .map(|s| s.sent.clone())
            .collect()
    }

    /// Adds what was `sent`; a completion publishes again under the same ids, and the first sequence stays.
    pub fn add_sent(&mut self, sent: Vec<SentBy>) {
        for new in sent {
            if !self.sent.iter().any(|s| s.sent.msg_id == new.sent.msg_id) {
                self.sent.push(new);
            }
        }
    }
}

/// One message to publish to `PAYMENTS`, complete enough for any worker to publish it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publication {
    pub id: String,
    pub subject: String,
    pub body: String,
    pub event_id: String,
    pub event_type: String,
    /// The callback to enqueue with it: callback id and status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback: Option<(String, String)>,
    /// A succeeded charge to index, and its owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charge: Option<(String, ChargeOwner)>,
    /// The trace context of the processing that decided it: whoever publishes continues that trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

/// An order's entry as read, with the revision to write against (`None`: no entry yet).
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub record: Record,
    pub revision: Option<u64>,
}

/// The order of a succeeded charge, as indexed when its `payment.succeeded` was published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeOwner {
    pub order_id: String,
    pub intent: String,
}

impl Journal {
    pub fn new(kv: kv::Store, stale_after: Duration) -> Self {
        Self {
            kv,
            stale_after,
            observed: Arc::default(),
        }
    }

    pub async fn read(&self, order_id: &str) -> Result<Snapshot, Error> {
        let Some(entry) = self
            .kv
            .entry(order_key(order_id))
            .await
            .map_err(unavailable)?
        else {
            return Ok(Snapshot::default());
        };
        if entry.operation != Operation::Put {
            return Ok(Snapshot {
                record: Record::default(),
                revision: Some(entry.revision),
            });
        }
        let record = serde_json::from_slice(&entry.value).map_err(|e| {
            Error::Internal(format!(
                "journal entry of order {order_id:?} is unreadable: {e}"
            ))
        })?;
        Ok(Snapshot {
            record,
            revision: Some(entry.revision),
        })
    }

    /// Writes `record` over `snapshot` if nobody wrote in between; the new revision, or `None` if somebody did.
    pub async fn write(
        &self,
        order_id: &str,
        snapshot: &Snapshot,
        record: &Record,
    ) -> Result<Option<u64>, Error> {
        let key = order_key(order_id);
        let value = serde_json::to_vec(record)
            .map_err(|e| Error::Internal(format!("journal entry: {e}")))?
            .into();
        let written = match snapshot.revision {
            None => self.kv.create(&key, value).await.map_err(|e| {
                (e.kind() != kv::CreateErrorKind::AlreadyExists).then(|| unavailable(e))
            }),
            Some(revision) => self.kv.update(&key, value, revision).await.map_err(|e| {
                (e.kind() != kv::UpdateErrorKind::WrongLastRevision).then(|| unavailable(e))
            }),
        };
        match written {
            Ok(revision) => Ok(Some(revision)),
            Err(None) => Ok(None),
            Err(Some(e)) => Err(e),
        }
    }

    /// Whether this worker has seen `order_id`'s entry at `revision` for longer than the stale period.
    pub fn is_stale(&self, order_id: &str, revision: u64) -> bool {
        let Ok(mut observed) = self.observed.lock() else {
            return false;
        };
        if observed.len() >= MAX_OBSERVED {
            observed.clear();
        }
        let seen = observed
            .entry(order_id.to_owned())
            .or_insert((revision, Instant::now()));
        if seen.0 != revision {
            *seen = (revision, Instant::now());
        }
        seen.1.elapsed() >= self.stale_after
    }

    /// Whether an earlier version's ledger recorded `outcome_id` as published.
    pub async fn published_by_ledger(&self, outcome_id: &str) -> Result<bool, Error> {
        let entry = self.kv.entry(outcome_id).await.map_err(unavailable)?;
        Ok(entry
            .is_some_and(|e| e.operation == Operation::Put && e.value.as_ref() == LEGACY_PUBLISHED))
    }

    pub async fn charge_owner(&self, charge: &str) -> Result<Option<ChargeOwner>, Error> {
        let entry = self
            .kv
            .entry(charge_key(charge))
            .await
            .map_err(unavailable)?;
        Ok(entry
            .filter(|e| e.operation == Operation::Put)
            .and_then(|e| serde_json::from_slice(&e.value).ok()))
    }

    pub async fn index_charge(&self, charge: &str, owner: &ChargeOwner) -> Result<(), Error> {
        let value =
            serde_json::to_vec(owner).map_err(|e| Error::Internal(format!("charge index: {e}")))?;
        self.kv
            .put(charge_key(charge), value.into())
            .await
            .map(|_| ())
            .map_err(unavailable)
    }
}

/// `order.<id>` for ids made of key-safe characters, else `order.h.<sha-256>` (no two orders share a key).
fn order_key(order_id: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if !order_id.is_empty() && order_id.len() <= 128 && order_id.chars().all(safe) {
        format!("order.{order_id}")
    } else {
        format!(
            "order.h.{}",
            hex::encode(Sha256::digest(order_id.as_bytes()))
        )
    }
}

fn charge_key(charge: &str) -> String {
    crate::payment::outcome::outcome_id("charge", &[charge])
}

fn unavailable(e: impl Into<BoxError>) -> Error {
    Unavailable::because("order journal", e).into()
}

#[cfg(test)]
mod tests {
    use super::{order_key, Record};
    use crate::trail::Sent;

    #[test]
    fn an_entry_keeps_what_each_event_sent_and_older_entries_still_read() {
        let older: Record =
            serde_json::from_str(r#"{"published":["succeeded.pi_1"],"paid":["pi_1"]}"#).unwrap();
        assert!(older.sent.is_empty() && older.history.published.contains("succeeded.pi_1"));

        let entry: Record = serde_json::from_str(
            r#"{"published":["succeeded.pi_1"],"sent":[
                {"eventId":"evt_1","subject":"payment.succeeded","sequence":7,"msgId":"succeeded.pi_1"},
                {"eventId":"evt_2","subject":"payment.refunded","sequence":9,"msgId":"refunded.re_1"}]}"#,
        )
        .unwrap();
        let sent = Sent {
            subject: "payment.succeeded".into(),
            sequence: 7,
            msg_id: "succeeded.pi_1".into(),
        };
        assert_eq!(entry.sent_by("evt_1"), [sent]);
        assert!(entry.sent_by("evt_3").is_empty());
        let again: Record = serde_json::from_slice(&serde_json::to_vec(&entry).unwrap()).unwrap();
        assert_eq!(again.sent, entry.sent);

        // Published again by a completion (same id, another sequence): the first sequence stays.
        let mut completed = entry.clone();
        let mut repeat = entry.sent[0].clone();
        repeat.sent.sequence = 12;
        completed.add_sent(vec![repeat]);
        assert_eq!(completed.sent, entry.sent);
    }

    #[test]
    fn order_keys_are_safe_and_distinct() {
        assert_eq!(
            order_key("3f0c7a4e-4a65-4a1e-9b1e-1f2d3c4b5a69"),
            "order.3f0c7a4e-4a65-4a1e-9b1e-1f2d3c4b5a69"
        );
        let odd = order_key("a b.*>");
        assert!(odd.starts_with("order.h.") && odd.len() == "order.h.".len() + 64);
        assert_ne!(order_key("h"), order_key("h.x"));
        assert_ne!(order_key("a_b"), order_key("a b"));
    }
}
